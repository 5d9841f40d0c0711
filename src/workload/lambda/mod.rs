//! Lambda-style event-source mappings (ESM) over a Kinesis stream, in the pure core on simulated time.
//!
//! An [`EventSourceMapping`] reads a stream through the typed [`DataStreams`](crate::streams::service::DataStreams)
//! API the way Lambda's pollers do (one batch at a time per shard and lane, `ParallelizationFactor` lanes per shard
//! keyed by partition-key hash, parents before children) and asks for function invocations as values: the function
//! itself lives outside the core. The shell takes each [`Invocation`] (its event is Lambda's exact Kinesis event
//! JSON), runs the function and reports a [`FunctionResult`]; the mapping retries, bisects, honours
//! `ReportBatchItemFailures`, and sends Lambda's on-failure documents to a simulated destination.
//! [`native::run`] is a convenience that runs a Rust closure synchronously.
//!
//! Sources: "Using Lambda to process records from Amazon Kinesis Data Streams", the CreateEventSourceMapping API
//! reference, "Configuring partial batch response with Kinesis Data Streams and Lambda" and "Retain discarded batch
//! records for a Kinesis Data Streams event source in Lambda".

pub mod config;
pub mod esm;
pub mod event;
pub mod native;
pub mod request;

pub use config::{
    EsmConfig, FunctionResponseType, LambdaError, LambdaErrorType, OnFailure, StartingPosition,
};
pub use esm::{
    EsmShardView, EsmStats, EsmView, EventSourceMapping, FunctionResult, Invocation, ShardPhase,
};
pub use event::{FailureCondition, FailureRecord};
