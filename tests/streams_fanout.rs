//! Enhanced fan-out: SubscribeToShard pushes events on simulated time with a 2 MiB/s budget per consumer and shard,
//! independent of other consumers; subscriptions end after 5 minutes, at a closed shard's end, on takeover and on
//! deregistration; polling readers keep sharing one shard's 2 MiB/s.
#![cfg(not(target_arch = "wasm32"))]

use kinesim::sim::SimTime;
use kinesim::streams::metrics::Metric;
use kinesim::streams::service::{
    FANOUT_BYTES_PER_S_MAX, FANOUT_HEARTBEAT_MS, FANOUT_PROPAGATION_MS, FanOutEvent,
    IteratorRequest, IteratorType, PutEntry, StreamMode, StreamsConfig, SubscriptionEnd,
};
use kinesim::streams::{DataStreams, ErrorType};
use proptest::prelude::*;

const STREAM: &str = "s";
const ACTIVE_MS: u64 = 10_000;
const CONSUMER_ACTIVE_MS: u64 = 20_000;

fn t(ms: u64) -> SimTime {
    SimTime::from_millis(ms)
}

/// An ACTIVE stream with `shards` shards and `consumers` ACTIVE consumers named c0, c1, ...; returns their ARNs.
fn setup(shards: u64, consumers: u32, limits: bool) -> (DataStreams, Vec<String>) {
    let mut ds = DataStreams::new(StreamsConfig::default(), 0);
    ds.create_stream(t(0), STREAM, Some(shards), StreamMode::Provisioned)
        .expect("create");
    ds.set_throughput_limits(t(0), STREAM, limits)
        .expect("limits");
    let arns = (0..consumers)
        .map(|i| {
            ds.register_stream_consumer(t(ACTIVE_MS), STREAM, &format!("c{i}"))
                .expect("register")
                .arn
        })
        .collect();
    (ds, arns)
}

fn put(ds: &mut DataStreams, now: u64, key: &str, data: Vec<u8>) -> String {
    ds.put_record(
        t(now),
        STREAM,
        PutEntry {
            data,
            partition_key: key.to_string(),
            explicit_hash_key: None,
        },
        None,
    )
    .expect("put")
    .sequence_number
    .to_string()
}

fn from(kind: IteratorType, seq: Option<&str>) -> IteratorRequest<'_> {
    IteratorRequest {
        shard_id: "shardId-000000000000",
        iterator_type: kind,
        starting_sequence_number: seq,
        timestamp_unix_ms: None,
    }
}

fn bytes_of(e: &FanOutEvent) -> u64 {
    e.records
        .iter()
        .map(|(_, r)| r.data.len() as u64 + r.partition_key.len() as u64)
        .sum()
}

