//! Go-style duration strings, the format of OpenAI's `x-ratelimit-reset-*` headers.
//!
//! OpenAI prints Go `time.Duration` values (`0s`, `913ms`, `6m0s`, `23h18m29.144s`); Groq copies
//! the headers with fractional forms (`2.34s`, `1m26.4s`); Azure sends bare integer seconds.
//! The parser accepts all of these (docs/providers.md §1.6) and answers `None` for anything
//! else, so a strange header means "unknown", never an error or a panic.

use std::time::Duration;

/// Nanoseconds per unit, longest suffix first so `ms` is tried before `m` and `s`.
const UNITS: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000), // U+00B5 MICRO SIGN, what Go prints
    ("μs", 1_000), // U+03BC GREEK SMALL LETTER MU, which Go also accepts
    ("ms", 1_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
];

/// More fraction digits than this cannot change a nanosecond result, so they are skipped
/// (and skipping them keeps the arithmetic far away from overflow).
const MAX_FRACTION_DIGITS: usize = 18;

/// Parses a Go duration (`1h2m3.5s`, `913ms`, `0s`) or a bare number of seconds (`64`, `2.5`).
///
/// Signs, exponents, empty strings and unknown units are rejected, as are values that do not
/// fit in a [`Duration`]. Surrounding whitespace is ignored.
pub(crate) fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    // Azure sends integer seconds; Go itself prints a bare "0" for zero.
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return decimal_nanos(s, 1_000_000_000).and_then(nanos_to_duration);
    }
    let mut rest = s;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let num_len = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        if num_len == 0 {
            return None;
        }
        let (number, after) = rest.split_at(num_len);
        let (unit, unit_ns) = UNITS.iter().find(|(u, _)| after.starts_with(u))?;
        total = total.checked_add(decimal_nanos(number, *unit_ns)?)?;
        rest = &after[unit.len()..];
    }
    nanos_to_duration(total)
}

/// `number × unit_ns` for a plain decimal such as `12`, `0.5`, `3.` or `.25`; truncates below
/// one nanosecond. `None` for a malformed number or one too large to matter.
fn decimal_nanos(number: &str, unit_ns: u128) -> Option<u128> {
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().chain(frac_part.bytes()).all(|b| b.is_ascii_digit()) {
        return None; // a second '.' lands here
    }
    // u128 holds 38 digits; a longer integer part overflows any Duration anyway.
    if int_part.len() > 30 {
        return None;
    }
    let whole: u128 = if int_part.is_empty() { 0 } else { int_part.parse().ok()? };
    let mut nanos = whole.checked_mul(unit_ns)?;
    let frac = &frac_part[..frac_part.len().min(MAX_FRACTION_DIGITS)];
    if !frac.is_empty() {
        let digits: u128 = frac.parse().ok()?;
        let scale = 10u128.pow(frac.len() as u32);
        nanos = nanos.checked_add(digits * unit_ns / scale)?;
    }
    Some(nanos)
}

fn nanos_to_duration(nanos: u128) -> Option<Duration> {
    let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Option<Duration> {
        Some(Duration::from_millis(v))
    }

    #[test]
    fn values_seen_in_openai_traffic() {
        // docs/providers.md §1.6, including every header of its arithmetic table.
        assert_eq!(parse_go_duration("0s"), ms(0));
        assert_eq!(parse_go_duration("2ms"), ms(2));
        assert_eq!(parse_go_duration("12ms"), ms(12));
        assert_eq!(parse_go_duration("90ms"), ms(90));
        assert_eq!(parse_go_duration("120ms"), ms(120));
        assert_eq!(parse_go_duration("180ms"), ms(180));
        assert_eq!(parse_go_duration("913ms"), ms(913));
        assert_eq!(parse_go_duration("1s"), ms(1000));
        assert_eq!(parse_go_duration("7m12s"), ms(432_000));
        assert_eq!(parse_go_duration("6m0s"), ms(360_000));
        assert_eq!(parse_go_duration("4m12.172s"), ms(252_172));
        assert_eq!(parse_go_duration("11m32.334s"), ms(692_334));
        assert_eq!(parse_go_duration("16m33.562s"), ms(993_562));
        assert_eq!(parse_go_duration("19m45.394s"), ms(1_185_394));
        assert_eq!(parse_go_duration("23m16.298s"), ms(1_396_298));
        assert_eq!(parse_go_duration("23h18m29.144s"), ms(83_909_144));
        assert_eq!(parse_go_duration("1h0m5s"), ms(3_605_000));
    }

    #[test]
    fn groq_and_azure_forms() {
        assert_eq!(parse_go_duration("2.34s"), ms(2340));
        assert_eq!(parse_go_duration("21.037s"), ms(21_037));
        assert_eq!(parse_go_duration("1m26.4s"), ms(86_400));
        assert_eq!(parse_go_duration("64"), ms(64_000));
        assert_eq!(parse_go_duration(" 0 "), ms(0));
        assert_eq!(parse_go_duration("2.5"), ms(2500));
    }

    #[test]
    fn small_units_and_fractions() {
        assert_eq!(parse_go_duration("1500us"), Some(Duration::from_micros(1500)));
        assert_eq!(parse_go_duration("3µs"), Some(Duration::from_micros(3)));
        assert_eq!(parse_go_duration("3μs"), Some(Duration::from_micros(3)));
        assert_eq!(parse_go_duration("7ns"), Some(Duration::from_nanos(7)));
        assert_eq!(parse_go_duration(".5s"), ms(500));
        assert_eq!(parse_go_duration("1.5h"), ms(5_400_000));
        assert_eq!(
            parse_go_duration("0.1234567891234567891234s"),
            Some(Duration::from_nanos(123_456_789))
        );
    }

    #[test]
    fn garbage_is_unknown() {
        for bad in [
            "",
            " ",
            "banana",
            "-1s",
            "+1s",
            "s",
            "1x",
            "1.2.3s",
            "1e3s",
            "ms",
            ".s",
            "1s ms",
            "1h-2m",
            "１s",
            "1 s",
            "99999999999999999999999999999999999h",
            "-5",
        ] {
            assert_eq!(parse_go_duration(bad), None, "{bad:?}");
        }
        // Large but representable values are fine; overflowing ones are not.
        assert!(parse_go_duration("6000000000000000h").is_none());
        assert_eq!(parse_go_duration("1000h"), Some(Duration::from_secs(3_600_000)));
    }
}
