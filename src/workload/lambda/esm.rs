//! The event-source mapping as a state machine on simulated time.
//!
//! Per shard the mapping reads records with GetRecords and deals them to `ParallelizationFactor` lanes by the hash
//! of their partition key, so one key always lands in the same lane and keeps its order. Each lane has at most one
//! batch at the function at a time; a failed batch blocks only its lane until it succeeds or is discarded. A closed
//! shard is read to its end and every lane drained before its children start.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::config::{EsmConfig, INVOCATION_PAYLOAD_BYTES_MAX, LambdaError, StartingPosition};
use super::event::{
    BatchItemFailures, EVENT_ENVELOPE_BYTES, EXECUTED_VERSION, EventContext,
    FAILURE_RECORD_VERSION, FailureCondition, FailureRecord, FailureRequestContext,
    FailureResponseContext, KinesisBatchInfo, StreamRecord, derived_uuid, event_json,
    read_batch_item_failures, record_entry_json,
};
use crate::sim::time::MILLIS_PER_HOUR;
use crate::sim::{DisplayEpoch, SimDuration, SimTime};
use crate::streams::error::ErrorType;
use crate::streams::hash_key::partition_key_hash;
use crate::streams::service::{
    DataStreams, GET_RECORDS_LIMIT_MAX, IteratorRequest, IteratorType, ListShardsFrom, ShardFilter,
};

/// How often a shard with nothing new is polled, in ms (Lambda: "Lambda polls each shard in your Kinesis stream
/// for records at a base rate of once per second").
pub const POLL_INTERVAL_MS: u64 = 1_000;
/// How soon a shard with more records waiting is polled again, in ms (Lambda "keeps processing batches until the
/// function catches up"; the simulator spaces such reads 200 ms apart, the five GetRecords calls per second a
/// shard allows).
pub const POLL_BACKLOG_INTERVAL_MS: u64 = 200;
/// How soon a failed read (throttled, stream not ready) is tried again, in ms (simulator choice: the base rate).
pub const READ_RETRY_DELAY_MS: u64 = 1_000;
/// How often the mapping looks up the stream's retention period again, in ms (simulator choice).
pub const RETENTION_REFRESH_MS: u64 = 60_000;
/// Most records per ListShards page the mapping asks for (Kinesis ListShards `MaxResults`: up to 1,000).
pub const LIST_SHARDS_PAGE_MAX: u32 = 1_000;
/// HTTP status of an Invoke call that reached the function, failed or not (Lambda Invoke: 200).
pub const INVOKE_STATUS_CODE: u16 = 200;
/// `responseContext.functionError` for a function that raised an error or timed out (Lambda Invoke
/// `X-Amz-Function-Error: Unhandled`).
pub const FUNCTION_ERROR_UNHANDLED: &str = "Unhandled";

/// One call of the function the mapping wants made: the shell runs it and reports the result with
/// [`EventSourceMapping::complete`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invocation {
    /// The id to complete it with.
    pub id: u64,
    /// The shard its records come from.
    pub shard_id: String,
    /// The lane (0..ParallelizationFactor) of the shard.
    pub lane: u32,
    /// The event, as JSON text in Lambda's Kinesis format.
    pub event: String,
    /// Sequence number of the first record.
    pub first_sequence_number: String,
    /// Sequence number of the last record.
    pub last_sequence_number: String,
    /// Records in the event.
    pub record_count: u32,
    /// How many times these records (or a batch that held them) were sent before, plus one.
    pub attempt: u32,
}

impl Invocation {
    /// The event as a JSON value (what a Rust closure receives).
    pub fn event_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.event).unwrap_or(serde_json::Value::Null)
    }
}

/// How an invocation ended.
#[derive(Clone, Debug, PartialEq)]
pub enum FunctionResult {
    /// The function returned, optionally with a response (read for `batchItemFailures` when
    /// `ReportBatchItemFailures` is on).
    Success(Option<serde_json::Value>),
    /// The function raised an error (`Unhandled`), with its message.
    Error(String),
    /// The function ran past its timeout (also `Unhandled`).
    Timeout,
}

