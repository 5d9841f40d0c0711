//! The Amazon Redshift destination and the simulated Redshift clusters it loads.
//!
//! As Firehose documents it ("Understand data delivery"): records are first delivered to the intermediate S3 bucket
//! (`S3Configuration`, same keys, compression and buffering as an S3 destination), then Firehose writes a manifest
//! listing that object (`{Prefix}manifests/YYYY/MM/dd/HH/{name}-{version}-{time}-{uuid}`) and issues
//! `COPY table (DataTableColumns) FROM 's3://bucket/manifest' ... MANIFEST CopyOptions` on the cluster of
//! `ClusterJDBCURL`. A failed COPY is retried every [`COPY_RETRY_INTERVAL_SECONDS`] within `RetryOptions.
//! DurationInSeconds` (0..7200, default 3600; 0 means no retry), counted from the first attempt; then the batch is
//! skipped and its manifest is written under `{Prefix}errors/manifests/...` for a manual backfill (developer guide,
//! "Handle data delivery failures": "the skipped objects' information is delivered to your S3 bucket as a manifest
//! file in the errors/ folder"). COPYs of one delivery stream run in order: a retrying batch holds the later ones.
//!
//! The simulated cluster ([`SimRedshift`]) keeps tables of rows and an `stl_load_errors`-like log. COPY parses the
//! staged object per `CopyOptions`: `JSON 'auto'` (and `'auto ignorecase'`), `CSV` (`QUOTE AS`), `DELIMITER 'c'`
//! (default `|`), `GZIP`, `IGNOREHEADER n`, `MAXERROR n`, `EMPTYASNULL`, `BLANKSASNULL`, `TRUNCATECOLUMNS`,
//! `NULL AS 's'`; options that only tune Redshift (`TIMEFORMAT`, `DATEFORMAT`, `COMPUPDATE`, `STATUPDATE`,
//! `ACCEPTINVCHARS`, `REGION`, ...) are accepted and ignored; anything else fails the COPY with a syntax error. As
//! on Redshift, a row that does not parse is an `stl_load_errors` entry and fails the whole COPY (more than `MAXERROR`
//! of them, default 0).
//!
//! Tables: Redshift requires the target table to exist. The simulator creates it on the first COPY that finds it
//! missing: its columns are `DataTableColumns` (or, with `JSON 'auto'` and no `DataTableColumns`, the keys of the
//! staged records in order of first appearance); each column's type is inferred from that first load (`bigint` when
//! every value is an integer, `double precision` when every value is a number, `boolean`, else
//! `varchar(65535)`). Without `DataTableColumns`, a CSV or delimited COPY into a missing table fails with
//! Redshift's `relation "t" does not exist`. Names are folded to lower case, as Redshift does with unquoted names.
//!
//! Queries: [`SimRedshift::query`] runs a batch `SELECT` over a table with the analytics engine
//! ([`crate::analytics::batch`]).
//!
//! Credentials (`Username`/`Password` or `SecretsManagerConfiguration`) are validated for shape only; the password
//! is not kept, so it is never described.

use super::metrics::FirehoseMetric;
use super::prefix::{default_time_prefix, object_suffix, uuid_from_bits};
use super::s3::SimS3;
use super::service::{Compression, FirehoseEvent, FirehoseEventKind};
use crate::analytics::batch::{BatchResult, batch_table, query_rows};
use crate::analytics::{SqlError, SqlType, Value, parse_timestamp};
use crate::sim::{SimDuration, SimRng, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Largest `RetryOptions.DurationInSeconds`. Source: service model, `RedshiftRetryDurationInSeconds` 0..7200.
pub const RETRY_DURATION_SECONDS_MAX: u32 = 7_200;
/// Default retry duration, in seconds. Source: API reference, `RedshiftRetryOptions` (3600).
pub const RETRY_DURATION_SECONDS_DEFAULT: u32 = 3_600;
/// Time between COPY attempts, in seconds. Source: developer guide (earlier editions), "Data delivery failure
/// handling": Firehose "retries data delivery every 5 minutes".
pub const COPY_RETRY_INTERVAL_SECONDS: u64 = 300;
/// Most `stl_load_errors` entries a cluster keeps (oldest dropped first). A simulator bound.
pub const LOAD_ERRORS_KEPT_MAX: u32 = 1_000;
/// Most COPY history entries (`stl_load_commits`-like) a cluster keeps. A simulator bound.
pub const COPIES_KEPT_MAX: u32 = 1_000;
/// Most rows one simulated table holds; a COPY past it fails. A simulator bound (the browser keeps every row).
pub const TABLE_ROWS_MAX: u64 = 1_000_000;
/// Largest staged file COPY decompresses, in bytes (a Firehose object is at most 128 MiB before compression).
pub const TABLE_FILE_BYTES_MAX: u64 = 128 * 1_048_576;
/// Length of an inferred text column: Redshift's largest VARCHAR, in bytes.
pub const VARCHAR_BYTES_MAX: u32 = 65_535;
/// Longest `raw_line` / `raw_field_value` kept in `stl_load_errors`, in bytes. Source: Redshift, STL_LOAD_ERRORS
/// (`raw_line` char(1024), `raw_field_value` char(1024)).
pub const LOAD_ERROR_RAW_BYTES_MAX: usize = 1_024;

/// `SecretsManagerConfiguration`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretsManager {
    /// `Enabled`.
    pub enabled: bool,
    /// `SecretARN`.
    pub secret_arn: Option<String>,
    /// `RoleARN`.
    pub role_arn: Option<String>,
}

