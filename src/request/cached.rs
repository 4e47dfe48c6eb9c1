//! The response cache's hooks in the request path: a lookup before a call is acquired and
//! sent, a store after it succeeded. The rules (policy, age limit, determinism) and the
//! storage are the cache's own (`src/cache/`).

use super::{Call, Engine};
use crate::cache::{body_json, KeyParts};
use crate::error::Result;
use crate::openai_api::OpenAiApi;
use crate::provider::{openai_responses, wire};
use crate::stream::ChatStream;
use crate::types::ChatCompletionResponse;

impl Engine {
    /// The call's cache key, when a cache is set and may hold this call.
    pub(super) fn cache_key(&self, call: &Call) -> Option<String> {
        let cache = self.cache.as_ref()?;
        let body = body_json(call.body.as_deref())?;
        cache.key_for(&KeyParts {
            provider: self.provider,
            base_url: &self.base_url,
            method: &call.method,
            path: &call.path,
            headers: &self.config.headers,
            body: &body,
        })
    }

    /// The stored answer for `key`, read back by the parser of the call's wire (as a miss
    /// would have been) and marked as cached.
    pub(super) fn cached_response(
        &self,
        key: Option<&str>,
        call: &Call,
    ) -> Option<ChatCompletionResponse> {
        let (p, api) = (self.provider, call.api);
        // No key to redact: a stored body never held one.
        let parse = move |body: &[u8], request_id| -> Result<ChatCompletionResponse> {
            match api {
                OpenAiApi::Responses => {
                    openai_responses::response::parse_response(body, request_id, "")
                }
                _ => wire::parse_chat_response(p, body, request_id, ""),
            }
        };
        self.cache.as_ref()?.response(key?, &parse)
    }

    /// Stores a successful answer under `key`.
    pub(super) fn cache_response(
        &self,
        key: Option<&str>,
        call: &Call,
        r: &ChatCompletionResponse,
    ) {
        if let (Some(cache), Some(key)) = (&self.cache, key) {
            cache.store_response(key, &call.model, r);
        }
    }

    /// The stored stream for `key`, replayed.
    pub(super) fn cached_stream(&self, key: Option<&str>, call: &Call) -> Option<ChatStream> {
        let (request_id, chunks) = self.cache.as_ref()?.stream(key?)?;
        Some(ChatStream::replay(self.provider, call.model.to_string(), request_id, chunks))
    }

    /// `stream`, storing its chunks under `key` once it completes.
    pub(super) fn record_stream(
        &self,
        key: Option<String>,
        call: &Call,
        s: ChatStream,
    ) -> ChatStream {
        let (Some(cache), Some(key)) = (self.cache.clone(), key) else {
            return s;
        };
        let model = call.model.to_string();
        s.on_complete(Box::new(move |request_id, chunks| {
            cache.store_stream(&key, &model, request_id, chunks);
        }))
    }
}
