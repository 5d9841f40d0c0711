//! The scripted determinism scenario, shared by the native and the headless-Chromium tests.
#![allow(dead_code)]

pub mod kinesis;

use kinesim::sim::{SimRng, SimTime};
use kinesim::{Command, World, WorldConfig};

/// The event-log hash of [`run_scenario`] with seed 1. Native and wasm32 tests both compare against it, so the
/// two targets agree bit for bit. It changes only when the event format or the kernel's behaviour changes on
/// purpose: then update it here in the same commit and say why.
pub const GOLDEN_HASH_SEED_1: &str =
    "9ac2cd0234273cbdcbcf18aa56cb2943938c8a330013668a3832ecccf4d04054";

/// Commands in the scenario.
pub const SCENARIO_COMMANDS: u32 = 600;

/// What a scenario run produced.
#[derive(Debug, PartialEq, Eq)]
pub struct ScenarioOutcome {
    pub hash: String,
    pub events: u64,
    pub end: SimTime,
}

/// One scripted command: the time it is applied at and the command.
pub fn script(seed: u64) -> Vec<(SimTime, Command)> {
    // The script is generated from its own stream, so another seed gives other commands as well as other draws.
    let mut rng = SimRng::new(seed).fork("scenario/script");
    let mut now_ms = 0u64;
    let mut names: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for i in 0..SCENARIO_COMMANDS {
        now_ms += rng.below(2_000);
        let at = SimTime::from_millis(now_ms);
        let command = match rng.below(10) {
            0 | 1 => {
                let name = format!("alarm-{i}");
                names.push(name.clone());
                Command::SetAlarm {
                    name,
                    delay_ms: rng.below(30_000),
                }
            }
            2 => {
                let name = format!("ticker-{i}");
                names.push(name.clone());
                Command::StartTicker {
                    name,
                    period_ms: 250 + rng.below(5_000),
                    jitter_ms: rng.below(500),
                }
            }
            3 if !names.is_empty() => {
                // Sometimes the name is gone already (a fired alarm): the refusal is part of the log too.
                let pick = usize::try_from(rng.below(names.len() as u64)).expect("an index fits");
                Command::Cancel {
                    name: names.swap_remove(pick),
                }
            }
            4 => Command::Note {
                text: format!("note {i}"),
            },
            5 => Command::Draw {
                stream: String::new(),
                bound: 0,
            }, // always refused
            _ => Command::Draw {
                stream: format!("stream-{}", rng.below(8)),
                bound: 1 + rng.below(1_000_000),
            },
        };
        out.push((at, command));
    }
    out
}

/// Runs the scenario for `seed`: every command of [`script`], then one more minute of timers.
pub fn run_scenario(seed: u64) -> ScenarioOutcome {
    run_world(seed, |world, until| {
        world.advance_to(until);
    })
}

/// Runs the scenario, letting `advance` move time between commands (to compare ways of slicing time).
pub fn run_world(seed: u64, mut advance: impl FnMut(&mut World, SimTime)) -> ScenarioOutcome {
    let mut world = World::new(WorldConfig::with_seed(seed));
    for (at, command) in script(seed) {
        advance(&mut world, at);
        let _ = world.apply(at, command);
    }
    let end = SimTime::from_millis(world.now().as_millis() + 60_000);
    advance(&mut world, end);
    world.advance_to(end);
    ScenarioOutcome {
        hash: world.event_log_hash(),
        events: world.event_count(),
        end: world.now(),
    }
}

/// The event-log hash of [`run_kinesis_scenario`] with seed 1: producers and consumers through the Kinesis JSON
/// API. Checked natively and in Chromium, like [`GOLDEN_HASH_SEED_1`].
pub const GOLDEN_KINESIS_HASH_SEED_1: &str =
    "28645a377c326b7904788ccdd4de02b1478559138bee697911d0e669575a51ad";

/// 300 random steps of Kinesis traffic on a 3-shard stream, then a full drain; returns the event-log hash and
/// how many records were acknowledged.
pub fn run_kinesis_scenario(seed: u64) -> (String, usize) {
    let mut driver = kinesis::Driver::new(seed, 3);
    for _ in 0..300 {
        driver.step();
    }
    driver.drain();
    driver.check_invariants();
    driver.check_nothing_lost();
    (driver.world.event_log_hash(), driver.acked.len())
}
