//! The Firehose HTTP endpoint destination end to end: a real HTTP server on 127.0.0.1 (std `TcpListener` in a
//! thread, a free port), the native shell's client performing the requests the pure [`HttpDelivery`] asks for,
//! simulated time for the retry schedule, and the `http-endpoint-failed` documents at the end.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../src/server/http_client.rs"]
#[allow(dead_code)]
mod http_client;

use kinesim::firehose::error_record::ErrorRecord;
use kinesim::firehose::gzip;
use kinesim::firehose::http_endpoint::{
    CODE_DESTINATION_EXCEPTION, CODE_INVALID_RESPONSE, ContentEncoding, DeliveryRecord,
    DeliveryStep, EndpointConfig, HttpDelivery, Transport, backoff_base_ms, new_request_id,
};
use kinesim::sim::{DisplayEpoch, SimRng, SimTime};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;

/// How the test server answers one request.
#[derive(Clone, Debug)]
enum Answer {
    /// 200 with the request id echoed, as a correct endpoint does.
    Ok,
    /// This status with a Firehose-style error body.
    Status(u16),
    /// 200 with a different request id.
    WrongRequestId,
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Starts a server that answers the scripted requests in order, then stops. Returns its URL and a receiver of
/// what it saw.
fn serve(answers: Vec<Answer>) -> (String, mpsc::Receiver<Seen>, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local addr").port();
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        for answer in answers {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
            let mut request_line = String::new();
            reader.read_line(&mut request_line).expect("request line");
            let mut headers = Vec::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("header");
                let line = line.trim_end().to_string();
                if line.is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        length = v.trim().parse().expect("length");
                    }
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).expect("body");
            let seen = Seen {
                request_line: request_line.trim_end().to_string(),
                headers,
                body,
            };
            let request_id = seen
                .header("X-Amz-Firehose-Request-Id")
                .unwrap_or("")
                .to_string();
            let (status, reason, body) = match answer {
                Answer::Ok => (
                    200,
                    "OK",
                    format!("{{\"requestId\":\"{request_id}\",\"timestamp\":1767225600000}}"),
                ),
                Answer::Status(code) => (
                    code,
                    "Error",
                    format!(
                        "{{\"requestId\":\"{request_id}\",\"timestamp\":1767225600000,\"errorMessage\":\"no\"}}"
                    ),
                ),
                Answer::WrongRequestId => (
                    200,
                    "OK",
                    "{\"requestId\":\"not-the-one\",\"timestamp\":1767225600000}".to_string(),
                ),
            };
            tx.send(seen).expect("report");
            let mut stream = stream;
            let response = format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(response.as_bytes()).expect("answer");
        }
    });
    (format!("http://127.0.0.1:{port}/firehose"), rx, handle)
}

fn records() -> Vec<DeliveryRecord> {
    vec![
        DeliveryRecord {
            data: b"{\"n\":1}".to_vec(),
            arrival_unix_ms: 1_767_225_600_100,
        },
        DeliveryRecord {
            data: b"{\"n\":2}".to_vec(),
            arrival_unix_ms: 1_767_225_600_200,
        },
    ]
}

const ARN: &str = "arn:aws:firehose:us-east-1:000000000000:deliverystream/to-http";

/// Runs a delivery to completion on simulated time; returns the final step and the instants of every attempt.
fn drive(delivery: &mut HttpDelivery, rng: &mut SimRng) -> (DeliveryStep, Vec<SimTime>) {
    let mut now = SimTime::from_millis(5_000);
    let mut attempts = Vec::new();
    loop {
        attempts.push(now);
        let request = delivery.request(now, DisplayEpoch::DEFAULT);
        let outcome = http_client::perform(&request);
        match delivery.handle(now, DisplayEpoch::DEFAULT, &outcome, rng) {
            DeliveryStep::RetryAt(t) => {
                assert!(t > now);
                now = t;
            }
            done => return (done, attempts),
        }
        assert!(attempts.len() < 100, "runaway retries");
    }
}

fn delivery(url: &str, retry_duration_seconds: u32, rng: &mut SimRng) -> HttpDelivery {
    let mut config = EndpointConfig::new(url, ARN);
    config.access_key = Some("secret-key".into());
    config.common_attributes = vec![("team".into(), "data".into())];
    config.retry_duration_seconds = retry_duration_seconds;
    HttpDelivery::new(config, new_request_id(rng), records())
}

