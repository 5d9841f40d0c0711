//! Seed sweeps of mixed producers and consumers against the Kinesis API, with every invariant checked after
//! every step. A failure names its seed: `KINESIM_SEED=<n> cargo test --test streams_simulation` reruns it alone.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::kinesis::Driver;

const SEEDS: u64 = 10;
const STEPS: u32 = 1_000;

fn seeds() -> Vec<u64> {
    match std::env::var("KINESIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seed) => vec![seed],
        None => (0..SEEDS).collect(),
    }
}

/// Runs [`STEPS`] steps, checking every invariant after each; a failure names the step and the seed.
fn run_checked(driver: &mut Driver, seed: u64, step: impl Fn(&mut Driver)) {
    for i in 0..STEPS {
        step(driver);
        let checked =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| driver.check_invariants()));
        assert!(
            checked.is_ok(),
            "invariant broken at step {i} with KINESIM_SEED={seed}"
        );
    }
}

#[test]
fn producers_and_consumers_keep_every_invariant() {
    let mut throttled = 0;
    for seed in seeds() {
        let shards = 1 + u32::try_from(seed % 4).expect("small");
        let mut driver = Driver::new(seed, shards);
        run_checked(&mut driver, seed, Driver::step);
        driver.drain();
        driver.check_invariants();
        driver.check_nothing_lost();
        assert!(!driver.acked.is_empty(), "seed {seed} wrote nothing");
        throttled += driver.throttled_puts;
    }
    assert!(
        throttled > 0,
        "the sweep never reached a shard's write limit, so it did not test it"
    );
}

#[test]
fn a_run_is_the_same_twice_and_differs_by_seed() {
    let run = |seed| {
        let mut driver = Driver::new(seed, 2);
        for _ in 0..300 {
            driver.step();
        }
        (driver.world.event_log_hash(), driver.acked.len())
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5).0, run(6).0);
}

#[test]
fn resharding_under_load_keeps_every_invariant() {
    let mut reshards = 0;
    for seed in seeds() {
        let mut driver = Driver::new(seed, 2 + u32::try_from(seed % 3).expect("small"));
        run_checked(&mut driver, seed, Driver::step_with_resharding);
        // Let the last reshard finish, then read parents and children to their ends.
        driver.wait(60_000);
        driver.refresh_shards();
        driver.drain();
        driver.check_invariants();
        driver.check_nothing_lost();
        reshards += driver.reshards;
    }
    assert!(
        reshards > 0,
        "the sweep never resharded, so it did not test resharding"
    );
}
