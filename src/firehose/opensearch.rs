//! The Amazon OpenSearch Service destination (and its Elasticsearch and OpenSearch Serverless spellings) and the
//! simulated OpenSearch domains it writes to.
//!
//! - [`OpenSearchDestination`]: what `AmazonopensearchserviceDestinationConfiguration` (or
//!   `ElasticsearchDestinationConfiguration`, `AmazonOpenSearchServerlessDestinationConfiguration`) configures,
//!   beside the S3 backup, buffering and processing the delivery stream's [`super::service::S3Destination`] keeps.
//! - [`index_name`]: Firehose's index rotation (`NoRotation`, `OneHour`, `OneDay`, `OneWeek`, `OneMonth`), a
//!   portion of the UTC arrival time appended to `IndexName`.
//! - [`OpenSearchDomains`]: the simulated domains (keyed by `DomainARN`, `ClusterEndpoint` or
//!   `CollectionEndpoint`), created on first use. Each flush becomes one Bulk request ([`OpenSearchDomains::bulk`]):
//!   a document that is not a JSON object fails alone with OpenSearch's `mapper_parsing_exception`, the others
//!   are indexed.
//! - [`Index::search`]: a small query over an index: `field:value` matches a field's terms, a bare word matches any
//!   string field's terms (OpenSearch's `query_string` with its default `OR` between terms), no terms matches all.
//!
//! Document IDs: with `FIREHOSE_DEFAULT` Firehose sends an id made from the record's internal identifier
//! ([`firehose_document_id`]), the same on every attempt; with `NO_DOCUMENT_ID` the domain assigns a 20-character id.
//! Both come from the simulation's seeded random streams, never from a clock or OS randomness.

use super::error::FirehoseError;
use super::error_record::ErrorRecord;
use super::service::S3Destination;
use crate::sim::SimRng;
use crate::sim::time::civil_from_days;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Smallest buffering size, in MiB. Source: service model, `AmazonopensearchserviceBufferingSizeInMBs` 1..100.
pub const BUFFER_SIZE_MIB_MIN: u32 = 1;
/// Largest buffering size, in MiB.
pub const BUFFER_SIZE_MIB_MAX: u32 = 100;
/// Default buffering size, in MiB. Source: API reference, `AmazonopensearchserviceBufferingHints` (5).
pub const BUFFER_SIZE_MIB_DEFAULT: u32 = 5;
/// Largest buffering interval, in seconds. Source: service model, 0..900.
pub const BUFFER_INTERVAL_SECONDS_MAX: u32 = 900;
/// Default buffering interval, in seconds. Source: API reference (300).
pub const BUFFER_INTERVAL_SECONDS_DEFAULT: u32 = 300;
/// Largest retry duration, in seconds. Source: service model, `AmazonopensearchserviceRetryDurationInSeconds`
/// 0..7200.
pub const RETRY_DURATION_SECONDS_MAX: u32 = 7_200;
/// Default retry duration, in seconds. Source: API reference, `AmazonopensearchserviceRetryOptions` (300).
pub const RETRY_DURATION_SECONDS_DEFAULT: u32 = 300;
/// Longest `IndexName`, in characters. Source: service model, `AmazonopensearchserviceIndexName` max 80.
pub const INDEX_NAME_CHARS_MAX: u64 = 80;
/// Longest `TypeName`, in characters. Source: service model, `AmazonopensearchserviceTypeName` max 100.
pub const TYPE_NAME_CHARS_MAX: u64 = 100;
/// The error output type of documents the domain refused (the S3 backup folder Firehose writes them to). Source:
/// service model, `S3BackupMode` of all three OpenSearch configurations ("AmazonOpenSearchService-failed/ appended to
/// the key prefix").
pub const ERROR_OUTPUT_TYPE: &str = "AmazonOpenSearchService-failed";
/// Most hits one search returns (OpenSearch's default `size` is 10; the UI asks for more).
pub const SEARCH_HITS_MAX: u32 = 100;
/// Length of a domain-assigned document id, in characters (OpenSearch's auto-generated ids are 20 characters of
/// URL-safe base64).
pub const AUTO_ID_CHARS: usize = 20;
/// Milliseconds in one hour.
const MILLIS_PER_HOUR: u64 = 3_600_000;
/// Milliseconds in one day.
const MILLIS_PER_DAY: u64 = 86_400_000;