/// Counters of a mapping, as the console and CloudWatch show them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EsmStats {
    /// Invocations started.
    pub invocations: u64,
    /// Invocations that failed as a whole: function errors, timeouts and malformed item-failure answers.
    pub errors: u64,
    /// Of `errors`, timeouts.
    pub timeouts: u64,
    /// Invocations answered with item failures (partial successes).
    pub partial_failures: u64,
    /// Batches sent again after a failure (counts against `MaximumRetryAttempts`).
    pub retries: u64,
    /// Failed batches split in two (`BisectBatchOnFunctionError`; does not count against the quota).
    pub bisections: u64,
    /// Records the function processed successfully.
    pub records_succeeded: u64,
    /// Records given up on (retries exhausted or too old).
    pub records_discarded: u64,
    /// Of `records_discarded`, records described in documents sent to the on-failure destination.
    pub records_sent_to_destination: u64,
    /// Documents sent to the on-failure destination.
    pub destination_documents: u64,
}

/// Where a shard is in its life, as the mapping sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardPhase {
    /// Waiting for its parents to be finished.
    Waiting,
    /// Being read.
    Reading,
    /// Read to its end (closed); its last batches are being processed.
    Draining,
    /// Every record processed or discarded.
    Finished,
}

/// One shard in the read-only view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EsmShardView {
    /// Shard id.
    pub shard_id: String,
    /// Phase.
    pub phase: ShardPhase,
    /// `IteratorAge` of the shard's last finished batch, in ms.
    pub iterator_age_ms: u64,
    /// Records read but not yet in a batch.
    pub buffered_records: u64,
    /// Batches at the function now.
    pub in_flight: u32,
}

/// A read-only view of a mapping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EsmView {
    /// `UUID`.
    pub uuid: String,
    /// `FunctionArn`.
    pub function_arn: String,
    /// `EventSourceArn`.
    pub event_source_arn: String,
    /// `LastProcessingResult` (`No records processed`, `OK`, `PROBLEM: Function call failed`, ...).
    pub last_processing_result: String,
    /// Lambda's `IteratorAge` metric: how old the last record of the latest finished batch was when it finished,
    /// in ms, the largest over the shards still being processed.
    pub iterator_age_ms: u64,
    /// Counters.
    pub stats: EsmStats,
    /// Batches at the function now.
    pub in_flight: u32,
    /// The last error the mapping met reading the stream, if any.
    pub last_read_error: Option<String>,
    /// Every shard the mapping knows, in id order.
    pub shards: Vec<EsmShardView>,
}

/// Where reading a shard continues.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum ReadFrom {
    TrimHorizon,
    Latest,
    AtTimestamp(u64),
    After(String),
}

