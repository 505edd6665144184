//! [`monotonic_now`]: a clock for [`arcbox_fs::FuseDispatcher::with_clock`],
//! so that the dispatcher's [`arcbox_fs::stats::Stats`] measure latency.

use arcbox_fs::Instant;
use std::sync::OnceLock;

/// Nanoseconds since the first call in this process, from the monotonic
/// clock (`CLOCK_MONOTONIC`, clock_gettime(2), through `std::time::Instant`;
/// a vDSO call, no system call). Saturates after ~584 years.
pub fn monotonic_now() -> Instant {
    static T0: OnceLock<std::time::Instant> = OnceLock::new();
    let t0 = *T0.get_or_init(std::time::Instant::now);
    Instant::from_nanos(u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_back() {
        let a = monotonic_now();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = monotonic_now();
        assert!(b > a, "{b:?} after {a:?}");
    }
}