/// The Redshift part of `RedshiftDestinationConfiguration`; its `S3Configuration` is the delivery stream's
/// [`super::service::S3Destination`] (staging bucket, prefix, buffering, compression).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedshiftDestination {
    /// `RoleARN`.
    pub role_arn: String,
    /// `ClusterJDBCURL`: which simulated cluster.
    pub cluster_jdbc_url: String,
    /// `CopyCommand.DataTableName`.
    pub data_table_name: String,
    /// `CopyCommand.DataTableColumns`.
    pub data_table_columns: Option<String>,
    /// `CopyCommand.CopyOptions`.
    pub copy_options: Option<String>,
    /// `Username` (the password is not kept).
    pub username: Option<String>,
    /// `SecretsManagerConfiguration`.
    pub secrets_manager: Option<SecretsManager>,
    /// `RetryOptions.DurationInSeconds`.
    pub retry_duration_seconds: u32,
}

/// A `CopyCommand`: `DataTableName`, `DataTableColumns`, `CopyOptions`.
pub type CopyCommandParts = (String, Option<String>, Option<String>);

/// `RedshiftDestinationUpdate`: given members replace the current ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedshiftDestinationUpdate {
    /// New `RoleARN`.
    pub role_arn: Option<String>,
    /// New `ClusterJDBCURL`.
    pub cluster_jdbc_url: Option<String>,
    /// New `CopyCommand` (table, columns, options), replaced whole.
    pub copy: Option<CopyCommandParts>,
    /// New `Username`.
    pub username: Option<String>,
    /// New `SecretsManagerConfiguration`.
    pub secrets_manager: Option<SecretsManager>,
    /// New `RetryOptions.DurationInSeconds`.
    pub retry_duration_seconds: Option<u32>,
}

impl RedshiftDestination {
    /// Applies an update.
    pub fn apply(&mut self, u: RedshiftDestinationUpdate) {
        if let Some(v) = u.role_arn {
            self.role_arn = v;
        }
        if let Some(v) = u.cluster_jdbc_url {
            self.cluster_jdbc_url = v;
        }
        if let Some((table, columns, options)) = u.copy {
            self.data_table_name = table;
            self.data_table_columns = columns;
            self.copy_options = options;
        }
        if let Some(v) = u.username {
            self.username = Some(v);
        }
        if let Some(v) = u.secrets_manager {
            self.secrets_manager = Some(v);
        }
        if let Some(v) = u.retry_duration_seconds {
            self.retry_duration_seconds = v;
        }
    }

    /// Checks what the service checks beyond the model's shapes: credentials present, a staging compression COPY
    /// can read, the COPY options readable.
    pub fn validate(&self, staging: Compression) -> Result<(), String> {
        let secrets = self.secrets_manager.as_ref().is_some_and(|s| s.enabled);
        if !secrets && self.username.is_none() {
            return Err("Username and Password are required when SecretsManagerConfiguration is not enabled.".into());
        }
        if secrets && self.username.is_some() {
            return Err("Username and Password must not be given when SecretsManagerConfiguration is enabled.".into());
        }
        if matches!(
            staging,
            Compression::Zip | Compression::Snappy | Compression::HadoopSnappy
        ) {
            return Err(format!(
                "The compression formats SNAPPY or ZIP cannot be specified in RedshiftDestinationConfiguration.S3Configuration because the Amazon Redshift COPY operation that reads from the S3 bucket doesn't support these compression formats (it is {}).",
                staging.as_str()
            ));
        }
        if self.retry_duration_seconds > RETRY_DURATION_SECONDS_MAX {
            return Err(format!(
                "RetryOptions.DurationInSeconds must be at most {RETRY_DURATION_SECONDS_MAX}."
            ));
        }
        if self.data_table_name.trim().is_empty() {
            return Err("CopyCommand.DataTableName must not be blank.".into());
        }
        Ok(())
    }

    /// The table's name as Redshift resolves it (unquoted, lower case, without the schema).
    pub fn table(&self) -> String {
        table_name(&self.data_table_name)
    }

    /// The COPY statement Firehose issues for a manifest (credentials elided).
    pub fn copy_statement(&self, bucket: &str, manifest_key: &str) -> String {
        let columns = self
            .data_table_columns
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        let options = self.copy_options.as_deref().unwrap_or("").trim();
        format!(
            "COPY {}{columns} FROM 's3://{bucket}/{manifest_key}' CREDENTIALS 'aws_iam_role={}' MANIFEST {options};",
            self.data_table_name, self.role_arn
        )
    }
}

