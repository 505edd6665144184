//! Blocking locks (SETLKW) that can be cancelled.
//!
//! A SETLKW never blocks inside the host: the passthrough retries the
//! non-blocking lock, pausing between tries ([`crate::host::Host::lock_wait_pause`]),
//! while the request holds one of [`MAX_WAITS`] slots here. INTERRUPT of the
//! request (FUSE_INTERRUPT, by its `unique`) and a device reset or DESTROY
//! ([`LockWaits::cancel_all`]) cancel the wait, which then fails with `EINTR`
//! as `fcntl(F_SETLKW)` does on a signal. An INTERRUPT that arrives before
//! its request starts waiting is remembered (the last [`EARLY`] of them).
//! More than [`MAX_WAITS`] waits at once fail with `ENOLCK` instead of
//! tying up more threads. Retrying is not fair between waiters (the kernel's
//! queue would be); it is what lets a wait end without signals.

use crate::sync::Mutex;

/// Most SETLKW requests waiting at once.
pub const MAX_WAITS: usize = 64;
/// INTERRUPTs remembered for requests that had not started waiting.
pub const EARLY: usize = 8;

#[derive(Clone, Copy, Default)]
struct Slot {
    unique: u64,
    used: bool,
    cancelled: bool,
}

struct State {
    slots: [Slot; MAX_WAITS],
    early: [u64; EARLY],
    next_early: usize,
}

/// The waits in progress; see the module docs.
pub struct LockWaits {
    state: Mutex<State>,
}

impl Default for LockWaits {
    fn default() -> Self {
        Self::new()
    }
}

/// A request's slot while it waits; frees the slot when dropped.
pub struct Wait<'a> {
    waits: &'a LockWaits,
    index: usize,
}

impl LockWaits {
    /// No waits.
    pub fn new() -> Self {
        LockWaits {
            state: Mutex::new(State {
                slots: [Slot::default(); MAX_WAITS],
                early: [0; EARLY],
                next_early: 0,
            }),
        }
    }

    /// Starts waiting for request `unique`: `None` when every slot is taken.
    pub fn enter(&self, unique: u64) -> Option<Wait<'_>> {
        let mut st = self.state.lock();
        let index = st.slots.iter().position(|s| !s.used)?;
        let early = unique != 0 && st.early.contains(&unique);
        if early {
            for u in st.early.iter_mut().filter(|u| **u == unique) {
                *u = 0;
            }
        }
        st.slots[index] = Slot {
            unique,
            used: true,
            cancelled: early,
        };
        Some(Wait { waits: self, index })
    }

    /// INTERRUPT of request `unique`.
    pub fn interrupt(&self, unique: u64) {
        let mut st = self.state.lock();
        let mut found = false;
        for s in st.slots.iter_mut().filter(|s| s.used && s.unique == unique) {
            s.cancelled = true;
            found = true;
        }
        if !found && unique != 0 {
            let i = st.next_early;
            st.early[i] = unique;
            st.next_early = (i + 1) % EARLY;
        }
    }

    /// Cancels every wait in progress (reset, DESTROY).
    pub fn cancel_all(&self) {
        for s in self.state.lock().slots.iter_mut().filter(|s| s.used) {
            s.cancelled = true;
        }
    }

    /// Waits in progress.
    pub fn waiting(&self) -> usize {
        self.state.lock().slots.iter().filter(|s| s.used).count()
    }
}

impl Wait<'_> {
    /// Whether the wait was interrupted or cancelled.
    pub fn cancelled(&self) -> bool {
        self.waits.state.lock().slots[self.index].cancelled
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        self.waits.state.lock().slots[self.index] = Slot::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrupt_cancel_and_capacity() {
        let w = LockWaits::new();
        let a = w.enter(1).expect("slot");
        let b = w.enter(2).expect("slot");
        w.interrupt(2);
        assert!(!a.cancelled() && b.cancelled());
        // An INTERRUPT before the wait starts is kept for it.
        w.interrupt(3);
        assert!(w.enter(3).expect("slot").cancelled());
        assert!(!w.enter(3).expect("slot").cancelled(), "used once");
        w.cancel_all();
        assert!(a.cancelled());
        drop((a, b));
        assert_eq!(w.waiting(), 0);
        let all: alloc::vec::Vec<_> = (0..MAX_WAITS as u64).map(|u| w.enter(u + 10)).collect();
        assert!(all.iter().all(|s| s.is_some()));
        assert!(w.enter(99).is_none());
    }
}
