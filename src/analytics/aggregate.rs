//! Aggregate functions: their accumulators, how rows update them, how two merge (session windows), how a row
//! leaves one (sliding windows) and the final value.

use super::expr::{Ctx, Expr};
use super::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AggKind {
    /// `COUNT(*)`.
    CountStar,
    /// `COUNT(x)`: non-null values.
    Count,
    /// `SUM(x)`.
    Sum,
    /// `AVG(x)`.
    Avg,
    /// `MIN(x)`.
    Min,
    /// `MAX(x)`.
    Max,
}

/// One aggregate of a query: kind, argument (evaluated on input rows) and DISTINCT.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AggSpec {
    /// Which function.
    pub kind: AggKind,
    /// Its argument, none for `COUNT(*)`.
    pub arg: Option<Expr>,
    /// `COUNT(DISTINCT x)` and friends.
    pub distinct: bool,
}

/// The running state of one aggregate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Acc {
    /// Rows or non-null values counted.
    Count(i64),
    /// A sum: integer while every input is an integer, a double after.
    Sum {
        /// Integer part of the sum while `double` is false.
        int: i64,
        /// The sum as a double.
        dbl: f64,
        /// Whether a double was added.
        double: bool,
        /// Non-null inputs.
        n: i64,
    },
    /// Smallest or largest value so far.
    Extreme(Value),
    /// Distinct values with their multiplicity (DISTINCT aggregates; MIN/MAX in sliding windows).
    Distinct(#[serde(with = "super::stage::pairs")] BTreeMap<Value, i64>),
}

impl AggSpec {
    /// A fresh accumulator.
    pub fn start(&self) -> Acc {
        if self.distinct {
            return Acc::Distinct(BTreeMap::new());
        }
        match self.kind {
            AggKind::CountStar | AggKind::Count => Acc::Count(0),
            AggKind::Sum | AggKind::Avg => Acc::Sum {
                int: 0,
                dbl: 0.0,
                double: false,
                n: 0,
            },
            AggKind::Min | AggKind::Max => Acc::Extreme(Value::Null),
        }
    }

    /// The argument of this aggregate on a row (`Int(1)` for `COUNT(*)`).
    pub fn input(&self, ctx: &Ctx<'_>) -> Result<Value, String> {
        match &self.arg {
            None => Ok(Value::Int(1)),
            Some(e) => e.eval(ctx),
        }
    }

    /// Adds an input value.
    pub fn update(&self, acc: &mut Acc, v: &Value) -> Result<(), String> {
        if v.is_null() && self.kind != AggKind::CountStar {
            return Ok(());
        }
        match acc {
            Acc::Count(n) => *n += 1,
            Acc::Sum {
                int,
                dbl,
                double,
                n,
            } => match v {
                Value::Int(i) => {
                    *int = int.wrapping_add(*i);
                    *dbl += *i as f64;
                    *n += 1;
                }
                Value::Double(d) => {
                    *double = true;
                    *dbl += d;
                    *n += 1;
                }
                other => {
                    return Err(format!(
                        "cannot add '{}': it is not a number",
                        other.to_text()
                    ));
                }
            },
            Acc::Extreme(current) => {
                let better = match self.kind {
                    AggKind::Min => current.is_null() || v < current,
                    _ => current.is_null() || v > current,
                };
                if better {
                    *current = v.clone();
                }
            }
            Acc::Distinct(map) => *map.entry(v.clone()).or_insert(0) += 1,
        }
        Ok(())
    }