fn table_name(text: &str) -> String {
    let last = text.rsplit('.').next().unwrap_or(text).trim();
    match last.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(quoted) => quoted.to_string(),
        None => last.to_lowercase(),
    }
}

/// A COPY waiting to run (or to be retried) for one staged object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCopy {
    /// The staging bucket.
    pub bucket: String,
    /// The staged object.
    pub object_key: String,
    /// Its manifest.
    pub manifest_key: String,
    /// Where the manifest goes if every attempt fails (`{Prefix}errors/manifests/...`).
    pub failed_manifest_key: String,
    /// Records in the object.
    pub records: u64,
    /// Bytes of record data in it (before compression).
    pub raw_bytes: u64,
    /// When it is (next) attempted.
    pub due: SimTime,
    /// When the first attempt ran.
    pub first_attempt: Option<SimTime>,
    /// Attempts made.
    pub attempts: u32,
    /// The oldest record's arrival (the manifest's key time).
    pub oldest_unix_ms: u64,
}

/// The manifest Firehose writes for one staged object (Redshift's COPY manifest format).
pub fn manifest_body(bucket: &str, object_key: &str) -> Vec<u8> {
    serde_json::json!({"entries": [{"url": format!("s3://{bucket}/{object_key}"), "mandatory": true}]})
        .to_string()
        .into_bytes()
}

/// Writes the manifest of a staged object and returns the COPY to run. `staged` is the (key, records, raw bytes)
/// the S3 step reported.
#[allow(clippy::too_many_arguments)]
pub fn stage(
    s3: &mut SimS3,
    rng: &mut SimRng,
    name: &str,
    version: u64,
    prefix: &str,
    bucket: &str,
    staged: (String, u64, u64),
    oldest_unix_ms: u64,
    now: SimTime,
) -> Option<PendingCopy> {
    let (object_key, records, raw_bytes) = staged;
    let uuid = uuid_from_bits(rng.next_u64(), rng.next_u64());
    let manifest_name = format!(
        "manifests/{}{}",
        default_time_prefix(oldest_unix_ms),
        object_suffix(name, version, oldest_unix_ms, &uuid, "")
    );
    let manifest_key = format!("{prefix}{manifest_name}");
    let failed_manifest_key = format!("{prefix}errors/{manifest_name}");
    s3.put_object(
        now,
        bucket,
        &manifest_key,
        manifest_body(bucket, &object_key),
        "application/json",
    )
    .ok()?;
    Some(PendingCopy {
        bucket: bucket.to_string(),
        object_key,
        manifest_key,
        failed_manifest_key,
        records,
        raw_bytes,
        due: now,
        first_attempt: None,
        attempts: 0,
        oldest_unix_ms,
    })
}

/// What one delivery stream's COPY queue needs to run.
#[derive(Debug)]
pub struct CopyContext<'a> {
    /// The delivery stream.
    pub name: &'a str,
    /// The Redshift configuration now.
    pub destination: &'a RedshiftDestination,
}

/// Runs the COPYs of one delivery stream that are due at or before `now`, in order, each at its due time: a success
/// loads the rows; a failure is retried every [`COPY_RETRY_INTERVAL_SECONDS`] while the retry duration allows, then
/// the manifest goes to `errors/manifests/` and the next COPY runs.
#[allow(clippy::too_many_arguments)]
pub fn run_due(
    ctx: &CopyContext<'_>,
    pending: &mut VecDeque<PendingCopy>,
    metrics: &mut super::metrics::DeliveryMetrics,
    s3: &mut SimS3,
    cluster: &mut SimRedshift,
    events: &mut Vec<FirehoseEvent>,
    now: SimTime,
) {
    while let Some(head) = pending.front_mut() {
        if head.due > now {
            return;
        }
        let at = head.due;
        head.attempts = head.attempts.saturating_add(1);
        let first = *head.first_attempt.get_or_insert(at);
        let table = ctx.destination.table();
        let outcome = match s3.get_object(&head.bucket, &head.object_key) {
            Ok(object) => {
                let body = object.body.clone();
                cluster.copy(at, ctx.destination, &head.bucket, &head.object_key, &body)
            }
            Err(e) => Err(format!(
                "S3ServiceException: {} (s3://{}/{})",
                e.message(),
                head.bucket,
                head.object_key
            )),
        };
        match outcome {
            Ok(rows) => {
                metrics.record(at, FirehoseMetric::DeliveryToRedshiftRecords, rows);
                metrics.record(at, FirehoseMetric::DeliveryToRedshiftBytes, head.raw_bytes);
                metrics.record(at, FirehoseMetric::DeliveryToRedshiftSuccess, 1);
                events.push(FirehoseEvent {
                    at,
                    delivery_stream: ctx.name.to_string(),
                    kind: FirehoseEventKind::CopiedToRedshift {
                        table,
                        rows,
                        manifest_key: head.manifest_key.clone(),
                        attempts: head.attempts,
                    },
                });
                pending.pop_front();
            }
            Err(message) => {
                metrics.record(at, FirehoseMetric::DeliveryToRedshiftSuccess, 0);
                let next = at.saturating_add(SimDuration::from_secs(COPY_RETRY_INTERVAL_SECONDS));
                let deadline = first.saturating_add(SimDuration::from_secs(u64::from(
                    ctx.destination.retry_duration_seconds,
                )));
                if next < deadline {
                    events.push(FirehoseEvent {
                        at,
                        delivery_stream: ctx.name.to_string(),
                        kind: FirehoseEventKind::RedshiftCopyFailed {
                            table,
                            message,
                            retry_at: Some(next),
                            failed_manifest_key: None,
                        },
                    });
                    head.due = next;
                    continue;
                }
                let Some(done) = pending.pop_front() else {
                    return;
                };
                let failed_key = done.failed_manifest_key.clone();
                let _ = s3.put_object(
                    at,
                    &done.bucket,
                    &failed_key,
                    manifest_body(&done.bucket, &done.object_key),
                    "application/json",
                );
                events.push(FirehoseEvent {
                    at,
                    delivery_stream: ctx.name.to_string(),
                    kind: FirehoseEventKind::RedshiftCopyFailed {
                        table,
                        message,
                        retry_at: None,
                        failed_manifest_key: Some(failed_key),
                    },
                });
            }
        }
    }
}

