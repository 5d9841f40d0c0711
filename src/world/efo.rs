//! Enhanced fan-out subscribers as World actors: a registered consumer that subscribes to every open shard of its
//! stream (SubscribeToShard from TRIM_HORIZON), reads the events pushed to it every [`EFO_POLL_INTERVAL_MS`],
//! re-subscribes after AWS's 5-minute lifetime with AFTER_SEQUENCE_NUMBER at the last ContinuationSequenceNumber,
//! and follows ChildShards at a closed shard's end. It measures what each shard delivered in the last second, to
//! set beside the 2 MiB/s per consumer per shard and the 2 MiB/s per shard polling consumers share.

use super::{CommandError, ErrorKind, EventKind, TimerAction, World, check_length};
use crate::sim::{SimDuration, SimTime, TimerId};
use crate::streams::service::{IteratorRequest, IteratorType, SubscriptionEnd};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// How often a subscriber reads its subscriptions, in ms.
pub const EFO_POLL_INTERVAL_MS: u64 = 200;
/// Window over which delivered throughput is measured, in ms.
pub const EFO_RATE_WINDOW_MS: u64 = 1_000;
/// Wait before subscribing again after a refused SubscribeToShard, in ms (AWS allows one call per second per
/// consumer and shard).
pub const EFO_RESUBSCRIBE_DELAY_MS: u64 = 1_000;
/// Most subscribers a world runs (a simulator bound; AWS allows 20 registered consumers a stream).
pub const EFO_SUBSCRIBERS_MAX: u32 = 40;

/// One shard as a subscriber reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EfoShard {
    /// The live subscription's id.
    pub subscription: Option<u64>,
    /// Where to re-subscribe (AFTER_SEQUENCE_NUMBER); `None`: from TRIM_HORIZON.
    pub continuation: Option<String>,
    /// Read to the end of the closed shard.
    pub done: bool,
    /// Records delivered.
    pub records: u64,
    /// Bytes delivered (data plus partition key).
    pub bytes: u64,
    /// MillisBehindLatest of the last event.
    pub millis_behind_latest: u64,
    /// Subscriptions made.
    pub subscriptions: u64,
    /// (push time, bytes) of the events in the last [`EFO_RATE_WINDOW_MS`].
    window: VecDeque<(SimTime, u64)>,
    /// Earliest time to subscribe again.
    retry_at: SimTime,
    /// The last refusal, if any.
    pub last_error: Option<String>,
    /// Parent shards this subscriber reads too: the shard is read only once every one of them is read to its
    /// end (after a merge, both parents), so each key's records arrive in order, as the KCL does it.
    #[serde(default)]
    pub parents: Vec<String>,
}

impl EfoShard {
    /// Bytes pushed in the last [`EFO_RATE_WINDOW_MS`] before `now` (bytes per second).
    pub fn bytes_per_s(&self, now: SimTime) -> u64 {
        let from = now.as_millis().saturating_sub(EFO_RATE_WINDOW_MS);
        self.window
            .iter()
            .filter(|(t, _)| t.as_millis() > from)
            .map(|(_, b)| b)
            .sum()
    }
}

/// An enhanced fan-out subscriber the world runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EfoSubscriber {
    /// The stream.
    pub stream: String,
    /// The registered consumer's name.
    pub consumer: String,
    /// Its ARN, as RegisterStreamConsumer returned it.
    pub consumer_arn: String,
    /// Shards by id.
    pub shards: BTreeMap<String, EfoShard>,
    timer: Option<TimerId>,
    running: bool,
}

impl EfoSubscriber {
    /// Whether it runs.
    pub fn running(&self) -> bool {
        self.running
    }
    /// Bytes delivered in the last second over all shards.
    pub fn bytes_per_s(&self, now: SimTime) -> u64 {
        self.shards.values().map(|s| s.bytes_per_s(now)).sum()
    }
    /// Records delivered over all shards.
    pub fn records(&self) -> u64 {
        self.shards.values().map(|s| s.records).sum()
    }
}

