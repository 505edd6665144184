//! Thin wrappers over the Darwin calls rustix does not offer, or offers with
//! its own flag mapping where this crate must pass the translated value.
//!
//! Each wrapper takes borrowed descriptors and C strings, checks buffer
//! lengths, and returns Linux errnos (through [`crate::translate::errno`]).
//! References are the Darwin manual pages.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use arcbox_fs::Errno;
use arcbox_fs::errno::Result;

use crate::translate::attrlist::{AttrSet, attr};
use crate::translate::errno::from_darwin;
use crate::translate::fallocate as fa;
use crate::translate::time::DarwinTimespec;
use crate::translate::xattr::errno_from_darwin as xattr_errno;

/// The calling thread's errno as a Linux errno.
pub(crate) fn last_errno() -> Errno {
    from_darwin(std::io::Error::last_os_error().raw_os_error().unwrap_or(5))
}

/// A rustix error as a Linux errno.
pub(crate) fn rx(e: rustix::io::Errno) -> Errno {
    from_darwin(e.raw_os_error())
}

fn check(ret: libc::c_int) -> Result<()> {
    if ret == -1 { Err(last_errno()) } else { Ok(()) }
}

/// `getattrlistbulk(dirfd, &attrlist, buf, size, 0)`: fills `buf` with
/// records for the next entries of the directory stream; returns their
/// number, 0 at the end.
///
/// getattrlistbulk(2).
pub(crate) fn getattrlistbulk(dir: BorrowedFd<'_>, req: &AttrSet, buf: &mut [u8]) -> Result<usize> {
    let mut al = libc::attrlist {
        bitmapcount: attr::ATTR_BIT_MAP_COUNT,
        reserved: 0,
        commonattr: req.common,
        volattr: req.vol,
        dirattr: req.dir,
        fileattr: req.file,
        forkattr: req.fork,
    };
    // SAFETY: `al` is a valid attrlist; `buf` is valid for writes of
    // `buf.len()` bytes for the duration of the call.
    let n = unsafe {
        libc::getattrlistbulk(
            dir.as_raw_fd(),
            (&raw mut al).cast(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            0,
        )
    };
    usize::try_from(n).map_err(|_| last_errno())
}

/// `fpathconf(fd, name)`; `None` when the value is unlimited or unknown.
///
/// fpathconf(2).
pub(crate) fn fpathconf(fd: BorrowedFd<'_>, name: libc::c_int) -> Option<i64> {
    // SAFETY: fpathconf reads no memory of ours.
    let v = unsafe { libc::fpathconf(fd.as_raw_fd(), name) };
    if v < 0 { None } else { Some(v) }
}

/// `fcntl(fd, F_PREALLOCATE, &fstore)` reserving `length` bytes past the
/// physical end of file (`F_PEOFPOSMODE`), contiguous if possible. Never
/// changes the file size.
///
/// fcntl(2), `F_PREALLOCATE`.
pub(crate) fn preallocate(fd: BorrowedFd<'_>, length: u64) -> Result<()> {
    let length = i64::try_from(length).map_err(|_| Errno::EFBIG)?;
    for flags in [
        fa::DARWIN_F_ALLOCATECONTIG | fa::DARWIN_F_ALLOCATEALL,
        fa::DARWIN_F_ALLOCATEALL,
    ] {
        let mut st = libc::fstore_t {
            fst_flags: flags,
            fst_posmode: fa::DARWIN_F_PEOFPOSMODE,
            fst_offset: 0,
            fst_length: length,
            fst_bytesalloc: 0,
        };
        // SAFETY: `st` is a valid fstore_t that outlives the call.
        let r = unsafe { libc::fcntl(fd.as_raw_fd(), fa::DARWIN_F_PREALLOCATE, &raw mut st) };
        if r != -1 {
            return Ok(());
        }
    }
    Err(last_errno())
}

/// `fcntl(fd, F_PUNCHHOLE, &fpunchhole)`: deallocates whole blocks.
///
/// fcntl(2), `F_PUNCHHOLE`.
pub(crate) fn punch_hole(fd: BorrowedFd<'_>, offset: u64, length: u64) -> Result<()> {
    let mut p = libc::fpunchhole_t {
        fp_flags: 0,
        reserved: 0,
        fp_offset: i64::try_from(offset).map_err(|_| Errno::EINVAL)?,
        fp_length: i64::try_from(length).map_err(|_| Errno::EINVAL)?,
    };
    // SAFETY: `p` is a valid fpunchhole_t that outlives the call.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), fa::DARWIN_F_PUNCHHOLE, &raw mut p) })
}

/// `fcntl(fd, F_NOCACHE, 1)`: bypass the unified buffer cache (Darwin's
/// stand-in for `O_DIRECT`).
///
/// fcntl(2), `F_NOCACHE`.
pub(crate) fn set_nocache(fd: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: F_NOCACHE takes an int argument.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), fa::DARWIN_F_NOCACHE, 1 as libc::c_int) })
}

