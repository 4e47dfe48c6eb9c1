//! Anthropic request bodies built from the unified request.

use super::*;
use crate::types::Message;

fn req(messages: Vec<Message>) -> ChatCompletionRequest {
    ChatCompletionRequest::new("claude-3-5-sonnet-20241022", messages)
}

#[test]
fn fields_are_mapped() {
    let r = req(vec![Message::user("hi")])
        .temperature(0.2)
        .top_p(0.9)
        .top_k(40)
        .stop(["END", "STOP"])
        .frequency_penalty(0.5)
        .presence_penalty(0.5)
        .extra("metadata", json!({"user_id": "u1"}));
    let b = chat_body(&r, false, 1024).expect("valid");
    assert_eq!(
        b,
        json!({"model":"claude-3-5-sonnet-20241022","max_tokens":1024,
            "messages":[{"role":"user","content":"hi"}],"temperature":0.2,"top_p":0.9,"top_k":40,
            "stop_sequences":["END","STOP"],"metadata":{"user_id":"u1"}})
    );
    let b = chat_body(&r.clone().max_tokens(7), true, 1024).expect("valid");
    assert_eq!((b["max_tokens"].clone(), b["stream"].clone()), (json!(7), json!(true)));
}

#[test]
fn every_system_and_developer_message_goes_to_system() {
    let dev = Message::new(MessageRole::Developer, "Answer in French.");
    let r = req(vec![
        Message::system("You are terse."),
        Message::user("hi"),
        dev,
        Message::system(""),
        Message::assistant("bonjour"),
        Message::user("encore"),
        Message::user("et encore"),
    ]);
    let b = chat_body(&r, false, 16).expect("valid");
    assert_eq!(b["system"], "You are terse.\n\nAnswer in French.");
    // Order is kept and consecutive user turns are not merged here.
    let roles: Vec<_> =
        b["messages"].as_array().expect("array").iter().map(|m| m["role"].clone()).collect();
    assert_eq!(roles, vec![json!("user"), json!("assistant"), json!("user"), json!("user")]);
    assert_eq!(b["messages"][3]["content"], "et encore");
}

#[test]
fn tool_traffic_is_translated() {
    let mut call = Message::assistant("Checking.");
    call.extra.insert(
        "tool_calls".into(),
        json!([{"id":"toolu_1","type":"function",
        "function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]),
    );
    call.extra.insert("name".into(), json!("bot"));
    let mut result = Message::new(MessageRole::Tool, "18C");
    result.extra.insert("tool_call_id".into(), json!("toolu_1"));
    let b =
        chat_body(&req(vec![Message::user("weather?"), call, result]), false, 16).expect("valid");
    assert_eq!(
        b["messages"][1],
        json!({"role":"assistant","content":[
        {"type":"text","text":"Checking."},
        {"type":"tool_use","id":"toolu_1","name":"weather","input":{"city":"Paris"}}]})
    );
    assert_eq!(
        b["messages"][2],
        json!({"role":"user","content":[
        {"type":"tool_result","tool_use_id":"toolu_1","content":"18C"}]})
    );
}

#[test]
fn structured_content_passes_through() {
    let mut m = Message::user("");
    let blocks = json!([{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}]);
    m.extra.insert("content".into(), blocks.clone());
    let b = chat_body(&req(vec![m]), false, 16).expect("valid");
    assert_eq!(b["messages"][0]["content"], blocks);
}

#[test]
fn invalid_requests() {
    let only_system = req(vec![Message::system("s")]);
    assert!(matches!(chat_body(&only_system, false, 16), Err(Error::InvalidRequest(_))));
    assert!(matches!(chat_body(&req(vec![]), false, 16), Err(Error::InvalidRequest(_))));
    let no_model = ChatCompletionRequest::new("", vec![Message::user("hi")]);
    assert!(matches!(chat_body(&no_model, false, 16), Err(Error::InvalidRequest(_))));
    let orphan = Message::new(MessageRole::Tool, "r");
    assert!(matches!(chat_body(&req(vec![orphan]), false, 16), Err(Error::InvalidRequest(_))));
    let mut bad_args = Message::assistant("");
    bad_args.extra.insert(
        "tool_calls".into(),
        json!([{"id":"t","function":{"name":"f","arguments":"{not json"}}]),
    );
    assert!(matches!(chat_body(&req(vec![bad_args]), false, 16), Err(Error::InvalidRequest(_))));
    let inf = req(vec![Message::user("hi")]).top_p(f64::INFINITY);
    assert!(matches!(chat_body(&inf, false, 16), Err(Error::InvalidRequest(_))));
}
