//! Kernel throughput: timer queue operations, World timer firings (each one hashed into the event log), and RNG
//! draws. Run with `cargo bench --bench kernel`; criterion prints time per iteration and throughput.

#[cfg(not(target_arch = "wasm32"))]
mod kernel {
    use criterion::{BatchSize, Criterion, Throughput, criterion_group};
    use kinesim::sim::{SimRng, SimTime, TimerQueue};
    use kinesim::{Command, World, WorldConfig};
    use std::hint::black_box;

    const TIMERS: u64 = 10_000;
    const TICKERS: u32 = 100;
    const TICKER_PERIOD_MS: u64 = 100;
    const RUN_MS: u64 = 10_000;

    fn timer_queue(c: &mut Criterion) {
        let mut group = c.benchmark_group("timer_queue");
        group.throughput(Throughput::Elements(TIMERS));
        group.bench_function("schedule_then_pop_10k", |b| {
            b.iter_batched(
                || SimRng::new(1),
                |mut rng| {
                    let mut q = TimerQueue::new(u32::MAX);
                    for i in 0..TIMERS {
                        let due = SimTime::from_millis(rng.below(1_000_000));
                        let _ = q.schedule(due, i);
                    }
                    while let Some(fired) = q.pop_due(SimTime::MAX) {
                        black_box(fired);
                    }
                },
                BatchSize::SmallInput,
            );
        });
        group.finish();
    }

    fn world_firings(c: &mut Criterion) {
        let firings = u64::from(TICKERS) * (RUN_MS / TICKER_PERIOD_MS);
        let mut group = c.benchmark_group("world");
        group.throughput(Throughput::Elements(firings));
        group.bench_function("ticker_firings_with_event_log_hash", |b| {
            b.iter_batched(
                || {
                    let mut world = World::new(WorldConfig::with_seed(1));
                    for i in 0..TICKERS {
                        let command = Command::StartTicker {
                            name: format!("ticker-{i}"),
                            period_ms: TICKER_PERIOD_MS,
                            jitter_ms: 10,
                        };
                        let _ = world.apply(SimTime::ZERO, command);
                    }
                    world
                },
                |mut world| {
                    world.advance_to(SimTime::from_millis(RUN_MS));
                    black_box(world.event_log_hash())
                },
                BatchSize::LargeInput,
            );
        });
        group.finish();
    }

    fn rng(c: &mut Criterion) {
        let mut group = c.benchmark_group("rng");
        group.throughput(Throughput::Elements(1_000));
        group.bench_function("below_1000_draws", |b| {
            let mut rng = SimRng::new(3);
            b.iter(|| {
                for _ in 0..1_000 {
                    black_box(rng.below(black_box(1_000_003)));
                }
            });
        });
        group.finish();
    }

    criterion_group!(benches, timer_queue, world_firings, rng);
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(kernel::benches);

/// criterion runs natively only.
#[cfg(target_arch = "wasm32")]
fn main() {}
