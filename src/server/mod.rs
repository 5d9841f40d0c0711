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
pub mod state;
mod subscription;

use kinesim::api::ApiResponse;
use kinesim::api::firehose::TARGET_PREFIX as FIREHOSE_TARGET_PREFIX;
use kinesim::api::kinesis::TARGET_PREFIX;
use kinesim::firehose::FirehoseError;
use kinesim::firehose::http_endpoint::Transport;
use kinesim::firehose::s3::S3Error;
use kinesim::firehose::service::PendingHttpRequest;
use kinesim::persist::Journaled;
use kinesim::sim::SimTime;
use kinesim::streams::{ErrorType, KinesisError};
use kinesim::{World, WorldConfig};
use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
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
    /// Directory the run is kept in (`--state`), so a restart continues it; `None` keeps it in memory only.
    pub state_dir: Option<PathBuf>,
    /// A PEM file of CA certificates `https://` HTTP endpoint destinations are trusted with, besides the Mozilla
    /// roots (`--ca-file`; the environment variable `KINESIM_CA_FILE` does the same).
    pub ca_file: Option<PathBuf>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            host: "127.0.0.1".into(),
            port: 4567,
            seed: 1,
            speed: 1,
            throughput_limits: true,
            state_dir: None,
            ca_file: None,
        }
    }
}

