//! `arcbox-virtiofsd`: a vhost-user virtio-fs daemon serving a host directory
//! with arcbox-fs's passthrough over Linux (flags compatible with virtiofsd).

use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
use arcbox_fs::{DispatcherConfig, FuseDispatcher};
use arcbox_fs_linux::{LinuxHost, LinuxHostConfig};
use arcbox_fs_vhost_user::args::{Args, CAPABILITIES_JSON};
use arcbox_fs_vhost_user::{VhostUserFsBackend, daemon, logger};
use arcbox_fs_virtio::{Tag, VirtioFsDevice};
use clap::Parser;
use std::os::fd::FromRawFd;
use std::process::ExitCode;
use std::time::Duration;
use vhost::vhost_user::Listener;

/// Queues offered: hiprio plus eight request queues.
const QUEUES: usize = 9;
/// Largest ring size offered.
const QUEUE_SIZE: u16 = 1024;

fn main() -> ExitCode {
    let args = Args::parse();
    if args.print_capabilities {
        println!("{CAPABILITIES_JSON}");
        return ExitCode::SUCCESS;
    }
    logger::init(args.log_level);
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            eprintln!("arcbox-virtiofsd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let dir = args.shared_dir.as_ref().ok_or("--shared-dir is required")?;
    if !dir.is_dir() {
        return Err(format!("--shared-dir {}: not a directory", dir.display()).into());
    }
    let tag = Tag::new(&args.tag).map_err(|e| format!("--tag {:?}: {e:?}", args.tag))?;
    let mut listener = match (&args.socket_path, args.fd) {
        (Some(path), None) => Listener::new(path, true)
            .map_err(|e| format!("--socket-path {}: {e}", path.display()))?,
        (None, Some(fd)) => {
            // SAFETY: F_GETFD only inspects the descriptor table.
            if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
                return Err(format!("--fd {fd}: not an open file descriptor").into());
            }
            // SAFETY: `--fd` hands this process a listening socket it now owns
            // (virtiofsd's contract); it was checked to be open just above.
            unsafe { Listener::from_raw_fd(fd) }
        }
        _ => return Err("exactly one of --socket-path and --fd is required".into()),
    };
    if args.thread_pool_size > 0 {
        log::info!(
            "--thread-pool-size {}: each queue is served by its own thread",
            args.thread_pool_size
        );
    }

    let host = LinuxHost::with_config(dir, LinuxHostConfig::default())
        .map_err(|e| format!("--shared-dir {}: {e:?}", dir.display()))?;
    let cfg = PassthroughConfig {
        xattr: args.xattr,
        announce_submounts: args.announce_submounts,
        ..PassthroughConfig::for_mode(args.cache, Duration::from_secs(1))
    };
    let fs = PassthroughFs::new(host, cfg)
        .map_err(|e| format!("--shared-dir {}: {e:?}", dir.display()))?;
    let dispatcher = FuseDispatcher::with_config(fs, DispatcherConfig::default());
    let device: VirtioFsDevice<QUEUES> = VirtioFsDevice::new(tag, QUEUE_SIZE);
    let backend = VhostUserFsBackend::new(device, dispatcher);
    log::info!("serving {} (cache {})", dir.display(), args.cache.as_str());
    daemon::serve(&mut listener, backend)?;
    Ok(())
}
