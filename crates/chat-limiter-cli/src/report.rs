//! The run report's data: the timeline beside an output ([`crate::timeline`]) read back for
//! the page ([`crate::report_html`]; the command is [`crate::report_cmd`]).
//!
//! The timeline is read twice, streaming: once for the totals and the length of the job,
//! once to fold its seconds into at most [`MAX_BINS`] points per chart, so a report of a
//! week-long job takes the same memory as one of a minute. Resumed runs are drawn one after
//! the other on one time axis (run time; the pauses between runs are left out) with a line
//! where each began.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

/// Why `run --report` is refused with `--via batch` or `--via auto`: the report is drawn from
/// the per-second timeline of a real-time run, which a batch job does not have.
pub const NOT_WITH_BATCH: &str = "--report draws a real-time run's per-second timeline; --via \
     batch (or auto, which may choose it) has none: drop one of the two (`chat-limiter batches \
     status` shows a batch job's progress)";

use crate::latency::Hist;
use crate::timeline::{self, Second};

/// Most points on a chart's line.
pub const MAX_BINS: u64 = 600;

/// One model over the whole job.
#[derive(Debug, Default, Clone)]
pub struct ModelTotals {
    /// Requests admitted (attempts).
    pub started: u64,
    /// Lines finished.
    pub done: u64,
    /// Successes.
    pub ok: u64,
    /// Failures.
    pub failed: u64,
    /// Retries.
    pub retries: u64,
    /// 429s.
    pub r429: u64,
    /// Prompt tokens reported.
    pub prompt: u64,
    /// Completion tokens reported.
    pub completion: u64,
    /// Units charged per dimension.
    pub charged: BTreeMap<String, i64>,
    /// Time to result.
    pub lat: Hist,
}

/// One point of a model's charts: means over the seconds of a bin.
#[derive(Debug, Default, Clone)]
pub struct ModelBin {
    /// Requests admitted in the trailing minute.
    pub started_per_min: f64,
    /// Units charged in the trailing minute, per dimension.
    pub charged_per_min: BTreeMap<String, f64>,
    /// Tokens reported in the trailing minute, per token dimension.
    pub reported_per_min: BTreeMap<String, f64>,
    /// The limits per minute in force at the bin's end.
    pub limit_per_min: BTreeMap<String, f64>,
}

/// One point of the charts.
#[derive(Debug, Default, Clone)]
pub struct Bin {
    /// Run seconds at the bin's middle.
    pub x: f64,
    /// Mean requests in flight.
    pub in_flight: f64,
    /// Mean requests waiting to be admitted.
    pub queued: f64,
    /// 429s in the bin.
    pub r429: u64,
    /// Retries in the bin.
    pub retries: u64,
    /// Time to result of the lines finished in the bin.
    pub lat: Hist,
    /// By model.
    pub models: BTreeMap<String, ModelBin>,
}

/// Everything the report shows.
#[derive(Debug, Default)]
pub struct Job {
    /// Runs (1 plus the resumes).
    pub runs: u32,
    /// Seconds recorded.
    pub seconds: u64,
    /// Run seconds of the whole job.
    pub x_max: f64,
    /// Run seconds where run 2, 3, ... began.
    pub run_starts: Vec<f64>,
    /// Unix time of the first and last second.
    pub first_t: u64,
    /// See `first_t`.
    pub last_t: u64,
    /// By model.
    pub models: BTreeMap<String, ModelTotals>,
    /// Failures by `class:code`.
    pub errors: BTreeMap<String, u64>,
    /// Seconds each limit was binding, by `model: dimension`.
    pub binds: BTreeMap<String, u64>,
    /// Long waits: (Unix time seen, until, on what), the first second of each.
    pub waits: Vec<(u64, u64, String)>,
    /// The charts' points.
    pub bins: Vec<Bin>,
}

/// Calls `f(x, second)` for every line in order, where `x` is the job's run seconds at the
/// end of that second (runs placed one after the other). Lines that do not parse are skipped.
fn each(path: &Path, mut f: impl FnMut(f64, bool, &Second)) -> io::Result<()> {
    let mut reader = BufReader::new(File::open(path)?);
    let (mut offset, mut run, mut last_s) = (0.0, 0u32, 0u64);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        let Ok(sec) = serde_json::from_slice::<Second>(&buf) else { continue };
        let new_run = sec.run != run;
        if new_run {
            offset += last_s as f64;
            run = sec.run;
        }
        last_s = sec.s;
        f(offset + sec.s as f64, new_run, &sec);
    }
}

