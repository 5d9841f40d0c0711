//! The Kinesis Data Analytics dialect layer: rewrites the few forms sqlparser cannot read as is into forms it can,
//! token by token, keeping every token's original line and column so errors point into the user's text.
//!
//! | Kinesis Analytics form | what sqlparser is given |
//! |---|---|
//! | `CREATE OR REPLACE STREAM s (...)` | `CREATE OR REPLACE TABLE s (...)` |
//! | `WATERMARK FOR ts AS ts - INTERVAL '5' SECOND` inside a stream's column list | removed; returned beside the statement |
//! | `CREATE OR REPLACE PUMP p AS INSERT INTO ...` | `INSERT INTO ...`, the pump name returned beside it |
//! | `SELECT STREAM ...` | `SELECT ...` |
//! | `STEP(x BY INTERVAL '1' MINUTE)` | `STEP(x, INTERVAL '1' MINUTE)` |
//! | `WINDOWED BY STAGGER (PARTITION BY a, b RANGE INTERVAL '1' MINUTE)` | `GROUP BY a, b, STAGGER(INTERVAL '1' MINUTE)` |
//! | `CURSOR(SELECT STREAM ...)` | `(SELECT ...)` |
//! | `TABLE s` as a function argument (window table functions) | `s` |

use super::SqlError;
use sqlparser::dialect::GenericDialect;
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};

/// A `WATERMARK FOR column AS expression` clause lifted out of a stream declaration.
#[derive(Debug, Clone)]
pub struct WatermarkClause {
    /// The column named after `FOR`.
    pub column: String,
    /// Where the clause starts.
    pub at: Location,
    /// The tokens of the expression after `AS`.
    pub expr: Vec<TokenWithSpan>,
}

/// One statement after rewriting.
#[derive(Debug, Clone)]
pub struct Rewritten {
    /// Tokens to hand to sqlparser (no whitespace or comments).
    pub tokens: Vec<TokenWithSpan>,
    /// The pump name, for `CREATE OR REPLACE PUMP`.
    pub pump: Option<(String, Location)>,
    /// A watermark clause of a stream declaration.
    pub watermark: Option<WatermarkClause>,
    /// Where the statement starts.
    pub start: Location,
}

