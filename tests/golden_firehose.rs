//! Golden files for Firehose:
//! - `tests/golden/firehose/api/<Operation>/*.json`: request-to-response cases through `World::firehose` (same
//!   format as the Kinesis golden cases: setup calls, optional `advance_ms`, then status and body compared exactly,
//!   with wildcards `<string>`, `<number>`, `<timestamp>`, `<any>`);
//! - `tests/golden/firehose/s3/*.json`: seeded scenarios (a list of Firehose and Kinesis calls and time advances)
//!   and the S3 listing they must produce: every key, its size, and its body (gunzipped for `.gz` objects, so the
//!   gzip round trip is checked too). `KINESIM_UPDATE_GOLDEN=1` rewrites the listings after a deliberate change.
#![cfg(not(target_arch = "wasm32"))]

use kinesim::sim::SimTime;
use kinesim::{World, WorldConfig};
use serde_json::{Value, json};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn matches(expected: &Value, actual: &Value) -> bool {
    match expected {
        Value::String(s) if s.starts_with('<') && s.ends_with('>') => match s.as_str() {
            "<any>" => true,
            "<string>" => actual.as_str().is_some_and(|a| !a.is_empty()),
            "<timestamp>" | "<number>" => actual.is_number(),
            _ => actual == expected,
        },
        Value::Object(e) => actual.as_object().is_some_and(|a| {
            a.len() == e.len()
                && e.iter()
                    .all(|(k, v)| a.get(k).is_some_and(|av| matches(v, av)))
        }),
        Value::Array(e) => actual
            .as_array()
            .is_some_and(|a| a.len() == e.len() && e.iter().zip(a).all(|(ev, av)| matches(ev, av))),
        _ => actual == expected,
    }
}

/// Runs setup-style steps: `{"advance_ms": N}`, `{"operation": ..., "request": ...}` (Firehose) or
/// `{"kinesis": ..., "request": ...}`. Each call must succeed.
fn run_steps(w: &mut World, steps: &[Value]) -> Result<(), String> {
    for (i, step) in steps.iter().enumerate() {
        if let Some(ms) = step.get("advance_ms").and_then(Value::as_u64) {
            let to = w.now().as_millis() + ms;
            w.advance_to(SimTime::from_millis(to));
            continue;
        }
        let body = step["request"].to_string();
        let now = w.now();
        let r = match (step.get("operation"), step.get("kinesis")) {
            (Some(op), _) => w.firehose(now, op.as_str().unwrap_or(""), &body),
            (None, Some(op)) => w.kinesis(now, op.as_str().unwrap_or(""), &body),
            _ => return Err(format!("step {i} has no operation")),
        };
        if r.status != 200 {
            return Err(format!("step {i} failed: {} {}", r.status, r.body));
        }
    }
    Ok(())
}

fn run_api_case(path: &Path) -> Result<(), String> {
    let text = fs::read_to_string(path).map_err(|e| format!("unreadable: {e}"))?;
    let case: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let mut w = World::new(WorldConfig::with_seed(1));
    run_steps(
        &mut w,
        case["setup"].as_array().map_or(&[][..], Vec::as_slice),
    )?;
    if let Some(ms) = case.get("advance_ms").and_then(Value::as_u64) {
        let to = w.now().as_millis() + ms;
        w.advance_to(SimTime::from_millis(to));
    }
    let operation = case["operation"].as_str().ok_or("no operation")?;
    let body = match case.get("raw_body").and_then(Value::as_str) {
        Some(raw) => raw.to_string(),
        None => case["request"].to_string(),
    };
    let now = w.now();
    let r = w.firehose(now, operation, &body);
    let expected = &case["response"];
    let body_ok = match &expected["body"] {
        Value::String(s) if s.is_empty() => r.body.is_empty(),
        e => serde_json::from_str::<Value>(&r.body).is_ok_and(|a| matches(e, &a)),
    };
    if u64::from(r.status) == expected["status"].as_u64().unwrap_or(0) && body_ok {
        Ok(())
    } else {
        Err(format!(
            "expected {} {}\n      got {} {}",
            expected["status"], expected["body"], r.status, r.body
        ))
    }
}

#[test]
fn firehose_api_answers_as_aws_does() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/firehose/api");
    let mut cases = Vec::new();
    files(&root, &mut cases);
    assert!(
        cases.len() >= 10,
        "too few golden cases under {}",
        root.display()
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|f| {
            run_api_case(f)
                .err()
                .map(|why| format!("{}: {why}", f.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn listing(w: &World) -> Value {
    let s3 = w.firehose_service().s3();
    let mut out = Vec::new();
    for (bucket, _) in s3.list_buckets() {
        for (key, object) in &s3.bucket(bucket).expect("listed").objects {
            let body = if key.ends_with(".gz") {
                let mut text = String::new();
                match flate2::read::GzDecoder::new(&object.body[..]).read_to_string(&mut text) {
                    Ok(_) => text,
                    Err(e) => format!("<not gzip: {e}>"),
                }
            } else {
                String::from_utf8_lossy(&object.body).into_owned()
            };
            out.push(
                json!({"bucket": bucket, "key": key, "size": object.body.len(), "body": body}),
            );
        }
    }
    Value::Array(out)
}

#[test]
fn seeded_scenarios_write_the_golden_s3_listings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/firehose/s3");
    let mut scenarios = Vec::new();
    files(&root, &mut scenarios);
    assert!(!scenarios.is_empty());
    let update = std::env::var("KINESIM_UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for path in &scenarios {
        let text = fs::read_to_string(path).expect("readable");
        let mut scenario: Value = serde_json::from_str(&text).expect("JSON");
        let mut w = World::new(WorldConfig::with_seed(
            scenario["seed"].as_u64().unwrap_or(1),
        ));
        if let Some(buckets) = scenario["buckets"].as_array() {
            for b in buckets {
                w.firehose_service_mut()
                    .s3_mut()
                    .create_bucket(SimTime::ZERO, b.as_str().unwrap_or(""))
                    .expect("bucket");
            }
        }
        if let Err(why) = run_steps(
            &mut w,
            scenario["steps"].as_array().map_or(&[][..], Vec::as_slice),
        ) {
            failures.push(format!("{}: {why}", path.display()));
            continue;
        }
        let actual = listing(&w);
        if update {
            scenario["listing"] = actual;
            let pretty = serde_json::to_string_pretty(&scenario).expect("JSON") + "\n";
            fs::write(path, pretty).expect("writable");
        } else if scenario["listing"] != actual {
            failures.push(format!(
                "{}: listing differs\nexpected {}\n     got {}",
                path.display(),
                serde_json::to_string_pretty(&scenario["listing"]).unwrap_or_default(),
                serde_json::to_string_pretty(&actual).unwrap_or_default()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
