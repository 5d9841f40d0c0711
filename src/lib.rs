//! kinesim: a deterministic simulator of Amazon Kinesis that runs natively and in the browser.
//!
//! # Module map
//! - [`sim`]: the simulation kernel: integer simulated time ([`sim::SimTime`]), a seeded forkable RNG
//!   ([`sim::SimRng`]) and a timer queue with a stable tie-break. Depends on nothing else in the crate.
//! - [`streams`]: Kinesis Data Streams building blocks: partition-key routing (MD5 to 128-bit hash keys), sequence
//!   numbers and per-shard throughput limits on simulated time.
//! - [`analytics`]: Kinesis Data Analytics SQL on simulated time: sqlparser front end with a dialect rewrite layer,
//!   tumbling/sliding/stagger/hop/session windows with watermarks, aggregates, HyperLogLog, golden-tested.
//! - [`firehose`]: Amazon Data Firehose: delivery streams, buffering, the flush pipeline, a simulated S3,
//!   transformation, dynamic partitioning, the HTTP endpoint destination and simulated sources (CloudWatch Logs, IoT).
//! - [`api`]: AWS-shaped dispatch: operation name and JSON body in, JSON body or AWS error out.
//! - [`cost`]: the cost meter: usage read from the services' exact billing counters, priced with an editable
//!   table (us-east-1 defaults with their sources) into a bill itemised the way AWS bills.
//! - [`workload`]: client-library actors on simulated time: a KPL-style producer, KCL-style consumer groups,
//!   Lambda-style event-source mappings.
//! - [`world`]: the [`World`] that owns all simulation state, takes commands with the current simulated time,
//!   fires due timers in order, reports when it next needs to run and fingerprints its event log.
//! - `js_api` (wasm32 with the `js` feature, on with `ui`): the JavaScript API, a `Session` class exported with
//!   wasm-bindgen (`window.kinesim` in the built page).
//! - [`scenarios`]: guided training scenarios: seeded setups, goals, hints, live checks verified from the
//!   world's own state, explanations with the AWS rule behind them, shareable and replayable runs.
//! - [`persist`]: sessions that survive reloads: the storage port (async trait), an in-memory store, an IndexedDB
//!   store (wasm32), the journal of inputs with snapshots and record segments, session export and import.
//! - `ui` (wasm32 with the `ui` feature only): the Yew shell, the one place where real time enters and becomes
//!   simulated time.
//!
//! # Determinism
//! The core never reads a real clock, never draws OS randomness, never iterates a hash map and never uses floats
//! in decisions (`tests/tidy.rs` enforces it). The same seed and the same commands give the same event log hash
//! natively and on wasm32 (`tests/determinism.rs`, `tests/wasm_determinism.rs`).
//!
//! ```
//! use kinesim::{Command, World, WorldConfig};
//! use kinesim::sim::SimTime;
//!
//! let mut world = World::new(WorldConfig::with_seed(7));
//! world.apply(SimTime::ZERO, Command::StartTicker { name: "tick".into(), period_ms: 1_000, jitter_ms: 0 })?;
//! world.advance_to(SimTime::from_millis(3_500));
//! assert_eq!(world.poll_timeout(), Some(SimTime::from_millis(4_000)));
//! # Ok::<(), kinesim::CommandError>(())
//! ```

pub mod analytics;
pub mod api;
pub mod cost;
pub mod firehose;
pub mod persist;
pub mod scenarios;
pub mod sim;
pub mod streams;
pub mod workload;
pub mod world;

#[cfg(all(target_arch = "wasm32", feature = "js"))]
pub mod js_api;
#[cfg(all(target_arch = "wasm32", feature = "ui"))]
pub mod ui;

pub use world::{
    Command, CommandError, ErrorKind, Event, EventKind, Reply, TransformOutcome, World, WorldConfig,
};
