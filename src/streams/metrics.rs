//! Per-shard metrics per simulated minute, under CloudWatch's names.

use crate::sim::SimTime;
use crate::sim::time::MILLIS_PER_MINUTE;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Minutes of metrics a shard keeps (CloudWatch keeps 1-minute data for 15 days; the simulator keeps one day).
pub const METRIC_MINUTES_KEPT: u64 = 24 * 60;

/// The metrics the simulator records, named as in CloudWatch's `AWS/Kinesis` namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Metric {
    /// Bytes put (data plus partition key).
    IncomingBytes,
    /// Records put.
    IncomingRecords,
    /// Records refused by the shard write limit.
    WriteProvisionedThroughputExceeded,
    /// GetRecords calls refused by the shard read limits.
    ReadProvisionedThroughputExceeded,
    /// Age of the oldest record returned by GetRecords (maximum over the minute).
    GetRecordsIteratorAgeMilliseconds,
    /// PutRecords entries refused by throttling.
    PutRecordsThrottledRecords,
    /// Bytes returned by GetRecords (the shared 2 MiB/s a shard).
    GetRecordsBytes,
    /// Records returned by GetRecords.
    GetRecordsRecords,
    /// Bytes pushed to enhanced fan-out consumers (each has its own 2 MiB/s a shard).
    SubscribeToShardEventBytes,
    /// Records pushed to enhanced fan-out consumers.
    SubscribeToShardEventRecords,
    /// How far behind the tip enhanced fan-out events were (maximum over the minute).
    SubscribeToShardEventMillisBehindLatest,
    /// SubscribeToShard calls refused for calling more than once a second.
    SubscribeToShardRateExceeded,
}

impl Metric {
    /// CloudWatch's metric name.
    pub fn cloudwatch_name(self) -> &'static str {
        match self {
            Metric::IncomingBytes => "IncomingBytes",
            Metric::IncomingRecords => "IncomingRecords",
            Metric::WriteProvisionedThroughputExceeded => "WriteProvisionedThroughputExceeded",
            Metric::ReadProvisionedThroughputExceeded => "ReadProvisionedThroughputExceeded",
            Metric::GetRecordsIteratorAgeMilliseconds => "GetRecords.IteratorAgeMilliseconds",
            Metric::PutRecordsThrottledRecords => "PutRecords.ThrottledRecords",
            Metric::GetRecordsBytes => "GetRecords.Bytes",
            Metric::GetRecordsRecords => "GetRecords.Records",
            Metric::SubscribeToShardEventBytes => "SubscribeToShardEvent.Bytes",
            Metric::SubscribeToShardEventRecords => "SubscribeToShardEvent.Records",
            Metric::SubscribeToShardEventMillisBehindLatest => {
                "SubscribeToShardEvent.MillisBehindLatest"
            }
            Metric::SubscribeToShardRateExceeded => "SubscribeToShard.RateExceeded",
        }
    }

    /// Whether the minute's value is a maximum (otherwise a sum).
    pub fn is_max(self) -> bool {
        matches!(
            self,
            Metric::GetRecordsIteratorAgeMilliseconds
                | Metric::SubscribeToShardEventMillisBehindLatest
        )
    }
}

/// How many metrics there are.
const METRICS: usize = 12;

impl Metric {
    const ALL: [Metric; METRICS] = [
        Metric::IncomingBytes,
        Metric::IncomingRecords,
        Metric::WriteProvisionedThroughputExceeded,
        Metric::ReadProvisionedThroughputExceeded,
        Metric::GetRecordsIteratorAgeMilliseconds,
        Metric::PutRecordsThrottledRecords,
        Metric::GetRecordsBytes,
        Metric::GetRecordsRecords,
        Metric::SubscribeToShardEventBytes,
        Metric::SubscribeToShardEventRecords,
        Metric::SubscribeToShardEventMillisBehindLatest,
        Metric::SubscribeToShardRateExceeded,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// One shard's metrics, per minute of simulated time. The current minute is a plain array (a put touches it
/// twice, so it must be cheap); finished minutes move to a map and roll off after [`METRIC_MINUTES_KEPT`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMetrics {
    current_minute: u64,
    current: [Option<u64>; METRICS],
    /// Stored as a list: JSON map keys must be strings, and a session's snapshot is JSON.
    #[serde(with = "minutes_as_list")]
    minutes: BTreeMap<(u64, Metric), u64>,
}

/// The finished minutes as a list of ((minute, metric), value) in JSON, so a world with metrics older than a
/// minute can be snapshotted. Reads back the empty map earlier snapshots held (the only one they could write).
mod minutes_as_list {
    use super::Metric;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    type Minutes = BTreeMap<(u64, Metric), u64>;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        List(Vec<((u64, Metric), u64)>),
        EmptyMap(BTreeMap<String, u64>),
    }

