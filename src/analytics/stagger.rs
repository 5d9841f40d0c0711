//! Stagger windows (`WINDOWED BY STAGGER (PARTITION BY FLOOR(EVENT_TIME TO MINUTE), k RANGE INTERVAL '1' MINUTE)`):
//! a window per partition key opens when the key's first row arrives (by ROWTIME) and closes `RANGE` later, so
//! late-arriving rows of the same event-time minute still land together.

use super::aggregate::{Acc, AggSpec, finish_all, start_all, update_all};
use super::expr::{Ctx, Expr};
use super::stage::{Env, GroupOutput, Out, Row, group_keys, keep, pairs};
use super::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// When a stagger window that opened at `open_ms` (simulated) closes.
pub fn stagger_close(open_ms: u64, range_ms: i64) -> u64 {
    open_ms.saturating_add(u64::try_from(range_ms).unwrap_or(0))
}

/// One open stagger window.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpenStagger {
    /// ROWTIME (simulated ms) of the first row.
    pub open_ms: u64,
    /// Accumulators.
    pub accs: Vec<Acc>,
}

/// Stagger windows over partition keys.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stagger {
    /// `WHERE`.
    pub filter: Option<Expr>,
    /// Partition keys; the window slot holds the window's opening ROWTIME.
    pub keys: Vec<Expr>,
    /// Which key is the window.
    pub window_key: u32,
    /// `RANGE`.
    pub range_ms: i64,
    /// Aggregates.
    pub aggs: Vec<AggSpec>,
    /// SELECT list and HAVING.
    pub output: GroupOutput,
    /// Open windows by key.
    #[serde(with = "pairs")]
    pub open: BTreeMap<Vec<Value>, OpenStagger>,
    /// (close time, key) of every open window.
    pub closing: BTreeSet<(u64, Vec<Value>)>,
}

impl Stagger {
    /// Adds a row to its key's window, opening one if needed.
    pub fn on_row(&mut self, row: Row, env: &Env, out: &mut Out) {
        if !keep(&self.filter, &row, env, out) {
            return;
        }
        let keys = match group_keys(&self.keys, self.window_key, &row, env) {
            Ok(k) => k,
            Err(m) => return out.error(row.rowtime, m, &row.cols),
        };
        let window = match self.open.get_mut(&keys) {
            Some(w) => w,
            None => {
                self.closing
                    .insert((stagger_close(row.rowtime, self.range_ms), keys.clone()));
                self.open.entry(keys).or_insert(OpenStagger {
                    open_ms: row.rowtime,
                    accs: start_all(&self.aggs),
                })
            }
        };
        let ctx = Ctx::row(&row.cols, env.stamp(row.rowtime));
        if let Err(m) = update_all(&self.aggs, &mut window.accs, &ctx) {
            out.error(row.rowtime, m, &row.cols);
        }
    }

    /// Emits windows whose range has passed.
    pub fn on_time(&mut self, env: &Env, out: &mut Out) {
        while let Some((close, _)) = self.closing.first() {
            if *close > env.now {
                break;
            }
            let Some((close, mut keys)) = self.closing.pop_first() else {
                break;
            };
            let Some(w) = self.open.remove(&keys) else {
                continue;
            };
            let start = env.stamp(w.open_ms);
            if let Some(slot) = keys.get_mut(self.window_key as usize) {
                *slot = Value::Timestamp(start);
            }
            let aggs = finish_all(&self.aggs, &w.accs);
            self.output
                .emit(&keys, &aggs, (start, env.stamp(close)), close, env, out);
        }
    }

    /// When the next window closes.
    pub fn deadline(&self) -> Option<u64> {
        self.closing.first().map(|(c, _)| *c)
    }
}
