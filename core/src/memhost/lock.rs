//! The locks on one node: POSIX record locks held by lock owner, and BSD
//! `flock`s held by open file. Nothing waits here: a conflicting request,
//! even one that asked to sleep, fails with `EAGAIN` (an in-memory host
//! cannot block a worker on another request's progress).

use crate::abi::{FileLock, lock};
use crate::errno::{Errno, Result};
use alloc::vec::Vec;

/// Most locks held on one node; more is `ENOLCK`.
const MAX_LOCKS: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Held {
    /// Lock owner (POSIX) or open-file id (flock).
    owner: u64,
    flock: bool,
    start: u64,
    end: u64,
    typ: u32,
    pid: u32,
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

/// The lock table of one node.
#[derive(Debug, Default)]
pub(super) struct Locks {
    held: Vec<Held>,
}

fn check(lk: &FileLock) -> Result<()> {
    if lk.start > lk.end || lk.typ > lock::F_UNLCK {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

impl Locks {
    /// The first lock of another owner in conflict with `lk`, else `lk` as `F_UNLCK`.
    pub(super) fn test(&self, owner: u64, lk: &FileLock) -> Result<FileLock> {
        check(lk)?;
        if lk.typ != lock::F_UNLCK {
            if let Some(h) = self
                .held
                .iter()
                .find(|h| h.conflicts(owner, false, lk.start, lk.end, lk.typ))
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

    /// Takes, changes or drops (`F_UNLCK`) a lock over `lk`'s range.
    pub(super) fn set(&mut self, owner: u64, flock: bool, lk: &FileLock) -> Result<()> {
        check(lk)?;
        if lk.typ != lock::F_UNLCK
            && self
                .held
                .iter()
                .any(|h| h.conflicts(owner, flock, lk.start, lk.end, lk.typ))
        {
            return Err(Errno::EAGAIN);
        }
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

    /// Drops every lock of `owner` of one kind.
    pub(super) fn release(&mut self, owner: u64, flock: bool) {
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
    fn ranges_split_conflict_and_release() {
        let mut t = Locks::default();
        t.set(1, false, &lk(0, 99, lock::F_WRLCK)).unwrap();
        assert_eq!(
            t.set(2, false, &lk(50, 60, lock::F_RDLCK)),
            Err(Errno::EAGAIN)
        );
        t.set(1, false, &lk(40, 69, lock::F_UNLCK)).unwrap();
        t.set(2, false, &lk(50, 60, lock::F_RDLCK)).unwrap();
        assert_eq!(t.test(3, &lk(0, 200, lock::F_WRLCK)).unwrap().start, 0);
        assert_eq!(
            t.test(3, &lk(40, 49, lock::F_RDLCK)).unwrap().typ,
            lock::F_UNLCK
        );
        assert_eq!(
            t.set(1, false, &lk(5, 4, lock::F_RDLCK)),
            Err(Errno::EINVAL)
        );
        assert_eq!(t.set(1, false, &lk(0, 4, 9)), Err(Errno::EINVAL));
        t.set(9, true, &lk(0, u64::MAX, lock::F_WRLCK)).unwrap();
        assert_eq!(
            t.set(8, true, &lk(0, u64::MAX, lock::F_RDLCK)),
            Err(Errno::EAGAIN)
        );
        t.release(9, true);
        t.set(8, true, &lk(0, u64::MAX, lock::F_RDLCK)).unwrap();
        t.release(1, false);
        assert_eq!(
            t.test(3, &lk(0, 39, lock::F_WRLCK)).unwrap().typ,
            lock::F_UNLCK
        );
    }
}
