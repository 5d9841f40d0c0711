//! The record-processor interface (the KCL's `ShardRecordProcessor`) and its checkpointer.
//!
//! One processor instance per shard consumer, cloned from the application's prototype when a worker starts
//! processing a lease. The group calls `initialize` once, `process_records` for every non-empty batch, then either
//! `lease_lost` (another worker took the lease; checkpointing is no longer possible) or `shard_ended` (the shard is
//! closed and read to its end; the processor should checkpoint, which writes SHARD_END).

use super::lease::{Checkpoint, LeaseError, LeaseTable};
use crate::sim::SimTime;
use crate::streams::sequence::SequenceNumber;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// What `initialize` is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitializationInput<'a> {
    /// The worker.
    pub worker_id: &'a str,
    /// The shard.
    pub shard_id: &'a str,
    /// Where processing resumes (the lease's checkpoint).
    pub checkpoint: &'a Checkpoint,
}

/// One record as a processor sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KclRecord {
    /// Its sequence number.
    pub sequence_number: String,
    /// Its partition key.
    pub partition_key: String,
    /// Its data.
    pub data: Vec<u8>,
    /// When the stream accepted it.
    pub arrival: SimTime,
}

/// What `process_records` is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessRecordsInput<'a> {
    /// The worker.
    pub worker_id: &'a str,
    /// The shard.
    pub shard_id: &'a str,
    /// The batch, in sequence-number order (never empty).
    pub records: &'a [KclRecord],
    /// GetRecords' `MillisBehindLatest`.
    pub millis_behind_latest: u64,
    /// When the batch is delivered.
    pub now: SimTime,
}

/// A shard consumer's processor: implement it to observe records and decide when to checkpoint.
///
/// State must be `Clone` (each consumer gets a clone of the prototype) and serializable (it is part of the
/// application's state, so a World snapshot holds it).
pub trait RecordProcessor: Clone + fmt::Debug {
    /// Called once before the first batch.
    fn initialize(&mut self, _input: &InitializationInput<'_>) {}

    /// Called with every non-empty batch. Checkpoint through `checkpointer` (all records so far, or up to a
    /// sequence number); a checkpoint after the lease was lost fails.
    fn process_records(
        &mut self,
        input: &ProcessRecordsInput<'_>,
        checkpointer: &mut Checkpointer<'_>,
    );

    /// Another worker took the lease; records after the last checkpoint will be delivered again there.
    fn lease_lost(&mut self, _worker_id: &str, _shard_id: &str) {}

    /// The worker is shutting down gracefully: checkpoint now if wanted (the default does), before the lease is
    /// released.
    fn shutdown_requested(
        &mut self,
        _worker_id: &str,
        _shard_id: &str,
        checkpointer: &mut Checkpointer<'_>,
    ) {
        // Nothing delivered yet, or the lease is lost: nothing to keep.
        let _ = checkpointer.checkpoint();
    }

    /// The shard is closed and every record was delivered: checkpoint now to write SHARD_END (the group writes
    /// it afterwards if the processor does not, so that children can start).
    fn shard_ended(
        &mut self,
        _worker_id: &str,
        _shard_id: &str,
        checkpointer: &mut Checkpointer<'_>,
    ) {
        // A failure means the lease is lost; nothing else to do.
        let _ = checkpointer.checkpoint();
    }
}

/// A processor that checkpoints after every `every_batches`-th batch (1: after each) and at shard end, and
/// otherwise only counts. The default for simulations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointingProcessor {
    /// Checkpoint after this many batches (0 is taken as 1).
    pub every_batches: u32,
    /// Batches since the last checkpoint.
    pub batches_since_checkpoint: u32,
    /// Records this instance was given.
    pub records: u64,
}

impl CheckpointingProcessor {
    /// A processor that checkpoints after every `every_batches` batches.
    pub fn new(every_batches: u32) -> Self {
        CheckpointingProcessor {
            every_batches,
            batches_since_checkpoint: 0,
            records: 0,
        }
    }
}

impl Default for CheckpointingProcessor {
    fn default() -> Self {
        CheckpointingProcessor::new(1)
    }
}

