//! Enhanced fan-out delivery: SubscribeToShard, and the SubscribeToShardEvents it pushes on simulated time.
//!
//! A subscription belongs to one registered consumer and one shard. It pushes the shard's records about
//! [`FANOUT_PROPAGATION_MS`] after they arrive, at most [`FANOUT_BYTES_PER_S_MAX`] in any 1-second window, with
//! its own budget: other subscriptions and polling readers do not slow it down, and it does not touch the shard's
//! shared GetRecords budget. When there is nothing to push it sends an empty event every [`FANOUT_HEARTBEAT_MS`]
//! so the consumer still learns its position. It ends [`SUBSCRIPTION_LIFETIME_MS`] after it began, at the end of
//! a closed shard (with ChildShards), when a later SubscribeToShard takes it over, when its consumer is
//! deregistered or when its stream is deleted.
//!
//! Events are computed when the subscription is polled, from the shard's contents and the clock alone: a record
//! becomes visible only after it arrived, and puts never happen in the past, so how often a caller polls never
//! changes which events it gets.

use super::{
    ACCOUNT_ID, ChildShard, ConsumerRef, ConsumerStatus, DataStreams, ErrorType, IteratorRequest,
    KinesisError, Metric, Record, SimDuration, SimTime, Stream, parse_shard_id, shard_id,
    shard_not_found,
};
use crate::streams::throughput::MIB_BYTES;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// How long a subscription lives, in ms (AWS: "for up to 5 minutes").
pub const SUBSCRIPTION_LIFETIME_MS: u64 = 300_000;
/// Shortest time between two SubscribeToShard calls for one consumer and shard, in ms (AWS: one call per second
/// per registered consumer per shard).
pub const SUBSCRIBE_CALL_INTERVAL_MS_MIN: u64 = 1_000;
/// How long a successful subscription is protected from being taken over, in ms (AWS: a second call within
/// 5 seconds of a successful one gets ResourceInUseException; a later one takes over).
pub const SUBSCRIPTION_TAKEOVER_MS_MIN: u64 = 5_000;
/// Bytes one subscription may receive in any 1-second window (AWS: 2 MiB/s per consumer per shard).
pub const FANOUT_BYTES_PER_S_MAX: u64 = 2 * MIB_BYTES;
/// Delay between a record's arrival and its push, in ms (AWS: about 70 ms on average for enhanced fan-out).
pub const FANOUT_PROPAGATION_MS: u64 = 70;
/// Time between empty events on an idle subscription, in ms (the simulator's choice: AWS sends events without
/// records to idle subscribers but does not document how often).
pub const FANOUT_HEARTBEAT_MS: u64 = 5_000;
/// Most records in one event (the simulator's bound, GetRecords' 10,000).
pub const FANOUT_EVENT_RECORDS_MAX: u32 = 10_000;
/// How long an ended subscription can still be polled for its last events, in ms.
const ENDED_KEPT_MS: u64 = SUBSCRIPTION_LIFETIME_MS;
/// The 1-second window of the byte budget, in ms.
const WINDOW_MS: u64 = 1_000;

/// Why a subscription ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubscriptionEnd {
    /// Its 5 minutes passed: call SubscribeToShard again with the last ContinuationSequenceNumber.
    Expired,
    /// It reached the end of a closed shard; the last event named the child shards.
    ShardEnd,
    /// A later SubscribeToShard for the same consumer and shard took over (the old connection fails with
    /// ResourceInUseException on AWS).
    TakenOver,
    /// Its consumer was deregistered.
    ConsumerDeregistered,
    /// Its stream was deleted.
    StreamDeleted,
}

/// One SubscribeToShardEvent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FanOutEvent {
    /// (sequence number, record), in shard order.
    pub records: Vec<(String, Record)>,
    /// Where to resubscribe (with AFTER_SEQUENCE_NUMBER); `None` only in the last event of a closed shard.
    pub continuation_sequence_number: Option<String>,
    /// How far behind the newest visible record the subscriber is, in ms (0: caught up).
    pub millis_behind_latest: u64,
    /// In the last event of a closed shard: the shards to read next.
    pub child_shards: Vec<ChildShard>,
}

/// What polling a subscription returns: the events pushed since the last poll, each with the time it was pushed,
/// and the end, once the subscription has ended and every event before the end was returned.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SubscriptionPoll {
    /// (push time, event), in order.
    pub events: Vec<(SimTime, FanOutEvent)>,
    /// When and why the subscription ended.
    pub ended: Option<(SimTime, SubscriptionEnd)>,
}

