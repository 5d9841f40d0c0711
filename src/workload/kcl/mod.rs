//! A KCL 2.x-style consumer group ("application") on simulated time: workers share a stream's shards through a
//! lease table with conditional writes, take and steal leases to balance load, renew what they hold, and run one
//! shard consumer per lease that polls GetRecords, hands batches to a [`RecordProcessor`] and checkpoints.
//!
//! Driven quinn-style: [`KclApplication::poll_timeout`] says when the group next wants to run and
//! [`KclApplication::handle_timeout`] runs everything due, calling the typed [`DataStreams`] API. The whole state
//! (lease table, workers, consumers, processors) is plain data that serializes into a World snapshot.
//!
//! What follows the KCL (awslabs/amazon-kinesis-client, 2.x):
//! - `DynamoDBLeaseTaker`: a lease whose counter has not changed for the failover time (or that has no owner) is
//!   expired; the target is ceil(leases / workers), counting only workers that own an unexpired lease plus this
//!   one; a worker takes expired leases up to its target, and only when there are none steals from the most
//!   loaded worker (at most `maxLeasesToStealAtOneTime`, and one when it needs more than one and the most loaded
//!   worker is exactly at target).
//! - `DynamoDBLeaseRenewer`: increments the counter of every held lease, conditional on the counter it holds; a
//!   failed renewal drops the lease. At start it reclaims leases the table says it owns.
//! - `DynamoDBLeaseCoordinator`: renew every `failoverTime / 3 - epsilon`, take every `(failoverTime + epsilon) * 2`.
//! - `ShardConsumer` / `BlockOnParentShardTask`: a lease is processed only once every parent's lease is at
//!   SHARD_END or gone; reading resumes after the checkpoint; at a closed shard's end the consumer creates the
//!   children's leases and checkpoints SHARD_END.
//! - `HierarchicalShardSyncer`: leases for new shards, children carrying their parents; a shard with a leased
//!   descendant is done and gets none.
//! - `LeaseCleanupManager`: a SHARD_END lease is deleted once every child's lease has started processing.
//!
//! Delivery is at least once: records after the last checkpoint are delivered again after a lease changes hands.

pub mod lease;
pub mod processor;

pub use lease::{Checkpoint, Lease, LeaseError, LeaseTable};
pub use processor::{
    CheckpointError, Checkpointer, CheckpointingProcessor, InitializationInput, KclRecord,
    ProcessRecordsInput, RecordProcessor,
};

use crate::sim::{SimDuration, SimRng, SimTime};
use crate::streams::error::ErrorType;
use crate::streams::sequence::SequenceNumber;
use crate::streams::service::{
    ChildShard, IteratorRequest, IteratorType, ListShardsFrom, ShardView, StreamStatus,
};
use crate::streams::{DataStreams, KinesisError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

/// Time after which a lease whose counter has not changed is expired, in ms (KCL
/// `LeaseManagementConfig.failoverTimeMillis`, default 10,000).
pub const FAILOVER_TIME_MS_DEFAULT: u64 = 10_000;
/// Slack subtracted from the renewal interval and added to the taker interval, in ms (KCL
/// `LeaseManagementConfig.epsilonMillis`, default 25).
pub const EPSILON_MS_DEFAULT: u64 = 25;
/// Most leases one worker processes (KCL `LeaseManagementConfig.maxLeasesForWorker`, default
/// `Integer.MAX_VALUE`).
pub const MAX_LEASES_FOR_WORKER_DEFAULT: u32 = 2_147_483_647;
/// Most leases a worker steals in one taker run (KCL `LeaseManagementConfig.maxLeasesToStealAtOneTime`,
/// default 1).
pub const MAX_LEASES_TO_STEAL_AT_ONE_TIME_DEFAULT: u32 = 1;
/// Time between shard syncs, in ms (KCL `LeaseManagementConfig.shardSyncIntervalMillis`, default 60,000).
pub const SHARD_SYNC_INTERVAL_MS_DEFAULT: u64 = 60_000;
/// Time between GetRecords calls of one shard consumer, in ms (KCL `PollingConfig.idleTimeBetweenReadsInMillis`,
/// default 1,000).
pub const IDLE_TIME_BETWEEN_READS_MS_DEFAULT: u64 = 1_000;
/// `Limit` of each GetRecords call (KCL `PollingConfig.maxRecords`, default 10,000).
pub const MAX_RECORDS_DEFAULT: u32 = 10_000;
/// Time between checks of whether a child's parents are finished, in ms (KCL
/// `CoordinatorConfig.parentShardPollIntervalMillis`, default 10,000).
pub const PARENT_SHARD_POLL_INTERVAL_MS_DEFAULT: u64 = 10_000;
/// Time between cleanups of finished (SHARD_END) leases, in ms (KCL `LeaseCleanupConfig.leaseCleanupIntervalMillis`,
/// default 1 minute).
pub const LEASE_CLEANUP_INTERVAL_MS_DEFAULT: u64 = 60_000;
/// Longest back-off after ProvisionedThroughputExceeded on GetRecords, in ms. The back-off starts at the idle
/// time between reads and doubles per consecutive refusal (the simulator's choice: the KCL's polling publisher
/// retries after its idle time, and AWS advises backing off).
pub const READ_THROTTLE_BACKOFF_MS_MAX: u64 = 10_000;
/// Most workers one application may have (a simulator bound on memory).
pub const WORKERS_MAX: u32 = 1_000;
/// Longest worker id, in bytes (a simulator bound; the KCL's default id is a host name plus a UUID).
pub const WORKER_ID_BYTES_MAX: u32 = 256;
/// Most events kept for [`KclApplication::poll_event`] before the oldest are dropped (a simulator bound).
pub const EVENTS_PENDING_MAX: u32 = 1_000_000;
/// ListShards `MaxResults` the shard sync asks for (AWS's maximum, 1,000).
const LIST_SHARDS_PAGE_MAX: u32 = 1_000;
/// Most ListShards pages one shard sync reads (a simulator bound: 10,000 shards at 1,000 a page, plus slack).
const LIST_SHARDS_PAGES_MAX: u32 = 20;
/// Most rounds of work one `handle_timeout` runs (every round schedules its work later, so a few suffice).
const ROUNDS_MAX: u32 = 16;

/// Where a new lease starts (the KCL's `InitialPositionInStream`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InitialPosition {
    /// The oldest record kept (KCL default).
    TrimHorizon,
    /// Only records written after the first read.
    Latest,
    /// Records that arrived at or after this Unix time, in ms.
    AtTimestamp(u64),
}

