//! Firehose behaviour through the World: buffering by size and by interval, keys as Firehose writes them, GZIP
//! bodies, the Kinesis data stream source, UpdateDestination versions, and properties: every accepted record is
//! delivered exactly once, in order; no object overshoots the size hint by more than one record; no record waits
//! past the interval.
#![cfg(not(target_arch = "wasm32"))]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kinesim::firehose::metrics::FirehoseMetric;
use kinesim::firehose::service::{FirehoseEventKind, FlushReason};
use kinesim::sim::SimTime;
use kinesim::{World, WorldConfig};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::io::Read;

const ROLE: &str = "arn:aws:iam::000000000000:role/firehose";

fn t(ms: u64) -> SimTime {
    SimTime::from_millis(ms)
}

fn call(w: &mut World, now: u64, op: &str, body: Value) -> Value {
    let r = w.firehose(t(now), op, &body.to_string());
    assert_eq!(r.status, 200, "{op}: {}", r.body);
    serde_json::from_str(&r.body).unwrap_or(Value::Null)
}

fn create(w: &mut World, name: &str, destination: Value) {
    call(
        w,
        w.now().as_millis(),
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": name, "ExtendedS3DestinationConfiguration": destination}),
    );
    let active = w.now().as_millis() + 5_000;
    w.advance_to(t(active));
}

fn destination(size_mib: u32, interval_s: u32) -> Value {
    json!({
        "RoleARN": ROLE,
        "BucketARN": "arn:aws:s3:::bucket-1",
        "BufferingHints": {"SizeInMBs": size_mib, "IntervalInSeconds": interval_s},
    })
}

fn put_batch(w: &mut World, now: u64, name: &str, records: &[Vec<u8>]) -> Vec<String> {
    let entries: Vec<Value> = records
        .iter()
        .map(|d| json!({"Data": STANDARD.encode(d)}))
        .collect();
    let r = call(
        w,
        now,
        "PutRecordBatch",
        json!({"DeliveryStreamName": name, "Records": entries}),
    );
    assert_eq!(r["FailedPutCount"], 0);
    r["RequestResponses"]
        .as_array()
        .expect("RequestResponses is a list")
        .iter()
        .map(|e| e["RecordId"].as_str().expect("a RecordId").to_string())
        .collect()
}

