//! On-demand capacity: a new stream takes 4 MiB/s; hot shards are split after the scaling delay; traffic that
//! grows faster than the stream scales is throttled until the new shards open; one partition key stays capped at
//! one shard's limit; UpdateStreamMode switches modes at most twice a day.
#![cfg(not(target_arch = "wasm32"))]

use kinesim::sim::SimTime;
use kinesim::streams::hash_key::HashKeyRange;
use kinesim::streams::metrics::Metric;
use kinesim::streams::service::{
    ListShardsFrom, PutEntry, StreamMode, StreamStatus, StreamsConfig,
};
use kinesim::streams::{DataStreams, ErrorType};

const STREAM: &str = "od";
const ACTIVE_MS: u64 = 10_000;
/// Scaling delay used here (AWS's 15 minutes would make these tests hold gigabytes).
const DELAY_MS: u64 = 60_000;
const RECORD_BYTES: usize = 100_000;

fn t(ms: u64) -> SimTime {
    SimTime::from_millis(ms)
}

fn on_demand_stream() -> DataStreams {
    let config = StreamsConfig {
        on_demand_scale_delay_ms: DELAY_MS,
        // Minutes of 1 MiB/s and more are kept: past the default bound on kept record bytes (256 MiB).
        records_kept_bytes_max: 1_024 * 1_048_576,
        ..StreamsConfig::default()
    };
    let mut ds = DataStreams::new(config, 0);
    ds.create_stream(t(0), STREAM, None, StreamMode::OnDemand)
        .expect("create");
    ds
}

fn open_shards(ds: &DataStreams) -> Vec<HashKeyRange> {
    ds.open_ranges(STREAM)
}

/// Offers `records_per_s` records of 100 KB a second from `from_s` to `to_s`, spread over the hash keys
/// `keys` (one explicit hash key per record, cycling) or one partition key; returns (accepted, throttled).
fn offer(
    ds: &mut DataStreams,
    from_s: u64,
    to_s: u64,
    records_per_s: u64,
    keys: &dyn Fn(u64) -> Option<u128>,
) -> (u64, u64) {
    let (mut accepted, mut throttled) = (0, 0);
    for second in from_s..to_s {
        let entries = (0..records_per_s)
            .map(|i| PutEntry {
                data: vec![0; RECORD_BYTES],
                partition_key: "hot".into(),
                explicit_hash_key: keys(second * records_per_s + i),
            })
            .collect();
        // Spread within the second so the sliding window sees a steady rate.
        let results = ds
            .put_records(t(second * 1_000 + 1), STREAM, entries)
            .expect("put");
        for r in results {
            match r {
                Ok(_) => accepted += 1,
                Err(e) => {
                    assert_eq!(
                        e.error_type,
                        ErrorType::ProvisionedThroughputExceededException
                    );
                    throttled += 1;
                }
            }
        }
    }
    (accepted, throttled)
}

/// Hash keys spread over the lowest quarter of the hash space (the first of the 4 initial shards).
fn first_quarter(i: u64) -> Option<u128> {
    let quarter = u128::MAX / 4;
    Some(u128::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835) % quarter)
}

#[test]
fn a_new_on_demand_stream_has_4_mib_a_second() {
    let ds = on_demand_stream();
    assert_eq!(open_shards(&ds).len(), 4);
    let capacity = ds.capacity(STREAM).expect("capacity");
    assert_eq!(capacity.target_write_bytes_per_s, 4 * 1_048_576);
    assert_eq!(capacity.pending_splits, 0);
}

#[test]
fn a_hot_shard_is_split_after_the_scaling_delay() {
    let mut ds = on_demand_stream();
    let start_s = ACTIVE_MS / 1_000;
    // 600 KB/s into the first shard: under its 1 MiB/s, over the 500 KB/s that makes it hot.
    let (_, throttled) = offer(&mut ds, start_s, 60, 6, &first_quarter);
    assert_eq!(throttled, 0);
    assert_eq!(open_shards(&ds).len(), 4);
    // The minute [0, 60 s) was hot; the split comes a delay after it ended.
    let (_, throttled) = offer(&mut ds, 60, 119, 6, &first_quarter);
    assert_eq!(throttled, 0);
    assert_eq!(ds.capacity(STREAM).expect("capacity").pending_splits, 1);
    assert_eq!(
        ds.capacity(STREAM).expect("capacity").next_split_at,
        Some(t(60_000 + DELAY_MS))
    );
    assert_eq!(open_shards(&ds).len(), 4);
    offer(&mut ds, 119, 125, 6, &first_quarter);
    let ranges = open_shards(&ds);
    assert_eq!(ranges.len(), 5, "{ranges:?}");
    // Open shards still cover the hash space exactly.
    assert_eq!(ranges[0].starting, 0);
    assert_eq!(ranges.last().map(|r| r.ending), Some(u128::MAX));
    assert!(ranges.windows(2).all(|w| w[0].ending + 1 == w[1].starting));
    // The split is visible in ListShards: the parent is closed, the children name it.
    let page = ds
        .list_shards(
            t(125_000),
            ListShardsFrom::Stream {
                name: STREAM,
                exclusive_start_shard_id: None,
            },
            100,
            None,
        )
        .expect("list");
    let children: Vec<_> = page
        .shards
        .iter()
        .filter(|s| s.parent_shard_id.as_deref() == Some("shardId-000000000000"))
        .collect();
    assert_eq!(children.len(), 2);
    let peak = ds
        .capacity(STREAM)
        .expect("capacity")
        .peak_write_bytes_per_s;
    assert!((590_000..=610_000).contains(&peak), "peak {peak}");
}

