//! A world that journals its inputs ([`Journaled`]), the commits it hands a store, and the restore that reads
//! a stored session back: snapshot, then record segments, then the journal replayed on top.

use super::frame;
use super::journal::{self, Input, JournalEntry, ReplayError};
use super::share::{ShareGap, ShareInputs};
use super::store::{Commit, SegmentKey, StoreError, StoreErrorKind, StoredSession};
use crate::api::ApiResponse;
use crate::api::kinesis::SubscriptionEvents;
use crate::firehose::FirehoseError;
use crate::firehose::http_endpoint::Transport;
use crate::firehose::s3::S3Error;
use crate::firehose::service::{PendingHttpRequest, TransformRequest};
use crate::scenarios::ScenarioInput;
use crate::sim::SimTime;
use crate::streams::KinesisError;
use crate::streams::service::Record;
use crate::workload::lambda::{EsmConfig, FunctionResult, Invocation, LambdaError};
use crate::world::{Advance, TransformOutcome};
use crate::{Command, CommandError, Reply, World};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

/// Records per segment: a segment is sealed (never rewritten) once its shard has written past it.
pub const SEGMENT_RECORDS: u64 = 1_024;
/// Marker of a record segment.
pub const SEGMENT_MAGIC: [u8; 4] = *b"KSEG";
/// Newest segment format.
pub const SEGMENT_VERSION: u16 = 1;
/// Largest segment read back (1,024 records of at most 1 MiB each, plus keys).
pub const SEGMENT_BYTES_MAX: u64 = 1_100 * 1024 * 1024;
/// Marker of a snapshot.
pub const SNAPSHOT_MAGIC: [u8; 4] = *b"KSNP";
/// Newest snapshot format: 2 adds the run's share inputs ([`super::share`]); a version 1 snapshot loads with
/// none, marked [`ShareGap::SavedBeforeKept`].
pub const SNAPSHOT_VERSION: u16 = 2;
/// The snapshot format without share inputs.
const SNAPSHOT_VERSION_WITHOUT_SHARE: u16 = 1;
/// Largest snapshot read back (the world without its records).
pub const SNAPSHOT_BYTES_MAX: u64 = 256 * 1024 * 1024;
/// Journal entries after which [`Journaled::wants_snapshot`] asks for a snapshot, bounding replay on load.
pub const SNAPSHOT_EVERY_ENTRIES: u64 = 2_000;
/// Timer firings after which [`Journaled::wants_snapshot`] asks for a snapshot: a few journal entries of a fast
/// run can stand for millions of firings, and a load replays them all.
pub const SNAPSHOT_EVERY_FIRINGS: u64 = 200_000;

#[derive(Serialize, Deserialize)]
struct SegmentRecord<'a> {
    index: u64,
    arrival_ms: u64,
    #[serde(borrow)]
    partition_key: &'a str,
    #[serde(borrow)]
    data: &'a [u8],
}

/// Encodes records as one segment value (postcard, checksummed). Fails only if postcard refuses the records,
/// which the snapshot that carries them reports ([`SnapshotError`]).
pub fn encode_segment<'a>(records: impl Iterator<Item = &'a Record>) -> Result<Vec<u8>, String> {
    let records: Vec<SegmentRecord<'_>> = records
        .map(|r| SegmentRecord {
            index: r.index,
            arrival_ms: r.arrival.as_millis(),
            partition_key: &r.partition_key,
            data: &r.data,
        })
        .collect();
    let payload =
        postcard::to_allocvec(&records).map_err(|e| format!("cannot encode records: {e}"))?;
    Ok(frame::encode(SEGMENT_MAGIC, SEGMENT_VERSION, &payload))
}

/// Reads a segment value back.
pub fn decode_segment(bytes: &[u8]) -> Result<Vec<Record>, String> {
    let (_, payload) = frame::decode(SEGMENT_MAGIC, SEGMENT_VERSION, SEGMENT_BYTES_MAX, bytes)
        .map_err(|e| e.to_string())?;
    let records: Vec<SegmentRecord<'_>> =
        postcard::from_bytes(payload).map_err(|e| format!("unreadable records: {e}"))?;
    Ok(records
        .into_iter()
        .map(|r| Record {
            index: r.index,
            arrival: SimTime::from_millis(r.arrival_ms),
            partition_key: r.partition_key.to_string(),
            data: r.data.to_vec(),
        })
        .collect())
}

