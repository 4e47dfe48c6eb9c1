//! A batch under a low open-file limit (issue 14): the pool stays within what the limit
//! allows instead of failing `connect` with "too many open files". Alone in its binary, since
//! it lowers the process's limit.
#![cfg(unix)]

mod common;

use std::time::Duration;

use chat_limiter::{create_chat_completion_requests, process_chat_completion_stream, BatchConfig};
use common::{far_limits_emulator, far_limits_limiter};

fn set_soft_limit(n: u64) {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit read and write only the struct they are given.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = n.min(lim.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
}

#[test]
fn a_slow_batch_under_a_low_open_file_limit_loses_nothing() {
    // 300 items of 1 s each and limits that admit them all: unchecked, the pool grows to 300
    // workers, 1,200 descriptors with the emulator's side of each connection (it holds three),
    // far past 200. Capped at a third of 200 less 64 (45 workers), both sides fit: 180.
    let emu = far_limits_emulator(Duration::from_secs(1));
    let limiter = far_limits_limiter(&emu);
    set_soft_limit(200);
    let prompts: Vec<String> = (0..300).map(|i| format!("open files {i}")).collect();
    let reqs = create_chat_completion_requests("gpt-4o-mini", prompts, Some(4), None);
    let summary =
        process_chat_completion_stream(&limiter, reqs, &BatchConfig::default(), Some(300), |_| {})
            .unwrap();
    assert_eq!((summary.succeeded, summary.failed, summary.retries), (300, 0, 0), "{summary:?}");
    assert!(summary.workers <= (200 - 64) / 3, "{summary:?}");
    assert!(summary.workers >= 32, "the cap is not a collapse: {summary:?}");
    assert_eq!(emu.stats().requests, 300, "every item sent once");
}
