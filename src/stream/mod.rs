//! Streaming responses: [`ChatStream`], an iterator of chunks that holds its place in the
//! limiter while it runs and settles the buckets with the real usage when it ends.
//!
//! The limiter slot is a [`Permit`] owned by the stream, so every way a stream can end (the
//! terminator, an error, `break`, `drop`) goes through [`ChatStream::finish`], which settles
//! the buckets and frees the slot exactly once.

mod collect;

use std::collections::VecDeque;
use std::io::{self, BufReader, Read};
use std::time::Duration;

use crate::budget::Charge;
use crate::error::{redact, Error, Result};
use crate::limit::limiter::Permit;
use crate::provider::cost;
use crate::provider::sse::SseReader;
use crate::provider::wire::{StreamDecoder, StreamEvent};
use crate::provider_id::Provider;
use crate::types::{ChatCompletionChunk, Usage};

type Body = BufReader<Box<dyn Read + Send>>;

/// A streamed chat response: an iterator of [`ChatCompletionChunk`]s.
///
/// The read timeout ([`ChatLimiterBuilder::timeout`](crate::ChatLimiterBuilder::timeout))
/// applies between chunks, not to the whole stream, so a long answer that keeps arriving is
/// never cut, while a stall longer than the timeout ends the stream with
/// [`Error::Transport`] (`timeout: true`).
///
/// The iterator yields an error and then ends when the stream breaks: [`Error::Api`] for an
/// error the provider sent inside the stream (its `request_id` is filled in from the response
/// headers when the event has none), [`Error::Transport`] for a cut connection or a stall,
/// [`Error::Stream`] for a malformed event or a stream that ended without its terminator
/// (`data: [DONE]`, `message_stop`, the Responses API's `response.completed`). Nothing is retried once the first byte has arrived.
///
/// The stream holds one in-flight slot of the limiter until it ends. Then the token buckets
/// are settled with the usage the provider reported, or, when the stream broke or was
/// dropped before that, with the best estimate: the reported input (Anthropic's
/// `message_start`) or the request's estimate, plus `ceil(characters received / 4)` output
/// tokens (text, reasoning and tool-call arguments). Dropping the stream early closes the connection.
pub struct ChatStream {
    reader: SseReader<Body>,
    decoder: StreamDecoder,
    permit: Option<Permit>,
    provider: Provider,
    model: String,
    request_id: Option<String>,
    read_timeout: Duration,
    prompt_estimate: u64,
    /// The usage carried by the latest chunk that had one (complete or cumulative).
    usage: Option<Usage>,
    chars_seen: u64,
    /// The terminator arrived.
    completed: bool,
    finished: bool,
    /// A stream replayed from the response cache: its stored chunks, yielded in order.
    replay: Option<VecDeque<ChatCompletionChunk>>,
    /// Keeps the chunks for the response cache, handed over when the stream completes.
    recorder: Option<Recorder>,
    /// The attempt's money, settled with the reported usage when the stream completes (kept
    /// at its worst case when it breaks or is dropped early).
    charge: Option<Charge>,
}

/// Called with the request id and every chunk of a stream that completed normally.
pub(crate) type OnComplete = Box<dyn FnOnce(Option<String>, &[ChatCompletionChunk]) + Send>;

/// The chunks seen so far and what to do with them at the end.
struct Recorder {
    chunks: Vec<ChatCompletionChunk>,
    on_complete: OnComplete,
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("request_id", &self.request_id)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

/// What a stream starts from: the 2xx answer of the request loop and its limiter slot.
pub(crate) struct StreamStart {
    pub body: Box<dyn Read + Send>,
    /// A stream from OpenAI's Responses API (typed events, no `[DONE]`).
    pub responses: bool,
    pub permit: Permit,
    pub provider: Provider,
    pub model: String,
    pub request_id: Option<String>,
    /// Only used to keep the key out of error messages.
    pub api_key: String,
    pub read_timeout: Duration,
    pub prompt_estimate: u64,
}

impl ChatStream {
    /// A stream reading `start.body`, holding `start.permit` until it ends.
    pub(crate) fn new(start: StreamStart) -> Self {
        ChatStream {
            reader: SseReader::new(BufReader::new(start.body)),
            decoder: if start.responses {
                StreamDecoder::responses(start.api_key)
            } else {
                StreamDecoder::new(start.provider, start.api_key)
            },
            permit: Some(start.permit),
            provider: start.provider,
            model: start.model,
            request_id: start.request_id,
            read_timeout: start.read_timeout,
            prompt_estimate: start.prompt_estimate,
            usage: None,
            chars_seen: 0,
            completed: false,
            finished: false,
            replay: None,
            recorder: None,
            charge: None,
        }
    }

