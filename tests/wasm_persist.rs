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
