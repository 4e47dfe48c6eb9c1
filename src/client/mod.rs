//! [`ChatLimiter`]: the rate-limited client for one provider and key, a thin facade over the
//! request engine, and its [`ChatLimiterBuilder`].

use std::sync::Arc;

use serde_json::Value;

use crate::config::Config;
use crate::error::Result;
use crate::limit::snapshot::LimitsSnapshot;
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
