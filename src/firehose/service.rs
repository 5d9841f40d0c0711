//! Delivery streams: lifecycle, Direct PUT and Kinesis-stream sources, buffering, and the delivery pipeline
//! buffer -> transform -> partition -> destination.
//!
//! The pipeline of one flush:
//! 1. **Buffer** ([`Buffer`]): records wait until their buffer holds `SizeInMBs` or has been open
//!    `IntervalInSeconds`, whichever comes first. With dynamic partitioning each partition has its own buffer.
//! 2. **Transform**: built-in processors (`AppendDelimiterToRecord`) run inline. A `Lambda` processor is a
//!    pending invocation the shell completes, as the Lambda event source mapping does
//!    ([`DeliveryStreams::poll_transform`] / [`DeliveryStreams::complete_transform`]); records a Lambda marks
//!    `ProcessingFailed` (or that stay unprocessed) go to the error prefix as `processing-failed`.
//! 3. **Partition**: partition keys arrive with the records ([`DirectRecord::partition_keys`]); the jq stage that
//!    computes them plugs in before buffering.
//! 4. **Destination**: S3 writes happen inline into the simulated bucket ([`SimS3`]).
//!
//! Everything is a pure function of the calls and the simulated time they carry: every random choice (object
//! UUIDs, random strings, record ids) comes from a [`SimRng`] forked per delivery stream.
#![deny(clippy::float_arithmetic)]

use super::error::{ACCOUNT_ID, FirehoseError, FirehoseErrorType, REGION};
use super::error_record::{ErrorOutputType, ErrorRecord, to_object_body};
use super::http_endpoint::{
    ContentEncoding, DeliveryRecord, DeliveryStep, EndpointConfig, HttpDelivery, HttpRequest,
    RequestFormat, Transport, new_request_id, split_into_requests,
};
use super::metrics::{DeliveryMetrics, FirehoseMetric};
use super::opensearch::{
    BulkRecord, OpenSearchDestination, OpenSearchDestinationUpdate, OpenSearchDomains,
};
use super::partition::PartitionQuery;
use super::prefix::{
    PrefixContext, PrefixTemplate, default_time_prefix, object_suffix, random_string_from_bits,
    uuid_from_bits, validate_prefixes,
};
use super::s3::SimS3;
use super::throughput::{IntakeWindow, SLOW_DOWN_MESSAGE};
use super::transform::{
    BatchStep, InvocationContext, InvocationOutcome, ProcessingConfiguration, RecordOutcome,
    TransformBatch, TransformInput,
};
use crate::sim::{DisplayEpoch, SimDuration, SimRng, SimTime};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// One MiB, in bytes.
pub const MIB_BYTES: u64 = 1_048_576;
/// Largest record, in bytes, before base64. Source: Firehose service model, `Data` max 1,024,000.
pub const RECORD_DATA_BYTES_MAX: u64 = 1_024_000;
/// Most records in one PutRecordBatch. Source: service model, `PutRecordBatchRequestEntryList` max 500.
pub const PUT_RECORD_BATCH_RECORDS_MAX: u64 = 500;
/// Most bytes in one PutRecordBatch. Source: Firehose developer guide, "Quota": "4 MiB per call".
pub const PUT_RECORD_BATCH_BYTES_MAX: u64 = 4 * MIB_BYTES;
/// Smallest and largest S3 buffering size, in MiB. Source: service model, `SizeInMBs` 1..128.
pub const BUFFER_SIZE_MIB_MIN: u32 = 1;
/// Largest S3 buffering size, in MiB.
pub const BUFFER_SIZE_MIB_MAX: u32 = 128;
/// Default S3 buffering size, in MiB. Source: API reference, `BufferingHints`.
pub const BUFFER_SIZE_MIB_DEFAULT: u32 = 5;
/// Largest buffering interval, in seconds. Source: service model, `IntervalInSeconds` 0..900.
pub const BUFFER_INTERVAL_SECONDS_MAX: u32 = 900;
/// Default buffering interval, in seconds. Source: API reference, `BufferingHints`.
pub const BUFFER_INTERVAL_SECONDS_DEFAULT: u32 = 300;
/// Smallest interval of the classic service (before zero buffering was launched in 2023), in seconds.
pub const BUFFER_INTERVAL_SECONDS_MIN_CLASSIC: u32 = 60;
/// Default delivery streams per account and region. Source: developer guide, "Quota" (5,000 in us-east-1).
pub const DELIVERY_STREAMS_MAX: u32 = 5_000;
/// Most tags on a delivery stream. Source: developer guide, "Tagging your Firehose streams".
pub const TAGS_PER_DELIVERY_STREAM_MAX: u32 = 50;
/// How often Firehose reads each shard of a source Kinesis data stream, in ms (once a second). Source:
/// developer guide, "Read from Kinesis Data Streams".
pub const SOURCE_POLL_INTERVAL_MS: u64 = 1_000;
/// Default number of Lambda retries. Source: API reference, `ProcessorParameter` `NumberOfRetries` (default 3).
pub const LAMBDA_RETRIES_DEFAULT: u32 = 3;
/// The only destination id of a delivery stream with one destination.
pub const DESTINATION_ID: &str = "destinationId-000000000001";

/// Settings of the Firehose side of a world.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirehoseConfig {
    /// How long a new delivery stream stays CREATING, in ms.
    pub creating_delay_ms: u64,
    /// How long a deleted delivery stream stays DELETING, in ms.
    pub deleting_delay_ms: u64,
    /// The classic service: `IntervalInSeconds` below 60 is refused (before zero buffering).
    pub classic_buffering: bool,
    /// Most delivery streams.
    pub delivery_streams_max: u32,
}

impl Default for FirehoseConfig {
    fn default() -> Self {
        FirehoseConfig {
            creating_delay_ms: 5_000,
            deleting_delay_ms: 5_000,
            classic_buffering: false,
            delivery_streams_max: DELIVERY_STREAMS_MAX,
        }
    }
}

/// `CompressionFormat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compression {
    /// No compression.
    Uncompressed,
    /// GZIP: a real gzip member per object.
    Gzip,
    /// ZIP: a ZIP archive with one deflated entry per object.
    Zip,
    /// Snappy: the Snappy framing format.
    Snappy,
    /// HADOOP_SNAPPY: Hadoop's Snappy block stream.
    HadoopSnappy,
}

impl Compression {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Uncompressed => "UNCOMPRESSED",
            Compression::Gzip => "GZIP",
            Compression::Zip => "ZIP",
            Compression::Snappy => "Snappy",
            Compression::HadoopSnappy => "HADOOP_SNAPPY",
        }
    }

    /// The file extension Firehose adds by default.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Uncompressed => "",
            Compression::Gzip => ".gz",
            Compression::Zip => ".zip",
            Compression::Snappy | Compression::HadoopSnappy => ".snappy",
        }
    }

    /// The format of a wire name (`CompressionFormat`).
    pub fn from_wire(text: &str) -> Option<Compression> {
        match text {
            "UNCOMPRESSED" => Some(Compression::Uncompressed),
            "GZIP" => Some(Compression::Gzip),
            "ZIP" => Some(Compression::Zip),
            "Snappy" => Some(Compression::Snappy),
            "HADOOP_SNAPPY" => Some(Compression::HadoopSnappy),
            _ => None,
        }
    }
}

/// A processor of `ProcessingConfiguration`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Processor {
    /// `Type` (`Lambda`, `AppendDelimiterToRecord`, ...).
    pub processor_type: String,
    /// `Parameters` as (name, value), in the order given.
    pub parameters: Vec<(String, String)>,
}

impl Processor {
    /// The value of a parameter.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An S3 destination (S3DestinationConfiguration or ExtendedS3DestinationConfiguration), with defaults filled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Destination {
    /// Whether it was configured as ExtendedS3 (what DescribeDeliveryStream reports).
    pub extended: bool,
    /// `RoleARN`.
    pub role_arn: String,
    /// `BucketARN`.
    pub bucket_arn: String,
    /// `Prefix` (empty: the default time folders).
    pub prefix: String,
    /// `ErrorOutputPrefix`.
    pub error_output_prefix: Option<String>,
    /// `BufferingHints.SizeInMBs`.
    pub size_mib: u32,
    /// `BufferingHints.IntervalInSeconds`.
    pub interval_seconds: u32,
    /// `CompressionFormat`.
    pub compression: Compression,
    /// `ProcessingConfiguration.Enabled`.
    pub processing_enabled: bool,
    /// `ProcessingConfiguration.Processors`.
    pub processors: Vec<Processor>,
    /// `DynamicPartitioningConfiguration.Enabled`.
    pub dynamic_partitioning: bool,
    /// `FileExtension`.
    pub file_extension: Option<String>,
    /// `CustomTimeZone` as given (the simulator writes UTC keys).
    pub custom_time_zone: Option<String>,
    /// An HTTP endpoint destination (`HttpEndpointDestinationConfiguration`): records go there, and this S3
    /// destination is its `S3Configuration` (the backup bucket and error prefix); buffering and processing are the
    /// HTTP endpoint's.
    #[serde(default)]
    pub http: Option<HttpDestination>,
    /// An OpenSearch destination (`AmazonopensearchserviceDestinationConfiguration` and its Elasticsearch and
    /// Serverless spellings): records are indexed there, and this S3 destination is its `S3Configuration` (the
    /// backup bucket); buffering and processing are the OpenSearch destination's.
    #[serde(default)]
    pub opensearch: Option<OpenSearchDestination>,
    /// A Redshift destination (`RedshiftDestinationConfiguration`): this S3 destination is its `S3Configuration`
    /// (the staging bucket); each object is then COPYed into the cluster's table.
    #[serde(default)]
    pub redshift: Option<super::redshift::RedshiftDestination>,
}

/// The HTTP endpoint part of `HttpEndpointDestinationConfiguration`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpDestination {
    /// `EndpointConfiguration.Url`.
    pub url: String,
    /// `EndpointConfiguration.Name`.
    pub name: Option<String>,
    /// `EndpointConfiguration.AccessKey`.
    pub access_key: Option<String>,
    /// `RequestConfiguration.ContentEncoding`.
    pub content_encoding: ContentEncoding,
    /// `RequestConfiguration.CommonAttributes`, in the order given.
    pub common_attributes: Vec<(String, String)>,
    /// `RetryOptions.DurationInSeconds`.
    pub retry_duration_seconds: u32,
    /// `S3BackupMode` is `AllData` (every record is also written to the S3 bucket), not `FailedDataOnly`.
    pub backup_all_data: bool,
}