fn objects(w: &World, bucket: &str) -> Vec<(String, Vec<u8>)> {
    w.firehose_service()
        .s3()
        .bucket(bucket)
        .map(|b| {
            b.objects
                .iter()
                .map(|(k, o)| (k.clone(), o.body.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn flushes(w: &World) -> Vec<(u64, FlushReason, u64)> {
    w.firehose_events()
        .filter_map(|event| match &event.kind {
            FirehoseEventKind::Flushed {
                reason, records, ..
            } => Some((event.at.as_millis(), *reason, *records)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_interval_flushes_one_object_with_the_default_key() {
    let mut w = World::new(WorldConfig::with_seed(1));
    create(&mut w, "orders", destination(5, 60));
    let ids = put_batch(&mut w, 5_000, "orders", &[b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    assert_eq!(
        w.poll_timeout(),
        Some(t(65_000)),
        "the buffer is due 60 s after its first record"
    );
    w.advance_to(t(64_999));
    assert!(objects(&w, "bucket-1").is_empty());
    w.advance_to(t(200_000));
    let objs = objects(&w, "bucket-1");
    assert_eq!(objs.len(), 1);
    let (key, body) = &objs[0];
    assert_eq!(body, b"ab");
    assert!(
        key.starts_with("2026/01/01/00/orders-1-2026-01-01-00-00-05-"),
        "{key}"
    );
    assert_eq!(
        key.len(),
        "2026/01/01/00/orders-1-2026-01-01-00-00-05-".len() + 36
    );
    assert_eq!(flushes(&w), vec![(65_000, FlushReason::BufferInterval, 2)]);
    let fh = w.firehose_service();
    assert_eq!(
        fh.metric_total("orders", FirehoseMetric::IncomingRecords),
        2
    );
    assert_eq!(
        fh.metric_total("orders", FirehoseMetric::DeliveryToS3Records),
        2
    );
    assert_eq!(
        fh.metric_total("orders", FirehoseMetric::DeliveryToS3Success),
        1
    );
    assert_eq!(
        fh.metric_total("orders", FirehoseMetric::DeliveryToS3DataFreshness),
        60_000
    );
}

#[test]
fn a_world_with_delivery_streams_round_trips_through_a_json_snapshot() {
    // `Session.snapshot()` is JSON: every map in the Firehose state must have keys JSON can hold.
    let mut w = World::new(WorldConfig::with_seed(1));
    create(&mut w, "orders", destination(5, 60));
    put_batch(&mut w, 5_000, "orders", &[b"a".to_vec(), b"b".to_vec()]);
    w.advance_to(t(30_000));
    let snapshot =
        serde_json::to_string(&w).expect("a world with a delivery stream serializes to JSON");
    let mut restored: World = serde_json::from_str(&snapshot).expect("the snapshot restores");
    w.advance_to(t(200_000));
    restored.advance_to(t(200_000));
    assert_eq!(objects(&restored, "bucket-1"), objects(&w, "bucket-1"));
    assert_eq!(restored.event_log_hash(), w.event_log_hash());
    assert_eq!(
        restored
            .firehose_service()
            .metric_total("orders", FirehoseMetric::IncomingRecords),
        2
    );
}

#[test]
fn the_size_hint_flushes_as_soon_as_it_is_reached() {
    let mut w = World::new(WorldConfig::with_seed(2));
    create(&mut w, "big", destination(1, 900));
    let record = vec![b'x'; 300 * 1024];
    put_batch(
        &mut w,
        6_000,
        "big",
        &[record.clone(), record.clone(), record.clone()],
    );
    assert!(objects(&w, "bucket-1").is_empty(), "900 KiB < 1 MiB");
    put_batch(&mut w, 7_000, "big", &[record.clone(), record.clone()]);
    let objs = objects(&w, "bucket-1");
    assert_eq!(objs.len(), 1, "the fourth record reached 1 MiB");
    assert_eq!(objs[0].1.len(), 4 * 300 * 1024);
    assert_eq!(
        flushes(&w),
        vec![(7_000, FlushReason::BufferSize, 4)],
        "the fifth record opens a new buffer"
    );
}

#[test]
fn gzip_objects_are_real_gzip_with_a_gz_extension_and_delimiters() {
    let mut w = World::new(WorldConfig::with_seed(3));
    let mut d = destination(5, 0);
    d["CompressionFormat"] = json!("GZIP");
    d["ProcessingConfiguration"] = json!({"Enabled": true, "Processors": [{"Type": "AppendDelimiterToRecord", "Parameters": []}]});
    create(&mut w, "gz", d);
    put_batch(
        &mut w,
        5_000,
        "gz",
        &[b"{\"a\":1}".to_vec(), b"{\"a\":2}".to_vec()],
    );
    let objs = objects(&w, "bucket-1");
    assert_eq!(
        objs.len(),
        1,
        "interval 0 delivers each call at once, as one object"
    );
    assert!(objs.iter().all(|(k, _)| k.ends_with(".gz")));
    let mut all = String::new();
    for (_, body) in &objs {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .unwrap();
        all.push_str(&text);
    }
    assert_eq!(all.lines().count(), 2);
    assert!(all.contains("{\"a\":1}\n") && all.contains("{\"a\":2}\n"));
}

#[test]
fn custom_prefixes_evaluate_expressions_at_the_oldest_arrival() {
    let mut w = World::new(WorldConfig::with_seed(4));
    let mut d = destination(5, 60);
    d["Prefix"] = json!("year=!{timestamp:yyyy}/month=!{timestamp:MM}/!{firehose:random-string}/");
    d["ErrorOutputPrefix"] = json!("errors/!{firehose:error-output-type}/");
    create(&mut w, "custom", d);
    put_batch(&mut w, 3_600_000, "custom", &[b"x".to_vec()]);
    w.advance_to(t(4_000_000));
    let objs = objects(&w, "bucket-1");
    assert_eq!(objs.len(), 1);
    let key = &objs[0].0;
    assert!(key.starts_with("year=2026/month=01/"), "{key}");
    let rest = &key["year=2026/month=01/".len()..];
    assert_eq!(
        rest.find('/'),
        Some(11),
        "an 11-character random string: {key}"
    );
    assert!(
        rest[12..].starts_with("custom-1-2026-01-01-01-00-00-"),
        "{key}"
    );
}

#[test]
fn prefix_rules_are_enforced() {
    let mut w = World::new(WorldConfig::with_seed(5));
    let mut d = destination(5, 60);
    d["Prefix"] = json!("!{timestamp:yyyy}/");
    let r = w.firehose(
        t(0),
        "CreateDeliveryStream",
        &json!({"DeliveryStreamName": "p", "ExtendedS3DestinationConfiguration": d}).to_string(),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type, Some("InvalidArgumentException"));
    assert!(r.body.contains("ErrorOutputPrefix"), "{}", r.body);
}

#[test]
fn update_destination_checks_the_version_and_bumps_it() {
    let mut w = World::new(WorldConfig::with_seed(6));
    create(&mut w, "u", destination(5, 300));
    put_batch(&mut w, 6_000, "u", &[b"old".to_vec()]);
    let body = |version: &str| {
        json!({"DeliveryStreamName": "u", "CurrentDeliveryStreamVersionId": version,
               "DestinationId": "destinationId-000000000001",
               "ExtendedS3DestinationUpdate": {"Prefix": "v2/"}})
        .to_string()
    };
    let r = w.firehose(t(7_000), "UpdateDestination", &body("2"));
    assert_eq!(
        r.error_type,
        Some("ConcurrentModificationException"),
        "{}",
        r.body
    );
    let r = w.firehose(t(7_000), "UpdateDestination", &body("1"));
    assert_eq!(r.status, 200, "{}", r.body);
    let d = call(
        &mut w,
        7_000,
        "DescribeDeliveryStream",
        json!({"DeliveryStreamName": "u"}),
    );
    let desc = &d["DeliveryStreamDescription"];
    assert_eq!(desc["VersionId"], "2");
    assert_eq!(
        desc["Destinations"][0]["ExtendedS3DestinationDescription"]["Prefix"],
        "v2/"
    );
    put_batch(&mut w, 8_000, "u", &[b"new".to_vec()]);
    w.advance_to(t(400_000));
    let keys: Vec<String> = objects(&w, "bucket-1")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys[0].starts_with("2026/01/01/00/u-1-"),
        "buffered records go under the old version: {keys:?}"
    );
    assert!(keys[1].starts_with("v2/2026/01/01/00/u-2-"), "{keys:?}");
}

#[test]
fn lifecycle_creating_active_deleting_gone() {
    let mut w = World::new(WorldConfig::with_seed(7));
    call(
        &mut w,
        0,
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": "l", "S3DestinationConfiguration": destination(5, 300)}),
    );
    let status = |w: &mut World, now: u64| {
        let r = w.firehose(
            t(now),
            "DescribeDeliveryStream",
            &json!({"DeliveryStreamName": "l"}).to_string(),
        );
        serde_json::from_str::<Value>(&r.body).unwrap()["DeliveryStreamDescription"]["DeliveryStreamStatus"].clone()
    };
    assert_eq!(status(&mut w, 0), "CREATING");
    let r = w.firehose(
        t(1),
        "PutRecord",
        &json!({"DeliveryStreamName": "l", "Record": {"Data": "eA=="}}).to_string(),
    );
    assert_eq!(r.error_type, Some("ResourceInUseException"));
    assert_eq!(status(&mut w, 5_000), "ACTIVE");
    let r = call(
        &mut w,
        5_000,
        "PutRecord",
        json!({"DeliveryStreamName": "l", "Record": {"Data": "eA=="}}),
    );
    assert_eq!(r["Encrypted"], false);
    call(
        &mut w,
        6_000,
        "DeleteDeliveryStream",
        json!({"DeliveryStreamName": "l"}),
    );
    assert_eq!(
        objects(&w, "bucket-1").len(),
        1,
        "deleting delivers what was buffered"
    );
    assert_eq!(status(&mut w, 6_000), "DELETING");
    let r = w.firehose(
        t(20_000),
        "DescribeDeliveryStream",
        &json!({"DeliveryStreamName": "l"}).to_string(),
    );
    assert_eq!(r.error_type, Some("ResourceNotFoundException"));
    assert_eq!(
        serde_json::from_str::<Value>(&r.body).unwrap()["message"],
        "Firehose l under account 000000000000 not found."
    );
}

#[test]
fn a_kinesis_source_is_read_from_latest_and_refuses_direct_puts() {
    let mut w = World::new(WorldConfig::with_seed(8));
    let k = |w: &mut World, now: u64, op: &str, body: Value| {
        let r = w.kinesis(t(now), op, &body.to_string());
        assert_eq!(r.status, 200, "{op}: {}", r.body);
    };
    k(
        &mut w,
        0,
        "CreateStream",
        json!({"StreamName": "src", "ShardCount": 2}),
    );
    w.advance_to(t(30_000));
    for i in 0..3 {
        k(
            &mut w,
            30_000,
            "PutRecord",
            json!({"StreamName": "src", "PartitionKey": format!("k{i}"), "Data": STANDARD.encode(format!("before{i}"))}),
        );
    }
    call(
        &mut w,
        30_000,
        "CreateDeliveryStream",
        json!({
        "DeliveryStreamName": "fromk", "DeliveryStreamType": "KinesisStreamAsSource",
        "KinesisStreamSourceConfiguration": {"KinesisStreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/src", "RoleARN": ROLE},
        "ExtendedS3DestinationConfiguration": destination(5, 60)}),
    );
    let r = w.firehose(
        t(30_000),
        "PutRecord",
        &json!({"DeliveryStreamName": "fromk", "Record": {"Data": "eA=="}}).to_string(),
    );
    assert_eq!(r.error_type, Some("InvalidArgumentException"));
    assert!(r.body.contains(
        "This operation is not permitted on KinesisStreamAsSource delivery stream type."
    ));
    w.advance_to(t(40_000));
    for i in 0..4 {
        k(
            &mut w,
            40_000,
            "PutRecord",
            json!({"StreamName": "src", "PartitionKey": format!("k{i}"), "Data": STANDARD.encode(format!("after{i};"))}),
        );
    }
    w.advance_to(t(200_000));
    let objs = objects(&w, "bucket-1");
    assert_eq!(objs.len(), 1, "{objs:?}");
    let body = String::from_utf8(objs[0].1.clone()).unwrap();
    assert!(!body.contains("before"), "reading starts at LATEST: {body}");
    assert_eq!(body.matches("after").count(), 4, "{body}");
    let missing = w.firehose(t(200_000), "CreateDeliveryStream", &json!({
        "DeliveryStreamName": "nope", "DeliveryStreamType": "KinesisStreamAsSource",
        "KinesisStreamSourceConfiguration": {"KinesisStreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/none", "RoleARN": ROLE},
        "ExtendedS3DestinationConfiguration": destination(5, 60)}).to_string());
    assert_eq!(missing.error_type, Some("InvalidArgumentException"));
}

#[test]
fn runs_are_deterministic_and_slicing_does_not_change_them() {
    let run = |step_ms: u64| {
        let mut w = World::new(WorldConfig::with_seed(42));
        create(&mut w, "d", destination(1, 60));
        for i in 0..50u64 {
            put_batch(
                &mut w,
                5_000 + i * 7_000,
                "d",
                &[vec![b'a' + (i % 26) as u8; 40_000]],
            );
        }
        let mut now = w.now().as_millis();
        while now < 1_000_000 {
            now += step_ms;
            w.advance_to(t(now));
        }
        (objects(&w, "bucket-1"), w.event_count())
    };
    let a = run(1_000);
    let b = run(333_333);
    assert_eq!(a.0, b.0);
    assert!(!a.0.is_empty());
}

fn delivered_in_order(w: &World, bucket: &str) -> Vec<Vec<u8>> {
    // The World's Firehose log lists deliveries in the order they happened.
    let b = w
        .firehose_service()
        .s3()
        .bucket(bucket)
        .expect("the bucket exists");
    w.firehose_events()
        .filter_map(|event| match &event.kind {
            FirehoseEventKind::DeliveredToS3 { key, .. } => Some(b.objects[key].body.clone()),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn every_record_is_delivered_once_in_order_within_the_hints(
        puts in proptest::collection::vec((0u64..20_000, 1usize..6, 1usize..200_000), 1..40),
        interval_s in 0u32..120,
        seed in 0u64..1_000,
    ) {
        let mut w = World::new(WorldConfig::with_seed(seed));
        create(&mut w, "p", destination(1, interval_s));
        let mut now = w.now().as_millis();
        let mut sent: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut n = 0u32;
        for (gap, count, size) in puts {
            now += gap;
            let records: Vec<Vec<u8>> = (0..count).map(|_| {
                n += 1;
                let mut r = format!("<{n}>").into_bytes();
                r.resize(size.min(300_000), b'.');
                r
            }).collect();
            put_batch(&mut w, now, "p", &records);
            sent.extend(records.into_iter().map(|r| (now, r)));
        }
        w.advance_to(t(now + u64::from(interval_s) * 1_000 + 1));
        let bodies = delivered_in_order(&w, "bucket-1");
        let joined: Vec<u8> = bodies.concat();
        let expected: Vec<u8> = sent.iter().flat_map(|(_, r)| r.clone()).collect();
        prop_assert_eq!(joined.len(), expected.len());
        prop_assert!(joined == expected, "records delivered once each, in order");
        let largest = sent.iter().map(|(_, r)| r.len()).max().unwrap_or(0) as u64;
        for b in &bodies {
            prop_assert!((b.len() as u64) < 1_048_576 + largest, "an object overshoots by at most one record");
        }
        // No record waits past the interval: each flush happened at most interval after its buffer opened.
        let fh = w.firehose_service();
        prop_assert_eq!(fh.metric_total("p", FirehoseMetric::IncomingRecords), sent.len() as u64);
        prop_assert!(fh.metric_total("p", FirehoseMetric::DeliveryToS3DataFreshness) <= u64::from(interval_s) * 1_000);
    }
}

#[test]
fn dynamic_partitioning_writes_one_object_per_partition_and_failures_to_the_error_prefix() {
    let mut w = World::new(WorldConfig::with_seed(9));
    let mut d = destination(64, 60);
    d["Prefix"] = json!("customer=!{partitionKeyFromQuery:customer}/");
    d["ErrorOutputPrefix"] = json!("errors/!{firehose:error-output-type}/");
    d["DynamicPartitioningConfiguration"] = json!({"Enabled": true});
    d["ProcessingConfiguration"] = json!({"Enabled": true, "Processors": [
        {"Type": "MetadataExtraction", "Parameters": [
            {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{customer:.c}"},
            {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
        {"Type": "AppendDelimiterToRecord", "Parameters": []}]});
    create(&mut w, "parts", d);
    put_batch(
        &mut w,
        6_000,
        "parts",
        &[
            b"{\"c\":\"a\",\"n\":1}".to_vec(),
            b"{\"c\":\"b\",\"n\":2}".to_vec(),
            b"not json".to_vec(),
            b"{\"c\":\"a\",\"n\":3}".to_vec(),
        ],
    );
    w.advance_to(t(100_000));
    let objs = objects(&w, "bucket-1");
    let keys: Vec<&str> = objs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(objs.len(), 3, "{keys:?}");
    let body_of = |prefix: &str| {
        objs.iter()
            .find(|(k, _)| k.starts_with(prefix))
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    assert_eq!(
        body_of("customer=a/"),
        "{\"c\":\"a\",\"n\":1}\n{\"c\":\"a\",\"n\":3}\n"
    );
    assert_eq!(body_of("customer=b/"), "{\"c\":\"b\",\"n\":2}\n");
    let error: Value = serde_json::from_str(body_of("errors/partitioning-failed/").trim()).unwrap();
    assert_eq!(error["rawData"], STANDARD.encode("not json"));
    assert_eq!(
        error["errorCode"],
        "DynamicPartitioning.MetadataExtractionFailed"
    );
}

#[test]
fn a_lambda_transform_is_a_pending_invocation_the_shell_completes() {
    use kinesim::firehose::transform::InvocationOutcome;
    let mut w = World::new(WorldConfig::with_seed(10));
    let mut d = destination(5, 60);
    d["ProcessingConfiguration"] = json!({"Enabled": true, "Processors": [{"Type": "Lambda", "Parameters": [
        {"ParameterName": "LambdaArn", "ParameterValue": "arn:aws:lambda:us-east-1:000000000000:function:up"},
        {"ParameterName": "NumberOfRetries", "ParameterValue": "1"}]}]});
    create(&mut w, "lam", d);
    put_batch(
        &mut w,
        6_000,
        "lam",
        &[b"a".to_vec(), b"b".to_vec(), b"c".to_vec()],
    );
    w.advance_to(t(70_000));
    assert!(
        objects(&w, "bucket-1").is_empty(),
        "waiting for the function"
    );
    let request = w
        .firehose_service_mut()
        .poll_transform()
        .expect("an invocation");
    assert_eq!(request.records.len(), 3);
    assert_eq!(request.attempt, 1);
    let event: Value = serde_json::from_str(&request.event_json).unwrap();
    assert_eq!(event["invocationId"], request.invocation_id.as_str());
    assert_eq!(event["records"].as_array().map(Vec::len), Some(3));
    // A function error first: retried (NumberOfRetries 1) under a fresh invocation id.
    w.firehose_service_mut()
        .complete_transform(
            t(70_000),
            "lam",
            &request.invocation_id,
            InvocationOutcome::FunctionError,
        )
        .unwrap();
    let retry = w.firehose_service_mut().poll_transform().expect("a retry");
    assert_eq!(retry.attempt, 2);
    assert_ne!(retry.invocation_id, request.invocation_id);
    let ids: Vec<&str> = retry.records.iter().map(|r| r.0.as_str()).collect();
    let answer = json!({"records": [
        {"recordId": ids[0], "result": "Ok", "data": STANDARD.encode("A")},
        {"recordId": ids[1], "result": "Dropped", "data": ""},
        {"recordId": ids[2], "result": "ProcessingFailed", "data": STANDARD.encode("c")},
    ]})
    .to_string();
    w.firehose_service_mut()
        .complete_transform(
            t(71_000),
            "lam",
            &retry.invocation_id,
            InvocationOutcome::Returned(answer.as_bytes()),
        )
        .unwrap();
    let objs = objects(&w, "bucket-1");
    assert_eq!(objs.len(), 2, "{objs:?}");
    assert!(objs.iter().any(|(_, b)| b == b"A"));
    assert!(
        objs.iter()
            .any(|(k, _)| k.starts_with("processing-failed/2026/01/01/00/lam-1-"))
    );
}
