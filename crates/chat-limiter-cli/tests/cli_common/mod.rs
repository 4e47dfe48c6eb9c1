//! Shared helpers for the `chat-limiter` command-line tests: the binary with a clean
//! environment (no proxies, no keys), input files and output records.
#![allow(dead_code)]

pub mod batch;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The key the tests hand the binary; asserted never to appear in any output.
pub const KEY: &str = "sk-cli-test-DO-NOT-PRINT-4242";

const CLEARED: [&str; 9] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENROUTER_API_KEY",
];

/// The binary under `assert_cmd`, with proxies and keys removed from its environment.
pub fn cli() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_chat-limiter"));
    for v in CLEARED {
        c.env_remove(v);
    }
    c.timeout(Duration::from_secs(60));
    c
}

/// The binary as a plain process (to spawn and kill).
pub fn spawnable() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_chat-limiter"));
    for v in CLEARED {
        c.env_remove(v);
    }
    c
}

/// Writes `lines` to `dir/name`, one per line.
pub fn write_lines(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&path, text).expect("write input");
    path
}

/// `n` prompt lines with distinct ids and bodies.
pub fn prompts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            serde_json::json!({"id": format!("p{i}"), "prompt": format!("question {i}"), "max_tokens": 8})
                .to_string()
        })
        .collect()
}

/// Every record of an output file (panics on a line that is not JSON).
pub fn records(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).expect("output line is JSON")).collect()
}

/// Records by custom_id (the last one wins).
pub fn by_id(records: &[Value]) -> HashMap<String, Value> {
    records
        .iter()
        .map(|r| (r["custom_id"].as_str().expect("custom_id").to_string(), r.clone()))
        .collect()
}

/// Complete lines in a file.
pub fn line_count(path: &Path) -> usize {
    std::fs::read(path).map(|b| b.iter().filter(|c| **c == b'\n').count()).unwrap_or(0)
}

/// Waits until `path` has at least `n` complete lines.
pub fn wait_for_lines(path: &Path, n: usize, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while line_count(path) < n {
        assert!(Instant::now() < deadline, "output never reached {n} lines");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Asserts the key appears nowhere in `text`.
pub fn assert_no_key(text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    assert!(!text.contains(KEY), "the API key leaked: {text}");
}

/// Kills the child when the test ends, whatever happens.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `chat-limiter emulate ARGS` and returns it with the first `n` lines of its stdout
/// (the first is the base URL); the process is killed when the returned guard is dropped.
pub fn start_emulate(args: &[&str], n: usize) -> (Killed, Vec<String>) {
    use std::io::{BufRead, BufReader};
    let child = spawnable()
        .arg("emulate")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut child = Killed(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let lines: Vec<String> =
        BufReader::new(stdout).lines().take(n).map(|l| l.expect("stdout line")).collect();
    assert_eq!(lines.len(), n, "emulate printed {lines:?}");
    (child, lines)
}

/// A proxy-less HTTP agent that returns error statuses as responses.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}
