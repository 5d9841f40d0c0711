//! The store contract suite: one set of async checks every [`SessionStore`] must pass. Native tests run it
//! against the memory store (tests/persist_contract.rs), wasm tests against IndexedDB in headless Chromium
//! (tests/wasm_persist.rs).
#![allow(dead_code)]

use kinesim::persist::store::PREFS_BYTES_MAX;
use kinesim::persist::{
    self, Commit, Journaled, SessionMeta, SessionStore, StoreErrorKind, export_session,
    import_session,
};
use kinesim::sim::SimTime;
use kinesim::{Command, World, WorldConfig};

pub fn meta(id: &str, name: &str, seed: u64) -> SessionMeta {
    SessionMeta {
        id: id.into(),
        name: name.into(),
        seed,
        damaged: None,
    }
}

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Drives a journaled world: a ticker, a stream with `shards` shards and `batches` PutRecords calls of 100
/// records, with time advancing in uneven, bounded slices as a UI frame loop does.
pub fn drive(session: &mut Journaled, start_ms: u64, batches: u32, shards: u32) -> u64 {
    let mut now = start_ms;
    if start_ms == 0 {
        let _ = session.apply(
            SimTime::ZERO,
            Command::StartTicker {
                name: "tick".into(),
                period_ms: 70,
                jitter_ms: 30,
            },
        );
        session.kinesis(
            SimTime::ZERO,
            "CreateStream",
            &format!(r#"{{"StreamName":"orders","ShardCount":{shards}}}"#),
        );
        now = 60_000;
        session.advance_to(SimTime::from_millis(now));
    }
    for batch in 0..batches {
        let records: Vec<String> = (0..100)
            .map(|i| {
                format!(
                    r#"{{"Data":"{}","PartitionKey":"key-{batch}-{i}"}}"#,
                    b64(format!("record {batch} {i}").as_bytes())
                )
            })
            .collect();
        let body = format!(
            r#"{{"StreamName":"orders","Records":[{}]}}"#,
            records.join(",")
        );
        let response = session.call(
            SimTime::from_millis(now),
            "Kinesis_20131202.PutRecords",
            &body,
        );
        assert_eq!(response.status, 200);
        now += 1_000 + u64::from(batch % 7) * 13;
        session.advance_to_bounded(SimTime::from_millis(now - 500), 3);
        session.advance_to_bounded(SimTime::from_millis(now), 1_000);
    }
    now
}

fn fresh(seed: u64) -> World {
    World::new(WorldConfig::with_seed(seed))
}

fn record_count(world: &World) -> usize {
    world
        .streams()
        .record_shards()
        .map(|s| s.records.len())
        .sum()
}

/// Create, list, rename, duplicate, delete, and their errors.
pub async fn sessions_are_managed<S: SessionStore>(store: &S) {
    assert!(store.list().await.expect("lists").is_empty());
    store.create(&meta("a", "First", 1)).await.expect("creates");
    store
        .create(&meta("b", "Second", 2))
        .await
        .expect("creates");
    let err = store
        .create(&meta("a", "Again", 1))
        .await
        .expect_err("taken");
    assert_eq!(err.kind, StoreErrorKind::AlreadyExists);
    let err = store
        .create(&meta("bad/id", "x", 1))
        .await
        .expect_err("bad id");
    assert_eq!(err.kind, StoreErrorKind::Invalid);
    let err = store
        .create(&meta("c", "", 1))
        .await
        .expect_err("empty name");
    assert_eq!(err.kind, StoreErrorKind::Invalid);

    store.rename("a", "Renamed").await.expect("renames");
    assert_eq!(store.meta("a").await.expect("meta").name, "Renamed");
    let err = store.rename("zz", "x").await.expect_err("missing");
    assert_eq!(err.kind, StoreErrorKind::NotFound);

    let mut session = Journaled::new(fresh(1));
    drive(&mut session, 0, 5, 2);
    persist::save(store, "a", &mut session, false)
        .await
        .expect("saves");
    store
        .duplicate("a", &meta("a2", "Copy", 1))
        .await
        .expect("duplicates");
    let copy = persist::load(store, "a2").await.expect("loads the copy");
    assert_eq!(
        copy.world().event_log_hash(),
        session.world().event_log_hash()
    );
    let err = store
        .duplicate("zz", &meta("z2", "x", 1))
        .await
        .expect_err("missing");
    assert_eq!(err.kind, StoreErrorKind::NotFound);
    let err = store
        .duplicate("a", &meta("b", "x", 1))
        .await
        .expect_err("taken");
    assert_eq!(err.kind, StoreErrorKind::AlreadyExists);

    let ids: Vec<String> = store
        .list()
        .await
        .expect("lists")
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["a", "a2", "b"]);

    store.delete("a").await.expect("deletes");
    let err = store.load("a").await.expect_err("gone");
    assert_eq!(err.kind, StoreErrorKind::NotFound);
    // The copy is independent of the deleted original.
    let copy = persist::load(store, "a2")
        .await
        .expect("the copy still loads");
    assert_eq!(
        copy.world().event_log_hash(),
        session.world().event_log_hash()
    );
    let ids: Vec<String> = store
        .list()
        .await
        .expect("lists")
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["a2", "b"]);
}

