//! The Data Streams service: streams, shards, records, iterators, retention and throughput on simulated time.
//!
//! Every operation takes the current simulated time. Status changes (CREATING to ACTIVE, DELETING to gone) and
//! retention are functions of time, applied at the start of each call and by [`DataStreams::advance`], so what a
//! caller sees never depends on how often the world polled.

use super::error::{ACCOUNT_ID, ErrorType, KinesisError, REGION};
use super::hash_key::{HashKeyRange, even_split, partition_key_hash};
use super::metrics::{Metric, ShardMetrics};
use super::sequence::{SHARD_ORDINAL_MAX, SequenceNumber};
use super::throughput::{
    MIB_BYTES, ReadBudget, ReadRefusal, SHARD_READ_BYTES_PER_S_MAX, SHARD_READ_CALLS_PER_S_MAX,
    SHARD_WRITE_BYTES_PER_S_MAX, SHARD_WRITE_RECORDS_PER_S_MAX, WriteWindow,
};
use super::token;

mod billing;
mod consumers;
mod fanout;
mod on_demand;
mod reshard;

use crate::sim::time::format_unix_ms_java_date;
use crate::sim::{SimDuration, SimTime};
pub use billing::{
    ConsumerSpan, DataCounters, EXTENDED_RETENTION_FROM_HOURS, LONG_TERM_RETENTION_FROM_HOURS,
    ON_DEMAND_BILLING_UNIT_BYTES, PUT_PAYLOAD_UNIT_BYTES, ShardSpan, StoredByteMs,
    StreamBillingRecord,
};
pub use consumers::{ConsumerRef, ConsumerStatus, ConsumerView};
pub use fanout::{
    FANOUT_BYTES_PER_S_MAX, FANOUT_HEARTBEAT_MS, FANOUT_PROPAGATION_MS, FanOutEvent,
    SUBSCRIBE_CALL_INTERVAL_MS_MIN, SUBSCRIPTION_LIFETIME_MS, SUBSCRIPTION_TAKEOVER_MS_MIN,
    SubscriptionEnd, SubscriptionPoll,
};
pub use on_demand::{
    CapacityView, ON_DEMAND_HOT_SHARD_BYTES_PER_S, ON_DEMAND_PEAK_MULTIPLIER,
    ON_DEMAND_PEAK_WINDOW_DAYS, ON_DEMAND_SCALE_DELAY_MS, ON_DEMAND_WRITE_BYTES_PER_S_MIN,
    STREAM_MODE_UPDATES_PER_DAY_MAX,
};
pub use reshard::ShardCountUpdate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Most shards a stream may have (AWS: 10,000 per stream).
pub const STREAM_SHARDS_MAX: u32 = 10_000;
/// Default account shard limit (AWS: 500 in us-east-1, us-west-2 and eu-west-1).
pub const ACCOUNT_SHARD_LIMIT_DEFAULT: u32 = 500;
/// On-demand streams an account may have (AWS default: 50).
pub const ON_DEMAND_STREAM_COUNT_LIMIT_DEFAULT: u32 = 50;
/// Shards a new on-demand stream starts with.
pub const ON_DEMAND_INITIAL_SHARDS: u32 = 4;
/// Default retention, in hours (AWS: 24).
pub const RETENTION_HOURS_DEFAULT: u32 = 24;
/// Shortest retention, in hours (AWS: 24).
pub const RETENTION_HOURS_MIN: u32 = 24;
/// Longest retention, in hours (AWS: 8,760, one year).
pub const RETENTION_HOURS_MAX: u32 = 8_760;
/// How long an iterator stays valid after it was issued, in ms (AWS: 5 minutes).
pub const ITERATOR_TTL_MS: u64 = 300_000;
/// How long a ListShards `NextToken` stays valid, in ms (AWS: 300 s).
pub const NEXT_TOKEN_TTL_MS: u64 = 300_000;
/// Most records one GetRecords call returns (AWS: 10,000).
pub const GET_RECORDS_LIMIT_MAX: u32 = 10_000;
/// Most bytes one GetRecords call returns (AWS: 10 MiB).
pub const GET_RECORDS_BYTES_MAX: u64 = 10 * MIB_BYTES;
/// Largest record, data plus partition key, in bytes (AWS classic: 1 MiB).
pub const RECORD_BYTES_MAX: u64 = MIB_BYTES;
/// Most tags on a stream (AWS: 50).
pub const STREAM_TAGS_MAX: u32 = 50;
/// Default simulated time a new stream spends CREATING, in ms.
pub const CREATE_DELAY_MS_DEFAULT: u64 = 10_000;
/// Default simulated time a deleted stream spends DELETING, in ms.
pub const DELETE_DELAY_MS_DEFAULT: u64 = 10_000;
/// Most streams an account may have here (AWS has no documented per-account stream limit for provisioned
/// streams; the simulator bounds memory).
pub const STREAMS_MAX: u32 = 1_000;
/// Bytes a kept record counts besides its data and partition key, toward [`StreamsConfig::records_kept_bytes_max`]
/// (the simulator's bookkeeping: the `Record` struct is 64 bytes on 64-bit targets; AWS has no such count).
pub const RECORD_OVERHEAD_BYTES: u64 = 64;
/// Default bound on the bytes of records kept across all streams of a session, counted as data plus partition
/// key plus [`RECORD_OVERHEAD_BYTES`] a record: 256 MiB. AWS has no such limit; the simulator has one so a browser
/// tab (at most 4 GiB of wasm32 memory) never runs out of memory. The same on every target, so a run is the same.
pub const RECORDS_KEPT_BYTES_MAX_DEFAULT: u64 = 256 * MIB_BYTES;

fn records_kept_bytes_max_default() -> u64 {
    RECORDS_KEPT_BYTES_MAX_DEFAULT
}

/// Service-wide settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamsConfig {
    /// Simulated ms a new stream stays CREATING.
    pub create_delay_ms: u64,
    /// Simulated ms a deleted stream stays DELETING.
    pub delete_delay_ms: u64,
    /// Open shards the account may have in all.
    pub account_shard_limit: u32,
    /// On-demand streams the account may have.
    pub on_demand_stream_count_limit: u32,
    /// Whether new streams enforce per-shard throughput limits (on by default, as on AWS).
    pub throughput_limits_default: bool,
    /// Key that seals iterators and tokens (from the run's seed).
    pub token_key: u64,
    /// Simulated ms a reshard keeps a stream UPDATING.
    pub update_delay_ms: u64,
    /// UpdateShardCount calls a stream accepts per rolling 24 hours (10 today; 2 in the classic service).
    pub shard_count_updates_per_day_max: u32,
    /// Simulated ms a new consumer stays CREATING.
    pub consumer_create_delay_ms: u64,
    /// Simulated ms a deregistered consumer stays DELETING.
    pub consumer_delete_delay_ms: u64,
    /// Simulated ms from the minute whose traffic calls for an on-demand split to the split.
    pub on_demand_scale_delay_ms: u64,
    /// Most bytes of records kept across all streams (data plus partition key plus [`RECORD_OVERHEAD_BYTES`] a
    /// record); a put past it is refused with `InternalFailure`. The simulator's bound, not AWS's.
    #[serde(default = "records_kept_bytes_max_default")]
    pub records_kept_bytes_max: u64,
}

impl Default for StreamsConfig {
    fn default() -> Self {
        StreamsConfig {
            create_delay_ms: CREATE_DELAY_MS_DEFAULT,
            delete_delay_ms: DELETE_DELAY_MS_DEFAULT,
            account_shard_limit: ACCOUNT_SHARD_LIMIT_DEFAULT,
            on_demand_stream_count_limit: ON_DEMAND_STREAM_COUNT_LIMIT_DEFAULT,
            throughput_limits_default: true,
            token_key: 0,
            update_delay_ms: reshard::UPDATE_DELAY_MS_DEFAULT,
            shard_count_updates_per_day_max: reshard::SHARD_COUNT_UPDATES_PER_DAY_MAX_DEFAULT,
            consumer_create_delay_ms: consumers::CONSUMER_CREATE_DELAY_MS_DEFAULT,
            consumer_delete_delay_ms: consumers::CONSUMER_DELETE_DELAY_MS_DEFAULT,
            on_demand_scale_delay_ms: ON_DEMAND_SCALE_DELAY_MS,
            records_kept_bytes_max: RECORDS_KEPT_BYTES_MAX_DEFAULT,
        }
    }
}

/// A stream's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamStatus {
    /// Being created.
    Creating,
    /// Readable and writable.
    Active,
    /// Resharding: still readable and writable, but no other change is accepted until it is ACTIVE again.
    Updating,
    /// Being deleted.
    Deleting,
}

impl StreamStatus {
    /// AWS's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamStatus::Creating => "CREATING",
            StreamStatus::Active => "ACTIVE",
            StreamStatus::Deleting => "DELETING",
            StreamStatus::Updating => "UPDATING",
        }
    }
}

