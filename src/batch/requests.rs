//! Building batch requests from plain prompts.

use crate::types::{ChatCompletionRequest, Message};

/// One user-message request per prompt, all for `model`, with optional `max_tokens` and
/// `temperature`. For more options, map over the result and use the request's setters.
///
/// ```
/// use chat_limiter::create_chat_completion_requests;
/// let reqs = create_chat_completion_requests("gpt-4o", ["Hello!", "How are you?"], Some(50), Some(0.7));
/// assert_eq!(reqs.len(), 2);
/// assert_eq!(reqs[1].messages[0].content, "How are you?");
/// assert_eq!(reqs[0].max_tokens, Some(50));
/// ```
pub fn create_chat_completion_requests<S: Into<String>>(
    model: &str,
    prompts: impl IntoIterator<Item = S>,
    max_tokens: Option<u32>,
    temperature: Option<f64>,
) -> Vec<ChatCompletionRequest> {
    prompts
        .into_iter()
        .map(|p| {
            let mut r = ChatCompletionRequest::new(model, vec![Message::user(p.into())]);
            r.max_tokens = max_tokens;
            r.temperature = temperature;
            r
        })
        .collect()
}
