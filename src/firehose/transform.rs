//! Data transformation: the Lambda contract and the built-in processors, as pure functions.
//!
//! A delivery stream's `ProcessingConfiguration` ([`ProcessingConfiguration::from_json`]) lists processors. The
//! built-in ones run in the core: [`ProcessingConfiguration::before_lambda`] (Decompression,
//! CloudWatchLogProcessing, RecordDeAggregation, in that order) and [`ProcessingConfiguration::after_lambda`]
//! (AppendDelimiterToRecord). The Lambda processor is a function that lives outside the core: a
//! [`TransformBatch`] writes the invocation event ([`TransformBatch::request_json`]), the shell runs the function
//! and reports how the invocation ended ([`TransformBatch::complete`]); the batch validates the answer, retries
//! failed invocations `NumberOfRetries` times and finally turns each record into data to deliver, a drop, or a
//! `processing-failed` [`ErrorRecord`].
//!
//! Sources: "Transform source data in Amazon Data Firehose", "Required parameters for data transformation",
//! "Handle failure in data transformation", the `ProcessorParameter` documentation of the Firehose API reference
//! (defaults: 3 for NumberOfRetries, 60 for BufferIntervalInSeconds, BufferSizeInMBs 0.2..3 with 1 as default
//! and 256 KB for Splunk), the Lambda blueprint `kinesis-firehose-process-record-streams-as-source` (the
//! `kinesisRecordMetadata` shape), "Decompress CloudWatch Logs", "Use multi record deaggregation" and the
//! Lambda quotas page (6 MB synchronous response payload).
//!
//! The error codes are those Firehose writes into `processing-failed` documents and CloudWatch Logs. Which failure
//! hits what follows documents captured from the service (a real `Lambda.MissingRecordId` document, and an
//! emulator's notes of native captures): a record id that does not come back fails that record only
//! (`Lambda.MissingRecordId`, no retry); an answer that is not JSON (`Lambda.JsonProcessingException`), not the
//! status model (a bad `result`, missing `data`, data that is not base64: `Lambda.FunctionError` with the "Check
//! your function" message), a repeated record id (`Lambda.DuplicatedRecordId`), a function error or a throttle
//! fail the whole invocation, which is retried `NumberOfRetries` times (each attempt with a fresh
//! `invocationId`, see [`TransformBatch::set_invocation_id`]). Record ids returned that were never sent are
//! ignored. The built-in processors' codes (`Decompression.*`, `RecordDeAggregation.*`) are the simulator's own;
//! unreadable input to Decompression / CloudWatchLogProcessing goes to `decompression-failed` with the captured
//! message `Decompression failed.`.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::error_record::{ErrorOutputType, ErrorRecord};
use super::gzip;

/// Default `NumberOfRetries` of a Lambda processor (`ProcessorParameter` documentation).
pub const LAMBDA_NUMBER_OF_RETRIES_DEFAULT: u32 = 3;
/// Largest `NumberOfRetries` (the Firehose console's "0-300" range for transformation retries).
pub const LAMBDA_NUMBER_OF_RETRIES_MAX: u32 = 300;
/// Bytes in one of Firehose's buffering "MB" (buffer hints are binary megabytes).
pub const BYTES_PER_MB: u64 = 1_048_576;
/// Smallest Lambda-processor `BufferSizeInMBs`, 0.2 MB in bytes (`ProcessorParameter` documentation).
pub const LAMBDA_BUFFER_SIZE_BYTES_MIN: u64 = BYTES_PER_MB / 5;
/// Largest Lambda-processor `BufferSizeInMBs`, 3 MB in bytes (`ProcessorParameter` documentation).
pub const LAMBDA_BUFFER_SIZE_BYTES_MAX: u64 = 3 * BYTES_PER_MB;
/// Default Lambda-processor `BufferSizeInMBs`, 1 MB in bytes, for every destination except Splunk.
pub const LAMBDA_BUFFER_SIZE_BYTES_DEFAULT: u64 = BYTES_PER_MB;
/// Default Lambda-processor buffer size for a Splunk destination, 256 KB in bytes.
pub const LAMBDA_BUFFER_SIZE_SPLUNK_BYTES_DEFAULT: u64 = 256 * 1_024;
/// Default Lambda-processor `BufferIntervalInSeconds` (`ProcessorParameter` documentation).
pub const LAMBDA_BUFFER_INTERVAL_SECONDS_DEFAULT: u32 = 60;
/// Smallest Lambda-processor `BufferIntervalInSeconds` (Firehose console range 60..900).
pub const LAMBDA_BUFFER_INTERVAL_SECONDS_MIN: u32 = 60;
/// Largest Lambda-processor `BufferIntervalInSeconds` (Firehose console range 60..900).
pub const LAMBDA_BUFFER_INTERVAL_SECONDS_MAX: u32 = 900;
/// Largest synchronous Lambda response, in bytes: Lambda's invocation payload quota ("6 MB each for request and
/// response (synchronous)"); Lambda reports it as 6291556 bytes in its error message.
pub const LAMBDA_RESPONSE_BYTES_MAX: u64 = 6_291_556;
/// Largest synchronous Lambda request (the invocation event), in bytes; same quota as the response.
pub const LAMBDA_REQUEST_BYTES_MAX: u64 = 6_291_556;
/// Largest value of one processor parameter, in characters (`ProcessorParameterValue` in the service model).
pub const PROCESSOR_PARAMETER_VALUE_CHARS_MAX: u64 = 5_120;
/// Largest decompressed record the Decompression processor produces, in bytes (the simulator's bound against
/// decompression bombs: the Lambda payload quota, since a record must still fit an invocation).
pub const DECOMPRESSED_RECORD_BYTES_MAX: u64 = LAMBDA_REQUEST_BYTES_MAX;

/// `Lambda.FunctionError`: the function raised an error, timed out, or its answer could not be returned.
pub const CODE_FUNCTION_ERROR: &str = "Lambda.FunctionError";
/// Message of [`CODE_FUNCTION_ERROR`].
pub const MESSAGE_FUNCTION_ERROR: &str =
    "The Lambda function was successfully invoked but it returned an error result.";
/// `Lambda.MissingRecordId`: a record id sent to the function did not come back.
pub const CODE_MISSING_RECORD_ID: &str = "Lambda.MissingRecordId";
/// Message of [`CODE_MISSING_RECORD_ID`].
pub const MESSAGE_MISSING_RECORD_ID: &str = "One or more record Ids were not returned. Ensure that the Lambda \
     function returns all received record Ids.";
