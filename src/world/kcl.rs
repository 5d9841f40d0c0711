//! KCL-style consumer applications and KPL-style producers as World actors.
//!
//! A KCL application ([`Command::StartKclApplication`](super::Command::StartKclApplication)) is a
//! [`KclApplication`] whose workers are named `worker-1` .. `worker-N`; it runs on one world timer set to the
//! group's [`KclApplication::poll_timeout`], and what it does (leases created, taken, stolen after expiry, renewed,
//! lost; records processed; checkpoints; workers killed and restarted) goes into the event log as
//! [`EventKind::Kcl`]. Its record processor de-aggregates KPL aggregated records (as the KCL's
//! `AggregatorUtil.deaggregate` does before `processRecords`) and checkpoints after every batch.
//!
//! A KPL producer ([`Command::StartKplProducer`](super::Command::StartKplProducer)) generates user records at a
//! steady rate every [`KPL_TICK_MS`] and hands them to a [`KplProducer`] (aggregation on or off), which batches
//! them into PutRecords calls and retries throttled ones after a back-off; each tick's PutRecords calls, retries
//! and failures go into the event log as [`EventKind::Kpl`].

use super::{CommandError, ErrorKind, EventKind, TimerAction, World, check_length};
use crate::sim::{SimDuration, SimTime, TimerId};
use crate::streams::aggregation::deaggregate;
use crate::workload::generator::{Generator, GeneratorSpec};
use crate::workload::kcl::processor::compare_sequence_numbers;
use crate::workload::kcl::{
    Checkpointer, KclApplication, KclConfig, KclEvent, ProcessRecordsInput, RecordProcessor,
};
use crate::workload::kpl::{KplConfig, KplCounters, KplProducer};
use crate::workload::producer::{PRODUCER_BYTES_PER_S_MAX, PRODUCER_RECORDS_PER_S_MAX};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, VecDeque};

/// Most KCL applications a world runs (a simulator bound).
pub const KCL_APPLICATIONS_MAX: u32 = 16;
/// Most workers [`Command::StartKclApplication`](super::Command::StartKclApplication) starts (a simulator bound).
pub const KCL_START_WORKERS_MAX: u32 = 32;
/// Longest application (and lease table) name, in characters (the KCL's application name names a DynamoDB table:
/// 3..=255 characters there; the simulator asks for 1..=128).
pub const KCL_NAME_LENGTH_MAX_CHARS: u32 = 128;
/// Shortest failover time the world accepts, in ms (the renewer runs every `failover / 3 - 25 ms`).
pub const KCL_FAILOVER_TIME_MS_MIN: u64 = 300;
/// Longest failover time the world accepts, in ms (one hour).
pub const KCL_FAILOVER_TIME_MS_MAX: u64 = 3_600_000;
/// Most recently processed user records an application keeps for the UI.
pub const KCL_RECENT_RECORDS_MAX: u32 = 50;
/// Most KPL producers a world runs (a simulator bound).
pub const KPL_PRODUCERS_MAX: u32 = 32;
/// How often a KPL producer actor hands newly generated user records to its KPL, in ms.
pub const KPL_TICK_MS: u64 = 100;

/// A user record a KCL application processed, for the UI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessedRecord {
    /// The worker.
    pub worker_id: String,
    /// The shard.
    pub shard_id: String,
    /// The sequence number of the Kinesis record that carried it.
    pub sequence_number: String,
    /// Its position in that record (0 for a plain record).
    pub sub_sequence_number: u64,
    /// Its partition key (the user record's own, after de-aggregation).
    pub partition_key: String,
    /// Its data size, in bytes.
    pub data_bytes: u64,
    /// Whether it came out of a KPL aggregated record.
    pub aggregated: bool,
    /// When it was processed.
    pub at: SimTime,
}

/// The record processor of a world KCL application: de-aggregates, collects what it saw for the world, and
/// checkpoints after every batch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorldProcessor {
    /// User records seen since the world last drained them.
    outbox: Vec<ProcessedRecord>,
    /// Kinesis records seen since the world last drained them: (all, aggregated).
    kinesis_records: (u64, u64),
}