#[test]
fn answered_200_delivers_in_the_documented_format() {
    let (url, seen, server) = serve(vec![Answer::Ok]);
    let mut rng = SimRng::new(11);
    let mut d = delivery(&url, 300, &mut rng);
    let (step, _) = drive(&mut d, &mut rng);
    assert_eq!(step, DeliveryStep::Delivered { attempts: 1 });
    let request = seen.recv().expect("one request");
    server.join().expect("server thread");
    assert_eq!(request.request_line, "POST /firehose HTTP/1.1");
    assert_eq!(request.header("Content-Type"), Some("application/json"));
    assert_eq!(
        request.header("X-Amz-Firehose-Protocol-Version"),
        Some("1.0")
    );
    assert_eq!(
        request.header("X-Amz-Firehose-Request-Id"),
        Some(d.request_id())
    );
    assert_eq!(
        request.header("X-Amz-Firehose-Access-Key"),
        Some("secret-key")
    );
    assert_eq!(request.header("X-Amz-Firehose-Source-Arn"), Some(ARN));
    assert_eq!(
        request.header("X-Amz-Firehose-Common-Attributes"),
        Some("{\"commonAttributes\":{\"team\":\"data\"}}")
    );
    assert_eq!(request.header("Content-Encoding"), None);
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON body");
    assert_eq!(body["requestId"], d.request_id());
    assert_eq!(body["timestamp"], 1_767_225_605_000u64);
    assert_eq!(body["records"][0]["data"], "eyJuIjoxfQ==");
    assert_eq!(body["records"][1]["data"], "eyJuIjoyfQ==");
}

#[test]
fn gzip_content_encoding_sends_real_gzip() {
    let (url, seen, server) = serve(vec![Answer::Ok]);
    let mut rng = SimRng::new(12);
    let mut d = delivery(&url, 300, &mut rng);
    let mut config = d.config().clone();
    config.content_encoding = ContentEncoding::Gzip;
    d = HttpDelivery::new(config, d.request_id().to_string(), records());
    let (step, _) = drive(&mut d, &mut rng);
    assert_eq!(step, DeliveryStep::Delivered { attempts: 1 });
    let request = seen.recv().expect("one request");
    server.join().expect("server thread");
    assert_eq!(request.header("Content-Encoding"), Some("gzip"));
    let plain = gzip::decompress(&request.body, 1_000_000).expect("gzip body");
    let body: serde_json::Value = serde_json::from_slice(&plain).expect("JSON body");
    assert_eq!(body["requestId"], d.request_id());
}

#[test]
fn answered_500_then_200_retries_once_after_about_a_second_with_the_same_request_id() {
    let (url, seen, server) = serve(vec![Answer::Status(500), Answer::Ok]);
    let mut rng = SimRng::new(13);
    let mut d = delivery(&url, 300, &mut rng);
    let (step, attempts) = drive(&mut d, &mut rng);
    assert_eq!(step, DeliveryStep::Delivered { attempts: 2 });
    let first = seen.recv().expect("first request");
    let second = seen.recv().expect("second request");
    server.join().expect("server thread");
    assert_eq!(
        first.header("X-Amz-Firehose-Request-Id"),
        second.header("X-Amz-Firehose-Request-Id")
    );
    let gap = attempts[1].as_millis() - attempts[0].as_millis();
    assert!(
        (850..=1_150).contains(&gap),
        "first back-off {gap} ms is 1 s +-15%"
    );
}

#[test]
fn answered_413_is_permanent_and_not_sent_to_the_error_bucket() {
    let (url, _seen, server) = serve(vec![Answer::Status(413)]);
    let mut rng = SimRng::new(14);
    let mut d = delivery(&url, 300, &mut rng);
    let (step, attempts) = drive(&mut d, &mut rng);
    server.join().expect("server thread");
    assert_eq!(attempts.len(), 1, "413 is permanent: no retry");
    let DeliveryStep::Discarded(docs) = step else {
        panic!("413 discards the batch, got {step:?}");
    };
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].error_code, CODE_DESTINATION_EXCEPTION);
    assert!(
        docs[0].error_message.starts_with(
            "The following response was received from the endpoint destination. 413: "
        ),
        "{}",
        docs[0].error_message
    );
    assert_eq!(docs[0].attempts_made, 1);
    assert_eq!(docs[0].raw_bytes(), b"{\"n\":1}");
    assert_eq!(docs[1].arrival_timestamp, 1_767_225_600_200);
    assert_eq!(docs[0].attempt_ending_timestamp, 1_767_225_605_000);
}

