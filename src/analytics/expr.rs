//! Scalar expressions: compiled from sqlparser's AST against a scope of columns, evaluated on rows.

use super::SqlError;
use super::aggregate::{AggKind, AggSpec};
use super::value::{SqlType, Value};
use serde::{Deserialize, Serialize};
use sqlparser::ast::{
    self, BinaryOperator, CeilFloorKind, DateTimeField, FunctionArg, FunctionArgExpr,
    FunctionArguments, Spanned, UnaryOperator,
};

/// What an expression sees while it is evaluated.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The input row's columns.
    pub cols: &'a [Value],
    /// ROWTIME as epoch milliseconds.
    pub rowtime: i64,
    /// Group key values (grouped queries).
    pub keys: &'a [Value],
    /// Aggregate results (grouped and windowed queries).
    pub aggs: &'a [Value],
    /// Window start and end, epoch milliseconds.
    pub window: (i64, i64),
}

impl<'a> Ctx<'a> {
    /// A context over one input row.
    pub fn row(cols: &'a [Value], rowtime: i64) -> Self {
        Ctx {
            cols,
            rowtime,
            keys: &[],
            aggs: &[],
            window: (0, 0),
        }
    }
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `||`
    Concat,
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `AND`
    And,
    /// `OR`
    Or,
}

/// Scalar functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Func {
    /// `UPPER(s)`
    Upper,
    /// `LOWER(s)`
    Lower,
    /// `CHAR_LENGTH(s)`, `CHARACTER_LENGTH(s)`, `LENGTH(s)`
    CharLength,
    /// `SUBSTRING(s FROM start [FOR len])`, 1-based
    Substring,
    /// `TRIM(s)`: both ends
    Trim,
    /// `LTRIM(s)`
    LTrim,
    /// `RTRIM(s)`
    RTrim,
    /// `ABS(x)`
    Abs,
    /// `MOD(a, b)`
    Mod,
    /// `COALESCE(a, b, ...)`
    Coalesce,
    /// `TSDIFF(a, b)`: milliseconds from b to a
    TsDiff,
    /// `POSITION(needle IN s)`, 1-based, 0 when absent
    Position,
    /// `INITCAP(s)`
    Initcap,
    /// `CURRENT_ROW_TIMESTAMP`: the row's ROWTIME
    CurrentRowTimestamp,
}

/// A compiled scalar expression.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Expr {
    /// A constant.
    Lit(Value),
    /// An input column by position.
    Col(u32),
    /// The row's ROWTIME.
    RowTime,
    /// A group key by position.
    Key(u32),
    /// An aggregate result by position.
    Agg(u32),
    /// The start of the row's window.
    WindowStart,
    /// The end of the row's window.
    WindowEnd,
    /// `NOT x`
    Not(Box<Expr>),
    /// `-x`
    Neg(Box<Expr>),
    /// `a op b`
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// `x IS [NOT] NULL`
    IsNull(Box<Expr>, bool),
    /// `CASE [operand] WHEN .. THEN .. ELSE .. END`
    Case(Option<Box<Expr>>, Vec<(Expr, Expr)>, Option<Box<Expr>>),
    /// `CAST(x AS type)`
    Cast(Box<Expr>, SqlType),
    /// A scalar function call.
    Call(Func, Vec<Expr>),
    /// `FLOOR(ts TO unit)` / `STEP(ts BY interval)` (floor to a multiple of the span in ms)
    FloorTo(Box<Expr>, i64),
    /// `CEIL(ts TO unit)`
    CeilTo(Box<Expr>, i64),
    /// `FLOOR(x)` of a number
    Floor(Box<Expr>),
    /// `CEIL(x)` of a number
    Ceil(Box<Expr>),
    /// `x [NOT] IN (...)`
    InList(Box<Expr>, Vec<Expr>, bool),
    /// `x [NOT] BETWEEN a AND b`
    Between(Box<Expr>, Box<Expr>, Box<Expr>, bool),
    /// `x [NOT] LIKE pattern`
    Like(Box<Expr>, Box<Expr>, bool),
}

fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

fn like(text: &[char], pattern: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('%', rest)) => (0..=text.len()).any(|i| like(&text[i..], rest)),
        Some(('_', rest)) => !text.is_empty() && like(&text[1..], rest),
        Some((c, rest)) => text.first() == Some(c) && like(&text[1..], rest),
    }
}

fn arith(op: BinOp, a: &Value, b: &Value) -> Result<Value, String> {
    use Value::{Double, Int, Timestamp};
    Ok(match (op, a, b) {
        (_, Value::Null, _) | (_, _, Value::Null) => Value::Null,
        (BinOp::Add, Timestamp(t), Int(ms)) | (BinOp::Add, Int(ms), Timestamp(t)) => {
            Timestamp(t.saturating_add(*ms))
        }
        (BinOp::Sub, Timestamp(t), Int(ms)) => Timestamp(t.saturating_sub(*ms)),
        (BinOp::Sub, Timestamp(a), Timestamp(b)) => Int(a.saturating_sub(*b)),
        (_, Int(x), Int(y)) => match op {
            BinOp::Add => Int(x.wrapping_add(*y)),
            BinOp::Sub => Int(x.wrapping_sub(*y)),
            BinOp::Mul => Int(x.wrapping_mul(*y)),
            BinOp::Div | BinOp::Mod if *y == 0 => return Err("division by zero".into()),
            BinOp::Div => Int(x.wrapping_div(*y)),
            _ => Int(x.wrapping_rem(*y)),
        },
        _ => {
            let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) else {
                return Err(format!(
                    "cannot compute '{}' and '{}': not numbers",
                    a.to_text(),
                    b.to_text()
                ));
            };
            match op {
                BinOp::Add => Double(x + y),
                BinOp::Sub => Double(x - y),
                BinOp::Mul => Double(x * y),
                BinOp::Div if y == 0.0 => return Err("division by zero".into()),
                BinOp::Div => Double(x / y),
                _ if y == 0.0 => return Err("division by zero".into()),
                _ => Double(x % y),
            }
        }
    })
}

