//! Acquire, attempt, observe, retry: the loop every call goes through.
//!
//! One attempt is always the same skeleton — send, follow the rate-limit headers, turn an
//! error status into a typed error — and only what a 2xx answer becomes differs (a parsed
//! response, raw bytes, a stream); the caller passes that step in. One 429 pauses the model's
//! whole queue (docs/design.md lesson 4) and the request that got it goes back to the front;
//! other failures back off on the failing thread only.

use std::io::{self, Read};

use ureq::http::HeaderMap;

use super::{Call, Engine};
use crate::budget::Billed;
use crate::error::{redact, Error, Result};
use crate::limit::info::RateLimitInfo;
use crate::limit::limiter::{human_duration, ModelLimiter, Permit};
use crate::provider::wire;
use crate::retry::{Decision, RetryPolicy};
use crate::transport::{Headers, HttpRequest, HttpResponse, Timeout, TransportError};

/// Largest successful response body read into memory.
pub(super) const MAX_BODY: u64 = 64 * 1024 * 1024;
/// Largest error body read: enough for any provider's error JSON.
const MAX_ERROR_BODY: u64 = 1024 * 1024;

/// A failed attempt: the error and what the answer's headers said (boxed: the failure path is
/// rare and the success path should not carry a large `Err` variant).
pub(super) type Failed = Box<(Error, RateLimitInfo)>;

impl Engine {
    /// Runs `call` until it succeeds, fails for good, or `policy` gives up. `on_success` turns
    /// a 2xx answer into the caller's value; its error is classified like any other.
    /// `attempts` receives the number of attempts made.
    pub(super) fn run<T>(
        &self,
        call: &Call,
        policy: &RetryPolicy,
        attempts: &mut u32,
        on_success: impl FnMut(HttpResponse, Permit) -> Result<T>,
    ) -> Result<T>
    where
        T: Billed,
    {
        let model = self.limiter.model(&call.model);
        let result = self
            .check_credits()
            .and_then(|()| self.run_on(&model, call, policy, attempts, on_success));
        match &result {
            Ok(_) => model.metrics().succeeded(),
            Err(e) => {
                model.metrics().failed(e);
                log::debug!(target: "chat_limiter::request", "{}: {} failed: {e}", self.provider, call.model);
            }
        }
        result
    }

    /// The attempts of [`run`](Self::run) on `model`'s limiter.
    fn run_on<T>(
        &self,
        model: &std::sync::Arc<ModelLimiter>,
        call: &Call,
        policy: &RetryPolicy,
        attempts: &mut u32,
        mut on_success: impl FnMut(HttpResponse, Permit) -> Result<T>,
    ) -> Result<T>
    where
        T: Billed,
    {
        if let Some(hint) = model.wants_hint().then(|| self.key_rate_hint()).flatten() {
            // OpenRouter's successes carry no limits: its key's hint is the only start.
            model.hint_requests(hint);
        }
        let metrics = model.metrics();
        let mut front = false;
        for n in 0.. {
            let asked = self.clock.now();
            let permit = model.acquire_unless(call.cost, front, policy.cancel())?;
            let charge = self.spend.reserve(
                self.provider,
                &call.model,
                call.prompt_tokens,
                call.output(),
            )?;
            let c = permit.cost();
            let sent = self.clock.now();
            metrics.admitted(sent.saturating_duration_since(asked), [c.tokens, c.input, c.output]);
            *attempts = n + 1;
            let mut outcome = self.attempt(call, permit, &mut on_success);
            match &mut outcome {
                Ok(t) => t.bill(charge),
                Err(failed) => charge.failed(&failed.0),
            }
            let latency = self.clock.now().saturating_duration_since(sent);
            let (err, info) = match outcome {
                Ok(t) => {
                    metrics.attempted(latency, None);
                    return Ok(t);
                }
                Err(failed) => *failed,
            };
            metrics.attempted(latency, err.status());
            let decision = policy.decide(&err, &info, n);
            if err.status() == Some(429) && !matches!(decision, Decision::PauseQueue(_)) {
                model.count_rejection(); // a 429 that pauses nothing still counts
            }
            let (p, m) = (self.provider, &call.model);
            match decision {
                Decision::GiveUp => {
                    log::info!(target: "chat_limiter::retry", "{p}: giving up on a {m} request (not retryable): {err}");
                    return Err(err);
                }
                Decision::Exhausted if n == 0 => {
                    log::info!(target: "chat_limiter::retry", "{p}: giving up on a {m} request (retries off): {err}");
                    return Err(err);
                }
                Decision::Exhausted => {
                    log::info!(target: "chat_limiter::retry", "{p}: giving up on a {m} request after {} attempts: {err}", n + 1);
                    return Err(Error::RetriesExhausted { attempts: n + 1, last: Box::new(err) });
                }
                Decision::PauseQueue(wait) => {
                    let extended = model.pause(wait);
                    if extended && policy.is_long(wait) {
                        let resume = httpdate::fmt_http_date(self.clock.system_now() + wait);
                        log::warn!(
                            target: "chat_limiter::retry",
                            "{p}: rate limit reached on {m} ({err}); pausing its queue: resuming at \
                             {resume}, in {}",
                            human_duration(wait),
                        );
                    } else if extended {
                        log::info!(target: "chat_limiter::retry", "{p}: 429 on {m}; pausing its queue for {:.2}s ({err})", wait.as_secs_f64());
                    } else {
                        log::debug!(target: "chat_limiter::retry", "{p}: 429 on {m} within the pause in force ({err})");
                    }
                    metrics.retried();
                    front = true;
                }
                Decision::Sleep(wait) => {
                    log::info!(target: "chat_limiter::retry", "{p}: retrying a {m} request in {:.2}s (attempt {} of {}): {err}", wait.as_secs_f64(), n + 2, policy.max_retries + 1);
                    metrics.retried();
                    self.clock.sleep(wait);
                    if policy.is_cancelled() {
                        return Err(err); // stopped: not tried again
                    }
                    // A retried request keeps its place: it goes back to the front.
                    front = true;
                }
            }
        }
        unreachable!("the attempt loop only ends by returning")
    }