/// Which configuration structure the destination came as (what DescribeDeliveryStream reports it as).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpenSearchFlavor {
    /// `AmazonopensearchserviceDestinationConfiguration`.
    Service,
    /// `ElasticsearchDestinationConfiguration` (the older name of the same destination).
    Elasticsearch,
    /// `AmazonOpenSearchServerlessDestinationConfiguration` (a collection: no rotation, no document id options).
    Serverless,
}

/// `IndexRotationPeriod`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexRotation {
    /// The index name as given.
    NoRotation,
    /// `-YYYY-MM-DD-HH`.
    OneHour,
    /// `-YYYY-MM-DD`.
    OneDay,
    /// `-YYYY-wWW` (US weeks, see [`index_name`]).
    OneWeek,
    /// `-YYYY-MM`.
    OneMonth,
}

impl IndexRotation {
    /// The wire names, in the model's order.
    pub const WIRE: &'static [&'static str] =
        &["NoRotation", "OneHour", "OneDay", "OneWeek", "OneMonth"];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            IndexRotation::NoRotation => "NoRotation",
            IndexRotation::OneHour => "OneHour",
            IndexRotation::OneDay => "OneDay",
            IndexRotation::OneWeek => "OneWeek",
            IndexRotation::OneMonth => "OneMonth",
        }
    }

    /// The period of a wire name.
    pub fn from_wire(text: &str) -> Option<IndexRotation> {
        match text {
            "NoRotation" => Some(IndexRotation::NoRotation),
            "OneHour" => Some(IndexRotation::OneHour),
            "OneDay" => Some(IndexRotation::OneDay),
            "OneWeek" => Some(IndexRotation::OneWeek),
            "OneMonth" => Some(IndexRotation::OneMonth),
            _ => None,
        }
    }
}

/// `DocumentIdOptions.DefaultDocumentIdFormat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocumentIdFormat {
    /// `FIREHOSE_DEFAULT`: Firehose sends an id derived from the record, stable across attempts.
    FirehoseDefault,
    /// `NO_DOCUMENT_ID`: the domain assigns ids.
    NoDocumentId,
}

impl DocumentIdFormat {
    /// The wire names.
    pub const WIRE: &'static [&'static str] = &["FIREHOSE_DEFAULT", "NO_DOCUMENT_ID"];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentIdFormat::FirehoseDefault => "FIREHOSE_DEFAULT",
            DocumentIdFormat::NoDocumentId => "NO_DOCUMENT_ID",
        }
    }

    /// The format of a wire name.
    pub fn from_wire(text: &str) -> Option<DocumentIdFormat> {
        match text {
            "FIREHOSE_DEFAULT" => Some(DocumentIdFormat::FirehoseDefault),
            "NO_DOCUMENT_ID" => Some(DocumentIdFormat::NoDocumentId),
            _ => None,
        }
    }
}

/// The OpenSearch part of the destination. Buffering, processing and the S3 backup bucket are the delivery
/// stream's [`super::service::S3Destination`] members, as for the HTTP endpoint destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenSearchDestination {
    /// Which structure it was configured with.
    pub flavor: OpenSearchFlavor,
    /// `RoleARN`.
    pub role_arn: String,
    /// `DomainARN`.
    pub domain_arn: Option<String>,
    /// `ClusterEndpoint` (or `CollectionEndpoint` for Serverless).
    pub endpoint: Option<String>,
    /// `IndexName`.
    pub index_name: String,
    /// `TypeName` (Elasticsearch 6.x and earlier).
    pub type_name: Option<String>,
    /// `IndexRotationPeriod`.
    pub rotation: IndexRotation,
    /// `RetryOptions.DurationInSeconds`.
    pub retry_duration_seconds: u32,
    /// `S3BackupMode` is `AllDocuments` (every record is also written to the S3 bucket), not
    /// `FailedDocumentsOnly`.
    pub backup_all_documents: bool,
    /// `DocumentIdOptions.DefaultDocumentIdFormat`.
    pub document_ids: DocumentIdFormat,
}

