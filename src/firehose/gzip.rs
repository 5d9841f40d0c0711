//! Real gzip bytes (RFC 1952) through `flate2`'s pure-Rust backend, so they are the same natively and on wasm32.
//!
//! Decompression is bounded: a small gzip member can expand enormously ("zip bomb"), and a record is user input.

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use std::io::{Read, Write};

/// Why bytes could not be decompressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GzipError {
    /// The bytes are not a valid gzip stream (the text says why).
    Invalid(String),
    /// The decompressed bytes would exceed the limit given, in bytes.
    TooLarge {
        /// The limit that was exceeded, in bytes.
        limit_bytes: u64,
    },
}

impl std::fmt::Display for GzipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GzipError::Invalid(why) => write!(f, "not valid gzip data: {why}"),
            GzipError::TooLarge { limit_bytes } => {
                write!(f, "decompressed data exceeds {limit_bytes} bytes")
            }
        }
    }
}

/// `data` as one gzip member at the default compression level.
pub fn compress(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(data.len() / 2 + 32),
        Compression::default(),
    );
    // Writing into a Vec cannot fail; an error here would be a bug in flate2, and an empty result is still
    // reported by `decompress` as invalid rather than panicking.
    if encoder.write_all(data).is_err() {
        return Vec::new();
    }
    encoder.finish().unwrap_or_default()
}

/// Whether `data` starts with the gzip magic bytes `1f 8b`.
pub fn is_gzip(data: &[u8]) -> bool {
    data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b
}

/// The decompressed bytes of one or more concatenated gzip members, at most `limit_bytes` of them.
pub fn decompress(data: &[u8], limit_bytes: u64) -> Result<Vec<u8>, GzipError> {
    if !is_gzip(data) {
        return Err(GzipError::Invalid("missing gzip header".into()));
    }
    let decoder = MultiGzDecoder::new(data);
    let mut out = Vec::new();
    // Read one byte past the limit to tell "exactly the limit" from "more than the limit".
    decoder
        .take(limit_bytes.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| GzipError::Invalid(e.to_string()))?;
    if u64::try_from(out.len()).unwrap_or(u64::MAX) > limit_bytes {
        return Err(GzipError::TooLarge { limit_bytes });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_limits() {
        let data = b"hello firehose".repeat(100);
        let packed = compress(&data);
        assert!(is_gzip(&packed));
        assert_eq!(decompress(&packed, 10_000), Ok(data.clone()));
        assert_eq!(
            decompress(&packed, 10),
            Err(GzipError::TooLarge { limit_bytes: 10 })
        );
        assert!(matches!(
            decompress(b"plain", 100),
            Err(GzipError::Invalid(_))
        ));
        assert!(matches!(
            decompress(&packed[..packed.len() / 2], 10_000),
            Err(GzipError::Invalid(_))
        ));
        let mut two = compress(b"a");
        two.extend(compress(b"b"));
        assert_eq!(decompress(&two, 10), Ok(b"ab".to_vec()));
    }
}
