//! A scenario run's share inputs are kept with its session: a share taken after a reload (snapshot plus journal)
//! reproduces the run exactly, a session saved before they were kept says it cannot be shared exactly, and past
//! the bound a run says so instead of giving a share that would not reproduce it.
#![cfg(not(target_arch = "wasm32"))]

use kinesim::persist::frame;
use kinesim::persist::session::{SNAPSHOT_MAGIC, SNAPSHOT_VERSION};
use kinesim::persist::{
    self, Journaled, MemoryStore, SHARE_INPUTS_MAX, SessionMeta, SessionStore, ShareGap,
};
use kinesim::scenarios::{self, SHARE_FORMAT, SHARE_VERSION, ScenarioInput, ShareFile, catalog};
use kinesim::sim::SimTime;
use serde::{Deserialize, Serialize};
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

fn meta(id: &str, seed: u64) -> SessionMeta {
    SessionMeta {
        id: id.into(),
        name: id.into(),
        seed,
        damaged: None,
    }
}

/// What the App does for a page's Kinesis call: keeps it for sharing, then gives it to the world.
fn put(session: &mut Journaled, stream: &str, key: &str) {
    let now = session.now();
    let body = serde_json::json!({"StreamName": stream, "Data": "aGVsbG8=", "PartitionKey": key})
        .to_string();
    session.record_share(ScenarioInput::Api {
        now_ms: now.as_millis(),
        target: "Kinesis_20131202.PutRecord".into(),
        body: body.clone(),
    });
    session.kinesis(now, "PutRecord", &body);
}

/// What the App does for a scenario's "play to".
fn play_to(session: &mut Journaled, to_ms: u64) {
    session.advance_to(SimTime::from_millis(to_ms));
    session.record_share(ScenarioInput::Advance { to_ms });
}

fn share_of(scenario: &scenarios::Scenario, session: &Journaled) -> Result<ShareFile, ShareGap> {
    Ok(ShareFile {
        format: SHARE_FORMAT.into(),
        version: SHARE_VERSION,
        scenario: scenario.id.into(),
        seed: scenario.seed,
        inputs: session.share_inputs().inputs()?.to_vec(),
        end_ms: session.now().as_millis(),
        event_log_hash: session.event_log_hash(),
    })
}

#[test]
fn a_share_after_reload_reproduces_the_run() {
    let scenario = &catalog::SCENARIOS[0];
    let store = MemoryStore::new();
    block_on(async {
        store
            .create(&meta("s", scenario.seed))
            .await
            .expect("creates");
        let mut session = Journaled::new(scenario.build_world());
        let stream = session
            .streams()
            .stream_names()
            .next()
            .expect("the scenario has a stream")
            .to_string();
        for i in 0..20 {
            put(&mut session, &stream, &format!("k{}", i % 3));
        }
        play_to(&mut session, 5_000);
        // Snapshot, then more inputs that only the journal holds.
        persist::save(&store, "s", &mut session, true)
            .await
            .expect("saves");
        for i in 0..7 {
            put(&mut session, &stream, &format!("late{i}"));
        }
        play_to(&mut session, 9_000);
        // Time passes without a share input (the clock playing): the share's end time covers it.
        session.advance_to(SimTime::from_millis(12_345));
        persist::save(&store, "s", &mut session, false)
            .await
            .expect("saves");
        let before = share_of(scenario, &session).expect("shareable");
        assert_eq!(before.inputs.len(), 29);

        let reloaded = persist::load(&store, "s").await.expect("loads");
        assert_eq!(reloaded.event_log_hash(), session.event_log_hash());
        let after = share_of(scenario, &reloaded).expect("still shareable after the reload");
        assert_eq!(after, before);
        let (replayed, matches) = scenarios::replay(&after).expect("replays");
        assert!(matches, "the shared run reproduces the event log");
        assert_eq!(replayed.event_log_hash(), session.event_log_hash());

        // Reloaded again after more work: the list goes on from where it was.
        let mut reloaded = reloaded;
        put(&mut reloaded, &stream, "after-reload");
        persist::save(&store, "s", &mut reloaded, false)
            .await
            .expect("saves");
        let again = persist::load(&store, "s").await.expect("loads");
        let share = share_of(scenario, &again).expect("shareable");
        assert_eq!(share.inputs.len(), 30);
        assert!(scenarios::replay(&share).expect("replays").1);
    });
}

#[test]
fn a_loaded_share_file_keeps_its_inputs_across_a_reload() {
    let scenario = &catalog::SCENARIOS[0];
    let mut original = Journaled::new(scenario.build_world());
    let stream = original
        .streams()
        .stream_names()
        .next()
        .expect("a stream")
        .to_string();
    put(&mut original, &stream, "a");
    play_to(&mut original, 2_000);
    let file = share_of(scenario, &original).expect("shareable");
    let (world, matches) = scenarios::replay(&file).expect("replays");
    assert!(matches);
    let store = MemoryStore::new();
    block_on(async {
        store
            .create(&meta("l", scenario.seed))
            .await
            .expect("creates");
        let mut loaded = Journaled::with_share_inputs(world, file.inputs.clone());
        put(&mut loaded, &stream, "b");
        persist::save(&store, "l", &mut loaded, false)
            .await
            .expect("saves");
        let restored = persist::load(&store, "l").await.expect("loads");
        let share = share_of(scenario, &restored).expect("shareable");
        assert_eq!(share.inputs.len(), 3);
        assert!(scenarios::replay(&share).expect("replays").1);
    });
}

