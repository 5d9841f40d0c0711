//! The Firehose Redshift destination through the World: records are staged in S3 (keys and bodies as the S3
//! destination writes them), a manifest is written and a COPY loads the table (JSON 'auto', CSV, DELIMITER, GZIP);
//! a COPY that cannot parse its rows fails like Redshift's (stl_load_errors), is retried every 5 minutes within the
//! retry duration, then its manifest goes to `errors/manifests/`; no record is lost; the API shapes and their
//! validation; a SQL query over the loaded table; the cluster survives a snapshot round trip.
#![cfg(not(target_arch = "wasm32"))]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kinesim::analytics::Value as SqlValue;
use kinesim::firehose::metrics::FirehoseMetric;
use kinesim::firehose::service::FirehoseEventKind;
use kinesim::sim::SimTime;
use kinesim::{World, WorldConfig};
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::000000000000:role/firehose";
const JDBC: &str = "jdbc:redshift://demo.abc123.us-east-1.redshift.amazonaws.com:5439/dev";

fn t(ms: u64) -> SimTime {
    SimTime::from_millis(ms)
}

fn call(w: &mut World, now: u64, op: &str, body: Value) -> Value {
    let r = w.firehose(t(now), op, &body.to_string());
    assert_eq!(r.status, 200, "{op}: {}", r.body);
    serde_json::from_str(&r.body).unwrap_or(Value::Null)
}

fn call_err(w: &mut World, now: u64, op: &str, body: Value) -> (String, String) {
    let r = w.firehose(t(now), op, &body.to_string());
    assert_eq!(r.status, 400, "{op} should fail: {}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    (
        v["__type"].as_str().unwrap_or_default().to_string(),
        v["message"].as_str().unwrap_or_default().to_string(),
    )
}

fn redshift(copy: Value, compression: &str, retry_s: u32) -> Value {
    json!({
        "RoleARN": ROLE,
        "ClusterJDBCURL": JDBC,
        "CopyCommand": copy,
        "Username": "admin",
        "Password": "secret-password",
        "RetryOptions": {"DurationInSeconds": retry_s},
        "S3Configuration": {
            "RoleARN": ROLE,
            "BucketARN": "arn:aws:s3:::staging",
            "Prefix": "stage/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
            "CompressionFormat": compression,
        },
    })
}

fn world_with(name: &str, destination: Value) -> World {
    let mut w = World::new(WorldConfig::with_seed(7));
    call(
        &mut w,
        0,
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": name, "RedshiftDestinationConfiguration": destination}),
    );
    w.advance_to(t(5_000));
    w
}

fn put(w: &mut World, now: u64, name: &str, records: &[&str]) {
    let entries: Vec<Value> = records
        .iter()
        .map(|d| json!({"Data": STANDARD.encode(d.as_bytes())}))
        .collect();
    let r = call(
        w,
        now,
        "PutRecordBatch",
        json!({"DeliveryStreamName": name, "Records": entries}),
    );
    assert_eq!(r["FailedPutCount"], 0);
}

fn keys(w: &World, bucket: &str) -> Vec<String> {
    w.firehose_service()
        .s3()
        .bucket(bucket)
        .map(|b| b.objects.keys().cloned().collect())
        .unwrap_or_default()
}

