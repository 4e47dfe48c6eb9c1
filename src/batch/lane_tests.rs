//! The growth rule of adaptive lanes, on given instants (no sleeping, no threads).

use std::time::{Duration, Instant};

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A lane with `in_flight` filling its target, as the coordinator keeps it with a backlog.
fn full(lane: &mut Lane) {
    lane.in_flight = lane.limit;
}

#[test]
fn grows_when_concurrency_binds_and_shrinks_when_the_rate_binds() {
    let mut lane = Lane::new("m".into(), 100, true);
    lane.limit = 10;
    lane.in_flight = 9;
    lane.adapt(true, 0);
    assert_eq!(lane.limit, 11);
    lane.adapt(false, 0);
    assert_eq!(lane.limit, 11, "no backlog: no reason to grow");
    lane.adapt(true, 8);
    assert_eq!(lane.limit, 10);
    for _ in 0..100 {
        lane.adapt(true, 50);
    }
    assert_eq!(lane.limit, MIN_TARGET);
    lane.set_max(2);
    assert_eq!(lane.limit, 2);
}

#[test]
fn an_adaptive_lane_starts_small_and_a_fixed_one_at_its_maximum() {
    assert_eq!(Lane::new("m".into(), 512, true).limit, MIN_TARGET);
    assert_eq!(Lane::new("m".into(), 2, true).limit, 2);
    assert_eq!(Lane::new("m".into(), 512, false).limit, 512);
}

#[test]
fn a_burst_doubles_every_tick_while_the_limiter_admits_everything() {
    // No response yet (slow ones): nothing to measure, so each tick doubles, up to the max.
    let t0 = Instant::now();
    let mut lane = Lane::new("m".into(), 600, true);
    let mut limits = vec![lane.limit];
    for i in 0..12 {
        full(&mut lane);
        lane.tick(true, 0, None, None, t0 + GROW_EVERY * i);
        limits.push(lane.limit);
    }
    assert_eq!(limits[..9], [4, 8, 16, 32, 64, 128, 256, 512, 600]);
    assert_eq!(lane.limit, 600, "never past the lane's maximum");
}

#[test]
fn no_growth_too_soon_without_a_backlog_with_room_left_or_while_the_limiter_queues() {
    let t0 = Instant::now();
    let mut lane = Lane::new("m".into(), 600, true);
    full(&mut lane);
    assert!(lane.tick(true, 0, None, None, t0));
    full(&mut lane);
    assert!(!lane.tick(true, 0, None, None, t0 + ms(5)), "at most one doubling per GROW_EVERY");
    let later = t0 + ms(50);
    assert!(!lane.tick(false, 0, None, None, later), "no work waiting");
    assert!(!lane.tick(true, 3, None, None, later), "requests wait in the limiter: the rate binds");
    lane.in_flight = lane.limit - 1;
    assert!(!lane.tick(true, 0, None, None, later), "the target is not used up");
    assert!(!lane.may_grow(true, later));
    full(&mut lane);
    assert!(lane.may_grow(true, later));
    assert!(lane.tick(true, 0, None, None, later));
    assert_eq!(lane.limit, 16);
}

/// Feeds `n` completions of `latency` spread over `[from, to)`.
fn complete(lane: &mut Lane, n: u32, latency: Duration, from: Instant, to: Instant) {
    let step = (to - from) / n;
    for i in 0..n {
        lane.completed(latency, from + step * i);
    }
}

