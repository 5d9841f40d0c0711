//! The planner: rewritten statements, parsed by sqlparser, become in-application streams and pumps whose queries
//! are chains of [`Stage`]s.

use super::SqlError;
use super::aggregate::AggSpec;
use super::dialect::{Rewritten, rewrite};
use super::expr::{
    Compiler, Expr, TimeRef, WindowKey, ident_name, interval_ms, plain_args, pos, sql_type,
};
use super::items::{DistinctItems, TopK};
use super::rcf;
use super::schema::InputSchema;
use super::session::Session;
use super::sliding::{Frame, Sliding};
use super::stage::{GroupOutput, Map, Stage};
use super::stagger::Stagger;
use super::tumbling::FixedWindows;
use super::value::{SqlType, Value};
use serde::{Deserialize, Serialize};
use sqlparser::ast::{self, SelectItem, SetExpr, Statement, TableFactor};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Location;
use std::collections::BTreeMap;

/// The name of the application's input stream.
pub const SOURCE_STREAM: &str = "SOURCE_SQL_STREAM_001";
/// The most pumps an application may have (a limit of this simulator, to bound work per row).
pub const PUMPS_MAX: u32 = 64;

/// An in-application stream.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StreamDef {
    /// Its name.
    pub name: String,
    /// Column names.
    pub columns: Vec<String>,
    /// Column types.
    pub types: Vec<SqlType>,
}

/// A pump: a continuous `INSERT INTO dest SELECT ... FROM src`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pump {
    /// Its name.
    pub name: String,
    /// The stream it reads (index into [`Program::streams`]).
    pub from: u32,
    /// The stream it writes.
    pub into: u32,
    /// Its operators, in order.
    pub stages: Vec<Stage>,
    /// For each destination column, the query column feeding it (NULL when none).
    pub mapping: Vec<Option<u32>>,
}

/// `WATERMARK FOR column AS expr` on the source.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Watermark {
    /// The event-time column.
    pub column: u32,
    /// The watermark a row implies (e.g. `ts - INTERVAL '5' SECOND`).
    pub expr: Expr,
}

/// A planned application.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Program {
    /// Streams; index 0 is `SOURCE_SQL_STREAM_001`.
    pub streams: Vec<StreamDef>,
    /// Pumps in declaration order.
    pub pumps: Vec<Pump>,
    /// The source's watermark, if declared.
    pub watermark: Option<Watermark>,
}

fn parse_error(e: ParserError, start: Location) -> SqlError {
    let text = match e {
        ParserError::TokenizerError(s) | ParserError::ParserError(s) => s,
        ParserError::RecursionLimitExceeded => "the statement nests too deeply".to_string(),
    };
    // sqlparser ends its messages with " at Line: L, Column: C".
    if let Some(i) = text.rfind(" at Line: ") {
        let tail = &text[i + 10..];
        let mut parts = tail.split(", Column: ");
        let line = parts.next().and_then(|l| l.trim().parse::<u64>().ok());
        let column = parts.next().and_then(|c| c.trim().parse::<u64>().ok());
        if let (Some(line), Some(column)) = (line, column) {
            return SqlError::at(
                Location { line, column },
                format!("cannot parse: {}", &text[..i]),
            );
        }
    }
    SqlError::at(start, format!("cannot parse: {text}"))
}

struct Planner<'a> {
    program: Program,
    /// RANDOM_CUT_FOREST calls so far (each gets its own seed).
    forests: u64,
    schema: &'a InputSchema,
}

/// What compiling a query gives: the stream it reads, its stages and its output columns.
struct Compiled {
    from: u32,
    stages: Vec<Stage>,
    columns: Vec<String>,
    /// Whether the query reads the source directly with no stage before this one (event time is available).
    direct_source: bool,
}