#[test]
fn traffic_that_outgrows_the_stream_is_throttled_until_it_scales() {
    let mut ds = on_demand_stream();
    let start_s = ACTIVE_MS / 1_000;
    // 1.5 MB/s into one shard's keys: over its 1 MiB/s at once.
    let (_, throttled_before) = offer(&mut ds, start_s, 120, 15, &first_quarter);
    assert!(throttled_before > 0);
    // After the split (at 120 s) the two children take 750 KB/s each.
    let (accepted, throttled_after) = offer(&mut ds, 121, 170, 15, &first_quarter);
    assert_eq!(throttled_after, 0, "accepted {accepted}");
    let metrics = ds.stream_metrics(STREAM).expect("metrics");
    let refused: u64 = metrics
        .iter()
        .filter(|(_, m, _)| *m == Metric::WriteProvisionedThroughputExceeded)
        .map(|(_, _, v)| v)
        .sum();
    assert_eq!(refused, throttled_before);
}

#[test]
fn one_partition_key_stays_capped_at_one_shards_limit() {
    let mut ds = on_demand_stream();
    let start_s = ACTIVE_MS / 1_000;
    // 1.5 MB/s on a single key for five minutes: the key's shard is split again and again, but the key always
    // lands on one shard, so it never gets more than 1 MiB/s.
    let key = |_: u64| Some(12_345u128);
    let (accepted, throttled) = offer(&mut ds, start_s, 300, 15, &key);
    assert!(throttled > 0);
    let seconds = 300 - start_s;
    assert!(
        accepted * RECORD_BYTES as u64 <= seconds * 1_048_576,
        "accepted {accepted}"
    );
    let (_, throttled_late) = offer(&mut ds, 300, 310, 15, &key);
    assert!(throttled_late > 0, "still capped after scaling");
}

#[test]
fn update_stream_mode_switches_twice_a_day_at_most() {
    let mut ds = DataStreams::new(StreamsConfig::default(), 0);
    ds.create_stream(t(0), "p", Some(2), StreamMode::Provisioned)
        .expect("create");
    let now = ACTIVE_MS;
    let same = ds
        .update_stream_mode(t(now), "p", StreamMode::Provisioned)
        .expect_err("already provisioned");
    assert_eq!(same.error_type, ErrorType::InvalidArgumentException);
    ds.update_stream_mode(t(now), "p", StreamMode::OnDemand)
        .expect("to on-demand");
    assert_eq!(
        ds.describe(t(now + 1), "p").expect("describe").status,
        StreamStatus::Updating
    );
    let busy = ds
        .update_stream_mode(t(now + 1), "p", StreamMode::Provisioned)
        .expect_err("UPDATING");
    assert_eq!(busy.error_type, ErrorType::ResourceInUseException);
    let later = now + 60_000;
    let view = ds.describe(t(later), "p").expect("describe");
    assert_eq!(view.status, StreamStatus::Active);
    assert_eq!(view.mode, StreamMode::OnDemand);
    let split = ds
        .split_shard(t(later), "p", "shardId-000000000000", "12345")
        .expect_err("no manual resharding on-demand");
    assert_eq!(split.error_type, ErrorType::ValidationException);
    ds.update_stream_mode(t(later), "p", StreamMode::Provisioned)
        .expect("back to provisioned");
    let third = ds
        .update_stream_mode(t(later + 60_000), "p", StreamMode::OnDemand)
        .expect_err("third in a day");
    assert_eq!(third.error_type, ErrorType::LimitExceededException);
    ds.update_stream_mode(t(now + 24 * 3_600_000), "p", StreamMode::OnDemand)
        .expect("a day after the first");
}
