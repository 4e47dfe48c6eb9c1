//! Fault soak: thousands of requests through a batch against an emulator with every fault kind
//! switched on. Every item must end as a success or a typed error, none lost, none sent again
//! after the client accepted its answer, no panic and no hang.
//!
//! The client-side view of every HTTP attempt is recorded precisely: a ureq middleware reads
//! the item's number from the request body (the prompt is `soak item N`) and logs each
//! attempt's outcome under it.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use chat_limiter::{
    process_chat_completion_batch, BatchConfig, ChatCompletionRequest, ChatLimiter, Error, Message,
    Provider,
};
use chat_limiter_emulator::{Emulator, EmulatorBuilder, FaultKind};
use parking_lot::Mutex;

/// What one HTTP attempt looked like to the client before its body was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Seen {
    Status(u16),
    Timeout,
    OtherTransport,
}

type AttemptLog = Arc<Mutex<HashMap<usize, Vec<Seen>>>>;

/// The item number in a request body (`... "soak item 17" ...`).
fn item_of(body: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(body).ok()?;
    let rest = &text[text.find("soak item ")? + "soak item ".len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// A proxy-less agent that logs every attempt under the thread's current item.
fn recording_agent(log: AttemptLog) -> ureq::Agent {
    let middleware = move |req: ureq::http::Request<ureq::SendBody>,
                           next: ureq::middleware::MiddlewareNext|
          -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let (parts, body) = req.into_parts();
        let mut bytes = Vec::new();
        body.into_reader().read_to_end(&mut bytes).expect("the body is in memory");
        let item = item_of(&bytes).expect("every attempt carries its item");
        let body = ureq::SendBody::from_owned_reader(std::io::Cursor::new(bytes));
        let res = next.handle(ureq::http::Request::from_parts(parts, body));
        let seen = match &res {
            Ok(r) => Seen::Status(r.status().as_u16()),
            Err(ureq::Error::Timeout(_)) => Seen::Timeout,
            Err(_) => Seen::OtherTransport,
        };
        log.lock().entry(item).or_default().push(seen);
        res
    };
    ureq::Agent::config_builder().proxy(None).middleware(middleware).build().into()
}

/// Every fault kind the emulator has, at rates that leave most items a success after retries.
fn with_all_faults(b: EmulatorBuilder) -> EmulatorBuilder {
    b.fault_rate(0.06) // 500, 502, 503 (+ 529 on Anthropic), spread evenly
        .fault(FaultKind::ConnectionDrop, 0.02)
        .fault(FaultKind::Stall, 0.01)
        .fault(FaultKind::MalformedBody, 0.02)
        .fault(FaultKind::GarbageHeaders, 0.05)
        .fault(FaultKind::MidStreamError, 0.01) // ignored by the server for non-streaming calls
        .quota_error_rate(0.005)
        .stall(Duration::from_millis(400))
        .latency(Duration::from_millis(1), Duration::ZERO)
        .seed(7)
}

struct Outcome {
    results: Vec<chat_limiter::BatchResult>,
    log: HashMap<usize, Vec<Seen>>,
    stats: chat_limiter_emulator::EmulatorStats,
}

fn soak(emu: &Emulator, provider: Provider, model: &str, n: usize) -> Outcome {
    let log: AttemptLog = Arc::default();
    let limiter = ChatLimiter::builder()
        .model(model)
        .provider(provider)
        .api_key("sk-soak-key-0123456789")
        .base_url(emu.base_url())
        .agent(recording_agent(log.clone()))
        .timeout(Duration::from_millis(250)) // below the 400 ms stall
        .max_retries(6)
        .base_backoff(Duration::from_millis(2))
        .max_backoff(Duration::from_millis(1500)) // honours the 503s' `retry-after: 1`
        .check_credits(false)
        .build()
        .expect("limiter");
    let requests: Vec<_> = (0..n)
        .map(|i| {
            ChatCompletionRequest::new(model, vec![Message::user(format!("soak item {i}"))])
                .max_tokens(8)
        })
        .collect();
    // Retries are the limiter's (max_retries above): the batch adds none of its own.
    let config = BatchConfig::default().max_workers(16).max_concurrent_requests(16);
    // The watchdog: a hang fails the test instead of blocking CI.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(process_chat_completion_batch(&limiter, requests, &config));
    });
    let results = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the batch neither finished nor panicked within 120 s (hang)")
        .expect("the batch itself runs");
    let log = std::mem::take(&mut *log.lock());
    Outcome { results, log, stats: emu.stats() }
}

fn fault(stats: &chat_limiter_emulator::EmulatorStats, kind: FaultKind) -> u64 {
    stats.faults.get(kind.name()).copied().unwrap_or(0)
}

