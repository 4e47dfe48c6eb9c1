//! The response cache against the emulator: a hit costs no request and no limiter capacity,
//! the policies, the age limit, the non-deterministic rule, only successes are stored, and
//! one SQLite file shared by two limiters on many threads.
#![cfg(feature = "cache")]

mod cache_support;
mod common;

use std::sync::Arc;
use std::time::Duration;

use cache_support::{det, Scratch};
use chat_limiter::{
    process_chat_completion_batch, BatchConfig, Cache, CacheEntry, CachePolicy, CacheStore,
    ChatCompletionRequest, ChatLimiter, MemoryStore, Message, Provider,
};
use chat_limiter_emulator::{Emulator, FaultKind};

const MODEL: &str = "gpt-4o-mini";

fn limiter(emu: &Emulator, cache: &Cache) -> ChatLimiter {
    common::builder(Provider::OpenAI, &emu.base_url())
        .model(MODEL)
        .request_limit(1000)
        .cache(cache.clone())
        .build()
        .unwrap()
}

#[test]
fn a_hit_skips_the_limiter_and_the_network() {
    let emu = Emulator::openai().start().unwrap();
    let cache = Cache::memory();
    let l = limiter(&emu, &cache);
    let first = l.chat_completion(&det(MODEL, "What is Rust?")).unwrap();
    let used = l.current_limits().model(MODEL).unwrap().requests.unwrap().used;
    let again = l.chat_completion(&det(MODEL, "What is Rust?")).unwrap();
    assert!(!first.cached);
    assert!(again.cached, "the second answer says it came from the cache");
    assert_eq!((again.text(), &again.id, &again.usage), (first.text(), &first.id, &first.usage));
    assert_eq!(again.request_id, first.request_id);
    assert_eq!(emu.stats().requests, 1, "the hit sent nothing");
    let limits = l.current_limits();
    let m = limits.model(MODEL).unwrap();
    assert_eq!(m.requests.unwrap().used, used, "the hit reserved nothing in the limiter");
    assert_eq!(m.completed, 1);
    let c = cache.counters();
    assert_eq!((c.hits, c.misses, c.writes, c.errors), (1, 1, 1, 0));
}

