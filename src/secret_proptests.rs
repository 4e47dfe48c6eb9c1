//! Property tests of key redaction: whatever form a server echoes the key in, and whatever
//! surrounds it, no run of 12 of its characters (in any case) survives, nor its encodings.

use super::*;
use proptest::prelude::*;

fn b64_std(bytes: &[u8]) -> String {
    // A reference encoder with padding, independent of the one under test.
    let abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".as_bytes();
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (k, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if k <= c.len() {
                s.push(abc[((n >> shift) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn echoed(key: &str, form: u8, start: usize, len: usize, prefix: &str) -> String {
    match form {
        0 => key.to_string(),
        1 => key.to_ascii_uppercase(),
        2 => key.to_ascii_lowercase(),
        3 => b64_std(format!("{prefix}{key}").as_bytes()),
        4 => b64_std(format!("{prefix}{key}").as_bytes()).replace('+', "-").replace('/', "_"),
        5 => key.bytes().map(|b| format!("%{b:02X}")).collect(),
        _ => {
            let start = start % (key.len() - MIN_RUN + 1);
            let len = MIN_RUN + len % (key.len() - start - MIN_RUN + 1);
            key[start..start + len].to_string()
        }
    }
}

proptest! {
    #[test]
    fn no_form_of_the_key_survives(
        key in "[A-Za-z0-9_+/=-]{20,64}",
        form in 0u8..7,
        start in 0usize..64,
        len in 0usize..64,
        prefix in "[ -~]{0,3}",
        before in "[ -~]{0,40}",
        after in "[ -~]{0,40}",
    ) {
        let echo = echoed(&key, form, start, len, &prefix);
        let text = format!("{before}{echo}{after}");
        let out = redact_forms(&text, &key);
        let low = out.to_ascii_lowercase();
        let key_low = key.to_ascii_lowercase();
        for w in key_low.as_bytes().windows(MIN_RUN) {
            prop_assert!(!low.contains(std::str::from_utf8(w).unwrap()), "{out}");
        }
        if (3..=5).contains(&form) {
            // The whole encoded form is never left intact.
            prop_assert!(!out.contains(&echo), "{out}");
        }
        prop_assert!(out.contains("[REDACTED]"));
    }

    #[test]
    fn text_without_the_key_is_unchanged(text in "[ -~\u{e9}\u{4e2d}]{0,80}") {
        let key = "sk-\u{1}\u{2}never-in-the-text-0123456789";
        prop_assert_eq!(redact_forms(&text, key), text);
    }
}
