//! The KPL aggregated-record format: many user records in one Kinesis record.
//!
//! Wire format (KPL `aggregation-format.md`): the 4 magic bytes [`AGGREGATED_RECORD_MAGIC`], then a protobuf
//! (proto2) `AggregatedRecord`, then the 16-byte MD5 digest of the protobuf bytes. Schema (`messages.proto`):
//!
//! ```text
//! message AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
//!                            repeated Record records = 3; }
//! message Tag    { required string key = 1; optional string value = 2; }
//! message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
//!                  required bytes data = 3; repeated Tag tags = 4; }
//! ```
//!
//! [`Aggregator`] builds such records (keys deduplicated into the tables, exact encoded size known at every step);
//! [`deaggregate`] and [`deaggregate_for_shard`] read them back the way the KCL's `AggregatorUtil.deaggregate`
//! does: data that is not an aggregated record is returned as one plain record, never as an error.

use crate::streams::hash_key::{HashKeyRange, partition_key_hash};
use md5::{Digest, Md5};
use prost::Message;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The bytes every aggregated record starts with (KPL `kinesis_record.h` `kMagic`; KCL
/// `AggregatorUtil.AGGREGATED_RECORD_MAGIC` = {-13, -119, -102, -62}).
pub const AGGREGATED_RECORD_MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
/// Length of the MD5 digest that ends an aggregated record, in bytes (KCL `AggregatorUtil.DIGEST_SIZE`).
pub const AGGREGATED_RECORD_DIGEST_BYTES: u64 = DIGEST_LEN as u64;
/// [`AGGREGATED_RECORD_DIGEST_BYTES`] for slicing.
const DIGEST_LEN: usize = 16;
/// Bytes an aggregated record adds around its protobuf: magic plus digest (KPL `kinesis_record.h`
/// `kFixedOverhead`).
pub const AGGREGATED_RECORD_OVERHEAD_BYTES: u64 = 4 + AGGREGATED_RECORD_DIGEST_BYTES;
/// Largest aggregated record the KPL builds by default, magic and digest included, in bytes (KPL
/// `AggregationMaxSize` default 51,200).
pub const AGGREGATION_MAX_SIZE_BYTES_DEFAULT: u64 = 51_200;
/// Most user records the KPL puts in one aggregated record by default (KPL `AggregationMaxCount` default
/// 4,294,967,295).
pub const AGGREGATION_MAX_COUNT_DEFAULT: u64 = 4_294_967_295;

// ---- Protobuf messages ------------------------------------------------------------------------------------------
//
// Strings are carried as bytes and `required` fields as `optional` so that decoding can do what protobuf-java
// does for proto2: a string with invalid UTF-8 still parses (the Java getter substitutes U+FFFD), while a message
// missing a required field fails to parse. Both declarations put the same bytes on the wire.

/// `AggregatedRecord`.
#[derive(Clone, PartialEq, Message)]
struct WireAggregatedRecord {
    #[prost(bytes = "vec", repeated, tag = "1")]
    partition_key_table: Vec<Vec<u8>>,
    #[prost(bytes = "vec", repeated, tag = "2")]
    explicit_hash_key_table: Vec<Vec<u8>>,
    #[prost(message, repeated, tag = "3")]
    records: Vec<WireRecord>,
}

/// `Record`.
#[derive(Clone, PartialEq, Message)]
struct WireRecord {
    #[prost(uint64, optional, tag = "1")]
    partition_key_index: Option<u64>,
    #[prost(uint64, optional, tag = "2")]
    explicit_hash_key_index: Option<u64>,
    #[prost(bytes = "vec", optional, tag = "3")]
    data: Option<Vec<u8>>,
    #[prost(message, repeated, tag = "4")]
    tags: Vec<WireTag>,
}

/// `Tag`.
#[derive(Clone, PartialEq, Message)]
struct WireTag {
    #[prost(bytes = "vec", optional, tag = "1")]
    key: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    value: Option<Vec<u8>>,
}

impl WireAggregatedRecord {
    /// protobuf-java's `isInitialized`: every required field of every nested message is present.
    fn is_initialized(&self) -> bool {
        self.records.iter().all(|r| {
            r.partition_key_index.is_some()
                && r.data.is_some()
                && r.tags.iter().all(|t| t.key.is_some())
        })
    }
}

// ---- Java integer parsing ---------------------------------------------------------------------------------------

/// What `new java.math.BigInteger(text)` makes of a decimal string, as far as hash keys care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JavaInteger {
    /// A number in [0, 2^128 - 1].
    HashKey(u128),
    /// A number below zero.
    Negative,
    /// A number above 2^128 - 1.
    TooLarge,
    /// Not an integer at all (`NumberFormatException`).
    NotInteger,
}

