//! File types, mode bits, directory-entry types and device numbers.
//!
//! Darwin's `S_IF*` and permission bits (`<sys/stat.h>`) and `DT_*` values
//! (`<sys/dirent.h>`) are numerically Linux's, but Darwin adds a whiteout
//! type (`S_IFWHT`, `DT_WHT`) Linux never shows to a FUSE client, encodes
//! device numbers differently, and `getattrlist(2)` reports types as
//! `enum vtype` (`<sys/vnode.h>`). Everything goes through these functions so
//! that no value reaches the guest unchecked.

use arcbox_fs::Errno;
use arcbox_fs::abi::mode as linux;

/// Darwin `S_IFMT` (`<sys/stat.h>`).
pub const DARWIN_S_IFMT: u32 = 0o170000;
/// Darwin `S_IFIFO` (`<sys/stat.h>`).
pub const DARWIN_S_IFIFO: u32 = 0o010000;
/// Darwin `S_IFCHR` (`<sys/stat.h>`).
pub const DARWIN_S_IFCHR: u32 = 0o020000;
/// Darwin `S_IFDIR` (`<sys/stat.h>`).
pub const DARWIN_S_IFDIR: u32 = 0o040000;
/// Darwin `S_IFBLK` (`<sys/stat.h>`).
pub const DARWIN_S_IFBLK: u32 = 0o060000;
/// Darwin `S_IFREG` (`<sys/stat.h>`).
pub const DARWIN_S_IFREG: u32 = 0o100000;
/// Darwin `S_IFLNK` (`<sys/stat.h>`).
pub const DARWIN_S_IFLNK: u32 = 0o120000;
/// Darwin `S_IFSOCK` (`<sys/stat.h>`).
pub const DARWIN_S_IFSOCK: u32 = 0o140000;
/// Darwin `S_IFWHT`, a union-mount whiteout (`<sys/stat.h>`); no Linux equivalent.
pub const DARWIN_S_IFWHT: u32 = 0o160000;
/// Darwin `ALLPERMS`-with-special-bits mask `07777` (`<sys/stat.h>`).
pub const DARWIN_S_IALLUGO: u32 = 0o7777;

/// (Darwin `S_IF*`, Linux `S_IF*`) for every type both systems have.
pub const TYPES: &[(u32, u32)] = &[
    (DARWIN_S_IFIFO, linux::S_IFIFO),
    (DARWIN_S_IFCHR, linux::S_IFCHR),
    (DARWIN_S_IFDIR, linux::S_IFDIR),
    (DARWIN_S_IFBLK, linux::S_IFBLK),
    (DARWIN_S_IFREG, linux::S_IFREG),
    (DARWIN_S_IFLNK, linux::S_IFLNK),
    (DARWIN_S_IFSOCK, linux::S_IFSOCK),
];

/// A Darwin `st_mode` as a Linux one; `None` for whiteouts and unknown types
/// (the entry is hidden from the guest).
pub fn mode_from_darwin(mode: u32) -> Option<u32> {
    let typ = mode & DARWIN_S_IFMT;
    let lt = TYPES.iter().find(|&&(d, _)| d == typ).map(|&(_, l)| l)?;
    Some(lt | (mode & DARWIN_S_IALLUGO))
}

/// A Linux `st_mode` (from MKNOD or CREATE) as a Darwin one; `EINVAL` for an
/// unknown type. A mode without type bits stays without type bits.
pub fn mode_to_darwin(mode: u32) -> Result<u32, Errno> {
    let typ = mode & linux::S_IFMT;
    let perm = mode & linux::S_IALLUGO;
    if typ == 0 {
        return Ok(perm);
    }
    let dt = TYPES
        .iter()
        .find(|&&(_, l)| l == typ)
        .map(|&(d, _)| d)
        .ok_or(Errno::EINVAL)?;
    Ok(dt | perm)
}

/// Darwin `d_type` values (`<sys/dirent.h>`); Linux's are the same numbers
/// (include/linux/fs_types.h), except that a FUSE client never sees `DT_WHT`.
pub mod dt {
    /// `DT_UNKNOWN`.
    pub const UNKNOWN: u8 = 0;
    /// `DT_FIFO`.
    pub const FIFO: u8 = 1;
    /// `DT_CHR`.
    pub const CHR: u8 = 2;
    /// `DT_DIR`.
    pub const DIR: u8 = 4;
    /// `DT_BLK`.
    pub const BLK: u8 = 6;
    /// `DT_REG`.
    pub const REG: u8 = 8;
    /// `DT_LNK`.
    pub const LNK: u8 = 10;
    /// `DT_SOCK`.
    pub const SOCK: u8 = 12;
    /// `DT_WHT`.
    pub const WHT: u8 = 14;
}

