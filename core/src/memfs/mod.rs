//! [`MemFs`]: an in-memory filesystem implementing every [`FileSystem`]
//! operation the kernel needs, to run each opcode end to end in tests and to
//! serve a unikernel.
//!
//! All state sits behind one `spin::RwLock`; requests that only read
//! (GETATTR, READ, GETXATTR, ...) share it. File contents are sparse 4 KiB
//! pages, so hostile sizes cost nothing until written. Node ids are never
//! reused; a node is freed once no name, kernel lookup or open handle refers
//! to it. Timestamps come from a caller-supplied clock.

mod attr;
pub(crate) mod data;
mod file;
pub(crate) mod lock;
mod namespace;
mod node;
mod perm;
mod state;
mod xattr;

use crate::abi::access::{F_OK, R_OK, W_OK, X_OK};
use crate::abi::{
    CopyFileRangeIn, FallocateIn, FileLock, InitFlags, IoctlIn, Kstatfs, LkFlags, LkIn, NAME_MAX,
    OpenFlags, ReleaseFlags, SetattrIn,
};
use crate::dirent::DirSink;
use crate::errno::{Errno, Result};
use crate::fs::{
    AttrReply, Context, CreateArgs, Entry, Fh, FileSystem, IoctlReply, KernelInit, NodeId,
    OpenArgs, Opened, StatxReply, XattrReply,
};
use crate::io::{ReplyData, RequestData};
use crate::name::Name;
use crate::time::Timespec;
use core::time::Duration;
use namespace::NewKind;
use node::Kind;
use spin::RwLock;
use state::State;

/// Limits and defaults of a [`MemFs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemFsConfig {
    /// Largest file size; writes, truncates and fallocates past it are `EFBIG`.
    pub max_file_size: u64,
    /// Total bytes of file data (in 4 KiB pages); past it writes are `ENOSPC`.
    pub max_bytes: u64,
    /// Most nodes alive at once; past it creates are `ENOSPC`.
    pub max_nodes: u64,
    /// Entry cache timeout given to the kernel.
    pub entry_ttl: Duration,
    /// Attribute cache timeout given to the kernel.
    pub attr_ttl: Duration,
    /// Generation of every node id (ids are never reused within one `MemFs`;
    /// give a new value to a filesystem that replaces an earlier one).
    pub generation: u64,
    /// Permission bits of the root directory.
    pub root_mode: u32,
    /// Owner of the root directory.
    pub root_uid: u32,
    /// Group of the root directory.
    pub root_gid: u32,
}

impl Default for MemFsConfig {
    fn default() -> Self {
        MemFsConfig {
            max_file_size: 1 << 30,
            max_bytes: 1 << 32,
            max_nodes: 1 << 20,
            entry_ttl: Duration::from_secs(1),
            attr_ttl: Duration::from_secs(1),
            generation: 1,
            root_mode: 0o755,
            root_uid: 0,
            root_gid: 0,
        }
    }
}

impl MemFsConfig {
    /// `max_bytes` in pages.
    pub(crate) fn max_pages(&self) -> u64 {
        self.max_bytes / data::PAGE
    }
}

/// POLLIN | POLLOUT (Linux `poll.h`).
const POLL_READY: u32 = 0x001 | 0x004;

fn zero_clock() -> Timespec {
    Timespec::EPOCH
}

/// An in-memory filesystem. See the module docs.
pub struct MemFs {
    state: RwLock<State>,
    clock: fn() -> Timespec,
}

impl Default for MemFs {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for MemFs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = self.state.read();
        f.debug_struct("MemFs")
            .field("nodes", &s.nodes.len())
            .field("handles", &s.handles.len())
            .finish()
    }
}

impl MemFs {
    /// An empty filesystem whose clock always reads the epoch (reproducible tests).
    pub fn new() -> MemFs {
        Self::with_config(MemFsConfig::default(), zero_clock)
    }

