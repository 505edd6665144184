//! `arcbox-fuse`: mounts a host directory through `PassthroughFs<LinuxHost>`
//! on the Linux kernel's FUSE client.
//!
//! ```text
//! arcbox-fuse /srv/share /mnt/share --threads 4 --cache auto --allow-other --default-permissions
//! ```
//!
//! Serves in the foreground until the mount goes away (`umount`, `fusermount3
//! -u`) or SIGINT / SIGTERM / SIGHUP arrive: the first signal unmounts lazily
//! (the server keeps answering until the last open file is closed), a second
//! one aborts the connection.

use arcbox_fs::DispatcherConfig;
use arcbox_fs::abi::InitFlags;
use arcbox_fs::host::Host;
use arcbox_fs::passthrough::{CacheMode, Ownership, PassthroughConfig, PassthroughFs};
use arcbox_fs_fusedev::backing::{FuseBacking, may_passthrough};
use arcbox_fs_fusedev::options::{self, Applied};
use arcbox_fs_fusedev::{IoUringMode, IoUringState, MountOptions, Session, SessionConfig, Stopper};
use arcbox_fs_linux::{LinuxHost, LinuxHostConfig, WatchMode};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Mount a host directory with arcbox-fs over /dev/fuse.
#[derive(Parser, Debug)]
#[command(name = "arcbox-fuse", version, about)]
struct Args {
    /// Host directory to share.
    src: PathBuf,
    /// Where to mount it (an existing directory).
    mnt: PathBuf,
    /// Mount options, comma-separated, as mount(8) and fuse(8) take them
    /// (ro, suid, dev, noexec, noatime, allow_other, fsname=, max_read=, ...)
    /// and the arcbox ones (cache=, timeout=, threads=, max_write=,
    /// writeback, no_xattr, no_readdirplus, log_level=, watch=,
    /// export_support=); see the README.
    #[arg(short = 'o', value_name = "OPT[,OPT...]", action = clap::ArgAction::Append)]
    options: Vec<String>,
    /// Worker threads, each with its own /dev/fuse descriptor [default: number of CPUs, at least 2].
    #[arg(long, short = 't')]
    threads: Option<usize>,
    /// Kernel caching: never, metadata, auto or always.
    #[arg(long, default_value = "auto", value_parser = parse_cache)]
    cache: CacheMode,
    /// Metadata (entry, attribute, negative entry) cache timeout in seconds.
    #[arg(long, default_value_t = 1.0)]
    timeout: f64,
    /// Let the kernel cache writes (FUSE_WRITEBACK_CACHE).
    #[arg(long)]
    writeback: bool,
    /// Let other users access the mount (allow_other).
    #[arg(long)]
    allow_other: bool,
    /// Let the kernel check permissions from file modes (default_permissions).
    #[arg(long)]
    default_permissions: bool,
    /// Mount read-only.
    #[arg(long)]
    read_only: bool,
    /// Do not serve extended attributes.
    #[arg(long)]
    no_xattr: bool,
    /// Do not offer READDIRPLUS.
    #[arg(long)]
    no_readdirplus: bool,
    /// Largest WRITE request in bytes, 4096 to 1048576 (request buffers are this plus 4 KiB).
    #[arg(long, default_value_t = 1 << 20)]
    max_write: u32,
    /// Name shown as the mount's source in /proc/mounts.
    #[arg(long, default_value = "arcbox-fs")]
    fsname: String,
    /// Kernel passthrough of file data (FUSE_PASSTHROUGH, Linux 6.9+): auto
    /// (where the kernel offers it, the daemon has CAP_SYS_ADMIN and
    /// --writeback is off), on (fail if impossible) or off.
    #[arg(long, default_value = "auto", value_parser = parse_toggle)]
    passthrough: Toggle,
    /// FUSE-over-io_uring (Linux 6.14+): auto (where the fuse module's
    /// enable_uring parameter is Y and the kernel offers it), on (fail if
    /// impossible) or off (requests through /dev/fuse only).
    #[arg(long, default_value = "auto", value_parser = parse_toggle)]
    io_uring: Toggle,
    /// How changes other processes make to the share are noticed (and the
    /// kernel's caches of them dropped): auto (one fanotify mark on the
    /// share's file system where the daemon has CAP_SYS_ADMIN, else
    /// inotify), fanotify (fail if impossible), inotify (a bounded set of
    /// per-directory watches) or none.
    #[arg(long, default_value = "auto", value_parser = WatchMode::parse)]
    watch: WatchMode,
    /// File handles of the mount (name_to_handle_at, open_by_handle_at, NFS
    /// re-export; FUSE_EXPORT_SUPPORT) that stay valid after the kernel
    /// drops its inodes: auto (where inodes are held by host file handle,
    /// which needs CAP_DAC_READ_SEARCH), on (fail if impossible) or off
    /// (the kernel refuses to make handles).
    #[arg(long, default_value = "auto", value_parser = parse_toggle)]
    export_support: Toggle,
    /// Messages shown on stderr: error, warn, info, debug or trace.
    #[arg(long, default_value = "warn", value_parser = parse_level)]
    log_level: log::LevelFilter,
    /// Ownership model: host (real owners, chown, device nodes; needs
    /// root), xattr (owners, modes and types in the
    /// user.containers.override_stat xattr, checked in-process; for a
    /// non-root daemon) or map (--translate-uid/--translate-gid). Default:
    /// host when run as root, xattr otherwise (map with --translate-*).
    #[arg(long, value_name = "MODEL")]
    ownership: Option<String>,
    /// Under --ownership xattr: owner of files without the attribute [default: 0:0].
    #[arg(long, value_name = "UID:GID")]
    default_owner: Option<String>,
    /// uid translation range, virtiofsd syntax (map:GUEST:HOST:COUNT,
    /// guest:…, host:…, squash-guest:GUEST:COUNT:HOST,
    /// squash-host:HOST:COUNT:GUEST, forbid-guest:GUEST:COUNT); repeatable.
    #[arg(long, value_name = "MAP")]
    translate_uid: Vec<String>,
    /// gid translation range (as --translate-uid); repeatable.
    #[arg(long, value_name = "MAP")]
    translate_gid: Vec<String>,
}

