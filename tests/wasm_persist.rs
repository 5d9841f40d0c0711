//! The store contract suite against IndexedDB in headless Chromium (one database per test), the Web Locks
//! guard, and a benchmark that runs only when built with `KINESIM_BENCH=1`:
//! `KINESIM_BENCH=1 cargo test --release --target wasm32-unknown-unknown --test wasm_persist -- --nocapture bench`.
#![cfg(target_arch = "wasm32")]

mod persist_suite;

use kinesim::persist::idb::IdbStore;
use kinesim::persist::lock;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

async fn fresh_store(name: &str) -> IdbStore {
    IdbStore::delete_database(name).await.expect("deletes");
    IdbStore::open(name).await.expect("opens")
}

#[wasm_bindgen_test]
async fn idb_sessions_are_managed() {
    let store = fresh_store("test-sessions").await;
    persist_suite::sessions_are_managed(&store).await;
}

#[wasm_bindgen_test]
async fn idb_prefs_are_kept_per_session() {
    let store = fresh_store("test-prefs").await;
    persist_suite::prefs_are_kept_per_session(&store).await;
}

/// A database as schema version 1 left it (four object stores; metadata as JSON text, values as bytes under
/// `{id}/...` keys), written with raw IndexedDB calls, opens at version 2 with every session as it was.
#[wasm_bindgen_test]
async fn idb_a_version_1_database_migrates_with_nothing_lost() {
    use idb::{DatabaseEvent, Factory, ObjectStoreParams, TransactionMode};
    use kinesim::persist::idb::SCHEMA_VERSION;
    use kinesim::persist::{self, Journaled, SessionStore};
    use kinesim::{World, WorldConfig};
    use wasm_bindgen::JsValue;

    let name = "test-migrate-v1";
    IdbStore::delete_database(name).await.expect("deletes");
    // The session: a snapshot with record segments, then journal entries after it.
    let mut session = Journaled::new(World::new(WorldConfig::with_seed(9)));
    let end_ms = persist_suite::drive(&mut session, 0, 30, 3);
    let (first, receipt) = session.prepare_commit(true);
    session.committed(receipt);
    persist_suite::drive(&mut session, end_ms, 5, 3);
    let (rest, _) = session.prepare_commit(false);
    let hash = session.world().event_log_hash();
    assert!(!first.segment_puts.is_empty() && !rest.journal_append.is_empty());

    let factory = Factory::new().expect("factory");
    let mut request = factory.open(name, Some(1)).expect("opens");
    request.on_upgrade_needed(|event| {
        let db = event.database().expect("database");
        for store in ["sessions", "snapshots", "segments", "journal"] {
            db.create_object_store(store, ObjectStoreParams::new())
                .expect("creates a store");
        }
    });
    let db = request.await.expect("opens at version 1");
    let tx = db
        .transaction(
            &["sessions", "snapshots", "segments", "journal"],
            TransactionMode::ReadWrite,
        )
        .expect("transaction");
    let bytes = |b: &[u8]| JsValue::from(js_sys::Uint8Array::from(b));
    let meta = r#"{"id":"old","name":"From version 1","seed":9}"#;
    drop(
        tx.object_store("sessions")
            .expect("store")
            .put(&JsValue::from(meta), Some(&JsValue::from("old"))),
    );
    drop(tx.object_store("snapshots").expect("store").put(
        &bytes(first.snapshot.as_deref().expect("a snapshot")),
        Some(&JsValue::from("old")),
    ));
    let segments = tx.object_store("segments").expect("store");
    for (key, value) in &first.segment_puts {
        let key = JsValue::from(format!("old/{}", key.to_key_string()));
        drop(segments.put(&bytes(value), Some(&key)));
    }
    let journal = tx.object_store("journal").expect("store");
    for (seq, value) in &rest.journal_append {
        drop(journal.put(
            &bytes(value),
            Some(&JsValue::from(format!("old/{seq:020}"))),
        ));
    }
    tx.await.expect("commits");
    db.close();

    let store = IdbStore::open(name).await.expect("opens and migrates");
    let list = store.list().await.expect("lists");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "From version 1");
    assert_eq!(list[0].damaged, None);
    let loaded = persist::load(&store, "old").await.expect("loads");
    assert_eq!(loaded.world().event_log_hash(), hash, "nothing lost");
    assert_eq!(store.prefs("old").await.expect("reads"), None, "defaults");
    store
        .set_prefs("old", r#"{"speed":100}"#)
        .await
        .expect("the new store works");
    store.close();
    let reopened = IdbStore::open(name).await.expect("reopens at version 2");
    assert_eq!(
        reopened.prefs("old").await.expect("reads").as_deref(),
        Some(r#"{"speed":100}"#)
    );
    reopened.close();
    let version = Factory::new()
        .expect("factory")
        .open(name, None)
        .expect("opens")
        .await
        .expect("opens")
        .version()
        .expect("a version");
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(version, 2);
}

#[wasm_bindgen_test]
async fn idb_reload_restores_the_last_commit() {
    let store = fresh_store("test-reload").await;
    persist_suite::reload_restores_the_last_commit(&store).await;
    // A second connection (a reloaded page) sees the same.
    store.close();
    let reopened = IdbStore::open("test-reload").await.expect("reopens");
    let loaded = kinesim::persist::load(&reopened, "run")
        .await
        .expect("loads");
    assert!(loaded.world().event_count() > 0);
}

#[wasm_bindgen_test]
async fn idb_snapshots_write_only_changed_segments() {
    let store = fresh_store("test-segments").await;
    persist_suite::snapshots_write_only_changed_segments(&store).await;
}

#[wasm_bindgen_test]
async fn idb_corruption_is_detected_and_contained() {
    let store = fresh_store("test-corruption").await;
    persist_suite::corruption_is_detected_and_contained(&store).await;
}

#[wasm_bindgen_test]
async fn idb_export_and_import_round_trip() {
    let store = fresh_store("test-export").await;
    persist_suite::export_and_import_round_trip(&store).await;
}

#[wasm_bindgen_test]
async fn a_second_holder_of_a_session_lock_is_refused_until_release() {
    let first = lock::try_lock("lock-test").await.expect("web locks work");
    assert!(first.is_some(), "the first tab gets the lock");
    let second = lock::try_lock("lock-test").await.expect("web locks work");
    assert!(second.is_none(), "a second writer is refused");
    let other = lock::try_lock("another-session")
        .await
        .expect("web locks work");
    assert!(other.is_some(), "other sessions are independent");
    drop(first);
    // The release resolves a promise; the lock manager frees the lock on a later task.
    let mut again = None;
    for _ in 0..50 {
        again = lock::try_lock("lock-test").await.expect("web locks work");
        if again.is_some() {
            break;
        }
    }
    assert!(again.is_some(), "released locks can be taken again");
}

fn performance_now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| {
            let now = js_sys::Reflect::get(&p, &"now".into()).ok()?;
            let now: js_sys::Function = now.into();
            now.call0(&p).ok()?.as_f64()
        })
        .unwrap_or(0.0)
}