/// Plans an application's SQL against its input schema.
pub fn plan(sql: &str, schema: &InputSchema) -> Result<Program, SqlError> {
    let source = StreamDef {
        name: SOURCE_STREAM.to_string(),
        columns: schema.columns.iter().map(|c| c.name.clone()).collect(),
        types: schema.columns.iter().map(|c| c.sql_type.clone()).collect(),
    };
    let mut planner = Planner {
        forests: 0,
        program: Program {
            streams: vec![source],
            pumps: Vec::new(),
            watermark: None,
        },
        schema,
    };
    let statements = rewrite(sql)?;
    if statements.is_empty() {
        return Err(SqlError::at(
            Location { line: 1, column: 1 },
            "the application has no SQL: add CREATE OR REPLACE STREAM and CREATE OR REPLACE PUMP statements",
        ));
    }
    for st in &statements {
        planner.statement(st)?;
    }
    if planner.program.pumps.is_empty() {
        return Err(SqlError::at(
            statements[0].start,
            "no pump: add CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\" SELECT STREAM ... FROM \"SOURCE_SQL_STREAM_001\"",
        ));
    }
    planner.check_cycles(&statements)?;
    Ok(planner.program)
}

impl Planner<'_> {
    fn stream_index(&self, name: &str) -> Option<u32> {
        self.program
            .streams
            .iter()
            .position(|s| s.name == name)
            .or_else(|| {
                self.program
                    .streams
                    .iter()
                    .position(|s| s.name.eq_ignore_ascii_case(name))
            })
            .and_then(|i| u32::try_from(i).ok())
    }

    fn statement(&mut self, st: &Rewritten) -> Result<(), SqlError> {
        let dialect = GenericDialect {};
        let mut parser = Parser::new(&dialect).with_tokens_with_locations(st.tokens.clone());
        let statement = parser
            .parse_statement()
            .map_err(|e| parse_error(e, st.start))?;
        let next = parser.peek_token_ref();
        if next.token != sqlparser::tokenizer::Token::EOF {
            let (t, at) = (next.token.to_string(), next.span.start);
            return Err(SqlError::at(
                at,
                format!("unexpected {t}: end the statement with ;"),
            ));
        }
        match (&statement, &st.pump) {
            (Statement::CreateTable(ct), None) => self.create_stream(ct, st),
            (Statement::Insert(ins), Some((name, at))) => self.pump(name.clone(), *at, ins, st),
            (Statement::Insert(_), None) => Err(SqlError::at(
                st.start,
                "INSERT runs only inside a pump: CREATE OR REPLACE PUMP \"P\" AS INSERT INTO ...",
            )),
            (Statement::Query(_), _) => Err(SqlError::at(
                st.start,
                "a SELECT runs only inside a pump: CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"DEST\" SELECT STREAM ...",
            )),
            (_, Some(_)) => Err(SqlError::at(
                st.start,
                "a pump's body must be INSERT INTO stream SELECT STREAM ...",
            )),
            (other, None) => {
                let word = other
                    .to_string()
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ");
                Err(SqlError::unsupported(
                    st.start,
                    format!("the statement {word}"),
                    "only CREATE OR REPLACE STREAM and CREATE OR REPLACE PUMP run in an application",
                ))
            }
        }
    }

    fn create_stream(&mut self, ct: &ast::CreateTable, st: &Rewritten) -> Result<(), SqlError> {
        if ct.query.is_some() {
            return Err(SqlError::unsupported(
                st.start,
                "CREATE STREAM ... AS SELECT",
                "declare the columns and fill the stream with a pump",
            ));
        }
        let name = ct
            .name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(ident_name)
            .unwrap_or_default();
        let mut columns = Vec::new();
        let mut types = Vec::new();
        for c in &ct.columns {
            let cname = ident_name(&c.name);
            if columns.contains(&cname) {
                return Err(SqlError::at(
                    c.name.span.start,
                    format!("the column {cname} is declared twice"),
                ));
            }
            columns.push(cname);
            types.push(sql_type(&c.data_type, c.name.span.start)?);
        }
        if name.eq_ignore_ascii_case(SOURCE_STREAM) {
            for c in &columns {
                if super::expr::find_column(&self.program.streams[0].columns, c).is_none() {
                    return Err(SqlError::at(
                        st.start,
                        format!(
                            "{SOURCE_STREAM} has no column {c}; its columns come from the input schema"
                        ),
                    ));
                }
            }
            if let Some(w) = &st.watermark {
                let cols = self.program.streams[0].columns.clone();
                let column = super::expr::find_column(&cols, &w.column).ok_or_else(|| {
                    SqlError::at(
                        w.at,
                        format!(
                            "WATERMARK FOR {}: no such column in {SOURCE_STREAM}",
                            w.column
                        ),
                    )
                })?;
                if self
                    .schema
                    .columns
                    .get(column as usize)
                    .map(|c| &c.sql_type)
                    != Some(&SqlType::Timestamp)
                {
                    return Err(SqlError::at(
                        w.at,
                        format!("WATERMARK FOR {}: the column must be a TIMESTAMP", w.column),
                    ));
                }
                let dialect = GenericDialect {};
                let mut parser = Parser::new(&dialect).with_tokens_with_locations(w.expr.clone());
                let e = parser.parse_expr().map_err(|e| parse_error(e, w.at))?;
                let expr = Compiler::new(&cols, vec![SOURCE_STREAM.to_string()]).row_expr(&e)?;
                self.program.watermark = Some(Watermark { column, expr });
            }
            return Ok(());
        }
        if let Some(w) = &st.watermark {
            return Err(SqlError::unsupported(
                w.at,
                format!("a watermark on {name}"),
                "declare watermarks on SOURCE_SQL_STREAM_001",
            ));
        }
        if columns.is_empty() {
            return Err(SqlError::at(
                st.start,
                format!(
                    "the stream {name} needs columns: CREATE OR REPLACE STREAM \"{name}\" (col VARCHAR(16), n INTEGER)"
                ),
            ));
        }
        let def = StreamDef {
            name: name.clone(),
            columns,
            types,
        };
        match self.stream_index(&name) {
            Some(i)
                if self
                    .program
                    .pumps
                    .iter()
                    .any(|p| p.into == i || p.from == i) =>
            {
                return Err(SqlError::at(
                    st.start,
                    format!(
                        "the stream {name} is already used by a pump; declare streams before their pumps"
                    ),
                ));
            }
            Some(i) => self.program.streams[i as usize] = def,
            None => self.program.streams.push(def),
        }
        Ok(())
    }

    fn pump(
        &mut self,
        name: String,
        at: Location,
        ins: &ast::Insert,
        st: &Rewritten,
    ) -> Result<(), SqlError> {
        if u32::try_from(self.program.pumps.len()).unwrap_or(u32::MAX) >= PUMPS_MAX {
            return Err(SqlError::at(
                at,
                format!("too many pumps: at most {PUMPS_MAX}"),
            ));
        }
        let dest_name = match &ins.table {
            ast::TableObject::TableName(n) => {
                n.0.last()
                    .and_then(|p| p.as_ident())
                    .map(ident_name)
                    .unwrap_or_default()
            }
            _ => return Err(SqlError::at(st.start, "INSERT INTO needs a stream name")),
        };
        let into = self.stream_index(&dest_name).ok_or_else(|| {
            SqlError::at(st.start, format!("the stream {dest_name} is not declared: CREATE OR REPLACE STREAM \"{dest_name}\" (...) before the pump"))
        })?;
        if into == 0 {
            return Err(SqlError::at(
                st.start,
                format!("a pump cannot write {SOURCE_STREAM}, the application's input"),
            ));
        }
        let Some(query) = &ins.source else {
            return Err(SqlError::at(
                st.start,
                "INSERT needs a SELECT STREAM ... query",
            ));
        };
        let compiled = self.query(query)?;
        let dest = &self.program.streams[into as usize];
        let mapping: Vec<Option<u32>> = if ins.columns.is_empty() {
            if compiled.columns.len() != dest.columns.len() {
                return Err(SqlError::at(
                    pos(query.as_ref()),
                    format!(
                        "the query gives {} columns but {} has {} ({}): make them match or list the columns after INSERT INTO {}",
                        compiled.columns.len(),
                        dest.name,
                        dest.columns.len(),
                        dest.columns.join(", "),
                        dest.name
                    ),
                ));
            }
            (0..dest.columns.len())
                .map(|i| u32::try_from(i).ok())
                .collect()
        } else {
            if ins.columns.len() != compiled.columns.len() {
                return Err(SqlError::at(
                    pos(query.as_ref()),
                    format!(
                        "INSERT lists {} columns but the query gives {}",
                        ins.columns.len(),
                        compiled.columns.len()
                    ),
                ));
            }
            let mut m = vec![None; dest.columns.len()];
            for (qi, c) in ins.columns.iter().enumerate() {
                let cname =
                    c.0.last()
                        .and_then(|p| p.as_ident())
                        .map(ident_name)
                        .unwrap_or_default();
                let di = super::expr::find_column(&dest.columns, &cname).ok_or_else(|| {
                    SqlError::at(st.start, format!("{} has no column {cname}", dest.name))
                })?;
                m[di as usize] = u32::try_from(qi).ok();
            }
            m
        };
        self.program.pumps.push(Pump {
            name,
            from: compiled.from,
            into,
            stages: compiled.stages,
            mapping,
        });
        Ok(())
    }

    fn check_cycles(&self, statements: &[Rewritten]) -> Result<(), SqlError> {
        // A pump's rows may not flow back into the stream it reads.
        let mut edges: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for p in &self.program.pumps {
            edges.entry(p.from).or_default().push(p.into);
        }
        for p in &self.program.pumps {
            let mut stack = vec![p.into];
            let mut seen = Vec::new();
            while let Some(s) = stack.pop() {
                if s == p.from {
                    let at = statements
                        .iter()
                        .find(|s| s.pump.as_ref().is_some_and(|x| x.0 == p.name))
                        .map_or(Location { line: 1, column: 1 }, |s| s.start);
                    return Err(SqlError::at(
                        at,
                        format!(
                            "the pump {} feeds the stream it reads: pumps may not form a cycle",
                            p.name
                        ),
                    ));
                }
                if !seen.contains(&s) {
                    seen.push(s);
                    stack.extend(edges.get(&s).into_iter().flatten());
                }
            }
        }
        Ok(())
    }

    fn query(&mut self, q: &ast::Query) -> Result<Compiled, SqlError> {
        if q.with.is_some() {
            return Err(SqlError::unsupported(
                pos(q),
                "WITH",
                "use an intermediate stream and a second pump",
            ));
        }
        if q.order_by.is_some() {
            return Err(SqlError::unsupported(
                pos(q),
                "ORDER BY on a stream",
                "remove it; windows emit in time order",
            ));
        }
        if q.limit_clause.is_some() || q.fetch.is_some() {
            return Err(SqlError::unsupported(
                pos(q),
                "LIMIT/FETCH on a stream",
                "remove it",
            ));
        }
        match q.body.as_ref() {
            SetExpr::Select(s) => self.select(s),
            SetExpr::Query(inner) => self.query(inner),
            other => Err(SqlError::unsupported(
                pos(q),
                other
                    .to_string()
                    .split_whitespace()
                    .next()
                    .unwrap_or("this query form")
                    .to_string(),
                "use a single SELECT STREAM",
            )),
        }
    }

    fn table_function(&mut self, f: &ast::Function) -> Result<Compiled, SqlError> {
        let name = f.name.to_string().trim_matches('"').to_uppercase();
        let args = plain_args(f)?;
        let cursor = match args.first() {
            Some(ast::Expr::Subquery(q)) => self.query(q)?,
            _ => {
                return Err(SqlError::at(
                    pos(f),
                    format!("{name} takes CURSOR(SELECT STREAM * FROM \"stream\") first"),
                ));
            }
        };
        let column_arg = |i: usize| -> Result<u32, SqlError> {
            match args.get(i) {
                Some(ast::Expr::Value(v)) => match &v.value {
                    ast::Value::SingleQuotedString(s) => {
                        super::expr::find_column(&cursor.columns, s).ok_or_else(|| {
                            SqlError::at(
                                pos(args[i]),
                                format!(
                                    "the cursor has no column '{s}'; it has {}",
                                    cursor.columns.join(", ")
                                ),
                            )
                        })
                    }
                    _ => Err(SqlError::at(
                        pos(args[i]),
                        "the column name must be in single quotes: 'COLUMN'",
                    )),
                },
                _ => Err(SqlError::at(
                    pos(f),
                    format!("{name} needs a column name in single quotes"),
                )),
            }
        };
        let int_arg = |i: usize, what: &str, lo: i64, hi: i64| -> Result<i64, SqlError> {
            let v = match args.get(i) {
                Some(ast::Expr::Value(v)) => match &v.value {
                    ast::Value::Number(n, _) => n.parse::<i64>().ok(),
                    _ => None,
                },
                _ => None,
            };
            match v {
                Some(n) if (lo..=hi).contains(&n) => Ok(n),
                _ => Err(SqlError::at(
                    args.get(i).map_or(pos(f), |a| pos(*a)),
                    format!("{name}: {what} must be an integer from {lo} to {hi}"),
                )),
            }
        };
        let mut stages = cursor.stages;
        let columns = match name.as_str() {
            "TOP_K_ITEMS_TUMBLING" => {
                if args.len() != 4 {
                    return Err(SqlError::at(
                        pos(f),
                        "TOP_K_ITEMS_TUMBLING(CURSOR(...), 'column', k, windowSeconds)",
                    ));
                }
                let column = column_arg(1)?;
                let k = int_arg(2, "K", 1, 100_000)?;
                let size = int_arg(3, "the window size in seconds", 1, 3600)?;
                stages.push(Stage::TopK(TopK {
                    column,
                    k: u32::try_from(k).unwrap_or(1),
                    size_ms: size * 1000,
                    open: BTreeMap::new(),
                }));
                vec!["ITEM".to_string(), "ITEM_COUNT".to_string()]
            }
            "COUNT_DISTINCT_ITEMS_TUMBLING" => {
                if args.len() != 3 {
                    return Err(SqlError::at(
                        pos(f),
                        "COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(...), 'column', windowSeconds)",
                    ));
                }
                let column = column_arg(1)?;
                let size = int_arg(2, "the window size in seconds", 1, 3600)?;
                stages.push(Stage::DistinctItems(DistinctItems {
                    column,
                    size_ms: size * 1000,
                    open: BTreeMap::new(),
                }));
                vec!["NUMBER_OF_DISTINCT_ITEMS".to_string()]
            }
            "RANDOM_CUT_FOREST" => {
                if args.len() > 5 {
                    return Err(SqlError::at(
                        pos(f),
                        "RANDOM_CUT_FOREST(CURSOR(...), numberOfTrees, subSampleSize, timeDecay, shingleSize)",
                    ));
                }
                let param = |i: usize,
                             what: &str,
                             lo: i64,
                             hi: i64,
                             default: i64|
                 -> Result<i64, SqlError> {
                    if i < args.len() {
                        int_arg(i, what, lo, hi)
                    } else {
                        Ok(default)
                    }
                };
                // Ranges from the service's RANDOM_CUT_FOREST reference.
                let trees = param(1, "numberOfTrees", 1, 1000, i64::from(rcf::TREES_DEFAULT))?;
                let sample = param(
                    2,
                    "subSampleSize",
                    10,
                    1000,
                    i64::from(rcf::SUB_SAMPLE_SIZE_DEFAULT),
                )?;
                let decay = param(
                    3,
                    "timeDecay",
                    1,
                    i64::MAX,
                    i64::try_from(rcf::TIME_DECAY_DEFAULT).unwrap_or(i64::MAX),
                )?;
                let shingle = param(
                    4,
                    "shingleSize",
                    1,
                    30,
                    i64::from(rcf::SHINGLE_SIZE_DEFAULT),
                )?;
                self.forests += 1;
                let forest = rcf::Forest::new(
                    u32::try_from(trees).unwrap_or(1),
                    u32::try_from(sample).unwrap_or(2),
                    u64::try_from(decay).unwrap_or(1),
                    u32::try_from(shingle).unwrap_or(1),
                    0x5eed_0000 + self.forests,
                );
                stages.push(Stage::Rcf(Box::new(forest)));
                let mut columns = cursor.columns.clone();
                columns.push("ANOMALY_SCORE".to_string());
                columns
            }
            _ => {
                return Err(SqlError::unsupported(
                    pos(f),
                    format!("the table function {name}"),
                    "TOP_K_ITEMS_TUMBLING, COUNT_DISTINCT_ITEMS_TUMBLING and RANDOM_CUT_FOREST are supported",
                ));
            }
        };
        Ok(Compiled {
            from: cursor.from,
            stages,
            columns,
            direct_source: false,
        })
    }

    fn select(&mut self, s: &ast::Select) -> Result<Compiled, SqlError> {
        if s.distinct.is_some() {
            return Err(SqlError::unsupported(
                pos(s),
                "SELECT DISTINCT on a stream",
                "group by the columns in a window instead",
            ));
        }
        if s.from.len() != 1 || !s.from[0].joins.is_empty() {
            let at = s.from.get(1).map_or(pos(s), |t| pos(&t.relation));
            let at = s
                .from
                .first()
                .and_then(|t| t.joins.first())
                .map_or(at, |j| pos(&j.relation));
            return Err(SqlError::unsupported(
                at,
                "joins and several FROM items",
                "read one stream per pump",
            ));
        }
        if s.qualify.is_some()
            || !s.sort_by.is_empty()
            || !s.cluster_by.is_empty()
            || s.prewhere.is_some()
        {
            return Err(SqlError::unsupported(
                pos(s),
                "QUALIFY/SORT BY/CLUSTER BY",
                "",
            ));
        }
        let (input, qualifiers) = match &s.from[0].relation {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => {
                let n = name
                    .0
                    .last()
                    .and_then(|p| p.as_ident())
                    .map(ident_name)
                    .unwrap_or_default();
                let from = self.stream_index(&n).ok_or_else(|| {
                    SqlError::at(pos(name), format!("unknown stream {n}: declare it with CREATE OR REPLACE STREAM, or read {SOURCE_STREAM}"))
                })?;
                let mut q = vec![n];
                if let Some(a) = alias {
                    q.push(ident_name(&a.name));
                }
                let columns = self.program.streams[from as usize].columns.clone();
                (
                    Compiled {
                        from,
                        stages: Vec::new(),
                        columns,
                        direct_source: from == 0,
                    },
                    q,
                )
            }
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            } => {
                return Err(SqlError::unsupported(
                    pos(name),
                    format!("the table function {name}"),
                    "",
                ));
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let inner = self.query(subquery)?;
                (
                    Compiled {
                        direct_source: false,
                        ..inner
                    },
                    alias.iter().map(|a| ident_name(&a.name)).collect(),
                )
            }
            TableFactor::TableFunction {
                expr: ast::Expr::Function(f),
                alias,
            } => {
                let inner = self.table_function(f)?;
                (inner, alias.iter().map(|a| ident_name(&a.name)).collect())
            }
            other => {
                return Err(SqlError::unsupported(
                    pos(other),
                    format!("reading {other}"),
                    "read a stream by name",
                ));
            }
        };
        let Compiled {
            from,
            mut stages,
            columns,
            direct_source,
        } = input;
        let mut c = Compiler::new(&columns, qualifiers);
        let filter = match &s.selection {
            Some(w) => Some(c.row_expr(w)?),
            None => None,
        };
        let group_exprs = match &s.group_by {
            ast::GroupByExpr::Expressions(e, mods) if mods.is_empty() => e.clone(),
            ast::GroupByExpr::Expressions(..) | ast::GroupByExpr::All(_) => {
                return Err(SqlError::unsupported(
                    pos(s),
                    "GROUP BY ALL / ROLLUP / CUBE modifiers",
                    "",
                ));
            }
        };
        let (names, stage) = if !group_exprs.is_empty() {
            self.grouped(s, &mut c, &group_exprs, filter, direct_source)?
        } else {
            self.ungrouped(s, &mut c, filter)?
        };
        stages.push(stage);
        Ok(Compiled {
            from,
            stages,
            columns: names,
            direct_source: false,
        })
    }

    fn projection(
        &self,
        s: &ast::Select,
        c: &mut Compiler<'_>,
    ) -> Result<(Vec<String>, Vec<Expr>), SqlError> {
        let mut names = Vec::new();
        let mut exprs = Vec::new();
        for (i, item) in s.projection.iter().enumerate() {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    names.push(match e {
                        ast::Expr::Identifier(id) => ident_name(id),
                        ast::Expr::CompoundIdentifier(p) => {
                            p.last().map(ident_name).unwrap_or_default()
                        }
                        _ => format!("EXPR${i}"),
                    });
                    exprs.push(c.expr(e)?);
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    names.push(ident_name(alias));
                    exprs.push(c.expr(expr)?);
                }
                SelectItem::ExprWithAliases { .. } => {
                    return Err(SqlError::unsupported(
                        pos(item),
                        "several aliases for one expression",
                        "",
                    ));
                }
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    c.wildcard(item, &mut names, &mut exprs)?;
                }
            }
        }
        Ok((names, exprs))
    }

    fn ungrouped(
        &self,
        s: &ast::Select,
        c: &mut Compiler<'_>,
        filter: Option<Expr>,
    ) -> Result<(Vec<String>, Stage), SqlError> {
        if let Some(h) = &s.having {
            return Err(SqlError::at(pos(h), "HAVING needs GROUP BY"));
        }
        c.aggs = Some(Vec::new());
        let (names, project) = self.projection(s, c)?;
        let aggs = c.aggs.take().unwrap_or_default();
        if aggs.is_empty() {
            return Ok((names, Stage::Map(Map { filter, project })));
        }
        // Aggregates without GROUP BY: they must all be OVER the same window.
        if c.over.len() != aggs.len() {
            let at = c.over.first().map_or(pos(s), |o| o.1);
            return Err(SqlError::at(
                at,
                "an aggregate without GROUP BY needs OVER a window: COUNT(*) OVER W ... WINDOW W AS (PARTITION BY k RANGE INTERVAL '1' MINUTE PRECEDING), or GROUP BY a window",
            ));
        }
        let first = c.over[0].0.to_string();
        if let Some((_, at)) = c.over.iter().find(|(w, _)| w.to_string() != first) {
            return Err(SqlError::unsupported(
                *at,
                "several different windows in one SELECT",
                "use one window, or one pump per window",
            ));
        }
        let (over, at) = c.over[0].clone();
        let spec = match over {
            ast::WindowType::WindowSpec(spec) => spec,
            ast::WindowType::NamedWindow(name) => {
                let wanted = ident_name(&name);
                let def = s.named_window.iter().find(|d| ident_name(&d.0) == wanted).ok_or_else(|| {
                    SqlError::at(at, format!("the window {wanted} is not defined: add WINDOW {wanted} AS (PARTITION BY ... RANGE INTERVAL '1' MINUTE PRECEDING)"))
                })?;
                match &def.1 {
                    ast::NamedWindowExpr::WindowSpec(spec) => spec.clone(),
                    ast::NamedWindowExpr::NamedWindow(_) => {
                        return Err(SqlError::unsupported(
                            at,
                            "a window defined by another window",
                            "",
                        ));
                    }
                }
            }
        };
        if spec.window_name.is_some() {
            return Err(SqlError::unsupported(
                at,
                "a window based on another window",
                "",
            ));
        }
        for o in &spec.order_by {
            if !matches!(c.row_expr(&o.expr)?, Expr::RowTime) {
                return Err(SqlError::unsupported(
                    pos(&o.expr),
                    "ordering a sliding window by anything but ROWTIME",
                    "remove ORDER BY or order by ROWTIME",
                ));
            }
        }
        let partition = spec
            .partition_by
            .iter()
            .map(|e| c.row_expr(e))
            .collect::<Result<Vec<_>, _>>()?;
        let Some(frame) = &spec.window_frame else {
            return Err(SqlError::at(
                at,
                "the window needs a frame: RANGE INTERVAL '1' MINUTE PRECEDING or ROWS 10 PRECEDING",
            ));
        };
        if !matches!(
            frame.end_bound,
            None | Some(ast::WindowFrameBound::CurrentRow)
        ) {
            return Err(SqlError::unsupported(
                at,
                "windows reaching FOLLOWING rows",
                "a stream cannot see the future; end the frame at CURRENT ROW",
            ));
        }
        let frame = match (&frame.units, &frame.start_bound) {
            (ast::WindowFrameUnits::Range, ast::WindowFrameBound::Preceding(Some(e))) => {
                Frame::Range(u64::try_from(interval_ms(e)?).unwrap_or(0))
            }
            (ast::WindowFrameUnits::Rows, ast::WindowFrameBound::Preceding(Some(e))) => {
                let n = match e.as_ref() {
                    ast::Expr::Value(v) => match &v.value {
                        ast::Value::Number(n, _) => n.parse::<u32>().ok(),
                        _ => None,
                    },
                    _ => None,
                };
                Frame::Rows(n.ok_or_else(|| {
                    SqlError::at(pos(e.as_ref()), "ROWS n PRECEDING needs a whole number n")
                })?)
            }
            (_, ast::WindowFrameBound::Preceding(None)) => {
                return Err(SqlError::unsupported(
                    at,
                    "UNBOUNDED PRECEDING on a stream",
                    "bound the window: RANGE INTERVAL '1' HOUR PRECEDING",
                ));
            }
            _ => {
                return Err(SqlError::unsupported(
                    at,
                    "this window frame",
                    "use RANGE INTERVAL 'n' unit PRECEDING or ROWS n PRECEDING",
                ));
            }
        };
        Ok((
            names,
            Stage::Sliding(Sliding {
                filter,
                partition,
                frame,
                aggs,
                project,
                parts: BTreeMap::new(),
            }),
        ))
    }

    fn grouped(
        &self,
        s: &ast::Select,
        c: &mut Compiler<'_>,
        group: &[ast::Expr],
        filter: Option<Expr>,
        direct_source: bool,
    ) -> Result<(Vec<String>, Stage), SqlError> {
        let mut keys = Vec::new();
        let mut texts = Vec::new();
        let mut window: Option<(u32, WindowKey, Location)> = None;
        for (i, g) in group.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            let wk = c.window_key(g)?;
            if let Some(w) = wk {
                if let Some((_, _, first)) = &window {
                    return Err(SqlError::unsupported(
                        pos(g),
                        format!(
                            "a second window in GROUP BY (the first is at line {}, column {})",
                            first.line, first.column
                        ),
                        "group by one window",
                    ));
                }
                window = Some((i, w, pos(g)));
                keys.push(Expr::Lit(Value::Null));
            } else {
                keys.push(c.row_expr(g)?);
            }
            let col = match keys.last() {
                Some(Expr::Col(ci)) => Some(*ci),
                _ => None,
            };
            texts.push((g.to_string().to_uppercase(), col));
        }
        let Some((window_key, kind, wat)) = window else {
            return Err(SqlError::at(
                pos(&group[0]),
                "GROUP BY on a stream needs a window: add STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '60' SECOND) (or FLOOR(ROWTIME TO MINUTE), TUMBLE/HOP/SESSION, WINDOWED BY STAGGER)",
            ));
        };
        if let WindowKey::Tumble {
            time: TimeRef::Column(col),
            ..
        }
        | WindowKey::Hop {
            time: TimeRef::Column(col),
            ..
        }
        | WindowKey::Session {
            time: TimeRef::Column(col),
            ..
        } = &kind
        {
            let name = c.columns.get(*col as usize).cloned().unwrap_or_default();
            let ok = direct_source
                && self
                    .program
                    .watermark
                    .as_ref()
                    .is_some_and(|w| w.column == *col);
            if !ok {
                return Err(SqlError::at(
                    wat,
                    format!(
                        "an event-time window over {name} needs a watermark on {SOURCE_STREAM}: add CREATE OR REPLACE STREAM \"{SOURCE_STREAM}\" (WATERMARK FOR \"{name}\" AS \"{name}\" - INTERVAL '5' SECOND) and read {SOURCE_STREAM} directly, or window over ROWTIME"
                    ),
                ));
            }
        }
        c.keys = Some(texts);
        c.aggs = Some(Vec::new());
        c.windowed = true;
        let (names, project) = self.projection(s, c)?;
        let having = match &s.having {
            Some(h) => Some(c.expr(h)?),
            None => None,
        };
        if let Some((_, at)) = c.over.first() {
            return Err(SqlError::unsupported(
                *at,
                "OVER windows together with GROUP BY",
                "use one or the other",
            ));
        }
        let aggs: Vec<AggSpec> = c.aggs.take().unwrap_or_default();
        let output = GroupOutput { having, project };
        let stage = match kind {
            WindowKey::Tumble { time, size_ms } => Stage::Fixed(FixedWindows {
                filter,
                keys,
                window_key,
                time,
                size_ms,
                slide_ms: size_ms,
                aggs,
                output,
                open: BTreeMap::new(),
            }),
            WindowKey::Hop {
                time,
                slide_ms,
                size_ms,
            } => {
                if slide_ms > size_ms {
                    return Err(SqlError::at(
                        wat,
                        "HOP's slide must not be longer than its size (rows between windows would be lost)",
                    ));
                }
                Stage::Fixed(FixedWindows {
                    filter,
                    keys,
                    window_key,
                    time,
                    size_ms,
                    slide_ms,
                    aggs,
                    output,
                    open: BTreeMap::new(),
                })
            }
            WindowKey::Session { time, gap_ms } => Stage::Session(Session {
                filter,
                keys,
                window_key,
                time,
                gap_ms,
                aggs,
                output,
                open: BTreeMap::new(),
            }),
            WindowKey::Stagger { range_ms } => Stage::Stagger(Stagger {
                filter,
                keys,
                window_key,
                range_ms,
                aggs,
                output,
                open: BTreeMap::new(),
                closing: Default::default(),
            }),
        };
        Ok((names, stage))
    }
}