/// Parses `text` as `new BigInteger(text)` does (radix 10): an optional `+` or `-`, then one or more ASCII digits,
/// leading zeros allowed. (Java also accepts non-ASCII Unicode digits; they are refused here.)
pub fn parse_java_integer(text: &str) -> JavaInteger {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return JavaInteger::NotInteger;
    }
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return JavaInteger::HashKey(0); // "-0", "+000" and "0" are all zero
    }
    if negative {
        return JavaInteger::Negative;
    }
    significant
        .parse::<u128>()
        .map_or(JavaInteger::TooLarge, JavaInteger::HashKey)
}

// ---- Aggregation ------------------------------------------------------------------------------------------------

/// One user record inside an [`Aggregator`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    partition_key_index: u64,
    explicit_hash_key_index: Option<u64>,
    data: Vec<u8>,
}

/// Why [`Aggregator::try_add`] refused a user record. The aggregator is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddRefused {
    /// The aggregated record would grow past the size limit: `size_bytes` is what it would have become.
    TooLarge {
        /// Encoded size with the record, magic and digest included.
        size_bytes: u64,
    },
    /// The aggregated record already holds the most user records allowed.
    TooMany,
}

/// Builds one aggregated record, as the KPL's `KinesisRecord` does: partition keys and explicit hash keys are
/// deduplicated into the tables in first-seen order, and the exact encoded size is kept up to date on every add.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aggregator {
    max_size_bytes: u64,
    max_count: u64,
    partition_keys: Vec<String>,
    partition_key_index: BTreeMap<String, u64>,
    explicit_hash_keys: Vec<String>,
    explicit_hash_key_index: BTreeMap<String, u64>,
    entries: Vec<Entry>,
    /// Encoded length of the protobuf alone.
    protobuf_bytes: u64,
}

impl Default for Aggregator {
    fn default() -> Self {
        Aggregator::new(
            AGGREGATION_MAX_SIZE_BYTES_DEFAULT,
            AGGREGATION_MAX_COUNT_DEFAULT,
        )
    }
}

/// Encoded size of a length-delimited field of `len` bytes with a one-byte tag.
fn delimited_bytes(len: u64) -> u64 {
    1 + prost::length_delimiter_len(usize::try_from(len).unwrap_or(usize::MAX)) as u64 + len
}

/// Encoded size of a varint field with a one-byte tag.
fn varint_field_bytes(value: u64) -> u64 {
    1 + prost::encoding::encoded_len_varint(value) as u64
}

impl Aggregator {
    /// An empty aggregated record that refuses to grow past `max_size_bytes` (magic and digest included) or
    /// `max_count` user records.
    pub fn new(max_size_bytes: u64, max_count: u64) -> Self {
        Aggregator {
            max_size_bytes,
            max_count,
            partition_keys: Vec::new(),
            partition_key_index: BTreeMap::new(),
            explicit_hash_keys: Vec::new(),
            explicit_hash_key_index: BTreeMap::new(),
            entries: Vec::new(),
            protobuf_bytes: 0,
        }
    }

    /// User records held.
    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Whether it holds no user record.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The size [`Aggregator::encode`] gives now: magic + protobuf + digest, in bytes.
    pub fn encoded_size_bytes(&self) -> u64 {
        AGGREGATED_RECORD_OVERHEAD_BYTES + self.protobuf_bytes
    }

    /// The size the aggregated record would have with one more user record, without adding it.
    pub fn size_with_bytes(
        &self,
        partition_key: &str,
        explicit_hash_key: Option<&str>,
        data_len: u64,
    ) -> u64 {
        let (added, _) = self.growth(partition_key, explicit_hash_key, data_len);
        self.encoded_size_bytes() + added
    }

