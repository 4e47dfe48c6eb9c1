//! The once-a-second sampler of a run: reads the limiter's snapshot and the lines finished
//! since the last second, appends one [`Second`] to the timeline, and refreshes the progress
//! line ([`crate::live`]). It runs on its own thread, so it keeps ticking while every worker
//! waits (a 429 pause, a daily cap). It keeps the last minute per model for the live rates,
//! nothing more.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chat_limiter::{ChatLimiter, DimensionSnapshot, ModelLimits};
use indicatif::ProgressBar;

use crate::live;
use crate::logger::say;
use crate::timeline::{self, add_finished, Limit, ModelSecond, Second, Tally, Timeline};

/// Waits shorter than this are the ordinary pace of a limit, not a long wait.
pub const LONG_WAIT: Duration = Duration::from_secs(30);

/// A model's counters at the previous second.
#[derive(Debug, Default, Clone)]
struct Prev {
    admitted: u64,
    rate_limited: u64,
    used: BTreeMap<&'static str, u64>,
}

/// The sampler's memory: the previous counters and the last minute of charges.
#[derive(Debug, Default)]
pub struct Sampler {
    prev: BTreeMap<String, Prev>,
    /// Per model, the charges of the last 60 seconds (newest last).
    minute: BTreeMap<String, VecDeque<BTreeMap<String, i64>>>,
    /// This run's totals so far (for the live line).
    pub totals: live::Totals,
    /// Lines finished in each of the last 60 seconds.
    done: VecDeque<u64>,
}

/// One limit dimension as the sampler reads it (a copy of the library's snapshot).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dim {
    /// The provider's limit per window.
    pub limit: u64,
    /// What may be used now.
    pub remaining: u64,
    /// Units charged since the limiter started (the provider's accounting).
    pub used: u64,
    /// Time until the bucket is full again.
    pub reset: Duration,
    /// The window the limit is counted over.
    pub window: Duration,
}

/// One model as the sampler reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    /// The model.
    pub model: String,
    /// `requests`, `tokens`, `input_tokens`, `output_tokens`, when known.
    pub dims: Vec<(&'static str, Dim)>,
    /// How long the queue stays paused after a 429.
    pub paused_for: Option<Duration>,
    /// 429s so far.
    pub rate_limited: u64,
    /// Requests in flight.
    pub in_flight: u64,
    /// Requests waiting to be admitted.
    pub queued: u64,
    /// Requests finished.
    pub completed: u64,
}

impl View {
    /// The sampler's view of the library's snapshot.
    pub fn of(m: &ModelLimits) -> View {
        let dim = |d: Option<DimensionSnapshot>| {
            d.map(|d| Dim {
                limit: d.limit,
                remaining: d.remaining,
                used: d.used,
                reset: d.reset,
                window: d.window,
            })
        };
        let all = [
            ("requests", dim(m.requests)),
            ("tokens", dim(m.tokens)),
            ("input_tokens", dim(m.input_tokens)),
            ("output_tokens", dim(m.output_tokens)),
        ];
        View {
            model: m.model.clone(),
            dims: all.into_iter().filter_map(|(n, d)| d.map(|d| (n, d))).collect(),
            paused_for: m.paused_for,
            rate_limited: m.rate_limited,
            in_flight: u64::from(m.in_flight),
            queued: m.queued as u64,
            completed: m.completed,
        }
    }

    /// The dimension called `name`.
    pub fn dim(&self, name: &str) -> Option<Dim> {
        self.dims.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
    }
}

/// Which limit holds a model back: a 429 pause, or the dimension with the least left when
/// little is left (under 5%, or under 20% with requests queued behind it).
pub fn binding(m: &View) -> Option<String> {
    if m.paused_for.is_some() {
        return Some("429 pause".into());
    }
    let (name, frac) = m
        .dims
        .iter()
        .map(|(n, d)| (*n, d.remaining as f64 / d.limit.max(1) as f64))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    (frac < 0.05 || (m.queued > 0 && frac < 0.20)).then(|| name.to_string())
}

