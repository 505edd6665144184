//! `fallocate(2)` modes on Darwin, which has no `fallocate`.
//!
//! Darwin offers `fcntl(F_PREALLOCATE, fstore_t)`, which reserves space but
//! never changes the file size, and `fcntl(F_PUNCHHOLE, fpunchhole_t)`,
//! which deallocates whole blocks (`<sys/fcntl.h>`). The field bug to avoid
//! is emulating `fallocate` with `ftruncate`, which shrinks files: here the
//! size only ever grows, and only when Linux would grow it.

use arcbox_fs::Errno;
use arcbox_fs::abi::FallocateMode;

/// Darwin `fcntl` command `F_PREALLOCATE` (`<sys/fcntl.h>`).
pub const DARWIN_F_PREALLOCATE: i32 = 42;
/// Darwin `fcntl` command `F_NOCACHE` (`<sys/fcntl.h>`).
pub const DARWIN_F_NOCACHE: i32 = 48;
/// Darwin `fcntl` command `F_FULLFSYNC` (`<sys/fcntl.h>`).
pub const DARWIN_F_FULLFSYNC: i32 = 51;
/// Darwin `fcntl` command `F_PUNCHHOLE` (`<sys/fcntl.h>`).
pub const DARWIN_F_PUNCHHOLE: i32 = 99;
/// `fstore_t.fst_flags`: allocate contiguous space (`<sys/fcntl.h>`).
pub const DARWIN_F_ALLOCATECONTIG: u32 = 0x0000_0002;
/// `fstore_t.fst_flags`: allocate all or nothing (`<sys/fcntl.h>`).
pub const DARWIN_F_ALLOCATEALL: u32 = 0x0000_0004;
/// `fstore_t.fst_flags`: keep the allocation past close (`<sys/fcntl.h>`).
pub const DARWIN_F_ALLOCATEPERSIST: u32 = 0x0000_0008;
/// `fstore_t.fst_posmode`: allocate from the physical end of file (`<sys/fcntl.h>`).
pub const DARWIN_F_PEOFPOSMODE: i32 = 3;
/// `fstore_t.fst_posmode`: allocate from the volume offset (`<sys/fcntl.h>`).
pub const DARWIN_F_VOLPOSMODE: i32 = 4;

/// Largest file offset (`off_t` is a signed 64-bit integer on both systems).
const OFF_MAX: u64 = i64::MAX as u64;

/// What a Linux `fallocate` mode becomes on Darwin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Reserve space with `F_PREALLOCATE`; unless `keep_size`, grow (never
    /// shrink) the size to cover the range.
    Allocate {
        /// `FALLOC_FL_KEEP_SIZE`.
        keep_size: bool,
    },
    /// `FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`: deallocate whole blocks
    /// with `F_PUNCHHOLE`, zero the partial blocks at either end.
    PunchHole,
}

/// The plan for Linux `mode`; `EOPNOTSUPP` for the modes Darwin cannot do
/// (`ZERO_RANGE`, `COLLAPSE_RANGE`, `INSERT_RANGE`, `UNSHARE_RANGE`,
/// `NO_HIDE_STALE`, and `PUNCH_HOLE` without `KEEP_SIZE`, which Linux
/// rejects the same way).
pub fn plan(mode: FallocateMode) -> Result<Plan, Errno> {
    let keep = FallocateMode::KEEP_SIZE;
    let punch = FallocateMode::PUNCH_HOLE | FallocateMode::KEEP_SIZE;
    if mode.is_empty() {
        Ok(Plan::Allocate { keep_size: false })
    } else if mode == keep {
        Ok(Plan::Allocate { keep_size: true })
    } else if mode == punch {
        Ok(Plan::PunchHole)
    } else {
        Err(Errno::EOPNOTSUPP)
    }
}

/// The end of the range `[offset, offset + len)`, checked as Linux does:
/// `EINVAL` for an empty range, `EFBIG` past the largest `off_t`.
pub fn range_end(offset: u64, len: u64) -> Result<u64, Errno> {
    if len == 0 || offset > OFF_MAX || len > OFF_MAX {
        return Err(Errno::EINVAL);
    }
    match offset.checked_add(len) {
        Some(end) if end <= OFF_MAX => Ok(end),
        _ => Err(Errno::EFBIG),
    }
}