fn is_word(t: &TokenWithSpan, word: &str) -> bool {
    matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

fn at(tokens: &[TokenWithSpan], i: usize, word: &str) -> bool {
    tokens.get(i).is_some_and(|t| is_word(t, word))
}

fn with_span(token: Token, span: Span) -> TokenWithSpan {
    TokenWithSpan { token, span }
}

/// The index of the parenthesis closing the one at `open`, if any.
fn closing(tokens: &[TokenWithSpan], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn error(at: Location, message: impl Into<String>) -> SqlError {
    SqlError::at(at, message)
}

/// Splits `sql` into statements and rewrites each (see the module docs).
pub fn rewrite(sql: &str) -> Result<Vec<Rewritten>, SqlError> {
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| {
            error(
                e.location,
                format!("cannot read the SQL text: {}", e.message),
            )
        })?;
    let mut statements = Vec::new();
    let mut current: Vec<TokenWithSpan> = Vec::new();
    for token in tokens {
        match token.token {
            Token::Whitespace(_) => {}
            Token::SemiColon => {
                if !current.is_empty() {
                    statements.push(rewrite_statement(std::mem::take(&mut current))?);
                }
            }
            Token::EOF => {}
            _ => current.push(token),
        }
    }
    if !current.is_empty() {
        statements.push(rewrite_statement(current)?);
    }
    Ok(statements)
}

fn rewrite_statement(mut t: Vec<TokenWithSpan>) -> Result<Rewritten, SqlError> {
    let start = t
        .first()
        .map_or(Location { line: 1, column: 1 }, |x| x.span.start);
    let mut pump = None;
    let mut watermark = None;
    let replace = if at(&t, 1, "OR") && at(&t, 2, "REPLACE") {
        3
    } else {
        1
    };
    if at(&t, 0, "CREATE") && at(&t, replace, "PUMP") {
        let Some(TokenWithSpan {
            token: Token::Word(name),
            span,
        }) = t.get(replace + 1)
        else {
            return Err(error(
                start,
                "CREATE PUMP needs a name: CREATE OR REPLACE PUMP \"P\" AS INSERT INTO ...",
            ));
        };
        pump = Some((name.value.clone(), span.start));
        if !at(&t, replace + 2, "AS") {
            let loc = t.get(replace + 2).map_or(start, |x| x.span.start);
            return Err(error(
                loc,
                "expected AS after the pump name: CREATE OR REPLACE PUMP \"P\" AS INSERT INTO ...",
            ));
        }
        t.drain(..replace + 3);
    } else if at(&t, 0, "CREATE") && at(&t, replace, "STREAM") {
        let span = t[replace].span;
        t[replace] = with_span(Token::make_keyword("TABLE"), span);
        // Lift a WATERMARK clause out of the column list.
        if let Some(w) = t.iter().position(|x| is_word(x, "WATERMARK")) {
            if !at(&t, w + 1, "FOR") {
                return Err(error(
                    t[w].span.start,
                    "expected WATERMARK FOR column AS column - INTERVAL '5' SECOND",
                ));
            }
            let column = match t.get(w + 2).map(|x| &x.token) {
                Some(Token::Word(word)) => word.clone(),
                _ => {
                    return Err(error(
                        t[w].span.start,
                        "expected a column name after WATERMARK FOR",
                    ));
                }
            };
            if !at(&t, w + 3, "AS") {
                return Err(error(
                    t[w].span.start,
                    "expected AS after WATERMARK FOR column",
                ));
            }
            let mut depth = 0i32;
            let mut end = w + 4;
            while let Some(x) = t.get(end) {
                match x.token {
                    Token::LParen => depth += 1,
                    Token::RParen if depth == 0 => break,
                    Token::RParen => depth -= 1,
                    Token::Comma if depth == 0 => break,
                    _ => {}
                }
                end += 1;
            }
            let expr = t[w + 4..end].to_vec();
            let name = if column.quote_style.is_some() {
                column.value.clone()
            } else {
                column.value.to_uppercase()
            };
            watermark = Some(WatermarkClause {
                column: name,
                at: t[w].span.start,
                expr,
            });
            // Remove the clause and the comma that joined it to the list.
            let (from, to) = if w > 0 && matches!(t[w - 1].token, Token::Comma) {
                (w - 1, end)
            } else if matches!(t.get(end).map(|x| &x.token), Some(Token::Comma)) {
                (w, end + 1)
            } else {
                (w, end)
            };
            t.drain(from..to);
        }
    }
    let mut i = 0;
    while i < t.len() {
        if is_word(&t[i], "SELECT") && at(&t, i + 1, "STREAM") {
            t.remove(i + 1);
        } else if is_word(&t[i], "STEP")
            && matches!(t.get(i + 1).map(|x| &x.token), Some(Token::LParen))
        {
            if let Some(close) = closing(&t, i + 1) {
                let mut depth = 0i32;
                for token in &mut t[i + 1..close] {
                    match token.token {
                        Token::LParen => depth += 1,
                        Token::RParen => depth -= 1,
                        _ if depth == 1 && is_word(token, "BY") => {
                            *token = with_span(Token::Comma, token.span);
                            break;
                        }
                        _ => {}
                    }
                }
            }
        } else if is_word(&t[i], "WINDOWED") {
            let ok = at(&t, i + 1, "BY")
                && at(&t, i + 2, "STAGGER")
                && matches!(t.get(i + 3).map(|x| &x.token), Some(Token::LParen))
                && at(&t, i + 4, "PARTITION")
                && at(&t, i + 5, "BY");
            if !ok {
                return Err(error(
                    t[i].span.start,
                    "expected WINDOWED BY STAGGER (PARTITION BY key, ... RANGE INTERVAL '1' MINUTE)",
                ));
            }
            let close = closing(&t, i + 3)
                .ok_or_else(|| error(t[i + 3].span.start, "this parenthesis is never closed"))?;
            let range = (i + 4..close).find(|&j| is_word(&t[j], "RANGE")).ok_or_else(|| {
                error(t[i].span.start, "a stagger window needs RANGE INTERVAL 'n' unit after its PARTITION BY list")
            })?;
            let span_range = t[range].span;
            t.splice(
                range..=range,
                [
                    with_span(Token::Comma, span_range),
                    with_span(Token::make_word("STAGGER", None), span_range),
                    with_span(Token::LParen, span_range),
                ],
            );
            let (s0, s1) = (t[i].span, t[i + 1].span);
            t.splice(
                i..i + 6,
                [
                    with_span(Token::make_keyword("GROUP"), s0),
                    with_span(Token::make_keyword("BY"), s1),
                ],
            );
        } else if (is_word(&t[i], "CURSOR")
            && matches!(t.get(i + 1).map(|x| &x.token), Some(Token::LParen)))
            || (is_word(&t[i], "TABLE")
                && i > 0
                && matches!(t[i - 1].token, Token::LParen | Token::Comma)
                && matches!(t.get(i + 1).map(|x| &x.token), Some(Token::Word(_))))
        {
            t.remove(i);
            continue;
        }
        i += 1;
    }
    Ok(Rewritten {
        tokens: t,
        pump,
        watermark,
        start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: &Rewritten) -> String {
        r.tokens
            .iter()
            .map(|t| t.token.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn rewrites_pumps_streams_and_step() {
        let sql = "CREATE OR REPLACE STREAM \"D\" (k VARCHAR(4), c INTEGER);\n\
                   CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"D\" SELECT STREAM k, COUNT(*) FROM \"S\" \
                   GROUP BY k, STEP(\"S\".ROWTIME BY INTERVAL '60' SECOND);";
        let out = rewrite(sql).expect("rewrites");
        assert_eq!(out.len(), 2);
        assert_eq!(
            text(&out[0]),
            "CREATE OR REPLACE TABLE \"D\" ( k VARCHAR ( 4 ) , c INTEGER )"
        );
        assert_eq!(out[1].pump.as_ref().map(|p| p.0.as_str()), Some("P"));
        assert!(text(&out[1]).starts_with("INSERT INTO \"D\" SELECT k ,"));
        assert!(text(&out[1]).ends_with("STEP ( \"S\" . ROWTIME , INTERVAL '60' SECOND )"));
        assert_eq!(
            out[1].tokens[0].span.start.line, 2,
            "positions stay those of the user's text"
        );
    }

    #[test]
    fn rewrites_stagger_and_watermark() {
        let sql = "CREATE STREAM s (ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)";
        let out = rewrite(sql).expect("rewrites");
        assert_eq!(text(&out[0]), "CREATE TABLE s ( ts TIMESTAMP )");
        assert_eq!(
            out[0].watermark.as_ref().map(|w| w.column.as_str()),
            Some("TS")
        );
        let sql = "SELECT STREAM k, COUNT(*) FROM s WINDOWED BY STAGGER (PARTITION BY FLOOR(t TO MINUTE), k RANGE INTERVAL '1' MINUTE)";
        let out = rewrite(sql).expect("rewrites");
        assert_eq!(
            text(&out[0]),
            "SELECT k , COUNT ( * ) FROM s GROUP BY FLOOR ( t TO MINUTE ) , k , STAGGER ( INTERVAL '1' MINUTE )"
        );
    }
}