/// Settings of one application. Defaults are the KCL's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KclConfig {
    /// The application (lease table) name.
    pub application_name: String,
    /// The stream it reads.
    pub stream_name: String,
    /// Where leases for new shards start.
    pub initial_position: InitialPosition,
    /// `failoverTimeMillis`.
    pub failover_time_ms: u64,
    /// `epsilonMillis`.
    pub epsilon_ms: u64,
    /// `maxLeasesForWorker`.
    pub max_leases_for_worker: u32,
    /// `maxLeasesToStealAtOneTime`.
    pub max_leases_to_steal_at_one_time: u32,
    /// `shardSyncIntervalMillis`.
    pub shard_sync_interval_ms: u64,
    /// `idleTimeBetweenReadsInMillis`.
    pub idle_time_between_reads_ms: u64,
    /// `maxRecords`.
    pub max_records: u32,
    /// `parentShardPollIntervalMillis`.
    pub parent_shard_poll_interval_ms: u64,
    /// `leaseCleanupIntervalMillis`.
    pub lease_cleanup_interval_ms: u64,
    /// A naive reader: process children without waiting for their parents (not a KCL option; it shows why the
    /// KCL waits: a partition key's records can then be seen out of order).
    pub ignore_parent_order: bool,
    /// Whether to keep [`KclEvent`]s for [`KclApplication::poll_event`] (off for long runs nobody watches).
    pub record_events: bool,
}

impl KclConfig {
    /// The KCL's defaults for an application reading `stream_name` from TRIM_HORIZON, with events recorded.
    pub fn new(application_name: &str, stream_name: &str) -> Self {
        KclConfig {
            application_name: application_name.to_string(),
            stream_name: stream_name.to_string(),
            initial_position: InitialPosition::TrimHorizon,
            failover_time_ms: FAILOVER_TIME_MS_DEFAULT,
            epsilon_ms: EPSILON_MS_DEFAULT,
            max_leases_for_worker: MAX_LEASES_FOR_WORKER_DEFAULT,
            max_leases_to_steal_at_one_time: MAX_LEASES_TO_STEAL_AT_ONE_TIME_DEFAULT,
            shard_sync_interval_ms: SHARD_SYNC_INTERVAL_MS_DEFAULT,
            idle_time_between_reads_ms: IDLE_TIME_BETWEEN_READS_MS_DEFAULT,
            max_records: MAX_RECORDS_DEFAULT,
            parent_shard_poll_interval_ms: PARENT_SHARD_POLL_INTERVAL_MS_DEFAULT,
            lease_cleanup_interval_ms: LEASE_CLEANUP_INTERVAL_MS_DEFAULT,
            ignore_parent_order: false,
            record_events: true,
        }
    }

    /// How often a worker renews its leases: `failoverTime / 3 - epsilon` (`DynamoDBLeaseCoordinator`).
    pub fn renewer_interval_ms(&self) -> u64 {
        (self.failover_time_ms / 3).saturating_sub(self.epsilon_ms)
    }

    /// How often a worker runs its lease taker: `(failoverTime + epsilon) * 2` (`DynamoDBLeaseCoordinator`).
    pub fn taker_interval_ms(&self) -> u64 {
        self.failover_time_ms
            .saturating_add(self.epsilon_ms)
            .saturating_mul(2)
    }

    fn validate(&self) -> Result<(), KclError> {
        let bad = |what: &str| Err(KclError::InvalidConfig(what.to_string()));
        if self.stream_name.is_empty() {
            return bad("streamName must not be empty");
        }
        if self.renewer_interval_ms() == 0 {
            return bad("failoverTimeMillis / 3 must exceed epsilonMillis");
        }
        if self.max_records == 0
            || self.max_records > crate::streams::service::GET_RECORDS_LIMIT_MAX
        {
            return bad("maxRecords must be between 1 and 10000");
        }
        if self.idle_time_between_reads_ms == 0
            || self.shard_sync_interval_ms == 0
            || self.parent_shard_poll_interval_ms == 0
            || self.lease_cleanup_interval_ms == 0
        {
            return bad("intervals must be at least 1 ms");
        }
        if self.max_leases_for_worker == 0 {
            return bad("maxLeasesForWorker must be at least 1");
        }
        Ok(())
    }
}

/// Why a group command was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KclError {
    /// A setting is out of range.
    InvalidConfig(String),
    /// No worker has this id.
    UnknownWorker(String),
    /// A worker with this id exists already.
    WorkerExists(String),
    /// The worker is stopped (for kill and shutdown).
    WorkerNotRunning(String),
    /// The worker is running (for restart).
    WorkerRunning(String),
    /// The id is empty or longer than [`WORKER_ID_BYTES_MAX`].
    InvalidWorkerId(String),
    /// The application has [`WORKERS_MAX`] workers.
    TooManyWorkers,
}

impl fmt::Display for KclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KclError::InvalidConfig(why) => write!(f, "invalid configuration: {why}"),
            KclError::UnknownWorker(id) => write!(f, "no worker {id}"),
            KclError::WorkerExists(id) => write!(f, "worker {id} exists already"),
            KclError::WorkerNotRunning(id) => write!(f, "worker {id} is not running"),
            KclError::WorkerRunning(id) => write!(f, "worker {id} is running"),
            KclError::InvalidWorkerId(id) => {
                write!(
                    f,
                    "worker id {id:?} must be 1..={WORKER_ID_BYTES_MAX} bytes"
                )
            }
            KclError::TooManyWorkers => {
                write!(f, "an application has at most {WORKERS_MAX} workers")
            }
        }
    }
}

/// A record as an event reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveredRecord {
    /// Its sequence number.
    pub sequence_number: String,
    /// Its partition key.
    pub partition_key: String,
}

