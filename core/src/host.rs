//! The [`Host`] trait: the POSIX `*at`-style operations a passthrough
//! filesystem needs from the machine below it.
//!
//! [`crate::passthrough::PassthroughFs`] holds all passthrough logic (inode
//! and handle tables, caches, ownership, permission rules) once, over this
//! trait; a host crate (`arcbox-fs-linux`, `arcbox-fs-macos`, the in-memory
//! host) is a thin layer of system calls.
//!
//! Contract for every implementation:
//! - Values are Linux wire values in both directions: errnos ([`Errno`]),
//!   open flags ([`OpenFlags`]), `st_mode` bits ([`crate::abi::mode`]),
//!   whence, rename and fallocate flags, `DT_*` types. A non-Linux host
//!   translates.
//! - Names arrive validated ([`Name`]): one component, never `.`/`..`/`/`.
//!   Every operation resolves exactly one component relative to a handle
//!   and never follows a symlink there (no `chown`, `chmod`, `utimens`,
//!   `open`, xattr call ever acts on a symlink's target). Nothing outside the
//!   shared directory is ever reached. The exceptions are export support's
//!   [`Host::parent`] and [`Host::reopen`], whose results the passthrough
//!   checks before use (the same object; a directory inside the share).
//! - Device nodes, FIFOs and sockets are never opened for I/O.
//! - No host call blocks on a lock the core holds (the core holds none across calls).

use crate::abi::{FallocateMode, FileLock, Kstatfs, OpenFlags, RenameFlags, Whence};
use crate::errno::Result;
use crate::io::{IoBuf, IoBufMut};
use crate::name::Name;
use crate::time::Timespec;

/// Host identity of an inode: the key of the passthrough's inode table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostKey {
    /// Device of the containing filesystem (`st_dev`).
    pub dev: u64,
    /// Inode number (`st_ino`).
    pub ino: u64,
    /// Mount id where the host has one (Linux `statx` `STATX_MNT_ID`), else 0.
    pub mnt_id: u64,
}

/// File status, in Linux wire terms (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// Identity.
    pub key: HostKey,
    /// Type and permission bits, Linux `S_IF*` values.
    pub mode: u32,
    /// Hard links.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number for device nodes, Linux `new_encode_dev` encoding.
    pub rdev: u32,
    /// Size in bytes.
    pub size: u64,
    /// Preferred I/O size.
    pub blksize: u32,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    /// Access time.
    pub atime: Timespec,
    /// Modification time.
    pub mtime: Timespec,
    /// Status change time.
    pub ctime: Timespec,
    /// Birth time, where the host knows it.
    pub btime: Option<Timespec>,
}

/// The requesting caller, for the ownership of new objects: a new file,
/// directory, node or symlink is owned by `uid` and by `gid` (or by the parent
/// directory's group where it has the set-group-id bit, as the kernel does).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Creds {
    /// Caller's filesystem uid.
    pub uid: u32,
    /// Caller's filesystem gid.
    pub gid: u32,
    /// A supplementary group (`FUSE_CREATE_SUPP_GROUP`).
    pub supp_gid: Option<u32>,
    /// Permission bits to clear from a new object's mode as a local create
    /// under this umask would: not where the parent directory has a
    /// default ACL, whose entries apply instead (acl(5)). Non-zero only for
    /// a host whose [`Host::applies_umask`] is true; 0 creates with the
    /// mode as given.
    pub umask: u32,
}

/// A timestamp to set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetTime {
    /// The host's current time (`UTIME_NOW`).
    Now,
    /// This time.
    At(Timespec),
}

/// Attribute changes for [`Host::setattr`]; `None` leaves a field alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttrs {
    /// New permission bits (`chmod`; only `0o7777` bits).
    pub mode: Option<u32>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New size (`truncate`).
    pub size: Option<u64>,
    /// New access time.
    pub atime: Option<SetTime>,
    /// New modification time.
    pub mtime: Option<SetTime>,
    /// Clear set-user-id / set-group-id as a write by an unprivileged caller would.
    pub kill_suidgid: bool,
}

