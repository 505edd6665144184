//! State every inode, file and the host share: the `/proc/self/fd`
//! directory, the descriptor cache, mount descriptors for file handles,
//! capabilities found at start, and the watcher. Also the one place that
//! resolves a name and turns a path descriptor into an [`Inode`].

use crate::budget::FdBudget;
use crate::errno::IntoWire;
use crate::fanotify::Fanotify;
use crate::fdcache::{FdCache, PathFd, retry_on_fd_pressure};
use crate::inode::{Inode, Repr};
use crate::proc::ProcFdPath;
use crate::stat::{from_statx, statx_fd};
use crate::sys;
use crate::watch::Watcher;
use arcbox_fs::abi::mode;
use arcbox_fs::host::Stat;
use arcbox_fs::{Errno, Name};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How many times a resolution that raced with a rename (`EAGAIN` from
/// `openat2`) is retried before giving up.
const RACE_RETRIES: usize = 8;

/// Shared host state (see the module docs).
pub(crate) struct Shared {
    /// `/proc/self/fd`, verified to be procfs.
    pub(crate) proc_fd_dir: OwnedFd,
    /// Parked `O_PATH` descriptors of file-handle inodes.
    pub(crate) cache: FdCache,
    /// Mount id → a descriptor on that mount, for `open_by_handle_at`.
    mounts: Mutex<HashMap<i32, PathFd>>,
    /// Whether inodes may be held by file handle.
    pub(crate) handles: bool,
    /// Whether `openat2` is available (cleared on `ENOSYS`).
    openat2: AtomicBool,
    /// Next inode id (cache key).
    next_id: AtomicU64,
    /// Whether the process may switch filesystem credentials.
    pub(crate) privileged: bool,
    /// Whether the process has `CAP_FSETID` (writes keep set-id bits).
    pub(crate) fsetid: bool,
    /// The inotify watcher, if enabled (with fanotify, only for directories
    /// of file systems the fanotify mark does not cover).
    pub(crate) watcher: Option<Watcher>,
    /// The guest's share of the descriptor table.
    pub(crate) budget: Arc<FdBudget>,
    /// The file-system-wide fanotify watcher, if enabled and permitted.
    pub(crate) fanotify: Option<Fanotify>,
}

impl Shared {
    /// Builds the shared state.
    pub(crate) fn new(
        proc_fd_dir: OwnedFd,
        cache_capacity: usize,
        handles: bool,
        openat2: bool,
        watcher: Option<Watcher>,
        budget: Arc<FdBudget>,
        fanotify: Option<Fanotify>,
        switch_creds: bool,
    ) -> Shared {
        Shared {
            proc_fd_dir,
            cache: FdCache::new(cache_capacity),
            mounts: Mutex::new(HashMap::new()),
            handles,
            openat2: AtomicBool::new(openat2),
            next_id: AtomicU64::new(1),
            privileged: switch_creds && crate::creds::can_switch(),
            fsetid: crate::killpriv::has_fsetid(),
            watcher,
            budget,
            fanotify,
        }
    }

    /// Runs a descriptor-creating call, shedding cached descriptors under
    /// `EMFILE` / `ENFILE`.
    pub(crate) fn fd_call<T>(&self, f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
        retry_on_fd_pressure(&self.cache, f)
    }

    /// Reopens the inode `fd` refers to through `/proc/self/fd/N` with
    /// `flags` (`O_CLOEXEC` added). The caller has checked the type: the
    /// magic link is followed, so this must never be used to open a
    /// device, FIFO or socket for I/O.
    pub(crate) fn reopen(&self, fd: BorrowedFd<'_>, flags: OFlags) -> io::Result<OwnedFd> {
        let p = ProcFdPath::new(fd);
        self.fd_call(|| {
            rustix::fs::openat(
                &self.proc_fd_dir,
                p.name(),
                flags | OFlags::CLOEXEC,
                Mode::empty(),
            )
        })
    }

    /// Opens the single component `name` under `dir` without following any
    /// symlink and without leaving `dir`: `openat2` with `RESOLVE_BENEATH |
    /// RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS`, or, where the kernel
    /// lacks `openat2`, `openat` with `O_NOFOLLOW` (equivalent for one
    /// validated component). `O_NOFOLLOW | O_CLOEXEC` are always added.
    ///
    /// See [openat2(2)](https://man7.org/linux/man-pages/man2/openat2.2.html).
    pub(crate) fn open_beneath(
        &self,
        dir: BorrowedFd<'_>,
        name: Name<'_>,
        flags: OFlags,
        mode: Mode,
    ) -> io::Result<OwnedFd> {
        let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let name = name.as_bytes();
        if self.openat2.load(Ordering::Relaxed) {
            let resolve =
                ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS | ResolveFlags::NO_SYMLINKS;
            let mut tries = 0;
            loop {
                match self.fd_call(|| rustix::fs::openat2(dir, name, flags, mode, resolve)) {
                    Err(io::Errno::AGAIN) if tries < RACE_RETRIES => tries += 1,
                    Err(io::Errno::NOSYS) => {
                        self.openat2.store(false, Ordering::Relaxed);
                        break;
                    }
                    r => return r,
                }
            }
        }
        self.fd_call(|| rustix::fs::openat(dir, name, flags, mode))
    }

    /// A descriptor on mount `mnt_id` usable as `open_by_handle_at`'s
    /// `mount_fd`, made from `fd` (an inode on that mount of type `typ`)
    /// when none is known yet and `introduce` allows. `mount_fd` must not be
    /// `O_PATH`, so only a directory can introduce a mount (it is opened
    /// read-only).
    fn mount_fd(
        &self,
        mnt_id: i32,
        fd: BorrowedFd<'_>,
        typ: u32,
        introduce: bool,
    ) -> Option<PathFd> {
        if let Some(m) = lock(&self.mounts).get(&mnt_id) {
            return Some(m.clone());
        }
        if typ != mode::S_IFDIR || !introduce {
            return None;
        }
        let m = Arc::new(self.reopen(fd, OFlags::RDONLY | OFlags::DIRECTORY).ok()?);
        Some(lock(&self.mounts).entry(mnt_id).or_insert(m).clone())
    }

    /// Makes an [`Inode`] of a fresh `O_PATH` descriptor: its status, and
    /// its file handle when the filesystem offers one (then `fd` is only
    /// parked in the cache), else the descriptor itself.
    pub(crate) fn inode_from_path_fd(
        self: &Arc<Self>,
        fd: OwnedFd,
        allow_handle: bool,
    ) -> Result<(Inode, Stat), Errno> {
        self.inode_from(fd, allow_handle, true)
    }

    /// As [`Self::inode_from_path_fd`] for an inode that may lie outside the
    /// share (`..` of a directory, before it is checked): held by handle
    /// only on a mount already known, so no descriptor on another mount is
    /// ever kept for it.
    pub(crate) fn inode_from_path_fd_known_mounts(
        self: &Arc<Self>,
        fd: OwnedFd,
    ) -> Result<(Inode, Stat), Errno> {
        self.inode_from(fd, true, false)
    }

    fn inode_from(
        self: &Arc<Self>,
        fd: OwnedFd,
        allow_handle: bool,
        new_mounts: bool,
    ) -> Result<(Inode, Stat), Errno> {
        let st = from_statx(&statx_fd(&fd).wire()?);
        let typ = st.mode & mode::S_IFMT;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let handle = if self.handles && allow_handle {
            sys::name_to_handle_at(&fd, c"", libc::AT_EMPTY_PATH)
                .ok()
                .and_then(|(h, mnt)| {
                    self.mount_fd(mnt, fd.as_fd(), typ, new_mounts)
                        .map(|m| (h, m))
                })
        } else {
            None
        };
        let repr = match handle {
            Some((handle, mount)) => {
                self.cache.insert(id, Arc::new(fd));
                Repr::Handle { handle, mount }
            }
            None => Repr::Fd(Arc::new(fd)),
        };
        Ok((Inode::new(self.clone(), id, typ, st.key, repr), st))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
