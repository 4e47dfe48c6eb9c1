//! Helpers of the response cache tests: a scratch folder, deterministic requests, and the
//! emulator's request count.
#![allow(dead_code)]

use std::path::PathBuf;

use chat_limiter::{ChatCompletionRequest, Message};

/// A fresh scratch folder of this test process (removed on drop).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("chat-limiter-cache-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the scratch folder");
        Scratch(dir)
    }
    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A deterministic request (temperature 0): cached by default.
pub fn det(model: &str, prompt: &str) -> ChatCompletionRequest {
    ChatCompletionRequest::new(model, vec![Message::user(prompt)]).max_tokens(16).temperature(0.0)
}
