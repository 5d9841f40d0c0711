//! Simulated producers that feed a delivery stream with the record formats the real services write, deterministic
//! given a [`SimRng`].
//!
//! - CloudWatch Logs subscription filters deliver each batch of log events as one record: a gzip-compressed JSON
//!   message `{messageType, owner, logGroup, logStream, subscriptionFilters, logEvents:[{id, timestamp,
//!   message}]}`; `DATA_MESSAGE` carries events, `CONTROL_MESSAGE` is the health check CloudWatch Logs sends
//!   when a subscription is created (Firehose's CloudWatchLogProcessing drops it). Source: "Real-time processing
//!   of log data with subscriptions" / "Subscription filters with Amazon Data Firehose" (the example messages).
//! - An AWS IoT rule with a Firehose action sends the message payload (the rule's `SELECT` result) as the record,
//!   followed by the action's optional `separator` (`\n`, `\t`, `\r\n` or `,`). Source: "Firehose" rule action in
//!   the AWS IoT Core developer guide.

use serde::{Deserialize, Serialize};

use super::gzip;
use super::transform::{CLOUDWATCH_CONTROL_MESSAGE, CLOUDWATCH_DATA_MESSAGE};
use crate::sim::SimRng;
use crate::sim::time::format_unix_ms_iso8601;

/// Digits of a CloudWatch Logs event id (as in AWS's example messages).
pub const LOG_EVENT_ID_DIGITS: u32 = 56;
/// `owner` of a control message.
pub const CONTROL_MESSAGE_OWNER: &str = "CloudwatchLogs";
/// The message of the control message CloudWatch Logs sends to a Firehose destination.
pub const CONTROL_MESSAGE_TEXT: &str =
    "CWL CONTROL MESSAGE: Checking health of destination Firehose.";
/// Most log events in one subscription message (CloudWatch Logs' PutLogEvents batch limit, 10,000 events).
pub const LOG_EVENTS_PER_MESSAGE_MAX: u32 = 10_000;

/// One log event of a subscription message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEvent {
    /// The event id: decimal digits.
    pub id: String,
    /// Unix ms.
    pub timestamp: u64,
    /// The log line.
    pub message: String,
}

/// A CloudWatch Logs subscription message, decompressed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionMessage {
    /// `DATA_MESSAGE` or `CONTROL_MESSAGE`.
    pub message_type: String,
    /// The account id that owns the log group (`CloudwatchLogs` for control messages).
    pub owner: String,
    /// The log group.
    pub log_group: String,
    /// The log stream.
    pub log_stream: String,
    /// The subscription filters that matched.
    pub subscription_filters: Vec<String>,
    /// The events.
    pub log_events: Vec<LogEvent>,
}

impl SubscriptionMessage {
    /// The message as JSON, in CloudWatch Logs' key order.
    pub fn to_json(&self) -> String {
        // Plain strings and integers: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The record Firehose receives: the JSON, gzip-compressed.
    pub fn to_record(&self) -> Vec<u8> {
        gzip::compress(self.to_json().as_bytes())
    }

    /// Reads a record back (decompress, parse); `None` when it is not a subscription message.
    pub fn from_record(record: &[u8]) -> Option<Self> {
        let json =
            gzip::decompress(record, super::transform::DECOMPRESSED_RECORD_BYTES_MAX).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

/// A log group with a subscription filter that sends to Firehose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudWatchLogsSource {
    /// Account id of the owner.
    pub owner: String,
    /// Log group, e.g. `/aws/lambda/checkout`.
    pub log_group: String,
    /// Log stream.
    pub log_stream: String,
    /// Subscription filter name.
    pub filter_name: String,
    rng: SimRng,
}

const PATHS: [&str; 6] = [
    "/",
    "/cart",
    "/checkout",
    "/api/items",
    "/login",
    "/search?q=kinesis",
];
const METHODS: [&str; 3] = ["GET", "POST", "PUT"];
const STATUSES: [u16; 6] = [200, 200, 200, 201, 404, 500];

fn pick<'a, T>(rng: &mut SimRng, items: &'a [T]) -> &'a T {
    let len = u64::try_from(items.len()).unwrap_or(1);
    let index = usize::try_from(rng.below(len)).unwrap_or(0);
    &items[index.min(items.len().saturating_sub(1))]
}

impl CloudWatchLogsSource {
    /// A source with its own random stream (fork one from the world's RNG).
    pub fn new(
        rng: SimRng,
        owner: &str,
        log_group: &str,
        log_stream: &str,
        filter_name: &str,
    ) -> Self {
        CloudWatchLogsSource {
            owner: owner.to_string(),
            log_group: log_group.to_string(),
            log_stream: log_stream.to_string(),
            filter_name: filter_name.to_string(),
            rng,
        }
    }

    fn event_id(&mut self) -> String {
        let mut id = String::with_capacity(56);
        for _ in 0..LOG_EVENT_ID_DIGITS {
            let digit = self.rng.below(10);
            id.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
        }
        id
    }

    /// `count` (at most [`LOG_EVENTS_PER_MESSAGE_MAX`]) synthetic access-log lines, one per 10 ms from
    /// `start_unix_ms`, with fresh event ids.
    pub fn generate_events(&mut self, start_unix_ms: u64, count: u32) -> Vec<LogEvent> {
        let count = count.min(LOG_EVENTS_PER_MESSAGE_MAX);
        (0..count)
            .map(|i| {
                let timestamp = start_unix_ms.saturating_add(u64::from(i) * 10);
                let method = *pick(&mut self.rng, &METHODS);
                let path = *pick(&mut self.rng, &PATHS);
                let status = *pick(&mut self.rng, &STATUSES);
                let latency_ms = self.rng.range_inclusive(2, 900);
                let client = self.rng.range_inclusive(1, 254);
                let message = format!(
                    "{} 10.0.0.{client} \"{method} {path} HTTP/1.1\" {status} {latency_ms}ms",
                    format_unix_ms_iso8601(timestamp)
                );
                LogEvent {
                    id: self.event_id(),
                    timestamp,
                    message,
                }
            })
            .collect()
    }

