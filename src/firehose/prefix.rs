//! S3 object keys exactly as Firehose writes them: `<evaluated prefix><suffix>`.
//!
//! The suffix is `DeliveryStreamName-DeliveryStreamVersion-YYYY-MM-dd-HH-MM-SS-<uuid>` (AWS developer guide,
//! "Configure Amazon S3 object name format"). A prefix is literal text with `!{namespace:value}` expressions
//! (AWS developer guide, "Custom prefixes for Amazon S3 objects"): `!{timestamp:FORMAT}` with a Java
//! `DateTimeFormatter` pattern, `!{firehose:random-string}` (11 characters), `!{firehose:error-output-type}`
//! (error prefix only), `!{partitionKeyFromQuery:KEY}` and `!{partitionKeyFromLambda:KEY}` (dynamic
//! partitioning). Every timestamp in one key is the same instant: the approximate arrival of the oldest record in
//! the object, in UTC. A prefix without expressions gets the default time folders `YYYY/MM/dd/HH/` appended; an
//! error prefix without expressions gets `<error-output-type>/YYYY/MM/dd/HH/` appended.

use crate::sim::time::{
    MILLIS_PER_DAY, MILLIS_PER_HOUR, MILLIS_PER_MINUTE, MILLIS_PER_SECOND, civil_from_days,
};
use std::collections::BTreeMap;

/// Longest Prefix or ErrorOutputPrefix, in characters (service model: `Prefix` max 1024).
pub const PREFIX_LENGTH_MAX_CHARS: u32 = 1_024;
/// Longest evaluated prefix, in characters. Source: AWS developer guide, "Custom prefixes", semantic rules
/// ("Prefix and ErrorOutputPrefix can't be longer than 512 characters after they're evaluated").
pub const EVALUATED_PREFIX_LENGTH_MAX_CHARS: u32 = 512;
/// Length of `!{firehose:random-string}`, in characters. Source: AWS developer guide, "Custom prefixes"
/// (example output `ztWxkdg3Thg`).
pub const RANDOM_STRING_LENGTH_CHARS: u32 = 11;

/// One piece of a prefix template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// Text copied as is.
    Literal(String),
    /// `!{timestamp:FORMAT}`, parsed.
    Timestamp(Vec<DateToken>),
    /// `!{firehose:random-string}`.
    RandomString,
    /// `!{firehose:error-output-type}`.
    ErrorOutputType,
    /// `!{partitionKeyFromQuery:KEY}`.
    PartitionKeyFromQuery(String),
    /// `!{partitionKeyFromLambda:KEY}`.
    PartitionKeyFromLambda(String),
}

/// One token of a Java `DateTimeFormatter` pattern (the subset of letters that make sense in a UTC path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateToken {
    /// Literal text (unquoted punctuation or quoted text).
    Text(String),
    /// A pattern letter repeated `count` times.
    Field(char, u8),
}

/// A parsed Prefix or ErrorOutputPrefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixTemplate {
    segments: Vec<Segment>,
}

/// What a prefix is evaluated against.
#[derive(Clone, Debug)]
pub struct PrefixContext<'a> {
    /// Unix ms of the oldest record's approximate arrival.
    pub timestamp_unix_ms: u64,
    /// The value of `!{firehose:random-string}` for this object.
    pub random_string: &'a str,
    /// The value of `!{firehose:error-output-type}` (`processing-failed`, `http-endpoint-failed`, ...).
    pub error_output_type: Option<&'a str>,
    /// Keys from dynamic partitioning (query or Lambda).
    pub partition_keys: &'a BTreeMap<String, String>,
}

