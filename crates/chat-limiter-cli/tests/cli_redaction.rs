//! A server that echoes the API key back in altered forms (upper case, base64, URL-encoded, a
//! 12-character piece of it) in its error messages: none of them reaches the output file,
//! the stats file or stderr.

mod cli_common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use cli_common::*;

/// Standard base64 (the forms a proxy might echo), written here so the test owns its check.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = c.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=c.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn forms() -> Vec<String> {
    vec![
        KEY.to_ascii_uppercase(),
        base64(KEY.as_bytes()),
        KEY.replace('-', "%2D"),
        KEY[3..15].to_string(),
    ]
}

/// Answers every request with a 400 whose message carries every form of the key.
fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let message = format!("bad key: {}", forms().join(" / "));
            let json =
                serde_json::json!({"error": {"message": message, "type": "invalid_request_error"}});
            let text = json.to_string();
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}/v1")
}

#[test]
fn no_echoed_form_of_the_key_reaches_output_stats_or_stderr() {
    let base = echo_server();
    let dir = tempfile::tempdir().expect("tmp");
    let input = write_lines(dir.path(), "in.jsonl", &prompts(3));
    let out = dir.path().join("out.jsonl");
    let stats = dir.path().join("stats.json");
    let run = cli()
        .args(["run", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--model", "gpt-4o-mini", "--base-url", &base, "--no-progress", "--stats-json"])
        .arg(&stats)
        .env("OPENAI_API_KEY", KEY)
        .assert()
        .code(1);
    let output = std::fs::read_to_string(&out).expect("output");
    assert!(output.contains("bad key"), "the error was recorded: {output}");
    let stats = std::fs::read_to_string(&stats).expect("stats");
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).to_string();
    for form in forms() {
        for (what, text) in [("output", &output), ("stats", &stats), ("stderr", &stderr)] {
            assert!(!text.contains(&form), "{form:?} leaked into the {what}: {text}");
        }
    }
}
