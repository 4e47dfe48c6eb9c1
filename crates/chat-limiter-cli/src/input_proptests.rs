//! Property tests of the input parser: no line, however hostile, panics it; what it accepts
//! is sendable (a model and at least one message); ids survive as given.

use std::io::Cursor;

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

/// Cases per property (reported in docs/hardening.md).
const CASES: u32 = 1024;

fn defaults(check_provider: bool) -> Defaults {
    Defaults { model: Some("gpt-4o-mini".into()), provider: Provider::OpenAI, check_provider }
}

/// JSON built from the fields the four line shapes use, nested a few levels.
fn arb_line_json() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "custom_id",
        "id",
        "method",
        "url",
        "body",
        "params",
        "prompt",
        "model",
        "system",
        "max_tokens",
        "temperature",
        "messages",
        "role",
        "content",
        "type",
        "text",
        "stop_sequences",
        "stop",
        "stream",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "POST",
            "GET",
            "/v1/chat/completions",
            "user",
            "assistant",
            "system",
            "text",
            "gpt-4o",
            "claude-3-5-haiku-latest",
            "",
        ])
        .prop_map(|s| json!(s)),
        "[ -~]{0,10}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..6).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>(), check in any::<bool>()) {
        let _ = parse_line(&text, &defaults(check));
        let _ = line_model(&text);
    }

    #[test]
    fn accepted_lines_are_sendable(line in arb_line_json(), check in any::<bool>()) {
        let text = line.to_string();
        let parsed = parse_line(&text, &defaults(check));
        let _ = line_model(&text);
        if let Some(id) = &parsed.custom_id {
            prop_assert!(!id.is_empty());
        }
        if let Ok(req) = parsed.request {
            prop_assert!(!req.model.trim().is_empty(), "no model: {}", text);
            prop_assert!(!req.messages.is_empty(), "no messages: {}", text);
            prop_assert!(serde_json::to_string(&req).is_ok());
        }
    }

    #[test]
    fn ids_survive_as_given(id in "[^\u{0}]{1,40}", prompt in "[ -~]{0,40}") {
        let text = json!({"custom_id": id, "prompt": prompt}).to_string();
        let parsed = parse_line(&text, &defaults(true));
        prop_assert_eq!(parsed.custom_id.as_deref(), Some(id.as_str()));
        prop_assert!(parsed.request.is_ok());
    }

    #[test]
    fn line_reader_numbers_every_line_of_arbitrary_bytes(
        bytes in prop::collection::vec(prop_oneof![any::<u8>(), Just(b'\n'), Just(b' ')], 0..512),
    ) {
        let newlines = bytes.iter().filter(|b| **b == b'\n').count() as u64;
        let mut last = 0;
        for item in Lines::new(Cursor::new(bytes)) {
            let (number, text) = item.expect("reading memory never fails");
            prop_assert!(number > last && number <= newlines + 1);
            last = number;
            // Blank means ASCII white space (as in the pre-pass); other white space such as a
            // vertical tab is a line, trimmed to what the parser then rejects as not JSON.
            if let Ok(t) = text {
                prop_assert_eq!(t.trim(), t.as_str());
            }
        }
    }
}
