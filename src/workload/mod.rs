//! Actors that drive the services the way client libraries do: a KPL-style producer that aggregates and batches,
//! KCL-style consumer groups that share shards through leases, and Lambda-style event-source mappings that poll a
//! stream and invoke a function with batches. Each actor is a state machine on simulated time: it is told `now`,
//! calls the service it drives, and says when it next wants to run.

pub mod consumer;
pub mod generator;
pub mod kcl;
pub mod kpl;
pub mod lambda;
pub mod producer;
