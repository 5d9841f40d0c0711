//! The JSON documents Firehose writes for records it could not process or deliver, one per line, under the
//! error prefix of the S3 bucket (`!{firehose:error-output-type}` is one of [`ErrorOutputType`]).
//!
//! Source: "Handle failure in data transformation" (`processing-failed`: attemptsMade, arrivalTimestamp, errorCode,
//! errorMessage, attemptEndingTimestamp, rawData, lambdaArn) and "Handle data delivery failure" (the same common
//! fields for `http-endpoint-failed` and the other destinations). Timestamps are Unix milliseconds, `rawData` is
//! the record's bytes in base64. The OpenSearch destination's `AmazonOpenSearchService-failed` documents add esDocumentId,
//! esIndexName and esTypeName before rawData ("Handle data delivery failure", OpenSearch Service). The documentation spells the function's key `lambdaArn`; documents captured from
//! the service spell it `lambdaARN`, which is what is written here.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// The value `!{firehose:error-output-type}` takes, and the folder the error documents go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ErrorOutputType {
    /// `processing-failed`: the Lambda transform (or a built-in processor) failed for the record.
    ProcessingFailed,
    /// `partitioning-failed`: dynamic partitioning could not compute the record's partition keys.
    PartitioningFailed,
    /// `http-endpoint-failed`: delivery to the HTTP endpoint failed for good.
    HttpEndpointFailed,
    /// `decompression-failed`: the Decompression or CloudWatchLogProcessing processor could not read the record
    /// (observed in captures of the service; the documentation does not list it).
    DecompressionFailed,
    /// `activePartitionExceeded`: records that would open a partition beyond the active-partition limit.
    ActivePartitionExceeded,
}

impl ErrorOutputType {
    /// The folder name as Firehose writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorOutputType::ProcessingFailed => "processing-failed",
            ErrorOutputType::PartitioningFailed => "partitioning-failed",
            ErrorOutputType::HttpEndpointFailed => "http-endpoint-failed",
            ErrorOutputType::DecompressionFailed => "decompression-failed",
            // "Buffer data for dynamic partitioning": "the rest of the records in the Firehose stream are
            // delivered to the specified S3 error bucket prefix (activePartitionExceeded)".
            ErrorOutputType::ActivePartitionExceeded => "activePartitionExceeded",
        }
    }
}

/// One error document. Optional members are written only when set, in Firehose's key order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorRecord {
    /// How many attempts were made (Lambda invocations, HTTP requests).
    pub attempts_made: u32,
    /// When Firehose received the record, Unix ms.
    pub arrival_timestamp: u64,
    /// The error code, e.g. `Lambda.MissingRecordId` or `HttpEndpoint.DestinationException`.
    pub error_code: String,
    /// The error message.
    pub error_message: String,
    /// When Firehose stopped trying, Unix ms.
    pub attempt_ending_timestamp: u64,
    /// The intended document id (`AmazonOpenSearchService-failed` only), key `esDocumentId`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub es_document_id: Option<String>,
    /// The intended index name (`AmazonOpenSearchService-failed` only), key `esIndexName`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub es_index_name: Option<String>,
    /// The intended type name (`AmazonOpenSearchService-failed` only), key `esTypeName`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub es_type_name: Option<String>,
    /// The record's bytes, base64.
    pub raw_data: String,
    /// The function's ARN (`processing-failed` from a Lambda processor only), key `lambdaARN`.
    #[serde(rename = "lambdaARN", skip_serializing_if = "Option::is_none", default)]
    pub lambda_arn: Option<String>,
}

impl ErrorRecord {
    /// An error document for `raw` (base64-encoded here).
    pub fn new(
        attempts_made: u32,
        arrival_unix_ms: u64,
        error_code: &str,
        error_message: &str,
        attempt_ending_unix_ms: u64,
        raw: &[u8],
    ) -> Self {
        ErrorRecord {
            attempts_made,
            arrival_timestamp: arrival_unix_ms,
            error_code: error_code.to_string(),
            error_message: error_message.to_string(),
            attempt_ending_timestamp: attempt_ending_unix_ms,
            es_document_id: None,
            es_index_name: None,
            es_type_name: None,
            raw_data: STANDARD.encode(raw),
            lambda_arn: None,
        }
    }

    /// The document as one line of JSON (no trailing newline).
    pub fn to_json(&self) -> String {
        // Serialising plain strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The record's original bytes, decoded from `rawData`.
    pub fn raw_bytes(&self) -> Vec<u8> {
        STANDARD.decode(&self.raw_data).unwrap_or_default()
    }
}

/// Error documents as an S3 object body: one JSON document per line, each ending in a newline.
pub fn to_object_body(records: &[ErrorRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        out.extend_from_slice(record.to_json().as_bytes());
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_has_firehose_key_order_and_base64() {
        let mut r = ErrorRecord::new(4, 1_000, "Lambda.FunctionError", "boom", 2_000, b"hi");
        r.lambda_arn = Some("arn:aws:lambda:us-east-1:000000000000:function:f".into());
        assert_eq!(
            r.to_json(),
            "{\"attemptsMade\":4,\"arrivalTimestamp\":1000,\"errorCode\":\"Lambda.FunctionError\",\
             \"errorMessage\":\"boom\",\"attemptEndingTimestamp\":2000,\"rawData\":\"aGk=\",\
             \"lambdaARN\":\"arn:aws:lambda:us-east-1:000000000000:function:f\"}"
        );
        assert_eq!(r.raw_bytes(), b"hi");
        assert_eq!(
            ErrorOutputType::HttpEndpointFailed.as_str(),
            "http-endpoint-failed"
        );
    }
}
