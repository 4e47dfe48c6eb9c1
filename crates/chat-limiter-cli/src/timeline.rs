//! The run's timeline: one JSON line per second beside the output (`OUTPUT.timeline.jsonl`),
//! what the report ([`crate::report`]) is drawn from.
//!
//! Each line ([`Second`]) holds what happened in that second: requests admitted and finished,
//! the units charged to each limit in the provider's own accounting (the limiter's buckets:
//! prompt estimate + `max_tokens` at admission for OpenAI and OpenRouter, the settled input
//! and output for Anthropic), the tokens the answers reported, 429s, retries, in flight,
//! latency percentiles, the limits in force and which one binds, and a long wait's end.
//!
//! A resumed run appends to the same file with the next `run` number, after cutting a torn
//! last line (a kill mid-write). The file is only ever appended to, and the run keeps only
//! the current second in memory, so memory stays flat however long the run.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chat_limiter::BatchResult;
use serde::{Deserialize, Serialize};

use crate::latency::{percentiles, Hist, Percentiles};
use crate::record::Failure;

/// One limit as it stood at the end of a second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limit {
    /// The provider's limit per window.
    pub limit: u64,
    /// The window, in seconds.
    pub window_s: f64,
    /// What could be used at that moment.
    pub remaining: u64,
}

impl Limit {
    /// The limit as a per-minute rate.
    pub fn per_min(&self) -> f64 {
        self.limit as f64 * 60.0 / self.window_s.max(1e-9)
    }
}

/// One model's second.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelSecond {
    /// Requests admitted (HTTP attempts, retries included: what the provider counts).
    pub started: u64,
    /// Lines finished (any outcome).
    pub done: u64,
    /// Of them, successes.
    pub ok: u64,
    /// Of them, failures.
    pub failed: u64,
    /// Retries made by the lines that finished in this second.
    pub retries: u64,
    /// 429 answers.
    pub r429: u64,
    /// Requests being sent or awaiting an answer at the end of the second.
    pub in_flight: u64,
    /// Requests waiting to be admitted.
    pub queued: u64,
    /// Prompt tokens reported by the answers.
    pub prompt: u64,
    /// Completion tokens reported by the answers.
    pub completion: u64,
    /// Units charged to each limit (`requests`, `tokens`, `input_tokens`, `output_tokens`);
    /// negative when settlements gave back more than was charged.
    pub charged: BTreeMap<String, i64>,
    /// The limits in force, by dimension.
    pub limits: BTreeMap<String, Limit>,
    /// The limit that holds admission back, if any (a dimension, or `429 pause`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binds: Option<String>,
    /// Latencies of the lines that finished (first attempt to result), bucketed.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub lat: Hist,
}

fn is_empty(h: &Hist) -> bool {
    h.0.is_empty()
}

/// One line of the timeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Second {
    /// Unix time (seconds) at the end of this second.
    pub t: u64,
    /// Which run of the job (1, then 2 for the first resume, ...).
    pub run: u32,
    /// Seconds since this run started, at the end of this second.
    pub s: u64,
    /// Requests admitted, all models.
    pub started: u64,
    /// Lines finished, all models.
    pub done: u64,
    /// Retries of the lines finished.
    pub retries: u64,
    /// 429 answers.
    pub r429: u64,
    /// Requests in flight at the end of the second.
    pub in_flight: u64,
    /// Latency percentiles of the lines finished in this second (first attempt to result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat_ms: Option<Percentiles>,
    /// The limit holding the run back, as `model: dimension`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binds: Option<String>,
    /// During a long wait (a 429 pause or a long window): when it ends (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_until: Option<u64>,
    /// What the long wait waits on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_on: Option<String>,
    /// Failures by kind (`class:code`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, u64>,
    /// By model.
    pub models: BTreeMap<String, ModelSecond>,
}

/// The timeline file of `output`.
pub fn path_for(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".timeline.jsonl");
    output.with_file_name(name)
}

/// An open timeline, appended to one line at a time.
#[derive(Debug)]
pub struct Timeline {
    file: File,
    /// This run's number.
    pub run: u32,
}