fn text_arg(v: &Value) -> Option<String> {
    if v.is_null() { None } else { Some(v.to_text()) }
}

impl Expr {
    /// The value of the expression in `ctx`, or a runtime error (the row goes to `error_stream`).
    pub fn eval(&self, ctx: &Ctx<'_>) -> Result<Value, String> {
        Ok(match self {
            Expr::Lit(v) => v.clone(),
            Expr::Col(i) => ctx.cols.get(*i as usize).cloned().unwrap_or(Value::Null),
            Expr::RowTime => Value::Timestamp(ctx.rowtime),
            Expr::Key(i) => ctx.keys.get(*i as usize).cloned().unwrap_or(Value::Null),
            Expr::Agg(i) => ctx.aggs.get(*i as usize).cloned().unwrap_or(Value::Null),
            Expr::WindowStart => Value::Timestamp(ctx.window.0),
            Expr::WindowEnd => Value::Timestamp(ctx.window.1),
            Expr::Not(e) => match truth(&e.eval(ctx)?) {
                Some(b) => Value::Bool(!b),
                None => Value::Null,
            },
            Expr::Neg(e) => match e.eval(ctx)? {
                Value::Int(i) => Value::Int(i.wrapping_neg()),
                Value::Double(d) => Value::Double(-d),
                Value::Null => Value::Null,
                other => return Err(format!("cannot negate '{}'", other.to_text())),
            },
            Expr::Bin(op, a, b) => {
                let a = a.eval(ctx)?;
                match op {
                    BinOp::And | BinOp::Or => {
                        let x = truth(&a);
                        if *op == BinOp::And && x == Some(false) {
                            return Ok(Value::Bool(false));
                        }
                        if *op == BinOp::Or && x == Some(true) {
                            return Ok(Value::Bool(true));
                        }
                        let y = truth(&b.eval(ctx)?);
                        match (op, x, y) {
                            (BinOp::And, _, Some(false)) => Value::Bool(false),
                            (BinOp::Or, _, Some(true)) => Value::Bool(true),
                            (_, Some(x), Some(y)) => {
                                Value::Bool(if *op == BinOp::And { x && y } else { x || y })
                            }
                            _ => Value::Null,
                        }
                    }
                    BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                        let b = b.eval(ctx)?;
                        if a.is_null() || b.is_null() {
                            return Ok(Value::Null);
                        }
                        let o = a.cmp(&b);
                        Value::Bool(match op {
                            BinOp::Eq => o.is_eq(),
                            BinOp::Ne => o.is_ne(),
                            BinOp::Lt => o.is_lt(),
                            BinOp::Le => o.is_le(),
                            BinOp::Gt => o.is_gt(),
                            _ => o.is_ge(),
                        })
                    }
                    BinOp::Concat => {
                        let b = b.eval(ctx)?;
                        match (text_arg(&a), text_arg(&b)) {
                            (Some(x), Some(y)) => Value::Str(x + &y),
                            _ => Value::Null,
                        }
                    }
                    _ => arith(*op, &a, &b.eval(ctx)?)?,
                }
            }
            Expr::IsNull(e, negated) => Value::Bool(e.eval(ctx)?.is_null() != *negated),
            Expr::Case(operand, whens, otherwise) => {
                let subject = match operand {
                    Some(o) => Some(o.eval(ctx)?),
                    None => None,
                };
                for (when, then) in whens {
                    let w = when.eval(ctx)?;
                    let hit = match &subject {
                        Some(s) => !s.is_null() && *s == w,
                        None => truth(&w) == Some(true),
                    };
                    if hit {
                        return then.eval(ctx);
                    }
                }
                match otherwise {
                    Some(e) => e.eval(ctx)?,
                    None => Value::Null,
                }
            }
            Expr::Cast(e, t) => t.cast(e.eval(ctx)?)?,
            Expr::FloorTo(e, span) | Expr::CeilTo(e, span) => match e.eval(ctx)? {
                Value::Timestamp(t) => {
                    let floor = t - t.rem_euclid(*span);
                    let up = matches!(self, Expr::CeilTo(..)) && floor != t;
                    Value::Timestamp(if up { floor + span } else { floor })
                }
                Value::Int(i) => Value::Int(i - i.rem_euclid(*span)),
                Value::Null => Value::Null,
                other => {
                    return Err(format!(
                        "cannot round '{}' to a time unit: not a TIMESTAMP",
                        other.to_text()
                    ));
                }
            },
            Expr::Floor(e) | Expr::Ceil(e) => match e.eval(ctx)? {
                Value::Double(d) => Value::Double(if matches!(self, Expr::Floor(_)) {
                    d.floor()
                } else {
                    d.ceil()
                }),
                other => other,
            },
            Expr::InList(e, list, negated) => {
                let v = e.eval(ctx)?;
                if v.is_null() {
                    return Ok(Value::Null);
                }
                let mut found = false;
                for item in list {
                    found |= item.eval(ctx)? == v;
                }
                Value::Bool(found != *negated)
            }
            Expr::Between(e, lo, hi, negated) => {
                let (v, lo, hi) = (e.eval(ctx)?, lo.eval(ctx)?, hi.eval(ctx)?);
                if v.is_null() || lo.is_null() || hi.is_null() {
                    return Ok(Value::Null);
                }
                Value::Bool((lo <= v && v <= hi) != *negated)
            }
            Expr::Like(e, p, negated) => match (text_arg(&e.eval(ctx)?), text_arg(&p.eval(ctx)?)) {
                (Some(t), Some(p)) => {
                    let t: Vec<char> = t.chars().collect();
                    let p: Vec<char> = p.chars().collect();
                    Value::Bool(like(&t, &p) != *negated)
                }
                _ => Value::Null,
            },
            Expr::Call(f, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(a.eval(ctx)?);
                }
                call(*f, &vals, ctx)?
            }
        })
    }
}

