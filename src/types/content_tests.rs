use super::*;
use proptest::prelude::*;

fn part(v: Value) -> ContentPart {
    serde_json::from_value(v).expect("a part always reads")
}

#[test]
fn provider_parts_are_typed() {
    let img = part(
        json!({"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"high"}}),
    );
    let ContentPart::Image(i) = &img else { panic!("typed: {img:?}") };
    assert_eq!(
        i.source,
        MediaSource::Base64 { media_type: "image/png".into(), data: "AAAA".into() }
    );
    assert_eq!(i.detail.as_deref(), Some("high"));
    let a = part(json!({"type":"image","source":{"type":"url","url":"https://x/a.jpg"}}));
    assert!(
        matches!(&a, ContentPart::Image(i) if i.source == MediaSource::Url("https://x/a.jpg".into()))
    );
    let d = part(
        json!({"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBE"},"title":"r.pdf"}),
    );
    assert!(matches!(&d, ContentPart::Document(d) if d.filename.as_deref() == Some("r.pdf")));
    let f = part(
        json!({"type":"file","file":{"filename":"r.pdf","file_data":"data:application/pdf;base64,JVBE"}}),
    );
    assert!(matches!(&f, ContentPart::Document(_)));
}

#[test]
fn unknown_or_extended_parts_pass_through() {
    for v in [
        json!({"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}),
        json!({"type":"text","text":"cached","cache_control":{"type":"ephemeral"}}),
        json!({"type":"image","source":{"type":"file","file_id":"f_1"}}),
        json!({"type":"file","file":{"file_id":"file-1"}}),
        json!({"no_type": true}),
    ] {
        let p = part(v.clone());
        assert!(matches!(&p, ContentPart::Other(o) if *o == v), "{v}");
        assert_eq!(serde_json::to_value(&p).expect("serialises"), v);
    }
    // An unknown text block still gives its text.
    let c: Content = serde_json::from_value(json!([{"type":"text","text":"a","cache_control":{"type":"ephemeral"}},{"type":"text","text":"b"}])).expect("reads");
    assert_eq!(c.text(), "ab");
}

#[test]
fn each_provider_gets_its_own_shape() {
    let img = ContentPart::Image(ImagePart::base64("image/png", "AAAA").detail("low"));
    assert_eq!(
        img.to_openai().expect("ok"),
        json!({"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}})
    );
    assert_eq!(
        img.to_anthropic(),
        json!({"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}})
    );
    let doc = ContentPart::Document(DocumentPart::url("https://x/r.pdf"));
    assert!(doc.to_openai().is_err());
    assert_eq!(
        doc.to_anthropic(),
        json!({"type":"document","source":{"type":"url","url":"https://x/r.pdf"}})
    );
}

#[test]
fn content_rejects_non_content_values() {
    assert!(serde_json::from_value::<Content>(json!(5)).is_err());
    assert_eq!(serde_json::from_value::<Content>(Value::Null).expect("null"), Content::Null);
}

/// Short strings, with characters that JSON escapes.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 \"\\\\é/+=:;,._-]{0,12}"
}

fn source() -> impl Strategy<Value = Value> {
    prop_oneof![
        text().prop_map(|u| json!({"type":"url","url":u})),
        (text(), text()).prop_map(|(m, d)| json!({"type":"base64","media_type":m,"data":d})),
        text().prop_map(|f| json!({"type":"file","file_id":f})),
    ]
}

/// A part in OpenAI's or Anthropic's shape, sometimes with an extra field.
fn provider_part() -> impl Strategy<Value = Value> {
    let base = prop_oneof![
        text().prop_map(|t| json!({"type":"text","text":t})),
        (text(), proptest::option::of(text())).prop_map(|(u, d)| match d {
            Some(d) => json!({"type":"image_url","image_url":{"url":u,"detail":d}}),
            None => json!({"type":"image_url","image_url":{"url":u}}),
        }),
        (text(), text()).prop_map(|(m, d)| json!({"type":"image_url","image_url":{"url":format!("data:{m};base64,{d}")}})),
        source().prop_map(|s| json!({"type":"image","source":s})),
        (source(), proptest::option::of(text())).prop_map(|(s, t)| match t {
            Some(t) => json!({"type":"document","source":s,"title":t}),
            None => json!({"type":"document","source":s}),
        }),
        (proptest::option::of(text()), text(), text()).prop_map(|(n, m, d)| match n {
            Some(n) => json!({"type":"file","file":{"filename":n,"file_data":format!("data:{m};base64,{d}")}}),
            None => json!({"type":"file","file":{"file_data":format!("data:{m};base64,{d}")}}),
        }),
        text().prop_map(|t| json!({"type":t,"payload":{"x":1}})),
    ];
    (base, proptest::option::of(text())).prop_map(|(mut v, extra)| {
        if let (Some(e), Some(o)) = (extra, v.as_object_mut()) {
            o.insert("cache_control".into(), json!({"type":"ephemeral","ttl":e}));
        }
        v
    })
}

fn provider_message() -> impl Strategy<Value = Value> {
    let content = prop_oneof![
        text().prop_map(Value::String),
        Just(Value::Null),
        proptest::collection::vec(provider_part(), 0..5).prop_map(Value::Array),
    ];
    let role = prop_oneof![
        Just("system"),
        Just("developer"),
        Just("user"),
        Just("assistant"),
        Just("tool")
    ];
    (role, content, proptest::option::of(text())).prop_map(|(r, c, name)| {
        let mut m = json!({"role": r, "content": c});
        if let Some(n) = name {
            m["name"] = json!(n);
            m["tool_call_id"] = json!(format!("call_{n}"));
        }
        m
    })
}

proptest! {
    /// Any provider-shaped message reads and writes back with nothing lost.
    #[test]
    fn messages_round_trip(v in provider_message()) {
        let m: crate::types::Message = serde_json::from_value(v.clone()).expect("reads");
        prop_assert_eq!(serde_json::to_value(&m).expect("writes"), v);
    }
}
