//! Analytics (SQL) applications as actors of the World: an application reads one input (a data stream, as a
//! consumer through [`DataStreams::get_records`], or the records a delivery stream accepts), runs its SQL on
//! simulated time and writes each in-application stream it names to a data stream or a delivery stream.
//!
//! The SQL engine ([`crate::analytics`]) knows nothing of streams; this module routes between it and the services.

use super::{CommandError, ErrorKind, EventKind, TimerAction, World, check_length};
use crate::analytics::{
    Application, ERROR_STREAM, InputSchema, OutputRow, SqlError, SqlType, discover_schema,
};
use crate::firehose::service::DirectRecord;
use crate::sim::{SimDuration, SimTime, TimerId};
use crate::streams::service::{IteratorRequest, IteratorType, PutEntry};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, VecDeque};

/// Most recent rows kept per in-application stream (and for `error_stream`) for the UI; older rows only count.
pub const ANALYTICS_ROWS_RECENT_MAX: u32 = 200;
/// Fewest Kinesis Processing Units a running application is billed for (a KPU is 1 vCPU and 4 GB of memory; the
/// service bills an hourly rate on the average number of KPUs an application uses, at least one while it runs).
/// Source: Kinesis Data Analytics for SQL Developer Guide, "Limits"
/// (<https://docs.aws.amazon.com/kinesisanalytics/latest/dev/limits.html>).
pub const ANALYTICS_KPUS_MIN: u32 = 1;
/// Most KPUs one SQL application scales to ("The number of Kinesis processing units (KPU) is limited to eight";
/// same page).
pub const ANALYTICS_KPUS_MAX: u32 = 8;
/// Input one KPU processes, in bytes per second: 2 MB/s. The Limits page recommends between 2 and 20 MB/s for
/// one in-application stream "depending on the complexity of the application's query" and caps an application
/// near 100 MB/s with 64 in-application streams and more than 8 KPUs; AWS publishes no per-KPU figure, so the
/// simulator takes the low end of that range as one KPU's worth (the scaling is the service's; the figure is an
/// assumption).
pub const ANALYTICS_KPU_INPUT_BYTES_PER_S: u64 = 2 * 1_048_576;
/// The step of KPU scaling, in simulated ms: each minute an application runs is billed at the KPUs its input
/// rate that minute needs (bytes read in the minute / 60 s, over [`ANALYTICS_KPU_INPUT_BYTES_PER_S`], rounded up,
/// within [`ANALYTICS_KPUS_MIN`]..=[`ANALYTICS_KPUS_MAX`]).
pub const ANALYTICS_KPU_STEP_MS: u64 = 60_000;
/// Most analytics applications a world runs (the service's default quota is 50 per Region).
pub const ANALYTICS_APPLICATIONS_MAX: u32 = 50;
/// Most destinations an application writes (the service allows three outputs per application).
pub const ANALYTICS_OUTPUTS_MAX: u32 = 3;
/// Longest application name, in characters (the service's ApplicationName is 1..=128).
pub const ANALYTICS_NAME_LENGTH_MAX_CHARS: u32 = 128;
/// Longest application SQL, in characters (the service's ApplicationCode is at most 102,400).
pub const ANALYTICS_SQL_LENGTH_MAX_CHARS: u32 = 102_400;
/// Time between two reads of one input shard: about one read per second per shard, like the service's reader.
pub const ANALYTICS_READ_INTERVAL_MS: u64 = 1_000;
/// Most records one read of a shard returns (GetRecords' limit).
pub const ANALYTICS_READ_RECORDS_MAX: u32 = 10_000;
/// Most sample records schema discovery looks at (the service's DiscoverInputSchema reads up to 100).
pub const ANALYTICS_DISCOVERY_SAMPLES_MAX: u32 = 100;
/// Most records one PutRecords or PutRecordBatch call carries (Kinesis's limit; Firehose's is 500 as well).
const DESTINATION_BATCH_RECORDS_MAX: usize = 500;

/// What an application reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AnalyticsInput {
    /// A Kinesis data stream, read shard by shard from LATEST at creation, following child shards. A stream
    /// still CREATING is read from its first record once it turns ACTIVE (nothing can be written to it before).
    Stream {
        /// The stream's name.
        name: String,
    },
    /// A Firehose delivery stream: every record it accepts (PutRecord, PutRecordBatch, its Kinesis source).
    DeliveryStream {
        /// The delivery stream's name.
        name: String,
    },
}

