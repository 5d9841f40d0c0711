//! Firehose processing: the Lambda transform's response validation, built-in processors (with round-trip
//! properties), jq dynamic partitioning and CloudWatch Logs subscription messages through the processors.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kinesim::firehose::error_record::ErrorOutputType;
use kinesim::firehose::gzip;
use kinesim::firehose::partition::{
    ActivePartitions, CODE_METADATA_EXTRACTION_FAILED, PartitionError, PartitionQuery,
    render_partition_keys,
};
use kinesim::firehose::sources::{CloudWatchLogsSource, SubscriptionMessage};
use kinesim::firehose::transform::{
    BatchStep, CODE_DUPLICATED_RECORD_ID, CODE_FUNCTION_ERROR, CODE_JSON_PROCESSING,
    CODE_MISSING_RECORD_ID, CODE_PROCESSING_FAILED_STATUS, InvocationContext, InvocationOutcome,
    LAMBDA_RESPONSE_BYTES_MAX, MESSAGE_DUPLICATED_RECORD_ID, MESSAGE_INVALID_OUTPUT,
    ProcessingConfiguration, Processor, RecordOutcome, TransformBatch, TransformInput,
    TransformResult, apply_builtin, read_response, split_into_batches,
};
use kinesim::sim::SimRng;
use proptest::prelude::*;

fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

fn entry(id: &str, result: &str, data: &[u8]) -> String {
    format!(
        "{{\"recordId\":\"{id}\",\"result\":\"{result}\",\"data\":\"{}\"}}",
        b64(data)
    )
}

fn response(entries: &[String]) -> Vec<u8> {
    format!("{{\"records\":[{}]}}", entries.join(",")).into_bytes()
}

#[test]
fn a_valid_answer_keeps_the_sent_order_and_partition_keys() {
    let body = format!(
        "{{\"records\":[{},{},{{\"recordId\":\"a\",\"result\":\"Ok\",\"data\":\"{}\",\
         \"metadata\":{{\"partitionKeys\":{{\"customer\":\"c1\",\"year\":2026}}}}}}]}}",
        entry("c", "ProcessingFailed", b""),
        entry("b", "Dropped", b""),
        b64(b"A!")
    );
    let out = read_response(body.as_bytes(), &["a", "b", "c", "gone"]).expect("valid");
    let a = out[0].as_ref().expect("a came back");
    assert_eq!(a.record_id, "a");
    assert_eq!(a.data, b"A!");
    assert_eq!(
        a.partition_keys.get("year").map(String::as_str),
        Some("2026")
    );
    assert_eq!(
        out[1].as_ref().map(|r| r.result),
        Some(TransformResult::Dropped)
    );
    assert_eq!(
        out[2].as_ref().map(|r| r.result),
        Some(TransformResult::ProcessingFailed)
    );
    assert_eq!(out[3], None, "a record id that did not come back");
}

