//! [`LinuxHost`]: the [`Host`] trait over Linux system calls.

use crate::budget::FdBudget;
use crate::creds::CredsGuard;
use crate::dir::Dir;
use crate::errno::{IntoWire, wire};
use crate::fanotify::Fanotify;
use crate::fdcache::PathFd;
use crate::file::File;
use crate::flags::io_flags;
use crate::inode::{Export, Inode};
use crate::killpriv::NoFsetid;
use crate::lock::{from_flock, to_flock};
use crate::proc::ProcFdPath;
use crate::shared::Shared;
use crate::stat::{decode_dev, from_statx, statx_fd};
use crate::umask::UmaskGuard;
use crate::watch::Watcher;
use crate::{proc, rlimit, sys, vectored};
use arcbox_fs::abi::{
    FallocateMode, FileLock, Kstatfs, OpenFlags, PATH_MAX, RenameFlags, Whence, lock, mode,
};
use arcbox_fs::errno::Result;
use arcbox_fs::host::{Creds, DirEntry, Host, HostChange, SetAttrs, SetTime, Stat};
use arcbox_fs::{Errno, IoBuf, IoBufMut, Name};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{
    AtFlags, FileType, FlockOperation, Gid, Mode, OFlags, SeekFrom, Timestamps, Uid, XattrFlags,
};
use std::path::Path;
use std::sync::Arc;

/// How often `create` retries when the name it found existing vanishes
/// before it can be opened (a race with the host).
const CREATE_RETRIES: usize = 4;

/// The `security.capability` xattr (file capabilities).
const XATTR_SECURITY_CAPABILITY: &std::ffi::CStr = c"security.capability";

/// Options for [`LinuxHost::with_config`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinuxHostConfig {
    /// Most `O_PATH` descriptors parked for file-handle inodes. `None`:
    /// a quarter of the open-file limit, between 16 and 16384.
    pub fd_cache_capacity: Option<usize>,
    /// Hold inodes by kernel file handle where the filesystem supports it
    /// and the process may reopen handles (`CAP_DAC_READ_SEARCH`).
    pub file_handles: bool,
    /// Report host-side changes with inotify ([`Host::drain_changes`]).
    pub watch: bool,
    /// Most directories watched with inotify at once; the least recently
    /// used watch is evicted beyond it (an unwatched directory's cached
    /// names are then trusted only for their timeouts). `None`:
    /// [`DEFAULT_WATCH_CAP`](crate::DEFAULT_WATCH_CAP), or a quarter of
    /// `/proc/sys/fs/inotify/max_user_watches` if that is smaller.
    pub watch_cap: Option<usize>,
    /// With `watch`: where the process may (`CAP_SYS_ADMIN`) and inodes
    /// are held by file handle, watch the share's whole file system with
    /// one fanotify mark instead of per-directory inotify watches (kept
    /// only for file systems mounted inside the share); it also
    /// tells changes by other processes from the server's own
    /// ([`HostChange::Data`]). Falls back to inotify when fanotify fails.
    /// Off by default: changes made by the server's own process (any
    /// thread, including an embedding program's) are then never reported.
    pub fanotify: bool,
    /// Raise the soft `RLIMIT_NOFILE` to the hard limit at construction.
    pub raise_nofile: bool,
    /// Resolve names with `openat2` (`RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS
    /// | RESOLVE_NO_SYMLINKS`) when the kernel has it; `false` always uses
    /// the fallback, `openat` with `O_NOFOLLOW` (for sandboxes that filter
    /// `openat2`). The fallback is also taken on `ENOSYS`.
    pub openat2: bool,
    /// Most descriptors guest requests may hold open at once (open files,
    /// directories, lock owners' descriptions); past it opens fail with
    /// `EMFILE` and everything else keeps working. `None`: the open-file
    /// limit less the descriptor cache and a reserve of a sixteenth of the
    /// limit (at least 64) for the server's own work.
    pub max_guest_fds: Option<usize>,
    /// Create objects as the request's caller (per-thread fsuid/fsgid, see
    /// `creds`) where the process may. `false` creates everything as the
    /// server's own user: the `xattr` ownership model, where owners live
    /// in an attribute and a switch to an id outside a user namespace's
    /// map would fail.
    pub switch_creds: bool,
    /// Apply a create's [`Creds::umask`] as the host kernel applies a
    /// local caller's (not where the parent has a default ACL) through a
    /// per-thread umask, instead of reading the parent's default ACL before
    /// each create ([`Host::applies_umask`]). Each thread that creates
    /// then takes its own root, working directory and umask
    /// (`unshare(CLONE_FS)`, once; see the `umask` module): leave it off
    /// where the serving threads are an embedding program's own and it
    /// relies on sharing those. The daemons, whose threads are their own,
    /// turn it on. A thread that cannot unshare (a seccomp filter) applies
    /// the umask by reading the parent's default ACL.
    pub thread_umask: bool,
}

impl Default for LinuxHostConfig {
    fn default() -> Self {
        LinuxHostConfig {
            fd_cache_capacity: None,
            file_handles: true,
            watch: true,
            watch_cap: None,
            fanotify: false,
            raise_nofile: true,
            openat2: true,
            max_guest_fds: None,
            switch_creds: true,
            thread_umask: false,
        }
    }
}

