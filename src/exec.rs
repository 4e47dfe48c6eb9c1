//! The request loop: reserve, send, follow the headers, settle, and retry what is worth it.
//!
//! One 429 pauses the model's whole queue (DESIGN.md lesson 4) and the request that got it goes
//! back to the front; other failures back off on the failing thread only.

use std::time::Duration;

use ureq::http::HeaderMap;

use crate::client::{ChatLimiter, RawResponse};
use crate::error::{redact, Error, Result};
use crate::limit::cost;
use crate::limit::info::RateLimitInfo;
use crate::limit::limiter::Permit;
use crate::limit::model::Cost;
use crate::provider::wire;
use crate::retry::server_wait;
use crate::types::ChatCompletionResponse;

/// Largest response body read into memory.
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// What one attempt came to.
pub(crate) enum Attempt<T> {
    /// Success.
    Done(T),
    /// A failure that retrying cannot fix.
    Fail(Error),
    /// A failure worth retrying; `info` is what its headers said.
    Retry(Error, Box<RateLimitInfo>),
}

/// One HTTP exchange, as read off the wire.
pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl ChatLimiter {
    /// Runs `attempt` until it succeeds, fails for good, or the retries run out.
    pub(crate) fn execute<T>(
        &self,
        model: &str,
        reserved: Cost,
        mut attempt: impl FnMut(Permit) -> Attempt<T>,
    ) -> Result<T> {
        self.check_credits()?;
        let ml = self.inner.limiter.model(model);
        let attempts = self.inner.config.max_retries + 1;
        let mut front = false;
        let mut last = None;
        for n in 0..attempts {
            let permit = ml.acquire(reserved, front)?;
            let (err, info) = match attempt(permit) {
                Attempt::Done(t) => return Ok(t),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(e, info) => (e, info),
            };
            let hint = err.api_error().and_then(|a| server_wait(a, &info));
            if hint.is_some_and(|h| h > self.inner.backoff.max()) {
                // The server asks for longer than we may wait (a daily limit): surface it.
                return Err(err);
            }
            if n + 1 < attempts {
                let wait = hint.unwrap_or_else(|| self.inner.backoff.delay(n));
                front = err.is_rate_limited();
                if front {
                    ml.pause(wait);
                } else {
                    std::thread::sleep(wait);
                }
            }
            last = Some(err);
        }
        let last = last.unwrap_or(Error::Cancelled); // attempts >= 1, so `last` is set
        if attempts == 1 {
            return Err(last);
        }
        Err(Error::RetriesExhausted { attempts, last: Box::new(last) })
    }

    /// One chat attempt.
    pub(crate) fn attempt_chat(
        &self,
        path: &str,
        body: &[u8],
        model: &str,
        mut permit: Permit,
    ) -> Attempt<ChatCompletionResponse> {
        let p = self.inner.provider;
        let reply = match self.send("POST", path, Some(body), None) {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(e, Box::default()),
        };
        let info = self.observe(&reply, &mut permit);
        if !(200..300).contains(&reply.status) {
            return self.api_failure(&reply, info);
        }
        let request_id = wire::request_id(p, &reply.headers, self.inner.key.expose());
        match wire::parse_chat_response(p, &reply.body, request_id, self.inner.key.expose()) {
            Ok(resp) => {
                if let Some(usage) = &resp.usage {
                    permit.settle(cost::settled(p, model, permit.cost(), usage));
                }
                Attempt::Done(resp)
            }
            Err(e @ Error::Api(_)) if e.is_retryable() => Attempt::Retry(e, Box::new(info)),
            // A 2xx we cannot read (a proxy's garbage, a cut body) is worth another try.
            Err(e @ Error::InvalidResponse { .. }) => Attempt::Retry(e, Box::new(info)),
            Err(e) => Attempt::Fail(e),
        }
    }

    /// One raw attempt.
    pub(crate) fn attempt_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        mut permit: Permit,
    ) -> Attempt<RawResponse> {
        let reply = match self.send(method, path, body, None) {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(e, Box::default()),
        };
        let info = self.observe(&reply, &mut permit);
        if !(200..300).contains(&reply.status) {
            return self.api_failure(&reply, info);
        }
        let headers = reply
            .headers
            .iter()
            .map(|(k, v)| {
                (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())
            })
            .collect();
        Attempt::Done(RawResponse { status: reply.status, headers, body: reply.body })
    }

    /// Records that the server answered and follows its rate-limit headers.
    pub(crate) fn observe(&self, reply: &Reply, permit: &mut Permit) -> RateLimitInfo {
        self.observe_headers(&reply.headers, permit)
    }

    /// Records that the server answered and follows its rate-limit headers.
    pub(crate) fn observe_headers(
        &self,
        headers: &HeaderMap,
        permit: &mut Permit,
    ) -> RateLimitInfo {
        permit.answered();
        let info =
            wire::parse_rate_limits(self.inner.provider, headers, std::time::SystemTime::now());
        permit.sync(&info);
        info
    }

    /// Classifies an error status.
    pub(crate) fn api_failure<T>(&self, reply: &Reply, info: RateLimitInfo) -> Attempt<T> {
        let api = wire::parse_error(
            self.inner.provider,
            reply.status,
            &reply.headers,
            &reply.body,
            self.inner.key.expose(),
        );
        if reply.status == 402 {
            self.mark_credits_exhausted();
        }
        let retryable = api.retryable;
        let err = Error::Api(Box::new(api));
        if retryable {
            Attempt::Retry(err, Box::new(info))
        } else {
            Attempt::Fail(err)
        }
    }

    /// Sends one HTTP request and reads the whole answer (unless `stream` asks for the body
    /// reader, in which case the body is left unread and the reply's body is empty).
    pub(crate) fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        per_read_timeout: Option<Duration>,
    ) -> Result<Reply> {
        let mut resp = self.send_raw(method, path, body, per_read_timeout)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| self.transport(e))?;
        Ok(Reply { status, headers, body })
    }

    /// Sends one HTTP request and returns the response with its body unread.
    pub(crate) fn send_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        per_read_timeout: Option<Duration>,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let url = format!("{}{}", self.inner.config.base_url, path);
        let p = self.inner.provider;
        let (global, per_read) = match per_read_timeout {
            Some(d) => (None, Some(d)),
            None => (Some(self.inner.timeout), None),
        };
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        for (k, v) in wire::auth_headers(p, self.inner.key.expose()) {
            builder = builder.header(k, v);
        }
        for (k, v) in &self.inner.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        match body {
            Some(b) => self.run(builder.body(b.to_vec()), global, per_read),
            None => self.run(builder.body(()), global, per_read),
        }
    }

    fn run<S: ureq::AsSendBody>(
        &self,
        request: std::result::Result<ureq::http::Request<S>, ureq::http::Error>,
        global: Option<Duration>,
        per_read: Option<Duration>,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let request = request
            .map_err(|e| Error::InvalidRequest(redact(&e.to_string(), self.inner.key.expose())))?;
        ureq::RequestExt::with_agent(request, &self.inner.agent)
            .configure()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(global)
            .timeout_per_read(per_read)
            .build()
            .run()
            .map_err(|e| self.transport(e))
    }

    pub(crate) fn transport(&self, e: ureq::Error) -> Error {
        let timeout = matches!(e, ureq::Error::Timeout(_));
        Error::Transport {
            provider: self.inner.provider,
            message: redact(&e.to_string(), self.inner.key.expose()),
            timeout,
        }
    }
}
