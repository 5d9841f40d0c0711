//! Firehose errors: AWS's error types (the `__type` of an error response) and their HTTP statuses.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The simulated account every delivery stream belongs to (the same account as the Data Streams side).
pub const ACCOUNT_ID: &str = "000000000000";
/// The simulated region.
pub const REGION: &str = "us-east-1";

/// AWS's error types for Firehose (`firehose-service-2.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FirehoseErrorType {
    /// A member failed a constraint of the service model.
    ValidationException,
    /// The body is not JSON of the right types.
    SerializationException,
    /// The `X-Amz-Target` names no operation.
    UnknownOperationException,
    /// A value is not acceptable.
    InvalidArgumentException,
    /// The delivery stream does not exist.
    ResourceNotFoundException,
    /// The delivery stream is not in a state that allows the call.
    ResourceInUseException,
    /// A limit on how many was reached.
    LimitExceededException,
    /// `CurrentDeliveryStreamVersionId` is not the current version.
    ConcurrentModificationException,
    /// The service cannot take the request now (PutRecordBatch entries report it as their ErrorCode).
    ServiceUnavailableException,
}

impl FirehoseErrorType {
    /// The wire name (`__type`).
    pub fn as_str(self) -> &'static str {
        match self {
            FirehoseErrorType::ValidationException => "ValidationException",
            FirehoseErrorType::SerializationException => "SerializationException",
            FirehoseErrorType::UnknownOperationException => "UnknownOperationException",
            FirehoseErrorType::InvalidArgumentException => "InvalidArgumentException",
            FirehoseErrorType::ResourceNotFoundException => "ResourceNotFoundException",
            FirehoseErrorType::ResourceInUseException => "ResourceInUseException",
            FirehoseErrorType::LimitExceededException => "LimitExceededException",
            FirehoseErrorType::ConcurrentModificationException => "ConcurrentModificationException",
            FirehoseErrorType::ServiceUnavailableException => "ServiceUnavailableException",
        }
    }

    /// The HTTP status AWS answers with.
    pub fn http_status(self) -> u16 {
        match self {
            FirehoseErrorType::ServiceUnavailableException => 503,
            _ => 400,
        }
    }
}

/// An error as AWS reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirehoseError {
    /// The error type.
    pub error_type: FirehoseErrorType,
    /// AWS's message.
    pub message: String,
}

impl FirehoseError {
    /// An error of `error_type` with `message`.
    pub fn new(error_type: FirehoseErrorType, message: impl Into<String>) -> Self {
        FirehoseError {
            error_type,
            message: message.into(),
        }
    }

    /// InvalidArgumentException with `message`.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        FirehoseError::new(FirehoseErrorType::InvalidArgumentException, message)
    }

    /// AWS's ResourceNotFoundException for a delivery stream name.
    pub fn not_found(name: &str) -> Self {
        FirehoseError::new(
            FirehoseErrorType::ResourceNotFoundException,
            format!("Firehose {name} under account {ACCOUNT_ID} not found."),
        )
    }
}

impl fmt::Display for FirehoseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type.as_str(), self.message)
    }
}

impl std::error::Error for FirehoseError {}
