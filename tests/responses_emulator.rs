//! OpenAI's Responses API end to end through the emulator: a call and a stream (text, usage
//! with reasoning tokens), the headers teaching the limiter, a 429 retried like any other, the
//! three ways to choose the wire, and every way a Responses stream ends.

mod common;
mod fake_http;
mod stream_common;

use std::time::Duration;

use chat_limiter::{ChatCompletionRequest, ChatLimiter, Error, Message, OpenAiApi, Provider};
use chat_limiter_emulator::{Emulator, FaultKind, OutputLen};
use common::builder;
use fake_http::{End, FakeServer, Reply};
use serde_json::json;
use stream_common::{drain, in_flight};

const REASONING: &str = "o4-mini";

fn req(model: &str) -> ChatCompletionRequest {
    ChatCompletionRequest::new(
        model,
        vec![Message::system("Be brief."), Message::user("What is Rust? Answer in one line.")],
    )
    .max_tokens(64)
}

fn limiter_of(emu: &Emulator) -> ChatLimiter {
    builder(Provider::OpenAI, &emu.base_url()).build().unwrap()
}

#[test]
fn a_call_returns_text_usage_with_reasoning_and_teaches_the_limiter() {
    let emu = Emulator::openai().rpm(77).tpm(40_000).start().unwrap();
    let limiter = limiter_of(&emu);
    let r = limiter.responses(&req(REASONING)).unwrap();
    assert_eq!(r.raw["object"], "response");
    assert_eq!(r.raw["instructions"], "Be brief.", "system messages become instructions");
    assert_eq!(r.raw["max_output_tokens"], 64);
    assert!(!r.text().is_empty());
    assert_eq!(r.text(), r.raw["output"][1]["content"][0]["text"].as_str().unwrap());
    assert!(r.request_id.as_deref().is_some_and(|id| id.starts_with("req_")));
    let u = r.usage.expect("usage");
    let reasoning = u.reasoning_tokens.expect("a reasoning model reports reasoning tokens");
    assert!(reasoning > 0 && reasoning < u.completion_tokens, "{u:?}");
    assert_eq!(u.total_tokens, u.prompt_tokens + u.completion_tokens);
    let stats = emu.stats();
    assert_eq!(
        (stats.accepted, stats.input_tokens, stats.output_tokens),
        (1, u.prompt_tokens, u.completion_tokens)
    );
    // The `x-ratelimit-*` headers of the answer set the limiter's limits.
    let snap = limiter.current_limits();
    let m = snap.model(REASONING).expect("the model is tracked");
    assert_eq!(m.requests.as_ref().map(|d| d.limit), Some(77));
    assert_eq!(m.tokens.as_ref().map(|d| d.limit), Some(40_000));
    assert_eq!(m.completed, 1);
    // A model without reasoning reports none; a capped answer is `length`.
    let emu = Emulator::openai().rpm(50).output_len(OutputLen::Max).start().unwrap();
    let r = limiter_of(&emu).responses(&req("gpt-4o-mini")).unwrap();
    assert_eq!(r.usage.unwrap().reasoning_tokens, Some(0));
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("length"));
    assert_eq!(r.raw["status"], "incomplete");
}

#[test]
fn a_stream_yields_the_text_and_settles_with_the_reported_usage() {
    let emu = Emulator::openai().rpm(60).tpm(40_000).start().unwrap();
    let limiter = limiter_of(&emu);
    let request = req(REASONING).extra("reasoning", json!({"effort": "low", "summary": "auto"}));
    let mut stream = limiter.responses_stream(&request).unwrap();
    assert_eq!(in_flight(&limiter, REASONING), 1, "the stream holds its slot");
    let chunks: Vec<_> = stream.by_ref().map(|c| c.unwrap()).collect();
    assert!(stream.is_complete() && stream.is_finished());
    assert_eq!(in_flight(&limiter, REASONING), 0);
    assert_eq!(chunks[0].role, Some(chat_limiter::MessageRole::Assistant));
    assert!(chunks[0].id.starts_with("resp_"));
    let last = chunks.last().unwrap();
    assert_eq!(last.finish_reason.as_deref(), Some("stop"));
    let usage = last.usage.expect("the last chunk carries the usage");
    assert_eq!(stream.usage(), Some(usage));
    assert!(usage.reasoning_tokens.unwrap() > 0);
    let text: String = chunks.iter().map(|c| c.delta.as_str()).collect();
    assert!(!text.is_empty());
    let stats = emu.stats();
    assert_eq!(
        (stats.input_tokens, stats.output_tokens),
        (usage.prompt_tokens, usage.completion_tokens)
    );
    // Collected: the same response a call returns, the reasoning summary apart from the text.
    let r = limiter.responses_stream(&request).unwrap().collect_response().unwrap();
    assert_eq!(r.text(), text, "the same body gets the same answer");
    assert_eq!(r.raw["object"], "response");
    assert!(r.choices[0].message.reasoning.as_deref().is_some_and(|s| !s.is_empty()));
    assert_eq!(r.usage, Some(usage));
}

