//! `--rlimit-nofile`: the open-file limit (setrlimit(2) `RLIMIT_NOFILE`).
//!
//! virtiofsd's default is the lower of 1,000,000 and `fs.nr_open`
//! (proc_sys_fs(5)); a limit above the hard limit needs
//! `CAP_SYS_RESOURCE`. When it cannot be had, the soft limit is raised as
//! far as the hard limit allows and the shortfall is logged.

use std::io;

/// virtiofsd's ceiling for the default limit.
pub const DEFAULT_CEILING: u64 = 1_000_000;

/// The default `--rlimit-nofile`: min(1,000,000, `/proc/sys/fs/nr_open`)
/// (1,000,000 when `fs.nr_open` cannot be read).
pub fn default_nofile() -> u64 {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or(DEFAULT_CEILING, |n| n.min(DEFAULT_CEILING))
}

/// The current (soft, hard) `RLIMIT_NOFILE`.
pub fn nofile() -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a valid pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((lim.rlim_cur, lim.rlim_max))
}

fn set(soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads one `rlimit` through a valid pointer.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets both limits to `want`; when that is refused (above the hard limit
/// without `CAP_SYS_RESOURCE`, or above `fs.nr_open`) raises the soft limit
/// to the hard one and logs a warning naming `--rlimit-nofile`. Never
/// lowers a limit. Returns the soft limit now in force.
///
/// Errors: the limit cannot even be read.
pub fn apply_nofile(want: u64) -> io::Result<u64> {
    let (soft, hard) = nofile()?;
    if want <= soft {
        return Ok(soft);
    }
    if set(want, want.max(hard)).is_ok() {
        return Ok(want);
    }
    let reached = if soft < hard && set(hard, hard).is_ok() {
        hard
    } else {
        soft
    };
    log::warn!("--rlimit-nofile {want}: not permitted (hard limit {hard}); the limit is {reached}");
    Ok(reached)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_capped_and_positive() {
        let d = default_nofile();
        assert!(d > 0 && d <= DEFAULT_CEILING);
    }

    #[test]
    fn never_lowers_and_reaches_at_least_the_hard_limit() {
        let (soft, hard) = nofile().expect("getrlimit");
        assert_eq!(apply_nofile(1).expect("apply"), soft);
        let got = apply_nofile(u64::from(u32::MAX)).expect("apply");
        assert!(got >= soft.max(hard.min(got)));
        let (now, _) = nofile().expect("getrlimit");
        assert_eq!(now, got);
        assert!(now >= hard || now == u64::from(u32::MAX));
    }
}
