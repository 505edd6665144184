//! Command-line options of `arcbox-virtiofsd`: every option of virtiofsd
//! 1.14 with its name, value syntax and default, plus the legacy forms
//! `-o opt[,opt...]`, `-d` and `-f` (see [`preprocess`]). What each does
//! here is tabled in this crate's README.

use arcbox_fs::passthrough::{CacheMode, Ownership};
use arcbox_fs_daemon::sandbox::{IdMap, SandboxMode};
use arcbox_fs_linux::WatchMode;
use clap::Parser;
use std::ffi::OsString;
use std::path::PathBuf;

/// What `--print-capabilities` prints: the vhost-user backend description
/// (QEMU's docs/interop/vhost-user.json) in virtiofsd's layout. The only
/// feature is `separate-options` (the `--shared-dir`-style options, which
/// launchers such as libvirt probe for); no `migrate-precopy`: migration
/// is not implemented.
pub const CAPABILITIES_JSON: &str =
    "{\n  \"type\": \"fs\",\n  \"features\": [\n    \"separate-options\"\n  ]\n}";

/// `--seccomp` (virtiofsd's values; default `kill`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SeccompAction {
    /// No filter.
    None,
    /// Kill the process on a syscall outside the allow-list.
    #[default]
    Kill,
    /// Log the syscall and let it run.
    Log,
    /// Send `SIGSYS`.
    Trap,
}

/// `--inode-file-handles` (virtiofsd's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum InodeFileHandles {
    /// Hold every inode by an `O_PATH` descriptor.
    Never,
    /// Use file handles where the filesystem and privileges allow.
    #[default]
    Prefer,
    /// Refuse to start unless file handles work on the share.
    Mandatory,
}

/// `--migration-mode` (accepted; migration is not implemented).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MigrationMode {
    /// Find inodes' paths on the source.
    #[default]
    FindPaths,
    /// Send file handles.
    FileHandles,
}

/// `--migration-on-error` (accepted; migration is not implemented).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MigrationOnError {
    /// Abort the migration.
    #[default]
    Abort,
    /// Let the guest see errors on the affected inodes.
    GuestError,
}

