//! OpenRouter's `X-RateLimit-*` headers, sent only on its own 429s (docs/providers.md §3.6).
//!
//! `X-RateLimit-Reset` is an absolute Unix time in milliseconds (the next minute, or the next
//! 00:00 UTC for the daily free-model counter). It is measured against the response's `Date`
//! so that a skewed local clock does not change the wait.

use std::time::{Duration, SystemTime};

use ureq::http::HeaderMap;

use crate::limit::info::{DimensionInfo, RateLimitInfo};
use crate::provider::headers::{
    any_named, header_str, header_u64, parse_epoch_millis, server_now, standard_retry_after, until,
};

/// Reads the headers of any OpenRouter response; successes carry none of these.
pub(crate) fn parse_rate_limits(headers: &HeaderMap, now: SystemTime) -> RateLimitInfo {
    if !any_named(headers, &["x-ratelimit-", "retry-after"]) {
        return RateLimitInfo::default();
    }
    let reset = reset_in(headers, now);
    RateLimitInfo {
        // The reset marks the end of a fixed window (a minute, a UTC day), not the time to
        // refill a continuous bucket, so it must not be used to derive a refill rate: it only
        // tells how long to wait, through `retry_after`.
        requests: DimensionInfo {
            limit: header_u64(headers, "x-ratelimit-limit"),
            remaining: header_u64(headers, "x-ratelimit-remaining"),
            reset: None,
        },
        retry_after: standard_retry_after(headers, now).or(reset.filter(|d| !d.is_zero())),
        ..RateLimitInfo::default()
    }
}

/// Time until `X-RateLimit-Reset`, zero when it is already past.
pub(crate) fn reset_in(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let at = parse_epoch_millis(header_str(headers, "x-ratelimit-reset")?)?;
    Some(until(at, server_now(headers, now)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::headers::test_headers;
    use std::time::UNIX_EPOCH;

    #[test]
    fn free_model_429_headers() {
        let now = UNIX_EPOCH + Duration::from_millis(1_765_661_730_000);
        let h = test_headers(&[
            ("x-ratelimit-limit", "20"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1765661760000"),
        ]);
        let info = parse_rate_limits(&h, now);
        assert_eq!(info.requests.limit, Some(20));
        assert_eq!(info.requests.remaining, Some(0));
        assert_eq!(info.requests.reset, None, "a window end, not a refill time");
        assert_eq!(info.retry_after, Some(Duration::from_secs(30)));
    }

    #[test]
    fn retry_after_header_wins_and_date_corrects_skew() {
        let h = test_headers(&[
            ("x-ratelimit-reset", "1765661760000"),
            ("date", "Sat, 13 Dec 2025 21:35:00 GMT"), // 1765661700
            ("retry-after", "5"),
        ]);
        assert_eq!(reset_in(&h, UNIX_EPOCH), Some(Duration::from_secs(60)));
        let info = parse_rate_limits(&h, UNIX_EPOCH);
        assert_eq!(info.retry_after, Some(Duration::from_secs(5)));
    }

    #[test]
    fn past_or_garbage_resets() {
        let h = test_headers(&[("x-ratelimit-reset", "1000000000000")]);
        let late = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        assert_eq!(reset_in(&h, late), Some(Duration::ZERO));
        let info = parse_rate_limits(&h, late);
        assert_eq!(info.retry_after, None);
        let h = test_headers(&[("x-ratelimit-reset", "soon"), ("x-ratelimit-limit", "-1")]);
        assert!(parse_rate_limits(&h, UNIX_EPOCH).is_empty());
        assert!(parse_rate_limits(&HeaderMap::new(), UNIX_EPOCH).is_empty());
    }
}
