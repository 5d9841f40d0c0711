//! The IndexedDB session store (wasm32 only), on the `idb` crate.
//!
//! Five object stores, all with out-of-line string keys: `sessions` (id -> metadata JSON), `snapshots`
//! (id -> bytes), `segments` (`{id}/{stream}/{incarnation}/{shard}/{segment}` -> bytes), `journal`
//! (`{id}/{position}` -> bytes) and `prefs` (id -> UI preferences JSON, schema version 2). Session ids hold no
//! `/`, so a session's keys are the range `{id}/`..`{id}0`. Every [`Commit`] is one read-write transaction: it
//! lands whole or not at all.
//!
//! Schema versions: 1 made the first four stores; 2 added `prefs`, so a session's UI preferences (the clock
//! speed) are saved apart from its journal, which they never change. Opening a version 1 database runs the
//! upgrade step from 1 to 2 in the browser's upgrade transaction; its sessions stay as they were.

use super::store::{
    Commit, SegmentKey, SessionMeta, SessionStore, StoreError, StoreErrorKind, StoredSession,
    check_prefs, check_session_name, valid_session_id,
};
use idb::{
    Database, DatabaseEvent, Factory, KeyRange, ObjectStore, ObjectStoreParams, Query,
    TransactionMode,
};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};

/// Schema version of the database. Each version's step in [`upgrade`] runs in order from the version found, so
/// a database written by any older kinesim migrates.
pub const SCHEMA_VERSION: u32 = 2;
/// The database the app uses.
pub const DATABASE_NAME_DEFAULT: &str = "kinesim";

const SESSIONS: &str = "sessions";
const SNAPSHOTS: &str = "snapshots";
const SEGMENTS: &str = "segments";
const JOURNAL: &str = "journal";
/// Schema version 2: each session's UI preferences.
const PREFS: &str = "prefs";
/// The stores of schema version 1.
const STORES_V1: [&str; 4] = [SESSIONS, SNAPSHOTS, SEGMENTS, JOURNAL];
const ALL: [&str; 5] = [SESSIONS, SNAPSHOTS, SEGMENTS, JOURNAL, PREFS];

/// Sessions in one IndexedDB database.
#[derive(Debug)]
pub struct IdbStore {
    db: Database,
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::new(
        StoreErrorKind::Unavailable,
        format!("browser storage failed to {what}: {e}"),
    )
}

fn from_idb(what: &str, e: idb::Error) -> StoreError {
    if let idb::Error::DomException(ex) = &e {
        return from_dom(what, ex.name(), ex.message());
    }
    unavailable(what, e)
}

fn from_dom(what: &str, name: String, message: String) -> StoreError {
    if name == "QuotaExceededError" {
        return StoreError::quota_exceeded();
    }
    unavailable(what, format!("{name}: {message}"))
}

/// Migrations, one step per version.
fn upgrade(db: &Database, old_version: u32) -> Result<(), idb::Error> {
    let has = |name: &str| db.store_names().iter().any(|n| n == name);
    if old_version < 1 {
        for name in STORES_V1 {
            if !has(name) {
                db.create_object_store(name, ObjectStoreParams::new())?;
            }
        }
    }
    if old_version < 2 && !has(PREFS) {
        // Sessions of version 1 have no preferences: they open with the defaults.
        db.create_object_store(PREFS, ObjectStoreParams::new())?;
    }
    // Version 3 and later add their steps here: `if old_version < 3 { ... }`.
    Ok(())
}

fn bytes_value(bytes: &[u8]) -> JsValue {
    Uint8Array::from(bytes).into()
}

/// Bytes of a stored value; foreign values come back empty, which every decoder reports as truncated.
fn value_bytes(value: &JsValue) -> Vec<u8> {
    value
        .dyn_ref::<Uint8Array>()
        .map(Uint8Array::to_vec)
        .unwrap_or_default()
}

fn session_range(id: &str) -> Result<Query, StoreError> {
    KeyRange::bound(
        &JsValue::from(format!("{id}/")),
        &JsValue::from(format!("{id}0")),
        Some(false),
        Some(true),
    )
    .map(Query::from)
    .map_err(|e| unavailable("build a key range", e))
}

fn segment_key(id: &str, key: &SegmentKey) -> JsValue {
    JsValue::from(format!("{id}/{}", key.to_key_string()))
}

fn journal_key(id: &str, seq: u64) -> JsValue {
    JsValue::from(format!("{id}/{seq:020}"))
}

fn parse_meta(id: &str, value: &JsValue) -> SessionMeta {
    let text = value.as_string().unwrap_or_default();
    serde_json::from_str::<SessionMeta>(&text)
        .ok()
        .filter(|m| m.id == id)
        .unwrap_or_else(|| SessionMeta {
            id: id.to_string(),
            name: format!("Unreadable session {id}"),
            seed: 0,
            damaged: Some("its metadata is damaged or foreign; export or delete it".into()),
        })
}

