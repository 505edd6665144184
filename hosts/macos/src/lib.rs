//! macOS host for arcbox-fs.
//!
//! ArcBox runs Linux guests on macOS: the guest speaks Linux values on the
//! FUSE wire (open flags, errnos, whence, mode bits, xattr and rename flags,
//! fallocate modes), the host is Darwin. This crate is the thin layer between
//! them:
//!
//! - [`translate`]: pure, table-driven translation between Linux wire values
//!   and Darwin's, with explicit numeric constants from the Darwin headers. It
//!   does not use the host's libc, so it compiles and is tested on Linux.
//! - `host` (macOS only): `MacosHost`, an implementation of
//!   [`arcbox_fs::host::Host`] over rustix (libc where rustix lacks the call):
//!   `/.vol/<dev>/<ino>` handles with a capped directory-fd cache instead of
//!   Linux's `O_PATH`, `getattrlistbulk` directory streams with stable
//!   cookies, `renameatx_np`, `F_PREALLOCATE` / `F_PUNCHHOLE`, `clonefileat`,
//!   case-insensitivity detection and kqueue change watching.
//!
//! All passthrough logic (inode and handle tables, caches, permission rules)
//! lives in `arcbox_fs::passthrough::PassthroughFs<H: Host>`.
//!
//! The translation tables work on any host, e.g. Darwin's `ENOTEMPTY` (66)
//! must reach a Linux guest as Linux's (39), not as `EREMOTE` (66 on Linux):
//!
//! ```
//! use arcbox_fs::Errno;
//! use arcbox_fs_macos::translate::errno;
//!
//! assert_eq!(errno::from_darwin(66), Errno::ENOTEMPTY);
//! assert_eq!(errno::to_darwin(Errno::ENOTEMPTY), Some(66));
//! ```
#![warn(missing_docs)]

pub mod clock_cache;
pub mod translate;

#[cfg(target_os = "macos")]
mod host;

#[cfg(target_os = "macos")]
pub use host::{MacosConfig, MacosDir, MacosFile, MacosHost, MacosInode};