/// `Lambda.DuplicatedRecordId`: a record id came back more than once.
pub const CODE_DUPLICATED_RECORD_ID: &str = "Lambda.DuplicatedRecordId";
/// Message of [`CODE_DUPLICATED_RECORD_ID`].
pub const MESSAGE_DUPLICATED_RECORD_ID: &str = "Multiple records were returned with the same record ID. Ensure \
     that the Lambda function returns unique record IDs for each record.";
/// Message of [`CODE_FUNCTION_ERROR`] when the answer is JSON but not the status model (no `records`, a record
/// without `recordId`, `result` or `data`, a `result` other than Ok, Dropped or ProcessingFailed, data that is not
/// base64).
pub const MESSAGE_INVALID_OUTPUT: &str = "Check your function and make sure the output is in required format. In \
     addition to that, make sure the processed records contain valid result status of Dropped, Ok, or \
     ProcessingFailed";
/// `Lambda.JsonProcessingException`: the answer is not JSON.
pub const CODE_JSON_PROCESSING: &str = "Lambda.JsonProcessingException";
/// Message of [`CODE_JSON_PROCESSING`].
pub const MESSAGE_JSON_PROCESSING: &str = "There was an error parsing returned records from the Lambda function. \
     Ensure that the returned records follow the status model required by Firehose.";
/// `Lambda.ProcessingFailedStatus`: the function marked the record `ProcessingFailed`.
pub const CODE_PROCESSING_FAILED_STATUS: &str = "Lambda.ProcessingFailedStatus";
/// Message of [`CODE_PROCESSING_FAILED_STATUS`].
pub const MESSAGE_PROCESSING_FAILED_STATUS: &str = "ProcessingFailed status set for record";
/// `Lambda.InvokeLimitExceeded`: Lambda throttled the invocation.
pub const CODE_INVOKE_LIMIT_EXCEEDED: &str = "Lambda.InvokeLimitExceeded";
/// Message of [`CODE_INVOKE_LIMIT_EXCEEDED`].
pub const MESSAGE_INVOKE_LIMIT_EXCEEDED: &str = "The Lambda concurrent execution limit is exceeded. Increase the \
     concurrent execution limit.";

// ------------------------------------------------------------------------------------------------------------
// The Lambda contract
// ------------------------------------------------------------------------------------------------------------

/// Where a record came from when the delivery stream reads a Kinesis data stream: `kinesisRecordMetadata`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KinesisRecordMetadata {
    /// The shard the record was read from.
    pub shard_id: String,
    /// Its partition key.
    pub partition_key: String,
    /// When the stream accepted it, Unix ms (written as ISO 8601 text, as the blueprint shows).
    pub approximate_arrival_unix_ms: u64,
    /// Its sequence number.
    pub sequence_number: String,
    /// Its sub-sequence number in a KPL aggregate; `None` writes `""` as Firehose does for plain records.
    pub subsequence_number: Option<u64>,
}

/// One record handed to the transform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformInput {
    /// The record id Firehose assigned (PutRecord's `RecordId`).
    pub record_id: String,
    /// When Firehose received it, Unix ms.
    pub arrival_unix_ms: u64,
    /// Its bytes.
    pub data: Vec<u8>,
    /// Its Kinesis origin, when the source is a Kinesis data stream.
    pub kinesis: Option<KinesisRecordMetadata>,
}

/// What every invocation of one delivery stream carries besides its records.
#[derive(Clone, Copy, Debug)]
pub struct InvocationContext<'a> {
    /// The delivery stream's ARN.
    pub delivery_stream_arn: &'a str,
    /// The region, e.g. `us-east-1`.
    pub region: &'a str,
    /// The source stream's ARN when the source is a Kinesis data stream (`sourceKinesisStreamArn`).
    pub source_kinesis_stream_arn: Option<&'a str>,
}

fn json_string(text: &str) -> String {
    // Serialising a string cannot fail; the fallback keeps the event valid JSON all the same.
    serde_json::to_string(text).unwrap_or_else(|_| String::from("\"\""))
}

/// One entry of an invocation's `records`, in the key order Firehose writes.
pub fn record_entry_json(record: &TransformInput) -> String {
    let mut out = format!(
        "{{\"recordId\":{},\"approximateArrivalTimestamp\":{},\"data\":\"{}\"",
        json_string(&record.record_id),
        record.arrival_unix_ms,
        STANDARD.encode(&record.data)
    );
    if let Some(k) = &record.kinesis {
        let subsequence = k
            .subsequence_number
            .map_or_else(|| "\"\"".to_string(), |n| n.to_string());
        out.push_str(&format!(
            ",\"kinesisRecordMetadata\":{{\"shardId\":{},\"partitionKey\":{},\
             \"approximateArrivalTimestamp\":\"{}\",\"sequenceNumber\":{},\"subsequenceNumber\":{}}}",
            json_string(&k.shard_id),
            json_string(&k.partition_key),
            crate::sim::time::format_unix_ms_iso8601(k.approximate_arrival_unix_ms),
            json_string(&k.sequence_number),
            subsequence,
        ));
    }
    out.push('}');
    out
}

/// The whole invocation event: `{invocationId, [sourceKinesisStreamArn,] deliveryStreamArn, region, records}`.
pub fn request_json(
    ctx: &InvocationContext<'_>,
    invocation_id: &str,
    records: &[TransformInput],
) -> String {
    let entries: Vec<String> = records.iter().map(record_entry_json).collect();
    let source = ctx
        .source_kinesis_stream_arn
        .map_or_else(String::new, |arn| {
            format!("\"sourceKinesisStreamArn\":{},", json_string(arn))
        });
    format!(
        "{{\"invocationId\":{},{source}\"deliveryStreamArn\":{},\"region\":{},\"records\":[{}]}}",
        json_string(invocation_id),
        json_string(ctx.delivery_stream_arn),
        json_string(ctx.region),
        entries.join(",")
    )
}

/// Bytes one record adds to an invocation event (for splitting batches under the payload quota).
pub fn record_entry_bytes(record: &TransformInput) -> u64 {
    u64::try_from(record_entry_json(record).len()).unwrap_or(u64::MAX)
}

