//! Header value formats (Go durations, RFC 3339), ids, and the seeded PRNG and hash the
//! emulator uses for determinism. Written from the providers' public documentation
//! (summarised in docs/providers.md), independent of the client.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Formats a duration like Go's `time.Duration.String()` as OpenAI shows it, truncated to
/// whole milliseconds: `0s`, `913ms`, `1s`, `6m0s`, `19m45.394s`, `1h0m5s`.
pub(crate) fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, frac) = (rest / 1000, rest % 1000);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h{m}m"));
    } else if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&s.to_string());
    if frac > 0 {
        let digits = format!("{frac:03}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('s');
    out
}

/// `YYYY-MM-DDTHH:MM:SSZ` for whole Unix seconds (UTC).
pub(crate) fn rfc3339(epoch_secs: u64) -> String {
    let days = (epoch_secs / 86_400) as i64;
    let secs = epoch_secs % 86_400;
    let (y, mo, d) = civil_from_days(days);
    format!("{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Wall-clock time as a `Duration` since the Unix epoch.
pub(crate) fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Anthropic reset: `now + wait`, rounded **up** to a whole second so a client that waits
/// until the reset is never early.
pub(crate) fn anthropic_reset(now: Duration, wait: Duration) -> String {
    let t = now + wait;
    let secs = t.as_secs() + u64::from(t.subsec_nanos() > 0);
    rfc3339(secs)
}

/// `40000` → `40,000` (Anthropic 429 messages).
pub(crate) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Rounds to the nearest 1000 (Anthropic token `remaining` headers).
pub(crate) fn round_thousand(n: u64) -> u64 {
    (n + 500) / 1000 * 1000
}

/// splitmix64: a tiny, seedable, good-enough PRNG; avoids a `rand` dependency.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `n` lowercase hex digits.
    pub(crate) fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n + 16);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(n);
        s
    }

    /// `n` characters of base62, like the opaque suffixes of provider ids.
    pub(crate) fn base62(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..n).map(|_| ALPHABET[(self.next_u64() % 62) as usize] as char).collect()
    }
}

/// FNV-1a, 64 bit: a stable hash of request bodies (output lengths, duplicate detection).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_duration_table_of_the_provider_docs() {
        let ms = Duration::from_millis;
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_micros(12), "0s"),
            (ms(2), "2ms"),
            (ms(90), "90ms"),
            (ms(120), "120ms"),
            (Duration::from_micros(913_600), "913ms"),
            (ms(1000), "1s"),
            (ms(432_000), "7m12s"),
            (ms(360_000), "6m0s"),
            (ms(252_172), "4m12.172s"),
            (ms(692_334), "11m32.334s"),
            (ms(1_185_394), "19m45.394s"),
            (ms(993_562), "16m33.562s"),
            (ms(3_605_000), "1h0m5s"),
            (ms(83_909_144), "23h18m29.144s"),
            (ms(1500), "1.5s"),
            (ms(61_020), "1m1.02s"),
        ];
        for (d, want) in cases {
            assert_eq!(go_duration(d), want, "{d:?}");
        }
    }

    #[test]
    fn rfc3339_utc_whole_seconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_740_435_947), "2025-02-24T22:25:47Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        let now = Duration::from_secs(1_740_435_932);
        assert_eq!(anthropic_reset(now, Duration::ZERO), "2025-02-24T22:25:32Z");
        assert_eq!(anthropic_reset(now, Duration::from_millis(1)), "2025-02-24T22:25:33Z");
        assert_eq!(anthropic_reset(now, Duration::from_secs(15)), "2025-02-24T22:25:47Z");
    }

    #[test]
    fn numbers_and_ids() {
        assert_eq!(thousands(40_000), "40,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(round_thousand(78_499), 78_000);
        assert_eq!(round_thousand(78_500), 79_000);
        let mut r = Rng::new(7);
        assert_eq!(r.hex(32).len(), 32);
        assert_eq!(Rng::new(7).next_u64(), Rng::new(7).next_u64());
        assert!((0.0..1.0).contains(&r.next_f64()));
    }
}
