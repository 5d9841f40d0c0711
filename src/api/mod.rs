//! AWS-shaped APIs: one dispatch entry point per service, taking the operation name (as in `X-Amz-Target`) and
//! the JSON body and returning the JSON response or an AWS error. The UI, the JS API and the tests all go
//! through here.

pub mod firehose;
pub mod kinesis;
pub mod wire;

use crate::streams::KinesisError;
use serde_json::{Value, json};

/// An HTTP-shaped answer: status and JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiResponse {
    /// 200 on success, 400 for client errors, 500 for internal failures.
    pub status: u16,
    /// The JSON body.
    pub body: String,
    /// The AWS error type (`__type`) when the call failed.
    pub error_type: Option<&'static str>,
    /// For a successful SubscribeToShard: the subscription whose events follow (poll them with
    /// [`kinesis::poll_subscription`]; over HTTP they are the response's event stream).
    pub subscription: Option<u64>,
}

impl ApiResponse {
    /// A 200 with `value` as the body; `Value::Null` stands for AWS's empty body (operations without output).
    pub fn ok(value: &Value) -> Self {
        ApiResponse {
            status: 200,
            body: if value.is_null() {
                String::new()
            } else {
                value.to_string()
            },
            error_type: None,
            subscription: None,
        }
    }

    /// An AWS error body: `{"__type": ..., "message": ...}`; `Message` for SerializationException, as AWS
    /// writes it; no message at all when there is none (UnknownOperationException, a body that is not JSON).
    pub fn error(error: &KinesisError) -> Self {
        use crate::streams::ErrorType;
        let kind = error.error_type.as_str();
        let body = match error.error_type {
            _ if error.message.is_empty() => json!({ "__type": kind }),
            ErrorType::SerializationException => json!({"__type": kind, "Message": error.message}),
            _ => json!({"__type": kind, "message": error.message}),
        };
        ApiResponse {
            status: error.error_type.http_status(),
            body: body.to_string(),
            error_type: Some(kind),
            subscription: None,
        }
    }
}
