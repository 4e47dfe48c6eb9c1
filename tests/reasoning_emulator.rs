//! Reasoning end to end through the emulator: OpenAI `reasoning_effort`, OpenRouter's
//! `reasoning`, Anthropic `thinking` (budgeted and adaptive), streamed and not.
//!
//! The emulator's rule: an effort spends `cap/16` (minimal), `cap/8` (low), `cap/4`
//! (medium) or `cap/2` (high) reasoning tokens; Anthropic thinks `min(budget / 4,
//! max_tokens / 2)` tokens (`max_tokens / 4` adaptive), one lorem word each, and checks the
//! signature of every thinking block sent back.

mod common;

use chat_limiter::{
    ChatCompletionRequest, ChatCompletionResponse, ChatLimiter, Error, Message, Provider,
    ReasoningEffort, Thinking, ThinkingBlock, Tool,
};
use chat_limiter_emulator::Emulator;
use serde_json::json;

fn start(p: Provider) -> (Emulator, ChatLimiter) {
    let emu = match p {
        Provider::Anthropic => Emulator::anthropic(),
        Provider::OpenRouter => Emulator::openrouter(),
        _ => Emulator::openai(),
    }
    .start()
    .unwrap();
    let limiter = common::builder(p, &emu.base_url()).build().unwrap();
    (emu, limiter)
}

