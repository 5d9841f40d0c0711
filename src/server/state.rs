//! `kinesim serve --state DIR`: the run kept in a directory, so a restarted endpoint carries on where it
//! stopped. It stores the commits [`kinesim::persist::Journaled`] prepares, in files:
//!
//! - `DIR/meta.json`: format, version, seed and whether new streams enforce throughput limits;
//! - `DIR/snapshot.bin`: the latest snapshot;
//! - `DIR/journal/<20-digit position>.bin`: journal entries after it;
//! - `DIR/segments/<hex of SegmentKey::to_key_string()>.bin`: record segments.
//!
//! Every file is written under a temporary name and renamed into place, so a file is whole or absent. A commit
//! writes segments and journal entries, then the snapshot, and only then deletes what the snapshot made stale,
//! so a process stopped at any point leaves a directory that loads. Files are not fsync'ed: what a killed
//! process wrote is kept by the OS, a power cut may lose the latest writes.

use kinesim::persist::{Commit, SegmentKey, StoredSession};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What `meta.json` says its directory holds.
pub const STATE_FORMAT: &str = "kinesim-serve-state";
/// Newest `meta.json` format version.
pub const STATE_VERSION: u64 = 1;
/// Digits of a journal file's position (`u64::MAX` has 20).
const JOURNAL_NAME_DIGITS: usize = 20;
const META_FILE: &str = "meta.json";
const SNAPSHOT_FILE: &str = "snapshot.bin";
const JOURNAL_DIR: &str = "journal";
const SEGMENTS_DIR: &str = "segments";
const FILE_SUFFIX: &str = ".bin";
const TEMP_SUFFIX: &str = ".tmp";

/// The settings a run was started with; stored so a restart continues the same run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateMeta {
    /// Seed of the run.
    pub seed: u64,
    /// Whether new streams enforce throughput limits.
    pub throughput_limits: bool,
}

/// A `--state` directory.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
}

/// What [`FileStore::open`] found.
#[derive(Debug)]
pub enum Opened {
    /// The directory held no run: a new one starts with these settings (already written to `meta.json`).
    Fresh(FileStore),
    /// The directory holds a run: its settings and what it stored.
    Existing(FileStore, StateMeta, StoredSession),
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn segment_file_name(key: &SegmentKey) -> String {
    format!("{}{FILE_SUFFIX}", hex(key.to_key_string().as_bytes()))
}

fn journal_file_name(seq: u64) -> String {
    format!("{seq:0JOURNAL_NAME_DIGITS$}{FILE_SUFFIX}")
}

/// Writes `bytes` to `path` through a temporary file renamed into place.
fn write_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(TEMP_SUFFIX);
    let temp = PathBuf::from(temp);
    fs::write(&temp, bytes)?;
    fs::rename(&temp, path)
}

fn remove_if_there(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The `.bin` files of a directory as (name without suffix, path), sorted by name; temporary files left by an
/// interrupted write are removed.
fn bin_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let mut out = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(TEMP_SUFFIX) {
            let _ = fs::remove_file(&path);
            continue;
        }
        let Some(stem) = name.strip_suffix(FILE_SUFFIX) else {
            return Err(format!(
                "{} is not a kinesim state file; the directory holds something else",
                path.display()
            ));
        };
        out.push((stem.to_string(), path));
    }
    out.sort();
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