impl HttpDestination {
    /// The request configuration for one delivery of `delivery_stream_arn`.
    pub fn endpoint_config(&self, delivery_stream_arn: &str) -> EndpointConfig {
        EndpointConfig {
            url: self.url.clone(),
            name: self.name.clone(),
            access_key: self.access_key.clone(),
            common_attributes: self.common_attributes.clone(),
            content_encoding: self.content_encoding,
            retry_duration_seconds: self.retry_duration_seconds,
            delivery_stream_arn: delivery_stream_arn.to_string(),
            format: RequestFormat::Firehose,
        }
    }
}

impl S3Destination {
    /// The bucket name from the BucketARN (`arn:aws:s3:::NAME`).
    pub fn bucket(&self) -> &str {
        self.bucket_arn
            .rsplit_once(":::")
            .map_or(self.bucket_arn.as_str(), |(_, b)| b)
    }

    /// The processing configuration in the shape the transform stage reads ([`ProcessingConfiguration`]).
    pub fn processing(&self) -> Result<ProcessingConfiguration, super::transform::ConfigError> {
        let processors: Vec<serde_json::Value> = self
            .processors
            .iter()
            .map(|p| {
                serde_json::json!({
                    "Type": p.processor_type,
                    "Parameters": p.parameters.iter().map(|(n, v)| serde_json::json!({
                        "ParameterName": n, "ParameterValue": v,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        ProcessingConfiguration::from_json(
            &serde_json::json!({"Enabled": self.processing_enabled, "Processors": processors}),
            if self.extended {
                "extendedS3DestinationConfiguration.processingConfiguration"
            } else {
                "s3DestinationConfiguration.processingConfiguration"
            },
        )
    }

    /// The compiled MetadataExtraction query, when dynamic partitioning is on and one is configured.
    fn partition_query(&self) -> Option<PartitionQuery> {
        if !self.dynamic_partitioning {
            return None;
        }
        let processing = self.processing().ok()?;
        PartitionQuery::compile(processing.metadata_extraction_query()?).ok()
    }

    fn processor(&self, kind: &str) -> Option<&Processor> {
        if !self.processing_enabled {
            return None;
        }
        self.processors.iter().find(|p| p.processor_type == kind)
    }
}

/// A change to an S3 destination (UpdateDestination merges given members into the current ones).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3DestinationUpdate {
    /// Whether it came as ExtendedS3DestinationUpdate.
    pub extended: bool,
    /// New `RoleARN`.
    pub role_arn: Option<String>,
    /// New `BucketARN`.
    pub bucket_arn: Option<String>,
    /// New `Prefix`.
    pub prefix: Option<String>,
    /// New `ErrorOutputPrefix`.
    pub error_output_prefix: Option<String>,
    /// New `SizeInMBs`.
    pub size_mib: Option<u32>,
    /// New `IntervalInSeconds`.
    pub interval_seconds: Option<u32>,
    /// New `CompressionFormat`.
    pub compression: Option<Compression>,
    /// New `ProcessingConfiguration` (enabled, processors).
    pub processing: Option<(bool, Vec<Processor>)>,
    /// New `DynamicPartitioningConfiguration.Enabled`.
    pub dynamic_partitioning: Option<bool>,
    /// New `FileExtension`.
    pub file_extension: Option<String>,
    /// Changes to the HTTP endpoint (`HttpEndpointDestinationUpdate`).
    pub http: Option<HttpDestinationUpdate>,
    /// Changes to the OpenSearch destination (`AmazonopensearchserviceDestinationUpdate` and its spellings).
    pub opensearch: Option<OpenSearchDestinationUpdate>,
    /// Changes to the Redshift destination (`RedshiftDestinationUpdate`); a whole new destination when the current
    /// one is not Redshift.
    pub redshift: Option<super::redshift::RedshiftDestinationUpdate>,
}

/// A change to an HTTP endpoint destination: given members replace the current ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpDestinationUpdate {
    /// New `Url`.
    pub url: Option<String>,
    /// New `Name`.
    pub name: Option<String>,
    /// New `AccessKey`.
    pub access_key: Option<String>,
    /// New `ContentEncoding`.
    pub content_encoding: Option<ContentEncoding>,
    /// New `CommonAttributes`.
    pub common_attributes: Option<Vec<(String, String)>>,
    /// New `RetryOptions.DurationInSeconds`.
    pub retry_duration_seconds: Option<u32>,
    /// New `S3BackupMode` (true: `AllData`).
    pub backup_all_data: Option<bool>,
}

/// Where a delivery stream's records come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceConfig {
    /// PutRecord and PutRecordBatch.
    DirectPut,
    /// A Kinesis data stream, read by the World once a second per shard from LATEST.
    KinesisStream {
        /// `KinesisStreamARN`.
        stream_arn: String,
        /// `RoleARN`.
        role_arn: String,
    },
}

/// A CreateDeliveryStream request, read and checked by the API layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateRequest {
    /// `DeliveryStreamName`.
    pub name: String,
    /// The source.
    pub source: SourceConfig,
    /// The S3 destination.
    pub destination: S3Destination,
    /// `Tags`.
    pub tags: Vec<(String, String)>,
}

/// `DeliveryStreamStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryStreamStatus {
    /// Being created.
    Creating,
    /// Accepting records.
    Active,
    /// Being deleted.
    Deleting,
}

impl DeliveryStreamStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStreamStatus::Creating => "CREATING",
            DeliveryStreamStatus::Active => "ACTIVE",
            DeliveryStreamStatus::Deleting => "DELETING",
        }
    }
}

/// A record waiting in a buffer (or in flight to a transform).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BufferedRecord {
    /// The record id returned to the producer.
    pub record_id: String,
    /// When Firehose accepted it.
    pub arrival: SimTime,
    /// The bytes.
    #[serde(with = "b64")]
    pub data: Vec<u8>,
}

/// One buffer: records of one partition (the empty key without dynamic partitioning).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buffer {
    /// The partition keys these records share.
    pub partition_keys: BTreeMap<String, String>,
    /// Records in arrival order.
    pub records: Vec<BufferedRecord>,
    /// Bytes of data held.
    pub bytes: u64,
    /// When the first record entered (the interval counts from here).
    pub opened_at: SimTime,
}

/// Why a buffer was flushed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlushReason {
    /// It reached `SizeInMBs`.
    BufferSize,
    /// It was open `IntervalInSeconds`.
    BufferInterval,
    /// The destination was updated; what was buffered is delivered under the old configuration.
    DestinationUpdated,
    /// The delivery stream is being deleted; what was buffered is delivered first, so no acknowledged record is
    /// lost.
    Deleting,
}

/// Something the Firehose side did, for the World's event log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirehoseEvent {
    /// When.
    pub at: SimTime,
    /// The delivery stream.
    pub delivery_stream: String,
    /// What.
    pub kind: FirehoseEventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum FirehoseEventKind {
    /// A buffer was flushed.
    Flushed {
        /// Why.
        reason: FlushReason,
        /// Records in it.
        records: u64,
        /// Bytes in it.
        bytes: u64,
    },
    /// An object was written to S3.
    DeliveredToS3 {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// Records in it.
        records: u64,
        /// Size of the object.
        object_bytes: u64,
    },
    /// A Redshift COPY loaded a staged object.
    CopiedToRedshift {
        /// The table.
        table: String,
        /// Rows loaded.
        rows: u64,
        /// The manifest COPY read.
        manifest_key: String,
        /// Attempts made, the successful one included.
        attempts: u32,
    },
    /// A Redshift COPY failed: it is retried at `retry_at`, or (when `None`) skipped with its manifest written to
    /// `failed_manifest_key`.
    RedshiftCopyFailed {
        /// The table.
        table: String,
        /// Redshift's error.
        message: String,
        /// The next attempt.
        retry_at: Option<SimTime>,
        /// Where the manifest went when the batch was skipped.
        failed_manifest_key: Option<String>,
    },
    /// Records went to the error prefix.
    ErrorOutput {
        /// The error output type (`processing-failed`, ...).
        error_output_type: String,
        /// The key of the error object.
        key: String,
        /// Records in it.
        records: u64,
    },
    /// An HTTP endpoint request is waiting for the shell (each attempt, the same request id on retries).
    HttpRequested {
        /// `X-Amz-Firehose-Request-Id`.
        request_id: String,
        /// Which attempt, from 1.
        attempt: u32,
        /// Records in it.
        records: u64,
    },
    /// The HTTP endpoint accepted a request.
    DeliveredToHttpEndpoint {
        /// The request id.
        request_id: String,
        /// Attempts made, the successful one included.
        attempts: u32,
        /// Records in it.
        records: u64,
    },
    /// An HTTP endpoint attempt failed and will be retried.
    HttpRetry {
        /// The request id.
        request_id: String,
        /// The error code (`HttpEndpoint.DestinationException`, ...).
        code: String,
        /// When the next attempt starts.
        retry_at: SimTime,
    },
    /// The endpoint answered 413: the batch is discarded (AWS does not write it to the error bucket).
    HttpDiscarded {
        /// The request id.
        request_id: String,
        /// Records discarded.
        records: u64,
    },
    /// A Bulk request indexed records into the OpenSearch destination's domain.
    DeliveredToOpenSearch {
        /// The domain (its `DomainARN`, or the endpoint).
        domain: String,
        /// The indices written, in name order.
        indices: Vec<String>,
        /// Documents indexed.
        records: u64,
        /// Documents the domain refused (written to the `AmazonOpenSearchService-failed` backup).
        failed: u64,
    },
    /// A transform invocation is waiting for the shell.
    TransformRequested {
        /// The invocation's id.
        invocation_id: String,
        /// Records in it.
        records: u64,
    },
}

/// A record offered to a delivery stream (PutRecord, PutRecordBatch, or the source reader).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectRecord {
    /// The bytes.
    pub data: Vec<u8>,
    /// Partition keys computed by the partitioning stage (empty without dynamic partitioning).
    pub partition_keys: BTreeMap<String, String>,
}

/// A pending transform (Lambda) invocation, for the shell to run and complete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransformRequest {
    /// The delivery stream.
    pub delivery_stream: String,
    /// `invocationId`.
    pub invocation_id: String,
    /// The function (`LambdaArn` parameter).
    pub lambda_arn: String,
    /// `deliveryStreamArn`.
    pub delivery_stream_arn: String,
    /// The records: (recordId, approximateArrivalTimestamp in Unix ms, data).
    pub records: Vec<(String, u64, Vec<u8>)>,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// The invocation event, exactly as Firehose sends it to the function (`{"invocationId": ..., "records":
    /// [...]}`).
    pub event_json: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct InFlight {
    invocation_id: String,
    partition_keys: BTreeMap<String, String>,
    records: Vec<BufferedRecord>,
    attempt: u32,
    handed_out: bool,
}