fn call(f: Func, v: &[Value], ctx: &Ctx<'_>) -> Result<Value, String> {
    let first = v.first().cloned().unwrap_or(Value::Null);
    if f == Func::CurrentRowTimestamp {
        return Ok(Value::Timestamp(ctx.rowtime));
    }
    if f == Func::Coalesce {
        return Ok(v
            .iter()
            .find(|x| !x.is_null())
            .cloned()
            .unwrap_or(Value::Null));
    }
    if v.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let s = first.to_text();
    Ok(match f {
        Func::Upper => Value::Str(s.to_uppercase()),
        Func::Lower => Value::Str(s.to_lowercase()),
        Func::CharLength => Value::Int(s.chars().count() as i64),
        Func::Trim => Value::Str(s.trim().to_string()),
        Func::LTrim => Value::Str(s.trim_start().to_string()),
        Func::RTrim => Value::Str(s.trim_end().to_string()),
        Func::Initcap => {
            let mut out = String::with_capacity(s.len());
            let mut start = true;
            for c in s.chars() {
                if start {
                    out.extend(c.to_uppercase())
                } else {
                    out.extend(c.to_lowercase())
                }
                start = !c.is_alphanumeric();
            }
            Value::Str(out)
        }
        Func::Substring => {
            let chars: Vec<char> = s.chars().collect();
            let start = match v.get(1) {
                Some(Value::Int(i)) => *i,
                Some(other) => {
                    return Err(format!(
                        "SUBSTRING start '{}' is not an integer",
                        other.to_text()
                    ));
                }
                None => 1,
            };
            let len = match v.get(2) {
                Some(Value::Int(i)) if *i < 0 => return Err("SUBSTRING length is negative".into()),
                Some(Value::Int(i)) => *i,
                Some(other) => {
                    return Err(format!(
                        "SUBSTRING length '{}' is not an integer",
                        other.to_text()
                    ));
                }
                None => i64::MAX / 4,
            };
            let from = (start - 1).max(0);
            let to = (start - 1).saturating_add(len).max(0);
            let n = chars.len() as i64;
            let (from, to) = (from.min(n), to.min(n));
            Value::Str(
                chars[usize::try_from(from).unwrap_or(0)..usize::try_from(to).unwrap_or(0)]
                    .iter()
                    .collect(),
            )
        }
        Func::Position => {
            let hay = v.get(1).map(Value::to_text).unwrap_or_default();
            match hay.find(&s) {
                Some(byte) => Value::Int(hay[..byte].chars().count() as i64 + 1),
                None => Value::Int(0),
            }
        }
        Func::Abs => match first {
            Value::Int(i) => Value::Int(i.wrapping_abs()),
            Value::Double(d) => Value::Double(d.abs()),
            other => return Err(format!("ABS of '{}': not a number", other.to_text())),
        },
        Func::Mod => arith(BinOp::Mod, &first, v.get(1).unwrap_or(&Value::Null))?,
        Func::TsDiff => match (&first, v.get(1)) {
            (Value::Timestamp(a), Some(Value::Timestamp(b))) => Value::Int(a - b),
            _ => return Err("TSDIFF takes two TIMESTAMPs".into()),
        },
        Func::Coalesce | Func::CurrentRowTimestamp => Value::Null,
    })
}

/// Milliseconds of a time unit `FLOOR ... TO unit` accepts.
pub fn unit_ms(field: &DateTimeField) -> Option<i64> {
    Some(match field {
        DateTimeField::Millisecond | DateTimeField::Milliseconds => 1,
        DateTimeField::Second | DateTimeField::Seconds => 1000,
        DateTimeField::Minute | DateTimeField::Minutes => 60_000,
        DateTimeField::Hour | DateTimeField::Hours => 3_600_000,
        DateTimeField::Day | DateTimeField::Days => 86_400_000,
        DateTimeField::Week(None) | DateTimeField::Weeks => 7 * 86_400_000,
        _ => return None,
    })
}