impl Timeline {
    /// Opens (or creates) the timeline, cuts a torn last line, and numbers this run after
    /// the last one recorded. Reads only the file's tail.
    pub fn open(path: &Path) -> io::Result<Timeline> {
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(path)?;
        let len = file.metadata()?.len();
        let from = len.saturating_sub(256 * 1024);
        file.seek(SeekFrom::Start(from))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        let whole = tail.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if whole < tail.len() {
            file.set_len(from + whole as u64)?; // a torn last line
        }
        let last_run = tail[..whole]
            .split(|&b| b == b'\n')
            .rev()
            .filter_map(|l| serde_json::from_slice::<Second>(l).ok())
            .map(|s| s.run)
            .next()
            .unwrap_or(0);
        Ok(Timeline { file, run: last_run + 1 })
    }

    /// Appends one second as one whole line.
    pub fn append(&mut self, second: &Second) -> io::Result<()> {
        let mut line = serde_json::to_vec(second).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)
    }
}

/// What finished since the last second, per model (filled by the result sink, taken by the
/// sampler once a second).
#[derive(Debug, Default)]
pub struct Finished {
    /// By model.
    pub models: BTreeMap<String, FinishedModel>,
    /// Failures by kind (`class:code`).
    pub errors: BTreeMap<String, u64>,
}

/// One model's finished lines.
#[derive(Debug, Default)]
pub struct FinishedModel {
    /// Successes.
    pub ok: u64,
    /// Failures.
    pub failed: u64,
    /// Retries beyond each line's first attempt.
    pub retries: u64,
    /// Prompt tokens reported.
    pub prompt: u64,
    /// Completion tokens reported.
    pub completion: u64,
    /// Latencies in milliseconds.
    pub lat_ms: Vec<u64>,
}

/// The shared tally of finished lines.
#[derive(Debug, Default)]
pub struct Tally(Mutex<Finished>);

impl Tally {
    /// Counts one finished line (a line read ahead but never sent is not counted).
    pub fn finished(&self, r: &BatchResult) {
        if r.attempts == 0 {
            return;
        }
        let mut f = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let m = f.models.entry(r.request.model.clone()).or_default();
        m.retries += u64::from(r.attempts - 1);
        m.lat_ms.push(r.duration.as_millis().min(u128::from(u64::MAX)) as u64);
        match &r.result {
            Ok(resp) => {
                m.ok += 1;
                if let Some(u) = &resp.usage {
                    m.prompt += u.prompt_tokens;
                    m.completion += u.completion_tokens;
                }
            }
            Err(e) => {
                m.failed += 1;
                let fail = Failure::from_error(e);
                *f.errors.entry(format!("{}:{}", fail.class, fail.code)).or_default() += 1;
            }
        }
    }

    /// Takes what finished since the last call.
    pub fn take(&self) -> Finished {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Fills a second's finished-line fields from `f` (the limiter's fields are the sampler's).
pub fn add_finished(second: &mut Second, f: Finished) {
    let mut all = Vec::new();
    for (model, fm) in f.models {
        let m = second.models.entry(model).or_default();
        m.ok = fm.ok;
        m.failed = fm.failed;
        m.done = fm.ok + fm.failed;
        m.retries = fm.retries;
        m.prompt = fm.prompt;
        m.completion = fm.completion;
        m.lat = Hist::of(&fm.lat_ms);
        second.done += m.done;
        second.retries += m.retries;
        all.extend(fm.lat_ms);
    }
    second.lat_ms = percentiles(&mut all);
    second.errors = f.errors;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_timeline_cuts_its_torn_line_and_numbers_the_next_run() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = path_for(&dir.path().join("out.jsonl"));
        assert!(path.ends_with("out.jsonl.timeline.jsonl"));
        let mut t = Timeline::open(&path).expect("open");
        assert_eq!(t.run, 1);
        for s in 1..=3 {
            t.append(&Second { run: t.run, s, done: s, ..Default::default() }).expect("append");
        }
        drop(t);
        let mut f = OpenOptions::new().append(true).open(&path).expect("reopen");
        f.write_all(b"{\"t\":17,\"run\":1,\"s\":4,\"sta").expect("torn");
        let mut t = Timeline::open(&path).expect("resume");
        assert_eq!(t.run, 2, "a resumed run continues the same timeline");
        t.append(&Second { run: t.run, s: 1, ..Default::default() }).expect("append");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<Second> =
            text.lines().map(|l| serde_json::from_str(l).expect("whole line")).collect();
        assert_eq!(lines.len(), 4, "three of run 1, the torn line cut, one of run 2");
        assert_eq!(lines.iter().map(|s| s.run).collect::<Vec<_>>(), [1, 1, 1, 2]);
    }
}
