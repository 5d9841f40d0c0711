//! Lambda event-source mappings as actors of the World: created from Lambda's request JSON, polled on simulated
//! time inside `advance_to`, invocations taken and completed by the shell, every step in the event log, and the
//! same seed and results giving the same run (snapshots included).
#![cfg(not(target_arch = "wasm32"))]

use kinesim::sim::SimTime;
use kinesim::workload::lambda::request::{configuration_json, create_request};
use kinesim::workload::lambda::{FunctionResult, LambdaErrorType};
use kinesim::{EventKind, World, WorldConfig};
use serde_json::{Value, json};

fn t(ms: u64) -> SimTime {
    SimTime::from_millis(ms)
}

fn call(world: &mut World, now: u64, op: &str, body: Value) -> Value {
    let r = world.call(t(now), &format!("Kinesis_20131202.{op}"), &body.to_string());
    assert_eq!(r.status, 200, "{op}: {}", r.body);
    serde_json::from_str(&r.body).unwrap_or(Value::Null)
}

const REQUEST: &str = r#"{"FunctionName": "count", "StartingPosition": "TRIM_HORIZON", "BatchSize": 3,
    "EventSourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/orders"}"#;

/// A stream with `n` records and a mapping on it; returns the mapping's UUID.
fn setup(n: u32) -> (World, String) {
    let mut world = World::new(WorldConfig::with_seed(5));
    call(
        &mut world,
        0,
        "CreateStream",
        json!({"StreamName": "orders", "ShardCount": 1}),
    );
    for i in 0..n {
        call(
            &mut world,
            10_000 + u64::from(i),
            "PutRecord",
            json!({"StreamName": "orders", "PartitionKey": format!("k{i}"), "Data": "aGk="}),
        );
    }
    let config = create_request(REQUEST).expect("valid request");
    let uuid = world
        .create_event_source_mapping(t(11_000), config)
        .expect("created");
    (world, uuid)
}

/// Runs every invocation through `function` at the world's current time until none is pending, advancing
/// `step_ms` between rounds up to `until`.
fn drive(
    world: &mut World,
    until: u64,
    step_ms: u64,
    mut function: impl FnMut(&Value) -> FunctionResult,
) -> Vec<u32> {
    let mut batches = Vec::new();
    let mut now = world.now().as_millis();
    while now <= until {
        world.advance_to(t(now));
        while let Some((uuid, inv)) = world.poll_invocation() {
            batches.push(inv.record_count);
            let result = function(&inv.event_value());
            world
                .complete_invocation(t(now), &uuid, inv.id, result)
                .expect("in flight");
        }
        now += step_ms;
    }
    batches
}

#[test]
fn a_mapping_in_the_world_delivers_every_record_in_batches() {
    let (mut world, uuid) = setup(7);
    assert!(
        world.poll_timeout().is_some_and(|due| due <= t(12_000)),
        "the mapping wants to poll"
    );
    let mut seen = Vec::new();
    let batches = drive(&mut world, 20_000, 250, |event| {
        for r in event["Records"].as_array().into_iter().flatten() {
            seen.push(
                r["kinesis"]["partitionKey"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        FunctionResult::Success(None)
    });
    assert_eq!(batches, vec![3, 3, 1]);
    assert_eq!(
        seen,
        (0..7).map(|i| format!("k{i}")).collect::<Vec<_>>(),
        "in order, once each"
    );
    let esm = world.event_source_mappings().next().expect("one mapping");
    assert_eq!(esm.view().stats.records_succeeded, 7);
    let config = configuration_json(esm);
    assert_eq!(config["UUID"], uuid.as_str());
    assert_eq!(config["BatchSize"], 3);
    assert_eq!(config["LastProcessingResult"], "OK");
    let logged = world
        .events()
        .filter(|e| matches!(e.kind, EventKind::LambdaMapping { .. }))
        .count();
    assert_eq!(logged, 4, "created, then three invocations");
}

#[test]
fn errors_are_retried_and_the_run_is_deterministic_across_snapshots() {
    let run = |snapshot_at: Option<u64>| {
        let (mut world, _) = setup(4);
        let mut calls = 0;
        let mut function = move |_: &Value| {
            calls += 1;
            if calls == 1 {
                FunctionResult::Error("Error: first call fails".into())
            } else if calls == 2 {
                FunctionResult::Timeout
            } else {
                FunctionResult::Success(Some(json!({"ok": true})))
            }
        };
        if let Some(at) = snapshot_at {
            drive(&mut world, at, 250, &mut function);
            let text = serde_json::to_string(&world).expect("snapshot");
            world = serde_json::from_str(&text).expect("restore");
        }
        drive(&mut world, 30_000, 250, &mut function);
        let stats = world
            .event_source_mappings()
            .next()
            .expect("mapping")
            .view()
            .stats;
        (
            world.event_log_hash(),
            stats.records_succeeded,
            stats.retries,
        )
    };
    let plain = run(None);
    assert_eq!(plain.1, 4);
    assert_eq!(plain.2, 2, "an error and a timeout, each retried");
    assert_eq!(run(None), plain, "same seed, same results, same run");
    assert_eq!(
        run(Some(11_500)),
        plain,
        "a snapshot in the middle changes nothing"
    );
}

#[test]
fn bad_mapping_calls_get_lambda_errors() {
    let (mut world, uuid) = setup(0);
    let again = create_request(REQUEST).expect("valid");
    let error = world
        .create_event_source_mapping(t(12_000), again)
        .expect_err("duplicate");
    assert_eq!(
        error.error_type,
        LambdaErrorType::InvalidParameterValueException
    );
    assert!(error.message.contains(&uuid));
    let error = world
        .complete_invocation(t(12_000), &uuid, 999, FunctionResult::Timeout)
        .expect_err("not in flight");
    assert_eq!(error.error_type, LambdaErrorType::ResourceNotFoundException);
    world
        .delete_event_source_mapping(t(12_000), &uuid)
        .expect("deleted");
    assert_eq!(world.event_source_mappings().count(), 0);
    let error = world
        .delete_event_source_mapping(t(12_000), &uuid)
        .expect_err("gone");
    assert_eq!(error.error_type, LambdaErrorType::ResourceNotFoundException);
    assert_eq!(world.poll_timeout(), None, "nothing left to poll");
}
