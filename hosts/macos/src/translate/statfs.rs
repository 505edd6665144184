//! `statfs(2)`: Darwin's `struct statfs` (`<sys/mount.h>`) as Linux's
//! `struct kstatfs` (FUSE `fuse_kstatfs`).
//!
//! The block-size fields mean different things: Darwin `f_bsize` is the
//! fundamental block size (the unit of `f_blocks`) and `f_iosize` the
//! optimal transfer size; Linux `f_frsize` is the fundamental size (the unit
//! of `f_blocks`) and `f_bsize` the optimal transfer size.

use arcbox_fs::abi::Kstatfs;

/// Darwin `MNT_RDONLY` (`<sys/mount.h>`).
pub const DARWIN_MNT_RDONLY: u32 = 0x0000_0001;
/// Darwin `MNT_DOVOLFS`: the volume supports `/.vol/<fsid>/<fileid>` paths (`<sys/mount.h>`).
pub const DARWIN_MNT_DOVOLFS: u32 = 0x0000_8000;

/// The fields of a Darwin `struct statfs` that Linux reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DarwinStatfs {
    /// `f_bsize`: fundamental block size.
    pub bsize: u32,
    /// `f_iosize`: optimal transfer size.
    pub iosize: i32,
    /// `f_blocks`, in `f_bsize` units.
    pub blocks: u64,
    /// `f_bfree`.
    pub bfree: u64,
    /// `f_bavail`.
    pub bavail: u64,
    /// `f_files`.
    pub files: u64,
    /// `f_ffree`.
    pub ffree: u64,
}

/// The Linux `kstatfs` for a Darwin `statfs`; `name_max` is the volume's
/// `pathconf(_PC_NAME_MAX)` (capped at Linux's 255).
pub fn to_linux(s: &DarwinStatfs, name_max: u64) -> Kstatfs {
    let frsize = s.bsize.max(1);
    let bsize = match u32::try_from(s.iosize) {
        Ok(v) if v > 0 => v,
        _ => frsize,
    };
    let namelen = u32::try_from(name_max.min(arcbox_fs::abi::NAME_MAX as u64)).unwrap_or(255);
    Kstatfs {
        blocks: s.blocks,
        bfree: s.bfree.min(s.blocks),
        bavail: s.bavail.min(s.blocks),
        files: s.files,
        ffree: s.ffree.min(s.files),
        bsize,
        namelen,
        frsize,
        padding: 0,
        spare: [0; 6],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apfs_like() {
        let d = DarwinStatfs {
            bsize: 4096,
            iosize: 1 << 20,
            blocks: 1000,
            bfree: 600,
            bavail: 500,
            files: 9000,
            ffree: 8000,
        };
        let k = to_linux(&d, 255);
        assert_eq!((k.frsize, k.bsize), (4096, 1 << 20));
        assert_eq!(
            (k.blocks, k.bfree, k.bavail, k.files, k.ffree),
            (1000, 600, 500, 9000, 8000)
        );
        assert_eq!(k.namelen, 255);
    }

    #[test]
    fn hostile_values() {
        let d = DarwinStatfs {
            bsize: 0,
            iosize: -5,
            blocks: 10,
            bfree: 20,
            bavail: 30,
            files: 1,
            ffree: 2,
        };
        let k = to_linux(&d, u64::MAX);
        assert_eq!((k.frsize, k.bsize), (1, 1));
        assert_eq!((k.bfree, k.bavail, k.ffree), (10, 10, 1));
        assert_eq!(k.namelen, 255);
        assert_eq!(to_linux(&d, 100).namelen, 100);
    }
}
