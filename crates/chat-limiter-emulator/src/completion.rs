//! OpenAI-shaped completion bodies and stream chunks, shared by the OpenAI and OpenRouter
//! handlers (`router` adds OpenRouter's `provider`, `native_finish_reason` and `usage.cost`).

use serde_json::{json, Value};

use super::chat;
use super::format::unix_now;
use super::server::Ctx;

/// A generated answer in the OpenAI shape (`router` adds OpenRouter's fields).
pub(crate) struct Gen {
    pub(crate) id: String,
    created: u64,
    model: String,
    prompt: u64,
    outs: Vec<u64>,
    cap: u64,
    hash: u64,
    router: bool,
    pub(crate) cost: f64,
}

impl Gen {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        ctx: &Ctx,
        hash: u64,
        id: String,
        model: String,
        prompt: u64,
        outs: Vec<u64>,
        cap: u64,
        router: bool,
    ) -> Self {
        let completion: u64 = outs.iter().sum();
        let cost = if router {
            prompt as f64 * ctx.cfg.prompt_price + completion as f64 * ctx.cfg.completion_price
        } else {
            0.0
        };
        Gen { id, created: unix_now().as_secs(), model, prompt, outs, cap, hash, router, cost }
    }

    pub(crate) fn longest(&self) -> u64 {
        self.outs.iter().copied().max().unwrap_or(0)
    }

    fn finish(&self, i: usize) -> &'static str {
        if self.outs[i] >= self.cap {
            "length"
        } else {
            "stop"
        }
    }

    fn text(&self, i: usize) -> Vec<String> {
        chat::lorem_pieces(self.hash.wrapping_add(i as u64), self.outs[i])
    }

    pub(crate) fn usage(&self) -> Value {
        let completion: u64 = self.outs.iter().sum();
        let mut u = json!({"prompt_tokens": self.prompt, "completion_tokens": completion, "total_tokens": self.prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}});
        if self.router {
            u["cost"] = json!(self.cost);
            u["is_byok"] = json!(false);
        }
        u
    }

    /// The non-streamed body; `provider` is OpenRouter's top-level provider name.
    pub(crate) fn completion(&self, provider: Option<&str>) -> Value {
        let choices: Vec<Value> = (0..self.outs.len())
            .map(|i| {
                let mut c = json!({"index": i, "message": {"role": "assistant", "content": self.text(i).concat(), "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": self.finish(i)});
                if self.router {
                    c["native_finish_reason"] = json!(self.finish(i));
                }
                c
            })
            .collect();
        let mut body = json!({"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
            "choices": choices, "usage": self.usage(), "service_tier": "default", "system_fingerprint": "fp_emulator"});
        if let Some(p) = provider {
            body["provider"] = json!(p);
        }
        body
    }

    pub(crate) fn chunk(&self, choices: Value, usage: Option<Value>, usage_null: bool) -> Value {
        let mut c = json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "system_fingerprint": "fp_emulator", "choices": choices});
        if self.router {
            c["provider"] = json!("Emulator");
        } else {
            c["service_tier"] = json!("default");
        }
        match usage {
            Some(u) => c["usage"] = u,
            None if usage_null => c["usage"] = Value::Null,
            None => {}
        }
        c
    }

    fn choice(&self, i: usize, delta: Value, finish: Option<&str>) -> Value {
        let mut c = json!({"index": i, "delta": delta, "logprobs": null, "finish_reason": finish});
        if self.router {
            c["native_finish_reason"] = json!(finish);
        }
        c
    }

    /// Role chunk, one chunk per token, finish chunk (`delta:{}`), optional usage chunk,
    /// `[DONE]`; or an error chunk halfway through the tokens when `mid_error`.
    pub(crate) fn stream_events(
        &self,
        ctx: &mut Ctx,
        include_usage: bool,
        usage_null: bool,
        mid_error: bool,
    ) -> Vec<(std::time::Duration, String)> {
        let per_token = ctx.cfg.per_token_latency;
        let mut ev = Vec::new();
        let mut first = Some(chat::first_byte(ctx.cfg, &mut ctx.rng));
        let mut delay = || first.take().unwrap_or_default();
        for i in 0..self.outs.len() {
            let role =
                self.choice(i, json!({"role": "assistant", "content": "", "refusal": null}), None);
            ev.push((delay(), chat::sse_data(&self.chunk(json!([role]), None, usage_null))));
            let pieces = self.text(i);
            let stop_at = if mid_error { pieces.len() / 2 } else { pieces.len() };
            for piece in &pieces[..stop_at] {
                let c = self.choice(i, json!({"content": piece}), None);
                ev.push((per_token, chat::sse_data(&self.chunk(json!([c]), None, usage_null))));
            }
            if mid_error {
                let err = if self.router {
                    let mut c = self.chunk(json!([{"index": i, "delta": {"content": ""}, "finish_reason": "error", "native_finish_reason": "error"}]), None, false);
                    c["error"] = json!({"code": 502, "message": "Provider disconnected", "metadata": {"error_type": "provider_unavailable"}});
                    c
                } else {
                    json!({"error": {"message": "The server had an error while processing your request. Sorry about that!", "type": "server_error", "param": null, "code": null}})
                };
                ev.push((per_token, chat::sse_data(&err)));
                return ev;
            }
            let fin = self.choice(i, json!({}), Some(self.finish(i)));
            ev.push((
                Default::default(),
                chat::sse_data(&self.chunk(json!([fin]), None, usage_null)),
            ));
        }
        if include_usage {
            ev.push((
                Default::default(),
                chat::sse_data(&self.chunk(json!([]), Some(self.usage()), false)),
            ));
        }
        ev.push((Default::default(), "data: [DONE]\n\n".to_string()));
        ev
    }
}
