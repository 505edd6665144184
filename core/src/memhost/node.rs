//! One node of the in-memory tree: attributes, contents, xattrs, locks, and
//! the count of host references ([`super::MemInode`], [`super::MemFile`])
//! that keep an unlinked node alive.

use super::xattr::Xattrs;
use crate::abi::mode;
use crate::host::{HostKey, Stat};
use crate::memfs::data::FileData as Data;
use crate::memfs::lock::LockTable as Locks;
use crate::time::Timespec;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;

/// Preferred I/O size reported in `st_blksize`.
pub(super) const BLKSIZE: u32 = 4096;

/// What a node holds.
#[derive(Debug)]
pub(super) enum Kind {
    /// A regular file.
    File(Data),
    /// A directory: its parent (itself for the root) and its entries.
    Dir {
        /// Parent directory's inode number.
        parent: u64,
        /// Name → inode number.
        entries: BTreeMap<Box<[u8]>, u64>,
    },
    /// A symlink and its target, stored verbatim.
    Symlink(Box<[u8]>),
    /// A device node, FIFO or socket: metadata only.
    Special,
}

/// A node; see the module docs.
#[derive(Debug)]
pub(super) struct Node {
    /// `S_IF*` type and permission bits.
    pub(super) mode: u32,
    /// Owner.
    pub(super) uid: u32,
    /// Group.
    pub(super) gid: u32,
    /// Device number of a device node.
    pub(super) rdev: u32,
    /// Names (plus `.` and the children's `..` for directories).
    pub(super) nlink: u32,
    /// Access time.
    pub(super) atime: Timespec,
    /// Modification time.
    pub(super) mtime: Timespec,
    /// Status change time.
    pub(super) ctime: Timespec,
    /// Birth time.
    pub(super) btime: Timespec,
    /// Live host references; the node is freed at `nlink == 0 && refs == 0`.
    pub(super) refs: u64,
    /// An `O_TMPFILE` file that may still be linked in.
    pub(super) linkable: bool,
    /// Extended attributes.
    pub(super) xattrs: Xattrs,
    /// Record locks and flocks.
    pub(super) locks: Locks,
    /// Contents.
    pub(super) kind: Kind,
}

impl Node {
    /// A node with all times `now`.
    pub(super) fn new(kind: Kind, mode: u32, uid: u32, gid: u32, now: Timespec) -> Node {
        Node {
            mode,
            uid,
            gid,
            rdev: 0,
            nlink: if matches!(kind, Kind::Dir { .. }) {
                2
            } else {
                1
            },
            atime: now,
            mtime: now,
            ctime: now,
            btime: now,
            refs: 0,
            linkable: false,
            xattrs: Xattrs::default(),
            locks: Locks::default(),
            kind,
        }
    }

    /// Whether this is a directory.
    pub(super) fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Dir { .. })
    }

    /// The file type bits.
    pub(super) fn typ(&self) -> u32 {
        self.mode & mode::S_IFMT
    }

    /// Status, with identity (`dev`, `ino`).
    pub(super) fn stat(&self, dev: u64, ino: u64) -> Stat {
        let (size, blocks) = match &self.kind {
            Kind::File(d) => (d.size(), d.pages() * (crate::memfs::data::PAGE / 512)),
            Kind::Dir { entries, .. } => ((entries.len() as u64 + 2) * 32, 8),
            Kind::Symlink(t) => (t.len() as u64, 0),
            Kind::Special => (0, 0),
        };
        Stat {
            key: HostKey {
                dev,
                ino,
                mnt_id: 0,
            },
            mode: self.mode,
            nlink: self.nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: self.rdev,
            size,
            blksize: BLKSIZE,
            blocks,
            atime: self.atime,
            mtime: self.mtime,
            ctime: self.ctime,
            btime: Some(self.btime),
        }
    }

    /// Clears set-user-id, set-group-id (when group-executable: otherwise it
    /// marks mandatory locking) and file capabilities, as a write or
    /// truncate by an unprivileged process does.
    pub(super) fn kill_priv(&mut self) {
        if self.typ() != mode::S_IFREG {
            return;
        }
        self.mode &= !mode::S_ISUID;
        if self.mode & 0o010 != 0 {
            self.mode &= !mode::S_ISGID;
        }
        self.xattrs.discard(b"security.capability");
    }
}