impl AnalyticsInput {
    /// The input's name.
    pub fn name(&self) -> &str {
        match self {
            AnalyticsInput::Stream { name } | AnalyticsInput::DeliveryStream { name } => name,
        }
    }
}

/// Where an in-application stream's rows go besides the live table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AnalyticsDestination {
    /// Only the live table.
    None,
    /// A Kinesis data stream (PutRecords).
    DataStream {
        /// The stream's name.
        name: String,
    },
    /// A Firehose delivery stream (PutRecordBatch).
    DeliveryStream {
        /// The delivery stream's name.
        name: String,
    },
}

/// How rows are written to a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputFormat {
    /// One JSON object per record, columns by name (timestamps as text).
    Json,
    /// One CSV line per record, columns in order.
    Csv,
}

/// One output of an application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyticsOutput {
    /// The in-application stream, e.g. `DESTINATION_SQL_STREAM` (or `error_stream`).
    pub stream: String,
    /// Where its rows go.
    pub destination: AnalyticsDestination,
    /// How they are written.
    pub format: OutputFormat,
}

/// Where an application is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnalyticsStatus {
    /// Reading its first records to discover the input schema.
    Discovering,
    /// Running its SQL.
    Running,
    /// Stopped by command; its rows stay readable.
    Stopped,
    /// Its SQL could not run against the discovered schema (see [`AnalyticsApp::error`]).
    Failed,
}

impl AnalyticsStatus {
    /// The status as the UI shows it.
    pub fn label(self) -> &'static str {
        match self {
            AnalyticsStatus::Discovering => "DISCOVERING",
            AnalyticsStatus::Running => "RUNNING",
            AnalyticsStatus::Stopped => "STOPPED",
            AnalyticsStatus::Failed => "FAILED",
        }
    }
}

/// What an application has done so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyticsCounts {
    /// Records read from the input.
    pub records_in: u64,
    /// Rows emitted, by in-application stream (`error_stream` included).
    pub rows_out: BTreeMap<String, u64>,
    /// Records written to destinations and acknowledged.
    pub delivered: u64,
    /// Records a destination refused (throttled, missing, too large).
    pub delivery_failed: u64,
    /// Input reads refused (read throughput limits) and retried a second later.
    pub reads_throttled: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ShardReader {
    iterator: String,
    next_read: SimTime,
}

/// An analytics application the world runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AnalyticsApp {
    name: String,
    sql: String,
    input: AnalyticsInput,
    outputs: Vec<AnalyticsOutput>,
    status: AnalyticsStatus,
    error: Option<SqlError>,
    created: SimTime,
    app: Option<Application>,
    /// Records read while discovering: (partition, read time, data).
    samples: Vec<(String, SimTime, Vec<u8>)>,
    readers: BTreeMap<String, ShardReader>,
    recent: BTreeMap<String, VecDeque<OutputRow>>,
    counts: AnalyticsCounts,
    timer: Option<TimerId>,
    /// Records written to data streams so far: their partition keys.
    put_count: u64,
    /// When it stopped running (stopped by command, or failed): the end of its billed time.
    #[serde(default)]
    stopped_at: Option<SimTime>,
    /// Input bytes read, by KPU step (simulated time / [`ANALYTICS_KPU_STEP_MS`]): what its KPU count is
    /// derived from. Steps with no input are absent.
    #[serde(default)]
    bytes_in_by_step: BTreeMap<u64, u64>,
    /// When it next looks for its input stream's shards: set while the stream it was created on is still
    /// CREATING (it lists no shards yet), cleared once it reads them.
    #[serde(default)]
    source_wait: Option<SimTime>,
}

/// KPUs an application needs for `bytes` of input read in one [`ANALYTICS_KPU_STEP_MS`] step: one per
/// [`ANALYTICS_KPU_INPUT_BYTES_PER_S`] of average input rate, rounded up, within
/// [`ANALYTICS_KPUS_MIN`]..=[`ANALYTICS_KPUS_MAX`].
pub fn analytics_kpus_for_step_bytes(bytes: u64) -> u32 {
    let per_step = ANALYTICS_KPU_INPUT_BYTES_PER_S.saturating_mul(ANALYTICS_KPU_STEP_MS) / 1_000;
    let kpus = bytes.div_ceil(per_step.max(1));
    u32::try_from(kpus)
        .unwrap_or(u32::MAX)
        .clamp(ANALYTICS_KPUS_MIN, ANALYTICS_KPUS_MAX)
}

impl AnalyticsApp {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SQL it runs.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// What it reads.
    pub fn input(&self) -> &AnalyticsInput {
        &self.input
    }

