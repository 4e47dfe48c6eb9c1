//! Reading rate-limit values out of response headers, shared by the three providers.
//!
//! Headers come from servers and proxies we do not control, so every reader here answers
//! `None` for a value that is absent, empty, negative, overflowing, non-ASCII or otherwise odd:
//! a strange header means "unknown" and never stops a response from being used.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ureq::http::HeaderMap;

use super::duration::parse_go_duration;

/// The value of header `name` as trimmed text; `None` when absent, empty or not visible ASCII.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let v = headers.get(name)?.to_str().ok()?.trim();
    (!v.is_empty()).then_some(v)
}

/// Whether any header's name starts with one of `prefixes` (lower-case). A parser checks this
/// first: an answer with none of a provider's limit headers (every OpenRouter success, a
/// server or proxy that sends none) is then read in one pass over its few names rather than
/// one lookup per header the parser knows (each parses and hashes the name).
pub(crate) fn any_named(headers: &HeaderMap, prefixes: &[&str]) -> bool {
    headers.keys().any(|k| prefixes.iter().any(|p| k.as_str().starts_with(p)))
}

/// A non-negative integer header (`x-ratelimit-remaining-tokens: 295432`).
///
/// Azure has been seen sending `-1` and other negative values; those are unknown.
pub(crate) fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    parse_u64(header_str(headers, name)?)
}

/// Plain decimal digits only: no sign, no fraction, no exponent.
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A relative Go-style duration header (OpenAI's `x-ratelimit-reset-*`).
pub(crate) fn header_go_duration(headers: &HeaderMap, name: &str) -> Option<Duration> {
    parse_go_duration(header_str(headers, name)?)
}

/// The server's idea of "now": its `Date` header when present and valid, else `now`.
///
/// Absolute resets (Anthropic's RFC 3339, OpenRouter's epoch ms) are measured against this so
/// that a skewed local clock does not stretch or shrink the wait (docs/providers.md §2.5).
/// `Date` has whole-second resolution and is stamped before the body is sent, so the result can only err
/// towards waiting slightly longer, which is the safe side.
pub(crate) fn server_now(headers: &HeaderMap, now: SystemTime) -> SystemTime {
    header_str(headers, "date").and_then(|d| httpdate::parse_http_date(d).ok()).unwrap_or(now)
}

/// `max(0, at − reference)`.
pub(crate) fn until(at: SystemTime, reference: SystemTime) -> Duration {
    at.duration_since(reference).unwrap_or(Duration::ZERO)
}

/// An absolute Unix time in milliseconds, as OpenRouter's `X-RateLimit-Reset` (`1765661760000`).
///
/// Values below 10^11 cannot be milliseconds of any plausible date (that is March 1973), so they
/// are read as Unix seconds, which some OpenAI-compatible proxies send. Accepts a JSON number's
/// text form too (`1765661760000.0` is rejected: resets are integers).
pub(crate) fn parse_epoch_millis(s: &str) -> Option<SystemTime> {
    let v = parse_u64(s)?;
    let d = if v < 100_000_000_000 { Duration::from_secs(v) } else { Duration::from_millis(v) };
    UNIX_EPOCH.checked_add(d)
}

/// The server's retry hint from the standard headers, relative to when the response arrived:
/// `retry-after-ms` (milliseconds), then `retry-after` as seconds (fractions allowed) or as an
/// HTTP-date (measured against the response's `Date`, else `now`).
///
/// Like both official SDKs, a hint of zero or less is no hint (the caller then backs off); an
/// unusable `retry-after-ms` falls through to `retry-after`.
pub(crate) fn standard_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(d) = header_str(headers, "retry-after-ms").and_then(|v| positive_decimal(v, 1e-3)) {
        return Some(d);
    }
    let v = header_str(headers, "retry-after")?;
    if let Some(d) = positive_decimal(v, 1.0) {
        return Some(d);
    }
    let at = httpdate::parse_http_date(v).ok()?;
    let d = until(at, server_now(headers, now));
    (!d.is_zero()).then_some(d)
}

