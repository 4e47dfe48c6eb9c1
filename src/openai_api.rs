//! [`OpenAiApi`]: which of OpenAI's two chat wires a request goes to. A leaf: the
//! configuration, the request type and the wire layer all name it.

/// Which OpenAI API a chat request is sent to.
///
/// Chosen, from the most to the least specific: per request
/// ([`ChatCompletionRequest::openai_api`](crate::ChatCompletionRequest::openai_api), which
/// [`ChatLimiter::responses`](crate::ChatLimiter::responses) sets), per model
/// ([`Config::responses_models`](crate::Config::responses_models)), then for the whole
/// limiter ([`Config::openai_api`](crate::Config::openai_api), default
/// [`ChatCompletions`](Self::ChatCompletions)). Both wires share one limiter, the same
/// `x-ratelimit-*` headers and the same retries; only the body, the answer and the stream's
/// events differ. Only OpenAI serves the Responses wire here: choosing it for another provider
/// is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OpenAiApi {
    /// `POST /v1/chat/completions`.
    #[default]
    ChatCompletions,
    /// `POST /v1/responses`, OpenAI's newer API (some models are served only there).
    Responses,
}

impl OpenAiApi {
    /// The name used by the builder, the CLI (`--openai-api`) and the docs:
    /// `chat-completions` or `responses`.
    pub fn as_str(self) -> &'static str {
        match self {
            OpenAiApi::ChatCompletions => "chat-completions",
            OpenAiApi::Responses => "responses",
        }
    }
}

impl std::fmt::Display for OpenAiApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for OpenAiApi {
    type Err = String;
    /// Reads `chat-completions` or `responses` (any case, `_` for `-`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "chat-completions" => Ok(OpenAiApi::ChatCompletions),
            "responses" => Ok(OpenAiApi::Responses),
            other => Err(format!("unknown OpenAI API {other:?}: chat-completions or responses")),
        }
    }
}

/// Whether `model` is listed in `rules` (see [`Config::responses_models`](crate::Config::responses_models)):
/// an entry ending in `*` matches every model starting with the rest, any other entry the
/// model of exactly that name (both ignoring ASCII case).
pub(crate) fn listed(rules: &[String], model: &str) -> bool {
    // Compared without case and without copying: this runs for every request.
    let model = model.trim().as_bytes();
    rules.iter().any(|r| {
        let r = r.trim().as_bytes();
        match r.strip_suffix(b"*") {
            Some(prefix) => {
                model.get(..prefix.len()).is_some_and(|h| h.eq_ignore_ascii_case(prefix))
            }
            None => model.eq_ignore_ascii_case(r),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_model_rules_match_prefix_or_exact() {
        for api in [OpenAiApi::ChatCompletions, OpenAiApi::Responses] {
            assert_eq!(api.as_str().parse::<OpenAiApi>(), Ok(api));
        }
        assert_eq!("Chat_Completions".parse::<OpenAiApi>(), Ok(OpenAiApi::ChatCompletions));
        assert!("completions".parse::<OpenAiApi>().is_err());
        let rules = vec!["o3-pro*".to_string(), "gpt-5-codex".to_string()];
        assert!(listed(&rules, "o3-pro-2025-06-10"));
        assert!(listed(&rules, "GPT-5-codex"));
        assert!(!listed(&rules, "gpt-5-codex-mini"));
        assert!(!listed(&rules, "o3"));
        assert!(!listed(&[], "o3-pro"));
        assert!(listed(&[" O3-Pro* ".to_string()], " o3-PRO-1 "), "case and spaces ignored");
        assert!(!listed(&["é*".to_string()], "e"), "a model shorter than the prefix");
    }
}
