//! Bookkeeping of requests in flight on worker threads: a reset must wait
//! until no worker still writes into guest buffers (virtio 1.2 §2.4: after a
//! reset the device must not touch the old rings and buffers).

use crate::sync::{AtomicUsize, spin_hint};
use core::sync::atomic::Ordering;

/// Counts requests between pop and completion.
#[derive(Debug, Default)]
pub struct Inflight {
    count: AtomicUsize,
}

impl Inflight {
    /// Nothing in flight.
    pub fn new() -> Self {
        Inflight {
            count: AtomicUsize::new(0),
        }
    }

    /// A request was taken from a queue.
    pub fn begin(&self) {
        self.count.fetch_add(1, Ordering::AcqRel);
    }

    /// A request was completed (its used element published).
    pub fn end(&self) {
        // Saturating: an unmatched `end` must not wrap the count.
        let _ = self
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                Some(c.saturating_sub(1))
            });
    }

    /// Requests in flight now.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Waits until nothing is in flight. Everything completed before is
    /// visible afterwards (Acquire).
    pub fn wait_idle(&self) {
        while self.count.load(Ordering::Acquire) != 0 {
            spin_hint();
            #[cfg(all(feature = "std", not(loom)))]
            std::thread::yield_now();
        }
    }
}
