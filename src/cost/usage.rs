//! Usage: what a run consumed, in exact integer units, read from the services' own records.

use crate::World;
use crate::sim::SimTime;
use crate::streams::DataStreams;
use crate::streams::service::{
    DataCounters, EXTENDED_RETENTION_FROM_HOURS, StreamBillingRecord, StreamMode,
};
use serde::{Deserialize, Serialize};

/// Size Firehose rounds each record up to for ingestion billing, in bytes (AWS: "rounded up to the nearest 5KB";
/// <https://aws.amazon.com/firehose/pricing/>; taken here as 5 KiB).
pub const FIREHOSE_BILLING_UNIT_BYTES: u64 = 5 * 1_024;

/// What one data stream used, in exact integer units.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamUsage {
    /// The stream's name.
    pub name: String,
    /// Shard-milliseconds while provisioned (each open shard, from its creation to its closing or the stream's
    /// deletion).
    pub provisioned_shard_ms: u128,
    /// PUT payload units (25 KB each, every record rounded up) accepted while provisioned.
    pub put_payload_units: u64,
    /// Shard-milliseconds while provisioned with a retention period over 24 hours.
    pub extended_retention_shard_ms: u128,
    /// Consumer-shard-milliseconds of enhanced fan-out consumers while provisioned.
    pub efo_consumer_shard_ms: u128,
    /// Bytes pushed to enhanced fan-out consumers while provisioned.
    pub efo_bytes: u64,
    /// Milliseconds the stream existed in on-demand mode.
    pub on_demand_stream_ms: u128,
    /// Bytes written while on-demand, each record rounded up to 1 KiB.
    pub on_demand_billed_bytes_in: u64,
    /// Bytes read by GetRecords while on-demand, each record rounded up to 1 KiB.
    pub on_demand_billed_bytes_out: u64,
    /// Bytes pushed to enhanced fan-out consumers while on-demand, each record rounded up to 1 KiB.
    pub on_demand_billed_efo_bytes: u64,
    /// Byte-milliseconds of data between 24 hours and 7 days old, stored while the stream was on-demand
    /// (provisioned streams pay for extended retention per shard hour instead).
    pub on_demand_extended_byte_ms: u128,
    /// Byte-milliseconds of data older than 7 days, in either mode.
    pub long_term_byte_ms: u128,
    /// The stream's counters, for display.
    pub provisioned_counters: DataCounters,
    /// The stream's counters while on-demand, for display.
    pub on_demand_counters: DataCounters,
}

/// What one Firehose stream used. Fill it with [`Usage::add_firehose`]; the optional features' fields stay 0
/// unless set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirehoseUsage {
    /// The Firehose stream's name.
    pub name: String,
    /// Records ingested.
    pub records: u64,
    /// Bytes ingested, each record rounded up to [`FIREHOSE_BILLING_UNIT_BYTES`] (see [`firehose_billed_bytes`]).
    pub billed_bytes: u64,
    /// Bytes converted to Parquet or ORC (billed per GB ingested, 5 KB rounding).
    pub format_conversion_billed_bytes: u64,
    /// Bytes delivered into a VPC.
    pub vpc_bytes: u64,
    /// Availability-Zone-hours of VPC delivery (partial hours count as whole).
    pub vpc_az_hours: u64,
    /// Bytes delivered to S3 with dynamic partitioning.
    pub dynamic_partitioning_bytes: u64,
    /// S3 objects delivered with dynamic partitioning.
    pub dynamic_partitioning_objects: u64,
}

/// What one Analytics application used.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyticsUsage {
    /// The application's name.
    pub name: String,
    /// KPU-milliseconds: Kinesis Processing Units times milliseconds running.
    pub kpu_ms: u128,
}

/// Everything a run used up to one simulated time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// The simulated time it was taken at.
    pub at: SimTime,
    /// Data streams, deleted ones first, then the current ones by name.
    pub streams: Vec<StreamUsage>,
    /// Firehose streams.
    pub firehose: Vec<FirehoseUsage>,
    /// Analytics applications.
    pub analytics: Vec<AnalyticsUsage>,
}

