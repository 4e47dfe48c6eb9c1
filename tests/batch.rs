//! Batch processing against the emulator: order, every BatchConfig field, cancellation,
//! per-item retries, mixed models, and the streaming form's memory bound.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_limiter::{
    create_chat_completion_requests, process_chat_completion_batch, process_chat_completion_stream,
    BatchConfig, ChatCompletionRequest, Error, Message, Provider,
};
use chat_limiter_emulator::{Emulator, FaultKind};
use common::builder;

fn prompts(n: usize, tag: &str) -> Vec<String> {
    (0..n).map(|i| format!("{tag} prompt number {i}")).collect()
}

fn slow_unlimited() -> Emulator {
    Emulator::openai()
        .rpm(100_000)
        .tpm(10_000_000)
        .latency(Duration::from_millis(40), Duration::ZERO)
        .start()
        .unwrap()
}

#[test]
fn workers_and_concurrency_cap_what_the_server_sees() {
    let emu = slow_unlimited();
    let limiter = builder(Provider::OpenAI, &emu.base_url()).build().unwrap();
    for (workers, concurrent, cap) in [(3, 100, 3), (100, 5, 5)] {
        emu.reset_stats();
        let reqs = create_chat_completion_requests(
            "gpt-4o-mini",
            prompts(40, &format!("w{workers}")),
            Some(4),
            None,
        );
        let config =
            BatchConfig::default().max_workers(workers).max_concurrent_requests(concurrent);
        let results = process_chat_completion_batch(&limiter, reqs, &config).unwrap();
        assert!(results.iter().all(|r| r.success()));
        let peak = emu.stats().peak_in_flight;
        assert!(peak <= cap as u64, "peak {peak} > {cap}");
        assert!(peak >= 2, "work did run in parallel (peak {peak})");
    }
}

#[test]
fn per_item_retries_follow_the_config() {
    let emu = Emulator::openai().fault(FaultKind::Status500, 1.0).start().unwrap();
    let limiter = builder(Provider::OpenAI, &emu.base_url()).max_retries(0).build().unwrap();
    let reqs = create_chat_completion_requests("gpt-4o-mini", prompts(5, "retry"), Some(4), None);
    let config =
        BatchConfig::default().max_retries_per_item(2).retry_delay(Duration::from_millis(30));
    let results = process_chat_completion_batch(&limiter, reqs, &config).unwrap();
    for r in &results {
        assert_eq!(r.attempts, 3, "1 + max_retries_per_item");
        // One retry loop (the limiter's), one schedule: retry_delay then twice it, each
        // shortened by at most 25% of jitter.
        let Some(Error::RetriesExhausted { attempts: 3, last }) = r.error() else {
            panic!("{:?}", r.error())
        };
        assert_eq!(last.status(), Some(500));
        assert!(r.duration >= Duration::from_micros(67_500), "30 ms then 60 ms between attempts");
    }
    assert_eq!(emu.stats().requests, 15);
    // Errors that cannot be fixed by retrying are not retried.
    let emu = Emulator::openai().api_key("sk-right").start().unwrap();
    let limiter = builder(Provider::OpenAI, &emu.base_url()).build().unwrap(); // wrong key: 401
    let reqs = create_chat_completion_requests("gpt-4o-mini", prompts(3, "auth"), Some(4), None);
    let results = process_chat_completion_batch(&limiter, reqs, &config).unwrap();
    assert!(results
        .iter()
        .all(|r| r.attempts == 1 && r.error().and_then(Error::status) == Some(401)));
    assert_eq!(emu.stats().requests, 3);
}

#[test]
fn stop_on_first_error_cancels_what_has_not_started() {
    let emu = Emulator::openai()
        .models(vec!["gpt-4o-mini".into()])
        .latency(Duration::from_millis(5), Duration::ZERO)
        .start()
        .unwrap();
    let limiter = builder(Provider::OpenAI, &emu.base_url()).build().unwrap();
    let mut reqs =
        create_chat_completion_requests("gpt-4o-mini", prompts(30, "stop"), Some(4), None);
    reqs[3].model = "gpt-unknown".into(); // 404 model_not_found
                                          // One worker and one lane (no grouping), so items run strictly in input order.
    let config =
        BatchConfig::default().max_workers(1).group_by_model(false).stop_on_first_error(true);
    let results = process_chat_completion_batch(&limiter, reqs, &config).unwrap();
    assert_eq!(results.len(), 30, "nothing silently dropped");
    assert!(
        results[..3].iter().all(|r| r.success()),
        "{:?}",
        results[..3].iter().map(|r| r.error()).collect::<Vec<_>>()
    );
    assert_eq!(results[3].error().and_then(Error::status), Some(404));
    let cancelled = results.iter().filter(|r| matches!(r.result, Err(Error::Cancelled))).count();
    assert!(cancelled >= 25, "only {cancelled} cancelled");
    assert!(emu.stats().requests <= 6);
    // Without the flag, everything else runs.
    let mut reqs =
        create_chat_completion_requests("gpt-4o-mini", prompts(10, "go on"), Some(4), None);
    reqs[0].model = "gpt-unknown".into();
    let results = process_chat_completion_batch(&limiter, reqs, &BatchConfig::default()).unwrap();
    assert_eq!(results.iter().filter(|r| r.success()).count(), 9);
}