/// A pending HTTP endpoint request, for the shell to perform and complete with
/// [`DeliveryStreams::complete_http_request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingHttpRequest {
    /// The delivery stream.
    pub delivery_stream: String,
    /// The request id (`X-Amz-Firehose-Request-Id`), the same on every attempt: what completes it.
    pub request_id: String,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// The request to perform.
    pub request: HttpRequest,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct PendingHttp {
    delivery: HttpDelivery,
    due: SimTime,
    handed_out: bool,
    raw_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SourceShard {
    iterator: Option<String>,
    next_poll: SimTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct DeliveryStream {
    name: String,
    arn: String,
    created: SimTime,
    active_at: SimTime,
    deleting_since: Option<SimTime>,
    source: SourceConfig,
    source_shards: BTreeMap<String, SourceShard>,
    version: u64,
    last_update: Option<SimTime>,
    destination: S3Destination,
    tags: BTreeMap<String, String>,
    buffers: BTreeMap<String, Buffer>,
    in_flight: VecDeque<InFlight>,
    rng: SimRng,
    next_record: u64,
    next_invocation: u64,
    metrics: DeliveryMetrics,
    #[serde(default)]
    http_pending: VecDeque<PendingHttp>,
    #[serde(default)]
    intake: IntakeWindow,
    #[serde(default)]
    billing: FirehoseBillingRecord,
    #[serde(default)]
    redshift_pending: VecDeque<super::redshift::PendingCopy>,
}

/// What billing needs of one delivery stream, counted exactly as it happens (the cost meter prices it; see
/// [`crate::cost`]). Kept after the delivery stream is deleted ([`DeliveryStreams::billing_records`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirehoseBillingRecord {
    /// The delivery stream's name.
    pub name: String,
    /// Records ingested (Direct PUT or read from the source stream), accepted or not by later processing.
    pub records: u64,
    /// Bytes ingested, each record rounded up to the next [`crate::cost::FIREHOSE_BILLING_UNIT_BYTES`].
    pub billed_bytes: u64,
    /// Bytes delivered to S3 while dynamic partitioning was on.
    pub dynamic_partitioning_bytes: u64,
    /// S3 objects delivered while dynamic partitioning was on.
    pub dynamic_partitioning_objects: u64,
}

/// A read-only view of a delivery stream (DescribeDeliveryStream).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryStreamView {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Status.
    pub status: DeliveryStreamStatus,
    /// `DirectPut` or `KinesisStreamAsSource`.
    pub stream_type: &'static str,
    /// `VersionId`.
    pub version_id: u64,
    /// `CreateTimestamp`.
    pub created: SimTime,
    /// `LastUpdateTimestamp`.
    pub last_update: Option<SimTime>,
    /// The source.
    pub source: SourceConfig,
    /// The destination.
    pub destination: S3Destination,
    /// Records buffered or in flight.
    pub records_pending: u64,
}

/// The Firehose service of one account and region, with its simulated S3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryStreams {
    config: FirehoseConfig,
    epoch_unix_ms: u64,
    rng: SimRng,
    streams: BTreeMap<String, DeliveryStream>,
    incarnations: u64,
    s3: SimS3,
    events: Vec<FirehoseEvent>,
    /// Billing records of deleted delivery streams, oldest first.
    #[serde(default)]
    billing_retired: Vec<FirehoseBillingRecord>,
    /// The simulated OpenSearch domains the OpenSearch destinations write to.
    #[serde(default)]
    opensearch: OpenSearchDomains,
    /// The simulated Redshift clusters Redshift destinations load.
    #[serde(default)]
    redshift: super::redshift::SimRedshift,
}

fn name_of_partition(keys: &BTreeMap<String, String>) -> String {
    keys.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\u{1}")
}

impl DeliveryStreams {
    /// An account with no delivery streams. `rng` is forked per delivery stream; `epoch_unix_ms` maps simulated
    /// time to calendar time for keys and timestamps.
    pub fn new(config: FirehoseConfig, rng: SimRng, epoch_unix_ms: u64) -> Self {
        DeliveryStreams {
            config,
            epoch_unix_ms,
            rng,
            streams: BTreeMap::new(),
            incarnations: 0,
            s3: SimS3::new(),
            events: Vec::new(),
            billing_retired: Vec::new(),
            opensearch: OpenSearchDomains::default(),
            redshift: super::redshift::SimRedshift::default(),
        }
    }

    /// The simulated Redshift clusters.
    pub fn redshift(&self) -> &super::redshift::SimRedshift {
        &self.redshift
    }

    /// Runs the Redshift COPYs due at or before `now` (each at its due time).
    fn run_copies(&mut self, now: SimTime) {
        for s in self.streams.values_mut() {
            let Some(d) = &s.destination.redshift else {
                continue;
            };
            super::redshift::run_due(
                &super::redshift::CopyContext {
                    name: &s.name,
                    destination: d,
                },
                &mut s.redshift_pending,
                &mut s.metrics,
                &mut self.s3,
                &mut self.redshift,
                &mut self.events,
                now,
            );
        }
    }

    /// The simulated OpenSearch domains (created on first use by an OpenSearch destination).
    pub fn opensearch(&self) -> &OpenSearchDomains {
        &self.opensearch
    }

    /// What billing needs of every delivery stream so far: deleted ones first (oldest first), then the current
    /// ones by name.
    pub fn billing_records(&self) -> Vec<FirehoseBillingRecord> {
        self.billing_retired
            .iter()
            .cloned()
            .chain(self.streams.values().map(|s| FirehoseBillingRecord {
                name: s.name.clone(),
                ..s.billing.clone()
            }))
            .collect()
    }

    /// The settings.
    pub fn config(&self) -> &FirehoseConfig {
        &self.config
    }

    /// The simulated S3.
    pub fn s3(&self) -> &SimS3 {
        &self.s3
    }

    /// The simulated S3, for CreateBucket and tests.
    pub fn s3_mut(&mut self) -> &mut SimS3 {
        &mut self.s3
    }

    /// Calendar time of simulated zero, in Unix ms.
    pub fn epoch_unix_ms(&self) -> u64 {
        self.epoch_unix_ms
    }

    /// Takes the events since the last call.
    pub fn drain_events(&mut self) -> Vec<FirehoseEvent> {
        std::mem::take(&mut self.events)
    }

    fn status_of(s: &DeliveryStream, now: SimTime) -> DeliveryStreamStatus {
        if s.deleting_since.is_some() {
            DeliveryStreamStatus::Deleting
        } else if now < s.active_at {
            DeliveryStreamStatus::Creating
        } else {
            DeliveryStreamStatus::Active
        }
    }

    /// The ARN of a delivery stream name.
    pub fn arn_of(name: &str) -> String {
        format!("arn:aws:firehose:{REGION}:{ACCOUNT_ID}:deliverystream/{name}")
    }

    /// Checks the buffering hints against the service's bounds (classic mode keeps the 60 s minimum).
    pub fn check_buffering(&self, interval_seconds: u32) -> Result<(), FirehoseError> {
        if self.config.classic_buffering && interval_seconds < BUFFER_INTERVAL_SECONDS_MIN_CLASSIC {
            return Err(FirehoseError::invalid_argument(format!(
                "BufferingHints.IntervalInSeconds must be at least {BUFFER_INTERVAL_SECONDS_MIN_CLASSIC} seconds in classic mode; it is {interval_seconds}."
            )));
        }
        Ok(())
    }

    fn check_destination(&self, d: &S3Destination) -> Result<(), FirehoseError> {
        self.check_buffering(d.interval_seconds)?;
        if let Some(h) = &d.http {
            if d.size_mib > super::http_endpoint::BUFFER_SIZE_MB_MAX {
                return Err(FirehoseError::invalid_argument(format!(
                    "BufferingHints.SizeInMBs must be at most {} for an HTTP endpoint destination; it is {}.",
                    super::http_endpoint::BUFFER_SIZE_MB_MAX,
                    d.size_mib
                )));
            }
            h.endpoint_config("")
                .validate()
                .map_err(FirehoseError::invalid_argument)?;
        }
        if d.opensearch.is_some() {
            super::opensearch::check(d)?;
        }
        if let Some(r) = &d.redshift {
            r.validate(d.compression)
                .map_err(FirehoseError::invalid_argument)?;
        }
        validate_prefixes(
            &d.prefix,
            d.error_output_prefix.as_deref(),
            d.dynamic_partitioning,
        )
        .map_err(FirehoseError::invalid_argument)?;
        let processing = d.processing().map_err(|e| {
            let kind = if e.error_type == "ValidationException" {
                FirehoseErrorType::ValidationException
            } else {
                FirehoseErrorType::InvalidArgumentException
            };
            FirehoseError::new(kind, e.message)
        })?;
        if d.dynamic_partitioning
            && let Some(query) = processing.metadata_extraction_query()
        {
            PartitionQuery::compile(query)
                .map_err(|e| FirehoseError::invalid_argument(e.to_string()))?;
        }
        Ok(())
    }

    /// CreateDeliveryStream. Returns the ARN.
    pub fn create(
        &mut self,
        now: SimTime,
        request: CreateRequest,
    ) -> Result<String, FirehoseError> {
        self.advance(now);
        if self.streams.contains_key(&request.name) {
            return Err(FirehoseError::new(
                FirehoseErrorType::ResourceInUseException,
                format!(
                    "Firehose {} under accountId {ACCOUNT_ID} already exists",
                    request.name
                ),
            ));
        }
        if self.streams.len() >= self.config.delivery_streams_max as usize {
            return Err(FirehoseError::new(
                FirehoseErrorType::LimitExceededException,
                format!(
                    "You have already consumed your firehose quota of {} hoses. Firehose names: [...]",
                    self.config.delivery_streams_max
                ),
            ));
        }
        if request.tags.len() > TAGS_PER_DELIVERY_STREAM_MAX as usize {
            return Err(too_many_tags());
        }
        self.check_destination(&request.destination)?;
        if let Some(os) = &request.destination.opensearch {
            self.opensearch.ensure(&os.domain_key());
        }
        self.incarnations += 1;
        let arn = Self::arn_of(&request.name);
        let stream = DeliveryStream {
            arn: arn.clone(),
            created: now,
            active_at: now.saturating_add(SimDuration::from_millis(self.config.creating_delay_ms)),
            deleting_since: None,
            source: request.source,
            source_shards: BTreeMap::new(),
            version: 1,
            last_update: None,
            destination: request.destination,
            tags: request.tags.into_iter().collect(),
            buffers: BTreeMap::new(),
            in_flight: VecDeque::new(),
            rng: self
                .rng
                .fork(&format!("firehose/{}/{}", request.name, self.incarnations)),
            next_record: 0,
            next_invocation: 0,
            metrics: DeliveryMetrics::default(),
            http_pending: VecDeque::new(),
            intake: IntakeWindow::default(),
            billing: FirehoseBillingRecord::default(),
            redshift_pending: VecDeque::new(),
            name: request.name.clone(),
        };
        self.streams.insert(request.name, stream);
        Ok(arn)
    }

