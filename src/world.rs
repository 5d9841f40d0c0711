//! The `World`: the one owner of all simulation state.
//!
//! The shell hands it commands together with the current simulated time ([`World::apply`]), moves time forward
//! ([`World::advance_to`], [`World::step`]) and asks when the world next needs to run ([`World::poll_timeout`]).
//! Everything the world does is recorded in an event log whose running SHA-256 ([`World::event_log_hash`]) is the
//! fingerprint of a run: the same seed and the same commands give the same hash, natively and on wasm32.
//!
//! Services (Data Streams, Firehose, Analytics) plug in here as they are built; the kernel commands below
//! (notes, alarms, tickers, random draws) are what scripted scenarios and the UI's clock demo drive today.
#![deny(clippy::float_arithmetic)]

use crate::api::{ApiResponse, firehose as firehose_api, kinesis};
use crate::firehose::http_endpoint::Transport;
use crate::firehose::service::{
    DirectRecord, FirehoseEvent, FirehoseEventKind, PendingHttpRequest, TransformRequest,
};
use crate::firehose::transform::InvocationOutcome;
use crate::firehose::{DeliveryStreams, FirehoseConfig};

/// How a Firehose transform invocation ended, as the shell reports it (owned, so it can be journaled).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value")]
pub enum TransformOutcome {
    /// The function returned this JSON body.
    Returned(String),
    /// The function threw (the message) or crashed.
    FunctionError(String),
    /// The function ran past its time limit.
    Timeout,
    /// Lambda throttled the call.
    Throttled,
}
use crate::sim::{DisplayEpoch, SimDuration, SimRng, SimTime, TimerId, TimerQueue};
use crate::streams::service::StreamsConfig;
use crate::streams::service::{IteratorRequest, IteratorType};
use crate::streams::{DataStreams, KinesisError};
use crate::workload::consumer::{PollingConsumer, StartPosition};
use crate::workload::generator::{Generator, GeneratorSpec};
use crate::workload::lambda::{
    EsmConfig, EventSourceMapping, FunctionResult, Invocation, LambdaError,
};
use crate::workload::producer::Producer;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

mod analytics;
pub use analytics::{
    ANALYTICS_APPLICATIONS_MAX, ANALYTICS_DISCOVERY_SAMPLES_MAX, ANALYTICS_KPU_INPUT_BYTES_PER_S,
    ANALYTICS_KPU_STEP_MS, ANALYTICS_KPUS_MAX, ANALYTICS_KPUS_MIN, ANALYTICS_NAME_LENGTH_MAX_CHARS,
    ANALYTICS_OUTPUTS_MAX, ANALYTICS_READ_INTERVAL_MS, ANALYTICS_READ_RECORDS_MAX,
    ANALYTICS_ROWS_RECENT_MAX, ANALYTICS_SQL_LENGTH_MAX_CHARS, AnalyticsApp, AnalyticsCounts,
    AnalyticsDestination, AnalyticsInput, AnalyticsOutput, AnalyticsStatus, OutputFormat,
    analytics_kpus_for_step_bytes, encode_row,
};
mod efo;
pub use efo::{
    EFO_POLL_INTERVAL_MS, EFO_RATE_WINDOW_MS, EFO_RESUBSCRIBE_DELAY_MS, EFO_SUBSCRIBERS_MAX,
    EfoShard, EfoSubscriber, efo_key,
};
mod sources;
pub use sources::{
    CWL_DESTINATION_NOT_ACTIVE_MESSAGE, CWL_EVENTS_PER_S_MAX, FIREHOSE_SOURCE_TICK_MS,
    FIREHOSE_SOURCES_MAX, FirehoseSourceEntry, IOT_DEVICES_MAX, IOT_MESSAGES_PER_S_MAX, SourceKind,
    SourceStats,
};
mod kcl;
pub use kcl::{
    KCL_APPLICATIONS_MAX, KCL_FAILOVER_TIME_MS_MAX, KCL_FAILOVER_TIME_MS_MIN,
    KCL_NAME_LENGTH_MAX_CHARS, KCL_RECENT_RECORDS_MAX, KCL_START_WORKERS_MAX, KPL_PRODUCERS_MAX,
    KPL_TICK_MS, KclAppEntry, KclCounts, KplEntry, ProcessedRecord, WorldProcessor, kcl_event_text,
    kcl_worker_id,
};

/// Longest timer name, in Unicode characters.
pub const TIMER_NAME_LENGTH_MAX_CHARS: u32 = 128;
/// Longest RNG stream name, in Unicode characters.
pub const RNG_STREAM_NAME_LENGTH_MAX_CHARS: u32 = 128;
/// Longest note, in Unicode characters.
pub const NOTE_LENGTH_MAX_CHARS: u32 = 1_024;
/// Latest a timer may be set ahead of now, in milliseconds (366 days: past Kinesis's longest retention, 8,760 h).
pub const TIMER_DELAY_MAX_MS: u64 = 366 * 24 * 60 * 60 * 1_000;
/// Most named RNG streams a world keeps.
pub const RNG_STREAMS_MAX: u32 = 1_024;
/// Default bound on pending timers.
pub const TIMERS_PENDING_MAX_DEFAULT: u32 = 100_000;
/// Default number of most recent events kept in memory (all events, kept or not, are in the hash).
pub const EVENTS_RETAINED_MAX_DEFAULT: u32 = 10_000;

/// Longest function name of [`Command::SetFunctionCode`], in characters (Lambda's `FunctionName` limit).
pub const FUNCTION_NAME_LENGTH_MAX_CHARS: u32 = 64;
/// Largest function source of [`Command::SetFunctionCode`], in bytes (the simulator's bound).
pub const FUNCTION_CODE_BYTES_MAX: u64 = 65_536;
/// Longest function time limit, in milliseconds (Lambda's 900-second maximum).
pub const FUNCTION_TIMEOUT_MS_MAX: u32 = 900_000;

/// How a world is set up. Part of a run's identity: the same configuration and commands give the same run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorldConfig {
    /// The root seed every random decision derives from.
    pub seed: u64,
    /// What calendar time simulated time zero stands for.
    pub epoch: DisplayEpoch,
    /// Bound on pending timers; scheduling past it is refused.
    pub timers_pending_max: u32,
    /// How many of the most recent events stay readable through [`World::events`].
    pub events_retained_max: u32,
    /// Kinesis Data Streams settings (delays, limits). Its `token_key` is derived from the seed.
    pub streams: StreamsConfig,
    /// Firehose settings (delays, classic buffering).
    #[serde(default)]
    pub firehose: FirehoseConfig,
}

impl WorldConfig {
    /// Defaults with the given seed.
    pub fn with_seed(seed: u64) -> Self {
        WorldConfig {
            seed,
            epoch: DisplayEpoch::DEFAULT,
            timers_pending_max: TIMERS_PENDING_MAX_DEFAULT,
            events_retained_max: EVENTS_RETAINED_MAX_DEFAULT,
            streams: StreamsConfig::default(),
            firehose: FirehoseConfig::default(),
        }
    }
}

