//! [`dump_on_signal`]: run a dump (e.g. log the dispatcher's
//! [`arcbox_fs::Stats`]) whenever the process receives a signal, by
//! convention `SIGUSR1` (`kill -USR1 <pid>`), as the daemons do.
//!
//! The signal handler only wakes a thread (signal-hook's self-pipe,
//! async-signal-safe); the dump runs on that thread, where it may lock,
//! allocate and log.

use std::io;
use std::thread::JoinHandle;

pub use signal_hook::consts::signal::SIGUSR1;

/// A running signal-dump thread; dropping it leaves the thread running, call
/// [`SignalDump::stop`] to end it.
#[derive(Debug)]
pub struct SignalDump {
    handle: signal_hook::iterator::Handle,
    thread: Option<JoinHandle<()>>,
}

impl SignalDump {
    /// Stops listening (the signal's disposition stays as installed: further
    /// signals are ignored, not fatal) and joins the thread.
    pub fn stop(mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Calls `dump` on a new thread named `sigdump` each time the process
/// receives `signal` (e.g. [`SIGUSR1`]). Several signals arriving before
/// the thread runs may be merged into one call (signal(7): standard signals
/// do not queue). Errors: the signal cannot be caught (`SIGKILL`, `SIGSTOP`,
/// `SIGSEGV`, ...: `EINVAL`), or the thread cannot start.
pub fn dump_on_signal<F>(signal: i32, dump: F) -> io::Result<SignalDump>
where
    F: Fn() + Send + 'static,
{
    // signal-hook panics on these (SIGKILL, SIGSTOP, SIGILL, SIGFPE, SIGSEGV).
    if signal_hook::consts::FORBIDDEN.contains(&signal) || signal <= 0 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut signals = signal_hook::iterator::Signals::new([signal])?;
    let handle = signals.handle();
    let thread = std::thread::Builder::new()
        .name("sigdump".into())
        .spawn(move || {
            for _ in signals.forever() {
                dump();
            }
        })?;
    Ok(SignalDump {
        handle,
        thread: Some(thread),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn sigusr1_runs_the_dump_each_time() {
        let (tx, rx) = mpsc::channel();
        let d = dump_on_signal(SIGUSR1, move || tx.send(()).unwrap()).unwrap();
        for _ in 0..3 {
            signal_hook::low_level::raise(SIGUSR1).unwrap();
            rx.recv_timeout(Duration::from_secs(10))
                .expect("the dump ran after SIGUSR1");
        }
        d.stop();
    }

    #[test]
    fn uncatchable_signal_is_an_error() {
        for s in [
            signal_hook::consts::signal::SIGKILL,
            signal_hook::consts::signal::SIGSEGV,
            0,
            -1,
        ] {
            assert!(dump_on_signal(s, || {}).is_err(), "signal {s}");
        }
    }
}
