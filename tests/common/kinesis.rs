//! A driver for Kinesis traffic through the World's JSON API, shared by the simulation, determinism and browser
//! tests: producers put random records, consumers poll every shard, and what was acknowledged and read is kept so
//! invariants can be checked after every step.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kinesim::sim::{SimRng, SimTime};
use kinesim::{World, WorldConfig};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Name of the stream the driver creates.
pub const STREAM: &str = "sim";

/// An acknowledged record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acked {
    pub shard: String,
    pub partition_key: String,
    pub data: Vec<u8>,
}

/// Drives one run.
pub struct Driver {
    pub world: World,
    pub rng: SimRng,
    pub now_ms: u64,
    pub shard_ids: Vec<String>,
    /// Sequence number -> record, for every record a put acknowledged.
    pub acked: BTreeMap<String, Acked>,
    /// Per shard: sequence numbers read, in read order.
    pub read: BTreeMap<String, Vec<String>>,
    iterators: BTreeMap<String, String>,
    /// Closed shards read to their end.
    pub finished: BTreeSet<String>,
    /// Reshards accepted.
    pub reshards: u64,
    pub throttled_puts: u64,
    pub throttled_reads: u64,
    /// Puts refused because the session's bound on kept record bytes was reached.
    pub refused_puts: u64,
}

/// Whether a put's error is the simulator's refusal at its bound on kept record bytes.
fn is_bound_refusal(error_type: &Value, message: &Value) -> bool {
    error_type == "InternalFailure"
        && message
            .as_str()
            .is_some_and(|m| m.contains("kinesim keeps at most"))
}

pub fn call(world: &mut World, now_ms: u64, operation: &str, body: Value) -> (u16, Value) {
    let response = world.kinesis(SimTime::from_millis(now_ms), operation, &body.to_string());
    let value = if response.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&response.body).expect("responses are JSON")
    };
    (response.status, value)
}

impl Driver {
    /// A world with one ACTIVE stream of `shards` shards.
    pub fn new(seed: u64, shards: u32) -> Self {
        Self::with_config(WorldConfig::with_seed(seed), shards)
    }

    /// A world of `config` with one ACTIVE stream of `shards` shards.
    pub fn with_config(config: WorldConfig, shards: u32) -> Self {
        let seed = config.seed;
        let mut world = World::new(config);
        let (status, body) = call(
            &mut world,
            0,
            "CreateStream",
            json!({"StreamName": STREAM, "ShardCount": shards}),
        );
        assert_eq!(status, 200, "{body}");
        let now_ms = 10_000;
        let (status, body) = call(
            &mut world,
            now_ms,
            "ListShards",
            json!({"StreamName": STREAM}),
        );
        assert_eq!(status, 200, "{body}");
        let shard_ids = body["Shards"]
            .as_array()
            .expect("shards")
            .iter()
            .map(|s| s["ShardId"].as_str().expect("id").to_string())
            .collect();
        Driver {
            world,
            rng: SimRng::new(seed).fork("driver"),
            now_ms,
            shard_ids,
            acked: BTreeMap::new(),
            read: BTreeMap::new(),
            iterators: BTreeMap::new(),
            throttled_puts: 0,
            throttled_reads: 0,
            refused_puts: 0,
            finished: BTreeSet::new(),
            reshards: 0,
        }
    }

    fn record(&mut self, size_max: u64) -> (String, Vec<u8>) {
        let key = format!("key-{}", self.rng.below(50));
        let len = 1 + self.rng.below(size_max);
        let fill = u8::try_from(self.rng.below(256)).expect("below 256");
        let data = (0..len)
            .map(|i| fill.wrapping_add(u8::try_from(i % 251).expect("small")))
            .collect();
        (key, data)
    }