/// One column of a simulated table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Its name (lower case).
    pub name: String,
    /// Its type.
    pub sql_type: SqlType,
}

impl Column {
    /// The type as Redshift spells it.
    pub fn type_name(&self) -> String {
        match &self.sql_type {
            SqlType::Varchar(n) => format!("varchar({n})"),
            SqlType::Integer => "integer".into(),
            SqlType::Bigint => "bigint".into(),
            SqlType::Double => "double precision".into(),
            SqlType::Boolean => "boolean".into(),
            SqlType::Timestamp => "timestamp".into(),
        }
    }
}

/// A simulated table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Rows in load order.
    pub rows: Vec<Vec<Value>>,
}

/// An `stl_load_errors` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadError {
    /// The COPY's query id.
    pub query: u64,
    /// When the COPY ran.
    pub starttime: SimTime,
    /// The table.
    pub tbl: String,
    /// The file (`s3://bucket/key`).
    pub filename: String,
    /// 1-based line (JSON: 1-based record) in the file.
    pub line_number: u64,
    /// The column, when one is at fault.
    pub colname: String,
    /// The column's type.
    pub col_type: String,
    /// The line as read (at most 1,024 bytes).
    pub raw_line: String,
    /// The field as read.
    pub raw_field_value: String,
    /// Redshift's load error code (1200s).
    pub err_code: u32,
    /// Redshift's reason.
    pub err_reason: String,
}

/// A COPY that ran (`stl_load_commits`-like).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyRecord {
    /// Query id.
    pub query: u64,
    /// When.
    pub at: SimTime,
    /// The table.
    pub table: String,
    /// The file.
    pub filename: String,
    /// Rows loaded (0 when it failed).
    pub rows: u64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// One simulated cluster (a `ClusterJDBCURL`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// Tables by name.
    pub tables: BTreeMap<String, Table>,
    /// `stl_load_errors`, oldest first.
    pub load_errors: VecDeque<LoadError>,
    /// COPYs run, oldest first.
    pub copies: VecDeque<CopyRecord>,
}

/// The simulated Redshift clusters, by `ClusterJDBCURL`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimRedshift {
    clusters: BTreeMap<String, Cluster>,
    next_query: u64,
}

/// The options of a COPY as read from `CopyOptions`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// `JSON 'auto'` (with `ignorecase`: `Some(true)`).
    pub json_ignorecase: Option<bool>,
    /// `CSV`.
    pub csv: bool,
    /// The field delimiter.
    pub delimiter: char,
    /// The CSV quote character.
    pub quote: char,
    /// `GZIP`.
    pub gzip: bool,
    /// `IGNOREHEADER n`.
    pub ignore_header: u64,
    /// `MAXERROR n`.
    pub max_error: u64,
    /// `EMPTYASNULL`.
    pub empty_as_null: bool,
    /// `BLANKSASNULL`.
    pub blanks_as_null: bool,
    /// `TRUNCATECOLUMNS`.
    pub truncate_columns: bool,
    /// `NULL AS 's'` (default `\N` for delimited text).
    pub null_as: Option<String>,
}

const IGNORED_OPTIONS_WITH_VALUE: &[&str] = &[
    "TIMEFORMAT",
    "DATEFORMAT",
    "COMPUPDATE",
    "STATUPDATE",
    "REGION",
    "ENCODING",
    "ACCEPTINVCHARS",
];
const IGNORED_FLAGS: &[&str] = &[
    "ACCEPTANYDATE",
    "TRIMBLANKS",
    "ROUNDEC",
    "EXPLICIT_IDS",
    "FILLRECORD",
    "REMOVEQUOTES",
    "ESCAPE",
    "NOLOAD",
];

