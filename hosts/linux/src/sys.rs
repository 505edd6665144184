//! Thin wrappers over the few system calls rustix does not offer, each a
//! direct `libc::syscall` / `libc::fcntl` with the man page it follows.
//!
//! Every wrapper returns `rustix::io::Result` so callers treat them exactly
//! like rustix calls.

use rustix::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use rustix::fs::OFlags;
use rustix::io;
use std::ffi::CStr;

/// The errno of the last failed libc call on this thread.
fn last_errno() -> io::Errno {
    io::Errno::from_raw_os_error(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

/// `setfsuid(uid)`: sets the calling thread's filesystem uid and returns the
/// previous one. Failure is silent (the previous value is still returned);
/// check with [`fsuid`]. Raw syscall: affects this thread only.
///
/// See [setfsuid(2)](https://man7.org/linux/man-pages/man2/setfsuid.2.html).
pub(crate) fn setfsuid(uid: u32) -> u32 {
    // SAFETY: setfsuid takes one integer and touches no memory of ours.
    let prev = unsafe { libc::syscall(libc::SYS_setfsuid, libc::c_long::from(uid)) };
    prev as u32
}

/// `setfsgid(gid)`: as [`setfsuid`] for the filesystem gid.
///
/// See [setfsgid(2)](https://man7.org/linux/man-pages/man2/setfsgid.2.html).
pub(crate) fn setfsgid(gid: u32) -> u32 {
    // SAFETY: setfsgid takes one integer and touches no memory of ours.
    let prev = unsafe { libc::syscall(libc::SYS_setfsgid, libc::c_long::from(gid)) };
    prev as u32
}

/// The calling thread's filesystem uid (`setfsuid(-1)` changes nothing and
/// returns the current value).
pub(crate) fn fsuid() -> u32 {
    setfsuid(u32::MAX)
}

/// The calling thread's filesystem gid.
pub(crate) fn fsgid() -> u32 {
    setfsgid(u32::MAX)
}

/// `getgroups(buf.len(), buf)` of the calling thread; returns the count.
///
/// See [getgroups(2)](https://man7.org/linux/man-pages/man2/getgroups.2.html).
pub(crate) fn getgroups(buf: &mut [u32]) -> io::Result<usize> {
    let len = libc::c_int::try_from(buf.len()).map_err(|_| io::Errno::INVAL)?;
    // SAFETY: the kernel writes at most `len` gids into `buf`, which holds `len` u32s.
    let n = unsafe { libc::syscall(libc::SYS_getgroups, len, buf.as_mut_ptr()) };
    if n < 0 {
        Err(last_errno())
    } else {
        usize::try_from(n).map_err(|_| io::Errno::INVAL)
    }
}

/// `setgroups(groups)` as a raw syscall: at the system-call level it
/// changes the calling thread's credentials only (glibc's wrapper would
/// broadcast it to every thread).
///
/// See [setgroups(2)](https://man7.org/linux/man-pages/man2/setgroups.2.html).
pub(crate) fn setgroups_thread(groups: &[u32]) -> io::Result<()> {
    // SAFETY: the kernel reads `groups.len()` gids from `groups`.
    let r = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    if r < 0 { Err(last_errno()) } else { Ok(()) }
}

/// `setgroups(0, NULL)` through libc, which applies it to every thread of
/// the process (glibc and musl broadcast set*id calls): the process keeps
/// no supplementary group a guest request could borrow.
///
/// See [setgroups(2)](https://man7.org/linux/man-pages/man2/setgroups.2.html).
pub(crate) fn drop_process_groups() -> io::Result<()> {
    // SAFETY: a count of 0 with a null list reads no memory.
    let r = unsafe { libc::setgroups(0, std::ptr::null()) };
    if r < 0 { Err(last_errno()) } else { Ok(()) }
}

/// Ignores `SIGXFSZ` in the whole process, so a guest write past
/// `RLIMIT_FSIZE` fails with `EFBIG` instead of killing the server.
///
/// See [signal(7)](https://man7.org/linux/man-pages/man7/signal.7.html) and
/// [write(2)](https://man7.org/linux/man-pages/man2/write.2.html) (`EFBIG`).
pub(crate) fn ignore_sigxfsz() {
    // SAFETY: SIG_IGN installs no handler code; changing the disposition of
    // SIGXFSZ affects no memory of this program.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// `getxattrat(2)` (Linux 6.13): the number in the common system call
/// table, the same for x86_64 and aarch64 (libc has no constant for it yet).
pub(crate) const SYS_GETXATTRAT: libc::c_long = 464;
/// `listxattrat(2)` (Linux 6.13), as [`SYS_GETXATTRAT`].
pub(crate) const SYS_LISTXATTRAT: libc::c_long = 465;

/// `struct xattr_args` of `getxattrat(2)` (`XATTR_ARGS_SIZE_VER0`).
#[repr(C)]
struct XattrArgs {
    value: u64,
    size: u32,
    flags: u32,
}

/// A size-returning call's result: the errno below 0, else the size.
fn size_result(r: libc::c_long) -> io::Result<usize> {
    if r < 0 {
        return Err(last_errno());
    }
    usize::try_from(r).map_err(|_| io::Errno::OVERFLOW)
}

/// `name` with a terminating NUL in `buf`: `ERANGE` past `XATTR_NAME_MAX`
/// (255, as the kernel answers), `EINVAL` for an embedded NUL.
fn xattr_name<'b>(name: &[u8], buf: &'b mut [u8; 256]) -> io::Result<&'b CStr> {
    if name.contains(&0) {
        return Err(io::Errno::INVAL);
    }
    if name.len() >= buf.len() {
        return Err(io::Errno::RANGE);
    }
    buf[..name.len()].copy_from_slice(name);
    buf[name.len()] = 0;
    CStr::from_bytes_with_nul(&buf[..=name.len()]).map_err(|_| io::Errno::RANGE)
}

/// `getxattrat(dirfd, path, 0, name, {buf, len}, sizeof)`: extended
/// attribute `name` of the file `path` names relative to `dirfd`, following
/// a final symbolic link as getxattr(2) on the path would; an empty `buf`
/// asks for the size. `ENOSYS` before Linux 6.13.
///
/// See [getxattrat(2)](https://man7.org/linux/man-pages/man2/getxattrat.2.html).
pub(crate) fn getxattrat<Fd: AsFd>(
    dirfd: Fd,
    path: &CStr,
    name: &[u8],
    buf: &mut [u8],
) -> io::Result<usize> {
    let mut nbuf = [0u8; 256];
    let name = xattr_name(name, &mut nbuf)?;
    let mut args = XattrArgs {
        value: if buf.is_empty() {
            0
        } else {
            buf.as_mut_ptr() as u64
        },
        size: u32::try_from(buf.len()).unwrap_or(u32::MAX),
        flags: 0,
    };
    // SAFETY: `path` and `name` are NUL-terminated; `args` is a live
    // xattr_args of the size passed, whose value points to `buf` with room
    // for `size` bytes (or is NULL with size 0).
    let r = unsafe {
        libc::syscall(
            SYS_GETXATTRAT,
            dirfd.as_fd().as_raw_fd(),
            path.as_ptr(),
            0 as libc::c_uint,
            name.as_ptr(),
            &mut args as *mut XattrArgs,
            std::mem::size_of::<XattrArgs>(),
        )
    };
    size_result(r)
}

/// `listxattrat(dirfd, path, 0, buf, len)`: the attribute names of the file
/// `path` names relative to `dirfd` (following a final symbolic link); an
/// empty `buf` asks for the size. `ENOSYS` before Linux 6.13.
///
/// See [listxattrat(2)](https://man7.org/linux/man-pages/man2/listxattrat.2.html).
pub(crate) fn listxattrat<Fd: AsFd>(dirfd: Fd, path: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    let ptr = if buf.is_empty() {
        std::ptr::null_mut()
    } else {
        buf.as_mut_ptr()
    };
    // SAFETY: `path` is NUL-terminated; `ptr` is NULL with length 0 or
    // points to `buf`, writable for its length.
    let r = unsafe {
        libc::syscall(
            SYS_LISTXATTRAT,
            dirfd.as_fd().as_raw_fd(),
            path.as_ptr(),
            0 as libc::c_uint,
            ptr,
            buf.len(),
        )
    };
    size_result(r)
}

/// Largest file handle the kernel produces (`MAX_HANDLE_SZ`).
pub(crate) const MAX_HANDLE_SZ: usize = 128;

/// `struct file_handle` with room for the largest handle.
#[repr(C)]
struct RawFileHandle {
    handle_bytes: u32,
    handle_type: libc::c_int,
    f_handle: [u8; MAX_HANDLE_SZ],
}

/// An opaque kernel file handle, as `name_to_handle_at(2)` returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileHandle {
    handle_type: i32,
    bytes: Box<[u8]>,
}

