//! A passthrough filesystem over a [`Host`](crate::host::Host): the logic
//! every host shares (inode and handle tables, caches, ownership rules).

mod config;

pub use config::{CacheMode, FsConfig, PassthroughConfig};
