//! The KCL group benchmark: one simulated hour of an on-demand stream under a load ramping linearly from 0 to
//! `KCL_BENCH_PEAK_KIB_PER_S` (default 2,048 KiB/s) of ~1 KB records over many partition keys, read by a 4-worker
//! KCL group with the KCL's defaults. `cargo bench --bench kcl` prints simulated seconds per wall second, records
//! put and processed, lag, shards and leases at the end, and peak memory (VmHWM, Linux).
//!
//! The stream keeps every record for its 24-hour retention, so memory grows with the load: the default ramp to
//! 2 MiB/s puts ~3.8 million records and peaks near 4 GB (about 1.1 KB per record kept). Works whether or not
//! on-demand streams reshard on their own. A run that exceeds a minute of wall time stops and says so.
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
    use kinesim::sim::{SimRng, SimTime};
    use kinesim::streams::DataStreams;
    use kinesim::streams::service::{PutEntry, StreamMode, StreamsConfig};
    use kinesim::workload::kcl::{CheckpointingProcessor, KclApplication, KclConfig};
    use std::time::Instant;

    const STREAM: &str = "clicks";
    const HOUR_MS: u64 = 3_600_000;
    const TICK_MS: u64 = 100;
    const RECORD_BYTES: usize = 1_000;
    const KEYS: u64 = 100_000;
    const PUT_BATCH_MAX: usize = 500;
    const PEAK_KIB_PER_S_DEFAULT: u64 = 2_048;
    const WALL_BUDGET_S: u64 = 60;
    /// Bound on kept record bytes for this run, in bytes (16 GiB: the ramp keeps ~4 GB).
    const RECORDS_KEPT_BYTES_MAX: u64 = 16 * 1_024 * 1_024 * 1_024;

    fn peak_kib_per_s() -> u64 {
        std::env::var("KCL_BENCH_PEAK_KIB_PER_S")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(PEAK_KIB_PER_S_DEFAULT)
    }

    pub fn run() {
        let peak = peak_kib_per_s();
        // This run keeps ~4 GB of records on purpose: past the default bound a browser session has.
        let config = StreamsConfig {
            records_kept_bytes_max: RECORDS_KEPT_BYTES_MAX,
            ..StreamsConfig::default()
        };
        let mut streams = DataStreams::new(config, 0);
        streams
            .create_stream(SimTime::ZERO, STREAM, None, StreamMode::OnDemand)
            .expect("stream");
        let start = SimTime::from_millis(10_000);
        let mut config = KclConfig::new("bench", STREAM);
        config.record_events = false;
        let rng = SimRng::new(42);
        let mut app = KclApplication::new(config, CheckpointingProcessor::new(1), rng.fork("kcl"))
            .expect("config");
        for w in ["worker-1", "worker-2", "worker-3", "worker-4"] {
            app.add_worker(start, w).expect("worker");
        }
        let mut keys = rng.fork("keys");
        let end = SimTime::from_millis(start.as_millis() + HOUR_MS);
        let mut next_tick = start;
        let mut carry_bytes: u64 = 0;
        let (mut acked, mut throttled) = (0u64, 0u64);
        let wall = Instant::now();
        let mut stopped_early = None;
        let mut next_check = start.as_millis() + 60_000;
        loop {
            let group = app.poll_timeout().unwrap_or(SimTime::MAX);
            let now = next_tick.min(group);
            if now >= end {
                break;
            }
            if now == next_tick {
                // Linear ramp: bytes per tick = peak * elapsed / hour.
                let elapsed = now.as_millis() - start.as_millis();
                let rate_bytes_per_s = peak * 1_024 * elapsed / HOUR_MS;
                carry_bytes += rate_bytes_per_s * TICK_MS / 1_000;
                let records =
                    usize::try_from(carry_bytes / RECORD_BYTES as u64).unwrap_or(usize::MAX);
                carry_bytes %= RECORD_BYTES as u64;
                let mut left = records;
                while left > 0 {
                    let n = left.min(PUT_BATCH_MAX);
                    left -= n;
                    let entries = (0..n)
                        .map(|_| PutEntry {
                            data: vec![b'x'; RECORD_BYTES - 16],
                            partition_key: format!("user-{:010}", keys.below(KEYS)),
                            explicit_hash_key: None,
                        })
                        .collect();
                    if let Ok(results) = streams.put_records(now, STREAM, entries) {
                        for r in results {
                            if r.is_ok() {
                                acked += 1;
                            } else {
                                throttled += 1;
                            }
                        }
                    }
                }
                next_tick = SimTime::from_millis(now.as_millis() + TICK_MS);
            }
            if group <= now {
                app.handle_timeout(now, &mut streams);
            }
            if now.as_millis() >= next_check {
                next_check += 60_000;
                let spent = wall.elapsed().as_secs();
                if spent > WALL_BUDGET_S {
                    stopped_early = Some(now);
                    break;
                }
            }
        }
        let secs = wall.elapsed().as_secs_f64();
        let simulated_ms = stopped_early.unwrap_or(end).as_millis() - start.as_millis();
        let view = app.view();
        let stats = app.stats();
        let shards = streams
            .describe(end, STREAM)
            .map(|v| v.open_shard_count)
            .unwrap_or(0);
        let lag = view
            .leases
            .iter()
            .filter_map(|l| l.millis_behind_latest)
            .max()
            .unwrap_or(0);
        println!(
            "kcl group bench: on-demand stream, ramp 0 -> {peak} KiB/s of {RECORD_BYTES}-byte records over one hour, {KEYS} keys, 4 workers"
        );
        if let Some(at) = stopped_early {
            println!(
                "NOTE: stopped after {} simulated s because the run exceeded {WALL_BUDGET_S} s of wall time; lower KCL_BENCH_PEAK_KIB_PER_S",
                (at.as_millis() - start.as_millis()) / 1_000
            );
        }
        println!("simulated seconds: {}", simulated_ms / 1_000);
        println!("wall seconds: {secs:.2}");
        println!(
            "simulated seconds per wall second: {:.0}",
            simulated_ms as f64 / 1_000.0 / secs
        );
        println!("records acknowledged: {acked} (throttled puts: {throttled})");
        println!(
            "records processed: {} in {} batches; GetRecords calls {}, throttled {}; checkpoints {}",
            stats.records_processed,
            stats.batches,
            stats.get_records_calls,
            stats.read_throttles,
            stats.checkpoints
        );
        println!(
            "leases: {} (taken {}, stolen {}, lost {}); open shards at the end: {shards}; max lag at the end: {lag} ms",
            view.leases.len(),
            stats.leases_taken,
            stats.leases_stolen,
            stats.leases_lost
        );
        for w in &view.workers {
            println!(
                "  {}: {} leases, {} records processed",
                w.worker_id, w.leases_held, w.records_processed
            );
        }
        println!("peak memory (VmHWM): {}", crate::support::peak_memory());
    }
}