impl RecordProcessor for WorldProcessor {
    fn process_records(
        &mut self,
        input: &ProcessRecordsInput<'_>,
        checkpointer: &mut Checkpointer<'_>,
    ) {
        for record in input.records {
            let users = deaggregate(
                &record.data,
                &record.partition_key,
                None,
                &record.sequence_number,
            );
            self.kinesis_records.0 += 1;
            if users.first().is_some_and(|u| u.aggregated) {
                self.kinesis_records.1 += 1;
            }
            for u in users {
                self.outbox.push(ProcessedRecord {
                    worker_id: input.worker_id.to_string(),
                    shard_id: input.shard_id.to_string(),
                    sequence_number: u.sequence_number,
                    sub_sequence_number: u.sub_sequence_number,
                    partition_key: u.partition_key,
                    data_bytes: u.data.len() as u64,
                    aggregated: u.aggregated,
                    at: input.now,
                });
            }
        }
        // A failure means the lease is lost; the group tells the processor through `lease_lost`.
        let _ = checkpointer.checkpoint();
    }
}

/// What a world KCL application has processed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KclCounts {
    /// Kinesis records handed to processors (redeliveries included).
    pub kinesis_records: u64,
    /// Of those, KPL aggregated records.
    pub aggregated_records: u64,
    /// User records after de-aggregation (redeliveries included).
    pub user_records: u64,
    /// User records seen for the first time (each shard's records are counted once, however often they are
    /// delivered again after a failover).
    pub unique_user_records: u64,
    /// Data bytes of the user records (redeliveries included).
    pub user_record_bytes: u64,
}

/// A KCL application the world runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KclAppEntry {
    app: KclApplication<WorldProcessor>,
    lease_table: String,
    timer: Option<TimerId>,
    running: bool,
    started: SimTime,
    counts: KclCounts,
    /// Per shard: the highest (sequence number, sub-sequence number) processed.
    high_water: BTreeMap<String, (String, u64)>,
    recent: VecDeque<ProcessedRecord>,
}

impl KclAppEntry {
    /// The application (lease table, workers, counters).
    pub fn app(&self) -> &KclApplication<WorldProcessor> {
        &self.app
    }
    /// The stream it reads.
    pub fn stream(&self) -> &str {
        &self.app.config().stream_name
    }
    /// The lease table's name.
    pub fn lease_table(&self) -> &str {
        &self.lease_table
    }
    /// Whether it runs (false once stopped).
    pub fn running(&self) -> bool {
        self.running
    }
    /// When it started.
    pub fn started(&self) -> SimTime {
        self.started
    }
    /// What it processed.
    pub fn counts(&self) -> &KclCounts {
        &self.counts
    }
    /// The most recently processed user records, oldest first.
    pub fn recent(&self) -> impl DoubleEndedIterator<Item = &ProcessedRecord> {
        self.recent.iter()
    }

    fn absorb(&mut self) {
        let mut seen = Vec::new();
        for p in self.app.processors_mut() {
            self.counts.kinesis_records += p.kinesis_records.0;
            self.counts.aggregated_records += p.kinesis_records.1;
            p.kinesis_records = (0, 0);
            seen.append(&mut p.outbox);
        }
        for r in seen {
            self.counts.user_records += 1;
            self.counts.user_record_bytes += r.data_bytes;
            let newer = match self.high_water.get(&r.shard_id) {
                None => true,
                Some((seq, sub)) => match compare_sequence_numbers(&r.sequence_number, seq) {
                    Ordering::Greater => true,
                    Ordering::Equal => r.sub_sequence_number > *sub,
                    Ordering::Less => false,
                },
            };
            if newer {
                self.counts.unique_user_records += 1;
                self.high_water.insert(
                    r.shard_id.clone(),
                    (r.sequence_number.clone(), r.sub_sequence_number),
                );
            }
            if self.recent.len() >= KCL_RECENT_RECORDS_MAX as usize {
                self.recent.pop_front();
            }
            self.recent.push_back(r);
        }
    }
}

