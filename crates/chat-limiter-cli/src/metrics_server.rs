//! `run --metrics ADDR`: `GET /metrics` on a loopback address, in the Prometheus text format
//! ([`crate::metrics_text`]), for as long as the run lasts.
//!
//! Served by `tiny_http` on a thread of its own: a small, well-kept, blocking HTTP/1.1 server,
//! which fits this sync program (no async runtime to bring in for one endpoint). Each scrape
//! reads [`ChatLimiter::metrics`], a few atomic loads per model, so scraping costs the run
//! nothing between scrapes. Only loopback addresses are accepted: the figures name models and
//! volumes, which are nobody else's business.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use chat_limiter::ChatLimiter;

use crate::logger::say;
use crate::metrics_text::{encode, CONTENT_TYPE};
use crate::{Fatal, RunArgs};

/// The running endpoint; dropping it stops it.
pub struct MetricsServer {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    /// The address served (with the port chosen when `:0` was asked for).
    pub addr: SocketAddr,
}

/// Why `--metrics` is refused with `--via batch`.
pub const NOT_WITH_BATCH: &str = "--metrics serves the limiter of a real-time run; --via batch \
     (or auto, which may choose it) sends through the provider's batch API, which it does not \
     see: drop one of the two";

/// Starts the endpoint when `run --metrics ADDR` asks for it, and says where it is.
pub fn serve_for(args: &RunArgs, limiter: &ChatLimiter) -> Result<Option<MetricsServer>, Fatal> {
    let Some(addr) = args.metrics.as_deref() else { return Ok(None) };
    let server = start(addr, limiter.clone())?;
    say(&format!("chat-limiter: metrics at http://{}/metrics\n", server.addr));
    Ok(Some(server))
}

/// Parses `ADDR` (`127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`) and refuses anything but
/// loopback.
pub fn parse_addr(addr: &str) -> Result<SocketAddr, Fatal> {
    let bad = || {
        Fatal::usage(format!(
            "--metrics {addr}: expected a loopback address and port, such as 127.0.0.1:9464"
        ))
    };
    let parsed = match addr.strip_prefix("localhost:") {
        Some(port) => format!("127.0.0.1:{port}").parse::<SocketAddr>(),
        None => addr.parse::<SocketAddr>(),
    }
    .map_err(|_| bad())?;
    if !parsed.ip().is_loopback() {
        return Err(Fatal::usage(format!(
            "--metrics {addr}: only loopback addresses are served (127.0.0.1 or [::1]); put a \
             proxy in front to expose the metrics further"
        )));
    }
    Ok(parsed)
}

/// Starts serving `limiter`'s metrics on `addr`.
pub fn start(addr: &str, limiter: ChatLimiter) -> Result<MetricsServer, Fatal> {
    let want = parse_addr(addr)?;
    let server = tiny_http::Server::http(want)
        .map_err(|e| Fatal::usage(format!("--metrics {addr}: cannot listen: {e}")))?;
    let addr = server.server_addr().to_ip().unwrap_or(want);
    let server = Arc::new(server);
    let serving = Arc::clone(&server);
    let thread = std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || serve(&serving, &limiter))
        .map_err(|e| Fatal::failed(format!("--metrics: cannot start its thread: {e}")))?;
    Ok(MetricsServer { server, thread: Some(thread), addr })
}

/// Answers until the server is unblocked.
fn serve(server: &tiny_http::Server, limiter: &ChatLimiter) {
    for request in server.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or_default();
        let response = if path == "/metrics" && *request.method() == tiny_http::Method::Get {
            let header = tiny_http::Header::from_bytes("content-type", CONTENT_TYPE)
                .expect("a constant, valid header"); // invariant: CONTENT_TYPE is ASCII
            tiny_http::Response::from_string(encode(&limiter.metrics())).with_header(header)
        } else {
            tiny_http::Response::from_string("not found: the metrics are at GET /metrics\n")
                .with_status_code(404)
        };
        // A scraper that hung up is its own problem, never the run's.
        let _ = request.respond(response);
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            // The loop ends once unblocked; a scrape being answered finishes first.
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_is_served() {
        assert_eq!(parse_addr("127.0.0.1:9464").unwrap().port(), 9464);
        assert!(parse_addr("[::1]:9464").is_ok());
        assert!(parse_addr("localhost:9464").unwrap().ip().is_loopback());
        let e = parse_addr("0.0.0.0:9464").unwrap_err();
        assert!(e.message.contains("only loopback"), "{}", e.message);
        assert_eq!(e.code, 2);
        assert!(parse_addr("9464").unwrap_err().message.contains("expected a loopback"));
    }
}
