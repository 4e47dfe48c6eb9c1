//! `chat-limiter demo`: an OpenAI-shaped emulator in this process (600 RPM, 60,000 TPM,
//! 50–200 ms latency) and a few hundred generated prompts sent through `run`'s code path.
//! Needs no key and no network; takes about fifteen seconds, most of it waiting for tokens.
//! Its scratch files live in a temporary folder that is removed at the end.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

use chat_limiter::Provider;
use chat_limiter_emulator::Emulator;
use serde_json::json;

use crate::emulate::start_error;
use crate::{run, DemoArgs, Fatal, RunArgs};

/// The emulator's key, handed to the limiter through its builder (no environment variable).
const DEMO_KEY: &str = "sk-demo-emulator-key";
const MODEL: &str = "gpt-4o-mini";

/// Runs the demo; the exit code is `run`'s.
pub fn demo(args: &DemoArgs) -> Result<u8, Fatal> {
    let emu = Emulator::openai()
        .api_key(DEMO_KEY)
        .rpm(600)
        .tpm(60_000)
        .latency(Duration::from_millis(50), Duration::ZERO)
        .jitter(Duration::from_millis(150))
        .start()
        .map_err(start_error)?;
    let dir = TempDir::create()?;
    let input = dir.0.join("input.jsonl");
    write_prompts(&input, args.requests)
        .map_err(|e| Fatal::failed(format!("cannot write {}: {e}", input.display())))?;
    let output = args.output.clone().unwrap_or_else(|| dir.0.join("output.jsonl"));
    eprintln!(
        "chat-limiter demo: emulator at {} (600 RPM, 60,000 TPM, 50-200 ms latency); \
         {} prompts of up to 220 output tokens; limits are learned from the first answer's headers",
        emu.base_url(),
        args.requests
    );
    let mut run_args = RunArgs::new(input, output.clone());
    run_args.model = Some(MODEL.into());
    run_args.provider = Some(Provider::OpenAI);
    run_args.base_url = Some(emu.base_url());
    run_args.no_progress = args.no_progress;
    run_args.report = args.report.clone();
    let outcome = run::run(&run_args, Some(DEMO_KEY.into()))?;
    // The run is over and the demo is its only user: its lock file need not stay.
    let _ = std::fs::remove_file(crate::lock::lock_path(&output));
    let st = emu.stats();
    eprintln!(
        "  emulator's view: {} requests, {} accepted, {} answered 429, {} duplicate bodies, \
         peak {} in flight",
        st.requests, st.accepted, st.rate_limited, st.duplicate_bodies, st.peak_in_flight
    );
    if args.output.is_some() {
        eprintln!("  results: {}", output.display());
    } else {
        eprintln!("  results: not kept (pass -o FILE to keep them)");
    }
    Ok(outcome.exit_code())
}

/// The demo's scratch folder (its input, and its output when no `-o` is given); removed
/// with everything in it when dropped, whether the demo succeeded or not.
struct TempDir(PathBuf);

impl TempDir {
    fn create() -> Result<Self, Fatal> {
        let dir = std::env::temp_dir().join(format!("chat-limiter-demo-{}", std::process::id()));
        // A leftover of an earlier process with the same id would be resumed from: start clean.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Fatal::failed(format!("cannot create {}: {e}", dir.display())))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("chat-limiter: cannot remove {}: {e}", self.0.display());
        }
    }
}

fn write_prompts(path: &std::path::Path, n: usize) -> std::io::Result<()> {
    let topics = ["token buckets", "Little's law", "HTTP 429", "backoff", "FIFO queues"];
    let mut w = BufWriter::new(std::fs::File::create(path)?);
    for i in 0..n {
        let topic = topics[i % topics.len()];
        let line = json!({
            "custom_id": format!("demo-{i}"),
            "prompt": format!("Question {i}: explain {topic} in one short paragraph."),
            "max_tokens": 220,
        });
        writeln!(w, "{line}")?;
    }
    w.flush()
}
