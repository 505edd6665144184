//! The open-file limit.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Ceiling when the hard limit is "unlimited" (the kernel's default
/// `fs.nr_open`).
const UNLIMITED_CEILING: u64 = 1 << 20;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the
/// resulting soft limit. Failure leaves the limit as it was (and returns
/// it).
///
/// See [getrlimit(2)](https://man7.org/linux/man-pages/man2/getrlimit.2.html).
pub fn raise_nofile_limit() -> u64 {
    let lim = getrlimit(Resource::Nofile);
    let hard = lim.maximum.unwrap_or(UNLIMITED_CEILING);
    let soft = lim.current.unwrap_or(UNLIMITED_CEILING);
    if soft < hard
        && setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(hard),
                maximum: lim.maximum,
            },
        )
        .is_ok()
    {
        return hard;
    }
    soft
}

/// The current soft `RLIMIT_NOFILE`.
pub(crate) fn nofile_limit() -> u64 {
    getrlimit(Resource::Nofile)
        .current
        .unwrap_or(UNLIMITED_CEILING)
}
