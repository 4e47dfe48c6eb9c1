//! [`RawResponse`]: the answer of a low-level request.

use serde_json::Value;

use crate::error::{Error, Result};

/// The raw answer of [`ChatLimiter::request`](crate::ChatLimiter::request).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RawResponse {
    /// HTTP status (always 2xx: errors come back as [`Error::Api`]).
    pub status: u16,
    /// Response headers as (lower-case name, value) pairs.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body parsed as JSON.
    pub fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::InvalidRequest(format!("response body is not JSON: {e}")))
    }
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl crate::budget::Billed for RawResponse {
    /// A raw answer is not read: its cost is counted at its worst case.
    fn bill(&mut self, charge: crate::budget::Charge) {
        charge.settle(None);
    }
}
