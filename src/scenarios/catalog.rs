//! The scenarios: each a seeded setup, a goal, steps, hints, live checks, an explanation with the AWS limit
//! behind it, a scripted solution and a plausible wrong action (both for the golden tests).

use super::{
    Check, Outcome, Runner, Scenario, ScenarioInput as In, TransformFunction, UiSupport, api_calls,
    default_config,
};
use crate::analytics::{InputSchema, SqlType, Value};
use crate::firehose::http_endpoint::{
    BACKOFF_CAP_MS, BACKOFF_INITIAL_MS, CODE_CONNECTION_FAILED, RETRY_DURATION_SECONDS_DEFAULT,
};
use crate::firehose::service::{FirehoseEventKind, FlushReason};
use crate::sim::SimTime;
use crate::streams::hash_key::partition_key_hash;
use crate::streams::metrics::Metric;
use crate::streams::service::{
    FANOUT_BYTES_PER_S_MAX, ON_DEMAND_HOT_SHARD_BYTES_PER_S, ON_DEMAND_SCALE_DELAY_MS,
};
use crate::streams::service::{
    ITERATOR_TTL_MS, ON_DEMAND_INITIAL_SHARDS, RETENTION_HOURS_MIN, shard_id, stream_arn,
};
use crate::streams::throughput::{
    SHARD_READ_BYTES_PER_S_MAX, SHARD_READ_CALLS_PER_S_MAX, SHARD_WRITE_BYTES_PER_S_MAX,
    SHARD_WRITE_RECORDS_PER_S_MAX,
};
use crate::workload::consumer::StartPosition;
use crate::workload::generator::{GeneratorSpec, KeyDistribution};
use crate::world::AnalyticsInput;
use crate::{Command, World, WorldConfig};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use std::collections::BTreeSet;

/// Every scenario, in teaching order.
pub static SCENARIOS: &[Scenario] = &[
    HOT_KEY,
    PUT_RECORDS_RETRY,
    REPLAY_TRIM_HORIZON,
    REPLAY_AT_TIMESTAMP,
    ITERATOR_EXPIRY,
    RETENTION_DECREASE,
    CHILDREN_BEFORE_PARENTS,
    FAN_OUT,
    ON_DEMAND,
    FIREHOSE_BUFFERING,
    TRANSFORM_ERRORS,
    HTTP_ENDPOINT,
    WINDOWS,
];

/// The scenario with this id.
pub fn find(id: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.id == id)
}

/// The scenario whose seed this is (a session's seed names its scenario).
pub fn for_seed(seed: u64) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.seed == seed)
}

// ----- Shared helpers -----

const MINUTE_MS: u64 = 60_000;
const HALF_HASH: u128 = 1u128 << 127;

fn spec(prefix: &str, keys: KeyDistribution, template: &str, bytes: u32) -> GeneratorSpec {
    GeneratorSpec {
        key_prefix: prefix.into(),
        keys,
        record_template: template.into(),
        record_bytes: bytes,
        lines: None,
    }
}

fn create_stream(at: u64, name: &str, shards: u32) -> In {
    In::kinesis(
        at,
        "CreateStream",
        json!({"StreamName": name, "ShardCount": shards}),
    )
}

fn start_producer(name: &str, stream: &str, rate: u32, spec: GeneratorSpec) -> Command {
    Command::StartProducer {
        name: name.into(),
        stream: stream.into(),
        records_per_s: rate,
        spec,
    }
}

fn producer(at: u64, name: &str, stream: &str, rate: u32, spec: GeneratorSpec) -> In {
    In::command(at, start_producer(name, stream, rate, spec))
}

fn stop(name: &str) -> Command {
    Command::StopProducer { name: name.into() }
}

fn stop_producer(at: u64, name: &str) -> In {
    In::command(at, stop(name))
}

fn consumer(name: &str, stream: &str, start: StartPosition, poll_ms: u64) -> Command {
    Command::StartConsumer {
        name: name.into(),
        stream: stream.into(),
        start,
        poll_interval_ms: poll_ms,
    }
}

/// A metric summed over a stream's shards and all minutes.
fn stream_total(world: &World, stream: &str, metric: Metric) -> u64 {
    metric_sum(world.streams().stream_metrics(stream), |_, k| k == metric)
}

/// A metric of one stream in one minute, summed over shards.
fn stream_minute(world: &World, stream: &str, minute: u64, metric: Metric) -> u64 {
    let start = SimTime::from_millis(minute * MINUTE_MS);
    metric_sum(world.streams().stream_metrics(stream), |t, k| {
        k == metric && t == start
    })
}

/// The last minute that has ended.
fn last_full_minute(world: &World) -> Option<u64> {
    (world.now().as_millis() / MINUTE_MS).checked_sub(1)
}

fn shard_ids(world: &World, stream: &str) -> Vec<(String, bool)> {
    world
        .streams()
        .shard_views(stream, world.now())
        .into_iter()
        .map(|(v, open, _)| (v.shard_id, open))
        .collect()
}

fn kept_records(world: &World, stream: &str) -> u64 {
    stream_records(world, stream).count() as u64
}

fn shard_kept(world: &World, stream: &str, shard: &str) -> u64 {
    world
        .streams()
        .shard_records(stream, shard)
        .map_or(0, |r| r.len() as u64)
}

fn b64(text: &str) -> String {
    STANDARD.encode(text)
}

/// A check: its id, title and verdict.
const fn check(id: &'static str, title: &'static str, eval: fn(&World) -> Outcome) -> Check {
    Check { id, title, eval }
}

/// Passed (`pass`) once `done`; pending (`pending`) until then.
fn pass_if(done: bool, pass: impl Into<String>, pending: impl Into<String>) -> Outcome {
    if done {
        Outcome::pass(pass)
    } else {
        Outcome::pending(pending)
    }
}

/// Passed with what was found (`pass` says it), pending (`pending`) while nothing is.
fn pass_found<T>(found: Option<T>, pass: impl FnOnce(T) -> String, pending: &str) -> Outcome {
    match found {
        Some(v) => Outcome::pass(pass(v)),
        None => Outcome::pending(pending),
    }
}

/// The sum of the metric rows (minute, metric, value) that `keep` selects; 0 for a missing stream or shard.
fn metric_sum<E>(
    rows: Result<Vec<(SimTime, Metric, u64)>, E>,
    keep: impl Fn(SimTime, Metric) -> bool,
) -> u64 {
    rows.map(|m| {
        m.iter()
            .filter(|(t, k, _)| keep(*t, *k))
            .map(|(_, _, v)| *v)
            .sum()
    })
    .unwrap_or(0)
}

/// Every record a stream keeps, shard by shard.
fn stream_records<'w>(
    world: &'w World,
    stream: &'w str,
) -> impl Iterator<Item = &'w crate::streams::service::Record> + 'w {
    shard_ids(world, stream)
        .into_iter()
        .filter_map(move |(id, _)| world.streams().shard_records(stream, &id))
        .flat_map(|r| r.iter())
}

/// Applies `command` now, then lets `wait_ms` pass.
fn command_then_wait(r: &mut Runner, command: Command, wait_ms: u64) {
    let t = r.now_ms();
    r.command(t, command);
    r.advance(t + wait_ms);
}

// ----- 1. A hot partition key throttles one shard; a split fixes it -----

/// The key prefix whose first two keys (the hot ones) both map to the lower half of the hash space (shard 0 of a
/// two-shard stream), the second keys apart enough to split between them.
pub fn hot_key_prefix() -> String {
    (0u32..10_000)
        .map(|n| format!("customer-{n}-"))
        .find(|p| {
            let a = partition_key_hash(&format!("{p}0"));
            let b = partition_key_hash(&format!("{p}1"));
            a < HALF_HASH && b < HALF_HASH && a.abs_diff(b) > (1u128 << 120)
        })
        .unwrap_or_else(|| "customer-".into())
}

fn hot_key_setup() -> Vec<In> {
    vec![
        create_stream(0, "orders", 2),
        producer(
            10_000,
            "checkout",
            "orders",
            1_500,
            spec(
                &hot_key_prefix(),
                KeyDistribution::HotKeys {
                    keys: 100,
                    hot: 2,
                    hot_percent: 90,
                },
                r#"{"order":${n},"customer":"${key}"}"#,
                0,
            ),
        ),
        In::Advance { to_ms: 75_000 },
    ]
}

fn hot_throttled(w: &World) -> Outcome {
    let shard = shard_id(0);
    let n = metric_sum(w.streams().shard_metrics("orders", &shard), |_, k| {
        k == Metric::WriteProvisionedThroughputExceeded
    });
    pass_if(
        n > 0,
        format!("{shard} refused {n} writes (WriteProvisionedThroughputExceeded)"),
        "No throttled writes yet: let the producer run.",
    )
}

fn hot_split(w: &World) -> Outcome {
    let shards = shard_ids(w, "orders");
    let hot_open = shards.iter().any(|(id, open)| *id == shard_id(0) && *open);
    let cold_open = shards.iter().any(|(id, open)| *id == shard_id(1) && *open);
    if !hot_open && shards.len() > 2 {
        Outcome::pass(format!(
            "{} was split; {} shards now open",
            shard_id(0),
            shards.iter().filter(|s| s.1).count()
        ))
    } else if !cold_open {
        Outcome::pending(format!(
            "{} was split, but it is the cold shard; the hot one is {}",
            shard_id(1),
            shard_id(0)
        ))
    } else {
        Outcome::pending(format!("{} is still open: split it", shard_id(0)))
    }
}

