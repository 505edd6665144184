//! `MacosHost`: the [`Host`] trait over Darwin system calls.
//!
//! Every value crossing this layer goes through [`crate::translate`]: open
//! flags, errnos, whence, mode bits, xattr and rename flags, fallocate
//! modes, timestamps. Every operation resolves exactly one component below a
//! directory descriptor (or a `/.vol/<fsid>/<fileid>` path, which has no
//! symlink component) and never follows a symlink: `AT_SYMLINK_NOFOLLOW`,
//! `O_NOFOLLOW`, `XATTR_NOFOLLOW` everywhere. Device nodes, FIFOs and
//! sockets are never opened.

mod consts;
mod dir;
mod handles;
mod stat;
mod sys;
mod watch;

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::{Arc, Mutex};

use arcbox_fs::abi::mode::{
    S_IFBLK, S_IFCHR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK, S_ISGID, S_ISUID,
};
use arcbox_fs::abi::{FallocateMode, FileLock, Kstatfs, OpenFlags, RenameFlags, Whence, lock};
use arcbox_fs::errno::Result;
use arcbox_fs::host::{Creds, DirEntry, Host, HostChange, HostKey, SetAttrs, Stat};
use arcbox_fs::name::Name;
use arcbox_fs::{Errno, IoBuf, IoBufMut};
use rustix::fs::{AtFlags, FlockOperation, Gid, Mode, OFlags, Uid};

pub use dir::MacosDir;
pub use handles::MacosInode;
use handles::{FdCache, Handle, Kind, Volume, vol_path};
use sys::{XattrAt, rx};

use crate::translate::fallocate::{self as fa, Plan};
use crate::translate::open_flags::{self, GuestArch, darwin as dflags, linux as lflags};
use crate::translate::statfs::{DARWIN_MNT_DOVOLFS, DarwinStatfs};
use crate::translate::{mode as tmode, names, rename, time as ttime, whence, xattr};

/// `clonefileat` flag `CLONE_NOFOLLOW` (`<sys/clonefile.h>`).
const CLONE_NOFOLLOW: u32 = 0x0001;
/// `clonefileat` flag `CLONE_NOOWNERCOPY` (`<sys/clonefile.h>`).
const CLONE_NOOWNERCOPY: u32 = 0x0002;
/// Darwin `_PC_NAME_MAX` (`<sys/unistd.h>`).
const PC_NAME_MAX: i32 = 4;
/// Darwin `_PC_CASE_SENSITIVE` (`<sys/unistd.h>`).
const PC_CASE_SENSITIVE: i32 = 11;
/// Group-execute permission bit (`<sys/stat.h>`, include/uapi/linux/stat.h).
const S_IXGRP: u32 = 0o010;
/// iovecs per `preadv` / `pwritev` call.
const IOV_BATCH: usize = 64;
/// Largest copy one `copy_file_range` call performs.
const COPY_CHUNK: u64 = 1 << 20;

/// Configuration of a [`MacosHost`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacosConfig {
    /// The guest's architecture (decides four Linux open-flag values).
    pub guest_arch: GuestArch,
    /// Most directory descriptors kept open at once (evicted ones are
    /// reopened through `/.vol`).
    pub dir_fd_cap: usize,
    /// Most directories watched for host-side changes at once.
    pub watch_cap: usize,
}

impl Default for MacosConfig {
    fn default() -> MacosConfig {
        MacosConfig {
            guest_arch: GuestArch::native(),
            dir_fd_cap: 1024,
            watch_cap: 1024,
        }
    }
}

/// A file open for I/O (the `Host::File` of [`MacosHost`]).
#[derive(Debug)]
pub struct MacosFile {
    fd: OwnedFd,
    key: HostKey,
}

impl MacosFile {
    /// The host identity of the open file.
    pub fn key(&self) -> HostKey {
        self.key
    }
}

/// The macOS host. See the module docs.
#[derive(Debug)]
pub struct MacosHost {
    config: MacosConfig,
    root_fd: Arc<OwnedFd>,
    root_key: HostKey,
    root_vol: Arc<Volume>,
    volumes: Mutex<HashMap<u64, Arc<Volume>>>,
    fds: FdCache,
    watcher: watch::Watcher,
    privileged: bool,
}

fn cstr(name: &[u8]) -> Result<CString> {
    CString::new(name).map_err(|_| Errno::EINVAL)
}

fn perm(mode: u32) -> Mode {
    Mode::from_bits_truncate((mode & 0o7777) as rustix::fs::RawMode)
}

fn oflags(bits: u32) -> OFlags {
    OFlags::from_bits_retain(bits)
}

/// Opens directory `name` below `dir` (no symlink following) and checks
/// that it is still `key`.
fn open_dir_at(dir: BorrowedFd<'_>, name: &CStr, key: HostKey) -> Result<OwnedFd> {
    let base = dflags::O_DIRECTORY | dflags::O_NOFOLLOW | dflags::O_CLOEXEC;
    let fd = match rustix::fs::openat(dir, name, oflags(base), Mode::empty()) {
        Ok(fd) => fd,
        // A directory we may search but not list.
        Err(rustix::io::Errno::ACCESS) => {
            rustix::fs::openat(dir, name, oflags(base | dflags::O_SEARCH), Mode::empty())
                .map_err(rx)?
        }
        Err(e) => return Err(rx(e)),
    };
    let st = rustix::fs::fstat(&fd).map_err(rx)?;
    if stat::key_of(&st) != key {
        return Err(Errno::ESTALE);
    }
    Ok(fd)
}

