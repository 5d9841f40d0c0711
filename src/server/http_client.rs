//! A small blocking HTTP/1.1 client for the native shell: it performs the requests the pure Firehose HTTP endpoint
//! destination asks for ([`HttpRequest`]) and reports how they went ([`Transport`]). Native only.
//!
//! `http://` over `std::net::TcpStream`, and `https://` over the same stream wrapped in TLS by rustls (the `ring`
//! provider, TLS 1.2 and 1.3), one request per connection (`Connection: close`). The certificates trusted are
//! the Mozilla roots of `webpki-roots` plus, when given, the CA certificates of one PEM file: `kinesim serve
//! --ca-file FILE` or the environment variable [`CA_FILE_ENV`] (for a local endpoint with its own CA). AWS delivers
//! only to `https://` endpoints; plain `http://` stays for local test endpoints (`http://127.0.0.1:PORT/...`).

use kinesim::firehose::http_endpoint::{
    HttpRequest, HttpResponse, RESPONSE_BODY_BYTES_MAX, RESPONSE_TIMEOUT_MS, Transport,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The environment variable naming a PEM file of extra CA certificates to trust for `https://` endpoints.
pub const CA_FILE_ENV: &str = "KINESIM_CA_FILE";

/// The TLS configuration `https://` requests use, made once (from `--ca-file`, else [`CA_FILE_ENV`]).
static TLS_CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();

/// A TLS client configuration that trusts the Mozilla roots and, if given, every certificate in the PEM file
/// `extra_ca_file`. The error says what is wrong with the file.
pub fn client_config(extra_ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_ca_file {
        let shown = path.display();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read the CA file {shown}: {e}"))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("the CA file {shown} is not PEM certificates: {e}"))?;
        if certs.is_empty() {
            return Err(format!("the CA file {shown} holds no certificate"));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("a certificate in {shown} cannot be a trust anchor: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Sets the CA file `https://` requests trust in addition to the Mozilla roots (`kinesim serve --ca-file`);
/// checked at once, so a bad file stops the server at start. Only the first call counts.
pub fn install_ca_file(path: &Path) -> Result<(), String> {
    let config = client_config(Some(path))?;
    let _ = TLS_CONFIG.set(Ok(config));
    Ok(())
}

/// The configuration `https://` requests use.
fn tls_config() -> Result<Arc<ClientConfig>, String> {
    TLS_CONFIG
        .get_or_init(|| {
            let file = std::env::var_os(CA_FILE_ENV).map(PathBuf::from);
            client_config(file.as_deref())
        })
        .clone()
}

/// How long connecting may take, in milliseconds.
pub const CONNECT_TIMEOUT_MS: u64 = 10_000;

/// The parts of an `http(s)://host[:port][/path]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Whether it is `https://`.
    pub tls: bool,
    /// Host name or address.
    pub host: String,
    /// Port (80 for http, 443 for https by default).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// Splits an `http://` or `https://` URL; an error says what is wrong.
pub fn parse_url(url: &str) -> Result<HttpUrl, String> {
    let (tls, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return Err(format!("not an http:// or https:// URL: {url}")),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| format!("bad port in URL: {url}"))?,
        ),
        None => (authority, if tls { 443 } else { 80 }),
    };
    if host.is_empty() {
        return Err(format!("no host in URL: {url}"));
    }
    Ok(HttpUrl {
        tls,
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

/// Performs `request` and waits for the answer (at most [`RESPONSE_TIMEOUT_MS`]).
pub fn perform(request: &HttpRequest) -> Transport {
    perform_with_timeout(request, Duration::from_millis(RESPONSE_TIMEOUT_MS))
}

/// Performs `request`, waiting at most `timeout` for each read; `https://` trusts what [`install_ca_file`] or
/// [`CA_FILE_ENV`] set up.
pub fn perform_with_timeout(request: &HttpRequest, timeout: Duration) -> Transport {
    let tls = if request.url.starts_with("https://") {
        match tls_config() {
            Ok(config) => Some(config),
            Err(why) => return Transport::ConnectionFailed(why),
        }
    } else {
        None
    };
    perform_with(request, timeout, tls)
}

/// Performs `request` with the TLS configuration `tls` for an `https://` URL (`None` refuses https).
pub fn perform_with(
    request: &HttpRequest,
    timeout: Duration,
    tls: Option<Arc<ClientConfig>>,
) -> Transport {
    let url = match parse_url(&request.url) {
        Ok(u) => u,
        Err(why) => return Transport::ConnectionFailed(why),
    };
    let addrs = match (url.host.as_str(), url.port).to_socket_addrs() {
        Ok(a) => a.collect::<Vec<_>>(),
        Err(e) => return Transport::ConnectionFailed(format!("cannot resolve {}: {e}", url.host)),
    };
    let mut stream = None;
    let mut last_error = String::from("no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(CONNECT_TIMEOUT_MS)) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = e.to_string(),
        }
    }
    let Some(stream) = stream else {
        return Transport::ConnectionFailed(last_error);
    };
    if stream.set_read_timeout(Some(timeout)).is_err()
        || stream.set_write_timeout(Some(timeout)).is_err()
    {
        return Transport::ConnectionFailed("cannot set socket timeouts".into());
    }
    if !url.tls {
        return exchange(stream, &url, request);
    }
    let Some(config) = tls else {
        return Transport::ConnectionFailed("https:// needs a TLS configuration".into());
    };
    let name = match ServerName::try_from(url.host.clone()) {
        Ok(n) => n,
        Err(e) => {
            return Transport::ConnectionFailed(format!("bad TLS server name {}: {e}", url.host));
        }
    };
    let connection = match ClientConnection::new(config, name) {
        Ok(c) => c,
        Err(e) => return Transport::ConnectionFailed(format!("TLS setup failed: {e}")),
    };
    exchange(StreamOwned::new(connection, stream), &url, request)
}

/// Writes the request on `stream` (plain or TLS) and reads the answer.
fn exchange<S: Read + Write>(mut stream: S, url: &HttpUrl, request: &HttpRequest) -> Transport {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
        request.method,
        url.path,
        url.host,
        url.port,
        request.body.len()
    );
    for (name, value) in &request.headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    if let Err(e) = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&request.body))
        .and_then(|()| stream.flush())
    {
        // A TLS handshake failure (an untrusted certificate, ...) shows here, on the first write.
        return Transport::ConnectionFailed(format!("sending the request failed: {e}"));
    }
    match read_response(stream) {
        Ok(response) => Transport::Response(response),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Transport::TimedOut
        }
        Err(e) => Transport::ConnectionFailed(format!("reading the response failed: {e}")),
    }
}

fn bad(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string())
}

