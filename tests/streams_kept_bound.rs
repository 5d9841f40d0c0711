//! The simulator's bound on the record bytes a session keeps (`StreamsConfig::records_kept_bytes_max`): a put
//! past it is refused with `InternalFailure` and a message that says what to change, acknowledged records stay
//! readable, retention expiry and stream deletion free room, the running count survives snapshot and journal
//! restores, and producers report the refusal.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::kinesis::call;
use kinesim::persist::{self, Journaled, MemoryStore, SessionMeta, SessionStore};
use kinesim::sim::SimTime;
use kinesim::streams::service::{
    RECORD_OVERHEAD_BYTES, RECORDS_KEPT_BYTES_MAX_DEFAULT, format_mib,
};
use kinesim::workload::generator::{GeneratorSpec, Template};
use kinesim::{Command, World, WorldConfig};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

const HOUR_MS: u64 = 3_600_000;
/// Every record these tests put: a 2-byte key and 100 bytes of data.
const KEY: &str = "pk";
const DATA_BYTES: usize = 100;
const RECORD_COST_BYTES: u64 = 2 + DATA_BYTES as u64 + RECORD_OVERHEAD_BYTES;
/// Room for exactly ten such records.
const BOUND_BYTES: u64 = 10 * RECORD_COST_BYTES;

fn config(bound_bytes: u64) -> WorldConfig {
    let mut config = WorldConfig::with_seed(11);
    config.streams.records_kept_bytes_max = bound_bytes;
    config
}

fn create(world: &mut World, now_ms: u64, name: &str) {
    let (status, body) = call(
        world,
        now_ms,
        "CreateStream",
        json!({"StreamName": name, "ShardCount": 1}),
    );
    assert_eq!(status, 200, "{body}");
}

fn world_with_stream(bound_bytes: u64) -> World {
    let mut world = World::new(config(bound_bytes));
    create(&mut world, 0, "s");
    world
}

fn put(world: &mut World, now_ms: u64, stream: &str) -> (u16, Value) {
    call(
        world,
        now_ms,
        "PutRecord",
        json!({"StreamName": stream, "PartitionKey": KEY, "Data": STANDARD.encode([7u8; DATA_BYTES])}),
    )
}