/// Splits records, in order, into invocation batches: each batch holds at most `buffer_size_bytes` of record data
/// (the processor's `BufferSizeInMBs`) and its event stays within [`LAMBDA_REQUEST_BYTES_MAX`]. A record larger
/// than either bound travels alone.
pub fn split_into_batches(
    records: Vec<TransformInput>,
    buffer_size_bytes: u64,
) -> Vec<Vec<TransformInput>> {
    // Room for the envelope (ids, ARNs, region): generous, since ARNs are at most a few hundred bytes.
    const ENVELOPE_BYTES: u64 = 4_096;
    let mut batches = Vec::new();
    let mut current: Vec<TransformInput> = Vec::new();
    let (mut data_bytes, mut event_bytes) = (0u64, ENVELOPE_BYTES);
    for record in records {
        let size = u64::try_from(record.data.len()).unwrap_or(u64::MAX);
        let entry = record_entry_bytes(&record).saturating_add(1);
        if !current.is_empty()
            && (data_bytes.saturating_add(size) > buffer_size_bytes
                || event_bytes.saturating_add(entry) > LAMBDA_REQUEST_BYTES_MAX)
        {
            batches.push(std::mem::take(&mut current));
            data_bytes = 0;
            event_bytes = ENVELOPE_BYTES;
        }
        data_bytes = data_bytes.saturating_add(size);
        event_bytes = event_bytes.saturating_add(entry);
        current.push(record);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// The `result` of a returned record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransformResult {
    /// `Ok`: transformed; its data is delivered.
    Ok,
    /// `Dropped`: intentionally dropped; counts as successfully processed.
    Dropped,
    /// `ProcessingFailed`: goes to `processing-failed/`.
    ProcessingFailed,
}

impl TransformResult {
    /// The status model's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TransformResult::Ok => "Ok",
            TransformResult::Dropped => "Dropped",
            TransformResult::ProcessingFailed => "ProcessingFailed",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "Ok" => Some(TransformResult::Ok),
            "Dropped" => Some(TransformResult::Dropped),
            "ProcessingFailed" => Some(TransformResult::ProcessingFailed),
            _ => None,
        }
    }
}

/// One record of a valid answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnedRecord {
    /// The record id (one of those sent).
    pub record_id: String,
    /// Its status.
    pub result: TransformResult,
    /// Its transformed bytes (decoded from base64; empty when `data` was absent on a non-Ok record).
    pub data: Vec<u8>,
    /// `metadata.partitionKeys`, for `!{partitionKeyFromLambda:KEY}` (values written as text).
    pub partition_keys: BTreeMap<String, String>,
}

/// Why a whole invocation failed; the batch is retried, then every record goes to `processing-failed/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvocationError {
    /// `Lambda.*` error code.
    pub code: &'static str,
    /// The message written to the error documents.
    pub message: String,
}

impl InvocationError {
    fn new(code: &'static str, message: &str) -> Self {
        InvocationError {
            code,
            message: message.to_string(),
        }
    }
}

fn json_error() -> InvocationError {
    InvocationError::new(CODE_JSON_PROCESSING, MESSAGE_JSON_PROCESSING)
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Validates a function's answer against the record ids sent, following the status model: `result` one of `Ok`,
/// `Dropped`, `ProcessingFailed`; `recordId`, `result` and base64 `data` on every record; optional
/// `metadata.partitionKeys` an object of scalars; no id twice; the whole answer within
/// [`LAMBDA_RESPONSE_BYTES_MAX`]. An `Err` fails the invocation. Otherwise one entry per sent id, in the order of
/// `sent_ids` whatever order the function used: `None` for an id that did not come back (that record fails with
/// `Lambda.MissingRecordId`). Ids that were never sent are ignored.
pub fn read_response(
    body: &[u8],
    sent_ids: &[&str],
) -> Result<Vec<Option<ReturnedRecord>>, InvocationError> {
    if u64::try_from(body.len()).unwrap_or(u64::MAX) > LAMBDA_RESPONSE_BYTES_MAX {
        // Lambda itself refuses to return it, so Firehose sees a failed invocation.
        return Err(InvocationError::new(
            CODE_FUNCTION_ERROR,
            MESSAGE_FUNCTION_ERROR,
        ));
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| json_error())?;
    let invalid = || InvocationError::new(CODE_FUNCTION_ERROR, MESSAGE_INVALID_OUTPUT);
    let Some(Value::Array(records)) = value.get("records") else {
        return Err(invalid());
    };
    let sent: BTreeSet<&str> = sent_ids.iter().copied().collect();
    let mut by_id: BTreeMap<String, ReturnedRecord> = BTreeMap::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for entry in records {
        let Some(Value::String(id)) = entry.get("recordId") else {
            return Err(invalid());
        };
        if id.is_empty() {
            return Err(invalid());
        }
        let Some(result) = entry
            .get("result")
            .and_then(Value::as_str)
            .and_then(TransformResult::parse)
        else {
            return Err(invalid());
        };
        let Some(Value::String(text)) = entry.get("data") else {
            return Err(invalid());
        };
        let data = STANDARD.decode(text).map_err(|_| invalid())?;
        let mut partition_keys = BTreeMap::new();
        if let Some(metadata) = entry.get("metadata").filter(|m| !m.is_null()) {
            match metadata.get("partitionKeys") {
                None | Some(Value::Null) => {}
                Some(Value::Object(keys)) => {
                    for (k, v) in keys {
                        partition_keys.insert(k.clone(), scalar_text(v).ok_or_else(invalid)?);
                    }
                }
                Some(_) => return Err(invalid()),
            }
        }
        if !seen.insert(id.clone()) {
            return Err(InvocationError::new(
                CODE_DUPLICATED_RECORD_ID,
                MESSAGE_DUPLICATED_RECORD_ID,
            ));
        }
        if sent.contains(id.as_str()) {
            by_id.insert(
                id.clone(),
                ReturnedRecord {
                    record_id: id.clone(),
                    result,
                    data,
                    partition_keys,
                },
            );
        }
    }
    Ok(sent_ids.iter().map(|id| by_id.remove(*id)).collect())
}

/// How one invocation ended, as the shell reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvocationOutcome<'a> {
    /// The function returned this body.
    Returned(&'a [u8]),
    /// The function raised an error, crashed or ran past its time limit.
    FunctionError,
    /// Lambda throttled the call.
    Throttled,
}

/// What became of one record after the transform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Deliver these bytes (with the partition keys the function returned, if any).
    Ok {
        /// The transformed bytes.
        data: Vec<u8>,
        /// `metadata.partitionKeys` from the function.
        partition_keys: BTreeMap<String, String>,
    },
    /// Dropped on purpose: nothing to deliver, nothing failed.
    Dropped,
    /// Goes to `processing-failed/` as this document.
    Failed(ErrorRecord),
}

/// One record after the transform, with its id and arrival time (delivery keeps both).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessedRecord {
    /// The record id.
    pub record_id: String,
    /// When Firehose received it, Unix ms.
    pub arrival_unix_ms: u64,
    /// What became of it.
    pub outcome: RecordOutcome,
}

/// What a batch wants after an invocation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchStep {
    /// Invoke again with the same event (same `invocationId`, same records).
    Retry,
    /// Done: one entry per record, in the order the records came in.
    Finished(Vec<ProcessedRecord>),
}

