//! Golden request-to-response cases for the Kinesis API (`tests/golden/kinesis/<Operation>/*.json`), written from
//! the service model and AWS's documented and recorded answers. Each case starts from an empty account at
//! simulated time zero, runs its setup calls, then compares status and body exactly (with a few wildcards for
//! values no one can know in advance: sequence numbers, iterators, timestamps).
#![cfg(not(target_arch = "wasm32"))]

use kinesim::api::kinesis::dispatch;
use kinesim::sim::{DisplayEpoch, SimTime};
use kinesim::streams::DataStreams;
use kinesim::streams::service::StreamsConfig;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn case_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            case_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Whether `actual` matches `expected`, where expected strings `<sequence-number>`, `<shard-iterator>`,
/// `<timestamp>`, `<number>`, `<string>` and `<any>` match any value of that kind.
fn matches(expected: &Value, actual: &Value) -> bool {
    match expected {
        Value::String(s) if s.starts_with('<') && s.ends_with('>') => match s.as_str() {
            "<any>" => true,
            "<sequence-number>" => actual
                .as_str()
                .is_some_and(|a| a.len() == 56 && a.bytes().all(|b| b.is_ascii_digit())),
            "<shard-iterator>" | "<string>" => actual.as_str().is_some_and(|a| !a.is_empty()),
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

fn substitute(value: &Value, vars: &BTreeMap<String, String>) -> Value {
    match value {
        Value::String(s) if s.starts_with("${") && s.ends_with('}') => vars
            .get(&s[2..s.len() - 1])
            .map_or_else(|| value.clone(), |v| Value::String(v.clone())),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, vars)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, vars)).collect()),
        _ => value.clone(),
    }
}

struct Run {
    streams: DataStreams,
    now: SimTime,
    epoch: u64,
}

impl Run {
    fn call(&mut self, operation: &str, body: &str) -> (u16, String) {
        let response = dispatch(&mut self.streams, self.now, self.epoch, operation, body);
        (response.status, response.body)
    }
}

/// Runs one case; `Err` says what differed.
fn run_case(path: &Path) -> Result<(), String> {
    let text = fs::read_to_string(path).map_err(|e| format!("unreadable: {e}"))?;
    let case: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let epoch = DisplayEpoch::DEFAULT.unix_ms;
    let config = StreamsConfig {
        token_key: 1,
        ..StreamsConfig::default()
    };
    let mut run = Run {
        streams: DataStreams::new(config, epoch),
        now: SimTime::ZERO,
        epoch,
    };
    let mut vars = BTreeMap::new();
    for (i, step) in case["setup"].as_array().into_iter().flatten().enumerate() {
        if let Some(ms) = step.get("advance_ms").and_then(Value::as_u64) {
            run.now = SimTime::from_millis(run.now.as_millis() + ms);
            continue;
        }
        let operation = step["operation"]
            .as_str()
            .ok_or(format!("setup step {i} has no operation"))?;
        let body = substitute(&step["request"], &vars).to_string();
        let (status, body) = run.call(operation, &body);
        if status != 200 {
            return Err(format!(
                "setup step {i} ({operation}) failed: {status} {body}"
            ));
        }
        if let Some(captures) = step.get("capture").and_then(Value::as_object) {
            let response: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            for (name, pointer) in captures {
                let value = pointer
                    .as_str()
                    .and_then(|p| response.pointer(p))
                    .and_then(Value::as_str)
                    .ok_or(format!("setup step {i}: nothing at {pointer} in {body}"))?;
                vars.insert(name.clone(), value.to_string());
            }
        }
    }
    if let Some(ms) = case.get("advance_ms").and_then(Value::as_u64) {
        run.now = SimTime::from_millis(run.now.as_millis() + ms);
    }
    let operation = case["operation"].as_str().ok_or("no operation")?;
    let body = match case.get("raw_body").and_then(Value::as_str) {
        Some(raw) => raw.to_string(),
        None => substitute(&case["request"], &vars).to_string(),
    };
    let (status, actual_body) = run.call(operation, &body);
    let expected = &case["response"];
    let expected_status = expected["status"].as_u64().unwrap_or(0);
    let body_ok = match &expected["body"] {
        Value::String(s) if s.is_empty() => actual_body.is_empty(),
        expected_body => serde_json::from_str::<Value>(&actual_body)
            .is_ok_and(|actual| matches(expected_body, &actual)),
    };
    if u64::from(status) == expected_status && body_ok {
        Ok(())
    } else {
        Err(format!(
            "expected {expected_status} {}\n      got {status} {actual_body}",
            expected["body"]
        ))
    }
}

#[test]
fn kinesis_api_answers_as_aws_does() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/kinesis");
    let mut files = Vec::new();
    case_files(&root, &mut files);
    let mut failures = Vec::new();
    for file in &files {
        if let Err(why) = run_case(file) {
            let name = file
                .strip_prefix(&root)
                .unwrap_or(file)
                .display()
                .to_string();
            failures.push(format!("{name}: {why}"));
        }
    }
    eprintln!(
        "{} golden Kinesis cases, {} failed",
        files.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn wildcards_match_only_their_kind() {
    let seq = Value::String("4".repeat(56));
    assert!(matches(&Value::String("<sequence-number>".into()), &seq));
    assert!(!matches(
        &Value::String("<sequence-number>".into()),
        &Value::String("12".into())
    ));
    assert!(matches(
        &serde_json::json!({"a": "<number>"}),
        &serde_json::json!({"a": 1.5})
    ));
    assert!(!matches(
        &serde_json::json!({"a": "<number>"}),
        &serde_json::json!({"a": 1, "b": 2})
    ));
}