/// A plain decimal number (`56`, `0.695`) times `unit_secs`, as a positive duration.
fn positive_decimal(s: &str, unit_secs: f64) -> Option<Duration> {
    let s = s.trim();
    let plain = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().filter(|&b| b == b'.').count() <= 1
        && s != ".";
    if !plain {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    let d = Duration::try_from_secs_f64(v * unit_secs).ok()?;
    (!d.is_zero()).then_some(d)
}

/// Builds a header map for tests (names must be lower-case literals).
#[cfg(test)]
pub(crate) fn test_headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        let v = ureq::http::HeaderValue::from_str(v).expect("test header value");
        h.append(*k, v);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::test_headers as headers;
    use super::*;
    use ureq::http::HeaderValue;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn integers_reject_garbage() {
        let h = headers(&[("a", " 499 "), ("b", "-1"), ("c", "1.5"), ("d", "banana"), ("e", "")]);
        assert_eq!(header_u64(&h, "a"), Some(499));
        for name in ["b", "c", "d", "e", "missing"] {
            assert_eq!(header_u64(&h, name), None, "{name}");
        }
        assert_eq!(parse_u64("99999999999999999999999"), None);
        let mut h = HeaderMap::new();
        h.insert("x", HeaderValue::from_bytes("12\u{e9}".as_bytes()).expect("opaque bytes"));
        assert_eq!(header_u64(&h, "x"), None);
    }

    #[test]
    fn retry_after_order_and_forms() {
        let now = at(1_000_000);
        let h = headers(&[("retry-after-ms", "695"), ("retry-after", "56")]);
        assert_eq!(standard_retry_after(&h, now), Some(Duration::from_millis(695)));
        let h = headers(&[("retry-after-ms", "soon"), ("retry-after", "56")]);
        assert_eq!(standard_retry_after(&h, now), Some(Duration::from_secs(56)));
        let h = headers(&[("retry-after", "1.5")]);
        assert_eq!(standard_retry_after(&h, now), Some(Duration::from_millis(1500)));
        for bad in ["0", "-3", "banana", "1e400", ".", "1.2.3", ""] {
            let h = headers(&[("retry-after", bad)]);
            assert_eq!(standard_retry_after(&h, now), None, "{bad:?}");
        }
        let h = headers(&[("retry-after", "99999999999999999999999999999")]);
        assert_eq!(standard_retry_after(&h, now), None);
    }

    #[test]
    fn retry_after_http_date_uses_server_date() {
        let h = headers(&[("retry-after", "Mon, 24 Feb 2025 22:26:02 GMT")]);
        let local = httpdate::parse_http_date("Mon, 24 Feb 2025 22:25:32 GMT").expect("date");
        assert_eq!(standard_retry_after(&h, local), Some(Duration::from_secs(30)));
        // Our clock is 10 s fast, but the server's Date header tells the truth.
        let h = headers(&[
            ("retry-after", "Mon, 24 Feb 2025 22:26:02 GMT"),
            ("date", "Mon, 24 Feb 2025 22:25:32 GMT"),
        ]);
        let skewed = local + Duration::from_secs(10);
        assert_eq!(standard_retry_after(&h, skewed), Some(Duration::from_secs(30)));
        // With a Date header the local clock does not matter at all.
        let late = skewed + Duration::from_secs(3600);
        assert_eq!(standard_retry_after(&h, late), Some(Duration::from_secs(30)));
        // A date already past is no hint.
        let h = headers(&[("retry-after", "Mon, 24 Feb 2025 22:26:02 GMT")]);
        assert_eq!(standard_retry_after(&h, local + Duration::from_secs(3600)), None);
    }

    #[test]
    fn epoch_millis_and_seconds() {
        assert_eq!(
            parse_epoch_millis("1765661760000"),
            Some(UNIX_EPOCH + Duration::from_millis(1_765_661_760_000))
        );
        assert_eq!(parse_epoch_millis("1765661760"), Some(at(1_765_661_760)));
        assert_eq!(parse_epoch_millis("-1"), None);
        assert_eq!(parse_epoch_millis("1e12"), None);
        assert_eq!(
            parse_epoch_millis("18446744073709551615"),
            Some(UNIX_EPOCH + Duration::from_millis(u64::MAX))
        );
    }

    #[test]
    fn server_now_prefers_date_header() {
        let h = headers(&[("date", "Thu, 01 Jan 1970 00:01:40 GMT")]);
        assert_eq!(server_now(&h, at(5)), at(100));
        let h = headers(&[("date", "yesterday")]);
        assert_eq!(server_now(&h, at(5)), at(5));
        assert_eq!(until(at(5), at(100)), Duration::ZERO);
    }
}
