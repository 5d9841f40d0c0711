//! Session windows (`GROUP BY k, SESSION(ts, INTERVAL gap)`): a row at `t` opens `[t, t + gap)`; windows of a key
//! that touch or overlap merge (their accumulators fold together). A session closes when processing time
//! (ROWTIME sessions) or the watermark passes its end.

use super::aggregate::Acc;
use super::aggregate::{AggSpec, finish_all, start_all, update_all};
use super::expr::{Ctx, Expr, TimeRef};
use super::stage::{Env, GroupOutput, Out, Row, group_keys, keep, pairs, row_time};
use super::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One open session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpenSession {
    /// First row's time (epoch ms).
    pub start: i64,
    /// Last row's time plus the gap.
    pub end: i64,
    /// Accumulators.
    pub accs: Vec<Acc>,
}

/// Whether `[a0, a1)` and `[b0, b1)` touch or overlap, so their sessions merge.
pub fn sessions_meet(a0: i64, a1: i64, b0: i64, b1: i64) -> bool {
    a0 <= b1 && b0 <= a1
}

/// Session windows over groups.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    /// `WHERE`.
    pub filter: Option<Expr>,
    /// GROUP BY keys; the window slot holds the session start.
    pub keys: Vec<Expr>,
    /// Which key is the window.
    pub window_key: u32,
    /// ROWTIME or an event-time column.
    pub time: TimeRef,
    /// Inactivity gap.
    pub gap_ms: i64,
    /// Aggregates.
    pub aggs: Vec<AggSpec>,
    /// SELECT list and HAVING.
    pub output: GroupOutput,
    /// Open sessions by key, ordered by start.
    #[serde(with = "pairs")]
    pub open: BTreeMap<Vec<Value>, Vec<OpenSession>>,
}

impl Session {
    /// Adds a row to its key's session, merging sessions it bridges.
    pub fn on_row(&mut self, row: Row, env: &Env, out: &mut Out) {
        if !keep(&self.filter, &row, env, out) {
            return;
        }
        let t = match row_time(&self.time, &row, env) {
            Ok(t) => t,
            Err(m) => return out.error(row.rowtime, m, &row.cols),
        };
        let keys = match group_keys(&self.keys, self.window_key, &row, env) {
            Ok(k) => k,
            Err(m) => return out.error(row.rowtime, m, &row.cols),
        };
        let (start, end) = (t, t.saturating_add(self.gap_ms));
        let sessions = self.open.entry(keys).or_default();
        let (meet, rest): (Vec<OpenSession>, Vec<OpenSession>) = std::mem::take(sessions)
            .into_iter()
            .partition(|s| sessions_meet(s.start, s.end, start, end));
        *sessions = rest;
        let mut merged = OpenSession {
            start,
            end,
            accs: start_all(&self.aggs),
        };
        for s in meet {
            merged.start = merged.start.min(s.start);
            merged.end = merged.end.max(s.end);
            for ((spec, acc), other) in self.aggs.iter().zip(merged.accs.iter_mut()).zip(s.accs) {
                spec.merge(acc, other);
            }
        }
        if env.closes(&self.time, merged.end) {
            out.late += 1;
            return;
        }
        let ctx = Ctx::row(&row.cols, env.stamp(row.rowtime));
        if let Err(m) = update_all(&self.aggs, &mut merged.accs, &ctx) {
            out.error(row.rowtime, m, &row.cols);
        }
        let at = sessions.partition_point(|s| s.start < merged.start);
        sessions.insert(at, merged);
    }

    /// Emits every session whose end has passed, by end then key.
    pub fn on_time(&mut self, env: &Env, out: &mut Out) {
        let mut closed: Vec<(i64, Vec<Value>, OpenSession)> = Vec::new();
        for (keys, sessions) in self.open.iter_mut() {
            if sessions.iter().any(|s| env.closes(&self.time, s.end)) {
                let (done, open): (Vec<_>, Vec<_>) = std::mem::take(sessions)
                    .into_iter()
                    .partition(|s| env.closes(&self.time, s.end));
                *sessions = open;
                closed.extend(done.into_iter().map(|s| (s.end, keys.clone(), s)));
            }
        }
        self.open.retain(|_, s| !s.is_empty());
        closed.sort_by(|a, b| (a.0, &a.1, a.2.start).cmp(&(b.0, &b.1, b.2.start)));
        for (end, mut keys, s) in closed {
            if let Some(slot) = keys.get_mut(self.window_key as usize) {
                *slot = Value::Timestamp(s.start);
            }
            let emit = match self.time {
                TimeRef::RowTime => env.sim(end),
                TimeRef::Column(_) => env.now,
            };
            let aggs = finish_all(&self.aggs, &s.accs);
            self.output
                .emit(&keys, &aggs, (s.start, end), emit, env, out);
        }
    }

    /// When the first ROWTIME session closes.
    pub fn deadline(&self, env: &Env) -> Option<u64> {
        match self.time {
            TimeRef::RowTime => self.open.values().flatten().map(|s| env.sim(s.end)).min(),
            TimeRef::Column(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_sessions_merge() {
        assert!(sessions_meet(0, 10, 10, 20));
        assert!(sessions_meet(5, 15, 0, 10));
        assert!(!sessions_meet(0, 10, 11, 20));
    }
}
