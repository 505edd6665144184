//! `/proc/self/fd/N` paths, built on the stack.
//!
//! Reopening an `O_PATH` descriptor through its `/proc/self/fd` magic link
//! is how Linux turns a path-only reference into an I/O descriptor (or
//! reaches calls that have no `f*` variant accepting `O_PATH`, such as
//! `chmod` and the xattr calls). Following the magic link lands on the
//! descriptor's inode itself, never on a symlink's target, even when the
//! inode is a symlink.

use rustix::fd::{AsFd, AsRawFd, BorrowedFd};
use std::ffi::CStr;

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
    use rustix::fd::BorrowedFd;

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
