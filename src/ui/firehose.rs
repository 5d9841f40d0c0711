//! Amazon Data Firehose: the delivery streams (create one here, through the Firehose API, so a mistake comes
//! back with AWS's own message) and one delivery stream's page: buffer fill against the size and interval hints,
//! the flushes with their reasons and the S3 objects they wrote, metrics per simulated minute, test records and
//! the transform editor (src/ui/transform_editor.rs) and the sources card (src/ui/firehose_sources.rs).

use super::chart::{ChartText, minute_chart, per_minute};
use super::dashboard::{error_text, feedback};
use super::format::{bytes, count, millis};
use super::{Route, Sim};
use crate::api::ApiResponse;
use crate::firehose::metrics::FirehoseMetric;
use crate::firehose::service::{FirehoseEventKind, FlushReason, S3Destination, SourceConfig};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;
use yew_router::prelude::*;

pub mod opensearch;

/// The role the create form names (the simulator checks the ARN's shape, not IAM).
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/firehose-delivery-role";
/// The simulated cluster the create form's Redshift destination loads.
pub const REDSHIFT_JDBC_URL: &str =
    "jdbc:redshift://training.abc123xyz.us-east-1.redshift.amazonaws.com:5439/dev";
/// The user the create form names (the simulator checks the shape of credentials, not their value).
const REDSHIFT_USER: &str = "awsuser";
/// The password the create form sends for the simulated cluster (never stored nor described).
const REDSHIFT_PASSWORD: &str = "Simulated1";
/// `stl_load_errors` rows and COPYs listed on the Redshift card.
const REDSHIFT_ROWS_SHOWN: usize = 10;
/// Flush events listed on a delivery stream's page.
const EVENTS_SHOWN: usize = 20;
/// Records one "put test records" click sends (PutRecordBatch takes at most 500).
pub const TEST_RECORDS_MAX: u64 = 500;
/// The transform a new editor starts with: the Lambda contract, written in JavaScript.
pub const TRANSFORM_TEMPLATE: &str = r#"// Called with Firehose's Lambda event: { invocationId, records: [{ recordId, approximateArrivalTimestamp, data }] }
// data is base64. Return { records: [{ recordId, result: "Ok" | "Dropped" | "ProcessingFailed", data }] }.
function transform(event) {
  return {
    records: event.records.map((r) => {
      const text = atob(r.data);
      return { recordId: r.recordId, result: "Ok", data: btoa(text.toUpperCase()) };
    }),
  };
}
"#;

/// `value / hint`, clamped to 0..=1 (0 when the hint is 0).
pub fn fill_fraction(value: u64, hint: u64) -> f64 {
    if hint == 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let f = value as f64 / hint as f64;
    f.clamp(0.0, 1.0)
}

/// How full a delivery stream's fullest buffer is, against the two hints that flush it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BufferFill {
    /// Records buffered (all partitions).
    pub records: u64,
    /// Bytes in the fullest buffer.
    pub bytes: u64,
    /// `SizeInMBs` in bytes.
    pub size_hint_bytes: u64,
    /// Time since the oldest buffer's first record, in ms (0 with nothing buffered).
    pub age_ms: u64,
    /// `IntervalInSeconds` in ms.
    pub interval_ms: u64,
}

impl BufferFill {
    /// Measures buffers given as (records, bytes, opened at in ms) at `now_ms`.
    pub fn measure(
        buffers: impl IntoIterator<Item = (u64, u64, u64)>,
        now_ms: u64,
        size_mib: u32,
        interval_seconds: u32,
    ) -> BufferFill {
        let mut fill = BufferFill {
            records: 0,
            bytes: 0,
            size_hint_bytes: u64::from(size_mib) * 1_048_576,
            age_ms: 0,
            interval_ms: u64::from(interval_seconds) * 1_000,
        };
        for (records, bytes, opened_ms) in buffers {
            if records == 0 {
                continue;
            }
            fill.records += records;
            fill.bytes = fill.bytes.max(bytes);
            fill.age_ms = fill.age_ms.max(now_ms.saturating_sub(opened_ms));
        }
        fill
    }

    /// Bytes against the size hint, 0..=1.
    pub fn size_fraction(&self) -> f64 {
        fill_fraction(self.bytes, self.size_hint_bytes)
    }

    /// Time against the interval hint, 0..=1 (a zero interval flushes at once).
    pub fn interval_fraction(&self) -> f64 {
        fill_fraction(self.age_ms, self.interval_ms)
    }

    /// Time left until the interval flushes the buffer, in ms (None with nothing buffered).
    pub fn interval_left_ms(&self) -> Option<u64> {
        (self.records > 0).then(|| self.interval_ms.saturating_sub(self.age_ms))
    }
}

/// What the create form holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateForm {
    /// `DeliveryStreamName`.
    pub name: String,
    /// Empty for Direct PUT, else the name of the Kinesis data stream to read.
    pub source_stream: String,
    /// The S3 bucket's name.
    pub bucket: String,
    /// `Prefix`.
    pub prefix: String,
    /// `ErrorOutputPrefix`.
    pub error_prefix: String,
    /// `BufferingHints.SizeInMBs`, as typed.
    pub size_mib: String,
    /// `BufferingHints.IntervalInSeconds`, as typed.
    pub interval_seconds: String,
    /// GZIP compression.
    pub gzip: bool,
    /// Another `CompressionFormat` (`ZIP`, `Snappy`, `HADOOP_SNAPPY`), chosen instead of GZIP when not empty.
    pub compression_other: String,
    /// The AppendDelimiterToRecord processor (a newline after each record).
    pub newline: bool,
    /// A jq query for dynamic partitioning (empty: off).
    pub partition_query: String,
    /// A Redshift table (empty: an S3 destination): the bucket is then the staging bucket and each object is
    /// COPYed (`JSON 'auto'`, plus `GZIP` when compressed) into this table of the simulated cluster.
    pub redshift_table: String,
}

