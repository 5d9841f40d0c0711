//! A session as one file: a versioned, checksummed envelope around the stored session (snapshot, record
//! segments, journal). Import checks the envelope, then rebuilds the session completely before anything is
//! stored, so a truncated, oversized, damaged or hostile file is refused with a clear error.

use super::frame::{self, FrameError};
use super::session::{Journaled, RestoreError};
use super::store::{
    PREFS_BYTES_MAX, SegmentKey, StoreError, StoreErrorKind, StoredSession, check_session_name,
};
use crate::{World, WorldConfig};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Marker at the start of an exported session.
pub const EXPORT_MAGIC: [u8; 4] = *b"KSES";
/// Newest export format: 2 adds the session's UI preferences (version 1 files still import, without them).
pub const EXPORT_VERSION: u16 = 2;
/// Largest session file imported: 512 MiB (a million 100-byte records take about 120 MB).
pub const EXPORT_BYTES_MAX: u64 = 512 * 1024 * 1024;
/// File name extension of exported sessions.
pub const EXPORT_EXTENSION: &str = "kinesim";

/// Version 1's contents (postcard has no optional trailing fields, so each version has its own shape).
#[derive(Serialize, Deserialize)]
struct ExportFileV1<'a> {
    name: &'a str,
    seed: u64,
    #[serde(borrow)]
    snapshot: Option<&'a [u8]>,
    #[serde(borrow)]
    segments: Vec<(SegmentKey, &'a [u8])>,
    #[serde(borrow)]
    journal: Vec<(u64, &'a [u8])>,
}

/// Version 2's contents: version 1's, then the UI preferences.
#[derive(Serialize, Deserialize)]
struct ExportFile<'a> {
    #[serde(borrow)]
    v1: ExportFileV1<'a>,
    prefs: Option<&'a str>,
}

/// Why a file could not be imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportError {
    /// The envelope is wrong: truncated, foreign, too new, too large or damaged.
    File(FrameError),
    /// The envelope is fine but its contents do not parse.
    Contents(String),
    /// The contents parse but do not rebuild a session.
    Session(RestoreError),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::File(FrameError::Foreign { .. }) => {
                f.write_str("This is not a kinesim session file.")
            }
            ImportError::File(e) => write!(f, "This session file cannot be imported: {e}."),
            ImportError::Contents(e) => write!(f, "This session file is damaged: {e}."),
            ImportError::Session(e) => write!(f, "This session file does not restore: {e}."),
        }
    }
}

impl std::error::Error for ImportError {}

/// A session as file bytes, with its UI preferences (see [`super::SessionStore::prefs`]) if it has any.
pub fn export_session(
    name: &str,
    seed: u64,
    stored: &StoredSession,
    prefs: Option<&str>,
) -> Result<Vec<u8>, StoreError> {
    let v1 = ExportFileV1 {
        name,
        seed,
        snapshot: stored.snapshot.as_deref(),
        segments: stored
            .segments
            .iter()
            .map(|(k, v)| (k.clone(), v.as_slice()))
            .collect(),
        journal: stored
            .journal
            .iter()
            .map(|(k, v)| (*k, v.as_slice()))
            .collect(),
    };
    let file = ExportFile {
        v1,
        prefs: prefs.filter(|p| p.len() <= PREFS_BYTES_MAX as usize),
    };
    let payload = postcard::to_allocvec(&file).map_err(|e| {
        StoreError::new(
            StoreErrorKind::Unserializable,
            format!("cannot write the session file: {e}"),
        )
    })?;
    Ok(frame::encode(EXPORT_MAGIC, EXPORT_VERSION, &payload))
}

/// An imported session: its name, seed and the rebuilt world (store it with a snapshot commit).
#[derive(Debug)]
pub struct Imported {
    /// The name it was exported under.
    pub name: String,
    /// Its seed.
    pub seed: u64,
    /// The session, fully rebuilt and checked.
    pub session: Journaled,
    /// Its UI preferences, if the file has them (version 2 files; at most [`PREFS_BYTES_MAX`] bytes).
    pub prefs: Option<String>,
}

/// Reads a session file.
pub fn import_session(bytes: &[u8]) -> Result<Imported, ImportError> {
    if bytes.len() as u64 > EXPORT_BYTES_MAX + frame::HEADER_BYTES {
        return Err(ImportError::File(FrameError::TooLarge {
            length_bytes: bytes.len() as u64,
            limit_bytes: EXPORT_BYTES_MAX,
        }));
    }
    let (version, payload) = frame::decode(EXPORT_MAGIC, EXPORT_VERSION, EXPORT_BYTES_MAX, bytes)
        .map_err(ImportError::File)?;
    let contents = |e: postcard::Error| ImportError::Contents(e.to_string());
    let (file, prefs) = if version == 1 {
        let file: ExportFileV1<'_> = postcard::from_bytes(payload).map_err(contents)?;
        (file, None)
    } else {
        let file: ExportFile<'_> = postcard::from_bytes(payload).map_err(contents)?;
        if file
            .prefs
            .is_some_and(|p| p.len() > PREFS_BYTES_MAX as usize)
        {
            return Err(ImportError::Contents(format!(
                "its preferences are longer than {PREFS_BYTES_MAX} bytes"
            )));
        }
        (file.v1, file.prefs.map(str::to_string))
    };
    let name = if check_session_name(file.name).is_ok() {
        file.name.to_string()
    } else {
        "Imported session".to_string()
    };
    let stored = StoredSession {
        snapshot: file.snapshot.map(<[u8]>::to_vec),
        segments: file
            .segments
            .into_iter()
            .map(|(k, v)| (k, v.to_vec()))
            .collect(),
        journal: file
            .journal
            .into_iter()
            .map(|(k, v)| (k, v.to_vec()))
            .collect(),
    };
    let session = Journaled::restore(&stored, World::new(WorldConfig::with_seed(file.seed)))
        .map_err(ImportError::Session)?;
    Ok(Imported {
        name,
        seed: file.seed,
        session,
        prefs,
    })
}