/// A consumer's identity: its name and registration time (a re-registered consumer is another consumer).
type ConsumerKey = (String, SimTime);

/// A stream's subscriptions and the SubscribeToShard call history their limits need.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FanOut {
    subscriptions: Vec<Subscription>,
    /// Last SubscribeToShard call per (consumer, shard).
    last_call: BTreeMap<(ConsumerKey, u32), SimTime>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Subscription {
    id: u64,
    consumer: ConsumerKey,
    shard: u32,
    started_at: SimTime,
    /// Index of the next record to push.
    cursor: u64,
    /// When the last event was pushed (the start, before the first).
    clock: SimTime,
    /// (push time, bytes) of the events in the last second.
    sent: VecDeque<(SimTime, u64)>,
    end: Option<(SimTime, SubscriptionEnd)>,
}

impl Subscription {
    /// When it ends (or will, if nothing else ends it first).
    fn end_time(&self) -> SimTime {
        self.end.map_or_else(
            || {
                self.started_at
                    .saturating_add(SimDuration::from_millis(SUBSCRIPTION_LIFETIME_MS))
            },
            |(at, _)| at,
        )
    }

    fn is_live(&self, now: SimTime) -> bool {
        self.end.is_none() && now < self.end_time()
    }

    /// Bytes pushed in the 1-second window ending at `t`.
    fn window_bytes(&self, t: SimTime) -> u64 {
        self.sent
            .iter()
            .filter(|&&(at, _)| t.saturating_since(at).as_millis() < WINDOW_MS)
            .map(|&(_, bytes)| bytes)
            .sum()
    }

    /// The earliest time at or after `t` when `size` more bytes fit in the window.
    fn room_at(&self, t: SimTime, size: u64) -> SimTime {
        let mut used = self.window_bytes(t);
        let mut at = t;
        for &(sent_at, bytes) in &self.sent {
            // A record larger than the whole budget goes out alone, once the window is empty.
            if used == 0 || used.saturating_add(size) <= FANOUT_BYTES_PER_S_MAX {
                break;
            }
            if t.saturating_since(sent_at).as_millis() < WINDOW_MS {
                used -= bytes;
                at = at.max(sent_at.saturating_add(SimDuration::from_millis(WINDOW_MS)));
            }
        }
        at
    }
}

fn record_bytes(r: &Record) -> u64 {
    r.data.len() as u64 + r.partition_key.len() as u64
}

fn visible_at(r: &Record) -> SimTime {
    r.arrival
        .saturating_add(SimDuration::from_millis(FANOUT_PROPAGATION_MS))
}

impl FanOut {
    /// Ends every live subscription of `consumer` at `now`.
    pub(super) fn end_consumer(
        &mut self,
        now: SimTime,
        consumer: &ConsumerKey,
        why: SubscriptionEnd,
    ) {
        for sub in &mut self.subscriptions {
            if &sub.consumer == consumer && sub.is_live(now) {
                sub.end = Some((now, why));
            }
        }
    }

    /// Ends every live subscription at `now` (the stream is being deleted).
    pub(super) fn end_all(&mut self, now: SimTime, why: SubscriptionEnd) {
        for sub in &mut self.subscriptions {
            if sub.is_live(now) {
                sub.end = Some((now, why));
            }
        }
    }

    /// Forgets subscriptions that ended long ago and call history too old to matter.
    pub(super) fn forget(&mut self, now: SimTime) {
        self.subscriptions
            .retain(|s| now.saturating_since(s.end_time()).as_millis() < ENDED_KEPT_MS);
        self.last_call.retain(|_, &mut at| {
            now.saturating_since(at).as_millis() < SUBSCRIBE_CALL_INTERVAL_MS_MIN
        });
    }
}