#[wasm_bindgen_test]
async fn bench_save_and_load_a_million_records() {
    if option_env!("KINESIM_BENCH").is_none() {
        return;
    }
    const RECORDS: u32 = 1_000_000;
    let store = fresh_store("bench-million").await;
    let world = persist_suite::big_world(RECORDS, 8);
    let (save_ms, load_ms) =
        persist_suite::save_and_load(&store, "bench", world, performance_now_ms).await;
    console_log!(
        "IndexedDB, 1,000,000 100-byte records over 8 shards: saved in {:.2} s ({:.0} records/s), loaded in {:.2} s",
        save_ms / 1000.0,
        f64::from(RECORDS) / (save_ms / 1000.0),
        load_ms / 1000.0
    );
    IdbStore::delete_database("bench-million")
        .await
        .expect("cleans up");
}

/// Values another program (or a broken write) left in the database: reported per session, never trusted.
#[wasm_bindgen_test]
async fn idb_foreign_values_are_reported_and_contained() {
    use idb::{Factory, TransactionMode};
    use kinesim::persist::{self, SessionStore, StoreErrorKind};
    use wasm_bindgen::JsValue;

    let name = "test-foreign";
    let store = fresh_store(name).await;
    persist_suite::reload_restores_the_last_commit(&store).await;
    store
        .create(&persist_suite::meta("victim", "Victim", 1))
        .await
        .expect("creates");
    // Write foreign values straight into the object stores.
    let db = Factory::new()
        .expect("factory")
        .open(name, None)
        .expect("opens")
        .await
        .expect("opens");
    let tx = db
        .transaction(&["sessions", "snapshots"], TransactionMode::ReadWrite)
        .expect("transaction");
    let sessions = tx.object_store("sessions").expect("store");
    let snapshots = tx.object_store("snapshots").expect("store");
    drop(sessions.put(&JsValue::from("{not json"), Some(&JsValue::from("garbled"))));
    drop(snapshots.put(&JsValue::from(42), Some(&JsValue::from("victim"))));
    tx.await.expect("commits");
    db.close();

    let list = store.list().await.expect("lists");
    let garbled = list.iter().find(|m| m.id == "garbled").expect("listed");
    assert!(garbled.damaged.is_some(), "unreadable metadata is flagged");
    let err = persist::load(&store, "victim")
        .await
        .expect_err("a foreign snapshot is refused");
    assert_eq!(err.kind, StoreErrorKind::Corrupt);
    let ok = persist::load(&store, "run")
        .await
        .expect("the other session loads");
    assert!(ok.world().event_count() > 0);
    store.delete("victim").await.expect("deletable");
    store.delete("garbled").await.expect("deletable");
}