/// A Firehose record's billed size: `record_bytes` rounded up to the next [`FIREHOSE_BILLING_UNIT_BYTES`] (a
/// 3 KB record bills as 5 KB, a 12 KB one as 15 KB; an empty one as 5 KB).
pub fn firehose_billed_bytes(record_bytes: u64) -> u64 {
    record_bytes
        .div_ceil(FIREHOSE_BILLING_UNIT_BYTES)
        .max(1)
        .saturating_mul(FIREHOSE_BILLING_UNIT_BYTES)
}

impl Usage {
    /// Usage of the Data Streams service `streams` up to `now` (which should not be before the last call it
    /// took). Firehose and Analytics are added with [`Usage::add_firehose`] and [`Usage::add_analytics`].
    pub fn from_streams(streams: &DataStreams, now: SimTime) -> Usage {
        Usage {
            at: now,
            streams: streams
                .billing_records(now)
                .iter()
                .map(|r| stream_usage(r, now))
                .collect(),
            firehose: Vec::new(),
            analytics: Vec::new(),
        }
    }

    /// Everything `world` used up to its current time: its data streams ([`Usage::from_streams`]), its delivery
    /// streams (records ingested with each rounded up to 5 KiB, dynamic partitioning) and its analytics
    /// applications (KPU time while running), each counted by the services as it happened.
    pub fn from_world(world: &World) -> Usage {
        let mut usage = Usage::from_streams(world.streams(), world.now());
        for f in world.firehose_service().billing_records() {
            usage.add_firehose(&f.name, f.records, f.billed_bytes);
            if let Some(entry) = usage.firehose.iter_mut().find(|u| u.name == f.name) {
                entry.dynamic_partitioning_bytes = entry
                    .dynamic_partitioning_bytes
                    .saturating_add(f.dynamic_partitioning_bytes);
                entry.dynamic_partitioning_objects = entry
                    .dynamic_partitioning_objects
                    .saturating_add(f.dynamic_partitioning_objects);
            }
        }
        for (name, kpus, running_ms) in world.analytics_billing() {
            usage.add_analytics(&name, kpus, running_ms);
        }
        usage
    }

    /// Adds a Firehose stream's ingestion: `records` records whose sizes, each rounded up with
    /// [`firehose_billed_bytes`], sum to `billed_bytes`. Calling it again for the same name adds to it.
    pub fn add_firehose(&mut self, name: &str, records: u64, billed_bytes: u64) {
        let entry = match self.firehose.iter().position(|f| f.name == name) {
            Some(i) => &mut self.firehose[i],
            None => {
                self.firehose.push(FirehoseUsage {
                    name: name.to_string(),
                    ..FirehoseUsage::default()
                });
                let last = self.firehose.len() - 1;
                &mut self.firehose[last]
            }
        };
        entry.records = entry.records.saturating_add(records);
        entry.billed_bytes = entry.billed_bytes.saturating_add(billed_bytes);
    }

    /// Adds an Analytics application's processing: `kpus` Kinesis Processing Units for `running_ms` simulated
    /// milliseconds. Calling it again for the same name adds to it (for a KPU count that changed).
    pub fn add_analytics(&mut self, name: &str, kpus: u32, running_ms: u64) {
        let kpu_ms = u128::from(kpus) * u128::from(running_ms);
        match self.analytics.iter_mut().find(|a| a.name == name) {
            Some(a) => a.kpu_ms = a.kpu_ms.saturating_add(kpu_ms),
            None => self.analytics.push(AnalyticsUsage {
                name: name.to_string(),
                kpu_ms,
            }),
        }
    }
}

/// A step function of time: `(from, value)` changes in time order, cut into `(start, end, value)` segments within
/// `[from, to)`.
fn segments<T: Copy>(changes: &[(SimTime, T)], from: u64, to: u64) -> Vec<(u64, u64, T)> {
    let mut out = Vec::new();
    for (i, &(at, value)) in changes.iter().enumerate() {
        let next = changes.get(i + 1).map_or(u64::MAX, |&(t, _)| t.as_millis());
        let start = at.as_millis().max(from);
        let end = next.min(to);
        if start < end {
            out.push((start, end, value));
        }
    }
    out
}