impl Default for CreateForm {
    fn default() -> Self {
        CreateForm {
            name: "clicks-to-s3".into(),
            source_stream: String::new(),
            bucket: "training-bucket".into(),
            prefix: String::new(),
            error_prefix: String::new(),
            size_mib: "5".into(),
            interval_seconds: "60".into(),
            gzip: false,
            compression_other: String::new(),
            newline: true,
            partition_query: String::new(),
            redshift_table: String::new(),
        }
    }
}

fn whole(text: &str, field: &str) -> Result<i64, String> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| format!("{field} must be a whole number."))
}

impl CreateForm {
    /// The CreateDeliveryStream body. Only what cannot be sent at all (a number that is not one) is refused here;
    /// everything else goes to the API so the answer is AWS's.
    pub fn body(&self) -> Result<String, String> {
        let size = whole(&self.size_mib, "Buffer size (MiB)")?;
        let interval = whole(&self.interval_seconds, "Buffer interval (seconds)")?;
        let mut destination = json!({
            "RoleARN": ROLE_ARN,
            "BucketARN": format!("arn:aws:s3:::{}", self.bucket.trim()),
            "BufferingHints": {"SizeInMBs": size, "IntervalInSeconds": interval},
            "CompressionFormat": match (self.compression_other.as_str(), self.gzip) {
                ("", true) => "GZIP",
                ("", false) => "UNCOMPRESSED",
                (other, _) => other,
            },
        });
        if !self.prefix.is_empty() {
            destination["Prefix"] = json!(self.prefix);
        }
        if !self.error_prefix.is_empty() {
            destination["ErrorOutputPrefix"] = json!(self.error_prefix);
        }
        let mut processors = Vec::new();
        let query = self.partition_query.trim();
        if !query.is_empty() {
            processors.push(json!({"Type": "MetadataExtraction", "Parameters": [
                {"ParameterName": "MetadataExtractionQuery", "ParameterValue": query},
                {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"},
            ]}));
            destination["DynamicPartitioningConfiguration"] = json!({"Enabled": true});
        }
        if self.newline {
            processors.push(json!({"Type": "AppendDelimiterToRecord", "Parameters": [
                {"ParameterName": "Delimiter", "ParameterValue": "\\n"},
            ]}));
        }
        if !processors.is_empty() {
            destination["ProcessingConfiguration"] =
                json!({"Enabled": true, "Processors": processors});
        }
        let mut body = json!({
            "DeliveryStreamName": self.name.trim(),
            "ExtendedS3DestinationConfiguration": destination,
        });
        let table = self.redshift_table.trim();
        if !table.is_empty()
            && let Some(fields) = body.as_object_mut()
            && let Some(mut staging) = fields.remove("ExtendedS3DestinationConfiguration")
        {
            let processing = staging
                .as_object_mut()
                .and_then(|o| o.remove("ProcessingConfiguration"));
            if let Some(o) = staging.as_object_mut() {
                o.remove("DynamicPartitioningConfiguration");
            }
            let options = if staging["CompressionFormat"] == "GZIP" {
                "JSON 'auto' GZIP"
            } else {
                "JSON 'auto'"
            };
            let mut redshift = json!({
                "RoleARN": ROLE_ARN,
                "ClusterJDBCURL": REDSHIFT_JDBC_URL,
                "CopyCommand": {"DataTableName": table, "CopyOptions": options},
                "Username": REDSHIFT_USER,
                "Password": REDSHIFT_PASSWORD,
                "S3Configuration": staging,
            });
            if let Some(p) = processing {
                redshift["ProcessingConfiguration"] = p;
            }
            fields.insert("RedshiftDestinationConfiguration".into(), redshift);
        }
        let source = self.source_stream.trim();
        if source.is_empty() {
            body["DeliveryStreamType"] = json!("DirectPut");
        } else {
            body["DeliveryStreamType"] = json!("KinesisStreamAsSource");
            body["KinesisStreamSourceConfiguration"] = json!({
                "KinesisStreamARN": crate::streams::service::stream_arn(source),
                "RoleARN": ROLE_ARN,
            });
        }
        Ok(body.to_string())
    }
}

/// A PutRecordBatch body of `n` small JSON test records (newline-free; the delimiter processor adds one).
pub fn test_records_body(delivery_stream: &str, n: u64, now_ms: u64) -> String {
    let records: Vec<Value> = (0..n.min(TEST_RECORDS_MAX))
        .map(|i| {
            let data = json!({"test": i, "sentAtMs": now_ms, "customer": format!("c{}", i % 3)})
                .to_string();
            json!({"Data": STANDARD.encode(data)})
        })
        .collect();
    json!({"DeliveryStreamName": delivery_stream, "Records": records}).to_string()
}

/// One line for a flush reason.
pub fn reason_text(reason: FlushReason) -> &'static str {
    match reason {
        FlushReason::BufferSize => "size hint reached",
        FlushReason::BufferInterval => "interval hint reached",
        FlushReason::DestinationUpdated => "destination updated",
        FlushReason::Deleting => "delivery stream deleted",
    }
}

