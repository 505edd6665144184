//! `/dev/fuse` transport for arcbox-fs: the Linux kernel's own FUSE client
//! talks to a [`arcbox_fs::FuseDispatcher`] through a character device.
//!
//! - [`mount()`]: `mount(2)` as root (`fd=`, `rootmode=`, `user_id=`,
//!   `group_id=`, `allow_other`, `default_permissions`), `fusermount3`
//!   otherwise; [`Mount`] unmounts lazily or aborts the connection.
//! - [`FuseDev`]: the device, cloned per worker (`FUSE_DEV_IOC_CLONE`).
//! - [`Session`]: N workers, each with its own descriptor and buffers,
//!   replies with one `writev(2)`, interrupts that wake blocked workers.
//! - [`uring`]: FUSE-over-io_uring, one ring queue per CPU, served by the
//!   same dispatcher (`SessionConfig::io_uring`).
//!
//! The `arcbox-fuse` binary mounts a host directory through
//! `PassthroughFs<LinuxHost>` with this crate.
//!
//! Mounting a host directory (as root; `no_run`: a doctest must not mount):
//!
//! ```no_run
//! use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
//! use arcbox_fs_fusedev::{MountOptions, Session, SessionConfig, mount};
//! use arcbox_fs_linux::LinuxHost;
//! use std::path::Path;
//!
//! let fs = PassthroughFs::new(LinuxHost::new("/srv/share")?, PassthroughConfig::default())?;
//! let (dev, m) = mount(Path::new("/mnt/share"), &MountOptions::default())?;
//! Session::new(fs, dev, Some(m), SessionConfig::default())?.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod backing;
pub mod dev;
mod interrupt;
pub mod mount;
pub mod notify;
pub mod options;
pub mod session;
pub mod uring;

pub use dev::FuseDev;
pub use mount::{Mount, MountError, MountMethod, MountOptions, mount};
pub use notify::Notifier;
pub use session::{RunningSession, Session, SessionConfig, StaleAttrsHook, Stats, Stopper};
pub use uring::{IoUringMode, IoUringState};
