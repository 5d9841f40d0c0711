//! The pieces every operator shares: rows, the environment a stage runs in, what it emits, the projection of a
//! finished group, the stateless map stage, and the [`Stage`] enum a pump chains.

use super::aggregate::Acc;
use super::expr::{Ctx, Expr, TimeRef};
use super::items::{DistinctItems, TopK};
use super::session::Session;
use super::sliding::Sliding;
use super::stagger::Stagger;
use super::tumbling::FixedWindows;
use super::value::Value;
use serde::{Deserialize, Serialize};

/// A row flowing between stages: its ROWTIME (simulated milliseconds) and its columns.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    /// ROWTIME in simulated milliseconds.
    pub rowtime: u64,
    /// Column values.
    pub cols: Vec<Value>,
}

/// The moment a stage runs at.
#[derive(Clone, Copy, Debug)]
pub struct Env {
    /// Processing time, simulated milliseconds.
    pub now: u64,
    /// Epoch milliseconds of simulated time zero (ROWTIME = epoch + simulated time).
    pub epoch: i64,
    /// The source's event-time watermark, epoch milliseconds.
    pub watermark: Option<i64>,
}

impl Env {
    /// ROWTIME of a simulated time, as epoch milliseconds.
    pub fn stamp(&self, sim_ms: u64) -> i64 {
        self.epoch
            .saturating_add(i64::try_from(sim_ms).unwrap_or(i64::MAX))
    }

    /// Simulated milliseconds of an epoch timestamp (clamped at zero).
    pub fn sim(&self, stamp: i64) -> u64 {
        u64::try_from(stamp.saturating_sub(self.epoch)).unwrap_or(0)
    }

    /// Whether a window ending at `end` (epoch ms) may close now.
    pub fn closes(&self, time: &TimeRef, end: i64) -> bool {
        match time {
            TimeRef::RowTime => end <= self.stamp(self.now),
            TimeRef::Column(_) => self.watermark.is_some_and(|w| end <= w),
        }
    }
}

/// A row that failed at run time, bound for `error_stream`.
#[derive(Clone, Debug)]
pub struct RowError {
    /// ROWTIME of the failing row (simulated milliseconds).
    pub rowtime: u64,
    /// What went wrong.
    pub message: String,
    /// The row's values as text.
    pub data: String,
}

/// What stages emit.
#[derive(Debug, Default)]
pub struct Out {
    /// Rows for the next stage.
    pub rows: Vec<Row>,
    /// Rows that failed.
    pub errors: Vec<RowError>,
    /// Event-time rows dropped because their windows had closed.
    pub late: u64,
}

impl Out {
    /// Records a failed row.
    pub fn error(&mut self, rowtime: u64, message: String, cols: &[Value]) {
        let data = cols
            .iter()
            .map(Value::to_text)
            .collect::<Vec<_>>()
            .join(",");
        self.errors.push(RowError {
            rowtime,
            message,
            data,
        });
    }
}

/// The event time of a row (epoch ms) for a window's time reference.
pub fn row_time(time: &TimeRef, row: &Row, env: &Env) -> Result<i64, String> {
    match time {
        TimeRef::RowTime => Ok(env.stamp(row.rowtime)),
        TimeRef::Column(i) => match row.cols.get(*i as usize) {
            Some(Value::Timestamp(t)) => Ok(*t),
            Some(Value::Null) | None => Err("the event-time column is NULL".into()),
            Some(other) => Err(format!(
                "the event time '{}' is not a TIMESTAMP",
                other.to_text()
            )),
        },
    }
}

/// Whether the WHERE clause keeps a row (errors go to `error_stream`).
pub fn keep(filter: &Option<Expr>, row: &Row, env: &Env, out: &mut Out) -> bool {
    let Some(f) = filter else { return true };
    match f.eval(&Ctx::row(&row.cols, env.stamp(row.rowtime))) {
        Ok(Value::Bool(true)) => true,
        Ok(_) => false,
        Err(m) => {
            out.error(row.rowtime, m, &row.cols);
            false
        }
    }
}

/// Group key values of a row, with the window slot left NULL for the window to fill.
pub fn group_keys(
    keys: &[Expr],
    window_key: u32,
    row: &Row,
    env: &Env,
) -> Result<Vec<Value>, String> {
    let ctx = Ctx::row(&row.cols, env.stamp(row.rowtime));
    let mut out = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        out.push(if i == window_key as usize {
            Value::Null
        } else {
            k.eval(&ctx)?
        });
    }
    Ok(out)
}

/// The SELECT list and HAVING of a grouped query, applied to a finished group.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GroupOutput {
    /// `HAVING`.
    pub having: Option<Expr>,
    /// The SELECT list.
    pub project: Vec<Expr>,
}