fn hot_fixed(w: &World) -> Outcome {
    if hot_split(w).status != super::Status::Pass {
        return Outcome::pending("Waiting for the hot shard to be split.");
    }
    let Some(minute) = last_full_minute(w) else {
        return Outcome::pending("Waiting for a full minute.");
    };
    let children: Vec<(String, bool)> = shard_ids(w, "orders")
        .into_iter()
        .filter(|(_, open)| *open)
        .collect();
    let newest = w
        .streams()
        .shard_views("orders", w.now())
        .into_iter()
        .filter(|(_, open, _)| *open)
        .map(|(_, _, created)| created.as_millis())
        .max()
        .unwrap_or(0);
    if newest > minute * MINUTE_MS {
        return Outcome::pending(
            "The new shards are open; waiting for a full minute of traffic on them.",
        );
    }
    let throttled: u64 = children
        .iter()
        .map(|(id, _)| {
            w.streams().shard_metric_minute(
                "orders",
                id,
                minute,
                Metric::WriteProvisionedThroughputExceeded,
            )
        })
        .sum();
    let incoming = stream_minute(w, "orders", minute, Metric::IncomingRecords);
    if throttled == 0 && incoming > 0 {
        Outcome::pass(format!(
            "A full minute with {incoming} records in and none throttled"
        ))
    } else if incoming == 0 {
        Outcome::pending("No records came in last minute: keep the producer running.")
    } else {
        Outcome::pending(format!(
            "{throttled} writes were still throttled last minute: both hot keys still share a shard"
        ))
    }
}

fn hot_solution(r: &mut Runner) {
    let p = hot_key_prefix();
    let a = partition_key_hash(&format!("{p}0"));
    let b = partition_key_hash(&format!("{p}1"));
    let mid = a.min(b) + a.abs_diff(b) / 2;
    let t = r.now_ms();
    r.kinesis(t, "SplitShard", json!({"StreamName": "orders", "ShardToSplit": shard_id(0), "NewStartingHashKey": mid.to_string()}));
    r.advance(t + 3 * MINUTE_MS);
}

fn hot_wrong(r: &mut Runner) {
    let t = r.now_ms();
    let mid = HALF_HASH + HALF_HASH / 2;
    r.kinesis(t, "SplitShard", json!({"StreamName": "orders", "ShardToSplit": shard_id(1), "NewStartingHashKey": mid.to_string()}));
    r.advance(t + 3 * MINUTE_MS);
}

const HOT_KEY: Scenario = Scenario {
    id: "hot-key-split",
    title: "A hot partition key throttles one shard",
    seed: 1_001,
    summary: "Two busy customers land on the same shard; split it between them.",
    goal: "The checkout producer writes 1,500 records/s to a 2-shard stream, 90% of them under two hot customer keys. \
           Find the throttled shard, split it so the two hot keys land on different shards, and run a full minute \
           without throttling.",
    steps: &[
        "Open the stream 'orders' and look at the per-shard write rates: one shard is over its limit.",
        "On the shard map, the hot keys are marked. Click between the two hot keys on the hot shard to pick a split point.",
        "Split the shard (SplitShard). The stream is UPDATING for 30 s, then the two children take the writes.",
        "Play for a minute and watch throttled writes drop to zero.",
    ],
    hints: &[
        "The hot shard is shardId-000000000000: it holds the lower half of the hash keys.",
        "A split in the middle of the shard's range may leave both hot keys on one child. Split between them.",
        "A single partition key always maps to one shard: splitting helps only because there are two hot keys.",
    ],
    config: default_config,
    setup: hot_key_setup,
    checks: &[
        check("throttled", "The hot shard throttles writes", hot_throttled),
        check("split", "The hot shard is split", hot_split),
        check("fixed", "A full minute without throttling", hot_fixed),
    ],
    explanation: hot_explanation,
    solution: hot_solution,
    wrong: hot_wrong,
    wrong_check: "fixed",
    ui: UiSupport::Full,
};

fn hot_explanation() -> String {
    format!(
        "Each shard takes at most {SHARD_WRITE_RECORDS_PER_S_MAX} records/s and {SHARD_WRITE_BYTES_PER_S_MAX} bytes/s \
         of writes (SHARD_WRITE_RECORDS_PER_S_MAX, SHARD_WRITE_BYTES_PER_S_MAX). A partition key's MD5 decides its \
         shard, so the two hot keys (about 675 records/s each) both went to shardId-000000000000, well over the \
         limit, while the other shard idled. SplitShard closes the parent and opens two children at \
         NewStartingHashKey: choosing it between the two keys' hash values gives each hot key its own shard. \
         A single key can never be spread this way: one key is capped at one shard's limit."
    )
}

// ----- 2. PutRecords partial failures and retry with back-off -----

const PAYMENTS: u64 = 1_500;

fn payments_setup() -> Vec<In> {
    vec![
        create_stream(0, "payments", 1),
        In::Advance { to_ms: 15_000 },
    ]
}

fn payment_entries(ids: &[u64]) -> serde_json::Value {
    let records: Vec<serde_json::Value> = ids
        .iter()
        .map(|i| json!({"PartitionKey": format!("payer-{}", i % 50), "Data": b64(&format!("payment-{i}"))}))
        .collect();
    json!({"StreamName": "payments", "Records": records})
}

fn payments_partial(w: &World) -> Outcome {
    let n = stream_total(w, "payments", Metric::PutRecordsThrottledRecords);
    pass_if(
        n > 0,
        format!("{n} entries came back with ProvisionedThroughputExceededException"),
        "No PutRecords entry has failed yet: send the 1,500 payments within one second.",
    )
}

fn payments_all_in(w: &World) -> Outcome {
    let Some(records) = w.streams().shard_records("payments", &shard_id(0)) else {
        return Outcome::pending("The stream is not there yet.");
    };
    let mut seen = BTreeSet::new();
    let mut duplicates = 0u64;
    for r in records {
        let text = String::from_utf8_lossy(&r.data);
        if let Some(n) = text
            .strip_prefix("payment-")
            .and_then(|n| n.parse::<u64>().ok())
            && n < PAYMENTS
            && !seen.insert(n)
        {
            duplicates += 1;
        }
    }
    if duplicates > 0 {
        Outcome::fail(format!(
            "{duplicates} payments were written twice: retry only the entries that failed"
        ))
    } else if seen.len() as u64 == PAYMENTS {
        Outcome::pass(format!(
            "All {PAYMENTS} payments are in the stream, each once"
        ))
    } else {
        Outcome::pending(format!("{} of {PAYMENTS} payments are in", seen.len()))
    }
}

fn failed_ids(response: &serde_json::Value, ids: &[u64]) -> Vec<u64> {
    response["Records"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .zip(ids)
                .filter(|(e, _)| e.get("ErrorCode").is_some())
                .map(|(_, id)| *id)
                .collect()
        })
        .unwrap_or_default()
}

fn payments_solution(r: &mut Runner) {
    let t = r.now_ms();
    let mut failed = Vec::new();
    let all: Vec<u64> = (0..PAYMENTS).collect();
    for (i, chunk) in all.chunks(400).enumerate() {
        let (_, resp) = r.kinesis(t + i as u64 * 10, "PutRecords", payment_entries(chunk));
        failed.extend(failed_ids(&resp, chunk));
    }
    // Back off (100 ms doubling) and retry only what failed.
    let mut delay = 100;
    let mut at = t + 100;
    while !failed.is_empty() && delay < 60_000 {
        at += delay;
        let batch = std::mem::take(&mut failed);
        for chunk in batch.chunks(500) {
            let (_, resp) = r.kinesis(at, "PutRecords", payment_entries(chunk));
            failed.extend(failed_ids(&resp, chunk));
        }
        delay *= 2;
    }
    r.advance(at + 1_000);
}

fn payments_wrong(r: &mut Runner) {
    let t = r.now_ms();
    let all: Vec<u64> = (0..PAYMENTS).collect();
    for (i, chunk) in all.chunks(400).enumerate() {
        r.kinesis(t + i as u64 * 10, "PutRecords", payment_entries(chunk));
    }
    // Retry every batch whole, failed or not.
    for (i, chunk) in all.chunks(400).enumerate() {
        r.kinesis(
            t + 2_000 + i as u64 * 1_000,
            "PutRecords",
            payment_entries(chunk),
        );
    }
    r.advance(t + 8_000);
}

const PUT_RECORDS_RETRY: Scenario = Scenario {
    id: "putrecords-retry",
    title: "PutRecords partial failures and retry with back-off",
    seed: 1_002,
    summary: "One PutRecords call can half succeed; retry only what failed.",
    goal: "Write payments payment-0 .. payment-1499 into the 1-shard stream 'payments' within one second \
           (PutRecords, at most 500 entries a call), then retry only the entries that failed, with back-off, until \
           every payment is in the stream exactly once.",
    steps: &[
        "Open the SDK playground. Send the payments in PutRecords calls of 400 entries, one right after the other.",
        "Look at FailedRecordCount and the entries that carry an ErrorCode.",
        "Wait (back off), then send again only the failed entries; repeat until none fail.",
    ],
    hints: &[
        "Entries of a response line up with the request's entries: entry i failed if it has an ErrorCode.",
        "The shard takes 1,000 records per second: after a one-second pause the retry goes through.",
        "Resending whole batches writes the successful entries twice: Kinesis does not deduplicate.",
    ],
    config: default_config,
    setup: payments_setup,
    checks: &[
        check(
            "partial",
            "Some entries failed (partial failure)",
            payments_partial,
        ),
        check(
            "all-in",
            "Every payment is in, exactly once",
            payments_all_in,
        ),
    ],
    explanation: payments_explanation,
    solution: payments_solution,
    wrong: payments_wrong,
    wrong_check: "all-in",
    ui: UiSupport::Full,
};

