//! Properties of the Data Streams building blocks: routing covers the hash space exactly, sequence numbers keep
//! their order as text, and no one-second window of a shard ever holds more than its write limits.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::kinesis::{Driver, Op};

use kinesim::WorldConfig;
use kinesim::sim::SimTime;
use kinesim::streams::hash_key::{HASH_KEY_MAX, even_split, partition_key_hash};
use kinesim::streams::sequence::{SHARD_CREATED_MS_MAX, SHARD_ORDINAL_MAX, SequenceNumber};
use kinesim::streams::throughput::{
    SHARD_WRITE_BYTES_PER_S_MAX, SHARD_WRITE_RECORDS_PER_S_MAX, WriteWindow,
};
use proptest::prelude::*;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u64..1_500).prop_map(Op::Wait),
        (1u64..30_000).prop_map(Op::Put),
        (1u64..80, 1u64..40_000).prop_map(|(n, size)| Op::PutMany(n, size)),
        (0usize..8).prop_map(Op::Poll),
    ]
}

fn op_with_resharding() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => op(),
        1 => (any::<u16>(), 0u16..=1_000).prop_map(|(pick, at)| Op::Split(pick, at)),
        1 => any::<u16>().prop_map(Op::Merge),
        1 => (1u8..12).prop_map(Op::Scale),
        1 => (1_000u64..40_000).prop_map(Op::Refresh),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Under a small bound on kept record bytes, whatever producers, consumers and reshards do: the running count
    /// equals the sum over kept records and stays within the bound after every step, a put past it is refused
    /// (never throttled for it, never panicking), and every acknowledged record is still read exactly once.
    #[test]
    fn a_small_kept_bytes_bound_refuses_writes_and_loses_no_acknowledged_record(
        seed in 0u64..1_000,
        shards in 1u32..4,
        bound_bytes in 1_000u64..400_000,
        ops in prop::collection::vec(op_with_resharding(), 1..80),
    ) {
        let mut config = WorldConfig::with_seed(seed);
        config.streams.records_kept_bytes_max = bound_bytes;
        let mut driver = Driver::with_config(config, shards);
        for op in &ops {
            driver.apply(op);
            driver.check_invariants();
        }
        driver.wait(60_000);
        driver.refresh_shards();
        driver.drain();
        driver.check_invariants();
        driver.check_nothing_lost();
    }

    /// Across any sequence of SplitShard, MergeShards and UpdateShardCount calls (accepted or refused) mixed with
    /// writes and reads: no acknowledged record is lost, duplicated or reordered, reading parents before
    /// children, and the open shards cover the hash space exactly after every step.
    #[test]
    fn any_sequence_of_reshards_loses_no_record_and_covers_the_hash_space(
        seed in 0u64..1_000,
        shards in 1u32..5,
        ops in prop::collection::vec(op_with_resharding(), 1..80),
    ) {
        let mut driver = Driver::new(seed, shards);
        for op in &ops {
            driver.apply(op);
            driver.check_invariants();
        }
        // Let the last reshard finish, then read parents and children to their ends.
        driver.wait(60_000);
        driver.refresh_shards();
        driver.drain();
        driver.check_invariants();
        driver.check_nothing_lost();
    }

    /// Whatever producers and consumers do: every acknowledged record is read exactly once, in sequence order per
    /// shard, with its own key and data; sequence numbers are unique; no second of a shard exceeds its write
    /// limits; open shards cover the hash space.
    #[test]
    fn no_acknowledged_record_is_lost_duplicated_or_reordered(
        seed in 0u64..1_000,
        shards in 1u32..5,
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let mut driver = Driver::new(seed, shards);
        for op in &ops {
            driver.apply(op);
            driver.check_invariants();
        }
        driver.drain();
        driver.check_nothing_lost();
    }
}

proptest! {
    #[test]
    fn a_new_streams_shards_cover_the_hash_space_exactly(shards in 1u32..=10_000) {
        let ranges = even_split(shards);
        prop_assert_eq!(ranges.len(), shards as usize);
        prop_assert_eq!(ranges[0].starting, 0);
        prop_assert_eq!(ranges[ranges.len() - 1].ending, HASH_KEY_MAX);
        for pair in ranges.windows(2) {
            prop_assert!(pair[0].starting <= pair[0].ending);
            prop_assert!(pair[0].is_adjacent_to(&pair[1]));
        }
    }

    #[test]
    fn every_partition_key_lands_in_exactly_one_shard(key in "\\PC{1,256}", shards in 1u32..=64) {
        let hash = partition_key_hash(&key);
        let holders = even_split(shards).iter().filter(|r| r.contains(hash)).count();
        prop_assert_eq!(holders, 1);
    }

    #[test]
    fn sequence_numbers_round_trip_and_sort_as_text(
        a in (0..=SHARD_CREATED_MS_MAX, 0..=SHARD_ORDINAL_MAX, any::<u64>(), 0u64..1_000_000),
        b in (0..=SHARD_CREATED_MS_MAX, 0..=SHARD_ORDINAL_MAX, any::<u64>(), 0u64..1_000_000),
    ) {
        let x = SequenceNumber::new(a.0, a.1, a.2, a.3).expect("in range");
        let y = SequenceNumber::new(b.0, b.1, b.2, b.3).expect("in range");
        prop_assert_eq!(SequenceNumber::parse(&x.to_string()), Some(x));
        prop_assert_eq!(x.cmp(&y), x.to_string().cmp(&y.to_string()));
    }

    #[test]
    fn no_one_second_window_exceeds_the_write_limits(
        puts in prop::collection::vec((0u64..50, 1u64..200_000, 1u64..20), 1..400)
    ) {
        let mut window = WriteWindow::new();
        let mut now_ms = 0;
        let mut accepted = Vec::new();
        for (gap_ms, bytes, records) in puts {
            now_ms += gap_ms;
            let ok = window.try_accept(
                SimTime::from_millis(now_ms),
                bytes,
                records,
                SHARD_WRITE_BYTES_PER_S_MAX,
                SHARD_WRITE_RECORDS_PER_S_MAX,
            );
            if ok {
                accepted.push((now_ms, bytes, records));
            }
        }
        for &(start, _, _) in &accepted {
            let (bytes, records) = accepted
                .iter()
                .filter(|(ms, _, _)| (start..start + 1_000).contains(ms))
                .fold((0, 0), |(b, r), &(_, bytes, records)| (b + bytes, r + records));
            prop_assert!(bytes <= SHARD_WRITE_BYTES_PER_S_MAX, "{bytes} bytes in the second from {start} ms");
            prop_assert!(records <= SHARD_WRITE_RECORDS_PER_S_MAX, "{records} records from {start} ms");
        }
    }
}