impl FileHandle {
    /// The handle's type (`struct file_handle.handle_type`).
    pub(crate) fn handle_type(&self) -> i32 {
        self.handle_type
    }

    /// The handle's opaque bytes (`f_handle`).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// `name_to_handle_at(dirfd, path, handle, &mount_id, flags)`: the file
/// handle and mount id of `path` (with `AT_EMPTY_PATH` and `""`: of `dirfd`).
///
/// See [name_to_handle_at(2)](https://man7.org/linux/man-pages/man2/name_to_handle_at.2.html).
pub(crate) fn name_to_handle_at<Fd: AsFd>(
    dirfd: Fd,
    path: &CStr,
    flags: libc::c_int,
) -> io::Result<(FileHandle, i32)> {
    let mut raw = RawFileHandle {
        handle_bytes: MAX_HANDLE_SZ as u32,
        handle_type: 0,
        f_handle: [0; MAX_HANDLE_SZ],
    };
    let mut mount_id: libc::c_int = 0;
    // SAFETY: `raw` is a file_handle with `handle_bytes` bytes of room after
    // its header, `path` is NUL-terminated, `mount_id` is a valid int.
    let r = unsafe {
        libc::syscall(
            libc::SYS_name_to_handle_at,
            dirfd.as_fd().as_raw_fd(),
            path.as_ptr(),
            &mut raw as *mut RawFileHandle,
            &mut mount_id as *mut libc::c_int,
            flags,
        )
    };
    if r < 0 {
        return Err(last_errno());
    }
    let len = usize::try_from(raw.handle_bytes).map_err(|_| io::Errno::OVERFLOW)?;
    let bytes = raw.f_handle.get(..len).ok_or(io::Errno::OVERFLOW)?;
    Ok((
        FileHandle {
            handle_type: raw.handle_type,
            bytes: bytes.into(),
        },
        mount_id,
    ))
}

/// `open_by_handle_at(mount_fd, handle, flags)`. Needs `CAP_DAC_READ_SEARCH`.
/// `O_CLOEXEC` is always added. A symlink opened without `O_PATH` fails
/// with `ELOOP`: the call never follows one.
///
/// See [open_by_handle_at(2)](https://man7.org/linux/man-pages/man2/open_by_handle_at.2.html).
pub(crate) fn open_by_handle_at<Fd: AsFd>(
    mount_fd: Fd,
    handle: &FileHandle,
    flags: OFlags,
) -> io::Result<OwnedFd> {
    let mut raw = RawFileHandle {
        handle_bytes: 0,
        handle_type: handle.handle_type,
        f_handle: [0; MAX_HANDLE_SZ],
    };
    let dst = raw
        .f_handle
        .get_mut(..handle.bytes.len())
        .ok_or(io::Errno::OVERFLOW)?;
    dst.copy_from_slice(&handle.bytes);
    raw.handle_bytes = u32::try_from(handle.bytes.len()).map_err(|_| io::Errno::OVERFLOW)?;
    let flags = (flags | OFlags::CLOEXEC).bits() as libc::c_int;
    // SAFETY: `raw` is a valid file_handle of `handle_bytes` bytes; the kernel only reads it.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_by_handle_at,
            mount_fd.as_fd().as_raw_fd(),
            &raw as *const RawFileHandle,
            flags,
        )
    };
    if fd < 0 {
        return Err(last_errno());
    }
    let fd = libc::c_int::try_from(fd).map_err(|_| io::Errno::BADF)?;
    // SAFETY: the kernel just returned this descriptor to us; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `fcntl(fd, F_OFD_GETLK, lock)`: the first lock that would conflict with