/// Which records of a shard a snapshot holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ShardManifest {
    stream: String,
    incarnation: u64,
    ordinal: u32,
    first_index: u64,
    next_index: u64,
}

#[derive(Serialize, Deserialize)]
struct Snapshot<'a> {
    /// Journal position the snapshot is as of: entries from here on are replayed over it.
    journal_next_seq: u64,
    shards: Vec<ShardManifest>,
    /// The world without its records, as JSON (its enums are internally tagged, which postcard cannot read).
    #[serde(borrow)]
    world_json: &'a [u8],
    /// The run's share inputs ([`ShareInputs`]) as JSON (version 2 on).
    #[serde(borrow)]
    share_json: &'a [u8],
}

/// A version 1 snapshot: no share inputs.
#[derive(Serialize, Deserialize)]
struct SnapshotWithoutShare<'a> {
    journal_next_seq: u64,
    shards: Vec<ShardManifest>,
    #[serde(borrow)]
    world_json: &'a [u8],
}

/// Why a stored session could not be restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreError {
    /// The snapshot is damaged or foreign.
    Snapshot(String),
    /// A record segment is damaged, foreign or missing.
    Segment(String),
    /// The journal is damaged or has a gap.
    Journal(ReplayError),
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::Snapshot(e) => write!(f, "the session's snapshot is unreadable: {e}"),
            RestoreError::Segment(e) => write!(f, "the session's records are unreadable: {e}"),
            RestoreError::Journal(e) => write!(f, "the session's journal is unreadable: {e}"),
        }
    }
}

impl std::error::Error for RestoreError {}

/// Why a commit that was due to carry a snapshot carries none. The session is never given an empty or partial
/// snapshot: either its journal is saved instead, or nothing is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// A snapshot is stored already, so the commit carries the journal alone: no change is lost (a reload
    /// replays the journal over the stored snapshot), but replay grows until a snapshot succeeds.
    JournalOnly(String),
    /// No snapshot of this run is stored yet and none could be made: the commit writes nothing, and the inputs
    /// stay pending for the next commit.
    NotSaved(String),
}

impl SnapshotError {
    /// What failed (the serializer's message).
    pub fn reason(&self) -> &str {
        match self {
            SnapshotError::JournalOnly(reason) | SnapshotError::NotSaved(reason) => reason,
        }
    }

    /// Whether the commit still saved every change (in the journal).
    pub fn journal_saved(&self) -> bool {
        matches!(self, SnapshotError::JournalOnly(_))
    }
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::JournalOnly(reason) => write!(
                f,
                "Snapshot not written: {reason}. Every change is kept in the session's journal instead, so \
                 nothing is lost: a reload replays it."
            ),
            SnapshotError::NotSaved(reason) => write!(
                f,
                "cannot save: the session could not be written as a snapshot ({reason}); its changes are kept in \
                 memory until a save succeeds"
            ),
        }
    }
}

impl std::error::Error for SnapshotError {}

impl From<SnapshotError> for StoreError {
    fn from(e: SnapshotError) -> Self {
        StoreError::new(StoreErrorKind::Unserializable, e.to_string())
    }
}

/// Which segments of a shard are stored, and how far its records were written when they were.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SavedShard {
    segments_from: u64,
    segments_to: u64,
    next_index: u64,
}

type ShardKey = (String, u64, u32);

/// Segments holding records `first_index..next_index` (none when the range is empty).
fn segment_range(first_index: u64, next_index: u64) -> (u64, u64) {
    if first_index >= next_index {
        return (0, 0);
    }
    (
        first_index / SEGMENT_RECORDS,
        next_index.div_ceil(SEGMENT_RECORDS),
    )
}

/// What a prepared commit will change in the [`Journaled`] bookkeeping once the store confirms it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitReceipt {
    journal_through: u64,
    saved: Option<BTreeMap<ShardKey, SavedShard>>,
    snapshot_error: Option<SnapshotError>,
}

impl CommitReceipt {
    /// The journal position after the last entry the commit holds: once it landed, every input before it is
    /// stored.
    pub fn journal_through(&self) -> u64 {
        self.journal_through
    }

    /// Whether the commit carries a snapshot.
    pub fn has_snapshot(&self) -> bool {
        self.saved.is_some()
    }

    /// Why the commit carries no snapshot although one was due (report it: see [`SnapshotError`]).
    pub fn snapshot_error(&self) -> Option<&SnapshotError> {
        self.snapshot_error.as_ref()
    }
}

