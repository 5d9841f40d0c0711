//! Per-shard throughput limits on simulated time, in integers.
//!
//! Writes: at most [`SHARD_WRITE_BYTES_PER_S_MAX`] and [`SHARD_WRITE_RECORDS_PER_S_MAX`] in every window of one
//! second, enforced exactly by a sliding window ([`WriteWindow`]), so no one-second stretch ever holds more.
//! Reads: at most [`SHARD_READ_CALLS_PER_S_MAX`] GetRecords calls in every one-second window, and a byte budget
//! refilled at [`SHARD_READ_BYTES_PER_S_MAX`] ([`ReadBudget`]). A call may return more than the budget holds (up to
//! 10 MiB); it then pays for every byte it read: further calls are refused until `bytes / rate` after it, which is
//! AWS's documented 5-second wait after a 10 MiB read.

use crate::sim::SimTime;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// One MiB in bytes.
pub const MIB_BYTES: u64 = 1_048_576;
/// Shard write limit, data plus partition key bytes per second (AWS: 1 MiB/s per shard).
pub const SHARD_WRITE_BYTES_PER_S_MAX: u64 = MIB_BYTES;
/// Shard write limit in records per second (AWS: 1,000 records/s per shard).
pub const SHARD_WRITE_RECORDS_PER_S_MAX: u64 = 1_000;
/// Shared read limit per shard in bytes per second (AWS: 2 MiB/s per shard for polling consumers).
pub const SHARD_READ_BYTES_PER_S_MAX: u64 = 2 * MIB_BYTES;
/// GetRecords calls per shard per second (AWS: 5).
pub const SHARD_READ_CALLS_PER_S_MAX: u32 = 5;
/// The window every per-second limit is measured over, in ms.
pub const LIMIT_WINDOW_MS: u64 = 1_000;

/// Exact per-second write limits: the accepted bytes and records of the last second, per millisecond.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteWindow {
    /// (ms, bytes, records) accepted at that ms, oldest first; at most one entry per ms, so at most 1,000.
    accepted: VecDeque<(u64, u64, u64)>,
    bytes_in_window: u64,
    records_in_window: u64,
}

impl Default for WriteWindow {
    fn default() -> Self {
        WriteWindow::new()
    }
}

impl WriteWindow {
    /// An idle shard.
    pub fn new() -> Self {
        WriteWindow {
            accepted: VecDeque::new(),
            bytes_in_window: 0,
            records_in_window: 0,
        }
    }

    fn expire(&mut self, now: SimTime) {
        let now_ms = now.as_millis();
        while let Some(&(ms, bytes, records)) = self.accepted.front() {
            if ms + LIMIT_WINDOW_MS > now_ms {
                break;
            }
            self.accepted.pop_front();
            self.bytes_in_window -= bytes;
            self.records_in_window -= records;
        }
    }

    /// Accepts `records` records of `bytes` in all at `now` if the second ending at `now` stays within
    /// `bytes_per_s_max` and `records_per_s_max`; otherwise refuses and changes nothing.
    pub fn try_accept(
        &mut self,
        now: SimTime,
        bytes: u64,
        records: u64,
        bytes_per_s_max: u64,
        records_per_s_max: u64,
    ) -> bool {
        self.expire(now);
        if self.bytes_in_window.saturating_add(bytes) > bytes_per_s_max
            || self.records_in_window.saturating_add(records) > records_per_s_max
        {
            return false;
        }
        self.record(now, bytes, records);
        true
    }

    /// Counts a write at `now` without checking limits (for shards whose limits are switched off, so metrics and
    /// the window stay meaningful).
    pub fn record(&mut self, now: SimTime, bytes: u64, records: u64) {
        let now_ms = now.as_millis();
        match self.accepted.back_mut() {
            Some(last) if last.0 == now_ms => {
                last.1 += bytes;
                last.2 += records;
            }
            _ => self.accepted.push_back((now_ms, bytes, records)),
        }
        self.bytes_in_window += bytes;
        self.records_in_window += records;
    }

    /// Bytes and records accepted in the second ending at `now`.
    pub fn in_window(&mut self, now: SimTime) -> (u64, u64) {
        self.expire(now);
        (self.bytes_in_window, self.records_in_window)
    }
}

/// Why a read was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadRefusal {
    /// More than [`SHARD_READ_CALLS_PER_S_MAX`] calls in the last second.
    TooManyCalls,
    /// The byte budget is still paying for an earlier large read, until the given time.
    BytesOverdrawn {
        /// When reads are allowed again.
        until: SimTime,
    },
}

/// The shared read limits of one shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadBudget {
    /// Bytes available, in thousandths of a byte (a millisecond refills `rate` of them).
    balance_milli_bytes: u64,
    refilled_at: SimTime,
    blocked_until: SimTime,
    calls: VecDeque<u64>,
}

impl Default for ReadBudget {
    fn default() -> Self {
        ReadBudget::new()
    }
}

impl ReadBudget {
    /// A full budget.
    pub fn new() -> Self {
        ReadBudget {
            balance_milli_bytes: SHARD_READ_BYTES_PER_S_MAX * 1_000,
            refilled_at: SimTime::ZERO,
            blocked_until: SimTime::ZERO,
            calls: VecDeque::new(),
        }
    }

