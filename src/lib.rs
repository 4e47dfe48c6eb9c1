//! # chat-limiter
//!
//! A blocking, runtime-free client for the OpenAI, Anthropic and OpenRouter chat APIs that
//! manages their rate limits for you: no tokio, no async, no hand-written retry loops. Push
//! thousands of prompts through a provider as fast as its limits allow, without 429 storms or
//! lost work.
//!
//! * **Limits that work.** One token-bucket limiter per model (requests, tokens, Anthropic's
//!   input and output tokens) behind a `parking_lot` Mutex and Condvar. Requests reserve their
//!   cost first come, first served, so a large request is never starved by small ones; the
//!   reservation is settled against the usage the provider reports, the way the provider
//!   itself counts.
//! * **Follows the server.** Every response's rate-limit headers (OpenAI's Go durations,
//!   Anthropic's RFC 3339 resets, `retry-after`, `retry-after-ms`) correct the buckets; with no
//!   limits configured, the first answer teaches them. One 429 pauses the model's whole queue.
//! * **Retries that mean it.** Exponential backoff with jitter, server hints first; quota,
//!   billing and 4xx errors are never retried.
//! * **Images and documents.** A message's content is text or typed parts
//!   ([`ContentPart`]: text, images by URL or base64, PDFs, any other kind passed through
//!   untouched), sent in each provider's own shape and estimated by the provider's image rule
//!   from the image's size, never by the length of its base64 text (see the README's "Images
//!   and documents" for a runnable example).
//! * **OpenAI's Responses API** (`POST /v1/responses`) as a second OpenAI wire under the same
//!   limiter and headers, chosen per request ([`ChatLimiter::responses`]), per model or by
//!   configuration ([`OpenAiApi`]), answering in the same response and chunk types (see the
//!   README's "OpenAI's Responses API" for a runnable example).
//! * **Batches at the limit**, streaming, OpenRouter credit checks and monitoring. Alongside,
//!   in the same workspace: a local emulator of all three providers (crate
//!   `chat-limiter-emulator`) and a command line (crate `chat-limiter-cli`).
//!
//! # Quick start
//!
//! The provider is detected from the model name and the key read from `OPENAI_API_KEY`,
//! `ANTHROPIC_API_KEY` or `OPENROUTER_API_KEY`:
//!
//! ```no_run
//! use chat_limiter::{ChatCompletionRequest, ChatLimiter, Message};
//!
//! let limiter = ChatLimiter::for_model("gpt-4o")?;
//! let request = ChatCompletionRequest::new("gpt-4o", vec![Message::user("Hello!")]).max_tokens(50);
//! let response = limiter.chat_completion(&request)?;
//! println!("{}", response.choices[0].message.content);
//!
//! // Or the one-liner:
//! let answer = limiter.simple_chat("gpt-4o", "What is the capital of France?", 50)?;
//! # Ok::<_, chat_limiter::Error>(())
//! ```
//!
//! The same, runnable offline against the emulator (crate `chat-limiter-emulator`, a
//! dev-dependency of this one):
//!
//! ```
//! use chat_limiter_emulator::Emulator;
//! use chat_limiter::{ChatLimiter, Provider};
//!
//! let emu = Emulator::anthropic().rpm(50).input_tpm(30_000).output_tpm(8_000).start().unwrap();
//! let limiter = ChatLimiter::builder()
//!     .model("claude-3-5-sonnet-20241022")
//!     .api_key("sk-ant-test")
//!     .base_url(emu.base_url())
//!     .build()?;
//! let text = limiter.simple_chat("claude-3-5-sonnet-20241022", "What is Rust?", 100)?;
//! assert!(!text.is_empty());
//! // The limits were learned from the response headers.
//! let limits = limiter.current_limits();
//! assert_eq!(limits.model("claude-3-5-sonnet-20241022").unwrap().requests.unwrap().limit, 50);
//! # Ok::<_, chat_limiter::Error>(())
//! ```
//!
//! # Provider override, keys and configuration
//!
//! Every setting is a builder method named like the [`Config`] getter that reads it back;
//! [`Config::default`] holds every default.
//!
//! ```
//! use chat_limiter::{ChatLimiter, Provider};
//! use std::time::Duration;
//!
//! // A model name that says nothing about its provider: name the provider.
//! let limiter = ChatLimiter::builder()
//!     .model("custom-model-name")
//!     .provider(Provider::OpenAI)
//!     .api_key("sk-key")               // instead of OPENAI_API_KEY
//!     .request_limit(100)
//!     .token_limit(50_000)
//!     .max_retries(5)
//!     .base_backoff(Duration::from_secs(2))
//!     .request_buffer_ratio(0.8)       // use 80% of the request limit
//!     .build()?;
//! assert_eq!(limiter.config().request_limit(), Some(100));
//!
//! // The same settings for another key.
//! let other = ChatLimiter::builder().config(limiter.config().clone()).api_key("sk-2").build()?;
//! # Ok::<_, chat_limiter::Error>(())
//! ```
//!
//! # Error handling
//!
//! Every failure is an [`Error`]; provider answers carry an [`ApiError`] with status, error
//! type and code, request id and retry hint. No error ever contains the API key.
//!
//! ```no_run
//! # let limiter = chat_limiter::ChatLimiter::for_model("gpt-4o")?;
//! use chat_limiter::Error;
//! match limiter.simple_chat("gpt-4o", "Hello!", 50) {
//!     Ok(text) => println!("{text}"),
//!     Err(Error::RetriesExhausted { attempts, last }) => eprintln!("gave up after {attempts}: {last}"),
//!     Err(Error::Api(e)) if e.status == 429 => eprintln!("quota or billing: {}", e.message),
//!     Err(Error::Api(e)) => eprintln!("HTTP {}: {}", e.status, e.message),
//!     Err(e) => eprintln!("request error: {e}"),
//! }
//! # Ok::<_, chat_limiter::Error>(())
//! ```
//!
//! # Monitoring
//!
//! ```no_run
//! # let limiter = chat_limiter::ChatLimiter::for_model("gpt-4o")?;
//! for m in limiter.current_limits().models {
//!     if let Some(r) = m.requests {
//!         println!("{}: requests used {} of {}, {} left", m.model, r.used, r.limit, r.remaining);
//!     }
//!     if let Some(t) = m.tokens {
//!         println!("{}: tokens used {} of {}", m.model, t.used, t.limit);
//!     }
//!     println!("429s: {}, paused for {:?}", m.rate_limited, m.paused_for);
//! }
//! limiter.reset_usage_tracking();
//! # Ok::<_, chat_limiter::Error>(())
//! ```
//!
//! # Batches
//!
//! [`process_chat_completion_batch`] runs requests over a worker pool sized by
//! [`BatchConfig::max_workers`] and returns results in input order;
//! [`process_chat_completion_stream`] takes any iterator and hands results to a callback as
//! they complete, with bounded memory.
//!
//! ```
//! # let emu = chat_limiter_emulator::Emulator::openai().start().unwrap();
//! use chat_limiter::{create_chat_completion_requests, process_chat_completion_batch, BatchConfig, ChatLimiter, Provider};
//!
//! # let limiter = ChatLimiter::builder().provider(Provider::OpenAI).api_key("sk").base_url(emu.base_url()).build()?;
//! let requests = create_chat_completion_requests("gpt-4o", ["Hello!", "How are you?", "What is Rust?"], Some(50), Some(0.7));
//! let config = BatchConfig::default().max_concurrent_requests(5).max_retries_per_item(3).group_by_model(true);
//! for result in process_chat_completion_batch(&limiter, requests, &config)? {
//!     match &result.result {
//!         Ok(response) => println!("{}", response.text()),
//!         Err(e) => println!("error: {e}"),
//!     }
//! }
//! # Ok::<_, chat_limiter::Error>(())
//! ```
//!
//! # Tools, structured output and reasoning
//!
//! Tools are typed ([`Tool`], [`ToolChoice`]); calls come back on `message.tool_calls`
//! ([`ToolCall`]) from plain calls and streams alike, and [`Message::tool_result`] answers one:
//!
//! ```
//! # use chat_limiter::{ChatCompletionRequest, ChatLimiter, Message, Provider, Tool};
//! # let emu = chat_limiter_emulator::Emulator::openrouter().start().unwrap();
//! # let limiter = ChatLimiter::builder().provider(Provider::OpenRouter).api_key("sk-or")
//! #     .base_url(emu.base_url()).build()?;
//! let tool = Tool::new("lookup", "Looks a word up", serde_json::json!({"type": "object",
//!     "properties": {"word": {"type": "string"}}}));
//! let mut req = ChatCompletionRequest::new("openai/gpt-4o", vec![Message::user("call lookup")])
//!     .tool(tool);
//! let first = limiter.chat_completion_stream(&req)?.collect_response()?;
//! let call = first.choices[0].message.tool_calls[0].clone();
//! assert_eq!(call.arguments, r#"{"word":"word"}"#); // the emulator's rule
//! req.messages.push(first.choices[0].message.clone());
//! req.messages.push(Message::tool_result(call.id, "a definition"));
//! assert!(!limiter.chat_completion(&req)?.text().is_empty());
//! # Ok::<_, chat_limiter::Error>(())
//! ```
//!
//! [`ResponseFormat`] asks for JSON (on Anthropic through a forced tool) and
//! [`ChatCompletionResponse::parse_json`] reads it into your type:
//!
//! ```
//! # use chat_limiter::{ChatCompletionRequest, ChatLimiter, Message, Provider, ResponseFormat};
//! # let emu = chat_limiter_emulator::Emulator::anthropic().start().unwrap();
//! # let limiter = ChatLimiter::builder().provider(Provider::Anthropic).api_key("sk-ant")
//! #     .base_url(emu.base_url()).build()?;
//! #[derive(serde::Deserialize)]
//! struct Answer { ok: bool }
//! let schema = serde_json::json!({"type": "object", "properties": {"ok": {"type": "boolean"}}});
//! let req = ChatCompletionRequest::new("claude-haiku-4-5", vec![Message::user("ok?")])
//!     .response_format(ResponseFormat::json_schema("answer", schema));
//! let answer: Answer = limiter.chat_completion(&req)?.parse_json().expect("JSON");
//! assert!(answer.ok);
//! # Ok::<_, chat_limiter::Error>(())
//! ```
//!
//! [`ReasoningEffort`] and [`Thinking`] set reasoning; its text stays apart from the answer
//! (`message.reasoning`, [`ChatCompletionChunk::reasoning`]) and [`Usage::reasoning_tokens`]
//! counts it where the provider reports it:
//!
//! ```
//! # use chat_limiter::{ChatCompletionRequest, ChatLimiter, Message, Provider, Thinking};
//! # let emu = chat_limiter_emulator::Emulator::anthropic().start().unwrap();
//! # let limiter = ChatLimiter::builder().provider(Provider::Anthropic).api_key("sk-ant")
//! #     .base_url(emu.base_url()).build()?;
//! let req = ChatCompletionRequest::new("claude-sonnet-4-5", vec![Message::user("Think.")])
//!     .thinking(Thinking::Enabled { budget_tokens: 1024 })
//!     .max_tokens(2048); // must exceed the budget: thinking is output
//! let r = limiter.chat_completion(&req)?;
//! let m = &r.choices[0].message;
//! assert!(m.reasoning.is_some() && !m.thinking_blocks.is_empty());
//! assert!(!r.text().contains(m.reasoning.as_deref().unwrap_or_default().trim()));
//! # Ok::<_, chat_limiter::Error>(())
//! ```
//!
//! # Low-level requests
//!
//! ```no_run
//! # let limiter = chat_limiter::ChatLimiter::for_model("gpt-4o")?;
//! let body = serde_json::json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello!"}]});
//! let response = limiter.request("POST", "/chat/completions", Some(&body))?;
//! println!("{}", response.json()?["choices"][0]["message"]["content"]);
//! # Ok::<_, chat_limiter::Error>(())
//! ```
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `tiktoken` | exact OpenAI token counts |
//! | `redis` | limits shared across processes and hosts through Redis (and [`RedisCacheStore`]) |
//! | `cache` (default) | the SQLite response cache store ([`Cache::sqlite`]) |
//!
//! The emulator (fake OpenAI, Anthropic and OpenRouter servers that enforce limits) is the
//! crate `chat-limiter-emulator`, and the `chat-limiter` command line is the crate
//! `chat-limiter-cli`; neither is a dependency of this library.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod batch;
mod batch_api;
mod budget;
mod cache;
mod client;
mod config;
mod error;
mod limit;
mod metrics;
mod openai_api;
mod pricing;
mod provider;
mod provider_id;
mod request;
mod retry;
mod secret;
mod stream;
mod tokens;
mod transport;
mod types;