#[test]
fn fast_responses_keep_a_doubling_only_if_it_pays() {
    let t0 = Instant::now();
    let lat = ms(1);
    let mut lane = Lane::new("m".into(), 4096, true);
    lane.completed(lat, t0);
    full(&mut lane);
    assert!(lane.tick(true, 0, None, None, t0)); // 4 -> 8, nothing measured yet
                                                 // 1,000 per second at 8: not enough samples before 8 completions.
    complete(&mut lane, 5, lat, t0 + ms(1), t0 + ms(6));
    full(&mut lane);
    assert!(!lane.tick(true, 0, None, None, t0 + ms(11)), "too few completions to judge");
    complete(&mut lane, 15, lat, t0 + ms(11), t0 + ms(20));
    full(&mut lane);
    assert!(lane.tick(true, 0, None, None, t0 + ms(21)), "first measurement: 8 -> 16");
    assert_eq!(lane.limit, 16);
    // At 16 the rate doubles too (CPU to spare): kept, 16 -> 32.
    let t1 = t0 + ms(21);
    complete(&mut lane, 40, lat, t1 + ms(2), t1 + ms(12));
    full(&mut lane);
    assert!(lane.tick(true, 0, None, None, t1 + ms(12)));
    assert_eq!(lane.limit, 32);
    // At 32 the rate stays flat: the CPU binds. Back to 16, held.
    let t2 = t1 + ms(12);
    complete(&mut lane, 40, lat, t2 + ms(2), t2 + ms(12));
    full(&mut lane);
    assert!(!lane.tick(true, 0, None, None, t2 + ms(12)));
    assert_eq!(lane.limit, 16, "back to the target before the doubling that did not pay");
    full(&mut lane);
    assert!(!lane.may_grow(true, t2 + ms(500)), "held");
    lane.adapt(true, 0);
    assert_eq!(lane.limit, 16, "held: no growth by completions either");
    // After the hold it probes again (completions went on meanwhile, at the held target).
    complete(&mut lane, 40, lat, t2 + ms(20), t2 + ms(900));
    full(&mut lane);
    assert!(lane.may_grow(true, t2 + ms(12) + Duration::from_secs(1)));
    assert!(lane.tick(true, 0, None, None, t2 + ms(12) + Duration::from_secs(1)));
    assert_eq!(lane.limit, 32);
}

#[test]
fn slow_responses_are_not_measured_before_doubling() {
    // 2 s responses: a doubling's effect shows only after 2 s, so ticks double blindly.
    let t0 = Instant::now();
    let mut lane = Lane::new("m".into(), 4096, true);
    lane.completed(Duration::from_secs(2), t0);
    for i in 0..5 {
        full(&mut lane);
        assert!(lane.tick(true, 0, None, None, t0 + GROW_EVERY * i));
    }
    assert_eq!(lane.limit, 128);
    // And completions add one each while the lane is full.
    lane.in_flight = 127;
    lane.adapt(true, 0);
    assert_eq!(lane.limit, 129);
}

#[test]
fn no_doubling_before_the_last_one_reached_the_limiter() {
    let t0 = Instant::now();
    let mut lane = Lane::new("m".into(), 4096, true);
    lane.limit = 64;
    full(&mut lane);
    assert!(!lane.tick(true, 0, Some(40), None, t0), "24 of 64 not yet at the limiter");
    assert!(
        lane.tick(true, 0, Some(48), None, t0),
        "three quarters there: nobody queued means room"
    );
    assert_eq!(lane.limit, 128);
}

#[test]
fn a_doubling_stops_at_what_the_bucket_would_admit_now() {
    // 10 s responses, a 3,000-request bucket: 2,048 in flight and 952 left, so 3,000 and not
    // 4,096 (the other 1,096 would only wait in the limiter, a thread each).
    let t0 = Instant::now();
    let mut lane = Lane::new("m".into(), 4096, true);
    lane.limit = 2048;
    full(&mut lane);
    assert!(lane.tick(true, 0, None, Some(3000), t0));
    assert_eq!(lane.limit, 3000);
    full(&mut lane);
    let later = t0 + GROW_EVERY;
    assert!(!lane.tick(true, 0, None, Some(3000), later), "the bucket is used up");
    assert_eq!(lane.limit, 3000);
    assert!(lane.tick(true, 0, None, Some(3003), later + GROW_EVERY), "it refilled by three");
    assert_eq!(lane.limit, 3003);
}
