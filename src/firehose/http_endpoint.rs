//! The HTTP endpoint destination, kept pure: a request is a value ([`HttpRequest`]), a response is an input
//! ([`Transport`]), and retries are scheduled on simulated time. The shell (fetch in the browser, a TCP client in
//! `kinesim serve`) performs the request; this module builds it and judges what came back.
//!
//! One [`HttpDelivery`] carries one buffered batch: the first attempt, then retries with back-off (1 s doubling,
//! +-15% jitter drawn from the stream's [`SimRng`], capped at 120 s) for as long as the back-off time spent stays
//! within `RetryOptions.DurationInSeconds` (time spent waiting for responses does not count, as AWS documents),
//! then every record becomes an `http-endpoint-failed` [`ErrorRecord`]. Delivery is at least once: a batch the
//! endpoint stored but answered wrongly is sent again with the same request id.
//!
//! Sources: "Understand HTTP endpoint delivery request and response specifications" (request body `{requestId,
//! timestamp, records:[{data}]}`, headers `X-Amz-Firehose-Protocol-Version: 1.0`, `X-Amz-Firehose-Request-Id`
//! (same across retries), `X-Amz-Firehose-Source-Arn`, `X-Amz-Firehose-Access-Key`,
//! `X-Amz-Firehose-Common-Attributes`, `Content-Type: application/json`, `Content-Encoding: gzip` only when
//! enabled; response `{requestId, timestamp, errorMessage?}` whose requestId must match; 3 minutes to answer; only
//! 200 succeeds, with `Content-Type: application/json`, no `Content-Encoding`, a body of at most 1 MiB holding
//! `requestId` (matching) and a numeric `timestamp`; "Response code 413 (size exceeded) is considered as a
//! permanent failure and the record batch is not sent to error bucket if configured"; at most 10,000 records per
//! request; back-off "initial 1 second, jitter 15%, multiplier 2, capped at 2 minutes"), "Troubleshooting HTTP
//! Endpoints" (`HttpEndpoint.DestinationException` and `InvalidResponseFromDestination` with their messages,
//! `RequestTimeout`, `ResponseTooLarge`, `ConnectionFailed`; 2xx other than 200 are failures too), the service
//! model (`HttpEndpointRetryDurationInSeconds` 0..7200, `HttpEndpointBufferingSizeInMBs` 1..64,
//! `HttpEndpointBufferingIntervalInSeconds` 0..900) and the partner pages for the presets. AWS documents no
//! message text for `ConnectionFailed`, `RequestTimeout` and `ResponseTooLarge`: theirs here are the
//! simulator's. Splunk's HEC acknowledgement flow (indexer acknowledgements) is not simulated: a 200 with
//! `"code":0` counts as delivered.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error_record::ErrorRecord;
use super::gzip;
use crate::sim::{DisplayEpoch, SimDuration, SimRng, SimTime};