fn probe_volume(fd: Arc<OwnedFd>) -> Result<Volume> {
    let sfs = rustix::fs::fstatfs(&fd).map_err(rx)?;
    // MNT_DOVOLFS, and /.vol actually usable by this process (a sandbox
    // may deny it): reopen this very directory through its /.vol path.
    let volfs = sfs.f_flags & DARWIN_MNT_DOVOLFS != 0 && {
        let key = stat::key_of(&rustix::fs::fstat(&fd).map_err(rx)?);
        open_dir_at(rustix::fs::CWD, &vol_path(key), key).is_ok()
    };
    // Unknown case sensitivity is treated as insensitive: folding keys on a
    // case-sensitive volume costs only extra invalidations.
    let case_insensitive = sys::fpathconf(fd.as_fd(), PC_CASE_SENSITIVE) != Some(1);
    let name_max = sys::fpathconf(fd.as_fd(), PC_NAME_MAX)
        .and_then(|v| u64::try_from(v).ok())
        .unwrap_or(255);
    Ok(Volume {
        fd,
        volfs,
        case_insensitive,
        name_max,
    })
}

const EMPTY_IOV: libc::iovec = libc::iovec {
    iov_base: std::ptr::null_mut(),
    iov_len: 0,
};

/// A `preadv`/`pwritev` return value as bytes or the errno, retried on `EINTR`.
fn retry_iov(mut call: impl FnMut() -> isize) -> Result<usize> {
    loop {
        let r = call();
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(rx(
                rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO)
            ));
        }
    }
}

/// `preadv(2)` of every view in batches of `IOV_BATCH` `iovec`s; the views
/// may be guest memory, so only the kernel touches their bytes.
fn preadv_all(fd: BorrowedFd<'_>, offset: u64, bufs: &mut [IoBufMut<'_>]) -> Result<usize> {
    let mut total = 0usize;
    let mut off = offset;
    for chunk in bufs.chunks_mut(IOV_BATCH) {
        let want = chunk.iter().fold(0usize, |a, b| a.saturating_add(b.len()));
        let mut iov = [EMPTY_IOV; IOV_BATCH];
        for (slot, b) in iov.iter_mut().zip(chunk.iter_mut()) {
            slot.iov_len = b.len();
            slot.iov_base = b.as_mut_ptr().cast();
        }
        let at = libc::off_t::try_from(off).map_err(|_| Errno::EOVERFLOW)?;
        let cnt = chunk.len() as libc::c_int;
        // SAFETY: each `iovec` is an `IoBufMut`'s address and length, valid
        // for writes while `bufs` is borrowed; only the kernel writes them.
        let n = match retry_iov(|| unsafe { libc::preadv(fd.as_raw_fd(), iov.as_ptr(), cnt, at) }) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total = total.saturating_add(n);
        off = off.checked_add(n as u64).ok_or(Errno::EOVERFLOW)?;
        if n < want {
            break;
        }
    }
    Ok(total)
}

