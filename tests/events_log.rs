//! The events of a run, as a program's logger receives them: 429s and the pause they cause,
//! retries with their reason and wait, limits learned and changed, Redis falling back and
//! coming back, a give-up, a daily cap's wait with when it ends (on the buckets and from a
//! 429's `retry-after`), OpenRouter's credits, and at `debug` one admission decision per
//! attempt. Also: plain successes add nothing at `info`, and no record holds the key, whole or
//! in part.
//!
//! One test in this binary: the logger is global to the process.
#![cfg(feature = "redis")]

mod fake_http;
mod redis_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_limiter::{
    ChatCompletionRequest, ChatLimiter, Clock, ManualClock, Message, Provider, RedisFailurePolicy,
};
use chat_limiter_emulator::Emulator;
use fake_http::{FakeServer, Reply};
use log::{Level, LevelFilter, Log, Metadata, Record};
use redis_support::{RedisServer, KEY};

/// Every record: level, target, message.
static RECORDS: Mutex<Vec<(Level, String, String)>> = Mutex::new(Vec::new());

struct Capture;

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, r: &Record<'_>) {
        let entry = (r.level(), r.target().to_string(), r.args().to_string());
        RECORDS.lock().unwrap().push(entry);
    }
    fn flush(&self) {}
}

fn records() -> Vec<(Level, String, String)> {
    RECORDS.lock().unwrap().clone()
}

/// Index of the first record at `level` in `target` whose message holds every `part`.
fn find(recs: &[(Level, String, String)], level: Level, target: &str, parts: &[&str]) -> usize {
    recs.iter()
        .position(|(l, t, m)| *l == level && t == target && parts.iter().all(|p| m.contains(p)))
        .unwrap_or_else(|| panic!("no {level} {target} record with {parts:?} in {recs:#?}"))
}

fn ask() -> ChatCompletionRequest {
    ChatCompletionRequest::new("gpt-4o-mini", vec![Message::user("hi")]).max_tokens(5)
}

