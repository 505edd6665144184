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
use arcbox_fs::passthrough::{CacheMode, Invalidation, PassthroughConfig, PassthroughFs};
use arcbox_fs_fusedev::{MountOptions, Session, SessionConfig, Stopper};
use arcbox_fs_linux::LinuxHost;
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
    /// Largest WRITE request in bytes (request buffers are this plus 4 KiB).
    #[arg(long, default_value_t = 1 << 20)]
    max_write: u32,
    /// Name shown as the mount's source in /proc/mounts.
    #[arg(long, default_value = "arcbox-fs")]
    fsname: String,
}

fn parse_cache(s: &str) -> Result<CacheMode, String> {
    CacheMode::parse(s)
        .ok_or_else(|| format!("unknown cache mode {s:?} (never, metadata, auto, always)"))
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
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    set
}

/// Waits for termination signals: the first unmounts, later ones abort.
fn wait_for_signals(set: libc::sigset_t, stopper: Stopper) {
    let mut first = true;
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: `set` is initialised and blocked in every thread; `sig` is a
        // live local.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            continue;
        }
        if first {
            eprintln!("arcbox-fuse: signal {sig}: unmounting");
            if let Err(e) = stopper.unmount() {
                eprintln!("arcbox-fuse: unmount failed: {e}");
            }
            first = false;
        } else {
            eprintln!("arcbox-fuse: signal {sig}: aborting the connection");
            if let Err(e) = stopper.abort() {
                eprintln!("arcbox-fuse: abort failed: {e}");
            }
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arcbox-fuse: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    if !args.timeout.is_finite() || args.timeout < 0.0 {
        return Err(format!("invalid --timeout {}", args.timeout).into());
    }
    let mut pcfg = PassthroughConfig::for_mode(args.cache, Duration::from_secs_f64(args.timeout));
    pcfg.writeback_cache = args.writeback;
    pcfg.xattr = !args.no_xattr;
    pcfg.readdirplus = !args.no_readdirplus;
    let host = LinuxHost::new(&args.src)
        .map_err(|e| format!("cannot share {}: {e}", args.src.display()))?;
    let fs = PassthroughFs::new(host, pcfg)
        .map_err(|e| format!("cannot share {}: {e}", args.src.display()))?;
    let opts = MountOptions {
        fsname: args.fsname.clone(),
        allow_other: args.allow_other,
        default_permissions: args.default_permissions,
        read_only: args.read_only,
        ..MountOptions::default()
    };
    let defaults = SessionConfig::default();
    let config = SessionConfig {
        threads: args.threads.unwrap_or(defaults.threads).max(1),
        dispatcher: DispatcherConfig {
            max_write: args.max_write.clamp(4096, 1 << 20),
            ..DispatcherConfig::default()
        },
        ..defaults
    };
    let set = termination_signals();
    let running = Session::mount(fs, &args.mnt, &opts, config)?
        .with_stale_attrs(Box::new(|fs, report| fs.take_stale_attrs(report)))
        .spawn()?;
    // Changes made on the host behind the guest's back: drop the kernel's
    // cached entries for them (inotify → FUSE_NOTIFY_INVAL_*).
    if running.fs().host().has_watcher() {
        running.spawn_periodic(Duration::from_millis(20), |fs, notifier| {
            // inotify cannot tell our own changes from others', so only the
            // harmless kind of invalidation is sent: expire a name (never
            // d_invalidate, which would detach mounts on it), and never drop
            // an inode's pages or attributes under in-flight writes.
            let expire_only = fs.negotiated().contains(InitFlags::HAS_EXPIRE_ONLY);
            if !expire_only {
                return;
            }
            // Collect first, send after: a notification can block in the
            // kernel on a directory lock held by a request whose worker needs
            // the host's watcher lock, which the drain callback holds.
            let mut stale: Vec<(u64, Vec<u8>)> = Vec::new();
            fs.process_host_changes(&mut |inv| {
                if let Invalidation::Entry { parent, name } = inv {
                    stale.push((parent, name.as_bytes().to_vec()));
                }
            });
            for (parent, name) in &stale {
                if let Ok(n) = arcbox_fs::Name::new(name) {
                    // ENOENT: the kernel had nothing cached; nothing to do.
                    let _ = notifier.inval_entry(*parent, n, true);
                }
            }
        })?;
    }
    let stopper = running.stopper();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || wait_for_signals(set, stopper))?;
    running.join()?;
    Ok(())
}
