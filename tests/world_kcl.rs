//! KCL applications and KPL producers as World actors: a two-worker group processes and checkpoints everything,
//! a killed worker's leases are taken after the failover time, at most one worker holds a lease at every step,
//! parents are processed before children after a split, KPL aggregated records are de-aggregated by the group,
//! throttled KPL records are retried, and runs are deterministic and survive a snapshot.

use kinesim::sim::SimTime;
use kinesim::workload::generator::{GeneratorSpec, KeyDistribution, Template};
use kinesim::workload::kcl::Checkpoint;
use kinesim::{Command, ErrorKind, EventKind, World, WorldConfig};

fn t(ms: u64) -> SimTime {
    SimTime::from_millis(ms)
}

const APP: &str = "orders-app";

fn spec(keys: u32, record_bytes: u32) -> GeneratorSpec {
    GeneratorSpec {
        keys: KeyDistribution::Uniform { keys },
        record_bytes,
        ..GeneratorSpec::from_template(Template::Clickstream)
    }
}

fn world(seed: u64, shards: u32) -> World {
    let mut w = World::new(WorldConfig::with_seed(seed));
    let created = w.kinesis(
        t(0),
        "CreateStream",
        &format!(r#"{{"StreamName":"clicks","ShardCount":{shards}}}"#),
    );
    assert_eq!(created.status, 200, "{}", created.body);
    w
}

fn start_producer(w: &mut World, at_ms: u64, rate: u32) {
    w.apply(
        t(at_ms),
        Command::StartProducer {
            name: "web".into(),
            stream: "clicks".into(),
            records_per_s: rate,
            spec: spec(50, 100),
        },
    )
    .expect("producer starts");
}

fn start_app(w: &mut World, at_ms: u64, workers: u32) {
    w.apply(
        t(at_ms),
        Command::StartKclApplication {
            name: APP.into(),
            stream: "clicks".into(),
            workers,
            failover_time_ms: None,
            lease_table: None,
        },
    )
    .expect("application starts");
}

/// Advances in 100 ms steps, checking after each that every lease has at most one holder and that it is the
/// table's owner.
fn run_checked(w: &mut World, from_ms: u64, to_ms: u64) {
    let mut now = from_ms;
    while now < to_ms {
        now += 100;
        w.advance_to(t(now));
        for (name, entry) in w.kcl_applications() {
            if let Err(e) = entry.app().check_invariants() {
                panic!("{name} at {now} ms: {e}");
            }
        }
    }
}

fn kcl_events(w: &World) -> Vec<(u64, SimTime, String, String)> {
    w.events()
        .filter_map(|e| match &e.kind {
            EventKind::Kcl {
                application,
                action,
                detail,
            } if application == APP => Some((e.seq, e.at, action.clone(), detail.clone())),
            _ => None,
        })
        .collect()
}

fn owners(w: &World) -> Vec<(String, Option<String>)> {
    w.kcl_applications()[APP]
        .app()
        .lease_table()
        .iter()
        .map(|l| (l.lease_key.clone(), l.lease_owner.clone()))
        .collect()
}

/// Every record in the stream (all shards, closed ones too): (shard, last sequence number, count).
fn shard_ends(w: &World) -> Vec<(String, Option<String>, u64)> {
    let mut copy = w.clone();
    let now = copy.now();
    let (shards, _) = copy
        .streams_mut()
        .describe_shards(now, "clicks", u32::MAX, None)
        .expect("shards");
    shards
        .iter()
        .map(|s| {
            let records = w.streams().shard_records("clicks", &s.shard_id);
            let last = records.and_then(|r| r.back()).and_then(|r| {
                w.streams()
                    .record_sequence_number("clicks", &s.shard_id, r.index)
            });
            (
                s.shard_id.clone(),
                last,
                records.map_or(0, |r| r.len() as u64),
            )
        })
        .collect()
}

fn assert_everything_processed_and_checkpointed(w: &World) {
    let entry = &w.kcl_applications()[APP];
    let total: u64 = shard_ends(w).iter().map(|(_, _, n)| n).sum();
    assert!(total > 0);
    assert_eq!(
        entry.counts().unique_user_records,
        total,
        "every record is processed: {:?}",
        entry.counts()
    );
    let table = entry.app().lease_table();
    for (shard, last, _) in shard_ends(w) {
        let Some(last) = last else { continue };
        match table.get(&shard).map(|l| &l.checkpoint) {
            Some(Checkpoint::SequenceNumber(cp)) => {
                assert_eq!(*cp, last, "{shard} is checkpointed at its last record")
            }
            Some(Checkpoint::ShardEnd) | None => {} // finished (and maybe cleaned up)
            Some(other) => panic!("{shard}: checkpoint still {other}"),
        }
    }
}

#[test]
fn two_workers_share_the_shards_and_process_everything() {
    let mut w = world(3, 4);
    start_producer(&mut w, 10_000, 200);
    start_app(&mut w, 10_000, 2);
    run_checked(&mut w, 10_000, 40_000);
    w.apply(t(40_000), Command::StopProducer { name: "web".into() })
        .expect("stops");
    run_checked(&mut w, 40_000, 60_000);
    let owned = owners(&w);
    assert_eq!(owned.len(), 4, "{owned:?}");
    let by = |id: &str| {
        owned
            .iter()
            .filter(|(_, o)| o.as_deref() == Some(id))
            .count()
    };
    assert_eq!(
        (by("worker-1"), by("worker-2")),
        (2, 2),
        "balanced: {owned:?}"
    );
    assert_everything_processed_and_checkpointed(&w);
    let events = kcl_events(&w);
    for action in [
        "started",
        "lease created",
        "lease taken",
        "leases renewed",
        "records processed",
        "checkpoint",
    ] {
        assert!(
            events.iter().any(|(_, _, a, _)| a == action),
            "{action} is in the event log"
        );
    }
}

#[test]
fn a_killed_workers_leases_are_taken_after_the_failover_time_and_nothing_is_lost() {
    let mut w = world(11, 4);
    start_producer(&mut w, 10_000, 200);
    start_app(&mut w, 10_000, 2);
    // Balanced by then: the newcomer steals one lease per taker run (every 20.05 s).
    run_checked(&mut w, 10_000, 40_000);
    let before = owners(&w);
    let victims: Vec<String> = before
        .iter()
        .filter(|(_, o)| o.as_deref() == Some("worker-1"))
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(victims.len(), 2, "{before:?}");
    let killed_at = w.now();
    w.apply(
        killed_at,
        Command::KillKclWorker {
            application: APP.into(),
            worker: "worker-1".into(),
        },
    )
    .expect("kills");
    // Killing a dead worker is refused with a reason.
    let err = w
        .apply(
            killed_at,
            Command::KillKclWorker {
                application: APP.into(),
                worker: "worker-1".into(),
            },
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ResourceInUseException, "{err}");
    // Within the failover time the table still names the dead worker.
    run_checked(&mut w, 40_000, 49_000);
    assert!(
        owners(&w)
            .iter()
            .any(|(_, o)| o.as_deref() == Some("worker-1")),
        "{:?}",
        owners(&w)
    );
    run_checked(&mut w, 49_000, 80_000);
    w.apply(t(80_000), Command::StopProducer { name: "web".into() })
        .expect("stops");
    run_checked(&mut w, 80_000, 100_000);
    let after = owners(&w);
    assert!(
        after.iter().all(|(_, o)| o.as_deref() == Some("worker-2")),
        "worker-2 holds everything: {after:?}"
    );
    let expired: Vec<(SimTime, String)> = kcl_events(&w)
        .into_iter()
        .filter(|(_, _, a, _)| a == "lease expired")
        .map(|(_, at, _, d)| (at, d))
        .collect();
    assert_eq!(expired.len(), victims.len(), "{expired:?} {before:?}");
    for (at, detail) in &expired {
        assert!(
            at.as_millis() >= killed_at.as_millis() + 10_000,
            "taken only after the 10 s failover time: {at:?} {detail}"
        );
        assert!(detail.starts_with("worker-2 took"), "{detail}");
        assert!(detail.contains("worker-1 did not renew"), "{detail}");
    }
    assert!(
        kcl_events(&w)
            .iter()
            .any(|(_, _, a, d)| a == "worker killed" && d.starts_with("worker-1"))
    );
    assert_everything_processed_and_checkpointed(&w);
    let counts = w.kcl_applications()[APP].counts().clone();
    assert!(counts.user_records >= counts.unique_user_records);

    // Restarted, worker-1 gets its share back by stealing (one lease per taker run).
    w.apply(
        t(100_000),
        Command::RestartKclWorker {
            application: APP.into(),
            worker: "worker-1".into(),
        },
    )
    .expect("restarts");
    run_checked(&mut w, 100_000, 180_000);
    let owned = owners(&w);
    let by_1 = owned
        .iter()
        .filter(|(_, o)| o.as_deref() == Some("worker-1"))
        .count();
    assert_eq!(by_1, 2, "{owned:?}");
    assert!(
        kcl_events(&w)
            .iter()
            .any(|(_, _, a, d)| a == "lease stolen" && d.starts_with("worker-1"))
    );
}

#[test]
fn parents_are_processed_before_their_children_after_a_split() {
    let mut w = world(5, 1);
    start_producer(&mut w, 10_000, 100);
    start_app(&mut w, 10_000, 2);
    run_checked(&mut w, 10_000, 20_000);
    let split = w.kinesis(
        t(20_000),
        "SplitShard",
        r#"{"StreamName":"clicks","ShardToSplit":"shardId-000000000000","NewStartingHashKey":"170141183460469231731687303715884105728"}"#,
    );
    assert_eq!(split.status, 200, "{}", split.body);
    run_checked(&mut w, 20_000, 50_000);
    w.apply(t(50_000), Command::StopProducer { name: "web".into() })
        .expect("stops");
    run_checked(&mut w, 50_000, 130_000);
    let events = kcl_events(&w);
    let parent_end = events
        .iter()
        .find(|(_, _, a, d)| a == "shard ended" && d.contains("shardId-000000000000"))
        .map(|(seq, ..)| *seq)
        .expect("the parent is read to its end");
    let children = ["shardId-000000000001", "shardId-000000000002"];
    let mut child_batches = 0;
    for (seq, _, action, detail) in &events {
        if action == "records processed" && children.iter().any(|c| detail.contains(c)) {
            child_batches += 1;
            assert!(
                *seq > parent_end,
                "a child is processed only after its parent ended: {detail}"
            );
        }
    }
    assert!(child_batches > 0);
    let created: Vec<&String> = events
        .iter()
        .filter(|(_, _, a, _)| a == "lease created")
        .map(|(_, _, _, d)| d)
        .collect();
    for c in children {
        assert!(
            created
                .iter()
                .any(|d| d.starts_with(c) && d.contains("shardId-000000000000")),
            "{c}'s lease names its parent: {created:?}"
        );
    }
    assert_everything_processed_and_checkpointed(&w);
}

fn kpl_world(seed: u64, aggregation: bool) -> World {
    let mut w = world(seed, 2);
    w.apply(
        t(10_000),
        Command::StartKplProducer {
            name: "kpl".into(),
            stream: "clicks".into(),
            records_per_s: 500,
            spec: spec(1_000, 60),
            aggregation,
        },
    )
    .expect("KPL starts");
    start_app(&mut w, 10_000, 2);
    run_checked(&mut w, 10_000, 25_000);
    w.apply(t(25_000), Command::StopKplProducer { name: "kpl".into() })
        .expect("stops");
    run_checked(&mut w, 25_000, 45_000);
    w
}

#[test]
fn kpl_aggregated_records_are_deaggregated_by_the_kcl_group() {
    let w = kpl_world(9, true);
    let kpl = w.kpl_producers()["kpl"].producer().counters().clone();
    assert!(kpl.user_records_delivered > 6_000, "{kpl:?}");
    assert!(kpl.aggregated_records_put > 0, "{kpl:?}");
    let in_stream: u64 = shard_ends(&w).iter().map(|(_, _, n)| n).sum();
    assert_eq!(in_stream, kpl.kinesis_records_put);
    assert!(
        in_stream * 10 < kpl.user_records_delivered,
        "aggregation packs many user records into each Kinesis record: {in_stream} for {}",
        kpl.user_records_delivered
    );
    let counts = w.kcl_applications()[APP].counts().clone();
    assert_eq!(counts.unique_user_records, kpl.user_records_delivered);
    // At least once: a batch read just before a lease is stolen to balance the group is delivered again.
    assert!(counts.kinesis_records >= in_stream);
    assert!(counts.aggregated_records > 0);
    let recent: Vec<_> = w.kcl_applications()[APP].recent().collect();
    assert!(!recent.is_empty());
    for r in recent {
        assert!(r.aggregated);
        assert!(
            r.partition_key.starts_with("user-"),
            "the user record's own key, not the aggregated record's: {}",
            r.partition_key
        );
    }
    assert!(w.events().any(|e| matches!(
        &e.kind,
        EventKind::Kpl { action, detail, .. } if action == "PutRecords" && detail.contains("aggregated")
    )));

    // Without aggregation every user record is its own Kinesis record.
    let plain = kpl_world(9, false);
    let kpl = plain.kpl_producers()["kpl"].producer().counters().clone();
    let counts = plain.kcl_applications()[APP].counts().clone();
    assert_eq!(kpl.aggregated_records_put, 0);
    assert_eq!(kpl.kinesis_records_put, kpl.user_records_delivered);
    assert_eq!(counts.aggregated_records, 0);
    assert_eq!(counts.unique_user_records, kpl.user_records_delivered);
}

#[test]
fn a_throttled_kpl_producer_retries_after_a_back_off() {
    let mut w = world(4, 1);
    // 3,000 user records/s of ~400 bytes without aggregation: 3x a shard's 1,000 records/s.
    w.apply(
        t(10_000),
        Command::StartKplProducer {
            name: "kpl".into(),
            stream: "clicks".into(),
            records_per_s: 3_000,
            spec: spec(100, 400),
            aggregation: false,
        },
    )
    .expect("starts");
    w.advance_to(t(20_000));
    let c = w.kpl_producers()["kpl"].producer().counters().clone();
    assert!(c.throttled_entries > 0, "{c:?}");
    assert!(c.retries > 0, "{c:?}");
    assert!(c.user_records_delivered > 5_000, "{c:?}");
    assert!(w.events().any(|e| matches!(
        &e.kind,
        EventKind::Kpl { action, .. } if action == "retries"
    )));
}

#[test]
fn bad_commands_are_refused_with_aws_style_errors() {
    let mut w = world(1, 1);
    let start = |workers, stream: &str, failover| Command::StartKclApplication {
        name: APP.into(),
        stream: stream.into(),
        workers,
        failover_time_ms: failover,
        lease_table: None,
    };
    let err = w.apply(t(10_000), start(2, "nope", None)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ResourceNotFoundException);
    let err = w.apply(t(10_000), start(0, "clicks", None)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgumentException);
    let err = w.apply(t(10_000), start(2, "clicks", Some(1))).unwrap_err();
    assert!(err.message.contains("failoverTimeMillis"), "{err}");
    w.apply(t(10_000), start(2, "clicks", None))
        .expect("starts");
    let err = w.apply(t(10_000), start(2, "clicks", None)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ResourceInUseException);
    let err = w
        .apply(
            t(10_000),
            Command::KillKclWorker {
                application: APP.into(),
                worker: "worker-9".into(),
            },
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ResourceNotFoundException);
    w.apply(t(11_000), Command::StopKclApplication { name: APP.into() })
        .expect("stops");
    assert!(!w.kcl_applications()[APP].running());
    let err = w
        .apply(t(11_000), Command::StopKclApplication { name: APP.into() })
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ResourceNotFoundException);
    let err = w
        .apply(
            t(11_000),
            Command::StartKplProducer {
                name: "kpl".into(),
                stream: "clicks".into(),
                records_per_s: 0,
                spec: spec(10, 10),
                aggregation: true,
            },
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgumentException);
}

