//! Streaming responses: [`ChatStream`], an iterator of chunks that holds its place in the
//! limiter while it runs and settles the buckets with the real usage when it ends.

use std::io::BufReader;

use crate::client::ChatLimiter;
use crate::error::{Error, Result};
use crate::exec::Attempt;
use crate::limit::cost;
use crate::limit::limiter::Permit;
use crate::provider::sse::SseReader;
use crate::provider::wire::{self, StreamDecoder, StreamEvent};
use crate::provider::Provider;
use crate::types::{
    ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse, Choice, Message,
    MessageRole, Usage,
};

type Body = BufReader<ureq::BodyReader<'static>>;

/// A streamed chat response: an iterator of [`ChatCompletionChunk`]s.
///
/// The read timeout applies between chunks, not to the whole stream. A malformed event, an
/// error event or a cut connection ends the iterator with an error. Dropping the stream early
/// closes the connection and settles the limiter with the best estimate of what was used.
pub struct ChatStream {
    reader: SseReader<Body>,
    decoder: StreamDecoder,
    permit: Option<Permit>,
    provider: Provider,
    model: String,
    request_id: Option<String>,
    prompt_estimate: u64,
    usage: Option<Usage>,
    chars_seen: u64,
    finished: bool,
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl ChatLimiter {
    /// Sends a chat request with streaming on and returns the chunks as they arrive.
    ///
    /// Waiting for the limits and retrying happen before the first byte, as for
    /// [`chat_completion`](Self::chat_completion); once the stream has started, an error ends
    /// it (the text already delivered cannot be taken back).
    ///
    /// ```no_run
    /// # let limiter = chat_limiter::ChatLimiter::for_model("gpt-4o")?;
    /// use chat_limiter::{ChatCompletionRequest, Message};
    /// let req = ChatCompletionRequest::new("gpt-4o", vec![Message::user("Count to 5")]).max_tokens(50);
    /// for chunk in limiter.chat_completion_stream(&req)? {
    ///     print!("{}", chunk?.delta);
    /// }
    /// # Ok::<_, chat_limiter::Error>(())
    /// ```
    pub fn chat_completion_stream(&self, request: &ChatCompletionRequest) -> Result<ChatStream> {
        let req = self.with_model(request)?;
        let reserved = self.estimate(&req);
        let prompt_estimate = self.inner.counter.count_prompt(&req);
        let p = self.inner.provider;
        let body = wire::chat_body(p, &req, true, self.inner.default_max_tokens)?;
        let body = serde_json::to_vec(&body).map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let path = wire::chat_path(p);
        self.execute(&req.model, reserved, |mut permit| {
            let mut resp = match self.send_raw("POST", path, Some(&body), Some(self.inner.timeout))
            {
                Ok(r) => r,
                Err(e) => return Attempt::Retry(e, Box::default()),
            };
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let info = self.observe_headers(&headers, &mut permit);
            if !(200..300).contains(&status) {
                let body =
                    resp.body_mut().with_config().limit(1 << 20).read_to_vec().unwrap_or_default();
                let reply = crate::exec::Reply { status, headers, body };
                return self.api_failure(&reply, info);
            }
            Attempt::Done(ChatStream {
                reader: SseReader::new(BufReader::new(resp.into_body().into_reader())),
                decoder: StreamDecoder::new(p, self.inner.key.expose().to_string()),
                permit: Some(permit),
                provider: p,
                model: req.model.clone(),
                request_id: wire::request_id(p, &headers),
                prompt_estimate,
                usage: None,
                chars_seen: 0,
                finished: false,
            })
        })
    }
}

impl ChatStream {
    /// Reads the whole stream into the same response a non-streaming call returns.
    pub fn collect_response(mut self) -> Result<ChatCompletionResponse> {
        let mut text = String::new();
        let mut id = String::new();
        let mut model = self.model.clone();
        let mut finish_reason = None;
        for chunk in self.by_ref() {
            let c = chunk?;
            if id.is_empty() && !c.id.is_empty() {
                id = c.id.clone();
            }
            if !c.model.is_empty() {
                model = c.model.clone();
            }
            text.push_str(&c.delta);
            finish_reason = c.finish_reason.or(finish_reason);
        }
        let usage = self.usage;
        let raw = serde_json::json!({ "id": id, "model": model, "streamed": true, "text": text });
        Ok(ChatCompletionResponse {
            id,
            model,
            provider: self.provider,
            choices: vec![Choice {
                index: 0,
                message: Message::new(MessageRole::Assistant, text),
                finish_reason,
            }],
            usage,
            request_id: self.request_id.clone(),
            raw,
        })
    }

    /// The usage reported so far (complete once the stream has ended normally).
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// Ends the stream: settles the limiter with the real usage, or the best estimate when
    /// the stream broke before reporting it, and frees the slot.
    fn finish(&mut self) {
        self.finished = true;
        if let Some(mut permit) = self.permit.take() {
            let usage = self
                .usage
                .unwrap_or_else(|| Usage::new(self.prompt_estimate, self.chars_seen.div_ceil(4)));
            permit.settle(cost::settled(self.provider, &self.model, permit.cost(), &usage));
        }
    }

    fn fail(&mut self, e: Error) -> Option<Result<ChatCompletionChunk>> {
        self.finish();
        Some(Err(e))
    }
}

impl Iterator for ChatStream {
    type Item = Result<ChatCompletionChunk>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        loop {
            let event = match self.reader.next_event() {
                Ok(Some(ev)) => ev,
                Ok(None) => {
                    return self.fail(Error::Stream(
                        "the connection closed before the stream ended".into(),
                    ))
                }
                Err(e) => {
                    return self.fail(Error::Stream(format!("reading the stream failed: {e}")))
                }
            };
            match self.decoder.decode(&event) {
                Ok(StreamEvent::Chunk(c)) => {
                    self.chars_seen += c.delta.chars().count() as u64;
                    if let Some(u) = c.usage {
                        self.usage = Some(u);
                    }
                    return Some(Ok(c));
                }
                Ok(StreamEvent::Done) => {
                    self.finish();
                    return None;
                }
                Ok(StreamEvent::Ignore) => continue,
                Err(e) => return self.fail(e),
            }
        }
    }
}

impl Drop for ChatStream {
    fn drop(&mut self) {
        self.finish();
    }
}