impl IdbStore {
    /// Opens (creating or migrating) the database `name`.
    pub async fn open(name: &str) -> Result<IdbStore, StoreError> {
        let factory = Factory::new().map_err(|e| unavailable("open IndexedDB", e))?;
        let mut request = factory
            .open(name, Some(SCHEMA_VERSION))
            .map_err(|e| unavailable("open the database", e))?;
        request.on_upgrade_needed(|event| {
            let old_version = event.old_version().unwrap_or(0);
            if let Ok(db) = event.database() {
                // A failed step aborts the upgrade transaction; the open request then fails and says so.
                let _ = upgrade(&db, old_version);
            }
        });
        let mut db = request
            .await
            .map_err(|e| from_idb("open the database", e))?;
        // Another tab upgrading the schema: let it, and fail our next call instead of blocking it.
        db.on_version_change(|event| {
            if let Ok(db) = event.database() {
                db.close();
            }
        });
        Ok(IdbStore { db })
    }

    /// Deletes the whole database `name` (tests).
    pub async fn delete_database(name: &str) -> Result<(), StoreError> {
        let factory = Factory::new().map_err(|e| unavailable("open IndexedDB", e))?;
        factory
            .delete(name)
            .map_err(|e| unavailable("delete the database", e))?
            .await
            .map_err(|e| from_idb("delete the database", e))
    }

    /// Closes the connection.
    pub fn close(&self) {
        self.db.close();
    }

    fn tx(&self, stores: &[&str], mode: TransactionMode) -> Result<idb::Transaction, StoreError> {
        self.db
            .transaction(stores, mode)
            .map_err(|e| from_idb("start a transaction", e))
    }

    async fn finish(
        what: &str,
        tx: idb::Transaction,
        probe: &ObjectStore,
    ) -> Result<(), StoreError> {
        let result = tx.await;
        match result {
            Ok(done) if done.is_committed() => Ok(()),
            Ok(_) => match probe.transaction().error() {
                Some(ex) => Err(from_dom(what, ex.name(), ex.message())),
                None => Err(unavailable(what, "the transaction was aborted")),
            },
            Err(e) => Err(from_idb(what, e)),
        }
    }

    async fn get_meta(store: &ObjectStore, id: &str) -> Result<Option<SessionMeta>, StoreError> {
        let value = get(store, id, "read a session").await?;
        Ok(value.map(|v| parse_meta(id, &v)))
    }

    /// Session `id`'s metadata; NotFound (and the transaction aborted) when there is none.
    async fn require_meta(sessions: &ObjectStore, id: &str) -> Result<SessionMeta, StoreError> {
        match Self::get_meta(sessions, id).await? {
            Some(meta) => Ok(meta),
            None => {
                let _ = sessions.transaction().abort();
                Err(StoreError::new(
                    StoreErrorKind::NotFound,
                    format!("no session {id}"),
                ))
            }
        }
    }
}

fn put(store: &ObjectStore, value: &JsValue, key: &JsValue) -> Result<(), StoreError> {
    // The request's outcome is the transaction's: it is awaited once for all of them.
    store
        .put(value, Some(key))
        .map(drop)
        .map_err(|e| from_idb("write", e))
}

fn delete(store: &ObjectStore, query: impl Into<Query>) -> Result<(), StoreError> {
    store
        .delete(query)
        .map(drop)
        .map_err(|e| from_idb("delete", e))
}

fn object_store(tx: &idb::Transaction, name: &str) -> Result<ObjectStore, StoreError> {
    tx.object_store(name)
        .map_err(|e| from_idb("open an object store", e))
}

/// The value stored under `key`, if any.
async fn get(store: &ObjectStore, key: &str, what: &str) -> Result<Option<JsValue>, StoreError> {
    store
        .get(JsValue::from(key))
        .map_err(|e| from_idb(what, e))?
        .await
        .map_err(|e| from_idb(what, e))
}

/// Every key (as a string; foreign keys read as empty) and value in `query`, in key order.
async fn get_all_pairs(
    store: &ObjectStore,
    query: Option<Query>,
    what: &str,
) -> Result<Vec<(String, JsValue)>, StoreError> {
    let keys = store
        .get_all_keys(query.clone(), None)
        .map_err(|e| from_idb(what, e))?
        .await
        .map_err(|e| from_idb(what, e))?;
    let values = store
        .get_all(query, None)
        .map_err(|e| from_idb(what, e))?
        .await
        .map_err(|e| from_idb(what, e))?;
    Ok(keys
        .iter()
        .map(|k| k.as_string().unwrap_or_default())
        .zip(values)
        .collect())
}

