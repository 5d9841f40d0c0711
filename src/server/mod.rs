//! `kinesim serve`: a local HTTP endpoint that speaks the Kinesis and Firehose JSON 1.1 protocol (routed on
//! `X-Amz-Target`), and the read side of the S3 REST API (path-style) over the buckets Firehose writes, so the
//! AWS CLI, boto3 and the AWS SDKs use it as they use AWS (any credentials are accepted). Native only.
//!
//! This is a shell, like the UI: the wall clock enters here and becomes simulated time (`--speed` times real
//! time, plus whatever `POST /_kinesim/advance` added). Each connection has a thread of its own (see [`http`]),
//! which also streams a SubscribeToShard response (see [`subscription`]); the World and the clock sit behind one
//! mutex, so the World still sees one call at a time, in the order the calls take the lock.

mod eventstream;
mod http;
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
use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// Serves until the process is stopped: one thread per connection (see [`http`]).
pub fn serve(options: &ServeOptions) -> Result<(), String> {
    let listener = TcpListener::bind((options.host.as_str(), options.port))
        .map_err(|e| format!("cannot listen on {}:{}: {e}", options.host, options.port))?;
    let address = listener
        .local_addr()
        .map_or_else(|_| "unknown".to_string(), |a| a.to_string());
    let mut config = WorldConfig::with_seed(options.seed);
    config.streams.throughput_limits_default = options.throughput_limits;
    let server = Arc::new(Server {
        shared: Arc::new(Mutex::new(Shared {
            world: World::new(config),
            clock: Clock {
                started: Instant::now(),
                speed: options.speed,
                offset_ms: 0,
            },
        })),
        open_subscriptions: Arc::new(AtomicUsize::new(0)),
        open_connections: Arc::new(AtomicU32::new(0)),
        requests: AtomicU64::new(0),
    });
    start_http_deliveries(&server.shared);
    // The first line says where to connect; tests and scripts read it.
    #[allow(clippy::print_stdout)]
    {
        println!("kinesim listening on http://{address}");
    }
    for stream in listener.incoming() {
        // A failed accept (the client gave up, or file descriptors ran out for a moment) costs that connection.
        let Ok(stream) = stream else { continue };
        let Some(slot) = http::ConnectionSlot::take(&server.open_connections) else {
            refuse_connection(stream);
            continue;
        };
        let server = Arc::clone(&server);
        // If the thread cannot start, the connection is dropped with the closure (the client sees it close).
        let _ = std::thread::Builder::new()
            .name("connection".into())
            .spawn(move || {
                let _slot = slot;
                connection(&server, stream);
            });
    }
    Ok(())
}

/// What every connection's thread shares.
struct Server {
    shared: Arc<Mutex<Shared>>,
    open_subscriptions: Arc<AtomicUsize>,
    open_connections: Arc<AtomicU32>,
    requests: AtomicU64,
}

/// Answers a connection beyond [`http::CONNECTIONS_OPEN_MAX`] with 503 and closes it.
fn refuse_connection(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(1_000)));
    let body = format!(
        r#"{{"__type":"ServiceUnavailable","message":"kinesim serve holds at most {} open connections; close idle ones or retry."}}"#,
        http::CONNECTIONS_OPEN_MAX
    );
    let response = http::Response::new(503, body)
        .header("Content-Type", JSON_1_1)
        .header("Access-Control-Allow-Origin", "*");
    let _ = http::write_response(&mut stream, &response, false, false);
}