impl FileStore {
    /// Opens `dir`: creates it (and `meta.json` with `meta`) when it is missing or empty, or reads the run it
    /// holds. A directory holding anything else, or damaged state, is refused with what is wrong; nothing in it
    /// is changed.
    pub fn open(dir: &Path, meta: StateMeta) -> Result<Opened, String> {
        let shown = dir.display();
        let meta_path = dir.join(META_FILE);
        let exists = dir.is_dir();
        if !exists && dir.exists() {
            return Err(format!("--state {shown} is not a directory"));
        }
        let empty = !exists
            || fs::read_dir(dir)
                .map_err(|e| format!("cannot read --state {shown}: {e}"))?
                .next()
                .is_none();
        let store = FileStore {
            dir: dir.to_path_buf(),
        };
        if empty {
            fs::create_dir_all(dir.join(JOURNAL_DIR))
                .and_then(|()| fs::create_dir_all(dir.join(SEGMENTS_DIR)))
                .map_err(|e| format!("cannot create --state {shown}: {e}"))?;
            let text = serde_json::json!({
                "format": STATE_FORMAT,
                "version": STATE_VERSION,
                "seed": meta.seed,
                "throughputLimits": meta.throughput_limits,
            })
            .to_string();
            write_whole(&meta_path, text.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", meta_path.display()))?;
            return Ok(Opened::Fresh(store));
        }
        if !meta_path.is_file() {
            return Err(format!(
                "--state {shown} is not empty and has no {META_FILE}: it is not a kinesim state directory \
                 (kinesim serve will not write into it; pick an empty or new directory)"
            ));
        }
        let stored_meta = read_meta(&read(&meta_path)?)
            .map_err(|why| format!("{}: {why}", meta_path.display()))?;
        let snapshot_path = dir.join(SNAPSHOT_FILE);
        let snapshot = if snapshot_path.is_file() {
            Some(read(&snapshot_path)?)
        } else {
            None
        };
        let mut session = StoredSession {
            snapshot,
            ..StoredSession::default()
        };
        for (stem, path) in bin_files(&dir.join(JOURNAL_DIR))? {
            let seq = stem
                .parse::<u64>()
                .ok()
                .filter(|_| stem.len() == JOURNAL_NAME_DIGITS)
                .ok_or_else(|| format!("{} is not a journal file name", path.display()))?;
            session.journal.push((seq, read(&path)?));
        }
        for (stem, path) in bin_files(&dir.join(SEGMENTS_DIR))? {
            let key = unhex(&stem)
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|text| SegmentKey::parse(&text))
                .ok_or_else(|| format!("{} is not a segment file name", path.display()))?;
            session.segments.push((key, read(&path)?));
        }
        session.segments.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Opened::Existing(store, stored_meta, session))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Applies `commit`: new segments and journal entries, then the snapshot, then the deletions it makes
    /// possible. Stopped part way, the directory still loads (as of the last whole snapshot and the journal
    /// entries after it that are all there).
    pub fn commit(&self, commit: &Commit) -> io::Result<()> {
        let journal = self.dir.join(JOURNAL_DIR);
        let segments = self.dir.join(SEGMENTS_DIR);
        if commit.replace_all {
            // Only a run's first snapshot replaces all: whatever is here belongs to no stored snapshot.
            remove_if_there(&self.dir.join(SNAPSHOT_FILE))?;
            for dir in [&journal, &segments] {
                for entry in fs::read_dir(dir)? {
                    fs::remove_file(entry?.path())?;
                }
            }
        }
        for (key, bytes) in &commit.segment_puts {
            write_whole(&segments.join(segment_file_name(key)), bytes)?;
        }
        for (seq, bytes) in &commit.journal_append {
            write_whole(&journal.join(journal_file_name(*seq)), bytes)?;
        }
        if let Some(snapshot) = &commit.snapshot {
            write_whole(&self.dir.join(SNAPSHOT_FILE), snapshot)?;
        }
        for key in &commit.segment_deletes {
            remove_if_there(&segments.join(segment_file_name(key)))?;
        }
        if let Some(below) = commit.journal_delete_below {
            for entry in fs::read_dir(&journal)? {
                let path = entry?.path();
                let seq = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(FILE_SUFFIX))
                    .and_then(|n| n.parse::<u64>().ok());
                if seq.is_some_and(|seq| seq < below) {
                    remove_if_there(&path)?;
                }
            }
        }
        Ok(())
    }
}

