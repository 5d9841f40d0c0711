//! The cost meter against bills computed by hand, for runs driven through the World's Kinesis API (and one with
//! Firehose and Analytics too), and properties: a bill never decreases as simulated time passes, and its total is
//! the sum of its lines.
//!
//! Prices are the default us-east-1 table: shard hour $0.015, PUT payload units $0.014 a million, EFO
//! consumer-shard hour $0.015 and $0.013 a GB, on-demand stream hour $0.04, data in $0.08 and out $0.04 a GB,
//! on-demand extended retention $0.10 a GB-month, Firehose ingestion $0.029 a GB (records rounded up to 5 KB),
//! Analytics $0.11 a KPU-hour. A GB is 2^30 bytes, a month 730 hours, and amounts are in
//! pico-dollars ($1 = 10^12), rounded down per line.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::kinesis::call;
use kinesim::cost::{Bill, Item, PICOS_PER_USD, PriceTable, Usage};
use kinesim::sim::SimTime;
use kinesim::{World, WorldConfig};
use proptest::prelude::*;
use serde_json::{Value, json};

const HOUR_MS: u64 = 3_600_000;
/// Pico-dollars in a micro-dollar.
const MICRO: u128 = 1_000_000;

fn bill_at(world: &mut World, now_ms: u64) -> Bill {
    world.advance_to(SimTime::from_millis(now_ms));
    let usage = Usage::from_streams(world.streams(), SimTime::from_millis(now_ms));
    Bill::compute(&usage, &PriceTable::default())
}

fn line(bill: &Bill, item: Item) -> (u128, u128) {
    let found: Vec<_> = bill.lines.iter().filter(|l| l.item == item).collect();
    assert_eq!(found.len(), 1, "one {item:?} line in {bill:#?}");
    (found[0].quantity_base, found[0].amount_picos)
}

fn ok(world: &mut World, now_ms: u64, op: &str, body: Value) -> Value {
    let (status, reply) = call(world, now_ms, op, body);
    assert_eq!(status, 200, "{op}: {reply}");
    reply
}

fn stream_arn(world: &mut World, now_ms: u64, name: &str) -> String {
    let described = ok(
        world,
        now_ms,
        "DescribeStreamSummary",
        json!({"StreamName": name}),
    );
    described["StreamDescriptionSummary"]["StreamARN"]
        .as_str()
        .expect("StreamARN")
        .to_string()
}

fn data(len: usize) -> String {
    STANDARD.encode(vec![b'x'; len])
}

/// (a) A provisioned stream of 2 shards for 3 hours, with records on both sides of the 25 KB payload unit.
///
/// Shard hours: 2 shards x 3 h (created at 0, billed from creation) = 21,600,000 shard-ms = 6 shard-hours;
/// 6 x $0.015 = $0.09 = 90,000,000,000 pico.
///
/// PUT payload units (record size = data + 1-byte key "k", 25 KB = 25,600 bytes):
///   99 + 1 = 100 -> 1; 25,599 + 1 = 25,600 -> 1; 25,600 + 1 = 25,601 -> 2; 60,000 + 1 = 60,001 -> 3;
///   1,000,000 + 1 = 1,000,001 -> 40 (39.06 rounded up); total 47 units.
///   47 x $0.014 / 1,000,000 = $0.000000658 = 658,000 pico.
///
/// Total: 90,000,658,000 pico, shown as "$0.09".
#[test]
fn a_provisioned_stream_bills_shard_hours_and_put_payload_units() {
    let mut world = World::new(WorldConfig::with_seed(1));
    ok(
        &mut world,
        0,
        "CreateStream",
        json!({"StreamName": "a", "ShardCount": 2}),
    );
    let records: Vec<Value> = [99, 25_599, 25_600, 60_000]
        .into_iter()
        .map(|n| json!({"PartitionKey": "k", "Data": data(n)}))
        .collect();
    let put = ok(
        &mut world,
        10_000,
        "PutRecords",
        json!({"StreamName": "a", "Records": records}),
    );
    assert_eq!(put["FailedRecordCount"], 0);
    ok(
        &mut world,
        20_000,
        "PutRecord",
        json!({"StreamName": "a", "PartitionKey": "k", "Data": data(1_000_000)}),
    );
    // A refused record is not billed: this one is over 1 MiB.
    let (status, _) = call(
        &mut world,
        30_000,
        "PutRecord",
        json!({"StreamName": "a", "PartitionKey": "k", "Data": data(1_048_576)}),
    );
    assert_eq!(status, 400);

    let bill = bill_at(&mut world, 3 * HOUR_MS);
    assert_eq!(
        line(&bill, Item::ShardHours),
        (21_600_000, 15_000 * MICRO * 6)
    );
    assert_eq!(line(&bill, Item::PutPayloadUnits), (47, 658_000));
    assert_eq!(bill.lines.len(), 2, "{bill:#?}");
    assert_eq!(bill.total_picos, 90_000_658_000);
    assert_eq!(bill.total_text(), "$0.09");
    let shard_line = &bill.lines[0];
    assert_eq!(shard_line.quantity_text(), "6");
    assert_eq!(shard_line.unit_price_text(), "$0.015");
    assert!(
        shard_line
            .explanation()
            .contains("6 shard-hour x $0.015 = $0.09")
    );
}