    /// A stream that yields `chunks` (stored by the response cache), holds no limiter slot
    /// and sends nothing.
    pub(crate) fn replay(
        provider: Provider,
        model: String,
        request_id: Option<String>,
        chunks: Vec<ChatCompletionChunk>,
    ) -> Self {
        let empty: Box<dyn Read + Send> = Box::new(io::empty());
        ChatStream {
            reader: SseReader::new(BufReader::new(empty)),
            decoder: StreamDecoder::new(provider, String::new()),
            permit: None,
            provider,
            model,
            request_id,
            read_timeout: Duration::ZERO,
            prompt_estimate: 0,
            usage: None,
            chars_seen: 0,
            completed: false,
            finished: false,
            replay: Some(chunks.into()),
            recorder: None,
            charge: None,
        }
    }

    /// Keeps every chunk and calls `on_complete` with them if the stream completes normally
    /// (never for a broken or dropped one).
    pub(crate) fn on_complete(mut self, on_complete: OnComplete) -> Self {
        self.recorder = Some(Recorder { chunks: Vec::new(), on_complete });
        self
    }

    /// The next stored chunk of a replayed stream; the end when none is left.
    fn next_replayed(&mut self) -> Option<Option<Result<ChatCompletionChunk>>> {
        let chunk = self.replay.as_mut()?.pop_front();
        Some(match chunk {
            Some(c) => {
                if let Some(u) = c.usage {
                    self.usage = Some(u);
                }
                Some(Ok(c))
            }
            None => {
                self.completed = true;
                self.finish();
                None
            }
        })
    }
}

impl ChatStream {
    /// The usage reported so far (complete once the stream has ended normally).
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// The request id from the response headers (`x-request-id`, `request-id`,
    /// `X-Generation-Id`), when the server sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Whether the stream has ended (normally or not) and released its limiter slot.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether the stream ended normally: the terminator (`data: [DONE]`, `message_stop`,
    /// `response.completed`) arrived.
    pub fn is_complete(&self) -> bool {
        self.completed
    }

    /// Whether the stream is replayed from the response cache ([`Cache`](crate::Cache)):
    /// nothing was sent for it.
    pub fn is_cached(&self) -> bool {
        self.replay.is_some()
    }

    /// Ends the stream: settles the limiter with the real usage, or the best estimate when
    /// the stream broke before reporting it, and frees the slot. Runs at most once.
    fn finish(&mut self) {
        self.finished = true;
        if let Some(charge) = self.charge.take() {
            // Only a completed stream's usage is the provider's bill; a broken one may have
            // been billed for more than was seen, so it keeps its worst case.
            match self.usage.filter(|_| self.completed) {
                Some(u) => charge.settle(Some(&u)),
                None => drop(charge),
            }
        }
        if let Some(mut permit) = self.permit.take() {
            if let Some(u) = self.usage {
                permit.reported(u.prompt_tokens, u.completion_tokens); // the provider's own figures
            }
            let usage = self.settled_usage();
            permit.settle(cost::settled(self.provider, &self.model, permit.cost(), &usage));
            // Dropping the permit here frees the in-flight slot.
        }
    }

