//! Prepare: everything about a call that needs no network — the request checked and given
//! its model, the body serialised, the cost estimated. Pure and `Sync`, so a batch prepares
//! many calls in parallel.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;

use super::Engine;
use crate::error::{Error, Result};
use crate::limit::model::Cost;
use crate::openai_api::{listed, OpenAiApi};
use crate::provider::{cost, openai_responses, wire};
use crate::provider_id::Provider;
use crate::types::{ChatCompletionRequest, Content};

/// A call ready to send: what goes on the wire and what it reserves.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// The model whose limits it counts against (shared: each attempt's money is counted
    /// against it too, and a clone per attempt would be an allocation per request).
    pub model: Arc<str>,
    /// Borrowed for chat calls (a fixed method and path), owned for raw ones.
    pub method: Cow<'static, str>,
    /// Relative to the base URL.
    pub path: Cow<'static, str>,
    pub body: Option<Vec<u8>>,
    /// What it reserves in the limiter.
    pub cost: Cost,
    /// The estimated prompt tokens (a stream that breaks settles with it).
    pub prompt_tokens: u64,
    /// A stream: the timeout applies between reads.
    pub stream: bool,
    /// The wire of a chat call (`ChatCompletions` also stands for Anthropic's Messages).
    pub api: OpenAiApi,
}

impl Engine {
    /// A chat call (streamed or not).
    pub(crate) fn prepare_chat(
        &self,
        request: &ChatCompletionRequest,
        stream: bool,
    ) -> Result<Call> {
        let req = self.with_model(request)?;
        let api = self.api_for(&req)?;
        let (cost, prompt_tokens) = self.estimate(&req);
        // Sized up front: a `Vec` starts at 128 bytes and doubles, three or four copies for a
        // typical body.
        let mut bytes = Vec::with_capacity(body_size_hint(&req));
        let path = match api {
            OpenAiApi::Responses => {
                let body = openai_responses::request::body(&req, stream)?;
                serde_json::to_writer(&mut bytes, &body)
                    .map_err(|e| Error::InvalidRequest(e.to_string()))?;
                openai_responses::PATH
            }
            _ => {
                let max = self.config.default_max_tokens;
                wire::write_chat_body(self.provider, &req, stream, max, &mut bytes)?;
                wire::chat_path(self.provider)
            }
        };
        Ok(Call {
            model: Arc::from(req.model.as_str()),
            method: Cow::Borrowed("POST"),
            path: Cow::Borrowed(path),
            body: Some(bytes),
            cost,
            prompt_tokens,
            stream,
            api,
        })
    }

    /// The wire a chat request goes to: the request's choice, else the model's
    /// (`responses_models`), else the limiter's (`openai_api`). Errors: the Responses API
    /// chosen for a provider other than OpenAI.
    pub(crate) fn api_for(&self, req: &ChatCompletionRequest) -> Result<OpenAiApi> {
        let by_model = || listed(&self.config.responses_models, &req.model);
        let api = req.openai_api.unwrap_or(if by_model() {
            OpenAiApi::Responses
        } else {
            self.config.openai_api
        });
        if api == OpenAiApi::Responses && self.provider != Provider::OpenAI {
            return Err(Error::InvalidRequest(format!(
                "the Responses API is OpenAI's; this limiter sends to {}",
                self.provider
            )));
        }
        Ok(api)
    }

    /// A raw call. A JSON body with `model` and `messages` is charged like a chat request;
    /// anything else counts as one request against the default model's limits.
    pub(crate) fn prepare_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Call> {
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
            .or_else(|| self.model.clone())
            .unwrap_or_default();
        let (cost, prompt_tokens) = chat.as_ref().map(|c| self.estimate(c)).unwrap_or_default();
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let api = OpenAiApi::ChatCompletions; // read raw: the wire does not matter
        let (method, path) = (Cow::Owned(method), Cow::Owned(path.to_string()));
        let model = Arc::from(model);
        Ok(Call { model, method, path, body, cost, prompt_tokens, stream: false, api })
    }

    /// What the request reserves, and its estimated prompt tokens.
    fn estimate(&self, req: &ChatCompletionRequest) -> (Cost, u64) {
        let prompt = self
            .counter
            .count_prompt(req)
            .saturating_add(self.counter.count_media(self.provider, req));
        let max_out = u64::from(req.max_tokens.unwrap_or(self.config.default_max_tokens));
        let n = req.extra.get("n").and_then(Value::as_u64).unwrap_or(1);
        (cost::reserve(self.provider, prompt, max_out, n), prompt)
    }

    /// The request with the default model filled in, checked for obvious mistakes.
    /// Borrowed unless the model is filled in: a request is copied only then.
    fn with_model<'r>(
        &self,
        request: &'r ChatCompletionRequest,
    ) -> Result<Cow<'r, ChatCompletionRequest>> {
        let mut req = Cow::Borrowed(request);
        if req.model.trim().is_empty() {
            req.to_mut().model = self.model.clone().ok_or_else(|| {
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
}

/// About the size of a chat request's JSON body: its texts (with room for escapes) and some
/// framing per message. Only a capacity hint: images and tools make the body grow past it.
fn body_size_hint(req: &ChatCompletionRequest) -> usize {
    let texts: usize = req
        .messages
        .iter()
        .map(|m| match &m.content {
            Content::Text(t) => t.len(),
            _ => 256,
        })
        .sum();
    256 + req.model.len() + texts + texts / 8 + 64 * req.messages.len()
}
