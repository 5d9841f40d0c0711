//! The store contract suite against the in-memory store, plus what only the memory store can show natively
//! (a storage quota) and a replay check. The same suite runs against IndexedDB in tests/wasm_persist.rs.
#![cfg(not(target_arch = "wasm32"))]

mod persist_suite;

use kinesim::persist::{
    self, Journaled, MemoryStore, SessionStore, StoreErrorKind, import_session, replay,
};
use kinesim::sim::SimTime;
use kinesim::{World, WorldConfig};
use persist_suite::{drive, meta};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// The memory store's futures never wait, so polling once (with a no-op waker) finishes them.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn sessions_are_managed() {
    block_on(persist_suite::sessions_are_managed(&MemoryStore::new()));
}

#[test]
fn prefs_are_kept_per_session() {
    block_on(persist_suite::prefs_are_kept_per_session(
        &MemoryStore::new(),
    ));
}

#[test]
fn reload_restores_the_last_commit() {
    block_on(persist_suite::reload_restores_the_last_commit(
        &MemoryStore::new(),
    ));
}

#[test]
fn snapshots_write_only_changed_segments() {
    block_on(persist_suite::snapshots_write_only_changed_segments(
        &MemoryStore::new(),
    ));
}

#[test]
fn corruption_is_detected_and_contained() {
    block_on(persist_suite::corruption_is_detected_and_contained(
        &MemoryStore::new(),
    ));
}

#[test]
fn export_and_import_round_trip() {
    block_on(persist_suite::export_and_import_round_trip(
        &MemoryStore::new(),
    ));
}

