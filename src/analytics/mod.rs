//! Kinesis Data Analytics (SQL) on simulated time: an [`Application`] takes the SQL people paste from AWS examples
//! (in-application streams, pumps, ROWTIME tumbling/sliding/stagger windows) and the event-time windows of its
//! successor (TUMBLE, HOP, SESSION with watermarks), and runs it incrementally over records pushed with their
//! simulated arrival time.
//!
//! Pure core: no clock, no IO, no randomness. Time enters as [`SimTime`] through [`Application::push`] and
//! [`Application::advance`]; results leave through [`Application::poll_output`]; [`Application::poll_timeout`]
//! says when windows next close. All state is serde-serializable so an application persists with its session.
//!
//! # Time
//! - ROWTIME is processing time: the simulated time a record was pushed (monotonic; an earlier time counts as the
//!   latest seen). ROWTIME windows (STEP, FLOOR, TUMBLE/HOP/SESSION over ROWTIME, stagger) emit when processing
//!   time reaches their end, with `emit_time` = the window end, however coarsely the shell advances time.
//! - Event time comes from a TIMESTAMP column with `WATERMARK FOR ts AS ts - INTERVAL 'n' unit` declared on
//!   `SOURCE_SQL_STREAM_001`. The watermark is the minimum over input partitions ([`Application::push_from`]) that
//!   are not idle ([`Application::set_idle_timeout`]); event-time windows emit when it passes their end, with
//!   `emit_time` = the processing time of that moment. Rows whose windows have all closed are dropped and counted
//!   ([`Application::late_row_count`]).
//!
//! # Not supported (rejected with line, column and [`SqlError::unsupported`])
//! Joins, `SELECT DISTINCT`, `ORDER BY`/`LIMIT`, `WITH`, the window table-valued form
//! `FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), ...))` (use `GROUP BY TUMBLE(ts, ...)` with window_start/window_end
//! or TUMBLE_START/TUMBLE_END), CUMULATE, HOTSPOTS, RANDOM_CUT_FOREST_WITH_EXPLANATION, FOLLOWING frames, month and
//! year intervals, and functions not listed in the issue.
//!
//! ```
//! use kinesim::analytics::{Application, InputSchema, SqlType};
//! use kinesim::sim::SimTime;
//!
//! let schema = InputSchema::json(&[("TICKER", SqlType::Varchar(4), "$.ticker"), ("PRICE", SqlType::Double, "$.price")]);
//! let sql = r#"
//!   CREATE OR REPLACE STREAM "DEST" (ticker VARCHAR(4), n INTEGER);
//!   CREATE OR REPLACE PUMP "P" AS INSERT INTO "DEST"
//!     SELECT STREAM ticker, COUNT(*) FROM "SOURCE_SQL_STREAM_001"
//!     GROUP BY ticker, STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '60' SECOND);"#;
//! let mut app = Application::new(sql, schema)?;
//! app.push(SimTime::from_millis(1_000), br#"{"ticker":"AMZN","price":10.5}"#);
//! assert_eq!(app.poll_timeout(), Some(SimTime::from_millis(60_000)));
//! app.advance(SimTime::from_millis(60_000));
//! let rows = app.poll_output();
//! assert_eq!(rows[0].stream, "DEST");
//! assert_eq!(rows[0].emit_time, SimTime::from_millis(60_000));
//! # Ok::<(), kinesim::analytics::SqlError>(())
//! ```

mod aggregate;
pub mod batch;
mod dialect;
mod expr;
pub mod hll;
pub mod hop;
mod items;
mod plan;
pub mod rcf;
mod schema;
pub mod session;
pub mod sliding;
mod stage;
pub mod stagger;
pub mod tumbling;
mod value;
pub mod view;

pub use plan::{PUMPS_MAX, SOURCE_STREAM};
pub use schema::{InputColumn, InputSchema, RecordFormat, discover_schema};
pub use value::{SqlType, Value, format_timestamp, parse_timestamp};

use crate::sim::SimTime;
use expr::Ctx;
use plan::Program;
use serde::{Deserialize, Serialize};
/// Serde helpers writing a map as `[key, value]` pairs (JSON needs string keys; postcard bytes are the same).
pub(crate) use stage::pairs;
use stage::{Env, Out, Row, RowError};
use std::collections::BTreeMap;
use std::fmt;

/// The name of the stream failed rows go to.
pub const ERROR_STREAM: &str = "error_stream";

/// Why SQL cannot run: where (1-based line and column of the user's text) and what to change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong and what to write instead.
    pub message: String,
    /// The unsupported feature, when the SQL is valid but this simulator does not run it.
    pub unsupported: Option<String>,
}