/// `X-Amz-Firehose-Protocol-Version`: "Currently the only version is 1.0".
pub const PROTOCOL_VERSION: &str = "1.0";
/// Smallest HTTP endpoint buffer size, in MB (`HttpEndpointBufferingSizeInMBs`).
pub const BUFFER_SIZE_MB_MIN: u32 = 1;
/// Largest HTTP endpoint buffer size, in MB (`HttpEndpointBufferingSizeInMBs`).
pub const BUFFER_SIZE_MB_MAX: u32 = 64;
/// Default HTTP endpoint buffer size, in MB (`HttpEndpointBufferingHints.SizeInMBs`: "The default value is 5").
pub const BUFFER_SIZE_MB_DEFAULT: u32 = 5;
/// Largest HTTP endpoint buffer interval, in seconds (`HttpEndpointBufferingIntervalInSeconds`).
pub const BUFFER_INTERVAL_SECONDS_MAX: u32 = 900;
/// Default HTTP endpoint buffer interval, in seconds (`HttpEndpointBufferingHints.IntervalInSeconds`).
pub const BUFFER_INTERVAL_SECONDS_DEFAULT: u32 = 300;
/// Largest `RetryOptions.DurationInSeconds` (`HttpEndpointRetryDurationInSeconds`).
pub const RETRY_DURATION_SECONDS_MAX: u32 = 7_200;
/// Default `RetryOptions.DurationInSeconds` (the Firehose console's default retry duration).
pub const RETRY_DURATION_SECONDS_DEFAULT: u32 = 300;
/// First back-off, in milliseconds.
pub const BACKOFF_INITIAL_MS: u64 = 1_000;
/// Longest back-off, in milliseconds.
pub const BACKOFF_CAP_MS: u64 = 120_000;
/// Jitter applied to each back-off, in thousandths either way (+-15%).
pub const BACKOFF_JITTER_PERMILLE: u64 = 150;
/// How long the endpoint has to answer before the attempt times out, in milliseconds ("3 minutes").
pub const RESPONSE_TIMEOUT_MS: u64 = 180_000;
/// Longest access key, in bytes ("Firehose limits the size of the access key to 4096 bytes").
pub const ACCESS_KEY_BYTES_MAX: u64 = 4_096;
/// Largest response body, in bytes ("The response body must be 1 MiB or less in size").
pub const RESPONSE_BODY_BYTES_MAX: u64 = 1_048_576;
/// Most records in one request (`maxItems: 10000` of the request body schema).
pub const RECORDS_PER_REQUEST_MAX: u32 = 10_000;
/// Largest request body before compression, in bytes ("up to a maximum of 64 MiB, before compression").
pub const REQUEST_BODY_BYTES_MAX: u64 = 64 * 1_048_576;
/// Characters of a response body quoted in an error message (AWS logs "a truncated response payload").
pub const QUOTED_BODY_CHARS_MAX: u64 = 1_024;

/// `HttpEndpoint.DestinationException`: the endpoint answered with a status other than 200.
pub const CODE_DESTINATION_EXCEPTION: &str = "HttpEndpoint.DestinationException";
/// `HttpEndpoint.InvalidResponseFromDestination`: a 200 that does not follow the response specification (not
/// JSON, no or another `requestId`, no numeric `timestamp`, no `application/json` content type, content-encoded).
pub const CODE_INVALID_RESPONSE: &str = "HttpEndpoint.InvalidResponseFromDestination";
/// First sentence of the message of [`CODE_INVALID_RESPONSE`]; see [`invalid_response_message`].
pub const MESSAGE_INVALID_RESPONSE: &str = "The response received from the specified endpoint is invalid. Contact \
     the owner of the endpoint to resolve the issue.";
/// `HttpEndpoint.ResponseTooLarge`: a response body over [`RESPONSE_BODY_BYTES_MAX`].
pub const CODE_RESPONSE_TOO_LARGE: &str = "HttpEndpoint.ResponseTooLarge";
/// Message of [`CODE_RESPONSE_TOO_LARGE`] (the simulator's words; AWS documents only the code).
pub const MESSAGE_RESPONSE_TOO_LARGE: &str =
    "The response received from the endpoint is too large. The response must be less than 1 MiB.";
/// `HttpEndpoint.ConnectionFailed`: no connection could be made.
pub const CODE_CONNECTION_FAILED: &str = "HttpEndpoint.ConnectionFailed";
/// Message of [`CODE_CONNECTION_FAILED`] (the simulator's words; AWS documents only the code).
pub const MESSAGE_CONNECTION_FAILED: &str = "Unable to connect to the destination endpoint. Contact the owner of \
     the destination endpoint to resolve this issue.";
/// `HttpEndpoint.RequestTimeout`: no answer within [`RESPONSE_TIMEOUT_MS`].
pub const CODE_REQUEST_TIMEOUT: &str = "HttpEndpoint.RequestTimeout";
/// Message of [`CODE_REQUEST_TIMEOUT`].
pub const MESSAGE_REQUEST_TIMEOUT: &str = "The delivery timed out before a response was received and will be \
     retried. If this error persists, contact the AWS Firehose service team.";

