//! `/dev/fuse` transport for arcbox-fs: the Linux kernel's own FUSE client
//! talks to a [`arcbox_fs::FuseDispatcher`] through a character device.
//!
//! - [`mount()`]: `mount(2)` as root (`fd=`, `rootmode=`, `user_id=`,
//!   `group_id=`, `allow_other`, `default_permissions`), `fusermount3`
//!   otherwise; [`Mount`] unmounts lazily or aborts the connection.
//! - [`FuseDev`]: the device, cloned per worker (`FUSE_DEV_IOC_CLONE`).
//! - [`Session`]: N workers, each with its own descriptor and buffers,
//!   replies with one `writev(2)`, interrupts that wake blocked workers.
//!
//! The `arcbox-fuse` binary mounts a host directory through
//! `PassthroughFs<LinuxHost>` with this crate.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod dev;
mod interrupt;
pub mod mount;
pub mod notify;
pub mod options;
pub mod session;

pub use dev::FuseDev;
pub use mount::{Mount, MountError, MountMethod, MountOptions, mount};
pub use notify::Notifier;
pub use session::{RunningSession, Session, SessionConfig, StaleAttrsHook, Stats, Stopper};
