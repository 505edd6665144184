//! Server-to-kernel notifications (fuse.h `enum fuse_notify_code`): a
//! message with `unique == 0` written to the device, telling the kernel to
//! drop cached names or attributes after the host changed behind its back.

use crate::dev::FuseDev;
use arcbox_fs::Name;
use arcbox_fs::abi::InitFlags;
use arcbox_fs::host::Host;
use arcbox_fs::passthrough::{Invalidation, PassthroughFs};
use arcbox_fs::reply::{notify_inval_entry, notify_inval_inode};
use std::io::{self, IoSlice};
use std::sync::Arc;

/// Sends notifications on a session's device. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Notifier {
    dev: Arc<FuseDev>,
}

impl Notifier {
    pub(crate) fn new(dev: Arc<FuseDev>) -> Notifier {
        Notifier { dev }
    }

    /// `FUSE_NOTIFY_INVAL_ENTRY`: the kernel drops its dentry (positive or
    /// negative) for `name` in `parent`. With `expire_only`
    /// (`FUSE_EXPIRE_ONLY`, kernels offering `FUSE_HAS_EXPIRE_ONLY`) it only
    /// marks it expired, so the next access looks it up again; without it the
    /// kernel `d_invalidate`s the dentry, which also detaches anything
    /// mounted on it.
    ///
    /// Errors: the write failed; `ENOENT` means the kernel had no such entry.
    pub fn inval_entry(&self, parent: u64, name: Name<'_>, expire_only: bool) -> io::Result<()> {
        let mut buf = [0u8; 16 + 16 + 256];
        let n = notify_inval_entry(&mut buf[..], parent, name, expire_only).map_err(errno)?;
        self.send(&buf[..n])
    }

    /// `FUSE_NOTIFY_INVAL_INODE`: the kernel drops the node's cached
    /// attributes and data.
    ///
    /// Errors: the write failed; `ENOENT` means the kernel does not know the node.
    pub fn inval_inode(&self, nodeid: u64) -> io::Result<()> {
        let mut buf = [0u8; 16 + 24];
        let n = notify_inval_inode(&mut buf[..], nodeid, 0, 0).map_err(errno)?;
        self.send(&buf[..n])
    }

    fn send(&self, msg: &[u8]) -> io::Result<()> {
        self.dev.write_reply(&[IoSlice::new(msg)]).map(|_| ())
    }
}

/// What [`forward_host_changes`] sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Forwarded {
    /// `(parent, name)` of each `FUSE_NOTIFY_INVAL_ENTRY` (expire-only).
    pub entries: Vec<(u64, Vec<u8>)>,
    /// Node of each `FUSE_NOTIFY_INVAL_INODE` (data changed by another
    /// host process, [`Invalidation::Data`]).
    pub inodes: Vec<u64>,
    /// `(parent, name)` of each full `FUSE_NOTIFY_INVAL_ENTRY` (the name of
    /// a file in `inodes`, so the kernel drops its inode and takes the
    /// host's size on the next lookup).
    pub dropped: Vec<(u64, Vec<u8>)>,
}

/// Drains the host's watcher through `fs` and pushes what the guest kernel
/// caches into it; run it periodically (see
/// [`crate::RunningSession::spawn_periodic`]).
///
/// - A changed name ([`Invalidation::Entry`]) is only *expired*
///   (`FUSE_EXPIRE_ONLY`, when the kernel offered `FUSE_HAS_EXPIRE_ONLY`;
///   else not sent): never `d_invalidate`, which would detach mounts on it.
///   The watcher may report the guest's own changes, so nothing harsher.
/// - A file's data changed by another process ([`Invalidation::Data`],
///   only from watchers that tell the server's own changes from others',
///   i.e. fanotify) drops the kernel's cached pages and attributes
///   (`FUSE_NOTIFY_INVAL_INODE`, whole file). The kernel writes back dirty
///   pages before dropping them, and the guest's own writes never cause
///   one, so it cannot race them. With the writeback cache the kernel keeps
///   its own file size for as long as it holds the inode, so the file's
///   name is also invalidated in full (`d_invalidate`, the name of a
///   regular file only): once the guest has no file open, the kernel drops
///   the inode and takes the host's size on the next lookup.
///   [`Invalidation::Inode`] (anyone's change, maybe the guest's own
///   through the server) is not sent.
/// - [`Invalidation::All`] sends nothing: entries and attributes then live
///   out their timeouts.
///
/// Changes are collected first and sent after the drain: a notification can
/// block in the kernel on a directory lock held by a request whose worker
/// needs the host's watcher lock, which the drain holds.
pub fn forward_host_changes<H: Host>(fs: &PassthroughFs<H>, notifier: &Notifier) -> Forwarded {
    let expire_only = fs.negotiated().contains(InitFlags::HAS_EXPIRE_ONLY);
    let mut out = Forwarded::default();
    // Directory listings the kernel caches (FOPEN_CACHE_DIR, see
    // `caches_listings`) live in the directory's pages: a changed name
    // drops them too.
    let cached_dirs = fs.caches_listings();
    fs.process_host_changes(&mut |inv| match inv {
        Invalidation::Entry { parent, name } => {
            if cached_dirs {
                out.inodes.push(parent);
            }
            if expire_only {
                out.entries.push((parent, name.as_bytes().to_vec()));
            }
        }
        Invalidation::Data { node, entry } => {
            out.inodes.push(node);
            if let Some((parent, name)) = entry {
                out.dropped.push((parent, name.as_bytes().to_vec()));
            }
        }
        _ => {}
    });
    out.inodes.sort_unstable();
    out.inodes.dedup();
    for (parent, name) in &out.entries {
        if let Ok(n) = Name::new(name) {
            // ENOENT: the kernel had nothing cached; nothing to do.
            let _ = notifier.inval_entry(*parent, n, true);
        }
    }
    for &node in &out.inodes {
        // ENOENT: the kernel forgot the node; nothing to do.
        let _ = notifier.inval_inode(node);
    }
    out.dropped.sort_unstable();
    out.dropped.dedup();
    for (parent, name) in &out.dropped {
        if let Ok(n) = Name::new(name) {
            let _ = notifier.inval_entry(*parent, n, false);
        }
    }
    out
}

fn errno(e: arcbox_fs::Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw())
}
