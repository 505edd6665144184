//! [`FuseDev`]: one open `/dev/fuse` file description of a FUSE connection.
//!
//! The mount owns the first descriptor; each worker thread gets its own
//! clone (`FUSE_DEV_IOC_CLONE`), so the kernel can hand requests to the
//! workers in parallel and each reply goes back through the descriptor that
//! read its request.

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Where the FUSE device lives.
pub const FUSE_DEV_PATH: &str = "/dev/fuse";

/// `FUSE_DEV_IOC_CLONE` = `_IOR(229, 0, uint32_t)` (linux/fuse.h).
const FUSE_DEV_IOC_CLONE: libc::c_ulong = 0x8004_e500;

/// An open `/dev/fuse` descriptor.
#[derive(Debug)]
pub struct FuseDev {
    file: File,
}

impl FuseDev {
    /// Opens a new, not yet mounted FUSE connection.
    ///
    /// Errors: the `open(2)` error (`ENOENT` when the fuse module is absent,
    /// `EACCES` without permission).
    pub fn open() -> io::Result<FuseDev> {
        Self::open_path(Path::new(FUSE_DEV_PATH))
    }

    fn open_path(path: &Path) -> io::Result<FuseDev> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)?;
        Ok(FuseDev { file })
    }

    /// Wraps a descriptor already connected to a FUSE mount (e.g. received
    /// from `fusermount3`).
    pub fn from_fd(fd: OwnedFd) -> FuseDev {
        FuseDev {
            file: File::from(fd),
        }
    }

    /// A second descriptor attached to the same connection
    /// (`FUSE_DEV_IOC_CLONE`). Requests are spread over all descriptors; a
    /// reply must be written to the descriptor its request was read from.
    ///
    /// Errors: `open(2)` or `ioctl(2)` errors (`EINVAL` before the mount).
    pub fn try_clone_session(&self) -> io::Result<FuseDev> {
        let clone = Self::open()?;
        let src: u32 = u32::try_from(self.file.as_raw_fd())
            .map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        // SAFETY: FUSE_DEV_IOC_CLONE reads one u32 (the source descriptor)
        // through the pointer, which points to a live local; `clone.file` is an
        // open descriptor we own.
        let r = unsafe {
            libc::ioctl(
                clone.file.as_raw_fd(),
                FUSE_DEV_IOC_CLONE as _,
                &src as *const u32,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(clone)
    }

    /// Reads one whole request into `buf` (the kernel never splits one).
    ///
    /// Errors: `ENODEV` once the connection is gone (unmounted or aborted);
    /// `ENOENT` / `EINTR` / `EAGAIN` are transient (retry); `EINVAL` if `buf`
    /// is smaller than the kernel requires.
    pub fn read_request(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.file).read(buf)
    }

    /// Writes one reply made of `parts` with a single `writev(2)`.
    ///
    /// Errors: `ENOENT` if the request was interrupted or aborted meanwhile
    /// (the reply is not needed), `ENODEV` once the connection is gone,
    /// `EINVAL` for a malformed reply.
    pub fn write_reply(&self, parts: &[IoSlice<'_>]) -> io::Result<usize> {
        (&self.file).write_vectored(parts)
    }
}

impl AsFd for FuseDev {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl AsRawFd for FuseDev {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.file.as_raw_fd()
    }
}

impl From<FuseDev> for OwnedFd {
    fn from(d: FuseDev) -> OwnedFd {
        OwnedFd::from(d.file)
    }
}
