//! The default agent's connection buffers (32 KiB in, 16 KiB out) bound memory, not sizes: a
//! large response head, a request body many times the output buffer and a response body many
//! times the input buffer all go through whole.

mod common;

use chat_limiter::{ChatCompletionRequest, Message, Provider};
use common::builder;
use httpmock::prelude::*;
use serde_json::json;

#[test]
fn large_heads_and_bodies_pass_through_the_default_agent() {
    let server = MockServer::start();
    let prompt = "p".repeat(300 * 1024);
    let answer = "a".repeat(1024 * 1024);
    let sent = prompt.clone();
    let m = server.mock(|when, then| {
        when.method(POST)
            .path("/v1/chat/completions")
            .is_true(move |req| String::from_utf8_lossy(req.body().as_ref()).contains(&sent));
        let mut then = then.status(200);
        // A 24 KiB head: far above any provider's (1-3 KiB), below the 32 KiB accepted.
        for i in 0..12 {
            then = then.header(format!("x-pad-{i}"), "h".repeat(2000));
        }
        then.json_body(json!({
            "id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        }));
    });
    let limiter = builder(Provider::OpenAI, &server.url("/v1")).build().expect("limiter");
    let req = ChatCompletionRequest::new("gpt-4o-mini", vec![Message::user(prompt)]);
    let resp = limiter.chat_completion(&req).expect("answered");
    m.assert_calls(1);
    assert_eq!(resp.text().len(), answer.len(), "the whole answer was read");
}