/// Largest number of bytes pushed in any 1-second window.
fn busiest_second(events: &[(SimTime, u64)]) -> u64 {
    events
        .iter()
        .map(|&(start, _)| {
            events
                .iter()
                .filter(|&&(at, _)| at >= start && at.as_millis() < start.as_millis() + 1_000)
                .map(|&(_, b)| b)
                .sum::<u64>()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn records_are_pushed_about_70_ms_after_they_arrive() {
    let (mut ds, arns) = setup(1, 1, true);
    let now = CONSUMER_ACTIVE_MS;
    let sub = ds
        .subscribe_to_shard(t(now), &arns[0], from(IteratorType::Latest, None))
        .expect("subscribe");
    let seq = put(&mut ds, now + 1_000, "k", b"hello".to_vec());
    let poll = ds.poll_subscription(t(now + 2_000), sub).expect("poll");
    assert_eq!(poll.ended, None);
    assert_eq!(poll.events.len(), 1, "{:?}", poll.events);
    let (at, event) = &poll.events[0];
    assert_eq!(at.as_millis(), now + 1_000 + FANOUT_PROPAGATION_MS);
    assert_eq!(event.records.len(), 1);
    assert_eq!(event.records[0].0, seq);
    assert_eq!(event.records[0].1.data, b"hello");
    assert_eq!(event.millis_behind_latest, 0);
    assert_eq!(
        event.continuation_sequence_number.as_deref(),
        Some(seq.as_str())
    );
    // Nothing new: an empty event every heartbeat, carrying the same continuation.
    let poll = ds
        .poll_subscription(t(now + 1_070 + 2 * FANOUT_HEARTBEAT_MS), sub)
        .expect("poll");
    assert_eq!(poll.events.len(), 2);
    assert!(poll.events.iter().all(|(_, e)| e.records.is_empty()
        && e.continuation_sequence_number.as_deref() == Some(seq.as_str())));
}

#[test]
fn each_consumer_gets_2_mib_a_second_whatever_the_others_do() {
    // 40 MiB waiting in one shard (limits off so it can be written at once).
    let (mut ds, arns) = setup(1, 2, false);
    let chunk = vec![7u8; 100 * 1024];
    for i in 0..400 {
        put(&mut ds, CONSUMER_ACTIVE_MS, &format!("k{i}"), chunk.clone());
    }
    let now = CONSUMER_ACTIVE_MS + 1;
    let mut timelines = Vec::new();
    for arn in &arns {
        let sub = ds
            .subscribe_to_shard(t(now), arn, from(IteratorType::TrimHorizon, None))
            .expect("subscribe");
        timelines.push(sub);
    }
    let mut pushed: Vec<Vec<(SimTime, u64)>> = vec![Vec::new(); 2];
    for step in 1..=60 {
        for (i, &sub) in timelines.iter().enumerate() {
            let poll = ds
                .poll_subscription(t(now + step * 1_000), sub)
                .expect("poll");
            pushed[i].extend(poll.events.iter().map(|(at, e)| (*at, bytes_of(e))));
        }
    }
    for timeline in &pushed {
        let total: u64 = timeline.iter().map(|&(_, b)| b).sum();
        let keys: u64 = (0..400).map(|i| format!("k{i}").len() as u64).sum();
        assert_eq!(total, 400 * 100 * 1024 + keys, "everything arrives");
        assert!(busiest_second(timeline) <= FANOUT_BYTES_PER_S_MAX);
        // 40 MiB at 2 MiB/s: about 20 seconds, not faster and not much slower.
        let last = timeline
            .iter()
            .rfind(|&&(_, b)| b > 0)
            .map_or(0, |&(at, _)| at.as_millis() - now);
        assert!(
            (19_000..=21_000).contains(&last),
            "finished after {last} ms"
        );
    }
    assert_eq!(pushed[0], pushed[1], "two consumers do not slow each other");
    let pushed_bytes: u64 = ds
        .stream_metrics(STREAM)
        .expect("metrics")
        .iter()
        .filter(|(_, m, _)| *m == Metric::SubscribeToShardEventBytes)
        .map(|(_, _, v)| v)
        .sum();
    assert_eq!(
        pushed_bytes,
        2 * pushed[0].iter().map(|&(_, b)| b).sum::<u64>()
    );
}

#[test]
fn five_polling_readers_share_one_shards_read_budget() {
    let (mut ds, _) = setup(1, 0, false);
    let chunk = vec![7u8; 100 * 1024];
    for i in 0..400 {
        put(
            &mut ds,
            CONSUMER_ACTIVE_MS,
            &format!("k{i:03}"),
            chunk.clone(),
        );
    }
    ds.set_throughput_limits(t(CONSUMER_ACTIVE_MS), STREAM, true)
        .expect("limits");
    let start = CONSUMER_ACTIVE_MS + 1;
    let mut iterators: Vec<Option<String>> = (0..5)
        .map(|_| {
            ds.get_shard_iterator(t(start), STREAM, from(IteratorType::TrimHorizon, None))
                .ok()
        })
        .collect();
    let mut read = [0u64; 5];
    let mut throttled = 0;
    // Each reader polls once a second (AWS's advice) for 60 seconds, 100 records a call.
    for second in 0..60 {
        for (i, it) in iterators.iter_mut().enumerate() {
            let Some(current) = it.clone() else { continue };
            match ds.get_records(t(start + second * 1_000 + i as u64), &current, 100) {
                Ok(r) => {
                    read[i] += r.records.len() as u64;
                    *it = r.next_shard_iterator;
                }
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
    // Together they cannot read more than 2 MiB/s from the shard, so in 60 s they do not all finish 40 MiB.
    let total: u64 = read.iter().sum();
    assert!(
        total * 100 * 1024 <= 62 * FANOUT_BYTES_PER_S_MAX,
        "read {total} records"
    );
    assert!(read.iter().any(|&n| n < 400), "{read:?}");
    assert!(throttled > 0);
}

#[test]
fn a_subscription_lasts_five_minutes_and_resumes_after_its_continuation() {
    let (mut ds, arns) = setup(1, 1, true);
    let start = CONSUMER_ACTIVE_MS;
    let sub = ds
        .subscribe_to_shard(t(start), &arns[0], from(IteratorType::TrimHorizon, None))
        .expect("subscribe");
    let mut seqs = Vec::new();
    for i in 0..400u64 {
        seqs.push(put(
            &mut ds,
            start + i * 1_000,
            &format!("k{i}"),
            vec![1, 2, 3],
        ));
    }
    let mut got = Vec::new();
    let mut continuation = None;
    let mut ended = None;
    for ms in (start..start + 310_000).step_by(500) {
        let poll = ds.poll_subscription(t(ms), sub).expect("poll");
        for (_, e) in poll.events {
            got.extend(e.records.into_iter().map(|(s, _)| s));
            continuation = e.continuation_sequence_number;
        }
        if poll.ended.is_some() {
            ended = poll.ended;
            break;
        }
    }
    let (end_at, why) = ended.expect("ended");
    assert_eq!(why, SubscriptionEnd::Expired);
    assert_eq!(end_at.as_millis(), start + 300_000);
    assert!(
        ds.poll_subscription(t(end_at.as_millis() + 1), sub)
            .is_err(),
        "gone once its end was read"
    );
    let continuation = continuation.expect("continuation");
    let again = ds
        .subscribe_to_shard(
            t(end_at.as_millis() + 1),
            &arns[0],
            from(IteratorType::AfterSequenceNumber, Some(&continuation)),
        )
        .expect("resubscribe");
    let poll = ds
        .poll_subscription(t(start + 500_000), again)
        .expect("poll");
    got.extend(
        poll.events
            .into_iter()
            .flat_map(|(_, e)| e.records.into_iter().map(|(s, _)| s)),
    );
    assert_eq!(
        got, seqs,
        "no gap and no duplicate across the resubscription"
    );
}

#[test]
fn resubscribing_follows_aws_rules() {
    let (mut ds, arns) = setup(1, 1, true);
    let now = CONSUMER_ACTIVE_MS;
    let first = ds
        .subscribe_to_shard(t(now), &arns[0], from(IteratorType::Latest, None))
        .expect("subscribe");
    let e = ds
        .subscribe_to_shard(t(now + 500), &arns[0], from(IteratorType::Latest, None))
        .expect_err("twice in a second");
    assert_eq!(e.error_type, ErrorType::LimitExceededException);
    let e = ds
        .subscribe_to_shard(t(now + 2_000), &arns[0], from(IteratorType::Latest, None))
        .expect_err("within 5 s of a success");
    assert_eq!(e.error_type, ErrorType::ResourceInUseException);
    assert!(e.message.contains(&arns[0]), "{}", e.message);
    let second = ds
        .subscribe_to_shard(t(now + 7_000), &arns[0], from(IteratorType::Latest, None))
        .expect("takes over after 5 s");
    let poll = ds.poll_subscription(t(now + 8_000), first).expect("poll");
    assert_eq!(
        poll.ended,
        Some((t(now + 7_000), SubscriptionEnd::TakenOver))
    );
    assert!(
        ds.poll_subscription(t(now + 8_000), second)
            .expect("poll")
            .ended
            .is_none()
    );
    // Another shard is another subscription.
    let other = IteratorRequest {
        shard_id: "shardId-000000000001",
        ..from(IteratorType::Latest, None)
    };
    let e = ds
        .subscribe_to_shard(t(now + 8_000), &arns[0], other)
        .expect_err("no such shard");
    assert_eq!(e.error_type, ErrorType::ResourceNotFoundException);
    // A consumer that is not ACTIVE yet cannot subscribe.
    let creating = ds
        .register_stream_consumer(t(now + 8_000), STREAM, "late")
        .expect("register")
        .arn;
    let e = ds
        .subscribe_to_shard(t(now + 8_001), &creating, from(IteratorType::Latest, None))
        .expect_err("CREATING");
    assert_eq!(e.error_type, ErrorType::ResourceInUseException);
    // Deregistering ends its subscriptions.
    ds.deregister_stream_consumer(
        t(now + 9_000),
        kinesim::streams::service::ConsumerRef::ByArn(&arns[0]),
    )
    .expect("deregister");
    let poll = ds.poll_subscription(t(now + 9_500), second).expect("poll");
    assert_eq!(
        poll.ended,
        Some((t(now + 9_000), SubscriptionEnd::ConsumerDeregistered))
    );
}

#[test]
fn a_closed_shard_ends_with_its_children() {
    let (mut ds, arns) = setup(1, 1, true);
    let now = CONSUMER_ACTIVE_MS;
    let seq = put(&mut ds, now, "k", b"x".to_vec());
    ds.split_shard(
        t(now + 1_000),
        STREAM,
        "shardId-000000000000",
        "170141183460469231731687303715884105728",
    )
    .expect("split");
    let sub = ds
        .subscribe_to_shard(
            t(now + 2_000),
            &arns[0],
            from(IteratorType::TrimHorizon, None),
        )
        .expect("subscribe during UPDATING");
    let poll = ds.poll_subscription(t(now + 60_000), sub).expect("poll");
    let (end_at, why) = poll.ended.expect("ended at the shard's end");
    assert_eq!(why, SubscriptionEnd::ShardEnd);
    let (last_at, last) = poll.events.last().expect("events");
    assert_eq!(*last_at, end_at);
    assert_eq!(last.continuation_sequence_number, None);
    let children: Vec<&str> = last
        .child_shards
        .iter()
        .map(|c| c.shard_id.as_str())
        .collect();
    assert_eq!(children, ["shardId-000000000001", "shardId-000000000002"]);
    let delivered: Vec<&str> = poll
        .events
        .iter()
        .flat_map(|(_, e)| e.records.iter().map(|(s, _)| s.as_str()))
        .collect();
    assert_eq!(delivered, [seq.as_str()]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// How often a subscriber polls never changes what it receives or when.
    #[test]
    fn polling_cadence_does_not_change_the_events(
        puts in proptest::collection::vec((0u64..120_000, 1usize..300_000), 1..40),
        cadence_ms in 1u64..20_000,
    ) {
        let run = |cadence: u64| {
            let (mut ds, arns) = setup(1, 1, false);
            let start = CONSUMER_ACTIVE_MS;
            let sub = ds
                .subscribe_to_shard(t(start), &arns[0], from(IteratorType::TrimHorizon, None))
                .expect("subscribe");
            let mut puts = puts.clone();
            puts.sort_unstable();
            let mut events = Vec::new();
            let mut next_put = 0;
            let mut now = start;
            while now <= start + 150_000 {
                while next_put < puts.len() && start + puts[next_put].0 <= now {
                    let (at, size) = puts[next_put];
                    put(&mut ds, start + at, "k", vec![0; size]);
                    next_put += 1;
                }
                let poll = ds.poll_subscription(t(now), sub).expect("poll");
                events.extend(poll.events);
                now += cadence;
            }
            events
        };
        // Puts happen at their own times in both runs: the fine run polls every 1 ms around them.
        prop_assume!(cadence_ms > 1);
        let fine = run(1);
        let coarse = run(cadence_ms);
        // The coarse run sees events up to its last poll; compare that prefix.
        let horizon = coarse.last().map_or(SimTime::ZERO, |(at, _)| *at);
        let fine_prefix: Vec<_> = fine.into_iter().filter(|(at, _)| *at <= horizon).collect();
        prop_assert_eq!(fine_prefix, coarse);
    }
}
