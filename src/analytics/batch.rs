//! Batch queries over a finite row set (a table, not a stream): `SELECT ... FROM t [WHERE ...] [GROUP BY ...]
//! [HAVING ...] [ORDER BY ...] [LIMIT n]`, evaluated once over every row.
//!
//! The same expression compiler ([`super::expr::Compiler`]) and aggregates ([`super::aggregate`]) as the streaming
//! pumps; only the driver differs: no windows, every row is read, one output row per group. The simulated Redshift
//! tables of the Firehose Redshift destination are queried through it.

use super::SqlError;
use super::aggregate::{AggSpec, finish_all, start_all, update_all};
use super::expr::{Compiler, Ctx, Expr, ident_name, pos};
use super::value::Value;
use sqlparser::ast::{self, SelectItem, SetExpr, Statement, TableFactor};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Location;
use std::collections::BTreeMap;

/// Most rows a batch query returns (the rest are cut, [`BatchResult::truncated`] says so).
pub const BATCH_RESULT_ROWS_MAX: u32 = 10_000;

/// What a batch query returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchResult {
    /// Output column names.
    pub columns: Vec<String>,
    /// Output rows.
    pub rows: Vec<Vec<Value>>,
    /// Whether rows past [`BATCH_RESULT_ROWS_MAX`] were cut.
    pub truncated: bool,
}

fn start() -> Location {
    Location { line: 1, column: 1 }
}

/// The table a batch query reads (`FROM name`), so the caller can find its rows.
pub fn batch_table(sql: &str) -> Result<String, SqlError> {
    let select = parse(sql)?.0;
    match select.from.first().map(|t| &t.relation) {
        Some(TableFactor::Table { name, .. }) => Ok(name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(|i| i.value.clone())
            .unwrap_or_default()),
        _ => Err(SqlError::at(
            pos(select.as_ref()),
            "the query must read a table: FROM name",
        )),
    }
}

/// A parsed batch query: the SELECT, its ORDER BY items and its LIMIT.
type ParsedQuery = (Box<ast::Select>, Vec<ast::OrderByExpr>, Option<u64>);

fn parse(sql: &str) -> Result<ParsedQuery, SqlError> {
    let statements = Parser::parse_sql(&GenericDialect {}, sql).map_err(|e| {
        SqlError::at(
            start(),
            match e {
                sqlparser::parser::ParserError::TokenizerError(s)
                | sqlparser::parser::ParserError::ParserError(s) => s,
                sqlparser::parser::ParserError::RecursionLimitExceeded => {
                    "the statement nests too deeply".to_string()
                }
            },
        )
    })?;
    let [Statement::Query(q)] = statements.as_slice() else {
        return Err(SqlError::at(start(), "give exactly one SELECT statement"));
    };
    if q.with.is_some() {
        return Err(SqlError::unsupported(pos(q.as_ref()), "WITH", ""));
    }
    let SetExpr::Select(select) = q.body.as_ref() else {
        return Err(SqlError::unsupported(
            pos(q.as_ref()),
            "set operations (UNION, ...)",
            "",
        ));
    };
    let order = match &q.order_by {
        None => Vec::new(),
        Some(o) => match &o.kind {
            ast::OrderByKind::Expressions(e) => e.clone(),
            ast::OrderByKind::All(_) => {
                return Err(SqlError::unsupported(pos(q.as_ref()), "ORDER BY ALL", ""));
            }
        },
    };
    let limit = match &q.limit_clause {
        None => None,
        Some(ast::LimitClause::LimitOffset {
            limit: Some(ast::Expr::Value(v)),
            offset: None,
            ..
        }) => match &v.value {
            ast::Value::Number(n, _) => n.parse::<u64>().ok(),
            _ => None,
        }
        .map(Some)
        .ok_or_else(|| SqlError::at(pos(q.as_ref()), "LIMIT needs a whole number"))?,
        Some(_) => {
            return Err(SqlError::unsupported(
                pos(q.as_ref()),
                "this LIMIT/OFFSET form",
                "use LIMIT n",
            ));
        }
    };
    if select.from.len() != 1 || !select.from[0].joins.is_empty() {
        return Err(SqlError::unsupported(
            pos(select.as_ref()),
            "joins and several FROM items",
            "query one table",
        ));
    }
    if select.distinct.is_some() {
        return Err(SqlError::unsupported(
            pos(select.as_ref()),
            "SELECT DISTINCT",
            "GROUP BY the columns instead",
        ));
    }
    Ok((select.clone(), order, limit))
}