/// Snapshot, then journal-only commits; a reload gives the same state and the same event log hash.
pub async fn reload_restores_the_last_commit<S: SessionStore>(store: &S) {
    store.create(&meta("run", "Run", 9)).await.expect("creates");
    let never_saved = persist::load(store, "run")
        .await
        .expect("an empty session loads");
    assert_eq!(
        never_saved.world().event_log_hash(),
        fresh(9).event_log_hash()
    );

    let mut session = Journaled::new(fresh(9));
    let now = drive(&mut session, 0, 20, 3);
    persist::save(store, "run", &mut session, false)
        .await
        .expect("first save snapshots");
    let now = drive(&mut session, now, 15, 3);
    persist::save(store, "run", &mut session, false)
        .await
        .expect("journal save");
    let stored = store.load("run").await.expect("loads");
    assert!(
        !stored.journal.is_empty(),
        "the second save is journal only"
    );
    let saved_hash = session.world().event_log_hash();

    // Work after the last commit is not in the store.
    drive(&mut session, now, 3, 3);
    let restored = persist::load(store, "run").await.expect("restores");
    assert_eq!(restored.world().event_log_hash(), saved_hash);
    assert_eq!(record_count(restored.world()), 3_500);

    // A restored session keeps journaling where it left off.
    let mut restored = restored;
    let now = drive(&mut restored, now, 4, 3);
    persist::save(store, "run", &mut restored, true)
        .await
        .expect("snapshot save");
    let again = persist::load(store, "run").await.expect("restores");
    assert_eq!(
        again.world().event_log_hash(),
        restored.world().event_log_hash()
    );
    assert_eq!(record_count(again.world()), 3_900);
    assert!(store.load("run").await.expect("loads").journal.is_empty());

    // Restarting the session (a new world under the same id) replaces everything stored for it.
    let mut restarted = Journaled::new(fresh(42));
    drive(&mut restarted, 0, 2, 1);
    persist::save(store, "run", &mut restarted, false)
        .await
        .expect("saves");
    let stored = store.load("run").await.expect("loads");
    assert_eq!(
        stored.segments.len(),
        1,
        "the old world's segments are gone"
    );
    let again = persist::load(store, "run").await.expect("restores");
    assert_eq!(
        again.world().event_log_hash(),
        restarted.world().event_log_hash()
    );
    let _ = now;
}

/// A snapshot rewrites only the segments that changed.
pub async fn snapshots_write_only_changed_segments<S: SessionStore>(store: &S) {
    store
        .create(&meta("seg", "Segments", 3))
        .await
        .expect("creates");
    let mut session = Journaled::new(fresh(3));
    let now = drive(&mut session, 0, 40, 1);
    let (commit, receipt) = session.prepare_commit(true);
    assert_eq!(
        commit.segment_puts.len(),
        4,
        "4,000 records in 1,024-record segments"
    );
    store.commit("seg", &commit).await.expect("commits");
    session.committed(receipt);
    drive(&mut session, now, 1, 1);
    let (commit, receipt) = session.prepare_commit(true);
    let written: Vec<u64> = commit.segment_puts.iter().map(|(k, _)| k.segment).collect();
    // Records 4,000..4,100: the open tail segment (3,072..4,096) and a new one; sealed 0..=2 are not rewritten.
    assert_eq!(written, [3, 4]);
    store.commit("seg", &commit).await.expect("commits");
    session.committed(receipt);
    let restored = persist::load(store, "seg").await.expect("restores");
    assert_eq!(
        restored.world().event_log_hash(),
        session.world().event_log_hash()
    );
    assert_eq!(record_count(restored.world()), 4_100);

    // Past the 24-hour retention every record expires: the next snapshot deletes whole segments.
    let _ = session.apply(
        SimTime::from_millis(now),
        Command::Cancel {
            name: "tick".into(),
        },
    );
    session.advance_to(SimTime::from_millis(now + 25 * 3_600_000));
    assert_eq!(record_count(session.world()), 0);
    let (commit, receipt) = session.prepare_commit(true);
    assert!(commit.segment_puts.is_empty());
    let deleted: Vec<u64> = commit.segment_deletes.iter().map(|k| k.segment).collect();
    assert_eq!(deleted, [0, 1, 2, 3, 4]);
    store.commit("seg", &commit).await.expect("commits");
    session.committed(receipt);
    assert!(store.load("seg").await.expect("loads").segments.is_empty());
    let restored = persist::load(store, "seg").await.expect("restores");
    assert_eq!(
        restored.world().event_log_hash(),
        session.world().event_log_hash()
    );
}