/// Capacity mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamMode {
    /// You choose the shard count.
    Provisioned,
    /// Capacity follows traffic.
    OnDemand,
}

impl StreamMode {
    /// AWS's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamMode::Provisioned => "PROVISIONED",
            StreamMode::OnDemand => "ON_DEMAND",
        }
    }
}

/// One stored record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Position in its shard, from 0.
    pub index: u64,
    /// When it was accepted.
    pub arrival: SimTime,
    /// Its partition key.
    pub partition_key: String,
    /// Its data.
    pub data: Vec<u8>,
}

/// One shard's kept records, as [`DataStreams::record_shards`] lists them.
#[derive(Clone, Copy, Debug)]
pub struct ShardRecords<'a> {
    /// The stream's name.
    pub stream: &'a str,
    /// Which stream of that name (a deleted and re-created stream is a new incarnation).
    pub incarnation: u64,
    /// The shard's ordinal.
    pub ordinal: u32,
    /// Index the next record written to the shard gets.
    pub next_index: u64,
    /// The records kept, oldest first; they end at `next_index - 1`.
    pub records: &'a VecDeque<Record>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Shard {
    ordinal: u32,
    range: HashKeyRange,
    created_at: SimTime,
    parent: Option<u32>,
    adjacent_parent: Option<u32>,
    closed_at: Option<SimTime>,
    records: VecDeque<Record>,
    /// Index of the next record to be written; `records` holds `next_index - records.len() .. next_index`.
    next_index: u64,
    write: WriteWindow,
    read: ReadBudget,
    metrics: ShardMetrics,
}

impl Shard {
    fn new(ordinal: u32, range: HashKeyRange, created_at: SimTime) -> Self {
        Shard {
            ordinal,
            range,
            created_at,
            parent: None,
            adjacent_parent: None,
            closed_at: None,
            records: VecDeque::new(),
            next_index: 0,
            write: WriteWindow::new(),
            read: ReadBudget::new(),
            metrics: ShardMetrics::default(),
        }
    }

    fn first_index(&self) -> u64 {
        self.next_index - self.records.len() as u64
    }

    fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }

    /// Drops records past retention, counting the storage they added in `meter` (see
    /// [`billing::stored_until_trim`]); returns the kept bytes freed ([`record_kept_bytes`]).
    fn trim(
        &mut self,
        now: SimTime,
        retention: SimDuration,
        retention_changed_at: SimTime,
        stop: Option<SimTime>,
        meter: &mut billing::Meter,
    ) -> u64 {
        let mut freed = 0u64;
        while self
            .records
            .front()
            .is_some_and(|r| r.arrival.saturating_add(retention) <= now)
        {
            if let Some(r) = self.records.pop_front() {
                let stored = billing::stored_until_trim(
                    &r,
                    retention,
                    retention_changed_at,
                    stop,
                    meter.modes(),
                );
                meter.trimmed(stored);
                freed = freed.saturating_add(record_kept_bytes(&r));
            }
        }
        freed
    }

    /// The bytes its records count toward the session's bound.
    fn kept_bytes(&self) -> u64 {
        self.records
            .iter()
            .map(record_kept_bytes)
            .fold(0, u64::saturating_add)
    }

    /// Position of the first record arriving at or after `at`, or the tip.
    fn index_at_time(&self, at: SimTime) -> u64 {
        let skip = self.records.partition_point(|r| r.arrival < at);
        self.first_index() + skip as u64
    }
}

/// The id AWS gives the shard with this ordinal: `shardId-000000000007`.
pub fn shard_id(ordinal: u32) -> String {
    format!("shardId-{ordinal:012}")
}

/// The ordinal a shard id names, read as AWS reads it: the digits after the last `-` (or the whole id), at most
/// 2,147,483,647, so `shardId-000000000007`, `shardId-7` and `7` all name shard 7.
pub fn parse_shard_id(id: &str) -> Option<u32> {
    let digits = id.rsplit('-').next().unwrap_or(id);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = digits.trim_start_matches('0');
    if significant.len() > 10 {
        return None;
    }
    let ordinal: u64 = significant.parse().unwrap_or(0);
    if ordinal > 2_147_483_647 {
        return None;
    }
    u32::try_from(ordinal).ok()
}

/// The ARN of a stream.
pub fn stream_arn(name: &str) -> String {
    format!("arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/{name}")
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Stream {
    name: String,
    incarnation: u64,
    created_at: SimTime,
    active_at: SimTime,
    deleting_since: Option<SimTime>,
    gone_at: SimTime,
    mode: StreamMode,
    retention_hours: u32,
    shards: Vec<Shard>,
    tags: BTreeMap<String, String>,
    throughput_limits: bool,
    /// (starting hash key, shard ordinal) of the open shards, sorted: the routing table.
    routing: Vec<(u128, u32)>,
    /// A reshard in progress: UPDATING until this time, when it takes effect.
    pending: Option<(SimTime, reshard::Reshard)>,
    /// When UpdateShardCount was called, for its calls-per-24-hours limit.
    shard_count_updates: VecDeque<SimTime>,
    /// Enhanced fan-out consumers, in registration order.
    consumers: Vec<consumers::Consumer>,
    /// Their SubscribeToShard subscriptions.
    fanout: fanout::FanOut,
    /// Peak traffic, on-demand scaling and mode changes.
    capacity: on_demand::Capacity,
    /// Billing counters.
    #[serde(default)]
    meter: billing::Meter,
}

impl Stream {
    fn status(&self, now: SimTime) -> StreamStatus {
        if self.deleting_since.is_some() {
            StreamStatus::Deleting
        } else if now < self.active_at {
            StreamStatus::Creating
        } else if self.pending.as_ref().is_some_and(|&(done, _)| now < done) {
            StreamStatus::Updating
        } else {
            StreamStatus::Active
        }
    }

    /// Whether records can be put and read now (ACTIVE, or UPDATING during a reshard).
    fn accepts_data(&self, now: SimTime) -> bool {
        matches!(
            self.status(now),
            StreamStatus::Active | StreamStatus::Updating
        )
    }

    /// Whether a shard is still kept: open, or closed less than a retention period ago.
    fn is_kept(&self, shard: &Shard, now: SimTime) -> bool {
        shard
            .closed_at
            .is_none_or(|closed| now < closed.saturating_add(self.retention()))
    }

    fn retention(&self) -> SimDuration {
        SimDuration::from_hours(u64::from(self.retention_hours))
    }

    /// Trims every shard to the retention period at `now`, counting the trimmed records' storage; returns the
    /// kept bytes freed.
    fn trim(&mut self, now: SimTime) -> u64 {
        let retention = self.retention();
        let changed_at = self.meter.retention_changed_at();
        let stop = self.deleting_since;
        let mut freed = 0u64;
        for shard in &mut self.shards {
            let f = shard.trim(now, retention, changed_at, stop, &mut self.meter);
            freed = freed.saturating_add(f);
        }
        freed
    }

    /// Drops every record at once (DeleteStream: a DELETING stream is never read again), counting the storage
    /// they added up to `now` as retention trimming does; returns the kept bytes freed.
    fn drop_records(&mut self, now: SimTime) -> u64 {
        let retention = self.retention();
        let changed_at = self.meter.retention_changed_at();
        let mut freed = 0u64;
        for shard in &mut self.shards {
            for r in std::mem::take(&mut shard.records) {
                let stored = billing::stored_until_trim(
                    &r,
                    retention,
                    changed_at,
                    Some(now),
                    self.meter.modes(),
                );
                self.meter.trimmed(stored);
                freed = freed.saturating_add(record_kept_bytes(&r));
            }
        }
        freed
    }

    /// The bytes its records count toward the session's bound.
    fn kept_bytes(&self) -> u64 {
        self.shards
            .iter()
            .map(Shard::kept_bytes)
            .fold(0, u64::saturating_add)
    }

    fn open_shard_count(&self) -> u32 {
        u32::try_from(self.shards.iter().filter(|s| s.is_open()).count()).unwrap_or(u32::MAX)
    }

    fn view(&self, now: SimTime) -> StreamView {
        StreamView {
            name: self.name.clone(),
            arn: stream_arn(&self.name),
            status: self.status(now),
            mode: self.mode,
            retention_hours: self.retention_hours,
            created_at: self.created_at,
            open_shard_count: self.open_shard_count(),
            throughput_limits: self.throughput_limits,
            consumer_count: self.consumer_count(now),
        }
    }

    fn require_active(&self, now: SimTime) -> Result<(), KinesisError> {
        match self.status(now) {
            StreamStatus::Active => Ok(()),
            status => Err(KinesisError::stream_not_active(&self.name, status.as_str())),
        }
    }

    /// The sequence number of the record at `index` (from 0) in `shard`.
    fn sequence_number(&self, shard: &Shard, index: u64) -> SequenceNumber {
        self.position_sequence_number(shard, index.saturating_add(1))
    }

    /// The sequence number that ends at position `record_number` of `shard`: the shard's StartingSequenceNumber for
    /// 0, else the number of its `record_number`-th record. Reading AFTER it starts at index `record_number`.
    fn position_sequence_number(&self, shard: &Shard, record_number: u64) -> SequenceNumber {
        SequenceNumber {
            shard_created_ms: shard.created_at.as_millis(),
            shard_ordinal: shard.ordinal,
            record_number,
            stream_incarnation: self.incarnation,
        }
    }

    fn shard(&self, id: &str) -> Option<&Shard> {
        self.shards.get(usize::try_from(parse_shard_id(id)?).ok()?)
    }

    /// The open shard holding `hash`: a binary search over the open shards' starting hash keys.
    fn shard_for_hash(&self, hash: u128) -> Option<usize> {
        let after = self.routing.partition_point(|&(start, _)| start <= hash);
        let (_, ordinal) = *self.routing.get(after.checked_sub(1)?)?;
        let index = ordinal as usize;
        self.shards
            .get(index)
            .filter(|s| s.is_open() && s.range.contains(hash))
            .map(|_| index)
    }

    /// Where a reader starting at `request` begins in `shard`: the index of the first record it reads. Positions
    /// before the trim horizon start at the horizon, as on AWS. `operation` names the call in error messages.
    fn start_position(
        &self,
        shard: &Shard,
        request: &IteratorRequest<'_>,
        epoch_unix_ms: u64,
        operation: &str,
    ) -> Result<u64, KinesisError> {
        let name = &self.name;
        Ok(match request.iterator_type {
            IteratorType::TrimHorizon => shard.first_index(),
            IteratorType::Latest => shard.next_index,
            IteratorType::AtTimestamp => {
                let unix_ms = request.timestamp_unix_ms.unwrap_or(0);
                shard.index_at_time(SimTime::from_millis(unix_ms.saturating_sub(epoch_unix_ms)))
            }
            IteratorType::AtSequenceNumber | IteratorType::AfterSequenceNumber => {
                let text = request.starting_sequence_number.unwrap_or_default();
                let seq = SequenceNumber::parse(text)
                    .filter(|q| q.stream_incarnation == self.incarnation)
                    .ok_or_else(|| {
                        KinesisError::invalid_argument(format!(
                            "StartingSequenceNumber {text} used in {operation} on shard {} in stream {name} \
                             under account {ACCOUNT_ID} is invalid.",
                            shard_id(shard.ordinal)
                        ))
                    })?;
                if seq.shard_ordinal != shard.ordinal {
                    return Err(KinesisError::invalid_argument(format!(
                        "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard \
                         with {}",
                        shard_id(seq.shard_ordinal),
                        shard_id(shard.ordinal)
                    )));
                }
                let at = if request.iterator_type == IteratorType::AfterSequenceNumber {
                    seq.record_number
                } else {
                    seq.record_number.saturating_sub(1)
                };
                // A position before the trim horizon reads from the horizon, as on AWS.
                at.clamp(
                    shard.first_index(),
                    shard.next_index.max(shard.first_index()),
                )
            }
        })
    }

    /// Rebuilds the routing table from the open shards (after creation or resharding).
    fn rebuild_routing(&mut self) {
        self.routing = self
            .shards
            .iter()
            .filter(|s| s.is_open())
            .map(|s| (s.range.starting, s.ordinal))
            .collect();
        self.routing.sort_unstable();
    }
}

/// A stream as DescribeStream and DescribeStreamSummary show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamView {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Status now.
    pub status: StreamStatus,
    /// Capacity mode.
    pub mode: StreamMode,
    /// Retention in hours.
    pub retention_hours: u32,
    /// When it was created.
    pub created_at: SimTime,
    /// Open shards.
    pub open_shard_count: u32,
    /// Whether throughput limits are enforced.
    pub throughput_limits: bool,
    /// Registered enhanced fan-out consumers.
    pub consumer_count: u32,
}