    /// Where its streams go.
    pub fn outputs(&self) -> &[AnalyticsOutput] {
        &self.outputs
    }

    /// Where it is in its life.
    pub fn status(&self) -> AnalyticsStatus {
        self.status
    }

    /// Why it failed, when its SQL could not run against the discovered schema.
    pub fn error(&self) -> Option<&SqlError> {
        self.error.as_ref()
    }

    /// When it was created.
    pub fn created(&self) -> SimTime {
        self.created
    }

    /// The input schema, once given or discovered.
    pub fn schema(&self) -> Option<&InputSchema> {
        self.app.as_ref().map(Application::schema)
    }

    /// In-application streams (the source excluded) with their columns, once the SQL is planned.
    pub fn in_app_streams(&self) -> Vec<(String, Vec<(String, SqlType)>)> {
        self.app
            .as_ref()
            .map(Application::streams)
            .unwrap_or_default()
    }

    /// The most recent rows of an in-application stream (or `error_stream`), newest first.
    pub fn recent_rows(&self, stream: &str) -> impl Iterator<Item = &OutputRow> {
        self.recent
            .get(stream)
            .into_iter()
            .flat_map(|q| q.iter().rev())
    }

    /// The most recent rows of every stream that has emitted, by stream, oldest first.
    pub fn recent(&self) -> &BTreeMap<String, VecDeque<OutputRow>> {
        &self.recent
    }

    /// Counts of what it has done.
    pub fn counts(&self) -> &AnalyticsCounts {
        &self.counts
    }

    /// Event-time rows dropped as late.
    pub fn late_rows(&self) -> u64 {
        self.app.as_ref().map_or(0, Application::late_row_count)
    }

    /// The input shards it reads and when it reads each next.
    pub fn shard_reads(&self) -> impl Iterator<Item = (&str, SimTime)> {
        self.readers
            .iter()
            .map(|(shard, r)| (shard.as_str(), r.next_read))
    }

    /// Whether it waits for its input stream to turn ACTIVE (it was created while the stream was CREATING).
    pub fn waits_for_input(&self) -> bool {
        self.source_wait.is_some()
    }

    /// Simulated milliseconds it has run (discovering or running) up to `now`: what it is billed for.
    pub fn running_ms(&self, now: SimTime) -> u64 {
        self.billed_end(now)
            .saturating_since(self.created)
            .as_millis()
    }

    fn billed_end(&self, now: SimTime) -> SimTime {
        match self.stopped_at {
            Some(at) => at,
            None if self.running() => now,
            None => self.created,
        }
    }

    /// The KPUs its input needs in the current step (what the service would run it on now).
    pub fn kpus_now(&self, now: SimTime) -> u32 {
        let step = now.as_millis() / ANALYTICS_KPU_STEP_MS;
        analytics_kpus_for_step_bytes(self.bytes_in_by_step.get(&step).copied().unwrap_or(0))
    }

    /// Its billed time up to `now` by KPU count: (KPUs, simulated ms run at that count), fewest KPUs first, no
    /// zero entries. Each [`ANALYTICS_KPU_STEP_MS`] step runs at the KPUs its input that step needs
    /// ([`analytics_kpus_for_step_bytes`]); a step without input at [`ANALYTICS_KPUS_MIN`].
    pub fn kpu_ms_by_count(&self, now: SimTime) -> Vec<(u32, u64)> {
        let start = self.created.as_millis();
        let end = self.billed_end(now).as_millis().max(start);
        let mut by_count: BTreeMap<u32, u64> = BTreeMap::new();
        let mut scaled_ms = 0u64;
        for (step, bytes) in &self.bytes_in_by_step {
            let kpus = analytics_kpus_for_step_bytes(*bytes);
            if kpus == ANALYTICS_KPUS_MIN {
                continue;
            }
            let from = step.saturating_mul(ANALYTICS_KPU_STEP_MS).max(start);
            let to = step
                .saturating_add(1)
                .saturating_mul(ANALYTICS_KPU_STEP_MS)
                .min(end);
            if to > from {
                *by_count.entry(kpus).or_default() += to - from;
                scaled_ms += to - from;
            }
        }
        let base_ms = (end - start).saturating_sub(scaled_ms);
        if base_ms > 0 {
            *by_count.entry(ANALYTICS_KPUS_MIN).or_default() += base_ms;
        }
        by_count.into_iter().collect()
    }

    fn running(&self) -> bool {
        matches!(
            self.status,
            AnalyticsStatus::Running | AnalyticsStatus::Discovering
        )
    }