/// A [`World`] whose every input is journaled. Call its input methods instead of the world's; every so often
/// [`Journaled::prepare_commit`] hands the store what is new, and [`Journaled::committed`] records that it landed.
#[derive(Debug)]
pub struct Journaled {
    world: World,
    next_seq: u64,
    /// Entries not confirmed committed yet, oldest first.
    pending: VecDeque<(u64, Vec<u8>)>,
    /// Bounded advances not yet journaled: (time reached, timers fired).
    advance: Option<(SimTime, u32)>,
    saved: BTreeMap<ShardKey, SavedShard>,
    /// Journal position of the stored snapshot (`None`: no snapshot stored yet).
    snapshot_seq: Option<u64>,
    /// Timers fired since the last snapshot was prepared.
    firings_since_snapshot: u64,
    /// Journal position at the last snapshot that could not be made ([`SnapshotError`]): the next periodic try
    /// waits for [`SNAPSHOT_EVERY_ENTRIES`] more entries.
    snapshot_failed_seq: Option<u64>,
    /// Off unless a test sets it ([`Journaled::fail_snapshots`]): every snapshot fails as if the world could not
    /// be serialized, with this message.
    snapshot_fault: Option<String>,
    /// The first input since the stored snapshot that could not be journaled, and why: from it on only a new
    /// snapshot can save the run, so every commit tries one.
    unjournaled: Option<(u64, String)>,
    /// Off unless a test sets it ([`Journaled::fail_journal_entries`]): every journal entry fails to encode.
    journal_fault: Option<String>,
    /// The inputs kept for sharing the run (in the snapshot, and journaled as they come).
    share: ShareInputs,
}

/// A journaled world reads as the world: every `&self` method of [`World`] is there. Changes go through the
/// journaled methods of [`Journaled`] only (there is no `DerefMut`).
impl std::ops::Deref for Journaled {
    type Target = World;

    fn deref(&self) -> &World {
        &self.world
    }
}

impl Journaled {
    /// A world nothing of which is stored yet (its first commit carries a snapshot).
    pub fn new(world: World) -> Self {
        Journaled {
            world,
            next_seq: 0,
            pending: VecDeque::new(),
            advance: None,
            saved: BTreeMap::new(),
            snapshot_seq: None,
            firings_since_snapshot: 0,
            snapshot_failed_seq: None,
            snapshot_fault: None,
            unjournaled: None,
            journal_fault: None,
            share: ShareInputs::new(),
        }
    }

    /// For tests only (off unless called): with `Some(message)`, every snapshot fails as if serializing the
    /// world had failed with `message`, the path a world that cannot be written takes; `None` turns it off.
    #[doc(hidden)]
    pub fn fail_snapshots(&mut self, message: Option<String>) {
        self.snapshot_fault = message;
    }

    /// For tests only (off unless called): with `Some(message)`, every input's journal entry fails to encode as
    /// if serde_json had refused it with `message`; `None` turns it off.
    #[doc(hidden)]
    pub fn fail_journal_entries(&mut self, message: Option<String>) {
        self.journal_fault = message;
    }

    /// A world whose run so far is `inputs` (a loaded share file): a share of it starts from them.
    pub fn with_share_inputs(world: World, inputs: Vec<ScenarioInput>) -> Self {
        let mut journaled = Journaled::new(world);
        journaled.share = ShareInputs::from_inputs(inputs);
        journaled
    }

    /// The inputs kept for sharing the run, or why a share would not reproduce it.
    pub fn share_inputs(&self) -> &ShareInputs {
        &self.share
    }

    /// Keeps `input` for sharing the run (journaled, so it survives a reload). Call it next to the journaled
    /// call that gives the world the same input. Past [`super::share::SHARE_INPUTS_MAX`] inputs (or
    /// [`super::share::SHARE_INPUTS_BYTES_MAX`] bytes) the run is marked as not shareable exactly.
    pub fn record_share(&mut self, input: ScenarioInput) {
        if self.share.inputs().is_err() {
            return;
        }
        match self.share.push(input.clone()) {
            Ok(()) => {
                self.flush_advance();
                self.push(Input::ShareInput { input });
            }
            Err(gap) => {
                self.flush_advance();
                self.push(Input::ShareStopped { gap });
            }
        }
    }