    /// DeleteDeliveryStream: buffered records are delivered now; the stream is DELETING, then gone.
    pub fn delete(&mut self, now: SimTime, name: &str) -> Result<(), FirehoseError> {
        self.advance(now);
        let epoch = self.epoch_unix_ms;
        let s = self
            .streams
            .get_mut(name)
            .ok_or_else(|| FirehoseError::not_found(name))?;
        if s.deleting_since.is_some() {
            return Err(FirehoseError::new(
                FirehoseErrorType::ResourceInUseException,
                format!("Firehose {name} under account {ACCOUNT_ID} is already being deleted."),
            ));
        }
        flush_all(
            s,
            &mut self.s3,
            &mut self.opensearch,
            &mut self.events,
            epoch,
            now,
            FlushReason::Deleting,
        );
        s.deleting_since = Some(now);
        self.run_copies(now);
        Ok(())
    }

    /// DescribeDeliveryStream.
    pub fn describe(
        &mut self,
        now: SimTime,
        name: &str,
    ) -> Result<DeliveryStreamView, FirehoseError> {
        self.advance(now);
        let s = self
            .streams
            .get(name)
            .ok_or_else(|| FirehoseError::not_found(name))?;
        Ok(DeliveryStreamView {
            name: s.name.clone(),
            arn: s.arn.clone(),
            status: Self::status_of(s, now),
            stream_type: match s.source {
                SourceConfig::DirectPut => "DirectPut",
                SourceConfig::KinesisStream { .. } => "KinesisStreamAsSource",
            },
            version_id: s.version,
            created: s.created,
            last_update: s.last_update,
            source: s.source.clone(),
            destination: s.destination.clone(),
            records_pending: s
                .buffers
                .values()
                .map(|b| b.records.len() as u64)
                .sum::<u64>()
                + s.in_flight
                    .iter()
                    .map(|f| f.records.len() as u64)
                    .sum::<u64>()
                + s.http_pending
                    .iter()
                    .map(|p| p.delivery.records().len() as u64)
                    .sum::<u64>(),
        })
    }

    /// ListDeliveryStreams: names in order after `exclusive_start`, at most `limit`, of `stream_type` if given;
    /// and whether more follow.
    pub fn list(
        &mut self,
        now: SimTime,
        limit: u32,
        stream_type: Option<&str>,
        exclusive_start: Option<&str>,
    ) -> (Vec<String>, bool) {
        self.advance(now);
        let mut names = self
            .streams
            .values()
            .filter(|s| exclusive_start.is_none_or(|start| s.name.as_str() > start))
            .filter(|s| {
                stream_type.is_none_or(|t| match s.source {
                    SourceConfig::DirectPut => t == "DirectPut",
                    SourceConfig::KinesisStream { .. } => t == "KinesisStreamAsSource",
                })
            })
            .map(|s| s.name.clone());
        let page: Vec<String> = names.by_ref().take(limit as usize).collect();
        (page, names.next().is_some())
    }