/// `pwritev(2)` of every view, as [`preadv_all`].
fn pwritev_all(fd: BorrowedFd<'_>, offset: u64, bufs: &[IoBuf<'_>]) -> Result<usize> {
    let mut total = 0usize;
    let mut off = offset;
    for chunk in bufs.chunks(IOV_BATCH) {
        let want = chunk.iter().fold(0usize, |a, b| a.saturating_add(b.len()));
        let mut iov = [EMPTY_IOV; IOV_BATCH];
        for (slot, b) in iov.iter_mut().zip(chunk.iter()) {
            slot.iov_len = b.len();
            slot.iov_base = b.as_ptr().cast_mut().cast();
        }
        let at = libc::off_t::try_from(off).map_err(|_| Errno::EFBIG)?;
        let cnt = chunk.len() as libc::c_int;
        // SAFETY: each `iovec` is an `IoBuf`'s address and length, valid for
        // reads while `bufs` is borrowed; pwritev only reads them.
        let n = match retry_iov(|| unsafe { libc::pwritev(fd.as_raw_fd(), iov.as_ptr(), cnt, at) })
        {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total = total.saturating_add(n);
        off = off.checked_add(n as u64).ok_or(Errno::EFBIG)?;
        if n < want {
            break;
        }
    }
    Ok(total)
}

/// Writes zeros over `[offset, offset + len)`.
fn write_zeros(fd: BorrowedFd<'_>, offset: u64, len: u64) -> Result<()> {
    static ZEROS: [u8; 4096] = [0; 4096];
    let mut off = offset;
    let end = offset.checked_add(len).ok_or(Errno::EFBIG)?;
    while off < end {
        let n = usize::try_from((end - off).min(ZEROS.len() as u64)).unwrap_or(ZEROS.len());
        let w = rustix::io::pwrite(fd, &ZEROS[..n], off).map_err(rx)?;
        if w == 0 {
            return Err(Errno::EIO);
        }
        off += w as u64;
    }
    Ok(())
}

fn full_fsync(fd: BorrowedFd<'_>) -> Result<()> {
    // F_FULLFSYNC flushes the drive cache too; filesystems without it get fsync.
    rustix::fs::fcntl_fullfsync(fd)
        .or_else(|_| rustix::fs::fsync(fd))
        .map_err(rx)
}

impl MacosHost {
    /// Serves the directory `root` (a path the administrator chose; it may
    /// contain symlinks, nothing below it is followed).
    pub fn new(root: &Path, config: MacosConfig) -> Result<MacosHost> {
        let flags = dflags::O_DIRECTORY | dflags::O_CLOEXEC;
        let fd = rustix::fs::open(root, oflags(flags), Mode::empty()).map_err(rx)?;
        let st = rustix::fs::fstat(&fd).map_err(rx)?;
        let root_key = stat::key_of(&st);
        let root_fd = Arc::new(fd);
        let root_vol = Arc::new(probe_volume(Arc::clone(&root_fd))?);
        let mut volumes = HashMap::new();
        volumes.insert(root_key.dev, Arc::clone(&root_vol));
        Ok(MacosHost {
            config,
            root_fd,
            root_key,
            root_vol,
            volumes: Mutex::new(volumes),
            fds: FdCache::new(config.dir_fd_cap),
            watcher: watch::Watcher::new(config.watch_cap)?,
            privileged: sys::euid_is_root(),
        })
    }

    /// Whether the shared directory's volume compares names without case
    /// (`pathconf(_PC_CASE_SENSITIVE)` is 0, the APFS and HFS+ default).
    /// The core's negative cache must then key names by their folded form;
    /// see [`MacosHost::negative_key`].
    pub fn case_insensitive(&self) -> bool {
        self.root_vol.case_insensitive
    }

    /// The negative-cache key for `name` under `parent`, or `None` if a
    /// miss must not be cached (see [`crate::translate::names`]).
    pub fn negative_key(&self, parent: &MacosInode, name: Name<'_>) -> Option<u64> {
        names::negative_key(name, parent.vol.case_insensitive)
    }

    /// Directory descriptors currently cached (at most `dir_fd_cap`).
    pub fn cached_dir_fds(&self) -> usize {
        self.fds.len()
    }

    /// Creates `name` in `parent` as a copy-on-write clone of the regular
    /// file `src` (`clonefileat(2)`, APFS), owned by `creds`: a whole-file
    /// copy that shares blocks.
    pub fn clone_file(
        &self,
        src: &MacosInode,
        parent: &MacosInode,
        name: Name<'_>,
        creds: &Creds,
    ) -> Result<(MacosInode, Stat)> {
        if src.kind != Kind::Reg {
            return Err(Errno::EINVAL);
        }
        let pfd = self.dir_fd(parent)?;
        let cname = cstr(name.as_bytes())?;
        self.node(src, |d, p| {
            sys::clonefileat(
                d,
                p,
                pfd.as_fd(),
                &cname,
                CLONE_NOFOLLOW | CLONE_NOOWNERCOPY,
            )
        })?;
        self.finish_new(parent, &pfd, &cname, creds, None)
    }

    /// READDIRPLUS: like [`Host::readdir`], with each entry's status taken
    /// from the same `getattrlistbulk` record where the record had it.
    pub fn readdir_plus(
        &self,
        dir: &MacosDir,
        offset: u64,
        f: &mut dyn FnMut(DirEntry<'_>, Option<&Stat>) -> bool,
    ) -> Result<()> {
        dir.read(offset, f)
    }

    fn volume(&self, dev: u64, fd: &Arc<OwnedFd>) -> Result<Arc<Volume>> {
        if let Some(v) = self
            .volumes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&dev)
        {
            return Ok(Arc::clone(v));
        }
        let v = Arc::new(probe_volume(Arc::clone(fd))?);
        let mut g = self.volumes.lock().unwrap_or_else(|e| e.into_inner());
        Ok(Arc::clone(g.entry(dev).or_insert(v)))
    }

    /// A descriptor for a directory inode.
    fn dir_fd(&self, inode: &MacosInode) -> Result<Arc<OwnedFd>> {
        match &inode.handle {
            Handle::PinnedDir(fd) => Ok(Arc::clone(fd)),
            Handle::VolDir(path) => {
                if let Some(fd) = self.fds.get(&inode.key) {
                    return Ok(fd);
                }
                let fd = open_dir_at(rustix::fs::CWD, path, inode.key)?;
                Ok(self.fds.insert(inode.key, Arc::new(fd)))
            }
            Handle::VolPath(_) | Handle::At(..) => Err(Errno::ENOTDIR),
        }
    }

    /// Runs `f` with a (directory, path) pair naming `inode` itself, to be
    /// used with `AT_SYMLINK_NOFOLLOW` / `O_NOFOLLOW`.
    fn node<R>(
        &self,
        inode: &MacosInode,
        f: impl FnOnce(BorrowedFd<'_>, &CStr) -> Result<R>,
    ) -> Result<R> {
        match &inode.handle {
            Handle::PinnedDir(_) | Handle::VolDir(_) => {
                let fd = self.dir_fd(inode)?;
                f(fd.as_fd(), c".")
            }
            Handle::VolPath(path) => f(rustix::fs::CWD, path),
            Handle::At(parent, name) => f(parent.as_fd(), name),
        }
    }

    /// Runs `f` with the xattr target of `inode` and whether it is a path.
    fn xattr_at<R>(
        &self,
        inode: &MacosInode,
        f: impl FnOnce(XattrAt<'_>, bool) -> Result<R>,
    ) -> Result<R> {
        match &inode.handle {
            Handle::PinnedDir(_) | Handle::VolDir(_) => {
                let fd = self.dir_fd(inode)?;
                f(XattrAt::Fd(fd.as_fd()), false)
            }
            Handle::VolPath(path) => f(XattrAt::Path(path), true),
            // Darwin has no *at xattr calls; a path through the parent could
            // follow a symlink swapped in by the host.
            Handle::At(..) => Err(Errno::EOPNOTSUPP),
        }
    }

    /// Builds the inode for `name` (status `st`) found in `parent`.
    fn make_inode(
        &self,
        parent: &MacosInode,
        pfd: &Arc<OwnedFd>,
        name: &CStr,
        st: &Stat,
    ) -> Result<MacosInode> {
        let key = st.key;
        let kind = Kind::of(st.mode);
        let mut opened = None;
        let vol = if kind == Kind::Dir && key.dev != parent.key.dev {
            // A mount point: a new volume.
            let fd = Arc::new(open_dir_at(pfd.as_fd(), name, key)?);
            let v = self.volume(key.dev, &fd)?;
            opened = Some(fd);
            v
        } else {
            Arc::clone(&parent.vol)
        };
        let handle = match (kind, vol.volfs) {
            (Kind::Dir, true) => {
                if let Some(fd) = opened {
                    self.fds.insert(key, fd);
                }
                Handle::VolDir(vol_path(key))
            }
            (Kind::Dir, false) => match opened {
                Some(fd) => Handle::PinnedDir(fd),
                None => Handle::PinnedDir(Arc::new(open_dir_at(pfd.as_fd(), name, key)?)),
            },
            (_, true) => Handle::VolPath(vol_path(key)),
            (_, false) => Handle::At(Arc::clone(pfd), name.to_owned()),
        };
        Ok(MacosInode {
            key,
            kind,
            vol,
            handle,
        })
    }

    fn stat_at(dir: BorrowedFd<'_>, name: &CStr) -> Result<Stat> {
        let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).map_err(rx)?;
        stat::from_darwin(&st)
    }

    /// Gives a new object `name` in `pfd` the ownership and mode Linux
    /// would: owner `creds.uid`; group `creds.gid`, or the parent's where
    /// it is set-group-id (Darwin always takes the parent's group); a new
    /// directory in a set-group-id directory inherits the bit. `mode`:
    /// exact permission bits to set (the server's umask must not apply).
    fn set_owner(
        &self,
        pfd: BorrowedFd<'_>,
        name: &CStr,
        creds: &Creds,
        mode: Option<u32>,
        is_dir: bool,
    ) -> Result<()> {
        let parent = rustix::fs::fstat(pfd).map_err(rx)?;
        let parent_sgid = u32::from(parent.st_mode) & S_ISGID != 0;
        let gid = if parent_sgid {
            parent.st_gid
        } else {
            creds.gid
        };
        let res = if self.privileged {
            rustix::fs::chownat(
                pfd,
                name,
                Some(Uid::from_raw(creds.uid)),
                Some(Gid::from_raw(gid)),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .map_err(rx)
        } else {
            // Unprivileged: the group can change only to one of ours.
            let _ = rustix::fs::chownat(
                pfd,
                name,
                None,
                Some(Gid::from_raw(gid)),
                AtFlags::SYMLINK_NOFOLLOW,
            );
            Ok(())
        };
        res?;
        if let Some(m) = mode {
            let m = if is_dir && parent_sgid {
                m | S_ISGID
            } else {
                m
            };
            rustix::fs::chmodat(pfd, name, perm(m), AtFlags::SYMLINK_NOFOLLOW).map_err(rx)?;
        }
        Ok(())
    }

    /// Ownership, status and inode of a just-created `name`; on failure
    /// the new object is removed again.
    fn finish_new(
        &self,
        parent: &MacosInode,
        pfd: &Arc<OwnedFd>,
        name: &CStr,
        creds: &Creds,
        mode: Option<u32>,
    ) -> Result<(MacosInode, Stat)> {
        let res = Self::stat_at(pfd.as_fd(), name).and_then(|st| {
            let is_dir = Kind::of(st.mode) == Kind::Dir;
            self.set_owner(pfd.as_fd(), name, creds, mode, is_dir)?;
            let st = Self::stat_at(pfd.as_fd(), name)?;
            let inode = self.make_inode(parent, pfd, name, &st)?;
            Ok((inode, st, is_dir))
        });
        match res {
            Ok((inode, st, _)) => Ok((inode, st)),
            Err(e) => {
                let _ = rustix::fs::unlinkat(pfd.as_fd(), name, AtFlags::empty())
                    .or_else(|_| rustix::fs::unlinkat(pfd.as_fd(), name, AtFlags::REMOVEDIR));
                Err(e)
            }
        }
    }

    /// Opens `inode` (a regular file or directory) with Darwin `flags`,
    /// never blocking on a FIFO swapped in by the host, and checks identity.
    fn open_node(&self, inode: &MacosInode, flags: u32) -> Result<OwnedFd> {
        let nonblock_added = flags & dflags::O_NONBLOCK == 0;
        let fd = self.node(inode, |d, p| {
            rustix::fs::openat(d, p, oflags(flags | dflags::O_NONBLOCK), Mode::empty()).map_err(rx)
        })?;
        let st = rustix::fs::fstat(&fd).map_err(rx)?;
        if stat::key_of(&st) != inode.key {
            return Err(Errno::ESTALE);
        }
        if nonblock_added {
            let cur = rustix::fs::fcntl_getfl(&fd).map_err(rx)?;
            rustix::fs::fcntl_setfl(&fd, cur & !OFlags::NONBLOCK).map_err(rx)?;
        }
        Ok(fd)
    }
}

impl Host for MacosHost {
    fn case_insensitive(&self) -> bool {
        MacosHost::case_insensitive(self)
    }

    type Inode = MacosInode;
    type File = MacosFile;
    type Dir = MacosDir;
    /// No export support yet: macOS has no `open_by_handle_at(2)` (a
    /// `fsgetpath`/volfs-based reopen is possible but not built), so
    /// [`Host::can_export`] stays false and the guest gets
    /// `FUSE_NO_EXPORT_SUPPORT`.
    type Export = ();

    fn root(&self) -> Result<(MacosInode, Stat)> {
        let st = rustix::fs::fstat(&*self.root_fd).map_err(rx)?;
        let stat = stat::from_darwin(&st)?;
        if stat.key != self.root_key {
            return Err(Errno::ESTALE);
        }
        let inode = MacosInode {
            key: self.root_key,
            kind: Kind::Dir,
            vol: Arc::clone(&self.root_vol),
            handle: Handle::PinnedDir(Arc::clone(&self.root_fd)),
        };
        Ok((inode, stat))
    }

    fn lookup(&self, parent: &MacosInode, name: Name<'_>) -> Result<(MacosInode, Stat)> {
        let pfd = self.dir_fd(parent)?;
        let cname = cstr(name.as_bytes())?;
        let st = Self::stat_at(pfd.as_fd(), &cname)?;
        let inode = self.make_inode(parent, &pfd, &cname, &st)?;
        Ok((inode, st))
    }

    fn stat(&self, inode: &MacosInode) -> Result<Stat> {
        let st = self.node(inode, Self::stat_at)?;
        if st.key != inode.key {
            return Err(Errno::ESTALE);
        }
        Ok(st)
    }

    fn fstat(&self, file: &MacosFile) -> Result<Stat> {
        stat::from_darwin(&rustix::fs::fstat(&file.fd).map_err(rx)?)
    }

    fn open(&self, inode: &MacosInode, flags: OpenFlags) -> Result<MacosFile> {
        if !matches!(inode.kind, Kind::Reg | Kind::Dir) {
            return Err(Errno::EACCES);
        }
        let bits = flags.bits() & !(lflags::O_CREAT | lflags::O_EXCL | lflags::O_NOCTTY);
        let d = open_flags::to_darwin(bits, self.config.guest_arch)?;
        let fd = self.open_node(inode, d.flags)?;
        if d.nocache {
            sys::set_nocache(fd.as_fd())?;
        }
        Ok(MacosFile { fd, key: inode.key })
    }

    fn create(
        &self,
        parent: &MacosInode,
        name: Name<'_>,
        flags: OpenFlags,
        mode: u32,
        creds: &Creds,
    ) -> Result<(MacosInode, MacosFile, Stat)> {
        let pfd = self.dir_fd(parent)?;
        let cname = cstr(name.as_bytes())?;
        let bits = flags.bits() & !(lflags::O_CREAT | lflags::O_EXCL | lflags::O_NOCTTY);
        let d = open_flags::to_darwin(bits, self.config.guest_arch)?;
        if d.flags & dflags::O_DIRECTORY != 0 {
            return Err(Errno::EINVAL);
        }
        let excl = d.flags | dflags::O_CREAT | dflags::O_EXCL;
        let (fd, created) = match rustix::fs::openat(pfd.as_fd(), &cname, oflags(excl), perm(mode))
        {
            Ok(fd) => (fd, true),
            Err(rustix::io::Errno::EXIST) if !flags.contains(OpenFlags::EXCL) => {
                // Open the existing file, which must be a regular file.
                let st = Self::stat_at(pfd.as_fd(), &cname)?;
                match Kind::of(st.mode) {
                    Kind::Reg => {}
                    Kind::Dir => return Err(Errno::EISDIR),
                    Kind::Lnk => return Err(Errno::ELOOP),
                    Kind::Special => return Err(Errno::EACCES),
                }
                let fd = rustix::fs::openat(
                    pfd.as_fd(),
                    &cname,
                    oflags(d.flags | dflags::O_NONBLOCK),
                    Mode::empty(),
                )
                .map_err(rx)?;
                let now = rustix::fs::fstat(&fd).map_err(rx)?;
                if stat::key_of(&now) != st.key
                    || u32::from(now.st_mode) & tmode::DARWIN_S_IFMT != tmode::DARWIN_S_IFREG
                {
                    return Err(Errno::ESTALE);
                }
                if d.flags & dflags::O_NONBLOCK == 0 {
                    let cur = rustix::fs::fcntl_getfl(&fd).map_err(rx)?;
                    rustix::fs::fcntl_setfl(&fd, cur & !OFlags::NONBLOCK).map_err(rx)?;
                }
                (fd, false)
            }
            Err(e) => return Err(rx(e)),
        };
        let (inode, st) = if created {
            self.finish_new(parent, &pfd, &cname, creds, Some(mode))?
        } else {
            self.lookup(parent, name)?
        };
        if st.key != stat::key_of(&rustix::fs::fstat(&fd).map_err(rx)?) {
            return Err(Errno::ESTALE);
        }
        if d.nocache {
            sys::set_nocache(fd.as_fd())?;
        }
        Ok((inode, MacosFile { fd, key: st.key }, st))
    }

    fn mknod(
        &self,
        parent: &MacosInode,
        name: Name<'_>,
        mode: u32,
        rdev: u32,
        creds: &Creds,
    ) -> Result<(MacosInode, Stat)> {
        let pfd = self.dir_fd(parent)?;
        let cname = cstr(name.as_bytes())?;
        let bits = mode & 0o7777;
        match mode & S_IFMT {
            0 | S_IFREG => {
                let f = dflags::O_CREAT
                    | dflags::O_EXCL
                    | dflags::O_WRONLY
                    | dflags::O_NOFOLLOW
                    | dflags::O_CLOEXEC;
                drop(rustix::fs::openat(pfd.as_fd(), &cname, oflags(f), perm(bits)).map_err(rx)?);
            }
            S_IFIFO => sys::mkfifoat(pfd.as_fd(), &cname, bits)?,
            t @ (S_IFCHR | S_IFBLK) => {
                let dmode = tmode::mode_to_darwin(t | bits)?;
                sys::mknodat(pfd.as_fd(), &cname, dmode, tmode::rdev_to_darwin(rdev)?)?;
            }
            // Darwin's mknod cannot create sockets (only bind(2) can).
            S_IFSOCK => return Err(Errno::EOPNOTSUPP),
            _ => return Err(Errno::EINVAL),
        }
        self.finish_new(parent, &pfd, &cname, creds, Some(bits))
    }

    fn mkdir(
        &self,
        parent: &MacosInode,
        name: Name<'_>,
        mode: u32,
        creds: &Creds,
    ) -> Result<(MacosInode, Stat)> {
        let pfd = self.dir_fd(parent)?;
        let cname = cstr(name.as_bytes())?;
        rustix::fs::mkdirat(pfd.as_fd(), &cname, perm(mode)).map_err(rx)?;
        self.finish_new(parent, &pfd, &cname, creds, Some(mode & 0o7777))
    }

    fn symlink(
        &self,
        parent: &MacosInode,
        name: Name<'_>,
        target: &[u8],
        creds: &Creds,
    ) -> Result<(MacosInode, Stat)> {
        if target.is_empty() || target.len() >= arcbox_fs::abi::PATH_MAX {
            return Err(if target.is_empty() {
                Errno::ENOENT
            } else {
                Errno::ENAMETOOLONG
            });
        }
        let pfd = self.dir_fd(parent)?;
        let cname = cstr(name.as_bytes())?;
        let ctarget = cstr(target)?;
        rustix::fs::symlinkat(&*ctarget, pfd.as_fd(), &cname).map_err(rx)?;
        self.finish_new(parent, &pfd, &cname, creds, None)
    }

    fn link(&self, inode: &MacosInode, newparent: &MacosInode, newname: Name<'_>) -> Result<Stat> {
        if inode.kind == Kind::Dir {
            return Err(Errno::EPERM);
        }
        let pfd = self.dir_fd(newparent)?;
        let cname = cstr(newname.as_bytes())?;
        // linkat without AT_SYMLINK_FOLLOW links a symlink itself.
        self.node(inode, |d, p| {
            rustix::fs::linkat(d, p, pfd.as_fd(), &cname, AtFlags::empty()).map_err(rx)
        })?;
        self.stat(inode)
    }

    fn unlink(&self, parent: &MacosInode, name: Name<'_>) -> Result<()> {
        let pfd = self.dir_fd(parent)?;
        rustix::fs::unlinkat(pfd.as_fd(), name.as_bytes(), AtFlags::empty()).map_err(rx)
    }

    fn rmdir(&self, parent: &MacosInode, name: Name<'_>) -> Result<()> {
        let pfd = self.dir_fd(parent)?;
        let cname = cstr(name.as_bytes())?;
        let key = Self::stat_at(pfd.as_fd(), &cname).map(|s| s.key);
        rustix::fs::unlinkat(pfd.as_fd(), &cname, AtFlags::REMOVEDIR).map_err(rx)?;
        if let Ok(k) = key {
            self.fds.remove(&k);
        }
        Ok(())
    }

    fn rename(
        &self,
        parent: &MacosInode,
        name: Name<'_>,
        newparent: &MacosInode,
        newname: Name<'_>,
        flags: RenameFlags,
    ) -> Result<()> {
        let dflags = rename::to_darwin(flags)?;
        let from = self.dir_fd(parent)?;
        let to = self.dir_fd(newparent)?;
        let (a, b) = (cstr(name.as_bytes())?, cstr(newname.as_bytes())?);
        if dflags == 0 {
            rustix::fs::renameat(from.as_fd(), &a, to.as_fd(), &b).map_err(rx)
        } else {
            sys::renameatx_np(from.as_fd(), &a, to.as_fd(), &b, dflags)
        }
    }

    fn readlink(&self, inode: &MacosInode, buf: &mut [u8]) -> Result<usize> {
        if inode.kind != Kind::Lnk {
            return Err(Errno::EINVAL);
        }
        self.node(inode, |d, p| sys::readlinkat(d, p, buf))
    }

    fn setattr(
        &self,
        inode: &MacosInode,
        file: Option<&MacosFile>,
        attrs: &SetAttrs,
    ) -> Result<Stat> {
        let fd = file.map(|f| f.fd.as_fd());
        if attrs.uid.is_some() || attrs.gid.is_some() {
            let (u, g) = (attrs.uid.map(Uid::from_raw), attrs.gid.map(Gid::from_raw));
            match fd {
                Some(fd) => rustix::fs::fchown(fd, u, g).map_err(rx)?,
                None => self.node(inode, |d, p| {
                    rustix::fs::chownat(d, p, u, g, AtFlags::SYMLINK_NOFOLLOW).map_err(rx)
                })?,
            }
        }
        if let Some(size) = attrs.size {
            match (fd, inode.kind) {
                (_, Kind::Dir) => return Err(Errno::EISDIR),
                (Some(fd), _) => rustix::fs::ftruncate(fd, size).map_err(rx)?,
                (None, Kind::Reg) => {
                    let f = self.open_node(
                        inode,
                        dflags::O_WRONLY | dflags::O_NOFOLLOW | dflags::O_CLOEXEC,
                    )?;
                    rustix::fs::ftruncate(&f, size).map_err(rx)?;
                }
                (None, _) => return Err(Errno::EINVAL),
            }
        }
        let mut new_mode = attrs.mode;
        if attrs.kill_suidgid {
            let cur = match fd {
                Some(fd) => u32::from(rustix::fs::fstat(fd).map_err(rx)?.st_mode),
                None => self.stat(inode)?.mode,
            };
            let base = new_mode.unwrap_or(cur) & 0o7777;
            let kill = S_ISUID | if base & S_IXGRP != 0 { S_ISGID } else { 0 };
            if base & kill != 0 {
                new_mode = Some(base & !kill);
            }
        }
        if let Some(m) = new_mode {
            if inode.kind == Kind::Lnk {
                return Err(Errno::EOPNOTSUPP);
            }
            match fd {
                Some(fd) => rustix::fs::fchmod(fd, perm(m)).map_err(rx)?,
                None => self.node(inode, |d, p| {
                    rustix::fs::chmodat(d, p, perm(m), AtFlags::SYMLINK_NOFOLLOW).map_err(rx)
                })?,
            }
        }
        if attrs.atime.is_some() || attrs.mtime.is_some() {
            let (a, m) = (ttime::to_darwin(attrs.atime), ttime::to_darwin(attrs.mtime));
            match fd {
                Some(fd) => sys::futimens(fd, a, m)?,
                None => self.node(inode, |d, p| sys::utimensat_nofollow(d, p, a, m))?,
            }
        }
        match file {
            Some(f) => self.fstat(f),
            None => self.stat(inode),
        }
    }

    fn read(&self, file: &MacosFile, offset: u64, bufs: &mut [IoBufMut<'_>]) -> Result<usize> {
        preadv_all(file.fd.as_fd(), offset, bufs)
    }

    fn write(
        &self,
        file: &MacosFile,
        offset: u64,
        bufs: &[IoBuf<'_>],
        kill_priv: bool,
    ) -> Result<usize> {
        if kill_priv {
            let st = rustix::fs::fstat(&file.fd).map_err(rx)?;
            let m = u32::from(st.st_mode) & 0o7777;
            let kill = S_ISUID | if m & S_IXGRP != 0 { S_ISGID } else { 0 };
            if m & kill != 0 {
                rustix::fs::fchmod(&file.fd, perm(m & !kill)).map_err(rx)?;
            }
        }
        pwritev_all(file.fd.as_fd(), offset, bufs)
    }

    /// Sleeps 50 µs doubling per attempt, at most 10 ms.
    fn lock_wait_pause(&self, attempt: u32) {
        let us = (50u64 << attempt.min(8)).min(10_000);
        std::thread::sleep(std::time::Duration::from_micros(us));
    }

    fn fsync(&self, file: &MacosFile, _datasync: bool) -> Result<()> {
        full_fsync(file.fd.as_fd())
    }

    fn fsyncdir(&self, dir: &MacosDir, _datasync: bool) -> Result<()> {
        dir.with_fd(full_fsync)
    }

    fn fallocate(
        &self,
        file: &MacosFile,
        mode: FallocateMode,
        offset: u64,
        len: u64,
    ) -> Result<()> {
        let fd = file.fd.as_fd();
        let st = rustix::fs::fstat(fd).map_err(rx)?;
        let size = u64::try_from(st.st_size).unwrap_or(0);
        match fa::plan(mode)? {
            Plan::Allocate { keep_size } => {
                let a = fa::allocation(offset, len, size, keep_size)?;
                if a.reserve > 0 {
                    sys::preallocate(fd, a.reserve)?;
                }
                if let Some(new_size) = a.grow_to {
                    rustix::fs::ftruncate(fd, new_size).map_err(rx)?;
                }
                Ok(())
            }
            Plan::PunchHole => {
                let block = u64::try_from(st.st_blksize).unwrap_or(4096);
                let p = fa::punch(offset, len, size, block)?;
                if let Some((o, l)) = p.zero_head {
                    write_zeros(fd, o, l)?;
                }
                if let Some((o, l)) = p.punch {
                    sys::punch_hole(fd, o, l)?;
                }
                if let Some((o, l)) = p.zero_tail {
                    write_zeros(fd, o, l)?;
                }
                Ok(())
            }
        }
    }

    fn lseek(&self, file: &MacosFile, offset: u64, w: Whence) -> Result<u64> {
        sys::lseek(file.fd.as_fd(), offset, whence::to_darwin(w))
    }

    fn copy_file_range(
        &self,
        src: &MacosFile,
        src_off: u64,
        dst: &MacosFile,
        dst_off: u64,
        len: u64,
        flags: u32,
    ) -> Result<u64> {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        // No Darwin call clones into an existing open file; whole-file
        // clones of new files are `MacosHost::clone_file`. Copy one bounded
        // chunk per call (callers loop, as with Linux's short copies).
        let n = usize::try_from(len.min(COPY_CHUNK)).unwrap_or(0);
        if n == 0 {
            return Ok(0);
        }
        let mut buf = vec![0u8; n];
        let got = rustix::io::pread(&src.fd, &mut buf, src_off).map_err(rx)?;
        let mut done = 0usize;
        while done < got {
            let at = dst_off.checked_add(done as u64).ok_or(Errno::EFBIG)?;
            let w = rustix::io::pwrite(&dst.fd, &buf[done..got], at).map_err(rx)?;
            if w == 0 {
                break;
            }
            done += w;
        }
        Ok(done as u64)
    }

    fn statfs(&self, inode: &MacosInode) -> Result<Kstatfs> {
        let s = rustix::fs::fstatfs(&*inode.vol.fd).map_err(rx)?;
        let d = DarwinStatfs {
            bsize: s.f_bsize,
            iosize: s.f_iosize,
            blocks: s.f_blocks,
            bfree: s.f_bfree,
            bavail: s.f_bavail,
            files: s.f_files,
            ffree: s.f_ffree,
        };
        Ok(crate::translate::statfs::to_linux(&d, inode.vol.name_max))
    }

    fn getxattr(&self, inode: &MacosInode, name: &[u8], buf: &mut [u8]) -> Result<usize> {
        xattr::check_name(name)?;
        let cname = cstr(name)?;
        self.xattr_at(inode, |at, path| {
            sys::getxattr(at, &cname, buf, xattr::read_options(path))
        })
    }

    fn listxattr(&self, inode: &MacosInode, buf: &mut [u8]) -> Result<usize> {
        self.xattr_at(inode, |at, path| {
            sys::listxattr(at, buf, xattr::read_options(path))
        })
    }

    fn setxattr(&self, inode: &MacosInode, name: &[u8], value: &[u8], flags: u32) -> Result<()> {
        xattr::check_name(name)?;
        let cname = cstr(name)?;
        self.xattr_at(inode, |at, path| {
            sys::setxattr(at, &cname, value, xattr::set_options(flags, path)?)
        })
    }

    fn removexattr(&self, inode: &MacosInode, name: &[u8]) -> Result<()> {
        xattr::check_name(name)?;
        let cname = cstr(name)?;
        self.xattr_at(inode, |at, path| {
            sys::removexattr(at, &cname, xattr::read_options(path))
        })
    }

    fn opendir(&self, inode: &MacosInode) -> Result<MacosDir> {
        let dfd = self.dir_fd(inode)?;
        let fd = open_dir_at(dfd.as_fd(), c".", inode.key)?;
        Ok(MacosDir::new(fd, inode.key))
    }

    fn readdir(
        &self,
        dir: &MacosDir,
        offset: u64,
        f: &mut dyn FnMut(DirEntry<'_>) -> bool,
    ) -> Result<()> {
        dir.read(offset, &mut |e, _| f(e))
    }

    fn getlk(&self, _file: &MacosFile, _owner: u64, _lock: &FileLock) -> Result<FileLock> {
        // Darwin's POSIX locks belong to the server process, not to guest
        // lock owners; ENOSYS makes the guest kernel lock locally.
        Err(Errno::ENOSYS)
    }

    fn setlk(&self, _file: &MacosFile, _owner: u64, _lock: &FileLock, _sleep: bool) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    fn flock(&self, file: &MacosFile, lk: &FileLock, sleep: bool) -> Result<()> {
        let op = match (lk.typ, sleep) {
            (lock::F_RDLCK, true) => FlockOperation::LockShared,
            (lock::F_RDLCK, false) => FlockOperation::NonBlockingLockShared,
            (lock::F_WRLCK, true) => FlockOperation::LockExclusive,
            (lock::F_WRLCK, false) => FlockOperation::NonBlockingLockExclusive,
            (lock::F_UNLCK, _) => FlockOperation::Unlock,
            _ => return Err(Errno::EINVAL),
        };
        rustix::fs::flock(&file.fd, op).map_err(rx)
    }

    fn syncfs(&self, _inode: &MacosInode) -> Result<()> {
        sys::sync();
        Ok(())
    }

    fn watch(&self, dir: &MacosInode) {
        if dir.kind != Kind::Dir || self.watcher.is_watched(&dir.key) {
            return;
        }
        let flags =
            dflags::O_EVTONLY | dflags::O_DIRECTORY | dflags::O_NOFOLLOW | dflags::O_CLOEXEC;
        let fd = self.dir_fd(dir).and_then(|d| {
            rustix::fs::openat(d.as_fd(), c".", oflags(flags), Mode::empty()).map_err(rx)
        });
        self.watcher.add(dir.key, fd);
    }

    fn drain_changes(&self, f: &mut dyn FnMut(HostChange<'_>)) {
        self.watcher.drain(f);
    }

    fn has_watcher(&self) -> bool {
        true
    }
}