impl SqlError {
    pub(crate) fn at(at: sqlparser::tokenizer::Location, message: impl Into<String>) -> Self {
        SqlError {
            line: u32::try_from(at.line.max(1)).unwrap_or(u32::MAX),
            column: u32::try_from(at.column.max(1)).unwrap_or(u32::MAX),
            message: message.into(),
            unsupported: None,
        }
    }

    pub(crate) fn unsupported(
        at: sqlparser::tokenizer::Location,
        feature: impl Into<String>,
        hint: &str,
    ) -> Self {
        let feature = feature.into();
        let message = if hint.is_empty() {
            format!("{feature} is not supported")
        } else {
            format!("{feature} is not supported: {hint}")
        };
        SqlError {
            unsupported: Some(feature),
            ..SqlError::at(at, message)
        }
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for SqlError {}

/// A row an application emitted into one of its in-application streams (or `error_stream`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputRow {
    /// The in-application stream, e.g. `DESTINATION_SQL_STREAM`, or [`ERROR_STREAM`].
    pub stream: String,
    /// The simulated moment the row appeared (its ROWTIME).
    pub emit_time: SimTime,
    /// Column names and values, in the stream's column order.
    pub columns: Vec<(String, Value)>,
}

impl OutputRow {
    /// The row's columns as a JSON object (timestamps as text).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.columns
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        )
    }
}

/// The event-time progress of one input partition (e.g. a shard).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PartitionClock {
    /// The highest watermark candidate its rows gave (epoch ms).
    watermark: i64,
    /// When it last delivered a row (simulated ms).
    last_arrival_ms: u64,
}

/// A running SQL application.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Application {
    sql: String,
    schema: InputSchema,
    program: Program,
    now_ms: u64,
    epoch_ms: i64,
    idle_timeout_ms: Option<u64>,
    #[serde(with = "pairs")]
    partitions: BTreeMap<String, PartitionClock>,
    watermark: Option<i64>,
    outbox: Vec<OutputRow>,
    late_rows: u64,
    error_rows: u64,
}

impl Application {
    /// Plans `sql` against the input `schema`; errors name the line and column and what to change.
    pub fn new(sql: &str, schema: InputSchema) -> Result<Application, SqlError> {
        let program = plan::plan(sql, &schema)?;
        Ok(Application {
            sql: sql.to_string(),
            schema,
            program,
            now_ms: 0,
            epoch_ms: 0,
            idle_timeout_ms: None,
            partitions: BTreeMap::new(),
            watermark: None,
            outbox: Vec::new(),
            late_rows: 0,
            error_rows: 0,
        })
    }

    /// Sets the wall-clock epoch (Unix milliseconds) of simulated time zero: ROWTIME = epoch + simulated time.
    /// Defaults to 0, so ROWTIME reads as 1970-01-01 plus the simulated time.
    pub fn set_display_epoch_ms(&mut self, epoch_ms: i64) {
        self.epoch_ms = epoch_ms;
    }

    /// Marks an input partition idle after `timeout` of simulated time without rows, so it stops holding the
    /// watermark back (like Flink's source idle timeout). With every partition idle the watermark stays put.
    pub fn set_idle_timeout(&mut self, timeout: Option<crate::sim::SimDuration>) {
        self.idle_timeout_ms = timeout.map(|d| d.as_millis());
    }

    /// The SQL the application runs.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The input schema.
    pub fn schema(&self) -> &InputSchema {
        &self.schema
    }

