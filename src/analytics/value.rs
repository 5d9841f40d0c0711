//! SQL values, types and timestamp text: what a column of an in-application stream holds.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// One SQL value. Timestamps are milliseconds since the Unix epoch (ROWTIME is the application's display epoch
/// plus simulated time). Floats hold SQL values and aggregates only; time and window decisions use integers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// BOOLEAN.
    Bool(bool),
    /// INTEGER, BIGINT (and SMALLINT, TINYINT).
    Int(i64),
    /// DOUBLE, REAL, DECIMAL (approximated).
    Double(f64),
    /// VARCHAR, CHAR.
    Str(String),
    /// TIMESTAMP as milliseconds since the Unix epoch.
    Timestamp(i64),
}

impl Value {
    fn rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) | Value::Double(_) => 2,
            Value::Str(_) => 3,
            Value::Timestamp(_) => 4,
        }
    }

    /// Whether the value is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as a float, for numbers.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Double(d) => Some(*d),
            _ => None,
        }
    }

    /// The value as JSON: timestamps as `YYYY-MM-DD HH:MM:SS.mmm`, non-finite doubles as null.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Double(d) => serde_json::Number::from_f64(*d)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::Timestamp(ms) => serde_json::Value::String(format_timestamp(*ms)),
        }
    }

    /// The value as SQL text (what `CAST(x AS VARCHAR)` gives).
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Double(d) => d.to_string(),
            Value::Str(s) => s.clone(),
            Value::Timestamp(ms) => format_timestamp(*ms),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    /// A total order for grouping keys and MIN/MAX: NULL < booleans < numbers < strings < timestamps; integers and
    /// doubles compare by numeric value (doubles by IEEE total order).
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Int(a), Value::Double(b)) => (*a as f64).total_cmp(b),
            (Value::Double(a), Value::Int(b)) => a.total_cmp(&(*b as f64)),
            (Value::Double(a), Value::Double(b)) => a.total_cmp(b),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::Timestamp(a), Value::Timestamp(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// A column type of an in-application stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SqlType {
    /// `VARCHAR(n)` (also `CHAR(n)`): longer text is an error on insert.
    Varchar(u32),
    /// `INTEGER` (also SMALLINT, TINYINT): 32-bit.
    Integer,
    /// `BIGINT`: 64-bit.
    Bigint,
    /// `DOUBLE` (also REAL, FLOAT, DECIMAL, NUMERIC).
    Double,
    /// `BOOLEAN`.
    Boolean,
    /// `TIMESTAMP`: milliseconds.
    Timestamp,
}

impl SqlType {
    /// The SQL spelling, e.g. `VARCHAR(16)`.
    pub fn sql(&self) -> String {
        match self {
            SqlType::Varchar(n) => format!("VARCHAR({n})"),
            SqlType::Integer => "INTEGER".into(),
            SqlType::Bigint => "BIGINT".into(),
            SqlType::Double => "DOUBLE".into(),
            SqlType::Boolean => "BOOLEAN".into(),
            SqlType::Timestamp => "TIMESTAMP".into(),
        }
    }