/// `ContentEncoding` of `HttpEndpointRequestConfiguration`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContentEncoding {
    /// `NONE`: the body as is, no `Content-Encoding` header.
    None,
    /// `GZIP`: the body gzip-compressed, `Content-Encoding: gzip`.
    Gzip,
}

/// The body format a destination speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestFormat {
    /// Firehose's HTTP endpoint format (generic endpoints and most partners: Datadog, New Relic, ...).
    Firehose,
    /// Splunk HTTP Event Collector, event endpoint: one `{"event":...}` object per record, concatenated.
    SplunkEvent,
    /// Splunk HTTP Event Collector, raw endpoint: the records' bytes concatenated.
    SplunkRaw,
}

/// Where and how to deliver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointConfig {
    /// The URL (AWS accepts only `https://` on port 443; the simulator also takes `http://` for local tests).
    pub url: String,
    /// The endpoint's display name (`EndpointConfiguration.Name`).
    pub name: Option<String>,
    /// `EndpointConfiguration.AccessKey`, copied verbatim into `X-Amz-Firehose-Access-Key` (Splunk: the HEC
    /// token, sent as `Authorization: Splunk TOKEN`).
    pub access_key: Option<String>,
    /// `RequestConfiguration.CommonAttributes`, in the order given.
    pub common_attributes: Vec<(String, String)>,
    /// `RequestConfiguration.ContentEncoding`.
    pub content_encoding: ContentEncoding,
    /// `RetryOptions.DurationInSeconds`.
    pub retry_duration_seconds: u32,
    /// The delivery stream's ARN (`X-Amz-Firehose-Source-Arn`).
    pub delivery_stream_arn: String,
    /// The body format.
    pub format: RequestFormat,
}

impl EndpointConfig {
    /// A generic endpoint with AWS's defaults.
    pub fn new(url: &str, delivery_stream_arn: &str) -> Self {
        EndpointConfig {
            url: url.to_string(),
            name: None,
            access_key: None,
            common_attributes: Vec::new(),
            content_encoding: ContentEncoding::None,
            retry_duration_seconds: RETRY_DURATION_SECONDS_DEFAULT,
            delivery_stream_arn: delivery_stream_arn.to_string(),
            format: RequestFormat::Firehose,
        }
    }

    /// Checks the configuration as CreateDeliveryStream would (retry duration, access key size, URL scheme).
    pub fn validate(&self) -> Result<(), String> {
        if self.retry_duration_seconds > RETRY_DURATION_SECONDS_MAX {
            return Err(format!(
                "RetryOptions.DurationInSeconds must be between 0 and {RETRY_DURATION_SECONDS_MAX}, got {}",
                self.retry_duration_seconds
            ));
        }
        let key_bytes = self.access_key.as_ref().map_or(0, String::len);
        if u64::try_from(key_bytes).unwrap_or(u64::MAX) > ACCESS_KEY_BYTES_MAX {
            return Err(format!(
                "AccessKey must be at most {ACCESS_KEY_BYTES_MAX} bytes"
            ));
        }
        if !(self.url.starts_with("https://") || self.url.starts_with("http://")) {
            return Err("Url must start with https:// (or http:// for a local endpoint)".into());
        }
        Ok(())
    }
}

/// A partner destination: its documented URL and body format. The URL may hold `{placeholders}` the user fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    /// Display name.
    pub name: &'static str,
    /// Endpoint URL (US region where there are several).
    pub url: &'static str,
    /// Body format.
    pub format: RequestFormat,
    /// What the access key holds.
    pub access_key_hint: &'static str,
    /// Content encoding the partner recommends.
    pub content_encoding: ContentEncoding,
}

