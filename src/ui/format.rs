//! Pure helpers for forms and display: validation with the message a user needs, numbers and record data as text.
//! Record data is untrusted: it is only ever turned into text here and rendered as text nodes.

use crate::streams::service::{RETENTION_HOURS_MAX, RETENTION_HOURS_MIN};

/// Longest stream name (AWS: 1 to 128 characters of `[a-zA-Z0-9_.-]`).
pub const STREAM_NAME_LENGTH_MAX: usize = 128;

/// `text` with its middle left out (`495432…000002`) when it has more than `2 * keep_chars + 1` characters: the
/// ends that tell long numbers apart, where a narrow table has no room for all of it (show the whole in a `title`).
pub fn abbreviate_middle(text: &str, keep_chars: usize) -> String {
    let total = text.chars().count();
    if total <= keep_chars.saturating_mul(2).saturating_add(1) {
        return text.to_string();
    }
    let head: String = text.chars().take(keep_chars).collect();
    let tail: String = text.chars().skip(total - keep_chars).collect();
    format!("{head}…{tail}")
}

/// Checks a stream name as AWS does, before the call (AWS would answer the same with a ValidationException).
pub fn validate_stream_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Give the stream a name.".into());
    }
    if name.chars().count() > STREAM_NAME_LENGTH_MAX {
        return Err(format!(
            "A stream name may have at most {STREAM_NAME_LENGTH_MAX} characters."
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "A stream name may use letters, digits, '_', '.' and '-' only; '{bad}' is not allowed."
        ));
    }
    Ok(())
}

/// A whole number in `lo..=hi` typed into the field `field`.
pub fn parse_in_range(text: &str, lo: u64, hi: u64, field: &str) -> Result<u64, String> {
    let t = text.trim().replace(['_', ','], "");
    match t.parse::<u64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(format!("{field} must be a whole number from {lo} to {hi}.")),
    }
}

/// A retention period in hours (24 to 8,760).
pub fn parse_retention_hours(text: &str) -> Result<u64, String> {
    parse_in_range(
        text,
        u64::from(RETENTION_HOURS_MIN),
        u64::from(RETENTION_HOURS_MAX),
        "Retention (hours)",
    )
}

/// A hash key typed in decimal (0 to 2^128 - 1).
pub fn parse_hash_key(text: &str) -> Result<u128, String> {
    text.trim().parse::<u128>().map_err(|_| {
        "A hash key is a whole number from 0 to 340282366920938463463374607431768211455.".into()
    })
}

/// Bytes for people: `512 B`, `1.5 KiB`, `2.0 MiB`.
pub fn bytes(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    if n < 1_024 {
        format!("{n} B")
    } else if n < 1_048_576 {
        format!("{:.1} KiB", f / 1_024.0)
    } else {
        format!("{:.1} MiB", f / 1_048_576.0)
    }
}

/// A count with thousands separators: `12,345`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Milliseconds for people: `850 ms`, `12.3 s`, `4.0 min`.
pub fn millis(ms: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = ms as f64;
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 120_000 {
        format!("{:.1} s", f / 1_000.0)
    } else {
        format!("{:.1} min", f / 60_000.0)
    }
}

/// How record data is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataView {
    /// As UTF-8 text (invalid bytes shown as U+FFFD).
    Utf8,
    /// As JSON, compacted; "not JSON" when it does not parse.
    Json,
    /// As hex bytes.
    Hex,
}

/// Record data as text, at most `chars_max` characters (an ellipsis marks the cut).
pub fn data_text(data: &[u8], view: DataView, chars_max: usize) -> String {
    let text = match view {
        DataView::Utf8 => String::from_utf8_lossy(data).into_owned(),
        DataView::Json => match serde_json::from_slice::<serde_json::Value>(data) {
            Ok(v) => v.to_string(),
            Err(_) => "(not JSON)".to_string(),
        },
        DataView::Hex => {
            let mut s = String::with_capacity(data.len().min(chars_max) * 3);
            for b in data.iter().take(chars_max / 3 + 1) {
                s.push_str(&format!("{b:02x} "));
            }
            s.trim_end().to_string()
        }
    };
    if text.chars().count() > chars_max {
        let mut cut: String = text.chars().take(chars_max).collect();
        cut.push('…');
        cut
    } else {
        text
    }
}