/// Something the group did, in order (for tests, logs and the UI).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KclEvent {
    /// A shard sync or a shard end created a lease.
    LeaseCreated {
        /// When.
        at: SimTime,
        /// The shard.
        shard_id: String,
        /// Its starting checkpoint.
        checkpoint: Checkpoint,
        /// Its parents.
        parent_shard_ids: Vec<String>,
    },
    /// A worker took a lease (an expired or unowned one, a stolen one, or its own after a restart).
    LeaseTaken {
        /// When.
        at: SimTime,
        /// The taker.
        worker_id: String,
        /// The shard.
        shard_id: String,
        /// The owner before.
        previous_owner: Option<String>,
        /// Whether the lease was stolen from a live owner to balance load.
        stolen: bool,
    },
    /// A worker renewed the leases it holds (one event per renewer run that renewed any).
    LeasesRenewed {
        /// When.
        at: SimTime,
        /// The worker.
        worker_id: String,
        /// The shards whose leases it renewed, in key order.
        shard_ids: Vec<String>,
    },
    /// A worker found it no longer holds a lease (failed renewal or checkpoint).
    LeaseLost {
        /// When.
        at: SimTime,
        /// The worker.
        worker_id: String,
        /// The shard.
        shard_id: String,
    },
    /// A batch was handed to a processor.
    Delivered {
        /// When.
        at: SimTime,
        /// The worker.
        worker_id: String,
        /// The shard.
        shard_id: String,
        /// The records, in order.
        records: Vec<DeliveredRecord>,
    },
    /// A checkpoint was written.
    Checkpointed {
        /// When.
        at: SimTime,
        /// The worker.
        worker_id: String,
        /// The shard.
        shard_id: String,
        /// The new checkpoint.
        checkpoint: Checkpoint,
    },
    /// A consumer reached the end of a closed shard.
    ShardEnded {
        /// When.
        at: SimTime,
        /// The worker.
        worker_id: String,
        /// The shard.
        shard_id: String,
    },
    /// A finished lease was deleted by the cleanup.
    LeaseDeleted {
        /// When.
        at: SimTime,
        /// The worker.
        worker_id: String,
        /// The shard.
        shard_id: String,
    },
}

/// Counters over the application's life.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KclStats {
    /// Records handed to processors (redeliveries included).
    pub records_processed: u64,
    /// Non-empty batches handed to processors.
    pub batches: u64,
    /// GetRecords calls.
    pub get_records_calls: u64,
    /// GetRecords calls refused with ProvisionedThroughputExceeded.
    pub read_throttles: u64,
    /// Checkpoints written.
    pub checkpoints: u64,
    /// Leases taken (stolen ones included).
    pub leases_taken: u64,
    /// Leases stolen from a live owner.
    pub leases_stolen: u64,
    /// Leases lost by their holder.
    pub leases_lost: u64,
    /// Shard syncs run.
    pub shard_syncs: u64,
    /// Events dropped because nobody polled them.
    pub events_dropped: u64,
}

/// What a shard consumer is doing, for views.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsumerPhase {
    /// Waiting for a parent's lease to reach SHARD_END.
    WaitingOnParents,
    /// Getting an iterator.
    Starting,
    /// Polling GetRecords.
    Reading,
    /// Read to the end of a closed shard.
    Ended,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum ConsumerState {
    WaitingOnParents,
    Starting,
    Reading { iterator: String },
    Ended,
}

impl ConsumerState {
    fn phase(&self) -> ConsumerPhase {
        match self {
            ConsumerState::WaitingOnParents => ConsumerPhase::WaitingOnParents,
            ConsumerState::Starting => ConsumerPhase::Starting,
            ConsumerState::Reading { .. } => ConsumerPhase::Reading,
            ConsumerState::Ended => ConsumerPhase::Ended,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Consumer<P> {
    state: ConsumerState,
    next_at: SimTime,
    processor: P,
    initialized: bool,
    last_delivered: Option<String>,
    millis_behind_latest: Option<u64>,
    throttle_backoff_ms: u64,
}

/// The taker's memory of a lease: the counter it last saw and when it saw that counter first.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Seen {
    counter: u64,
    since: SimTime,
}

/// A lease this worker holds: the counter its conditional writes expect.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Held {
    counter: u64,
    renewed_at: SimTime,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Worker<P> {
    alive: bool,
    seen: BTreeMap<String, Seen>,
    held: BTreeMap<String, Held>,
    consumers: BTreeMap<String, Consumer<P>>,
    next_sync: SimTime,
    next_renew: SimTime,
    next_take: SimTime,
    next_cleanup: SimTime,
    records_processed: u64,
}

impl<P> Worker<P> {
    fn started(now: SimTime, config: &KclConfig) -> Self {
        Worker {
            alive: true,
            seen: BTreeMap::new(),
            held: BTreeMap::new(),
            consumers: BTreeMap::new(),
            next_sync: now,
            next_renew: now.saturating_add(ms(config.renewer_interval_ms())),
            next_take: now,
            next_cleanup: now.saturating_add(ms(config.lease_cleanup_interval_ms)),
            records_processed: 0,
        }
    }

    fn next_due(&self) -> Option<SimTime> {
        if !self.alive {
            return None;
        }
        let timers = [
            self.next_sync,
            self.next_renew,
            self.next_take,
            self.next_cleanup,
        ];
        timers
            .into_iter()
            .chain(self.consumers.values().map(|c| c.next_at))
            .filter(|&t| t != SimTime::MAX)
            .min()
    }
}

/// One lease as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseView {
    /// The row of the lease table.
    pub lease: Lease,
    /// The live worker whose consumer holds it with the table's current counter.
    pub processing_worker: Option<String>,
    /// What that consumer is doing.
    pub phase: Option<ConsumerPhase>,
    /// The consumer's last `MillisBehindLatest` (its lag).
    pub millis_behind_latest: Option<u64>,
}

/// One worker as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerView {
    /// Its id.
    pub worker_id: String,
    /// Running or killed.
    pub alive: bool,
    /// Leases it believes it holds.
    pub leases_held: u32,
    /// Leases the table says it owns.
    pub leases_owned: u32,
    /// Records its processors were given.
    pub records_processed: u64,
}

/// A read-only picture of the application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KclView {
    /// The application name.
    pub application_name: String,
    /// Every lease, in key order.
    pub leases: Vec<LeaseView>,
    /// Every worker, in id order.
    pub workers: Vec<WorkerView>,
    /// Life-time counters.
    pub stats: KclStats,
}

/// A KCL application: its lease table, its workers and their shard consumers.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "P: Serialize", deserialize = "P: Deserialize<'de>"))]
pub struct KclApplication<P> {
    config: KclConfig,
    table: LeaseTable,
    workers: BTreeMap<String, Worker<P>>,
    prototype: P,
    rng: SimRng,
    events: VecDeque<KclEvent>,
    stats: KclStats,
}

const fn ms(value: u64) -> SimDuration {
    SimDuration::from_millis(value)
}

/// The parts of the application a worker's tasks touch, borrowed apart from the workers.
struct Ctx<'a, P> {
    config: &'a KclConfig,
    table: &'a mut LeaseTable,
    prototype: &'a P,
    rng: &'a mut SimRng,
    events: &'a mut VecDeque<KclEvent>,
    stats: &'a mut KclStats,
}

