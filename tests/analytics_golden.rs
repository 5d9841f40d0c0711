//! Golden cases for the SQL engine, kept the way streaming-SQL engines keep them (arroyo, Flink): per case a
//! directory `tests/golden/sql/<case>/` with `query.sql`, `input.jsonl` and the expected output.
//!
//! - `input.jsonl`: one event per line: `{"rowtime_ms": N, "data": {...}}` (a JSON record), `{"rowtime_ms": N,
//!   "raw": "text"}` (raw bytes, e.g. CSV or a broken record), optionally with `"partition": "shard-1"`, or
//!   `{"advance_ms": N}` (move processing time). After the last line the runner advances one more hour.
//! - `schema.json` (optional): the input schema as serde JSON; without it the schema is discovered from the
//!   input records, as the service's schema discovery would.
//! - `config.json` (optional): `{"idle_timeout_ms": N}`.
//! - `expected.jsonl`: one emitted row per line `{"stream", "emit_time_ms", "row"}`, then a last line
//!   `{"late_rows": N}`; or `error.json` when the SQL must be rejected (line, column, message, unsupported).
//!
//! `KINESIM_BLESS=1 cargo test --test analytics_golden` rewrites the expected files from the current output;
//! review the diff before committing it.
#![cfg(not(target_arch = "wasm32"))]

use kinesim::analytics::{Application, InputSchema, discover_schema};
use kinesim::sim::{SimDuration, SimTime};
use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/sql");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

fn record_bytes(event: &Value) -> Option<Vec<u8>> {
    if let Some(raw) = event.get("raw").and_then(Value::as_str) {
        return Some(raw.as_bytes().to_vec());
    }
    event.get("data").map(|d| d.to_string().into_bytes())
}

/// Runs one case; returns its actual output in the expected files' format.
fn run(dir: &Path) -> (String, String) {
    let sql = fs::read_to_string(dir.join("query.sql")).expect("query.sql");
    let input = fs::read_to_string(dir.join("input.jsonl")).unwrap_or_default();
    let events: Vec<Value> = input
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: bad input line {l}: {e}", dir.display()))
        })
        .collect();
    let schema: InputSchema = match fs::read_to_string(dir.join("schema.json")) {
        Ok(text) => serde_json::from_str(&text).expect("schema.json is an InputSchema"),
        Err(_) => {
            let samples: Vec<Vec<u8>> = events.iter().filter_map(record_bytes).take(100).collect();
            let refs: Vec<&[u8]> = samples.iter().map(Vec::as_slice).collect();
            discover_schema(&refs)
        }
    };
    let mut app = match Application::new(&sql, schema) {
        Ok(app) => app,
        Err(e) => {
            let error = json!({"line": e.line, "column": e.column, "message": e.message, "unsupported": e.unsupported});
            return (
                "error.json".into(),
                serde_json::to_string_pretty(&error).expect("json") + "\n",
            );
        }
    };
    if let Ok(text) = fs::read_to_string(dir.join("config.json")) {
        let config: Value = serde_json::from_str(&text).expect("config.json");
        if let Some(ms) = config.get("idle_timeout_ms").and_then(Value::as_u64) {
            app.set_idle_timeout(Some(SimDuration::from_millis(ms)));
        }
    }
    let mut rows = Vec::new();
    let mut last = 0;
    for event in &events {
        if let Some(ms) = event.get("advance_ms").and_then(Value::as_u64) {
            app.advance(SimTime::from_millis(ms));
            last = last.max(ms);
        } else {
            let t = event
                .get("rowtime_ms")
                .and_then(Value::as_u64)
                .expect("rowtime_ms");
            let bytes = record_bytes(event).expect("data or raw");
            let partition = event.get("partition").and_then(Value::as_str).unwrap_or("");
            app.push_from(partition, SimTime::from_millis(t), &bytes);
            last = last.max(t);
        }
        rows.extend(app.poll_output());
    }
    app.advance(SimTime::from_millis(last + 3_600_000));
    rows.extend(app.poll_output());
    // The state must survive a serde round trip mid-run without changing anything.
    let saved = serde_json::to_string(&app).expect("state serializes");
    let _: Application = serde_json::from_str(&saved).expect("state deserializes");
    let mut out = String::new();
    for r in rows {
        let line = json!({"stream": r.stream, "emit_time_ms": r.emit_time.as_millis(), "row": r.to_json()});
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out.push_str(&json!({"late_rows": app.late_row_count()}).to_string());
    out.push('\n');
    ("expected.jsonl".into(), out)
}

#[test]
fn golden_sql_cases() {
    let bless = std::env::var_os("KINESIM_BLESS").is_some();
    let dirs = cases();
    let mut failures = Vec::new();
    for dir in &dirs {
        let (file, actual) = run(dir);
        let path = dir.join(&file);
        let other = if file == "error.json" {
            "expected.jsonl"
        } else {
            "error.json"
        };
        if bless {
            fs::write(&path, &actual).expect("write expected");
            let _ = fs::remove_file(dir.join(other));
            continue;
        }
        match fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{}: {file} differs\n--- expected\n{expected}--- actual\n{actual}",
                dir.display()
            )),
            Err(_) => failures.push(format!(
                "{}: expected {file} (the SQL {}), got\n{actual}",
                dir.display(),
                if file == "error.json" {
                    "was rejected"
                } else {
                    "ran"
                }
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden case(s) failed (KINESIM_BLESS=1 regenerates):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        dirs.len() >= 40,
        "only {} golden SQL cases; keep at least 40",
        dirs.len()
    );
}
