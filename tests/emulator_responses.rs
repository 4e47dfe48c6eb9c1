//! The emulator's OpenAI Responses API (docs/providers.md §11) over plain HTTP: the object,
//! the typed stream events, the same limits and headers as Chat Completions, and its 400s.

mod emu_common;

use chat_limiter_emulator::{Emulator, OutputLen};
use emu_common::*;
use serde_json::{json, Value};

fn url(emu: &Emulator) -> String {
    format!("{}/responses", emu.base_url())
}

#[test]
fn a_response_object_with_usage_and_the_chat_headers() {
    let emu = Emulator::openai().rpm(500).tpm(300_000).start().unwrap();
    let body = json!({"model": "o3-mini", "instructions": "abcd",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "efgh"}]}],
        "max_output_tokens": 20, "reasoning": {"summary": "auto"}});
    let r = post(&agent(), &url(&emu), &OPENAI_AUTH, &body.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.h("x-ratelimit-limit-requests"), Some("500"));
    assert_eq!(r.h("x-ratelimit-remaining-requests"), Some("499"));
    // 8 chars → 2 prompt tokens, plus 20 reserved.
    assert_eq!(r.h("x-ratelimit-remaining-tokens"), Some("299978"));
    assert!(r.h("x-request-id").is_some_and(|id| id.starts_with("req_")));
    let j = r.json();
    assert_eq!((j["object"].as_str(), j["model"].as_str()), (Some("response"), Some("o3-mini")));
    assert!(j["id"].as_str().unwrap().starts_with("resp_"));
    let u = &j["usage"];
    assert_eq!(u["input_tokens"], 2);
    let (out, reasoning) = (
        u["output_tokens"].as_u64().unwrap(),
        u["output_tokens_details"]["reasoning_tokens"].as_u64().unwrap(),
    );
    assert!(reasoning > 0 && reasoning == out / 2, "{u}");
    assert_eq!(u["total_tokens"].as_u64(), Some(2 + out));
    let output = j["output"].as_array().unwrap();
    assert_eq!(output[0]["type"], "reasoning");
    assert!(output[0]["summary"][0]["text"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(
        (output[1]["type"].as_str(), output[1]["role"].as_str()),
        (Some("message"), Some("assistant"))
    );
    let text = output[1]["content"][0]["text"].as_str().unwrap();
    assert_eq!(text.split(' ').count() as u64, out - reasoning, "one word per text token");
    assert_eq!(j["status"], if out >= 20 { "incomplete" } else { "completed" });
    let stats = emu.stats();
    assert_eq!((stats.accepted, stats.input_tokens, stats.output_tokens), (1, 2, out));
}

#[test]
fn the_stream_is_typed_events_ending_on_response_completed() {
    let emu = Emulator::openai().rpm(500).output_len(OutputLen::Fixed(6)).start().unwrap();
    let body =
        json!({"model": "gpt-4o-mini", "input": "hello", "stream": true, "max_output_tokens": 16});
    let (status, headers, lines) =
        stream_lines(&agent(), &url(&emu), &OPENAI_AUTH, &body.to_string());
    assert_eq!(status, 200);
    assert!(headers["content-type"].starts_with("text/event-stream"));
    assert!(headers.contains_key("x-ratelimit-remaining-requests"));
    let events: Vec<&str> = lines.iter().filter_map(|(_, l)| l.strip_prefix("event: ")).collect();
    let data = data_json(&lines);
    assert_eq!(events.len(), data.len(), "an event line for every data line");
    for (i, (e, d)) in events.iter().zip(&data).enumerate() {
        assert_eq!((d["type"].as_str(), d["sequence_number"].as_u64()), (Some(*e), Some(i as u64)));
    }
    let mut want = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ];
    want.extend(["response.output_text.delta"; 6]);
    want.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(events, want);
    let deltas: String = data.iter().filter_map(|d| d["delta"].as_str()).collect();
    assert_eq!(data[10]["text"].as_str(), Some(deltas.as_str()));
    let last: &Value = &data[13]["response"];
    assert_eq!(last["status"], "completed");
    assert_eq!(last["output"][0]["content"][0]["text"].as_str(), Some(deltas.as_str()));
    assert_eq!(
        (
            last["usage"]["output_tokens"].as_u64(),
            last["usage"]["output_tokens_details"]["reasoning_tokens"].as_u64()
        ),
        (Some(6), Some(0))
    );
    assert!(!lines.iter().any(|(_, l)| l.contains("[DONE]")));
}