/// A shard as ListShards and DescribeStream show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardView {
    /// `shardId-...`.
    pub shard_id: String,
    /// The shard it was split from or merged from.
    pub parent_shard_id: Option<String>,
    /// The other parent of a merge.
    pub adjacent_parent_shard_id: Option<String>,
    /// Its hash keys.
    pub hash_key_range: HashKeyRange,
    /// Sequence number of its first record.
    pub starting_sequence_number: String,
    /// Sequence number of its last record, once closed.
    pub ending_sequence_number: Option<String>,
}

/// What a successful put returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutResult {
    /// The ordinal of the shard the record went to.
    pub shard_ordinal: u32,
    /// Its sequence number.
    pub sequence_number: SequenceNumber,
}

impl PutResult {
    /// The shard's id, `shardId-...`.
    pub fn shard_id(&self) -> String {
        shard_id(self.shard_ordinal)
    }
}

/// One entry of a PutRecords request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutEntry {
    /// Data bytes.
    pub data: Vec<u8>,
    /// Partition key.
    pub partition_key: String,
    /// Explicit hash key, already parsed.
    pub explicit_hash_key: Option<u128>,
}

/// The five shard iterator types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IteratorType {
    /// At a sequence number.
    AtSequenceNumber,
    /// Right after a sequence number.
    AfterSequenceNumber,
    /// At the oldest record kept.
    TrimHorizon,
    /// After the newest record.
    Latest,
    /// At the first record that arrived at or after a time.
    AtTimestamp,
}

/// A GetShardIterator request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IteratorRequest<'a> {
    /// Shard id.
    pub shard_id: &'a str,
    /// Type.
    pub iterator_type: IteratorType,
    /// For AT_/AFTER_SEQUENCE_NUMBER.
    pub starting_sequence_number: Option<&'a str>,
    /// For AT_TIMESTAMP: Unix ms.
    pub timestamp_unix_ms: Option<u64>,
}

/// What GetRecords returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetRecordsResult {
    /// (sequence number, record) in shard order.
    pub records: Vec<(String, Record)>,
    /// Where to continue; `None` at the end of a closed shard.
    pub next_shard_iterator: Option<String>,
    /// How far behind the newest record the reader is, in ms (0: caught up).
    pub millis_behind_latest: u64,
    /// At the end of a closed shard: the shards that took over its hash keys, to read next.
    pub child_shards: Vec<ChildShard>,
}

/// [`DataStreams::get_records_batch`]'s answer: GetRecords' records still in their shard.
#[derive(Clone, Debug)]
pub struct RecordsBatch<'a> {
    records: std::collections::vec_deque::Iter<'a, Record>,
    /// The shard's sequence number fields, with record number 0.
    sequence_base: SequenceNumber,
    /// Where to continue; `None` at the end of a closed shard.
    pub next_shard_iterator: Option<String>,
    /// How far behind the newest record the reader is, in ms (0: caught up).
    pub millis_behind_latest: u64,
    /// At the end of a closed shard: the shards that took over its hash keys, to read next.
    pub child_shards: Vec<ChildShard>,
}

impl<'a> RecordsBatch<'a> {
    /// (sequence number, record) in shard order; the sequence numbers are rendered only when asked.
    pub fn records(
        &self,
    ) -> impl DoubleEndedIterator<Item = (SequenceNumber, &'a Record)>
    + ExactSizeIterator
    + Clone
    + use<'a> {
        let base = self.sequence_base;
        self.records.clone().map(move |r| {
            let seq = SequenceNumber {
                record_number: r.index.saturating_add(1),
                ..base
            };
            (seq, r)
        })
    }
}

/// A shard that continues a closed one (GetRecords' `ChildShards`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildShard {
    /// The child's id.
    pub shard_id: String,
    /// Its parents' ids (one after a split, two after a merge).
    pub parent_shards: Vec<String>,
    /// Its hash keys.
    pub hash_key_range: HashKeyRange,
}

/// A page of ListShards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardPage {
    /// The shards.
    pub shards: Vec<ShardView>,
    /// Token for the next page.
    pub next_token: Option<String>,
}

/// How ListShards selects shards (ShardFilter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShardFilter {
    /// All shards after this id.
    AfterShardId(String),
    /// Shards open at the trim horizon.
    AtTrimHorizon,
    /// All shards still kept (open or closed within retention).
    FromTrimHorizon,
    /// Shards open now.
    AtLatest,
    /// Shards open at a time (Unix ms).
    AtTimestamp(u64),
    /// Shards open at or created after a time (Unix ms).
    FromTimestamp(u64),
}

/// The whole Data Streams service of one account.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(from = "DataStreamsStored")]
pub struct DataStreams {
    config: StreamsConfig,
    epoch_unix_ms: u64,
    streams: BTreeMap<String, Stream>,
    incarnations: u64,
    /// Id of the next SubscribeToShard subscription.
    next_subscription_id: u64,
    /// Billing records of streams deleted and gone, in the order they went.
    #[serde(default)]
    finished_billing: Vec<StreamBillingRecord>,
    /// Bytes of records kept across all streams ([`record_kept_bytes`] summed): derived, never stored, so a
    /// restored service counts what it really holds.
    #[serde(skip_serializing)]
    records_kept_bytes: u64,
}