#[test]
fn invalid_answers_get_firehose_error_codes() {
    let ids = ["a", "b"];
    let code = |body: &[u8]| read_response(body, &ids).map(|_| ()).map_err(|e| e.code);
    let message = |body: &[u8]| read_response(body, &ids).map(|_| ()).map_err(|e| e.message);
    // A missing id fails only that record; an id never sent is ignored; a repeated id fails the invocation.
    let partial = read_response(
        &response(&[entry("a", "Ok", b"x"), entry("zz", "Ok", b"z")]),
        &ids,
    )
    .expect("valid");
    assert!(partial[0].is_some() && partial[1].is_none());
    let two = ["a", "b"].map(|id| TransformInput {
        record_id: id.into(),
        arrival_unix_ms: 1,
        data: id.as_bytes().to_vec(),
        kinesis: None,
    });
    let mut batch = TransformBatch::new("i", "arn:f", two.to_vec(), 3);
    let BatchStep::Finished(out) = batch.complete(
        InvocationOutcome::Returned(&response(&[entry("a", "Ok", b"A")])),
        9,
    ) else {
        panic!("a missing id is not retried");
    };
    assert!(matches!(&out[0].outcome, RecordOutcome::Ok { .. }));
    assert!(
        matches!(&out[1].outcome, RecordOutcome::Failed(doc) if doc.error_code == CODE_MISSING_RECORD_ID && doc.attempts_made == 1)
    );
    assert_eq!(
        code(&response(&[
            entry("a", "Ok", b"x"),
            entry("a", "Ok", b"y"),
            entry("b", "Ok", b"z")
        ])),
        Err(CODE_DUPLICATED_RECORD_ID)
    );
    assert_eq!(
        message(&response(&[entry("a", "Ok", b"x"), entry("a", "Ok", b"y")])),
        Err(MESSAGE_DUPLICATED_RECORD_ID.to_string())
    );
    // Not the status model: bad base64, a wrong result string, a missing result, missing data, no records.
    let not_model: [&[u8]; 5] = [
        b"{\"records\":[{\"recordId\":\"a\",\"result\":\"Ok\",\"data\":\"***\"}]}",
        b"{\"records\":[{\"recordId\":\"a\",\"result\":\"OK\",\"data\":\"eA==\"}]}",
        b"{\"records\":[{\"recordId\":\"a\",\"data\":\"eA==\"}]}",
        b"{\"records\":[{\"recordId\":\"b\",\"result\":\"Dropped\"}]}",
        b"{\"recordz\":[]}",
    ];
    for body in not_model {
        assert_eq!(
            code(body),
            Err(CODE_FUNCTION_ERROR),
            "{}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(message(body), Err(MESSAGE_INVALID_OUTPUT.to_string()));
    }
    // Not JSON at all.
    assert_eq!(code(b"not json"), Err(CODE_JSON_PROCESSING));
    // Oversize: more than Lambda's 6 MB synchronous response.
    let big = vec![b' '; usize::try_from(LAMBDA_RESPONSE_BYTES_MAX).expect("fits") + 1];
    assert_eq!(code(&big), Err(CODE_FUNCTION_ERROR));
}

#[test]
fn a_batch_turns_answers_into_deliveries_drops_and_error_documents() {
    let inputs: Vec<TransformInput> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, id)| TransformInput {
            record_id: (*id).to_string(),
            arrival_unix_ms: 100 + u64::try_from(i).expect("small"),
            data: id.as_bytes().to_vec(),
            kinesis: None,
        })
        .collect();
    let mut batch = TransformBatch::new(
        "inv",
        "arn:aws:lambda:us-east-1:000000000000:function:t:$LATEST",
        inputs,
        3,
    );
    let ctx = InvocationContext {
        delivery_stream_arn: "arn:aws:firehose:us-east-1:000000000000:deliverystream/d",
        region: "us-east-1",
        source_kinesis_stream_arn: None,
    };
    let event: serde_json::Value =
        serde_json::from_str(&batch.request_json(&ctx)).expect("event is JSON");
    assert_eq!(event["invocationId"], "inv");
    assert_eq!(event["records"].as_array().map(Vec::len), Some(3));
    assert_eq!(event["records"][1]["data"], b64(b"b"));
    assert!(event.get("sourceKinesisStreamArn").is_none());

    // The first answer is not the status model (a bad result): retried with the same records, a fresh id.
    let malformed = response(&[entry("a", "Okay", b"A")]);
    assert_eq!(
        batch.complete(InvocationOutcome::Returned(&malformed), 200),
        BatchStep::Retry
    );
    batch.set_invocation_id("inv-2");
    let event: serde_json::Value =
        serde_json::from_str(&batch.request_json(&ctx)).expect("event is JSON");
    assert_eq!(event["invocationId"], "inv-2");
    assert_eq!(event["records"][0]["recordId"], "a");
    let good = response(&[
        entry("a", "Ok", b"A"),
        entry("b", "Dropped", b""),
        entry("c", "ProcessingFailed", b""),
    ]);
    let BatchStep::Finished(out) = batch.complete(InvocationOutcome::Returned(&good), 300) else {
        panic!("a valid answer finishes the batch");
    };
    assert!(matches!(&out[0].outcome, RecordOutcome::Ok { data, .. } if data == b"A"));
    assert_eq!(out[1].outcome, RecordOutcome::Dropped);
    let RecordOutcome::Failed(doc) = &out[2].outcome else {
        panic!("ProcessingFailed goes to the error prefix");
    };
    assert_eq!(doc.error_code, CODE_PROCESSING_FAILED_STATUS);
    assert_eq!(doc.attempts_made, 2);
    assert_eq!(doc.arrival_timestamp, 102);
    assert_eq!(doc.attempt_ending_timestamp, 300);
    assert_eq!(doc.raw_bytes(), b"c");
    assert_eq!(
        doc.lambda_arn.as_deref(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:t:$LATEST")
    );
    let json: serde_json::Value = serde_json::from_str(&doc.to_json()).expect("document is JSON");
    for key in [
        "attemptsMade",
        "arrivalTimestamp",
        "errorCode",
        "errorMessage",
        "attemptEndingTimestamp",
        "rawData",
        "lambdaARN",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
}

#[test]
fn batches_respect_the_processor_buffer_size() {
    let inputs: Vec<TransformInput> = (0..10)
        .map(|i| TransformInput {
            record_id: format!("r{i}"),
            arrival_unix_ms: 0,
            data: vec![b'x'; 300],
            kinesis: None,
        })
        .collect();
    let batches = split_into_batches(inputs, 1_000);
    assert_eq!(
        batches.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![3, 3, 3, 1]
    );
}

#[test]
fn cloudwatch_logs_messages_go_through_decompression_and_log_processing() {
    let mut source = CloudWatchLogsSource::new(
        SimRng::new(5).fork("cwl"),
        "123456789012",
        "/aws/lambda/shop",
        "2026/01/01/[$LATEST]a",
        "to-firehose",
    );
    let record = source.next_record(1_767_225_600_000, 4);
    let expected = SubscriptionMessage::from_record(&record).expect("gzip JSON");

    let config: serde_json::Value = serde_json::from_str(
        r#"{"Enabled":true,"Processors":[
            {"Type":"Decompression","Parameters":[{"ParameterName":"CompressionFormat","ParameterValue":"GZIP"}]},
            {"Type":"CloudWatchLogProcessing","Parameters":[{"ParameterName":"DataMessageExtraction","ParameterValue":"true"}]},
            {"Type":"AppendDelimiterToRecord"}]}"#,
    )
    .expect("json");
    let config =
        ProcessingConfiguration::from_json(&config, "processingConfiguration").expect("valid");
    let out = config.before_lambda(&record).expect("processed");
    let messages: String = expected
        .log_events
        .iter()
        .map(|e| format!("{}\n", e.message))
        .collect();
    assert_eq!(
        out,
        vec![messages.clone().into_bytes()],
        "one record per subscription message: every log message followed by a newline"
    );
    assert_eq!(
        config.after_lambda(&out[0]),
        format!("{messages}\n").into_bytes()
    );
    // A control message disappears.
    let control = CloudWatchLogsSource::control_message(1).to_record();
    assert_eq!(
        config.before_lambda(&control).expect("processed"),
        Vec::<Vec<u8>>::new()
    );
    // Without extraction the decompressed message stays whole.
    let plain = ProcessingConfiguration::from_json(
        &serde_json::json!({"Enabled": true, "Processors": [{"Type": "Decompression"}, {"Type": "CloudWatchLogProcessing"}]}),
        "p",
    )
    .expect("valid");
    let whole = plain.before_lambda(&record).expect("processed");
    assert_eq!(whole, vec![expected.to_json().into_bytes()]);
    // Garbage is a processor error, not a panic.
    let err = config
        .before_lambda(b"\x1f\x8bnot really gzip")
        .expect_err("not gzip");
    assert_eq!(err.output.as_str(), "decompression-failed");
    assert_eq!(err.message, "Decompression failed.");
    let not_logs = gzip::compress(b"{\"just\":\"json\"}");
    assert_eq!(
        config
            .before_lambda(&not_logs)
            .map_err(|e| e.output.as_str()),
        Err("decompression-failed")
    );
}

