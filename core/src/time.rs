//! Time, passed in by the caller: the core has no clock (like smoltcp's
//! `Instant`).

use core::time::Duration;

/// A point on the caller's monotonic clock, in nanoseconds from an arbitrary
/// origin. Used for cache TTLs; never sent to the guest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The origin of the clock.
    pub const ZERO: Instant = Instant(0);

    /// An instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Instant {
        Instant(nanos)
    }

    /// An instant `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant(millis.saturating_mul(1_000_000))
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// This instant plus `d`, saturating at the end of time.
    pub fn saturating_add(self, d: Duration) -> Instant {
        let n = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(n))
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

/// A wall-clock time (seconds and nanoseconds since the Unix epoch), as file
/// timestamps carry it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timespec {
    /// Seconds since the epoch.
    pub sec: i64,
    /// Nanoseconds, `0..1_000_000_000`.
    pub nsec: u32,
}

impl Timespec {
    /// The epoch.
    pub const EPOCH: Timespec = Timespec { sec: 0, nsec: 0 };

    /// A timestamp; `nsec` is clamped below one second.
    pub const fn new(sec: i64, nsec: u32) -> Timespec {
        Timespec {
            sec,
            nsec: if nsec < 1_000_000_000 {
                nsec
            } else {
                999_999_999
            },
        }
    }
}