#[test]
fn a_429_pauses_and_is_retried_the_same_way() {
    let emu = Emulator::openai()
        .requests_per(2, Duration::from_secs(4))
        .latency(Duration::from_millis(1), Duration::ZERO)
        .start()
        .unwrap();
    // Another client (say, another process) has used the server's two requests of these four seconds;
    // this one believes in far more, so its first request meets a 429.
    let other = limiter_of(&emu);
    for i in 0..2 {
        let r = other.responses(&req("gpt-4o-mini").extra("metadata", json!({"i": i.to_string()})));
        assert!(r.is_ok(), "{r:?}");
    }
    let limiter = builder(Provider::OpenAI, &emu.base_url())
        .request_limit(1000)
        .learn_limits(false)
        .build()
        .unwrap();
    let r = limiter.responses(&req("gpt-4o-mini"));
    assert!(r.is_ok(), "retried after the pause: {r:?}");
    let stats = emu.stats();
    assert_eq!((stats.accepted, stats.rate_limited), (3, 1), "{stats:?}");
    let m = limiter.current_limits().model("gpt-4o-mini").cloned().unwrap();
    assert_eq!(m.rate_limited, 1, "the 429 was counted");
    // A 400 (a cap below the API's minimum of 16) is not retried.
    let e = limiter.responses(&req("gpt-4o-mini").max_tokens(5)).unwrap_err();
    let Error::Api(api) = e else { panic!("an API error: {e:?}") };
    assert_eq!((api.status, api.retryable), (400, false));
    assert!(api.message.contains("max_output_tokens"), "{}", api.message);
}

#[test]
fn the_wire_is_chosen_per_request_per_model_or_by_configuration() {
    let emu = Emulator::openai().rpm(100).start().unwrap();
    let url = emu.base_url();
    let object = |l: &ChatLimiter, r: &ChatCompletionRequest| {
        l.chat_completion(r).unwrap().raw["object"].as_str().unwrap().to_string()
    };
    let plain = builder(Provider::OpenAI, &url).build().unwrap();
    assert_eq!(plain.config().openai_api(), OpenAiApi::ChatCompletions);
    assert_eq!(object(&plain, &req("gpt-4o")), "chat.completion");
    assert_eq!(object(&plain, &req("gpt-4o").openai_api(OpenAiApi::Responses)), "response");
    let by_model =
        builder(Provider::OpenAI, &url).responses_models(["o4*", "gpt-5-pro"]).build().unwrap();
    assert_eq!(object(&by_model, &req("o4-mini")), "response");
    assert_eq!(object(&by_model, &req("gpt-5-pro")), "response");
    assert_eq!(object(&by_model, &req("gpt-5-pro-mini")), "chat.completion");
    let request = req("o4-mini").openai_api(OpenAiApi::ChatCompletions);
    assert_eq!(object(&by_model, &request), "chat.completion", "the request's choice wins");
    let all = builder(Provider::OpenAI, &url).openai_api(OpenAiApi::Responses).build().unwrap();
    assert_eq!(object(&all, &req("gpt-4o")), "response");
    let s = all.chat_completion_stream(&req("gpt-4o")).unwrap().collect_response().unwrap();
    assert_eq!(s.raw["object"], "response");
    // Another provider: a typed error before anything is sent.
    let anthropic = builder(Provider::Anthropic, &url).build().unwrap();
    let e = anthropic.responses(&req("claude-3-5-haiku-latest")).unwrap_err();
    assert!(matches!(&e, Error::InvalidRequest(m) if m.contains("Responses")), "{e:?}");
    let e =
        builder(Provider::OpenRouter, &url).openai_api(OpenAiApi::Responses).build().unwrap_err();
    assert!(matches!(&e, Error::Config(m) if m.contains("openai_api")), "{e:?}");
    // A setting the Responses API lacks is refused, not dropped.
    let e = plain.responses(&req("gpt-4o").stop(["END"])).unwrap_err();
    assert!(matches!(&e, Error::InvalidRequest(m) if m.contains("stop")), "{e:?}");
    assert_eq!(emu.stats().requests, 8, "the refused requests were never sent");
}

#[test]
fn a_stream_cut_by_an_error_event_ends_with_the_api_error_and_frees_the_slot() {
    let emu = Emulator::openai().rpm(100).fault(FaultKind::MidStreamError, 1.0).start().unwrap();
    let limiter = limiter_of(&emu);
    let (text, err) = drain(limiter.responses_stream(&req("gpt-4o-mini")).unwrap());
    assert!(!text.is_empty(), "half the text came first");
    let Some(Error::Api(api)) = err else { panic!("an API error: {err:?}") };
    assert_eq!(api.code.as_deref(), Some("server_error"));
    assert!(api.request_id.is_some(), "the request id comes from the headers");
    assert_eq!(in_flight(&limiter, "gpt-4o-mini"), 0);
}

#[test]
fn a_stream_cut_before_response_completed_is_a_stream_error() {
    let events = [
        json!({"type": "response.created", "response": {"id": "resp_1", "model": "gpt-4o", "status": "in_progress"}}),
        json!({"type": "response.output_text.delta", "delta": "Hel"}),
    ];
    let pieces: Vec<(Duration, String)> = events
        .iter()
        .map(|e| (Duration::ZERO, format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap())))
        .collect();
    let server = FakeServer::script(vec![Reply::chunked(200, pieces, End::Finish)
        .header("x-request-id", "req_cut")
        .close()]);
    let limiter = builder(Provider::OpenAI, &server.url("")).build().unwrap();
    let (text, err) = drain(limiter.responses_stream(&req("gpt-4o")).unwrap());
    assert_eq!(text, "Hel");
    let Some(Error::Stream(m)) = err else { panic!("a stream error: {err:?}") };
    assert!(m.contains("response.completed"), "{m}");
    assert_eq!(in_flight(&limiter, "gpt-4o"), 0);
}