/// A version 2 snapshot payload, field for field (postcard writes a struct as its fields in order).
#[derive(Serialize, Deserialize)]
struct SnapshotV2 {
    journal_next_seq: u64,
    shards: Vec<(String, u64, u32, u64, u64)>,
    world_json: Vec<u8>,
    share_json: Vec<u8>,
}

/// A version 1 snapshot payload: no share inputs.
#[derive(Serialize, Deserialize)]
struct SnapshotV1 {
    journal_next_seq: u64,
    shards: Vec<(String, u64, u32, u64, u64)>,
    world_json: Vec<u8>,
}

#[test]
fn a_session_saved_before_share_inputs_were_kept_loads_and_says_it_cannot_be_shared() {
    let scenario = &catalog::SCENARIOS[0];
    let mut session = Journaled::new(scenario.build_world());
    let stream = session
        .streams()
        .stream_names()
        .next()
        .expect("a stream")
        .to_string();
    for i in 0..5 {
        put(&mut session, &stream, &format!("k{i}"));
    }
    let (mut commit, _) = session.prepare_commit(true);
    let snapshot = commit.snapshot.take().expect("a snapshot");
    let (version, payload) =
        frame::decode(SNAPSHOT_MAGIC, SNAPSHOT_VERSION, u64::MAX, &snapshot).expect("decodes");
    assert_eq!(version, SNAPSHOT_VERSION);
    let v2: SnapshotV2 = postcard::from_bytes(payload).expect("reads");
    let v1 = SnapshotV1 {
        journal_next_seq: v2.journal_next_seq,
        shards: v2.shards,
        world_json: v2.world_json,
    };
    let old = frame::encode(
        SNAPSHOT_MAGIC,
        1,
        &postcard::to_allocvec(&v1).expect("encodes"),
    );
    let store = MemoryStore::new();
    block_on(async {
        store
            .create(&meta("o", scenario.seed))
            .await
            .expect("creates");
        commit.snapshot = Some(old);
        store.commit("o", &commit).await.expect("commits");
        let mut restored = persist::load(&store, "o")
            .await
            .expect("an old snapshot loads");
        assert_eq!(restored.event_log_hash(), session.event_log_hash());
        assert_eq!(
            restored.share_inputs().inputs().err(),
            Some(ShareGap::SavedBeforeKept)
        );
        // Inputs after the reload do not make an incomplete run shareable, saved or not.
        put(&mut restored, &stream, "later");
        assert!(share_of(scenario, &restored).is_err());
        persist::save(&store, "o", &mut restored, true)
            .await
            .expect("saves");
        let again = persist::load(&store, "o").await.expect("loads");
        assert_eq!(
            again.share_inputs().inputs().err(),
            Some(ShareGap::SavedBeforeKept)
        );
        assert!(
            ShareGap::SavedBeforeKept
                .to_string()
                .contains("saved before")
        );
    });
}

#[test]
fn past_the_bound_a_run_says_it_cannot_be_shared_and_a_reload_keeps_saying_it() {
    let scenario = &catalog::SCENARIOS[0];
    let store = MemoryStore::new();
    block_on(async {
        store
            .create(&meta("b", scenario.seed))
            .await
            .expect("creates");
        let mut session = Journaled::new(scenario.build_world());
        for _ in 0..SHARE_INPUTS_MAX {
            session.record_share(ScenarioInput::HttpPoll { now_ms: 0 });
        }
        assert_eq!(session.share_inputs().len(), SHARE_INPUTS_MAX);
        assert!(session.share_inputs().inputs().is_ok());
        persist::save(&store, "b", &mut session, true)
            .await
            .expect("saves");
        session.record_share(ScenarioInput::HttpPoll { now_ms: 0 });
        assert_eq!(
            session.share_inputs().inputs().err(),
            Some(ShareGap::TooManyInputs)
        );
        persist::save(&store, "b", &mut session, false)
            .await
            .expect("saves");
        let restored = persist::load(&store, "b").await.expect("loads");
        assert_eq!(
            restored.share_inputs().inputs().err(),
            Some(ShareGap::TooManyInputs)
        );
        assert!(
            ShareGap::TooManyInputs
                .to_string()
                .contains(&SHARE_INPUTS_MAX.to_string())
        );
        // A restart (a new run) can be shared again.
        let fresh = Journaled::new(scenario.build_world());
        assert!(fresh.share_inputs().inputs().is_ok());
    });
}

/// Every scenario's world (its shards hold metrics of finished minutes) is snapshotted whole and reloads to the
/// same event log: a snapshot that lost its world would make the session unreadable.
#[test]
fn every_scenario_world_snapshots_and_reloads() {
    for scenario in catalog::SCENARIOS {
        let store = MemoryStore::new();
        block_on(async {
            store
                .create(&meta(scenario.id, scenario.seed))
                .await
                .expect("creates");
            let mut session = Journaled::new(scenario.build_world());
            session.advance_to(SimTime::from_millis(
                session.now().as_millis().saturating_add(180_000),
            ));
            persist::save(&store, scenario.id, &mut session, true)
                .await
                .expect("saves");
            let restored = persist::load(&store, scenario.id)
                .await
                .unwrap_or_else(|e| panic!("{}: {e:?}", scenario.id));
            assert_eq!(
                restored.event_log_hash(),
                session.event_log_hash(),
                "{}",
                scenario.id
            );
        });
    }
}