    /// One attempt: send, observe, and classify.
    fn attempt<T>(
        &self,
        call: &Call,
        mut permit: Permit,
        on_success: &mut impl FnMut(HttpResponse, Permit) -> Result<T>,
    ) -> std::result::Result<T, Failed> {
        let timeout = if call.stream {
            Timeout::BetweenReads(self.config.timeout)
        } else {
            Timeout::Whole(self.config.timeout)
        };
        let resp = self
            .send(&call.method, &call.path, call.body.as_deref(), timeout)
            .map_err(|e| Box::new((e, RateLimitInfo::default())))?;
        let info = self.observe(resp.status, &resp.headers, &mut permit);
        if !(200..300).contains(&resp.status) {
            let status = resp.status;
            // An unreadable error body still has a status to classify by.
            let body = read_body(resp.body, MAX_ERROR_BODY).unwrap_or_default();
            return Err(Box::new((self.api_failure(status, &resp.headers, &body), info)));
        }
        on_success(resp, permit).map_err(|e| Box::new((e, info)))
    }

    /// Follows the answer's rate-limit headers, and records whether the answer taught the
    /// limiter anything: a success does (the server took the request), and so does any answer
    /// carrying limit figures. A 5xx, a 529 or a 429 with no figures does not, so a cold start
    /// whose first request meets a fault does not open the gate: the next request probes.
    fn observe(&self, status: u16, headers: &HeaderMap, permit: &mut Permit) -> RateLimitInfo {
        let info = wire::parse_rate_limits(self.provider, headers, self.clock.system_now());
        if (200..300).contains(&status) || !info.is_empty() {
            permit.answered();
        }
        if (200..300).contains(&status) {
            permit.succeeded();
        }
        permit.sync(&info);
        info
    }

    /// The typed error for an error status.
    pub(super) fn api_failure(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        let now = self.clock.system_now();
        let api = wire::parse_error(self.provider, status, headers, body, self.key.expose(), now);
        if status == 402 {
            self.mark_credits_exhausted();
        }
        Error::Api(Box::new(api))
    }

    /// Sends one request through the transport, with the auth and extra headers.
    pub(super) fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        timeout: Timeout,
    ) -> Result<HttpResponse> {
        self.send_as(method, path, body, None, timeout)
    }

    /// [`send`](Self::send) with the body's own content type (a multipart upload) in place
    /// of JSON when `content_type` is given.
    pub(super) fn send_as(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        content_type: Option<&str>,
        timeout: Timeout,
    ) -> Result<HttpResponse> {
        let headers = Headers { fixed: &self.auth, content_type, configured: &self.config.headers };
        // The chat URL is joined once, at build; any other path here.
        let (joined, prepared);
        let url = if path == wire::chat_path(self.provider) {
            prepared = self.prepared.as_ref().filter(|_| content_type.is_none());
            self.chat_url.as_str()
        } else {
            prepared = None;
            joined = format!("{}{}", self.base_url, path);
            joined.as_str()
        };
        let request = HttpRequest { method, url, headers, body, timeout, prepared };
        self.transport.send(&request).map_err(|e| self.transport_error(e))
    }

    /// A transport failure as the crate's error, without the key.
    pub(super) fn transport_error(&self, e: TransportError) -> Error {
        Error::Transport {
            provider: self.provider,
            message: redact(&e.message, self.key.expose()),
            timeout: e.timeout,
        }
    }

    /// A failed body read as the crate's error.
    pub(super) fn read_error(&self, e: &io::Error) -> Error {
        self.transport_error(TransportError {
            message: format!("reading the response body: {e}"),
            timeout: e.kind() == io::ErrorKind::TimedOut,
        })
    }
}

impl Call {
    /// The output tokens it may produce in all (`max_tokens × n`), read back from its
    /// reservation (`provider/cost.rs`: Anthropic's output bucket, else the one token bucket
    /// less the prompt): what the budget prices its worst case with.
    fn output(&self) -> u64 {
        if self.cost.output > 0 {
            self.cost.output
        } else {
            self.cost.tokens.saturating_sub(self.prompt_tokens)
        }
    }
}

/// Reads a whole body, refusing one larger than `limit`.
pub(super) fn read_body(body: Box<dyn Read + Send>, limit: u64) -> io::Result<Vec<u8>> {
    read_body_sized(body, limit, None)
}

/// [`read_body`] into a buffer sized once from the answer's `Content-Length` (when it has one
/// within `limit`), rather than grown by doubling from empty.
pub(super) fn read_body_sized(
    body: Box<dyn Read + Send>,
    limit: u64,
    headers: Option<&HeaderMap>,
) -> io::Result<Vec<u8>> {
    let declared = headers
        .and_then(|h| h.get(ureq::http::header::CONTENT_LENGTH))
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .filter(|n| *n <= limit);
    // One byte more than declared, so reading the end of the body needs no second allocation.
    let mut out = Vec::with_capacity(declared.map_or(0, |n| n as usize + 1));
    body.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(io::Error::other(format!("the body is larger than {limit} bytes")));
    }
    Ok(out)
}
