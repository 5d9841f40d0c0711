//! Firehose sources as World actors: a CloudWatch Logs subscription filter and an AWS IoT rule that send their
//! records to a Direct PUT delivery stream, in the record formats of [`crate::firehose::sources`].
//!
//! - [`Command::StartCloudWatchLogsSubscription`](super::Command::StartCloudWatchLogsSubscription) checks the
//!   delivery stream is ACTIVE (as PutSubscriptionFilter does, with its message), sends the `CONTROL_MESSAGE`
//!   health check at once, then every [`FIREHOSE_SOURCE_TICK_MS`] one gzip-compressed `DATA_MESSAGE` carrying the
//!   log events of that second as one PutRecord call.
//! - [`Command::StartIotRule`](super::Command::StartIotRule) publishes device telemetry on a topic; when the rule's
//!   `FROM` filter matches it, each message (the rule's `SELECT` result plus the action's separator) is one record,
//!   sent as one PutRecord call per message, or with `batchMode` as PutRecordBatch calls of up to 500 records.
//!
//! Calls go through [`crate::firehose::DeliveryStreams::put_direct`], so they count against the delivery stream's
//! Direct PUT quotas like any producer's; throttled ("Slow down.") records are counted, not retried, so throttling
//! shows plainly. Each tick that sent something, each start and stop, is an [`EventKind::FirehoseSource`].
#![deny(clippy::float_arithmetic)]

use super::{CommandError, ErrorKind, EventKind, TimerAction, World, check_length};
use crate::firehose::service::{
    DeliveryStreamStatus, DirectRecord, PUT_RECORD_BATCH_BYTES_MAX, PUT_RECORD_BATCH_RECORDS_MAX,
    RECORD_DATA_BYTES_MAX,
};
use crate::firehose::sources::{
    CloudWatchLogsSource, IotRuleSource, IotRuleSql, IotSeparator, LOG_EVENTS_PER_MESSAGE_MAX,
};
use crate::sim::{SimDuration, SimTime, TimerId};
use serde::{Deserialize, Serialize};

/// Most Firehose sources (CloudWatch Logs subscriptions and IoT rules together) a world runs (a simulator bound).
pub const FIREHOSE_SOURCES_MAX: u32 = 32;
/// How often a source sends what it produced since its last send, in ms.
pub const FIREHOSE_SOURCE_TICK_MS: u64 = 1_000;
/// Most log events per second a subscription source generates (one subscription message per second carries them;
/// CloudWatch Logs puts at most 10,000 events in one message).
pub const CWL_EVENTS_PER_S_MAX: u32 = LOG_EVENTS_PER_MESSAGE_MAX;
/// Most messages per second an IoT rule source publishes (a simulator bound).
pub const IOT_MESSAGES_PER_S_MAX: u32 = 10_000;
/// Most devices an IoT rule source simulates.
pub const IOT_DEVICES_MAX: u32 = 10_000;
/// The account id CloudWatch Logs writes as a data message's `owner`.
pub const CWL_OWNER: &str = crate::firehose::error::ACCOUNT_ID;
/// The message PutSubscriptionFilter answers when the delivery stream is not ACTIVE.
pub const CWL_DESTINATION_NOT_ACTIVE_MESSAGE: &str = "Could not deliver test message to specified Firehose stream. Check if the given Firehose stream is in ACTIVE state.";

/// What produces a source's records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum SourceKind {
    /// A CloudWatch Logs subscription filter.
    CloudWatchLogs {
        /// The log group, stream and filter, and the event generator.
        source: CloudWatchLogsSource,
        /// Log events per second.
        events_per_s: u32,
    },
    /// An AWS IoT rule with a Firehose action.
    Iot {
        /// The devices publishing on the topic.
        source: IotRuleSource,
        /// The rule's SQL statement, as written.
        sql: String,
        /// The parsed statement.
        rule: IotRuleSql,
        /// Messages per second published on the topic.
        messages_per_s: u32,
        /// The action's `batchMode`: PutRecordBatch instead of one PutRecord per message.
        batch_mode: bool,
    },
}