fn query(w: &World, sql: &str) -> Vec<Vec<SqlValue>> {
    w.firehose_service()
        .redshift()
        .query(JDBC, sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .rows
}

#[test]
fn json_auto_stages_the_object_writes_a_manifest_and_copies_the_rows() {
    let mut w = world_with(
        "events",
        redshift(
            json!({"DataTableName": "public.events", "DataTableColumns": "page,ms,ok", "CopyOptions": "JSON 'auto'"}),
            "UNCOMPRESSED",
            3600,
        ),
    );
    put(
        &mut w,
        6_000,
        "events",
        &[
            r#"{"page":"/a","ms":12,"ok":true}"#,
            r#"{"page":"/b","ms":30,"ok":false}"#,
            r#"{"page":"/a","ms":18,"ok":true,"extra":1}"#,
        ],
    );
    w.advance_to(t(66_000));
    let keys = keys(&w, "staging");
    assert_eq!(keys.len(), 2, "{keys:?}");
    let object = keys
        .iter()
        .find(|k| !k.contains("manifests/"))
        .expect("staged object");
    // Same key format as the S3 destination: Prefix + UTC time folders + Name-Version-Timestamp-UUID.
    assert!(
        object.starts_with("stage/2026/01/01/00/events-1-2026-01-01-00-00-06-"),
        "{object}"
    );
    let body = &w
        .firehose_service()
        .s3()
        .get_object("staging", object)
        .expect("object")
        .body;
    assert_eq!(
        String::from_utf8_lossy(body),
        r#"{"page":"/a","ms":12,"ok":true}{"page":"/b","ms":30,"ok":false}{"page":"/a","ms":18,"ok":true,"extra":1}"#
    );
    let manifest = keys
        .iter()
        .find(|k| k.contains("manifests/"))
        .expect("manifest");
    assert!(
        manifest.starts_with("stage/manifests/2026/01/01/00/events-1-"),
        "{manifest}"
    );
    let m: Value = serde_json::from_slice(
        &w.firehose_service()
            .s3()
            .get_object("staging", manifest)
            .expect("manifest")
            .body,
    )
    .expect("manifest JSON");
    assert_eq!(m["entries"][0]["url"], format!("s3://staging/{object}"));
    assert_eq!(m["entries"][0]["mandatory"], true);

    let cluster = w
        .firehose_service()
        .redshift()
        .cluster(JDBC)
        .expect("cluster");
    let table = &cluster.tables["events"];
    let types: Vec<String> = table.columns.iter().map(|c| c.type_name()).collect();
    assert_eq!(types, ["varchar(65535)", "bigint", "boolean"]);
    assert_eq!(table.rows.len(), 3);
    assert_eq!(
        w.firehose_service()
            .metric_total("events", FirehoseMetric::DeliveryToRedshiftRecords),
        3
    );
    assert_eq!(
        w.firehose_service()
            .metric_total("events", FirehoseMetric::DeliveryToRedshiftSuccess),
        1
    );
    assert_eq!(
        w.firehose_service()
            .metric_total("events", FirehoseMetric::DeliveryToS3Records),
        3
    );
    assert!(
        w.firehose_service()
            .metric_total("events", FirehoseMetric::DeliveryToRedshiftBytes)
            > 0
    );

    // The analytics SQL engine queries the table.
    let rows = query(
        &w,
        "SELECT page, COUNT(*) AS n, SUM(ms) AS total FROM events WHERE ok GROUP BY page ORDER BY page",
    );
    assert_eq!(
        rows,
        vec![vec![
            SqlValue::Str("/a".into()),
            SqlValue::Int(2),
            SqlValue::Int(30)
        ]]
    );
}

#[test]
fn csv_with_gzip_and_a_delimiter_load() {
    let mut w = world_with(
        "csv",
        redshift(
            json!({"DataTableName": "sales", "DataTableColumns": "region,amount", "CopyOptions": "CSV GZIP"}),
            "GZIP",
            3600,
        ),
    );
    put(
        &mut w,
        6_000,
        "csv",
        &["eu,10\n", "\"us, east\",5\n", "eu,7\n"],
    );
    w.advance_to(t(66_000));
    let object = keys(&w, "staging")
        .into_iter()
        .find(|k| k.ends_with(".gz"))
        .expect("gzip staging object");
    assert!(object.starts_with("stage/2026/01/01/00/csv-1-"));
    let rows = query(
        &w,
        "SELECT region, SUM(amount) FROM sales GROUP BY region ORDER BY 1",
    );
    assert_eq!(
        rows,
        vec![
            vec![SqlValue::Str("eu".into()), SqlValue::Int(17)],
            vec![SqlValue::Str("us, east".into()), SqlValue::Int(5)],
        ]
    );

    let mut w = world_with(
        "pipes",
        redshift(
            json!({"DataTableName": "t", "DataTableColumns": "a,b", "CopyOptions": "DELIMITER ';'"}),
            "UNCOMPRESSED",
            3600,
        ),
    );
    put(&mut w, 6_000, "pipes", &["x;1\n", "y;2\n"]);
    w.advance_to(t(66_000));
    assert_eq!(
        query(&w, "SELECT COUNT(*), MAX(b) FROM t"),
        vec![vec![SqlValue::Int(2), SqlValue::Int(2)]]
    );
}

#[test]
fn a_gzip_object_without_the_gzip_option_fails_the_copy() {
    let mut w = world_with(
        "nogz",
        redshift(
            json!({"DataTableName": "t", "DataTableColumns": "a", "CopyOptions": "CSV"}),
            "GZIP",
            0,
        ),
    );
    put(&mut w, 6_000, "nogz", &["1\n"]);
    w.advance_to(t(66_000));
    let cluster = w
        .firehose_service()
        .redshift()
        .cluster(JDBC)
        .expect("cluster");
    assert_eq!(cluster.load_errors.len(), 1);
    assert_eq!(cluster.load_errors[0].err_code, 1220);
    assert!(
        keys(&w, "staging")
            .iter()
            .any(|k| k.starts_with("stage/errors/manifests/"))
    );
}

#[test]
fn parse_failures_are_retried_then_the_manifest_goes_to_errors_and_no_record_is_lost() {
    let mut w = world_with(
        "bad",
        redshift(
            json!({"DataTableName": "nums", "DataTableColumns": "n", "CopyOptions": "CSV"}),
            "UNCOMPRESSED",
            900,
        ),
    );
    // A first good batch creates the table with a bigint column.
    put(&mut w, 6_000, "bad", &["1\n", "2\n"]);
    w.advance_to(t(66_000));
    assert_eq!(
        query(&w, "SELECT COUNT(*) FROM nums"),
        vec![vec![SqlValue::Int(2)]]
    );
    // A batch with a row that is not an integer: the whole COPY fails (MAXERROR 0).
    put(&mut w, 70_000, "bad", &["3\n", "four\n", "5\n"]);
    w.advance_to(t(10_000_000));
    let events: Vec<FirehoseEventKind> = w.firehose_events().map(|e| e.kind.clone()).collect();
    let retries: Vec<SimTime> = events
        .iter()
        .filter_map(|k| match k {
            FirehoseEventKind::RedshiftCopyFailed {
                retry_at: Some(t), ..
            } => Some(*t),
            _ => None,
        })
        .collect();
    // First attempt at 130 s (the buffer's 60 s interval); retries every 300 s while inside the 900 s retry
    // duration counted from it: 430 s and 730 s; a fourth attempt at 1030 s would be past it, so the batch is
    // skipped at 730 s.
    assert_eq!(retries, vec![t(430_000), t(730_000)]);
    let skipped: Vec<&String> = events
        .iter()
        .filter_map(|k| match k {
            FirehoseEventKind::RedshiftCopyFailed {
                retry_at: None,
                failed_manifest_key: Some(key),
                message,
                ..
            } => {
                assert_eq!(
                    message,
                    "Load into table 'nums' failed.  Check 'stl_load_errors' system table for details."
                );
                Some(key)
            }
            _ => None,
        })
        .collect();
    assert_eq!(skipped.len(), 1);
    assert!(
        skipped[0].starts_with("stage/errors/manifests/2026/01/01/00/bad-1-"),
        "{}",
        skipped[0]
    );
    let failed: Value = serde_json::from_slice(
        &w.firehose_service()
            .s3()
            .get_object("staging", skipped[0])
            .expect("failed manifest")
            .body,
    )
    .expect("JSON");
    let url = failed["entries"][0]["url"].as_str().expect("url");
    let staged = url.strip_prefix("s3://staging/").expect("staging url");
    // No record lost: the skipped batch is still in its staged object, listed by the failed manifest.
    assert_eq!(
        w.firehose_service()
            .s3()
            .get_object("staging", staged)
            .expect("staged")
            .body,
        b"3\nfour\n5\n"
    );
    let cluster = w
        .firehose_service()
        .redshift()
        .cluster(JDBC)
        .expect("cluster");
    let e = cluster.load_errors.back().expect("a load error");
    assert_eq!(
        (e.line_number, e.colname.as_str(), e.err_code),
        (2, "n", 1207)
    );
    assert_eq!(e.raw_line, "four");
    assert_eq!(cluster.load_errors.len(), 3, "one entry per attempt");
    assert_eq!(
        query(&w, "SELECT COUNT(*) FROM nums"),
        vec![vec![SqlValue::Int(2)]]
    );
}

#[test]
fn maxerror_skips_bad_rows_and_loads_the_rest() {
    let mut w = world_with(
        "lenient",
        redshift(
            json!({"DataTableName": "j", "CopyOptions": "JSON 'auto' MAXERROR 1"}),
            "UNCOMPRESSED",
            3600,
        ),
    );
    put(
        &mut w,
        6_000,
        "lenient",
        &[r#"{"a":1}"#, "[1,2]", r#"{"a":3,"b":"x"}"#],
    );
    w.advance_to(t(66_000));
    // Without DataTableColumns the JSON keys name the new table's columns.
    let cluster = w
        .firehose_service()
        .redshift()
        .cluster(JDBC)
        .expect("cluster");
    let names: Vec<&str> = cluster.tables["j"]
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(cluster.load_errors.len(), 1);
    assert_eq!(
        query(&w, "SELECT a, b FROM j ORDER BY a"),
        vec![
            vec![SqlValue::Int(1), SqlValue::Null],
            vec![SqlValue::Int(3), SqlValue::Str("x".into())]
        ]
    );
}

#[test]
fn describe_returns_the_redshift_members_without_the_password_and_update_merges() {
    let mut w = world_with(
        "d",
        redshift(
            json!({"DataTableName": "t", "DataTableColumns": "a", "CopyOptions": "CSV"}),
            "UNCOMPRESSED",
            3600,
        ),
    );
    let d = call(
        &mut w,
        6_000,
        "DescribeDeliveryStream",
        json!({"DeliveryStreamName": "d"}),
    );
    let desc = &d["DeliveryStreamDescription"]["Destinations"][0]["RedshiftDestinationDescription"];
    assert_eq!(desc["ClusterJDBCURL"], JDBC);
    assert_eq!(desc["Username"], "admin");
    assert!(desc.get("Password").is_none());
    assert!(!d.to_string().contains("secret-password"));
    assert_eq!(
        desc["CopyCommand"],
        json!({"DataTableName": "t", "DataTableColumns": "a", "CopyOptions": "CSV"})
    );
    assert_eq!(desc["RetryOptions"]["DurationInSeconds"], 3600);
    assert_eq!(desc["S3BackupMode"], "Disabled");
    assert_eq!(
        desc["S3DestinationDescription"]["BucketARN"],
        "arn:aws:s3:::staging"
    );
    call(
        &mut w,
        7_000,
        "UpdateDestination",
        json!({
            "DeliveryStreamName": "d", "CurrentDeliveryStreamVersionId": "1",
            "DestinationId": "destinationId-000000000001",
            "RedshiftDestinationUpdate": {"RetryOptions": {"DurationInSeconds": 60},
                "CopyCommand": {"DataTableName": "t2", "CopyOptions": "JSON 'auto'"}},
        }),
    );
    let d = call(
        &mut w,
        8_000,
        "DescribeDeliveryStream",
        json!({"DeliveryStreamName": "d"}),
    );
    let desc = &d["DeliveryStreamDescription"]["Destinations"][0]["RedshiftDestinationDescription"];
    assert_eq!(d["DeliveryStreamDescription"]["VersionId"], "2");
    assert_eq!(desc["RetryOptions"]["DurationInSeconds"], 60);
    assert_eq!(
        desc["CopyCommand"],
        json!({"DataTableName": "t2", "CopyOptions": "JSON 'auto'"})
    );
    assert_eq!(desc["ClusterJDBCURL"], JDBC);
}

#[test]
fn create_validates_shapes_and_required_members() {
    let mut w = World::new(WorldConfig::with_seed(1));
    let create = |w: &mut World, d: Value| {
        call_err(
            w,
            0,
            "CreateDeliveryStream",
            json!({"DeliveryStreamName": "x", "RedshiftDestinationConfiguration": d}),
        )
    };
    let good = redshift(json!({"DataTableName": "t"}), "UNCOMPRESSED", 3600);
    let mut d = good.clone();
    d.as_object_mut().expect("object").remove("CopyCommand");
    let (ty, msg) = create(&mut w, d);
    assert_eq!(ty, "ValidationException");
    assert!(
        msg.contains("redshiftDestinationConfiguration.copyCommand"),
        "{msg}"
    );
    let mut d = good.clone();
    d["ClusterJDBCURL"] = json!("jdbc:mysql://nope:1/x");
    let (ty, msg) = create(&mut w, d);
    assert_eq!(ty, "ValidationException");
    assert!(msg.contains("clusterJDBCURL"), "{msg}");
    let mut d = good.clone();
    d["Password"] = json!("short");
    assert!(create(&mut w, d).1.contains("password"));
    let mut d = good.clone();
    d["RetryOptions"] = json!({"DurationInSeconds": 7201});
    assert!(
        create(&mut w, d)
            .1
            .contains("retryOptions.durationInSeconds")
    );
    let mut d = good.clone();
    d.as_object_mut().expect("object").remove("Username");
    d.as_object_mut().expect("object").remove("Password");
    assert_eq!(create(&mut w, d).0, "InvalidArgumentException");
    let mut d = good.clone();
    d["S3Configuration"]["CompressionFormat"] = json!("ZIP");
    let (ty, msg) = create(&mut w, d);
    assert_eq!(ty, "InvalidArgumentException");
    assert!(msg.contains("SNAPPY or ZIP"), "{msg}");
    // Secrets Manager instead of a user name and password.
    let mut d = good.clone();
    d.as_object_mut().expect("object").remove("Username");
    d.as_object_mut().expect("object").remove("Password");
    d["SecretsManagerConfiguration"] = json!({"Enabled": true,
        "SecretARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:rs-AbCdEf"});
    call(
        &mut w,
        0,
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": "ok", "RedshiftDestinationConfiguration": d}),
    );
}

#[test]
fn the_cluster_survives_a_snapshot_round_trip() {
    let mut w = world_with(
        "snap",
        redshift(
            json!({"DataTableName": "s", "DataTableColumns": "k,v", "CopyOptions": "CSV"}),
            "UNCOMPRESSED",
            3600,
        ),
    );
    put(&mut w, 6_000, "snap", &["a,1\n", "b,2.5\n"]);
    w.advance_to(t(66_000));
    // Snapshots are the World's JSON (Session.snapshot(), the IndexedDB and --state snapshots).
    let json_snapshot = serde_json::to_string(&w).expect("JSON snapshot");
    let back: World = serde_json::from_str(&json_snapshot).expect("JSON restore");
    assert_eq!(back.firehose_service(), w.firehose_service());
    assert_eq!(
        query(&back, "SELECT SUM(v), COUNT(*) FROM s"),
        vec![vec![SqlValue::Double(3.5), SqlValue::Int(2)]]
    );
}