    fn ack(&mut self, entry: &Value, key: String, data: Vec<u8>) {
        let seq = entry["SequenceNumber"].as_str().expect("seq").to_string();
        let shard = entry["ShardId"].as_str().expect("shard").to_string();
        let previous = self.acked.insert(
            seq.clone(),
            Acked {
                shard,
                partition_key: key,
                data,
            },
        );
        assert!(
            previous.is_none(),
            "sequence number {seq} acknowledged twice"
        );
    }

    /// One PutRecord.
    pub fn put_one(&mut self, size_max: u64) {
        let (key, data) = self.record(size_max);
        let (status, body) = call(
            &mut self.world,
            self.now_ms,
            "PutRecord",
            json!({"StreamName": STREAM, "PartitionKey": key, "Data": STANDARD.encode(&data)}),
        );
        match status {
            200 => self.ack(&body, key, data),
            500 if is_bound_refusal(&body["__type"], &body["message"]) => self.refused_puts += 1,
            _ => {
                assert_eq!(
                    body["__type"], "ProvisionedThroughputExceededException",
                    "{body}"
                );
                self.throttled_puts += 1;
            }
        }
    }

    /// One PutRecords of `count` entries.
    pub fn put_many(&mut self, count: u64, size_max: u64) {
        let records: Vec<(String, Vec<u8>)> = (0..count).map(|_| self.record(size_max)).collect();
        let entries: Vec<Value> = records
            .iter()
            .map(|(k, d)| json!({"PartitionKey": k, "Data": STANDARD.encode(d)}))
            .collect();
        let (status, body) = call(
            &mut self.world,
            self.now_ms,
            "PutRecords",
            json!({"StreamName": STREAM, "Records": entries}),
        );
        assert_eq!(status, 200, "{body}");
        let results = body["Records"].as_array().expect("records").clone();
        assert_eq!(
            results.len(),
            records.len(),
            "one result per entry, in order"
        );
        let mut failed = 0;
        for (entry, (key, data)) in results.iter().zip(records) {
            if entry.get("ErrorCode").is_some() {
                failed += 1;
                if is_bound_refusal(&entry["ErrorCode"], &entry["ErrorMessage"]) {
                    self.refused_puts += 1;
                } else {
                    assert_eq!(
                        entry["ErrorCode"], "ProvisionedThroughputExceededException",
                        "{entry}"
                    );
                    self.throttled_puts += 1;
                }
            } else {
                self.ack(entry, key, data);
            }
        }
        assert_eq!(body["FailedRecordCount"], failed);
    }

