//! Anthropic's `anthropic-ratelimit-*` response headers (docs/providers.md §2.5).
//!
//! Resets are absolute RFC 3339 times. They are turned into waits against the response's `Date`
//! header (the server's clock) when present, so local clock skew does not distort them.

use std::time::SystemTime;

use ureq::http::HeaderMap;

use crate::limit::info::{DimensionInfo, RateLimitInfo};
use crate::provider::headers::{
    any_named, header_str, header_u64, server_now, standard_retry_after, until,
};
use crate::provider::timestamp::parse_rfc3339;

/// Reads the headers of any Anthropic response, success or error.
pub(crate) fn parse_rate_limits(headers: &HeaderMap, now: SystemTime) -> RateLimitInfo {
    let none = RateLimitInfo {
        // RFC 3339 resets in whole seconds (docs/providers.md §2.5).
        reset_resolution: std::time::Duration::from_secs(1),
        resets_against_date: true,
        // Token remainders are rounded to the nearest 1000 (docs/providers.md §2.5).
        token_remaining_rounding: 1000,
        ..RateLimitInfo::default()
    };
    if !any_named(headers, &["anthropic-ratelimit-", "retry-after"]) {
        return none;
    }
    let reference = server_now(headers, now);
    // A dimension's three header names, spelled out at compile time (read on every response).
    macro_rules! names {
        ($name:literal) => {
            [
                concat!("anthropic-ratelimit-", $name, "-limit"),
                concat!("anthropic-ratelimit-", $name, "-remaining"),
                concat!("anthropic-ratelimit-", $name, "-reset"),
            ]
        };
    }
    let dim = |[limit, remaining, reset]: [&str; 3]| DimensionInfo {
        limit: header_u64(headers, limit),
        remaining: header_u64(headers, remaining),
        reset: header_str(headers, reset).and_then(parse_rfc3339).map(|at| until(at, reference)),
    };
    RateLimitInfo {
        requests: dim(names!("requests")),
        tokens: dim(names!("tokens")),
        input_tokens: dim(names!("input-tokens")),
        output_tokens: dim(names!("output-tokens")),
        retry_after: standard_retry_after(headers, now),
        ..none
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::headers::test_headers;
    use std::time::{Duration, UNIX_EPOCH};

    /// The real capture of docs/providers.md §2.5.
    fn capture() -> Vec<(&'static str, &'static str)> {
        vec![
            ("date", "Mon, 24 Feb 2025 22:25:32 GMT"),
            ("anthropic-ratelimit-requests-limit", "1000"),
            ("anthropic-ratelimit-requests-remaining", "999"),
            ("anthropic-ratelimit-requests-reset", "2025-02-24T22:25:30Z"),
            ("anthropic-ratelimit-input-tokens-limit", "80000"),
            ("anthropic-ratelimit-input-tokens-remaining", "78000"),
            ("anthropic-ratelimit-input-tokens-reset", "2025-02-24T22:25:32Z"),
            ("anthropic-ratelimit-output-tokens-limit", "16000"),
            ("anthropic-ratelimit-output-tokens-remaining", "12000"),
            ("anthropic-ratelimit-output-tokens-reset", "2025-02-24T22:25:47Z"),
            ("anthropic-ratelimit-tokens-limit", "96000"),
            ("anthropic-ratelimit-tokens-remaining", "90000"),
            ("anthropic-ratelimit-tokens-reset", "2025-02-24T22:25:32Z"),
            ("request-id", "req_01UBbuBZTAEGvsiW3otqwmYr"),
        ]
    }

    #[test]
    fn real_capture_against_server_date() {
        // Our clock is an hour off; the Date header keeps the waits right.
        let local = UNIX_EPOCH + Duration::from_secs(1_740_435_932 + 3600);
        let info = parse_rate_limits(&test_headers(&capture()), local);
        assert_eq!(info.requests.limit, Some(1000));
        assert_eq!(info.requests.remaining, Some(999));
        assert_eq!(info.requests.reset, Some(Duration::ZERO)); // already past: full now
        assert_eq!(info.input_tokens.limit, Some(80_000));
        assert_eq!(info.input_tokens.remaining, Some(78_000));
        assert_eq!(info.input_tokens.reset, Some(Duration::ZERO));
        assert_eq!(info.output_tokens.remaining, Some(12_000));
        assert_eq!(info.output_tokens.reset, Some(Duration::from_secs(15)));
        assert_eq!(info.tokens.limit, Some(96_000));
        assert_eq!(info.tokens.remaining, Some(90_000));
        assert_eq!(info.retry_after, None);
    }

    #[test]
    fn without_date_uses_local_now_and_reads_offsets() {
        let h = test_headers(&[
            ("anthropic-ratelimit-requests-reset", "2025-02-24T23:25:47.250+01:00"),
            ("retry-after", "12"),
        ]);
        let now = UNIX_EPOCH + Duration::from_secs(1_740_435_940);
        let info = parse_rate_limits(&h, now);
        assert_eq!(info.requests.reset, Some(Duration::from_millis(7250)));
        assert_eq!(info.retry_after, Some(Duration::from_secs(12)));
    }

    #[test]
    fn garbage_is_unknown() {
        let h = test_headers(&[
            ("anthropic-ratelimit-requests-limit", "lots"),
            ("anthropic-ratelimit-requests-remaining", "-3"),
            ("anthropic-ratelimit-requests-reset", "tomorrow"),
            ("anthropic-ratelimit-tokens-reset", "2025-02-30T00:00:00Z"),
            ("date", "not a date"),
        ]);
        assert!(parse_rate_limits(&h, UNIX_EPOCH).is_empty());
    }
}
