//! FUSE lock descriptions (`fuse_file_lock`) to and from `struct flock`.
//!
//! FUSE describes a range by its first and last byte; `struct flock` by
//! start and length, 0 meaning "to end of file". The kernel's FUSE client
//! sends `OFFSET_MAX` (`i64::MAX`) as the end of an unbounded lock.

use arcbox_fs::Errno;
use arcbox_fs::abi::{FileLock, lock};

/// The end of an unbounded range (`OFFSET_MAX`).
pub(crate) const OFFSET_MAX: u64 = i64::MAX as u64;

/// The `l_type` of a wire lock type.
fn host_type(typ: u32) -> Result<libc::c_short, Errno> {
    match typ {
        lock::F_RDLCK => Ok(libc::F_RDLCK as libc::c_short),
        lock::F_WRLCK => Ok(libc::F_WRLCK as libc::c_short),
        lock::F_UNLCK => Ok(libc::F_UNLCK as libc::c_short),
        _ => Err(Errno::EINVAL),
    }
}

/// A `struct flock` (whence `SEEK_SET`, pid 0 as OFD locks require) for `l`.
pub(crate) fn to_flock(l: &FileLock) -> Result<libc::flock, Errno> {
    if l.start > OFFSET_MAX || l.end < l.start {
        return Err(Errno::EINVAL);
    }
    let len = if l.end >= OFFSET_MAX {
        0
    } else {
        // end < OFFSET_MAX, so end - start + 1 <= i64::MAX.
        i64::try_from(l.end - l.start + 1).map_err(|_| Errno::EINVAL)?
    };
    // SAFETY: struct flock is plain integers; all-zero is a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = host_type(l.typ)?;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = i64::try_from(l.start).map_err(|_| Errno::EINVAL)?;
    fl.l_len = len;
    fl.l_pid = 0;
    Ok(fl)
}

/// The wire lock of a `struct flock` returned by `F_OFD_GETLK`. The holder's
/// pid is not the guest's (OFD locks report -1), so it is sent as 0.
pub(crate) fn from_flock(fl: &libc::flock) -> FileLock {
    let typ = match libc::c_int::from(fl.l_type) {
        libc::F_RDLCK => lock::F_RDLCK,
        libc::F_WRLCK => lock::F_WRLCK,
        _ => lock::F_UNLCK,
    };
    let start = u64::try_from(fl.l_start).unwrap_or(0);
    let end = match u64::try_from(fl.l_len) {
        Ok(0) | Err(_) => OFFSET_MAX,
        Ok(len) => start.saturating_add(len - 1).min(OFFSET_MAX),
    };
    FileLock {
        start,
        end,
        typ,
        pid: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let l = FileLock {
            start: 10,
            end: 19,
            typ: lock::F_WRLCK,
            pid: 7,
        };
        let fl = to_flock(&l).expect("valid");
        assert_eq!((fl.l_start, fl.l_len), (10, 10));
        assert_eq!(from_flock(&fl), FileLock { pid: 0, ..l });
        let whole = FileLock {
            start: 0,
            end: OFFSET_MAX,
            typ: lock::F_RDLCK,
            pid: 0,
        };
        assert_eq!(to_flock(&whole).expect("valid").l_len, 0);
        assert_eq!(from_flock(&to_flock(&whole).expect("valid")), whole);
        assert_eq!(
            to_flock(&FileLock {
                end: u64::MAX,
                ..whole
            })
            .expect("valid")
            .l_len,
            0
        );
        assert_eq!(
            to_flock(&FileLock {
                start: 5,
                end: 4,
                ..whole
            })
            .err(),
            Some(Errno::EINVAL)
        );
        assert_eq!(
            to_flock(&FileLock {
                start: u64::MAX,
                end: u64::MAX,
                ..whole
            })
            .err(),
            Some(Errno::EINVAL)
        );
        assert_eq!(
            to_flock(&FileLock { typ: 9, ..whole }).err(),
            Some(Errno::EINVAL)
        );
    }
}