/// One batch of records on its way through a Lambda processor, with its retry count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformBatch {
    invocation_id: String,
    lambda_arn: String,
    records: Vec<TransformInput>,
    attempts_made: u32,
    number_of_retries: u32,
}

impl TransformBatch {
    /// A batch for the function `lambda_arn` (written into error documents; Firehose writes the qualified ARN,
    /// e.g. `...:function:name:$LATEST`) that may be retried `number_of_retries` times after its first attempt.
    pub fn new(
        invocation_id: &str,
        lambda_arn: &str,
        records: Vec<TransformInput>,
        number_of_retries: u32,
    ) -> Self {
        TransformBatch {
            invocation_id: invocation_id.to_string(),
            lambda_arn: lambda_arn.to_string(),
            records,
            attempts_made: 0,
            number_of_retries: number_of_retries.min(LAMBDA_NUMBER_OF_RETRIES_MAX),
        }
    }

    /// The invocation id of the next attempt.
    pub fn invocation_id(&self) -> &str {
        &self.invocation_id
    }

    /// Sets the invocation id of the next attempt: Firehose gives every attempt a fresh `invocationId` while the
    /// record ids and data stay the same.
    pub fn set_invocation_id(&mut self, invocation_id: &str) {
        self.invocation_id = invocation_id.to_string();
    }

    /// The records of the batch.
    pub fn records(&self) -> &[TransformInput] {
        &self.records
    }

    /// Invocations made so far.
    pub fn attempts_made(&self) -> u32 {
        self.attempts_made
    }

    /// The event to invoke the function with.
    pub fn request_json(&self, ctx: &InvocationContext<'_>) -> String {
        request_json(ctx, &self.invocation_id, &self.records)
    }

    /// Takes how an invocation ended at `now_unix_ms`: a valid answer finishes the batch; a failed invocation or
    /// an invalid answer is retried while retries remain, then every record fails with that error.
    pub fn complete(&mut self, outcome: InvocationOutcome<'_>, now_unix_ms: u64) -> BatchStep {
        self.attempts_made = self.attempts_made.saturating_add(1);
        let answer = match outcome {
            InvocationOutcome::Returned(body) => {
                let ids: Vec<&str> = self.records.iter().map(|r| r.record_id.as_str()).collect();
                read_response(body, &ids)
            }
            InvocationOutcome::FunctionError => Err(InvocationError::new(
                CODE_FUNCTION_ERROR,
                MESSAGE_FUNCTION_ERROR,
            )),
            InvocationOutcome::Throttled => Err(InvocationError::new(
                CODE_INVOKE_LIMIT_EXCEEDED,
                MESSAGE_INVOKE_LIMIT_EXCEEDED,
            )),
        };
        match answer {
            Ok(returned) => BatchStep::Finished(
                self.records
                    .iter()
                    .zip(returned)
                    .map(|(input, back)| ProcessedRecord {
                        record_id: input.record_id.clone(),
                        arrival_unix_ms: input.arrival_unix_ms,
                        outcome: self.outcome(input, back, now_unix_ms),
                    })
                    .collect(),
            ),
            Err(_) if self.attempts_made <= self.number_of_retries => BatchStep::Retry,
            Err(error) => BatchStep::Finished(
                self.records
                    .iter()
                    .map(|input| ProcessedRecord {
                        record_id: input.record_id.clone(),
                        arrival_unix_ms: input.arrival_unix_ms,
                        outcome: RecordOutcome::Failed(self.error_record(
                            input,
                            error.code,
                            &error.message,
                            now_unix_ms,
                        )),
                    })
                    .collect(),
            ),
        }
    }

    /// Runs the batch to the end synchronously with `function` standing in for Lambda (natively, in tests, or with
    /// the browser's isolated worker behind it): each attempt gets the event JSON and ends at `now_unix_ms`.
    /// `Ok(body)` is a returned answer, `Err(())` a function error.
    pub fn run_with<F>(
        &mut self,
        ctx: &InvocationContext<'_>,
        now_unix_ms: u64,
        mut function: F,
    ) -> Vec<ProcessedRecord>
    where
        F: FnMut(&str) -> Result<Vec<u8>, ()>,
    {
        loop {
            let event = self.request_json(ctx);
            let answer = function(&event);
            let outcome = match &answer {
                Ok(body) => InvocationOutcome::Returned(body),
                Err(()) => InvocationOutcome::FunctionError,
            };
            if let BatchStep::Finished(out) = self.complete(outcome, now_unix_ms) {
                return out;
            }
        }
    }

    fn outcome(
        &self,
        input: &TransformInput,
        back: Option<ReturnedRecord>,
        now_unix_ms: u64,
    ) -> RecordOutcome {
        let Some(back) = back else {
            return RecordOutcome::Failed(self.error_record(
                input,
                CODE_MISSING_RECORD_ID,
                MESSAGE_MISSING_RECORD_ID,
                now_unix_ms,
            ));
        };
        match back.result {
            TransformResult::Ok => RecordOutcome::Ok {
                data: back.data,
                partition_keys: back.partition_keys,
            },
            TransformResult::Dropped => RecordOutcome::Dropped,
            TransformResult::ProcessingFailed => RecordOutcome::Failed(self.error_record(
                input,
                CODE_PROCESSING_FAILED_STATUS,
                MESSAGE_PROCESSING_FAILED_STATUS,
                now_unix_ms,
            )),
        }
    }

    fn error_record(
        &self,
        input: &TransformInput,
        code: &str,
        message: &str,
        now_unix_ms: u64,
    ) -> ErrorRecord {
        let mut record = ErrorRecord::new(
            self.attempts_made,
            input.arrival_unix_ms,
            code,
            message,
            now_unix_ms,
            &input.data,
        );
        record.lambda_arn = Some(self.lambda_arn.clone());
        record
    }
}

// ------------------------------------------------------------------------------------------------------------
// ProcessingConfiguration and the built-in processors
// ------------------------------------------------------------------------------------------------------------

/// The `ProcessorType` values of the service model.
pub const PROCESSOR_TYPES: [&str; 6] = [
    "RecordDeAggregation",
    "Decompression",
    "CloudWatchLogProcessing",
    "Lambda",
    "MetadataExtraction",
    "AppendDelimiterToRecord",
];
/// The `ProcessorParameterName` values of the service model.
pub const PROCESSOR_PARAMETER_NAMES: [&str; 11] = [
    "LambdaArn",
    "NumberOfRetries",
    "MetadataExtractionQuery",
    "JsonParsingEngine",
    "RoleArn",
    "BufferSizeInMBs",
    "BufferIntervalInSeconds",
    "SubRecordType",
    "Delimiter",
    "CompressionFormat",
    "DataMessageExtraction",
];
/// The only `JsonParsingEngine` Firehose offers for MetadataExtraction.
pub const JSON_PARSING_ENGINE_JQ: &str = "JQ-1.6";

