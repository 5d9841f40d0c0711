//! Enhanced fan-out consumers: RegisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers and
//! DeregisterStreamConsumer, with their CREATING, ACTIVE and DELETING lifecycle and AWS's limits.

use super::{
    ACCOUNT_ID, DataStreams, ErrorType, KinesisError, SimDuration, SimTime, Stream, stream_arn,
};
use serde::{Deserialize, Serialize};

/// Registered consumers a stream may have (AWS: 20).
pub const STREAM_CONSUMERS_MAX: u32 = 20;
/// Consumers a stream may have in CREATING at once (AWS: 5).
pub const STREAM_CONSUMERS_CREATING_MAX: u32 = 5;
/// Default simulated time a new consumer stays CREATING, in ms.
pub const CONSUMER_CREATE_DELAY_MS_DEFAULT: u64 = 5_000;
/// Default simulated time a deregistered consumer stays DELETING, in ms.
pub const CONSUMER_DELETE_DELAY_MS_DEFAULT: u64 = 5_000;

/// A consumer's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsumerStatus {
    /// Being registered.
    Creating,
    /// Can subscribe.
    Active,
    /// Being deregistered.
    Deleting,
}

impl ConsumerStatus {
    /// AWS's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumerStatus::Creating => "CREATING",
            ConsumerStatus::Active => "ACTIVE",
            ConsumerStatus::Deleting => "DELETING",
        }
    }
}

/// A registered consumer, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Consumer {
    name: String,
    created_at: SimTime,
    active_at: SimTime,
    gone_at: Option<SimTime>,
}

impl Consumer {
    /// Its name.
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// When it was registered (tells a re-registered consumer of the same name apart).
    pub(super) fn created_at(&self) -> SimTime {
        self.created_at
    }

    pub(super) fn status(&self, now: SimTime) -> ConsumerStatus {
        if self.gone_at.is_some() {
            ConsumerStatus::Deleting
        } else if now < self.active_at {
            ConsumerStatus::Creating
        } else {
            ConsumerStatus::Active
        }
    }
}

/// A consumer as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerView {
    /// ConsumerName.
    pub name: String,
    /// ConsumerARN.
    pub arn: String,
    /// ConsumerStatus.
    pub status: ConsumerStatus,
    /// ConsumerCreationTimestamp.
    pub created_at: SimTime,
    /// The stream's ARN.
    pub stream_arn: String,
}

/// How a request names a consumer: by stream and name, or by its ARN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerRef<'a> {
    /// StreamARN plus ConsumerName.
    ByName {
        /// The stream's name.
        stream: &'a str,
        /// The consumer's name.
        name: &'a str,
    },
    /// ConsumerARN.
    ByArn(&'a str),
}

impl Stream {
    /// Consumers still registered (CREATING, ACTIVE or DELETING) at `now`.
    pub(super) fn consumer_count(&self, now: SimTime) -> u32 {
        let live = self
            .consumers
            .iter()
            .filter(|c| c.gone_at.is_none_or(|g| now < g))
            .count();
        u32::try_from(live).unwrap_or(u32::MAX)
    }

    /// Drops consumers whose deregistration has finished.
    pub(super) fn forget_consumers(&mut self, now: SimTime) {
        self.consumers.retain(|c| c.gone_at.is_none_or(|g| now < g));
    }

    /// The next consumer status change after `now`.
    pub(super) fn next_consumer_transition(&self, now: SimTime) -> Option<SimTime> {
        self.consumers
            .iter()
            .filter_map(|c| c.gone_at.or(Some(c.active_at)))
            .filter(|&t| t > now)
            .min()
    }

    fn consumer_arn(&self, c: &Consumer, epoch_unix_ms: u64) -> String {
        let seconds = epoch_unix_ms.saturating_add(c.created_at.as_millis()) / 1_000;
        format!("{}/consumer/{}:{seconds}", stream_arn(&self.name), c.name)
    }

    fn consumer_view(&self, c: &Consumer, now: SimTime, epoch_unix_ms: u64) -> ConsumerView {
        ConsumerView {
            name: c.name.clone(),
            arn: self.consumer_arn(c, epoch_unix_ms),
            status: c.status(now),
            created_at: c.created_at,
            stream_arn: stream_arn(&self.name),
        }
    }
}

/// Splits a consumer ARN into (stream name, consumer name, creation seconds).
fn parse_consumer_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.split_once(":stream/")?.1;
    let (stream, rest) = rest.split_once("/consumer/")?;
    let (name, seconds) = rest.rsplit_once(':')?;
    Some((stream, name, seconds))
}

/// `Consumer {name or ARN}, account {account} not found.` (the form other emulators report from AWS; unverified).
fn consumer_not_found(consumer: &str) -> KinesisError {
    KinesisError::new(
        ErrorType::ResourceNotFoundException,
        format!("Consumer {consumer}, account {ACCOUNT_ID} not found."),
    )
}