/// The position of an AST node, for errors.
pub fn pos(node: &impl Spanned) -> sqlparser::tokenizer::Location {
    node.span().start
}

/// An interval literal's length in milliseconds: `INTERVAL '60' SECOND`, `INTERVAL '1' MINUTE`, `INTERVAL '5' SECONDS`.
pub fn interval_ms(e: &ast::Expr) -> Result<i64, SqlError> {
    let bad = || {
        SqlError::at(
            pos(e),
            format!("expected an interval like INTERVAL '60' SECOND, found {e}"),
        )
    };
    let ast::Expr::Interval(iv) = e else {
        return Err(bad());
    };
    let text = match iv.value.as_ref() {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::Number(s, _) => s.clone(),
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    let unit = match &iv.leading_field {
        Some(f) => unit_ms(f).ok_or_else(|| {
            SqlError::unsupported(
                pos(e),
                format!("interval unit {f}"),
                "use MILLISECOND, SECOND, MINUTE, HOUR or DAY",
            )
        })?,
        None => 1000,
    };
    if iv.last_field.is_some() {
        return Err(SqlError::unsupported(
            pos(e),
            "interval ranges like DAY TO SECOND",
            "use a single unit",
        ));
    }
    let n: i64 = text.trim().parse().map_err(|_| bad())?;
    if n <= 0 {
        return Err(SqlError::at(
            pos(e),
            format!("the interval {e} must be longer than zero"),
        ));
    }
    Ok(n.saturating_mul(unit))
}

/// A window function spotted while compiling a GROUP BY key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowKey {
    /// `STEP(t BY i)`, `FLOOR(t TO unit)`, `TUMBLE(t, i)`: tumbling windows of this size.
    Tumble { time: TimeRef, size_ms: i64 },
    /// `HOP(t, slide, size)`.
    Hop {
        time: TimeRef,
        slide_ms: i64,
        size_ms: i64,
    },
    /// `SESSION(t, gap)`.
    Session { time: TimeRef, gap_ms: i64 },
    /// `STAGGER(i)` from `WINDOWED BY STAGGER`.
    Stagger { range_ms: i64 },
}

/// The time a window is measured in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeRef {
    /// ROWTIME: processing time.
    RowTime,
    /// An event-time column (by position).
    Column(u32),
}

/// Compiles AST expressions against a scope.
#[derive(Debug)]
pub struct Compiler<'a> {
    /// Input columns.
    pub columns: &'a [String],
    /// Names the input may be qualified with (stream name, alias), upper-cased.
    pub qualifiers: Vec<String>,
    /// Group key texts and their plain column, when grouped.
    pub keys: Option<Vec<(String, Option<u32>)>>,
    /// Aggregates found so far; `None` where aggregates are not allowed.
    pub aggs: Option<Vec<AggSpec>>,
    /// Whether window_start/window_end and *_START/*_END functions resolve.
    pub windowed: bool,
    /// OVER clauses seen (sliding windows): the window of each aggregate, as text, with its AST.
    pub over: Vec<(ast::WindowType, sqlparser::tokenizer::Location)>,
}

/// A name as SQL sees it: unquoted identifiers are upper-cased.
pub fn ident_name(i: &ast::Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_uppercase()
    }
}

/// The column index of `name` in `columns`: exact match first, then a unique case-insensitive one.
pub fn find_column(columns: &[String], name: &str) -> Option<u32> {
    if let Some(i) = columns.iter().position(|c| c == name) {
        return u32::try_from(i).ok();
    }
    let mut hits = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.eq_ignore_ascii_case(name));
    match (hits.next(), hits.next()) {
        (Some((i, _)), None) => u32::try_from(i).ok(),
        _ => None,
    }
}

fn function_name(f: &ast::Function) -> String {
    f.name.to_string().trim_matches('"').to_uppercase()
}

/// The plain expression arguments of a function call.
pub fn plain_args(f: &ast::Function) -> Result<Vec<&ast::Expr>, SqlError> {
    match &f.args {
        FunctionArguments::None => Ok(Vec::new()),
        FunctionArguments::Subquery(_) => Err(SqlError::unsupported(
            pos(f),
            "a subquery as a function argument",
            "",
        )),
        FunctionArguments::List(list) => list
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e),
                _ => Err(SqlError::at(
                    pos(f),
                    format!("unexpected argument {a} of {}", f.name),
                )),
            })
            .collect(),
    }
}

impl<'a> Compiler<'a> {
    /// `SELECT *` (or `t.*`): every input column, in order, under its own name. Refused in a grouped query,
    /// whose rows have no single value per input column.
    pub fn wildcard(
        &self,
        item: &ast::SelectItem,
        names: &mut Vec<String>,
        exprs: &mut Vec<Expr>,
    ) -> Result<(), SqlError> {
        if self.keys.is_some() {
            return Err(SqlError::at(
                pos(item),
                "SELECT * cannot be grouped: name the grouped columns and aggregates",
            ));
        }
        for (j, name) in self.columns.iter().enumerate() {
            names.push(name.clone());
            exprs.push(Expr::Col(u32::try_from(j).unwrap_or(u32::MAX)));
        }
        Ok(())
    }