    /// (bytes the protobuf grows by, encoded length of the `Record` message).
    fn growth(
        &self,
        partition_key: &str,
        explicit_hash_key: Option<&str>,
        data_len: u64,
    ) -> (u64, u64) {
        let mut added = 0;
        let pk_index = match self.partition_key_index.get(partition_key) {
            Some(&i) => i,
            None => {
                added += delimited_bytes(partition_key.len() as u64);
                self.partition_keys.len() as u64
            }
        };
        let mut record = varint_field_bytes(pk_index) + delimited_bytes(data_len);
        if let Some(ehk) = explicit_hash_key {
            let ehk_index = match self.explicit_hash_key_index.get(ehk) {
                Some(&i) => i,
                None => {
                    added += delimited_bytes(ehk.len() as u64);
                    self.explicit_hash_keys.len() as u64
                }
            };
            record += varint_field_bytes(ehk_index);
        }
        (added + delimited_bytes(record), record)
    }

    /// Adds a user record, or refuses it when the aggregated record would exceed its size or count limit.
    /// `explicit_hash_key` is kept as given (the KPL stores the decimal text).
    pub fn try_add(
        &mut self,
        partition_key: &str,
        explicit_hash_key: Option<&str>,
        data: &[u8],
    ) -> Result<(), AddRefused> {
        if self.len() >= self.max_count {
            return Err(AddRefused::TooMany);
        }
        let (added, _) = self.growth(partition_key, explicit_hash_key, data.len() as u64);
        let size_bytes = self.encoded_size_bytes() + added;
        if size_bytes > self.max_size_bytes {
            return Err(AddRefused::TooLarge { size_bytes });
        }
        let partition_key_index = intern(
            &mut self.partition_keys,
            &mut self.partition_key_index,
            partition_key,
        );
        let explicit_hash_key_index = explicit_hash_key.map(|ehk| {
            intern(
                &mut self.explicit_hash_keys,
                &mut self.explicit_hash_key_index,
                ehk,
            )
        });
        self.entries.push(Entry {
            partition_key_index,
            explicit_hash_key_index,
            data: data.to_vec(),
        });
        self.protobuf_bytes += added;
        Ok(())
    }

    /// The aggregated record's bytes: magic, protobuf, MD5 of the protobuf.
    pub fn encode(&self) -> Vec<u8> {
        let message = WireAggregatedRecord {
            partition_key_table: self
                .partition_keys
                .iter()
                .map(|k| k.as_bytes().to_vec())
                .collect(),
            explicit_hash_key_table: self
                .explicit_hash_keys
                .iter()
                .map(|k| k.as_bytes().to_vec())
                .collect(),
            records: self
                .entries
                .iter()
                .map(|e| WireRecord {
                    partition_key_index: Some(e.partition_key_index),
                    explicit_hash_key_index: e.explicit_hash_key_index,
                    data: Some(e.data.clone()),
                    tags: Vec::new(),
                })
                .collect(),
        };
        let protobuf = message.encode_to_vec();
        debug_assert_eq!(protobuf.len() as u64, self.protobuf_bytes);
        let mut out = Vec::with_capacity(protobuf.len() + 20);
        out.extend_from_slice(&AGGREGATED_RECORD_MAGIC);
        out.extend_from_slice(&protobuf);
        out.extend_from_slice(&Md5::digest(&protobuf));
        out
    }

    /// Empties it, keeping its limits.
    pub fn clear(&mut self) {
        *self = Aggregator::new(self.max_size_bytes, self.max_count);
    }
}

fn intern(table: &mut Vec<String>, index: &mut BTreeMap<String, u64>, key: &str) -> u64 {
    if let Some(&i) = index.get(key) {
        return i;
    }
    let i = table.len() as u64;
    table.push(key.to_string());
    index.insert(key.to_string(), i);
    i
}

// ---- De-aggregation ---------------------------------------------------------------------------------------------