/// A stand-in for the app's persistence behind the page session.
#[derive(Default)]
struct FakeHost {
    refusal: std::cell::RefCell<Option<String>>,
    changes: std::cell::Cell<u32>,
    asked: std::cell::RefCell<Vec<u64>>,
}

impl kinesim::js_api::PageHost for FakeHost {
    fn refusal(&self) -> Option<String> {
        self.refusal.borrow().clone()
    }
    fn changed(&self) {
        self.changes.set(self.changes.get() + 1);
    }
    fn committed(&self, through: u64, value: wasm_bindgen::JsValue) -> js_sys::Promise {
        self.asked.borrow_mut().push(through);
        js_sys::Promise::resolve(&value)
    }
    fn replaced(&self) {}
}

/// In the app the page session is the app's journaled world: calls are journaled, the app hears of each change,
/// `sendCommitted`/`committed()` wait for the journal position the call reached, and a tab that may not write
/// refuses with AccessDeniedException.
#[wasm_bindgen_test]
async fn the_page_session_drives_the_apps_journaled_world() {
    use kinesim::js_api::{install_page_session, page_session};
    use kinesim::persist::Journaled;
    use kinesim::{World, WorldConfig};
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::JsValue;
    use wasm_bindgen_futures::JsFuture;

    let field = |object: &JsValue, key: &str| {
        js_sys::Reflect::get(object, &JsValue::from(key)).expect("a field")
    };
    let world = Rc::new(RefCell::new(Journaled::new(World::new(
        WorldConfig::with_seed(3),
    ))));
    let host = Rc::new(FakeHost::default());
    install_page_session(Rc::clone(&world), host.clone());
    let page = page_session();
    let answer = JsFuture::from(page.send_committed(
        "Kinesis_20131202.CreateStream",
        r#"{"StreamName":"p","ShardCount":1}"#,
    ))
    .await
    .expect("resolves");
    assert_eq!(field(&answer, "statusCode").as_f64(), Some(200.0));
    // Two entries: the call kept for sharing the run, then the call itself.
    assert_eq!(
        *host.asked.borrow(),
        vec![world.borrow().next_seq()],
        "waits for the journal through the call"
    );
    assert_eq!(world.borrow().next_seq(), 2);
    assert!(host.changes.get() >= 1, "the app hears of the change");
    assert_eq!(world.borrow().streams().stream_names().count(), 1);
    page.advance_by(10_000.0).expect("advances");
    JsFuture::from(page.committed()).await.expect("resolves");
    assert_eq!(
        host.asked.borrow().last().copied(),
        Some(world.borrow().next_seq()),
        "the time advance is journaled before the wait"
    );
    assert_eq!(
        page_session().event_log_hash(),
        world.borrow().event_log_hash()
    );

    *host.refusal.borrow_mut() = Some("read-only in this tab".into());
    let before = world.borrow().next_seq();
    let refused: JsValue = page
        .send(
            "Kinesis_20131202.CreateStream",
            r#"{"StreamName":"q","ShardCount":1}"#,
        )
        .into();
    assert_eq!(field(&refused, "statusCode").as_f64(), Some(400.0));
    assert_eq!(
        field(&refused, "errorType").as_string().as_deref(),
        Some("AccessDeniedException")
    );
    assert!(
        field(&refused, "body")
            .as_string()
            .is_some_and(|b| b.contains("read-only in this tab"))
    );
    assert!(
        page.advance_by(1_000.0).is_err(),
        "time does not move either"
    );
    assert_eq!(world.borrow().next_seq(), before, "nothing journaled");
}

