//! Object bodies in Firehose's other compression formats, as real bytes other tools read, the same natively and on
//! wasm32 (all pure Rust):
//! - `ZIP`: a ZIP archive (PKWARE APPNOTE 6.3) holding one deflated entry, written here (local header, raw deflate
//!   by `flate2`'s miniz_oxide backend, central directory, end record; CRC-32 by `crc32fast`). The entry is named
//!   after the object without its extension and dated (MS-DOS time, UTC) at the object's timestamp, so the bytes
//!   are a function of the run alone.
//! - `Snappy`: the Snappy framing format (`framing_format.txt` of google/snappy: stream identifier, then compressed
//!   or uncompressed chunks of at most 64 KiB with masked CRC-32C), by the `snap` crate.
//! - `HADOOP_SNAPPY`: Hadoop's `SnappyCodec` block stream (`BlockCompressorStream`): each frame is the 4-byte
//!   big-endian length of its uncompressed data followed by blocks, each a 4-byte big-endian compressed length and
//!   a raw Snappy block; frames hold at most [`HADOOP_SNAPPY_FRAME_BYTES_MAX`] (Hadoop's default
//!   `io.compression.codec.snappy.buffersize`), one block each.
//!
//! Decoders (bounded like [`super::gzip::decompress`], since bodies may come from anywhere) serve the S3 browser and
//! the round-trip tests.

use flate2::Compression as Level;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use std::io::{Read, Write};

/// Largest uncompressed frame of a `HADOOP_SNAPPY` body, in bytes (Hadoop's default Snappy buffer, 256 KiB).
pub const HADOOP_SNAPPY_FRAME_BYTES_MAX: usize = 256 * 1024;
/// Largest body these writers take, in bytes: ZIP sizes are 32-bit without ZIP64 (a Firehose buffer is at most
/// 128 MiB, far below).
pub const ZIP_ENTRY_BYTES_MAX: u64 = u32::MAX as u64;

const ZIP_LOCAL_HEADER_SIGNATURE: u32 = 0x0403_4b50;
const ZIP_CENTRAL_HEADER_SIGNATURE: u32 = 0x0201_4b50;
const ZIP_END_SIGNATURE: u32 = 0x0605_4b50;
const ZIP_VERSION_DEFLATE: u16 = 20;
const ZIP_METHOD_DEFLATE: u16 = 8;
const ZIP_LOCAL_HEADER_BYTES: usize = 30;
const ZIP_CENTRAL_HEADER_BYTES: usize = 46;
const ZIP_END_BYTES: usize = 22;
/// Bit 11 of the general purpose flags: the entry name is UTF-8.
const ZIP_FLAG_UTF8: u16 = 1 << 11;

/// Why a body could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Not valid data of the format (the text says why).
    Invalid(String),
    /// The decoded bytes would exceed the limit given, in bytes.
    TooLarge {
        /// The limit that was exceeded, in bytes.
        limit_bytes: u64,
    },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Invalid(why) => write!(f, "not valid compressed data: {why}"),
            DecodeError::TooLarge { limit_bytes } => {
                write!(f, "decompressed data exceeds {limit_bytes} bytes")
            }
        }
    }
}

fn invalid(why: impl Into<String>) -> DecodeError {
    DecodeError::Invalid(why.into())
}

/// MS-DOS (time, date) of a Unix time in ms, UTC; times before 1980 are 1980-01-01 00:00:00.
pub fn dos_date_time(unix_ms: u64) -> (u16, u16) {
    let secs = unix_ms / 1_000;
    let days = secs / 86_400;
    let of_day = secs % 86_400;
    let (year, month, day) = crate::sim::time::civil_from_days(days);
    if year < 1980 {
        return (0, (1 << 5) | 1);
    }
    let year = (year - 1980).min(127);
    let time = ((of_day / 3_600) << 11) | (((of_day % 3_600) / 60) << 5) | ((of_day % 60) / 2);
    let date = (year << 9) | (month << 5) | day;
    (
        u16::try_from(time).unwrap_or(0),
        u16::try_from(date).unwrap_or(0),
    )
}