    fn next_due(&self, now: SimTime) -> Option<SimTime> {
        if !self.running() {
            return None;
        }
        let reads = self.readers.values().map(|r| r.next_read);
        let windows = self.app.as_ref().and_then(Application::poll_timeout);
        reads
            .chain(windows)
            .chain(self.source_wait)
            .min()
            .map(|t| t.max(now.saturating_add(SimDuration::from_millis(1))))
    }

    /// Feeds one record read at `at`.
    fn push(&mut self, partition: &str, at: SimTime, data: Vec<u8>) {
        self.counts.records_in += 1;
        let step = at.as_millis() / ANALYTICS_KPU_STEP_MS;
        let bytes = self.bytes_in_by_step.entry(step).or_default();
        *bytes = bytes.saturating_add(data.len() as u64);
        match &mut self.app {
            Some(app) => app.push_from(partition, at, &data),
            None => {
                if self.samples.len() < ANALYTICS_DISCOVERY_SAMPLES_MAX as usize {
                    self.samples.push((partition.to_string(), at, data));
                } else {
                    // Discovery has its samples; later records wait for no one: they are counted but dropped
                    // until the schema is known (discovery completes at the end of this read round).
                    self.counts.records_in -= 1;
                }
            }
        }
    }

    /// Ends discovery once records arrived: discovers the schema, plans the SQL and replays the samples.
    fn finish_discovery(&mut self, epoch_ms: i64) -> Option<Result<InputSchema, SqlError>> {
        if self.app.is_some()
            || self.samples.is_empty()
            || self.status != AnalyticsStatus::Discovering
        {
            return None;
        }
        let samples: Vec<&[u8]> = self.samples.iter().map(|(_, _, d)| d.as_slice()).collect();
        let schema = discover_schema(&samples);
        match Application::new(&self.sql, schema.clone()) {
            Ok(mut app) => {
                app.set_display_epoch_ms(epoch_ms);
                for (partition, at, data) in std::mem::take(&mut self.samples) {
                    app.push_from(&partition, at, &data);
                }
                self.app = Some(app);
                self.status = AnalyticsStatus::Running;
                Some(Ok(schema))
            }
            Err(e) => {
                self.samples.clear();
                self.status = AnalyticsStatus::Failed;
                self.readers.clear();
                self.error = Some(e.clone());
                Some(Err(e))
            }
        }
    }

    fn keep(&mut self, row: OutputRow) {
        *self.counts.rows_out.entry(row.stream.clone()).or_default() += 1;
        let q = self.recent.entry(row.stream.clone()).or_default();
        if q.len() >= ANALYTICS_ROWS_RECENT_MAX as usize {
            q.pop_front();
        }
        q.push_back(row);
    }
}

