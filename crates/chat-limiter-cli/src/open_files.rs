//! The open-file limit: raised to the hard limit before a run, because every worker of a
//! batch holds a connection and many sessions start with a soft limit of 1,024 (the library
//! caps a batch's pool to a third of what is allowed; see `BatchConfig::max_workers`).

/// Raises this process's soft limit on open files to its hard limit (at most 1,048,576).
/// Failing leaves the limit as it was: the library then caps the pool to it.
#[cfg(unix)]
pub fn raise_soft_limit() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit read and write only the struct they are given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return;
        }
        let want = lim.rlim_max.min(1 << 20);
        if lim.rlim_cur < want {
            lim.rlim_cur = want;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Nothing to raise here.
#[cfg(not(unix))]
pub fn raise_soft_limit() {}