/// (b) An on-demand stream with 48 h retention, 3 records in, read once, billed at 60 h.
///
/// Stream hours: 60 h x $0.04 = $2.40 = 2,400,000,000,000 pico (4 shards, no shard-hour charge on-demand).
///
/// Data in, each record (data + 1-byte key) rounded up to 1 KB = 1,024 bytes:
///   4,607 + 1 = 4,608 (4.5 KB) -> 5,120; 1,023 + 1 = 1,024 -> 1,024; 1 + 1 = 2 -> 1,024; total 7,168 bytes.
///   7,168 x $0.08 / 2^30 = 534,057.6 pico -> 534,057.
/// Data out: the same 3 records read once by GetRecords: 7,168 bytes x $0.04 / 2^30 = 267,028.8 -> 267,028.
/// Extended retention: the records (4,608 + 1,024 + 2 = 5,634 bytes) arrive at 10 s and expire 48 h later, so
///   each is stored 24 h past its first day: 5,634 x 86,400,000 ms = 486,777,600,000 byte-ms;
///   / (2^30 bytes x 730 h x 3,600,000 ms) GB-months x $0.10 = 17,250.6 pico -> 17,250.
/// Total: 2,400,000,000,000 + 534,057 + 267,028 + 17,250 = 2,400,000,818,335 pico, shown as "$2.40".
#[test]
fn an_on_demand_stream_bills_stream_hours_data_in_and_out_and_extended_retention() {
    let mut world = World::new(WorldConfig::with_seed(2));
    ok(
        &mut world,
        0,
        "CreateStream",
        json!({"StreamName": "b", "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}),
    );
    ok(
        &mut world,
        10_000,
        "IncreaseStreamRetentionPeriod",
        json!({"StreamName": "b", "RetentionPeriodHours": 48}),
    );
    for n in [4_607, 1_023, 1] {
        ok(
            &mut world,
            10_000,
            "PutRecord",
            json!({"StreamName": "b", "PartitionKey": "k", "ExplicitHashKey": "0", "Data": data(n)}),
        );
    }
    let it = ok(
        &mut world,
        20_000,
        "GetShardIterator",
        json!({"StreamName": "b", "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"}),
    );
    let got = ok(
        &mut world,
        20_000,
        "GetRecords",
        json!({"ShardIterator": it["ShardIterator"]}),
    );
    assert_eq!(got["Records"].as_array().map(Vec::len), Some(3));

    let bill = bill_at(&mut world, 60 * HOUR_MS);
    assert_eq!(
        line(&bill, Item::OnDemandStreamHours),
        (u128::from(60 * HOUR_MS), 2_400_000_000_000)
    );
    assert_eq!(line(&bill, Item::OnDemandDataIn), (7_168, 534_057));
    assert_eq!(line(&bill, Item::OnDemandDataOut), (7_168, 267_028));
    assert_eq!(
        line(&bill, Item::OnDemandExtendedRetention),
        (486_777_600_000, 17_250)
    );
    assert_eq!(bill.lines.len(), 4, "{bill:#?}");
    assert_eq!(bill.total_picos, 2_400_000_818_335);
    assert_eq!(bill.total_text(), "$2.40");
}

/// (c) A provisioned stream of 2 shards with two enhanced fan-out consumers, billed at 3 h.
///
/// Shard hours: 2 x 3 h = 6 shard-hours x $0.015 = $0.09 = 90,000,000,000 pico.
/// Consumer-shard hours: c1 registered at 10 s and deregistered at 1 h + 10 s (1 h), c2 at 10 s and 2 h + 10 s
///   (2 h); each times the 2 shards: 2 x (1 h + 2 h) = 6 consumer-shard hours = 21,600,000 ms;
///   6 x $0.015 = $0.09 = 90,000,000,000 pico.
/// PUT payload units: 10 records of 1,000 + 1 bytes, 1 unit each = 10 x $0.014 / 10^6 = 140,000 pico.
/// EFO data retrieval: both consumers subscribe to shard 0 and are pushed the 10 records:
///   2 x 10 x 1,001 = 20,020 bytes x $0.013 / 2^30 = 242,386.01 pico -> 242,386.
/// Total: 90,000,000,000 x 2 + 140,000 + 242,386 = 180,000,382,386 pico.
#[test]
fn enhanced_fan_out_bills_consumer_shard_hours_and_data_retrieved() {
    let mut world = World::new(WorldConfig::with_seed(3));
    ok(
        &mut world,
        0,
        "CreateStream",
        json!({"StreamName": "c", "ShardCount": 2}),
    );
    let stream_arn = stream_arn(&mut world, 10_000, "c");
    let consumers: Vec<String> = ["c1", "c2"]
        .into_iter()
        .map(|name| {
            let r = ok(
                &mut world,
                10_000,
                "RegisterStreamConsumer",
                json!({"StreamARN": stream_arn, "ConsumerName": name}),
            );
            r["Consumer"]["ConsumerARN"]
                .as_str()
                .expect("consumer ARN")
                .to_string()
        })
        .collect();
    let mut subscriptions = Vec::new();
    for consumer in &consumers {
        let response = world.kinesis(
            SimTime::from_millis(20_000),
            "SubscribeToShard",
            &json!({"ConsumerARN": consumer, "ShardId": "shardId-000000000000",
                    "StartingPosition": {"Type": "TRIM_HORIZON"}})
            .to_string(),
        );
        assert_eq!(response.status, 200, "{}", response.body);
        subscriptions.push(response.subscription.expect("a subscription"));
    }
    for i in 0..10 {
        ok(
            &mut world,
            30_000 + i * 100,
            "PutRecord",
            json!({"StreamName": "c", "PartitionKey": "k", "ExplicitHashKey": "0", "Data": data(1_000)}),
        );
    }
    for &sub in &subscriptions {
        world
            .kinesis_subscription_events(SimTime::from_millis(60_000), sub)
            .expect("events");
    }
    ok(
        &mut world,
        HOUR_MS + 10_000,
        "DeregisterStreamConsumer",
        json!({"ConsumerARN": consumers[0]}),
    );
    ok(
        &mut world,
        2 * HOUR_MS + 10_000,
        "DeregisterStreamConsumer",
        json!({"ConsumerARN": consumers[1]}),
    );

    let bill = bill_at(&mut world, 3 * HOUR_MS);
    assert_eq!(line(&bill, Item::ShardHours), (21_600_000, 90_000_000_000));
    assert_eq!(
        line(&bill, Item::EfoConsumerShardHours),
        (21_600_000, 90_000_000_000)
    );
    assert_eq!(line(&bill, Item::PutPayloadUnits), (10, 140_000));
    assert_eq!(line(&bill, Item::EfoDataRetrieval), (20_020, 242_386));
    assert_eq!(bill.lines.len(), 4, "{bill:#?}");
    assert_eq!(bill.total_picos, 180_000_382_386);
}

/// A deleted stream stays on the bill: billing stops at DeleteStream, and the record survives the stream.
#[test]
fn a_deleted_stream_is_billed_until_its_deletion_and_stays_on_the_bill() {
    let mut world = World::new(WorldConfig::with_seed(4));
    ok(
        &mut world,
        0,
        "CreateStream",
        json!({"StreamName": "d", "ShardCount": 1}),
    );
    ok(
        &mut world,
        HOUR_MS,
        "DeleteStream",
        json!({"StreamName": "d"}),
    );
    let bill = bill_at(&mut world, 5 * HOUR_MS);
    assert_eq!(
        line(&bill, Item::ShardHours),
        (u128::from(HOUR_MS), 15_000 * MICRO)
    );
    let (status, _) = call(
        &mut world,
        5 * HOUR_MS,
        "DescribeStreamSummary",
        json!({"StreamName": "d"}),
    );
    assert_eq!(status, 400, "the stream is gone");
}

/// Firehose and Analytics usage from plain counts, priced with the first Firehose tier and the KPU-hour.
#[test]
fn firehose_and_analytics_counts_are_priced() {
    let mut usage = Usage::default();
    // 3 records of 3,000 bytes, each billed as 5 KiB: 15,360 bytes x $0.029 / 2^30 = 414,848.3 pico -> 414,848.
    let billed: u64 = (0..3)
        .map(|_| kinesim::cost::firehose_billed_bytes(3_000))
        .sum();
    usage.add_firehose("fh", 3, billed);
    // 2 KPUs for 90 minutes: 3 KPU-hours x $0.11 = $0.33.
    usage.add_analytics("app", 2, 90 * 60_000);
    let bill = Bill::compute(&usage, &PriceTable::default());
    assert_eq!(line(&bill, Item::FirehoseIngestion), (15_360, 414_848));
    assert_eq!(
        line(&bill, Item::AnalyticsKpuHours),
        (3 * u128::from(HOUR_MS), 330_000 * MICRO)
    );
    assert_eq!(bill.total_picos, 414_848 + 330_000 * MICRO);
    assert!(bill.total_picos < PICOS_PER_USD);
}

/// (d) A run with all three services, driven through the World: a provisioned stream, a Firehose delivery stream
/// and two analytics applications, billed at 2 h from what the services counted as it happened.
///
/// Shard hours: stream "in", 1 shard for 2 h = 7,200,000 shard-ms; 2 x $0.015 = $0.03 = 30,000,000,000 pico.
///
/// Firehose ingestion, each record rounded up to 5 KB = 5,120 bytes: 1 -> 5,120; 5,120 -> 5,120;
///   5,121 -> 10,240; 12,000 -> 15,360; total 35,840 bytes (4 records). A batch refused for a missing delivery
///   stream is not billed. 35,840 x $0.029 / 2^30 = 967,979.4 pico -> 967,979.
///
/// Analytics, 1 KPU per application while it runs (no input, so the fewest KPUs): "app" from 0 to its stop at 30 min = 1,800,000 KPU-ms =
///   0.5 KPU-hour x $0.11 = $0.055 = 55,000,000,000 pico (a stopped application costs nothing more);
///   "gone" from 1 h to its deletion at 1.5 h: the same, and it stays on the bill after deletion.
///
/// Total: 30,000,000,000 + 967,979 + 55,000,000,000 x 2 = 140,000,967,979 pico, shown as "$0.14".
#[test]
fn firehose_ingestion_and_analytics_kpu_hours_are_counted_as_the_run_goes() {
    use kinesim::Command;
    use kinesim::cost::Service;
    use kinesim::world::AnalyticsInput;
    let mut world = World::new(WorldConfig::with_seed(4));
    ok(
        &mut world,
        0,
        "CreateStream",
        json!({"StreamName": "in", "ShardCount": 1}),
    );
    let created = world.firehose(
        SimTime::ZERO,
        "CreateDeliveryStream",
        &json!({"DeliveryStreamName": "fh", "ExtendedS3DestinationConfiguration": {
            "RoleARN": "arn:aws:iam::000000000000:role/firehose",
            "BucketARN": "arn:aws:s3:::lake",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60}}})
        .to_string(),
    );
    assert_eq!(created.status, 200, "{}", created.body);
    let app = |name: &str| Command::CreateAnalyticsApplication {
        name: name.into(),
        sql: "CREATE OR REPLACE STREAM \"D\" (n INTEGER);".into(),
        input: AnalyticsInput::Stream { name: "in".into() },
        schema: None,
        outputs: vec![],
    };
    world.apply(SimTime::ZERO, app("app")).expect("app");
    let batch = |name: &str, sizes: &[usize]| {
        let records: Vec<Value> = sizes.iter().map(|n| json!({"Data": data(*n)})).collect();
        json!({"DeliveryStreamName": name, "Records": records}).to_string()
    };
    let put = world.firehose(
        SimTime::from_millis(10_000),
        "PutRecordBatch",
        &batch("fh", &[1, 5_120, 5_121, 12_000]),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    let refused = world.firehose(
        SimTime::from_millis(11_000),
        "PutRecordBatch",
        &batch("missing", &[100]),
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    world.advance_to(SimTime::from_millis(HOUR_MS / 2));
    world
        .apply(
            SimTime::from_millis(HOUR_MS / 2),
            Command::StopAnalyticsApplication { name: "app".into() },
        )
        .expect("stop");
    world.advance_to(SimTime::from_millis(HOUR_MS));
    world
        .apply(SimTime::from_millis(HOUR_MS), app("gone"))
        .expect("gone");
    world.advance_to(SimTime::from_millis(HOUR_MS * 3 / 2));
    world
        .apply(
            SimTime::from_millis(HOUR_MS * 3 / 2),
            Command::DeleteAnalyticsApplication {
                name: "gone".into(),
            },
        )
        .expect("delete");
    world.advance_to(SimTime::from_millis(2 * HOUR_MS));

    let bill = Bill::compute(&Usage::from_world(&world), &PriceTable::default());
    let of = |service: Service, resource: &str, item: Item| -> (u128, u128) {
        let found: Vec<_> = bill
            .lines
            .iter()
            .filter(|l| l.service == service && l.resource == resource && l.item == item)
            .collect();
        assert_eq!(found.len(), 1, "one {resource} {item:?} line in {bill:#?}");
        (found[0].quantity_base, found[0].amount_picos)
    };
    assert_eq!(
        of(Service::DataStreams, "in", Item::ShardHours),
        (7_200_000, 30_000_000_000)
    );
    assert_eq!(
        of(Service::Firehose, "fh", Item::FirehoseIngestion),
        (35_840, 967_979)
    );
    assert_eq!(
        of(Service::Analytics, "app", Item::AnalyticsKpuHours),
        (1_800_000, 55_000_000_000)
    );
    assert_eq!(
        of(Service::Analytics, "gone", Item::AnalyticsKpuHours),
        (1_800_000, 55_000_000_000)
    );
    assert_eq!(bill.lines.len(), 4, "{bill:#?}");
    assert_eq!(bill.total_picos, 140_000_967_979);
    assert_eq!(bill.total_text(), "$0.14");
    let records: u64 = Usage::from_world(&world)
        .firehose
        .iter()
        .map(|f| f.records)
        .sum();
    assert_eq!(records, 4);
}

/// KPUs follow the input rate in steps: one per 2 MiB/s averaged over a minute, rounded up, 1 to 8.
#[test]
fn analytics_kpus_step_with_the_input_rate() {
    use kinesim::world::{
        ANALYTICS_KPU_INPUT_BYTES_PER_S, ANALYTICS_KPUS_MAX, analytics_kpus_for_step_bytes,
    };
    // One KPU's worth in a minute: 2 MiB/s x 60 s = 125,829,120 bytes.
    let per_kpu = ANALYTICS_KPU_INPUT_BYTES_PER_S * 60;
    assert_eq!(per_kpu, 125_829_120);
    assert_eq!(analytics_kpus_for_step_bytes(0), 1);
    assert_eq!(analytics_kpus_for_step_bytes(per_kpu), 1);
    assert_eq!(analytics_kpus_for_step_bytes(per_kpu + 1), 2);
    assert_eq!(analytics_kpus_for_step_bytes(300_000_000), 3);
    assert_eq!(analytics_kpus_for_step_bytes(u64::MAX), ANALYTICS_KPUS_MAX);
}

/// (e) An application whose input needs 3 KPUs for a minute, driven through the World.
///
/// Stream "in" has 5 shards (ACTIVE at 10 s); the application "big" reads it from 20 s. At 59.5 s, 60.5 s, .. 118.5 s (60 times)
/// one PutRecords writes one 1,000,000-byte record to each shard (1 MB/s per shard, under the 1 MiB/s limit).
/// The application reads each shard once a second, so it reads them all at 60 s .. 119 s: 300,000,000 bytes in
/// the minute [1:00, 2:00), 5,000,000 bytes/s on average, over 2 MiB/s (2,097,152 bytes/s) twice: 3 KPUs.
/// [0:20, 1:00) and [2:00, 3:00) have no input: 1 KPU.
///
/// At 3:00: 1 KPU x 100,000 ms + 3 KPUs x 60,000 ms = 280,000 KPU-ms = 7/90 KPU-hour x $0.11
///   = $0.00855.. = 8,555,555,555 pico (rounded down).
#[test]
fn an_application_with_a_high_input_rate_is_billed_for_more_kpus() {
    use kinesim::Command;
    use kinesim::analytics::{InputSchema, SqlType};
    use kinesim::cost::Service;
    use kinesim::world::AnalyticsInput;
    const SHARDS: u128 = 5;
    const RECORD_BYTES: usize = 1_000_000;
    // 300 records of 1 MB are kept: past the default bound on kept record bytes (256 MiB).
    let mut config = WorldConfig::with_seed(6);
    config.streams.records_kept_bytes_max = 512 * 1_048_576;
    let mut world = World::new(config);
    ok(
        &mut world,
        0,
        "CreateStream",
        json!({"StreamName": "in", "ShardCount": SHARDS}),
    );
    world
        .apply(
            SimTime::from_millis(20_000),
            Command::CreateAnalyticsApplication {
                name: "big".into(),
                // A filter that lets nothing through: the bill is about input, not output.
                sql: "CREATE OR REPLACE STREAM \"D\" (n INTEGER);
CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"D\"
  SELECT STREAM n FROM \"SOURCE_SQL_STREAM_001\" WHERE n < 0;"
                    .into(),
                input: AnalyticsInput::Stream { name: "in".into() },
                schema: Some(InputSchema::json(&[("n", SqlType::Integer, "$.n")])),
                outputs: vec![],
            },
        )
        .expect("app");
    // A JSON object padded to exactly RECORD_BYTES.
    let prefix = "{\"n\":1,\"p\":\"";
    let body = format!(
        "{prefix}{}\"}}",
        "x".repeat(RECORD_BYTES - prefix.len() - 2)
    );
    assert_eq!(body.len(), RECORD_BYTES);
    let encoded = STANDARD.encode(&body);
    let slice = u128::MAX / SHARDS;
    for k in 0..60u64 {
        let records: Vec<Value> = (0..SHARDS)
            .map(|i| {
                json!({"Data": encoded, "PartitionKey": "k",
                       "ExplicitHashKey": (i * slice + slice / 2).to_string()})
            })
            .collect();
        let reply = ok(
            &mut world,
            59_500 + k * 1_000,
            "PutRecords",
            json!({"StreamName": "in", "Records": records}),
        );
        assert_eq!(reply["FailedRecordCount"], 0, "second {k}");
    }
    world.advance_to(SimTime::from_millis(180_000));
    let app = world.analytics_apps().get("big").expect("big");
    assert_eq!(app.counts().records_in, 300);
    assert_eq!(
        app.kpu_ms_by_count(world.now()),
        [(1, 100_000), (3, 60_000)]
    );
    assert_eq!(
        world.analytics_billing(),
        [
            ("big".to_string(), 1, 100_000),
            ("big".to_string(), 3, 60_000)
        ]
    );
    let bill = Bill::compute(&Usage::from_world(&world), &PriceTable::default());
    let analytics: Vec<_> = bill
        .lines
        .iter()
        .filter(|l| l.service == Service::Analytics)
        .map(|l| (l.resource.as_str(), l.item, l.quantity_base, l.amount_picos))
        .collect();
    assert_eq!(
        analytics,
        [("big", Item::AnalyticsKpuHours, 280_000, 8_555_555_555)]
    );
}

/// An edited price table is used as is, and survives a JSON round trip (the UI's form).
#[test]
fn an_edited_price_table_is_used() {
    let mut prices = PriceTable::default();
    assert_eq!(prices.region, "us-east-1");
    assert!(!prices.sources.is_empty());
    prices.provisioned_shard_hour_micros = 1_000_000;
    let text = serde_json::to_string(&prices).expect("serialise");
    let back: PriceTable = serde_json::from_str(&text).expect("parse");
    assert_eq!(back, prices);
    let mut world = World::new(WorldConfig::with_seed(5));
    ok(
        &mut world,
        0,
        "CreateStream",
        json!({"StreamName": "e", "ShardCount": 3}),
    );
    world.advance_to(SimTime::from_millis(2 * HOUR_MS));
    let usage = Usage::from_streams(world.streams(), SimTime::from_millis(2 * HOUR_MS));
    assert_eq!(Bill::compute(&usage, &back).total_text(), "$6.00");
}

#[derive(Clone, Debug)]
enum Step {
    Wait(u64),
    Put { size: usize, key: u8 },
    Read,
    Retention(i64),
    Register(u8),
    Deregister(u8),
    Subscribe(u8),
    SwitchMode,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1u64..(30 * HOUR_MS)).prop_map(Step::Wait),
        (0usize..70_000, 0u8..8).prop_map(|(size, key)| Step::Put { size, key }),
        Just(Step::Read),
        (24i64..400).prop_map(Step::Retention),
        (0u8..3).prop_map(Step::Register),
        (0u8..3).prop_map(Step::Deregister),
        (0u8..3).prop_map(Step::Subscribe),
        Just(Step::SwitchMode),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever happens, the bill never decreases as simulated time passes, and it is the sum of its lines.
    #[test]
    fn the_bill_never_decreases_and_is_the_sum_of_its_lines(
        on_demand in any::<bool>(),
        steps in prop::collection::vec(step(), 1..40),
    ) {
        let mut world = World::new(WorldConfig::with_seed(9));
        let create = if on_demand {
            json!({"StreamName": "p", "StreamModeDetails": {"StreamMode": "ON_DEMAND"}})
        } else {
            json!({"StreamName": "p", "ShardCount": 2})
        };
        ok(&mut world, 0, "CreateStream", create);
        let mut now = 10_000u64;
        let arn = stream_arn(&mut world, now, "p");
        let mut arns: Vec<Option<String>> = vec![None, None, None];
        let mut subscriptions: Vec<u64> = Vec::new();
        let mut last = 0u128;
        for s in steps {
            match s {
                Step::Wait(ms) => now += ms,
                Step::Put { size, key } => {
                    call(&mut world, now, "PutRecord",
                         json!({"StreamName": "p", "PartitionKey": format!("k{key}"), "Data": data(size)}));
                }
                Step::Read => {
                    let (_, it) = call(&mut world, now, "GetShardIterator",
                        json!({"StreamName": "p", "ShardId": "shardId-000000000000",
                               "ShardIteratorType": "TRIM_HORIZON"}));
                    if let Some(it) = it["ShardIterator"].as_str() {
                        call(&mut world, now, "GetRecords", json!({"ShardIterator": it}));
                    }
                }
                Step::Retention(hours) => {
                    let (_, d) = call(&mut world, now, "DescribeStreamSummary", json!({"StreamName": "p"}));
                    let current = d["StreamDescriptionSummary"]["RetentionPeriodHours"].as_i64().unwrap_or(24);
                    let op = if hours >= current { "IncreaseStreamRetentionPeriod" } else { "DecreaseStreamRetentionPeriod" };
                    call(&mut world, now, op, json!({"StreamName": "p", "RetentionPeriodHours": hours}));
                }
                Step::Register(i) => {
                    let (status, r) = call(&mut world, now, "RegisterStreamConsumer",
                        json!({"StreamARN": arn, "ConsumerName": format!("c{i}")}));
                    if status == 200 {
                        arns[usize::from(i)] = r["Consumer"]["ConsumerARN"].as_str().map(str::to_string);
                    }
                }
                Step::Deregister(i) => {
                    if let Some(arn) = arns[usize::from(i)].take() {
                        call(&mut world, now, "DeregisterStreamConsumer", json!({"ConsumerARN": arn}));
                    }
                }
                Step::Subscribe(i) => {
                    if let Some(arn) = &arns[usize::from(i)] {
                        let response = world.kinesis(SimTime::from_millis(now), "SubscribeToShard",
                            &json!({"ConsumerARN": arn, "ShardId": "shardId-000000000000",
                                    "StartingPosition": {"Type": "TRIM_HORIZON"}}).to_string());
                        subscriptions.extend(response.subscription);
                    }
                }
                Step::SwitchMode => {
                    let (_, d) = call(&mut world, now, "DescribeStreamSummary", json!({"StreamName": "p"}));
                    let mode = d["StreamDescriptionSummary"]["StreamModeDetails"]["StreamMode"].as_str();
                    let other = if mode == Some("ON_DEMAND") { "PROVISIONED" } else { "ON_DEMAND" };
                    call(&mut world, now, "UpdateStreamMode",
                         json!({"StreamARN": arn, "StreamModeDetails": {"StreamMode": other}}));
                }
            }
            subscriptions.retain(|&sub| {
                world
                    .kinesis_subscription_events(SimTime::from_millis(now), sub)
                    .is_ok_and(|events| events.ended.is_none())
            });
            let bill = bill_at(&mut world, now);
            let sum: u128 = bill.lines.iter().map(|l| l.amount_picos).sum();
            prop_assert_eq!(bill.total_picos, sum);
            prop_assert!(bill.total_picos >= last, "{} < {} at {} ms: {:#?}", bill.total_picos, last, now, bill);
            last = bill.total_picos;
        }
    }
}
