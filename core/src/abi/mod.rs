//! The FUSE kernel ABI, as `include/uapi/linux/fuse.h` defines it (up to
//! protocol 7.41).
//!
//! Everything here is plain data: `#[repr(C)]` structs that derive zerocopy's
//! traits (so they can be read from and written to unaligned guest buffers
//! without `unsafe`), bitflags for the flag words, and the opcode enum. Values
//! are Linux wire values whatever the host is.

mod flags;
mod opcode;
mod structs;

pub use flags::*;
pub use opcode::*;
pub use structs::*;
/// The zerocopy traits every ABI struct implements, to read them from and
/// write them to wire bytes without naming the zerocopy crate.
pub use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The kernel protocol major version this crate speaks (fuse.h `FUSE_KERNEL_VERSION`).
pub const KERNEL_VERSION: u32 = 7;
/// The highest kernel protocol minor version this crate implements
/// (fuse.h `FUSE_KERNEL_MINOR_VERSION`).
pub const KERNEL_MINOR_VERSION: u32 = 41;
/// The lowest minor version the dispatcher accepts at INIT. 7.12 is the first
/// with the current `fuse_attr`, `fuse_entry_out` and `umask` layouts.
pub const MIN_KERNEL_MINOR_VERSION: u32 = 12;
/// The node id of the root directory (fuse.h `FUSE_ROOT_ID`).
pub const ROOT_ID: u64 = 1;
/// Minimum size of a `/dev/fuse` read buffer (fuse.h `FUSE_MIN_READ_BUFFER`).
pub const MIN_READ_BUFFER: usize = 8192;
/// Default maximum pages per request (fuse.h `FUSE_DEFAULT_MAX_PAGES_PER_REQ`).
pub const DEFAULT_MAX_PAGES_PER_REQ: u16 = 32;
/// Maximum pages per request the kernel accepts with `FUSE_MAX_PAGES` (fs/fuse `FUSE_MAX_MAX_PAGES`).
pub const MAX_MAX_PAGES: u16 = 256;
/// Size of `fuse_init_out` for protocol 7.5 to 7.22 (fuse.h `FUSE_COMPAT_22_INIT_OUT_SIZE`).
pub const COMPAT_22_INIT_OUT_SIZE: usize = 24;
/// Size of `fuse_init_in` before 7.36 (`major`, `minor`, `max_readahead`, `flags`).
pub const COMPAT_INIT_IN_SIZE: usize = 16;
/// Size of `fuse_setxattr_in` without `FUSE_SETXATTR_EXT` (fuse.h `FUSE_COMPAT_SETXATTR_IN_SIZE`).
pub const COMPAT_SETXATTR_IN_SIZE: usize = 8;
/// Size of `fuse_write_in` before 7.9 (fuse.h `FUSE_COMPAT_WRITE_IN_SIZE`).
pub const COMPAT_WRITE_IN_SIZE: usize = 24;
/// Maximum number of iovecs in an ioctl retry (fuse.h `FUSE_IOCTL_MAX_IOV`).
pub const IOCTL_MAX_IOV: usize = 256;
/// Maximum number of security contexts (fuse.h `FUSE_MAX_NR_SECCTX`).
pub const MAX_NR_SECCTX: u32 = 31;
/// Extension type of `fuse_supp_groups` (fuse.h `enum fuse_ext_type`, `FUSE_EXT_GROUPS`).
pub const EXT_GROUPS: u32 = 32;
/// Longest file name the Linux VFS accepts (`NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// Longest path, including its NUL, the Linux VFS accepts (`PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// Largest extended attribute value Linux allows (`XATTR_SIZE_MAX`).
pub const XATTR_SIZE_MAX: usize = 65536;
/// Largest extended attribute name Linux allows, without NUL (`XATTR_NAME_MAX`).
pub const XATTR_NAME_MAX: usize = 255;
/// Largest extended attribute list Linux allows (`XATTR_LIST_MAX`).
pub const XATTR_LIST_MAX: usize = 65536;

/// Rounds `len` up to the 8-byte alignment of directory entries
/// (fuse.h `FUSE_DIRENT_ALIGN`). Saturates instead of overflowing.
pub const fn dirent_align(len: usize) -> usize {
    match len.checked_add(7) {
        Some(v) => v & !7,
        None => usize::MAX & !7,
    }
}