/// Creates a delivery stream through the API and, when it is created, goes to its page.
pub fn create_delivery_stream(
    sim: &Sim,
    body: String,
    name: String,
    navigator: Option<Navigator>,
    done: Callback<Result<String, String>>,
) {
    sim.firehose(
        "CreateDeliveryStream",
        body,
        Callback::from(move |r: ApiResponse| {
            if r.status == 200 {
                done.emit(Ok(format!("Delivery stream {name} is CREATING.")));
                if let Some(nav) = &navigator {
                    nav.push(&Route::DeliveryStream { name: name.clone() });
                }
            } else {
                done.emit(Err(error_text(&r)));
            }
        }),
    );
}

/// `#/firehose`: every delivery stream and the create form.
#[component(FirehoseList)]
pub fn firehose_list() -> Html {
    let Some(sim) = use_context::<Sim>() else {
        return html! {};
    };
    html! {
        <div class="page firehose">
            <div class="page-head">
                <h1>{ "Firehose delivery streams" }</h1>
                <p class="lead">{ "Fully managed delivery: records wait in a buffer until the size hint or the interval hint is reached, then land in S3 as one object. " }
                    <Link<Route> to={Route::Compare}>{ "How is that different from a data stream?" }</Link<Route>></p>
            </div>
            <div class="grid two">
                <CreateDeliveryStream sim={sim.clone()} />
                <DeliveryStreamsTable sim={sim} />
            </div>
        </div>
    }
}

#[derive(Clone, Debug, PartialEq, Properties)]
struct SimProps {
    sim: Sim,
}

/// The create form.
#[component(CreateDeliveryStream)]
fn create_form(props: &SimProps) -> Html {
    let form = use_state(CreateForm::default);
    let message = use_state(|| None::<Result<String, String>>);
    let navigator = use_navigator();
    let streams: Vec<String> = props
        .sim
        .world
        .borrow()
        .streams()
        .stream_names()
        .map(str::to_string)
        .collect();
    let on_submit = {
        let (form, message, sim) = (form.clone(), message.clone(), props.sim.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match form.body() {
                Ok(body) => {
                    let message = message.clone();
                    create_delivery_stream(
                        &sim,
                        body,
                        form.name.trim().to_string(),
                        navigator.clone(),
                        Callback::from(move |m| message.set(Some(m))),
                    );
                }
                Err(m) => message.set(Some(Err(m))),
            }
        })
    };
    let text = |set: fn(&mut CreateForm, String)| {
        let form = form.clone();
        Callback::from(move |e: InputEvent| {
            let mut next = (*form).clone();
            set(
                &mut next,
                e.target_unchecked_into::<HtmlInputElement>().value(),
            );
            form.set(next);
        })
    };
    let check = |set: fn(&mut CreateForm, bool)| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut next = (*form).clone();
            set(
                &mut next,
                e.target_unchecked_into::<HtmlInputElement>().checked(),
            );
            form.set(next);
        })
    };
    let on_source = {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut next = (*form).clone();
            next.source_stream = e.target_unchecked_into::<HtmlSelectElement>().value();
            form.set(next);
        })
    };
    let on_compression = {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut next = (*form).clone();
            next.compression_other = e.target_unchecked_into::<HtmlSelectElement>().value();
            form.set(next);
        })
    };
    html! {
        <section class="card" aria-labelledby="fh-create-h">
            <h2 id="fh-create-h">{ "Create a delivery stream" }</h2>
            <form class="form grid-form" novalidate=true onsubmit={on_submit}>
                <label for="fh-name">{ "Name" }</label>
                <input id="fh-name" value={form.name.clone()} oninput={text(|f, v| f.name = v)} autocomplete="off" spellcheck="false" />
                <label for="fh-source">{ "Source" }</label>
                <select id="fh-source" onchange={on_source}>
                    <option value="" selected={form.source_stream.is_empty()}>{ "Direct PUT (PutRecord, PutRecordBatch)" }</option>
                    { for streams.iter().map(|s| html! {
                        <option value={s.clone()} selected={form.source_stream == *s}>{ format!("Kinesis data stream {s}") }</option>
                    }) }
                </select>
                <label for="fh-bucket">{ "S3 bucket" }</label>
                <input id="fh-bucket" value={form.bucket.clone()} oninput={text(|f, v| f.bucket = v)} autocomplete="off" spellcheck="false" />
                <label for="fh-prefix">{ "Prefix" }</label>
                <input id="fh-prefix" value={form.prefix.clone()} oninput={text(|f, v| f.prefix = v)}
                    placeholder="default: YYYY/MM/dd/HH/" autocomplete="off" spellcheck="false" />
                <label for="fh-error-prefix">{ "Error prefix" }</label>
                <input id="fh-error-prefix" value={form.error_prefix.clone()} oninput={text(|f, v| f.error_prefix = v)}
                    placeholder="errors/!{firehose:error-output-type}/" autocomplete="off" spellcheck="false" />
                <p class="hint span">{ "Expressions: " }<code>{ "!{timestamp:yyyy/MM/dd}" }</code>{ ", " }<code>{ "!{firehose:random-string}" }</code>
                    { ", " }<code>{ "!{firehose:error-output-type}" }</code>{ " (error prefix only), " }<code>{ "!{partitionKeyFromQuery:name}" }</code>
                    { ". A prefix with expressions needs an error prefix too." }</p>
                <label for="fh-size">{ "Buffer size (MiB)" }</label>
                <input id="fh-size" type="number" min="1" max="128" value={form.size_mib.clone()} oninput={text(|f, v| f.size_mib = v)} />
                <label for="fh-interval">{ "Buffer interval (s)" }</label>
                <input id="fh-interval" type="number" min="0" max="900" value={form.interval_seconds.clone()} oninput={text(|f, v| f.interval_seconds = v)} />
                <p class="hint span">{ "Whichever comes first flushes: 1 to 128 MiB (default 5), 0 to 900 s (default 300)." }</p>
                <label for="fh-gzip">{ "GZIP" }</label>
                <input id="fh-gzip" type="checkbox" checked={form.gzip} onchange={check(|f, v| f.gzip = v)} />
                <label for="fh-compression">{ "Other compression" }</label>
                <select id="fh-compression" onchange={on_compression}>
                    { for [("", "none (or GZIP above)"), ("ZIP", "ZIP (.zip)"), ("Snappy", "Snappy, framing format (.snappy)"), ("HADOOP_SNAPPY", "Hadoop-compatible Snappy (.snappy)")]
                        .into_iter().map(|(v, label)| html! {
                            <option value={v} selected={form.compression_other == v}>{ label }</option>
                        }) }
                </select>
                <label for="fh-newline">{ "Newline delimiter" }</label>
                <input id="fh-newline" type="checkbox" checked={form.newline} onchange={check(|f, v| f.newline = v)} />
                <label for="fh-query">{ "Partition query (jq)" }</label>
                <input id="fh-query" value={form.partition_query.clone()} oninput={text(|f, v| f.partition_query = v)}
                    placeholder="{customer: .customer}" autocomplete="off" spellcheck="false" />
                <label for="fh-redshift-table">{ "Redshift table" }</label>
                <input id="fh-redshift-table" value={form.redshift_table.clone()} oninput={text(|f, v| f.redshift_table = v)}
                    placeholder="empty: deliver to S3" autocomplete="off" spellcheck="false" />
                <p class="hint span">{ "A table name makes a Redshift destination: the bucket above is the staging bucket, then a COPY (JSON 'auto') loads each object into that table of a simulated cluster, which you can query with SQL on the delivery stream's page." }</p>
                <p class="hint span">{ "Dynamic partitioning: use the keys in the prefix as " }<code>{ "!{partitionKeyFromQuery:customer}" }</code>{ "; AWS asks for a buffer of at least 64 MiB." }</p>
                <div class="actions span">
                    <button id="create-delivery-stream" class="primary" type="submit">{ "Create delivery stream" }</button>
                </div>
                <div class="span">{ feedback(&message) }</div>
            </form>
        </section>
    }
}