    pub fn serialize<S: Serializer>(minutes: &Minutes, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(minutes.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Minutes, D::Error> {
        match Stored::deserialize(deserializer)? {
            Stored::List(list) => Ok(list.into_iter().collect()),
            Stored::EmptyMap(map) if map.is_empty() => Ok(Minutes::new()),
            Stored::EmptyMap(_) => Err(serde::de::Error::custom(
                "shard metrics: minutes must be a list",
            )),
        }
    }
}

impl ShardMetrics {
    fn slot(&mut self, now: SimTime, metric: Metric) -> &mut u64 {
        let minute = now.as_millis() / MILLIS_PER_MINUTE;
        if minute < self.current_minute {
            // A value for a minute already rolled (fan-out events are timed when they were pushed, which can be
            // before the last put the shard saw).
            return self.minutes.entry((minute, metric)).or_insert(0);
        }
        if minute != self.current_minute {
            self.roll(minute);
        }
        self.current[metric.index()].get_or_insert(0)
    }

    fn roll(&mut self, minute: u64) {
        for metric in Metric::ALL {
            if let Some(value) = self.current[metric.index()].take() {
                self.minutes.insert((self.current_minute, metric), value);
            }
        }
        self.current_minute = minute;
        if let Some(&(oldest, _)) = self.minutes.keys().next()
            && oldest + METRIC_MINUTES_KEPT <= minute
        {
            let keep_from = minute + 1 - METRIC_MINUTES_KEPT;
            self.minutes = self.minutes.split_off(&(keep_from, Metric::IncomingBytes));
        }
    }

    /// Adds `value` to this minute's sum.
    pub fn add(&mut self, now: SimTime, metric: Metric, value: u64) {
        let slot = self.slot(now, metric);
        *slot = slot.saturating_add(value);
    }

    /// Raises this minute's maximum to `value`.
    pub fn max(&mut self, now: SimTime, metric: Metric, value: u64) {
        let slot = self.slot(now, metric);
        *slot = (*slot).max(value);
    }

    /// The value of `metric` in minute `minute` (minutes since simulated zero), 0 when none was recorded.
    pub fn minute_value(&self, minute: u64, metric: Metric) -> u64 {
        if minute == self.current_minute {
            self.current[metric.index()].unwrap_or(0)
        } else {
            self.minutes.get(&(minute, metric)).copied().unwrap_or(0)
        }
    }

    /// (minute start, metric, value) in time order.
    pub fn iter(&self) -> impl Iterator<Item = (SimTime, Metric, u64)> + '_ {
        let current = Metric::ALL
            .into_iter()
            .filter_map(|m| self.current[m.index()].map(|v| ((self.current_minute, m), v)));
        self.minutes
            .iter()
            .map(|(&k, &v)| (k, v))
            .chain(current)
            .map(|((minute, metric), v)| {
                (SimTime::from_millis(minute * MILLIS_PER_MINUTE), metric, v)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_minutes_round_trip_through_json() {
        let mut m = ShardMetrics::default();
        m.add(SimTime::from_millis(1_000), Metric::IncomingRecords, 2);
        m.add(SimTime::from_millis(61_000), Metric::IncomingBytes, 9);
        let json = serde_json::to_string(&m).expect("a shard's metrics are JSON");
        let back: ShardMetrics = serde_json::from_str(&json).expect("reads back");
        assert_eq!(back, m);
        // The empty map earlier snapshots held still reads.
        let empty = serde_json::to_string(&ShardMetrics::default())
            .expect("JSON")
            .replace("\"minutes\":[]", "\"minutes\":{}");
        let old: ShardMetrics = serde_json::from_str(&empty).expect("reads the old form");
        assert_eq!(old, ShardMetrics::default());
    }

    #[test]
    fn sums_and_maxima_per_minute_and_old_minutes_roll_off() {
        let mut m = ShardMetrics::default();
        m.add(SimTime::from_millis(1_000), Metric::IncomingRecords, 2);
        m.add(SimTime::from_millis(59_999), Metric::IncomingRecords, 3);
        m.add(SimTime::from_millis(60_000), Metric::IncomingRecords, 1);
        m.max(
            SimTime::from_millis(60_000),
            Metric::GetRecordsIteratorAgeMilliseconds,
            7,
        );
        m.max(
            SimTime::from_millis(60_001),
            Metric::GetRecordsIteratorAgeMilliseconds,
            5,
        );
        let rows: Vec<_> = m.iter().collect();
        assert_eq!(
            rows,
            vec![
                (SimTime::ZERO, Metric::IncomingRecords, 5),
                (SimTime::from_millis(60_000), Metric::IncomingRecords, 1),
                (
                    SimTime::from_millis(60_000),
                    Metric::GetRecordsIteratorAgeMilliseconds,
                    7
                ),
            ]
        );
        m.add(
            SimTime::from_millis(MILLIS_PER_MINUTE * (METRIC_MINUTES_KEPT + 1)),
            Metric::IncomingBytes,
            1,
        );
        assert_eq!(m.iter().count(), 1);
    }
}
