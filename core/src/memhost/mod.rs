//! [`MemHost`]: a [`Host`] kept entirely in memory, for tests of
//! [`crate::passthrough::PassthroughFs`] without an operating system, and
//! for unikernels that serve an in-memory tree.
//!
//! A tree of nodes (regular files with sparse contents, directories,
//! symlinks, and device nodes / FIFOs / sockets as metadata only) behind
//! one lock. It keeps the [`Host`] contract: names are one component, no
//! symlink is ever followed, device nodes are never opened (`EACCES`), new
//! objects belong to the caller's [`Creds`] (the group of a set-group-id
//! directory is passed on), and an unlinked node lives while a
//! [`MemInode`] or [`MemFile`] refers to it. Permissions are not checked
//! (the passthrough does that for ACCESS), as for a host running as root.
//!
//! Time comes from a caller-supplied clock ([`MemHost::with_clock`]).
//! [`MemHost::external`] makes changes "behind the server's back", which
//! [`Host::drain_changes`] reports when [`MemHost::set_watcher`] is on.

mod external;
mod file;
mod node;
mod state;
mod xattr;

pub use external::External;

use crate::abi::{
    FallocateMode, FileLock, Kstatfs, NAME_MAX, OpenFlags, RenameFlags, Whence, mode,
};
use crate::errno::{Errno, Result};
use crate::host::{Creds, DirEntry, Host, HostChange, HostKey, SetAttrs, Stat};
use crate::io::{IoBuf, IoBufMut};
use crate::memfs::data::FileData as Data;
use crate::name::Name;
use crate::sync::{Arc, Mutex};
use crate::time::Timespec;
use alloc::boxed::Box;
use alloc::vec::Vec;
use node::{BLKSIZE, Kind};
use state::{ROOT_INO, State};

/// Limits and identity of a [`MemHost`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemHostConfig {
    /// Device number reported in every [`HostKey`].
    pub dev: u64,
    /// Permission bits of the root directory.
    pub root_mode: u32,
    /// Owner of the root directory.
    pub root_uid: u32,
    /// Group of the root directory.
    pub root_gid: u32,
    /// Largest file size; writes, truncates and fallocates past it are `EFBIG`.
    pub max_file_size: u64,
    /// Most nodes alive at once; creating more is `ENOSPC`.
    pub max_nodes: u64,
    /// Capacity reported by `statfs`, in bytes.
    pub capacity: u64,
}

impl Default for MemHostConfig {
    fn default() -> Self {
        MemHostConfig {
            dev: 0x6d68,
            root_mode: 0o755,
            root_uid: 0,
            root_gid: 0,
            max_file_size: 1 << 40,
            max_nodes: 1 << 20,
            capacity: 1 << 34,
        }
    }
}

struct Shared {
    state: Mutex<State>,
    clock: fn() -> Timespec,
    config: MemHostConfig,
}

impl Shared {
    fn now(&self) -> Timespec {
        (self.clock)()
    }
}

/// The default clock: always the epoch (no clock without an OS; use
/// [`MemHost::with_clock`] for real or test time).
fn epoch() -> Timespec {
    Timespec::EPOCH
}

/// An in-memory host; see the module docs.
pub struct MemHost {
    shared: Arc<Shared>,
}

/// A reference to a node (the `O_PATH` descriptor of this host). Keeps an
/// unlinked node alive until dropped.
pub struct MemInode {
    ino: u64,
    shared: Arc<Shared>,
}

/// A node open for I/O. Keeps an unlinked node alive until dropped; dropping
/// it releases its flocks.
pub struct MemFile {
    ino: u64,
    id: u64,
    flags: OpenFlags,
    shared: Arc<Shared>,
}

/// An open directory stream: a snapshot of the entries taken at `opendir`,
/// so cookies (entry index + 1) stay stable.
pub struct MemDir {
    entries: Vec<(u64, u32, Box<[u8]>)>,
}

impl Drop for MemInode {
    fn drop(&mut self) {
        self.shared.state.lock().put(self.ino);
    }
}