/// Every delivery stream with its buffered and delivered counts.
#[component(DeliveryStreamsTable)]
fn delivery_streams_table(props: &SimProps) -> Html {
    let world = props.sim.world.borrow();
    let fh = world.firehose_service();
    let now = world.now();
    let rows: Html = fh
        .names()
        .filter_map(|name| fh.configuration(name).map(|c| (name, c)))
        .map(|(name, (source, dest))| {
            let buffered: u64 = fh.buffers(name).map(|b| b.records.len() as u64).sum();
            let status = fh.status(name, now).map_or("GONE", |s| s.as_str());
            html! {
                <tr>
                    <td><Link<Route> to={Route::DeliveryStream { name: name.to_string() }}>{ name }</Link<Route>></td>
                    <td><span class={classes!("badge", status.to_ascii_lowercase())}>{ status }</span></td>
                    <td>{ source_text(source) }</td>
                    <td><Link<Route> to={Route::Bucket { bucket: dest.bucket().to_string() }}>{ dest.bucket() }</Link<Route>></td>
                    <td class="num">{ count(buffered) }</td>
                    <td class="num">{ count(fh.metric_total(name, FirehoseMetric::DeliveryToS3Records)) }</td>
                </tr>
            }
        })
        .collect();
    let empty = fh.names().next().is_none();
    html! {
        <section class="card" aria-labelledby="fh-list-h">
            <h2 id="fh-list-h">{ "Delivery streams" }</h2>
            if empty {
                <p class="empty">{ "None yet. Create one: Direct PUT takes records from the page; a Kinesis source reads a data stream of this session." }</p>
            } else {
                <div class="table-wrap"><table class="table" id="delivery-streams">
                    <thead><tr>
                        <th scope="col">{ "Name" }</th><th scope="col">{ "Status" }</th><th scope="col">{ "Source" }</th>
                        <th scope="col">{ "Bucket" }</th><th scope="col" class="num">{ "Buffered" }</th>
                        <th scope="col" class="num">{ "Delivered" }</th>
                    </tr></thead>
                    <tbody>{ rows }</tbody>
                </table></div>
            }
        </section>
    }
}

fn source_text(source: &SourceConfig) -> String {
    match source {
        SourceConfig::DirectPut => "Direct PUT".into(),
        SourceConfig::KinesisStream { stream_arn, .. } => format!(
            "Kinesis: {}",
            stream_arn
                .rsplit_once('/')
                .map_or(stream_arn.as_str(), |(_, n)| n)
        ),
    }
}

