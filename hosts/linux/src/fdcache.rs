//! A bounded cache of `O_PATH` descriptors for inodes held by file handle.
//!
//! The open-file limit is far below the number of inodes a guest can walk
//! (`find` over a big tree), so inodes that have a kernel file handle keep
//! no descriptor of their own: the descriptor is reopened on demand with
//! `open_by_handle_at` and parked here.
//!
//! Replacement is two-generation LRU approximation: hits and inserts go to
//! the young generation, hits in the old one are promoted; when the young
//! generation fills half the capacity, the old one is closed and the young
//! one becomes old. Every operation is O(1) amortised and at most
//! `capacity` descriptors are parked. Descriptors are `Arc`s: one evicted
//! while a request uses it stays open until that request is done.
//! Descriptors are closed after the lock is released.

use rustix::fd::OwnedFd;
use rustix::io;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// A shared `O_PATH` descriptor.
pub(crate) type PathFd = Arc<OwnedFd>;

#[derive(Default)]
struct Generations {
    young: HashMap<u64, PathFd>,
    old: HashMap<u64, PathFd>,
}

/// The cache, keyed by [`crate::Inode`] ids.
pub(crate) struct FdCache {
    gens: Mutex<Generations>,
    half: usize,
}

fn lock(m: &Mutex<Generations>) -> MutexGuard<'_, Generations> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FdCache {
    /// A cache parking at most `capacity` (at least 2) descriptors.
    pub(crate) fn new(capacity: usize) -> FdCache {
        FdCache {
            gens: Mutex::new(Generations::default()),
            half: (capacity / 2).max(1),
        }
    }

    /// The parked descriptor of inode `id`, if any.
    pub(crate) fn get(&self, id: u64) -> Option<PathFd> {
        let mut evicted = None;
        let fd = {
            let mut g = lock(&self.gens);
            if let Some(fd) = g.young.get(&id) {
                return Some(fd.clone());
            }
            let fd = g.old.remove(&id)?;
            g.young.insert(id, fd.clone());
            if g.young.len() >= self.half {
                evicted = Some(rotate(&mut g));
            }
            fd
        };
        drop(evicted);
        Some(fd)
    }

    /// Parks `fd` for inode `id`.
    pub(crate) fn insert(&self, id: u64, fd: PathFd) {
        let evicted = {
            let mut g = lock(&self.gens);
            let prev = g.old.remove(&id);
            let prev2 = g.young.insert(id, fd);
            let rotated = (g.young.len() >= self.half).then(|| rotate(&mut g));
            (prev, prev2, rotated)
        };
        drop(evicted);
    }

    /// Forgets inode `id` (it is being dropped).
    pub(crate) fn remove(&self, id: u64) {
        let evicted = {
            let mut g = lock(&self.gens);
            (g.young.remove(&id), g.old.remove(&id))
        };
        drop(evicted);
    }

    /// Descriptor pressure (`EMFILE` / `ENFILE`): closes the old
    /// generation, or everything if it was empty. Returns whether any
    /// descriptor was released.
    pub(crate) fn shed(&self) -> bool {
        let evicted = {
            let mut g = lock(&self.gens);
            if g.old.is_empty() {
                std::mem::take(&mut g.young)
            } else {
                std::mem::take(&mut g.old)
            }
        };
        !evicted.is_empty()
    }

    /// Number of parked descriptors.
    pub(crate) fn len(&self) -> usize {
        let g = lock(&self.gens);
        g.young.len() + g.old.len()
    }
}

fn rotate(g: &mut Generations) -> HashMap<u64, PathFd> {
    let young = std::mem::take(&mut g.young);
    std::mem::replace(&mut g.old, young)
}

/// Runs `f`, a call that creates a descriptor; on `EMFILE` / `ENFILE`
/// sheds cached descriptors and retries while that frees any.
pub(crate) fn retry_on_fd_pressure<T>(
    cache: &FdCache,
    mut f: impl FnMut() -> io::Result<T>,
) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if (e == io::Errno::MFILE || e == io::Errno::NFILE) && cache.shed() => continue,
            r => return r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fd() -> PathFd {
        Arc::new(
            rustix::fs::open(
                c"/",
                rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .expect("open /"),
        )
    }

    #[test]
    fn bounded_and_promotes() {
        let c = FdCache::new(8);
        for id in 0..100 {
            c.insert(id, fd());
            assert!(c.len() <= 8, "len {}", c.len());
        }
        // The most recent inserts are still there.
        assert!(c.get(99).is_some());
        assert!(c.get(0).is_none());
        c.remove(99);
        assert!(c.get(99).is_none());
        assert!(c.shed());
        while c.shed() {}
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn in_use_fd_survives_eviction() {
        let c = FdCache::new(2);
        c.insert(1, fd());
        let held = c.get(1).expect("cached");
        while c.shed() {}
        // The evicted descriptor is still open for its holder.
        assert!(rustix::fs::fstatfs(&*held).is_ok());
        assert_eq!(Arc::strong_count(&held), 1);
    }

    #[test]
    fn retries_only_while_shedding_helps() {
        let c = FdCache::new(4);
        c.insert(1, fd());
        let mut calls = 0;
        let r: io::Result<()> = retry_on_fd_pressure(&c, || {
            calls += 1;
            Err(io::Errno::MFILE)
        });
        assert_eq!(r, Err(io::Errno::MFILE));
        assert_eq!(calls, 2);
    }
}