    /// Marks the run as not shareable exactly, for `gap` (journaled, so it survives a reload). Nothing happens
    /// when it is already marked.
    pub fn stop_share(&mut self, gap: ShareGap) {
        if self.share.inputs().is_err() {
            return;
        }
        self.share.stop(gap);
        self.flush_advance();
        self.push(Input::ShareStopped { gap });
    }

    /// The world, read-only.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The journal position the next input gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Journals any time advance held back for coalescing and returns the position after the last entry: once
    /// the journal is committed up to here, everything done so far is stored.
    pub fn journal_through(&mut self) -> u64 {
        self.flush_advance();
        self.next_seq
    }

    /// Whether inputs are waiting for a commit.
    pub fn has_uncommitted(&self) -> bool {
        !self.pending.is_empty()
            || self.advance.is_some()
            || self.snapshot_seq.is_none()
            || self.unjournaled.is_some()
    }

    /// Whether enough journal has piled up since the stored snapshot that the next commit should carry a new one.
    /// After a snapshot that could not be made, the next try waits for as many entries again.
    pub fn wants_snapshot(&self) -> bool {
        let Some(stored) = self.snapshot_seq else {
            return true;
        };
        if self.unjournaled.is_some() {
            return true;
        }
        let since = self
            .snapshot_failed_seq
            .map_or(stored, |failed| failed.max(stored));
        self.firings_since_snapshot >= SNAPSHOT_EVERY_FIRINGS
            || self.next_seq.saturating_sub(since) >= SNAPSHOT_EVERY_ENTRIES
    }

    fn push(&mut self, input: Input) {
        let entry = JournalEntry {
            seq: self.next_seq,
            input,
        };
        let encoded = match &self.journal_fault {
            Some(message) => Err(format!("cannot journal input {}: {message}", entry.seq)),
            None => entry.encode(),
        };
        match encoded {
            Ok(bytes) => self.pending.push_back((entry.seq, bytes)),
            // The world still takes the input; the journal cannot, so only a snapshot can save the run from here.
            Err(reason) => {
                if self.unjournaled.is_none() {
                    self.unjournaled = Some((entry.seq, reason));
                }
            }
        }
        self.next_seq += 1;
    }

    fn flush_advance(&mut self) {
        if let Some((to, fired)) = self.advance.take() {
            self.push(Input::Advance {
                to_ms: to.as_millis(),
                firings_max: fired,
            });
        }
    }

    /// [`World::apply`], journaled.
    pub fn apply(&mut self, now: SimTime, command: Command) -> Result<Reply, CommandError> {
        self.flush_advance();
        self.push(Input::Command {
            now_ms: now.as_millis(),
            command: command.clone(),
        });
        self.world.apply(now, command)
    }

    /// [`World::call`] (an AWS API call by `X-Amz-Target`, any service), journaled. A target no service
    /// serves is journaled too: its UnknownOperationException is part of the run.
    pub fn call(&mut self, now: SimTime, target: &str, body: &str) -> ApiResponse {
        self.flush_advance();
        self.push(Input::Api {
            now_ms: now.as_millis(),
            target: target.to_string(),
            body: body.to_string(),
        });
        self.world.call(now, target, body)
    }

    /// [`World::kinesis`], journaled.
    pub fn kinesis(&mut self, now: SimTime, operation: &str, body: &str) -> ApiResponse {
        self.flush_advance();
        self.push(Input::Api {
            now_ms: now.as_millis(),
            target: format!("{}{operation}", journal::KINESIS_TARGET_PREFIX),
            body: body.to_string(),
        });
        self.world.kinesis(now, operation, body)
    }

    /// [`World::kinesis_subscription_events`], journaled.
    pub fn kinesis_subscription_events(
        &mut self,
        now: SimTime,
        subscription: u64,
    ) -> Result<SubscriptionEvents, KinesisError> {
        self.flush_advance();
        self.push(Input::SubscriptionPoll {
            now_ms: now.as_millis(),
            subscription,
        });
        self.world.kinesis_subscription_events(now, subscription)
    }

    /// [`World::poll_http_request`], journaled (only when a request was handed out).
    pub fn poll_http_request(&mut self) -> Option<PendingHttpRequest> {
        let out = self.world.poll_http_request();
        if out.is_some() {
            self.flush_advance();
            self.push(Input::HttpPoll {
                now_ms: self.world.now().as_millis(),
            });
        }
        out
    }