    /// A `DATA_MESSAGE` carrying `events`.
    pub fn data_message(&self, events: Vec<LogEvent>) -> SubscriptionMessage {
        SubscriptionMessage {
            message_type: CLOUDWATCH_DATA_MESSAGE.into(),
            owner: self.owner.clone(),
            log_group: self.log_group.clone(),
            log_stream: self.log_stream.clone(),
            subscription_filters: vec![self.filter_name.clone()],
            log_events: events,
        }
    }

    /// The `CONTROL_MESSAGE` health check, as CloudWatch Logs sends it at `unix_ms`.
    pub fn control_message(unix_ms: u64) -> SubscriptionMessage {
        SubscriptionMessage {
            message_type: CLOUDWATCH_CONTROL_MESSAGE.into(),
            owner: CONTROL_MESSAGE_OWNER.into(),
            log_group: String::new(),
            log_stream: String::new(),
            subscription_filters: Vec::new(),
            log_events: vec![LogEvent {
                id: String::new(),
                timestamp: unix_ms,
                message: CONTROL_MESSAGE_TEXT.into(),
            }],
        }
    }

    /// The next record: `count` fresh events as a gzip-compressed `DATA_MESSAGE`.
    pub fn next_record(&mut self, start_unix_ms: u64, count: u32) -> Vec<u8> {
        let events = self.generate_events(start_unix_ms, count);
        self.data_message(events).to_record()
    }
}

/// The `separator` of an IoT rule's Firehose action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IotSeparator {
    /// No separator.
    None,
    /// `\n`.
    Newline,
    /// `\t`.
    Tab,
    /// `\r\n`.
    WindowsNewline,
    /// `,`.
    Comma,
}

impl IotSeparator {
    /// The bytes appended to each payload.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            IotSeparator::None => b"",
            IotSeparator::Newline => b"\n",
            IotSeparator::Tab => b"\t",
            IotSeparator::WindowsNewline => b"\r\n",
            IotSeparator::Comma => b",",
        }
    }
}

/// Devices publishing telemetry that an IoT rule (`SELECT * FROM 'TOPIC'`) forwards to Firehose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IotRuleSource {
    /// The MQTT topic, e.g. `sensors/telemetry`.
    pub topic: String,
    /// How many devices publish.
    pub devices: u32,
    /// The rule action's separator.
    pub separator: IotSeparator,
    rng: SimRng,
}

impl IotRuleSource {
    /// A source with its own random stream.
    pub fn new(rng: SimRng, topic: &str, devices: u32, separator: IotSeparator) -> Self {
        IotRuleSource {
            topic: topic.to_string(),
            devices: devices.max(1),
            separator,
            rng,
        }
    }

    /// The next record: one device's reading at `unix_ms` as the rule sends it (JSON payload plus separator).
    /// Temperatures are tenths of a degree written from integers, so the text is exact.
    pub fn next_record(&mut self, unix_ms: u64) -> Vec<u8> {
        let device = self.rng.below(u64::from(self.devices));
        let tenths = self.rng.range_inclusive(150, 350);
        let humidity = self.rng.range_inclusive(20, 80);
        let battery = self.rng.range_inclusive(5, 100);
        let payload = format!(
            "{{\"deviceId\":\"sensor-{device:04}\",\"topic\":{},\"timestamp\":{unix_ms},\"temperature\":{}.{},\
             \"humidity\":{humidity},\"battery\":{battery}}}",
            serde_json::to_string(&self.topic).unwrap_or_default(),
            tenths / 10,
            tenths % 10
        );
        let mut out = payload.into_bytes();
        out.extend_from_slice(self.separator.bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudwatch_messages_round_trip_and_are_deterministic() {
        let make = || {
            CloudWatchLogsSource::new(
                SimRng::new(9),
                "123456789012",
                "/aws/lambda/f",
                "s",
                "to-firehose",
            )
        };
        let (mut a, mut b) = (make(), make());
        let ra = a.next_record(1_767_225_600_000, 3);
        assert_eq!(ra, b.next_record(1_767_225_600_000, 3));
        assert!(gzip::is_gzip(&ra));
        let msg = SubscriptionMessage::from_record(&ra).expect("round trip");
        assert_eq!(msg.message_type, "DATA_MESSAGE");
        assert_eq!(msg.log_events.len(), 3);
        assert_eq!(msg.log_events[0].id.len(), 56);
        assert!(msg.to_json().starts_with(
            "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\",\"logGroup\""
        ));
        let control = CloudWatchLogsSource::control_message(5).to_json();
        assert_eq!(
            control,
            "{\"messageType\":\"CONTROL_MESSAGE\",\"owner\":\"CloudwatchLogs\",\"logGroup\":\"\",\"logStream\":\"\",\
             \"subscriptionFilters\":[],\"logEvents\":[{\"id\":\"\",\"timestamp\":5,\"message\":\"CWL CONTROL MESSAGE: \
             Checking health of destination Firehose.\"}]}"
        );
    }

    #[test]
    fn iot_payloads() {
        let mut s = IotRuleSource::new(SimRng::new(1), "sensors/t", 3, IotSeparator::Newline);
        let r = s.next_record(1_000);
        assert_eq!(r.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&r[..r.len() - 1]).expect("json");
        assert_eq!(v["topic"], "sensors/t");
        assert_eq!(v["timestamp"], 1_000);
        assert!(v["temperature"].is_number());
    }
}
