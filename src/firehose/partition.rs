//! Dynamic partitioning: partition keys from a jq query over each record (MetadataExtraction, `JQ-1.6`) or from
//! the Lambda transform's `metadata.partitionKeys`, the prefix expressions that use them, and the
//! active-partition limit.
//!
//! The jq program runs in `jaq` (a jq interpreter written in Rust that builds for wasm32) with its standard
//! library, minus [`IMPURE_FUNCTIONS`] (`now`, `env`, ...), so a query reads nothing but its record and the result
//! depends on nothing else. `strftime`, `todate` and friends work in UTC.
//!
//! Sources: "Partition streaming data in Amazon Data Firehose" / "Use inline parsing" (queries such as
//! `{customer_id:.customer_id}`, prefixes with `!{partitionKeyFromQuery:customer_id}`), "Use an AWS Lambda
//! function" for `!{partitionKeyFromLambda:KEY}`, real error documents (`DynamicPartitioning.MetadataExtractionFailed`,
//! "partitionKeys values must not be null or empty") and "Buffer data for dynamic partitioning" (500 active partitions
//! per stream by default, up to 5,000 by request; records beyond go to the `activePartitionExceeded` error prefix).
//!
//! Limits of this implementation: a query is bounded in length (the processor parameter's 5,120 characters) and
//! only its first two outputs are read, but jq is Turing-complete: a query written to loop forever (`def f: f;
//! f`, `[range(infinite)]`) would hang the caller. AWS runs the same risk at configuration time; the UI should
//! compile queries in its isolated worker.

use std::collections::{BTreeMap, BTreeSet};

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data};
use jaq_json::Val;

use super::error_record::{ErrorOutputType, ErrorRecord};
use super::transform::PROCESSOR_PARAMETER_VALUE_CHARS_MAX;

/// Active partitions a delivery stream may have by default ("Buffer data for dynamic partitioning").
pub const ACTIVE_PARTITIONS_DEFAULT: u32 = 500;
/// Most active partitions a delivery stream can be granted by a quota increase ("up to 5000").
pub const ACTIVE_PARTITIONS_MAX: u32 = 5_000;
/// Error code of a record whose partition keys could not be extracted (written under `partitioning-failed/`).
pub const CODE_METADATA_EXTRACTION_FAILED: &str = "DynamicPartitioning.MetadataExtractionFailed";
/// Error code of a record refused because the active-partition limit is reached (written under
/// `activePartitionExceeded/`; the simulator's code: AWS documents the prefix, not the code).
pub const CODE_ACTIVE_PARTITION_EXCEEDED: &str =
    "DynamicPartitioning.ActivePartitionsLimitExceeded";

/// jq functions left out because they read something besides the record: the real clock, the environment, the
/// machine's time zone, further inputs.
pub const IMPURE_FUNCTIONS: [&str; 6] = [
    "now",
    "env",
    "localtime",
    "strflocaltime",
    "input",
    "inputs",
];

/// The message Firehose gives when a query yields a null or empty partition key value (as seen in its error
/// logs).
pub const MESSAGE_NULL_OR_EMPTY: &str = "partitionKeys values must not be null or empty";

/// Why partition keys could not be computed, or a record could not get a partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionError {
    /// The query does not parse or compile (a configuration error, refused at CreateDeliveryStream).
    InvalidQuery(String),
    /// The record is not JSON.
    NotJson,
    /// The query failed on the record, or gave no object, or several outputs, or a key whose value is not a
    /// string, number or boolean.
    QueryFailed(String),
    /// A prefix names a partition key the record does not have.
    MissingKey {
        /// `partitionKeyFromQuery` or `partitionKeyFromLambda`.
        namespace: &'static str,
        /// The key.
        key: String,
    },
    /// Opening this partition would exceed the active-partition limit.
    ActivePartitionExceeded {
        /// The limit in force.
        limit: u32,
    },
}

