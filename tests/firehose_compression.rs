//! ZIP, Snappy and HADOOP_SNAPPY objects through the Firehose API: keys end in `.zip` / `.snappy` as Firehose
//! writes them, Describe reports the format, and each body decodes back to exactly the delivered records (a ZIP
//! with one entry named after the object, a Snappy framing-format stream, a Hadoop Snappy block stream). A custom
//! FileExtension replaces the default one; UpdateDestination switches the format for later objects.
#![cfg(not(target_arch = "wasm32"))]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kinesim::firehose::compression::{unhadoop_snappy, unsnappy_framed, unzip};
use kinesim::sim::SimTime;
use kinesim::{World, WorldConfig};
use serde_json::{Value, json};

const LIMIT_BYTES: u64 = 1 << 26;

fn t(ms: u64) -> SimTime {
    SimTime::from_millis(ms)
}

fn call(w: &mut World, now: u64, op: &str, body: Value) -> Value {
    let r = w.firehose(t(now), op, &body.to_string());
    assert_eq!(r.status, 200, "{op}: {}", r.body);
    serde_json::from_str(&r.body).unwrap_or(Value::Null)
}

fn world_with(name: &str, format: &str, extension: Option<&str>) -> World {
    let mut w = World::new(WorldConfig::with_seed(11));
    let mut d = json!({
        "RoleARN": "arn:aws:iam::000000000000:role/firehose",
        "BucketARN": "arn:aws:s3:::compressed",
        "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 0},
        "CompressionFormat": format,
        "ProcessingConfiguration": {"Enabled": true, "Processors": [
            {"Type": "AppendDelimiterToRecord", "Parameters": []}]},
    });
    if let Some(ext) = extension {
        d["FileExtension"] = json!(ext);
    }
    call(
        &mut w,
        0,
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": name, "ExtendedS3DestinationConfiguration": d}),
    );
    w.advance_to(t(5_000));
    w
}

fn records() -> Vec<String> {
    (0..2_000)
        .map(|i| format!("{{\"n\":{i},\"page\":\"/p/{}\"}}", i % 13))
        .collect()
}

fn put_all(w: &mut World, now: u64, name: &str) {
    for chunk in records().chunks(500) {
        let entries: Vec<Value> = chunk
            .iter()
            .map(|r| json!({"Data": STANDARD.encode(r)}))
            .collect();
        let r = call(
            w,
            now,
            "PutRecordBatch",
            json!({"DeliveryStreamName": name, "Records": entries}),
        );
        assert_eq!(r["FailedPutCount"], 0);
    }
}

fn expected() -> Vec<u8> {
    records()
        .iter()
        .flat_map(|r| format!("{r}\n").into_bytes())
        .collect()
}

