//! A simulated Amazon S3: buckets and objects kept in simulator state (persisted with the World's snapshots).
//!
//! Firehose writes here; the UI and the native endpoint's S3 REST read side (ListBuckets, ListObjectsV2,
//! GetObject, HeadObject) read here. Keys are kept in a `BTreeMap`, so listings come out in S3's order
//! (ascending UTF-8 binary order of the key).

use crate::sim::SimTime;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most keys one ListObjectsV2 page returns (S3's `max-keys` default and ceiling).
/// Source: Amazon S3 API Reference, ListObjectsV2, `max-keys`.
pub const LIST_OBJECTS_KEYS_MAX: u32 = 1_000;
/// Most buckets an account has by default (S3 raised the default quota to 10,000 in 2024).
/// Source: Amazon S3 User Guide, "Bucket quotas".
pub const BUCKETS_MAX: u32 = 10_000;
/// Longest object key, in bytes. Source: Amazon S3 User Guide, "Naming Amazon S3 objects".
pub const OBJECT_KEY_LENGTH_MAX_BYTES: u32 = 1_024;

/// One stored object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Object {
    /// The bytes, as written.
    #[serde(with = "base64_bytes")]
    pub body: Vec<u8>,
    /// When it was written.
    pub last_modified: SimTime,
    /// S3's ETag of a single-part upload: the hex MD5 of the body, in double quotes.
    pub etag: String,
    /// The `Content-Encoding` it was written with (Firehose writes none; GZIP is a `.gz` body).
    pub content_type: String,
}

/// One bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// When it was created.
    pub created: SimTime,
    /// Its objects by key.
    pub objects: BTreeMap<String, S3Object>,
}

/// A ListObjectsV2 page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectPage<'a> {
    /// The objects, in key order: (key, object).
    pub contents: Vec<(&'a str, &'a S3Object)>,
    /// Rolled-up prefixes (with a delimiter), in order.
    pub common_prefixes: Vec<String>,
    /// Whether more keys follow.
    pub is_truncated: bool,
    /// The last key or common prefix returned, where the next page starts after (S3's continuation token wraps it).
    pub next_start_after: Option<String>,
    /// How many keys and common prefixes this page returned.
    pub key_count: u32,
}

/// Why an S3 call failed, with S3's error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum S3Error {
    /// `NoSuchBucket` (404).
    NoSuchBucket,
    /// `NoSuchKey` (404).
    NoSuchKey,
    /// `BucketAlreadyOwnedByYou` (409).
    BucketAlreadyOwnedByYou,
    /// `InvalidBucketName` (400).
    InvalidBucketName,
    /// `TooManyBuckets` (400).
    TooManyBuckets,
    /// `KeyTooLongError` (400).
    KeyTooLong,
}

impl S3Error {
    /// S3's error code.
    pub fn code(self) -> &'static str {
        match self {
            S3Error::NoSuchBucket => "NoSuchBucket",
            S3Error::NoSuchKey => "NoSuchKey",
            S3Error::BucketAlreadyOwnedByYou => "BucketAlreadyOwnedByYou",
            S3Error::InvalidBucketName => "InvalidBucketName",
            S3Error::TooManyBuckets => "TooManyBuckets",
            S3Error::KeyTooLong => "KeyTooLongError",
        }
    }

    /// S3's message.
    pub fn message(self) -> &'static str {
        match self {
            S3Error::NoSuchBucket => "The specified bucket does not exist",
            S3Error::NoSuchKey => "The specified key does not exist.",
            S3Error::BucketAlreadyOwnedByYou => {
                "Your previous request to create the named bucket succeeded and you already own it."
            }
            S3Error::InvalidBucketName => "The specified bucket is not valid.",
            S3Error::TooManyBuckets => "You have attempted to create more buckets than allowed",
            S3Error::KeyTooLong => "Your key is too long",
        }
    }

    /// The HTTP status S3 answers with.
    pub fn http_status(self) -> u16 {
        match self {
            S3Error::NoSuchBucket | S3Error::NoSuchKey => 404,
            S3Error::BucketAlreadyOwnedByYou => 409,
            _ => 400,
        }
    }
}

/// Whether `name` follows S3's general-purpose bucket naming rules: 3..=63 characters of lowercase letters,
/// digits, dots and hyphens, beginning and ending with a letter or digit, no two adjacent dots, not an IP address.
pub fn is_valid_bucket_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !name.contains("..")
        && !(name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()))
}

/// The simulated S3 account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimS3 {
    buckets: BTreeMap<String, Bucket>,
}

impl SimS3 {
    /// An account with no buckets.
    pub fn new() -> Self {
        SimS3::default()
    }

    /// CreateBucket.
    pub fn create_bucket(&mut self, now: SimTime, name: &str) -> Result<(), S3Error> {
        if !is_valid_bucket_name(name) {
            return Err(S3Error::InvalidBucketName);
        }
        if self.buckets.contains_key(name) {
            return Err(S3Error::BucketAlreadyOwnedByYou);
        }
        if self.buckets.len() >= BUCKETS_MAX as usize {
            return Err(S3Error::TooManyBuckets);
        }
        self.buckets.insert(
            name.to_string(),
            Bucket {
                created: now,
                objects: BTreeMap::new(),
            },
        );
        Ok(())
    }

    /// The bucket, creating it when Firehose writes to a bucket nobody created yet (the simulator stands in for
    /// the bucket the delivery stream's BucketARN names; AWS would fail the delivery instead).
    fn bucket_for_write(&mut self, now: SimTime, name: &str) -> &mut Bucket {
        self.buckets.entry(name.to_string()).or_insert(Bucket {
            created: now,
            objects: BTreeMap::new(),
        })
    }