/// An `auto|on|off` option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Toggle {
    Auto,
    On,
    Off,
}

fn parse_toggle(s: &str) -> Result<Toggle, String> {
    match s {
        "auto" => Ok(Toggle::Auto),
        "on" => Ok(Toggle::On),
        "off" => Ok(Toggle::Off),
        _ => Err(format!("unknown value {s:?} (auto, on, off)")),
    }
}

fn parse_cache(s: &str) -> Result<CacheMode, String> {
    CacheMode::parse(s)
        .ok_or_else(|| format!("unknown cache mode {s:?} (never, metadata, auto, always)"))
}

fn parse_level(s: &str) -> Result<log::LevelFilter, String> {
    match s {
        "off" | "error" | "warn" | "info" | "debug" | "trace" => {
            s.parse().map_err(|_| format!("unknown log level {s:?}"))
        }
        _ => Err(format!(
            "unknown log level {s:?} (off, error, warn, info, debug, trace)"
        )),
    }
}

/// Everything `run` needs, after flags and `-o` options are combined and checked.
struct Settings {
    mount: MountOptions,
    pcfg: PassthroughConfig,
    threads: usize,
    max_write: u32,
    level: log::LevelFilter,
    passthrough: Toggle,
    io_uring: Toggle,
    watch: WatchMode,
    export: Toggle,
}