impl Stream {
    /// Pushes the events of `sub` due up to `until`.
    fn pump(&mut self, sub: &mut Subscription, until: SimTime) -> Vec<(SimTime, FanOutEvent)> {
        let mut events = Vec::new();
        let index = sub.shard as usize;
        while let Some(shard) = self.shards.get(index) {
            let first = shard.first_index();
            // Records trimmed by retention before they were pushed are gone, as on AWS.
            sub.cursor = sub.cursor.max(first);
            let pending = shard
                .records
                .get(usize::try_from(sub.cursor - first).unwrap_or(usize::MAX));
            let heartbeat_at = sub
                .clock
                .saturating_add(SimDuration::from_millis(FANOUT_HEARTBEAT_MS));
            let data_at =
                pending.map(|r| sub.room_at(visible_at(r).max(sub.clock), record_bytes(r)));
            let end_at = shard
                .closed_at
                .filter(|_| pending.is_none() && sub.cursor >= shard.next_index)
                .map(|closed| closed.max(sub.clock));
            let Some(t) = [Some(heartbeat_at), data_at, end_at]
                .into_iter()
                .flatten()
                .min()
            else {
                break;
            };
            if t > until {
                break;
            }
            sub.sent
                .retain(|&(at, _)| t.saturating_since(at).as_millis() < WINDOW_MS);
            let mut room = FANOUT_BYTES_PER_S_MAX.saturating_sub(sub.window_bytes(t));
            let window_empty = sub.sent.is_empty();
            let mut taken = Vec::new();
            let mut bytes = 0u64;
            let skip = usize::try_from(sub.cursor - first).unwrap_or(usize::MAX);
            for r in shard.records.range(skip.min(shard.records.len())..) {
                let size = record_bytes(r);
                let fits = size <= room || (window_empty && taken.is_empty());
                if visible_at(r) > t || !fits || taken.len() >= FANOUT_EVENT_RECORDS_MAX as usize {
                    break;
                }
                room = room.saturating_sub(size);
                bytes += size;
                taken.push(r.clone());
            }
            sub.cursor += taken.len() as u64;
            let millis_behind_latest = shard
                .records
                .get(usize::try_from(sub.cursor - first).unwrap_or(usize::MAX))
                .filter(|r| visible_at(r) <= t)
                .map_or(0, |r| t.saturating_since(r.arrival).as_millis());
            let at_end = shard
                .closed_at
                .is_some_and(|closed| closed <= t && sub.cursor >= shard.next_index);
            let records: Vec<(String, Record)> = taken
                .into_iter()
                .map(|r| (self.sequence_number(shard, r.index).to_string(), r))
                .collect();
            let event = FanOutEvent {
                continuation_sequence_number: (!at_end)
                    .then(|| self.position_sequence_number(shard, sub.cursor).to_string()),
                child_shards: if at_end {
                    self.children_of(sub.shard)
                } else {
                    Vec::new()
                },
                millis_behind_latest,
                records,
            };
            let mode = self.mode;
            self.meter
                .fanout(mode, event.records.iter().map(|(_, r)| record_bytes(r)));
            if let Some(shard) = self.shards.get_mut(index) {
                let count = event.records.len() as u64;
                shard
                    .metrics
                    .add(t, Metric::SubscribeToShardEventBytes, bytes);
                shard
                    .metrics
                    .add(t, Metric::SubscribeToShardEventRecords, count);
                shard.metrics.max(
                    t,
                    Metric::SubscribeToShardEventMillisBehindLatest,
                    millis_behind_latest,
                );
            }
            if event.records.is_empty() && !at_end && t < heartbeat_at {
                // Nothing could be pushed although a record looked due: stop rather than spin (a bug guard).
                break;
            }
            if bytes > 0 {
                sub.sent.push_back((t, bytes));
            }
            sub.clock = t;
            events.push((t, event));
            if at_end {
                sub.end = Some((t, SubscriptionEnd::ShardEnd));
                break;
            }
        }
        events
    }
}

/// ResourceNotFoundException for a subscription id the service does not know (the simulator's own API).
fn subscription_not_found(id: u64) -> KinesisError {
    KinesisError::new(
        ErrorType::ResourceNotFoundException,
        format!("Subscription {id} not found: it ended more than 5 minutes ago or never existed."),
    )
}

