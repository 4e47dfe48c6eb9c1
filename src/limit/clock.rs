//! Time for the limiter and the request loop, injectable so the bucket math and the retry and
//! pause logic are tested instantly and exactly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// A source of time for the limiter and the request loop: what time it is, and waiting.
///
/// The real clock is [`SystemClock`]; tests use [`ManualClock`], whose time moves only when
/// told to or when a thread sleeps on it.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// The current monotonic instant.
    fn now(&self) -> Instant;
    /// The current wall-clock time (to read absolute resets and HTTP dates in headers).
    fn system_now(&self) -> SystemTime {
        SystemTime::now()
    }
    /// Blocks the calling thread for `d` (a backoff between retries).
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
    /// Whether time passes only through [`sleep`](Self::sleep) and explicit moves (a test
    /// clock). The limiter then sleeps on the clock to reach a deadline instead of waiting on
    /// a condition variable in real time, so a test that waits a minute takes no time at all.
    fn is_virtual(&self) -> bool {
        false
    }
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that only moves when told to: by [`advance`](ManualClock::advance), or by a thread
/// sleeping on it, which moves it forward by the sleep and returns at once.
///
/// ```
/// use chat_limiter::{Clock, ManualClock};
/// use std::time::Duration;
/// let clock = ManualClock::new();
/// let t0 = clock.now();
/// clock.advance(Duration::from_millis(1500));
/// assert_eq!(clock.now() - t0, Duration::from_millis(1500));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    base: Instant,
    wall_base: SystemTime,
    offset_nanos: AtomicU64,
}

impl ManualClock {
    /// A clock frozen at the current instant.
    pub fn new() -> Self {
        ManualClock {
            base: Instant::now(),
            wall_base: SystemTime::now(),
            offset_nanos: AtomicU64::new(0),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.offset_nanos.fetch_add(nanos, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    fn offset(&self) -> Duration {
        Duration::from_nanos(self.offset_nanos.load(Ordering::SeqCst))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + self.offset()
    }
    fn system_now(&self) -> SystemTime {
        self.wall_base + self.offset()
    }
    fn sleep(&self, d: Duration) {
        self.advance(d);
    }
    fn is_virtual(&self) -> bool {
        true
    }
}