/// Combines the flags and then the `-o` options (later ones win) and
/// refuses values that would otherwise be silently changed.
fn settings(args: &Args) -> Result<Settings, String> {
    let mut mount = MountOptions {
        fsname: args.fsname.clone(),
        allow_other: args.allow_other,
        default_permissions: args.default_permissions,
        read_only: args.read_only,
        ..MountOptions::default()
    };
    let mut cache = args.cache;
    let mut timeout = args.timeout;
    let mut threads = args.threads;
    let mut max_write = args.max_write;
    let mut writeback = args.writeback;
    let mut xattr = !args.no_xattr;
    let mut readdirplus = !args.no_readdirplus;
    let mut level = args.log_level;
    let mut passthrough = args.passthrough;
    let mut io_uring = args.io_uring;
    let mut watch = args.watch;
    let mut export = args.export_support;
    for list in &args.options {
        for opt in options::split(list) {
            if options::apply(&mut mount, opt)? == Applied::Mount {
                continue;
            }
            let (name, value) = opt.split_once('=').unwrap_or((opt, ""));
            let bad = || format!("mount option {opt}: bad value");
            match name {
                "cache" => cache = parse_cache(value)?,
                "timeout" => timeout = value.parse().map_err(|_| bad())?,
                "threads" => threads = Some(value.parse().map_err(|_| bad())?),
                "max_write" => max_write = value.parse().map_err(|_| bad())?,
                "log_level" => level = parse_level(value)?,
                "passthrough" => passthrough = parse_toggle(value)?,
                "io_uring" => io_uring = parse_toggle(value)?,
                "watch" => watch = WatchMode::parse(value)?,
                "export_support" => export = parse_toggle(value)?,
                "writeback" => writeback = true,
                "no_writeback" => writeback = false,
                "no_xattr" => xattr = false,
                "xattr" => xattr = true,
                "no_readdirplus" => readdirplus = false,
                _ => return Err(format!("unknown mount option {opt}")),
            }
        }
    }
    if mount.fsname.is_empty() || mount.fsname.contains([',', '\0']) {
        return Err(format!(
            "invalid --fsname {:?}: it must be non-empty, without ','",
            mount.fsname
        ));
    }
    if !timeout.is_finite() || timeout < 0.0 {
        return Err(format!("invalid --timeout {timeout}: seconds, 0 or more"));
    }
    let threads = match threads {
        Some(0) => return Err("invalid --threads 0: at least 1 worker is needed".into()),
        Some(n) if n > 1024 => return Err(format!("invalid --threads {n}: at most 1024")),
        Some(n) => n,
        None => SessionConfig::default().threads,
    };
    if !(4096..=1 << 20).contains(&max_write) {
        return Err(format!(
            "invalid --max-write {max_write}: between 4096 and 1048576 bytes"
        ));
    }
    let mut pcfg = PassthroughConfig::for_mode(cache, Duration::from_secs_f64(timeout));
    pcfg.writeback_cache = writeback;
    pcfg.xattr = xattr;
    pcfg.readdirplus = readdirplus;
    pcfg.export_support = export != Toggle::Off;
    pcfg.generation = arcbox_fs_linux::instance_generation();
    // The mount forwards the watcher's host changes (see `run`), so
    // `--cache auto` may let the kernel cache listings.
    pcfg.host_changes_forwarded = true;
    // With the kernel checking permissions, cached listings need no
    // OPENDIR / RELEASEDIR round trips (an agreed POSIX_ACL implies it).
    pcfg.default_permissions = mount.default_permissions;
    let tu: Vec<&str> = args.translate_uid.iter().map(String::as_str).collect();
    let tg: Vec<&str> = args.translate_gid.iter().map(String::as_str).collect();
    // SAFETY: geteuid has no preconditions and cannot fail.
    let is_root = unsafe { libc::geteuid() } == 0;
    pcfg.ownership = Ownership::from_options(
        args.ownership.as_deref(),
        args.default_owner.as_deref(),
        &tu,
        &tg,
        is_root,
    )?;
    Ok(Settings {
        mount,
        pcfg,
        threads,
        max_write,
        level,
        passthrough,
        io_uring,
        watch,
        export,
    })
}

/// Writes `log` records to stderr as `arcbox-fuse: LEVEL: message`.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            let level = r.level().as_str().to_ascii_lowercase();
            eprintln!("arcbox-fuse: {level}: {}", r.args());
        }
    }

    fn flush(&self) {}
}

/// An OS error as text, without Rust's " (os error N)" suffix.
fn os_text(raw: i32) -> String {
    let s = std::io::Error::from_raw_os_error(raw).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Blocks the termination signals in the calling thread (and the threads it
/// spawns later), so that only the waiter thread receives them.
fn termination_signals() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t; the signal numbers are valid.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGHUP);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    set
}

