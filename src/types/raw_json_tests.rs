use super::*;

/// A body as a provider might write it: odd spacing, escaped and unescaped unicode, numbers
/// whose spelling a `Value` would not keep, and one (`1e400`) that no `f64` holds.
const ODD: &str = "{ \"object\" :\"chat.completion\",\n\t\"a\": 1.0, \"b\": 1e400, \"c\": -0,\n \"d\": 12345678901234567890123, \"e\": \"caf\\u00e9 \u{1F600}\", \"f\": [ ] }";

#[test]
fn the_text_is_kept_and_written_verbatim() {
    let raw = RawJson::from_string(format!("  \n{ODD}\r\n ")).expect("valid JSON");
    assert_eq!(raw.as_str(), ODD, "only the whitespace around the value goes");
    assert_eq!(raw.to_string(), ODD);
    assert_eq!(serde_json::to_string(&raw).expect("writes"), ODD);
    // Inside another value it is still JSON, not a string, and still verbatim.
    #[derive(Serialize, Deserialize)]
    struct Record {
        body: RawJson,
    }
    let line = serde_json::to_string(&Record { body: raw.clone() }).expect("writes");
    assert_eq!(line, format!("{{\"body\":{ODD}}}"));
    let back: Record = serde_json::from_str(&line).expect("reads");
    assert_eq!(back.body.as_str(), ODD, "read back byte for byte");
    assert_eq!(back.body, raw);
}

#[test]
fn a_value_is_parsed_only_when_asked_and_kept() {
    let raw = RawJson::from_string(r#"{"usage": {"prompt_tokens": 3}, "list": [1, 2]}"#.into())
        .expect("valid");
    assert!(raw.tree.get().is_none(), "nothing parsed yet");
    assert_eq!(raw["usage"]["prompt_tokens"], 3);
    assert!(raw.tree.get().is_some(), "parsed once, then kept");
    assert_eq!(raw["list"][1], 2);
    assert_eq!(raw["missing"], Value::Null);
    assert_eq!(raw.pointer("/list/0"), Some(&serde_json::json!(1)));
    assert_eq!(raw, serde_json::json!({"list": [1, 2], "usage": {"prompt_tokens": 3}}));
    #[derive(Deserialize)]
    struct Usage {
        prompt_tokens: u64,
    }
    #[derive(Deserialize)]
    struct Body {
        usage: Usage,
    }
    assert_eq!(raw.parse::<Body>().expect("typed").usage.prompt_tokens, 3);
}

#[test]
fn a_body_no_value_can_hold_is_kept_and_says_why_it_does_not_parse() {
    let raw = RawJson::from_string(ODD.into()).expect("valid JSON");
    assert_eq!(raw.value(), &Value::Null, "documented: Null when a Value cannot hold it");
    let err = raw.parse::<Value>().expect_err("1e400 is beyond f64");
    assert!(err.to_string().contains("number out of range"), "{err}");
    assert_eq!(serde_json::to_string(&raw).expect("still writes"), ODD);
}

#[test]
fn not_json_is_refused() {
    for bad in ["", "{", "{\"a\":1} x", "[1,]", "nope", "\"\\x\""] {
        assert!(RawJson::from_string(bad.into()).is_err(), "{bad:?}");
        assert!(serde_json::from_str::<RawJson>(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn equality_is_the_text_and_clones_share_it() {
    let a = RawJson::from_string(r#"{"n":1.0}"#.into()).expect("valid");
    let b = RawJson::from_string(r#"{"n":1}"#.into()).expect("valid");
    assert_ne!(a, b, "another spelling is another body");
    assert_eq!(a, serde_json::json!({"n": 1.0}));
    let c = a.clone();
    assert!(Arc::ptr_eq(&a.text, &c.text), "a clone does not copy the text");
    assert_eq!(a, c);
    assert_eq!(format!("{a:?}"), r#"RawJson("{\"n\":1.0}")"#);
}

#[test]
fn values_in_and_out() {
    let v = serde_json::json!({"object": "response", "output": [{"type": "message"}]});
    let raw = RawJson::from_value(&v);
    assert_eq!(raw.as_str(), v.to_string());
    assert_eq!(serde_json::to_value(&raw).expect("to a value"), v);
    let from: RawJson = serde_json::from_value(v.clone()).expect("from a value");
    assert_eq!(from, v);
}
