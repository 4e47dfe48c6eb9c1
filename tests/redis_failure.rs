//! Redis going away mid-run: the failure policy holds, nothing hangs past the timeout, and
//! shared limiting resumes when Redis is back.
#![cfg(feature = "redis")]

mod fake_http;
mod redis_support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use chat_limiter::{
    ChatCompletionRequest, ChatLimiter, ChatLimiterBuilder, Error, Message, Provider,
    RedisFailurePolicy,
};
use fake_http::{FakeServer, Reply};
use redis_support::{RedisServer, KEY};

fn builder(base_url: &str, redis: &str, policy: RedisFailurePolicy) -> ChatLimiterBuilder {
    ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key(KEY)
        .base_url(base_url)
        .request_limit(1000)
        .max_retries(0)
        .redis(redis)
        .redis_failure_policy(policy)
        .redis_timeout(Duration::from_millis(300))
        .redis_retry_interval(Duration::from_millis(500))
}

fn ask() -> ChatCompletionRequest {
    ChatCompletionRequest::new("gpt-4o-mini", vec![Message::user("hi")]).max_tokens(5)
}

fn keys(redis: &RedisServer) -> usize {
    let mut conn = redis.connection();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    keys.len()
}

#[test]
fn fallback_local_keeps_working_and_recovers() {
    let Some(mut redis) = RedisServer::start() else { return };
    let server = FakeServer::handler(|_| Reply::openai(5, 5));
    let l = builder(&server.url("/v1"), &redis.url(), RedisFailurePolicy::FallbackLocal)
        .build()
        .unwrap();
    l.chat_completion(&ask()).unwrap();
    assert_eq!(keys(&redis), 1);

    redis.kill();
    let started = Instant::now();
    for _ in 0..5 {
        l.chat_completion(&ask()).expect("falls back to local limiting");
    }
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    let used = l.current_limits().model("gpt-4o-mini").unwrap().requests.unwrap().used;
    assert_eq!(used, 6, "local limiting still counts");

    redis.restart();
    assert_eq!(keys(&redis), 0);
    std::thread::sleep(Duration::from_millis(600)); // past the retry interval
    l.chat_completion(&ask()).unwrap();
    assert_eq!(keys(&redis), 1, "shared limiting resumed");
}

#[test]
fn fail_policy_returns_a_store_error_promptly_then_recovers() {
    let Some(mut redis) = RedisServer::start() else { return };
    let server = FakeServer::handler(|_| Reply::openai(5, 5));
    let l = builder(&server.url("/v1"), &redis.url(), RedisFailurePolicy::Fail).build().unwrap();
    l.chat_completion(&ask()).unwrap();

    redis.kill();
    for _ in 0..3 {
        let started = Instant::now();
        let err = l.chat_completion(&ask()).unwrap_err();
        assert!(matches!(err, Error::Store(_)), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
        assert!(!err.to_string().contains(KEY));
    }
    assert_eq!(server.count(), 1, "nothing was sent without a shared reservation");

    redis.restart();
    std::thread::sleep(Duration::from_millis(600));
    l.chat_completion(&ask()).expect("Redis is back");
    assert_eq!(keys(&redis), 1);
}

#[test]
fn a_redis_that_never_answers_costs_at_most_the_timeout() {
    // Accepts connections and then says nothing: only the read timeout can end the wait.
    let Some(_redis) = RedisServer::start() else { return };
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}/", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || silent.incoming().take(4).flatten().collect::<Vec<_>>());
    let server = FakeServer::handler(|_| Reply::openai(5, 5));
    let fail = builder(&server.url("/v1"), &url, RedisFailurePolicy::Fail).build().unwrap();
    let started = Instant::now();
    let err = fail.chat_completion(&ask()).unwrap_err();
    assert!(matches!(err, Error::Store(_)), "{err:?}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(250) && took < Duration::from_millis(1500), "{took:?}");

    let fallback =
        builder(&server.url("/v1"), &url, RedisFailurePolicy::FallbackLocal).build().unwrap();
    let started = Instant::now();
    fallback.chat_completion(&ask()).expect("falls back");
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
    drop(held);
}

#[test]
fn a_bad_url_is_a_config_error() {
    let err = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key(KEY)
        .redis("not a url")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    let err = ChatLimiter::builder()
        .provider(Provider::OpenAI)
        .api_key(KEY)
        .redis("redis://127.0.0.1:1/")
        .redis_timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("redis_timeout"), "{err}");
}