/// Waits for signals: SIGUSR1 logs the stats `summary`; of the termination
/// signals the first unmounts, later ones abort.
fn wait_for_signals(set: libc::sigset_t, stopper: Stopper, summary: impl Fn() -> String) {
    let mut first = true;
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: `set` is initialised and blocked in every thread; `sig` is a
        // live local.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            continue;
        }
        if sig == libc::SIGUSR1 {
            log::info!("stats (SIGUSR1):\n{}", summary());
            continue;
        }
        if first {
            log::info!("signal {sig}: unmounting");
            if let Err(e) = stopper.unmount() {
                // Never unmount what is not ours: end our connection instead.
                log::warn!("{e}; aborting the connection instead");
                if let Err(e) = stopper.abort() {
                    log::error!("abort failed: {e}");
                }
            }
            first = false;
        } else {
            log::info!("signal {sig}: aborting the connection");
            if let Err(e) = stopper.abort() {
                log::error!("abort failed: {e}");
            }
        }
    }
}

/// Whether to offer kernel passthrough; for `on`, an error where it cannot work.
fn passthrough_wanted(t: Toggle, cfg: &PassthroughConfig) -> Result<bool, String> {
    let why_not = if !may_passthrough() {
        Some("the daemon lacks CAP_SYS_ADMIN")
    } else if cfg.writeback_cache {
        Some("--writeback is on (the kernel refuses both)")
    } else if cfg.cache == CacheMode::Never {
        Some("--cache never")
    } else if cfg.ownership.is_xattr() {
        Some("--ownership xattr checks and records every write in-process")
    } else {
        None
    };
    match (t, why_not) {
        (Toggle::Off, _) => Ok(false),
        (Toggle::On, Some(w)) => Err(format!("--passthrough on impossible: {w}")),
        (Toggle::Auto, Some(w)) => {
            log::info!("kernel passthrough: off ({w})");
            Ok(false)
        }
        (_, None) => Ok(true),
    }
}

