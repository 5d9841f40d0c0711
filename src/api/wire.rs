//! AWS JSON 1.1 on the wire: reading members with AWS's type errors (SerializationException) and checking the
//! service model's constraints with AWS's aggregated ValidationException messages.

use crate::streams::{ErrorType, KinesisError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

/// Most constraint failures one ValidationException lists (AWS stops at 10).
pub const VALIDATION_ERRORS_MAX: usize = 10;

/// How AWS's JSON reader names a JSON number in type errors.
const NUMBER_CLASS: &str = "class com.amazon.coral.value.json.numbers.TruncatingBigNumber";

/// A type error, as AWS's JSON deserializer words it.
pub fn serialization_error(message: impl Into<String>) -> KinesisError {
    KinesisError::new(ErrorType::SerializationException, message)
}

/// Parses a request body: it must be a JSON object (an empty body is not JSON: SDKs send `{}`).
pub fn parse_body(body: &str) -> Result<Map<String, Value>, KinesisError> {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(serialization_error(
            "Start of structure or map found where not expected.",
        )),
        // A body that is not JSON at all gets a SerializationException without a message, as on AWS.
        Err(_) => Err(serialization_error("")),
    }
}

fn type_name_error(value: &Value, target: &str) -> KinesisError {
    serialization_error(match value {
        Value::Bool(_) => format!("class java.lang.Boolean can not be converted to an {target}"),
        Value::Number(_) => {
            format!("{NUMBER_CLASS} can not be converted to an {target}")
        }
        Value::String(_) => format!("class java.lang.String can not be converted to an {target}"),
        Value::Array(_) => "Start of list found where not expected".to_string(),
        Value::Object(_) => "Start of structure or map found where not expected.".to_string(),
        Value::Null => format!("null can not be converted to an {target}"),
    })
}

/// Reads typed members out of a JSON object, in the order the caller asks for them.
#[derive(Debug)]
pub struct Reader<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Reader<'a> {
    /// A reader over `map`.
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Reader { map }
    }

    fn get(&self, member: &str) -> Option<&'a Value> {
        self.map.get(member).filter(|v| !v.is_null())
    }

    /// A string member.
    pub fn string(&self, member: &str) -> Result<Option<String>, KinesisError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Bool(_)) => Err(serialization_error(
                "class java.lang.Boolean can not be converted to an String",
            )),
            Some(other) => Err(type_name_error(other, "String")),
        }
    }

    /// An integer member (fractions are dropped, as AWS does); values beyond i64 saturate.
    pub fn integer(&self, member: &str) -> Result<Option<i64>, KinesisError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(Some(number_to_i64(n))),
            Some(other) => Err(type_name_error(other, "Integer")),
        }
    }

    /// A boolean member.
    pub fn boolean(&self, member: &str) -> Result<Option<bool>, KinesisError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => Err(serialization_error(format!(
                "'{}' can not be converted to an Boolean",
                s.to_uppercase()
            ))),
            Some(Value::Number(_)) => Err(serialization_error(format!(
                "{NUMBER_CLASS} can not be converted to an Boolean"
            ))),
            Some(other) => Err(type_name_error(other, "Boolean")),
        }
    }

    /// A timestamp member: epoch seconds (a number, fractions allowed), returned as Unix milliseconds.
    pub fn timestamp_unix_ms(&self, member: &str) -> Result<Option<i64>, KinesisError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(Some(seconds_to_ms(n))),
            Some(Value::String(_)) => Err(serialization_error(
                "class java.lang.String can not be converted to milliseconds since epoch",
            )),
            Some(Value::Bool(_)) => Err(serialization_error(
                "class java.lang.Boolean can not be converted to milliseconds since epoch",
            )),
            Some(other) => Err(type_name_error(other, "Date")),
        }
    }

    /// A blob member: base64 text, decoded.
    pub fn blob(&self, member: &str) -> Result<Option<Vec<u8>>, KinesisError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::String(s)) => decode_blob(s).map(Some),
            Some(Value::Bool(_)) => Err(serialization_error(
                "class java.lang.Boolean can not be converted to a Blob",
            )),
            Some(Value::Number(_)) => Err(serialization_error(format!(
                "{NUMBER_CLASS} can not be converted to a Blob"
            ))),
            Some(other) => Err(type_name_error(other, "Blob")),
        }
    }

    /// A list member whose items are objects.
    pub fn list_of_structures(
        &self,
        member: &str,
    ) -> Result<Option<Vec<&'a Map<String, Value>>>, KinesisError> {
        let items = match self.get(member) {
            None => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(Value::Object(_)) => {
                return Err(serialization_error(
                    "Start of structure or map found where not expected.",
                ));
            }
            Some(_) => return Err(serialization_error("Expected list or null")),
        };
        items
            .iter()
            .map(|item| match item {
                Value::Object(map) => Ok(map),
                Value::Array(_) => Err(serialization_error(
                    "Start of list found where not expected",
                )),
                _ => Err(serialization_error("Expected null")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A list member whose items are strings.
    pub fn list_of_strings(&self, member: &str) -> Result<Option<Vec<String>>, KinesisError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(type_name_error(other, "String")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(Value::Object(_)) => Err(serialization_error(
                "Start of structure or map found where not expected.",
            )),
            Some(_) => Err(serialization_error("Expected list or null")),
        }
    }

    /// A map member whose values are strings, in key order.
    pub fn map_of_strings(
        &self,
        member: &str,
    ) -> Result<Option<Vec<(String, String)>>, KinesisError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    other => Err(type_name_error(other, "String")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(Value::Array(_)) => Err(serialization_error(
                "Start of list found where not expected",
            )),
            Some(_) => Err(serialization_error("Expected map or null")),
        }
    }

    /// A structure member.
    pub fn structure(&self, member: &str) -> Result<Option<Reader<'a>>, KinesisError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Reader::new(map))),
            Some(Value::Array(_)) => Err(serialization_error(
                "Start of list found where not expected",
            )),
            Some(_) => Err(serialization_error("Expected null")),
        }
    }
}

