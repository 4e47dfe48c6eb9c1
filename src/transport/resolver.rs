//! Name resolution on the calling thread.
//!
//! ureq's default resolver starts a thread for every lookup whenever a timeout is set (so that a
//! hung lookup can be abandoned), and the request loop always sets one: measured, that thread
//! was 80-90% of the client's overhead over a bare agent (BENCHMARKS.md, "Client overhead").
//! An IP address needs no lookup at all, and a name almost always comes from the system's
//! cache in microseconds; a lookup that hangs is bounded by the system resolver's own timeouts
//! (`resolv.conf`), and the attempt's timeout still bounds connecting, sending and receiving.
//! So this resolver never starts a thread.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// Resolves on the calling thread; IP literals without any lookup.
#[derive(Debug, Default)]
pub(crate) struct CallingThreadResolver;

impl Resolver for CallingThreadResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(ureq::Error::BadUri(format!("{uri} has no scheme or host")));
        };
        let port = authority.port_u16().or_else(|| match scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        });
        let Some(port) = port else {
            return Err(ureq::Error::BadUri(format!("unknown scheme: {scheme}")));
        };
        let host = authority.host().trim_start_matches('[').trim_end_matches(']');
        let mut out = self.empty();
        let wanted = config.ip_family();
        if let Ok(ip) = host.parse::<IpAddr>() {
            for a in wanted.keep_wanted(std::iter::once(SocketAddr::new(ip, port))) {
                out.push(a);
            }
        } else {
            let addr = DefaultResolver::host_and_port(scheme, authority)
                .unwrap_or_else(|| format!("{host}:{port}"));
            let found = addr.to_socket_addrs().map_err(ureq::Error::Io)?;
            // ResolvedSocketAddrs holds at most 16 addresses.
            for a in wanted.keep_wanted(found).take(16) {
                out.push(a);
            }
        }
        if out.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::unversioned::transport::time::Duration;

    fn resolve(uri: &str) -> Result<Vec<SocketAddr>, ureq::Error> {
        let timeout = NextTimeout {
            after: Duration::NotHappening,
            reason: ureq::Timeout::Global,
            ..NextTimeout::default()
        };
        let uri: Uri = uri.parse().unwrap();
        CallingThreadResolver
            .resolve(&uri, &Config::default(), timeout)
            .map(|a| a.iter().copied().collect())
    }

    #[test]
    fn ip_literals_and_names_resolve_without_a_thread() {
        assert_eq!(
            resolve("http://127.0.0.1:8080/v1").unwrap(),
            ["127.0.0.1:8080".parse().unwrap()]
        );
        assert_eq!(resolve("https://[::1]/v1").unwrap(), ["[::1]:443".parse().unwrap()]);
        assert!(resolve("http://localhost:9/").unwrap().iter().all(|a| a.ip().is_loopback()));
        assert!(matches!(resolve("ftp://127.0.0.1/"), Err(ureq::Error::BadUri(_))));
        assert!(resolve("http://no-such-host.invalid/").is_err());
    }
}