impl PartitionError {
    /// The error prefix the record goes to.
    pub fn error_output_type(&self) -> ErrorOutputType {
        match self {
            PartitionError::ActivePartitionExceeded { .. } => {
                ErrorOutputType::ActivePartitionExceeded
            }
            _ => ErrorOutputType::PartitioningFailed,
        }
    }

    /// The error code written in the error document.
    pub fn code(&self) -> &'static str {
        match self {
            PartitionError::ActivePartitionExceeded { .. } => CODE_ACTIVE_PARTITION_EXCEEDED,
            _ => CODE_METADATA_EXTRACTION_FAILED,
        }
    }

    /// The error document for a record that failed partitioning.
    pub fn error_record(&self, arrival_unix_ms: u64, now_unix_ms: u64, raw: &[u8]) -> ErrorRecord {
        ErrorRecord::new(
            1,
            arrival_unix_ms,
            self.code(),
            &self.to_string(),
            now_unix_ms,
            raw,
        )
    }
}

impl std::fmt::Display for PartitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartitionError::InvalidQuery(why) => {
                write!(f, "Invalid MetadataExtractionQuery: {why}")
            }
            PartitionError::NotJson => write!(f, "Non JSON record provided"),
            PartitionError::QueryFailed(why) => {
                write!(f, "Failed to extract partition keys from the record: {why}")
            }
            PartitionError::MissingKey { namespace, key } => write!(
                f,
                "The record has no value for !{{{namespace}:{key}}} used in the S3 prefix"
            ),
            PartitionError::ActivePartitionExceeded { limit } => write!(
                f,
                "The number of active partitions has reached the limit of {limit} for this Firehose stream"
            ),
        }
    }
}

/// A compiled MetadataExtractionQuery.
/// Cheap to clone: the compiled program is shared.
#[derive(Clone)]
pub struct PartitionQuery {
    source: String,
    filter: std::sync::Arc<jaq_core::Filter<data::JustLut<Val>>>,
}

impl std::fmt::Debug for PartitionQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionQuery")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl PartialEq for PartitionQuery {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl PartitionQuery {
    /// Parses and compiles a jq program such as `{customer_id:.customer_id, year:.event_timestamp|strftime("%Y")}`.
    pub fn compile(source: &str) -> Result<Self, PartitionError> {
        let chars = u64::try_from(source.chars().count()).unwrap_or(u64::MAX);
        if source.trim().is_empty() {
            return Err(PartitionError::InvalidQuery("the query is empty".into()));
        }
        if chars > PROCESSOR_PARAMETER_VALUE_CHARS_MAX {
            return Err(PartitionError::InvalidQuery(format!(
                "the query is longer than {PROCESSOR_PARAMETER_VALUE_CHARS_MAX} characters"
            )));
        }
        let program = File {
            code: source,
            path: (),
        };
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs())
            .filter(|(name, _, _)| !IMPURE_FUNCTIONS.contains(name));
        let loader = Loader::new(defs);
        let arena = Arena::default();
        let modules = loader
            .load(&arena, program)
            .map_err(|errors| PartitionError::InvalidQuery(describe_errors(&errors, "syntax")))?;
        let filter = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| {
                PartitionError::InvalidQuery(describe_errors(&errors, "unknown name"))
            })?;
        Ok(PartitionQuery {
            source: source.to_string(),
            filter: std::sync::Arc::new(filter),
        })
    }

    /// The query's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Runs the query on a record: the record must be JSON, the query must give exactly one object, and each of
    /// its values must be a string, a number or a boolean (written as text: `42`, `true`).
    pub fn evaluate(&self, data: &[u8]) -> Result<BTreeMap<String, String>, PartitionError> {
        let input = jaq_json::read::parse_single(data).map_err(|_| PartitionError::NotJson)?;
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        let mut outputs = self.filter.id.run((ctx, input)).map(jaq_core::unwrap_valr);
        let first = match outputs.next() {
            None => {
                return Err(PartitionError::QueryFailed(
                    "the query gave no output".into(),
                ));
            }
            Some(Err(e)) => return Err(PartitionError::QueryFailed(e.to_string())),
            Some(Ok(v)) => v,
        };
        if outputs.next().is_some() {
            return Err(PartitionError::QueryFailed(
                "the query gave more than one output".into(),
            ));
        }
        let Val::Obj(map) = first else {
            return Err(PartitionError::QueryFailed(format!(
                "the query must give an object, it gave {first}"
            )));
        };
        let mut keys = BTreeMap::new();
        for (k, v) in map.iter() {
            let Val::TStr(name) = k else {
                return Err(PartitionError::QueryFailed(format!(
                    "key {k} is not a string"
                )));
            };
            let name = String::from_utf8_lossy(name).into_owned();
            let value = match v {
                Val::TStr(s) | Val::BStr(s) => String::from_utf8_lossy(s).into_owned(),
                Val::Num(_) | Val::Bool(_) => v.to_string(),
                Val::Null => return Err(PartitionError::QueryFailed(MESSAGE_NULL_OR_EMPTY.into())),
                _ => {
                    return Err(PartitionError::QueryFailed(format!(
                        "partition key {name} is not a string, number or boolean"
                    )));
                }
            };
            if value.is_empty() {
                return Err(PartitionError::QueryFailed(MESSAGE_NULL_OR_EMPTY.into()));
            }
            keys.insert(name, value);
        }
        Ok(keys)
    }
}