    /// In-application streams other than the source, with their columns.
    pub fn streams(&self) -> Vec<(String, Vec<(String, SqlType)>)> {
        self.program.streams[1..]
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.columns
                        .iter()
                        .cloned()
                        .zip(s.types.iter().cloned())
                        .collect(),
                )
            })
            .collect()
    }

    /// Event-time rows dropped because the watermark had already closed their windows.
    pub fn late_row_count(&self) -> u64 {
        self.late_rows
    }

    /// Rows sent to `error_stream` so far.
    pub fn error_row_count(&self) -> u64 {
        self.error_rows
    }

    /// The current event-time watermark, if any row has set one.
    pub fn watermark(&self) -> Option<i64> {
        self.watermark
    }

    fn env(&self) -> Env {
        Env {
            now: self.now_ms,
            epoch: self.epoch_ms,
            watermark: self.watermark,
        }
    }

    /// Pushes one record that arrived at `rowtime` (ROWTIME is monotonic: an earlier time is taken as the
    /// latest time seen). A record that does not fit the schema goes to `error_stream`.
    pub fn push(&mut self, rowtime: SimTime, data: &[u8]) {
        self.push_from("", rowtime, data);
    }

    /// [`Application::push`] from a named input partition (e.g. a shard id): the event-time watermark is the
    /// minimum over partitions that are not idle.
    pub fn push_from(&mut self, partition: &str, rowtime: SimTime, data: &[u8]) {
        let t = rowtime.as_millis().max(self.now_ms);
        self.run_until(t);
        match self.schema.parse(data) {
            Ok(cols) => self.push_row(partition, t, cols),
            Err(message) => {
                let text = String::from_utf8_lossy(data).into_owned();
                self.record_errors(
                    "",
                    vec![RowError {
                        rowtime: t,
                        message,
                        data: text,
                    }],
                );
            }
        }
    }

    /// Pushes an already-typed row (the schema's column order), e.g. from a generator that skips JSON.
    pub fn push_values(&mut self, rowtime: SimTime, cols: Vec<Value>) {
        let t = rowtime.as_millis().max(self.now_ms);
        self.run_until(t);
        self.push_row("", t, cols);
    }

    fn push_row(&mut self, partition: &str, t: u64, cols: Vec<Value>) {
        let mut candidate = None;
        if let Some(w) = &self.program.watermark {
            match w.expr.eval(&Ctx::row(&cols, self.env().stamp(t))) {
                Ok(Value::Timestamp(ms)) => candidate = Some(ms),
                Ok(_) => {}
                Err(message) => {
                    let data = cols
                        .iter()
                        .map(Value::to_text)
                        .collect::<Vec<_>>()
                        .join(",");
                    return self.record_errors(
                        "",
                        vec![RowError {
                            rowtime: t,
                            message,
                            data,
                        }],
                    );
                }
            }
        }
        self.deliver(0, vec![Row { rowtime: t, cols }]);
        if self.program.watermark.is_none() && self.idle_timeout_ms.is_none() {
            return;
        }
        if !self.partitions.contains_key(partition) {
            let clock = PartitionClock {
                watermark: i64::MIN,
                last_arrival_ms: t,
            };
            self.partitions.insert(partition.to_string(), clock);
        }
        let Some(clock) = self.partitions.get_mut(partition) else {
            return;
        };
        clock.last_arrival_ms = t;
        if let Some(c) = candidate {
            clock.watermark = clock.watermark.max(c);
        }
        if self.program.watermark.is_some() && self.update_watermark() {
            self.tick();
        }
    }

    /// Recomputes the watermark from the partitions; true when it moved.
    fn update_watermark(&mut self) -> bool {
        let now = self.now_ms;
        let active = self.partitions.values().filter(|p| {
            self.idle_timeout_ms
                .is_none_or(|d| now < p.last_arrival_ms.saturating_add(d))
        });
        let Some(min) = active.map(|p| p.watermark).min() else {
            return false;
        };
        if min == i64::MIN || self.watermark.is_some_and(|w| w >= min) {
            return false;
        }
        self.watermark = Some(min);
        true
    }

    /// Moves processing time to `now`, closing every window whose time has come (in time order).
    pub fn advance(&mut self, now: SimTime) {
        self.run_until(now.as_millis());
    }

    fn idle_deadline(&self) -> Option<u64> {
        let d = self.idle_timeout_ms?;
        self.partitions
            .values()
            .map(|p| p.last_arrival_ms.saturating_add(d))
            .filter(|&t| t > self.now_ms)
            .min()
    }

    fn next_deadline(&self) -> Option<u64> {
        let env = self.env();
        let stages = self
            .program
            .pumps
            .iter()
            .flat_map(|p| p.stages.iter())
            .filter_map(|s| s.deadline(&env));
        stages.chain(self.idle_deadline()).min()
    }

    fn run_until(&mut self, t: u64) {
        while let Some(next) = self.next_deadline() {
            if next > t {
                break;
            }
            self.now_ms = self.now_ms.max(next);
            if self.program.watermark.is_some() {
                self.update_watermark();
            }
            self.tick();
        }
        self.now_ms = self.now_ms.max(t);
        if self.program.watermark.is_some() && self.update_watermark() {
            self.tick();
        }
    }

    /// Lets every stage close what the current time and watermark allow.
    fn tick(&mut self) {
        for i in 0..self.program.pumps.len() {
            let rows = self.run_pump(i, Vec::new());
            self.emit(i, rows);
        }
    }

    fn run_pump(&mut self, i: usize, rows: Vec<Row>) -> Vec<Row> {
        let env = self.env();
        let mut rows = rows;
        let mut errors = Vec::new();
        let mut late = 0;
        let stages = &mut self.program.pumps[i].stages;
        for stage in stages.iter_mut() {
            let mut out = Out::default();
            stage.on_time(&env, &mut out);
            for r in rows {
                stage.on_row(r, &env, &mut out);
            }
            errors.append(&mut out.errors);
            late += out.late;
            rows = out.rows;
        }
        self.late_rows += late;
        if !errors.is_empty() {
            let name = self.program.pumps[i].name.clone();
            self.record_errors(&name, errors);
        }
        rows
    }

    /// Casts a pump's rows to its destination's columns, records them and passes them on.
    fn emit(&mut self, i: usize, rows: Vec<Row>) {
        if rows.is_empty() {
            return;
        }
        let into = self.program.pumps[i].into;
        let dest = &self.program.streams[into as usize];
        let mapping = &self.program.pumps[i].mapping;
        let mut typed = Vec::with_capacity(rows.len());
        let mut errors = Vec::new();
        'rows: for row in rows {
            let mut cols = Vec::with_capacity(dest.columns.len());
            for (j, t) in dest.types.iter().enumerate() {
                let v = mapping[j]
                    .and_then(|q| row.cols.get(q as usize).cloned())
                    .unwrap_or(Value::Null);
                match t.cast(v) {
                    Ok(v) => cols.push(v),
                    Err(m) => {
                        let data = row
                            .cols
                            .iter()
                            .map(Value::to_text)
                            .collect::<Vec<_>>()
                            .join(",");
                        errors.push(RowError {
                            rowtime: row.rowtime,
                            message: format!("column {}: {m}", dest.columns[j]),
                            data,
                        });
                        continue 'rows;
                    }
                }
            }
            self.outbox.push(OutputRow {
                stream: dest.name.clone(),
                emit_time: SimTime::from_millis(row.rowtime),
                columns: dest
                    .columns
                    .iter()
                    .cloned()
                    .zip(cols.iter().cloned())
                    .collect(),
            });
            typed.push(Row {
                rowtime: row.rowtime,
                cols,
            });
        }
        if !errors.is_empty() {
            let name = self.program.pumps[i].name.clone();
            self.record_errors(&name, errors);
        }
        self.deliver(into, typed);
    }

    /// Runs every pump reading `stream` over `rows`.
    fn deliver(&mut self, stream: u32, rows: Vec<Row>) {
        let readers = self
            .program
            .pumps
            .iter()
            .filter(|p| p.from == stream)
            .count();
        let mut rows = Some(rows);
        let mut seen = 0;
        for i in 0..self.program.pumps.len() {
            if self.program.pumps[i].from != stream {
                continue;
            }
            seen += 1;
            let input = if seen == readers {
                rows.take().unwrap_or_default()
            } else {
                rows.clone().unwrap_or_default()
            };
            let out = self.run_pump(i, input);
            self.emit(i, out);
        }
    }

    fn record_errors(&mut self, pump: &str, errors: Vec<RowError>) {
        for e in errors {
            self.error_rows += 1;
            let env = self.env();
            self.outbox.push(OutputRow {
                stream: ERROR_STREAM.to_string(),
                emit_time: SimTime::from_millis(e.rowtime.max(self.now_ms)),
                columns: vec![
                    (
                        "ERROR_TIME".into(),
                        Value::Timestamp(env.stamp(self.now_ms)),
                    ),
                    ("ERROR_LEVEL".into(), Value::Str("ERROR".into())),
                    (
                        "ERROR_NAME".into(),
                        Value::Str(
                            if pump.is_empty() {
                                "Unparseable record"
                            } else {
                                "Runtime error"
                            }
                            .into(),
                        ),
                    ),
                    ("MESSAGE".into(), Value::Str(e.message)),
                    (
                        "DATA_ROWTIME".into(),
                        Value::Timestamp(env.stamp(e.rowtime)),
                    ),
                    ("DATA_ROW".into(), Value::Str(e.data)),
                    ("PUMP_NAME".into(), Value::Str(pump.to_string())),
                ],
            });
        }
    }

    /// Takes the rows emitted since the last call, in emission order.
    pub fn poll_output(&mut self) -> Vec<OutputRow> {
        std::mem::take(&mut self.outbox)
    }

    /// The next simulated time a window closes on processing time (or an input partition turns idle).
    pub fn poll_timeout(&self) -> Option<SimTime> {
        self.next_deadline().map(SimTime::from_millis)
    }
}