    /// An empty filesystem taking timestamps from `clock`.
    pub fn with_clock(clock: fn() -> Timespec) -> MemFs {
        Self::with_config(MemFsConfig::default(), clock)
    }

    /// An empty filesystem with `config` and `clock`.
    pub fn with_config(config: MemFsConfig, clock: fn() -> Timespec) -> MemFs {
        MemFs {
            state: RwLock::new(State::new(config, clock())),
            clock,
        }
    }

    /// The configuration.
    pub fn config(&self) -> MemFsConfig {
        self.state.read().config
    }

    /// Nodes alive (the root included): a leak check for tests.
    pub fn node_count(&self) -> usize {
        self.state.read().nodes.len()
    }

    /// Open file and directory handles.
    pub fn handle_count(&self) -> usize {
        self.state.read().handles.len()
    }

    /// The kernel lookup count of `node`, or `None` if it does not exist.
    pub fn lookup_count(&self, node: NodeId) -> Option<u64> {
        self.state.read().nodes.get(&node).map(|n| n.lookups)
    }

    fn now(&self) -> Timespec {
        (self.clock)()
    }

    fn attr(&self, node: NodeId) -> Result<AttrReply> {
        let s = self.state.read();
        let n = s.node(node)?;
        Ok(AttrReply {
            attr: n.attr(node),
            valid: s.config.attr_ttl,
        })
    }

    fn opened(fh: Fh) -> Opened {
        Opened {
            fh,
            ..Opened::default()
        }
    }
}

impl FileSystem for MemFs {
    fn init(&self, _kernel: &KernelInit) -> Result<InitFlags> {
        Ok(InitFlags::POSIX_LOCKS
            | InitFlags::FLOCK_LOCKS
            | InitFlags::ATOMIC_O_TRUNC
            | InitFlags::DO_READDIRPLUS
            | InitFlags::READDIRPLUS_AUTO
            | InitFlags::PARALLEL_DIROPS)
    }

    fn destroy(&self) {
        self.state.write().reset_session();
    }

    fn lookup(&self, ctx: &Context, parent: NodeId, name: Name<'_>) -> Result<Entry> {
        self.state.write().lookup(ctx, parent, name)
    }

    fn forget(&self, _ctx: &Context, node: NodeId, nlookup: u64) {
        self.state.write().forget(node, nlookup);
    }

    fn batch_forget(&self, _ctx: &Context, items: &[crate::abi::ForgetOne]) {
        let mut s = self.state.write();
        for it in items {
            s.forget(it.nodeid, it.nlookup);
        }
    }

    fn getattr(&self, _ctx: &Context, node: NodeId, _fh: Option<Fh>) -> Result<AttrReply> {
        self.attr(node)
    }

    fn setattr(&self, ctx: &Context, node: NodeId, set: &SetattrIn) -> Result<AttrReply> {
        self.state.write().setattr(ctx, self.now(), node, set)?;
        self.attr(node)
    }

    fn readlink(&self, _ctx: &Context, node: NodeId, out: &mut ReplyData<'_>) -> Result<()> {
        let s = self.state.read();
        match &s.node(node)?.kind {
            Kind::Symlink(t) => out.write(t),
            _ => Err(Errno::EINVAL),
        }
    }

    fn symlink(
        &self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
        target: &[u8],
    ) -> Result<Entry> {
        if target.is_empty() || target.len() >= crate::abi::PATH_MAX {
            return Err(if target.is_empty() {
                Errno::ENOENT
            } else {
                Errno::ENAMETOOLONG
            });
        }
        self.state.write().make(
            ctx,
            self.now(),
            parent,
            name,
            NewKind::Symlink(target),
            0o777,
            0,
            0,
        )
    }

    fn mknod(
        &self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
        args: &CreateArgs,
    ) -> Result<Entry> {
        let kind = NewKind::Node(args.mode);
        self.state.write().make(
            ctx,
            self.now(),
            parent,
            name,
            kind,
            args.mode,
            args.umask,
            args.rdev,
        )
    }

