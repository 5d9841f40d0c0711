//! The service's tumbling table functions: `TOP_K_ITEMS_TUMBLING(CURSOR(...), 'column', k, windowSeconds)` emits
//! the `k` most frequent values of a column per window (columns ITEM, ITEM_COUNT; counts here are exact, ties
//! broken by value), and `COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(...), 'column', windowSeconds)` emits
//! NUMBER_OF_DISTINCT_ITEMS (exact up to 10,000 items, HyperLogLog above, see [`super::hll`]). Windows are
//! ROWTIME tumbling windows and emit when processing time passes their end.

use super::hll::DistinctCounter;
use super::stage::{Env, Out, Row, pairs};
use super::tumbling::bin_start;
use super::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counts per value in one window.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Counts(#[serde(with = "pairs")] pub BTreeMap<Value, i64>);

/// TOP_K_ITEMS_TUMBLING.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TopK {
    /// The counted column.
    pub column: u32,
    /// How many items per window.
    pub k: u32,
    /// Window size.
    pub size_ms: i64,
    /// Open windows by start (epoch ms).
    pub open: BTreeMap<i64, Counts>,
}

/// The `k` most frequent items: by count descending, then value ascending.
pub fn top_k(counts: &BTreeMap<Value, i64>, k: u32) -> Vec<(Value, i64)> {
    let mut all: Vec<(Value, i64)> = counts.iter().map(|(v, c)| (v.clone(), *c)).collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(k as usize);
    all
}

impl TopK {
    /// Counts a row's item.
    pub fn on_row(&mut self, row: Row, env: &Env, _out: &mut Out) {
        let v = row
            .cols
            .get(self.column as usize)
            .cloned()
            .unwrap_or(Value::Null);
        if v.is_null() {
            return;
        }
        let start = bin_start(env.stamp(row.rowtime), self.size_ms);
        *self.open.entry(start).or_default().0.entry(v).or_insert(0) += 1;
    }

    /// Emits closed windows.
    pub fn on_time(&mut self, env: &Env, out: &mut Out) {
        while let Some((&start, _)) = self.open.first_key_value() {
            let end = start + self.size_ms;
            if end > env.stamp(env.now) {
                break;
            }
            let Some((_, counts)) = self.open.pop_first() else {
                break;
            };
            for (item, count) in top_k(&counts.0, self.k) {
                out.rows.push(Row {
                    rowtime: env.sim(end),
                    cols: vec![item, Value::Int(count)],
                });
            }
        }
    }

    /// When the oldest window closes.
    pub fn deadline(&self, env: &Env) -> Option<u64> {
        self.open.keys().next().map(|s| env.sim(s + self.size_ms))
    }
}

/// COUNT_DISTINCT_ITEMS_TUMBLING.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DistinctItems {
    /// The counted column.
    pub column: u32,
    /// Window size.
    pub size_ms: i64,
    /// Open windows by start (epoch ms).
    pub open: BTreeMap<i64, DistinctCounter>,
}

impl DistinctItems {
    /// Counts a row's item.
    pub fn on_row(&mut self, row: Row, env: &Env, _out: &mut Out) {
        let v = row
            .cols
            .get(self.column as usize)
            .cloned()
            .unwrap_or(Value::Null);
        let start = bin_start(env.stamp(row.rowtime), self.size_ms);
        self.open.entry(start).or_default().insert(&v);
    }

    /// Emits closed windows.
    pub fn on_time(&mut self, env: &Env, out: &mut Out) {
        while let Some((&start, _)) = self.open.first_key_value() {
            let end = start + self.size_ms;
            if end > env.stamp(env.now) {
                break;
            }
            let Some((_, counter)) = self.open.pop_first() else {
                break;
            };
            let n = i64::try_from(counter.count()).unwrap_or(i64::MAX);
            out.rows.push(Row {
                rowtime: env.sim(end),
                cols: vec![Value::Int(n)],
            });
        }
    }

    /// When the oldest window closes.
    pub fn deadline(&self, env: &Env) -> Option<u64> {
        self.open.keys().next().map(|s| env.sim(s + self.size_ms))
    }
}