/// [`DataStreams`] as stored: everything but the derived count of kept bytes, which is recounted on load.
#[derive(Deserialize)]
struct DataStreamsStored {
    config: StreamsConfig,
    epoch_unix_ms: u64,
    streams: BTreeMap<String, Stream>,
    incarnations: u64,
    next_subscription_id: u64,
    #[serde(default)]
    finished_billing: Vec<StreamBillingRecord>,
}

impl From<DataStreamsStored> for DataStreams {
    fn from(stored: DataStreamsStored) -> Self {
        let mut service = DataStreams {
            config: stored.config,
            epoch_unix_ms: stored.epoch_unix_ms,
            streams: stored.streams,
            incarnations: stored.incarnations,
            next_subscription_id: stored.next_subscription_id,
            finished_billing: stored.finished_billing,
            records_kept_bytes: 0,
        };
        service.records_kept_bytes = service.recount_records_kept_bytes();
        service
    }
}

impl DataStreams {
    /// An account with no streams. `epoch_unix_ms` is the calendar time of simulated zero (for AT_TIMESTAMP).
    pub fn new(config: StreamsConfig, epoch_unix_ms: u64) -> Self {
        DataStreams {
            config,
            epoch_unix_ms,
            streams: BTreeMap::new(),
            incarnations: 0,
            next_subscription_id: 0,
            finished_billing: Vec::new(),
            records_kept_bytes: 0,
        }
    }

    /// Bytes of records kept across all streams now, as the bound counts them: data plus partition key plus
    /// [`RECORD_OVERHEAD_BYTES`] a record. Kept up to date as records enter and leave.
    pub fn records_kept_bytes(&self) -> u64 {
        self.records_kept_bytes
    }

    /// The bound on [`DataStreams::records_kept_bytes`] ([`StreamsConfig::records_kept_bytes_max`]).
    pub fn records_kept_bytes_max(&self) -> u64 {
        self.config.records_kept_bytes_max
    }

    /// [`DataStreams::records_kept_bytes`] counted afresh over every kept record (for invariant checks; it must
    /// always equal the running count).
    pub fn recount_records_kept_bytes(&self) -> u64 {
        self.streams
            .values()
            .map(Stream::kept_bytes)
            .fold(0, u64::saturating_add)
    }

    /// The service settings.
    pub fn config(&self) -> &StreamsConfig {
        &self.config
    }

    /// Applies everything time does up to `now`: finished deletions disappear, expired records are freed.
    pub fn advance(&mut self, now: SimTime) {
        for s in self.streams.values() {
            if s.deleting_since.is_some() && now >= s.gone_at {
                self.finished_billing.push(s.billing_record(now));
            }
        }
        let mut freed = 0u64;
        self.streams.retain(|_, s| {
            let keep = s.deleting_since.is_none() || now < s.gone_at;
            if !keep {
                // Empty since DeleteStream dropped its records; counted anyway so the total stays exact.
                freed = freed.saturating_add(s.kept_bytes());
            }
            keep
        });
        for stream in self.streams.values_mut() {
            if let Some(&(done, _)) = stream.pending.as_ref()
                && done <= now
                && let Some((done, change)) = stream.pending.take()
            {
                stream.apply_reshard(done, &change);
            }
            stream.forget_consumers(now);
            stream.fanout.forget(now);
            freed = freed.saturating_add(stream.trim(now));
        }
        self.records_kept_bytes = self.records_kept_bytes.saturating_sub(freed);
        self.scale_on_demand(now);
    }

    /// When time next changes something a caller could see without calling: a stream becoming ACTIVE or
    /// disappearing.
    pub fn next_transition(&self, now: SimTime) -> Option<SimTime> {
        self.streams
            .values()
            .filter_map(|s| match s.deleting_since {
                Some(_) => Some(s.gone_at),
                None if now < s.active_at => Some(s.active_at),
                None => {
                    let reshard = s.pending.as_ref().map(|&(done, _)| done);
                    let consumer = s.next_consumer_transition(now);
                    reshard
                        .into_iter()
                        .chain(consumer)
                        .chain(s.next_scaling())
                        .min()
                }
            })
            .filter(|&t| t > now)
            .min()
    }

    fn stream(&self, name: &str) -> Result<&Stream, KinesisError> {
        self.streams
            .get(name)
            .ok_or_else(|| KinesisError::stream_not_found(name))
    }

    fn stream_mut(&mut self, name: &str) -> Result<&mut Stream, KinesisError> {
        self.streams
            .get_mut(name)
            .ok_or_else(|| KinesisError::stream_not_found(name))
    }

    fn open_shards_in_account(&self) -> u32 {
        self.streams
            .values()
            .map(|s| s.open_shard_count())
            .fold(0u32, u32::saturating_add)
    }

    /// Refuses a request that would open `additional` shards beyond the account's limit (or a stream's 10,000),
    /// with AWS's message; nothing is allocated before this check.
    fn check_shard_room(&self, additional: u64) -> Result<(), KinesisError> {
        let open = u64::from(self.open_shards_in_account());
        let limit = u64::from(self.config.account_shard_limit);
        if additional > u64::from(STREAM_SHARDS_MAX) || open.saturating_add(additional) > limit {
            return Err(KinesisError::limit_exceeded(format!(
                "This request would exceed the shard limit for the account {ACCOUNT_ID} in {REGION}. \
                 Current shard count for the account: {open}. Limit: {limit}. Number of additional shards that \
                 would have resulted from this request: {additional}. Refer to the AWS Service Limits page \
                 (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and \
                 how to request higher limits."
            )));
        }
        Ok(())
    }

    fn on_demand_streams(&self) -> u32 {
        u32::try_from(
            self.streams
                .values()
                .filter(|s| s.mode == StreamMode::OnDemand)
                .count(),
        )
        .unwrap_or(u32::MAX)
    }

    /// Refuses one more on-demand stream beyond the account's limit, with AWS's message.
    fn check_on_demand_room(&self) -> Result<(), KinesisError> {
        let limit = self.config.on_demand_stream_count_limit;
        if self.on_demand_streams() >= limit {
            return Err(KinesisError::limit_exceeded(format!(
                "This request would exceed the on-demand stream count limit of {limit} for the account \
                 {ACCOUNT_ID} in {REGION}."
            )));
        }
        Ok(())
    }

    /// CreateStream. `shard_count` is checked against the limits before anything is allocated.
    pub fn create_stream(
        &mut self,
        now: SimTime,
        name: &str,
        shard_count: Option<u64>,
        mode: StreamMode,
    ) -> Result<(), KinesisError> {
        self.advance(now);
        let shards = match (mode, shard_count) {
            (StreamMode::OnDemand, _) => u64::from(ON_DEMAND_INITIAL_SHARDS),
            (StreamMode::Provisioned, Some(n)) => n,
            (StreamMode::Provisioned, None) => {
                return Err(KinesisError::new(
                    ErrorType::ValidationException,
                    "1 validation error detected: Value null at 'shardCount' failed to satisfy constraint: \
                     Member must not be null",
                ));
            }
        };
        if self.streams.contains_key(name) {
            return Err(KinesisError::new(
                ErrorType::ResourceInUseException,
                format!("Stream {name} under account {ACCOUNT_ID} already exists."),
            ));
        }
        self.check_shard_room(shards)?;
        if mode == StreamMode::OnDemand {
            self.check_on_demand_room()?;
        }
        if u32::try_from(self.streams.len()).unwrap_or(u32::MAX) >= STREAMS_MAX {
            return Err(KinesisError::limit_exceeded(format!(
                "kinesim keeps at most {STREAMS_MAX} streams in an account; delete one first."
            )));
        }
        // Bounded above: at most STREAM_SHARDS_MAX.
        let shards = u32::try_from(shards).unwrap_or(STREAM_SHARDS_MAX);
        self.incarnations += 1;
        let active_at = now.saturating_add(SimDuration::from_millis(self.config.create_delay_ms));
        let stream = Stream {
            name: name.to_string(),
            incarnation: self.incarnations,
            created_at: now,
            active_at,
            deleting_since: None,
            gone_at: SimTime::MAX,
            mode,
            retention_hours: RETENTION_HOURS_DEFAULT,
            shards: even_split(shards)
                .into_iter()
                .zip(0u32..)
                .map(|(range, ordinal)| Shard::new(ordinal, range, now))
                .collect(),
            tags: BTreeMap::new(),
            throughput_limits: self.config.throughput_limits_default,
            routing: Vec::new(),
            pending: None,
            shard_count_updates: VecDeque::new(),
            consumers: Vec::new(),
            fanout: fanout::FanOut::default(),
            capacity: on_demand::Capacity::default(),
            meter: billing::Meter::new(now, mode, RETENTION_HOURS_DEFAULT),
        };
        let mut stream = stream;
        stream.rebuild_routing();
        self.streams.insert(name.to_string(), stream);
        Ok(())
    }