/// An input to the world. Serializable so runs can be scripted, journaled and replayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Command {
    /// Writes a note into the event log (an annotation in a scenario or a lesson).
    Note {
        /// 1..=1024 characters.
        text: String,
    },
    /// Sets (or, with empty `code`, removes) the JavaScript source of a function the shell runs for Firehose
    /// transforms (a delivery stream's Lambda processor names it by `LambdaArn`; the registry is keyed by the
    /// function name, the ARN's last part). The code persists with the session; what it returned is journaled
    /// when the transform completes, so a replay never runs it.
    SetFunctionCode {
        /// The function name, 1..=64 characters.
        name: String,
        /// `async (event, context) => result`, at most 64 KiB; empty removes the function.
        code: String,
        /// The time limit in real milliseconds, 1..=900,000.
        timeout_ms: u32,
    },
    /// Fires once, `delay_ms` after now.
    SetAlarm {
        /// Unique among pending alarms and running tickers; 1..=128 characters.
        name: String,
        /// 0..=[`TIMER_DELAY_MAX_MS`].
        delay_ms: u64,
    },
    /// Fires every `period_ms` plus a random `0..=jitter_ms`, drawn from the ticker's own RNG stream.
    StartTicker {
        /// Unique among pending alarms and running tickers; 1..=128 characters.
        name: String,
        /// 1..=[`TIMER_DELAY_MAX_MS`].
        period_ms: u64,
        /// 0..=[`TIMER_DELAY_MAX_MS`].
        jitter_ms: u64,
    },
    /// Cancels the alarm or stops the ticker with this name.
    Cancel {
        /// The alarm's or ticker's name.
        name: String,
    },
    /// Draws a uniform number in `0..bound` from the named RNG stream (forked from the root seed by name).
    Draw {
        /// 1..=128 characters.
        stream: String,
        /// At least 1.
        bound: u64,
    },
    /// Starts a producer that writes generated records to a stream with PutRecords every 100 simulated ms.
    StartProducer {
        /// Unique among producers; 1..=128 characters.
        name: String,
        /// The stream it writes to.
        stream: String,
        /// Records per second.
        records_per_s: u32,
        /// What it writes (its random draws come from the RNG stream `producer/{name}`).
        spec: GeneratorSpec,
    },
    /// Stops a producer (its counts stay readable until a producer of the same name starts).
    StopProducer {
        /// Its name.
        name: String,
    },
    /// Starts a polling consumer: GetShardIterator on each shard, then GetRecords every `poll_interval_ms`.
    StartConsumer {
        /// Unique among consumers; 1..=128 characters.
        name: String,
        /// The stream it reads.
        stream: String,
        /// Where it starts.
        start: StartPosition,
        /// Time between polls.
        poll_interval_ms: u64,
    },
    /// Makes a running consumer start over from another position (replay).
    ReplayConsumer {
        /// Its name.
        name: String,
        /// Where it starts again.
        start: StartPosition,
    },
    /// Stops a consumer.
    StopConsumer {
        /// Its name.
        name: String,
    },
    /// Creates an analytics (SQL) application that reads `input` and runs `sql` on simulated time.
    CreateAnalyticsApplication {
        /// Unique among applications; 1..=128 characters.
        name: String,
        /// The application code (in-application streams and pumps).
        sql: String,
        /// What it reads.
        input: AnalyticsInput,
        /// The input schema; `None` discovers it from the first records read.
        #[serde(default)]
        schema: Option<crate::analytics::InputSchema>,
        /// Where its in-application streams go (at most three).
        #[serde(default)]
        outputs: Vec<AnalyticsOutput>,
    },
    /// Stops an analytics application; its rows stay readable.
    StopAnalyticsApplication {
        /// Its name.
        name: String,
    },
    /// Deletes an analytics application.
    DeleteAnalyticsApplication {
        /// Its name.
        name: String,
    },
    /// Starts a KCL-style consumer application: `workers` workers (`worker-1` ..) sharing the stream's shards
    /// through a lease table, processing from TRIM_HORIZON and checkpointing after every batch.
    StartKclApplication {
        /// Unique among running applications; 1..=128 characters.
        name: String,
        /// The stream it reads.
        stream: String,
        /// 1..=[`KCL_START_WORKERS_MAX`] workers.
        workers: u32,
        /// `failoverTimeMillis`; `None` is the KCL's default, 10,000 ms.
        #[serde(default)]
        failover_time_ms: Option<u64>,
        /// The lease table's name; `None` is the application's name (the KCL's default).
        #[serde(default)]
        lease_table: Option<String>,
    },
    /// Kills a worker of a KCL application: it stops at once, without releasing or checkpointing.
    KillKclWorker {
        /// The application.
        application: String,
        /// The worker (`worker-1` ..).
        worker: String,
    },
    /// Restarts a killed worker of a KCL application.
    RestartKclWorker {
        /// The application.
        application: String,
        /// The worker.
        worker: String,
    },
    /// Stops a KCL application: every running worker shuts down gracefully (checkpoints, releases its leases).
    StopKclApplication {
        /// Its name.
        name: String,
    },
    /// Starts a KPL-style producer: generated user records at `records_per_s`, aggregated (or not) and batched into
    /// PutRecords calls, throttled ones retried after a back-off.
    StartKplProducer {
        /// Unique among running KPL producers; 1..=128 characters.
        name: String,
        /// The stream it writes to.
        stream: String,
        /// User records per second.
        records_per_s: u32,
        /// What it writes (its random draws come from the RNG stream `kpl/{name}/records`).
        spec: GeneratorSpec,
        /// KPL `AggregationEnabled`.
        aggregation: bool,
    },
    /// Stops a KPL producer; user records still buffered are dropped.
    StopKplProducer {
        /// Its name.
        name: String,
    },
    /// Makes a registered (ACTIVE) enhanced fan-out consumer subscribe to every open shard of its stream from
    /// TRIM_HORIZON, read what is pushed, re-subscribe every 5 minutes and follow child shards.
    SubscribeFanOutConsumer {
        /// The stream.
        stream: String,
        /// The registered consumer's name.
        consumer: String,
    },
    /// Stops a fan-out consumer's subscriptions (it stays registered).
    UnsubscribeFanOutConsumer {
        /// The stream.
        stream: String,
        /// The consumer's name.
        consumer: String,
    },
    /// Starts a CloudWatch Logs subscription filter that sends to a Direct PUT delivery stream (which must be
    /// ACTIVE): the CONTROL_MESSAGE at once, then every second one gzip-compressed DATA_MESSAGE with that second's
    /// log events as a PutRecord call, counted against the Direct PUT quotas.
    StartCloudWatchLogsSubscription {
        /// Unique among Firehose sources; 1..=128 characters.
        name: String,
        /// The delivery stream.
        delivery_stream: String,
        /// The log group, e.g. `/aws/lambda/checkout`.
        log_group: String,
        /// The log stream.
        log_stream: String,
        /// The subscription filter's name; `None` is `to-firehose`.
        #[serde(default)]
        filter_name: Option<String>,
        /// Log events per second, 1..=[`CWL_EVENTS_PER_S_MAX`] (its random draws come from the RNG stream
        /// `firehose-source/{name}`).
        events_per_s: u32,
    },
    /// Starts an AWS IoT rule with a Firehose action: devices publish telemetry on `topic`; each message the rule's
    /// `FROM` filter matches is sent as its `SELECT` result plus the separator, one PutRecord per message (or
    /// PutRecordBatch calls with `batch_mode`), every second, counted against the Direct PUT quotas.
    StartIotRule {
        /// Unique among Firehose sources; 1..=128 characters.
        name: String,
        /// The delivery stream.
        delivery_stream: String,
        /// The MQTT topic the devices publish on, e.g. `sensors/telemetry`.
        topic: String,
        /// `SELECT * | field, ... FROM 'topic filter'`; `None` is `SELECT * FROM 'TOPIC'`.
        #[serde(default)]
        sql: Option<String>,
        /// Messages per second, 1..=[`IOT_MESSAGES_PER_S_MAX`].
        messages_per_s: u32,
        /// How many devices publish; `None` is 10.
        #[serde(default)]
        devices: Option<u32>,
        /// The action's separator (`\n`, `\t`, `\r\n`, `,` or empty); `None` is `\n`.
        #[serde(default)]
        separator: Option<String>,
        /// The action's `batchMode`.
        #[serde(default)]
        batch_mode: bool,
    },
    /// Stops a Firehose source (its counts stay readable until a source of the same name starts).
    StopFirehoseSource {
        /// Its name.
        name: String,
    },
}

/// What a successful command returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Reply {
    /// Done; nothing to return.
    Done,
    /// A timer was scheduled and will fire at `due`.
    Scheduled {
        /// When it fires.
        due: SimTime,
    },
    /// The number drawn.
    Drawn {
        /// In `0..bound`.
        value: u64,
    },
}

/// Why a command was refused. The world is unchanged apart from the event that records the refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandError {
    /// The kind of problem, named as AWS names its error types.
    pub kind: ErrorKind,
    /// What is wrong and what to change.
    pub message: String,
}

/// Kinds of refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// A value is malformed or out of range.
    InvalidArgumentException,
    /// A limit on how many things may exist was reached.
    LimitExceededException,
    /// The named thing does not exist.
    ResourceNotFoundException,
    /// The named thing already exists.
    ResourceInUseException,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for CommandError {}

impl CommandError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            message: message.into(),
        }
    }
}

/// One entry of the event log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the log, from 0.
    pub seq: u64,
    /// When it happened.
    pub at: SimTime,
    /// What happened.
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EventKind {
    /// A note was written.
    Note {
        /// Its text.
        text: String,
    },
    /// An alarm was set.
    AlarmSet {
        /// Its name.
        name: String,
        /// When it fires.
        due: SimTime,
    },
    /// An alarm fired.
    AlarmFired {
        /// Its name.
        name: String,
    },
    /// A ticker started.
    TickerStarted {
        /// Its name.
        name: String,
        /// Base period.
        period_ms: u64,
        /// Largest extra random delay.
        jitter_ms: u64,
        /// Its first firing.
        due: SimTime,
    },
    /// A ticker fired and was re-armed.
    TickerFired {
        /// Its name.
        name: String,
        /// How many times it has fired, this one included.
        count: u64,
        /// Its next firing.
        next_due: SimTime,
    },
    /// An alarm or ticker was cancelled.
    Cancelled {
        /// Its name.
        name: String,
    },
    /// A number was drawn.
    Drawn {
        /// The RNG stream.
        stream: String,
        /// The exclusive upper bound.
        bound: u64,
        /// The number.
        value: u64,
    },
    /// A command was refused.
    Rejected {
        /// The refusal.
        error: CommandError,
    },
    /// A producer started.
    ProducerStarted {
        /// Its name.
        name: String,
        /// Its stream.
        stream: String,
        /// Records per second.
        records_per_s: u32,
    },
    /// A producer stopped (by command, or at the end of its log file).
    ProducerStopped {
        /// Its name.
        name: String,
        /// Records acknowledged in all.
        acknowledged: u64,
        /// Records throttled in all.
        throttled: u64,
    },
    /// A consumer started or was replayed.
    ConsumerStarted {
        /// Its name.
        name: String,
        /// Its stream.
        stream: String,
        /// The iterator type it started with.
        iterator_type: String,
    },
    /// A consumer stopped.
    ConsumerStopped {
        /// Its name.
        name: String,
        /// Records read in all.
        records: u64,
    },
    /// An AWS API call was answered.
    ApiCall {
        /// `kinesis`, `firehose`, ...
        service: String,
        /// The operation, as in `X-Amz-Target`.
        operation: String,
        /// The HTTP status of the answer.
        status: u16,
        /// The error type, when it failed.
        error: Option<String>,
        /// The first 16 hex digits of the SHA-256 of the response body: the answer's fingerprint.
        response_sha256: String,
    },
    /// Firehose did something on its own: a flush (with its reason), an S3 object or HTTP endpoint delivery, error
    /// output, a transform or HTTP request handed to the shell, a retry. The typed event is in
    /// [`World::firehose_events`].
    Firehose {
        /// The delivery stream.
        delivery_stream: String,
        /// What happened (`flushed`, `delivered to S3`, `error output`, `transform requested`, `HTTP request`,
        /// `HTTP retry`, `delivered to HTTP endpoint`, `HTTP 413, discarded`).
        what: String,
        /// The particulars: the reason and size of a flush, the object key, the request id and attempt, ...
        detail: String,
    },
    /// A Lambda event-source mapping was created or deleted, or one of its invocations completed.
    LambdaMapping {
        /// The mapping's UUID.
        uuid: String,
        /// `created`, `deleted` or `invocation N`.
        action: String,
        /// Function and source, or how the invocation ended.
        detail: String,
    },
    /// An analytics application was created, stopped or deleted, discovered its schema, failed, or emitted error
    /// rows or could not deliver.
    Analytics {
        /// The application's name.
        name: String,
        /// `created`, `schema discovered`, `failed`, `stopped`, `deleted`, `error rows`, `delivery failed`.
        action: String,
        /// What it reads, the schema, the error, or the counts.
        detail: String,
    },
    /// A KCL application started, stopped, had a worker killed or restarted, or its group did something: a lease
    /// created, taken, stolen, taken after it expired, renewed, lost or deleted; records processed; a checkpoint.
    Kcl {
        /// The application.
        application: String,
        /// `started`, `stopped`, `worker killed`, `worker restarted`, `lease created`, `lease taken`,
        /// `lease stolen`, `lease expired`, `lease reclaimed`, `leases renewed`, `lease lost`, `lease deleted`,
        /// `records processed`, `checkpoint`, `shard ended`.
        action: String,
        /// The particulars.
        detail: String,
    },
    /// A KPL producer started or stopped, or sent PutRecords calls, scheduled retries or gave up on records.
    Kpl {
        /// The producer.
        producer: String,
        /// `started`, `stopped`, `PutRecords`, `retries`, `failed`.
        action: String,
        /// The particulars.
        detail: String,
    },
    /// A Firehose source (CloudWatch Logs subscription, IoT rule) started, sent its control message, sent
    /// records, or stopped.
    FirehoseSource {
        /// The source's name.
        source: String,
        /// `started`, `control message`, `sent`, `stopped`.
        action: String,
        /// The particulars.
        detail: String,
    },
}

