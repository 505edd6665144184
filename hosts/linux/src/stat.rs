//! `statx` results as wire [`Stat`]s, and device-number encodings.

use arcbox_fs::Timespec;
use arcbox_fs::host::{HostKey, Stat};
use rustix::fd::AsFd;
use rustix::fs::{AtFlags, Statx, StatxFlags, StatxTimestamp};

/// What every `statx` here asks for.
pub(crate) const STATX_WANT: StatxFlags = StatxFlags::BASIC_STATS
    .union(StatxFlags::BTIME)
    .union(StatxFlags::MNT_ID);

/// `statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)`: status of the
/// inode `fd` refers to (works on `O_PATH` descriptors, never follows).
///
/// See [statx(2)](https://man7.org/linux/man-pages/man2/statx.2.html).
pub(crate) fn statx_fd<Fd: AsFd>(fd: Fd) -> rustix::io::Result<Statx> {
    rustix::fs::statx(
        fd,
        c"",
        AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW,
        STATX_WANT,
    )
}

/// Linux `new_encode_dev(MKDEV(major, minor))`, the 32-bit `rdev` FUSE
/// carries. Numbers beyond its 12-bit major / 20-bit minor range are masked.
pub(crate) const fn encode_dev(major: u32, minor: u32) -> u32 {
    let major = major & 0xfff;
    let minor = minor & 0xf_ffff;
    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
}

/// Linux `new_decode_dev`: `(major, minor)` of a 32-bit `rdev`.
pub(crate) const fn decode_dev(dev: u32) -> (u32, u32) {
    let major = (dev & 0xfff00) >> 8;
    let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    (major, minor)
}

fn ts(t: &StatxTimestamp) -> Timespec {
    Timespec::new(t.tv_sec, t.tv_nsec)
}

/// The wire [`Stat`] of a `statx` result.
pub(crate) fn from_statx(st: &Statx) -> Stat {
    let btime = StatxFlags::from_bits_retain(st.stx_mask)
        .contains(StatxFlags::BTIME)
        .then(|| ts(&st.stx_btime));
    let mnt_id = if StatxFlags::from_bits_retain(st.stx_mask).contains(StatxFlags::MNT_ID) {
        st.stx_mnt_id
    } else {
        0
    };
    Stat {
        key: HostKey {
            dev: rustix::fs::makedev(st.stx_dev_major, st.stx_dev_minor),
            ino: st.stx_ino,
            mnt_id,
        },
        mode: u32::from(st.stx_mode),
        nlink: st.stx_nlink,
        uid: st.stx_uid,
        gid: st.stx_gid,
        rdev: encode_dev(st.stx_rdev_major, st.stx_rdev_minor),
        size: st.stx_size,
        blksize: st.stx_blksize,
        blocks: st.stx_blocks,
        atime: ts(&st.stx_atime),
        mtime: ts(&st.stx_mtime),
        ctime: ts(&st.stx_ctime),
        btime,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_round_trip() {
        // /dev/null is 1:3, /dev/sda1 8:1; large minors use the high bits.
        assert_eq!(encode_dev(1, 3), 0x103);
        assert_eq!(encode_dev(8, 1), 0x801);
        for (ma, mi) in [(0, 0), (1, 3), (8, 1), (259, 0x12345), (0xfff, 0xfffff)] {
            assert_eq!(decode_dev(encode_dev(ma, mi)), (ma, mi));
        }
    }
}
