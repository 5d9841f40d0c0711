//! A small blocking HTTP/1.1 client for the native shell: it performs the requests the pure Firehose HTTP endpoint
//! destination asks for ([`HttpRequest`]) and reports how they went ([`Transport`]). Native only.
//!
//! Plain `http://` only, over `std::net::TcpStream` (one request per connection, `Connection: close`). AWS
//! delivers only to `https://` endpoints; a TLS client would be a native-only dependency this shell does not take
//! on yet, so an `https://` URL is reported as a failed connection with a message that says so. Local test
//! endpoints (`http://127.0.0.1:PORT/...`) work.

use kinesim::firehose::http_endpoint::{
    HttpRequest, HttpResponse, RESPONSE_BODY_BYTES_MAX, RESPONSE_TIMEOUT_MS, Transport,
};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long connecting may take, in milliseconds.
pub const CONNECT_TIMEOUT_MS: u64 = 10_000;

/// The parts of an `http://host[:port][/path]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host name or address.
    pub host: String,
    /// Port (80 by default).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// Splits an `http://` URL; an error says what is wrong (https included).
pub fn parse_url(url: &str) -> Result<HttpUrl, String> {
    if url.starts_with("https://") {
        return Err(
            "https:// endpoints are not supported by kinesim's native HTTP client; use an http:// URL".into(),
        );
    }
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http:// URL: {url}"))?;
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
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("no host in URL: {url}"));
    }
    Ok(HttpUrl {
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

/// Performs `request` and waits for the answer (at most [`RESPONSE_TIMEOUT_MS`]).
pub fn perform(request: &HttpRequest) -> Transport {
    perform_with_timeout(request, Duration::from_millis(RESPONSE_TIMEOUT_MS))
}

/// Performs `request`, waiting at most `timeout` for each read.
pub fn perform_with_timeout(request: &HttpRequest, timeout: Duration) -> Transport {
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
    let Some(mut stream) = stream else {
        return Transport::ConnectionFailed(last_error);
    };
    if stream.set_read_timeout(Some(timeout)).is_err()
        || stream.set_write_timeout(Some(timeout)).is_err()
    {
        return Transport::ConnectionFailed("cannot set socket timeouts".into());
    }
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

fn read_response(stream: TcpStream) -> std::io::Result<HttpResponse> {
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
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/in?x=1".into()
            })
        );
        assert_eq!(
            parse_url("http://h").map(|u| (u.port, u.path)),
            Ok((80, "/".into()))
        );
        assert!(parse_url("https://h/").is_err());
        assert!(parse_url("http://h:x/").is_err());
    }
}