/// Damaged bytes in one session are reported; other sessions stay usable.
pub async fn corruption_is_detected_and_contained<S: SessionStore>(store: &S) {
    store
        .create(&meta("good", "Good", 1))
        .await
        .expect("creates");
    store.create(&meta("bad", "Bad", 1)).await.expect("creates");
    let mut good = Journaled::new(fresh(1));
    drive(&mut good, 0, 3, 2);
    persist::save(store, "good", &mut good, false)
        .await
        .expect("saves");

    let mut bad = Journaled::new(fresh(1));
    drive(&mut bad, 0, 3, 2);
    let (mut commit, _) = bad.prepare_commit(true);
    if let Some(snapshot) = commit.snapshot.as_mut() {
        let middle = snapshot.len() / 2;
        snapshot[middle] ^= 0x55;
    }
    store
        .commit("bad", &commit)
        .await
        .expect("the store takes opaque bytes");
    let err = persist::load(store, "bad")
        .await
        .expect_err("damage is detected");
    assert_eq!(err.kind, StoreErrorKind::Corrupt);
    assert!(err.message.contains("checksum"), "{}", err.message);

    // A foreign segment under a good snapshot.
    let (mut commit, _) = bad.prepare_commit(true);
    if let Some((_, bytes)) = commit.segment_puts.first_mut() {
        *bytes = b"{\"not\":\"a segment\"}".to_vec();
    }
    store.commit("bad", &commit).await.expect("commits");
    let err = persist::load(store, "bad")
        .await
        .expect_err("foreign data is detected");
    assert_eq!(err.kind, StoreErrorKind::Corrupt);

    // A garbage journal entry.
    let junk = Commit {
        journal_append: vec![(bad.next_seq(), vec![0xff; 40])],
        ..Commit::default()
    };
    store.commit("bad", &junk).await.expect("commits");
    assert!(persist::load(store, "bad").await.is_err());

    let loaded = persist::load(store, "good")
        .await
        .expect("other sessions still load");
    assert_eq!(
        loaded.world().event_log_hash(),
        good.world().event_log_hash()
    );
    assert_eq!(store.list().await.expect("lists").len(), 2);
    store
        .delete("bad")
        .await
        .expect("a damaged session can be deleted");
}