/// What a timer does when it fires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum TimerAction {
    Alarm { name: String },
    Ticker { name: String },
    Producer { name: String },
    Consumer { name: String },
    Analytics { name: String },
    Kcl { name: String },
    Kpl { name: String },
    Efo { name: String },
    FirehoseSource { name: String },
}

/// A producer the world runs, and whether it is still running.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerEntry {
    /// The actor.
    pub producer: Producer,
    /// Its pending timer while running.
    timer: Option<TimerId>,
}

impl ProducerEntry {
    /// Whether it is running.
    pub fn running(&self) -> bool {
        self.timer.is_some()
    }
}

/// A consumer the world runs, and whether it is still running.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerEntry {
    /// The actor.
    pub consumer: PollingConsumer,
    /// Its pending timer while running.
    timer: Option<TimerId>,
}

impl ConsumerEntry {
    /// Whether it is running.
    pub fn running(&self) -> bool {
        self.timer.is_some()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Ticker {
    period_ms: u64,
    jitter_ms: u64,
    count: u64,
    timer: TimerId,
    rng: SimRng,
}

/// A pending alarm or ticker, as the UI lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingTimer<'a> {
    /// The alarm's or ticker's name.
    pub name: &'a str,
    /// When it fires next.
    pub due: SimTime,
    /// Whether it repeats.
    pub repeating: bool,
}

/// How far an [`World::advance_to_bounded`] call got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advance {
    /// Timers fired by this call.
    pub fired: u32,
    /// Whether the world reached the requested time (false when the firing budget ran out first).
    pub reached: bool,
}

/// All simulation state of one run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct World {
    config: WorldConfig,
    now: SimTime,
    rng: SimRng,
    timers: TimerQueue<TimerAction>,
    alarms: BTreeMap<String, TimerId>,
    tickers: BTreeMap<String, Ticker>,
    rng_streams: BTreeMap<String, SimRng>,
    streams: DataStreams,
    /// Lambda event-source mappings, by UUID: actors on simulated time whose function runs in the shell.
    #[serde(default)]
    lambda_mappings: BTreeMap<String, EventSourceMapping>,
    /// Functions the shell runs for Firehose transforms, by name: (code, time limit in real ms).
    #[serde(default)]
    functions: BTreeMap<String, (String, u32)>,
    firehose: DeliveryStreams,
    /// What Firehose did on its own (flushes and their reasons, deliveries, error output), most recent last. Kept
    /// apart from `events` so that shells matching on [`EventKind`] need no change; each one is still folded into
    /// the event-log hash.
    firehose_log: VecDeque<FirehoseEvent>,
    #[serde(default)]
    producers: BTreeMap<String, ProducerEntry>,
    #[serde(default)]
    consumers: BTreeMap<String, ConsumerEntry>,
    /// Analytics (SQL) applications, by name.
    #[serde(default)]
    analytics: BTreeMap<String, AnalyticsApp>,
    /// Deleted analytics applications' billing: (name, KPUs, simulated ms running at that many KPUs).
    #[serde(default)]
    analytics_retired: Vec<(String, u32, u64)>,
    /// KCL applications, by name.
    #[serde(default)]
    kcl_apps: BTreeMap<String, KclAppEntry>,
    /// KPL producers, by name.
    #[serde(default)]
    kpl_producers: BTreeMap<String, KplEntry>,
    /// Enhanced fan-out subscribers, by `{stream}/{consumer}`.
    #[serde(default)]
    efo_subscribers: BTreeMap<String, EfoSubscriber>,
    /// Firehose sources (CloudWatch Logs subscriptions, IoT rules), by name.
    #[serde(default)]
    firehose_sources: BTreeMap<String, FirehoseSourceEntry>,
    events: VecDeque<Event>,
    event_count: u64,
    #[serde(with = "hex_digest")]
    event_log_digest: [u8; 32],
}

impl World {
    /// A new run at simulated time zero.
    pub fn new(config: WorldConfig) -> Self {
        let rng = SimRng::new(config.seed);
        let streams_config = StreamsConfig {
            token_key: rng.fork("streams/token").next_u64(),
            ..config.streams.clone()
        };
        World {
            streams: DataStreams::new(streams_config, config.epoch.unix_ms),
            firehose: DeliveryStreams::new(
                config.firehose.clone(),
                rng.fork("firehose"),
                config.epoch.unix_ms,
            ),
            firehose_log: VecDeque::new(),
            rng,
            timers: TimerQueue::new(config.timers_pending_max),
            config,
            now: SimTime::ZERO,
            alarms: BTreeMap::new(),
            tickers: BTreeMap::new(),
            rng_streams: BTreeMap::new(),
            lambda_mappings: BTreeMap::new(),
            functions: BTreeMap::new(),
            producers: BTreeMap::new(),
            consumers: BTreeMap::new(),
            analytics: BTreeMap::new(),
            analytics_retired: Vec::new(),
            kcl_apps: BTreeMap::new(),
            kpl_producers: BTreeMap::new(),
            efo_subscribers: BTreeMap::new(),
            firehose_sources: BTreeMap::new(),
            events: VecDeque::new(),
            event_count: 0,
            event_log_digest: [0; 32],
        }
    }

