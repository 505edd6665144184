//! Darwin `struct stat` (`<sys/stat.h>`) as the core's Linux-valued [`Stat`].

use arcbox_fs::Errno;
use arcbox_fs::abi::mode::{S_IFBLK, S_IFCHR, S_IFMT};
use arcbox_fs::errno::Result;
use arcbox_fs::host::{HostKey, Stat};

use crate::translate::mode::{mode_from_darwin, rdev_from_darwin};
use crate::translate::time::from_darwin as ts;

/// The identity of a Darwin `stat`: `st_dev` (a 32-bit `dev_t`) and `st_ino`.
pub(crate) fn key_of(st: &rustix::fs::Stat) -> HostKey {
    HostKey {
        dev: u64::from(st.st_dev as u32),
        ino: st.st_ino,
        mnt_id: 0,
    }
}

/// Converts a Darwin `stat`. Whiteouts are `ENOENT` (a guest never sees
/// them); a device number Linux cannot encode is `EOVERFLOW`.
pub(crate) fn from_darwin(st: &rustix::fs::Stat) -> Result<Stat> {
    let mode = mode_from_darwin(u32::from(st.st_mode)).ok_or(Errno::ENOENT)?;
    let typ = mode & S_IFMT;
    let rdev = if typ == S_IFCHR || typ == S_IFBLK {
        rdev_from_darwin(st.st_rdev)?
    } else {
        0
    };
    Ok(Stat {
        key: key_of(st),
        mode,
        nlink: u32::from(st.st_nlink),
        uid: st.st_uid,
        gid: st.st_gid,
        rdev,
        size: u64::try_from(st.st_size).unwrap_or(0),
        blksize: u32::try_from(st.st_blksize).unwrap_or(4096),
        blocks: u64::try_from(st.st_blocks).unwrap_or(0),
        atime: ts(st.st_atime, st.st_atime_nsec),
        mtime: ts(st.st_mtime, st.st_mtime_nsec),
        ctime: ts(st.st_ctime, st.st_ctime_nsec),
        btime: Some(ts(st.st_birthtime, st.st_birthtime_nsec)),
    })
}
