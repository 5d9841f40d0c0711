//! Kinesis Data Streams building blocks: routing by hash key, sequence numbers, and per-shard throughput limits.
//!
//! The stream and shard state machine and the AWS-shaped API are built on these (issue 3).
#![deny(clippy::float_arithmetic)]

pub mod hash_key;
pub mod sequence;
pub mod throughput;