fn payments_explanation() -> String {
    format!(
        "A shard accepts {SHARD_WRITE_RECORDS_PER_S_MAX} records per second (SHARD_WRITE_RECORDS_PER_S_MAX). \
         PutRecords is not atomic: each entry succeeds or fails on its own, the response's Records line up with \
         the request, and FailedRecordCount counts entries with ErrorCode ProvisionedThroughputExceededException. \
         The call itself returns 200. The fix is to resend only the failed entries after a back-off; resending \
         everything duplicates records, because Kinesis never deduplicates (consumers must be idempotent)."
    )
}

// ----- 3. Replay from TRIM_HORIZON -----

fn clicks_setup() -> Vec<In> {
    vec![
        create_stream(0, "clicks", 1),
        producer(
            10_000,
            "web",
            "clicks",
            10,
            spec(
                "user-",
                KeyDistribution::Uniform { keys: 20 },
                r#"{"click":${n}}"#,
                0,
            ),
        ),
        stop_producer(70_000, "web"),
        In::command(
            70_000,
            consumer("dashboard", "clicks", StartPosition::Latest, 1_000),
        ),
        In::Advance { to_ms: 75_000 },
    ]
}

fn clicks_replayed(w: &World) -> Outcome {
    let total = kept_records(w, "clicks");
    let best = w
        .consumers()
        .values()
        .map(|c| c.consumer.stats.records)
        .max()
        .unwrap_or(0);
    pass_if(
        total > 0 && best >= total,
        format!("A consumer read all {total} records kept in the stream"),
        format!("The best consumer has read {best} of the {total} records kept"),
    )
}

fn clicks_solution(r: &mut Runner) {
    command_then_wait(
        r,
        Command::ReplayConsumer {
            name: "dashboard".into(),
            start: StartPosition::TrimHorizon,
        },
        5_000,
    );
}

fn clicks_wrong(r: &mut Runner) {
    command_then_wait(
        r,
        Command::ReplayConsumer {
            name: "dashboard".into(),
            start: StartPosition::Latest,
        },
        5_000,
    );
}

const REPLAY_TRIM_HORIZON: Scenario = Scenario {
    id: "replay-trim-horizon",
    title: "Replay everything from TRIM_HORIZON",
    seed: 1_003,
    summary: "A consumer started at LATEST saw nothing; replay the stream from its oldest record.",
    goal: "The 'dashboard' consumer started at LATEST after the 'web' producer had written its 600 clicks, so it \
           has read nothing. Make a consumer read every record the stream keeps.",
    steps: &[
        "Open the stream 'clicks': the producer stopped at 1:10, the consumer started at LATEST and reads nothing.",
        "In the consumers card, replay 'dashboard' from TRIM_HORIZON.",
        "Play a few seconds: the consumer reads all records, oldest first.",
    ],
    hints: &[
        "LATEST means 'records written after I got the iterator'.",
        "TRIM_HORIZON is the oldest record still within the retention period.",
    ],
    config: default_config,
    setup: clicks_setup,
    checks: &[check(
        "replayed",
        "Every kept record was read",
        clicks_replayed,
    )],
    explanation: clicks_explanation,
    solution: clicks_solution,
    wrong: clicks_wrong,
    wrong_check: "replayed",
    ui: UiSupport::Full,
};

fn clicks_explanation() -> String {
    format!(
        "Records stay in a stream for its retention period ({RETENTION_HOURS_MIN} hours by default, \
         RETENTION_HOURS_MIN) whether or not anyone read them, so any consumer can start over. A LATEST iterator \
         starts after the newest record; TRIM_HORIZON starts at the oldest record still kept. Reading does not \
         remove records: each consumer keeps its own position (its checkpoint)."
    )
}

// ----- 4. Replay from AT_TIMESTAMP -----

const INCIDENT_MS: u64 = 100_000;

fn ts_setup() -> Vec<In> {
    vec![
        create_stream(0, "invoices", 1),
        producer(
            10_000,
            "billing",
            "invoices",
            10,
            spec(
                "account-",
                KeyDistribution::Uniform { keys: 20 },
                r#"{"invoice":${n}}"#,
                0,
            ),
        ),
        stop_producer(130_000, "billing"),
        In::Advance { to_ms: 135_000 },
    ]
}

fn ts_replayed(w: &World) -> Outcome {
    let expected: u64 = stream_records(w, "invoices")
        .filter(|r| r.arrival.as_millis() >= INCIDENT_MS)
        .count() as u64;
    let mut best: Option<Outcome> = None;
    for (name, c) in w.consumers() {
        let StartPosition::AtTimestamp { at_ms } = c.consumer.start else {
            continue;
        };
        let read = c.consumer.stats.records;
        if read > expected {
            return Outcome::fail(format!(
                "{name} started AT_TIMESTAMP {at_ms} ms and read {} records from before the incident",
                read - expected
            ));
        }
        if read == expected && expected > 0 {
            best = Some(Outcome::pass(format!(
                "{name} read the {expected} records from 1:40 on, and none before"
            )));
        } else if best.is_none() {
            best = Some(Outcome::pending(format!(
                "{name} has read {read} of the {expected} records from 1:40 on"
            )));
        }
    }
    best.unwrap_or_else(|| Outcome::pending("No consumer reads from a timestamp yet."))
}

fn ts_solution(r: &mut Runner) {
    command_then_wait(
        r,
        consumer(
            "reprocess",
            "invoices",
            StartPosition::AtTimestamp { at_ms: INCIDENT_MS },
            1_000,
        ),
        5_000,
    );
}

fn ts_wrong(r: &mut Runner) {
    command_then_wait(
        r,
        consumer(
            "reprocess",
            "invoices",
            StartPosition::AtTimestamp { at_ms: 60_000 },
            1_000,
        ),
        5_000,
    );
}

const REPLAY_AT_TIMESTAMP: Scenario = Scenario {
    id: "replay-at-timestamp",
    title: "Reprocess from a point in time (AT_TIMESTAMP)",
    seed: 1_004,
    summary: "A bad deploy at 1:40 corrupted downstream data; reprocess only from then.",
    goal: "A bug went live at simulated time 1:40 (100 s). Start a consumer on 'invoices' that reprocesses every \
           record from 1:40 on, and none from before.",
    steps: &[
        "Open the stream 'invoices' and add a consumer.",
        "Pick AT_TIMESTAMP as its start and enter 100000 ms (1:40).",
        "Play a few seconds and compare its record count with the records written from 1:40.",
    ],
    hints: &[
        "AT_TIMESTAMP starts at the first record that arrived at or after the timestamp.",
        "A timestamp older than the trim horizon behaves as TRIM_HORIZON.",
    ],
    config: default_config,
    setup: ts_setup,
    checks: &[check(
        "from-incident",
        "Reprocessed from 1:40 exactly",
        ts_replayed,
    )],
    explanation: ts_explanation,
    solution: ts_solution,
    wrong: ts_wrong,
    wrong_check: "from-incident",
    ui: UiSupport::Full,
};

fn ts_explanation() -> String {
    "Every record carries ApproximateArrivalTimestamp, set by Kinesis when it accepted the record. \
     GetShardIterator with ShardIteratorType AT_TIMESTAMP starts at the first record whose arrival is at or after \
     the given time, so a replay can start at an incident rather than at the oldest record; a time before the \
     trim horizon means TRIM_HORIZON."
        .to_string()
}

// ----- 5. An iterator expires after 5 minutes -----

fn audit_setup() -> Vec<In> {
    let mut v = vec![create_stream(0, "audit", 1)];
    for i in 0..5 {
        v.push(In::kinesis(11_000 + i * 100, "PutRecord", json!({"StreamName": "audit", "PartitionKey": "audit", "Data": b64(&format!("entry-{i}"))})));
    }
    v.push(In::Advance { to_ms: 15_000 });
    v
}

fn audit_expired(w: &World) -> Outcome {
    let n = api_calls(w, "GetRecords")
        .iter()
        .filter(|(_, _, e)| e.as_deref() == Some("ExpiredIteratorException"))
        .count();
    pass_if(
        n > 0,
        "GetRecords answered ExpiredIteratorException",
        "No iterator has expired yet: get one, let more than 5 minutes pass, then use it.",
    )
}

fn audit_recovered(w: &World) -> Outcome {
    let calls = api_calls(w, "GetRecords");
    let expired = calls
        .iter()
        .position(|(_, _, e)| e.as_deref() == Some("ExpiredIteratorException"));
    match expired {
        Some(i) if calls.iter().skip(i + 1).any(|(_, _, e)| e.is_none()) => {
            Outcome::pass("A fresh iterator read the shard after the expiry")
        }
        Some(_) => Outcome::pending("Get a new iterator (GetShardIterator) and read again."),
        None => Outcome::pending("Waiting for the expiry first."),
    }
}

fn audit_iterator(r: &mut Runner, at: u64) -> String {
    let (_, it) = r.kinesis(
        at,
        "GetShardIterator",
        json!({"StreamName": "audit", "ShardId": shard_id(0), "ShardIteratorType": "TRIM_HORIZON"}),
    );
    it["ShardIterator"].as_str().unwrap_or_default().to_string()
}

fn audit_solution(r: &mut Runner) {
    let t = r.now_ms();
    let it = audit_iterator(r, t);
    r.kinesis(
        t + ITERATOR_TTL_MS + 1_000,
        "GetRecords",
        json!({"ShardIterator": it}),
    );
    let t2 = r.now_ms() + 1_000;
    let fresh = audit_iterator(r, t2);
    r.kinesis(t2 + 200, "GetRecords", json!({"ShardIterator": fresh}));
    r.advance(t2 + 2_000);
}

fn audit_wrong(r: &mut Runner) {
    let t = r.now_ms();
    let it = audit_iterator(r, t);
    r.kinesis(
        t + ITERATOR_TTL_MS - 60_000,
        "GetRecords",
        json!({"ShardIterator": it}),
    );
    r.advance(t + ITERATOR_TTL_MS);
}

