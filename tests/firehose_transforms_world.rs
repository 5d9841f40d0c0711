//! Firehose transforms through the World, as the browser shell drives them (src/ui/transforms.rs): the function's
//! code comes from the session's registry (Command::SetFunctionCode), the invocation is polled, and it completes
//! with what the isolated runner reported. A hostile function (an endless loop that times out, a throw, wrong
//! recordIds) is contained: retries, then `processing-failed` objects; every outcome is in the event log.
#![cfg(not(target_arch = "wasm32"))]

use kinesim::sim::SimTime;
use kinesim::{Command, EventKind, TransformOutcome, World, WorldConfig};
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::000000000000:role/firehose";
const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:upper";

fn world() -> World {
    let mut w = World::new(WorldConfig::with_seed(3));
    let r = w.apply(
        SimTime::ZERO,
        Command::SetFunctionCode {
            name: "upper".into(),
            code: "async (event) => { while (true) {} }".into(),
            timeout_ms: 3_000,
        },
    );
    assert!(r.is_ok(), "{r:?}");
    let body = json!({
        "DeliveryStreamName": "xf",
        "ExtendedS3DestinationConfiguration": {
            "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::out",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
            "ProcessingConfiguration": {"Enabled": true, "Processors": [{"Type": "Lambda",
                "Parameters": [{"ParameterName": "LambdaArn", "ParameterValue": ARN},
                               {"ParameterName": "NumberOfRetries", "ParameterValue": "1"}]}]},
        },
    });
    let r = w.firehose(SimTime::ZERO, "CreateDeliveryStream", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    w.advance_to(SimTime::from_millis(10_000));
    let r = w.firehose(
        SimTime::from_millis(10_000),
        "PutRecord",
        &json!({"DeliveryStreamName": "xf", "Record": {"Data": "aGk="}}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    w
}

fn objects(w: &World) -> Vec<(String, Vec<u8>)> {
    w.firehose_service()
        .s3()
        .bucket("out")
        .map(|b| {
            b.objects
                .iter()
                .map(|(k, o)| (k.clone(), o.body.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Completes every attempt with `answer(request)`; returns the attempts made.
fn run(
    w: &mut World,
    answer: &dyn Fn(&kinesim::firehose::service::TransformRequest) -> TransformOutcome,
) -> u32 {
    let mut attempts = 0;
    while let Some(t) = w.poll_firehose_transform() {
        attempts += 1;
        // The shell finds the code by the processor's LambdaArn.
        assert!(w.function_code(&t.lambda_arn).is_some());
        let now = w.now();
        w.complete_firehose_transform(now, &t.delivery_stream, &t.invocation_id, &answer(&t))
            .expect("pending");
        assert!(attempts < 10, "runaway retries");
    }
    attempts
}

fn processing_failed(w: &World) -> Vec<Value> {
    let objects = objects(w);
    let failed: Vec<_> = objects
        .iter()
        .filter(|(k, _)| k.starts_with("processing-failed/"))
        .collect();
    assert_eq!(failed.len(), 1, "{objects:?}");
    String::from_utf8_lossy(&failed[0].1)
        .lines()
        .map(|l| serde_json::from_str(l).expect("an error document"))
        .collect()
}

#[test]
fn the_registry_finds_functions_by_name_or_arn_and_refuses_bad_input() {
    let mut w = world();
    assert_eq!(w.function_code(ARN).map(|(_, t)| t), Some(3_000));
    assert_eq!(
        w.function_code(&format!("{ARN}:$LATEST")).map(|(_, t)| t),
        Some(3_000)
    );
    assert!(w.function_code("other").is_none());
    let refused = w.apply(
        w.now(),
        Command::SetFunctionCode {
            name: "upper".into(),
            code: "x".into(),
            timeout_ms: 0,
        },
    );
    assert!(refused.is_err());
    let removed = w.apply(
        w.now(),
        Command::SetFunctionCode {
            name: "upper".into(),
            code: String::new(),
            timeout_ms: 1,
        },
    );
    assert!(removed.is_ok());
    assert!(w.function_code(ARN).is_none());
}

#[test]
fn an_endless_loop_times_out_is_retried_then_goes_to_processing_failed() {
    let mut w = world();
    let attempts = run(&mut w, &|_| TransformOutcome::Timeout);
    assert_eq!(attempts, 2, "one try and NumberOfRetries 1");
    let docs = processing_failed(&w);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["rawData"], "aGk=");
    let log: Vec<String> = w
        .events()
        .filter_map(|e| match &e.kind {
            EventKind::Firehose { what, detail, .. } => Some(format!("{what}: {detail}")),
            _ => None,
        })
        .collect();
    assert!(log.iter().any(|l| l.contains("timed out")), "{log:?}");
    assert!(
        log.iter()
            .any(|l| l.starts_with("error output: processing-failed")),
        "{log:?}"
    );
}

#[test]
fn a_throw_is_a_function_error() {
    let mut w = world();
    let attempts = run(&mut w, &|_| {
        TransformOutcome::FunctionError("TypeError: boom".into())
    });
    assert_eq!(attempts, 2);
    assert_eq!(processing_failed(&w).len(), 1);
}

#[test]
fn wrong_record_ids_are_processing_failed_not_delivered() {
    let mut w = world();
    let attempts = run(&mut w, &|_| {
        TransformOutcome::Returned(
            json!({"records": [{"recordId": "not-one-of-ours", "result": "Ok", "data": "SEk="}]})
                .to_string(),
        )
    });
    assert!(attempts >= 1);
    assert_eq!(processing_failed(&w).len(), 1);
    assert!(
        objects(&w)
            .iter()
            .all(|(k, _)| k.starts_with("processing-failed/"))
    );
}

#[test]
fn a_correct_answer_is_delivered() {
    let mut w = world();
    let attempts = run(&mut w, &|t| {
        let (id, _, _) = t.records[0].clone();
        TransformOutcome::Returned(
            json!({"records": [{"recordId": id, "result": "Ok", "data": "SEk="}]}).to_string(),
        )
    });
    assert_eq!(attempts, 1);
    let objects = objects(&w);
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].1, b"HI");
}
