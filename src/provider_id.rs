//! [`Provider`]: which of the three chat APIs a model belongs to.
//!
//! A leaf module: it depends on nothing else in the crate, so errors, types, the limiter and the
//! wire code can all name a provider without depending on each other.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A chat API provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Provider {
    /// OpenAI Chat Completions.
    OpenAI,
    /// Anthropic Messages.
    Anthropic,
    /// OpenRouter (OpenAI-compatible, many vendors).
    OpenRouter,
}

impl Provider {
    /// All providers.
    pub const ALL: [Provider; 3] = [Provider::OpenAI, Provider::Anthropic, Provider::OpenRouter];

    /// Detects the provider from a model name, or `None` when it cannot be told.
    ///
    /// `vendor/model` ids are OpenRouter's; `claude-*` is Anthropic; `gpt-*`, `o1`/`o3`/`o4*`,
    /// `chatgpt-*` and the other OpenAI families are OpenAI (docs/providers.md §4).
    ///
    /// ```
    /// use chat_limiter::Provider;
    /// assert_eq!(Provider::detect("gpt-4o"), Some(Provider::OpenAI));
    /// assert_eq!(Provider::detect("claude-3-5-sonnet-20241022"), Some(Provider::Anthropic));
    /// assert_eq!(Provider::detect("meta-llama/llama-3.2-3b-instruct:free"), Some(Provider::OpenRouter));
    /// assert_eq!(Provider::detect("my-model"), None);
    /// ```
    pub fn detect(model: &str) -> Option<Provider> {
        let m = model.trim();
        if m.is_empty() || m.chars().any(char::is_whitespace) {
            return None;
        }
        if m.contains('/') {
            let (vendor, rest) = m.split_once('/')?;
            return (!vendor.is_empty() && !rest.is_empty()).then_some(Provider::OpenRouter);
        }
        let lower = m.to_ascii_lowercase();
        if lower.starts_with("claude-") {
            return Some(Provider::Anthropic);
        }
        let openai_prefixes = [
            "gpt-",
            "chatgpt-",
            "codex-",
            "ft:",
            "text-embedding-",
            "omni-moderation",
            "davinci-",
            "babbage-",
            "computer-use-preview",
        ];
        let o_series =
            lower.len() >= 2 && lower.as_bytes()[0] == b'o' && lower.as_bytes()[1].is_ascii_digit();
        if o_series || openai_prefixes.iter().any(|p| lower.starts_with(p)) {
            return Some(Provider::OpenAI);
        }
        None
    }

    /// The environment variable that holds this provider's API key.
    pub fn env_var(self) -> &'static str {
        match self {
            Provider::OpenAI => "OPENAI_API_KEY",
            Provider::Anthropic => "ANTHROPIC_API_KEY",
            Provider::OpenRouter => "OPENROUTER_API_KEY",
        }
    }

    /// The environment variable that may hold this provider's base URL, read when the builder
    /// is given none (`OPENAI_BASE_URL`, `ANTHROPIC_BASE_URL`, `OPENROUTER_BASE_URL`, as the
    /// official SDKs and tools do).
    pub fn base_url_env_var(self) -> &'static str {
        match self {
            Provider::OpenAI => "OPENAI_BASE_URL",
            Provider::Anthropic => "ANTHROPIC_BASE_URL",
            Provider::OpenRouter => "OPENROUTER_BASE_URL",
        }
    }

    /// A base URL as this provider's ecosystem writes it, made into the form requests are
    /// appended to. Anthropic's SDKs take the root (`https://api.anthropic.com`) and add `/v1`
    /// themselves, so an Anthropic URL that does not end in `/v1` gets it; OpenAI's and
    /// OpenRouter's already include their version path and are kept as given. Trailing
    /// slashes and white space are removed.
    ///
    /// ```
    /// use chat_limiter::Provider;
    /// assert_eq!(Provider::Anthropic.normalize_base_url("https://api.anthropic.com/"), "https://api.anthropic.com/v1");
    /// assert_eq!(Provider::Anthropic.normalize_base_url("https://api.anthropic.com/v1"), "https://api.anthropic.com/v1");
    /// assert_eq!(Provider::OpenAI.normalize_base_url("http://127.0.0.1:8080/v1/"), "http://127.0.0.1:8080/v1");
    /// ```
    pub fn normalize_base_url(self, url: &str) -> String {
        let url = url.trim().trim_end_matches('/');
        match self {
            Provider::Anthropic if !url.ends_with("/v1") => format!("{url}/v1"),
            _ => url.to_string(),
        }
    }

    /// The provider's public API base URL (paths such as `/chat/completions` are appended).
    pub fn default_base_url(self) -> &'static str {
        match self {
            Provider::OpenAI => "https://api.openai.com/v1",
            Provider::Anthropic => "https://api.anthropic.com/v1",
            Provider::OpenRouter => "https://openrouter.ai/api/v1",
        }
    }

    /// The lower-case name (`openai`, `anthropic`, `openrouter`).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAI => "openai",
            Provider::Anthropic => "anthropic",
            Provider::OpenRouter => "openrouter",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Provider::OpenAI => "OpenAI",
            Provider::Anthropic => "Anthropic",
            Provider::OpenRouter => "OpenRouter",
        })
    }
}

impl FromStr for Provider {
    type Err = ParseProviderError;
    fn from_str(s: &str) -> Result<Self, ParseProviderError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "openai" => Ok(Provider::OpenAI),
            "anthropic" => Ok(Provider::Anthropic),
            "openrouter" => Ok(Provider::OpenRouter),
            _ => Err(ParseProviderError { given: s.trim().to_string() }),
        }
    }
}

/// The error of parsing a [`Provider`] from a name other than `openai`, `anthropic` or
/// `openrouter` (any case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseProviderError {
    given: String,
}

impl fmt::Display for ParseProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown provider {:?}: expected openai, anthropic or openrouter", self.given)
    }
}

impl std::error::Error for ParseProviderError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_follows_the_documented_order() {
        for m in [
            "gpt-4o",
            "gpt-4.1",
            "o1",
            "o3-mini",
            "o4-mini",
            "chatgpt-4o-latest",
            "ft:gpt-4o-mini:org::x",
        ] {
            assert_eq!(Provider::detect(m), Some(Provider::OpenAI), "{m}");
        }
        for m in ["claude-3-5-sonnet-20241022", "claude-sonnet-4-5", "Claude-opus-4-1"] {
            assert_eq!(Provider::detect(m), Some(Provider::Anthropic), "{m}");
        }
        for m in ["openai/gpt-4o", "anthropic/claude-sonnet-4.5", "openrouter/auto", "x/y:free"] {
            assert_eq!(Provider::detect(m), Some(Provider::OpenRouter), "{m}");
        }
        for m in ["", "llama-3", "omni", "o", "/x", "x/", "gpt 4", "ollama"] {
            assert_eq!(Provider::detect(m), None, "{m}");
        }
    }

    #[test]
    fn provider_parses_case_insensitively_and_names_the_bad_value() {
        assert_eq!("OpenRouter".parse::<Provider>().unwrap(), Provider::OpenRouter);
        let e = "azure".parse::<Provider>().unwrap_err().to_string();
        assert!(e.contains("\"azure\"") && e.contains("openai, anthropic or openrouter"), "{e}");
    }
}
