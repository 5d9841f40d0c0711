//! Workload generators: record templates (web clickstream, IoT telemetry, application logs, metrics, lines of a
//! log file) and partition-key distributions (uniform, a few hot keys, sequential), drawn from a seeded [`SimRng`].
//!
//! A template is text with placeholders, so JSON braces need no escaping:
//! `${key}` the partition key, `${n}` the record's number from 0, `${ts}` the simulated Unix time in ms,
//! `${rand:LO..HI}` a uniform integer in `LO..=HI`, `${choice:a|b|c}` one of the words. Records shorter than the
//! wanted size are padded with spaces (still valid JSON), never cut.

use crate::sim::SimRng;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Most distinct partition keys a distribution may name.
pub const KEYS_MAX: u32 = 1_000_000;
/// Longest record template, in bytes.
pub const TEMPLATE_BYTES_MAX: u32 = 8_192;
/// Largest padded record size, in bytes (Kinesis's 1 MiB record limit).
pub const RECORD_BYTES_MAX: u32 = 1_048_576;

/// The workload templates of the seed's examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Template {
    /// Page views of a web site, keyed by user.
    Clickstream,
    /// Sensor readings, keyed by device.
    IotTelemetry,
    /// Application log lines, keyed by host.
    ApplicationLogs,
    /// Host metrics, keyed by host.
    Metrics,
}

impl Template {
    /// All templates, in menu order.
    pub const ALL: [Template; 4] = [
        Template::Clickstream,
        Template::IotTelemetry,
        Template::ApplicationLogs,
        Template::Metrics,
    ];

    /// A short human name.
    pub fn label(self) -> &'static str {
        match self {
            Template::Clickstream => "Web clickstream",
            Template::IotTelemetry => "IoT telemetry",
            Template::ApplicationLogs => "Application logs",
            Template::Metrics => "Metrics",
        }
    }

    /// A stable identifier (for forms and URLs).
    pub fn id(self) -> &'static str {
        match self {
            Template::Clickstream => "clickstream",
            Template::IotTelemetry => "iot",
            Template::ApplicationLogs => "logs",
            Template::Metrics => "metrics",
        }
    }

    /// The template with this [`Template::id`].
    pub fn from_id(id: &str) -> Option<Template> {
        Template::ALL.into_iter().find(|t| t.id() == id)
    }

    /// The record template it starts with (editable).
    pub fn record_template(self) -> &'static str {
        match self {
            Template::Clickstream => {
                r#"{"user":"${key}","page":"${choice:/home|/search|/product|/cart|/checkout}","event":"${choice:view|view|view|click|add_to_cart}","ts":${ts},"n":${n}}"#
            }
            Template::IotTelemetry => {
                r#"{"device":"${key}","temperature_c":${rand:15..35},"humidity_pct":${rand:20..90},"battery_pct":${rand:5..100},"ts":${ts}}"#
            }
            Template::ApplicationLogs => {
                "${ts} ${choice:INFO|INFO|INFO|WARN|ERROR} ${key} GET /api/${choice:orders|users|cart} ${choice:200|200|200|404|500} ${rand:1..900}ms"
            }
            Template::Metrics => {
                r#"{"host":"${key}","metric":"${choice:cpu_pct|mem_pct|disk_pct}","value":${rand:0..100},"ts":${ts}}"#
            }
        }
    }

    /// How its partition keys are spelt: `user-17`, `sensor-17`, ...
    pub fn key_prefix(self) -> &'static str {
        match self {
            Template::Clickstream => "user-",
            Template::IotTelemetry => "sensor-",
            Template::ApplicationLogs | Template::Metrics => "host-",
        }
    }
}

/// How partition keys are picked from `keys` distinct keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum KeyDistribution {
    /// Every key equally likely.
    Uniform {
        /// How many distinct keys.
        keys: u32,
    },
    /// `hot_percent` of records go to the first `hot` keys; the rest spread over the others.
    HotKeys {
        /// How many distinct keys.
        keys: u32,
        /// How many of them are hot (at least 1).
        hot: u32,
        /// Share of records written with a hot key, 0..=100.
        hot_percent: u32,
    },
    /// Keys in turn: 0, 1, 2, ... wrapping after `keys`.
    Sequential {
        /// How many distinct keys.
        keys: u32,
    },
}

