//! The OpenSearch destination structures of the Firehose API: `AmazonopensearchserviceDestinationConfiguration`,
//! `ElasticsearchDestinationConfiguration` (the same destination under its older name) and
//! `AmazonOpenSearchServerlessDestinationConfiguration`, their `...Update` and `...Description` shapes.
//!
//! The `DomainARN` (or `ClusterEndpoint` / `CollectionEndpoint`) names a simulated domain, created on first use;
//! a malformed ARN is the model's pattern ValidationException.

use super::{
    DestinationFields, Failure, compression_of, destination_json, int_value, narrow,
    read_destination, string_value,
};
use crate::api::wire::{Checked, Reader, Rule, Validation};
use crate::firehose::FirehoseError;
use crate::firehose::opensearch::{
    self as os, DocumentIdFormat, IndexRotation, OpenSearchDestination,
    OpenSearchDestinationUpdate, OpenSearchFlavor,
};
use crate::firehose::service::{Compression, S3Destination, S3DestinationUpdate};
use serde_json::{Value, json};

/// The three spellings: (configuration member, update member, description member, flavor).
const SHAPES: &[(&str, &str, &str, OpenSearchFlavor)] = &[
    (
        "AmazonopensearchserviceDestinationConfiguration",
        "AmazonopensearchserviceDestinationUpdate",
        "AmazonopensearchserviceDestinationDescription",
        OpenSearchFlavor::Service,
    ),
    (
        "ElasticsearchDestinationConfiguration",
        "ElasticsearchDestinationUpdate",
        "ElasticsearchDestinationDescription",
        OpenSearchFlavor::Elasticsearch,
    ),
    (
        "AmazonOpenSearchServerlessDestinationConfiguration",
        "AmazonOpenSearchServerlessDestinationUpdate",
        "AmazonOpenSearchServerlessDestinationDescription",
        OpenSearchFlavor::Serverless,
    ),
];

const BACKUP_MODES: &[&str] = &["FailedDocumentsOnly", "AllDocuments"];
const DOMAIN_ARN_PATTERN: &str = "arn:.*:es:[a-zA-Z0-9\\-]+:\\d{12}:domain/[a-z][-0-9a-z]{2,27}";

