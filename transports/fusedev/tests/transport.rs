//! The transport against the kernel's FUSE client, with a tiny in-test
//! filesystem: mount, parallel reads, readdir, INTERRUPT, unmount.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::abi::{Attr, FopenFlags, mode};
use arcbox_fs::dirent::DirSink;
use arcbox_fs::{
    AttrReply, Context, Entry, Errno, Fh, FileSystem, Name, NodeId, OpenArgs, Opened, ReplyData,
};
use arcbox_fs_fusedev::{MountOptions, Session, SessionConfig};
use common::{TempDir, can_mount, fuse_mounts_under};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const HELLO: u64 = 2;
const SLOW: u64 = 3;
const CONTENT: &[u8] = b"hello from arcbox-fs over /dev/fuse\n";

/// Root with `hello` (fixed content) and `slow` (a read that blocks until
/// the worker is interrupted, or until someone reads `hello`).
struct TinyFs {
    /// Read end of a socket nobody writes to: reading `slow` blocks on it.
    never: OwnedFd,
    wake: UnixStream,
    slow_entered: AtomicBool,
    interrupts: AtomicUsize,
}

impl TinyFs {
    fn new() -> TinyFs {
        let (a, b) = UnixStream::pair().unwrap();
        // Never block the worker that wakes `slow` (the buffer fills up).
        b.set_nonblocking(true).unwrap();
        TinyFs {
            never: OwnedFd::from(a),
            wake: b,
            slow_entered: AtomicBool::new(false),
            interrupts: AtomicUsize::new(0),
        }
    }

    fn attr(node: NodeId) -> Option<Attr> {
        let (m, size) = match node {
            1 => (mode::S_IFDIR | 0o755, 0),
            HELLO => (mode::S_IFREG | 0o644, CONTENT.len() as u64),
            SLOW => (mode::S_IFREG | 0o644, 4096),
            _ => return None,
        };
        Some(Attr {
            ino: node,
            size,
            mode: m,
            nlink: 1,
            blksize: 4096,
            ..Attr::default()
        })
    }
}

impl FileSystem for TinyFs {
    fn lookup(&self, _: &Context, parent: NodeId, name: Name<'_>) -> Result<Entry, Errno> {
        let node = match (parent, name.as_bytes()) {
            (1, b"hello") => HELLO,
            (1, b"slow") => SLOW,
            _ => return Err(Errno::ENOENT),
        };
        let attr = TinyFs::attr(node).ok_or(Errno::ENOENT)?;
        Ok(Entry {
            nodeid: node,
            attr,
            entry_valid: Duration::from_secs(60),
            attr_valid: Duration::from_secs(60),
            ..Entry::default()
        })
    }

    fn getattr(&self, _: &Context, node: NodeId, _: Option<Fh>) -> Result<AttrReply, Errno> {
        Ok(AttrReply {
            attr: TinyFs::attr(node).ok_or(Errno::ENOENT)?,
            valid: Duration::from_secs(60),
        })
    }

    fn open(&self, _: &Context, node: NodeId, _: &OpenArgs) -> Result<Opened, Errno> {
        // Direct I/O for `slow`: its reads are synchronous requests the
        // caller waits for interruptibly (page-cache reads are not).
        let flags = if node == SLOW {
            FopenFlags::DIRECT_IO
        } else {
            FopenFlags::empty()
        };
        TinyFs::attr(node)
            .map(|_| Opened {
                fh: node,
                flags,
                ..Opened::default()
            })
            .ok_or(Errno::ENOENT)
    }

    fn release(&self, _: &Context, _: NodeId, _: Fh, _: u32, _: u32, _: u64) -> Result<(), Errno> {
        Ok(())
    }

