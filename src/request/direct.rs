//! Direct calls: requests that bypass the rate limiter (the providers' Batch APIs have limits
//! of their own) but use the same key, base URL, transport, retry policy and redaction as every
//! other call.
//!
//! A call that creates something the provider charges for (a batch) is not idempotent: it is
//! retried only after an answer that proves nothing was created (a 429), never after a
//! dropped connection or a 5xx, which may have come after the provider acted on it.

use super::run::{read_body, MAX_BODY};
use super::{Engine, RawResponse};
use crate::error::{Error, Result};
use crate::provider::wire;
use crate::retry::Decision;
use crate::transport::Timeout;

/// A body and its content type (`None`: JSON).
pub(crate) struct DirectBody<'a> {
    pub bytes: &'a [u8],
    pub content_type: Option<&'a str>,
}

/// Whether a failed call may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Reads, cancels and uploads: sending twice does no harm.
    Safe,
    /// Creates something billed: retried only after a 429.
    OnlyAfterRateLimit,
}

impl Engine {
    /// Sends `method path` outside the limiter, retrying what the policy (and `replay`)
    /// allows, and returns the 2xx answer raw.
    pub(crate) fn direct(
        &self,
        method: &str,
        path: &str,
        body: Option<DirectBody<'_>>,
        replay: Replay,
    ) -> Result<RawResponse> {
        for n in 0.. {
            let (err, info) = match self.direct_attempt(method, path, body.as_ref()) {
                Ok(resp) => return Ok(resp),
                Err(failed) => *failed,
            };
            if replay == Replay::OnlyAfterRateLimit && !err.is_rate_limited() {
                return Err(err);
            }
            match self.policy.decide(&err, &info, n) {
                Decision::GiveUp => return Err(err),
                Decision::Exhausted if n == 0 => return Err(err),
                Decision::Exhausted => {
                    return Err(Error::RetriesExhausted { attempts: n + 1, last: Box::new(err) })
                }
                Decision::PauseQueue(wait) | Decision::Sleep(wait) => self.clock.sleep(wait),
            }
        }
        unreachable!("the attempt loop only ends by returning")
    }

    /// A `GET` whose 2xx body is handed over unread (a results file may be far larger than
    /// memory should hold); the timeout applies between reads. Retried like any safe call.
    pub(crate) fn direct_download(&self, path: &str) -> Result<Box<dyn std::io::Read + Send>> {
        for n in 0.. {
            let resp =
                self.send_as("GET", path, None, None, Timeout::BetweenReads(self.config.timeout));
            let (err, info) = match resp {
                Ok(r) if (200..300).contains(&r.status) => return Ok(r.body),
                Ok(r) => {
                    let info =
                        wire::parse_rate_limits(self.provider, &r.headers, self.clock.system_now());
                    let body = read_body(r.body, 1024 * 1024).unwrap_or_default();
                    (self.api_failure(r.status, &r.headers, &body), info)
                }
                Err(e) => (e, Default::default()),
            };
            match self.policy.decide(&err, &info, n) {
                Decision::GiveUp => return Err(err),
                Decision::Exhausted if n == 0 => return Err(err),
                Decision::Exhausted => {
                    return Err(Error::RetriesExhausted { attempts: n + 1, last: Box::new(err) })
                }
                Decision::PauseQueue(wait) | Decision::Sleep(wait) => self.clock.sleep(wait),
            }
        }
        unreachable!("the attempt loop only ends by returning")
    }

    /// Reads one line (without its newline) of a downloaded body; `None` at the end.
    pub(crate) fn read_line(
        &self,
        reader: &mut impl std::io::BufRead,
        buf: &mut Vec<u8>,
    ) -> Result<Option<()>> {
        buf.clear();
        match reader.read_until(b'\n', buf) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(())),
            Err(e) => Err(self.read_error(&e)),
        }
    }

    fn direct_attempt(
        &self,
        method: &str,
        path: &str,
        body: Option<&DirectBody<'_>>,
    ) -> std::result::Result<RawResponse, super::run::Failed> {
        let fail = |e: Error| Box::new((e, Default::default()));
        let resp = self
            .send_as(
                method,
                path,
                body.map(|b| b.bytes),
                body.and_then(|b| b.content_type),
                Timeout::Whole(self.config.timeout),
            )
            .map_err(fail)?;
        let info = wire::parse_rate_limits(self.provider, &resp.headers, self.clock.system_now());
        if !(200..300).contains(&resp.status) {
            let status = resp.status;
            let body = read_body(resp.body, 1024 * 1024).unwrap_or_default();
            return Err(Box::new((self.api_failure(status, &resp.headers, &body), info)));
        }
        let headers = resp
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
            .collect();
        let bytes =
            read_body(resp.body, MAX_BODY).map_err(|e| Box::new((self.read_error(&e), info)))?;
        Ok(RawResponse { status: resp.status, headers, body: bytes })
    }

    /// The key, for redacting a provider's messages kept by the batch client.
    pub(crate) fn redact(&self, text: &str) -> String {
        crate::error::redact(text, self.key.expose())
    }

    /// Parses a chat response body returned inside a batch result.
    pub(crate) fn parse_batch_chat(
        &self,
        body: &[u8],
        request_id: Option<String>,
    ) -> Result<crate::types::ChatCompletionResponse> {
        let key = self.key.expose();
        // A `/v1/responses` batch's results are Responses objects.
        let object = serde_json::from_slice::<serde_json::Value>(body).ok();
        if object.as_ref().and_then(|v| v.get("object")).and_then(|o| o.as_str())
            == Some("response")
        {
            return crate::provider::openai_responses::response::parse_response(
                body, request_id, key,
            );
        }
        wire::parse_chat_response(self.provider, body, request_id, key)
    }

    /// The JSON body a chat request is sent with (the `body`/`params` of a batch line), with
    /// the default model filled in; also returns the model and the estimated prompt tokens.
    pub(crate) fn batch_body(
        &self,
        request: &crate::types::ChatCompletionRequest,
    ) -> Result<(String, serde_json::Value, u64)> {
        let call = self.prepare_chat(request, false)?;
        let body = call.body.as_deref().unwrap_or(b"null");
        let value =
            serde_json::from_slice(body).map_err(|e| Error::InvalidRequest(e.to_string()))?;
        Ok((call.model.to_string(), value, call.prompt_tokens))
    }
}

impl Engine {
    /// Sleeps on the engine's clock (a manual clock in tests).
    pub(crate) fn sleep(&self, d: std::time::Duration) {
        self.clock.sleep(d)
    }
}
