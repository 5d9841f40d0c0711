//! The JavaScript API's `Session` in headless Chromium (wasm-bindgen-test), and the Rust binding of the isolated
//! function runner (`kinesim::ui::sandbox`) against `www/sandbox-runner.js`.
#![cfg(all(target_arch = "wasm32", feature = "ui"))]

use kinesim::js_api::Session;
use kinesim::ui::sandbox::{self, SandboxOutcome};
use kinesim::workload::lambda::FunctionResult;
use serde_json::{Value, json};
use wasm_bindgen::{JsCast, JsError, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn field(object: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(object, &JsValue::from(key)).unwrap_or(JsValue::UNDEFINED)
}

/// (statusCode, body as JSON or Null, errorType)
fn send(session: &Session, operation: &str, body: Value) -> (f64, Value, Option<String>) {
    let response: JsValue = session
        .send(&format!("Kinesis_20131202.{operation}"), &body.to_string())
        .into();
    let status = field(&response, "statusCode").as_f64().unwrap_or(-1.0);
    let text = field(&response, "body").as_string().unwrap_or_default();
    let error = field(&response, "errorType").as_string();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        error,
    )
}

fn message(error: JsError) -> String {
    let value: JsValue = error.into();
    field(&value, "message").as_string().unwrap_or_default()
}

fn session(seed: u32) -> Session {
    Session::new(JsValue::from(seed), None).expect("a session")
}

#[wasm_bindgen_test]
fn send_answers_kinesis_calls_with_status_body_and_error_type() {
    let s = session(7);
    let (status, body, error) = send(
        &s,
        "CreateStream",
        json!({"StreamName": "a", "ShardCount": 1}),
    );
    assert_eq!((status, body, error), (200.0, Value::Null, None));
    let (status, _, error) = send(
        &s,
        "PutRecord",
        json!({"StreamName": "a", "PartitionKey": "k", "Data": "aGk="}),
    );
    assert_eq!(status, 400.0, "a CREATING stream refuses writes");
    assert_eq!(error.as_deref(), Some("ResourceNotFoundException"));
    s.advance_by(10_000.0).expect("advance");
    let (status, body, _) = send(
        &s,
        "PutRecord",
        json!({"StreamName": "a", "PartitionKey": "k", "Data": "aGk="}),
    );
    assert_eq!(status, 200.0);
    assert_eq!(body["ShardId"], "shardId-000000000000");

    let unknown: JsValue = s.send("Nope_2020.Whatever", "{}").into();
    assert_eq!(field(&unknown, "statusCode").as_f64(), Some(400.0));
    assert_eq!(
        field(&unknown, "errorType").as_string().as_deref(),
        Some("UnknownOperationException")
    );
    let not_json = send(&s, "ListStreams", json!("x"));
    assert_eq!(not_json.0, 400.0);
}

#[wasm_bindgen_test]
fn the_clock_moves_only_when_told() {
    let s = session(1);
    assert_eq!(s.now(), 0.0);
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(
        s.step().map_err(message),
        Ok(None),
        "nothing pending: step changes nothing"
    );
    send(
        &s,
        "CreateStream",
        json!({"StreamName": "a", "ShardCount": 1}),
    );
    assert_eq!(
        s.poll_timeout(),
        Some(10_000.0),
        "the stream turns ACTIVE at 10 s"
    );
    s.advance_to(2_500.0).expect("advance");
    assert_eq!(s.now(), 2_500.0);
    s.advance_to(1_000.0)
        .expect("earlier times leave the clock alone");
    assert_eq!(s.now(), 2_500.0);
    s.advance_by(500.0).expect("advance");
    assert_eq!(s.now(), 3_000.0);
    assert_eq!(s.now_iso8601(), "2026-01-01T00:00:03.000Z");
    for bad in [f64::NAN, -1.0, 1.5, f64::INFINITY, 1e300] {
        let error = s.advance_by(bad).expect_err("refused");
        assert!(message(error).contains("whole number"), "{bad}");
    }
    assert_eq!(s.now(), 3_000.0);
}

