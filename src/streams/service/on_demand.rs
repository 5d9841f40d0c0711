//! Capacity modes: UpdateStreamMode, and how an on-demand stream scales itself.
//!
//! An on-demand stream starts with [`ON_DEMAND_INITIAL_SHARDS`](super::ON_DEMAND_INITIAL_SHARDS) shards (4 MiB/s
//! of writes). After every simulated minute the service looks at the minute's traffic:
//! - a shard that took more than [`ON_DEMAND_HOT_SHARD_BYTES_PER_S`] on average is split in two, at the middle of
//!   its hash keys, [`ON_DEMAND_SCALE_DELAY_MS`] later;
//! - the stream's write capacity is kept at twice the highest per-minute write rate of the last
//!   [`ON_DEMAND_PEAK_WINDOW_DAYS`] days (at least [`ON_DEMAND_WRITE_BYTES_PER_S_MIN`]); when its open shards give
//!   less, the busiest shards are split, also after the delay.
//!
//! So traffic up to twice the previous peak is absorbed at once, and traffic that grows faster is throttled by
//! the per-shard limits until the new shards open, as on AWS. A single partition key always maps to one shard and
//! so stays capped at one shard's 1 MiB/s and 1,000 records/s. Scaling never merges shards back (AWS scales down
//! rarely and does not document when).

use super::{
    ACCOUNT_ID, DataStreams, KinesisError, Metric, SimDuration, SimTime, Stream, StreamMode,
    reshard::Reshard,
};
use crate::sim::time::MILLIS_PER_MINUTE;
use crate::streams::throughput::{MIB_BYTES, SHARD_WRITE_BYTES_PER_S_MAX};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Least write capacity of an on-demand stream, in bytes per second (AWS: a new on-demand stream takes 4 MiB/s).
pub const ON_DEMAND_WRITE_BYTES_PER_S_MIN: u64 = 4 * MIB_BYTES;
/// Days of traffic whose peak sets an on-demand stream's capacity (AWS: the previous 30 days).
pub const ON_DEMAND_PEAK_WINDOW_DAYS: u64 = 30;
/// Capacity as a multiple of that peak (AWS: up to double the previous peak).
pub const ON_DEMAND_PEAK_MULTIPLIER: u64 = 2;
/// Average write rate over a minute above which an on-demand shard is split, in bytes per second (AWS: "about
/// 500 KB/s").
pub const ON_DEMAND_HOT_SHARD_BYTES_PER_S: u64 = 500_000;
/// Default time from the minute that called for a split to the split, in ms (AWS: "within about 15 minutes").
pub const ON_DEMAND_SCALE_DELAY_MS: u64 = 15 * 60_000;
/// UpdateStreamMode calls a stream accepts per rolling 24 hours (AWS: twice).
pub const STREAM_MODE_UPDATES_PER_DAY_MAX: u32 = 2;
/// Minutes looked back after a long quiet spell (older minutes hold no traffic worth scaling for).
const MINUTES_EVALUATED_MAX: u64 = 60;
const MILLIS_PER_DAY: u64 = 24 * 60 * MILLIS_PER_MINUTE;

/// A stream's capacity bookkeeping.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Capacity {
    /// (day, highest per-minute write rate in bytes per second), for the last 30 days.
    daily_peaks: VecDeque<(u64, u64)>,
    /// Minutes before this one have been looked at.
    next_minute: u64,
    /// Splits decided and not yet made: (when, shard ordinal).
    splits: Vec<(SimTime, u32)>,
    /// When UpdateStreamMode was accepted, for its twice-a-day limit.
    mode_updates: VecDeque<SimTime>,
}

impl Capacity {
    /// The highest per-minute write rate of the last 30 days, in bytes per second.
    fn peak_bytes_per_s(&self) -> u64 {
        self.daily_peaks.iter().map(|&(_, p)| p).max().unwrap_or(0)
    }

