//! `/proc/self/fd/N` paths, built on the stack.
//!
//! Reopening an `O_PATH` descriptor through its `/proc/self/fd` magic link
//! is how Linux turns a path-only reference into an I/O descriptor (or
//! reaches calls that have no `f*` variant accepting `O_PATH`, such as
//! `chmod` and the xattr calls). Following the magic link lands on the
//! descriptor's inode itself, never on a symlink's target, even when the
//! inode is a symlink.

use rustix::fd::{AsFd, AsRawFd, BorrowedFd};
use rustix::io;
use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether `getxattrat(2)` / `listxattrat(2)` may be tried: cleared on the
/// first `ENOSYS` (a kernel before 6.13).
static XATTRAT: AtomicBool = AtomicBool::new(true);

/// Runs `f`, an extended-attribute call at `N` relative to `/proc/self/fd`
/// (`getxattrat(proc_fd_dir, "N", ..)`): the same resolution as the path
/// `/proc/self/fd/N`, without walking `/proc/self` each time (a third
/// fewer cycles here). `None` when the caller must take the path instead:
/// the kernel lacks the call (remembered) or a filter refused it (`EPERM`).
pub(crate) fn xattr_at(f: impl FnOnce() -> io::Result<usize>) -> Option<io::Result<usize>> {
    xattr_at_with(&XATTRAT, f)
}

/// [`xattr_at`] with the "kernel has the call" flag passed in.
fn xattr_at_with(
    have: &AtomicBool,
    f: impl FnOnce() -> io::Result<usize>,
) -> Option<io::Result<usize>> {
    if !have.load(Ordering::Relaxed) {
        return None;
    }
    match f() {
        Err(io::Errno::NOSYS) => {
            have.store(false, Ordering::Relaxed);
            None
        }
        Err(io::Errno::PERM) => None,
        r => Some(r),
    }
}

/// Length of `"/proc/self/fd/"`.
const PREFIX: &[u8] = b"/proc/self/fd/";

/// `"/proc/self/fd/N\0"` for one descriptor, without allocating.
pub(crate) struct ProcFdPath {
    buf: [u8; 32],
    len: usize,
}

impl ProcFdPath {
    /// The path of `fd`'s magic link.
    pub(crate) fn new(fd: BorrowedFd<'_>) -> ProcFdPath {
        let mut buf = [0u8; 32];
        buf[..PREFIX.len()].copy_from_slice(PREFIX);
        let mut digits = [0u8; 10];
        let mut n = u32::try_from(fd.as_fd().as_raw_fd()).unwrap_or(0);
        let mut d = 0;
        loop {
            digits[d] = b'0' + (n % 10) as u8;
            d += 1;
            n /= 10;
            if n == 0 || d == digits.len() {
                break;
            }
        }
        let mut len = PREFIX.len();
        for &c in digits[..d].iter().rev() {
            buf[len] = c;
            len += 1;
        }
        // buf[len] is already the terminating NUL (32 > 14 + 10).
        ProcFdPath { buf, len }
    }

    /// The full path, `/proc/self/fd/N`.
    pub(crate) fn path(&self) -> &CStr {
        CStr::from_bytes_with_nul(&self.buf[..=self.len]).unwrap_or(c"/proc/self/fd/-")
    }

