//! Properties of the SQL engine against brute-force references: tumbling COUNT/SUM over any input, sliding-window
//! aggregates over any input, and the HyperLogLog error bound.
#![cfg(not(target_arch = "wasm32"))]

use kinesim::analytics::hll::{DistinctCounter, EXACT_ITEMS_MAX};
use kinesim::analytics::{Application, InputSchema, SqlType, Value};
use kinesim::sim::SimTime;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn schema() -> InputSchema {
    InputSchema::json(&[
        ("K", SqlType::Integer, "$.k"),
        ("V", SqlType::Integer, "$.v"),
    ])
}

/// Rows as (gap to the previous row in ms, key, value, advance processing time before this row).
fn rows() -> impl Strategy<Value = Vec<(u64, i64, i64, bool)>> {
    prop::collection::vec((0u64..4_000, 0i64..4, -50i64..50, any::<bool>()), 0..120)
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        other => panic!("expected an integer, got {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn tumbling_count_and_sum_equal_brute_force(input in rows(), size_s in prop::sample::select(vec![1u64, 5, 60])) {
        let sql = format!(
            "CREATE OR REPLACE STREAM \"DEST\" (k INTEGER, n INTEGER, s BIGINT);
             CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"DEST\"
               SELECT STREAM k, COUNT(*), SUM(v) FROM \"SOURCE_SQL_STREAM_001\"
               GROUP BY k, STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '{size_s}' SECOND);"
        );
        let mut app = Application::new(&sql, schema()).expect("plans");
        let size = size_s * 1000;
        let mut t = 0u64;
        let mut expected: BTreeMap<(u64, i64), (i64, i64)> = BTreeMap::new();
        let mut got = Vec::new();
        for (gap, k, v, advance) in &input {
            t += gap;
            if *advance {
                app.advance(SimTime::from_millis(t));
            }
            app.push_values(SimTime::from_millis(t), vec![Value::Int(*k), Value::Int(*v)]);
            let e = expected.entry((t / size * size + size, *k)).or_insert((0, 0));
            e.0 += 1;
            e.1 += v;
            got.extend(app.poll_output());
        }
        app.advance(SimTime::from_millis(t + size));
        got.extend(app.poll_output());
        let got: Vec<((u64, i64), (i64, i64))> = got
            .iter()
            .map(|r| ((r.emit_time.as_millis(), int(&r.columns[0].1)), (int(&r.columns[1].1), int(&r.columns[2].1))))
            .collect();
        let expected: Vec<_> = expected.into_iter().collect();
        prop_assert_eq!(got, expected);
        prop_assert_eq!(app.poll_timeout(), None);
    }

    #[test]
    fn sliding_aggregates_equal_brute_force(input in rows(), range_s in 1u64..10) {
        let sql = format!(
            "CREATE OR REPLACE STREAM \"DEST\" (k INTEGER, n INTEGER, s BIGINT, lo INTEGER, hi INTEGER);
             CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"DEST\"
               SELECT STREAM k, COUNT(*) OVER W, SUM(v) OVER W, MIN(v) OVER W, MAX(v) OVER W
               FROM \"SOURCE_SQL_STREAM_001\"
               WINDOW W AS (PARTITION BY k RANGE INTERVAL '{range_s}' SECOND PRECEDING);"
        );
        let mut app = Application::new(&sql, schema()).expect("plans");
        let range = range_s * 1000;
        let mut t = 0u64;
        let mut seen: Vec<(u64, i64, i64)> = Vec::new();
        for (gap, k, v, _) in &input {
            t += gap;
            app.push_values(SimTime::from_millis(t), vec![Value::Int(*k), Value::Int(*v)]);
            seen.push((t, *k, *v));
            let window: Vec<i64> = seen.iter().filter(|(tj, kj, _)| kj == k && tj + range >= t).map(|x| x.2).collect();
            let out = app.poll_output();
            prop_assert_eq!(out.len(), 1);
            let cols: Vec<i64> = out[0].columns.iter().map(|c| int(&c.1)).collect();
            let want = vec![
                *k,
                window.len() as i64,
                window.iter().sum::<i64>(),
                *window.iter().min().expect("the row itself"),
                *window.iter().max().expect("the row itself"),
            ];
            prop_assert_eq!(cols, want);
            prop_assert_eq!(out[0].emit_time, SimTime::from_millis(t));
        }
    }

    #[test]
    fn state_round_trips_through_serde(input in rows()) {
        let sql = "CREATE OR REPLACE STREAM \"DEST\" (k INTEGER, n INTEGER);
             CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"DEST\"
               SELECT STREAM k, COUNT(DISTINCT v) FROM \"SOURCE_SQL_STREAM_001\"
               GROUP BY k, STEP(ROWTIME BY INTERVAL '5' SECOND);";
        let mut a = Application::new(sql, schema()).expect("plans");
        let half = input.len() / 2;
        let mut t = 0;
        let mut out_a = Vec::new();
        for (gap, k, v, _) in &input[..half] {
            t += gap;
            a.push_values(SimTime::from_millis(t), vec![Value::Int(*k), Value::Int(*v)]);
        }
        let mut b: Application = serde_json::from_str(&serde_json::to_string(&a).expect("ser")).expect("de");
        let mut out_b = Vec::new();
        for (gap, k, v, _) in &input[half..] {
            t += gap;
            a.push_values(SimTime::from_millis(t), vec![Value::Int(*k), Value::Int(*v)]);
            b.push_values(SimTime::from_millis(t), vec![Value::Int(*k), Value::Int(*v)]);
        }
        a.advance(SimTime::from_millis(t + 10_000));
        b.advance(SimTime::from_millis(t + 10_000));
        out_a.extend(a.poll_output());
        out_b.extend(b.poll_output());
        prop_assert_eq!(out_a, out_b);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// HyperLogLog (precision 14, standard error 0.81%) stays within 3.25% (4 standard errors); exact up to
    /// 10,000 items.
    #[test]
    fn hyperloglog_stays_within_its_documented_error(n in 1u64..150_000, base in any::<u32>(), strings in any::<bool>()) {
        let mut c = DistinctCounter::default();
        for i in 0..n {
            let id = u64::from(base) * 1_000_000 + i;
            let v = if strings { Value::Str(format!("user-{id}")) } else { Value::Int(i64::try_from(id).expect("fits")) };
            c.insert(&v);
            if i % 7 == 0 {
                c.insert(&v);
            }
        }
        let estimate = c.count();
        if n <= EXACT_ITEMS_MAX {
            prop_assert_eq!(estimate, n);
        } else {
            let error = (estimate as f64 - n as f64).abs() / n as f64;
            prop_assert!(error <= 0.0325, "n {} estimate {} error {}", n, estimate, error);
        }
    }
}