impl OpenSearchDestination {
    /// Which simulated domain the destination writes to: the `DomainARN`, else the endpoint.
    pub fn domain_key(&self) -> String {
        self.domain_arn
            .clone()
            .or_else(|| self.endpoint.clone())
            .unwrap_or_default()
    }

    /// The wire name of `S3BackupMode`.
    pub fn backup_mode(&self) -> &'static str {
        if self.backup_all_documents {
            "AllDocuments"
        } else {
            "FailedDocumentsOnly"
        }
    }
}

/// A change to an OpenSearch destination: given members replace the current ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenSearchDestinationUpdate {
    /// Which update structure it came as.
    pub flavor: Option<OpenSearchFlavor>,
    /// New `RoleARN`.
    pub role_arn: Option<String>,
    /// New `DomainARN`.
    pub domain_arn: Option<String>,
    /// New `ClusterEndpoint` / `CollectionEndpoint`.
    pub endpoint: Option<String>,
    /// New `IndexName`.
    pub index_name: Option<String>,
    /// New `TypeName` (an empty string clears it).
    pub type_name: Option<String>,
    /// New `IndexRotationPeriod`.
    pub rotation: Option<IndexRotation>,
    /// New `RetryOptions.DurationInSeconds`.
    pub retry_duration_seconds: Option<u32>,
    /// New `DocumentIdOptions`.
    pub document_ids: Option<DocumentIdFormat>,
}