impl<P> Ctx<'_, P> {
    fn emit(&mut self, event: KclEvent) {
        if !self.config.record_events {
            return;
        }
        if self.events.len() >= EVENTS_PENDING_MAX as usize {
            self.events.pop_front();
            self.stats.events_dropped += 1;
        }
        self.events.push_back(event);
    }
}

impl<P: RecordProcessor> KclApplication<P> {
    /// An application with no workers and an empty lease table. Each shard consumer gets a clone of `processor`;
    /// `rng` decides which expired lease to take and which to steal (fork it from the world's seed).
    pub fn new(config: KclConfig, processor: P, rng: SimRng) -> Result<Self, KclError> {
        config.validate()?;
        Ok(KclApplication {
            config,
            table: LeaseTable::new(),
            workers: BTreeMap::new(),
            prototype: processor,
            rng,
            events: VecDeque::new(),
            stats: KclStats::default(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &KclConfig {
        &self.config
    }

    /// The lease table.
    pub fn lease_table(&self) -> &LeaseTable {
        &self.table
    }

    /// Life-time counters.
    pub fn stats(&self) -> &KclStats {
        &self.stats
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<KclEvent> {
        self.events.pop_front()
    }

    /// Every live consumer's processor, mutable (a host drains what its processors collected).
    pub fn processors_mut(&mut self) -> impl Iterator<Item = &mut P> {
        self.workers
            .values_mut()
            .flat_map(|worker| worker.consumers.values_mut().map(|c| &mut c.processor))
    }

    /// Every live consumer's processor: (worker id, shard id, processor).
    pub fn processors(&self) -> impl Iterator<Item = (&str, &str, &P)> {
        self.workers.iter().flat_map(|(w, worker)| {
            worker
                .consumers
                .iter()
                .map(move |(s, c)| (w.as_str(), s.as_str(), &c.processor))
        })
    }

    /// Ids of the running workers.
    pub fn live_workers(&self) -> impl Iterator<Item = &str> {
        self.workers
            .iter()
            .filter(|(_, w)| w.alive)
            .map(|(id, _)| id.as_str())
    }

    /// Starts a new worker: it syncs shards and runs its lease taker at once.
    pub fn add_worker(&mut self, now: SimTime, worker_id: &str) -> Result<(), KclError> {
        if worker_id.is_empty() || worker_id.len() > WORKER_ID_BYTES_MAX as usize {
            return Err(KclError::InvalidWorkerId(worker_id.to_string()));
        }
        if self.workers.contains_key(worker_id) {
            return Err(KclError::WorkerExists(worker_id.to_string()));
        }
        if self.workers.len() >= WORKERS_MAX as usize {
            return Err(KclError::TooManyWorkers);
        }
        self.workers
            .insert(worker_id.to_string(), Worker::started(now, &self.config));
        Ok(())
    }

    /// Stops a worker abruptly: nothing is released or checkpointed, so its leases expire after the failover time
    /// and other workers take them.
    pub fn kill(&mut self, worker_id: &str) -> Result<(), KclError> {
        let w = self
            .workers
            .get_mut(worker_id)
            .ok_or_else(|| KclError::UnknownWorker(worker_id.to_string()))?;
        if !w.alive {
            return Err(KclError::WorkerNotRunning(worker_id.to_string()));
        }
        w.alive = false;
        w.seen.clear();
        w.held.clear();
        w.consumers.clear();
        Ok(())
    }

    /// Restarts a killed worker with fresh memory. Like the KCL's renewer at start-up, it reclaims the leases the
    /// table still says it owns (a conditional renewal of each).
    pub fn restart(&mut self, now: SimTime, worker_id: &str) -> Result<(), KclError> {
        let w = self
            .workers
            .get(worker_id)
            .ok_or_else(|| KclError::UnknownWorker(worker_id.to_string()))?;
        if w.alive {
            return Err(KclError::WorkerRunning(worker_id.to_string()));
        }
        let mut worker = Worker::started(now, &self.config);
        let own: Vec<(String, u64)> = self
            .table
            .iter()
            .filter(|l| l.lease_owner.as_deref() == Some(worker_id))
            .map(|l| (l.lease_key.clone(), l.lease_counter))
            .collect();
        let mut ctx = self.ctx();
        for (key, counter) in own {
            if let Ok(counter) = ctx.table.renew(&key, counter, worker_id) {
                worker.held.insert(
                    key.clone(),
                    Held {
                        counter,
                        renewed_at: now,
                    },
                );
                ctx.stats.leases_taken += 1;
                ctx.emit(KclEvent::LeaseTaken {
                    at: now,
                    worker_id: worker_id.to_string(),
                    shard_id: key,
                    previous_owner: Some(worker_id.to_string()),
                    stolen: false,
                });
            }
        }
        self.workers.insert(worker_id.to_string(), worker);
        Ok(())
    }

    /// Shuts a worker down gracefully: each processor may checkpoint (`shutdown_requested`), then its leases are
    /// released (owner cleared) so others can take them at their next taker run without waiting for expiry.
    pub fn shutdown(&mut self, now: SimTime, worker_id: &str) -> Result<(), KclError> {
        let KclApplication {
            config,
            table,
            workers,
            prototype,
            rng,
            events,
            stats,
        } = self;
        let mut ctx = Ctx {
            config,
            table,
            prototype,
            rng,
            events,
            stats,
        };
        let w = workers
            .get_mut(worker_id)
            .ok_or_else(|| KclError::UnknownWorker(worker_id.to_string()))?;
        if !w.alive {
            return Err(KclError::WorkerNotRunning(worker_id.to_string()));
        }
        let keys: Vec<String> = w.held.keys().cloned().collect();
        for key in keys {
            let Some(held) = w.held.get_mut(&key) else {
                continue;
            };
            if let Some(c) = w.consumers.get_mut(&key)
                && c.initialized
                && c.state != ConsumerState::Ended
            {
                let mut cp = Checkpointer {
                    table: ctx.table,
                    shard_id: &key,
                    worker_id,
                    counter: &mut held.counter,
                    largest_permitted: c.last_delivered.as_deref(),
                    shard_end_children: None,
                    written: Vec::new(),
                };
                c.processor.shutdown_requested(worker_id, &key, &mut cp);
                let written = std::mem::take(&mut cp.written);
                record_checkpoints(&mut ctx, now, worker_id, &key, written);
            }
            // A failure means someone else holds it already.
            let _ = ctx.table.release(&key, held.counter, worker_id);
        }
        w.alive = false;
        w.seen.clear();
        w.held.clear();
        w.consumers.clear();
        Ok(())
    }

    fn ctx(&mut self) -> Ctx<'_, P> {
        Ctx {
            config: &self.config,
            table: &mut self.table,
            prototype: &self.prototype,
            rng: &mut self.rng,
            events: &mut self.events,
            stats: &mut self.stats,
        }
    }

    /// When the group next wants [`handle_timeout`](Self::handle_timeout); `None` with no running worker.
    pub fn poll_timeout(&self) -> Option<SimTime> {
        self.workers.values().filter_map(Worker::next_due).min()
    }

    /// Runs every task due at or before `now`: shard syncs, renewals, lease taking, cleanup and shard consumers,
    /// worker by worker in id order.
    pub fn handle_timeout(&mut self, now: SimTime, streams: &mut DataStreams) {
        let KclApplication {
            config,
            table,
            workers,
            prototype,
            rng,
            events,
            stats,
        } = self;
        let mut ctx = Ctx {
            config,
            table,
            prototype,
            rng,
            events,
            stats,
        };
        for _ in 0..ROUNDS_MAX {
            let mut acted = false;
            for (id, w) in workers.iter_mut() {
                if w.alive {
                    acted |= step_worker(&mut ctx, id, w, now, streams);
                }
            }
            if !acted {
                break;
            }
        }
    }

    /// Checks what must hold at every moment: each lease is held with the table's current counter by at most one
    /// running worker, and that worker is the table's owner. (Stale holders may still believe they hold a lease
    /// until their next renewal fails, but none of their writes can succeed.)
    pub fn check_invariants(&self) -> Result<(), String> {
        for lease in self.table.iter() {
            let current: Vec<&str> = self
                .workers
                .iter()
                .filter(|(_, w)| w.alive)
                .filter(|(_, w)| {
                    w.held
                        .get(&lease.lease_key)
                        .is_some_and(|h| h.counter == lease.lease_counter)
                })
                .map(|(id, _)| id.as_str())
                .collect();
            if current.len() > 1 {
                return Err(format!(
                    "lease {} is held at counter {} by {current:?}",
                    lease.lease_key, lease.lease_counter
                ));
            }
            if let Some(holder) = current.first()
                && lease.lease_owner.as_deref() != Some(*holder)
            {
                return Err(format!(
                    "lease {} is held by {holder} but owned by {:?}",
                    lease.lease_key, lease.lease_owner
                ));
            }
        }
        Ok(())
    }

    /// A read-only picture for the UI.
    pub fn view(&self) -> KclView {
        let leases = self
            .table
            .iter()
            .map(|lease| {
                let holder = self.workers.iter().find(|(_, w)| {
                    w.alive
                        && w.held
                            .get(&lease.lease_key)
                            .is_some_and(|h| h.counter == lease.lease_counter)
                });
                let consumer = holder.and_then(|(_, w)| w.consumers.get(&lease.lease_key));
                LeaseView {
                    lease: lease.clone(),
                    processing_worker: holder.map(|(id, _)| id.clone()),
                    phase: consumer.map(|c| c.state.phase()),
                    millis_behind_latest: consumer.and_then(|c| c.millis_behind_latest),
                }
            })
            .collect();
        let workers = self
            .workers
            .iter()
            .map(|(id, w)| WorkerView {
                worker_id: id.clone(),
                alive: w.alive,
                leases_held: u32::try_from(w.held.len()).unwrap_or(u32::MAX),
                leases_owned: u32::try_from(
                    self.table
                        .iter()
                        .filter(|l| l.lease_owner.as_deref() == Some(id.as_str()))
                        .count(),
                )
                .unwrap_or(u32::MAX),
                records_processed: w.records_processed,
            })
            .collect();
        KclView {
            application_name: self.config.application_name.clone(),
            leases,
            workers,
            stats: self.stats.clone(),
        }
    }
}

fn step_worker<P: RecordProcessor>(
    ctx: &mut Ctx<'_, P>,
    id: &str,
    w: &mut Worker<P>,
    now: SimTime,
    streams: &mut DataStreams,
) -> bool {
    let mut acted = false;
    if w.next_sync <= now {
        acted = true;
        w.next_sync = now.saturating_add(ms(ctx.config.shard_sync_interval_ms));
        ctx.stats.shard_syncs += 1;
        // A failed sync (stream not there yet, a throttled list) is retried at the next interval.
        let _ = shard_sync(ctx, now, streams);
    }
    if w.next_renew <= now {
        acted = true;
        w.next_renew = now.saturating_add(ms(ctx.config.renewer_interval_ms()));
        renew(ctx, id, w, now);
    }
    if w.next_take <= now {
        acted = true;
        w.next_take = now.saturating_add(ms(ctx.config.taker_interval_ms()));
        take(ctx, id, w, now);
    }
    if w.next_cleanup <= now {
        acted = true;
        w.next_cleanup = now.saturating_add(ms(ctx.config.lease_cleanup_interval_ms));
        cleanup(ctx, id, w, now);
    }
    reconcile(ctx, id, w, now);
    let due: Vec<String> = w
        .consumers
        .iter()
        .filter(|(_, c)| c.next_at <= now)
        .map(|(k, _)| k.clone())
        .collect();
    for key in due {
        let (Some(held), Some(consumer)) = (w.held.get_mut(&key), w.consumers.get_mut(&key)) else {
            continue;
        };
        acted = true;
        let delivered = step_consumer(ctx, id, &key, held, consumer, now, streams);
        w.records_processed += delivered;
    }
    acted
}

/// Creates consumers for newly held leases and stops those whose lease is gone (`leaseLost`).
fn reconcile<P: RecordProcessor>(ctx: &mut Ctx<'_, P>, id: &str, w: &mut Worker<P>, now: SimTime) {
    let lost: Vec<String> = w
        .consumers
        .keys()
        .filter(|k| !w.held.contains_key(*k))
        .cloned()
        .collect();
    for key in lost {
        if let Some(mut c) = w.consumers.remove(&key)
            && c.initialized
        {
            c.processor.lease_lost(id, &key);
        }
    }
    for key in w.held.keys() {
        if !w.consumers.contains_key(key) {
            w.consumers.insert(
                key.clone(),
                Consumer {
                    state: ConsumerState::WaitingOnParents,
                    next_at: now,
                    processor: ctx.prototype.clone(),
                    initialized: false,
                    last_delivered: None,
                    millis_behind_latest: None,
                    throttle_backoff_ms: 0,
                },
            );
        }
    }
}

fn lose<P>(ctx: &mut Ctx<'_, P>, id: &str, w: &mut Worker<P>, key: &str, now: SimTime) {
    w.held.remove(key);
    ctx.stats.leases_lost += 1;
    ctx.emit(KclEvent::LeaseLost {
        at: now,
        worker_id: id.to_string(),
        shard_id: key.to_string(),
    });
}

/// `DynamoDBLeaseRenewer.renewLeases`.
fn renew<P>(ctx: &mut Ctx<'_, P>, id: &str, w: &mut Worker<P>, now: SimTime) {
    let keys: Vec<String> = w.held.keys().cloned().collect();
    let mut renewed_keys = Vec::new();
    for key in keys {
        let Some(held) = w.held.get_mut(&key) else {
            continue;
        };
        // A lease not renewed within the failover time is no longer held, even if the write would succeed.
        let stale = now.saturating_since(held.renewed_at).as_millis() > ctx.config.failover_time_ms;
        let renewed = if stale {
            None
        } else {
            ctx.table.renew(&key, held.counter, id).ok()
        };
        match renewed {
            Some(counter) => {
                held.counter = counter;
                held.renewed_at = now;
                renewed_keys.push(key);
            }
            None => lose(ctx, id, w, &key, now),
        }
    }
    if !renewed_keys.is_empty() {
        ctx.emit(KclEvent::LeasesRenewed {
            at: now,
            worker_id: id.to_string(),
            shard_ids: renewed_keys,
        });
    }
}

/// `DynamoDBLeaseTaker.takeLeases`.
fn take<P>(ctx: &mut Ctx<'_, P>, id: &str, w: &mut Worker<P>, now: SimTime) {
    let failover = ctx.config.failover_time_ms;
    // Refresh the view: a lease's clock restarts whenever its counter changes.
    w.seen.retain(|k, _| ctx.table.get(k).is_some());
    for lease in ctx.table.iter() {
        let entry = w
            .seen
            .entry(lease.lease_key.clone())
            .or_insert_with(|| Seen {
                counter: lease.lease_counter,
                // A lease first seen without an owner counts as expired at once (the KCL sets its last counter
                // change to time zero).
                since: if lease.lease_owner.is_none() {
                    SimTime::ZERO
                } else {
                    now
                },
            });
        if entry.counter != lease.lease_counter {
            entry.counter = lease.lease_counter;
            entry.since = now;
        }
    }
    let expired = |lease: &Lease, seen: &BTreeMap<String, Seen>| {
        lease.lease_owner.is_none()
            || seen
                .get(&lease.lease_key)
                .is_none_or(|s| now.saturating_since(s.since).as_millis() > failover)
    };
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut available: Vec<(String, u64, Option<String>)> = Vec::new();
    for lease in ctx.table.iter() {
        if expired(lease, &w.seen) {
            available.push((
                lease.lease_key.clone(),
                lease.lease_counter,
                lease.lease_owner.clone(),
            ));
        } else if let Some(owner) = &lease.lease_owner {
            *counts.entry(owner.clone()).or_insert(0) += 1;
        }
    }
    counts.entry(id.to_string()).or_insert(0);
    let leases = u64::from(ctx.table.len());
    if leases == 0 {
        return;
    }
    let workers = counts.len() as u64;
    let target = if workers >= leases {
        1
    } else {
        leases.div_ceil(workers)
    }
    .min(u64::from(ctx.config.max_leases_for_worker));
    let mine = counts.get(id).copied().unwrap_or(0);
    let needed = target.saturating_sub(mine);
    if needed == 0 {
        return;
    }
    let mut chosen: Vec<(String, u64, Option<String>, bool)> = Vec::new();
    if available.is_empty() {
        // Steal from the most loaded worker (ties: the first id).
        let most = counts
            .iter()
            .filter(|(w, _)| w.as_str() != id)
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)));
        if let Some((victim, &load)) = most
            && load >= target
        {
            let over = load - target;
            let mut steal = needed.min(over);
            if needed > 1 && over == 0 {
                steal = 1;
            }
            let steal = steal.min(u64::from(ctx.config.max_leases_to_steal_at_one_time));
            let mut candidates: Vec<(String, u64)> = ctx
                .table
                .iter()
                .filter(|l| l.lease_owner.as_deref() == Some(victim.as_str()))
                .map(|l| (l.lease_key.clone(), l.lease_counter))
                .collect();
            for _ in 0..steal {
                if candidates.is_empty() {
                    break;
                }
                let pick = ctx.rng.below(candidates.len() as u64);
                let (key, counter) = candidates.remove(usize::try_from(pick).unwrap_or(0));
                chosen.push((key, counter, Some(victim.clone()), true));
            }
        }
    } else {
        for _ in 0..needed {
            if available.is_empty() {
                break;
            }
            let pick = ctx.rng.below(available.len() as u64);
            let (key, counter, owner) = available.remove(usize::try_from(pick).unwrap_or(0));
            chosen.push((key, counter, owner, false));
        }
    }
    for (key, counter, previous_owner, stolen) in chosen {
        if let Ok(counter) = ctx.table.take(&key, counter, id) {
            w.held.insert(
                key.clone(),
                Held {
                    counter,
                    renewed_at: now,
                },
            );
            w.seen.insert(
                key.clone(),
                Seen {
                    counter,
                    since: now,
                },
            );
            ctx.stats.leases_taken += 1;
            if stolen {
                ctx.stats.leases_stolen += 1;
            }
            ctx.emit(KclEvent::LeaseTaken {
                at: now,
                worker_id: id.to_string(),
                shard_id: key,
                previous_owner,
                stolen,
            });
        }
    }
}

/// `LeaseCleanupManager`: deletes held SHARD_END leases whose children have all started (or that have none).
fn cleanup<P>(ctx: &mut Ctx<'_, P>, id: &str, w: &mut Worker<P>, now: SimTime) {
    let finished: Vec<(String, u64)> = w
        .held
        .iter()
        .filter_map(|(key, held)| {
            let lease = ctx.table.get(key)?;
            let done = lease.checkpoint == Checkpoint::ShardEnd
                && lease.child_shard_ids.iter().all(|c| {
                    ctx.table
                        .get(c)
                        .is_none_or(|child| child.checkpoint.has_started())
                });
            done.then(|| (key.clone(), held.counter))
        })
        .collect();
    for (key, counter) in finished {
        if ctx.table.delete(&key, counter, id).is_ok() {
            w.held.remove(&key);
            w.consumers.remove(&key);
            ctx.emit(KclEvent::LeaseDeleted {
                at: now,
                worker_id: id.to_string(),
                shard_id: key,
            });
        }
    }
}

fn created_ms(shard: &ShardView) -> u64 {
    SequenceNumber::parse(&shard.starting_sequence_number).map_or(0, |q| q.shard_created_ms)
}

fn overlaps(a: &ShardView, b: &ShardView) -> bool {
    a.hash_key_range.starting <= b.hash_key_range.ending
        && b.hash_key_range.starting <= a.hash_key_range.ending
}

/// The shards a shard took its hash keys from: `ParentShardId` and `AdjacentParentShardId`, plus any other listed
/// shard that was open over part of its keys until it opened (UpdateShardCount may give a child more than two).
fn parents_of(child: &ShardView, shards: &[ShardView]) -> Vec<String> {
    let born = created_ms(child);
    let mut parents: BTreeSet<String> = child
        .parent_shard_id
        .iter()
        .chain(child.adjacent_parent_shard_id.iter())
        .cloned()
        .collect();
    for s in shards {
        if s.ending_sequence_number.is_none()
            || s.shard_id == child.shard_id
            || created_ms(s) >= born
            || !overlaps(s, child)
        {
            continue;
        }
        let start = s.hash_key_range.starting.max(child.hash_key_range.starting);
        let end = s.hash_key_range.ending.min(child.hash_key_range.ending);
        // `s` was still open when the child opened unless a later shard took over part of the shared keys.
        let replaced = shards.iter().any(|d| {
            let t = created_ms(d);
            t > created_ms(s)
                && t < born
                && d.hash_key_range.starting <= end
                && start <= d.hash_key_range.ending
        });
        if !replaced {
            parents.insert(s.shard_id.clone());
        }
    }
    parents.into_iter().collect()
}

/// `HierarchicalShardSyncer`: lists the shards and creates leases for those that need one.
fn shard_sync<P>(
    ctx: &mut Ctx<'_, P>,
    now: SimTime,
    streams: &mut DataStreams,
) -> Result<(), KinesisError> {
    let stream = ctx.config.stream_name.clone();
    let mut shards: Vec<ShardView> = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..LIST_SHARDS_PAGES_MAX {
        let from = match &token {
            Some(t) => ListShardsFrom::Token(t),
            None => ListShardsFrom::Stream {
                name: &stream,
                exclusive_start_shard_id: None,
            },
        };
        let page = streams.list_shards(now, from, LIST_SHARDS_PAGE_MAX, None)?;
        shards.extend(page.shards);
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let parents: Vec<Vec<String>> = shards.iter().map(|s| parents_of(s, &shards)).collect();
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (s, ps) in shards.iter().zip(&parents) {
        for p in ps {
            children
                .entry(p.as_str())
                .or_default()
                .push(s.shard_id.as_str());
        }
    }
    let listed: BTreeSet<&str> = shards.iter().map(|s| s.shard_id.as_str()).collect();
    let has_leased_descendant = |root: &str| {
        let mut stack: Vec<&str> = children.get(root).cloned().unwrap_or_default();
        let mut visited: BTreeSet<&str> = BTreeSet::new();
        while let Some(s) = stack.pop() {
            if !visited.insert(s) {
                continue;
            }
            if ctx.table.get(s).is_some() {
                return true;
            }
            stack.extend(children.get(s).cloned().unwrap_or_default());
        }
        false
    };
    let first = ctx.table.is_empty();
    let mut create: Vec<(String, Checkpoint, Vec<String>)> = Vec::new();
    for (s, ps) in shards.iter().zip(&parents) {
        if ctx.table.get(&s.shard_id).is_some() || has_leased_descendant(&s.shard_id) {
            continue;
        }
        let closed = s.ending_sequence_number.is_some();
        let descends = ps.iter().any(|p| listed.contains(p.as_str()));
        let checkpoint = if descends && !first {
            Checkpoint::TrimHorizon
        } else {
            match ctx.config.initial_position {
                InitialPosition::TrimHorizon => Checkpoint::TrimHorizon,
                InitialPosition::Latest if closed => continue,
                InitialPosition::Latest => Checkpoint::Latest,
                InitialPosition::AtTimestamp(t) => Checkpoint::AtTimestamp(t),
            }
        };
        create.push((s.shard_id.clone(), checkpoint, ps.clone()));
    }
    for (key, checkpoint, parents) in create {
        if ctx
            .table
            .create_if_absent(&key, checkpoint.clone(), parents.clone())
        {
            ctx.emit(KclEvent::LeaseCreated {
                at: now,
                shard_id: key,
                checkpoint,
                parent_shard_ids: parents,
            });
        }
    }
    Ok(())
}

fn record_checkpoints<P>(
    ctx: &mut Ctx<'_, P>,
    now: SimTime,
    id: &str,
    key: &str,
    written: Vec<Checkpoint>,
) {
    for checkpoint in written {
        ctx.stats.checkpoints += 1;
        ctx.emit(KclEvent::Checkpointed {
            at: now,
            worker_id: id.to_string(),
            shard_id: key.to_string(),
            checkpoint,
        });
    }
}

/// Runs one shard consumer as far as it can go now; returns how many records it delivered.
fn step_consumer<P: RecordProcessor>(
    ctx: &mut Ctx<'_, P>,
    id: &str,
    key: &str,
    held: &mut Held,
    c: &mut Consumer<P>,
    now: SimTime,
    streams: &mut DataStreams,
) -> u64 {
    let idle = ms(ctx.config.idle_time_between_reads_ms);
    if c.state == ConsumerState::WaitingOnParents {
        let Some(lease) = ctx.table.get(key) else {
            c.next_at = SimTime::MAX;
            return 0;
        };
        // `BlockOnParentShardTask`: every parent's lease at SHARD_END, or gone.
        let blocked = !ctx.config.ignore_parent_order
            && lease.parent_shard_ids.iter().any(|p| {
                ctx.table
                    .get(p)
                    .is_some_and(|l| l.checkpoint != Checkpoint::ShardEnd)
            });
        if blocked {
            c.next_at = now.saturating_add(ms(ctx.config.parent_shard_poll_interval_ms));
            return 0;
        }
        c.state = ConsumerState::Starting;
    }
    if c.state == ConsumerState::Starting {
        let Some(lease) = ctx.table.get(key) else {
            c.next_at = SimTime::MAX;
            return 0;
        };
        let checkpoint = lease.checkpoint.clone();
        if checkpoint == Checkpoint::ShardEnd {
            c.state = ConsumerState::Ended;
            c.next_at = SimTime::MAX;
            return 0;
        }
        // Resume after the last record this consumer delivered, else after the checkpoint.
        let (iterator_type, seq, timestamp) = match (&c.last_delivered, &checkpoint) {
            (Some(s), _) | (None, Checkpoint::SequenceNumber(s)) => {
                (IteratorType::AfterSequenceNumber, Some(s.clone()), None)
            }
            (None, Checkpoint::Latest) => (IteratorType::Latest, None, None),
            (None, Checkpoint::AtTimestamp(t)) => (IteratorType::AtTimestamp, None, Some(*t)),
            (None, _) => (IteratorType::TrimHorizon, None, None),
        };
        let stream = ctx.config.stream_name.clone();
        let request = IteratorRequest {
            shard_id: key,
            iterator_type,
            starting_sequence_number: seq.as_deref(),
            timestamp_unix_ms: timestamp,
        };
        match streams.get_shard_iterator(now, &stream, request) {
            Ok(iterator) => {
                if !c.initialized {
                    c.initialized = true;
                    c.processor.initialize(&InitializationInput {
                        worker_id: id,
                        shard_id: key,
                        checkpoint: &checkpoint,
                    });
                }
                c.state = ConsumerState::Reading { iterator };
            }
            Err(e) => {
                let gone = e.error_type == ErrorType::ResourceNotFoundException
                    && streams.describe(now, &stream).is_ok_and(|v| {
                        matches!(v.status, StreamStatus::Active | StreamStatus::Updating)
                    });
                if gone {
                    // The shard is past retention: nothing more to read.
                    shard_end(ctx, id, key, held, c, now, Vec::new());
                } else {
                    c.next_at = now.saturating_add(idle);
                }
                return 0;
            }
        }
    }
    let ConsumerState::Reading { iterator } = &c.state else {
        if c.state == ConsumerState::Ended {
            c.next_at = SimTime::MAX;
        }
        return 0;
    };
    ctx.stats.get_records_calls += 1;
    match streams.get_records(now, iterator, ctx.config.max_records) {
        Ok(result) => {
            c.throttle_backoff_ms = 0;
            c.millis_behind_latest = Some(result.millis_behind_latest);
            let delivered = result.records.len() as u64;
            if !result.records.is_empty() {
                let records: Vec<KclRecord> = result
                    .records
                    .into_iter()
                    .map(|(sequence_number, r)| KclRecord {
                        sequence_number,
                        partition_key: r.partition_key,
                        data: r.data,
                        arrival: r.arrival,
                    })
                    .collect();
                let last = records.last().map(|r| r.sequence_number.clone());
                ctx.stats.records_processed += delivered;
                ctx.stats.batches += 1;
                if ctx.config.record_events {
                    ctx.emit(KclEvent::Delivered {
                        at: now,
                        worker_id: id.to_string(),
                        shard_id: key.to_string(),
                        records: records
                            .iter()
                            .map(|r| DeliveredRecord {
                                sequence_number: r.sequence_number.clone(),
                                partition_key: r.partition_key.clone(),
                            })
                            .collect(),
                    });
                }
                let mut cp = Checkpointer {
                    table: ctx.table,
                    shard_id: key,
                    worker_id: id,
                    counter: &mut held.counter,
                    largest_permitted: last.as_deref(),
                    shard_end_children: None,
                    written: Vec::new(),
                };
                c.processor.process_records(
                    &ProcessRecordsInput {
                        worker_id: id,
                        shard_id: key,
                        records: &records,
                        millis_behind_latest: result.millis_behind_latest,
                        now,
                    },
                    &mut cp,
                );
                let written = std::mem::take(&mut cp.written);
                record_checkpoints(ctx, now, id, key, written);
                c.last_delivered = last;
            }
            match result.next_shard_iterator {
                Some(next) => {
                    c.state = ConsumerState::Reading { iterator: next };
                    c.next_at = now.saturating_add(idle);
                }
                None => shard_end(ctx, id, key, held, c, now, result.child_shards),
            }
            delivered
        }
        Err(e) => {
            match e.error_type {
                ErrorType::ProvisionedThroughputExceededException => {
                    ctx.stats.read_throttles += 1;
                    c.throttle_backoff_ms = if c.throttle_backoff_ms == 0 {
                        ctx.config.idle_time_between_reads_ms
                    } else {
                        c.throttle_backoff_ms
                            .saturating_mul(2)
                            .min(READ_THROTTLE_BACKOFF_MS_MAX)
                    };
                    c.next_at = now.saturating_add(ms(c.throttle_backoff_ms));
                }
                ErrorType::ExpiredIteratorException | ErrorType::ResourceNotFoundException => {
                    // Get a fresh iterator after the last delivered record (or find the shard gone).
                    c.state = ConsumerState::Starting;
                    c.next_at = now;
                }
                _ => c.next_at = now.saturating_add(idle),
            }
            0
        }
    }
}

/// At a closed shard's end: `shardEnded`, SHARD_END written (by the processor or else by the group), the
/// children's leases created.
fn shard_end<P: RecordProcessor>(
    ctx: &mut Ctx<'_, P>,
    id: &str,
    key: &str,
    held: &mut Held,
    c: &mut Consumer<P>,
    now: SimTime,
    children: Vec<ChildShard>,
) {
    let child_ids: Vec<String> = children.iter().map(|ch| ch.shard_id.clone()).collect();
    let mut cp = Checkpointer {
        table: ctx.table,
        shard_id: key,
        worker_id: id,
        counter: &mut held.counter,
        largest_permitted: c.last_delivered.as_deref(),
        shard_end_children: Some(child_ids),
        written: Vec::new(),
    };
    if c.initialized {
        c.processor.shard_ended(id, key, &mut cp);
    }
    let at_end = cp
        .table
        .get(key)
        .is_some_and(|l| l.checkpoint == Checkpoint::ShardEnd);
    let ended = at_end || cp.checkpoint().is_ok();
    let written = std::mem::take(&mut cp.written);
    record_checkpoints(ctx, now, id, key, written);
    c.state = ConsumerState::Ended;
    c.next_at = SimTime::MAX;
    ctx.emit(KclEvent::ShardEnded {
        at: now,
        worker_id: id.to_string(),
        shard_id: key.to_string(),
    });
    if ended {
        for child in children {
            if ctx.table.create_if_absent(
                &child.shard_id,
                Checkpoint::TrimHorizon,
                child.parent_shards.clone(),
            ) {
                ctx.emit(KclEvent::LeaseCreated {
                    at: now,
                    shard_id: child.shard_id,
                    checkpoint: Checkpoint::TrimHorizon,
                    parent_shard_ids: child.parent_shards,
                });
            }
        }
    }
}