/// Properties of [`DeliveryStreamPage`].
#[derive(Clone, Debug, PartialEq, Properties)]
pub struct DeliveryStreamProps {
    /// The delivery stream's name.
    pub name: String,
}

/// `#/firehose/:name`: one delivery stream.
#[component(DeliveryStreamPage)]
pub fn delivery_stream_page(props: &DeliveryStreamProps) -> Html {
    let Some(sim) = use_context::<Sim>() else {
        return html! {};
    };
    let world = sim.world.borrow();
    let fh = world.firehose_service();
    let Some((source, dest)) = fh.configuration(&props.name) else {
        if props.name == super::compare::DEMO_FIREHOSE {
            drop(world);
            return html! { <super::compare::DemoPending sim={sim.clone()} /> };
        }
        return html! {
            <div class="page">
                <div class="page-head"><h1>{ "No such delivery stream" }</h1></div>
                <section class="card"><p>{ format!("There is no delivery stream named {} in this session. ", props.name) }
                    <Link<Route> to={Route::Firehose}>{ "Create one" }</Link<Route>></p></section>
            </div>
        };
    };
    let status = fh
        .status(&props.name, world.now())
        .map_or("GONE", |s| s.as_str());
    let source = source.clone();
    let dest = dest.clone();
    let opensearch = dest.opensearch.clone();
    let redshift = dest.redshift.clone();
    let transform_destination = dest.clone();
    drop(world);
    html! {
        <div class="page firehose">
            <div class="page-head">
                <h1 id="fh-title">{ &props.name }
                    <span id="fh-status" class={classes!("badge", status.to_ascii_lowercase())}>{ status }</span></h1>
                <p class="lead">{ match &opensearch {
                    Some(os) => format!("{} → OpenSearch {} (backup s3://{}/)", source_text(&source), os.domain_key(), dest.bucket()),
                    None => format!("{} → s3://{}/", source_text(&source), dest.bucket()),
                } }
                    <Link<Route> to={Route::Bucket { bucket: dest.bucket().to_string() }}>{ " Open the bucket →" }</Link<Route>></p>
            </div>
            <div class="grid two">
                <BufferCard sim={sim.clone()} name={props.name.clone()} destination={dest.clone()} />
                <ConfigCard name={props.name.clone()} source={source.clone()} destination={dest.clone()} sim={sim.clone()} />
            </div>
            <FlushesCard sim={sim.clone()} name={props.name.clone()} />
            if let Some(os) = opensearch {
                <opensearch::OpenSearchCard sim={sim.clone()} name={props.name.clone()} destination={os} />
            }
            if let Some(rs) = &redshift {
                <RedshiftCard sim={sim.clone()} jdbc_url={rs.cluster_jdbc_url.clone()} table={rs.table()} />
            }
            if matches!(source, SourceConfig::DirectPut) {
                <super::firehose_sources::SourcesCard sim={sim.clone()} name={props.name.clone()} />
            }
            <div class="grid two">
                <FirehoseMetrics sim={sim.clone()} name={props.name.clone()} />
                <super::transform_editor::TransformEditor sim={sim.clone()} name={props.name.clone()} destination={transform_destination} />
            </div>
        </div>
    }
}

#[derive(Clone, Debug, PartialEq, Properties)]
struct StreamProps {
    sim: Sim,
    name: String,
}

#[derive(Clone, Debug, PartialEq, Properties)]
struct BufferProps {
    sim: Sim,
    name: String,
    destination: S3Destination,
}

fn bar(id: &str, fraction: f64, label: String, class: &'static str) -> Html {
    let pct = fraction * 100.0;
    html! {
        <div class="fill-row">
            <div class="meter big" id={id.to_string()} role="meter" aria-valuemin="0" aria-valuemax="100"
                aria-valuenow={format!("{pct:.0}")} aria-label={label.clone()} data-fraction={format!("{fraction:.3}")}>
                <div class={classes!("fill", class)} style={format!("width:{pct:.1}%")}></div>
            </div>
            <span class="meter-label">{ label }</span>
        </div>
    }
}

