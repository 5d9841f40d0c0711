//! SQL analytics throughput (issue 6's performance goal). `cargo bench --bench analytics` prints rows per second:
//! - `sql/tumbling_1000_keys_values`: typed rows through `GROUP BY k, STEP(ROWTIME BY INTERVAL '1' SECOND)` with
//!   COUNT/SUM/AVG over 1,000 keys (windows close as time passes);
//! - `sql/tumbling_1000_keys_json`: the same query fed JSON records (record parsing included);
//! - `sql/sliding_avg`: AVG(v) OVER (PARTITION BY k RANGE INTERVAL '10' SECOND PRECEDING) over 100 keys;
//! - `put/simulator`: the data plane's PutRecords figure (as in `benches/streams.rs`) from the same run.
//!
//! The goal is at least 1 million rows/s natively for the tumbling case.

#[cfg(not(target_arch = "wasm32"))]
mod analytics {
    use criterion::{BatchSize, Criterion, Throughput, criterion_group};
    use kinesim::analytics::{Application, InputSchema, SqlType, Value};
    use kinesim::sim::{SimRng, SimTime};
    use kinesim::streams::DataStreams;
    use kinesim::streams::service::{PutEntry, StreamMode, StreamsConfig};
    use std::hint::black_box;

    const ROWS: u64 = 100_000;
    /// Rows per simulated millisecond: 100,000 rows span 10 s, so ten 1-second windows open and close.
    const ROWS_PER_MS: u64 = 10;

    fn schema() -> InputSchema {
        InputSchema::json(&[
            ("K", SqlType::Integer, "$.k"),
            ("V", SqlType::Double, "$.v"),
        ])
    }

    fn tumbling() -> Application {
        Application::new(
            "CREATE OR REPLACE STREAM \"DEST\" (k INTEGER, n INTEGER, s DOUBLE, a DOUBLE);
             CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"DEST\"
               SELECT STREAM k, COUNT(*), SUM(v), AVG(v) FROM \"SOURCE_SQL_STREAM_001\"
               GROUP BY k, STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '1' SECOND);",
            schema(),
        )
        .expect("plans")
    }

    fn sliding() -> Application {
        Application::new(
            "CREATE OR REPLACE STREAM \"DEST\" (k INTEGER, a DOUBLE);
             CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"DEST\"
               SELECT STREAM k, AVG(v) OVER W FROM \"SOURCE_SQL_STREAM_001\"
               WINDOW W AS (PARTITION BY k RANGE INTERVAL '10' SECOND PRECEDING);",
            schema(),
        )
        .expect("plans")
    }

    fn values(keys: u64) -> Vec<(SimTime, Vec<Value>)> {
        let mut rng = SimRng::new(6);
        (0..ROWS)
            .map(|i| {
                let k = i64::try_from(rng.below(keys)).expect("small");
                let v = f64::from(u32::try_from(rng.below(1000)).expect("small"));
                (
                    SimTime::from_millis(i / ROWS_PER_MS),
                    vec![Value::Int(k), Value::Double(v)],
                )
            })
            .collect()
    }

    fn sql(c: &mut Criterion) {
        let mut group = c.benchmark_group("sql");
        group.throughput(Throughput::Elements(ROWS));
        group.bench_function("tumbling_1000_keys_values", |b| {
            b.iter_batched(
                || (tumbling(), values(1000)),
                |(mut app, rows)| {
                    for (t, row) in rows {
                        app.push_values(t, row);
                    }
                    app.advance(SimTime::from_millis(ROWS / ROWS_PER_MS + 1_000));
                    black_box(app.poll_output().len());
                    app
                },
                BatchSize::LargeInput,
            );
        });
        group.bench_function("tumbling_1000_keys_json", |b| {
            b.iter_batched(
                || {
                    let records: Vec<(SimTime, Vec<u8>)> = values(1000)
                        .into_iter()
                        .map(|(t, row)| {
                            (
                                t,
                                format!(
                                    "{{\"k\":{},\"v\":{}}}",
                                    row[0].to_text(),
                                    row[1].to_text()
                                )
                                .into_bytes(),
                            )
                        })
                        .collect();
                    (tumbling(), records)
                },
                |(mut app, records)| {
                    for (t, data) in &records {
                        app.push(*t, data);
                    }
                    app.advance(SimTime::from_millis(ROWS / ROWS_PER_MS + 1_000));
                    black_box(app.poll_output().len());
                    (app, records)
                },
                BatchSize::LargeInput,
            );
        });
        group.bench_function("sliding_avg", |b| {
            b.iter_batched(
                || (sliding(), values(100)),
                |(mut app, rows)| {
                    for (t, row) in rows {
                        app.push_values(t, row);
                    }
                    black_box(app.poll_output().len());
                    app
                },
                BatchSize::LargeInput,
            );
        });
        group.finish();
    }

    const CALLS: usize = 20;
    const ENTRIES_PER_CALL: usize = 500;

    /// The PutRecords measurement of `benches/streams.rs` (100-byte records, random keys, 4 shards, limits off).
    fn put(c: &mut Criterion) {
        let entries = |seed: u64| -> Vec<Vec<PutEntry>> {
            let mut rng = SimRng::new(seed);
            (0..CALLS)
                .map(|_| {
                    (0..ENTRIES_PER_CALL)
                        .map(|_| PutEntry {
                            data: vec![b'x'; 100],
                            partition_key: format!("user-{}", rng.next_u64()),
                            explicit_hash_key: None,
                        })
                        .collect()
                })
                .collect()
        };
        let service = || {
            let config = StreamsConfig {
                throughput_limits_default: false,
                ..StreamsConfig::default()
            };
            let mut s = DataStreams::new(config, 0);
            s.create_stream(SimTime::ZERO, "bench", Some(4), StreamMode::Provisioned)
                .expect("stream");
            s
        };
        let mut group = c.benchmark_group("put");
        group.throughput(Throughput::Elements((CALLS * ENTRIES_PER_CALL) as u64));
        group.bench_function("simulator", |b| {
            b.iter_batched(
                || (service(), entries(1)),
                |(mut s, calls)| {
                    for batch in calls {
                        black_box(
                            s.put_records(SimTime::from_millis(10_000), "bench", batch)
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

    criterion_group! {
        name = benches;
        config = Criterion::default().sample_size(10);
        targets = sql, put
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(analytics::benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