/// The daemon's options (virtiofsd 1.14's set).
#[derive(Debug, Clone, Parser, PartialEq, Eq)]
#[command(
    name = "arcbox-virtiofsd",
    version,
    about = "vhost-user virtio-fs daemon (arcbox-fs), a drop-in for virtiofsd",
    args_override_self = true
)]
pub struct Args {
    /// Shared directory path.
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "print_capabilities"
    )]
    pub shared_dir: Option<PathBuf>,

    /// The virtio-fs tag, for frontends that ask the backend for it.
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,

    /// vhost-user socket path (`--socket` is the deprecated alias).
    #[arg(long, alias = "socket", value_name = "PATH", conflicts_with = "fd",
          required_unless_present_any = ["fd", "print_capabilities"])]
    pub socket_path: Option<PathBuf>,

    /// Name of the group given to the vhost-user socket.
    #[arg(long, value_name = "GROUP", conflicts_with = "fd")]
    pub socket_group: Option<String>,

    /// File descriptor of an already listening vhost-user socket.
    #[arg(long, value_name = "FD")]
    pub fd: Option<i32>,

    /// Print the vhost-user backend capabilities as JSON and exit.
    #[arg(long)]
    pub print_capabilities: bool,

    /// Worker threads per queue, completing requests out of order; 0 (the
    /// default) serves each queue in order on the thread its kicks wake.
    /// Either way a SETLKW waits on a thread of its own (the queue goes on).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub thread_pool_size: usize,

    /// Enable support for extended attributes.
    #[arg(long)]
    pub xattr: bool,

    /// Enable support for POSIX ACLs (implies --xattr).
    #[arg(long)]
    pub posix_acl: bool,

    /// Add custom rules for translating extended attributes between host
    /// and guest (virtiofsd's xattr-mapping syntax).
    #[arg(long, value_name = "RULES")]
    pub xattrmap: Option<String>,

    /// Serve the share read-only (the guest sees EROFS on every change).
    #[arg(long)]
    pub readonly: bool,

    /// Sandbox mechanism: namespace, chroot or none.
    #[arg(long, value_name = "MODE", default_value = "namespace", value_parser = parse_sandbox)]
    pub sandbox: SandboxMode,

    /// Action on a syscall outside the seccomp allow-list.
    #[arg(long, value_enum, value_name = "ACTION", default_value = "kill")]
    pub seccomp: SeccompAction,

    /// Modify the kept capabilities, e.g. `+sys_admin:-chown`.
    #[arg(long, value_name = "CAPS")]
    pub modcaps: Option<String>,

    /// Tell the guest about mount points inside the share (the default).
    #[arg(long, overrides_with = "no_announce_submounts")]
    pub announce_submounts: bool,

    /// Do not tell the guest about mount points inside the share.
    #[arg(long, overrides_with = "announce_submounts")]
    pub no_announce_submounts: bool,

    /// When to hold inodes by file handle instead of an O_PATH descriptor.
    /// With file handles the guest gets export support
    /// (FUSE_EXPORT_SUPPORT: its own file handles, NFS re-export, stay valid
    /// after it drops its inodes); with `never`, FUSE_NO_EXPORT_SUPPORT.
    #[arg(long, value_enum, value_name = "MODE", default_value = "prefer",
          num_args = 0..=1, require_equals = true, default_missing_value = "prefer")]
    pub inode_file_handles: InodeFileHandles,

    /// Caching policy: never, metadata, auto or always.
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = parse_cache)]
    pub cache: CacheMode,

    /// How changes other processes make to the share are noticed (the
    /// server's caches of them dropped): auto (one fanotify mark on the
    /// share's file system where the daemon has CAP_SYS_ADMIN, else
    /// inotify), fanotify (fail if impossible), inotify (a bounded set of
    /// per-directory watches) or none.
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = WatchMode::parse)]
    pub watch: WatchMode,

    /// Let the guest mmap files opened in direct-I/O mode (cache=never).
    #[arg(long)]
    pub allow_mmap: bool,

    /// Disable READDIRPLUS.
    #[arg(long)]
    pub no_readdirplus: bool,

    /// Enable the guest's writeback cache.
    #[arg(long)]
    pub writeback: bool,

    /// Honour the guest's O_DIRECT (virtiofsd drops it by default).
    #[arg(long)]
    pub allow_direct_io: bool,

    /// Enable FUSE_HANDLE_KILLPRIV_V2.
    #[arg(long, overrides_with = "no_killpriv_v2")]
    pub killpriv_v2: bool,

    /// Disable FUSE_HANDLE_KILLPRIV_V2 (the default).
    #[arg(long, overrides_with = "killpriv_v2")]
    pub no_killpriv_v2: bool,

    /// Set the security label of new files from the guest's security context
    /// (FUSE_SECURITY_CTX: the guest LSM's `security.*` attribute, through
    /// --xattrmap; a label the host refuses fails the create).
    #[arg(long)]
    pub security_label: bool,

    /// Keep the guest's O_NOATIME (virtiofsd drops it by default).
    #[arg(long)]
    pub preserve_noatime: bool,

    /// Log level: error, warn, info, debug, trace or off.
    #[arg(long, value_name = "LEVEL", default_value = "info", value_parser = parse_level)]
    pub log_level: log::LevelFilter,

    /// Log to syslog instead of stderr.
    #[arg(long)]
    pub syslog: bool,

    /// Open-file limit (default: the lower of 1,000,000 and fs.nr_open).
    #[arg(long, value_name = "N")]
    pub rlimit_nofile: Option<u64>,

    // -- ownership (issue 11) --
    /// Ownership model: host (real owners, chown, device nodes; needs root),
    /// xattr (owners, modes and types in the user.containers.override_stat
    /// xattr, checked in-process; for an unprivileged daemon) or map
    /// (--translate-uid/--translate-gid ranges). Default: host when run as
    /// root, xattr otherwise (map when --translate-* is given).
    #[arg(long, value_name = "MODEL")]
    pub ownership: Option<String>,

    /// Under --ownership xattr: the owner shown for files without the
    /// attribute [default: 0:0].
    #[arg(long, value_name = "UID:GID")]
    pub default_owner: Option<String>,

    /// Translate guest/host uids (implies --ownership map), repeatable:
    /// `map:GUEST:HOST:COUNT`, `guest:GUEST:HOST:COUNT`,
    /// `host:HOST:GUEST:COUNT`, `squash-guest:GUEST:COUNT:HOST`,
    /// `squash-host:HOST:COUNT:GUEST`, `forbid-guest:GUEST:COUNT`.
    #[arg(long, value_name = "MAP")]
    pub translate_uid: Vec<String>,

    /// Translate guest/host gids (as --translate-uid).
    #[arg(long, value_name = "MAP")]
    pub translate_gid: Vec<String>,
    // -- end ownership --
    /// uid mapping of the user namespace (`:namespace_uid:host_uid:count:`).
    #[arg(long, value_name = "MAP", value_parser = parse_idmap)]
    pub uid_map: Option<IdMap>,

    /// gid mapping of the user namespace (`:namespace_gid:host_gid:count:`).
    #[arg(long, value_name = "MAP", value_parser = parse_idmap)]
    pub gid_map: Option<IdMap>,

    /// Migration: how inodes are found on the destination.
    #[arg(long, value_enum, value_name = "MODE", default_value = "find-paths")]
    pub migration_mode: MigrationMode,

    /// Migration: what an inode that cannot be migrated does.
    #[arg(long, value_enum, value_name = "ACTION", default_value = "abort")]
    pub migration_on_error: MigrationOnError,

    /// Migration: check that file handles are still valid.
    #[arg(long)]
    pub migration_verify_handles: bool,

    /// Migration: check that found paths still name the inodes.
    #[arg(long)]
    pub migration_confirm_paths: bool,

    // Queues and workers (arcbox-virtiofsd's own options).
    /// Request queues offered to the frontend (1 to 16; default: the host's
    /// CPUs, at most 16). QEMU's `num-request-queues` must not exceed it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=16))]
    pub request_queues: Option<u16>,
}