/// When a long wait of `m` ends, from now, and what it waits on: a 429 pause, or a binding
/// limit whose window is longer than a minute (a daily cap). `None` for ordinary waits.
pub fn long_wait(m: &View) -> Option<(Duration, String)> {
    if let Some(p) = m.paused_for.filter(|p| *p >= LONG_WAIT) {
        return Some((p, format!("{}: paused by a 429", m.model)));
    }
    let name = binding(m)?;
    let d = m.dim(&name)?;
    if d.window <= Duration::from_secs(60) {
        return None;
    }
    // One more request is possible once one unit has come back; tokens: when full again.
    let wait = if name == "requests" {
        let per_unit = d.window.as_secs_f64() / d.limit.max(1) as f64;
        d.reset.saturating_sub(Duration::from_secs_f64(per_unit * (d.limit.max(1) - 1) as f64))
    } else {
        d.reset
    };
    (wait >= LONG_WAIT).then(|| {
        let what = format!("{}: {name} limit {} per {}", m.model, d.limit, live::span(d.window));
        (wait, what)
    })
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Sampler {
    /// One second: the limiter's view now, and the lines finished since the last call.
    pub fn sample(&mut self, models: &[View], finished: timeline::Finished) -> Second {
        let mut sec = Second::default();
        for m in models.iter().filter(|m| !m.model.is_empty() || m.completed > 0) {
            let prev = self.prev.entry(m.model.clone()).or_default();
            let admitted = m.completed + m.in_flight;
            let mut ms = ModelSecond {
                started: admitted.saturating_sub(prev.admitted),
                r429: m.rate_limited.saturating_sub(prev.rate_limited),
                in_flight: m.in_flight,
                queued: m.queued,
                binds: binding(m),
                ..Default::default()
            };
            prev.admitted = admitted;
            prev.rate_limited = m.rate_limited;
            for &(name, d) in &m.dims {
                let before = prev.used.insert(name, d.used).unwrap_or(0);
                ms.charged.insert(name.into(), d.used as i64 - before as i64);
                let window_s = d.window.as_secs_f64();
                ms.limits.insert(
                    name.into(),
                    Limit { limit: d.limit, window_s, remaining: d.remaining },
                );
            }
            let ring = self.minute.entry(m.model.clone()).or_default();
            ring.push_back(ms.charged.clone());
            if ring.len() > 60 {
                ring.pop_front();
            }
            sec.started += ms.started;
            sec.r429 += ms.r429;
            sec.in_flight += ms.in_flight;
            if sec.binds.is_none() {
                sec.binds = ms.binds.as_ref().map(|b| format!("{}: {b}", m.model));
            }
            if sec.wait_until.is_none() {
                if let Some((wait, what)) = long_wait(m) {
                    sec.wait_until = Some(unix_now() + wait.as_secs());
                    sec.wait_on = Some(what);
                }
            }
            sec.models.insert(m.model.clone(), ms);
        }
        add_finished(&mut sec, finished);
        self.totals.add(&sec);
        self.done.push_back(sec.done);
        if self.done.len() > 60 {
            self.done.pop_front();
        }
        sec
    }

    /// When the `remaining` lines should be done: the later of the pace of the last minute
    /// and what each limit still allows (each model's share of the lines, at its average
    /// charge per request so far, less what its bucket holds, at the limit's refill rate).
    /// After a full bucket's burst the first figure is far too hopeful; the second is not.
    pub fn eta(&self, views: &[View], remaining: u64) -> Option<Duration> {
        let done: u64 = self.done.iter().sum();
        if done == 0 {
            return None;
        }
        let mut secs = remaining as f64 * self.done.len() as f64 / done as f64;
        let admitted: u64 = self.prev.values().map(|p| p.admitted).sum();
        for v in views {
            let Some(p) = self.prev.get(&v.model).filter(|p| p.admitted > 0) else { continue };
            let lines = remaining as f64 * p.admitted as f64 / admitted.max(1) as f64;
            for (name, d) in &v.dims {
                let per_request = p.used.get(name).copied().unwrap_or(0) as f64 / p.admitted as f64;
                let need = lines * per_request - d.remaining as f64;
                let rate = d.limit as f64 / d.window.as_secs_f64().max(1e-9);
                secs = secs.max(need / rate.max(1e-9));
            }
        }
        Some(Duration::from_secs_f64(secs.clamp(0.0, 1e9)))
    }

    /// The live line's rates: each model's charges over the last minute against its limits.
    pub fn rates(&self, views: &[View]) -> Vec<live::ModelRates> {
        views
            .iter()
            .map(|v| {
                let charged = self.last_minute(&v.model);
                let rates = v
                    .dims
                    .iter()
                    .map(|(dim, d)| live::Rate {
                        dim,
                        last_minute: charged.get(*dim).copied().unwrap_or(0).max(0) as f64,
                        limit_per_min: d.limit as f64 * 60.0 / d.window.as_secs_f64().max(1e-9),
                    })
                    .collect();
                live::ModelRates { model: v.model.clone(), rates }
            })
            .collect()
    }

    /// Units charged to each model's limits over the last minute.
    pub fn last_minute(&self, model: &str) -> BTreeMap<String, i64> {
        let mut sum = BTreeMap::new();
        for s in self.minute.get(model).into_iter().flatten() {
            for (k, v) in s {
                *sum.entry(k.clone()).or_insert(0) += v;
            }
        }
        sum
    }
}

/// The sampler thread of a run.
#[derive(Debug)]
pub struct Running {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Running {
    /// Samples the last (partial) second, writes it, and ends the thread.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// Starts sampling `limiter` into the timeline beside `output`. A timeline that cannot be
/// opened or written is reported once and dropped: the run itself goes on.
pub fn start(output: &Path, limiter: ChatLimiter, tally: Arc<Tally>, bar: ProgressBar) -> Running {
    let path = timeline::path_for(output);
    let mut file = match Timeline::open(&path) {
        Ok(t) => Some(t),
        Err(e) => {
            say(&format!("chat-limiter: cannot write the timeline {}: {e}\n", path.display()));
            None
        }
    };
    let run = file.as_ref().map_or(1, |t| t.run);
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let started = Instant::now();
        let mut sampler = Sampler::default();
        let mut next = started + Duration::from_secs(1);
        let mut prev_s = 0;
        loop {
            let wait = next.saturating_duration_since(Instant::now());
            let last = !matches!(rx.recv_timeout(wait), Err(RecvTimeoutError::Timeout));
            let views: Vec<View> = limiter.current_limits().models.iter().map(View::of).collect();
            let mut sec = sampler.sample(&views, tally.take());
            sec.t = unix_now();
            sec.run = run;
            // Ticks land just after each whole second; the last (partial) one rounds up.
            let secs = started.elapsed().as_secs_f64();
            sec.s = (if last { secs.ceil() } else { secs.round() } as u64).max(prev_s + 1);
            prev_s = sec.s;
            let left = bar.length().map(|n| n.saturating_sub(bar.position()));
            let eta = left.and_then(|n| sampler.eta(&views, n));
            bar.set_message(live::line(&sampler.rates(&views), &sec, sampler.totals, eta));
            if let Some(t) = &mut file {
                if let Err(e) = t.append(&sec) {
                    say(&format!(
                        "chat-limiter: cannot write the timeline {}: {e}\n",
                        path.display()
                    ));
                    file = None;
                }
            }
            if last {
                return;
            }
            next += Duration::from_secs(1);
        }
    });
    Running { stop: tx, thread }
}

#[cfg(test)]
#[path = "sampler_tests.rs"]
mod tests;