#[test]
fn jq_partitioning_extracts_keys_and_fails_into_partitioning_failed() {
    let q = PartitionQuery::compile("{customer_id:.customer_id, year: (.ts|todate|.[0:4])}")
        .expect("compiles");
    let keys = q
        .evaluate(br#"{"customer_id":"acme","ts":1767225600}"#)
        .expect("evaluates");
    let expected: BTreeMap<String, String> = [
        ("customer_id".to_string(), "acme".to_string()),
        ("year".to_string(), "2026".to_string()),
    ]
    .into();
    assert_eq!(keys, expected);
    assert_eq!(
        render_partition_keys(
            "customer=!{partitionKeyFromQuery:customer_id}/y=!{partitionKeyFromQuery:year}/",
            &keys,
            &BTreeMap::new()
        ),
        Ok("customer=acme/y=2026/".to_string())
    );

    // A failing query: the field is missing (null), the record is not JSON, the program raises an error.
    let missing = q
        .evaluate(br#"{"ts":1767225600}"#)
        .expect_err("no customer");
    assert_eq!(
        missing.error_output_type(),
        ErrorOutputType::PartitioningFailed
    );
    let doc = missing.error_record(10, 20, b"{\"ts\":1767225600}");
    assert_eq!(doc.error_code, CODE_METADATA_EXTRACTION_FAILED);
    assert_eq!(doc.raw_bytes(), b"{\"ts\":1767225600}");
    assert_eq!(q.evaluate(b"<xml/>"), Err(PartitionError::NotJson));
    let failing = PartitionQuery::compile("{k: (.a | tonumber)}").expect("compiles");
    assert!(matches!(
        failing.evaluate(br#"{"a":"x"}"#),
        Err(PartitionError::QueryFailed(_))
    ));
    // Invalid programs are refused when the stream is configured.
    assert!(matches!(
        PartitionQuery::compile("{customer_id:"),
        Err(PartitionError::InvalidQuery(_))
    ));
    assert!(matches!(
        PartitionQuery::compile("env"),
        Err(PartitionError::InvalidQuery(_))
    ));

    // The active-partition limit (500 by default).
    let mut active = ActivePartitions::default();
    for i in 0..500 {
        active
            .admit(&format!("customer={i}/"))
            .expect("within the limit");
    }
    let over = active
        .admit("customer=500/")
        .expect_err("the 501st partition");
    assert_eq!(over, PartitionError::ActivePartitionExceeded { limit: 500 });
    assert_eq!(over.error_output_type().as_str(), "activePartitionExceeded");
    assert!(
        active.admit("customer=7/").is_ok(),
        "an open partition still takes records"
    );
}

proptest! {
    #[test]
    fn append_delimiter_then_strip_gives_the_record_back(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let processor = Processor::AppendDelimiterToRecord { delimiter: b"\n".to_vec() };
        let out = apply_builtin(&processor, &data).expect("never fails");
        prop_assert_eq!(out.len(), 1);
        prop_assert_eq!(out[0].last(), Some(&b'\n'));
        prop_assert_eq!(&out[0][..data.len()], &data[..]);
    }

    #[test]
    fn decompression_inverts_gzip(data in proptest::collection::vec(any::<u8>(), 0..4_096)) {
        let out = apply_builtin(&Processor::Decompression, &gzip::compress(&data)).expect("valid gzip");
        prop_assert_eq!(out, vec![data]);
    }

    #[test]
    fn decompression_never_panics_on_garbage(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = apply_builtin(&Processor::Decompression, &data);
        let mut with_magic = vec![0x1f, 0x8b];
        with_magic.extend(&data);
        let _ = apply_builtin(&Processor::Decompression, &with_magic);
    }

    #[test]
    fn read_response_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = read_response(&body, &["a", "b"]);
    }

    #[test]
    fn partition_queries_never_panic(query in "[ -~]{0,40}", data in "[ -~]{0,60}") {
        if let Ok(q) = PartitionQuery::compile(&query) {
            // Only cheap programs: skip the ones that could loop (recursion, range, repeat, limit, until, while).
            let risky = ["def", "range", "repeat", "recurse", "until", "while", "limit", "..", "splits", "combinations", "getpath", "walk", "env", "input"];
            if !risky.iter().any(|r| query.contains(r)) {
                let _ = q.evaluate(data.as_bytes());
            }
        }
    }
}

#[test]
fn run_with_drives_a_function_to_the_end() {
    let ctx = InvocationContext {
        delivery_stream_arn: "arn:aws:firehose:us-east-1:000000000000:deliverystream/d",
        region: "us-east-1",
        source_kinesis_stream_arn: None,
    };
    let inputs = vec![TransformInput {
        record_id: "r".into(),
        arrival_unix_ms: 1,
        data: b"hello".to_vec(),
        kinesis: None,
    }];
    // A function that always throws: 1 attempt + 3 retries, then processing-failed.
    let mut calls = 0;
    let mut batch = TransformBatch::new("i", "arn:f", inputs.clone(), 3);
    let out = batch.run_with(&ctx, 9, |_| {
        calls += 1;
        Err(())
    });
    assert_eq!(calls, 4);
    let RecordOutcome::Failed(doc) = &out[0].outcome else {
        panic!("must fail");
    };
    assert_eq!(
        (doc.error_code.as_str(), doc.attempts_made),
        (CODE_FUNCTION_ERROR, 4)
    );
    // An upper-casing function.
    let mut batch = TransformBatch::new("i", "arn:f", inputs, 3);
    let out = batch.run_with(&ctx, 9, |event| {
        let event: serde_json::Value = serde_json::from_str(event).map_err(|_| ())?;
        let records: Vec<String> = event["records"]
            .as_array()
            .ok_or(())?
            .iter()
            .map(|r| {
                let data = STANDARD
                    .decode(r["data"].as_str().unwrap_or(""))
                    .unwrap_or_default();
                entry(
                    r["recordId"].as_str().unwrap_or(""),
                    "Ok",
                    &data.to_ascii_uppercase(),
                )
            })
            .collect();
        Ok(response(&records))
    });
    assert!(matches!(&out[0].outcome, RecordOutcome::Ok { data, .. } if data == b"HELLO"));
}