#[wasm_bindgen_test]
fn seeds_and_configuration_are_checked() {
    assert!(
        message(Session::new(JsValue::from(-3), None).expect_err("negative"))
            .contains("whole number")
    );
    assert!(
        message(Session::new(JsValue::from("7"), None).expect_err("string"))
            .contains("number or a BigInt")
    );
    assert!(
        message(Session::new(JsValue::UNDEFINED, None).expect_err("none")).contains("give a seed")
    );
    let big = js_sys::BigInt::from(u64::MAX);
    let s = Session::new(big.into(), None).expect("a 64-bit BigInt seed");
    assert_eq!(s.seed(), u64::MAX.to_string());

    let fast = Session::new(
        JsValue::from(1),
        Some(r#"{"streams": {"create_delay_ms": 0}}"#.into()),
    )
    .expect("config");
    send(
        &fast,
        "CreateStream",
        json!({"StreamName": "a", "ShardCount": 1}),
    );
    let (_, summary, _) = send(&fast, "DescribeStreamSummary", json!({"StreamName": "a"}));
    assert_eq!(
        summary["StreamDescriptionSummary"]["StreamStatus"],
        "ACTIVE"
    );

    let typo = Session::new(
        JsValue::from(1),
        Some(r#"{"streams": {"create_delay": 0}}"#.into()),
    );
    assert!(message(typo.expect_err("typo")).contains("unknown member `streams.create_delay`"));
    let not_object = Session::new(JsValue::from(1), Some("[1]".into()));
    assert!(message(not_object.expect_err("array")).contains("JSON object"));
    let not_json = Session::new(JsValue::from(1), Some("{".into()));
    assert!(message(not_json.expect_err("not json")).contains("not JSON"));
}

fn scenario(s: &Session) {
    send(
        s,
        "CreateStream",
        json!({"StreamName": "a", "ShardCount": 2}),
    );
    s.advance_by(10_000.0).expect("advance");
    for i in 0..20 {
        send(
            s,
            "PutRecord",
            json!({"StreamName": "a", "PartitionKey": format!("k{i}"), "Data": "aGk="}),
        );
        s.advance_by(37.0).expect("advance");
    }
}

#[wasm_bindgen_test]
fn same_seed_same_hash_and_a_snapshot_continues_the_run() {
    let (a, b) = (session(9), session(9));
    scenario(&a);
    scenario(&b);
    assert_eq!(a.event_log_hash(), b.event_log_hash());
    assert_eq!(a.event_count(), 21.0, "one event per API call");

    let saved = a.snapshot().expect("snapshot");
    let restored = Session::restore(&saved).expect("restore");
    assert_eq!(restored.event_log_hash(), a.event_log_hash());
    assert_eq!(restored.now(), a.now());
    scenario(&a);
    scenario(&restored);
    assert_eq!(
        restored.event_log_hash(),
        a.event_log_hash(),
        "the restored run goes on identically"
    );

    let bad = Session::restore("{\"not\": \"a world\"}").expect_err("refused");
    assert!(message(bad).contains("not a kinesim snapshot"));
    let page = kinesim::js_api::page_session();
    page.restore_in_place(&saved).expect("restore in place");
    assert_eq!(
        kinesim::js_api::page_session().event_log_hash(),
        b.event_log_hash()
    );
}

#[wasm_bindgen_test]
fn metrics_are_per_minute_cloudwatch_points() {
    let s = session(3);
    scenario(&s);
    let points: JsValue = s.metrics("a", None).expect("metrics").into();
    let points: js_sys::Array = points.dyn_into().expect("an array");
    let incoming: f64 = points
        .iter()
        .filter(|p| field(p, "metric").as_string().as_deref() == Some("IncomingRecords"))
        .map(|p| field(&p, "value").as_f64().unwrap_or(0.0))
        .sum();
    assert_eq!(incoming, 20.0);
    assert!(
        points
            .iter()
            .all(|p| field(&p, "minuteMs").as_f64() == Some(0.0))
    );
    let one_shard: js_sys::Array = JsValue::from(
        s.metrics("a", Some("shardId-000000000001".into()))
            .expect("shard"),
    )
    .dyn_into()
    .expect("an array");
    assert!(one_shard.length() > 0);
    let missing = s.metrics("nope", None).err().expect("unknown stream");
    assert!(message(missing).starts_with("ResourceNotFoundException: "));
}

fn load_runner() {
    js_sys::eval(include_str!("../www/sandbox-runner.js")).expect("sandbox-runner.js loads");
}

#[wasm_bindgen_test]
async fn the_sandbox_binding_runs_code_and_reports_errors_and_timeouts() {
    load_runner();
    let ok = sandbox::invoke(
        "async (e) => ({ batchItemFailures: [], n: e.n })",
        r#"{"n": 4}"#,
        2_000,
        "{}",
    )
    .await;
    assert_eq!(
        ok,
        SandboxOutcome::Ok(r#"{"batchItemFailures":[],"n":4}"#.into())
    );
    assert_eq!(
        sandbox::function_result(ok),
        FunctionResult::Success(Some(json!({"batchItemFailures": [], "n": 4})))
    );
    let nothing = sandbox::invoke("async () => undefined", "{}", 2_000, "{}").await;
    assert_eq!(
        sandbox::function_result(nothing),
        FunctionResult::Success(None)
    );

    let thrown = sandbox::invoke(
        "async () => { throw new Error('boom'); }",
        "{}",
        2_000,
        "{}",
    )
    .await;
    assert_eq!(
        thrown,
        SandboxOutcome::Error {
            error_type: "Error".into(),
            error_message: "boom".into()
        }
    );
    assert_eq!(
        sandbox::function_result(thrown),
        FunctionResult::Error("Error: boom".into())
    );

    let looped = sandbox::invoke("async () => { while (true) {} }", "{}", 200, "{}").await;
    assert_eq!(
        looped,
        SandboxOutcome::Timeout {
            error_message: "Task timed out after 0.20 seconds".into()
        }
    );
    assert_eq!(sandbox::function_result(looped), FunctionResult::Timeout);
    let again = sandbox::invoke("async () => 1", "{}", 2_000, "{}").await;
    assert_eq!(
        again,
        SandboxOutcome::Ok("1".into()),
        "a fresh worker after the timeout"
    );
}

#[wasm_bindgen_test]
async fn event_source_mappings_run_javascript_functions_in_the_sandbox() {
    load_runner();
    let s = session(11);
    send(
        &s,
        "CreateStream",
        json!({"StreamName": "orders", "ShardCount": 1}),
    );
    s.advance_by(10_000.0).expect("advance");
    for i in 0..5 {
        send(
            &s,
            "PutRecord",
            json!({"StreamName": "orders", "PartitionKey": format!("k{i}"), "Data": "aGk="}),
        );
    }
    let created = s
        .create_event_source_mapping(
            r#"{"FunctionName": "count", "StartingPosition": "TRIM_HORIZON", "BatchSize": 2,
                "EventSourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/orders"}"#,
        )
        .expect("created");
    let created: Value = serde_json::from_str(&created).expect("json");
    let uuid = created["UUID"].as_str().expect("uuid").to_string();
    let bad = s
        .create_event_source_mapping(r#"{"FunctionName": "x"}"#)
        .expect_err("refused");
    assert!(message(bad).starts_with("InvalidParameterValueException: "));

    let code = |name: &str| {
        (name == "count").then(|| sandbox::FunctionCode {
            code: "async (event) => ({ seen: event.Records.length })".into(),
            timeout_ms: 2_000,
        })
    };
    let mut ran = 0;
    for _ in 0..10 {
        ran += sandbox::run_pending_invocations(&s, &code).await;
        s.advance_by(500.0).expect("advance");
    }
    assert_eq!(ran, 3, "5 records in batches of 2");
    let list: Value = serde_json::from_str(&s.list_event_source_mappings()).expect("json");
    let mapping = &list["EventSourceMappings"][0];
    assert_eq!(mapping["UUID"], uuid.as_str());
    assert_eq!(mapping["Stats"]["records_succeeded"], 5);
    assert_eq!(mapping["LastProcessingResult"], "OK");
    s.delete_event_source_mapping(&uuid).expect("deleted");
    assert!(
        message(s.delete_event_source_mapping(&uuid).expect_err("gone"))
            .starts_with("ResourceNotFoundException")
    );
}

#[wasm_bindgen_test]
fn subscribe_to_shard_hands_out_a_subscription_whose_events_follow_simulated_time() {
    let s = session(12);
    send(
        &s,
        "CreateStream",
        json!({"StreamName": "efo", "ShardCount": 1}),
    );
    s.advance_by(10_000.0).expect("advance");
    let (_, summary, _) = send(&s, "DescribeStreamSummary", json!({"StreamName": "efo"}));
    let arn = summary["StreamDescriptionSummary"]["StreamARN"].clone();
    let (_, consumer, _) = send(
        &s,
        "RegisterStreamConsumer",
        json!({"StreamARN": arn, "ConsumerName": "c"}),
    );
    s.advance_by(60_000.0).expect("advance");
    send(
        &s,
        "PutRecord",
        json!({"StreamName": "efo", "PartitionKey": "k", "Data": "aGk="}),
    );
    let answer: JsValue = s
        .send(
            "Kinesis_20131202.SubscribeToShard",
            &json!({"ConsumerARN": consumer["Consumer"]["ConsumerARN"], "ShardId": "shardId-000000000000",
                    "StartingPosition": {"Type": "TRIM_HORIZON"}})
            .to_string(),
        )
        .into();
    assert_eq!(field(&answer, "statusCode").as_f64(), Some(200.0));
    let id = field(&answer, "subscription")
        .as_f64()
        .expect("a subscription");
    s.advance_by(1_000.0).expect("advance");
    let polled: JsValue = s.subscription_events(id).expect("poll").into();
    let events: js_sys::Array = field(&polled, "events").dyn_into().expect("array");
    let first: Value =
        serde_json::from_str(&events.get(0).as_string().unwrap_or_default()).expect("json");
    assert_eq!(first["Records"][0]["Data"], "aGk=");
    assert!(field(&polled, "end").is_null(), "still open");
    s.advance_by(300_000.0).expect("advance");
    let ended: JsValue = s.subscription_events(id).expect("poll").into();
    assert_eq!(field(&ended, "end").as_string().as_deref(), Some("Expired"));
    assert!(message(s.subscription_events(-1.0).err().expect("bad id")).contains("whole number"));
}
