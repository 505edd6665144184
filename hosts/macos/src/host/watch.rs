//! Host-change notification through kqueue `EVFILT_VNODE`.
//!
//! Each watched directory gets an `O_EVTONLY` descriptor registered with
//! one kqueue for `NOTE_WRITE` (entries added, removed or renamed),
//! `NOTE_LINK`, `NOTE_RENAME`, `NOTE_ATTRIB`, `NOTE_EXTEND`, `NOTE_DELETE`
//! and `NOTE_REVOKE`. kqueue does not name the entry that changed, so a
//! directory event is reported as [`HostChange::Inode`] of the directory:
//! its data — its entries — changed, and every cached name under it
//! (negative entries included) must be dropped.
//!
//! Watches are capped; dropping one (to make room, or because it could not
//! be set up) reports [`HostChange::Overflow`], since cached entries under
//! that directory would no longer be invalidated.

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};

use arcbox_fs::errno::Result;
use arcbox_fs::host::{HostChange, HostKey};

use super::sys;

/// `EVFILT_VNODE` events watched (`<sys/event.h>`).
const VNODE_EVENTS: u32 = libc::NOTE_WRITE
    | libc::NOTE_LINK
    | libc::NOTE_RENAME
    | libc::NOTE_ATTRIB
    | libc::NOTE_EXTEND
    | libc::NOTE_DELETE
    | libc::NOTE_REVOKE;

/// Events taken per `kevent` call.
const BATCH: usize = 32;

#[derive(Debug, Default)]
struct Inner {
    by_key: HashMap<HostKey, usize>,
    by_ident: HashMap<usize, (HostKey, OwnedFd)>,
    order: VecDeque<HostKey>,
    overflow: bool,
}

/// The kqueue and its watched directories.
#[derive(Debug)]
pub(crate) struct Watcher {
    kq: OwnedFd,
    inner: Mutex<Inner>,
    cap: usize,
}

impl Watcher {
    /// A watcher of at most `cap` directories.
    pub(crate) fn new(cap: usize) -> Result<Watcher> {
        Ok(Watcher {
            kq: sys::kqueue()?,
            inner: Mutex::new(Inner::default()),
            cap: cap.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `key` is watched.
    pub(crate) fn is_watched(&self, key: &HostKey) -> bool {
        self.lock().by_key.contains_key(key)
    }

    /// Watches the directory `key` through `fd` (opened `O_EVTONLY`), or
    /// records an overflow if `fd` is an error.
    pub(crate) fn add(&self, key: HostKey, fd: Result<OwnedFd>) {
        let fd = match fd.and_then(|fd| {
            sys::kevent_watch_vnode(self.kq.as_fd(), fd.as_fd(), VNODE_EVENTS).map(|()| fd)
        }) {
            Ok(fd) => fd,
            Err(_) => {
                self.lock().overflow = true;
                return;
            }
        };
        let Ok(ident) = usize::try_from(fd.as_raw_fd()) else {
            return;
        };
        let mut dropped = Vec::new();
        {
            let mut g = self.lock();
            if let std::collections::hash_map::Entry::Vacant(slot) = g.by_key.entry(key) {
                slot.insert(ident);
                g.by_ident.insert(ident, (key, fd));
                g.order.push_back(key);
                while g.by_key.len() > self.cap {
                    let Some(old) = g.order.pop_front() else {
                        break;
                    };
                    if let Some(id) = g.by_key.remove(&old) {
                        if let Some((_, ofd)) = g.by_ident.remove(&id) {
                            dropped.push(ofd);
                        }
                        g.overflow = true;
                    }
                }
            } else {
                dropped.push(fd);
            }
        }
        // Closing a descriptor removes its kqueue registration.
        drop(dropped);
    }

    /// Reports the changes seen since the last call.
    pub(crate) fn drain(&self, f: &mut dyn FnMut(HostChange<'_>)) {
        loop {
            let mut evs = [libc::kevent {
                ident: 0,
                filter: 0,
                flags: 0,
                fflags: 0,
                data: 0,
                udata: std::ptr::null_mut(),
            }; BATCH];
            let n = match sys::kevent_poll(self.kq.as_fd(), &mut evs) {
                Ok(n) => n,
                Err(_) => {
                    f(HostChange::Overflow);
                    return;
                }
            };
            let mut keys = [HostKey::default(); BATCH];
            let mut count = 0;
            let mut dropped = Vec::new();
            let overflow;
            {
                let mut g = self.lock();
                for ev in evs.iter().take(n) {
                    // `struct kevent` is packed: copy fields out before borrowing.
                    let (ident, fflags) = (ev.ident, ev.fflags);
                    let Some(key) = g.by_ident.get(&ident).map(|(k, _)| *k) else {
                        continue;
                    };
                    let gone = fflags & (libc::NOTE_DELETE | libc::NOTE_REVOKE) != 0;
                    if gone {
                        g.by_key.remove(&key);
                        if let Some((_, fd)) = g.by_ident.remove(&ident) {
                            dropped.push(fd);
                        }
                        g.order.retain(|k| *k != key);
                    }
                    if let Some(slot) = keys.get_mut(count) {
                        *slot = key;
                        count += 1;
                    }
                }
                overflow = std::mem::take(&mut g.overflow);
            }
            drop(dropped);
            if overflow {
                f(HostChange::Overflow);
            }
            for &key in keys.iter().take(count) {
                f(HostChange::Inode(key));
            }
            if n < BATCH {
                return;
            }
        }
    }
}
