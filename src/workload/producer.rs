//! A producer actor: writes generated records to a stream with PutRecords at a steady rate on simulated time,
//! counting what the service acknowledged and what it throttled. Throttled records are counted, not retried
//! (what an application that ignores `FailedRecordCount` sees), so throttling shows plainly.
#![deny(clippy::float_arithmetic)]

use crate::sim::{SimDuration, SimTime};
use crate::streams::DataStreams;
use crate::streams::service::PutEntry;
use crate::workload::generator::Generator;
use serde::{Deserialize, Serialize};

/// Most records one PutRecords call carries (AWS's limit).
pub const PUT_RECORDS_ENTRIES_MAX: usize = 500;
/// Highest rate a producer may have, in records per second.
pub const PRODUCER_RECORDS_PER_S_MAX: u32 = 100_000;
/// Most bytes a producer may generate per second (rate times record size): a bound on the work and memory one
/// producer can ask of the simulator (a shard takes 1 MiB/s, so 64 MiB/s saturates 64 shards).
pub const PRODUCER_BYTES_PER_S_MAX: u64 = 64 * 1_048_576;
/// How often a producer sends a batch, in milliseconds.
pub const PRODUCER_BATCH_INTERVAL_MS: u64 = 100;

/// What a producer has done so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerStats {
    /// Records the service acknowledged.
    pub acknowledged: u64,
    /// Records refused with ProvisionedThroughputExceededException.
    pub throttled: u64,
    /// Records refused for another reason (the stream is missing, not active, ...).
    pub failed: u64,
    /// Bytes acknowledged (data plus partition key).
    pub bytes: u64,
    /// PutRecords calls made.
    pub calls: u64,
    /// The last error message, if any.
    pub last_error: Option<String>,
    /// Records throttled in the last batch.
    pub last_batch_throttled: u64,
    /// Records in the last batch.
    pub last_batch: u64,
}

/// A producer writing to one stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Producer {
    /// The stream it writes to.
    pub stream: String,
    /// Records per second.
    pub records_per_s: u32,
    /// What it writes.
    pub generator: Generator,
    /// What happened so far.
    pub stats: ProducerStats,
    /// Rate remainder carried between batches, in record-milliseconds.
    carry: u64,
    /// Whether a log file has been read to its end.
    pub finished: bool,
}

impl Producer {
    /// A producer at `records_per_s` records a second (1..=[`PRODUCER_RECORDS_PER_S_MAX`]).
    pub fn new(stream: String, records_per_s: u32, generator: Generator) -> Result<Self, String> {
        if records_per_s == 0 || records_per_s > PRODUCER_RECORDS_PER_S_MAX {
            return Err(format!(
                "The rate must be 1 to {PRODUCER_RECORDS_PER_S_MAX} records per second; it is {records_per_s}."
            ));
        }
        let spec = generator.spec();
        let longest_line = spec
            .lines
            .as_ref()
            .and_then(|lines| lines.iter().map(String::len).max())
            .unwrap_or(0);
        let record_bytes = (spec.record_bytes as usize)
            .max(spec.record_template.len())
            .max(longest_line) as u64;
        let bytes_per_s = u64::from(records_per_s).saturating_mul(record_bytes);
        if bytes_per_s > PRODUCER_BYTES_PER_S_MAX {
            return Err(format!(
                "{records_per_s} records/s of up to {record_bytes} bytes is {bytes_per_s} bytes/s; a producer may \
                 generate at most {PRODUCER_BYTES_PER_S_MAX} (64 MiB/s): lower the rate or the record size."
            ));
        }
        Ok(Producer {
            stream,
            records_per_s,
            generator,
            stats: ProducerStats::default(),
            carry: 0,
            finished: false,
        })
    }

    /// When it runs next after running at `now`.
    pub fn next_due(&self, now: SimTime) -> SimTime {
        now.saturating_add(SimDuration::from_millis(PRODUCER_BATCH_INTERVAL_MS))
    }

    /// Sends one batch interval's records at `now`; `unix_ms` is `now` on the calendar (for `${ts}`).
    pub fn tick(&mut self, streams: &mut DataStreams, now: SimTime, unix_ms: u64) {
        self.carry += u64::from(self.records_per_s) * PRODUCER_BATCH_INTERVAL_MS;
        let due = self.carry / 1_000;
        self.carry %= 1_000;
        let mut entries = Vec::new();
        for _ in 0..due {
            match self.generator.next_record(unix_ms) {
                Some(r) => entries.push(PutEntry {
                    data: r.data,
                    partition_key: r.partition_key,
                    explicit_hash_key: None,
                }),
                None => {
                    self.finished = true;
                    break;
                }
            }
        }
        self.stats.last_batch = entries.len() as u64;
        self.stats.last_batch_throttled = 0;
        while !entries.is_empty() {
            let rest = entries.split_off(entries.len().min(PUT_RECORDS_ENTRIES_MAX));
            let batch = std::mem::replace(&mut entries, rest);
            let count = batch.len() as u64;
            let sizes: Vec<u64> = batch
                .iter()
                .map(|e| (e.data.len() + e.partition_key.len()) as u64)
                .collect();
            self.stats.calls += 1;
            match streams.put_records(now, &self.stream, batch) {
                Ok(results) => {
                    for (result, size) in results.into_iter().zip(sizes) {
                        match result {
                            Ok(_) => {
                                self.stats.acknowledged += 1;
                                self.stats.bytes += size;
                            }
                            Err(e) => {
                                if e.error_type.as_str() == "ProvisionedThroughputExceededException"
                                {
                                    self.stats.throttled += 1;
                                    self.stats.last_batch_throttled += 1;
                                } else {
                                    self.stats.failed += 1;
                                }
                                self.stats.last_error =
                                    Some(format!("{}: {}", e.error_type.as_str(), e.message));
                            }
                        }
                    }
                }
                Err(e) => {
                    self.stats.failed += count;
                    self.stats.last_error =
                        Some(format!("{}: {}", e.error_type.as_str(), e.message));
                }
            }
        }
    }
}