    fn active_mut<'s>(
        streams: &'s mut BTreeMap<String, DeliveryStream>,
        now: SimTime,
        name: &str,
    ) -> Result<&'s mut DeliveryStream, FirehoseError> {
        let s = streams
            .get_mut(name)
            .ok_or_else(|| FirehoseError::not_found(name))?;
        match Self::status_of(s, now) {
            DeliveryStreamStatus::Active => Ok(s),
            status => Err(FirehoseError::new(
                FirehoseErrorType::ResourceInUseException,
                format!(
                    "Firehose {name} under account {ACCOUNT_ID} is not ACTIVE: it is {}.",
                    status.as_str()
                ),
            )),
        }
    }

    /// A delivery stream reading a Kinesis data stream takes no PutRecord / PutRecordBatch.
    fn refuse_kinesis_source(&self, name: &str) -> Result<(), FirehoseError> {
        if self
            .streams
            .get(name)
            .is_some_and(|s| matches!(s.source, SourceConfig::KinesisStream { .. }))
        {
            return Err(FirehoseError::invalid_argument(
                "This operation is not permitted on KinesisStreamAsSource delivery stream type.",
            ));
        }
        Ok(())
    }

    /// PutRecord / PutRecordBatch: accepts the records in order and returns their record ids. The API layer has
    /// checked sizes and counts.
    pub fn put_records(
        &mut self,
        now: SimTime,
        name: &str,
        records: Vec<DirectRecord>,
    ) -> Result<Vec<String>, FirehoseError> {
        self.advance(now);
        self.refuse_kinesis_source(name)?;
        self.accept(now, name, records)
    }

    /// PutRecord / PutRecordBatch as a producer meets them: the Direct PUT quotas of
    /// [`super::throughput`] apply. The outer error is the whole call's (unknown or inactive stream, a Kinesis
    /// source, or `ServiceUnavailableException` "Slow down." when the call is over the requests quota); each entry
    /// is then its record id, or `ServiceUnavailableException` "Slow down." for a record over the records or bytes
    /// quota. The API layer has checked sizes and counts.
    pub fn put_direct(
        &mut self,
        now: SimTime,
        name: &str,
        records: Vec<DirectRecord>,
    ) -> Result<Vec<Result<String, FirehoseError>>, FirehoseError> {
        self.advance(now);
        self.refuse_kinesis_source(name)?;
        let s = Self::active_mut(&mut self.streams, now, name)?;
        let sizes: Vec<u64> = records.iter().map(|r| r.data.len() as u64).collect();
        let slow_down = || {
            FirehoseError::new(
                FirehoseErrorType::ServiceUnavailableException,
                SLOW_DOWN_MESSAGE,
            )
        };
        let Some(admitted) = s.intake.admit(now, &sizes) else {
            s.metrics
                .record(now, FirehoseMetric::ThrottledRecords, records.len() as u64);
            return Err(slow_down());
        };
        let throttled = records.len().saturating_sub(admitted);
        if throttled > 0 {
            s.metrics
                .record(now, FirehoseMetric::ThrottledRecords, throttled as u64);
        }
        let mut records = records;
        records.truncate(admitted);
        let mut results: Vec<Result<String, FirehoseError>> = self
            .accept(now, name, records)?
            .into_iter()
            .map(Ok)
            .collect();
        results.extend((0..throttled).map(|_| Err(slow_down())));
        Ok(results)
    }

    /// Records read from a source Kinesis data stream (the World calls this).
    pub fn accept_from_source(
        &mut self,
        now: SimTime,
        name: &str,
        records: Vec<DirectRecord>,
    ) -> Result<Vec<String>, FirehoseError> {
        self.advance(now);
        self.accept(now, name, records)
    }

    fn accept(
        &mut self,
        now: SimTime,
        name: &str,
        records: Vec<DirectRecord>,
    ) -> Result<Vec<String>, FirehoseError> {
        let epoch = self.epoch_unix_ms;
        let s = Self::active_mut(&mut self.streams, now, name)?;
        let mut ids = Vec::with_capacity(records.len());
        let size_bytes = u64::from(s.destination.size_mib) * MIB_BYTES;
        let interval = SimDuration::from_secs(u64::from(s.destination.interval_seconds));
        let query = s.destination.partition_query();
        for mut record in records {
            let id = record_id(s);
            let bytes = record.data.len() as u64;
            s.metrics.record(now, FirehoseMetric::IncomingRecords, 1);
            s.metrics.record(now, FirehoseMetric::IncomingBytes, bytes);
            s.billing.records = s.billing.records.saturating_add(1);
            s.billing.billed_bytes = s
                .billing
                .billed_bytes
                .saturating_add(crate::cost::firehose_billed_bytes(bytes));
            if let Some(query) = &query {
                match query.evaluate(&record.data) {
                    Ok(keys) => record.partition_keys.extend(keys),
                    Err(e) => {
                        let unix_now = epoch.saturating_add(now.as_millis());
                        let doc = e.error_record(unix_now, unix_now, &record.data);
                        write_error_documents(
                            s,
                            &mut self.s3,
                            &mut self.events,
                            epoch,
                            now,
                            now,
                            vec![doc],
                            e.error_output_type(),
                        );
                        ids.push(id);
                        continue;
                    }
                }
            }
            let key = name_of_partition(&record.partition_keys);
            let buffer = s.buffers.entry(key.clone()).or_insert_with(|| Buffer {
                partition_keys: record.partition_keys.clone(),
                records: Vec::new(),
                bytes: 0,
                opened_at: now,
            });
            buffer.records.push(BufferedRecord {
                record_id: id.clone(),
                arrival: now,
                data: record.data,
            });
            buffer.bytes += bytes;
            if buffer.bytes >= size_bytes
                && let Some(buffer) = s.buffers.remove(&key)
            {
                flush(
                    s,
                    &mut self.s3,
                    &mut self.opensearch,
                    &mut self.events,
                    epoch,
                    now,
                    buffer,
                    FlushReason::BufferSize,
                );
            }
            ids.push(id);
        }
        // The interval is checked once the call's records are in (a zero interval delivers each call as one
        // object, not one object per record).
        let due: Vec<String> = s
            .buffers
            .iter()
            .filter(|(_, b)| b.opened_at.saturating_add(interval) <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            if let Some(buffer) = s.buffers.remove(&key) {
                flush(
                    s,
                    &mut self.s3,
                    &mut self.opensearch,
                    &mut self.events,
                    epoch,
                    now,
                    buffer,
                    FlushReason::BufferInterval,
                );
            }
        }
        self.run_copies(now);
        Ok(ids)
    }

    /// UpdateDestination: merges `update` into the destination when `current_version` is the current version id;
    /// buffered records are delivered under the old configuration first. The version id goes up by one.
    pub fn update_destination(
        &mut self,
        now: SimTime,
        name: &str,
        current_version: u64,
        destination_id: &str,
        update: S3DestinationUpdate,
    ) -> Result<(), FirehoseError> {
        self.advance(now);
        let s = self
            .streams
            .get(name)
            .ok_or_else(|| FirehoseError::not_found(name))?;
        if s.version != current_version {
            return Err(FirehoseError::new(
                FirehoseErrorType::ConcurrentModificationException,
                format!(
                    "Cannot update firehose: {name} since the current version id: {} and specified version id: {current_version} do not match",
                    s.version
                ),
            ));
        }
        if destination_id != DESTINATION_ID {
            return Err(FirehoseError::invalid_argument(format!(
                "Destination Id {destination_id} not found"
            )));
        }
        let mut d = s.destination.clone();
        d.extended |= update.extended;
        if let Some(v) = update.role_arn {
            d.role_arn = v;
        }
        if let Some(v) = update.bucket_arn {
            d.bucket_arn = v;
        }
        if let Some(v) = update.prefix {
            d.prefix = v;
        }
        if let Some(v) = update.error_output_prefix {
            d.error_output_prefix = Some(v);
        }
        if let Some(v) = update.size_mib {
            d.size_mib = v;
        }
        if let Some(v) = update.interval_seconds {
            d.interval_seconds = v;
        }
        if let Some(v) = update.compression {
            d.compression = v;
        }
        if let Some((enabled, processors)) = update.processing {
            d.processing_enabled = enabled;
            d.processors = processors;
        }
        if let Some(v) = update.dynamic_partitioning {
            d.dynamic_partitioning = v;
        }
        if let Some(v) = update.file_extension {
            d.file_extension = Some(v);
        }
        if let Some(h) = update.http {
            let mut http = match d.http.take() {
                Some(current) => current,
                None => HttpDestination {
                    url: h.url.clone().ok_or_else(|| {
                        FirehoseError::invalid_argument(
                            "EndpointConfiguration.Url is required to change the destination to an HTTP endpoint.",
                        )
                    })?,
                    name: None,
                    access_key: None,
                    content_encoding: ContentEncoding::None,
                    common_attributes: Vec::new(),
                    retry_duration_seconds: super::http_endpoint::RETRY_DURATION_SECONDS_DEFAULT,
                    backup_all_data: false,
                },
            };
            if let Some(v) = h.url {
                http.url = v;
            }
            if let Some(v) = h.name {
                http.name = Some(v);
            }
            if let Some(v) = h.access_key {
                http.access_key = Some(v);
            }
            if let Some(v) = h.content_encoding {
                http.content_encoding = v;
            }
            if let Some(v) = h.common_attributes {
                http.common_attributes = v;
            }
            if let Some(v) = h.retry_duration_seconds {
                http.retry_duration_seconds = v;
            }
            if let Some(v) = h.backup_all_data {
                http.backup_all_data = v;
            }
            d.http = Some(http);
        }
        if let Some(update) = update.opensearch {
            super::opensearch::update(&mut d, update)?;
        }
        if let Some(u) = update.redshift {
            match &mut d.redshift {
                Some(r) => r.apply(u),
                None => {
                    return Err(FirehoseError::invalid_argument(
                        "Changing a delivery stream's destination type to Redshift is not simulated; create a delivery stream with RedshiftDestinationConfiguration.",
                    ));
                }
            }
        }
        self.check_destination(&d)?;
        if let Some(os) = &d.opensearch {
            self.opensearch.ensure(&os.domain_key());
        }
        let epoch = self.epoch_unix_ms;
        let Some(s) = self.streams.get_mut(name) else {
            return Err(FirehoseError::not_found(name));
        };
        flush_all(
            s,
            &mut self.s3,
            &mut self.opensearch,
            &mut self.events,
            epoch,
            now,
            FlushReason::DestinationUpdated,
        );
        s.destination = d;
        s.version += 1;
        s.last_update = Some(now);
        self.run_copies(now);
        Ok(())
    }

    /// TagDeliveryStream.
    pub fn tag(
        &mut self,
        now: SimTime,
        name: &str,
        tags: Vec<(String, String)>,
    ) -> Result<(), FirehoseError> {
        self.advance(now);
        let s = self
            .streams
            .get_mut(name)
            .ok_or_else(|| FirehoseError::not_found(name))?;
        let new_keys = tags.iter().filter(|(k, _)| !s.tags.contains_key(k)).count();
        if s.tags.len() + new_keys > TAGS_PER_DELIVERY_STREAM_MAX as usize {
            return Err(too_many_tags());
        }
        s.tags.extend(tags);
        Ok(())
    }

    /// UntagDeliveryStream.
    pub fn untag(
        &mut self,
        now: SimTime,
        name: &str,
        keys: &[String],
    ) -> Result<(), FirehoseError> {
        self.advance(now);
        let s = self
            .streams
            .get_mut(name)
            .ok_or_else(|| FirehoseError::not_found(name))?;
        for k in keys {
            s.tags.remove(k);
        }
        Ok(())
    }

    /// ListTagsForDeliveryStream: tags in key order after `exclusive_start`, at most `limit`; whether more follow.
    pub fn list_tags(
        &mut self,
        now: SimTime,
        name: &str,
        exclusive_start: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<(String, String)>, bool), FirehoseError> {
        self.advance(now);
        let s = self
            .streams
            .get(name)
            .ok_or_else(|| FirehoseError::not_found(name))?;
        let mut tags = s
            .tags
            .iter()
            .filter(|(k, _)| exclusive_start.is_none_or(|start| k.as_str() > start))
            .map(|(k, v)| (k.clone(), v.clone()));
        let page: Vec<_> = tags.by_ref().take(limit as usize).collect();
        Ok((page, tags.next().is_some()))
    }

    /// The metrics of a delivery stream: (minute start, metric, value).
    pub fn metrics(
        &self,
        name: &str,
    ) -> Result<Vec<(SimTime, FirehoseMetric, u64)>, FirehoseError> {
        self.streams
            .get(name)
            .map(|s| s.metrics.values())
            .ok_or_else(|| FirehoseError::not_found(name))
    }

    /// The total of a metric over the kept minutes.
    pub fn metric_total(&self, name: &str, metric: FirehoseMetric) -> u64 {
        self.streams
            .get(name)
            .map_or(0, |s| s.metrics.total(metric))
    }

    /// Names of the delivery streams, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.streams.keys().map(String::as_str)
    }

    /// A delivery stream's source and destination, read-only (for the UI; DescribeDeliveryStream moves time).
    pub fn configuration(&self, name: &str) -> Option<(&SourceConfig, &S3Destination)> {
        self.streams.get(name).map(|s| (&s.source, &s.destination))
    }

    /// A delivery stream's status at `now`, read-only (for the UI).
    pub fn status(&self, name: &str, now: SimTime) -> Option<DeliveryStreamStatus> {
        self.streams.get(name).map(|s| Self::status_of(s, now))
    }

    /// The buffers of a delivery stream (for the UI).
    pub fn buffers(&self, name: &str) -> impl Iterator<Item = &Buffer> {
        self.streams
            .get(name)
            .into_iter()
            .flat_map(|s| s.buffers.values())
    }

    /// Applies everything time does up to `now`: buffers whose interval ran out are flushed (each at its own
    /// deadline), deleted streams disappear.
    pub fn advance(&mut self, now: SimTime) {
        let epoch = self.epoch_unix_ms;
        let deleting_delay = SimDuration::from_millis(self.config.deleting_delay_ms);
        let retired = &mut self.billing_retired;
        self.streams.retain(|_, s| {
            let keep = s
                .deleting_since
                .is_none_or(|since| now < since.saturating_add(deleting_delay));
            if !keep {
                retired.push(FirehoseBillingRecord {
                    name: s.name.clone(),
                    ..s.billing.clone()
                });
            }
            keep
        });
        for s in self.streams.values_mut() {
            let interval = SimDuration::from_secs(u64::from(s.destination.interval_seconds));
            loop {
                let due = s
                    .buffers
                    .iter()
                    .map(|(k, b)| (b.opened_at.saturating_add(interval), k.clone()))
                    .filter(|(due, _)| *due <= now)
                    .min();
                let Some((due, key)) = due else { break };
                if let Some(buffer) = s.buffers.remove(&key) {
                    flush(
                        s,
                        &mut self.s3,
                        &mut self.opensearch,
                        &mut self.events,
                        epoch,
                        due,
                        buffer,
                        FlushReason::BufferInterval,
                    );
                }
            }
        }
        self.run_copies(now);
    }

    /// When time next changes something: a buffer's interval ends, a stream becomes ACTIVE or disappears, or a
    /// source shard is due to be read.
    pub fn next_transition(&self, now: SimTime) -> Option<SimTime> {
        let deleting_delay = SimDuration::from_millis(self.config.deleting_delay_ms);
        self.streams
            .values()
            .flat_map(|s| {
                let interval = SimDuration::from_secs(u64::from(s.destination.interval_seconds));
                let status = match s.deleting_since {
                    Some(since) => Some(since.saturating_add(deleting_delay)),
                    None if now < s.active_at => Some(s.active_at),
                    None => None,
                };
                let buffers = s
                    .buffers
                    .values()
                    .map(move |b| b.opened_at.saturating_add(interval));
                let polls = s.source_shards.values().map(|sh| sh.next_poll);
                let copies = s.redshift_pending.front().map(|p| p.due);
                status.into_iter().chain(buffers).chain(polls).chain(copies)
            })
            .min()
    }

    // ----- Kinesis data stream as a source: the World reads, the service keeps the cursors. -----

    /// Delivery streams reading a Kinesis data stream: (delivery stream, KinesisStreamARN, whether its shards
    /// are set up).
    pub fn kinesis_sources(&self) -> Vec<(String, String, bool)> {
        self.streams
            .values()
            .filter(|s| s.deleting_since.is_none())
            .filter_map(|s| match &s.source {
                SourceConfig::KinesisStream { stream_arn, .. } => Some((
                    s.name.clone(),
                    stream_arn.clone(),
                    !s.source_shards.is_empty(),
                )),
                SourceConfig::DirectPut => None,
            })
            .collect()
    }

    /// Sets where a source shard is read from (an iterator at LATEST at creation, TRIM_HORIZON for children).
    pub fn set_source_shard(
        &mut self,
        name: &str,
        shard_id: &str,
        iterator: String,
        next_poll: SimTime,
    ) {
        if let Some(s) = self.streams.get_mut(name) {
            s.source_shards.insert(
                shard_id.to_string(),
                SourceShard {
                    iterator: Some(iterator),
                    next_poll,
                },
            );
        }
    }

    /// Source shards due to be read at or before `now`: (delivery stream, shard id, iterator, due time).
    pub fn source_polls_due(&self, now: SimTime) -> Vec<(String, String, String, SimTime)> {
        self.streams
            .values()
            .filter(|s| s.deleting_since.is_none())
            .flat_map(|s| {
                s.source_shards.iter().filter_map(move |(id, sh)| {
                    let iterator = sh.iterator.clone()?;
                    (sh.next_poll <= now)
                        .then(|| (s.name.clone(), id.clone(), iterator, sh.next_poll))
                })
            })
            .collect()
    }

    /// The outcome of one read of a source shard at `now`: its records (accepted in order), and the iterator to
    /// continue from (`None`: the shard is finished and forgotten). The next read is a second later.
    pub fn source_read(
        &mut self,
        now: SimTime,
        name: &str,
        shard_id: &str,
        records: Vec<DirectRecord>,
        next_iterator: Option<String>,
    ) {
        if let Some(s) = self.streams.get_mut(name) {
            s.metrics.record(
                now,
                FirehoseMetric::DataReadFromKinesisStreamRecords,
                records.len() as u64,
            );
            match next_iterator {
                Some(iterator) => {
                    s.source_shards.insert(
                        shard_id.to_string(),
                        SourceShard {
                            iterator: Some(iterator),
                            next_poll: now
                                .saturating_add(SimDuration::from_millis(SOURCE_POLL_INTERVAL_MS)),
                        },
                    );
                }
                None => {
                    s.source_shards.remove(shard_id);
                }
            }
        }
        if !records.is_empty() {
            // The stream is ACTIVE whenever it has shards to read; a refusal here would be a bug, not input.
            let _ = self.accept(now, name, records);
        }
    }

    /// Whether a delivery stream already reads a shard (so a child is not started twice).
    pub fn reads_shard(&self, name: &str, shard_id: &str) -> bool {
        self.streams
            .get(name)
            .is_some_and(|s| s.source_shards.contains_key(shard_id))
    }

    // ----- Transform stage: pending invocations the shell completes. -----

    /// The next transform invocation not yet handed out, if any. The shell runs the function on
    /// [`TransformRequest::event_json`] (isolated, under a time limit) and reports how it ended with
    /// [`DeliveryStreams::complete_transform`].
    pub fn poll_transform(&mut self) -> Option<TransformRequest> {
        let epoch = self.epoch_unix_ms;
        for s in self.streams.values_mut() {
            let Some(f) = s.in_flight.iter_mut().find(|f| !f.handed_out) else {
                continue;
            };
            f.handed_out = true;
            let (lambda_arn, _) = lambda_settings(&s.destination);
            let batch = transform_batch(f, &lambda_arn, 0, epoch);
            let source_arn = match &s.source {
                SourceConfig::KinesisStream { stream_arn, .. } => Some(stream_arn.as_str()),
                SourceConfig::DirectPut => None,
            };
            let event_json = batch.request_json(&InvocationContext {
                delivery_stream_arn: &s.arn,
                region: REGION,
                source_kinesis_stream_arn: source_arn,
            });
            return Some(TransformRequest {
                delivery_stream: s.name.clone(),
                invocation_id: f.invocation_id.clone(),
                lambda_arn,
                delivery_stream_arn: s.arn.clone(),
                records: f
                    .records
                    .iter()
                    .map(|r| {
                        (
                            r.record_id.clone(),
                            epoch + r.arrival.as_millis(),
                            r.data.clone(),
                        )
                    })
                    .collect(),
                attempt: f.attempt,
                event_json,
            });
        }
        None
    }

    /// Completes a transform invocation with how it ended: the function's answer (validated by the Lambda
    /// contract of [`super::transform`]: every record id back once, `result` Ok, Dropped or ProcessingFailed, base64
    /// data), an error or a throttle. A failed invocation is offered again (a fresh `invocationId`) while
    /// `NumberOfRetries` allows, then its records go to the error prefix as `processing-failed`; records the
    /// function failed go there at once; the others are delivered (grouped by the partition keys it returned).
    pub fn complete_transform(
        &mut self,
        now: SimTime,
        name: &str,
        invocation_id: &str,
        outcome: InvocationOutcome<'_>,
    ) -> Result<(), FirehoseError> {
        let epoch = self.epoch_unix_ms;
        let s = self
            .streams
            .get_mut(name)
            .ok_or_else(|| FirehoseError::not_found(name))?;
        let Some(at) = s
            .in_flight
            .iter()
            .position(|f| f.invocation_id == invocation_id && f.handed_out)
        else {
            return Err(FirehoseError::invalid_argument(format!(
                "No transform invocation {invocation_id} is pending for {name}."
            )));
        };
        let (lambda_arn, retries) = lambda_settings(&s.destination);
        let Some(mut f) = s.in_flight.remove(at) else {
            return Ok(());
        };
        let mut batch = transform_batch(&f, &lambda_arn, retries, epoch);
        let unix_now = epoch.saturating_add(now.as_millis());
        match batch.complete(outcome, unix_now) {
            BatchStep::Retry => {
                f.attempt += 1;
                f.handed_out = false;
                f.invocation_id = uuid_from_bits(s.rng.next_u64(), s.rng.next_u64());
                s.in_flight.insert(at, f);
            }
            BatchStep::Finished(processed) => {
                let by_id: BTreeMap<&str, &BufferedRecord> = f
                    .records
                    .iter()
                    .map(|r| (r.record_id.as_str(), r))
                    .collect();
                let mut groups: BTreeMap<String, (BTreeMap<String, String>, Vec<BufferedRecord>)> =
                    BTreeMap::new();
                let mut failed = Vec::new();
                for p in processed {
                    let Some(original) = by_id.get(p.record_id.as_str()) else {
                        continue;
                    };
                    match p.outcome {
                        RecordOutcome::Ok {
                            data,
                            partition_keys,
                        } => {
                            let mut keys = f.partition_keys.clone();
                            keys.extend(partition_keys);
                            groups
                                .entry(name_of_partition(&keys))
                                .or_insert_with(|| (keys, Vec::new()))
                                .1
                                .push(BufferedRecord {
                                    data,
                                    ..(*original).clone()
                                });
                        }
                        RecordOutcome::Dropped => {}
                        RecordOutcome::Failed(doc) => failed.push((original.arrival, doc)),
                    }
                }
                if let Some(oldest) = failed.iter().map(|(a, _)| *a).min() {
                    let docs = failed.into_iter().map(|(_, d)| d).collect();
                    write_error_documents(
                        s,
                        &mut self.s3,
                        &mut self.events,
                        epoch,
                        now,
                        oldest,
                        docs,
                        ErrorOutputType::ProcessingFailed,
                    );
                }
                for (_, (keys, records)) in groups {
                    deliver(
                        s,
                        &mut self.s3,
                        &mut self.opensearch,
                        &mut self.events,
                        epoch,
                        now,
                        &keys,
                        records,
                    );
                }
            }
        }
        self.run_copies(now);
        Ok(())
    }
}