    /// [`World::complete_http_request`], journaled.
    pub fn complete_http_request(
        &mut self,
        now: SimTime,
        request_id: &str,
        outcome: &Transport,
    ) -> Result<(), FirehoseError> {
        self.flush_advance();
        self.push(Input::HttpComplete {
            now_ms: now.as_millis(),
            request_id: request_id.to_string(),
            outcome: outcome.clone(),
        });
        self.world.complete_http_request(now, request_id, outcome)
    }

    /// [`World::poll_firehose_transform`], journaled (only when an invocation was handed out).
    pub fn poll_firehose_transform(&mut self) -> Option<TransformRequest> {
        let out = self.world.poll_firehose_transform();
        if out.is_some() {
            self.flush_advance();
            self.push(Input::TransformPoll {
                now_ms: self.world.now().as_millis(),
            });
        }
        out
    }

    /// [`World::complete_firehose_transform`], journaled.
    pub fn complete_firehose_transform(
        &mut self,
        now: SimTime,
        delivery_stream: &str,
        invocation_id: &str,
        outcome: &TransformOutcome,
    ) -> Result<(), FirehoseError> {
        self.flush_advance();
        self.push(Input::TransformComplete {
            now_ms: now.as_millis(),
            delivery_stream: delivery_stream.to_string(),
            invocation_id: invocation_id.to_string(),
            outcome: outcome.clone(),
        });
        self.world
            .complete_firehose_transform(now, delivery_stream, invocation_id, outcome)
    }

    /// [`World::create_event_source_mapping`], journaled.
    pub fn create_event_source_mapping(
        &mut self,
        now: SimTime,
        config: EsmConfig,
    ) -> Result<String, LambdaError> {
        self.flush_advance();
        self.push(Input::EsmCreate {
            now_ms: now.as_millis(),
            config: config.clone(),
        });
        self.world.create_event_source_mapping(now, config)
    }

    /// [`World::delete_event_source_mapping`], journaled.
    pub fn delete_event_source_mapping(
        &mut self,
        now: SimTime,
        uuid: &str,
    ) -> Result<(), LambdaError> {
        self.flush_advance();
        self.push(Input::EsmDelete {
            now_ms: now.as_millis(),
            uuid: uuid.to_string(),
        });
        self.world.delete_event_source_mapping(now, uuid)
    }

    /// [`World::poll_invocation`], journaled (only when an invocation was handed out).
    pub fn poll_invocation(&mut self) -> Option<(String, Invocation)> {
        let out = self.world.poll_invocation();
        if out.is_some() {
            self.flush_advance();
            self.push(Input::InvocationPoll {
                now_ms: self.world.now().as_millis(),
            });
        }
        out
    }

    /// [`World::complete_invocation`], journaled.
    pub fn complete_invocation(
        &mut self,
        now: SimTime,
        uuid: &str,
        id: u64,
        result: FunctionResult,
    ) -> Result<(), LambdaError> {
        self.flush_advance();
        self.push(Input::InvocationComplete {
            now_ms: now.as_millis(),
            uuid: uuid.to_string(),
            id,
            result: journal::JournaledResult::from(&result),
        });
        self.world.complete_invocation(now, uuid, id, result)
    }

    /// S3 CreateBucket on the simulated account's S3 (`kinesim serve`), journaled.
    pub fn s3_create_bucket(&mut self, now: SimTime, bucket: &str) -> Result<(), S3Error> {
        self.flush_advance();
        self.push(Input::S3CreateBucket {
            now_ms: now.as_millis(),
            bucket: bucket.to_string(),
        });
        self.world
            .firehose_service_mut()
            .s3_mut()
            .create_bucket(now, bucket)
    }

    /// [`World::advance_to_bounded`], journaled. Consecutive advances coalesce into one journal entry (how
    /// time is sliced never changes the run), so a shell may call this every animation frame.
    pub fn advance_to_bounded(&mut self, now: SimTime, firings_max: u32) -> Advance {
        if let Some((_, fired)) = self.advance
            && fired > u32::MAX - firings_max.min(u32::MAX / 2)
        {
            self.flush_advance();
        }
        let before = self.world.now();
        let result = self.world.advance_to_bounded(now, firings_max);
        self.firings_since_snapshot = self
            .firings_since_snapshot
            .saturating_add(u64::from(result.fired));
        if result.fired > 0 || self.world.now() != before || self.advance.is_some() {
            let fired = self.advance.map_or(0, |(_, f)| f);
            self.advance = Some((self.world.now(), fired.saturating_add(result.fired)));
        }
        result
    }

