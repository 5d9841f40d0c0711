//! A KPL-style producer for one stream, on simulated time.
//!
//! It follows the Kinesis Producer Library's pipeline (`aws/kinesis/core` in awslabs/amazon-kinesis-producer):
//! - **Shard map** (`shard_map.cc`): ListShards with `ShardFilter` AT_LATEST, 1,000 shards a page; while it is not
//!   ready, records are sent one per Kinesis record. A failed refresh is retried after 1 s, growing by half each
//!   time up to 30 s. It is invalidated (and refreshed) when a record lands on a shard other than the predicted one.
//! - **Aggregation** (`aggregator.h`, `reducer.h`, `kinesis_record.cc`): user records are grouped by the shard
//!   their hash key maps to, one aggregated record per predicted shard, up to `AggregationMaxSize` bytes and
//!   `AggregationMaxCount` records. An aggregated record is put with partition key `"a"` and, as explicit hash key,
//!   the hash key of its first user record, so it lands on the predicted shard. A container holding one user
//!   record is sent as that plain record.
//! - **Collection** (`collector.h`): Kinesis records are gathered into PutRecords calls of at most
//!   `CollectionMaxCount` entries and `CollectionMaxSize` bytes, most urgent first.
//! - **Deadlines**: every user record must be sent within `RecordMaxBufferedTime` of being added; a container or
//!   a collection is sent when its earliest member's deadline passes, when it is full, or on [`KplProducer::flush`].
//! - **Retries** (`retrier.cc`): a failed entry (throttled, InternalFailure) or a failed call is retried until the
//!   user record is `RecordTtl` old; then it fails with `Expired`. A record that landed on an unexpected shard whose
//!   hash-key range does not hold it is retried with `Wrong Shard` (it *was* written, so a reader sees it twice);
//!   if the range holds it, it succeeds. The KPL itself re-buffers a failed record for `RecordMaxBufferedTime / 2`
//!   and leans on its per-shard rate limiter (`RateLimit`); this actor has no rate limiter and instead first
//!   waits out an exponential back-off with jitter ([`RETRY_BACKOFF_MS_MIN`]..[`RETRY_BACKOFF_MS_MAX`]), then
//!   re-buffers the record for `RecordMaxBufferedTime / 2` as the KPL does, never past its expiration.
//!
//! The actor is driven like quinn-proto: [`KplProducer::add_user_record`] and [`KplProducer::flush`] take input,
//! [`KplProducer::poll_timeout`] says when it next needs to run, [`KplProducer::handle_timeout`] does whatever is due
//! against the [`DataStreams`] service, and [`KplProducer::poll_outcome`] yields each user record's result once.
//! PutRecords and ListShards answer at once on simulated time (no network latency).

use crate::sim::{SimDuration, SimRng, SimTime};
use crate::streams::aggregation::{Aggregator, JavaInteger, parse_java_integer};
use crate::streams::error::ErrorType;
use crate::streams::hash_key::{HashKeyRange, partition_key_hash};
use crate::streams::service::{
    DataStreams, ListShardsFrom, PutEntry, RECORD_BYTES_MAX, ShardFilter, parse_shard_id, shard_id,
};
use crate::streams::{KinesisError, aggregation};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Most Kinesis records in one PutRecords call the KPL makes by default (KPL `CollectionMaxCount` default 500).
pub const COLLECTION_MAX_COUNT_DEFAULT: u32 = 500;
/// Most bytes in one PutRecords call the KPL makes by default (KPL `CollectionMaxSize` default 5,242,880).
pub const COLLECTION_MAX_SIZE_BYTES_DEFAULT: u64 = 5_242_880;
/// How long a user record may wait in buffers before it is sent, by default (KPL `RecordMaxBufferedTime` default
/// 100 ms).
pub const RECORD_MAX_BUFFERED_TIME_MS_DEFAULT: u64 = 100;
/// How long the KPL keeps trying to put a user record before failing it as `Expired`, by default (KPL `RecordTtl`
/// default 30,000 ms).
pub const RECORD_TTL_MS_DEFAULT: u64 = 30_000;
/// Largest user-record data the KPL accepts (KPL Java `addUserRecord`: 1024 * 1024 bytes).
pub const USER_RECORD_DATA_BYTES_MAX: u64 = 1_048_576;
/// Longest partition key the KPL accepts, in UTF-16 code units (KPL Java `addUserRecord` checks
/// `partitionKey.length()`, which counts UTF-16 units, against 256).
pub const PARTITION_KEY_LENGTH_MAX_UTF16_UNITS: u32 = 256;
/// First wait before a failed shard-map refresh is retried (KPL `ShardMap::kMinBackoff`, 1,000 ms).
pub const SHARD_MAP_BACKOFF_MS_MIN: u64 = 1_000;
/// Longest wait between shard-map refresh attempts (KPL `ShardMap::kMaxBackoff`, 30,000 ms); each failure grows
/// the wait by half.
pub const SHARD_MAP_BACKOFF_MS_MAX: u64 = 30_000;
/// ListShards page size the KPL asks for (KPL `shard_map.cc`: `SetMaxResults(1000)`).
pub const LIST_SHARDS_PAGE_SHARDS_MAX: u32 = 1_000;
/// Shortest retry back-off for a failed user record, in ms: the KPL's own retry wait, `RecordMaxBufferedTime / 2`
/// at the default 100 ms (KPL `retrier.cc`). Doubles per failed attempt (kinesim's choice, see the module docs).
pub const RETRY_BACKOFF_MS_MIN: u64 = 50;
/// Longest retry back-off for a failed user record, in ms (kinesim's choice; the KPL has no exponential back-off).
pub const RETRY_BACKOFF_MS_MAX: u64 = 5_000;
/// Partition key of every aggregated record (KPL `KinesisRecord::partition_key`: the explicit hash key routes it,
/// so one byte is enough).
pub const AGGREGATED_PARTITION_KEY: &str = "a";
/// Error code of a user record that reached its `RecordTtl` (KPL `retrier.cc`).
pub const EXPIRED_ERROR_CODE: &str = "Expired";
/// Error code of an attempt that landed on a shard whose range does not hold the user record (KPL `retrier.cc`).
pub const WRONG_SHARD_ERROR_CODE: &str = "Wrong Shard";
/// Most rounds of work one [`KplProducer::handle_timeout`] does before returning (a guard, never reached in
/// practice: every round sends a PutRecords call or changes the shard map).
const ROUNDS_PER_TIMEOUT_MAX: u32 = 100_000;

