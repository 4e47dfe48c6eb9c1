//! `run --metrics ADDR` through the binary: the endpoint answers in the Prometheus text format
//! while the run lasts (read by a strict parser), its counters only grow and never pass the
//! summary's final counts (which equal the emulator's), and it is gone when the run ends.

mod cli_common;
#[path = "cli_common/prom.rs"]
mod prom;

use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chat_limiter_emulator::{Emulator, FaultKind};
use cli_common::*;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

const COUNTERS: [(&str, &str); 4] = [
    ("chat_limiter_requests_sent_total", "attempts"),
    ("chat_limiter_requests_succeeded_total", "succeeded"),
    ("chat_limiter_rate_limited_total", "rate_limited"),
    ("chat_limiter_retries_total", "retries"),
];

#[test]
fn the_endpoint_is_scraped_during_a_run_and_agrees_with_the_summary() {
    let emu = Emulator::openai()
        .unlimited()
        .fault(FaultKind::BillingError, 0.15)
        .fault(FaultKind::Status500, 0.2)
        .latency(Duration::from_millis(60), Duration::ZERO)
        .seed(5)
        .start()
        .expect("emulator");
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(60));
    let out = dir.path().join("out.jsonl");
    let stats = dir.path().join("stats.json");
    let addr = format!("127.0.0.1:{}", free_port());
    let url = format!("http://{addr}/metrics");
    let mut child = spawnable()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--model", "gpt-4o-mini", "--base-url", &emu.base_url(), "--no-progress"])
        .args(["--max-retries", "30", "--max-workers", "4", "--metrics", &addr])
        .arg("--stats-json")
        .arg(&stats)
        .env("OPENAI_API_KEY", KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");

    let agent = agent();
    let mut scrapes: Vec<Vec<prom::Sample>> = Vec::new();
    let mut other_path = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "the run did not end");
        if let Ok(mut resp) = agent.get(&url).call() {
            assert_eq!(resp.status(), 200);
            let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
            assert_eq!(ct.as_deref(), Some("text/plain; version=0.0.4; charset=utf-8"));
            let text = resp.body_mut().read_to_string().expect("body");
            scrapes.push(prom::parse(&text));
            if other_path.is_none() {
                let other = agent.get(format!("http://{addr}/other")).call().expect("404");
                other_path = Some(other.status().as_u16());
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let output = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(1), "the quota 429s are failures: {stderr}");
    assert_no_key(&output.stderr);
    assert!(
        stderr.contains(&format!("chat-limiter: metrics at http://{addr}/metrics")),
        "{stderr}"
    );
    assert_eq!(other_path, Some(404));
    assert!(agent.get(&url).call().is_err(), "the endpoint ends with the run");

    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).expect("stats")).expect("json");
    let server = emu.stats();
    assert!(server.rate_limited > 0 && server.requests > 60, "{server:?}");
    assert_eq!(s["attempts"].as_u64(), Some(server.requests), "{s}");
    let live: Vec<_> = scrapes
        .iter()
        .filter(|m| prom::value(m, "chat_limiter_requests_sent_total", &[]).is_some())
        .collect();
    assert!(live.len() >= 3, "scraped during the run: {} scrapes", scrapes.len());
    let labels = [("provider", "openai"), ("model", "gpt-4o-mini")];
    for (name, key) in COUNTERS {
        let values: Vec<f64> =
            live.iter().map(|m| prom::value(m, name, &labels).expect(name)).collect();
        let last = s[key].as_u64().unwrap_or_else(|| panic!("{key} in {s}")) as f64;
        assert!(values.windows(2).all(|w| w[0] <= w[1]), "{name} only grows: {values:?}");
        assert!(values.iter().all(|&v| v <= last), "{name} {values:?} never passes {last}");
    }
    let in_flight = live.iter().map(|m| prom::value(m, "chat_limiter_in_flight_requests", &labels));
    assert!(in_flight.flatten().any(|v| v > 0.0), "a scrape saw requests in flight");
    let latency = live
        .iter()
        .filter_map(|m| prom::value(m, "chat_limiter_request_latency_seconds_count", &labels));
    assert!(latency.into_iter().any(|n| n > 0.0), "latencies are counted");
    let failed = live
        .last()
        .and_then(|m| prom::value(m, "chat_limiter_requests_failed_total", &[("kind", "quota")]));
    assert!(failed.unwrap_or(0.0) <= s["failed"].as_f64().unwrap_or(0.0));
}

#[test]
fn only_loopback_is_served_and_batch_runs_refuse_the_flag() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(1));
    let out = dir.path().join("out.jsonl");
    let base =
        ["run", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--model", "gpt-4o-mini"];
    let a = cli()
        .args(base)
        .args(["--metrics", "0.0.0.0:9464"])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains("only loopback addresses are served"), "{err}");
    let a = cli()
        .args(base)
        .args(["--metrics", "127.0.0.1:9464", "--via", "batch"])
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains("--metrics serves the limiter of a real-time run"), "{err}");
    for (flag, value, why) in [
        ("--metrics", "127.0.0.1:9464", "--metrics serves the limiter"),
        ("--report", "r.html", "--report draws a real-time run's"),
    ] {
        let a = cli()
            .args(base)
            .args([flag, value, "--via", "auto", "--deadline", "2h"])
            .env("OPENAI_API_KEY", KEY)
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
        assert!(err.contains(why), "{flag}: {err}");
    }
    assert!(!out.exists() || std::fs::read_to_string(&out).unwrap_or_default().is_empty());
}
