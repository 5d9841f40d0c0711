//! What a stream's bill needs that the rest of the service does not keep: exact integer counters taken where a
//! record is accepted or read, the history of capacity modes and retention, enhanced fan-out consumers'
//! registration intervals, and the bytes stored beyond 24 hours and beyond 7 days. The prices live in
//! `crate::cost`; this module only counts.
//!
//! A stream's counters outlive the stream: when a deleted stream is finally dropped its record moves to the
//! account's list of finished streams, so a bill never shrinks.

use super::{DataStreams, Record, Shard, SimDuration, SimTime, Stream, StreamMode};
use serde::{Deserialize, Serialize};

/// Size of one PUT payload unit, in bytes (AWS: "counted in 25KB payload chunks", a 5 KB record is one unit;
/// <https://aws.amazon.com/kinesis/data-streams/pricing/>; taken here as 25 KiB).
pub const PUT_PAYLOAD_UNIT_BYTES: u64 = 25 * 1_024;
/// Size on-demand data in and out is rounded up to per record, in bytes (AWS: "rounded up to the nearest 1 KB
/// (1,024 bytes)"; <https://aws.amazon.com/kinesis/data-streams/pricing/>).
pub const ON_DEMAND_BILLING_UNIT_BYTES: u64 = 1_024;
/// Age from which stored data is extended retention, in hours (AWS: beyond the first 24 hours).
pub const EXTENDED_RETENTION_FROM_HOURS: u64 = 24;
/// Age from which stored data is long-term retention, in hours (AWS: beyond seven days).
pub const LONG_TERM_RETENTION_FROM_HOURS: u64 = 7 * 24;

/// Exact integer counts of data in and out while a stream was in one capacity mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataCounters {
    /// Records accepted.
    pub records_in: u64,
    /// Bytes accepted (data plus partition key).
    pub bytes_in: u64,
    /// PUT payload units: each record's size rounded up to [`PUT_PAYLOAD_UNIT_BYTES`], summed.
    pub put_payload_units: u64,
    /// Bytes in with each record rounded up to [`ON_DEMAND_BILLING_UNIT_BYTES`].
    pub billed_bytes_in: u64,
    /// Bytes returned by GetRecords (shared throughput), data plus partition key.
    pub bytes_out: u64,
    /// Bytes returned by GetRecords with each record rounded up to [`ON_DEMAND_BILLING_UNIT_BYTES`].
    pub billed_bytes_out: u64,
    /// Bytes pushed to enhanced fan-out consumers, data plus partition key.
    pub fanout_bytes_out: u64,
    /// Bytes pushed to enhanced fan-out consumers, each record rounded up to [`ON_DEMAND_BILLING_UNIT_BYTES`].
    pub billed_fanout_bytes_out: u64,
}

/// Byte-milliseconds of data stored at an age past 24 hours, split at 7 days.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredByteMs {
    /// Bytes times milliseconds stored at an age between 24 hours and 7 days.
    pub extended: u128,
    /// The part of `extended` stored while the stream was in on-demand mode (billed per GB-month; provisioned
    /// streams pay per shard hour instead).
    pub extended_on_demand: u128,
    /// Bytes times milliseconds stored at an age beyond 7 days.
    pub long_term: u128,
}

impl StoredByteMs {
    fn add(&mut self, other: StoredByteMs) {
        self.extended = self.extended.saturating_add(other.extended);
        self.extended_on_demand = self
            .extended_on_demand
            .saturating_add(other.extended_on_demand);
        self.long_term = self.long_term.saturating_add(other.long_term);
    }

    /// What one record of `size` bytes that arrived at `arrival` added while it was stored until `end`, with the
    /// stream's capacity modes `modes` ((from when, mode), in time order).
    fn of_record(
        size: u64,
        arrival: SimTime,
        end: SimTime,
        modes: &[(SimTime, StreamMode)],
    ) -> StoredByteMs {
        let hour = SimDuration::from_hours(1).as_millis();
        let extended_from = arrival.as_millis() + EXTENDED_RETENTION_FROM_HOURS * hour;
        let long_from = arrival.as_millis() + LONG_TERM_RETENTION_FROM_HOURS * hour;
        let end = end.as_millis();
        let extended_to = end.min(long_from);
        let extended_ms = extended_to.saturating_sub(extended_from);
        let long_ms = end.saturating_sub(long_from);
        let mut on_demand_ms = 0u64;
        for (i, &(at, mode)) in modes.iter().enumerate() {
            let next = modes.get(i + 1).map_or(u64::MAX, |&(t, _)| t.as_millis());
            if mode == StreamMode::OnDemand {
                on_demand_ms += next
                    .min(extended_to)
                    .saturating_sub(at.as_millis().max(extended_from));
            }
        }
        StoredByteMs {
            extended: u128::from(size) * u128::from(extended_ms),
            extended_on_demand: u128::from(size) * u128::from(on_demand_ms),
            long_term: u128::from(size) * u128::from(long_ms),
        }
    }
}