/// The producer's settings, named as in `KinesisProducerConfiguration`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KplConfig {
    /// Whether user records are aggregated (KPL `AggregationEnabled`, default true).
    pub aggregation_enabled: bool,
    /// Most user records in one aggregated record.
    pub aggregation_max_count: u64,
    /// Largest aggregated record, in bytes.
    pub aggregation_max_size_bytes: u64,
    /// Most Kinesis records in one PutRecords call.
    pub collection_max_count: u32,
    /// Most bytes in one PutRecords call.
    pub collection_max_size_bytes: u64,
    /// How long a user record may wait in buffers, in ms.
    pub record_max_buffered_time_ms: u64,
    /// How long a user record is retried before it fails, in ms.
    pub record_ttl_ms: u64,
    /// Fail a throttled user record at once instead of retrying it (KPL `FailIfThrottled`, default false).
    pub fail_if_throttled: bool,
    /// First retry back-off, in ms.
    pub retry_backoff_ms_min: u64,
    /// Longest retry back-off, in ms.
    pub retry_backoff_ms_max: u64,
}

impl Default for KplConfig {
    fn default() -> Self {
        KplConfig {
            aggregation_enabled: true,
            aggregation_max_count: aggregation::AGGREGATION_MAX_COUNT_DEFAULT,
            aggregation_max_size_bytes: aggregation::AGGREGATION_MAX_SIZE_BYTES_DEFAULT,
            collection_max_count: COLLECTION_MAX_COUNT_DEFAULT,
            collection_max_size_bytes: COLLECTION_MAX_SIZE_BYTES_DEFAULT,
            record_max_buffered_time_ms: RECORD_MAX_BUFFERED_TIME_MS_DEFAULT,
            record_ttl_ms: RECORD_TTL_MS_DEFAULT,
            fail_if_throttled: false,
            retry_backoff_ms_min: RETRY_BACKOFF_MS_MIN,
            retry_backoff_ms_max: RETRY_BACKOFF_MS_MAX,
        }
    }
}

/// Why [`KplProducer::add_user_record`] refused a user record (the KPL throws `IllegalArgumentException`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KplInputError {
    /// What was wrong.
    pub kind: KplInputErrorKind,
    /// The KPL's message.
    pub message: String,
}

/// The kinds of bad input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KplInputErrorKind {
    /// Partition key empty or longer than 256 UTF-16 units.
    PartitionKey,
    /// Explicit hash key not an integer, or outside [0, 2^128 - 1].
    ExplicitHashKey,
    /// Data over 1 MiB.
    DataTooLarge,
    /// Data plus partition key over Kinesis's 1 MiB record limit (Kinesis's rule, checked here so a record that
    /// can never be put is refused at once instead of failing after its whole TTL).
    RecordTooLarge,
}

impl std::fmt::Display for KplInputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for KplInputError {}

/// A user record that was put.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The id [`KplProducer::add_user_record`] returned.
    pub id: u64,
    /// The shard that holds it.
    pub shard_id: String,
    /// Sequence number of the Kinesis record that carries it.
    pub sequence_number: String,
    /// Its position in that Kinesis record as the KCL numbers it (0 for a plain record).
    pub sub_sequence_number: u64,
    /// Whether it went inside an aggregated record.
    pub aggregated: bool,
    /// PutRecords attempts it took, the successful one included.
    pub attempts: u32,
    /// When it was put.
    pub at: SimTime,
}

/// A user record the producer gave up on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The id [`KplProducer::add_user_record`] returned.
    pub id: u64,
    /// The final error code: `Expired`, or the service's code when `fail_if_throttled` stopped it.
    pub error_code: String,
    /// The final error message.
    pub error_message: String,
    /// The error code of its last PutRecords attempt (e.g. `ProvisionedThroughputExceededException`).
    pub last_attempt_error_code: String,
    /// The error message of its last PutRecords attempt.
    pub last_attempt_error_message: String,
    /// PutRecords attempts it took.
    pub attempts: u32,
    /// When it failed.
    pub at: SimTime,
}

/// The result of one user record, given exactly once by [`KplProducer::poll_outcome`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// It is in the stream.
    Delivered(Delivery),
    /// It failed.
    Failed(Failure),
}

impl Outcome {
    /// The user record's id.
    pub fn id(&self) -> u64 {
        match self {
            Outcome::Delivered(d) => d.id,
            Outcome::Failed(f) => f.id,
        }
    }
}