impl DeliveryStreams {
    // ----- HTTP endpoint destination: pending requests the shell performs. -----

    /// When the next HTTP endpoint request not yet handed out is due (a retry after its back-off), if any. Not
    /// part of [`DeliveryStreams::next_transition`]: nothing changes by itself then, the request only becomes
    /// available to [`DeliveryStreams::poll_http_request`].
    pub fn next_http_due(&self) -> Option<SimTime> {
        self.streams
            .values()
            .flat_map(|s| s.http_pending.iter())
            .filter(|p| !p.handed_out)
            .map(|p| p.due)
            .min()
    }

    /// The next HTTP endpoint request due at or before `now` and not yet handed out (delivery streams in name
    /// order, each stream's requests in order). The shell performs it and reports how it went with
    /// [`DeliveryStreams::complete_http_request`]. Its body's `timestamp` is `now`.
    pub fn poll_http_request(&mut self, now: SimTime) -> Option<PendingHttpRequest> {
        let epoch = DisplayEpoch {
            unix_ms: self.epoch_unix_ms,
        };
        for s in self.streams.values_mut() {
            let Some(p) = s
                .http_pending
                .iter_mut()
                .find(|p| !p.handed_out && p.due <= now)
            else {
                continue;
            };
            p.handed_out = true;
            let attempt = p.delivery.attempts_made().saturating_add(1);
            let out = PendingHttpRequest {
                delivery_stream: s.name.clone(),
                request_id: p.delivery.request_id().to_string(),
                attempt,
                request: p.delivery.request(now, epoch),
            };
            self.events.push(FirehoseEvent {
                at: now,
                delivery_stream: s.name.clone(),
                kind: FirehoseEventKind::HttpRequested {
                    request_id: out.request_id.clone(),
                    attempt,
                    records: p.delivery.records().len() as u64,
                },
            });
            return Some(out);
        }
        None
    }

    /// The HTTP endpoint requests handed out by [`DeliveryStreams::poll_http_request`] and not completed yet
    /// (delivery streams in name order, each stream's requests in order), rebuilt as then except that the body's
    /// `timestamp` is `now`. What a shell that lost its own copy (a reloaded page) can still answer.
    pub fn http_in_flight(&self, now: SimTime) -> Vec<PendingHttpRequest> {
        let epoch = DisplayEpoch {
            unix_ms: self.epoch_unix_ms,
        };
        self.streams
            .values()
            .flat_map(|s| {
                s.http_pending
                    .iter()
                    .filter(|p| p.handed_out)
                    .map(|p| PendingHttpRequest {
                        delivery_stream: s.name.clone(),
                        request_id: p.delivery.request_id().to_string(),
                        attempt: p.delivery.attempts_made().saturating_add(1),
                        request: p.delivery.request(now, epoch),
                    })
            })
            .collect()
    }