/// Parses `serve` arguments: `--host H --port P --seed S --speed X --limits on|off --state DIR --ca-file PEM`.
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
            "--state" => {
                if value.is_empty() {
                    return Err("--state needs a directory".into());
                }
                options.state_dir = Some(PathBuf::from(value));
            }
            "--ca-file" => {
                if value.is_empty() {
                    return Err("--ca-file needs a PEM file".into());
                }
                options.ca_file = Some(PathBuf::from(value));
            }
            other => {
                return Err(format!(
                    "unknown option {other}; expected --host, --port, --seed, --speed, --limits, --state or --ca-file"
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

/// The endpoint's world: kept in memory only, or journaled and committed to a `--state` directory. Reads go
/// through `Deref`; every change goes through a method here, so a stored run journals all of them.
enum Engine {
    /// No `--state`: a plain world (nothing journaled, nothing kept).
    Memory(Box<World>),
    /// `--state DIR`: every input journaled, committed to the directory by [`Engine::store`].
    Stored {
        world: Box<Journaled>,
        store: state::FileStore,
    },
}

impl std::ops::Deref for Engine {
    type Target = World;

    fn deref(&self) -> &World {
        match self {
            Engine::Memory(world) => world,
            Engine::Stored { world, .. } => world,
        }
    }
}

impl Engine {
    fn kinesis(&mut self, now: SimTime, operation: &str, body: &str) -> ApiResponse {
        match self {
            Engine::Memory(world) => world.kinesis(now, operation, body),
            Engine::Stored { world, .. } => world.kinesis(now, operation, body),
        }
    }

    fn firehose(&mut self, now: SimTime, operation: &str, body: &str) -> ApiResponse {
        match self {
            Engine::Memory(world) => world.firehose(now, operation, body),
            Engine::Stored { world, .. } => {
                world.call(now, &format!("{FIREHOSE_TARGET_PREFIX}.{operation}"), body)
            }
        }
    }

    fn advance_to(&mut self, now: SimTime) {
        match self {
            Engine::Memory(world) => {
                world.advance_to(now);
            }
            Engine::Stored { world, .. } => {
                world.advance_to(now);
            }
        }
    }

    fn poll_http_request(&mut self) -> Option<PendingHttpRequest> {
        match self {
            Engine::Memory(world) => world.poll_http_request(),
            Engine::Stored { world, .. } => world.poll_http_request(),
        }
    }

    fn complete_http_request(
        &mut self,
        now: SimTime,
        request_id: &str,
        outcome: &Transport,
    ) -> Result<(), FirehoseError> {
        match self {
            Engine::Memory(world) => world.complete_http_request(now, request_id, outcome),
            Engine::Stored { world, .. } => world.complete_http_request(now, request_id, outcome),
        }
    }

    fn kinesis_subscription_events(
        &mut self,
        now: SimTime,
        subscription: u64,
    ) -> Result<kinesim::api::kinesis::SubscriptionEvents, KinesisError> {
        match self {
            Engine::Memory(world) => world.kinesis_subscription_events(now, subscription),
            Engine::Stored { world, .. } => world.kinesis_subscription_events(now, subscription),
        }
    }

    fn s3_create_bucket(&mut self, now: SimTime, bucket: &str) -> Result<(), S3Error> {
        match self {
            Engine::Memory(world) => world
                .firehose_service_mut()
                .s3_mut()
                .create_bucket(now, bucket),
            Engine::Stored { world, .. } => world.s3_create_bucket(now, bucket),
        }
    }

    /// With `--state`: commits what changed to the directory (with a snapshot when the journal has grown long).
    /// Called before a call's response is sent, so whatever a client was told is stored. On failure nothing is
    /// marked stored: the next call's commit carries it again.
    fn store(&mut self) -> Result<(), String> {
        let Engine::Stored { world, store } = self else {
            return Ok(());
        };
        if !world.has_uncommitted() {
            return Ok(());
        }
        let (commit, receipt) = world.prepare_commit(world.wants_snapshot());
        let snapshot_error = receipt.snapshot_error().cloned();
        if !commit.is_empty() {
            store
                .commit(&commit)
                .map_err(|e| format!("cannot write to {}: {e}", store.dir().display()))?;
        }
        world.committed(receipt);
        match snapshot_error {
            // The journal landed in the snapshot's place: the call is stored, the operator hears why replay grows.
            Some(e) if e.journal_saved() => {
                eprintln!("kinesim serve: {}: {e}", store.dir().display());
                Ok(())
            }
            Some(e) => Err(format!("{}: {e}", store.dir().display())),
            None => Ok(()),
        }
    }
}

/// What the request loop and the subscription threads share.
struct Shared {
    world: Engine,
    clock: Clock,
}

/// The world `serve` starts from: a fresh one, or with `--state` the run the directory holds (whose seed and
/// limits win over the flags), committed once so the directory has its first snapshot.
fn start_world(options: &ServeOptions) -> Result<Engine, String> {
    let fresh = |meta: state::StateMeta| {
        let mut config = WorldConfig::with_seed(meta.seed);
        config.streams.throughput_limits_default = meta.throughput_limits;
        World::new(config)
    };
    let asked = state::StateMeta {
        seed: options.seed,
        throughput_limits: options.throughput_limits,
    };
    let Some(dir) = &options.state_dir else {
        return Ok(Engine::Memory(Box::new(fresh(asked))));
    };
    let (world, store) = match state::FileStore::open(dir, asked)? {
        state::Opened::Fresh(store) => (Journaled::new(fresh(asked)), store),
        state::Opened::Existing(store, meta, stored) => {
            let world = Journaled::restore(&stored, fresh(meta)).map_err(|e| {
                format!(
                    "cannot restore --state {}: {e}. kinesim serve will not overwrite it: move it aside or \
                     pick another directory",
                    dir.display()
                )
            })?;
            eprintln!(
                "kinesim: restored the run in {} at simulated {} (seed {}, limits {}; the stored seed and limits \
                 win over --seed and --limits)",
                dir.display(),
                world.now_iso8601(),
                meta.seed,
                if meta.throughput_limits { "on" } else { "off" },
            );
            (world, store)
        }
    };
    let mut engine = Engine::Stored {
        world: Box::new(world),
        store,
    };
    engine.store()?;
    Ok(engine)
}

/// The 500 answer to a call whose change could not be stored.
fn not_stored(why: &str, id: u64) -> http::Response {
    let error = KinesisError::new(
        ErrorType::InternalFailure,
        format!(
            "The change was applied but could not be stored ({why}); it is stored with the next call that succeeds."
        ),
    );
    api_response(ApiResponse::error(&error), id)
}

/// Locks the shared state. A panic while it was held (a bug) leaves the World as the panicking call left it;
/// serving on beats taking the whole endpoint down.
fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves until the process is stopped: one thread per connection (see [`http`]).
pub fn serve(options: &ServeOptions) -> Result<(), String> {
    if let Some(file) = &options.ca_file {
        http_client::install_ca_file(file)?;
    }
    let listener = TcpListener::bind((options.host.as_str(), options.port))
        .map_err(|e| format!("cannot listen on {}:{}: {e}", options.host, options.port))?;
    let address = listener
        .local_addr()
        .map_or_else(|_| "unknown".to_string(), |a| a.to_string());
    let world = start_world(options)?;
    // Simulated time continues from where a restored run stopped; it never goes back.
    let offset_ms = world.now().as_millis();
    let server = Arc::new(Server {
        shared: Arc::new(Mutex::new(Shared {
            world,
            clock: Clock {
                started: Instant::now(),
                speed: options.speed,
                offset_ms,
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
        let (status, answer, stored) = {
            let mut state = lock(shared);
            let Shared { world, clock } = &mut *state;
            let (status, answer) = admin(world, clock, &server.open_subscriptions, url, body);
            (status, answer, world.store())
        };
        if let Err(why) = stored {
            return Some(not_stored(&why, id));
        }
        return Some(json_response(status, "application/json", answer, id));
    }
    let target = request.header("X-Amz-Target").unwrap_or("");
    if target.is_empty() && !(request.method == "POST" && url == "/") {
        let (answer, stored) = {
            let mut state = lock(shared);
            let now = state.clock.now();
            let answer = s3::handle(&mut state.world, now, &request.method, url, &request_id(id));
            (answer, state.world.store())
        };
        if let Err(why) = stored {
            return Some(not_stored(&why, id));
        }
        return Some(s3_response(answer, id));
    }
    let answer = match target.split_once('.') {
        Some((prefix, "SubscribeToShard")) if prefix == TARGET_PREFIX => {
            return subscribe(server, id, request.http_1_1, body, out);
        }
        Some((prefix, operation)) if prefix == TARGET_PREFIX => {
            let mut state = lock(shared);
            let now = state.clock.now();
            let answer = state.world.kinesis(now, operation, body);
            if let Err(why) = state.world.store() {
                return Some(not_stored(&why, id));
            }
            answer
        }
        Some((prefix, operation)) if prefix == FIREHOSE_TARGET_PREFIX => {
            let mut state = lock(shared);
            let now = state.clock.now();
            let answer = state.world.firehose(now, operation, body);
            if let Err(why) = state.world.store() {
                return Some(not_stored(&why, id));
            }
            answer
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
        let answer = state.world.kinesis(now, "SubscribeToShard", body);
        if let Err(why) = state.world.store() {
            return Some(not_stored(&why, id));
        }
        answer
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
    world: &mut Engine,
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
        assert_eq!(
            parse_args(&args("--state /tmp/run")).unwrap().state_dir,
            Some(PathBuf::from("/tmp/run"))
        );
        assert!(
            parse_args(&args("--colour red"))
                .unwrap_err()
                .contains("unknown option --colour")
        );
    }
}