impl Drop for MemFile {
    fn drop(&mut self) {
        let mut st = self.shared.state.lock();
        if let Ok(n) = st.node_mut(self.ino) {
            n.locks.release_owner(self.id, true);
        }
        st.put(self.ino);
    }
}

impl MemInode {
    /// The inode number.
    pub fn ino(&self) -> u64 {
        self.ino
    }
}

impl core::fmt::Debug for MemHost {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemHost")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Default for MemHost {
    fn default() -> Self {
        MemHost::new()
    }
}

impl MemHost {
    /// An empty tree with the default configuration and a clock that always
    /// reads the epoch.
    pub fn new() -> MemHost {
        MemHost::with_config(MemHostConfig::default(), epoch)
    }

    /// An empty tree whose timestamps come from `clock`.
    pub fn with_clock(clock: fn() -> Timespec) -> MemHost {
        MemHost::with_config(MemHostConfig::default(), clock)
    }

    /// An empty tree with `config` and `clock`.
    pub fn with_config(config: MemHostConfig, clock: fn() -> Timespec) -> MemHost {
        let state = State::new(
            config.root_mode,
            config.root_uid,
            config.root_gid,
            clock(),
            config.max_nodes.max(1),
        );
        MemHost {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                clock,
                config,
            }),
        }
    }

    /// Turns reporting of [`external`](Self::external) changes on or off
    /// ([`Host::has_watcher`]). Turning it off drops queued changes.
    pub fn set_watcher(&self, on: bool) {
        let mut st = self.shared.state.lock();
        st.watcher = on;
        if !on {
            st.changes.clear();
            st.overflow = false;
        }
    }

    /// Changes made directly to the tree, as another program on the host
    /// would make them.
    pub fn external(&self) -> External<'_> {
        External::new(self)
    }

    /// Number of live nodes (named, or unnamed but still referenced).
    pub fn node_count(&self) -> usize {
        self.shared.state.lock().nodes.len()
    }

    fn now(&self) -> Timespec {
        self.shared.now()
    }

    fn key(&self, ino: u64) -> HostKey {
        HostKey {
            dev: self.shared.config.dev,
            ino,
            mnt_id: 0,
        }
    }

    fn stat_of(&self, st: &State, ino: u64) -> Result<Stat> {
        Ok(st.node(ino)?.stat(self.shared.config.dev, ino))
    }

    /// A new reference to `ino`, counted while the lock is held; the
    /// [`MemInode`] is built by the caller after the lock is released.
    fn grab(&self, st: &mut State, ino: u64) -> Result<(u64, Stat)> {
        st.grab(ino)?;
        Ok((ino, self.stat_of(st, ino)?))
    }

    fn inode(&self, ino: u64) -> MemInode {
        MemInode {
            ino,
            shared: self.shared.clone(),
        }
    }

    fn file(&self, ino: u64, id: u64, flags: OpenFlags) -> MemFile {
        MemFile {
            ino,
            id,
            flags,
            shared: self.shared.clone(),
        }
    }

    /// Checks that `ino` may be opened with `flags` and applies `O_TRUNC`.
    fn check_open(&self, st: &mut State, ino: u64, flags: OpenFlags) -> Result<()> {
        let n = st.node(ino)?;
        let writable = flags.access().writable();
        match &n.kind {
            Kind::Dir { .. } if writable || flags.contains(OpenFlags::TRUNC) => {
                return Err(Errno::EISDIR);
            }
            Kind::Dir { .. } => return Ok(()),
            Kind::Symlink(_) => return Err(Errno::ELOOP),
            Kind::Special => return Err(Errno::EACCES),
            Kind::File(_) if flags.contains(OpenFlags::DIRECTORY) => return Err(Errno::ENOTDIR),
            Kind::File(_) => {}
        }
        if flags.contains(OpenFlags::TRUNC) && writable {
            let max = self.shared.config.max_file_size;
            st.setattr(
                ino,
                &SetAttrs {
                    size: Some(0),
                    ..SetAttrs::default()
                },
                max,
                self.now(),
            )?;
        }
        Ok(())
    }

    /// Opens `ino` (a reference must be held); counts the new file's reference.
    fn open_locked(&self, st: &mut State, ino: u64, flags: OpenFlags) -> Result<u64> {
        self.check_open(st, ino, flags)?;
        st.grab(ino)?;
        Ok(st.file_id())
    }

    fn check_file(file: &MemFile, write: bool) -> Result<()> {
        let ok = if write {
            file.flags.access().writable()
        } else {
            file.flags.access().readable()
        };
        if ok { Ok(()) } else { Err(Errno::EBADF) }
    }
}

