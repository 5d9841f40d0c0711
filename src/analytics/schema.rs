//! Input schemas: how a record's bytes (JSON or CSV) become a typed row of `SOURCE_SQL_STREAM_001`, and schema
//! discovery from sample records like the service's `DiscoverInputSchema`.

use super::value::{SqlType, Value, parse_timestamp};
use serde::{Deserialize, Serialize};

/// The longest VARCHAR discovery proposes (the service caps discovered VARCHARs the same way).
pub const DISCOVERED_VARCHAR_LENGTH_MAX: u32 = 4096;

/// One column of the input: its SQL name, type and where it comes from in the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputColumn {
    /// The column name as SQL sees it (case-sensitive; write it in double quotes when not upper case).
    pub name: String,
    /// The column type.
    pub sql_type: SqlType,
    /// JSON: a path like `$.a.b`; CSV: unused (columns map by position).
    pub mapping: String,
}

/// The record format of the input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordFormat {
    /// One JSON object per record; columns map by JSON path.
    Json,
    /// Delimited text; columns map by position.
    Csv {
        /// The column delimiter, `,` by default.
        delimiter: char,
    },
}

/// The typed columns of `SOURCE_SQL_STREAM_001` and how records map to them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSchema {
    /// The record format.
    pub format: RecordFormat,
    /// The columns, in order.
    pub columns: Vec<InputColumn>,
}

impl InputSchema {
    /// A JSON schema from `(name, type, path)` triples.
    pub fn json(columns: &[(&str, SqlType, &str)]) -> Self {
        InputSchema {
            format: RecordFormat::Json,
            columns: columns
                .iter()
                .map(|(n, t, p)| InputColumn {
                    name: (*n).into(),
                    sql_type: t.clone(),
                    mapping: (*p).into(),
                })
                .collect(),
        }
    }

    /// A CSV schema from `(name, type)` pairs, comma-delimited.
    pub fn csv(columns: &[(&str, SqlType)]) -> Self {
        InputSchema {
            format: RecordFormat::Csv { delimiter: ',' },
            columns: columns
                .iter()
                .enumerate()
                .map(|(i, (n, t))| InputColumn {
                    name: (*n).into(),
                    sql_type: t.clone(),
                    mapping: format!("{}", i + 1),
                })
                .collect(),
        }
    }

    /// The row of a record, or why it does not fit the schema (the row then goes to `error_stream`).
    pub fn parse(&self, data: &[u8]) -> Result<Vec<Value>, String> {
        let text =
            std::str::from_utf8(data).map_err(|_| "the record is not UTF-8 text".to_string())?;
        match &self.format {
            RecordFormat::Json => {
                let json: serde_json::Value = serde_json::from_str(text)
                    .map_err(|e| format!("the record is not JSON: {e}"))?;
                let mut row = Vec::with_capacity(self.columns.len());
                for column in &self.columns {
                    let raw = lookup_path(&json, &column.mapping);
                    let value = json_value(raw);
                    row.push(
                        column
                            .sql_type
                            .cast(value)
                            .map_err(|e| format!("column {}: {e}", column.name))?,
                    );
                }
                Ok(row)
            }
            RecordFormat::Csv { delimiter } => {
                let fields: Vec<&str> = text
                    .trim_end_matches(['\n', '\r'])
                    .split(*delimiter)
                    .collect();
                let mut row = Vec::with_capacity(self.columns.len());
                for (i, column) in self.columns.iter().enumerate() {
                    let value = match fields.get(i) {
                        None => Value::Null,
                        Some(&"") => Value::Null,
                        Some(f) => Value::Str((*f).to_string()),
                    };
                    row.push(
                        column
                            .sql_type
                            .cast(value)
                            .map_err(|e| format!("column {}: {e}", column.name))?,
                    );
                }
                Ok(row)
            }
        }
    }
}

fn lookup_path<'a>(json: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let rest = path.strip_prefix('$')?;
    let mut at = json;
    for part in rest.split('.').filter(|p| !p.is_empty()) {
        at = at.get(part)?;
    }
    Some(at)
}