/// What a source has done so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStats {
    /// PutRecord / PutRecordBatch calls made.
    pub calls: u64,
    /// Records Firehose accepted.
    pub records_sent: u64,
    /// Bytes of the accepted records.
    pub bytes_sent: u64,
    /// Records refused with "Slow down." (the Direct PUT quotas).
    pub records_throttled: u64,
    /// Records refused for another reason (the delivery stream is gone, not active, ...).
    pub records_failed: u64,
    /// Log events (CloudWatch Logs) or messages (IoT) produced.
    pub produced: u64,
    /// Whether the CloudWatch Logs control message was accepted.
    pub control_message_sent: bool,
    /// The last error, if any.
    pub last_error: Option<String>,
}

/// A Firehose source the world runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirehoseSourceEntry {
    /// The delivery stream it sends to.
    pub delivery_stream: String,
    /// What it is.
    pub kind: SourceKind,
    /// What it did.
    pub stats: SourceStats,
    /// Rate remainder carried between ticks, in item-milliseconds.
    carry: u64,
    timer: Option<TimerId>,
}

impl FirehoseSourceEntry {
    /// Whether it runs.
    pub fn running(&self) -> bool {
        self.timer.is_some()
    }

    /// `CloudWatch Logs` or `IoT rule`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            SourceKind::CloudWatchLogs { .. } => "CloudWatch Logs",
            SourceKind::Iot { .. } => "IoT rule",
        }
    }

    /// Its settings, in a line.
    pub fn settings(&self) -> String {
        match &self.kind {
            SourceKind::CloudWatchLogs {
                source,
                events_per_s,
            } => format!(
                "{} / {} (filter {}), {events_per_s} log events/s",
                source.log_group, source.log_stream, source.filter_name
            ),
            SourceKind::Iot {
                source,
                sql,
                messages_per_s,
                batch_mode,
                ..
            } => format!(
                "{} devices on {}, {messages_per_s} messages/s, {sql}{}",
                source.devices,
                source.topic,
                if *batch_mode { ", batch mode" } else { "" }
            ),
        }
    }
}

/// The settings of a new CloudWatch Logs subscription source.
#[derive(Clone, Debug)]
pub(super) struct CwlSettings {
    pub name: String,
    pub delivery_stream: String,
    pub log_group: String,
    pub log_stream: String,
    pub filter_name: Option<String>,
    pub events_per_s: u32,
}

/// The settings of a new IoT rule source.
#[derive(Clone, Debug)]
pub(super) struct IotSettings {
    pub name: String,
    pub delivery_stream: String,
    pub topic: String,
    pub sql: Option<String>,
    pub messages_per_s: u32,
    pub devices: Option<u32>,
    pub separator: Option<String>,
    pub batch_mode: bool,
}

fn invalid(message: String) -> CommandError {
    CommandError::new(ErrorKind::InvalidArgumentException, message)
}

fn check_rate(what: &str, rate: u32, max: u32) -> Result<(), CommandError> {
    if rate == 0 || rate > max {
        return Err(invalid(format!(
            "The rate must be 1 to {max} {what} per second; it is {rate}."
        )));
    }
    Ok(())
}

impl World {
    /// Firehose sources (CloudWatch Logs subscriptions, IoT rules), running or stopped, by name.
    pub fn firehose_sources(&self) -> &std::collections::BTreeMap<String, FirehoseSourceEntry> {
        &self.firehose_sources
    }