    fn mkdir(
        &self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
        args: &CreateArgs,
    ) -> Result<Entry> {
        self.state.write().make(
            ctx,
            self.now(),
            parent,
            name,
            NewKind::Dir,
            args.mode,
            args.umask,
            0,
        )
    }

    fn unlink(&self, ctx: &Context, parent: NodeId, name: Name<'_>) -> Result<()> {
        self.state
            .write()
            .remove(ctx, self.now(), parent, name, false)
    }

    fn rmdir(&self, ctx: &Context, parent: NodeId, name: Name<'_>) -> Result<()> {
        self.state
            .write()
            .remove(ctx, self.now(), parent, name, true)
    }

    fn rename(
        &self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
        newparent: NodeId,
        newname: Name<'_>,
        flags: u32,
    ) -> Result<()> {
        self.state
            .write()
            .rename(ctx, self.now(), parent, name, newparent, newname, flags)
    }

    fn link(
        &self,
        ctx: &Context,
        node: NodeId,
        newparent: NodeId,
        newname: Name<'_>,
    ) -> Result<Entry> {
        self.state
            .write()
            .link(ctx, self.now(), node, newparent, newname)
    }

    fn open(&self, ctx: &Context, node: NodeId, args: &OpenArgs) -> Result<Opened> {
        self.state
            .write()
            .open(ctx, self.now(), node, args.flags, false)
            .map(Self::opened)
    }

    fn read(
        &self,
        _ctx: &Context,
        node: NodeId,
        fh: Fh,
        offset: u64,
        out: &mut ReplyData<'_>,
        _lock_owner: Option<u64>,
        _flags: u32,
    ) -> Result<()> {
        self.state.read().read(node, fh, offset, out)
    }

    fn write(
        &self,
        ctx: &Context,
        node: NodeId,
        fh: Fh,
        offset: u64,
        data: &mut RequestData<'_>,
        _write_flags: u32,
        _lock_owner: Option<u64>,
        _flags: u32,
    ) -> Result<u32> {
        self.state
            .write()
            .write(ctx, self.now(), node, fh, offset, data)
    }

    fn statfs(&self, _ctx: &Context, _node: NodeId) -> Result<Kstatfs> {
        let s = self.state.read();
        let blocks = s.config.max_pages();
        let files = s.config.max_nodes;
        let free = blocks.saturating_sub(s.pages);
        Ok(Kstatfs {
            blocks,
            bfree: free,
            bavail: free,
            files,
            ffree: files.saturating_sub(s.nodes.len() as u64),
            bsize: data::PAGE as u32,
            namelen: NAME_MAX as u32,
            frsize: data::PAGE as u32,
            padding: 0,
            spare: [0; 6],
        })
    }

    fn release(
        &self,
        _ctx: &Context,
        node: NodeId,
        fh: Fh,
        _flags: u32,
        release_flags: u32,
        lock_owner: u64,
    ) -> Result<()> {
        let mut s = self.state.write();
        if ReleaseFlags::from_bits_retain(release_flags).contains(ReleaseFlags::FLOCK_UNLOCK) {
            if let Ok(n) = s.node_mut(node) {
                n.locks.release_owner(lock_owner, true);
            }
        }
        s.remove_handle(fh, node).map(|_| ())
    }

    fn fsync(&self, _ctx: &Context, node: NodeId, fh: Fh, _datasync: bool) -> Result<()> {
        self.state.read().handle(fh, node).map(|_| ())
    }

    fn setxattr(
        &self,
        ctx: &Context,
        node: NodeId,
        name: &[u8],
        value: &[u8],
        flags: u32,
        _setxattr_flags: u32,
    ) -> Result<()> {
        self.state
            .write()
            .setxattr(ctx, self.now(), node, name, value, flags)
    }