/// A scenario run's share inputs are kept with the session in IndexedDB: after a snapshot and journal entries,
/// the reloaded session's share replays to the same event-log hash.
#[wasm_bindgen_test]
async fn idb_share_inputs_survive_a_reload() {
    use kinesim::persist::{self, Journaled, SessionStore};
    use kinesim::scenarios::{
        self, SHARE_FORMAT, SHARE_VERSION, ScenarioInput, ShareFile, catalog,
    };
    use kinesim::sim::SimTime;

    let store = fresh_store("test-share-inputs").await;
    let scenario = &catalog::SCENARIOS[0];
    store
        .create(&persist_suite::meta("s", "Share", scenario.seed))
        .await
        .expect("creates");
    let mut session = Journaled::new(scenario.build_world());
    let stream = session
        .streams()
        .stream_names()
        .next()
        .expect("a stream")
        .to_string();
    let put = |session: &mut Journaled, key: &str| {
        let now = session.now();
        let body = format!(r#"{{"StreamName":"{stream}","Data":"aGk=","PartitionKey":"{key}"}}"#);
        session.record_share(ScenarioInput::Api {
            now_ms: now.as_millis(),
            target: "Kinesis_20131202.PutRecord".into(),
            body: body.clone(),
        });
        session.kinesis(now, "PutRecord", &body);
    };
    for i in 0..10 {
        put(&mut session, &format!("k{i}"));
    }
    persist::save(&store, "s", &mut session, true)
        .await
        .expect("saves");
    put(&mut session, "late");
    session.advance_to(SimTime::from_millis(session.now().as_millis() + 4_000));
    persist::save(&store, "s", &mut session, false)
        .await
        .expect("saves");

    let reloaded = persist::load(&store, "s").await.expect("loads");
    let inputs = reloaded
        .share_inputs()
        .inputs()
        .expect("shareable after the reload")
        .to_vec();
    assert_eq!(inputs.len(), 11);
    let file = ShareFile {
        format: SHARE_FORMAT.into(),
        version: SHARE_VERSION,
        scenario: scenario.id.into(),
        seed: scenario.seed,
        inputs,
        end_ms: reloaded.now().as_millis(),
        event_log_hash: reloaded.event_log_hash(),
    };
    let (_, matches) = scenarios::replay(&file).expect("replays");
    assert!(matches);
    assert_eq!(reloaded.event_log_hash(), session.event_log_hash());
}
