//! The golden scenario in headless Chromium: wasm32 must produce the very event log that native code does.
//! Run with `cargo test --target wasm32-unknown-unknown --test wasm_determinism` (see .cargo/config.toml).
#![cfg(target_arch = "wasm32")]

mod common;

use common::{GOLDEN_HASH_SEED_1, GOLDEN_KINESIS_HASH_SEED_1, run_kinesis_scenario, run_scenario};
use kinesim::sim::time::format_unix_ms_iso8601;
use kinesim::sim::{SimRng, SimTime};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn golden_hash_is_the_same_in_the_browser() {
    let outcome = run_scenario(1);
    assert_eq!(
        outcome.hash, GOLDEN_HASH_SEED_1,
        "{} events",
        outcome.events
    );
}

#[wasm_bindgen_test]
fn kinesis_traffic_matches_the_native_event_log() {
    let (hash, acked) = run_kinesis_scenario(1);
    assert_eq!(
        hash, GOLDEN_KINESIS_HASH_SEED_1,
        "{acked} records acknowledged"
    );
}

#[wasm_bindgen_test]
fn same_seed_same_run_other_seed_other_run() {
    assert_eq!(run_scenario(4), run_scenario(4));
    assert_ne!(run_scenario(4).hash, run_scenario(5).hash);
}

#[wasm_bindgen_test]
fn rng_and_time_arithmetic_match_native() {
    // usize is 32 bits here: the kernel's state and arithmetic must not care.
    let mut r = SimRng::new(0);
    assert_eq!(r.next_u64(), 0x99ec_5f36_cb75_f2b4);
    assert_eq!(r.next_u64(), 0xbf6e_1f78_4956_452a);
    assert_eq!(
        format_unix_ms_iso8601(1_709_251_199_999),
        "2024-02-29T23:59:59.999Z"
    );
    assert_eq!(SimTime::MAX.as_millis(), u64::MAX);
}