/// One directory entry from [`Host::readdir`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry<'a> {
    /// Inode number.
    pub ino: u64,
    /// Cookie to resume reading after this entry (pass it as `offset`).
    pub next: u64,
    /// `DT_*` type (Linux values; 0 = unknown).
    pub typ: u32,
    /// Name, including `.` and `..`.
    pub name: &'a [u8],
}

/// A change made on the host behind the server's back, for cache invalidation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostChange<'a> {
    /// `name` appeared, disappeared or changed in the directory `dir`.
    Entry {
        /// The directory.
        dir: HostKey,
        /// The entry's name.
        name: &'a [u8],
    },
    /// The inode's attributes or data changed; for a directory, any of its
    /// names may have changed too (watchers that cannot say which).
    Inode(HostKey),
    /// Another process (not the server) changed this regular file's data or
    /// attributes. Only watchers that can tell the server's own changes from
    /// others' report it (Linux fanotify); a transport may then drop the
    /// guest's cached pages (`FUSE_NOTIFY_INVAL_INODE`) without racing the
    /// guest's own writes.
    Data {
        /// The file.
        file: HostKey,
        /// The directory and name it was changed under, when known (with
        /// the writeback cache the guest kernel keeps its own file size
        /// until its inode is dropped, which needs the name).
        entry: Option<(HostKey, &'a [u8])>,
    },
    /// Events were lost: drop every cache.
    Overflow,
}

/// The operating system below a passthrough. See the module docs for the contract.
pub trait Host: Send + Sync {
    /// A reference to an inode that allows no I/O (Linux: an `O_PATH` fd or a
    /// file handle). Held for as long as the guest knows the inode.
    type Inode: Send + Sync;
    /// A file open for I/O.
    type File: Send + Sync;
    /// An open directory stream. Hosts synchronise concurrent reads of one stream.
    type Dir: Send + Sync;
    /// What the passthrough keeps of an inode after the guest forgot it, for
    /// export support (see [`Host::export`]): memory only, no descriptor
    /// (Linux: the kernel file handle, see
    /// [name_to_handle_at(2)](https://man7.org/linux/man-pages/man2/name_to_handle_at.2.html)).
    /// Equal values name the same object.
    type Export: Send + Sync + Clone + PartialEq;

    /// The shared directory.
    fn root(&self) -> Result<(Self::Inode, Stat)>;