/// `renameatx_np(fromfd, from, tofd, to, flags)` with Darwin `RENAME_*` flags.
///
/// rename(2), `renameatx_np`.
pub(crate) fn renameatx_np(
    from_dir: BorrowedFd<'_>,
    from: &CStr,
    to_dir: BorrowedFd<'_>,
    to: &CStr,
    flags: u32,
) -> Result<()> {
    // SAFETY: both names are NUL-terminated and outlive the call.
    check(unsafe {
        libc::renameatx_np(
            from_dir.as_raw_fd(),
            from.as_ptr(),
            to_dir.as_raw_fd(),
            to.as_ptr(),
            flags,
        )
    })
}

/// `clonefileat(srcdir, src, dstdir, dst, flags)`: a copy-on-write clone
/// of a file as a new name.
///
/// clonefile(2).
pub(crate) fn clonefileat(
    src_dir: BorrowedFd<'_>,
    src: &CStr,
    dst_dir: BorrowedFd<'_>,
    dst: &CStr,
    flags: u32,
) -> Result<()> {
    // SAFETY: both names are NUL-terminated and outlive the call.
    check(unsafe {
        libc::clonefileat(
            src_dir.as_raw_fd(),
            src.as_ptr(),
            dst_dir.as_raw_fd(),
            dst.as_ptr(),
            flags,
        )
    })
}

/// `lseek(fd, offset, whence)` with a Darwin whence value.
///
/// lseek(2).
pub(crate) fn lseek(fd: BorrowedFd<'_>, offset: u64, darwin_whence: i32) -> Result<u64> {
    let off = i64::try_from(offset).map_err(|_| Errno::EINVAL)?;
    // SAFETY: lseek reads no memory of ours.
    let r = unsafe { libc::lseek(fd.as_raw_fd(), off, darwin_whence) };
    u64::try_from(r).map_err(|_| last_errno())
}

