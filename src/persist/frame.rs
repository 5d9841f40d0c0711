//! The envelope around every stored value and exported file: a 4-byte magic naming what it holds, a format
//! version, the payload length and a CRC-32 of the payload. Decoding checks all four, so truncated, foreign or
//! corrupted bytes are reported instead of being misread.

use std::fmt;

/// Bytes in front of every payload: magic (4), version (u16 LE), reserved (u16), length (u64 LE), CRC-32 (u32 LE).
pub const HEADER_BYTES: u64 = HEADER_LEN as u64;
const HEADER_LEN: usize = 20;

/// Why bytes could not be read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer bytes than the header or the length it announces.
    Truncated {
        /// Bytes needed.
        expected_bytes: u64,
        /// Bytes there.
        actual_bytes: u64,
    },
    /// The magic is not the one expected: foreign data, or a value of another kind.
    Foreign {
        /// What was expected.
        expected: [u8; 4],
    },
    /// Written by a newer kinesim (or garbage).
    UnsupportedVersion {
        /// The version found.
        version: u16,
        /// The newest version this build reads.
        newest: u16,
    },
    /// More bytes than the header announces.
    TrailingBytes {
        /// Bytes past the payload.
        extra_bytes: u64,
    },
    /// The payload's CRC-32 does not match: the bytes changed after they were written.
    Checksum {
        /// CRC-32 in the header.
        stored: u32,
        /// CRC-32 of the payload.
        computed: u32,
    },
    /// The announced payload is larger than allowed.
    TooLarge {
        /// Announced length.
        length_bytes: u64,
        /// The limit.
        limit_bytes: u64,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Truncated {
                expected_bytes,
                actual_bytes,
            } => write!(
                f,
                "truncated: {actual_bytes} bytes where {expected_bytes} were expected"
            ),
            FrameError::Foreign { expected } => write!(
                f,
                "not kinesim data of this kind (expected the marker {})",
                String::from_utf8_lossy(expected)
            ),
            FrameError::UnsupportedVersion { version, newest } => write!(
                f,
                "format version {version} is newer than this kinesim reads ({newest}); update kinesim"
            ),
            FrameError::TrailingBytes { extra_bytes } => {
                write!(f, "{extra_bytes} unexpected bytes after the data")
            }
            FrameError::Checksum { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:08x}, computed {computed:08x}): the data is corrupted"
            ),
            FrameError::TooLarge {
                length_bytes,
                limit_bytes,
            } => write!(
                f,
                "{length_bytes} bytes is more than the {limit_bytes}-byte limit"
            ),
        }
    }
}

impl std::error::Error for FrameError {}

/// Wraps `payload` in a header.
pub fn encode(magic: [u8; 4], version: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + HEADER_LEN);
    out.extend_from_slice(&magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

fn read_array<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(slice) = bytes.get(at..at + N) {
        out.copy_from_slice(slice);
    }
    out
}

/// Checks the header and returns (version, payload). `newest` is the newest version the caller reads;
/// `limit_bytes` bounds the payload.
pub fn decode(
    magic: [u8; 4],
    newest: u16,
    limit_bytes: u64,
    bytes: &[u8],
) -> Result<(u16, &[u8]), FrameError> {
    let actual_bytes = bytes.len() as u64;
    if actual_bytes < HEADER_BYTES {
        if bytes.len() >= 4 && bytes[..4] != magic {
            return Err(FrameError::Foreign { expected: magic });
        }
        return Err(FrameError::Truncated {
            expected_bytes: HEADER_BYTES,
            actual_bytes,
        });
    }
    if read_array::<4>(bytes, 0) != magic {
        return Err(FrameError::Foreign { expected: magic });
    }
    let version = u16::from_le_bytes(read_array(bytes, 4));
    if version == 0 || version > newest {
        return Err(FrameError::UnsupportedVersion { version, newest });
    }
    let length_bytes = u64::from_le_bytes(read_array(bytes, 8));
    if length_bytes > limit_bytes {
        return Err(FrameError::TooLarge {
            length_bytes,
            limit_bytes,
        });
    }
    let stored = u32::from_le_bytes(read_array(bytes, 16));
    let expected_bytes = HEADER_BYTES.saturating_add(length_bytes);
    if actual_bytes < expected_bytes {
        return Err(FrameError::Truncated {
            expected_bytes,
            actual_bytes,
        });
    }
    if actual_bytes > expected_bytes {
        return Err(FrameError::TrailingBytes {
            extra_bytes: actual_bytes - expected_bytes,
        });
    }
    let payload = &bytes[HEADER_LEN..];
    let computed = crc32fast::hash(payload);
    if computed != stored {
        return Err(FrameError::Checksum { stored, computed });
    }
    Ok((version, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: [u8; 4] = *b"TEST";

    #[test]
    fn round_trips_and_rejects_damage() {
        let bytes = encode(M, 1, b"hello");
        assert_eq!(decode(M, 1, 100, &bytes), Ok((1, &b"hello"[..])));
        assert!(matches!(
            decode(*b"OTHR", 1, 100, &bytes),
            Err(FrameError::Foreign { .. })
        ));
        assert!(matches!(
            decode(M, 1, 100, &bytes[..bytes.len() - 1]),
            Err(FrameError::Truncated { .. })
        ));
        assert!(matches!(
            decode(M, 1, 3, &bytes),
            Err(FrameError::TooLarge { .. })
        ));
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(
            decode(M, 1, 100, &flipped),
            Err(FrameError::Checksum { .. })
        ));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            decode(M, 1, 100, &longer),
            Err(FrameError::TrailingBytes { extra_bytes: 1 })
        ));
        let newer = encode(M, 2, b"x");
        assert!(matches!(
            decode(M, 1, 100, &newer),
            Err(FrameError::UnsupportedVersion { version: 2, .. })
        ));
        assert!(decode(M, 1, 100, &[]).is_err());
    }
}