const ITERATOR_EXPIRY: Scenario = Scenario {
    id: "iterator-expiry",
    title: "A shard iterator expires after 5 minutes",
    seed: 1_005,
    summary: "Hold an iterator too long and GetRecords refuses it.",
    goal: "Get a shard iterator for 'audit', wait more than 5 simulated minutes, and call GetRecords with it: see \
           ExpiredIteratorException. Then recover by getting a new iterator and reading again.",
    steps: &[
        "In the SDK playground: GetShardIterator (TRIM_HORIZON) on shardId-000000000000 of 'audit'; print it.",
        "Play (or step) past 5 simulated minutes.",
        "Call GetRecords with the old iterator: ExpiredIteratorException.",
        "Call GetShardIterator again (from your checkpoint) and read with the new iterator.",
    ],
    hints: &[
        "Use the speed control: at 100x, 5 minutes pass in 3 seconds.",
        "Real consumers use NextShardIterator from each GetRecords call and never hold one for long.",
    ],
    config: default_config,
    setup: audit_setup,
    checks: &[
        check("expired", "An iterator expired", audit_expired),
        check(
            "recovered",
            "Read again with a fresh iterator",
            audit_recovered,
        ),
    ],
    explanation: audit_explanation,
    solution: audit_solution,
    wrong: audit_wrong,
    wrong_check: "expired",
    ui: UiSupport::Full,
};

fn audit_explanation() -> String {
    format!(
        "A shard iterator is valid for {ITERATOR_TTL_MS} ms (ITERATOR_TTL_MS, 5 minutes) after GetShardIterator or \
         the GetRecords call that returned it. After that, GetRecords answers ExpiredIteratorException and the \
         consumer must ask for a new iterator, typically AFTER_SEQUENCE_NUMBER its last checkpoint, so it loses \
         nothing."
    )
}

// ----- 6. Decreasing retention loses data -----

const LEDGER_HOURS: u64 = 40;
const HOUR_MS: u64 = 3_600_000;

fn ledger_setup() -> Vec<In> {
    let mut v = vec![
        create_stream(0, "ledger", 1),
        In::kinesis(
            10_000,
            "IncreaseStreamRetentionPeriod",
            json!({"StreamName": "ledger", "RetentionPeriodHours": 72}),
        ),
    ];
    for h in 0..=LEDGER_HOURS {
        v.push(In::kinesis(20_000 + h * HOUR_MS, "PutRecord", json!({"StreamName": "ledger", "PartitionKey": "ledger", "Data": b64(&format!("hour-{h}"))})));
    }
    v.push(In::Advance {
        to_ms: 30_000 + LEDGER_HOURS * HOUR_MS,
    });
    v
}

fn retention_hours(w: &World, stream: &str) -> u32 {
    w.streams()
        .stream_view(stream, w.now())
        .map_or(0, |v| v.retention_hours)
}

fn ledger_decreased(w: &World) -> Outcome {
    let hours = retention_hours(w, "ledger");
    let kept = kept_records(w, "ledger");
    let written = LEDGER_HOURS + 1;
    pass_if(
        hours == 24 && kept < written,
        format!(
            "Retention is 24 h and {} of {written} records are gone",
            written - kept
        ),
        format!("Retention is {hours} h; {kept} of {written} records kept"),
    )
}

fn ledger_no_way_back(w: &World) -> Outcome {
    let calls: Vec<_> = w
        .events()
        .filter_map(|e| match &e.kind {
            crate::EventKind::ApiCall {
                operation,
                error: None,
                ..
            } if operation == "DecreaseStreamRetentionPeriod"
                || operation == "IncreaseStreamRetentionPeriod" =>
            {
                Some(operation.clone())
            }
            _ => None,
        })
        .collect();
    let decrease = calls
        .iter()
        .position(|o| o == "DecreaseStreamRetentionPeriod");
    let increased_after = decrease.is_some_and(|i| {
        calls
            .iter()
            .skip(i + 1)
            .any(|o| o == "IncreaseStreamRetentionPeriod")
    });
    let kept = kept_records(w, "ledger");
    pass_if(
        increased_after && kept < LEDGER_HOURS + 1,
        format!(
            "Retention went back up to {} h, and still only {kept} records are kept",
            retention_hours(w, "ledger")
        ),
        "After the decrease, increase the retention again and look at the records.",
    )
}

fn ledger_solution(r: &mut Runner) {
    let t = r.now_ms();
    r.kinesis(
        t,
        "DecreaseStreamRetentionPeriod",
        json!({"StreamName": "ledger", "RetentionPeriodHours": 24}),
    );
    r.advance(t + 1_000);
    r.kinesis(
        t + 2_000,
        "IncreaseStreamRetentionPeriod",
        json!({"StreamName": "ledger", "RetentionPeriodHours": 72}),
    );
    r.advance(t + 3_000);
}

fn ledger_wrong(r: &mut Runner) {
    let t = r.now_ms();
    r.kinesis(
        t,
        "IncreaseStreamRetentionPeriod",
        json!({"StreamName": "ledger", "RetentionPeriodHours": 96}),
    );
    r.advance(t + 1_000);
}

const RETENTION_DECREASE: Scenario = Scenario {
    id: "retention-decrease",
    title: "Decreasing retention loses data at once",
    seed: 1_006,
    summary: "Shorten retention and older records vanish; lengthening it does not bring them back.",
    goal: "The 'ledger' stream keeps 72 hours and holds one record per hour for the last 40 hours. Decrease its \
           retention to 24 hours and see what is lost; then increase it again and see that nothing comes back.",
    steps: &[
        "Open the stream 'ledger' and count its records (the shard inspector).",
        "Set retention to 24 hours (DecreaseStreamRetentionPeriod).",
        "Count again: the records older than 24 hours are gone.",
        "Set retention back to 72 hours (IncreaseStreamRetentionPeriod): they stay gone.",
    ],
    hints: &[
        "Retention is between 24 and 8,760 hours.",
        "Decrease and Increase are separate operations; each must move in its own direction.",
    ],
    config: default_config,
    setup: ledger_setup,
    checks: &[
        check(
            "decreased",
            "Retention decreased, data lost",
            ledger_decreased,
        ),
        check(
            "no-way-back",
            "Increasing again brings nothing back",
            ledger_no_way_back,
        ),
    ],
    explanation: ledger_explanation,
    solution: ledger_solution,
    wrong: ledger_wrong,
    wrong_check: "decreased",
    ui: UiSupport::Full,
};

fn ledger_explanation() -> String {
    format!(
        "Retention runs from {RETENTION_HOURS_MIN} hours (RETENTION_HOURS_MIN) to 8,760. \
         DecreaseStreamRetentionPeriod makes records older than the new period unreadable at once: they are \
         trimmed, not hidden. IncreaseStreamRetentionPeriod only keeps future records longer. Retention beyond \
         24 hours is billed as extended retention."
    )
}

// ----- 7. Reading children before parents breaks order -----

fn split_setup() -> Vec<In> {
    vec![
        create_stream(0, "trades", 1),
        producer(
            10_000,
            "desk",
            "trades",
            20,
            spec(
                "symbol-",
                KeyDistribution::Sequential { keys: 5 },
                r#"{"trade":${n},"symbol":"${key}"}"#,
                0,
            ),
        ),
        In::kinesis(
            40_000,
            "SplitShard",
            json!({"StreamName": "trades", "ShardToSplit": shard_id(0), "NewStartingHashKey": HALF_HASH.to_string()}),
        ),
        stop_producer(110_000, "desk"),
        In::Advance { to_ms: 115_000 },
    ]
}

fn split_in_order(w: &World) -> Outcome {
    let shards = w.streams().shard_views("trades", w.now());
    let parent = shard_id(0);
    let parent_kept = shard_kept(w, "trades", &parent);
    let mut best = Outcome::pending("No consumer reads 'trades' yet.");
    for (name, c) in w.consumers() {
        if c.consumer.stream != "trades" {
            continue;
        }
        let cursors = &c.consumer.cursors;
        let parent_read = cursors.get(&parent).map_or(0, |k| k.records);
        let children_read: u64 = shards
            .iter()
            .filter(|(v, _, _)| v.parent_shard_id.as_deref() == Some(parent.as_str()))
            .filter_map(|(v, _, _)| cursors.get(&v.shard_id))
            .map(|k| k.records)
            .sum();
        if children_read > 0 && parent_read < parent_kept {
            return Outcome::fail(format!(
                "{name} read {children_read} records of the children while {} of the parent's records were unread: \
                 per-key order is broken",
                parent_kept - parent_read
            ));
        }
        let children_kept: u64 = shards
            .iter()
            .filter(|(v, _, _)| v.parent_shard_id.as_deref() == Some(parent.as_str()))
            .map(|(v, _, _)| shard_kept(w, "trades", &v.shard_id))
            .sum();
        if parent_read == parent_kept && children_kept > 0 && children_read == children_kept {
            best = Outcome::pass(format!(
                "{name} read the parent to its end ({parent_read}), then the children ({children_read})"
            ));
        } else if best.status != super::Status::Pass {
            best = Outcome::pending(format!(
                "{name}: parent {parent_read}/{parent_kept}, children {children_read}/{children_kept}"
            ));
        }
    }
    best
}

fn split_solution(r: &mut Runner) {
    command_then_wait(
        r,
        consumer("ledger-writer", "trades", StartPosition::TrimHorizon, 1_000),
        10_000,
    );
}