#[test]
fn limits_and_rejections_are_those_of_chat_completions() {
    let emu = Emulator::openai().rpm(1).start().unwrap();
    let ok = json!({"model": "gpt-4o", "input": "hi"}).to_string();
    assert_eq!(post(&agent(), &url(&emu), &OPENAI_AUTH, &ok).status, 200);
    // One bucket per key and model across both endpoints.
    let chat =
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    let r = post(&agent(), &format!("{}/chat/completions", emu.base_url()), &OPENAI_AUTH, &chat);
    assert_eq!(r.status, 429);
    let r = post(&agent(), &url(&emu), &OPENAI_AUTH, &ok);
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "rate_limit_exceeded");
    assert!(r.h("retry-after").is_some() && r.h("x-ratelimit-remaining-requests") == Some("0"));
    for (body, status, needle) in [
        (json!({"model": "gpt-4o", "messages": []}), 400, "'messages'"),
        (json!({"model": "gpt-4o", "input": "x", "max_tokens": 50}), 400, "'max_tokens'"),
        (json!({"model": "gpt-4o", "input": "x", "max_output_tokens": 15}), 400, ">= 16"),
        (json!({"model": "gpt-4o"}), 400, "'input'"),
        (json!({"input": "x"}), 400, "'model'"),
        (json!({"model": "nope", "input": "x"}), 404, "does not exist"),
    ] {
        let r = post(&agent(), &url(&emu), &OPENAI_AUTH, &body.to_string());
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert!(r.json()["error"]["message"].as_str().unwrap().contains(needle), "{}", r.body);
    }
    assert_eq!(post(&agent(), &url(&emu), &[], &ok).status, 401);
}

#[test]
fn a_reasoning_stream_has_its_reasoning_item_first_and_a_capped_one_ends_incomplete() {
    let emu = Emulator::openai().rpm(500).output_len(OutputLen::Max).start().unwrap();
    let body = json!({"model": "gpt-5-mini", "input": "hello", "stream": true,
        "max_output_tokens": 16, "reasoning": {"effort": "low", "summary": "auto"}});
    let (_, _, lines) = stream_lines(&agent(), &url(&emu), &OPENAI_AUTH, &body.to_string());
    let data = data_json(&lines);
    let kinds: Vec<&str> = data.iter().map(|d| d["type"].as_str().unwrap()).collect();
    assert_eq!(
        &kinds[2..5],
        [
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta"
        ]
    );
    assert_eq!(data[2]["item"]["type"], "reasoning");
    let summary: String = data
        .iter()
        .filter(|d| d["type"] == "response.reasoning_summary_text.delta")
        .filter_map(|d| d["delta"].as_str())
        .collect();
    let done = data.iter().find(|d| d["type"] == "response.reasoning_summary_text.done").unwrap();
    assert_eq!(done["text"].as_str(), Some(summary.as_str()));
    let text: Vec<&str> = data
        .iter()
        .filter(|d| d["type"] == "response.output_text.delta")
        .filter_map(|d| d["delta"].as_str())
        .collect();
    assert_eq!(text.len(), 8, "16 output tokens, half of them reasoning");
    let last = data.last().unwrap();
    assert_eq!(last["type"], "response.incomplete");
    let r = &last["response"];
    assert_eq!(
        (r["status"].as_str(), r["incomplete_details"]["reason"].as_str()),
        (Some("incomplete"), Some("max_output_tokens"))
    );
    assert_eq!(r["output"][0]["summary"][0]["text"].as_str(), Some(summary.as_str()));
    assert_eq!(
        (
            r["usage"]["output_tokens"].as_u64(),
            r["usage"]["output_tokens_details"]["reasoning_tokens"].as_u64()
        ),
        (Some(16), Some(8))
    );
}