#[test]
fn a_run_tells_its_story_at_info_explains_admissions_at_debug_and_never_logs_the_key() {
    log::set_logger(&Capture).expect("the only logger of this binary");
    log::set_max_level(LevelFilter::Debug);
    let Some(mut redis) = RedisServer::start() else { return };
    // The server echoes the key in its error messages: the events must not.
    let echo = format!(
        r#"{{"error":{{"message":"upstream failed for key {KEY}","type":"server_error"}}}}"#
    );
    let ok = Reply::openai(5, 5)
        .header("x-ratelimit-limit-requests", "500")
        .header("x-ratelimit-remaining-requests", "499")
        .header("x-ratelimit-reset-requests", "120ms");
    let bad = r#"{"error":{"message":"bad request","type":"invalid_request_error"}}"#;
    let server = FakeServer::script(vec![
        Reply::openai_429(300), // 1: pauses the queue, then
        Reply::new(500, echo),  // 2: backs off on this thread, then
        ok.clone(),             // 3: succeeds and teaches a smaller limit
        ok.clone(),             // 4: with Redis down
        ok.clone(),             // 5: with Redis back
        Reply::new(400, bad),   // 6: not retryable: a give-up
        ok,                     // 7 and on: plain successes
    ]);
    let l = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key(KEY)
        .base_url(server.url("/v1"))
        .request_limit(1000)
        .max_retries(3)
        .base_backoff(Duration::from_millis(50))
        .redis(redis.url())
        .redis_failure_policy(RedisFailurePolicy::FallbackLocal)
        .redis_timeout(Duration::from_millis(300))
        .redis_retry_interval(Duration::from_millis(500))
        .build()
        .expect("limiter");

    l.chat_completion(&ask()).expect("the retries get through");
    redis.kill();
    l.chat_completion(&ask()).expect("falls back to local limiting");
    redis.restart();
    std::thread::sleep(Duration::from_millis(600)); // past the retry interval
    l.chat_completion(&ask()).expect("shared again");
    assert!(l.chat_completion(&ask()).is_err(), "the 400 is final");
    assert_eq!(server.count(), 6);

    let story = records();
    let retry = "chat_limiter::retry";
    let paused =
        find(&story, Level::Info, retry, &["429 on gpt-4o-mini", "pausing its queue for 0.30s"]);
    let retried = find(
        &story,
        Level::Info,
        retry,
        &["retrying a gpt-4o-mini request in", "attempt 3 of 4", "API error 500"],
    );
    assert!(paused < retried, "the 429 came first");
    let limit = "chat_limiter::limit";
    find(
        &story,
        Level::Info,
        limit,
        &["gpt-4o-mini: requests limit changed from 1000 per 1m0s to 500 per"],
    );
    let down = find(
        &story,
        Level::Warn,
        "chat_limiter::store",
        &["Redis limit store unreachable", "limiting locally"],
    );
    let back = find(&story, Level::Info, "chat_limiter::store", &["Redis limit store is back"]);
    assert!(retried < down && down < back, "the fallback, then the recovery");
    let gave_up = find(
        &story,
        Level::Info,
        retry,
        &["giving up on a gpt-4o-mini request (not retryable)", "API error 400"],
    );
    assert!(back < gave_up);
    // At debug, one admission decision per attempt the server saw.
    let admissions = |recs: &[(Level, String, String)]| {
        recs.iter()
            .filter(|(l, t, m)| *l == Level::Debug && t == limit && m.contains("admit"))
            .count()
    };
    assert_eq!(admissions(&story), 6, "{story:#?}");

    // Plain successes: nothing more at info, one more admission each at debug.
    let info =
        |recs: &[(Level, String, String)]| recs.iter().filter(|(l, ..)| *l <= Level::Info).count();
    let before = info(&story);
    for _ in 0..20 {
        l.chat_completion(&ask()).expect("a plain success");
    }
    let after = records();
    assert_eq!(info(&after), before, "no info line per request: {:#?}", &after[story.len()..]);
    assert_eq!(admissions(&after), 26);

    assert!(after.iter().any(|(_, _, m)| m.contains("upstream failed for key [REDACTED]")));

    // A daily cap: the wait is told once, at warn, with when it ends (on a manual clock, so
    // the day passes at once).
    let daily = FakeServer::script(vec![Reply::openai(5, 5)]);
    let clock = Arc::new(ManualClock::new());
    let capped = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key(KEY)
        .base_url(daily.url("/v1"))
        .request_limit(2)
        .request_window(Duration::from_secs(86_400))
        .clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .build()
        .expect("limiter");
    let ask4o = ChatCompletionRequest::new("gpt-4o", vec![Message::user("hi")]).max_tokens(5);
    let t0 = clock.now();
    for _ in 0..3 {
        capped.chat_completion(&ask4o).expect("waits, then succeeds");
    }
    assert!(clock.now() - t0 >= Duration::from_secs(3600), "the cap was waited out");
    let recs = records();
    let long = |(l, t, m): &&(Level, String, String)| {
        *l == Level::Warn && t == limit && m.starts_with("gpt-4o: waiting on the requests bucket")
    };
    let told: Vec<_> = recs.iter().filter(long).collect();
    assert_eq!(told.len(), 1, "told once: {recs:#?}");
    assert!(told[0].2.contains("(has 0, needs 1): resuming at "), "{}", told[0].2);
    assert!(told[0].2.contains(" GMT, in ") && told[0].2.ends_with('m'), "{}", told[0].2);

    // A 429 asking for two hours (a daily cap) with long_wait Wait: told at warn with when the
    // queue resumes; and limits learned from the headers of a cold start, with their window.
    let capped = FakeServer::script(vec![
        Reply::new(429, r#"{"error":{"message":"daily cap","type":"requests"}}"#)
            .header("retry-after", "7200"),
        Reply::openai(5, 5)
            .header("x-ratelimit-limit-requests", "10000")
            .header("x-ratelimit-remaining-requests", "9999")
            .header("x-ratelimit-reset-requests", "8.64s"),
    ]);
    let l = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key(KEY)
        .base_url(capped.url("/v1"))
        .clock(Arc::new(ManualClock::new()) as Arc<dyn Clock>)
        .build()
        .expect("limiter");
    let ask_mini = ChatCompletionRequest::new("gpt-4.1-mini", vec![Message::user("hi")]);
    l.chat_completion(&ask_mini.max_tokens(5)).expect("waits out the cap, then succeeds");
    let recs = records();
    find(
        &recs,
        Level::Warn,
        retry,
        &["rate limit reached on gpt-4.1-mini", "resuming at ", ", in 2h00m"],
    );
    find(&recs, Level::Info, limit, &["gpt-4.1-mini: learned the requests limit: 10000 per"]);

    // OpenRouter credits: the balance is told at info when first read; a spent key at warn.
    let credits = "chat_limiter::credits";
    for (credit, ok) in [(5.0, true), (0.0, false)] {
        let emu = Emulator::openrouter().credits(credit).start().expect("emulator");
        let or = ChatLimiter::builder()
            .provider(Provider::OpenRouter)
            .api_key(KEY)
            .base_url(emu.base_url())
            .build()
            .expect("limiter");
        let req = ChatCompletionRequest::new("openai/gpt-4o-mini", vec![Message::user("hi")])
            .max_tokens(5);
        assert_eq!(or.chat_completion(&req).is_ok(), ok);
    }
    let recs = records();
    find(&recs, Level::Info, credits, &["OpenRouter credits: ", " USD left of 5.0000"]);
    find(&recs, Level::Warn, credits, &["OpenRouter credits exhausted", "requests fail fast"]);

    // The key, whole or any 8 characters of it, never, in any record of the whole run.
    for (_, _, m) in &recs {
        for w in KEY.as_bytes().windows(8) {
            let part = std::str::from_utf8(w).unwrap();
            assert!(!m.contains(part), "the key's {part:?} in {m:?}");
        }
    }
}
