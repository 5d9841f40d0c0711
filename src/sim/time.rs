//! Simulated time: integer milliseconds since the start of a run.
//!
//! The core never reads a real clock. The shell (UI, tests, JS API) decides how real time maps to simulated
//! time and hands the core a [`SimTime`]. Wall-clock style timestamps (what AWS shows as
//! `ApproximateArrivalTimestamp`, what the UI prints) are `display epoch + SimTime`, see [`DisplayEpoch`].

use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds in one second.
pub const MILLIS_PER_SECOND: u64 = 1_000;
/// Milliseconds in one minute.
pub const MILLIS_PER_MINUTE: u64 = 60 * MILLIS_PER_SECOND;
/// Milliseconds in one hour.
pub const MILLIS_PER_HOUR: u64 = 60 * MILLIS_PER_MINUTE;
/// Milliseconds in one day.
pub const MILLIS_PER_DAY: u64 = 24 * MILLIS_PER_HOUR;

/// A point in simulated time: milliseconds since the run started. Ordered, copyable, never negative.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(u64);

/// A span of simulated time in milliseconds.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimDuration(u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The latest representable time (about 584 million years).
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// A time `ms` milliseconds after the start of the run.
    pub const fn from_millis(ms: u64) -> Self {
        SimTime(ms)
    }

    /// Milliseconds since the start of the run.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at [`SimTime::MAX`] instead of overflowing.
    pub const fn saturating_add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }

    /// `self + d`, or `None` when it would pass [`SimTime::MAX`].
    pub const fn checked_add(self, d: SimDuration) -> Option<SimTime> {
        match self.0.checked_add(d.0) {
            Some(ms) => Some(SimTime(ms)),
            None => None,
        }
    }

    /// The time from `earlier` to `self`, or zero when `earlier` is later.
    pub const fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A span of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms)
    }

    /// A span of `s` seconds, saturating on overflow.
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s.saturating_mul(MILLIS_PER_SECOND))
    }

    /// A span of `m` minutes, saturating on overflow.
    pub const fn from_mins(m: u64) -> Self {
        SimDuration(m.saturating_mul(MILLIS_PER_MINUTE))
    }

    /// A span of `h` hours, saturating on overflow.
    pub const fn from_hours(h: u64) -> Self {
        SimDuration(h.saturating_mul(MILLIS_PER_HOUR))
    }

    /// The span in milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + other`, saturating on overflow.
    pub const fn saturating_add(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(other.0))
    }

    /// Whether the span is empty.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for SimDuration {
    /// `1d 02:03:04.005`, or `02:03:04.005` under a day: how long a run has been going.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        let days = ms / MILLIS_PER_DAY;
        let h = (ms % MILLIS_PER_DAY) / MILLIS_PER_HOUR;
        let m = (ms % MILLIS_PER_HOUR) / MILLIS_PER_MINUTE;
        let s = (ms % MILLIS_PER_MINUTE) / MILLIS_PER_SECOND;
        let milli = ms % MILLIS_PER_SECOND;
        if days > 0 {
            write!(f, "{days}d ")?;
        }
        write!(f, "{h:02}:{m:02}:{s:02}.{milli:03}")
    }
}

impl fmt::Display for SimTime {
    /// The elapsed time since the start of the run, as `T+02:03:04.005`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T+{}", SimDuration(self.0))
    }
}

/// Maps simulated time onto calendar time for display and for AWS timestamps.
///
/// `unix_ms` is the Unix time (milliseconds since 1970-01-01T00:00:00Z) that [`SimTime::ZERO`] stands for. It is
/// part of a run's configuration, never read from a clock, so timestamps are reproducible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayEpoch {
    /// Unix time in milliseconds that simulated time zero stands for.
    pub unix_ms: u64,
}

impl DisplayEpoch {
    /// 2026-01-01T00:00:00Z, the default start of every run.
    pub const DEFAULT: DisplayEpoch = DisplayEpoch {
        unix_ms: 1_767_225_600_000,
    };

    /// Unix time in milliseconds of a simulated instant (saturating).
    pub const fn unix_ms_at(self, t: SimTime) -> u64 {
        self.unix_ms.saturating_add(t.as_millis())
    }

