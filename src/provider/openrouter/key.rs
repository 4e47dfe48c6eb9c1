//! OpenRouter's key information (`GET /api/v1/key`, alias `/api/v1/auth/key`;
//! docs/providers.md §3.5).
//!
//! OpenRouter sends no rate-limit headers on success, so this endpoint is how a client learns
//! whether the key still has credit before a stream of requests all fail with 402.

use std::time::Duration;

use serde_json::Value;

use crate::error::Error;
use crate::provider::duration::parse_go_duration;
use crate::provider::json::{f64_of, string_of, u64_of};
use crate::provider_id::Provider;

/// What OpenRouter says about an API key: its credit cap, what is left, and its tier.
///
/// Read from `GET /api/v1/key` (or the older `GET /api/v1/auth/key`, which has no
/// `limit_remaining`; it is then computed as `limit − usage`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OpenRouterKeyInfo {
    /// The key's display label (a masked form such as `sk-or-v1-au7...890`, never the key).
    pub label: Option<String>,
    /// Credit cap of the key in USD; `None` means unlimited.
    pub limit: Option<f64>,
    /// Credits left under the cap in USD; `None` means unlimited.
    pub limit_remaining: Option<f64>,
    /// Credits used so far in USD.
    pub usage: f64,
    /// Whether the account has never purchased credits (50 free-model requests a day, not 1000).
    pub is_free_tier: bool,
    /// Deprecated `rate_limit.requests`, when still sent.
    pub rate_limit_requests: Option<u64>,
    /// Deprecated `rate_limit.interval` (`"10s"`, `"1h"`), when still sent and readable.
    pub rate_limit_interval: Option<Duration>,
}

impl OpenRouterKeyInfo {
    /// Whether the key's credit cap is used up, so every request would get 402.
    pub fn credits_exhausted(&self) -> bool {
        self.limit_remaining.is_some_and(|r| r <= 0.0)
    }
}

/// Parses the body of `GET /key` or `GET /auth/key` (both wrap the fields in `data`).
pub(crate) fn parse_key_info(body: &[u8]) -> Result<OpenRouterKeyInfo, Error> {
    let invalid =
        |message: String| Error::InvalidResponse { provider: Provider::OpenRouter, message };
    let root: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("key info is not JSON ({e})")))?;
    let data = match root.get("data") {
        Some(d @ Value::Object(_)) => d,
        _ => return Err(invalid("key info has no `data` object".into())),
    };
    let limit = f64_of(data.get("limit"));
    let usage = f64_of(data.get("usage")).unwrap_or(0.0);
    let limit_remaining = match data.get("limit_remaining") {
        Some(v) if !v.is_null() => f64_of(Some(v)),
        // Older shape: no field at all. An explicit null means unlimited, like `limit: null`.
        None => limit.map(|l| l - usage),
        Some(_) => None,
    };
    let rate_limit = data.get("rate_limit");
    Ok(OpenRouterKeyInfo {
        label: string_of(data.get("label")),
        limit,
        limit_remaining,
        usage,
        is_free_tier: data.get("is_free_tier").and_then(Value::as_bool).unwrap_or(false),
        rate_limit_requests: rate_limit.and_then(|r| u64_of(r.get("requests"))),
        rate_limit_interval: rate_limit
            .and_then(|r| r.get("interval"))
            .and_then(Value::as_str)
            .and_then(parse_go_duration),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_shape() {
        let body = br#"{"data":{"label":"sk-or-v1-au7...890","limit":100,"limit_reset":"monthly",
            "limit_remaining":74.5,"include_byok_in_limit":false,"usage":25.5,"usage_daily":25.5,
            "is_free_tier":false,"is_management_key":false,
            "rate_limit":{"requests":1000,"interval":"1h","note":"deprecated"}}}"#;
        let k = parse_key_info(body).expect("valid");
        assert_eq!(k.label.as_deref(), Some("sk-or-v1-au7...890"));
        assert_eq!(k.limit, Some(100.0));
        assert_eq!(k.limit_remaining, Some(74.5));
        assert_eq!(k.usage, 25.5);
        assert!(!k.is_free_tier);
        assert_eq!(k.rate_limit_requests, Some(1000));
        assert_eq!(k.rate_limit_interval, Some(Duration::from_secs(3600)));
        assert!(!k.credits_exhausted());
    }

    #[test]
    fn older_auth_key_shape() {
        let body = br#"{"data":{"label":"old","usage":12,"limit":10,"is_free_tier":true,
            "rate_limit":{"requests":10,"interval":"10s"}}}"#;
        let k = parse_key_info(body).expect("valid");
        assert_eq!(k.limit_remaining, Some(-2.0));
        assert!(k.credits_exhausted());
        assert!(k.is_free_tier);
        assert_eq!(k.rate_limit_interval, Some(Duration::from_secs(10)));
    }

    #[test]
    fn unlimited_key() {
        let body = br#"{"data":{"label":null,"limit":null,"limit_remaining":null,"usage":3}}"#;
        let k = parse_key_info(body).expect("valid");
        assert_eq!((k.limit, k.limit_remaining, k.label.as_deref()), (None, None, None));
        assert!(!k.credits_exhausted());
        let k = parse_key_info(br#"{"data":{"limit_remaining":0}}"#).expect("valid");
        assert!(k.credits_exhausted());
    }

    #[test]
    fn wrong_shapes_are_errors() {
        for body in [
            &b"<html>"[..],
            br#"{"error":{"code":401,"message":"Missing Authentication header"}}"#,
            b"[]",
            br#"{"data":5}"#,
        ] {
            assert!(matches!(parse_key_info(body), Err(Error::InvalidResponse { .. })));
        }
    }
}
