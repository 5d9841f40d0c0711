//! Same seed and same commands give the same run; the run's fingerprint is pinned by a golden value that the
//! headless-Chromium test (`tests/wasm_determinism.rs`) checks too.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{
    GOLDEN_HASH_SEED_1, GOLDEN_KINESIS_HASH_SEED_1, run_kinesis_scenario, run_scenario, run_world,
};
use kinesim::sim::SimTime;
use kinesim::{Command, World, WorldConfig};
use proptest::prelude::*;

#[test]
fn same_seed_same_event_log() {
    let a = run_scenario(1);
    let b = run_scenario(1);
    assert_eq!(a, b);
    assert!(
        a.events > 3_000,
        "the scenario exercises timers as well as commands: {a:?}"
    );
}

#[test]
fn another_seed_another_event_log() {
    assert_ne!(run_scenario(1).hash, run_scenario(2).hash);
}

#[test]
fn event_log_hash_matches_the_golden_value() {
    let outcome = run_scenario(1);
    assert_eq!(
        outcome.hash, GOLDEN_HASH_SEED_1,
        "the event log of the golden scenario changed ({} events, ended {}); if on purpose, update \
         GOLDEN_HASH_SEED_1 in tests/common/mod.rs",
        outcome.events, outcome.end
    );
}

#[test]
fn kinesis_traffic_matches_the_golden_event_log() {
    let (hash, acked) = run_kinesis_scenario(1);
    assert_eq!(
        hash, GOLDEN_KINESIS_HASH_SEED_1,
        "the Kinesis golden scenario changed ({acked} records acknowledged); if on purpose, update \
         GOLDEN_KINESIS_HASH_SEED_1 in tests/common/mod.rs"
    );
}

#[test]
fn stepping_timer_by_timer_gives_the_same_run() {
    let stepped = run_world(1, |world, until| {
        while world.poll_timeout().is_some_and(|due| due <= until) {
            world.step();
        }
        world.advance_to(until);
    });
    assert_eq!(stepped, run_scenario(1));
}

#[test]
fn a_snapshot_restored_mid_run_continues_identically() {
    let script = common::script(3);
    let (first, rest) = script.split_at(script.len() / 2);
    let mut world = World::new(WorldConfig::with_seed(3));
    for (at, command) in first.iter().cloned() {
        let _ = world.apply(at, command);
    }
    let snapshot = serde_json::to_string(&world).expect("a world serializes");
    let mut restored: World = serde_json::from_str(&snapshot).expect("a snapshot restores");
    for (at, command) in rest.iter().cloned() {
        let _ = world.apply(at, command.clone());
        let _ = restored.apply(at, command);
    }
    let end = SimTime::from_millis(world.now().as_millis() + 60_000);
    world.advance_to(end);
    restored.advance_to(end);
    assert_eq!(world.event_log_hash(), restored.event_log_hash());
    assert_eq!(world.event_count(), restored.event_count());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// How the shell slices time (frame sizes, per-frame firing budgets) never changes the run.
    #[test]
    fn slicing_time_never_changes_the_run(seed in 0u64..1_000, budget in 1u32..50, slice_ms in 1u64..5_000) {
        let reference = run_scenario(seed);
        let sliced = run_world(seed, |world, until| {
            loop {
                let target = SimTime::from_millis((world.now().as_millis() + slice_ms).min(until.as_millis()));
                let advance = world.advance_to_bounded(target, budget);
                if advance.reached && world.now() >= until {
                    break;
                }
            }
        });
        prop_assert_eq!(sliced, reference);
    }

    /// Events are in time order with consecutive sequence numbers, and timers never fire late or early.
    #[test]
    fn the_event_log_is_ordered(seed in 0u64..10_000) {
        let mut world = World::new(WorldConfig::with_seed(seed));
        let mut last_seq = None;
        let mut last_at = SimTime::ZERO;
        for (at, command) in common::script(seed).into_iter().take(300) {
            let _ = world.apply(at, command);
            for event in world.events() {
                if last_seq.is_some_and(|s| event.seq <= s) {
                    continue;
                }
                prop_assert_eq!(event.seq, last_seq.map_or(0, |s| s + 1));
                prop_assert!(event.at >= last_at);
                last_seq = Some(event.seq);
                last_at = event.at;
            }
            if let Some(due) = world.poll_timeout() {
                prop_assert!(due >= world.now(), "a pending timer is never overdue after apply");
            }
        }
    }
}

#[test]
fn commands_round_trip_through_json() {
    for (_, command) in common::script(9).into_iter().take(50) {
        let json = serde_json::to_string(&command).expect("serializes");
        let back: Command = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, command);
    }
}