/// Running totals for a UI.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KplCounters {
    /// User records accepted by `add_user_record`.
    pub user_records_added: u64,
    /// User records put.
    pub user_records_delivered: u64,
    /// User records failed.
    pub user_records_failed: u64,
    /// Data plus partition-key bytes of the user records added (before aggregation).
    pub user_record_bytes: u64,
    /// Kinesis records sent in PutRecords calls, retries included.
    pub kinesis_records_sent: u64,
    /// Kinesis records the service accepted.
    pub kinesis_records_put: u64,
    /// Of those, aggregated records (more than one user record).
    pub aggregated_records_put: u64,
    /// Data plus partition-key bytes of the Kinesis records accepted (after aggregation).
    pub kinesis_record_bytes_put: u64,
    /// PutRecords calls made.
    pub put_records_calls: u64,
    /// PutRecords calls refused as a whole.
    pub put_records_calls_failed: u64,
    /// Entries refused with `ProvisionedThroughputExceededException`.
    pub throttled_entries: u64,
    /// Entries refused otherwise (e.g. `InternalFailure`).
    pub failed_entries: u64,
    /// User-record retries scheduled.
    pub retries: u64,
    /// Of those, retries because the record landed on a shard that does not hold its hash key.
    pub wrong_shard_retries: u64,
    /// Successful shard-map refreshes.
    pub shard_map_refreshes: u64,
    /// Failed shard-map refreshes.
    pub shard_map_refresh_failures: u64,
}

/// A user record not finished yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Pending {
    partition_key: String,
    /// As the KPL forwards it: `BigInteger.toString(10)` of what the user gave.
    explicit_hash_key: Option<String>,
    hash_key: u128,
    data: Vec<u8>,
    arrival: SimTime,
    attempts: u32,
    last_error: Option<(String, String)>,
}

/// User records aggregated for one predicted shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Container {
    aggregator: Aggregator,
    ids: Vec<u64>,
    deadline: SimTime,
}

/// A Kinesis record waiting in the collector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct KinesisRecord {
    ids: Vec<u64>,
    data: Vec<u8>,
    partition_key: String,
    explicit_hash_key: u128,
    predicted_shard: Option<u32>,
    deadline: SimTime,
}

impl KinesisRecord {
    fn size_bytes(&self) -> u64 {
        self.data.len() as u64 + self.partition_key.len() as u64
    }
}

/// The producer's picture of the stream's open shards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ShardMap {
    ready: bool,
    updated_at: Option<SimTime>,
    /// When the next refresh is due (while not ready).
    update_due: Option<SimTime>,
    backoff_ms: u64,
    /// (ending hash key, shard ordinal) of the open shards, sorted.
    ends: Vec<(u128, u32)>,
    open: BTreeSet<u32>,
    /// Hash-key ranges of every shard seen (KPL `shard_id_to_shard_hashkey_cache_`).
    ranges: BTreeMap<u32, HashKeyRange>,
}

impl ShardMap {
    fn new() -> Self {
        ShardMap {
            ready: false,
            updated_at: None,
            update_due: Some(SimTime::ZERO),
            backoff_ms: SHARD_MAP_BACKOFF_MS_MIN,
            ends: Vec::new(),
            open: BTreeSet::new(),
            ranges: BTreeMap::new(),
        }
    }

    fn shard_for(&self, hash_key: u128) -> Option<u32> {
        if !self.ready {
            return None;
        }
        let at = self.ends.partition_point(|&(end, _)| end < hash_key);
        self.ends.get(at).map(|&(_, ordinal)| ordinal)
    }

    /// KPL `ShardMap::invalidate`: refresh only on evidence newer than the last refresh, and only while the
    /// predicted shard is still believed open.
    fn invalidate(&mut self, seen_at: SimTime, predicted: u32) {
        let newer = self.updated_at.is_none_or(|u| seen_at > u);
        if self.ready && newer && self.open.contains(&predicted) {
            self.ready = false;
            self.update_due = Some(seen_at);
        }
    }
}

/// A KPL-style producer for one stream.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KplProducer {
    stream: String,
    config: KplConfig,
    rng: SimRng,
    next_id: u64,
    pending: BTreeMap<u64, Pending>,
    shard_map: ShardMap,
    containers: BTreeMap<u32, Container>,
    collector: Vec<KinesisRecord>,
    /// Data plus partition-key bytes in the collector.
    collector_bytes: u64,
    /// Set when the collector holds a full PutRecords call's worth.
    collector_full_at: Option<SimTime>,
    /// (due, id) of user records waiting out their retry back-off.
    retry_queue: BTreeSet<(SimTime, u64)>,
    /// Set by `flush`: send everything buffered.
    flush_at: Option<SimTime>,
    outcomes: VecDeque<Outcome>,
    counters: KplCounters,
    last_shard_map_error: Option<(String, String)>,
}

impl KplProducer {
    /// A producer for `stream`. `rng` draws the retry jitter (fork it from the world's seed). The shard map is
    /// fetched on the first [`KplProducer::handle_timeout`]; [`KplProducer::poll_timeout`] asks for it at once.
    pub fn new(stream: &str, config: KplConfig, rng: SimRng) -> Self {
        KplProducer {
            stream: stream.to_string(),
            config,
            rng,
            next_id: 0,
            pending: BTreeMap::new(),
            shard_map: ShardMap::new(),
            containers: BTreeMap::new(),
            collector: Vec::new(),
            collector_bytes: 0,
            collector_full_at: None,
            retry_queue: BTreeSet::new(),
            flush_at: None,
            outcomes: VecDeque::new(),
            counters: KplCounters::default(),
            last_shard_map_error: None,
        }
    }

    /// The stream it writes to.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Its settings.
    pub fn config(&self) -> &KplConfig {
        &self.config
    }

    /// Running totals.
    pub fn counters(&self) -> &KplCounters {
        &self.counters
    }

    /// User records added but not finished (KPL `getOutstandingRecordsCount`).
    pub fn outstanding(&self) -> u64 {
        self.pending.len() as u64
    }

    /// Whether the shard map is ready (records are aggregated only then).
    pub fn shard_map_ready(&self) -> bool {
        self.shard_map.ready
    }

    /// The error of the last failed shard-map refresh, if the last refresh failed.
    pub fn last_shard_map_error(&self) -> Option<(&str, &str)> {
        self.last_shard_map_error
            .as_ref()
            .map(|(c, m)| (c.as_str(), m.as_str()))
    }

