//! Kinesis Data Streams: routing by hash key, sequence numbers, per-shard throughput limits, and the service that
//! holds streams, shards and records on simulated time.
#![deny(clippy::float_arithmetic)]

pub mod aggregation;
pub mod error;
pub mod hash_key;
pub mod metrics;
pub mod sequence;
pub mod service;
pub mod throughput;
pub mod token;

pub use error::{ErrorType, KinesisError};
pub use service::DataStreams;
