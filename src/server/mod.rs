//! `kinesim serve`: a local HTTP endpoint that speaks the Kinesis and Firehose JSON 1.1 protocol (routed on
//! `X-Amz-Target`), and the read side of the S3 REST API (path-style) over the buckets Firehose writes, so the
//! AWS CLI, boto3 and the AWS SDKs use it as they use AWS (any credentials are accepted). Native only.
//!
//! This is a shell, like the UI: the wall clock enters here and becomes simulated time (`--speed` times real
//! time, plus whatever `POST /_kinesim/advance` added). One thread answers requests in arrival order; the World
//! and the clock sit behind one mutex, shared with the threads that stream open SubscribeToShard responses
//! (see [`subscription`]), so the World still sees one call at a time.

mod eventstream;
// Performs the Firehose HTTP endpoint destination's requests (see `start_http_deliveries`); tests/firehose_http.rs
// includes it too.
pub mod http_client;
mod s3;
mod subscription;

use kinesim::api::ApiResponse;
use kinesim::api::firehose::TARGET_PREFIX as FIREHOSE_TARGET_PREFIX;
use kinesim::api::kinesis::TARGET_PREFIX;
use kinesim::sim::SimTime;
use kinesim::streams::{ErrorType, KinesisError};
use kinesim::{World, WorldConfig};
use std::io::Read;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;
use tiny_http::{Header, Method, Request, Response, Server};

/// Largest request body accepted, in bytes (a 5 MiB PutRecords is about 7 MiB of JSON once base64-encoded).
pub const REQUEST_BODY_BYTES_MAX: u64 = 16 * 1_048_576;
/// Fastest simulated speed `--speed` accepts (simulated ms per real ms).
pub const SPEED_MAX: u64 = 1_000_000;

/// Settings of `kinesim serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// Address to listen on.
    pub host: String,
    /// Port (0 picks a free one; the chosen address is printed).
    pub port: u16,
    /// Seed of the run.
    pub seed: u64,
    /// Simulated ms per real ms.
    pub speed: u64,
    /// Whether new streams enforce per-shard throughput limits (AWS does; `--limits off` for a sandbox).
    pub throughput_limits: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            host: "127.0.0.1".into(),
            port: 4567,
            seed: 1,
            speed: 1,
            throughput_limits: true,
        }
    }
}

/// Parses `serve` arguments: `--host H --port P --seed S --speed X --limits on|off`.
pub fn parse_args(args: &[String]) -> Result<ServeOptions, String> {
    let mut options = ServeOptions::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--host" => options.host = value.clone(),
            "--port" => {
                options.port = value
                    .parse()
                    .map_err(|_| format!("--port must be 0 to 65535, not {value}"))?;
            }
            "--seed" => {
                options.seed = value.parse().map_err(|_| {
                    format!(
                        "--seed must be a whole number from 0 to {}, not {value}",
                        u64::MAX
                    )
                })?;
            }
            "--speed" => {
                options.speed = value
                    .parse()
                    .ok()
                    .filter(|s| (1..=SPEED_MAX).contains(s))
                    .ok_or_else(|| format!("--speed must be 1 to {SPEED_MAX}, not {value}"))?;
            }
            "--limits" => {
                options.throughput_limits = match value.as_str() {
                    "on" => true,
                    "off" => false,
                    _ => return Err(format!("--limits must be on or off, not {value}")),
                };
            }
            other => {
                return Err(format!(
                    "unknown option {other}; expected --host, --port, --seed, --speed or --limits"
                ));
            }
        }
    }
    Ok(options)
}

/// The simulated clock of the endpoint.
struct Clock {
    started: Instant,
    speed: u64,
    offset_ms: u64,
}

impl Clock {
    fn now(&self) -> SimTime {
        let real_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        SimTime::from_millis(
            real_ms
                .saturating_mul(self.speed)
                .saturating_add(self.offset_ms),
        )
    }
}

/// What the request loop and the subscription threads share.
struct Shared {
    world: World,
    clock: Clock,
}

/// Locks the shared state. A panic while it was held (a bug) leaves the World as the panicking call left it;
/// serving on beats taking the whole endpoint down.
fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves until the process is stopped.
pub fn serve(options: &ServeOptions) -> Result<(), String> {
    let server = Server::http((options.host.as_str(), options.port))
        .map_err(|e| format!("cannot listen on {}:{}: {e}", options.host, options.port))?;
    let address = server
        .server_addr()
        .to_ip()
        .map_or_else(|| "unknown".to_string(), |a| a.to_string());
    let mut config = WorldConfig::with_seed(options.seed);
    config.streams.throughput_limits_default = options.throughput_limits;
    let shared = Arc::new(Mutex::new(Shared {
        world: World::new(config),
        clock: Clock {
            started: Instant::now(),
            speed: options.speed,
            offset_ms: 0,
        },
    }));
    let open_subscriptions = Arc::new(AtomicUsize::new(0));
    start_http_deliveries(&shared);
    // The first line says where to connect; tests and scripts read it.
    #[allow(clippy::print_stdout)]
    {
        println!("kinesim listening on http://{address}");
    }
    let mut requests = 0u64;
    for request in server.incoming_requests() {
        requests += 1;
        handle(&shared, &open_subscriptions, requests, request);
    }
    Ok(())
}

