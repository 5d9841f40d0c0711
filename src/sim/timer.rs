//! A timer queue on simulated time with a stable tie-break.
//!
//! Timers due at the same instant fire in the order they were scheduled (their [`TimerId`]s increase), so a run
//! never depends on heap layout or hashing. The number of pending timers is bounded by the caller's limit.

use super::time::SimTime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Identifies a scheduled timer. Ids increase in scheduling order and are never reused within a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimerId(pub u64);

/// The queue refused a timer because it already holds its limit of pending timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerQueueFull {
    /// The limit that was reached.
    pub timers_pending_max: u32,
}

/// A timer that came due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FiredTimer<T> {
    /// The id returned when it was scheduled.
    pub id: TimerId,
    /// The instant it was due (not the instant it was noticed).
    pub due: SimTime,
    /// What it carries.
    pub payload: T,
}

/// Pending timers ordered by (due time, scheduling order).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub struct TimerQueue<T> {
    #[serde(with = "due_map")]
    by_due: BTreeMap<(SimTime, TimerId), T>,
    due_by_id: BTreeMap<TimerId, SimTime>,
    next_id: u64,
    timers_pending_max: u32,
}

impl<T> TimerQueue<T> {
    /// An empty queue that holds at most `timers_pending_max` pending timers.
    pub fn new(timers_pending_max: u32) -> Self {
        TimerQueue {
            by_due: BTreeMap::new(),
            due_by_id: BTreeMap::new(),
            next_id: 0,
            timers_pending_max,
        }
    }

    /// Schedules `payload` for `due`. Fails, changing nothing, when the queue is at its limit.
    pub fn schedule(&mut self, due: SimTime, payload: T) -> Result<TimerId, TimerQueueFull> {
        if self.len() >= self.timers_pending_max {
            return Err(TimerQueueFull {
                timers_pending_max: self.timers_pending_max,
            });
        }
        let id = TimerId(self.next_id);
        self.next_id += 1;
        self.by_due.insert((due, id), payload);
        self.due_by_id.insert(id, due);
        Ok(id)
    }

    /// Removes a pending timer and returns its payload; `None` when it already fired or was cancelled.
    pub fn cancel(&mut self, id: TimerId) -> Option<T> {
        let due = self.due_by_id.remove(&id)?;
        self.by_due.remove(&(due, id))
    }

    /// When the earliest pending timer is due.
    pub fn next_due(&self) -> Option<SimTime> {
        self.by_due.keys().next().map(|&(due, _)| due)
    }

    /// Removes and returns the earliest timer due at or before `now`, ties in scheduling order.
    pub fn pop_due(&mut self, now: SimTime) -> Option<FiredTimer<T>> {
        let entry = self.by_due.first_entry()?;
        let (due, id) = *entry.key();
        if due > now {
            return None;
        }
        let payload = entry.remove();
        self.due_by_id.remove(&id);
        Some(FiredTimer { id, due, payload })
    }

    /// The due time of a pending timer.
    pub fn due_of(&self, id: TimerId) -> Option<SimTime> {
        self.due_by_id.get(&id).copied()
    }

    /// Pending timers in firing order.
    pub fn iter(&self) -> impl Iterator<Item = (TimerId, SimTime, &T)> {
        self.by_due.iter().map(|(&(due, id), p)| (id, due, p))
    }

    /// How many timers are pending.
    pub fn len(&self) -> u32 {
        // Bounded by `timers_pending_max`, a u32.
        u32::try_from(self.by_due.len()).unwrap_or(u32::MAX)
    }

    /// Whether no timer is pending.
    pub fn is_empty(&self) -> bool {
        self.by_due.is_empty()
    }
}

/// JSON object keys must be strings, so the (due, id) map is stored as a list of entries.
mod due_map {
    use super::{SimTime, TimerId};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<T: Serialize, S: Serializer>(
        map: &BTreeMap<(SimTime, TimerId), T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter().map(|(&(due, id), p)| (due, id, p)))
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<(SimTime, TimerId), T>, D::Error> {
        let entries: Vec<(SimTime, TimerId, T)> = Vec::deserialize(d)?;
        Ok(entries
            .into_iter()
            .map(|(due, id, p)| ((due, id), p))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> SimTime {
        SimTime::from_millis(ms)
    }

    #[test]
    fn fires_in_due_order_with_ties_in_scheduling_order() {
        let mut q = TimerQueue::new(100);
        q.schedule(t(20), "c").unwrap();
        q.schedule(t(10), "a").unwrap();
        q.schedule(t(20), "d").unwrap();
        q.schedule(t(10), "b").unwrap();
        assert_eq!(q.next_due(), Some(t(10)));
        assert!(q.pop_due(t(9)).is_none(), "nothing is due before 10 ms");
        let fired: Vec<_> = std::iter::from_fn(|| q.pop_due(t(20)))
            .map(|f| f.payload)
            .collect();
        assert_eq!(fired, vec!["a", "b", "c", "d"]);
        assert!(q.is_empty());
    }

    #[test]
    fn cancelled_timers_never_fire() {
        let mut q = TimerQueue::new(10);
        let a = q.schedule(t(5), 1).unwrap();
        let b = q.schedule(t(5), 2).unwrap();
        assert_eq!(q.cancel(a), Some(1));
        assert_eq!(q.cancel(a), None);
        assert_eq!(q.due_of(b), Some(t(5)));
        let f = q.pop_due(t(100)).unwrap();
        assert_eq!((f.id, f.due, f.payload), (b, t(5), 2));
        assert_eq!(q.cancel(b), None, "a fired timer cannot be cancelled");
    }

    #[test]
    fn the_limit_is_enforced_without_side_effects() {
        let mut q = TimerQueue::new(2);
        q.schedule(t(1), ()).unwrap();
        q.schedule(t(2), ()).unwrap();
        assert_eq!(
            q.schedule(t(3), ()),
            Err(TimerQueueFull {
                timers_pending_max: 2
            })
        );
        assert_eq!(q.len(), 2);
        q.pop_due(t(1)).unwrap();
        assert!(q.schedule(t(3), ()).is_ok());
    }

    #[test]
    fn survives_a_json_round_trip() {
        let mut q = TimerQueue::new(10);
        q.schedule(t(7), "x".to_string()).unwrap();
        q.schedule(t(3), "y".to_string()).unwrap();
        let json = serde_json::to_string(&q).unwrap();
        let mut back: TimerQueue<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.pop_due(t(10)).unwrap().payload, "y");
        assert_eq!(back.pop_due(t(10)).unwrap().payload, "x");
        let id = back.schedule(t(1), "z".to_string()).unwrap();
        assert_eq!(id, TimerId(2), "ids keep increasing after a restore");
    }
}
