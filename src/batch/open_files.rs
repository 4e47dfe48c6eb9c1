//! The batch's pool against the process's open-file limit.
//!
//! Every worker holds a connection, so a pool of thousands (the default ceiling is 4,096)
//! needs as many file descriptors. Most Linux sessions start with a soft limit of 1,024: past
//! it, `connect` fails with "too many open files", and every item sent then fails as a
//! transport error, retried into the same wall. So the pool is capped where the limit puts it:
//! a third of the descriptors, the rest left for everything else the process holds (files, a
//! database, or a server of its own in the same process, which may hold two descriptors per
//! connection, as the emulator does), and the cap is said once on the logging facade.
//! The command line raises its own soft limit to the hard one before it starts.

/// Descriptors kept for everything but the workers' connections, beyond the two thirds.
const RESERVE: u64 = 64;

/// The most workers a batch may start given `soft`, the open-file limit (`None`: unknown or
/// unlimited). Never below 1: a batch always runs.
pub(crate) fn worker_cap(max_workers: usize, soft: Option<u64>) -> usize {
    let Some(soft) = soft else { return max_workers };
    let room = usize::try_from(soft.saturating_sub(RESERVE) / 3).unwrap_or(usize::MAX);
    max_workers.min(room).max(1)
}

/// The process's soft limit on open files.
#[cfg(unix)]
pub(crate) fn soft_limit() -> Option<u64> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes the struct it is given and reads nothing else.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0;
    // `rlim_t` is not u64 on every unix.
    #[allow(clippy::unnecessary_cast)]
    let soft = lim.rlim_cur as u64;
    (ok && lim.rlim_cur != libc::RLIM_INFINITY).then_some(soft)
}

/// The process's soft limit on open files (not known here).
#[cfg(not(unix))]
pub(crate) fn soft_limit() -> Option<u64> {
    None
}

/// `max_workers` capped by the open-file limit, saying so once per batch when it binds.
pub(crate) fn capped_workers(max_workers: usize) -> usize {
    let soft = soft_limit();
    let cap = worker_cap(max_workers, soft);
    if cap < max_workers {
        log::warn!(
            "batch: at most {cap} workers (max_workers is {max_workers}): the open-file limit \
             is {} and each worker holds a connection; raise it (ulimit -n) for more in flight",
            soft.unwrap_or_default()
        );
    }
    cap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_keeps_two_thirds_of_the_descriptors_for_the_rest() {
        assert_eq!(worker_cap(4096, Some(1024)), 320);
        assert_eq!(worker_cap(4096, Some(20_000)), 4096);
        assert_eq!(worker_cap(100, Some(1024)), 100, "a smaller setting is kept");
        assert_eq!(worker_cap(4096, None), 4096, "unknown or unlimited");
        assert_eq!(worker_cap(4096, Some(10)), 1, "a batch always runs");
        assert_eq!(worker_cap(4096, Some(u64::MAX)), 4096);
    }

    #[cfg(unix)]
    #[test]
    fn the_soft_limit_is_read() {
        assert!(soft_limit().is_none_or(|n| n >= 16), "{:?}", soft_limit());
    }
}