    fn getxattr(
        &self,
        ctx: &Context,
        node: NodeId,
        name: &[u8],
        size: u32,
        out: &mut ReplyData<'_>,
    ) -> Result<XattrReply> {
        self.state.read().getxattr(ctx, node, name, size, out)
    }

    fn listxattr(
        &self,
        ctx: &Context,
        node: NodeId,
        size: u32,
        out: &mut ReplyData<'_>,
    ) -> Result<XattrReply> {
        let s = self.state.read();
        let n = s.node(node)?;
        perm::check(ctx, n, F_OK)?;
        n.xattrs.list(size, out)
    }

    fn removexattr(&self, ctx: &Context, node: NodeId, name: &[u8]) -> Result<()> {
        self.state.write().removexattr(ctx, self.now(), node, name)
    }

    fn flush(&self, _ctx: &Context, node: NodeId, fh: Fh, lock_owner: u64) -> Result<()> {
        let mut s = self.state.write();
        s.handle(fh, node)?;
        s.node_mut(node)?.locks.release_owner(lock_owner, false);
        Ok(())
    }

    fn opendir(&self, ctx: &Context, node: NodeId, args: &OpenArgs) -> Result<Opened> {
        let flags = args.flags & !(OpenFlags::ACCMODE_MASK);
        self.state
            .write()
            .open(ctx, self.now(), node, flags, true)
            .map(Self::opened)
    }

    fn readdir(
        &self,
        ctx: &Context,
        node: NodeId,
        fh: Fh,
        offset: u64,
        out: &mut DirSink<'_>,
    ) -> Result<()> {
        let mut s = self.state.write();
        s.handle(fh, node)?;
        s.readdir(ctx, node, offset, out)
    }

    fn readdirplus(
        &self,
        ctx: &Context,
        node: NodeId,
        fh: Fh,
        offset: u64,
        out: &mut DirSink<'_>,
    ) -> Result<()> {
        self.readdir(ctx, node, fh, offset, out)
    }

    fn releasedir(&self, _ctx: &Context, node: NodeId, fh: Fh, _flags: u32) -> Result<()> {
        self.state.write().remove_handle(fh, node).map(|_| ())
    }

    fn fsyncdir(&self, _ctx: &Context, node: NodeId, fh: Fh, _datasync: bool) -> Result<()> {
        self.state.read().handle(fh, node).map(|_| ())
    }

    fn getlk(&self, _ctx: &Context, node: NodeId, lk: &LkIn) -> Result<FileLock> {
        self.state.read().getlk(node, lk)
    }

    fn setlk(&self, _ctx: &Context, node: NodeId, lk: &LkIn, _sleep: bool) -> Result<()> {
        let mut s = self.state.write();
        if !LkFlags::from_bits_retain(lk.lk_flags).contains(LkFlags::FLOCK) {
            s.handle(lk.fh, node)?;
        }
        s.setlk(node, lk)
    }

    fn access(&self, ctx: &Context, node: NodeId, mask: u32) -> Result<()> {
        if mask & !(R_OK | W_OK | X_OK) != 0 {
            return Err(Errno::EINVAL);
        }
        let s = self.state.read();
        perm::check(ctx, s.node(node)?, mask)
    }

    fn create(
        &self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
        args: &CreateArgs,
    ) -> Result<(Entry, Opened)> {
        let now = self.now();
        let mut s = self.state.write();
        let existing = s.dir(parent)?.1.get(name.as_bytes());
        let id = match existing {
            Some(_) if OpenFlags::from_bits_retain(args.flags).contains(OpenFlags::EXCL) => {
                return Err(Errno::EEXIST);
            }
            Some(id) => id,
            None => {
                let e = s.make(
                    ctx,
                    now,
                    parent,
                    name,
                    NewKind::Node(args.mode),
                    args.mode,
                    args.umask,
                    0,
                )?;
                // The creator may write what it created, whatever the mode says.
                let fh = s.add_handle(state::Handle {
                    node: e.nodeid,
                    dir: false,
                    read: OpenFlags::from_bits_retain(args.flags).access().readable(),
                    write: OpenFlags::from_bits_retain(args.flags).access().writable(),
                    append: OpenFlags::from_bits_retain(args.flags).contains(OpenFlags::APPEND),
                });
                return match fh {
                    Ok(fh) => Ok((e, Self::opened(fh))),
                    Err(err) => {
                        s.forget(e.nodeid, 1);
                        Err(err)
                    }
                };
            }
        };
        let fh = s.open(ctx, now, id, args.flags, false)?;
        match s.entry(id) {
            Ok(e) => Ok((e, Self::opened(fh))),
            Err(err) => {
                let _ = s.remove_handle(fh, id);
                Err(err)
            }
        }
    }