/// A Lambda processor's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LambdaProcessor {
    /// `LambdaArn`.
    pub lambda_arn: String,
    /// `NumberOfRetries` (default 3).
    pub number_of_retries: u32,
    /// `BufferSizeInMBs` in bytes (default 1 MB).
    pub buffer_size_bytes: u64,
    /// `BufferIntervalInSeconds` (default 60).
    pub buffer_interval_seconds: u32,
    /// `RoleArn`, when given.
    pub role_arn: Option<String>,
}

/// How RecordDeAggregation splits a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubRecordType {
    /// `JSON`: the record is JSON objects one after another (`{..}{..}` or newline separated).
    Json,
    /// `DELIMITED`: the record is sub-records separated by this delimiter (given base64-encoded).
    Delimited(Vec<u8>),
}

/// One processor of a `ProcessingConfiguration`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Processor {
    /// `Lambda`.
    Lambda(LambdaProcessor),
    /// `AppendDelimiterToRecord` with its delimiter (default `\n`).
    AppendDelimiterToRecord {
        /// The bytes appended to every record.
        delimiter: Vec<u8>,
    },
    /// `Decompression` with `CompressionFormat` `GZIP` (the only format).
    Decompression,
    /// `CloudWatchLogProcessing`.
    CloudWatchLogProcessing {
        /// `DataMessageExtraction`: deliver only the log events' messages.
        data_message_extraction: bool,
    },
    /// `RecordDeAggregation`.
    RecordDeAggregation(SubRecordType),
    /// `MetadataExtraction` (dynamic partitioning; see [`crate::firehose::partition`]).
    MetadataExtraction {
        /// `MetadataExtractionQuery`, a jq program such as `{customer_id:.customer_id}`.
        query: String,
        /// `JsonParsingEngine` (always `JQ-1.6`).
        json_parsing_engine: String,
    },
}

/// A parsed `ProcessingConfiguration`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProcessingConfiguration {
    /// `Enabled` (absent means false).
    pub enabled: bool,
    /// The processors, in the order given.
    pub processors: Vec<Processor>,
}

/// A configuration Firehose would refuse, with AWS's error type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// `ValidationException` (shape constraints) or `InvalidArgumentException` (semantic checks).
    pub error_type: &'static str,
    /// The message.
    pub message: String,
}

fn invalid(message: String) -> ConfigError {
    ConfigError {
        error_type: "InvalidArgumentException",
        message,
    }
}

fn enum_violation(value: &str, path: &str, allowed: &[&str]) -> ConfigError {
    ConfigError {
        error_type: "ValidationException",
        message: format!(
            "1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: Member must \
             satisfy enum value set: [{}]",
            allowed.join(", ")
        ),
    }
}

/// Parses a decimal such as `0.2` or `3` (MB) into bytes without floats; `None` when it is not a plain decimal.
fn decimal_mb_to_bytes(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let fraction = &fraction[..fraction.len().min(6)];
    let scale = 10u64.pow(u32::try_from(fraction.len()).ok()?);
    let fraction: u64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    whole
        .checked_mul(BYTES_PER_MB)?
        .checked_add(fraction.checked_mul(BYTES_PER_MB)? / scale)
}

/// Reads `\n`, `\t`, `\r` and `\\` escapes of an AppendDelimiterToRecord `Delimiter`.
fn unescape_delimiter(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push(b'\n'),
                Some('t') => out.push(b'\t'),
                Some('r') => out.push(b'\r'),
                Some('\\') => out.push(b'\\'),
                Some(other) => {
                    out.push(b'\\');
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                }
                None => out.push(b'\\'),
            }
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    out
}

impl ProcessingConfiguration {
    /// Parses AWS's JSON shape (`{"Enabled":true,"Processors":[{"Type":"Lambda","Parameters":[{"ParameterName":
    /// "LambdaArn","ParameterValue":"arn:..."}]}]}`). `path` is where the configuration sits in the request
    /// (e.g. `extendedS3DestinationConfiguration.processingConfiguration`), for validation messages.
    pub fn from_json(value: &Value, path: &str) -> Result<Self, ConfigError> {
        let enabled = match value.get("Enabled") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(invalid(format!("Enabled must be a boolean, got {other}")));
            }
        };
        let mut processors = Vec::new();
        let list = match value.get("Processors") {
            None | Some(Value::Null) => &Vec::new(),
            Some(Value::Array(list)) => list,
            Some(_) => return Err(invalid("Processors must be a list".into())),
        };
        for (index, entry) in list.iter().enumerate() {
            let at = format!("{path}.processors.{}.member", index + 1);
            processors.push(parse_processor(entry, &at)?);
        }
        let lambdas = processors
            .iter()
            .filter(|p| matches!(p, Processor::Lambda(_)))
            .count();
        if lambdas > 1 {
            return Err(invalid(
                "Only one Lambda processor is allowed in a processing configuration.".into(),
            ));
        }
        Ok(ProcessingConfiguration {
            enabled,
            processors,
        })
    }

    /// The Lambda processor, when processing is enabled and has one.
    pub fn lambda(&self) -> Option<&LambdaProcessor> {
        if !self.enabled {
            return None;
        }
        self.processors.iter().find_map(|p| match p {
            Processor::Lambda(l) => Some(l),
            _ => None,
        })
    }

    /// The MetadataExtraction query, when processing is enabled and has one.
    pub fn metadata_extraction_query(&self) -> Option<&str> {
        if !self.enabled {
            return None;
        }
        self.processors.iter().find_map(|p| match p {
            Processor::MetadataExtraction { query, .. } => Some(query.as_str()),
            _ => None,
        })
    }

    /// Runs the built-in processors that come before the Lambda function (Decompression, then
    /// CloudWatchLogProcessing, then RecordDeAggregation) on one record. One record may become several (log
    /// events, sub-records) or none (a CloudWatch Logs control message).
    pub fn before_lambda(&self, data: &[u8]) -> Result<Vec<Vec<u8>>, ProcessorError> {
        let mut records = vec![data.to_vec()];
        if !self.enabled {
            return Ok(records);
        }
        for stage in 0..3 {
            for processor in &self.processors {
                let wanted = matches!(
                    (stage, processor),
                    (0, Processor::Decompression)
                        | (1, Processor::CloudWatchLogProcessing { .. })
                        | (2, Processor::RecordDeAggregation(_))
                );
                if !wanted {
                    continue;
                }
                let mut next = Vec::new();
                for record in &records {
                    next.extend(apply_builtin(processor, record)?);
                }
                records = next;
            }
        }
        Ok(records)
    }

    /// Runs the built-in processors that come after the Lambda function (AppendDelimiterToRecord) on one record.
    pub fn after_lambda(&self, data: &[u8]) -> Vec<u8> {
        let mut out = data.to_vec();
        if !self.enabled {
            return out;
        }
        for processor in &self.processors {
            if let Processor::AppendDelimiterToRecord { delimiter } = processor {
                out.extend_from_slice(delimiter);
            }
        }
        out
    }
}

