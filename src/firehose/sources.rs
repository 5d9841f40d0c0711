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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The separator as the rule action's `separator` field writes it (`\n`, `\t`, `\r\n`, `,`; empty for
    /// none), taking the escaped spellings too; `None` for anything else (the IoT API allows only these).
    pub fn parse(text: &str) -> Option<IotSeparator> {
        match text {
            "" => Some(IotSeparator::None),
            "\n" | "\\n" => Some(IotSeparator::Newline),
            "\t" | "\\t" => Some(IotSeparator::Tab),
            "\r\n" | "\\r\\n" => Some(IotSeparator::WindowsNewline),
            "," => Some(IotSeparator::Comma),
            _ => None,
        }
    }

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
        let mut out = self.next_message(unix_ms).into_bytes();
        out.extend_from_slice(self.separator.bytes());
        out
    }

    /// The next MQTT message one device publishes on the topic at `unix_ms` (the JSON payload, no separator).
    pub fn next_message(&mut self, unix_ms: u64) -> String {
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
        payload
    }
}

/// Longest IoT rule SQL statement, in bytes (a simulator bound).
pub const IOT_RULE_SQL_BYTES_MAX: u64 = 4_096;

/// The part of the AWS IoT SQL a rule's `SELECT` is simulated with: `SELECT * | field[, field ...] FROM
/// 'topic filter'` (MQTT filters with `+` and `#`). A `WHERE` clause and functions are refused with a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IotRuleSql {
    /// The selected top-level fields, in order; `None` for `*`.
    pub fields: Option<Vec<String>>,
    /// The topic filter of `FROM`.
    pub topic_filter: String,
}

impl IotRuleSql {
    /// Parses `SELECT ... FROM '...'`; the error says what to change.
    pub fn parse(sql: &str) -> Result<IotRuleSql, String> {
        if u64::try_from(sql.len()).unwrap_or(u64::MAX) > IOT_RULE_SQL_BYTES_MAX {
            return Err(format!(
                "The rule's SQL must be at most {IOT_RULE_SQL_BYTES_MAX} bytes."
            ));
        }
        let text = sql.trim();
        let upper = text.to_ascii_uppercase();
        let shape = "Write the rule as SELECT * FROM 'topic/filter' or SELECT field, field FROM 'topic/filter'.";
        if !upper.starts_with("SELECT ") {
            return Err(format!("The rule's SQL must start with SELECT. {shape}"));
        }
        let Some(from) = upper.find(" FROM ") else {
            return Err(format!("The rule's SQL has no FROM. {shape}"));
        };
        let select = text.get(7..from).unwrap_or("").trim();
        let rest = text.get(from + 6..).unwrap_or("").trim();
        let topic_filter = rest
            .strip_prefix('\'')
            .and_then(|r| r.split_once('\''))
            .map(|(topic, after)| (topic, after.trim()));
        let topic_filter = match topic_filter {
            Some((topic, "")) if !topic.is_empty() => topic.to_string(),
            Some((_, after)) if after.to_ascii_uppercase().starts_with("WHERE") => {
                return Err(format!(
                    "WHERE clauses are not simulated: every message on the topic is forwarded. {shape}"
                ));
            }
            _ => {
                return Err(format!(
                    "FROM takes one topic filter in single quotes. {shape}"
                ));
            }
        };
        let fields = if select == "*" {
            None
        } else {
            let fields: Vec<String> = select.split(',').map(|f| f.trim().to_string()).collect();
            for field in &fields {
                let ok = !field.is_empty()
                    && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !ok {
                    return Err(format!(
                        "'{field}' is not a field name: select * or top-level fields (letters, digits, _). {shape}"
                    ));
                }
            }
            Some(fields)
        };
        Ok(IotRuleSql {
            fields,
            topic_filter,
        })
    }

    /// Whether a message published on `topic` matches the rule's filter (`+` one level, `#` the rest).
    pub fn matches(&self, topic: &str) -> bool {
        let mut levels = topic.split('/');
        for part in self.topic_filter.split('/') {
            match (part, levels.next()) {
                ("#", _) => return true,
                ("+", Some(_)) => {}
                (p, Some(level)) if p == level => {}
                _ => return false,
            }
        }
        levels.next().is_none()
    }

    /// The rule's result for a JSON `payload`: the payload itself for `*`, else an object of the selected fields
    /// that the payload has (in the SELECT's order), as AWS IoT leaves out fields a message lacks.
    pub fn select(&self, payload: &str) -> String {
        let Some(fields) = &self.fields else {
            return payload.to_string();
        };
        let Ok(serde_json::Value::Object(object)) = serde_json::from_str(payload) else {
            return "{}".to_string();
        };
        let parts: Vec<String> = fields
            .iter()
            .filter_map(|f| {
                object
                    .get(f)
                    .map(|v| format!("{}:{}", serde_json::to_string(f).unwrap_or_default(), v))
            })
            .collect();
        format!("{{{}}}", parts.join(","))
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
    fn iot_rule_sql_selects_fields_and_matches_topic_filters() {
        let all = IotRuleSql::parse("SELECT * FROM 'sensors/#'").expect("valid");
        assert!(all.matches("sensors/t") && all.matches("sensors/a/b"));
        assert!(!all.matches("other/t"));
        assert_eq!(all.select("{\"a\":1}"), "{\"a\":1}");
        let some =
            IotRuleSql::parse("select temperature, deviceId from 'sensors/+'").expect("valid");
        assert!(some.matches("sensors/t") && !some.matches("sensors/t/x"));
        assert_eq!(
            some.select("{\"deviceId\":\"d\",\"temperature\":21.5,\"x\":0}"),
            "{\"temperature\":21.5,\"deviceId\":\"d\"}"
        );
        for bad in [
            "",
            "SELECT *",
            "SELECT * FROM sensors",
            "SELECT * FROM 'a' WHERE x > 1",
            "SELECT a.b FROM 'a'",
            "UPDATE x",
        ] {
            assert!(IotRuleSql::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(IotSeparator::parse("\\n"), Some(IotSeparator::Newline));
        assert_eq!(IotSeparator::parse("|"), None);
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