/// Reads a timeline into what the report draws.
pub fn read(path: &Path) -> io::Result<Job> {
    let mut job = Job::default();
    each(path, |x, new_run, sec| {
        if new_run {
            job.runs += 1;
            if job.runs > 1 {
                job.run_starts.push(x - sec.s as f64);
            }
        }
        job.seconds += 1;
        job.x_max = x;
        if job.first_t == 0 {
            job.first_t = sec.t;
        }
        job.last_t = sec.t;
        for (k, v) in &sec.errors {
            *job.errors.entry(k.clone()).or_default() += v;
        }
        for (name, m) in &sec.models {
            let t = job.models.entry(name.clone()).or_default();
            t.started += m.started;
            t.done += m.done;
            t.ok += m.ok;
            t.failed += m.failed;
            t.retries += m.retries;
            t.r429 += m.r429;
            t.prompt += m.prompt;
            t.completion += m.completion;
            for (d, c) in &m.charged {
                *t.charged.entry(d.clone()).or_default() += c;
            }
            t.lat.merge(&m.lat);
            if let Some(b) = &m.binds {
                *job.binds.entry(format!("{name}: {b}")).or_default() += 1;
            }
        }
        if let (Some(until), Some(on)) = (sec.wait_until, &sec.wait_on) {
            let same = job.waits.last().is_some_and(|w| w.2 == *on && w.1.abs_diff(until) < 5);
            if !same && job.waits.len() < 50 {
                job.waits.push((sec.t, until, on.clone()));
            }
        }
    })?;
    job.bins = bins(path, job.x_max)?;
    Ok(job)
}

/// One second of a model in its trailing minute: run seconds, admitted, charged, prompt and
/// completion tokens reported.
type TrailSecond = (f64, u64, BTreeMap<String, i64>, u64, u64);

/// A model's last minute, for the trailing rates.
#[derive(Default)]
struct Trail(VecDeque<TrailSecond>);

impl Trail {
    fn push(&mut self, x: f64, m: &timeline::ModelSecond) {
        self.0.push_back((x, m.started, m.charged.clone(), m.prompt, m.completion));
        while self.0.front().is_some_and(|f| f.0 <= x - 60.0) {
            self.0.pop_front();
        }
    }

    fn add_to(&self, b: &mut ModelBin, limits: &BTreeMap<String, timeline::Limit>) {
        b.started_per_min += self.0.iter().map(|e| e.1 as f64).sum::<f64>();
        for (d, lim) in limits {
            let charged: i64 = self.0.iter().map(|e| e.2.get(d).copied().unwrap_or(0)).sum();
            *b.charged_per_min.entry(d.clone()).or_default() += charged.max(0) as f64;
            let reported: u64 = match d.as_str() {
                "tokens" => self.0.iter().map(|e| e.3 + e.4).sum(),
                "input_tokens" => self.0.iter().map(|e| e.3).sum(),
                "output_tokens" => self.0.iter().map(|e| e.4).sum(),
                _ => 0,
            };
            if d != "requests" {
                *b.reported_per_min.entry(d.clone()).or_default() += reported as f64;
            }
            b.limit_per_min.insert(d.clone(), lim.per_min());
        }
    }
}

fn bins(path: &Path, x_max: f64) -> io::Result<Vec<Bin>> {
    let width = (x_max / MAX_BINS as f64).ceil().max(1.0);
    let mut out: Vec<Bin> = Vec::new();
    let mut counts: Vec<(f64, BTreeMap<String, f64>)> = Vec::new();
    let mut trails: BTreeMap<String, Trail> = BTreeMap::new();
    each(path, |x, new_run, sec| {
        if new_run {
            trails.clear(); // a new run has a new limiter
        }
        let i = ((x - 1.0).max(0.0) / width) as usize;
        while out.len() <= i {
            out.push(Bin { x: (out.len() as f64 + 0.5) * width, ..Default::default() });
            counts.push((0.0, BTreeMap::new()));
        }
        let (b, n) = (&mut out[i], &mut counts[i]);
        n.0 += 1.0;
        b.in_flight += sec.in_flight as f64;
        b.queued += sec.models.values().map(|m| m.queued as f64).sum::<f64>();
        b.r429 += sec.r429;
        b.retries += sec.retries;
        for (name, m) in &sec.models {
            b.lat.merge(&m.lat);
            let trail = trails.entry(name.clone()).or_default();
            trail.push(x, m);
            trail.add_to(b.models.entry(name.clone()).or_default(), &m.limits);
            *n.1.entry(name.clone()).or_default() += 1.0;
        }
    })?;
    // Sums to means; the limits were overwritten, so they are the bin's last.
    for (b, (n, per_model)) in out.iter_mut().zip(counts) {
        b.in_flight /= n.max(1.0);
        b.queued /= n.max(1.0);
        for (name, m) in &mut b.models {
            let k = per_model.get(name).copied().unwrap_or(1.0).max(1.0);
            m.started_per_min /= k;
            m.charged_per_min.values_mut().for_each(|v| *v /= k);
            m.reported_per_min.values_mut().for_each(|v| *v /= k);
        }
    }
    Ok(out)
}