fn parse_processor(entry: &Value, at: &str) -> Result<Processor, ConfigError> {
    let kind = match entry.get("Type") {
        Some(Value::String(t)) => t.as_str(),
        _ => {
            return Err(invalid(format!(
                "Processor Type is required at '{at}.type'"
            )));
        }
    };
    if !PROCESSOR_TYPES.contains(&kind) {
        return Err(enum_violation(
            kind,
            &format!("{at}.type"),
            &PROCESSOR_TYPES,
        ));
    }
    let mut params: BTreeMap<&str, &str> = BTreeMap::new();
    if let Some(Value::Array(list)) = entry.get("Parameters") {
        for (i, p) in list.iter().enumerate() {
            let name = p.get("ParameterName").and_then(Value::as_str).unwrap_or("");
            let value = p
                .get("ParameterValue")
                .and_then(Value::as_str)
                .unwrap_or("");
            let p_at = format!("{at}.parameters.{}.member", i + 1);
            if !PROCESSOR_PARAMETER_NAMES.contains(&name) {
                return Err(enum_violation(
                    name,
                    &format!("{p_at}.parameterName"),
                    &PROCESSOR_PARAMETER_NAMES,
                ));
            }
            let chars = u64::try_from(value.chars().count()).unwrap_or(u64::MAX);
            if value.trim().is_empty() || chars > PROCESSOR_PARAMETER_VALUE_CHARS_MAX {
                return Err(ConfigError {
                    error_type: "ValidationException",
                    message: format!(
                        "1 validation error detected: Value '{value}' at '{p_at}.parameterValue' failed to satisfy \
                         constraint: Member must have length less than or equal to \
                         {PROCESSOR_PARAMETER_VALUE_CHARS_MAX} and a non-blank value"
                    ),
                });
            }
            if params.insert(name, value).is_some() {
                return Err(invalid(format!(
                    "Duplicate processor parameter {name} for processor type {kind}."
                )));
            }
        }
    }
    let allowed: &[&str] = match kind {
        "Lambda" => &[
            "LambdaArn",
            "NumberOfRetries",
            "RoleArn",
            "BufferSizeInMBs",
            "BufferIntervalInSeconds",
        ],
        "AppendDelimiterToRecord" => &["Delimiter"],
        "Decompression" => &["CompressionFormat"],
        "CloudWatchLogProcessing" => &["DataMessageExtraction"],
        "RecordDeAggregation" => &["SubRecordType", "Delimiter"],
        _ => &["MetadataExtractionQuery", "JsonParsingEngine"],
    };
    if let Some(name) = params.keys().find(|n| !allowed.contains(n)) {
        return Err(invalid(format!(
            "Processor parameter {name} is not supported for processor type {kind}."
        )));
    }
    let number = |name: &str, default: u32, lo: u32, hi: u32| -> Result<u32, ConfigError> {
        match params.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (lo..=hi).contains(n))
                .ok_or_else(|| {
                    invalid(format!(
                        "Processor parameter {name} must be an integer between {lo} and {hi}, got '{text}'."
                    ))
                }),
        }
    };
    match kind {
        "Lambda" => {
            let Some(arn) = params.get("LambdaArn") else {
                return Err(invalid(
                    "Processor parameter LambdaArn is required for processor type Lambda.".into(),
                ));
            };
            let buffer_size_bytes = match params.get("BufferSizeInMBs") {
                None => LAMBDA_BUFFER_SIZE_BYTES_DEFAULT,
                Some(text) => decimal_mb_to_bytes(text)
                    .filter(|b| (LAMBDA_BUFFER_SIZE_BYTES_MIN..=LAMBDA_BUFFER_SIZE_BYTES_MAX).contains(b))
                    .ok_or_else(|| {
                        invalid(format!(
                            "Processor parameter BufferSizeInMBs must be between 0.2 and 3, got '{text}'."
                        ))
                    })?,
            };
            Ok(Processor::Lambda(LambdaProcessor {
                lambda_arn: (*arn).to_string(),
                number_of_retries: number(
                    "NumberOfRetries",
                    LAMBDA_NUMBER_OF_RETRIES_DEFAULT,
                    0,
                    LAMBDA_NUMBER_OF_RETRIES_MAX,
                )?,
                buffer_size_bytes,
                buffer_interval_seconds: number(
                    "BufferIntervalInSeconds",
                    LAMBDA_BUFFER_INTERVAL_SECONDS_DEFAULT,
                    LAMBDA_BUFFER_INTERVAL_SECONDS_MIN,
                    LAMBDA_BUFFER_INTERVAL_SECONDS_MAX,
                )?,
                role_arn: params.get("RoleArn").map(|s| (*s).to_string()),
            }))
        }
        "AppendDelimiterToRecord" => Ok(Processor::AppendDelimiterToRecord {
            delimiter: params
                .get("Delimiter")
                .map_or_else(|| b"\n".to_vec(), |d| unescape_delimiter(d)),
        }),
        "Decompression" => match params.get("CompressionFormat").copied().unwrap_or("GZIP") {
            "GZIP" => Ok(Processor::Decompression),
            other => Err(invalid(format!(
                "Processor parameter CompressionFormat must be GZIP, got '{other}'."
            ))),
        },
        "CloudWatchLogProcessing" => {
            match params
                .get("DataMessageExtraction")
                .copied()
                .unwrap_or("false")
            {
                "true" => Ok(Processor::CloudWatchLogProcessing {
                    data_message_extraction: true,
                }),
                "false" => Ok(Processor::CloudWatchLogProcessing {
                    data_message_extraction: false,
                }),
                other => Err(invalid(format!(
                    "Processor parameter DataMessageExtraction must be true or false, got '{other}'."
                ))),
            }
        }
        "RecordDeAggregation" => match params.get("SubRecordType").copied().unwrap_or("JSON") {
            "JSON" => Ok(Processor::RecordDeAggregation(SubRecordType::Json)),
            "DELIMITED" => {
                let Some(encoded) = params.get("Delimiter") else {
                    return Err(invalid(
                        "Processor parameter Delimiter is required when SubRecordType is DELIMITED.".into(),
                    ));
                };
                let delimiter = STANDARD
                    .decode(encoded)
                    .ok()
                    .filter(|d| !d.is_empty())
                    .ok_or_else(|| {
                        invalid(format!(
                            "Processor parameter Delimiter must be a base64-encoded delimiter, got '{encoded}'."
                        ))
                    })?;
                Ok(Processor::RecordDeAggregation(SubRecordType::Delimited(
                    delimiter,
                )))
            }
            other => Err(invalid(format!(
                "Processor parameter SubRecordType must be JSON or DELIMITED, got '{other}'."
            ))),
        },
        _ => {
            let Some(query) = params.get("MetadataExtractionQuery") else {
                return Err(invalid(
                    "Processor parameter MetadataExtractionQuery is required for processor type \
                     MetadataExtraction."
                        .into(),
                ));
            };
            let engine = params
                .get("JsonParsingEngine")
                .copied()
                .unwrap_or(JSON_PARSING_ENGINE_JQ);
            if engine != JSON_PARSING_ENGINE_JQ {
                return Err(invalid(format!(
                    "Processor parameter JsonParsingEngine must be {JSON_PARSING_ENGINE_JQ}, got '{engine}'."
                )));
            }
            Ok(Processor::MetadataExtraction {
                query: (*query).to_string(),
                json_parsing_engine: engine.to_string(),
            })
        }
    }
}