impl OpenSearchDestinationUpdate {
    /// Applies the update to `d`.
    pub fn apply(self, d: &mut OpenSearchDestination) {
        if let Some(v) = self.role_arn {
            d.role_arn = v;
        }
        if let Some(v) = self.domain_arn {
            d.domain_arn = Some(v);
            d.endpoint = None;
        }
        if let Some(v) = self.endpoint {
            d.endpoint = Some(v);
            d.domain_arn = None;
        }
        if let Some(v) = self.index_name {
            d.index_name = v;
        }
        if let Some(v) = self.type_name {
            d.type_name = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = self.rotation {
            d.rotation = v;
        }
        if let Some(v) = self.retry_duration_seconds {
            d.retry_duration_seconds = v;
        }
        if let Some(v) = self.document_ids {
            d.document_ids = v;
        }
    }
}

/// Days since 1970-01-01 of January 1st of `year`.
fn days_to_year_start(year: u64) -> u64 {
    let leaps = |y: u64| y / 4 - y / 100 + y / 400;
    let before = year.saturating_sub(1);
    (year.saturating_sub(1970)) * 365 + leaps(before) - leaps(1969)
}

/// The US week of the day `days` after 1970-01-01: (week-based year, week 1..=53). Weeks start on Sunday and week
/// 1 is the first week that holds a Saturday of the year (the week of January 1st), so a week belongs to the year
/// of its Saturday: December 27th to 31st can be week 1 of the next year.
pub fn us_week(days: u64) -> (u64, u64) {
    // 1970-01-01 was a Thursday; Sunday is 0.
    let weekday = (days + 4) % 7;
    let saturday = days.saturating_sub(weekday) + 6;
    let (year, _, _) = civil_from_days(saturday);
    let day_of_year = saturday - days_to_year_start(year);
    (year, day_of_year / 7 + 1)
}

/// The index a record arriving at `arrival_unix_ms` goes to: `IndexName` plus the rotation's part of the UTC
/// arrival time. Source: developer guide, "Configure index rotation for OpenSearch Service": `myindex-2016-02-25-13`
/// (OneHour), `myindex-2016-02-25` (OneDay), `myindex-2016-02` (OneMonth), and `<YEAR>-w<WEEK NUMBER>` for OneWeek
/// with US weeks (a week starts on Sunday; the first week of the year is the first week that contains a Saturday
/// in this year). The guide's table shows `myindex-2016-w08` for 2016-02-25, which its own week rule makes week 9;
/// the rule is what is implemented here.
pub fn index_name(base: &str, rotation: IndexRotation, arrival_unix_ms: u64) -> String {
    let days = arrival_unix_ms / MILLIS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    let hour = (arrival_unix_ms % MILLIS_PER_DAY) / MILLIS_PER_HOUR;
    match rotation {
        IndexRotation::NoRotation => base.to_string(),
        IndexRotation::OneHour => format!("{base}-{year:04}-{month:02}-{day:02}-{hour:02}"),
        IndexRotation::OneDay => format!("{base}-{year:04}-{month:02}-{day:02}"),
        IndexRotation::OneWeek => {
            let (week_year, week) = us_week(days);
            format!("{base}-{week_year:04}-w{week:02}")
        }
        IndexRotation::OneMonth => format!("{base}-{year:04}-{month:02}"),
    }
}

/// The id Firehose sends with `FIREHOSE_DEFAULT` for the record `record_id` (the delivery stream's internal
/// record identifier): decimal digits, a dot and the sub-record number, in the shape of the ids Firehose writes
/// (`49613100963111323203250405402193283794773886550985932802.0`). The same record gets the same id on every
/// attempt.
pub fn firehose_document_id(record_id: &str) -> String {
    let (base, sub) = match record_id.rsplit_once('.') {
        Some((base, sub)) if !sub.is_empty() && sub.bytes().all(|b| b.is_ascii_digit()) => {
            (base, sub)
        }
        _ => (record_id, "0"),
    };
    let bytes = STANDARD
        .decode(base)
        .unwrap_or_else(|_| base.as_bytes().to_vec());
    let mut words = [0u64; 3];
    for (i, b) in bytes.iter().enumerate() {
        let w = &mut words[i % 3];
        *w = w.rotate_left(8) ^ u64::from(*b);
    }
    let tail = words[2] % 10_000_000_000_000_000;
    format!("{:020}{:020}{tail:016}.{sub}", words[0], words[1])
}

/// A document id the domain assigns (`NO_DOCUMENT_ID`): 20 characters of URL-safe base64.
pub fn auto_document_id(rng: &mut SimRng) -> String {
    let mut bytes = Vec::with_capacity(16);
    bytes.extend_from_slice(&rng.next_u64().to_be_bytes());
    bytes.extend_from_slice(&rng.next_u64().to_be_bytes());
    let mut id = URL_SAFE_NO_PAD.encode(bytes);
    id.truncate(AUTO_ID_CHARS);
    id
}

/// One indexed document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// `_id`.
    pub id: String,
    /// `_version`: 1, then one more each time the same id is indexed again.
    pub version: u32,
    /// `_source`, the JSON text as delivered.
    pub source: String,
}

/// One index of a domain: documents in the order they were first indexed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// The documents.
    docs: Vec<Document>,
    /// Position of each id in `docs`.
    by_id: BTreeMap<String, u32>,
}

/// The outcome of a search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchResult {
    /// `hits.total.value`: every matching document.
    pub total: u64,
    /// The first matches (at most the requested size), in index order.
    pub hits: Vec<Document>,
}

/// A parsed query: terms joined by OR (OpenSearch's default operator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// (field path, or none for any field; lowercase term).
    terms: Vec<(Option<String>, String)>,
}

/// Lowercase alphanumeric words, as OpenSearch's standard analyzer splits text.
fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
}

