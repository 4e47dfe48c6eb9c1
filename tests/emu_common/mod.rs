//! Shared helpers for the emulator integration tests: a proxy-less ureq agent that returns
//! error statuses as responses, and small request wrappers.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Resp {
    pub fn h(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

fn collect(mut r: ureq::http::Response<ureq::Body>) -> Result<Resp, ureq::Error> {
    let headers = r
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string()?;
    Ok(Resp { status, headers, body })
}

pub fn try_post(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Resp, ureq::Error> {
    let mut req = agent.post(url).header("content-type", "application/json");
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    req.send(body).and_then(collect)
}

pub fn post(agent: &ureq::Agent, url: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    try_post(agent, url, headers, body).expect("request")
}

pub fn get(agent: &ureq::Agent, url: &str, headers: &[(&str, &str)]) -> Resp {
    let mut req = agent.get(url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    req.call().and_then(collect).expect("request")
}

pub const OPENAI_AUTH: [(&str, &str); 1] = [("authorization", "Bearer sk-test")];
pub const ANTHROPIC_AUTH: [(&str, &str); 2] =
    [("x-api-key", "sk-ant-test"), ("anthropic-version", "2023-06-01")];

/// Streams a response and returns each SSE line with the time it arrived.
pub fn stream_lines(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, HashMap<String, String>, Vec<(Instant, String)>) {
    let mut req = agent.post(url).header("content-type", "application/json");
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let resp = req.send(body).expect("request");
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let reader = BufReader::new(resp.into_body().into_reader());
    let lines = reader
        .lines()
        .map_while(Result::ok)
        .filter(|l| !l.is_empty())
        .map(|l| (Instant::now(), l))
        .collect();
    (status, headers, lines)
}

/// The JSON payloads of `data:` lines (excluding `[DONE]`).
pub fn data_json(lines: &[(Instant, String)]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .filter_map(|(_, l)| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("chunk JSON"))
        .collect()
}
