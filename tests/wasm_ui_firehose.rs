//! Component logic of the Firehose and S3 pages, in headless Chromium: buffer fill against the hints, the create
//! form's request body, the S3 prefix tree, breadcrumbs and previews. Run with `cargo test --target
//! wasm32-unknown-unknown --test wasm_ui_firehose`.
#![cfg(all(target_arch = "wasm32", feature = "ui"))]

use kinesim::firehose::gzip;
use kinesim::ui::firehose::{BufferFill, CreateForm, fill_fraction, test_records_body};
use kinesim::ui::s3::{Preview, breadcrumbs, download_name, level, preview};
use serde_json::Value;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn fill_fractions_are_clamped_and_safe_with_a_zero_hint() {
    assert_eq!(fill_fraction(0, 100), 0.0);
    assert_eq!(fill_fraction(50, 100), 0.5);
    assert_eq!(fill_fraction(500, 100), 1.0);
    assert_eq!(fill_fraction(5, 0), 0.0);
}

#[wasm_bindgen_test]
fn buffer_fill_takes_the_fullest_buffer_and_the_oldest_first_record() {
    // (records, bytes, opened at ms); an empty buffer does not count.
    let fill = BufferFill::measure(
        [(3, 1_048_576, 10_000), (2, 524_288, 40_000), (0, 0, 0)],
        70_000,
        4,
        60,
    );
    assert_eq!(fill.records, 5);
    assert_eq!(fill.bytes, 1_048_576);
    assert_eq!(fill.size_hint_bytes, 4 * 1_048_576);
    assert_eq!(fill.size_fraction(), 0.25);
    assert_eq!(fill.age_ms, 60_000);
    assert_eq!(fill.interval_fraction(), 1.0);
    assert_eq!(fill.interval_left_ms(), Some(0));
    let empty = BufferFill::measure([], 70_000, 5, 300);
    assert_eq!(empty.interval_fraction(), 0.0);
    assert_eq!(empty.interval_left_ms(), None);
    // A zero interval hint flushes at once: no division by zero.
    assert_eq!(
        BufferFill::measure([(1, 10, 0)], 5, 1, 0).interval_fraction(),
        0.0
    );
}

#[wasm_bindgen_test]
fn the_create_form_builds_the_api_body_and_refuses_only_non_numbers() {
    let mut form = CreateForm {
        gzip: true,
        partition_query: "{customer: .customer}".into(),
        prefix: "c=!{partitionKeyFromQuery:customer}/".into(),
        error_prefix: "errors/!{firehose:error-output-type}/".into(),
        ..CreateForm::default()
    };
    let body: Value = serde_json::from_str(&form.body().expect("a body")).expect("JSON");
    assert_eq!(body["DeliveryStreamType"], "DirectPut");
    let d = &body["ExtendedS3DestinationConfiguration"];
    assert_eq!(d["BucketARN"], "arn:aws:s3:::training-bucket");
    assert_eq!(d["BufferingHints"]["IntervalInSeconds"], 60);
    assert_eq!(d["CompressionFormat"], "GZIP");
    assert_eq!(d["DynamicPartitioningConfiguration"]["Enabled"], true);
    let types: Vec<&str> = d["ProcessingConfiguration"]["Processors"]
        .as_array()
        .expect("processors")
        .iter()
        .filter_map(|p| p["Type"].as_str())
        .collect();
    assert_eq!(types, ["MetadataExtraction", "AppendDelimiterToRecord"]);
    form.source_stream = "clicks".into();
    let body: Value = serde_json::from_str(&form.body().expect("a body")).expect("JSON");
    assert_eq!(body["DeliveryStreamType"], "KinesisStreamAsSource");
    assert!(
        body["KinesisStreamSourceConfiguration"]["KinesisStreamARN"]
            .as_str()
            .is_some_and(|a| a.ends_with(":stream/clicks"))
    );
    // Out of range is AWS's to answer; not a number cannot be sent.
    form.interval_seconds = "5000".into();
    assert!(form.body().is_ok());
    form.interval_seconds = "soon".into();
    assert!(form.body().is_err_and(|m| m.contains("whole number")));
}

#[wasm_bindgen_test]
fn test_records_are_a_put_record_batch_of_at_most_500() {
    let body: Value = serde_json::from_str(&test_records_body("d", 9_999, 0)).expect("JSON");
    assert_eq!(body["Records"].as_array().map(Vec::len), Some(500));
    assert_eq!(body["DeliveryStreamName"], "d");
}

#[wasm_bindgen_test]
fn the_prefix_tree_rolls_keys_up_at_the_next_slash() {
    let keys = [
        ("2026/01/01/00/a", 10),
        ("2026/01/01/01/b", 20),
        ("2026/01/02/00/c", 5),
        ("errors/x", 1),
        ("top.txt", 3),
    ];
    let root = level(keys, "");
    let names: Vec<&str> = root.folders.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["2026/", "errors/"]);
    assert_eq!(root.folders[0].objects, 3);
    assert_eq!(root.folders[0].bytes, 35);
    assert_eq!(root.objects, ["top.txt"]);
    let day = level(keys, "2026/01/");
    let prefixes: Vec<&str> = day.folders.iter().map(|f| f.prefix.as_str()).collect();
    assert_eq!(prefixes, ["2026/01/01/", "2026/01/02/"]);
    let hour = level(keys, "2026/01/01/00/");
    assert!(hour.folders.is_empty());
    assert_eq!(hour.objects, ["2026/01/01/00/a"]);
    assert!(level(keys, "nothing/").objects.is_empty());
}

