//! Tumbling windows (`GROUP BY ..., STEP(ROWTIME BY INTERVAL '60' SECOND)`, `FLOOR(ROWTIME TO MINUTE)`,
//! `TUMBLE(ts, INTERVAL ...)`) and the fixed-window operator they share with hopping windows ([`super::hop`]).
//!
//! Window assignment is a pure function ([`bin_start`]); open windows live in a `BTreeMap` keyed by window start
//! and close when processing time (ROWTIME windows) or the watermark (event-time windows) passes their end.

use super::aggregate::{AggSpec, finish_all, start_all, update_all};
use super::expr::{Ctx, Expr, TimeRef};
use super::hop::hop_starts;
use super::stage::{Env, GroupOutput, Groups, Out, Row, group_keys, keep, row_time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The start of the tumbling window of `size_ms` that holds `t` (epoch ms): windows are aligned to the epoch.
pub fn bin_start(t: i64, size_ms: i64) -> i64 {
    t - t.rem_euclid(size_ms)
}

/// Tumbling (slide = size) or hopping (slide < size) windows over groups.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FixedWindows {
    /// `WHERE`.
    pub filter: Option<Expr>,
    /// GROUP BY keys; the window key's slot holds the window start.
    pub keys: Vec<Expr>,
    /// Which key is the window.
    pub window_key: u32,
    /// ROWTIME or an event-time column.
    pub time: TimeRef,
    /// Window length.
    pub size_ms: i64,
    /// Distance between window starts (equal to the size for tumbling windows).
    pub slide_ms: i64,
    /// Aggregates.
    pub aggs: Vec<AggSpec>,
    /// SELECT list and HAVING.
    pub output: GroupOutput,
    /// Open windows by start (epoch ms).
    pub open: BTreeMap<i64, Groups>,
}

impl FixedWindows {
    /// Window starts that hold `t`.
    fn starts(&self, t: i64) -> impl Iterator<Item = i64> + use<> {
        let (tumbling, hopping) = if self.slide_ms == self.size_ms {
            (Some(bin_start(t, self.size_ms)), Vec::new())
        } else {
            (None, hop_starts(t, self.slide_ms, self.size_ms))
        };
        tumbling.into_iter().chain(hopping)
    }

    /// Assigns a row to its window(s).
    pub fn on_row(&mut self, row: Row, env: &Env, out: &mut Out) {
        if !keep(&self.filter, &row, env, out) {
            return;
        }
        let t = match row_time(&self.time, &row, env) {
            Ok(t) => t,
            Err(m) => return out.error(row.rowtime, m, &row.cols),
        };
        let mut keys = match group_keys(&self.keys, self.window_key, &row, env) {
            Ok(k) => k,
            Err(m) => return out.error(row.rowtime, m, &row.cols),
        };
        let ctx = Ctx::row(&row.cols, env.stamp(row.rowtime));
        let mut placed = false;
        for start in self.starts(t) {
            if env.closes(&self.time, start + self.size_ms) {
                continue;
            }
            placed = true;
            if let Some(slot) = keys.get_mut(self.window_key as usize) {
                *slot = super::value::Value::Timestamp(start);
            }
            let groups = &mut self.open.entry(start).or_default().0;
            let accs = match groups.get_mut(&keys) {
                Some(a) => a,
                None => groups
                    .entry(keys.clone())
                    .or_insert_with(|| start_all(&self.aggs)),
            };
            if let Err(m) = update_all(&self.aggs, accs, &ctx) {
                return out.error(row.rowtime, m, &row.cols);
            }
        }
        if !placed {
            out.late += 1;
        }
    }

    /// Emits every window whose end has passed, oldest first, groups in key order.
    pub fn on_time(&mut self, env: &Env, out: &mut Out) {
        while let Some((&start, _)) = self.open.first_key_value() {
            let end = start + self.size_ms;
            if !env.closes(&self.time, end) {
                break;
            }
            let Some((_, groups)) = self.open.pop_first() else {
                break;
            };
            let emit = match self.time {
                TimeRef::RowTime => env.sim(end),
                TimeRef::Column(_) => env.now,
            };
            for (keys, accs) in &groups.0 {
                let aggs = finish_all(&self.aggs, accs);
                self.output.emit(keys, &aggs, (start, end), emit, env, out);
            }
        }
    }

    /// When the oldest ROWTIME window closes.
    pub fn deadline(&self, env: &Env) -> Option<u64> {
        match self.time {
            TimeRef::RowTime => self.open.keys().next().map(|s| env.sim(s + self.size_ms)),
            TimeRef::Column(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_align_to_the_epoch() {
        assert_eq!(bin_start(0, 60_000), 0);
        assert_eq!(bin_start(59_999, 60_000), 0);
        assert_eq!(bin_start(60_000, 60_000), 60_000);
        assert_eq!(bin_start(-1, 60_000), -60_000);
    }
}