fn json_value(raw: Option<&serde_json::Value>) -> Value {
    match raw {
        None | Some(serde_json::Value::Null) => Value::Null,
        Some(serde_json::Value::Bool(b)) => Value::Bool(*b),
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .map_or_else(|| Value::Double(n.as_f64().unwrap_or(f64::NAN)), Value::Int),
        Some(serde_json::Value::String(s)) => Value::Str(s.clone()),
        Some(other) => Value::Str(other.to_string()),
    }
}

/// What discovery has seen in one column so far.
#[derive(Clone, Debug, Default)]
struct Seen {
    ints: bool,
    big: bool,
    doubles: bool,
    bools: bool,
    strings: bool,
    timestamps_only: bool,
    any_string: bool,
    length_max: u32,
}

impl Seen {
    fn observe(&mut self, value: &Value) {
        match value {
            Value::Null => {}
            Value::Bool(_) => self.bools = true,
            Value::Int(i) => {
                self.ints = true;
                self.big |= i32::try_from(*i).is_err();
            }
            Value::Double(_) => self.doubles = true,
            Value::Str(s) => {
                let length = u32::try_from(s.chars().count()).unwrap_or(u32::MAX);
                self.length_max = self.length_max.max(length);
                let is_time =
                    s.len() >= 10 && parse_timestamp(s).is_some() && s.parse::<i64>().is_err();
                self.timestamps_only = if self.any_string {
                    self.timestamps_only && is_time
                } else {
                    is_time
                };
                self.any_string = true;
                self.strings = true;
            }
            Value::Timestamp(_) => {}
        }
    }

    fn sql_type(&self) -> SqlType {
        if self.strings {
            if self.timestamps_only && !self.ints && !self.doubles && !self.bools {
                return SqlType::Timestamp;
            }
            return SqlType::Varchar(self.length_max.clamp(1, DISCOVERED_VARCHAR_LENGTH_MAX));
        }
        match (self.bools, self.ints, self.doubles) {
            (true, false, false) => SqlType::Boolean,
            (false, _, true) => SqlType::Double,
            (false, true, false) if self.big => SqlType::Bigint,
            (false, true, false) => SqlType::Integer,
            _ => SqlType::Varchar(self.length_max.clamp(16, DISCOVERED_VARCHAR_LENGTH_MAX)),
        }
    }
}

/// A JSON value whose objects keep their keys in record order (serde_json's map sorts them), so discovered
/// columns come out in the order the records write them, as the service's discovery does.
#[derive(Debug)]
enum Ordered {
    Object(Vec<(String, Ordered)>),
    Leaf(serde_json::Value),
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Ordered>()? {
                    entries.push((k, v));
                }
                Ok(Ordered::Object(entries))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Ordered, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element::<serde_json::Value>()? {
                    items.push(v);
                }
                Ok(Ordered::Leaf(serde_json::Value::Array(items)))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(v.into()))
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Leaf(serde_json::Value::Null))
            }
        }
        d.deserialize_any(V)
    }
}

fn flatten(prefix: &str, json: &Ordered, out: &mut Vec<(String, Value)>) {
    if let Ordered::Object(entries) = json {
        for (key, value) in entries {
            let path = format!("{prefix}.{key}");
            match value {
                Ordered::Object(_) => flatten(&path, value, out),
                Ordered::Leaf(v) => out.push((path, json_value(Some(v)))),
            }
        }
    }
}