impl DataStreams {
    /// SubscribeToShard: starts pushing a shard's records to a registered consumer and returns the subscription's
    /// id, to poll with [`DataStreams::poll_subscription`].
    pub fn subscribe_to_shard(
        &mut self,
        now: SimTime,
        consumer_arn: &str,
        request: IteratorRequest<'_>,
    ) -> Result<u64, KinesisError> {
        self.advance(now);
        let epoch = self.epoch_unix_ms;
        let (s, index) = self.find_consumer(now, ConsumerRef::ByArn(consumer_arn))?;
        let consumer = &s.consumers[index];
        if consumer.status(now) != ConsumerStatus::Active {
            return Err(KinesisError::new(
                ErrorType::ResourceInUseException,
                format!(
                    "Consumer {consumer_arn} under account {ACCOUNT_ID} is {}; it can subscribe once it is ACTIVE.",
                    consumer.status(now).as_str()
                ),
            ));
        }
        let key: ConsumerKey = (consumer.name().to_string(), consumer.created_at());
        let name = s.name.clone();
        if !s.accepts_data(now) {
            return Err(KinesisError::stream_not_active(
                &name,
                s.status(now).as_str(),
            ));
        }
        let ordinal = parse_shard_id(request.shard_id).ok_or_else(|| {
            KinesisError::new(
                ErrorType::ResourceNotFoundException,
                format!(
                    "Could not find shard {} in stream {name} under account {ACCOUNT_ID}.",
                    request.shard_id
                ),
            )
        })?;
        let shard = s
            .shards
            .get(ordinal as usize)
            .filter(|sh| s.is_kept(sh, now))
            .ok_or_else(|| shard_not_found(ordinal, &name))?;
        let position = s.start_position(shard, &request, epoch, "SubscribeToShard")?;
        let id = self.next_subscription_id;
        let s = self.stream_mut(&name)?;
        let call_key = (key.clone(), ordinal);
        if let Some(&last) = s.fanout.last_call.get(&call_key)
            && now.saturating_since(last).as_millis() < SUBSCRIBE_CALL_INTERVAL_MS_MIN
        {
            if let Some(shard) = s.shards.get_mut(ordinal as usize) {
                shard
                    .metrics
                    .add(now, Metric::SubscribeToShardRateExceeded, 1);
            }
            return Err(KinesisError::limit_exceeded(format!(
                "Rate exceeded for consumer {consumer_arn} and shard {} in stream {name} under account \
                 {ACCOUNT_ID}: call SubscribeToShard at most once a second per consumer and shard.",
                shard_id(ordinal)
            )));
        }
        s.fanout.last_call.insert(call_key, now);
        let live = s
            .fanout
            .subscriptions
            .iter_mut()
            .find(|sub| sub.consumer == key && sub.shard == ordinal && sub.is_live(now));
        if let Some(old) = live {
            if now.saturating_since(old.started_at).as_millis() < SUBSCRIPTION_TAKEOVER_MS_MIN {
                // The message AWS has been seen to send; unverified against the live service.
                return Err(KinesisError::new(
                    ErrorType::ResourceInUseException,
                    format!("Another active subscription exists for this consumer: {consumer_arn}"),
                ));
            }
            old.end = Some((now, SubscriptionEnd::TakenOver));
        }
        s.fanout.subscriptions.push(Subscription {
            id,
            consumer: key,
            shard: ordinal,
            started_at: now,
            cursor: position,
            clock: now,
            sent: VecDeque::new(),
            end: None,
        });
        self.next_subscription_id = id.saturating_add(1);
        Ok(id)
    }

    /// The events a subscription pushed up to `now` that were not returned before, and its end once it ended.
    /// After the end was returned the subscription is gone.
    pub fn poll_subscription(
        &mut self,
        now: SimTime,
        id: u64,
    ) -> Result<SubscriptionPoll, KinesisError> {
        self.advance(now);
        let stream = self
            .streams
            .values_mut()
            .find(|s| s.fanout.subscriptions.iter().any(|sub| sub.id == id))
            .ok_or_else(|| subscription_not_found(id))?;
        let position = stream
            .fanout
            .subscriptions
            .iter()
            .position(|sub| sub.id == id)
            .ok_or_else(|| subscription_not_found(id))?;
        let mut sub = stream.fanout.subscriptions.remove(position);
        if let Some(since) = stream.deleting_since
            && sub.end.is_none()
        {
            sub.end = Some((since, SubscriptionEnd::StreamDeleted));
        }
        let end_time = sub.end_time();
        // Events are pushed strictly before the end.
        let until = now.min(SimTime::from_millis(end_time.as_millis().saturating_sub(1)));
        let events = stream.pump(&mut sub, until);
        let end_time = sub.end_time();
        let ended = if now >= end_time {
            Some(sub.end.unwrap_or((end_time, SubscriptionEnd::Expired)))
        } else {
            None
        };
        if ended.is_none() {
            stream.fanout.subscriptions.insert(position, sub);
        }
        Ok(SubscriptionPoll { events, ended })
    }
}
