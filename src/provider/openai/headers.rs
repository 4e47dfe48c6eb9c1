//! OpenAI's `x-ratelimit-*` response headers (docs/providers.md §1.5, §1.6).
//!
//! Values are relative: a reset is a Go duration counted from when the response arrived, so no
//! clock is needed except for an HTTP-date `retry-after`. Only the `requests` and `tokens`
//! families are read; suffixes such as `-tokens_usage_based` or `-project-tokens` are ignored.

use std::time::SystemTime;

use ureq::http::HeaderMap;

use crate::limit::info::{DimensionInfo, RateLimitInfo};
use crate::provider::headers::{any_named, header_go_duration, header_u64, standard_retry_after};

/// Reads the headers of any OpenAI response, success or error.
pub(crate) fn parse_rate_limits(headers: &HeaderMap, now: SystemTime) -> RateLimitInfo {
    let none = RateLimitInfo {
        // Go durations are printed truncated to whole milliseconds (docs/providers.md §1.6).
        reset_resolution: std::time::Duration::from_millis(1),
        ..RateLimitInfo::default()
    };
    if !any_named(headers, &["x-ratelimit-", "retry-after"]) {
        return none;
    }
    RateLimitInfo {
        requests: dimension(headers, dim_names!("requests")),
        tokens: dimension(headers, dim_names!("tokens")),
        retry_after: standard_retry_after(headers, now),
        ..none
    }
}

/// A dimension's three header names, spelled out at compile time (read on every response).
macro_rules! dim_names {
    ($name:literal) => {
        [
            concat!("x-ratelimit-limit-", $name),
            concat!("x-ratelimit-remaining-", $name),
            concat!("x-ratelimit-reset-", $name),
        ]
    };
}
use dim_names;

fn dimension(headers: &HeaderMap, [limit, remaining, reset]: [&str; 3]) -> DimensionInfo {
    DimensionInfo {
        limit: header_u64(headers, limit),
        remaining: header_u64(headers, remaining),
        reset: header_go_duration(headers, reset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::headers::test_headers;
    use std::time::Duration;

    #[test]
    fn documented_headers() {
        let h = test_headers(&[
            ("x-ratelimit-limit-requests", "500"),
            ("x-ratelimit-limit-tokens", "300000"),
            ("x-ratelimit-remaining-requests", "499"),
            ("x-ratelimit-remaining-tokens", "295432"),
            ("x-ratelimit-reset-requests", "120ms"),
            ("x-ratelimit-reset-tokens", "913ms"),
            ("x-ratelimit-limit-tokens_usage_based", "1"),
            ("x-ratelimit-remaining-project-tokens", "2"),
            ("retry-after", "56"),
        ]);
        let info = parse_rate_limits(&h, SystemTime::UNIX_EPOCH);
        assert_eq!(info.requests.limit, Some(500));
        assert_eq!(info.requests.remaining, Some(499));
        assert_eq!(info.requests.reset, Some(Duration::from_millis(120)));
        assert_eq!(info.tokens.limit, Some(300_000));
        assert_eq!(info.tokens.remaining, Some(295_432));
        assert_eq!(info.tokens.reset, Some(Duration::from_millis(913)));
        assert_eq!(info.retry_after, Some(Duration::from_secs(56)));
        assert!(!info.input_tokens.is_known() && !info.output_tokens.is_known());
    }

    #[test]
    fn daily_bucket_and_azure_forms() {
        let h = test_headers(&[
            ("x-ratelimit-limit-requests", "200"),
            ("x-ratelimit-remaining-requests", "199"),
            ("x-ratelimit-reset-requests", "7m12s"),
            ("x-ratelimit-reset-tokens", "64"),
            ("x-ratelimit-remaining-tokens", "-1"),
        ]);
        let info = parse_rate_limits(&h, SystemTime::UNIX_EPOCH);
        assert_eq!(info.requests.reset, Some(Duration::from_secs(432)));
        assert_eq!(info.tokens.reset, Some(Duration::from_secs(64)));
        assert_eq!(info.tokens.remaining, None);
    }

    #[test]
    fn garbage_and_absent_headers_are_unknown() {
        let h = test_headers(&[
            ("x-ratelimit-limit-requests", "banana"),
            ("x-ratelimit-remaining-requests", ""),
            ("x-ratelimit-reset-requests", "-5s"),
            ("x-ratelimit-limit-tokens", "999999999999999999999"),
        ]);
        assert!(parse_rate_limits(&h, SystemTime::UNIX_EPOCH).is_empty());
        assert!(parse_rate_limits(&HeaderMap::new(), SystemTime::UNIX_EPOCH).is_empty());
    }
}
