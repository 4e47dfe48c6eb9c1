//! The seam between the request loop and the network: one small trait, [`Transport`], with
//! the ureq implementation used in production and an in-memory fake for the crate's unit
//! tests, so the loop's retry, pause and give-up paths run exactly and instantly.

use std::io::Read;
use std::time::Duration;

use ureq::http::HeaderMap;

mod resolver;
mod ureq_transport;

#[cfg(test)]
pub(crate) mod fake;

pub(crate) use resolver::CallingThreadResolver;
pub(crate) use ureq_transport::UreqTransport;

/// How long one exchange may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timeout {
    /// Connect, send and the whole answer within this time.
    Whole(Duration),
    /// No limit on the whole, but at most this long between two reads (streams).
    BetweenReads(Duration),
}

/// One HTTP request, as the request loop hands it to a transport.
pub(crate) struct HttpRequest<'a> {
    pub method: &'a str,
    pub url: String,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: Option<&'a [u8]>,
    pub timeout: Timeout,
}

/// The answer: status and headers read, body left for the caller to read (a stream reads it
/// as it arrives). A read error of kind `TimedOut` is a stall; `InvalidData` is never used by a
/// transport, so the stream decoder can keep it for bytes it cannot frame.
pub(crate) struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Box<dyn Read + Send>,
}

/// Why no answer arrived. The message may echo the URL or headers: the caller redacts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TransportError {
    pub message: String,
    pub timeout: bool,
}

/// Sends one request and returns the answer with its body unread.
///
/// Implementations must not follow redirects (the key would follow them) and must return
/// every status as an answer, not an error.
pub(crate) trait Transport: Send + Sync {
    fn send(&self, request: &HttpRequest<'_>) -> Result<HttpResponse, TransportError>;
}
