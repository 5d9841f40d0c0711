//! HTTP/1.1 for `kinesim serve`, over `std::net` with requests parsed by `httparse`: one thread per connection
//! (at most [`CONNECTIONS_OPEN_MAX`] open at once), keep-alive with an idle timeout, `Content-Length` and chunked
//! request bodies, `Expect: 100-continue`. A connection's thread serves its requests in order and takes the
//! World's lock only while the World answers, so a keep-alive connection waiting for its next request never keeps
//! another connection waiting (tiny_http 0.12's fixed pool of worker threads did: a fifth keep-alive connection
//! waited for one of four busy workers).

use std::io::{self, BufRead, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// Most connections open at once (one thread each, SubscribeToShard streams included). A connection beyond it is
/// answered 503 and closed.
pub const CONNECTIONS_OPEN_MAX: u32 = 512;
/// How long a connection may stay silent (between requests, or inside one) before it is closed, in milliseconds.
pub const IDLE_TIMEOUT_MS: u64 = 60_000;
/// How long one write may block on a client that does not read, in milliseconds.
pub const WRITE_TIMEOUT_MS: u64 = 60_000;
/// Largest request head (request line and headers), in bytes.
pub const HEAD_BYTES_MAX: u64 = 64 * 1024;
/// Most headers in one request.
pub const HEADERS_MAX: usize = 100;

/// A reserved place among the open connections; dropping it frees the place.
#[derive(Debug)]
pub struct ConnectionSlot {
    open: Arc<AtomicU32>,
}

impl ConnectionSlot {
    /// Reserves a place, or `None` when [`CONNECTIONS_OPEN_MAX`] are open.
    pub fn take(open: &Arc<AtomicU32>) -> Option<ConnectionSlot> {
        open.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < CONNECTIONS_OPEN_MAX).then_some(n + 1)
        })
        .ok()
        .map(|_| ConnectionSlot {
            open: Arc::clone(open),
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One parsed request.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    /// HTTP/1.1 (or later); false for HTTP/1.0.
    pub http_1_1: bool,
    /// Headers in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the client wants the connection kept open after this request.
    pub fn keep_alive(&self) -> bool {
        let connection = self.header("Connection").unwrap_or("").to_ascii_lowercase();
        let says = |word: &str| connection.split(',').any(|t| t.trim() == word);
        if self.http_1_1 {
            !says("close")
        } else {
            says("keep-alive")
        }
    }
}

/// Why no request was read.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed the connection or stayed silent past the idle timeout: close quietly.
    Closed,
    /// The body is larger than allowed: answer, then close (the rest of the body is not read).
    BodyTooLarge,
    /// The request is not HTTP this server reads: answer 400 with this reason, then close.
    Malformed(String),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Closed
    }
}

fn malformed(why: impl Into<String>) -> ReadError {
    ReadError::Malformed(why.into())
}

