//! [`ChatLimiter`]: the rate-limited client for one provider and key, a thin facade over the
//! request engine, and its [`ChatLimiterBuilder`].

use std::sync::Arc;

use serde_json::Value;

use crate::budget::SpendSnapshot;
use crate::config::Config;
use crate::error::Result;
use crate::limit::snapshot::LimitsSnapshot;
use crate::metrics::MetricsSnapshot;
use crate::openai_api::OpenAiApi;
use crate::pricing::PriceTable;
use crate::provider::openrouter::OpenRouterKeyInfo;
use crate::provider_id::Provider;
use crate::request::{Engine, RawResponse};
use crate::stream::ChatStream;
use crate::types::{ChatCompletionRequest, ChatCompletionResponse, Message};

mod base_url;
mod builder;

pub use builder::ChatLimiterBuilder;

/// A blocking, rate-limited client for one provider and API key.
///
/// Cheap to clone (an `Arc` inside); clones share one limiter, so any number of threads can
/// call it at once and together stay within the provider's limits.
///
/// ```no_run
/// use chat_limiter::{ChatLimiter, ChatCompletionRequest, Message};
/// let limiter = ChatLimiter::for_model("gpt-4o")?; // key from OPENAI_API_KEY
/// let response = limiter.chat_completion(
///     &ChatCompletionRequest::new("gpt-4o", vec![Message::user("Hello!")]).max_tokens(50),
/// )?;
/// println!("{}", response.choices[0].message.content);
/// # Ok::<_, chat_limiter::Error>(())
/// ```
#[derive(Clone)]
pub struct ChatLimiter {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for ChatLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatLimiter")
            .field("provider", &self.engine.provider())
            .field("model", &self.engine.model())
            .field("base_url", &self.engine.base_url())
            .field("api_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl ChatLimiter {
    /// A limiter for `model`: the provider is detected from the name and the key read from the
    /// provider's environment variable (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`,
    /// `OPENROUTER_API_KEY`).
    pub fn for_model(model: &str) -> Result<Self> {
        Self::builder().model(model).build()
    }

    /// A builder for every other setting.
    pub fn builder() -> ChatLimiterBuilder {
        ChatLimiterBuilder::default()
    }

    pub(crate) fn from_engine(engine: Engine) -> Self {
        ChatLimiter { engine: Arc::new(engine) }
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The provider this limiter calls.
    pub fn provider(&self) -> Provider {
        self.engine.provider()
    }

    /// The default model, when one was given.
    pub fn model(&self) -> Option<&str> {
        self.engine.model()
    }

    /// The response cache set with [`ChatLimiterBuilder::cache`], if any.
    pub fn cache(&self) -> Option<&crate::cache::Cache> {
        self.engine.cache()
    }

    /// The effective configuration, whole: every setting as the limiter uses it, with the
    /// provider and base URL resolved.
    pub fn config(&self) -> &Config {
        self.engine.config()
    }

    /// Sends a chat request, waiting for the limits, retrying what is worth retrying.
    ///
    /// An empty `request.model` uses the limiter's default model.
    pub fn chat_completion(
        &self,
        request: &ChatCompletionRequest,
    ) -> Result<ChatCompletionResponse> {
        self.engine.chat(request)
    }

    /// Asks one question and returns the answer's text.
    ///
    /// ```no_run
    /// # let limiter = chat_limiter::ChatLimiter::for_model("gpt-4o")?;
    /// let answer = limiter.simple_chat("gpt-4o", "What is the capital of France?", 50)?;
    /// # Ok::<_, chat_limiter::Error>(())
    /// ```
    pub fn simple_chat(&self, model: &str, prompt: &str, max_tokens: u32) -> Result<String> {
        let req =
            ChatCompletionRequest::new(model, vec![Message::user(prompt)]).max_tokens(max_tokens);
        Ok(self.chat_completion(&req)?.text().to_string())
    }

    /// Sends a chat request with streaming on and returns the chunks as they arrive.
    ///
    /// Waiting for the limits and retrying happen before the first byte, as for
    /// [`chat_completion`](Self::chat_completion); once the stream has started, an error ends
    /// it (the text already delivered cannot be taken back). OpenAI is asked for
    /// `stream_options.include_usage`, so its last chunk carries the usage.
    ///
    /// ```no_run
    /// # let limiter = chat_limiter::ChatLimiter::for_model("gpt-4o")?;
    /// use chat_limiter::{ChatCompletionRequest, Message};
    /// let req = ChatCompletionRequest::new("gpt-4o", vec![Message::user("Count to 5")]).max_tokens(50);
    /// for chunk in limiter.chat_completion_stream(&req)? {
    ///     print!("{}", chunk?.delta);
    /// }
    /// # Ok::<_, chat_limiter::Error>(())
    /// ```
    pub fn chat_completion_stream(&self, request: &ChatCompletionRequest) -> Result<ChatStream> {
        self.engine.stream(request)
    }

    /// The OpenAI API `request` would be sent to: its own choice
    /// ([`ChatCompletionRequest::openai_api`]), else the model's
    /// ([`Config::responses_models`]), else the limiter's ([`Config::openai_api`]). A batch job
    /// uses it to send each line to the batch endpoint of its API.
    ///
    /// ```
    /// use chat_limiter::{ChatCompletionRequest, ChatLimiter, Message, OpenAiApi, Provider};
    /// let limiter = ChatLimiter::builder()
    ///     .provider(Provider::OpenAI).api_key("sk-anything").responses_models(["o3*"]).build()?;
    /// let req = |m: &str| ChatCompletionRequest::new(m, vec![Message::user("hi")]);
    /// assert_eq!(limiter.openai_api_for(&req("o3-pro")), OpenAiApi::Responses);
    /// assert_eq!(limiter.openai_api_for(&req("gpt-4o")), OpenAiApi::ChatCompletions);
    /// # Ok::<_, chat_limiter::Error>(())
    /// ```
    pub fn openai_api_for(&self, request: &ChatCompletionRequest) -> OpenAiApi {
        // The only error is the Responses API chosen for another provider, which has none.
        self.engine.api_for(request).unwrap_or(OpenAiApi::ChatCompletions)
    }

    /// Sends a chat request to OpenAI's Responses API (`POST /v1/responses`) under the same
    /// limiter, headers and retries as [`chat_completion`](Self::chat_completion), and returns
    /// the answer in the same type: the text as the content, reasoning summaries in
    /// `message.reasoning`, function calls in `message.tool_calls`,
    /// reasoning tokens in [`Usage::reasoning_tokens`](crate::Usage::reasoning_tokens), the
    /// Responses object in `raw` (docs/providers.md §11). The same as setting
    /// [`ChatCompletionRequest::openai_api`]; errors like `chat_completion`, plus
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) for another provider or a
    /// setting the Responses API lacks (`stop`, the penalties, `n > 1`).
    ///
    /// ```
    /// use chat_limiter::{ChatCompletionRequest, ChatLimiter, Message};
    /// let emu = chat_limiter_emulator::Emulator::openai().rpm(100).tpm(50_000).start().unwrap();
    /// let limiter = ChatLimiter::builder()
    ///     .model("o4-mini").api_key("sk-test").base_url(emu.base_url()).build()?;
    /// let req = ChatCompletionRequest::new("o4-mini", vec![
    ///     Message::system("Be brief."),
    ///     Message::user("What is Rust?"),
    /// ]).max_tokens(40);
    /// let answer = limiter.responses(&req)?;
    /// assert!(!answer.text().is_empty());
    /// assert_eq!(answer.raw["object"], "response");
    /// assert!(answer.usage.unwrap().reasoning_tokens.unwrap() > 0); // a reasoning model
    /// let mut text = String::new();
    /// let mut stream = limiter.responses_stream(&req)?;
    /// for chunk in stream.by_ref() {
    ///     text.push_str(&chunk?.delta);
    /// }
    /// assert!(stream.is_complete() && !text.is_empty()); // ended on `response.completed`
    /// assert!(stream.usage().unwrap().reasoning_tokens.is_some());
    /// # Ok::<_, chat_limiter::Error>(())
    /// ```
    pub fn responses(&self, request: &ChatCompletionRequest) -> Result<ChatCompletionResponse> {
        self.engine.chat(&request.clone().openai_api(crate::OpenAiApi::Responses))
    }

    /// [`responses`](Self::responses) streamed: the Responses API's typed events as chunks,
    /// ending on `response.completed`, whose usage settles the limiter as a chat stream's
    /// last chunk does; [`ChatStream::collect_response`] returns what `responses` would.
    pub fn responses_stream(&self, request: &ChatCompletionRequest) -> Result<ChatStream> {
        self.engine.stream(&request.clone().openai_api(crate::OpenAiApi::Responses))
    }

    /// Sends any request to the provider (path relative to the base URL) through the same
    /// limiter and retries, and returns the raw answer.
    ///
    /// A JSON body with `model` and `messages` is charged like a chat request; anything else
    /// counts as one request against the default model's limits.
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<RawResponse> {
        self.engine.raw(method, path, body)
    }

    /// Fetches the key's limits and credit from OpenRouter (`GET /key`, falling back to the
    /// older `GET /auth/key`).
    pub fn openrouter_key_info(&self) -> Result<OpenRouterKeyInfo> {
        self.engine.key_info()
    }

    /// A snapshot of every model's limits, usage, pause and queue.
    pub fn current_limits(&self) -> LimitsSnapshot {
        LimitsSnapshot { provider: self.provider(), models: self.engine.limiter().snapshot() }
    }

    /// Money spent so far through this limiter (real costs, worst cases where the real cost
    /// is unknown, answers that could not be priced) and the budget's state.
    pub fn spend(&self) -> SpendSnapshot {
        self.engine.spend().snapshot()
    }

    /// The price table costs are computed with (see [`ChatLimiterBuilder::price_table`]).
    pub fn price_table(&self) -> PriceTable {
        self.engine.spend().table()
    }

    /// OpenRouter: reads its public model list (`GET /models`, `data[].pricing`) into this
    /// limiter's price table, replacing the prices of the same models; returns how many
    /// models are priced by it.
    pub fn load_openrouter_prices(&self) -> Result<usize> {
        let table = PriceTable::from_openrouter_models(&String::from_utf8_lossy(
            &self.engine.raw("GET", "/models", None)?.body,
        ))?;
        let n = table.len();
        self.engine.spend().merge_prices(table);
        Ok(n)
    }

    /// What this limiter's requests came to so far, per model: attempts sent, successes and
    /// failures by kind, 429s, retries, tokens charged and reported, in flight, queued, and
    /// the distributions of admission waits and latencies (docs/observability.md).
    ///
    /// ```
    /// # let emu = chat_limiter_emulator::Emulator::openai().start().unwrap();
    /// use chat_limiter::{ChatLimiter, Provider};
    /// let limiter = ChatLimiter::builder()
    ///     .provider(Provider::OpenAI)
    ///     .api_key("sk-test")
    ///     .base_url(emu.base_url())
    ///     .build()?;
    /// limiter.simple_chat("gpt-4o-mini", "Hello!", 20)?;
    /// let m = limiter.metrics();
    /// let model = m.model("gpt-4o-mini").unwrap();
    /// assert_eq!((model.requests.sent, model.requests.succeeded), (1, 1));
    /// assert_eq!(model.latency.count(), 1);
    /// # Ok::<_, chat_limiter::Error>(())
    /// ```
    pub fn metrics(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            provider: self.provider(),
            models: self.engine.limiter().metrics(),
            spend_usd: Some(self.spend()).filter(|s| s.priced > 0).map(|s| s.spent_usd),
        }
    }

    /// Clears the usage counters (`used`, 429s, completed) of every model. Limits and the
    /// buckets' balances are kept: forgetting them would let the next burst exceed the limits.
    pub fn reset_usage_tracking(&self) {
        self.engine.limiter().reset_usage();
    }
}

// Users share one limiter across threads: make that a compile-time promise.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ChatLimiter>();
    assert_send_sync::<crate::limit::limiter::Limiter>();
};
