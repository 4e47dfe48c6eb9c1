//! The API key, kept out of every `Debug`, `Display`, error and log.

use std::fmt;

/// An API key. Its `Debug` shows only that a key is set; nothing in the crate prints it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    /// Wraps a key; surrounding white space (a pasted newline) is removed.
    pub(crate) fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into().trim().to_string())
    }

    /// The key itself, for the auth header and for redaction only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A short, non-reversible fingerprint of the key (16 hex digits of SHA-1 over a
    /// domain-separated input), for namespacing shared state without storing the key.
    ///
    /// 64 bits cannot be turned back into a key with far more entropy than that; they are
    /// only enough to tell keys apart, which is all the namespace needs.
    #[cfg(feature = "redis")]
    pub(crate) fn fingerprint(&self) -> String {
        let mut h = sha1_smol::Sha1::new();
        h.update(b"chat-limiter/key-fingerprint/v1\0");
        h.update(self.0.as_bytes());
        h.digest().to_string()[..16].to_string()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let k = ApiKey::new(" sk-secret-123\n");
        assert_eq!(k.expose(), "sk-secret-123");
        assert!(!format!("{k:?}").contains("secret"));
    }

    #[cfg(feature = "redis")]
    #[test]
    fn fingerprint_is_stable_short_and_not_the_key() {
        let a = ApiKey::new("sk-secret-123");
        assert_eq!(a.fingerprint(), ApiKey::new(" sk-secret-123 ").fingerprint());
        assert_eq!(a.fingerprint().len(), 16);
        assert!(a.fingerprint().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a.fingerprint(), ApiKey::new("sk-secret-124").fingerprint());
        assert!(!a.fingerprint().contains("secret"));
    }
}
