//! Producer and polling-consumer actors run by the World on simulated time: determinism (same seed, same records),
//! a hot key throttling its shard until the shard is split, and a consumer that reads everything and replays.

use kinesim::sim::SimTime;
use kinesim::workload::consumer::StartPosition;
use kinesim::workload::generator::{GeneratorSpec, KeyDistribution, Template};
use kinesim::{Command, World, WorldConfig};

fn t(ms: u64) -> SimTime {
    SimTime::from_millis(ms)
}

fn hot_clickstream() -> GeneratorSpec {
    GeneratorSpec {
        keys: KeyDistribution::HotKeys {
            keys: 200,
            hot: 2,
            hot_percent: 80,
        },
        record_bytes: 200,
        ..GeneratorSpec::from_template(Template::Clickstream)
    }
}

fn world_with_producer(seed: u64, rate: u32) -> World {
    let mut w = World::new(WorldConfig::with_seed(seed));
    let created = w.kinesis(
        t(0),
        "CreateStream",
        r#"{"StreamName":"clicks","ShardCount":2}"#,
    );
    assert_eq!(created.status, 200, "{}", created.body);
    w.apply(
        t(10_000),
        Command::StartProducer {
            name: "web".into(),
            stream: "clicks".into(),
            records_per_s: rate,
            spec: hot_clickstream(),
        },
    )
    .expect("starts");
    w
}

fn records_of(w: &World) -> Vec<(String, String, Vec<u8>)> {
    let mut out = Vec::new();
    for shard in ["shardId-000000000000", "shardId-000000000001"] {
        for r in w
            .streams()
            .shard_records("clicks", shard)
            .into_iter()
            .flatten()
        {
            out.push((shard.to_string(), r.partition_key.clone(), r.data.clone()));
        }
    }
    out
}

#[test]
fn same_seed_same_records_and_hash() {
    let run = |seed| {
        let mut w = world_with_producer(seed, 300);
        w.advance_to(t(40_000));
        (records_of(&w), w.event_log_hash())
    };
    let (a, ha) = run(5);
    let (b, hb) = run(5);
    let (c, _) = run(6);
    assert!(a.len() > 8_000, "{}", a.len());
    assert_eq!(a, b);
    assert_eq!(ha, hb);
    assert_ne!(a, c);
}

#[test]
fn a_hot_key_throttles_until_its_shard_is_split() {
    // Two hot keys (user-0 and user-1 both hash into the upper half) take 80% of 1,400 records/s: shard 1 gets
    // about 1,260 a second, over its 1,000. Splitting it at its middle puts one hot key in each child.
    let mut w = world_with_producer(1, 1_400);
    w.advance_to(t(30_000));
    let stats = w.producers()["web"].producer.stats.clone();
    assert!(stats.throttled > 1_000, "{stats:?}");
    assert!(stats.acknowledged > 10_000, "{stats:?}");
    let middle = (1u128 << 127) + (1u128 << 126);
    let split = w.kinesis(
        t(30_000),
        "SplitShard",
        &format!(
            r#"{{"StreamName":"clicks","ShardToSplit":"shardId-000000000001","NewStartingHashKey":"{middle}"}}"#
        ),
    );
    assert_eq!(split.status, 200, "{}", split.body);
    w.advance_to(t(70_000));
    let before = w.producers()["web"].producer.stats.throttled;
    w.advance_to(t(130_000));
    let after = w.producers()["web"].producer.stats.throttled;
    assert_eq!(after, before, "no throttling once the hot shard is split");
}

#[test]
fn a_trim_horizon_consumer_reads_everything_and_replays() {
    let mut w = world_with_producer(2, 200);
    w.advance_to(t(20_000));
    w.apply(t(20_000), Command::StopProducer { name: "web".into() })
        .expect("stops");
    let written = w.producers()["web"].producer.stats.acknowledged;
    w.apply(
        t(20_000),
        Command::StartConsumer {
            name: "reader".into(),
            stream: "clicks".into(),
            start: StartPosition::TrimHorizon,
            poll_interval_ms: 1_000,
        },
    )
    .expect("starts");
    w.advance_to(t(30_000));
    let c = &w.consumers()["reader"].consumer;
    assert_eq!(c.stats.records, written);
    assert_eq!(c.millis_behind_latest(), 0);
    assert_eq!(c.cursors.len(), 2);
    w.apply(
        t(30_000),
        Command::ReplayConsumer {
            name: "reader".into(),
            start: StartPosition::TrimHorizon,
        },
    )
    .expect("replays");
    w.advance_to(t(40_000));
    assert_eq!(w.consumers()["reader"].consumer.stats.records, 2 * written);

    let err = w
        .apply(
            t(40_000),
            Command::StartConsumer {
                name: "bad".into(),
                stream: "nope".into(),
                start: StartPosition::Latest,
                poll_interval_ms: 1_000,
            },
        )
        .expect_err("no such stream");
    assert!(err.message.contains("nope"), "{err}");
}

#[test]
fn a_log_file_producer_streams_its_lines_then_stops() {
    let mut w = World::new(WorldConfig::with_seed(3));
    w.kinesis(
        t(0),
        "CreateStream",
        r#"{"StreamName":"logs","ShardCount":1}"#,
    );
    let mut spec = GeneratorSpec::from_template(Template::ApplicationLogs);
    spec.lines = Some((0..25).map(|i| format!("line {i}")).collect());
    w.apply(
        t(10_000),
        Command::StartProducer {
            name: "agent".into(),
            stream: "logs".into(),
            records_per_s: 100,
            spec,
        },
    )
    .expect("starts");
    w.advance_to(t(20_000));
    let entry = &w.producers()["agent"];
    assert!(!entry.running());
    assert_eq!(entry.producer.stats.acknowledged, 25);
    let records = w
        .streams()
        .shard_records("logs", "shardId-000000000000")
        .expect("shard");
    assert_eq!(
        records.front().map(|r| r.data.clone()),
        Some(b"line 0".to_vec())
    );
    assert_eq!(
        records.back().map(|r| r.data.clone()),
        Some(b"line 24".to_vec())
    );
}

#[test]
fn a_producer_that_would_generate_too_much_is_refused() {
    let mut w = World::new(WorldConfig::with_seed(4));
    let mut spec = GeneratorSpec::from_template(Template::Metrics);
    spec.record_bytes = 1_048_576;
    let err = w
        .apply(
            t(0),
            Command::StartProducer {
                name: "huge".into(),
                stream: "s".into(),
                records_per_s: 100_000,
                spec,
            },
        )
        .expect_err("too many bytes a second");
    assert!(err.message.contains("64 MiB/s"), "{err}");
    assert!(w.producers().is_empty());
}
