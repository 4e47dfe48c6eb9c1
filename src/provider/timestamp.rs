//! RFC 3339 timestamps, the format of Anthropic's `anthropic-ratelimit-*-reset` headers.
//!
//! Real traffic only shows whole-second UTC values (`2025-02-24T22:25:47Z`), but the spec allows
//! fractions and numeric offsets, so the parser accepts any RFC 3339 date-time (docs/providers.md
//! §2.5). Written by hand (a days-from-civil conversion) to avoid a date-time dependency for one
//! format; anything malformed is `None`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` into a point in time.
///
/// `T` may also be `t` or a space and `Z` may be `z` (RFC 3339 §5.6 note). A leap second `:60`
/// is accepted and lands on the next second. Surrounding whitespace is ignored.
pub(crate) fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.trim().as_bytes();
    if b.len() < 20 {
        return None;
    }
    let year = digits(b, 0, 4)? as i64;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b[i] == b'.' {
        let start = i + 1;
        let len = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        // Keep nanosecond precision; further digits cannot matter.
        for (k, &c) in b[start..start + len.min(9)].iter().enumerate() {
            nanos += u32::from(c - b'0') * 10u32.pow(8 - k as u32);
        }
        i = start + len;
    }
    let offset_secs: i64 = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = digits(&[*h1, *h2], 0, 2)?;
            let om = digits(&[*m1, *m2], 0, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    // Local time = UTC + offset, so UTC = local − offset.
    let unix = local - offset_secs;
    let t = if unix >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(unix as u64))?
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(unix.unsigned_abs()))?
    };
    t.checked_add(Duration::from_nanos(u64::from(nanos)))
}

/// Reads `len` ASCII digits at `at` as a number.
fn digits(b: &[u8], at: usize, len: usize) -> Option<u32> {
    let slice = b.get(at..at + len)?;
    slice
        .iter()
        .try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 }; // March-based month, [0, 11]
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(s: &str) -> Option<f64> {
        parse_rfc3339(s).map(|t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs_f64(),
            Err(e) => -e.duration().as_secs_f64(),
        })
    }

    #[test]
    fn days_from_civil_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
    }

    #[test]
    fn anthropic_capture_values() {
        // date -u -d 2025-02-24T22:25:47Z +%s
        assert_eq!(unix("2025-02-24T22:25:47Z"), Some(1_740_435_947.0));
        assert_eq!(unix("2025-02-24T22:25:30Z"), Some(1_740_435_930.0));
    }

    #[test]
    fn fractions_offsets_and_case() {
        assert_eq!(unix("2025-02-24T22:25:47.5Z"), Some(1_740_435_947.5));
        let t = parse_rfc3339("2025-02-24T22:25:47.123456789123Z").expect("fraction");
        let d = t.duration_since(UNIX_EPOCH).expect("after epoch");
        assert_eq!((d.as_secs(), d.subsec_nanos()), (1_740_435_947, 123_456_789));
        assert_eq!(unix("2025-02-24T23:25:47+01:00"), Some(1_740_435_947.0));
        assert_eq!(unix("2025-02-24T17:25:47-05:00"), Some(1_740_435_947.0));
        assert_eq!(unix("2025-02-24t22:25:47z"), Some(1_740_435_947.0));
        assert_eq!(unix("2025-02-24 22:25:47Z"), Some(1_740_435_947.0));
        assert_eq!(unix(" 2025-02-24T22:25:47Z "), Some(1_740_435_947.0));
        assert_eq!(unix("1969-12-31T23:59:59Z"), Some(-1.0));
        assert_eq!(unix("2016-12-31T23:59:60Z"), Some(1_483_228_800.0));
        assert_eq!(unix("2024-02-29T00:00:00Z"), Some(1_709_164_800.0));
    }

    #[test]
    fn garbage_is_none() {
        for bad in [
            "",
            "banana",
            "2025-02-24T22:25:47",
            "2025-02-24T22:25:47+0100",
            "2025-02-24T22:25:47.Z",
            "2025-13-24T22:25:47Z",
            "2025-02-30T22:25:47Z",
            "2023-02-29T00:00:00Z",
            "2025-02-24T24:00:00Z",
            "2025-02-24T22:61:00Z",
            "2025-02-24T22:25:61Z",
            "2025-02-24T22:25:47+24:00",
            "2025-02-24X22:25:47Z",
            "2025/02/24T22:25:47Z",
            "2025-02-24T22:25:47ZZ",
            "+025-02-24T22:25:47Z",
            "2025-02-24T22:25:4７Z",
            "Mon, 24 Feb 2025 22:25:32 GMT",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }
}