/// Reads the next request from `reader`. `interim` receives `100 Continue` when the client asks for it.
pub fn read_request(
    reader: &mut impl BufRead,
    interim: &mut impl Write,
    body_bytes_max: u64,
) -> Result<Request, ReadError> {
    let mut head = Vec::new();
    loop {
        let room = HEAD_BYTES_MAX.saturating_sub(u64::try_from(head.len()).unwrap_or(u64::MAX));
        let before = head.len();
        let read = (&mut *reader)
            .take(room)
            .read_until(b'\n', &mut head)
            .map_err(|_| ReadError::Closed)?;
        if read == 0 {
            if head.is_empty() {
                return Err(ReadError::Closed);
            }
            return Err(if room == 0 {
                malformed("the request head is too large")
            } else {
                ReadError::Closed
            });
        }
        let line = &head[before..];
        if line == b"\r\n" || line == b"\n" {
            if before == 0 {
                // Blank lines before a request are allowed (RFC 9112, 2.2).
                head.clear();
                continue;
            }
            break;
        }
        if !line.ends_with(b"\n") {
            let full = u64::try_from(head.len()).unwrap_or(u64::MAX) >= HEAD_BYTES_MAX;
            return Err(if full {
                malformed("the request head is too large")
            } else {
                ReadError::Closed
            });
        }
    }
    let mut slots = [httparse::EMPTY_HEADER; HEADERS_MAX];
    let mut parsed = httparse::Request::new(&mut slots);
    match parsed.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(malformed("the request head is incomplete")),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(malformed(format!(
                "a request may carry at most {HEADERS_MAX} headers"
            )));
        }
        Err(e) => return Err(malformed(format!("malformed request: {e}"))),
    }
    let mut request = Request {
        method: parsed.method.unwrap_or("GET").to_string(),
        target: parsed.path.unwrap_or("/").to_string(),
        http_1_1: parsed.version.unwrap_or(1) >= 1,
        headers: parsed
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).trim().to_string(),
                )
            })
            .collect(),
        body: Vec::new(),
    };
    let chunked = request
        .header("Transfer-Encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    let length = match request.header("Content-Length") {
        Some(text) if !chunked => Some(
            text.parse::<u64>()
                .map_err(|_| malformed(format!("bad Content-Length: {text}")))?,
        ),
        _ => None,
    };
    if length.is_some_and(|n| n > body_bytes_max) {
        return Err(ReadError::BodyTooLarge);
    }
    let has_body = chunked || length.is_some_and(|n| n > 0);
    if has_body
        && request
            .header("Expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        interim.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        interim.flush()?;
    }
    if chunked {
        request.body = read_chunked(reader, body_bytes_max)?;
    } else if let Some(n) = length {
        let mut body = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        (&mut *reader).take(n).read_to_end(&mut body)?;
        if u64::try_from(body.len()).unwrap_or(u64::MAX) < n {
            return Err(ReadError::Closed);
        }
        request.body = body;
    }
    Ok(request)
}

/// Longest line of a chunked body's framing (chunk size with extensions, or a trailer), in bytes.
const CHUNK_LINE_BYTES_MAX: u64 = 4 * 1024;

fn read_line(reader: &mut impl BufRead) -> Result<Vec<u8>, ReadError> {
    let mut line = Vec::new();
    (&mut *reader)
        .take(CHUNK_LINE_BYTES_MAX)
        .read_until(b'\n', &mut line)?;
    if !line.ends_with(b"\n") {
        return Err(malformed("bad chunked body"));
    }
    Ok(line)
}

fn read_chunked(reader: &mut impl BufRead, body_bytes_max: u64) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?;
        let text = String::from_utf8_lossy(&line);
        let size_text = text.trim().split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size_text, 16)
            .map_err(|_| malformed(format!("bad chunk size: {size_text}")))?;
        if size == 0 {
            // Trailers, up to the blank line.
            loop {
                let trailer = read_line(reader)?;
                if trailer == b"\r\n" || trailer == b"\n" {
                    return Ok(body);
                }
            }
        }
        let held = u64::try_from(body.len()).unwrap_or(u64::MAX);
        if held.saturating_add(size) > body_bytes_max {
            return Err(ReadError::BodyTooLarge);
        }
        let read = (&mut *reader).take(size).read_to_end(&mut body)?;
        if u64::try_from(read).unwrap_or(u64::MAX) < size {
            return Err(ReadError::Closed);
        }
        let end = read_line(reader)?;
        if end != b"\r\n" && end != b"\n" {
            return Err(malformed("a chunk must end with CRLF"));
        }
    }
}

/// A response to write.
#[derive(Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers (Content-Length and Connection are added when written).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a body and no headers yet.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header; a value or name that would break the head (CR, LF) is left out.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let clean = |s: &str| !s.contains(['\r', '\n']);
        if clean(name) && clean(value) && !name.is_empty() {
            self.headers.push((name.to_string(), value.to_string()));
        }
        self
    }
}

