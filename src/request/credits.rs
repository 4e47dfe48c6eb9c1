//! OpenRouter credit checking: ask `GET /key` how much the key has left, and fail fast when it
//! is spent instead of sending requests that can only get 402.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::run::{read_body, MAX_BODY};
use super::Engine;
use crate::error::{Error, Result};
use crate::provider::openrouter::{parse_key_info, OpenRouterKeyInfo};
use crate::provider_id::Provider;
use crate::transport::Timeout;

/// The log target of the credit events.
const TARGET: &str = "chat_limiter::credits";

/// How long a fetched balance is trusted before asking again.
const FRESH_FOR: Duration = Duration::from_secs(30);

/// The last answer of `GET /key`, and a lock so a pool of workers starting together asks once.
#[derive(Debug, Default)]
pub(super) struct Credits {
    cache: Mutex<CreditCache>,
    refresh: Mutex<()>,
}

#[derive(Debug, Default)]
struct CreditCache {
    /// When it was fetched, and what it said (`None`: the endpoint could not be read).
    fetched: Option<(Instant, Option<OpenRouterKeyInfo>)>,
    /// Set by a 402: spent until the next successful refresh says otherwise.
    exhausted: bool,
}

impl Engine {
    /// Fetches the key's limits and credit (`GET /key`, falling back to `GET /auth/key`).
    pub(crate) fn key_info(&self) -> Result<OpenRouterKeyInfo> {
        if self.provider != Provider::OpenRouter {
            return Err(Error::Config("key info is an OpenRouter feature".into()));
        }
        let mut last = None;
        for path in ["/key", "/auth/key"] {
            let resp = self.send("GET", path, None, Timeout::Whole(self.config.timeout))?;
            let (status, headers) = (resp.status, resp.headers);
            let body = read_body(resp.body, MAX_BODY).map_err(|e| self.read_error(&e))?;
            if (200..300).contains(&status) {
                return parse_key_info(&body);
            }
            let now = self.clock.system_now();
            let api = crate::provider::wire::parse_error(
                self.provider,
                status,
                &headers,
                &body,
                self.key.expose(),
                now,
            );
            last = Some(Error::Api(Box::new(api)));
            if status != 404 {
                break;
            }
        }
        Err(last.unwrap_or(Error::Cancelled)) // the loop ran at least once
    }

    /// Fails with [`Error::CreditsExhausted`] when the key is known to be out of credit.
    pub(super) fn check_credits(&self) -> Result<()> {
        let Some(credits) = &self.credits else { return Ok(()) };
        let now = self.clock.now();
        let stale = |c: &CreditCache| {
            c.fetched.as_ref().is_none_or(|(at, _)| now.saturating_duration_since(*at) > FRESH_FOR)
        };
        if stale(&credits.cache.lock()) {
            let _one_at_a_time = credits.refresh.lock();
            // Another thread may have refreshed it while we waited for the lock.
            if stale(&credits.cache.lock()) {
                // Unreadable key info (an old proxy, a network blip) must not stop the job:
                // the requests themselves will say 402 if credit really is gone.
                let read = self.key_info();
                tell_credits(&read, credits.cache.lock().fetched.is_none());
                let info = read.ok();
                let mut c = credits.cache.lock();
                if info.is_some() {
                    c.exhausted = false;
                }
                c.fetched = Some((self.clock.now(), info));
            }
        }
        let c = credits.cache.lock();
        let info = c.fetched.as_ref().and_then(|(_, i)| i.as_ref());
        let remaining = info.and_then(|i| i.limit_remaining);
        if c.exhausted || info.is_some_and(OpenRouterKeyInfo::credits_exhausted) {
            return Err(Error::CreditsExhausted { remaining: remaining.unwrap_or(0.0) });
        }
        Ok(())
    }

    /// The key's deprecated `rate_limit` (requests per interval) from the last `GET /key`:
    /// `None` until the credit check has read the key, then the hint, if the key states one
    /// (`-1` means none).
    pub(super) fn key_rate_hint(&self) -> Option<Option<(u64, Duration)>> {
        let credits = self.credits.as_ref()?;
        let c = credits.cache.lock();
        let info = c.fetched.as_ref()?.1.as_ref()?;
        let hint = info.rate_limit_requests.zip(info.rate_limit_interval);
        Some(hint.filter(|(n, w)| *n > 0 && !w.is_zero()))
    }

    /// A 402: the key is out of credit until a refresh shows otherwise.
    pub(super) fn mark_credits_exhausted(&self) {
        if let Some(credits) = &self.credits {
            let mut c = credits.cache.lock();
            if !c.exhausted {
                log::warn!(target: TARGET, "OpenRouter answered 402: the key is out of credit; failing requests fast until GET /key shows credit again");
            }
            c.exhausted = true;
            c.fetched = Some((self.clock.now(), c.fetched.take().and_then(|(_, i)| i)));
        }
    }
}

/// Tells what a credit check found: at `info` the first time (and whenever the key is out of
/// credit, at `warn`), at `debug` on each later refresh.
fn tell_credits(read: &Result<OpenRouterKeyInfo>, first: bool) {
    let level = if first { log::Level::Info } else { log::Level::Debug };
    match read {
        Ok(i) if i.credits_exhausted() => {
            log::warn!(target: TARGET, "OpenRouter credits exhausted (used {:.4} USD): requests fail fast", i.usage);
        }
        Ok(i) => match (i.limit_remaining, i.limit) {
            (Some(left), Some(limit)) => {
                log::log!(target: TARGET, level, "OpenRouter credits: {left:.4} USD left of {limit:.4} (used {:.4})", i.usage);
            }
            _ => {
                log::log!(target: TARGET, level, "OpenRouter credits: no cap on this key (used {:.4} USD)", i.usage)
            }
        },
        Err(e) => {
            log::log!(target: TARGET, level, "OpenRouter credits unknown (GET /key: {e}); sending anyway")
        }
    }
}
