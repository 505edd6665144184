//! The daemon's logger (`--log-level`): `[arcbox-virtiofsd LEVEL] message`
//! lines on stderr, or syslog with `--syslog` (`arcbox_fs_daemon::syslog`).

use log::{LevelFilter, Log, Metadata, Record};

struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("[arcbox-virtiofsd {}] {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;

/// Installs the logger at `level`: syslog(3) when `syslog`, else stderr. A
/// second call only changes the level.
pub fn init(level: LevelFilter, syslog: bool) {
    if syslog {
        arcbox_fs_daemon::syslog::init(c"arcbox-virtiofsd", level);
        return;
    }
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
