//! Fault injection and server-side statistics.

mod emu_common;

use std::time::Duration;

use chat_limiter_emulator::{Emulator, EmulatorBuilder, EmulatorError, FaultKind};
use emu_common::*;

const OPENAI_BODY: &str = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":8}"#;

fn openai_with(kind: FaultKind) -> Emulator {
    Emulator::openai().rpm(1).fault(kind, 1.0).stall(Duration::from_millis(50)).start().unwrap()
}

fn chat(emu: &Emulator) -> Result<Resp, ureq::Error> {
    try_post(&agent(), &format!("{}/chat/completions", emu.base_url()), &OPENAI_AUTH, OPENAI_BODY)
}

#[test]
fn status_faults_consume_nothing() {
    for (kind, status) in
        [(FaultKind::Status500, 500), (FaultKind::Status502, 502), (FaultKind::Status503, 503)]
    {
        let emu = openai_with(kind);
        // rpm(1): three faulted requests in a row would be 429s if faults consumed limit.
        for _ in 0..3 {
            assert_eq!(chat(&emu).unwrap().status, status);
        }
        let stats = emu.stats();
        assert_eq!(stats.faults.get(kind.name()), Some(&3));
        assert_eq!(stats.by_status.get(&status), Some(&3));
        assert_eq!(stats.rate_limited, 0);
    }
    let r = chat(&openai_with(FaultKind::Status500)).unwrap();
    assert_eq!(r.json()["error"]["type"], "server_error");
    let r = chat(&openai_with(FaultKind::Status503)).unwrap();
    assert_eq!(r.h("retry-after"), Some("1"));
    assert_eq!(r.json()["error"]["code"], "server_is_overloaded");
}

#[test]
fn anthropic_529_overloaded() {
    let emu = Emulator::anthropic().fault(FaultKind::Status529, 1.0).start().unwrap();
    let body =
        r#"{"model":"claude-haiku-4-5","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#;
    let r = post(&agent(), &format!("{}/messages", emu.base_url()), &ANTHROPIC_AUTH, body);
    assert_eq!(r.status, 529);
    assert_eq!(r.json()["error"]["type"], "overloaded_error");
    assert_eq!(r.json()["error"]["message"], "Overloaded");
}

#[test]
fn connection_drop_and_stall_fail_the_request() {
    for kind in [FaultKind::ConnectionDrop, FaultKind::Stall] {
        let emu = openai_with(kind);
        assert!(chat(&emu).is_err(), "{kind:?}");
        assert!(chat(&emu).is_err(), "{kind:?} again (fresh connection)");
        let stats = emu.stats();
        assert_eq!(stats.faults.get(kind.name()), Some(&2));
        assert_eq!(stats.accepted, 0);
    }
}

#[test]
fn stall_outlasts_a_client_timeout() {
    let emu = Emulator::openai()
        .fault(FaultKind::Stall, 1.0)
        .stall(Duration::from_secs(3))
        .start()
        .unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .timeout_global(Some(Duration::from_millis(200)))
        .build()
        .into();
    let res = try_post(
        &agent,
        &format!("{}/chat/completions", emu.base_url()),
        &OPENAI_AUTH,
        OPENAI_BODY,
    );
    assert!(res.is_err());
}

#[test]
fn malformed_body_and_garbage_headers() {
    let r = chat(&openai_with(FaultKind::MalformedBody)).unwrap();
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&r.body).is_err());
    let emu = openai_with(FaultKind::GarbageHeaders);
    let r = chat(&emu).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.h("x-ratelimit-reset-tokens"), Some("banana"));
    assert_eq!(r.h("x-ratelimit-remaining-requests"), Some("-5"));
    assert!(r.json()["usage"].is_object(), "body is intact");
    assert_eq!(chat(&emu).unwrap().status, 429, "garbage-header successes are charged");
}

#[test]
fn mid_stream_errors_per_provider_and_refund() {
    let stream = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":8,"stream":true}"#;
    let emu = openai_with(FaultKind::MidStreamError);
    for _ in 0..2 {
        let (status, _, lines) = stream_lines(
            &agent(),
            &format!("{}/chat/completions", emu.base_url()),
            &OPENAI_AUTH,
            stream,
        );
        assert_eq!(status, 200);
        let chunks = data_json(&lines);
        assert_eq!(chunks.last().unwrap()["error"]["type"], "server_error");
        assert!(lines.iter().all(|(_, l)| l != "data: [DONE]"));
    }
    // A non-streaming request is not faulted by this kind; rpm(1) shows both streams were refunded.
    assert_eq!(chat(&emu).unwrap().status, 200);

    let emu = Emulator::anthropic().fault(FaultKind::MidStreamError, 1.0).start().unwrap();
    let b = r#"{"model":"claude-haiku-4-5","max_tokens":8,"stream":true,"messages":[{"role":"user","content":"x"}]}"#;
    let (_, _, lines) =
        stream_lines(&agent(), &format!("{}/messages", emu.base_url()), &ANTHROPIC_AUTH, b);
    let events: Vec<&str> = lines.iter().filter_map(|(_, l)| l.strip_prefix("event: ")).collect();
    assert_eq!(events.last(), Some(&"error"));
    assert_eq!(data_json(&lines).last().unwrap()["error"]["type"], "overloaded_error");

    let emu = Emulator::openrouter().fault(FaultKind::MidStreamError, 1.0).start().unwrap();
    let b = r#"{"model":"openai/gpt-4o","max_tokens":8,"stream":true,"messages":[{"role":"user","content":"x"}]}"#;
    let auth = [("authorization", "Bearer sk-or-v1-x")];
    let (status, _, lines) =
        stream_lines(&agent(), &format!("{}/chat/completions", emu.base_url()), &auth, b);
    assert_eq!(status, 200);
    let last = data_json(&lines).pop().unwrap();
    assert!(last["error"]["code"].is_number());
    assert_eq!(last["choices"][0]["finish_reason"], "error");
}