impl PrefixTemplate {
    /// Parses `text`. Errors say what is wrong with the expression.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut segments = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find("!{") {
            if at > 0 {
                segments.push(Segment::Literal(rest[..at].to_string()));
            }
            let body_start = &rest[at + 2..];
            let Some(end) = body_start.find('}') else {
                return Err(format!(
                    "The expression starting at '{}' is not closed with '}}'.",
                    &rest[at..]
                ));
            };
            let expression = &body_start[..end];
            segments.push(parse_expression(expression)?);
            rest = &body_start[end + 1..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Literal(rest.to_string()));
        }
        Ok(PrefixTemplate { segments })
    }

    /// The segments.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether any `!{...}` expression is used.
    pub fn has_expressions(&self) -> bool {
        self.segments
            .iter()
            .any(|s| !matches!(s, Segment::Literal(_)))
    }

    /// Whether a segment matching `f` is used.
    pub fn uses(&self, f: impl Fn(&Segment) -> bool) -> bool {
        self.segments.iter().any(f)
    }

    /// Evaluates the template. Fails when a partition key it names is missing.
    pub fn evaluate(&self, ctx: &PrefixContext<'_>) -> Result<String, String> {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Timestamp(tokens) => {
                    format_java_date(&mut out, tokens, ctx.timestamp_unix_ms)
                }
                Segment::RandomString => out.push_str(ctx.random_string),
                Segment::ErrorOutputType => out.push_str(ctx.error_output_type.unwrap_or("")),
                Segment::PartitionKeyFromQuery(key) | Segment::PartitionKeyFromLambda(key) => {
                    match ctx.partition_keys.get(key) {
                        Some(value) => out.push_str(value),
                        None => {
                            return Err(format!(
                                "The partition key {key} has no value for this record."
                            ));
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

fn parse_expression(expression: &str) -> Result<Segment, String> {
    let Some((namespace, value)) = expression.split_once(':') else {
        return Err(format!(
            "The expression !{{{expression}}} must have the form !{{namespace:value}}."
        ));
    };
    match namespace {
        "timestamp" => parse_java_date_pattern(value).map(Segment::Timestamp),
        "firehose" => match value {
            "random-string" => Ok(Segment::RandomString),
            "error-output-type" => Ok(Segment::ErrorOutputType),
            _ => Err(format!(
                "The expression !{{{expression}}} is not valid: the firehose namespace takes random-string or error-output-type."
            )),
        },
        "partitionKeyFromQuery" | "partitionKeyFromLambda" if value.is_empty() => Err(format!(
            "The expression !{{{expression}}} needs a partition key name."
        )),
        "partitionKeyFromQuery" => Ok(Segment::PartitionKeyFromQuery(value.to_string())),
        "partitionKeyFromLambda" => Ok(Segment::PartitionKeyFromLambda(value.to_string())),
        _ => Err(format!(
            "The expression !{{{expression}}} uses an unknown namespace {namespace}; use timestamp, firehose, partitionKeyFromQuery or partitionKeyFromLambda."
        )),
    }
}

/// Parses a Java `DateTimeFormatter` pattern. Supported letters: `u y D M L d H h k K m s S a E` and the zone
/// letters `z Z X x O` (always UTC); letters outside that set are refused, as Java refuses unknown letters.
pub fn parse_java_date_pattern(pattern: &str) -> Result<Vec<DateToken>, String> {
    const LETTERS: &str = "uyDMLdHhkKmsSaEzZXxO";
    if pattern.is_empty() {
        return Err(
            "The timestamp expression needs a DateTimeFormatter pattern, such as yyyy/MM/dd."
                .into(),
        );
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let mut text = String::new();
            i += 1;
            if chars.get(i) == Some(&'\'') {
                tokens.push(DateToken::Text("'".into()));
                i += 1;
                continue;
            }
            loop {
                match chars.get(i) {
                    None => {
                        return Err(format!(
                            "The timestamp pattern {pattern} has an unclosed quote."
                        ));
                    }
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        text.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&other) => {
                        text.push(other);
                        i += 1;
                    }
                }
            }
            tokens.push(DateToken::Text(text));
        } else if c.is_ascii_alphabetic() {
            if !LETTERS.contains(c) {
                return Err(format!(
                    "The timestamp pattern {pattern} uses the letter {c}, which this simulator does not support (supported: {LETTERS})."
                ));
            }
            let mut count = 1u8;
            while chars.get(i + usize::from(count)) == Some(&c) && count < 9 {
                count += 1;
            }
            i += usize::from(count);
            tokens.push(DateToken::Field(c, count));
        } else if "[]{}#".contains(c) {
            return Err(format!(
                "The timestamp pattern {pattern} uses the reserved character {c}."
            ));
        } else {
            tokens.push(DateToken::Text(c.to_string()));
            i += 1;
        }
    }
    Ok(tokens)
}

fn format_java_date(out: &mut String, tokens: &[DateToken], unix_ms: u64) {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const WEEKDAYS: [&str; 7] = [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ];
    let days = unix_ms / MILLIS_PER_DAY;
    let in_day = unix_ms % MILLIS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    let (year_start, _, _) = (year, 1, 1);
    let day_of_year = days - days_from_civil_year_start(year_start) + 1;
    let hour = in_day / MILLIS_PER_HOUR;
    let minute = in_day % MILLIS_PER_HOUR / MILLIS_PER_MINUTE;
    let second = in_day % MILLIS_PER_MINUTE / MILLIS_PER_SECOND;
    let milli = in_day % MILLIS_PER_SECOND;
    let month_name = MONTHS[usize::try_from(month - 1).unwrap_or(0) % 12];
    let weekday = WEEKDAYS[usize::try_from(days % 7).unwrap_or(0)];
    for token in tokens {
        match token {
            DateToken::Text(text) => out.push_str(text),
            DateToken::Field(c, n) => {
                let n = usize::from(*n);
                let number = |out: &mut String, v: u64| out.push_str(&format!("{v:0n$}"));
                match c {
                    'y' | 'u' if n == 2 => number(out, year % 100),
                    'y' | 'u' => number(out, year),
                    'D' => number(out, day_of_year),
                    'M' | 'L' if n == 3 => out.push_str(&month_name[..3]),
                    'M' | 'L' if n >= 4 => out.push_str(month_name),
                    'M' | 'L' => number(out, month),
                    'd' => number(out, day),
                    'H' => number(out, hour),
                    'k' => number(out, if hour == 0 { 24 } else { hour }),
                    'K' => number(out, hour % 12),
                    'h' => number(
                        out,
                        if hour.is_multiple_of(12) {
                            12
                        } else {
                            hour % 12
                        },
                    ),
                    'm' => number(out, minute),
                    's' => number(out, second),
                    'S' => {
                        // Fraction of a second, `n` digits (milliseconds padded with zeros).
                        let digits = format!("{milli:03}000000");
                        out.push_str(&digits[..n.min(9)]);
                    }
                    'a' => out.push_str(if hour < 12 { "AM" } else { "PM" }),
                    'E' if n >= 4 => out.push_str(weekday),
                    'E' => out.push_str(&weekday[..3]),
                    'z' => out.push_str("UTC"),
                    'Z' => out.push_str("+0000"),
                    'X' => out.push('Z'),
                    'x' => out.push_str("+00"),
                    'O' => out.push_str("GMT"),
                    _ => {}
                }
            }
        }
    }
}

/// Days from 1970-01-01 to January 1st of `year` (year >= 1970).
fn days_from_civil_year_start(year: u64) -> u64 {
    let y = year - 1; // years before `year`, counted from year 0
    let leaps = |y: u64| y / 4 - y / 100 + y / 400;
    (year - 1970) * 365 + leaps(y) - leaps(1969)
}

/// The default time folders `YYYY/MM/dd/HH/` (UTC).
pub fn default_time_prefix(unix_ms: u64) -> String {
    let mut out = String::new();
    format_java_date(
        &mut out,
        &[
            DateToken::Field('y', 4),
            DateToken::Text("/".into()),
            DateToken::Field('M', 2),
            DateToken::Text("/".into()),
            DateToken::Field('d', 2),
            DateToken::Text("/".into()),
            DateToken::Field('H', 2),
            DateToken::Text("/".into()),
        ],
        unix_ms,
    );
    out
}

/// The object name after the prefix: `Name-Version-YYYY-MM-dd-HH-MM-SS-<uuid><extension>`.
pub fn object_suffix(
    name: &str,
    version: u64,
    unix_ms: u64,
    uuid: &str,
    extension: &str,
) -> String {
    let mut time = String::new();
    format_java_date(
        &mut time,
        &parse_java_date_pattern("yyyy-MM-dd-HH-mm-ss").unwrap_or_default(),
        unix_ms,
    );
    format!("{name}-{version}-{time}-{uuid}{extension}")
}

/// A version-4 UUID in its text form, from 128 random bits.
pub fn uuid_from_bits(hi: u64, lo: u64) -> String {
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// The 11-character value of `!{firehose:random-string}` from random bits (letters and digits).
pub fn random_string_from_bits(mut bits: u64) -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..RANDOM_STRING_LENGTH_CHARS)
        .map(|_| {
            let c = ALPHABET[usize::try_from(bits % 62).unwrap_or(0)];
            bits /= 62;
            char::from(c)
        })
        .collect()
}

