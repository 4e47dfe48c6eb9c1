//! The answers a `FakeServer` can give: a whole body with `content-length`, a chunked body
//! written piece by piece (each after its own pause) that may finish, be cut or stall, or raw
//! bytes written exactly as given. Also canned provider answers shared by several tests.

use std::time::Duration;

/// One answer. Built with `new`, `chunked` or `raw`, then refined with `header` and `close`.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    /// Sent in this order; the framing header (`content-length` or `transfer-encoding`) and
    /// `connection: close` are added by the server.
    pub headers: Vec<(String, String)>,
    pub(super) body: Body,
    /// Send `connection: close` and close the socket after this answer, instead of waiting for
    /// the next request on the same connection (HTTP/1.1 keep-alive, the default).
    pub close: bool,
}

#[derive(Clone, Debug)]
pub(super) enum Body {
    Fixed(Vec<u8>),
    Chunked {
        pieces: Vec<(Duration, Vec<u8>)>,
        end: End,
    },
    /// The whole response, status line included; the connection closes after it since the
    /// server cannot know where such an answer ends.
    Raw(Vec<u8>),
}

/// What a chunked answer does after its last piece.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Send the final empty chunk: a complete HTTP body.
    Finish,
    /// Close the socket in the middle of the chunked body.
    Cut,
    /// Keep the socket open (silent) for this long, then close it.
    Stall(Duration),
}

impl Reply {
    /// `status` with `body` (any bytes, JSON or not) as `application/json`.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Body::Fixed(body.into()),
            close: false,
        }
    }

    /// A chunked `text/event-stream` answer: each piece is its own chunk, written and flushed
    /// after its pause, so a client sees the gaps as they happen.
    pub fn chunked<P: Into<Vec<u8>>>(
        status: u16,
        pieces: impl IntoIterator<Item = (Duration, P)>,
        end: End,
    ) -> Reply {
        let pieces: Vec<(Duration, Vec<u8>)> =
            pieces.into_iter().map(|(d, p)| (d, p.into())).collect();
        // An empty chunk is the end marker: it would finish the body early.
        assert!(pieces.iter().all(|(_, p)| !p.is_empty()), "chunk pieces must not be empty");
        Reply {
            status,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: Body::Chunked { pieces, end },
            close: false,
        }
    }

    /// Exactly these bytes, nothing added, then the connection closes. For answers no
    /// well-behaved server would send.
    pub fn raw(bytes: impl Into<Vec<u8>>) -> Reply {
        Reply { status: 0, headers: vec![], body: Body::Raw(bytes.into()), close: true }
    }

    /// Sets a header, replacing one of the same name (so `content-type` can be overridden).
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Ends the connection after this answer (see `close`).
    pub fn close(mut self) -> Reply {
        self.close = true;
        self
    }

    /// A successful OpenAI chat answer with this usage.
    pub fn openai(prompt: u64, completion: u64) -> Reply {
        let body = format!(
            r#"{{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{{"index":0,"message":{{"role":"assistant","content":"ok"}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":{prompt},"completion_tokens":{completion},"total_tokens":{}}}}}"#,
            prompt + completion
        );
        Reply::new(200, body)
    }

    /// A successful Anthropic message with this usage.
    pub fn anthropic(input: u64, output: u64) -> Reply {
        let body = format!(
            r#"{{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{{"type":"text","text":"ok"}}],"stop_reason":"end_turn","usage":{{"input_tokens":{input},"output_tokens":{output}}}}}"#
        );
        Reply::new(200, body)
    }

    /// An OpenAI 429 asking to wait `ms`.
    pub fn openai_429(ms: u64) -> Reply {
        let body = r#"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
        Reply::new(429, body).header("retry-after-ms", &ms.to_string())
    }
}