/// Serves one connection's requests in order until the client closes it, asks to close it, stays idle past
/// [`http::IDLE_TIMEOUT_MS`], or it carries a SubscribeToShard stream (which ends the connection when it ends).
fn connection(server: &Server, stream: TcpStream) {
    // Responses go out in one write each, and event-stream messages must not wait for more to send.
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(http::IDLE_TIMEOUT_MS)));
    let _ = stream.set_write_timeout(Some(Duration::from_millis(http::WRITE_TIMEOUT_MS)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let read = http::read_request(&mut reader, &mut writer, REQUEST_BODY_BYTES_MAX);
        let id = server.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let request = match read {
            Ok(request) => request,
            Err(http::ReadError::Closed) => return,
            Err(http::ReadError::BodyTooLarge) => {
                let _ = http::write_response(&mut writer, &body_too_large(id), false, false);
                return;
            }
            Err(http::ReadError::Malformed(why)) => {
                let response = http::Response::new(400, format!("{why}\n"))
                    .header("Content-Type", "text/plain");
                let _ = http::write_response(&mut writer, &response, false, false);
                return;
            }
        };
        let keep_alive = request.keep_alive();
        let head_only = request.method == "HEAD";
        let Some(response) = handle(server, id, &request, &mut writer) else {
            // A SubscribeToShard stream was sent and ended: the connection ends with it.
            return;
        };
        // The real date, as AWS sends it (the SDKs correct their clock skew with it).
        let response = response.header("Date", &date_now());
        if http::write_response(&mut writer, &response, keep_alive, head_only).is_err()
            || !keep_alive
        {
            return;
        }
    }
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
            std::thread::sleep(Duration::from_millis(HTTP_DELIVERY_POLL_MS));
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

/// The wall clock's date in the form of HTTP's `Date` header.
fn date_now() -> String {
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    s3::http_date(unix_ms)
}

const JSON_1_1: &str = "application/x-amz-json-1.1";

fn request_id(id: u64) -> String {
    format!("00000000-0000-4000-8000-{id:012x}")
}

/// An AWS JSON 1.1 (or admin JSON) answer with the headers every answer carries.
fn json_response(status: u16, content_type: &str, body: String, id: u64) -> http::Response {
    http::Response::new(status, body)
        .header("Content-Type", content_type)
        .header("x-amzn-RequestId", &request_id(id))
        .header("Access-Control-Allow-Origin", "*")
        .header(
            "Access-Control-Expose-Headers",
            "x-amzn-RequestId, x-amz-id-2",
        )
}

fn api_response(answer: ApiResponse, id: u64) -> http::Response {
    json_response(answer.status, JSON_1_1, answer.body, id)
}

fn body_too_large(id: u64) -> http::Response {
    let error = KinesisError::new(
        ErrorType::SerializationException,
        format!("The request body must be UTF-8 JSON of at most {REQUEST_BODY_BYTES_MAX} bytes."),
    );
    api_response(ApiResponse::error(&error), id)
}

/// Answers one request. `None` when it was a SubscribeToShard whose event stream was written to `out` (the
/// connection then closes).
fn handle(
    server: &Server,
    id: u64,
    request: &http::Request,
    out: &mut TcpStream,
) -> Option<http::Response> {
    let shared = &server.shared;
    if request.method == "OPTIONS" {
        let asked = request
            .header("Access-Control-Request-Headers")
            .unwrap_or("*");
        return Some(
            http::Response::new(200, Vec::new())
                .header("Access-Control-Allow-Origin", "*")
                .header("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
                .header("Access-Control-Allow-Headers", asked)
                .header("Access-Control-Max-Age", "86400"),
        );
    }
    let Ok(body) = std::str::from_utf8(&request.body) else {
        return Some(body_too_large(id));
    };
    let url = request.target.as_str();
    if url.starts_with("/_kinesim/") {
        let (status, answer) = {
            let mut state = lock(shared);
            let Shared { world, clock } = &mut *state;
            admin(world, clock, &server.open_subscriptions, url, body)
        };
        return Some(json_response(status, "application/json", answer, id));
    }
    let target = request.header("X-Amz-Target").unwrap_or("");
    if target.is_empty() && !(request.method == "POST" && url == "/") {
        let answer = {
            let mut state = lock(shared);
            let now = state.clock.now();
            s3::handle(&mut state.world, now, &request.method, url, &request_id(id))
        };
        return Some(s3_response(answer, id));
    }
    let answer = match target.split_once('.') {
        Some((prefix, "SubscribeToShard")) if prefix == TARGET_PREFIX => {
            return subscribe(server, id, request.http_1_1, body, out);
        }
        Some((prefix, operation)) if prefix == TARGET_PREFIX => {
            let mut state = lock(shared);
            let now = state.clock.now();
            state.world.kinesis(now, operation, body)
        }
        Some((prefix, operation)) if prefix == FIREHOSE_TARGET_PREFIX => {
            let mut state = lock(shared);
            let now = state.clock.now();
            state.world.firehose(now, operation, body)
        }
        _ => ApiResponse::error(&KinesisError::new(ErrorType::UnknownOperationException, "")),
    };
    Some(api_response(answer, id))
}

fn s3_response(answer: s3::S3Response, id: u64) -> http::Response {
    let request_id = request_id(id);
    let fixed = [
        ("x-amz-request-id", request_id.as_str()),
        ("Access-Control-Allow-Origin", "*"),
        (
            "Access-Control-Expose-Headers",
            "ETag, x-amz-request-id, Last-Modified",
        ),
    ];
    let headers: Vec<(String, String)> = answer.headers;
    let mut response = http::Response::new(answer.status, answer.body);
    for (name, value) in headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain(fixed)
    {
        response = response.header(name, value);
    }
    response
}

/// SubscribeToShard: a refusal is an ordinary JSON error; a success streams events on this connection until the
/// subscription ends or the client goes away.
fn subscribe(
    server: &Server,
    id: u64,
    http_1_1: bool,
    body: &str,
    out: &mut TcpStream,
) -> Option<http::Response> {
    let Some(slot) = subscription::Slot::take(&server.open_subscriptions) else {
        return Some(api_response(
            ApiResponse::error(&subscription::too_many_open()),
            id,
        ));
    };
    let answer = {
        let mut state = lock(&server.shared);
        let now = state.clock.now();
        state.world.kinesis(now, "SubscribeToShard", body)
    };
    let Some(subscription_id) = answer.subscription else {
        return Some(api_response(answer, id));
    };
    // The core accepted the body, so it is a JSON object with these members.
    let parsed = serde_json::from_str::<serde_json::Value>(body).unwrap_or_default();
    let member = |name: &str| parsed[name].as_str().unwrap_or_default().to_string();
    let target = subscription::Target {
        consumer_arn: member("ConsumerARN"),
        shard_id: member("ShardId"),
    };
    subscription::run(
        &server.shared,
        slot,
        subscription_id,
        &target,
        out,
        http_1_1,
        &request_id(id),
    );
    None
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
        "openSubscriptions": open.load(Ordering::SeqCst),
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
