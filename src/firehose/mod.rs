//! Amazon Data Firehose: delivery streams that buffer records and deliver them to a simulated S3.
//!
//! - [`service`]: delivery streams (lifecycle, sources, buffering, the flush pipeline);
//! - [`s3`]: the simulated S3 buckets Firehose writes and the UI and the native endpoint read;
//! - [`prefix`]: S3 object keys as Firehose writes them (`!{timestamp:...}` and friends);
//! - [`metrics`]: per-minute CloudWatch metrics of each delivery stream;
//! - [`error`]: AWS's error types.
//!
//! Depends on `sim` only; the World routes records from Kinesis data streams in.

pub mod error;
pub mod metrics;
pub mod prefix;
pub mod s3;
pub mod service;

pub use error::{FirehoseError, FirehoseErrorType};
pub use service::{DeliveryStreams, FirehoseConfig};