    /// Adds a user record (KPL `addUserRecord`) and returns its id. Refused as the KPL refuses it: a partition key
    /// of 0 or more than 256 UTF-16 units, an explicit hash key that is not an integer in [0, 2^128 - 1] (it is
    /// trimmed first), data over 1 MiB; and, as Kinesis would refuse it, data plus partition key over 1 MiB.
    pub fn add_user_record(
        &mut self,
        now: SimTime,
        partition_key: &str,
        data: &[u8],
        explicit_hash_key: Option<&str>,
    ) -> Result<u64, KplInputError> {
        let units = partition_key.encode_utf16().count();
        if units < 1 || units > PARTITION_KEY_LENGTH_MAX_UTF16_UNITS as usize {
            return Err(KplInputError {
                kind: KplInputErrorKind::PartitionKey,
                message: format!(
                    "Invalid parition key. Length must be at least 1 and at most 256, got {units}"
                ),
            });
        }
        let (explicit_hash_key, hash_key) = match explicit_hash_key {
            None => (None, partition_key_hash(partition_key)),
            Some(text) => {
                let text = text.trim_matches(|c: char| c <= ' ');
                match parse_java_integer(text) {
                    JavaInteger::HashKey(h) => (Some(h.to_string()), h),
                    JavaInteger::NotInteger => {
                        return Err(KplInputError {
                            kind: KplInputErrorKind::ExplicitHashKey,
                            message: format!(
                                "Invalid explicitHashKey, must be an integer, got {text}"
                            ),
                        });
                    }
                    JavaInteger::Negative | JavaInteger::TooLarge => {
                        return Err(KplInputError {
                            kind: KplInputErrorKind::ExplicitHashKey,
                            message: format!(
                                "Invalid explicitHashKey, must be greater or equal to zero and less than or equal \
                                 to (2^128 - 1), got {text}"
                            ),
                        });
                    }
                }
            }
        };
        let data_len = data.len() as u64;
        if data_len > USER_RECORD_DATA_BYTES_MAX {
            return Err(KplInputError {
                kind: KplInputErrorKind::DataTooLarge,
                message: format!(
                    "Data must be less than or equal to 1MB in size, got {data_len} bytes"
                ),
            });
        }
        let record_bytes = data_len + partition_key.len() as u64;
        if record_bytes > RECORD_BYTES_MAX {
            return Err(KplInputError {
                kind: KplInputErrorKind::RecordTooLarge,
                message: format!(
                    "The record is {record_bytes} bytes, data plus partition key; a record may be at most \
                     {RECORD_BYTES_MAX} bytes."
                ),
            });
        }
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(
            id,
            Pending {
                partition_key: partition_key.to_string(),
                explicit_hash_key,
                hash_key,
                data: data.to_vec(),
                arrival: now,
                attempts: 0,
                last_error: None,
            },
        );
        self.counters.user_records_added += 1;
        self.counters.user_record_bytes += record_bytes;
        let deadline = now.saturating_add(SimDuration::from_millis(
            self.config.record_max_buffered_time_ms,
        ));
        self.enqueue(now, id, deadline);
        Ok(id)
    }

    /// Asks for everything buffered to be sent at the next [`KplProducer::handle_timeout`] (KPL `flush`). User
    /// records waiting out a retry back-off keep waiting.
    pub fn flush(&mut self, now: SimTime) {
        if !self.containers.is_empty() || !self.collector.is_empty() {
            self.flush_at = Some(self.flush_at.map_or(now, |t| t.min(now)));
        }
    }