fn read_response<S: Read>(stream: S) -> std::io::Result<HttpResponse> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad("malformed status line"))?;
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            headers.push((name.trim().to_string(), value.to_string()));
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.eq_ignore_ascii_case("chunked")
            {
                chunked = true;
            }
        }
    }
    // Read at most one byte past the limit, so the destination can tell a too-large answer
    // (HttpEndpoint.ResponseTooLarge) without this client holding an unbounded body.
    let keep = RESPONSE_BODY_BYTES_MAX + 1;
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size_text = line.trim().split(';').next().unwrap_or("");
            let size = u64::from_str_radix(size_text, 16).map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                break;
            }
            let held = u64::try_from(body.len()).unwrap_or(u64::MAX);
            let room = keep.saturating_sub(held);
            (&mut reader).take(size.min(room)).read_to_end(&mut body)?;
            if size >= room {
                break;
            }
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else {
        let limit = content_length.unwrap_or(keep).min(keep);
        reader.take(limit).read_to_end(&mut body)?;
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        assert_eq!(
            parse_url("http://127.0.0.1:8080/in?x=1"),
            Ok(HttpUrl {
                tls: false,
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/in?x=1".into()
            })
        );
        assert_eq!(
            parse_url("http://h").map(|u| (u.port, u.path)),
            Ok((80, "/".into()))
        );
        assert_eq!(
            parse_url("https://h/in").map(|u| (u.tls, u.port, u.path)),
            Ok((true, 443, "/in".into()))
        );
        assert!(parse_url("ftp://h/").is_err());
        assert!(parse_url("http://h:x/").is_err());
    }
}