fn number_to_i64(n: &serde_json::Number) -> i64 {
    if let Some(i) = n.as_i64() {
        return i;
    }
    if n.as_u64().is_some() {
        return i64::MAX;
    }
    // A float: drop the fraction (saturating at the i64 range), as AWS's deserializer truncates.
    #[allow(clippy::cast_possible_truncation)]
    let truncated = n.as_f64().map_or(0, |f| f.floor() as i64);
    truncated
}

fn seconds_to_ms(n: &serde_json::Number) -> i64 {
    if let Some(i) = n.as_i64() {
        return i.saturating_mul(1_000);
    }
    #[allow(clippy::cast_possible_truncation)]
    let ms = n.as_f64().map_or(0, |f| (f * 1_000.0).round() as i64);
    ms
}

fn decode_blob(text: &str) -> Result<Vec<u8>, KinesisError> {
    if !text.len().is_multiple_of(4) {
        return Err(serialization_error(format!(
            "'{text}' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes \
             but found: {}",
            text.len()
        )));
    }
    let bad = text
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=')
                || (c == '=' && text[i + 1..].chars().any(|n| n != '='))
        })
        .map(|(_, c)| c);
    if let Some(c) = bad {
        return Err(serialization_error(format!(
            "'{text}' can not be converted to a Blob: Invalid Base64 character: '{c}'"
        )));
    }
    STANDARD.decode(text).map_err(|_| {
        serialization_error(format!(
            "'{text}' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"
        ))
    })
}

/// One constraint of the service model, checked in the order given.
#[derive(Clone, Copy, Debug)]
pub enum Rule {
    /// The member must be present.
    NotNull,
    /// The string must match the model's pattern (text shown in the message, and the check).
    Pattern(&'static str, fn(&str) -> bool),
    /// Length (characters, bytes for blobs, items for lists, entries for maps) at least this.
    LengthMin(u64),
    /// Length at most this.
    LengthMax(u64),
    /// Number at least this.
    Min(i64),
    /// Number at most this.
    Max(i64),
    /// One of these values.
    Enum(&'static [&'static str]),
}

/// A member's value as constraints see it.
#[derive(Clone, Copy, Debug)]
pub enum Checked<'v> {
    /// Absent or null.
    Null,
    /// A string.
    Str(&'v str),
    /// An integer.
    Int(i64),
    /// A blob of this many bytes.
    Blob(u64),
    /// A list of strings (shown as `[a, b]`).
    Strings(&'v [String]),
    /// A list of this many items.
    Items(u64),
    /// A map of strings.
    Map(&'v [(String, String)]),
}

impl Checked<'_> {
    /// The value as the message shows it: `null`, `'text'`, `'12'`, or nothing for blobs, lists and maps
    /// (current AWS writes `Value at 'records' failed ...` for those).
    fn render(&self) -> Option<String> {
        match self {
            Checked::Null => Some("null".to_string()),
            Checked::Str(s) => Some(format!("'{s}'")),
            Checked::Int(i) => Some(format!("'{i}'")),
            Checked::Blob(_) | Checked::Strings(_) | Checked::Items(_) | Checked::Map(_) => None,
        }
    }

    fn length(&self) -> Option<u64> {
        match self {
            Checked::Str(s) => Some(s.chars().count() as u64),
            Checked::Blob(n) | Checked::Items(n) => Some(*n),
            Checked::Strings(items) => Some(items.len() as u64),
            Checked::Map(entries) => Some(entries.len() as u64),
            Checked::Null | Checked::Int(_) => None,
        }
    }
}

/// Collects constraint failures and turns them into one ValidationException, as AWS does.
#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<String>,
}

impl Validation {
    /// No failures yet.
    pub fn new() -> Self {
        Validation::default()
    }