/// A row as a destination record: a JSON object, or a CSV line, each ending in a newline.
pub fn encode_row(row: &OutputRow, format: OutputFormat) -> Vec<u8> {
    let mut text = match format {
        OutputFormat::Json => row.to_json().to_string(),
        OutputFormat::Csv => row
            .columns
            .iter()
            .map(|(_, v)| csv_field(&v.to_text()))
            .collect::<Vec<_>>()
            .join(","),
    };
    text.push('\n');
    text.into_bytes()
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn invalid(message: impl Into<String>) -> CommandError {
    CommandError::new(ErrorKind::InvalidArgumentException, message)
}

fn not_found(message: impl Into<String>) -> CommandError {
    CommandError::new(ErrorKind::ResourceNotFoundException, message)
}

impl World {
    /// Analytics applications, by name.
    pub fn analytics_apps(&self) -> &BTreeMap<String, AnalyticsApp> {
        &self.analytics
    }

    /// What billing needs of every analytics application so far, counted as it ran: (name, KPUs, simulated ms
    /// running at that many KPUs), one entry per KPU count an application ran at
    /// ([`AnalyticsApp::kpu_ms_by_count`]), deleted ones first (oldest first), then the current ones by name.
    pub fn analytics_billing(&self) -> Vec<(String, u32, u64)> {
        self.analytics_retired
            .iter()
            .cloned()
            .chain(self.analytics.values().flat_map(|a| {
                a.kpu_ms_by_count(self.now)
                    .into_iter()
                    .map(|(kpus, ms)| (a.name.clone(), kpus, ms))
            }))
            .collect()
    }

    fn delivery_stream_exists(&self, name: &str) -> bool {
        self.firehose.names().any(|n| n == name)
    }

    fn data_stream_exists(&mut self, name: &str) -> bool {
        let now = self.now;
        self.streams.describe(now, name).is_ok()
    }

    pub(super) fn create_analytics_app(
        &mut self,
        name: String,
        sql: String,
        input: AnalyticsInput,
        schema: Option<InputSchema>,
        outputs: Vec<AnalyticsOutput>,
    ) -> Result<(), CommandError> {
        check_length("name", &name, ANALYTICS_NAME_LENGTH_MAX_CHARS)?;
        check_length("sql", &sql, ANALYTICS_SQL_LENGTH_MAX_CHARS)?;
        if self.analytics.contains_key(&name) {
            return Err(CommandError::new(
                ErrorKind::ResourceInUseException,
                format!(
                    "An analytics application named {name} exists; delete it first or pick another name."
                ),
            ));
        }
        if self.analytics.len() >= ANALYTICS_APPLICATIONS_MAX as usize {
            return Err(CommandError::new(
                ErrorKind::LimitExceededException,
                format!(
                    "A session runs at most {ANALYTICS_APPLICATIONS_MAX} analytics applications; delete one first."
                ),
            ));
        }
        if outputs.len() > ANALYTICS_OUTPUTS_MAX as usize {
            return Err(CommandError::new(
                ErrorKind::LimitExceededException,
                format!(
                    "An application writes at most {ANALYTICS_OUTPUTS_MAX} outputs; it has {}.",
                    outputs.len()
                ),
            ));
        }
        let input_ok = match &input {
            AnalyticsInput::Stream { name } => self.data_stream_exists(name),
            AnalyticsInput::DeliveryStream { name } => self.delivery_stream_exists(name),
        };
        if !input_ok {
            return Err(not_found(format!(
                "The input {} does not exist; create it first.",
                input.name()
            )));
        }
        for output in &outputs {
            let ok = match &output.destination {
                AnalyticsDestination::None => true,
                AnalyticsDestination::DataStream { name } => self.data_stream_exists(name),
                AnalyticsDestination::DeliveryStream { name } => self.delivery_stream_exists(name),
            };
            if !ok {
                return Err(not_found(format!(
                    "The destination of {} does not exist; create it first.",
                    output.stream
                )));
            }
        }
        let epoch_ms = i64::try_from(self.config.epoch.unix_ms).unwrap_or(i64::MAX);
        let app = match schema {
            Some(schema) => {
                let mut app = Application::new(&sql, schema)
                    .map_err(|e| invalid(format!("SQL error at {e}")))?;
                app.set_display_epoch_ms(epoch_ms);
                for output in &outputs {
                    let known = output.stream == ERROR_STREAM
                        || app.streams().iter().any(|(s, _)| *s == output.stream);
                    if !known {
                        return Err(invalid(format!(
                            "The SQL creates no in-application stream named {}; write it as CREATE OR REPLACE \
                             STREAM \"{}\" (...) or pick one it creates.",
                            output.stream, output.stream
                        )));
                    }
                }
                Some(app)
            }
            None => None,
        };
        let now = self.now;
        let mut readers = BTreeMap::new();
        let mut source_wait = None;
        if let AnalyticsInput::Stream { name: stream } = &input {
            readers = self
                .analytics_shard_readers(stream, IteratorType::Latest)
                .map_err(not_found)?;
            if readers.is_empty() {
                // The stream is still CREATING: the application reads it once it turns ACTIVE, as the service's
                // reader does once its source is available.
                source_wait =
                    Some(now.saturating_add(SimDuration::from_millis(ANALYTICS_READ_INTERVAL_MS)));
            }
        }
        let status = if app.is_some() {
            AnalyticsStatus::Running
        } else {
            AnalyticsStatus::Discovering
        };
        let detail = format!(
            "{} <- {}{}",
            name,
            input.name(),
            if app.is_some() {
                ""
            } else {
                " (schema from the first records)"
            }
        );
        self.analytics.insert(
            name.clone(),
            AnalyticsApp {
                name: name.clone(),
                sql,
                input,
                outputs,
                status,
                error: None,
                created: now,
                app,
                samples: Vec::new(),
                readers,
                recent: BTreeMap::new(),
                counts: AnalyticsCounts::default(),
                timer: None,
                put_count: 0,
                stopped_at: None,
                bytes_in_by_step: BTreeMap::new(),
                source_wait,
            },
        );
        self.record(EventKind::Analytics {
            name: name.clone(),
            action: "created".into(),
            detail,
        });
        self.reschedule_analytics(&name);
        Ok(())
    }

    /// A reader for every open shard of `stream`, starting at `iterator_type`, first read a second from now.
    /// None while the stream is CREATING (it lists no shards); an error when it does not exist.
    fn analytics_shard_readers(
        &mut self,
        stream: &str,
        iterator_type: IteratorType,
    ) -> Result<BTreeMap<String, ShardReader>, String> {
        let now = self.now;
        let next_read = now.saturating_add(SimDuration::from_millis(ANALYTICS_READ_INTERVAL_MS));
        let (shards, _) = self
            .streams
            .describe_shards(now, stream, u32::MAX, None)
            .map_err(|e| e.message)?;
        let mut readers = BTreeMap::new();
        for shard in shards.iter().filter(|s| s.ending_sequence_number.is_none()) {
            let request = IteratorRequest {
                shard_id: &shard.shard_id,
                iterator_type,
                starting_sequence_number: None,
                timestamp_unix_ms: None,
            };
            if let Ok(iterator) = self.streams.get_shard_iterator(now, stream, request) {
                readers.insert(
                    shard.shard_id.clone(),
                    ShardReader {
                        iterator,
                        next_read,
                    },
                );
            }
        }
        Ok(readers)
    }

    /// An application created on a stream still CREATING looks for its shards: once the stream is ACTIVE it
    /// reads every shard from its first record (all of them arrived after the application started); until
    /// then it looks again a second later.
    fn attach_analytics_source(&mut self, entry: &mut AnalyticsApp, stream: &str) {
        let Some(due) = entry.source_wait else {
            return;
        };
        if due > self.now {
            return;
        }
        let readers = self
            .analytics_shard_readers(stream, IteratorType::TrimHorizon)
            .unwrap_or_default();
        if readers.is_empty() {
            entry.source_wait = Some(
                self.now
                    .saturating_add(SimDuration::from_millis(ANALYTICS_READ_INTERVAL_MS)),
            );
            return;
        }
        entry.source_wait = None;
        let shards = readers.len();
        entry.readers = readers;
        self.record(EventKind::Analytics {
            name: entry.name.clone(),
            action: "input active".into(),
            detail: format!("{stream} is ACTIVE: reading its {shards} shards"),
        });
    }

    pub(super) fn stop_analytics_app(&mut self, name: &str) -> Result<(), CommandError> {
        let Some(entry) = self.analytics.get_mut(name).filter(|a| a.running()) else {
            return Err(not_found(format!(
                "No analytics application named {name} is running."
            )));
        };
        entry.status = AnalyticsStatus::Stopped;
        entry.stopped_at = Some(self.now);
        entry.readers.clear();
        entry.source_wait = None;
        if let Some(timer) = entry.timer.take() {
            self.timers.cancel(timer);
        }
        let records = entry.counts.records_in;
        self.record(EventKind::Analytics {
            name: name.to_string(),
            action: "stopped".into(),
            detail: format!("{records} records read"),
        });
        Ok(())
    }

    pub(super) fn delete_analytics_app(&mut self, name: &str) -> Result<(), CommandError> {
        let Some(entry) = self.analytics.remove(name) else {
            return Err(not_found(format!(
                "No analytics application named {name} exists."
            )));
        };
        for (kpus, ms) in entry.kpu_ms_by_count(self.now) {
            self.analytics_retired.push((name.to_string(), kpus, ms));
        }
        if let Some(timer) = entry.timer {
            self.timers.cancel(timer);
        }
        self.record(EventKind::Analytics {
            name: name.to_string(),
            action: "deleted".into(),
            detail: String::new(),
        });
        Ok(())
    }

    /// Schedules the application's next run: its next shard read or window close, whichever is first.
    fn reschedule_analytics(&mut self, name: &str) {
        let now = self.now;
        let Some(entry) = self.analytics.get_mut(name) else {
            return;
        };
        if let Some(timer) = entry.timer.take() {
            self.timers.cancel(timer);
        }
        let Some(due) = entry.next_due(now) else {
            return;
        };
        if let Ok(timer) = self.timers.schedule(
            due,
            TimerAction::Analytics {
                name: name.to_string(),
            },
        ) && let Some(entry) = self.analytics.get_mut(name)
        {
            entry.timer = Some(timer);
        }
    }

    /// The application's timer fired: reads the shards that are due, closes windows, delivers rows.
    pub(super) fn run_analytics(&mut self, name: &str) {
        let now = self.now;
        let Some(mut entry) = self.analytics.remove(name) else {
            return;
        };
        entry.timer = None;
        if entry.running()
            && let AnalyticsInput::Stream { name: stream } = entry.input.clone()
        {
            self.attach_analytics_source(&mut entry, &stream);
            let due: Vec<String> = entry
                .readers
                .iter()
                .filter(|(_, r)| r.next_read <= now)
                .map(|(s, _)| s.clone())
                .collect();
            for shard in due {
                self.read_analytics_shard(&mut entry, &stream, &shard);
            }
        }
        self.settle_analytics(entry);
        self.reschedule_analytics(name);
    }

    fn read_analytics_shard(&mut self, entry: &mut AnalyticsApp, stream: &str, shard: &str) {
        let now = self.now;
        let next_read = now.saturating_add(SimDuration::from_millis(ANALYTICS_READ_INTERVAL_MS));
        let Some(iterator) = entry.readers.get(shard).map(|r| r.iterator.clone()) else {
            return;
        };
        match self
            .streams
            .get_records_batch(now, &iterator, ANALYTICS_READ_RECORDS_MAX)
        {
            Ok(result) => {
                // Only the data is taken: no partition key or sequence number is copied.
                for (_, record) in result.records() {
                    entry.push(shard, now, record.data.clone());
                }
                match result.next_shard_iterator {
                    Some(next) => {
                        entry.readers.insert(
                            shard.to_string(),
                            ShardReader {
                                iterator: next,
                                next_read,
                            },
                        );
                    }
                    None => {
                        entry.readers.remove(shard);
                        for child in result.child_shards {
                            if entry.readers.contains_key(&child.shard_id) {
                                continue;
                            }
                            let request = IteratorRequest {
                                shard_id: &child.shard_id,
                                iterator_type: IteratorType::TrimHorizon,
                                starting_sequence_number: None,
                                timestamp_unix_ms: None,
                            };
                            if let Ok(it) = self.streams.get_shard_iterator(now, stream, request) {
                                entry.readers.insert(
                                    child.shard_id.clone(),
                                    ShardReader {
                                        iterator: it,
                                        next_read,
                                    },
                                );
                            }
                        }
                    }
                }
            }
            // Throttled (the shard's read limits), or the iterator expired or the stream is gone for now: try
            // again a second later with the same iterator.
            Err(_) => {
                entry.counts.reads_throttled += 1;
                if let Some(r) = entry.readers.get_mut(shard) {
                    r.next_read = next_read;
                }
            }
        }
    }

    /// Finishes discovery when it can, moves the application to now, keeps and delivers what it emitted, and puts
    /// it back.
    fn settle_analytics(&mut self, mut entry: AnalyticsApp) {
        let now = self.now;
        let name = entry.name.clone();
        let epoch_ms = i64::try_from(self.config.epoch.unix_ms).unwrap_or(i64::MAX);
        match entry.finish_discovery(epoch_ms) {
            Some(Ok(schema)) => {
                let columns = schema
                    .columns
                    .iter()
                    .map(|c| format!("{} {}", c.name, c.sql_type.sql()))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.record(EventKind::Analytics {
                    name: name.clone(),
                    action: "schema discovered".into(),
                    detail: columns,
                });
            }
            Some(Err(e)) => {
                entry.stopped_at = Some(now);
                self.record(EventKind::Analytics {
                    name: name.clone(),
                    action: "failed".into(),
                    detail: e.to_string(),
                });
            }
            None => {}
        }
        let rows = match &mut entry.app {
            Some(app) if entry.status == AnalyticsStatus::Running => {
                app.advance(now);
                app.poll_output()
            }
            _ => Vec::new(),
        };
        if !rows.is_empty() {
            self.emit_analytics_rows(&mut entry, rows);
        }
        self.analytics.insert(name, entry);
    }

    fn emit_analytics_rows(&mut self, entry: &mut AnalyticsApp, rows: Vec<OutputRow>) {
        let mut hasher = Sha256::new();
        hasher.update(self.event_log_digest);
        hasher.update(b"analytics:");
        hasher.update(entry.name.as_bytes());
        let mut errors = 0u64;
        let mut first_error = None;
        for row in &rows {
            if let Ok(line) = serde_json::to_vec(row) {
                hasher.update(&line);
            }
            hasher.update(b"\n");
            if row.stream == ERROR_STREAM {
                errors += 1;
                if first_error.is_none() {
                    first_error = row
                        .columns
                        .iter()
                        .find(|(k, _)| k == "MESSAGE")
                        .map(|(_, v)| v.to_text());
                }
            }
        }
        self.event_log_digest.copy_from_slice(&hasher.finalize());
        if errors > 0 {
            self.record(EventKind::Analytics {
                name: entry.name.clone(),
                action: "error rows".into(),
                detail: format!(
                    "{errors} rows to error_stream: {}",
                    first_error
                        .unwrap_or_default()
                        .chars()
                        .take(256)
                        .collect::<String>()
                ),
            });
        }
        for output in entry.outputs.clone() {
            let records: Vec<Vec<u8>> = rows
                .iter()
                .filter(|r| r.stream == output.stream)
                .map(|r| encode_row(r, output.format))
                .collect();
            if records.is_empty() {
                continue;
            }
            let (delivered, failed) = match &output.destination {
                AnalyticsDestination::None => (0, 0),
                AnalyticsDestination::DataStream { name } => {
                    self.put_to_stream(entry, name, records)
                }
                AnalyticsDestination::DeliveryStream { name } => {
                    self.put_to_delivery_stream(name, records)
                }
            };
            entry.counts.delivered += delivered;
            entry.counts.delivery_failed += failed;
            if failed > 0 {
                self.record(EventKind::Analytics {
                    name: entry.name.clone(),
                    action: "delivery failed".into(),
                    detail: format!("{failed} records of {} not written", output.stream),
                });
            }
        }
        for row in rows {
            entry.keep(row);
        }
    }

    fn put_to_stream(
        &mut self,
        entry: &mut AnalyticsApp,
        stream: &str,
        records: Vec<Vec<u8>>,
    ) -> (u64, u64) {
        let now = self.now;
        let (mut ok, mut failed) = (0u64, 0u64);
        let mut records = records.into_iter().peekable();
        while records.peek().is_some() {
            let batch: Vec<PutEntry> = records
                .by_ref()
                .take(DESTINATION_BATCH_RECORDS_MAX)
                .map(|data| {
                    entry.put_count += 1;
                    PutEntry {
                        data,
                        partition_key: format!("{}-{}", entry.name, entry.put_count),
                        explicit_hash_key: None,
                    }
                })
                .collect();
            let n = batch.len() as u64;
            match self.streams.put_records(now, stream, batch) {
                Ok(results) => {
                    let good = results.iter().filter(|r| r.is_ok()).count() as u64;
                    ok += good;
                    failed += n - good;
                }
                Err(_) => failed += n,
            }
        }
        (ok, failed)
    }

    fn put_to_delivery_stream(&mut self, delivery: &str, records: Vec<Vec<u8>>) -> (u64, u64) {
        let now = self.now;
        let (mut ok, mut failed) = (0u64, 0u64);
        let mut records = records.into_iter().peekable();
        while records.peek().is_some() {
            let batch: Vec<DirectRecord> = records
                .by_ref()
                .take(DESTINATION_BATCH_RECORDS_MAX)
                .map(|data| DirectRecord {
                    data,
                    ..DirectRecord::default()
                })
                .collect();
            let n = batch.len() as u64;
            match self.firehose.put_records(now, delivery, batch) {
                Ok(ids) => ok += ids.len() as u64,
                Err(_) => failed += n,
            }
        }
        self.record_firehose_events();
        (ok, failed)
    }

    /// Records a delivery stream accepted: fed to every running application that reads it.
    pub(super) fn tap_delivery_stream(&mut self, delivery: &str, records: &[Vec<u8>]) {
        if records.is_empty() {
            return;
        }
        let now = self.now;
        let names: Vec<String> = self
            .analytics
            .values()
            .filter(|a| {
                a.running()
                    && matches!(&a.input, AnalyticsInput::DeliveryStream { name } if name == delivery)
            })
            .map(|a| a.name.clone())
            .collect();
        for name in names {
            let Some(mut entry) = self.analytics.remove(&name) else {
                continue;
            };
            for data in records {
                entry.push(delivery, now, data.clone());
            }
            self.settle_analytics(entry);
            self.reschedule_analytics(&name);
        }
    }
}

/// The records of a successful PutRecord or PutRecordBatch request body, decoded.
pub(super) fn firehose_put_records(operation: &str, body: &str) -> Option<(String, Vec<Vec<u8>>)> {
    use base64::Engine;
    let parsed: serde_json::Value = serde_json::from_str(body).ok()?;
    let name = parsed.get("DeliveryStreamName")?.as_str()?.to_string();
    let items: Vec<&serde_json::Value> = match operation {
        "PutRecord" => vec![parsed.get("Record")?],
        "PutRecordBatch" => parsed.get("Records")?.as_array()?.iter().collect(),
        _ => return None,
    };
    let records = items
        .into_iter()
        .filter_map(|r| r.get("Data")?.as_str())
        .filter_map(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
        .collect();
    Some((name, records))
}