#[test]
fn answered_500_until_the_retry_duration_ends_goes_to_the_error_prefix() {
    // 5 s of retry budget: back-offs of about 1 and 2 s fit, the next (4 s) does not: three attempts.
    let (url, _seen, server) = serve(vec![Answer::Status(500); 3]);
    let mut rng = SimRng::new(17);
    let mut d = delivery(&url, 5, &mut rng);
    let (step, attempts) = drive(&mut d, &mut rng);
    server.join().expect("server thread");
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    let DeliveryStep::Failed(docs) = step else {
        panic!("must go to the error prefix, got {step:?}");
    };
    assert_eq!(docs[0].error_code, CODE_DESTINATION_EXCEPTION);
    assert!(
        docs[0].error_message.contains("500: {"),
        "{}",
        docs[0].error_message
    );
    assert!(docs[0].error_message.contains("\"errorMessage\":\"no\""));
    assert_eq!(docs[0].attempts_made, 3);
}

#[test]
fn wrong_request_id_is_retried_within_the_retry_duration_then_fails() {
    // 20 s of retry budget: back-offs of about 1, 2, 4 and 8 s fit (15 s +-15%), the next (16 s) does not.
    let answers = vec![Answer::WrongRequestId; 5];
    let (url, _seen, server) = serve(answers);
    let mut rng = SimRng::new(15);
    let mut d = delivery(&url, 20, &mut rng);
    let (step, attempts) = drive(&mut d, &mut rng);
    server.join().expect("server thread");
    assert_eq!(attempts.len(), 5, "{attempts:?}");
    for (i, pair) in attempts.windows(2).enumerate() {
        let gap = pair[1].as_millis() - pair[0].as_millis();
        let base = backoff_base_ms(u32::try_from(i + 1).expect("small"));
        assert!(
            gap >= base * 850 / 1_000 && gap <= base * 1_150 / 1_000,
            "back-off {i}: {gap} ms vs base {base} ms"
        );
    }
    assert!(d.backoff_spent_ms() <= 20_000);
    let DeliveryStep::Failed(docs) = step else {
        panic!("must give up, got {step:?}");
    };
    let last = attempts.last().expect("attempts").as_millis();
    for doc in &docs {
        assert_eq!(doc.error_code, CODE_INVALID_RESPONSE);
        assert!(doc.error_message.starts_with(
            "The response received from the specified endpoint is invalid. Contact the owner of the endpoint to \
             resolve the issue. Response for request "
        ));
        assert!(doc.error_message.ends_with("Raw response received: 200 {\"requestId\":\"not-the-one\",\"timestamp\":1767225600000}"), "{}", doc.error_message);
        assert_eq!(doc.attempts_made, 5);
        assert_eq!(
            doc.attempt_ending_timestamp,
            DisplayEpoch::DEFAULT.unix_ms + last
        );
    }
    // The documents parse back as the error prefix's JSON lines.
    let body = kinesim::firehose::error_record::to_object_body(&docs);
    let lines: Vec<ErrorRecord> = String::from_utf8(body)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines, docs);
}

#[test]
fn refused_and_unresolvable_connections_are_reported_not_panicked() {
    // A port that was free a moment ago: nothing listens there now.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut rng = SimRng::new(16);
    let d = delivery(&format!("http://127.0.0.1:{port}/"), 0, &mut rng);
    let outcome = http_client::perform(&d.request(SimTime::ZERO, DisplayEpoch::DEFAULT));
    assert!(
        matches!(outcome, Transport::ConnectionFailed(_)),
        "{outcome:?}"
    );
    // https:// is spoken (tests/http_client_tls.rs); a host that does not resolve is a failed connection.
    let https = delivery("https://example.invalid/", 0, &mut rng);
    let outcome = http_client::perform(&https.request(SimTime::ZERO, DisplayEpoch::DEFAULT));
    assert!(
        matches!(outcome, Transport::ConnectionFailed(_)),
        "{outcome:?}"
    );
}

