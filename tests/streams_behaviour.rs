//! Behaviour a Kinesis user relies on, through the World's JSON API: throttling, read limits, retention,
//! iterators (all five types, expiry, surviving a reload), pagination tokens, bounded inputs and metrics.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::kinesis::call;
use kinesim::sim::SimTime;
use kinesim::streams::metrics::Metric;
use kinesim::{World, WorldConfig};
use serde_json::{Value, json};

const HOUR_MS: u64 = 3_600_000;

fn world_with_stream(shards: u32) -> World {
    let mut world = World::new(WorldConfig::with_seed(7));
    let (status, body) = call(
        &mut world,
        0,
        "CreateStream",
        json!({"StreamName": "s", "ShardCount": shards}),
    );
    assert_eq!(status, 200, "{body}");
    world
}

fn put(world: &mut World, now_ms: u64, key: &str, data: &[u8]) -> (u16, Value) {
    call(
        world,
        now_ms,
        "PutRecord",
        json!({"StreamName": "s", "PartitionKey": key, "Data": STANDARD.encode(data)}),
    )
}

fn iterator(world: &mut World, now_ms: u64, request: Value) -> String {
    let mut body = json!({"StreamName": "s", "ShardId": "shardId-000000000000"});
    for (k, v) in request.as_object().expect("object") {
        body[k] = v.clone();
    }
    let (status, body) = call(world, now_ms, "GetShardIterator", body);
    assert_eq!(status, 200, "{body}");
    body["ShardIterator"]
        .as_str()
        .expect("iterator")
        .to_string()
}

fn read(world: &mut World, now_ms: u64, iterator: &str) -> (u16, Value) {
    call(
        world,
        now_ms,
        "GetRecords",
        json!({"ShardIterator": iterator}),
    )
}

fn keys_of(body: &Value) -> Vec<String> {
    body["Records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["PartitionKey"].as_str().expect("key").to_string())
        .collect()
}

#[test]
fn a_stream_is_creating_then_active() {
    let mut world = world_with_stream(1);
    let (_, body) = call(
        &mut world,
        9_999,
        "DescribeStreamSummary",
        json!({"StreamName": "s"}),
    );
    assert_eq!(body["StreamDescriptionSummary"]["StreamStatus"], "CREATING");
    assert_eq!(
        world.poll_timeout(),
        Some(SimTime::from_millis(10_000)),
        "the shell is woken for the change"
    );
    let (_, body) = call(
        &mut world,
        10_000,
        "DescribeStreamSummary",
        json!({"StreamName": "s"}),
    );
    assert_eq!(body["StreamDescriptionSummary"]["StreamStatus"], "ACTIVE");
}

#[test]
fn the_1001st_record_in_a_second_is_throttled_with_aws_message() {
    let mut world = world_with_stream(1);
    for i in 0..1_000 {
        let (status, body) = put(&mut world, 10_000 + i / 2, "k", b"x");
        assert_eq!(status, 200, "record {i}: {body}");
    }
    let (status, body) = put(&mut world, 10_999, "k", b"x");
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"__type": "ProvisionedThroughputExceededException",
               "message": "Rate exceeded for shard shardId-000000000000 in stream s under account 000000000000."})
    );
    let (status, _) = put(&mut world, 11_000, "k", b"x");
    assert_eq!(status, 200, "a new second has room again");
    let metrics = world.streams().stream_metrics("s").expect("stream");
    let sum = |m: Metric| {
        metrics
            .iter()
            .filter(|(_, k, _)| *k == m)
            .map(|(_, _, v)| v)
            .sum::<u64>()
    };
    assert_eq!(sum(Metric::IncomingRecords), 1_001);
    assert_eq!(sum(Metric::IncomingBytes), 2_002);
    assert_eq!(sum(Metric::WriteProvisionedThroughputExceeded), 1);
}

