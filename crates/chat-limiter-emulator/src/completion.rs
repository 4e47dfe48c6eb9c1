//! OpenAI-shaped completion bodies and stream chunks, shared by the OpenAI and OpenRouter
//! handlers (`router` adds OpenRouter's `provider`, `native_finish_reason` and `usage.cost`).

use serde_json::{json, Value};

use super::chat;
use super::features::{self, Plan};
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
    /// Tool calls, JSON answer and reasoning tokens (the same for every choice).
    plan: Plan,
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
        plan: Plan,
    ) -> Self {
        let completion: u64 = outs.iter().sum::<u64>() + outs.len() as u64 * plan.reasoning;
        let cost = if router {
            prompt as f64 * ctx.cfg.prompt_price + completion as f64 * ctx.cfg.completion_price
        } else {
            0.0
        };
        Gen {
            id,
            created: unix_now().as_secs(),
            model,
            prompt,
            outs,
            cap,
            hash,
            router,
            cost,
            plan,
        }
    }

    pub(crate) fn longest(&self) -> u64 {
        self.outs.iter().copied().max().unwrap_or(0)
    }

    /// All output tokens: the visible ones and the reasoning of every choice.
    pub(crate) fn completion_tokens(&self) -> u64 {
        self.outs.iter().sum::<u64>() + self.outs.len() as u64 * self.plan.reasoning
    }

    fn finish(&self, i: usize) -> &'static str {
        if !self.plan.calls.is_empty() {
            "tool_calls"
        } else if self.outs[i] >= self.cap.saturating_sub(self.plan.reasoning) {
            "length"
        } else {
            "stop"
        }
    }

    fn text(&self, i: usize) -> Vec<String> {
        if let Some(p) = self.plan.json_pieces() {
            return p;
        }
        chat::lorem_pieces(self.hash.wrapping_add(i as u64), self.outs[i])
    }

    /// OpenRouter's reasoning text (one lorem word per reasoning token); OpenAI returns none.
    fn reasoning(&self, i: usize) -> Vec<String> {
        if !self.router {
            return Vec::new();
        }
        chat::lorem_pieces(self.hash.wrapping_add(i as u64) ^ 0x5eed, self.plan.reasoning)
    }

    /// The tool calls in OpenAI's `message.tool_calls` shape.
    fn tool_calls(&self) -> Value {
        let calls = self.plan.calls.iter().map(|c| {
            json!({"id": c.id, "type": "function",
            "function": {"name": c.name, "arguments": c.arguments}})
        });
        Value::Array(calls.collect())
    }

    /// The non-streamed message of choice `i`.
    fn message(&self, i: usize) -> Value {
        let mut m = json!({"role": "assistant", "content": self.text(i).concat(), "refusal": null, "annotations": []});
        if !self.plan.calls.is_empty() {
            m["content"] = Value::Null;
            m["tool_calls"] = self.tool_calls();
        }
        let reasoning = self.reasoning(i);
        if !reasoning.is_empty() {
            m["reasoning"] = json!(reasoning.concat());
        }
        m
    }

    pub(crate) fn usage(&self) -> Value {
        let completion = self.completion_tokens();
        let reasoning = self.outs.len() as u64 * self.plan.reasoning;
        let mut u = json!({"prompt_tokens": self.prompt, "completion_tokens": completion, "total_tokens": self.prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}});
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
                let mut c = json!({"index": i, "message": self.message(i), "logprobs": null, "finish_reason": self.finish(i)});
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
            for piece in self.reasoning(i) {
                let c = self.choice(i, json!({"content": "", "reasoning": piece}), None);
                ev.push((per_token, chat::sse_data(&self.chunk(json!([c]), None, usage_null))));
            }
            // Tool calls: a first piece with the id and name, then the arguments in pieces of
            // 5 characters, call after call.
            let mut deltas: Vec<Value> = Vec::new();
            for (k, call) in self.plan.calls.iter().enumerate() {
                deltas.push(json!({"tool_calls": [{"index": k, "id": call.id, "type": "function",
                    "function": {"name": call.name, "arguments": ""}}]}));
                for piece in features::pieces(&call.arguments, 5) {
                    deltas.push(
                        json!({"tool_calls": [{"index": k, "function": {"arguments": piece}}]}),
                    );
                }
            }
            if self.plan.calls.is_empty() {
                deltas.extend(self.text(i).into_iter().map(|p| json!({"content": p})));
            }
            let stop_at = if mid_error { deltas.len() / 2 } else { deltas.len() };
            for delta in &deltas[..stop_at] {
                let c = self.choice(i, delta.clone(), None);
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
