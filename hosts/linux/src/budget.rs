//! The guest's share of the descriptor table.
//!
//! Every descriptor a guest request keeps open after it returns (an open
//! file or directory, a lock owner's description) takes a slot; a request
//! that would go over the budget fails with `EMFILE` while the server's own
//! work (lookups, the `O_PATH` cache, transports, logs) keeps the
//! descriptors reserved for it. virtiofsd reserves descriptors the same way,
//! with a semaphore. See
//! [getrlimit(2)](https://man7.org/linux/man-pages/man2/getrlimit.2.html)
//! for `RLIMIT_NOFILE`.

use arcbox_fs::Errno;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Descriptors kept for the server's own work, at least.
pub(crate) const MIN_RESERVE: usize = 64;

/// The guest's descriptor budget.
#[derive(Debug)]
pub(crate) struct FdBudget {
    used: AtomicUsize,
    cap: usize,
}

/// One descriptor of the budget, returned when dropped.
#[derive(Debug)]
pub(crate) struct FdSlot(Arc<FdBudget>);

impl FdBudget {
    /// A budget of `cap` descriptors.
    pub(crate) fn new(cap: usize) -> Arc<FdBudget> {
        Arc::new(FdBudget {
            used: AtomicUsize::new(0),
            cap,
        })
    }

    /// The budget for a process limit of `nofile` descriptors of which
    /// `cached` may be parked `O_PATH` descriptors: what is left after those
    /// and a reserve of a sixteenth of the limit (at least [`MIN_RESERVE`]).
    pub(crate) fn for_limit(nofile: u64, cached: usize) -> usize {
        let nofile = usize::try_from(nofile).unwrap_or(usize::MAX);
        let reserve = (nofile / 16).max(MIN_RESERVE);
        nofile.saturating_sub(cached).saturating_sub(reserve).max(1)
    }

    /// Takes a slot, or `EMFILE` when the guest holds its whole budget.
    pub(crate) fn acquire(self: &Arc<Self>) -> Result<FdSlot, Errno> {
        let mut cur = self.used.load(Ordering::Relaxed);
        loop {
            if cur >= self.cap {
                return Err(Errno::EMFILE);
            }
            match self
                .used
                .compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Ok(FdSlot(self.clone())),
                Err(now) => cur = now,
            }
        }
    }

    /// Slots in use.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// The budget.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }
}

impl Drop for FdSlot {
    fn drop(&mut self) {
        self.0.used.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_cap_and_returns_slots() {
        let b = FdBudget::new(2);
        let s1 = b.acquire().expect("first");
        let _s2 = b.acquire().expect("second");
        assert_eq!(b.acquire().err(), Some(Errno::EMFILE));
        drop(s1);
        assert!(b.acquire().is_ok());
        assert_eq!(b.used(), 1);
    }

    #[test]
    fn limit_keeps_a_reserve() {
        assert_eq!(FdBudget::for_limit(1024, 256), 1024 - 256 - 64);
        assert_eq!(FdBudget::for_limit(20000, 5000), 20000 - 5000 - 1250);
        assert_eq!(FdBudget::for_limit(10, 100), 1);
    }
}
