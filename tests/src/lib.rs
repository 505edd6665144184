//! End-to-end tests of arcbox-fs against real clients.
//!
//! - [`fuse`]: raw FUSE request builders and a typed in-process session
//!   over a `FuseDispatcher`, shared with `core/tests/passthrough_memhost.rs`.

pub mod fuse;