#[test]
fn putrecords_reports_throttled_entries_in_order_and_goes_on() {
    let mut world = world_with_stream(1);
    let big = STANDARD.encode(vec![7u8; 400_000]);
    let entries: Vec<Value> = (0..4)
        .map(|i| json!({"PartitionKey": format!("k{i}"), "Data": big}))
        .collect();
    let (status, body) = call(
        &mut world,
        10_000,
        "PutRecords",
        json!({"StreamName": "s", "Records": entries}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["FailedRecordCount"], 2,
        "two 400 KB records fit in 1 MiB, the next two do not"
    );
    let records = body["Records"].as_array().expect("records");
    assert!(records[0]["SequenceNumber"].is_string() && records[1]["SequenceNumber"].is_string());
    assert_eq!(
        records[2]["ErrorCode"],
        "ProvisionedThroughputExceededException"
    );
    assert_eq!(
        records[3]["ErrorCode"],
        "ProvisionedThroughputExceededException"
    );
}

#[test]
fn limits_can_be_switched_off_for_a_sandbox() {
    let mut world = world_with_stream(1);
    world.advance_to(SimTime::from_millis(10_000));
    world
        .streams_mut()
        .set_throughput_limits(SimTime::from_millis(10_000), "s", false)
        .expect("stream");
    for _ in 0..3_000 {
        let (status, body) = put(&mut world, 10_000, "k", b"x");
        assert_eq!(status, 200, "{body}");
    }
}

#[test]
fn five_reads_a_second_and_a_five_second_wait_after_10_mib() {
    let mut world = world_with_stream(1);
    // Ten 1 MiB records (minus the key), one a second to stay under the write limit.
    for i in 0..10 {
        let (status, body) = put(&mut world, 10_000 + i * 1_000, "k", &vec![1u8; 1_048_575]);
        assert_eq!(status, 200, "{body}");
    }
    let it = iterator(
        &mut world,
        20_000,
        json!({"ShardIteratorType": "TRIM_HORIZON"}),
    );
    let (status, body) = read(&mut world, 20_000, &it);
    assert_eq!(status, 200);
    assert_eq!(
        body["Records"].as_array().map(Vec::len),
        Some(10),
        "one call returns up to 10 MiB"
    );
    let next = body["NextShardIterator"]
        .as_str()
        .expect("next")
        .to_string();
    let (status, body) = read(&mut world, 24_999, &next);
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ProvisionedThroughputExceededException"))
    );
    let (status, _) = read(&mut world, 25_000, &next);
    assert_eq!(
        status, 200,
        "five seconds after a 10 MiB read, reads work again"
    );

    let it = iterator(&mut world, 40_000, json!({"ShardIteratorType": "LATEST"}));
    for i in 0..5 {
        assert_eq!(read(&mut world, 40_000 + i, &it).0, 200, "call {i}");
    }
    let (status, _) = read(&mut world, 40_500, &it);
    assert_eq!(
        status, 400,
        "the sixth GetRecords call within a second is throttled"
    );
    assert_eq!(
        read(&mut world, 41_000, &it).0,
        200,
        "the first call has left the window"
    );
}