/// `lock`, or `lock` with `l_type = F_UNLCK`.
///
/// See [fcntl(2), "Open file description locks"](https://man7.org/linux/man-pages/man2/fcntl.2.html).
pub(crate) fn ofd_getlk<Fd: AsFd>(fd: Fd, lock: &mut libc::flock) -> io::Result<()> {
    // SAFETY: `lock` is a valid, writable struct flock.
    let r = unsafe {
        libc::fcntl(
            fd.as_fd().as_raw_fd(),
            libc::F_OFD_GETLK,
            lock as *mut libc::flock,
        )
    };
    if r < 0 { Err(last_errno()) } else { Ok(()) }
}

/// `fcntl(fd, F_OFD_SETLK or F_OFD_SETLKW, lock)`.
///
/// See [fcntl(2), "Open file description locks"](https://man7.org/linux/man-pages/man2/fcntl.2.html).
pub(crate) fn ofd_setlk<Fd: AsFd>(fd: Fd, lock: &libc::flock, wait: bool) -> io::Result<()> {
    let cmd = if wait {
        libc::F_OFD_SETLKW
    } else {
        libc::F_OFD_SETLK
    };
    // SAFETY: `lock` is a valid struct flock; the kernel only reads it for SETLK.
    let r = unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), cmd, lock as *const libc::flock) };
    if r < 0 { Err(last_errno()) } else { Ok(()) }
}
