//! Sliding windows (`... OVER W` with `WINDOW W AS (PARTITION BY k RANGE INTERVAL '1' MINUTE PRECEDING)` or
//! `ROWS n PRECEDING`): one output row per input row, aggregating the rows of its partition whose ROWTIME lies
//! in `[ROWTIME - range, ROWTIME]` (or the last `n` rows before it and itself). COUNT, SUM and AVG update
//! incrementally as rows enter and leave; MIN and MAX keep a counted multiset.

use super::aggregate::{Acc, AggKind, AggSpec};
use super::expr::{Ctx, Expr};
use super::stage::{Env, Out, Row, keep, pairs};
use super::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// How far back a sliding window reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frame {
    /// `RANGE INTERVAL ... PRECEDING`: rows with ROWTIME >= this row's ROWTIME minus the span.
    Range(u64),
    /// `ROWS n PRECEDING`: the `n` previous rows and this one.
    Rows(u32),
}

/// Whether a row at `older` (simulated ms) is still inside the range window of a row at `now`.
pub fn in_range(older: u64, now: u64, range_ms: u64) -> bool {
    older.saturating_add(range_ms) >= now
}

/// One partition's rows in the window and its accumulators.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Partition {
    /// (ROWTIME, aggregate inputs) of the rows in the window, oldest first.
    pub rows: VecDeque<(u64, Vec<Value>)>,
    /// Accumulators over `rows`.
    pub accs: Vec<Acc>,
}

/// The sliding-window operator.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sliding {
    /// `WHERE`.
    pub filter: Option<Expr>,
    /// `PARTITION BY`.
    pub partition: Vec<Expr>,
    /// The frame.
    pub frame: Frame,
    /// Aggregates.
    pub aggs: Vec<AggSpec>,
    /// The SELECT list (columns of the current row and `Agg` references).
    pub project: Vec<Expr>,
    /// Partitions by key.
    #[serde(with = "pairs")]
    pub parts: BTreeMap<Vec<Value>, Partition>,
}

impl Sliding {
    fn fresh(&self) -> Vec<Acc> {
        self.aggs
            .iter()
            .map(|s| match s.kind {
                AggKind::Min | AggKind::Max => Acc::Distinct(BTreeMap::new()),
                _ => s.start(),
            })
            .collect()
    }

    /// Adds a row, drops rows that left the window, and emits the row with its window's aggregates.
    pub fn on_row(&mut self, row: Row, env: &Env, out: &mut Out) {
        if !keep(&self.filter, &row, env, out) {
            return;
        }
        let ctx = Ctx::row(&row.cols, env.stamp(row.rowtime));
        let mut key = Vec::with_capacity(self.partition.len());
        let mut inputs = Vec::with_capacity(self.aggs.len());
        for p in &self.partition {
            match p.eval(&ctx) {
                Ok(v) => key.push(v),
                Err(m) => return out.error(row.rowtime, m, &row.cols),
            }
        }
        for a in &self.aggs {
            match a.input(&ctx) {
                Ok(v) => inputs.push(v),
                Err(m) => return out.error(row.rowtime, m, &row.cols),
            }
        }
        if !self.parts.contains_key(&key) {
            let fresh = self.fresh();
            self.parts.insert(
                key.clone(),
                Partition {
                    rows: VecDeque::new(),
                    accs: fresh,
                },
            );
        }
        let Some(part) = self.parts.get_mut(&key) else {
            return;
        };
        for ((spec, acc), v) in self.aggs.iter().zip(part.accs.iter_mut()).zip(&inputs) {
            if let Err(m) = spec.update(acc, v) {
                return out.error(row.rowtime, m, &row.cols);
            }
        }
        part.rows.push_back((row.rowtime, inputs));
        loop {
            let leave = match (self.frame, part.rows.front()) {
                (Frame::Range(r), Some((t, _))) => !in_range(*t, row.rowtime, r),
                (Frame::Rows(n), Some(_)) => part.rows.len() > n as usize + 1,
                _ => false,
            };
            if !leave {
                break;
            }
            let Some((_, old)) = part.rows.pop_front() else {
                break;
            };
            for ((spec, acc), v) in self.aggs.iter().zip(part.accs.iter_mut()).zip(&old) {
                spec.remove(acc, v);
            }
        }
        let aggs: Vec<Value> = self
            .aggs
            .iter()
            .zip(&part.accs)
            .map(|(s, a)| s.finish(a))
            .collect();
        let ctx = Ctx {
            cols: &row.cols,
            rowtime: env.stamp(row.rowtime),
            keys: &[],
            aggs: &aggs,
            window: (0, 0),
        };
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
