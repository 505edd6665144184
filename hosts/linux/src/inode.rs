//! [`Inode`]: a path-only reference to a host inode.

use crate::fdcache::PathFd;
use crate::proc::ProcFdPath;
use crate::shared::Shared;
use crate::sys::{self, FileHandle};
use arcbox_fs::abi::mode;
use arcbox_fs::host::HostKey;
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::OFlags;
use rustix::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How an inode is held.
#[derive(Clone)]
pub(crate) enum Repr {
    /// Its own `O_PATH` descriptor (filesystems without file handles, or
    /// objects seen before any directory of their mount).
    Fd(PathFd),
    /// A kernel file handle; an `O_PATH` descriptor is reopened on demand
    /// and parked in the bounded cache, so huge trees never exhaust the
    /// descriptor limit.
    Handle {
        /// The handle.
        handle: FileHandle,
        /// A descriptor on the inode's mount.
        mount: PathFd,
    },
}

/// [`arcbox_fs::host::Host::Export`] of [`crate::LinuxHost`]: an inode's
/// kernel file handle and the descriptor of its mount (shared by every
/// inode of that mount), kept after the guest forgets the inode. It holds
/// no descriptor of its own; [`arcbox_fs::host::Host::reopen`] turns it back
/// into an [`Inode`] with `open_by_handle_at(2)`.
#[derive(Clone)]
pub struct Export {
    pub(crate) handle: FileHandle,
    pub(crate) mount: PathFd,
}

impl PartialEq for Export {
    /// Same handle: same object (a handle encodes the inode generation).
    fn eq(&self, other: &Export) -> bool {
        self.handle == other.handle
    }
}

impl std::fmt::Debug for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Export")
            .field("handle_type", &self.handle.handle_type())
            .field("handle_len", &self.handle.bytes().len())
            .finish()
    }
}

/// [`arcbox_fs::host::Host::Inode`] of [`crate::LinuxHost`]: an inode of the
/// share, reachable only through a lookup from the root. It allows no I/O;
/// [`arcbox_fs::host::Host::open`] makes a [`crate::File`] of it.
pub struct Inode {
    shared: Arc<Shared>,
    id: u64,
    typ: u32,
    key: HostKey,
    repr: Repr,
    /// Token of the inotify watch this inode holds, or 0.
    watch: AtomicU64,
}

impl Inode {
    pub(crate) fn new(shared: Arc<Shared>, id: u64, typ: u32, key: HostKey, repr: Repr) -> Inode {
        if let (Some(fan), Repr::Handle { handle, .. }) = (&shared.fanotify, &repr) {
            fan.register(handle, key, typ);
        }
        Inode {
            shared,
            id,
            typ,
            key,
            repr,
            watch: AtomicU64::new(0),
        }
    }

    /// Host identity (device, inode number, mount id).
    pub fn key(&self) -> HostKey {
        self.key
    }

    /// The `S_IFMT` bits of the inode's mode (a type never changes).
    pub fn file_type(&self) -> u32 {
        self.typ
    }

    /// Whether `other` (same device and inode number) is the same object:
    /// same type and, where both are held by file handles, the same handle
    /// (a handle encodes the inode generation, so a reused inode number
    /// differs). Fd-held inodes compare by type only; the caller checks
    /// whether the old object is gone.
    pub(crate) fn same_handle(&self, other: &Inode) -> bool {
        if self.typ != other.typ {
            return false;
        }
        match (&self.repr, &other.repr) {
            (Repr::Handle { handle: a, .. }, Repr::Handle { handle: b, .. }) => a == b,
            _ => true,
        }
    }

    /// The inode's file handle and mount descriptor, if it is held by handle.
    pub(crate) fn export(&self) -> Option<Export> {
        match &self.repr {
            Repr::Handle { handle, mount } => Some(Export {
                handle: handle.clone(),
                mount: mount.clone(),
            }),
            Repr::Fd(_) => None,
        }
    }

    /// Whether the inode is held by a kernel file handle rather than a
    /// descriptor of its own.
    pub fn has_file_handle(&self) -> bool {
        matches!(self.repr, Repr::Handle { .. })
    }

