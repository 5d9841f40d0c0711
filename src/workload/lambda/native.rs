//! Running a mapping natively with a Rust closure as the function, synchronously on simulated time.

use std::collections::BTreeMap;

use super::esm::{EventSourceMapping, FunctionResult};
use crate::sim::{SimDuration, SimTime};
use crate::streams::service::DataStreams;

/// Drives `esm` from `from` until nothing more is due before `until`: every invocation is run by `function` at
/// the time it is emitted and completed `invocation_duration` later (at least 1 ms, so a function that always
/// fails cannot spin at one instant). `Ok(response)` is a success with that response (`null` for none);
/// `Err(message)` is a function error. Invocations started before `until` are completed even if they end after
/// it. Returns the simulated time the run stopped at.
pub fn run<F>(
    esm: &mut EventSourceMapping,
    streams: &mut DataStreams,
    from: SimTime,
    until: SimTime,
    invocation_duration: SimDuration,
    mut function: F,
) -> SimTime
where
    F: FnMut(&serde_json::Value) -> Result<serde_json::Value, String>,
{
    let duration = if invocation_duration.is_zero() {
        SimDuration::from_millis(1)
    } else {
        invocation_duration
    };
    let mut now = from;
    // (completion time, invocation id) -> result
    let mut running: BTreeMap<(SimTime, u64), FunctionResult> = BTreeMap::new();
    loop {
        if now <= until && esm.poll_timeout().is_some_and(|t| t <= now) {
            esm.handle_timeout(now, streams);
        }
        if now <= until {
            while let Some(invocation) = esm.poll_invocation() {
                let result = match function(&invocation.event_value()) {
                    Ok(serde_json::Value::Null) => FunctionResult::Success(None),
                    Ok(response) => FunctionResult::Success(Some(response)),
                    Err(message) => FunctionResult::Error(message),
                };
                running.insert((now.saturating_add(duration), invocation.id), result);
            }
        }
        let due: Vec<(SimTime, u64)> = running.range(..=(now, u64::MAX)).map(|(k, _)| *k).collect();
        if !due.is_empty() {
            for key in due {
                if let Some(result) = running.remove(&key) {
                    // The id came from this mapping and is completed once.
                    let _ = esm.complete(now, key.1, result);
                }
            }
            continue;
        }
        let next_running = running.keys().next().map(|k| k.0);
        let next_timeout = esm
            .poll_timeout()
            .filter(|&t| t <= until)
            .map(|t| t.max(now.saturating_add(SimDuration::from_millis(1))));
        let next = match (next_running, next_timeout) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => return now.max(until),
        };
        now = next;
    }
}
