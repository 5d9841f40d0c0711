//! Lambda's wire formats for a Kinesis source: the invocation event, the partial-batch response and the on-failure
//! invocation record.
//!
//! The event is written as text in the key order Lambda uses (its documented example), so a function, a golden
//! test or the browser sees exactly what Lambda would send. `approximateArrivalTimestamp` is epoch seconds with a
//! millisecond fraction, written from integers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::sim::{DisplayEpoch, SimTime};
use crate::streams::error::REGION;

/// `kinesisSchemaVersion` of every record (Lambda's Kinesis event).
pub const KINESIS_SCHEMA_VERSION: &str = "1.0";
/// `eventVersion` of every record (Lambda's Kinesis event).
pub const EVENT_VERSION: &str = "1.0";
/// `eventSource` of every record.
pub const EVENT_SOURCE: &str = "aws:kinesis";
/// `eventName` of every record.
pub const EVENT_NAME: &str = "aws:kinesis:record";
/// `version` of every on-failure invocation record.
pub const FAILURE_RECORD_VERSION: &str = "1.0";
/// The function version an invocation ran (`responseContext.executedVersion`); the simulator has one version.
pub const EXECUTED_VERSION: &str = "$LATEST";
/// Bytes of `{"Records":[` and `]}` around the records of an event.
pub(crate) const EVENT_ENVELOPE_BYTES: u64 = 14;

/// A record read from the stream and held by the mapping until its batch succeeds or is discarded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRecord {
    /// Sequence number.
    pub sequence_number: String,
    /// Position in its shard (orders records of one shard).
    pub index: u64,
    /// Partition key.
    pub partition_key: String,
    /// Data bytes.
    pub data: Vec<u8>,
    /// When the stream accepted it.
    pub arrival: SimTime,
    /// Bytes of its entry in an event's `Records` array.
    pub event_bytes: u64,
}

/// What a mapping stamps on every record of an event.
#[derive(Clone, Copy, Debug)]
pub struct EventContext<'a> {
    /// The shard the records come from.
    pub shard_id: &'a str,
    /// `eventSourceARN`: the stream's ARN.
    pub event_source_arn: &'a str,
    /// `invokeIdentityArn`: the function's execution role.
    pub invoke_identity_arn: &'a str,
    /// Calendar time of simulated zero.
    pub epoch: DisplayEpoch,
}

/// `1545084650.987`: Unix seconds with a three-digit millisecond fraction.
pub fn epoch_seconds_text(unix_ms: u64) -> String {
    format!("{}.{:03}", unix_ms / 1_000, unix_ms % 1_000)
}

fn json_string(text: &str) -> String {
    // Serialising a string cannot fail; the fallback keeps the event valid JSON all the same.
    serde_json::to_string(text).unwrap_or_else(|_| String::from("\"\""))
}

/// One entry of an event's `Records` array, as Lambda writes it.
pub fn record_entry_json(
    ctx: &EventContext<'_>,
    sequence_number: &str,
    partition_key: &str,
    data: &[u8],
    arrival: SimTime,
) -> String {
    let seq = json_string(sequence_number);
    format!(
        "{{\"kinesis\":{{\"kinesisSchemaVersion\":\"{KINESIS_SCHEMA_VERSION}\",\"partitionKey\":{pk},\
         \"sequenceNumber\":{seq},\"data\":\"{data}\",\"approximateArrivalTimestamp\":{ts}}},\
         \"eventSource\":\"{EVENT_SOURCE}\",\"eventVersion\":\"{EVENT_VERSION}\",\"eventID\":{id},\
         \"eventName\":\"{EVENT_NAME}\",\"invokeIdentityArn\":{role},\"awsRegion\":\"{REGION}\",\
         \"eventSourceARN\":{arn}}}",
        pk = json_string(partition_key),
        data = STANDARD.encode(data),
        ts = epoch_seconds_text(ctx.epoch.unix_ms_at(arrival)),
        id = json_string(&format!("{}:{}", ctx.shard_id, sequence_number)),
        role = json_string(ctx.invoke_identity_arn),
        arn = json_string(ctx.event_source_arn),
    )
}