    /// [`World::advance_to`], journaled.
    pub fn advance_to(&mut self, now: SimTime) -> u32 {
        let mut fired = 0u32;
        loop {
            let step = self.advance_to_bounded(now, u32::MAX / 2);
            fired = fired.saturating_add(step.fired);
            if step.reached {
                return fired;
            }
        }
    }

    /// [`World::step`], journaled: jumps to the next pending timer and fires every timer due then.
    pub fn step(&mut self) -> Option<SimTime> {
        let due = self.world.pending_timers().next()?.due;
        self.advance_to(due);
        Some(self.world.now())
    }

    /// What the store should write now: new journal entries and, with `snapshot` (or when nothing is stored
    /// yet), a snapshot with the record segments that changed since the last one. Nothing is marked saved until
    /// [`Journaled::committed`] gets the receipt; if the store fails, the next commit carries everything again.
    ///
    /// A snapshot that cannot be made (the world fails to serialize) is never written empty: the commit carries
    /// the journal alone when a snapshot is stored already, and nothing when none is; either way
    /// [`CommitReceipt::snapshot_error`] says so, and the caller must report it.
    pub fn prepare_commit(&mut self, snapshot: bool) -> (Commit, CommitReceipt) {
        self.flush_advance();
        if snapshot || self.snapshot_seq.is_none() || self.unjournaled.is_some() {
            match self.prepare_snapshot() {
                Ok(prepared) => return prepared,
                Err(reason) => {
                    self.snapshot_failed_seq = Some(self.next_seq);
                    if let Some((gap, why)) = &self.unjournaled {
                        // Entries before the input that could not be journaled still land (a consistent earlier
                        // state when a snapshot is stored); nothing from it on can be saved.
                        let gap = *gap;
                        let error = SnapshotError::NotSaved(format!("{why}; {reason}"));
                        if self.snapshot_seq.is_none() {
                            return (Commit::default(), self.nothing_saved(error));
                        }
                        let commit = Commit {
                            journal_append: self
                                .pending
                                .iter()
                                .take_while(|(seq, _)| *seq < gap)
                                .cloned()
                                .collect(),
                            ..Commit::default()
                        };
                        let receipt = CommitReceipt {
                            journal_through: gap,
                            saved: None,
                            snapshot_error: Some(error),
                        };
                        return (commit, receipt);
                    }
                    if self.snapshot_seq.is_none() {
                        // The store holds no snapshot of this run: a journal alone would replay over whatever it
                        // holds (an older life of the session), so nothing is written.
                        let receipt = self.nothing_saved(SnapshotError::NotSaved(reason));
                        return (Commit::default(), receipt);
                    }
                    return self.prepare_journal(Some(SnapshotError::JournalOnly(reason)));
                }
            }
        }
        self.prepare_journal(None)
    }

    /// The receipt of a commit that saves nothing: everything before the oldest pending entry is stored.
    fn nothing_saved(&self, error: SnapshotError) -> CommitReceipt {
        CommitReceipt {
            journal_through: self.pending.front().map_or(self.next_seq, |(seq, _)| *seq),
            saved: None,
            snapshot_error: Some(error),
        }
    }

    fn prepare_journal(&self, snapshot_error: Option<SnapshotError>) -> (Commit, CommitReceipt) {
        let commit = Commit {
            journal_append: self.pending.iter().cloned().collect(),
            ..Commit::default()
        };
        let receipt = CommitReceipt {
            journal_through: self.next_seq,
            saved: None,
            snapshot_error,
        };
        (commit, receipt)
    }

    /// The world as JSON, without its records.
    fn world_json(&mut self) -> Result<Vec<u8>, serde_json::Error> {
        if let Some(message) = &self.snapshot_fault {
            return Err(<serde_json::Error as serde::ser::Error>::custom(message));
        }
        let taken = self.world.streams_mut().take_records();
        let world_json = serde_json::to_vec(&self.world);
        self.world.streams_mut().put_back_records(taken);
        world_json
    }