/// Why a built-in processor failed for a record; the record goes to the error prefix [`ProcessorError::output`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessorError {
    /// The simulator's error code (AWS does not document the built-in processors' codes).
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
    /// `decompression-failed` for Decompression and CloudWatchLogProcessing, `processing-failed` otherwise.
    pub output: ErrorOutputType,
}

/// The message of a record Decompression or CloudWatchLogProcessing could not read (as captured from the service).
pub const MESSAGE_DECOMPRESSION_FAILED: &str = "Decompression failed.";

impl ProcessorError {
    fn processing(code: &'static str, message: String) -> Self {
        ProcessorError {
            code,
            message,
            output: ErrorOutputType::ProcessingFailed,
        }
    }

    fn decompression(code: &'static str) -> Self {
        ProcessorError {
            code,
            message: MESSAGE_DECOMPRESSION_FAILED.into(),
            output: ErrorOutputType::DecompressionFailed,
        }
    }

    /// The `processing-failed` document for a record this processor failed on.
    pub fn error_record(&self, arrival_unix_ms: u64, now_unix_ms: u64, raw: &[u8]) -> ErrorRecord {
        ErrorRecord::new(
            1,
            arrival_unix_ms,
            self.code,
            &self.message,
            now_unix_ms,
            raw,
        )
    }
}

/// The CloudWatch Logs messageType of data.
pub const CLOUDWATCH_DATA_MESSAGE: &str = "DATA_MESSAGE";
/// The CloudWatch Logs messageType of the health checks Firehose drops.
pub const CLOUDWATCH_CONTROL_MESSAGE: &str = "CONTROL_MESSAGE";

/// Applies one built-in processor to one record. Lambda and MetadataExtraction pass the record through (they run
/// elsewhere). See [`ProcessingConfiguration::before_lambda`] for the order Firehose uses.
pub fn apply_builtin(processor: &Processor, data: &[u8]) -> Result<Vec<Vec<u8>>, ProcessorError> {
    match processor {
        Processor::Lambda(_) | Processor::MetadataExtraction { .. } => Ok(vec![data.to_vec()]),
        Processor::AppendDelimiterToRecord { delimiter } => {
            let mut out = data.to_vec();
            out.extend_from_slice(delimiter);
            Ok(vec![out])
        }
        Processor::Decompression => gzip::decompress(data, DECOMPRESSED_RECORD_BYTES_MAX)
            .map(|d| vec![d])
            .map_err(|_| ProcessorError::decompression("Decompression.InvalidGzip")),
        Processor::CloudWatchLogProcessing {
            data_message_extraction,
        } => cloudwatch_log_processing(data, *data_message_extraction),
        Processor::RecordDeAggregation(kind) => deaggregate(data, kind),
    }
}

/// CloudWatchLogProcessing on a decompressed subscription message: a `CONTROL_MESSAGE` becomes no record (captures
/// of the service show an empty record instead, which delivers no bytes either); a `DATA_MESSAGE` stays one
/// record, with `DataMessageExtraction` holding only its log events' messages, each followed by a newline.
pub fn cloudwatch_log_processing(
    data: &[u8],
    data_message_extraction: bool,
) -> Result<Vec<Vec<u8>>, ProcessorError> {
    let fail = || ProcessorError::decompression("CloudWatchLogProcessing.InvalidMessage");
    let value: Value = serde_json::from_slice(data).map_err(|_| fail())?;
    match value.get("messageType").and_then(Value::as_str) {
        Some(CLOUDWATCH_CONTROL_MESSAGE) => Ok(Vec::new()),
        Some(CLOUDWATCH_DATA_MESSAGE) => {
            if !data_message_extraction {
                return Ok(vec![data.to_vec()]);
            }
            let Some(Value::Array(events)) = value.get("logEvents") else {
                return Err(fail());
            };
            let mut out = Vec::new();
            for event in events {
                let message = event
                    .get("message")
                    .and_then(Value::as_str)
                    .ok_or_else(fail)?;
                out.extend_from_slice(message.as_bytes());
                out.push(b'\n');
            }
            Ok(vec![out])
        }
        _ => Err(fail()),
    }
}