    /// The shards the stream should have: its capacity over one shard's write limit, rounded up.
    fn target_shards(&self) -> u64 {
        let capacity = self
            .peak_bytes_per_s()
            .saturating_mul(ON_DEMAND_PEAK_MULTIPLIER)
            .max(ON_DEMAND_WRITE_BYTES_PER_S_MIN);
        capacity.div_ceil(SHARD_WRITE_BYTES_PER_S_MAX)
    }

    fn note_peak(&mut self, minute: u64, bytes_per_s: u64) {
        let day = minute * MILLIS_PER_MINUTE / MILLIS_PER_DAY;
        match self.daily_peaks.back_mut() {
            Some((d, peak)) if *d == day => *peak = (*peak).max(bytes_per_s),
            _ => self.daily_peaks.push_back((day, bytes_per_s)),
        }
        while self
            .daily_peaks
            .front()
            .is_some_and(|&(d, _)| d + ON_DEMAND_PEAK_WINDOW_DAYS <= day)
        {
            self.daily_peaks.pop_front();
        }
    }
}

/// The view of a stream's capacity a UI shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapacityView {
    /// Highest per-minute write rate of the last 30 days, bytes per second.
    pub peak_write_bytes_per_s: u64,
    /// Write capacity the stream is scaling to, bytes per second (on-demand only).
    pub target_write_bytes_per_s: u64,
    /// Splits decided and not yet made.
    pub pending_splits: u32,
    /// When the next of them happens.
    pub next_split_at: Option<SimTime>,
}

impl Stream {
    /// Looks at every minute that ended since the last look and makes the splits that are due, using at most
    /// `room` more shards (the account's limit).
    pub(super) fn scale_on_demand(&mut self, now: SimTime, delay_ms: u64, room: &mut u64) {
        let minute_now = now.as_millis() / MILLIS_PER_MINUTE;
        if self.mode != StreamMode::OnDemand || self.deleting_since.is_some() {
            self.capacity.next_minute = minute_now;
            self.capacity.splits.clear();
            return;
        }
        let first = self
            .capacity
            .next_minute
            .max(minute_now.saturating_sub(MINUTES_EVALUATED_MAX));
        for minute in first..minute_now {
            self.evaluate_minute(minute, delay_ms);
        }
        self.capacity.next_minute = self.capacity.next_minute.max(minute_now);
        self.make_due_splits(now, room);
    }

    fn evaluate_minute(&mut self, minute: u64, delay_ms: u64) {
        let mut bytes: Vec<(u32, u64)> = self
            .shards
            .iter()
            .filter(|s| s.is_open())
            .map(|s| {
                (
                    s.ordinal,
                    s.metrics.minute_value(minute, Metric::IncomingBytes),
                )
            })
            .collect();
        let total: u64 = bytes.iter().map(|&(_, b)| b).sum();
        let seconds = MILLIS_PER_MINUTE / 1_000;
        self.capacity.note_peak(minute, total / seconds);
        let due = SimTime::from_millis((minute + 1) * MILLIS_PER_MINUTE)
            .saturating_add(SimDuration::from_millis(delay_ms));
        let scheduled = |c: &Capacity, ordinal: u32| c.splits.iter().any(|&(_, o)| o == ordinal);
        // Hot shards first, then the busiest others until the capacity target is met.
        bytes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let open = bytes.len() as u64;
        for (ordinal, shard_bytes) in bytes {
            let planned = open + self.capacity.splits.len() as u64;
            let hot = shard_bytes / seconds > ON_DEMAND_HOT_SHARD_BYTES_PER_S;
            let short = planned < self.capacity.target_shards();
            if (hot || short) && !scheduled(&self.capacity, ordinal) {
                self.capacity.splits.push((due, ordinal));
            }
        }
    }

