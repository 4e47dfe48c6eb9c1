use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::limit::clock::{ManualClock, SystemClock};
use crate::limit::info::DimensionInfo;
use crate::limit::model::Since;

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

fn tokens(n: u64) -> Cost {
    Cost { tokens: n, ..Cost::default() }
}

fn dim(limit: u64, remaining: u64, reset_ms: u64) -> DimensionInfo {
    DimensionInfo {
        limit: Some(limit),
        remaining: Some(remaining),
        reset: Some(Duration::from_millis(reset_ms)),
    }
}

#[test]
fn fifo_head_reserves_and_small_requests_wait_behind_a_large_one() {
    let clock = ManualClock::new();
    let t0 = clock.now();
    let mut st = ModelState::new(LimitConfig { tokens: Some(60_000), ..cfg() }, t0); // 1000/s
    let a = st.enqueue(false);
    assert_eq!(st.head(), Some(a));
    assert_eq!(st.poll_head(&tokens(59_500), t0), Poll::Admit { probe: false });
    // Refill starts with the first answer (the server's bucket exists from then on).
    st.release(false, true, true, t0, t0);
    let big = st.enqueue(false);
    let small = st.enqueue(false);
    assert_eq!(st.head(), Some(big));
    // 500 left: the 800-token request waits 0.3 s; the 10-token one behind it may not jump.
    let Poll::WaitUntil(at) = st.poll_head(&tokens(800), t0) else { panic!("should wait") };
    assert_eq!(at - t0, Duration::from_millis(300));
    assert_eq!(st.head(), Some(big), "the small request stays behind");
    clock.advance(Duration::from_millis(300));
    assert_eq!(st.poll_head(&tokens(800), clock.now()), Poll::Admit { probe: false });
    assert_eq!(st.head(), Some(small));
    let Poll::WaitUntil(at) = st.poll_head(&tokens(10), clock.now()) else { panic!() };
    assert_eq!(at - clock.now(), Duration::from_millis(10));
}

#[test]
fn configured_buckets_refill_only_after_the_first_answer() {
    let clock = ManualClock::new();
    let t0 = clock.now();
    let mut st = ModelState::new(LimitConfig { requests: Some(60), ..cfg() }, t0);
    st.enqueue(false);
    assert_eq!(st.poll_head(&tokens(0), t0), Poll::Admit { probe: false });
    clock.advance(Duration::from_secs(5));
    assert_eq!(st.snapshot("m", clock.now()).requests.unwrap().remaining, 59, "no credit yet");
    st.release(false, true, true, clock.now(), clock.now());
    clock.advance(Duration::from_secs(1));
    assert_eq!(st.snapshot("m", clock.now()).requests.unwrap().remaining, 60);
}

#[test]
fn request_larger_than_the_bucket_never_fits() {
    let now = Instant::now();
    let mut st = ModelState::new(LimitConfig { tokens: Some(1000), ..cfg() }, now);
    st.enqueue(false);
    assert_eq!(
        st.poll_head(&tokens(1001), now),
        Poll::NeverFits { dimension: "tokens", needed: 1001, capacity: 1000 }
    );
    let mut st = ModelState::new(LimitConfig { output: Some(100), ..cfg() }, now);
    st.enqueue(false);
    let cost = Cost { output: 4096, ..Cost::default() };
    assert!(matches!(st.poll_head(&cost, now), Poll::NeverFits { dimension: "output tokens", .. }));
}

#[test]
fn settle_returns_unused_output_reservation() {
    let clock = ManualClock::new();
    let now = clock.now();
    let mut st =
        ModelState::new(LimitConfig { input: Some(10_000), output: Some(1_000), ..cfg() }, now);
    st.enqueue(false);
    let reserved = Cost { input: 200, output: 800, tokens: 0 };
    assert_eq!(st.poll_head(&reserved, now), Poll::Admit { probe: false });
    st.settle(&reserved, &Cost { input: 250, output: 100, tokens: 0 }, now);
    let snap = st.snapshot("m", now);
    assert_eq!(snap.output_tokens.unwrap().remaining, 900);
    assert_eq!(snap.input_tokens.unwrap().remaining, 9_750, "input underestimate is charged");
    assert_eq!(snap.output_tokens.unwrap().used, 100);
}

