//! Passthrough configuration: cache modes and timeouts (modelled on
//! virtiofsd's `--cache` modes), and the embedder-facing [`FsConfig`].

use super::ownership::Ownership;
use crate::abi::GuestArch;
use alloc::string::String;
use core::time::Duration;

/// How much the guest kernel may cache (virtiofsd's `--cache`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CacheMode {
    /// No caching: entry and attribute timeouts 0, `FOPEN_DIRECT_IO` on every
    /// open. Every access reaches the server.
    Never,
    /// Metadata is cached for the timeout; file data is not kept across opens.
    Metadata,
    /// Metadata cached for the timeout; file data kept while unchanged
    /// (`FUSE_AUTO_INVAL_DATA`). The default.
    #[default]
    Auto,
    /// Everything cached for long periods (`FOPEN_KEEP_CACHE`,
    /// `FOPEN_CACHE_DIR`): only for shares nobody else modifies.
    Always,
}

impl CacheMode {
    /// Parses `never`, `metadata`, `auto` or `always` (also virtiofsd's `none`).
    pub fn parse(s: &str) -> Option<CacheMode> {
        match s {
            "never" | "none" => Some(CacheMode::Never),
            "metadata" => Some(CacheMode::Metadata),
            "auto" => Some(CacheMode::Auto),
            "always" => Some(CacheMode::Always),
            _ => None,
        }
    }

    /// The name `parse` accepts.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheMode::Never => "never",
            CacheMode::Metadata => "metadata",
            CacheMode::Auto => "auto",
            CacheMode::Always => "always",
        }
    }
}

/// Default capacity of the server-side negative cache: 128 Ki names
/// (~12 MiB). One `npm install` or `tsc` run probes tens of thousands of
/// distinct missing names (`node_modules/*/package.json`, `.d.ts`
/// candidates, `.git` lookups up the tree); the cache must hold a whole
/// pass of them or a repeated pass misses every time (a cyclic scan larger
/// than a set evicts each name before it is asked again). With 8-way sets a
/// 50,000-name pass needs ~2.6× that many slots for ~99 % of the names to
/// survive set conflicts (Poisson load); 128 Ki is the next power of two.
/// Measured: `tests/tests/negcache_storm.rs`.
pub const DEFAULT_NEGATIVE_CACHE_CAPACITY: usize = 128 * 1024;

/// Default capacity of the table of forgotten nodes kept for export support
/// ([`PassthroughConfig::export_capacity`]): 32 Ki nodes, about 10 MiB
/// when full with Linux ext4 file handles (~300 bytes a node, measured as
/// the daemon's RSS growth over 32 Ki forgotten files, against
/// `--export-support off`). Beyond it the node forgotten longest ago is
/// dropped and a guest file handle for it is stale.
pub const DEFAULT_EXPORT_CAPACITY: usize = 32 * 1024;

