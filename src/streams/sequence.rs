//! Sequence numbers: AWS-like 56-digit decimal strings, unique in a stream and strictly increasing in a shard.
//!
//! Layout, in decimal digits: `49` | shard creation time in simulated ms (15) | shard ordinal in the stream (6)
//! | record number in the shard (20: 1 for its first record, 0 for the shard's StartingSequenceNumber) | stream incarnation (13). Every field has a fixed width, so comparing two
//! numbers as strings or as integers gives the same order. A shard created later (a child after resharding) has
//! larger numbers than its parents; a deleted and re-created stream of the same name gets another incarnation, so
//! old sequence numbers never match it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Length of every sequence number in decimal digits (AWS's current sequence numbers have 56).
pub const SEQUENCE_NUMBER_DIGITS: u32 = 56;
/// The fixed leading digits.
const PREFIX: &str = "49";
/// Digits of each field after the prefix, in order.
const SHARD_CREATED_DIGITS: u32 = 15;
const SHARD_ORDINAL_DIGITS: u32 = 6;
const RECORD_NUMBER_DIGITS: u32 = 20;
const STREAM_INCARNATION_DIGITS: u32 = 13;

/// Latest shard creation time a sequence number can hold, in simulated ms (about 31,700 years).
pub const SHARD_CREATED_MS_MAX: u64 = 10u64.pow(SHARD_CREATED_DIGITS) - 1;
/// Most shards a stream can create over its life (open and closed), so that ordinals fit.
pub const SHARD_ORDINAL_MAX: u32 = 999_999;
/// Largest stream incarnation number.
pub const STREAM_INCARNATION_MAX: u64 = 10u64.pow(STREAM_INCARNATION_DIGITS) - 1;

/// A decoded sequence number. Field order is significance order, so the derived ordering matches the numbers'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SequenceNumber {
    /// When the shard was created, in simulated ms.
    pub shard_created_ms: u64,
    /// The shard's ordinal in its stream (`shardId-000000000003` has ordinal 3).
    pub shard_ordinal: u32,
    /// The record's number in its shard: 1 for the first record. 0 is the shard's StartingSequenceNumber, which
    /// comes before every record, so reading AFTER_SEQUENCE_NUMBER of it starts at the first record, as on AWS.
    pub record_number: u64,
    /// Which incarnation of the stream name this is.
    pub stream_incarnation: u64,
}

impl SequenceNumber {
    /// A sequence number, or `None` when a field is too large for its digits.
    pub fn new(
        shard_created_ms: u64,
        shard_ordinal: u32,
        record_number: u64,
        stream_incarnation: u64,
    ) -> Option<Self> {
        (shard_created_ms <= SHARD_CREATED_MS_MAX
            && shard_ordinal <= SHARD_ORDINAL_MAX
            && stream_incarnation <= STREAM_INCARNATION_MAX)
            .then_some(SequenceNumber {
                shard_created_ms,
                shard_ordinal,
                record_number,
                stream_incarnation,
            })
    }

    /// Decodes a sequence number this simulator issued; `None` for any other text.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != SEQUENCE_NUMBER_DIGITS as usize
            || !text.starts_with(PREFIX)
            || !text.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let mut rest = &text[PREFIX.len()..];
        let mut field = |digits: u32| -> Option<u64> {
            let (head, tail) = rest.split_at(digits as usize);
            rest = tail;
            head.parse::<u64>().ok()
        };
        let shard_created_ms = field(SHARD_CREATED_DIGITS)?;
        let shard_ordinal = u32::try_from(field(SHARD_ORDINAL_DIGITS)?).ok()?;
        let record_number = field(RECORD_NUMBER_DIGITS)?;
        let stream_incarnation = field(STREAM_INCARNATION_DIGITS)?;
        SequenceNumber::new(
            shard_created_ms,
            shard_ordinal,
            record_number,
            stream_incarnation,
        )
    }
}

