//! SubscribeToShard over HTTP/1.1: the response is an AWS event stream (`application/vnd.amazon.eventstream`)
//! sent with chunked transfer, one chunk per message, written as the simulation pushes events.
//!
//! Each open subscription's connection thread polls the World every [`POLL_INTERVAL_MS`] of real time (so
//! time moved by `POST /_kinesim/advance` is seen at the next poll) and stops when the subscription ends or a
//! write fails (the client went away). At most [`SUBSCRIPTIONS_OPEN_MAX`] are open at once; more are refused
//! with LimitExceededException before the World sees them.

use super::{Shared, eventstream, lock};
use kinesim::streams::service::SubscriptionEnd;
use kinesim::streams::{ErrorType, KinesisError};
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most SubscribeToShard streams open at once (one connection thread each).
pub const SUBSCRIPTIONS_OPEN_MAX: usize = 64;
/// Real time between two polls of an open subscription.
pub const POLL_INTERVAL_MS: u64 = 50;
/// The response's content type.
pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// A reserved place among the open subscriptions; dropping it frees the place.
#[derive(Debug)]
pub struct Slot {
    open: Arc<AtomicUsize>,
}

impl Slot {
    /// Reserves a place, or `None` when [`SUBSCRIPTIONS_OPEN_MAX`] are open.
    pub fn take(open: &Arc<AtomicUsize>) -> Option<Slot> {
        open.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < SUBSCRIPTIONS_OPEN_MAX).then_some(n + 1)
        })
        .ok()
        .map(|_| Slot {
            open: Arc::clone(open),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The error for a SubscribeToShard beyond [`SUBSCRIPTIONS_OPEN_MAX`].
pub fn too_many_open() -> KinesisError {
    KinesisError::new(
        ErrorType::LimitExceededException,
        format!(
            "kinesim serve holds at most {SUBSCRIPTIONS_OPEN_MAX} open SubscribeToShard streams; \
             close one (or let it end) before subscribing again."
        ),
    )
}

/// What the stream says about the subscription it serves (for exception messages).
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// The consumer's ARN.
    pub consumer_arn: String,
    /// The shard.
    pub shard_id: String,
}

/// Streams subscription `id` to the client on `writer` (the connection's own thread) until the subscription ends
/// or a write fails. Holding `slot` counts the stream among the open ones.
pub fn run(
    shared: &Mutex<Shared>,
    slot: Slot,
    id: u64,
    target: &Target,
    writer: &mut dyn Write,
    http_1_1: bool,
    request_id: &str,
) {
    let _slot = slot;
    let mut out = Out {
        writer,
        chunked: http_1_1,
    };
    // An error here means the client went away; the subscription stays in the simulation until it ends, as on
    // AWS.
    let _ = stream(shared, id, target, request_id, &mut out);
}

/// The response writer: chunked on HTTP/1.1, plain (ended by closing) on HTTP/1.0.
struct Out<'w> {
    writer: &'w mut dyn Write,
    chunked: bool,
}

impl Out<'_> {
    fn head(&mut self, request_id: &str) -> io::Result<()> {
        let mut head = String::from("HTTP/1.1 200 OK\r\n");
        head.push_str(&format!("Content-Type: {CONTENT_TYPE}\r\n"));
        head.push_str(&format!("x-amzn-RequestId: {request_id}\r\n"));
        head.push_str("Access-Control-Allow-Origin: *\r\n");
        head.push_str("Access-Control-Expose-Headers: x-amzn-RequestId, x-amz-id-2\r\n");
        if self.chunked {
            head.push_str("Transfer-Encoding: chunked\r\n");
        }
        head.push_str("Connection: close\r\n\r\n");
        self.writer.write_all(head.as_bytes())?;
        self.writer.flush()
    }

    fn message(&mut self, message: &[u8]) -> io::Result<()> {
        if self.chunked {
            self.writer
                .write_all(format!("{:X}\r\n", message.len()).as_bytes())?;
            self.writer.write_all(message)?;
            self.writer.write_all(b"\r\n")?;
        } else {
            self.writer.write_all(message)?;
        }
        self.writer.flush()
    }

    fn end(&mut self) -> io::Result<()> {
        if self.chunked {
            self.writer.write_all(b"0\r\n\r\n")?;
        }
        self.writer.flush()
    }
}

fn stream(
    shared: &Mutex<Shared>,
    id: u64,
    target: &Target,
    request_id: &str,
    out: &mut Out<'_>,
) -> io::Result<()> {
    out.head(request_id)?;
    out.message(&eventstream::event("initial-response", b"{}"))?;
    loop {
        let polled = {
            let mut state = lock(shared);
            let now = state.clock.now();
            state.world.kinesis_subscription_events(now, id)
        };
        match polled {
            Ok(polled) => {
                for (_, event) in &polled.events {
                    let inner = &event["SubscribeToShardEvent"];
                    out.message(&eventstream::event(
                        "SubscribeToShardEvent",
                        inner.to_string().as_bytes(),
                    ))?;
                }
                if let Some((_, end)) = polled.ended {
                    if let Some((kind, message)) = end_exception(end, target) {
                        out.message(&eventstream::exception(kind, &message))?;
                    }
                    return out.end();
                }
            }
            Err(error) => {
                let kind = match error.error_type {
                    ErrorType::InternalFailure => "InternalFailureException",
                    other => other.as_str(),
                };
                out.message(&eventstream::exception(kind, &error.message))?;
                return out.end();
            }
        }
        std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MS));
    }
}

/// How a subscription's end shows on the stream: Expired and ShardEnd close it quietly (the client
/// resubscribes, from the last ContinuationSequenceNumber or the child shards); the others fail it with an
/// exception message.
fn end_exception(end: SubscriptionEnd, target: &Target) -> Option<(&'static str, String)> {
    let Target {
        consumer_arn,
        shard_id,
    } = target;
    match end {
        SubscriptionEnd::Expired | SubscriptionEnd::ShardEnd => None,
        SubscriptionEnd::TakenOver => Some((
            "ResourceInUseException",
            format!(
                "Another SubscribeToShard for consumer {consumer_arn} and shard {shard_id} took over \
                 this subscription."
            ),
        )),
        SubscriptionEnd::ConsumerDeregistered => Some((
            "ResourceNotFoundException",
            format!("Consumer {consumer_arn} was deregistered."),
        )),
        SubscriptionEnd::StreamDeleted => Some((
            "ResourceNotFoundException",
            format!("The stream of consumer {consumer_arn} was deleted."),
        )),
    }
}