// ----- Through the World: a delivery stream with an HttpEndpointDestinationConfiguration. -----

mod through_the_world {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use kinesim::firehose::http_endpoint::backoff_base_ms;
    use kinesim::firehose::metrics::FirehoseMetric;
    use kinesim::{EventKind, World, WorldConfig};
    use serde_json::{Value, json};

    const ROLE: &str = "arn:aws:iam::000000000000:role/firehose";

    fn call(w: &mut World, op: &str, body: Value) -> Value {
        let now = w.now();
        let r = w.firehose(now, op, &body.to_string());
        assert_eq!(r.status, 200, "{op}: {}", r.body);
        serde_json::from_str(&r.body).unwrap_or(Value::Null)
    }

    /// A world with delivery stream `web` to `url`, ACTIVE, with two records put and flushed (interval 0).
    fn world_delivering_to(url: &str, retry_s: u32) -> World {
        let mut w = World::new(WorldConfig::with_seed(7));
        call(
            &mut w,
            "CreateDeliveryStream",
            json!({
                "DeliveryStreamName": "web",
                "HttpEndpointDestinationConfiguration": {
                    "EndpointConfiguration": {"Url": url, "Name": "test", "AccessKey": "secret-key"},
                    "RequestConfiguration": {"ContentEncoding": "NONE",
                        "CommonAttributes": [{"AttributeName": "team", "AttributeValue": "data"}]},
                    "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
                    "RetryOptions": {"DurationInSeconds": retry_s},
                    "S3BackupMode": "FailedDataOnly",
                    "S3Configuration": {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::backup"},
                },
            }),
        );
        w.advance_to(SimTime::from_millis(10_000));
        let records: Vec<Value> = ["{\"n\":1}", "{\"n\":2}"]
            .iter()
            .map(|d| json!({"Data": STANDARD.encode(d)}))
            .collect();
        call(
            &mut w,
            "PutRecordBatch",
            json!({"DeliveryStreamName": "web", "Records": records}),
        );
        w
    }

    /// Performs every pending request with the native client until none is left, advancing simulated time to each
    /// retry. Returns the instants (ms) of the attempts and their request ids.
    fn run(w: &mut World) -> Vec<(u64, String)> {
        let mut attempts = Vec::new();
        loop {
            if let Some(p) = w.poll_http_request() {
                attempts.push((w.now().as_millis(), p.request_id.clone()));
                let outcome = http_client::perform(&p.request);
                let now = w.now();
                w.complete_http_request(now, &p.request_id, &outcome)
                    .expect("pending");
                continue;
            }
            match w.firehose_service().next_http_due() {
                Some(t) => {
                    w.advance_to(t);
                }
                None => return attempts,
            }
            assert!(attempts.len() < 100, "runaway retries");
        }
    }

    fn error_objects(w: &World) -> Vec<(String, Vec<u8>)> {
        w.firehose_service()
            .s3()
            .bucket("backup")
            .map(|b| {
                b.objects
                    .iter()
                    .map(|(k, o)| (k.clone(), o.body.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn firehose_log(w: &World) -> Vec<String> {
        w.events()
            .filter_map(|e| match &e.kind {
                EventKind::Firehose { what, .. } => Some(what.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn answered_200_delivers_and_counts() {
        let (url, seen, server) = serve(vec![Answer::Ok]);
        let mut w = world_delivering_to(&url, 300);
        let attempts = run(&mut w);
        assert_eq!(attempts.len(), 1);
        let request = seen.recv().expect("one request");
        server.join().expect("server thread");
        assert_eq!(
            request.header("X-Amz-Firehose-Request-Id"),
            Some(attempts[0].1.as_str())
        );
        assert_eq!(
            request.header("X-Amz-Firehose-Access-Key"),
            Some("secret-key")
        );
        assert_eq!(
            request.header("X-Amz-Firehose-Source-Arn"),
            Some("arn:aws:firehose:us-east-1:000000000000:deliverystream/web")
        );
        let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
        assert_eq!(body["records"][0]["data"], "eyJuIjoxfQ==");
        assert_eq!(body["records"][1]["data"], "eyJuIjoyfQ==");
        let f = w.firehose_service();
        assert_eq!(
            f.metric_total("web", FirehoseMetric::DeliveryToHttpEndpointSuccess),
            1
        );
        assert_eq!(
            f.metric_total("web", FirehoseMetric::DeliveryToHttpEndpointRecords),
            2
        );
        assert_eq!(
            f.metric_total("web", FirehoseMetric::DeliveryToHttpEndpointBytes),
            14
        );
        assert!(error_objects(&w).is_empty());
        let log = firehose_log(&w);
        assert_eq!(
            log,
            ["flushed", "HTTP request", "delivered to HTTP endpoint"],
            "{log:?}"
        );
        // DescribeDeliveryStream shows the HTTP endpoint destination.
        let d = call(
            &mut w,
            "DescribeDeliveryStream",
            json!({"DeliveryStreamName": "web"}),
        );
        let h = &d["DeliveryStreamDescription"]["Destinations"][0]["HttpEndpointDestinationDescription"];
        assert_eq!(h["EndpointConfiguration"]["Url"], url.as_str());
        assert_eq!(h["EndpointConfiguration"]["Name"], "test");
        assert!(h["EndpointConfiguration"].get("AccessKey").is_none());
        assert_eq!(h["BufferingHints"]["SizeInMBs"], 1);
        assert_eq!(h["RetryOptions"]["DurationInSeconds"], 300);
        assert_eq!(h["S3BackupMode"], "FailedDataOnly");
        assert_eq!(
            h["S3DestinationDescription"]["BucketARN"],
            "arn:aws:s3:::backup"
        );
    }

    #[test]
    fn answered_500_then_200_retries_with_the_same_request_id_after_the_back_off() {
        let (url, seen, server) = serve(vec![Answer::Status(500), Answer::Ok]);
        let mut w = world_delivering_to(&url, 300);
        let attempts = run(&mut w);
        server.join().expect("server thread");
        let first = seen.recv().expect("first");
        let second = seen.recv().expect("second");
        assert_eq!(attempts.len(), 2);
        assert_eq!(attempts[0].1, attempts[1].1);
        assert_eq!(
            first.header("X-Amz-Firehose-Request-Id"),
            second.header("X-Amz-Firehose-Request-Id")
        );
        let gap = attempts[1].0 - attempts[0].0;
        let base = backoff_base_ms(1);
        assert!(
            gap >= base * 850 / 1000 && gap <= base * 1150 / 1000,
            "{gap}"
        );
        assert!(error_objects(&w).is_empty());
        assert_eq!(
            firehose_log(&w),
            [
                "flushed",
                "HTTP request",
                "HTTP retry",
                "HTTP request",
                "delivered to HTTP endpoint"
            ]
        );
        // Each attempt's body carries its own timestamp.
        let t1: Value = serde_json::from_slice(&first.body).expect("JSON");
        let t2: Value = serde_json::from_slice(&second.body).expect("JSON");
        assert_eq!(
            t2["timestamp"].as_u64().unwrap_or(0) - t1["timestamp"].as_u64().unwrap_or(0),
            gap
        );
    }

    #[test]
    fn answered_500_until_the_retry_duration_ends_goes_to_http_endpoint_failed() {
        // 1 s, 2 s, 4 s, 8 s back-offs fit in 20 s (jitter at most +15%: 17.25 s); the fifth (16 s) does not.
        let (url, _seen, server) = serve(vec![Answer::Status(500); 5]);
        let mut w = world_delivering_to(&url, 20);
        let attempts = run(&mut w);
        server.join().expect("server thread");
        assert_eq!(attempts.len(), 5);
        for (i, pair) in attempts.windows(2).enumerate() {
            let gap = pair[1].0 - pair[0].0;
            let base = backoff_base_ms(u32::try_from(i + 1).unwrap_or(1));
            assert!(
                gap >= base * 850 / 1000 && gap <= base * 1150 / 1000,
                "{i}: {gap}"
            );
        }
        let objects = error_objects(&w);
        assert_eq!(objects.len(), 1, "{objects:?}");
        let (key, body) = &objects[0];
        assert!(key.starts_with("http-endpoint-failed/"), "{key}");
        let docs: Vec<ErrorRecord> = String::from_utf8_lossy(body)
            .lines()
            .map(|l| serde_json::from_str(l).expect("an error document"))
            .collect();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].error_code, CODE_DESTINATION_EXCEPTION);
        assert_eq!(docs[0].attempts_made, 5);
        assert_eq!(docs[0].raw_data, "eyJuIjoxfQ==");
        assert_eq!(docs[1].raw_data, "eyJuIjoyfQ==");
        assert!(firehose_log(&w).contains(&"error output".to_string()));
    }

    #[test]
    fn answered_413_is_discarded_and_not_written_to_the_error_bucket() {
        let (url, _seen, server) = serve(vec![Answer::Status(413)]);
        let mut w = world_delivering_to(&url, 300);
        let attempts = run(&mut w);
        server.join().expect("server thread");
        assert_eq!(attempts.len(), 1);
        assert!(error_objects(&w).is_empty());
        assert_eq!(
            firehose_log(&w),
            ["flushed", "HTTP request", "HTTP 413, discarded"]
        );
    }

    #[test]
    fn a_wrong_request_id_is_retried_then_delivered() {
        let (url, _seen, server) = serve(vec![Answer::WrongRequestId, Answer::Ok]);
        let mut w = world_delivering_to(&url, 300);
        let attempts = run(&mut w);
        server.join().expect("server thread");
        assert_eq!(attempts.len(), 2);
        let retry = w
            .events()
            .find_map(|e| match &e.kind {
                EventKind::Firehose { what, detail, .. } if what == "HTTP retry" => {
                    Some(detail.clone())
                }
                _ => None,
            })
            .expect("a retry");
        assert!(retry.contains(CODE_INVALID_RESPONSE), "{retry}");
        assert_eq!(
            w.firehose_service()
                .metric_total("web", FirehoseMetric::DeliveryToHttpEndpointSuccess),
            1
        );
    }

    #[test]
    fn http_endpoint_configuration_is_validated() {
        let mut w = World::new(WorldConfig::with_seed(7));
        let r = w.firehose(
            SimTime::ZERO,
            "CreateDeliveryStream",
            &json!({
                "DeliveryStreamName": "bad",
                "HttpEndpointDestinationConfiguration": {
                    "EndpointConfiguration": {"Url": "ftp://example.com"},
                    "BufferingHints": {"SizeInMBs": 100},
                    "RetryOptions": {"DurationInSeconds": 7201},
                    "S3BackupMode": "Sometimes",
                    "S3Configuration": {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::backup"},
                },
            })
            .to_string(),
        );
        assert_eq!(r.status, 400);
        assert_eq!(r.error_type, Some("ValidationException"));
        for part in [
            "httpEndpointDestinationConfiguration.endpointConfiguration.url",
            "httpEndpointDestinationConfiguration.bufferingHints.sizeInMBs",
            "httpEndpointDestinationConfiguration.retryOptions.durationInSeconds",
            "httpEndpointDestinationConfiguration.s3BackupMode",
        ] {
            assert!(r.body.contains(part), "{part}: {}", r.body);
        }
        let r = w.firehose(
            SimTime::ZERO,
            "CreateDeliveryStream",
            &json!({
                "DeliveryStreamName": "bad",
                "HttpEndpointDestinationConfiguration": {
                    "EndpointConfiguration": {"Url": "https://example.com"},
                },
            })
            .to_string(),
        );
        assert_eq!(r.status, 400);
        assert!(
            r.body
                .contains("httpEndpointDestinationConfiguration.s3Configuration"),
            "{}",
            r.body
        );
    }

    #[test]
    fn the_same_seed_and_the_same_answers_give_the_same_event_log() {
        let hash = || {
            let (url, _seen, server) = serve(vec![Answer::Status(503), Answer::Ok]);
            let mut w = world_delivering_to(&url, 300);
            run(&mut w);
            server.join().expect("server thread");
            // The URL (a free port) is in no event; the request id comes from the seed.
            w.event_log_hash()
        };
        assert_eq!(hash(), hash());
    }

    /// HTTP polls and completions (and Firehose transform polls and completions) are journal inputs: replaying
    /// the journal over a fresh world, with no server and no function, gives the same event log.
    #[test]
    fn the_journal_replays_http_deliveries_and_transforms_exactly() {
        use kinesim::TransformOutcome;
        use kinesim::persist::{self, Journaled, replay};
        let (url, _seen, server) = serve(vec![Answer::Status(500), Answer::Ok]);
        let mut session = Journaled::new(World::new(WorldConfig::with_seed(7)));
        let (_, receipt) = session.prepare_commit(true);
        session.committed(receipt);
        let create = |session: &mut Journaled, body: Value| {
            let now = session.world().now();
            let r = session.call(
                now,
                "Firehose_20150804.CreateDeliveryStream",
                &body.to_string(),
            );
            assert_eq!(r.status, 200, "{}", r.body);
        };
        create(
            &mut session,
            json!({
                "DeliveryStreamName": "web",
                "HttpEndpointDestinationConfiguration": {
                    "EndpointConfiguration": {"Url": url},
                    "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
                    "S3Configuration": {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::backup"},
                },
            }),
        );
        create(
            &mut session,
            json!({
                "DeliveryStreamName": "xf",
                "ExtendedS3DestinationConfiguration": {
                    "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::out",
                    "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
                    "ProcessingConfiguration": {"Enabled": true, "Processors": [{"Type": "Lambda",
                        "Parameters": [{"ParameterName": "LambdaArn",
                            "ParameterValue": "arn:aws:lambda:us-east-1:000000000000:function:upper"}]}]},
                },
            }),
        );
        session.advance_to(SimTime::from_millis(10_000));
        for name in ["web", "xf"] {
            let r = session.call(
                SimTime::from_millis(10_000),
                "Firehose_20150804.PutRecord",
                &json!({"DeliveryStreamName": name, "Record": {"Data": "aGk="}}).to_string(),
            );
            assert_eq!(r.status, 200, "{}", r.body);
        }
        // The transform: first a function error, then an answer.
        let t = session.poll_firehose_transform().expect("a transform");
        session
            .complete_firehose_transform(
                SimTime::from_millis(10_500),
                &t.delivery_stream,
                &t.invocation_id,
                &TransformOutcome::FunctionError("boom".into()),
            )
            .expect("pending");
        let t = session.poll_firehose_transform().expect("a retry");
        let (record_id, _, _) = t.records[0].clone();
        let answer = json!({"records": [{"recordId": record_id, "result": "Ok", "data": "SEk="}]});
        session
            .complete_firehose_transform(
                SimTime::from_millis(11_000),
                &t.delivery_stream,
                &t.invocation_id,
                &TransformOutcome::Returned(answer.to_string()),
            )
            .expect("pending");
        // The HTTP delivery: 500, then 200 after the back-off.
        let mut attempts = 0;
        loop {
            if let Some(p) = session.poll_http_request() {
                attempts += 1;
                let outcome = http_client::perform(&p.request);
                let now = session.world().now();
                session
                    .complete_http_request(now, &p.request_id, &outcome)
                    .expect("pending");
                continue;
            }
            match session.world().firehose_service().next_http_due() {
                Some(t) => {
                    session.advance_to(t);
                }
                None => break,
            }
        }
        server.join().expect("server thread");
        assert_eq!(attempts, 2);
        let delivered = session
            .world()
            .firehose_service()
            .s3()
            .bucket("out")
            .map(|b| {
                b.objects
                    .values()
                    .map(|o| o.body.clone())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        assert_eq!(delivered, vec![b"HI".to_vec()]);
        let (commit, _) = session.prepare_commit(false);
        let entries: Vec<_> = commit
            .journal_append
            .iter()
            .map(|(seq, bytes)| persist::JournalEntry::decode(*seq, bytes).expect("decodes"))
            .collect();
        let mut world = World::new(WorldConfig::with_seed(7));
        replay(&mut world, 0, &entries).expect("replays");
        assert_eq!(world.event_log_hash(), session.world().event_log_hash());
        assert_eq!(
            world
                .firehose_service()
                .metric_total("web", FirehoseMetric::DeliveryToHttpEndpointSuccess),
            1
        );
    }
}
