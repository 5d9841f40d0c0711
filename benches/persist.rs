//! Session persistence (issue 7), natively. `cargo bench --bench persist` prints records per second for:
//! - `segment/encode` and `segment/decode`: one 1,024-record segment of 100-byte records (postcard + CRC-32);
//! - `session/snapshot` and `session/restore`: a snapshot commit of a 100,000-record, 8-shard world (all
//!   segments, the world JSON) and its restore from those bytes.
//!
//! The browser figure (IndexedDB, 1,000,000 records) comes from `tests/wasm_persist.rs`'s benchmark.

#[cfg(not(target_arch = "wasm32"))]
mod persist {
    use criterion::{Criterion, Throughput, criterion_group};
    use kinesim::persist::session::{SEGMENT_RECORDS, decode_segment, encode_segment};
    use kinesim::persist::{Journaled, StoredSession};
    use kinesim::sim::SimTime;
    use kinesim::streams::service::{PutEntry, Record, StreamMode};
    use kinesim::{World, WorldConfig};
    use std::hint::black_box;

    const WORLD_RECORDS: u32 = 100_000;

    fn records() -> Vec<Record> {
        (0..SEGMENT_RECORDS)
            .map(|i| Record {
                index: i,
                arrival: SimTime::from_millis(i * 3),
                partition_key: format!("user-{i}"),
                data: vec![b'x'; 100],
            })
            .collect()
    }

    fn world() -> World {
        let mut config = WorldConfig::with_seed(7);
        config.streams.throughput_limits_default = false;
        let mut world = World::new(config);
        world
            .streams_mut()
            .create_stream(SimTime::ZERO, "bench", Some(8), StreamMode::Provisioned)
            .expect("creates");
        let mut now = 60_000;
        world.advance_to(SimTime::from_millis(now));
        for call in 0..WORLD_RECORDS / 500 {
            let entries = (0..500)
                .map(|i| PutEntry {
                    data: vec![b'x'; 100],
                    partition_key: format!("pk-{call}-{i}"),
                    explicit_hash_key: None,
                })
                .collect();
            world
                .streams_mut()
                .put_records(SimTime::from_millis(now), "bench", entries)
                .expect("puts");
            now += 10;
        }
        world
    }

    fn segment(c: &mut Criterion) {
        let records = records();
        let bytes = encode_segment(records.iter()).expect("encodes");
        let mut group = c.benchmark_group("segment");
        group.throughput(Throughput::Elements(SEGMENT_RECORDS));
        group.bench_function("encode", |b| {
            b.iter(|| black_box(encode_segment(records.iter())))
        });
        group.bench_function("decode", |b| {
            b.iter(|| black_box(decode_segment(&bytes).expect("decodes")))
        });
        group.finish();
    }

    fn session(c: &mut Criterion) {
        let world = world();
        let mut group = c.benchmark_group("session");
        group.sample_size(10);
        group.throughput(Throughput::Elements(u64::from(WORLD_RECORDS)));
        let mut journaled = Journaled::new(world.clone());
        group.bench_function("snapshot", |b| {
            b.iter(|| black_box(Journaled::new(world.clone()).prepare_commit(true)))
        });
        let (commit, _) = journaled.prepare_commit(true);
        let stored = StoredSession {
            snapshot: commit.snapshot,
            segments: commit.segment_puts,
            journal: Vec::new(),
        };
        group.bench_function("restore", |b| {
            b.iter(|| {
                black_box(
                    Journaled::restore(&stored, World::new(WorldConfig::with_seed(7)))
                        .expect("restores"),
                )
            })
        });
        group.finish();
    }

    criterion_group!(benches, segment, session);
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(persist::benches);

/// criterion runs natively only.
#[cfg(target_arch = "wasm32")]
fn main() {}
