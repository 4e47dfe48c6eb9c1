//! How much an OpenAI-compatible server says about its limits. OpenAI itself sends its six
//! `x-ratelimit-*` headers on every answer; servers that copy its API often send less, and a
//! client must neither storm nor crawl when they do. The emulator can speak each of these
//! dialects, so every one is tested end to end.

/// The rate-limit headers an emulated OpenAI-compatible server sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderDialect {
    /// OpenAI: limit, remaining and reset for requests and tokens on every answer.
    #[default]
    Full,
    /// Only on 429s (many OpenAI-compatible servers; OpenRouter does this too).
    OnlyOn429,
    /// Never: not even on 429s, which then carry only `retry-after`.
    Nothing,
    /// Azure OpenAI: `remaining` only, with no limit and no reset.
    RemainingOnly,
    /// Limits and remaining, but no reset.
    NoReset,
    /// `-1` for the token figures and empty values for the request remaining (servers that
    /// report "no limit" that way).
    MinusOne,
}

const PREFIX: &str = "x-ratelimit-";

/// Rewrites the `x-ratelimit-*` headers of an answer with status `status` to the dialect.
pub(crate) fn apply(dialect: HeaderDialect, status: u16, headers: &mut Vec<(String, String)>) {
    let rate = |name: &str| name.to_ascii_lowercase().starts_with(PREFIX);
    match dialect {
        HeaderDialect::Full => {}
        HeaderDialect::OnlyOn429 if status == 429 => {}
        HeaderDialect::OnlyOn429 | HeaderDialect::Nothing => headers.retain(|(k, _)| !rate(k)),
        HeaderDialect::RemainingOnly => headers.retain(|(k, _)| {
            !rate(k) || k.to_ascii_lowercase().starts_with("x-ratelimit-remaining-")
        }),
        HeaderDialect::NoReset => {
            headers.retain(|(k, _)| !k.to_ascii_lowercase().starts_with("x-ratelimit-reset-"))
        }
        HeaderDialect::MinusOne => {
            for (k, v) in headers.iter_mut() {
                let k = k.to_ascii_lowercase();
                if k.starts_with(PREFIX) && k.ends_with("-tokens") && !k.contains("reset") {
                    *v = "-1".into();
                } else if k == "x-ratelimit-remaining-requests" {
                    v.clear();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Vec<(String, String)> {
        [
            ("x-ratelimit-limit-requests", "60"),
            ("x-ratelimit-remaining-requests", "59"),
            ("x-ratelimit-reset-requests", "1s"),
            ("x-ratelimit-limit-tokens", "1000"),
            ("x-ratelimit-remaining-tokens", "990"),
            ("x-ratelimit-reset-tokens", "600ms"),
            ("x-request-id", "req_1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn names(h: &[(String, String)]) -> Vec<&str> {
        h.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn each_dialect_keeps_what_it_says() {
        let mut h = full();
        apply(HeaderDialect::OnlyOn429, 200, &mut h);
        assert_eq!(names(&h), ["x-request-id"]);
        let mut h = full();
        apply(HeaderDialect::OnlyOn429, 429, &mut h);
        assert_eq!(h, full());
        let mut h = full();
        apply(HeaderDialect::Nothing, 429, &mut h);
        assert_eq!(names(&h), ["x-request-id"]);
        let mut h = full();
        apply(HeaderDialect::RemainingOnly, 200, &mut h);
        assert_eq!(
            names(&h),
            ["x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens", "x-request-id"]
        );
        let mut h = full();
        apply(HeaderDialect::NoReset, 200, &mut h);
        assert_eq!(h.len(), 5);
        let mut h = full();
        apply(HeaderDialect::MinusOne, 200, &mut h);
        assert_eq!(h[1].1, "");
        assert_eq!((h[3].1.as_str(), h[4].1.as_str(), h[5].1.as_str()), ("-1", "-1", "600ms"));
    }
}
