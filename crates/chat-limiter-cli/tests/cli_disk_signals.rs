//! `chat-limiter run` on a full disk (a small tmpfs: the tests run as root, here and in CI)
//! and under SIGINT/SIGTERM, through the binary.

mod cli_common;

use std::process::{Command, Stdio};
use std::time::Duration;

use chat_limiter_emulator::Emulator;
use cli_common::*;

/// A tmpfs of `kib` KiB, unmounted when dropped.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(kib: u64) -> Tmpfs {
        let dir = tempfile::tempdir().expect("tmp");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount");
        assert!(status.success(), "mounting a tmpfs needs root");
        Tmpfs(dir)
    }
    /// Fills the file system up, leaving about `leave` bytes.
    fn fill(&self, leave: u64) {
        let free = |p: &std::path::Path| {
            let out =
                Command::new("df").args(["-B1", "--output=avail"]).arg(p).output().expect("df");
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .nth(1)
                .expect("df line")
                .trim()
                .parse::<u64>()
                .expect("n")
        };
        let avail = free(self.0.path());
        let size = avail.saturating_sub(leave);
        let _ = std::fs::write(self.0.path().join("filler"), vec![0u8; size as usize]);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

fn args<'a>(input: &'a str, out: &'a str, base: &'a str) -> Vec<&'a str> {
    vec!["run", input, "-o", out, "--model", "gpt-4o-mini", "--base-url", base, "--no-progress"]
}

#[test]
fn a_full_disk_sends_nothing_and_names_the_file() {
    let emu = Emulator::openai().unlimited().start().expect("emu");
    let fs = Tmpfs::mount(256);
    fs.fill(0);
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(20));
    let out = fs.0.path().join("out.jsonl");
    let (i, o, base) = (input.to_str().unwrap(), out.to_str().unwrap(), emu.base_url());
    for _ in 0..2 {
        // The lock file (OUTPUT.lock) or the probe write fails first: either names the file.
        let a = cli().args(args(i, o, &base)).env("OPENAI_API_KEY", KEY).assert().failure();
        let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
        assert!(err.contains(o) && err.contains("No space left"), "{err}");
    }
    assert_eq!(emu.stats().requests, 0);
}

#[test]
fn a_disk_that_fills_up_mid_run_stops_sending_and_the_rerun_completes() {
    let emu = Emulator::openai().unlimited().start().expect("emu");
    let fs = Tmpfs::mount(512);
    fs.fill(100 * 1024);
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(600));
    let out = fs.0.path().join("out.jsonl");
    let (i, o, base) = (input.to_str().unwrap(), out.to_str().unwrap(), emu.base_url());
    let a = cli()
        .args(args(i, o, &base))
        .args(["--max-concurrent-requests", "4", "--max-workers", "4"])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains(&format!("cannot write to {o}")), "{err}");
    let sent = emu.stats().accepted;
    assert!(sent < 600, "sending stopped at once: {sent}; {err}");
    let written = records(&out).len() as u64;
    // Nothing is sent after the failure: the batch engine's read-ahead comes back unsent, so
    // only the requests in flight at that moment (4) and the answer whose write failed are
    // answered but not written.
    assert!(sent - written <= 5, "at most what was in flight is unwritten: {sent} vs {written}");
    std::fs::remove_file(fs.0.path().join("filler")).expect("free space");
    cli().args(args(i, o, &base)).env("OPENAI_API_KEY", KEY).assert().code(0);
    let recs = records(&out);
    assert_eq!(recs.len(), 600);
    assert_eq!(by_id(&recs).len(), 600);
    assert!(emu.stats().duplicate_bodies <= sent - written);
}

#[test]
fn sigint_and_sigterm_finish_in_flight_requests_print_the_summary_and_resume_completes() {
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let emu = Emulator::openai()
            .unlimited()
            .latency(Duration::from_millis(100), Duration::ZERO)
            .start()
            .expect("emu");
        let dir = tempfile::tempdir().expect("tmp");
        let input = write_lines(dir.path(), "in.jsonl", &prompts(200));
        let out = dir.path().join("out.jsonl");
        let stats = dir.path().join("stats.json");
        let (i, o, base) = (input.to_str().unwrap(), out.to_str().unwrap(), emu.base_url());
        let child = spawnable()
            .args(args(i, o, &base))
            .args(["--max-concurrent-requests", "4", "--stats-json"])
            .arg(&stats)
            .env("OPENAI_API_KEY", KEY)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut child = Killed(child);
        wait_for_lines(&out, 10, Duration::from_secs(20));
        let pid = child.0.id().to_string();
        assert!(Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status()
            .expect("kill")
            .success());
        let status = child.0.wait().expect("wait");
        assert_eq!(status.code(), Some(code), "SIG{sig}");
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.0.stderr.take().expect("stderr"), &mut err)
            .expect("read");
        assert!(err.contains("succeeded") && err.contains(&format!("SIG{sig}")), "{err}");
        assert!(stats.exists(), "the stats file is written");
        // Every answer received was written: the server saw as many as the output holds.
        assert_eq!(emu.stats().accepted as usize, records(&out).len(), "SIG{sig}");
        cli().args(args(i, o, &base)).env("OPENAI_API_KEY", KEY).assert().code(0);
        assert_eq!(by_id(&records(&out)).len(), 200);
        assert_eq!(records(&out).len(), 200);
        assert_eq!(emu.stats().duplicate_bodies, 0, "no answered request sent twice");
    }
}

#[test]
fn a_closed_stderr_never_panics() {
    let emu = Emulator::openai().unlimited().start().expect("emu");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(5));
    let out = dir.path().join("out.jsonl");
    let stats = dir.path().join("stats.json");
    let (i, o, base) = (input.to_str().unwrap(), out.to_str().unwrap(), emu.base_url());
    let mut child = spawnable()
        .args(args(i, o, &base))
        .arg("--stats-json")
        .arg(&stats)
        .env("OPENAI_API_KEY", KEY)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stderr.take()); // the reading end is closed: every write to stderr fails
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
    assert!(stats.exists());
    assert_eq!(records(&out).len(), 5);
}