impl Query {
    /// Parses `field:value` and bare words separated by spaces; `value` may be a quoted phrase. Empty text matches
    /// every document.
    pub fn parse(text: &str) -> Query {
        let mut terms = Vec::new();
        let mut rest = text.trim();
        while !rest.is_empty() {
            let (field, after) = match rest.split_once(':') {
                Some((f, a))
                    if !f.is_empty() && !f.contains(char::is_whitespace) && !f.starts_with('"') =>
                {
                    (Some(f.to_string()), a.trim_start())
                }
                _ => (None, rest),
            };
            let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
                match quoted.split_once('"') {
                    Some((v, n)) => (v, n),
                    None => (quoted, ""),
                }
            } else {
                match after.split_once(char::is_whitespace) {
                    Some((v, n)) => (v, n),
                    None => (after, ""),
                }
            };
            for t in tokens(value) {
                terms.push((field.clone(), t));
            }
            rest = next.trim_start();
        }
        Query { terms }
    }

    fn matches(&self, source: &serde_json::Value) -> bool {
        if self.terms.is_empty() {
            return true;
        }
        self.terms.iter().any(|(field, term)| match field {
            Some(path) => field_value(source, path).is_some_and(|v| value_has_term(v, term)),
            None => value_has_term(source, term),
        })
    }
}

/// The value at a dotted path.
fn field_value<'v>(source: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    path.split('.').try_fold(source, |v, key| v.get(key))
}

/// Whether a value (any of its strings, numbers and booleans, nested ones included) has the term.
fn value_has_term(v: &serde_json::Value, term: &str) -> bool {
    match v {
        serde_json::Value::String(s) => tokens(s).any(|t| t == term),
        serde_json::Value::Number(n) => tokens(&n.to_string()).any(|t| t == term),
        serde_json::Value::Bool(b) => term == if *b { "true" } else { "false" },
        serde_json::Value::Null => false,
        serde_json::Value::Array(items) => items.iter().any(|i| value_has_term(i, term)),
        serde_json::Value::Object(map) => map.values().any(|i| value_has_term(i, term)),
    }
}

impl Index {
    /// Documents held.
    pub fn len(&self) -> u64 {
        self.docs.len() as u64
    }

    /// Whether the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The documents in index order.
    pub fn documents(&self) -> &[Document] {
        &self.docs
    }

    /// The document with this id.
    pub fn get(&self, id: &str) -> Option<&Document> {
        self.by_id
            .get(id)
            .and_then(|&at| self.docs.get(at as usize))
    }

    /// Indexes `source` under `id`: a new document, or a new version of the one with that id.
    fn put(&mut self, id: String, source: String) {
        if let Some(doc) = self
            .by_id
            .get(&id)
            .and_then(|&at| self.docs.get_mut(at as usize))
        {
            doc.version = doc.version.saturating_add(1);
            doc.source = source;
            return;
        }
        let at = u32::try_from(self.docs.len()).unwrap_or(u32::MAX);
        self.by_id.insert(id.clone(), at);
        self.docs.push(Document {
            id,
            version: 1,
            source,
        });
    }

    /// The documents matching `query` (see [`Query::parse`]): how many, and the first `size` of them.
    pub fn search(&self, query: &str, size: u32) -> SearchResult {
        let query = Query::parse(query);
        let mut total = 0u64;
        let mut hits = Vec::new();
        for doc in &self.docs {
            let Ok(source) = serde_json::from_str::<serde_json::Value>(&doc.source) else {
                continue;
            };
            if query.matches(&source) {
                total += 1;
                if hits.len() < size as usize {
                    hits.push(doc.clone());
                }
            }
        }
        SearchResult { total, hits }
    }
}

/// A simulated domain (or Serverless collection).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    /// Indices by name.
    indices: BTreeMap<String, Index>,
}

impl Domain {
    /// The indices, by name.
    pub fn indices(&self) -> &BTreeMap<String, Index> {
        &self.indices
    }

    /// One index.
    pub fn index(&self, name: &str) -> Option<&Index> {
        self.indices.get(name)
    }
}

/// A record handed to a Bulk request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkRecord<'r> {
    /// The delivery stream's record id.
    pub record_id: &'r str,
    /// When Firehose received it, Unix ms (chooses the rotated index).
    pub arrival_unix_ms: u64,
    /// The document.
    pub data: &'r [u8],
}

