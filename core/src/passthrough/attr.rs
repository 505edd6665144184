//! Host [`Stat`] → FUSE `fuse_attr` / `fuse_statx`.

use crate::abi::{Attr, Statx, SxTime};
use crate::host::Stat;
use crate::time::Timespec;

/// `STATX_BASIC_STATS` (include/uapi/linux/stat.h).
pub const STATX_BASIC_STATS: u32 = 0x7ff;
/// `STATX_BTIME`.
pub const STATX_BTIME: u32 = 0x800;

/// `fuse_attr` for `st`.
pub fn to_attr(st: &Stat) -> Attr {
    Attr {
        ino: st.key.ino,
        size: st.size,
        blocks: st.blocks,
        atime: st.atime.sec as u64,
        mtime: st.mtime.sec as u64,
        ctime: st.ctime.sec as u64,
        atimensec: st.atime.nsec,
        mtimensec: st.mtime.nsec,
        ctimensec: st.ctime.nsec,
        mode: st.mode,
        nlink: st.nlink,
        uid: st.uid,
        gid: st.gid,
        rdev: st.rdev,
        blksize: st.blksize,
        flags: 0,
    }
}

fn sx(t: Timespec) -> SxTime {
    SxTime {
        tv_sec: t.sec,
        tv_nsec: t.nsec,
        reserved: 0,
    }
}

/// `fuse_statx` for `st` (`dev`: the host device split Linux-style).
pub fn to_statx(st: &Stat) -> Statx {
    let (rmaj, rmin) = decode_dev(st.rdev as u64);
    let (dmaj, dmin) = decode_dev(st.key.dev);
    Statx {
        mask: STATX_BASIC_STATS | if st.btime.is_some() { STATX_BTIME } else { 0 },
        blksize: st.blksize,
        attributes: 0,
        nlink: st.nlink,
        uid: st.uid,
        gid: st.gid,
        mode: st.mode as u16,
        spare0: 0,
        ino: st.key.ino,
        size: st.size,
        blocks: st.blocks,
        attributes_mask: 0,
        atime: sx(st.atime),
        btime: sx(st.btime.unwrap_or_default()),
        ctime: sx(st.ctime),
        mtime: sx(st.mtime),
        rdev_major: rmaj,
        rdev_minor: rmin,
        dev_major: dmaj,
        dev_minor: dmin,
        spare2: [0; 14],
    }
}

/// Splits a Linux `dev_t` (glibc `gnu_dev_major` / `gnu_dev_minor` encoding).
pub fn decode_dev(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}