    fn make_due_splits(&mut self, now: SimTime, room: &mut u64) {
        let (due, later): (Vec<_>, Vec<_>) =
            self.capacity.splits.iter().partition(|&&(at, _)| at <= now);
        self.capacity.splits = later;
        let mut due = due;
        due.sort_unstable();
        for (at, ordinal) in due {
            let Some(shard) = self.shards.get(ordinal as usize) else {
                continue;
            };
            let range = shard.range;
            if !shard.is_open() || range.starting == range.ending || *room == 0 {
                continue;
            }
            let middle = range.starting + (range.ending - range.starting) / 2 + 1;
            self.apply_reshard(
                at,
                &Reshard::Split {
                    shard: ordinal,
                    new_starting_hash_key: middle,
                },
            );
            *room -= 1;
        }
    }

    /// When the next on-demand split happens.
    pub(super) fn next_scaling(&self) -> Option<SimTime> {
        self.capacity.splits.iter().map(|&(at, _)| at).min()
    }

    /// What a UI shows about capacity.
    pub(super) fn capacity_view(&self) -> CapacityView {
        let on_demand = self.mode == StreamMode::OnDemand;
        CapacityView {
            peak_write_bytes_per_s: self.capacity.peak_bytes_per_s(),
            target_write_bytes_per_s: if on_demand {
                self.capacity.target_shards() * SHARD_WRITE_BYTES_PER_S_MAX
            } else {
                u64::from(self.open_shard_count()) * SHARD_WRITE_BYTES_PER_S_MAX
            },
            pending_splits: u32::try_from(self.capacity.splits.len()).unwrap_or(u32::MAX),
            next_split_at: self.next_scaling(),
        }
    }
}

impl DataStreams {
    /// Makes the on-demand scaling that is due by `now` in every stream, within the account's shard limit.
    pub(super) fn scale_on_demand(&mut self, now: SimTime) {
        let due = self.streams.values().any(|s| {
            s.mode == StreamMode::OnDemand
                && (now.as_millis() / MILLIS_PER_MINUTE > s.capacity.next_minute
                    || s.next_scaling().is_some_and(|at| at <= now))
        });
        if !due {
            return;
        }
        let delay_ms = self.config.on_demand_scale_delay_ms;
        let open = u64::from(self.open_shards_in_account());
        let mut room = u64::from(self.config.account_shard_limit).saturating_sub(open);
        for stream in self.streams.values_mut() {
            stream.scale_on_demand(now, delay_ms, &mut room);
        }
    }

    /// UpdateStreamMode: the stream is UPDATING for the configured delay, then in `mode`.
    pub fn update_stream_mode(
        &mut self,
        now: SimTime,
        name: &str,
        mode: StreamMode,
    ) -> Result<(), KinesisError> {
        self.advance(now);
        let delay = self.config.update_delay_ms;
        // Checked here, before the stream is borrowed, and reported in AWS's order below.
        let on_demand_room = if mode == StreamMode::OnDemand {
            self.check_on_demand_room()
        } else {
            Ok(())
        };
        let s = self.stream_mut(name)?;
        s.require_active(now)?;
        if s.mode == mode {
            // Unverified wording: AWS refuses a switch to the mode a stream is already in.
            return Err(KinesisError::invalid_argument(format!(
                "Stream {name} under account {ACCOUNT_ID} is already in {} capacity mode.",
                mode.as_str()
            )));
        }
        s.capacity
            .mode_updates
            .retain(|&at| now.saturating_since(at).as_millis() < MILLIS_PER_DAY);
        if s.capacity.mode_updates.len() >= STREAM_MODE_UPDATES_PER_DAY_MAX as usize {
            return Err(KinesisError::limit_exceeded(format!(
                "Stream {name} under account {ACCOUNT_ID} has had its capacity mode updated \
                 {STREAM_MODE_UPDATES_PER_DAY_MAX} times in the last 24 hours, the most allowed; try again later."
            )));
        }
        on_demand_room?;
        s.capacity.mode_updates.push_back(now);
        s.start_update(now, delay, Reshard::Mode(mode));
        Ok(())
    }

    /// A stream's capacity: its 30-day peak and the capacity on-demand scaling aims at.
    pub fn capacity(&self, name: &str) -> Result<CapacityView, KinesisError> {
        Ok(self.stream(name)?.capacity_view())
    }
}