    /// DeleteStream: DELETING for the configured delay, then gone. Allowed in any state but DELETING. A stream
    /// with registered consumers is only deleted with `enforce_consumer_deletion`, which deregisters them.
    pub fn delete_stream(
        &mut self,
        now: SimTime,
        name: &str,
        enforce_consumer_deletion: bool,
    ) -> Result<(), KinesisError> {
        self.advance(now);
        let delay = SimDuration::from_millis(self.config.delete_delay_ms);
        let stream = self.stream_mut(name)?;
        if stream.deleting_since.is_some() {
            return Err(KinesisError::stream_not_found(name));
        }
        if stream.consumer_count(now) > 0 && !enforce_consumer_deletion {
            return Err(KinesisError::new(
                ErrorType::ResourceInUseException,
                format!(
                    "DeleteStream can't delete {} because there are consumers associated with this data stream. \
                     To delete {name} anyway, set the EnforceConsumerDeletion parameter to true to force the \
                     deletion of all the consumers that are associated with it.",
                    stream_arn(name)
                ),
            ));
        }
        stream.deleting_since = Some(now);
        stream.fanout.end_all(now, SubscriptionEnd::StreamDeleted);
        stream.gone_at = now.saturating_add(delay);
        // A DELETING stream is never read again: its records go now, freeing room under the bound at once.
        let freed = stream.drop_records(now);
        self.records_kept_bytes = self.records_kept_bytes.saturating_sub(freed);
        Ok(())
    }

    /// A stream's summary.
    pub fn describe(&mut self, now: SimTime, name: &str) -> Result<StreamView, KinesisError> {
        self.advance(now);
        Ok(self.stream(name)?.view(now))
    }

    /// Stream names in order, starting after `exclusive_start`, at most `limit`; and whether more follow.
    pub fn list_streams(
        &mut self,
        now: SimTime,
        limit: u32,
        exclusive_start: Option<&str>,
    ) -> (Vec<StreamView>, bool) {
        self.advance(now);
        let mut after = self
            .streams
            .values()
            .filter(|s| exclusive_start.is_none_or(|start| s.name.as_str() > start));
        let views = after
            .by_ref()
            .take(limit as usize)
            .map(|s| s.view(now))
            .collect();
        (views, after.next().is_some())
    }

    /// Shards of a stream (for DescribeStream): all kept shards in id order after `exclusive_start_shard_id`,
    /// at most `limit`; and whether more follow.
    pub fn describe_shards(
        &mut self,
        now: SimTime,
        name: &str,
        limit: u32,
        exclusive_start_shard_id: Option<&str>,
    ) -> Result<(Vec<ShardView>, bool), KinesisError> {
        self.advance(now);
        let s = self.stream(name)?;
        if matches!(
            s.status(now),
            StreamStatus::Creating | StreamStatus::Deleting
        ) {
            // AWS lists no shards while a stream is CREATING or DELETING.
            return Ok((Vec::new(), false));
        }
        let after = exclusive_start_shard_id.map(|id| parse_shard_id(id).unwrap_or(u32::MAX));
        let mut shards: Vec<ShardView> = s
            .shards
            .iter()
            .filter(|sh| after.is_none_or(|a| sh.ordinal > a) && s.is_kept(sh, now))
            .map(|sh| shard_view(s, sh))
            .collect();
        let more = shards.len() > limit as usize;
        shards.truncate(limit as usize);
        Ok((shards, more))
    }

    /// ListShards, first page or continued from a `NextToken`.
    pub fn list_shards(
        &mut self,
        now: SimTime,
        name_or_token: ListShardsFrom<'_>,
        max_results: u32,
        filter: Option<ShardFilter>,
    ) -> Result<ShardPage, KinesisError> {
        self.advance(now);
        let (name, offset, filter) = match name_or_token {
            ListShardsFrom::Stream {
                name,
                exclusive_start_shard_id,
            } => {
                let filter = match (exclusive_start_shard_id, filter) {
                    (Some(id), None) => Some(ShardFilter::AfterShardId(id.to_string())),
                    (_, f) => f,
                };
                (name.to_string(), 0u32, filter)
            }
            ListShardsFrom::Token(text) => self.open_next_token(now, text)?,
        };
        let s = self.stream(&name)?;
        let epoch = self.epoch_unix_ms;
        let to_sim = |unix_ms: u64| SimTime::from_millis(unix_ms.saturating_sub(epoch));
        let retention = s.retention();
        let horizon = SimTime::from_millis(now.as_millis().saturating_sub(retention.as_millis()));
        let selected: Vec<&Shard> = s
            .shards
            .iter()
            .filter(|sh| s.is_kept(sh, now))
            .filter(|sh| match &filter {
                None => true,
                Some(ShardFilter::AfterShardId(id)) => {
                    sh.ordinal > parse_shard_id(id).unwrap_or(u32::MAX)
                }
                Some(ShardFilter::AtLatest) => sh.is_open(),
                Some(ShardFilter::AtTrimHorizon) => open_at(sh, horizon),
                Some(ShardFilter::FromTrimHorizon) => true,
                Some(ShardFilter::AtTimestamp(t)) => open_at(sh, to_sim(*t)),
                Some(ShardFilter::FromTimestamp(t)) => sh.closed_at.is_none_or(|c| c > to_sim(*t)),
            })
            .collect();
        let start = offset as usize;
        let end = start
            .saturating_add(max_results as usize)
            .min(selected.len());
        let shards = selected
            .get(start..end)
            .unwrap_or(&[])
            .iter()
            .map(|sh| shard_view(s, sh))
            .collect();
        let next_token = (end < selected.len()).then(|| {
            let filter_text = filter.as_ref().map(filter_to_text).unwrap_or_default();
            token::seal(
                self.config.token_key,
                &[
                    "ls",
                    &name,
                    &s.incarnation.to_string(),
                    &end.to_string(),
                    &now.as_millis().to_string(),
                    &filter_text,
                ],
            )
        });
        Ok(ShardPage { shards, next_token })
    }

    fn open_next_token(
        &self,
        now: SimTime,
        text: &str,
    ) -> Result<(String, u32, Option<ShardFilter>), KinesisError> {
        let invalid = || KinesisError::invalid_argument(format!("NextToken {text} is invalid."));
        let fields = token::open(self.config.token_key, text).ok_or_else(invalid)?;
        let [kind, name, incarnation, offset, issued, filter] = fields.as_slice() else {
            return Err(invalid());
        };
        if kind != "ls" {
            return Err(invalid());
        }
        let issued_ms: u64 = issued.parse().map_err(|_| invalid())?;
        if now.as_millis() >= issued_ms.saturating_add(NEXT_TOKEN_TTL_MS) {
            return Err(KinesisError::new(
                ErrorType::ExpiredNextTokenException,
                "The timestamp on the NextToken has expired. Please make a new ListShards request.",
            ));
        }
        let stream = self.stream(name)?;
        if stream.incarnation.to_string() != *incarnation {
            return Err(KinesisError::stream_not_found(name));
        }
        let offset = offset.parse().map_err(|_| invalid())?;
        Ok((name.clone(), offset, filter_from_text(filter)))
    }

    /// Tags of a stream in key order, after `exclusive_start_key`, at most `limit`; and whether more follow.
    pub fn list_tags(
        &mut self,
        now: SimTime,
        name: &str,
        exclusive_start_key: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<(String, String)>, bool), KinesisError> {
        self.advance(now);
        let s = self.stream(name)?;
        let tags: Vec<(String, String)> = s
            .tags
            .iter()
            .filter(|(k, _)| exclusive_start_key.is_none_or(|start| k.as_str() > start))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let more = tags.len() > limit as usize;
        Ok((tags.into_iter().take(limit as usize).collect(), more))
    }

    /// AddTagsToStream.
    pub fn add_tags(
        &mut self,
        now: SimTime,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), KinesisError> {
        self.advance(now);
        let s = self.stream_mut(name)?;
        if s.deleting_since.is_some() {
            return Err(KinesisError::stream_not_active(name, "DELETING"));
        }
        if !tags
            .iter()
            .all(|(k, v)| valid_tag_text(k) && valid_tag_text(v))
        {
            return Err(KinesisError::invalid_argument(TAG_CHARACTERS_MESSAGE));
        }
        let new_keys = tags.keys().filter(|k| !s.tags.contains_key(*k)).count();
        if s.tags.len() + new_keys > STREAM_TAGS_MAX as usize {
            return Err(KinesisError::invalid_argument(format!(
                "Failed to add tags to stream {name} under account {ACCOUNT_ID} because a given stream cannot \
                 have more than {STREAM_TAGS_MAX} tags associated with it."
            )));
        }
        for (k, v) in tags {
            s.tags.insert(k.clone(), v.clone());
        }
        Ok(())
    }

    /// RemoveTagsFromStream.
    pub fn remove_tags(
        &mut self,
        now: SimTime,
        name: &str,
        keys: &[String],
    ) -> Result<(), KinesisError> {
        self.advance(now);
        let s = self.stream_mut(name)?;
        if s.deleting_since.is_some() {
            return Err(KinesisError::stream_not_active(name, "DELETING"));
        }
        if !keys.iter().all(|k| valid_tag_text(k)) {
            return Err(KinesisError::invalid_argument(TAG_CHARACTERS_MESSAGE));
        }
        for k in keys {
            s.tags.remove(k);
        }
        Ok(())
    }

