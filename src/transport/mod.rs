//! The seam between the request loop and the network: one small trait, [`Transport`], with
//! the ureq implementation used in production and an in-memory fake for the crate's unit
//! tests, so the loop's retry, pause and give-up paths run exactly and instantly.

use std::io::Read;
use std::time::Duration;

use ureq::http::HeaderMap;

mod coarse_timeouts;
mod prepared;
mod resolver;
mod ureq_transport;

#[cfg(test)]
pub(crate) mod fake;

pub(crate) use coarse_timeouts::CoarseTimeouts;
pub(crate) use prepared::Prepared;
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

/// One HTTP request, as the request loop hands it to a transport: borrowed from where its
/// parts live (the engine's URL and headers, the prepared body), nothing built per request.
pub(crate) struct HttpRequest<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: Headers<'a>,
    pub body: Option<&'a [u8]>,
    pub timeout: Timeout,
    /// `url` and the fixed headers parsed, when the request goes to the URL they were parsed
    /// for with the fixed headers unchanged (a chat call); the configured headers are still
    /// in `headers` only.
    pub prepared: Option<&'a Prepared>,
}

/// A request's headers, in the order they are sent: the fixed ones (auth, JSON content type),
/// with `content_type` in place of the fixed content type when it is set, then the configured
/// ones. No `Debug`: the fixed ones hold the API key.
#[derive(Clone, Copy)]
pub(crate) struct Headers<'a> {
    pub fixed: &'a [(&'static str, String)],
    pub content_type: Option<&'a str>,
    pub configured: &'a [(String, String)],
}

impl<'a> Headers<'a> {
    /// Every header, as name and value.
    pub(crate) fn iter(self) -> impl Iterator<Item = (&'a str, &'a str)> {
        let ct = self.content_type;
        let replaced = move |name: &str| ct.is_some() && name.eq_ignore_ascii_case("content-type");
        let fixed = self.fixed.iter().filter(move |(k, _)| !replaced(k));
        fixed
            .map(|(k, v)| (*k, v.as_str()))
            .chain(ct.map(|ct| ("content-type", ct)))
            .chain(self.configured.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
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