    /// Just `N`, for `openat(proc_self_fd_dir, N, ...)`.
    pub(crate) fn name(&self) -> &CStr {
        CStr::from_bytes_with_nul(&self.buf[PREFIX.len()..=self.len]).unwrap_or(c"-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys;
    use rustix::fd::BorrowedFd;
    use rustix::fs::{Mode, OFlags, XattrFlags};

    #[test]
    fn xattr_at_falls_back_on_enosys_and_remembers_it() {
        let have = AtomicBool::new(true);
        assert_eq!(xattr_at_with(&have, || Ok(3)), Some(Ok(3)));
        assert_eq!(
            xattr_at_with(&have, || Err(io::Errno::NODATA)),
            Some(Err(io::Errno::NODATA))
        );
        // A filter's EPERM: the path this time, the call again next time.
        assert_eq!(xattr_at_with(&have, || Err(io::Errno::PERM)), None);
        assert!(have.load(Ordering::Relaxed));
        assert_eq!(xattr_at_with(&have, || Err(io::Errno::NOSYS)), None);
        assert!(!have.load(Ordering::Relaxed));
        assert_eq!(
            xattr_at_with(&have, || panic!("tried again after ENOSYS")),
            None
        );
    }

    /// `getxattrat` / `listxattrat` at `N` under `/proc/self/fd` answer as
    /// the calls on the path `/proc/self/fd/N` do, for a file and for a
    /// symlink held by an `O_PATH` descriptor (its own attributes, not its
    /// target's).
    #[test]
    fn xattrat_under_proc_fd_matches_the_path_calls() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        std::os::unix::fs::symlink("f", dir.path().join("l")).unwrap();
        if rustix::fs::setxattr(&file, "user.k", b"hello", XattrFlags::empty()).is_err() {
            eprintln!("SKIP: the temporary directory's file system has no user xattrs");
            return;
        }
        let proc_dir = rustix::fs::open(
            c"/proc/self/fd",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        let fd = rustix::fs::open(&file, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).unwrap();
        let p = ProcFdPath::new(fd.as_fd());
        let mut buf = [0u8; 16];
        match sys::getxattrat(&proc_dir, p.name(), b"user.k", &mut []) {
            Err(io::Errno::NOSYS) => {
                eprintln!("SKIP: this kernel has no getxattrat (before 6.13)");
                return;
            }
            r => assert_eq!(r, Ok(5)),
        }
        assert_eq!(
            sys::getxattrat(&proc_dir, p.name(), b"user.k", &mut buf),
            Ok(5)
        );
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(
            sys::getxattrat(&proc_dir, p.name(), b"user.k", &mut buf[..2]),
            Err(io::Errno::RANGE)
        );
        assert_eq!(
            sys::getxattrat(&proc_dir, p.name(), b"user.none", &mut buf),
            Err(io::Errno::NODATA)
        );
        assert_eq!(
            sys::getxattrat(&proc_dir, p.name(), &[b'u'; 256], &mut buf),
            Err(io::Errno::RANGE)
        );
        assert_eq!(
            sys::getxattrat(&proc_dir, p.name(), b"user.\0k", &mut buf),
            Err(io::Errno::INVAL)
        );
        let mut list = [0u8; 64];
        let n = sys::listxattrat(&proc_dir, p.name(), &mut list).unwrap();
        assert_eq!(sys::listxattrat(&proc_dir, p.name(), &mut []), Ok(n));
        let by_path = rustix::fs::listxattr(p.path(), &mut buf[..0]).unwrap_or(0);
        assert!(by_path == 0 || by_path == n);
        assert!(list[..n].split(|&b| b == 0).any(|x| x == b"user.k"));

        let link = rustix::fs::open(
            dir.path().join("l"),
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        let lp = ProcFdPath::new(link.as_fd());
        let by_path = rustix::fs::getxattr(lp.path(), "user.k", &mut buf);
        assert_eq!(
            by_path,
            Err(io::Errno::NODATA),
            "the path call follows the link"
        );
        assert_eq!(
            sys::getxattrat(&proc_dir, lp.name(), b"user.k", &mut buf),
            by_path
        );
    }

    #[test]
    fn formats_numbers() {
        for (raw, want) in [
            (0, "0"),
            (7, "7"),
            (10, "10"),
            (1234567, "1234567"),
            (i32::MAX, "2147483647"),
        ] {
            // SAFETY: the fd is only formatted, never used for a system call.
            let fd = unsafe { BorrowedFd::borrow_raw(raw) };
            let p = ProcFdPath::new(fd);
            assert_eq!(p.name().to_str().ok(), Some(want));
            assert_eq!(
                p.path().to_str().ok(),
                Some(format!("/proc/self/fd/{want}").as_str())
            );
        }
    }
}
