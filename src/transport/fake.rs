//! An in-memory [`Transport`] for unit tests: answers from a script and records every request,
//! so the request loop is tested without sockets or real time.

use std::collections::VecDeque;
use std::io::{self, Read};

use parking_lot::Mutex;
use ureq::http::{HeaderMap, HeaderName, HeaderValue};

use super::{HttpRequest, HttpResponse, Transport, TransportError};

/// One scripted answer.
#[derive(Debug, Clone)]
pub(crate) enum Scripted {
    /// A full answer.
    Reply { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// The connection failed before an answer (reset, refused, timeout).
    Fail(TransportError),
    /// Headers, then the body breaks after these bytes.
    Cut { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
}

impl Scripted {
    /// A JSON answer with these headers.
    pub(crate) fn json(status: u16, headers: &[(&str, &str)], body: &str) -> Self {
        let mut h: Vec<(String, String)> =
            headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        h.push(("content-type".into(), "application/json".into()));
        Scripted::Reply { status, headers: h, body: body.as_bytes().to_vec() }
    }
    /// A connection reset.
    pub(crate) fn reset() -> Self {
        Scripted::Fail(TransportError { message: "connection reset".into(), timeout: false })
    }
}

/// What the fake saw of one request.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The fake: answers in script order (the last answer repeats), records every request.
#[derive(Debug, Default)]
pub(crate) struct FakeTransport {
    script: Mutex<VecDeque<Scripted>>,
    seen: Mutex<Vec<Seen>>,
}

impl FakeTransport {
    pub(crate) fn new(script: Vec<Scripted>) -> Self {
        FakeTransport { script: Mutex::new(script.into()), seen: Mutex::default() }
    }
    /// Every request so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().clone()
    }
}

impl Transport for FakeTransport {
    fn send(&self, r: &HttpRequest<'_>) -> Result<HttpResponse, TransportError> {
        self.seen.lock().push(Seen {
            method: r.method.to_string(),
            url: r.url.to_string(),
            headers: r.headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: r.body.map(<[u8]>::to_vec).unwrap_or_default(),
        });
        let next = {
            let mut script = self.script.lock();
            if script.len() > 1 {
                script.pop_front()
            } else {
                script.front().cloned()
            }
        };
        match next {
            None => {
                Err(TransportError { message: "the fake has no script".into(), timeout: false })
            }
            Some(Scripted::Fail(e)) => Err(e),
            Some(Scripted::Reply { status, headers, body }) => Ok(HttpResponse {
                status,
                headers: header_map(&headers),
                body: Box::new(io::Cursor::new(body)),
            }),
            Some(Scripted::Cut { status, headers, body }) => Ok(HttpResponse {
                status,
                headers: header_map(&headers),
                body: Box::new(CutBody(io::Cursor::new(body))),
            }),
        }
    }
}

fn header_map(headers: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) =
            (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v.as_str()))
        {
            map.append(k, v);
        }
    }
    map
}

/// A body that breaks once its bytes are read.
struct CutBody(io::Cursor<Vec<u8>>);

impl Read for CutBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf)? {
            0 => Err(io::Error::new(io::ErrorKind::ConnectionAborted, "connection cut")),
            n => Ok(n),
        }
    }
}

/// Shared, so a test keeps a handle to read what was sent.
impl Transport for std::sync::Arc<FakeTransport> {
    fn send(&self, r: &HttpRequest<'_>) -> Result<HttpResponse, TransportError> {
        FakeTransport::send(self, r)
    }
}