impl RecordProcessor for CheckpointingProcessor {
    fn process_records(
        &mut self,
        input: &ProcessRecordsInput<'_>,
        checkpointer: &mut Checkpointer<'_>,
    ) {
        self.records += input.records.len() as u64;
        self.batches_since_checkpoint += 1;
        if self.batches_since_checkpoint >= self.every_batches.max(1) {
            self.batches_since_checkpoint = 0;
            // A failure means the lease is lost; the group tells the processor through `lease_lost`.
            let _ = checkpointer.checkpoint();
        }
    }
}

/// Why a checkpoint was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckpointError {
    /// The lease is no longer this worker's (the KCL's `ShutdownException`): the write's condition failed.
    LeaseLost,
    /// The sequence number is after the last record delivered, before the last checkpoint, or not of this shard
    /// (the KCL's `IllegalArgumentException`).
    InvalidSequenceNumber(String),
    /// Nothing to checkpoint yet (no record delivered and not at shard end).
    NothingToCheckpoint,
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::LeaseLost => f.write_str(
                "Can't update checkpoint - instance doesn't hold the lease for this shard",
            ),
            CheckpointError::InvalidSequenceNumber(s) => {
                write!(f, "Could not checkpoint at sequence number {s}")
            }
            CheckpointError::NothingToCheckpoint => f.write_str("no record delivered yet"),
        }
    }
}

/// Orders two sequence numbers of one shard.
pub fn compare_sequence_numbers(a: &str, b: &str) -> Ordering {
    match (SequenceNumber::parse(a), SequenceNumber::parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
    }
}

/// Writes checkpoints of one lease, conditional on the lease counter the worker holds.
#[derive(Debug)]
pub struct Checkpointer<'a> {
    pub(super) table: &'a mut LeaseTable,
    pub(super) shard_id: &'a str,
    pub(super) worker_id: &'a str,
    pub(super) counter: &'a mut u64,
    /// The last record delivered to the processor (the largest permitted checkpoint).
    pub(super) largest_permitted: Option<&'a str>,
    /// At shard end: the child shard ids, and `checkpoint()` writes SHARD_END.
    pub(super) shard_end_children: Option<Vec<String>>,
    /// Successful writes, for the application's events.
    pub(super) written: Vec<Checkpoint>,
}

impl Checkpointer<'_> {
    /// Checkpoints every record delivered so far (at shard end: SHARD_END).
    pub fn checkpoint(&mut self) -> Result<(), CheckpointError> {
        if let Some(children) = self.shard_end_children.clone() {
            return self.write(Checkpoint::ShardEnd, Some(children));
        }
        let Some(last) = self.largest_permitted else {
            return Err(CheckpointError::NothingToCheckpoint);
        };
        self.write(Checkpoint::SequenceNumber(last.to_string()), None)
    }

    /// Checkpoints up to and including `sequence_number`, which must be a delivered record's and not before the
    /// lease's checkpoint.
    pub fn checkpoint_at(&mut self, sequence_number: &str) -> Result<(), CheckpointError> {
        let invalid = || CheckpointError::InvalidSequenceNumber(sequence_number.to_string());
        let last = self.largest_permitted.ok_or_else(invalid)?;
        if compare_sequence_numbers(sequence_number, last) == Ordering::Greater {
            return Err(invalid());
        }
        let same_shard = match (
            SequenceNumber::parse(sequence_number),
            SequenceNumber::parse(last),
        ) {
            (Some(a), Some(b)) => a.shard_ordinal == b.shard_ordinal,
            _ => false,
        };
        if !same_shard {
            return Err(invalid());
        }
        if let Some(lease) = self.table.get(self.shard_id)
            && let Checkpoint::SequenceNumber(current) = &lease.checkpoint
            && compare_sequence_numbers(sequence_number, current) == Ordering::Less
        {
            return Err(invalid());
        }
        self.write(
            Checkpoint::SequenceNumber(sequence_number.to_string()),
            None,
        )
    }

    fn write(
        &mut self,
        checkpoint: Checkpoint,
        children: Option<Vec<String>>,
    ) -> Result<(), CheckpointError> {
        match self.table.checkpoint(
            self.shard_id,
            *self.counter,
            self.worker_id,
            checkpoint.clone(),
            children,
        ) {
            Ok(counter) => {
                *self.counter = counter;
                self.written.push(checkpoint);
                Ok(())
            }
            Err(LeaseError::ConditionFailed | LeaseError::NotFound) => {
                Err(CheckpointError::LeaseLost)
            }
        }
    }
}