/// The key of a subscriber: `{stream}/{consumer}`.
pub fn efo_key(stream: &str, consumer: &str) -> String {
    format!("{stream}/{consumer}")
}

impl World {
    /// Enhanced fan-out subscribers, running or stopped, by `{stream}/{consumer}`.
    pub fn efo_subscribers(&self) -> &BTreeMap<String, EfoSubscriber> {
        &self.efo_subscribers
    }

    pub(super) fn start_efo_subscriber(
        &mut self,
        stream: String,
        consumer: String,
    ) -> Result<(), CommandError> {
        check_length("consumer", &consumer, 128)?;
        let key = efo_key(&stream, &consumer);
        if self.efo_subscribers.get(&key).is_some_and(|s| s.running) {
            return Err(CommandError::new(
                ErrorKind::ResourceInUseException,
                format!("Consumer {consumer} is already subscribed to the shards of {stream}."),
            ));
        }
        if !self.efo_subscribers.contains_key(&key)
            && self.efo_subscribers.len() >= EFO_SUBSCRIBERS_MAX as usize
        {
            return Err(CommandError::new(
                ErrorKind::LimitExceededException,
                format!("A session runs at most {EFO_SUBSCRIBERS_MAX} fan-out subscribers."),
            ));
        }
        let now = self.now;
        let view = self
            .streams
            .describe_stream_consumer(
                now,
                crate::streams::service::ConsumerRef::ByName {
                    stream: &stream,
                    name: &consumer,
                },
            )
            .map_err(|e| CommandError::new(ErrorKind::ResourceNotFoundException, e.message))?;
        let (shards, _) = self
            .streams
            .describe_shards(now, &stream, u32::MAX, None)
            .map_err(|e| CommandError::new(ErrorKind::ResourceNotFoundException, e.message))?;
        let shards = shards
            .into_iter()
            .filter(|s| s.ending_sequence_number.is_none())
            .map(|s| (s.shard_id, EfoShard::default()))
            .collect();
        if let Some(old) = self.efo_subscribers.remove(&key)
            && let Some(t) = old.timer
        {
            self.timers.cancel(t);
        }
        self.efo_subscribers.insert(
            key.clone(),
            EfoSubscriber {
                stream: stream.clone(),
                consumer: consumer.clone(),
                consumer_arn: view.arn,
                shards,
                timer: None,
                running: true,
            },
        );
        self.record(EventKind::Note {
            text: format!("fan-out consumer {consumer} subscribes to the shards of {stream}"),
        });
        self.run_efo(&key);
        Ok(())
    }

    pub(super) fn stop_efo_subscriber(
        &mut self,
        stream: &str,
        consumer: &str,
    ) -> Result<(), CommandError> {
        let key = efo_key(stream, consumer);
        let Some(sub) = self.efo_subscribers.get_mut(&key).filter(|s| s.running) else {
            return Err(CommandError::new(
                ErrorKind::ResourceNotFoundException,
                format!("Consumer {consumer} is not subscribed to the shards of {stream}."),
            ));
        };
        sub.running = false;
        let records = sub.records();
        if let Some(t) = sub.timer.take() {
            self.timers.cancel(t);
        }
        self.record(EventKind::Note {
            text: format!(
                "fan-out consumer {consumer} unsubscribed from {stream} after {records} records"
            ),
        });
        Ok(())
    }

