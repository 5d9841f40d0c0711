//! A polling consumer actor: GetShardIterator once per shard, then GetRecords on every shard each poll interval,
//! on simulated time. It follows resharding (a finished parent hands over to its children, read from their start),
//! keeps its lag (MillisBehindLatest) and iterator age, a checkpoint (last sequence number) per shard and the most
//! recent records it read, and can be replayed from another starting point.
#![deny(clippy::float_arithmetic)]

use crate::sim::{SimDuration, SimTime};
use crate::streams::service::{IteratorRequest, IteratorType};
use crate::streams::{DataStreams, ErrorType};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Shortest poll interval, in milliseconds (AWS allows 5 GetRecords calls a second per shard).
pub const CONSUMER_POLL_INTERVAL_MS_MIN: u64 = 200;
/// Longest poll interval, in milliseconds.
pub const CONSUMER_POLL_INTERVAL_MS_MAX: u64 = 60_000;
/// Records one GetRecords call asks for.
pub const CONSUMER_GET_RECORDS_LIMIT: u32 = 1_000;
/// How many of the most recent records a consumer keeps to show.
pub const CONSUMER_RECENT_RECORDS_MAX: usize = 50;
/// Longest data preview kept per recent record, in bytes.
pub const CONSUMER_PREVIEW_BYTES_MAX: usize = 160;

/// Where a consumer starts reading (the iterator type of GetShardIterator).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum StartPosition {
    /// The oldest record kept.
    TrimHorizon,
    /// Only records written from now on.
    Latest,
    /// The first record that arrived at or after this simulated time.
    AtTimestamp {
        /// Simulated milliseconds.
        at_ms: u64,
    },
    /// At this sequence number of this shard.
    AtSequenceNumber {
        /// The shard.
        shard_id: String,
        /// The sequence number.
        sequence_number: String,
    },
    /// Right after this sequence number of this shard.
    AfterSequenceNumber {
        /// The shard.
        shard_id: String,
        /// The sequence number.
        sequence_number: String,
    },
}

impl StartPosition {
    /// The GetShardIterator type name.
    pub fn iterator_type_name(&self) -> &'static str {
        match self {
            StartPosition::TrimHorizon => "TRIM_HORIZON",
            StartPosition::Latest => "LATEST",
            StartPosition::AtTimestamp { .. } => "AT_TIMESTAMP",
            StartPosition::AtSequenceNumber { .. } => "AT_SEQUENCE_NUMBER",
            StartPosition::AfterSequenceNumber { .. } => "AFTER_SEQUENCE_NUMBER",
        }
    }
}

/// One record as the consumer saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadRecord {
    /// Its shard.
    pub shard_id: String,
    /// Its sequence number.
    pub sequence_number: String,
    /// Its partition key.
    pub partition_key: String,
    /// The start of its data (at most [`CONSUMER_PREVIEW_BYTES_MAX`] bytes).
    pub preview: Vec<u8>,
    /// When it arrived in the stream.
    pub arrival: SimTime,
    /// When the consumer read it.
    pub read_at: SimTime,
}

/// One shard the consumer reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Its iterator, `None` once the shard is read to its end.
    pub iterator: Option<String>,
    /// The last sequence number read (the checkpoint).
    pub checkpoint: Option<String>,
    /// MillisBehindLatest of the last GetRecords.
    pub millis_behind_latest: u64,
    /// Records read from it.
    pub records: u64,
}

/// What a consumer has done so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerStats {
    /// Records read.
    pub records: u64,
    /// Bytes read.
    pub bytes: u64,
    /// GetRecords calls made.
    pub calls: u64,
    /// GetRecords calls throttled.
    pub throttled: u64,
    /// The last error message.
    pub last_error: Option<String>,
    /// Age of the oldest record of the last poll (GetRecords.IteratorAgeMilliseconds), in ms.
    pub iterator_age_ms: u64,
}

