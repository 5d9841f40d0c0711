//! Firehose sources as World actors, started and stopped by journaled commands: a CloudWatch Logs subscription
//! (the CONTROL_MESSAGE first, then gzip-compressed DATA_MESSAGEs that the Decompression and CloudWatchLogProcessing
//! processors unwrap into the log lines) and an AWS IoT rule (its SELECT result plus separator per message), both
//! counted against the Direct PUT quotas; the same seed gives the same event log; a stopped source sends nothing.
#![cfg(not(target_arch = "wasm32"))]

use kinesim::firehose::gzip;
use kinesim::firehose::sources::{CloudWatchLogsSource, SubscriptionMessage};
use kinesim::sim::{SimRng, SimTime};
use kinesim::world::{CWL_DESTINATION_NOT_ACTIVE_MESSAGE, FIREHOSE_SOURCE_TICK_MS};
use kinesim::{Command, ErrorKind, EventKind, World, WorldConfig};
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::000000000000:role/firehose";
/// Delivery streams are ACTIVE by then.
const READY_MS: u64 = 10_000;

fn t(ms: u64) -> SimTime {
    SimTime::from_millis(ms)
}

/// A Direct PUT delivery stream to bucket `bucket` with `interval_s` and optional processors.
fn create(w: &mut World, name: &str, bucket: &str, interval_s: u32, processors: Option<Value>) {
    let mut dest = json!({
        "RoleARN": ROLE, "BucketARN": format!("arn:aws:s3:::{bucket}"),
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": interval_s},
    });
    if let Some(p) = processors {
        dest["ProcessingConfiguration"] = json!({"Enabled": true, "Processors": p});
    }
    let body = json!({"DeliveryStreamName": name, "ExtendedS3DestinationConfiguration": dest});
    let r = w.firehose(w.now(), "CreateDeliveryStream", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The bucket's objects in key order (keys begin with the delivery time).
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

fn cwl(name: &str, delivery: &str, events_per_s: u32) -> Command {
    Command::StartCloudWatchLogsSubscription {
        name: name.into(),
        delivery_stream: delivery.into(),
        log_group: "/aws/lambda/checkout".into(),
        log_stream: "2026/01/01/[$LATEST]abc".into(),
        filter_name: None,
        events_per_s,
    }
}

fn source_events(w: &World, source: &str) -> Vec<(u64, String, String)> {
    w.events()
        .filter_map(|e| match &e.kind {
            EventKind::FirehoseSource {
                source: s,
                action,
                detail,
            } if s == source => Some((e.at.as_millis(), action.clone(), detail.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_control_message_goes_first_then_gzip_compressed_data_messages() {
    let mut w = World::new(WorldConfig::with_seed(7));
    // Interval 0: each record is its own object, so the objects show the records as Firehose received them.
    create(&mut w, "logs", "raw", 0, None);
    w.advance_to(t(READY_MS));
    w.apply(t(READY_MS), cwl("cwl", "logs", 3)).expect("starts");
    w.advance_to(t(READY_MS + 2_500));
    let objs = objects(&w, "raw");
    assert_eq!(
        objs.len(),
        3,
        "control message + two data messages: {objs:?}"
    );
    let messages: Vec<SubscriptionMessage> = objs
        .iter()
        .map(|(k, body)| {
            assert!(gzip::is_gzip(body), "{k} is gzip");
            SubscriptionMessage::from_record(body).expect("gzip JSON")
        })
        .collect();
    assert_eq!(messages[0].message_type, "CONTROL_MESSAGE");
    assert_eq!(messages[0].owner, "CloudwatchLogs");
    assert_eq!(
        messages[0].log_events[0].message,
        "CWL CONTROL MESSAGE: Checking health of destination Firehose."
    );
    for m in &messages[1..] {
        assert_eq!(m.message_type, "DATA_MESSAGE");
        assert_eq!(m.log_group, "/aws/lambda/checkout");
        assert_eq!(m.subscription_filters, vec!["to-firehose".to_string()]);
        assert_eq!(
            m.log_events.len(),
            3,
            "one message a second with its 3 events"
        );
    }
    let entry = &w.firehose_sources()["cwl"];
    assert!(entry.running() && entry.stats.control_message_sent);
    assert_eq!(entry.stats.records_sent, 3);
    assert_eq!(entry.stats.calls, 3);
    assert_eq!(entry.stats.produced, 6);
    let actions: Vec<String> = source_events(&w, "cwl")
        .into_iter()
        .map(|(_, a, _)| a)
        .collect();
    assert_eq!(actions, ["started", "control message", "sent", "sent"]);
}

#[test]
fn decompression_and_cloudwatch_log_processing_deliver_the_log_lines() {
    let seed = 11;
    let mut w = World::new(WorldConfig::with_seed(seed));
    let processors = json!([
        {"Type": "Decompression", "Parameters": [{"ParameterName": "CompressionFormat", "ParameterValue": "GZIP"}]},
        {"Type": "CloudWatchLogProcessing", "Parameters": [{"ParameterName": "DataMessageExtraction", "ParameterValue": "true"}]},
    ]);
    create(&mut w, "logs", "lines", 60, Some(processors));
    w.advance_to(t(READY_MS));
    w.apply(t(READY_MS), cwl("cwl", "logs", 5)).expect("starts");
    let ticks = 10u64;
    w.advance_to(t(READY_MS + ticks * FIREHOSE_SOURCE_TICK_MS));
    w.apply(w.now(), Command::StopFirehoseSource { name: "cwl".into() })
        .expect("stops");
    w.advance_to(t(READY_MS + 120_000));
    let body: Vec<u8> = objects(&w, "lines")
        .into_iter()
        .flat_map(|(_, b)| b)
        .collect();
    let text = String::from_utf8(body).expect("plain text after decompression");
    // The same generator, forked from the same seed, makes the same lines, tick by tick.
    let mut expected = CloudWatchLogsSource::new(
        SimRng::new(seed).fork("firehose-source/cwl"),
        "000000000000",
        "/aws/lambda/checkout",
        "2026/01/01/[$LATEST]abc",
        "to-firehose",
    );
    let epoch = w.config().epoch.unix_ms;
    let mut lines = String::new();
    for tick in 1..=ticks {
        let start = epoch + READY_MS + (tick - 1) * FIREHOSE_SOURCE_TICK_MS;
        for e in expected.generate_events(start, 5) {
            lines.push_str(&e.message);
            lines.push('\n');
        }
    }
    assert_eq!(text, lines, "every log line, in order, no control message");
    assert!(!text.contains("CONTROL MESSAGE"));
    assert_eq!(text.lines().count(), 50);
}

#[test]
fn an_iot_rule_delivers_its_select_result_with_the_separator() {
    let mut w = World::new(WorldConfig::with_seed(3));
    create(&mut w, "iot", "telemetry", 60, None);
    w.advance_to(t(READY_MS));
    w.apply(
        t(READY_MS),
        Command::StartIotRule {
            name: "rule".into(),
            delivery_stream: "iot".into(),
            topic: "sensors/telemetry".into(),
            sql: Some("SELECT deviceId, temperature FROM 'sensors/+'".into()),
            messages_per_s: 20,
            devices: Some(4),
            separator: None,
            batch_mode: false,
        },
    )
    .expect("starts");
    // A rule whose filter does not match the topic forwards nothing.
    w.apply(
        t(READY_MS),
        Command::StartIotRule {
            name: "other".into(),
            delivery_stream: "iot".into(),
            topic: "sensors/telemetry".into(),
            sql: Some("SELECT * FROM 'machines/#'".into()),
            messages_per_s: 20,
            devices: None,
            separator: None,
            batch_mode: false,
        },
    )
    .expect("starts");
    w.advance_to(t(READY_MS + 5_000));
    assert_eq!(w.firehose_sources()["rule"].stats.records_sent, 100);
    assert_eq!(
        w.firehose_sources()["rule"].stats.calls,
        100,
        "one PutRecord per message"
    );
    assert_eq!(w.firehose_sources()["other"].stats.records_sent, 0);
    assert_eq!(w.firehose_sources()["other"].stats.produced, 100);
    for name in ["rule", "other"] {
        w.apply(w.now(), Command::StopFirehoseSource { name: name.into() })
            .expect("stops");
    }
    w.advance_to(t(READY_MS + 120_000));
    let body: Vec<u8> = objects(&w, "telemetry")
        .into_iter()
        .flat_map(|(_, b)| b)
        .collect();
    let text = String::from_utf8(body).expect("JSON lines");
    assert_eq!(text.lines().count(), 100);
    assert!(
        text.ends_with('\n'),
        "the action's separator follows each payload"
    );
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("a JSON payload");
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["deviceId", "temperature"], "{line}");
        assert!(
            v["deviceId"]
                .as_str()
                .is_some_and(|d| d.starts_with("sensor-000"))
        );
    }
}

#[test]
fn iot_messages_count_against_the_direct_put_quotas() {
    let mut w = World::new(WorldConfig::with_seed(4));
    create(&mut w, "iot", "b", 60, None);
    w.advance_to(t(READY_MS));
    for (name, batch_mode) in [("single", false), ("batched", true)] {
        w.apply(
            t(READY_MS),
            Command::StartIotRule {
                name: name.into(),
                delivery_stream: "iot".into(),
                topic: "t".into(),
                sql: None,
                messages_per_s: 3_000,
                devices: None,
                separator: None,
                batch_mode,
            },
        )
        .expect("starts");
    }
    w.advance_to(t(READY_MS + FIREHOSE_SOURCE_TICK_MS));
    // 3,000 PutRecord calls in one second: 2,000 requests per second pass, the rest are "Slow down.".
    let single = &w.firehose_sources()["single"].stats;
    assert_eq!(single.calls, 3_000);
    assert_eq!(single.records_sent, 2_000);
    assert_eq!(single.records_throttled, 1_000);
    assert!(
        single
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("Slow down."))
    );
    // Batch mode: 6 PutRecordBatch calls of 500, but the requests quota is already spent this second.
    let batched = &w.firehose_sources()["batched"].stats;
    assert_eq!(batched.calls, 6);
    assert_eq!(batched.records_throttled, 3_000);
    w.apply(
        w.now(),
        Command::StopFirehoseSource {
            name: "single".into(),
        },
    )
    .expect("stops");
    // Alone, six requests a second carry all 3,000 records.
    w.advance_to(t(READY_MS + 3 * FIREHOSE_SOURCE_TICK_MS));
    let batched = &w.firehose_sources()["batched"].stats;
    assert_eq!(batched.calls, 18);
    assert_eq!(batched.records_sent, 6_000, "{batched:?}");
}

#[test]
fn same_seed_same_event_log_and_a_snapshot_continues_the_run() {
    let run = |seed: u64| {
        let mut w = World::new(WorldConfig::with_seed(seed));
        create(&mut w, "logs", "x", 5, None);
        w.advance_to(t(READY_MS));
        w.apply(t(READY_MS), cwl("cwl", "logs", 40))
            .expect("starts");
        w.apply(
            t(READY_MS),
            Command::StartIotRule {
                name: "rule".into(),
                delivery_stream: "logs".into(),
                topic: "a/b".into(),
                sql: None,
                messages_per_s: 7,
                devices: None,
                separator: Some(",".into()),
                batch_mode: true,
            },
        )
        .expect("starts");
        // Past the 5 s interval: a flush writes an object whose key has Firehose's random string.
        w.advance_to(t(READY_MS + 8_000));
        w
    };
    let mut a = run(21);
    let b = run(21);
    assert_eq!(a.event_log_hash(), b.event_log_hash());
    assert_ne!(a.event_log_hash(), run(22).event_log_hash());
    // The sources are part of the persisted state: a snapshot taken mid-run continues exactly.
    let snapshot = serde_json::to_string(&a).expect("serialises");
    let mut restored: World = serde_json::from_str(&snapshot).expect("restores");
    a.advance_to(t(READY_MS + 20_000));
    restored.advance_to(t(READY_MS + 20_000));
    assert_eq!(a.event_log_hash(), restored.event_log_hash());
    assert_eq!(
        a.firehose_sources()["cwl"].stats,
        restored.firehose_sources()["cwl"].stats
    );
}

#[test]
fn a_stopped_source_sends_nothing_more() {
    let mut w = World::new(WorldConfig::with_seed(5));
    create(&mut w, "logs", "x", 60, None);
    w.advance_to(t(READY_MS));
    w.apply(t(READY_MS), cwl("cwl", "logs", 2)).expect("starts");
    w.advance_to(t(READY_MS + 3_000));
    w.apply(w.now(), Command::StopFirehoseSource { name: "cwl".into() })
        .expect("stops");
    let stats = w.firehose_sources()["cwl"].stats.clone();
    assert_eq!(stats.records_sent, 4, "control message + 3 data messages");
    let events = source_events(&w, "cwl").len();
    w.advance_to(t(READY_MS + 60_000));
    assert_eq!(w.firehose_sources()["cwl"].stats, stats);
    assert!(!w.firehose_sources()["cwl"].running());
    assert_eq!(source_events(&w, "cwl").len(), events);
    let last = source_events(&w, "cwl").pop().expect("events");
    assert_eq!(last.1, "stopped");
    assert!(
        last.2.starts_with("4 records sent in 4 calls"),
        "{}",
        last.2
    );
    let err = w
        .apply(w.now(), Command::StopFirehoseSource { name: "cwl".into() })
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ResourceNotFoundException);
    // The name is free again: a new source of that name starts over.
    w.apply(w.now(), cwl("cwl", "logs", 1)).expect("restarts");
    assert_eq!(w.firehose_sources()["cwl"].stats.records_sent, 1);
}

#[test]
fn bad_starts_are_refused_with_a_reason() {
    let mut w = World::new(WorldConfig::with_seed(1));
    let err = w.apply(t(0), cwl("cwl", "nope", 1)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ResourceNotFoundException);
    create(&mut w, "logs", "x", 60, None);
    // Still CREATING: PutSubscriptionFilter's test message cannot be delivered.
    let err = w.apply(w.now(), cwl("cwl", "logs", 1)).unwrap_err();
    assert_eq!(err.message, CWL_DESTINATION_NOT_ACTIVE_MESSAGE);
    w.advance_to(t(READY_MS));
    let err = w.apply(w.now(), cwl("cwl", "logs", 0)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgumentException);
    let err = w.apply(w.now(), cwl("cwl", "logs", 10_001)).unwrap_err();
    assert!(err.message.contains("1 to 10000"), "{err}");
    let iot = |sql: &str, topic: &str, separator: &str| Command::StartIotRule {
        name: "r".into(),
        delivery_stream: "logs".into(),
        topic: topic.into(),
        sql: Some(sql.into()),
        messages_per_s: 1,
        devices: None,
        separator: Some(separator.into()),
        batch_mode: false,
    };
    for (cmd, needle) in [
        (iot("SELECT * FROM 'a' WHERE x > 1", "a", "\n"), "WHERE"),
        (iot("SELECT a.b FROM 'a'", "a", "\n"), "field"),
        (iot("DELETE FROM 'a'", "a", "\n"), "SELECT"),
        (iot("SELECT * FROM 'a'", "a/+", "\n"), "topic"),
        (iot("SELECT * FROM 'a'", "a", "|"), "separator"),
    ] {
        let err = w.apply(w.now(), cmd).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgumentException);
        assert!(err.message.contains(needle), "{needle}: {err}");
    }
    w.apply(w.now(), cwl("cwl", "logs", 1)).expect("starts");
    let err = w.apply(w.now(), cwl("cwl", "logs", 1)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ResourceInUseException);
    // Every refusal is in the event log.
    let rejected = w
        .events()
        .filter(|e| matches!(e.kind, EventKind::Rejected { .. }))
        .count();
    assert_eq!(rejected, 10);
}
