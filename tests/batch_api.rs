//! The batch API client against the emulator's batch APIs, both providers: split by the caps,
//! the enqueued-token limit, expired items, cancel, and nothing submitted twice.

use std::time::Duration;

use chat_limiter::{
    BatchApi, BatchCaps, BatchError, BatchItem, BatchStatus, Cap, ChatCompletionRequest,
    ChatLimiter, ItemOutcome, Message, PollSchedule, Provider,
};
use chat_limiter_emulator::{BatchEmulation, Emulator};

const KEY: &str = "sk-batch-test-SECRET-9876";

fn fast() -> PollSchedule {
    PollSchedule { first: Duration::from_millis(20), max: Duration::from_millis(100), factor: 2.0 }
}

fn emulation(processing_ms: u64) -> BatchEmulation {
    let mut b = BatchEmulation::default();
    b.processing_time = Duration::from_millis(processing_ms);
    b
}

fn limiter(emu: &Emulator, provider: Provider, model: &str) -> ChatLimiter {
    ChatLimiter::builder()
        .provider(provider)
        .model(model)
        .api_key(KEY)
        .base_url(emu.base_url())
        .build()
        .expect("limiter")
}

fn items(n: usize) -> Vec<BatchItem> {
    (0..n)
        .map(|i| {
            let req = ChatCompletionRequest::new("", vec![Message::user(format!("question {i}"))])
                .max_tokens(16);
            BatchItem::new(format!("q{i}"), req)
        })
        .collect()
}

fn answer(outcome: &ItemOutcome) -> String {
    match outcome {
        ItemOutcome::Succeeded(r) => r.text().to_string(),
        other => panic!("not answered: {other:?}"),
    }
}

fn both() -> Vec<(Emulator, ChatLimiter)> {
    let mut out = Vec::new();
    for (provider, model) in
        [(Provider::OpenAI, "gpt-4o-mini"), (Provider::Anthropic, "claude-3-5-haiku-latest")]
    {
        let b =
            if provider == Provider::OpenAI { Emulator::openai() } else { Emulator::anthropic() };
        let emu = b.api_key(KEY).batch(emulation(150)).start().expect("emulator");
        let l = limiter(&emu, provider, model);
        out.push((emu, l));
    }
    out
}

#[test]
fn a_job_split_by_the_request_cap_answers_every_item_once_in_order() {
    for (emu, limiter) in both() {
        let caps = BatchCaps { max_requests: 3, ..BatchCaps::for_provider(limiter.provider()) };
        let api = BatchApi::new(&limiter).unwrap().with_caps(caps);
        let job = items(8);
        assert_eq!(api.plan(&job).unwrap().len(), 3);
        let mut polls = 0;
        let results = api.run(&job, &fast(), |_| polls += 1).unwrap();
        assert_eq!(results.len(), 8);
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.custom_id, format!("q{i}"));
            assert_eq!(answer(&r.outcome), format!("batch answer to: question {i}"));
        }
        assert!(polls > 0);
        let stats = emu.batch_stats();
        assert_eq!(stats.batches, 3, "{:?}", limiter.provider());
        assert_eq!(stats.requests, 8);
        let files = if limiter.provider() == Provider::OpenAI { 3 } else { 0 };
        assert_eq!(stats.files, files);
    }
}

