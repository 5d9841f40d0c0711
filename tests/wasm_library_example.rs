//! The README's example of testing your own stream-processing code against kinesim inside wasm-bindgen-test:
//! a World from a seed, records put and read through the Kinesis API, time advanced deterministically.
#![cfg(target_arch = "wasm32")]

use kinesim::sim::SimTime;
use kinesim::{World, WorldConfig};
use serde_json::{Value, json};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// The code under test: counts words in a batch of records, as a user's consumer might.
fn count_words(records: &[Value]) -> usize {
    records
        .iter()
        .filter_map(|r| r["Data"].as_str())
        .filter_map(base64_decode)
        .map(|text| text.split_whitespace().count())
        .sum()
}

fn base64_decode(text: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    String::from_utf8(bytes).ok()
}

fn call(world: &mut World, now_ms: u64, operation: &str, body: Value) -> Value {
    let response = world.kinesis(SimTime::from_millis(now_ms), operation, &body.to_string());
    assert_eq!(response.status, 200, "{operation}: {}", response.body);
    serde_json::from_str(&response.body).unwrap_or(Value::Null)
}

#[wasm_bindgen_test]
fn my_consumer_counts_words_from_a_simulated_stream() {
    let mut world = World::new(WorldConfig::with_seed(42));
    call(
        &mut world,
        0,
        "CreateStream",
        json!({"StreamName": "words", "ShardCount": 1}),
    );
    // A new stream is CREATING for 10 simulated seconds; nothing waits in real time.
    let t = 10_000;
    for (i, line) in ["the quick brown fox", "jumps over", "the lazy dog"]
        .iter()
        .enumerate()
    {
        let data = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, line);
        call(
            &mut world,
            t + i as u64,
            "PutRecord",
            json!({"StreamName": "words", "PartitionKey": "k", "Data": data}),
        );
    }
    let it = call(
        &mut world,
        t + 100,
        "GetShardIterator",
        json!({"StreamName": "words", "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"}),
    );
    let got = call(
        &mut world,
        t + 200,
        "GetRecords",
        json!({"ShardIterator": it["ShardIterator"]}),
    );
    let records = got["Records"].as_array().expect("records");
    assert_eq!(count_words(records), 9);
    // The same seed and calls give the same run, in the browser as natively.
    assert_eq!(world.event_count(), 6, "one event per API call");
}
