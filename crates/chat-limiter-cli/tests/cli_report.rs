//! The timeline and the HTML report, through the binary against the emulator: the timeline's
//! counts are the server's, a resumed run continues the same timeline, and the report drawn
//! from a real run renders in a real headless Chromium (its charts laid out with their
//! points, no script error), which also takes the screenshot shown in the README.

mod cli_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chat_limiter_emulator::{Emulator, FaultKind};
use cli_common::*;
use serde_json::Value;

const MODEL: &str = "gpt-4o-mini";

/// A run that meets the request limit after its first burst, with retried 5xx and 429s (the
/// emulator's seeded quota 429s, which fail their lines): 700 lines against 600 RPM (the
/// token limit, 12,000 TPM, holds them all: it shows a limit that does not bind).
fn busy_run(dir: &Path) -> (Emulator, PathBuf, PathBuf) {
    let emu = Emulator::openai()
        .rpm(600)
        .tpm(12_000)
        .latency(Duration::from_millis(20), Duration::ZERO)
        .fault(FaultKind::Status500, 0.05)
        .fault(FaultKind::BillingError, 0.02)
        .seed(11)
        .start()
        .expect("emulator");
    let input = write_lines(dir, "in.jsonl", &prompts(700));
    let out = dir.join("out.jsonl");
    let html = dir.join("report.html");
    let run = cli()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--model", MODEL, "--base-url", &emu.base_url(), "--no-progress"])
        .args(["--max-retries", "20", "--report", html.to_str().unwrap()])
        .env("OPENAI_API_KEY", KEY)
        .timeout(Duration::from_secs(180))
        .assert()
        .code(1); // the quota 429s are failures
    assert_no_key(&run.get_output().stderr);
    (emu, out, html)
}

/// Every second of a timeline.
fn timeline(out: &Path) -> Vec<Value> {
    let mut name = out.file_name().expect("name").to_os_string();
    name.push(".timeline.jsonl");
    records(&out.with_file_name(name))
}

fn sum(secs: &[Value], key: &str) -> u64 {
    secs.iter().map(|s| s[key].as_u64().expect(key)).sum()
}

#[test]
fn the_timeline_and_report_of_a_real_run_hold_the_servers_counts() {
    let dir = tempfile::tempdir().expect("tmp");
    let (emu, out, html) = busy_run(dir.path());
    let server = emu.stats();
    let secs = timeline(&out);
    assert!(secs.len() >= 2, "one line per second: {}", secs.len());
    assert!(server.rate_limited > 0 && server.requests > 700, "faults met: {server:?}");
    assert_eq!(sum(&secs, "done"), 700, "every line finished in some second");
    assert_eq!(sum(&secs, "started"), server.requests, "admissions are the server's requests");
    assert_eq!(sum(&secs, "r429"), server.rate_limited, "429s are the server's");
    assert_eq!(sum(&secs, "retries"), server.requests - 700);
    let last = secs.last().expect("a second");
    let lim = &last["models"][MODEL]["limits"]["requests"];
    assert_eq!((lim["limit"].as_u64(), lim["window_s"].as_f64()), (Some(600), Some(60.0)));
    let charged: i64 =
        secs.iter().map(|s| s["models"][MODEL]["charged"]["requests"].as_i64().unwrap_or(0)).sum();
    assert!(charged > 600, "the limit was used past its burst: {charged}");
    assert!(
        secs.iter().any(|s| s["models"][MODEL]["binds"] == "requests"),
        "the request limit bound after the burst"
    );
    for s in &secs {
        if let Some(p) = s.get("lat_ms") {
            assert!(
                p["p50"].as_u64() <= p["p90"].as_u64() && p["p90"].as_u64() <= p["p99"].as_u64()
            );
        }
    }
    let errors: u64 = secs
        .iter()
        .filter_map(|s| s.get("errors"))
        .flat_map(|e| e.as_object().expect("map").values().map(|v| v.as_u64().unwrap_or(0)))
        .sum();
    let failed = records(&out).iter().filter(|r| !r["error"].is_null()).count() as u64;
    assert_eq!(errors, failed, "every failure is counted by its kind");

    let page = std::fs::read_to_string(&html).expect("report");
    assert!(page.starts_with("<!DOCTYPE html>"));
    // Self-contained: nothing to fetch (the SVG namespace is a name, not a fetch).
    assert!(!page.contains(" src=") && !page.contains(" href=") && !page.contains("url("));
    assert_eq!(page.matches("http").count(), page.matches("http://www.w3.org/2000/svg").count());
    let charts = page.matches("<svg class=\"chart\"").count();
    assert_eq!(charts, 4, "requests, tokens, in flight, time to result");
    assert!(page.contains("Requests per minute: gpt-4o-mini"));
    assert!(page.contains("<td>quota</td><td>credit_balance_exhausted</td>"), "errors by kind");
    let row = format!("<tr><td>{MODEL}</td><td>{}</td><td>700</td>", server.requests);
    assert!(page.contains(&row), "the model's row holds the server's requests");
    assert!(page.contains("<td>gpt-4o-mini: requests</td>"), "what held the run back");

    // The subcommand draws the same report from the finished output.
    let again = dir.path().join("again.html");
    cli().args(["report", out.to_str().unwrap(), "-o", again.to_str().unwrap()]).assert().code(0);
    assert_eq!(std::fs::read_to_string(&again).expect("again"), page);
    // Without a timeline there is nothing to draw: a usage error, not an empty report.
    let none = dir.path().join("none.jsonl");
    std::fs::write(&none, "").expect("empty output");
    let a = cli().args(["report", none.to_str().unwrap(), "-o", "x.html"]).assert().code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("no timeline at"));
}

