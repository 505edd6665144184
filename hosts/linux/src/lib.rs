//! Linux host for arcbox-fs: [`LinuxHost`] implements
//! [`arcbox_fs::host::Host`] over rustix (and `libc` for the few calls
//! rustix lacks, in one file of thin wrappers).
//!
//! How it keeps the guest inside the shared directory:
//! - An [`Inode`] is an `O_PATH` reference (a kernel file handle plus a
//!   bounded cache of `O_PATH` descriptors where the filesystem supports
//!   handles, else an `O_PATH | O_NOFOLLOW` descriptor), reachable only by
//!   lookups from the root. There is no path anywhere: guest names are one
//!   validated component ([`arcbox_fs::Name`]) resolved with `openat2`
//!   `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS`
//!   (`openat` + `O_NOFOLLOW` where `openat2` is missing).
//! - No symlink is ever followed: status, ownership and times act on the
//!   descriptor itself (`AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW`); `chmod` of a
//!   symlink is `EOPNOTSUPP`; I/O opens go through the inode (file handle or
//!   `/proc/self/fd` magic link) after checking its type, and only regular
//!   files and directories are ever opened (device nodes, FIFOs and sockets:
//!   `EACCES`).
//! - A hard link can only be made to an [`Inode`], which only a lookup inside
//!   the share produces: linking a file outside the share is impossible
//!   through the API.
//! - Symlink targets are stored verbatim and never resolved by the host.
//!
//! Scale: the open-file limit is raised to its hard limit; inodes held by
//! file handle keep no descriptor, and cached descriptors are closed under
//! `EMFILE` / `ENFILE` pressure instead of failing.
//!
//! Credentials: objects are created under the caller's filesystem uid and
//! gid (per thread, restored after the call), so ownership, set-group-id
//! directories and permission checks are the kernel's. Construction sets
//! the process umask to 0: the passthrough applies the guest's umask.
//!
//! Requirements: `/proc` mounted (procfs), Linux 5.6+ for `openat2` (older
//! kernels fall back), root or `CAP_DAC_READ_SEARCH` for file handles (else
//! descriptors are kept), root or `CAP_SETUID`/`CAP_SETGID` for per-request
//! credentials (else objects are owned by the server's user).
//!
//! Serving a directory (INIT, then LOOKUP of a file in it):
//!
//! ```
//! use arcbox_fs::abi::{EntryOut, InitFlags, OutHeader, ROOT_ID};
//! use arcbox_fs::builder::RequestBuilder;
//! use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
//! use arcbox_fs::zerocopy::FromBytes;
//! use arcbox_fs::{FuseDispatcher, Instant, Outcome};
//! use arcbox_fs_linux::LinuxHost;
//!
//! let dir = std::env::temp_dir().join(format!("arcbox-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! std::fs::write(dir.join("hello.txt"), b"hi")?;
//! let fs = PassthroughFs::new(LinuxHost::new(&dir)?, PassthroughConfig::default())?;
//! let dispatcher = FuseDispatcher::new(fs);
//! let (mut req, mut reply) = ([0u8; 256], [0u8; 4096]);
//! let init = RequestBuilder::init(&mut req, 1, 41, InitFlags::INIT_EXT)?;
//! assert!(matches!(dispatcher.handle(Instant::ZERO, init, &mut reply[..]), Outcome::Reply(_)));
//! let lookup = RequestBuilder::lookup(&mut req, 2, ROOT_ID, b"hello.txt")?;
//! let Outcome::Reply(n) = dispatcher.handle(Instant::ZERO, lookup, &mut reply[..]) else {
//!     panic!("LOOKUP takes a reply");
//! };
//! let (header, body) = OutHeader::read_from_prefix(&reply[..n]).unwrap();
//! assert_eq!(header.error, 0);
//! assert_eq!(EntryOut::read_from_bytes(body).unwrap().attr.size, 2);
//! std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod budget;
mod clock;
mod creds;
mod dir;
mod errno;
mod fanotify;
mod fdcache;
mod file;
mod flags;
mod host;
mod inode;
mod killpriv;
mod limits;
mod lock;
mod proc;
mod rlimit;
mod shared;
mod sigdump;
mod stat;
mod sys;
mod umask;
mod vectored;
mod watch;
mod watchmode;

pub use clock::{instance_generation, monotonic_now};
pub use dir::Dir;
pub use file::File;
pub use host::{FanotifyError, LinuxHost, LinuxHostConfig};
pub use inode::{Export, Inode};
pub use rlimit::raise_nofile_limit;
pub use sigdump::{SIGUSR1, SignalDump, dump_on_signal};
pub use watch::DEFAULT_WATCH_CAP;
pub use watchmode::WatchMode;