    /// A compiler over plain input rows.
    pub fn new(columns: &'a [String], qualifiers: Vec<String>) -> Self {
        Compiler {
            columns,
            qualifiers,
            keys: None,
            aggs: None,
            windowed: false,
            over: Vec::new(),
        }
    }

    fn column(&self, e: &ast::Expr, parts: &[ast::Ident]) -> Result<Expr, SqlError> {
        let (qualifier, name) = match parts {
            [n] => (None, n),
            [q, n] => (Some(q), n),
            _ => return Err(SqlError::at(pos(e), format!("unknown column {e}"))),
        };
        if let Some(q) = qualifier {
            let q = ident_name(q);
            if !self.qualifiers.iter().any(|x| x.eq_ignore_ascii_case(&q)) {
                return Err(SqlError::at(
                    pos(e),
                    format!(
                        "unknown stream {q}: this query reads {}",
                        self.qualifiers.first().cloned().unwrap_or_default()
                    ),
                ));
            }
        }
        let n = ident_name(name);
        if n == "ROWTIME" {
            return Ok(Expr::RowTime);
        }
        if n == "CURRENT_ROW_TIMESTAMP"
            && qualifier.is_none()
            && find_column(self.columns, &n).is_none()
        {
            return Ok(Expr::Call(Func::CurrentRowTimestamp, Vec::new()));
        }
        if self.windowed && (n == "WINDOW_START" || n == "WINDOW_END") {
            return Ok(if n == "WINDOW_START" {
                Expr::WindowStart
            } else {
                Expr::WindowEnd
            });
        }
        match find_column(self.columns, &n) {
            Some(i) => Ok(Expr::Col(i)),
            None => Err(SqlError::at(
                pos(e),
                format!(
                    "unknown column {n}; the input has {}",
                    self.columns.join(", ")
                ),
            )),
        }
    }

    /// The window function a GROUP BY key is, if it is one.
    pub fn window_key(&mut self, e: &ast::Expr) -> Result<Option<WindowKey>, SqlError> {
        let time_of = |c: &mut Self, t: &ast::Expr| -> Result<TimeRef, SqlError> {
            match c.row_expr(t)? {
                Expr::RowTime => Ok(TimeRef::RowTime),
                Expr::Col(i) => Ok(TimeRef::Column(i)),
                _ => Err(SqlError::at(
                    pos(t),
                    "a window's time must be ROWTIME or a TIMESTAMP column",
                )),
            }
        };
        match e {
            ast::Expr::Floor {
                expr,
                field: CeilFloorKind::DateTimeField(f),
            } => {
                let time = time_of(self, expr);
                match time {
                    Ok(TimeRef::RowTime) => {
                        let size_ms = unit_ms(f).ok_or_else(|| {
                            SqlError::unsupported(
                                pos(e),
                                format!("FLOOR to {f}"),
                                "use SECOND, MINUTE, HOUR or DAY",
                            )
                        })?;
                        Ok(Some(WindowKey::Tumble {
                            time: TimeRef::RowTime,
                            size_ms,
                        }))
                    }
                    _ => Ok(None),
                }
            }
            ast::Expr::Function(f) => {
                let name = function_name(f);
                let args = plain_args(f)?;
                let arity = |n: usize| -> Result<(), SqlError> {
                    if args.len() == n {
                        Ok(())
                    } else {
                        Err(SqlError::at(pos(e), format!("{name} takes {n} arguments")))
                    }
                };
                match name.as_str() {
                    "STEP" => {
                        arity(2)?;
                        let time = time_of(self, args[0])?;
                        let size_ms = interval_ms(args[1])?;
                        if time == TimeRef::RowTime {
                            Ok(Some(WindowKey::Tumble { time, size_ms }))
                        } else {
                            Ok(None)
                        }
                    }
                    "TUMBLE" => {
                        arity(2)?;
                        Ok(Some(WindowKey::Tumble {
                            time: time_of(self, args[0])?,
                            size_ms: interval_ms(args[1])?,
                        }))
                    }
                    "HOP" => {
                        arity(3)?;
                        Ok(Some(WindowKey::Hop {
                            time: time_of(self, args[0])?,
                            slide_ms: interval_ms(args[1])?,
                            size_ms: interval_ms(args[2])?,
                        }))
                    }
                    "SESSION" => {
                        arity(2)?;
                        Ok(Some(WindowKey::Session {
                            time: time_of(self, args[0])?,
                            gap_ms: interval_ms(args[1])?,
                        }))
                    }
                    "STAGGER" => {
                        arity(1)?;
                        Ok(Some(WindowKey::Stagger {
                            range_ms: interval_ms(args[0])?,
                        }))
                    }
                    _ => Ok(None),
                }
            }
            _ => Ok(None),
        }
    }

    /// Compiles an expression over input rows (no grouping, no aggregates).
    pub fn row_expr(&mut self, e: &ast::Expr) -> Result<Expr, SqlError> {
        let keys = self.keys.take();
        let aggs = self.aggs.take();
        let r = self.expr(e);
        self.keys = keys;
        self.aggs = aggs;
        r
    }