#[test]
fn group_by_model_keeps_a_waiting_model_from_blocking_another() {
    let order = |group: bool| -> Vec<String> {
        // 4 requests per second per model, learned from the headers.
        let emu = Emulator::openai().requests_per(4, Duration::from_secs(1)).start().unwrap();
        let limiter = builder(Provider::OpenAI, &emu.base_url()).build().unwrap();
        let mut reqs =
            create_chat_completion_requests("gpt-4o", prompts(16, "slow"), Some(4), None);
        reqs.extend(create_chat_completion_requests(
            "gpt-4o-mini",
            prompts(4, "fast"),
            Some(4),
            None,
        ));
        let done = Mutex::new(Vec::new());
        let config = BatchConfig::default().max_workers(4).group_by_model(group);
        process_chat_completion_stream(&limiter, reqs, &config, None, |r| {
            assert!(r.success(), "{:?}", r.error());
            done.lock().unwrap().push(r.request.model.clone());
        })
        .unwrap();
        assert_eq!(emu.stats().rate_limited, 0);
        done.into_inner().unwrap()
    };
    let grouped = order(true);
    let last_fast = grouped.iter().rposition(|m| m == "gpt-4o-mini").unwrap();
    assert!(last_fast < 12, "grouped: the fast model finished early: {grouped:?}");
    let fifo = order(false);
    let first_fast = fifo.iter().position(|m| m == "gpt-4o-mini").unwrap();
    assert!(first_fast >= 10, "ungrouped: the fast model waited behind the slow one: {fifo:?}");
}

#[test]
fn streaming_form_keeps_memory_bounded() {
    let emu = Emulator::openai()
        .rpm(100_000)
        .tpm(10_000_000)
        .latency(Duration::from_millis(2), Duration::ZERO)
        .start()
        .unwrap();
    let limiter = builder(Provider::OpenAI, &emu.base_url()).build().unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = Arc::clone(&pulled);
    let input = (0..2_000).map(move |i| {
        p.fetch_add(1, Ordering::SeqCst);
        ChatCompletionRequest::new("gpt-4o-mini", vec![Message::user(format!("item {i}"))])
            .max_tokens(2)
    });
    let config = BatchConfig::default().max_workers(8).max_concurrent_requests(8);
    let mut finished = 0usize;
    let mut worst_backlog = 0usize;
    let mut seen = vec![false; 2_000];
    let summary = process_chat_completion_stream(&limiter, input, &config, Some(2_000), |r| {
        finished += 1;
        assert!(!std::mem::replace(&mut seen[r.index], true), "index {} reported twice", r.index);
        worst_backlog = worst_backlog.max(pulled.load(Ordering::SeqCst) - finished);
    })
    .unwrap();
    assert_eq!(summary.succeeded, 2_000);
    assert!(seen.iter().all(|s| *s));
    // Items read but not finished: the pending buffer (2 × max(cap, 16)) plus those in flight.
    assert!(worst_backlog <= 2 * 16 + 8 + 1, "backlog {worst_backlog}");
}

#[test]
fn adaptive_in_flight_shrinks_when_the_rate_binds() {
    let avg_in_flight = |adaptive: bool| -> f64 {
        let emu = Emulator::openai()
            .requests_per(20, Duration::from_secs(1))
            .latency(Duration::from_millis(5), Duration::ZERO)
            .start()
            .unwrap();
        let limiter = builder(Provider::OpenAI, &emu.base_url()).build().unwrap();
        let samples = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&samples);
        let config = BatchConfig::default()
            .max_workers(40)
            .adaptive_batch_size(adaptive)
            .on_progress(move |p| s.lock().unwrap().push(p.in_flight));
        let reqs =
            create_chat_completion_requests("gpt-4o-mini", prompts(60, "adaptive"), Some(2), None);
        let results = process_chat_completion_batch(&limiter, reqs, &config).unwrap();
        assert!(results.iter().all(|r| r.success()));
        let samples = samples.lock().unwrap();
        let tail = &samples[20..40]; // the rate-bound middle of the run
        tail.iter().sum::<usize>() as f64 / tail.len() as f64
    };
    let fixed = avg_in_flight(false);
    let adaptive = avg_in_flight(true);
    assert!(adaptive < fixed * 0.75, "adaptive {adaptive} vs fixed {fixed}");
}

