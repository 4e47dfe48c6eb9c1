//! Learning limits from the answers that only some servers give: a 429 as the first figures,
//! a remaining with no limit (Azure), a key's hint; and the slow start while nothing is known.

use std::time::{Duration, Instant};

use super::super::{Cost, LimitConfig, ModelState, Poll};
use crate::limit::info::{DimensionInfo, RateLimitInfo};

fn cfg() -> LimitConfig {
    LimitConfig {
        requests: None,
        tokens: None,
        input: None,
        output: None,
        request_ratio: 1.0,
        token_ratio: 1.0,
        request_window: Duration::from_secs(60),
        token_window: Duration::from_secs(60),
        max_in_flight: 1000,
        learn_from_headers: false,
        max_wait: None,
    }
}

/// Admits as many as the state lets go at `now`; returns how many.
fn admit_all(st: &mut ModelState, now: Instant, n: usize) -> usize {
    let mut admitted = 0;
    for _ in 0..n {
        st.enqueue(false);
        match st.poll_head(&Cost::default(), now) {
            Poll::Admit { .. } => admitted += 1,
            _ => {
                let head = st.head().unwrap();
                st.remove(head);
                break;
            }
        }
    }
    admitted
}

#[test]
fn nothing_known_starts_small_and_doubles_per_round_trip_of_successes() {
    let t0 = Instant::now();
    let mut st = ModelState::new(cfg(), t0);
    assert!(st.discovering());
    assert_eq!(admit_all(&mut st, t0, 100), 2, "never the whole queue at once");
    for _ in 0..2 {
        st.release(false, true, true, t0, t0);
    }
    assert_eq!(admit_all(&mut st, t0, 100), 4);
    for _ in 0..4 {
        st.release(false, true, true, t0, t0);
    }
    assert_eq!(admit_all(&mut st, t0, 100), 8);
    // A 429 with nothing in it halves the window.
    st.pause(t0);
    for _ in 0..8 {
        st.release(false, false, false, t0, t0);
    }
    assert_eq!(admit_all(&mut st, t0, 100), 4);
}

#[test]
fn a_429_that_reveals_the_limit_ends_discovery_with_its_window() {
    let t0 = Instant::now();
    let mut st = ModelState::new(cfg(), t0);
    // OpenRouter's 429: X-RateLimit-Limit 100, Remaining 0, Reset in 100 ms (the next
    // request fits then): 100 requests per 10 s, not per minute.
    let info = RateLimitInfo {
        requests: DimensionInfo { limit: Some(100), remaining: Some(0), reset: None },
        retry_after: Some(Duration::from_millis(100)),
        ..RateLimitInfo::default()
    };
    st.sync(&info, t0, None);
    assert!(!st.discovering());
    let snap = st.snapshot("m", t0);
    let requests = snap.requests.unwrap();
    assert_eq!((requests.limit, requests.remaining), (100, 0));
    // Empty now; ten seconds refill it all.
    assert_eq!(st.snapshot("m", t0 + Duration::from_secs(10)).requests.unwrap().remaining, 100);
    // A hint as long as a minute or more is a fixed window's end, not a rate: the default
    // minute stays.
    let mut st = ModelState::new(cfg(), t0);
    let info = RateLimitInfo { retry_after: Some(Duration::from_secs(90)), ..info };
    st.sync(&info, t0, None);
    let later = st.snapshot("m", t0 + Duration::from_secs(30)).requests.unwrap();
    assert_eq!(later.remaining, 50, "100 per minute");
}

#[test]
fn a_remaining_with_no_limit_sizes_a_bucket_that_grows_with_larger_readings() {
    let t0 = Instant::now();
    let mut st = ModelState::new(cfg(), t0);
    let azure = |remaining| RateLimitInfo {
        requests: DimensionInfo { limit: None, remaining: Some(remaining), reset: None },
        ..RateLimitInfo::default()
    };
    st.sync(&azure(9), t0, None);
    let r = st.snapshot("m", t0).requests.unwrap();
    assert_eq!((r.limit, r.remaining), (10, 9), "at least the remaining and this request");
    st.sync(&azure(49), t0, None);
    assert_eq!(st.snapshot("m", t0).requests.unwrap().limit, 50);
    st.sync(&azure(3), t0, None);
    let r = st.snapshot("m", t0).requests.unwrap();
    assert_eq!((r.limit, r.remaining), (50, 3), "a lower reading only lowers the level");
    assert_eq!(admit_all(&mut st, t0, 10), 3, "and holds admission there");
}

#[test]
fn a_key_hint_starts_a_bucket_only_when_nothing_better_is_known() {
    let t0 = Instant::now();
    let mut st = ModelState::new(cfg(), t0);
    st.hint_requests(20, Duration::from_secs(10), t0);
    assert_eq!(admit_all(&mut st, t0, 100), 20, "the hint's whole window at once");
    assert_eq!(st.snapshot("m", t0 + Duration::from_secs(5)).requests.unwrap().remaining, 10);
    // A configured limit is not replaced by a hint.
    let mut st = ModelState::new(LimitConfig { requests: Some(5), ..cfg() }, t0);
    st.hint_requests(20, Duration::from_secs(10), t0);
    assert_eq!(st.snapshot("m", t0).requests.unwrap().limit, 5);
}
