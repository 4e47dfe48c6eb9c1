//! SIGINT and SIGTERM during `run`: the first stops admitting new lines, lets the requests in
//! flight finish for up to the grace period (`--grace`), writes their results, the summary and
//! the stats file, and exits 130 (SIGINT) or 143 (SIGTERM). A second signal, or the end of
//! the grace period, ends the process at once with the same code; the lines then in flight have
//! no record and are sent again by the next run.
//!
//! Built on `libc` directly (`signal` and `_exit`, both async-signal-safe, and already in the
//! dependency graph) rather than a signal crate: the handler only stores the signal number.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    if SIGNAL.swap(sig, Ordering::SeqCst) != 0 {
        // SAFETY: `_exit` is async-signal-safe; a second signal means "stop now".
        unsafe { libc::_exit(128 + sig) }
    }
}

/// The exit code for a run stopped by `sig`.
pub fn exit_code(sig: i32) -> u8 {
    u8::try_from(128 + sig).unwrap_or(1)
}

/// The signal's name, for messages.
pub fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// The first signal received, if any.
pub fn received() -> Option<i32> {
    Some(SIGNAL.load(Ordering::SeqCst)).filter(|s| *s != 0)
}

/// Installs the handlers and a watcher that enforces the grace period.
pub fn install(grace: Duration) {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only touches an atomic and calls `_exit`.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(20));
        let Some(sig) = received() else { continue };
        crate::logger::say(&format!(
            "chat-limiter: {} received: no new requests; waiting up to {:.0} s for those in \
             flight (send it again to stop now)\n",
            name(sig),
            grace.as_secs_f64()
        ));
        std::thread::sleep(grace);
        crate::logger::say(
            "chat-limiter: grace period over: stopping; requests still in flight have no \
             record and will be sent again by the next run\n",
        );
        // SAFETY: ends the process; the output holds only whole records (each one a single
        // write), and its lock goes with the process.
        unsafe { libc::_exit(128 + sig) }
    });
}