/// Third-party destinations as HTTP endpoint presets. Partners that take Firehose's own format differ only in
/// URL and key; Splunk speaks its HTTP Event Collector format.
pub const PRESETS: [Preset; 8] = [
    Preset {
        name: "Datadog (logs)",
        url: "https://aws-kinesis-http-intake.logs.datadoghq.com/v1/input",
        format: RequestFormat::Firehose,
        access_key_hint: "Datadog API key",
        content_encoding: ContentEncoding::Gzip,
    },
    Preset {
        name: "Datadog (metrics)",
        url: "https://awsmetrics-intake.datadoghq.com/v1/input",
        format: RequestFormat::Firehose,
        access_key_hint: "Datadog API key",
        content_encoding: ContentEncoding::Gzip,
    },
    Preset {
        name: "New Relic (logs)",
        url: "https://aws-api.newrelic.com/firehose/v1",
        format: RequestFormat::Firehose,
        access_key_hint: "New Relic license key",
        content_encoding: ContentEncoding::Gzip,
    },
    Preset {
        name: "Coralogix",
        url: "https://firehose-ingress.coralogix.com/firehose",
        format: RequestFormat::Firehose,
        access_key_hint: "Coralogix private key",
        content_encoding: ContentEncoding::Gzip,
    },
    Preset {
        name: "Honeycomb",
        url: "https://api.honeycomb.io/1/kinesis_events/{dataset}",
        format: RequestFormat::Firehose,
        access_key_hint: "Honeycomb API key",
        content_encoding: ContentEncoding::Gzip,
    },
    Preset {
        name: "MongoDB Cloud",
        url: "https://{your-app-services-https-endpoint}",
        format: RequestFormat::Firehose,
        access_key_hint: "the API key of the endpoint",
        content_encoding: ContentEncoding::None,
    },
    Preset {
        name: "Splunk (event endpoint)",
        url: "https://{splunk-host}:8088/services/collector/event",
        format: RequestFormat::SplunkEvent,
        access_key_hint: "HEC token",
        content_encoding: ContentEncoding::None,
    },
    Preset {
        name: "Splunk (raw endpoint)",
        url: "https://{splunk-host}:8088/services/collector/raw",
        format: RequestFormat::SplunkRaw,
        access_key_hint: "HEC token",
        content_encoding: ContentEncoding::None,
    },
];

/// One record to deliver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Its bytes (after transformation).
    pub data: Vec<u8>,
    /// When Firehose received it, Unix ms.
    pub arrival_unix_ms: u64,
}

/// An HTTP request to perform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// Always `POST`.
    pub method: &'static str,
    /// The URL.
    pub url: String,
    /// Headers in the order they are sent.
    pub headers: Vec<(String, String)>,
    /// The body bytes (gzip-compressed when the configuration says so).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP response, as the shell received it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers as received.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with `Content-Type: application/json` and this body.
    pub fn json(status: u16, body: &str) -> Self {
        HttpResponse {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// The value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transport {
    /// The endpoint answered.
    Response(HttpResponse),
    /// No connection (refused, DNS, TLS); the text says why.
    ConnectionFailed(String),
    /// No answer within [`RESPONSE_TIMEOUT_MS`].
    TimedOut,
}

/// The verdict on one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered.
    Success,
    /// Failed; retry while the retry duration allows.
    Retry {
        /// Error code.
        code: &'static str,
        /// Error message.
        message: String,
    },
    /// Failed for good (413): no retry, and AWS does not write the batch to the error bucket.
    Permanent {
        /// Error code.
        code: &'static str,
        /// Error message.
        message: String,
    },
}

fn quoted_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let limit = usize::try_from(QUOTED_BODY_CHARS_MAX).unwrap_or(usize::MAX);
    text.chars().take(limit).collect()
}

/// The message of an invalid response, as AWS logs it: the documented sentence, the request id and the raw
/// response (status and truncated body).
pub fn invalid_response_message(request_id: &str, response: &HttpResponse) -> String {
    format!(
        "{MESSAGE_INVALID_RESPONSE} Response for request {request_id} is not recognized as valid JSON or has \
         unexpected fields. Raw response received: {} {}",
        response.status,
        quoted_body(&response.body)
    )
}