/// A KPL producer the world runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KplEntry {
    producer: KplProducer,
    generator: Generator,
    records_per_s: u32,
    /// Rate remainder carried between ticks, in record-milliseconds.
    carry: u64,
    next_tick: SimTime,
    timer: Option<TimerId>,
    running: bool,
    seen: KplCounters,
    /// User records the KPL refused (`addUserRecord` threw), and the last reason.
    refused: u64,
    last_refusal: Option<String>,
}

impl KplEntry {
    /// The KPL (its counters, settings, outstanding records).
    pub fn producer(&self) -> &KplProducer {
        &self.producer
    }
    /// Whether it runs.
    pub fn running(&self) -> bool {
        self.running
    }
    /// User records per second it generates.
    pub fn records_per_s(&self) -> u32 {
        self.records_per_s
    }
    /// What it generates.
    pub fn spec(&self) -> &GeneratorSpec {
        self.generator.spec()
    }
    /// User records `addUserRecord` refused, and the last reason.
    pub fn refused(&self) -> (u64, Option<&str>) {
        (self.refused, self.last_refusal.as_deref())
    }
}

fn invalid(message: impl Into<String>) -> CommandError {
    CommandError::new(ErrorKind::InvalidArgumentException, message)
}

fn not_found(message: impl Into<String>) -> CommandError {
    CommandError::new(ErrorKind::ResourceNotFoundException, message)
}

fn kcl_error(e: &crate::workload::kcl::KclError) -> CommandError {
    use crate::workload::kcl::KclError as K;
    let kind = match e {
        K::UnknownWorker(_) => ErrorKind::ResourceNotFoundException,
        K::WorkerExists(_) | K::WorkerRunning(_) | K::WorkerNotRunning(_) => {
            ErrorKind::ResourceInUseException
        }
        K::TooManyWorkers => ErrorKind::LimitExceededException,
        K::InvalidConfig(_) | K::InvalidWorkerId(_) => ErrorKind::InvalidArgumentException,
    };
    CommandError::new(kind, format!("{e}."))
}

/// The id of worker `i` (from 1).
pub fn kcl_worker_id(i: u32) -> String {
    format!("worker-{i}")
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".into()
    } else {
        ids.join(", ")
    }
}

/// A KCL event as the event log shows it: what happened and its particulars.
pub fn kcl_event_text(event: &KclEvent) -> (String, String) {
    match event {
        KclEvent::LeaseCreated {
            shard_id,
            checkpoint,
            parent_shard_ids,
            ..
        } => (
            "lease created".into(),
            format!(
                "{shard_id} at {checkpoint} (parents: {})",
                list(parent_shard_ids)
            ),
        ),
        KclEvent::LeaseTaken {
            worker_id,
            shard_id,
            previous_owner,
            stolen,
            ..
        } => match (previous_owner, stolen) {
            (Some(prev), true) => (
                "lease stolen".into(),
                format!("{worker_id} took {shard_id} from {prev} to balance load"),
            ),
            (Some(prev), false) if prev == worker_id => (
                "lease reclaimed".into(),
                format!("{worker_id} reclaimed {shard_id} after its restart"),
            ),
            (Some(prev), false) => (
                "lease expired".into(),
                format!(
                    "{worker_id} took {shard_id}: {prev} did not renew it within the failover time"
                ),
            ),
            (None, _) => ("lease taken".into(), format!("{worker_id} took {shard_id}")),
        },
        KclEvent::LeasesRenewed {
            worker_id,
            shard_ids,
            ..
        } => (
            "leases renewed".into(),
            format!("{worker_id}: {}", list(shard_ids)),
        ),
        KclEvent::LeaseLost {
            worker_id,
            shard_id,
            ..
        } => (
            "lease lost".into(),
            format!("{worker_id} no longer holds {shard_id}"),
        ),
        KclEvent::Delivered {
            worker_id,
            shard_id,
            records,
            ..
        } => (
            "records processed".into(),
            format!(
                "{worker_id} {shard_id}: {} records, {} .. {}",
                records.len(),
                records.first().map_or("", |r| r.sequence_number.as_str()),
                records.last().map_or("", |r| r.sequence_number.as_str())
            ),
        ),
        KclEvent::Checkpointed {
            worker_id,
            shard_id,
            checkpoint,
            ..
        } => (
            "checkpoint".into(),
            format!("{worker_id} {shard_id} at {checkpoint}"),
        ),
        KclEvent::ShardEnded {
            worker_id,
            shard_id,
            ..
        } => (
            "shard ended".into(),
            format!("{worker_id} read {shard_id} to its end"),
        ),
        KclEvent::LeaseDeleted {
            worker_id,
            shard_id,
            ..
        } => (
            "lease deleted".into(),
            format!("{worker_id} deleted the finished lease of {shard_id}"),
        ),
    }
}