/// A polling consumer of one stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollingConsumer {
    /// The stream it reads.
    pub stream: String,
    /// Where it started (or was last replayed from).
    pub start: StartPosition,
    /// Time between polls, in ms.
    pub poll_interval_ms: u64,
    /// Its shards, by id.
    pub cursors: BTreeMap<String, Cursor>,
    /// What happened so far.
    pub stats: ConsumerStats,
    /// The most recent records read, oldest first.
    pub recent: VecDeque<ReadRecord>,
    /// Shards already begun (so a merged child is read once).
    begun: BTreeSet<String>,
}

impl PollingConsumer {
    /// A consumer of `stream` polling every `poll_interval_ms`; checks the interval.
    pub fn new(
        stream: String,
        start: StartPosition,
        poll_interval_ms: u64,
    ) -> Result<Self, String> {
        if !(CONSUMER_POLL_INTERVAL_MS_MIN..=CONSUMER_POLL_INTERVAL_MS_MAX)
            .contains(&poll_interval_ms)
        {
            return Err(format!(
                "The poll interval must be {CONSUMER_POLL_INTERVAL_MS_MIN} to {CONSUMER_POLL_INTERVAL_MS_MAX} ms; \
                 it is {poll_interval_ms}."
            ));
        }
        Ok(PollingConsumer {
            stream,
            start,
            poll_interval_ms,
            cursors: BTreeMap::new(),
            stats: ConsumerStats::default(),
            recent: VecDeque::new(),
            begun: BTreeSet::new(),
        })
    }

    /// When it polls next after polling at `now`.
    pub fn next_due(&self, now: SimTime) -> SimTime {
        now.saturating_add(SimDuration::from_millis(self.poll_interval_ms))
    }

    /// The largest MillisBehindLatest over its shards.
    pub fn millis_behind_latest(&self) -> u64 {
        self.cursors
            .values()
            .map(|c| c.millis_behind_latest)
            .max()
            .unwrap_or(0)
    }

    /// Starts (again) from `start`: forgets every iterator and takes new ones. Errors come back as AWS's messages.
    pub fn begin(
        &mut self,
        streams: &mut DataStreams,
        now: SimTime,
        epoch_unix_ms: u64,
        start: StartPosition,
    ) -> Result<(), String> {
        let (shards, _) = streams
            .describe_shards(now, &self.stream, 10_000, None)
            .map_err(|e| e.message)?;
        let kept: BTreeSet<&str> = shards.iter().map(|s| s.shard_id.as_str()).collect();
        let chosen: Vec<String> = match &start {
            StartPosition::Latest => {
                let open: BTreeSet<String> = streams
                    .open_ranges(&self.stream)
                    .into_iter()
                    .filter_map(|r| {
                        shards
                            .iter()
                            .find(|s| s.hash_key_range == r && s.ending_sequence_number.is_none())
                            .map(|s| s.shard_id.clone())
                    })
                    .collect();
                open.into_iter().collect()
            }
            StartPosition::TrimHorizon | StartPosition::AtTimestamp { .. } => shards
                .iter()
                .filter(|s| {
                    let parent_kept =
                        |p: &Option<String>| p.as_deref().is_some_and(|p| kept.contains(p));
                    !parent_kept(&s.parent_shard_id) && !parent_kept(&s.adjacent_parent_shard_id)
                })
                .map(|s| s.shard_id.clone())
                .collect(),
            StartPosition::AtSequenceNumber { shard_id, .. }
            | StartPosition::AfterSequenceNumber { shard_id, .. } => vec![shard_id.clone()],
        };
        let mut cursors = BTreeMap::new();
        for shard_id in &chosen {
            let (iterator_type, seq, ts) = match &start {
                StartPosition::TrimHorizon => (IteratorType::TrimHorizon, None, None),
                StartPosition::Latest => (IteratorType::Latest, None, None),
                StartPosition::AtTimestamp { at_ms } => (
                    IteratorType::AtTimestamp,
                    None,
                    Some(epoch_unix_ms.saturating_add(*at_ms)),
                ),
                StartPosition::AtSequenceNumber {
                    sequence_number, ..
                } => (
                    IteratorType::AtSequenceNumber,
                    Some(sequence_number.as_str()),
                    None,
                ),
                StartPosition::AfterSequenceNumber {
                    sequence_number, ..
                } => (
                    IteratorType::AfterSequenceNumber,
                    Some(sequence_number.as_str()),
                    None,
                ),
            };
            let iterator = streams
                .get_shard_iterator(
                    now,
                    &self.stream,
                    IteratorRequest {
                        shard_id,
                        iterator_type,
                        starting_sequence_number: seq,
                        timestamp_unix_ms: ts,
                    },
                )
                .map_err(|e| format!("{}: {}", e.error_type.as_str(), e.message))?;
            cursors.insert(
                shard_id.clone(),
                Cursor {
                    iterator: Some(iterator),
                    checkpoint: None,
                    millis_behind_latest: 0,
                    records: 0,
                },
            );
        }
        self.begun = cursors.keys().cloned().collect();
        self.cursors = cursors;
        self.start = start;
        self.recent.clear();
        Ok(())
    }