fn split_wrong(r: &mut Runner) {
    let t = r.now_ms();
    let child = r
        .world
        .streams()
        .shard_views("trades", r.world.now())
        .into_iter()
        .find(|(v, _, _)| v.shard_id == shard_id(1))
        .map(|(v, _, _)| v.starting_sequence_number)
        .unwrap_or_default();
    r.command(
        t,
        consumer(
            "ledger-writer",
            "trades",
            StartPosition::AtSequenceNumber {
                shard_id: shard_id(1),
                sequence_number: child,
            },
            1_000,
        ),
    );
    r.advance(t + 10_000);
}

const CHILDREN_BEFORE_PARENTS: Scenario = Scenario {
    id: "children-before-parents",
    title: "Reading children before parents breaks order",
    seed: 1_007,
    summary: "After a split, a consumer must finish the parent shard before reading its children.",
    goal: "'trades' was split at 0:40 while trades kept coming. Start a consumer that reads every trade of each \
           symbol in order: all of the parent shard first, then its children.",
    steps: &[
        "Open 'trades': shardId-000000000000 is CLOSED, with two children.",
        "Add a consumer starting at TRIM_HORIZON: it starts with the parent and moves to the children when the parent ends.",
        "A consumer started on a child shard (AT_SEQUENCE_NUMBER on a child) would read newer trades of a symbol before older ones.",
    ],
    hints: &[
        "GetRecords on a closed shard's end returns ChildShards and no NextShardIterator: that is the signal to move on.",
        "The KCL leases a child only when its parents are finished.",
    ],
    config: default_config,
    setup: split_setup,
    checks: &[check(
        "in-order",
        "Parent read to its end before the children",
        split_in_order,
    )],
    explanation: split_explanation,
    solution: split_solution,
    wrong: split_wrong,
    wrong_check: "in-order",
    ui: UiSupport::Full,
};

fn split_explanation() -> String {
    "Sequence numbers increase within a shard, not across shards. After SplitShard the parent is CLOSED but keeps \
     its records for the retention period; a key's older records are in the parent, its newer ones in a child. \
     Order per key holds only if a consumer reads the parent to its end (GetRecords returns ChildShards and a null \
     NextShardIterator) before it reads the children."
        .to_string()
}

// ----- 8. Shared versus enhanced fan-out -----

fn fanout_setup() -> Vec<In> {
    let mut v = vec![
        create_stream(0, "telemetry", 1),
        producer(
            10_000,
            "devices",
            "telemetry",
            200,
            spec(
                "device-",
                KeyDistribution::Uniform { keys: 50 },
                r#"{"reading":${n}}"#,
                1_000,
            ),
        ),
    ];
    for name in ["alerts", "archive", "dashboard"] {
        v.push(In::command(
            10_000,
            consumer(name, "telemetry", StartPosition::Latest, 200),
        ));
    }
    v.push(In::Advance { to_ms: 75_000 });
    v
}

fn fanout_shared_throttled(w: &World) -> Outcome {
    let n = stream_total(w, "telemetry", Metric::ReadProvisionedThroughputExceeded);
    pass_if(
        n > 0,
        format!("{n} GetRecords calls were throttled (ReadProvisionedThroughputExceeded)"),
        "No read throttling yet.",
    )
}

fn fanout_efo(w: &World) -> Outcome {
    let n = stream_total(w, "telemetry", Metric::SubscribeToShardEventRecords);
    pass_if(
        n > 0,
        format!("Enhanced fan-out pushed {n} records"),
        "No records pushed by enhanced fan-out yet: register a consumer and SubscribeToShard.",
    )
}

fn fanout_clean(w: &World) -> Outcome {
    let Some(minute) = last_full_minute(w) else {
        return Outcome::pending("Waiting for a full minute.");
    };
    let throttled = stream_minute(
        w,
        "telemetry",
        minute,
        Metric::ReadProvisionedThroughputExceeded,
    );
    let pushed = stream_minute(w, "telemetry", minute, Metric::SubscribeToShardEventRecords);
    let polled = stream_minute(w, "telemetry", minute, Metric::GetRecordsRecords);
    pass_if(
        throttled == 0 && pushed > 0 && polled > 0,
        format!("Last minute: {polled} records polled, {pushed} pushed, no read throttled"),
        format!("Last minute: {throttled} reads throttled, {polled} polled, {pushed} pushed"),
    )
}

