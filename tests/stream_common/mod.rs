//! Helpers for the streaming tests: hand-written SSE bodies served by httpmock, and a one-shot
//! loopback server for what httpmock cannot do (cut a connection, stall between chunks).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chat_limiter::{ChatLimiter, ChatStream};

/// Joins SSE events (`data:`/`event:` lines) into a body, each event followed by a blank line.
pub fn sse(events: &[&str]) -> String {
    events.iter().map(|e| format!("{e}\n\n")).collect()
}

/// In-flight requests of `model` (0 when the model was never used).
pub fn in_flight(limiter: &ChatLimiter, model: &str) -> u32 {
    limiter.current_limits().model(model).map_or(0, |m| m.in_flight)
}

/// Drains a stream, returning the text and the error that ended it, if any.
pub fn drain(stream: ChatStream) -> (String, Option<chat_limiter::Error>) {
    let mut text = String::new();
    for chunk in stream {
        match chunk {
            Ok(c) => text.push_str(&c.delta),
            Err(e) => return (text, Some(e)),
        }
    }
    (text, None)
}

/// What the one-shot server does after its last write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Send the final empty chunk: a complete HTTP body.
    Finish,
    /// Close the socket in the middle of the chunked body.
    Cut,
    /// Keep the socket open (silent) for this long, then close it.
    Stall(Duration),
}

/// Serves one chunked `text/event-stream` response on 127.0.0.1: each piece is written as
/// its own chunk after its delay. Returns the base URL and the server thread (which stops by
/// itself: it waits at most 10 s for the client).
pub fn one_shot(pieces: Vec<(Duration, String)>, end: End) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    listener.set_nonblocking(true).expect("nonblocking");
    let handle = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        let sock = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => return,
            }
        };
        sock.set_nonblocking(false).expect("blocking");
        sock.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let mut reader = BufReader::new(sock.try_clone().expect("clone"));
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        let _ = reader.read_exact(&mut body);
        let mut w = sock;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                    transfer-encoding: chunked\r\nx-request-id: req_oneshot\r\n\
                    request-id: req_oneshot\r\nconnection: close\r\n\r\n";
        if w.write_all(head.as_bytes()).is_err() {
            return;
        }
        for (delay, piece) in pieces {
            std::thread::sleep(delay);
            let chunk = format!("{:x}\r\n{piece}\r\n", piece.len());
            if w.write_all(chunk.as_bytes()).and_then(|_| w.flush()).is_err() {
                return;
            }
        }
        match end {
            End::Finish => {
                let _ = w.write_all(b"0\r\n\r\n");
            }
            End::Cut => {}
            End::Stall(d) => std::thread::sleep(d),
        }
    });
    (url, handle)
}