    /// `value` converted to this type, or a message saying why it cannot be.
    // Double-to-integer casts are guarded to |d| < 9.2e18, inside i64.
    #[allow(clippy::cast_possible_truncation)]
    pub fn cast(&self, value: Value) -> Result<Value, String> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let fail = |v: &Value, t: &SqlType| format!("cannot cast '{}' to {}", v.to_text(), t.sql());
        match self {
            SqlType::Varchar(n) => {
                let text = value.to_text();
                if !matches!(u32::try_from(text.chars().count()), Ok(len) if len <= *n) {
                    Err(format!("'{text}' is longer than {}", self.sql()))
                } else {
                    Ok(Value::Str(text))
                }
            }
            SqlType::Integer | SqlType::Bigint => {
                let int = match &value {
                    Value::Int(i) => Some(*i),
                    Value::Double(d) if d.is_finite() && d.abs() < 9.2e18 => Some(d.trunc() as i64),
                    Value::Str(s) => s.trim().parse::<i64>().ok().or_else(|| {
                        s.trim()
                            .parse::<f64>()
                            .ok()
                            .filter(|d| d.is_finite() && d.abs() < 9.2e18)
                            .map(|d| d.trunc() as i64)
                    }),
                    Value::Bool(b) => Some(i64::from(*b)),
                    Value::Timestamp(ms) => Some(*ms),
                    Value::Null | Value::Double(_) => None,
                };
                match int {
                    Some(i) if *self == SqlType::Bigint || i32::try_from(i).is_ok() => {
                        Ok(Value::Int(i))
                    }
                    Some(i) => Err(format!("{i} is out of range for INTEGER")),
                    None => Err(fail(&value, self)),
                }
            }
            SqlType::Double => match &value {
                Value::Int(i) => Ok(Value::Double(*i as f64)),
                Value::Double(d) => Ok(Value::Double(*d)),
                Value::Str(s) => s
                    .trim()
                    .parse::<f64>()
                    .map(Value::Double)
                    .map_err(|_| fail(&value, self)),
                _ => Err(fail(&value, self)),
            },
            SqlType::Boolean => match &value {
                Value::Bool(b) => Ok(Value::Bool(*b)),
                Value::Int(i) => Ok(Value::Bool(*i != 0)),
                Value::Str(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
                Value::Str(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
                _ => Err(fail(&value, self)),
            },
            SqlType::Timestamp => match &value {
                Value::Timestamp(ms) => Ok(Value::Timestamp(*ms)),
                Value::Int(ms) => Ok(Value::Timestamp(*ms)),
                Value::Str(s) => parse_timestamp(s)
                    .map(Value::Timestamp)
                    .ok_or_else(|| fail(&value, self)),
                _ => Err(fail(&value, self)),
            },
        }
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD HH:MM:SS.mmm` (UTC) of milliseconds since the Unix epoch.
pub fn format_timestamp(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rest = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

/// Milliseconds since the Unix epoch of `YYYY-MM-DD[ T]HH:MM:SS[.fff][Z]` or `YYYY-MM-DD`, or of a plain integer
/// (taken as epoch milliseconds).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let s = text.trim().trim_end_matches('Z');
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, t),
        None => (s, "00:00:00"),
    };
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: i64 = dp.next()?.parse().ok()?;
    let d: i64 = dp.next()?.parse().ok()?;
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut tp = hms.split(':');
    let h: i64 = tp.next()?.parse().ok()?;
    let mi: i64 = tp.next()?.parse().ok()?;
    let se: i64 = tp.next().unwrap_or("0").parse().ok()?;
    if tp.next().is_some() || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut millis = 0i64;
    let mut scale = 100;
    for c in frac.chars() {
        let digit = i64::from(c.to_digit(10)?);
        millis += digit * scale;
        scale /= 10;
    }
    Some(days_from_civil(y, m, d) * 86_400_000 + h * 3_600_000 + mi * 60_000 + se * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        for ms in [0i64, 1_700_000_000_123, -1, 86_399_999, 951_782_400_000] {
            assert_eq!(parse_timestamp(&format_timestamp(ms)), Some(ms), "{ms}");
        }
        assert_eq!(
            parse_timestamp("2024-02-29T12:00:00Z"),
            Some(1_709_208_000_000)
        );
        assert_eq!(parse_timestamp("not a time"), None);
    }

    #[test]
    fn casts_check_ranges_and_lengths() {
        assert!(SqlType::Varchar(2).cast(Value::Str("abc".into())).is_err());
        assert!(SqlType::Integer.cast(Value::Int(1 << 40)).is_err());
        assert_eq!(
            SqlType::Bigint.cast(Value::Str("42".into())),
            Ok(Value::Int(42))
        );
    }
}