#[test]
fn progress_reports_every_item_and_bad_config_is_rejected() {
    let emu = Emulator::openai().start().unwrap();
    let limiter = builder(Provider::OpenAI, &emu.base_url()).build().unwrap();
    let last = Arc::new(Mutex::new(None));
    let l = Arc::clone(&last);
    let config = BatchConfig::default().on_progress(move |p| *l.lock().unwrap() = Some(*p));
    let reqs =
        create_chat_completion_requests("gpt-4o-mini", prompts(12, "progress"), Some(2), None);
    process_chat_completion_batch(&limiter, reqs, &config).unwrap();
    let p = last.lock().unwrap().expect("progress was reported");
    assert_eq!((p.done, p.failed, p.in_flight, p.total), (12, 0, 0, Some(12)));
    for bad in
        [BatchConfig::default().max_workers(0), BatchConfig::default().max_concurrent_requests(0)]
    {
        let err = process_chat_completion_batch(&limiter, vec![], &bad).unwrap_err();
        assert!(matches!(err, Error::Config(_)));
    }
    assert!(process_chat_completion_batch(&limiter, vec![], &BatchConfig::default())
        .unwrap()
        .is_empty());
}

#[test]
fn a_stop_flag_sends_nothing_more_and_leaves_the_rest_of_the_input_unread() {
    let emu = slow_unlimited();
    let limiter = builder(Provider::OpenAI, &emu.base_url()).build().unwrap();
    let read = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&read);
    let input = (0..10_000).map(move |i| {
        counter.fetch_add(1, Ordering::SeqCst);
        ChatCompletionRequest::new("gpt-4o-mini", vec![Message::user(format!("stop {i}"))])
            .max_tokens(4)
    });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let config = BatchConfig::default().max_workers(4).stop(Arc::clone(&stop));
    let (mut ok, mut cancelled) = (0, 0);
    let summary = process_chat_completion_stream(&limiter, input, &config, None, |r| {
        match &r.result {
            Ok(_) => ok += 1,
            Err(Error::Cancelled) => {
                assert_eq!(r.attempts, 0, "a cancelled item was never sent");
                cancelled += 1;
            }
            Err(e) => panic!("{e}"),
        }
        if ok == 5 {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    })
    .unwrap();
    let sent = emu.stats().requests;
    assert!(ok >= 5 && sent as usize == ok, "sent {sent}, answered {ok}");
    assert!(sent <= 5 + 4, "at most the in-flight requests after the stop: {sent}");
    assert!(read.load(Ordering::SeqCst) < 200, "the rest of the input stays unread");
    assert_eq!(summary.cancelled, cancelled);
    assert_eq!(summary.total, ok + cancelled, "every item read is reported");
}

#[test]
fn a_stop_also_holds_back_the_requests_waiting_in_the_limiter() {
    let emu = Emulator::openai().unlimited().start().unwrap();
    // Two requests a minute: after the first two, everyone waits in the limiter's queue.
    let limiter = builder(Provider::OpenAI, &emu.base_url()).request_limit(2).build().unwrap();
    let reqs = create_chat_completion_requests("gpt-4o-mini", prompts(12, "held"), Some(4), None);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let config = BatchConfig::default().max_workers(12).stop(Arc::clone(&stop));
    let started = std::time::Instant::now();
    let (mut ok, mut cancelled) = (0, 0);
    process_chat_completion_stream(&limiter, reqs, &config, None, |r| {
        match &r.result {
            Ok(_) => ok += 1,
            Err(Error::Cancelled) => {
                assert_eq!(r.attempts, 0, "never sent");
                cancelled += 1;
            }
            Err(e) => panic!("{e}"),
        }
        if ok == 2 {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    })
    .unwrap();
    assert_eq!((ok, cancelled), (2, 10));
    assert_eq!(emu.stats().requests, 2, "nothing waiting in the limiter was sent after the stop");
    assert!(started.elapsed() < Duration::from_secs(5), "no one waited out the minute");
}

#[test]
fn a_stop_set_from_another_thread_ends_a_batch_whose_requests_all_wait() {
    let emu = Emulator::openai().unlimited().start().unwrap();
    let limiter = builder(Provider::OpenAI, &emu.base_url()).request_limit(2).build().unwrap();
    let reqs = create_chat_completion_requests("gpt-4o-mini", prompts(6, "far"), Some(4), None);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let config = BatchConfig::default().stop(stop);
    let started = std::time::Instant::now();
    let results = process_chat_completion_batch(&limiter, reqs, &config).unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "ended soon after the stop");
    let sent = results.iter().filter(|r| r.attempts > 0).count();
    assert_eq!(sent, 2, "the two the minute allowed");
    assert!(results
        .iter()
        .filter(|r| r.attempts == 0)
        .all(|r| matches!(r.result, Err(Error::Cancelled))));
    assert_eq!(emu.stats().requests, 2);
}
