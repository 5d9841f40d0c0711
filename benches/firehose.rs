//! Firehose throughput (issue 5's performance figure). `cargo bench --bench firehose` prints records per second:
//! - `firehose/direct_put_gzip`: PutRecordBatch of 100-byte JSON-ish records into a Direct PUT stream with a
//!   1 MiB buffer delivering GZIP objects to the simulated S3 (record ids, buffering, gzip, keys, metrics),
//!   through the typed service API;
//! - `firehose/data_plane_put_records`: PutRecords of the same records into a 4-shard Data Streams stream, limits
//!   off, from the same run, for comparison.

#[cfg(not(target_arch = "wasm32"))]
mod firehose {
    use criterion::{BatchSize, Criterion, Throughput, criterion_group};
    use kinesim::firehose::service::{
        Compression, CreateRequest, DirectRecord, S3Destination, SourceConfig,
    };
    use kinesim::firehose::{DeliveryStreams, FirehoseConfig};
    use kinesim::sim::{SimRng, SimTime};
    use kinesim::streams::DataStreams;
    use kinesim::streams::service::{PutEntry, StreamMode, StreamsConfig};
    use std::hint::black_box;

    const CALLS: usize = 40;
    const ENTRIES_PER_CALL: usize = 500;
    const RECORD_BYTES: usize = 100;
    const ACTIVE_MS: u64 = 10_000;

    fn record(rng: &mut SimRng) -> Vec<u8> {
        let mut data = format!(
            "{{\"user\":{},\"page\":\"/p/{}\"}}",
            rng.below(100_000),
            rng.below(50)
        )
        .into_bytes();
        data.resize(RECORD_BYTES, b' ');
        data
    }

    fn batches(seed: u64) -> Vec<Vec<Vec<u8>>> {
        let mut rng = SimRng::new(seed);
        (0..CALLS)
            .map(|_| (0..ENTRIES_PER_CALL).map(|_| record(&mut rng)).collect())
            .collect()
    }

    fn delivery_stream() -> DeliveryStreams {
        let mut f = DeliveryStreams::new(FirehoseConfig::default(), SimRng::new(1), 0);
        f.create(
            SimTime::ZERO,
            CreateRequest {
                name: "bench".into(),
                source: SourceConfig::DirectPut,
                destination: S3Destination {
                    extended: true,
                    role_arn: "arn:aws:iam::000000000000:role/r".into(),
                    bucket_arn: "arn:aws:s3:::bench".into(),
                    prefix: String::new(),
                    error_output_prefix: None,
                    size_mib: 1,
                    interval_seconds: 300,
                    compression: Compression::Gzip,
                    processing_enabled: false,
                    processors: Vec::new(),
                    dynamic_partitioning: false,
                    file_extension: None,
                    custom_time_zone: None,
                    http: None,
                    opensearch: None,
                    redshift: None,
                },
                tags: Vec::new(),
            },
        )
        .expect("created");
        f
    }

    fn put(c: &mut Criterion) {
        let mut group = c.benchmark_group("firehose");
        group.throughput(Throughput::Elements((CALLS * ENTRIES_PER_CALL) as u64));
        group.bench_function("direct_put_gzip", |b| {
            b.iter_batched(
                || (delivery_stream(), batches(1)),
                |(mut f, calls)| {
                    for batch in calls {
                        let records = batch
                            .into_iter()
                            .map(|data| DirectRecord {
                                data,
                                ..DirectRecord::default()
                            })
                            .collect();
                        let ids = f
                            .put_records(SimTime::from_millis(ACTIVE_MS), "bench", records)
                            .expect("active");
                        black_box(ids);
                    }
                    assert!(
                        f.s3()
                            .bucket("bench")
                            .is_some_and(|b| !b.objects.is_empty())
                    );
                    f
                },
                BatchSize::SmallInput,
            );
        });
        group.bench_function("data_plane_put_records", |b| {
            b.iter_batched(
                || {
                    let config = StreamsConfig {
                        throughput_limits_default: false,
                        ..StreamsConfig::default()
                    };
                    let mut s = DataStreams::new(config, 0);
                    s.create_stream(SimTime::ZERO, "bench", Some(4), StreamMode::Provisioned)
                        .expect("stream");
                    let mut rng = SimRng::new(2);
                    let calls: Vec<Vec<PutEntry>> = batches(1)
                        .into_iter()
                        .map(|batch| {
                            batch
                                .into_iter()
                                .map(|data| PutEntry {
                                    data,
                                    partition_key: format!("user-{}", rng.next_u64()),
                                    explicit_hash_key: None,
                                })
                                .collect()
                        })
                        .collect();
                    (s, calls)
                },
                |(mut s, calls)| {
                    for batch in calls {
                        black_box(
                            s.put_records(SimTime::from_millis(ACTIVE_MS), "bench", batch)
                                .expect("active"),
                        );
                    }
                    s
                },
                BatchSize::SmallInput,
            );
        });
        group.finish();
    }

    criterion_group!(benches, put);
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(firehose::benches);

/// criterion runs natively only.
#[cfg(target_arch = "wasm32")]
fn main() {}