/// A user record as the KCL hands it to a record processor (`KinesisClientRecord`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// The user record's own partition key (for a plain record: the Kinesis record's).
    pub partition_key: String,
    /// The user record's own explicit hash key as stored in the table, if it had one.
    pub explicit_hash_key: Option<String>,
    /// Its data.
    pub data: Vec<u8>,
    /// The sequence number of the Kinesis record that carried it.
    pub sequence_number: String,
    /// Its position among the user records taken from that Kinesis record, from 0 (0 for a plain record).
    pub sub_sequence_number: u64,
    /// Whether it came out of an aggregated record.
    pub aggregated: bool,
}

/// De-aggregates one Kinesis record like the KCL's `AggregatorUtil.deaggregate(records)`, keeping user records
/// whose hash key is anywhere in [0, 2^128 - 1]. See [`deaggregate_for_shard`].
pub fn deaggregate(
    data: &[u8],
    partition_key: &str,
    explicit_hash_key: Option<&str>,
    sequence_number: &str,
) -> Vec<UserRecord> {
    deaggregate_for_shard(
        data,
        partition_key,
        explicit_hash_key,
        sequence_number,
        HashKeyRange::ALL,
    )
}

/// De-aggregates one Kinesis record read from a shard with hash-key range `range`, like the KCL's
/// `AggregatorUtil.deaggregate(records, startingHashKey, endingHashKey)`:
/// - data without the magic, with 16 bytes or fewer after it, whose digest does not match, or whose protobuf does
///   not parse (including a missing required field) is returned unchanged as one plain record;
/// - otherwise each user record comes out with its own partition key and explicit hash key and sub-sequence
///   numbers 0, 1, ...;
/// - if any user record's effective hash key (its explicit hash key, else the MD5 of its partition key) lies
///   outside `range`, the KCL discards the whole aggregated record: nothing comes out of it (user records of other
///   shards land here only when a producer's shard map was stale; the producer retries them);
/// - a table index out of bounds or an explicit hash key that is not a number stops the KCL mid-record (it logs
///   the exception): the user records taken before it are kept, the rest are lost.
pub fn deaggregate_for_shard(
    data: &[u8],
    partition_key: &str,
    explicit_hash_key: Option<&str>,
    sequence_number: &str,
    range: HashKeyRange,
) -> Vec<UserRecord> {
    let plain = || {
        vec![UserRecord {
            partition_key: partition_key.to_string(),
            explicit_hash_key: explicit_hash_key.map(str::to_string),
            data: data.to_vec(),
            sequence_number: sequence_number.to_string(),
            sub_sequence_number: 0,
            aggregated: false,
        }]
    };
    let Some(rest) = data.strip_prefix(&AGGREGATED_RECORD_MAGIC[..]) else {
        return plain();
    };
    if rest.len() as u64 <= AGGREGATED_RECORD_DIGEST_BYTES {
        return plain();
    }
    let (protobuf, digest) = rest.split_at(rest.len() - DIGEST_LEN);
    if Md5::digest(protobuf).as_slice() != digest {
        return plain();
    }
    let Ok(message) = WireAggregatedRecord::decode(protobuf) else {
        return plain();
    };
    if !message.is_initialized() {
        return plain();
    }
    let partition_keys: Vec<String> = message
        .partition_key_table
        .iter()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    let explicit_hash_keys: Vec<String> = message
        .explicit_hash_key_table
        .iter()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    let mut out = Vec::with_capacity(message.records.len());
    for record in message.records {
        let Some(pk) = record
            .partition_key_index
            .and_then(|i| java_list_get(&partition_keys, i))
        else {
            break; // IndexOutOfBoundsException, caught and logged by the KCL
        };
        let ehk = match record.explicit_hash_key_index {
            None => None,
            Some(i) => match java_list_get(&explicit_hash_keys, i) {
                Some(k) => Some(k),
                None => break,
            },
        };
        let in_range = match ehk {
            None => range.contains(partition_key_hash(pk)),
            Some(text) => match parse_java_integer(text) {
                JavaInteger::HashKey(h) => range.contains(h),
                // Below every StartingHashKey, or above every EndingHashKey (at most 2^128 - 1).
                JavaInteger::Negative | JavaInteger::TooLarge => false,
                JavaInteger::NotInteger => break, // NumberFormatException, caught and logged
            },
        };
        if !in_range {
            return Vec::new();
        }
        let sub_sequence_number = out.len() as u64;
        out.push(UserRecord {
            partition_key: pk.clone(),
            explicit_hash_key: ehk.cloned(),
            data: record.data.unwrap_or_default(),
            sequence_number: sequence_number.to_string(),
            sub_sequence_number,
            aggregated: true,
        });
    }
    out
}

