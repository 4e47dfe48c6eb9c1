//! Helpers for the streaming tests: hand-written SSE bodies served by httpmock, a limiter's
//! in-flight count, and draining a stream. (Cut connections and stalls between chunks, which
//! httpmock cannot do, come from the shared `fake_http` server.)
#![allow(dead_code)]

use chat_limiter::{ChatLimiter, ChatStream};

/// Joins SSE events (`data:`/`event:` lines) into a body, each event followed by a blank line.
pub fn sse(events: &[&str]) -> String {
    events.iter().map(|e| format!("{e}\n\n")).collect()
}

/// In-flight requests of `model` (0 when the model was never used).
pub fn in_flight(limiter: &ChatLimiter, model: &str) -> u32 {
    limiter.current_limits().model(model).map_or(0, |m| m.in_flight)
}

/// Drains a stream, returning the text and the error that ended it, if any.
pub fn drain(stream: ChatStream) -> (String, Option<chat_limiter::Error>) {
    let mut text = String::new();
    for chunk in stream {
        match chunk {
            Ok(c) => text.push_str(&c.delta),
            Err(e) => return (text, Some(e)),
        }
    }
    (text, None)
}