    fn refill(&mut self, now: SimTime, bytes_per_s: u64) {
        if now <= self.refilled_at {
            return;
        }
        let elapsed_ms = now.saturating_since(self.refilled_at).as_millis();
        let capacity = bytes_per_s.saturating_mul(1_000);
        self.balance_milli_bytes = self
            .balance_milli_bytes
            .saturating_add(elapsed_ms.saturating_mul(bytes_per_s))
            .min(capacity);
        self.refilled_at = now;
    }

    /// Starts a GetRecords call at `now`: refused while an earlier read is being paid for or when the call rate
    /// is used up; otherwise counted.
    pub fn begin_call(&mut self, now: SimTime, calls_per_s_max: u32) -> Result<(), ReadRefusal> {
        if now < self.blocked_until {
            return Err(ReadRefusal::BytesOverdrawn {
                until: self.blocked_until,
            });
        }
        let now_ms = now.as_millis();
        while self
            .calls
            .front()
            .is_some_and(|&ms| ms + LIMIT_WINDOW_MS <= now_ms)
        {
            self.calls.pop_front();
        }
        if self.calls.len() >= calls_per_s_max as usize {
            return Err(ReadRefusal::TooManyCalls);
        }
        self.calls.push_back(now_ms);
        Ok(())
    }

    /// Charges `bytes` read by a call at `now`. A read larger than the balance empties it and blocks further
    /// calls until it is paid for at `bytes_per_s`.
    pub fn charge(&mut self, now: SimTime, bytes: u64, bytes_per_s: u64) {
        self.refill(now, bytes_per_s);
        let cost = bytes.saturating_mul(1_000);
        if cost <= self.balance_milli_bytes {
            self.balance_milli_bytes -= cost;
            return;
        }
        let rate = bytes_per_s.max(1);
        let wait_ms = cost.div_ceil(rate);
        self.blocked_until = now.saturating_add(crate::sim::SimDuration::from_millis(wait_ms));
        self.balance_milli_bytes = 0;
        self.refilled_at = self.blocked_until;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
    }

    fn put(w: &mut WriteWindow, ms: u64, bytes: u64, records: u64) -> bool {
        w.try_accept(
            t(ms),
            bytes,
            records,
            SHARD_WRITE_BYTES_PER_S_MAX,
            SHARD_WRITE_RECORDS_PER_S_MAX,
        )
    }

    #[test]
    fn writes_are_limited_in_every_one_second_window() {
        let mut w = WriteWindow::new();
        for i in 0..1_000 {
            assert!(put(&mut w, i, 10, 1), "record {i}");
        }
        assert!(
            !put(&mut w, 999, 10, 1),
            "the 1,001st record in one second is refused"
        );
        assert!(
            put(&mut w, 1_000, 10, 1),
            "the first millisecond's record left the window"
        );
        assert!(!put(&mut w, 1_000, 10, 1));
        assert_eq!(w.in_window(t(1_000)), (10_000, 1_000));
        assert_eq!(w.in_window(t(5_000)), (0, 0));
    }

    #[test]
    fn bytes_are_limited_to_one_mib_per_second() {
        let mut w = WriteWindow::new();
        assert!(put(&mut w, 0, MIB_BYTES - 1, 1));
        assert!(!put(&mut w, 500, 2, 1), "one byte over 1 MiB is refused");
        assert!(put(&mut w, 500, 1, 1));
        assert!(put(&mut w, 1_000, MIB_BYTES - 1, 1));
    }

    #[test]
    fn five_calls_a_second_then_refused() {
        let mut r = ReadBudget::new();
        for i in 0..5 {
            assert_eq!(r.begin_call(t(i * 100), SHARD_READ_CALLS_PER_S_MAX), Ok(()));
        }
        assert_eq!(
            r.begin_call(t(900), SHARD_READ_CALLS_PER_S_MAX),
            Err(ReadRefusal::TooManyCalls)
        );
        assert_eq!(r.begin_call(t(1_000), SHARD_READ_CALLS_PER_S_MAX), Ok(()));
    }

    #[test]
    fn a_10_mib_read_blocks_reads_for_5_seconds() {
        let mut r = ReadBudget::new();
        r.begin_call(t(0), 5).unwrap();
        r.charge(t(0), 10 * MIB_BYTES, SHARD_READ_BYTES_PER_S_MAX);
        assert_eq!(
            r.begin_call(t(4_999), 5),
            Err(ReadRefusal::BytesOverdrawn { until: t(5_000) })
        );
        assert_eq!(r.begin_call(t(5_000), 5), Ok(()));
        // The budget starts empty after the penalty: another large read pays in full again.
        r.charge(t(5_000), 2 * MIB_BYTES, SHARD_READ_BYTES_PER_S_MAX);
        assert!(r.begin_call(t(5_500), 5).is_err());
    }

    #[test]
    fn small_reads_within_the_budget_never_block() {
        let mut r = ReadBudget::new();
        for i in 0..50u64 {
            let now = t(i * 200);
            assert_eq!(r.begin_call(now, 5), Ok(()), "call {i}");
            r.charge(now, 400 * 1_024, SHARD_READ_BYTES_PER_S_MAX);
        }
    }
}