/// The whole event for a batch: `{"Records":[...]}`.
pub fn event_json(ctx: &EventContext<'_>, records: &[StreamRecord]) -> String {
    let entries: Vec<String> = records
        .iter()
        .map(|r| {
            record_entry_json(
                ctx,
                &r.sequence_number,
                &r.partition_key,
                &r.data,
                r.arrival,
            )
        })
        .collect();
    format!("{{\"Records\":[{}]}}", entries.join(","))
}

/// How Lambda reads a function's answer when `ReportBatchItemFailures` is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchItemFailures {
    /// Every record succeeded (no answer, a null or empty list).
    None,
    /// Retry from the record at this position in the batch (the lowest sequence number reported).
    RetryFrom(usize),
    /// The answer is malformed (an empty, null or unknown `itemIdentifier`, a bad key name): the whole batch
    /// failed.
    Invalid,
}

/// Reads a `{"batchItemFailures":[{"itemIdentifier":"<SequenceNumber>"}]}` answer against the batch it answers,
/// following "Configuring partial batch response with Kinesis Data Streams and Lambda": an empty or null list or an
/// empty or null response is a complete success; an empty string, a null or an unknown `itemIdentifier`, or an entry
/// without that key, is a complete failure; otherwise Lambda retries from the lowest sequence number reported.
pub fn read_batch_item_failures(
    response: Option<&serde_json::Value>,
    records: &[StreamRecord],
) -> BatchItemFailures {
    use serde_json::Value;
    let Some(response) = response else {
        return BatchItemFailures::None;
    };
    let list = match response {
        Value::Null => return BatchItemFailures::None,
        Value::Object(map) => match map.get("batchItemFailures") {
            None | Some(Value::Null) => return BatchItemFailures::None,
            Some(Value::Array(list)) => list,
            Some(_) => return BatchItemFailures::Invalid,
        },
        // Any other answer (a string, a number) is not an event response; Lambda reads no failures in it.
        _ => return BatchItemFailures::None,
    };
    let mut lowest: Option<usize> = None;
    for item in list {
        let Some(Value::String(id)) = item.get("itemIdentifier") else {
            return BatchItemFailures::Invalid;
        };
        let Some(position) = records.iter().position(|r| r.sequence_number == *id) else {
            return BatchItemFailures::Invalid;
        };
        lowest = Some(lowest.map_or(position, |l| l.min(position)));
    }
    lowest.map_or(BatchItemFailures::None, BatchItemFailures::RetryFrom)
}

/// Why a batch went to the on-failure destination (`requestContext.condition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureCondition {
    /// `RetryAttemptsExhausted`: `MaximumRetryAttempts` ran out.
    RetryAttemptsExhausted,
    /// `RecordAgeExceeded`: the records became older than `MaximumRecordAgeInSeconds`.
    RecordAgeExceeded,
}

/// `requestContext` of an on-failure record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureRequestContext {
    /// An id of the (last) request.
    pub request_id: String,
    /// The function's ARN.
    pub function_arn: String,
    /// Why the batch was discarded.
    pub condition: FailureCondition,
    /// How many times the function was invoked with these records.
    pub approximate_invoke_count: u32,
}

/// `responseContext` of an on-failure record: how the last invocation ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureResponseContext {
    /// HTTP status of the Invoke call (200 even when the function failed).
    pub status_code: u16,
    /// The function version that ran.
    pub executed_version: String,
    /// `Unhandled` when the function raised an error or timed out; absent when it answered with item failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_error: Option<String>,
}