fn tokens(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() || c == ';' {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut s = String::from("'");
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        s.push('\'');
                    }
                    Some('\'') => break,
                    Some(ch) => s.push(ch),
                    None => return Err("unterminated quoted string in CopyOptions".into()),
                }
            }
            out.push(s);
        } else {
            let mut s = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == '\'' || ch == ';' {
                    break;
                }
                s.push(ch);
                chars.next();
            }
            out.push(s);
        }
    }
    Ok(out)
}

impl CopyOptions {
    /// Reads `CopyOptions`; an error is Redshift's syntax error text.
    pub fn parse(text: &str) -> Result<CopyOptions, String> {
        let mut o = CopyOptions {
            delimiter: '|',
            quote: '"',
            ..CopyOptions::default()
        };
        let toks = tokens(text)?;
        let syntax = |t: &str| format!("syntax error at or near \"{t}\"");
        let quoted = |t: Option<&String>| -> Option<String> {
            t.and_then(|t| t.strip_prefix('\'')).map(str::to_string)
        };
        let mut i = 0;
        while i < toks.len() {
            let t = toks[i].to_uppercase();
            i += 1;
            let skip_as = |i: &mut usize| {
                if toks.get(*i).is_some_and(|t| t.eq_ignore_ascii_case("AS")) {
                    *i += 1;
                }
            };
            match t.as_str() {
                "FORMAT" => skip_as(&mut i),
                "JSON" => {
                    skip_as(&mut i);
                    match quoted(toks.get(i)).map(|s| s.to_lowercase()) {
                        Some(s) if s == "auto" => o.json_ignorecase = Some(false),
                        Some(s) if s == "auto ignorecase" => o.json_ignorecase = Some(true),
                        Some(s) => {
                            return Err(format!(
                                "JSON '{s}' is not simulated: use JSON 'auto' or 'auto ignorecase' (JSONPaths files are not read)"
                            ));
                        }
                        None => o.json_ignorecase = Some(false),
                    }
                    if toks.get(i).is_some_and(|t| t.starts_with('\'')) {
                        i += 1;
                    }
                }
                "CSV" => {
                    o.csv = true;
                    o.delimiter = if o.delimiter == '|' { ',' } else { o.delimiter };
                    if toks.get(i).is_some_and(|t| t.eq_ignore_ascii_case("QUOTE")) {
                        i += 1;
                        skip_as(&mut i);
                        o.quote = quoted(toks.get(i))
                            .and_then(|s| s.chars().next())
                            .ok_or_else(|| syntax("QUOTE"))?;
                        i += 1;
                    }
                }
                "QUOTE" => {
                    skip_as(&mut i);
                    o.quote = quoted(toks.get(i))
                        .and_then(|s| s.chars().next())
                        .ok_or_else(|| syntax("QUOTE"))?;
                    i += 1;
                }
                "DELIMITER" => {
                    skip_as(&mut i);
                    let d = quoted(toks.get(i)).ok_or_else(|| syntax("DELIMITER"))?;
                    let d = if d == "\\t" { "\t".to_string() } else { d };
                    let mut cs = d.chars();
                    match (cs.next(), cs.next()) {
                        (Some(c), None) => o.delimiter = c,
                        _ => return Err("COPY delimiter must be a single character".into()),
                    }
                    i += 1;
                }
                "GZIP" => o.gzip = true,
                "EMPTYASNULL" => o.empty_as_null = true,
                "BLANKSASNULL" => o.blanks_as_null = true,
                "TRUNCATECOLUMNS" => o.truncate_columns = true,
                "IGNOREHEADER" | "MAXERROR" => {
                    skip_as(&mut i);
                    let n = toks
                        .get(i)
                        .and_then(|t| t.parse::<u64>().ok())
                        .ok_or_else(|| syntax(&t))?;
                    if t == "IGNOREHEADER" {
                        o.ignore_header = n;
                    } else {
                        o.max_error = n;
                    }
                    i += 1;
                }
                "NULL" => {
                    skip_as(&mut i);
                    o.null_as = Some(quoted(toks.get(i)).ok_or_else(|| syntax("NULL"))?);
                    i += 1;
                }
                other if IGNORED_OPTIONS_WITH_VALUE.contains(&other) => {
                    skip_as(&mut i);
                    if toks
                        .get(i)
                        .is_some_and(|t| t.starts_with('\'') || !is_keyword(t))
                    {
                        i += 1;
                    }
                }
                other if IGNORED_FLAGS.contains(&other) => {}
                "BZIP2" | "LZOP" | "ZSTD" | "PARQUET" | "ORC" | "AVRO" | "FIXEDWIDTH" => {
                    return Err(format!(
                        "{t} is not simulated: COPY reads text, CSV or JSON, plain or GZIP"
                    ));
                }
                _ => return Err(syntax(&toks[i - 1])),
            }
        }
        Ok(o)
    }
}