/// RecordDeAggregation: splits concatenated JSON objects (whitespace between them allowed) or delimited
/// sub-records. Empty delimited pieces are skipped.
pub fn deaggregate(data: &[u8], kind: &SubRecordType) -> Result<Vec<Vec<u8>>, ProcessorError> {
    match kind {
        SubRecordType::Json => {
            let mut out = Vec::new();
            let stream = serde_json::Deserializer::from_slice(data).into_iter::<Value>();
            let mut start = 0usize;
            let mut stream = stream;
            while let Some(next) = stream.next() {
                let value = next.map_err(|e| {
                    ProcessorError::processing(
                        "RecordDeAggregation.InvalidJson",
                        format!("The record is not a sequence of JSON objects: {e}."),
                    )
                })?;
                if !value.is_object() {
                    return Err(ProcessorError::processing(
                        "RecordDeAggregation.InvalidJson",
                        "The record is not a sequence of JSON objects: a value is not an object."
                            .into(),
                    ));
                }
                let end = stream.byte_offset();
                let piece = data.get(start..end).unwrap_or(&[]);
                out.push(trim_ascii(piece).to_vec());
                start = end;
            }
            Ok(out)
        }
        SubRecordType::Delimited(delimiter) => {
            if delimiter.is_empty() {
                return Ok(vec![data.to_vec()]);
            }
            let mut out = Vec::new();
            let mut rest = data;
            while let Some(at) = find(rest, delimiter) {
                if at > 0 {
                    out.push(rest[..at].to_vec());
                }
                rest = &rest[at + delimiter.len()..];
            }
            if !rest.is_empty() {
                out.push(rest.to_vec());
            }
            Ok(out)
        }
    }
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    bytes.get(start..end).unwrap_or(&[])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The simulator's "keep JSON fields" processor (not an AWS processor type; the training UI offers it as a
/// built-in transform): the record as a JSON object holding only `fields`, in the order given, missing ones
/// skipped.
pub fn keep_json_fields(data: &[u8], fields: &[&str]) -> Result<Vec<u8>, ProcessorError> {
    let not_object = || {
        ProcessorError::processing(
            "KeepJsonFields.InvalidJson",
            "The record is not a JSON object.".into(),
        )
    };
    let value: Value = serde_json::from_slice(data).map_err(|_| not_object())?;
    let Value::Object(map) = value else {
        return Err(not_object());
    };
    let mut parts = Vec::new();
    for field in fields {
        if let Some(v) = map.get(*field) {
            parts.push(format!("{}:{}", json_string(field), v));
        }
    }
    Ok(format!("{{{}}}", parts.join(",")).into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(id: &str, data: &[u8]) -> TransformInput {
        TransformInput {
            record_id: id.into(),
            arrival_unix_ms: 1_000,
            data: data.to_vec(),
            kinesis: None,
        }
    }

    #[test]
    fn request_has_firehose_shape_and_kinesis_metadata() {
        let ctx = InvocationContext {
            delivery_stream_arn: "arn:aws:firehose:us-east-1:000000000000:deliverystream/d",
            region: "us-east-1",
            source_kinesis_stream_arn: Some("arn:aws:kinesis:us-east-1:000000000000:stream/s"),
        };
        let mut r = input("1", b"hi");
        r.kinesis = Some(KinesisRecordMetadata {
            shard_id: "shardId-000000000000".into(),
            partition_key: "pk".into(),
            approximate_arrival_unix_ms: 1_767_225_600_000,
            sequence_number: "42".into(),
            subsequence_number: None,
        });
        let json = request_json(&ctx, "inv-1", &[r]);
        assert_eq!(
            json,
            "{\"invocationId\":\"inv-1\",\"sourceKinesisStreamArn\":\"arn:aws:kinesis:us-east-1:000000000000:stream/s\",\
             \"deliveryStreamArn\":\"arn:aws:firehose:us-east-1:000000000000:deliverystream/d\",\"region\":\"us-east-1\",\
             \"records\":[{\"recordId\":\"1\",\"approximateArrivalTimestamp\":1000,\"data\":\"aGk=\",\
             \"kinesisRecordMetadata\":{\"shardId\":\"shardId-000000000000\",\"partitionKey\":\"pk\",\
             \"approximateArrivalTimestamp\":\"2026-01-01T00:00:00.000Z\",\"sequenceNumber\":\"42\",\
             \"subsequenceNumber\":\"\"}}]}"
        );
        let parsed: Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(parsed["records"][0]["data"], "aGk=");
    }

    #[test]
    fn retries_then_fails_every_record() {
        let mut batch = TransformBatch::new("i", "arn:f", vec![input("a", b"x")], 2);
        assert_eq!(
            batch.complete(InvocationOutcome::FunctionError, 5),
            BatchStep::Retry
        );
        assert_eq!(
            batch.complete(InvocationOutcome::Throttled, 6),
            BatchStep::Retry
        );
        let BatchStep::Finished(out) = batch.complete(InvocationOutcome::Returned(b"nope"), 7)
        else {
            panic!("three attempts with two retries must finish");
        };
        let RecordOutcome::Failed(doc) = &out[0].outcome else {
            panic!("must fail");
        };
        assert_eq!(doc.attempts_made, 3);
        assert_eq!(doc.error_code, CODE_JSON_PROCESSING);
        assert_eq!(doc.attempt_ending_timestamp, 7);
        assert_eq!(doc.error_message, MESSAGE_JSON_PROCESSING);
        assert_eq!(doc.lambda_arn.as_deref(), Some("arn:f"));
    }

    #[test]
    fn parses_processing_configuration() {
        let v: Value = serde_json::from_str(
            r#"{"Enabled":true,"Processors":[
                {"Type":"Lambda","Parameters":[{"ParameterName":"LambdaArn","ParameterValue":"arn:f"},
                                               {"ParameterName":"BufferSizeInMBs","ParameterValue":"0.2"}]},
                {"Type":"AppendDelimiterToRecord"}]}"#,
        )
        .expect("json");
        let cfg = ProcessingConfiguration::from_json(&v, "p").expect("valid");
        let lambda = cfg.lambda().expect("lambda");
        assert_eq!(lambda.number_of_retries, 3);
        assert_eq!(lambda.buffer_size_bytes, 209_715);
        assert_eq!(lambda.buffer_interval_seconds, 60);
        assert_eq!(cfg.after_lambda(b"r"), b"r\n");

        let bad: Value = serde_json::from_str(r#"{"Processors":[{"Type":"Nope"}]}"#).expect("json");
        let err = ProcessingConfiguration::from_json(&bad, "p").expect_err("bad type");
        assert_eq!(err.error_type, "ValidationException");
        assert!(
            err.message.contains("'p.processors.1.member.type'"),
            "{}",
            err.message
        );
        let bad: Value = serde_json::from_str(
            r#"{"Processors":[{"Type":"Lambda","Parameters":[{"ParameterName":"LambdaArn","ParameterValue":"a"},
               {"ParameterName":"BufferSizeInMBs","ParameterValue":"4"}]}]}"#,
        )
        .expect("json");
        assert!(ProcessingConfiguration::from_json(&bad, "p").is_err());
    }

    #[test]
    fn deaggregation_and_keep_fields() {
        let out = deaggregate(b"{\"a\":1} {\"b\":2}\n{\"c\":3}", &SubRecordType::Json).expect("ok");
        assert_eq!(
            out,
            vec![
                b"{\"a\":1}".to_vec(),
                b"{\"b\":2}".to_vec(),
                b"{\"c\":3}".to_vec()
            ]
        );
        assert!(deaggregate(b"{\"a\":1} [1]", &SubRecordType::Json).is_err());
        let out = deaggregate(b"a||b||||c", &SubRecordType::Delimited(b"||".to_vec())).expect("ok");
        assert_eq!(out, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert_eq!(
            keep_json_fields(br#"{"a":1,"b":"x","c":null}"#, &["c", "a", "z"]).expect("ok"),
            br#"{"c":null,"a":1}"#.to_vec()
        );
        assert!(keep_json_fields(b"[1]", &["a"]).is_err());
    }
}