impl Args {
    /// `--announce-submounts` is on unless `--no-announce-submounts` came last.
    pub fn announce_submounts(&self) -> bool {
        !self.no_announce_submounts
    }

    /// `--killpriv-v2` came after any `--no-killpriv-v2`.
    pub fn killpriv_v2(&self) -> bool {
        self.killpriv_v2
    }

    /// Extended attributes are served (`--xattr`, or `--posix-acl`).
    pub fn xattr(&self) -> bool {
        self.xattr || self.posix_acl
    }

    /// The parsed `--xattrmap`, if given. Errors: the option and the rule
    /// that does not parse, on one line.
    pub fn xattr_map(&self) -> Result<Option<arcbox_fs::xattrmap::XattrMap>, String> {
        self.xattrmap
            .as_deref()
            .map(|m| {
                arcbox_fs::xattrmap::XattrMap::parse(m).map_err(|e| format!("--xattrmap: {e}"))
            })
            .transpose()
    }

    /// The ownership model of `--ownership`, `--default-owner` and
    /// `--translate-uid` / `--translate-gid`, for a daemon that is root
    /// (`is_root`) or not. Errors: a one-line message.
    pub fn ownership(&self, is_root: bool) -> Result<Ownership, String> {
        let tu: Vec<&str> = self.translate_uid.iter().map(String::as_str).collect();
        let tg: Vec<&str> = self.translate_gid.iter().map(String::as_str).collect();
        Ownership::from_options(
            self.ownership.as_deref(),
            self.default_owner.as_deref(),
            &tu,
            &tg,
            is_root,
        )
    }

    /// Options this build accepts but cannot honour, each with the one-line
    /// reason the daemon exits with before serving. Every option of
    /// virtiofsd 1.14 is honoured now, so this is empty; it stays the one
    /// place such an option would be named.
    pub fn unsupported(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The parsed options, and notes about legacy `-o` options that have no
/// effect (to be logged once the logger is up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The options.
    pub args: Args,
    /// One line per ignored legacy option.
    pub notes: Vec<String>,
}

/// Parses `argv` (with the program name first): [`preprocess`], then clap.
///
/// Errors: what clap reports (unknown option, bad value, conflict), or an
/// unknown `-o` option.
pub fn parse_from<I, T>(argv: I) -> Result<Parsed, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let (argv, notes) = preprocess(argv.into_iter().map(Into::into))?;
    let args = Args::try_parse_from(argv)?;
    Ok(Parsed { args, notes })
}