    /// `name` in `parent`, not following a final symlink.
    fn lookup(&self, parent: &Self::Inode, name: Name<'_>) -> Result<(Self::Inode, Stat)>;

    /// Whether `a` and `b`, which have the same [`HostKey`], are the same
    /// object. A filesystem may reuse an inode number right after the last
    /// link goes (ext4 does): a new object then looks like one the guest still
    /// knows, and must get a node id of its own, or later calls reach the dead
    /// object (`ESTALE`). Default: same key, same object.
    fn same_inode(&self, a: &Self::Inode, b: &Self::Inode) -> bool {
        let _ = (a, b);
        true
    }

    /// Status of `name` in `parent` without taking a reference to it (no
    /// symlink following, no automount): the fast path of a lookup that
    /// finds an object the guest already knows, one host call instead of an
    /// open, a stat and a handle (see [`Host::is_alive`] for why the key is
    /// then enough). `Ok(None)`: no such call here, use [`Host::lookup`].
    /// Errors: as [`Host::lookup`]'s; the caller trusts only `ENOENT` and
    /// asks [`Host::lookup`] for the others.
    fn stat_at(&self, parent: &Self::Inode, name: Name<'_>) -> Result<Option<Stat>> {
        let _ = (parent, name);
        Ok(None)
    }

    /// Whether the object `inode` refers to exists now (Linux: its `O_PATH`
    /// descriptor is held, or its file handle still opens). No two live
    /// objects share a [`HostKey`] and objects do not come back, so an object
    /// alive after a [`Host::stat_at`] that returned its key is the object
    /// that stat found. Default: `false` (no fast path).
    fn is_alive(&self, inode: &Self::Inode) -> bool {
        let _ = inode;
        false
    }

    /// Whether [`Host::export`] and [`Host::reopen`] work here (Linux: inodes
    /// are held by file handle and the process may reopen handles, which
    /// needs `CAP_DAC_READ_SEARCH`). Default: no; the passthrough then keeps
    /// `FUSE_NO_EXPORT_SUPPORT`.
    fn can_export(&self) -> bool {
        false
    }

    /// A reference to `inode` that [`Host::reopen`] can turn back into an
    /// inode after `inode` is dropped, holding no host resource but memory;
    /// `None` where the host has none for this inode. Called under the
    /// passthrough's inode-table lock: it must not block (a copy of what the
    /// inode holds). Default: `None`.
    fn export(&self, inode: &Self::Inode) -> Option<Self::Export> {
        let _ = inode;
        None
    }

    /// Reopens the object `export` refers to: the same object or an error
    /// (`ESTALE` once it is gone; never another object). The object may have
    /// been renamed anywhere on its file system meanwhile: the caller checks
    /// that a directory is still inside the share. Default: `ESTALE`.
    fn reopen(&self, export: &Self::Export) -> Result<(Self::Inode, Stat)> {
        let _ = export;
        Err(crate::Errno::ESTALE)
    }

    /// The parent directory of directory `dir` (`..`; the root of the host's
    /// file system tree is its own parent). The only operation that resolves
    /// `..`: the result may lie outside the share, and the caller checks it
    /// (see [`crate::passthrough`]'s export support). Default: `EOPNOTSUPP`.
    fn parent(&self, dir: &Self::Inode) -> Result<(Self::Inode, Stat)> {
        let _ = dir;
        Err(crate::Errno::EOPNOTSUPP)
    }

    /// Status of an inode (no symlink following).
    fn stat(&self, inode: &Self::Inode) -> Result<Stat>;

    /// Status of an open file.
    fn fstat(&self, file: &Self::File) -> Result<Stat> {
        let _ = file;
        Err(crate::Errno::ENOSYS)
    }

    /// Opens a regular file or directory for I/O with Linux `flags`
    /// (`O_CREAT`, `O_EXCL`, `O_NOCTTY` ignored; `O_NOFOLLOW` implied).
    /// Device nodes, FIFOs and sockets: `EACCES`.
    fn open(&self, inode: &Self::Inode, flags: OpenFlags) -> Result<Self::File>;

    /// Creates and opens regular file `name` (`mode`: permission bits, less
    /// [`Creds::umask`] as [`Host::applies_umask`] describes), owned by
    /// `creds`. `O_EXCL` in `flags` makes an existing name `EEXIST`;
    /// otherwise an existing regular file is opened.
    fn create(
        &self,
        parent: &Self::Inode,
        name: Name<'_>,
        flags: OpenFlags,
        mode: u32,
        creds: &Creds,
    ) -> Result<(Self::Inode, Self::File, Stat)>;

    /// Creates a node (`mode` holds the `S_IF*` type: regular, FIFO, socket,
    /// character or block device) owned by `creds`.
    fn mknod(
        &self,
        parent: &Self::Inode,
        name: Name<'_>,
        mode: u32,
        rdev: u32,
        creds: &Creds,
    ) -> Result<(Self::Inode, Stat)>;

    /// Creates a directory owned by `creds`.
    fn mkdir(
        &self,
        parent: &Self::Inode,
        name: Name<'_>,
        mode: u32,
        creds: &Creds,
    ) -> Result<(Self::Inode, Stat)>;

    /// Creates a symlink to `target` (stored verbatim, never resolved) owned by `creds`.
    fn symlink(
        &self,
        parent: &Self::Inode,
        name: Name<'_>,
        target: &[u8],
        creds: &Creds,
    ) -> Result<(Self::Inode, Stat)>;

    /// A new hard link `newname` in `newparent` to `inode` (which may be a
    /// symlink; never its target). Returns the inode's new status.
    fn link(&self, inode: &Self::Inode, newparent: &Self::Inode, newname: Name<'_>)
    -> Result<Stat>;

    /// Removes a non-directory.
    fn unlink(&self, parent: &Self::Inode, name: Name<'_>) -> Result<()>;

    /// Removes an empty directory.
    fn rmdir(&self, parent: &Self::Inode, name: Name<'_>) -> Result<()>;

    /// Renames, with Linux `renameat2` flags.
    fn rename(
        &self,
        parent: &Self::Inode,
        name: Name<'_>,
        newparent: &Self::Inode,
        newname: Name<'_>,
        flags: RenameFlags,
    ) -> Result<()>;

    /// Reads a symlink's target into `buf`; returns its length (`ERANGE`-free:
    /// a longer target is truncated to `buf`, as `readlink(2)` does).
    fn readlink(&self, inode: &Self::Inode, buf: &mut [u8]) -> Result<usize>;

    /// Changes attributes, through `file` where given (ftruncate, fchmod,
    /// futimens) and never through a symlink: on a symlink `mode` is
    /// `EOPNOTSUPP`, ownership and times apply to the link itself.
    fn setattr(
        &self,
        inode: &Self::Inode,
        file: Option<&Self::File>,
        attrs: &SetAttrs,
    ) -> Result<Stat>;

    /// `preadv` at `offset` into `bufs`; returns the bytes read (0 at EOF).
    /// The views may be guest memory: a host passes their addresses to the
    /// kernel or copies through them, never forms references to them.
    fn read(&self, file: &Self::File, offset: u64, bufs: &mut [IoBufMut<'_>]) -> Result<usize>;

    /// `pwritev` of `bufs` at `offset`; returns the bytes written (the views
    /// as in [`Host::read`]). With
    /// `kill_priv`, clears set-user-id, set-group-id and
    /// `security.capability` as a write by an unprivileged process would.
    fn write(
        &self,
        file: &Self::File,
        offset: u64,
        bufs: &[IoBuf<'_>],
        kill_priv: bool,
    ) -> Result<usize>;

    /// The largest end offset (`offset + len`) a [`Host::write`] to `file`
    /// can reach without failing or writing short (the host file system's
    /// maximum file size, the process's `RLIMIT_FSIZE`). The passthrough
    /// combines (acknowledges before writing) only writes that end at or
    /// below it; a host that cannot tell answers conservatively. Default:
    /// `i64::MAX`, the largest `off_t`.
    fn max_file_size(&self, file: &Self::File) -> u64 {
        let _ = file;
        i64::MAX as u64
    }

    /// Pause before retry `attempt` (0, 1, ...) of a non-blocking lock that
    /// a SETLKW waits for (see [`crate::passthrough`]'s lock waits): a std
    /// host sleeps with a growing backoff. Default: a short busy wait, for
    /// hosts without a clock.
    fn lock_wait_pause(&self, attempt: u32) {
        for _ in 0..(64u32 << attempt.min(10)) {
            core::hint::spin_loop();
        }
    }

    /// Hint that `file` is being read sequentially (Linux:
    /// `posix_fadvise(POSIX_FADV_SEQUENTIAL)`, a larger readahead window).
    /// Called once per open file, when a second read continues the first.
    fn advise_sequential(&self, file: &Self::File) {
        let _ = file;
    }

    /// Called on every guest `close(2)` of a file: release POSIX locks of
    /// `lock_owner` (Linux: `close(dup(fd))`).
    fn flush(&self, file: &Self::File, lock_owner: u64) -> Result<()> {
        let _ = (file, lock_owner);
        Ok(())
    }

    /// `fsync` / `fdatasync`.
    fn fsync(&self, file: &Self::File, datasync: bool) -> Result<()>;

    /// `fsync` of a directory.
    fn fsyncdir(&self, dir: &Self::Dir, datasync: bool) -> Result<()>;

    /// `fallocate` with Linux modes. Never shrinks a file unless a mode asks.
    fn fallocate(
        &self,
        file: &Self::File,
        mode: FallocateMode,
        offset: u64,
        len: u64,
    ) -> Result<()>;

    /// `lseek` (only `Data` and `Hole` matter; `Set`/`Cur`/`End` are resolved by the caller).
    fn lseek(&self, file: &Self::File, offset: u64, whence: Whence) -> Result<u64>;

    /// `copy_file_range`; returns the bytes copied.
    fn copy_file_range(
        &self,
        src: &Self::File,
        src_off: u64,
        dst: &Self::File,
        dst_off: u64,
        len: u64,
        flags: u32,
    ) -> Result<u64>;

    /// `statfs` of the filesystem holding `inode`.
    fn statfs(&self, inode: &Self::Inode) -> Result<Kstatfs>;

    /// An xattr value; with an empty `buf`, its size. `ENODATA` if absent,
    /// `ERANGE` if `buf` is too small.
    fn getxattr(&self, inode: &Self::Inode, name: &[u8], buf: &mut [u8]) -> Result<usize>;

    /// NUL-separated xattr names; with an empty `buf`, the size.
    fn listxattr(&self, inode: &Self::Inode, buf: &mut [u8]) -> Result<usize>;

    /// Sets an xattr (`flags`: `XATTR_CREATE` / `XATTR_REPLACE`).
    fn setxattr(&self, inode: &Self::Inode, name: &[u8], value: &[u8], flags: u32) -> Result<()>;

    /// Removes an xattr.
    fn removexattr(&self, inode: &Self::Inode, name: &[u8]) -> Result<()>;

    /// Opens a directory stream.
    fn opendir(&self, inode: &Self::Inode) -> Result<Self::Dir>;

    /// Reads entries from cookie `offset` (0 = start), calling `f` for each
    /// until `f` returns `false` or the directory ends. Cookies are stable for
    /// the life of the stream.
    fn readdir(
        &self,
        dir: &Self::Dir,
        offset: u64,
        f: &mut dyn FnMut(DirEntry<'_>) -> bool,
    ) -> Result<()>;

    /// POSIX lock test (`F_OFD_GETLK`-style, per `owner`).
    fn getlk(&self, file: &Self::File, owner: u64, lock: &FileLock) -> Result<FileLock>;

    /// POSIX lock set (`sleep`: wait), per `owner`.
    fn setlk(&self, file: &Self::File, owner: u64, lock: &FileLock, sleep: bool) -> Result<()>;

    /// BSD `flock` (`lock.typ`: `F_RDLCK` shared, `F_WRLCK` exclusive, `F_UNLCK`).
    fn flock(&self, file: &Self::File, lock: &FileLock, sleep: bool) -> Result<()>;

    /// An unnamed temporary file in `parent` (`O_TMPFILE`), owned by `creds`.
    fn tmpfile(
        &self,
        parent: &Self::Inode,
        flags: OpenFlags,
        mode: u32,
        creds: &Creds,
    ) -> Result<(Self::Inode, Self::File, Stat)> {
        let _ = (parent, flags, mode, creds);
        Err(crate::Errno::EOPNOTSUPP)
    }

    /// `syncfs` of the filesystem holding `inode`.
    fn syncfs(&self, inode: &Self::Inode) -> Result<()>;

    /// Whether the creates ([`Host::create`], [`Host::mknod`],
    /// [`Host::mkdir`], [`Host::tmpfile`]) apply [`Creds::umask`] as a local
    /// create does: cleared from the mode unless the parent has a default
    /// ACL (acl(5), `FUSE_DONT_MASK`). Then the passthrough leaves the
    /// choice to the host instead of reading the parent's default ACL
    /// first. Default `false`: the umask is already applied to `mode`.
    fn applies_umask(&self) -> bool {
        false
    }

    /// Whether names are compared case-insensitively (default APFS / HFS+).
    /// The passthrough then gives the guest no negative entries: the guest's
    /// dcache is case-sensitive, and its cached miss of `readme` would outlive
    /// a create of `README` that makes `readme` resolve.
    fn case_insensitive(&self) -> bool {
        false
    }

    /// Starts watching a directory for changes made outside the server (a
    /// negative entry or cached attributes depend on it). Default: no watcher.
    /// A watch that cannot be set up (e.g. the inotify limit) is not an error:
    /// the passthrough never keeps a negative entry longer than its
    /// `negative_timeout`, so a change is then seen within that timeout
    /// instead of at once. Dropping the last `Inode` of a watched directory may
    /// end its watch.
    fn watch(&self, dir: &Self::Inode) {
        let _ = dir;
    }

    /// Reports changes seen since the last call. Default: none (callers then
    /// rely on cache timeouts).
    fn drain_changes(&self, f: &mut dyn FnMut(HostChange<'_>)) {
        let _ = f;
    }

    /// Whether this host reports changes through [`Host::drain_changes`].
    fn has_watcher(&self) -> bool {
        false
    }
}