/// A batch a lane is working on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Batch {
    records: Vec<StreamRecord>,
    /// Retries spent (against `MaximumRetryAttempts`).
    retries: u32,
    /// Invocations that carried these records.
    invoke_count: u32,
    /// The invocation at the function now.
    in_flight: Option<u64>,
    /// How the last invocation ended (for the on-failure record).
    last_response: Option<FailureResponseContext>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Lane {
    /// Records read and not yet in a batch, in shard order.
    pending: VecDeque<StreamRecord>,
    /// When the lane began gathering its next batch (for the batching window).
    gathering_since: Option<SimTime>,
    /// Batches to process in order; the front one is at the function or next to go.
    work: VecDeque<Batch>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ShardState {
    parents: Vec<String>,
    phase: ShardPhase,
    read_from: ReadFrom,
    iterator: Option<String>,
    next_read_at: SimTime,
    lanes: Vec<Lane>,
    iterator_age_ms: u64,
}

impl ShardState {
    fn new(parents: Vec<String>, read_from: ReadFrom, lanes: u32, now: SimTime) -> Self {
        ShardState {
            parents,
            phase: ShardPhase::Waiting,
            read_from,
            iterator: None,
            next_read_at: now,
            lanes: (0..lanes).map(|_| Lane::default()).collect(),
            iterator_age_ms: 0,
        }
    }

    fn buffered(&self) -> u64 {
        self.lanes.iter().map(|l| l.pending.len() as u64).sum()
    }

    fn in_flight(&self) -> u32 {
        let n = self
            .lanes
            .iter()
            .filter(|l| l.work.front().is_some_and(|b| b.in_flight.is_some()))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn is_drained(&self) -> bool {
        self.lanes
            .iter()
            .all(|l| l.pending.is_empty() && l.work.is_empty())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct InFlight {
    shard_id: String,
    lane: u32,
}

/// A Lambda event-source mapping from a Kinesis stream to a function that lives outside the core.
///
/// Drive it like a sans-IO protocol: call [`handle_timeout`](Self::handle_timeout) when
/// [`poll_timeout`](Self::poll_timeout) says, take invocations with [`poll_invocation`](Self::poll_invocation),
/// run them, and report each result with [`complete`](Self::complete).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventSourceMapping {
    config: EsmConfig,
    uuid: String,
    stream_name: String,
    epoch: DisplayEpoch,
    listed: bool,
    next_list_at: SimTime,
    shards: BTreeMap<String, ShardState>,
    in_flight: BTreeMap<u64, InFlight>,
    outbox: VecDeque<Invocation>,
    next_invocation_id: u64,
    destination: Vec<FailureRecord>,
    stats: EsmStats,
    last_processing_result: String,
    last_read_error: Option<String>,
    /// The stream's retention in ms as last seen: records this old are gone from the stream, so a batch holding
    /// them stops being retried even when retries and record age are infinite.
    retention_ms: Option<u64>,
    retention_checked_at: Option<SimTime>,
}

impl EventSourceMapping {
    /// CreateEventSourceMapping: checks the configuration as Lambda does. `epoch` maps simulated time to the
    /// calendar for timestamps (use the one the stream service was made with). The mapping starts reading at the
    /// first [`handle_timeout`](Self::handle_timeout).
    pub fn new(config: EsmConfig, epoch: DisplayEpoch) -> Result<Self, LambdaError> {
        config.validate()?;
        let stream_name = config.stream_name()?;
        let uuid = derived_uuid(&[&config.function_name, &config.event_source_arn]);
        Ok(EventSourceMapping {
            config,
            uuid,
            stream_name,
            epoch,
            listed: false,
            next_list_at: SimTime::ZERO,
            shards: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            outbox: VecDeque::new(),
            next_invocation_id: 0,
            destination: Vec::new(),
            stats: EsmStats::default(),
            last_processing_result: String::from("No records processed"),
            last_read_error: None,
            retention_ms: None,
            retention_checked_at: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EsmConfig {
        &self.config
    }

    /// The mapping's `UUID`.
    pub fn uuid(&self) -> &str {
        &self.uuid
    }

    /// The documents the on-failure destination received, oldest first.
    pub fn destination_records(&self) -> &[FailureRecord] {
        &self.destination
    }

    /// The next time the mapping wants [`handle_timeout`](Self::handle_timeout) called, if any.
    pub fn poll_timeout(&self) -> Option<SimTime> {
        let mut next = (!self.listed).then_some(self.next_list_at);
        let window =
            SimDuration::from_secs(u64::from(self.config.maximum_batching_window_in_seconds));
        let room_total = self.buffer_room_records();
        for shard in self.shards.values() {
            if shard.phase == ShardPhase::Reading && shard.buffered() < room_total {
                next = Some(next.map_or(shard.next_read_at, |n| n.min(shard.next_read_at)));
            }
            if matches!(shard.phase, ShardPhase::Reading | ShardPhase::Draining) {
                for lane in &shard.lanes {
                    if lane.work.is_empty()
                        && !lane.pending.is_empty()
                        && let Some(since) = lane.gathering_since
                    {
                        let due = since.saturating_add(window);
                        next = Some(next.map_or(due, |n| n.min(due)));
                    }
                }
            }
        }
        next
    }

    /// Does what is due at `now`: lists the stream's shards (the first time), reads shards whose poll is due,
    /// and forms and emits the batches that are ready.
    pub fn handle_timeout(&mut self, now: SimTime, streams: &mut DataStreams) {
        let refresh = SimDuration::from_millis(RETENTION_REFRESH_MS);
        if self
            .retention_checked_at
            .is_none_or(|at| now >= at.saturating_add(refresh))
            && let Ok(view) = streams.describe(now, &self.stream_name)
        {
            self.retention_ms =
                Some(u64::from(view.retention_hours).saturating_mul(MILLIS_PER_HOUR));
            self.retention_checked_at = Some(now);
        }
        if !self.listed && now >= self.next_list_at {
            self.list_shards(now, streams);
        }
        let ids: Vec<String> = self.shards.keys().cloned().collect();
        for id in ids {
            self.read_shard(now, streams, &id);
        }
        self.dispatch(now);
        self.advance_shards(now);
    }

    /// The next invocation to run, in the order the mapping made them.
    pub fn poll_invocation(&mut self) -> Option<Invocation> {
        self.outbox.pop_front()
    }

    /// Reports how invocation `id` ended, at `now`. Successful records are checkpointed; a failed batch is
    /// retried (or bisected, or discarded to the on-failure destination) as the configuration says.
    pub fn complete(
        &mut self,
        now: SimTime,
        id: u64,
        result: FunctionResult,
    ) -> Result<(), LambdaError> {
        let not_in_flight = || LambdaError::not_found(format!("Invocation {id} is not in flight."));
        let at = self.in_flight.remove(&id).ok_or_else(not_in_flight)?;
        let reports = self.config.reports_batch_item_failures();
        let bisect = self.config.bisect_batch_on_function_error;
        let quota = self.config.retry_quota();
        let mut discarded: Vec<(Batch, FailureCondition)> = Vec::new();
        {
            let shard = self
                .shards
                .get_mut(&at.shard_id)
                .ok_or_else(not_in_flight)?;
            let lane = usize::try_from(at.lane)
                .ok()
                .and_then(|l| shard.lanes.get_mut(l))
                .ok_or_else(not_in_flight)?;
            let Some(batch) = lane.work.front_mut().filter(|b| b.in_flight == Some(id)) else {
                return Err(not_in_flight());
            };
            batch.in_flight = None;
            if let Some(last) = batch.records.last() {
                shard.iterator_age_ms = now.saturating_since(last.arrival).as_millis();
            }
            let function_error = || FailureResponseContext {
                status_code: INVOKE_STATUS_CODE,
                executed_version: EXECUTED_VERSION.to_string(),
                function_error: Some(FUNCTION_ERROR_UNHANDLED.to_string()),
            };
            let answered = FailureResponseContext {
                status_code: INVOKE_STATUS_CODE,
                executed_version: EXECUTED_VERSION.to_string(),
                function_error: None,
            };
            // (records that succeeded, whether the rest failed by a function error, the response)
            let (succeeded, unhandled, response) = match &result {
                FunctionResult::Success(response) => {
                    let items = if reports {
                        read_batch_item_failures(response.as_ref(), &batch.records)
                    } else {
                        BatchItemFailures::None
                    };
                    match items {
                        BatchItemFailures::None => (batch.records.len(), false, answered),
                        BatchItemFailures::RetryFrom(k) => {
                            self.stats.partial_failures += 1;
                            (k, false, answered)
                        }
                        BatchItemFailures::Invalid => {
                            self.stats.errors += 1;
                            (0, false, answered)
                        }
                    }
                }
                FunctionResult::Error(_) => {
                    self.stats.errors += 1;
                    (0, true, function_error())
                }
                FunctionResult::Timeout => {
                    self.stats.errors += 1;
                    self.stats.timeouts += 1;
                    (0, true, function_error())
                }
            };
            self.stats.records_succeeded += succeeded as u64;
            batch.records.drain(..succeeded.min(batch.records.len()));
            if batch.records.is_empty() {
                lane.work.pop_front();
                self.last_processing_result = String::from("OK");
            } else {
                // A partial success is a successful call; only a failed call is a problem.
                self.last_processing_result = String::from(if unhandled || succeeded == 0 {
                    "PROBLEM: Function call failed"
                } else {
                    "OK"
                });
                batch.last_response = Some(response);
                if bisect && unhandled && batch.records.len() > 1 {
                    // Splitting a batch does not count towards the retry quota.
                    let half = batch.records.len() / 2;
                    let upper = Batch {
                        records: batch.records.split_off(half),
                        retries: batch.retries,
                        invoke_count: batch.invoke_count,
                        in_flight: None,
                        last_response: batch.last_response.clone(),
                    };
                    lane.work.insert(1, upper);
                    self.stats.bisections += 1;
                } else if quota.is_some_and(|q| batch.retries >= q) {
                    if let Some(batch) = lane.work.pop_front() {
                        discarded.push((batch, FailureCondition::RetryAttemptsExhausted));
                    }
                } else {
                    batch.retries = batch.retries.saturating_add(1);
                    self.stats.retries += 1;
                }
            }
        }
        for (batch, condition) in discarded {
            self.discard(now, &at.shard_id, &batch, condition);
        }
        self.dispatch(now);
        self.advance_shards(now);
        Ok(())
    }

    /// A read-only view for the UI and tests.
    pub fn view(&self) -> EsmView {
        let shards: Vec<EsmShardView> = self
            .shards
            .iter()
            .map(|(id, s)| EsmShardView {
                shard_id: id.clone(),
                phase: s.phase,
                iterator_age_ms: s.iterator_age_ms,
                buffered_records: s.buffered(),
                in_flight: s.in_flight(),
            })
            .collect();
        let iterator_age_ms = shards
            .iter()
            .filter(|s| s.phase != ShardPhase::Finished)
            .map(|s| s.iterator_age_ms)
            .max()
            .unwrap_or(0);
        EsmView {
            uuid: self.uuid.clone(),
            function_arn: self.config.function_arn(),
            event_source_arn: self.config.event_source_arn.clone(),
            last_processing_result: self.last_processing_result.clone(),
            iterator_age_ms,
            stats: self.stats.clone(),
            in_flight: u32::try_from(self.in_flight.len()).unwrap_or(u32::MAX),
            last_read_error: self.last_read_error.clone(),
            shards,
        }
    }

    /// Records a shard may hold read but not yet in a batch: one full batch per lane, read ahead while the
    /// lanes' current batches are at the function.
    fn buffer_room_records(&self) -> u64 {
        u64::from(self.config.batch_size) * u64::from(self.config.parallelization_factor)
    }

    fn list_shards(&mut self, now: SimTime, streams: &mut DataStreams) {
        let filter = match (
            self.config.starting_position,
            self.config.starting_position_timestamp_unix_ms,
        ) {
            (StartingPosition::TrimHorizon, _) => ShardFilter::FromTrimHorizon,
            (StartingPosition::Latest, _) => ShardFilter::AtLatest,
            (StartingPosition::AtTimestamp, t) => ShardFilter::FromTimestamp(t.unwrap_or(0)),
        };
        let mut views = Vec::new();
        let mut page = streams.list_shards(
            now,
            ListShardsFrom::Stream {
                name: &self.stream_name,
                exclusive_start_shard_id: None,
            },
            LIST_SHARDS_PAGE_MAX,
            Some(filter),
        );
        loop {
            match page {
                Ok(p) => {
                    views.extend(p.shards);
                    match p.next_token {
                        Some(token) => {
                            page = streams.list_shards(
                                now,
                                ListShardsFrom::Token(&token),
                                LIST_SHARDS_PAGE_MAX,
                                None,
                            );
                        }
                        None => break,
                    }
                }
                Err(e) => {
                    self.last_read_error = Some(e.to_string());
                    self.next_list_at =
                        now.saturating_add(SimDuration::from_millis(READ_RETRY_DELAY_MS));
                    return;
                }
            }
        }
        if views.is_empty() {
            // Nothing to read yet (a stream always has a shard once ACTIVE): look again later.
            self.next_list_at = now.saturating_add(SimDuration::from_millis(READ_RETRY_DELAY_MS));
            return;
        }
        let listed: Vec<String> = views.iter().map(|v| v.shard_id.clone()).collect();
        let start = match self.config.starting_position {
            StartingPosition::TrimHorizon => ReadFrom::TrimHorizon,
            StartingPosition::Latest => ReadFrom::Latest,
            StartingPosition::AtTimestamp => {
                ReadFrom::AtTimestamp(self.config.starting_position_timestamp_unix_ms.unwrap_or(0))
            }
        };
        for v in views {
            let parents: Vec<String> = [v.parent_shard_id, v.adjacent_parent_shard_id]
                .into_iter()
                .flatten()
                .collect();
            if self.shards.contains_key(&v.shard_id) {
                continue;
            }
            // A child of a shard the mapping also reads starts at its beginning, after its parents.
            let tracked = |p: &String| listed.contains(p) || self.shards.contains_key(p);
            let read_from = if parents.iter().any(tracked) {
                ReadFrom::TrimHorizon
            } else {
                start.clone()
            };
            let state =
                ShardState::new(parents, read_from, self.config.parallelization_factor, now);
            self.shards.insert(v.shard_id, state);
        }
        self.listed = true;
        self.advance_shards(now);
    }

    fn read_shard(&mut self, now: SimTime, streams: &mut DataStreams, id: &str) {
        let room_total = self.buffer_room_records();
        let factor = u128::from(self.config.parallelization_factor.max(1));
        let ctx_arn = self.config.event_source_arn.clone();
        let role = self.config.execution_role_arn.clone();
        let epoch = self.epoch;
        let stream_name = self.stream_name.clone();
        let Some(shard) = self.shards.get_mut(id) else {
            return;
        };
        if shard.phase != ShardPhase::Reading || now < shard.next_read_at {
            return;
        }
        let buffered = shard.buffered();
        if buffered >= room_total {
            return;
        }
        let iterator = match shard.iterator.take() {
            Some(it) => it,
            None => {
                let (iterator_type, seq, ts) = match &shard.read_from {
                    ReadFrom::TrimHorizon => (IteratorType::TrimHorizon, None, None),
                    ReadFrom::Latest => (IteratorType::Latest, None, None),
                    ReadFrom::AtTimestamp(t) => (IteratorType::AtTimestamp, None, Some(*t)),
                    ReadFrom::After(s) => {
                        (IteratorType::AfterSequenceNumber, Some(s.as_str()), None)
                    }
                };
                let request = IteratorRequest {
                    shard_id: id,
                    iterator_type,
                    starting_sequence_number: seq,
                    timestamp_unix_ms: ts,
                };
                match streams.get_shard_iterator(now, &stream_name, request) {
                    Ok(it) => it,
                    Err(e) => {
                        if e.error_type == ErrorType::ResourceNotFoundException
                            && streams.describe(now, &stream_name).is_ok()
                        {
                            // The stream is there but the shard is not: a closed shard past retention.
                            // Nothing more can be read from it; list the shards again to find its children.
                            shard.phase = ShardPhase::Draining;
                            self.listed = false;
                            self.next_list_at = now;
                        }
                        shard.next_read_at =
                            now.saturating_add(SimDuration::from_millis(READ_RETRY_DELAY_MS));
                        self.last_read_error = Some(e.to_string());
                        return;
                    }
                }
            }
        };
        let limit_records = (room_total - buffered).min(u64::from(GET_RECORDS_LIMIT_MAX));
        let limit = u32::try_from(limit_records).unwrap_or(GET_RECORDS_LIMIT_MAX);
        match streams.get_records(now, &iterator, limit) {
            Ok(result) => {
                let full = result.records.len() as u64 >= limit_records;
                let ctx = EventContext {
                    shard_id: id,
                    event_source_arn: &ctx_arn,
                    invoke_identity_arn: &role,
                    epoch,
                };
                for (seq, record) in result.records {
                    let lane_index = partition_key_hash(&record.partition_key) % factor;
                    let lane_index = usize::try_from(lane_index).unwrap_or(0);
                    let event_bytes = record_entry_json(
                        &ctx,
                        &seq,
                        &record.partition_key,
                        &record.data,
                        record.arrival,
                    )
                    .len() as u64;
                    shard.read_from = ReadFrom::After(seq.clone());
                    if let Some(lane) = shard.lanes.get_mut(lane_index) {
                        if lane.pending.is_empty() && lane.gathering_since.is_none() {
                            lane.gathering_since = Some(now);
                        }
                        lane.pending.push_back(StreamRecord {
                            sequence_number: seq,
                            index: record.index,
                            partition_key: record.partition_key,
                            data: record.data,
                            arrival: record.arrival,
                            event_bytes,
                        });
                    }
                }
                match result.next_shard_iterator {
                    Some(next) => {
                        shard.iterator = Some(next);
                        let backlog = full || result.millis_behind_latest > 0;
                        let wait = if backlog {
                            POLL_BACKLOG_INTERVAL_MS
                        } else {
                            POLL_INTERVAL_MS
                        };
                        shard.next_read_at = now.saturating_add(SimDuration::from_millis(wait));
                    }
                    None => {
                        shard.iterator = None;
                        shard.phase = ShardPhase::Draining;
                        for child in result.child_shards {
                            if !self.shards.contains_key(&child.shard_id) {
                                let state = ShardState::new(
                                    child.parent_shards,
                                    ReadFrom::TrimHorizon,
                                    self.config.parallelization_factor,
                                    now,
                                );
                                self.shards.insert(child.shard_id, state);
                            }
                        }
                    }
                }
            }
            Err(e) => {
                if e.error_type == ErrorType::ExpiredIteratorException {
                    // Made again from the last record read, at once.
                    shard.next_read_at = now;
                } else {
                    shard.iterator = Some(iterator);
                    shard.next_read_at =
                        now.saturating_add(SimDuration::from_millis(READ_RETRY_DELAY_MS));
                }
                self.last_read_error = Some(e.to_string());
            }
        }
    }

    /// Forms and emits every batch that is ready, lane by lane.
    fn dispatch(&mut self, now: SimTime) {
        let window =
            SimDuration::from_secs(u64::from(self.config.maximum_batching_window_in_seconds));
        let batch_size = usize::try_from(self.config.batch_size).unwrap_or(usize::MAX);
        let age_max_ms = self.config.record_age_max_ms();
        let retention_ms = self.retention_ms;
        // Too old for the mapping (older than MaximumRecordAgeInSeconds) or gone from the stream (retention).
        let expired = |arrival: SimTime| {
            let age = now.saturating_since(arrival).as_millis();
            age_max_ms.is_some_and(|max| age > max) || retention_ms.is_some_and(|r| age >= r)
        };
        let ids: Vec<String> = self.shards.keys().cloned().collect();
        for id in ids {
            let lanes = self.shards.get(&id).map_or(0, |s| s.lanes.len());
            for lane_index in 0..lanes {
                loop {
                    let mut aged: Option<Batch> = None;
                    let mut emit: Option<(Vec<StreamRecord>, u32)> = None;
                    {
                        let Some(shard) = self.shards.get_mut(&id) else {
                            break;
                        };
                        let draining = shard.phase == ShardPhase::Draining;
                        if !matches!(shard.phase, ShardPhase::Reading | ShardPhase::Draining) {
                            break;
                        }
                        let Some(lane) = shard.lanes.get_mut(lane_index) else {
                            break;
                        };
                        if lane.work.front().is_some_and(|b| b.in_flight.is_some()) {
                            break;
                        }
                        if lane.work.is_empty() {
                            if lane.pending.is_empty() {
                                lane.gathering_since = None;
                                break;
                            }
                            let pending_bytes: u64 = EVENT_ENVELOPE_BYTES
                                + lane.pending.iter().map(|r| r.event_bytes + 1).sum::<u64>();
                            let window_over = lane
                                .gathering_since
                                .is_none_or(|since| now >= since.saturating_add(window));
                            let ready = draining
                                || window.is_zero()
                                || window_over
                                || lane.pending.len() >= batch_size
                                || pending_bytes > INVOCATION_PAYLOAD_BYTES_MAX;
                            if !ready {
                                break;
                            }
                            let batch = take_batch(&mut lane.pending, batch_size);
                            lane.gathering_since = (!lane.pending.is_empty()).then_some(now);
                            lane.work.push_back(Batch {
                                records: batch,
                                retries: 0,
                                invoke_count: 0,
                                in_flight: None,
                                last_response: None,
                            });
                        }
                        let Some(front) = lane.work.front_mut() else {
                            break;
                        };
                        {
                            let old = front
                                .records
                                .iter()
                                .take_while(|r| expired(r.arrival))
                                .count();
                            if old > 0 {
                                let records: Vec<StreamRecord> =
                                    front.records.drain(..old).collect();
                                aged = Some(Batch {
                                    records,
                                    retries: front.retries,
                                    invoke_count: front.invoke_count,
                                    in_flight: None,
                                    last_response: front.last_response.clone(),
                                });
                            }
                        }
                        if front.records.is_empty() {
                            lane.work.pop_front();
                        } else {
                            let invocation_id = self.next_invocation_id;
                            front.in_flight = Some(invocation_id);
                            front.invoke_count = front.invoke_count.saturating_add(1);
                            emit = Some((front.records.clone(), front.invoke_count));
                        }
                    }
                    if let Some(batch) = aged {
                        self.discard(now, &id, &batch, FailureCondition::RecordAgeExceeded);
                    }
                    if let Some((records, attempt)) = emit {
                        self.emit(&id, lane_index, &records, attempt);
                        break;
                    }
                }
            }
        }
    }

    fn emit(&mut self, shard_id: &str, lane_index: usize, records: &[StreamRecord], attempt: u32) {
        let id = self.next_invocation_id;
        self.next_invocation_id += 1;
        let ctx = EventContext {
            shard_id,
            event_source_arn: &self.config.event_source_arn,
            invoke_identity_arn: &self.config.execution_role_arn,
            epoch: self.epoch,
        };
        let event = event_json(&ctx, records);
        let lane = u32::try_from(lane_index).unwrap_or(u32::MAX);
        self.in_flight.insert(
            id,
            InFlight {
                shard_id: shard_id.to_string(),
                lane,
            },
        );
        self.stats.invocations += 1;
        self.outbox.push_back(Invocation {
            id,
            shard_id: shard_id.to_string(),
            lane,
            event,
            first_sequence_number: records
                .first()
                .map(|r| r.sequence_number.clone())
                .unwrap_or_default(),
            last_sequence_number: records
                .last()
                .map(|r| r.sequence_number.clone())
                .unwrap_or_default(),
            record_count: u32::try_from(records.len()).unwrap_or(u32::MAX),
            attempt,
        });
    }

    /// Gives up on a batch: counts it and, with an on-failure destination, sends Lambda's document about it.
    fn discard(
        &mut self,
        now: SimTime,
        shard_id: &str,
        batch: &Batch,
        condition: FailureCondition,
    ) {
        let (Some(first), Some(last)) = (batch.records.first(), batch.records.last()) else {
            return;
        };
        let count = batch.records.len() as u64;
        self.stats.records_discarded += count;
        if self.config.on_failure.is_none() {
            return;
        }
        let invoke_count = batch.invoke_count.to_string();
        let document = FailureRecord {
            request_context: FailureRequestContext {
                request_id: derived_uuid(&[
                    &self.uuid,
                    shard_id,
                    &first.sequence_number,
                    &invoke_count,
                ]),
                function_arn: self.config.function_arn(),
                condition,
                approximate_invoke_count: batch.invoke_count,
            },
            response_context: batch.last_response.clone(),
            version: FAILURE_RECORD_VERSION.to_string(),
            timestamp: self.epoch.iso8601_at(now),
            kinesis_batch_info: KinesisBatchInfo {
                shard_id: shard_id.to_string(),
                start_sequence_number: first.sequence_number.clone(),
                end_sequence_number: last.sequence_number.clone(),
                approximate_arrival_of_first_record: self.epoch.iso8601_at(first.arrival),
                approximate_arrival_of_last_record: self.epoch.iso8601_at(last.arrival),
                batch_size: u32::try_from(count).unwrap_or(u32::MAX),
                stream_arn: self.config.event_source_arn.clone(),
            },
        };
        self.destination.push(document);
        self.stats.records_sent_to_destination += count;
        self.stats.destination_documents += 1;
    }

    /// Finishes drained closed shards and starts shards whose parents are all finished.
    fn advance_shards(&mut self, now: SimTime) {
        loop {
            let mut changed = false;
            for shard in self.shards.values_mut() {
                if shard.phase == ShardPhase::Draining && shard.is_drained() {
                    shard.phase = ShardPhase::Finished;
                    changed = true;
                }
            }
            let waiting: Vec<String> = self
                .shards
                .iter()
                .filter(|(_, s)| s.phase == ShardPhase::Waiting)
                .map(|(id, _)| id.clone())
                .collect();
            for id in waiting {
                let ready = self.shards.get(&id).is_some_and(|s| {
                    s.parents.iter().all(|p| {
                        self.shards
                            .get(p)
                            .is_none_or(|parent| parent.phase == ShardPhase::Finished)
                    })
                });
                if ready && let Some(shard) = self.shards.get_mut(&id) {
                    shard.phase = ShardPhase::Reading;
                    shard.next_read_at = now;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }
}

/// Takes the next batch from a lane: up to `batch_size` records whose event stays within the payload limit (always
/// at least one record: a single record is smaller than the limit).
fn take_batch(pending: &mut VecDeque<StreamRecord>, batch_size: usize) -> Vec<StreamRecord> {
    let mut bytes = EVENT_ENVELOPE_BYTES;
    let mut batch = Vec::new();
    while let Some(next) = pending.front() {
        let add = next.event_bytes + u64::from(!batch.is_empty());
        if batch.len() >= batch_size
            || (!batch.is_empty() && bytes + add > INVOCATION_PAYLOAD_BYTES_MAX)
        {
            break;
        }
        bytes += add;
        if let Some(record) = pending.pop_front() {
            batch.push(record);
        }
    }
    batch
}
