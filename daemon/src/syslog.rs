//! A `log` backend writing to syslog(3) (`LOG_DAEMON` facility), for the
//! daemons' `--syslog`.
//!
//! [`init`] calls `openlog(3)` with `LOG_NDELAY`, so the connection to
//! `/dev/log` is made at once and survives entering the sandbox (where
//! `/dev/log` no longer exists).

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::ffi::{CStr, CString};

struct SyslogLogger;

fn priority(level: Level) -> libc::c_int {
    match level {
        Level::Error => libc::LOG_ERR,
        Level::Warn => libc::LOG_WARNING,
        Level::Info => libc::LOG_INFO,
        Level::Debug | Level::Trace => libc::LOG_DEBUG,
    }
}

impl Log for SyslogLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // A NUL inside the message would end it early: replace it.
        let text = record.args().to_string().replace('\0', "\\0");
        let Ok(msg) = CString::new(text) else {
            return;
        };
        // SAFETY: both pointers are NUL-terminated strings that outlive the
        // call, and the "%s" format consumes exactly the one argument.
        unsafe { libc::syslog(priority(record.level()), c"%s".as_ptr(), msg.as_ptr()) };
    }

    fn flush(&self) {}
}

static LOGGER: SyslogLogger = SyslogLogger;

/// Opens the syslog connection under `ident` (which must live for the whole
/// process: syslog(3) keeps the pointer) and installs the logger at
/// `level`. Returns false when another logger was installed first.
pub fn init(ident: &'static CStr, level: LevelFilter) -> bool {
    // SAFETY: `ident` is a NUL-terminated string with 'static lifetime, as
    // openlog(3) requires.
    unsafe {
        libc::openlog(
            ident.as_ptr(),
            libc::LOG_PID | libc::LOG_NDELAY,
            libc::LOG_DAEMON,
        )
    };
    let installed = log::set_logger(&LOGGER).is_ok();
    log::set_max_level(level);
    installed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_syslog_priorities() {
        assert_eq!(priority(Level::Error), libc::LOG_ERR);
        assert_eq!(priority(Level::Warn), libc::LOG_WARNING);
        assert_eq!(priority(Level::Trace), libc::LOG_DEBUG);
    }
}