    fn bmap(&self, _ctx: &Context, _node: NodeId, _blocksize: u32, _block: u64) -> Result<u64> {
        Err(Errno::ENOSYS)
    }

    fn ioctl(
        &self,
        _ctx: &Context,
        _node: NodeId,
        _arg: &IoctlIn,
        _input: &mut RequestData<'_>,
        _out: &mut ReplyData<'_>,
    ) -> Result<IoctlReply> {
        Err(Errno::ENOTTY)
    }

    fn poll(
        &self,
        _ctx: &Context,
        node: NodeId,
        fh: Fh,
        _kh: u64,
        _flags: u32,
        _events: u32,
    ) -> Result<u32> {
        self.state.read().handle(fh, node)?;
        Ok(POLL_READY)
    }

    fn fallocate(&self, _ctx: &Context, node: NodeId, arg: &FallocateIn) -> Result<()> {
        self.state.write().fallocate(self.now(), node, arg)
    }

    fn lseek(&self, _ctx: &Context, node: NodeId, fh: Fh, offset: u64, whence: u32) -> Result<u64> {
        self.state.read().lseek(node, fh, offset, whence)
    }

    fn copy_file_range(&self, _ctx: &Context, node: NodeId, arg: &CopyFileRangeIn) -> Result<u64> {
        self.state.write().copy_file_range(self.now(), node, arg)
    }

    fn syncfs(&self, _ctx: &Context, node: NodeId) -> Result<()> {
        self.state.read().node(node).map(|_| ())
    }

    fn tmpfile(&self, ctx: &Context, parent: NodeId, args: &CreateArgs) -> Result<(Entry, Opened)> {
        let now = self.now();
        let mut s = self.state.write();
        let (p, _) = s.dir(parent)?;
        perm::check(ctx, p, W_OK | X_OK)?;
        let flags = OpenFlags::from_bits_retain(args.flags);
        let id = s.make_node(
            ctx,
            now,
            parent,
            NewKind::Node(crate::abi::mode::S_IFREG),
            args.mode,
            args.umask,
            0,
        )?;
        let n = s.node_mut(id)?;
        n.nlink = 0;
        n.linkable = !flags.contains(OpenFlags::EXCL);
        let access = flags.access();
        let h = state::Handle {
            node: id,
            dir: false,
            read: access.readable(),
            write: access.writable(),
            append: false,
        };
        // The handle keeps the node alive; the entry adds a kernel lookup.
        let fh = s.add_handle(h);
        let fh = match fh {
            Ok(fh) => fh,
            Err(e) => {
                s.reclaim(id);
                return Err(e);
            }
        };
        let e = s.entry(id)?;
        Ok((e, Self::opened(fh)))
    }

    fn statx(
        &self,
        _ctx: &Context,
        node: NodeId,
        _fh: Option<Fh>,
        _sx_flags: u32,
        _sx_mask: u32,
    ) -> Result<StatxReply> {
        let s = self.state.read();
        let n = s.node(node)?;
        Ok(StatxReply {
            stat: n.statx(node),
            valid: s.config.attr_ttl,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn assert_sync<T: Sync + Send>() {}

    #[test]
    fn memfs_is_sync() {
        assert_sync::<MemFs>();
    }
}