/// A Linux host serving one shared directory (see the crate docs).
pub struct LinuxHost {
    shared: Arc<Shared>,
    /// The shared directory, `O_PATH`.
    root: OwnedFd,
    /// The shared directory, `O_RDONLY` (for `syncfs` of inodes that cannot be opened).
    root_dir: OwnedFd,
    /// Why the requested fanotify watcher did not start (see
    /// [`LinuxHost::fanotify_error`]).
    fanotify_error: Option<FanotifyError>,
    /// [`LinuxHostConfig::thread_umask`].
    thread_umask: bool,
}

/// While alive, the calling thread creates as a request's caller: its
/// credentials and, where the host applies it so, its umask.
struct AsCaller {
    _creds: CredsGuard,
    _umask: Option<UmaskGuard>,
}

/// Why a requested fanotify watcher ([`LinuxHostConfig::fanotify`]) is not
/// running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanotifyError {
    /// Inodes are not held by file handle (`file_handles` off, no
    /// `CAP_DAC_READ_SEARCH`, or a file system without handles): fanotify
    /// reports changes by file handle only.
    NoFileHandles,
    /// `fanotify_init(2)` or `fanotify_mark(2)` failed with this errno
    /// (`EPERM`: no `CAP_SYS_ADMIN`; `EINVAL`/`ENODEV`/`EXDEV`/`EOPNOTSUPP`:
    /// the kernel or file system cannot report file ids).
    Os(i32),
}

impl core::fmt::Display for FanotifyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FanotifyError::NoFileHandles => {
                f.write_str("inodes are not held by file handle (fanotify reports file handles)")
            }
            FanotifyError::Os(libc::EPERM) => {
                f.write_str("fanotify needs CAP_SYS_ADMIN (fanotify_init: EPERM)")
            }
            FanotifyError::Os(n) => {
                let e = std::io::Error::from_raw_os_error(*n).to_string();
                let e = e.split(" (os error").next().unwrap_or(&e).to_owned();
                write!(f, "a file-system-wide fanotify mark failed: {e}")
            }
        }
    }
}

impl std::fmt::Debug for LinuxHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinuxHost")
            .field("root", &self.root)
            .field("file_handles", &self.shared.handles)
            .field("privileged", &self.shared.privileged)
            .field("watcher", &self.shared.watcher.is_some())
            .field("fanotify", &self.shared.fanotify.is_some())
            .finish()
    }
}

impl LinuxHost {
    /// Serves the directory at `root` with the default configuration.
    ///
    /// Sets the process umask to 0: the passthrough applies the guest's
    /// umask itself, and a host umask would be applied a second time to
    /// every object created. A privileged process (one that may switch
    /// filesystem ids) also drops its supplementary groups, for every
    /// thread: guest requests act with exactly their own groups. `SIGXFSZ`
    /// is ignored, so a write past `RLIMIT_FSIZE` is an `EFBIG` reply.
    pub fn new(root: impl AsRef<Path>) -> Result<LinuxHost> {
        LinuxHost::with_config(root, LinuxHostConfig::default())
    }

