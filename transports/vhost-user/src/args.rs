//! Command-line flags of `arcbox-virtiofsd`, compatible with virtiofsd's
//! common ones (`--socket-path`, `--fd`, `--shared-dir`, `--cache`,
//! `--thread-pool-size`, `--announce-submounts`, `--xattr`, `--log-level`,
//! `--print-capabilities`, `--help`). Unknown flags and conflicting ones
//! (`--socket-path` with `--fd`) are refused with a clear message.

use arcbox_fs::passthrough::CacheMode;
use clap::Parser;
use std::path::PathBuf;

/// What `--print-capabilities` prints: the vhost-user backend description
/// (docs/interop/vhost-user.json in QEMU).
pub const CAPABILITIES_JSON: &str = "{\n  \"type\": \"fs\"\n}";

/// The daemon's flags.
#[derive(Debug, Clone, Parser, PartialEq, Eq)]
#[command(
    name = "arcbox-virtiofsd",
    version,
    about = "vhost-user virtio-fs daemon (arcbox-fs)"
)]
pub struct Args {
    /// vhost-user socket path to listen on.
    #[arg(long, value_name = "PATH", conflicts_with = "fd", required_unless_present_any = ["fd", "print_capabilities"])]
    pub socket_path: Option<PathBuf>,

    /// File descriptor of an already listening vhost-user socket.
    #[arg(long, value_name = "FD")]
    pub fd: Option<i32>,

    /// Directory to share with the guest.
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "print_capabilities"
    )]
    pub shared_dir: Option<PathBuf>,

    /// How much the guest may cache: never, metadata, auto or always.
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = parse_cache)]
    pub cache: CacheMode,

    /// Worker threads per queue; 0 (virtiofsd's default) serves each queue on
    /// the thread its kicks wake.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub thread_pool_size: usize,

    /// Tell the guest about mount points inside the share (submounts).
    #[arg(long)]
    pub announce_submounts: bool,

    /// Serve extended attributes.
    #[arg(long)]
    pub xattr: bool,

    /// virtio-fs tag reported in the config space (QEMU sets its own).
    #[arg(long, value_name = "TAG", default_value = "arcbox")]
    pub tag: String,

    /// Log level: error, warn, info, debug, trace or off.
    #[arg(long, value_name = "LEVEL", default_value = "info", value_parser = parse_level)]
    pub log_level: log::LevelFilter,

    /// Print the vhost-user backend capabilities as JSON and exit.
    #[arg(long)]
    pub print_capabilities: bool,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("arcbox-virtiofsd").chain(args.iter().copied()))
    }

    #[test]
    fn accepts_virtiofsd_flags() {
        let a = parse(&[
            "--socket-path=/tmp/s",
            "--shared-dir",
            "/srv",
            "--cache=never",
            "--thread-pool-size=4",
            "--announce-submounts",
            "--xattr",
            "--log-level=debug",
        ])
        .expect("parse");
        assert_eq!(a.socket_path, Some(PathBuf::from("/tmp/s")));
        assert_eq!(a.shared_dir, Some(PathBuf::from("/srv")));
        assert_eq!(a.cache, CacheMode::Never);
        assert_eq!(a.thread_pool_size, 4);
        assert!(a.announce_submounts && a.xattr);
        assert_eq!(a.log_level, log::LevelFilter::Debug);
        let b = parse(&["--fd=3", "--shared-dir=/srv"]).expect("parse");
        assert_eq!(b.fd, Some(3));
        assert_eq!(b.cache, CacheMode::Auto);
    }

    #[test]
    fn refuses_unknown_conflicting_and_missing_flags() {
        assert!(parse(&["--socket-path=/s", "--shared-dir=/d", "--bogus"]).is_err());
        assert!(parse(&["--socket-path=/s", "--fd=3", "--shared-dir=/d"]).is_err());
        assert!(parse(&["--shared-dir=/d"]).is_err());
        assert!(parse(&["--socket-path=/s"]).is_err());
        assert!(parse(&["--socket-path=/s", "--shared-dir=/d", "--cache=sometimes"]).is_err());
        assert!(parse(&["--socket-path=/s", "--shared-dir=/d", "--log-level=loud"]).is_err());
        assert!(parse(&["--print-capabilities"]).is_ok());
    }
}
