//! What the base URL says about where the API key goes: to this machine, or across the network
//! in clear text.

/// Whether the URL's host is this machine.
pub(crate) fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split(']').next().unwrap_or("").trim_start_matches('[')
    } else {
        host.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The warning to log when the key would cross the network unencrypted: a plain `http://`
/// base URL (the scheme in any case) whose host is not this machine. `None` otherwise.
pub(crate) fn plain_http_warning(url: &str) -> Option<String> {
    let plain = url.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://"));
    (plain && !is_loopback(url)).then(|| {
        format!(
            "base URL {url} is plain http:// to a non-loopback host; \
             the API key will cross the network unencrypted"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        for u in [
            "http://127.0.0.1:8080/v1",
            "http://localhost/v1",
            "http://LOCALHOST:9",
            "http://[::1]:9/x",
            "http://u@127.0.0.2",
            "http://127.0.0.1#frag",
        ] {
            assert!(is_loopback(u), "{u}");
        }
        for u in [
            "http://example.com/v1",
            "https://10.0.0.1/v1",
            "http://127.0.0.1.evil.com/",
            "http://localhost.evil.com/",
            "http://127.0.0.1@evil.com/",
            "http://[::2]/",
            "",
        ] {
            assert!(!is_loopback(u), "{u}");
        }
    }

    #[test]
    fn plain_http_to_another_host_warns() {
        for u in ["http://example.com/v1", "HTTP://api.example.com", "http://10.0.0.1:8080/v1"] {
            let w = plain_http_warning(u).unwrap_or_else(|| panic!("no warning for {u}"));
            assert!(w.contains("plain http://") && w.contains(u), "{w}");
        }
        for u in [
            "https://api.openai.com/v1",
            "http://127.0.0.1:8080/v1",
            "http://localhost/v1",
            "http://[::1]/v1",
            "Https://example.com",
            "http:/",
            "",
        ] {
            assert_eq!(plain_http_warning(u), None, "{u}");
        }
    }
}