    fn prepare_snapshot(&mut self) -> Result<(Commit, CommitReceipt), String> {
        self.firings_since_snapshot = 0;
        let world_json = self
            .world_json()
            .map_err(|e| format!("cannot serialize the world: {e}"))?;
        let share_json = self.share.to_json()?;
        let mut commit = Commit::default();
        let mut saved = BTreeMap::new();
        let mut shards = Vec::new();
        for shard in self.world.streams().record_shards() {
            let key: ShardKey = (shard.stream.to_string(), shard.incarnation, shard.ordinal);
            let first_index = shard.next_index - shard.records.len() as u64;
            let (want_from, want_to) = segment_range(first_index, shard.next_index);
            let previous = self.saved.get(&key);
            let dirty_from = previous.map_or(want_from, |p| {
                (p.next_index / SEGMENT_RECORDS).clamp(want_from, want_to.max(want_from))
            });
            let segment_key = |segment| SegmentKey {
                stream: shard.stream.to_string(),
                incarnation: shard.incarnation,
                shard: shard.ordinal,
                segment,
            };
            for segment in dirty_from..want_to {
                let lo = (segment * SEGMENT_RECORDS).max(first_index);
                let hi = ((segment + 1) * SEGMENT_RECORDS).min(shard.next_index);
                let skip = usize::try_from(lo - first_index).unwrap_or(usize::MAX);
                let take = usize::try_from(hi - lo).unwrap_or(0);
                let bytes = encode_segment(shard.records.iter().skip(skip).take(take))?;
                commit.segment_puts.push((segment_key(segment), bytes));
            }
            if let Some(p) = previous {
                let stale = (p.segments_from..p.segments_to.min(want_from))
                    .chain(want_to.max(p.segments_from)..p.segments_to);
                commit.segment_deletes.extend(stale.map(segment_key));
            }
            saved.insert(
                key,
                SavedShard {
                    segments_from: want_from,
                    segments_to: want_to,
                    next_index: shard.next_index,
                },
            );
            shards.push(ShardManifest {
                stream: shard.stream.to_string(),
                incarnation: shard.incarnation,
                ordinal: shard.ordinal,
                first_index,
                next_index: shard.next_index,
            });
        }
        for (key, p) in &self.saved {
            if !saved.contains_key(key) {
                commit
                    .segment_deletes
                    .extend((p.segments_from..p.segments_to).map(|segment| SegmentKey {
                        stream: key.0.clone(),
                        incarnation: key.1,
                        shard: key.2,
                        segment,
                    }));
            }
        }
        let payload = postcard::to_allocvec(&Snapshot {
            journal_next_seq: self.next_seq,
            shards,
            world_json: &world_json,
            share_json: &share_json,
        })
        .map_err(|e| format!("cannot encode the snapshot: {e}"))?;
        commit.snapshot = Some(frame::encode(SNAPSHOT_MAGIC, SNAPSHOT_VERSION, &payload));
        commit.journal_delete_below = Some(self.next_seq);
        // Nothing of this session stored yet under this journal: whatever the store holds is an older life
        // of the session (before a restart or an import) and goes.
        commit.replace_all = self.snapshot_seq.is_none();
        let receipt = CommitReceipt {
            journal_through: self.next_seq,
            saved: Some(saved),
            snapshot_error: None,
        };
        Ok((commit, receipt))
    }

    /// Records that the commit with this receipt landed in the store.
    pub fn committed(&mut self, receipt: CommitReceipt) {
        while self
            .pending
            .front()
            .is_some_and(|(seq, _)| *seq < receipt.journal_through)
        {
            self.pending.pop_front();
        }
        if let Some(saved) = receipt.saved {
            self.saved = saved;
            self.snapshot_seq = Some(receipt.journal_through);
            self.snapshot_failed_seq = None;
            if self
                .unjournaled
                .as_ref()
                .is_some_and(|(seq, _)| *seq < receipt.journal_through)
            {
                self.unjournaled = None;
            }
        }
    }