    /// Serves the directory at `root` (an administrator's path: symlinks in
    /// it are followed once, here) with `config`. Sets the process umask to
    /// 0 (see [`LinuxHost::new`]).
    pub fn with_config(root: impl AsRef<Path>, config: LinuxHostConfig) -> Result<LinuxHost> {
        rustix::process::umask(Mode::empty());
        crate::sys::ignore_sigxfsz();
        if crate::creds::can_switch() {
            // No request may borrow the server's own supplementary groups.
            crate::creds::drop_process_groups();
        }
        let limit = if config.raise_nofile {
            rlimit::raise_nofile_limit()
        } else {
            rlimit::nofile_limit()
        };
        let proc_fd_dir = rustix::fs::open(
            c"/proc/self/fd",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .wire()?;
        if rustix::fs::fstatfs(&proc_fd_dir).wire()?.f_type != rustix::fs::PROC_SUPER_MAGIC {
            return Err(Errno::ENODEV);
        }
        let root = rustix::fs::open(
            root.as_ref(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .wire()?;
        let root_dir = rustix::fs::openat(
            &proc_fd_dir,
            ProcFdPath::new(root.as_fd()).name(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .wire()?;
        let handles = config.file_handles && handles_work(&root, &root_dir);
        let capacity = config.fd_cache_capacity.unwrap_or_else(|| {
            usize::try_from(limit / 4)
                .unwrap_or(usize::MAX)
                .clamp(16, 16384)
        });
        let (fanotify, fanotify_error) = match (config.watch && config.fanotify, handles) {
            (false, _) => (None, None),
            (true, false) => (None, Some(FanotifyError::NoFileHandles)),
            (true, true) => match Fanotify::new(root_dir.as_fd()) {
                Ok(f) => (Some(f), None),
                Err(e) => (None, Some(FanotifyError::Os(e.raw_os_error()))),
            },
        };
        // With fanotify, inotify watches only directories of other file
        // systems mounted inside the share (the mark covers one file system).
        let watcher = if config.watch {
            Watcher::new(config.watch_cap.unwrap_or_else(default_watch_cap)).ok()
        } else {
            None
        };
        let budget = config
            .max_guest_fds
            .unwrap_or_else(|| FdBudget::for_limit(limit, capacity));
        let shared = Arc::new(Shared::new(
            proc_fd_dir,
            capacity,
            handles,
            config.openat2,
            watcher,
            FdBudget::new(budget),
            fanotify,
            config.switch_creds,
        ));
        Ok(LinuxHost {
            shared,
            root,
            root_dir,
            fanotify_error,
            thread_umask: config.thread_umask,
        })
    }

    /// Descriptors guest requests hold now, and their budget
    /// ([`LinuxHostConfig::max_guest_fds`]).
    pub fn guest_fds(&self) -> (usize, usize) {
        (self.shared.budget.used(), self.shared.budget.cap())
    }

    /// Whether inodes are held by kernel file handle (else by descriptor).
    pub fn uses_file_handles(&self) -> bool {
        self.shared.handles
    }

    /// Whether objects are created with the caller's credentials (the
    /// server may switch filesystem ids); otherwise as the server's user.
    pub fn switches_credentials(&self) -> bool {
        self.shared.privileged
    }

    /// Number of `O_PATH` descriptors parked for file-handle inodes.
    pub fn cached_fds(&self) -> usize {
        self.shared.cache.len()
    }

    /// Number of directories watched for host changes.
    pub fn watched_dirs(&self) -> usize {
        self.shared.watcher.as_ref().map_or(0, |w| w.len())
    }

    /// Whether host changes are watched with one file-system-wide fanotify
    /// mark (else with bounded inotify watches, or not at all).
    pub fn uses_fanotify(&self) -> bool {
        self.shared.fanotify.is_some()
    }

    /// Why the fanotify watcher asked for ([`LinuxHostConfig::fanotify`])
    /// is not running (`None` when it runs or was not asked for).
    pub fn fanotify_error(&self) -> Option<FanotifyError> {
        self.fanotify_error
    }

    /// Number of held inodes whose fanotify events are reported.
    pub fn fanotify_inodes(&self) -> usize {
        self.shared.fanotify.as_ref().map_or(0, |w| w.len())
    }

    /// Most directories watched at once (0 without a watcher).
    pub fn watch_cap(&self) -> usize {
        self.shared.watcher.as_ref().map_or(0, |w| w.cap())
    }

    fn creds(&self, creds: &Creds) -> CredsGuard {
        CredsGuard::switch(creds, self.shared.privileged)
    }

    /// Switches to `creds` for a create in `dir` with permission bits
    /// `mode`, and returns the mode to create with: with the thread's own
    /// umask set to [`Creds::umask`] (the kernel then applies it, or the
    /// parent's default ACL), else `mode` less the umask unless `dir` has a
    /// default ACL.
    fn as_caller(&self, creds: &Creds, dir: BorrowedFd<'_>, mode: u32) -> (AsCaller, u32) {
        let mut mode = mode;
        let mut umask = None;
        if creds.umask != 0 {
            if self.thread_umask {
                umask = UmaskGuard::set(creds.umask);
            }
            if umask.is_none() && !self.has_default_acl(dir) {
                mode &= !(creds.umask & 0o777);
            }
        }
        let guard = AsCaller {
            _umask: umask,
            _creds: self.creds(creds),
        };
        (guard, mode)
    }

    /// Whether directory `dir` has a default ACL (a non-empty
    /// `system.posix_acl_default`).
    fn has_default_acl(&self, dir: BorrowedFd<'_>) -> bool {
        self.getxattr_fd(dir, b"system.posix_acl_default", &mut [])
            .is_ok_and(|n| n > 0)
    }

    /// Extended attribute `name` of the inode `fd` (any kind, `O_PATH`
    /// too) refers to, or its size for an empty `buf`: `getxattrat` at its
    /// `/proc/self/fd` name, else getxattr(2) on the path.
    fn getxattr_fd(
        &self,
        fd: BorrowedFd<'_>,
        name: &[u8],
        buf: &mut [u8],
    ) -> rustix::io::Result<usize> {
        let path = ProcFdPath::new(fd);
        let at = || sys::getxattrat(&self.shared.proc_fd_dir, path.name(), name, &mut *buf);
        if let Some(r) = proc::xattr_at(at) {
            return r;
        }
        // rustix never passes a zero-length buffer to the kernel: ask for the size explicitly.
        if buf.is_empty() {
            return rustix::fs::getxattr_query(path.path(), name);
        }
        rustix::fs::getxattr(path.path(), name, buf)
    }

    /// The inode and status of a new object `fd` refers to (any open mode).
    fn inode_of_fd(&self, fd: &OwnedFd, allow_handle: bool) -> Result<(Inode, Stat)> {
        let path = self.shared.reopen(fd.as_fd(), OFlags::PATH).wire()?;
        self.shared.inode_from_path_fd(path, allow_handle)
    }
}

/// Whether `root`'s filesystem gives file handles that this process can
/// reopen (`open_by_handle_at` needs `CAP_DAC_READ_SEARCH`).
fn handles_work(root: &OwnedFd, root_dir: &OwnedFd) -> bool {
    match sys::name_to_handle_at(root, c"", libc::AT_EMPTY_PATH) {
        Ok((h, _)) => sys::open_by_handle_at(root_dir, &h, OFlags::PATH).is_ok(),
        Err(_) => false,
    }
}

fn uid(v: u32) -> Uid {
    Uid::from_raw(v)
}

fn gid(v: u32) -> Gid {
    Gid::from_raw(v)
}

fn perm(m: u32) -> Mode {
    Mode::from_raw_mode(m & mode::S_IALLUGO)
}

fn set_time(t: Option<SetTime>) -> rustix::fs::Timespec {
    match t {
        None => rustix::fs::Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_OMIT,
        },
        Some(SetTime::Now) => rustix::fs::Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_NOW,
        },
        Some(SetTime::At(t)) => rustix::fs::Timespec {
            tv_sec: t.sec,
            tv_nsec: i64::from(t.nsec),
        },
    }
}

fn clamp_u32<T: TryInto<u32>>(v: T) -> u32 {
    v.try_into().unwrap_or(u32::MAX)
}

fn clamp_u64<T: TryInto<u64>>(v: T) -> u64 {
    v.try_into().unwrap_or(0)
}

/// `S_ISUID`, and `S_ISGID` when group-execute is set (without it the bit
/// means mandatory locking and stays), as the kernel kills them.
fn suidgid_to_kill(m: u32) -> u32 {
    let mut kill = m & mode::S_ISUID;
    if m & mode::S_ISGID != 0 && m & 0o010 != 0 {
        kill |= mode::S_ISGID;
    }
    kill
}

impl Host for LinuxHost {
    type Inode = Inode;
    type File = File;
    type Dir = Dir;
    type Export = Export;

    /// Inodes are held by file handle, which this process may reopen
    /// (`CAP_DAC_READ_SEARCH`, checked at construction).
    fn can_export(&self) -> bool {
        self.shared.handles
    }

    fn export(&self, inode: &Inode) -> Option<Export> {
        inode.export()
    }

    /// `open_by_handle_at(2)` of the kept handle: `ESTALE` once the object
    /// is gone (the handle encodes the inode generation, so a reused inode
    /// number is not it).
    fn reopen(&self, export: &Export) -> Result<(Inode, Stat)> {
        let fd = self
            .shared
            .fd_call(|| sys::open_by_handle_at(&export.mount, &export.handle, OFlags::PATH))
            .wire()?;
        self.shared.inode_from_path_fd(fd, true)
    }

    /// `openat(dir, "..", O_PATH | O_DIRECTORY | O_NOFOLLOW)`: the kernel's
    /// `..`, which crosses mounts and stops at the process's root. The
    /// result is held by file handle only on a mount the host knows already
    /// (else by its own descriptor), so a walk out of the share leaves no
    /// descriptor behind.
    fn parent(&self, dir: &Inode) -> Result<(Inode, Stat)> {
        if dir.file_type() != mode::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        let fd = dir.path_fd().wire()?;
        let up = self
            .shared
            .fd_call(|| {
                rustix::fs::openat(
                    &*fd,
                    c"..",
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
            })
            .wire()?;
        self.shared.inode_from_path_fd_known_mounts(up)
    }

    fn root(&self) -> Result<(Inode, Stat)> {
        let fd = self.shared.reopen(self.root.as_fd(), OFlags::PATH).wire()?;
        self.shared.inode_from_path_fd(fd, true)
    }

    fn lookup(&self, parent: &Inode, name: Name<'_>) -> Result<(Inode, Stat)> {
        let dir = parent.path_fd().wire()?;
        // Deliberately broken resolution for the sandbox test only (feature
        // `insecure-lookup-for-sandbox-test`, never on in a real build):
        // the absolute host path with plain openat, following symlinks.
        #[cfg(feature = "insecure-lookup-for-sandbox-test")]
        {
            let mut path = rustix::fs::readlinkat(
                rustix::fs::CWD,
                ProcFdPath::new(dir.as_fd()).path(),
                Vec::new(),
            )
            .wire()?
            .into_bytes();
            path.push(b'/');
            path.extend_from_slice(name.as_bytes());
            let fd = rustix::fs::open(
                path.as_slice(),
                OFlags::PATH | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .wire()?;
            return self.shared.inode_from_path_fd(fd, true);
        }
        #[allow(unreachable_code)]
        let fd = self
            .shared
            .open_beneath(dir.as_fd(), name, OFlags::PATH, Mode::empty())
            .wire()?;
        self.shared.inode_from_path_fd(fd, true)
    }

    /// `statx(2)` of `name` relative to the parent's `O_PATH` descriptor
    /// (`AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT`): `name` is one validated
    /// component, so nothing beyond `parent` is resolved.
    fn stat_at(&self, parent: &Inode, name: Name<'_>) -> Result<Option<Stat>> {
        // The sandbox test's broken lookup must see every name.
        if cfg!(feature = "insecure-lookup-for-sandbox-test") {
            return Ok(None);
        }
        let dir = parent.path_fd().wire()?;
        let st = rustix::fs::statx(
            &*dir,
            name.as_bytes(),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW | rustix::fs::AtFlags::NO_AUTOMOUNT,
            crate::stat::STATX_WANT,
        )
        .wire()?;
        Ok(Some(from_statx(&st)))
    }

    /// Held descriptor: alive (it pins the inode). File handle: alive if it
    /// still opens (a freed inode's handle is `ESTALE`; the handle's
    /// generation tells a reused inode number apart).
    fn is_alive(&self, inode: &Inode) -> bool {
        inode.path_fd().is_ok()
    }

    fn applies_umask(&self) -> bool {
        // Without a per-thread umask `as_caller` reads the parent's
        // default ACL itself: no cheaper than the passthrough's own look.
        self.thread_umask
    }

    fn same_inode(&self, a: &Inode, b: &Inode) -> bool {
        if !a.same_handle(b) {
            return false;
        }
        if a.has_file_handle() && b.has_file_handle() {
            return true;
        }
        // An fd-held object whose last link went is not the object a fresh
        // lookup found, even if the inode number came back.
        matches!(self.stat(a), Ok(st) if st.nlink > 0)
    }

    fn stat(&self, inode: &Inode) -> Result<Stat> {
        Ok(from_statx(&statx_fd(&*inode.path_fd().wire()?).wire()?))
    }

    fn fstat(&self, file: &File) -> Result<Stat> {
        Ok(from_statx(&statx_fd(file.fd()).wire()?))
    }

    fn open(&self, inode: &Inode, flags: OpenFlags) -> Result<File> {
        let oflags = io_flags(flags);
        let slot = self.shared.budget.acquire()?;
        let fd = inode.open_io(oflags).wire()?;
        Ok(File::new(fd, oflags, self.shared.clone(), slot))
    }

    fn create(
        &self,
        parent: &Inode,
        name: Name<'_>,
        flags: OpenFlags,
        mode: u32,
        creds: &Creds,
    ) -> Result<(Inode, File, Stat)> {
        let dir = parent.path_fd().wire()?;
        let oflags = io_flags(flags) - OFlags::DIRECTORY;
        let slot = self.shared.budget.acquire()?;
        for _ in 0..CREATE_RETRIES {
            let created = {
                let (_as_caller, mode) = self.as_caller(creds, dir.as_fd(), mode);
                self.shared.open_beneath(
                    dir.as_fd(),
                    name,
                    oflags | OFlags::CREATE | OFlags::EXCL,
                    perm(mode),
                )
            };
            match created {
                Ok(fd) => {
                    let (inode, st) = self.inode_of_fd(&fd, true)?;
                    return Ok((inode, File::new(fd, oflags, self.shared.clone(), slot), st));
                }
                Err(rustix::io::Errno::EXIST) if !flags.contains(OpenFlags::EXCL) => {}
                Err(e) => return Err(wire(e)),
            }
            // It exists: open it like open(2) without O_CREAT would, but
            // never a symlink, device, FIFO or socket.
            let (inode, _) = match self.lookup(parent, name) {
                Ok(found) => found,
                Err(Errno::ENOENT) => continue,
                Err(e) => return Err(e),
            };
            match inode.file_type() {
                mode::S_IFREG => {}
                mode::S_IFDIR => return Err(Errno::EISDIR),
                mode::S_IFLNK => return Err(Errno::ELOOP),
                _ => return Err(Errno::EACCES),
            }
            let fd = inode.open_io(oflags).wire()?;
            let st = from_statx(&statx_fd(&fd).wire()?);
            return Ok((inode, File::new(fd, oflags, self.shared.clone(), slot), st));
        }
        Err(Errno::ENOENT)
    }

    fn mknod(
        &self,
        parent: &Inode,
        name: Name<'_>,
        mode: u32,
        rdev: u32,
        creds: &Creds,
    ) -> Result<(Inode, Stat)> {
        let typ = match mode & mode::S_IFMT {
            0 | mode::S_IFREG => FileType::RegularFile,
            mode::S_IFCHR => FileType::CharacterDevice,
            mode::S_IFBLK => FileType::BlockDevice,
            mode::S_IFIFO => FileType::Fifo,
            mode::S_IFSOCK => FileType::Socket,
            _ => return Err(Errno::EINVAL),
        };
        let (major, minor) = decode_dev(rdev);
        let dir = parent.path_fd().wire()?;
        {
            let (_as_caller, mode) = self.as_caller(creds, dir.as_fd(), mode);
            rustix::fs::mknodat(
                &*dir,
                name.as_bytes(),
                typ,
                perm(mode),
                rustix::fs::makedev(major, minor),
            )
            .wire()?;
        }
        self.lookup(parent, name)
    }

    fn mkdir(
        &self,
        parent: &Inode,
        name: Name<'_>,
        mode: u32,
        creds: &Creds,
    ) -> Result<(Inode, Stat)> {
        let dir = parent.path_fd().wire()?;
        {
            let (_as_caller, mode) = self.as_caller(creds, dir.as_fd(), mode);
            rustix::fs::mkdirat(&*dir, name.as_bytes(), perm(mode)).wire()?;
        }
        self.lookup(parent, name)
    }

    fn symlink(
        &self,
        parent: &Inode,
        name: Name<'_>,
        target: &[u8],
        creds: &Creds,
    ) -> Result<(Inode, Stat)> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if target.contains(&0) {
            return Err(Errno::EINVAL);
        }
        let dir = parent.path_fd().wire()?;
        {
            let _as_caller = self.creds(creds);
            rustix::fs::symlinkat(target, &*dir, name.as_bytes()).wire()?;
        }
        self.lookup(parent, name)
    }

    fn link(&self, inode: &Inode, newparent: &Inode, newname: Name<'_>) -> Result<Stat> {
        let fd = inode.path_fd().wire()?;
        let dir = newparent.path_fd().wire()?;
        match rustix::fs::linkat(&*fd, c"", &*dir, newname.as_bytes(), AtFlags::EMPTY_PATH) {
            Ok(()) => {}
            // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the magic link
            // (followed onto the inode itself, never a symlink's target)
            // does not.
            Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::PERM) => {
                let p = ProcFdPath::new(fd.as_fd());
                rustix::fs::linkat(
                    rustix::fs::CWD,
                    p.path(),
                    &*dir,
                    newname.as_bytes(),
                    AtFlags::SYMLINK_FOLLOW,
                )
                .wire()?
            }
            Err(e) => return Err(wire(e)),
        }
        Ok(from_statx(&statx_fd(&*fd).wire()?))
    }

    fn unlink(&self, parent: &Inode, name: Name<'_>) -> Result<()> {
        let dir = parent.path_fd().wire()?;
        rustix::fs::unlinkat(&*dir, name.as_bytes(), AtFlags::empty()).wire()
    }

    fn rmdir(&self, parent: &Inode, name: Name<'_>) -> Result<()> {
        let dir = parent.path_fd().wire()?;
        rustix::fs::unlinkat(&*dir, name.as_bytes(), AtFlags::REMOVEDIR).wire()
    }

    fn rename(
        &self,
        parent: &Inode,
        name: Name<'_>,
        newparent: &Inode,
        newname: Name<'_>,
        flags: RenameFlags,
    ) -> Result<()> {
        let flags = rustix::fs::RenameFlags::from_bits(flags.bits()).ok_or(Errno::EINVAL)?;
        let old = parent.path_fd().wire()?;
        let new = newparent.path_fd().wire()?;
        rustix::fs::renameat_with(&*old, name.as_bytes(), &*new, newname.as_bytes(), flags).wire()
    }

    fn readlink(&self, inode: &Inode, buf: &mut [u8]) -> Result<usize> {
        if inode.file_type() != mode::S_IFLNK {
            return Err(Errno::EINVAL);
        }
        let fd = inode.path_fd().wire()?;
        rustix::fs::readlinkat_raw(&*fd, c"", buf).wire()
    }

    fn setattr(&self, inode: &Inode, file: Option<&File>, attrs: &SetAttrs) -> Result<Stat> {
        let typ = inode.file_type();
        if attrs.mode.is_some() && typ == mode::S_IFLNK {
            return Err(Errno::EOPNOTSUPP);
        }
        let fd = inode.path_fd().wire()?;
        if attrs.uid.is_some() || attrs.gid.is_some() {
            let flags = AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW;
            rustix::fs::chownat(&*fd, c"", attrs.uid.map(uid), attrs.gid.map(gid), flags).wire()?;
        }
        if let Some(size) = attrs.size {
            match (file, typ) {
                (Some(f), _) => rustix::fs::ftruncate(f.fd(), size).wire()?,
                (None, mode::S_IFREG) => rustix::fs::ftruncate(
                    inode.open_io(OFlags::WRONLY | OFlags::NONBLOCK).wire()?,
                    size,
                )
                .wire()?,
                (None, mode::S_IFDIR) => return Err(Errno::EISDIR),
                (None, _) => return Err(Errno::EINVAL),
            }
        }
        if let Some(m) = attrs.mode {
            set_mode(&fd, file, m)?;
        }
        if attrs.atime.is_some() || attrs.mtime.is_some() {
            let times = Timestamps {
                last_access: set_time(attrs.atime),
                last_modification: set_time(attrs.mtime),
            };
            rustix::fs::utimensat(
                &*fd,
                c"",
                &times,
                AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW,
            )
            .wire()?;
        }
        if attrs.kill_suidgid && typ == mode::S_IFREG {
            let st = statx_fd(&*fd).wire()?;
            let m = u32::from(st.stx_mode);
            let kill = suidgid_to_kill(m);
            if kill != 0 {
                set_mode(&fd, file, m & !kill & mode::S_IALLUGO)?;
            }
            let path = ProcFdPath::new(fd.as_fd());
            match rustix::fs::removexattr(path.path(), XATTR_SECURITY_CAPABILITY) {
                Ok(()) | Err(rustix::io::Errno::NODATA) | Err(rustix::io::Errno::OPNOTSUPP) => {}
                // Without CAP_SETFCAP (an unprivileged daemon) removing
                // security.capability is refused whether or not the file
                // has one: only a capability actually there is an error.
                Err(rustix::io::Errno::PERM)
                    if rustix::fs::getxattr(
                        path.path(),
                        XATTR_SECURITY_CAPABILITY,
                        &mut [0u8; 0][..],
                    ) == Err(rustix::io::Errno::NODATA) => {}
                Err(e) => return Err(wire(e)),
            }
        }
        Ok(from_statx(&statx_fd(&*fd).wire()?))
    }

    fn read(&self, file: &File, offset: u64, bufs: &mut [IoBufMut<'_>]) -> Result<usize> {
        vectored::read_at(file.fd(), offset, bufs).wire()
    }

    fn max_file_size(&self, file: &File) -> u64 {
        file.max_size()
    }

    fn write(
        &self,
        file: &File,
        offset: u64,
        bufs: &[IoBuf<'_>],
        kill_priv: bool,
    ) -> Result<usize> {
        let _unprivileged = (kill_priv && self.shared.fsetid).then(NoFsetid::enter);
        vectored::write_at(file.fd(), offset, bufs).wire()
    }

    fn flush(&self, file: &File, lock_owner: u64) -> Result<()> {
        file.release_owner(lock_owner);
        Ok(())
    }

    /// Sleeps 50 µs doubling per attempt, at most 10 ms.
    fn lock_wait_pause(&self, attempt: u32) {
        let us = (50u64 << attempt.min(8)).min(10_000);
        std::thread::sleep(std::time::Duration::from_micros(us));
    }

    fn fsync(&self, file: &File, datasync: bool) -> Result<()> {
        if datasync {
            rustix::fs::fdatasync(file.fd()).wire()
        } else {
            rustix::fs::fsync(file.fd()).wire()
        }
    }

    fn fsyncdir(&self, dir: &Dir, datasync: bool) -> Result<()> {
        dir.with_fd(|fd| {
            if datasync {
                rustix::fs::fdatasync(fd)
            } else {
                rustix::fs::fsync(fd)
            }
        })?
        .wire()
    }

    fn fallocate(&self, file: &File, mode: FallocateMode, offset: u64, len: u64) -> Result<()> {
        let flags = rustix::fs::FallocateFlags::from_bits(mode.bits()).ok_or(Errno::EOPNOTSUPP)?;
        rustix::fs::fallocate(file.fd(), flags, offset, len).wire()
    }

    fn lseek(&self, file: &File, offset: u64, whence: Whence) -> Result<u64> {
        let pos = match whence {
            Whence::Set => return Ok(offset),
            Whence::Cur => return Err(Errno::EINVAL),
            Whence::End => SeekFrom::End(i64::try_from(offset).map_err(|_| Errno::EINVAL)?),
            Whence::Data => SeekFrom::Data(offset),
            Whence::Hole => SeekFrom::Hole(offset),
        };
        rustix::fs::seek(file.fd(), pos).wire()
    }

    fn copy_file_range(
        &self,
        src: &File,
        src_off: u64,
        dst: &File,
        dst_off: u64,
        len: u64,
        flags: u32,
    ) -> Result<u64> {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let (mut src_off, mut dst_off) = (src_off, dst_off);
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let n = rustix::fs::copy_file_range(
            src.fd(),
            Some(&mut src_off),
            dst.fd(),
            Some(&mut dst_off),
            len,
        )
        .wire()?;
        Ok(n as u64)
    }

    fn statfs(&self, inode: &Inode) -> Result<Kstatfs> {
        let st = rustix::fs::fstatfs(&*inode.path_fd().wire()?).wire()?;
        Ok(Kstatfs {
            blocks: clamp_u64(st.f_blocks),
            bfree: clamp_u64(st.f_bfree),
            bavail: clamp_u64(st.f_bavail),
            files: clamp_u64(st.f_files),
            ffree: clamp_u64(st.f_ffree),
            bsize: clamp_u32(st.f_bsize),
            namelen: clamp_u32(st.f_namelen),
            frsize: clamp_u32(st.f_frsize),
            padding: 0,
            spare: [0; 6],
        })
    }

    fn getxattr(&self, inode: &Inode, name: &[u8], buf: &mut [u8]) -> Result<usize> {
        let fd = inode.path_fd().wire()?;
        self.getxattr_fd(fd.as_fd(), name, buf).wire()
    }

    fn listxattr(&self, inode: &Inode, buf: &mut [u8]) -> Result<usize> {
        let fd = inode.path_fd().wire()?;
        let path = ProcFdPath::new(fd.as_fd());
        let at = || sys::listxattrat(&self.shared.proc_fd_dir, path.name(), &mut *buf);
        if let Some(r) = proc::xattr_at(at) {
            return r.wire();
        }
        if buf.is_empty() {
            return rustix::fs::listxattr_query(path.path()).wire();
        }
        rustix::fs::listxattr(path.path(), buf).wire()
    }

    fn setxattr(&self, inode: &Inode, name: &[u8], value: &[u8], flags: u32) -> Result<()> {
        let flags = XattrFlags::from_bits(flags).ok_or(Errno::EINVAL)?;
        let fd = inode.path_fd().wire()?;
        rustix::fs::setxattr(ProcFdPath::new(fd.as_fd()).path(), name, value, flags).wire()
    }

    fn removexattr(&self, inode: &Inode, name: &[u8]) -> Result<()> {
        let fd = inode.path_fd().wire()?;
        rustix::fs::removexattr(ProcFdPath::new(fd.as_fd()).path(), name).wire()
    }

    fn opendir(&self, inode: &Inode) -> Result<Dir> {
        let dir = inode.dir_opener().map(Dir::new).ok_or(Errno::ENOTDIR)?;
        // Held by file handle: opened at the first READDIR or FSYNCDIR (see
        // `Dir`). Else now, so that a directory the server may not read
        // fails here, as opendir(3) would.
        if !inode.has_file_handle() {
            dir.with_fd(|_| ())?;
        }
        Ok(dir)
    }

    fn readdir(
        &self,
        dir: &Dir,
        offset: u64,
        f: &mut dyn FnMut(DirEntry<'_>) -> bool,
    ) -> Result<()> {
        dir.read(offset, f)
    }

    fn getlk(&self, file: &File, owner: u64, lock: &FileLock) -> Result<FileLock> {
        let mut fl = to_flock(lock)?;
        let fd = file.owner_fd(owner)?;
        sys::ofd_getlk(&*fd, &mut fl).wire()?;
        Ok(from_flock(&fl))
    }

    fn setlk(&self, file: &File, owner: u64, lk: &FileLock, sleep: bool) -> Result<()> {
        let fl = to_flock(lk)?;
        let fd = if lk.typ == lock::F_UNLCK {
            match file.existing_owner_fd(owner) {
                Some(fd) => fd,
                None => return Ok(()),
            }
        } else {
            file.owner_fd(owner)?
        };
        sys::ofd_setlk(&*fd, &fl, sleep).wire()
    }

    fn flock(&self, file: &File, lk: &FileLock, sleep: bool) -> Result<()> {
        let op = match (lk.typ, sleep) {
            (lock::F_RDLCK, true) => FlockOperation::LockShared,
            (lock::F_RDLCK, false) => FlockOperation::NonBlockingLockShared,
            (lock::F_WRLCK, true) => FlockOperation::LockExclusive,
            (lock::F_WRLCK, false) => FlockOperation::NonBlockingLockExclusive,
            (lock::F_UNLCK, _) => FlockOperation::Unlock,
            _ => return Err(Errno::EINVAL),
        };
        rustix::fs::flock(file.fd(), op).wire()
    }

    fn tmpfile(
        &self,
        parent: &Inode,
        flags: OpenFlags,
        mode: u32,
        creds: &Creds,
    ) -> Result<(Inode, File, Stat)> {
        let dir = parent.path_fd().wire()?;
        let oflags = io_flags(flags) - OFlags::DIRECTORY - OFlags::TRUNC;
        let slot = self.shared.budget.acquire()?;
        let fd = {
            let (_as_caller, mode) = self.as_caller(creds, dir.as_fd(), mode);
            self.shared
                .fd_call(|| rustix::fs::openat(&*dir, c".", oflags | OFlags::TMPFILE, perm(mode)))
                .wire()?
        };
        // An unlinked inode is held by descriptor: a handle may not reopen it.
        let (inode, st) = self.inode_of_fd(&fd, false)?;
        Ok((inode, File::new(fd, oflags, self.shared.clone(), slot), st))
    }

    fn syncfs(&self, inode: &Inode) -> Result<()> {
        let fd = match inode.file_type() {
            mode::S_IFDIR => inode.open_io(OFlags::RDONLY | OFlags::DIRECTORY).wire()?,
            mode::S_IFREG => inode.open_io(OFlags::RDONLY | OFlags::NONBLOCK).wire()?,
            // Never opened: sync the share's filesystem instead.
            _ => return rustix::fs::syncfs(&self.root_dir).wire(),
        };
        rustix::fs::syncfs(&fd).wire()
    }

    fn watch(&self, dir: &Inode) {
        dir.watch();
    }

    fn drain_changes(&self, f: &mut dyn FnMut(HostChange<'_>)) {
        if let Some(w) = &self.shared.fanotify {
            w.drain(f);
        }
        if let Some(w) = &self.shared.watcher {
            w.drain(f);
        }
    }

    fn has_watcher(&self) -> bool {
        self.shared.watcher.is_some() || self.shared.fanotify.is_some()
    }
}

/// `chmod` of an inode: through `file` when open, else through the
/// `/proc/self/fd` magic link of its `O_PATH` descriptor (never a symlink:
/// the caller refused those).
fn set_mode(fd: &PathFd, file: Option<&File>, m: u32) -> Result<()> {
    match file {
        Some(f) => rustix::fs::fchmod(f.fd(), perm(m)).wire(),
        None => rustix::fs::chmodat(
            rustix::fs::CWD,
            ProcFdPath::new(fd.as_fd()).path(),
            perm(m),
            AtFlags::empty(),
        )
        .wire(),
    }
}

/// [`crate::DEFAULT_WATCH_CAP`], or a quarter of the per-user inotify watch
/// limit (`/proc/sys/fs/inotify/max_user_watches`, inotify(7)) if smaller.
fn default_watch_cap() -> usize {
    let limit = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok());
    match limit {
        Some(l) => crate::DEFAULT_WATCH_CAP.min(l / 4).max(1),
        None => crate::DEFAULT_WATCH_CAP,
    }
}