fn scripted(seed: u64) -> World {
    let mut w = world(seed, 2);
    w.apply(
        t(10_000),
        Command::StartKplProducer {
            name: "kpl".into(),
            stream: "clicks".into(),
            records_per_s: 300,
            spec: spec(100, 80),
            aggregation: true,
        },
    )
    .expect("starts");
    start_producer(&mut w, 10_000, 100);
    start_app(&mut w, 10_000, 3);
    w.advance_to(t(20_000));
    w.apply(
        t(20_000),
        Command::KillKclWorker {
            application: APP.into(),
            worker: "worker-2".into(),
        },
    )
    .expect("kills");
    w
}

#[test]
fn runs_are_deterministic_and_survive_a_snapshot() {
    let finish = |mut w: World| {
        w.advance_to(t(45_000));
        w.apply(
            t(45_000),
            Command::RestartKclWorker {
                application: APP.into(),
                worker: "worker-2".into(),
            },
        )
        .expect("restarts");
        w.advance_to(t(70_000));
        (
            w.event_log_hash(),
            w.kcl_applications()[APP].counts().clone(),
        )
    };
    let (a, counts) = finish(scripted(21));
    let (b, _) = finish(scripted(21));
    assert_eq!(a, b, "same seed, same commands, same event hash");
    assert!(counts.user_records > 0);
    let (c, _) = finish(scripted(22));
    assert_ne!(a, c);

    // A snapshot taken mid-run (the World as JSON, as the session store keeps it) continues identically.
    let w = scripted(21);
    let json = serde_json::to_string(&w).expect("serializes");
    let restored: World = serde_json::from_str(&json).expect("deserializes");
    let (d, _) = finish(restored);
    assert_eq!(a, d, "a restored snapshot continues the same run");
}