/// How often the delivery thread looks for due Firehose HTTP endpoint requests, in milliseconds of real time.
const HTTP_DELIVERY_POLL_MS: u64 = 100;

/// Starts the thread that performs Firehose HTTP endpoint deliveries: every [`HTTP_DELIVERY_POLL_MS`] it moves
/// the world to the clock's time (buffers whose interval ran out flush, retries come due), takes every due
/// request, and performs each on its own thread with [`http_client`], outside the lock, so a slow endpoint never
/// blocks the API; the answer completes the request at the simulated time it arrived.
fn start_http_deliveries(shared: &Arc<Mutex<Shared>>) {
    let shared = Arc::clone(shared);
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(std::time::Duration::from_millis(HTTP_DELIVERY_POLL_MS));
            let due = {
                let mut guard = lock(&shared);
                let now = guard.clock.now().max(guard.world.now());
                guard.world.advance_to(now);
                let mut due = Vec::new();
                while let Some(p) = guard.world.poll_http_request() {
                    due.push(p);
                }
                due
            };
            for pending in due {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let outcome = http_client::perform(&pending.request);
                    let mut guard = lock(&shared);
                    let now = guard.clock.now().max(guard.world.now());
                    // The request was handed out by this thread: it is pending until completed here.
                    let _ = guard
                        .world
                        .complete_http_request(now, &pending.request_id, &outcome);
                });
            }
        }
    });
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn request_id(id: u64) -> String {
    format!("00000000-0000-4000-8000-{id:012x}")
}

fn respond(request: Request, status: u16, content_type: &str, body: String, id: u64) {
    let mut response = Response::from_string(body).with_status_code(status);
    let request_id = request_id(id);
    for h in [
        header("Content-Type", content_type),
        header("x-amzn-RequestId", &request_id),
        header("Access-Control-Allow-Origin", "*"),
        header(
            "Access-Control-Expose-Headers",
            "x-amzn-RequestId, x-amz-id-2",
        ),
    ]
    .into_iter()
    .flatten()
    {
        response.add_header(h);
    }
    // The client may have gone away; nothing to do about it.
    let _ = request.respond(response);
}

fn handle(shared: &Arc<Mutex<Shared>>, open: &Arc<AtomicUsize>, id: u64, mut request: Request) {
    if *request.method() == Method::Options {
        let asked = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Access-Control-Request-Headers"))
            .map_or_else(|| "*".to_string(), |h| h.value.to_string());
        let mut response = Response::empty(200);
        for h in [
            header("Access-Control-Allow-Origin", "*"),
            header("Access-Control-Allow-Methods", "POST, GET, OPTIONS"),
            header("Access-Control-Allow-Headers", &asked),
            header("Access-Control-Max-Age", "86400"),
        ]
        .into_iter()
        .flatten()
        {
            response.add_header(h);
        }
        let _ = request.respond(response);
        return;
    }
    let mut body = String::new();
    let read = request
        .as_reader()
        .take(REQUEST_BODY_BYTES_MAX + 1)
        .read_to_string(&mut body);
    if read.is_err() || body.len() as u64 > REQUEST_BODY_BYTES_MAX {
        let error = KinesisError::new(
            ErrorType::SerializationException,
            format!(
                "The request body must be UTF-8 JSON of at most {REQUEST_BODY_BYTES_MAX} bytes."
            ),
        );
        let answer = ApiResponse::error(&error);
        respond(
            request,
            answer.status,
            "application/x-amz-json-1.1",
            answer.body,
            id,
        );
        return;
    }
    let url = request.url().to_string();
    if url.starts_with("/_kinesim/") {
        let (status, answer) = {
            let mut state = lock(shared);
            let Shared { world, clock } = &mut *state;
            admin(world, clock, open, &url, &body)
        };
        respond(request, status, "application/json", answer, id);
        return;
    }
    let target = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("X-Amz-Target"))
        .map(|h| h.value.to_string())
        .unwrap_or_default();
    if target.is_empty() && !(*request.method() == Method::Post && url == "/") {
        let method = request.method().as_str().to_string();
        let answer = {
            let mut state = lock(shared);
            let now = state.clock.now();
            s3::handle(&mut state.world, now, &method, &url, &request_id(id))
        };
        respond_s3(request, answer, id);
        return;
    }
    let answer = match target.split_once('.') {
        Some((prefix, "SubscribeToShard")) if prefix == TARGET_PREFIX => {
            subscribe(shared, open, id, request, &body);
            return;
        }
        Some((prefix, operation)) if prefix == TARGET_PREFIX => {
            let mut state = lock(shared);
            let now = state.clock.now();
            state.world.kinesis(now, operation, &body)
        }
        Some((prefix, operation)) if prefix == FIREHOSE_TARGET_PREFIX => {
            let mut state = lock(shared);
            let now = state.clock.now();
            state.world.firehose(now, operation, &body)
        }
        _ => ApiResponse::error(&KinesisError::new(ErrorType::UnknownOperationException, "")),
    };
    respond(
        request,
        answer.status,
        "application/x-amz-json-1.1",
        answer.body,
        id,
    );
}