    fn key_match(&self, e: &ast::Expr) -> Option<u32> {
        let keys = self.keys.as_ref()?;
        let text = e.to_string().to_uppercase();
        let col = match e {
            ast::Expr::Identifier(i) => find_column(self.columns, &ident_name(i)),
            ast::Expr::CompoundIdentifier(p) => p
                .last()
                .and_then(|i| find_column(self.columns, &ident_name(i))),
            _ => None,
        };
        keys.iter()
            .position(|(t, c)| *t == text || (col.is_some() && *c == col))
            .and_then(|i| u32::try_from(i).ok())
    }

    fn aggregate(&mut self, f: &ast::Function, kind: AggKind) -> Result<Expr, SqlError> {
        let e_pos = pos(f);
        let name = function_name(f);
        let (distinct, args) = match &f.args {
            FunctionArguments::List(list) => (
                matches!(
                    list.duplicate_treatment,
                    Some(ast::DuplicateTreatment::Distinct)
                ),
                list.args.clone(),
            ),
            _ => (false, Vec::new()),
        };
        if f.filter.is_some() || !f.within_group.is_empty() {
            return Err(SqlError::unsupported(
                e_pos,
                format!("FILTER/WITHIN GROUP on {name}"),
                "",
            ));
        }
        let (kind, arg) = match args.as_slice() {
            [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)]
                if kind == AggKind::Count && !distinct =>
            {
                (AggKind::CountStar, None)
            }
            [FunctionArg::Unnamed(FunctionArgExpr::Expr(a))] => (kind, Some(self.row_expr(a)?)),
            _ => return Err(SqlError::at(e_pos, format!("{name} takes one argument"))),
        };
        if let Some(over) = &f.over {
            self.over.push((over.clone(), e_pos));
        }
        let Some(aggs) = self.aggs.as_mut() else {
            return Err(SqlError::at(
                e_pos,
                format!(
                    "{name} needs a window: add GROUP BY with STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '60' SECOND) or an OVER window"
                ),
            ));
        };
        aggs.push(AggSpec {
            kind,
            arg,
            distinct,
        });
        Ok(Expr::Agg(u32::try_from(aggs.len() - 1).unwrap_or(u32::MAX)))
    }

    /// Compiles an expression in the current mode.
    pub fn expr(&mut self, e: &ast::Expr) -> Result<Expr, SqlError> {
        if let Some(k) = self.key_match(e) {
            return Ok(Expr::Key(k));
        }
        let b = |x: Expr| Box::new(x);
        Ok(match e {
            ast::Expr::Identifier(i) => self.grouped_column(e, std::slice::from_ref(i))?,
            ast::Expr::CompoundIdentifier(parts) => self.grouped_column(e, parts)?,
            ast::Expr::Value(v) => literal(&v.value, e)?,
            ast::Expr::Nested(inner) => self.expr(inner)?,
            ast::Expr::Interval(_) => Expr::Lit(Value::Int(interval_ms(e)?)),
            ast::Expr::TypedString(ts) => {
                let text = match &ts.value.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    _ => return Err(SqlError::at(pos(e), "expected a quoted literal")),
                };
                let t = sql_type(&ts.data_type, pos(e))?;
                Expr::Lit(
                    t.cast(Value::Str(text))
                        .map_err(|m| SqlError::at(pos(e), m))?,
                )
            }
            ast::Expr::UnaryOp { op, expr } => match op {
                UnaryOperator::Not => Expr::Not(b(self.expr(expr)?)),
                UnaryOperator::Minus => Expr::Neg(b(self.expr(expr)?)),
                UnaryOperator::Plus => self.expr(expr)?,
                _ => {
                    return Err(SqlError::unsupported(
                        pos(e),
                        format!("the operator {op}"),
                        "",
                    ));
                }
            },
            ast::Expr::BinaryOp { left, op, right } => {
                let op = match op {
                    BinaryOperator::Plus => BinOp::Add,
                    BinaryOperator::Minus => BinOp::Sub,
                    BinaryOperator::Multiply => BinOp::Mul,
                    BinaryOperator::Divide => BinOp::Div,
                    BinaryOperator::Modulo => BinOp::Mod,
                    BinaryOperator::StringConcat => BinOp::Concat,
                    BinaryOperator::Eq => BinOp::Eq,
                    BinaryOperator::NotEq => BinOp::Ne,
                    BinaryOperator::Lt => BinOp::Lt,
                    BinaryOperator::LtEq => BinOp::Le,
                    BinaryOperator::Gt => BinOp::Gt,
                    BinaryOperator::GtEq => BinOp::Ge,
                    BinaryOperator::And => BinOp::And,
                    BinaryOperator::Or => BinOp::Or,
                    other => {
                        return Err(SqlError::unsupported(
                            pos(e),
                            format!("the operator {other}"),
                            "",
                        ));
                    }
                };
                Expr::Bin(op, b(self.expr(left)?), b(self.expr(right)?))
            }
            ast::Expr::IsNull(x) => Expr::IsNull(b(self.expr(x)?), false),
            ast::Expr::IsNotNull(x) => Expr::IsNull(b(self.expr(x)?), true),
            ast::Expr::In {
                expr,
                target,
                negated,
                ..
            } => {
                let ast::InTarget::List(list) = target else {
                    return Err(SqlError::unsupported(
                        pos(e),
                        "IN with a subquery",
                        "list the values: IN ('a', 'b')",
                    ));
                };
                let list = list
                    .iter()
                    .map(|x| self.expr(x))
                    .collect::<Result<_, _>>()?;
                Expr::InList(b(self.expr(expr)?), list, *negated)
            }
            ast::Expr::Between {
                expr,
                negated,
                low,
                high,
            } => Expr::Between(
                b(self.expr(expr)?),
                b(self.expr(low)?),
                b(self.expr(high)?),
                *negated,
            ),
            ast::Expr::Like {
                negated,
                expr,
                pattern,
                escape_char,
                any,
            } => {
                if escape_char.is_some() || *any {
                    return Err(SqlError::unsupported(
                        pos(e),
                        "LIKE ... ESCAPE / LIKE ANY",
                        "",
                    ));
                }
                Expr::Like(b(self.expr(expr)?), b(self.expr(pattern)?), *negated)
            }
            ast::Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = match operand {
                    Some(o) => Some(b(self.expr(o)?)),
                    None => None,
                };
                let mut whens = Vec::new();
                for c in conditions {
                    whens.push((self.expr(&c.condition)?, self.expr(&c.result)?));
                }
                let otherwise = match else_result {
                    Some(x) => Some(b(self.expr(x)?)),
                    None => None,
                };
                Expr::Case(operand, whens, otherwise)
            }
            ast::Expr::Cast {
                expr,
                data_type,
                format,
                ..
            } => {
                if format.is_some() {
                    return Err(SqlError::unsupported(pos(e), "CAST ... FORMAT", ""));
                }
                Expr::Cast(b(self.expr(expr)?), sql_type(data_type, pos(e))?)
            }
            ast::Expr::Floor { expr, field } | ast::Expr::Ceil { expr, field } => {
                let floor = matches!(e, ast::Expr::Floor { .. });
                let inner = b(self.expr(expr)?);
                match field {
                    CeilFloorKind::DateTimeField(DateTimeField::NoDateTime) => {
                        if floor {
                            Expr::Floor(inner)
                        } else {
                            Expr::Ceil(inner)
                        }
                    }
                    CeilFloorKind::DateTimeField(f) => {
                        let ms = unit_ms(f).ok_or_else(|| {
                            SqlError::unsupported(
                                pos(e),
                                format!("FLOOR/CEIL to {f}"),
                                "use SECOND, MINUTE, HOUR or DAY",
                            )
                        })?;
                        if floor {
                            Expr::FloorTo(inner, ms)
                        } else {
                            Expr::CeilTo(inner, ms)
                        }
                    }
                    CeilFloorKind::Scale(_) => {
                        return Err(SqlError::unsupported(pos(e), "FLOOR/CEIL with a scale", ""));
                    }
                }
            }
            ast::Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.expr(expr)?];
                args.push(match substring_from {
                    Some(x) => self.expr(x)?,
                    None => Expr::Lit(Value::Int(1)),
                });
                if let Some(x) = substring_for {
                    args.push(self.expr(x)?);
                }
                Expr::Call(Func::Substring, args)
            }
            ast::Expr::Trim {
                trim_where,
                trim_what,
                expr,
                trim_characters,
            } => {
                if trim_what.is_some() || trim_characters.is_some() {
                    return Err(SqlError::unsupported(
                        pos(e),
                        "TRIM of characters other than spaces",
                        "",
                    ));
                }
                let f = match trim_where {
                    Some(ast::TrimWhereField::Leading) => Func::LTrim,
                    Some(ast::TrimWhereField::Trailing) => Func::RTrim,
                    _ => Func::Trim,
                };
                Expr::Call(f, vec![self.expr(expr)?])
            }
            ast::Expr::Position { expr, r#in } => {
                Expr::Call(Func::Position, vec![self.expr(expr)?, self.expr(r#in)?])
            }
            ast::Expr::Function(f) => self.function(f, e)?,
            _ => {
                return Err(SqlError::unsupported(
                    pos(e),
                    format!("the expression {e}"),
                    "",
                ));
            }
        })
    }

    fn grouped_column(&mut self, e: &ast::Expr, parts: &[ast::Ident]) -> Result<Expr, SqlError> {
        let c = self.column(e, parts)?;
        if self.keys.is_some() && matches!(c, Expr::Col(_)) {
            return Err(SqlError::at(
                pos(e),
                format!(
                    "{e} is neither grouped nor aggregated: add it to GROUP BY or wrap it in an aggregate such as MAX({e})"
                ),
            ));
        }
        Ok(c)
    }

    fn function(&mut self, f: &ast::Function, e: &ast::Expr) -> Result<Expr, SqlError> {
        let name = function_name(f);
        let agg = match name.as_str() {
            "COUNT" => Some(AggKind::Count),
            "SUM" => Some(AggKind::Sum),
            "AVG" => Some(AggKind::Avg),
            "MIN" => Some(AggKind::Min),
            "MAX" => Some(AggKind::Max),
            _ => None,
        };
        if let Some(kind) = agg {
            return self.aggregate(f, kind);
        }
        if f.over.is_some() {
            return Err(SqlError::unsupported(
                pos(e),
                format!("{name} with OVER"),
                "OVER works with COUNT, SUM, AVG, MIN and MAX",
            ));
        }
        if self.windowed {
            match name.as_str() {
                "TUMBLE_START" | "HOP_START" | "SESSION_START" | "STAGGER_START" => {
                    return Ok(Expr::WindowStart);
                }
                "TUMBLE_END" | "HOP_END" | "SESSION_END" | "STAGGER_END" => {
                    return Ok(Expr::WindowEnd);
                }
                _ => {}
            }
        }
        if name == "CURRENT_ROW_TIMESTAMP" {
            return Ok(Expr::Call(Func::CurrentRowTimestamp, Vec::new()));
        }
        let args = plain_args(f)?;
        let func = match name.as_str() {
            "UPPER" => (Func::Upper, 1),
            "LOWER" => (Func::Lower, 1),
            "CHAR_LENGTH" | "CHARACTER_LENGTH" | "LENGTH" => (Func::CharLength, 1),
            "TRIM" => (Func::Trim, 1),
            "LTRIM" => (Func::LTrim, 1),
            "RTRIM" => (Func::RTrim, 1),
            "INITCAP" => (Func::Initcap, 1),
            "ABS" => (Func::Abs, 1),
            "MOD" => (Func::Mod, 2),
            "TSDIFF" => (Func::TsDiff, 2),
            "COALESCE" => (Func::Coalesce, args.len().max(1)),
            "SUBSTRING" | "SUBSTR" => (Func::Substring, args.len().clamp(2, 3)),
            "STEP" => {
                if args.len() != 2 {
                    return Err(SqlError::at(
                        pos(e),
                        "STEP takes a time and an interval: STEP(ROWTIME BY INTERVAL '60' SECOND)",
                    ));
                }
                return Ok(Expr::FloorTo(
                    Box::new(self.expr(args[0])?),
                    interval_ms(args[1])?,
                ));
            }
            "TUMBLE" | "HOP" | "SESSION" | "STAGGER" => {
                return Err(SqlError::at(
                    pos(e),
                    format!(
                        "{name}(...) belongs in GROUP BY; select TUMBLE_START/TUMBLE_END or window_start/window_end"
                    ),
                ));
            }
            "TOP_K_ITEMS_TUMBLING" | "COUNT_DISTINCT_ITEMS_TUMBLING" | "RANDOM_CUT_FOREST" => {
                return Err(SqlError::at(
                    pos(e),
                    format!(
                        "{name} is a table function: SELECT STREAM * FROM TABLE({name}(CURSOR(SELECT STREAM * FROM \"SOURCE_SQL_STREAM_001\"), ...))"
                    ),
                ));
            }
            _ => {
                return Err(SqlError::unsupported(
                    pos(e),
                    format!("the function {name}"),
                    "",
                ));
            }
        };
        if args.len() != func.1 {
            return Err(SqlError::at(
                pos(e),
                format!("{name} takes {} argument(s), not {}", func.1, args.len()),
            ));
        }
        let args = args
            .into_iter()
            .map(|a| self.expr(a))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Expr::Call(func.0, args))
    }
}

