//! Analytics applications as World actors: a producer writes a stream, a tumbling COUNT application reads it once
//! a second per shard and emits per-key rows at the window ends, writes them to a second stream readable with
//! GetRecords; schema discovery, a delivery-stream input, determinism and snapshots mid-run.
#![cfg(not(target_arch = "wasm32"))]

use kinesim::analytics::{ERROR_STREAM, InputSchema, SqlType, Value};
use kinesim::sim::SimTime;
use kinesim::workload::generator::{GeneratorSpec, KeyDistribution, Template};
use kinesim::world::{
    AnalyticsDestination, AnalyticsInput, AnalyticsOutput, AnalyticsStatus, OutputFormat,
};
use kinesim::{Command, EventKind, World, WorldConfig};
use serde_json::{Value as Json, json};

fn t(ms: u64) -> SimTime {
    SimTime::from_millis(ms)
}

fn call(world: &mut World, now: u64, op: &str, body: Json) -> Json {
    let r = world.kinesis(t(now), op, &body.to_string());
    assert_eq!(r.status, 200, "{op}: {}", r.body);
    serde_json::from_str(&r.body).unwrap_or(Json::Null)
}

const COUNT_SQL: &str = r#"CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("k" VARCHAR(16), "n" INTEGER);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "K", COUNT(*) FROM "SOURCE_SQL_STREAM_001"
  GROUP BY "K", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '10' SECOND);"#;

fn spec() -> GeneratorSpec {
    GeneratorSpec {
        keys: KeyDistribution::Sequential { keys: 2 },
        record_template: r#"{"k":"${key}","n":${n}}"#.into(),
        ..GeneratorSpec::from_template(Template::Clickstream)
    }
}

fn schema() -> InputSchema {
    InputSchema::json(&[
        ("K", SqlType::Varchar(16), "$.k"),
        ("N", SqlType::Bigint, "$.n"),
    ])
}

/// Streams `clicks` (input, 2 shards) and `counts` (output), a 10 records/s producer and the counting app.
fn setup(seed: u64, schema: Option<InputSchema>) -> World {
    let mut w = World::new(WorldConfig::with_seed(seed));
    call(
        &mut w,
        0,
        "CreateStream",
        json!({"StreamName": "clicks", "ShardCount": 2}),
    );
    call(
        &mut w,
        0,
        "CreateStream",
        json!({"StreamName": "counts", "ShardCount": 1}),
    );
    w.advance_to(t(20_000));
    w.apply(
        t(20_000),
        Command::CreateAnalyticsApplication {
            name: "per-key".into(),
            sql: COUNT_SQL.into(),
            input: AnalyticsInput::Stream {
                name: "clicks".into(),
            },
            schema,
            outputs: vec![AnalyticsOutput {
                stream: "DESTINATION_SQL_STREAM".into(),
                destination: AnalyticsDestination::DataStream {
                    name: "counts".into(),
                },
                format: OutputFormat::Json,
            }],
        },
    )
    .expect("created");
    w.apply(
        t(20_000),
        Command::StartProducer {
            name: "web".into(),
            stream: "clicks".into(),
            records_per_s: 10,
            spec: spec(),
        },
    )
    .expect("producer");
    w
}

/// (emit ms, key, count) of the app's DESTINATION_SQL_STREAM rows, oldest first.
fn rows(w: &World) -> Vec<(u64, String, i64)> {
    let app = &w.analytics_apps()["per-key"];
    let mut out: Vec<(u64, String, i64)> = app
        .recent_rows("DESTINATION_SQL_STREAM")
        .map(|r| {
            let k = r.columns[0].1.to_text();
            let n = match r.columns[1].1 {
                Value::Int(n) => n,
                _ => -1,
            };
            (r.emit_time.as_millis(), k, n)
        })
        .collect();
    out.reverse();
    out
}

#[test]
fn a_tumbling_count_emits_per_key_rows_at_the_window_ends() {
    let mut w = setup(7, Some(schema()));
    w.advance_to(t(45_000));
    let rows = rows(&w);
    let times: Vec<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(times, vec![30_000, 30_000, 40_000, 40_000], "{rows:?}");
    // Reads happen each second; ten reads of a steady 10 records/s fill a window with 100 records, half per key.
    let steady: Vec<(String, i64)> = rows[2..].iter().map(|r| (r.1.clone(), r.2)).collect();
    assert_eq!(
        steady,
        vec![("user-0".to_string(), 50), ("user-1".to_string(), 50)]
    );
    let app = &w.analytics_apps()["per-key"];
    assert_eq!(app.status(), AnalyticsStatus::Running);
    assert_eq!(app.counts().delivered, 4);
    assert_eq!(app.counts().rows_out["DESTINATION_SQL_STREAM"], 4);
    assert!(app.counts().records_in >= 200, "{:?}", app.counts());
    assert_eq!(app.recent_rows(ERROR_STREAM).count(), 0);
    // The world wakes for the next window end and the next read.
    assert!(w.poll_timeout().is_some_and(|d| d <= t(46_000)));
}