#[test]
fn cold_start_lets_one_probe_through_then_enforces_learned_limits() {
    let clock = ManualClock::new();
    let now = clock.now();
    let mut st = ModelState::new(LimitConfig { learn_from_headers: true, ..cfg() }, now);
    st.enqueue(false);
    assert_eq!(st.poll_head(&tokens(100), now), Poll::Admit { probe: true });
    st.enqueue(false);
    assert_eq!(st.poll_head(&tokens(100), now), Poll::WaitSignal, "wait for the probe");
    let info = RateLimitInfo {
        requests: dim(2, 1, 30_000),
        tokens: dim(1000, 900, 6_000),
        ..RateLimitInfo::default()
    };
    st.sync(&info, now, None);
    st.release(true, true, true, now, now);
    assert_eq!(st.poll_head(&tokens(100), now), Poll::Admit { probe: false });
    st.enqueue(false);
    // Requests: 2 per 60 s, both used: wait 30 s for the next.
    assert_eq!(st.poll_head(&tokens(100), now), Poll::WaitUntil(now + Duration::from_secs(30)));
}

#[test]
fn failed_probe_hands_the_probe_to_the_next_request() {
    let now = Instant::now();
    let mut st = ModelState::new(LimitConfig { learn_from_headers: true, ..cfg() }, now);
    st.enqueue(false);
    assert_eq!(st.poll_head(&tokens(1), now), Poll::Admit { probe: true });
    st.release(true, false, false, now, now);
    st.enqueue(false);
    assert_eq!(st.poll_head(&tokens(1), now), Poll::Admit { probe: true });
}

#[test]
fn pause_holds_the_queue_and_retry_goes_first() {
    let clock = ManualClock::new();
    let now = clock.now();
    let mut st = ModelState::new(LimitConfig { requests: Some(100), ..cfg() }, now);
    let _waiting = st.enqueue(false);
    assert!(st.pause(now + Duration::from_secs(2)), "a new pause");
    assert_eq!(st.paused_for(now), Duration::from_secs(2));
    assert_eq!(st.poll_head(&tokens(0), now), Poll::WaitUntil(now + Duration::from_secs(2)));
    let retry = st.enqueue(true);
    assert_eq!(st.head(), Some(retry));
    clock.advance(Duration::from_secs(2));
    assert_eq!(st.poll_head(&tokens(0), clock.now()), Poll::Admit { probe: false });
    assert_eq!(st.snapshot("m", clock.now()).rate_limited, 1);
}

#[test]
fn in_flight_cap_is_separate_from_the_rate() {
    let now = Instant::now();
    let mut st = ModelState::new(LimitConfig { max_in_flight: 2, ..cfg() }, now);
    for _ in 0..2 {
        st.enqueue(false);
        assert_eq!(st.poll_head(&tokens(1), now), Poll::Admit { probe: false });
    }
    st.enqueue(false);
    assert_eq!(st.poll_head(&tokens(1), now), Poll::WaitSignal);
    st.release(false, true, true, now, now);
    assert_eq!(st.poll_head(&tokens(1), now), Poll::Admit { probe: false });
}

#[test]
fn header_sync_lowers_balance_for_usage_we_did_not_see() {
    let now = Instant::now();
    let mut st = ModelState::new(LimitConfig { tokens: Some(10_000), ..cfg() }, now);
    let info = RateLimitInfo { tokens: dim(10_000, 2_000, 48_000), ..RateLimitInfo::default() };
    st.sync(&info, now, None);
    st.enqueue(false);
    let Poll::WaitUntil(at) = st.poll_head(&tokens(3_000), now) else { panic!() };
    assert_eq!(at - now, Duration::from_secs(6), "1000 tokens short at 10000/60s");
}

