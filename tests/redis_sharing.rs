//! Two `ChatLimiter`s on one Redis stand in for two processes: together they stay within one
//! key's limits, queue fairly, and see each other's settlements, header syncs and 429 pauses.
#![cfg(feature = "redis")]

mod fake_http;
mod redis_support;

use std::time::{Duration, Instant};

use chat_limiter::{ChatCompletionRequest, ChatLimiter, ChatLimiterBuilder, Message, Provider};
use fake_http::{FakeServer, Reply};
use redis_support::{RedisServer, KEY};

fn builder(provider: Provider, base_url: &str) -> ChatLimiterBuilder {
    ChatLimiter::builder()
        .provider(provider)
        .api_key(KEY)
        .base_url(base_url)
        .learn_limits(false)
        .max_retries(3)
        .base_backoff(Duration::from_millis(5))
        .timeout(Duration::from_secs(10))
}

fn ask(max_tokens: u32) -> ChatCompletionRequest {
    ChatCompletionRequest::new("gpt-4o-mini", vec![Message::user("hi")]).max_tokens(max_tokens)
}

/// Runs `threads` callers on each limiter until `run` has passed (callers still waiting for
/// a reservation then are left behind), and counts what reached the server within `run`.
fn hammer(limiters: &[ChatLimiter], server: &FakeServer, threads: usize, run: Duration) -> usize {
    let start = Instant::now();
    for l in limiters {
        for _ in 0..threads {
            let l = l.clone();
            std::thread::spawn(move || {
                while start.elapsed() < run {
                    let _ = l.chat_completion(&ask(5));
                }
            });
        }
    }
    std::thread::sleep(run + Duration::from_millis(100));
    server.arrivals().iter().filter(|&&t| t >= start && t - start <= run).count()
}

#[test]
fn two_limiters_admit_at_most_the_limit_together() {
    let Some(redis) = RedisServer::start() else { return };
    let server = FakeServer::handler(|_| Reply::openai(5, 5));
    let make =
        || builder(Provider::OpenAI, &server.url("/v1")).request_limit(30).redis(redis.url());
    let shared = [make().build().unwrap(), make().build().unwrap()];
    // 30 per minute: a full bucket of 30, then one every 2 s.
    let n = hammer(&shared, &server, 8, Duration::from_millis(1500));
    assert!((29..=31).contains(&n), "two limiters on one Redis admitted {n} in 1.5 s; limit 30");

    // The same with in-memory limiters that each believe they own the limit: twice as many.
    let server = FakeServer::handler(|_| Reply::openai(5, 5));
    let make = || builder(Provider::OpenAI, &server.url("/v1")).request_limit(30);
    let local = [make().build().unwrap(), make().build().unwrap()];
    let n = hammer(&local, &server, 8, Duration::from_millis(1500));
    assert!(n >= 58, "control: separate limiters admitted {n}");
}

#[test]
fn a_large_request_is_not_starved_by_small_ones_from_another_process() {
    let Some(redis) = RedisServer::start() else { return };
    // The first answer teaches a 1-second window and an empty bucket: 1000 tokens per second.
    let server = FakeServer::handler(|seen| {
        let r = Reply::openai(5, 5);
        if seen.number == 1 {
            r.header("x-ratelimit-limit-tokens", "1000")
                .header("x-ratelimit-remaining-tokens", "0")
                .header("x-ratelimit-reset-tokens", "1s")
        } else {
            r
        }
    });
    let make =
        || builder(Provider::OpenAI, &server.url("/v1")).token_limit(1000).redis(redis.url());
    let (small, large) = (make().build().unwrap(), make().build().unwrap());
    small.chat_completion(&ask(5)).unwrap();
    let _ = hammer(&[small], &server, 8, Duration::from_millis(300));
    let started = Instant::now();
    large.chat_completion(&ask(800)).unwrap();
    let waited = started.elapsed();
    // Try-then-sleep across processes would never get 800 tokens together; a reservation in
    // time serves it behind the small requests already queued, after about 0.8 s of refill.
    assert!(waited < Duration::from_secs(4), "large request waited {waited:?}");
}