    /// Reports at `now` how the attempt of request `request_id` ended. A 200 that follows the response
    /// specification delivers the batch; other answers and transport failures are retried after a back-off
    /// (1 s doubling, +-15% jitter, at most 120 s) while the retry duration allows, then the records go to the
    /// error prefix as `http-endpoint-failed`; a 413 discards the batch at once (see
    /// [`super::http_endpoint`]).
    pub fn complete_http_request(
        &mut self,
        now: SimTime,
        request_id: &str,
        outcome: &Transport,
    ) -> Result<(), FirehoseError> {
        let epoch = self.epoch_unix_ms;
        let found = self.streams.values_mut().find_map(|s| {
            s.http_pending
                .iter()
                .position(|p| p.handed_out && p.delivery.request_id() == request_id)
                .map(|at| (s, at))
        });
        let Some((s, at)) = found else {
            return Err(FirehoseError::invalid_argument(format!(
                "No HTTP endpoint request {request_id} is pending."
            )));
        };
        let Some(mut p) = s.http_pending.remove(at) else {
            return Ok(());
        };
        let display = DisplayEpoch { unix_ms: epoch };
        let step = p.delivery.handle(now, display, outcome, &mut s.rng);
        let records = p.delivery.records().len() as u64;
        match step {
            DeliveryStep::Delivered { attempts } => {
                s.metrics
                    .record(now, FirehoseMetric::DeliveryToHttpEndpointSuccess, 1);
                s.metrics
                    .record(now, FirehoseMetric::DeliveryToHttpEndpointRecords, records);
                s.metrics.record(
                    now,
                    FirehoseMetric::DeliveryToHttpEndpointBytes,
                    p.raw_bytes,
                );
                self.events.push(FirehoseEvent {
                    at: now,
                    delivery_stream: s.name.clone(),
                    kind: FirehoseEventKind::DeliveredToHttpEndpoint {
                        request_id: request_id.to_string(),
                        attempts,
                        records,
                    },
                });
            }
            DeliveryStep::RetryAt(t) => {
                let code = p
                    .delivery
                    .last_error()
                    .map(|(c, _)| c.to_string())
                    .unwrap_or_default();
                self.events.push(FirehoseEvent {
                    at: now,
                    delivery_stream: s.name.clone(),
                    kind: FirehoseEventKind::HttpRetry {
                        request_id: request_id.to_string(),
                        code,
                        retry_at: t,
                    },
                });
                p.due = t;
                p.handed_out = false;
                s.http_pending.insert(at, p);
            }
            DeliveryStep::Failed(docs) => {
                let oldest = p
                    .delivery
                    .records()
                    .iter()
                    .map(|r| r.arrival_unix_ms)
                    .min()
                    .unwrap_or(epoch);
                let oldest = SimTime::from_millis(oldest.saturating_sub(epoch));
                write_error_documents(
                    s,
                    &mut self.s3,
                    &mut self.events,
                    epoch,
                    now,
                    oldest,
                    docs,
                    ErrorOutputType::HttpEndpointFailed,
                );
            }
            DeliveryStep::Discarded(_) => {
                self.events.push(FirehoseEvent {
                    at: now,
                    delivery_stream: s.name.clone(),
                    kind: FirehoseEventKind::HttpDiscarded {
                        request_id: request_id.to_string(),
                        records,
                    },
                });
            }
        }
        Ok(())
    }
}

/// The Lambda processor's ARN and retries.
fn lambda_settings(d: &S3Destination) -> (String, u32) {
    d.processing()
        .ok()
        .and_then(|p| {
            p.lambda()
                .map(|l| (l.lambda_arn.clone(), l.number_of_retries))
        })
        .unwrap_or_else(|| (String::new(), LAMBDA_RETRIES_DEFAULT))
}

/// The transform stage's batch for an in-flight flush, replayed to its attempt count (the batch itself is not
/// part of the persisted state: the in-flight records and the attempt number are).
fn transform_batch(f: &InFlight, lambda_arn: &str, retries: u32, epoch: u64) -> TransformBatch {
    let inputs = f
        .records
        .iter()
        .map(|r| TransformInput {
            record_id: r.record_id.clone(),
            arrival_unix_ms: epoch.saturating_add(r.arrival.as_millis()),
            data: r.data.clone(),
            kinesis: None,
        })
        .collect();
    let mut batch = TransformBatch::new(&f.invocation_id, lambda_arn, inputs, retries);
    for _ in 1..f.attempt {
        // Earlier attempts failed (that is why this one exists); replaying them only counts them.
        let _ = batch.complete(InvocationOutcome::FunctionError, 0);
    }
    batch
}

fn too_many_tags() -> FirehoseError {
    FirehoseError::new(
        FirehoseErrorType::LimitExceededException,
        format!("A delivery stream can have at most {TAGS_PER_DELIVERY_STREAM_MAX} tags."),
    )
}

fn record_id(s: &mut DeliveryStream) -> String {
    let mut bytes = Vec::with_capacity(40);
    bytes.extend_from_slice(&s.next_record.to_be_bytes());
    for _ in 0..4 {
        bytes.extend_from_slice(&s.rng.next_u64().to_be_bytes());
    }
    s.next_record += 1;
    STANDARD.encode(bytes)
}

fn flush_all(
    s: &mut DeliveryStream,
    s3: &mut SimS3,
    os: &mut OpenSearchDomains,
    events: &mut Vec<FirehoseEvent>,
    epoch: u64,
    now: SimTime,
    reason: FlushReason,
) {
    for buffer in std::mem::take(&mut s.buffers).into_values() {
        flush(s, s3, os, events, epoch, now, buffer, reason);
    }
}

/// Buffer -> transform -> destination.
#[allow(clippy::too_many_arguments)]
fn flush(
    s: &mut DeliveryStream,
    s3: &mut SimS3,
    os: &mut OpenSearchDomains,
    events: &mut Vec<FirehoseEvent>,
    epoch: u64,
    now: SimTime,
    buffer: Buffer,
    reason: FlushReason,
) {
    events.push(FirehoseEvent {
        at: now,
        delivery_stream: s.name.clone(),
        kind: FirehoseEventKind::Flushed {
            reason,
            records: buffer.records.len() as u64,
            bytes: buffer.bytes,
        },
    });
    let mut buffer = buffer;
    if let Ok(processing) = s.destination.processing()
        && processing.enabled
    {
        // Built-in processors that run before the Lambda function; a record may become several, or none.
        let unix_now = epoch.saturating_add(now.as_millis());
        let mut kept = Vec::with_capacity(buffer.records.len());
        let mut failed: BTreeMap<ErrorOutputType, Vec<ErrorRecord>> = BTreeMap::new();
        for record in std::mem::take(&mut buffer.records) {
            match processing.before_lambda(&record.data) {
                Ok(parts) if parts.len() == 1 && parts[0] == record.data => kept.push(record),
                Ok(parts) => {
                    for (i, data) in parts.into_iter().enumerate() {
                        kept.push(BufferedRecord {
                            record_id: if i == 0 {
                                record.record_id.clone()
                            } else {
                                format!("{}.{i}", record.record_id)
                            },
                            arrival: record.arrival,
                            data,
                        });
                    }
                }
                Err(e) => {
                    let arrival = epoch.saturating_add(record.arrival.as_millis());
                    failed.entry(e.output).or_default().push(e.error_record(
                        arrival,
                        unix_now,
                        &record.data,
                    ));
                }
            }
        }
        for (output, docs) in failed {
            write_error_documents(s, s3, events, epoch, now, now, docs, output);
        }
        buffer.records = kept;
    }
    if s.destination.processor("Lambda").is_some() {
        let invocation_id = uuid_from_bits(s.rng.next_u64(), s.rng.next_u64());
        s.next_invocation += 1;
        events.push(FirehoseEvent {
            at: now,
            delivery_stream: s.name.clone(),
            kind: FirehoseEventKind::TransformRequested {
                invocation_id: invocation_id.clone(),
                records: buffer.records.len() as u64,
            },
        });
        s.in_flight.push_back(InFlight {
            invocation_id,
            partition_keys: buffer.partition_keys,
            records: buffer.records,
            attempt: 1,
            handed_out: false,
        });
        return;
    }
    deliver(
        s,
        s3,
        os,
        events,
        epoch,
        now,
        &buffer.partition_keys,
        buffer.records,
    );
}

/// Built-in processors, then the destination: an S3 object, or HTTP endpoint requests (and, with `S3BackupMode`
/// `AllData`, a backup object too).
#[allow(clippy::too_many_arguments)]
fn deliver(
    s: &mut DeliveryStream,
    s3: &mut SimS3,
    os: &mut OpenSearchDomains,
    events: &mut Vec<FirehoseEvent>,
    epoch: u64,
    now: SimTime,
    partition_keys: &BTreeMap<String, String>,
    records: Vec<BufferedRecord>,
) {
    if let Some(d) = s.destination.opensearch.clone() {
        deliver_opensearch(s, s3, os, events, epoch, now, &d, partition_keys, records);
        return;
    }
    if s.destination.redshift.is_some() {
        let oldest = records.iter().map(|r| r.arrival).min();
        let processing = s.destination.processing().unwrap_or_default();
        let raw_bytes: u64 = records
            .iter()
            .map(|r| processing.after_lambda(&r.data).len() as u64)
            .sum();
        let before = events.len();
        deliver_s3(s, s3, events, epoch, now, partition_keys, records);
        let staged = events[before..].iter().find_map(|e| match &e.kind {
            FirehoseEventKind::DeliveredToS3 { key, records, .. } => Some((key.clone(), *records)),
            _ => None,
        });
        if let (Some((key, count)), Some(oldest)) = (staged, oldest) {
            let bucket = s.destination.bucket().to_string();
            let prefix = s.destination.prefix.clone();
            if let Some(copy) = super::redshift::stage(
                s3,
                &mut s.rng,
                &s.name,
                s.version,
                &prefix,
                &bucket,
                (key, count, raw_bytes),
                epoch.saturating_add(oldest.as_millis()),
                now,
            ) {
                s.redshift_pending.push_back(copy);
            }
        }
        return;
    }
    let Some(http) = s.destination.http.clone() else {
        deliver_s3(s, s3, events, epoch, now, partition_keys, records);
        return;
    };
    if records.is_empty() {
        return;
    }
    let processing = s.destination.processing().unwrap_or_default();
    let batch: Vec<DeliveryRecord> = records
        .iter()
        .map(|r| DeliveryRecord {
            data: processing.after_lambda(&r.data),
            arrival_unix_ms: epoch.saturating_add(r.arrival.as_millis()),
        })
        .collect();
    for part in split_into_requests(batch) {
        let request_id = new_request_id(&mut s.rng);
        let raw_bytes = part.iter().map(|r| r.data.len() as u64).sum();
        let delivery = HttpDelivery::new(http.endpoint_config(&s.arn), request_id, part);
        s.http_pending.push_back(PendingHttp {
            delivery,
            due: now,
            handed_out: false,
            raw_bytes,
        });
    }
    if http.backup_all_data {
        deliver_s3(s, s3, events, epoch, now, partition_keys, records);
    }
}

