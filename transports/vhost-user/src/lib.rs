//! arcbox-fs-vhost-user: the virtio-fs device as a vhost-user backend, and
//! the `arcbox-virtiofsd` daemon (a drop-in for virtiofsd with QEMU or
//! cloud-hypervisor).
//!
//! - [`memory`]: the guest memory regions the frontend shares (`mmap`'d
//!   memfds) as an `arcbox_fs_virtio::GuestMemory`.
//! - [`backend`]: [`VhostUserFsBackend`], the frontend's vhost-user requests
//!   applied to an `arcbox_fs_virtio::VirtioFsDevice` (whose split queues and
//!   descriptor chains serve the rings), one worker per queue woken by its
//!   kick eventfd and signalling its call eventfd.
//! - [`daemon`]: accepting the frontend's connection and serving it until
//!   it disconnects (rust-vmm's `vhost` crate speaks the socket protocol).
//! - [`args`]: virtiofsd-compatible command-line flags.
//! - [`logger`]: the daemon's stderr logger (`--log-level`).
//!
//! The flags are virtiofsd's (what libvirt passes):
//!
//! ```
//! use arcbox_fs::passthrough::CacheMode;
//! use arcbox_fs_vhost_user::args::Args;
//! use clap::Parser;
//!
//! let args = Args::try_parse_from([
//!     "arcbox-virtiofsd", "--socket-path", "/tmp/vfsd.sock", "--shared-dir", "/srv/share",
//!     "--cache", "always",
//! ])?;
//! assert_eq!(args.cache, CacheMode::Always);
//! assert!(Args::try_parse_from(["arcbox-virtiofsd", "--fd", "3", "--socket-path", "/s"]).is_err());
//! # Ok::<(), clap::Error>(())
//! ```
#![warn(missing_docs)]

pub mod args;
pub mod backend;
pub mod daemon;
pub mod logger;
pub mod memory;

pub use backend::VhostUserFsBackend;
pub use memory::{MappedRegion, MemoryMap, RegionSpec};