/// Milliseconds of `[a, b)` that fall in segments whose value passes `keep`.
fn overlap_ms<T: Copy>(segs: &[(u64, u64, T)], a: u64, b: u64, keep: impl Fn(T) -> bool) -> u128 {
    segs.iter()
        .filter(|&&(_, _, v)| keep(v))
        .map(|&(s, e, _)| u128::from(e.min(b).saturating_sub(s.max(a))))
        .sum()
}

fn stream_usage(r: &StreamBillingRecord, now: SimTime) -> StreamUsage {
    let from = r.created_at.as_millis();
    let to = r.deleted_at.map_or(now, |d| d.min(now)).as_millis();
    let modes = segments(&r.modes, from, to);
    // Provisioned and retention over 24 hours, as one step function.
    let mut cuts: Vec<u64> = r
        .modes
        .iter()
        .map(|&(t, _)| t.as_millis())
        .chain(r.retention_hours.iter().map(|&(t, _)| t.as_millis()))
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let extended: Vec<(SimTime, bool)> = cuts
        .iter()
        .map(|&t| {
            let at = SimTime::from_millis(t);
            let mode = last_at(&r.modes, at);
            let hours = last_at(&r.retention_hours, at);
            let ext = mode == Some(StreamMode::Provisioned)
                && hours.is_some_and(|h| u64::from(h) > EXTENDED_RETENTION_FROM_HOURS);
            (at, ext)
        })
        .collect();
    let extended = segments(&extended, from, to);
    let provisioned = |m: StreamMode| m == StreamMode::Provisioned;
    let shard_ms = |segs: &[(u64, u64, bool)], a: u64, b: u64| overlap_ms(segs, a, b, |v| v);
    let mut usage = StreamUsage {
        name: r.name.clone(),
        provisioned_counters: r.provisioned,
        on_demand_counters: r.on_demand,
        ..StreamUsage::default()
    };
    for shard in &r.shards {
        let a = shard.opened_at.as_millis();
        let b = shard.closed_at.map_or(u64::MAX, SimTime::as_millis);
        usage.provisioned_shard_ms += overlap_ms(&modes, a, b, provisioned);
        usage.extended_retention_shard_ms += shard_ms(&extended, a, b);
        for c in &r.consumers {
            let ca = c.registered_at.as_millis().max(a);
            let cb = c
                .deregistered_at
                .map_or(u64::MAX, SimTime::as_millis)
                .min(b);
            if ca < cb {
                usage.efo_consumer_shard_ms += overlap_ms(&modes, ca, cb, provisioned);
            }
        }
    }
    usage.on_demand_stream_ms = overlap_ms(&modes, from, to, |m| m == StreamMode::OnDemand);
    usage.put_payload_units = r.provisioned.put_payload_units;
    usage.efo_bytes = r.provisioned.fanout_bytes_out;
    usage.on_demand_billed_bytes_in = r.on_demand.billed_bytes_in;
    usage.on_demand_billed_bytes_out = r.on_demand.billed_bytes_out;
    usage.on_demand_billed_efo_bytes = r.on_demand.billed_fanout_bytes_out;
    usage.on_demand_extended_byte_ms = r.stored.extended_on_demand;
    usage.long_term_byte_ms = r.stored.long_term;
    usage
}

/// The value of a step function at `at`.
fn last_at<T: Copy>(changes: &[(SimTime, T)], at: SimTime) -> Option<T> {
    changes
        .iter()
        .take_while(|&&(t, _)| t <= at)
        .last()
        .map(|&(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firehose_rounds_each_record_up_to_5_kib() {
        assert_eq!(firehose_billed_bytes(0), 5_120);
        assert_eq!(firehose_billed_bytes(3_000), 5_120);
        assert_eq!(firehose_billed_bytes(5_120), 5_120);
        assert_eq!(firehose_billed_bytes(12_000), 15_360);
    }

    #[test]
    fn segments_cut_a_step_function_to_a_window() {
        let t = SimTime::from_millis;
        let changes = [(t(0), 1), (t(10), 2), (t(20), 3)];
        assert_eq!(segments(&changes, 5, 15), vec![(5, 10, 1), (10, 15, 2)]);
        assert_eq!(
            overlap_ms(&segments(&changes, 0, 30), 8, 25, |v| v != 2),
            2 + 5
        );
        assert_eq!(last_at(&changes, t(19)), Some(2));
    }
}
