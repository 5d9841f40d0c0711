//! `https://` in the native HTTP client of `kinesim serve` (src/server/http_client.rs): a TLS server on 127.0.0.1
//! (rustls, a free port, started and stopped by the test) with a certificate for 127.0.0.1 signed by a test CA
//! (tests/tls/: `ca.pem` and the server's `server.pem`/`server.key`; the CA's key was thrown away). Trusting the CA
//! file (what `--ca-file` / `KINESIM_CA_FILE` do), Firehose's request arrives whole and the answer comes back; without
//! it the handshake fails and the attempt is a failed connection, as an untrusted endpoint is on AWS.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../src/server/http_client.rs"]
#[allow(dead_code)]
mod http_client;

use kinesim::firehose::http_endpoint::{HttpRequest, Transport};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

fn tls_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls")
}

/// What the server read: the request line, the headers and the body.
#[derive(Debug)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A TLS server that takes one connection, reads one request and answers 200 with `answer`; what it read (or
/// `None` when the handshake or the request failed) goes to the receiver.
fn serve_once(answer: String) -> (u16, mpsc::Receiver<Option<Seen>>, thread::JoinHandle<()>) {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(tls_dir().join("server.pem"))
            .expect("server.pem")
            .collect::<Result<_, _>>()
            .expect("PEM certificates");
    let key = PrivateKeyDer::from_pem_file(tls_dir().join("server.key")).expect("server.key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("the test certificate and key match");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let seen = (|| -> std::io::Result<Seen> {
            let (tcp, _) = listener.accept()?;
            tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
            let conn = ServerConnection::new(config).map_err(std::io::Error::other)?;
            let mut reader = BufReader::new(StreamOwned::new(conn, tcp));
            let mut request_line = String::new();
            reader.read_line(&mut request_line)?;
            let mut headers = Vec::new();
            let mut length = 0u64;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line)?;
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
            let mut body = Vec::new();
            (&mut reader).take(length).read_to_end(&mut body)?;
            let stream = reader.get_mut();
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                answer.len()
            )?;
            stream.conn.send_close_notify();
            stream.flush()?;
            Ok(Seen {
                request_line: request_line.trim_end().to_string(),
                headers,
                body,
            })
        })();
        let _ = tx.send(seen.ok());
    });
    (port, rx, handle)
}

fn request(port: u16) -> HttpRequest {
    HttpRequest {
        method: "POST",
        url: format!("https://127.0.0.1:{port}/firehose?x=1"),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-Amz-Firehose-Protocol-Version".into(), "1.0".into()),
            ("X-Amz-Firehose-Request-Id".into(), "req-1".into()),
        ],
        body: br#"{"requestId":"req-1","timestamp":1767225600000,"records":[{"data":"aGk="}]}"#
            .to_vec(),
    }
}

#[test]
fn https_to_an_endpoint_whose_ca_is_trusted_delivers_the_request() {
    let (port, seen, handle) =
        serve_once(r#"{"requestId":"req-1","timestamp":1767225600001}"#.into());
    let config = http_client::client_config(Some(&tls_dir().join("ca.pem"))).expect("the CA file");
    let outcome = http_client::perform_with(&request(port), Duration::from_secs(10), Some(config));
    let Transport::Response(response) = outcome else {
        panic!("expected an answer, got {outcome:?}");
    };
    assert_eq!(response.status, 200);
    assert_eq!(
        response.body,
        br#"{"requestId":"req-1","timestamp":1767225600001}"#
    );
    let seen = seen.recv().expect("the server ran").expect("a request");
    assert_eq!(seen.request_line, "POST /firehose?x=1 HTTP/1.1");
    let header = |name: &str| {
        seen.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("x-amz-firehose-request-id"), Some("req-1"));
    assert_eq!(header("host"), Some(format!("127.0.0.1:{port}").as_str()));
    assert_eq!(seen.body, request(port).body);
    handle.join().expect("server thread");
}

#[test]
fn an_untrusted_certificate_is_a_failed_connection() {
    let (port, seen, handle) = serve_once("{}".into());
    let config = http_client::client_config(None).expect("the Mozilla roots");
    let outcome = http_client::perform_with(&request(port), Duration::from_secs(10), Some(config));
    match &outcome {
        Transport::ConnectionFailed(why) => {
            assert!(
                why.contains("certificate") || why.contains("UnknownIssuer"),
                "{why}"
            )
        }
        other => panic!("expected a failed connection, got {other:?}"),
    }
    assert!(
        seen.recv().expect("the server ran").is_none(),
        "no request got through"
    );
    handle.join().expect("server thread");
}

#[test]
fn bad_ca_files_are_refused_with_a_reason() {
    let missing = http_client::client_config(Some(Path::new("/nonexistent/ca.pem")));
    assert!(
        missing
            .as_ref()
            .is_err_and(|e| e.contains("cannot read the CA file")),
        "{missing:?}"
    );
    // A key is not a certificate: the file holds none.
    let key = http_client::client_config(Some(&tls_dir().join("server.key")));
    assert!(
        key.as_ref()
            .is_err_and(|e| e.contains("holds no certificate")),
        "{key:?}"
    );
    // Plain http:// needs no TLS configuration; https:// without one is refused, not panicked.
    let outcome = http_client::perform_with(&request(1), Duration::from_secs(1), None);
    assert!(
        matches!(outcome, Transport::ConnectionFailed(_)),
        "{outcome:?}"
    );
}