/// What a Bulk request did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BulkOutcome {
    /// Documents indexed.
    pub indexed: u64,
    /// Bytes of the indexed documents.
    pub indexed_bytes: u64,
    /// Documents per index, in index order.
    pub per_index: BTreeMap<String, u64>,
    /// Error documents for the records the domain refused (for the `AmazonOpenSearchService-failed` backup).
    pub failed: Vec<ErrorRecord>,
}

/// The reason OpenSearch gives for a document that is not a JSON object.
pub fn mapper_parsing_exception(detail: &str) -> String {
    serde_json::json!({
        "type": "mapper_parsing_exception",
        "reason": "failed to parse",
        "caused_by": {"type": "not_x_content_exception", "reason": detail},
    })
    .to_string()
}

/// The simulated OpenSearch domains of the account, by `DomainARN` (or endpoint).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenSearchDomains {
    domains: BTreeMap<String, Domain>,
}

impl OpenSearchDomains {
    /// The domain named `key`, created if it does not exist yet.
    pub fn ensure(&mut self, key: &str) -> &mut Domain {
        self.domains.entry(key.to_string()).or_default()
    }

    /// The domains, by key.
    pub fn domains(&self) -> &BTreeMap<String, Domain> {
        &self.domains
    }

    /// One domain.
    pub fn domain(&self, key: &str) -> Option<&Domain> {
        self.domains.get(key)
    }