impl KeyDistribution {
    /// Checks the numbers; the message says what to change.
    pub fn validate(&self) -> Result<(), String> {
        let keys = match *self {
            KeyDistribution::Uniform { keys } | KeyDistribution::Sequential { keys } => keys,
            KeyDistribution::HotKeys {
                keys,
                hot,
                hot_percent,
            } => {
                if hot == 0 || hot > keys {
                    return Err(format!(
                        "The number of hot keys must be 1 to the number of keys ({keys}); it is {hot}."
                    ));
                }
                if hot_percent > 100 {
                    return Err(format!(
                        "The hot share must be 0 to 100 percent; it is {hot_percent}."
                    ));
                }
                keys
            }
        };
        if keys == 0 || keys > KEYS_MAX {
            return Err(format!(
                "The number of partition keys must be 1 to {KEYS_MAX}; it is {keys}."
            ));
        }
        Ok(())
    }

    /// The index of the key for record number `n`.
    pub fn pick(&self, n: u64, rng: &mut SimRng) -> u64 {
        match *self {
            KeyDistribution::Uniform { keys } => rng.below(u64::from(keys)),
            KeyDistribution::Sequential { keys } => n % u64::from(keys.max(1)),
            KeyDistribution::HotKeys {
                keys,
                hot,
                hot_percent,
            } => {
                let hot = u64::from(hot.max(1));
                let keys = u64::from(keys).max(hot);
                if keys == hot || rng.chance(u64::from(hot_percent), 100) {
                    rng.below(hot)
                } else {
                    hot + rng.below(keys - hot)
                }
            }
        }
    }
}

/// One piece of a parsed record template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// `${key}`.
    Key,
    /// `${n}`.
    Number,
    /// `${ts}`.
    Timestamp,
    /// `${rand:LO..HI}`.
    Rand {
        /// Smallest value.
        lo: u64,
        /// Largest value.
        hi: u64,
    },
    /// `${choice:a|b}`.
    Choice(Vec<String>),
}

/// Parses a record template into pieces, or says which placeholder is wrong.
pub fn parse_template(text: &str) -> Result<Vec<Piece>, String> {
    if text.len() > TEMPLATE_BYTES_MAX as usize {
        return Err(format!(
            "A record template may be at most {TEMPLATE_BYTES_MAX} bytes; this one has {}.",
            text.len()
        ));
    }
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            pieces.push(Piece::Text(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!(
                "A placeholder starting at \"${{{}\" is not closed with }}.",
                after.chars().take(12).collect::<String>()
            ));
        };
        let inner = &after[..end];
        pieces.push(parse_placeholder(inner)?);
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok(pieces)
}

fn parse_placeholder(inner: &str) -> Result<Piece, String> {
    match inner {
        "key" => return Ok(Piece::Key),
        "n" => return Ok(Piece::Number),
        "ts" => return Ok(Piece::Timestamp),
        _ => {}
    }
    if let Some(range) = inner.strip_prefix("rand:") {
        let parsed = range
            .split_once("..")
            .and_then(|(lo, hi)| Some((lo.trim().parse().ok()?, hi.trim().parse().ok()?)));
        return match parsed {
            Some((lo, hi)) if lo <= hi => Ok(Piece::Rand { lo, hi }),
            _ => Err(format!(
                "${{rand:{range}}} needs two whole numbers LO..HI with LO <= HI, as in ${{rand:1..100}}."
            )),
        };
    }
    if let Some(words) = inner.strip_prefix("choice:") {
        let words: Vec<String> = words.split('|').map(str::to_string).collect();
        return Ok(Piece::Choice(words));
    }
    Err(format!(
        "Unknown placeholder ${{{inner}}}: use ${{key}}, ${{n}}, ${{ts}}, ${{rand:LO..HI}} or ${{choice:a|b}}."
    ))
}

