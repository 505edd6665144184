//! Kernel passthrough backing files: the `FUSE_DEV_IOC_BACKING_OPEN` /
//! `FUSE_DEV_IOC_BACKING_CLOSE` ioctls on a `/dev/fuse` descriptor
//! (include/uapi/linux/fuse.h, Documentation/filesystems/fuse-passthrough.rst),
//! and the [`BackingFiles`] the core's `PassthroughFs` registers files with.
//!
//! Both ioctls need `CAP_SYS_ADMIN` in the initial user namespace
//! (fs/fuse/passthrough.c); see [`may_passthrough`].

use arcbox_fs::Errno;
use arcbox_fs::abi::BackingMap;
use arcbox_fs::passthrough::kpassthrough::BackingFiles;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::{Arc, OnceLock};

use crate::FuseDev;

/// `FUSE_DEV_IOC_BACKING_OPEN` = `_IOW(229, 1, struct fuse_backing_map)`.
const FUSE_DEV_IOC_BACKING_OPEN: libc::c_ulong = 0x4010_e501;
/// `FUSE_DEV_IOC_BACKING_CLOSE` = `_IOW(229, 2, uint32_t)`.
const FUSE_DEV_IOC_BACKING_CLOSE: libc::c_ulong = 0x4004_e502;

/// Registers `file` as a backing file of the connection `dev`; its id.
///
/// Errors: `EPERM` without `CAP_SYS_ADMIN`, `EOPNOTSUPP` when the
/// connection did not agree to `FUSE_PASSTHROUGH`, `ELOOP` past the
/// negotiated stacking depth, `EINVAL` for a file that cannot back one.
pub fn backing_open(dev: BorrowedFd<'_>, file: BorrowedFd<'_>) -> io::Result<i32> {
    let map = BackingMap {
        fd: file.as_raw_fd(),
        flags: 0,
        padding: 0,
    };
    // SAFETY: the ioctl reads one `struct fuse_backing_map` (16 bytes,
    // `BackingMap` has its layout) through the pointer, which points to a
    // live local; both descriptors are borrowed open descriptors.
    let r = unsafe {
        libc::ioctl(
            dev.as_raw_fd(),
            FUSE_DEV_IOC_BACKING_OPEN as _,
            &map as *const BackingMap,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r)
}

/// Unregisters backing id `id` of the connection `dev`.
///
/// Errors: `ENOENT` for an unknown id, `EPERM` without `CAP_SYS_ADMIN`.
pub fn backing_close(dev: BorrowedFd<'_>, id: i32) -> io::Result<()> {
    let id = id as u32;
    // SAFETY: the ioctl reads one u32 through the pointer, which points to
    // a live local; `dev` is a borrowed open descriptor.
    let r = unsafe {
        libc::ioctl(
            dev.as_raw_fd(),
            FUSE_DEV_IOC_BACKING_CLOSE as _,
            &id as *const u32,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether this process may register backing files: `CAP_SYS_ADMIN` in
/// its effective set (`CapEff` in /proc/self/status, proc(5)). Whether the
/// kernel offers `FUSE_PASSTHROUGH` is only known at INIT.
pub fn may_passthrough() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0)
}

/// [`BackingFiles`] over a session's `/dev/fuse` descriptor, attached once
/// the connection exists ([`Self::attach`]); clones share it. Before that
/// every registration fails with `ENODEV` (the open falls back).
#[derive(Clone, Debug, Default)]
pub struct FuseBacking {
    dev: Arc<OnceLock<Arc<FuseDev>>>,
}

impl FuseBacking {
    /// Not yet attached.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `dev` (the session's device, [`crate::Session::device`]) from
    /// now on; later calls are ignored.
    pub fn attach(&self, dev: Arc<FuseDev>) {
        let _ = self.dev.set(dev);
    }
}

impl<F: AsFd> BackingFiles<F> for FuseBacking {
    fn open(&self, file: &F) -> arcbox_fs::errno::Result<i32> {
        let dev = self.dev.get().ok_or(Errno::ENODEV)?;
        backing_open(dev.as_fd(), file.as_fd()).map_err(|e| {
            let e = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
            log::debug!("FUSE_DEV_IOC_BACKING_OPEN: {e:?}");
            e
        })
    }

    fn close(&self, id: i32) {
        if let Some(dev) = self.dev.get()
            && let Err(e) = backing_close(dev.as_fd(), id)
        {
            log::warn!("FUSE_DEV_IOC_BACKING_CLOSE {id}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_the_uapi_header() {
        // _IOW(type, nr, size) = 1 << 30 | size << 16 | type << 8 | nr.
        let iow = |nr: libc::c_ulong, size: usize| {
            (1 << 30) | ((size as libc::c_ulong) << 16) | (229 << 8) | nr
        };
        assert_eq!(
            FUSE_DEV_IOC_BACKING_OPEN,
            iow(1, core::mem::size_of::<BackingMap>())
        );
        assert_eq!(FUSE_DEV_IOC_BACKING_CLOSE, iow(2, 4));
    }

    #[test]
    fn unattached_backing_fails_with_enodev() {
        let b = FuseBacking::new();
        let f = std::fs::File::open("/").unwrap();
        assert_eq!(BackingFiles::open(&b, &f), Err(Errno::ENODEV));
    }

    #[test]
    fn backing_open_on_a_non_fuse_fd_is_an_error_not_a_crash() {
        let f = std::fs::File::open("/").unwrap();
        assert!(backing_open(f.as_fd(), f.as_fd()).is_err());
        assert!(backing_close(f.as_fd(), 12345).is_err());
    }
}