    /// Rebuilds a session from what a store holds. A session with no snapshot starts as `fresh` and replays its
    /// journal. Damaged or foreign bytes are reported, never trusted.
    pub fn restore(stored: &StoredSession, fresh: World) -> Result<Journaled, RestoreError> {
        let (mut world, first_seq, saved, mut share) = match &stored.snapshot {
            None => (fresh, 0, BTreeMap::new(), ShareInputs::new()),
            Some(bytes) => restore_snapshot(bytes, &stored.segments)?,
        };
        let mut entries = Vec::with_capacity(stored.journal.len());
        for (seq, bytes) in &stored.journal {
            if *seq < first_seq {
                continue; // Covered by the snapshot (left by an interrupted cleanup).
            }
            entries.push(JournalEntry::decode(*seq, bytes).map_err(RestoreError::Journal)?);
        }
        let next_seq =
            journal::replay(&mut world, first_seq, &entries).map_err(RestoreError::Journal)?;
        for entry in entries {
            match entry.input {
                // Past the bound the journal holds a `ShareStopped` instead; the list stops either way.
                Input::ShareInput { input } => {
                    let _ = share.push(input);
                }
                Input::ShareStopped { gap } => share.stop(gap),
                _ => {}
            }
        }
        Ok(Journaled {
            world,
            next_seq,
            pending: VecDeque::new(),
            advance: None,
            saved,
            snapshot_seq: stored.snapshot.as_ref().map(|_| first_seq),
            firings_since_snapshot: 0,
            snapshot_failed_seq: None,
            snapshot_fault: None,
            unjournaled: None,
            journal_fault: None,
            share,
        })
    }
}

type RestoredSnapshot = (World, u64, BTreeMap<ShardKey, SavedShard>, ShareInputs);

fn restore_snapshot(
    bytes: &[u8],
    segments: &[(SegmentKey, Vec<u8>)],
) -> Result<RestoredSnapshot, RestoreError> {
    let (version, payload) =
        frame::decode(SNAPSHOT_MAGIC, SNAPSHOT_VERSION, SNAPSHOT_BYTES_MAX, bytes)
            .map_err(|e| RestoreError::Snapshot(e.to_string()))?;
    let (snapshot, share) = if version == SNAPSHOT_VERSION_WITHOUT_SHARE {
        let old: SnapshotWithoutShare<'_> =
            postcard::from_bytes(payload).map_err(|e| RestoreError::Snapshot(e.to_string()))?;
        let snapshot = Snapshot {
            journal_next_seq: old.journal_next_seq,
            shards: old.shards,
            world_json: old.world_json,
            share_json: &[],
        };
        (
            snapshot,
            ShareInputs::unavailable(ShareGap::SavedBeforeKept),
        )
    } else {
        let snapshot: Snapshot<'_> =
            postcard::from_bytes(payload).map_err(|e| RestoreError::Snapshot(e.to_string()))?;
        let share = ShareInputs::from_json(snapshot.share_json).map_err(RestoreError::Snapshot)?;
        (snapshot, share)
    };
    let mut world: World = serde_json::from_slice(snapshot.world_json)
        .map_err(|e| RestoreError::Snapshot(e.to_string()))?;
    let by_key: BTreeMap<&SegmentKey, &Vec<u8>> = segments.iter().map(|(k, v)| (k, v)).collect();
    let mut saved = BTreeMap::new();
    let shard_count = world.streams().record_shards().count();
    if shard_count != snapshot.shards.len() {
        return Err(RestoreError::Snapshot(format!(
            "it lists {} shards but its world has {shard_count}",
            snapshot.shards.len()
        )));
    }
    for shard in snapshot.shards {
        if shard.first_index > shard.next_index {
            return Err(RestoreError::Snapshot(format!(
                "shard {} of {} has its first record after its last",
                shard.ordinal, shard.stream
            )));
        }
        let (from, to) = segment_range(shard.first_index, shard.next_index);
        let mut records = VecDeque::new();
        for segment in from..to {
            let key = SegmentKey {
                stream: shard.stream.clone(),
                incarnation: shard.incarnation,
                shard: shard.ordinal,
                segment,
            };
            let bytes = by_key.get(&key).ok_or_else(|| {
                RestoreError::Segment(format!("segment {} is missing", key.to_key_string()))
            })?;
            let decoded = decode_segment(bytes)
                .map_err(|e| RestoreError::Segment(format!("{}: {e}", key.to_key_string())))?;
            records.extend(
                decoded
                    .into_iter()
                    .filter(|r| r.index >= shard.first_index && r.index < shard.next_index),
            );
        }
        world
            .streams_mut()
            .restore_records(&shard.stream, shard.incarnation, shard.ordinal, records)
            .map_err(RestoreError::Segment)?;
        saved.insert(
            (shard.stream, shard.incarnation, shard.ordinal),
            SavedShard {
                segments_from: from,
                segments_to: to,
                next_index: shard.next_index,
            },
        );
    }
    Ok((world, snapshot.journal_next_seq, saved, share))
}
