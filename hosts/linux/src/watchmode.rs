//! The daemons' `--watch` option: how host changes made behind the
//! server's back are noticed.

use crate::host::{LinuxHost, LinuxHostConfig};

/// How a daemon watches the share for changes made by other processes
/// (`--watch auto|fanotify|inotify|none`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WatchMode {
    /// One file-system-wide fanotify mark where it works (`CAP_SYS_ADMIN`,
    /// inodes held by file handle), else bounded per-directory inotify
    /// watches. Right for a daemon: it is the only program in its process,
    /// so the server's own changes are exactly the ones not reported.
    #[default]
    Auto,
    /// fanotify, or a start-up error where it cannot run.
    Fanotify,
    /// Bounded per-directory inotify watches only.
    Inotify,
    /// No watcher: host changes are seen only when cache timeouts expire.
    None,
}

impl WatchMode {
    /// Parses `auto`, `fanotify`, `inotify` or `none`.
    pub fn parse(s: &str) -> Result<WatchMode, String> {
        match s {
            "auto" => Ok(WatchMode::Auto),
            "fanotify" => Ok(WatchMode::Fanotify),
            "inotify" => Ok(WatchMode::Inotify),
            "none" => Ok(WatchMode::None),
            _ => Err(format!(
                "unknown watch mode {s:?} (auto, fanotify, inotify, none)"
            )),
        }
    }

    /// The option value naming this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            WatchMode::Auto => "auto",
            WatchMode::Fanotify => "fanotify",
            WatchMode::Inotify => "inotify",
            WatchMode::None => "none",
        }
    }

    /// Sets [`LinuxHostConfig::watch`] and [`LinuxHostConfig::fanotify`]
    /// for this mode.
    pub fn configure(self, cfg: &mut LinuxHostConfig) {
        cfg.watch = self != WatchMode::None;
        cfg.fanotify = matches!(self, WatchMode::Auto | WatchMode::Fanotify);
    }

    /// After [`LinuxHost::with_config`] with [`WatchMode::configure`]: one
    /// line saying which watcher runs (and, for `auto`, why not fanotify),
    /// or the error for `fanotify` that cannot run (naming `--watch`).
    pub fn outcome(self, host: &LinuxHost) -> Result<String, String> {
        if host.uses_fanotify() {
            return Ok(format!(
                "host changes: one fanotify mark on the share's file system (--watch {})",
                self.as_str()
            ));
        }
        let why = host
            .fanotify_error()
            .map_or_else(String::new, |e| format!(": {e}"));
        match self {
            WatchMode::Fanotify => Err(format!("--watch fanotify impossible{why}")),
            WatchMode::None => Ok("host changes: not watched (--watch none)".into()),
            _ if host.watch_cap() == 0 => Ok(format!(
                "host changes: not watched (--watch {}: inotify could not start)",
                self.as_str()
            )),
            WatchMode::Inotify => Ok(format!(
                "host changes: inotify, at most {} directories (--watch inotify)",
                host.watch_cap()
            )),
            WatchMode::Auto => Ok(format!(
                "host changes: inotify, at most {} directories (--watch auto; no fanotify{why})",
                host.watch_cap()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_configures() {
        for m in [
            WatchMode::Auto,
            WatchMode::Fanotify,
            WatchMode::Inotify,
            WatchMode::None,
        ] {
            assert_eq!(WatchMode::parse(m.as_str()), Ok(m));
        }
        assert!(WatchMode::parse("kqueue").is_err());
        let mut c = LinuxHostConfig::default();
        WatchMode::None.configure(&mut c);
        assert!(!c.watch && !c.fanotify);
        WatchMode::Inotify.configure(&mut c);
        assert!(c.watch && !c.fanotify);
        WatchMode::Auto.configure(&mut c);
        assert!(c.watch && c.fanotify);
    }
}