/// A Darwin `d_type` as the Linux `DT_*` FUSE dirents carry; `None` for
/// whiteouts (the entry is skipped).
pub fn dtype_from_darwin(d_type: u8) -> Option<u32> {
    match d_type {
        dt::FIFO | dt::CHR | dt::DIR | dt::BLK | dt::REG | dt::LNK | dt::SOCK => {
            Some(u32::from(d_type))
        }
        dt::WHT => None,
        _ => Some(0),
    }
}

/// Darwin `enum vtype` (`<sys/vnode.h>`), as `ATTR_CMN_OBJTYPE` reports it.
pub mod vtype {
    /// `VNON`: no type.
    pub const VNON: u32 = 0;
    /// `VREG`.
    pub const VREG: u32 = 1;
    /// `VDIR`.
    pub const VDIR: u32 = 2;
    /// `VBLK`.
    pub const VBLK: u32 = 3;
    /// `VCHR`.
    pub const VCHR: u32 = 4;
    /// `VLNK`.
    pub const VLNK: u32 = 5;
    /// `VSOCK`.
    pub const VSOCK: u32 = 6;
    /// `VFIFO`.
    pub const VFIFO: u32 = 7;
    /// `VBAD`: dead vnode.
    pub const VBAD: u32 = 8;
    /// `VSTR`.
    pub const VSTR: u32 = 9;
    /// `VCPLX`.
    pub const VCPLX: u32 = 10;
}

/// A `vtype` as the Linux `S_IF*` type bits; `None` for types a guest cannot see.
pub const fn vtype_to_linux_ifmt(v: u32) -> Option<u32> {
    match v {
        vtype::VREG => Some(linux::S_IFREG),
        vtype::VDIR => Some(linux::S_IFDIR),
        vtype::VBLK => Some(linux::S_IFBLK),
        vtype::VCHR => Some(linux::S_IFCHR),
        vtype::VLNK => Some(linux::S_IFLNK),
        vtype::VSOCK => Some(linux::S_IFSOCK),
        vtype::VFIFO => Some(linux::S_IFIFO),
        _ => None,
    }
}

/// A Darwin `dev_t` (`<sys/types.h>`: 8-bit major in bits 24–31, 24-bit
/// minor) as Linux's `new_encode_dev` (12-bit major, 20-bit minor).
/// `EOVERFLOW` for a minor Linux cannot hold.
pub fn rdev_from_darwin(dev: i32) -> Result<u32, Errno> {
    let d = dev as u32;
    let major = (d >> 24) & 0xff;
    let minor = d & 0x00ff_ffff;
    linux_encode_dev(major, minor)
}

/// A Linux `new_encode_dev` device number as a Darwin `dev_t`; `EINVAL`
/// where the major or minor does not fit Darwin's 8/24 bits.
pub fn rdev_to_darwin(rdev: u32) -> Result<i32, Errno> {
    let major = (rdev & 0xfff00) >> 8;
    let minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
    if major > 0xff || minor > 0x00ff_ffff {
        return Err(Errno::EINVAL);
    }
    Ok(((major << 24) | minor) as i32)
}