impl Host for MemHost {
    type Inode = MemInode;
    type File = MemFile;
    type Dir = MemDir;
    /// The inode number: this host never reuses one.
    type Export = u64;

    fn can_export(&self) -> bool {
        true
    }

    fn export(&self, inode: &MemInode) -> Option<u64> {
        Some(inode.ino)
    }

    fn reopen(&self, ino: &u64) -> Result<(MemInode, Stat)> {
        let (ino, stat) = self.grab(&mut self.shared.state.lock(), *ino)?;
        Ok((self.inode(ino), stat))
    }

    fn parent(&self, dir: &MemInode) -> Result<(MemInode, Stat)> {
        let (ino, stat) = {
            let mut st = self.shared.state.lock();
            let parent = match &st.node(dir.ino)?.kind {
                Kind::Dir { parent, .. } => *parent,
                _ => return Err(Errno::ENOTDIR),
            };
            self.grab(&mut st, parent)?
        };
        Ok((self.inode(ino), stat))
    }

    fn root(&self) -> Result<(MemInode, Stat)> {
        let (ino, stat) = self.grab(&mut self.shared.state.lock(), ROOT_INO)?;
        Ok((self.inode(ino), stat))
    }

    fn lookup(&self, parent: &MemInode, name: Name<'_>) -> Result<(MemInode, Stat)> {
        let (ino, stat) = {
            let mut st = self.shared.state.lock();
            let ino = st
                .child(parent.ino, name.as_bytes())?
                .ok_or(Errno::ENOENT)?;
            self.grab(&mut st, ino)?
        };
        Ok((self.inode(ino), stat))
    }

    fn stat(&self, inode: &MemInode) -> Result<Stat> {
        self.stat_of(&self.shared.state.lock(), inode.ino)
    }

    fn fstat(&self, file: &MemFile) -> Result<Stat> {
        self.stat_of(&self.shared.state.lock(), file.ino)
    }

    fn open(&self, inode: &MemInode, flags: OpenFlags) -> Result<MemFile> {
        let id = self.open_locked(&mut self.shared.state.lock(), inode.ino, flags)?;
        Ok(self.file(inode.ino, id, flags))
    }

    fn create(
        &self,
        parent: &MemInode,
        name: Name<'_>,
        flags: OpenFlags,
        mode: u32,
        creds: &Creds,
    ) -> Result<(MemInode, MemFile, Stat)> {
        let now = self.now();
        let (ino, id, stat) = {
            let mut st = self.shared.state.lock();
            let ino = match st.child(parent.ino, name.as_bytes())? {
                Some(_) if flags.contains(OpenFlags::EXCL) => return Err(Errno::EEXIST),
                Some(ino) => ino,
                None => {
                    let kind = Kind::File(Data::default());
                    st.make(
                        parent.ino,
                        name,
                        kind,
                        mode::S_IFREG | (mode & mode::S_IALLUGO),
                        creds,
                        now,
                    )?
                }
            };
            let id = self.open_locked(&mut st, ino, flags)?;
            let (_, stat) = self.grab(&mut st, ino)?;
            (ino, id, stat)
        };
        Ok((self.inode(ino), self.file(ino, id, flags), stat))
    }

