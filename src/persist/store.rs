//! The storage port: what a session store does, and the in-memory store used natively and in tests.
//!
//! A store keeps, per session, its metadata, at most one snapshot, record segments keyed by
//! (stream, incarnation, shard, segment) and journal entries keyed by position. It treats values as opaque
//! bytes; [`super::session`] builds and checks them.

use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

/// What the session list shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMeta {
    /// Unique key; letters, digits and `-` only (see [`valid_session_id`]).
    pub id: String,
    /// What the user calls it.
    pub name: String,
    /// Seed a fresh session starts from.
    pub seed: u64,
    /// Set by [`SessionStore::list`] when the stored metadata could not be read: what is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damaged: Option<String>,
}

/// Longest session name.
pub const SESSION_NAME_CHARS_MAX: u32 = 128;
/// Longest session id.
pub const SESSION_ID_CHARS_MAX: u32 = 64;
/// Largest UI preferences value of a session ([`SessionStore::set_prefs`]), in bytes.
pub const PREFS_BYTES_MAX: u32 = 4 * 1024;

/// Checks a preferences value's size.
pub fn check_prefs(prefs: &str) -> Result<(), StoreError> {
    if prefs.len() > PREFS_BYTES_MAX as usize {
        return Err(StoreError::new(
            StoreErrorKind::Invalid,
            format!("a session's UI preferences take at most {PREFS_BYTES_MAX} bytes"),
        ));
    }
    Ok(())
}

/// Whether `id` can name a session: 1..=64 ASCII letters, digits or `-`.
pub fn valid_session_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= SESSION_ID_CHARS_MAX as usize
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Checks a session name: 1..=128 characters, no control characters.
pub fn check_session_name(name: &str) -> Result<(), StoreError> {
    let chars = name.chars().count();
    if chars == 0 || chars > SESSION_NAME_CHARS_MAX as usize || name.chars().any(char::is_control) {
        return Err(StoreError::new(
            StoreErrorKind::Invalid,
            format!(
                "a session name has 1 to {SESSION_NAME_CHARS_MAX} characters and no control characters"
            ),
        ));
    }
    Ok(())
}

/// Where a segment lives: stream name, which stream of that name, shard ordinal, segment number
/// (records `segment * SEGMENT_RECORDS ..` of the shard).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SegmentKey {
    /// Stream name.
    pub stream: String,
    /// Stream incarnation.
    pub incarnation: u64,
    /// Shard ordinal.
    pub shard: u32,
    /// Segment number within the shard.
    pub segment: u64,
}

impl SegmentKey {
    /// A string that sorts like the key (fixed-width numbers; stream names hold no `/`).
    pub fn to_key_string(&self) -> String {
        format!(
            "{}/{:020}/{:010}/{:020}",
            self.stream, self.incarnation, self.shard, self.segment
        )
    }

    /// Reads [`SegmentKey::to_key_string`] back.
    pub fn parse(text: &str) -> Option<SegmentKey> {
        let mut parts = text.rsplitn(4, '/');
        let segment = parts.next()?.parse().ok()?;
        let shard = parts.next()?.parse().ok()?;
        let incarnation = parts.next()?.parse().ok()?;
        let stream = parts.next()?.to_string();
        Some(SegmentKey {
            stream,
            incarnation,
            shard,
            segment,
        })
    }
}

/// One atomic write to a session: all of it lands or none of it does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Commit {
    /// Clear the session's snapshot, segments and journal first (a session's first snapshot, a restart).
    pub replace_all: bool,
    /// Journal entries to add, (position, bytes).
    pub journal_append: Vec<(u64, Vec<u8>)>,
    /// Journal entries below this position are deleted (a snapshot now covers them).
    pub journal_delete_below: Option<u64>,
    /// The new snapshot, replacing the old one.
    pub snapshot: Option<Vec<u8>>,
    /// Segments to write (replacing any with the same key).
    pub segment_puts: Vec<(SegmentKey, Vec<u8>)>,
    /// Segments to delete.
    pub segment_deletes: Vec<SegmentKey>,
}

impl Commit {
    /// Whether it writes nothing.
    pub fn is_empty(&self) -> bool {
        !self.replace_all
            && self.journal_append.is_empty()
            && self.journal_delete_below.is_none()
            && self.snapshot.is_none()
            && self.segment_puts.is_empty()
            && self.segment_deletes.is_empty()
    }

    /// Bytes it writes.
    pub fn bytes(&self) -> u64 {
        let journal: usize = self.journal_append.iter().map(|(_, b)| b.len()).sum();
        let segments: usize = self.segment_puts.iter().map(|(_, b)| b.len()).sum();
        (journal + segments + self.snapshot.as_ref().map_or(0, Vec::len)) as u64
    }
}

/// Everything stored for one session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredSession {
    /// The snapshot, if one was committed.
    pub snapshot: Option<Vec<u8>>,
    /// Every segment, in key order.
    pub segments: Vec<(SegmentKey, Vec<u8>)>,
    /// Every journal entry, in position order.
    pub journal: Vec<(u64, Vec<u8>)>,
}