/// `arn:.*:es:[a-zA-Z0-9\-]+:\d{12}:domain/[a-z][-0-9a-z]{2,27}`.
pub fn is_domain_arn(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("arn:") else {
        return false;
    };
    let Some((_, after)) = rest.split_once(":es:") else {
        return false;
    };
    let Some((region, after)) = after.split_once(':') else {
        return false;
    };
    let Some((account, name)) = after.split_once(":domain/") else {
        return false;
    };
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && (3..=28).contains(&name.len())
        && name.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_https(s: &str) -> bool {
    s.starts_with("https:")
}

fn any(_: &str) -> bool {
    true
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// The OpenSearch members of a configuration or update structure, as read.
pub(super) struct Fields {
    flavor: OpenSearchFlavor,
    member: &'static str,
    domain_arn: Option<String>,
    endpoint: Option<String>,
    index_name: Option<String>,
    type_name: Option<String>,
    rotation: Option<String>,
    retry_seconds: Option<i64>,
    backup_mode: Option<String>,
    document_ids: Option<String>,
    /// RoleARN, buffering and processing, read as a destination's.
    destination: DestinationFields,
    /// `S3Configuration` / `S3Update`.
    s3: Option<DestinationFields>,
}

fn read(
    r: &Reader<'_>,
    member: &'static str,
    flavor: OpenSearchFlavor,
    create: bool,
    v: &mut Validation,
) -> Result<Fields, Failure> {
    let path = lower_first(member);
    let serverless = flavor == OpenSearchFlavor::Serverless;
    let endpoint_member = if serverless {
        "CollectionEndpoint"
    } else {
        "ClusterEndpoint"
    };
    let retry_seconds = match r.structure("RetryOptions")? {
        Some(o) => o.integer("DurationInSeconds")?,
        None => None,
    };
    let document_ids = match r.structure("DocumentIdOptions")? {
        Some(o) => {
            let format = o.string("DefaultDocumentIdFormat")?;
            v.check(
                &format!("{path}.documentIdOptions.defaultDocumentIdFormat"),
                string_value(&format),
                &[Rule::NotNull, Rule::Enum(DocumentIdFormat::WIRE)],
            );
            format
        }
        None => None,
    };
    let s3_member = if create {
        "S3Configuration"
    } else {
        "S3Update"
    };
    let s3 = match r.structure(s3_member)? {
        Some(b) => Some(read_destination(
            &b,
            &format!("{path}.{}", lower_first(s3_member)),
            v,
        )?),
        None => None,
    };
    let fields = Fields {
        flavor,
        member,
        domain_arn: if serverless {
            None
        } else {
            r.string("DomainARN")?
        },
        endpoint: r.string(endpoint_member)?,
        index_name: r.string("IndexName")?,
        type_name: if serverless {
            None
        } else {
            r.string("TypeName")?
        },
        rotation: if serverless {
            None
        } else {
            r.string("IndexRotationPeriod")?
        },
        retry_seconds,
        backup_mode: if create {
            r.string("S3BackupMode")?
        } else {
            None
        },
        document_ids,
        destination: read_destination(r, &path, v)?,
        s3,
    };
    if create {
        v.check(
            &format!("{path}.roleARN"),
            string_value(&fields.destination.role_arn),
            &[Rule::NotNull],
        );
        v.check(
            &format!("{path}.indexName"),
            string_value(&fields.index_name),
            &[Rule::NotNull],
        );
        v.check(
            &format!("{path}.s3Configuration"),
            if fields.s3.is_some() {
                Checked::Int(0)
            } else {
                Checked::Null
            },
            &[Rule::NotNull],
        );
        if let Some(b) = &fields.s3 {
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
    }
    v.check(
        &format!("{path}.domainARN"),
        string_value(&fields.domain_arn),
        &[
            Rule::LengthMin(1),
            Rule::LengthMax(512),
            Rule::Pattern(DOMAIN_ARN_PATTERN, is_domain_arn),
        ],
    );
    v.check(
        &format!("{path}.{}", lower_first(endpoint_member)),
        string_value(&fields.endpoint),
        &[
            Rule::LengthMin(1),
            Rule::LengthMax(512),
            Rule::Pattern("https:.*", is_https),
        ],
    );
    v.check(
        &format!("{path}.indexName"),
        string_value(&fields.index_name),
        &[
            Rule::LengthMin(1),
            Rule::LengthMax(os::INDEX_NAME_CHARS_MAX),
            Rule::Pattern(".*", any),
        ],
    );
    v.check(
        &format!("{path}.typeName"),
        string_value(&fields.type_name),
        &[
            Rule::LengthMax(os::TYPE_NAME_CHARS_MAX),
            Rule::Pattern(".*", any),
        ],
    );
    v.check(
        &format!("{path}.indexRotationPeriod"),
        string_value(&fields.rotation),
        &[Rule::Enum(IndexRotation::WIRE)],
    );
    v.check(
        &format!("{path}.retryOptions.durationInSeconds"),
        int_value(fields.retry_seconds),
        &[
            Rule::Min(0),
            Rule::Max(i64::from(os::RETRY_DURATION_SECONDS_MAX)),
        ],
    );
    v.check(
        &format!("{path}.s3BackupMode"),
        string_value(&fields.backup_mode),
        &[Rule::Enum(BACKUP_MODES)],
    );
    v.check(
        &format!("{path}.bufferingHints.sizeInMBs"),
        int_value(fields.destination.size_mib),
        &[
            Rule::Min(i64::from(os::BUFFER_SIZE_MIB_MIN)),
            Rule::Max(i64::from(os::BUFFER_SIZE_MIB_MAX)),
        ],
    );
    Ok(fields)
}

/// The OpenSearch configuration structures present in a CreateDeliveryStream request, read and checked (before
/// `v.finish()`).
pub(super) fn read_create(r: &Reader<'_>, v: &mut Validation) -> Result<Vec<Fields>, Failure> {
    let mut out = Vec::new();
    for (member, _, _, flavor) in SHAPES {
        if let Some(s) = r.structure(member)? {
            out.push(read(&s, member, *flavor, true, v)?);
        }
    }
    Ok(out)
}

/// The OpenSearch update structures present in an UpdateDestination request, read and checked.
pub(super) fn read_update(r: &Reader<'_>, v: &mut Validation) -> Result<Vec<Fields>, Failure> {
    let mut out = Vec::new();
    for (_, member, _, flavor) in SHAPES {
        if let Some(s) = r.structure(member)? {
            out.push(read(&s, member, *flavor, false, v)?);
        }
    }
    Ok(out)
}

fn both_named(f: &Fields) -> Result<(), FirehoseError> {
    if f.domain_arn.is_some() && f.endpoint.is_some() {
        return Err(FirehoseError::invalid_argument(format!(
            "{}: specify either DomainARN or ClusterEndpoint, not both.",
            f.member
        )));
    }
    Ok(())
}

/// The destination a CreateDeliveryStream configuration describes, defaults filled.
pub(super) fn destination(f: Fields) -> Result<S3Destination, FirehoseError> {
    both_named(&f)?;
    let b = f.s3.unwrap_or(DestinationFields::empty());
    let rotation = match f.rotation.as_deref() {
        Some(text) => IndexRotation::from_wire(text).ok_or_else(|| {
            FirehoseError::invalid_argument(format!("IndexRotationPeriod {text} is not valid."))
        })?,
        None if f.flavor == OpenSearchFlavor::Serverless => IndexRotation::NoRotation,
        // API reference, `IndexRotationPeriod`: "The default value is OneDay."
        None => IndexRotation::OneDay,
    };
    let document_ids = f
        .document_ids
        .as_deref()
        .and_then(DocumentIdFormat::from_wire)
        .unwrap_or(DocumentIdFormat::FirehoseDefault);
    Ok(S3Destination {
        extended: false,
        role_arn: b.role_arn.unwrap_or_default(),
        bucket_arn: b.bucket_arn.unwrap_or_default(),
        prefix: b.prefix.unwrap_or_default(),
        error_output_prefix: b.error_output_prefix,
        size_mib: narrow(f.destination.size_mib).unwrap_or(os::BUFFER_SIZE_MIB_DEFAULT),
        interval_seconds: narrow(f.destination.interval_seconds)
            .unwrap_or(os::BUFFER_INTERVAL_SECONDS_DEFAULT),
        compression: compression_of(b.compression.as_deref())?.unwrap_or(Compression::Uncompressed),
        processing_enabled: f.destination.processing.as_ref().is_some_and(|p| p.0),
        processors: f.destination.processing.map(|p| p.1).unwrap_or_default(),
        dynamic_partitioning: false,
        file_extension: None,
        custom_time_zone: None,
        http: None,
        redshift: None,
        opensearch: Some(OpenSearchDestination {
            flavor: f.flavor,
            role_arn: f.destination.role_arn.unwrap_or_default(),
            domain_arn: f.domain_arn,
            endpoint: f.endpoint,
            index_name: f.index_name.unwrap_or_default(),
            type_name: f.type_name.filter(|t| !t.is_empty()),
            rotation,
            retry_duration_seconds: narrow(f.retry_seconds)
                .unwrap_or(os::RETRY_DURATION_SECONDS_DEFAULT),
            backup_all_documents: f.backup_mode.as_deref() == Some("AllDocuments"),
            document_ids,
        }),
    })
}

/// The change an UpdateDestination OpenSearch structure asks for.
pub(super) fn update(f: Fields) -> Result<S3DestinationUpdate, FirehoseError> {
    both_named(&f)?;
    let b = f.s3.unwrap_or(DestinationFields::empty());
    let rotation = match f.rotation.as_deref() {
        Some(text) => Some(IndexRotation::from_wire(text).ok_or_else(|| {
            FirehoseError::invalid_argument(format!("IndexRotationPeriod {text} is not valid."))
        })?),
        None => None,
    };
    Ok(S3DestinationUpdate {
        extended: false,
        role_arn: b.role_arn,
        bucket_arn: b.bucket_arn,
        prefix: b.prefix,
        error_output_prefix: b.error_output_prefix,
        size_mib: narrow(f.destination.size_mib),
        interval_seconds: narrow(f.destination.interval_seconds),
        compression: compression_of(b.compression.as_deref())?,
        processing: f.destination.processing,
        dynamic_partitioning: None,
        file_extension: None,
        http: None,
        redshift: None,
        opensearch: Some(OpenSearchDestinationUpdate {
            flavor: Some(f.flavor),
            role_arn: f.destination.role_arn,
            domain_arn: f.domain_arn,
            endpoint: f.endpoint,
            index_name: f.index_name,
            type_name: f.type_name,
            rotation,
            retry_duration_seconds: narrow(f.retry_seconds),
            document_ids: f
                .document_ids
                .as_deref()
                .and_then(DocumentIdFormat::from_wire),
        }),
    })
}

/// The description member name and its value for DescribeDeliveryStream.
pub(super) fn description(d: &S3Destination, o: &OpenSearchDestination) -> (&'static str, Value) {
    let member = SHAPES
        .iter()
        .find(|s| s.3 == o.flavor)
        .map_or(SHAPES[0].2, |s| s.2);
    let mut out = json!({
        "RoleARN": o.role_arn,
        "IndexName": o.index_name,
        "BufferingHints": {"SizeInMBs": d.size_mib, "IntervalInSeconds": d.interval_seconds},
        "RetryOptions": {"DurationInSeconds": o.retry_duration_seconds},
        "S3BackupMode": o.backup_mode(),
        "S3DestinationDescription": destination_json(d, false),
        "CloudWatchLoggingOptions": {"Enabled": false},
    });
    if o.flavor == OpenSearchFlavor::Serverless {
        if let Some(e) = &o.endpoint {
            out["CollectionEndpoint"] = json!(e);
        }
    } else {
        if let Some(a) = &o.domain_arn {
            out["DomainARN"] = json!(a);
        }
        if let Some(e) = &o.endpoint {
            out["ClusterEndpoint"] = json!(e);
        }
        if let Some(t) = &o.type_name {
            out["TypeName"] = json!(t);
        }
        out["IndexRotationPeriod"] = json!(o.rotation.as_str());
        out["DocumentIdOptions"] = json!({"DefaultDocumentIdFormat": o.document_ids.as_str()});
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
    (member, out)
}
