//! The deterministic simulation kernel: simulated time, seeded randomness and a timer queue.
//!
//! Nothing here reads a real clock, draws OS entropy or iterates a hash map; nothing here depends on any other
//! module of the crate. Decisions use integers only.
#![deny(clippy::float_arithmetic)]

pub mod pacer;
pub mod rng;
pub mod time;
pub mod timer;

pub use pacer::Pacer;
pub use rng::SimRng;
pub use time::{DisplayEpoch, SimDuration, SimTime};
pub use timer::{FiredTimer, TimerId, TimerQueue, TimerQueueFull};