    /// One Bulk request of `index` actions for `records` into the destination's domain at `now_unix_ms`. Each
    /// record goes to the index its arrival time rotates to; a record that is not a JSON object fails alone
    /// (HTTP 400 `mapper_parsing_exception`), the others are indexed. `rng` draws domain-assigned ids.
    pub fn bulk(
        &mut self,
        d: &OpenSearchDestination,
        records: &[BulkRecord<'_>],
        now_unix_ms: u64,
        rng: &mut SimRng,
    ) -> BulkOutcome {
        let domain = self.ensure(&d.domain_key());
        let mut out = BulkOutcome::default();
        for r in records {
            let index = index_name(&d.index_name, d.rotation, r.arrival_unix_ms);
            let id = match d.document_ids {
                DocumentIdFormat::FirehoseDefault => firehose_document_id(r.record_id),
                DocumentIdFormat::NoDocumentId => auto_document_id(rng),
            };
            let parsed = std::str::from_utf8(r.data)
                .map_err(|_| "invalid UTF-8 in the document".to_string())
                .and_then(|text| {
                    serde_json::from_str::<serde_json::Value>(text)
                        .map_err(|e| format!("not a JSON document: {e}"))
                        .and_then(|v| {
                            if v.is_object() {
                                Ok(text.trim().to_string())
                            } else {
                                Err("the document is not a JSON object".to_string())
                            }
                        })
                });
            match parsed {
                Ok(source) => {
                    out.indexed += 1;
                    out.indexed_bytes += r.data.len() as u64;
                    *out.per_index.entry(index.clone()).or_insert(0) += 1;
                    domain.indices.entry(index).or_default().put(id, source);
                }
                Err(detail) => {
                    let mut doc = ErrorRecord::new(
                        1,
                        r.arrival_unix_ms,
                        "400",
                        &mapper_parsing_exception(&detail),
                        now_unix_ms,
                        r.data,
                    );
                    doc.es_document_id = Some(match d.document_ids {
                        DocumentIdFormat::FirehoseDefault => id,
                        DocumentIdFormat::NoDocumentId => String::new(),
                    });
                    doc.es_index_name = Some(index);
                    doc.es_type_name = Some(d.type_name.clone().unwrap_or_default());
                    out.failed.push(doc);
                }
            }
        }
        out
    }
}

/// Checks an OpenSearch destination as CreateDeliveryStream and UpdateDestination do after merging.
pub fn check(d: &S3Destination) -> Result<(), FirehoseError> {
    let Some(os) = &d.opensearch else {
        return Ok(());
    };
    if d.size_mib > BUFFER_SIZE_MIB_MAX {
        return Err(FirehoseError::invalid_argument(format!(
            "BufferingHints.SizeInMBs must be at most {BUFFER_SIZE_MIB_MAX} for an Amazon OpenSearch Service destination; it is {}.",
            d.size_mib
        )));
    }
    if os.retry_duration_seconds > RETRY_DURATION_SECONDS_MAX {
        return Err(FirehoseError::invalid_argument(format!(
            "RetryOptions.DurationInSeconds must be at most {RETRY_DURATION_SECONDS_MAX}; it is {}.",
            os.retry_duration_seconds
        )));
    }
    if os.domain_key().is_empty() {
        return Err(FirehoseError::invalid_argument(
            if os.flavor == OpenSearchFlavor::Serverless {
                "CollectionEndpoint must be specified."
            } else {
                "Exactly one of DomainARN and ClusterEndpoint must be specified."
            },
        ));
    }
    if os.index_name.is_empty() {
        return Err(FirehoseError::invalid_argument(
            "IndexName must be specified.",
        ));
    }
    Ok(())
}

/// Merges an update into the destination `d`; an S3 (or HTTP endpoint) destination becomes an OpenSearch one when
/// the update names a domain and an index.
pub fn update(d: &mut S3Destination, u: OpenSearchDestinationUpdate) -> Result<(), FirehoseError> {
    let os = match d.opensearch.take() {
        Some(current) => current,
        None => {
            let flavor = u.flavor.unwrap_or(OpenSearchFlavor::Service);
            if u.index_name.is_none() || (u.domain_arn.is_none() && u.endpoint.is_none()) {
                return Err(FirehoseError::invalid_argument(
                    "IndexName and DomainARN (or ClusterEndpoint) are required to change the destination to Amazon OpenSearch Service.",
                ));
            }
            d.http = None;
            OpenSearchDestination {
                flavor,
                role_arn: d.role_arn.clone(),
                domain_arn: None,
                endpoint: None,
                index_name: String::new(),
                type_name: None,
                rotation: if flavor == OpenSearchFlavor::Serverless {
                    IndexRotation::NoRotation
                } else {
                    IndexRotation::OneDay
                },
                retry_duration_seconds: RETRY_DURATION_SECONDS_DEFAULT,
                backup_all_documents: false,
                document_ids: DocumentIdFormat::FirehoseDefault,
            }
        }
    };
    let mut os = os;
    u.apply(&mut os);
    d.opensearch = Some(os);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_examples_for_hour_day_and_month() {
        // 2016-02-25T13:00:00Z
        let t = 1_456_405_200_000;
        assert_eq!(
            index_name("myindex", IndexRotation::NoRotation, t),
            "myindex"
        );
        assert_eq!(
            index_name("myindex", IndexRotation::OneHour, t),
            "myindex-2016-02-25-13"
        );
        assert_eq!(
            index_name("myindex", IndexRotation::OneDay, t),
            "myindex-2016-02-25"
        );
        assert_eq!(
            index_name("myindex", IndexRotation::OneMonth, t),
            "myindex-2016-02"
        );
    }

    #[test]
    fn query_parses_fields_words_and_phrases() {
        let q = Query::parse("level:ERROR disk \"out of\"");
        assert_eq!(
            q.terms,
            vec![
                (Some("level".into()), "error".into()),
                (None, "disk".into()),
                (None, "out".into()),
                (None, "of".into()),
            ]
        );
    }

    #[test]
    fn firehose_ids_are_stable_and_carry_the_sub_record() {
        let a = firehose_document_id("AAAAAAAAAAEAAAAAAAAAAgAAAAAAAAADAAAAAAAAAAQAAAAAAAAABQ==");
        assert_eq!(
            a,
            firehose_document_id("AAAAAAAAAAEAAAAAAAAAAgAAAAAAAAADAAAAAAAAAAQAAAAAAAAABQ==")
        );
        assert!(a.ends_with(".0"));
        assert_eq!(a.len(), 58);
        let b = firehose_document_id("AAAAAAAAAAEAAAAAAAAAAgAAAAAAAAADAAAAAAAAAAQAAAAAAAAABQ==.2");
        assert!(b.ends_with(".2"));
        assert_eq!(a[..56], b[..56]);
    }
}