/// Checks a destination's Prefix and ErrorOutputPrefix against AWS's semantic rules (developer guide, "Custom
/// prefixes for Amazon S3 objects"). The messages are the simulator's (the AWS texts are not all documented).
pub fn validate_prefixes(
    prefix: &str,
    error_output_prefix: Option<&str>,
    dynamic_partitioning: bool,
) -> Result<(PrefixTemplate, Option<PrefixTemplate>), String> {
    let main = PrefixTemplate::parse(prefix).map_err(|e| format!("Prefix: {e}"))?;
    let error = error_output_prefix
        .filter(|p| !p.is_empty())
        .map(PrefixTemplate::parse)
        .transpose()
        .map_err(|e| format!("ErrorOutputPrefix: {e}"))?;
    if main.uses(|s| matches!(s, Segment::ErrorOutputType)) {
        return Err(
            "The expression !{firehose:error-output-type} can only be used in ErrorOutputPrefix."
                .into(),
        );
    }
    let partitioned = |s: &Segment| {
        matches!(
            s,
            Segment::PartitionKeyFromQuery(_) | Segment::PartitionKeyFromLambda(_)
        )
    };
    if main.uses(partitioned) && !dynamic_partitioning {
        return Err("Prefix uses partitionKeyFromQuery or partitionKeyFromLambda expressions, which need DynamicPartitioningConfiguration Enabled.".into());
    }
    if dynamic_partitioning && !main.uses(partitioned) {
        return Err("When dynamic partitioning is enabled, Prefix must contain at least one partitionKeyFromQuery or partitionKeyFromLambda expression.".into());
    }
    if main.has_expressions() && error.is_none() {
        return Err("ErrorOutputPrefix must be specified when Prefix contains expressions.".into());
    }
    if let Some(error) = &error {
        if error.uses(partitioned) {
            return Err("ErrorOutputPrefix can't contain partitionKeyFromQuery or partitionKeyFromLambda expressions.".into());
        }
        if error.has_expressions() && !error.uses(|s| matches!(s, Segment::ErrorOutputType)) {
            return Err("ErrorOutputPrefix must contain !{firehose:error-output-type} when it contains expressions.".into());
        }
    }
    Ok((main, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_767_225_600_000 + 3_723_456; // 2026-01-01T01:02:03.456Z

    fn eval(prefix: &str) -> String {
        let keys = BTreeMap::from([("customer".to_string(), "42".to_string())]);
        PrefixTemplate::parse(prefix)
            .unwrap()
            .evaluate(&PrefixContext {
                timestamp_unix_ms: T,
                random_string: "ztWxkdg3Thg",
                error_output_type: Some("processing-failed"),
                partition_keys: &keys,
            })
            .unwrap()
    }

    #[test]
    fn expressions_evaluate_as_aws_documents() {
        assert_eq!(
            eval("myApp/YYYY/MM/DD/HH/"),
            "myApp/YYYY/MM/DD/HH/",
            "plain text is plain text"
        );
        assert_eq!(
            eval("dt=!{timestamp:yyyy'-'MM'-'dd}/h=!{timestamp:HH}/"),
            "dt=2026-01-01/h=01/"
        );
        assert_eq!(
            eval("!{timestamp:yyyy/MM/dd/HH/mm/ss.SSS}"),
            "2026/01/01/01/02/03.456"
        );
        assert_eq!(eval("!{timestamp:D EEE MMM a}"), "1 Thu Jan AM");
        assert_eq!(
            eval("c=!{partitionKeyFromQuery:customer}/!{firehose:random-string}/"),
            "c=42/ztWxkdg3Thg/"
        );
        assert_eq!(
            eval("err/!{firehose:error-output-type}/"),
            "err/processing-failed/"
        );
        assert_eq!(default_time_prefix(T), "2026/01/01/01/");
        assert_eq!(
            object_suffix("s", 1, T, "u", ""),
            "s-1-2026-01-01-01-02-03-u"
        );
    }

    #[test]
    fn day_of_year_counts_leap_days() {
        let mut out = String::new();
        // 2024-12-31
        format_java_date(&mut out, &[DateToken::Field('D', 1)], 1_735_603_200_000);
        assert_eq!(out, "366");
    }

    #[test]
    fn bad_prefixes_are_refused_with_the_rule_they_break() {
        assert!(PrefixTemplate::parse("!{timestamp:yyyy").is_err());
        assert!(PrefixTemplate::parse("!{nope:x}").is_err());
        assert!(PrefixTemplate::parse("!{timestamp:qq}").is_err());
        assert!(
            validate_prefixes(
                "!{firehose:error-output-type}/",
                Some("e/!{firehose:error-output-type}"),
                false
            )
            .is_err()
        );
        assert!(validate_prefixes("!{timestamp:yyyy}/", None, false).is_err());
        assert!(
            validate_prefixes("!{timestamp:yyyy}/", Some("e/!{timestamp:yyyy}"), false).is_err()
        );
        assert!(
            validate_prefixes(
                "!{timestamp:yyyy}/",
                Some("e/!{firehose:error-output-type}"),
                false
            )
            .is_ok()
        );
        assert!(validate_prefixes("plain/", None, false).is_ok());
        assert!(
            validate_prefixes(
                "!{partitionKeyFromQuery:a}/",
                Some("e/!{firehose:error-output-type}"),
                false
            )
            .is_err()
        );
        assert!(
            validate_prefixes(
                "!{partitionKeyFromQuery:a}/",
                Some("e/!{firehose:error-output-type}"),
                true
            )
            .is_ok()
        );
    }

    #[test]
    fn uuids_and_random_strings_have_their_shapes() {
        let u = uuid_from_bits(u64::MAX, 0);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(random_string_from_bits(12345).len(), 11);
    }
}