    /// What to charge: the usage a chunk reported (final or cumulative), else what the
    /// provider said before breaking (Anthropic's input tokens) or the request's estimate for
    /// the input, and at least `ceil(chars / 4)` for the output already received.
    fn settled_usage(&self) -> Usage {
        if let Some(u) = self.usage {
            return u;
        }
        let seen = self.chars_seen.div_ceil(4);
        match self.decoder.usage_so_far() {
            Some(mut u) => {
                u.completion_tokens = u.completion_tokens.max(seen);
                u.total_tokens = u.prompt_tokens.saturating_add(u.completion_tokens);
                u
            }
            None => Usage::new(self.prompt_estimate, seen),
        }
    }

    fn fail(&mut self, e: Error) -> Option<Result<ChatCompletionChunk>> {
        self.finish();
        Some(Err(self.with_request_id(e)))
    }

    /// An error event rarely names its request; the response headers always do.
    fn with_request_id(&self, e: Error) -> Error {
        match e {
            Error::Api(mut api) => {
                if api.request_id.is_none() {
                    api.request_id = self.request_id.clone();
                }
                Error::Api(api)
            }
            other => other,
        }
    }

    /// Classifies a failed read: a stall or a cut connection is a transport error, bytes we
    /// cannot frame (bad UTF-8, an oversized event) are a stream error.
    ///
    /// A transport never reports `InvalidData` (its contract), so that kind means the SSE
    /// reader could not frame the bytes.
    fn read_failure(&self, e: io::Error) -> Error {
        if e.kind() == io::ErrorKind::InvalidData {
            return Error::Stream(format!("unreadable {} stream: {e}", self.provider));
        }
        let timeout = matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock);
        let message = if timeout {
            format!(
                "no data for {:?} in the middle of the stream (the read timeout applies between \
                 chunks): {e}",
                self.read_timeout
            )
        } else {
            format!("the connection broke in the middle of the stream: {e}")
        };
        let message = redact(&message, self.decoder.api_key());
        Error::Transport { provider: self.provider, message, timeout }
    }
}

impl Iterator for ChatStream {
    type Item = Result<ChatCompletionChunk>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        if let Some(replayed) = self.next_replayed() {
            return replayed;
        }
        loop {
            let event = match self.reader.next_event() {
                Ok(Some(ev)) => ev,
                Ok(None) => {
                    let what = self.decoder.terminator();
                    return self.fail(Error::Stream(format!(
                        "the connection closed before the stream ended (no {what})"
                    )));
                }
                Err(e) => {
                    let err = self.read_failure(e);
                    return self.fail(err);
                }
            };
            match self.decoder.decode(&event) {
                Ok(StreamEvent::Chunk(c)) => {
                    // Tool-call arguments and reasoning are output as much as the text is.
                    let args: usize =
                        c.tool_calls.iter().map(|t| t.arguments.chars().count()).sum();
                    self.chars_seen +=
                        (c.delta.chars().count() + c.reasoning.chars().count() + args) as u64;
                    if let Some(u) = c.usage {
                        self.usage = Some(u);
                    }
                    if let Some(r) = &mut self.recorder {
                        r.chunks.push(c.clone());
                    }
                    return Some(Ok(c));
                }
                Ok(StreamEvent::Last(c)) => {
                    self.chars_seen += c.delta.chars().count() as u64;
                    self.usage = c.usage.or(self.usage);
                    self.completed = true;
                    self.finish();
                    return Some(Ok(c));
                }
                Ok(StreamEvent::Done) => {
                    self.completed = true;
                    self.finish();
                    if let Some(r) = self.recorder.take() {
                        (r.on_complete)(self.request_id.clone(), &r.chunks);
                    }
                    return None;
                }
                Ok(StreamEvent::Ignore) => continue,
                Err(e) => return self.fail(e),
            }
        }
    }
}

impl std::iter::FusedIterator for ChatStream {}

/// A stream keeps its attempt's charge until it ends, and settles it then (see `finish`).
impl crate::budget::Billed for ChatStream {
    fn bill(&mut self, charge: Charge) {
        self.charge = Some(charge);
    }
}

impl Drop for ChatStream {
    fn drop(&mut self) {
        self.finish();
    }
}

// A stream is read on one thread but may be handed to another (a worker pool).
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<ChatStream>();
};