pub use batch::{
    create_chat_completion_requests, process_chat_completion_batch, process_chat_completion_stream,
    BatchConfig, BatchProgress, BatchResult, BatchSummary, ProgressFn,
};
pub use batch_api::{
    BatchApi, BatchCaps, BatchEndpoint, BatchError, BatchFailure, BatchInfo, BatchItem,
    BatchStatus, Cap, ItemOutcome, ItemResult, PollSchedule, RequestCounts,
};
pub use budget::{Budget, BudgetSnapshot, SpendSnapshot};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use cache::RedisCacheStore;
#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub use cache::SqliteStore;
pub use cache::{
    Cache, CacheCounters, CacheEntry, CachePolicy, CacheStats, CacheStore, MemoryStore,
};
pub use client::{ChatLimiter, ChatLimiterBuilder};
pub use config::{Config, LongWait};
pub use error::{ApiError, Error, Result};
pub use limit::clock::{Clock, ManualClock, SystemClock};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use limit::redis_store::RedisFailurePolicy;
pub use limit::snapshot::{DimensionSnapshot, LimitsSnapshot, ModelLimits};
pub use metrics::{
    CallCounts, FailureKind, Histogram, MetricsSnapshot, ModelMetrics, TokenCounts, BUCKET_BOUNDS,
};
pub use openai_api::OpenAiApi;
pub use pricing::{ModelPrice, PriceTable};
pub use provider::openrouter::OpenRouterKeyInfo;
pub use provider_id::{ParseProviderError, Provider};
pub use request::RawResponse;
pub use stream::ChatStream;
pub use tokens::{
    anthropic_rule, image_tokens, media_tokens, openai_tile_rule, CharEstimator, TokenCounter,
    ANTHROPIC_MAX_IMAGE_TOKENS, DOCUMENT_TOKENS, OPENAI_LOW_DETAIL_TOKENS,
    OPENAI_UNKNOWN_IMAGE_TOKENS,
};
#[cfg(feature = "tiktoken")]
#[cfg_attr(docsrs, doc(cfg(feature = "tiktoken")))]
pub use tokens::{TiktokenCounter, TiktokenEncoding};
pub use types::{
    ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse, Choice, Content,
    ContentPart, DocumentPart, ImagePart, JsonOutputError, MediaSource, Message, MessageRole,
    RawJson, ReasoningEffort, ResponseFormat, Thinking, ThinkingBlock, Tool, ToolCall,
    ToolCallDelta, ToolChoice, Usage, JSON_TOOL_NAME,
};

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// docs/pricing.md's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../docs/pricing.md")]
struct PricingDoctests;
