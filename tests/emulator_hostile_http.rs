//! The emulator's HTTP reader under hostile bytes: malformed request lines, headers and
//! framings get the right 4xx/5xx and a closed connection, never a panic; the server keeps
//! answering well-formed requests afterwards.

mod emu_common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use chat_limiter_emulator::Emulator;
use emu_common::*;
use proptest::prelude::*;

/// Sends `bytes`, half-closes, and returns everything the server wrote back.
fn exchange(emu: &Emulator, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(emu.addr()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let _ = s.write_all(bytes);
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(answer: &str) -> Option<u16> {
    answer.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

fn still_serves(emu: &Emulator) {
    let body =
        r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":4}"#;
    let r = post(&agent(), &format!("{}/chat/completions", emu.base_url()), &OPENAI_AUTH, body);
    assert_eq!(r.status, 200);
}

const CHAT: &str =
    "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-x\r\n";

#[test]
fn malformed_requests_get_their_status() {
    let emu = Emulator::openai().start().expect("emulator");
    let huge_header = format!("GET / HTTP/1.1\r\nx: {}\r\n\r\n", "a".repeat(70 * 1024));
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"GARBAGE\r\n\r\n".to_vec(), 400),
        (b"GET / HTTP/1.1 extra\r\n\r\n".to_vec(), 400),
        (b"GET / HTTP/2.0\r\n\r\n".to_vec(), 505),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n".to_vec(), 400),
        (b"GET / HTTP/1.1\r\nx: \xff\xfe\r\n\r\n".to_vec(), 400),
        (huge_header.into_bytes(), 431),
        (format!("{CHAT}content-length: abc\r\n\r\n").into_bytes(), 400),
        (format!("{CHAT}content-length: 99999999999\r\n\r\n").into_bytes(), 413),
        (format!("{CHAT}transfer-encoding: chunked\r\n\r\nzz\r\n").into_bytes(), 400),
        (format!("{CHAT}transfer-encoding: chunked\r\n\r\nfffffffffffffff\r\n").into_bytes(), 413),
        // A small chunk, then one so large that adding the sizes would overflow.
        (
            format!("{CHAT}transfer-encoding: chunked\r\n\r\n2\r\n{{}}\r\nfffffffffffffffe\r\n")
                .into_bytes(),
            413,
        ),
    ];
    for (bytes, want) in cases {
        let answer = exchange(&emu, &bytes);
        assert_eq!(
            status_of(&answer),
            Some(want),
            "{:?} -> {answer}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
        );
    }
    still_serves(&emu);
}

#[test]
fn chunked_bodies_continue_and_stray_crlfs_are_accepted() {
    let emu = Emulator::openai().start().expect("emulator");
    let body =
        r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":4}"#;
    let (a, b) = body.split_at(20);
    let req = format!(
        "\r\n\r\n{CHAT}expect: 100-continue\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n\
         {:x};ext=1\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\ntrailer: t\r\n\r\n",
        a.len(),
        b.len()
    );
    let answer = exchange(&emu, req.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200"), "{answer}");
    assert!(answer.contains("chat.completion"), "{answer}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_bytes_never_stop_the_server(
        prefix in prop_oneof![Just(String::new()), Just(CHAT.to_string()), Just("GET /v1/models HTTP/1.1\r\n".to_string())],
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let emu = shared_emulator();
        let mut all = prefix.into_bytes();
        all.extend_from_slice(&bytes);
        let answer = exchange(emu, &all);
        // Either nothing (the bytes never made a whole request) or an HTTP answer.
        prop_assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 "), "{}", answer);
        still_serves(emu);
    }
}

fn shared_emulator() -> &'static Emulator {
    static EMU: std::sync::OnceLock<Emulator> = std::sync::OnceLock::new();
    EMU.get_or_init(|| Emulator::openai().unlimited().start().expect("emulator"))
}
