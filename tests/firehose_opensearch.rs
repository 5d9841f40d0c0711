//! The Firehose OpenSearch destination through the World and the API: index rotation names at UTC boundaries,
//! document ids (FIREHOSE_DEFAULT from the seed, NO_DOCUMENT_ID assigned by the domain), documents that are not
//! JSON going to the `AmazonOpenSearchService-failed` backup with the documented fields, AllDocuments backup, the API shapes
//! of Create/Describe/Update with their validation errors, search, snapshots, and a property: every accepted record
//! is indexed or in the backup error prefix, exactly once.
#![cfg(not(target_arch = "wasm32"))]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kinesim::firehose::metrics::FirehoseMetric;
use kinesim::firehose::opensearch::{IndexRotation, index_name};
use kinesim::sim::{DisplayEpoch, SimTime};
use kinesim::{World, WorldConfig};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const ROLE: &str = "arn:aws:iam::000000000000:role/firehose";
const DOMAIN: &str = "arn:aws:es:us-east-1:000000000000:domain/logs";
const BUCKET: &str = "backup-1";

fn t(ms: u64) -> SimTime {
    SimTime::from_millis(ms)
}

fn world(seed: u64, epoch_unix_ms: u64) -> World {
    let mut config = WorldConfig::with_seed(seed);
    config.epoch = DisplayEpoch {
        unix_ms: epoch_unix_ms,
    };
    World::new(config)
}