/// Tuning of [`crate::passthrough::PassthroughFs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassthroughConfig {
    /// Cache mode.
    pub cache: CacheMode,
    /// How long the guest may cache a name (0 with `CacheMode::Never`).
    pub entry_timeout: Duration,
    /// How long the guest may cache attributes (0 with `CacheMode::Never`).
    pub attr_timeout: Duration,
    /// How long the guest may cache a negative lookup (nodeid 0 reply); 0
    /// answers `ENOENT` instead. Ignored with `CacheMode::Never`.
    pub negative_timeout: Duration,
    /// Server-side negative cache: repeated misses never reach the host.
    pub negative_cache: bool,
    /// Names the server-side negative cache holds (allocated once, at
    /// construction, ~96 bytes a name; rounded up to a power of two of
    /// 8-way sets). Default [`DEFAULT_NEGATIVE_CACHE_CAPACITY`].
    pub negative_cache_capacity: usize,
    /// Let the guest cache negative lookups (nodeid-0 entries for
    /// `negative_timeout`). `false` answers `ENOENT`, as on a
    /// case-insensitive host, where the server-side cache is the only
    /// defence against repeated misses.
    pub guest_negative_entries: bool,
    /// Let the guest cache writes (`FUSE_WRITEBACK_CACHE`).
    pub writeback_cache: bool,
    /// Serve extended attributes (else `ENOSYS` / `EOPNOTSUPP`).
    pub xattr: bool,
    /// Offer READDIRPLUS.
    pub readdirplus: bool,
    /// Mark mount points inside the share as submounts (`FUSE_SUBMOUNTS`).
    pub announce_submounts: bool,
    /// Clear suid/sgid/capabilities on write, chown and truncate as the
    /// kernel would (`FUSE_HANDLE_KILLPRIV_V2`).
    pub killpriv_v2: bool,
    /// POSIX ACLs (`FUSE_POSIX_ACL` + `FUSE_DONT_MASK`) where the host
    /// stores them and `xattr` is on: default ACLs decide the mode of new
    /// objects. Implies `default_permissions` in the guest kernel.
    pub posix_acl: bool,
    /// Security labels (`FUSE_SECURITY_CTX`, virtiofsd's
    /// `--security-label`): a guest LSM's label for a new object is set as
    /// its extended attribute (through the `--xattrmap` mapping) before the
    /// create is answered; a label the host refuses fails the create, which
    /// is then undone. Off by default, as in virtiofsd.
    pub security_label: bool,
    /// Export support (`FUSE_EXPORT_SUPPORT`): guest file handles
    /// (`name_to_handle_at(2)`, NFS re-export) stay valid after the guest
    /// drops its inode. On where the host can reopen objects
    /// ([`crate::host::Host::can_export`]); off, or without that,
    /// `FUSE_NO_EXPORT_SUPPORT` makes the guest refuse to make handles.
    pub export_support: bool,
    /// Forgotten nodes kept for export support (fixed bound; default
    /// [`DEFAULT_EXPORT_CAPACITY`]).
    pub export_capacity: usize,
    /// Generation of every node id (`fuse_entry_out.generation`; the guest
    /// puts it in its file handles and refuses a handle whose generation
    /// differs). Node ids restart at 2 in a new server: give each server
    /// instance its own value (the daemons take it from the clock), so a
    /// handle kept across a restart is stale rather than another object.
    pub generation: u32,
    /// The guest's architecture, for reading its open flags.
    pub guest_arch: GuestArch,
    /// Ownership model (see [`super::ownership`]); default [`Ownership::Host`].
    pub ownership: Ownership,
    /// The transport forwards host changes to the guest kernel as FUSE
    /// notifications (`arcbox-fuse` does, through
    /// [`crate::passthrough::PassthroughFs::process_host_changes`]; virtio
    /// guests take none). With [`CacheMode::Auto`] the kernel then caches
    /// directory listings (`FOPEN_CACHE_DIR`, see
    /// [`crate::passthrough::PassthroughFs::caches_listings`]). Default off.
    pub host_changes_forwarded: bool,
    /// The guest kernel checks permissions itself: the mount has
    /// `default_permissions` (as every virtio-fs mount does; an agreed
    /// `FUSE_POSIX_ACL` implies it too). Then, where every directory is
    /// opened with `FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE` anyway
    /// ([`crate::passthrough::PassthroughFs::caches_listings`]), the first
    /// OPENDIR is answered `ENOSYS`: the kernel sends no OPENDIR or
    /// RELEASEDIR again and opens every directory with exactly those flags
    /// and handle 0 (fs/fuse/file.c, `no_opendir`), and READDIR,
    /// READDIRPLUS and FSYNCDIR of handle 0 open the directory for the
    /// request. Two round trips fewer for each directory opened, where
    /// the listing comes from the kernel's cache (`git status`). Default
    /// off: without the kernel's check the server must see the opens.
    pub default_permissions: bool,
}

impl PassthroughConfig {
    /// Timeouts and flags for `mode`, with `timeout` as the metadata timeout
    /// (`Metadata` / `Auto`; `Always` uses a day, `Never` zero).
    pub fn for_mode(mode: CacheMode, timeout: Duration) -> PassthroughConfig {
        let t = match mode {
            CacheMode::Never => Duration::ZERO,
            CacheMode::Metadata | CacheMode::Auto => timeout,
            CacheMode::Always => Duration::from_secs(86400),
        };
        PassthroughConfig {
            cache: mode,
            entry_timeout: t,
            attr_timeout: t,
            negative_timeout: t,
            negative_cache: mode != CacheMode::Never,
            negative_cache_capacity: DEFAULT_NEGATIVE_CACHE_CAPACITY,
            guest_negative_entries: true,
            writeback_cache: false,
            xattr: true,
            readdirplus: true,
            announce_submounts: false,
            killpriv_v2: true,
            posix_acl: true,
            security_label: false,
            export_support: true,
            export_capacity: DEFAULT_EXPORT_CAPACITY,
            host_changes_forwarded: false,
            default_permissions: false,
            generation: 1,
            guest_arch: GuestArch::NATIVE,
            ownership: Ownership::Host,
        }
    }
}

impl Default for PassthroughConfig {
    fn default() -> Self {
        PassthroughConfig::for_mode(CacheMode::Auto, Duration::from_secs(1))
    }
}

/// What an embedder (a VMM, the daemons) configures for one shared directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsConfig {
    /// virtio-fs tag the guest mounts by (at most 36 bytes; virtio 1.2 §5.11.4).
    pub tag: String,
    /// Host directory to share.
    pub source: String,
    /// Worker threads serving requests.
    pub num_threads: usize,
    /// Let the guest cache writes.
    pub writeback_cache: bool,
    /// Metadata cache timeout.
    pub cache_timeout: Duration,
    /// Cache mode.
    pub cache: CacheMode,
}

impl FsConfig {
    /// A configuration sharing `source` under `tag` with defaults: 4 threads,
    /// `CacheMode::Auto`, 1 s timeout, no writeback cache.
    pub fn new(tag: impl Into<String>, source: impl Into<String>) -> FsConfig {
        FsConfig {
            tag: tag.into(),
            source: source.into(),
            num_threads: 4,
            writeback_cache: false,
            cache_timeout: Duration::from_secs(1),
            cache: CacheMode::Auto,
        }
    }

    /// The passthrough tuning this configuration implies.
    pub fn passthrough_config(&self) -> PassthroughConfig {
        PassthroughConfig {
            writeback_cache: self.writeback_cache,
            ..PassthroughConfig::for_mode(self.cache, self.cache_timeout)
        }
    }
}