fn call(
    limiter: &ChatLimiter,
    req: &ChatCompletionRequest,
    stream: bool,
) -> ChatCompletionResponse {
    if stream {
        limiter.chat_completion_stream(req).unwrap().collect_response().unwrap()
    } else {
        limiter.chat_completion(req).unwrap()
    }
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

#[test]
fn openai_reasoning_effort_shows_reasoning_tokens_in_usage() {
    let (_emu, limiter) = start(Provider::OpenAI);
    let req = ChatCompletionRequest::new("o3-mini", vec![Message::user("Think, then answer.")])
        .reasoning_effort(ReasoningEffort::High)
        .max_tokens(400);
    for stream in [false, true] {
        let r = call(&limiter, &req, stream);
        let u = r.usage.expect("usage");
        assert_eq!(u.reasoning_tokens, Some(200), "stream={stream}");
        // Reasoning is output: the visible words are what is left.
        assert_eq!(u.completion_tokens, 200 + words(&r.text()) as u64, "stream={stream}");
        assert_eq!(r.choices[0].message.reasoning, None, "OpenAI returns no reasoning text");
    }
    // A model without reasoning refuses the setting (the emulator answers 400, not sent twice).
    let plain = ChatCompletionRequest::new("gpt-4o-mini", vec![Message::user("hi")])
        .reasoning_effort(ReasoningEffort::Low)
        .max_tokens(8);
    assert_eq!(limiter.chat_completion(&plain).unwrap_err().status(), Some(400));
}

#[test]
fn openrouter_reasoning_text_is_kept_apart_and_counted() {
    let (_emu, limiter) = start(Provider::OpenRouter);
    let req = ChatCompletionRequest::new("openai/o3-mini", vec![Message::user("Think.")])
        .reasoning_effort(ReasoningEffort::Low)
        .max_tokens(400);
    for stream in [false, true] {
        let r = call(&limiter, &req, stream);
        let u = r.usage.expect("usage");
        assert_eq!(u.reasoning_tokens, Some(50), "stream={stream}");
        let reasoning = r.choices[0].message.reasoning.clone().expect("reasoning text");
        assert_eq!(words(&reasoning), 50, "stream={stream}");
        assert_eq!(u.completion_tokens, 50 + words(&r.text()) as u64, "stream={stream}");
    }
    // In a stream, reasoning comes on its own field, never in the answer's text.
    let mut reasoning_chunks = 0;
    for chunk in limiter.chat_completion_stream(&req).unwrap() {
        let c = chunk.unwrap();
        if !c.reasoning.is_empty() {
            reasoning_chunks += 1;
            assert_eq!(c.delta, "");
        }
    }
    assert_eq!(reasoning_chunks, 50);
    let budget = ChatCompletionRequest::new("openai/o3-mini", vec![Message::user("Think.")])
        .thinking(Thinking::Enabled { budget_tokens: 100 })
        .max_tokens(400);
    assert_eq!(
        limiter.chat_completion(&budget).unwrap().usage.unwrap().reasoning_tokens,
        Some(100)
    );
}

#[test]
fn anthropic_thinking_is_kept_apart_signed_and_sent_back_in_a_tool_conversation() {
    let (_emu, limiter) = start(Provider::Anthropic);
    let tool = Tool::new(
        "get_weather",
        "Weather",
        json!({"type":"object","properties":{"city":{"type":"string"}}}),
    );
    for stream in [false, true] {
        let mut req = ChatCompletionRequest::new(
            "claude-sonnet-4-5",
            vec![Message::user("Please call get_weather for Paris.")],
        )
        .tool(tool.clone())
        .thinking(Thinking::Enabled { budget_tokens: 2048 })
        .max_tokens(4096);
        let first = call(&limiter, &req, stream);
        let m = &first.choices[0].message;
        let thinking = m.reasoning.clone().expect("thinking text");
        assert_eq!(words(&thinking), 512, "stream={stream}: min(2048 / 4, 4096 / 2)");
        assert!(!first.text().contains(thinking.trim()), "stream={stream}: not in the answer");
        let [ThinkingBlock::Thinking { signature, .. }] = m.thinking_blocks.as_slice() else {
            panic!("one signed thinking block: {:?}", m.thinking_blocks)
        };
        assert!(!signature.is_empty());
        let u = first.usage.expect("usage");
        // Thinking is inside output_tokens; Anthropic reports no separate figure.
        assert!(u.completion_tokens > 512, "stream={stream}");
        assert_eq!(u.reasoning_tokens, None);
        assert_eq!(m.tool_calls.len(), 1, "stream={stream}");
        // Second turn: the emulator refuses a tool conversation whose thinking block was
        // dropped or changed, so a 200 here shows it came back whole with its signature.
        let id = m.tool_calls[0].id.clone();
        req.messages.push(m.clone());
        req.messages.push(Message::tool_result(id, "18 C"));
        let second = call(&limiter, &req, stream);
        assert!(!second.text().is_empty(), "stream={stream}");
        let mut forged = req.clone();
        forged.messages[1].thinking_blocks = vec![ThinkingBlock::Thinking {
            thinking: "changed".into(),
            signature: signature.clone(),
        }];
        assert_eq!(limiter.chat_completion(&forged).unwrap_err().status(), Some(400));
    }
}

#[test]
fn adaptive_thinking_and_the_output_reservation() {
    let (emu, limiter) = start(Provider::Anthropic);
    let req = ChatCompletionRequest::new("claude-opus-4-6", vec![Message::user("Think.")])
        .thinking(Thinking::Adaptive)
        .max_tokens(400);
    let r = limiter.chat_completion(&req).unwrap();
    assert_eq!(words(r.choices[0].message.reasoning.as_deref().unwrap_or("")), 100);
    // A budget that does not fit below max_tokens is refused before anything is sent.
    let sent = emu.stats().requests;
    let bad = ChatCompletionRequest::new("claude-sonnet-4-5", vec![Message::user("Think.")])
        .thinking(Thinking::Enabled { budget_tokens: 2048 })
        .max_tokens(2048);
    assert!(matches!(limiter.chat_completion(&bad), Err(Error::InvalidRequest(_))));
    assert_eq!(emu.stats().requests, sent);
    // Thinking counts toward the output limit, so the whole max_tokens is reserved: a
    // request whose max_tokens exceeds the output limit can never be admitted.
    let small = common::builder(Provider::Anthropic, &emu.base_url())
        .output_token_limit(3000)
        .input_token_limit(100_000)
        .request_limit(100)
        .build()
        .unwrap();
    let big = ChatCompletionRequest::new("claude-sonnet-4-5", vec![Message::user("Think.")])
        .thinking(Thinking::Enabled { budget_tokens: 2048 })
        .max_tokens(4096);
    match small.chat_completion(&big) {
        Err(Error::NeverFits { needed, capacity, .. }) => {
            assert_eq!((needed, capacity), (4096, 3000))
        }
        other => panic!("expected NeverFits, got {other:?}"),
    }
}
