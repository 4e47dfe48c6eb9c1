//! [`Transport`] over a blocking `ureq::Agent`.

use std::io::{self, Read};

use super::{HttpRequest, HttpResponse, Timeout, Transport, TransportError};

/// The production transport: a shared `ureq::Agent` (connection pool, TLS, proxy).
pub(crate) struct UreqTransport {
    agent: ureq::Agent,
    /// The whole-attempt timeout the agent is already configured for, with every other setting
    /// the loop needs (no redirects, statuses as answers). Such requests skip the per-request
    /// configuration, which copies the agent's whole `Config` on every request.
    ready_for: Option<std::time::Duration>,
}

impl UreqTransport {
    pub(crate) fn new(agent: ureq::Agent) -> Self {
        let c = agent.config();
        let t = c.timeouts();
        let ready = !c.http_status_as_error() && c.max_redirects() == 0 && t.per_call.is_none();
        let ready_for = if ready { t.global } else { None };
        UreqTransport { agent, ready_for }
    }

    fn run<S: ureq::AsSendBody>(
        &self,
        request: Result<ureq::http::Request<S>, ureq::http::Error>,
        timeout: Timeout,
    ) -> Result<HttpResponse, TransportError> {
        let request =
            request.map_err(|e| TransportError { message: e.to_string(), timeout: false })?;
        let (global, per_read) = match timeout {
            Timeout::Whole(d) => (Some(d), None),
            Timeout::BetweenReads(d) => (None, Some(d)),
        };
        let request = ureq::RequestExt::with_agent(request, &self.agent);
        let resp = if self.ready_for.is_some() && global == self.ready_for {
            request.run()
        } else {
            request
                .configure()
                // Every status is an answer the loop classifies; a redirect is never followed,
                // so the key is only ever sent to the configured host.
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(global)
                .timeout_per_read(per_read)
                .build()
                .run()
        }
        .map_err(failure)?;
        // Taken apart rather than cloned: the headers move into the answer as they are.
        let (parts, body) = resp.into_parts();
        let body = Box::new(UreqBody(body.into_reader()));
        Ok(HttpResponse { status: parts.status.as_u16(), headers: parts.headers, body })
    }
}

impl Transport for UreqTransport {
    fn send(&self, r: &HttpRequest<'_>) -> Result<HttpResponse, TransportError> {
        let mut builder = ureq::http::Request::builder().method(r.method);
        match r.prepared {
            Some(p) => {
                builder = builder.uri(p.uri.clone());
                for (k, v) in &p.fixed {
                    builder = builder.header(k.clone(), v.clone());
                }
                for (k, v) in r.headers.configured {
                    builder = builder.header(k.as_str(), v.as_str());
                }
            }
            None => {
                builder = builder.uri(r.url);
                for (k, v) in r.headers.iter() {
                    builder = builder.header(k, v);
                }
            }
        }
        match r.body {
            // Sent from the caller's buffer, not a copy of it.
            Some(b) => self.run(builder.body(b), r.timeout),
            None => self.run(builder.body(()), r.timeout),
        }
    }
}

fn failure(e: ureq::Error) -> TransportError {
    TransportError { timeout: matches!(e, ureq::Error::Timeout(_)), message: e.to_string() }
}

/// ureq's body reader with its errors mapped to the transport's contract: a timeout is
/// `TimedOut`, every other failure `ConnectionAborted` (never `InvalidData`).
struct UreqBody(ureq::BodyReader<'static>);

impl Read for UreqBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            let timed_out = matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock);
            let e = ureq::Error::from(e);
            let kind = if timed_out || matches!(e, ureq::Error::Timeout(_)) {
                io::ErrorKind::TimedOut
            } else {
                io::ErrorKind::ConnectionAborted
            };
            io::Error::new(kind, e.to_string())
        })
    }
}