/// The steps of a [`Plan::Allocate`] on a file of `size` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// Bytes to reserve past the end of file (`F_PEOFPOSMODE`); 0: none.
    pub reserve: u64,
    /// New size to set with `ftruncate`, always larger than `size`; `None`
    /// leaves the size alone.
    pub grow_to: Option<u64>,
}

/// Plans an allocation of `[offset, offset + len)` on a file of `size` bytes.
pub fn allocation(offset: u64, len: u64, size: u64, keep_size: bool) -> Result<Allocation, Errno> {
    let end = range_end(offset, len)?;
    let reserve = end.saturating_sub(size);
    let grow_to = if !keep_size && end > size {
        Some(end)
    } else {
        None
    };
    Ok(Allocation { reserve, grow_to })
}

/// A byte range `(offset, len)`.
pub type Range = (u64, u64);

/// The steps of a [`Plan::PunchHole`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Punch {
    /// Partial block at the start, to overwrite with zeros.
    pub zero_head: Option<Range>,
    /// Whole blocks to deallocate with `F_PUNCHHOLE`.
    pub punch: Option<Range>,
    /// Partial block at the end, to overwrite with zeros.
    pub zero_tail: Option<Range>,
}

/// Plans a hole punch of `[offset, offset + len)` in a file of `size`
/// bytes whose blocks are `block` bytes (`st_blksize`; 0 is treated as 1).
/// The range is clipped to the size: punching never changes the size.
pub fn punch(offset: u64, len: u64, size: u64, block: u64) -> Result<Punch, Errno> {
    let end = range_end(offset, len)?.min(size);
    if offset >= end {
        return Ok(Punch::default());
    }
    let block = block.max(1);
    let up = |v: u64| v.div_ceil(block).checked_mul(block).unwrap_or(OFF_MAX);
    let down = |v: u64| v - v % block;
    let first_full = up(offset);
    let last_full = down(end);
    if first_full >= last_full {
        // No whole block inside the range: zero it all.
        return Ok(Punch {
            zero_head: Some((offset, end - offset)),
            punch: None,
            zero_tail: None,
        });
    }
    let zero_head = (offset < first_full).then(|| (offset, first_full - offset));
    let zero_tail = (last_full < end).then(|| (last_full, end - last_full));
    Ok(Punch {
        zero_head,
        punch: Some((first_full, last_full - first_full)),
        zero_tail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode() {
        // Linux include/uapi/linux/falloc.h values.
        let table: &[(u32, Result<Plan, Errno>)] = &[
            (0x00, Ok(Plan::Allocate { keep_size: false })),
            (0x01, Ok(Plan::Allocate { keep_size: true })), // KEEP_SIZE
            (0x03, Ok(Plan::PunchHole)),                    // PUNCH_HOLE | KEEP_SIZE
            (0x02, Err(Errno::EOPNOTSUPP)),                 // PUNCH_HOLE alone
            (0x04, Err(Errno::EOPNOTSUPP)),                 // NO_HIDE_STALE
            (0x08, Err(Errno::EOPNOTSUPP)),                 // COLLAPSE_RANGE
            (0x10, Err(Errno::EOPNOTSUPP)),                 // ZERO_RANGE
            (0x11, Err(Errno::EOPNOTSUPP)),                 // ZERO_RANGE | KEEP_SIZE
            (0x20, Err(Errno::EOPNOTSUPP)),                 // INSERT_RANGE
            (0x40, Err(Errno::EOPNOTSUPP)),                 // UNSHARE_RANGE
            (0x80, Err(Errno::EOPNOTSUPP)),
        ];
        for &(m, p) in table {
            assert_eq!(plan(FallocateMode::from_bits_retain(m)), p, "{m:#x}");
        }
    }

    #[test]
    fn allocation_never_shrinks() {
        // Inside the file: nothing to reserve, size unchanged.
        assert_eq!(
            allocation(0, 100, 1000, false),
            Ok(Allocation {
                reserve: 0,
                grow_to: None
            })
        );
        // Past the end: reserve the difference and grow.
        assert_eq!(
            allocation(900, 200, 1000, false),
            Ok(Allocation {
                reserve: 100,
                grow_to: Some(1100)
            })
        );
        // KEEP_SIZE: reserve only.
        assert_eq!(
            allocation(900, 200, 1000, true),
            Ok(Allocation {
                reserve: 100,
                grow_to: None
            })
        );
        // Any (offset, len, size): the size never goes down.
        for size in [0u64, 1, 4095, 4096, 1 << 40] {
            for (o, l) in [(0u64, 1u64), (5, 10), (4096, 4096), (1 << 39, 1 << 39)] {
                let a = allocation(o, l, size, false).expect("alloc");
                assert!(a.grow_to.is_none_or(|g| g > size));
            }
        }
    }

    #[test]
    fn hostile_ranges() {
        assert_eq!(range_end(0, 0), Err(Errno::EINVAL));
        assert_eq!(range_end(u64::MAX, 1), Err(Errno::EINVAL));
        assert_eq!(range_end(1, u64::MAX), Err(Errno::EINVAL));
        assert_eq!(range_end(i64::MAX as u64, 1), Err(Errno::EFBIG));
        assert_eq!(range_end(1, i64::MAX as u64), Err(Errno::EFBIG));
        assert_eq!(range_end(10, 20), Ok(30));
        assert_eq!(punch(u64::MAX, u64::MAX, 100, 4096), Err(Errno::EINVAL));
    }

    #[test]
    fn punch_plans() {
        let b = 4096;
        // Aligned range inside the file: one punch.
        assert_eq!(
            punch(4096, 8192, 1 << 20, b),
            Ok(Punch {
                zero_head: None,
                punch: Some((4096, 8192)),
                zero_tail: None
            })
        );
        // Unaligned both ends.
        assert_eq!(
            punch(100, 10000, 1 << 20, b),
            Ok(Punch {
                zero_head: Some((100, 3996)),
                punch: Some((4096, 4096)),
                zero_tail: Some((8192, 1908))
            })
        );
        // Inside one block: zero only.
        assert_eq!(
            punch(10, 20, 1 << 20, b),
            Ok(Punch {
                zero_head: Some((10, 20)),
                punch: None,
                zero_tail: None
            })
        );
        // Clipped at EOF; past EOF nothing.
        assert_eq!(
            punch(4096, 1 << 30, 10000, b),
            Ok(Punch {
                zero_head: None,
                punch: Some((4096, 4096)),
                zero_tail: Some((8192, 1808))
            })
        );
        assert_eq!(punch(20000, 100, 10000, b), Ok(Punch::default()));
        // Block size 0 is treated as 1: everything punched.
        assert_eq!(
            punch(3, 5, 100, 0),
            Ok(Punch {
                zero_head: None,
                punch: Some((3, 5)),
                zero_tail: None
            })
        );
    }

    #[test]
    fn punch_covers_exactly_the_range() {
        for (o, l, size, b) in [
            (0u64, 1u64, 10u64, 4u64),
            (1, 9, 10, 4),
            (3, 100, 50, 8),
            (7, 7, 100, 7),
            (0, 64, 64, 16),
        ] {
            let p = punch(o, l, size, b).expect("punch");
            let mut covered = 0;
            let mut next = o;
            for (off, len) in [p.zero_head, p.punch, p.zero_tail].into_iter().flatten() {
                assert_eq!(off, next, "{o} {l} {size} {b}: contiguous");
                assert!(len > 0);
                next = off + len;
                covered += len;
            }
            assert_eq!(
                covered,
                (o + l).min(size).saturating_sub(o),
                "{o} {l} {size} {b}"
            );
            if let Some((off, len)) = p.punch {
                assert_eq!(off % b, 0);
                assert_eq!(len % b, 0);
            }
        }
    }
}
