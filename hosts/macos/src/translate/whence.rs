//! `lseek(2)` whence values.
//!
//! Linux (include/uapi/linux/fs.h): `SEEK_DATA` = 3, `SEEK_HOLE` = 4.
//! Darwin (`<sys/unistd.h>`): `SEEK_HOLE` = 3, `SEEK_DATA` = 4 — the same
//! two numbers, swapped. `SEEK_SET`/`SEEK_CUR`/`SEEK_END` agree (0, 1, 2).

use arcbox_fs::Errno;
use arcbox_fs::abi::Whence;

/// Darwin `SEEK_SET` (`<sys/unistd.h>`).
pub const DARWIN_SEEK_SET: i32 = 0;
/// Darwin `SEEK_CUR` (`<sys/unistd.h>`).
pub const DARWIN_SEEK_CUR: i32 = 1;
/// Darwin `SEEK_END` (`<sys/unistd.h>`).
pub const DARWIN_SEEK_END: i32 = 2;
/// Darwin `SEEK_HOLE` (`<sys/unistd.h>`).
pub const DARWIN_SEEK_HOLE: i32 = 3;
/// Darwin `SEEK_DATA` (`<sys/unistd.h>`).
pub const DARWIN_SEEK_DATA: i32 = 4;

/// The Darwin whence for a Linux whence.
pub const fn to_darwin(whence: Whence) -> i32 {
    match whence {
        Whence::Set => DARWIN_SEEK_SET,
        Whence::Cur => DARWIN_SEEK_CUR,
        Whence::End => DARWIN_SEEK_END,
        Whence::Data => DARWIN_SEEK_DATA,
        Whence::Hole => DARWIN_SEEK_HOLE,
    }
}

/// The Linux whence for a Darwin whence; `EINVAL` for values Linux lacks.
pub const fn from_darwin(whence: i32) -> Result<Whence, Errno> {
    match whence {
        DARWIN_SEEK_SET => Ok(Whence::Set),
        DARWIN_SEEK_CUR => Ok(Whence::Cur),
        DARWIN_SEEK_END => Ok(Whence::End),
        DARWIN_SEEK_DATA => Ok(Whence::Data),
        DARWIN_SEEK_HOLE => Ok(Whence::Hole),
        _ => Err(Errno::EINVAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (Linux wire value per include/uapi/linux/fs.h, Darwin value per <sys/unistd.h>).
    const TABLE: &[(u32, i32)] = &[
        (0, 0), // SEEK_SET
        (1, 1), // SEEK_CUR
        (2, 2), // SEEK_END
        (3, 4), // Linux SEEK_DATA 3 -> Darwin SEEK_DATA 4
        (4, 3), // Linux SEEK_HOLE 4 -> Darwin SEEK_HOLE 3
    ];

    #[test]
    fn every_whence_both_ways() {
        for &(linux, darwin) in TABLE {
            let w = Whence::from_u32(linux).expect("Linux whence");
            assert_eq!(to_darwin(w), darwin, "Linux whence {linux}");
            assert_eq!(from_darwin(darwin), Ok(w), "Darwin whence {darwin}");
        }
        assert_eq!(from_darwin(5), Err(Errno::EINVAL));
        assert_eq!(from_darwin(-1), Err(Errno::EINVAL));
    }

    #[test]
    fn data_and_hole_are_not_swapped() {
        assert_eq!(to_darwin(Whence::Data), DARWIN_SEEK_DATA);
        assert_eq!(to_darwin(Whence::Hole), DARWIN_SEEK_HOLE);
        assert_ne!(to_darwin(Whence::Data), Whence::Data as i32);
        assert_ne!(to_darwin(Whence::Hole), Whence::Hole as i32);
    }
}
