//! `renameat2(2)` flags to Darwin `renameatx_np(2)` flags and back.
//!
//! Darwin (`<sys/stdio.h>`): `RENAME_SECLUDE` 0x1, `RENAME_SWAP` 0x2,
//! `RENAME_EXCL` 0x4, `RENAME_RESERVED1` 0x8, `RENAME_NOFOLLOW_ANY` 0x10.
//! Linux (include/uapi/linux/fs.h): `RENAME_NOREPLACE` 1, `RENAME_EXCHANGE`
//! 2, `RENAME_WHITEOUT` 4. Linux `RENAME_NOREPLACE` has Darwin
//! `RENAME_SECLUDE`'s value, and Linux `RENAME_WHITEOUT` Darwin `RENAME_EXCL`'s.

use arcbox_fs::Errno;
use arcbox_fs::abi::RenameFlags;

/// Darwin `RENAME_SECLUDE` (`<sys/stdio.h>`).
pub const DARWIN_RENAME_SECLUDE: u32 = 0x0000_0001;
/// Darwin `RENAME_SWAP` (`<sys/stdio.h>`).
pub const DARWIN_RENAME_SWAP: u32 = 0x0000_0002;
/// Darwin `RENAME_EXCL` (`<sys/stdio.h>`).
pub const DARWIN_RENAME_EXCL: u32 = 0x0000_0004;
/// Darwin `RENAME_RESERVED1` (`<sys/stdio.h>`).
pub const DARWIN_RENAME_RESERVED1: u32 = 0x0000_0008;
/// Darwin `RENAME_NOFOLLOW_ANY` (`<sys/stdio.h>`).
pub const DARWIN_RENAME_NOFOLLOW_ANY: u32 = 0x0000_0010;

/// Darwin `renameatx_np` flags for Linux rename flags.
///
/// `RENAME_NOREPLACE` → `RENAME_EXCL`, `RENAME_EXCHANGE` → `RENAME_SWAP`.
/// `EINVAL` for `RENAME_WHITEOUT` (Darwin has no whiteouts a guest could
/// use), for `NOREPLACE | EXCHANGE` together (as Linux) and for unknown bits.
pub fn to_darwin(flags: RenameFlags) -> Result<u32, Errno> {
    if flags.bits() & !(RenameFlags::NOREPLACE | RenameFlags::EXCHANGE).bits() != 0 {
        return Err(Errno::EINVAL);
    }
    if flags.contains(RenameFlags::NOREPLACE | RenameFlags::EXCHANGE) {
        return Err(Errno::EINVAL);
    }
    let mut d = 0;
    if flags.contains(RenameFlags::NOREPLACE) {
        d |= DARWIN_RENAME_EXCL;
    }
    if flags.contains(RenameFlags::EXCHANGE) {
        d |= DARWIN_RENAME_SWAP;
    }
    Ok(d)
}

/// Linux rename flags for Darwin `renameatx_np` flags; `EINVAL` for Darwin
/// flags Linux cannot express (`RENAME_SECLUDE`, `RENAME_NOFOLLOW_ANY`, ...).
pub fn from_darwin(darwin: u32) -> Result<RenameFlags, Errno> {
    if darwin & !(DARWIN_RENAME_EXCL | DARWIN_RENAME_SWAP) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut f = RenameFlags::empty();
    if darwin & DARWIN_RENAME_EXCL != 0 {
        f |= RenameFlags::NOREPLACE;
    }
    if darwin & DARWIN_RENAME_SWAP != 0 {
        f |= RenameFlags::EXCHANGE;
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        // (Linux include/uapi/linux/fs.h value, Darwin <sys/stdio.h> value).
        let table: &[(u32, Result<u32, Errno>)] = &[
            (0, Ok(0)),
            (1, Ok(0x4)), // RENAME_NOREPLACE -> RENAME_EXCL
            (2, Ok(0x2)), // RENAME_EXCHANGE -> RENAME_SWAP
            (3, Err(Errno::EINVAL)),
            (4, Err(Errno::EINVAL)), // RENAME_WHITEOUT
            (8, Err(Errno::EINVAL)),
            (0x8000_0000, Err(Errno::EINVAL)),
        ];
        for &(l, d) in table {
            assert_eq!(to_darwin(RenameFlags::from_bits_retain(l)), d, "{l:#x}");
            if let Ok(d) = d {
                assert_eq!(from_darwin(d), Ok(RenameFlags::from_bits_retain(l)));
            }
        }
        for d in [
            DARWIN_RENAME_SECLUDE,
            DARWIN_RENAME_RESERVED1,
            DARWIN_RENAME_NOFOLLOW_ANY,
        ] {
            assert_eq!(from_darwin(d), Err(Errno::EINVAL));
        }
    }

    #[test]
    fn noreplace_is_not_seclude() {
        assert_eq!(
            to_darwin(RenameFlags::NOREPLACE).map(|d| d & DARWIN_RENAME_SECLUDE),
            Ok(0)
        );
    }
}
