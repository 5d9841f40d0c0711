//! The README's example of testing your own stream-processing code against kinesim inside wasm-bindgen-test:
//! a World from a seed, records put and read through the Kinesis API, time advanced deterministically.
//! Keep it equal to the README's code block ("Testing your own code against kinesim in headless wasm tests").
#![cfg(target_arch = "wasm32")]
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kinesim::sim::SimTime;
use kinesim::{World, WorldConfig};
use serde_json::{Value, json};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser); // leave out to run under node

/// One Kinesis call at simulated time `ms`; fails the test on an AWS error.
fn call(world: &mut World, ms: u64, operation: &str, body: Value) -> Value {
    let response = world.kinesis(SimTime::from_millis(ms), operation, &body.to_string());
    assert_eq!(response.status, 200, "{operation}: {}", response.body);
    serde_json::from_str(&response.body).unwrap_or(Value::Null)
}

#[wasm_bindgen_test]
fn my_consumer_counts_words() {
    let mut world = World::new(WorldConfig::with_seed(42)); // same seed, same run
    call(
        &mut world,
        0,
        "CreateStream",
        json!({"StreamName": "words", "ShardCount": 1}),
    );
    let t = 10_000; // a new stream is CREATING for 10 simulated seconds; nothing waits in real time
    for (i, line) in ["the quick brown fox", "jumps over", "the lazy dog"]
        .iter()
        .enumerate()
    {
        let data = STANDARD.encode(line);
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
        json!({"StreamName": "words",
        "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"}),
    );
    let got = call(
        &mut world,
        t + 200,
        "GetRecords",
        json!({"ShardIterator": it["ShardIterator"]}),
    );
    let words: usize = got["Records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| STANDARD.decode(r["Data"].as_str()?).ok())
        .filter_map(|bytes| String::from_utf8(bytes).ok())
        .map(|text| text.split_whitespace().count()) // <- your processing code goes here
        .sum();
    assert_eq!(words, 9);
    assert_eq!(world.event_count(), 6, "one event per API call");
}
