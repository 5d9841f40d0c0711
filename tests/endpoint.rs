//! `kinesim serve`: the Kinesis JSON 1.1 protocol over HTTP on 127.0.0.1, as the AWS CLI, boto3 and the SDKs
//! speak it. Starts the real binary on a free port and stops it after the test.
#![cfg(not(target_arch = "wasm32"))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Endpoint {
    child: Child,
    address: String,
}

impl Endpoint {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kinesim"))
            .args(["serve", "--port", "0", "--seed", "3"])
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
