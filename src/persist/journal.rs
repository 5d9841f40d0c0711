//! The journal: every input a world took, in order, so deterministic replay rebuilds the exact state from a
//! snapshot. Entries are JSON (commands are internally tagged enums) inside a checksummed frame.

use super::frame::{self, FrameError};
use super::share::ShareGap;
use crate::firehose::http_endpoint::Transport;
use crate::scenarios::ScenarioInput;
use crate::sim::SimTime;
use crate::workload::lambda::{EsmConfig, FunctionResult};
use crate::world::TransformOutcome;
use crate::{Command, World};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Marker of a journal entry.
pub const JOURNAL_MAGIC: [u8; 4] = *b"KJNL";
/// Newest journal entry format.
pub const JOURNAL_VERSION: u16 = 1;
/// Largest journal entry read back (an API body is at most a few MB; PutRecords caps at 5 MB).
pub const JOURNAL_ENTRY_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// The `X-Amz-Target` prefix of Kinesis Data Streams calls.
pub const KINESIS_TARGET_PREFIX: &str = "Kinesis_20131202.";

/// One input to a [`World`], with the simulated time it came in at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Input {
    /// [`World::apply`].
    Command {
        /// Simulated milliseconds.
        now_ms: u64,
        /// The command.
        command: Command,
    },
    /// An AWS API call: `target` as in `X-Amz-Target` (`Kinesis_20131202.PutRecord`) and the JSON body.
    Api {
        /// Simulated milliseconds.
        now_ms: u64,
        /// Service prefix and operation.
        target: String,
        /// JSON body.
        body: String,
    },
    /// [`World::advance_to_bounded`]: moves time to `to_ms`, firing at most `firings_max` timers.
    Advance {
        /// Simulated milliseconds.
        to_ms: u64,
        /// Firing budget.
        firings_max: u32,
    },
    /// [`World::poll_http_request`]: a Firehose HTTP endpoint request was handed to the shell.
    HttpPoll {
        /// Simulated milliseconds (the world's time then).
        now_ms: u64,
    },
    /// [`World::complete_http_request`]: how the shell's request went.
    HttpComplete {
        /// Simulated milliseconds.
        now_ms: u64,
        /// The request id.
        request_id: String,
        /// The response or transport failure.
        outcome: Transport,
    },
    /// [`World::poll_firehose_transform`].
    TransformPoll {
        /// Simulated milliseconds (the world's time then).
        now_ms: u64,
    },
    /// [`World::complete_firehose_transform`].
    TransformComplete {
        /// Simulated milliseconds.
        now_ms: u64,
        /// The delivery stream.
        delivery_stream: String,
        /// The invocation.
        invocation_id: String,
        /// How it ended.
        outcome: TransformOutcome,
    },
    /// [`World::kinesis_subscription_events`].
    SubscriptionPoll {
        /// Simulated milliseconds.
        now_ms: u64,
        /// The subscription.
        subscription: u64,
    },
    /// [`World::create_event_source_mapping`].
    EsmCreate {
        /// Simulated milliseconds.
        now_ms: u64,
        /// The mapping's configuration.
        config: EsmConfig,
    },
    /// [`World::delete_event_source_mapping`].
    EsmDelete {
        /// Simulated milliseconds.
        now_ms: u64,
        /// The mapping's UUID.
        uuid: String,
    },
    /// [`World::poll_invocation`]: a Lambda invocation was handed to the shell.
    InvocationPoll {
        /// Simulated milliseconds (the world's time then).
        now_ms: u64,
    },
    /// [`World::complete_invocation`].
    InvocationComplete {
        /// Simulated milliseconds.
        now_ms: u64,
        /// The mapping's UUID.
        uuid: String,
        /// The invocation's id within the mapping.
        id: u64,
        /// How it ended.
        result: JournaledResult,
    },
    /// S3 CreateBucket (the `kinesim serve` S3 endpoint): the bucket, created at `now_ms`.
    S3CreateBucket {
        /// Simulated milliseconds.
        now_ms: u64,
        /// The bucket name.
        bucket: String,
    },
    /// An input kept for sharing the run ([`super::share`]); the world is not changed by it.
    ShareInput {
        /// The input as a share file holds it.
        input: ScenarioInput,
    },
    /// The run's share inputs stopped being kept ([`super::share`]); the world is not changed by it.
    ShareStopped {
        /// Why.
        gap: ShareGap,
    },
}

/// A [`FunctionResult`] as the journal stores it (the response as JSON text).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum JournaledResult {
    /// [`FunctionResult::Success`].
    Success {
        /// The response, as JSON text.
        response_json: Option<String>,
    },
    /// [`FunctionResult::Error`].
    Error {
        /// The error message.
        message: String,
    },
    /// [`FunctionResult::Timeout`].
    Timeout,
}

impl From<&FunctionResult> for JournaledResult {
    fn from(result: &FunctionResult) -> Self {
        match result {
            FunctionResult::Success(response) => JournaledResult::Success {
                response_json: response.as_ref().map(ToString::to_string),
            },
            FunctionResult::Error(message) => JournaledResult::Error {
                message: message.clone(),
            },
            FunctionResult::Timeout => JournaledResult::Timeout,
        }
    }
}

