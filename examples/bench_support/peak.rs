//! Peak resident memory and thread count of this process while a bench row runs, sampled
//! from `/proc/self/status` (Linux; elsewhere both read 0), and TIME_WAIT sockets after it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Samples `VmRSS` and `Threads` every 10 ms until stopped.
pub struct Peak {
    stop: Arc<AtomicBool>,
    rss_kb: Arc<AtomicU64>,
    threads: Arc<AtomicU64>,
    handle: Option<JoinHandle<()>>,
}

fn status_field(status: &str, name: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

impl Peak {
    /// Starts sampling.
    pub fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let rss_kb = Arc::new(AtomicU64::new(0));
        let threads = Arc::new(AtomicU64::new(0));
        let (s, r, t) = (Arc::clone(&stop), Arc::clone(&rss_kb), Arc::clone(&threads));
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
                r.fetch_max(status_field(&status, "VmRSS:"), Ordering::Relaxed);
                t.fetch_max(status_field(&status, "Threads:"), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Peak { stop, rss_kb, threads, handle: Some(handle) }
    }

    /// Stops sampling; returns (peak RSS in MiB, peak threads).
    pub fn finish(mut self) -> (f64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        (self.rss_kb.load(Ordering::Relaxed) as f64 / 1024.0, self.threads.load(Ordering::Relaxed))
    }
}

/// Loopback sockets in TIME_WAIT right now (one per connection closed by this machine in the
/// last minute): a client that opens a connection per request leaves thousands.
pub fn time_wait() -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    // Column 4 is the state; 06 is TIME_WAIT.
    table.lines().skip(1).filter(|l| l.split_whitespace().nth(3) == Some("06")).count()
}
