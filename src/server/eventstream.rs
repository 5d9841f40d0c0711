//! The AWS event-stream message encoding (`application/vnd.amazon.eventstream`), as SubscribeToShard's response
//! body carries it. One message:
//!
//! ```text
//! total length (u32 BE) | headers length (u32 BE) | prelude CRC32 (of the 8 bytes before it)
//! headers: name length (u8) | name | value type (u8; 7 = string) | value length (u16 BE) | value   (repeated)
//! payload
//! message CRC32 (of every byte before it, prelude CRC included)
//! ```
//!
//! CRC32 is the IEEE one (as zlib's `crc32`, which botocore's decoder uses).

/// Bytes of the prelude: total length, headers length, prelude CRC.
pub const PRELUDE_BYTES: usize = 12;
/// Bytes of the trailing message CRC.
pub const MESSAGE_CRC_BYTES: usize = 4;
/// The header value type of a string (UTF-8, u16 length).
pub const HEADER_TYPE_STRING: u8 = 7;

/// The IEEE CRC32 lookup table (reflected polynomial 0xEDB88320), built at compile time.
const CRC32_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i: u32 = 0;
    while i < 256 {
        let mut crc = i;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i as usize] = crc;
        i += 1;
    }
    table
};

/// IEEE CRC32 of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc = CRC32_TABLE[usize::from(crc.to_le_bytes()[0] ^ byte)] ^ (crc >> 8);
    }
    !crc
}

/// Encodes one message with string headers. Header names longer than 255 bytes and values longer than 65,535
/// bytes are cut (the server only sends its own short constants).
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut header_bytes = Vec::new();
    for (name, value) in headers {
        let name = &name.as_bytes()[..name.len().min(usize::from(u8::MAX))];
        let value = &value.as_bytes()[..value.len().min(usize::from(u16::MAX))];
        header_bytes.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        header_bytes.extend_from_slice(name);
        header_bytes.push(HEADER_TYPE_STRING);
        header_bytes
            .extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        header_bytes.extend_from_slice(value);
    }
    let total = PRELUDE_BYTES + header_bytes.len() + payload.len() + MESSAGE_CRC_BYTES;
    let mut message = Vec::with_capacity(total);
    message.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
    message.extend_from_slice(
        &u32::try_from(header_bytes.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    let prelude_crc = crc32(&message);
    message.extend_from_slice(&prelude_crc.to_be_bytes());
    message.extend_from_slice(&header_bytes);
    message.extend_from_slice(payload);
    let message_crc = crc32(&message);
    message.extend_from_slice(&message_crc.to_be_bytes());
    message
}

/// An `event` message of type `event_type` with a JSON payload.
pub fn event(event_type: &str, payload: &[u8]) -> Vec<u8> {
    encode(
        &[
            (":message-type", "event"),
            (":event-type", event_type),
            (":content-type", "application/json"),
        ],
        payload,
    )
}

/// An `exception` message of type `exception_type` (a member of the operation's event-stream union, e.g.
/// `ResourceInUseException`) with `{"message": ...}` as its payload.
pub fn exception(exception_type: &str, message: &str) -> Vec<u8> {
    let payload = serde_json::json!({ "message": message }).to_string();
    encode(
        &[
            (":message-type", "exception"),
            (":exception-type", exception_type),
            (":content-type", "application/json"),
        ],
        payload.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_ieee_one() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn a_message_has_prelude_headers_payload_and_crcs() {
        let m = encode(&[("a", "bc")], b"{}");
        // 12 prelude + (1 + 1 + 1 + 2 + 2) headers + 2 payload + 4 crc
        assert_eq!(m.len(), 25);
        assert_eq!(&m[0..4], &25u32.to_be_bytes());
        assert_eq!(&m[4..8], &7u32.to_be_bytes());
        assert_eq!(&m[8..12], &crc32(&m[0..8]).to_be_bytes());
        assert_eq!(&m[12..19], &[1, b'a', 7, 0, 2, b'b', b'c']);
        assert_eq!(&m[19..21], b"{}");
        assert_eq!(&m[21..25], &crc32(&m[0..21]).to_be_bytes());
    }

    #[test]
    fn the_empty_message_matches_the_aws_test_vector() {
        // The "empty message" vector of the AWS event-stream test suite (aws-c-event-stream, botocore).
        assert_eq!(
            encode(&[], b""),
            [
                0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98,
                0xc8, 0xff
            ]
        );
    }
}
