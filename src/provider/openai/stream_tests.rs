//! OpenAI and OpenRouter stream chunks, from the captures in docs/providers.md §1.4 and §3.4.

use super::*;
use crate::types::MessageRole;

fn chunk(ev: StreamEvent) -> ChatCompletionChunk {
    match ev {
        StreamEvent::Chunk(c) => c,
        other => panic!("expected a chunk, got {other:?}"),
    }
}

#[test]
fn openai_capture() {
    let p = Provider::OpenAI;
    let first = r#"{"id":"chatcmpl-CVFj","object":"chat.completion.chunk","created":1761564674,"model":"gpt-3.5-turbo-0125","service_tier":"default","system_fingerprint":null,"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"x"}"#;
    let c = chunk(decode(p, first, "k").expect("valid"));
    assert_eq!((c.id.as_str(), c.model.as_str()), ("chatcmpl-CVFj", "gpt-3.5-turbo-0125"));
    assert_eq!((c.role, c.delta.as_str(), c.usage), (Some(MessageRole::Assistant), "", None));
    let c = chunk(decode(p, r#"{"id":"c","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":null}"#, "k").expect("valid"));
    assert_eq!((c.delta.as_str(), c.role), ("Hi", None));
    let c = chunk(
        decode(
            p,
            r#"{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}"#,
            "k",
        )
        .expect("valid"),
    );
    assert_eq!(c.finish_reason.as_deref(), Some("stop"));
    let last = r#"{"id":"c","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0}}}"#;
    let u = chunk(decode(p, last, "k").expect("valid")).usage.expect("usage");
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (10, 5, 15));
    assert_eq!(decode(p, "[DONE]", "k").expect("done"), StreamEvent::Done);
    assert_eq!(decode(p, " [DONE] ", "k").expect("done"), StreamEvent::Done);
    assert_eq!(decode(p, "", "k").expect("empty"), StreamEvent::Ignore);
}

#[test]
fn openai_mid_stream_error() {
    let key = "sk-abcdefghijklmnop";
    let data = format!(
        r#"{{"error":{{"message":"The server had an error ({key})","type":"server_error","param":null,"code":null}}}}"#
    );
    let err = decode(Provider::OpenAI, &data, key).expect_err("error chunk");
    let api = err.api_error().expect("api");
    assert_eq!((api.status, api.retryable, api.provider), (500, true, Provider::OpenAI));
    assert!(!api.message.contains(key));
}

#[test]
fn openrouter_usage_and_mid_stream_error() {
    let p = Provider::OpenRouter;
    let data = r#"{"id":"gen-1","provider":"OpenAI","model":"openai/gpt-4o-mini","choices":[{"index":0,"delta":{"content":"!"},"finish_reason":"stop","native_finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"cost":0.001}}"#;
    let c = chunk(decode(p, data, "k").expect("valid"));
    assert_eq!((c.delta.as_str(), c.finish_reason.as_deref()), ("!", Some("stop")));
    assert_eq!(c.usage.expect("usage").cost, Some(0.001));
    let err_chunk = r#"{"id":"gen-1","object":"chat.completion.chunk","error":{"code":502,"message":"Provider disconnected","metadata":{"error_type":"provider_unavailable"}},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}"#;
    let err = decode(p, err_chunk, "k").expect_err("error chunk");
    let api = err.api_error().expect("api");
    assert_eq!(
        (api.status, api.code.as_deref(), api.retryable),
        (502, Some("provider_unavailable"), true)
    );
    let bare = r#"{"id":"gen-1","choices":[{"index":0,"delta":{},"finish_reason":"error"}]}"#;
    assert!(matches!(decode(p, bare, "k"), Err(Error::Stream(_))));
}

#[test]
fn malformed_json_is_a_stream_error() {
    for data in ["{", "not json", "[1,2]", "42", "\"[DONE]\""] {
        assert!(matches!(decode(Provider::OpenAI, data, "k"), Err(Error::Stream(_))), "{data}");
    }
}

#[test]
fn tool_call_and_reasoning_deltas_are_kept_apart_from_text() {
    let p = Provider::OpenRouter;
    let first = r#"{"id":"gen-1","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}},{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":null}]}"#;
    let c = chunk(decode(p, first, "k").expect("valid"));
    assert_eq!(c.delta, "");
    assert_eq!(c.tool_calls.len(), 2);
    assert_eq!((c.tool_calls[1].index, c.tool_calls[1].id.as_deref()), (1, Some("call_b")));
    assert_eq!(c.tool_calls[0].name.as_deref(), Some("get_weather"));
    let piece = r#"{"id":"gen-1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}"#;
    let c = chunk(decode(p, piece, "k").expect("valid"));
    assert_eq!(c.tool_calls[0].arguments, r#"{"city":"#);
    assert_eq!((c.tool_calls[0].id.as_ref(), c.tool_calls[0].name.as_ref()), (None, None));
    let r = r#"{"id":"gen-1","choices":[{"index":0,"delta":{"content":"","reasoning":"Let me think"},"finish_reason":null}]}"#;
    let c = chunk(decode(p, r, "k").expect("valid"));
    assert_eq!((c.reasoning.as_str(), c.delta.as_str()), ("Let me think", ""));
}
