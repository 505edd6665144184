//! Server-to-kernel notifications (fuse.h `enum fuse_notify_code`): a
//! message with `unique == 0` written to the device, telling the kernel to
//! drop cached names or attributes after the host changed behind its back.

use crate::dev::FuseDev;
use arcbox_fs::Name;
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

fn errno(e: arcbox_fs::Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw())
}