#[test]
fn all_five_iterator_types_start_where_aws_says() {
    let mut world = world_with_stream(1);
    let mut seqs = Vec::new();
    for (i, key) in ["a", "b", "c"].iter().enumerate() {
        let (_, body) = put(&mut world, 10_000 + 1_000 * i as u64, key, b"x");
        seqs.push(body["SequenceNumber"].as_str().expect("seq").to_string());
    }
    let now = 20_000;
    let cases = [
        (
            json!({"ShardIteratorType": "TRIM_HORIZON"}),
            vec!["a", "b", "c"],
        ),
        (json!({"ShardIteratorType": "LATEST"}), vec![]),
        (
            json!({"ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": seqs[1]}),
            vec!["b", "c"],
        ),
        (
            json!({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": seqs[1]}),
            vec!["c"],
        ),
        // Epoch seconds: the display epoch (2026-01-01) plus 11 s is when "b" arrived.
        (
            json!({"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 1_767_225_611.0}),
            vec!["b", "c"],
        ),
        (
            json!({"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 1_767_225_611.001}),
            vec!["c"],
        ),
    ];
    for (i, (request, expected)) in cases.into_iter().enumerate() {
        let it = iterator(&mut world, now + i as u64 * 1_000, request.clone());
        let (status, body) = read(&mut world, now + i as u64 * 1_000, &it);
        assert_eq!(status, 200, "{request}: {body}");
        assert_eq!(keys_of(&body), expected, "{request}");
    }
}

#[test]
fn a_shards_starting_sequence_number_comes_before_its_first_record() {
    let mut world = world_with_stream(1);
    let (_, shards) = call(&mut world, 10_000, "ListShards", json!({"StreamName": "s"}));
    let start = shards["Shards"][0]["SequenceNumberRange"]["StartingSequenceNumber"]
        .as_str()
        .expect("starting sequence number")
        .to_string();
    let (_, first) = put(&mut world, 11_000, "a", b"x");
    let first = first["SequenceNumber"].as_str().expect("seq").to_string();
    assert!(start < first, "{start} must sort before {first}");
    // A checkpoint at the starting number (what a consumer keeps before it has read anything) resumes at the
    // first record.
    let it = iterator(
        &mut world,
        12_000,
        json!({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": start}),
    );
    let (_, body) = read(&mut world, 12_000, &it);
    assert_eq!(keys_of(&body), vec!["a"]);
    let it = iterator(
        &mut world,
        12_000,
        json!({"ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": start}),
    );
    let (_, body) = read(&mut world, 12_000, &it);
    assert_eq!(keys_of(&body), vec!["a"]);
}

#[test]
fn millis_behind_latest_and_arrival_timestamps() {
    let mut world = world_with_stream(1);
    put(&mut world, 10_000, "a", b"1");
    put(&mut world, 12_000, "b", b"2");
    let it = iterator(
        &mut world,
        15_000,
        json!({"ShardIteratorType": "TRIM_HORIZON"}),
    );
    let (_, body) = call(
        &mut world,
        15_000,
        "GetRecords",
        json!({"ShardIterator": it, "Limit": 1}),
    );
    assert_eq!(
        body["MillisBehindLatest"], 3_000,
        "the next unread record arrived 3 s ago"
    );
    assert_eq!(
        body["Records"][0]["ApproximateArrivalTimestamp"],
        json!(1_767_225_610.0)
    );
    let next = body["NextShardIterator"]
        .as_str()
        .expect("next")
        .to_string();
    let (_, body) = read(&mut world, 16_000, &next);
    assert_eq!(body["MillisBehindLatest"], 0, "caught up");
}

#[test]
fn iterators_expire_after_five_minutes_and_survive_a_reload() {
    let mut world = world_with_stream(1);
    put(&mut world, 10_000, "a", b"1");
    let it = iterator(
        &mut world,
        20_000,
        json!({"ShardIteratorType": "TRIM_HORIZON"}),
    );
    // A saved session restored later still accepts the iterator.
    let saved = serde_json::to_string(&world).expect("serializes");
    let mut restored: World = serde_json::from_str(&saved).expect("restores");
    let (status, body) = read(&mut restored, 320_000, &it);
    assert_eq!(
        status, 200,
        "exactly 300,000 ms later the iterator still works: {body}"
    );
    assert_eq!(keys_of(&body), vec!["a"]);
    let (status, body) = read(&mut world, 320_001, &it);
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "ExpiredIteratorException");
    assert!(body["message"].as_str().is_some_and(|m| m.starts_with(
        "Iterator expired. The iterator was created at time Thu Jan 01 00:00:20 UTC 2026 while right now it is \
         Thu Jan 01 00:05:20 UTC 2026"
    )));
    let (status, body) = read(&mut world, 320_001, "AAAA");
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("InvalidArgumentException"))
    );
}

#[test]
fn records_vanish_when_retention_ends_and_memory_is_freed() {
    let mut world = world_with_stream(1);
    put(&mut world, 10_000, "old", b"1");
    put(&mut world, 10_000 + HOUR_MS, "new", b"2");
    let horizon = |world: &mut World, now: u64| {
        let it = iterator(world, now, json!({"ShardIteratorType": "TRIM_HORIZON"}));
        keys_of(&read(world, now, &it).1)
    };
    assert_eq!(
        horizon(&mut world, 10_000 + 24 * HOUR_MS - 1),
        vec!["old", "new"]
    );
    assert_eq!(
        horizon(&mut world, 10_000 + 24 * HOUR_MS),
        vec!["new"],
        "TRIM_HORIZON moves with retention"
    );
    let kept = world
        .streams()
        .shard_records("s", "shardId-000000000000")
        .expect("shard")
        .len();
    assert_eq!(kept, 1, "expired records are freed, not just hidden");

    let (status, body) = call(
        &mut world,
        10_000 + 24 * HOUR_MS,
        "IncreaseStreamRetentionPeriod",
        json!({"StreamName": "s", "RetentionPeriodHours": 48}),
    );
    assert_eq!((status, body), (200, Value::Null));
    put(&mut world, 20 * 24 * HOUR_MS, "late", b"3");
    assert_eq!(horizon(&mut world, 20 * 24 * HOUR_MS), vec!["late"]);
    let (status, _) = call(
        &mut world,
        21 * 24 * HOUR_MS,
        "DecreaseStreamRetentionPeriod",
        json!({"StreamName": "s", "RetentionPeriodHours": 24}),
    );
    assert_eq!(status, 200);
    assert!(
        horizon(&mut world, 21 * 24 * HOUR_MS).is_empty(),
        "decreasing retention drops older data at once"
    );
}

#[test]
fn list_shards_pages_with_a_token_that_expires() {
    let mut world = world_with_stream(5);
    let (_, page) = call(
        &mut world,
        10_000,
        "ListShards",
        json!({"StreamName": "s", "MaxResults": 2}),
    );
    assert_eq!(page["Shards"].as_array().map(Vec::len), Some(2));
    let token = page["NextToken"].as_str().expect("token").to_string();
    let (_, page2) = call(
        &mut world,
        20_000,
        "ListShards",
        json!({"NextToken": token, "MaxResults": 2}),
    );
    assert_eq!(page2["Shards"][0]["ShardId"], "shardId-000000000002");
    let (status, body) = call(
        &mut world,
        310_000,
        "ListShards",
        json!({"NextToken": token}),
    );
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ExpiredNextTokenException"))
    );
}

#[test]
fn huge_counts_are_refused_before_anything_is_allocated() {
    let mut world = World::new(WorldConfig::with_seed(1));
    let (status, body) = call(
        &mut world,
        0,
        "CreateStream",
        json!({"StreamName": "big", "ShardCount": 100_000_000_000u64}),
    );
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "LimitExceededException");
    let (status, body) = call(
        &mut world,
        0,
        "CreateStream",
        json!({"StreamName": "big", "ShardCount": 1_000_000_000_000_000_000u64}),
    );
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("LimitExceededException"))
    );
}

#[test]
fn explicit_hash_keys_pick_the_shard() {
    let mut world = world_with_stream(4);
    let (status, body) = call(
        &mut world,
        10_000,
        "PutRecord",
        json!({"StreamName": "s", "PartitionKey": "k", "Data": "AA==",
               "ExplicitHashKey": "340282366920938463463374607431768211455"}),
    );
    assert_eq!(status, 200);
    assert_eq!(body["ShardId"], "shardId-000000000003");
}

#[test]
fn sequence_number_for_ordering_accepts_issued_numbers_only() {
    let mut world = world_with_stream(2);
    let (_, first) = put(&mut world, 10_000, "k", b"1");
    let first_seq = first["SequenceNumber"].as_str().expect("seq").to_string();
    let (status, second) = call(
        &mut world,
        10_001,
        "PutRecord",
        json!({"StreamName": "s", "PartitionKey": "k", "Data": "Mg==", "SequenceNumberForOrdering": first_seq}),
    );
    assert_eq!(status, 200, "{second}");
    assert!(second["SequenceNumber"].as_str().expect("seq") > first_seq.as_str());
    let bogus = "4".repeat(56);
    let (status, body) = call(
        &mut world,
        10_002,
        "PutRecord",
        json!({"StreamName": "s", "PartitionKey": "k", "Data": "Mg==", "SequenceNumberForOrdering": bogus}),
    );
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidArgumentException");
}

#[test]
fn consumers_register_and_deregister_on_simulated_time_within_limits() {
    let mut world = world_with_stream(1);
    let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
    let register = |world: &mut World, now: u64, name: &str| {
        call(
            world,
            now,
            "RegisterStreamConsumer",
            json!({"StreamARN": arn, "ConsumerName": name}),
        )
    };
    let (status, body) = register(&mut world, 10_000, "c0");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["Consumer"]["ConsumerStatus"], "CREATING");
    let consumer_arn = body["Consumer"]["ConsumerARN"]
        .as_str()
        .expect("arn")
        .to_string();
    assert_eq!(consumer_arn, format!("{arn}/consumer/c0:1767225610"));
    for i in 1..5 {
        assert_eq!(register(&mut world, 10_000, &format!("c{i}")).0, 200);
    }
    let (status, body) = register(&mut world, 10_000, "c5");
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("LimitExceededException")),
        "five CREATING at most"
    );
    let (status, body) = register(&mut world, 10_000, "c0");
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ResourceInUseException"))
    );

    let (_, body) = call(
        &mut world,
        15_000,
        "DescribeStreamConsumer",
        json!({"ConsumerARN": consumer_arn}),
    );
    assert_eq!(
        body["ConsumerDescription"]["ConsumerStatus"], "ACTIVE",
        "ACTIVE after 5 simulated seconds"
    );
    assert_eq!(body["ConsumerDescription"]["StreamARN"], arn);
    for i in 5..20 {
        assert_eq!(
            register(&mut world, 20_000 + i * 10_000, &format!("c{i}")).0,
            200
        );
    }
    let (status, body) = register(&mut world, 400_000, "c20");
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("LimitExceededException")),
        "20 per stream"
    );
    let (_, body) = call(
        &mut world,
        400_000,
        "DescribeStreamSummary",
        json!({"StreamName": "s"}),
    );
    assert_eq!(body["StreamDescriptionSummary"]["ConsumerCount"], 20);
    let (_, page) = call(
        &mut world,
        400_000,
        "ListStreamConsumers",
        json!({"StreamARN": arn, "MaxResults": 15}),
    );
    assert_eq!(page["Consumers"].as_array().map(Vec::len), Some(15));
    let (_, rest) = call(
        &mut world,
        400_000,
        "ListStreamConsumers",
        json!({"StreamARN": arn, "NextToken": page["NextToken"]}),
    );
    assert_eq!(rest["Consumers"][0]["ConsumerName"], "c15");

    let (status, body) = call(
        &mut world,
        400_000,
        "DeleteStream",
        json!({"StreamName": "s"}),
    );
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ResourceInUseException")),
        "consumers block a delete"
    );
    let (status, _) = call(
        &mut world,
        400_000,
        "DeregisterStreamConsumer",
        json!({"StreamARN": arn, "ConsumerName": "c0"}),
    );
    assert_eq!(status, 200);
    let (_, body) = call(
        &mut world,
        400_001,
        "DescribeStreamConsumer",
        json!({"ConsumerARN": consumer_arn}),
    );
    assert_eq!(body["ConsumerDescription"]["ConsumerStatus"], "DELETING");
    let (status, body) = call(
        &mut world,
        405_000,
        "DescribeStreamConsumer",
        json!({"ConsumerARN": consumer_arn}),
    );
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ResourceNotFoundException")),
        "gone after 5 s"
    );
    let (status, _) = call(
        &mut world,
        405_000,
        "DeleteStream",
        json!({"StreamName": "s", "EnforceConsumerDeletion": true}),
    );
    assert_eq!(status, 200);
}