    pub(super) fn run_efo(&mut self, key: &str) {
        let now = self.now;
        let Some(sub) = self.efo_subscribers.get_mut(key) else {
            return;
        };
        sub.timer = None;
        if !sub.running {
            return;
        }
        let mut notes = Vec::new();
        let mut children = Vec::new();
        let mut stop = false;
        let (stream, arn) = (sub.stream.clone(), sub.consumer_arn.clone());
        let unfinished: std::collections::BTreeSet<String> = sub
            .shards
            .iter()
            .filter(|(_, s)| !s.done)
            .map(|(id, _)| id.clone())
            .collect();
        for (shard_id, shard) in sub.shards.iter_mut() {
            if shard.done {
                continue;
            }
            if shard.subscription.is_none() {
                if now < shard.retry_at || shard.parents.iter().any(|p| unfinished.contains(p)) {
                    continue;
                }
                let request = IteratorRequest {
                    shard_id,
                    iterator_type: if shard.continuation.is_some() {
                        IteratorType::AfterSequenceNumber
                    } else {
                        IteratorType::TrimHorizon
                    },
                    starting_sequence_number: shard.continuation.as_deref(),
                    timestamp_unix_ms: None,
                };
                match self.streams.subscribe_to_shard(now, &arn, request) {
                    Ok(id) => {
                        shard.subscription = Some(id);
                        shard.subscriptions += 1;
                        shard.last_error = None;
                    }
                    Err(e) => {
                        shard.retry_at =
                            now.saturating_add(SimDuration::from_millis(EFO_RESUBSCRIBE_DELAY_MS));
                        shard.last_error = Some(e.message);
                        continue;
                    }
                }
            }
            let Some(id) = shard.subscription else {
                continue;
            };
            let Ok(poll) = self.streams.poll_subscription(now, id) else {
                shard.subscription = None;
                continue;
            };
            for (at, event) in poll.events {
                let bytes: u64 = event
                    .records
                    .iter()
                    .map(|(_, r)| (r.data.len() + r.partition_key.len()) as u64)
                    .sum();
                shard.records += event.records.len() as u64;
                shard.bytes += bytes;
                shard.millis_behind_latest = event.millis_behind_latest;
                if bytes > 0 {
                    shard.window.push_back((at, bytes));
                }
                if let Some(c) = event.continuation_sequence_number {
                    shard.continuation = Some(c);
                }
                for child in event.child_shards {
                    children.push((child.shard_id, child.parent_shards));
                }
            }
            let from = now.as_millis().saturating_sub(EFO_RATE_WINDOW_MS);
            while shard
                .window
                .front()
                .is_some_and(|(t, _)| t.as_millis() <= from)
            {
                shard.window.pop_front();
            }
            if let Some((_, end)) = poll.ended {
                shard.subscription = None;
                shard.retry_at = now;
                match end {
                    SubscriptionEnd::ShardEnd => {
                        shard.done = true;
                        notes.push(format!("{shard_id} read to its end"));
                    }
                    SubscriptionEnd::Expired => {
                        notes.push(format!(
                            "{shard_id}: subscription ended after 5 minutes; subscribing again"
                        ));
                    }
                    SubscriptionEnd::TakenOver => {
                        notes.push(format!("{shard_id}: subscription taken over"));
                    }
                    SubscriptionEnd::ConsumerDeregistered | SubscriptionEnd::StreamDeleted => {
                        stop = true;
                    }
                }
            }
        }
        for (child, parents) in children {
            let entry = sub.shards.entry(child).or_default();
            for parent in parents {
                if !entry.parents.contains(&parent) {
                    entry.parents.push(parent);
                }
            }
        }
        if stop {
            sub.running = false;
        }
        let consumer = sub.consumer.clone();
        for note in notes {
            self.record(EventKind::Note {
                text: format!("fan-out consumer {consumer} on {stream}: {note}"),
            });
        }
        if stop {
            self.record(EventKind::Note {
                text: format!("fan-out consumer {consumer} on {stream} stopped: it was deregistered or its stream deleted"),
            });
            return;
        }
        let due = now.saturating_add(SimDuration::from_millis(EFO_POLL_INTERVAL_MS));
        if let Ok(timer) = self.timers.schedule(
            due,
            TimerAction::Efo {
                name: key.to_string(),
            },
        ) && let Some(sub) = self.efo_subscribers.get_mut(key)
        {
            sub.timer = Some(timer);
        }
    }
}