/// A schema for sample records, as the service's schema discovery proposes one: JSON objects give one column per
/// leaf (nested objects flatten to paths like `$.a.b`; the column is named after the leaf, upper-cased, with the
/// parent's name prefixed when two leaves share a name), arrays become VARCHAR; anything else is read as CSV with
/// columns `COLUMN_1`, `COLUMN_2`, ... Types: INTEGER or BIGINT for whole numbers, DOUBLE, BOOLEAN, TIMESTAMP for
/// date-time text, else VARCHAR(longest seen).
pub fn discover_schema(samples: &[&[u8]]) -> InputSchema {
    let jsons: Vec<Ordered> = samples
        .iter()
        .filter_map(|s| serde_json::from_slice::<Ordered>(s).ok())
        .filter(|j| matches!(j, Ordered::Object(_)))
        .collect();
    if !jsons.is_empty() && jsons.len() * 2 >= samples.len() {
        let mut paths: Vec<(String, Seen)> = Vec::new();
        for json in &jsons {
            let mut leaves = Vec::new();
            flatten("$", json, &mut leaves);
            for (path, value) in leaves {
                let index = match paths.iter().position(|(p, _)| *p == path) {
                    Some(i) => i,
                    None => {
                        paths.push((path, Seen::default()));
                        paths.len() - 1
                    }
                };
                paths[index].1.observe(&value);
            }
        }
        let leaf = |p: &str| p.rsplit('.').next().unwrap_or(p).to_uppercase();
        let columns = paths
            .iter()
            .map(|(path, seen)| {
                let shared = paths.iter().filter(|(q, _)| leaf(q) == leaf(path)).count() > 1;
                let name = if shared {
                    path.trim_start_matches("$.")
                        .replace('.', "_")
                        .to_uppercase()
                } else {
                    leaf(path)
                };
                InputColumn {
                    name,
                    sql_type: seen.sql_type(),
                    mapping: path.clone(),
                }
            })
            .collect();
        return InputSchema {
            format: RecordFormat::Json,
            columns,
        };
    }
    let mut seen: Vec<Seen> = Vec::new();
    for sample in samples {
        let text = String::from_utf8_lossy(sample);
        for (i, field) in text.trim_end_matches(['\n', '\r']).split(',').enumerate() {
            if seen.len() <= i {
                seen.push(Seen::default());
            }
            let value = if let Ok(n) = field.trim().parse::<i64>() {
                Value::Int(n)
            } else if let Ok(d) = field.trim().parse::<f64>() {
                Value::Double(d)
            } else if field.eq_ignore_ascii_case("true") || field.eq_ignore_ascii_case("false") {
                Value::Bool(field.eq_ignore_ascii_case("true"))
            } else if field.is_empty() {
                Value::Null
            } else {
                Value::Str(field.to_string())
            };
            seen[i].observe(&value);
        }
    }
    InputSchema {
        format: RecordFormat::Csv { delimiter: ',' },
        columns: seen
            .iter()
            .enumerate()
            .map(|(i, s)| InputColumn {
                name: format!("COLUMN_{}", i + 1),
                sql_type: s.sql_type(),
                mapping: format!("{}", i + 1),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_json_with_nested_paths() {
        let a = br#"{"ticker_symbol":"AMZN","price":12.5,"qty":3,"meta":{"ok":true,"at":"2024-01-01 00:00:00"}}"#;
        let b = br#"{"ticker_symbol":"AB","price":10,"qty":4,"meta":{"ok":false,"at":"2024-01-01 00:00:01"}}"#;
        let schema = discover_schema(&[a, b]);
        let cols: Vec<_> = schema
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.sql_type.clone(), c.mapping.as_str()))
            .collect();
        assert_eq!(
            cols,
            vec![
                ("TICKER_SYMBOL", SqlType::Varchar(4), "$.ticker_symbol"),
                ("PRICE", SqlType::Double, "$.price"),
                ("QTY", SqlType::Integer, "$.qty"),
                ("OK", SqlType::Boolean, "$.meta.ok"),
                ("AT", SqlType::Timestamp, "$.meta.at"),
            ]
        );
        let row = schema.parse(a).expect("parses");
        assert_eq!(row[0], Value::Str("AMZN".into()));
    }

    #[test]
    fn discovers_csv_columns() {
        let schema = discover_schema(&[b"a,1,2.5", b"bb,2,3"]);
        assert_eq!(schema.columns[0].name, "COLUMN_1");
        assert_eq!(schema.columns[0].sql_type, SqlType::Varchar(2));
        assert_eq!(schema.columns[1].sql_type, SqlType::Integer);
        assert_eq!(schema.columns[2].sql_type, SqlType::Double);
        assert!(schema.parse(b"abc,1,2").is_err(), "too long for VARCHAR(2)");
    }
}