impl World {
    /// KCL applications, running or stopped, by name.
    pub fn kcl_applications(&self) -> &BTreeMap<String, KclAppEntry> {
        &self.kcl_apps
    }

    /// KPL producers, running or stopped, by name.
    pub fn kpl_producers(&self) -> &BTreeMap<String, KplEntry> {
        &self.kpl_producers
    }

    pub(super) fn start_kcl_application(
        &mut self,
        name: String,
        stream: String,
        workers: u32,
        failover_time_ms: Option<u64>,
        lease_table: Option<String>,
    ) -> Result<SimTime, CommandError> {
        check_length("name", &name, KCL_NAME_LENGTH_MAX_CHARS)?;
        let lease_table = lease_table.unwrap_or_else(|| name.clone());
        check_length("leaseTable", &lease_table, KCL_NAME_LENGTH_MAX_CHARS)?;
        if self.kcl_apps.get(&name).is_some_and(|e| e.running) {
            return Err(CommandError::new(
                ErrorKind::ResourceInUseException,
                format!(
                    "A KCL application named {name} is running; stop it first or pick another name."
                ),
            ));
        }
        if let Some((other, _)) = self
            .kcl_apps
            .iter()
            .find(|(n, e)| e.running && **n != name && e.lease_table == lease_table)
        {
            return Err(CommandError::new(
                ErrorKind::ResourceInUseException,
                format!(
                    "The lease table {lease_table} belongs to the running application {other}; pick another table."
                ),
            ));
        }
        if !self.kcl_apps.contains_key(&name)
            && self.kcl_apps.len() >= KCL_APPLICATIONS_MAX as usize
        {
            return Err(CommandError::new(
                ErrorKind::LimitExceededException,
                format!("A session runs at most {KCL_APPLICATIONS_MAX} KCL applications."),
            ));
        }
        if workers == 0 || workers > KCL_START_WORKERS_MAX {
            return Err(invalid(format!(
                "workers must be 1 to {KCL_START_WORKERS_MAX}; it is {workers}."
            )));
        }
        let failover_time_ms =
            failover_time_ms.unwrap_or(crate::workload::kcl::FAILOVER_TIME_MS_DEFAULT);
        if !(KCL_FAILOVER_TIME_MS_MIN..=KCL_FAILOVER_TIME_MS_MAX).contains(&failover_time_ms) {
            return Err(invalid(format!(
                "failoverTimeMillis must be {KCL_FAILOVER_TIME_MS_MIN} to {KCL_FAILOVER_TIME_MS_MAX}; it is {failover_time_ms}."
            )));
        }
        let now = self.now;
        if self.streams.describe(now, &stream).is_err() {
            return Err(not_found(format!(
                "Stream {stream} under account {} not found.",
                crate::streams::error::ACCOUNT_ID
            )));
        }
        let mut config = KclConfig::new(&name, &stream);
        config.failover_time_ms = failover_time_ms;
        let rng = self.rng.fork(&format!("kcl/{name}"));
        let mut app = KclApplication::new(config, WorldProcessor::default(), rng)
            .map_err(|e| kcl_error(&e))?;
        for i in 1..=workers {
            app.add_worker(now, &kcl_worker_id(i))
                .map_err(|e| kcl_error(&e))?;
        }
        if let Some(old) = self.kcl_apps.remove(&name)
            && let Some(t) = old.timer
        {
            self.timers.cancel(t);
        }
        self.kcl_apps.insert(
            name.clone(),
            KclAppEntry {
                app,
                lease_table: lease_table.clone(),
                timer: None,
                running: true,
                started: now,
                counts: KclCounts::default(),
                high_water: BTreeMap::new(),
                recent: VecDeque::new(),
            },
        );
        self.record(EventKind::Kcl {
            application: name.clone(),
            action: "started".into(),
            detail: format!(
                "{workers} workers reading {stream}; lease table {lease_table}; failover time {failover_time_ms} ms"
            ),
        });
        self.schedule_kcl(&name)?;
        Ok(self
            .kcl_apps
            .get(&name)
            .and_then(|e| e.app.poll_timeout())
            .unwrap_or(now))
    }

