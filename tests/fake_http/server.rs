//! The socket side of the fake: accepts connections on 127.0.0.1, reads each request, records
//! it, then writes the reply the script or handler picks. Every connection gets its own thread
//! so concurrent clients are served at once (the Redis tests hammer one server from 16
//! threads); threads are detached and live as long as the test process.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::reply::{Body, End, Reply};

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct SeenRequest {
    /// 1-based arrival order over the whole server, across connections.
    pub number: usize,
    /// When the request had been read in full.
    pub at: Instant,
    pub method: String,
    /// The request target as sent, query included.
    pub path: String,
    /// Names and values as sent (values trimmed), in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The request line and header lines verbatim, for checks on anything in the head.
    pub head: String,
}

impl SeenRequest {
    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

type Handler = dyn Fn(&SeenRequest) -> Reply + Send + Sync;

struct Shared {
    requests: Mutex<Vec<SeenRequest>>,
    handler: Box<Handler>,
}

impl Shared {
    // A panicking handler must not hide the requests from the test that reads them.
    fn log(&self) -> MutexGuard<'_, Vec<SeenRequest>> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running fake; cheap to clone (clones share the log).
#[derive(Clone)]
pub struct FakeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FakeServer {
    /// Answers request `n` with `replies[n - 1]`; once the script runs out its last reply
    /// repeats.
    pub fn script(replies: Vec<Reply>) -> FakeServer {
        assert!(!replies.is_empty(), "a script needs at least one reply");
        FakeServer::handler(move |r| replies[(r.number - 1).min(replies.len() - 1)].clone())
    }

    /// Answers every request with `handler(request)`.
    pub fn handler(handler: impl Fn(&SeenRequest) -> Reply + Send + Sync + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared { requests: Mutex::default(), handler: Box::new(handler) });
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let shared = Arc::clone(&accepting);
                std::thread::spawn(move || serve(conn, &shared));
            }
        });
        FakeServer { addr, shared }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:<port>` with `path` appended.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.shared.log().clone()
    }

    /// How many requests arrived so far.
    pub fn count(&self) -> usize {
        self.shared.log().len()
    }

    /// When each request arrived, in order.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.shared.log().iter().map(|r| r.at).collect()
    }
}

/// Serves requests on one connection until the client leaves or either side asks to close. A request is
/// logged before its answer goes out, so a client holding its answer always finds it logged.
fn serve(conn: TcpStream, shared: &Shared) {
    let Ok(read_half) = conn.try_clone() else { return };
    let mut reader = BufReader::new(read_half);
    let mut out = conn;
    while let Some(mut request) = read_request(&mut reader) {
        {
            let mut log = shared.log();
            request.number = log.len() + 1;
            log.push(request.clone());
        }
        let reply = (shared.handler)(&request);
        // A client asking to close gets what an HTTP/1.1 server owes it: EOF after the answer.
        let client_closes =
            request.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if !write_reply(&mut out, &reply) || client_closes {
            return; // dropping both halves closes the socket
        }
    }
}

/// Reads one request: head, then a body framed by `content-length` or chunked encoding.
/// `None` when the client closed the connection or sent something unreadable.
fn read_request(reader: &mut impl BufRead) -> Option<SeenRequest> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line.trim_end_matches(['\r', '\n']).is_empty() {
            break;
        }
        head.push_str(&line);
    }
    let mut lines = head.lines();
    let mut request_line = lines.next()?.split(' ');
    let (method, path) = (request_line.next()?.to_string(), request_line.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut request =
        SeenRequest { number: 0, at: Instant::now(), method, path, headers, body: vec![], head };
    request.body = if request
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        read_chunked(reader)?
    } else {
        let len = request.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).ok()?;
        body
    };
    request.at = Instant::now();
    Some(request)
}

/// Decodes a chunked request body (trailers are read and dropped).
fn read_chunked(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let hex = size.split(';').next()?.trim();
        let n = usize::from_str_radix(hex, 16).ok()?;
        if n == 0 {
            break;
        }
        let mut chunk = vec![0; n + 2]; // the data and its CRLF
        reader.read_exact(&mut chunk).ok()?;
        body.extend_from_slice(&chunk[..n]);
    }
    loop {
        let mut trailer = String::new();
        if reader.read_line(&mut trailer).ok()? == 0 || trailer.trim_end().is_empty() {
            return Some(body);
        }
    }
}

/// Writes `reply`; `true` when the connection stays open for another request.
fn write_reply(out: &mut TcpStream, reply: &Reply) -> bool {
    let sent = |out: &mut TcpStream, bytes: &[u8]| out.write_all(bytes).and_then(|_| out.flush());
    match &reply.body {
        Body::Raw(bytes) => {
            let _ = sent(out, bytes);
            false
        }
        Body::Fixed(body) => {
            // One write, so the client never sees a head without its body.
            let mut bytes = head(reply, &format!("content-length: {}", body.len()));
            bytes.extend_from_slice(body);
            sent(out, &bytes).is_ok() && !reply.close
        }
        Body::Chunked { pieces, end } => {
            if sent(out, &head(reply, "transfer-encoding: chunked")).is_err() {
                return false;
            }
            for (pause, piece) in pieces {
                std::thread::sleep(*pause);
                let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
                chunk.extend_from_slice(piece);
                chunk.extend_from_slice(b"\r\n");
                if sent(out, &chunk).is_err() {
                    return false;
                }
            }
            match end {
                End::Finish => sent(out, b"0\r\n\r\n").is_ok() && !reply.close,
                End::Cut => false,
                End::Stall(d) => {
                    std::thread::sleep(*d);
                    false
                }
            }
        }
    }
}

/// Status line, the reply's headers, the framing header, `connection: close` if asked for.
fn head(reply: &Reply, framing: &str) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(framing);
    head.push_str("\r\n");
    if reply.close {
        head.push_str("connection: close\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

// Clients should go by the code alone; a plausible phrase keeps logs readable.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    }
}