/// Everything that shapes the records a generator makes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratorSpec {
    /// Prefix of partition keys (`user-`); key number `i` is `{prefix}{i}`.
    pub key_prefix: String,
    /// How keys are picked.
    pub keys: KeyDistribution,
    /// The record template's text.
    pub record_template: String,
    /// Records shorter than this are padded with spaces, in bytes (0: no padding).
    pub record_bytes: u32,
    /// For an agent-style producer: the lines of a log file, one record each, in order (the template is unused).
    pub lines: Option<Vec<String>>,
}

impl GeneratorSpec {
    /// The defaults of a template: 100 keys, uniform, 0 padding.
    pub fn from_template(template: Template) -> Self {
        GeneratorSpec {
            key_prefix: template.key_prefix().to_string(),
            keys: KeyDistribution::Uniform { keys: 100 },
            record_template: template.record_template().to_string(),
            record_bytes: 0,
            lines: None,
        }
    }
}

/// One generated record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedRecord {
    /// Its partition key.
    pub partition_key: String,
    /// Its data.
    pub data: Vec<u8>,
}

/// A seeded record generator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generator {
    spec: GeneratorSpec,
    pieces: Vec<Piece>,
    rng: SimRng,
    next: u64,
}

impl Generator {
    /// A generator drawing from `rng`; refuses a spec whose numbers or template are wrong.
    pub fn new(spec: GeneratorSpec, rng: SimRng) -> Result<Self, String> {
        spec.keys.validate()?;
        if spec.record_bytes > RECORD_BYTES_MAX {
            return Err(format!(
                "The record size must be at most {RECORD_BYTES_MAX} bytes (1 MiB); it is {}.",
                spec.record_bytes
            ));
        }
        if spec.key_prefix.chars().count() > 200 {
            return Err("The partition key prefix must be at most 200 characters.".into());
        }
        let pieces = parse_template(&spec.record_template)?;
        Ok(Generator {
            spec,
            pieces,
            rng,
            next: 0,
        })
    }

    /// The spec it was made from.
    pub fn spec(&self) -> &GeneratorSpec {
        &self.spec
    }

    /// How many records it has made.
    pub fn made(&self) -> u64 {
        self.next
    }

    /// Whether it has nothing more to give (a log file read to its end).
    pub fn is_exhausted(&self) -> bool {
        self.spec
            .lines
            .as_ref()
            .is_some_and(|lines| self.next >= lines.len() as u64)
    }

