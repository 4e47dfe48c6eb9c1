//! [`ChatLimiter`]: the rate-limited client for one provider and key.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value;

use crate::builder::ChatLimiterBuilder;
use crate::error::{Error, Result};
use crate::limit::cost;
use crate::limit::limiter::Limiter;
use crate::limit::model::Cost;
use crate::limit::snapshot::LimitsSnapshot;
use crate::provider::{Provider, ProviderConfig};
use crate::retry::Backoff;
use crate::secret::ApiKey;
use crate::tokens::TokenCounter;
use crate::types::{ChatCompletionRequest, ChatCompletionResponse, Message};

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
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) provider: Provider,
    pub(crate) model: Option<String>,
    pub(crate) key: ApiKey,
    pub(crate) config: ProviderConfig,
    pub(crate) agent: ureq::Agent,
    pub(crate) timeout: Duration,
    pub(crate) limiter: Limiter,
    pub(crate) backoff: Backoff,
    pub(crate) counter: Arc<dyn TokenCounter>,
    pub(crate) default_max_tokens: u32,
    pub(crate) check_credits: bool,
    pub(crate) credits: Mutex<crate::credits::CreditCache>,
    pub(crate) credit_refresh: crate::credits::RefreshLock,
    pub(crate) headers: Vec<(String, String)>,
}

impl std::fmt::Debug for ChatLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatLimiter")
            .field("provider", &self.inner.provider)
            .field("model", &self.inner.model)
            .field("base_url", &self.inner.config.base_url)
            .field("api_key", &self.inner.key)
            .finish_non_exhaustive()
    }
}

/// The raw answer of [`ChatLimiter::request`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RawResponse {
    /// HTTP status (always 2xx: errors come back as [`Error::Api`]).
    pub status: u16,
    /// Response headers as (lower-case name, value) pairs.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body parsed as JSON.
    pub fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::InvalidRequest(format!("response body is not JSON: {e}")))
    }
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
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

    pub(crate) fn from_inner(inner: Inner) -> Self {
        ChatLimiter { inner: Arc::new(inner) }
    }

    /// The provider this limiter calls.
    pub fn provider(&self) -> Provider {
        self.inner.provider
    }

    /// The default model, when one was given.
    pub fn model(&self) -> Option<&str> {
        self.inner.model.as_deref()
    }

    /// The effective configuration.
    pub fn config(&self) -> &ProviderConfig {
        &self.inner.config
    }

    /// Sends a chat request, waiting for the limits, retrying what is worth retrying.
    ///
    /// An empty `request.model` uses the limiter's default model.
    pub fn chat_completion(
        &self,
        request: &ChatCompletionRequest,
    ) -> Result<ChatCompletionResponse> {
        let req = self.with_model(request)?;
        let reserved = self.estimate(&req);
        let body = crate::provider::wire::chat_body(
            self.inner.provider,
            &req,
            false,
            self.inner.default_max_tokens,
        )?;
        let body = serde_json::to_vec(&body).map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let path = crate::provider::wire::chat_path(self.inner.provider);
        self.execute(&req.model, reserved, |permit| {
            self.attempt_chat(path, &body, &req.model, permit)
        })
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

    /// Sends any request to the provider (path relative to the base URL) through the same
    /// limiter and retries, and returns the raw answer.
    ///
    /// A JSON body with `model` and `messages` is charged like a chat request; anything else
    /// counts as one request against the default model's limits.
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<RawResponse> {
        let method = method.trim().to_ascii_uppercase();
        if !["GET", "POST", "PUT", "DELETE", "PATCH"].contains(&method.as_str()) {
            return Err(Error::InvalidRequest(format!("unsupported HTTP method {method:?}")));
        }
        if !path.starts_with('/') || path.contains("://") {
            return Err(Error::InvalidRequest(format!("path must start with '/', got {path:?}")));
        }
        let chat: Option<ChatCompletionRequest> =
            body.and_then(|b| serde_json::from_value(b.clone()).ok());
        let model = chat
            .as_ref()
            .map(|c| c.model.clone())
            .filter(|m| !m.is_empty())
            .or_else(|| self.inner.model.clone())
            .unwrap_or_default();
        let reserved = chat.as_ref().map(|c| self.estimate(c)).unwrap_or_default();
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        self.execute(&model, reserved, |permit| {
            self.attempt_raw(&method, path, bytes.as_deref(), permit)
        })
    }

    /// A snapshot of every model's limits, usage, pause and queue.
    pub fn current_limits(&self) -> LimitsSnapshot {
        LimitsSnapshot { provider: self.inner.provider, models: self.inner.limiter.snapshot() }
    }

    /// Clears the usage counters (`used`, 429s, completed) of every model. Limits and the
    /// buckets' balances are kept: forgetting them would let the next burst exceed the limits.
    pub fn reset_usage_tracking(&self) {
        self.inner.limiter.reset_usage();
    }

    /// The request with the default model filled in, checked for obvious mistakes.
    pub(crate) fn with_model(
        &self,
        request: &ChatCompletionRequest,
    ) -> Result<ChatCompletionRequest> {
        let mut req = request.clone();
        if req.model.trim().is_empty() {
            req.model = self.inner.model.clone().ok_or_else(|| {
                Error::InvalidRequest(
                    "the request has no model and the limiter no default model".into(),
                )
            })?;
        }
        if req.messages.is_empty() {
            return Err(Error::InvalidRequest("the request has no messages".into()));
        }
        if req.max_tokens == Some(0) {
            return Err(Error::InvalidRequest("max_tokens must be at least 1".into()));
        }
        Ok(req)
    }

    /// What the request will reserve.
    pub(crate) fn estimate(&self, req: &ChatCompletionRequest) -> Cost {
        let prompt = self.inner.counter.count_prompt(req);
        let max_out = u64::from(req.max_tokens.unwrap_or(self.inner.default_max_tokens));
        let n = req.extra.get("n").and_then(Value::as_u64).unwrap_or(1);
        cost::reserve(self.inner.provider, prompt, max_out, n)
    }
}

// Users share one limiter across threads: make that a compile-time promise.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ChatLimiter>();
    assert_send_sync::<Limiter>();
};