    fn kcl_entry(&mut self, name: &str) -> Result<&mut KclAppEntry, CommandError> {
        self.kcl_apps
            .get_mut(name)
            .filter(|e| e.running)
            .ok_or_else(|| not_found(format!("No KCL application named {name} is running.")))
    }

    pub(super) fn kill_kcl_worker(&mut self, name: &str, worker: &str) -> Result<(), CommandError> {
        let entry = self.kcl_entry(name)?;
        entry.app.kill(worker).map_err(|e| kcl_error(&e))?;
        self.record(EventKind::Kcl {
            application: name.to_string(),
            action: "worker killed".into(),
            detail: format!("{worker} stopped without releasing its leases or checkpointing"),
        });
        self.schedule_kcl(name)
    }

    pub(super) fn restart_kcl_worker(
        &mut self,
        name: &str,
        worker: &str,
    ) -> Result<(), CommandError> {
        let now = self.now;
        let entry = self.kcl_entry(name)?;
        entry.app.restart(now, worker).map_err(|e| kcl_error(&e))?;
        self.record(EventKind::Kcl {
            application: name.to_string(),
            action: "worker restarted".into(),
            detail: format!("{worker} started again"),
        });
        self.drain_kcl(name);
        self.schedule_kcl(name)
    }

    pub(super) fn stop_kcl_application(&mut self, name: &str) -> Result<(), CommandError> {
        let now = self.now;
        let entry = self.kcl_entry(name)?;
        let live: Vec<String> = entry.app.live_workers().map(str::to_string).collect();
        for w in &live {
            // Only running workers are listed, so a shutdown cannot be refused.
            let _ = entry.app.shutdown(now, w);
        }
        entry.running = false;
        entry.absorb();
        let timer = entry.timer.take();
        if let Some(t) = timer {
            self.timers.cancel(t);
        }
        self.drain_kcl(name);
        let processed = self.kcl_apps.get(name).map_or(0, |e| e.counts.user_records);
        self.record(EventKind::Kcl {
            application: name.to_string(),
            action: "stopped".into(),
            detail: format!(
                "{} workers shut down (checkpointed and released their leases); {processed} user records processed",
                live.len()
            ),
        });
        Ok(())
    }

    /// Moves the application's timer to when its group next wants to run.
    fn schedule_kcl(&mut self, name: &str) -> Result<(), CommandError> {
        let now = self.now;
        let Some(entry) = self.kcl_apps.get_mut(name) else {
            return Ok(());
        };
        if let Some(t) = entry.timer.take() {
            self.timers.cancel(t);
        }
        let Some(due) = entry.app.poll_timeout() else {
            return Ok(());
        };
        // Never at an instant already handled: the group reschedules everything it ran.
        let due = due.max(now);
        let timer = self.schedule(
            due,
            TimerAction::Kcl {
                name: name.to_string(),
            },
        )?;
        if let Some(entry) = self.kcl_apps.get_mut(name) {
            entry.timer = Some(timer);
        }
        Ok(())
    }

    /// Writes the group's events into the event log.
    fn drain_kcl(&mut self, name: &str) {
        let mut events = Vec::new();
        if let Some(entry) = self.kcl_apps.get_mut(name) {
            while let Some(e) = entry.app.poll_event() {
                events.push(e);
            }
        }
        for e in events {
            let (action, detail) = kcl_event_text(&e);
            self.record(EventKind::Kcl {
                application: name.to_string(),
                action,
                detail,
            });
        }
    }