/// Session `id`'s entries in the keyed store `name` (segments or journal), each with its key after `{id}/`.
async fn session_entries(
    tx: &idb::Transaction,
    name: &str,
    id: &str,
) -> Result<Vec<(String, JsValue)>, StoreError> {
    let prefix_len = id.len() + 1;
    let pairs = get_all_pairs(&object_store(tx, name)?, Some(session_range(id)?), "read").await?;
    Ok(pairs
        .into_iter()
        .map(|(key, value)| (key.get(prefix_len..).unwrap_or_default().to_string(), value))
        .collect())
}

impl SessionStore for IdbStore {
    async fn list(&self) -> Result<Vec<SessionMeta>, StoreError> {
        let tx = self.tx(&[SESSIONS], TransactionMode::ReadOnly)?;
        let store = object_store(&tx, SESSIONS)?;
        Ok(get_all_pairs(&store, None, "list sessions")
            .await?
            .iter()
            .map(|(k, v)| parse_meta(k, v))
            .collect())
    }

    async fn create(&self, meta: &SessionMeta) -> Result<(), StoreError> {
        if !valid_session_id(&meta.id) {
            return Err(StoreError::new(StoreErrorKind::Invalid, "bad session id"));
        }
        check_session_name(&meta.name)?;
        let tx = self.tx(&[SESSIONS], TransactionMode::ReadWrite)?;
        let store = object_store(&tx, SESSIONS)?;
        if Self::get_meta(&store, &meta.id).await?.is_some() {
            let _ = tx.abort();
            return Err(StoreError::new(
                StoreErrorKind::AlreadyExists,
                format!("session {} exists already", meta.id),
            ));
        }
        let json = serde_json::to_string(meta).map_err(|e| unavailable("encode", e))?;
        put(
            &store,
            &JsValue::from(json),
            &JsValue::from(meta.id.as_str()),
        )?;
        Self::finish("create a session", tx, &store).await
    }

    async fn rename(&self, id: &str, name: &str) -> Result<(), StoreError> {
        check_session_name(name)?;
        let tx = self.tx(&[SESSIONS], TransactionMode::ReadWrite)?;
        let store = object_store(&tx, SESSIONS)?;
        let mut meta = Self::require_meta(&store, id).await?;
        meta.name = name.to_string();
        meta.damaged = None;
        let json = serde_json::to_string(&meta).map_err(|e| unavailable("encode", e))?;
        put(&store, &JsValue::from(json), &JsValue::from(id))?;
        Self::finish("rename a session", tx, &store).await
    }

    async fn duplicate(&self, from: &str, to: &SessionMeta) -> Result<(), StoreError> {
        if !valid_session_id(&to.id) {
            return Err(StoreError::new(StoreErrorKind::Invalid, "bad session id"));
        }
        check_session_name(&to.name)?;
        let tx = self.tx(&ALL, TransactionMode::ReadWrite)?;
        let sessions = object_store(&tx, SESSIONS)?;
        let missing = Self::get_meta(&sessions, from).await?.is_none();
        let taken = Self::get_meta(&sessions, &to.id).await?.is_some();
        if missing || taken {
            let _ = tx.abort();
            return Err(if missing {
                StoreError::new(StoreErrorKind::NotFound, format!("no session {from}"))
            } else {
                StoreError::new(
                    StoreErrorKind::AlreadyExists,
                    format!("session {} exists already", to.id),
                )
            });
        }
        let json = serde_json::to_string(to).map_err(|e| unavailable("encode", e))?;
        put(
            &sessions,
            &JsValue::from(json),
            &JsValue::from(to.id.as_str()),
        )?;
        for name in [SNAPSHOTS, PREFS] {
            let store = object_store(&tx, name)?;
            if let Some(value) = get(&store, from, "read").await? {
                put(&store, &value, &JsValue::from(to.id.as_str()))?;
            }
        }
        for name in [SEGMENTS, JOURNAL] {
            let store = object_store(&tx, name)?;
            for (rest, value) in session_entries(&tx, name, from).await? {
                put(&store, &value, &JsValue::from(format!("{}/{rest}", to.id)))?;
            }
        }
        Self::finish("duplicate a session", tx, &sessions).await
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        let tx = self.tx(&ALL, TransactionMode::ReadWrite)?;
        let sessions = object_store(&tx, SESSIONS)?;
        Self::require_meta(&sessions, id).await?;
        delete(&sessions, JsValue::from(id))?;
        delete(&object_store(&tx, SNAPSHOTS)?, JsValue::from(id))?;
        delete(&object_store(&tx, SEGMENTS)?, session_range(id)?)?;
        delete(&object_store(&tx, JOURNAL)?, session_range(id)?)?;
        delete(&object_store(&tx, PREFS)?, JsValue::from(id))?;
        Self::finish("delete a session", tx, &sessions).await
    }