fn check(out: &Outcome, n: usize, retryable_statuses: &[u16]) {
    // None lost: one result per item, in input order.
    assert_eq!(out.results.len(), n);
    let mut ok = 0;
    for (i, r) in out.results.iter().enumerate() {
        assert_eq!(r.index, i);
        assert_eq!(r.request.messages[0].text(), format!("soak item {i}"));
        let attempts = out.log.get(&i).map_or(&[][..], Vec::as_slice);
        assert!(!attempts.is_empty(), "item {i} was never sent");
        match &r.result {
            Ok(resp) => {
                ok += 1;
                assert!(!resp.text().is_empty(), "item {i}: an empty success");
                // The attempt the client accepted was the last one sent for this item.
                assert!(
                    matches!(attempts.last(), Some(Seen::Status(200..=299))),
                    "item {i} was sent again after its success: {attempts:?}"
                );
            }
            Err(e) => assert_typed_failure(i, e, retryable_statuses),
        }
    }
    let st = &out.stats;
    // The server saw every attempt the client logged, except perhaps one the client gave up on
    // before the server had read it.
    let sent = out.log.values().map(Vec::len).sum::<usize>() as u64;
    let timeouts = out.log.values().flatten().filter(|s| **s == Seen::Timeout).count() as u64;
    let mut seen: HashMap<Seen, usize> = HashMap::new();
    for s in out.log.values().flatten() {
        *seen.entry(*s).or_default() += 1;
    }
    eprintln!("client saw {seen:?}; server injected {:?}, answered {:?}", st.faults, st.by_status);
    assert!(
        st.requests <= sent && sent - st.requests <= timeouts,
        "{} sent, {} received",
        sent,
        st.requests
    );
    // A resend after a 2xx is legitimate only when that 2xx was unusable: a malformed body or a
    // connection cut mid-body (both show up here as a 200 before their body is read).
    let resent_after_2xx: u64 = out
        .log
        .values()
        .map(|a| a.windows(2).filter(|w| matches!(w[0], Seen::Status(200..=299))).count() as u64)
        .sum();
    let unusable_2xx = fault(st, FaultKind::MalformedBody) + fault(st, FaultKind::ConnectionDrop);
    assert!(resent_after_2xx <= unusable_2xx, "{resent_after_2xx} resends after a 2xx");
    // The server counts a body twice only when it completed an answer the client never got
    // (a client timeout on an answer that was not a stall): bound by exactly those.
    let stalls = fault(st, FaultKind::Stall);
    assert!(timeouts >= stalls, "every stall must end in a client timeout");
    assert!(
        st.duplicate_bodies <= timeouts - stalls,
        "{} duplicate bodies but only {} non-stall timeouts",
        st.duplicate_bodies,
        timeouts - stalls
    );
    // Each fault kind fired (the soak tests what it claims), and most items still succeeded.
    for kind in [
        FaultKind::Status500,
        FaultKind::Status502,
        FaultKind::Status503,
        FaultKind::ConnectionDrop,
        FaultKind::Stall,
        FaultKind::MalformedBody,
        FaultKind::GarbageHeaders,
    ] {
        assert!(fault(st, kind) > 0, "{kind:?} never fired: {:?}", st.faults);
    }
    assert!(st.faults.get("quota").copied().unwrap_or(0) > 0, "no quota error fired");
    assert!(ok >= n * 9 / 10, "only {ok} of {n} succeeded");
}

/// A failure must be one the caller can act on: the quota error (terminal), or a retryable
/// fault that outlasted every retry. Never a panic turned error, a cancellation or a config
/// error.
fn assert_typed_failure(i: usize, e: &Error, retryable_statuses: &[u16]) {
    let last = match e {
        Error::RetriesExhausted { last, .. } => last.as_ref(),
        other => other,
    };
    match last {
        Error::Api(a) if a.status == 429 && !a.retryable => {}
        Error::Api(a) if retryable_statuses.contains(&a.status) && a.retryable => {}
        Error::Transport { .. } | Error::InvalidResponse { .. } => {}
        other => panic!("item {i}: unexpected failure {other:?}"),
    }
}

#[test]
fn anthropic_batch_survives_every_fault_kind() {
    let n = 2_000;
    let emu = with_all_faults(Emulator::anthropic())
        .fault(FaultKind::Status529, 0.015)
        .rpm(10_000_000)
        .input_tpm(1_000_000_000)
        .output_tpm(1_000_000_000)
        .start()
        .expect("emulator");
    let out = soak(&emu, Provider::Anthropic, "claude-haiku-4-5", n);
    check(&out, n, &[500, 502, 503, 529]);
    assert!(fault(&out.stats, FaultKind::Status529) > 0, "529 never fired");
}

#[test]
fn openai_batch_survives_every_fault_kind() {
    let n = 600;
    let emu = with_all_faults(Emulator::openai())
        .rpm(10_000_000)
        .tpm(1_000_000_000)
        .start()
        .expect("emulator");
    let out = soak(&emu, Provider::OpenAI, "gpt-4o-mini", n);
    check(&out, n, &[500, 502, 503]);
}