/// An enhanced fan-out consumer's registration, for consumer-shard hours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerSpan {
    /// Its name.
    pub name: String,
    /// When RegisterStreamConsumer accepted it.
    pub registered_at: SimTime,
    /// When DeregisterStreamConsumer accepted its removal, if it did.
    pub deregistered_at: Option<SimTime>,
}

/// A shard's open interval, for shard hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpan {
    /// When it was created.
    pub opened_at: SimTime,
    /// When a reshard closed it, if one did.
    pub closed_at: Option<SimTime>,
}

/// The billing counters a stream keeps (persisted with it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Meter {
    /// (from when, capacity mode), in time order; the first entry is the stream's creation.
    modes: Vec<(SimTime, StreamMode)>,
    /// (from when, retention hours), in time order; the first entry is the stream's creation.
    retention_hours: Vec<(SimTime, u32)>,
    consumers: Vec<ConsumerSpan>,
    provisioned: DataCounters,
    on_demand: DataCounters,
    /// Storage of records already trimmed.
    trimmed: StoredByteMs,
}

impl Meter {
    pub(super) fn new(now: SimTime, mode: StreamMode, retention_hours: u32) -> Self {
        Meter {
            modes: vec![(now, mode)],
            retention_hours: vec![(now, retention_hours)],
            ..Meter::default()
        }
    }

    fn counters(&mut self, mode: StreamMode) -> &mut DataCounters {
        match mode {
            StreamMode::Provisioned => &mut self.provisioned,
            StreamMode::OnDemand => &mut self.on_demand,
        }
    }

    /// A record of `size` bytes was accepted.
    pub(super) fn put(&mut self, mode: StreamMode, size: u64) {
        let c = self.counters(mode);
        c.records_in = c.records_in.saturating_add(1);
        c.bytes_in = c.bytes_in.saturating_add(size);
        c.put_payload_units = c
            .put_payload_units
            .saturating_add(size.div_ceil(PUT_PAYLOAD_UNIT_BYTES).max(1));
        c.billed_bytes_in = c.billed_bytes_in.saturating_add(billed(size));
    }

    /// GetRecords returned records of these sizes.
    pub(super) fn read(&mut self, mode: StreamMode, sizes: impl Iterator<Item = u64>) {
        let c = self.counters(mode);
        for size in sizes {
            c.bytes_out = c.bytes_out.saturating_add(size);
            c.billed_bytes_out = c.billed_bytes_out.saturating_add(billed(size));
        }
    }

    /// Enhanced fan-out pushed records of these sizes.
    pub(super) fn fanout(&mut self, mode: StreamMode, sizes: impl Iterator<Item = u64>) {
        let c = self.counters(mode);
        for size in sizes {
            c.fanout_bytes_out = c.fanout_bytes_out.saturating_add(size);
            c.billed_fanout_bytes_out = c.billed_fanout_bytes_out.saturating_add(billed(size));
        }
    }

    /// The capacity mode changed at `at`.
    pub(super) fn mode_changed(&mut self, at: SimTime, mode: StreamMode) {
        self.modes.push((at, mode));
    }

    /// The retention period changed at `at`.
    pub(super) fn retention_changed(&mut self, at: SimTime, hours: u32) {
        self.retention_hours.push((at, hours));
    }

    /// When the retention period last changed (a decrease makes older records unreadable at once).
    pub(super) fn retention_changed_at(&self) -> SimTime {
        self.retention_hours
            .last()
            .map_or(SimTime::ZERO, |&(at, _)| at)
    }

    /// A consumer was registered.
    pub(super) fn consumer_registered(&mut self, at: SimTime, name: &str) {
        self.consumers.push(ConsumerSpan {
            name: name.to_string(),
            registered_at: at,
            deregistered_at: None,
        });
    }

    /// A consumer was deregistered.
    pub(super) fn consumer_deregistered(&mut self, at: SimTime, name: &str) {
        if let Some(span) = self
            .consumers
            .iter_mut()
            .rev()
            .find(|c| c.name == name && c.deregistered_at.is_none())
        {
            span.deregistered_at = Some(at);
        }
    }

    /// The capacity modes so far: (from when, mode), in time order.
    pub(super) fn modes(&self) -> &[(SimTime, StreamMode)] {
        &self.modes
    }

    /// Records left the stream (trimmed by retention), having stored this much.
    pub(super) fn trimmed(&mut self, stored: StoredByteMs) {
        self.trimmed.add(stored);
    }
}

/// A record's size for billing: data plus partition key.
pub(super) fn record_size(r: &Record) -> u64 {
    r.data.len() as u64 + r.partition_key.len() as u64
}

