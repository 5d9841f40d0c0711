//! Direct PUT throughput quotas of a delivery stream, on simulated time, in integers.
//!
//! AWS: "When Direct PUT is configured as the data source, each Firehose stream provides the following combined
//! quota for PutRecord and PutRecordBatch requests", in US East (N. Virginia), US West (Oregon) and Europe
//! (Ireland): 500,000 records/second, 2,000 requests/second and 5 MiB/second (developer guide, "Amazon Data
//! Firehose Quota"). The simulated region is us-east-1, so those are the limits here. Over them, PutRecord fails
//! with `ServiceUnavailableException` "Slow down." and PutRecordBatch reports that error code and message on the
//! entries that did not fit (`FailedPutCount` counts them), as AWS answers.
//!
//! Every limit holds in every window of one second ending at a call, enforced exactly by a sliding window of the
//! accepted requests, records and bytes per millisecond ([`IntakeWindow`]), as the Data Streams shard limits are.

use super::service::MIB_BYTES;
use crate::sim::SimTime;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Records per second a Direct PUT delivery stream takes (PutRecord and PutRecordBatch together), us-east-1.
pub const DIRECT_PUT_RECORDS_PER_S_MAX: u64 = 500_000;
/// PutRecord and PutRecordBatch requests per second a Direct PUT delivery stream takes, us-east-1.
pub const DIRECT_PUT_REQUESTS_PER_S_MAX: u64 = 2_000;
/// Record bytes per second a Direct PUT delivery stream takes (5 MiB/s), us-east-1.
pub const DIRECT_PUT_BYTES_PER_S_MAX: u64 = 5 * MIB_BYTES;
/// The window the per-second quotas are measured over, in ms.
pub const QUOTA_WINDOW_MS: u64 = 1_000;
/// AWS's message when a quota is exceeded (the exception's `message`, or a batch entry's `ErrorMessage`).
pub const SLOW_DOWN_MESSAGE: &str = "Slow down.";

/// The Direct PUT intake of the last second of one delivery stream, per millisecond.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeWindow {
    /// (ms, requests, records, bytes) accepted at that ms, oldest first; at most one entry per ms.
    accepted: VecDeque<(u64, u64, u64, u64)>,
    requests_in_window: u64,
    records_in_window: u64,
    bytes_in_window: u64,
}

impl IntakeWindow {
    fn expire(&mut self, now: SimTime) {
        let now_ms = now.as_millis();
        while let Some(&(ms, requests, records, bytes)) = self.accepted.front() {
            if ms.saturating_add(QUOTA_WINDOW_MS) > now_ms {
                break;
            }
            self.accepted.pop_front();
            self.requests_in_window = self.requests_in_window.saturating_sub(requests);
            self.records_in_window = self.records_in_window.saturating_sub(records);
            self.bytes_in_window = self.bytes_in_window.saturating_sub(bytes);
        }
    }

    fn add(&mut self, now: SimTime, requests: u64, records: u64, bytes: u64) {
        let now_ms = now.as_millis();
        match self.accepted.back_mut() {
            Some(last) if last.0 == now_ms => {
                last.1 = last.1.saturating_add(requests);
                last.2 = last.2.saturating_add(records);
                last.3 = last.3.saturating_add(bytes);
            }
            _ => self.accepted.push_back((now_ms, requests, records, bytes)),
        }
        self.requests_in_window = self.requests_in_window.saturating_add(requests);
        self.records_in_window = self.records_in_window.saturating_add(records);
        self.bytes_in_window = self.bytes_in_window.saturating_add(bytes);
    }

    /// Admits one request at `now` carrying records of the given sizes, in order. Returns `None` when the request
    /// itself is over [`DIRECT_PUT_REQUESTS_PER_S_MAX`] (nothing is counted), or `Some(n)`: the first `n` records
    /// fit the record and byte quotas and are counted; the records after them are throttled (once one record does
    /// not fit, the later ones of the call fail too, so the accepted ones keep the producer's order).
    pub fn admit(&mut self, now: SimTime, record_bytes: &[u64]) -> Option<usize> {
        self.expire(now);
        if self.requests_in_window >= DIRECT_PUT_REQUESTS_PER_S_MAX {
            return None;
        }
        let records_room = DIRECT_PUT_RECORDS_PER_S_MAX.saturating_sub(self.records_in_window);
        let mut bytes = self.bytes_in_window;
        let mut admitted = 0;
        for &size in record_bytes {
            if admitted as u64 >= records_room
                || bytes.saturating_add(size) > DIRECT_PUT_BYTES_PER_S_MAX
            {
                break;
            }
            bytes = bytes.saturating_add(size);
            admitted += 1;
        }
        let added_bytes = bytes.saturating_sub(self.bytes_in_window);
        self.add(now, 1, admitted as u64, added_bytes);
        Some(admitted)
    }

    /// Requests, records and bytes accepted in the second ending at `now`.
    pub fn in_window(&mut self, now: SimTime) -> (u64, u64, u64) {
        self.expire(now);
        (
            self.requests_in_window,
            self.records_in_window,
            self.bytes_in_window,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_over_the_second_are_refused_until_it_slides() {
        let mut w = IntakeWindow::default();
        let mib = [MIB_BYTES; 4];
        assert_eq!(w.admit(SimTime::from_millis(0), &mib), Some(4));
        // 4 MiB in; one more MiB fits, the second does not.
        assert_eq!(w.admit(SimTime::from_millis(500), &mib[..2]), Some(1));
        assert_eq!(w.admit(SimTime::from_millis(999), &[1]), Some(0));
        // At 1,000 ms the first 4 MiB leave the window.
        assert_eq!(w.admit(SimTime::from_millis(1_000), &mib), Some(4));
    }

    #[test]
    fn records_over_the_second_fail_from_the_first_that_does_not_fit() {
        let mut w = IntakeWindow::default();
        let batch = [1_u64; 500];
        for _ in 0..DIRECT_PUT_RECORDS_PER_S_MAX / 500 {
            assert_eq!(w.admit(SimTime::from_millis(3), &batch), Some(500));
        }
        assert_eq!(w.admit(SimTime::from_millis(4), &batch), Some(0));
        assert_eq!(w.admit(SimTime::from_millis(1_003), &batch), Some(500));
    }

    #[test]
    fn requests_over_the_second_are_refused_whole() {
        let mut w = IntakeWindow::default();
        for _ in 0..DIRECT_PUT_REQUESTS_PER_S_MAX {
            assert_eq!(w.admit(SimTime::from_millis(10), &[1]), Some(1));
        }
        assert_eq!(w.admit(SimTime::from_millis(20), &[1]), None);
        assert_eq!(
            w.in_window(SimTime::from_millis(20)),
            (
                DIRECT_PUT_REQUESTS_PER_S_MAX,
                DIRECT_PUT_REQUESTS_PER_S_MAX,
                2_000
            )
        );
        assert_eq!(w.admit(SimTime::from_millis(1_010), &[1]), Some(1));
    }
}