/// `utimensat(dirfd, path, times, AT_SYMLINK_NOFOLLOW)` with Darwin
/// `UTIME_NOW` / `UTIME_OMIT` values.
///
/// utimensat(2).
pub(crate) fn utimensat_nofollow(
    dir: BorrowedFd<'_>,
    path: &CStr,
    atime: DarwinTimespec,
    mtime: DarwinTimespec,
) -> Result<()> {
    let ts = [
        libc::timespec {
            tv_sec: atime.sec,
            tv_nsec: atime.nsec,
        },
        libc::timespec {
            tv_sec: mtime.sec,
            tv_nsec: mtime.nsec,
        },
    ];
    // SAFETY: `path` is NUL-terminated; `ts` holds two timespecs.
    check(unsafe {
        libc::utimensat(
            dir.as_raw_fd(),
            path.as_ptr(),
            ts.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
}

/// `futimens(fd, times)` with Darwin `UTIME_NOW` / `UTIME_OMIT` values.
///
/// futimens(2).
pub(crate) fn futimens(
    fd: BorrowedFd<'_>,
    atime: DarwinTimespec,
    mtime: DarwinTimespec,
) -> Result<()> {
    let ts = [
        libc::timespec {
            tv_sec: atime.sec,
            tv_nsec: atime.nsec,
        },
        libc::timespec {
            tv_sec: mtime.sec,
            tv_nsec: mtime.nsec,
        },
    ];
    // SAFETY: `ts` holds two timespecs.
    check(unsafe { libc::futimens(fd.as_raw_fd(), ts.as_ptr()) })
}

/// `readlinkat(dirfd, path, buf, len)`: the target, truncated to `buf`.
///
/// readlink(2).
pub(crate) fn readlinkat(dir: BorrowedFd<'_>, path: &CStr, buf: &mut [u8]) -> Result<usize> {
    // SAFETY: `path` is NUL-terminated; `buf` is valid for `buf.len()` bytes.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            path.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    usize::try_from(n).map_err(|_| last_errno())
}

/// `mknodat(dirfd, path, mode, dev)` with Darwin mode and `dev_t`.
///
/// mknod(2).
pub(crate) fn mknodat(dir: BorrowedFd<'_>, path: &CStr, mode: u32, dev: i32) -> Result<()> {
    let mode = libc::mode_t::try_from(mode).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `path` is NUL-terminated.
    check(unsafe { libc::mknodat(dir.as_raw_fd(), path.as_ptr(), mode, dev) })
}

/// `mkfifoat(dirfd, path, mode)`.
///
/// mkfifo(2).
pub(crate) fn mkfifoat(dir: BorrowedFd<'_>, path: &CStr, mode: u32) -> Result<()> {
    let mode = libc::mode_t::try_from(mode).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `path` is NUL-terminated.
    check(unsafe { libc::mkfifoat(dir.as_raw_fd(), path.as_ptr(), mode) })
}

/// Whether the effective user is root (`geteuid() == 0`).
///
/// geteuid(2).
pub(crate) fn euid_is_root() -> bool {
    // SAFETY: geteuid takes no arguments and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `sync()`: schedules every filesystem's dirty data for writing
/// (Darwin has no `syncfs`).
///
/// sync(2).
pub(crate) fn sync() {
    // SAFETY: sync takes no arguments and cannot fail.
    unsafe { libc::sync() }
}

/// Where an xattr call acts: an open descriptor, or a path resolved without
/// following a final symlink (`XATTR_NOFOLLOW` is added by the caller's options).
#[derive(Clone, Copy, Debug)]
pub(crate) enum XattrAt<'a> {
    /// `f*xattr(fd, ...)`.
    Fd(BorrowedFd<'a>),
    /// `*xattr(path, ...)`.
    Path(&'a CStr),
}

fn xsize(r: isize) -> Result<usize> {
    usize::try_from(r)
        .map_err(|_| xattr_errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(5)))
}

fn xcheck(r: libc::c_int) -> Result<()> {
    if r == -1 {
        Err(xattr_errno(
            std::io::Error::last_os_error().raw_os_error().unwrap_or(5),
        ))
    } else {
        Ok(())
    }
}

/// `getxattr` / `fgetxattr` with position 0; an empty `buf` asks for the size.
///
/// getxattr(2).
pub(crate) fn getxattr(
    at: XattrAt<'_>,
    name: &CStr,
    buf: &mut [u8],
    options: i32,
) -> Result<usize> {
    let (ptr, len) = if buf.is_empty() {
        (std::ptr::null_mut(), 0)
    } else {
        (buf.as_mut_ptr().cast(), buf.len())
    };
    // SAFETY: `name` is NUL-terminated; `ptr` is null with length 0 or valid for `len` bytes.
    let r = unsafe {
        match at {
            XattrAt::Fd(fd) => libc::fgetxattr(fd.as_raw_fd(), name.as_ptr(), ptr, len, 0, options),
            XattrAt::Path(p) => libc::getxattr(p.as_ptr(), name.as_ptr(), ptr, len, 0, options),
        }
    };
    xsize(r)
}

/// `listxattr` / `flistxattr`; an empty `buf` asks for the size.
///
/// listxattr(2).
pub(crate) fn listxattr(at: XattrAt<'_>, buf: &mut [u8], options: i32) -> Result<usize> {
    let (ptr, len) = if buf.is_empty() {
        (std::ptr::null_mut(), 0)
    } else {
        (buf.as_mut_ptr().cast(), buf.len())
    };
    // SAFETY: `ptr` is null with length 0 or valid for `len` bytes.
    let r = unsafe {
        match at {
            XattrAt::Fd(fd) => libc::flistxattr(fd.as_raw_fd(), ptr, len, options),
            XattrAt::Path(p) => libc::listxattr(p.as_ptr(), ptr, len, options),
        }
    };
    xsize(r)
}

/// `setxattr` / `fsetxattr` with position 0 and Darwin options.
///
/// setxattr(2).
pub(crate) fn setxattr(at: XattrAt<'_>, name: &CStr, value: &[u8], options: i32) -> Result<()> {
    // SAFETY: `name` is NUL-terminated; `value` is valid for its length.
    let r = unsafe {
        match at {
            XattrAt::Fd(fd) => libc::fsetxattr(
                fd.as_raw_fd(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
                options,
            ),
            XattrAt::Path(p) => libc::setxattr(
                p.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
                options,
            ),
        }
    };
    xcheck(r)
}

/// `removexattr` / `fremovexattr` with Darwin options.
///
/// removexattr(2).
pub(crate) fn removexattr(at: XattrAt<'_>, name: &CStr, options: i32) -> Result<()> {
    // SAFETY: `name` is NUL-terminated.
    let r = unsafe {
        match at {
            XattrAt::Fd(fd) => libc::fremovexattr(fd.as_raw_fd(), name.as_ptr(), options),
            XattrAt::Path(p) => libc::removexattr(p.as_ptr(), name.as_ptr(), options),
        }
    };
    xcheck(r)
}

/// `kqueue()`.
///
/// kqueue(2).
pub(crate) fn kqueue() -> Result<OwnedFd> {
    // SAFETY: kqueue takes no arguments.
    let fd = unsafe { libc::kqueue() };
    if fd < 0 {
        return Err(last_errno());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Registers `fd` with `kq` for `EVFILT_VNODE` events `fflags`
/// (`EV_ADD | EV_CLEAR`). Closing `fd` removes the registration.
///
/// kqueue(2), `EVFILT_VNODE`.
pub(crate) fn kevent_watch_vnode(
    kq: BorrowedFd<'_>,
    fd: BorrowedFd<'_>,
    fflags: u32,
) -> Result<()> {
    let ident = usize::try_from(fd.as_raw_fd()).map_err(|_| Errno::EBADF)?;
    let change = libc::kevent {
        ident,
        filter: libc::EVFILT_VNODE,
        flags: libc::EV_ADD | libc::EV_CLEAR,
        fflags,
        data: 0,
        udata: std::ptr::null_mut(),
    };
    // SAFETY: one valid change, no event list, a null timeout.
    let r = unsafe {
        libc::kevent(
            kq.as_raw_fd(),
            &change,
            1,
            std::ptr::null_mut(),
            0,
            std::ptr::null(),
        )
    };
    check(r)
}

/// Collects pending events from `kq` without waiting; returns how many of
/// `out` were filled.
///
/// kqueue(2), `kevent`.
pub(crate) fn kevent_poll(kq: BorrowedFd<'_>, out: &mut [libc::kevent]) -> Result<usize> {
    let n = libc::c_int::try_from(out.len()).unwrap_or(libc::c_int::MAX);
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `out` is valid for `n` events; `zero` outlives the call.
    let r = unsafe {
        libc::kevent(
            kq.as_raw_fd(),
            std::ptr::null(),
            0,
            out.as_mut_ptr(),
            n,
            &zero,
        )
    };
    usize::try_from(r).map_err(|_| last_errno())
}
