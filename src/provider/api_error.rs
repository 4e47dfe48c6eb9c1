//! What the three providers' error parsers share: the retry decision of docs/providers.md §5 and
//! turning untrusted error text into a short, key-free message.
//!
//! The decision order is fixed by the spec: the server's `x-should-retry` header wins, then
//! body codes that mean "this will never work until the account changes", then the status.

use std::time::Duration;

use serde_json::Value;
use ureq::http::HeaderMap;

use crate::error::{redact, ApiError};
use crate::provider::headers::header_str;
use crate::provider_id::Provider;

/// Longest provider message kept, in characters; longer ones are cut with an ellipsis.
const MAX_MESSAGE_CHARS: usize = 2000;
/// Longest snippet of a non-JSON error body (an HTML page from a proxy, say).
const MAX_SNIPPET_CHARS: usize = 200;

/// The pieces of an error before the retry decision is made.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    /// HTTP status (or the status an in-body error stands for).
    pub(crate) status: u16,
    /// Provider error type.
    pub(crate) error_type: Option<String>,
    /// Provider error code.
    pub(crate) code: Option<String>,
    /// Message, already redacted and shortened.
    pub(crate) message: String,
    /// Request id.
    pub(crate) request_id: Option<String>,
    /// Retry hint.
    pub(crate) retry_after: Option<Duration>,
    /// A body code says retrying cannot help (quota, billing, spend limit, oversize request).
    pub(crate) terminal: bool,
}

impl Draft {
    /// The final error, with `retryable` decided per docs/providers.md §5.
    pub(crate) fn finish(self, provider: Provider, headers: &HeaderMap) -> ApiError {
        let retryable = match should_retry_header(headers) {
            Some(server_says) => server_says,
            None => !self.terminal && status_retryable(self.status),
        };
        ApiError {
            provider,
            status: self.status,
            error_type: self.error_type,
            code: self.code,
            message: self.message,
            request_id: self.request_id,
            retry_after: self.retry_after,
            retryable,
        }
    }
}

/// Statuses worth retrying: 408, 409, 429 and every 5xx (500, 502, 503, 504, Anthropic's 529).
/// Everything else (400, 401, 402, 403, 404, 413, 422, ...) is the caller's to fix.
pub(crate) fn status_retryable(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || (500..=599).contains(&status)
}

/// `x-should-retry: true|false` (Anthropic sends it; proxies may). Anything else is no opinion.
pub(crate) fn should_retry_header(headers: &HeaderMap) -> Option<bool> {
    let v = header_str(headers, "x-should-retry")?;
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A provider message made safe to keep: the key removed first (so a cut can never leave part
/// of it behind), then shortened.
pub(crate) fn clean_message(msg: &str, api_key: &str) -> String {
    truncate(&redact(msg, api_key), MAX_MESSAGE_CHARS)
}

/// [`clean_message`] with the key's own prepared redaction (the request path's form).
pub(crate) fn clean_message_with(msg: &str, key: &crate::secret::ApiKey) -> String {
    truncate(&key.redact(msg), MAX_MESSAGE_CHARS)
}

/// A short, redacted, single-line rendering of a body that is not a provider error object.
pub(crate) fn body_snippet(body: &[u8], status: u16, api_key: &str) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return format!("HTTP {status} with an empty body");
    }
    truncate(&redact(&one_line, api_key), MAX_SNIPPET_CHARS)
}

/// Cuts `s` to at most `max` characters (never inside a character), marking the cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((at, _)) => format!("{}…", &s[..at]),
    }
}

/// A redacted copy of an optional string field.
pub(crate) fn clean_field(v: Option<&Value>, api_key: &str) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then(|| clean_message(&s, api_key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::headers::test_headers;

    #[test]
    fn status_table() {
        for s in [408, 409, 429, 500, 502, 503, 504, 529, 599] {
            assert!(status_retryable(s), "{s}");
        }
        for s in [200, 400, 401, 402, 403, 404, 413, 422, 451, 600] {
            assert!(!status_retryable(s), "{s}");
        }
    }

    #[test]
    fn header_beats_terminal_code_and_status() {
        let d = || Draft { status: 400, terminal: true, ..Draft::default() };
        let yes = test_headers(&[("x-should-retry", "TRUE")]);
        assert!(d().finish(Provider::Anthropic, &yes).retryable);
        let no = test_headers(&[("x-should-retry", "false")]);
        let e = Draft { status: 503, ..Draft::default() }.finish(Provider::OpenAI, &no);
        assert!(!e.retryable);
        let odd = test_headers(&[("x-should-retry", "maybe")]);
        let e = Draft { status: 503, ..Draft::default() }.finish(Provider::OpenAI, &odd);
        assert!(e.retryable);
        let e = Draft { status: 429, terminal: true, ..Draft::default() };
        assert!(!e.finish(Provider::OpenAI, &HeaderMap::new()).retryable);
    }

    #[test]
    fn snippets_are_short_single_line_and_key_free() {
        let key = "sk-secret-123456";
        let html =
            format!("<html>\n<body>  502 Bad Gateway {key} {}</body></html>", "x".repeat(500));
        let s = body_snippet(html.as_bytes(), 502, key);
        assert!(s.starts_with("<html> <body> 502 Bad Gateway [REDACTED]"), "{s}");
        assert!(!s.contains(key));
        assert_eq!(s.chars().count(), MAX_SNIPPET_CHARS + 1);
        assert_eq!(body_snippet(b"  \n", 502, key), "HTTP 502 with an empty body");
        assert_eq!(body_snippet(b"\xff\xfe bad", 500, key), "\u{fffd}\u{fffd} bad");
    }

    #[test]
    fn redaction_happens_before_truncation() {
        let key = "sk-abcdefghijklmnop";
        let msg = format!("{}{key}", "a".repeat(MAX_MESSAGE_CHARS - 5));
        let cleaned = clean_message(&msg, key);
        assert!(!cleaned.contains("sk-abcde"), "a prefix of the key survived: {cleaned}");
        assert_eq!(truncate("héllo", 2), "hé…");
        assert_eq!(truncate("hé", 2), "hé");
    }
}