fn is_keyword(t: &str) -> bool {
    let u = t.to_uppercase();
    matches!(
        u.as_str(),
        "JSON" | "CSV" | "GZIP" | "DELIMITER" | "FORMAT" | "IGNOREHEADER" | "MAXERROR" | "NULL"
    ) || IGNORED_FLAGS.contains(&u.as_str())
        || IGNORED_OPTIONS_WITH_VALUE.contains(&u.as_str())
}

/// One parsed input row: its 1-based line, raw text and fields by column (None: NULL).
struct Parsed {
    line: u64,
    raw: String,
    fields: Result<Vec<Option<String>>, (u32, String)>,
}

fn clip(s: &str) -> String {
    let mut end = s.len().min(LOAD_ERROR_RAW_BYTES_MAX);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn json_field(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Splits a delimited/CSV line into fields.
fn split_line(line: &str, o: &CopyOptions) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        if o.csv && c == o.quote {
            if in_quotes && chars.peek() == Some(&o.quote) {
                chars.next();
                cur.push(c);
            } else {
                in_quotes = !in_quotes;
            }
        } else if !o.csv && c == '\\' {
            if let Some(n) = chars.next() {
                cur.push(n);
            }
        } else if c == o.delimiter && !in_quotes {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

fn null_of(field: String, o: &CopyOptions) -> Option<String> {
    let null_text = o
        .null_as
        .clone()
        .unwrap_or_else(|| if o.csv { String::new() } else { "\\N".into() });
    if (!o.csv || o.null_as.is_some()) && field == null_text && !field.is_empty() {
        return None;
    }
    if o.empty_as_null && field.is_empty() {
        return None;
    }
    if o.blanks_as_null && !field.is_empty() && field.trim().is_empty() {
        return None;
    }
    Some(field)
}

/// Parses the file's text into rows of `names`' fields. `names` is None for JSON without known columns (then the
/// keys are collected into it).
fn parse_rows(text: &str, o: &CopyOptions, names: &mut Vec<String>, discover: bool) -> Vec<Parsed> {
    let mut out = Vec::new();
    if let Some(ignorecase) = o.json_ignorecase {
        let mut line: u64 = 1;
        let mut rest = text;
        while !rest.trim_start().is_empty() {
            let skipped = rest.len() - rest.trim_start().len();
            line += rest[..skipped].matches('\n').count() as u64;
            rest = rest.trim_start();
            let mut stream =
                serde_json::Deserializer::from_str(rest).into_iter::<serde_json::Value>();
            match stream.next() {
                Some(Ok(v)) => {
                    let used = stream.byte_offset();
                    let raw = clip(&rest[..used]);
                    rest = &rest[used..];
                    let fields = match v {
                        serde_json::Value::Object(map) => {
                            if discover {
                                for k in map.keys() {
                                    if !names.iter().any(|n| n == &k.to_lowercase()) {
                                        names.push(k.to_lowercase());
                                    }
                                }
                            }
                            Ok(names
                                .iter()
                                .map(|n| {
                                    map.get(n.as_str())
                                        .or_else(|| {
                                            ignorecase
                                                .then(|| {
                                                    map.iter()
                                                        .find(|(k, _)| k.eq_ignore_ascii_case(n))
                                                        .map(|(_, v)| v)
                                                })
                                                .flatten()
                                        })
                                        .and_then(json_field)
                                })
                                .collect())
                        }
                        _ => Err((
                            1216,
                            "Invalid JSONPath format: Member is not an object.".to_string(),
                        )),
                    };
                    out.push(Parsed { line, raw, fields });
                }
                Some(Err(e)) => {
                    let end = rest.find('\n').unwrap_or(rest.len());
                    out.push(Parsed {
                        line,
                        raw: clip(&rest[..end]),
                        fields: Err((1216, format!("Invalid JSON: {e}"))),
                    });
                    // Skip the rest of the line and go on (Redshift reports the first error per line).
                    rest = &rest[end..];
                }
                None => break,
            }
        }
        // Rows discovered later than the first record get NULL for keys they lack: widen earlier rows.
        let width = names.len();
        for p in &mut out {
            if let Ok(f) = &mut p.fields {
                f.resize(width, None);
            }
        }
        return out;
    }
    for (i, line) in text.lines().enumerate() {
        let number = i as u64 + 1;
        if number <= o.ignore_header {
            continue;
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let fields = split_line(line, o);
        let parsed = if fields.len() > names.len() {
            Err((1202, "Extra column(s) found".to_string()))
        } else if fields.len() < names.len() {
            Err((1214, "Delimiter not found".to_string()))
        } else {
            Ok(fields.into_iter().map(|f| null_of(f, o)).collect())
        };
        out.push(Parsed {
            line: number,
            raw: clip(line),
            fields: parsed,
        });
    }
    out
}

/// A field converted to a column's type, or Redshift's error code and reason.
fn convert(
    field: Option<String>,
    column: &Column,
    o: &CopyOptions,
) -> Result<Value, (u32, String)> {
    let Some(text) = field else {
        return Ok(Value::Null);
    };
    let t = text.trim();
    match &column.sql_type {
        SqlType::Varchar(n) => {
            if text.len() > *n as usize {
                if o.truncate_columns {
                    let mut end = *n as usize;
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    return Ok(Value::Str(text[..end].to_string()));
                }
                return Err((1204, "String length exceeds DDL length".into()));
            }
            Ok(Value::Str(text))
        }
        SqlType::Integer | SqlType::Bigint => {
            let v: i64 = t.parse().map_err(|_| {
                (
                    1207,
                    format!(
                        "Invalid digit, Value '{}', Pos 0, Type: {}",
                        t.chars().next().unwrap_or(' '),
                        if column.sql_type == SqlType::Integer {
                            "Integer"
                        } else {
                            "Long"
                        }
                    ),
                )
            })?;
            if column.sql_type == SqlType::Integer && i32::try_from(v).is_err() {
                return Err((1216, format!("Overflow, Value '{t}', Type: Integer")));
            }
            Ok(Value::Int(v))
        }
        SqlType::Double => t
            .parse::<f64>()
            .map(Value::Double)
            .map_err(|_| (1208, "FLOAT data type format error".into())),
        SqlType::Boolean => match t.to_lowercase().as_str() {
            "true" | "t" | "1" | "yes" | "y" => Ok(Value::Bool(true)),
            "false" | "f" | "0" | "no" | "n" => Ok(Value::Bool(false)),
            _ => Err((1210, "BOOLEAN data type format error".into())),
        },
        SqlType::Timestamp => parse_timestamp(t)
            .map(Value::Timestamp)
            .ok_or((1206, "Timestamp format is invalid".into())),
    }
}

fn infer(values: &[&Option<String>]) -> SqlType {
    let present: Vec<&str> = values
        .iter()
        .filter_map(|v| v.as_deref())
        .map(str::trim)
        .collect();
    if present.is_empty() {
        return SqlType::Varchar(VARCHAR_BYTES_MAX);
    }
    if present.iter().all(|v| v.parse::<i64>().is_ok()) {
        SqlType::Bigint
    } else if present
        .iter()
        .all(|v| v.parse::<f64>().is_ok_and(f64::is_finite))
    {
        SqlType::Double
    } else if present
        .iter()
        .all(|v| matches!(v.to_lowercase().as_str(), "true" | "false"))
    {
        SqlType::Boolean
    } else {
        SqlType::Varchar(VARCHAR_BYTES_MAX)
    }
}

fn split_columns(text: &str) -> Vec<String> {
    text.split(',')
        .map(|c| table_name(c.trim()))
        .filter(|c| !c.is_empty())
        .collect()
}

impl SimRedshift {
    /// The clusters by `ClusterJDBCURL`.
    pub fn clusters(&self) -> &BTreeMap<String, Cluster> {
        &self.clusters
    }

    /// One cluster.
    pub fn cluster(&self, jdbc_url: &str) -> Option<&Cluster> {
        self.clusters.get(jdbc_url)
    }

    /// Runs a batch `SELECT ... FROM table ...` on a cluster's table with the analytics engine.
    pub fn query(&self, jdbc_url: &str, sql: &str) -> Result<BatchResult, SqlError> {
        let wanted = table_name(&batch_table(sql)?);
        let not_found = || SqlError {
            line: 1,
            column: 1,
            message: format!("relation \"{wanted}\" does not exist"),
            unsupported: None,
        };
        let table = self
            .clusters
            .get(jdbc_url)
            .and_then(|c| c.tables.get(&wanted))
            .ok_or_else(not_found)?;
        let names: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        query_rows(sql, &wanted, &names, &table.rows)
    }

    /// COPY of one staged object into the destination's table at `now`: the rows loaded, or the error Redshift
    /// reports (load errors are logged in the cluster's `stl_load_errors`).
    pub fn copy(
        &mut self,
        now: SimTime,
        d: &RedshiftDestination,
        bucket: &str,
        key: &str,
        body: &[u8],
    ) -> Result<u64, String> {
        self.next_query = self.next_query.saturating_add(1);
        let query = self.next_query;
        let filename = format!("s3://{bucket}/{key}");
        let table_key = d.table();
        let cluster = self.clusters.entry(d.cluster_jdbc_url.clone()).or_default();
        let result = copy_into(cluster, query, now, d, &filename, body);
        cluster.copies.push_back(CopyRecord {
            query,
            at: now,
            table: table_key,
            filename,
            rows: *result.as_ref().unwrap_or(&0),
            error: result.as_ref().err().cloned(),
        });
        while cluster.copies.len() > COPIES_KEPT_MAX as usize {
            cluster.copies.pop_front();
        }
        while cluster.load_errors.len() > LOAD_ERRORS_KEPT_MAX as usize {
            cluster.load_errors.pop_front();
        }
        result
    }
}

fn copy_into(
    cluster: &mut Cluster,
    query: u64,
    now: SimTime,
    d: &RedshiftDestination,
    filename: &str,
    body: &[u8],
) -> Result<u64, String> {
    let o = CopyOptions::parse(d.copy_options.as_deref().unwrap_or(""))?;
    let table = d.table();
    let bytes = if o.gzip {
        super::gzip::decompress(body, TABLE_FILE_BYTES_MAX).map_err(|_| {
            format!(
                "gzip: invalid header. File {filename} is not a valid gzip file (COPY has GZIP)"
            )
        })?
    } else {
        body.to_vec()
    };
    let log = |cluster: &mut Cluster,
               line: u64,
               col: Option<&Column>,
               raw: &str,
               field: &str,
               code: u32,
               reason: &str| {
        cluster.load_errors.push_back(LoadError {
            query,
            starttime: now,
            tbl: table.clone(),
            filename: filename.to_string(),
            line_number: line,
            colname: col.map(|c| c.name.clone()).unwrap_or_default(),
            col_type: col.map(Column::type_name).unwrap_or_default(),
            raw_line: clip(raw),
            raw_field_value: clip(field),
            err_code: code,
            err_reason: reason.to_string(),
        });
    };
    let failed = || {
        format!(
            "Load into table '{table}' failed.  Check 'stl_load_errors' system table for details."
        )
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            log(
                cluster,
                1,
                None,
                "",
                "",
                1220,
                &format!(
                    "String contains invalid or unsupported UTF8 codepoints. Bad UTF8 hex sequence at byte {}",
                    e.utf8_error().valid_up_to()
                ),
            );
            return Err(failed());
        }
    };
    let listed = d
        .data_table_columns
        .as_deref()
        .map(split_columns)
        .filter(|c| !c.is_empty());
    let existing = cluster.tables.get(&table).map(|t| t.columns.clone());
    let mut names = match (&listed, &existing) {
        (Some(l), _) => l.clone(),
        (None, Some(cols)) => cols.iter().map(|c| c.name.clone()).collect(),
        (None, None) if o.json_ignorecase.is_some() => Vec::new(),
        (None, None) => return Err(format!("relation \"{table}\" does not exist")),
    };
    let discover = listed.is_none() && existing.is_none();
    let parsed = parse_rows(&text, &o, &mut names, discover);
    let columns: Vec<Column> = match &existing {
        Some(cols) => {
            let mut out = Vec::new();
            for n in &names {
                match cols.iter().find(|c| &c.name == n) {
                    Some(c) => out.push(c.clone()),
                    None => {
                        return Err(format!(
                            "column \"{n}\" of relation \"{table}\" does not exist"
                        ));
                    }
                }
            }
            out
        }
        None => names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let values: Vec<&Option<String>> = parsed
                    .iter()
                    .filter_map(|p| p.fields.as_ref().ok())
                    .filter_map(|f| f.get(i))
                    .collect();
                Column {
                    name: n.clone(),
                    sql_type: infer(&values),
                }
            })
            .collect(),
    };
    let table_columns = existing.clone().unwrap_or_else(|| columns.clone());
    let mut rows = Vec::with_capacity(parsed.len());
    let mut errors: u64 = 0;
    for p in parsed {
        let fields = match p.fields {
            Ok(f) => f,
            Err((code, reason)) => {
                log(cluster, p.line, None, &p.raw, "", code, &reason);
                errors += 1;
                continue;
            }
        };
        let mut row = vec![Value::Null; table_columns.len()];
        let mut bad = false;
        for (field, column) in fields.into_iter().zip(&columns) {
            let raw_field = field.clone().unwrap_or_default();
            match convert(field, column, &o) {
                Ok(v) => {
                    if let Some(at) = table_columns.iter().position(|c| c.name == column.name) {
                        row[at] = v;
                    }
                }
                Err((code, reason)) => {
                    log(
                        cluster,
                        p.line,
                        Some(column),
                        &p.raw,
                        &raw_field,
                        code,
                        &reason,
                    );
                    bad = true;
                    break;
                }
            }
        }
        if bad {
            errors += 1;
        } else {
            rows.push(row);
        }
    }
    if errors > o.max_error {
        return Err(failed());
    }
    let t = cluster
        .tables
        .entry(table.clone())
        .or_insert_with(|| Table {
            columns: table_columns,
            rows: Vec::new(),
        });
    if t.rows.len() as u64 + rows.len() as u64 > TABLE_ROWS_MAX {
        return Err(format!(
            "Disk Full: table '{table}' would pass the simulator's {TABLE_ROWS_MAX} rows"
        ));
    }
    let loaded = rows.len() as u64;
    t.rows.extend(rows);
    Ok(loaded)
}