    fn mknod(
        &self,
        parent: &MemInode,
        name: Name<'_>,
        mode: u32,
        rdev: u32,
        creds: &Creds,
    ) -> Result<(MemInode, Stat)> {
        let now = self.now();
        let (kind, typ) = match mode & mode::S_IFMT {
            0 | mode::S_IFREG => (Kind::File(Data::default()), mode::S_IFREG),
            t @ (mode::S_IFCHR | mode::S_IFBLK | mode::S_IFIFO | mode::S_IFSOCK) => {
                (Kind::Special, t)
            }
            mode::S_IFDIR => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        };
        let (ino, stat) = {
            let mut st = self.shared.state.lock();
            let ino = st.make(
                parent.ino,
                name,
                kind,
                typ | (mode & mode::S_IALLUGO),
                creds,
                now,
            )?;
            if matches!(typ, mode::S_IFCHR | mode::S_IFBLK) {
                st.node_mut(ino)?.rdev = rdev;
            }
            self.grab(&mut st, ino)?
        };
        Ok((self.inode(ino), stat))
    }

    fn mkdir(
        &self,
        parent: &MemInode,
        name: Name<'_>,
        mode: u32,
        creds: &Creds,
    ) -> Result<(MemInode, Stat)> {
        let now = self.now();
        let (ino, stat) = {
            let mut st = self.shared.state.lock();
            let kind = Kind::Dir {
                parent: parent.ino,
                entries: Default::default(),
            };
            let ino = st.make(
                parent.ino,
                name,
                kind,
                mode::S_IFDIR | (mode & mode::S_IALLUGO),
                creds,
                now,
            )?;
            self.grab(&mut st, ino)?
        };
        Ok((self.inode(ino), stat))
    }

