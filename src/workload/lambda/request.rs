//! Lambda's CreateEventSourceMapping request body (JSON with Lambda's member names) read into an [`EsmConfig`],
//! and a mapping shown as Lambda's EventSourceMappingConfiguration answer. Bad members get Lambda's
//! `InvalidParameterValueException` with a message that names them.

use serde_json::{Map, Value, json};

use super::config::{EsmConfig, FunctionResponseType, LambdaError, OnFailure, StartingPosition};
use super::esm::EventSourceMapping;

/// Members of a CreateEventSourceMapping request for a Kinesis source that the simulator reads.
const MEMBERS: &[&str] = &[
    "FunctionName",
    "EventSourceArn",
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "StartingPosition",
    "StartingPositionTimestamp",
    "ParallelizationFactor",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "DestinationConfig",
    "FunctionResponseTypes",
    "Enabled",
];

fn bad(message: impl Into<String>) -> LambdaError {
    LambdaError::invalid_parameter(message)
}

fn string<'a>(map: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, LambdaError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("{key} must be a string"))),
    }
}

fn int<T: TryFrom<i64>>(map: &Map<String, Value>, key: &str) -> Result<Option<T>, LambdaError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .and_then(|n| T::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| bad(format!("{key} must be a whole number in range; it is {v}"))),
    }
}

/// Reads a CreateEventSourceMapping request (`{"FunctionName": ..., "EventSourceArn": ..., "StartingPosition":
/// "TRIM_HORIZON", ...}`); members left out take Lambda's defaults. The result is validated as Lambda does.
pub fn create_request(body: &str) -> Result<EsmConfig, LambdaError> {
    let value: Value = serde_json::from_str(body)
        .map_err(|e| bad(format!("The request body is not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(bad("The request body must be a JSON object"));
    };
    if let Some(unknown) = map.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        return Err(bad(format!(
            "Unknown member {unknown}; a Kinesis event-source mapping takes {}",
            MEMBERS.join(", ")
        )));
    }
    let function_name =
        string(&map, "FunctionName")?.ok_or_else(|| bad("FunctionName is required"))?;
    let arn = string(&map, "EventSourceArn")?.ok_or_else(|| bad("EventSourceArn is required"))?;
    let position = string(&map, "StartingPosition")?
        .ok_or_else(|| bad("StartingPosition is required for a Kinesis event source"))?;
    let mut config = EsmConfig::new(function_name, arn, StartingPosition::from_name(position)?);
    if let Some(n) = int(&map, "BatchSize")? {
        config.batch_size = n;
    }
    if let Some(n) = int(&map, "MaximumBatchingWindowInSeconds")? {
        config.maximum_batching_window_in_seconds = n;
    }
    match map.get("StartingPositionTimestamp") {
        None | Some(Value::Null) => {}
        // Lambda's JSON carries timestamps as epoch seconds (fractions allowed).
        Some(Value::Number(n)) => {
            let ms = n
                .as_u64()
                .map(|s| s.saturating_mul(1_000))
                .or_else(|| n.as_f64().filter(|s| *s >= 0.0).map(seconds_to_ms))
                .ok_or_else(|| {
                    bad("StartingPositionTimestamp must be epoch seconds, 0 or later")
                })?;
            config.starting_position_timestamp_unix_ms = Some(ms);
        }
        Some(_) => {
            return Err(bad(
                "StartingPositionTimestamp must be a number of epoch seconds",
            ));
        }
    }
    if let Some(n) = int(&map, "ParallelizationFactor")? {
        config.parallelization_factor = n;
    }
    if let Some(n) = int(&map, "MaximumRetryAttempts")? {
        config.maximum_retry_attempts = n;
    }
    if let Some(n) = int(&map, "MaximumRecordAgeInSeconds")? {
        config.maximum_record_age_in_seconds = n;
    }
    match map.get("BisectBatchOnFunctionError") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => config.bisect_batch_on_function_error = *b,
        Some(_) => return Err(bad("BisectBatchOnFunctionError must be true or false")),
    }
    if let Some(destination) = map
        .get("DestinationConfig")
        .and_then(|d| d.get("OnFailure"))
        .and_then(|o| o.get("Destination"))
    {
        let destination = destination
            .as_str()
            .ok_or_else(|| bad("DestinationConfig.OnFailure.Destination must be a string"))?;
        config.on_failure = Some(OnFailure {
            destination: destination.to_string(),
        });
    }
    match map.get("FunctionResponseTypes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                match item.as_str() {
                    Some("ReportBatchItemFailures") => config
                        .function_response_types
                        .push(FunctionResponseType::ReportBatchItemFailures),
                    _ => {
                        return Err(bad(format!(
                            "FunctionResponseTypes: {item} is not one of [ReportBatchItemFailures]"
                        )));
                    }
                }
            }
        }
        Some(_) => return Err(bad("FunctionResponseTypes must be a list")),
    }
    if map.get("Enabled").is_some_and(|e| e != &Value::Bool(true)) {
        return Err(bad(
            "Enabled: the simulator runs every mapping it has; delete a mapping to stop it",
        ));
    }
    config.validate()?;
    Ok(config)
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::float_arithmetic
)]
fn seconds_to_ms(seconds: f64) -> u64 {
    // Input parsing only: the value is non-negative and `as` saturates.
    (seconds * 1_000.0) as u64
}