    fn read(
        &self,
        _: &Context,
        node: NodeId,
        _: Fh,
        off: u64,
        out: &mut ReplyData<'_>,
        _: Option<u64>,
        _: u32,
    ) -> Result<(), Errno> {
        if node == SLOW {
            self.slow_entered.store(true, Ordering::SeqCst);
            let mut b = [0u8; 1];
            // Blocks until a signal interrupts it or a read of `hello` writes
            // to the socket.
            // SAFETY: reads into a live local buffer from an fd we own.
            let n = unsafe { libc::read(self.never.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
            return if n == 1 {
                out.write(b"woken")
            } else {
                Err(Errno::EINTR)
            };
        }
        if node == HELLO {
            let _ = (&self.wake).write(b"w");
        }
        let start = (off as usize).min(CONTENT.len());
        let end = (start + out.remaining()).min(CONTENT.len());
        out.write(&CONTENT[start..end])
    }

    fn opendir(&self, _: &Context, node: NodeId, _: &OpenArgs) -> Result<Opened, Errno> {
        if node == 1 {
            Ok(Opened::default())
        } else {
            Err(Errno::ENOTDIR)
        }
    }

    fn releasedir(&self, _: &Context, _: NodeId, _: Fh, _: u32) -> Result<(), Errno> {
        Ok(())
    }

    fn readdir(
        &self,
        _: &Context,
        _: NodeId,
        _: Fh,
        offset: u64,
        out: &mut DirSink<'_>,
    ) -> Result<(), Errno> {
        let all: [(u64, &[u8], u32); 4] = [
            (1, b".", 4),
            (1, b"..", 4),
            (HELLO, b"hello", 8),
            (SLOW, b"slow", 8),
        ];
        for (i, (ino, name, typ)) in all.iter().enumerate().skip(offset as usize) {
            if !out.add(*ino, i as u64 + 1, *typ, name)? {
                break;
            }
        }
        Ok(())
    }

    fn interrupt(&self, _: &Context, _: u64) {
        self.interrupts.fetch_add(1, Ordering::SeqCst);
    }
}

fn config(threads: usize) -> SessionConfig {
    SessionConfig {
        threads,
        ..SessionConfig::default()
    }
}

#[test]
fn serves_reads_and_readdir_in_parallel_then_unmounts() {
    if !can_mount("serves_reads_and_readdir_in_parallel_then_unmounts") {
        return;
    }
    let tmp = TempDir::new("transport");
    let mnt = tmp.sub("mnt");
    let running = Session::mount(TinyFs::new(), &mnt, &MountOptions::default(), config(3))
        .unwrap()
        .spawn()
        .unwrap();
    assert_eq!(fuse_mounts_under(&mnt).len(), 1);
    assert_eq!(fuse_mounts_under(&mnt)[0].1, "fuse.arcbox");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..200 {
                    assert_eq!(std::fs::read(mnt.join("hello")).unwrap(), CONTENT);
                }
            });
        }
    });
    let mut names: Vec<_> = std::fs::read_dir(&mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["hello", "slow"]);
    assert_eq!(
        std::fs::metadata(mnt.join("missing"))
            .unwrap_err()
            .raw_os_error(),
        Some(libc::ENOENT)
    );
    assert!(running.dispatcher().negotiated_minor().is_some());
    assert!(running.stats().requests.load(Ordering::Relaxed) > 4);
    assert_eq!(running.stats().dropped.load(Ordering::Relaxed), 0);
    let stopper = running.stopper();
    stopper.unmount().unwrap();
    // Unmounting ends the connection: the workers read ENODEV and stop.
    running.join().unwrap();
    assert!(fuse_mounts_under(&mnt).is_empty());
}

extern "C" fn noop(_: libc::c_int) {}

#[test]
fn interrupt_wakes_a_worker_blocked_in_the_filesystem() {
    if !can_mount("interrupt_wakes_a_worker_blocked_in_the_filesystem") {
        return;
    }
    let tmp = TempDir::new("interrupt");
    let mnt = tmp.sub("mnt");
    let running = Session::mount(TinyFs::new(), &mnt, &MountOptions::default(), config(2))
        .unwrap()
        .spawn()
        .unwrap();
    // The caller's signal: a handler, so it does not kill the test.
    // SAFETY: installs a no-op, async-signal-safe handler for SIGUSR2.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = noop as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGUSR2, &sa, std::ptr::null_mut());
    }
    // Hang guard: if the interrupt never arrives, abort the connection so
    // the test fails instead of hanging.
    let stopper = running.stopper();
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let done2 = std::sync::Arc::clone(&done);
    std::thread::spawn(move || {
        for _ in 0..600 {
            if done2.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = stopper.abort();
    });
    let path = mnt.join("slow");
    let reader = std::thread::spawn(move || {
        let mut f = std::fs::File::open(path).unwrap();
        let mut b = [0u8; 16];
        std::io::Read::read(&mut f, &mut b).map_err(|e| e.raw_os_error())
    });
    while !running.fs().slow_entered.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    use std::os::unix::thread::JoinHandleExt;
    let tid = reader.as_pthread_t();
    // The kernel sends INTERRUPT when the blocked caller gets a signal; the
    // transport wakes the worker, whose read fails with EINTR.
    while !reader.is_finished() {
        // SAFETY: `tid` is the reader thread, alive until is_finished.
        unsafe { libc::pthread_kill(tid, libc::SIGUSR2) };
        std::thread::sleep(Duration::from_millis(5));
    }
    done.store(true, Ordering::SeqCst);
    assert_eq!(reader.join().unwrap(), Err(Some(libc::EINTR)));
    assert!(running.fs().interrupts.load(Ordering::SeqCst) >= 1);
    assert!(running.stats().interrupts_signalled.load(Ordering::Relaxed) >= 1);
    drop(running);
    assert!(fuse_mounts_under(&mnt).is_empty());
}

#[test]
fn a_blocked_worker_does_not_starve_the_connection() {
    if !can_mount("a_blocked_worker_does_not_starve_the_connection") {
        return;
    }
    let tmp = TempDir::new("starve");
    let mnt = tmp.sub("mnt");
    // One worker to start with: reading `slow` blocks it until `hello` is
    // read, which only a worker started on demand can serve.
    let cfg = SessionConfig {
        threads: 1,
        max_threads: 4,
        ..SessionConfig::default()
    };
    let running = Session::mount(TinyFs::new(), &mnt, &MountOptions::default(), cfg)
        .unwrap()
        .spawn()
        .unwrap();
    let path = mnt.join("slow");
    // One read call (a second one would block again).
    let reader = std::thread::spawn(move || {
        let mut b = [0u8; 16];
        let n = std::io::Read::read(&mut std::fs::File::open(path)?, &mut b)?;
        Ok::<_, std::io::Error>(b[..n].to_vec())
    });
    while !running.fs().slow_entered.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    assert_eq!(std::fs::read(mnt.join("hello")).unwrap(), CONTENT);
    assert_eq!(reader.join().unwrap().unwrap(), b"woken");
    assert!(running.workers_started() >= 2);
    drop(running);
    assert!(fuse_mounts_under(&mnt).is_empty());
}
