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

#[test]
fn typed_tools_choice_parallel_results_and_thinking_blocks() {
    use crate::types::{ThinkingBlock, ToolCall};
    let schema = json!({"type":"object","properties":{"city":{"type":"string"}}});
    let mut asst = Message::assistant_tool_calls(
        "",
        vec![
            ToolCall::new("toolu_1", "get_weather", r#"{"city":"Paris"}"#),
            ToolCall::new("toolu_2", "get_time", "{}"),
        ],
    );
    asst.thinking_blocks =
        vec![ThinkingBlock::Thinking { thinking: "Two calls.".into(), signature: "sig".into() }];
    asst.reasoning = Some("Two calls.".into());
    let r = req(vec![
        Message::user("call get_weather and get_time"),
        asst,
        Message::tool_result("toolu_1", "18C"),
        Message::tool_result("toolu_2", "noon"),
    ])
    .max_tokens(4000)
    .tool(Tool::new("get_weather", "Weather", schema.clone()))
    .tool_choice(ToolChoice::Required)
    .thinking(Thinking::Enabled { budget_tokens: 2048 });
    let b = chat_body(&r, false, 16).expect("valid");
    assert_eq!(
        b["tools"],
        json!([{"name":"get_weather","description":"Weather","input_schema":schema}])
    );
    assert_eq!(b["tool_choice"], json!({"type":"any"}));
    assert_eq!(b["thinking"], json!({"type":"enabled","budget_tokens":2048}));
    assert_eq!(
        b["messages"][1]["content"],
        json!([{"type":"thinking","thinking":"Two calls.","signature":"sig"},
            {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},
            {"type":"tool_use","id":"toolu_2","name":"get_time","input":{}}])
    );
    assert!(b["messages"][1].get("reasoning").is_none());
    assert_eq!(b["messages"].as_array().map(Vec::len), Some(3), "both results in one turn");
    assert_eq!(
        b["messages"][2]["content"],
        json!([{"type":"tool_result","tool_use_id":"toolu_1","content":"18C"},
            {"type":"tool_result","tool_use_id":"toolu_2","content":"noon"}])
    );
}

#[test]
fn structured_output_is_a_forced_tool_and_thinking_is_checked() {
    use crate::types::ResponseFormat;
    let schema = json!({"type":"object","properties":{"n":{"type":"integer"}}});
    let r = req(vec![Message::user("n?")])
        .response_format(ResponseFormat::json_schema("n", schema.clone()));
    let b = chat_body(&r, false, 16).expect("valid");
    assert_eq!(b["tools"][0]["name"], JSON_TOOL_NAME);
    assert_eq!(b["tools"][0]["input_schema"], schema);
    assert_eq!(b["tool_choice"], json!({"type":"tool","name":JSON_TOOL_NAME}));
    let with_thinking = r.clone().max_tokens(4000).thinking(Thinking::Adaptive);
    assert!(matches!(chat_body(&with_thinking, false, 16), Err(Error::InvalidRequest(_))));
    let budget = req(vec![Message::user("hi")]).thinking(Thinking::Enabled { budget_tokens: 2048 });
    let err = chat_body(&budget.clone().max_tokens(2048), false, 16).expect_err("budget >= max");
    assert!(err.to_string().contains("below max_tokens"), "{err}");
    // Without max_tokens the default applies, and must exceed the budget too.
    assert!(chat_body(&budget.clone(), false, 1024).is_err());
    assert!(chat_body(&budget, false, 4096).is_ok());
    let adaptive = req(vec![Message::user("hi")]).thinking(Thinking::Adaptive);
    assert_eq!(
        chat_body(&adaptive, false, 16).expect("ok")["thinking"],
        json!({"type":"adaptive"})
    );
    let effort =
        req(vec![Message::user("hi")]).reasoning_effort(crate::types::ReasoningEffort::Low);
    assert!(matches!(chat_body(&effort, false, 16), Err(Error::InvalidRequest(_))));
}

#[test]
fn other_blocks_of_an_answer_go_back_to_anthropic_only() {
    let mut asst = Message::assistant("Found it.");
    let blocks =
        json!([{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}]);
    asst.extra.insert(ANTHROPIC_BLOCKS.into(), blocks.clone());
    let r = req(vec![Message::user("search"), asst, Message::user("thanks")]);
    let b = chat_body(&r, false, 16).expect("valid");
    assert_eq!(
        b["messages"][1],
        json!({"role":"assistant","content":[{"type":"text","text":"Found it."},blocks[0].clone()]})
    );
    let o = crate::provider::openai::request::chat_body(
        crate::provider_id::Provider::OpenAI,
        &r,
        false,
    )
    .expect("valid");
    assert_eq!(o["messages"][1], json!({"role":"assistant","content":"Found it."}));
}