#[test]
fn invalid_config_is_rejected_at_start() {
    let bad: [EmulatorBuilder; 4] = [
        Emulator::openai().rpm(0),
        Emulator::openai().fault(FaultKind::Status500, 1.5),
        Emulator::anthropic().tpm(10),
        Emulator::openai().fault_rate(0.8).quota_error_rate(0.5),
    ];
    for b in bad {
        assert!(matches!(b.start(), Err(EmulatorError::InvalidConfig(_))));
    }
}

#[test]
fn stats_counts_duplicates_timeline_and_http_endpoint() {
    let emu = Emulator::openai()
        .rpm(3)
        .latency(Duration::from_millis(300), Duration::ZERO)
        .start()
        .unwrap();
    let url = format!("{}/chat/completions", emu.base_url());
    let bodies = ["a", "b", "a", "c"].map(|c| format!(r#"{{"model":"gpt-4o","messages":[{{"role":"user","content":"{c}"}}],"max_completion_tokens":4}}"#));
    let handles: Vec<_> = bodies[..3]
        .iter()
        .cloned()
        .map(|b| {
            let url = url.clone();
            std::thread::spawn(move || post(&agent(), &url, &OPENAI_AUTH, &b).status)
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(statuses, [200, 200, 200]);
    assert_eq!(post(&agent(), &url, &OPENAI_AUTH, &bodies[3]).status, 429);
    let s = emu.stats();
    assert_eq!((s.requests, s.accepted, s.rate_limited), (4, 3, 1));
    assert_eq!(s.duplicate_bodies, 1);
    assert_eq!(s.by_status.get(&200), Some(&3));
    assert!(s.peak_in_flight >= 2, "three 300 ms requests overlapped: {}", s.peak_in_flight);
    assert_eq!(s.in_flight, 0);
    assert_eq!(s.input_tokens, 3);
    assert!((6..=12).contains(&s.output_tokens));
    assert_eq!(s.timeline.iter().map(|t| t.accepted).sum::<u64>(), 3);
    assert_eq!(s.timeline.iter().map(|t| t.rate_limited).sum::<u64>(), 1);
    let root = emu.base_url().trim_end_matches("/v1").to_string();
    let j = get(&agent(), &format!("{root}/_stats"), &[]).json();
    assert_eq!(j["accepted"], 3);
    assert_eq!(j["duplicate_bodies"], 1);
    assert_eq!(j["by_status"]["429"], 1);
    assert!(j["timeline"][0]["second"].is_number());
    emu.reset_stats();
    assert_eq!(emu.stats().requests, 0);
    let r = get(&agent(), &format!("{root}/v1/nothing"), &[]);
    assert_eq!(r.status, 404);
}

#[test]
fn huge_or_hostile_requests_get_400_not_a_crash() {
    let emu = Emulator::openai().unlimited().start().unwrap();
    let url = format!("{}/chat/completions", emu.base_url());
    let a = agent();
    let huge = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"max_completion_tokens":1000000000000}"#;
    assert_eq!(post(&a, &url, &OPENAI_AUTH, huge).status, 400);
    let many = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"max_completion_tokens":100000,"n":100}"#;
    assert_eq!(post(&a, &url, &OPENAI_AUTH, many).status, 400);
    for bad in
        ["", "null", "[]", r#"{"model":5}"#, r#"{"model":"gpt-4o","messages":"x"}"#, "\u{0}\u{1}"]
    {
        assert_eq!(post(&a, &url, &OPENAI_AUTH, bad).status, 400, "{bad:?}");
    }
    let emu = Emulator::anthropic().start().unwrap();
    let b = r#"{"model":"claude-haiku-4-5","max_tokens":99999999999,"messages":[{"role":"user","content":"x"}]}"#;
    assert_eq!(post(&a, &format!("{}/messages", emu.base_url()), &ANTHROPIC_AUTH, b).status, 400);
    assert_eq!(emu.stats().by_status.get(&400), Some(&1));
}