/// `KinesisBatchInfo` of an on-failure record: where to find the discarded records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisBatchInfo {
    /// The shard.
    pub shard_id: String,
    /// Sequence number of the first discarded record.
    pub start_sequence_number: String,
    /// Sequence number of the last discarded record.
    pub end_sequence_number: String,
    /// ISO 8601 arrival time of the first record.
    pub approximate_arrival_of_first_record: String,
    /// ISO 8601 arrival time of the last record.
    pub approximate_arrival_of_last_record: String,
    /// How many records were discarded.
    pub batch_size: u32,
    /// The stream's ARN.
    pub stream_arn: String,
}

/// The JSON document Lambda sends to an on-failure destination for a discarded batch ("Retain discarded batch
/// records for a Kinesis Data Streams event source in Lambda"). Field order is Lambda's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    /// The request.
    #[serde(rename = "requestContext")]
    pub request_context: FailureRequestContext,
    /// The last response, absent when the records were never sent to the function.
    #[serde(rename = "responseContext", skip_serializing_if = "Option::is_none")]
    pub response_context: Option<FailureResponseContext>,
    /// Always `1.0`.
    pub version: String,
    /// ISO 8601 time of the discard.
    pub timestamp: String,
    /// Where the records are.
    #[serde(rename = "KinesisBatchInfo")]
    pub kinesis_batch_info: KinesisBatchInfo,
}

impl FailureRecord {
    /// The document as Lambda sends it.
    pub fn to_json(&self) -> String {
        // Serialising plain strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A UUID-shaped id (`8-4-4-4-12` hex digits, version 4 bits) derived from `parts`: stable across runs, so the same
/// inputs always name the same mapping or request.
pub fn derived_uuid(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: &str) -> StreamRecord {
        StreamRecord {
            sequence_number: seq.to_string(),
            index: 0,
            partition_key: "k".into(),
            data: Vec::new(),
            arrival: SimTime::ZERO,
            event_bytes: 0,
        }
    }

    #[test]
    fn timestamps_keep_three_fraction_digits() {
        assert_eq!(epoch_seconds_text(1_545_084_650_987), "1545084650.987");
        assert_eq!(epoch_seconds_text(1_545_084_650_005), "1545084650.005");
        assert_eq!(epoch_seconds_text(0), "0.000");
    }

    #[test]
    fn batch_item_failures_follow_the_documented_rules() {
        use serde_json::json;
        let records = vec![record("1"), record("2"), record("3")];
        let read = |v: serde_json::Value| read_batch_item_failures(Some(&v), &records);
        assert_eq!(
            read_batch_item_failures(None, &records),
            BatchItemFailures::None
        );
        assert_eq!(read(json!(null)), BatchItemFailures::None);
        assert_eq!(read(json!({})), BatchItemFailures::None);
        assert_eq!(
            read(json!({"batchItemFailures": null})),
            BatchItemFailures::None
        );
        assert_eq!(
            read(json!({"batchItemFailures": []})),
            BatchItemFailures::None
        );
        assert_eq!(
            read(json!({"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]})),
            BatchItemFailures::RetryFrom(1)
        );
        assert_eq!(
            read(json!({"batchItemFailures": [{"itemIdentifier": ""}]})),
            BatchItemFailures::Invalid
        );
        assert_eq!(
            read(json!({"batchItemFailures": [{"itemIdentifier": null}]})),
            BatchItemFailures::Invalid
        );
        assert_eq!(
            read(json!({"batchItemFailures": [{"itemId": "2"}]})),
            BatchItemFailures::Invalid
        );
        assert_eq!(
            read(json!({"batchItemFailures": [{"itemIdentifier": "9"}]})),
            BatchItemFailures::Invalid
        );
    }

    #[test]
    fn derived_uuids_are_stable_and_shaped_like_uuids() {
        let a = derived_uuid(&["f", "arn"]);
        assert_eq!(a, derived_uuid(&["f", "arn"]));
        assert_ne!(a, derived_uuid(&["f", "arn2"]));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }
}
