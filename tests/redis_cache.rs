//! The response cache in Redis: two limiters (standing in for two hosts) share answers, the
//! age limit becomes the entries' TTL, `stats` and `prune` see every host's entries, and a
//! Redis that is down only costs the cache, never the call.
#![cfg(feature = "redis")]

mod cache_support;
mod common;
mod redis_support;

use std::time::Duration;

use cache_support::det;
use chat_limiter::{Cache, ChatLimiter, Provider};
use chat_limiter_emulator::Emulator;
use redis_support::RedisServer;

const MODEL: &str = "gpt-4o-mini";

fn limiter(emu: &Emulator, cache: &Cache) -> ChatLimiter {
    common::builder(Provider::OpenAI, &emu.base_url())
        .model(MODEL)
        .cache(cache.clone())
        .build()
        .unwrap()
}

#[test]
fn two_limiters_share_answers_through_redis() {
    let Some(redis) = RedisServer::start() else { return };
    let emu = Emulator::openai().start().unwrap();
    let a = Cache::redis(&redis.url()).unwrap().max_age(Duration::from_secs(600));
    let b = Cache::redis(&redis.url()).unwrap();
    let (la, lb) = (limiter(&emu, &a), limiter(&emu, &b));
    let mut texts = Vec::new();
    for i in 0..10 {
        texts.push(la.chat_completion(&det(MODEL, &format!("q{i}"))).unwrap().text().to_string());
    }
    assert_eq!(emu.stats().requests, 10);
    for (i, text) in texts.iter().enumerate() {
        let r = lb.chat_completion(&det(MODEL, &format!("q{i}"))).unwrap();
        assert!(r.cached, "answered from A's entry");
        assert_eq!(&r.text(), text);
    }
    assert_eq!(emu.stats().requests, 10, "B sent nothing");
    assert_eq!(b.counters().hits, 10);

    // The age limit is the entries' TTL in Redis.
    let mut conn = redis.connection();
    let keys: Vec<String> =
        redis::cmd("KEYS").arg("chat-limiter:cache:*").query(&mut conn).unwrap();
    assert_eq!(keys.len(), 10);
    for k in &keys {
        let ttl: i64 = redis::cmd("PTTL").arg(k).query(&mut conn).unwrap();
        assert!((1..=600_000).contains(&ttl), "{k}: ttl {ttl}");
    }
    let stats = b.stats().unwrap();
    assert_eq!(stats.entries, 10);
    assert!(stats.bytes > 0 && stats.oldest_ms <= stats.newest_ms);
    assert_eq!(b.prune(Duration::ZERO).unwrap(), 10);
    assert_eq!(a.stats().unwrap().entries, 0);
}

#[test]
fn a_redis_that_is_down_costs_the_cache_not_the_call() {
    let Some(mut redis) = RedisServer::start() else { return };
    let emu = Emulator::openai().start().unwrap();
    let cache = Cache::redis(&redis.url()).unwrap();
    let l = limiter(&emu, &cache);
    redis.kill();
    for _ in 0..2 {
        assert!(!l.chat_completion(&det(MODEL, "q")).unwrap().cached);
    }
    assert_eq!(emu.stats().requests, 2);
    let c = cache.counters();
    assert_eq!((c.hits, c.writes), (0, 0));
    assert!(c.errors >= 2, "each failure counted (and logged): {c:?}");
    let err = cache.stats().unwrap_err().to_string();
    assert!(err.contains("Redis cache unavailable") && !err.contains("127.0.0.1:"), "{err}");
}
