//! arcbox-fs: a `no_std` FUSE / virtio-fs protocol core.
//!
//! A guest kernel sends FUSE requests; a transport (virtio queues, `/dev/fuse`,
//! vhost-user) hands their bytes to a [`FuseDispatcher`] as a
//! [`RequestSource`] and a [`ReplySink`]; the dispatcher parses them
//! ([`request`]), calls a [`FileSystem`], and encodes the reply ([`reply`]).
//!
//! - [`abi`]: the fuse.h kernel ABI (protocol 7.41) as zerocopy structs and bitflags.
//! - [`request`] / [`reply`] / [`dirent`]: checked views and encoders.
//! - [`FuseDispatcher`]: INIT negotiation and routing; allocation-free, lock-free, `Sync`.
//! - [`FileSystem`]: the operations, each defaulting to `ENOSYS`.
//! - [`Name`]: validated path components; [`Errno`]: Linux wire errnos.
//! - with `alloc`: [`memfs::MemFs`], an in-memory filesystem.
//!
//! The core has no clock and no allocator on the request path: time comes in
//! as an [`Instant`], buffers from the transport.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod abi;
pub mod builder;
pub mod dirent;
pub mod dispatch;
pub mod errno;
mod ext;
pub mod fs;
pub mod host;
pub mod io;
#[cfg(feature = "alloc")]
pub mod memfs;
#[cfg(feature = "alloc")]
pub mod memhost;
pub mod name;
pub mod negcache;
#[cfg(feature = "alloc")]
pub mod passthrough;
pub mod reply;
pub mod request;
pub mod secctx;
pub mod stats;
pub mod suppgroups;
pub mod time;
#[cfg(feature = "alloc")]
pub mod xattrmap;

mod sync;

/// The README's Rust blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

pub use dispatch::{DispatcherConfig, FuseDispatcher, Outcome};
pub use errno::Errno;
pub use fs::{
    AttrReply, Context, CreateArgs, Entry, Fh, FileSystem, KernelInit, NodeId, OpenArgs, Opened,
    SecLabel, XattrReply,
};
pub use io::{
    IoBuf, IoBufMut, ReplyData, ReplySink, RequestData, RequestSource, SgList, SgListMut,
};
pub use name::Name;
pub use stats::Stats;
pub use time::{Instant, Timespec};
/// The zerocopy crate the ABI structs derive from: name its traits
/// ([`zerocopy::FromBytes`], [`zerocopy::IntoBytes`]) to read and write them.
pub use zerocopy;