    async fn commit(&self, id: &str, commit: &Commit) -> Result<(), StoreError> {
        let tx = self.tx(&STORES_V1, TransactionMode::ReadWrite)?;
        let sessions = object_store(&tx, SESSIONS)?;
        Self::require_meta(&sessions, id).await?;
        let journal = object_store(&tx, JOURNAL)?;
        if commit.replace_all {
            // Requests in one transaction run in order: these deletes land before the puts below.
            delete(&object_store(&tx, SNAPSHOTS)?, JsValue::from(id))?;
            delete(&object_store(&tx, SEGMENTS)?, session_range(id)?)?;
            delete(&journal, session_range(id)?)?;
        }
        if let Some(below) = commit.journal_delete_below {
            let range = KeyRange::bound(
                &JsValue::from(format!("{id}/")),
                &journal_key(id, below),
                Some(false),
                Some(true),
            )
            .map_err(|e| unavailable("build a key range", e))?;
            delete(&journal, range)?;
        }
        for (seq, bytes) in &commit.journal_append {
            put(&journal, &bytes_value(bytes), &journal_key(id, *seq))?;
        }
        if let Some(snapshot) = &commit.snapshot {
            put(
                &object_store(&tx, SNAPSHOTS)?,
                &bytes_value(snapshot),
                &JsValue::from(id),
            )?;
        }
        let segments = object_store(&tx, SEGMENTS)?;
        for key in &commit.segment_deletes {
            delete(&segments, segment_key(id, key))?;
        }
        for (key, bytes) in &commit.segment_puts {
            put(&segments, &bytes_value(bytes), &segment_key(id, key))?;
        }
        Self::finish("save the session", tx, &sessions).await
    }

    async fn meta(&self, id: &str) -> Result<SessionMeta, StoreError> {
        let tx = self.tx(&[SESSIONS], TransactionMode::ReadOnly)?;
        let store = object_store(&tx, SESSIONS)?;
        Self::get_meta(&store, id)
            .await?
            .ok_or_else(|| StoreError::new(StoreErrorKind::NotFound, format!("no session {id}")))
    }

    async fn load(&self, id: &str) -> Result<StoredSession, StoreError> {
        let tx = self.tx(&STORES_V1, TransactionMode::ReadOnly)?;
        let sessions = object_store(&tx, SESSIONS)?;
        Self::require_meta(&sessions, id).await?;
        let snapshot = get(&object_store(&tx, SNAPSHOTS)?, id, "read")
            .await?
            .map(|v| value_bytes(&v));
        let mut out = StoredSession {
            snapshot,
            ..StoredSession::default()
        };
        for name in [SEGMENTS, JOURNAL] {
            for (rest, value) in session_entries(&tx, name, id).await? {
                let bytes = value_bytes(&value);
                if name == SEGMENTS {
                    // A key that does not parse is foreign data: skipped here, and reported by the restore
                    // when the snapshot names a segment that is then missing.
                    if let Some(key) = SegmentKey::parse(&rest) {
                        out.segments.push((key, bytes));
                    }
                } else if let Ok(seq) = rest.parse::<u64>() {
                    out.journal.push((seq, bytes));
                } else {
                    return Err(StoreError::new(
                        StoreErrorKind::Corrupt,
                        format!("session {id}: a journal key is foreign ({id}/{rest})"),
                    ));
                }
            }
        }
        Ok(out)
    }

    async fn prefs(&self, id: &str) -> Result<Option<String>, StoreError> {
        let tx = self.tx(&[SESSIONS, PREFS], TransactionMode::ReadOnly)?;
        let sessions = object_store(&tx, SESSIONS)?;
        Self::require_meta(&sessions, id).await?;
        let value = get(&object_store(&tx, PREFS)?, id, "read").await?;
        // A foreign value reads as no preferences: the defaults apply.
        Ok(value.and_then(|v| v.as_string()))
    }

    async fn set_prefs(&self, id: &str, prefs: &str) -> Result<(), StoreError> {
        check_prefs(prefs)?;
        let tx = self.tx(&[SESSIONS, PREFS], TransactionMode::ReadWrite)?;
        let sessions = object_store(&tx, SESSIONS)?;
        Self::require_meta(&sessions, id).await?;
        put(
            &object_store(&tx, PREFS)?,
            &JsValue::from(prefs),
            &JsValue::from(id),
        )?;
        Self::finish("save the session's preferences", tx, &sessions).await
    }
}