#[test]
fn the_byte_cap_splits_and_an_item_that_cannot_fit_names_the_cap() {
    let (_emu, limiter) = both().remove(0);
    let caps = BatchCaps { max_bytes: 600, ..BatchCaps::for_provider(Provider::OpenAI) };
    let api = BatchApi::new(&limiter).unwrap().with_caps(caps);
    let parts = api.plan(&items(6)).unwrap();
    assert!(parts.len() > 1 && parts.iter().map(Vec::len).sum::<usize>() == 6, "{parts:?}");
    let big = vec![BatchItem::new(
        "big",
        ChatCompletionRequest::new("", vec![Message::user("x".repeat(1000))]).max_tokens(4),
    )];
    match api.plan(&big) {
        Err(BatchError::TooLarge { custom_id, cap: Cap::Bytes, limit: 600, .. }) => {
            assert_eq!(custom_id, "big")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_enqueued_token_limit_holds_the_next_part_until_earlier_ones_finish() {
    let mut b = emulation(200);
    b.enqueued_tokens = Some(10);
    let emu = Emulator::openai().api_key(KEY).batch(b).start().unwrap();
    let limiter = limiter(&emu, Provider::OpenAI, "gpt-4o-mini");
    // "question N" is 10 chars: 3 tokens each, so at most 3 items per part and one part at once.
    let caps = BatchCaps { enqueued_tokens: Some(10), ..BatchCaps::for_provider(Provider::OpenAI) };
    let api = BatchApi::new(&limiter).unwrap().with_caps(caps);
    let results = api.run(&items(7), &fast(), |running| assert!(running.len() <= 1)).unwrap();
    assert!(results.iter().all(|r| matches!(r.outcome, ItemOutcome::Succeeded(_))));
    assert_eq!(emu.batch_stats().batches, 3, "no part was rejected by the provider's limit");
}

#[test]
fn a_part_over_the_providers_token_limit_fails_typed_per_item_not_silently() {
    let mut b = emulation(100);
    b.enqueued_tokens = Some(5);
    let emu = Emulator::openai().api_key(KEY).batch(b).start().unwrap();
    let limiter = limiter(&emu, Provider::OpenAI, "gpt-4o-mini");
    let api = BatchApi::new(&limiter).unwrap();
    let results = api.run(&items(3), &fast(), |_| {}).unwrap();
    for r in &results {
        match &r.outcome {
            ItemOutcome::Errored { code, message, .. } => {
                assert_eq!(code, "batch_failed");
                assert!(message.contains("token_limit_exceeded"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn expired_items_are_reported_per_item_on_both_providers() {
    for provider in [Provider::OpenAI, Provider::Anthropic] {
        let mut b = emulation(100);
        b.expire_items = 2;
        let builder =
            if provider == Provider::OpenAI { Emulator::openai() } else { Emulator::anthropic() };
        let emu = builder.api_key(KEY).batch(b).start().unwrap();
        let model =
            if provider == Provider::OpenAI { "gpt-4o-mini" } else { "claude-3-5-haiku-latest" };
        let api = BatchApi::new(&limiter(&emu, provider, model)).unwrap();
        let results = api.run(&items(5), &fast(), |_| {}).unwrap();
        let expired: Vec<&str> = results
            .iter()
            .filter(|r| matches!(r.outcome, ItemOutcome::Expired))
            .map(|r| r.custom_id.as_str())
            .collect();
        assert_eq!(expired, ["q0", "q1"], "{provider:?}");
        assert_eq!(
            results.iter().filter(|r| matches!(r.outcome, ItemOutcome::Succeeded(_))).count(),
            3
        );
        // Resubmitting only the expired ones answers them.
        let again: Vec<BatchItem> =
            items(5).into_iter().filter(|i| expired.contains(&i.custom_id.as_str())).collect();
        let results = api.run(&again, &fast(), |_| {}).unwrap();
        assert!(results.iter().all(|r| matches!(r.outcome, ItemOutcome::Succeeded(_))));
        assert_eq!(emu.batch_stats().requests, 7);
    }
}

#[test]
fn cancel_ends_the_batch_and_unrun_items_come_back_canceled() {
    for provider in [Provider::OpenAI, Provider::Anthropic] {
        let builder =
            if provider == Provider::OpenAI { Emulator::openai() } else { Emulator::anthropic() };
        let emu = builder.api_key(KEY).batch(emulation(60_000)).start().unwrap();
        let model =
            if provider == Provider::OpenAI { "gpt-4o-mini" } else { "claude-3-5-haiku-latest" };
        let api = BatchApi::new(&limiter(&emu, provider, model)).unwrap();
        let info = api.submit(&items(4)).unwrap();
        assert!(!info.status.is_terminal());
        assert_eq!(info.counts.total, 4);
        api.cancel(&info.id).unwrap();
        let info = api.wait(&info.id, &fast(), |_| {}).unwrap();
        let want =
            if provider == Provider::OpenAI { BatchStatus::Cancelled } else { BatchStatus::Ended };
        assert_eq!(info.status, want);
        let results = api.results(&info).unwrap();
        assert_eq!(results.len(), 4);
        assert!(results.iter().all(|r| matches!(r.outcome, ItemOutcome::Canceled)), "{results:?}");
        assert_eq!(emu.batch_stats().cancels, 1);
    }
}

#[test]
fn bad_jobs_are_typed_errors_before_anything_is_sent() {
    let (emu, limiter) = both().remove(1);
    let api = BatchApi::new(&limiter).unwrap();
    assert!(matches!(api.run(&[], &fast(), |_| {}), Err(BatchError::Empty)));
    let mut dup = items(2);
    dup[1].custom_id = "q0".into();
    assert!(matches!(api.plan(&dup), Err(BatchError::DuplicateCustomId(id)) if id == "q0"));
    let mut bad = items(1);
    bad[0].custom_id = "has space".into();
    assert!(matches!(api.plan(&bad), Err(BatchError::InvalidItem { .. })));
    let empty = vec![BatchItem::new("e", ChatCompletionRequest::new("", vec![]))];
    assert!(matches!(api.plan(&empty), Err(BatchError::InvalidItem { .. })));
    assert_eq!(emu.batch_stats().batches, 0);
    let or = ChatLimiter::builder()
        .provider(Provider::OpenRouter)
        .model("x/y")
        .api_key(KEY)
        .build()
        .unwrap();
    assert!(matches!(BatchApi::new(&or), Err(BatchError::Unsupported { .. })));
}

#[test]
fn a_wrong_key_is_a_typed_error_that_never_shows_the_key() {
    let emu = Emulator::openai().api_key("sk-the-right-one").batch(emulation(100)).start().unwrap();
    let api = BatchApi::new(&limiter(&emu, Provider::OpenAI, "gpt-4o-mini")).unwrap();
    let err = api.submit(&items(1)).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(matches!(err, BatchError::Request(_)), "{text}");
    assert!(!text.contains(KEY) && !text.contains("SECRET"), "{text}");
    assert_eq!(emu.batch_stats().files, 0);
}

#[test]
fn an_openai_batch_is_found_by_its_input_file_so_a_resumed_run_need_not_create_it_again() {
    let emu = Emulator::openai().api_key(KEY).batch(emulation(100)).start().unwrap();
    let api = BatchApi::new(&limiter(&emu, Provider::OpenAI, "gpt-4o-mini")).unwrap();
    let file = api.upload(&items(2)).unwrap();
    assert!(api.find_by_input_file(&file).unwrap().is_none());
    let created = api.create_from_file(&file).unwrap();
    let other = api.submit(&items(1)).unwrap();
    let found = api.find_by_input_file(&file).unwrap().expect("found");
    assert_eq!(found.id, created.id);
    assert_ne!(found.id, other.id);
    let anthropic = Emulator::anthropic().api_key(KEY).start().unwrap();
    let a = BatchApi::new(&limiter(&anthropic, Provider::Anthropic, "claude-3-5-haiku-latest"))
        .unwrap();
    assert!(matches!(a.upload(&items(1)), Err(BatchError::OpenAiOnly { .. })));
}

#[test]
fn batches_created_since_a_moment_are_listed_newest_first_with_their_creation_time() {
    for (_emu, limiter) in both() {
        let api = BatchApi::new(&limiter).unwrap();
        let before =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let first = api.submit(&items(2)).unwrap();
        let second = api.submit(&items(3)).unwrap();
        let found = api.created_since(before).unwrap();
        let ids: Vec<&str> = found.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, [second.id.as_str(), first.id.as_str()], "{:?}", limiter.provider());
        assert!(found.iter().all(|b| b.created_at.is_some_and(|t| t >= before)), "{found:?}");
        assert_eq!(found[0].counts.total, 3);
        assert!(api.created_since(before + 3600).unwrap().is_empty());
    }
}
