//! Inodes of the in-memory filesystem: metadata, the kind-specific contents,
//! and directories with stable READDIR offsets.

use super::data::FileData;
use super::lock::LockTable;
use super::xattr::Xattrs;
use crate::abi::{Attr, Statx, SxTime, mode};
use crate::fs::NodeId;
use crate::time::Timespec;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use hashbrown::HashMap;

/// What a node holds besides its metadata.
#[derive(Debug)]
pub(crate) enum Kind {
    /// A regular file.
    File(FileData),
    /// A directory.
    Dir(Dir),
    /// A symbolic link and its target (stored, never followed).
    Symlink(Box<[u8]>),
    /// A FIFO, socket or device node (metadata only).
    Special,
}

/// A directory's entries. Each entry gets a cookie from a counter that only
/// grows, so READDIR offsets stay valid across inserts and removals.
#[derive(Debug)]
pub(crate) struct Dir {
    /// The parent directory (the root is its own parent).
    pub(crate) parent: NodeId,
    by_name: HashMap<Box<[u8]>, u64>,
    by_cookie: BTreeMap<u64, (Box<[u8]>, NodeId)>,
    next_cookie: u64,
}

/// READDIR offset of the first real entry's cookie: offsets 1 and 2 are `.` and `..`.
pub(crate) const FIRST_ENTRY_OFF: u64 = 3;

impl Dir {
    /// An empty directory under `parent`.
    pub(crate) fn new(parent: NodeId) -> Dir {
        Dir {
            parent,
            by_name: HashMap::new(),
            by_cookie: BTreeMap::new(),
            next_cookie: FIRST_ENTRY_OFF,
        }
    }

    /// The node named `name`.
    pub(crate) fn get(&self, name: &[u8]) -> Option<NodeId> {
        let c = self.by_name.get(name)?;
        self.by_cookie.get(c).map(|(_, id)| *id)
    }

    /// Adds `name` → `id` (the caller checked it is absent).
    pub(crate) fn insert(&mut self, name: &[u8], id: NodeId) {
        let cookie = self.next_cookie;
        self.next_cookie = self.next_cookie.saturating_add(1);
        let key: Box<[u8]> = name.into();
        self.by_name.insert(key.clone(), cookie);
        self.by_cookie.insert(cookie, (key, id));
    }

    /// Points the existing entry `name` at `id`, keeping its offset.
    pub(crate) fn replace(&mut self, name: &[u8], id: NodeId) {
        if let Some(c) = self.by_name.get(name) {
            if let Some(e) = self.by_cookie.get_mut(c) {
                e.1 = id;
            }
        }
    }

    /// Removes `name`, returning the node it named.
    pub(crate) fn remove(&mut self, name: &[u8]) -> Option<NodeId> {
        let c = self.by_name.remove(name)?;
        self.by_cookie.remove(&c).map(|(_, id)| id)
    }

    /// Number of entries (without `.` and `..`).
    pub(crate) fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are no entries besides `.` and `..`.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Entries whose READDIR offset is above `offset`, in offset order: (offset, name, node).
    pub(crate) fn entries_after(&self, offset: u64) -> impl Iterator<Item = (u64, &[u8], NodeId)> {
        let from = offset.saturating_add(1).max(FIRST_ENTRY_OFF);
        self.by_cookie
            .range(from..)
            .map(|(c, (n, id))| (*c, &n[..], *id))
    }
}

/// One inode.
#[derive(Debug)]
pub(crate) struct Node {
    /// Type and permission bits (Linux `S_IF*` and `0o7777`).
    pub(crate) mode: u32,
    /// Owner.
    pub(crate) uid: u32,
    /// Group.
    pub(crate) gid: u32,
    /// Device number of a device node (Linux `new_encode_dev`).
    pub(crate) rdev: u32,
    /// Names that refer to it; for directories 2 plus subdirectories, 0 once removed.
    pub(crate) nlink: u32,
    /// Access time.
    pub(crate) atime: Timespec,
    /// Modification time.
    pub(crate) mtime: Timespec,
    /// Status change time.
    pub(crate) ctime: Timespec,
    /// Birth time.
    pub(crate) btime: Timespec,
    /// Generation of this node id.
    pub(crate) generation: u64,
    /// The kernel's lookup count (LOOKUP and friends minus FORGET).
    pub(crate) lookups: u64,
    /// Open file and directory handles.
    pub(crate) opens: u64,
    /// An `O_TMPFILE` file that may still be linked in.
    pub(crate) linkable: bool,
    /// Contents.
    pub(crate) kind: Kind,
    /// Extended attributes.
    pub(crate) xattrs: Xattrs,
    /// POSIX and flock locks.
    pub(crate) locks: LockTable,
}