#[test]
fn a_full_store_refuses_the_commit_and_stays_consistent() {
    let store = MemoryStore::with_quota(400_000);
    block_on(async {
        store.create(&meta("q", "Quota", 4)).await.expect("creates");
        let mut session = Journaled::new(World::new(WorldConfig::with_seed(4)));
        let mut now = drive(&mut session, 0, 5, 2);
        persist::save(&store, "q", &mut session, false)
            .await
            .expect("fits");
        let mut last_saved = session.world().event_log_hash();
        let mut refused = None;
        for _ in 0..200 {
            now = drive(&mut session, now, 10, 2);
            match persist::save(&store, "q", &mut session, true).await {
                Ok(()) => last_saved = session.world().event_log_hash(),
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        let refused = refused.expect("the quota runs out");
        assert_eq!(refused.kind, StoreErrorKind::QuotaExceeded);
        assert!(
            refused.message.contains("storage is full"),
            "{}",
            refused.message
        );
        let loaded = persist::load(&store, "q").await.expect("still loads");
        assert_eq!(loaded.world().event_log_hash(), last_saved);
        // Nothing pending was dropped: a smaller journal-only save still carries every input since.
        assert!(session.has_uncommitted());
    });
}

#[test]
fn replaying_the_journal_over_a_fresh_world_gives_the_same_hash() {
    // Commands, API calls and bounded advances, all journaled after an (empty) snapshot.
    let mut session = Journaled::new(World::new(WorldConfig::with_seed(11)));
    let (_, receipt) = session.prepare_commit(true);
    session.committed(receipt);
    let now = drive(&mut session, 0, 30, 4);
    session.advance_to(SimTime::from_millis(now + 90_000));
    let (commit, _) = session.prepare_commit(false);
    assert!(commit.snapshot.is_none());
    let entries: Vec<_> = commit
        .journal_append
        .iter()
        .map(|(seq, bytes)| persist::JournalEntry::decode(*seq, bytes).expect("decodes"))
        .collect();
    let mut world = World::new(WorldConfig::with_seed(11));
    let next = replay(&mut world, 0, &entries).expect("replays");
    assert_eq!(next, entries.len() as u64);
    assert_eq!(world.event_log_hash(), session.world().event_log_hash());
    // A second run of the same inputs gives the same hash (what makes the journal exact).
    let mut plain = Journaled::new(World::new(WorldConfig::with_seed(11)));
    let now = drive(&mut plain, 0, 30, 4);
    plain.advance_to(SimTime::from_millis(now + 90_000));
    assert_eq!(
        plain.world().event_log_hash(),
        session.world().event_log_hash()
    );
    // A gap is refused.
    let mut world = World::new(WorldConfig::with_seed(11));
    assert!(replay(&mut world, 0, entries.iter().skip(1)).is_err());
}

#[test]
fn hostile_session_files_never_panic() {
    let store = MemoryStore::new();
    let file = block_on(async {
        store.create(&meta("h", "H", 2)).await.expect("creates");
        let mut session = Journaled::new(World::new(WorldConfig::with_seed(2)));
        drive(&mut session, 0, 3, 1);
        persist::save(&store, "h", &mut session, false)
            .await
            .expect("saves");
        let stored = store.load("h").await.expect("loads");
        persist::export_session("H", 2, &stored, Some("{}")).expect("exports")
    });
    // Every truncation and many single-byte changes: an error, never a panic, never a wrong session.
    for len in (0..file.len()).step_by(97) {
        assert!(import_session(&file[..len]).is_err());
    }
    for at in (0..file.len()).step_by(131) {
        let mut bad = file.clone();
        bad[at] = bad[at].wrapping_add(1);
        assert!(import_session(&bad).is_err(), "byte {at}");
    }
    // A header that announces a huge payload.
    let mut huge = file[..20].to_vec();
    huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    let err = import_session(&huge).expect_err("oversized");
    assert!(err.to_string().contains("limit"), "{err}");
}

#[test]
fn shard_records_detach_and_restore_exactly() {
    let mut session = Journaled::new(World::new(WorldConfig::with_seed(6)));
    drive(&mut session, 0, 4, 2);
    let mut world = session.world().clone();
    let before: Vec<_> = world
        .streams()
        .record_shards()
        .map(|s| {
            (
                s.stream.to_string(),
                s.incarnation,
                s.ordinal,
                s.next_index,
                s.records.clone(),
            )
        })
        .collect();
    assert_eq!(before.iter().map(|s| s.4.len()).sum::<usize>(), 400);
    let taken = world.streams_mut().take_records();
    assert!(
        world
            .streams()
            .record_shards()
            .all(|s| s.records.is_empty())
    );
    world.streams_mut().put_back_records(taken);
    let after: Vec<_> = world
        .streams()
        .record_shards()
        .map(|s| {
            (
                s.stream.to_string(),
                s.incarnation,
                s.ordinal,
                s.next_index,
                s.records.clone(),
            )
        })
        .collect();
    assert_eq!(before, after);

    // restore_records takes only records that end just before the shard's next index, consecutively.
    let (stream, incarnation, ordinal, _, records) = before
        .iter()
        .find(|s| s.4.len() > 2)
        .cloned()
        .expect("a shard with records");
    let streams = world.streams_mut();
    let mut gap = records.clone();
    gap.remove(1);
    assert!(
        streams
            .restore_records(&stream, incarnation, ordinal, gap)
            .is_err()
    );
    let mut short = records.clone();
    short.pop_back();
    assert!(
        streams
            .restore_records(&stream, incarnation, ordinal, short)
            .is_err()
    );
    assert!(
        streams
            .restore_records(&stream, incarnation + 1, ordinal, records.clone())
            .is_err()
    );
    assert!(
        streams
            .restore_records(&stream, incarnation, 99, records.clone())
            .is_err()
    );
    assert!(
        streams
            .restore_records(&stream, incarnation, ordinal, records)
            .is_ok()
    );
}

#[test]
fn a_fast_run_asks_for_a_snapshot_so_loads_replay_little() {
    use kinesim::Command;
    let mut session = Journaled::new(World::new(WorldConfig::with_seed(8)));
    let _ = session.apply(
        SimTime::ZERO,
        Command::StartTicker {
            name: "fast".into(),
            period_ms: 1,
            jitter_ms: 0,
        },
    );
    let (_, receipt) = session.prepare_commit(true);
    session.committed(receipt);
    assert!(!session.wants_snapshot());
    // A few frames of a fast run: few journal entries, many firings.
    for frame in 1..=30u64 {
        session.advance_to_bounded(SimTime::from_millis(frame * 10_000), 20_000);
    }
    let (commit, _) = session.prepare_commit(false);
    assert!(
        commit.journal_append.len() <= 2,
        "bounded advances coalesce"
    );
    assert!(
        session.wants_snapshot(),
        "300,000 firings since the snapshot"
    );
}

#[test]
fn lambda_mappings_and_their_invocations_are_journaled_and_replay_exactly() {
    use kinesim::workload::lambda::{FunctionResult, request};
    // What the page session does for the SDK playground: a mapping, its invocations run by the shell (a success
    // with a response, an error, a timeout), then the mapping deleted.
    let mut session = Journaled::new(World::new(WorldConfig::with_seed(21)));
    let (_, receipt) = session.prepare_commit(true);
    session.committed(receipt);
    let now = drive(&mut session, 0, 3, 1);
    let config = request::create_request(
        r#"{"FunctionName":"f","StartingPosition":"TRIM_HORIZON","BatchSize":50,
            "EventSourceArn":"arn:aws:kinesis:us-east-1:123456789012:stream/orders"}"#,
    )
    .expect("a valid request");
    let uuid = session
        .create_event_source_mapping(SimTime::from_millis(now), config)
        .expect("creates");
    let mut t = now;
    let results = [
        FunctionResult::Success(Some(serde_json::json!({"batchItemFailures": []}))),
        FunctionResult::Error("Boom: no".into()),
        FunctionResult::Timeout,
        FunctionResult::Success(None),
    ];
    let mut ran = 0;
    for result in results.iter().cycle().take(12) {
        t += 1_000;
        session.advance_to(SimTime::from_millis(t));
        if let Some((mapping, invocation)) = session.poll_invocation() {
            session
                .complete_invocation(
                    SimTime::from_millis(t),
                    &mapping,
                    invocation.id,
                    result.clone(),
                )
                .expect("in flight");
            ran += 1;
        }
    }
    assert!(ran >= 4, "invocations ran ({ran})");
    session
        .delete_event_source_mapping(SimTime::from_millis(t + 1), &uuid)
        .expect("deletes");
    let store = MemoryStore::new();
    block_on(async {
        store
            .create(&meta("esm", "Mappings", 21))
            .await
            .expect("creates");
        persist::save(&store, "esm", &mut session, false)
            .await
            .expect("saves");
        let loaded = persist::load(&store, "esm").await.expect("loads");
        assert_eq!(
            loaded.world().event_log_hash(),
            session.world().event_log_hash()
        );
    });
}

#[test]
fn version_1_session_files_still_import_without_preferences() {
    let store = MemoryStore::new();
    let (stored, hash) = block_on(async {
        store.create(&meta("v1", "Old", 4)).await.expect("creates");
        let mut session = Journaled::new(World::new(WorldConfig::with_seed(4)));
        drive(&mut session, 0, 3, 1);
        persist::save(&store, "v1", &mut session, false)
            .await
            .expect("saves");
        (
            store.load("v1").await.expect("loads"),
            session.world().event_log_hash(),
        )
    });
    // Version 1's layout: name, seed, snapshot, segments, journal (postcard), in the version-1 envelope.
    type V1<'a> = (
        &'a str,
        u64,
        Option<&'a [u8]>,
        Vec<(persist::SegmentKey, &'a [u8])>,
        Vec<(u64, &'a [u8])>,
    );
    let v1: V1<'_> = (
        "Old",
        4,
        stored.snapshot.as_deref(),
        stored
            .segments
            .iter()
            .map(|(k, v)| (k.clone(), v.as_slice()))
            .collect(),
        stored
            .journal
            .iter()
            .map(|(k, v)| (*k, v.as_slice()))
            .collect(),
    );
    let payload = postcard::to_allocvec(&v1).expect("encodes");
    let file = persist::frame::encode(persist::export::EXPORT_MAGIC, 1, &payload);
    let imported = import_session(&file).expect("a version 1 file imports");
    assert_eq!(imported.name, "Old");
    assert_eq!(imported.prefs, None);
    assert_eq!(imported.session.world().event_log_hash(), hash);
}

/// What a serializer says when a world holds a map keyed by tuples (the bug that once emptied every snapshot).
const UNSERIALIZABLE: &str = "key must be a string";

#[test]
fn a_snapshot_that_cannot_be_written_is_reported_and_the_journal_keeps_the_run() {
    let store = MemoryStore::new();
    block_on(async {
        store.create(&meta("u", "U", 8)).await.expect("creates");
        let mut session = Journaled::new(World::new(WorldConfig::with_seed(8)));
        let mut now = drive(&mut session, 0, 4, 2);
        persist::save(&store, "u", &mut session, false)
            .await
            .expect("saves");
        let first_snapshot = store.load("u").await.expect("loads").snapshot;
        assert!(first_snapshot.is_some());

        // The world stops serializing: the save fails loudly, and the journal is stored in the snapshot's place.
        session.fail_snapshots(Some(UNSERIALIZABLE.into()));
        now = drive(&mut session, now, 6, 2);
        let (commit, receipt) = session.prepare_commit(true);
        assert_eq!(commit.snapshot, None, "never an empty snapshot");
        assert!(!commit.journal_append.is_empty());
        assert!(receipt.snapshot_error().is_some_and(|e| e.journal_saved()));
        let refused = persist::save(&store, "u", &mut session, true)
            .await
            .expect_err("a snapshot that cannot be written is an error");
        assert_eq!(refused.kind, StoreErrorKind::Unserializable);
        assert!(
            refused.message.contains(UNSERIALIZABLE),
            "{}",
            refused.message
        );
        assert!(refused.message.contains("journal"), "{}", refused.message);
        let stored = store.load("u").await.expect("loads");
        assert_eq!(stored.snapshot, first_snapshot, "the stored snapshot stays");
        assert!(!session.has_uncommitted());
        let reloaded = persist::load(&store, "u")
            .await
            .expect("the journal replays");
        assert_eq!(
            reloaded.world().event_log_hash(),
            session.world().event_log_hash()
        );

        // The periodic snapshot waits before trying again, so saves go on journal-only and succeed.
        assert!(!session.wants_snapshot());
        now = drive(&mut session, now, 2, 2);
        persist::save(&store, "u", &mut session, false)
            .await
            .expect("a journal-only save");

        // Once the world serializes again the next snapshot is written and covers the journal.
        session.fail_snapshots(None);
        drive(&mut session, now, 2, 2);
        persist::save(&store, "u", &mut session, true)
            .await
            .expect("saves a snapshot");
        let stored = store.load("u").await.expect("loads");
        assert_ne!(stored.snapshot, first_snapshot);
        assert!(stored.journal.is_empty());
        let reloaded = persist::load(&store, "u").await.expect("loads");
        assert_eq!(
            reloaded.world().event_log_hash(),
            session.world().event_log_hash()
        );
    });
}

#[test]
fn a_first_snapshot_that_cannot_be_written_saves_nothing_and_keeps_the_inputs() {
    let store = MemoryStore::new();
    block_on(async {
        store.create(&meta("f", "F", 9)).await.expect("creates");
        // An older life of the session is stored (then the run restarts in place).
        let mut older = Journaled::new(World::new(WorldConfig::with_seed(9)));
        drive(&mut older, 0, 3, 1);
        persist::save(&store, "f", &mut older, false)
            .await
            .expect("saves");
        let older_stored = store.load("f").await.expect("loads");

        let mut session = Journaled::new(World::new(WorldConfig::with_seed(9)));
        session.fail_snapshots(Some(UNSERIALIZABLE.into()));
        let now = drive(&mut session, 0, 5, 2);
        let refused = persist::save(&store, "f", &mut session, false)
            .await
            .expect_err("nothing can be saved without a first snapshot");
        assert_eq!(refused.kind, StoreErrorKind::Unserializable);
        assert!(
            refused.message.starts_with("cannot save"),
            "{}",
            refused.message
        );
        assert!(
            refused.message.contains(UNSERIALIZABLE),
            "{}",
            refused.message
        );
        // Nothing was written: the store still holds the older life whole, and it still loads.
        assert_eq!(store.load("f").await.expect("loads"), older_stored);
        let loaded = persist::load(&store, "f").await.expect("still loads");
        assert_eq!(
            loaded.world().event_log_hash(),
            older.world().event_log_hash()
        );
        // Every input waits for the next save; once the world serializes it lands whole.
        assert!(session.has_uncommitted());
        drive(&mut session, now, 1, 2);
        session.fail_snapshots(None);
        persist::save(&store, "f", &mut session, false)
            .await
            .expect("saves");
        let loaded = persist::load(&store, "f").await.expect("loads");
        assert_eq!(
            loaded.world().event_log_hash(),
            session.world().event_log_hash()
        );
    });
}

#[test]
fn an_input_that_cannot_be_journaled_is_saved_by_a_snapshot_or_reported() {
    let store = MemoryStore::new();
    block_on(async {
        store.create(&meta("j", "J", 10)).await.expect("creates");
        let mut session = Journaled::new(World::new(WorldConfig::with_seed(10)));
        let mut now = drive(&mut session, 0, 2, 1);
        persist::save(&store, "j", &mut session, false)
            .await
            .expect("saves");

        // Inputs the journal refuses: the next save takes a snapshot that covers them.
        session.fail_journal_entries(Some(UNSERIALIZABLE.into()));
        now = drive(&mut session, now, 2, 1);
        session.fail_journal_entries(None);
        now = drive(&mut session, now, 2, 1);
        assert!(session.wants_snapshot());
        persist::save(&store, "j", &mut session, false)
            .await
            .expect("a snapshot saves the run");
        let reloaded = persist::load(&store, "j").await.expect("loads");
        assert_eq!(
            reloaded.world().event_log_hash(),
            session.world().event_log_hash()
        );

        // When the snapshot fails too, what came before the refused input lands and the rest is reported.
        now = drive(&mut session, now, 2, 1);
        session.journal_through(); // Journals the last advance before the journal starts refusing.
        let before_refused = session.world().event_log_hash();
        session.fail_journal_entries(Some(UNSERIALIZABLE.into()));
        session.fail_snapshots(Some(UNSERIALIZABLE.into()));
        now = drive(&mut session, now, 1, 1);
        session.fail_journal_entries(None);
        drive(&mut session, now, 1, 1);
        let refused = persist::save(&store, "j", &mut session, false)
            .await
            .expect_err("nothing after the refused input can be saved");
        assert_eq!(refused.kind, StoreErrorKind::Unserializable);
        assert!(
            refused.message.contains("cannot journal input"),
            "{}",
            refused.message
        );
        assert!(session.has_uncommitted());
        let reloaded = persist::load(&store, "j").await.expect("loads");
        assert_eq!(reloaded.world().event_log_hash(), before_refused);
        session.fail_snapshots(None);
        persist::save(&store, "j", &mut session, false)
            .await
            .expect("saves");
        let reloaded = persist::load(&store, "j").await.expect("loads");
        assert_eq!(
            reloaded.world().event_log_hash(),
            session.world().event_log_hash()
        );
    });
}