impl JournaledResult {
    /// The result it stands for (a response that is no longer JSON reads as none).
    pub fn to_result(&self) -> FunctionResult {
        match self {
            JournaledResult::Success { response_json } => FunctionResult::Success(
                response_json
                    .as_deref()
                    .and_then(|text| serde_json::from_str(text).ok()),
            ),
            JournaledResult::Error { message } => FunctionResult::Error(message.clone()),
            JournaledResult::Timeout => FunctionResult::Timeout,
        }
    }
}

/// An input and its position in the session's journal (consecutive from 0).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Position, from 0, without gaps.
    pub seq: u64,
    /// What the world took.
    pub input: Input,
}

/// Why a journal could not be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayError {
    /// An entry's bytes are damaged or foreign.
    Damaged {
        /// The entry's key.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// Entries are missing between two that are there.
    Gap {
        /// The position expected next.
        expected_seq: u64,
        /// The position found.
        found_seq: u64,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Damaged { seq, reason } => write!(f, "journal entry {seq}: {reason}"),
            ReplayError::Gap {
                expected_seq,
                found_seq,
            } => write!(f, "journal entries {expected_seq}..{found_seq} are missing"),
        }
    }
}

impl std::error::Error for ReplayError {}

impl JournalEntry {
    /// The stored form: JSON in a checksummed frame, or why the entry cannot be written (an input serde_json
    /// refuses: never stored as an empty entry, which would fail the whole session's reload).
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        let json = serde_json::to_vec(self)
            .map_err(|e| format!("cannot journal input {}: {e}", self.seq))?;
        Ok(frame::encode(JOURNAL_MAGIC, JOURNAL_VERSION, &json))
    }

    /// Reads an entry stored under `seq`, checking its frame and that it names the same position.
    pub fn decode(seq: u64, bytes: &[u8]) -> Result<JournalEntry, ReplayError> {
        let damaged = |reason: String| ReplayError::Damaged { seq, reason };
        let (_, payload) = frame::decode(
            JOURNAL_MAGIC,
            JOURNAL_VERSION,
            JOURNAL_ENTRY_BYTES_MAX,
            bytes,
        )
        .map_err(|e: FrameError| damaged(e.to_string()))?;
        let entry: JournalEntry =
            serde_json::from_slice(payload).map_err(|e| damaged(e.to_string()))?;
        if entry.seq != seq {
            return Err(damaged(format!("it says it is entry {}", entry.seq)));
        }
        Ok(entry)
    }
}

/// Applies one input to `world` exactly as the shell first did.
pub fn apply_input(world: &mut World, input: &Input) {
    match input {
        Input::Command { now_ms, command } => {
            // A refused command is part of the run (the refusal is in the event log); replay refuses it again.
            let _ = world.apply(SimTime::from_millis(*now_ms), command.clone());
        }
        Input::Api {
            now_ms,
            target,
            body,
        } => {
            world.call(SimTime::from_millis(*now_ms), target, body);
        }
        Input::Advance { to_ms, firings_max } => {
            world.advance_to_bounded(SimTime::from_millis(*to_ms), *firings_max);
        }
        Input::HttpPoll { .. } => {
            let _ = world.poll_http_request();
        }
        Input::HttpComplete {
            now_ms,
            request_id,
            outcome,
        } => {
            let _ = world.complete_http_request(SimTime::from_millis(*now_ms), request_id, outcome);
        }
        Input::TransformPoll { .. } => {
            let _ = world.poll_firehose_transform();
        }
        Input::TransformComplete {
            now_ms,
            delivery_stream,
            invocation_id,
            outcome,
        } => {
            let _ = world.complete_firehose_transform(
                SimTime::from_millis(*now_ms),
                delivery_stream,
                invocation_id,
                outcome,
            );
        }
        Input::SubscriptionPoll {
            now_ms,
            subscription,
        } => {
            let _ = world.kinesis_subscription_events(SimTime::from_millis(*now_ms), *subscription);
        }
        Input::EsmCreate { now_ms, config } => {
            let _ =
                world.create_event_source_mapping(SimTime::from_millis(*now_ms), config.clone());
        }
        Input::EsmDelete { now_ms, uuid } => {
            let _ = world.delete_event_source_mapping(SimTime::from_millis(*now_ms), uuid);
        }
        Input::InvocationPoll { .. } => {
            let _ = world.poll_invocation();
        }
        Input::InvocationComplete {
            now_ms,
            uuid,
            id,
            result,
        } => {
            let _ = world.complete_invocation(
                SimTime::from_millis(*now_ms),
                uuid,
                *id,
                result.to_result(),
            );
        }
        Input::S3CreateBucket { now_ms, bucket } => {
            // A refused name is part of the run too; replay refuses it again.
            let _ = world
                .firehose_service_mut()
                .s3_mut()
                .create_bucket(SimTime::from_millis(*now_ms), bucket);
        }
        // Kept for sharing the run: [`crate::persist::Journaled::restore`] reads them back.
        Input::ShareInput { .. } | Input::ShareStopped { .. } => {}
    }
}

/// Re-applies `entries` in order; their positions must be consecutive from `first_seq`. Returns the position
/// after the last.
pub fn replay<'a>(
    world: &mut World,
    first_seq: u64,
    entries: impl IntoIterator<Item = &'a JournalEntry>,
) -> Result<u64, ReplayError> {
    let mut expected_seq = first_seq;
    for entry in entries {
        if entry.seq != expected_seq {
            return Err(ReplayError::Gap {
                expected_seq,
                found_seq: entry.seq,
            });
        }
        apply_input(world, &entry.input);
        expected_seq += 1;
    }
    Ok(expected_seq)
}