/// What kind of failure a store reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// No session with that id.
    NotFound,
    /// A session with that id exists already.
    AlreadyExists,
    /// The browser's storage quota is used up; nothing of the failed write was kept.
    QuotaExceeded,
    /// A bad argument (id, name).
    Invalid,
    /// Stored bytes are damaged or foreign.
    Corrupt,
    /// The storage itself failed (IndexedDB unavailable, blocked, aborted).
    Unavailable,
    /// The session could not be written as stored bytes (its world failed to serialize: a kinesim bug, the
    /// message says what). Its journal is still saved when a snapshot of it is stored already.
    Unserializable,
}

/// A store failure with a message for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    /// What kind.
    pub kind: StoreErrorKind,
    /// What happened and what to do.
    pub message: String,
}

impl StoreError {
    /// An error of this kind.
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        StoreError {
            kind,
            message: message.into(),
        }
    }

    /// The message shown when the quota is used up.
    pub fn quota_exceeded() -> Self {
        StoreError::new(
            StoreErrorKind::QuotaExceeded,
            "Browser storage is full: the last changes were not saved (the saved session is still consistent). \
             Delete or export sessions, or free space for this site, then keep going: saving resumes.",
        )
    }

    fn not_found(id: &str) -> Self {
        StoreError::new(StoreErrorKind::NotFound, format!("no session {id}"))
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

/// The storage port. Futures are not `Send`: IndexedDB lives on the browser's one thread.
#[allow(async_fn_in_trait)]
pub trait SessionStore {
    /// Every session, by id.
    async fn list(&self) -> Result<Vec<SessionMeta>, StoreError>;
    /// Adds an empty session; [`StoreErrorKind::AlreadyExists`] if the id is taken.
    async fn create(&self, meta: &SessionMeta) -> Result<(), StoreError>;
    /// Renames a session.
    async fn rename(&self, id: &str, name: &str) -> Result<(), StoreError>;
    /// Copies session `from` (all its data) to a new session `to`.
    async fn duplicate(&self, from: &str, to: &SessionMeta) -> Result<(), StoreError>;
    /// Deletes a session and all its data.
    async fn delete(&self, id: &str) -> Result<(), StoreError>;
    /// Applies `commit` to a session atomically.
    async fn commit(&self, id: &str, commit: &Commit) -> Result<(), StoreError>;
    /// The session's metadata.
    async fn meta(&self, id: &str) -> Result<SessionMeta, StoreError>;
    /// Everything stored for a session.
    async fn load(&self, id: &str) -> Result<StoredSession, StoreError>;
    /// The session's UI preferences (text the UI owns, at most [`PREFS_BYTES_MAX`] bytes), if any were saved.
    async fn prefs(&self, id: &str) -> Result<Option<String>, StoreError>;
    /// Saves the session's UI preferences, replacing earlier ones.
    async fn set_prefs(&self, id: &str, prefs: &str) -> Result<(), StoreError>;
}

#[derive(Clone, Debug, Default)]
struct MemorySession {
    meta: Option<SessionMeta>,
    snapshot: Option<Vec<u8>>,
    segments: BTreeMap<SegmentKey, Vec<u8>>,
    journal: BTreeMap<u64, Vec<u8>>,
    prefs: Option<String>,
}

impl MemorySession {
    fn bytes(&self) -> u64 {
        let segments: usize = self.segments.values().map(Vec::len).sum();
        let journal: usize = self.journal.values().map(Vec::len).sum();
        let prefs = self.prefs.as_ref().map_or(0, String::len);
        (segments + journal + prefs + self.snapshot.as_ref().map_or(0, Vec::len)) as u64
    }
}

/// A store in memory, for native runs and tests. An optional quota makes writes past it fail as a full
/// browser storage does (the whole commit is refused).
#[derive(Debug, Default)]
pub struct MemoryStore {
    sessions: RefCell<BTreeMap<String, MemorySession>>,
    quota_bytes: Option<u64>,
}

impl MemoryStore {
    /// An empty store without a quota.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// An empty store that refuses commits past `quota_bytes` in all.
    pub fn with_quota(quota_bytes: u64) -> Self {
        MemoryStore {
            sessions: RefCell::default(),
            quota_bytes: Some(quota_bytes),
        }
    }

    fn used_bytes(&self) -> u64 {
        self.sessions
            .borrow()
            .values()
            .map(MemorySession::bytes)
            .sum()
    }
}

impl SessionStore for MemoryStore {
    async fn list(&self) -> Result<Vec<SessionMeta>, StoreError> {
        Ok(self
            .sessions
            .borrow()
            .values()
            .filter_map(|s| s.meta.clone())
            .collect())
    }

    async fn create(&self, meta: &SessionMeta) -> Result<(), StoreError> {
        if !valid_session_id(&meta.id) {
            return Err(StoreError::new(StoreErrorKind::Invalid, "bad session id"));
        }
        check_session_name(&meta.name)?;
        let mut sessions = self.sessions.borrow_mut();
        if sessions.contains_key(&meta.id) {
            return Err(StoreError::new(
                StoreErrorKind::AlreadyExists,
                format!("session {} exists already", meta.id),
            ));
        }
        sessions.insert(
            meta.id.clone(),
            MemorySession {
                meta: Some(meta.clone()),
                ..MemorySession::default()
            },
        );
        Ok(())
    }

    async fn rename(&self, id: &str, name: &str) -> Result<(), StoreError> {
        check_session_name(name)?;
        let mut sessions = self.sessions.borrow_mut();
        let meta = sessions
            .get_mut(id)
            .and_then(|s| s.meta.as_mut())
            .ok_or_else(|| StoreError::not_found(id))?;
        meta.name = name.to_string();
        Ok(())
    }

    async fn duplicate(&self, from: &str, to: &SessionMeta) -> Result<(), StoreError> {
        if !valid_session_id(&to.id) {
            return Err(StoreError::new(StoreErrorKind::Invalid, "bad session id"));
        }
        check_session_name(&to.name)?;
        let source = self
            .sessions
            .borrow()
            .get(from)
            .cloned()
            .ok_or_else(|| StoreError::not_found(from))?;
        if self.sessions.borrow().contains_key(&to.id) {
            return Err(StoreError::new(
                StoreErrorKind::AlreadyExists,
                format!("session {} exists already", to.id),
            ));
        }
        if let Some(quota) = self.quota_bytes
            && self.used_bytes() + source.bytes() > quota
        {
            return Err(StoreError::quota_exceeded());
        }
        self.sessions.borrow_mut().insert(
            to.id.clone(),
            MemorySession {
                meta: Some(to.clone()),
                ..source
            },
        );
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.sessions
            .borrow_mut()
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| StoreError::not_found(id))
    }

    async fn commit(&self, id: &str, commit: &Commit) -> Result<(), StoreError> {
        if !self.sessions.borrow().contains_key(id) {
            return Err(StoreError::not_found(id));
        }
        if let Some(quota) = self.quota_bytes
            && self.used_bytes() + commit.bytes() > quota
        {
            return Err(StoreError::quota_exceeded());
        }
        let mut sessions = self.sessions.borrow_mut();
        let session = sessions
            .get_mut(id)
            .ok_or_else(|| StoreError::not_found(id))?;
        if commit.replace_all {
            session.snapshot = None;
            session.segments.clear();
            session.journal.clear();
        }
        if let Some(below) = commit.journal_delete_below {
            session.journal = session.journal.split_off(&below);
        }
        for (seq, bytes) in &commit.journal_append {
            session.journal.insert(*seq, bytes.clone());
        }
        if let Some(snapshot) = &commit.snapshot {
            session.snapshot = Some(snapshot.clone());
        }
        for key in &commit.segment_deletes {
            session.segments.remove(key);
        }
        for (key, bytes) in &commit.segment_puts {
            session.segments.insert(key.clone(), bytes.clone());
        }
        Ok(())
    }

    async fn meta(&self, id: &str) -> Result<SessionMeta, StoreError> {
        self.sessions
            .borrow()
            .get(id)
            .and_then(|s| s.meta.clone())
            .ok_or_else(|| StoreError::not_found(id))
    }

    async fn load(&self, id: &str) -> Result<StoredSession, StoreError> {
        let sessions = self.sessions.borrow();
        let session = sessions.get(id).ok_or_else(|| StoreError::not_found(id))?;
        Ok(StoredSession {
            snapshot: session.snapshot.clone(),
            segments: session
                .segments
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            journal: session
                .journal
                .iter()
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
        })
    }

    async fn prefs(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.sessions
            .borrow()
            .get(id)
            .map(|s| s.prefs.clone())
            .ok_or_else(|| StoreError::not_found(id))
    }

    async fn set_prefs(&self, id: &str, prefs: &str) -> Result<(), StoreError> {
        check_prefs(prefs)?;
        let mut sessions = self.sessions.borrow_mut();
        let session = sessions
            .get_mut(id)
            .ok_or_else(|| StoreError::not_found(id))?;
        session.prefs = Some(prefs.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_keys_round_trip_and_sort() {
        let a = SegmentKey {
            stream: "a-b.c".into(),
            incarnation: 3,
            shard: 7,
            segment: 12,
        };
        assert_eq!(SegmentKey::parse(&a.to_key_string()), Some(a.clone()));
        let b = SegmentKey {
            segment: 100,
            ..a.clone()
        };
        assert!(a.to_key_string() < b.to_key_string());
        assert_eq!(SegmentKey::parse("x/1/2"), None);
        assert_eq!(SegmentKey::parse("x/1/2/zz"), None);
    }
}
