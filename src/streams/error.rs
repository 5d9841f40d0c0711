//! Kinesis errors: AWS's error types, HTTP statuses and message texts.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The simulated account every stream belongs to.
pub const ACCOUNT_ID: &str = "000000000000";
/// The simulated region.
pub const REGION: &str = "us-east-1";

/// AWS's error types for Kinesis Data Streams (the `__type` of an error response).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ErrorType {
    /// A member failed a constraint of the service model.
    ValidationException,
    /// The body is not JSON of the right types.
    SerializationException,
    /// The `X-Amz-Target` names no operation.
    UnknownOperationException,
    /// A value is not acceptable in this situation.
    InvalidArgumentException,
    /// The stream or shard does not exist.
    ResourceNotFoundException,
    /// The stream is not in a state that allows the call.
    ResourceInUseException,
    /// A limit on how many or how often was reached.
    LimitExceededException,
    /// A shard iterator is older than five minutes.
    ExpiredIteratorException,
    /// A `NextToken` is older than five minutes.
    ExpiredNextTokenException,
    /// A shard's throughput limit was reached.
    ProvisionedThroughputExceededException,
    /// Something failed inside the service.
    InternalFailure,
}

impl ErrorType {
    /// The wire name (`__type`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::ValidationException => "ValidationException",
            ErrorType::SerializationException => "SerializationException",
            ErrorType::UnknownOperationException => "UnknownOperationException",
            ErrorType::InvalidArgumentException => "InvalidArgumentException",
            ErrorType::ResourceNotFoundException => "ResourceNotFoundException",
            ErrorType::ResourceInUseException => "ResourceInUseException",
            ErrorType::LimitExceededException => "LimitExceededException",
            ErrorType::ExpiredIteratorException => "ExpiredIteratorException",
            ErrorType::ExpiredNextTokenException => "ExpiredNextTokenException",
            ErrorType::ProvisionedThroughputExceededException => {
                "ProvisionedThroughputExceededException"
            }
            ErrorType::InternalFailure => "InternalFailure",
        }
    }

    /// The HTTP status AWS answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorType::InternalFailure => 500,
            _ => 400,
        }
    }
}

/// An error as AWS reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KinesisError {
    /// The error type.
    pub error_type: ErrorType,
    /// AWS's message.
    pub message: String,
}

impl KinesisError {
    /// An error of `error_type` with `message`.
    pub fn new(error_type: ErrorType, message: impl Into<String>) -> Self {
        KinesisError {
            error_type,
            message: message.into(),
        }
    }

    /// `Stream {name} under account {account} not found.`
    pub fn stream_not_found(name: &str) -> Self {
        KinesisError::new(
            ErrorType::ResourceNotFoundException,
            format!("Stream {name} under account {ACCOUNT_ID} not found."),
        )
    }

    /// `Stream {name} under account {account} not ACTIVE, instead in state {status}`.
    pub fn stream_not_active(name: &str, status: &str) -> Self {
        KinesisError::new(
            ErrorType::ResourceInUseException,
            format!(
                "Stream {name} under account {ACCOUNT_ID} not ACTIVE, instead in state {status}"
            ),
        )
    }

    /// A shard's throughput limit was reached.
    pub fn rate_exceeded(shard_id: &str, stream: &str) -> Self {
        KinesisError::new(
            ErrorType::ProvisionedThroughputExceededException,
            format!(
                "Rate exceeded for shard {shard_id} in stream {stream} under account {ACCOUNT_ID}."
            ),
        )
    }

    /// An `InvalidArgumentException`.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        KinesisError::new(ErrorType::InvalidArgumentException, message)
    }

    /// A `LimitExceededException`.
    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        KinesisError::new(ErrorType::LimitExceededException, message)
    }
}

impl fmt::Display for KinesisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type.as_str(), self.message)
    }
}

impl std::error::Error for KinesisError {}