    /// Open shards in the account, and the on-demand stream count.
    pub fn limits(&mut self, now: SimTime) -> (u32, u32) {
        self.advance(now);
        (self.open_shards_in_account(), self.on_demand_streams())
    }

    /// IncreaseStreamRetentionPeriod / DecreaseStreamRetentionPeriod.
    pub fn set_retention(
        &mut self,
        now: SimTime,
        name: &str,
        hours: i64,
        increase: bool,
    ) -> Result<(), KinesisError> {
        self.advance(now);
        let s = self.stream_mut(name)?;
        let current = i64::from(s.retention_hours);
        if hours < i64::from(RETENTION_HOURS_MIN) {
            return Err(KinesisError::invalid_argument(format!(
                "Minimum allowed retention period is {RETENTION_HOURS_MIN} hours. Requested retention period \
                 ({hours} hours) is too short."
            )));
        }
        if hours > i64::from(RETENTION_HOURS_MAX) {
            return Err(KinesisError::invalid_argument(format!(
                "Maximum allowed retention period is {RETENTION_HOURS_MAX} hours. Requested retention period \
                 ({hours} hours) is too long."
            )));
        }
        if increase && hours < current {
            return Err(KinesisError::invalid_argument(format!(
                "Requested retention period ({hours} hours) for stream {name} can not be shorter than existing \
                 retention period ({current} hours). Use DecreaseRetentionPeriod API."
            )));
        }
        if !increase && hours > current {
            return Err(KinesisError::invalid_argument(format!(
                "Requested retention period ({hours} hours) for stream {name} can not be longer than existing \
                 retention period ({current} hours). Use IncreaseRetentionPeriod API."
            )));
        }
        s.require_active(now)?;
        // Bounded by RETENTION_HOURS_MAX above.
        s.retention_hours = u32::try_from(hours).unwrap_or(RETENTION_HOURS_MAX);
        s.meter.retention_changed(now, s.retention_hours);
        let freed = s.trim(now);
        self.records_kept_bytes = self.records_kept_bytes.saturating_sub(freed);
        Ok(())
    }

    /// Turns per-shard throughput limits on or off for one stream (a sandbox setting, not an AWS API).
    pub fn set_throughput_limits(
        &mut self,
        now: SimTime,
        name: &str,
        enabled: bool,
    ) -> Result<(), KinesisError> {
        self.advance(now);
        self.stream_mut(name)?.throughput_limits = enabled;
        Ok(())
    }

    /// PutRecord.
    pub fn put_record(
        &mut self,
        now: SimTime,
        name: &str,
        entry: PutEntry,
        sequence_number_for_ordering: Option<&str>,
    ) -> Result<PutResult, KinesisError> {
        self.advance(now);
        let mut kept = KeptBytes {
            bytes: self.records_kept_bytes,
            max: self.config.records_kept_bytes_max,
        };
        let s = self
            .streams
            .get_mut(name)
            .ok_or_else(|| KinesisError::stream_not_found(name))?;
        if !s.accepts_data(now) {
            // AWS answers a put to a stream that is CREATING or DELETING as if the stream did not exist.
            return Err(KinesisError::stream_not_found(name));
        }
        if let Some(text) = sequence_number_for_ordering {
            // Sequence numbers always increase within a shard and a child shard's exceed its parents', so every
            // number issued from now on is greater than any number this stream issued before: what remains to
            // check is that the number was issued by this stream at all.
            let issued = SequenceNumber::parse(text).is_some_and(|q| {
                q.stream_incarnation == s.incarnation
                    && s.shards.get(q.shard_ordinal as usize).is_some_and(|shard| {
                        shard.created_at.as_millis() == q.shard_created_ms
                            && q.record_number <= shard.next_index
                    })
            });
            if !issued {
                return Err(KinesisError::invalid_argument(format!(
                    "ExclusiveMinimumSequenceNumber {text} used in PutRecord on stream {name} under account \
                     {ACCOUNT_ID} is invalid."
                )));
            }
        }
        let result = put_one(s, now, entry, &mut kept).map_err(|e| e.into_error(name));
        self.records_kept_bytes = kept.bytes;
        result
    }

    /// PutRecords: every entry is tried in order; a throttled entry does not stop the others.
    pub fn put_records(
        &mut self,
        now: SimTime,
        name: &str,
        entries: Vec<PutEntry>,
    ) -> Result<Vec<Result<PutResult, KinesisError>>, KinesisError> {
        self.advance(now);
        let mut kept = KeptBytes {
            bytes: self.records_kept_bytes,
            max: self.config.records_kept_bytes_max,
        };
        let s = self
            .streams
            .get_mut(name)
            .ok_or_else(|| KinesisError::stream_not_found(name))?;
        if !s.accepts_data(now) {
            return Err(KinesisError::stream_not_found(name));
        }
        let mut results = Vec::with_capacity(entries.len());
        for entry in entries {
            let result = put_one(s, now, entry, &mut kept).map_err(|failure| {
                if let PutFailure::Throttled { shard } = failure
                    && let Some(shard) = s.shards.get_mut(shard as usize)
                {
                    shard
                        .metrics
                        .add(now, Metric::PutRecordsThrottledRecords, 1);
                }
                failure.into_error(name)
            });
            results.push(result);
        }
        self.records_kept_bytes = kept.bytes;
        Ok(results)
    }

    /// GetShardIterator.
    pub fn get_shard_iterator(
        &mut self,
        now: SimTime,
        name: &str,
        request: IteratorRequest<'_>,
    ) -> Result<String, KinesisError> {
        self.advance(now);
        let epoch = self.epoch_unix_ms;
        let key = self.config.token_key;
        let ordinal = parse_shard_id(request.shard_id).ok_or_else(|| {
            KinesisError::new(
                ErrorType::ResourceNotFoundException,
                format!(
                    "Could not find shard {} in stream {name} under account {ACCOUNT_ID}.",
                    request.shard_id
                ),
            )
        })?;
        let found = self
            .streams
            .get(name)
            .filter(|s| s.accepts_data(now))
            .and_then(|s| {
                s.shards
                    .get(ordinal as usize)
                    .filter(|sh| s.is_kept(sh, now))
                    .map(|shard| (s, shard))
            });
        let Some((s, shard)) = found else {
            return Err(shard_not_found(ordinal, name));
        };

        let position = s.start_position(shard, &request, epoch, "GetShardIterator")?;
        Ok(seal_iterator(key, s, shard.ordinal, position, now))
    }

    /// GetRecords.
    pub fn get_records(
        &mut self,
        now: SimTime,
        iterator: &str,
        limit: u32,
    ) -> Result<GetRecordsResult, KinesisError> {
        let batch = self.get_records_batch(now, iterator, limit)?;
        let records = batch
            .records()
            .map(|(seq, r)| (seq.to_string(), r.clone()))
            .collect();
        Ok(GetRecordsResult {
            records,
            next_shard_iterator: batch.next_shard_iterator,
            millis_behind_latest: batch.millis_behind_latest,
            child_shards: batch.child_shards,
        })
    }