/// Waits for INIT and logs the data path; `on` without kernel support is an error.
fn log_passthrough_mode(
    running: &arcbox_fs_fusedev::RunningSession<PassthroughFs<LinuxHost>>,
    t: Toggle,
    offered: bool,
) -> Result<(), String> {
    if !offered {
        if t == Toggle::Off {
            log::info!("kernel passthrough: off (--passthrough off)");
        }
        return Ok(());
    }
    // INIT is the kernel's first request after the mount.
    for _ in 0..500 {
        if !running.fs().negotiated().is_empty() || running.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if running.fs().negotiated().contains(InitFlags::PASSTHROUGH) {
        log::info!("kernel passthrough: on (FUSE_PASSTHROUGH)");
        Ok(())
    } else if t == Toggle::On {
        Err("--passthrough on impossible: the kernel did not offer FUSE_PASSTHROUGH".into())
    } else {
        log::info!("kernel passthrough: off (the kernel does not offer FUSE_PASSTHROUGH)");
        Ok(())
    }
}

/// The session's io_uring mode for `t`; for `on`, an error where the
/// kernel does not allow it (checked again when the rings are made).
fn io_uring_mode(t: Toggle) -> Result<IoUringMode, String> {
    match t {
        Toggle::Off => Ok(IoUringMode::Off),
        Toggle::Auto => Ok(IoUringMode::Auto),
        Toggle::On => arcbox_fs_fusedev::uring::module_enabled()
            .map(|()| IoUringMode::On)
            .map_err(|why| format!("--io-uring on impossible: {why}")),
    }
}

/// Waits until the rings registered or were given up, and logs how
/// requests are served; `on` without rings is an error.
fn log_io_uring_mode(
    running: &arcbox_fs_fusedev::RunningSession<PassthroughFs<LinuxHost>>,
    t: Toggle,
) -> Result<(), String> {
    let mut state = running.io_uring();
    for _ in 0..500 {
        if state != IoUringState::Pending || running.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        state = running.io_uring();
    }
    match state {
        IoUringState::On { queues } => {
            log::info!("io_uring: on ({queues} queues, FUSE_OVER_IO_URING)");
            Ok(())
        }
        s if t == Toggle::On => Err(format!("--io-uring on impossible: {}", why(&s))),
        s => {
            log::info!("io_uring: off ({}); requests through /dev/fuse", why(&s));
            Ok(())
        }
    }
}

fn why(s: &IoUringState) -> String {
    match s {
        IoUringState::Off(w) | IoUringState::Failed(w) => w.clone(),
        IoUringState::Pending => "the queues did not register in 5 s".into(),
        IoUringState::On { .. } => "on".into(),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let st = match settings(&args) {
        Ok(st) => st,
        Err(e) => {
            eprintln!("arcbox-fuse: {e}");
            return ExitCode::from(2);
        }
    };
    let _ = log::set_logger(&StderrLog);
    log::set_max_level(st.level);
    match run(&args, st) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arcbox-fuse: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args, st: Settings) -> Result<(), Box<dyn std::error::Error>> {
    let share_err =
        |e: arcbox_fs::Errno| format!("cannot share {}: {}", args.src.display(), os_text(e.raw()));
    let own = st.pcfg.ownership;
    log::info!(
        "ownership {}{}",
        own.as_str(),
        match (args.ownership.is_some(), own) {
            (true, _) => "",
            (false, Ownership::Host) => " (running as root)",
            (false, Ownership::Map { .. }) => " (--translate-uid/--translate-gid)",
            (false, _) => " (not running as root)",
        }
    );
    let mut hcfg = LinuxHostConfig {
        switch_creds: !own.is_xattr(),
        // The serving threads are the daemon's own.
        thread_umask: true,
        ..LinuxHostConfig::default()
    };
    st.watch.configure(&mut hcfg);
    let host = LinuxHost::with_config(&args.src, hcfg).map_err(share_err)?;
    // `--watch fanotify` that cannot run fails here, before the mount.
    let watching = st.watch.outcome(&host)?;
    let backing = FuseBacking::new();
    let kp = passthrough_wanted(st.passthrough, &st.pcfg)?;
    let mut fs = PassthroughFs::new(host, st.pcfg).map_err(share_err)?;
    if st.export == Toggle::On && !fs.export_support() {
        return Err(
            "--export-support on impossible: inodes are not held by file handle \
                    (the file system has none, or CAP_DAC_READ_SEARCH is missing)"
                .into(),
        );
    }
    if kp {
        fs = fs.with_kernel_passthrough(Box::new(backing.clone()));
    }
    let ring_mode = io_uring_mode(st.io_uring)?;
    let opts = st.mount;
    let defaults = SessionConfig::default();
    let config = SessionConfig {
        threads: st.threads,
        max_threads: defaults.max_threads.max(st.threads),
        dispatcher: DispatcherConfig {
            max_write: st.max_write,
            ..DispatcherConfig::default()
        },
        io_uring: ring_mode,
        ..defaults
    };
    let set = termination_signals();
    let session = Session::mount(fs, &args.mnt, &opts, config)?;
    // Which watcher runs: once, when mounted (errors stay one line), at the
    // default level (warn) and above.
    if log::max_level() >= log::LevelFilter::Warn {
        eprintln!("arcbox-fuse: {watching}");
    }
    backing.attach(session.device());
    let running = session
        .with_stale_attrs(Box::new(|fs, report| fs.take_stale_attrs(report)))
        .spawn()?;
    // Changes made on the host behind the guest's back: drop the kernel's
    // cached entries for them (inotify / fanotify → FUSE_NOTIFY_INVAL_*).
    if running.fs().host().has_watcher() {
        running.spawn_periodic(Duration::from_millis(20), |fs, notifier| {
            // Expire changed names (never d_invalidate, which would detach
            // mounts), and drop pages and attributes only for data changes
            // another process made (fanotify tells; inotify reports none).
            // Collected first, sent after the drain (see `forward_host_changes`).
            let _ = arcbox_fs_fusedev::notify::forward_host_changes(fs, notifier);
        })?;
    }
    let stopper = running.stopper();
    if let Err(e) = log_passthrough_mode(&running, st.passthrough, kp)
        .and_then(|()| log_io_uring_mode(&running, st.io_uring))
    {
        let _ = stopper.unmount();
        let _ = running.join();
        return Err(e.into());
    }
    let summary = std::sync::Arc::new(running.summary_fn());
    let on_signal = summary.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || wait_for_signals(set, stopper, move || on_signal()))?;
    let served = running.join();
    log::info!("stats at exit:\n{}", summary());
    served?;
    Ok(())
}