/// docs/design.md lesson 1, on real threads: eight threads hammering 10-token requests cannot
/// starve one 800-token request on a 1000 tokens/s bucket.
#[test]
fn large_request_is_not_starved_by_small_ones() {
    let limiter =
        Arc::new(Limiter::new(LimitConfig { tokens: Some(1_000), ..cfg() }, Arc::new(SystemClock)));
    let m = limiter.model("m");
    // Learn a 1-second window and start empty: 1000 tokens per second.
    m.sync(&RateLimitInfo { tokens: dim(1_000, 0, 1_000), ..RateLimitInfo::default() }, None);
    let stop = Arc::new(AtomicBool::new(false));
    let small: Vec<_> = (0..8)
        .map(|_| {
            let (m, stop) = (Arc::clone(&m), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    drop(m.acquire(tokens(10), false).expect("fits"));
                    n += 1;
                }
                n
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    let permit = m.acquire(tokens(800), false).expect("fits");
    let waited = started.elapsed();
    drop(permit);
    stop.store(true, Ordering::Relaxed);
    let served: u32 = small.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(served > 0);
    // Starvation would mean never; FIFO reservation serves it after roughly 0.8 s of refill.
    assert!(waited < Duration::from_secs(5), "large request waited {waited:?}");
}

#[test]
fn snapshot_lists_models_sorted_and_reset_clears_usage() {
    let limiter = Limiter::new(LimitConfig { requests: Some(10), ..cfg() }, Arc::new(SystemClock));
    for name in ["b", "a"] {
        drop(limiter.model(name).acquire(tokens(0), false).unwrap());
    }
    let snap = limiter.snapshot();
    assert_eq!(snap.iter().map(|m| m.model.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(snap[0].requests.unwrap().used, 1);
    assert_eq!(snap[0].completed, 1);
    limiter.reset_usage();
    assert_eq!(limiter.snapshot()[0].requests.unwrap().used, 0);
}

#[test]
fn header_sync_credits_what_the_server_regained_since_admission() {
    let clock = ManualClock::new();
    let t0 = clock.now();
    let cfg = LimitConfig { tokens: Some(6_000), ..cfg() }; // 100 per second
    let run = |since: Option<Since>| {
        let mut st = ModelState::new(cfg, t0);
        st.release(false, true, true, t0, t0); // refill on
        st.enqueue(false);
        assert_eq!(st.poll_head(&tokens(3_000), t0), Poll::Admit { probe: false });
        let later = t0 + Duration::from_secs(1);
        // The server reports 3000 left: its figure as of admission, a second ago.
        let info = RateLimitInfo { tokens: dim(6_000, 3_000, 30_000), ..RateLimitInfo::default() };
        st.sync(&info, later, since.as_ref());
        st.snapshot("m", later).tokens.unwrap().remaining
    };
    assert_eq!(
        run(Some(Since { admitted: t0, marks: [0.0; 4] })),
        3_100,
        "a second of refill kept"
    );
    assert_eq!(run(None), 3_000, "without the admission time, the raw figure is the bound");
}

#[test]
fn configured_per_day_limit_refills_per_day() {
    let clock = ManualClock::new();
    let t0 = clock.now();
    let day = Duration::from_secs(86_400);
    let mut st =
        ModelState::new(LimitConfig { requests: Some(200), request_window: day, ..cfg() }, t0);
    st.release(false, true, true, t0, t0);
    for _ in 0..200 {
        st.enqueue(false);
        assert_eq!(st.poll_head(&tokens(0), t0), Poll::Admit { probe: false });
    }
    st.enqueue(false);
    assert_eq!(st.poll_head(&tokens(0), t0), Poll::WaitUntil(t0 + Duration::from_secs(432)));
}

#[test]
fn a_pause_within_the_one_in_force_is_not_an_extension() {
    let now = Instant::now();
    let mut st = ModelState::new(cfg(), now);
    assert!(st.pause(now + Duration::from_secs(2)));
    assert!(!st.pause(now + Duration::from_secs(1)), "shorter: nothing new to say");
    assert!(st.pause(now + Duration::from_secs(3)), "longer: extended");
    assert_eq!(st.paused_for(now), Duration::from_secs(3));
}

#[test]
fn the_cold_start_probe_is_counted_once_by_buckets_its_own_answer_created() {
    let clock = Arc::new(ManualClock::new());
    let limiter = Limiter::new(LimitConfig { learn_from_headers: true, ..cfg() }, clock.clone());
    let m = limiter.model("m");
    let mut permit = m.acquire(tokens(100), false).expect("the probe");
    permit.answered();
    // The server charged the probe's 100 tokens before answering: 900 of 1000 remain.
    let info = RateLimitInfo {
        requests: dim(10, 9, 6_000),
        tokens: dim(1_000, 900, 6_000),
        ..RateLimitInfo::default()
    };
    permit.sync(&info);
    permit.settle(Cost { tokens: 120, ..Cost::default() });
    drop(permit);
    let snap = limiter.snapshot();
    let t = snap[0].tokens.unwrap();
    assert_eq!(t.remaining, 900, "counted once: the header's figure, not 900 - 100");
}

#[test]
fn settling_and_releasing_at_once_is_settling_then_dropping() {
    let snapshots = [false, true].map(|at_once| {
        let clock = Arc::new(ManualClock::new());
        let limits = LimitConfig { requests: Some(10), tokens: Some(1_000), ..cfg() };
        let limiter = Limiter::new(limits, clock.clone());
        let m = limiter.model("m");
        let mut permit = m.acquire(tokens(300), false).expect("admitted");
        permit.answered();
        permit.succeeded();
        if at_once {
            permit.settle_and_release(tokens(120));
        } else {
            permit.settle(tokens(120));
            drop(permit);
        }
        let snap = limiter.snapshot().remove(0);
        assert_eq!((snap.in_flight, snap.completed), (0, 1), "released once");
        snap
    });
    assert_eq!(snapshots[0], snapshots[1]);
    assert_eq!(snapshots[1].tokens.map(|t| t.remaining), Some(880));
}