impl Node {
    /// A node of `kind` with `mode`, owned by `uid`/`gid`, all times `now`.
    pub(crate) fn new(
        kind: Kind,
        mode: u32,
        uid: u32,
        gid: u32,
        now: Timespec,
        generation: u64,
    ) -> Node {
        let nlink = if matches!(kind, Kind::Dir(_)) { 2 } else { 1 };
        Node {
            mode,
            uid,
            gid,
            rdev: 0,
            nlink,
            atime: now,
            mtime: now,
            ctime: now,
            btime: now,
            generation,
            lookups: 0,
            opens: 0,
            linkable: false,
            kind,
            xattrs: Xattrs::default(),
            locks: LockTable::default(),
        }
    }

    /// Whether it is a directory.
    pub(crate) fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Dir(_))
    }

    /// The directory contents, if it is one.
    pub(crate) fn dir(&self) -> Option<&Dir> {
        match &self.kind {
            Kind::Dir(d) => Some(d),
            _ => None,
        }
    }

    /// The directory contents, mutably, if it is one.
    pub(crate) fn dir_mut(&mut self) -> Option<&mut Dir> {
        match &mut self.kind {
            Kind::Dir(d) => Some(d),
            _ => None,
        }
    }

    /// The file contents, if it is a regular file.
    pub(crate) fn file(&self) -> Option<&FileData> {
        match &self.kind {
            Kind::File(f) => Some(f),
            _ => None,
        }
    }

    /// The file contents, mutably, if it is a regular file.
    pub(crate) fn file_mut(&mut self) -> Option<&mut FileData> {
        match &mut self.kind {
            Kind::File(f) => Some(f),
            _ => None,
        }
    }

    /// Size as `st_size` reports it.
    pub(crate) fn size(&self) -> u64 {
        match &self.kind {
            Kind::File(f) => f.size(),
            Kind::Dir(d) => 4096u64.saturating_add(d.len() as u64),
            Kind::Symlink(t) => t.len() as u64,
            Kind::Special => 0,
        }
    }

    /// 512-byte blocks in use.
    pub(crate) fn blocks(&self) -> u64 {
        match &self.kind {
            Kind::File(f) => f.pages().saturating_mul(8),
            Kind::Dir(_) => 8,
            _ => 0,
        }
    }

    /// The `d_type` of the node.
    pub(crate) fn dtype(&self) -> u32 {
        mode::dtype(self.mode)
    }

    /// `fuse_attr` for node id `ino`.
    pub(crate) fn attr(&self, ino: NodeId) -> Attr {
        Attr {
            ino,
            size: self.size(),
            blocks: self.blocks(),
            atime: self.atime.sec as u64,
            mtime: self.mtime.sec as u64,
            ctime: self.ctime.sec as u64,
            atimensec: self.atime.nsec,
            mtimensec: self.mtime.nsec,
            ctimensec: self.ctime.nsec,
            mode: self.mode,
            nlink: self.nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: self.rdev,
            blksize: 4096,
            flags: 0,
        }
    }

    /// `fuse_statx` for node id `ino` (basic stats and birth time).
    pub(crate) fn statx(&self, ino: NodeId) -> Statx {
        let t = |t: Timespec| SxTime {
            tv_sec: t.sec,
            tv_nsec: t.nsec,
            reserved: 0,
        };
        // Linux new_encode_dev: minor low 8 bits | major << 8 | minor high bits << 12.
        let major = (self.rdev & 0xfff00) >> 8;
        let minor = (self.rdev & 0xff) | ((self.rdev >> 12) & 0xfff00);
        Statx {
            mask: STATX_BASIC_STATS | STATX_BTIME,
            blksize: 4096,
            attributes: 0,
            nlink: self.nlink,
            uid: self.uid,
            gid: self.gid,
            mode: self.mode as u16,
            spare0: 0,
            ino,
            size: self.size(),
            blocks: self.blocks(),
            attributes_mask: 0,
            atime: t(self.atime),
            btime: t(self.btime),
            ctime: t(self.ctime),
            mtime: t(self.mtime),
            rdev_major: major,
            rdev_minor: minor,
            dev_major: 0,
            dev_minor: 0,
            spare2: [0; 14],
        }
    }
}

/// `STATX_BASIC_STATS` (include/uapi/linux/stat.h).
const STATX_BASIC_STATS: u32 = 0x7ff;
/// `STATX_BTIME`.
const STATX_BTIME: u32 = 0x800;