    /// The next record at simulated Unix time `unix_ms`, or `None` once exhausted.
    pub fn next_record(&mut self, unix_ms: u64) -> Option<GeneratedRecord> {
        let n = self.next;
        let key_index = self.spec.keys.pick(n, &mut self.rng);
        // Numbers are written straight into the text (`write!` into a `String` cannot fail), and the text is
        // sized once: every record of every producer comes through here.
        let mut partition_key = String::with_capacity(self.spec.key_prefix.len() + 10);
        partition_key.push_str(&self.spec.key_prefix);
        let _ = write!(partition_key, "{key_index}");
        let mut text = if let Some(lines) = &self.spec.lines {
            lines.get(usize::try_from(n).ok()?)?.clone()
        } else {
            let capacity = self
                .spec
                .record_template
                .len()
                .max(self.spec.record_bytes as usize);
            let mut out = String::with_capacity(capacity + 32);
            for piece in &self.pieces {
                match piece {
                    Piece::Text(t) => out.push_str(t),
                    Piece::Key => out.push_str(&partition_key),
                    Piece::Number => {
                        let _ = write!(out, "{n}");
                    }
                    Piece::Timestamp => {
                        let _ = write!(out, "{unix_ms}");
                    }
                    Piece::Rand { lo, hi } => {
                        let _ = write!(out, "{}", self.rng.range_inclusive(*lo, *hi));
                    }
                    Piece::Choice(words) => {
                        let i = self.rng.below(words.len() as u64);
                        if let Some(word) = words.get(usize::try_from(i).unwrap_or(0)) {
                            out.push_str(word);
                        }
                    }
                }
            }
            out
        };
        let want = self.spec.record_bytes as usize;
        if text.len() < want {
            text.extend(std::iter::repeat_n(' ', want - text.len()));
        }
        self.next += 1;
        // The record is kept for the stream's retention: no spare capacity.
        text.shrink_to_fit();
        Some(GeneratedRecord {
            partition_key,
            data: text.into_bytes(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(template: Template, keys: KeyDistribution) -> GeneratorSpec {
        GeneratorSpec {
            keys,
            ..GeneratorSpec::from_template(template)
        }
    }

    #[test]
    fn every_template_parses_and_makes_json_where_it_says_so() {
        for template in Template::ALL {
            let mut g = Generator::new(
                GeneratorSpec::from_template(template),
                SimRng::new(1).fork("t"),
            )
            .expect("built-in templates are valid");
            let r = g.next_record(1_767_225_600_000).expect("not a file");
            let text = String::from_utf8(r.data).expect("utf-8");
            assert!(r.partition_key.starts_with(template.key_prefix()));
            if template != Template::ApplicationLogs {
                let v: serde_json::Value = serde_json::from_str(&text).expect("json");
                assert!(v.is_object(), "{text}");
            }
            assert!(!text.contains("${"), "{text}");
        }
    }

    #[test]
    fn same_seed_same_records() {
        let make = |seed| {
            let mut g = Generator::new(
                spec(
                    Template::Clickstream,
                    KeyDistribution::HotKeys {
                        keys: 50,
                        hot: 2,
                        hot_percent: 80,
                    },
                ),
                SimRng::new(seed).fork("producer/p"),
            )
            .expect("valid");
            (0..200)
                .map(|i| g.next_record(i).expect("records"))
                .collect::<Vec<_>>()
        };
        assert_eq!(make(9), make(9));
        assert_ne!(make(9), make(10));
    }

    #[test]
    fn hot_keys_take_their_share() {
        let mut g = Generator::new(
            spec(
                Template::Metrics,
                KeyDistribution::HotKeys {
                    keys: 100,
                    hot: 1,
                    hot_percent: 90,
                },
            ),
            SimRng::new(3),
        )
        .expect("valid");
        let hot = (0..10_000)
            .filter(|&i| g.next_record(i).expect("r").partition_key == "host-0")
            .count();
        assert!((8_800..=9_200).contains(&hot), "{hot}");
    }

    #[test]
    fn sequential_keys_go_in_turn_and_padding_fills_the_size() {
        let mut s = spec(
            Template::IotTelemetry,
            KeyDistribution::Sequential { keys: 3 },
        );
        s.record_bytes = 500;
        let mut g = Generator::new(s, SimRng::new(1)).expect("valid");
        let keys: Vec<String> = (0..4)
            .map(|i| {
                let r = g.next_record(i).expect("r");
                assert_eq!(r.data.len(), 500);
                r.partition_key
            })
            .collect();
        assert_eq!(keys, ["sensor-0", "sensor-1", "sensor-2", "sensor-0"]);
    }

    #[test]
    fn bad_templates_and_numbers_are_refused_with_a_reason() {
        assert!(parse_template("${nope}").unwrap_err().contains("Unknown"));
        assert!(
            parse_template("${rand:9..1}")
                .unwrap_err()
                .contains("LO <= HI")
        );
        assert!(
            parse_template("{\"a\":${key")
                .unwrap_err()
                .contains("not closed")
        );
        assert_eq!(
            parse_template("a${n}b").expect("valid"),
            vec![
                Piece::Text("a".into()),
                Piece::Number,
                Piece::Text("b".into())
            ]
        );
        let bad = KeyDistribution::HotKeys {
            keys: 5,
            hot: 6,
            hot_percent: 50,
        };
        assert!(bad.validate().is_err());
        assert!(KeyDistribution::Uniform { keys: 0 }.validate().is_err());
    }

    #[test]
    fn a_log_file_gives_its_lines_in_order_then_stops() {
        let mut s = GeneratorSpec::from_template(Template::ApplicationLogs);
        s.lines = Some(vec!["one".into(), "two".into()]);
        let mut g = Generator::new(s, SimRng::new(1)).expect("valid");
        assert_eq!(g.next_record(0).expect("1").data, b"one");
        assert_eq!(g.next_record(0).expect("2").data, b"two");
        assert!(g.is_exhausted());
        assert_eq!(g.next_record(0), None);
    }
}
