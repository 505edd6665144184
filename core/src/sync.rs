//! Locks and atomics used by shared structures: `std` locks with the `std`
//! feature, spin locks without, loom's under `--cfg loom` (so that
//! `loom-tests/` can model-check the negative cache and the inode table).
//!
//! Critical sections here are short and never contain a host call.

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicU32, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, Ordering};

#[cfg(all(not(loom), feature = "alloc"))]
pub(crate) use alloc::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

/// A mutual-exclusion lock whose `lock` cannot fail.
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(Inner<T>);

#[cfg(loom)]
type Inner<T> = loom::sync::Mutex<T>;
#[cfg(all(not(loom), feature = "std"))]
type Inner<T> = std::sync::Mutex<T>;
#[cfg(all(not(loom), not(feature = "std")))]
type Inner<T> = spin::Mutex<T>;

#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;
#[cfg(all(not(loom), feature = "std"))]
pub(crate) type MutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;
#[cfg(all(not(loom), not(feature = "std")))]
pub(crate) type MutexGuard<'a, T> = spin::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(v: T) -> Self {
        Mutex(Inner::new(v))
    }

    /// Locks; a poisoned std lock is used as is (its data is always consistent
    /// here: no critical section can panic half-way through an update).
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(any(loom, feature = "std"))]
        {
            match self.0.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            }
        }
        #[cfg(all(not(loom), not(feature = "std")))]
        {
            self.0.lock()
        }
    }

    /// Tries to lock without waiting.
    #[allow(dead_code)]
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        #[cfg(any(loom, feature = "std"))]
        {
            self.0.try_lock().ok()
        }
        #[cfg(all(not(loom), not(feature = "std")))]
        {
            self.0.try_lock()
        }
    }
}
