//! A tiny scripted HTTP/1.1 server on loopback: answers each request with the next canned
//! response (the last one repeats) and records every request head it saw. For tests that need
//! exact control of bytes (redirects, hostile headers, bodies echoing the key).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use parking_lot::Mutex;

/// A running server; it lives as long as the test process (threads are detached).
pub struct Loopback {
    pub port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Loopback {
    /// Serves `responses` (raw HTTP, without `content-length`/`connection`, which are added).
    pub fn start(responses: Vec<Canned>) -> Loopback {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let n = log.lock().len();
                let resp = responses[n.min(responses.len() - 1)].clone();
                serve(stream, &resp, &log);
            }
        });
        Loopback { port, seen }
    }

    /// The base URL on 127.0.0.1 with `path` appended.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request head received so far (lower-cased).
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().clone()
    }
}

/// One canned answer.
#[derive(Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Canned {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Canned {
        Canned {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Canned {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Reads one request (head and `content-length` body), logs its head, answers, closes. The
/// head is logged before the answer goes out, so a client that has its answer sees it logged.
fn serve(stream: TcpStream, resp: &Canned, log: &Mutex<Vec<String>>) -> Option<()> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line.to_ascii_lowercase());
    }
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    log.lock().push(head);
    let mut out = format!("HTTP/1.1 {} X\r\n", resp.status).into_bytes();
    for (n, v) in &resp.headers {
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!("content-length: {}\r\nconnection: close\r\n\r\n", resp.body.len()).as_bytes(),
    );
    out.extend_from_slice(&resp.body);
    let mut w = stream;
    let _ = w.write_all(&out);
    let _ = w.flush();
    Some(())
}
