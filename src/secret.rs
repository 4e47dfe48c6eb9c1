//! The API key, kept out of every `Debug`, `Display`, error and log.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock};

/// An API key. Its `Debug` shows only that a key is set; nothing in the crate prints it.
#[derive(Clone)]
pub(crate) struct ApiKey(String, OnceLock<Arc<Redactor>>);

impl PartialEq for ApiKey {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for ApiKey {}

impl ApiKey {
    /// Wraps a key; surrounding white space (a pasted newline) is removed.
    pub(crate) fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into().trim().to_string(), OnceLock::new())
    }

    /// `text` without the key in any form (see [`crate::error::redact`]), with the key's
    /// redaction patterns built on first use and kept.
    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.1.get_or_init(|| Arc::new(Redactor::new(&self.0))).redact(text)
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
// A window and its length must fit the `u128` a `WindowSet` packs it into.
const _: () = assert!(MIN_RUN < 16);

/// See [`crate::error::redact`].
pub(crate) fn redact_forms(text: &str, secret: &str) -> String {
    if secret.len() < 4 || text.is_empty() {
        return text.to_string();
    }
    Redactor::new(secret).redact(text).into_owned()
}

/// What redaction looks for, worked out once per key: every window of [`MIN_RUN`] bytes of
/// every encoded form (the whole form when shorter), lower-cased. Building it costs far more
/// than scanning a short text with it, so the request path keeps one per key
/// ([`ApiKey::redact`]) rather than building it for every response's request id.
#[derive(Default)]
pub(crate) struct Redactor {
    windows: WindowSet,
    sizes: Vec<usize>,
    /// The key's own windows, lower-cased, for the percent-decoded scan.
    key_runs: WindowSet,
    key_run: usize,
}

/// Windows of at most [`MIN_RUN`] (< 16) bytes, each packed into a `u128` with its length,
/// behind a multiplicative hash: a lookup per byte of every response's request id must cost
/// nanoseconds, and the keys are the crate's own (no hash flooding to defend against).
type WindowSet = HashSet<u128, BuildHasherDefault<PackedHasher>>;

/// A window, lower-cased as it is packed (so the text needs no lower-cased copy).
fn pack(window: &[u8]) -> u128 {
    window
        .iter()
        .fold(window.len() as u128, |acc, &b| (acc << 8) | u128::from(b.to_ascii_lowercase()))
}

/// Hashes the one `u128` a [`WindowSet`] holds.
#[derive(Default)]
pub(crate) struct PackedHasher(u64);

impl Hasher for PackedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u128(&mut self, n: u128) {
        let folded = (n as u64) ^ ((n >> 64) as u64).rotate_left(29);
        self.0 = (self.0 ^ folded).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 ^= self.0 >> 32;
    }
}

impl Redactor {
    fn new(secret: &str) -> Self {
        let mut r = Redactor::default();
        if secret.len() < 4 {
            return r; // too short to redact without destroying every text
        }
        for f in encoded_forms(secret.as_bytes()) {
            let f = f.to_ascii_lowercase();
            let w = f.len().min(MIN_RUN);
            if w < 4 {
                continue;
            }
            if !r.sizes.contains(&w) {
                r.sizes.push(w);
            }
            r.windows.extend(f.windows(w).map(pack));
        }
        let key = secret.as_bytes().to_ascii_lowercase();
        r.key_run = key.len().min(MIN_RUN);
        r.key_runs = key.windows(r.key_run).map(pack).collect();
        r
    }

    /// `text` with every run of the key, in any of its forms, replaced by `[REDACTED]`
    /// (borrowed as it is when nothing matched: the common case costs no allocation).
    fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let bytes = text.as_bytes();
        let mut hit = self.window_hits(bytes);
        if !self.sizes.is_empty() && bytes.contains(&b'%') {
            let h = hit.get_or_insert_with(|| vec![false; bytes.len()]);
            percent_decoded_hits(bytes, &self.key_runs, self.key_run, h);
        }
        let Some(hit) = hit.filter(|h| h.contains(&true)) else {
            return Cow::Borrowed(text);
        };
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
        Cow::Owned(out)
    }
}

impl Redactor {
    /// Marks the bytes of `bytes` inside a window of a form of the key (`None`: no hit).
    fn window_hits(&self, bytes: &[u8]) -> Option<Vec<bool>> {
        let mut hit: Option<Vec<bool>> = None;
        for &w in &self.sizes {
            // Each window packed as it slides (one shift per byte, not `w`): exactly what
            // `pack` gives, since a packed window is its length above its bytes.
            let (len, mask) = ((w as u128) << (8 * w), (1u128 << (8 * w)) - 1);
            let mut run = 0u128;
            for (end, &b) in bytes.iter().enumerate() {
                run = ((run << 8) | u128::from(b.to_ascii_lowercase())) & mask;
                if end + 1 >= w && self.windows.contains(&(len | run)) {
                    let i = end + 1 - w;
                    hit.get_or_insert_with(|| vec![false; bytes.len()])[i..i + w].fill(true);
                }
            }
        }
        hit
    }
}

/// Marks the bytes of `text` that, once `%XX` escapes are decoded (any mix of escaped and
/// plain bytes, as encoders differ on what they escape), spell a run of the key.
fn percent_decoded_hits(text: &[u8], runs: &WindowSet, w: usize, hit: &mut [bool]) {
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
    if origin.len() == text.len() || w < 4 {
        return; // nothing was escaped: the plain forms already covered it
    }
    for (j, win) in decoded.windows(w).enumerate() {
        if runs.contains(&pack(win)) {
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
    fn sliding_windows_hit_what_packing_each_window_hits() {
        for key in ["sk-bench", "sk-a1b2c3", "sk-proj-0123456789abcdefXYZ+/=="] {
            let r = Redactor::new(key);
            let upper = key.to_ascii_uppercase();
            for text in [
                String::new(),
                "x".into(),
                key.into(),
                format!("id {upper} and {key} end"),
                format!("{}{}", &key[1..], &key[..key.len() - 1]),
                "c2stYmVuY2g= and c2stcHJvai0wMTIz".into(),
            ] {
                let bytes = text.as_bytes();
                let mut naive: Option<Vec<bool>> = None;
                for &w in &r.sizes {
                    for (i, win) in bytes.windows(w).enumerate() {
                        if r.windows.contains(&pack(win)) {
                            naive.get_or_insert_with(|| vec![false; bytes.len()])[i..i + w]
                                .fill(true);
                        }
                    }
                }
                assert_eq!(r.window_hits(bytes), naive, "{key}: {text}");
            }
        }
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
