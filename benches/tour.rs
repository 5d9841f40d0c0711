//! The browser frames benchmark's workload, natively: a 4-shard stream taking writes at its full rate (a
//! clickstream producer at 4,000 records/s over 10,000 uniform keys) while a TRIM_HORIZON consumer reads, advanced
//! the way the page advances it (journaled, 50 ms slices). `cargo bench --bench tour` prints simulated seconds per
//! wall second and wall microseconds per simulated second; `TOUR_SIM_S` (default 120) sets the simulated run.
//! The page needs 100 simulated seconds per wall second (100x) within its ~10 ms of work per 16.7 ms frame.
#![allow(clippy::print_stdout)]

#[cfg(not(target_arch = "wasm32"))]
mod support;

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    bench::run();
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod bench {
    use kinesim::persist::session::Journaled;
    use kinesim::sim::SimTime;
    use kinesim::workload::consumer::StartPosition;
    use kinesim::workload::generator::{GeneratorSpec, KeyDistribution, Template};
    use kinesim::{Command, World, WorldConfig};
    use std::time::Instant;

    const STREAM: &str = "bench";
    const SHARDS: u32 = 4;
    const RATE_RECORDS_PER_S: u32 = 4_000;
    const KEYS: u32 = 10_000;
    const SLICE_MS: u64 = 50;
    const SIM_S_DEFAULT: u64 = 120;

    pub fn run() {
        let sim_s: u64 = std::env::var("TOUR_SIM_S")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(SIM_S_DEFAULT);
        let mut world = Journaled::new(World::new(WorldConfig::with_seed(1)));
        let body = format!(r#"{{"StreamName":"{STREAM}","ShardCount":{SHARDS}}}"#);
        let created = world.kinesis(SimTime::ZERO, "CreateStream", &body);
        assert!(created.status < 300, "CreateStream: {}", created.body);
        world.advance_to(SimTime::from_millis(60_000));
        let mut spec = GeneratorSpec::from_template(Template::Clickstream);
        spec.keys = KeyDistribution::Uniform { keys: KEYS };
        let now = world.world().now();
        let producer = Command::StartProducer {
            name: "clickstream".into(),
            stream: STREAM.into(),
            records_per_s: RATE_RECORDS_PER_S,
            spec,
        };
        world.apply(now, producer).expect("producer");
        let consumer = Command::StartConsumer {
            name: "reader".into(),
            stream: STREAM.into(),
            start: StartPosition::TrimHorizon,
            poll_interval_ms: 1_000,
        };
        world.apply(now, consumer).expect("consumer");

        let started = Instant::now();
        let end = now.as_millis() + sim_s * 1_000;
        let mut fired = 0u64;
        let mut t = now.as_millis();
        while t < end {
            t = (t + SLICE_MS).min(end);
            fired += u64::from(
                world
                    .advance_to_bounded(SimTime::from_millis(t), u32::MAX / 2)
                    .fired,
            );
        }
        let wall_s = started.elapsed().as_secs_f64();
        println!(
            "tour: {sim_s} simulated s in {wall_s:.2} wall s: {:.1} simulated s per wall s, {:.0} wall us per \
             simulated s, {fired} timer firings, {} events",
            sim_s as f64 / wall_s,
            wall_s * 1e6 / sim_s as f64,
            world.world().event_count(),
        );
        println!("peak memory (VmHWM): {}", crate::support::peak_memory());
        let streams = world.world().streams();
        let stats = world
            .world()
            .producers()
            .get("clickstream")
            .map(|e| e.producer.stats.clone())
            .unwrap_or_default();
        println!(
            "records kept: {} of {} bytes; producer acknowledged {}, failed {}",
            streams.records_kept_bytes(),
            streams.records_kept_bytes_max(),
            stats.acknowledged,
            stats.failed,
        );
    }
}
