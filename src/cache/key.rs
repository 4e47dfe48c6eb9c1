//! The cache key: a SHA-256 over everything that can change the answer, written in one
//! canonical form, and the rule that tells a deterministic request from one that is not.
//!
//! What goes in (in this order, one per line): a format tag (`chat-limiter cache v1`), the
//! provider, the base URL, the method and path (the endpoint), the extra headers except those
//! that carry credentials (sorted by lower-cased name), and the request body exactly as sent,
//! in canonical JSON. The API key never goes in.
//!
//! Canonical JSON: object keys sorted by their bytes at every depth, no whitespace, strings
//! escaped as `serde_json` writes them, and numbers in one form: an integral number whose
//! magnitude is below 2^53 is written as an integer (`1`, `1.0`, `1e0`, `10E-1` and `-0.0`
//! all read as the same value), any other number as the shortest decimal that reads back as
//! the same `f64` (`0.7`, `0.70` and `7e-1` are one key). Integers written as such beyond
//! 2^53 keep their digits. So two requests that differ only in key order or in how a number
//! is spelled share an entry, and any change of value (a `temperature`, a `seed`) does not.

use std::fmt::Write as _;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::provider_id::Provider;

/// The version of the key's layout; bump it when the layout changes, so old entries miss.
const KEY_TAG: &str = "chat-limiter cache v1";

/// Integral floats below this magnitude are written as integers (2^53: every integer below
/// it is exact in an `f64`).
const EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// What identifies a call, as the request loop sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyParts<'a> {
    pub provider: Provider,
    pub base_url: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    /// The configured extra headers (credential-bearing ones are left out of the key).
    pub headers: &'a [(String, String)],
    pub body: &'a Value,
}

/// The hex SHA-256 key of a call.
pub(crate) fn cache_key(parts: &KeyParts<'_>) -> String {
    let mut text = String::with_capacity(256);
    let _ = writeln!(text, "{KEY_TAG}");
    let _ = writeln!(text, "{}", parts.provider.as_str());
    let _ = writeln!(text, "{}", parts.base_url.trim_end_matches('/'));
    let _ = writeln!(text, "{} {}", parts.method.to_ascii_uppercase(), parts.path);
    let mut headers: Vec<(String, &str)> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .filter(|(k, _)| !is_credential(k))
        .collect();
    headers.sort();
    for (k, v) in headers {
        let _ = writeln!(text, "{k}: {v}");
    }
    text.push('\n');
    canonical_json(parts.body, &mut text);
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A header whose value is a credential: never part of a key.
fn is_credential(name: &str) -> bool {
    ["auth", "key", "token", "cookie", "secret", "password"].iter().any(|w| name.contains(w))
}

/// Appends the canonical form of `v` (see the module docs) to `out`.
pub(crate) fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Null | Value::Bool(_) | Value::String(_) => out.push_str(&v.to_string()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                canonical_float(n.as_f64().unwrap_or(f64::NAN), out);
            }
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(item, out);
            }
            out.push('}');
        }
    }
}

/// A float in its one form: an integer when integral and exact, else the shortest decimal.
fn canonical_float(f: f64, out: &mut String) {
    if f.fract() == 0.0 && f.abs() < EXACT_INT {
        // In range and integral: the cast is exact (and turns -0.0 into 0).
        let _ = write!(out, "{}", f as i64);
    } else {
        // serde_json writes the shortest round-tripping form (ryu); JSON has no NaN or
        // infinity, so those never reach here from a parsed body.
        out.push_str(&Value::from(f).to_string());
    }
}

/// Whether the request may answer differently each time: sampling is on (a `temperature`
/// above 0, or none given: all three providers default to 1) and no `seed` pins it.
pub(crate) fn is_nondeterministic(body: &Value) -> bool {
    let seeded = body.get("seed").is_some_and(|s| !s.is_null());
    let sampling = match body.get("temperature") {
        None | Some(Value::Null) => true,
        Some(t) => t.as_f64().is_none_or(|t| t > 0.0),
    };
    sampling && !seeded
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(body: &Value) -> String {
        cache_key(&KeyParts {
            provider: Provider::OpenAI,
            base_url: "http://127.0.0.1:1/v1",
            method: "POST",
            path: "/chat/completions",
            headers: &[],
            body,
        })
    }

    #[test]
    fn numbers_have_one_form() {
        let mut s = String::new();
        canonical_json(
            &serde_json::from_str(r#"[1, 1.0, 1e0, -0.0, 0.70, 7e-1, 1e300]"#).unwrap(),
            &mut s,
        );
        assert_eq!(s, "[1,1,1,0,0.7,0.7,1e+300]");
    }

    #[test]
    fn what_changes_the_answer_changes_the_key() {
        let base = json!({"model": "m", "messages": [], "temperature": 0});
        let k = key(&base);
        assert_eq!(k.len(), 64);
        assert_eq!(k, key(&json!({"temperature": 0.0, "messages": [], "model": "m"})));
        assert_ne!(k, key(&json!({"model": "m", "messages": [], "temperature": 0.5})));
        assert_ne!(k, key(&json!({"model": "m", "messages": [], "temperature": 0, "seed": 1})));
        assert_ne!(k, key(&json!({"model": "n", "messages": [], "temperature": 0})));
        let other_path = cache_key(&KeyParts {
            provider: Provider::OpenAI,
            base_url: "http://127.0.0.1:1/v1",
            method: "POST",
            path: "/responses",
            headers: &[],
            body: &base,
        });
        assert_ne!(k, other_path);
    }

    #[test]
    fn credentials_in_headers_stay_out_of_the_key() {
        let body = json!({"model": "m"});
        let with = |headers: &[(String, String)]| {
            cache_key(&KeyParts {
                provider: Provider::Anthropic,
                base_url: "u",
                method: "POST",
                path: "/messages",
                headers,
                body: &body,
            })
        };
        let a = with(&[("X-Api-Key".into(), "sk-1".into())]);
        let b = with(&[("x-api-key".into(), "sk-2".into())]);
        assert_eq!(a, b);
        let beta = with(&[("anthropic-beta".into(), "x".into())]);
        assert_ne!(a, beta);
    }

    #[test]
    fn nondeterminism_rule() {
        assert!(is_nondeterministic(&json!({})));
        assert!(is_nondeterministic(&json!({"temperature": 0.7})));
        assert!(!is_nondeterministic(&json!({"temperature": 0})));
        assert!(!is_nondeterministic(&json!({"temperature": 1, "seed": 7})));
        assert!(!is_nondeterministic(&json!({"seed": 7})));
        assert!(is_nondeterministic(&json!({"temperature": 0.2, "seed": null})));
    }
}
