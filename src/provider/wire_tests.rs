//! The dispatch layer end to end (SSE bytes to chunks), and property tests feeding arbitrary
//! input to every parser that sees untrusted data: none may panic.

use super::*;
use crate::provider::headers::test_headers;
use crate::provider::sse::SseReader;
use crate::types::Message;
use proptest::prelude::*;
use std::io::Cursor;
use std::time::UNIX_EPOCH;

fn decode_all(p: Provider, raw: &str) -> Result<Vec<StreamEvent>, Error> {
    let mut reader = SseReader::new(Cursor::new(raw.as_bytes().to_vec()));
    let mut dec = StreamDecoder::new(p, "sk-test-key".into());
    let mut out = Vec::new();
    while let Some(ev) = reader.next_event().map_err(|e| Error::Stream(e.to_string()))? {
        match dec.decode(&ev)? {
            StreamEvent::Ignore => {}
            StreamEvent::Done => {
                out.push(StreamEvent::Done);
                break;
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

fn text(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Chunk(c) => Some(c.delta.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn paths_and_auth() {
    assert_eq!(chat_path(Provider::OpenAI), "/chat/completions");
    assert_eq!(chat_path(Provider::OpenRouter), "/chat/completions");
    assert_eq!(chat_path(Provider::Anthropic), "/messages");
    let h = auth_headers(Provider::Anthropic, "sk-ant-x");
    assert!(h.contains(&("x-api-key", "sk-ant-x".to_string())));
    assert!(h.contains(&("anthropic-version", "2023-06-01".to_string())));
    assert!(h.contains(&("content-type", "application/json".to_string())));
    for p in [Provider::OpenAI, Provider::OpenRouter] {
        assert!(auth_headers(p, "sk-x").contains(&("authorization", "Bearer sk-x".to_string())));
    }
}

#[test]
fn request_ids() {
    let h = test_headers(&[
        ("x-request-id", "req_a"),
        ("request-id", "req_b"),
        ("x-generation-id", "gen-c"),
    ]);
    let k = ApiKey::new("k");
    assert_eq!(request_id(Provider::OpenAI, &h, &k).as_deref(), Some("req_a"));
    assert_eq!(request_id(Provider::Anthropic, &h, &k).as_deref(), Some("req_b"));
    assert_eq!(request_id(Provider::OpenRouter, &h, &k).as_deref(), Some("gen-c"));
    assert_eq!(request_id(Provider::Anthropic, &HeaderMap::new(), &k), None);
}

#[test]
fn request_ids_echoing_the_key_are_redacted() {
    let key = "sk-live-abcdef123456";
    let echoed = format!("req-{key}");
    let h = test_headers(&[("x-request-id", &echoed)]);
    let k = ApiKey::new(key);
    for p in [Provider::OpenAI, Provider::Anthropic, Provider::OpenRouter] {
        // Twice: the second call uses the patterns the first one built.
        for _ in 0..2 {
            assert_eq!(request_id(p, &h, &k).as_deref(), Some("req-[REDACTED]"), "{p}");
        }
    }
}

#[test]
fn answers_without_limit_headers_read_as_the_full_parse_reads_them() {
    let now = UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    let plain = [
        ("date", "Tue, 14 Nov 2023 22:13:20 GMT"),
        ("x-request-id", "req_1"),
        ("content-type", "application/json"),
    ];
    for (p, unknown) in [
        (Provider::OpenAI, "x-ratelimit-unknown"),
        (Provider::Anthropic, "anthropic-ratelimit-unknown"),
        (Provider::OpenRouter, "x-ratelimit-unknown"),
    ] {
        let fast = parse_rate_limits(p, &test_headers(&plain), now);
        // An unknown limit header sends the same information through the whole parser.
        let mut with_unknown = plain.to_vec();
        with_unknown.push((unknown, "1"));
        assert_eq!(fast, parse_rate_limits(p, &test_headers(&with_unknown), now), "{p}");
        assert_eq!(fast, parse_rate_limits(p, &HeaderMap::new(), now), "{p}");
        assert!(fast.is_empty(), "{p}");
    }
}

#[test]
fn body_dispatch_uses_default_max_tokens_only_for_anthropic() {
    let req = ChatCompletionRequest::new("m", vec![Message::user("hi")]);
    assert_eq!(chat_body(Provider::Anthropic, &req, false, 99).expect("ok")["max_tokens"], 99);
    assert!(chat_body(Provider::OpenAI, &req, false, 99).expect("ok").get("max_tokens").is_none());
}

#[test]
fn openrouter_stream_with_keepalives() {
    let raw = ": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\n\
        data: {\"id\":\"gen-1\",\"provider\":\"OpenAI\",\"model\":\"openai/gpt-4o-mini\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n\
        : OPENROUTER PROCESSING\n\n\
        data: {\"id\":\"gen-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n\
        data: {\"id\":\"gen-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2,\"total_tokens\":6,\"cost\":0.0001}}\n\n\
        data: [DONE]\n\n";
    let events = decode_all(Provider::OpenRouter, raw).expect("valid");
    assert_eq!(text(&events), "Hello");
    assert_eq!(events.last(), Some(&StreamEvent::Done));
}

#[test]
fn anthropic_stream_with_crlf() {
    let raw = "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-x\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\r\n\r\n\
        event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n\
        event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\r\n\r\n\
        event: message_delta\r\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\r\n\r\n\
        event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";
    let events = decode_all(Provider::Anthropic, raw).expect("valid");
    assert_eq!(text(&events), "Hi");
    let StreamEvent::Chunk(last) = &events[events.len() - 2] else { panic!("expected a chunk") };
    assert_eq!(last.usage.map(|u| (u.prompt_tokens, u.completion_tokens)), Some((3, 2)));
    let err = decode_all(Provider::Anthropic, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
        .expect_err("error event");
    assert_eq!(err.status(), Some(529));
}

#[test]
fn decoder_debug_hides_the_key() {
    let d = StreamDecoder::new(Provider::OpenAI, "sk-very-secret".into());
    assert!(!format!("{d:?}").contains("sk-very-secret"));
}

fn arb_headers() -> impl Strategy<Value = HeaderMap> {
    let names = prop::sample::select(vec![
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-requests",
        "x-ratelimit-reset-tokens",
        "anthropic-ratelimit-requests-reset",
        "anthropic-ratelimit-tokens-limit",
        "anthropic-ratelimit-output-tokens-reset",
        "x-ratelimit-reset",
        "x-ratelimit-limit",
        "retry-after",
        "retry-after-ms",
        "date",
        "x-should-retry",
    ]);
    prop::collection::vec((names, prop::collection::vec(any::<u8>(), 0..40)), 0..8).prop_map(
        |pairs| {
            let mut h = HeaderMap::new();
            for (name, bytes) in pairs {
                if let Ok(v) = ureq::http::HeaderValue::from_bytes(&bytes) {
                    h.append(name, v);
                }
            }
            h
        },
    )
}

/// Strings shaped like the values being parsed, so the parsers' deeper branches get exercised.
fn arb_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9hmsuµn.]{0,12}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?(Z|[+-][0-9]{2}:[0-9]{2})?",
        "[0-9]{0,25}",
        any::<String>(),
    ]
}

/// Cases per property (reported in docs/hardening.md).
const CASES: u32 = 1024;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn header_parsers_never_panic(h in arb_headers(), secs in any::<u32>()) {
        let now = UNIX_EPOCH + std::time::Duration::from_secs(u64::from(secs));
        for p in Provider::ALL {
            let _ = parse_rate_limits(p, &h, now);
            let _ = parse_error(p, 429, &h, b"{}", "sk-key", now);
        }
    }

    #[test]
    fn value_parsers_never_panic(v in arb_value()) {
        let _ = crate::provider::duration::parse_go_duration(&v);
        let _ = crate::provider::timestamp::parse_rfc3339(&v);
        let _ = crate::provider::headers::parse_epoch_millis(&v);
        let _ = crate::provider::openai::error::try_again_hint(&format!("Please try again in {v}"));
    }

    #[test]
    fn body_parsers_never_panic(body in prop::collection::vec(any::<u8>(), 0..512), status in any::<u16>()) {
        for p in Provider::ALL {
            let _ = parse_error(p, status, &HeaderMap::new(), &body, "sk-key", SystemTime::now());
            let _ = parse_chat_response(p, &body, None, "sk-key");
        }
        let _ = crate::provider::openrouter::parse_key_info(&body);
    }

    #[test]
    fn json_shaped_bodies_never_panic(json in arb_json(), status in 100u16..600) {
        let body = json.to_string();
        for p in Provider::ALL {
            let e = parse_error(p, status, &HeaderMap::new(), body.as_bytes(), "sk-key", SystemTime::now());
            prop_assert_eq!(e.status, status);
            let _ = parse_chat_response(p, body.as_bytes(), None, "sk-key");
            let mut d = StreamDecoder::new(p, "sk-key".into());
            for event in [None, Some("message_start"), Some("message_delta"), Some("error"), Some("content_block_delta")] {
                let _ = d.decode(&crate::provider::sse::SseEvent { event: event.map(str::to_string), data: body.clone() });
            }
        }
        let _ = crate::provider::openrouter::parse_key_info(body.as_bytes());
    }

    #[test]
    fn error_messages_never_contain_the_key(prefix in "[a-z ]{0,30}", suffix in "[a-z ]{0,30}") {
        let key = "sk-proj-SECRETSECRET";
        let msg = format!("{prefix}{key}{suffix}");
        let body = serde_json::json!({"error": {"message": msg, "type": "x", "code": "y"}}).to_string();
        for p in Provider::ALL {
            let e = parse_error(p, 401, &HeaderMap::new(), body.as_bytes(), key, SystemTime::now());
            prop_assert!(!e.to_string().contains(key));
        }
        let e = parse_error(Provider::OpenAI, 502, &HeaderMap::new(), msg.as_bytes(), key, SystemTime::now());
        prop_assert!(!e.message.contains(key));
    }

    #[test]
    fn whole_streams_of_hostile_events_never_panic(
        events in prop::collection::vec((arb_event_name(), arb_json(), any::<bool>()), 0..12),
        junk in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        // Plausible frames (named or not, JSON or not), then arbitrary bytes, as one stream.
        let mut raw = Vec::new();
        for (name, json, as_json) in &events {
            if let Some(n) = name {
                raw.extend_from_slice(format!("event: {n}\n").as_bytes());
            }
            let data = if *as_json { json.to_string() } else { format!("{{{json}") };
            raw.extend_from_slice(format!("data: {data}\n\n").as_bytes());
        }
        raw.extend_from_slice(&junk);
        for p in Provider::ALL {
            let mut reader = SseReader::new(Cursor::new(raw.clone()));
            let mut dec = StreamDecoder::new(p, "sk-key".into());
            while let Ok(Some(ev)) = reader.next_event() {
                if matches!(dec.decode(&ev), Ok(StreamEvent::Done)) {
                    break;
                }
            }
        }
    }

    #[test]
    fn model_names_never_panic(name in prop_oneof![any::<String>(), "[a-z0-9/:.-]{0,24}", "(gpt-|claude-|o[0-9]|[a-z]+/)[ -~]{0,12}"]) {
        let detected = Provider::detect(&name);
        let built = crate::ChatLimiter::builder().model(name.clone()).api_key("sk-key").build();
        match (detected, built) {
            (Some(p), Ok(l)) => prop_assert_eq!(l.provider(), p),
            (None, Err(Error::UnknownModel { .. } | Error::Config(_))) => {}
            (d, b) => prop_assert!(false, "detect {:?} but build {:?}", d, b.map(|l| l.provider())),
        }
        let req = ChatCompletionRequest::new(name, vec![Message::user("hi")]);
        for p in Provider::ALL {
            let _ = chat_body(p, &req, false, 16);
        }
    }
}

/// An SSE event name: none, one the providers use, or anything.
fn arb_event_name() -> impl Strategy<Value = Option<String>> {
    let known = prop::sample::select(vec![
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
    ]);
    prop_oneof![Just(None), known.prop_map(|n| Some(n.to_string())), "[a-z_]{1,12}".prop_map(Some)]
}

/// Arbitrary JSON built from the field names the parsers look for.
fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{json, Value};
    let keys = prop::sample::select(vec![
        "error",
        "message",
        "type",
        "code",
        "metadata",
        "headers",
        "X-RateLimit-Reset",
        "availability",
        "retryable",
        "retry_after",
        "choices",
        "delta",
        "content",
        "usage",
        "prompt_tokens",
        "input_tokens",
        "output_tokens",
        "finish_reason",
        "stop_reason",
        "data",
        "limit",
        "limit_remaining",
        "rate_limit",
        "interval",
        "details",
        "error_code",
        "tool_calls",
        "text",
        "role",
        "raw",
        "provider_name",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z_0-9 .]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}
