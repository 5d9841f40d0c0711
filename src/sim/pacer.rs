//! Pacing: turning real elapsed time into simulated time at a chosen speed.
//!
//! The shell reads its real clock (in the browser, the animation frame's timestamp), converts it to whole
//! microseconds and hands it here; this module never reads a clock itself. Sub-millisecond remainders are carried
//! to the next frame, so at 1× a minute of real time is exactly a minute of simulated time.

use serde::{Deserialize, Serialize};

/// The speeds the UI offers: simulated milliseconds per real millisecond.
pub const SPEEDS: [u32; 4] = [1, 10, 100, 1_000];

/// Longest real gap between two frames that counts, in microseconds. A background tab gets no frames for a
/// while; when it comes back the run continues instead of leaping ahead by however long the tab slept.
pub const FRAME_GAP_COUNTED_MAX_US: u64 = 250_000;

/// Converts real frame timestamps into simulated milliseconds to advance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pacer {
    speed: u32,
    last_frame_us: Option<u64>,
    carry_sim_us: u64,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::new()
    }
}

impl Pacer {
    /// A pacer at 1×.
    pub fn new() -> Self {
        Pacer {
            speed: 1,
            last_frame_us: None,
            carry_sim_us: 0,
        }
    }

    /// Simulated milliseconds per real millisecond.
    pub fn speed(&self) -> u32 {
        self.speed
    }

    /// Sets the speed; values other than [`SPEEDS`] are ignored. Returns whether the speed changed.
    pub fn set_speed(&mut self, speed: u32) -> bool {
        if !SPEEDS.contains(&speed) || speed == self.speed {
            return false;
        }
        self.speed = speed;
        true
    }

    /// Forgets the previous frame: the next [`Pacer::tick`] only sets the reference point (after a pause or a
    /// restart, the time in between does not count).
    pub fn resync(&mut self) {
        self.last_frame_us = None;
        self.carry_sim_us = 0;
    }

    /// A frame at real time `now_us`: returns the simulated milliseconds to advance.
    pub fn tick(&mut self, now_us: u64) -> u64 {
        let Some(last_us) = self.last_frame_us.replace(now_us) else {
            return 0;
        };
        let real_us = now_us.saturating_sub(last_us).min(FRAME_GAP_COUNTED_MAX_US);
        let sim_us = real_us
            .saturating_mul(u64::from(self.speed))
            .saturating_add(self.carry_sim_us);
        self.carry_sim_us = sim_us % 1_000;
        sim_us / 1_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_x_keeps_real_time_without_rounding_loss() {
        let mut p = Pacer::new();
        assert_eq!(p.tick(5_000), 0, "the first frame only sets the reference");
        let mut total_ms = 0;
        let mut now_us = 5_000;
        for _ in 0..3_600 {
            now_us += 16_667; // 60 frames a second
            total_ms += p.tick(now_us);
        }
        assert_eq!(total_ms, 3_600 * 16_667 / 1_000);
    }

    #[test]
    fn speed_multiplies_and_only_offered_speeds_apply() {
        let mut p = Pacer::new();
        assert!(p.set_speed(1_000));
        assert!(!p.set_speed(1_000));
        assert!(!p.set_speed(7));
        p.tick(0);
        assert_eq!(p.tick(16_000), 16_000);
    }

    #[test]
    fn long_gaps_and_clock_steps_backwards_are_bounded() {
        let mut p = Pacer::new();
        p.tick(0);
        assert_eq!(p.tick(3_600_000_000), FRAME_GAP_COUNTED_MAX_US / 1_000);
        assert_eq!(p.tick(1_000), 0, "a clock that goes back advances nothing");
        p.resync();
        assert_eq!(p.tick(9_000_000), 0);
    }
}
