//! arcbox-fs-daemon: the process hardening shared by the arcbox-fs daemons
//! (`arcbox-virtiofsd`, `arcbox-fuse`), modelled on virtiofsd's.
//!
//! - [`sandbox`]: `--sandbox namespace|chroot|none`: new user (unprivileged
//!   only), mount, PID and network namespaces and `pivot_root(2)` into the
//!   shared directory, or `chroot(2)`.
//! - [`capabilities`]: the capability set a root daemon keeps, and
//!   `--modcaps=+cap:-cap`.
//! - [`rlimit`]: `--rlimit-nofile` (default the lower of 1,000,000 and
//!   `fs.nr_open`).
//! - [`seccomp`]: `--seccomp kill|log|trap|none`, an allow-list
//!   filter built with `seccompiler`.
//! - [`syslog`]: a `log` backend writing to syslog(3) (`--syslog`).
//!
//! Linux only; the in-process library (`arcbox-fs`) stays sandbox-free.
#![warn(missing_docs)]

pub mod capabilities;
pub mod rlimit;
pub mod sandbox;
pub mod seccomp;
pub mod syslog;
