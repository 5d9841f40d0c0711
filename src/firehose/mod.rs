//! Amazon Data Firehose: delivery streams that buffer records, transform them, partition them and deliver them.
//!
//! The delivery-stream service and its simulated S3:
//! - [`service`]: delivery streams (lifecycle, Direct PUT and Kinesis-stream sources, buffering, the flush
//!   pipeline buffer -> transform -> partition -> destination, flush events with their reasons);
//! - [`s3`]: the simulated S3 buckets Firehose writes and the UI and the native endpoint read;
//! - [`prefix`]: S3 object keys as Firehose writes them (`!{timestamp:...}` and friends, AWS's prefix rules);
//! - [`metrics`]: per-minute CloudWatch metrics of each delivery stream;
//! - [`redshift`]: the Redshift destination (S3 staging, manifest, COPY with retries) and the simulated clusters
//!   whose tables the analytics SQL engine queries;
//! - [`throughput`]: the Direct PUT quotas (records, requests and bytes per second) and their "Slow down.";
//! - [`error`]: AWS's error types.
//!
//! The processing pieces are pure functions and small state machines on simulated time, so the delivery-stream
//! service wires them into its pipeline and a shell performs the side effects they ask for as values:
//! - [`transform`]: the Lambda data-transformation contract (request, response validation, retries, the
//!   `processing-failed` error records) and the built-in processors (AppendDelimiterToRecord, Decompression,
//!   CloudWatchLogProcessing, RecordDeAggregation) with `ProcessingConfiguration` parsing.
//! - [`partition`]: dynamic partitioning: jq (JQ-1.6) metadata extraction by the `jaq` interpreter,
//!   `!{partitionKeyFromQuery:..}` / `!{partitionKeyFromLambda:..}` prefix values and the active-partition limit.
//! - [`http_endpoint`]: the HTTP endpoint destination: the documented POST, judging responses, back-off on
//!   simulated time, `http-endpoint-failed` error records and third-party presets (Splunk, Datadog, ...).
//! - [`sources`]: simulated producers with real record formats: CloudWatch Logs subscription messages and IoT
//!   rule action payloads.
//! - [`compression`]: ZIP, Snappy (framing format) and HADOOP_SNAPPY object bodies and their bounded decoders.
//! - [`opensearch`]: the OpenSearch Service destination (index rotation, document ids, Bulk delivery with the
//!   `AmazonOpenSearchService-failed` backup) and the simulated domains it writes to, with a small search.
//! - [`gzip`] and [`error_record`]: real gzip bytes and the error documents Firehose writes under its error prefix.
//!
//! Wiring, per flushed buffer: [`transform::ProcessingConfiguration::before_lambda`] on each record (a failure is a
//! `processing-failed` document via [`transform::ProcessorError::error_record`]); then, with a Lambda processor,
//! [`transform::split_into_batches`] and one [`transform::TransformBatch`] per batch (its event goes to the shell,
//! [`transform::TransformBatch::complete`] takes the answer); [`transform::ProcessingConfiguration::after_lambda`] on
//! each delivered record; with dynamic partitioning, [`partition::PartitionQuery::evaluate`] (compiled once from
//! [`transform::ProcessingConfiguration::metadata_extraction_query`]), [`partition::render_partition_keys`] and
//! [`partition::ActivePartitions::admit`]; for an HTTP endpoint, one [`http_endpoint::HttpDelivery`] per batch whose
//! [`http_endpoint::HttpDelivery::request`] the shell performs and whose [`http_endpoint::HttpDelivery::handle`]
//! schedules retries on simulated time. Error documents go to the S3 error prefix with
//! `!{firehose:error-output-type}` = [`error_record::ErrorOutputType::as_str`].
//!
//! Depends on `sim` only; the World routes records from Kinesis data streams in.

pub mod compression;
pub mod error;
pub mod error_record;
pub mod gzip;
pub mod http_endpoint;
pub mod metrics;
pub mod opensearch;
pub mod partition;
pub mod prefix;
pub mod redshift;
pub mod s3;
pub mod service;
pub mod sources;
pub mod throughput;
pub mod transform;

pub use error::{FirehoseError, FirehoseErrorType};
pub use service::{DeliveryStreams, FirehoseConfig};
