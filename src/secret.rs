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

/// The shortest run of a key's characters that redaction removes wherever it appears.
pub(crate) const MIN_RUN: usize = 12;

/// See [`crate::error::redact`].
pub(crate) fn redact_forms(text: &str, secret: &str) -> String {
    if secret.len() < 4 || text.is_empty() {
        return text.to_string();
    }
    let forms = encoded_forms(secret.as_bytes());
    // Every window of MIN_RUN bytes of every form (the whole form when shorter), lower-cased.
    let mut windows: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
    let mut sizes: Vec<usize> = Vec::new();
    for f in &forms {
        let f = f.to_ascii_lowercase();
        let w = f.len().min(MIN_RUN);
        if w < 4 {
            continue;
        }
        if !sizes.contains(&w) {
            sizes.push(w);
        }
        for win in f.windows(w) {
            windows.insert(win.to_vec());
        }
    }
    let lower = text.as_bytes().to_ascii_lowercase();
    let mut hit = vec![false; lower.len()];
    for &w in &sizes {
        for (i, win) in lower.windows(w).enumerate() {
            if windows.contains(win) {
                hit[i..i + w].iter_mut().for_each(|h| *h = true);
            }
        }
    }
    percent_decoded_hits(text.as_bytes(), &secret.as_bytes().to_ascii_lowercase(), &mut hit);
    if !hit.contains(&true) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for (i, ch) in text.char_indices() {
        // A character is redacted when any of its bytes is.
        if hit[i..i + ch.len_utf8()].contains(&true) {
            if !in_run {
                out.push_str("[REDACTED]");
            }
            in_run = true;
        } else {
            out.push(ch);
            in_run = false;
        }
    }
    out
}

/// Marks the bytes of `text` that, once `%XX` escapes are decoded (any mix of escaped and
/// plain bytes, as encoders differ on what they escape), spell a run of the key.
fn percent_decoded_hits(text: &[u8], key: &[u8], hit: &mut [bool]) {
    let hex = |b: u8| (b as char).to_digit(16);
    let (mut decoded, mut origin) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < text.len() {
        let escaped = (text[i] == b'%' && i + 2 < text.len())
            .then(|| Some(hex(text[i + 1])? * 16 + hex(text[i + 2])?))
            .flatten();
        match escaped {
            Some(b) => {
                decoded.push((b as u8).to_ascii_lowercase());
                origin.push((i, 3));
                i += 3;
            }
            None => {
                decoded.push(text[i].to_ascii_lowercase());
                origin.push((i, 1));
                i += 1;
            }
        }
    }
    let w = key.len().min(MIN_RUN);
    if origin.len() == text.len() || w < 4 {
        return; // nothing was escaped: the plain forms already covered it
    }
    let runs: std::collections::HashSet<&[u8]> = key.windows(w).collect();
    for (j, win) in decoded.windows(w).enumerate() {
        if runs.contains(win) {
            for &(start, len) in &origin[j..j + w] {
                hit[start..start + len].iter_mut().for_each(|h| *h = true);
            }
        }
    }
}

/// The key as a server might echo it: itself, base64 and base64url at the three byte
/// alignments (the characters that depend only on the key's bytes), and URL-encoded (only
/// reserved bytes, or every byte).
fn encoded_forms(key: &[u8]) -> Vec<Vec<u8>> {
    let mut forms = vec![key.to_vec()];
    for skip in 0..3.min(key.len()) {
        let part = &key[skip..];
        let whole = &part[..part.len() - part.len() % 3];
        let std = base64(whole);
        let url: Vec<u8> = std
            .iter()
            .map(|c| match c {
                b'+' => b'-',
                b'/' => b'_',
                c => *c,
            })
            .collect();
        forms.push(std);
        forms.push(url);
    }
    let mut pct = Vec::with_capacity(key.len() * 3);
    for &b in key {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            pct.push(b);
        } else {
            pct.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    forms.push(pct);
    // Some encoders escape every byte.
    forms.push(key.iter().flat_map(|b| format!("%{b:02X}").into_bytes()).collect());
    forms
}

/// Standard base64 without padding of a whole number of 3-byte groups.
fn base64(bytes: &[u8]) -> Vec<u8> {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(bytes.len() / 3 * 4);
    for g in bytes.chunks_exact(3) {
        let n = (u32::from(g[0]) << 16) | (u32::from(g[1]) << 8) | u32::from(g[2]);
        for shift in [18, 12, 6, 0] {
            out.push(ABC[((n >> shift) & 63) as usize]);
        }
    }
    out
}

#[cfg(test)]
#[path = "secret_proptests.rs"]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_mix_of_percent_escapes_is_caught() {
        let key = "sk-cli-test-DO-NOT-PRINT-4242";
        for echoed in [key.replace('-', "%2D"), key.replace('-', "%2d").replace('s', "%73")] {
            let out = redact_forms(&format!("bad key {echoed} here"), key);
            assert_eq!(out, "bad key [REDACTED] here", "{echoed}");
        }
        assert_eq!(redact_forms("100%25 ok %zz", key), "100%25 ok %zz", "no false hit");
    }

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