/// Lambda's EventSourceMappingConfiguration for `esm`, as GetEventSourceMapping would answer.
pub fn configuration_json(esm: &EventSourceMapping) -> Value {
    let config = esm.config();
    let view = esm.view();
    json!({
        "UUID": esm.uuid(),
        "FunctionArn": config.function_arn(),
        "EventSourceArn": config.event_source_arn,
        "BatchSize": config.batch_size,
        "MaximumBatchingWindowInSeconds": config.maximum_batching_window_in_seconds,
        "StartingPosition": config.starting_position.as_str(),
        "ParallelizationFactor": config.parallelization_factor,
        "MaximumRetryAttempts": config.maximum_retry_attempts,
        "MaximumRecordAgeInSeconds": config.maximum_record_age_in_seconds,
        "BisectBatchOnFunctionError": config.bisect_batch_on_function_error,
        "DestinationConfig": config.on_failure.as_ref().map_or(json!({}), |o| json!({"OnFailure": {"Destination": o.destination}})),
        "FunctionResponseTypes": config.function_response_types.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "State": "Enabled",
        "LastProcessingResult": view.last_processing_result,
        "IteratorAgeMilliseconds": view.iterator_age_ms,
        "InFlight": view.in_flight,
        "Stats": view.stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lambda_member_names_with_defaults() {
        let config = create_request(
            r#"{"FunctionName": "f", "EventSourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/s",
                "StartingPosition": "TRIM_HORIZON", "BatchSize": 10,
                "FunctionResponseTypes": ["ReportBatchItemFailures"]}"#,
        )
        .expect("valid");
        assert_eq!(config.batch_size, 10);
        assert_eq!(config.parallelization_factor, 1);
        assert!(config.reports_batch_item_failures());
    }

    #[test]
    fn refuses_bad_requests_with_lambda_errors() {
        for (body, needle) in [
            ("[]", "JSON object"),
            ("{", "not JSON"),
            (r#"{"FunctionName": "f"}"#, "EventSourceArn is required"),
            (
                r#"{"FunctionName": "f", "EventSourceArn": "arn:aws:kinesis:us-east-1:1:stream/s", "StartingPosition": "TRIM_HORIZON", "BatchSize": 0}"#,
                "batch size",
            ),
            (
                r#"{"FunctionName": "f", "EventSourceArn": "arn:aws:kinesis:us-east-1:1:stream/s", "StartingPosition": "TRIM_HORIZON", "BatchSize": "ten"}"#,
                "BatchSize must be a whole number",
            ),
            (
                r#"{"FunctionName": "f", "EventSourceArn": "x", "StartingPosition": "LATEST", "Typo": 1}"#,
                "Unknown member Typo",
            ),
        ] {
            let error = create_request(body).expect_err(body);
            assert!(error.message.contains(needle), "{body}: {}", error.message);
        }
    }
}