/// Runs `sql` over `rows` of a table named `table` with `columns`. Expressions, functions and aggregates are the
/// streaming engine's (COUNT, SUM, AVG, MIN, MAX, with DISTINCT); ROWTIME is 0.
pub fn query_rows(
    sql: &str,
    table: &str,
    columns: &[String],
    rows: &[Vec<Value>],
) -> Result<BatchResult, SqlError> {
    let (s, order, limit) = parse(sql)?;
    let mut c = Compiler::new(columns, vec![table.to_uppercase(), table.to_string()]);
    if let Some(TableFactor::Table { alias: Some(a), .. }) = s.from.first().map(|t| &t.relation) {
        c.qualifiers.push(ident_name(&a.name));
    }
    let filter = match &s.selection {
        Some(w) => Some(c.row_expr(w)?),
        None => None,
    };
    let group = match &s.group_by {
        ast::GroupByExpr::Expressions(e, mods) if mods.is_empty() => e.clone(),
        _ => {
            return Err(SqlError::unsupported(
                pos(s.as_ref()),
                "GROUP BY ALL / ROLLUP / CUBE",
                "",
            ));
        }
    };
    let mut keys = Vec::new();
    let mut texts = Vec::new();
    for g in &group {
        let k = c.row_expr(g)?;
        let col = match k {
            Expr::Col(i) => Some(i),
            _ => None,
        };
        keys.push(k);
        texts.push((g.to_string().to_uppercase(), col));
    }
    c.aggs = Some(Vec::new());
    if !group.is_empty() {
        c.keys = Some(texts);
    }
    let (names, project) = select_list(&s, &mut c)?;
    let having = match &s.having {
        Some(h) => Some(c.expr(h)?),
        None => None,
    };
    if let Some((_, at)) = c.over.first() {
        return Err(SqlError::unsupported(*at, "OVER windows on a table", ""));
    }
    let aggs: Vec<AggSpec> = c.aggs.take().unwrap_or_default();
    let order: Vec<(u32, bool)> = order
        .iter()
        .map(|o| order_key(o, &names))
        .collect::<Result<_, _>>()?;
    let fail = |m: String| SqlError::at(pos(s.as_ref()), m);
    let mut out: Vec<Vec<Value>> = Vec::new();
    let kept = rows.iter().filter_map(|r| {
        let ctx = Ctx::row(r, 0);
        match &filter {
            None => Some(Ok((r, ctx))),
            Some(f) => match f.eval(&ctx) {
                Ok(Value::Bool(true)) => Some(Ok((r, ctx))),
                Ok(_) => None,
                Err(m) => Some(Err(m)),
            },
        }
    });
    if group.is_empty() && aggs.is_empty() {
        if having.is_some() {
            return Err(fail("HAVING needs GROUP BY or an aggregate".into()));
        }
        for row in kept {
            let (_, ctx) = row.map_err(fail)?;
            out.push(
                project
                    .iter()
                    .map(|p| p.eval(&ctx))
                    .collect::<Result<_, _>>()
                    .map_err(fail)?,
            );
        }
    } else {
        let mut groups: BTreeMap<Vec<Value>, Vec<super::aggregate::Acc>> = BTreeMap::new();
        if group.is_empty() {
            // Aggregates over the whole table: one row, even over no rows.
            groups.insert(Vec::new(), start_all(&aggs));
        }
        for row in kept {
            let (_, ctx) = row.map_err(fail)?;
            let key: Vec<Value> = keys
                .iter()
                .map(|k| k.eval(&ctx))
                .collect::<Result<_, _>>()
                .map_err(fail)?;
            let accs = groups.entry(key).or_insert_with(|| start_all(&aggs));
            update_all(&aggs, accs, &ctx).map_err(fail)?;
        }
        for (key, accs) in &groups {
            let values = finish_all(&aggs, accs);
            let ctx = Ctx {
                cols: &[],
                rowtime: 0,
                keys: key,
                aggs: &values,
                window: (0, 0),
            };
            if let Some(h) = &having
                && !matches!(h.eval(&ctx).map_err(fail)?, Value::Bool(true))
            {
                continue;
            }
            out.push(
                project
                    .iter()
                    .map(|p| p.eval(&ctx))
                    .collect::<Result<_, _>>()
                    .map_err(fail)?,
            );
        }
    }
    if !order.is_empty() {
        out.sort_by(|a, b| {
            for &(i, asc) in &order {
                let ord = a[i as usize].cmp(&b[i as usize]);
                if ord != std::cmp::Ordering::Equal {
                    return if asc { ord } else { ord.reverse() };
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    let cap = limit.map_or(u64::from(BATCH_RESULT_ROWS_MAX), |l| {
        l.min(u64::from(BATCH_RESULT_ROWS_MAX))
    });
    let truncated = out.len() as u64 > cap && limit.is_none_or(|l| l > cap);
    out.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
    Ok(BatchResult {
        columns: names,
        rows: out,
        truncated,
    })
}

/// An ORDER BY item as (output column, ascending): an output column name or a 1-based position.
fn order_key(o: &ast::OrderByExpr, names: &[String]) -> Result<(u32, bool), SqlError> {
    let asc = !matches!(o.options.sort, Some(ast::OrderBySort::Desc));
    let index = match &o.expr {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1 && (*n as usize) <= names.len())
                .map(|n| n - 1),
            _ => None,
        },
        ast::Expr::Identifier(i) => super::expr::find_column(names, &ident_name(i)),
        _ => None,
    };
    index.map(|i| (i, asc)).ok_or_else(|| {
        SqlError::at(
            pos(&o.expr),
            format!(
                "ORDER BY takes an output column ({}) or its position",
                names.join(", ")
            ),
        )
    })
}

/// The SELECT list: names and compiled expressions (`*` expands to the table's columns).
fn select_list(
    s: &ast::Select,
    c: &mut Compiler<'_>,
) -> Result<(Vec<String>, Vec<Expr>), SqlError> {
    let mut names = Vec::new();
    let mut exprs = Vec::new();
    for (i, item) in s.projection.iter().enumerate() {
        match item {
            SelectItem::UnnamedExpr(e) => {
                names.push(match e {
                    ast::Expr::Identifier(id) => id.value.clone(),
                    ast::Expr::CompoundIdentifier(p) => {
                        p.last().map(|id| id.value.clone()).unwrap_or_default()
                    }
                    ast::Expr::Function(f) => f.name.to_string().to_lowercase(),
                    _ => format!("?column{}?", i + 1),
                });
                exprs.push(c.expr(e)?);
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                names.push(alias.value.clone());
                exprs.push(c.expr(expr)?);
            }
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                c.wildcard(item, &mut names, &mut exprs)?;
            }
            SelectItem::ExprWithAliases { .. } => {
                return Err(SqlError::unsupported(
                    pos(item),
                    "several aliases for one expression",
                    "",
                ));
            }
        }
    }
    Ok((names, exprs))
}