fn call_status(w: &mut World, op: &str, body: Value) -> (u16, Value) {
    let now = w.now();
    let r = w.firehose(now, op, &body.to_string());
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

fn call(w: &mut World, op: &str, body: Value) -> Value {
    let (status, body) = call_status(w, op, body);
    assert_eq!(status, 200, "{op}: {body}");
    body
}

fn config(extra: Value) -> Value {
    let mut c = json!({
        "RoleARN": ROLE,
        "DomainARN": DOMAIN,
        "IndexName": "events",
        "S3Configuration": {"RoleARN": ROLE, "BucketARN": format!("arn:aws:s3:::{BUCKET}")},
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
    });
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    c
}

fn create(w: &mut World, name: &str, configuration: Value) {
    call(
        w,
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": name, "AmazonopensearchserviceDestinationConfiguration": configuration}),
    );
    let active = w.now().as_millis() + 5_000;
    w.advance_to(t(active));
}

fn put(w: &mut World, name: &str, records: &[&[u8]]) -> Vec<String> {
    let entries: Vec<Value> = records
        .iter()
        .map(|d| json!({"Data": STANDARD.encode(d)}))
        .collect();
    let r = call(
        w,
        "PutRecordBatch",
        json!({"DeliveryStreamName": name, "Records": entries}),
    );
    assert_eq!(r["FailedPutCount"], 0);
    r["RequestResponses"]
        .as_array()
        .expect("RequestResponses")
        .iter()
        .map(|e| e["RecordId"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// (index, [(id, source)]) of the domain.
fn indices(w: &World, domain: &str) -> BTreeMap<String, Vec<(String, String)>> {
    w.firehose_service()
        .opensearch()
        .domain(domain)
        .map(|d| {
            d.indices()
                .iter()
                .map(|(name, index)| {
                    (
                        name.clone(),
                        index
                            .documents()
                            .iter()
                            .map(|doc| (doc.id.clone(), doc.source.clone()))
                            .collect(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn objects(w: &World) -> Vec<(String, Vec<u8>)> {
    w.firehose_service()
        .s3()
        .bucket(BUCKET)
        .map(|b| {
            b.objects
                .iter()
                .map(|(k, o)| (k.clone(), o.body.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn error_documents(w: &World) -> Vec<(String, Value)> {
    objects(w)
        .into_iter()
        .filter(|(k, _)| k.contains("AmazonOpenSearchService-failed/"))
        .flat_map(|(k, body)| {
            String::from_utf8_lossy(&body)
                .lines()
                .map(|l| (k.clone(), serde_json::from_str(l).unwrap_or(Value::Null)))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The lines of the error objects, as written.
fn raw_lines(w: &World) -> Vec<String> {
    objects(w)
        .into_iter()
        .filter(|(k, _)| k.contains("AmazonOpenSearchService-failed/"))
        .flat_map(|(_, body)| {
            String::from_utf8_lossy(&body)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn index_rotation_names_at_hour_day_week_month_boundaries_utc() {
    let name = |r, ms| index_name("myindex", r, ms);
    // 2026-11-26T13:59:59.999Z and the next millisecond.
    assert_eq!(
        name(IndexRotation::OneHour, 1_795_701_599_999),
        "myindex-2026-11-26-13"
    );
    assert_eq!(
        name(IndexRotation::OneHour, 1_795_701_600_000),
        "myindex-2026-11-26-14"
    );
    // Midnight UTC ends the day.
    assert_eq!(
        name(IndexRotation::OneDay, 1_795_737_599_999),
        "myindex-2026-11-26"
    );
    assert_eq!(
        name(IndexRotation::OneDay, 1_795_737_600_000),
        "myindex-2026-11-27"
    );
    // The last millisecond of November and the first of December.
    assert_eq!(
        name(IndexRotation::OneMonth, 1_796_083_199_999),
        "myindex-2026-11"
    );
    assert_eq!(
        name(IndexRotation::OneMonth, 1_796_083_200_000),
        "myindex-2026-12"
    );
    // A leap day.
    assert_eq!(
        name(IndexRotation::OneDay, 1_835_413_200_000),
        "myindex-2028-02-29"
    );
    // US weeks start on Sunday: Thursday 2026-11-26 is week 48, until Saturday 23:59:59.999.
    assert_eq!(
        name(IndexRotation::OneWeek, 1_795_698_000_000),
        "myindex-2026-w48"
    );
    assert_eq!(
        name(IndexRotation::OneWeek, 1_795_910_399_999),
        "myindex-2026-w48"
    );
    assert_eq!(
        name(IndexRotation::OneWeek, 1_795_910_400_000),
        "myindex-2026-w49"
    );
    // Saturday 2026-12-26 is in week 52; the week from Sunday 2026-12-27 holds January 1st: week 1 of 2027.
    assert_eq!(
        name(IndexRotation::OneWeek, 1_798_286_400_000),
        "myindex-2026-w52"
    );
    assert_eq!(
        name(IndexRotation::OneWeek, 1_798_329_600_000),
        "myindex-2027-w01"
    );
    assert_eq!(
        name(IndexRotation::OneWeek, 1_798_758_000_000),
        "myindex-2027-w01"
    );
    assert_eq!(
        name(IndexRotation::OneWeek, 1_798_761_600_000),
        "myindex-2027-w01"
    );
    assert_eq!(
        name(IndexRotation::NoRotation, 1_798_761_600_000),
        "myindex"
    );
}

#[test]
fn each_record_goes_to_the_index_its_arrival_hour_rotates_to() {
    // The world starts at 2026-11-26T13:59:00Z: records put before and after 14:00 share one buffer and one
    // Bulk request, but land in two indices.
    let mut w = world(1, 1_795_701_540_000);
    create(
        &mut w,
        "logs",
        config(json!({"IndexRotationPeriod": "OneHour"})),
    );
    put(&mut w, "logs", &[b"{\"n\":1}", b"{\"n\":2}"]);
    w.advance_to(t(61_000));
    put(&mut w, "logs", &[b"{\"n\":3}"]);
    assert!(indices(&w, DOMAIN).values().all(Vec::is_empty));
    w.advance_to(t(200_000));
    let idx = indices(&w, DOMAIN);
    assert_eq!(
        idx.iter()
            .map(|(k, v)| (k.as_str(), v.len()))
            .collect::<Vec<_>>(),
        vec![("events-2026-11-26-13", 2), ("events-2026-11-26-14", 1)]
    );
    let fh = w.firehose_service();
    assert_eq!(
        fh.metric_total(
            "logs",
            FirehoseMetric::DeliveryToAmazonOpenSearchServiceRecords
        ),
        3
    );
    assert_eq!(
        fh.metric_total(
            "logs",
            FirehoseMetric::DeliveryToAmazonOpenSearchServiceBytes
        ),
        21
    );
    assert_eq!(
        fh.metric_total(
            "logs",
            FirehoseMetric::DeliveryToAmazonOpenSearchServiceSuccess
        ),
        1,
        "one flush, one Bulk request"
    );
    assert_eq!(
        FirehoseMetric::DeliveryToAmazonOpenSearchServiceRecords.cloudwatch_name(),
        "DeliveryToAmazonOpenSearchService.Records"
    );
    assert!(
        objects(&w).is_empty(),
        "FailedDocumentsOnly writes nothing when all documents index"
    );
}

#[test]
fn firehose_default_ids_come_from_the_seed_and_no_document_id_lets_the_domain_assign() {
    let run = |seed: u64, format: &str| {
        let mut w = world(seed, DisplayEpoch::DEFAULT.unix_ms);
        create(
            &mut w,
            "logs",
            config(json!({"DocumentIdOptions": {"DefaultDocumentIdFormat": format}})),
        );
        put(&mut w, "logs", &[b"{\"a\":1}", b"{\"a\":2}", b"{\"a\":3}"]);
        w.advance_to(t(100_000));
        indices(&w, DOMAIN)
            .into_values()
            .flatten()
            .map(|(id, _)| id)
            .collect::<Vec<_>>()
    };
    let ids = run(7, "FIREHOSE_DEFAULT");
    assert_eq!(ids.len(), 3);
    assert_eq!(ids, run(7, "FIREHOSE_DEFAULT"), "same seed, same ids");
    assert_ne!(ids, run(8, "FIREHOSE_DEFAULT"), "another seed, other ids");
    for id in &ids {
        let (digits, sub) = id.split_once('.').expect("digits.sub");
        assert_eq!(digits.len(), 56, "{id}");
        assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{id}");
        assert_eq!(sub, "0");
    }
    let auto = run(7, "NO_DOCUMENT_ID");
    assert_eq!(auto.len(), 3);
    assert!(auto.iter().all(|id| id.len() == 20 && !id.contains('.')));
    let mut unique = auto.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3);
    assert_eq!(auto, run(7, "NO_DOCUMENT_ID"));
}

#[test]
fn a_record_that_is_not_a_json_object_goes_to_elasticsearch_failed_with_the_documented_fields() {
    let mut w = world(2, DisplayEpoch::DEFAULT.unix_ms);
    create(
        &mut w,
        "logs",
        config(
            json!({"S3Configuration": {"RoleARN": ROLE, "BucketARN": format!("arn:aws:s3:::{BUCKET}"), "Prefix": "backup/"}}),
        ),
    );
    put(&mut w, "logs", &[b"{\"ok\":true}", b"not json", b"[1,2]"]);
    w.advance_to(t(100_000));
    let idx = indices(&w, DOMAIN);
    assert_eq!(idx.values().map(Vec::len).sum::<usize>(), 1);
    assert_eq!(idx["events-2026-01-01"][0].1, "{\"ok\":true}");
    let docs = error_documents(&w);
    assert_eq!(docs.len(), 2);
    for (key, doc) in &docs {
        assert!(
            key.starts_with(
                "backup/AmazonOpenSearchService-failed/2026/01/01/00/logs-1-2026-01-01-00-00-"
            ),
            "{key}"
        );
        let written = raw_lines(&w);
        let text = written
            .iter()
            .find(|l| l.contains(doc["rawData"].as_str().unwrap_or("?")))
            .expect("the written line");
        let positions: Vec<usize> = [
            "attemptsMade",
            "arrivalTimestamp",
            "errorCode",
            "errorMessage",
            "attemptEndingTimestamp",
            "esDocumentId",
            "esIndexName",
            "esTypeName",
            "rawData",
        ]
        .iter()
        .map(|k| text.find(&format!("\"{k}\":")).expect(k))
        .collect();
        assert!(positions.windows(2).all(|p| p[0] < p[1]), "{text}");
        assert_eq!(doc["esIndexName"], "events-2026-01-01");
        assert!(
            doc["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .contains("mapper_parsing_exception")
        );
        assert_eq!(
            doc["arrivalTimestamp"],
            DisplayEpoch::DEFAULT.unix_ms + 5_000
        );
    }
    let raw: Vec<Vec<u8>> = docs
        .iter()
        .map(|(_, d)| {
            STANDARD
                .decode(d["rawData"].as_str().unwrap_or_default())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(raw, vec![b"not json".to_vec(), b"[1,2]".to_vec()]);
}

#[test]
fn an_error_output_prefix_replaces_the_default_folder() {
    let mut w = world(3, DisplayEpoch::DEFAULT.unix_ms);
    create(
        &mut w,
        "logs",
        config(json!({"S3Configuration": {
            "RoleARN": ROLE, "BucketARN": format!("arn:aws:s3:::{BUCKET}"),
            "Prefix": "data/", "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/"}})),
    );
    put(&mut w, "logs", &[b"oops"]);
    w.advance_to(t(100_000));
    let keys: Vec<String> = objects(&w).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys.len(), 1);
    assert!(
        keys[0].starts_with("errors/AmazonOpenSearchService-failed/logs-1-"),
        "{keys:?}"
    );
}

#[test]
fn all_documents_backs_up_every_record_and_still_writes_the_failed_ones() {
    let mut w = world(4, DisplayEpoch::DEFAULT.unix_ms);
    create(
        &mut w,
        "logs",
        config(json!({"S3BackupMode": "AllDocuments", "IndexRotationPeriod": "NoRotation"})),
    );
    put(&mut w, "logs", &[b"{\"a\":1}", b"bad", b"{\"a\":2}"]);
    w.advance_to(t(100_000));
    assert_eq!(indices(&w, DOMAIN)["events"].len(), 2);
    let all: Vec<(String, Vec<u8>)> = objects(&w)
        .into_iter()
        .filter(|(k, _)| !k.contains("AmazonOpenSearchService-failed/"))
        .collect();
    assert_eq!(all.len(), 1);
    assert!(
        all[0].0.starts_with("2026/01/01/00/logs-1-"),
        "{}",
        all[0].0
    );
    assert_eq!(all[0].1, b"{\"a\":1}bad{\"a\":2}".to_vec());
    assert_eq!(error_documents(&w).len(), 1);
}

#[test]
fn search_matches_field_values_and_free_terms() {
    let mut w = world(5, DisplayEpoch::DEFAULT.unix_ms);
    create(
        &mut w,
        "logs",
        config(json!({"IndexRotationPeriod": "NoRotation"})),
    );
    put(
        &mut w,
        "logs",
        &[
            b"{\"level\":\"ERROR\",\"msg\":\"disk full\"}",
            b"{\"level\":\"INFO\",\"msg\":\"started\"}",
            b"{\"level\":\"ERROR\",\"msg\":\"timeout\",\"http\":{\"status\":504}}",
        ],
    );
    w.advance_to(t(100_000));
    let fh = w.firehose_service();
    let index = fh
        .opensearch()
        .domain(DOMAIN)
        .and_then(|d| d.index("events"))
        .expect("the index");
    assert_eq!(index.search("", 10).total, 3);
    let errors = index.search("level:error", 10);
    assert_eq!(errors.total, 2);
    assert!(errors.hits[0].source.contains("disk full"));
    assert_eq!(index.search("disk", 10).total, 1);
    assert_eq!(index.search("http.status:504", 10).total, 1);
    assert_eq!(
        index.search("started timeout", 10).total,
        2,
        "terms are ORed"
    );
    assert_eq!(index.search("level:error", 1).hits.len(), 1);
    assert_eq!(index.search("level:error", 1).total, 2);
    assert_eq!(index.search("nothing-here", 10).total, 0);
}

#[test]
fn create_and_describe_report_the_destination_as_aws_does() {
    let mut w = world(6, DisplayEpoch::DEFAULT.unix_ms);
    create(&mut w, "logs", config(json!({"BufferingHints": {}})));
    let d = call(
        &mut w,
        "DescribeDeliveryStream",
        json!({"DeliveryStreamName": "logs"}),
    );
    let dest = &d["DeliveryStreamDescription"]["Destinations"][0];
    assert_eq!(dest["DestinationId"], "destinationId-000000000001");
    let os = &dest["AmazonopensearchserviceDestinationDescription"];
    assert_eq!(os["RoleARN"], ROLE);
    assert_eq!(os["DomainARN"], DOMAIN);
    assert_eq!(os["IndexName"], "events");
    assert_eq!(os["IndexRotationPeriod"], "OneDay");
    assert_eq!(
        os["BufferingHints"],
        json!({"SizeInMBs": 5, "IntervalInSeconds": 300})
    );
    assert_eq!(os["RetryOptions"], json!({"DurationInSeconds": 300}));
    assert_eq!(os["S3BackupMode"], "FailedDocumentsOnly");
    assert_eq!(
        os["DocumentIdOptions"],
        json!({"DefaultDocumentIdFormat": "FIREHOSE_DEFAULT"})
    );
    assert_eq!(
        os["S3DestinationDescription"]["BucketARN"],
        format!("arn:aws:s3:::{BUCKET}")
    );
    assert_eq!(os["CloudWatchLoggingOptions"], json!({"Enabled": false}));
    assert!(dest.get("S3DestinationDescription").is_none());
    assert!(
        w.firehose_service().opensearch().domain(DOMAIN).is_some(),
        "the domain exists from creation"
    );

    // ElasticsearchDestinationConfiguration is the same destination under its older name.
    call(
        &mut w,
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": "legacy", "ElasticsearchDestinationConfiguration": config(json!({"TypeName": "_doc"}))}),
    );
    let d = call(
        &mut w,
        "DescribeDeliveryStream",
        json!({"DeliveryStreamName": "legacy"}),
    );
    let es =
        &d["DeliveryStreamDescription"]["Destinations"][0]["ElasticsearchDestinationDescription"];
    assert_eq!(es["TypeName"], "_doc");
    assert_eq!(es["DomainARN"], DOMAIN);

    // OpenSearch Serverless: a collection endpoint, no rotation or document id options.
    call(
        &mut w,
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": "serverless", "AmazonOpenSearchServerlessDestinationConfiguration": {
            "RoleARN": ROLE, "CollectionEndpoint": "https://abc123.us-east-1.aoss.amazonaws.com",
            "IndexName": "events",
            "S3Configuration": {"RoleARN": ROLE, "BucketARN": format!("arn:aws:s3:::{BUCKET}")}}}),
    );
    let d = call(
        &mut w,
        "DescribeDeliveryStream",
        json!({"DeliveryStreamName": "serverless"}),
    );
    let sl = &d["DeliveryStreamDescription"]["Destinations"][0]["AmazonOpenSearchServerlessDestinationDescription"];
    assert_eq!(
        sl["CollectionEndpoint"],
        "https://abc123.us-east-1.aoss.amazonaws.com"
    );
    assert!(sl.get("IndexRotationPeriod").is_none());
    assert!(sl.get("DocumentIdOptions").is_none());
}

#[test]
fn update_destination_changes_index_rotation_and_ids_and_delivers_the_buffer_first() {
    let mut w = world(7, DisplayEpoch::DEFAULT.unix_ms);
    create(
        &mut w,
        "logs",
        config(json!({"IndexRotationPeriod": "NoRotation"})),
    );
    put(&mut w, "logs", &[b"{\"v\":1}"]);
    call(
        &mut w,
        "UpdateDestination",
        json!({"DeliveryStreamName": "logs", "CurrentDeliveryStreamVersionId": "1",
               "DestinationId": "destinationId-000000000001",
               "AmazonopensearchserviceDestinationUpdate": {
                   "IndexName": "events-v2", "IndexRotationPeriod": "OneMonth",
                   "DocumentIdOptions": {"DefaultDocumentIdFormat": "NO_DOCUMENT_ID"},
                   "RetryOptions": {"DurationInSeconds": 60}}}),
    );
    assert_eq!(
        indices(&w, DOMAIN)["events"].len(),
        1,
        "the buffer went out under the old configuration"
    );
    put(&mut w, "logs", &[b"{\"v\":2}"]);
    w.advance_to(t(200_000));
    let idx = indices(&w, DOMAIN);
    assert_eq!(idx["events-v2-2026-01"].len(), 1);
    assert_eq!(idx["events-v2-2026-01"][0].0.len(), 20);
    let d = call(
        &mut w,
        "DescribeDeliveryStream",
        json!({"DeliveryStreamName": "logs"}),
    );
    let desc = &d["DeliveryStreamDescription"];
    assert_eq!(desc["VersionId"], "2");
    let os = &desc["Destinations"][0]["AmazonopensearchserviceDestinationDescription"];
    assert_eq!(os["IndexName"], "events-v2");
    assert_eq!(os["IndexRotationPeriod"], "OneMonth");
    assert_eq!(os["RetryOptions"]["DurationInSeconds"], 60);
    assert_eq!(
        os["DocumentIdOptions"]["DefaultDocumentIdFormat"],
        "NO_DOCUMENT_ID"
    );
    // A stale version id is refused.
    let (status, body) = call_status(
        &mut w,
        "UpdateDestination",
        json!({"DeliveryStreamName": "logs", "CurrentDeliveryStreamVersionId": "1",
               "DestinationId": "destinationId-000000000001",
               "AmazonopensearchserviceDestinationUpdate": {"IndexName": "x"}}),
    );
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "ConcurrentModificationException");
    // A malformed DomainARN in an update is the model's pattern error.
    let (status, body) = call_status(
        &mut w,
        "UpdateDestination",
        json!({"DeliveryStreamName": "logs", "CurrentDeliveryStreamVersionId": "2",
               "DestinationId": "destinationId-000000000001",
               "AmazonopensearchserviceDestinationUpdate": {"DomainARN": "arn:aws:es:us-east-1:1:domain/x"}}),
    );
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "ValidationException");
}

#[test]
fn create_refuses_bad_configurations_with_aws_errors() {
    let mut w = world(8, DisplayEpoch::DEFAULT.unix_ms);
    let attempt = |w: &mut World, c: Value| {
        call_status(
            w,
            "CreateDeliveryStream",
            json!({"DeliveryStreamName": "bad", "AmazonopensearchserviceDestinationConfiguration": c}),
        )
    };
    let validation = |(status, body): (u16, Value), needle: &str| {
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["__type"], "ValidationException", "{body}");
        let message = body["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains(needle), "{message} should name {needle}");
    };
    validation(
        attempt(
            &mut w,
            config(json!({"DomainARN": "arn:aws:es:us-east-1:000000000000:domain/Logs"})),
        ),
        "amazonopensearchserviceDestinationConfiguration.domainARN",
    );
    validation(
        attempt(
            &mut w,
            config(json!({"BufferingHints": {"SizeInMBs": 101}})),
        ),
        "bufferingHints.sizeInMBs",
    );
    validation(
        attempt(
            &mut w,
            config(json!({"BufferingHints": {"IntervalInSeconds": 901}})),
        ),
        "bufferingHints.intervalInSeconds",
    );
    validation(
        attempt(
            &mut w,
            config(json!({"RetryOptions": {"DurationInSeconds": 7201}})),
        ),
        "retryOptions.durationInSeconds",
    );
    validation(
        attempt(&mut w, config(json!({"IndexRotationPeriod": "OneYear"}))),
        "indexRotationPeriod",
    );
    validation(
        attempt(&mut w, config(json!({"S3BackupMode": "Everything"}))),
        "s3BackupMode",
    );
    validation(
        attempt(
            &mut w,
            config(json!({"DocumentIdOptions": {"DefaultDocumentIdFormat": "MINE"}})),
        ),
        "documentIdOptions.defaultDocumentIdFormat",
    );
    validation(
        attempt(&mut w, config(json!({"IndexName": ""}))),
        "indexName",
    );
    let mut missing = config(json!({}));
    if let Some(m) = missing.as_object_mut() {
        m.remove("IndexName");
        m.remove("S3Configuration");
    }
    let (status, body) = attempt(&mut w, missing);
    validation((status, body.clone()), "indexName");
    validation((status, body), "s3Configuration");

    let invalid = |(status, body): (u16, Value)| {
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["__type"], "InvalidArgumentException", "{body}");
    };
    invalid(attempt(
        &mut w,
        config(json!({"ClusterEndpoint": "https://search-logs.us-east-1.es.amazonaws.com"})),
    ));
    let mut neither = config(json!({}));
    if let Some(m) = neither.as_object_mut() {
        m.remove("DomainARN");
    }
    invalid(attempt(&mut w, neither));
    // Two destinations at once.
    invalid(call_status(
        &mut w,
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": "bad",
               "AmazonopensearchserviceDestinationConfiguration": config(json!({})),
               "ExtendedS3DestinationConfiguration": {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::b"}}),
    ));
    assert!(
        w.firehose_service().names().next().is_none(),
        "nothing was created"
    );
    // A ClusterEndpoint alone names its own simulated domain.
    let mut endpoint = config(json!({"ClusterEndpoint": "https://search-logs.example"}));
    if let Some(m) = endpoint.as_object_mut() {
        m.remove("DomainARN");
    }
    create(&mut w, "by-endpoint", endpoint);
    put(&mut w, "by-endpoint", &[b"{\"x\":1}"]);
    w.advance_to(t(200_000));
    assert_eq!(
        indices(&w, "https://search-logs.example")
            .values()
            .map(Vec::len)
            .sum::<usize>(),
        1
    );
}

#[test]
fn a_world_with_a_domain_round_trips_through_a_json_snapshot() {
    let mut w = world(9, DisplayEpoch::DEFAULT.unix_ms);
    create(
        &mut w,
        "logs",
        config(json!({"DocumentIdOptions": {"DefaultDocumentIdFormat": "NO_DOCUMENT_ID"}})),
    );
    put(&mut w, "logs", &[b"{\"a\":1}", b"bad"]);
    w.advance_to(t(100_000));
    put(&mut w, "logs", &[b"{\"a\":2}"]);
    let snapshot = serde_json::to_string(&w).expect("serializes to JSON");
    let mut restored: World = serde_json::from_str(&snapshot).expect("restores");
    assert_eq!(indices(&restored, DOMAIN), indices(&w, DOMAIN));
    w.advance_to(t(300_000));
    restored.advance_to(t(300_000));
    assert_eq!(indices(&restored, DOMAIN), indices(&w, DOMAIN));
    assert_eq!(indices(&w, DOMAIN).values().map(Vec::len).sum::<usize>(), 2);
    assert_eq!(objects(&restored), objects(&w));
    assert_eq!(restored.event_log_hash(), w.event_log_hash());
}

proptest! {
    // 32 cases by default; PROPTEST_CASES asks for more.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(32)
    ))]

    /// Every accepted record is indexed or in the `AmazonOpenSearchService-failed` prefix, exactly once, whatever the
    /// mix of valid and invalid documents, batch sizes, waits and rotation.
    #[test]
    fn no_record_is_lost(
        batches in prop::collection::vec(
            (prop::collection::vec(any::<bool>(), 1..20), 0u64..90_000),
            1..12,
        ),
        rotation in 0usize..5,
        all_documents in any::<bool>(),
        interval_s in 0u32..120,
    ) {
        let mut w = world(11, 1_798_758_000_000);
        let rotation = ["NoRotation", "OneHour", "OneDay", "OneWeek", "OneMonth"][rotation];
        create(&mut w, "logs", config(json!({
            "IndexRotationPeriod": rotation,
            "S3BackupMode": if all_documents { "AllDocuments" } else { "FailedDocumentsOnly" },
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": interval_s},
        })));
        let mut valid = Vec::new();
        let mut invalid = Vec::new();
        let mut n = 0u64;
        for (kinds, wait_ms) in &batches {
            let data: Vec<Vec<u8>> = kinds.iter().map(|&ok| {
                n += 1;
                let d = if ok { format!("{{\"n\":{n}}}") } else { format!("bad-{n}") };
                if ok { valid.push(d.clone()) } else { invalid.push(d.clone()) }
                d.into_bytes()
            }).collect();
            let refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
            put(&mut w, "logs", &refs);
            let next = w.now().as_millis() + wait_ms;
            w.advance_to(t(next));
        }
        let end = w.now().as_millis() + 200_000;
        w.advance_to(t(end));
        let mut indexed: Vec<String> = indices(&w, DOMAIN).into_values().flatten().map(|(_, s)| s).collect();
        let mut failed: Vec<String> = error_documents(&w).iter().map(|(_, d)| {
            String::from_utf8(STANDARD.decode(d["rawData"].as_str().unwrap_or_default()).unwrap_or_default()).unwrap_or_default()
        }).collect();
        indexed.sort();
        failed.sort();
        valid.sort();
        invalid.sort();
        prop_assert_eq!(indexed, valid);
        prop_assert_eq!(failed, invalid);
    }
}

/// The domain through the session store's two paths: a snapshot (with its segments), and the journal replayed
/// over the first, empty snapshot.
#[test]
fn a_domain_is_restored_from_a_session_snapshot_and_from_the_journal() {
    use kinesim::persist::{Journaled, StoredSession};
    let world_config = || {
        let mut c = WorldConfig::with_seed(12);
        c.epoch = DisplayEpoch::DEFAULT;
        c
    };
    let mut session = Journaled::new(World::new(world_config()));
    let (first, receipt) = session.prepare_commit(true);
    session.committed(receipt);
    let send = |s: &mut Journaled, now: u64, op: &str, body: Value| {
        let r = s.call(
            t(now),
            &format!("Firehose_20150804.{op}"),
            &body.to_string(),
        );
        assert_eq!(r.status, 200, "{op}: {}", r.body);
    };
    send(
        &mut session,
        0,
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": "logs", "AmazonopensearchserviceDestinationConfiguration":
            config(json!({"DocumentIdOptions": {"DefaultDocumentIdFormat": "NO_DOCUMENT_ID"}}))}),
    );
    session.advance_to(t(6_000));
    let entries = |data: &[&str]| {
        data.iter()
            .map(|d| json!({"Data": STANDARD.encode(d)}))
            .collect::<Vec<_>>()
    };
    send(
        &mut session,
        6_000,
        "PutRecordBatch",
        json!({"DeliveryStreamName": "logs", "Records": entries(&["{\"a\":1}", "nope", "{\"a\":2}"])}),
    );
    session.advance_to(t(100_000));
    send(
        &mut session,
        100_000,
        "PutRecordBatch",
        json!({"DeliveryStreamName": "logs", "Records": entries(&["{\"a\":3}"])}),
    );
    session.advance_to(t(200_000));
    let expected = indices(session.world(), DOMAIN);
    assert_eq!(expected.values().map(Vec::len).sum::<usize>(), 3);

    // The journal, replayed over the first (empty) snapshot.
    let (journal, receipt) = session.prepare_commit(false);
    session.committed(receipt);
    let stored = StoredSession {
        snapshot: first.snapshot.clone(),
        segments: first.segment_puts.clone(),
        journal: journal.journal_append.clone(),
    };
    let replayed =
        Journaled::restore(&stored, World::new(world_config())).expect("the journal replays");
    assert_eq!(indices(replayed.world(), DOMAIN), expected);
    assert_eq!(
        replayed.world().event_log_hash(),
        session.world().event_log_hash()
    );

    // A snapshot of the world holding the domain.
    let (snap, receipt) = session.prepare_commit(true);
    session.committed(receipt);
    let stored = StoredSession {
        snapshot: snap.snapshot.clone(),
        segments: snap.segment_puts.clone(),
        journal: Vec::new(),
    };
    assert!(stored.snapshot.is_some());
    let restored =
        Journaled::restore(&stored, World::new(world_config())).expect("the snapshot restores");
    assert_eq!(indices(restored.world(), DOMAIN), expected);
    assert_eq!(objects(restored.world()), objects(session.world()));
}
