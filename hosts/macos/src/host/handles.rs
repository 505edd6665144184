//! Inode handles without `O_PATH`, and a capped cache of directory fds.
//!
//! Darwin has no `O_PATH` and no `open_by_handle_at`. A [`MacosInode`]
//! instead names its object by volume id and file id, which Darwin resolves
//! through `/.vol/<fsid>/<fileid>` on volumes that advertise `MNT_DOVOLFS`
//! (APFS, HFS+). Non-directories are never kept open: every call on them
//! goes through that path with a no-follow flag. Directories need a
//! descriptor for `*at` calls; those live in an [`FdCache`] with a fixed
//! capacity and CLOCK (second-chance) eviction, and are reopened from
//! `/.vol` after eviction, so a guest walking a huge tree cannot exhaust
//! `RLIMIT_NOFILE`.
//!
//! On a volume without `/.vol` (SMB, NFS, FAT), directories stay open for
//! the inode's lifetime and non-directories are named by (parent fd, name),
//! which a concurrent host-side rename can invalidate (`ENOENT`, `ESTALE`).

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use arcbox_fs::host::HostKey;

/// One mounted volume seen inside the share.
#[derive(Debug)]
pub(crate) struct Volume {
    /// A directory on the volume, for `fstatfs` and `fpathconf`.
    pub(crate) fd: Arc<OwnedFd>,
    /// `/.vol/<fsid>/<fileid>` paths work (`MNT_DOVOLFS`).
    pub(crate) volfs: bool,
    /// Names compare case-insensitively (`_PC_CASE_SENSITIVE` is 0).
    pub(crate) case_insensitive: bool,
    /// `_PC_NAME_MAX`.
    pub(crate) name_max: u64,
}

/// The type of object an inode is, fixed at lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Directory.
    Dir,
    /// Regular file.
    Reg,
    /// Symbolic link.
    Lnk,
    /// Device node, FIFO or socket: never opened.
    Special,
}

impl Kind {
    /// The kind of a Linux `st_mode`.
    pub(crate) fn of(mode: u32) -> Kind {
        use arcbox_fs::abi::mode::*;
        match mode & S_IFMT {
            S_IFDIR => Kind::Dir,
            S_IFREG => Kind::Reg,
            S_IFLNK => Kind::Lnk,
            _ => Kind::Special,
        }
    }
}

/// How an inode's object is reached.
#[derive(Debug)]
pub(crate) enum Handle {
    /// A directory on a `/.vol` volume; its fd comes from the [`FdCache`].
    VolDir(CString),
    /// A directory kept open (the share root; volumes without `/.vol`).
    PinnedDir(Arc<OwnedFd>),
    /// A non-directory named by its `/.vol/<fsid>/<fileid>` path.
    VolPath(CString),
    /// A non-directory on a volume without `/.vol`: parent fd and name.
    At(Arc<OwnedFd>, CString),
}

/// A reference to a host inode that allows no I/O (the `Host::Inode` of
/// [`crate::MacosHost`]).
#[derive(Debug)]
pub struct MacosInode {
    pub(crate) key: HostKey,
    pub(crate) kind: Kind,
    pub(crate) vol: Arc<Volume>,
    pub(crate) handle: Handle,
}

impl MacosInode {
    /// The host identity (device, inode number).
    pub fn key(&self) -> HostKey {
        self.key
    }
}

/// `/.vol/<fsid>/<fileid>` for a key (`st_dev` is the `fsid`'s first word).
pub(crate) fn vol_path(key: HostKey) -> CString {
    // `dev` holds a Darwin dev_t (i32) widened through u32.
    let dev = key.dev as u32 as i32;
    // Digits and slashes only: no NUL can occur.
    CString::new(format!("/.vol/{dev}/{}", key.ino)).unwrap_or_default()
}

/// The directory-fd cache: identity to an open descriptor, shared as `Arc`s.
pub(crate) type FdCache = crate::clock_cache::ClockCache<HostKey, Arc<OwnedFd>>;
