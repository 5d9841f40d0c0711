//! The event-source mapping's settings, with Lambda's names, defaults and ranges, and Lambda's errors for bad ones.

use crate::streams::error::{ACCOUNT_ID, REGION};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Default records per batch for a Kinesis source (Lambda CreateEventSourceMapping, `BatchSize`: "Amazon Kinesis –
/// Default 100. Max 10,000").
pub const BATCH_SIZE_DEFAULT: u32 = 100;
/// Fewest records per batch (Lambda CreateEventSourceMapping, `BatchSize`: minimum 1).
pub const BATCH_SIZE_MIN: u32 = 1;
/// Most records per batch for a Kinesis source (Lambda CreateEventSourceMapping, `BatchSize`: max 10,000).
pub const BATCH_SIZE_MAX: u32 = 10_000;
/// Default batching window in seconds (Lambda CreateEventSourceMapping, `MaximumBatchingWindowInSeconds`: "For
/// streams ... the default batching window is 0 seconds").
pub const MAXIMUM_BATCHING_WINDOW_S_DEFAULT: u32 = 0;
/// Longest batching window in seconds (Lambda CreateEventSourceMapping, `MaximumBatchingWindowInSeconds`: 0..300).
pub const MAXIMUM_BATCHING_WINDOW_S_MAX: u32 = 300;
/// Default concurrent batches per shard (Lambda CreateEventSourceMapping, `ParallelizationFactor`: default 1).
pub const PARALLELIZATION_FACTOR_DEFAULT: u32 = 1;
/// Fewest concurrent batches per shard (Lambda CreateEventSourceMapping, `ParallelizationFactor`: 1..10).
pub const PARALLELIZATION_FACTOR_MIN: u32 = 1;
/// Most concurrent batches per shard (Lambda CreateEventSourceMapping, `ParallelizationFactor`: 1..10).
pub const PARALLELIZATION_FACTOR_MAX: u32 = 10;
/// `MaximumRetryAttempts` value meaning "retry until the record expires" (Lambda CreateEventSourceMapping: "The
/// default value is infinite (-1)").
pub const MAXIMUM_RETRY_ATTEMPTS_INFINITE: i32 = -1;
/// Default retry attempts (Lambda CreateEventSourceMapping, `MaximumRetryAttempts`: infinite, -1).
pub const MAXIMUM_RETRY_ATTEMPTS_DEFAULT: i32 = MAXIMUM_RETRY_ATTEMPTS_INFINITE;
/// Most retry attempts that are not infinite (Lambda CreateEventSourceMapping, `MaximumRetryAttempts`: -1..10,000).
pub const MAXIMUM_RETRY_ATTEMPTS_MAX: i32 = 10_000;
/// `MaximumRecordAgeInSeconds` value meaning "never discard for age" (Lambda CreateEventSourceMapping: "The default
/// value is infinite (-1)").
pub const MAXIMUM_RECORD_AGE_S_INFINITE: i32 = -1;
/// Default maximum record age (Lambda CreateEventSourceMapping, `MaximumRecordAgeInSeconds`: infinite, -1).
pub const MAXIMUM_RECORD_AGE_S_DEFAULT: i32 = MAXIMUM_RECORD_AGE_S_INFINITE;
/// Smallest finite maximum record age in seconds (Lambda: "must be either -1 (forever) or between 60 and 604800").
pub const MAXIMUM_RECORD_AGE_S_MIN: i32 = 60;
/// Largest finite maximum record age in seconds, one week (Lambda CreateEventSourceMapping: 604,800).
pub const MAXIMUM_RECORD_AGE_S_MAX: i32 = 604_800;
/// Largest payload of a synchronous invocation, in bytes (Lambda quotas: "Invocation payload (request and
/// response) 6 MB each for synchronous invocations"; Lambda's 6 MB is 6,291,456 bytes).
pub const INVOCATION_PAYLOAD_BYTES_MAX: u64 = 6 * 1_048_576;
/// Longest on-failure destination (Lambda `OnFailure.Destination`: length 0..350).
pub const DESTINATION_CHARS_MAX: usize = 350;
/// Longest function name (Lambda `FunctionName`: a name alone is 1..64 characters of `[a-zA-Z0-9-_]`).
pub const FUNCTION_NAME_CHARS_MAX: usize = 64;

/// Where a new mapping starts reading a shard that has no parent it also reads (`StartingPosition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartingPosition {
    /// `TRIM_HORIZON`: every record still kept.
    TrimHorizon,
    /// `LATEST`: only records added after the mapping starts.
    Latest,
    /// `AT_TIMESTAMP`: records that arrived at or after `StartingPositionTimestamp`.
    AtTimestamp,
}

