//! The chat URL and the fixed headers as the HTTP types the ureq transport sends, parsed once
//! when the limiter is built.
//!
//! Every chat call goes to the same URL with the same auth headers, and parsing them for each
//! request cost four allocations (the URL's text and the parts split from it, a copy of each
//! header value) besides the parsing. Parsed once, a request clones them: reference counts.
//! The strings stay the truth (the transport that is not ureq reads them, and a request to any
//! other URL or with another content type is sent from them); these are the same, parsed.

use ureq::http::{HeaderName, HeaderValue, Uri};

/// A URL and headers, parsed. No `Debug`: the header values hold the API key.
pub(crate) struct Prepared {
    /// The URL.
    pub uri: Uri,
    /// The fixed headers, in order.
    pub fixed: Vec<(HeaderName, HeaderValue)>,
}

impl Prepared {
    /// `url` and `fixed` parsed; `None` when any does not parse (each request then parses the
    /// strings, and fails as it always did).
    pub(crate) fn new(url: &str, fixed: &[(&'static str, String)]) -> Option<Prepared> {
        let uri = Uri::try_from(url).ok()?;
        let fixed = fixed
            .iter()
            .map(|(k, v)| {
                let name = HeaderName::try_from(*k).ok()?;
                let mut value = HeaderValue::try_from(v.as_str()).ok()?;
                // The auth headers: kept out of any `Debug` of a request.
                value.set_sensitive(name != ureq::http::header::CONTENT_TYPE);
                Some((name, value))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Prepared { uri, fixed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_as_the_strings_are() {
        let fixed = [("authorization", "Bearer sk-x".to_string()), ("content-type", "a/b".into())];
        let p = Prepared::new("http://127.0.0.1:9/v1/chat/completions", &fixed).expect("parses");
        assert_eq!(p.uri, "http://127.0.0.1:9/v1/chat/completions");
        let names: Vec<_> = p.fixed.iter().map(|(k, v)| (k.as_str(), v.to_str().ok())).collect();
        assert_eq!(names, [("authorization", Some("Bearer sk-x")), ("content-type", Some("a/b"))]);
        assert!(p.fixed[0].1.is_sensitive() && !p.fixed[1].1.is_sensitive());
        assert!(Prepared::new("not a url", &fixed).is_none());
        assert!(Prepared::new("http://h/", &[("x-api-key", "a\nb".into())]).is_none());
    }
}
