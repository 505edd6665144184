//! FUSE_INTERRUPT support: which worker runs which request, and waking a
//! worker blocked in a host call (a `F_SETLKW` lock wait, a read from a FIFO)
//! with a thread-directed signal whose handler does nothing, installed without
//! `SA_RESTART`: the blocked system call fails with `EINTR`, the filesystem
//! replies `EINTR`, and the interrupted caller is released.
//!
//! Without this a process killed while waiting for a lock on the mount would
//! hang: the kernel waits uninterruptibly for the reply to a request it has
//! already handed to the server.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// `unique` of "no request" (the kernel never uses 0 for a request).
const IDLE: u64 = 0;

/// Per-worker slots: the request each worker is handling and its thread.
#[derive(Debug)]
pub(crate) struct InFlight {
    running: Box<[AtomicU64]>,
    threads: Mutex<Vec<Option<libc::pthread_t>>>,
    signal: Option<libc::c_int>,
}

extern "C" fn wake_handler(_sig: libc::c_int) {}

fn install_handler(sig: libc::c_int) -> std::io::Result<()> {
    // Signals whose handler this process installed (bit n: signal n).
    static INSTALLED: Mutex<u128> = Mutex::new(0);
    let bit = u32::try_from(sig)
        .ok()
        .filter(|&s| s < 128)
        .map(|s| 1u128 << s);
    let bit = bit.ok_or_else(|| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let mut installed = INSTALLED
        .lock()
        .map_err(|_| std::io::Error::other("signal table poisoned"))?;
    if *installed & bit != 0 {
        return Ok(());
    }
    // SAFETY: sigaction is plain data; all-zero is a valid starting value.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = wake_handler as *const () as libc::sighandler_t;
    sa.sa_flags = 0; // no SA_RESTART: blocked calls return EINTR.
    // SAFETY: sa_mask is a valid sigset_t inside `sa`.
    unsafe { libc::sigemptyset(&mut sa.sa_mask) };
    // SAFETY: `sa` is a fully initialised sigaction; the handler is
    // async-signal-safe (it does nothing).
    if unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    *installed |= bit;
    Ok(())
}

impl InFlight {
    /// Slots for `workers` workers; `signal` wakes interrupted workers (none:
    /// interrupts are only passed to the filesystem).
    pub(crate) fn new(workers: usize, signal: Option<libc::c_int>) -> std::io::Result<InFlight> {
        if let Some(sig) = signal {
            install_handler(sig)?;
        }
        Ok(InFlight {
            running: (0..workers).map(|_| AtomicU64::new(IDLE)).collect(),
            threads: Mutex::new(vec![None; workers]),
            signal,
        })
    }

    /// Records the calling thread as worker `slot`.
    pub(crate) fn register(&self, slot: usize) {
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() };
        if let Ok(mut t) = self.threads.lock()
            && let Some(s) = t.get_mut(slot)
        {
            *s = Some(me);
        }
    }

    /// Forgets worker `slot`'s thread (it is about to exit).
    pub(crate) fn unregister(&self, slot: usize) {
        if let Ok(mut t) = self.threads.lock()
            && let Some(s) = t.get_mut(slot)
        {
            *s = None;
        }
    }

    /// Worker `slot` starts request `unique`.
    pub(crate) fn begin(&self, slot: usize, unique: u64) {
        if let Some(r) = self.running.get(slot) {
            r.store(unique, Ordering::Release);
        }
    }

    /// Worker `slot` is done with its request.
    pub(crate) fn end(&self, slot: usize) {
        if let Some(r) = self.running.get(slot) {
            r.store(IDLE, Ordering::Release);
        }
    }

    /// The worker running `unique`, if any.
    pub(crate) fn find(&self, unique: u64) -> Option<usize> {
        if unique == IDLE {
            return None;
        }
        self.running
            .iter()
            .position(|r| r.load(Ordering::Acquire) == unique)
    }

    /// Wakes the worker running `unique` out of a blocking host call. Returns
    /// whether a worker was signalled. A signal sent just before the worker
    /// blocks is lost (the request then completes normally).
    pub(crate) fn interrupt(&self, unique: u64) -> bool {
        let (Some(sig), Some(slot)) = (self.signal, self.find(unique)) else {
            return false;
        };
        let Ok(threads) = self.threads.lock() else {
            return false;
        };
        // Re-check under the lock: the worker cannot exit (unregister) meanwhile,
        // so its pthread_t is still valid.
        match threads.get(slot).copied().flatten() {
            Some(t) if self.find(unique) == Some(slot) => {
                // SAFETY: `t` is a live thread (registered, not unregistered,
                // and unregistering takes the lock we hold); the signal has a
                // handler installed in `new`.
                unsafe { libc::pthread_kill(t, sig) == 0 }
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::sync::Arc;

    #[test]
    fn tracks_requests_per_worker() {
        let f = InFlight::new(3, None).unwrap();
        f.begin(1, 42);
        assert_eq!(f.find(42), Some(1));
        assert_eq!(f.find(0), None);
        assert!(!f.interrupt(42), "no signal configured");
        f.end(1);
        assert_eq!(f.find(42), None);
        f.begin(7, 1); // out of range: ignored, no panic
    }

    #[test]
    fn signal_breaks_a_blocking_call() {
        let sig = libc::SIGRTMIN() + 3;
        let f = Arc::new(InFlight::new(1, Some(sig)).unwrap());
        let (r, _w) = std::os::unix::net::UnixStream::pair().unwrap();
        let f2 = Arc::clone(&f);
        let t = std::thread::spawn(move || {
            f2.register(0);
            f2.begin(0, 9);
            let mut b = [0u8; 1];
            // Blocks: nobody writes. Only the signal ends it.
            // SAFETY: reads into a live local buffer.
            let n = unsafe { libc::read(r.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
            let err = std::io::Error::last_os_error().raw_os_error();
            f2.end(0);
            f2.unregister(0);
            (n, err)
        });
        // Keep signalling until the reader has returned (a signal sent before
        // it blocked is lost by design), paced: a real-time signal queues
        // per send, and sending as fast as possible filled the user's
        // queue (RLIMIT_SIGPENDING) so that the reader did nothing but run
        // handlers for minutes on a loaded machine.
        while !t.is_finished() {
            f.interrupt(9);
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let (n, err) = t.join().unwrap();
        assert_eq!((n, err), (-1, Some(libc::EINTR)));
    }
}
