//! Direct PUT throughput quotas through the Firehose API: 5 MiB/s, 2,000 requests/s and 500,000 records/s per
//! delivery stream (us-east-1). Over them PutRecord fails with `ServiceUnavailableException` "Slow down." (HTTP
//! 503) and PutRecordBatch reports that code and message per entry, counted in `FailedPutCount`; throttled records
//! are never delivered, accepted ones all are.
#![cfg(not(target_arch = "wasm32"))]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kinesim::firehose::metrics::FirehoseMetric;
use kinesim::firehose::service::MIB_BYTES;
use kinesim::firehose::throughput::{
    DIRECT_PUT_BYTES_PER_S_MAX, DIRECT_PUT_REQUESTS_PER_S_MAX, SLOW_DOWN_MESSAGE,
};
use kinesim::sim::SimTime;
use kinesim::{World, WorldConfig};
use serde_json::{Value, json};

const NAME: &str = "quota";

fn t(ms: u64) -> SimTime {
    SimTime::from_millis(ms)
}

fn world() -> World {
    let mut w = World::new(WorldConfig::with_seed(7));
    let r = w.firehose(
        t(0),
        "CreateDeliveryStream",
        &json!({
            "DeliveryStreamName": NAME,
            "ExtendedS3DestinationConfiguration": {
                "RoleARN": "arn:aws:iam::000000000000:role/firehose",
                "BucketARN": "arn:aws:s3:::quota-bucket",
                "BufferingHints": {"SizeInMBs": 128, "IntervalInSeconds": 60},
            },
        })
        .to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    w.advance_to(t(10_000));
    w
}

fn batch(w: &mut World, now: u64, records: usize, bytes_each: usize) -> (u16, Value) {
    let data = STANDARD.encode(vec![b'x'; bytes_each]);
    let entries: Vec<Value> = (0..records).map(|_| json!({"Data": data})).collect();
    let r = w.firehose(
        t(now),
        "PutRecordBatch",
        &json!({"DeliveryStreamName": NAME, "Records": entries}).to_string(),
    );
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

#[test]
fn bytes_over_5_mib_per_second_fail_per_entry_with_slow_down() {
    let mut w = world();
    // 4 batches of 4 x 320 KiB = 1.25 MiB each: 5 MiB in the same second, all accepted.
    let size = (320 * 1024) as usize;
    for i in 0..4 {
        let (status, body) = batch(&mut w, 10_000 + i * 100, 4, size);
        assert_eq!(status, 200);
        assert_eq!(body["FailedPutCount"], 0, "batch {i}");
    }
    assert_eq!(5 * MIB_BYTES, DIRECT_PUT_BYTES_PER_S_MAX);
    // The fifth batch in that second: no room left, every entry reports the throttle.
    let (status, body) = batch(&mut w, 10_900, 3, size);
    assert_eq!(status, 200);
    assert_eq!(body["FailedPutCount"], 3);
    for entry in body["RequestResponses"].as_array().expect("a list") {
        assert_eq!(entry["ErrorCode"], "ServiceUnavailableException");
        assert_eq!(entry["ErrorMessage"], SLOW_DOWN_MESSAGE);
        assert!(entry.get("RecordId").is_none());
    }
    // PutRecord in the same second: the whole call fails with HTTP 503.
    let r = w.firehose(
        t(10_950),
        "PutRecord",
        &json!({"DeliveryStreamName": NAME, "Record": {"Data": STANDARD.encode(b"late")}})
            .to_string(),
    );
    assert_eq!(r.status, 503);
    let body: Value = serde_json::from_str(&r.body).expect("JSON");
    assert_eq!(body["__type"], "ServiceUnavailableException");
    assert_eq!(body["message"], "Slow down.");
    // One second after the first batch it has left the window: 1.25 MiB fits again.
    let (_, body) = batch(&mut w, 11_000, 4, size);
    assert_eq!(body["FailedPutCount"], 0);
    // At 11,150 the batch of 10,100 has left: a batch that half fits: the first entries get ids, the rest are throttled, in order.
    let (_, body) = batch(&mut w, 11_150, 8, size);
    assert_eq!(body["FailedPutCount"], 4);
    let entries = body["RequestResponses"].as_array().expect("a list");
    assert!(entries[..4].iter().all(|e| e["RecordId"].is_string()));
    assert!(
        entries[4..]
            .iter()
            .all(|e| e["ErrorMessage"] == "Slow down.")
    );
    let service = w.firehose_service();
    assert_eq!(
        service.metric_total(NAME, FirehoseMetric::ThrottledRecords),
        3 + 1 + 4
    );
    assert_eq!(
        service.metric_total(NAME, FirehoseMetric::IncomingRecords),
        16 + 4 + 4
    );
}

#[test]
fn requests_over_2000_per_second_fail_whole_with_slow_down() {
    let mut w = world();
    for i in 0..DIRECT_PUT_REQUESTS_PER_S_MAX {
        let (status, body) = batch(&mut w, 20_000 + i / 4, 1, 10);
        assert_eq!(status, 200, "request {i}: {body}");
    }
    let (status, body) = batch(&mut w, 20_999, 1, 10);
    assert_eq!(status, 503);
    assert_eq!(body["__type"], "ServiceUnavailableException");
    assert_eq!(body["message"], "Slow down.");
    // The first 4 requests were at 20,000 ms: at 21,000 they leave the window.
    let (status, _) = batch(&mut w, 21_000, 1, 10);
    assert_eq!(status, 200);
}

#[test]
fn accepted_records_are_delivered_and_throttled_ones_are_not() {
    let mut w = world();
    let size = 1_000_000;
    let mut accepted = 0;
    for i in 0..8 {
        let (_, body) = batch(&mut w, 10_000 + i * 10, 1, size);
        if body["FailedPutCount"] == 0 {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 5);
    w.advance_to(t(200_000));
    let delivered = w
        .firehose_service()
        .metric_total(NAME, FirehoseMetric::DeliveryToS3Records);
    assert_eq!(delivered, 5);
}
