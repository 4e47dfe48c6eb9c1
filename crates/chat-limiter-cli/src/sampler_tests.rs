//! Tests of the sampler and of the live line it feeds.

use super::*;
use crate::live::{line, utc};
use crate::timeline::Finished;

fn dim(limit: u64, remaining: u64, used: u64, window: u64, reset: u64) -> Dim {
    let (window, reset) = (Duration::from_secs(window), Duration::from_secs(reset));
    Dim { limit, remaining, used, reset, window }
}

#[test]
fn the_line_shows_rates_against_limits_what_binds_and_a_long_wait() {
    let mut sampler = Sampler::default();
    let mut v = View { model: "gpt-4o-mini".into(), in_flight: 7, ..Default::default() };
    v.dims = vec![("requests", dim(600, 300, 0, 60, 30)), ("tokens", dim(60_000, 0, 0, 60, 60))];
    sampler.sample(std::slice::from_ref(&v), Finished::default());
    v.dims = vec![
        ("requests", dim(600, 300, 250, 60, 30)),
        ("tokens", dim(60_000, 1_000, 59_000, 60, 60)),
    ];
    v.queued = 3;
    let sec = sampler.sample(std::slice::from_ref(&v), Finished::default());
    let text = line(&sampler.rates(&[v.clone()]), &sec, sampler.totals, None);
    assert!(
        text.starts_with("ETA - | gpt-4o-mini: req 250/600 per min tok 59.0k/60.0k per min"),
        "{text}"
    );
    assert!(text.contains("(tok: admission charge)"), "{text}");
    assert!(text.contains("7 in flight | 429s 0 | retries 0 | bound by gpt-4o-mini: tokens"));
    assert!(!text.contains("waiting"), "a per-minute limit is no long wait: {text}");

    // A daily cap of 3 requests, all used: the next comes back in 8 hours.
    let mut capped = View { model: "m".into(), queued: 5, ..Default::default() };
    capped.dims = vec![("requests", dim(3, 0, 3, 86_400, 86_400))];
    let mut sec = sampler.sample(std::slice::from_ref(&capped), Finished::default());
    assert_eq!(sec.binds.as_deref(), Some("m: requests"));
    let until = sec.wait_until.expect("a long wait");
    sec.t = until - 28_800;
    let text = line(&sampler.rates(&[capped]), &sec, sampler.totals, None);
    assert!(text.contains(&format!("waiting until {} (in 8h)", utc(until))), "{text}");
    assert!(text.ends_with("on m: requests limit 3 per 1d"), "{text}");
}

#[test]
fn the_eta_after_a_full_buckets_burst_is_the_limits_not_the_burst_pace() {
    let mut sampler = Sampler::default();
    let mut v = View { model: "gpt-4o-mini".into(), ..Default::default() };
    v.dims = vec![("tokens", dim(60_000, 60_000, 0, 60, 0))];
    sampler.sample(std::slice::from_ref(&v), Finished::default());
    // 250 requests of 240 tokens each in the first second (the full bucket), all finished.
    v.completed = 250;
    v.dims = vec![("tokens", dim(60_000, 0, 60_000, 60, 60))];
    let mut done = Finished::default();
    done.models.entry("gpt-4o-mini".into()).or_default().ok = 250;
    sampler.sample(std::slice::from_ref(&v), done);
    // 50 lines left: 12,000 tokens at 1,000 a second, not 50 / 250 of a second.
    let eta = sampler.eta(std::slice::from_ref(&v), 50).expect("an ETA");
    assert!((eta.as_secs_f64() - 12.0).abs() < 1e-6, "{eta:?}");
    let sec = Second::default();
    let text = line(&sampler.rates(&[v]), &sec, sampler.totals, Some(eta));
    assert!(text.starts_with("ETA 12s | gpt-4o-mini: tok 60.0k/60.0k per min"), "{text}");
    assert_eq!(Sampler::default().eta(&[], 10), None, "no pace yet, no ETA");
}