    /// A fresh iterator for `shard`: after `last` when given (as a consumer that checkpoints resumes), else at
    /// the trim horizon.
    fn new_iterator(&mut self, shard: &str, last: Option<String>) -> String {
        let request = match last {
            Some(last) => json!({"StreamName": STREAM, "ShardId": shard,
                                 "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": last}),
            None => {
                json!({"StreamName": STREAM, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"})
            }
        };
        let (status, body) = call(&mut self.world, self.now_ms, "GetShardIterator", request);
        assert_eq!(status, 200, "{body}");
        body["ShardIterator"]
            .as_str()
            .expect("iterator")
            .to_string()
    }

    /// One GetRecords on a shard (getting or renewing its iterator as needed). Returns records read.
    pub fn poll(&mut self, shard_index: usize) -> usize {
        let shard = self.shard_ids[shard_index].clone();
        if self.finished.contains(&shard) {
            return 0;
        }
        if !self.iterators.contains_key(&shard) {
            let iterator = self.new_iterator(&shard, None);
            self.iterators.insert(shard.clone(), iterator);
        }
        let iterator = self.iterators[&shard].clone();
        let (status, body) = call(
            &mut self.world,
            self.now_ms,
            "GetRecords",
            json!({"ShardIterator": iterator, "Limit": 1000}),
        );
        match (status, body["__type"].as_str()) {
            (200, _) => {}
            (_, Some("ProvisionedThroughputExceededException")) => {
                self.throttled_reads += 1;
                return 0;
            }
            (_, Some("ExpiredIteratorException")) => {
                let last = self.read.get(&shard).and_then(|r| r.last()).cloned();
                let iterator = self.new_iterator(&shard, last);
                self.iterators.insert(shard, iterator);
                return 0;
            }
            _ => panic!("GetRecords failed: {status} {body}"),
        }
        let records = body["Records"].as_array().expect("records");
        let log = self.read.entry(shard.clone()).or_default();
        for r in records {
            let seq = r["SequenceNumber"].as_str().expect("seq").to_string();
            let acked = self
                .acked
                .get(&seq)
                .unwrap_or_else(|| panic!("read {seq}, which no put acknowledged"));
            assert_eq!(acked.shard, shard, "record {seq} read from another shard");
            assert_eq!(
                r["PartitionKey"].as_str(),
                Some(acked.partition_key.as_str())
            );
            assert_eq!(
                STANDARD
                    .decode(r["Data"].as_str().expect("data"))
                    .expect("base64"),
                acked.data
            );
            log.push(seq);
        }
        match body["NextShardIterator"].as_str() {
            Some(next) => {
                self.iterators.insert(shard, next.to_string());
            }
            None => {
                // The end of a closed shard: AWS names the children to read next.
                assert!(
                    body["ChildShards"]
                        .as_array()
                        .is_some_and(|c| !c.is_empty()),
                    "{body}"
                );
                self.iterators.remove(&shard);
                self.finished.insert(shard);
            }
        }
        records.len()
    }

    /// Moves time forward.
    pub fn wait(&mut self, ms: u64) {
        self.now_ms += ms;
    }

    /// One random step: time passes, then a put, a batch or a poll.
    pub fn step(&mut self) {
        let gap_ms = self.rng.below(120);
        self.wait(gap_ms);
        match self.rng.below(10) {
            0..=3 => self.put_one(4_000),
            4 | 5 => {
                let count = 1 + self.rng.below(60);
                let size = if self.rng.chance(1, 5) { 25_000 } else { 2_000 };
                self.put_many(count, size);
            }
            _ => {
                let shard =
                    usize::try_from(self.rng.below(self.shard_ids.len() as u64)).expect("index");
                self.poll(shard);
            }
        }
    }

    /// Re-reads the shard list (after reshards).
    pub fn refresh_shards(&mut self) {
        let (status, body) = call(
            &mut self.world,
            self.now_ms,
            "ListShards",
            json!({"StreamName": STREAM}),
        );
        assert_eq!(status, 200, "{body}");
        self.shard_ids = body["Shards"]
            .as_array()
            .expect("shards")
            .iter()
            .map(|s| s["ShardId"].as_str().expect("id").to_string())
            .collect();
    }

    /// One random step that may also reshard: split a shard at the middle of its range, merge two neighbours,
    /// or change the shard count; sometimes a long wait lets a reshard finish.
    pub fn step_with_resharding(&mut self) {
        match self.rng.below(60) {
            0 => {
                let ranges = self.open_ranges_now();
                let pick = usize::try_from(self.rng.below(ranges.len() as u64)).expect("index");
                let range = ranges[pick];
                let shard = self.owner_of(range.starting);
                let middle = range.starting / 2 + range.ending / 2;
                self.reshard(
                    "SplitShard",
                    json!({"StreamName": STREAM, "ShardToSplit": shard,
                                                  "NewStartingHashKey": middle.to_string()}),
                );
            }
            1 => {
                let pick = u16::try_from(self.rng.below(u64::from(u16::MAX))).expect("small");
                self.apply(&Op::Merge(pick));
            }
            2 => {
                let open = self.world.streams().open_ranges(STREAM).len() as u64;
                let target = (open / 2).max(1) + self.rng.below(open + open / 2 + 1);
                self.reshard(
                    "UpdateShardCount",
                    json!({"StreamName": STREAM, "TargetShardCount": target,
                                                        "ScalingType": "UNIFORM_SCALING"}),
                );
            }
            3 => {
                let wait_ms = 5_000 + self.rng.below(30_000);
                self.wait(wait_ms);
                self.refresh_shards();
            }
            _ => self.step(),
        }
    }

    /// The open ranges as of the driver's clock (the world may not have been advanced to it since a wait, and a
    /// reshard may have finished in between).
    fn open_ranges_now(&mut self) -> Vec<kinesim::streams::hash_key::HashKeyRange> {
        self.world.advance_to(SimTime::from_millis(self.now_ms));
        self.world.streams().open_ranges(STREAM)
    }

    fn owner_of(&mut self, hash_key: u128) -> String {
        let (status, body) = call(
            &mut self.world,
            self.now_ms,
            "ListShards",
            json!({"StreamName": STREAM, "ShardFilter": {"Type": "AT_LATEST"}}),
        );
        assert_eq!(status, 200, "{body}");
        body["Shards"]
            .as_array()
            .expect("shards")
            .iter()
            .find(|s| {
                let start: u128 = s["HashKeyRange"]["StartingHashKey"]
                    .as_str()
                    .expect("key")
                    .parse()
                    .expect("number");
                start == hash_key
            })
            .and_then(|s| s["ShardId"].as_str())
            .expect("an open shard starts at every open range's start")
            .to_string()
    }

    fn reshard(&mut self, operation: &str, request: Value) {
        let (status, body) = call(&mut self.world, self.now_ms, operation, request);
        match (status, body["__type"].as_str()) {
            (200, _) => self.reshards += 1,
            // Busy with another reshard, or asked for more shards than allowed: both are fine answers.
            (400, Some("ResourceInUseException" | "LimitExceededException")) => {}
            _ => panic!("{operation} failed: {status} {body}"),
        }
    }

    /// Reads every shard to its end (waiting out read limits): afterwards every acknowledged record has been read.
    pub fn drain(&mut self) {
        for shard in 0..self.shard_ids.len() {
            let mut idle_polls = 0;
            while idle_polls < 3 && !self.finished.contains(&self.shard_ids[shard]) {
                self.wait(1_000);
                if self.poll(shard) == 0 {
                    idle_polls += 1;
                } else {
                    idle_polls = 0;
                }
            }
        }
    }

    /// Checks every invariant that must hold after any step.
    pub fn check_invariants(&self) {
        // The running count of kept record bytes is exact and within its bound.
        let streams = self.world.streams();
        assert_eq!(
            streams.records_kept_bytes(),
            streams.recount_records_kept_bytes(),
            "the running count of kept bytes equals the sum over kept records"
        );
        assert!(streams.records_kept_bytes() <= streams.records_kept_bytes_max());
        // Per shard: read in strictly increasing sequence order, each record at most once.
        for (shard, seqs) in &self.read {
            for pair in seqs.windows(2) {
                assert!(
                    pair[0] < pair[1],
                    "shard {shard} read {} then {}",
                    pair[0],
                    pair[1]
                );
            }
        }
        // Open shards cover the hash space exactly.
        let ranges = self.world.streams().open_ranges(STREAM);
        assert_eq!(ranges.first().map(|r| r.starting), Some(0));
        assert_eq!(ranges.last().map(|r| r.ending), Some(u128::MAX));
        for pair in ranges.windows(2) {
            assert!(
                pair[0].is_adjacent_to(&pair[1]),
                "gap or overlap between {} and {}",
                pair[0],
                pair[1]
            );
        }
        // Write limits: the second ending now holds at most 1,000 records and 1 MiB per shard.
        for shard in &self.shard_ids {
            let records = self
                .world
                .streams()
                .shard_records(STREAM, shard)
                .expect("shard");
            let from = self.now_ms.saturating_sub(999);
            let (count, bytes) = records
                .iter()
                .rev()
                .take_while(|r| r.arrival.as_millis() >= from)
                .fold((0u64, 0u64), |(c, b), r| {
                    (
                        c + 1,
                        b + r.data.len() as u64 + r.partition_key.len() as u64,
                    )
                });
            assert!(
                count <= 1_000,
                "shard {shard}: {count} records in one second"
            );
            assert!(
                bytes <= 1_048_576,
                "shard {shard}: {bytes} bytes in one second"
            );
        }
    }

    /// After [`Driver::drain`]: nothing acknowledged was lost, nothing read twice.
    pub fn check_nothing_lost(&self) {
        let read: usize = self.read.values().map(Vec::len).sum();
        assert_eq!(
            read,
            self.acked.len(),
            "every acknowledged record is read exactly once"
        );
    }
}

/// One step of a generated workload (for property tests).
#[derive(Clone, Debug)]
pub enum Op {
    /// Time passes.
    Wait(u64),
    /// A PutRecord of up to this many bytes.
    Put(u64),
    /// A PutRecords of this many entries of up to this many bytes.
    PutMany(u64, u64),
    /// A GetRecords on this shard (modulo the shard count).
    Poll(usize),
    /// SplitShard of the open shard picked by the first number (modulo the open count), at the point of its
    /// range given by the second (per mille of the way from its start; the call is refused with AWS's error
    /// when that point is not strictly inside the range).
    Split(u16, u16),
    /// MergeShards of the picked open shard with the next adjacent one.
    Merge(u16),
    /// UpdateShardCount (UNIFORM_SCALING) to this many shards (refusals outside half to double are fine).
    Scale(u8),
    /// Time passes and the reader learns the current shards (children of finished reshards).
    Refresh(u64),
}

impl Driver {
    /// Applies one generated step.
    pub fn apply(&mut self, op: &Op) {
        match *op {
            Op::Wait(ms) => self.wait(ms),
            Op::Put(size) => self.put_one(size),
            Op::PutMany(count, size) => self.put_many(count, size),
            Op::Poll(shard) => {
                let shard = shard % self.shard_ids.len();
                self.poll(shard);
            }
            Op::Split(pick, per_mille) => {
                let ranges = self.open_ranges_now();
                let range = ranges[usize::from(pick) % ranges.len()];
                let shard = self.owner_of(range.starting);
                let width = range.ending - range.starting;
                let point = range.starting + width / 1_000 * u128::from(per_mille.min(1_000));
                self.reshard_or_refused(
                    "SplitShard",
                    json!({"StreamName": STREAM, "ShardToSplit": shard,
                           "NewStartingHashKey": point.to_string()}),
                );
            }
            Op::Merge(pick) => {
                let ranges = self.open_ranges_now();
                if ranges.len() >= 2 {
                    let pick = usize::from(pick) % (ranges.len() - 1);
                    let (a, b) = (
                        self.owner_of(ranges[pick].starting),
                        self.owner_of(ranges[pick + 1].starting),
                    );
                    self.reshard(
                        "MergeShards",
                        json!({"StreamName": STREAM, "ShardToMerge": a,
                               "AdjacentShardToMerge": b}),
                    );
                }
            }
            Op::Scale(target) => self.reshard_or_refused(
                "UpdateShardCount",
                json!({"StreamName": STREAM, "TargetShardCount": target,
                       "ScalingType": "UNIFORM_SCALING"}),
            ),
            Op::Refresh(ms) => {
                self.wait(ms);
                self.refresh_shards();
            }
        }
    }

    /// A reshard that AWS may refuse as invalid for the arguments generated (a split point on the range's edge,
    /// a shard count outside half to double): the refusal must be an `InvalidArgumentException`, and nothing
    /// changes.
    fn reshard_or_refused(&mut self, operation: &str, request: Value) {
        let (status, body) = call(&mut self.world, self.now_ms, operation, request.clone());
        match (status, body["__type"].as_str()) {
            (200, _) => self.reshards += 1,
            (
                400,
                Some(
                    "ResourceInUseException"
                    | "LimitExceededException"
                    | "InvalidArgumentException",
                ),
            ) => {}
            _ => panic!("{operation} {request} failed: {status} {body}"),
        }
    }
}
