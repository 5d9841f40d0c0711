//! Sessions that survive reloads: a storage port, an in-memory store, an IndexedDB store (wasm32), the
//! journal of inputs with periodic snapshots, record segments, and session files.
//!
//! # How a session is stored
//! - **Journal**: every input ([`journal::Input`]: command, API call, bounded time advance, subscription poll) gets
//!   a consecutive position and is stored as its own checksummed value. Replaying it over a snapshot rebuilds
//!   the exact state (same event log hash): the core is deterministic.
//! - **Snapshot**: the world without its records (JSON inside a checksummed postcard envelope) plus a manifest of
//!   which records each shard holds, taken every [`session::SNAPSHOT_EVERY_ENTRIES`] entries or on request.
//! - **Segments**: records, [`session::SEGMENT_RECORDS`] per value (postcard, checksummed). A segment is
//!   sealed once its shard writes past it, so a snapshot rewrites only the last segment of each shard that
//!   grew; retention deletes whole segments.
//!
//! A [`store::Commit`] is one atomic write. [`session::Journaled`] wraps a world, journals its inputs and
//! prepares commits; [`session::Journaled::restore`] reads a stored session back.

pub mod export;
pub mod frame;
pub mod journal;
pub mod session;
pub mod share;
pub mod store;

#[cfg(all(target_arch = "wasm32", feature = "browser-store"))]
pub mod idb;
#[cfg(all(target_arch = "wasm32", feature = "browser-store"))]
pub mod lock;

pub use export::{ImportError, Imported, export_session, import_session};
pub use journal::{Input, JournalEntry, ReplayError, replay};
pub use session::{CommitReceipt, Journaled, RestoreError, SnapshotError};
pub use share::{SHARE_INPUTS_BYTES_MAX, SHARE_INPUTS_MAX, ShareGap, ShareInputs};
pub use store::{
    Commit, MemoryStore, SegmentKey, SessionMeta, SessionStore, StoreError, StoreErrorKind,
    StoredSession,
};

/// Saves a session's pending work to `store`: journal entries, plus a snapshot when `snapshot` is set or the
/// journal has grown long. On failure nothing is marked saved and the next call carries everything again. A
/// snapshot that could not be made is [`StoreErrorKind::Unserializable`]: the journal was saved in its place
/// when a snapshot is stored already ([`SnapshotError::JournalOnly`]), nothing was when none is.
pub async fn save<S: SessionStore>(
    store: &S,
    id: &str,
    session: &mut Journaled,
    snapshot: bool,
) -> Result<(), StoreError> {
    if !session.has_uncommitted() && !snapshot {
        return Ok(());
    }
    let (commit, receipt) = session.prepare_commit(snapshot || session.wants_snapshot());
    let snapshot_error = receipt.snapshot_error().cloned();
    if !commit.is_empty() {
        store.commit(id, &commit).await?;
    }
    session.committed(receipt);
    // A snapshot that could not be made: the journal landed in its place (or nothing did), and the caller hears.
    match snapshot_error {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Loads a session from `store`: its metadata's seed for a session never snapshotted, then snapshot, segments,
/// journal. A damaged session reports [`StoreErrorKind::Corrupt`] with what is wrong.
pub async fn load<S: SessionStore>(store: &S, id: &str) -> Result<Journaled, StoreError> {
    let meta = store.meta(id).await?;
    let stored = store.load(id).await?;
    let fresh = crate::World::new(crate::WorldConfig::with_seed(meta.seed));
    Journaled::restore(&stored, fresh).map_err(|e| {
        StoreError::new(
            StoreErrorKind::Corrupt,
            format!("session {}: {e}", meta.name),
        )
    })
}