    fn check_new_source(&self, name: &str, delivery_stream: &str) -> Result<(), CommandError> {
        check_length("name", name, super::TIMER_NAME_LENGTH_MAX_CHARS)?;
        if self
            .firehose_sources
            .get(name)
            .is_some_and(FirehoseSourceEntry::running)
        {
            return Err(CommandError::new(
                ErrorKind::ResourceInUseException,
                format!("A source named {name} is running; stop it first or pick another name."),
            ));
        }
        if !self.firehose_sources.contains_key(name)
            && self.firehose_sources.len() >= FIREHOSE_SOURCES_MAX as usize
        {
            return Err(CommandError::new(
                ErrorKind::LimitExceededException,
                format!("A session runs at most {FIREHOSE_SOURCES_MAX} Firehose sources."),
            ));
        }
        if self.firehose.status(delivery_stream, self.now).is_none() {
            return Err(CommandError::new(
                ErrorKind::ResourceNotFoundException,
                format!(
                    "Firehose {delivery_stream} under account {} not found.",
                    crate::firehose::error::ACCOUNT_ID
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn start_cloudwatch_logs_source(
        &mut self,
        s: CwlSettings,
    ) -> Result<SimTime, CommandError> {
        self.check_new_source(&s.name, &s.delivery_stream)?;
        check_length("logGroup", &s.log_group, 512)?;
        check_length("logStream", &s.log_stream, 512)?;
        let filter_name = s.filter_name.unwrap_or_else(|| "to-firehose".into());
        check_length("filterName", &filter_name, 512)?;
        check_rate("log events", s.events_per_s, CWL_EVENTS_PER_S_MAX)?;
        if self.firehose.status(&s.delivery_stream, self.now) != Some(DeliveryStreamStatus::Active)
        {
            return Err(invalid(CWL_DESTINATION_NOT_ACTIVE_MESSAGE.into()));
        }
        let rng = self.rng.fork(&format!("firehose-source/{}", s.name));
        let source =
            CloudWatchLogsSource::new(rng, CWL_OWNER, &s.log_group, &s.log_stream, &filter_name);
        let detail = format!(
            "CloudWatch Logs {} / {} to {}, {} log events/s",
            s.log_group, s.log_stream, s.delivery_stream, s.events_per_s
        );
        let kind = SourceKind::CloudWatchLogs {
            source,
            events_per_s: s.events_per_s,
        };
        let due = self.insert_source(&s.name, s.delivery_stream.clone(), kind, detail)?;
        // The health check CloudWatch Logs sends when the subscription filter is created.
        let unix_ms = self.config.epoch.unix_ms_at(self.now);
        let control = CloudWatchLogsSource::control_message(unix_ms).to_record();
        let (sent, _) = self.send_source_records(&s.name, vec![vec![control]]);
        if let Some(entry) = self.firehose_sources.get_mut(&s.name) {
            entry.stats.control_message_sent = sent == 1;
        }
        self.record(EventKind::FirehoseSource {
            source: s.name.clone(),
            action: "control message".into(),
            detail: if sent == 1 {
                "CWL CONTROL MESSAGE sent (1 PutRecord)".into()
            } else {
                "CWL CONTROL MESSAGE refused".into()
            },
        });
        Ok(due)
    }

    pub(super) fn start_iot_rule_source(
        &mut self,
        s: IotSettings,
    ) -> Result<SimTime, CommandError> {
        self.check_new_source(&s.name, &s.delivery_stream)?;
        check_length("topic", &s.topic, 256)?;
        if s.topic.contains(['+', '#']) {
            return Err(invalid(
                "Devices publish on a topic name; + and # belong in the rule's FROM filter.".into(),
            ));
        }
        let sql = s
            .sql
            .filter(|q| !q.trim().is_empty())
            .unwrap_or_else(|| format!("SELECT * FROM '{}'", s.topic));
        let rule = IotRuleSql::parse(&sql).map_err(invalid)?;
        check_rate("messages", s.messages_per_s, IOT_MESSAGES_PER_S_MAX)?;
        let devices = s.devices.unwrap_or(10);
        if devices == 0 || devices > IOT_DEVICES_MAX {
            return Err(invalid(format!(
                "devices must be 1 to {IOT_DEVICES_MAX}; it is {devices}."
            )));
        }
        let separator_text = s.separator.unwrap_or_else(|| "\n".into());
        let separator = IotSeparator::parse(&separator_text).ok_or_else(|| {
            invalid(format!(
                "The separator must be one of \\n, \\t, \\r\\n or , (or empty); it is {separator_text:?}."
            ))
        })?;
        let rng = self.rng.fork(&format!("firehose-source/{}", s.name));
        let source = IotRuleSource::new(rng, &s.topic, devices, separator);
        let detail = format!(
            "IoT rule {sql} ({} messages/s on {}) to {}",
            s.messages_per_s, s.topic, s.delivery_stream
        );
        let kind = SourceKind::Iot {
            source,
            sql,
            rule,
            messages_per_s: s.messages_per_s,
            batch_mode: s.batch_mode,
        };
        self.insert_source(&s.name, s.delivery_stream, kind, detail)
    }

    fn insert_source(
        &mut self,
        name: &str,
        delivery_stream: String,
        kind: SourceKind,
        detail: String,
    ) -> Result<SimTime, CommandError> {
        let due = self
            .now
            .saturating_add(SimDuration::from_millis(FIREHOSE_SOURCE_TICK_MS));
        let timer = self.schedule(
            due,
            TimerAction::FirehoseSource {
                name: name.to_string(),
            },
        )?;
        if let Some(old) = self.firehose_sources.remove(name)
            && let Some(t) = old.timer
        {
            self.timers.cancel(t);
        }
        self.firehose_sources.insert(
            name.to_string(),
            FirehoseSourceEntry {
                delivery_stream,
                kind,
                stats: SourceStats::default(),
                carry: 0,
                timer: Some(timer),
            },
        );
        self.record(EventKind::FirehoseSource {
            source: name.to_string(),
            action: "started".into(),
            detail,
        });
        Ok(due)
    }

    pub(super) fn stop_firehose_source(&mut self, name: &str) -> Result<(), CommandError> {
        let Some(entry) = self.firehose_sources.get_mut(name).filter(|e| e.running()) else {
            return Err(CommandError::new(
                ErrorKind::ResourceNotFoundException,
                format!("No Firehose source named {name} is running."),
            ));
        };
        if let Some(t) = entry.timer.take() {
            self.timers.cancel(t);
        }
        let st = entry.stats.clone();
        self.record(EventKind::FirehoseSource {
            source: name.to_string(),
            action: "stopped".into(),
            detail: format!(
                "{} records sent in {} calls, {} throttled, {} failed",
                st.records_sent, st.calls, st.records_throttled, st.records_failed
            ),
        });
        Ok(())
    }

    /// One tick of a source: produce what its rate owes for the last [`FIREHOSE_SOURCE_TICK_MS`], send it, re-arm.
    pub(super) fn run_firehose_source(&mut self, name: &str) {
        let now = self.now;
        let unix_ms = self.config.epoch.unix_ms_at(now);
        let Some(entry) = self.firehose_sources.get_mut(name) else {
            return;
        };
        entry.timer = None;
        let rate = match &entry.kind {
            SourceKind::CloudWatchLogs { events_per_s, .. } => *events_per_s,
            SourceKind::Iot { messages_per_s, .. } => *messages_per_s,
        };
        entry.carry += u64::from(rate) * FIREHOSE_SOURCE_TICK_MS;
        let due_items = entry.carry / 1_000;
        entry.carry %= 1_000;
        entry.stats.produced += due_items;
        // The calls to make, each a list of records.
        let (calls, what): (Vec<Vec<Vec<u8>>>, String) = match &mut entry.kind {
            SourceKind::CloudWatchLogs { source, .. } => {
                let count = u32::try_from(due_items).unwrap_or(u32::MAX);
                let start = unix_ms.saturating_sub(FIREHOSE_SOURCE_TICK_MS);
                if count == 0 {
                    (Vec::new(), String::new())
                } else {
                    (
                        vec![vec![source.next_record(start, count)]],
                        format!("{count} log events in 1 subscription message"),
                    )
                }
            }
            SourceKind::Iot {
                source,
                rule,
                batch_mode,
                ..
            } => {
                let forwarded = rule.matches(&source.topic);
                let mut records = Vec::new();
                for _ in 0..due_items {
                    let message = source.next_message(unix_ms);
                    if forwarded {
                        let mut record = rule.select(&message).into_bytes();
                        record.extend_from_slice(source.separator.bytes());
                        records.push(record);
                    }
                }
                let n = records.len();
                let calls = if *batch_mode {
                    batches(records)
                } else {
                    records.into_iter().map(|r| vec![r]).collect()
                };
                let what = if forwarded {
                    format!("{n} messages")
                } else {
                    String::new()
                };
                (calls, what)
            }
        };
        if !calls.is_empty() {
            let call_count = calls.len();
            let (sent, throttled) = self.send_source_records(name, calls);
            self.record(EventKind::FirehoseSource {
                source: name.to_string(),
                action: "sent".into(),
                detail: format!(
                    "{what}: {call_count} calls, {sent} records accepted, {throttled} throttled"
                ),
            });
        }
        let next = now.saturating_add(SimDuration::from_millis(FIREHOSE_SOURCE_TICK_MS));
        // The fired timer left the queue just now, so there is room to re-arm it.
        if let Ok(timer) = self.timers.schedule(
            next,
            TimerAction::FirehoseSource {
                name: name.to_string(),
            },
        ) && let Some(entry) = self.firehose_sources.get_mut(name)
        {
            entry.timer = Some(timer);
        }
    }

    /// Makes the calls (each a PutRecord or PutRecordBatch) at now; returns (records accepted, throttled).
    fn send_source_records(&mut self, name: &str, calls: Vec<Vec<Vec<u8>>>) -> (u64, u64) {
        let now = self.now;
        let Some(delivery) = self
            .firehose_sources
            .get(name)
            .map(|e| e.delivery_stream.clone())
        else {
            return (0, 0);
        };
        let mut stats = SourceStats::default();
        let mut tapped: Vec<Vec<u8>> = Vec::new();
        for records in calls {
            stats.calls += 1;
            let (fit, too_big): (Vec<Vec<u8>>, Vec<Vec<u8>>) = records
                .into_iter()
                .partition(|r| r.len() as u64 <= RECORD_DATA_BYTES_MAX);
            if !too_big.is_empty() {
                stats.records_failed += too_big.len() as u64;
                stats.last_error = Some(format!(
                    "A record was larger than {RECORD_DATA_BYTES_MAX} bytes and was not sent."
                ));
            }
            if fit.is_empty() {
                continue;
            }
            let sizes: Vec<u64> = fit.iter().map(|r| r.len() as u64).collect();
            let keep = if self.analytics.is_empty() {
                Vec::new()
            } else {
                fit.clone()
            };
            let direct = fit
                .into_iter()
                .map(|data| DirectRecord {
                    data,
                    ..DirectRecord::default()
                })
                .collect();
            match self.firehose.put_direct(now, &delivery, direct) {
                Ok(results) => {
                    for (i, (result, size)) in results.into_iter().zip(&sizes).enumerate() {
                        match result {
                            Ok(_) => {
                                stats.records_sent += 1;
                                stats.bytes_sent += size;
                                if let Some(data) = keep.get(i) {
                                    tapped.push(data.clone());
                                }
                            }
                            Err(e) => {
                                stats.records_throttled += 1;
                                stats.last_error = Some(e.to_string());
                            }
                        }
                    }
                }
                Err(e) => {
                    let n = sizes.len() as u64;
                    if e.message == crate::firehose::throughput::SLOW_DOWN_MESSAGE {
                        stats.records_throttled += n;
                    } else {
                        stats.records_failed += n;
                    }
                    stats.last_error = Some(e.to_string());
                }
            }
        }
        if let Some(entry) = self.firehose_sources.get_mut(name) {
            let st = &mut entry.stats;
            st.calls += stats.calls;
            st.records_sent += stats.records_sent;
            st.bytes_sent += stats.bytes_sent;
            st.records_throttled += stats.records_throttled;
            st.records_failed += stats.records_failed;
            if stats.last_error.is_some() {
                st.last_error = stats.last_error;
            }
        }
        if !tapped.is_empty() {
            self.tap_delivery_stream(&delivery, &tapped);
        }
        self.record_firehose_events();
        (stats.records_sent, stats.records_throttled)
    }
}

/// PutRecordBatch calls: at most 500 records and 4 MiB each.
fn batches(records: Vec<Vec<u8>>) -> Vec<Vec<Vec<u8>>> {
    let mut out: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut bytes = 0u64;
    for record in records {
        let size = record.len() as u64;
        let start_new = match out.last() {
            None => true,
            Some(batch) => {
                batch.len() as u64 >= PUT_RECORD_BATCH_RECORDS_MAX
                    || bytes + size > PUT_RECORD_BATCH_BYTES_MAX
            }
        };
        if start_new {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(batch) = out.last_mut() {
            batch.push(record);
        }
    }
    out
}