#[test]
fn key_order_and_number_spelling_share_an_entry_a_changed_parameter_does_not() {
    let emu = Emulator::openai().start().unwrap();
    let cache = Cache::memory();
    let l = limiter(&emu, &cache);
    let body = |text: &str| -> ChatCompletionRequest { serde_json::from_str(text).unwrap() };
    let a = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"temperature":0,"seed":1,"max_tokens":8}"#;
    let b = r#"{"max_tokens":8,"seed":1e0,"temperature":0.0,"messages":[{"content":"hi","role":"user"}],"model":"gpt-4o-mini"}"#;
    l.chat_completion(&body(a)).unwrap();
    assert!(l.chat_completion(&body(b)).unwrap().cached);
    assert_eq!(emu.stats().requests, 1);
    let other_seed = a.replace(r#""seed":1"#, r#""seed":2"#);
    let other_temperature = a.replace(r#""temperature":0"#, r#""temperature":0.5"#);
    assert!(!l.chat_completion(&body(&other_seed)).unwrap().cached);
    assert!(!l.chat_completion(&body(&other_temperature)).unwrap().cached);
    assert_eq!(emu.stats().requests, 3);
}

#[test]
fn read_only_never_writes() {
    let emu = Emulator::openai().start().unwrap();
    let store = Arc::new(MemoryStore::new());
    let ro = Cache::new(Arc::clone(&store)).policy(CachePolicy::ReadOnly);
    let l = limiter(&emu, &ro);
    l.chat_completion(&det(MODEL, "a")).unwrap();
    let second = l.chat_completion(&det(MODEL, "a")).unwrap();
    assert!(!second.cached);
    assert_eq!(emu.stats().requests, 2, "nothing was stored, so both were sent");
    assert_eq!(store.stats().unwrap().entries, 0);
    assert_eq!(ro.counters().writes, 0);
    // It does read what a read-write cache stored.
    let rw = Cache::new(Arc::clone(&store));
    limiter(&emu, &rw).chat_completion(&det(MODEL, "b")).unwrap();
    assert!(l.chat_completion(&det(MODEL, "b")).unwrap().cached);
    assert_eq!(emu.stats().requests, 3);
}

#[test]
fn refresh_always_sends_and_replaces_the_entry() {
    let emu = Emulator::openai().start().unwrap();
    let store = Arc::new(MemoryStore::new());
    let rw = Cache::new(Arc::clone(&store));
    limiter(&emu, &rw).chat_completion(&det(MODEL, "a")).unwrap();
    let before = store.stats().unwrap().newest_ms.unwrap();
    std::thread::sleep(Duration::from_millis(5)); // a later write time, to see the replacement
    let refresh = Cache::new(Arc::clone(&store)).policy(CachePolicy::Refresh);
    let l = limiter(&emu, &refresh);
    for _ in 0..3 {
        assert!(!l.chat_completion(&det(MODEL, "a")).unwrap().cached);
    }
    assert_eq!(emu.stats().requests, 4, "refresh sent every call");
    let stats = store.stats().unwrap();
    assert_eq!(stats.entries, 1, "one entry, replaced");
    assert!(stats.newest_ms.unwrap() > before);
    assert_eq!(refresh.counters().writes, 3);
}

#[test]
fn an_entry_past_the_age_limit_is_sent_again_and_replaced() {
    let emu = Emulator::openai().start().unwrap();
    let store = Arc::new(MemoryStore::new());
    let cache = Cache::new(Arc::clone(&store)).max_age(Duration::from_secs(3600));
    let l = limiter(&emu, &cache);
    l.chat_completion(&det(MODEL, "a")).unwrap();
    assert!(l.chat_completion(&det(MODEL, "a")).unwrap().cached, "fresh: a hit");
    // Age the entry by two hours.
    let key = only_key(&store);
    let old = store.get(&key).unwrap().unwrap();
    let aged = CacheEntry { created_ms: old.created_ms - 7_200_000, ..old };
    store.put(&key, &aged, None).unwrap();
    assert!(!l.chat_completion(&det(MODEL, "a")).unwrap().cached, "stale: sent again");
    assert_eq!(emu.stats().requests, 2);
    assert!(store.get(&key).unwrap().unwrap().created_ms > aged.created_ms, "replaced");
    assert!(l.chat_completion(&det(MODEL, "a")).unwrap().cached);
    // prune removes by age too.
    store.put(&key, &aged, None).unwrap();
    assert_eq!(cache.prune(Duration::from_secs(3600)).unwrap(), 1);
    assert_eq!(store.stats().unwrap().entries, 0);
}

/// The one key a store holds.
fn only_key(store: &MemoryStore) -> String {
    let keys = store.keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    keys[0].clone()
}

#[test]
fn non_deterministic_requests_are_cached_only_when_asked() {
    let emu = Emulator::openai().start().unwrap();
    let sampled = ChatCompletionRequest::new(MODEL, vec![Message::user("a poem")]).max_tokens(8);
    let warm = sampled.clone().temperature(0.7);
    let seeded = warm.clone().extra("seed", 42);

    let cache = Cache::memory();
    let l = limiter(&emu, &cache);
    for r in [&sampled, &sampled, &warm, &warm] {
        assert!(!l.chat_completion(r).unwrap().cached);
    }
    assert_eq!(emu.stats().requests, 4, "no temperature (default 1) and 0.7: never cached");
    assert_eq!(cache.stats().unwrap().entries, 0);
    assert_eq!(cache.counters().skipped, 4);
    l.chat_completion(&seeded).unwrap();
    assert!(l.chat_completion(&seeded).unwrap().cached, "a seed pins the sample");

    let opted = Cache::memory().cache_nondeterministic(true);
    let l = limiter(&emu, &opted);
    l.chat_completion(&warm).unwrap();
    assert!(l.chat_completion(&warm).unwrap().cached, "asked for: cached");
    assert_eq!(emu.stats().requests, 6);
}

#[test]
fn only_successful_answers_are_stored() {
    let emu = Emulator::openai().fault(FaultKind::Status500, 1.0).start().unwrap();
    let cache = Cache::memory();
    let l = common::builder(Provider::OpenAI, &emu.base_url())
        .model(MODEL)
        .max_retries(1)
        .cache(cache.clone())
        .build()
        .unwrap();
    assert!(l.chat_completion(&det(MODEL, "a")).is_err());
    assert!(l.chat_completion(&det(MODEL, "a")).is_err(), "the failure was not cached");
    assert_eq!(emu.stats().requests, 4);
    assert_eq!(cache.stats().unwrap().entries, 0);
    assert_eq!(cache.counters().writes, 0);
}

#[test]
fn a_batch_rerun_is_answered_from_the_cache() {
    let emu = Emulator::openai().start().unwrap();
    let cache = Cache::memory();
    let l = limiter(&emu, &cache);
    let requests: Vec<_> = (0..40).map(|i| det(MODEL, &format!("question {i}"))).collect();
    let config = BatchConfig::default().max_workers(8).max_concurrent_requests(8);
    let first = process_chat_completion_batch(&l, requests.clone(), &config).unwrap();
    assert!(first.iter().all(|r| r.success() && r.attempts == 1));
    let again = process_chat_completion_batch(&l, requests, &config).unwrap();
    assert_eq!(emu.stats().requests, 40, "the rerun sent nothing");
    for (a, b) in first.iter().zip(&again) {
        let (a, b) = (a.result.as_ref().unwrap(), b.result.as_ref().unwrap());
        assert!(b.cached && a.text() == b.text());
    }
    assert!(again.iter().all(|r| r.attempts == 0), "no HTTP attempt for a hit");
}

#[test]
fn two_limiters_on_one_sqlite_file_from_many_threads() {
    let emu = Emulator::openai().start().unwrap();
    let dir = Scratch::new("threads");
    let path = dir.file("cache.db");
    let (a, b) = (Cache::sqlite(&path).unwrap(), Cache::sqlite(&path).unwrap());
    let (la, lb) = (limiter(&emu, &a), limiter(&emu, &b));
    std::thread::scope(|s| {
        for t in 0..8 {
            let l = if t % 2 == 0 { la.clone() } else { lb.clone() };
            s.spawn(move || {
                for i in 0..25 {
                    let r = l.chat_completion(&det(MODEL, &format!("q{}", (i * 7 + t) % 25)));
                    assert!(r.is_ok(), "{r:?}");
                }
            });
        }
    });
    assert_eq!((a.counters().errors, b.counters().errors), (0, 0), "no store failed");
    assert_eq!(a.stats().unwrap().entries, 25);
    let sent = emu.stats().requests;
    let (ca, cb) = (a.counters(), b.counters());
    assert_eq!(ca.hits + ca.misses + cb.hits + cb.misses, 200, "every call looked up");
    assert_eq!(ca.misses + cb.misses, sent, "each miss sent exactly one request");
    // A third limiter, on a new connection to the file, answers all 25 from it.
    let c = Cache::sqlite(&path).unwrap();
    let lc = limiter(&emu, &c);
    for i in 0..25 {
        assert!(lc.chat_completion(&det(MODEL, &format!("q{i}"))).unwrap().cached);
    }
    assert_eq!(emu.stats().requests, sent);
}

#[test]
fn an_unreadable_entry_is_counted_sent_again_and_replaced() {
    let emu = Emulator::openai().start().unwrap();
    let store = Arc::new(MemoryStore::new());
    let cache = Cache::new(Arc::clone(&store));
    let l = limiter(&emu, &cache);
    l.chat_completion(&det(MODEL, "a")).unwrap();
    let key = only_key(&store);
    let garbage = CacheEntry { created_ms: 1, model: MODEL.into(), value: b"{not json".to_vec() };
    store.put(&key, &garbage, None).unwrap();
    assert!(!l.chat_completion(&det(MODEL, "a")).unwrap().cached, "sent, not failed");
    assert_eq!(cache.counters().errors, 1, "the bad entry was counted (and logged)");
    assert!(l.chat_completion(&det(MODEL, "a")).unwrap().cached, "replaced by the new answer");
    // A stream's entry never answers a non-streamed call, nor the other way round.
    let s = l.chat_completion_stream(&det(MODEL, "a")).unwrap();
    assert!(!s.is_cached());
    assert_eq!(emu.stats().requests, 3);
}

#[test]
fn stores_that_cannot_be_opened_and_policy_names() {
    let dir = Scratch::new("open");
    let err = Cache::sqlite(&dir.0).unwrap_err(); // a folder, not a file
    assert!(matches!(err, chat_limiter::Error::Cache(_)), "{err:?}");
    assert!(err.to_string().contains("cannot open the cache"), "{err}");
    let bad = dir.file("bad.db");
    std::fs::write(&bad, b"this is not a SQLite database, it is just text in a file").unwrap();
    assert!(matches!(Cache::sqlite(&bad), Err(chat_limiter::Error::Cache(_))));
    for (text, policy) in [
        ("read-write", CachePolicy::ReadWrite),
        ("READ_ONLY", CachePolicy::ReadOnly),
        ("refresh", CachePolicy::Refresh),
    ] {
        assert_eq!(text.parse::<CachePolicy>(), Ok(policy));
    }
    assert!("sometimes".parse::<CachePolicy>().unwrap_err().contains("read-only"));
    let sqlite = Cache::sqlite(dir.file("ok.db")).unwrap();
    assert_eq!(sqlite.stats().unwrap(), chat_limiter::CacheStats::default());
    assert_eq!(sqlite.current_policy(), CachePolicy::default());
    assert!(format!("{sqlite:?}").contains("ok.db"));
}

#[test]
fn many_openers_of_one_new_file_at_once_all_succeed() {
    // Two processes of one job starting together: each sets the new file up (WAL, schema).
    // SQLite can answer the switch to WAL with "busy" at once, without its busy timeout.
    let dir = Scratch::new("openers");
    for round in 0..10 {
        let path = dir.file(&format!("c{round}.db"));
        let start = Arc::new(std::sync::Barrier::new(8));
        let openers: Vec<_> = (0..8)
            .map(|_| {
                let (path, start) = (path.clone(), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    Cache::sqlite(&path).map(|_| ())
                })
            })
            .collect();
        for o in openers {
            o.join().unwrap().unwrap();
        }
    }
}