#[test]
fn a_fan_out_consumer_receives_every_record_within_its_own_budget() {
    let mut w = world(8, 2);
    let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/clicks";
    let registered = w.kinesis(
        t(30_000),
        "RegisterStreamConsumer",
        &format!(r#"{{"StreamARN":"{arn}","ConsumerName":"fan"}}"#),
    );
    assert_eq!(registered.status, 200, "{}", registered.body);
    let early = w
        .apply(
            t(30_000),
            Command::SubscribeFanOutConsumer {
                stream: "clicks".into(),
                consumer: "fan".into(),
            },
        )
        .expect("subscribing starts; shards retry while CREATING");
    assert_eq!(early, kinesim::Reply::Done);
    start_producer(&mut w, 40_000, 300);
    let mut now = 40_000;
    while now < 70_000 {
        now += 200;
        w.advance_to(t(now));
        let sub = &w.efo_subscribers()["clicks/fan"];
        for (id, s) in &sub.shards {
            assert!(
                s.bytes_per_s(w.now()) <= kinesim::streams::service::FANOUT_BYTES_PER_S_MAX,
                "{id}"
            );
        }
    }
    w.apply(t(70_000), Command::StopProducer { name: "web".into() })
        .expect("stops");
    w.advance_to(t(75_000));
    let total: u64 = shard_ends(&w).iter().map(|(_, _, n)| n).sum();
    let sub = &w.efo_subscribers()["clicks/fan"];
    assert!(sub.running());
    assert_eq!(sub.records(), total, "{:?}", sub.shards);
    w.apply(
        t(75_000),
        Command::UnsubscribeFanOutConsumer {
            stream: "clicks".into(),
            consumer: "fan".into(),
        },
    )
    .expect("unsubscribes");
    assert!(!w.efo_subscribers()["clicks/fan"].running());
}

#[test]
fn after_a_merge_the_fan_out_subscriber_reads_the_child_only_once_both_parents_are_done() {
    let mut w = world(11, 2);
    let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/clicks";
    let registered = w.kinesis(
        t(30_000),
        "RegisterStreamConsumer",
        &format!(r#"{{"StreamARN":"{arn}","ConsumerName":"fan"}}"#),
    );
    assert_eq!(registered.status, 200, "{}", registered.body);
    w.apply(
        t(30_000),
        Command::SubscribeFanOutConsumer {
            stream: "clicks".into(),
            consumer: "fan".into(),
        },
    )
    .expect("subscribes");
    start_producer(&mut w, 40_000, 200);
    w.advance_to(t(50_000));
    let merged = w.kinesis(
        t(50_000),
        "MergeShards",
        r#"{"StreamName":"clicks","ShardToMerge":"shardId-000000000000","AdjacentShardToMerge":"shardId-000000000001"}"#,
    );
    assert_eq!(merged.status, 200, "{}", merged.body);
    let mut now = 50_000;
    let mut child_seen = false;
    while now < 120_000 {
        now += 100;
        w.advance_to(t(now));
        let sub = &w.efo_subscribers()["clicks/fan"];
        for (id, shard) in &sub.shards {
            if shard.parents.is_empty() {
                continue;
            }
            child_seen = true;
            assert_eq!(
                shard.parents.len(),
                2,
                "{id}: a merge child has two parents"
            );
            if shard.subscriptions > 0 {
                for parent in &shard.parents {
                    assert!(
                        sub.shards.get(parent).is_none_or(|p| p.done),
                        "{id} was subscribed at {now} ms before its parent {parent} was read to its end"
                    );
                }
            }
        }
    }
    assert!(child_seen, "the subscriber learned of the merged child");
    w.apply(t(120_000), Command::StopProducer { name: "web".into() })
        .expect("stops");
    w.advance_to(t(130_000));
    let total: u64 = shard_ends(&w).iter().map(|(_, _, n)| n).sum();
    assert_eq!(w.efo_subscribers()["clicks/fan"].records(), total);
}