    pub(super) fn run_kcl(&mut self, name: &str) {
        let now = self.now;
        let Some(entry) = self.kcl_apps.get_mut(name) else {
            return;
        };
        entry.timer = None;
        if !entry.running {
            return;
        }
        entry.app.handle_timeout(now, &mut self.streams);
        entry.absorb();
        self.drain_kcl(name);
        let Some(entry) = self.kcl_apps.get_mut(name) else {
            return;
        };
        let Some(due) = entry.app.poll_timeout() else {
            return;
        };
        // Whatever the group ran at `now` it rescheduled later; should anything stay due, wait a millisecond
        // rather than spin at one instant.
        let due = if due <= now {
            now.saturating_add(SimDuration::from_millis(1))
        } else {
            due
        };
        if let Ok(timer) = self.timers.schedule(
            due,
            TimerAction::Kcl {
                name: name.to_string(),
            },
        ) && let Some(entry) = self.kcl_apps.get_mut(name)
        {
            entry.timer = Some(timer);
        }
    }

    pub(super) fn start_kpl_producer(
        &mut self,
        name: String,
        stream: String,
        records_per_s: u32,
        spec: GeneratorSpec,
        aggregation: bool,
    ) -> Result<SimTime, CommandError> {
        check_length("name", &name, KCL_NAME_LENGTH_MAX_CHARS)?;
        if self.kpl_producers.get(&name).is_some_and(|e| e.running) {
            return Err(CommandError::new(
                ErrorKind::ResourceInUseException,
                format!(
                    "A KPL producer named {name} is running; stop it first or pick another name."
                ),
            ));
        }
        if !self.kpl_producers.contains_key(&name)
            && self.kpl_producers.len() >= KPL_PRODUCERS_MAX as usize
        {
            return Err(CommandError::new(
                ErrorKind::LimitExceededException,
                format!("A session runs at most {KPL_PRODUCERS_MAX} KPL producers."),
            ));
        }
        if records_per_s == 0 || records_per_s > PRODUCER_RECORDS_PER_S_MAX {
            return Err(invalid(format!(
                "The rate must be 1 to {PRODUCER_RECORDS_PER_S_MAX} records per second; it is {records_per_s}."
            )));
        }
        let record_bytes = u64::from(spec.record_bytes).max(spec.record_template.len() as u64);
        let bytes_per_s = u64::from(records_per_s).saturating_mul(record_bytes);
        if bytes_per_s > PRODUCER_BYTES_PER_S_MAX {
            return Err(invalid(format!(
                "{records_per_s} records/s of up to {record_bytes} bytes is {bytes_per_s} bytes/s; a producer may \
                 generate at most {PRODUCER_BYTES_PER_S_MAX}."
            )));
        }
        let now = self.now;
        if self.streams.describe(now, &stream).is_err() {
            return Err(not_found(format!(
                "Stream {stream} under account {} not found.",
                crate::streams::error::ACCOUNT_ID
            )));
        }
        let generator =
            Generator::new(spec, self.rng.fork(&format!("kpl/{name}/records"))).map_err(invalid)?;
        let config = KplConfig {
            aggregation_enabled: aggregation,
            ..KplConfig::default()
        };
        let producer = KplProducer::new(&stream, config, self.rng.fork(&format!("kpl/{name}")));
        if let Some(old) = self.kpl_producers.remove(&name)
            && let Some(t) = old.timer
        {
            self.timers.cancel(t);
        }
        let first = now.saturating_add(SimDuration::from_millis(KPL_TICK_MS));
        self.kpl_producers.insert(
            name.clone(),
            KplEntry {
                producer,
                generator,
                records_per_s,
                carry: 0,
                next_tick: first,
                timer: None,
                running: true,
                seen: KplCounters::default(),
                refused: 0,
                last_refusal: None,
            },
        );
        self.record(EventKind::Kpl {
            producer: name.clone(),
            action: "started".into(),
            detail: format!(
                "{records_per_s} user records/s to {stream}, aggregation {}",
                if aggregation { "on" } else { "off" }
            ),
        });
        let due = self.schedule_kpl(&name)?;
        Ok(due)
    }