    fn symlink(
        &self,
        parent: &MemInode,
        name: Name<'_>,
        target: &[u8],
        creds: &Creds,
    ) -> Result<(MemInode, Stat)> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() >= crate::abi::PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let now = self.now();
        let (ino, stat) = {
            let mut st = self.shared.state.lock();
            let ino = st.make(
                parent.ino,
                name,
                Kind::Symlink(target.into()),
                mode::S_IFLNK | 0o777,
                creds,
                now,
            )?;
            self.grab(&mut st, ino)?
        };
        Ok((self.inode(ino), stat))
    }

    fn link(&self, inode: &MemInode, newparent: &MemInode, newname: Name<'_>) -> Result<Stat> {
        let mut st = self.shared.state.lock();
        st.link(inode.ino, newparent.ino, newname, self.now())?;
        self.stat_of(&st, inode.ino)
    }

    fn unlink(&self, parent: &MemInode, name: Name<'_>) -> Result<()> {
        self.shared
            .state
            .lock()
            .remove(parent.ino, name.as_bytes(), false, self.now())
    }

    fn rmdir(&self, parent: &MemInode, name: Name<'_>) -> Result<()> {
        self.shared
            .state
            .lock()
            .remove(parent.ino, name.as_bytes(), true, self.now())
    }

    fn rename(
        &self,
        parent: &MemInode,
        name: Name<'_>,
        newparent: &MemInode,
        newname: Name<'_>,
        flags: RenameFlags,
    ) -> Result<()> {
        let now = self.now();
        self.shared.state.lock().rename(
            parent.ino,
            name.as_bytes(),
            newparent.ino,
            newname.as_bytes(),
            flags,
            now,
        )
    }

    fn readlink(&self, inode: &MemInode, buf: &mut [u8]) -> Result<usize> {
        let st = self.shared.state.lock();
        let Kind::Symlink(t) = &st.node(inode.ino)?.kind else {
            return Err(Errno::EINVAL);
        };
        let n = t.len().min(buf.len());
        buf[..n].copy_from_slice(&t[..n]);
        Ok(n)
    }

    fn setattr(&self, inode: &MemInode, file: Option<&MemFile>, attrs: &SetAttrs) -> Result<Stat> {
        if let Some(f) = file {
            if f.ino != inode.ino {
                return Err(Errno::EBADF);
            }
            if attrs.size.is_some() {
                Self::check_file(f, true).map_err(|_| Errno::EINVAL)?;
            }
        }
        let mut st = self.shared.state.lock();
        st.setattr(
            inode.ino,
            attrs,
            self.shared.config.max_file_size,
            self.now(),
        )?;
        self.stat_of(&st, inode.ino)
    }

    fn read(&self, file: &MemFile, offset: u64, bufs: &mut [IoBufMut<'_>]) -> Result<usize> {
        Self::check_file(file, false)?;
        self.shared.state.lock().read(file.ino, offset, bufs)
    }

    fn max_file_size(&self, _file: &MemFile) -> u64 {
        self.shared.config.max_file_size
    }

    fn write(
        &self,
        file: &MemFile,
        offset: u64,
        bufs: &[IoBuf<'_>],
        kill_priv: bool,
    ) -> Result<usize> {
        Self::check_file(file, true)?;
        let append = file.flags.contains(OpenFlags::APPEND);
        let (max, now) = (self.shared.config.max_file_size, self.now());
        self.shared
            .state
            .lock()
            .write(file.ino, offset, bufs, append, kill_priv, max, now)
    }

    fn flush(&self, file: &MemFile, lock_owner: u64) -> Result<()> {
        self.shared
            .state
            .lock()
            .node_mut(file.ino)?
            .locks
            .release_owner(lock_owner, false);
        Ok(())
    }

    fn fsync(&self, _file: &MemFile, _datasync: bool) -> Result<()> {
        Ok(())
    }

    fn fsyncdir(&self, _dir: &MemDir, _datasync: bool) -> Result<()> {
        Ok(())
    }

    fn fallocate(&self, file: &MemFile, mode: FallocateMode, offset: u64, len: u64) -> Result<()> {
        Self::check_file(file, true)?;
        let (max, now) = (self.shared.config.max_file_size, self.now());
        self.shared
            .state
            .lock()
            .fallocate(file.ino, mode, offset, len, max, now)
    }

    fn lseek(&self, file: &MemFile, offset: u64, whence: Whence) -> Result<u64> {
        self.shared.state.lock().lseek(file.ino, offset, whence)
    }

    fn copy_file_range(
        &self,
        src: &MemFile,
        src_off: u64,
        dst: &MemFile,
        dst_off: u64,
        len: u64,
        flags: u32,
    ) -> Result<u64> {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        Self::check_file(src, false)?;
        Self::check_file(dst, true)?;
        if dst.flags.contains(OpenFlags::APPEND) {
            return Err(Errno::EBADF);
        }
        let (max, now) = (self.shared.config.max_file_size, self.now());
        self.shared
            .state
            .lock()
            .copy(src.ino, src_off, dst.ino, dst_off, len, max, now)
    }

    fn statfs(&self, _inode: &MemInode) -> Result<Kstatfs> {
        let st = self.shared.state.lock();
        let c = &self.shared.config;
        let blocks = c.capacity / u64::from(BLKSIZE);
        let used: u64 = st
            .nodes
            .values()
            .map(|n| {
                if let Kind::File(d) = &n.kind {
                    d.pages()
                } else {
                    0
                }
            })
            .sum();
        let files = st.nodes.len() as u64;
        Ok(Kstatfs {
            blocks,
            bfree: blocks.saturating_sub(used),
            bavail: blocks.saturating_sub(used),
            files: st.max_nodes,
            ffree: st.max_nodes.saturating_sub(files),
            bsize: BLKSIZE,
            namelen: NAME_MAX as u32,
            frsize: BLKSIZE,
            padding: 0,
            spare: [0; 6],
        })
    }

    fn getxattr(&self, inode: &MemInode, name: &[u8], buf: &mut [u8]) -> Result<usize> {
        self.shared
            .state
            .lock()
            .node(inode.ino)?
            .xattrs
            .get(name, buf)
    }

    fn listxattr(&self, inode: &MemInode, buf: &mut [u8]) -> Result<usize> {
        self.shared.state.lock().node(inode.ino)?.xattrs.list(buf)
    }

    fn setxattr(&self, inode: &MemInode, name: &[u8], value: &[u8], flags: u32) -> Result<()> {
        let now = self.now();
        let mut st = self.shared.state.lock();
        let n = st.node_mut(inode.ino)?;
        n.xattrs.set(name, value, flags)?;
        n.ctime = now;
        Ok(())
    }

    fn removexattr(&self, inode: &MemInode, name: &[u8]) -> Result<()> {
        let now = self.now();
        let mut st = self.shared.state.lock();
        let n = st.node_mut(inode.ino)?;
        n.xattrs.remove(name)?;
        n.ctime = now;
        Ok(())
    }

    fn opendir(&self, inode: &MemInode) -> Result<MemDir> {
        let st = self.shared.state.lock();
        let n = st.node(inode.ino)?;
        let Kind::Dir {
            parent,
            entries: names,
        } = &n.kind
        else {
            return Err(Errno::ENOTDIR);
        };
        let mut entries = Vec::with_capacity(names.len() + 2);
        let dt_dir = mode::dtype(mode::S_IFDIR);
        entries.push((inode.ino, dt_dir, Box::from(&b"."[..])));
        entries.push((*parent, dt_dir, Box::from(&b".."[..])));
        for (name, ino) in names {
            let typ = st.node(*ino).map(|c| mode::dtype(c.mode)).unwrap_or(0);
            entries.push((*ino, typ, name.clone()));
        }
        Ok(MemDir { entries })
    }

    fn readdir(
        &self,
        dir: &MemDir,
        offset: u64,
        f: &mut dyn FnMut(DirEntry<'_>) -> bool,
    ) -> Result<()> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        for (i, (ino, typ, name)) in dir.entries.iter().enumerate().skip(start) {
            if !f(DirEntry {
                ino: *ino,
                next: i as u64 + 1,
                typ: *typ,
                name,
            }) {
                break;
            }
        }
        Ok(())
    }

    fn getlk(&self, file: &MemFile, owner: u64, lock: &FileLock) -> Result<FileLock> {
        self.shared
            .state
            .lock()
            .node(file.ino)?
            .locks
            .test(owner, false, lock)
    }

    fn setlk(&self, file: &MemFile, owner: u64, lock: &FileLock, _sleep: bool) -> Result<()> {
        self.shared
            .state
            .lock()
            .node_mut(file.ino)?
            .locks
            .set(owner, false, lock)
    }

    fn flock(&self, file: &MemFile, lock: &FileLock, _sleep: bool) -> Result<()> {
        let whole = FileLock {
            start: 0,
            end: u64::MAX,
            ..*lock
        };
        self.shared
            .state
            .lock()
            .node_mut(file.ino)?
            .locks
            .set(file.id, true, &whole)
    }

    fn tmpfile(
        &self,
        parent: &MemInode,
        flags: OpenFlags,
        mode: u32,
        creds: &Creds,
    ) -> Result<(MemInode, MemFile, Stat)> {
        if !flags.access().writable() {
            return Err(Errno::EINVAL);
        }
        let now = self.now();
        let (ino, id, stat) = {
            let mut st = self.shared.state.lock();
            if !st.node(parent.ino)?.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            let ino = st.alloc(
                parent.ino,
                Kind::File(Data::default()),
                mode::S_IFREG | (mode & mode::S_IALLUGO),
                creds,
                now,
            )?;
            let n = st.node_mut(ino)?;
            n.nlink = 0;
            n.linkable = !flags.contains(OpenFlags::EXCL);
            // Two references: the inode and the file.
            st.grab(ino)?;
            let (_, stat) = self.grab(&mut st, ino)?;
            (ino, st.file_id(), stat)
        };
        Ok((self.inode(ino), self.file(ino, id, flags), stat))
    }

    fn syncfs(&self, _inode: &MemInode) -> Result<()> {
        Ok(())
    }

    fn drain_changes(&self, f: &mut dyn FnMut(HostChange<'_>)) {
        let (changes, overflow) = {
            let mut st = self.shared.state.lock();
            (
                core::mem::take(&mut st.changes),
                core::mem::replace(&mut st.overflow, false),
            )
        };
        if overflow {
            f(HostChange::Overflow);
        }
        for (dir, name) in &changes {
            f(HostChange::Entry {
                dir: self.key(*dir),
                name,
            });
        }
    }

    fn has_watcher(&self) -> bool {
        self.shared.state.lock().watcher
    }
}