fn billed(size: u64) -> u64 {
    size.div_ceil(ON_DEMAND_BILLING_UNIT_BYTES)
        .max(1)
        .saturating_mul(ON_DEMAND_BILLING_UNIT_BYTES)
}

/// Storage a record added from its arrival until it expired (`retention` after arrival, but not before
/// `retention_changed_at`, when a decrease made it unreadable at once) or until `stop` (the stream's deletion).
pub(super) fn stored_until_trim(
    r: &Record,
    retention: SimDuration,
    retention_changed_at: SimTime,
    stop: Option<SimTime>,
    modes: &[(SimTime, StreamMode)],
) -> StoredByteMs {
    let expiry = r
        .arrival
        .saturating_add(retention)
        .max(retention_changed_at);
    let end = stop.map_or(expiry, |s| expiry.min(s));
    StoredByteMs::of_record(record_size(r), r.arrival, end, modes)
}

/// Everything a bill needs about one stream, at one simulated time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamBillingRecord {
    /// The stream's name.
    pub name: String,
    /// When it was created.
    pub created_at: SimTime,
    /// When DeleteStream was accepted (billing stops there), if it was.
    pub deleted_at: Option<SimTime>,
    /// (from when, capacity mode), in time order.
    pub modes: Vec<(SimTime, StreamMode)>,
    /// (from when, retention hours), in time order.
    pub retention_hours: Vec<(SimTime, u32)>,
    /// Every shard it ever had, open or closed.
    pub shards: Vec<ShardSpan>,
    /// Every enhanced fan-out consumer it ever had.
    pub consumers: Vec<ConsumerSpan>,
    /// Data in and out while provisioned.
    pub provisioned: DataCounters,
    /// Data in and out while on-demand.
    pub on_demand: DataCounters,
    /// Bytes stored past 24 hours and past 7 days, up to the time the record was taken.
    pub stored: StoredByteMs,
}

impl Stream {
    /// The stream's billing record at `now`: storage of the records still kept counts up to `now` (or the
    /// deletion).
    pub(super) fn billing_record(&self, now: SimTime) -> StreamBillingRecord {
        let stop = self.deleting_since.map_or(now, |d| d.min(now));
        let mut stored = self.meter.trimmed;
        let day = SimDuration::from_hours(EXTENDED_RETENTION_FROM_HOURS);
        let retention = self.retention();
        let changed_at = self.meter.retention_changed_at();
        for shard in &self.shards {
            // Records are in arrival order: only those older than a day have stored anything billable. A record
            // past its retention that no call has trimmed yet counts until it expired.
            for r in shard
                .records
                .iter()
                .take_while(|r| r.arrival.saturating_add(day) < stop)
            {
                stored.add(stored_until_trim(
                    r,
                    retention,
                    changed_at,
                    Some(stop),
                    &self.meter.modes,
                ));
            }
        }
        StreamBillingRecord {
            name: self.name.clone(),
            created_at: self.created_at,
            deleted_at: self.deleting_since,
            modes: self.meter.modes.clone(),
            retention_hours: self.meter.retention_hours.clone(),
            shards: self.shards.iter().map(shard_span).collect(),
            consumers: self.meter.consumers.clone(),
            provisioned: self.meter.provisioned,
            on_demand: self.meter.on_demand,
            stored,
        }
    }
}

fn shard_span(s: &Shard) -> ShardSpan {
    ShardSpan {
        opened_at: s.created_at,
        closed_at: s.closed_at,
    }
}

impl DataStreams {
    /// The billing records of every stream the account ever had, at `now`: finished (deleted and gone) streams
    /// first, in the order they went, then the current ones by name. Read-only: `now` should not be before the
    /// last call the service took.
    pub fn billing_records(&self, now: SimTime) -> Vec<StreamBillingRecord> {
        self.finished_billing
            .iter()
            .cloned()
            .chain(self.streams.values().map(|s| s.billing_record(now)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_past_a_day_is_split_at_seven_days_and_by_capacity_mode() {
        let h = |hours: u64| SimTime::from_millis(hours * 3_600_000);
        let hour_ms = 3_600_000u128;
        // Stored 200 hours: 24..168 extended (144 h), 168..200 long-term (32 h); on-demand from 100 h on.
        let modes = [
            (h(0), StreamMode::Provisioned),
            (h(100), StreamMode::OnDemand),
        ];
        let s = StoredByteMs::of_record(10, h(0), h(200), &modes);
        assert_eq!(s.extended, 10 * 144 * hour_ms);
        assert_eq!(s.extended_on_demand, 10 * 68 * hour_ms);
        assert_eq!(s.long_term, 10 * 32 * hour_ms);
        // Gone within its first day: nothing billable.
        assert_eq!(
            StoredByteMs::of_record(10, h(5), h(29), &modes),
            StoredByteMs::default()
        );
    }
}