    pub(super) fn stop_kpl_producer(&mut self, name: &str) -> Result<(), CommandError> {
        let Some(entry) = self.kpl_producers.get_mut(name).filter(|e| e.running) else {
            return Err(not_found(format!(
                "No KPL producer named {name} is running."
            )));
        };
        entry.running = false;
        let c = entry.producer.counters().clone();
        let outstanding = entry.producer.outstanding();
        if let Some(t) = entry.timer.take() {
            self.timers.cancel(t);
        }
        self.record(EventKind::Kpl {
            producer: name.to_string(),
            action: "stopped".into(),
            detail: format!(
                "{} user records put, {} failed, {outstanding} still buffered were dropped",
                c.user_records_delivered, c.user_records_failed
            ),
        });
        Ok(())
    }

    fn schedule_kpl(&mut self, name: &str) -> Result<SimTime, CommandError> {
        let now = self.now;
        let Some(entry) = self.kpl_producers.get_mut(name) else {
            return Ok(now);
        };
        if let Some(t) = entry.timer.take() {
            self.timers.cancel(t);
        }
        let kpl = entry.producer.poll_timeout().map(|t| {
            if t <= now {
                now.saturating_add(SimDuration::from_millis(1))
            } else {
                t
            }
        });
        let due = kpl.map_or(entry.next_tick, |t| t.min(entry.next_tick));
        let timer = self.schedule(
            due,
            TimerAction::Kpl {
                name: name.to_string(),
            },
        )?;
        if let Some(entry) = self.kpl_producers.get_mut(name) {
            entry.timer = Some(timer);
        }
        Ok(due)
    }

    pub(super) fn run_kpl(&mut self, name: &str) {
        let now = self.now;
        let unix_ms = self.config.epoch.unix_ms_at(now);
        let Some(entry) = self.kpl_producers.get_mut(name) else {
            return;
        };
        entry.timer = None;
        if !entry.running {
            return;
        }
        if entry.next_tick <= now {
            entry.carry += u64::from(entry.records_per_s) * KPL_TICK_MS;
            let n = entry.carry / 1_000;
            entry.carry %= 1_000;
            for _ in 0..n {
                let Some(record) = entry.generator.next_record(unix_ms) else {
                    break;
                };
                if let Err(e) =
                    entry
                        .producer
                        .add_user_record(now, &record.partition_key, &record.data, None)
                {
                    entry.refused += 1;
                    entry.last_refusal = Some(e.message);
                }
            }
            entry.next_tick = entry
                .next_tick
                .saturating_add(SimDuration::from_millis(KPL_TICK_MS));
        }
        if entry.producer.poll_timeout().is_some_and(|t| t <= now) {
            entry.producer.handle_timeout(now, &mut self.streams);
        }
        while entry.producer.poll_outcome().is_some() {}
        let c = entry.producer.counters().clone();
        let before = std::mem::replace(&mut entry.seen, c.clone());
        let mut events = Vec::new();
        let calls = c.put_records_calls - before.put_records_calls;
        if calls > 0 {
            events.push((
                "PutRecords".to_string(),
                format!(
                    "{calls} calls, {} Kinesis records accepted ({} aggregated) carrying {} user records; {} entries throttled",
                    c.kinesis_records_put - before.kinesis_records_put,
                    c.aggregated_records_put - before.aggregated_records_put,
                    c.user_records_delivered - before.user_records_delivered,
                    c.throttled_entries - before.throttled_entries,
                ),
            ));
        }
        let retries = c.retries - before.retries;
        if retries > 0 {
            events.push((
                "retries".to_string(),
                format!("{retries} user records will be sent again after a back-off"),
            ));
        }
        let failed = c.user_records_failed - before.user_records_failed;
        if failed > 0 {
            events.push((
                "failed".to_string(),
                format!("{failed} user records failed (record TTL reached)"),
            ));
        }
        for (action, detail) in events {
            self.record(EventKind::Kpl {
                producer: name.to_string(),
                action,
                detail,
            });
        }
        // The fired timer left the queue just now, so there is room to re-arm it.
        let _ = self.schedule_kpl(name);
    }
}