impl StartingPosition {
    /// Lambda's name (`TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP`).
    pub fn as_str(self) -> &'static str {
        match self {
            StartingPosition::TrimHorizon => "TRIM_HORIZON",
            StartingPosition::Latest => "LATEST",
            StartingPosition::AtTimestamp => "AT_TIMESTAMP",
        }
    }

    /// The position Lambda names `name`, or Lambda's error.
    pub fn from_name(name: &str) -> Result<Self, LambdaError> {
        match name {
            "TRIM_HORIZON" => Ok(StartingPosition::TrimHorizon),
            "LATEST" => Ok(StartingPosition::Latest),
            "AT_TIMESTAMP" => Ok(StartingPosition::AtTimestamp),
            other => Err(LambdaError::invalid_parameter(format!(
                "Unsupported starting position {other}. Valid values: [TRIM_HORIZON, LATEST, AT_TIMESTAMP]"
            ))),
        }
    }
}

/// A `FunctionResponseTypes` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FunctionResponseType {
    /// `ReportBatchItemFailures`: the function may answer `{"batchItemFailures":[{"itemIdentifier": seq}]}`.
    ReportBatchItemFailures,
}

impl FunctionResponseType {
    /// Lambda's name.
    pub fn as_str(self) -> &'static str {
        "ReportBatchItemFailures"
    }
}

/// `DestinationConfig.OnFailure`: a simulated destination that keeps one JSON document per discarded batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnFailure {
    /// The destination's name (on AWS an SQS queue, SNS topic or S3 bucket ARN).
    pub destination: String,
}

/// Lambda's error types for event-source mappings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LambdaErrorType {
    /// A parameter is out of range or inconsistent with another.
    InvalidParameterValueException,
    /// The thing named does not exist.
    ResourceNotFoundException,
}

impl LambdaErrorType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LambdaErrorType::InvalidParameterValueException => "InvalidParameterValueException",
            LambdaErrorType::ResourceNotFoundException => "ResourceNotFoundException",
        }
    }
}

/// An error as Lambda reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LambdaError {
    /// The error type.
    pub error_type: LambdaErrorType,
    /// Lambda's message.
    pub message: String,
}

impl LambdaError {
    /// An `InvalidParameterValueException`.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        LambdaError {
            error_type: LambdaErrorType::InvalidParameterValueException,
            message: message.into(),
        }
    }

    /// A `ResourceNotFoundException`.
    pub fn not_found(message: impl Into<String>) -> Self {
        LambdaError {
            error_type: LambdaErrorType::ResourceNotFoundException,
            message: message.into(),
        }
    }
}

impl fmt::Display for LambdaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type.as_str(), self.message)
    }
}

impl std::error::Error for LambdaError {}

/// A CreateEventSourceMapping request for a Kinesis stream, with Lambda's member names in snake case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EsmConfig {
    /// `FunctionName`: the function to invoke.
    pub function_name: String,
    /// `EventSourceArn`: the stream's ARN (`arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`).
    pub event_source_arn: String,
    /// `BatchSize`.
    pub batch_size: u32,
    /// `MaximumBatchingWindowInSeconds`.
    pub maximum_batching_window_in_seconds: u32,
    /// `StartingPosition`.
    pub starting_position: StartingPosition,
    /// `StartingPositionTimestamp`, as Unix milliseconds (AWS takes a timestamp; only for `AT_TIMESTAMP`).
    pub starting_position_timestamp_unix_ms: Option<u64>,
    /// `ParallelizationFactor`.
    pub parallelization_factor: u32,
    /// `MaximumRetryAttempts` (-1: infinite).
    pub maximum_retry_attempts: i32,
    /// `MaximumRecordAgeInSeconds` (-1: infinite).
    pub maximum_record_age_in_seconds: i32,
    /// `BisectBatchOnFunctionError`.
    pub bisect_batch_on_function_error: bool,
    /// `DestinationConfig.OnFailure`.
    pub on_failure: Option<OnFailure>,
    /// `FunctionResponseTypes`.
    pub function_response_types: Vec<FunctionResponseType>,
    /// The function's execution role, shown as `invokeIdentityArn` in every event record.
    pub execution_role_arn: String,
}

impl EsmConfig {
    /// A mapping with Lambda's defaults for everything but the required members.
    pub fn new(
        function_name: &str,
        event_source_arn: &str,
        starting_position: StartingPosition,
    ) -> Self {
        EsmConfig {
            function_name: function_name.to_string(),
            event_source_arn: event_source_arn.to_string(),
            batch_size: BATCH_SIZE_DEFAULT,
            maximum_batching_window_in_seconds: MAXIMUM_BATCHING_WINDOW_S_DEFAULT,
            starting_position,
            starting_position_timestamp_unix_ms: None,
            parallelization_factor: PARALLELIZATION_FACTOR_DEFAULT,
            maximum_retry_attempts: MAXIMUM_RETRY_ATTEMPTS_DEFAULT,
            maximum_record_age_in_seconds: MAXIMUM_RECORD_AGE_S_DEFAULT,
            bisect_batch_on_function_error: false,
            on_failure: None,
            function_response_types: Vec::new(),
            execution_role_arn: format!("arn:aws:iam::{ACCOUNT_ID}:role/lambda-role"),
        }
    }