    /// Polls every shard once at `now`.
    pub fn tick(&mut self, streams: &mut DataStreams, now: SimTime) {
        let ids: Vec<String> = self.cursors.keys().cloned().collect();
        let mut oldest_age = 0u64;
        let mut children = Vec::new();
        for id in ids {
            let Some(cursor) = self.cursors.get_mut(&id) else {
                continue;
            };
            let Some(iterator) = cursor.iterator.clone() else {
                continue;
            };
            self.stats.calls += 1;
            match streams.get_records_batch(now, &iterator, CONSUMER_GET_RECORDS_LIMIT) {
                Ok(batch) => {
                    let records = batch.records();
                    if let Some((_, first)) = records.clone().next() {
                        oldest_age =
                            oldest_age.max(now.saturating_since(first.arrival).as_millis());
                    }
                    let read = records.len();
                    self.stats.records += read as u64;
                    cursor.records += read as u64;
                    self.stats.bytes += records
                        .clone()
                        .map(|(_, r)| (r.data.len() + r.partition_key.len()) as u64)
                        .sum::<u64>();
                    if let Some((seq, _)) = records.clone().next_back() {
                        cursor.checkpoint = Some(seq.to_string());
                    }
                    // Only the last CONSUMER_RECENT_RECORDS_MAX can stay in `recent`: the others are not copied.
                    let kept = records.skip(read.saturating_sub(CONSUMER_RECENT_RECORDS_MAX));
                    for (seq, record) in kept {
                        if self.recent.len() >= CONSUMER_RECENT_RECORDS_MAX {
                            self.recent.pop_front();
                        }
                        let preview_bytes = record.data.len().min(CONSUMER_PREVIEW_BYTES_MAX);
                        self.recent.push_back(ReadRecord {
                            shard_id: id.clone(),
                            sequence_number: seq.to_string(),
                            partition_key: record.partition_key.clone(),
                            preview: record.data[..preview_bytes].to_vec(),
                            arrival: record.arrival,
                            read_at: now,
                        });
                    }
                    cursor.iterator = batch.next_shard_iterator;
                    cursor.millis_behind_latest = batch.millis_behind_latest;
                    children.extend(batch.child_shards.into_iter().map(|c| c.shard_id));
                }
                Err(e) => {
                    if e.error_type == ErrorType::ProvisionedThroughputExceededException {
                        self.stats.throttled += 1;
                    } else if e.error_type == ErrorType::ExpiredIteratorException {
                        cursor.iterator = None;
                    }
                    self.stats.last_error =
                        Some(format!("{}: {}", e.error_type.as_str(), e.message));
                }
            }
        }
        self.stats.iterator_age_ms = oldest_age;
        for child in children {
            if !self.begun.insert(child.clone()) {
                continue;
            }
            let iterator = streams.get_shard_iterator(
                now,
                &self.stream,
                IteratorRequest {
                    shard_id: &child,
                    iterator_type: IteratorType::TrimHorizon,
                    starting_sequence_number: None,
                    timestamp_unix_ms: None,
                },
            );
            match iterator {
                Ok(iterator) => {
                    self.cursors.insert(
                        child,
                        Cursor {
                            iterator: Some(iterator),
                            checkpoint: None,
                            millis_behind_latest: 0,
                            records: 0,
                        },
                    );
                }
                Err(e) => self.stats.last_error = Some(e.message),
            }
        }
    }
}
