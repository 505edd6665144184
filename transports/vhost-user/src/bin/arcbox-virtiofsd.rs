//! `arcbox-virtiofsd`: a vhost-user virtio-fs daemon serving a host directory
//! with arcbox-fs's passthrough over Linux, a drop-in for virtiofsd (its
//! options, its sandbox, its capability set; see this crate's README).
//!
//! Start-up order (as virtiofsd): parse, log, raise `RLIMIT_NOFILE`, set up
//! the socket, enter the sandbox (namespaces, a new root holding only the
//! share and `/proc`), open the shared directory, drop capabilities,
//! install the seccomp filter, serve.

use arcbox_fs::abi::InitFlags;
use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
use arcbox_fs::{DispatcherConfig, FuseDispatcher};
use arcbox_fs_daemon::{capabilities, rlimit, sandbox, seccomp};
use arcbox_fs_linux::{LinuxHost, LinuxHostConfig};
use arcbox_fs_vhost_user::args::{
    Args, CAPABILITIES_JSON, InodeFileHandles, MigrationMode, MigrationOnError, SeccompAction,
    parse_from,
};
use arcbox_fs_vhost_user::{VhostUserFsBackend, daemon, logger};
use arcbox_fs_virtio::{Tag, VirtioFsDevice};
use std::os::fd::FromRawFd;
use std::process::ExitCode;
use std::time::Duration;
use vhost::vhost_user::Listener;

/// Queues the device has room for: hiprio plus at most 16 request queues
/// (`--request-queues` picks how many are offered).
const QUEUES: usize = 17;
/// Largest ring size offered.
const QUEUE_SIZE: u16 = 1024;

fn main() -> ExitCode {
    let parsed = match parse_from(std::env::args_os()) {
        Ok(p) => p,
        Err(e) => e.exit(),
    };
    let args = parsed.args;
    if args.print_capabilities {
        println!("{CAPABILITIES_JSON}");
        return ExitCode::SUCCESS;
    }
    logger::init(args.log_level, args.syslog);
    for note in &parsed.notes {
        log::warn!("{note}");
    }
    // Each error is reported once, through the logger (stderr or syslog).
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

type Error = Box<dyn std::error::Error>;

fn run(args: &Args) -> Result<(), Error> {
    if let Some(first) = args.unsupported().into_iter().next() {
        return Err(first.into());
    }
    let xattr_map = args.xattr_map()?;
    let given = args.shared_dir.as_ref().ok_or("--shared-dir is required")?;
    let dir = std::fs::canonicalize(given)
        .map_err(|e| format!("--shared-dir {}: {}", given.display(), os_text(&e)))?;
    if !dir.is_dir() {
        return Err(format!("--shared-dir {}: Not a directory", given.display()).into());
    }
    let tag_name = args.tag.as_deref().unwrap_or("arcbox");
    let tag = Tag::new(tag_name).map_err(|e| format!("--tag {tag_name:?}: {e:?}"))?;
    let keep = capabilities::keep_set(args.modcaps.as_deref())?;
    note_inert_options(args);

    // Before the sandbox: fs.nr_open is read from /proc.
    let want = args.rlimit_nofile.unwrap_or_else(rlimit::default_nofile);
    let nofile = rlimit::apply_nofile(want).map_err(|e| format!("--rlimit-nofile: {e}"))?;
    log::debug!("RLIMIT_NOFILE {nofile}");

    // Root or not before the sandbox (which may make us root of a user namespace).
    // SAFETY: geteuid has no preconditions and cannot fail.
    let is_root = unsafe { libc::geteuid() } == 0;
    let ownership = args.ownership(is_root)?;

    let mut listener = listen(args)?;

    sandbox::enter(&sandbox::SandboxConfig {
        mode: args.sandbox,
        shared_dir: dir.clone(),
        readonly: args.readonly,
        uid_map: args.uid_map,
        gid_map: args.gid_map,
    })
    .map_err(|e| format!("--sandbox {}: {e}", args.sandbox.as_str()))?;
    // The fanotify group (if any) is made here, inside the sandbox (the
    // share is its root; the mark covers its file system) and before
    // capabilities are dropped and seccomp is installed: afterwards its
    // events are only read(2).
    let mut host_cfg = LinuxHostConfig {
        file_handles: args.inode_file_handles != InodeFileHandles::Never,
        raise_nofile: false,
        switch_creds: !ownership.is_xattr(),
        // The serving threads are the daemon's own.
        thread_umask: true,
        ..LinuxHostConfig::default()
    };
    args.watch.configure(&mut host_cfg);
    let host = LinuxHost::with_config(&dir, host_cfg).map_err(|e| {
        format!(
            "--shared-dir {}: {}",
            dir.display(),
            errno_text(Some(e.raw()))
        )
    })?;
    if args.inode_file_handles == InodeFileHandles::Mandatory && !host.uses_file_handles() {
        return Err(format!(
            "--inode-file-handles=mandatory: file handles cannot be used on {} (the filesystem \
             does not support them, or CAP_DAC_READ_SEARCH is missing)",
            dir.display()
        )
        .into());
    }
    log::info!("{}", args.watch.outcome(&host)?);
    capabilities::restrict_to(&keep)
        .map_err(|e| format!("--modcaps: dropping capabilities: {e}"))?;

    let cfg = PassthroughConfig {
        xattr: args.xattr(),
        announce_submounts: args.announce_submounts(),
        readdirplus: !args.no_readdirplus,
        writeback_cache: args.writeback,
        killpriv_v2: args.killpriv_v2(),
        posix_acl: args.posix_acl,
        security_label: args.security_label,
        ownership,
        generation: arcbox_fs_linux::instance_generation(),
        ..PassthroughConfig::for_mode(args.cache, Duration::from_secs(1))
    };
    let mut fs = PassthroughFs::new(host, cfg)
        .map_err(|e| format!("--shared-dir {}: {e:?}", dir.display()))?;
    if let Some(map) = xattr_map {
        fs = fs.with_xattrmap(map);
    }
    let mut dcfg = DispatcherConfig::default();
    if !args.allow_mmap {
        dcfg.refused |= InitFlags::DIRECT_IO_ALLOW_MMAP;
    }
    let dispatcher =
        FuseDispatcher::with_config(fs, dcfg).with_clock(arcbox_fs_linux::monotonic_now);
    let device: VirtioFsDevice<QUEUES> = VirtioFsDevice::new(tag, QUEUE_SIZE);
    let mut backend = VhostUserFsBackend::new(device, dispatcher);
    backend.set_thread_pool_size(args.thread_pool_size);
    let request_queues = args.request_queues.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get().min(16)),
        usize::from,
    );
    backend.set_request_queues(request_queues);
    log::info!(
        "{request_queues} request queue(s), {} worker(s) per queue",
        args.thread_pool_size
    );
    // A summary of what was served on SIGUSR1 and at exit (the signal's
    // thread starts before seccomp, like the workers' first calls).
    let summary = std::sync::Arc::new(backend.summary_fn());
    let on_signal = summary.clone();
    let _dump = arcbox_fs_linux::dump_on_signal(arcbox_fs_linux::SIGUSR1, move || {
        log::info!("stats (SIGUSR1):\n{}", on_signal())
    })
    .map_err(|e| format!("SIGUSR1 stats summary: {e}"))?;
    // Last step before serving: from here on only the allow-listed calls.
    let violation = match args.seccomp {
        SeccompAction::None => None,
        SeccompAction::Kill => Some(seccomp::Violation::Kill),
        SeccompAction::Log => Some(seccomp::Violation::Log),
        SeccompAction::Trap => Some(seccomp::Violation::Trap),
    };
    if let Some(v) = violation {
        seccomp::install(v).map_err(|e| format!("--seccomp: {e}"))?;
    }
    log::info!(
        "serving {} (cache {}, sandbox {}, ownership {}{})",
        dir.display(),
        args.cache.as_str(),
        args.sandbox.as_str(),
        ownership.as_str(),
        if args.ownership.is_none() {
            if is_root {
                ": running as root"
            } else {
                ": not running as root"
            }
        } else {
            ""
        }
    );
    let served = daemon::serve(&mut listener, backend);
    log::info!("stats at exit:\n{}", summary());
    served?;
    Ok(())
}

