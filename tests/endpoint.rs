//! `kinesim serve`: the Kinesis JSON 1.1 protocol over HTTP on 127.0.0.1, as the AWS CLI, boto3 and the SDKs
//! speak it. Starts the real binary on a free port and stops it after the test.
#![cfg(not(target_arch = "wasm32"))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

struct Endpoint {
    child: Child,
    address: String,
}

impl Endpoint {
    fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts it with more `serve` options.
    fn start_with(options: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kinesim"))
            .args(["serve", "--port", "0", "--seed", "3"])
            .args(options)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the kinesim binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("it says where it listens");
        let address = line
            .trim()
            .strip_prefix("kinesim listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Endpoint { child, address }
    }

    /// One HTTP/1.1 request; returns (status, headers, body).
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String, String) {
        let mut stream = TcpStream::connect(&self.address).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut text = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.address,
            body.len()
        );
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        text.push_str(body);
        stream.write_all(text.as_bytes()).expect("sends");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("reads");
        let (head, body) = response.split_once("\r\n\r\n").expect("a full response");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        (status, head.to_string(), body.to_string())
    }

    fn kinesis(&self, operation: &str, body: &str) -> (u16, String) {
        let target = format!("Kinesis_20131202.{operation}");
        let (status, _, body) = self.request(
            "POST",
            "/",
            &[
                ("X-Amz-Target", &target),
                ("Content-Type", "application/x-amz-json-1.1"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=any/20260101/us-east-1/kinesis/aws4_request",
                ),
            ],
            body,
        );
        (status, body)
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_endpoint_speaks_kinesis_json_over_http() {
    let endpoint = Endpoint::start();
    let (status, body) =
        endpoint.kinesis("CreateStream", r#"{"StreamName":"http","ShardCount":1}"#);
    assert_eq!((status, body.as_str()), (200, ""));
    let (status, body) = endpoint.kinesis(
        "PutRecord",
        r#"{"StreamName":"http","PartitionKey":"k","Data":"aGk="}"#,
    );
    assert_eq!(status, 400, "the stream is still CREATING: {body}");
    let (status, _, body) = endpoint.request("POST", "/_kinesim/advance", &[], r#"{"ms":10000}"#);
    assert_eq!(status, 200, "{body}");
    let (status, body) = endpoint.kinesis(
        "PutRecord",
        r#"{"StreamName":"http","PartitionKey":"k","Data":"aGk="}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#""ShardId":"shardId-000000000000""#),
        "{body}"
    );
    let (status, body) = endpoint.kinesis(
        "GetShardIterator",
        r#"{"StreamName":"http","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let iterator: serde_json::Value = serde_json::from_str(&body).expect("json");
    let request = serde_json::json!({"ShardIterator": iterator["ShardIterator"]}).to_string();
    let (status, body) = endpoint.kinesis("GetRecords", &request);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""Data":"aGk=""#), "{body}");

    let (status, body) = endpoint.kinesis("DescribeStreamSummary", r#"{"StreamName":"missing"}"#);
    assert_eq!(status, 400);
    assert_eq!(
        body,
        r#"{"__type":"ResourceNotFoundException","message":"Stream missing under account 000000000000 not found."}"#
    );
    let (status, body) = endpoint.kinesis("NoSuchOperation", "{}");
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"__type":"UnknownOperationException"}"#)
    );
}

#[test]
fn browsers_may_call_it_cross_origin() {
    let endpoint = Endpoint::start();
    let (status, head, _) = endpoint.request(
        "OPTIONS",
        "/",
        &[
            ("Origin", "http://127.0.0.1:8080"),
            (
                "Access-Control-Request-Headers",
                "x-amz-target,content-type",
            ),
        ],
        "",
    );
    assert_eq!(status, 200);
    let head = head.to_ascii_lowercase();
    assert!(head.contains("access-control-allow-origin: *"), "{head}");
    assert!(
        head.contains("access-control-allow-headers: x-amz-target,content-type"),
        "{head}"
    );
    let (_, head, _) = endpoint.request(
        "POST",
        "/",
        &[("X-Amz-Target", "Kinesis_20131202.DescribeLimits")],
        "{}",
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/x-amz-json-1.1"),
        "{head}"
    );
}

#[test]
fn bad_arguments_are_refused_with_a_reason() {
    let output = Command::new(env!("CARGO_BIN_EXE_kinesim"))
        .args(["serve", "--speed", "0"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--speed must be 1 to"));
}

/// IEEE CRC32, bit by bit: an implementation independent of the server's table-driven one.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// One decoded event-stream message.
#[derive(Debug)]
struct Message {
    headers: Vec<(String, String)>,
    payload: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).expect("a JSON payload")
    }
}

/// An open SubscribeToShard response, read as raw HTTP/1.1 chunks and decoded message by message.
struct EventStream {
    reader: BufReader<TcpStream>,
    head: String,
    buffered: Vec<u8>,
    ended: bool,
}

impl EventStream {
    fn open(endpoint: &Endpoint, body: &str) -> Self {
        let stream = TcpStream::connect(&endpoint.address).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut writer = stream.try_clone().expect("clone");
        write!(
            writer,
            "POST / HTTP/1.1\r\nHost: {}\r\nX-Amz-Target: Kinesis_20131202.SubscribeToShard\r\n\
             Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{body}",
            endpoint.address,
            body.len()
        )
        .expect("sends");
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("reads the head");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        EventStream {
            reader,
            head: head.to_ascii_lowercase(),
            buffered: Vec::new(),
            ended: false,
        }
    }

    /// Reads one HTTP chunk into the buffer; false at the last (empty) chunk.
    fn read_chunk(&mut self) -> bool {
        let mut size = String::new();
        self.reader.read_line(&mut size).expect("a chunk size");
        let size = usize::from_str_radix(size.trim_end(), 16).expect("hex chunk size");
        let mut data = vec![0; size + 2];
        self.reader.read_exact(&mut data).expect("the chunk");
        assert_eq!(&data[size..], b"\r\n", "a chunk ends with CRLF");
        data.truncate(size);
        self.buffered.extend_from_slice(&data);
        size > 0
    }

    /// The next message, or None when the response ended.
    fn next(&mut self) -> Option<Message> {
        while !self.ended && self.buffered.len() < 12 {
            self.ended = !self.read_chunk();
        }
        if self.buffered.is_empty() && self.ended {
            return None;
        }
        let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let total = be32(&self.buffered[0..4]) as usize;
        let headers_length = be32(&self.buffered[4..8]) as usize;
        assert_eq!(
            be32(&self.buffered[8..12]),
            crc32(&self.buffered[0..8]),
            "prelude CRC"
        );
        while !self.ended && self.buffered.len() < total {
            self.ended = !self.read_chunk();
        }
        let message: Vec<u8> = self.buffered.drain(..total).collect();
        assert_eq!(
            be32(&message[total - 4..]),
            crc32(&message[..total - 4]),
            "message CRC"
        );
        let mut headers = Vec::new();
        let mut at = 12;
        while at < 12 + headers_length {
            let name_length = message[at] as usize;
            let name =
                String::from_utf8(message[at + 1..at + 1 + name_length].to_vec()).expect("utf-8");
            at += 1 + name_length;
            assert_eq!(message[at], 7, "header {name} is a string");
            let value_length = u16::from_be_bytes([message[at + 1], message[at + 2]]) as usize;
            let value =
                String::from_utf8(message[at + 3..at + 3 + value_length].to_vec()).expect("utf-8");
            at += 3 + value_length;
            headers.push((name, value));
        }
        assert_eq!(at, 12 + headers_length, "headers fill their length exactly");
        Some(Message {
            headers,
            payload: message[at..total - 4].to_vec(),
        })
    }

    /// The next message carrying records, skipping heartbeats (bounded).
    fn next_with_records(&mut self) -> Message {
        for _ in 0..100 {
            let message = self.next().expect("more messages");
            if message.json()["Records"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
            {
                return message;
            }
        }
        panic!("no records in 100 messages");
    }
}

#[test]
fn subscribe_to_shard_answers_with_an_aws_event_stream() {
    let endpoint = Endpoint::start();
    let advance = |ms: u64| {
        let (status, _, body) = endpoint.request(
            "POST",
            "/_kinesim/advance",
            &[],
            &format!(r#"{{"ms":{ms}}}"#),
        );
        assert_eq!(status, 200, "{body}");
    };
    endpoint.kinesis("CreateStream", r#"{"StreamName":"efo","ShardCount":1}"#);
    advance(10_000);
    let (_, body) = endpoint.kinesis("DescribeStreamSummary", r#"{"StreamName":"efo"}"#);
    let summary: serde_json::Value = serde_json::from_str(&body).expect("json");
    let stream_arn = summary["StreamDescriptionSummary"]["StreamARN"].clone();
    let request = serde_json::json!({"StreamARN": stream_arn, "ConsumerName": "c"}).to_string();
    let (status, body) = endpoint.kinesis("RegisterStreamConsumer", &request);
    assert_eq!(status, 200, "{body}");
    let consumer: serde_json::Value = serde_json::from_str(&body).expect("json");
    let consumer_arn = consumer["Consumer"]["ConsumerARN"]
        .as_str()
        .expect("arn")
        .to_string();
    advance(10_000);
    let (status, body) = endpoint.kinesis(
        "PutRecord",
        r#"{"StreamName":"efo","PartitionKey":"k","Data":"aGk="}"#,
    );
    assert_eq!(status, 200, "{body}");
    let subscribe = serde_json::json!({
        "ConsumerARN": consumer_arn,
        "ShardId": "shardId-000000000000",
        "StartingPosition": {"Type": "TRIM_HORIZON"},
    })
    .to_string();

    let mut first = EventStream::open(&endpoint, &subscribe);
    assert!(first.head.starts_with("http/1.1 200"), "{}", first.head);
    assert!(
        first
            .head
            .contains("content-type: application/vnd.amazon.eventstream"),
        "{}",
        first.head
    );
    assert!(
        first.head.contains("transfer-encoding: chunked"),
        "{}",
        first.head
    );
    let initial = first.next().expect("the initial response");
    assert_eq!(
        initial.headers,
        [
            (":message-type".to_string(), "event".to_string()),
            (":event-type".to_string(), "initial-response".to_string()),
            (":content-type".to_string(), "application/json".to_string()),
        ]
    );
    assert_eq!(initial.payload, b"{}");
    let event = first.next_with_records();
    assert_eq!(event.header(":message-type"), Some("event"));
    assert_eq!(event.header(":event-type"), Some("SubscribeToShardEvent"));
    assert_eq!(event.header(":content-type"), Some("application/json"));
    let payload = event.json();
    assert_eq!(payload["Records"][0]["Data"], "aGk=");
    assert_eq!(payload["Records"][0]["PartitionKey"], "k");
    assert_eq!(
        payload["ContinuationSequenceNumber"],
        payload["Records"][0]["SequenceNumber"]
    );
    assert_eq!(payload["MillisBehindLatest"], 0);

    // While the stream is open, other calls are answered; a refused SubscribeToShard is a JSON error.
    advance(2_000);
    let (status, body) = endpoint.kinesis("SubscribeToShard", &subscribe);
    assert_eq!(status, 400);
    assert!(
        body.contains(r#""__type":"ResourceInUseException""#),
        "{body}"
    );
    let (status, body) = endpoint.kinesis(
        "SubscribeToShard",
        r#"{"ConsumerARN":"arn:aws:kinesis:us-east-1:000000000000:stream/efo/consumer/none:1","ShardId":"shardId-000000000000","StartingPosition":{"Type":"LATEST"}}"#,
    );
    assert_eq!(status, 400);
    assert!(
        body.contains(r#""__type":"ResourceNotFoundException""#),
        "{body}"
    );

    // More than 5 s later a new subscription takes over: the first stream fails with an exception message.
    advance(6_000);
    let mut second = EventStream::open(&endpoint, &subscribe);
    assert!(second.head.starts_with("http/1.1 200"), "{}", second.head);
    let last = std::iter::from_fn(|| first.next())
        .take(1_000)
        .last()
        .expect("messages until the end");
    assert_eq!(last.header(":message-type"), Some("exception"));
    assert_eq!(
        last.header(":exception-type"),
        Some("ResourceInUseException")
    );
    assert!(
        last.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains(&consumer_arn)),
        "{:?}",
        last.json()
    );
    assert!(first.next().is_none(), "nothing after the exception");

    // After 5 simulated minutes the second ends quietly: only events, then the end of the body.
    assert_eq!(
        second.next().expect("initial").header(":event-type"),
        Some("initial-response")
    );
    advance(300_000);
    let rest: Vec<Message> = std::iter::from_fn(|| second.next()).take(1_000).collect();
    assert!(rest.len() < 1_000, "the stream ends");
    assert!(
        rest.iter()
            .all(|m| m.header(":event-type") == Some("SubscribeToShardEvent")),
        "{rest:?}"
    );
}

#[test]
fn open_subscription_streams_are_capped_and_freed_when_clients_leave() {
    let endpoint = Endpoint::start();
    let advance = |ms: u64| {
        let (status, _, body) = endpoint.request(
            "POST",
            "/_kinesim/advance",
            &[],
            &format!(r#"{{"ms":{ms}}}"#),
        );
        assert_eq!(status, 200, "{body}");
    };
    let open_subscriptions = || {
        let (_, _, body) = endpoint.request("GET", "/_kinesim/status", &[], "");
        let status: serde_json::Value = serde_json::from_str(&body).expect("json");
        status["openSubscriptions"].as_u64().expect("a count")
    };
    endpoint.kinesis("CreateStream", r#"{"StreamName":"cap","ShardCount":4}"#);
    advance(10_000);
    let (_, body) = endpoint.kinesis("DescribeStreamSummary", r#"{"StreamName":"cap"}"#);
    let summary: serde_json::Value = serde_json::from_str(&body).expect("json");
    let stream_arn = summary["StreamDescriptionSummary"]["StreamARN"].clone();
    // 16 consumers x 4 shards = 64 subscriptions; at most 5 consumers may be CREATING at once.
    let mut consumers = Vec::new();
    for i in 0..16 {
        let request = serde_json::json!({"StreamARN": stream_arn, "ConsumerName": format!("c{i}")});
        let (status, body) = endpoint.kinesis("RegisterStreamConsumer", &request.to_string());
        assert_eq!(status, 200, "{body}");
        let consumer: serde_json::Value = serde_json::from_str(&body).expect("json");
        consumers.push(consumer["Consumer"]["ConsumerARN"].clone());
        if i % 5 == 4 || i == 15 {
            advance(10_000);
        }
    }
    let subscribe = |consumer: &serde_json::Value, shard: u32| {
        serde_json::json!({
            "ConsumerARN": consumer,
            "ShardId": format!("shardId-{shard:012}"),
            "StartingPosition": {"Type": "LATEST"},
        })
        .to_string()
    };
    let mut streams = Vec::new();
    for consumer in &consumers {
        for shard in 0..4 {
            let mut stream = EventStream::open(&endpoint, &subscribe(consumer, shard));
            assert!(stream.head.starts_with("http/1.1 200"), "{}", stream.head);
            assert_eq!(
                stream.next().expect("initial").header(":event-type"),
                Some("initial-response")
            );
            streams.push(stream);
        }
    }
    assert_eq!(open_subscriptions(), 64);
    // The 65th is refused before the simulation sees it, with a plain JSON error.
    let other = serde_json::json!({"StreamARN": stream_arn, "ConsumerName": "c16"});
    let (_, body) = endpoint.kinesis("RegisterStreamConsumer", &other.to_string());
    let consumer: serde_json::Value = serde_json::from_str(&body).expect("json");
    advance(10_000);
    let (status, body) = endpoint.kinesis(
        "SubscribeToShard",
        &subscribe(&consumer["Consumer"]["ConsumerARN"], 0),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains(r#""__type":"LimitExceededException""#),
        "{body}"
    );
    assert!(
        body.contains("at most 64 open SubscribeToShard streams"),
        "{body}"
    );

    // Clients hang up: each thread notices at its next write (a heartbeat every 5 simulated seconds).
    drop(streams);
    for _ in 0..20 {
        if open_subscriptions() == 0 {
            break;
        }
        advance(5_000);
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(open_subscriptions(), 0);
    let stream = EventStream::open(
        &endpoint,
        &subscribe(&consumer["Consumer"]["ConsumerARN"], 0),
    );
    assert!(stream.head.starts_with("http/1.1 200"), "{}", stream.head);
}

/// A client connection kept open across requests (HTTP/1.1 keep-alive), as the SDKs' connection pools hold them.
struct KeepAlive {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl KeepAlive {
    fn open(endpoint: &Endpoint) -> Self {
        let stream = TcpStream::connect(&endpoint.address).expect("connects");
        // A hang guard: a read that waits this long fails the test instead of blocking it.
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let writer = stream.try_clone().expect("clone");
        KeepAlive {
            reader: BufReader::new(stream),
            writer,
        }
    }

    /// One Kinesis call on this connection; returns (status, lower-cased head, body).
    fn kinesis(&mut self, operation: &str, body: &str) -> (u16, String, String) {
        write!(
            self.writer,
            "POST / HTTP/1.1\r\nHost: kinesim\r\nX-Amz-Target: Kinesis_20131202.{operation}\r\n\
             Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("sends on the open connection");
        let mut head = String::new();
        loop {
            let mut line = String::new();
            let read = self.reader.read_line(&mut line).expect("reads the head");
            assert!(read > 0, "the server closed a keep-alive connection");
            if line == "\r\n" {
                break;
            }
            head.push_str(&line.to_ascii_lowercase());
        }
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("a Content-Length");
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("the body");
        (status, head, String::from_utf8(body).expect("utf-8"))
    }
}

/// Many keep-alive connections at once, as an SDK's connection pool opens them under concurrent calls: every call
/// is answered, on the connection it was sent on, however many other connections are open and idle. (The HTTP
/// library this endpoint used before, tiny_http 0.12, queued a fifth keep-alive connection behind four busy
/// ones: 5 or more concurrent callers never completed.)
#[test]
fn many_concurrent_keep_alive_connections_are_all_served() {
    const CONNECTIONS: usize = 16;
    const CALLS_PER_CONNECTION: usize = 5;
    const RECORDS_PER_CALL: usize = 100;
    let endpoint = Endpoint::start_with(&["--limits", "off"]);
    let (status, body) =
        endpoint.kinesis("CreateStream", r#"{"StreamName":"many","ShardCount":4}"#);
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = endpoint.request("POST", "/_kinesim/advance", &[], r#"{"ms":10000}"#);
    assert_eq!(status, 200, "{body}");
    let records: Vec<serde_json::Value> = (0..RECORDS_PER_CALL)
        .map(|i| serde_json::json!({"PartitionKey": format!("key-{i}"), "Data": "aGVsbG8="}))
        .collect();
    let put = serde_json::json!({"StreamName": "many", "Records": records}).to_string();

    // Every connection is open (and has been answered once) before any of them sends its calls.
    let mut connections: Vec<KeepAlive> = (0..CONNECTIONS)
        .map(|_| KeepAlive::open(&endpoint))
        .collect();
    for connection in &mut connections {
        let (status, head, body) = connection.kinesis("DescribeLimits", "{}");
        assert_eq!(status, 200, "{body}");
        assert!(head.contains("connection: keep-alive"), "{head}");
    }
    // While all 16 are open and idle, a new connection is served too.
    let (status, body) = endpoint.kinesis("ListStreams", "{}");
    assert_eq!(status, 200, "{body}");

    let start = Arc::new(Barrier::new(CONNECTIONS));
    let (done, finished) = mpsc::channel();
    for (n, mut connection) in connections.into_iter().enumerate() {
        let (start, done, put) = (Arc::clone(&start), done.clone(), put.clone());
        std::thread::spawn(move || {
            start.wait();
            let mut accepted = 0u64;
            for _ in 0..CALLS_PER_CONNECTION {
                let (status, _, body) = connection.kinesis("PutRecords", &put);
                assert_eq!(status, 200, "connection {n}: {body}");
                let out: serde_json::Value = serde_json::from_str(&body).expect("json");
                assert_eq!(out["FailedRecordCount"], 0, "connection {n}: {body}");
                accepted += out["Records"].as_array().map_or(0, |r| r.len() as u64);
            }
            done.send(accepted).expect("the test waits");
        });
    }
    drop(done);
    let mut total = 0;
    for _ in 0..CONNECTIONS {
        // A generous hang guard, not a speed assertion.
        total += finished
            .recv_timeout(Duration::from_secs(120))
            .expect("every connection finishes its calls (none hangs, none panics)");
    }
    assert_eq!(
        total,
        (CONNECTIONS * CALLS_PER_CONNECTION * RECORDS_PER_CALL) as u64
    );
    let (status, body) = endpoint.kinesis("DescribeStreamSummary", r#"{"StreamName":"many"}"#);
    assert_eq!(status, 200, "{body}");
}

/// A fresh directory under the system's temp dir for a `--state` test.
fn state_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "kinesim-endpoint-state-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

impl Endpoint {
    fn status(&self) -> serde_json::Value {
        let (status, _, body) = self.request("GET", "/_kinesim/status", &[], "");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("json")
    }

    fn firehose(&self, operation: &str, body: &str) -> (u16, String) {
        let target = format!("Firehose_20150804.{operation}");
        let (status, _, body) = self.request(
            "POST",
            "/",
            &[
                ("X-Amz-Target", &target),
                ("Content-Type", "application/x-amz-json-1.1"),
            ],
            body,
        );
        (status, body)
    }

    /// Every record of a shard from TRIM_HORIZON, as (sequence number, data).
    fn all_records(&self, stream: &str, shard: &str) -> Vec<(String, String)> {
        let (status, body) = self.kinesis(
            "GetShardIterator",
            &serde_json::json!({"StreamName": stream, "ShardId": shard,
                "ShardIteratorType": "TRIM_HORIZON"})
            .to_string(),
        );
        assert_eq!(status, 200, "{body}");
        let mut iterator =
            serde_json::from_str::<serde_json::Value>(&body).expect("json")["ShardIterator"]
                .clone();
        let mut out = Vec::new();
        loop {
            let request = serde_json::json!({"ShardIterator": iterator}).to_string();
            let (status, body) = self.kinesis("GetRecords", &request);
            assert_eq!(status, 200, "{body}");
            let page: serde_json::Value = serde_json::from_str(&body).expect("json");
            let records = page["Records"].as_array().expect("records");
            for r in records {
                out.push((
                    r["SequenceNumber"].as_str().expect("seq").to_string(),
                    r["Data"].as_str().expect("data").to_string(),
                ));
            }
            if records.is_empty() || page["MillisBehindLatest"] == 0 {
                return out;
            }
            iterator = page["NextShardIterator"].clone();
        }
    }
}

#[test]
fn with_state_a_killed_endpoint_restarts_with_every_acknowledged_change() {
    let dir = state_dir("restart");
    let dir_text = dir.to_str().expect("a UTF-8 temp path");
    let mut endpoint = Endpoint::start_with(&["--state", dir_text, "--limits", "off"]);
    let (status, body) =
        endpoint.kinesis("CreateStream", r#"{"StreamName":"kept","ShardCount":2}"#);
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = endpoint.request("POST", "/_kinesim/advance", &[], r#"{"ms":10000}"#);
    assert_eq!(status, 200, "{body}");
    let mut acknowledged = Vec::new();
    for batch in 0..6 {
        let entries: Vec<serde_json::Value> = (0..400)
            .map(|i| serde_json::json!({"PartitionKey": format!("k{batch}-{i}"), "Data": "aGVsbG8="}))
            .collect();
        let (status, body) = endpoint.kinesis(
            "PutRecords",
            &serde_json::json!({"StreamName": "kept", "Records": entries}).to_string(),
        );
        assert_eq!(status, 200, "{body}");
        let answer: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(answer["FailedRecordCount"], 0, "{body}");
        for r in answer["Records"].as_array().expect("records") {
            acknowledged.push((
                r["ShardId"].as_str().expect("shard").to_string(),
                r["SequenceNumber"].as_str().expect("seq").to_string(),
            ));
        }
    }
    let (status, body) = endpoint.firehose(
        "CreateDeliveryStream",
        r#"{"DeliveryStreamName":"kept-fh","DeliveryStreamType":"DirectPut","ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::kept-bucket","RoleARN":"arn:aws:iam::000000000000:role/firehose"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = endpoint.request("PUT", "/made-by-hand", &[], "");
    assert_eq!(status, 200, "{body}");
    let before = endpoint.status();

    // SIGKILL: nothing runs on the way out.
    endpoint.child.kill().expect("kill");
    endpoint.child.wait().expect("wait");
    drop(endpoint);

    // Other flags now: the stored seed and limits win.
    let endpoint = Endpoint::start_with(&["--state", dir_text, "--seed", "77"]);
    let after = endpoint.status();
    assert!(
        after["nowMs"].as_u64() >= before["nowMs"].as_u64(),
        "simulated time went back: {before} then {after}"
    );
    assert!(after["eventCount"].as_u64() >= before["eventCount"].as_u64());
    // Restarting takes real time, so the clock may have fired a timer since; if none fired, the log is the same.
    if after["eventCount"] == before["eventCount"] {
        assert_eq!(after["eventLogHash"], before["eventLogHash"]);
    }
    let (status, body) = endpoint.kinesis("ListStreams", "{}");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""kept""#), "{body}");
    let mut stored = Vec::new();
    for shard in ["shardId-000000000000", "shardId-000000000001"] {
        for (seq, data) in endpoint.all_records("kept", shard) {
            assert_eq!(data, "aGVsbG8=");
            stored.push((shard.to_string(), seq));
        }
    }
    acknowledged.sort();
    stored.sort();
    assert_eq!(stored.len(), 2_400);
    assert_eq!(
        stored, acknowledged,
        "every acknowledged record, same sequence numbers"
    );
    let (status, body) = endpoint.firehose("ListDeliveryStreams", "{}");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("kept-fh"), "{body}");
    let (status, _, body) = endpoint.request("GET", "/", &[], "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<Name>made-by-hand</Name>"), "{body}");
    // Limits stay off as stored (not the default `on`): 1,000 records in one call to one shard pass.
    let entries: Vec<serde_json::Value> = (0..500)
        .map(|_| serde_json::json!({"PartitionKey": "same", "Data": "aGVsbG8="}))
        .collect();
    for _ in 0..3 {
        let (status, body) = endpoint.kinesis(
            "PutRecords",
            &serde_json::json!({"StreamName": "kept", "Records": entries}).to_string(),
        );
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(r#""FailedRecordCount":0"#), "{body}");
    }
    drop(endpoint);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn with_state_a_corrupt_snapshot_stops_startup_with_a_reason() {
    let dir = state_dir("corrupt");
    let dir_text = dir.to_str().expect("a UTF-8 temp path");
    {
        let endpoint = Endpoint::start_with(&["--state", dir_text]);
        let (status, body) =
            endpoint.kinesis("CreateStream", r#"{"StreamName":"s","ShardCount":1}"#);
        assert_eq!(status, 200, "{body}");
    }
    let snapshot = dir.join("snapshot.bin");
    let mut bytes = std::fs::read(&snapshot).expect("a snapshot was stored");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&snapshot, &bytes).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_kinesim"))
        .args(["serve", "--port", "0", "--state", dir_text])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "it never listened");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot restore --state") && stderr.contains("checksum mismatch"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&snapshot).expect("still there"),
        bytes,
        "it left the damaged state as it was"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
