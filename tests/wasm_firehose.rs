//! The Firehose processing pieces on wasm32 (under node): jq partitioning through jaq, real gzip through flate2's
//! pure-Rust backend and a Lambda transform batch give the same results as natively.
#![cfg(target_arch = "wasm32")]

use kinesim::firehose::partition::PartitionQuery;
use kinesim::firehose::sources::{CloudWatchLogsSource, SubscriptionMessage};
use kinesim::firehose::transform::{
    InvocationContext, ProcessingConfiguration, RecordOutcome, TransformBatch, TransformInput,
};
use kinesim::sim::SimRng;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn jq_partitioning_runs_on_wasm() {
    let q = PartitionQuery::compile("{customer_id:.customer_id, year:(.ts|todate|.[0:4])}")
        .expect("compiles");
    let keys = q
        .evaluate(br#"{"customer_id":"acme","ts":1767225600}"#)
        .expect("evaluates");
    assert_eq!(keys.get("customer_id").map(String::as_str), Some("acme"));
    assert_eq!(keys.get("year").map(String::as_str), Some("2026"));
    assert!(PartitionQuery::compile("now").is_err());
}

#[wasm_bindgen_test]
fn cloudwatch_logs_gzip_round_trip_runs_on_wasm() {
    let mut source = CloudWatchLogsSource::new(SimRng::new(5), "123456789012", "/g", "s", "f");
    let record = source.next_record(1_767_225_600_000, 3);
    let message = SubscriptionMessage::from_record(&record).expect("gzip JSON");
    let config = ProcessingConfiguration::from_json(
        &serde_json::json!({"Enabled": true, "Processors": [{"Type": "Decompression"},
            {"Type": "CloudWatchLogProcessing", "Parameters": [{"ParameterName": "DataMessageExtraction", "ParameterValue": "true"}]}]}),
        "p",
    )
    .expect("valid");
    let out = config.before_lambda(&record).expect("processed");
    let messages: String = message
        .log_events
        .iter()
        .map(|e| format!("{}\n", e.message))
        .collect();
    assert_eq!(out, vec![messages.into_bytes()]);
}

#[wasm_bindgen_test]
fn a_transform_batch_runs_on_wasm() {
    let ctx = InvocationContext {
        delivery_stream_arn: "arn:aws:firehose:us-east-1:000000000000:deliverystream/d",
        region: "us-east-1",
        source_kinesis_stream_arn: None,
    };
    let mut batch = TransformBatch::new(
        "i",
        "arn:f",
        vec![TransformInput {
            record_id: "r".into(),
            arrival_unix_ms: 1,
            data: b"x".to_vec(),
            kinesis: None,
        }],
        3,
    );
    let out = batch.run_with(&ctx, 5, |_| {
        Ok(br#"{"records":[{"recordId":"r","result":"Ok","data":"WA=="}]}"#.to_vec())
    });
    assert!(matches!(&out[0].outcome, RecordOutcome::Ok { data, .. } if data == b"X"));
}
