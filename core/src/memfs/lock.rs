//! Per-inode POSIX record locks and flocks (fuse.h `fuse_lk_in`), held by
//! lock owner. No waiting: a conflicting `SETLKW` fails with `EAGAIN` like
//! `SETLK`, since a single-threaded server could never wake it.

use crate::abi::{FileLock, lock};
use crate::errno::{Errno, Result};
use alloc::vec::Vec;

/// One held lock: `[start, end]` inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Held {
    owner: u64,
    flock: bool,
    start: u64,
    end: u64,
    typ: u32,
    pid: u32,
}

/// The locks on one inode.
#[derive(Debug, Default)]
pub(crate) struct LockTable {
    held: Vec<Held>,
}

/// The most locks one inode holds; more is `ENOLCK`.
const MAX_LOCKS: usize = 1024;

fn check(lk: &FileLock) -> Result<()> {
    if lk.start > lk.end || lk.typ > lock::F_UNLCK {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

impl Held {
    fn conflicts(&self, owner: u64, flock: bool, start: u64, end: u64, typ: u32) -> bool {
        self.owner != owner
            && self.flock == flock
            && self.start <= end
            && start <= self.end
            && (self.typ == lock::F_WRLCK || typ == lock::F_WRLCK)
    }
}

impl LockTable {
    /// The first lock of another owner conflicting with `lk`, or `lk` with type `F_UNLCK`.
    pub(crate) fn test(&self, owner: u64, flock: bool, lk: &FileLock) -> Result<FileLock> {
        check(lk)?;
        if lk.typ != lock::F_UNLCK {
            if let Some(h) = self
                .held
                .iter()
                .find(|h| h.conflicts(owner, flock, lk.start, lk.end, lk.typ))
            {
                return Ok(FileLock {
                    start: h.start,
                    end: h.end,
                    typ: h.typ,
                    pid: h.pid,
                });
            }
        }
        Ok(FileLock {
            typ: lock::F_UNLCK,
            ..*lk
        })
    }

    /// Takes, changes or drops (`F_UNLCK`) `owner`'s lock over `lk`'s range.
    ///
    /// Errors: `EAGAIN` on a conflict, `EINVAL` for a bad range or type,
    /// `ENOLCK` when the table is full.
    pub(crate) fn set(&mut self, owner: u64, flock: bool, lk: &FileLock) -> Result<()> {
        check(lk)?;
        if lk.typ != lock::F_UNLCK
            && self
                .held
                .iter()
                .any(|h| h.conflicts(owner, flock, lk.start, lk.end, lk.typ))
        {
            return Err(Errno::EAGAIN);
        }
        // Cut the owner's existing locks out of [start, end].
        let mut kept = Vec::with_capacity(self.held.len() + 2);
        for h in self.held.drain(..) {
            if h.owner != owner || h.flock != flock || h.end < lk.start || lk.end < h.start {
                kept.push(h);
                continue;
            }
            if h.start < lk.start {
                kept.push(Held {
                    end: lk.start - 1,
                    ..h
                });
            }
            if h.end > lk.end {
                kept.push(Held {
                    start: lk.end + 1,
                    ..h
                });
            }
        }
        if lk.typ != lock::F_UNLCK {
            kept.push(Held {
                owner,
                flock,
                start: lk.start,
                end: lk.end,
                typ: lk.typ,
                pid: lk.pid,
            });
        }
        if kept.len() > MAX_LOCKS {
            return Err(Errno::ENOLCK);
        }
        self.held = kept;
        Ok(())
    }

    /// Drops every lock of `owner` (POSIX locks on FLUSH, flocks on RELEASE).
    pub(crate) fn release_owner(&mut self, owner: u64, flock: bool) {
        self.held.retain(|h| h.owner != owner || h.flock != flock);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lk(start: u64, end: u64, typ: u32) -> FileLock {
        FileLock {
            start,
            end,
            typ,
            pid: 7,
        }
    }

    #[test]
    fn ranges_split_and_conflict() {
        let mut t = LockTable::default();
        t.set(1, false, &lk(0, 99, lock::F_WRLCK)).unwrap();
        assert_eq!(
            t.set(2, false, &lk(50, 60, lock::F_RDLCK)),
            Err(Errno::EAGAIN)
        );
        t.set(1, false, &lk(40, 69, lock::F_UNLCK)).unwrap();
        t.set(2, false, &lk(50, 60, lock::F_RDLCK)).unwrap();
        assert_eq!(
            t.test(3, false, &lk(0, 200, lock::F_WRLCK)).unwrap().start,
            0
        );
        assert_eq!(
            t.test(3, false, &lk(40, 49, lock::F_RDLCK)).unwrap().typ,
            lock::F_UNLCK
        );
        assert_eq!(
            t.test(3, true, &lk(0, 9, lock::F_WRLCK)).unwrap().typ,
            lock::F_UNLCK
        );
        assert_eq!(
            t.set(1, false, &lk(5, 4, lock::F_RDLCK)),
            Err(Errno::EINVAL)
        );
        t.release_owner(1, false);
        assert_eq!(
            t.test(3, false, &lk(0, 39, lock::F_WRLCK)).unwrap().typ,
            lock::F_UNLCK
        );
    }
}