/// Rewrites the legacy forms into the long options: `-o a,b=c` (also
/// `-oa,b=c`) into one long option per item, `-d` into
/// `--log-level=debug`, `-f` (stay in the foreground, which the daemon
/// always does) into nothing. Arguments after `--` are left alone.
///
/// Errors: an unknown `-o` item, or `-o` without a value.
pub fn preprocess(
    argv: impl Iterator<Item = OsString>,
) -> Result<(Vec<OsString>, Vec<String>), clap::Error> {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let mut argv = argv.peekable();
    if let Some(prog) = argv.next() {
        out.push(prog);
    }
    while let Some(arg) = argv.next() {
        let Some(s) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        match s {
            "--" => {
                out.push(arg);
                out.extend(argv.by_ref());
                break;
            }
            "-d" => out.push("--log-level=debug".into()),
            "-f" => {}
            "-o" => {
                let value = argv.next().ok_or_else(|| {
                    clap::Error::raw(
                        clap::error::ErrorKind::InvalidValue,
                        "-o needs a value: -o opt[,opt...]\n",
                    )
                })?;
                let value = value.to_string_lossy().into_owned();
                compat_options(&value, &mut out, &mut notes)?;
            }
            _ if s.starts_with("-o") => {
                let value = s[2..].strip_prefix('=').unwrap_or(&s[2..]).to_owned();
                compat_options(&value, &mut out, &mut notes)?;
            }
            _ => out.push(arg),
        }
    }
    Ok((out, notes))
}

/// One `-o` value: comma-separated items, in virtiofsd's compat spelling.
fn compat_options(
    value: &str,
    out: &mut Vec<OsString>,
    notes: &mut Vec<String>,
) -> Result<(), clap::Error> {
    for item in value.split(',') {
        let (key, val) = match item.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (item, None),
        };
        let long = match (key, val) {
            ("source", Some(v)) => Some(format!("--shared-dir={v}")),
            ("cache", Some(v)) => Some(format!("--cache={v}")),
            ("sandbox", Some(v)) => Some(format!("--sandbox={v}")),
            ("log_level", Some(v)) => Some(format!("--log-level={v}")),
            ("modcaps", Some(v)) => Some(format!("--modcaps={v}")),
            ("xattrmap", Some(v)) => Some(format!("--xattrmap={v}")),
            ("xattr", None) => Some("--xattr".to_owned()),
            ("posix_acl", None) => Some("--posix-acl".to_owned()),
            ("writeback", None) => Some("--writeback".to_owned()),
            ("announce_submounts", None) => Some("--announce-submounts".to_owned()),
            ("no_readdirplus", None) => Some("--no-readdirplus".to_owned()),
            ("killpriv_v2", None) => Some("--killpriv-v2".to_owned()),
            ("no_killpriv_v2", None) => Some("--no-killpriv-v2".to_owned()),
            ("allow_direct_io", None) => Some("--allow-direct-io".to_owned()),
            ("security_label", None) => Some("--security-label".to_owned()),
            ("debug", None) => Some("--log-level=debug".to_owned()),
            // The defaults, or options without an effect here (as in virtiofsd).
            (
                "no_xattr" | "no_posix_acl" | "no_writeback" | "readdirplus" | "no_allow_direct_io"
                | "no_security_label" | "flock" | "no_flock" | "posix_lock" | "no_posix_lock"
                | "norace",
                None,
            )
            | ("timeout", Some(_)) => {
                notes.push(format!("-o {item}: has no effect (as in virtiofsd)"));
                None
            }
            _ => {
                return Err(clap::Error::raw(
                    clap::error::ErrorKind::UnknownArgument,
                    format!("unknown -o option '{item}'\n"),
                ));
            }
        };
        out.extend(long.map(OsString::from));
    }
    Ok(())
}

fn parse_sandbox(s: &str) -> Result<SandboxMode, String> {
    s.parse()
}

fn parse_idmap(s: &str) -> Result<IdMap, String> {
    s.parse()
}

fn parse_cache(s: &str) -> Result<CacheMode, String> {
    CacheMode::parse(s).ok_or_else(|| {
        format!("unknown cache mode '{s}' (expected never, metadata, auto or always)")
    })
}

fn parse_level(s: &str) -> Result<log::LevelFilter, String> {
    s.parse().map_err(|_| {
        format!("unknown log level '{s}' (expected error, warn, info, debug, trace or off)")
    })
}