    /// When the producer next has something to do, if ever.
    pub fn poll_timeout(&self) -> Option<SimTime> {
        let map = (!self.shard_map.ready)
            .then_some(self.shard_map.update_due)
            .flatten();
        [
            map,
            self.flush_at,
            self.collector_full_at,
            self.collector.iter().map(|k| k.deadline).min(),
            self.containers.values().map(|c| c.deadline).min(),
            self.retry_queue.first().map(|&(t, _)| t),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next finished user record, if any.
    pub fn poll_outcome(&mut self) -> Option<Outcome> {
        self.outcomes.pop_front()
    }

    /// Does whatever is due at `now`: refreshes the shard map, releases retries whose back-off is over, closes
    /// containers whose deadline passed, and sends PutRecords calls.
    pub fn handle_timeout(&mut self, now: SimTime, streams: &mut DataStreams) {
        for _ in 0..ROUNDS_PER_TIMEOUT_MAX {
            if !self.shard_map.ready && self.shard_map.update_due.is_some_and(|t| t <= now) {
                self.refresh_shard_map(now, streams);
            }
            while let Some(&(due, id)) = self.retry_queue.first() {
                if due > now {
                    break;
                }
                self.retry_queue.pop_first();
                // KPL `retry_not_expired`: back in the pipeline with half the buffer time, so retried records
                // share aggregated records and calls instead of each going out alone.
                let deadline = self.retry_deadline(now, id);
                self.enqueue(now, id, deadline);
            }
            let flushing = self.flush_at.is_some_and(|t| t <= now);
            let due: Vec<u32> = self
                .containers
                .iter()
                .filter(|(_, c)| flushing || c.deadline <= now)
                .map(|(&shard, _)| shard)
                .collect();
            for shard in due {
                self.close_container(now, shard);
            }
            let collector_due = flushing
                || self.collector_full_at.is_some_and(|t| t <= now)
                || self.collector.iter().any(|k| k.deadline <= now);
            if collector_due && !self.collector.is_empty() {
                self.send_batch(now, streams);
                continue;
            }
            if flushing {
                self.flush_at = None;
            }
            let map_due =
                !self.shard_map.ready && self.shard_map.update_due.is_some_and(|t| t <= now);
            if !map_due {
                return;
            }
        }
    }

    // ---- pipeline -----------------------------------------------------------------------------------------------

    /// Puts a user record into the pipeline with `deadline` (KPL `Aggregator::put`).
    fn enqueue(&mut self, now: SimTime, id: u64, deadline: SimTime) {
        let Some(p) = self.pending.get(&id) else {
            return;
        };
        let predicted = if self.config.aggregation_enabled {
            self.shard_map.shard_for(p.hash_key)
        } else {
            None
        };
        let Some(shard) = predicted else {
            let record = self.single(id, None, deadline);
            self.collect(now, record);
            return;
        };
        let (pk, ehk, data) = (
            p.partition_key.clone(),
            p.explicit_hash_key.clone(),
            p.data.clone(),
        );
        for _ in 0..2 {
            let (max_size, max_count) = (
                self.config.aggregation_max_size_bytes,
                self.config.aggregation_max_count,
            );
            let container = self.containers.entry(shard).or_insert_with(|| Container {
                aggregator: Aggregator::new(max_size, max_count),
                ids: Vec::new(),
                deadline,
            });
            match container.aggregator.try_add(&pk, ehk.as_deref(), &data) {
                Ok(()) => {
                    container.ids.push(id);
                    container.deadline = container.deadline.min(deadline);
                    if container.aggregator.len() >= max_count {
                        self.close_container(now, shard);
                    }
                    return;
                }
                Err(_) if container.ids.is_empty() => break,
                Err(_) => self.close_container(now, shard),
            }
        }
        // Too large to aggregate even alone: it goes by itself, still with its predicted shard.
        self.containers.remove(&shard);
        let record = self.single(id, Some(shard), deadline);
        self.collect(now, record);
    }

    /// A Kinesis record carrying one user record as it is.
    fn single(&self, id: u64, predicted_shard: Option<u32>, deadline: SimTime) -> KinesisRecord {
        let (data, partition_key, explicit_hash_key) = self
            .pending
            .get(&id)
            .map(|p| (p.data.clone(), p.partition_key.clone(), p.hash_key))
            .unwrap_or_default();
        KinesisRecord {
            ids: vec![id],
            data,
            partition_key,
            explicit_hash_key,
            predicted_shard,
            deadline,
        }
    }

    /// Turns a shard's container into a Kinesis record in the collector.
    fn close_container(&mut self, now: SimTime, shard: u32) {
        let Some(container) = self.containers.remove(&shard) else {
            return;
        };
        let Some(&first) = container.ids.first() else {
            return;
        };
        let record = if container.ids.len() == 1 {
            self.single(first, Some(shard), container.deadline)
        } else {
            KinesisRecord {
                data: container.aggregator.encode(),
                partition_key: AGGREGATED_PARTITION_KEY.to_string(),
                explicit_hash_key: self.pending.get(&first).map_or(0, |p| p.hash_key),
                predicted_shard: Some(shard),
                deadline: container.deadline,
                ids: container.ids,
            }
        };
        self.collect(now, record);
    }

    fn collect(&mut self, now: SimTime, record: KinesisRecord) {
        self.collector_bytes += record.size_bytes();
        self.collector.push(record);
        self.update_collector_full(now);
    }

    fn update_collector_full(&mut self, now: SimTime) {
        let full = self.collector.len() as u64 >= u64::from(self.config.collection_max_count)
            || self.collector_bytes >= self.config.collection_max_size_bytes;
        self.collector_full_at = if full {
            Some(self.collector_full_at.unwrap_or(now))
        } else {
            None
        };
    }

    /// Sends one PutRecords call: the most urgent Kinesis records that fit the collection limits.
    fn send_batch(&mut self, now: SimTime, streams: &mut DataStreams) {
        // Stable: equal deadlines keep their order.
        self.collector.sort_by_key(|k| k.deadline);
        let mut take = 0usize;
        let mut bytes = 0u64;
        for k in &self.collector {
            let next = bytes + k.size_bytes();
            if take > 0
                && (take as u64 >= u64::from(self.config.collection_max_count)
                    || next > self.config.collection_max_size_bytes)
            {
                break;
            }
            take += 1;
            bytes = next;
        }
        let batch: Vec<KinesisRecord> = self.collector.drain(..take).collect();
        self.collector_bytes -= bytes;
        self.update_collector_full(now);
        let entries = batch
            .iter()
            .map(|k| PutEntry {
                data: k.data.clone(),
                partition_key: k.partition_key.clone(),
                explicit_hash_key: Some(k.explicit_hash_key),
            })
            .collect();
        self.counters.put_records_calls += 1;
        self.counters.kinesis_records_sent += batch.len() as u64;
        match streams.put_records(now, &self.stream, entries) {
            Err(e) => {
                self.counters.put_records_calls_failed += 1;
                for k in &batch {
                    self.fail_or_retry_all(now, &k.ids, &e);
                }
            }
            Ok(results) => {
                for (k, result) in batch.iter().zip(results) {
                    match result {
                        Ok(put) => {
                            self.counters.kinesis_records_put += 1;
                            self.counters.kinesis_record_bytes_put += k.size_bytes();
                            if k.ids.len() > 1 {
                                self.counters.aggregated_records_put += 1;
                            }
                            self.settle(
                                now,
                                k,
                                put.shard_ordinal,
                                &put.sequence_number.to_string(),
                            );
                        }
                        Err(e) => {
                            if e.error_type == ErrorType::ProvisionedThroughputExceededException {
                                self.counters.throttled_entries += 1;
                            } else {
                                self.counters.failed_entries += 1;
                            }
                            self.fail_or_retry_all(now, &k.ids, &e);
                        }
                    }
                }
            }
        }
    }

    /// A Kinesis record was written to shard `actual` (KPL `Retrier::succeed_if_correct_shard`).
    fn settle(&mut self, now: SimTime, k: &KinesisRecord, actual: u32, sequence_number: &str) {
        let aggregated = k.ids.len() > 1;
        let actual_range = self.shard_map.ranges.get(&actual).copied();
        let mut invalidated = false;
        for (position, &id) in k.ids.iter().enumerate() {
            let Some(hash_key) = self.pending.get(&id).map(|p| p.hash_key) else {
                continue;
            };
            if let Some(predicted) = k.predicted_shard
                && predicted != actual
            {
                let fits = actual_range.is_some_and(|r| r.contains(hash_key));
                if (!fits || predicted < actual) && !invalidated {
                    self.shard_map.invalidate(now, predicted);
                    invalidated = true;
                }
                if !fits && self.config.aggregation_enabled {
                    self.counters.wrong_shard_retries += 1;
                    let message = format!("Record {id} did not end up in expected shard.");
                    self.fail_or_retry(now, id, WRONG_SHARD_ERROR_CODE, &message, false);
                    continue;
                }
            }
            let Some(p) = self.pending.remove(&id) else {
                continue;
            };
            self.counters.user_records_delivered += 1;
            self.outcomes.push_back(Outcome::Delivered(Delivery {
                id,
                shard_id: shard_id(actual),
                sequence_number: sequence_number.to_string(),
                sub_sequence_number: if aggregated { position as u64 } else { 0 },
                aggregated,
                attempts: p.attempts + 1,
                at: now,
            }));
        }
    }

    fn fail_or_retry_all(&mut self, now: SimTime, ids: &[u64], e: &KinesisError) {
        let throttled = e.error_type == ErrorType::ProvisionedThroughputExceededException;
        for &id in ids {
            self.fail_or_retry(now, id, e.error_type.as_str(), &e.message, throttled);
        }
    }

    /// KPL `Retrier::retry_not_expired` (or `fail` when throttled and `fail_if_throttled`).
    fn fail_or_retry(&mut self, now: SimTime, id: u64, code: &str, message: &str, throttled: bool) {
        let Some(p) = self.pending.get_mut(&id) else {
            return;
        };
        p.attempts += 1;
        p.last_error = Some((code.to_string(), message.to_string()));
        let expiration = p
            .arrival
            .saturating_add(SimDuration::from_millis(self.config.record_ttl_ms));
        let attempts = p.attempts;
        if throttled && self.config.fail_if_throttled {
            self.finish_failed(now, id, code, message);
        } else if now >= expiration {
            let message = format!("Record {id} has reached expiration");
            self.finish_failed(now, id, EXPIRED_ERROR_CODE, &message);
        } else {
            let delay = self.backoff_ms(attempts);
            let due = now
                .saturating_add(SimDuration::from_millis(delay))
                .min(expiration);
            self.counters.retries += 1;
            self.retry_queue.insert((due, id));
        }
    }

    /// `now + RecordMaxBufferedTime / 2`, but not past the record's expiration.
    fn retry_deadline(&self, now: SimTime, id: u64) -> SimTime {
        let half = SimDuration::from_millis(self.config.record_max_buffered_time_ms / 2);
        let expiration = self.pending.get(&id).map_or(now, |p| {
            p.arrival
                .saturating_add(SimDuration::from_millis(self.config.record_ttl_ms))
        });
        now.saturating_add(half).min(expiration).max(now)
    }

    /// Exponential back-off with "equal jitter": half the step fixed, half drawn.
    fn backoff_ms(&mut self, attempts: u32) -> u64 {
        let doublings = attempts.saturating_sub(1).min(32);
        let step = self
            .config
            .retry_backoff_ms_min
            .saturating_mul(1u64 << doublings)
            .min(self.config.retry_backoff_ms_max)
            .max(1);
        let half = step / 2;
        half + self.rng.below(step - half + 1)
    }

    fn finish_failed(&mut self, now: SimTime, id: u64, code: &str, message: &str) {
        let Some(p) = self.pending.remove(&id) else {
            return;
        };
        let (last_code, last_message) = p.last_error.unwrap_or_default();
        self.counters.user_records_failed += 1;
        self.outcomes.push_back(Outcome::Failed(Failure {
            id,
            error_code: code.to_string(),
            error_message: message.to_string(),
            last_attempt_error_code: last_code,
            last_attempt_error_message: last_message,
            attempts: p.attempts,
            at: now,
        }));
    }

    /// KPL `ShardMap::update`: ListShards (AT_LATEST) page by page.
    fn refresh_shard_map(&mut self, now: SimTime, streams: &mut DataStreams) {
        let mut token: Option<String> = None;
        let mut shards = Vec::new();
        loop {
            let page = match &token {
                None => streams.list_shards(
                    now,
                    ListShardsFrom::Stream {
                        name: &self.stream,
                        exclusive_start_shard_id: None,
                    },
                    LIST_SHARDS_PAGE_SHARDS_MAX,
                    Some(ShardFilter::AtLatest),
                ),
                Some(t) => streams.list_shards(
                    now,
                    ListShardsFrom::Token(t),
                    LIST_SHARDS_PAGE_SHARDS_MAX,
                    None,
                ),
            };
            match page {
                Ok(page) => {
                    shards.extend(page.shards);
                    match page.next_token {
                        Some(t) => token = Some(t),
                        None => break,
                    }
                }
                Err(e) => {
                    let map = &mut self.shard_map;
                    map.ready = false;
                    map.update_due =
                        Some(now.saturating_add(SimDuration::from_millis(map.backoff_ms)));
                    map.backoff_ms = (map.backoff_ms * 3 / 2).min(SHARD_MAP_BACKOFF_MS_MAX);
                    self.counters.shard_map_refresh_failures += 1;
                    self.last_shard_map_error =
                        Some((e.error_type.as_str().to_string(), e.message));
                    return;
                }
            }
        }
        let map = &mut self.shard_map;
        map.ends.clear();
        map.open.clear();
        for shard in shards {
            let Some(ordinal) = parse_shard_id(&shard.shard_id) else {
                continue;
            };
            map.ends.push((shard.hash_key_range.ending, ordinal));
            map.open.insert(ordinal);
            map.ranges.insert(ordinal, shard.hash_key_range);
        }
        map.ends.sort_unstable();
        map.ready = true;
        map.updated_at = Some(now);
        map.update_due = None;
        map.backoff_ms = SHARD_MAP_BACKOFF_MS_MIN;
        self.counters.shard_map_refreshes += 1;
        self.last_shard_map_error = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::service::{IteratorRequest, IteratorType, StreamMode, StreamsConfig};

    const T0: SimTime = SimTime::from_millis(10_000);

    fn stream(shards: u64) -> DataStreams {
        let mut s = DataStreams::new(StreamsConfig::default(), 0);
        s.create_stream(SimTime::ZERO, "s", Some(shards), StreamMode::Provisioned)
            .unwrap();
        s
    }

    fn ready(config: KplConfig, streams: &mut DataStreams) -> KplProducer {
        let mut p = KplProducer::new("s", config, SimRng::new(1));
        assert_eq!(p.poll_timeout(), Some(SimTime::ZERO));
        p.handle_timeout(T0, streams);
        assert!(p.shard_map_ready());
        assert_eq!(p.poll_timeout(), None);
        p
    }

    fn outcomes(p: &mut KplProducer) -> Vec<Outcome> {
        std::iter::from_fn(|| p.poll_outcome()).collect()
    }

    fn read_all(
        streams: &mut DataStreams,
        now: SimTime,
    ) -> Vec<(String, crate::streams::service::Record)> {
        let it = streams
            .get_shard_iterator(
                now,
                "s",
                IteratorRequest {
                    shard_id: "shardId-000000000000",
                    iterator_type: IteratorType::TrimHorizon,
                    starting_sequence_number: None,
                    timestamp_unix_ms: None,
                },
            )
            .unwrap();
        streams.get_records(now, &it, 10_000).unwrap().records
    }

    #[test]
    fn bad_input_is_refused_with_the_kpls_messages() {
        let mut p = KplProducer::new("s", KplConfig::default(), SimRng::new(1));
        let e = p.add_user_record(T0, "", b"x", None).unwrap_err();
        assert_eq!(e.kind, KplInputErrorKind::PartitionKey);
        assert_eq!(
            e.message,
            "Invalid parition key. Length must be at least 1 and at most 256, got 0"
        );
        // 200 characters outside the BMP are 400 UTF-16 units: too long for the KPL.
        let wide = "😀".repeat(200);
        assert_eq!(
            p.add_user_record(T0, &wide, b"x", None).unwrap_err().kind,
            KplInputErrorKind::PartitionKey
        );
        assert!(p.add_user_record(T0, &"k".repeat(256), b"x", None).is_ok());
        let e = p.add_user_record(T0, "k", b"x", Some("12a")).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid explicitHashKey, must be an integer, got 12a"
        );
        let e = p.add_user_record(T0, "k", b"x", Some("-1")).unwrap_err();
        assert_eq!(e.kind, KplInputErrorKind::ExplicitHashKey);
        assert!(e.message.ends_with("to (2^128 - 1), got -1"));
        assert!(p.add_user_record(T0, "k", b"x", Some(" +0042 ")).is_ok());
        let big = vec![0u8; 1_048_577];
        let e = p.add_user_record(T0, "k", &big, None).unwrap_err();
        assert_eq!(
            e.message,
            "Data must be less than or equal to 1MB in size, got 1048577 bytes"
        );
        let e = p
            .add_user_record(T0, "kk", &big[..1_048_575], None)
            .unwrap_err();
        assert_eq!(e.kind, KplInputErrorKind::RecordTooLarge);
        assert_eq!(p.outstanding(), 2);
        assert_eq!(p.counters().user_records_added, 2);
    }

    #[test]
    fn small_records_for_one_shard_go_out_as_one_aggregated_record_after_the_buffer_time() {
        let mut streams = stream(1);
        let mut p = ready(KplConfig::default(), &mut streams);
        for i in 0..100u32 {
            p.add_user_record(T0, &format!("key-{}", i % 7), &i.to_be_bytes(), None)
                .unwrap();
        }
        assert_eq!(p.poll_timeout(), Some(SimTime::from_millis(10_100)));
        p.handle_timeout(SimTime::from_millis(10_099), &mut streams);
        assert!(outcomes(&mut p).is_empty());
        p.handle_timeout(SimTime::from_millis(10_100), &mut streams);
        let out = outcomes(&mut p);
        assert_eq!(out.len(), 100);
        for (i, o) in out.iter().enumerate() {
            let Outcome::Delivered(d) = o else {
                panic!("{o:?}")
            };
            assert_eq!(
                (d.id, d.sub_sequence_number, d.attempts),
                (i as u64, i as u64, 1)
            );
            assert!(d.aggregated);
            assert_eq!(d.shard_id, "shardId-000000000000");
        }
        let c = p.counters();
        assert_eq!(
            (
                c.put_records_calls,
                c.kinesis_records_put,
                c.aggregated_records_put
            ),
            (1, 1, 1)
        );
        let records = read_all(&mut streams, SimTime::from_millis(10_200));
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].1.partition_key, AGGREGATED_PARTITION_KEY);
        let users = aggregation::deaggregate(&records[0].1.data, "a", None, &records[0].0);
        assert_eq!(users.len(), 100);
        assert_eq!(users[5].partition_key, "key-5");
        assert_eq!(users[5].data, 5u32.to_be_bytes());
        assert_eq!(p.poll_timeout(), None);
        assert_eq!(p.outstanding(), 0);
    }