impl DataStreams {
    /// RegisterStreamConsumer.
    pub fn register_stream_consumer(
        &mut self,
        now: SimTime,
        stream: &str,
        name: &str,
    ) -> Result<ConsumerView, KinesisError> {
        self.advance(now);
        let delay = self.config.consumer_create_delay_ms;
        let epoch = self.epoch_unix_ms;
        let s = self.stream_mut(stream)?;
        s.require_active(now)?;
        if s.consumers.iter().any(|c| c.name == name) {
            return Err(KinesisError::new(
                ErrorType::ResourceInUseException,
                format!(
                    "Consumer {} under stream {stream} already exists for account {ACCOUNT_ID}.",
                    name
                ),
            ));
        }
        if s.consumer_count(now) >= STREAM_CONSUMERS_MAX {
            return Err(KinesisError::limit_exceeded(format!(
                "Stream {stream} under account {ACCOUNT_ID} already has {STREAM_CONSUMERS_MAX} registered \
                 consumers, the most a stream may have."
            )));
        }
        let creating = s
            .consumers
            .iter()
            .filter(|c| c.status(now) == ConsumerStatus::Creating)
            .count();
        if creating >= STREAM_CONSUMERS_CREATING_MAX as usize {
            return Err(KinesisError::limit_exceeded(format!(
                "Stream {stream} under account {ACCOUNT_ID} already has {STREAM_CONSUMERS_CREATING_MAX} consumers \
                 in CREATING status; wait until one is ACTIVE."
            )));
        }
        let consumer = Consumer {
            name: name.to_string(),
            created_at: now,
            active_at: now.saturating_add(SimDuration::from_millis(delay)),
            gone_at: None,
        };
        let view = s.consumer_view(&consumer, now, epoch);
        s.meter.consumer_registered(now, name);
        s.consumers.push(consumer);
        Ok(view)
    }

    pub(super) fn find_consumer(
        &self,
        now: SimTime,
        which: ConsumerRef<'_>,
    ) -> Result<(&Stream, usize), KinesisError> {
        match which {
            ConsumerRef::ByName { stream, name } => {
                let s = self.stream(stream)?;
                let index = s
                    .consumers
                    .iter()
                    .position(|c| c.name == name && c.gone_at.is_none_or(|g| now < g))
                    .ok_or_else(|| consumer_not_found(name))?;
                Ok((s, index))
            }
            ConsumerRef::ByArn(arn) => {
                let (stream, name, seconds) =
                    parse_consumer_arn(arn).ok_or_else(|| consumer_not_found(arn))?;
                let s = self
                    .streams
                    .get(stream)
                    .ok_or_else(|| consumer_not_found(arn))?;
                let index = s
                    .consumers
                    .iter()
                    .position(|c| {
                        c.name == name
                            && c.gone_at.is_none_or(|g| now < g)
                            && s.consumer_arn(c, self.epoch_unix_ms)
                                .ends_with(&format!(":{seconds}"))
                    })
                    .ok_or_else(|| consumer_not_found(arn))?;
                Ok((s, index))
            }
        }
    }

    /// DescribeStreamConsumer.
    pub fn describe_stream_consumer(
        &mut self,
        now: SimTime,
        which: ConsumerRef<'_>,
    ) -> Result<ConsumerView, KinesisError> {
        self.advance(now);
        let (s, index) = self.find_consumer(now, which)?;
        Ok(s.consumer_view(&s.consumers[index], now, self.epoch_unix_ms))
    }

    /// ListStreamConsumers: consumers in registration order from `start`, at most `max_results`, and whether more
    /// follow.
    pub fn list_stream_consumers(
        &mut self,
        now: SimTime,
        stream: &str,
        start: usize,
        max_results: usize,
    ) -> Result<(Vec<ConsumerView>, bool), KinesisError> {
        self.advance(now);
        let s = self.stream(stream)?;
        let all: Vec<ConsumerView> = s
            .consumers
            .iter()
            .map(|c| s.consumer_view(c, now, self.epoch_unix_ms))
            .collect();
        let more = all.len() > start.saturating_add(max_results);
        Ok((
            all.into_iter().skip(start).take(max_results).collect(),
            more,
        ))
    }

    /// The stream's registered consumers at `now` (CREATING, ACTIVE or DELETING), read-only, for views.
    pub fn consumer_views(&self, now: SimTime, stream: &str) -> Vec<ConsumerView> {
        let Ok(s) = self.stream(stream) else {
            return Vec::new();
        };
        s.consumers
            .iter()
            .filter(|c| c.gone_at.is_none_or(|g| now < g))
            .map(|c| s.consumer_view(c, now, self.epoch_unix_ms))
            .collect()
    }

    /// DeregisterStreamConsumer: DELETING for the configured delay, then gone.
    pub fn deregister_stream_consumer(
        &mut self,
        now: SimTime,
        which: ConsumerRef<'_>,
    ) -> Result<(), KinesisError> {
        self.advance(now);
        let delay = self.config.consumer_delete_delay_ms;
        let (s, index) = self.find_consumer(now, which)?;
        let name = s.name.clone();
        let s = self.stream_mut(&name)?;
        if let Some(c) = s.consumers.get_mut(index)
            && c.gone_at.is_none()
        {
            c.gone_at = Some(now.saturating_add(SimDuration::from_millis(delay)));
            let consumer = (c.name.clone(), c.created_at);
            s.meter.consumer_deregistered(now, &consumer.0);
            s.fanout
                .end_consumer(now, &consumer, super::SubscriptionEnd::ConsumerDeregistered);
        }
        Ok(())
    }
}