impl SequenceNumber {
    /// The 56 digits, written right to left into a fixed buffer (every record read or written renders one, and
    /// `write!` with zero padding goes through the formatter a character at a time). `None` when a field does not
    /// fit its digits, which [`SequenceNumber::new`] rules out but a struct literal does not.
    fn digits(&self) -> Option<[u8; SEQUENCE_NUMBER_DIGITS as usize]> {
        let mut out = [b'0'; SEQUENCE_NUMBER_DIGITS as usize];
        let mut end = out.len();
        let fields = [
            (self.stream_incarnation, STREAM_INCARNATION_DIGITS),
            (self.record_number, RECORD_NUMBER_DIGITS),
            (u64::from(self.shard_ordinal), SHARD_ORDINAL_DIGITS),
            (self.shard_created_ms, SHARD_CREATED_DIGITS),
        ];
        for (mut value, width) in fields {
            let start = end - width as usize;
            for slot in out[start..end].iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
            if value != 0 {
                return None;
            }
            end = start;
        }
        out[..end].copy_from_slice(PREFIX.as_bytes());
        Some(out)
    }
}

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.digits() {
            // ASCII digits only, so this never fails.
            Some(digits) => f.write_str(std::str::from_utf8(&digits).map_err(|_| fmt::Error)?),
            None => write!(
                f,
                "{PREFIX}{:015}{:06}{:020}{:013}",
                self.shard_created_ms,
                self.shard_ordinal,
                self.record_number,
                self.stream_incarnation
            ),
        }
    }
}

/// Whether `text` has the shape the service model allows for a sequence number (`0|([1-9]\d{0,128})`).
pub fn matches_model_pattern(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 129
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(created: u64, shard: u32, index: u64) -> SequenceNumber {
        SequenceNumber::new(created, shard, index, 7).unwrap()
    }

    #[test]
    fn renders_as_56_digits_and_parses_back() {
        let s = seq(1_234, 3, 42);
        let text = s.to_string();
        assert_eq!(text.len(), 56);
        assert!(text.starts_with("49"));
        assert!(matches_model_pattern(&text));
        assert_eq!(SequenceNumber::parse(&text), Some(s));
        let top = SequenceNumber::new(
            SHARD_CREATED_MS_MAX,
            SHARD_ORDINAL_MAX,
            u64::MAX,
            STREAM_INCARNATION_MAX,
        )
        .unwrap();
        assert_eq!(SequenceNumber::parse(&top.to_string()), Some(top));
    }

    #[test]
    fn fast_digits_match_zero_padded_formatting() {
        let padded = |s: &SequenceNumber| {
            format!(
                "{PREFIX}{:015}{:06}{:020}{:013}",
                s.shard_created_ms, s.shard_ordinal, s.record_number, s.stream_incarnation
            )
        };
        let cases = [
            seq(0, 0, 0),
            seq(1_234, 3, 42),
            seq(SHARD_CREATED_MS_MAX, SHARD_ORDINAL_MAX, u64::MAX),
            SequenceNumber::new(7, 1, 9, STREAM_INCARNATION_MAX).unwrap(),
            // Out of range fields (possible with a struct literal) fall back to the formatter, wider than 56.
            SequenceNumber {
                shard_created_ms: SHARD_CREATED_MS_MAX + 1,
                shard_ordinal: 5,
                record_number: 6,
                stream_incarnation: 7,
            },
        ];
        for s in cases {
            assert_eq!(s.to_string(), padded(&s));
        }
    }

    #[test]
    fn string_order_is_numeric_order() {
        let numbers = [
            seq(0, 0, 0),
            seq(0, 0, 1),
            seq(0, 0, 10),
            seq(0, 1, 0),
            seq(5, 0, 0),
            seq(5, 2, 9),
        ];
        for pair in numbers.windows(2) {
            assert!(pair[0] < pair[1]);
            assert!(pair[0].to_string() < pair[1].to_string());
        }
    }

    #[test]
    fn foreign_or_malformed_text_is_refused() {
        for bad in [
            "",
            "0",
            "123",
            "abc",
            &"4".repeat(56),
            &format!("50{}", "0".repeat(54)),
        ] {
            assert_eq!(SequenceNumber::parse(bad), None, "{bad:?}");
        }
        assert_eq!(SequenceNumber::new(SHARD_CREATED_MS_MAX + 1, 0, 0, 0), None);
        assert_eq!(SequenceNumber::new(0, SHARD_ORDINAL_MAX + 1, 0, 0), None);
        assert!(!matches_model_pattern("01"));
        assert!(matches_model_pattern("0"));
    }
}
