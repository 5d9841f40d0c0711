//! The Firehose API (`Firehose_20150804`): operation name and JSON body in, JSON body or AWS error out.
//!
//! Member names and constraints follow the service model (`aws-models/firehose-service-2.json`). As on the
//! Kinesis side, a request is read in three steps: types (SerializationException), every model constraint (one
//! ValidationException listing up to ten failures), then the operation. Destinations: S3, ExtendedS3 and
//! HttpEndpoint, OpenSearch ([`opensearch`]: Amazonopensearchservice, Elasticsearch and OpenSearch Serverless) and
//! Redshift; the others are refused with InvalidArgumentException until they are simulated. Sources: Direct PUT and
//! a Kinesis data stream.

mod opensearch;

use super::ApiResponse;
use super::wire::{Checked, Reader, Rule, Validation, is_name, parse_body};
use crate::firehose::http_endpoint::{
    self as http_endpoint, ACCESS_KEY_BYTES_MAX, ContentEncoding, RETRY_DURATION_SECONDS_DEFAULT,
    RETRY_DURATION_SECONDS_MAX,
};
use crate::firehose::redshift::{
    CopyCommandParts, RETRY_DURATION_SECONDS_DEFAULT as REDSHIFT_RETRY_DURATION_SECONDS_DEFAULT,
    RETRY_DURATION_SECONDS_MAX as REDSHIFT_RETRY_DURATION_SECONDS_MAX, RedshiftDestination,
    RedshiftDestinationUpdate, SecretsManager,
};
use crate::firehose::service::{
    BUFFER_INTERVAL_SECONDS_DEFAULT, BUFFER_INTERVAL_SECONDS_MAX, BUFFER_SIZE_MIB_DEFAULT,
    BUFFER_SIZE_MIB_MAX, BUFFER_SIZE_MIB_MIN, Compression, CreateRequest, DESTINATION_ID,
    DeliveryStreamView, DirectRecord, HttpDestination, HttpDestinationUpdate, MIB_BYTES,
    PUT_RECORD_BATCH_BYTES_MAX, PUT_RECORD_BATCH_RECORDS_MAX, Processor, RECORD_DATA_BYTES_MAX,
    S3Destination, S3DestinationUpdate, SourceConfig,
};
use crate::firehose::{DeliveryStreams, FirehoseError};
use crate::sim::SimTime;
use crate::streams::{ErrorType, KinesisError};
use serde_json::{Map, Value, json};

/// The `X-Amz-Target` prefix of the Firehose API.
pub const TARGET_PREFIX: &str = "Firehose_20150804";
/// Default page size of ListDeliveryStreams. Source: API reference, `Limit` (default 10).
pub const LIST_DELIVERY_STREAMS_LIMIT_DEFAULT: u32 = 10;
/// Largest page of ListDeliveryStreams. Source: service model, `ListDeliveryStreamsInputLimit` max 10,000.
pub const LIST_DELIVERY_STREAMS_LIMIT_MAX: i64 = 10_000;
/// Default page size of ListTagsForDeliveryStream. Source: service model, `ListTagsForDeliveryStreamInputLimit`.
pub const LIST_TAGS_LIMIT_DEFAULT: u32 = 50;
/// Most tags one TagDeliveryStream or CreateDeliveryStream carries. Source: service model, max 50.
pub const TAGS_PER_REQUEST_MAX: u64 = 50;

const NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";
const NAME_RULES: [Rule; 3] = [
    Rule::Pattern(NAME_PATTERN, is_name),
    Rule::LengthMin(1),
    Rule::LengthMax(64),
];
const STREAM_TYPES: &[&str] = &[
    "DirectPut",
    "KinesisStreamAsSource",
    "MSKAsSource",
    "DatabaseAsSource",
];
const COMPRESSION_FORMATS: &[&str] = &["UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"];
const PROCESSOR_TYPES: &[&str] = &[
    "RecordDeAggregation",
    "Decompression",
    "CloudWatchLogProcessing",
    "Lambda",
    "MetadataExtraction",
    "AppendDelimiterToRecord",
];
const PROCESSOR_PARAMETER_NAMES: &[&str] = &[
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
/// Destinations of the model this simulator does not deliver to yet.
const OTHER_DESTINATIONS: &[&str] = &[
    "SplunkDestinationConfiguration",
    "SnowflakeDestinationConfiguration",
    "IcebergDestinationConfiguration",
];

/// The operations this dispatch serves.
pub const OPERATIONS: &[&str] = &[
    "CreateDeliveryStream",
    "DeleteDeliveryStream",
    "DescribeDeliveryStream",
    "ListDeliveryStreams",
    "PutRecord",
    "PutRecordBatch",
    "UpdateDestination",
    "TagDeliveryStream",
    "UntagDeliveryStream",
    "ListTagsForDeliveryStream",
];

/// An error of either side as an API response (the wire reader speaks in Kinesis errors: same JSON protocol).
enum Failure {
    Wire(KinesisError),
    Service(FirehoseError),
}

impl From<KinesisError> for Failure {
    fn from(e: KinesisError) -> Self {
        Failure::Wire(e)
    }
}

impl From<FirehoseError> for Failure {
    fn from(e: FirehoseError) -> Self {
        Failure::Service(e)
    }
}

/// A Firehose error as an AWS JSON error response.
pub fn error_response(error: &FirehoseError) -> ApiResponse {
    let kind = error.error_type.as_str();
    let body = if error.message.is_empty() {
        json!({ "__type": kind })
    } else {
        json!({"__type": kind, "message": error.message})
    };
    ApiResponse {
        status: error.error_type.http_status(),
        body: body.to_string(),
        error_type: Some(kind),
        subscription: None,
    }
}

/// Runs one Firehose operation at simulated time `now`.
pub fn dispatch(
    firehose: &mut DeliveryStreams,
    now: SimTime,
    operation: &str,
    body: &str,
) -> ApiResponse {
    if !OPERATIONS.contains(&operation) {
        return ApiResponse::error(&KinesisError::new(ErrorType::UnknownOperationException, ""));
    }
    let ctx = Ctx {
        now,
        epoch_unix_ms: firehose.epoch_unix_ms(),
    };
    let result = parse_body(body).map_err(Failure::from).and_then(|map| {
        let r = Reader::new(&map);
        match operation {
            "CreateDeliveryStream" => create(firehose, &ctx, &r),
            "DeleteDeliveryStream" => delete(firehose, &ctx, &r),
            "DescribeDeliveryStream" => describe(firehose, &ctx, &r),
            "ListDeliveryStreams" => list(firehose, &ctx, &r),
            "PutRecord" => put_record(firehose, &ctx, &r),
            "PutRecordBatch" => put_record_batch(firehose, &ctx, &r),
            "UpdateDestination" => update_destination(firehose, &ctx, &r),
            "TagDeliveryStream" => tag(firehose, &ctx, &r),
            "UntagDeliveryStream" => untag(firehose, &ctx, &r),
            _ => list_tags(firehose, &ctx, &r),
        }
    });
    match result {
        Ok(value) => ApiResponse::ok(&value),
        Err(Failure::Wire(e)) => ApiResponse::error(&e),
        Err(Failure::Service(e)) => error_response(&e),
    }
}

struct Ctx {
    now: SimTime,
    epoch_unix_ms: u64,
}

impl Ctx {
    fn timestamp(&self, t: SimTime) -> Value {
        let unix_ms = self.epoch_unix_ms.saturating_add(t.as_millis());
        #[allow(clippy::cast_precision_loss)] // exact below 2^53 ms
        let seconds = unix_ms as f64 / 1_000.0;
        json!(seconds)
    }
}

fn string_value(v: &Option<String>) -> Checked<'_> {
    v.as_deref().map_or(Checked::Null, Checked::Str)
}

fn int_value(v: Option<i64>) -> Checked<'static> {
    v.map_or(Checked::Null, Checked::Int)
}

fn any(_: &str) -> bool {
    true
}