    /// The run's configuration.
    pub fn config(&self) -> &WorldConfig {
        &self.config
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// When the world next needs to run: the earliest pending timer, stream status change or event-source
    /// mapping poll, if any.
    pub fn poll_timeout(&self) -> Option<SimTime> {
        let transition = self.streams.next_transition(self.now);
        let firehose = self.firehose.next_transition(self.now);
        let http = self.firehose.next_http_due().map(|t| t.max(self.now));
        [
            self.timers.next_due(),
            transition,
            firehose,
            http,
            self.next_mapping_due(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The earliest time an event-source mapping wants to run, never before now.
    fn next_mapping_due(&self) -> Option<SimTime> {
        self.lambda_mappings
            .values()
            .filter_map(EventSourceMapping::poll_timeout)
            .min()
            .map(|t| t.max(self.now))
    }

    /// Runs every event-source mapping that is due at the current time.
    fn run_mappings(&mut self) {
        let now = self.now;
        for esm in self.lambda_mappings.values_mut() {
            if esm.poll_timeout().is_some_and(|t| t <= now) {
                esm.handle_timeout(now, &mut self.streams);
            }
        }
    }

    /// Answers one Firehose API call at `now` (after moving time forward to it): the operation as in
    /// `X-Amz-Target` (`PutRecordBatch`), the JSON body, and the JSON answer or AWS error. Recorded in the event
    /// log, with whatever Firehose did because of it (a flush when a buffer filled up).
    ///
    /// A delivery stream created with a Kinesis data stream as its source starts reading each open shard of that
    /// stream at LATEST right away, then once a second per shard through [`DataStreams::get_records`], so the
    /// reads count against the shard's read limits.
    pub fn firehose(&mut self, now: SimTime, operation: &str, body: &str) -> ApiResponse {
        self.advance_to(now);
        let response = if operation == "CreateDeliveryStream" {
            match self.check_kinesis_source(body) {
                Some(refusal) => refusal,
                None => firehose_api::dispatch(&mut self.firehose, self.now, operation, body),
            }
        } else {
            firehose_api::dispatch(&mut self.firehose, self.now, operation, body)
        };
        if operation == "CreateDeliveryStream" && response.status == 200 {
            self.start_kinesis_sources();
        }
        if response.status == 200
            && !self.analytics.is_empty()
            && let Some((delivery, records)) = analytics::firehose_put_records(operation, body)
        {
            self.tap_delivery_stream(&delivery, &records);
        }
        self.record_firehose_events();
        let error = response.error_type.map(str::to_string);
        let digest = Sha256::digest(response.body.as_bytes());
        self.record(EventKind::ApiCall {
            service: "firehose".into(),
            operation: operation.to_string(),
            status: response.status,
            error,
            response_sha256: hex_digest::encode_prefix(&digest, 8),
        });
        response
    }

    /// The Firehose service (with its simulated S3), read-only.
    pub fn firehose_service(&self) -> &DeliveryStreams {
        &self.firehose
    }

    /// The Firehose service for typed calls that bypass JSON (benchmarks, Rust tests, the S3 endpoint's
    /// CreateBucket, completing transform invocations). Such calls are not recorded in the event log until the
    /// next time the world records Firehose events.
    pub fn firehose_service_mut(&mut self) -> &mut DeliveryStreams {
        &mut self.firehose
    }

    /// A CreateDeliveryStream that names a Kinesis data stream that does not exist is refused.
    fn check_kinesis_source(&mut self, body: &str) -> Option<ApiResponse> {
        let parsed: serde_json::Value = serde_json::from_str(body).ok()?;
        let arn = parsed
            .get("KinesisStreamSourceConfiguration")?
            .get("KinesisStreamARN")?
            .as_str()?;
        let name = firehose_api::stream_name_of_arn(arn)?;
        if self.streams.describe(self.now, name).is_ok() {
            return None;
        }
        Some(firehose_api::error_response(
            &crate::firehose::FirehoseError::invalid_argument(format!(
                "Stream {name} under account {} not found.",
                crate::firehose::error::ACCOUNT_ID
            )),
        ))
    }

    /// Opens an iterator at LATEST on every open shard of each new Kinesis source.
    fn start_kinesis_sources(&mut self) {
        let now = self.now;
        for (delivery, arn, started) in self.firehose.kinesis_sources() {
            if started {
                continue;
            }
            let Some(name) = firehose_api::stream_name_of_arn(&arn) else {
                continue;
            };
            let Ok((shards, _)) = self.streams.describe_shards(now, name, u32::MAX, None) else {
                continue;
            };
            for shard in shards.iter().filter(|s| s.ending_sequence_number.is_none()) {
                let request = IteratorRequest {
                    shard_id: &shard.shard_id,
                    iterator_type: IteratorType::Latest,
                    starting_sequence_number: None,
                    timestamp_unix_ms: None,
                };
                if let Ok(iterator) = self.streams.get_shard_iterator(now, name, request) {
                    let first = now.saturating_add(SimDuration::from_millis(
                        crate::firehose::service::SOURCE_POLL_INTERVAL_MS,
                    ));
                    self.firehose
                        .set_source_shard(&delivery, &shard.shard_id, iterator, first);
                }
            }
        }
    }

    /// Runs the Firehose side up to `until`, instant by instant: each due read of a source shard (through the
    /// Data Streams service, at its due time), and each buffer whose interval ran out.
    fn run_firehose(&mut self, until: SimTime) {
        let mut cursor = self.now.min(until);
        while let Some(due) = self.firehose.next_transition(cursor) {
            if due > until || due < cursor {
                break;
            }
            cursor = due;
            self.streams.advance(due);
            self.firehose.advance(due);
            for (delivery, shard, iterator, at) in self.firehose.source_polls_due(due) {
                self.read_source_shard(at, &delivery, &shard, &iterator);
            }
            self.firehose.advance(due);
            self.record_firehose_events();
            if self
                .firehose
                .next_transition(due)
                .is_some_and(|next| next <= due)
            {
                // Nothing stays due at the instant it was handled (reads move on a second, flushed buffers are
                // gone); should it, stop rather than spin.
                break;
            }
        }
        self.firehose.advance(until);
        self.record_firehose_events();
    }

    fn read_source_shard(&mut self, at: SimTime, delivery: &str, shard: &str, iterator: &str) {
        let Some(name) = self
            .firehose
            .kinesis_sources()
            .into_iter()
            .find(|(d, _, _)| d == delivery)
            .and_then(|(_, arn, _)| firehose_api::stream_name_of_arn(&arn).map(str::to_string))
        else {
            return;
        };
        match self.streams.get_records(at, iterator, 10_000) {
            Ok(result) => {
                let records: Vec<DirectRecord> = result
                    .records
                    .into_iter()
                    .map(|(_, r)| DirectRecord {
                        data: r.data,
                        ..DirectRecord::default()
                    })
                    .collect();
                let finished = result.next_shard_iterator.is_none();
                let tapped: Vec<Vec<u8>> = if self.analytics.is_empty() {
                    Vec::new()
                } else {
                    records.iter().map(|r| r.data.clone()).collect()
                };
                self.firehose
                    .source_read(at, delivery, shard, records, result.next_shard_iterator);
                if !tapped.is_empty() {
                    // Firehose reads its source ahead of the timers due at `at` or later, never past one, so the
                    // world may stand at `at` while it hands the records to the applications that read them.
                    self.now = self.now.max(at);
                    self.streams.advance(self.now);
                    self.tap_delivery_stream(delivery, &tapped);
                }
                if finished {
                    for child in result.child_shards {
                        if self.firehose.reads_shard(delivery, &child.shard_id) {
                            continue;
                        }
                        let request = IteratorRequest {
                            shard_id: &child.shard_id,
                            iterator_type: IteratorType::TrimHorizon,
                            starting_sequence_number: None,
                            timestamp_unix_ms: None,
                        };
                        if let Ok(it) = self.streams.get_shard_iterator(at, &name, request) {
                            self.firehose.set_source_shard(
                                delivery,
                                &child.shard_id,
                                it,
                                at.saturating_add(SimDuration::from_millis(
                                    crate::firehose::service::SOURCE_POLL_INTERVAL_MS,
                                )),
                            );
                        }
                    }
                }
            }
            // Throttled (the shard's read limits) or the stream is gone for now: try again a second later with
            // the same iterator.
            Err(_) => {
                self.firehose.source_read(
                    at,
                    delivery,
                    shard,
                    Vec::new(),
                    Some(iterator.to_string()),
                );
            }
        }
    }

    fn record_firehose_events(&mut self) {
        for event in self.firehose.drain_events() {
            let (what, detail) = firehose_event_text(&event.kind);
            self.record_at(
                event.at,
                EventKind::Firehose {
                    delivery_stream: event.delivery_stream.clone(),
                    what,
                    detail,
                },
            );
            if self.config.events_retained_max == 0 {
                continue;
            }
            if self.firehose_log.len() >= self.config.events_retained_max as usize {
                self.firehose_log.pop_front();
            }
            self.firehose_log.push_back(event);
        }
    }

    /// What Firehose did on its own, oldest first (at most [`WorldConfig::events_retained_max`]): each flush with
    /// its reason, each S3 object written, records sent to the error prefix, transform invocations requested.
    /// Every one of them is part of [`World::event_log_hash`].
    pub fn firehose_events(
        &self,
    ) -> impl DoubleEndedIterator<Item = &FirehoseEvent> + ExactSizeIterator {
        self.firehose_log.iter()
    }

    /// The next HTTP endpoint request of a delivery stream that is due now (first attempts at the flush, retries
    /// after their back-off; [`World::poll_timeout`] includes when the next retry is due). The shell performs it
    /// (fetch in the browser, a TCP client in `kinesim serve`) and reports how it went with
    /// [`World::complete_http_request`], quoting [`PendingHttpRequest::request_id`]. Recorded in the event log.
    pub fn poll_http_request(&mut self) -> Option<PendingHttpRequest> {
        let out = self.firehose.poll_http_request(self.now);
        self.record_firehose_events();
        out
    }

    /// Reports at `now` how the attempt of HTTP endpoint request `request_id` ended: a response (status, headers,
    /// body) or a transport failure. The delivery succeeds, is retried after a back-off on simulated time, goes to
    /// the S3 error prefix `http-endpoint-failed/`, or (413) is discarded. Recorded in the event log.
    pub fn complete_http_request(
        &mut self,
        now: SimTime,
        request_id: &str,
        outcome: &Transport,
    ) -> Result<(), crate::firehose::FirehoseError> {
        self.advance_to(now);
        let result = self
            .firehose
            .complete_http_request(self.now, request_id, outcome);
        self.record_firehose_events();
        result
    }

    /// The next Firehose transform (Lambda processor) invocation waiting for the shell, if any: the shell runs the
    /// function named by [`TransformRequest::lambda_arn`] on [`TransformRequest::event_json`] (isolated, under a
    /// time limit) and reports with [`World::complete_firehose_transform`]. Recorded in the event log.
    pub fn poll_firehose_transform(&mut self) -> Option<TransformRequest> {
        let out = self.firehose.poll_transform();
        if let Some(t) = &out {
            self.record(EventKind::Firehose {
                delivery_stream: t.delivery_stream.clone(),
                what: "transform handed out".into(),
                detail: format!("invocation {}, attempt {}", t.invocation_id, t.attempt),
            });
        }
        self.record_firehose_events();
        out
    }

    /// Reports at `now` how a Firehose transform invocation ended; the delivery stream validates the answer
    /// (Lambda contract), retries, writes `processing-failed` documents or delivers. Recorded in the event log.
    pub fn complete_firehose_transform(
        &mut self,
        now: SimTime,
        delivery_stream: &str,
        invocation_id: &str,
        outcome: &TransformOutcome,
    ) -> Result<(), crate::firehose::FirehoseError> {
        self.advance_to(now);
        let (typed, detail) = match outcome {
            TransformOutcome::Returned(body) => (
                InvocationOutcome::Returned(body.as_bytes()),
                "returned".to_string(),
            ),
            TransformOutcome::FunctionError(message) => (
                InvocationOutcome::FunctionError,
                format!(
                    "function error: {}",
                    message.chars().take(256).collect::<String>()
                ),
            ),
            TransformOutcome::Timeout => (InvocationOutcome::FunctionError, "timed out".into()),
            TransformOutcome::Throttled => (InvocationOutcome::Throttled, "throttled".into()),
        };
        let result =
            self.firehose
                .complete_transform(self.now, delivery_stream, invocation_id, typed);
        if result.is_ok() {
            self.record(EventKind::Firehose {
                delivery_stream: delivery_stream.to_string(),
                what: "transform completed".into(),
                detail: format!("invocation {invocation_id}: {detail}"),
            });
        }
        self.record_firehose_events();
        result
    }

    /// The JavaScript source and time limit (real ms) of a function set by [`Command::SetFunctionCode`], by name
    /// or by ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`).
    pub fn function_code(&self, name_or_arn: &str) -> Option<(&str, u32)> {
        let name = match name_or_arn.split_once(":function:") {
            Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
            None => name_or_arn,
        };
        self.functions
            .get(name)
            .map(|(code, timeout)| (code.as_str(), *timeout))
    }

    /// CreateEventSourceMapping at `now`: a Lambda-style mapping that polls a Kinesis stream and asks the shell to
    /// run its function ([`World::poll_invocation`], [`World::complete_invocation`]). Returns its UUID. One mapping
    /// per function and stream, as Lambda allows.
    pub fn create_event_source_mapping(
        &mut self,
        now: SimTime,
        config: EsmConfig,
    ) -> Result<String, LambdaError> {
        self.advance_to(now);
        let esm = EventSourceMapping::new(config, self.config.epoch)?;
        let uuid = esm.uuid().to_string();
        if self.lambda_mappings.contains_key(&uuid) {
            return Err(LambdaError::invalid_parameter(format!(
                "The event source arn ({}) and function ({}) provided mapping already exists. Please update or \
                 delete the existing mapping with UUID {uuid}",
                esm.config().event_source_arn,
                esm.config().function_name
            )));
        }
        self.record(EventKind::LambdaMapping {
            uuid: uuid.clone(),
            action: "created".into(),
            detail: format!(
                "{} <- {}",
                esm.config().function_name,
                esm.config().event_source_arn
            ),
        });
        self.lambda_mappings.insert(uuid.clone(), esm);
        self.run_mappings();
        Ok(uuid)
    }

    /// DeleteEventSourceMapping at `now`: the mapping stops; invocations in flight are dropped.
    pub fn delete_event_source_mapping(
        &mut self,
        now: SimTime,
        uuid: &str,
    ) -> Result<(), LambdaError> {
        self.advance_to(now);
        if self.lambda_mappings.remove(uuid).is_none() {
            return Err(LambdaError::not_found(format!(
                "The resource you requested does not exist. (Service: Lambda, Status Code: 404, \
                 Request ID: {uuid})"
            )));
        }
        self.record(EventKind::LambdaMapping {
            uuid: uuid.to_string(),
            action: "deleted".into(),
            detail: String::new(),
        });
        Ok(())
    }

    /// The event-source mappings, in UUID order.
    pub fn event_source_mappings(&self) -> impl Iterator<Item = &EventSourceMapping> {
        self.lambda_mappings.values()
    }

    /// The next function invocation a mapping wants run, with the mapping's UUID (mappings in UUID order, each
    /// mapping's invocations in the order it made them). The shell runs it and calls
    /// [`World::complete_invocation`].
    pub fn poll_invocation(&mut self) -> Option<(String, Invocation)> {
        self.lambda_mappings
            .iter_mut()
            .find_map(|(uuid, esm)| esm.poll_invocation().map(|i| (uuid.clone(), i)))
    }

    /// Reports at `now` how invocation `id` of mapping `uuid` ended; the mapping checkpoints, retries, bisects or
    /// discards as its configuration says. Recorded in the event log.
    pub fn complete_invocation(
        &mut self,
        now: SimTime,
        uuid: &str,
        id: u64,
        result: FunctionResult,
    ) -> Result<(), LambdaError> {
        self.advance_to(now);
        let outcome = match &result {
            FunctionResult::Success(_) => "success".to_string(),
            FunctionResult::Error(message) => {
                format!("error: {}", message.chars().take(256).collect::<String>())
            }
            FunctionResult::Timeout => "timeout".to_string(),
        };
        let esm = self.lambda_mappings.get_mut(uuid).ok_or_else(|| {
            LambdaError::not_found(format!("No event source mapping with UUID {uuid}."))
        })?;
        esm.complete(self.now, id, result)?;
        self.record(EventKind::LambdaMapping {
            uuid: uuid.to_string(),
            action: format!("invocation {id}"),
            detail: outcome,
        });
        self.run_mappings();
        Ok(())
    }

    /// Answers one Kinesis Data Streams API call at `now` (after moving time forward to it): the operation as in
    /// `X-Amz-Target` (`PutRecord`), the JSON body, and the JSON answer or AWS error. Recorded in the event log.
    pub fn kinesis(&mut self, now: SimTime, operation: &str, body: &str) -> ApiResponse {
        self.advance_to(now);
        let epoch = self.config.epoch.unix_ms;
        let response = kinesis::dispatch(&mut self.streams, self.now, epoch, operation, body);
        let error = response.error_type.map(str::to_string);
        let digest = Sha256::digest(response.body.as_bytes());
        self.record(EventKind::ApiCall {
            service: "kinesis".into(),
            operation: operation.to_string(),
            status: response.status,
            error,
            response_sha256: hex_digest::encode_prefix(&digest, 8),
        });
        response
    }

    /// Answers one AWS JSON 1.1 call at `now`, routed on its `X-Amz-Target` (`Kinesis_20131202.PutRecords`): the
    /// one entry point for shells that speak AWS's protocol (the JS API, the SDK request handler). A target whose
    /// service prefix kinesim does not serve, or that has no `.Operation`, gets `UnknownOperationException`
    /// (recorded in the event log like any call).
    pub fn call(&mut self, now: SimTime, target: &str, body: &str) -> ApiResponse {
        match target.split_once('.') {
            Some((kinesis::TARGET_PREFIX, operation)) => self.kinesis(now, operation, body),
            Some((firehose_api::TARGET_PREFIX, operation)) => self.firehose(now, operation, body),
            _ => {
                self.advance_to(now);
                let response = ApiResponse::error(&KinesisError::new(
                    crate::streams::ErrorType::UnknownOperationException,
                    "",
                ));
                self.record(EventKind::ApiCall {
                    service: "unknown".into(),
                    operation: target.chars().take(128).collect(),
                    status: response.status,
                    error: response.error_type.map(str::to_string),
                    response_sha256: hex_digest::encode_prefix(
                        &Sha256::digest(response.body.as_bytes()),
                        8,
                    ),
                });
                response
            }
        }
    }

    /// The events a SubscribeToShard subscription (from [`World::kinesis`]'s `subscription`) pushed up to `now`,
    /// in AWS's JSON shape, and its end once it ended.
    pub fn kinesis_subscription_events(
        &mut self,
        now: SimTime,
        subscription: u64,
    ) -> Result<kinesis::SubscriptionEvents, KinesisError> {
        self.advance_to(now);
        let epoch = self.config.epoch.unix_ms;
        kinesis::poll_subscription(&mut self.streams, self.now, epoch, subscription)
    }

    /// The Data Streams service, read-only (views for the UI and invariant checks).
    pub fn streams(&self) -> &DataStreams {
        &self.streams
    }

    /// Producers, running or stopped, by name.
    pub fn producers(&self) -> &BTreeMap<String, ProducerEntry> {
        &self.producers
    }

    /// Polling consumers, running or stopped, by name.
    pub fn consumers(&self) -> &BTreeMap<String, ConsumerEntry> {
        &self.consumers
    }

    /// The Data Streams service for typed calls that bypass JSON (benchmarks, Rust tests). Such calls are not
    /// recorded in the event log.
    pub fn streams_mut(&mut self) -> &mut DataStreams {
        &mut self.streams
    }

    /// Moves time forward to `now`, then applies `command` at `now`.
    ///
    /// Time never goes backwards: a `now` earlier than the world's current time is taken as the current time.
    /// A refused command changes nothing but the event log, which records the refusal.
    pub fn apply(&mut self, now: SimTime, command: Command) -> Result<Reply, CommandError> {
        self.advance_to(now);
        let result = self.execute(command);
        if let Err(error) = &result {
            self.record(EventKind::Rejected {
                error: error.clone(),
            });
        }
        result
    }

    /// Moves time forward to `now`, firing every timer due at or before it in (due time, scheduling) order.
    /// Returns how many fired.
    pub fn advance_to(&mut self, now: SimTime) -> u32 {
        self.advance_to_bounded(now, u32::MAX).fired
    }

    /// Like [`World::advance_to`], but fires at most `firings_max` timers, so a shell can bound the work of one
    /// frame. When the budget runs out first the world stops at the last fired timer's time and
    /// [`Advance::reached`] is false; calling again continues exactly where it stopped, so how time is sliced never
    /// changes the run.
    pub fn advance_to_bounded(&mut self, now: SimTime, firings_max: u32) -> Advance {
        let mut fired = 0u32;
        // The last instant mappings ran at in this call: a mapping still due then waits a millisecond, so a
        // mapping that is blocked on its function cannot spin at one instant.
        let mut mappings_ran_at: Option<SimTime> = None;
        while fired < firings_max {
            let timer_due = self.timers.next_due().filter(|&t| t <= now);
            let mapping_due = self
                .next_mapping_due()
                .map(|t| match mappings_ran_at {
                    Some(ran) if t <= ran => ran.saturating_add(SimDuration::from_millis(1)),
                    _ => t,
                })
                .filter(|&t| t <= now);
            let timer_first = match (timer_due, mapping_due) {
                (None, None) => {
                    self.run_firehose(now);
                    self.now = self.now.max(now);
                    self.streams.advance(self.now);
                    return Advance {
                        fired,
                        reached: true,
                    };
                }
                (Some(t), Some(m)) => t <= m,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            if let Some(timer) = timer_first.then(|| self.timers.pop_due(now)).flatten() {
                self.run_firehose(timer.due);
                self.now = self.now.max(timer.due);
                self.fire(timer.payload);
            } else if let Some(m) = mapping_due {
                self.run_firehose(m);
                self.now = self.now.max(m);
                self.streams.advance(self.now);
                self.run_mappings();
                mappings_ran_at = Some(self.now);
            }
            fired += 1;
        }
        let reached = self.timers.next_due().is_none_or(|due| due > now)
            && self.next_mapping_due().is_none_or(|due| due > now);
        if reached {
            self.run_firehose(now);
            self.now = self.now.max(now);
        }
        self.streams.advance(self.now);
        Advance { fired, reached }
    }

    /// Jumps to the next pending timer (or event-source mapping poll) and fires everything due at that instant.
    /// Returns the new time, or `None` (and changes nothing) when nothing is pending.
    pub fn step(&mut self) -> Option<SimTime> {
        let due = [self.timers.next_due(), self.next_mapping_due()]
            .into_iter()
            .flatten()
            .min()?;
        self.advance_to(due);
        Some(self.now)
    }

    /// The most recent events, oldest first (at most [`WorldConfig::events_retained_max`]).
    pub fn events(&self) -> impl DoubleEndedIterator<Item = &Event> + ExactSizeIterator {
        self.events.iter()
    }

    /// How many events the run has recorded in all, including those no longer retained.
    pub fn event_count(&self) -> u64 {
        self.event_count
    }

    /// The fingerprint of the run so far: a SHA-256 chain over the JSON line of every event, in lowercase hex.
    pub fn event_log_hash(&self) -> String {
        hex_digest::encode(&self.event_log_digest)
    }

    /// Pending alarms and tickers in firing order.
    pub fn pending_timers(&self) -> impl Iterator<Item = PendingTimer<'_>> {
        self.timers.iter().map(|(_, due, action)| match action {
            TimerAction::Alarm { name } => PendingTimer {
                name,
                due,
                repeating: false,
            },
            TimerAction::Ticker { name }
            | TimerAction::Producer { name }
            | TimerAction::Consumer { name }
            | TimerAction::Analytics { name }
            | TimerAction::Kcl { name }
            | TimerAction::Kpl { name }
            | TimerAction::Efo { name }
            | TimerAction::FirehoseSource { name } => PendingTimer {
                name,
                due,
                repeating: true,
            },
        })
    }

    /// Calendar time (ISO 8601, UTC) of the current simulated time.
    pub fn now_iso8601(&self) -> String {
        self.config.epoch.iso8601_at(self.now)
    }

    fn execute(&mut self, command: Command) -> Result<Reply, CommandError> {
        match command {
            Command::Note { text } => {
                check_length("text", &text, NOTE_LENGTH_MAX_CHARS)?;
                self.record(EventKind::Note { text });
                Ok(Reply::Done)
            }
            Command::SetFunctionCode {
                name,
                code,
                timeout_ms,
            } => {
                check_length("name", &name, FUNCTION_NAME_LENGTH_MAX_CHARS)?;
                if u64::try_from(code.len()).unwrap_or(u64::MAX) > FUNCTION_CODE_BYTES_MAX {
                    return Err(CommandError::new(
                        ErrorKind::InvalidArgumentException,
                        format!("code must be at most {FUNCTION_CODE_BYTES_MAX} bytes."),
                    ));
                }
                if timeout_ms == 0 || timeout_ms > FUNCTION_TIMEOUT_MS_MAX {
                    return Err(CommandError::new(
                        ErrorKind::InvalidArgumentException,
                        format!(
                            "timeoutMs must be 1 to {FUNCTION_TIMEOUT_MS_MAX}; it is {timeout_ms}."
                        ),
                    ));
                }
                if code.is_empty() {
                    self.functions.remove(&name);
                } else {
                    self.functions.insert(name.clone(), (code, timeout_ms));
                }
                self.record(EventKind::Note {
                    text: format!("function {name} set"),
                });
                Ok(Reply::Done)
            }
            Command::SetAlarm { name, delay_ms } => {
                self.check_new_timer_name(&name)?;
                check_delay("delayMs", delay_ms, 0)?;
                let due = self.now.saturating_add(SimDuration::from_millis(delay_ms));
                let timer = self.schedule(due, TimerAction::Alarm { name: name.clone() })?;
                self.alarms.insert(name.clone(), timer);
                self.record(EventKind::AlarmSet { name, due });
                Ok(Reply::Scheduled { due })
            }
            Command::StartTicker {
                name,
                period_ms,
                jitter_ms,
            } => {
                self.check_new_timer_name(&name)?;
                check_delay("periodMs", period_ms, 1)?;
                check_delay("jitterMs", jitter_ms, 0)?;
                let mut rng = self.rng.fork(&format!("ticker/{name}"));
                let due = self.now.saturating_add(SimDuration::from_millis(
                    period_ms + rng.below(jitter_ms + 1),
                ));
                let timer = self.schedule(due, TimerAction::Ticker { name: name.clone() })?;
                self.tickers.insert(
                    name.clone(),
                    Ticker {
                        period_ms,
                        jitter_ms,
                        count: 0,
                        timer,
                        rng,
                    },
                );
                self.record(EventKind::TickerStarted {
                    name,
                    period_ms,
                    jitter_ms,
                    due,
                });
                Ok(Reply::Scheduled { due })
            }
            Command::Cancel { name } => {
                let timer = if let Some(timer) = self.alarms.remove(&name) {
                    timer
                } else if let Some(ticker) = self.tickers.remove(&name) {
                    ticker.timer
                } else {
                    return Err(CommandError::new(
                        ErrorKind::ResourceNotFoundException,
                        format!("No alarm or ticker named {name} is pending."),
                    ));
                };
                self.timers.cancel(timer);
                self.record(EventKind::Cancelled { name });
                Ok(Reply::Done)
            }
            Command::Draw { stream, bound } => {
                check_length("stream", &stream, RNG_STREAM_NAME_LENGTH_MAX_CHARS)?;
                if bound == 0 {
                    return Err(CommandError::new(
                        ErrorKind::InvalidArgumentException,
                        "bound must be at least 1: a draw returns a number in 0..bound.",
                    ));
                }
                let value = self.draw(&stream, bound)?;
                self.record(EventKind::Drawn {
                    stream,
                    bound,
                    value,
                });
                Ok(Reply::Drawn { value })
            }
            Command::StartProducer {
                name,
                stream,
                records_per_s,
                spec,
            } => {
                check_length("name", &name, TIMER_NAME_LENGTH_MAX_CHARS)?;
                if self
                    .producers
                    .get(&name)
                    .is_some_and(ProducerEntry::running)
                {
                    return Err(CommandError::new(
                        ErrorKind::ResourceInUseException,
                        format!(
                            "A producer named {name} is running; stop it first or pick another name."
                        ),
                    ));
                }
                let invalid = |m: String| CommandError::new(ErrorKind::InvalidArgumentException, m);
                let rng = self.rng.fork(&format!("producer/{name}"));
                let generator = Generator::new(spec, rng).map_err(invalid)?;
                let producer =
                    Producer::new(stream.clone(), records_per_s, generator).map_err(invalid)?;
                let due = producer.next_due(self.now);
                let timer = self.schedule(due, TimerAction::Producer { name: name.clone() })?;
                self.producers.insert(
                    name.clone(),
                    ProducerEntry {
                        producer,
                        timer: Some(timer),
                    },
                );
                self.record(EventKind::ProducerStarted {
                    name,
                    stream,
                    records_per_s,
                });
                Ok(Reply::Scheduled { due })
            }
            Command::StopProducer { name } => {
                let Some(entry) = self.producers.get_mut(&name).filter(|e| e.running()) else {
                    return Err(CommandError::new(
                        ErrorKind::ResourceNotFoundException,
                        format!("No producer named {name} is running."),
                    ));
                };
                if let Some(timer) = entry.timer.take() {
                    self.timers.cancel(timer);
                }
                let (acknowledged, throttled) = (
                    entry.producer.stats.acknowledged,
                    entry.producer.stats.throttled,
                );
                self.record(EventKind::ProducerStopped {
                    name,
                    acknowledged,
                    throttled,
                });
                Ok(Reply::Done)
            }
            Command::StartConsumer {
                name,
                stream,
                start,
                poll_interval_ms,
            } => {
                check_length("name", &name, TIMER_NAME_LENGTH_MAX_CHARS)?;
                if self
                    .consumers
                    .get(&name)
                    .is_some_and(ConsumerEntry::running)
                {
                    return Err(CommandError::new(
                        ErrorKind::ResourceInUseException,
                        format!(
                            "A consumer named {name} is running; stop it first or pick another name."
                        ),
                    ));
                }
                let invalid = |m: String| CommandError::new(ErrorKind::InvalidArgumentException, m);
                let mut consumer =
                    PollingConsumer::new(stream.clone(), start.clone(), poll_interval_ms)
                        .map_err(invalid)?;
                let epoch = self.config.epoch.unix_ms;
                consumer
                    .begin(&mut self.streams, self.now, epoch, start.clone())
                    .map_err(invalid)?;
                let due = consumer.next_due(self.now);
                let timer = self.schedule(due, TimerAction::Consumer { name: name.clone() })?;
                self.consumers.insert(
                    name.clone(),
                    ConsumerEntry {
                        consumer,
                        timer: Some(timer),
                    },
                );
                self.record(EventKind::ConsumerStarted {
                    name,
                    stream,
                    iterator_type: start.iterator_type_name().to_string(),
                });
                Ok(Reply::Scheduled { due })
            }
            Command::ReplayConsumer { name, start } => {
                let epoch = self.config.epoch.unix_ms;
                let now = self.now;
                let Some(entry) = self.consumers.get_mut(&name).filter(|e| e.running()) else {
                    return Err(CommandError::new(
                        ErrorKind::ResourceNotFoundException,
                        format!("No consumer named {name} is running."),
                    ));
                };
                entry
                    .consumer
                    .begin(&mut self.streams, now, epoch, start.clone())
                    .map_err(|m| CommandError::new(ErrorKind::InvalidArgumentException, m))?;
                let stream = entry.consumer.stream.clone();
                self.record(EventKind::ConsumerStarted {
                    name,
                    stream,
                    iterator_type: start.iterator_type_name().to_string(),
                });
                Ok(Reply::Done)
            }
            Command::StopConsumer { name } => {
                let Some(entry) = self.consumers.get_mut(&name).filter(|e| e.running()) else {
                    return Err(CommandError::new(
                        ErrorKind::ResourceNotFoundException,
                        format!("No consumer named {name} is running."),
                    ));
                };
                if let Some(timer) = entry.timer.take() {
                    self.timers.cancel(timer);
                }
                let records = entry.consumer.stats.records;
                self.record(EventKind::ConsumerStopped { name, records });
                Ok(Reply::Done)
            }
            Command::CreateAnalyticsApplication {
                name,
                sql,
                input,
                schema,
                outputs,
            } => {
                self.create_analytics_app(name, sql, input, schema, outputs)?;
                Ok(Reply::Done)
            }
            Command::StopAnalyticsApplication { name } => {
                self.stop_analytics_app(&name)?;
                Ok(Reply::Done)
            }
            Command::DeleteAnalyticsApplication { name } => {
                self.delete_analytics_app(&name)?;
                Ok(Reply::Done)
            }
            Command::StartKclApplication {
                name,
                stream,
                workers,
                failover_time_ms,
                lease_table,
            } => {
                let due = self.start_kcl_application(
                    name,
                    stream,
                    workers,
                    failover_time_ms,
                    lease_table,
                )?;
                Ok(Reply::Scheduled { due })
            }
            Command::KillKclWorker {
                application,
                worker,
            } => {
                self.kill_kcl_worker(&application, &worker)?;
                Ok(Reply::Done)
            }
            Command::RestartKclWorker {
                application,
                worker,
            } => {
                self.restart_kcl_worker(&application, &worker)?;
                Ok(Reply::Done)
            }
            Command::StopKclApplication { name } => {
                self.stop_kcl_application(&name)?;
                Ok(Reply::Done)
            }
            Command::StartKplProducer {
                name,
                stream,
                records_per_s,
                spec,
                aggregation,
            } => {
                let due =
                    self.start_kpl_producer(name, stream, records_per_s, spec, aggregation)?;
                Ok(Reply::Scheduled { due })
            }
            Command::StopKplProducer { name } => {
                self.stop_kpl_producer(&name)?;
                Ok(Reply::Done)
            }
            Command::SubscribeFanOutConsumer { stream, consumer } => {
                self.start_efo_subscriber(stream, consumer)?;
                Ok(Reply::Done)
            }
            Command::UnsubscribeFanOutConsumer { stream, consumer } => {
                self.stop_efo_subscriber(&stream, &consumer)?;
                Ok(Reply::Done)
            }
            Command::StartCloudWatchLogsSubscription {
                name,
                delivery_stream,
                log_group,
                log_stream,
                filter_name,
                events_per_s,
            } => {
                let due = self.start_cloudwatch_logs_source(sources::CwlSettings {
                    name,
                    delivery_stream,
                    log_group,
                    log_stream,
                    filter_name,
                    events_per_s,
                })?;
                Ok(Reply::Scheduled { due })
            }
            Command::StartIotRule {
                name,
                delivery_stream,
                topic,
                sql,
                messages_per_s,
                devices,
                separator,
                batch_mode,
            } => {
                let due = self.start_iot_rule_source(sources::IotSettings {
                    name,
                    delivery_stream,
                    topic,
                    sql,
                    messages_per_s,
                    devices,
                    separator,
                    batch_mode,
                })?;
                Ok(Reply::Scheduled { due })
            }
            Command::StopFirehoseSource { name } => {
                self.stop_firehose_source(&name)?;
                Ok(Reply::Done)
            }
        }
    }

    fn draw(&mut self, stream: &str, bound: u64) -> Result<u64, CommandError> {
        if let Some(rng) = self.rng_streams.get_mut(stream) {
            return Ok(rng.below(bound));
        }
        if self.rng_streams.len() >= RNG_STREAMS_MAX as usize {
            return Err(CommandError::new(
                ErrorKind::LimitExceededException,
                format!(
                    "A world keeps at most {RNG_STREAMS_MAX} RNG streams; draw from an existing stream instead."
                ),
            ));
        }
        let mut rng = self.rng.fork(&format!("stream/{stream}"));
        let value = rng.below(bound);
        self.rng_streams.insert(stream.to_string(), rng);
        Ok(value)
    }

    fn check_new_timer_name(&self, name: &str) -> Result<(), CommandError> {
        check_length("name", name, TIMER_NAME_LENGTH_MAX_CHARS)?;
        if self.alarms.contains_key(name) || self.tickers.contains_key(name) {
            return Err(CommandError::new(
                ErrorKind::ResourceInUseException,
                format!(
                    "An alarm or ticker named {name} is already pending; cancel it first or pick another name."
                ),
            ));
        }
        Ok(())
    }

    fn schedule(&mut self, due: SimTime, action: TimerAction) -> Result<TimerId, CommandError> {
        self.timers.schedule(due, action).map_err(|full| {
            CommandError::new(
                ErrorKind::LimitExceededException,
                format!(
                    "The world already has {} pending timers, its limit; cancel some first.",
                    full.timers_pending_max
                ),
            )
        })
    }

    fn fire(&mut self, action: TimerAction) {
        match action {
            TimerAction::Alarm { name } => {
                self.alarms.remove(&name);
                self.record(EventKind::AlarmFired { name });
            }
            TimerAction::Ticker { name } => {
                let Some(mut ticker) = self.tickers.remove(&name) else {
                    return; // stopped: its timer was cancelled with it, so this cannot happen
                };
                ticker.count += 1;
                let delay_ms = ticker.period_ms + ticker.rng.below(ticker.jitter_ms + 1);
                let next_due = self.now.saturating_add(SimDuration::from_millis(delay_ms));
                // The fired timer left the queue just now, so there is room to re-arm it.
                let Ok(timer) = self
                    .timers
                    .schedule(next_due, TimerAction::Ticker { name: name.clone() })
                else {
                    return;
                };
                ticker.timer = timer;
                let count = ticker.count;
                self.tickers.insert(name.clone(), ticker);
                self.record(EventKind::TickerFired {
                    name,
                    count,
                    next_due,
                });
            }
            TimerAction::Producer { name } => {
                let now = self.now;
                let unix_ms = self.config.epoch.unix_ms_at(now);
                let Some(entry) = self.producers.get_mut(&name) else {
                    return;
                };
                entry.timer = None;
                entry.producer.tick(&mut self.streams, now, unix_ms);
                if entry.producer.finished {
                    let (acknowledged, throttled) = (
                        entry.producer.stats.acknowledged,
                        entry.producer.stats.throttled,
                    );
                    self.record(EventKind::ProducerStopped {
                        name,
                        acknowledged,
                        throttled,
                    });
                    return;
                }
                let due = entry.producer.next_due(now);
                if let Ok(timer) = self
                    .timers
                    .schedule(due, TimerAction::Producer { name: name.clone() })
                    && let Some(entry) = self.producers.get_mut(&name)
                {
                    entry.timer = Some(timer);
                }
            }
            TimerAction::Consumer { name } => {
                let now = self.now;
                let Some(entry) = self.consumers.get_mut(&name) else {
                    return;
                };
                entry.timer = None;
                entry.consumer.tick(&mut self.streams, now);
                let due = entry.consumer.next_due(now);
                if let Ok(timer) = self
                    .timers
                    .schedule(due, TimerAction::Consumer { name: name.clone() })
                    && let Some(entry) = self.consumers.get_mut(&name)
                {
                    entry.timer = Some(timer);
                }
            }
            TimerAction::Analytics { name } => self.run_analytics(&name),
            TimerAction::Kcl { name } => self.run_kcl(&name),
            TimerAction::Kpl { name } => self.run_kpl(&name),
            TimerAction::Efo { name } => self.run_efo(&name),
            TimerAction::FirehoseSource { name } => self.run_firehose_source(&name),
        }
    }

    fn record(&mut self, kind: EventKind) {
        self.record_at(self.now, kind);
    }

    fn record_at(&mut self, at: SimTime, kind: EventKind) {
        let event = Event {
            seq: self.event_count,
            at,
            kind,
        };
        let mut hasher = Sha256::new();
        hasher.update(self.event_log_digest);
        // Serializing plain structs of strings and integers cannot fail.
        if let Ok(line) = serde_json::to_vec(&event) {
            hasher.update(&line);
        }
        hasher.update(b"\n");
        self.event_log_digest.copy_from_slice(&hasher.finalize());
        self.event_count += 1;
        if self.config.events_retained_max == 0 {
            return;
        }
        if self.events.len() >= self.config.events_retained_max as usize {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}

/// A Firehose event as the event log shows it: what happened, and its particulars.
pub fn firehose_event_text(kind: &FirehoseEventKind) -> (String, String) {
    match kind {
        FirehoseEventKind::Flushed {
            reason,
            records,
            bytes,
        } => (
            "flushed".into(),
            format!("{reason:?}: {records} records, {bytes} bytes"),
        ),
        FirehoseEventKind::DeliveredToS3 {
            bucket,
            key,
            records,
            object_bytes,
        } => (
            "delivered to S3".into(),
            format!("s3://{bucket}/{key} ({records} records, {object_bytes} bytes)"),
        ),
        FirehoseEventKind::ErrorOutput {
            error_output_type,
            key,
            records,
        } => (
            "error output".into(),
            format!("{error_output_type}: {key} ({records} records)"),
        ),
        FirehoseEventKind::DeliveredToOpenSearch {
            domain,
            indices,
            records,
            failed,
        } => (
            "delivered to OpenSearch".into(),
            format!(
                "{domain} {} ({records} documents indexed, {failed} refused)",
                indices.join(", ")
            ),
        ),
        FirehoseEventKind::TransformRequested {
            invocation_id,
            records,
        } => (
            "transform requested".into(),
            format!("invocation {invocation_id} ({records} records)"),
        ),
        FirehoseEventKind::HttpRequested {
            request_id,
            attempt,
            records,
        } => (
            "HTTP request".into(),
            format!("request {request_id}, attempt {attempt} ({records} records)"),
        ),
        FirehoseEventKind::DeliveredToHttpEndpoint {
            request_id,
            attempts,
            records,
        } => (
            "delivered to HTTP endpoint".into(),
            format!("request {request_id} after {attempts} attempts ({records} records)"),
        ),
        FirehoseEventKind::HttpRetry {
            request_id,
            code,
            retry_at,
        } => (
            "HTTP retry".into(),
            format!("request {request_id}: {code}; next attempt at {retry_at}"),
        ),
        FirehoseEventKind::HttpDiscarded {
            request_id,
            records,
        } => (
            "HTTP 413, discarded".into(),
            format!("request {request_id} ({records} records; not written to the error bucket)"),
        ),
        FirehoseEventKind::CopiedToRedshift {
            table,
            rows,
            manifest_key,
            attempts,
        } => (
            "COPY into Redshift".into(),
            format!("{table}: {rows} rows from {manifest_key} (attempt {attempts})"),
        ),
        FirehoseEventKind::RedshiftCopyFailed {
            table,
            message,
            retry_at,
            failed_manifest_key,
        } => (
            "Redshift COPY failed".into(),
            match (retry_at, failed_manifest_key) {
                (Some(t), _) => format!("{table}: {message}; next attempt at {t}"),
                (None, Some(k)) => format!("{table}: {message}; skipped, manifest at {k}"),
                (None, None) => format!("{table}: {message}"),
            },
        ),
    }
}

fn check_length(field: &str, value: &str, length_max_chars: u32) -> Result<(), CommandError> {
    let chars = value.chars().count();
    if chars == 0 || chars > length_max_chars as usize {
        return Err(CommandError::new(
            ErrorKind::InvalidArgumentException,
            format!("{field} must be 1 to {length_max_chars} characters long; it has {chars}."),
        ));
    }
    Ok(())
}

fn check_delay(field: &str, value_ms: u64, value_min_ms: u64) -> Result<(), CommandError> {
    if value_ms < value_min_ms || value_ms > TIMER_DELAY_MAX_MS {
        return Err(CommandError::new(
            ErrorKind::InvalidArgumentException,
            format!(
                "{field} must be between {value_min_ms} and {TIMER_DELAY_MAX_MS} milliseconds; it is {value_ms}."
            ),
        ));
    }
    Ok(())
}

/// The digest is stored as hex text in snapshots.
mod hex_digest {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn encode(bytes: &[u8; 32]) -> String {
        encode_prefix(bytes, 32)
    }

    /// Lowercase hex of the first `n` bytes.
    pub fn encode_prefix(bytes: &[u8], n: usize) -> String {
        bytes.iter().take(n).map(|b| format!("{b:02x}")).collect()
    }

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        if text.len() != 64 || !text.is_ascii() {
            return Err(D::Error::custom("event log digest must be 64 hex digits"));
        }
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                .map_err(|_| D::Error::custom("event log digest must be 64 hex digits"))?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
    }

    #[test]
    fn alarms_fire_at_their_due_time_in_order() {
        let mut w = World::new(WorldConfig::with_seed(1));
        w.apply(
            t(0),
            Command::SetAlarm {
                name: "b".into(),
                delay_ms: 200,
            },
        )
        .unwrap();
        w.apply(
            t(50),
            Command::SetAlarm {
                name: "a".into(),
                delay_ms: 100,
            },
        )
        .unwrap();
        assert_eq!(w.poll_timeout(), Some(t(150)));
        assert_eq!(w.step(), Some(t(150)));
        assert_eq!(w.advance_to(t(1_000)), 1);
        assert_eq!(w.now(), t(1_000));
        let fired: Vec<(u64, String)> = w
            .events()
            .filter_map(|e| match &e.kind {
                EventKind::AlarmFired { name } => Some((e.at.as_millis(), name.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(fired, vec![(150, "a".to_string()), (200, "b".to_string())]);
        assert_eq!(w.poll_timeout(), None);
        assert_eq!(w.step(), None);
    }

    #[test]
    fn tickers_repeat_with_bounded_jitter_until_cancelled() {
        let mut w = World::new(WorldConfig::with_seed(5));
        w.apply(
            t(0),
            Command::StartTicker {
                name: "tick".into(),
                period_ms: 1_000,
                jitter_ms: 100,
            },
        )
        .unwrap();
        w.advance_to(t(10_000));
        let times: Vec<u64> = w
            .events()
            .filter(|e| matches!(e.kind, EventKind::TickerFired { .. }))
            .map(|e| e.at.as_millis())
            .collect();
        assert!(times.len() >= 9, "{times:?}");
        for pair in times.windows(2) {
            let gap = pair[1] - pair[0];
            assert!((1_000..=1_100).contains(&gap), "gap {gap} in {times:?}");
        }
        w.apply(
            t(10_000),
            Command::Cancel {
                name: "tick".into(),
            },
        )
        .unwrap();
        assert_eq!(w.poll_timeout(), None);
        let count = w.event_count();
        w.advance_to(t(100_000));
        assert_eq!(w.event_count(), count, "a cancelled ticker stays quiet");
    }

    #[test]
    fn bad_commands_are_refused_with_a_reason_and_change_nothing_else() {
        let mut w = World::new(WorldConfig::with_seed(1));
        let err = w
            .apply(
                t(0),
                Command::Draw {
                    stream: "s".into(),
                    bound: 0,
                },
            )
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgumentException);
        let err = w
            .apply(
                t(0),
                Command::Note {
                    text: String::new(),
                },
            )
            .unwrap_err();
        assert!(err.message.contains("1 to 1024"), "{err}");
        let err = w
            .apply(
                t(0),
                Command::Cancel {
                    name: "nope".into(),
                },
            )
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::ResourceNotFoundException);
        let err = w
            .apply(
                t(0),
                Command::StartTicker {
                    name: "x".into(),
                    period_ms: 0,
                    jitter_ms: 0,
                },
            )
            .unwrap_err();
        assert!(err.message.contains("periodMs"), "{err}");
        let err = w
            .apply(
                t(0),
                Command::SetAlarm {
                    name: "x".into(),
                    delay_ms: u64::MAX,
                },
            )
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgumentException);
        w.apply(
            t(0),
            Command::SetAlarm {
                name: "x".into(),
                delay_ms: 5,
            },
        )
        .unwrap();
        let err = w
            .apply(
                t(0),
                Command::StartTicker {
                    name: "x".into(),
                    period_ms: 5,
                    jitter_ms: 0,
                },
            )
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::ResourceInUseException);
        assert_eq!(w.pending_timers().count(), 1);
        assert!(w.events().all(|e| matches!(
            e.kind,
            EventKind::Rejected { .. } | EventKind::AlarmSet { .. }
        )));
    }

    #[test]
    fn the_timer_limit_is_enforced() {
        let mut config = WorldConfig::with_seed(1);
        config.timers_pending_max = 2;
        let mut w = World::new(config);
        for name in ["a", "b"] {
            w.apply(
                t(0),
                Command::SetAlarm {
                    name: name.into(),
                    delay_ms: 10,
                },
            )
            .unwrap();
        }
        let err = w
            .apply(
                t(0),
                Command::SetAlarm {
                    name: "c".into(),
                    delay_ms: 10,
                },
            )
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::LimitExceededException);
        assert_eq!(w.pending_timers().count(), 2);
    }

    #[test]
    fn time_never_goes_backwards() {
        let mut w = World::new(WorldConfig::with_seed(1));
        w.advance_to(t(500));
        w.apply(
            t(100),
            Command::Note {
                text: "late".into(),
            },
        )
        .unwrap();
        assert_eq!(w.now(), t(500));
        assert_eq!(w.events().last().map(|e| e.at), Some(t(500)));
    }

    #[test]
    fn bounded_advance_stops_at_the_budget_and_resumes() {
        let mut w = World::new(WorldConfig::with_seed(1));
        w.apply(
            t(0),
            Command::StartTicker {
                name: "fast".into(),
                period_ms: 1,
                jitter_ms: 0,
            },
        )
        .unwrap();
        let a = w.advance_to_bounded(t(1_000), 10);
        assert_eq!(
            a,
            Advance {
                fired: 10,
                reached: false
            }
        );
        assert_eq!(w.now(), t(10));
        let b = w.advance_to_bounded(t(1_000), u32::MAX);
        assert_eq!(
            b,
            Advance {
                fired: 990,
                reached: true
            }
        );
        assert_eq!(w.now(), t(1_000));
    }

    #[test]
    fn old_events_roll_off_but_stay_in_the_hash() {
        let mut config = WorldConfig::with_seed(1);
        config.events_retained_max = 3;
        let mut w = World::new(config);
        let mut hashes = Vec::new();
        for i in 0..5 {
            w.apply(
                t(i),
                Command::Note {
                    text: format!("n{i}"),
                },
            )
            .unwrap();
            hashes.push(w.event_log_hash());
        }
        assert_eq!(w.events().len(), 3);
        assert_eq!(w.events().next().map(|e| e.seq), Some(2));
        assert_eq!(w.event_count(), 5);
        hashes.dedup();
        assert_eq!(hashes.len(), 5, "every event changes the hash");
    }

    #[test]
    fn calendar_time_follows_the_display_epoch() {
        let mut w = World::new(WorldConfig::with_seed(1));
        w.advance_to(t(61_500));
        assert_eq!(w.now_iso8601(), "2026-01-01T00:01:01.500Z");
    }
}