fn respond_s3(request: Request, answer: s3::S3Response, id: u64) {
    let mut response = Response::from_data(answer.body).with_status_code(answer.status);
    let request_id = request_id(id);
    let fixed = [
        ("x-amz-request-id", request_id.as_str()),
        ("Access-Control-Allow-Origin", "*"),
        (
            "Access-Control-Expose-Headers",
            "ETag, x-amz-request-id, Last-Modified",
        ),
    ];
    for (name, value) in answer
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain(fixed)
    {
        if let Some(h) = header(name, value) {
            response.add_header(h);
        }
    }
    // The client may have gone away; nothing to do about it.
    let _ = request.respond(response);
}

/// SubscribeToShard: a refusal is an ordinary JSON error; a success streams events on a thread of its own.
fn subscribe(
    shared: &Arc<Mutex<Shared>>,
    open: &Arc<AtomicUsize>,
    id: u64,
    request: Request,
    body: &str,
) {
    let json = "application/x-amz-json-1.1";
    let Some(slot) = subscription::Slot::take(open) else {
        let answer = ApiResponse::error(&subscription::too_many_open());
        respond(request, answer.status, json, answer.body, id);
        return;
    };
    let answer = {
        let mut state = lock(shared);
        let now = state.clock.now();
        state.world.kinesis(now, "SubscribeToShard", body)
    };
    let Some(subscription_id) = answer.subscription else {
        respond(request, answer.status, json, answer.body, id);
        return;
    };
    // The core accepted the body, so it is a JSON object with these members.
    let parsed = serde_json::from_str::<serde_json::Value>(body).unwrap_or_default();
    let member = |name: &str| parsed[name].as_str().unwrap_or_default().to_string();
    let target = subscription::Target {
        consumer_arn: member("ConsumerARN"),
        shard_id: member("ShardId"),
    };
    subscription::spawn(
        Arc::clone(shared),
        slot,
        subscription_id,
        target,
        request,
        request_id(id),
    );
}

/// Administrative calls for tests and scripts (not AWS APIs):
/// - `POST /_kinesim/advance` with `{"ms": N}`: moves simulated time N ms ahead of the wall clock mapping;
/// - `GET /_kinesim/status`: simulated time, event count, the event-log hash and how many SubscribeToShard
///   streams are open.
fn admin(
    world: &mut World,
    clock: &mut Clock,
    open: &AtomicUsize,
    url: &str,
    body: &str,
) -> (u16, String) {
    match url {
        "/_kinesim/advance" => {
            let ms = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["ms"].as_u64());
            let Some(ms) = ms else {
                return (
                    400,
                    r#"{"message":"send {\"ms\": N} with N a whole number of milliseconds"}"#
                        .into(),
                );
            };
            clock.offset_ms = clock.offset_ms.saturating_add(ms);
            world.advance_to(clock.now());
            (200, status_json(world, open))
        }
        "/_kinesim/status" => {
            world.advance_to(clock.now());
            (200, status_json(world, open))
        }
        _ => (
            404,
            r#"{"message":"unknown admin call; try /_kinesim/status or /_kinesim/advance"}"#.into(),
        ),
    }
}

fn status_json(world: &World, open: &AtomicUsize) -> String {
    serde_json::json!({
        "nowMs": world.now().as_millis(),
        "now": world.now_iso8601(),
        "eventCount": world.event_count(),
        "eventLogHash": world.event_log_hash(),
        "openSubscriptions": open.load(std::sync::atomic::Ordering::SeqCst),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn options_parse_with_defaults_and_clear_refusals() {
        assert_eq!(parse_args(&[]), Ok(ServeOptions::default()));
        let o = parse_args(&args(
            "--port 0 --seed 9 --speed 60 --limits off --host 127.0.0.2",
        ))
        .unwrap();
        assert_eq!(
            (
                o.port,
                o.seed,
                o.speed,
                o.throughput_limits,
                o.host.as_str()
            ),
            (0, 9, 60, false, "127.0.0.2")
        );
        assert!(
            parse_args(&args("--port 70000"))
                .unwrap_err()
                .contains("--port must be 0 to 65535")
        );
        assert!(
            parse_args(&args("--speed 0"))
                .unwrap_err()
                .contains("--speed must be 1 to")
        );
        assert!(
            parse_args(&args("--limits maybe"))
                .unwrap_err()
                .contains("on or off")
        );
        assert!(
            parse_args(&args("--port"))
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            parse_args(&args("--colour red"))
                .unwrap_err()
                .contains("unknown option --colour")
        );
    }
}