fn is_bucket_arn(s: &str) -> bool {
    s.starts_with("arn:")
        && s.split_once(":s3:::").is_some_and(|(_, b)| {
            (1..=255).contains(&b.len())
                && b.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '-')
        })
}

fn is_role_arn(s: &str) -> bool {
    s.starts_with("arn:")
        && s.split_once(":iam::").is_some_and(|(_, rest)| {
            rest.split_once(":role/").is_some_and(|(account, role)| {
                account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && !role.is_empty()
                    && role
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-/".contains(c))
            })
        })
}

fn is_kinesis_stream_arn(s: &str) -> bool {
    s.starts_with("arn:")
        && s.split_once(":kinesis:").is_some_and(|(_, rest)| {
            rest.split_once(":stream/")
                .is_some_and(|(_, name)| is_name(name))
        })
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_destination_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The name of a Kinesis data stream from its ARN.
pub fn stream_name_of_arn(arn: &str) -> Option<&str> {
    arn.rsplit_once(":stream/").map(|(_, n)| n)
}

/// Destination members read from a configuration or an update structure.
struct DestinationFields {
    role_arn: Option<String>,
    bucket_arn: Option<String>,
    prefix: Option<String>,
    error_output_prefix: Option<String>,
    size_mib: Option<i64>,
    interval_seconds: Option<i64>,
    compression: Option<String>,
    processing: Option<(bool, Vec<Processor>)>,
    dynamic_partitioning: Option<bool>,
    file_extension: Option<String>,
    custom_time_zone: Option<String>,
}

impl DestinationFields {
    fn empty() -> Self {
        DestinationFields {
            role_arn: None,
            bucket_arn: None,
            prefix: None,
            error_output_prefix: None,
            size_mib: None,
            interval_seconds: None,
            compression: None,
            processing: None,
            dynamic_partitioning: None,
            file_extension: None,
            custom_time_zone: None,
        }
    }
}

fn read_destination(
    r: &Reader<'_>,
    path: &str,
    v: &mut Validation,
) -> Result<DestinationFields, KinesisError> {
    let hints = r.structure("BufferingHints")?;
    let (size_mib, interval_seconds) = match &hints {
        Some(h) => (h.integer("SizeInMBs")?, h.integer("IntervalInSeconds")?),
        None => (None, None),
    };
    let processing = match r.structure("ProcessingConfiguration")? {
        None => None,
        Some(p) => {
            let enabled = p.boolean("Enabled")?.unwrap_or(false);
            let mut processors = Vec::new();
            for (i, item) in p
                .list_of_structures("Processors")?
                .unwrap_or_default()
                .into_iter()
                .enumerate()
            {
                let pr = Reader::new(item);
                let kind = pr.string("Type")?;
                v.check(
                    &format!(
                        "{path}.processingConfiguration.processors.{}.member.type",
                        i + 1
                    ),
                    string_value(&kind),
                    &[Rule::NotNull, Rule::Enum(PROCESSOR_TYPES)],
                );
                let mut parameters = Vec::new();
                for (j, param) in pr
                    .list_of_structures("Parameters")?
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                {
                    let pp = Reader::new(param);
                    let pname = pp.string("ParameterName")?;
                    let pvalue = pp.string("ParameterValue")?;
                    let at = format!(
                        "{path}.processingConfiguration.processors.{}.member.parameters.{}.member",
                        i + 1,
                        j + 1
                    );
                    v.check(
                        &format!("{at}.parameterName"),
                        string_value(&pname),
                        &[Rule::NotNull, Rule::Enum(PROCESSOR_PARAMETER_NAMES)],
                    );
                    v.check(
                        &format!("{at}.parameterValue"),
                        string_value(&pvalue),
                        &[Rule::NotNull, Rule::LengthMin(1), Rule::LengthMax(5120)],
                    );
                    parameters.push((pname.unwrap_or_default(), pvalue.unwrap_or_default()));
                }
                processors.push(Processor {
                    processor_type: kind.unwrap_or_default(),
                    parameters,
                });
            }
            Some((enabled, processors))
        }
    };
    let dynamic_partitioning = match r.structure("DynamicPartitioningConfiguration")? {
        Some(d) => Some(d.boolean("Enabled")?.unwrap_or(false)),
        None => None,
    };
    let fields = DestinationFields {
        role_arn: r.string("RoleARN")?,
        bucket_arn: r.string("BucketARN")?,
        prefix: r.string("Prefix")?,
        error_output_prefix: r.string("ErrorOutputPrefix")?,
        size_mib,
        interval_seconds,
        compression: r.string("CompressionFormat")?,
        processing,
        dynamic_partitioning,
        file_extension: r.string("FileExtension")?,
        custom_time_zone: r.string("CustomTimeZone")?,
    };
    v.check(
        &format!("{path}.roleARN"),
        string_value(&fields.role_arn),
        &[
            Rule::LengthMin(1),
            Rule::LengthMax(512),
            Rule::Pattern(
                "arn:.*:iam::\\d{12}:role/[a-zA-Z_0-9+=,.@\\-_/]+",
                is_role_arn,
            ),
        ],
    );
    v.check(
        &format!("{path}.bucketARN"),
        string_value(&fields.bucket_arn),
        &[
            Rule::LengthMin(1),
            Rule::LengthMax(2048),
            Rule::Pattern("arn:.*:s3:::[\\w\\.\\-]{1,255}", is_bucket_arn),
        ],
    );
    v.check(
        &format!("{path}.prefix"),
        string_value(&fields.prefix),
        &[Rule::LengthMax(1024), Rule::Pattern(".*", any)],
    );
    v.check(
        &format!("{path}.errorOutputPrefix"),
        string_value(&fields.error_output_prefix),
        &[Rule::LengthMax(1024), Rule::Pattern(".*", any)],
    );
    v.check(
        &format!("{path}.bufferingHints.sizeInMBs"),
        int_value(fields.size_mib),
        &[
            Rule::Min(i64::from(BUFFER_SIZE_MIB_MIN)),
            Rule::Max(i64::from(BUFFER_SIZE_MIB_MAX)),
        ],
    );
    v.check(
        &format!("{path}.bufferingHints.intervalInSeconds"),
        int_value(fields.interval_seconds),
        &[
            Rule::Min(0),
            Rule::Max(i64::from(BUFFER_INTERVAL_SECONDS_MAX)),
        ],
    );
    v.check(
        &format!("{path}.compressionFormat"),
        string_value(&fields.compression),
        &[Rule::Enum(COMPRESSION_FORMATS)],
    );
    v.check(
        &format!("{path}.fileExtension"),
        string_value(&fields.file_extension),
        &[Rule::LengthMax(128)],
    );
    Ok(fields)
}

fn compression_of(text: Option<&str>) -> Result<Option<Compression>, FirehoseError> {
    match text {
        None => Ok(None),
        Some(text) => Compression::from_wire(text).map(Some).ok_or_else(|| {
            FirehoseError::invalid_argument(format!("CompressionFormat {text} is not valid."))
        }),
    }
}

/// Most common attributes of an HTTP endpoint request. Source: service model,
/// `HttpEndpointCommonAttributesList` max 50.
pub const HTTP_COMMON_ATTRIBUTES_MAX: u64 = 50;
const CONTENT_ENCODINGS: &[&str] = &["NONE", "GZIP"];
const HTTP_S3_BACKUP_MODES: &[&str] = &["FailedDataOnly", "AllData"];

/// `https://.*` in the model; the simulator also takes `http://` so a local endpoint can be the destination.
fn is_endpoint_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

fn is_not_blank(s: &str) -> bool {
    !s.trim().is_empty()
}

/// The HTTP endpoint members of `HttpEndpointDestinationConfiguration` or `HttpEndpointDestinationUpdate`.
struct HttpFields {
    url: Option<String>,
    name: Option<String>,
    access_key: Option<String>,
    content_encoding: Option<ContentEncoding>,
    common_attributes: Option<Vec<(String, String)>>,
    retry_duration_seconds: Option<i64>,
    backup_mode: Option<String>,
    /// Buffering and processing, read as a destination's.
    destination: DestinationFields,
}

fn read_http(r: &Reader<'_>, path: &str, v: &mut Validation) -> Result<HttpFields, KinesisError> {
    let (url, name, access_key) = match r.structure("EndpointConfiguration")? {
        Some(e) => (e.string("Url")?, e.string("Name")?, e.string("AccessKey")?),
        None => (None, None, None),
    };
    let (encoding, common_attributes) = match r.structure("RequestConfiguration")? {
        Some(rc) => {
            let encoding = rc.string("ContentEncoding")?;
            let attributes = match rc.list_of_structures("CommonAttributes")? {
                None => None,
                Some(items) => {
                    v.check(
                        &format!("{path}.requestConfiguration.commonAttributes"),
                        Checked::Items(items.len() as u64),
                        &[Rule::LengthMax(HTTP_COMMON_ATTRIBUTES_MAX)],
                    );
                    let mut out = Vec::new();
                    for (i, item) in items.into_iter().enumerate() {
                        let a = Reader::new(item);
                        let n = a.string("AttributeName")?;
                        let value = a.string("AttributeValue")?;
                        let at = format!(
                            "{path}.requestConfiguration.commonAttributes.{}.member",
                            i + 1
                        );
                        v.check(
                            &format!("{at}.attributeName"),
                            string_value(&n),
                            &[
                                Rule::NotNull,
                                Rule::LengthMin(1),
                                Rule::LengthMax(256),
                                Rule::Pattern("^(?!\\s*$).+", is_not_blank),
                            ],
                        );
                        v.check(
                            &format!("{at}.attributeValue"),
                            string_value(&value),
                            &[Rule::NotNull, Rule::LengthMax(1024)],
                        );
                        out.push((n.unwrap_or_default(), value.unwrap_or_default()));
                    }
                    Some(out)
                }
            };
            (encoding, attributes)
        }
        None => (None, None),
    };
    let retry = match r.structure("RetryOptions")? {
        Some(o) => o.integer("DurationInSeconds")?,
        None => None,
    };
    let backup_mode = r.string("S3BackupMode")?;
    let destination = read_destination(r, path, v)?;
    v.check(
        &format!("{path}.endpointConfiguration.url"),
        string_value(&url),
        &[
            Rule::LengthMin(1),
            Rule::LengthMax(1000),
            Rule::Pattern("https://.*", is_endpoint_url),
        ],
    );
    v.check(
        &format!("{path}.endpointConfiguration.name"),
        string_value(&name),
        &[
            Rule::LengthMin(1),
            Rule::LengthMax(256),
            Rule::Pattern("^(?!\\s*$).+", is_not_blank),
        ],
    );
    v.check(
        &format!("{path}.endpointConfiguration.accessKey"),
        string_value(&access_key),
        &[Rule::LengthMax(ACCESS_KEY_BYTES_MAX)],
    );
    v.check(
        &format!("{path}.requestConfiguration.contentEncoding"),
        string_value(&encoding),
        &[Rule::Enum(CONTENT_ENCODINGS)],
    );
    v.check(
        &format!("{path}.retryOptions.durationInSeconds"),
        int_value(retry),
        &[
            Rule::Min(0),
            Rule::Max(i64::from(RETRY_DURATION_SECONDS_MAX)),
        ],
    );
    v.check(
        &format!("{path}.s3BackupMode"),
        string_value(&backup_mode),
        &[Rule::Enum(HTTP_S3_BACKUP_MODES)],
    );
    v.check(
        &format!("{path}.bufferingHints.sizeInMBs"),
        int_value(destination.size_mib),
        &[
            Rule::Min(i64::from(http_endpoint::BUFFER_SIZE_MB_MIN)),
            Rule::Max(i64::from(http_endpoint::BUFFER_SIZE_MB_MAX)),
        ],
    );
    Ok(HttpFields {
        url,
        name,
        access_key,
        content_encoding: match encoding.as_deref() {
            Some("GZIP") => Some(ContentEncoding::Gzip),
            Some(_) => Some(ContentEncoding::None),
            None => None,
        },
        common_attributes,
        retry_duration_seconds: retry,
        backup_mode,
        destination,
    })
}

fn narrow(v: Option<i64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

fn create(f: &mut DeliveryStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, Failure> {
    let name = r.string("DeliveryStreamName")?;
    let stream_type = r.string("DeliveryStreamType")?;
    let source = match r.structure("KinesisStreamSourceConfiguration")? {
        Some(k) => Some((k.string("KinesisStreamARN")?, k.string("RoleARN")?)),
        None => None,
    };
    let mut v = Validation::new();
    let s3 = r.structure("S3DestinationConfiguration")?;
    let ext = r.structure("ExtendedS3DestinationConfiguration")?;
    let http_reader = r.structure("HttpEndpointDestinationConfiguration")?;
    let mut http = None;
    if let Some(h) = &http_reader {
        let path = "httpEndpointDestinationConfiguration";
        let fields = read_http(h, path, &mut v)?;
        let backup = match h.structure("S3Configuration")? {
            Some(b) => Some(read_destination(
                &b,
                &format!("{path}.s3Configuration"),
                &mut v,
            )?),
            None => None,
        };
        v.check(
            &format!("{path}.endpointConfiguration"),
            if h.structure("EndpointConfiguration")?.is_some() {
                Checked::Int(0)
            } else {
                Checked::Null
            },
            &[Rule::NotNull],
        );
        v.check(
            &format!("{path}.endpointConfiguration.url"),
            string_value(&fields.url),
            &[Rule::NotNull],
        );
        v.check(
            &format!("{path}.s3Configuration"),
            if backup.is_some() {
                Checked::Int(0)
            } else {
                Checked::Null
            },
            &[Rule::NotNull],
        );
        if let Some(b) = &backup {
            v.check(
                &format!("{path}.s3Configuration.roleARN"),
                string_value(&b.role_arn),
                &[Rule::NotNull],
            );
            v.check(
                &format!("{path}.s3Configuration.bucketARN"),
                string_value(&b.bucket_arn),
                &[Rule::NotNull],
            );
        }
        http = Some((fields, backup));
    }
    let os_fields = opensearch::read_create(r, &mut v)?;
    let fields = match (&ext, &s3) {
        (Some(e), _) => Some((
            true,
            read_destination(e, "extendedS3DestinationConfiguration", &mut v)?,
        )),
        (None, Some(s)) => Some((
            false,
            read_destination(s, "s3DestinationConfiguration", &mut v)?,
        )),
        (None, None) => None,
    };
    let mut tags = Vec::new();
    let tag_items = r.list_of_structures("Tags")?;
    if let Some(items) = &tag_items {
        v.check(
            "tags",
            Checked::Items(items.len() as u64),
            &[Rule::LengthMin(1), Rule::LengthMax(TAGS_PER_REQUEST_MAX)],
        );
        tags = read_tags(items, &mut v)?;
    }
    v.check(
        "deliveryStreamName",
        string_value(&name),
        &[
            Rule::NotNull,
            Rule::LengthMin(1),
            Rule::LengthMax(64),
            Rule::Pattern(NAME_PATTERN, is_name),
        ],
    );
    v.check(
        "deliveryStreamType",
        string_value(&stream_type),
        &[Rule::Enum(STREAM_TYPES)],
    );
    if let Some((arn, role)) = &source {
        v.check(
            "kinesisStreamSourceConfiguration.kinesisStreamARN",
            string_value(arn),
            &[
                Rule::NotNull,
                Rule::LengthMin(1),
                Rule::LengthMax(512),
                Rule::Pattern(
                    "arn:.*:kinesis:[a-zA-Z0-9\\-]+:\\d{12}:stream/[a-zA-Z0-9_.-]+",
                    is_kinesis_stream_arn,
                ),
            ],
        );
        v.check(
            "kinesisStreamSourceConfiguration.roleARN",
            string_value(role),
            &[
                Rule::NotNull,
                Rule::LengthMin(1),
                Rule::LengthMax(512),
                Rule::Pattern(
                    "arn:.*:iam::\\d{12}:role/[a-zA-Z_0-9+=,.@\\-_/]+",
                    is_role_arn,
                ),
            ],
        );
    }
    if let Some((_, d)) = &fields {
        let path = if ext.is_some() {
            "extendedS3DestinationConfiguration"
        } else {
            "s3DestinationConfiguration"
        };
        v.check(
            &format!("{path}.roleARN"),
            string_value(&d.role_arn),
            &[Rule::NotNull],
        );
        v.check(
            &format!("{path}.bucketARN"),
            string_value(&d.bucket_arn),
            &[Rule::NotNull],
        );
    }
    if let Some(rs) = r.structure("RedshiftDestinationConfiguration")? {
        check_redshift(&rs, "redshiftDestinationConfiguration", false, &mut v)?;
    }
    v.finish()?;
    let name = name.unwrap_or_default();
    if let Some(other) = OTHER_DESTINATIONS
        .iter()
        .find(|d| r.structure(d).ok().flatten().is_some())
    {
        return Err(FirehoseError::invalid_argument(format!(
            "{other} is not simulated yet; configure ExtendedS3DestinationConfiguration or S3DestinationConfiguration."
        ))
        .into());
    }
    let source = match (stream_type.as_deref().unwrap_or("DirectPut"), source) {
        ("DirectPut", None) => SourceConfig::DirectPut,
        ("KinesisStreamAsSource", Some((arn, role))) => SourceConfig::KinesisStream {
            stream_arn: arn.unwrap_or_default(),
            role_arn: role.unwrap_or_default(),
        },
        ("KinesisStreamAsSource", None) => {
            return Err(FirehoseError::invalid_argument(
                "KinesisStreamSourceConfiguration is required when DeliveryStreamType is KinesisStreamAsSource.",
            )
            .into());
        }
        ("DirectPut", Some(_)) => {
            return Err(FirehoseError::invalid_argument(
                "KinesisStreamSourceConfiguration is only allowed when DeliveryStreamType is KinesisStreamAsSource.",
            )
            .into());
        }
        (other, _) => {
            return Err(FirehoseError::invalid_argument(format!(
                "DeliveryStreamType {other} is not simulated yet; use DirectPut or KinesisStreamAsSource."
            ))
            .into());
        }
    };
    if let Some(rs) = r.structure("RedshiftDestinationConfiguration")? {
        if http.is_some() || fields.is_some() || !os_fields.is_empty() {
            return Err(FirehoseError::invalid_argument(
                "Exactly one destination configuration must be provided.",
            )
            .into());
        }
        let destination = redshift_destination(&rs)?;
        let arn = f.create(
            ctx.now,
            CreateRequest {
                name,
                source,
                destination,
                tags,
            },
        )?;
        return Ok(json!({ "DeliveryStreamARN": arn }));
    }
    if http.is_some() && fields.is_some() {
        return Err(FirehoseError::invalid_argument(
            "Exactly one destination configuration must be provided.",
        )
        .into());
    }
    if !os_fields.is_empty() {
        if os_fields.len() > 1 || http.is_some() || fields.is_some() {
            return Err(FirehoseError::invalid_argument(
                "Exactly one destination configuration must be provided.",
            )
            .into());
        }
        let Some(os) = os_fields.into_iter().next() else {
            return Err(FirehoseError::invalid_argument(
                "Exactly one destination configuration must be provided.",
            )
            .into());
        };
        let destination = opensearch::destination(os)?;
        let arn = f.create(
            ctx.now,
            CreateRequest {
                name,
                source,
                destination,
                tags,
            },
        )?;
        return Ok(json!({ "DeliveryStreamARN": arn }));
    }
    if let Some((h, Some(backup))) = http {
        let destination = S3Destination {
            extended: false,
            role_arn: backup.role_arn.unwrap_or_default(),
            bucket_arn: backup.bucket_arn.unwrap_or_default(),
            prefix: backup.prefix.unwrap_or_default(),
            error_output_prefix: backup.error_output_prefix,
            size_mib: narrow(h.destination.size_mib)
                .unwrap_or(http_endpoint::BUFFER_SIZE_MB_DEFAULT),
            interval_seconds: narrow(h.destination.interval_seconds)
                .unwrap_or(http_endpoint::BUFFER_INTERVAL_SECONDS_DEFAULT),
            compression: compression_of(backup.compression.as_deref())?
                .unwrap_or(Compression::Uncompressed),
            processing_enabled: h.destination.processing.as_ref().is_some_and(|p| p.0),
            processors: h.destination.processing.map(|p| p.1).unwrap_or_default(),
            dynamic_partitioning: false,
            file_extension: None,
            custom_time_zone: None,
            http: Some(HttpDestination {
                url: h.url.unwrap_or_default(),
                name: h.name,
                access_key: h.access_key,
                content_encoding: h.content_encoding.unwrap_or(ContentEncoding::None),
                common_attributes: h.common_attributes.unwrap_or_default(),
                retry_duration_seconds: narrow(h.retry_duration_seconds)
                    .unwrap_or(RETRY_DURATION_SECONDS_DEFAULT),
                backup_all_data: h.backup_mode.as_deref() == Some("AllData"),
            }),
            opensearch: None,
            redshift: None,
        };
        let arn = f.create(
            ctx.now,
            CreateRequest {
                name,
                source,
                destination,
                tags,
            },
        )?;
        return Ok(json!({ "DeliveryStreamARN": arn }));
    }
    let Some((extended, d)) = fields else {
        return Err(FirehoseError::invalid_argument(
            "Exactly one destination configuration must be provided; this simulator delivers to ExtendedS3DestinationConfiguration, S3DestinationConfiguration or HttpEndpointDestinationConfiguration.",
        )
        .into());
    };
    let destination = S3Destination {
        extended,
        role_arn: d.role_arn.unwrap_or_default(),
        bucket_arn: d.bucket_arn.unwrap_or_default(),
        prefix: d.prefix.unwrap_or_default(),
        error_output_prefix: d.error_output_prefix,
        size_mib: narrow(d.size_mib).unwrap_or(BUFFER_SIZE_MIB_DEFAULT),
        interval_seconds: narrow(d.interval_seconds).unwrap_or(BUFFER_INTERVAL_SECONDS_DEFAULT),
        compression: compression_of(d.compression.as_deref())?.unwrap_or(Compression::Uncompressed),
        processing_enabled: d.processing.as_ref().is_some_and(|p| p.0),
        processors: d.processing.map(|p| p.1).unwrap_or_default(),
        dynamic_partitioning: d.dynamic_partitioning.unwrap_or(false),
        file_extension: d.file_extension,
        custom_time_zone: d.custom_time_zone,
        http: None,
        opensearch: None,
        redshift: None,
    };
    let arn = f.create(
        ctx.now,
        CreateRequest {
            name,
            source,
            destination,
            tags,
        },
    )?;
    Ok(json!({ "DeliveryStreamARN": arn }))
}

fn read_tags(
    items: &[&Map<String, Value>],
    v: &mut Validation,
) -> Result<Vec<(String, String)>, KinesisError> {
    let mut tags = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let t = Reader::new(item);
        let key = t.string("Key")?;
        let value = t.string("Value")?;
        v.check(
            &format!("tags.{}.member.key", i + 1),
            string_value(&key),
            &[Rule::NotNull, Rule::LengthMin(1), Rule::LengthMax(128)],
        );
        v.check(
            &format!("tags.{}.member.value", i + 1),
            string_value(&value),
            &[Rule::LengthMax(256)],
        );
        tags.push((key.unwrap_or_default(), value.unwrap_or_default()));
    }
    Ok(tags)
}

fn stream_name(r: &Reader<'_>, v: &mut Validation) -> Result<String, KinesisError> {
    let name = r.string("DeliveryStreamName")?;
    v.check(
        "deliveryStreamName",
        string_value(&name),
        &[Rule::NotNull, NAME_RULES[1], NAME_RULES[2], NAME_RULES[0]],
    );
    Ok(name.unwrap_or_default())
}

fn delete(f: &mut DeliveryStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, Failure> {
    let mut v = Validation::new();
    r.boolean("AllowForceDelete")?;
    let name = stream_name(r, &mut v)?;
    v.finish()?;
    f.delete(ctx.now, &name)?;
    Ok(json!({}))
}

fn destination_json(d: &S3Destination, extended: bool) -> Value {
    let mut out = json!({
        "RoleARN": d.role_arn,
        "BucketARN": d.bucket_arn,
        "BufferingHints": {"SizeInMBs": d.size_mib, "IntervalInSeconds": d.interval_seconds},
        "CompressionFormat": d.compression.as_str(),
        "EncryptionConfiguration": {"NoEncryptionConfig": "NoEncryption"},
        "CloudWatchLoggingOptions": {"Enabled": false},
    });
    if !d.prefix.is_empty() {
        out["Prefix"] = json!(d.prefix);
    }
    if let Some(p) = &d.error_output_prefix {
        out["ErrorOutputPrefix"] = json!(p);
    }
    if extended {
        out["S3BackupMode"] = json!("Disabled");
        if d.processing_enabled || !d.processors.is_empty() {
            out["ProcessingConfiguration"] = json!({
                "Enabled": d.processing_enabled,
                "Processors": d.processors.iter().map(|p| json!({
                    "Type": p.processor_type,
                    "Parameters": p.parameters.iter().map(|(n, v)| json!({"ParameterName": n, "ParameterValue": v})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            });
        }
        if d.dynamic_partitioning {
            out["DynamicPartitioningConfiguration"] =
                json!({"Enabled": true, "RetryOptions": {"DurationInSeconds": 300}});
        }
        if let Some(e) = &d.file_extension {
            out["FileExtension"] = json!(e);
        }
        if let Some(z) = &d.custom_time_zone {
            out["CustomTimeZone"] = json!(z);
        }
    }
    out
}

fn http_description_json(d: &S3Destination, h: &HttpDestination) -> Value {
    let mut endpoint = json!({ "Url": h.url });
    if let Some(n) = &h.name {
        endpoint["Name"] = json!(n);
    }
    let mut out = json!({
        "EndpointConfiguration": endpoint,
        "BufferingHints": {"SizeInMBs": d.size_mib, "IntervalInSeconds": d.interval_seconds},
        "CloudWatchLoggingOptions": {"Enabled": false},
        "RequestConfiguration": {
            "ContentEncoding": match h.content_encoding {
                ContentEncoding::None => "NONE",
                ContentEncoding::Gzip => "GZIP",
            },
            "CommonAttributes": h.common_attributes.iter()
                .map(|(n, v)| json!({"AttributeName": n, "AttributeValue": v}))
                .collect::<Vec<_>>(),
        },
        "RetryOptions": {"DurationInSeconds": h.retry_duration_seconds},
        "S3BackupMode": if h.backup_all_data { "AllData" } else { "FailedDataOnly" },
        "S3DestinationDescription": destination_json(d, false),
    });
    if !d.role_arn.is_empty() {
        out["RoleARN"] = json!(d.role_arn);
    }
    if d.processing_enabled || !d.processors.is_empty() {
        out["ProcessingConfiguration"] = json!({
            "Enabled": d.processing_enabled,
            "Processors": d.processors.iter().map(|p| json!({
                "Type": p.processor_type,
                "Parameters": p.parameters.iter().map(|(n, v)| json!({"ParameterName": n, "ParameterValue": v})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
    }
    out
}

fn description_json(ctx: &Ctx, s: &DeliveryStreamView) -> Value {
    let mut destination = json!({
        "DestinationId": DESTINATION_ID,
    });
    if let Some(o) = &s.destination.opensearch {
        let (member, value) = opensearch::description(&s.destination, o);
        destination[member] = value;
    } else if let Some(h) = &s.destination.http {
        destination["HttpEndpointDestinationDescription"] =
            http_description_json(&s.destination, h);
    } else if let Some(rs) = &s.destination.redshift {
        destination["RedshiftDestinationDescription"] =
            redshift_description_json(&s.destination, rs);
    } else {
        destination["S3DestinationDescription"] = destination_json(&s.destination, false);
    }
    if s.destination.extended {
        destination["ExtendedS3DestinationDescription"] = destination_json(&s.destination, true);
    }
    let mut out = json!({
        "DeliveryStreamName": s.name,
        "DeliveryStreamARN": s.arn,
        "DeliveryStreamStatus": s.status.as_str(),
        "DeliveryStreamEncryptionConfiguration": {"Status": "DISABLED"},
        "DeliveryStreamType": s.stream_type,
        "VersionId": s.version_id.to_string(),
        "CreateTimestamp": ctx.timestamp(s.created),
        "Destinations": [destination],
        "HasMoreDestinations": false,
    });
    if let Some(t) = s.last_update {
        out["LastUpdateTimestamp"] = ctx.timestamp(t);
    }
    if let SourceConfig::KinesisStream {
        stream_arn,
        role_arn,
    } = &s.source
    {
        out["Source"] = json!({"KinesisStreamSourceDescription": {
            "KinesisStreamARN": stream_arn,
            "RoleARN": role_arn,
            "DeliveryStartTimestamp": ctx.timestamp(s.created),
        }});
    }
    out
}

fn describe(f: &mut DeliveryStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, Failure> {
    let mut v = Validation::new();
    let limit = r.integer("Limit")?;
    let start = r.string("ExclusiveStartDestinationId")?;
    let name = stream_name(r, &mut v)?;
    v.check(
        "limit",
        int_value(limit),
        &[Rule::Min(1), Rule::Max(10_000)],
    );
    v.check(
        "exclusiveStartDestinationId",
        string_value(&start),
        &[
            Rule::LengthMin(1),
            Rule::LengthMax(100),
            Rule::Pattern("[a-zA-Z0-9-]+", is_destination_id),
        ],
    );
    v.finish()?;
    let view = f.describe(ctx.now, &name)?;
    Ok(json!({ "DeliveryStreamDescription": description_json(ctx, &view) }))
}

fn list(f: &mut DeliveryStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, Failure> {
    let limit = r.integer("Limit")?;
    let stream_type = r.string("DeliveryStreamType")?;
    let start = r.string("ExclusiveStartDeliveryStreamName")?;
    let mut v = Validation::new();
    v.check(
        "limit",
        int_value(limit),
        &[Rule::Min(1), Rule::Max(LIST_DELIVERY_STREAMS_LIMIT_MAX)],
    );
    v.check(
        "deliveryStreamType",
        string_value(&stream_type),
        &[Rule::Enum(STREAM_TYPES)],
    );
    v.check(
        "exclusiveStartDeliveryStreamName",
        string_value(&start),
        &NAME_RULES,
    );
    v.finish()?;
    let (names, more) = f.list(
        ctx.now,
        narrow(limit).unwrap_or(LIST_DELIVERY_STREAMS_LIMIT_DEFAULT),
        stream_type.as_deref(),
        start.as_deref(),
    );
    Ok(json!({"DeliveryStreamNames": names, "HasMoreDeliveryStreams": more}))
}

fn put_record(f: &mut DeliveryStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, Failure> {
    let record = r.structure("Record")?;
    let data = match &record {
        Some(rec) => rec.blob("Data")?,
        None => None,
    };
    let mut v = Validation::new();
    let name = stream_name(r, &mut v)?;
    match &record {
        None => v.check("record", Checked::Null, &[Rule::NotNull]),
        Some(_) => v.check(
            "record.data",
            data.as_ref()
                .map_or(Checked::Null, |d| Checked::Blob(d.len() as u64)),
            &[Rule::NotNull, Rule::LengthMax(RECORD_DATA_BYTES_MAX)],
        ),
    }
    v.finish()?;
    let results = f.put_direct(
        ctx.now,
        &name,
        vec![DirectRecord {
            data: data.unwrap_or_default(),
            ..DirectRecord::default()
        }],
    )?;
    let id = results.into_iter().next().transpose()?.unwrap_or_default();
    Ok(json!({"RecordId": id, "Encrypted": false}))
}

fn put_record_batch(f: &mut DeliveryStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, Failure> {
    let items = r.list_of_structures("Records")?;
    let decoded_max = match &items {
        Some(list) if list.len() as u64 > PUT_RECORD_BATCH_RECORDS_MAX => {
            super::wire::VALIDATION_ERRORS_MAX
        }
        _ => usize::MAX,
    };
    let mut records = Vec::new();
    for item in items.iter().flatten().take(decoded_max) {
        records.push(Reader::new(item).blob("Data")?);
    }
    let mut v = Validation::new();
    let name = stream_name(r, &mut v)?;
    match &items {
        None => v.check("records", Checked::Null, &[Rule::NotNull]),
        Some(list) => v.check(
            "records",
            Checked::Items(list.len() as u64),
            &[
                Rule::LengthMin(1),
                Rule::LengthMax(PUT_RECORD_BATCH_RECORDS_MAX),
            ],
        ),
    }
    for (i, data) in records.iter().enumerate() {
        v.check(
            &format!("records.{}.member.data", i + 1),
            data.as_ref()
                .map_or(Checked::Null, |d| Checked::Blob(d.len() as u64)),
            &[Rule::NotNull, Rule::LengthMax(RECORD_DATA_BYTES_MAX)],
        );
    }
    v.finish()?;
    let total: u64 = records.iter().flatten().map(|d| d.len() as u64).sum();
    if total > PUT_RECORD_BATCH_BYTES_MAX {
        return Err(FirehoseError::invalid_argument(format!(
            "Records size exceeds {} MB limit",
            PUT_RECORD_BATCH_BYTES_MAX / MIB_BYTES
        ))
        .into());
    }
    let results = f.put_direct(
        ctx.now,
        &name,
        records
            .into_iter()
            .map(|d| DirectRecord {
                data: d.unwrap_or_default(),
                ..DirectRecord::default()
            })
            .collect(),
    )?;
    let failed = results.iter().filter(|r| r.is_err()).count();
    let responses: Vec<Value> = results
        .into_iter()
        .map(|r| match r {
            Ok(id) => json!({"RecordId": id}),
            Err(e) => json!({"ErrorCode": e.error_type.as_str(), "ErrorMessage": e.message}),
        })
        .collect();
    Ok(json!({
        "FailedPutCount": failed,
        "Encrypted": false,
        "RequestResponses": responses,
    }))
}

fn update_destination(
    f: &mut DeliveryStreams,
    ctx: &Ctx,
    r: &Reader<'_>,
) -> Result<Value, Failure> {
    let version = r.string("CurrentDeliveryStreamVersionId")?;
    let destination_id = r.string("DestinationId")?;
    let mut v = Validation::new();
    let ext = r.structure("ExtendedS3DestinationUpdate")?;
    let s3 = r.structure("S3DestinationUpdate")?;
    let http = match r.structure("HttpEndpointDestinationUpdate")? {
        Some(h) => {
            let path = "httpEndpointDestinationUpdate";
            let fields = read_http(&h, path, &mut v)?;
            let backup = match h.structure("S3Update")? {
                Some(b) => Some(read_destination(&b, &format!("{path}.s3Update"), &mut v)?),
                None => None,
            };
            Some((fields, backup))
        }
        None => None,
    };
    let fields = match (&ext, &s3) {
        (Some(e), _) => Some((
            true,
            read_destination(e, "extendedS3DestinationUpdate", &mut v)?,
        )),
        (None, Some(s)) => Some((false, read_destination(s, "s3DestinationUpdate", &mut v)?)),
        (None, None) => None,
    };
    let os_fields = opensearch::read_update(r, &mut v)?;
    let name = stream_name(r, &mut v)?;
    v.check(
        "currentDeliveryStreamVersionId",
        string_value(&version),
        &[
            Rule::NotNull,
            Rule::LengthMin(1),
            Rule::LengthMax(50),
            Rule::Pattern("[0-9]+", is_digits),
        ],
    );
    v.check(
        "destinationId",
        string_value(&destination_id),
        &[
            Rule::NotNull,
            Rule::LengthMin(1),
            Rule::LengthMax(100),
            Rule::Pattern("[a-zA-Z0-9-]+", is_destination_id),
        ],
    );
    let redshift_update = r.structure("RedshiftDestinationUpdate")?;
    if let Some(rs) = &redshift_update {
        check_redshift(rs, "redshiftDestinationUpdate", true, &mut v)?;
    }
    v.finish()?;
    let current_is_redshift = f
        .configuration(name.as_str())
        .is_some_and(|(_, d)| d.redshift.is_some());
    if let Some(rs) = &redshift_update {
        if !current_is_redshift && f.configuration(name.as_str()).is_some() {
            return Err(FirehoseError::invalid_argument(
                "Changing a delivery stream's destination type to Redshift is not simulated; create a delivery stream with RedshiftDestinationConfiguration.",
            )
            .into());
        }
        let version = version
            .as_deref()
            .unwrap_or("0")
            .parse::<u64>()
            .unwrap_or(u64::MAX);
        let update = redshift_update_of(rs)?;
        f.update_destination(
            ctx.now,
            &name,
            version,
            destination_id.as_deref().unwrap_or(""),
            update,
        )?;
        return Ok(json!({}));
    }
    if current_is_redshift {
        return Err(FirehoseError::invalid_argument(
            "Changing a Redshift destination to another destination type is not simulated; update it with RedshiftDestinationUpdate.",
        )
        .into());
    }
    let version = version
        .as_deref()
        .unwrap_or("0")
        .parse::<u64>()
        .unwrap_or(u64::MAX);
    if let Some(other) = OTHER_DESTINATIONS
        .iter()
        .map(|d| d.replace("Configuration", "Update"))
        .find(|d| r.structure(d).ok().flatten().is_some())
    {
        return Err(FirehoseError::invalid_argument(format!(
            "{other} is not simulated yet; update the S3 destination."
        ))
        .into());
    }
    if !os_fields.is_empty() {
        if os_fields.len() > 1 || http.is_some() || fields.is_some() {
            return Err(FirehoseError::invalid_argument(
                "Exactly one destination update must be provided.",
            )
            .into());
        }
        if let Some(os) = os_fields.into_iter().next() {
            f.update_destination(
                ctx.now,
                &name,
                version,
                destination_id.as_deref().unwrap_or(""),
                opensearch::update(os)?,
            )?;
        }
        return Ok(json!({}));
    }
    if let Some((h, backup)) = http {
        let b = backup.unwrap_or(DestinationFields::empty());
        let update = S3DestinationUpdate {
            extended: false,
            role_arn: b.role_arn,
            bucket_arn: b.bucket_arn,
            prefix: b.prefix,
            error_output_prefix: b.error_output_prefix,
            size_mib: narrow(h.destination.size_mib),
            interval_seconds: narrow(h.destination.interval_seconds),
            compression: compression_of(b.compression.as_deref())?,
            processing: h.destination.processing,
            dynamic_partitioning: None,
            file_extension: None,
            http: Some(HttpDestinationUpdate {
                url: h.url,
                name: h.name,
                access_key: h.access_key,
                content_encoding: h.content_encoding,
                common_attributes: h.common_attributes,
                retry_duration_seconds: narrow(h.retry_duration_seconds),
                backup_all_data: h.backup_mode.map(|m| m == "AllData"),
            }),
            opensearch: None,
            redshift: None,
        };
        f.update_destination(
            ctx.now,
            &name,
            version,
            destination_id.as_deref().unwrap_or(""),
            update,
        )?;
        return Ok(json!({}));
    }
    let update = match fields {
        None => S3DestinationUpdate::default(),
        Some((extended, d)) => S3DestinationUpdate {
            extended,
            role_arn: d.role_arn,
            bucket_arn: d.bucket_arn,
            prefix: d.prefix,
            error_output_prefix: d.error_output_prefix,
            size_mib: narrow(d.size_mib),
            interval_seconds: narrow(d.interval_seconds),
            compression: compression_of(d.compression.as_deref())?,
            processing: d.processing,
            dynamic_partitioning: d.dynamic_partitioning,
            file_extension: d.file_extension,
            http: None,
            opensearch: None,
            redshift: None,
        },
    };
    f.update_destination(
        ctx.now,
        &name,
        version,
        destination_id.as_deref().unwrap_or(""),
        update,
    )?;
    Ok(json!({}))
}

fn tag(f: &mut DeliveryStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, Failure> {
    let items = r.list_of_structures("Tags")?;
    let mut v = Validation::new();
    let name = stream_name(r, &mut v)?;
    let tags = match &items {
        None => {
            v.check("tags", Checked::Null, &[Rule::NotNull]);
            Vec::new()
        }
        Some(items) => {
            v.check(
                "tags",
                Checked::Items(items.len() as u64),
                &[Rule::LengthMin(1), Rule::LengthMax(TAGS_PER_REQUEST_MAX)],
            );
            read_tags(items, &mut v)?
        }
    };
    v.finish()?;
    f.tag(ctx.now, &name, tags)?;
    Ok(json!({}))
}

fn untag(f: &mut DeliveryStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, Failure> {
    let keys = r.list_of_strings("TagKeys")?;
    let mut v = Validation::new();
    let name = stream_name(r, &mut v)?;
    match &keys {
        None => v.check("tagKeys", Checked::Null, &[Rule::NotNull]),
        Some(k) => v.check(
            "tagKeys",
            Checked::Items(k.len() as u64),
            &[Rule::LengthMin(1), Rule::LengthMax(TAGS_PER_REQUEST_MAX)],
        ),
    }
    v.finish()?;
    f.untag(ctx.now, &name, &keys.unwrap_or_default())?;
    Ok(json!({}))
}

fn list_tags(f: &mut DeliveryStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, Failure> {
    let start = r.string("ExclusiveStartTagKey")?;
    let limit = r.integer("Limit")?;
    let mut v = Validation::new();
    let name = stream_name(r, &mut v)?;
    v.check(
        "exclusiveStartTagKey",
        string_value(&start),
        &[Rule::LengthMin(1), Rule::LengthMax(128)],
    );
    v.check("limit", int_value(limit), &[Rule::Min(1), Rule::Max(50)]);
    v.finish()?;
    let (tags, more) = f.list_tags(
        ctx.now,
        &name,
        start.as_deref(),
        narrow(limit).unwrap_or(LIST_TAGS_LIMIT_DEFAULT),
    )?;
    Ok(json!({
        "Tags": tags.into_iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>(),
        "HasMoreTags": more,
    }))
}

const REDSHIFT_S3_BACKUP_MODES: &[&str] = &["Disabled", "Enabled"];

/// `jdbc:(redshift|postgresql)://host.redshift[-serverless].region...:port/db` (the model's pattern, read plainly).
fn is_jdbc_url(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("jdbc:redshift://")
        .or_else(|| s.strip_prefix("jdbc:postgresql://"))
    else {
        return false;
    };
    let Some((host_port, db)) = rest.split_once('/') else {
        return false;
    };
    let Some((host, port)) = host_port.rsplit_once(':') else {
        return false;
    };
    !db.is_empty()
        && db
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '-'))
        && (1..=5).contains(&port.len())
        && port.chars().all(|c| c.is_ascii_digit())
        && (host.contains(".redshift.") || host.contains(".redshift-serverless."))
}

fn is_secret_arn(s: &str) -> bool {
    s.starts_with("arn:") && s.contains(":secretsmanager:") && s.contains(":secret:")
}

/// The model's constraints on `RedshiftDestinationConfiguration` (or, with `update`, `RedshiftDestinationUpdate`,
/// whose members are all optional).
fn check_redshift(
    r: &Reader<'_>,
    path: &str,
    update: bool,
    v: &mut Validation,
) -> Result<(), KinesisError> {
    let required = |rules: &[Rule]| -> Vec<Rule> {
        let mut out = Vec::new();
        if !update {
            out.push(Rule::NotNull);
        }
        out.extend_from_slice(rules);
        out
    };
    let role = r.string("RoleARN")?;
    v.check(
        &format!("{path}.roleARN"),
        string_value(&role),
        &required(&[
            Rule::LengthMin(1),
            Rule::LengthMax(512),
            Rule::Pattern(
                "arn:.*:iam::\\d{12}:role/[a-zA-Z_0-9+=,.@\\-_/]+",
                is_role_arn,
            ),
        ]),
    );
    let url = r.string("ClusterJDBCURL")?;
    v.check(
        &format!("{path}.clusterJDBCURL"),
        string_value(&url),
        &required(&[
            Rule::LengthMin(1),
            Rule::LengthMax(512),
            Rule::Pattern(
                "jdbc:(redshift|postgresql)://((?!-)[A-Za-z0-9-]{1,63}(?<!-)\\.)+(redshift(-serverless)?)\\.([a-zA-Z0-9\\.\\-]+):\\d{1,5}/[a-zA-Z0-9_$-]+",
                is_jdbc_url,
            ),
        ]),
    );
    let copy = r.structure("CopyCommand")?;
    v.check(
        &format!("{path}.copyCommand"),
        if copy.is_some() {
            Checked::Int(0)
        } else {
            Checked::Null
        },
        &required(&[]),
    );
    if let Some(c) = &copy {
        v.check(
            &format!("{path}.copyCommand.dataTableName"),
            string_value(&c.string("DataTableName")?),
            &[Rule::NotNull, Rule::LengthMin(1), Rule::LengthMax(512)],
        );
        v.check(
            &format!("{path}.copyCommand.dataTableColumns"),
            string_value(&c.string("DataTableColumns")?),
            &[Rule::LengthMax(10_240)],
        );
        v.check(
            &format!("{path}.copyCommand.copyOptions"),
            string_value(&c.string("CopyOptions")?),
            &[Rule::LengthMax(10_240)],
        );
    }
    v.check(
        &format!("{path}.username"),
        string_value(&r.string("Username")?),
        &[Rule::LengthMin(1), Rule::LengthMax(512)],
    );
    v.check(
        &format!("{path}.password"),
        string_value(&r.string("Password")?),
        &[Rule::LengthMin(6), Rule::LengthMax(512)],
    );
    let retry = match r.structure("RetryOptions")? {
        Some(o) => o.integer("DurationInSeconds")?,
        None => None,
    };
    v.check(
        &format!("{path}.retryOptions.durationInSeconds"),
        int_value(retry),
        &[
            Rule::Min(0),
            Rule::Max(i64::from(REDSHIFT_RETRY_DURATION_SECONDS_MAX)),
        ],
    );
    v.check(
        &format!("{path}.s3BackupMode"),
        string_value(&r.string("S3BackupMode")?),
        &[Rule::Enum(REDSHIFT_S3_BACKUP_MODES)],
    );
    if let Some(sm) = r.structure("SecretsManagerConfiguration")? {
        v.check(
            &format!("{path}.secretsManagerConfiguration.enabled"),
            match sm.boolean("Enabled")? {
                Some(_) => Checked::Int(0),
                None => Checked::Null,
            },
            &[Rule::NotNull],
        );
        v.check(
            &format!("{path}.secretsManagerConfiguration.secretARN"),
            string_value(&sm.string("SecretARN")?),
            &[
                Rule::LengthMin(1),
                Rule::LengthMax(2048),
                Rule::Pattern(
                    "arn:.*:secretsmanager:[a-zA-Z0-9\\-]+:\\d{12}:secret:[a-zA-Z0-9\\-/_+=.@!]+",
                    is_secret_arn,
                ),
            ],
        );
    }
    let s3_member = if update {
        "S3Update"
    } else {
        "S3Configuration"
    };
    let s3_path = if update {
        "s3Update"
    } else {
        "s3Configuration"
    };
    let s3 = r.structure(s3_member)?;
    v.check(
        &format!("{path}.{s3_path}"),
        if s3.is_some() {
            Checked::Int(0)
        } else {
            Checked::Null
        },
        &required(&[]),
    );
    if let Some(s3) = &s3 {
        let d = read_destination(s3, &format!("{path}.{s3_path}"), v)?;
        if !update {
            v.check(
                &format!("{path}.{s3_path}.roleARN"),
                string_value(&d.role_arn),
                &[Rule::NotNull],
            );
            v.check(
                &format!("{path}.{s3_path}.bucketARN"),
                string_value(&d.bucket_arn),
                &[Rule::NotNull],
            );
        }
    }
    // ProcessingConfiguration and the Redshift-level members read as a destination's (roleARN checked above).
    read_destination(r, path, &mut Validation::new())?;
    Ok(())
}

fn secrets_of(r: &Reader<'_>) -> Result<Option<SecretsManager>, Failure> {
    Ok(match r.structure("SecretsManagerConfiguration")? {
        Some(sm) => Some(SecretsManager {
            enabled: sm.boolean("Enabled")?.unwrap_or(false),
            secret_arn: sm.string("SecretARN")?,
            role_arn: sm.string("RoleARN")?,
        }),
        None => None,
    })
}

fn copy_of(r: &Reader<'_>) -> Result<Option<CopyCommandParts>, Failure> {
    Ok(match r.structure("CopyCommand")? {
        Some(c) => Some((
            c.string("DataTableName")?.unwrap_or_default(),
            c.string("DataTableColumns")?,
            c.string("CopyOptions")?,
        )),
        None => None,
    })
}

fn refuse_backup(r: &Reader<'_>) -> Result<(), Failure> {
    if r.string("S3BackupMode")?.as_deref() == Some("Enabled") {
        return Err(FirehoseError::invalid_argument(
            "S3BackupMode Enabled (a copy of the source records in S3BackupConfiguration) is not simulated yet for Redshift; use Disabled.",
        )
        .into());
    }
    Ok(())
}

/// A checked `RedshiftDestinationConfiguration` as the delivery stream's destination: `S3Configuration` is the
/// staging S3 destination; buffering and compression are its, processing is the Redshift configuration's.
fn redshift_destination(r: &Reader<'_>) -> Result<S3Destination, Failure> {
    refuse_backup(r)?;
    let mut ignore = Validation::new();
    let top = read_destination(r, "", &mut ignore)?;
    let s3 = match r.structure("S3Configuration")? {
        Some(s) => read_destination(&s, "", &mut ignore)?,
        None => DestinationFields::empty(),
    };
    let (table, columns, options) = copy_of(r)?.unwrap_or_default();
    let retry = match r.structure("RetryOptions")? {
        Some(o) => narrow(o.integer("DurationInSeconds")?),
        None => None,
    };
    Ok(S3Destination {
        extended: false,
        role_arn: s3.role_arn.unwrap_or_default(),
        bucket_arn: s3.bucket_arn.unwrap_or_default(),
        prefix: s3.prefix.unwrap_or_default(),
        error_output_prefix: s3.error_output_prefix,
        size_mib: narrow(s3.size_mib).unwrap_or(BUFFER_SIZE_MIB_DEFAULT),
        interval_seconds: narrow(s3.interval_seconds).unwrap_or(BUFFER_INTERVAL_SECONDS_DEFAULT),
        compression: compression_of(s3.compression.as_deref())?
            .unwrap_or(Compression::Uncompressed),
        processing_enabled: top.processing.as_ref().is_some_and(|p| p.0),
        processors: top.processing.map(|p| p.1).unwrap_or_default(),
        dynamic_partitioning: false,
        file_extension: None,
        custom_time_zone: None,
        http: None,
        opensearch: None,
        redshift: Some(RedshiftDestination {
            role_arn: top.role_arn.unwrap_or_default(),
            cluster_jdbc_url: r.string("ClusterJDBCURL")?.unwrap_or_default(),
            data_table_name: table,
            data_table_columns: columns,
            copy_options: options,
            username: r.string("Username")?,
            secrets_manager: secrets_of(r)?,
            retry_duration_seconds: retry.unwrap_or(REDSHIFT_RETRY_DURATION_SECONDS_DEFAULT),
        }),
    })
}

fn redshift_update_of(r: &Reader<'_>) -> Result<S3DestinationUpdate, Failure> {
    refuse_backup(r)?;
    let mut ignore = Validation::new();
    let top = read_destination(r, "", &mut ignore)?;
    let s3 = match r.structure("S3Update")? {
        Some(s) => read_destination(&s, "", &mut ignore)?,
        None => DestinationFields::empty(),
    };
    let retry = match r.structure("RetryOptions")? {
        Some(o) => narrow(o.integer("DurationInSeconds")?),
        None => None,
    };
    Ok(S3DestinationUpdate {
        extended: false,
        role_arn: s3.role_arn,
        bucket_arn: s3.bucket_arn,
        prefix: s3.prefix,
        error_output_prefix: s3.error_output_prefix,
        size_mib: narrow(s3.size_mib),
        interval_seconds: narrow(s3.interval_seconds),
        compression: compression_of(s3.compression.as_deref())?,
        processing: top.processing,
        dynamic_partitioning: None,
        file_extension: None,
        http: None,
        opensearch: None,
        redshift: Some(RedshiftDestinationUpdate {
            role_arn: top.role_arn,
            cluster_jdbc_url: r.string("ClusterJDBCURL")?,
            copy: copy_of(r)?,
            username: r.string("Username")?,
            secrets_manager: secrets_of(r)?,
            retry_duration_seconds: retry,
        }),
    })
}

/// `RedshiftDestinationDescription`: the password is never returned.
fn redshift_description_json(d: &S3Destination, rs: &RedshiftDestination) -> Value {
    let mut copy = json!({ "DataTableName": rs.data_table_name });
    if let Some(c) = &rs.data_table_columns {
        copy["DataTableColumns"] = json!(c);
    }
    if let Some(o) = &rs.copy_options {
        copy["CopyOptions"] = json!(o);
    }
    let mut out = json!({
        "RoleARN": rs.role_arn,
        "ClusterJDBCURL": rs.cluster_jdbc_url,
        "CopyCommand": copy,
        "RetryOptions": {"DurationInSeconds": rs.retry_duration_seconds},
        "S3DestinationDescription": destination_json(d, false),
        "S3BackupMode": "Disabled",
        "CloudWatchLoggingOptions": {"Enabled": false},
    });
    if let Some(u) = &rs.username {
        out["Username"] = json!(u);
    }
    if let Some(sm) = &rs.secrets_manager {
        let mut smj = json!({ "Enabled": sm.enabled });
        if let Some(a) = &sm.secret_arn {
            smj["SecretARN"] = json!(a);
        }
        if let Some(a) = &sm.role_arn {
            smj["RoleARN"] = json!(a);
        }
        out["SecretsManagerConfiguration"] = smj;
    }
    if d.processing_enabled || !d.processors.is_empty() {
        out["ProcessingConfiguration"] = json!({
            "Enabled": d.processing_enabled,
            "Processors": d.processors.iter().map(|p| json!({
                "Type": p.processor_type,
                "Parameters": p.parameters.iter().map(|(n, v)| json!({"ParameterName": n, "ParameterValue": v})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
    }
    out
}
