//! FUSE-over-io_uring (Linux 6.14+, fs/fuse/dev_uring.c): requests reach
//! the server as completions of `IORING_OP_URING_CMD` submissions instead
//! of `read(2)` on `/dev/fuse`, and each reply goes back with the command
//! that fetches the next request (`FUSE_IO_URING_CMD_COMMIT_AND_FETCH`).
//!
//! - The kernel offers `FUSE_OVER_IO_URING` at INIT only where the `fuse`
//!   module's `enable_uring` parameter is Y; the session asks for it only
//!   if it could make a ring per possible CPU beforehand.
//! - After the INIT reply, one thread per queue (pinned to its CPU; the
//!   kernel queues a request on the ring of the CPU its caller runs on)
//!   registers its entries (`FUSE_IO_URING_CMD_REGISTER`). Once every queue
//!   has one, the kernel sends requests through the rings.
//! - `/dev/fuse` stays in use: INIT, FORGET and INTERRUPT still come through
//!   it (the kernel's `fuse_io_uring_ops`), and notifications are written to
//!   it. The session's `/dev/fuse` workers keep running.
//! - A request is parsed from the entry's buffers and served by the same
//!   [`arcbox_fs::FuseDispatcher`] as on `/dev/fuse`; WRITE data is handed
//!   to the host straight from the ring payload and READ data lands in it.
//! - `SETLKW` (a lock wait, possibly forever) is served on a thread of its
//!   own, which hands the entry back to the queue thread for the commit: a
//!   queue never stalls behind a lock, so the unlock that ends the wait (and
//!   the INTERRUPT, which arrives on `/dev/fuse`) is still served.
//! - If anything fails after INIT the session falls back to `/dev/fuse`: a
//!   failed REGISTER makes the kernel drop io_uring for the connection.

pub(crate) mod abi;
mod buf;
pub(crate) mod queue;

use buf::EntryBuf;
use io_uring::IoUring;
use io_uring::squeue::Entry128;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

/// Where the kernel says whether FUSE-over-io_uring may be used.
pub const ENABLE_URING_PARAM: &str = "/sys/module/fuse/parameters/enable_uring";

/// Entries per queue (requests one queue can hold at once).
pub const DEFAULT_QUEUE_DEPTH: usize = 8;

/// Whether a session serves requests through io_uring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IoUringMode {
    /// `/dev/fuse` only.
    #[default]
    Off,
    /// io_uring where the kernel allows it, `/dev/fuse` otherwise.
    Auto,
    /// io_uring, or [`crate::Session::new`] fails where it cannot be set up.
    On,
}

/// What a session's io_uring transport is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IoUringState {
    /// Not used, and why.
    Off(String),
    /// Rings ready, waiting for INIT and the registration.
    Pending,
    /// Every queue registered: requests come through `queues` rings.
    On {
        /// Queues (one per possible CPU).
        queues: usize,
    },
    /// Set up but refused after INIT (requests go through `/dev/fuse`).
    Failed(String),
}

/// Checks the `fuse` module's `enable_uring` parameter.
///
/// Errors: a one-line reason where it is not `Y` or cannot be read.
pub fn module_enabled() -> Result<(), String> {
    match std::fs::read_to_string(ENABLE_URING_PARAM) {
        Ok(s) if s.trim() == "Y" => Ok(()),
        Ok(s) => Err(format!("{ENABLE_URING_PARAM} is {}", s.trim())),
        Err(e) => Err(format!("cannot read {ENABLE_URING_PARAM}: {e}")),
    }
}

/// The number of queues the kernel expects: `num_possible_cpus()`, the
/// highest CPU number in `/sys/devices/system/cpu/possible` plus one (the
/// kernel indexes queues by CPU number).
///
/// Errors: the file cannot be read or parsed.
pub fn possible_cpus() -> io::Result<usize> {
    let s = std::fs::read_to_string("/sys/devices/system/cpu/possible")?;
    parse_cpu_list(&s).ok_or_else(|| io::Error::other(format!("bad CPU list {s:?}")))
}

/// Highest CPU in a list like `0-3,5` plus one.
fn parse_cpu_list(s: &str) -> Option<usize> {
    let mut max: Option<usize> = None;
    for part in s.trim().split(',') {
        let last = part.rsplit('-').next()?;
        let n: usize = last.trim().parse().ok()?;
        max = Some(max.map_or(n, |m| m.max(n)));
    }
    max?.checked_add(1)
}

/// One queue's ring and entries, made before INIT.
pub(crate) struct QueueSetup {
    pub(crate) ring: IoUring<Entry128>,
    pub(crate) shared: Arc<QueueShared>,
}

/// What a queue thread shares with the side threads serving its blocking
/// requests.
pub(crate) struct QueueShared {
    /// The entries' buffers (index = the CQE's `user_data`).
    pub(crate) bufs: Vec<EntryBuf>,
    /// Entries a side thread has finished: (index, commit id).
    pub(crate) done: Mutex<Vec<(usize, u64)>>,
    /// Wakes the queue thread (polled on its ring) when `done` grows.
    pub(crate) wake: OwnedFd,
}

/// The rings of a session, made before INIT so that the session asks for
/// `FUSE_OVER_IO_URING` only where they exist: once the kernel agreed, new
/// requests wait until every queue registered (or one failed to).
pub(crate) struct Prepared {
    pub(crate) queues: Vec<QueueSetup>,
    pub(crate) depth: usize,
}

/// Makes one ring (`IORING_SETUP_SQE128`, room for every entry and the
/// wake-up poll) and `depth` entries of `payload_len` payload bytes for each
/// of `queues` queues.
///
/// Errors: `io_uring_setup(2)`, `eventfd(2)` or `mmap(2)` errors (e.g.
/// `ENOSYS`/`EPERM` where io_uring is disabled).
pub(crate) fn prepare(queues: usize, depth: usize, payload_len: usize) -> io::Result<Prepared> {
    let depth = depth.clamp(1, 1024);
    let sq = u32::try_from(depth + 1).unwrap_or(1025).next_power_of_two();
    let mut out = Vec::with_capacity(queues);
    for _ in 0..queues {
        let ring = IoUring::<Entry128>::builder()
            .setup_cqsize(sq * 2)
            .build(sq)?;
        let bufs = (0..depth)
            .map(|_| EntryBuf::new(payload_len))
            .collect::<io::Result<Vec<_>>>()?;
        // SAFETY: eventfd has no memory preconditions; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor owned by nothing else.
        let wake = unsafe { OwnedFd::from_raw_fd(fd) };
        out.push(QueueSetup {
            ring,
            shared: Arc::new(QueueShared {
                bufs,
                done: Mutex::new(Vec::new()),
                wake,
            }),
        });
    }
    Ok(Prepared { queues: out, depth })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n"), Some(2));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("0-3,8-11"), Some(12));
        assert_eq!(parse_cpu_list("5,2"), Some(6));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("x"), None);
        assert_eq!(parse_cpu_list("18446744073709551615"), None);
    }

    #[test]
    fn possible_cpus_reads_sysfs() {
        assert!(possible_cpus().unwrap() >= 1);
    }
}