#[test]
fn rows_written_to_a_second_stream_read_back_with_get_records() {
    let mut w = setup(7, Some(schema()));
    w.advance_to(t(45_000));
    let shards = call(
        &mut w,
        45_000,
        "ListShards",
        json!({"StreamName": "counts"}),
    );
    let shard = shards["Shards"][0]["ShardId"].as_str().expect("a shard");
    let it = call(
        &mut w,
        45_000,
        "GetShardIterator",
        json!({"StreamName": "counts", "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
    );
    let got = call(
        &mut w,
        45_000,
        "GetRecords",
        json!({"ShardIterator": it["ShardIterator"]}),
    );
    use base64::Engine;
    let records: Vec<Json> = got["Records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            let data = base64::engine::general_purpose::STANDARD
                .decode(r["Data"].as_str().expect("data"))
                .expect("base64");
            serde_json::from_slice(&data).expect("a JSON row")
        })
        .collect();
    assert_eq!(records.len(), 4, "{records:?}");
    assert_eq!(records[2], json!({"k": "user-0", "n": 50}));
    assert_eq!(records[3], json!({"k": "user-1", "n": 50}));
}

#[test]
fn the_schema_is_discovered_from_the_first_records() {
    let mut w = setup(7, None);
    assert_eq!(
        w.analytics_apps()["per-key"].status(),
        AnalyticsStatus::Discovering
    );
    w.advance_to(t(45_000));
    let app = &w.analytics_apps()["per-key"];
    assert_eq!(app.status(), AnalyticsStatus::Running);
    let schema = app.schema().expect("discovered");
    let names: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["K", "N"]);
    assert_eq!(rows(&w), {
        let mut with = setup(7, Some(schema.clone()));
        with.advance_to(t(45_000));
        rows(&with)
    });
    assert!(w.events().any(|e| matches!(&e.kind,
        EventKind::Analytics { action, .. } if action == "schema discovered")));
}

#[test]
fn sql_that_cannot_run_is_refused_with_its_line_and_column() {
    let mut w = setup(7, None);
    let err = w
        .apply(
            t(20_000),
            Command::CreateAnalyticsApplication {
                name: "bad".into(),
                sql: "CREATE OR REPLACE STREAM \"D\" (a INTEGER);\nSELEKT 1;".into(),
                input: AnalyticsInput::Stream {
                    name: "clicks".into(),
                },
                schema: Some(schema()),
                outputs: vec![],
            },
        )
        .unwrap_err();
    assert!(err.message.contains("line 2"), "{err}");
    // Discovered later, the failure is the application's status and an event.
    w.apply(
        t(20_000),
        Command::CreateAnalyticsApplication {
            name: "bad-later".into(),
            sql: COUNT_SQL.replace("\"K\", COUNT", "\"NOPE\", COUNT"),
            input: AnalyticsInput::Stream {
                name: "clicks".into(),
            },
            schema: None,
            outputs: vec![],
        },
    )
    .expect("created; the schema is not known yet");
    w.advance_to(t(25_000));
    let app = &w.analytics_apps()["bad-later"];
    assert_eq!(app.status(), AnalyticsStatus::Failed);
    assert!(
        app.error().is_some_and(|e| e.line == 3),
        "{:?}",
        app.error()
    );
}

#[test]
fn stop_and_delete() {
    let mut w = setup(7, Some(schema()));
    w.advance_to(t(31_000));
    w.apply(
        t(31_000),
        Command::StopAnalyticsApplication {
            name: "per-key".into(),
        },
    )
    .expect("stopped");
    let before = rows(&w);
    w.advance_to(t(60_000));
    assert_eq!(rows(&w), before, "a stopped application emits nothing");
    w.apply(
        t(60_000),
        Command::DeleteAnalyticsApplication {
            name: "per-key".into(),
        },
    )
    .expect("deleted");
    assert!(w.analytics_apps().is_empty());
}