fn read_meta(bytes: &[u8]) -> Result<StateMeta, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("not kinesim state metadata (unreadable JSON: {e})"))?;
    if value["format"].as_str() != Some(STATE_FORMAT) {
        return Err(format!(
            "not kinesim state metadata (its format is not {STATE_FORMAT:?})"
        ));
    }
    match value["version"].as_u64() {
        Some(v) if (1..=STATE_VERSION).contains(&v) => {}
        Some(v) => {
            return Err(format!(
                "state format version {v} is newer than this kinesim reads ({STATE_VERSION}); update kinesim"
            ));
        }
        None => return Err("it has no format version".into()),
    }
    let seed = value["seed"].as_u64().ok_or("it has no seed")?;
    let throughput_limits = value["throughputLimits"]
        .as_bool()
        .ok_or("it has no throughputLimits")?;
    Ok(StateMeta {
        seed,
        throughput_limits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinesim::persist::Journaled;
    use kinesim::sim::SimTime;
    use kinesim::{World, WorldConfig};

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("kinesim-state-unit-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    const META: StateMeta = StateMeta {
        seed: 5,
        throughput_limits: false,
    };

    fn world(meta: StateMeta) -> World {
        let mut config = WorldConfig::with_seed(meta.seed);
        config.streams.throughput_limits_default = meta.throughput_limits;
        World::new(config)
    }

    fn commit(store: &FileStore, session: &mut Journaled, snapshot: bool) {
        let (commit, receipt) = session.prepare_commit(snapshot || session.wants_snapshot());
        store.commit(&commit).expect("commit lands");
        session.committed(receipt);
    }

    #[test]
    fn commits_load_back_as_the_same_world() {
        let dir = temp_dir("round-trip");
        let Ok(Opened::Fresh(store)) = FileStore::open(&dir, META) else {
            panic!("a new directory opens fresh");
        };
        let mut session = Journaled::new(world(META));
        commit(&store, &mut session, false);
        let t = SimTime::from_millis(1_000);
        session.kinesis(t, "CreateStream", r#"{"StreamName":"s","ShardCount":2}"#);
        session.advance_to(SimTime::from_millis(60_000));
        commit(&store, &mut session, false);
        for i in 0..3_000u32 {
            let body = format!(r#"{{"StreamName":"s","PartitionKey":"k{i}","Data":"AAEC"}}"#);
            session.kinesis(SimTime::from_millis(61_000), "PutRecord", &body);
        }
        // A snapshot in the middle: segments written, journal entries it covers deleted.
        commit(&store, &mut session, true);
        session
            .s3_create_bucket(SimTime::from_millis(62_000), "my-bucket")
            .expect("a valid bucket name");
        session.kinesis(
            SimTime::from_millis(63_000),
            "PutRecord",
            r#"{"StreamName":"s","PartitionKey":"last","Data":"AAEC"}"#,
        );
        commit(&store, &mut session, false);
        assert_eq!(
            fs::read_dir(dir.join(JOURNAL_DIR)).unwrap().count(),
            2,
            "only entries after the snapshot stay"
        );
        assert!(fs::read_dir(dir.join(SEGMENTS_DIR)).unwrap().count() >= 2);

        let Ok(Opened::Existing(_, meta, stored)) =
            FileStore::open(&dir, StateMeta::default_for_test())
        else {
            panic!("the directory reopens with its run");
        };
        assert_eq!(meta, META, "the stored settings win");
        let restored = Journaled::restore(&stored, world(meta)).expect("it restores");
        assert_eq!(restored.event_log_hash(), session.event_log_hash());
        assert_eq!(restored.now(), session.now());
        assert_eq!(restored.next_seq(), session.next_seq());
        assert!(
            restored
                .firehose_service()
                .s3()
                .bucket("my-bucket")
                .is_some()
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn foreign_or_damaged_directories_are_refused() {
        let dir = temp_dir("foreign");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("notes.txt"), "mine").unwrap();
        let err = FileStore::open(&dir, META).unwrap_err();
        assert!(err.contains("not a kinesim state directory"), "{err}");
        assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
        fs::write(dir.join(META_FILE), r#"{"format":"other"}"#).unwrap();
        let err = FileStore::open(&dir, META).unwrap_err();
        assert!(err.contains("not kinesim state metadata"), "{err}");
        fs::write(
            dir.join(META_FILE),
            format!(
                r#"{{"format":"{STATE_FORMAT}","version":99,"seed":1,"throughputLimits":true}}"#
            ),
        )
        .unwrap();
        let err = FileStore::open(&dir, META).unwrap_err();
        assert!(err.contains("newer than this kinesim reads"), "{err}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn file_names_round_trip() {
        let key = SegmentKey {
            stream: "a.b-c_d".into(),
            incarnation: 2,
            shard: 3,
            segment: 4,
        };
        let name = segment_file_name(&key);
        let stem = name.strip_suffix(FILE_SUFFIX).unwrap();
        let back = unhex(stem)
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| SegmentKey::parse(&t));
        assert_eq!(back, Some(key));
        assert_eq!(journal_file_name(7), "00000000000000000007.bin");
        assert_eq!(unhex("zz"), None);
    }

    impl StateMeta {
        fn default_for_test() -> Self {
            StateMeta {
                seed: 1,
                throughput_limits: true,
            }
        }
    }
}
