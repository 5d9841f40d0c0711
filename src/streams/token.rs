//! Opaque, self-contained tokens: shard iterators and ListShards `NextToken`s.
//!
//! A token carries everything needed to resume (so it stays valid across a reload of a saved session) plus a
//! checksum keyed by the run's seed, so a token edited by hand or taken from another run is refused rather than
//! misread. Tokens are base64 text, at most 512 characters (the model's `ShardIterator` max).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// Longest token, in characters (service model: `ShardIterator` max 512).
pub const TOKEN_LENGTH_MAX_CHARS: usize = 512;
const CHECKSUM_BYTES: usize = 8;

/// Seals `fields` into a token with the run's `key`.
pub fn seal(key: u64, fields: &[&str]) -> String {
    let payload = fields.join("\u{1f}");
    let mut bytes = payload.into_bytes();
    let sum = checksum(key, &bytes);
    bytes.extend_from_slice(&sum);
    encode(&bytes)
}

/// Opens a token sealed with `key`; `None` when it is malformed, too long or not sealed with this key.
pub fn open(key: u64, token: &str) -> Option<Vec<String>> {
    if token.len() > TOKEN_LENGTH_MAX_CHARS {
        return None;
    }
    let bytes = decode(token)?;
    if bytes.len() < CHECKSUM_BYTES {
        return None;
    }
    let (payload, sum) = bytes.split_at(bytes.len() - CHECKSUM_BYTES);
    if checksum(key, payload) != sum {
        return None;
    }
    let text = String::from_utf8(payload.to_vec()).ok()?;
    Some(text.split('\u{1f}').map(str::to_string).collect())
}

fn checksum(key: u64, payload: &[u8]) -> [u8; CHECKSUM_BYTES] {
    let mut hasher = Sha256::new();
    hasher.update(b"kinesim/token/v1\0");
    hasher.update(key.to_le_bytes());
    hasher.update(payload);
    let digest = hasher.finalize();
    let mut out = [0u8; CHECKSUM_BYTES];
    out.copy_from_slice(&digest[..CHECKSUM_BYTES]);
    out
}

/// Standard base64 with padding, as AWS encodes blobs on the wire.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard base64 with padding; `None` for anything else.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(b"f"), "Zg==");
        assert_eq!(encode(b"fo"), "Zm8=");
        assert_eq!(encode(b"foo"), "Zm9v");
        assert_eq!(encode(b"hello"), "aGVsbG8=");
        assert_eq!(decode("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        for bad in ["a", "aGVsbG8", "aGV=bG8=", "a===", "aGVs!G8="] {
            assert_eq!(decode(bad), None, "{bad}");
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&all)), Some(all));
    }

    #[test]
    fn tokens_open_only_with_their_key_and_intact() {
        let token = seal(7, &["stream", "3", "42"]);
        assert_eq!(
            open(7, &token),
            Some(vec!["stream".into(), "3".into(), "42".into()])
        );
        assert_eq!(open(8, &token), None);
        let mut tampered = token.clone().into_bytes();
        tampered[2] = if tampered[2] == b'A' { b'B' } else { b'A' };
        assert_eq!(open(7, &String::from_utf8(tampered).unwrap()), None);
        assert_eq!(open(7, "not a token"), None);
    }
}
