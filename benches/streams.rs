//! Data Streams throughput (issue 3's performance goal). `cargo bench --bench streams` prints, per group,
//! records per second:
//! - `put/simulator`: PutRecords of 100-byte records with random partition keys into a 4-shard stream, limits off
//!   (routing, sequence numbers, storage, metrics), through the typed service API;
//! - `put/baseline`: only MD5-hash each key and append the bytes to a per-shard buffer;
//! - `get/simulator`: GetRecords of 10,000 records of 100 bytes.
//!
//! The goal is simulator >= half the baseline's rate.

#[cfg(not(target_arch = "wasm32"))]
mod streams {
    use criterion::{BatchSize, Criterion, Throughput, criterion_group};
    use kinesim::sim::{SimRng, SimTime};
    use kinesim::streams::DataStreams;
    use kinesim::streams::hash_key::partition_key_hash;
    use kinesim::streams::service::{
        IteratorRequest, IteratorType, PutEntry, StreamMode, StreamsConfig,
    };
    use std::hint::black_box;

    const CALLS: usize = 20;
    const ENTRIES_PER_CALL: usize = 500;
    const RECORD_BYTES: usize = 100;
    const SHARDS: u64 = 4;
    const ACTIVE_MS: u64 = 10_000;

    fn entries(seed: u64) -> Vec<Vec<PutEntry>> {
        let mut rng = SimRng::new(seed);
        (0..CALLS)
            .map(|_| {
                (0..ENTRIES_PER_CALL)
                    .map(|_| PutEntry {
                        data: vec![b'x'; RECORD_BYTES],
                        partition_key: format!("user-{}", rng.next_u64()),
                        explicit_hash_key: None,
                    })
                    .collect()
            })
            .collect()
    }

    fn service(shards: u64) -> DataStreams {
        let config = StreamsConfig {
            throughput_limits_default: false,
            ..StreamsConfig::default()
        };
        let mut s = DataStreams::new(config, 0);
        s.create_stream(
            SimTime::ZERO,
            "bench",
            Some(shards),
            StreamMode::Provisioned,
        )
        .expect("stream");
        s
    }

    fn put(c: &mut Criterion) {
        let mut group = c.benchmark_group("put");
        group.throughput(Throughput::Elements((CALLS * ENTRIES_PER_CALL) as u64));
        group.bench_function("simulator", |b| {
            b.iter_batched(
                || (service(SHARDS), entries(1)),
                |(mut s, calls)| {
                    for batch in calls {
                        let results = s
                            .put_records(SimTime::from_millis(ACTIVE_MS), "bench", batch)
                            .expect("active");
                        black_box(results);
                    }
                    s
                },
                BatchSize::SmallInput,
            );
        });
        group.bench_function("baseline", |b| {
            b.iter_batched(
                || entries(1),
                |calls| {
                    let mut buffers: Vec<Vec<u8>> = vec![Vec::new(); 4];
                    for batch in &calls {
                        for entry in batch {
                            let hash = partition_key_hash(&entry.partition_key);
                            // Four even ranges: the top two bits of the hash key pick the shard.
                            let shard = usize::from((hash >> 126) as u8);
                            buffers[shard].extend_from_slice(&entry.data);
                        }
                    }
                    // The inputs are dropped outside the timing, as the simulator's are (it keeps them).
                    (buffers, calls)
                },
                BatchSize::SmallInput,
            );
        });
        group.finish();
    }

    fn get(c: &mut Criterion) {
        let records = CALLS * ENTRIES_PER_CALL;
        let mut group = c.benchmark_group("get");
        group.throughput(Throughput::Elements(records as u64));
        let mut s = service(1);
        let now = SimTime::from_millis(ACTIVE_MS);
        for batch in entries(2) {
            s.put_records(now, "bench", batch).expect("active");
        }
        group.bench_function("simulator", |b| {
            b.iter(|| {
                let request = IteratorRequest {
                    shard_id: "shardId-000000000000",
                    iterator_type: IteratorType::TrimHorizon,
                    starting_sequence_number: None,
                    timestamp_unix_ms: None,
                };
                let it = s
                    .get_shard_iterator(now, "bench", request)
                    .expect("iterator");
                let got = s.get_records(now, &it, 10_000).expect("records");
                assert_eq!(got.records.len(), records);
                black_box(got)
            });
        });
        group.finish();
    }

    criterion_group!(benches, put, get);
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(streams::benches);

/// criterion runs natively only.
#[cfg(target_arch = "wasm32")]
fn main() {}