/// The listening socket: `--socket-path` (made, then given `--socket-group`)
/// or `--fd`.
fn listen(args: &Args) -> Result<Listener, Error> {
    match (&args.socket_path, args.fd) {
        (Some(path), None) => {
            let l = Listener::new(path, true)
                .map_err(|e| format!("--socket-path {}: {e}", path.display()))?;
            if let Some(group) = &args.socket_group {
                let gid = group_id(group)
                    .ok_or_else(|| format!("--socket-group {group}: no such group"))?;
                std::os::unix::fs::chown(path, None, Some(gid))
                    .map_err(|e| format!("--socket-group {group}: {}", os_text(&e)))?;
            }
            Ok(l)
        }
        (None, Some(fd)) => {
            // SAFETY: F_GETFD only inspects the descriptor table.
            if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
                return Err(format!("--fd {fd}: not an open file descriptor").into());
            }
            // SAFETY: `--fd` hands this process a listening socket it now owns
            // (virtiofsd's contract); it was checked to be open just above.
            Ok(unsafe { Listener::from_raw_fd(fd) })
        }
        _ => Err("exactly one of --socket-path and --fd is required".into()),
    }
}

/// A group name (or number) as a gid, from the group database (getgrnam(3)).
fn group_id(group: &str) -> Option<u32> {
    if let Ok(n) = group.parse::<u32>() {
        return Some(n);
    }
    let name = std::ffi::CString::new(group).ok()?;
    let mut grp = std::mem::MaybeUninit::<libc::group>::uninit();
    let mut buf = vec![0 as libc::c_char; 16384];
    let mut out: *mut libc::group = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; `buf` is `buf.len()` bytes
    // and getgrnam_r writes the entry into `grp` and `buf` only.
    let rc = unsafe {
        libc::getgrnam_r(
            name.as_ptr(),
            grp.as_mut_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut out,
        )
    };
    if rc != 0 || out.is_null() {
        return None;
    }
    // SAFETY: getgrnam_r succeeded and set `out` to `grp`, now initialised.
    Some(unsafe { grp.assume_init() }.gr_gid)
}

/// Options accepted with no effect in this build: said once, at start.
fn note_inert_options(args: &Args) {
    if args.migration_mode != MigrationMode::default()
        || args.migration_on_error != MigrationOnError::default()
        || args.migration_verify_handles
        || args.migration_confirm_paths
    {
        log::info!(
            "--migration-*: migration is not offered to the frontend; these options have no effect"
        );
    }
}

/// An I/O error as its C library text ("No such file or directory").
fn os_text(e: &std::io::Error) -> String {
    errno_text(e.raw_os_error())
        .to_string()
        .replace("Unknown error", &e.to_string())
}

fn errno_text(errno: Option<i32>) -> String {
    match errno {
        Some(n) => {
            let s = std::io::Error::from_raw_os_error(n).to_string();
            // "No such file or directory (os error 2)" -> the text alone.
            s.split(" (os error").next().unwrap_or(&s).to_owned()
        }
        None => "unknown error".to_owned(),
    }
}
