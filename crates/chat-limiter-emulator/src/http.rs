//! A minimal HTTP/1.1 layer over `std::net`: keep-alive, `Content-Length` and chunked request
//! bodies, buffered or chunked (streamed) responses.
//!
//! Why not tiny_http: the emulator must be able to close a keep-alive socket mid-response
//! (the connection-drop fault) and flush each SSE event on its own; tiny_http hides the
//! socket and buffers responses, so owning the (small) protocol layer is simpler.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::SystemTime;

/// Largest accepted header block; the real APIs allow far less.
const MAX_HEAD: u64 = 64 * 1024;
/// Largest accepted body (Anthropic's documented 32 MB request limit).
pub(crate) const MAX_BODY: usize = 32 * 1024 * 1024;

/// A parsed request.
#[derive(Debug)]
pub(crate) struct HttpRequest {
    pub(crate) method: String,
    /// Path without the query string.
    pub(crate) path: String,
    /// Header names lower-cased.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// The client asked to close (or speaks HTTP/1.0).
    pub(crate) close: bool,
}

impl HttpRequest {
    /// First value of a header (name matched case-insensitively).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A complete response.
#[derive(Debug, Clone)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl HttpResponse {
    /// A JSON response.
    pub(crate) fn json(status: u16, body: &serde_json::Value) -> Self {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// Appends a header.
    pub(crate) fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// Clean EOF or socket error: just close.
    Closed,
    /// Malformed or oversized request: answer with this status, then close.
    Bad(u16),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Closed
    }
}

fn read_line(r: &mut BufReader<TcpStream>, budget: &mut u64) -> Result<String, ReadError> {
    let mut buf = Vec::new();
    let n = r.by_ref().take(*budget).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Err(ReadError::Closed);
    }
    *budget -= n as u64;
    if !buf.ends_with(b"\n") {
        return Err(ReadError::Bad(431));
    }
    let line = String::from_utf8(buf).map_err(|_| ReadError::Bad(400))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Reads one request from a keep-alive connection.
pub(crate) fn read_request(
    r: &mut BufReader<TcpStream>,
    w: &mut TcpStream,
) -> Result<HttpRequest, ReadError> {
    let mut budget = MAX_HEAD;
    let mut line = read_line(r, &mut budget)?;
    while line.is_empty() {
        // Tolerate stray CRLFs between pipelined requests (RFC 9112 §2.2).
        line = read_line(r, &mut budget)?;
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(400));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Bad(505));
    }
    let mut headers = Vec::new();
    loop {
        let line = read_line(r, &mut budget)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').ok_or(ReadError::Bad(400))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut req = HttpRequest {
        method: method.to_string(),
        path: target.split('?').next().unwrap_or("").to_string(),
        headers,
        body: Vec::new(),
        close: version == "HTTP/1.0",
    };
    if let Some(c) = req.header("connection") {
        let c = c.to_ascii_lowercase();
        req.close = c.contains("close") || (req.close && !c.contains("keep-alive"));
    }
    if req.header("expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue")) {
        w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let chunked = req.header("transfer-encoding").is_some_and(|t| t.contains("chunked"));
    if chunked {
        req.body = read_chunked(r)?;
    } else if let Some(len) = req.header("content-length") {
        let len: usize = len.parse().map_err(|_| ReadError::Bad(400))?;
        if len > MAX_BODY {
            return Err(ReadError::Bad(413));
        }
        req.body = vec![0; len];
        r.read_exact(&mut req.body)?;
    }
    Ok(req)
}

fn read_chunked(r: &mut BufReader<TcpStream>) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let mut budget = 1024;
        let size_line = read_line(r, &mut budget)?;
        let hex = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(hex, 16).map_err(|_| ReadError::Bad(400))?;
        // `size` is the client's: compare without adding, so a huge one cannot overflow.
        if size > MAX_BODY - body.len() {
            return Err(ReadError::Bad(413));
        }
        if size == 0 {
            // Skip trailers up to the blank line.
            let mut budget = MAX_HEAD;
            while !read_line(r, &mut budget)?.is_empty() {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf)?;
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        529 => "Site Overloaded",
        _ => "Unknown",
    }
}

fn head(status: u16, headers: &[(String, String)], framing: &str, close: bool) -> String {
    let mut s = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    s.push_str(&format!("date: {}\r\n", httpdate::fmt_http_date(SystemTime::now())));
    for (n, v) in headers {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    s.push_str(framing);
    if close {
        s.push_str("connection: close\r\n");
    }
    s.push_str("\r\n");
    s
}

/// Writes a complete response in one syscall-sized buffer.
pub(crate) fn write_response(
    w: &mut impl Write,
    resp: &HttpResponse,
    close: bool,
) -> io::Result<()> {
    let framing = format!("content-length: {}\r\n", resp.body.len());
    let mut out = head(resp.status, &resp.headers, &framing, close).into_bytes();
    out.extend_from_slice(&resp.body);
    w.write_all(&out)?;
    w.flush()
}

/// Writes the head of a chunked (streamed) response.
pub(crate) fn write_stream_head(
    w: &mut impl Write,
    status: u16,
    headers: &[(String, String)],
) -> io::Result<()> {
    w.write_all(head(status, headers, "transfer-encoding: chunked\r\n", false).as_bytes())?;
    w.flush()
}

/// Writes and flushes one chunk, so each SSE event leaves the server on its own.
pub(crate) fn write_chunk(w: &mut impl Write, data: &[u8]) -> io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    w.write_all(&out)?;
    w.flush()
}

/// Ends a chunked response.
pub(crate) fn finish_chunks(w: &mut impl Write) -> io::Result<()> {
    w.write_all(b"0\r\n\r\n")?;
    w.flush()
}

/// Writes a response head promising more body than follows, for the connection-drop fault.
pub(crate) fn write_truncated(w: &mut impl Write) -> io::Result<()> {
    let headers = vec![("content-type".to_string(), "application/json".to_string())];
    let mut out = head(200, &headers, "content-length: 4096\r\n", false).into_bytes();
    out.extend_from_slice(b"{\"id\":\"");
    w.write_all(&out)?;
    w.flush()
}