#[test]
fn a_settlement_is_visible_to_the_other_limiter() {
    let Some(redis) = RedisServer::start() else { return };
    let server = FakeServer::handler(|_| Reply::anthropic(5, 10));
    let make = || {
        builder(Provider::Anthropic, &server.url("/v1")).output_token_limit(1000).redis(redis.url())
    };
    let (a, b) = (make().build().unwrap(), make().build().unwrap());
    let ask = |n| {
        ChatCompletionRequest::new("claude-sonnet-4-5", vec![Message::user("hi")]).max_tokens(n)
    };
    // A reserves 800 output tokens and is charged 10: 990 of 1000 are free again.
    a.chat_completion(&ask(800)).unwrap();
    let started = Instant::now();
    b.chat_completion(&ask(500)).unwrap();
    // Without the refund B would wait (500 - 200) / (1000 / 60 s) = 18 s.
    assert!(started.elapsed() < Duration::from_secs(2), "B waited {:?}", started.elapsed());
    let out = b.current_limits().model("claude-sonnet-4-5").unwrap().output_tokens.unwrap();
    assert!(out.remaining >= 980, "B's view follows the shared bucket: {out:?}");
}

#[test]
fn a_header_sync_is_visible_to_the_other_limiter() {
    let Some(redis) = RedisServer::start() else { return };
    // The server says the requests bucket (100 per minute) is empty: usage we never saw.
    let server = FakeServer::handler(|seen| {
        let r = Reply::openai(5, 5);
        if seen.number == 1 {
            r.header("x-ratelimit-limit-requests", "100")
                .header("x-ratelimit-remaining-requests", "0")
                .header("x-ratelimit-reset-requests", "60s")
        } else {
            r
        }
    });
    let make =
        || builder(Provider::OpenAI, &server.url("/v1")).request_limit(100).redis(redis.url());
    let (a, b) = (make().build().unwrap(), make().build().unwrap());
    a.chat_completion(&ask(5)).unwrap();
    let started = Instant::now();
    b.chat_completion(&ask(5)).unwrap();
    // B alone would go at once (full bucket); the shared bucket makes it wait 0.6 s.
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(450), "B went after {waited:?}");
    assert!(waited < Duration::from_secs(3), "B waited {waited:?}");
}

#[test]
fn a_429_in_one_limiter_pauses_the_other() {
    let Some(redis) = RedisServer::start() else { return };
    let server = FakeServer::handler(|seen| {
        if seen.number == 1 {
            Reply::openai_429(1500)
        } else {
            Reply::openai(5, 5)
        }
    });
    let make =
        || builder(Provider::OpenAI, &server.url("/v1")).request_limit(1000).redis(redis.url());
    let (a, b) = (make().build().unwrap(), make().build().unwrap());
    let t0 = Instant::now();
    let ta = std::thread::spawn(move || a.chat_completion(&ask(5)).map(|_| ()));
    while server.count() == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(150)); // A reads the 429 and pauses the model
    b.chat_completion(&ask(5)).unwrap();
    let b_done = t0.elapsed();
    ta.join().unwrap().unwrap();
    assert!(b_done >= Duration::from_millis(1400), "B went during A's pause: {b_done:?}");
    let arrivals = server.arrivals();
    assert_eq!(arrivals.len(), 3);
    assert!(arrivals[1..].iter().all(|&t| t - arrivals[0] >= Duration::from_millis(1400)));
}

#[test]
fn the_api_key_is_never_written_to_redis() {
    let Some(redis) = RedisServer::start() else { return };
    let server = FakeServer::handler(|_| {
        Reply::openai(5, 5)
            .header("x-ratelimit-limit-tokens", "10000")
            .header("x-ratelimit-remaining-tokens", "9000")
            .header("x-ratelimit-reset-tokens", "6s")
    });
    let l = builder(Provider::OpenAI, &server.url("/v1")).request_limit(100).redis(redis.url());
    let l = l.build().unwrap();
    for _ in 0..3 {
        l.chat_completion(&ask(5)).unwrap();
    }
    let mut conn = redis.connection();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let key = &keys[0];
    let parts: Vec<&str> = key.split(':').collect();
    assert_eq!(parts.len(), 4, "{key}");
    assert_eq!((parts[0], parts[1], parts[3]), ("chat-limiter", "openai", "gpt-4o-mini"));
    assert!(parts[2].len() == 16 && parts[2].bytes().all(|b| b.is_ascii_hexdigit()));
    let fields: Vec<String> = redis::cmd("HGETALL").arg(key).query(&mut conn).unwrap();
    let ttl: i64 = redis::cmd("PTTL").arg(key).query(&mut conn).unwrap();
    assert!(ttl > 0, "abandoned state expires");
    for s in keys.iter().chain(fields.iter()) {
        assert!(!s.contains("SECRET") && !s.contains(KEY), "{s}");
    }
}