fn describe_errors<T, E: std::fmt::Debug>(errors: &[(T, E)], what: &str) -> String {
    let details: Vec<String> = errors.iter().map(|(_, e)| format!("{e:?}")).collect();
    let text = details.join("; ");
    // Keep messages readable: the debug form of parser errors can be long.
    let short: String = text.chars().take(300).collect();
    format!("{what} error: {short}")
}

/// Replaces `!{partitionKeyFromQuery:KEY}` and `!{partitionKeyFromLambda:KEY}` in an S3 prefix with the record's
/// values, leaving every other expression (`!{timestamp:..}`, `!{firehose:..}`) for the prefix renderer.
pub fn render_partition_keys(
    prefix: &str,
    from_query: &BTreeMap<String, String>,
    from_lambda: &BTreeMap<String, String>,
) -> Result<String, PartitionError> {
    const NAMESPACES: [&str; 2] = ["partitionKeyFromQuery", "partitionKeyFromLambda"];
    let mut out = String::with_capacity(prefix.len());
    let mut rest = prefix;
    while let Some(start) = rest.find("!{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let inner = &after[..end];
        match inner.split_once(':') {
            Some((namespace, key)) if NAMESPACES.contains(&namespace) => {
                let (namespace, values) = if namespace == NAMESPACES[0] {
                    (NAMESPACES[0], from_query)
                } else {
                    (NAMESPACES[1], from_lambda)
                };
                let value = values.get(key).ok_or_else(|| PartitionError::MissingKey {
                    namespace,
                    key: key.to_string(),
                })?;
                out.push_str(value);
            }
            _ => {
                out.push_str("!{");
                out.push_str(inner);
                out.push('}');
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The partitions a delivery stream has open (buffers not yet delivered), keyed by their evaluated prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivePartitions {
    limit: u32,
    open: BTreeSet<String>,
}

impl ActivePartitions {
    /// No partition open, at most `limit` (clamped to 1..=[`ACTIVE_PARTITIONS_MAX`]).
    pub fn new(limit: u32) -> Self {
        ActivePartitions {
            limit: limit.clamp(1, ACTIVE_PARTITIONS_MAX),
            open: BTreeSet::new(),
        }
    }

    /// The limit in force.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// How many partitions are open.
    pub fn count(&self) -> u32 {
        u32::try_from(self.open.len()).unwrap_or(u32::MAX)
    }

    /// Whether this partition is open.
    pub fn is_open(&self, prefix: &str) -> bool {
        self.open.contains(prefix)
    }

    /// Admits a record for `prefix`: an open partition takes it; a new one opens if the limit allows.
    pub fn admit(&mut self, prefix: &str) -> Result<(), PartitionError> {
        if self.open.contains(prefix) {
            return Ok(());
        }
        if self.count() >= self.limit {
            return Err(PartitionError::ActivePartitionExceeded { limit: self.limit });
        }
        self.open.insert(prefix.to_string());
        Ok(())
    }

    /// Closes a partition once its buffer was delivered.
    pub fn release(&mut self, prefix: &str) {
        self.open.remove(prefix);
    }

    /// The open partitions, in order.
    pub fn open(&self) -> impl Iterator<Item = &str> {
        self.open.iter().map(String::as_str)
    }
}

impl Default for ActivePartitions {
    fn default() -> Self {
        ActivePartitions::new(ACTIVE_PARTITIONS_DEFAULT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_send() {
        fn send<T: Send + Sync>() {}
        send::<PartitionQuery>();
    }

    #[test]
    fn extracts_keys_with_jq() {
        let q = PartitionQuery::compile("{customer_id:.customer_id, n:.n, ok:.flag}")
            .expect("compiles");
        let keys = q
            .evaluate(br#"{"customer_id":"c-7","n":42,"flag":true,"other":[1]}"#)
            .expect("evaluates");
        assert_eq!(keys.get("customer_id").map(String::as_str), Some("c-7"));
        assert_eq!(keys.get("n").map(String::as_str), Some("42"));
        assert_eq!(keys.get("ok").map(String::as_str), Some("true"));
        assert_eq!(q.evaluate(b"not json"), Err(PartitionError::NotJson));
        assert!(matches!(
            q.evaluate(br#"{"n":1}"#),
            Err(PartitionError::QueryFailed(_))
        ));
        let q = PartitionQuery::compile("{device:.device.id|ascii_downcase}").expect("compiles");
        assert_eq!(
            q.evaluate(br#"{"device":{"id":"ABC"}}"#)
                .expect("ok")
                .get("device")
                .map(String::as_str),
            Some("abc")
        );
    }

    #[test]
    fn bad_queries_and_limits() {
        assert!(matches!(
            PartitionQuery::compile("{a:"),
            Err(PartitionError::InvalidQuery(_))
        ));
        assert!(matches!(
            PartitionQuery::compile("nosuchfn"),
            Err(PartitionError::InvalidQuery(_))
        ));
        assert!(matches!(
            PartitionQuery::compile("now"),
            Err(PartitionError::InvalidQuery(_))
        ));
        assert!(matches!(
            PartitionQuery::compile(""),
            Err(PartitionError::InvalidQuery(_))
        ));
        let q = PartitionQuery::compile(".[]").expect("compiles");
        assert!(matches!(
            q.evaluate(b"[1,2]"),
            Err(PartitionError::QueryFailed(_))
        ));
        let q = PartitionQuery::compile("error(\"x\")").expect("compiles");
        assert!(matches!(
            q.evaluate(b"{}"),
            Err(PartitionError::QueryFailed(_))
        ));

        let mut active = ActivePartitions::new(2);
        assert_eq!(active.admit("a/"), Ok(()));
        assert_eq!(active.admit("b/"), Ok(()));
        assert_eq!(active.admit("a/"), Ok(()));
        let err = active.admit("c/").expect_err("third partition");
        assert_eq!(
            err.error_output_type(),
            ErrorOutputType::ActivePartitionExceeded
        );
        active.release("a/");
        assert_eq!(active.admit("c/"), Ok(()));
    }

    #[test]
    fn renders_prefix_keys() {
        let q: BTreeMap<String, String> = [("c".to_string(), "7".to_string())].into();
        let l: BTreeMap<String, String> = [("d".to_string(), "x".to_string())].into();
        assert_eq!(
            render_partition_keys(
                "c=!{partitionKeyFromQuery:c}/d=!{partitionKeyFromLambda:d}/!{timestamp:yyyy}/",
                &q,
                &l
            ),
            Ok("c=7/d=x/!{timestamp:yyyy}/".to_string())
        );
        assert_eq!(
            render_partition_keys("!{partitionKeyFromQuery:zz}/", &q, &l),
            Err(PartitionError::MissingKey {
                namespace: "partitionKeyFromQuery",
                key: "zz".into()
            })
        );
    }
}