fn put_many(world: &mut World, now_ms: u64, stream: &str, n: usize) -> Value {
    let records: Vec<Value> = (0..n)
        .map(|_| json!({"PartitionKey": KEY, "Data": STANDARD.encode([7u8; DATA_BYTES])}))
        .collect();
    let (status, body) = call(
        world,
        now_ms,
        "PutRecords",
        json!({"StreamName": stream, "Records": records}),
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn read_all(world: &mut World, now_ms: u64, stream: &str) -> usize {
    let (status, body) = call(
        world,
        now_ms,
        "GetShardIterator",
        json!({"StreamName": stream, "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"}),
    );
    assert_eq!(status, 200, "{body}");
    let iterator = body["ShardIterator"]
        .as_str()
        .expect("iterator")
        .to_string();
    let (status, body) = call(
        world,
        now_ms,
        "GetRecords",
        json!({"ShardIterator": iterator}),
    );
    assert_eq!(status, 200, "{body}");
    body["Records"].as_array().expect("records").len()
}

fn assert_count_exact(world: &World) {
    let streams = world.streams();
    assert_eq!(
        streams.records_kept_bytes(),
        streams.recount_records_kept_bytes(),
        "the running count equals the sum over kept records"
    );
}

fn assert_bound_message(message: &str) {
    assert!(
        message.contains(&format!("kinesim keeps at most {BOUND_BYTES} bytes")),
        "{message}"
    );
    assert!(
        message.contains(&format!("holds {BOUND_BYTES} bytes")),
        "{message}"
    );
    assert!(message.contains("Delete a stream"), "{message}");
    assert!(message.contains("retention"), "{message}");
    assert!(message.contains("not AWS's"), "{message}");
}

#[test]
fn the_default_bound_is_256_mib_on_every_target() {
    assert_eq!(RECORDS_KEPT_BYTES_MAX_DEFAULT, 256 * 1_048_576);
    let world = World::new(WorldConfig::with_seed(1));
    assert_eq!(
        world.streams().records_kept_bytes_max(),
        RECORDS_KEPT_BYTES_MAX_DEFAULT
    );
    assert_eq!(world.streams().records_kept_bytes(), 0);
}

#[test]
fn kept_bytes_read_in_mib_rounded_down() {
    assert_eq!(format_mib(0), "0.0 MiB");
    assert_eq!(format_mib(RECORDS_KEPT_BYTES_MAX_DEFAULT), "256.0 MiB");
    assert_eq!(format_mib(RECORDS_KEPT_BYTES_MAX_DEFAULT - 13), "255.9 MiB");
    assert_eq!(format_mib(1_572_864), "1.5 MiB");
    assert_eq!(format_mib(u64::MAX), "17592186044415.9 MiB");
}

#[test]
fn a_config_saved_without_the_bound_loads_with_the_default() {
    let mut value = serde_json::to_value(WorldConfig::with_seed(3)).expect("serializes");
    value["streams"]
        .as_object_mut()
        .expect("object")
        .remove("records_kept_bytes_max");
    let config: WorldConfig = serde_json::from_value(value).expect("loads");
    assert_eq!(
        config.streams.records_kept_bytes_max,
        RECORDS_KEPT_BYTES_MAX_DEFAULT
    );
}

#[test]
fn putrecord_past_the_bound_is_an_internal_failure_and_kept_records_stay() {
    let mut world = world_with_stream(BOUND_BYTES);
    for i in 0..10 {
        let (status, body) = put(&mut world, 10_000 + i, "s");
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(world.streams().records_kept_bytes(), BOUND_BYTES);
    let (status, body) = put(&mut world, 10_100, "s");
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["__type"], "InternalFailure");
    assert_bound_message(body["message"].as_str().expect("message"));
    assert_eq!(world.streams().records_kept_bytes(), BOUND_BYTES);
    assert_eq!(
        read_all(&mut world, 10_200, "s"),
        10,
        "acknowledged records are untouched"
    );
    assert_count_exact(&world);
}

#[test]
fn putrecords_past_the_bound_fails_only_the_entries_that_do_not_fit() {
    let mut world = world_with_stream(BOUND_BYTES);
    let body = put_many(&mut world, 10_000, "s", 12);
    assert_eq!(body["FailedRecordCount"], 2, "{body}");
    let entries = body["Records"].as_array().expect("records");
    for entry in &entries[..10] {
        assert!(entry["SequenceNumber"].is_string(), "{entry}");
    }
    for entry in &entries[10..] {
        assert_eq!(entry["ErrorCode"], "InternalFailure", "{entry}");
        assert_bound_message(entry["ErrorMessage"].as_str().expect("message"));
    }
    assert_eq!(read_all(&mut world, 10_100, "s"), 10);
    assert_count_exact(&world);
}

#[test]
fn a_refused_record_uses_no_write_capacity() {
    let mut world = world_with_stream(BOUND_BYTES);
    create(&mut world, 0, "other");
    put_many(&mut world, 10_000, "other", 10);
    // 1,000 refusals within one second would use up the shard's 1,000 records/s if they counted.
    for _ in 0..2 {
        let body = put_many(&mut world, 10_500, "s", 500);
        assert_eq!(body["FailedRecordCount"], 500);
        assert!(
            body["Records"]
                .as_array()
                .expect("records")
                .iter()
                .all(|e| e["ErrorCode"] == "InternalFailure"),
            "refused for the bound, not throttled: {body}"
        );
    }
    let (status, body) = call(
        &mut world,
        10_600,
        "DeleteStream",
        json!({"StreamName": "other"}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = put(&mut world, 10_700, "s");
    assert_eq!(status, 200, "the same second, not throttled: {body}");
}

#[test]
fn retention_expiry_frees_room() {
    let mut world = world_with_stream(BOUND_BYTES);
    put_many(&mut world, 10_000, "s", 10);
    let (status, _) = put(&mut world, 20_000, "s");
    assert_eq!(status, 500);
    // 24 hours after they arrived the records expire and their room is free again.
    let later = 10_000 + 24 * HOUR_MS;
    let (status, body) = put(&mut world, later, "s");
    assert_eq!(status, 200, "{body}");
    assert_eq!(world.streams().records_kept_bytes(), RECORD_COST_BYTES);
    assert_count_exact(&world);
}

#[test]
fn decreasing_retention_frees_room_at_once() {
    let mut world = world_with_stream(BOUND_BYTES);
    let (status, body) = call(
        &mut world,
        10_000,
        "IncreaseStreamRetentionPeriod",
        json!({"StreamName": "s", "RetentionPeriodHours": 48}),
    );
    assert_eq!(status, 200, "{body}");
    put_many(&mut world, 10_000, "s", 10);
    let at = 10_000 + 30 * HOUR_MS;
    let (status, _) = put(&mut world, at, "s");
    assert_eq!(status, 500, "still kept at 30 hours with 48-hour retention");
    let (status, body) = call(
        &mut world,
        at,
        "DecreaseStreamRetentionPeriod",
        json!({"StreamName": "s", "RetentionPeriodHours": 24}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(world.streams().records_kept_bytes(), 0);
    let (status, body) = put(&mut world, at, "s");
    assert_eq!(status, 200, "{body}");
    assert_count_exact(&world);
}

#[test]
fn deleting_a_stream_frees_its_room_at_once() {
    let mut world = world_with_stream(BOUND_BYTES);
    create(&mut world, 0, "other");
    put_many(&mut world, 10_000, "s", 10);
    let (status, _) = put(&mut world, 10_001, "other");
    assert_eq!(status, 500, "the bound is across all streams");
    let (status, body) = call(
        &mut world,
        10_002,
        "DeleteStream",
        json!({"StreamName": "s"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(world.streams().records_kept_bytes(), 0);
    let body = put_many(&mut world, 10_003, "other", 10);
    assert_eq!(body["FailedRecordCount"], 0, "{body}");
    // Once the deleted stream is gone the count is still exact.
    world.advance_to(SimTime::from_millis(60_000));
    assert_eq!(world.streams().records_kept_bytes(), BOUND_BYTES);
    assert_count_exact(&world);
}

/// The memory store's futures never wait, so polling once (with a no-op waker) finishes them.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn a_restored_session_counts_what_it_keeps_and_keeps_refusing() {
    let store = MemoryStore::new();
    block_on(async {
        let meta = SessionMeta {
            id: "b".into(),
            name: "b".into(),
            seed: 11,
            damaged: None,
        };
        store.create(&meta).await.expect("creates");
        let mut session = Journaled::new(world_with_stream(BOUND_BYTES));
        let body = |n: usize| {
            let records: Vec<Value> = (0..n)
                .map(|_| json!({"PartitionKey": KEY, "Data": STANDARD.encode([7u8; DATA_BYTES])}))
                .collect();
            json!({"StreamName": "s", "Records": records}).to_string()
        };
        session.kinesis(SimTime::from_millis(10_000), "PutRecords", &body(6));
        // A snapshot holds six records; the journal holds the puts after it.
        persist::save(&store, "b", &mut session, true)
            .await
            .expect("saves");
        let reply = session.kinesis(SimTime::from_millis(11_000), "PutRecords", &body(6));
        assert!(
            reply.body.contains("\"FailedRecordCount\":2"),
            "{}",
            reply.body
        );
        persist::save(&store, "b", &mut session, false)
            .await
            .expect("saves");
        let mut restored = persist::load(&store, "b").await.expect("loads");
        assert_eq!(restored.streams().records_kept_bytes(), BOUND_BYTES);
        assert_eq!(
            restored.streams().records_kept_bytes(),
            restored.streams().recount_records_kept_bytes()
        );
        let reply = restored.kinesis(SimTime::from_millis(12_000), "PutRecords", &body(1));
        assert!(
            reply.body.contains("\"FailedRecordCount\":1"),
            "{}",
            reply.body
        );
        // Snapshot again (records stored apart, in segments) and reload: the same.
        persist::save(&store, "b", &mut restored, true)
            .await
            .expect("saves");
        let again = persist::load(&store, "b").await.expect("loads");
        assert_eq!(again.streams().records_kept_bytes(), BOUND_BYTES);
        assert_eq!(again.event_log_hash(), restored.event_log_hash());
    });
}

#[test]
fn a_world_serialized_with_its_records_recounts_them_on_load() {
    let mut world = world_with_stream(BOUND_BYTES);
    put_many(&mut world, 10_000, "s", 7);
    let json = serde_json::to_string(&world).expect("serializes");
    assert!(
        !json.contains("records_kept_bytes\":"),
        "the running count is derived, not stored"
    );
    let loaded: World = serde_json::from_str(&json).expect("loads");
    assert_eq!(loaded.streams().records_kept_bytes(), 7 * RECORD_COST_BYTES);
}

#[test]
fn a_producer_past_the_bound_counts_failures_and_shows_why() {
    // Room for about two seconds of a 100 records/s clickstream producer.
    let mut world = World::new(config(100_000));
    create(&mut world, 0, "s");
    world.advance_to(SimTime::from_millis(10_000));
    world
        .apply(
            SimTime::from_millis(10_000),
            Command::StartProducer {
                name: "p".into(),
                stream: "s".into(),
                records_per_s: 100,
                spec: GeneratorSpec::from_template(Template::Clickstream),
            },
        )
        .expect("starts");
    world.advance_to(SimTime::from_millis(20_000));
    let stats = &world.producers()["p"].producer.stats;
    assert!(stats.acknowledged > 0, "{stats:?}");
    assert!(stats.failed > 0, "{stats:?}");
    assert_eq!(stats.throttled, 0, "{stats:?}");
    let error = stats.last_error.as_deref().expect("an error");
    assert!(error.starts_with("InternalFailure: "), "{error}");
    assert!(
        error.contains("kinesim keeps at most 100000 bytes"),
        "{error}"
    );
    let kept = world.streams().records_kept_bytes();
    assert!(kept <= 100_000, "{kept}");
    assert_count_exact(&world);
}
