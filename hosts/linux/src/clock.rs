//! [`monotonic_now`]: a clock for [`arcbox_fs::FuseDispatcher::with_clock`],
//! so that the dispatcher's [`arcbox_fs::stats::Stats`] measure latency; and
//! [`instance_generation`], a per-server node generation from the wall clock.

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

/// A node generation for this server instance
/// ([`arcbox_fs::passthrough::PassthroughConfig::generation`]): the wall
/// clock's seconds mixed with its nanoseconds (`CLOCK_REALTIME`), never 0.
/// Two servers started at different times answer with different
/// generations, so a guest file handle from an earlier server is stale
/// rather than another object with the same node id.
pub fn instance_generation() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let g = (t.as_secs() as u32).rotate_left(7) ^ t.subsec_nanos();
    g.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_differ_between_instants() {
        let a = instance_generation();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert_ne!(a, instance_generation());
        assert_ne!(a, 0);
    }

    #[test]
    fn never_goes_back() {
        let a = monotonic_now();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = monotonic_now();
        assert!(b > a, "{b:?} after {a:?}");
    }
}
