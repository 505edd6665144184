//! Host-change invalidation with inotify.
//!
//! The passthrough asks to watch the directories its negative entries and
//! cached attributes depend on; every change made on the host (by anyone,
//! the server included) is reported as a [`HostChange`] when the
//! passthrough drains the queue. A lost-events overflow is reported as
//! [`HostChange::Overflow`] so every cache is dropped.

use arcbox_fs::host::{HostChange, HostKey};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::io;
use std::collections::HashMap;
use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::sync::{Mutex, MutexGuard};

/// Size of the event buffer (a few hundred events per read).
const BUF_LEN: usize = 16 * 1024;

/// What a watch reports: entries created, removed, renamed, or whose
/// attributes or data changed, and the directory itself going away.
const MASK: WatchFlags = WatchFlags::CREATE
    .union(WatchFlags::DELETE)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::ATTRIB)
    .union(WatchFlags::MODIFY)
    .union(WatchFlags::CLOSE_WRITE)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF)
    .union(WatchFlags::ONLYDIR)
    .union(WatchFlags::EXCL_UNLINK);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One inotify instance and its watches.
pub(crate) struct Watcher {
    fd: OwnedFd,
    /// Watch descriptor → (directory, number of inodes holding the watch).
    wds: Mutex<HashMap<i32, (HostKey, usize)>>,
    /// Event buffer; its lock also serialises draining.
    buf: Mutex<Vec<MaybeUninit<u8>>>,
}

impl Watcher {
    /// A non-blocking inotify instance.
    ///
    /// See [inotify(7)](https://man7.org/linux/man-pages/man7/inotify.7.html).
    pub(crate) fn new() -> io::Result<Watcher> {
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
        let mut buf = Vec::new();
        buf.resize(BUF_LEN, MaybeUninit::uninit());
        Ok(Watcher {
            fd,
            wds: Mutex::new(HashMap::new()),
            buf: Mutex::new(buf),
        })
    }

    /// Watches the directory at `path` (a `/proc/self/fd` magic link),
    /// whose identity is `dir`; returns the watch descriptor, to pass to
    /// [`Watcher::release`] once.
    pub(crate) fn add(&self, path: &CStr, dir: HostKey) -> io::Result<i32> {
        let wd = inotify::add_watch(&self.fd, path, MASK)?;
        let mut wds = lock(&self.wds);
        let e = wds.entry(wd).or_insert((dir, 0));
        e.0 = dir;
        e.1 = e.1.saturating_add(1);
        Ok(wd)
    }

    /// Drops one hold on `wd`; the last one removes the watch.
    pub(crate) fn release(&self, wd: i32) {
        let last = {
            let mut wds = lock(&self.wds);
            match wds.get_mut(&wd) {
                Some(e) if e.1 > 1 => {
                    e.1 -= 1;
                    false
                }
                Some(_) => {
                    wds.remove(&wd);
                    true
                }
                None => false,
            }
        };
        if last {
            // EINVAL when the kernel already dropped it (directory deleted).
            let _ = inotify::remove_watch(&self.fd, wd);
        }
    }

    /// Number of live watches.
    pub(crate) fn len(&self) -> usize {
        lock(&self.wds).len()
    }

    /// Reports every queued event to `f` without blocking.
    pub(crate) fn drain(&self, f: &mut dyn FnMut(HostChange<'_>)) {
        let mut buf = lock(&self.buf);
        let mut reader = inotify::Reader::new(self.fd.as_fd(), &mut buf);
        loop {
            let ev = match reader.next() {
                Ok(ev) => ev,
                Err(io::Errno::INTR) => continue,
                // EAGAIN: queue empty. Anything else: nothing more to read now.
                Err(_) => break,
            };
            let events = ev.events();
            if events.contains(ReadFlags::QUEUE_OVERFLOW) {
                f(HostChange::Overflow);
                continue;
            }
            let wd = ev.wd();
            if events.contains(ReadFlags::IGNORED) {
                // The kernel removed the watch (directory gone or unmounted).
                let dir = lock(&self.wds).remove(&wd).map(|e| e.0);
                if let Some(dir) = dir {
                    f(HostChange::Inode(dir));
                }
                continue;
            }
            let Some(dir) = lock(&self.wds).get(&wd).map(|e| e.0) else {
                continue;
            };
            match ev.file_name() {
                Some(name) if !name.to_bytes().is_empty() => f(HostChange::Entry {
                    dir,
                    name: name.to_bytes(),
                }),
                _ => f(HostChange::Inode(dir)),
            }
        }
    }
}