#[test]
fn a_delivery_stream_input_sees_what_firehose_accepts() {
    let mut w = World::new(WorldConfig::with_seed(3));
    let r = w.firehose(
        t(0),
        "CreateDeliveryStream",
        &json!({"DeliveryStreamName": "logs", "DeliveryStreamType": "DirectPut",
            "ExtendedS3DestinationConfiguration": {"BucketARN": "arn:aws:s3:::bucket",
                "RoleARN": "arn:aws:iam::123456789012:role/firehose"}})
        .to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    w.advance_to(t(10_000));
    w.apply(
        t(10_000),
        Command::CreateAnalyticsApplication {
            name: "fh".into(),
            sql: COUNT_SQL.into(),
            input: AnalyticsInput::DeliveryStream {
                name: "logs".into(),
            },
            schema: Some(schema()),
            outputs: vec![],
        },
    )
    .expect("created");
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for i in 0..3u64 {
        let body = json!({"DeliveryStreamName": "logs", "Records": [
            {"Data": b64(r#"{"k":"a","n":1}"#)}, {"Data": b64(r#"{"k":"b","n":1}"#)}]});
        let r = w.firehose(t(11_000 + i), "PutRecordBatch", &body.to_string());
        assert_eq!(r.status, 200, "{}", r.body);
    }
    w.advance_to(t(25_000));
    let app = &w.analytics_apps()["fh"];
    let got: Vec<(u64, String)> = app
        .recent_rows("DESTINATION_SQL_STREAM")
        .map(|r| (r.emit_time.as_millis(), r.to_json().to_string()))
        .collect();
    assert_eq!(
        got,
        vec![
            (20_000, r#"{"k":"b","n":3}"#.to_string()),
            (20_000, r#"{"k":"a","n":3}"#.to_string())
        ]
    );
}

fn run(seed: u64, snapshot_at: Option<u64>) -> String {
    let mut w = setup(seed, None);
    let mut now = 20_000;
    while now < 80_000 {
        now += 2_500;
        w.advance_to(t(now));
        if snapshot_at == Some(now) {
            let json = serde_json::to_string(&w).expect("serializes");
            w = serde_json::from_str(&json).expect("restores");
        }
    }
    w.event_log_hash()
}

#[test]
fn the_same_seed_gives_the_same_run_and_snapshots_change_nothing() {
    let a = run(11, None);
    assert_eq!(a, run(11, None));
    assert_eq!(a, run(11, Some(32_500)));
    assert_eq!(a, run(11, Some(45_000)));
}

/// Streams `clicks` and `counts` and the counting app on `clicks`, all created at 0 ms, while both streams are
/// still CREATING.
fn created_together(seed: u64) -> World {
    let mut w = World::new(WorldConfig::with_seed(seed));
    for (name, shards) in [("clicks", 2), ("counts", 1)] {
        call(
            &mut w,
            0,
            "CreateStream",
            json!({"StreamName": name, "ShardCount": shards}),
        );
    }
    w.apply(
        t(0),
        Command::CreateAnalyticsApplication {
            name: "per-key".into(),
            sql: COUNT_SQL.into(),
            input: AnalyticsInput::Stream {
                name: "clicks".into(),
            },
            schema: Some(schema()),
            outputs: vec![AnalyticsOutput {
                stream: "DESTINATION_SQL_STREAM".into(),
                destination: AnalyticsDestination::DataStream {
                    name: "counts".into(),
                },
                format: OutputFormat::Json,
            }],
        },
    )
    .expect("created on a stream that is still CREATING");
    w
}

#[test]
fn an_app_created_with_its_input_stream_reads_it_once_the_stream_is_active() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut w = created_together(5);
    assert!(w.analytics_apps()["per-key"].waits_for_input());
    // Past the creation delay (10 s): the stream is ACTIVE; records put at once are read, even those put before
    // the application's first look at the stream.
    w.advance_to(t(10_200));
    assert_eq!(
        call(
            &mut w,
            10_200,
            "DescribeStreamSummary",
            json!({"StreamName": "clicks"})
        )["StreamDescriptionSummary"]["StreamStatus"],
        "ACTIVE"
    );
    for (i, key) in ["a", "b", "a", "a", "b"].iter().enumerate() {
        call(
            &mut w,
            10_200,
            "PutRecord",
            json!({"StreamName": "clicks", "PartitionKey": format!("p{i}"),
                   "Data": b64(&format!(r#"{{"k":"{key}","n":{i}}}"#))}),
        );
    }
    w.advance_to(t(25_000));
    let app = &w.analytics_apps()["per-key"];
    assert!(!app.waits_for_input());
    assert_eq!(app.shard_reads().count(), 2);
    assert_eq!(app.counts().records_in, 5);
    let mut got = rows(&w);
    got.sort();
    assert_eq!(
        got,
        vec![(20_000, "a".to_string(), 3), (20_000, "b".to_string(), 2)]
    );
    assert_eq!(
        app.counts().delivered,
        2,
        "the rows reach the output stream"
    );
    assert!(w.events().any(
        |e| matches!(&e.kind, EventKind::Analytics { action, .. } if action == "input active")
    ));
    // Billed from its creation (it was started then and waited for its input), at one KPU: what it ran.
    assert_eq!(app.running_ms(t(25_000)), 25_000);
    assert_eq!(
        w.analytics_billing(),
        vec![("per-key".to_string(), 1, 25_000)]
    );
}

#[test]
fn an_app_waiting_for_its_input_stream_survives_a_snapshot() {
    let run = |snapshot_at: Option<u64>| {
        let mut w = created_together(6);
        w.apply(
            t(0),
            Command::StartProducer {
                name: "web".into(),
                stream: "clicks".into(),
                records_per_s: 10,
                spec: spec(),
            },
        )
        .expect("producer");
        let mut now = 0;
        while now < 40_000 {
            now += 2_500;
            w.advance_to(t(now));
            if snapshot_at == Some(now) {
                let json = serde_json::to_string(&w).expect("serializes");
                w = serde_json::from_str(&json).expect("restores");
            }
        }
        assert!(w.analytics_apps()["per-key"].counts().records_in > 0);
        w.event_log_hash()
    };
    let plain = run(None);
    assert_eq!(plain, run(Some(5_000)));
}