    /// The function's ARN.
    pub fn function_arn(&self) -> String {
        format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{}",
            self.function_name
        )
    }

    /// Whether the function may report partial batch failures.
    pub fn reports_batch_item_failures(&self) -> bool {
        self.function_response_types
            .contains(&FunctionResponseType::ReportBatchItemFailures)
    }

    /// The stream name in `event_source_arn`, or Lambda's error.
    pub fn stream_name(&self) -> Result<String, LambdaError> {
        let arn = &self.event_source_arn;
        let bad = || {
            LambdaError::invalid_parameter(format!(
                "Invalid EventSourceArn {arn}: expected a Kinesis stream ARN of the form \
                 arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/NAME"
            ))
        };
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(_partition), Some("kinesis"), Some(_region), Some(_account)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        let name = parts
            .next()
            .and_then(|rest| rest.strip_prefix("stream/"))
            .ok_or_else(bad)?;
        let valid = (1..=128).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !valid {
            return Err(bad());
        }
        Ok(name.to_string())
    }

    /// Checks every member as Lambda does; the first problem found is the error.
    pub fn validate(&self) -> Result<(), LambdaError> {
        let name = &self.function_name;
        if name.is_empty()
            || name.len() > FUNCTION_NAME_CHARS_MAX
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        {
            return Err(LambdaError::invalid_parameter(format!(
                "Invalid FunctionName {name}: a function name is 1 to {FUNCTION_NAME_CHARS_MAX} characters of \
                 letters, digits, hyphens and underscores"
            )));
        }
        self.stream_name()?;
        if !(BATCH_SIZE_MIN..=BATCH_SIZE_MAX).contains(&self.batch_size) {
            return Err(LambdaError::invalid_parameter(format!(
                "Maximum batch size must be between {BATCH_SIZE_MIN} and {BATCH_SIZE_MAX} inclusive"
            )));
        }
        if self.maximum_batching_window_in_seconds > MAXIMUM_BATCHING_WINDOW_S_MAX {
            return Err(LambdaError::invalid_parameter(format!(
                "Maximum batch window in seconds must be between 0 and {MAXIMUM_BATCHING_WINDOW_S_MAX} inclusive"
            )));
        }
        if !(PARALLELIZATION_FACTOR_MIN..=PARALLELIZATION_FACTOR_MAX)
            .contains(&self.parallelization_factor)
        {
            return Err(LambdaError::invalid_parameter(format!(
                "ParallelizationFactor must be between {PARALLELIZATION_FACTOR_MIN} and \
                 {PARALLELIZATION_FACTOR_MAX} (inclusive)"
            )));
        }
        let retries = self.maximum_retry_attempts;
        if retries != MAXIMUM_RETRY_ATTEMPTS_INFINITE
            && !(0..=MAXIMUM_RETRY_ATTEMPTS_MAX).contains(&retries)
        {
            return Err(LambdaError::invalid_parameter(format!(
                "MaximumRetryAttempts must be either -1 (forever) or between 0 and \
                 {MAXIMUM_RETRY_ATTEMPTS_MAX} (inclusive)"
            )));
        }
        let age = self.maximum_record_age_in_seconds;
        if age != MAXIMUM_RECORD_AGE_S_INFINITE
            && !(MAXIMUM_RECORD_AGE_S_MIN..=MAXIMUM_RECORD_AGE_S_MAX).contains(&age)
        {
            return Err(LambdaError::invalid_parameter(format!(
                "MaximumRecordAgeInSeconds must be either -1 (forever) or between \
                 {MAXIMUM_RECORD_AGE_S_MIN} and {MAXIMUM_RECORD_AGE_S_MAX} (inclusive)"
            )));
        }
        match (
            self.starting_position,
            self.starting_position_timestamp_unix_ms,
        ) {
            (StartingPosition::AtTimestamp, None) => {
                return Err(LambdaError::invalid_parameter(
                    "StartingPositionTimestamp must be provided when StartingPosition is AT_TIMESTAMP",
                ));
            }
            (StartingPosition::TrimHorizon | StartingPosition::Latest, Some(_)) => {
                return Err(LambdaError::invalid_parameter(
                    "StartingPositionTimestamp can only be provided when StartingPosition is AT_TIMESTAMP",
                ));
            }
            _ => {}
        }
        if self.function_response_types.len() > 1 {
            return Err(LambdaError::invalid_parameter(
                "FunctionResponseTypes can contain at most 1 item: [ReportBatchItemFailures]",
            ));
        }
        if let Some(on_failure) = &self.on_failure
            && (on_failure.destination.is_empty()
                || on_failure.destination.chars().count() > DESTINATION_CHARS_MAX)
        {
            return Err(LambdaError::invalid_parameter(format!(
                "The OnFailure destination must be 1 to {DESTINATION_CHARS_MAX} characters long"
            )));
        }
        Ok(())
    }

    /// The finite retry quota, or `None` for infinite.
    pub(crate) fn retry_quota(&self) -> Option<u32> {
        u32::try_from(self.maximum_retry_attempts).ok()
    }

    /// The finite maximum record age in ms, or `None` for infinite.
    pub(crate) fn record_age_max_ms(&self) -> Option<u64> {
        u64::try_from(self.maximum_record_age_in_seconds)
            .ok()
            .map(|s| s.saturating_mul(1_000))
    }
}