    /// Removes an input value added earlier (sliding windows); accumulators that cannot forget never see this
    /// (sliding windows keep MIN/MAX as [`Acc::Distinct`]).
    pub fn remove(&self, acc: &mut Acc, v: &Value) {
        if v.is_null() && self.kind != AggKind::CountStar {
            return;
        }
        match acc {
            Acc::Count(n) => *n -= 1,
            Acc::Sum { int, dbl, n, .. } => {
                if let Some(x) = v.as_f64() {
                    if let Value::Int(i) = v {
                        *int = int.wrapping_sub(*i);
                    }
                    *dbl -= x;
                    *n -= 1;
                }
            }
            Acc::Extreme(_) => {}
            Acc::Distinct(map) => {
                if let Some(c) = map.get_mut(v) {
                    *c -= 1;
                    if *c <= 0 {
                        map.remove(v);
                    }
                }
            }
        }
    }

    /// Folds `other` into `acc` (session windows merging).
    pub fn merge(&self, acc: &mut Acc, other: Acc) {
        match (acc, other) {
            (Acc::Count(a), Acc::Count(b)) => *a += b,
            (
                Acc::Sum {
                    int,
                    dbl,
                    double,
                    n,
                },
                Acc::Sum {
                    int: i2,
                    dbl: d2,
                    double: x2,
                    n: n2,
                },
            ) => {
                *int = int.wrapping_add(i2);
                *dbl += d2;
                *double |= x2;
                *n += n2;
            }
            (Acc::Extreme(a), Acc::Extreme(b)) if !b.is_null() => {
                self.update_extreme(a, b);
            }
            (Acc::Distinct(a), Acc::Distinct(b)) => {
                for (k, c) in b {
                    *a.entry(k).or_insert(0) += c;
                }
            }
            _ => {}
        }
    }

    fn update_extreme(&self, current: &mut Value, v: Value) {
        let better = match self.kind {
            AggKind::Min => current.is_null() || v < *current,
            _ => current.is_null() || v > *current,
        };
        if better {
            *current = v;
        }
    }

    /// The aggregate's value.
    pub fn finish(&self, acc: &Acc) -> Value {
        match acc {
            Acc::Count(n) => Value::Int(*n),
            Acc::Sum {
                int,
                dbl,
                double,
                n,
            } => match self.kind {
                _ if *n == 0 => Value::Null,
                AggKind::Avg if *double => Value::Double(dbl / *n as f64),
                // AVG of integers is an integer in the service's SQL (it keeps the argument's type).
                AggKind::Avg => Value::Int(int / n),
                _ if *double => Value::Double(*dbl),
                _ => Value::Int(*int),
            },
            Acc::Extreme(v) => v.clone(),
            Acc::Distinct(map) => match self.kind {
                AggKind::Count | AggKind::CountStar => Value::Int(map.len() as i64),
                AggKind::Min => map.keys().next().cloned().unwrap_or(Value::Null),
                AggKind::Max => map.keys().next_back().cloned().unwrap_or(Value::Null),
                AggKind::Sum | AggKind::Avg => {
                    let spec = AggSpec {
                        kind: self.kind,
                        arg: None,
                        distinct: false,
                    };
                    let mut sum = spec.start();
                    for (k, c) in map {
                        let times = if self.distinct { 1 } else { *c };
                        for _ in 0..times {
                            let _ = spec.update(&mut sum, k);
                        }
                    }
                    spec.finish(&sum)
                }
            },
        }
    }
}

/// Accumulators for all aggregates of one group.
pub fn start_all(specs: &[AggSpec]) -> Vec<Acc> {
    specs.iter().map(AggSpec::start).collect()
}

/// Updates every accumulator of a group with one input row.
pub fn update_all(specs: &[AggSpec], accs: &mut [Acc], ctx: &Ctx<'_>) -> Result<(), String> {
    for (spec, acc) in specs.iter().zip(accs.iter_mut()) {
        let v = spec.input(ctx)?;
        spec.update(acc, &v)?;
    }
    Ok(())
}

/// The final values of a group's accumulators.
pub fn finish_all(specs: &[AggSpec], accs: &[Acc]) -> Vec<Value> {
    specs.iter().zip(accs).map(|(s, a)| s.finish(a)).collect()
}