    /// Checks `value` of the member at `path` (lower camel case, e.g. `records.1.member.partitionKey`).
    pub fn check(&mut self, path: &str, value: Checked<'_>, rules: &[Rule]) {
        for rule in rules {
            if self.errors.len() >= VALIDATION_ERRORS_MAX {
                return;
            }
            let failure = match (*rule, value) {
                (Rule::NotNull, Checked::Null) => Some("Member must not be null".to_string()),
                (_, Checked::Null) | (Rule::NotNull, _) => None,
                (Rule::Pattern(text, matches), Checked::Str(s)) => (!matches(s))
                    .then(|| format!("Member must satisfy regular expression pattern: {text}")),
                (Rule::Enum(values), Checked::Str(s)) => (!values.contains(&s)).then(|| {
                    format!(
                        "Member must satisfy enum value set: [{}]",
                        values.join(", ")
                    )
                }),
                (Rule::Min(min), Checked::Int(i)) => (i < min)
                    .then(|| format!("Member must have value greater than or equal to {min}")),
                (Rule::Max(max), Checked::Int(i)) => {
                    (i > max).then(|| format!("Member must have value less than or equal to {max}"))
                }
                (Rule::LengthMin(min), v) => v
                    .length()
                    .filter(|&n| n < min)
                    .map(|_| format!("Member must have length greater than or equal to {min}")),
                (Rule::LengthMax(max), v) => v
                    .length()
                    .filter(|&n| n > max)
                    .map(|_| format!("Member must have length less than or equal to {max}")),
                _ => None,
            };
            if let Some(constraint) = failure {
                let shown = value.render().map(|v| format!(" {v}")).unwrap_or_default();
                self.errors.push(format!(
                    "Value{shown} at '{path}' failed to satisfy constraint: {constraint}"
                ));
            }
        }
    }

    /// Adds a failure worded by the caller (for constraints on map keys or list items).
    pub fn fail(&mut self, message: String) {
        if self.errors.len() < VALIDATION_ERRORS_MAX {
            self.errors.push(message);
        }
    }

    /// The ValidationException, if anything failed.
    pub fn finish(self) -> Result<(), KinesisError> {
        match self.errors.len() {
            0 => Ok(()),
            n => Err(KinesisError::new(
                ErrorType::ValidationException,
                format!(
                    "{n} validation error{} detected: {}",
                    if n == 1 { "" } else { "s" },
                    self.errors.join("; ")
                ),
            )),
        }
    }
}

/// The model's `[a-zA-Z0-9_.-]+` (stream names, shard ids, consumer names).
pub fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

/// The model's `0|([1-9]\d{0,38})` for hash keys.
pub fn is_hash_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 39
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'))
}

/// The model's `0|([1-9]\d{0,128})` for sequence numbers.
pub fn is_sequence_number(s: &str) -> bool {
    crate::streams::sequence::matches_model_pattern(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages_are_aggregated_as_aws_words_them() {
        let mut v = Validation::new();
        v.check(
            "streamName",
            Checked::Str("a b"),
            &[
                Rule::NotNull,
                Rule::Pattern("[a-zA-Z0-9_.-]+", is_name),
                Rule::LengthMax(128),
            ],
        );
        v.check("shardCount", Checked::Null, &[Rule::NotNull, Rule::Min(1)]);
        let err = v.finish().unwrap_err();
        assert_eq!(err.error_type, ErrorType::ValidationException);
        assert_eq!(
            err.message,
            "2 validation errors detected: Value 'a b' at 'streamName' failed to satisfy constraint: Member must \
             satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value null at 'shardCount' failed to satisfy \
             constraint: Member must not be null"
        );
        assert!(Validation::new().finish().is_ok());
    }

    #[test]
    fn at_most_ten_failures_are_listed() {
        let mut v = Validation::new();
        for i in 0..15 {
            v.check(&format!("m{i}"), Checked::Null, &[Rule::NotNull]);
        }
        assert!(
            v.finish()
                .unwrap_err()
                .message
                .starts_with("10 validation errors detected")
        );
    }

    #[test]
    fn type_errors_are_serialization_exceptions() {
        let body = parse_body(r#"{"StreamName": 5, "ShardCount": "x", "Data": "abc"}"#).unwrap();
        let r = Reader::new(&body);
        assert_eq!(
            r.string("StreamName").unwrap_err().message,
            "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"
        );
        assert_eq!(
            r.integer("ShardCount").unwrap_err().message,
            "class java.lang.String can not be converted to an Integer"
        );
        assert!(
            r.blob("Data")
                .unwrap_err()
                .message
                .contains("multiple of 4 bytes but found: 3")
        );
        assert_eq!(r.string("Missing").unwrap(), None);
        assert!(parse_body("[1]").is_err());
        assert!(parse_body("{not json").is_err());
        assert!(parse_body("").is_err());
        assert!(parse_body("{}").unwrap().is_empty());
    }
}