/// Linux `new_encode_dev(MKDEV(major, minor))` (include/linux/kdev_t.h).
pub fn linux_encode_dev(major: u32, minor: u32) -> Result<u32, Errno> {
    if major > 0xfff || minor > 0xf_ffff {
        return Err(Errno::EOVERFLOW);
    }
    Ok((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_both_ways() {
        // Darwin <sys/stat.h> value, Linux include/uapi/linux/stat.h value.
        let table: &[(u32, u32, &str)] = &[
            (0o010000, 0o010000, "S_IFIFO"),
            (0o020000, 0o020000, "S_IFCHR"),
            (0o040000, 0o040000, "S_IFDIR"),
            (0o060000, 0o060000, "S_IFBLK"),
            (0o100000, 0o100000, "S_IFREG"),
            (0o120000, 0o120000, "S_IFLNK"),
            (0o140000, 0o140000, "S_IFSOCK"),
        ];
        for &(d, l, name) in table {
            assert_eq!(mode_from_darwin(d | 0o7755), Some(l | 0o7755), "{name}");
            assert_eq!(mode_to_darwin(l | 0o644), Ok(d | 0o644), "{name}");
        }
        assert_eq!(mode_from_darwin(DARWIN_S_IFWHT | 0o644), None);
        assert_eq!(mode_from_darwin(0o644), None);
        assert_eq!(mode_to_darwin(0o160000 | 0o644), Err(Errno::EINVAL));
        assert_eq!(mode_to_darwin(0o4755), Ok(0o4755));
    }

    #[test]
    fn permission_bits() {
        // S_ISUID 04000, S_ISGID 02000, S_ISVTX 01000 agree (<sys/stat.h>).
        assert_eq!(
            mode_from_darwin(DARWIN_S_IFREG | 0o4000),
            Some(linux::S_IFREG | linux::S_ISUID)
        );
        assert_eq!(
            mode_from_darwin(DARWIN_S_IFDIR | 0o2000),
            Some(linux::S_IFDIR | linux::S_ISGID)
        );
        assert_eq!(
            mode_from_darwin(DARWIN_S_IFDIR | 0o1000),
            Some(linux::S_IFDIR | linux::S_ISVTX)
        );
    }

    #[test]
    fn dtypes() {
        for (d, l) in [
            (1u8, 1u32),
            (2, 2),
            (4, 4),
            (6, 6),
            (8, 8),
            (10, 10),
            (12, 12),
            (0, 0),
            (99, 0),
        ] {
            assert_eq!(dtype_from_darwin(d), Some(l), "{d}");
        }
        assert_eq!(dtype_from_darwin(dt::WHT), None);
        // DT_* is IFTODT of the mode on both systems.
        for &(_, l) in TYPES {
            let d = dtype_from_darwin(u8::try_from(linux::dtype(l)).expect("dt")).expect("dtype");
            assert_eq!(d, linux::dtype(l));
        }
    }

    #[test]
    fn vtypes() {
        let table = [
            (vtype::VREG, Some(linux::S_IFREG)),
            (vtype::VDIR, Some(linux::S_IFDIR)),
            (vtype::VBLK, Some(linux::S_IFBLK)),
            (vtype::VCHR, Some(linux::S_IFCHR)),
            (vtype::VLNK, Some(linux::S_IFLNK)),
            (vtype::VSOCK, Some(linux::S_IFSOCK)),
            (vtype::VFIFO, Some(linux::S_IFIFO)),
            (vtype::VNON, None),
            (vtype::VBAD, None),
            (vtype::VSTR, None),
            (vtype::VCPLX, None),
            (11, None),
        ];
        for (v, l) in table {
            assert_eq!(vtype_to_linux_ifmt(v), l, "vtype {v}");
        }
    }

    #[test]
    fn device_numbers() {
        // Major 3, minor 2 (macOS /dev/null): Darwin 0x03000002, Linux 0x302.
        assert_eq!(rdev_from_darwin((3 << 24) | 2), Ok((3 << 8) | 2));
        assert_eq!(rdev_to_darwin((3 << 8) | 2), Ok((3 << 24) | 2));
        // Large minors use the split encoding.
        let l = linux_encode_dev(8, 0x12345).expect("encode");
        assert_eq!(l, 0x45 | (8 << 8) | (0x12300 << 12));
        assert_eq!(rdev_to_darwin(l), Ok((8 << 24) | 0x12345));
        assert_eq!(rdev_from_darwin((8 << 24) | 0x12345), Ok(l));
        // Darwin minors above 20 bits do not fit Linux.
        assert_eq!(rdev_from_darwin(0x00ff_ffff), Err(Errno::EOVERFLOW));
        // Linux majors above 255 do not fit Darwin.
        assert_eq!(
            rdev_to_darwin(linux_encode_dev(256, 0).expect("encode")),
            Err(Errno::EINVAL)
        );
        // Negative Darwin dev_t (major >= 128) decodes without panicking.
        assert_eq!(rdev_from_darwin(i32::MIN), Ok(0x80 << 8));
        for major in [0u32, 1, 127, 255] {
            for minor in [0u32, 1, 255, 256, 0xf_ffff] {
                let l = linux_encode_dev(major, minor).expect("encode");
                let d = rdev_to_darwin(l).expect("to darwin");
                assert_eq!(rdev_from_darwin(d), Ok(l), "{major}:{minor}");
            }
        }
    }
}