#[wasm_bindgen_test]
fn breadcrumbs_lead_from_the_root_to_the_prefix() {
    assert_eq!(breadcrumbs(""), [("/".to_string(), String::new())]);
    let crumbs = breadcrumbs("2026/01/");
    let prefixes: Vec<&str> = crumbs.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(prefixes, ["", "2026/", "2026/01/"]);
    assert_eq!(crumbs[2].0, "01/");
    assert_eq!(download_name("a/b/obj-1.gz"), "obj-1.gz");
    assert_eq!(download_name("a/"), "object");
}

#[wasm_bindgen_test]
fn previews_are_text_gunzipped_text_or_hex() {
    assert_eq!(
        preview("k", b"<b>hi</b>\n", 100),
        Preview::Text("<b>hi</b>\n".into())
    );
    let gz = gzip::compress(b"{\"a\":1}\n{\"a\":2}\n");
    assert_eq!(
        preview("k.gz", &gz, 100),
        Preview::Gunzipped("{\"a\":1}\n{\"a\":2}\n".into(), 16)
    );
    assert!(matches!(preview("k", &[0xff, 0x00], 100), Preview::Hex(h, None) if h == "ff 00"));
    assert!(matches!(
        preview("bad.gz", b"not gzip", 100),
        Preview::Hex(_, Some(_))
    ));
    assert!(matches!(preview("k", &[b'x'; 50], 10), Preview::Text(t) if t.chars().count() == 11));
}

#[wasm_bindgen_test]
fn zip_and_snappy_objects_preview_decompressed() {
    use kinesim::firehose::compression::{hadoop_snappy, snappy_framed, zip_single};
    let raw = b"{\"a\":1}\n{\"a\":2}\n";
    assert_eq!(
        preview("k.zip", &zip_single("k", raw, 0), 100),
        Preview::Decompressed("unzipped", "{\"a\":1}\n{\"a\":2}\n".into(), 16)
    );
    assert_eq!(
        preview("k.snappy", &snappy_framed(raw), 100),
        Preview::Decompressed("Snappy-decoded", "{\"a\":1}\n{\"a\":2}\n".into(), 16)
    );
    assert_eq!(
        preview("k.snappy", &hadoop_snappy(raw), 100),
        Preview::Decompressed("Hadoop-Snappy-decoded", "{\"a\":1}\n{\"a\":2}\n".into(), 16)
    );
    assert!(matches!(
        preview("bad.zip", b"not a zip", 100),
        Preview::Hex(_, Some(_))
    ));
}

#[wasm_bindgen_test]
fn the_create_form_sends_the_other_compression_formats() {
    let form = CreateForm {
        compression_other: "HADOOP_SNAPPY".into(),
        gzip: true,
        ..CreateForm::default()
    };
    let body: Value = serde_json::from_str(&form.body().expect("a body")).expect("JSON");
    assert_eq!(
        body["ExtendedS3DestinationConfiguration"]["CompressionFormat"],
        "HADOOP_SNAPPY"
    );
}

#[wasm_bindgen_test]
fn the_create_form_with_a_redshift_table_makes_a_redshift_destination_the_api_accepts() {
    use base64::Engine;
    use kinesim::sim::SimTime;
    use kinesim::{World, WorldConfig};
    let form = CreateForm {
        name: "to-redshift".into(),
        gzip: true,
        redshift_table: "clicks".into(),
        ..CreateForm::default()
    };
    let body: Value = serde_json::from_str(&form.body().expect("a body")).expect("JSON");
    assert!(body.get("ExtendedS3DestinationConfiguration").is_none());
    let d = &body["RedshiftDestinationConfiguration"];
    assert_eq!(d["CopyCommand"]["DataTableName"], "clicks");
    assert_eq!(d["CopyCommand"]["CopyOptions"], "JSON 'auto' GZIP");
    assert_eq!(d["S3Configuration"]["CompressionFormat"], "GZIP");
    assert_eq!(
        d["ProcessingConfiguration"]["Processors"][0]["Type"],
        "AppendDelimiterToRecord"
    );
    // The simulated World takes it, stages, COPYs and the table answers SQL.
    let mut w = World::new(WorldConfig::with_seed(3));
    let r = w.firehose(SimTime::ZERO, "CreateDeliveryStream", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    w.advance_to(SimTime::from_millis(5_000));
    let data = base64::engine::general_purpose::STANDARD.encode(br#"{"customer":"c1","n":2}"#);
    let put = serde_json::json!({"DeliveryStreamName": "to-redshift", "Records": [{"Data": data}]});
    let r = w.firehose(
        SimTime::from_millis(6_000),
        "PutRecordBatch",
        &put.to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    w.advance_to(SimTime::from_millis(70_000));
    let out = w
        .firehose_service()
        .redshift()
        .query(
            kinesim::ui::firehose::REDSHIFT_JDBC_URL,
            "SELECT customer, SUM(n) FROM clicks GROUP BY customer",
        )
        .expect("query");
    assert_eq!(out.rows.len(), 1);
    assert_eq!(out.rows[0][0].to_text(), "c1");
    assert_eq!(out.rows[0][1].to_text(), "2");
}
