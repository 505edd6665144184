//! Host-change invalidation with a bounded set of inotify watches.
//!
//! The passthrough asks to watch the directories its negative entries and
//! cached attributes depend on; every change made on the host (by anyone,
//! the server included) is reported as a [`HostChange`] when the
//! passthrough drains the queue. A lost-events overflow is reported as
//! [`HostChange::Overflow`] so every cache is dropped.
//!
//! Watches are bounded: at most `cap` directories are watched (inotify
//! watches count against the per-user `fs.inotify.max_user_watches`, shared
//! with every process of the server's user). When a new directory needs a
//! watch at the cap, the least recently used one is removed and reported
//! once as [`HostChange::Inode`] of that directory, so the passthrough stops
//! trusting its negative entries there; an unwatched directory's names are
//! then trusted only for the cache timeouts (TTL). The next lookup in it
//! watches it again.

use arcbox_fs::host::{HostChange, HostKey};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::io;
use std::collections::{BTreeMap, HashMap};
use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::sync::{Mutex, MutexGuard};

/// Size of the event buffer (a few hundred events per read).
const BUF_LEN: usize = 16 * 1024;

/// Default cap on watched directories: well below the usual per-user limit
/// (8192 on older kernels, ~1% of RAM in watches on newer ones).
pub const DEFAULT_WATCH_CAP: usize = 8192;

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

/// One kernel watch.
struct Watch {
    /// The watched directory.
    dir: HostKey,
    /// Tokens (one per [`crate::Inode`] holding the watch).
    tokens: Vec<u64>,
    /// Last use, a key of [`State::lru`].
    tick: u64,
}

/// The watch table, under one lock.
#[derive(Default)]
struct State {
    /// Next token to hand out (0 is never used: it means "no watch").
    next_token: u64,
    /// Use counter for [`Watch::tick`].
    tick: u64,
    /// Token → watch descriptor.
    tokens: HashMap<u64, i32>,
    /// Watch descriptor → watch.
    wds: HashMap<i32, Watch>,
    /// Last use → watch descriptor, oldest first.
    lru: BTreeMap<u64, i32>,
    /// Directories whose watch was evicted, not yet reported.
    evicted: Vec<HostKey>,
}

impl State {
    fn next_tick(&mut self) -> u64 {
        self.tick = self.tick.wrapping_add(1);
        self.tick
    }

    /// Forgets `wd` and every token holding it; returns its directory.
    fn forget(&mut self, wd: i32) -> Option<HostKey> {
        let w = self.wds.remove(&wd)?;
        self.lru.remove(&w.tick);
        for t in &w.tokens {
            self.tokens.remove(t);
        }
        Some(w.dir)
    }
}

/// One inotify instance and its bounded set of watches.
pub(crate) struct Watcher {
    fd: OwnedFd,
    /// Most watched directories.
    cap: usize,
    state: Mutex<State>,
    /// Event buffer; its lock also serialises draining.
    buf: Mutex<Vec<MaybeUninit<u8>>>,
}

impl Watcher {
    /// A non-blocking inotify instance watching at most `cap` (≥ 1)
    /// directories.
    ///
    /// See [inotify(7)](https://man7.org/linux/man-pages/man7/inotify.7.html).
    pub(crate) fn new(cap: usize) -> io::Result<Watcher> {
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
        let mut buf = Vec::new();
        buf.resize(BUF_LEN, MaybeUninit::uninit());
        Ok(Watcher {
            fd,
            cap: cap.max(1),
            state: Mutex::new(State {
                next_token: 1,
                ..State::default()
            }),
            buf: Mutex::new(buf),
        })
    }

    /// Marks the watch held by `token` as just used; `false` if it is gone
    /// (evicted, or removed by the kernel), so the caller watches again.
    pub(crate) fn touch(&self, token: u64) -> bool {
        let mut st = lock(&self.state);
        let Some(&wd) = st.tokens.get(&token) else {
            return false;
        };
        let tick = st.next_tick();
        let State { wds, lru, .. } = &mut *st;
        if let Some(w) = wds.get_mut(&wd) {
            lru.remove(&w.tick);
            w.tick = tick;
            lru.insert(tick, wd);
        }
        true
    }

    /// Watches the directory at `path` (a `/proc/self/fd` magic link),
    /// whose identity is `dir`, evicting the least recently used watch at
    /// the cap; returns a token (never 0) to pass to [`Watcher::touch`] and
    /// once to [`Watcher::release`].
    pub(crate) fn add(&self, path: &CStr, dir: HostKey) -> io::Result<u64> {
        // The table lock is held across the syscalls so that eviction and
        // the new watch are one step (the count never exceeds the cap).
        // At the cap the oldest watch goes even if `dir` is already
        // watched (the count then drops below the cap): cheaper than a
        // search, and harmless.
        let mut st = lock(&self.state);
        if st.wds.len() >= self.cap {
            if let Some((_, wd)) = st.lru.pop_first() {
                if let Some(d) = st.forget(wd) {
                    st.evicted.push(d);
                }
                // EINVAL when the kernel already dropped it.
                let _ = inotify::remove_watch(&self.fd, wd);
            }
        }
        let wd = inotify::add_watch(&self.fd, path, MASK)?;
        let token = st.next_token;
        st.next_token = st.next_token.wrapping_add(1).max(1);
        let tick = st.next_tick();
        let State {
            wds, lru, tokens, ..
        } = &mut *st;
        let w = wds.entry(wd).or_insert_with(|| Watch {
            dir,
            tokens: Vec::new(),
            tick,
        });
        w.dir = dir;
        w.tokens.push(token);
        lru.remove(&w.tick);
        w.tick = tick;
        lru.insert(tick, wd);
        tokens.insert(token, wd);
        Ok(token)
    }

    /// Drops the hold of `token`; the last one removes the watch.
    pub(crate) fn release(&self, token: u64) {
        let mut st = lock(&self.state);
        let Some(wd) = st.tokens.remove(&token) else {
            return;
        };
        let last = match st.wds.get_mut(&wd) {
            Some(w) => {
                w.tokens.retain(|&t| t != token);
                w.tokens.is_empty()
            }
            None => false,
        };
        if last {
            st.forget(wd);
            // EINVAL when the kernel already dropped it (directory deleted).
            let _ = inotify::remove_watch(&self.fd, wd);
        }
    }

    /// Number of live watches.
    pub(crate) fn len(&self) -> usize {
        lock(&self.state).wds.len()
    }

    /// The cap on live watches.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// Reports every queued event (and every eviction) to `f` without
    /// blocking.
    pub(crate) fn drain(&self, f: &mut dyn FnMut(HostChange<'_>)) {
        let mut buf = lock(&self.buf);
        let evicted = std::mem::take(&mut lock(&self.state).evicted);
        for d in evicted {
            f(HostChange::Inode(d));
        }
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
                // The kernel removed the watch (directory gone or unmounted),
                // or we did (then it is no longer in the table).
                let dir = lock(&self.state).forget(wd);
                if let Some(dir) = dir {
                    f(HostChange::Inode(dir));
                }
                continue;
            }
            let Some(dir) = lock(&self.state).wds.get(&wd).map(|w| w.dir) else {
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