fn literal(v: &ast::Value, e: &ast::Expr) -> Result<Expr, SqlError> {
    Ok(Expr::Lit(match v {
        ast::Value::Number(n, _) => match n.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Double(
                n.parse::<f64>()
                    .map_err(|_| SqlError::at(pos(e), format!("bad number {n}")))?,
            ),
        },
        ast::Value::SingleQuotedString(s) => Value::Str(s.clone()),
        ast::Value::Boolean(b) => Value::Bool(*b),
        ast::Value::Null => Value::Null,
        other => {
            return Err(SqlError::unsupported(
                pos(e),
                format!("the literal {other}"),
                "",
            ));
        }
    }))
}

/// The column type of a SQL data type.
pub fn sql_type(
    t: &ast::DataType,
    at: sqlparser::tokenizer::Location,
) -> Result<SqlType, SqlError> {
    use ast::DataType as D;
    Ok(match t {
        D::Varchar(len)
        | D::Char(len)
        | D::CharVarying(len)
        | D::Character(len)
        | D::CharacterVarying(len) => match len {
            Some(ast::CharacterLength::IntegerLength { length, .. }) => {
                SqlType::Varchar(u32::try_from(*length).unwrap_or(u32::MAX))
            }
            _ => SqlType::Varchar(u32::MAX),
        },
        D::Int(_) | D::Integer(_) | D::SmallInt(_) | D::TinyInt(_) => SqlType::Integer,
        D::BigInt(_) => SqlType::Bigint,
        D::Double(_)
        | D::DoublePrecision
        | D::Real
        | D::Float(_)
        | D::Decimal(_)
        | D::Numeric(_) => SqlType::Double,
        D::Bool | D::Boolean => SqlType::Boolean,
        D::Timestamp(..) => SqlType::Timestamp,
        other => {
            return Err(SqlError::unsupported(
                at,
                format!("the type {other}"),
                "use VARCHAR(n), INTEGER, BIGINT, DOUBLE, BOOLEAN or TIMESTAMP",
            ));
        }
    })
}