    /// ISO 8601 UTC text of a simulated instant, e.g. `2026-01-01T00:00:01.250Z`.
    pub fn iso8601_at(self, t: SimTime) -> String {
        format_unix_ms_iso8601(self.unix_ms_at(t))
    }
}

impl Default for DisplayEpoch {
    fn default() -> Self {
        DisplayEpoch::DEFAULT
    }
}

/// Formats Unix milliseconds as ISO 8601 UTC (`YYYY-MM-DDTHH:MM:SS.mmmZ`), proleptic Gregorian calendar.
pub fn format_unix_ms_iso8601(unix_ms: u64) -> String {
    let days = unix_ms / MILLIS_PER_DAY;
    let in_day_ms = unix_ms % MILLIS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    let h = in_day_ms / MILLIS_PER_HOUR;
    let m = (in_day_ms % MILLIS_PER_HOUR) / MILLIS_PER_MINUTE;
    let s = (in_day_ms % MILLIS_PER_MINUTE) / MILLIS_PER_SECOND;
    let milli = in_day_ms % MILLIS_PER_SECOND;
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// Formats Unix milliseconds as Java's `Date.toString()` does in UTC (`Thu Jan 01 00:00:10 UTC 2026`), the form
/// AWS uses in some error messages. Milliseconds are dropped.
pub fn format_unix_ms_java_date(unix_ms: u64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_ms / MILLIS_PER_DAY;
    let in_day_ms = unix_ms % MILLIS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    // Both indices are small by construction (below 7 and 12).
    let weekday = WEEKDAYS[usize::try_from(days % 7).unwrap_or(0)];
    let month_name = MONTHS[usize::try_from(month - 1).unwrap_or(0)];
    let h = in_day_ms / MILLIS_PER_HOUR;
    let m = (in_day_ms % MILLIS_PER_HOUR) / MILLIS_PER_MINUTE;
    let s = (in_day_ms % MILLIS_PER_MINUTE) / MILLIS_PER_SECOND;
    format!("{weekday} {month_name} {day:02} {h:02}:{m:02}:{s:02} UTC {year}")
}

/// Year, month (1..=12) and day (1..=31) of the day `days` after 1970-01-01.
///
/// Howard Hinnant's `civil_from_days`, restricted to non-negative day numbers, in unsigned integers.
pub fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a cycle year.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097; // day of era, 0..=146096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st, 0..=365
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_matches_known_instants() {
        assert_eq!(format_unix_ms_iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_unix_ms_iso8601(951_782_400_000),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            format_unix_ms_iso8601(1_767_225_600_000),
            "2026-01-01T00:00:00.000Z"
        );
        assert_eq!(
            format_unix_ms_iso8601(1_709_251_199_999),
            "2024-02-29T23:59:59.999Z"
        );
        assert_eq!(
            format_unix_ms_iso8601(4_102_444_800_000),
            "2100-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn java_date_text_matches_known_days() {
        assert_eq!(
            format_unix_ms_java_date(1_767_225_610_999),
            "Thu Jan 01 00:00:10 UTC 2026"
        );
        assert_eq!(format_unix_ms_java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(
            format_unix_ms_java_date(951_782_400_000),
            "Tue Feb 29 00:00:00 UTC 2000"
        );
    }

    #[test]
    fn display_epoch_offsets_simulated_time() {
        let epoch = DisplayEpoch::DEFAULT;
        let t = SimTime::from_millis(90_061_250);
        assert_eq!(epoch.iso8601_at(t), "2026-01-02T01:01:01.250Z");
        assert_eq!(t.to_string(), "T+1d 01:01:01.250");
        assert_eq!(SimTime::from_millis(5).to_string(), "T+00:00:00.005");
    }

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        let late = SimTime::from_millis(u64::MAX - 1);
        assert_eq!(
            late.saturating_add(SimDuration::from_secs(10)),
            SimTime::MAX
        );
        assert_eq!(late.checked_add(SimDuration::from_millis(2)), None);
        assert_eq!(
            SimTime::ZERO.saturating_since(late),
            SimDuration::ZERO,
            "an earlier time minus a later one is zero, not a wrap-around"
        );
        assert_eq!(SimDuration::from_hours(u64::MAX).as_millis(), u64::MAX);
    }
}