    #[test]
    fn a_lone_user_record_is_put_as_itself() {
        let mut streams = stream(1);
        let mut p = ready(KplConfig::default(), &mut streams);
        p.add_user_record(T0, "only", b"payload", None).unwrap();
        p.flush(T0);
        assert_eq!(p.poll_timeout(), Some(T0));
        p.handle_timeout(T0, &mut streams);
        let Some(Outcome::Delivered(d)) = p.poll_outcome() else {
            panic!("delivered")
        };
        assert!(!d.aggregated);
        let records = read_all(&mut streams, T0);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].1.partition_key, "only");
        assert_eq!(records[0].1.data, b"payload");
        assert_eq!(records[0].0, d.sequence_number);
    }

    #[test]
    fn aggregated_records_and_calls_respect_their_limits() {
        let mut streams = stream(1);
        streams.set_throughput_limits(T0, "s", false).unwrap();
        let mut p = ready(KplConfig::default(), &mut streams);
        for i in 0..3_000u32 {
            p.add_user_record(T0, &format!("k{i}"), &[7u8; 1_000], None)
                .unwrap();
        }
        // 3 MB of user records in aggregated records of at most 51,200 bytes each.
        p.handle_timeout(SimTime::from_millis(10_100), &mut streams);
        assert_eq!(outcomes(&mut p).len(), 3_000);
        let records = read_all(&mut streams, SimTime::from_millis(10_100));
        assert!(records.len() > 50);
        for (_, r) in &records {
            assert!(r.data.len() as u64 <= aggregation::AGGREGATION_MAX_SIZE_BYTES_DEFAULT);
        }
        let mut small = KplConfig {
            aggregation_enabled: false,
            ..KplConfig::default()
        };
        small.collection_max_count = 10;
        let mut p = ready(small, &mut streams);
        for i in 0..25u32 {
            p.add_user_record(T0, &format!("k{i}"), b"x", None).unwrap();
        }
        // Two full calls of 10 go at once; the last 5 wait for their deadline.
        assert_eq!(p.poll_timeout(), Some(T0));
        p.handle_timeout(T0, &mut streams);
        assert_eq!(p.counters().put_records_calls, 2);
        assert_eq!(p.counters().kinesis_records_put, 20);
        assert_eq!(p.poll_timeout(), Some(SimTime::from_millis(10_100)));
        p.handle_timeout(SimTime::from_millis(10_100), &mut streams);
        assert_eq!(p.counters().put_records_calls, 3);
        assert_eq!(p.counters().aggregated_records_put, 0);
        assert_eq!(outcomes(&mut p).len(), 25);
    }

    #[test]
    fn a_missing_stream_fails_the_shard_map_with_growing_back_off_and_records_expire() {
        let mut streams = DataStreams::new(StreamsConfig::default(), 0);
        let mut p = KplProducer::new("nope", KplConfig::default(), SimRng::new(3));
        p.handle_timeout(T0, &mut streams);
        assert!(!p.shard_map_ready());
        assert_eq!(p.poll_timeout(), Some(SimTime::from_millis(11_000)));
        p.handle_timeout(SimTime::from_millis(11_000), &mut streams);
        assert_eq!(p.poll_timeout(), Some(SimTime::from_millis(12_500)));
        assert_eq!(
            p.last_shard_map_error().map(|(c, _)| c),
            Some("ResourceNotFoundException")
        );
        let id = p
            .add_user_record(SimTime::from_millis(12_000), "k", b"x", None)
            .unwrap();
        let mut now = SimTime::from_millis(12_000);
        while let Some(t) = p.poll_timeout() {
            now = t.max(now);
            p.handle_timeout(now, &mut streams);
            if p.outstanding() == 0 {
                break;
            }
        }
        let Some(Outcome::Failed(f)) = p.poll_outcome() else {
            panic!("failed")
        };
        assert_eq!(f.id, id);
        assert_eq!(f.error_code, EXPIRED_ERROR_CODE);
        assert_eq!(f.error_message, "Record 0 has reached expiration");
        assert_eq!(f.last_attempt_error_code, "ResourceNotFoundException");
        assert_eq!(f.at, SimTime::from_millis(42_000));
        assert!(f.attempts > 5);
    }

    #[test]
    fn fail_if_throttled_fails_throttled_records_at_once() {
        let mut streams = stream(1);
        let config = KplConfig {
            fail_if_throttled: true,
            ..KplConfig::default()
        };
        let mut p = ready(config, &mut streams);
        // 2 MB at once into a 1 MiB/s shard: about half is throttled.
        for i in 0..2_000u32 {
            p.add_user_record(T0, &format!("k{i}"), &[1u8; 1_000], None)
                .unwrap();
        }
        p.flush(T0);
        p.handle_timeout(T0, &mut streams);
        let out = outcomes(&mut p);
        assert_eq!(out.len(), 2_000);
        let failed: Vec<&Failure> = out
            .iter()
            .filter_map(|o| match o {
                Outcome::Failed(f) => Some(f),
                Outcome::Delivered(_) => None,
            })
            .collect();
        assert!(
            failed.len() > 500 && failed.len() < 1_500,
            "{}",
            failed.len()
        );
        for f in failed {
            assert_eq!(f.error_code, "ProvisionedThroughputExceededException");
            assert!(
                f.error_message
                    .starts_with("Rate exceeded for shard shardId-000000000000")
            );
            assert_eq!((f.attempts, f.at), (1, T0));
        }
        assert_eq!(p.counters().retries, 0);
    }

    #[test]
    fn back_off_doubles_with_jitter_within_bounds() {
        let mut p = KplProducer::new("s", KplConfig::default(), SimRng::new(9));
        for attempts in 1..20u32 {
            let step = (RETRY_BACKOFF_MS_MIN << (attempts - 1).min(20)).min(RETRY_BACKOFF_MS_MAX);
            let d = p.backoff_ms(attempts);
            assert!(d >= step / 2 && d <= step, "{attempts}: {d} vs {step}");
        }
    }
}