/// Judges an attempt. For Firehose's format only a 200 that follows the response specification succeeds
/// (`Content-Type: application/json`, no `Content-Encoding`, at most 1 MiB, a JSON object whose `requestId` is
/// ours and whose `timestamp` is a number); Splunk succeeds on 200 with `"code":0`. 413 is permanent; everything
/// else is retried.
pub fn judge(format: RequestFormat, request_id: &str, outcome: &Transport) -> Verdict {
    let response = match outcome {
        Transport::Response(r) => r,
        Transport::ConnectionFailed(_) => {
            return Verdict::Retry {
                code: CODE_CONNECTION_FAILED,
                message: MESSAGE_CONNECTION_FAILED.into(),
            };
        }
        Transport::TimedOut => {
            return Verdict::Retry {
                code: CODE_REQUEST_TIMEOUT,
                message: MESSAGE_REQUEST_TIMEOUT.into(),
            };
        }
    };
    if u64::try_from(response.body.len()).unwrap_or(u64::MAX) > RESPONSE_BODY_BYTES_MAX {
        return Verdict::Retry {
            code: CODE_RESPONSE_TOO_LARGE,
            message: MESSAGE_RESPONSE_TOO_LARGE.into(),
        };
    }
    if response.status != 200 {
        let message = format!(
            "The following response was received from the endpoint destination. {}: {}",
            response.status,
            quoted_body(&response.body)
        );
        return if response.status == 413 {
            Verdict::Permanent {
                code: CODE_DESTINATION_EXCEPTION,
                message,
            }
        } else {
            Verdict::Retry {
                code: CODE_DESTINATION_EXCEPTION,
                message,
            }
        };
    }
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    let valid = match format {
        RequestFormat::Firehose => {
            let json_type = response.header("Content-Type").is_some_and(|t| {
                t.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
            let encoded = response.header("Content-Encoding").is_some_and(|e| {
                !e.trim().is_empty() && !e.trim().eq_ignore_ascii_case("identity")
            });
            json_type
                && !encoded
                && body.as_ref().is_some_and(|b| {
                    b.get("requestId").and_then(Value::as_str) == Some(request_id)
                        && b.get("timestamp").is_some_and(Value::is_number)
                })
        }
        RequestFormat::SplunkEvent | RequestFormat::SplunkRaw => {
            body.as_ref()
                .and_then(|b| b.get("code"))
                .and_then(Value::as_i64)
                == Some(0)
        }
    };
    if valid {
        Verdict::Success
    } else {
        Verdict::Retry {
            code: CODE_INVALID_RESPONSE,
            message: invalid_response_message(request_id, response),
        }
    }
}

/// A request id: an opaque GUID (UUID version 4 layout) drawn from `rng`.
pub fn new_request_id(rng: &mut SimRng) -> String {
    let hi = rng.next_u64();
    let lo = rng.next_u64();
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// The back-off after the `failures`-th failed attempt (1-based), before jitter: 1 s doubling, capped at 120 s.
pub fn backoff_base_ms(failures: u32) -> u64 {
    let exponent = failures.saturating_sub(1).min(20);
    BACKOFF_INITIAL_MS
        .saturating_mul(1u64 << exponent)
        .min(BACKOFF_CAP_MS)
}

/// `base` with +-15% jitter: a uniform draw in `base * [850, 1150] / 1000`, integers only.
pub fn with_jitter(base_ms: u64, rng: &mut SimRng) -> u64 {
    let permille = rng.range_inclusive(
        1_000 - BACKOFF_JITTER_PERMILLE,
        1_000 + BACKOFF_JITTER_PERMILLE,
    );
    base_ms.saturating_mul(permille) / 1_000
}

/// What a delivery wants next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryStep {
    /// Delivered after this many attempts.
    Delivered {
        /// Attempts made, the successful one included.
        attempts: u32,
    },
    /// Send the same request again at this simulated time.
    RetryAt(SimTime),
    /// Given up: these documents go to `http-endpoint-failed/`.
    Failed(Vec<ErrorRecord>),
    /// The endpoint answered 413: a permanent failure, and AWS does NOT send the batch to the error bucket (the
    /// records are lost). The documents describe what was discarded, for the UI and for invariant checks.
    Discarded(Vec<ErrorRecord>),
}

/// Splits records, in order, into request batches of at most [`RECORDS_PER_REQUEST_MAX`] records.
pub fn split_into_requests(records: Vec<DeliveryRecord>) -> Vec<Vec<DeliveryRecord>> {
    let per = usize::try_from(RECORDS_PER_REQUEST_MAX).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut current = Vec::new();
    for record in records {
        if current.len() >= per {
            out.push(std::mem::take(&mut current));
        }
        current.push(record);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// One batch on its way to an HTTP endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpDelivery {
    config: EndpointConfig,
    request_id: String,
    records: Vec<DeliveryRecord>,
    attempts_made: u32,
    backoff_spent_ms: u64,
    last_error: Option<(String, String)>,
}

impl HttpDelivery {
    /// A batch of `records` with its request id (see [`new_request_id`]).
    pub fn new(config: EndpointConfig, request_id: String, records: Vec<DeliveryRecord>) -> Self {
        HttpDelivery {
            config,
            request_id,
            records,
            attempts_made: 0,
            backoff_spent_ms: 0,
            last_error: None,
        }
    }

    /// The request id, the same on every attempt.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// The records.
    pub fn records(&self) -> &[DeliveryRecord] {
        &self.records
    }

    /// Attempts made so far.
    pub fn attempts_made(&self) -> u32 {
        self.attempts_made
    }

    /// Back-off time spent so far, in milliseconds (what the retry duration bounds).
    pub fn backoff_spent_ms(&self) -> u64 {
        self.backoff_spent_ms
    }

    /// The last failure's code and message.
    pub fn last_error(&self) -> Option<(&str, &str)> {
        self.last_error
            .as_ref()
            .map(|(c, m)| (c.as_str(), m.as_str()))
    }

    /// The body before compression.
    pub fn body_json(&self, attempt_unix_ms: u64) -> Vec<u8> {
        match self.config.format {
            RequestFormat::Firehose => {
                let records: Vec<String> = self
                    .records
                    .iter()
                    .map(|r| format!("{{\"data\":\"{}\"}}", STANDARD.encode(&r.data)))
                    .collect();
                format!(
                    "{{\"requestId\":{},\"timestamp\":{},\"records\":[{}]}}",
                    serde_json::to_string(&self.request_id).unwrap_or_default(),
                    attempt_unix_ms,
                    records.join(",")
                )
                .into_bytes()
            }
            RequestFormat::SplunkEvent => {
                let mut out = Vec::new();
                for r in &self.records {
                    let event = match serde_json::from_slice::<Value>(&r.data) {
                        Ok(v) => v,
                        Err(_) => Value::String(String::from_utf8_lossy(&r.data).into_owned()),
                    };
                    let mut map = serde_json::Map::new();
                    map.insert("event".into(), event);
                    out.extend(Value::Object(map).to_string().into_bytes());
                }
                out
            }
            RequestFormat::SplunkRaw => self.records.iter().flat_map(|r| r.data.clone()).collect(),
        }
    }

    /// The request for the attempt starting at `now` (its body's `timestamp` is that instant).
    pub fn request(&self, now: SimTime, epoch: DisplayEpoch) -> HttpRequest {
        let body = self.body_json(epoch.unix_ms_at(now));
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut push = |k: &str, v: String| headers.push((k.to_string(), v));
        push("Content-Type", "application/json".into());
        match self.config.format {
            RequestFormat::Firehose => {
                push("X-Amz-Firehose-Protocol-Version", PROTOCOL_VERSION.into());
                push("X-Amz-Firehose-Request-Id", self.request_id.clone());
                push(
                    "X-Amz-Firehose-Source-Arn",
                    self.config.delivery_stream_arn.clone(),
                );
                if let Some(key) = &self.config.access_key {
                    push("X-Amz-Firehose-Access-Key", key.clone());
                }
                if !self.config.common_attributes.is_empty() {
                    let mut map = serde_json::Map::new();
                    for (k, v) in &self.config.common_attributes {
                        map.insert(k.clone(), Value::String(v.clone()));
                    }
                    let mut wrapper = serde_json::Map::new();
                    wrapper.insert("commonAttributes".into(), Value::Object(map));
                    push(
                        "X-Amz-Firehose-Common-Attributes",
                        Value::Object(wrapper).to_string(),
                    );
                }
            }
            RequestFormat::SplunkEvent | RequestFormat::SplunkRaw => {
                if let Some(key) = &self.config.access_key {
                    push("Authorization", format!("Splunk {key}"));
                }
                push("X-Splunk-Request-Channel", self.request_id.clone());
            }
        }
        let body = match self.config.content_encoding {
            ContentEncoding::None => body,
            ContentEncoding::Gzip => {
                push("Content-Encoding", "gzip".into());
                gzip::compress(&body)
            }
        };
        HttpRequest {
            method: "POST",
            url: self.config.url.clone(),
            headers,
            body,
        }
    }

    /// Takes how the attempt that ended at `now` went. A failure is retried after a jittered back-off while the
    /// back-off time spent, this one included, stays within the retry duration; otherwise (and at once for a
    /// permanent failure) every record becomes an error document.
    pub fn handle(
        &mut self,
        now: SimTime,
        epoch: DisplayEpoch,
        outcome: &Transport,
        rng: &mut SimRng,
    ) -> DeliveryStep {
        self.attempts_made = self.attempts_made.saturating_add(1);
        let (code, message, permanent) = match judge(self.config.format, &self.request_id, outcome)
        {
            Verdict::Success => {
                return DeliveryStep::Delivered {
                    attempts: self.attempts_made,
                };
            }
            Verdict::Retry { code, message } => (code, message, false),
            Verdict::Permanent { code, message } => (code, message, true),
        };
        self.last_error = Some((code.to_string(), message.clone()));
        if !permanent {
            let delay_ms = with_jitter(backoff_base_ms(self.attempts_made), rng);
            let budget_ms = u64::from(self.config.retry_duration_seconds) * 1_000;
            let spent = self.backoff_spent_ms.saturating_add(delay_ms);
            if spent <= budget_ms {
                self.backoff_spent_ms = spent;
                return DeliveryStep::RetryAt(
                    now.saturating_add(SimDuration::from_millis(delay_ms)),
                );
            }
        }
        let ending = epoch.unix_ms_at(now);
        let documents = self
            .records
            .iter()
            .map(|r| {
                ErrorRecord::new(
                    self.attempts_made,
                    r.arrival_unix_ms,
                    code,
                    &message,
                    ending,
                    &r.data,
                )
            })
            .collect();
        if permanent {
            DeliveryStep::Discarded(documents)
        } else {
            DeliveryStep::Failed(documents)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(retry_s: u32) -> HttpDelivery {
        let mut cfg = EndpointConfig::new(
            "https://example.com/in",
            "arn:aws:firehose:us-east-1:000000000000:deliverystream/d",
        );
        cfg.retry_duration_seconds = retry_s;
        cfg.access_key = Some("k".into());
        cfg.common_attributes = vec![("env".into(), "test".into())];
        HttpDelivery::new(
            cfg,
            "rid".into(),
            vec![DeliveryRecord {
                data: b"hi".to_vec(),
                arrival_unix_ms: 7,
            }],
        )
    }

    fn ok(id: &str) -> Transport {
        Transport::Response(HttpResponse::json(
            200,
            &format!("{{\"requestId\":\"{id}\",\"timestamp\":1}}"),
        ))
    }

    #[test]
    fn request_shape() {
        let d = delivery(300);
        let req = d.request(SimTime::from_millis(5), DisplayEpoch { unix_ms: 1_000 });
        assert_eq!(
            req.body,
            b"{\"requestId\":\"rid\",\"timestamp\":1005,\"records\":[{\"data\":\"aGk=\"}]}"
        );
        assert_eq!(req.header("x-amz-firehose-request-id"), Some("rid"));
        assert_eq!(req.header("X-Amz-Firehose-Protocol-Version"), Some("1.0"));
        assert_eq!(req.header("X-Amz-Firehose-Access-Key"), Some("k"));
        assert_eq!(
            req.header("X-Amz-Firehose-Common-Attributes"),
            Some("{\"commonAttributes\":{\"env\":\"test\"}}")
        );
        assert_eq!(req.header("Content-Encoding"), None);
    }

    #[test]
    fn judges_responses() {
        assert_eq!(
            judge(RequestFormat::Firehose, "rid", &ok("rid")),
            Verdict::Success
        );
        assert!(matches!(
            judge(RequestFormat::Firehose, "rid", &ok("other")),
            Verdict::Retry {
                code: CODE_INVALID_RESPONSE,
                ..
            }
        ));
        let r = |status| Transport::Response(HttpResponse::json(status, "x"));
        // A 200 that breaks the specification: a string timestamp, no content type, gzip-encoded, too large.
        let string_ts = HttpResponse::json(200, "{\"requestId\":\"rid\",\"timestamp\":\"1\"}");
        let mut untyped = HttpResponse::json(200, "{\"requestId\":\"rid\",\"timestamp\":1}");
        untyped.headers.clear();
        let mut encoded = HttpResponse::json(200, "{\"requestId\":\"rid\",\"timestamp\":1}");
        encoded
            .headers
            .push(("Content-Encoding".into(), "gzip".into()));
        for bad in [string_ts, untyped, encoded] {
            let verdict = judge(RequestFormat::Firehose, "rid", &Transport::Response(bad));
            let Verdict::Retry { code, message } = verdict else {
                panic!("must be retried");
            };
            assert_eq!(code, CODE_INVALID_RESPONSE);
            assert!(message.contains("Response for request rid is not recognized as valid JSON"));
        }
        let huge = HttpResponse::json(200, &" ".repeat(1_048_577));
        assert!(matches!(
            judge(RequestFormat::Firehose, "rid", &Transport::Response(huge)),
            Verdict::Retry {
                code: CODE_RESPONSE_TOO_LARGE,
                ..
            }
        ));
        assert!(matches!(
            judge(RequestFormat::Firehose, "rid", &r(413)),
            Verdict::Permanent { .. }
        ));
        assert!(matches!(
            judge(RequestFormat::Firehose, "rid", &r(500)),
            Verdict::Retry { .. }
        ));
        assert!(matches!(
            judge(RequestFormat::Firehose, "rid", &r(201)),
            Verdict::Retry { .. }
        ));
    }

    #[test]
    fn backoff_schedule_within_retry_duration() {
        let mut d = delivery(300);
        let mut rng = SimRng::new(1);
        let mut now = SimTime::ZERO;
        let fail = Transport::ConnectionFailed("refused".into());
        let mut delays = Vec::new();
        loop {
            match d.handle(now, DisplayEpoch::DEFAULT, &fail, &mut rng) {
                DeliveryStep::RetryAt(t) => {
                    delays.push(t.as_millis() - now.as_millis());
                    now = t;
                }
                DeliveryStep::Failed(docs) => {
                    assert_eq!(docs.len(), 1);
                    assert_eq!(docs[0].error_code, CODE_CONNECTION_FAILED);
                    assert_eq!(docs[0].attempts_made, d.attempts_made());
                    break;
                }
                DeliveryStep::Delivered { .. } | DeliveryStep::Discarded(_) => {
                    panic!("a refused connection is retried, then fails")
                }
            }
        }
        for (i, delay) in delays.iter().enumerate() {
            let base = backoff_base_ms(u32::try_from(i + 1).unwrap_or(u32::MAX));
            assert!(
                *delay >= base * 850 / 1000 && *delay <= base * 1150 / 1000,
                "{i}: {delay}"
            );
        }
        assert!(d.backoff_spent_ms() <= 300_000);
        assert!(delays.len() >= 7, "{delays:?}");
        let mut zero = delivery(0);
        assert!(matches!(
            zero.handle(SimTime::ZERO, DisplayEpoch::DEFAULT, &fail, &mut rng),
            DeliveryStep::Failed(_)
        ));
    }

    #[test]
    fn request_ids_are_guids() {
        let mut rng = SimRng::new(3);
        let id = new_request_id(&mut rng);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, new_request_id(&mut rng));
    }
}