impl GroupOutput {
    /// Emits the row of a finished group at `emit` (simulated ms).
    pub fn emit(
        &self,
        keys: &[Value],
        aggs: &[Value],
        window: (i64, i64),
        emit: u64,
        env: &Env,
        out: &mut Out,
    ) {
        let ctx = Ctx {
            cols: &[],
            rowtime: env.stamp(emit),
            keys,
            aggs,
            window,
        };
        if let Some(h) = &self.having {
            match h.eval(&ctx) {
                Ok(Value::Bool(true)) => {}
                Ok(_) => return,
                Err(m) => return out.error(emit, m, keys),
            }
        }
        let mut cols = Vec::with_capacity(self.project.len());
        for p in &self.project {
            match p.eval(&ctx) {
                Ok(v) => cols.push(v),
                Err(m) => return out.error(emit, m, keys),
            }
        }
        out.rows.push(Row {
            rowtime: emit,
            cols,
        });
    }
}

/// A stateless stage: WHERE and the SELECT list.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Map {
    /// `WHERE`.
    pub filter: Option<Expr>,
    /// The SELECT list.
    pub project: Vec<Expr>,
}

impl Map {
    fn on_row(&self, row: Row, env: &Env, out: &mut Out) {
        if !keep(&self.filter, &row, env, out) {
            return;
        }
        let ctx = Ctx::row(&row.cols, env.stamp(row.rowtime));
        let mut cols = Vec::with_capacity(self.project.len());
        for p in &self.project {
            match p.eval(&ctx) {
                Ok(v) => cols.push(v),
                Err(m) => return out.error(row.rowtime, m, &row.cols),
            }
        }
        out.rows.push(Row {
            rowtime: row.rowtime,
            cols,
        });
    }
}

/// One operator of a pump.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Stage {
    /// WHERE and projection.
    Map(Map),
    /// Tumbling and hopping windows.
    Fixed(FixedWindows),
    /// Session windows.
    Session(Session),
    /// Stagger windows.
    Stagger(Stagger),
    /// Sliding (OVER) windows.
    Sliding(Sliding),
    /// TOP_K_ITEMS_TUMBLING.
    TopK(TopK),
    /// COUNT_DISTINCT_ITEMS_TUMBLING.
    DistinctItems(DistinctItems),
    /// RANDOM_CUT_FOREST: the row plus ANOMALY_SCORE.
    Rcf(Box<super::rcf::Forest>),
}

impl Stage {
    /// Takes one row.
    pub fn on_row(&mut self, row: Row, env: &Env, out: &mut Out) {
        match self {
            Stage::Map(s) => s.on_row(row, env, out),
            Stage::Fixed(s) => s.on_row(row, env, out),
            Stage::Session(s) => s.on_row(row, env, out),
            Stage::Stagger(s) => s.on_row(row, env, out),
            Stage::Sliding(s) => s.on_row(row, env, out),
            Stage::TopK(s) => s.on_row(row, env, out),
            Stage::DistinctItems(s) => s.on_row(row, env, out),
            Stage::Rcf(f) => {
                let numbers: Vec<f64> = row.cols.iter().filter_map(Value::as_f64).collect();
                let score = f.score_and_update(&numbers);
                let mut cols = row.cols;
                cols.push(Value::Double(score));
                out.rows.push(Row {
                    rowtime: row.rowtime,
                    cols,
                });
            }
        }
    }

    /// Closes what the time or watermark allows.
    pub fn on_time(&mut self, env: &Env, out: &mut Out) {
        match self {
            Stage::Map(_) | Stage::Sliding(_) | Stage::Rcf(_) => {}
            Stage::Fixed(s) => s.on_time(env, out),
            Stage::Session(s) => s.on_time(env, out),
            Stage::Stagger(s) => s.on_time(env, out),
            Stage::TopK(s) => s.on_time(env, out),
            Stage::DistinctItems(s) => s.on_time(env, out),
        }
    }

    /// The next simulated time this stage closes a window on processing time.
    pub fn deadline(&self, env: &Env) -> Option<u64> {
        match self {
            Stage::Map(_) | Stage::Sliding(_) | Stage::Rcf(_) => None,
            Stage::Fixed(s) => s.deadline(env),
            Stage::Session(s) => s.deadline(env),
            Stage::Stagger(s) => s.deadline(),
            Stage::TopK(s) => s.deadline(env),
            Stage::DistinctItems(s) => s.deadline(env),
        }
    }
}

/// Serde for maps whose keys are not strings: a list of pairs.
pub mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    /// Writes the map as a list of `[key, value]` pairs.
    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        m: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    /// Reads a list of `[key, value]` pairs.
    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        let pairs: Vec<(K, V)> = Vec::deserialize(d)?;
        Ok(pairs.into_iter().collect())
    }
}

/// The groups of one window: key values to accumulators.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Groups(#[serde(with = "pairs")] pub std::collections::BTreeMap<Vec<Value>, Vec<Acc>>);
