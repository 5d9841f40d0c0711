//! Routing: partition keys to 128-bit hash keys (MD5), explicit hash keys, and shard hash-key ranges.
//!
//! Kinesis maps a partition key to an unsigned 128-bit integer with MD5 (the digest read as a big-endian number)
//! and writes the record to the open shard whose `HashKeyRange` holds it. `ExplicitHashKey` skips the hashing.

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Shortest partition key, in Unicode characters (service model: `PartitionKey` min 1).
pub const PARTITION_KEY_LENGTH_MIN_CHARS: u32 = 1;
/// Longest partition key, in Unicode characters (service model: `PartitionKey` max 256).
pub const PARTITION_KEY_LENGTH_MAX_CHARS: u32 = 256;
/// Largest hash key: 2^128 - 1.
pub const HASH_KEY_MAX: u128 = u128::MAX;
/// Most decimal digits an `ExplicitHashKey` may have (service model pattern `^(0|([1-9]\d{0,38}))$`).
pub const EXPLICIT_HASH_KEY_DIGITS_MAX: u32 = 39;

/// The hash key of a partition key: MD5 of its UTF-8 bytes, read as a big-endian 128-bit unsigned integer.
pub fn partition_key_hash(partition_key: &str) -> u128 {
    let digest = Md5::digest(partition_key.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest);
    u128::from_be_bytes(bytes)
}

/// Why an `ExplicitHashKey` was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExplicitHashKeyError {
    /// Not a decimal number without leading zeros of 1 to 39 digits (a ValidationException in AWS).
    Pattern,
    /// A well-formed number above 2^128 - 1 (an InvalidArgumentException in AWS).
    OutOfRange,
}

/// Parses an `ExplicitHashKey` as AWS validates it: the pattern first, then the range [0, 2^128 - 1].
pub fn parse_explicit_hash_key(text: &str) -> Result<u128, ExplicitHashKeyError> {
    let well_formed = !text.is_empty()
        && text.len() <= EXPLICIT_HASH_KEY_DIGITS_MAX as usize
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !well_formed {
        return Err(ExplicitHashKeyError::Pattern);
    }
    text.parse::<u128>()
        .map_err(|_| ExplicitHashKeyError::OutOfRange)
}

/// AWS's message for an `ExplicitHashKey` above 2^128 - 1.
pub fn explicit_hash_key_out_of_range_message(text: &str) -> String {
    format!(
        "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {text}"
    )
}

/// An inclusive range of hash keys, as in `HashKeyRange` (`StartingHashKey`, `EndingHashKey`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HashKeyRange {
    /// The first hash key in the range.
    pub starting: u128,
    /// The last hash key in the range (inclusive).
    pub ending: u128,
}

impl HashKeyRange {
    /// The whole hash space, [0, 2^128 - 1].
    pub const ALL: HashKeyRange = HashKeyRange {
        starting: 0,
        ending: HASH_KEY_MAX,
    };

    /// Whether `hash_key` falls in the range.
    pub fn contains(&self, hash_key: u128) -> bool {
        self.starting <= hash_key && hash_key <= self.ending
    }

    /// Whether `next` starts right after this range ends (the condition for merging two shards).
    pub fn is_adjacent_to(&self, next: &HashKeyRange) -> bool {
        self.ending.checked_add(1) == Some(next.starting)
    }
}

impl fmt::Display for HashKeyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.starting, self.ending)
    }
}

/// The hash-key ranges of a new stream's shards, as AWS lays them out: shard `i` starts at `i * floor(2^128 / n)`
/// and the last shard ends at 2^128 - 1. `shard_count` 0 gives no ranges.
pub fn even_split(shard_count: u32) -> Vec<HashKeyRange> {
    match shard_count {
        0 => return Vec::new(),
        1 => return vec![HashKeyRange::ALL], // floor(2^128 / 1) does not fit in a u128
        _ => {}
    }
    let n = u128::from(shard_count);
    // floor(2^128 / n), computed without 2^128: (2^128 - 1) / n, plus one when n divides 2^128 exactly.
    let width = HASH_KEY_MAX / n + u128::from(HASH_KEY_MAX % n == n - 1);
    (0..n)
        .map(|i| HashKeyRange {
            starting: i * width,
            ending: if i + 1 == n {
                HASH_KEY_MAX
            } else {
                (i + 1) * width - 1
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_keys_hash_like_aws() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e, read big-endian.
        assert_eq!(partition_key_hash(""), 0xd41d8cd98f00b204e9800998ecf8427e);
        // MD5("a") = 0cc175b9c0f1b6a831c399e269772661
        assert_eq!(partition_key_hash("a"), 0x0cc175b9c0f1b6a831c399e269772661);
        // Unicode keys hash their UTF-8 bytes.
        assert_eq!(partition_key_hash("é"), {
            let d = Md5::digest([0xc3u8, 0xa9]);
            let mut b = [0u8; 16];
            b.copy_from_slice(&d);
            u128::from_be_bytes(b)
        });
    }

    #[test]
    fn explicit_hash_keys_follow_the_model_pattern_then_the_range() {
        assert_eq!(parse_explicit_hash_key("0"), Ok(0));
        assert_eq!(
            parse_explicit_hash_key("340282366920938463463374607431768211455"),
            Ok(HASH_KEY_MAX)
        );
        assert_eq!(
            parse_explicit_hash_key("340282366920938463463374607431768211456"),
            Err(ExplicitHashKeyError::OutOfRange)
        );
        assert_eq!(
            parse_explicit_hash_key("999999999999999999999999999999999999999"),
            Err(ExplicitHashKeyError::OutOfRange)
        );
        for bad in [
            "",
            "01",
            "-1",
            "1.5",
            " 1",
            "abc",
            "1000000000000000000000000000000000000000",
        ] {
            assert_eq!(
                parse_explicit_hash_key(bad),
                Err(ExplicitHashKeyError::Pattern),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn new_streams_split_the_hash_space_as_aws_does() {
        assert_eq!(even_split(1), vec![HashKeyRange::ALL]);
        let two = even_split(2);
        assert_eq!(two[0].ending, 170141183460469231731687303715884105727);
        assert_eq!(two[1].starting, 170141183460469231731687303715884105728);
        let three = even_split(3);
        assert_eq!(three[1].starting, 113427455640312821154458202477256070485);
        assert_eq!(three[2].starting, 226854911280625642308916404954512140970);
        assert_eq!(three[2].ending, HASH_KEY_MAX);
        let four = even_split(4);
        assert_eq!(four[1].starting, 85070591730234615865843651857942052864);
        assert!(even_split(0).is_empty());
    }

    #[test]
    fn ranges_know_containment_and_adjacency() {
        let [a, b] = [even_split(2)[0], even_split(2)[1]];
        assert!(a.is_adjacent_to(&b));
        assert!(!b.is_adjacent_to(&a));
        assert!(a.contains(0) && !a.contains(b.starting) && b.contains(HASH_KEY_MAX));
    }
}