/// Export, then import: the same session; damaged files are refused with clear errors.
pub async fn export_and_import_round_trip<S: SessionStore>(store: &S) {
    store
        .create(&meta("exp", "Export me", 5))
        .await
        .expect("creates");
    let mut session = Journaled::new(fresh(5));
    let now = drive(&mut session, 0, 12, 2);
    persist::save(store, "exp", &mut session, false)
        .await
        .expect("saves");
    drive(&mut session, now, 2, 2);
    persist::save(store, "exp", &mut session, false)
        .await
        .expect("saves journal");
    let stored = store.load("exp").await.expect("loads");
    let file = export_session("Export me", 5, &stored, Some(r#"{"speed":10}"#)).expect("exports");

    let imported = import_session(&file).expect("imports");
    assert_eq!(imported.name, "Export me");
    assert_eq!(imported.prefs.as_deref(), Some(r#"{"speed":10}"#));
    assert_eq!(
        imported.session.world().event_log_hash(),
        session.world().event_log_hash()
    );
    let mut restored = imported.session;
    store
        .create(&meta("imp", &imported.name, imported.seed))
        .await
        .expect("creates");
    persist::save(store, "imp", &mut restored, true)
        .await
        .expect("stores the import");
    let loaded = persist::load(store, "imp").await.expect("loads the import");
    assert_eq!(
        loaded.world().event_log_hash(),
        session.world().event_log_hash()
    );

    let truncated = import_session(&file[..file.len() / 2]).expect_err("truncated");
    assert!(truncated.to_string().contains("truncated"), "{truncated}");
    let foreign = import_session(b"PK\x03\x04 a zip file, not a session").expect_err("foreign");
    assert_eq!(foreign.to_string(), "This is not a kinesim session file.");
    let mut damaged = file.clone();
    let at = damaged.len() - 10;
    damaged[at] ^= 1;
    assert!(
        import_session(&damaged)
            .expect_err("damaged")
            .to_string()
            .contains("checksum")
    );
}

/// A world holding `records` 100-byte records spread over `shards` shards (typed calls, no throughput limits).
pub fn big_world(records: u32, shards: u32) -> World {
    use kinesim::streams::service::{PutEntry, StreamMode};
    let mut config = WorldConfig::with_seed(77);
    config.streams.throughput_limits_default = false;
    let mut world = World::new(config);
    world
        .streams_mut()
        .create_stream(
            SimTime::ZERO,
            "bench",
            Some(u64::from(shards)),
            StreamMode::Provisioned,
        )
        .expect("creates");
    let mut now = 60_000u64;
    world.advance_to(SimTime::from_millis(now));
    let mut written = 0u32;
    while written < records {
        let batch = (records - written).min(500);
        let entries = (written..written + batch)
            .map(|i| PutEntry {
                data: {
                    let mut data = format!("record-{i:010}-").into_bytes();
                    data.resize(100, b'x');
                    data
                },
                partition_key: format!("pk-{i}"),
                explicit_hash_key: None,
            })
            .collect();
        let results = world
            .streams_mut()
            .put_records(SimTime::from_millis(now), "bench", entries)
            .expect("puts");
        assert!(results.iter().all(Result::is_ok));
        written += batch;
        now += 10;
    }
    world.advance_to(SimTime::from_millis(now));
    world
}

/// Saves `world` into a new session and loads it back, timing both with `clock_ms`. Returns (save ms, load ms).
pub async fn save_and_load<S: SessionStore>(
    store: &S,
    id: &str,
    world: World,
    clock_ms: impl Fn() -> f64,
) -> (f64, f64) {
    let hash = world.event_log_hash();
    let records = record_count(&world);
    store
        .create(&meta(id, "Benchmark", 77))
        .await
        .expect("creates");
    let mut session = Journaled::new(world);
    let start = clock_ms();
    persist::save(store, id, &mut session, true)
        .await
        .expect("saves");
    let saved = clock_ms();
    let loaded = persist::load(store, id).await.expect("loads");
    let done = clock_ms();
    assert_eq!(loaded.world().event_log_hash(), hash);
    assert_eq!(record_count(loaded.world()), records);
    (saved - start, done - saved)
}

/// UI preferences: none until saved, kept per session, copied by duplicate, refused past the size limit, gone
/// with the session.
pub async fn prefs_are_kept_per_session<S: SessionStore>(store: &S) {
    store.create(&meta("p1", "One", 1)).await.expect("creates");
    store.create(&meta("p2", "Two", 2)).await.expect("creates");
    assert_eq!(store.prefs("p1").await.expect("reads"), None);
    store
        .set_prefs("p1", r#"{"speed":10}"#)
        .await
        .expect("saves");
    assert_eq!(
        store.prefs("p1").await.expect("reads").as_deref(),
        Some(r#"{"speed":10}"#)
    );
    assert_eq!(store.prefs("p2").await.expect("reads"), None, "per session");
    store
        .duplicate("p1", &meta("p3", "Copy", 1))
        .await
        .expect("duplicates");
    assert_eq!(
        store.prefs("p3").await.expect("reads").as_deref(),
        Some(r#"{"speed":10}"#)
    );
    let big = "x".repeat(PREFS_BYTES_MAX as usize + 1);
    let err = store.set_prefs("p2", &big).await.expect_err("too big");
    assert_eq!(err.kind, StoreErrorKind::Invalid);
    let err = store.set_prefs("nope", "{}").await.expect_err("no session");
    assert_eq!(err.kind, StoreErrorKind::NotFound);
    for id in ["p1", "p2", "p3"] {
        store.delete(id).await.expect("deletes");
    }
    assert_eq!(
        store.prefs("p1").await.expect_err("gone").kind,
        StoreErrorKind::NotFound
    );
}