    /// An `O_PATH` descriptor of the inode: its own, or a cached one, or a
    /// fresh one from its file handle (then parked in the cache).
    pub(crate) fn path_fd(&self) -> io::Result<PathFd> {
        match &self.repr {
            Repr::Fd(fd) => Ok(fd.clone()),
            Repr::Handle { handle, mount } => {
                if let Some(fd) = self.shared.cache.get(self.id) {
                    return Ok(fd);
                }
                let fd = Arc::new(
                    self.shared
                        .fd_call(|| sys::open_by_handle_at(mount, handle, OFlags::PATH))?,
                );
                self.shared.cache.insert(self.id, fd.clone());
                Ok(fd)
            }
        }
    }

    /// Opens the inode for I/O with host `flags`. Only regular files and
    /// directories: anything else is `EACCES` (device nodes, FIFOs and
    /// sockets are never opened; a symlink is never followed).
    pub(crate) fn open_io(&self, flags: OFlags) -> io::Result<OwnedFd> {
        if self.typ != mode::S_IFREG && self.typ != mode::S_IFDIR {
            return Err(io::Errno::ACCESS);
        }
        open_repr(&self.shared, &self.repr, flags)
    }

    /// What opens this directory later, without the inode: its handle and
    /// mount, or its own descriptor (see [`DirOpener`]).
    pub(crate) fn dir_opener(&self) -> Option<DirOpener> {
        (self.typ == mode::S_IFDIR).then(|| DirOpener {
            shared: self.shared.clone(),
            repr: self.repr.clone(),
        })
    }

    /// Watches this directory, or marks its watch as just used; watches it
    /// again if its watch was evicted (the watcher is bounded).
    pub(crate) fn watch(&self) {
        let Some(w) = &self.shared.watcher else {
            return;
        };
        if self.typ != mode::S_IFDIR {
            return;
        }
        if let Some(fan) = &self.shared.fanotify {
            if fan.covers(&self.key) {
                return;
            }
        }
        let old = self.watch.load(Ordering::Acquire);
        if old != 0 && w.touch(old) {
            return;
        }
        let Ok(fd) = self.path_fd() else { return };
        let Ok(token) = w.add(ProcFdPath::new(fd.as_fd()).path(), self.key) else {
            return;
        };
        if self
            .watch
            .compare_exchange(old, token, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Another thread watched it first; drop our extra hold.
            w.release(token);
        }
    }
}

/// Opens `repr` for I/O with host `flags` (`O_CLOEXEC` added).
fn open_repr(shared: &Shared, repr: &Repr, flags: OFlags) -> io::Result<OwnedFd> {
    let flags = flags | OFlags::CLOEXEC;
    match repr {
        Repr::Handle { handle, mount } => {
            shared.fd_call(|| sys::open_by_handle_at(mount, handle, flags))
        }
        Repr::Fd(fd) => shared.reopen(fd.as_fd(), flags),
    }
}

/// A directory's means of being opened for reading, kept by a directory
/// stream until its first read: a clone of its handle and mount (no
/// descriptor of its own), or of its own `O_PATH` descriptor.
pub(crate) struct DirOpener {
    shared: Arc<Shared>,
    repr: Repr,
}

impl DirOpener {
    /// Opens the directory (`O_RDONLY | O_DIRECTORY`).
    pub(crate) fn open(&self) -> io::Result<OwnedFd> {
        open_repr(&self.shared, &self.repr, OFlags::RDONLY | OFlags::DIRECTORY)
    }

    /// The share's state (for the descriptor budget).
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Drop for Inode {
    fn drop(&mut self) {
        if let Repr::Handle { handle, .. } = &self.repr {
            self.shared.cache.remove(self.id);
            if let Some(fan) = &self.shared.fanotify {
                fan.unregister(handle);
            }
        }
        let token = self.watch.load(Ordering::Acquire);
        if token != 0 {
            if let Some(w) = &self.shared.watcher {
                // A no-op if the watch was evicted.
                w.release(token);
            }
        }
    }
}

impl std::fmt::Debug for Inode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inode")
            .field("key", &self.key)
            .field("type", &format_args!("{:o}", self.typ))
            .field("file_handle", &self.has_file_handle())
            .finish()
    }
}