fn objects(w: &World) -> Vec<(String, Vec<u8>)> {
    w.firehose_service()
        .s3()
        .bucket("compressed")
        .map(|b| {
            b.objects
                .iter()
                .map(|(k, o)| (k.clone(), o.body.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn describe_format(w: &mut World, name: &str) -> Value {
    let d = call(
        w,
        w.now().as_millis(),
        "DescribeDeliveryStream",
        json!({"DeliveryStreamName": name}),
    );
    d["DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
        ["CompressionFormat"]
        .clone()
}

fn delivered(w: &World, decode: impl Fn(&str, &[u8]) -> Vec<u8>) -> Vec<u8> {
    let objs = objects(w);
    assert_eq!(objs.len(), 4, "interval 0: one object per call");
    objs.iter().fold(Vec::new(), |mut all, (k, body)| {
        all.extend(decode(k, body));
        all
    })
}

fn sorted_by_records(mut bytes: Vec<u8>) -> Vec<String> {
    // Objects are listed by key, which orders them by time and then by random id: compare record sets.
    let text = String::from_utf8(std::mem::take(&mut bytes)).expect("UTF-8");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

fn expected_sorted() -> Vec<String> {
    sorted_by_records(expected())
}

#[test]
fn zip_objects_hold_one_entry_named_after_the_object() {
    let mut w = world_with("zipped", "ZIP", None);
    put_all(&mut w, 5_000, "zipped");
    assert_eq!(describe_format(&mut w, "zipped"), "ZIP");
    let all = delivered(&w, |key, body| {
        assert!(key.ends_with(".zip"), "{key}");
        assert_eq!(&body[..4], b"PK\x03\x04");
        let entries = unzip(body, LIMIT_BYTES).expect("a valid ZIP");
        assert_eq!(entries.len(), 1);
        let file = key.rsplit('/').next().unwrap_or(key);
        assert_eq!(format!("{}.zip", entries[0].0), file);
        entries[0].1.clone()
    });
    assert_eq!(sorted_by_records(all), expected_sorted());
}

#[test]
fn snappy_objects_are_the_framing_format() {
    let mut w = world_with("snappy", "Snappy", None);
    put_all(&mut w, 5_000, "snappy");
    assert_eq!(describe_format(&mut w, "snappy"), "Snappy");
    let all = delivered(&w, |key, body| {
        assert!(key.ends_with(".snappy"), "{key}");
        assert_eq!(&body[..10], b"\xff\x06\x00\x00sNaPpY");
        unsnappy_framed(body, LIMIT_BYTES).expect("a valid Snappy stream")
    });
    assert_eq!(sorted_by_records(all), expected_sorted());
}

#[test]
fn hadoop_snappy_objects_are_hadoop_block_streams() {
    let mut w = world_with("hadoop", "HADOOP_SNAPPY", None);
    put_all(&mut w, 5_000, "hadoop");
    assert_eq!(describe_format(&mut w, "hadoop"), "HADOOP_SNAPPY");
    let all = delivered(&w, |key, body| {
        assert!(key.ends_with(".snappy"), "{key}");
        let raw = unhadoop_snappy(body, LIMIT_BYTES).expect("a valid Hadoop Snappy stream");
        // The first 4 bytes are the uncompressed length of the (only) frame, big-endian.
        assert_eq!(
            &body[..4],
            &u32::try_from(raw.len()).expect("small").to_be_bytes()
        );
        raw
    });
    assert_eq!(sorted_by_records(all), expected_sorted());
}

#[test]
fn a_file_extension_replaces_the_default_and_updates_switch_the_format() {
    let mut w = world_with("custom", "ZIP", Some(".archive.zip"));
    put_all(&mut w, 5_000, "custom");
    assert!(objects(&w).iter().all(|(k, _)| k.ends_with(".archive.zip")));
    let d = call(
        &mut w,
        6_000,
        "DescribeDeliveryStream",
        json!({"DeliveryStreamName": "custom"}),
    );
    let version = d["DeliveryStreamDescription"]["VersionId"].clone();
    call(
        &mut w,
        6_000,
        "UpdateDestination",
        json!({"DeliveryStreamName": "custom", "CurrentDeliveryStreamVersionId": version,
               "DestinationId": "destinationId-000000000001",
               "ExtendedS3DestinationUpdate": {"CompressionFormat": "Snappy", "FileExtension": ".snappy"}}),
    );
    call(
        &mut w,
        7_000,
        "PutRecord",
        json!({"DeliveryStreamName": "custom", "Record": {"Data": STANDARD.encode("late")}}),
    );
    let objs = objects(&w);
    let snappy: Vec<_> = objs
        .iter()
        .filter(|(k, _)| k.ends_with(".snappy"))
        .collect();
    assert_eq!(snappy.len(), 1);
    assert_eq!(
        unsnappy_framed(&snappy[0].1, LIMIT_BYTES).expect("Snappy"),
        b"late\n"
    );
    // An unknown format is refused by the model's enum.
    let r = w.firehose(
        t(8_000),
        "CreateDeliveryStream",
        &json!({"DeliveryStreamName": "bad", "ExtendedS3DestinationConfiguration": {
            "RoleARN": "arn:aws:iam::000000000000:role/firehose",
            "BucketARN": "arn:aws:s3:::compressed", "CompressionFormat": "BROTLI"}})
        .to_string(),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type, Some("ValidationException"));
}