fn fanout_solution(r: &mut Runner) {
    let t = r.now_ms();
    let arn = stream_arn("telemetry");
    let (_, reg) = r.kinesis(
        t,
        "RegisterStreamConsumer",
        json!({"StreamARN": arn, "ConsumerName": "alerts-efo"}),
    );
    let consumer_arn = reg["Consumer"]["ConsumerARN"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    r.command(
        t,
        Command::StopConsumer {
            name: "alerts".into(),
        },
    );
    r.command(
        t,
        Command::StopConsumer {
            name: "archive".into(),
        },
    );
    r.advance(t + 6_000);
    let subscription = r
        .input(In::kinesis(t + 6_000, "SubscribeToShard", json!({"ConsumerARN": consumer_arn, "ShardId": shard_id(0), "StartingPosition": {"Type": "LATEST"}})))
        .and_then(|resp| resp.subscription);
    // Read the event stream once a second for two minutes.
    for s in 1..=120 {
        let at = t + 6_000 + s * 1_000;
        match subscription {
            Some(subscription) => r.input(In::SubscriptionPoll {
                now_ms: at,
                subscription,
            }),
            None => r.input(In::Advance { to_ms: at }),
        };
    }
}

fn fanout_wrong(r: &mut Runner) {
    command_then_wait(
        r,
        consumer("more", "telemetry", StartPosition::Latest, 200),
        2 * MINUTE_MS,
    );
}

const FAN_OUT: Scenario = Scenario {
    id: "fan-out",
    title: "Shared versus enhanced fan-out throughput",
    seed: 1_008,
    summary: "Three polling consumers share one shard's read limit; enhanced fan-out gets its own pipe.",
    goal: "Three polling consumers each call GetRecords 5 times a second on one shard and get throttled. Move \
           readers to enhanced fan-out so that a full minute passes with records both polled and pushed and no \
           read throttled.",
    steps: &[
        "Open 'telemetry': read throttling shows in the consumers card.",
        "Register a stream consumer (RegisterStreamConsumer) and SubscribeToShard with it (SDK playground).",
        "Stop two of the polling consumers; keep one.",
        "Play a minute: the remaining poller is no longer throttled and the subscription receives every record.",
    ],
    hints: &[
        "Shared throughput: 5 GetRecords calls per second per shard, for all consumers together.",
        "A registered consumer is CREATING for 5 s before SubscribeToShard works.",
    ],
    config: default_config,
    setup: fanout_setup,
    checks: &[
        check(
            "shared-throttled",
            "Polling consumers are throttled",
            fanout_shared_throttled,
        ),
        check("efo", "Enhanced fan-out pushes records", fanout_efo),
        check(
            "clean-minute",
            "A minute of polling and pushing, no throttling",
            fanout_clean,
        ),
    ],
    explanation: fanout_explanation,
    solution: fanout_solution,
    wrong: fanout_wrong,
    wrong_check: "clean-minute",
    ui: UiSupport::Full,
};

fn fanout_explanation() -> String {
    format!(
        "Polling consumers share each shard's read limits: {SHARD_READ_CALLS_PER_S_MAX} GetRecords calls/s and \
         {SHARD_READ_BYTES_PER_S_MAX} bytes/s (SHARD_READ_CALLS_PER_S_MAX, SHARD_READ_BYTES_PER_S_MAX). Three \
         consumers polling every 200 ms make 15 calls/s, so most are refused. An enhanced fan-out consumer gets its \
         own {FANOUT_BYTES_PER_S_MAX} bytes/s per shard (FANOUT_BYTES_PER_S_MAX), pushed over SubscribeToShard \
         with about 70 ms propagation, at a price per consumer-shard hour and per GB."
    )
}

// ----- 9. On-demand scaling after a traffic jump -----

fn on_demand_config(seed: u64) -> WorldConfig {
    let mut c = WorldConfig::with_seed(seed);
    c.streams.on_demand_scale_delay_ms = MINUTE_MS;
    c
}

fn on_demand_setup() -> Vec<In> {
    vec![
        In::kinesis(
            0,
            "CreateStream",
            json!({"StreamName": "ingest", "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}),
        ),
        producer(
            10_000,
            "baseline",
            "ingest",
            20,
            spec(
                "device-",
                KeyDistribution::Uniform { keys: 100 },
                "${n}",
                1_000,
            ),
        ),
        In::Advance { to_ms: 70_000 },
    ]
}

fn on_demand_hot(w: &World) -> Outcome {
    let threshold = ON_DEMAND_HOT_SHARD_BYTES_PER_S * 60;
    for (id, _) in shard_ids(w, "ingest") {
        let Ok(metrics) = w.streams().shard_metrics("ingest", &id) else {
            continue;
        };
        if let Some((t, _, v)) = metrics
            .iter()
            .find(|(_, k, v)| *k == Metric::IncomingBytes && *v > threshold)
        {
            return Outcome::pass(format!(
                "{id} took {} bytes/s on average in minute {}",
                v / 60,
                t.as_millis() / MINUTE_MS
            ));
        }
    }
    Outcome::pending("No shard has averaged over 500 KB/s for a minute yet.")
}

fn on_demand_scaled(w: &World) -> Outcome {
    let open = shard_ids(w, "ingest").iter().filter(|(_, o)| *o).count() as u64;
    pass_if(
        open > u64::from(ON_DEMAND_INITIAL_SHARDS),
        format!("The stream scaled itself to {open} open shards"),
        format!("{open} open shards"),
    )
}

/// The campaign producer: `rate` records/s of 1,000 bytes, all under one key.
fn launch(rate: u32) -> Command {
    start_producer(
        "launch",
        "ingest",
        rate,
        spec(
            "campaign-",
            KeyDistribution::Uniform { keys: 1 },
            "${n}",
            1_000,
        ),
    )
}

fn on_demand_solution(r: &mut Runner) {
    command_then_wait(r, launch(550), 5 * MINUTE_MS);
    command_then_wait(r, stop("launch"), 1_000);
}

fn on_demand_wrong(r: &mut Runner) {
    command_then_wait(r, launch(200), 2 * MINUTE_MS + 30_000);
}

const ON_DEMAND: Scenario = Scenario {
    id: "on-demand-scaling",
    title: "On-demand scaling after a traffic jump",
    seed: 1_009,
    summary: "An on-demand stream splits a shard that runs hot.",
    goal: "'ingest' is an on-demand stream with a light baseline. Launch a campaign producer that writes over \
           500 KB/s to one shard and watch the stream add shards by itself.",
    steps: &[
        "Open 'ingest' (ON_DEMAND, 4 shards).",
        "Add a producer: 550 records/s, 1,000-byte records, one key (a campaign id).",
        "Play: after a minute over 500 KB/s that shard is scheduled for a split, which happens a minute later here (15 minutes on AWS).",
    ],
    hints: &[
        "This scenario shortens the scale delay to 1 simulated minute so you do not wait 15.",
        "One key still stays on one shard: on-demand cannot go past 1 MiB/s for a single key.",
    ],
    config: on_demand_config,
    setup: on_demand_setup,
    checks: &[
        check("hot-shard", "A shard ran hot for a minute", on_demand_hot),
        check("scaled", "The stream added shards", on_demand_scaled),
    ],
    explanation: on_demand_explanation,
    solution: on_demand_solution,
    wrong: on_demand_wrong,
    wrong_check: "scaled",
    ui: UiSupport::Full,
};

fn on_demand_explanation() -> String {
    format!(
        "An on-demand stream starts with {ON_DEMAND_INITIAL_SHARDS} shards (ON_DEMAND_INITIAL_SHARDS, 4 MiB/s). \
         After every minute the service looks at each shard: one averaging over {ON_DEMAND_HOT_SHARD_BYTES_PER_S} \
         bytes/s (ON_DEMAND_HOT_SHARD_BYTES_PER_S) is split, {ON_DEMAND_SCALE_DELAY_MS} ms later on AWS \
         (ON_DEMAND_SCALE_DELAY_MS; shortened here). Capacity also follows twice the previous peak, so traffic \
         that more than doubles within minutes is throttled until the new shards open."
    )
}

// ----- 10. Firehose size versus interval buffering -----

fn s3_dest(size_mb: u32, interval_s: u32) -> serde_json::Value {
    json!({
        "RoleARN": "arn:aws:iam::000000000000:role/firehose",
        "BucketARN": "arn:aws:s3:::lake",
        "BufferingHints": {"SizeInMBs": size_mb, "IntervalInSeconds": interval_s},
    })
}

fn buffering_setup() -> Vec<In> {
    vec![
        In::firehose(
            0,
            "CreateDeliveryStream",
            json!({"DeliveryStreamName": "by-size", "ExtendedS3DestinationConfiguration": s3_dest(1, 900)}),
        ),
        In::firehose(
            0,
            "CreateDeliveryStream",
            json!({"DeliveryStreamName": "by-interval", "ExtendedS3DestinationConfiguration": s3_dest(128, 60)}),
        ),
        In::Advance { to_ms: 10_000 },
    ]
}

fn flushed(w: &World, stream: &str, reason: FlushReason) -> Option<(u64, u64)> {
    w.firehose_events().find_map(|e| match &e.kind {
        FirehoseEventKind::Flushed {
            reason: r, bytes, ..
        } if e.delivery_stream == stream && *r == reason => Some((e.at.as_millis(), *bytes)),
        _ => None,
    })
}

/// Passed once delivery stream `stream` flushed for `reason` (`because` says why), pending (`pending`) until then.
fn flush_check(
    w: &World,
    stream: &str,
    reason: FlushReason,
    because: &str,
    pending: &str,
) -> Outcome {
    pass_found(
        flushed(w, stream, reason),
        |(at, bytes)| {
            format!(
                "{stream} flushed {bytes} bytes at {} s because {because}",
                at / 1_000
            )
        },
        pending,
    )
}

fn buffering_size(w: &World) -> Outcome {
    flush_check(
        w,
        "by-size",
        FlushReason::BufferSize,
        "its 1 MiB buffer filled",
        "by-size has not filled its 1 MiB buffer yet.",
    )
}

fn buffering_interval(w: &World) -> Outcome {
    flush_check(
        w,
        "by-interval",
        FlushReason::BufferInterval,
        "60 s passed",
        "by-interval has not flushed on its interval yet.",
    )
}

fn batch(stream: &str, n: u32, bytes: u32) -> serde_json::Value {
    let body = "x".repeat(bytes as usize);
    let records: Vec<serde_json::Value> = (0..n).map(|_| json!({"Data": b64(&body)})).collect();
    json!({"DeliveryStreamName": stream, "Records": records})
}

fn buffering_solution(r: &mut Runner) {
    let t = r.now_ms();
    r.firehose(t, "PutRecordBatch", batch("by-size", 400, 3_000));
    r.firehose(t + 100, "PutRecordBatch", batch("by-interval", 10, 100));
    r.advance(t + 70_000);
}

fn buffering_wrong(r: &mut Runner) {
    let t = r.now_ms();
    r.firehose(t, "PutRecordBatch", batch("by-size", 10, 100));
    r.advance(t + 70_000);
}

const FIREHOSE_BUFFERING: Scenario = Scenario {
    id: "firehose-buffering",
    title: "Firehose: size versus interval buffering",
    seed: 1_010,
    summary: "Whichever buffering hint is reached first flushes the buffer to S3.",
    goal: "Two delivery streams write to the bucket 'lake': 'by-size' (1 MiB or 900 s) and 'by-interval' (128 MiB \
           or 60 s). Make 'by-size' flush because its buffer filled, and 'by-interval' because its interval passed.",
    steps: &[
        "Under Controls, send 400 records padded to 3,000 bytes to delivery stream by-size (more than 1 MiB): it \
         flushes at once.",
        "Send a few small records to delivery stream by-interval.",
        "Play on 60 s (+60 s) and look at the flushes on each delivery stream's page and the objects in bucket lake.",
    ],
    hints: &[
        "PutRecordBatch takes at most 500 records and 4 MiB per call.",
        "A small amount into 'by-size' would wait the full 900 s.",
    ],
    config: default_config,
    setup: buffering_setup,
    checks: &[
        check("size-flush", "by-size flushed on size", buffering_size),
        check(
            "interval-flush",
            "by-interval flushed on its interval",
            buffering_interval,
        ),
    ],
    explanation: buffering_explanation,
    solution: buffering_solution,
    wrong: buffering_wrong,
    wrong_check: "size-flush",
    ui: UiSupport::Full,
};

fn buffering_explanation() -> String {
    "Firehose buffers incoming records per delivery stream and flushes when either BufferingHints limit is reached \
     first: SizeInMBs (1..128, default 5) or IntervalInSeconds (0..900, default 300; at least 60 in the classic \
     service). That is why Firehose is near real time, not real time: a quiet stream waits out its interval, a busy \
     one flushes on size."
        .to_string()
}

// ----- 11. Transform failures land in the error prefix -----

/// The transform function 'clean' the scenario installs: records whose text contains CORRUPT come back
/// ProcessingFailed, the others Ok and unchanged. The browser runs it in its sandbox; the golden trace completes
/// the same invocations with [`TransformFunction::FailContaining`], which answers the same.
pub const TRANSFORM_CLEAN_JS: &str = "async (event) => ({ records: event.records.map((r) => ({ recordId: r.recordId, \
     result: atob(r.data).includes('CORRUPT') ? 'ProcessingFailed' : 'Ok', data: r.data })) })";
/// The time limit of 'clean', in real ms (Lambda's default is 3 s).
pub const TRANSFORM_CLEAN_TIMEOUT_MS: u32 = 3_000;

fn transform_setup() -> Vec<In> {
    let mut d = s3_dest(1, 60);
    d["ProcessingConfiguration"] = json!({"Enabled": true, "Processors": [{"Type": "Lambda", "Parameters": [
        {"ParameterName": "LambdaArn", "ParameterValue": "arn:aws:lambda:us-east-1:000000000000:function:clean"},
        {"ParameterName": "NumberOfRetries", "ParameterValue": "0"}]}]});
    vec![
        In::command(
            0,
            Command::SetFunctionCode {
                name: "clean".into(),
                code: TRANSFORM_CLEAN_JS.into(),
                timeout_ms: TRANSFORM_CLEAN_TIMEOUT_MS,
            },
        ),
        In::firehose(
            0,
            "CreateDeliveryStream",
            json!({"DeliveryStreamName": "clean", "ExtendedS3DestinationConfiguration": d}),
        ),
        In::Advance { to_ms: 10_000 },
    ]
}

fn lake_keys(w: &World) -> Vec<String> {
    w.firehose_service()
        .s3()
        .bucket("lake")
        .map(|b| b.objects.keys().cloned().collect())
        .unwrap_or_default()
}

fn transform_error_prefix(w: &World) -> Outcome {
    pass_found(
        lake_keys(w)
            .into_iter()
            .find(|k| k.starts_with("processing-failed/")),
        |k| format!("Failed records landed in {k}"),
        "No object under processing-failed/ yet.",
    )
}

fn transform_good(w: &World) -> Outcome {
    pass_found(
        lake_keys(w)
            .into_iter()
            .find(|k| !k.starts_with("processing-failed/")),
        |k| format!("Good records were delivered to {k}"),
        "No transformed records delivered yet.",
    )
}

fn transform_put(r: &mut Runner, with_bad: bool) {
    let t = r.now_ms();
    let records: Vec<serde_json::Value> = (0..10)
        .map(|i| {
            let text = if with_bad && i % 3 == 0 {
                format!("{{\"row\":{i},\"CORRUPT\":true}}\n")
            } else {
                format!("{{\"row\":{i}}}\n")
            };
            json!({"Data": b64(&text)})
        })
        .collect();
    r.firehose(
        t,
        "PutRecordBatch",
        json!({"DeliveryStreamName": "clean", "Records": records}),
    );
    r.advance(t + 65_000);
    let t2 = r.now_ms();
    r.transform(
        t2,
        TransformFunction::FailContaining {
            text: "CORRUPT".into(),
        },
    );
    r.advance(t2 + 1_000);
}

fn transform_solution(r: &mut Runner) {
    transform_put(r, true);
}

fn transform_wrong(r: &mut Runner) {
    transform_put(r, false);
}

const TRANSFORM_ERRORS: Scenario = Scenario {
    id: "transform-errors",
    title: "Transform failures land in the error prefix",
    seed: 1_011,
    summary: "Records a Lambda transform marks ProcessingFailed go to processing-failed/ in S3.",
    goal: "The delivery stream 'clean' runs every batch through a transform function that fails records containing \
           CORRUPT. Send a batch with some corrupt rows and find them under the error prefix, the others under the \
           normal prefix.",
    steps: &[
        "Under Controls, send a few good records to delivery stream clean (data such as {\"row\":{i}}).",
        "Send a few records whose data contains CORRUPT (e.g. {\"row\":{i},\"CORRUPT\":true}).",
        "Play on past the 60 s buffer interval (+60 s): Firehose invokes the function 'clean', which answers Ok or \
         ProcessingFailed per record; look at the bucket lake.",
    ],
    hints: &[
        "Each failed record becomes a JSON document with attemptsMade, errorCode, errorMessage and rawData.",
        "Dropped is not a failure: a Dropped record simply disappears.",
    ],
    config: default_config,
    setup: transform_setup,
    checks: &[
        check(
            "error-prefix",
            "Failed records under processing-failed/",
            transform_error_prefix,
        ),
        check("delivered", "The other records delivered", transform_good),
    ],
    explanation: transform_explanation,
    solution: transform_solution,
    wrong: transform_wrong,
    wrong_check: "error-prefix",
    ui: UiSupport::Full,
};

fn transform_explanation() -> String {
    "A Firehose transform gets {invocationId, records:[{recordId, data}]} and must return every recordId once, \
     with result Ok, Dropped or ProcessingFailed. ProcessingFailed records (and whole batches after the function \
     fails NumberOfRetries+1 times, default 3 retries) are written to the error output prefix processing-failed/ \
     with attemptsMade, errorCode, errorMessage and the raw data, so nothing is lost silently."
        .to_string()
}

// ----- 12. HTTP endpoint retries and duplicates (through the World's HTTP endpoint destination) -----

/// The endpoint the scenario's delivery streams POST to: nothing listens there. Its host is reserved for examples,
/// so the browser never fetches it and the learner answers its requests on the scenario page
/// ([`crate::scenarios::played_endpoint`]); the golden trace answers them with a script.
pub const ENDPOINT_URL: &str = "https://collector.example.com/in";
/// RetryOptions.DurationInSeconds of the delivery stream 'to-http-short', in seconds.
pub const ENDPOINT_SHORT_RETRY_SECONDS: u32 = 60;

fn http_dest(retry_s: u32) -> serde_json::Value {
    json!({
        "EndpointConfiguration": {"Url": ENDPOINT_URL, "Name": "collector"},
        "RequestConfiguration": {"ContentEncoding": "NONE"},
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
        "RetryOptions": {"DurationInSeconds": retry_s},
        "S3BackupMode": "FailedDataOnly",
        "S3Configuration": {"RoleARN": "arn:aws:iam::000000000000:role/firehose", "BucketARN": "arn:aws:s3:::backup"},
    })
}

fn endpoint_setup() -> Vec<In> {
    vec![
        In::firehose(
            0,
            "CreateDeliveryStream",
            json!({"DeliveryStreamName": "to-http",
                   "HttpEndpointDestinationConfiguration": http_dest(RETRY_DURATION_SECONDS_DEFAULT)}),
        ),
        In::firehose(
            0,
            "CreateDeliveryStream",
            json!({"DeliveryStreamName": "to-http-short",
                   "HttpEndpointDestinationConfiguration": http_dest(ENDPOINT_SHORT_RETRY_SECONDS)}),
        ),
        In::Advance { to_ms: 10_000 },
    ]
}

/// Request ids delivered, with their attempts, and the codes of their failed attempts.
fn endpoint_deliveries(w: &World) -> Vec<(String, u32, Vec<String>)> {
    let mut retries: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    for e in w.firehose_events() {
        match &e.kind {
            FirehoseEventKind::HttpRetry {
                request_id, code, ..
            } => retries.push((request_id.clone(), code.clone())),
            FirehoseEventKind::DeliveredToHttpEndpoint {
                request_id,
                attempts,
                ..
            } => out.push((
                request_id.clone(),
                *attempts,
                retries
                    .iter()
                    .filter(|(id, _)| id == request_id)
                    .map(|(_, c)| c.clone())
                    .collect(),
            )),
            _ => {}
        }
    }
    out
}

fn endpoint_retried(w: &World) -> Outcome {
    pass_found(
        endpoint_deliveries(w)
            .into_iter()
            .find(|(_, attempts, _)| *attempts > 1),
        |(id, attempts, _)| {
            format!("Request {id} was delivered after {attempts} attempts with the same request id")
        },
        "No batch has been delivered after a retry yet (answer 503, then 200).",
    )
}

fn endpoint_duplicate(w: &World) -> Outcome {
    // An attempt that failed other than by a refused connection reached the endpoint: with the final 200, the
    // endpoint got the same batch at least twice.
    pass_found(
        endpoint_deliveries(w)
            .into_iter()
            .find(|(_, _, codes)| codes.iter().any(|c| c != CODE_CONNECTION_FAILED)),
        |(id, _, codes)| {
            format!(
                "The endpoint received request {id} {} times (failed attempts: {})",
                codes.len() + 1,
                codes.join(", ")
            )
        },
        "The endpoint has not received any delivered batch twice yet.",
    )
}

fn endpoint_gave_up(w: &World) -> Outcome {
    match w.firehose_events().find_map(|e| match &e.kind {
        FirehoseEventKind::ErrorOutput { key, records, .. }
            if key.starts_with("http-endpoint-failed/") =>
        {
            Some((key.clone(), *records))
        }
        _ => None,
    }) {
        Some((key, records)) => Outcome::pass(format!(
            "After running out of retry time, {records} records went to {key}"
        )),
        None => Outcome::pending("No delivery has run out of retry time yet."),
    }
}

fn endpoint_put(r: &mut Runner, stream: &str) {
    let t = r.now_ms();
    let records: Vec<serde_json::Value> = (0..3)
        .map(|i| json!({"Data": b64(&format!("event-{i}"))}))
        .collect();
    r.firehose(
        t,
        "PutRecordBatch",
        json!({"DeliveryStreamName": stream, "Records": records}),
    );
}

/// Answers every request as it comes due with `answers` in turn (the last one repeats) until none is pending.
fn endpoint_answer(r: &mut Runner, answers: &[&str]) {
    for i in 0..100usize {
        let due = r.world.firehose_service().next_http_due();
        let Some(due) = due else { return };
        let at = due.as_millis().max(r.now_ms());
        let answer = answers.get(i).or(answers.last()).copied().unwrap_or("200");
        r.http_answer(at, answer);
    }
}

fn endpoint_solution(r: &mut Runner) {
    endpoint_put(r, "to-http");
    endpoint_answer(r, &["503", "200"]);
    endpoint_put(r, "to-http");
    endpoint_answer(r, &["timeout", "200"]);
    endpoint_put(r, "to-http-short");
    endpoint_answer(r, &["500"]);
    let t = r.now_ms();
    r.advance(t + 1_000);
}

fn endpoint_wrong(r: &mut Runner) {
    endpoint_put(r, "to-http");
    endpoint_answer(r, &["refused", "200"]);
    let t = r.now_ms();
    r.advance(t + 1_000);
}

const HTTP_ENDPOINT: Scenario = Scenario {
    id: "http-endpoint-retries",
    title: "HTTP endpoint retries and duplicates",
    seed: 1_012,
    summary: "Firehose retries an HTTP endpoint with the same request id; delivery is at least once.",
    goal: "Two delivery streams POST to an HTTP endpoint you play: 'to-http' (RetryOptions 300 s) and \
           'to-http-short' (60 s). collector.example.com is a reserved example host, so the page never fetches \
           it: each request waits under \"The endpoint you play\" for your answer (200 with its requestId or a \
           wrong one, 500, 503, 413, no answer, refused). Put 3 records at a time. Get a batch delivered after a \
           retry, one the endpoint received twice, and one that gives up into http-endpoint-failed/ in the bucket \
           'backup'.",
    steps: &[
        "Under Controls, send 3 records to delivery stream to-http; answer its request 503, play on (+60 s) until \
         the retry (attempt 2) appears, and answer it 200.",
        "Again, answering No answer (timeout) first (the endpoint got the batch, its answer never came back), then \
         200.",
        "Send 3 records to to-http-short and answer 500 every time, playing on between attempts, until its 60 s of \
         retries run out.",
    ],
    hints: &[
        "Back-off starts at 1 s and doubles, with ±15% jitter, capped at 120 s.",
        "A refused connection never reached the endpoint: retried, but no duplicate.",
    ],
    config: default_config,
    setup: endpoint_setup,
    checks: &[
        check("retried", "Delivered after a retry", endpoint_retried),
        check(
            "duplicate",
            "The endpoint saw the batch twice",
            endpoint_duplicate,
        ),
        check(
            "gave-up",
            "Records in http-endpoint-failed/",
            endpoint_gave_up,
        ),
    ],
    explanation: endpoint_explanation,
    solution: endpoint_solution,
    wrong: endpoint_wrong,
    wrong_check: "duplicate",
    ui: UiSupport::Full,
};

fn endpoint_explanation() -> String {
    format!(
        "Firehose POSTs a batch with X-Amz-Firehose-Request-Id, the same on every retry. Only a 200 whose requestId \
         matches is success; 413 is permanent; anything else (and no answer) is retried with back-off from \
         {BACKOFF_INITIAL_MS} ms doubling up to {BACKOFF_CAP_MS} ms (BACKOFF_INITIAL_MS, BACKOFF_CAP_MS) within \
         RetryOptions.DurationInSeconds (default {RETRY_DURATION_SECONDS_DEFAULT}), then the records go to the S3 \
         error prefix http-endpoint-failed/. A timeout after the endpoint processed the batch makes it arrive twice: \
         delivery is at least once, so endpoints deduplicate on the request id."
    )
}

// ----- 13. Tumbling versus sliding versus stagger windows -----

const WINDOW_SQL_TUMBLING: &str =
    "CREATE OR REPLACE STREAM \"DEST\" (sensor VARCHAR(8), n INTEGER);
CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"DEST\"
  SELECT STREAM sensor, COUNT(*) FROM \"SOURCE_SQL_STREAM_001\"
  GROUP BY sensor, STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '60' SECOND);";
const WINDOW_SQL_SLIDING: &str = "CREATE OR REPLACE STREAM \"DEST\" (sensor VARCHAR(8), n INTEGER);
CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"DEST\"
  SELECT STREAM sensor, COUNT(*) OVER W FROM \"SOURCE_SQL_STREAM_001\"
  WINDOW W AS (PARTITION BY sensor RANGE INTERVAL '1' MINUTE PRECEDING);";
const WINDOW_SQL_STAGGER: &str = "CREATE OR REPLACE STREAM \"DEST\" (sensor VARCHAR(8), n INTEGER);
CREATE OR REPLACE PUMP \"P\" AS INSERT INTO \"DEST\"
  SELECT STREAM sensor, COUNT(*) FROM \"SOURCE_SQL_STREAM_001\"
  WINDOWED BY STAGGER (PARTITION BY sensor RANGE INTERVAL '1' MINUTE);";

/// The three applications the setup creates on stream 'sensors', one per window type: (name, SQL).
pub const WINDOW_APPS: [(&str, &str); 3] = [
    ("tumbling", WINDOW_SQL_TUMBLING),
    ("sliding", WINDOW_SQL_SLIDING),
    ("stagger", WINDOW_SQL_STAGGER),
];

/// The input schema of the window applications: `{"sensor":"a","v":N}`.
fn window_schema() -> InputSchema {
    InputSchema::json(&[
        ("sensor", SqlType::Varchar(8), "$.sensor"),
        ("v", SqlType::Integer, "$.v"),
    ])
}

/// The setup's command creating one window application (the same World command the Analytics page sends).
fn window_app(at: u64, name: &str, sql: &str) -> In {
    In::command(
        at,
        Command::CreateAnalyticsApplication {
            name: name.into(),
            sql: sql.into(),
            input: AnalyticsInput::Stream {
                name: "sensors".into(),
            },
            schema: Some(window_schema()),
            outputs: Vec::new(),
        },
    )
}

/// The rows the World's application `app` has emitted into its in-application stream DEST so far, oldest first:
/// (sensor, count) per row. An error when the application is missing or failed.
pub fn window_counts(w: &World, app: &str) -> Result<Vec<(String, i64)>, String> {
    let Some(application) = w.analytics_apps().get(app) else {
        return Err(format!(
            "The analytics application {app} is gone; restart the scenario to create it again."
        ));
    };
    if let Some(e) = application.error() {
        return Err(format!("The analytics application {app} failed: {e}"));
    }
    let mut rows: Vec<(String, i64)> = application
        .recent_rows("DEST")
        .map(|r| {
            let mut sensor = String::new();
            let mut n = 0;
            for (_, v) in &r.columns {
                match v {
                    Value::Str(s) => sensor = s.clone(),
                    Value::Int(i) => n = *i,
                    _ => {}
                }
            }
            (sensor, n)
        })
        .collect();
    rows.reverse();
    Ok(rows)
}

fn burst_len(w: &World) -> i64 {
    stream_records(w, "sensors")
        .filter(|r| String::from_utf8_lossy(&r.data).contains("\"a\""))
        .count() as i64
}

/// The verdict on application `app`'s rows for sensor a: `verdict` gets the readings of sensor a in the stream
/// and the counts of the rows so far, and returns (passed, pass message, pending message).
fn window_check(
    w: &World,
    app: &str,
    verdict: impl FnOnce(i64, &[i64]) -> (bool, String, String),
) -> Outcome {
    let total = burst_len(w);
    match window_counts(w, app) {
        Ok(rows) => {
            let a: Vec<i64> = rows
                .iter()
                .filter(|(s, _)| s == "a")
                .map(|(_, n)| *n)
                .collect();
            let (done, pass, pending) = verdict(total, &a);
            pass_if(done, pass, pending)
        }
        Err(e) => Outcome::fail(e),
    }
}

fn windows_tumbling(w: &World) -> Outcome {
    window_check(w, "tumbling", |total, a| {
        (
            a.len() >= 2 && (3..=6).contains(&total),
            format!("Tumbling: sensor a's {total} readings were cut into windows of {a:?}"),
            format!(
                "Tumbling windows so far for sensor a: {a:?} (of {total} readings within a minute)"
            ),
        )
    })
}

fn windows_stagger(w: &World) -> Outcome {
    window_check(w, "stagger", |total, a| {
        (
            total >= 3 && a.first() == Some(&total),
            format!("Stagger: one window with all {total} readings of sensor a"),
            format!("Stagger windows so far for sensor a: {a:?}"),
        )
    })
}

fn windows_sliding(w: &World) -> Outcome {
    window_check(w, "sliding", |total, a| {
        (
            total >= 3 && a.len() as i64 == total,
            format!("Sliding: one row per reading, with running counts {a:?}"),
            format!("Sliding rows for sensor a: {a:?}"),
        )
    })
}

fn reading(at: u64, v: u32) -> In {
    In::kinesis(
        at,
        "PutRecord",
        json!({"StreamName": "sensors", "PartitionKey": "a", "Data": b64(&format!("{{\"sensor\":\"a\",\"v\":{v}}}"))}),
    )
}

fn windows_solution(r: &mut Runner) {
    r.input(reading(110_000, 1));
    r.input(reading(115_000, 2));
    r.input(reading(125_000, 3));
    r.advance(260_000);
}

fn windows_wrong(r: &mut Runner) {
    r.input(reading(121_000, 1));
    r.input(reading(125_000, 2));
    r.input(reading(130_000, 3));
    r.advance(260_000);
}

const WINDOWS: Scenario = Scenario {
    id: "windows",
    title: "Tumbling versus sliding versus stagger windows",
    seed: 1_013,
    summary: "The same three readings, three analytics applications, three kinds of window.",
    goal: "Write three readings of sensor a ({\"sensor\":\"a\",\"v\":N}) into 'sensors' within 30 seconds, straddling \
           a minute boundary (e.g. at 1:50, 1:55 and 2:05). Then compare: a 1-minute tumbling window cuts them \
           apart, a stagger window keeps them together, a sliding window answers once per reading.",
    steps: &[
        "Under Controls, play to 1:50 and send one record {\"sensor\":\"a\",\"v\":1} to data stream sensors; \
         again at 1:55 and 2:05.",
        "Play to 3:10 or later so every window closes.",
        "Open Analytics applications: the setup created tumbling, sliding and stagger, each reading 'sensors' \
         with a 1-minute window. Compare the rows each wrote to DEST; the checks read them.",
    ],
    hints: &[
        "Tumbling windows are aligned to the clock: [1:00, 2:00), [2:00, 3:00).",
        "A stagger window opens at the first row of its key and closes a minute later.",
    ],
    config: default_config,
    setup: || {
        let mut setup = vec![
            create_stream(0, "sensors", 1),
            In::Advance { to_ms: 100_000 },
        ];
        setup.extend(
            WINDOW_APPS
                .iter()
                .map(|(name, sql)| window_app(100_000, name, sql)),
        );
        setup
    },
    checks: &[
        check(
            "tumbling-split",
            "Tumbling cuts the burst in two",
            windows_tumbling,
        ),
        check(
            "stagger-together",
            "Stagger keeps the burst together",
            windows_stagger,
        ),
        check(
            "sliding-per-row",
            "Sliding answers per reading",
            windows_sliding,
        ),
    ],
    explanation: windows_explanation,
    solution: windows_solution,
    wrong: windows_wrong,
    wrong_check: "tumbling-split",
    ui: UiSupport::Full,
};

fn windows_explanation() -> String {
    "Kinesis Data Analytics SQL: a tumbling window (GROUP BY STEP(ROWTIME BY INTERVAL '60' SECOND)) is aligned to \
     the clock and emits once per window, so a burst across a minute boundary is split. A stagger window \
     (WINDOWED BY STAGGER ... RANGE INTERVAL '1' MINUTE) opens when a key's first row arrives, so the burst stays \
     together. A sliding window (OVER W RANGE INTERVAL '1' MINUTE PRECEDING) emits a row for every input row."
        .to_string()
}

#[allow(dead_code)]
fn unused(_: &World) -> Outcome {
    Outcome::pending("")
}
