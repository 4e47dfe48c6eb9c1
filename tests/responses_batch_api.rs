//! The OpenAI Batch API with the `/v1/responses` endpoint, against the emulator: the lines
//! are Responses bodies, the results are read as Responses objects, and a request asking for
//! the other API than the batch's endpoint is refused before anything is uploaded.

use std::time::Duration;

use chat_limiter::{
    BatchApi, BatchEndpoint, BatchError, BatchItem, ChatCompletionRequest, ChatLimiter,
    ItemOutcome, Message, OpenAiApi, PollSchedule,
};
use chat_limiter_emulator::Emulator;

fn items() -> Vec<BatchItem> {
    (0..3)
        .map(|i| {
            let m = vec![Message::system("Be brief."), Message::user(format!("question {i}"))];
            BatchItem::new(format!("q{i}"), ChatCompletionRequest::new("", m).max_tokens(32))
        })
        .collect()
}

#[test]
fn a_responses_batch_sends_responses_bodies_and_reads_responses_results() {
    let emu = Emulator::openai().api_key("sk-test").start().unwrap();
    let limiter = ChatLimiter::builder()
        .model("gpt-4o-mini")
        .api_key("sk-test")
        .base_url(emu.base_url())
        .build()
        .unwrap();
    let api = BatchApi::new(&limiter).unwrap().with_endpoint(BatchEndpoint::Responses);
    let fast = PollSchedule {
        first: Duration::from_millis(20),
        max: Duration::from_millis(100),
        factor: 2.0,
    };
    let results = api.run(&items(), &fast, |_| {}).unwrap();
    assert_eq!(results.len(), 3);
    for r in &results {
        let ItemOutcome::Succeeded(resp) = &r.outcome else { panic!("{r:?}") };
        let n = &r.custom_id[1..];
        assert_eq!(resp.text(), format!("batch answer to: question {n}"));
        assert_eq!(resp.raw["object"], "response");
        assert_eq!(resp.choices[0].finish_reason.as_deref(), Some("stop"));
        let u = resp.usage.expect("usage");
        assert_eq!((u.completion_tokens, u.reasoning_tokens), (5, Some(0)));
    }
    // A request that asks for Chat Completions has no place in this batch.
    let mut wrong = items();
    wrong[1].request = wrong[1].request.clone().openai_api(OpenAiApi::ChatCompletions);
    let e = api.run(&wrong, &fast, |_| {}).unwrap_err();
    assert!(
        matches!(&e, BatchError::InvalidItem { custom_id, reason } if custom_id == "q1" && reason.contains("/v1/responses")),
        "{e:?}"
    );
    // And the other way round.
    let mut wrong = items();
    wrong[0].request = wrong[0].request.clone().openai_api(OpenAiApi::Responses);
    let e = BatchApi::new(&limiter).unwrap().run(&wrong, &fast, |_| {}).unwrap_err();
    assert!(
        matches!(&e, BatchError::InvalidItem { reason, .. } if reason.contains("responses API")),
        "{e:?}"
    );
    assert_eq!(emu.batch_stats().batches, 1, "the refused jobs created no batch");
}