/// A ZIP archive of one deflated entry `name` holding `data`, dated at `unix_ms`. Empty if `data` is too large
/// for a ZIP without ZIP64 ([`ZIP_ENTRY_BYTES_MAX`]).
pub fn zip_single(name: &str, data: &[u8], unix_ms: u64) -> Vec<u8> {
    let Ok(size) = u32::try_from(data.len()) else {
        return Vec::new();
    };
    let mut encoder =
        DeflateEncoder::new(Vec::with_capacity(data.len() / 2 + 64), Level::default());
    if encoder.write_all(data).is_err() {
        return Vec::new();
    }
    let deflated = encoder.finish().unwrap_or_default();
    let Ok(compressed) = u32::try_from(deflated.len()) else {
        return Vec::new();
    };
    let crc = crc32fast::hash(data);
    let (time, date) = dos_date_time(unix_ms);
    let name = name.as_bytes();
    let name_len = u16::try_from(name.len()).unwrap_or(u16::MAX);
    let name = &name[..usize::from(name_len)];
    let mut out = Vec::with_capacity(
        deflated.len()
            + ZIP_LOCAL_HEADER_BYTES
            + ZIP_CENTRAL_HEADER_BYTES
            + ZIP_END_BYTES
            + 2 * name.len(),
    );
    // Local file header.
    out.extend_from_slice(&ZIP_LOCAL_HEADER_SIGNATURE.to_le_bytes());
    out.extend_from_slice(&ZIP_VERSION_DEFLATE.to_le_bytes());
    out.extend_from_slice(&ZIP_FLAG_UTF8.to_le_bytes());
    out.extend_from_slice(&ZIP_METHOD_DEFLATE.to_le_bytes());
    out.extend_from_slice(&time.to_le_bytes());
    out.extend_from_slice(&date.to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&compressed.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(&0_u16.to_le_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(&deflated);
    let central_offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
    // Central directory header.
    out.extend_from_slice(&ZIP_CENTRAL_HEADER_SIGNATURE.to_le_bytes());
    out.extend_from_slice(&ZIP_VERSION_DEFLATE.to_le_bytes());
    out.extend_from_slice(&ZIP_VERSION_DEFLATE.to_le_bytes());
    out.extend_from_slice(&ZIP_FLAG_UTF8.to_le_bytes());
    out.extend_from_slice(&ZIP_METHOD_DEFLATE.to_le_bytes());
    out.extend_from_slice(&time.to_le_bytes());
    out.extend_from_slice(&date.to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&compressed.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(&[0; 2 + 2 + 2 + 2 + 4]); // extra, comment, disk, internal and external attributes
    out.extend_from_slice(&0_u32.to_le_bytes()); // the local header's offset
    out.extend_from_slice(name);
    let central_bytes = u32::try_from(out.len()).unwrap_or(u32::MAX) - central_offset;
    // End of central directory record.
    out.extend_from_slice(&ZIP_END_SIGNATURE.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // this disk, the central directory's disk
    out.extend_from_slice(&1_u16.to_le_bytes());
    out.extend_from_slice(&1_u16.to_le_bytes());
    out.extend_from_slice(&central_bytes.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0_u16.to_le_bytes());
    out
}

fn u16_at(data: &[u8], at: usize) -> Result<u16, DecodeError> {
    data.get(at..at.saturating_add(2))
        .and_then(|b| b.try_into().ok())
        .map(u16::from_le_bytes)
        .ok_or_else(|| invalid("truncated"))
}

fn u32_at(data: &[u8], at: usize) -> Result<u32, DecodeError> {
    data.get(at..at.saturating_add(4))
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| invalid("truncated"))
}

fn bounded_read(reader: impl Read, limit_bytes: u64) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    reader
        .take(limit_bytes.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| invalid(e.to_string()))?;
    if out.len() as u64 > limit_bytes {
        return Err(DecodeError::TooLarge { limit_bytes });
    }
    Ok(out)
}

/// The entries of a ZIP archive (stored or deflated), as (name, bytes), their CRC-32 checked; at most
/// `limit_bytes` decompressed in all.
pub fn unzip(data: &[u8], limit_bytes: u64) -> Result<Vec<(String, Vec<u8>)>, DecodeError> {
    let end = (0..=data.len().saturating_sub(ZIP_END_BYTES))
        .rev()
        .find(|&at| u32_at(data, at).ok() == Some(ZIP_END_SIGNATURE))
        .ok_or_else(|| invalid("no end of central directory record"))?;
    let entries = u16_at(data, end.saturating_add(10))?;
    let mut at = u32_at(data, end.saturating_add(16))? as usize;
    let mut out = Vec::new();
    let mut total = 0_u64;
    for _ in 0..entries {
        if u32_at(data, at)? != ZIP_CENTRAL_HEADER_SIGNATURE {
            return Err(invalid("bad central directory header"));
        }
        let method = u16_at(data, at.saturating_add(10))?;
        let crc = u32_at(data, at.saturating_add(16))?;
        let compressed = u32_at(data, at.saturating_add(20))? as usize;
        let name_len = usize::from(u16_at(data, at.saturating_add(28))?);
        let extra_len = usize::from(u16_at(data, at.saturating_add(30))?);
        let comment_len = usize::from(u16_at(data, at.saturating_add(32))?);
        let local = u32_at(data, at.saturating_add(42))? as usize;
        let name = data
            .get(
                at.saturating_add(ZIP_CENTRAL_HEADER_BYTES)
                    ..at.saturating_add(ZIP_CENTRAL_HEADER_BYTES + name_len),
            )
            .ok_or_else(|| invalid("truncated name"))?;
        let name = String::from_utf8_lossy(name).into_owned();
        at = at.saturating_add(ZIP_CENTRAL_HEADER_BYTES + name_len + extra_len + comment_len);
        if u32_at(data, local)? != ZIP_LOCAL_HEADER_SIGNATURE {
            return Err(invalid("bad local header"));
        }
        let start = local
            .saturating_add(ZIP_LOCAL_HEADER_BYTES)
            .saturating_add(usize::from(u16_at(data, local.saturating_add(26))?))
            .saturating_add(usize::from(u16_at(data, local.saturating_add(28))?));
        let body = data
            .get(start..start.saturating_add(compressed))
            .ok_or_else(|| invalid("truncated entry"))?;
        let room = limit_bytes.saturating_sub(total);
        let bytes = match method {
            0 => bounded_read(body, room),
            ZIP_METHOD_DEFLATE => bounded_read(DeflateDecoder::new(body), room),
            other => Err(invalid(format!(
                "compression method {other} is not supported"
            ))),
        }
        .map_err(|e| match e {
            DecodeError::TooLarge { .. } => DecodeError::TooLarge { limit_bytes },
            e => e,
        })?;
        if crc32fast::hash(&bytes) != crc {
            return Err(invalid(format!("CRC-32 mismatch in {name}")));
        }
        total += bytes.len() as u64;
        out.push((name, bytes));
    }
    Ok(out)
}

/// `data` in the Snappy framing format.
pub fn snappy_framed(data: &[u8]) -> Vec<u8> {
    let mut encoder = snap::write::FrameEncoder::new(Vec::with_capacity(data.len() / 2 + 64));
    if encoder.write_all(data).is_err() {
        return Vec::new();
    }
    encoder.into_inner().unwrap_or_default()
}

/// The bytes of a Snappy framing-format stream, at most `limit_bytes` of them.
pub fn unsnappy_framed(data: &[u8], limit_bytes: u64) -> Result<Vec<u8>, DecodeError> {
    bounded_read(snap::read::FrameDecoder::new(data), limit_bytes)
}

/// `data` as a Hadoop `SnappyCodec` block stream.
pub fn hadoop_snappy(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    let mut encoder = snap::raw::Encoder::new();
    for frame in data.chunks(HADOOP_SNAPPY_FRAME_BYTES_MAX) {
        let Ok(block) = encoder.compress_vec(frame) else {
            return Vec::new();
        };
        let (Ok(raw_len), Ok(block_len)) = (u32::try_from(frame.len()), u32::try_from(block.len()))
        else {
            return Vec::new();
        };
        out.extend_from_slice(&raw_len.to_be_bytes());
        out.extend_from_slice(&block_len.to_be_bytes());
        out.extend_from_slice(&block);
    }
    out
}

/// The bytes of a Hadoop `SnappyCodec` block stream, at most `limit_bytes` of them.
pub fn unhadoop_snappy(data: &[u8], limit_bytes: u64) -> Result<Vec<u8>, DecodeError> {
    let be = |at: usize| -> Result<usize, DecodeError> {
        data.get(at..at.saturating_add(4))
            .and_then(|b| b.try_into().ok())
            .map(|b| u32::from_be_bytes(b) as usize)
            .ok_or_else(|| invalid("truncated"))
    };
    let mut decoder = snap::raw::Decoder::new();
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let frame_len = be(at)?;
        at += 4;
        let mut got = 0;
        while got < frame_len {
            let block_len = be(at)?;
            at += 4;
            let block = data
                .get(at..at.saturating_add(block_len))
                .ok_or_else(|| invalid("truncated block"))?;
            at += block_len;
            let len = snap::raw::decompress_len(block).map_err(|e| invalid(e.to_string()))?;
            if out.len() as u64 + len as u64 > limit_bytes {
                return Err(DecodeError::TooLarge { limit_bytes });
            }
            let bytes = decoder
                .decompress_vec(block)
                .map_err(|e| invalid(e.to_string()))?;
            got += bytes.len();
            out.extend_from_slice(&bytes);
        }
        if got != frame_len {
            return Err(invalid("frame length does not match its blocks"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..40_000_u32)
            .flat_map(|i| format!("{{\"n\":{i},\"k\":\"key-{}\"}}\n", i % 17).into_bytes())
            .collect()
    }

    #[test]
    fn zip_round_trip_with_name_date_and_limits() {
        let data = sample();
        // 2026-11-26 01:02:03 UTC.
        let unix_ms = 1_795_654_923_000;
        let packed = zip_single("stream-1-2026-11-26-01-02-03-uuid", &data, unix_ms);
        assert_eq!(&packed[..4], b"PK\x03\x04");
        assert!(packed.len() < data.len() / 4);
        let entries = unzip(&packed, 10 * data.len() as u64).expect("valid zip");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].0, "stream-1-2026-11-26-01-02-03-uuid");
        assert_eq!(entries[0].1, data);
        assert_eq!(
            unzip(&packed, 100),
            Err(DecodeError::TooLarge { limit_bytes: 100 })
        );
        assert!(unzip(&packed[..packed.len() - 30], 1 << 30).is_err());
        let (time, date) = dos_date_time(unix_ms);
        assert_eq!(date >> 9, 2026 - 1980);
        assert_eq!((date >> 5) & 0xf, 11);
        assert_eq!(date & 0x1f, 26);
        assert_eq!(time >> 11, 1);
        assert_eq!((time >> 5) & 0x3f, 2);
        assert_eq!(time & 0x1f, 1);
        let empty = zip_single("e", b"", 0);
        assert_eq!(unzip(&empty, 10), Ok(vec![("e".to_string(), Vec::new())]));
    }

    #[test]
    fn snappy_framed_round_trip() {
        let data = sample();
        let packed = snappy_framed(&data);
        // The stream identifier chunk: type 0xff, length 6, "sNaPpY".
        assert_eq!(&packed[..10], b"\xff\x06\x00\x00sNaPpY");
        assert_eq!(
            unsnappy_framed(&packed, data.len() as u64),
            Ok(data.clone())
        );
        assert!(matches!(
            unsnappy_framed(&packed, 10),
            Err(DecodeError::TooLarge { .. })
        ));
        assert!(unsnappy_framed(b"plain", 100).is_err());
    }

    #[test]
    fn hadoop_snappy_round_trip_in_frames() {
        let data = sample();
        assert!(data.len() > 2 * HADOOP_SNAPPY_FRAME_BYTES_MAX);
        let packed = hadoop_snappy(&data);
        // The first frame: 256 KiB uncompressed, big-endian.
        assert_eq!(
            &packed[..4],
            &u32::try_from(HADOOP_SNAPPY_FRAME_BYTES_MAX)
                .expect("256 KiB fits")
                .to_be_bytes()
        );
        assert_eq!(
            unhadoop_snappy(&packed, data.len() as u64),
            Ok(data.clone())
        );
        assert!(matches!(
            unhadoop_snappy(&packed, 1_000),
            Err(DecodeError::TooLarge { .. })
        ));
        assert!(unhadoop_snappy(&packed[..packed.len() - 3], 1 << 30).is_err());
        assert_eq!(unhadoop_snappy(&hadoop_snappy(b""), 10), Ok(Vec::new()));
    }
}