/// Buffer fill against the two hints, and the test-record button.
#[component(BufferCard)]
fn buffer_card(props: &BufferProps) -> Html {
    let n = use_state(|| "10".to_string());
    let message = use_state(|| None::<Result<String, String>>);
    let world = props.sim.world.borrow();
    let now_ms = world.now().as_millis();
    let buffers: Vec<(u64, u64, u64)> = world
        .firehose_service()
        .buffers(&props.name)
        .map(|b| (b.records.len() as u64, b.bytes, b.opened_at.as_millis()))
        .collect();
    let partitions = buffers.iter().filter(|b| b.0 > 0).count();
    drop(world);
    let d = &props.destination;
    let fill = BufferFill::measure(buffers, now_ms, d.size_mib, d.interval_seconds);
    let on_put = {
        let (n, message, sim, name) = (
            n.clone(),
            message.clone(),
            props.sim.clone(),
            props.name.clone(),
        );
        Callback::from(move |_| {
            let k = match super::format::parse_in_range(&n, 1, TEST_RECORDS_MAX, "Records") {
                Ok(k) => k,
                Err(m) => {
                    message.set(Some(Err(m)));
                    return;
                }
            };
            let now_ms = sim.world.borrow().now().as_millis();
            let message = message.clone();
            sim.firehose(
                "PutRecordBatch",
                test_records_body(&name, k, now_ms),
                Callback::from(move |r: ApiResponse| {
                    if r.status == 200 {
                        let failed = serde_json::from_str::<Value>(&r.body)
                            .ok()
                            .and_then(|v| v.get("FailedPutCount").and_then(Value::as_u64))
                            .unwrap_or(0);
                        message.set(Some(Ok(format!(
                            "Put {} records ({failed} failed).",
                            k - failed.min(k)
                        ))));
                    } else {
                        message.set(Some(Err(error_text(&r))));
                    }
                }),
            );
        })
    };
    let on_n = {
        let n = n.clone();
        Callback::from(move |e: InputEvent| {
            n.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    html! {
        <section class="card" aria-labelledby="fh-buffer-h">
            <h2 id="fh-buffer-h">{ "Buffer" }</h2>
            <p class="hint">{ "Firehose holds records until one of the two hints is reached; the first one to fill flushes the buffer to S3." }</p>
            <h3 class="small">{ format!("Size: {} of {} hint", bytes(fill.bytes), bytes(fill.size_hint_bytes)) }</h3>
            { bar("fill-size", fill.size_fraction(), format!("{:.1}% of SizeInMBs {}", fill.size_fraction() * 100.0, d.size_mib), "size") }
            <h3 class="small">{ format!("Time: {} of {} hint", millis(fill.age_ms), millis(fill.interval_ms)) }</h3>
            { bar("fill-interval", fill.interval_fraction(), match fill.interval_left_ms() {
                Some(left) => format!("flushes in {} unless the size hint comes first", millis(left)),
                None => "empty: the interval starts with the next record".to_string(),
            }, "time") }
            <dl class="stats">
                <div><dt>{ "Records buffered" }</dt><dd id="fh-buffered">{ count(fill.records) }</dd></div>
                <div><dt>{ "Partitions open" }</dt><dd>{ partitions }</dd></div>
            </dl>
            <div class="inline put-test">
                    <label for="fh-test-n">{ "Test records" }</label>
                    <input id="fh-test-n" type="number" min="1" max={TEST_RECORDS_MAX.to_string()} value={(*n).clone()} oninput={on_n} />
                    <button id="put-test-records" onclick={on_put}>{ "Put test records" }</button>
            </div>
            { feedback(&message) }
        </section>
    }
}

#[derive(Clone, Debug, PartialEq, Properties)]
struct ConfigProps {
    sim: Sim,
    name: String,
    source: SourceConfig,
    destination: S3Destination,
}

/// The configuration, as DescribeDeliveryStream reports it.
#[component(ConfigCard)]
fn config_card(props: &ConfigProps) -> Html {
    let d = &props.destination;
    let processors: Vec<String> = if d.processing_enabled {
        d.processors
            .iter()
            .map(|p| {
                let params: Vec<String> = p
                    .parameters
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                format!("{} ({})", p.processor_type, params.join(", "))
            })
            .collect()
    } else {
        Vec::new()
    };
    let source_link = match &props.source {
        SourceConfig::KinesisStream { stream_arn, .. } => {
            let name = stream_arn
                .rsplit_once('/')
                .map_or(stream_arn.as_str(), |(_, n)| n)
                .to_string();
            html! { <p class="hint">{ "Records come from the data stream; start a producer there: " }
            <Link<Route> to={Route::Stream { name: name.clone() }}>{ name }</Link<Route>></p> }
        }
        SourceConfig::DirectPut => {
            html! { <p class="hint">{ "Direct PUT: send records with the button, the SDK playground or any AWS SDK." }</p> }
        }
    };
    html! {
        <section class="card" aria-labelledby="fh-config-h">
            <h2 id="fh-config-h">{ "Configuration" }</h2>
            <dl class="stats">
                <div><dt>{ "Bucket" }</dt><dd class="mono">{ d.bucket() }</dd></div>
                <div><dt>{ "Prefix" }</dt><dd class="mono">{ if d.prefix.is_empty() { "YYYY/MM/dd/HH/ (default)".to_string() } else { d.prefix.clone() } }</dd></div>
                <div><dt>{ "Error prefix" }</dt><dd class="mono">{ d.error_output_prefix.clone().unwrap_or_else(|| "(default)".into()) }</dd></div>
                <div><dt>{ "Size hint" }</dt><dd>{ format!("{} MiB", d.size_mib) }</dd></div>
                <div><dt>{ "Interval hint" }</dt><dd id="fh-interval-hint">{ format!("{} s", d.interval_seconds) }</dd></div>
                <div><dt>{ "Compression" }</dt><dd>{ d.compression.as_str() }</dd></div>
                <div><dt>{ "Dynamic partitioning" }</dt><dd>{ if d.dynamic_partitioning { "on" } else { "off" } }</dd></div>
            </dl>
            if !processors.is_empty() {
                <p class="hint">{ "Processors: " }{ processors.join("; ") }</p>
            }
            { source_link }
            <p class="hint">{ format!("Delivered so far: {} records in {} objects.",
                count(props.sim.world.borrow().firehose_service().metric_total(&props.name, FirehoseMetric::DeliveryToS3Records)),
                count(props.sim.world.borrow().firehose_service().metric_total(&props.name, FirehoseMetric::DeliveryToS3Success))) }</p>
        </section>
    }
}

/// The flushes with their reasons, and what each delivered.
#[component(FlushesCard)]
fn flushes_card(props: &StreamProps) -> Html {
    let world = props.sim.world.borrow();
    let rows: Vec<Html> = world
        .firehose_events()
        .rev()
        .filter(|e| e.delivery_stream == props.name)
        .take(EVENTS_SHOWN)
        .map(|e| {
            let (what, detail): (String, Html) = match &e.kind {
                FirehoseEventKind::Flushed { reason, records, bytes: b } => (
                    "Flushed".into(),
                    html! { <>{ format!("{}: {} records, {}", reason_text(*reason), count(*records), bytes(*b)) }</> },
                ),
                FirehoseEventKind::DeliveredToS3 { bucket, key, records, object_bytes } => (
                    "Delivered".into(),
                    html! { <>
                        <Link<Route> to={Route::Bucket { bucket: bucket.clone() }} classes="mono">{ format!("s3://{bucket}/{key}") }</Link<Route>>
                        { format!(" · {} records, {}", count(*records), bytes(*object_bytes)) }
                    </> },
                ),
                FirehoseEventKind::ErrorOutput { error_output_type, key, records } => (
                    "Error output".into(),
                    html! { <span class="mono">{ format!("{error_output_type}: {key} ({} records)", count(*records)) }</span> },
                ),
                FirehoseEventKind::TransformRequested { invocation_id, records } => (
                    "Transform".into(),
                    html! { <>{ format!("invocation {invocation_id} with {} records", count(*records)) }</> },
                ),
                // HTTP endpoint requests, deliveries, retries and discards: the event log's own wording.
                other => {
                    let (what, detail) = crate::world::firehose_event_text(other);
                    (what, html! { <>{ detail }</> })
                }
            };
            html! {
                <tr>
                    <td class="mono">{ e.at.to_string() }</td>
                    <td>{ what }</td>
                    <td class="wrap">{ detail }</td>
                </tr>
            }
        })
        .collect();
    html! {
        <section class="card" aria-labelledby="fh-flush-h">
            <h2 id="fh-flush-h">{ "Flushes and deliveries" }</h2>
            if rows.is_empty() {
                <p class="empty">{ "Nothing flushed yet. Put records, then play: the buffer flushes when a hint is reached." }</p>
            } else {
                <div class="table-wrap"><table class="table" id="fh-flushes">
                    <thead><tr><th scope="col">{ "At" }</th><th scope="col">{ "What" }</th><th scope="col">{ "Detail" }</th></tr></thead>
                    <tbody>{ for rows }</tbody>
                </table></div>
            }
        </section>
    }
}

/// The metrics a delivery stream's chart offers.
pub const FIREHOSE_CHARTED: [FirehoseMetric; 4] = [
    FirehoseMetric::IncomingRecords,
    FirehoseMetric::DeliveryToS3Records,
    FirehoseMetric::DeliveryToS3DataFreshness,
    FirehoseMetric::IncomingBytes,
];
const MINUTES_SHOWN: u64 = 20;

/// Metrics per simulated minute, drawn with the data-stream chart's scale and points.
#[component(FirehoseMetrics)]
fn firehose_metrics(props: &StreamProps) -> Html {
    let metric = use_state(|| 0usize);
    let world = props.sim.world.borrow();
    let chosen = FIREHOSE_CHARTED
        .get(*metric)
        .copied()
        .unwrap_or(FirehoseMetric::IncomingRecords);
    let now_minute = world.now().as_millis() / 60_000;
    let first = now_minute.saturating_sub(MINUTES_SHOWN - 1);
    let rows = world
        .firehose_service()
        .metrics(&props.name)
        .unwrap_or_default();
    drop(world);
    let values = per_minute(rows, &chosen, first, now_minute);
    let on_metric = {
        let metric = metric.clone();
        Callback::from(move |e: Event| {
            metric.set(
                e.target_unchecked_into::<HtmlSelectElement>()
                    .value()
                    .parse()
                    .unwrap_or(0),
            )
        })
    };
    let unit: fn(u64) -> String = if chosen.is_max() { millis } else { count };
    html! {
        <section class="card" aria-labelledby="fh-metrics-h">
            <h2 id="fh-metrics-h">{ "Metrics" }</h2>
            <div class="inline">
                <label for="fh-metric">{ "Metric" }</label>
                <select id="fh-metric" onchange={on_metric}>
                    { for FIREHOSE_CHARTED.iter().enumerate().map(|(i, m)| html! {
                        <option value={i.to_string()} selected={*metric == i}>{ m.cloudwatch_name() }</option>
                    }) }
                </select>
            </div>
            { minute_chart(&values, first, now_minute, &ChartText {
                label: format!("{} per minute, last {MINUTES_SHOWN} simulated minutes", chosen.cloudwatch_name()),
                quarters: &[0, 2, 4],
                value: unit,
                area: false,
            }) }
            <p class="hint">{ if chosen.is_max() { "Maximum age of the oldest record at delivery, per simulated minute (AWS/Firehose)." } else { "Sum over each simulated minute (AWS/Firehose)." } }</p>
        </section>
    }
}

#[derive(Clone, Debug, PartialEq, Properties)]
struct RedshiftProps {
    sim: Sim,
    jdbc_url: String,
    table: String,
}

/// The simulated Redshift cluster of a Redshift destination: its tables with row counts, the last COPYs, the
/// `stl_load_errors` entries, and a SQL box that runs a batch SELECT with the analytics engine (text results).
#[component(RedshiftCard)]
fn redshift_card(props: &RedshiftProps) -> Html {
    let sql = use_state(|| {
        format!(
            "SELECT COUNT(*) AS loaded FROM {}",
            if props.table.is_empty() {
                "t"
            } else {
                &props.table
            }
        )
    });
    let result = use_state(|| None::<Result<crate::analytics::batch::BatchResult, String>>);
    let on_input = {
        let sql = sql.clone();
        Callback::from(move |e: InputEvent| {
            sql.set(e.target_unchecked_into::<HtmlTextAreaElement>().value())
        })
    };
    let on_run = {
        let (sql, result, sim, url) = (
            sql.clone(),
            result.clone(),
            props.sim.clone(),
            props.jdbc_url.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let out = sim
                .world
                .borrow()
                .firehose_service()
                .redshift()
                .query(&url, &sql)
                .map_err(|e| e.to_string());
            result.set(Some(out));
        })
    };
    let world = props.sim.world.borrow();
    let cluster = world
        .firehose_service()
        .redshift()
        .cluster(&props.jdbc_url)
        .cloned()
        .unwrap_or_default();
    drop(world);
    let tables: Vec<Html> = cluster
        .tables
        .iter()
        .map(|(name, t)| {
            let columns: Vec<String> = t
                .columns
                .iter()
                .map(|c| format!("{} {}", c.name, c.type_name()))
                .collect();
            html! {
                <tr><td class="mono">{ name }</td><td class="num">{ count(t.rows.len() as u64) }</td>
                    <td class="mono wrap">{ columns.join(", ") }</td></tr>
            }
        })
        .collect();
    let copies: Vec<Html> = cluster
        .copies
        .iter()
        .rev()
        .take(REDSHIFT_ROWS_SHOWN)
        .map(|c| {
            html! {
                <tr><td class="mono">{ c.at.to_string() }</td><td class="mono">{ &c.table }</td>
                    <td class="num">{ count(c.rows) }</td>
                    <td class="wrap">{ c.error.clone().unwrap_or_else(|| "loaded".into()) }</td></tr>
            }
        })
        .collect();
    let errors: Vec<Html> = cluster
        .load_errors
        .iter()
        .rev()
        .take(REDSHIFT_ROWS_SHOWN)
        .map(|e| {
            html! {
                <tr><td class="mono">{ e.query }</td><td class="num">{ e.line_number }</td>
                    <td class="mono">{ &e.colname }</td><td class="num">{ e.err_code }</td>
                    <td class="wrap">{ &e.err_reason }</td><td class="mono wrap">{ &e.raw_line }</td></tr>
            }
        })
        .collect();
    let output = match &*result {
        None => html! {},
        Some(Err(m)) => html! { <p class="error" id="rs-sql-error">{ m }</p> },
        Some(Ok(r)) => html! {
            <div class="table-wrap"><table class="table" id="rs-sql-result">
                <thead><tr>{ for r.columns.iter().map(|c| html! { <th scope="col">{ c }</th> }) }</tr></thead>
                <tbody>{ for r.rows.iter().map(|row| html! {
                    <tr>{ for row.iter().map(|v| html! { <td class="mono">{ v.to_text() }</td> }) }</tr>
                }) }</tbody>
            </table>
            <p class="hint">{ format!("{} rows{}", r.rows.len(), if r.truncated { " (cut)" } else { "" }) }</p></div>
        },
    };
    html! {
        <section class="card" aria-labelledby="rs-h" id="rs-card">
            <h2 id="rs-h">{ "Redshift cluster (simulated)" }</h2>
            <p class="hint mono wrap">{ &props.jdbc_url }</p>
            if tables.is_empty() {
                <p class="empty">{ "No table yet: the first COPY creates it from DataTableColumns (or the JSON keys), typed from the values it loads." }</p>
            } else {
                <div class="table-wrap"><table class="table" id="rs-tables">
                    <thead><tr><th scope="col">{ "Table" }</th><th scope="col">{ "Rows" }</th><th scope="col">{ "Columns" }</th></tr></thead>
                    <tbody>{ for tables }</tbody>
                </table></div>
            }
            <form class="form" onsubmit={on_run}>
                <label for="rs-sql">{ "SQL (one SELECT over a table)" }</label>
                <textarea id="rs-sql" class="code" rows="3" spellcheck="false" value={(*sql).clone()} oninput={on_input} />
                <div class="actions"><button id="rs-run" class="primary" type="submit">{ "Run query" }</button></div>
            </form>
            { output }
            if !copies.is_empty() {
                <h3>{ "COPY history" }</h3>
                <div class="table-wrap"><table class="table" id="rs-copies">
                    <thead><tr><th scope="col">{ "At" }</th><th scope="col">{ "Table" }</th><th scope="col">{ "Rows" }</th><th scope="col">{ "Outcome" }</th></tr></thead>
                    <tbody>{ for copies }</tbody>
                </table></div>
            }
            if !errors.is_empty() {
                <h3>{ "stl_load_errors" }</h3>
                <div class="table-wrap"><table class="table" id="rs-load-errors">
                    <thead><tr><th scope="col">{ "query" }</th><th scope="col">{ "line_number" }</th><th scope="col">{ "colname" }</th>
                        <th scope="col">{ "err_code" }</th><th scope="col">{ "err_reason" }</th><th scope="col">{ "raw_line" }</th></tr></thead>
                    <tbody>{ for errors }</tbody>
                </table></div>
            }
        </section>
    }
}
