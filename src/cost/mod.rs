//! The cost meter: what a simulated run would cost on AWS, itemised the way AWS bills it.
//!
//! Three steps, all pure and in integers:
//! 1. the services count what billing needs, exactly, as they run (see
//!    [`crate::streams::service::StreamBillingRecord`]);
//! 2. [`Usage::from_streams`] turns those counts into billed quantities at a simulated time (shard-milliseconds,
//!    PUT payload units, 1 KiB-rounded bytes, consumer-shard-milliseconds, byte-milliseconds stored past 24 hours
//!    and past 7 days); [`Usage::from_world`] adds Firehose (records ingested, each rounded up to 5 KB, and dynamic
//!    partitioning, counted by the delivery streams as records arrive) and Analytics (KPU time while each
//!    application runs, each minute at the KPUs its input rate needs: one per 2 MiB/s, 1 to 8, see
//!    [`crate::world::ANALYTICS_KPU_INPUT_BYTES_PER_S`]), the way [`Usage::add_firehose`] and [`Usage::add_analytics`] add plain counts;
//! 3. [`Bill::compute`] prices each quantity with a [`PriceTable`] (micro-dollars, editable; its defaults are
//!    us-east-1's, with their sources) into [`Line`]s with amounts in pico-dollars, rounded down per line, and a
//!    total that is exactly the sum of the lines.
//!
//! Units: a GB is 2^30 bytes, a month is 730 hours (AWS's convention for GB-month prices), time is prorated to the
//! millisecond (AWS bills shard hours and stream hours by the hour, so a real bill for a partial hour can be
//! higher).
//!
//! ```
//! use kinesim::cost::{Bill, PriceTable, Usage};
//! use kinesim::sim::SimTime;
//! use kinesim::{World, WorldConfig};
//!
//! let mut world = World::new(WorldConfig::with_seed(7));
//! world.kinesis(SimTime::ZERO, "CreateStream", r#"{"StreamName":"clicks","ShardCount":2}"#);
//! let usage = Usage::from_streams(world.streams(), SimTime::from_millis(3_600_000));
//! let bill = Bill::compute(&usage, &PriceTable::default());
//! assert_eq!(bill.total_text(), "$0.03"); // 2 shard-hours at $0.015
//! ```
#![deny(clippy::float_arithmetic)]

mod bill;
mod prices;
mod usage;

pub use bill::{Bill, Item, Line, Service};
pub use prices::*;
pub use usage::{
    AnalyticsUsage, FIREHOSE_BILLING_UNIT_BYTES, FirehoseUsage, StreamUsage, Usage,
    firehose_billed_bytes,
};

/// Bytes in a GB as AWS bills data (2^30).
pub const GIB_BYTES: u128 = 1 << 30;
/// Milliseconds in an hour.
pub const MS_PER_HOUR: u128 = 3_600_000;
/// Hours in a billing month (AWS prices GB-months and monthly estimates on 730 hours).
pub const HOURS_PER_MONTH: u128 = 730;
/// Milliseconds in a billing month.
pub const MS_PER_MONTH: u128 = HOURS_PER_MONTH * MS_PER_HOUR;
/// Pico-dollars in a micro-dollar.
pub const PICOS_PER_MICRO: u128 = 1_000_000;
/// Pico-dollars in a dollar.
pub const PICOS_PER_USD: u128 = 1_000_000_000_000;

/// `value / denominator` as a decimal with at most `places` decimals, rounded down, trailing zeros dropped.
pub fn format_decimal(value: u128, denominator: u128, places: u32) -> String {
    let denominator = denominator.max(1);
    let whole = value / denominator;
    let scale = 10u128.pow(places);
    let fraction = (value % denominator).saturating_mul(scale) / denominator;
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:0width$}", width = places as usize);
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Pico-dollars as dollars: at least two decimals, up to six (rounded down), e.g. "$0.03", "$0.000042".
pub fn format_usd(picos: u128) -> String {
    let micros = picos / PICOS_PER_MICRO;
    let whole = micros / 1_000_000;
    let fraction = format!("{:06}", micros % 1_000_000);
    let trimmed = fraction.trim_end_matches('0');
    let shown = if trimmed.len() < 2 {
        &fraction[..2]
    } else {
        trimmed
    };
    format!("${whole}.{shown}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_quantities_format_exactly() {
        assert_eq!(format_usd(30_000_000_000), "$0.03");
        assert_eq!(format_usd(42_000_000), "$0.000042");
        assert_eq!(format_usd(41_999_999), "$0.000041");
        assert_eq!(format_usd(12 * PICOS_PER_USD), "$12.00");
        assert_eq!(format_decimal(21_600_000, MS_PER_HOUR, 9), "6");
        assert_eq!(format_decimal(41, 1_000_000, 9), "0.000041");
        assert_eq!(format_decimal(1, 3, 4), "0.3333");
    }
}
