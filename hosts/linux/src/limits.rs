//! How far a write may reach: the host file system's maximum file size and
//! the process's `RLIMIT_FSIZE`, for [`arcbox_fs::host::Host::max_file_size`].
//!
//! Linux has no call that reports a file system's `s_maxbytes`, so the limit
//! is known exactly for file systems whose limit is the largest `off_t`
//! (tmpfs, ramfs, XFS, Btrfs, ZFS, bcachefs) and taken conservatively
//! elsewhere: ext2/3/4 as `f_bsize × 2^24` (16 GiB for 1 KiB blocks, the
//! ext2 limit; below ext4's), anything else as 4 GiB − 1 (FAT's limit).
//! Under-estimating only means a write past the bound is not combined (it
//! goes to the host at once); over-estimating would acknowledge a write the
//! host refuses. See [statfs(2)](https://man7.org/linux/man-pages/man2/statfs.2.html)
//! and [getrlimit(2)](https://man7.org/linux/man-pages/man2/getrlimit.2.html).

use rustix::fd::BorrowedFd;
use rustix::process::{Resource, getrlimit};

const TMPFS_MAGIC: u64 = 0x0102_1994;
const RAMFS_MAGIC: u64 = 0x8584_58f6;
const XFS_MAGIC: u64 = 0x5846_5342;
const BTRFS_MAGIC: u64 = 0x9123_683e;
const ZFS_MAGIC: u64 = 0x2fc1_2fc1;
const BCACHEFS_MAGIC: u64 = 0xca45_1a4e;
const EXT_MAGIC: u64 = 0xef53;

/// FAT's limit, taken for unknown file systems.
const CONSERVATIVE: u64 = (1 << 32) - 1;

/// The largest end offset a write to `fd` may reach (see the module docs).
pub(crate) fn max_file_size(fd: BorrowedFd<'_>) -> u64 {
    let fs = match rustix::fs::fstatfs(fd) {
        Ok(st) => fs_limit(st.f_type as u64, st.f_bsize as u64),
        Err(_) => CONSERVATIVE,
    };
    fs.min(rlimit_fsize())
}

/// The file-size limit of a file system of type `magic` with blocks of
/// `bsize` bytes.
pub(crate) fn fs_limit(magic: u64, bsize: u64) -> u64 {
    match magic & 0xffff_ffff {
        TMPFS_MAGIC | RAMFS_MAGIC | XFS_MAGIC | BTRFS_MAGIC | ZFS_MAGIC | BCACHEFS_MAGIC => {
            i64::MAX as u64
        }
        EXT_MAGIC => bsize.clamp(1024, 65536) << 24,
        _ => CONSERVATIVE,
    }
}

/// The soft `RLIMIT_FSIZE` (a write past it fails with `EFBIG`, or raises
/// `SIGXFSZ`; [`crate::LinuxHost`] ignores that signal).
fn rlimit_fsize() -> u64 {
    getrlimit(Resource::Fsize)
        .current
        .unwrap_or(i64::MAX as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_file_systems() {
        assert_eq!(fs_limit(TMPFS_MAGIC, 4096), i64::MAX as u64);
        assert_eq!(fs_limit(EXT_MAGIC, 1024), 16 << 30);
        assert_eq!(fs_limit(EXT_MAGIC, 4096), 64 << 30);
        assert_eq!(fs_limit(0x6573_5546, 4096), CONSERVATIVE);
    }

    #[test]
    fn a_real_file_has_a_limit_below_off_t() {
        let f = std::fs::File::open("/proc/self/exe").expect("exe");
        let max = max_file_size(rustix::fd::AsFd::as_fd(&f));
        assert!(max >= CONSERVATIVE && max <= i64::MAX as u64);
    }
}