const SAMPLE_SQL: &str = "CREATE OR REPLACE STREAM \"DEST\" (k INTEGER, n INTEGER, a DOUBLE);
CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"DEST\"
  SELECT STREAM k, COUNT(*) OVER W, AVG(v) OVER W FROM \"SOURCE_SQL_STREAM_001\" WHERE v > 0
  WINDOW W AS (PARTITION BY k RANGE INTERVAL '1' MINUTE PRECEDING);
CREATE OR REPLACE STREAM \"T\" (k INTEGER, n INTEGER);
CREATE OR REPLACE PUMP \"Q\" AS INSERT INTO \"T\" SELECT STREAM k, COUNT(*) FROM \"SOURCE_SQL_STREAM_001\"
  WINDOWED BY STAGGER (PARTITION BY k RANGE INTERVAL '1' MINUTE);";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Mangled SQL (a slice cut out, or a span replaced by arbitrary text) is planned or rejected, never panics;
    /// a rejection points inside the text.
    #[test]
    fn mangled_sql_never_panics(cut in 0usize..SAMPLE_SQL.len(), len in 0usize..40, junk in "[ -~]{0,12}") {
        let mut sql: Vec<char> = SAMPLE_SQL.chars().collect();
        let end = (cut + len).min(sql.len());
        sql.splice(cut..end, junk.chars());
        let sql: String = sql.into_iter().collect();
        if let Err(e) = Application::new(&sql, schema()) {
            prop_assert!(e.line >= 1 && e.column >= 1);
            prop_assert!(e.line as usize <= sql.lines().count().max(1) + 1, "{e} for {sql}");
            prop_assert!(!e.message.is_empty());
        }
    }

    /// Arbitrary record bytes go to error_stream or through; never a panic.
    #[test]
    fn arbitrary_records_never_panic(records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..30)) {
        let mut app = Application::new(SAMPLE_SQL, schema()).expect("plans");
        for (i, r) in records.iter().enumerate() {
            app.push(SimTime::from_millis(i as u64 * 1000), r);
        }
        app.advance(SimTime::from_millis(1_000_000));
        let out = app.poll_output();
        prop_assert!(out.iter().filter(|r| r.stream == "error_stream").count() as u64 == app.error_row_count());
    }
}
