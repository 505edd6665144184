//! Nanosecond timestamps.
//!
//! Darwin's `struct timespec` carries a `long` `tv_nsec`; the special
//! `utimensat(2)` values differ: Darwin `UTIME_NOW` = -1, `UTIME_OMIT` = -2
//! (`<sys/stat.h>`), Linux `UTIME_NOW` = 2^30 - 1, `UTIME_OMIT` = 2^30 - 2
//! (include/uapi/linux/stat.h). Passing Linux's to Darwin sets a time of
//! 1.07 s past a second instead of "now".

use arcbox_fs::host::SetTime;
use arcbox_fs::time::Timespec;

/// Darwin `UTIME_NOW` (`<sys/stat.h>`).
pub const DARWIN_UTIME_NOW: i64 = -1;
/// Darwin `UTIME_OMIT` (`<sys/stat.h>`).
pub const DARWIN_UTIME_OMIT: i64 = -2;
/// Linux `UTIME_NOW` (include/uapi/linux/stat.h).
pub const LINUX_UTIME_NOW: i64 = (1 << 30) - 1;
/// Linux `UTIME_OMIT` (include/uapi/linux/stat.h).
pub const LINUX_UTIME_OMIT: i64 = (1 << 30) - 2;

const NSEC_PER_SEC: i64 = 1_000_000_000;

/// A Darwin `timespec` (seconds, nanoseconds) for `utimensat` / `futimens`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DarwinTimespec {
    /// `tv_sec`.
    pub sec: i64,
    /// `tv_nsec`, or `UTIME_NOW` / `UTIME_OMIT`.
    pub nsec: i64,
}

/// A Darwin `timespec` from `stat` as the wire's (seconds, 0..1e9 ns),
/// normalising an out-of-range `tv_nsec` instead of trusting it.
pub fn from_darwin(sec: i64, nsec: i64) -> Timespec {
    let carry = nsec.div_euclid(NSEC_PER_SEC);
    let ns = nsec.rem_euclid(NSEC_PER_SEC);
    // rem_euclid is in 0..1e9, so it fits a u32.
    Timespec::new(sec.saturating_add(carry), u32::try_from(ns).unwrap_or(0))
}

/// The Darwin `timespec` to pass for a time to set; `None` is `UTIME_OMIT`.
pub fn to_darwin(t: Option<SetTime>) -> DarwinTimespec {
    match t {
        None => DarwinTimespec {
            sec: 0,
            nsec: DARWIN_UTIME_OMIT,
        },
        Some(SetTime::Now) => DarwinTimespec {
            sec: 0,
            nsec: DARWIN_UTIME_NOW,
        },
        Some(SetTime::At(ts)) => DarwinTimespec {
            sec: ts.sec,
            nsec: i64::from(ts.nsec.min(999_999_999)),
        },
    }
}

/// A Linux `timespec` with possible `UTIME_*` values as a time to set
/// (the other direction): `UTIME_OMIT` is `None`.
pub fn set_time_from_linux(sec: i64, nsec: i64) -> Option<SetTime> {
    match nsec {
        LINUX_UTIME_OMIT => None,
        LINUX_UTIME_NOW => Some(SetTime::Now),
        _ => Some(SetTime::At(from_darwin(sec, nsec))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utime_specials() {
        assert_eq!(to_darwin(None), DarwinTimespec { sec: 0, nsec: -2 });
        assert_eq!(
            to_darwin(Some(SetTime::Now)),
            DarwinTimespec { sec: 0, nsec: -1 }
        );
        assert_eq!(set_time_from_linux(5, (1 << 30) - 1), Some(SetTime::Now));
        assert_eq!(set_time_from_linux(5, (1 << 30) - 2), None);
        // Linux's UTIME_NOW value is never passed through as a Darwin nsec.
        for t in [
            None,
            Some(SetTime::Now),
            Some(SetTime::At(Timespec::new(1, 999_999_999))),
        ] {
            let d = to_darwin(t);
            assert_ne!(d.nsec, LINUX_UTIME_NOW);
            assert_ne!(d.nsec, LINUX_UTIME_OMIT);
        }
    }

    #[test]
    fn nanoseconds_are_kept() {
        let t = Timespec::new(1_700_000_000, 123_456_789);
        assert_eq!(
            to_darwin(Some(SetTime::At(t))),
            DarwinTimespec {
                sec: 1_700_000_000,
                nsec: 123_456_789
            }
        );
        assert_eq!(from_darwin(1_700_000_000, 123_456_789), t);
        assert_eq!(from_darwin(-1, 999_999_999), Timespec::new(-1, 999_999_999));
    }

    #[test]
    fn out_of_range_nanoseconds_normalise() {
        assert_eq!(
            from_darwin(10, 1_500_000_000),
            Timespec::new(11, 500_000_000)
        );
        assert_eq!(from_darwin(10, -1), Timespec::new(9, 999_999_999));
        assert_eq!(
            from_darwin(i64::MAX, i64::MAX),
            Timespec::new(i64::MAX, 854_775_807)
        );
        assert!(from_darwin(i64::MIN, i64::MIN).nsec < 1_000_000_000);
    }
}
