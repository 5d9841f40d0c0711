//! What the UI shows of an application's output, as pure functions: SQL templates that match the clickstream
//! producer's records, and time series of a numeric column over emit time, one per key.

use super::{OutputRow, Value};
use crate::sim::SimTime;

/// A SQL example the create form offers: (id, label, SQL). Each reads the records of the web clickstream producer
/// template (`{"user":..,"page":..,"event":..,"ts":..,"n":..}`, discovered as USER, PAGE, EVENT, TS, N).
pub const TEMPLATES: [(&str, &str, &str); 3] = [
    (
        "tumbling",
        "Tumbling window: page views per page every 10 s",
        r#"-- Page views per page in 10-second tumbling windows (ROWTIME is when the record was read).
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("page" VARCHAR(32), "views" INTEGER);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "PAGE", COUNT(*) AS "views"
  FROM "SOURCE_SQL_STREAM_001"
  GROUP BY "PAGE", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '10' SECOND);
"#,
    ),
    (
        "sliding",
        "Sliding window: events per kind over the last minute, per row",
        r#"-- For every record, how many events of its kind arrived in the minute before it.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("event" VARCHAR(32), "last_minute" INTEGER);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "EVENT", COUNT(*) OVER W
  FROM "SOURCE_SQL_STREAM_001"
  WINDOW W AS (PARTITION BY "EVENT" RANGE INTERVAL '1' MINUTE PRECEDING);
"#,
    ),
    (
        "stagger",
        "Stagger window: events per kind, a minute from its first",
        r#"-- Events per kind; a kind's window opens with its first row and closes a minute later.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("event" VARCHAR(32), "events" INTEGER, "opened" TIMESTAMP);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "EVENT", COUNT(*), STAGGER_START(ROWTIME)
  FROM "SOURCE_SQL_STREAM_001"
  WINDOWED BY STAGGER (PARTITION BY "EVENT" RANGE INTERVAL '1' MINUTE);
"#,
    ),
];

/// The SQL of the template with this id (the tumbling one for an unknown id).
pub fn template_sql(id: &str) -> &'static str {
    TEMPLATES
        .iter()
        .find(|(i, _, _)| *i == id)
        .map_or(TEMPLATES[0].2, |(_, _, sql)| sql)
}

/// One line of a chart: the key it is for and its points (emit time, value), oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The key column's text (empty when the chart has no key column).
    pub key: String,
    /// (emit time, value), oldest first.
    pub points: Vec<(SimTime, f64)>,
}

/// The columns of `rows` that hold numbers (in column order).
pub fn numeric_columns(rows: &[&OutputRow]) -> Vec<String> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    first
        .columns
        .iter()
        .filter(|(name, _)| {
            rows.iter().any(|r| {
                r.columns
                    .iter()
                    .any(|(n, v)| n == name && matches!(v, Value::Int(_) | Value::Double(_)))
            })
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// The first text column of `rows`: the natural key of a GROUP BY.
pub fn key_column(rows: &[&OutputRow]) -> Option<String> {
    rows.first()?
        .columns
        .iter()
        .find(|(_, v)| matches!(v, Value::Str(_)))
        .map(|(n, _)| n.clone())
}

/// Time series of `value` over emit time, one per distinct `key` text (all rows in one series without a key),
/// for the `keys_max` keys with the most rows (ties by key); `rows` in any order, points come out oldest first.
pub fn series(rows: &[&OutputRow], key: Option<&str>, value: &str, keys_max: u32) -> Vec<Series> {
    let mut by_key: std::collections::BTreeMap<String, Vec<(SimTime, f64)>> =
        std::collections::BTreeMap::new();
    for row in rows {
        let k = key
            .and_then(|k| row.columns.iter().find(|(n, _)| n == k))
            .map(|(_, v)| v.to_text())
            .unwrap_or_default();
        let Some(v) = row
            .columns
            .iter()
            .find(|(n, _)| n == value)
            .and_then(|(_, v)| v.as_f64())
            .filter(|v| v.is_finite())
        else {
            continue;
        };
        by_key.entry(k).or_default().push((row.emit_time, v));
    }
    let mut all: Vec<Series> = by_key
        .into_iter()
        .map(|(key, mut points)| {
            points.sort_by_key(|p| p.0);
            Series { key, points }
        })
        .collect();
    all.sort_by(|a, b| {
        b.points
            .len()
            .cmp(&a.points.len())
            .then_with(|| a.key.cmp(&b.key))
    });
    all.truncate(keys_max as usize);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::{Application, discover_schema};

    fn row(t: u64, k: &str, n: i64) -> OutputRow {
        OutputRow {
            stream: "D".into(),
            emit_time: SimTime::from_millis(t),
            columns: vec![
                ("k".into(), Value::Str(k.into())),
                ("n".into(), Value::Int(n)),
            ],
        }
    }

    #[test]
    fn every_template_plans_against_the_clickstream_records() {
        let a = br#"{"user":"user-1","page":"/home","event":"view","ts":1767225600000,"n":0}"#;
        let b = br#"{"user":"user-22","page":"/checkout","event":"add_to_cart","ts":1767225600100,"n":1}"#;
        let schema = discover_schema(&[a, b]);
        for (id, _, sql) in TEMPLATES {
            let mut app =
                Application::new(sql, schema.clone()).unwrap_or_else(|e| panic!("{id}: {e}"));
            app.push(SimTime::from_millis(1_000), a);
            app.push(SimTime::from_millis(2_000), b);
            app.advance(SimTime::from_millis(200_000));
            let rows = app.poll_output();
            assert!(!rows.is_empty(), "{id} emits");
            assert!(
                rows.iter().all(|r| r.stream != "error_stream"),
                "{id}: {rows:?}"
            );
        }
    }

    #[test]
    fn series_split_by_key_keep_the_busiest_keys_oldest_first() {
        let rows = [
            row(20, "a", 2),
            row(10, "a", 1),
            row(10, "b", 5),
            row(10, "c", 7),
            row(20, "c", 8),
        ];
        let refs: Vec<&OutputRow> = rows.iter().collect();
        assert_eq!(numeric_columns(&refs), vec!["n".to_string()]);
        assert_eq!(key_column(&refs).as_deref(), Some("k"));
        let s = series(&refs, Some("k"), "n", 2);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].key, "a");
        assert_eq!(
            s[0].points,
            vec![
                (SimTime::from_millis(10), 1.0),
                (SimTime::from_millis(20), 2.0)
            ]
        );
        assert_eq!(s[1].key, "c");
        let one = series(&refs, None, "n", 5);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].points.len(), 5);
    }
}