    /// PutObject: stores `body` under `key` (replacing an object already there, as S3 does).
    pub fn put_object(
        &mut self,
        now: SimTime,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), S3Error> {
        if key.len() > OBJECT_KEY_LENGTH_MAX_BYTES as usize {
            return Err(S3Error::KeyTooLong);
        }
        let etag = format!("\"{}\"", hex(&Md5::digest(&body)));
        self.bucket_for_write(now, bucket).objects.insert(
            key.to_string(),
            S3Object {
                body,
                last_modified: now,
                etag,
                content_type: content_type.to_string(),
            },
        );
        Ok(())
    }

    /// ListBuckets: (name, creation time), in name order.
    pub fn list_buckets(&self) -> impl Iterator<Item = (&str, SimTime)> {
        self.buckets.iter().map(|(n, b)| (n.as_str(), b.created))
    }

    /// A bucket, if it exists.
    pub fn bucket(&self, name: &str) -> Option<&Bucket> {
        self.buckets.get(name)
    }

    /// GetObject / HeadObject.
    pub fn get_object(&self, bucket: &str, key: &str) -> Result<&S3Object, S3Error> {
        self.buckets
            .get(bucket)
            .ok_or(S3Error::NoSuchBucket)?
            .objects
            .get(key)
            .ok_or(S3Error::NoSuchKey)
    }

    /// ListObjectsV2: keys starting with `prefix`, after `start_after` (exclusive), rolled up at the first
    /// `delimiter` after the prefix into common prefixes, at most `max_keys` (capped at
    /// [`LIST_OBJECTS_KEYS_MAX`]) keys and common prefixes together.
    pub fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        start_after: Option<&str>,
        max_keys: u32,
    ) -> Result<ObjectPage<'_>, S3Error> {
        let b = self.buckets.get(bucket).ok_or(S3Error::NoSuchBucket)?;
        let max_keys = max_keys.min(LIST_OBJECTS_KEYS_MAX);
        let mut page = ObjectPage {
            contents: Vec::new(),
            common_prefixes: Vec::new(),
            is_truncated: false,
            next_start_after: None,
            key_count: 0,
        };
        let delimiter = delimiter.filter(|d| !d.is_empty());
        let from = match start_after {
            Some(after) if after >= prefix => std::ops::Bound::Excluded(after.to_string()),
            _ => std::ops::Bound::Included(prefix.to_string()),
        };
        for (key, object) in b.objects.range((from, std::ops::Bound::Unbounded)) {
            if !key.starts_with(prefix) {
                break;
            }
            let rolled = delimiter.and_then(|d| {
                key[prefix.len()..]
                    .find(d)
                    .map(|at| key[..prefix.len() + at + d.len()].to_string())
            });
            if let Some(common) = &rolled
                && page.common_prefixes.last() == Some(common)
            {
                continue;
            }
            // Keys after the start that roll up into the prefix the last page ended with were returned already.
            if let (Some(common), Some(after)) = (&rolled, start_after)
                && common.as_str() == after
            {
                continue;
            }
            if page.key_count >= max_keys {
                page.is_truncated = true;
                break;
            }
            page.key_count += 1;
            match rolled {
                Some(common) => {
                    page.next_start_after = Some(common.clone());
                    page.common_prefixes.push(common);
                }
                None => {
                    page.next_start_after = Some(key.clone());
                    page.contents.push((key.as_str(), object));
                }
            }
        }
        if !page.is_truncated {
            page.next_start_after = None;
        }
        Ok(page)
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Object bodies are base64 text in snapshots.
mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text)
            .map_err(|_| D::Error::custom("object body must be base64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3_with(keys: &[&str]) -> SimS3 {
        let mut s3 = SimS3::new();
        s3.create_bucket(SimTime::ZERO, "b-1").unwrap();
        for k in keys {
            s3.put_object(SimTime::ZERO, "b-1", k, k.as_bytes().to_vec(), "")
                .unwrap();
        }
        s3
    }

    #[test]
    fn listing_pages_with_delimiter_and_start_after() {
        let s3 = s3_with(&["a/1", "a/2", "b", "c/1", "c/2", "d"]);
        let page = s3.list_objects("b-1", "", Some("/"), None, 2).unwrap();
        assert_eq!(page.common_prefixes, vec!["a/".to_string()]);
        assert_eq!(page.contents.iter().map(|c| c.0).collect::<Vec<_>>(), ["b"]);
        assert!(page.is_truncated);
        let next = page.next_start_after.unwrap();
        let page = s3
            .list_objects("b-1", "", Some("/"), Some(&next), 2)
            .unwrap();
        assert_eq!(page.common_prefixes, vec!["c/".to_string()]);
        assert_eq!(page.contents.iter().map(|c| c.0).collect::<Vec<_>>(), ["d"]);
        assert!(!page.is_truncated);
        let page = s3.list_objects("b-1", "c/", None, None, 1000).unwrap();
        assert_eq!(page.key_count, 2);
        assert_eq!(
            s3.list_objects("nope", "", None, None, 1).unwrap_err(),
            S3Error::NoSuchBucket
        );
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(is_valid_bucket_name("my-bucket.logs"));
        for bad in ["ab", "My-Bucket", "-a-", "a..b", "192.168.0.1", "a_b"] {
            assert!(!is_valid_bucket_name(bad), "{bad}");
        }
    }
}