    /// GetRecords without copying: the records stay borrowed from their shard and their sequence numbers are
    /// not rendered, for readers inside the simulator that look at a few of them (a polling consumer keeps the
    /// last 50 it read). Limits, metering, metrics and errors are [`DataStreams::get_records`]'s.
    pub fn get_records_batch(
        &mut self,
        now: SimTime,
        iterator: &str,
        limit: u32,
    ) -> Result<RecordsBatch<'_>, KinesisError> {
        self.advance(now);
        let key = self.config.token_key;
        let it = open_iterator(key, iterator)?;
        // Expired once more than the tolerated delay has passed.
        if now.as_millis() > it.issued_ms.saturating_add(ITERATOR_TTL_MS) {
            let issued = format_unix_ms_java_date(self.epoch_unix_ms.saturating_add(it.issued_ms));
            let current =
                format_unix_ms_java_date(self.epoch_unix_ms.saturating_add(now.as_millis()));
            return Err(KinesisError::new(
                ErrorType::ExpiredIteratorException,
                format!(
                    "Iterator expired. The iterator was created at time {issued} while right now it is {current} \
                     which is further in the future than the tolerated delay of {ITERATOR_TTL_MS} milliseconds."
                ),
            ));
        }
        let gone = || shard_not_found(it.shard, &it.stream);
        let s = self
            .streams
            .get_mut(&it.stream)
            .filter(|s| s.incarnation == it.incarnation && s.accepts_data(now))
            .ok_or_else(gone)?;
        let limits = s.throughput_limits;
        let stream_name = s.name.clone();
        let Some(shard) = s.shards.get_mut(it.shard as usize) else {
            return Err(gone());
        };
        if limits
            && let Err(ReadRefusal::TooManyCalls | ReadRefusal::BytesOverdrawn { .. }) =
                shard.read.begin_call(now, SHARD_READ_CALLS_PER_S_MAX)
        {
            shard
                .metrics
                .add(now, Metric::ReadProvisionedThroughputExceeded, 1);
            return Err(KinesisError::rate_exceeded(
                &shard_id(shard.ordinal),
                &stream_name,
            ));
        }
        let start = it.position.max(shard.first_index());
        let skip = usize::try_from(start - shard.first_index()).unwrap_or(usize::MAX);
        let mut bytes = 0u64;
        let mut count = 0usize;
        // `range` starts at the position in O(1); a position past the tip reads nothing.
        let skip = skip.min(shard.records.len());
        for record in shard.records.range(skip..) {
            let size = billing::record_size(record);
            if count >= limit as usize || (count > 0 && bytes + size > GET_RECORDS_BYTES_MAX) {
                break;
            }
            bytes += size;
            count += 1;
        }
        let taken = skip..skip + count;
        let next = start + count as u64;
        s.meter.read(
            s.mode,
            shard.records.range(taken.clone()).map(billing::record_size),
        );
        shard.metrics.add(now, Metric::GetRecordsBytes, bytes);
        shard
            .metrics
            .add(now, Metric::GetRecordsRecords, count as u64);
        if limits {
            shard.read.charge(now, bytes, SHARD_READ_BYTES_PER_S_MAX);
        }
        let millis_behind_latest = shard
            .records
            .get(usize::try_from(next - shard.first_index()).unwrap_or(usize::MAX))
            .map_or(0, |r| now.saturating_since(r.arrival).as_millis());
        let iterator_age_ms = shard
            .records
            .range(taken.clone())
            .next()
            .map_or(0, |r| now.saturating_since(r.arrival).as_millis());
        shard.metrics.max(
            now,
            Metric::GetRecordsIteratorAgeMilliseconds,
            iterator_age_ms,
        );
        let closed_and_done = shard.closed_at.is_some() && next >= shard.next_index;
        let ordinal = shard.ordinal;
        let s = &*s;
        let shard = &s.shards[ordinal as usize];
        Ok(RecordsBatch {
            records: shard.records.range(taken),
            sequence_base: s.position_sequence_number(shard, 0),
            next_shard_iterator: (!closed_and_done)
                .then(|| seal_iterator(key, s, ordinal, next, now)),
            millis_behind_latest,
            child_shards: if closed_and_done {
                s.children_of(ordinal)
            } else {
                Vec::new()
            },
        })
    }

    /// Per-minute metrics of a stream, summed over its shards: (minute start, metric, value), in order.
    pub fn stream_metrics(&self, name: &str) -> Result<Vec<(SimTime, Metric, u64)>, KinesisError> {
        let s = self.stream(name)?;
        let mut sums: BTreeMap<(SimTime, Metric), u64> = BTreeMap::new();
        for shard in &s.shards {
            for (minute, metric, value) in shard.metrics.iter() {
                let slot = sums.entry((minute, metric)).or_insert(0);
                *slot = if metric.is_max() {
                    (*slot).max(value)
                } else {
                    *slot + value
                };
            }
        }
        Ok(sums.into_iter().map(|((m, k), v)| (m, k, v)).collect())
    }

    /// Per-minute metrics of one shard.
    pub fn shard_metrics(
        &self,
        name: &str,
        shard: &str,
    ) -> Result<Vec<(SimTime, Metric, u64)>, KinesisError> {
        let s = self.stream(name)?;
        let sh = s
            .shard(shard)
            .ok_or_else(|| KinesisError::stream_not_found(name))?;
        Ok(sh.metrics.iter().collect())
    }

    /// Names of all streams, in order.
    pub fn stream_names(&self) -> impl Iterator<Item = &str> {
        self.streams.keys().map(String::as_str)
    }

    /// Records kept in a shard (for invariant checks and the UI).
    pub fn shard_records(&self, name: &str, shard: &str) -> Option<&VecDeque<Record>> {
        Some(&self.streams.get(name)?.shard(shard)?.records)
    }

    /// Every shard's kept records, stream by stream in name order and shard by shard in ordinal order: what
    /// persistence stores apart from the rest of a snapshot, in segments.
    pub fn record_shards(&self) -> impl Iterator<Item = ShardRecords<'_>> {
        self.streams.values().flat_map(|stream| {
            stream.shards.iter().map(move |shard| ShardRecords {
                stream: &stream.name,
                incarnation: stream.incarnation,
                ordinal: shard.ordinal,
                next_index: shard.next_index,
                records: &shard.records,
            })
        })
    }

    /// Moves every shard's records out, in [`DataStreams::record_shards`] order, so the rest of the service
    /// serializes without them; [`DataStreams::put_back_records`] returns them. Nothing else may run in between
    /// (the count of kept bytes still includes them).
    pub fn take_records(&mut self) -> Vec<VecDeque<Record>> {
        self.streams
            .values_mut()
            .flat_map(|stream| stream.shards.iter_mut())
            .map(|shard| std::mem::take(&mut shard.records))
            .collect()
    }

    /// Returns what [`DataStreams::take_records`] took, in the same order.
    pub fn put_back_records(&mut self, taken: Vec<VecDeque<Record>>) {
        let shards = self
            .streams
            .values_mut()
            .flat_map(|stream| stream.shards.iter_mut());
        for (shard, records) in shards.zip(taken) {
            shard.records = records;
        }
    }

    /// Puts a shard's records back after a restore from storage (the shard came back without them). They must be
    /// consecutive and end just before the shard's next index; otherwise nothing changes and the error says why.
    pub fn restore_records(
        &mut self,
        stream: &str,
        incarnation: u64,
        ordinal: u32,
        records: VecDeque<Record>,
    ) -> Result<(), String> {
        let Some(s) = self
            .streams
            .get_mut(stream)
            .filter(|s| s.incarnation == incarnation)
        else {
            return Err(format!("no stream {stream} (incarnation {incarnation})"));
        };
        let Some(shard) = usize::try_from(ordinal)
            .ok()
            .and_then(|i| s.shards.get_mut(i))
        else {
            return Err(format!("stream {stream} has no shard {ordinal}"));
        };
        let first = shard.next_index.checked_sub(records.len() as u64);
        let consecutive = first.is_some_and(|first| {
            records
                .iter()
                .zip(first..)
                .all(|(record, index)| record.index == index)
        });
        if !consecutive {
            return Err(format!(
                "records of {stream} shard {ordinal} are not consecutive up to index {}",
                shard.next_index
            ));
        }
        let before = shard.kept_bytes();
        shard.records = records;
        let after = shard.kept_bytes();
        self.records_kept_bytes = self
            .records_kept_bytes
            .saturating_sub(before)
            .saturating_add(after);
        Ok(())
    }

    /// A stream's summary at `now`, read-only (for the UI, which must not move time itself).
    pub fn stream_view(&self, name: &str, now: SimTime) -> Option<StreamView> {
        Some(self.streams.get(name)?.view(now))
    }

    /// Every shard of a stream still kept at `now` (open, or closed within retention), in id order, read-only;
    /// with whether each is open and when it was created. For the UI's shard map and lineage.
    pub fn shard_views(&self, name: &str, now: SimTime) -> Vec<(ShardView, bool, SimTime)> {
        self.streams.get(name).map_or_else(Vec::new, |s| {
            s.shards
                .iter()
                .filter(|sh| s.is_kept(sh, now))
                .map(|sh| (shard_view(s, sh), sh.is_open(), sh.created_at))
                .collect()
        })
    }

    /// One shard's value of `metric` in minute `minute` (minutes since simulated zero); 0 when none was recorded.
    pub fn shard_metric_minute(&self, name: &str, shard: &str, minute: u64, metric: Metric) -> u64 {
        self.streams
            .get(name)
            .and_then(|s| s.shard(shard))
            .map_or(0, |sh| sh.metrics.minute_value(minute, metric))
    }

    /// The sequence number of the record at `index` in a shard (the UI's record inspector).
    pub fn record_sequence_number(&self, name: &str, shard: &str, index: u64) -> Option<String> {
        let s = self.streams.get(name)?;
        let sh = s.shard(shard)?;
        Some(s.sequence_number(sh, index).to_string())
    }

    /// Hash-key ranges of a stream's open shards, in hash-key order.
    pub fn open_ranges(&self, name: &str) -> Vec<HashKeyRange> {
        self.streams.get(name).map_or_else(Vec::new, |s| {
            let mut ranges: Vec<HashKeyRange> = s
                .shards
                .iter()
                .filter(|sh| sh.is_open())
                .map(|sh| sh.range)
                .collect();
            ranges.sort_unstable();
            ranges
        })
    }
}

/// Where ListShards starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListShardsFrom<'a> {
    /// A stream by name, optionally after a shard.
    Stream {
        /// The stream.
        name: &'a str,
        /// Start after this shard.
        exclusive_start_shard_id: Option<&'a str>,
    },
    /// A `NextToken` from an earlier page.
    Token(&'a str),
}