/// The reason phrase of the statuses this server sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// Writes `response` in one piece. `keep_alive` says whether the connection stays open after it; a response to
/// HEAD (`head_only`) carries the body's Content-Length but not the body.
pub fn write_response(
    out: &mut impl Write,
    response: &Response,
    keep_alive: bool,
    head_only: bool,
) -> io::Result<()> {
    let mut bytes = Vec::with_capacity(256 + response.body.len());
    bytes.extend_from_slice(
        format!(
            "HTTP/1.1 {} {}\r\n",
            response.status,
            reason(response.status)
        )
        .as_bytes(),
    );
    for (name, value) in &response.headers {
        bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    bytes.extend_from_slice(format!("Content-Length: {}\r\n", response.body.len()).as_bytes());
    if keep_alive {
        bytes.extend_from_slice(
            format!(
                "Connection: keep-alive\r\nKeep-Alive: timeout={}\r\n\r\n",
                IDLE_TIMEOUT_MS / 1000
            )
            .as_bytes(),
        );
    } else {
        bytes.extend_from_slice(b"Connection: close\r\n\r\n");
    }
    if !head_only {
        bytes.extend_from_slice(&response.body);
    }
    out.write_all(&bytes)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn read(text: &[u8]) -> (Result<Request, ReadError>, Vec<u8>) {
        let mut reader = BufReader::new(text);
        let mut interim = Vec::new();
        let request = read_request(&mut reader, &mut interim, 1_000);
        (request, interim)
    }

    #[test]
    fn reads_requests_with_length_chunked_and_continue() {
        let (r, interim) =
            read(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: A.B\r\nContent-Length: 2\r\n\r\n{}");
        let r = r.unwrap();
        assert_eq!(
            (r.method.as_str(), r.target.as_str(), r.body.as_slice()),
            ("POST", "/", &b"{}"[..])
        );
        assert_eq!(r.header("x-amz-target"), Some("A.B"));
        assert!(r.keep_alive());
        assert!(interim.is_empty());

        let (r, _) = read(
            b"POST /a?b=c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n",
        );
        assert_eq!(r.unwrap().body, b"abcde");

        let (r, interim) = read(
            b"PUT /b HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\nConnection: close\r\n\r\nz",
        );
        let r = r.unwrap();
        assert!(!r.keep_alive());
        assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");

        let (r, _) = read(b"GET / HTTP/1.0\r\n\r\n");
        assert!(!r.unwrap().keep_alive());
        let (r, _) = read(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(r.unwrap().keep_alive());
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(matches!(read(b"").0, Err(ReadError::Closed)));
        assert!(matches!(
            read(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab").0,
            Err(ReadError::Closed)
        ));
        assert!(matches!(
            read(b"POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n").0,
            Err(ReadError::BodyTooLarge)
        ));
        assert!(matches!(
            read(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3E9\r\n").0,
            Err(ReadError::BodyTooLarge)
        ));
        assert!(matches!(
            read(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n").0,
            Err(ReadError::Malformed(_))
        ));
        assert!(matches!(
            read(b"NOT HTTP\r\n\r\n").0,
            Err(ReadError::Malformed(_))
        ));
    }

    #[test]
    fn writes_length_connection_and_no_body_for_head() {
        let response = Response::new(200, "hi")
            .header("A", "b")
            .header("Bad", "x\r\ny");
        let mut out = Vec::new();
        write_response(&mut out, &response, true, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\nA: b\r\nContent-Length: 2\r\n"));
        assert!(text.contains("Connection: keep-alive\r\n"));
        assert!(text.ends_with("\r\n\r\nhi"));
        assert!(!text.contains("Bad"));
        let mut out = Vec::new();
        write_response(&mut out, &response, false, true).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Content-Length: 2\r\nConnection: close\r\n\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }
}