/// The OpenSearch destination: one Bulk request into the domain; documents it refuses go to the S3 backup as
/// `AmazonOpenSearchService-failed` documents (under `Prefix` + `AmazonOpenSearchService-failed/` when no ErrorOutputPrefix is set, as
/// Firehose appends the folder to the key prefix); with `AllDocuments` every record is also written to S3.
#[allow(clippy::too_many_arguments)]
fn deliver_opensearch(
    s: &mut DeliveryStream,
    s3: &mut SimS3,
    os: &mut OpenSearchDomains,
    events: &mut Vec<FirehoseEvent>,
    epoch: u64,
    now: SimTime,
    d: &OpenSearchDestination,
    partition_keys: &BTreeMap<String, String>,
    records: Vec<BufferedRecord>,
) {
    let Some(oldest) = records.iter().map(|r| r.arrival).min() else {
        return;
    };
    let unix_now = epoch.saturating_add(now.as_millis());
    let bulk: Vec<BulkRecord<'_>> = records
        .iter()
        .map(|r| BulkRecord {
            record_id: &r.record_id,
            arrival_unix_ms: epoch.saturating_add(r.arrival.as_millis()),
            data: &r.data,
        })
        .collect();
    let outcome = os.bulk(d, &bulk, unix_now, &mut s.rng);
    if outcome.indexed > 0 {
        s.metrics.record(
            now,
            FirehoseMetric::DeliveryToAmazonOpenSearchServiceRecords,
            outcome.indexed,
        );
        s.metrics.record(
            now,
            FirehoseMetric::DeliveryToAmazonOpenSearchServiceBytes,
            outcome.indexed_bytes,
        );
        s.metrics.record(
            now,
            FirehoseMetric::DeliveryToAmazonOpenSearchServiceSuccess,
            1,
        );
    }
    events.push(FirehoseEvent {
        at: now,
        delivery_stream: s.name.clone(),
        kind: FirehoseEventKind::DeliveredToOpenSearch {
            domain: d.domain_key(),
            indices: outcome.per_index.keys().cloned().collect(),
            records: outcome.indexed,
            failed: outcome.failed.len() as u64,
        },
    });
    if !outcome.failed.is_empty() {
        let saved = s.destination.error_output_prefix.clone();
        if saved.as_deref().is_none_or(str::is_empty) {
            s.destination.error_output_prefix = Some(s.destination.prefix.clone());
        }
        write_error_documents_as(
            s,
            s3,
            events,
            epoch,
            now,
            oldest,
            outcome.failed,
            super::opensearch::ERROR_OUTPUT_TYPE,
        );
        s.destination.error_output_prefix = saved;
    }
    if d.backup_all_documents {
        deliver_s3(s, s3, events, epoch, now, partition_keys, records);
    }
}

/// Built-in processors, then the S3 object.
fn deliver_s3(
    s: &mut DeliveryStream,
    s3: &mut SimS3,
    events: &mut Vec<FirehoseEvent>,
    epoch: u64,
    now: SimTime,
    partition_keys: &BTreeMap<String, String>,
    records: Vec<BufferedRecord>,
) {
    let Some(oldest) = records.iter().map(|r| r.arrival).min() else {
        return;
    };
    let processing = s.destination.processing().unwrap_or_default();
    let mut raw = Vec::with_capacity(records.iter().map(|r| r.data.len() + 1).sum());
    for r in &records {
        // Built-in processors that run after the Lambda function (AppendDelimiterToRecord).
        raw.extend_from_slice(&processing.after_lambda(&r.data));
    }
    let raw_bytes = raw.len() as u64;
    let timestamp = epoch.saturating_add(oldest.as_millis());
    let random = random_string_from_bits(s.rng.next_u64());
    let uuid = uuid_from_bits(s.rng.next_u64(), s.rng.next_u64());
    let template = PrefixTemplate::parse(&s.destination.prefix).ok();
    let prefix = match &template {
        Some(t) if t.has_expressions() => t.evaluate(&PrefixContext {
            timestamp_unix_ms: timestamp,
            random_string: &random,
            error_output_type: None,
            partition_keys,
        }),
        _ => Ok(format!(
            "{}{}",
            s.destination.prefix,
            default_time_prefix(timestamp)
        )),
    };
    let extension = s
        .destination
        .file_extension
        .clone()
        .unwrap_or_else(|| s.destination.compression.extension().to_string());
    let suffix = object_suffix(&s.name, s.version, timestamp, &uuid, &extension);
    let entry_name = suffix.strip_suffix(extension.as_str()).unwrap_or(&suffix);
    let body = compress(s.destination.compression, raw, entry_name, timestamp);
    let bucket = s.destination.bucket().to_string();
    let written = prefix
        .map_err(|e| ("PartitionKeyMissing", e))
        .and_then(|prefix| {
            let key = format!("{prefix}{suffix}");
            s3.put_object(
                now,
                &bucket,
                &key,
                body.clone(),
                content_type(s.destination.compression),
            )
            .map(|()| key)
            .map_err(|e| ("S3.KeyTooLong", e.message().to_string()))
        });
    match written {
        Ok(key) => {
            let count = records.len() as u64;
            if s.destination.dynamic_partitioning {
                s.billing.dynamic_partitioning_bytes = s
                    .billing
                    .dynamic_partitioning_bytes
                    .saturating_add(raw_bytes);
                s.billing.dynamic_partitioning_objects =
                    s.billing.dynamic_partitioning_objects.saturating_add(1);
            }
            s.metrics
                .record(now, FirehoseMetric::DeliveryToS3Records, count);
            s.metrics
                .record(now, FirehoseMetric::DeliveryToS3Bytes, raw_bytes);
            s.metrics
                .record(now, FirehoseMetric::DeliveryToS3Success, 1);
            s.metrics.record(
                now,
                FirehoseMetric::DeliveryToS3DataFreshness,
                now.saturating_since(oldest).as_millis(),
            );
            events.push(FirehoseEvent {
                at: now,
                delivery_stream: s.name.clone(),
                kind: FirehoseEventKind::DeliveredToS3 {
                    bucket,
                    key,
                    records: count,
                    object_bytes: body.len() as u64,
                },
            });
        }
        Err((code, message)) => {
            let failed: Vec<_> = records.iter().collect();
            write_error_records(
                s,
                s3,
                events,
                epoch,
                now,
                &failed,
                "s3-failed",
                code,
                &message,
                1,
                "",
            );
        }
    }
}

fn content_type(_compression: Compression) -> &'static str {
    "application/octet-stream"
}

/// The object body in the configured compression. A ZIP body holds one entry named `entry_name` (the object's
/// name without its extension) dated at `timestamp_unix_ms`.
pub fn compress(
    compression: Compression,
    raw: Vec<u8>,
    entry_name: &str,
    timestamp_unix_ms: u64,
) -> Vec<u8> {
    use super::compression as c;
    match compression {
        Compression::Uncompressed => raw,
        Compression::Gzip => super::gzip::compress(&raw),
        Compression::Zip => c::zip_single(entry_name, &raw, timestamp_unix_ms),
        Compression::Snappy => c::snappy_framed(&raw),
        Compression::HadoopSnappy => c::hadoop_snappy(&raw),
    }
}

/// Failed records as one error object under the error prefix (documents of [`ErrorRecord`]).
#[allow(clippy::too_many_arguments)]
fn write_error_records(
    s: &mut DeliveryStream,
    s3: &mut SimS3,
    events: &mut Vec<FirehoseEvent>,
    epoch: u64,
    now: SimTime,
    records: &[&BufferedRecord],
    error_output_type: &str,
    code: &str,
    message: &str,
    attempts: u32,
    lambda_arn: &str,
) {
    let Some(oldest) = records.iter().map(|r| r.arrival).min() else {
        return;
    };
    let unix_now = epoch.saturating_add(now.as_millis());
    let docs = records
        .iter()
        .map(|r| {
            let mut doc = ErrorRecord::new(
                attempts,
                epoch.saturating_add(r.arrival.as_millis()),
                code,
                message,
                unix_now,
                &r.data,
            );
            if !lambda_arn.is_empty() {
                doc.lambda_arn = Some(lambda_arn.to_string());
            }
            doc
        })
        .collect();
    write_error_documents_as(s, s3, events, epoch, now, oldest, docs, error_output_type);
}

/// Error documents as one object under the error prefix, its key evaluated for `error_output_type` at the
/// oldest record's arrival.
#[allow(clippy::too_many_arguments)]
fn write_error_documents(
    s: &mut DeliveryStream,
    s3: &mut SimS3,
    events: &mut Vec<FirehoseEvent>,
    epoch: u64,
    now: SimTime,
    oldest: SimTime,
    docs: Vec<ErrorRecord>,
    output: ErrorOutputType,
) {
    write_error_documents_as(s, s3, events, epoch, now, oldest, docs, output.as_str());
}

#[allow(clippy::too_many_arguments)]
fn write_error_documents_as(
    s: &mut DeliveryStream,
    s3: &mut SimS3,
    events: &mut Vec<FirehoseEvent>,
    epoch: u64,
    now: SimTime,
    oldest: SimTime,
    docs: Vec<ErrorRecord>,
    error_output_type: &str,
) {
    if docs.is_empty() {
        return;
    }
    let count = docs.len() as u64;
    let body = to_object_body(&docs);
    let timestamp = epoch.saturating_add(oldest.as_millis());
    let random = random_string_from_bits(s.rng.next_u64());
    let uuid = uuid_from_bits(s.rng.next_u64(), s.rng.next_u64());
    let empty = BTreeMap::new();
    let prefix = match s
        .destination
        .error_output_prefix
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(PrefixTemplate::parse)
    {
        Some(Ok(t)) if t.has_expressions() => t
            .evaluate(&PrefixContext {
                timestamp_unix_ms: timestamp,
                random_string: &random,
                error_output_type: Some(error_output_type),
                partition_keys: &empty,
            })
            .unwrap_or_default(),
        _ => format!(
            "{}{error_output_type}/{}",
            s.destination.error_output_prefix.as_deref().unwrap_or(""),
            default_time_prefix(timestamp)
        ),
    };
    let key = format!(
        "{prefix}{}",
        object_suffix(&s.name, s.version, timestamp, &uuid, "")
    );
    let bucket = s.destination.bucket().to_string();
    if s3
        .put_object(now, &bucket, &key, body, "application/octet-stream")
        .is_ok()
    {
        events.push(FirehoseEvent {
            at: now,
            delivery_stream: s.name.clone(),
            kind: FirehoseEventKind::ErrorOutput {
                error_output_type: error_output_type.to_string(),
                key,
                records: count,
            },
        });
    }
}

/// Record data is base64 text in snapshots.
mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text)
            .map_err(|_| D::Error::custom("record data must be base64"))
    }
}