fn shard_not_found(ordinal: u32, stream: &str) -> KinesisError {
    KinesisError::new(
        ErrorType::ResourceNotFoundException,
        format!(
            "Shard {} in stream {stream} under account {ACCOUNT_ID} does not exist",
            shard_id(ordinal)
        ),
    )
}

/// AWS's message for tags with characters outside [`valid_tag_text`].
const TAG_CHARACTERS_MESSAGE: &str = "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.";

/// Characters AWS allows in tag keys and values: Unicode letters, digits, white space and `_ . / = + - % @ :`.
fn valid_tag_text(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_alphanumeric()
            || c.is_whitespace()
            || matches!(c, '_' | '.' | '/' | '=' | '+' | '-' | '%' | '@' | ':')
    })
}

fn open_at(shard: &Shard, at: SimTime) -> bool {
    shard.created_at <= at && shard.closed_at.is_none_or(|c| c > at)
}

fn filter_to_text(filter: &ShardFilter) -> String {
    match filter {
        ShardFilter::AfterShardId(id) => format!("AFTER_SHARD_ID:{id}"),
        ShardFilter::AtTrimHorizon => "AT_TRIM_HORIZON".into(),
        ShardFilter::FromTrimHorizon => "FROM_TRIM_HORIZON".into(),
        ShardFilter::AtLatest => "AT_LATEST".into(),
        ShardFilter::AtTimestamp(t) => format!("AT_TIMESTAMP:{t}"),
        ShardFilter::FromTimestamp(t) => format!("FROM_TIMESTAMP:{t}"),
    }
}

fn filter_from_text(text: &str) -> Option<ShardFilter> {
    let (kind, arg) = text.split_once(':').unwrap_or((text, ""));
    match kind {
        "AFTER_SHARD_ID" => Some(ShardFilter::AfterShardId(arg.to_string())),
        "AT_TRIM_HORIZON" => Some(ShardFilter::AtTrimHorizon),
        "FROM_TRIM_HORIZON" => Some(ShardFilter::FromTrimHorizon),
        "AT_LATEST" => Some(ShardFilter::AtLatest),
        "AT_TIMESTAMP" => arg.parse().ok().map(ShardFilter::AtTimestamp),
        "FROM_TIMESTAMP" => arg.parse().ok().map(ShardFilter::FromTimestamp),
        _ => None,
    }
}

fn shard_view(s: &Stream, sh: &Shard) -> ShardView {
    ShardView {
        shard_id: shard_id(sh.ordinal),
        parent_shard_id: sh.parent.map(shard_id),
        adjacent_parent_shard_id: sh.adjacent_parent.map(shard_id),
        hash_key_range: sh.range,
        starting_sequence_number: s.position_sequence_number(sh, 0).to_string(),
        ending_sequence_number: sh
            .closed_at
            .map(|_| s.position_sequence_number(sh, sh.next_index).to_string()),
    }
}

/// Why one record was not written.
#[derive(Clone, Copy)]
enum PutFailure {
    Throttled {
        shard: u32,
    },
    TooLarge {
        size: u64,
    },
    NoOpenShard,
    SequenceSpaceExhausted,
    /// The session's bound on kept record bytes would be passed.
    RecordsKeptFull {
        kept: u64,
        max: u64,
        cost: u64,
    },
}

/// The running count of kept record bytes and its bound, as a put sees them.
struct KeptBytes {
    bytes: u64,
    max: u64,
}

/// What a record counts toward the session's bound on kept records: data plus partition key plus
/// [`RECORD_OVERHEAD_BYTES`].
pub fn record_kept_bytes(r: &Record) -> u64 {
    billing::record_size(r).saturating_add(RECORD_OVERHEAD_BYTES)
}

/// `bytes` in MiB with one decimal, rounded down (integer arithmetic: `12.3 MiB`).
pub fn format_mib(bytes: u64) -> String {
    let tenths = u128::from(bytes) * 10 / u128::from(MIB_BYTES);
    format!("{}.{} MiB", tenths / 10, tenths % 10)
}

impl PutFailure {
    fn into_error(self, stream: &str) -> KinesisError {
        match self {
            PutFailure::Throttled { shard } => {
                KinesisError::rate_exceeded(&shard_id(shard), stream)
            }
            PutFailure::TooLarge { size } => KinesisError::new(
                ErrorType::InvalidArgumentException,
                format!(
                    "The record is {size} bytes, data plus partition key; a record may be at most \
                     {RECORD_BYTES_MAX} bytes."
                ),
            ),
            PutFailure::NoOpenShard => KinesisError::new(
                ErrorType::InternalFailure,
                "Internal service failure: no open shard holds the hash key.",
            ),
            PutFailure::SequenceSpaceExhausted => KinesisError::new(
                ErrorType::InternalFailure,
                "Internal service failure: the shard has no sequence numbers left.",
            ),
            PutFailure::RecordsKeptFull { kept, max, cost } => KinesisError::new(
                ErrorType::InternalFailure,
                format!(
                    "Internal service failure: kinesim keeps at most {max} bytes ({}) of records across all \
                     streams and holds {kept} bytes ({}); this record needs {cost} more (data plus partition key \
                     plus {RECORD_OVERHEAD_BYTES}). Delete a stream, lower a stream's retention, or wait for \
                     retention to expire records (a library user may raise StreamsConfig.records_kept_bytes_max). \
                     This bound is the simulator's, not AWS's.",
                    format_mib(max),
                    format_mib(kept)
                ),
            ),
        }
    }
}

fn put_one(
    s: &mut Stream,
    now: SimTime,
    entry: PutEntry,
    kept: &mut KeptBytes,
) -> Result<PutResult, PutFailure> {
    let size = entry.data.len() as u64 + entry.partition_key.len() as u64;
    if size > RECORD_BYTES_MAX {
        return Err(PutFailure::TooLarge { size });
    }
    let hash = entry
        .explicit_hash_key
        .unwrap_or_else(|| partition_key_hash(&entry.partition_key));
    let at = s.shard_for_hash(hash).ok_or(PutFailure::NoOpenShard)?;
    let limits = s.throughput_limits;
    let mode = s.mode;
    let shard = &mut s.shards[at];
    if shard.ordinal > SHARD_ORDINAL_MAX || shard.next_index == u64::MAX {
        return Err(PutFailure::SequenceSpaceExhausted);
    }
    // Refused before the throughput window counts it: a refused record uses no write capacity.
    let cost = size.saturating_add(RECORD_OVERHEAD_BYTES);
    if kept.bytes.saturating_add(cost) > kept.max {
        return Err(PutFailure::RecordsKeptFull {
            kept: kept.bytes,
            max: kept.max,
            cost,
        });
    }
    if limits {
        let accepted = shard.write.try_accept(
            now,
            size,
            1,
            SHARD_WRITE_BYTES_PER_S_MAX,
            SHARD_WRITE_RECORDS_PER_S_MAX,
        );
        if !accepted {
            shard
                .metrics
                .add(now, Metric::WriteProvisionedThroughputExceeded, 1);
            return Err(PutFailure::Throttled {
                shard: shard.ordinal,
            });
        }
    }
    let index = shard.next_index;
    shard.next_index += 1;
    shard.metrics.add(now, Metric::IncomingBytes, size);
    shard.metrics.add(now, Metric::IncomingRecords, 1);
    shard.records.push_back(Record {
        index,
        arrival: now,
        partition_key: entry.partition_key,
        data: entry.data,
    });
    kept.bytes = kept.bytes.saturating_add(cost);
    let ordinal = shard.ordinal;
    s.meter.put(mode, size);
    let shard = &s.shards[at];
    Ok(PutResult {
        shard_ordinal: ordinal,
        sequence_number: s.sequence_number(shard, index),
    })
}

struct OpenIterator {
    stream: String,
    incarnation: u64,
    shard: u32,
    position: u64,
    issued_ms: u64,
}

fn seal_iterator(key: u64, s: &Stream, shard: u32, position: u64, now: SimTime) -> String {
    token::seal(
        key,
        &[
            "it",
            &s.name,
            &s.incarnation.to_string(),
            &shard.to_string(),
            &position.to_string(),
            &now.as_millis().to_string(),
        ],
    )
}

fn open_iterator(key: u64, text: &str) -> Result<OpenIterator, KinesisError> {
    let invalid = || KinesisError::invalid_argument("Invalid ShardIterator.");
    let fields = token::open(key, text).ok_or_else(invalid)?;
    let [kind, stream, incarnation, shard, position, issued] = fields.as_slice() else {
        return Err(invalid());
    };
    if kind != "it" {
        return Err(invalid());
    }
    Ok(OpenIterator {
        stream: stream.clone(),
        incarnation: incarnation.parse().map_err(|_| invalid())?,
        shard: shard.parse().map_err(|_| invalid())?,
        position: position.parse().map_err(|_| invalid())?,
        issued_ms: issued.parse().map_err(|_| invalid())?,
    })
}