/// `list.get((int) index)` in Java: the index is cut to its low 32 bits and read as a signed int.
fn java_list_get(list: &[String], index: u64) -> Option<&String> {
    let low = i32::from_ne_bytes(
        u32::try_from(index & u64::from(u32::MAX))
            .ok()?
            .to_ne_bytes(),
    );
    usize::try_from(low).ok().and_then(|i| list.get(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(data: &[u8]) -> Vec<UserRecord> {
        deaggregate(data, "pk", None, "49")
    }

    #[test]
    fn an_empty_aggregator_is_magic_and_digest_of_nothing() {
        let a = Aggregator::default();
        assert_eq!(a.encoded_size_bytes(), 20);
        let bytes = a.encode();
        assert_eq!(&bytes[..4], &AGGREGATED_RECORD_MAGIC);
        assert_eq!(&bytes[4..], Md5::digest(b"").as_slice());
        // Exactly 16 bytes after the magic is not an aggregated record for the KCL.
        assert_eq!(one(&bytes), vec![plain_of(&bytes)]);
    }

    fn plain_of(data: &[u8]) -> UserRecord {
        UserRecord {
            partition_key: "pk".into(),
            explicit_hash_key: None,
            data: data.to_vec(),
            sequence_number: "49".into(),
            sub_sequence_number: 0,
            aggregated: false,
        }
    }

    #[test]
    fn size_is_exact_after_every_add() {
        let mut a = Aggregator::default();
        let keys = ["a", "b", "a", "ccc", "b"];
        for (i, k) in keys.iter().enumerate() {
            let ehk = (i % 2 == 0).then(|| format!("{}", i * 1000));
            let data = vec![7u8; i * 60];
            let predicted = a.size_with_bytes(k, ehk.as_deref(), data.len() as u64);
            a.try_add(k, ehk.as_deref(), &data).unwrap();
            assert_eq!(a.encoded_size_bytes(), predicted);
            assert_eq!(a.encode().len() as u64, predicted);
        }
        assert_eq!(a.partition_keys, vec!["a", "b", "ccc"]);
    }

    #[test]
    fn limits_refuse_without_changing_anything() {
        let mut a = Aggregator::new(100, 2);
        a.try_add("k", None, &[1; 10]).unwrap();
        let before = a.clone();
        assert!(matches!(
            a.try_add("k", None, &[1; 100]),
            Err(AddRefused::TooLarge { .. })
        ));
        assert_eq!(a, before);
        a.try_add("k", None, &[1; 10]).unwrap();
        assert_eq!(a.try_add("k", None, &[]), Err(AddRefused::TooMany));
    }

    #[test]
    fn java_integers_parse_like_big_integer() {
        assert_eq!(parse_java_integer("0"), JavaInteger::HashKey(0));
        assert_eq!(parse_java_integer("-0"), JavaInteger::HashKey(0));
        assert_eq!(parse_java_integer("+007"), JavaInteger::HashKey(7));
        assert_eq!(parse_java_integer("-1"), JavaInteger::Negative);
        assert_eq!(
            parse_java_integer("340282366920938463463374607431768211455"),
            JavaInteger::HashKey(u128::MAX)
        );
        assert_eq!(
            parse_java_integer("340282366920938463463374607431768211456"),
            JavaInteger::TooLarge
        );
        for bad in ["", "+", "-", "1 ", "0x10", "1e3", "١"] {
            assert_eq!(parse_java_integer(bad), JavaInteger::NotInteger, "{bad}");
        }
    }

    #[test]
    fn java_list_get_truncates_to_an_int() {
        let list = vec!["x".to_string()];
        assert_eq!(java_list_get(&list, 0), Some(&list[0]));
        assert_eq!(java_list_get(&list, 1 << 32), Some(&list[0]));
        assert_eq!(java_list_get(&list, u64::from(u32::MAX)), None);
        assert_eq!(java_list_get(&list, 1), None);
    }
}