#[test]
fn a_resumed_run_continues_the_same_timeline_and_the_report_shows_both_runs() {
    let emu = Emulator::openai().start().expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out.jsonl");
    let html = dir.path().join("report.html");
    for n in [10, 25] {
        let input = write_lines(dir.path(), "in.jsonl", &prompts(n));
        cli()
            .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .args(["--model", MODEL, "--base-url", &emu.base_url(), "--no-progress"])
            .args(["--report", html.to_str().unwrap()])
            .env("OPENAI_API_KEY", KEY)
            .assert()
            .code(0);
    }
    let secs = timeline(&out);
    let runs: Vec<u64> = secs.iter().map(|s| s["run"].as_u64().expect("run")).collect();
    assert!(runs.windows(2).all(|w| w[0] <= w[1]), "appended in order: {runs:?}");
    assert_eq!((runs.first(), runs.last()), (Some(&1), Some(&2)), "{runs:?}");
    let done = |run| {
        secs.iter().filter(|s| s["run"] == run).map(|s| s["done"].as_u64().unwrap()).sum::<u64>()
    };
    assert_eq!((done(1), done(2)), (10, 15), "the second run sent only the new lines");
    assert_eq!(emu.stats().requests, 25);
    let page = std::fs::read_to_string(&html).expect("report");
    assert!(page.contains("<p>2 run(s)"), "the report covers both runs");
    assert!(page.contains(">run 2</text>"), "and marks where the second began");
    let row = format!("<tr><td>{MODEL}</td><td>25</td><td>25</td><td>25</td>");
    assert!(page.contains(&row), "both runs' lines in the model's row");
}

/// Headless Chromium, as the Debian package installs it.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    path.exists().then_some(path)
}

/// Runs Chromium headless on `page` with `extra` flags; returns its stdout.
fn headless(browser: &Path, page: &Path, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().expect("profile");
    let mut child = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).map(|_| s)
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().expect("reader").expect("chromium's output")
}

fn body_attr(dom: &str, name: &str) -> Option<u64> {
    let at = dom.find(&format!("{name}=\""))? + name.len() + 2;
    dom[at..].split('"').next()?.parse().ok()
}

#[test]
fn the_report_of_a_real_run_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var("CHAT_LIMITER_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!("SKIPPED: no Chromium at /usr/bin/chromium (CHAT_LIMITER_SKIP_BROWSER=1)");
            return;
        }
        panic!("no Chromium: `apt-get install -y chromium`, or set CHAT_LIMITER_SKIP_BROWSER=1");
    };
    let dir = tempfile::tempdir().expect("tmp");
    let (_emu, _out, html) = busy_run(dir.path());
    let page = std::fs::read_to_string(&html).expect("report");
    let charts = page.matches("<svg class=\"chart\"").count() as u64;
    let points: u64 = page
        .split("data-points=\"")
        .skip(1)
        .map(|s| s.split('"').next().and_then(|n| n.parse::<u64>().ok()).expect("count"))
        .sum();
    assert!(charts > 0 && points > 0);

    let dom = headless(&browser, &html, &["--dump-dom"]);
    assert!(!dom.contains("data-script-error=\""), "a script error: {dom}");
    assert_eq!(body_attr(&dom, "data-charts"), Some(charts), "the script ran after load");
    assert_eq!(body_attr(&dom, "data-charts-rendered"), Some(charts), "every chart laid out");
    assert_eq!(body_attr(&dom, "data-points-rendered"), Some(points), "every point drawn");

    let shot = dir.path().join("report.png");
    headless(
        &browser,
        &html,
        &[&format!("--screenshot={}", shot.display()), "--window-size=1280,1600"],
    );
    let png = std::fs::read(&shot).expect("screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000, "{} bytes", png.len());
    // `CHAT_LIMITER_UPDATE_SCREENSHOT=1` refreshes the README's screenshot.
    if std::env::var("CHAT_LIMITER_UPDATE_SCREENSHOT").as_deref() == Ok("1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/report.png");
        std::fs::copy(&shot, docs).expect("update docs/report.png");
    }
}
