//! FUSE-over-io_uring with the kernel's own client: `--io-uring on` serves
//! a workload through the rings (the stats summary counts them), a lock
//! wait does not stall its ring queue, and `--io-uring off` or the `fuse`
//! module's `enable_uring=N` fall back to `/dev/fuse`.
//!
//! The tests flip `/sys/module/fuse/parameters/enable_uring` (global to the
//! machine) and restore it; they run one at a time.
#![allow(clippy::unwrap_used)]

mod common;

use common::{BOUND, TempDir, can_mount, fuse_mounts_under, lazy_umount};
use std::fs;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PARAM: &str = "/sys/module/fuse/parameters/enable_uring";

/// Serialises the tests of this file (they share the module parameter).
static SERIAL: Mutex<()> = Mutex::new(());

/// Sets the module parameter; restores the old value on drop.
struct Param(String);

impl Param {
    fn set(v: &str) -> Option<Param> {
        let old = fs::read_to_string(PARAM).ok()?;
        fs::write(PARAM, v).ok()?;
        Some(Param(old.trim().to_string()))
    }
}

impl Drop for Param {
    fn drop(&mut self) {
        let _ = fs::write(PARAM, &self.0);
    }
}

/// Whether the test can run; a loud SKIPPED line if not.
fn usable(test: &str) -> bool {
    if !can_mount(test) {
        return false;
    }
    if !Path::new(PARAM).exists() {
        eprintln!("\n*** SKIPPED {test}: {PARAM} missing (kernel without FUSE io_uring) ***\n");
        return false;
    }
    true
}

/// `arcbox-fuse src mnt args...` with stderr captured; waits for the mount.
fn start(src: &Path, mnt: &Path, args: &[&str]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_arcbox-fuse"))
        .arg(src)
        .arg(mnt)
        .args(["--log-level", "info"])
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while fuse_mounts_under(mnt).is_empty() {
        if let Some(st) = child.try_wait().unwrap() {
            panic!("arcbox-fuse exited early: {st}: {}", stderr(&mut child));
        }
        assert!(t.elapsed() < Duration::from_secs(30), "not mounted");
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

fn stderr(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut s);
    }
    s
}

/// SIGTERM, wait, and the daemon's stderr.
fn stop(mut child: Child, mnt: &Path) -> String {
    // SAFETY: kill(2) on our own child; no memory is involved.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let st = child.wait().unwrap();
    let err = stderr(&mut child);
    if !fuse_mounts_under(mnt).is_empty() {
        lazy_umount(mnt);
    }
    assert!(st.success(), "status {st}, stderr:\n{err}");
    err
}

/// The "N served by io_uring" figure of the summary at exit.
fn ring_served(err: &str) -> u64 {
    let exit = err
        .find("stats at exit:")
        .unwrap_or_else(|| panic!("no summary:\n{err}"));
    let tail = &err[exit..];
    let end = tail
        .find(" served by io_uring")
        .unwrap_or_else(|| panic!("no ring counter:\n{err}"));
    let start = tail[..end].rfind(' ').map_or(0, |i| i + 1);
    tail[start..end].parse().unwrap()
}

fn pin_to_cpu0() {
    // SAFETY: cpu_set_t is plain data; CPU_SET bounds-checks; the set is
    // live for the call.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// An OFD write lock on all of `f` (`F_OFD_SETLK` or, waiting, `F_OFD_SETLKW`).
fn ofd_lock(f: &fs::File, wait: bool, typ: i32) -> std::io::Result<()> {
    // SAFETY: flock is plain data; all-zero is a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = typ as i16;
    fl.l_whence = libc::SEEK_SET as i16;
    let cmd = if wait {
        libc::F_OFD_SETLKW
    } else {
        libc::F_OFD_SETLK
    };
    // SAFETY: a valid descriptor and a live flock struct.
    if unsafe { libc::fcntl(f.as_raw_fd(), cmd, &fl) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Runs `f` on a thread pinned to CPU 0 (the ring queue of CPU 0 gets its
/// requests) and waits at most [`BOUND`] for it.
fn on_cpu0<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        pin_to_cpu0();
        let _ = tx.send(f());
    });
    rx.recv_timeout(BOUND)
        .unwrap_or_else(|_| panic!("{what}: no answer within {BOUND:?}"))
}

#[test]
fn ring_serves_a_workload_and_lock_waits_do_not_stall_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !usable("ring_serves_a_workload_and_lock_waits_do_not_stall_it") {
        return;
    }
    let _param = Param::set("Y").expect("set enable_uring");
    let tmp = TempDir::new("uring");
    let src = tmp.sub("src");
    let mnt = tmp.sub("mnt");
    fs::write(src.join("seed"), b"seed").unwrap();
    let child = start(&src, &mnt, &["--io-uring", "on"]);
    let m = mnt.clone();
    on_cpu0("workload", move || {
        // create / write / read / stat / readdir / rename / unlink
        fs::write(m.join("a"), b"hello ring").unwrap();
        assert_eq!(fs::read(m.join("a")).unwrap(), b"hello ring");
        assert_eq!(fs::metadata(m.join("a")).unwrap().size(), 10);
        fs::create_dir(m.join("d")).unwrap();
        fs::rename(m.join("a"), m.join("d/b")).unwrap();
        let mut names: Vec<_> = fs::read_dir(&m)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["d", "seed"]);
        fs::remove_file(m.join("d/b")).unwrap();
        fs::remove_dir(m.join("d")).unwrap();
        assert_eq!(fs::read(m.join("seed")).unwrap(), b"seed");
        // 1 MiB written and read back (max_write-sized requests).
        let big: Vec<u8> = (0..1u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        fs::write(m.join("big"), &big).unwrap();
        assert_eq!(fs::read(m.join("big")).unwrap(), big);
    });
    assert_eq!(fs::read(src.join("big")).unwrap().len(), 1 << 20);
    // A lock wait (SETLKW) on CPU 0's queue while other requests from CPU 0
    // are served, then the unlock (from CPU 0 too) ends it.
    fs::write(src.join("lk"), b"x").unwrap();
    let holder = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(mnt.join("lk"))
        .unwrap();
    ofd_lock(&holder, false, libc::F_WRLCK).unwrap();
    let (locked_tx, locked_rx) = mpsc::channel();
    let lk = mnt.join("lk");
    let waiter = std::thread::spawn(move || {
        pin_to_cpu0();
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(lk)
            .unwrap();
        let r = ofd_lock(&f, true, libc::F_WRLCK);
        let _ = locked_tx.send(r.map_err(|e| e.to_string()));
        drop(f);
    });
    // The waiter is blocked in SETLKW...
    assert!(
        locked_rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "the lock was granted while held"
    );
    // ...and requests on the same queue still get answers.
    let m = mnt.clone();
    on_cpu0("requests during the lock wait", move || {
        for i in 0..20 {
            fs::write(m.join(format!("during{i}")), b"y").unwrap();
            assert_eq!(fs::metadata(m.join(format!("during{i}"))).unwrap().len(), 1);
        }
    });
    on_cpu0("unlock", move || {
        ofd_lock(&holder, false, libc::F_UNLCK).unwrap();
        drop(holder);
    });
    let granted = locked_rx
        .recv_timeout(BOUND)
        .expect("the waiter got the lock after the unlock");
    assert_eq!(granted, Ok(()));
    waiter.join().unwrap();
    let err = stop(child, &mnt);
    assert!(err.contains("io_uring: on ("), "stderr:\n{err}");
    let served = ring_served(&err);
    assert!(
        served > 20,
        "only {served} requests through the rings:\n{err}"
    );
}

#[test]
fn a_killed_lock_waiter_on_a_ring_is_released() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !usable("a_killed_lock_waiter_on_a_ring_is_released") {
        return;
    }
    let _param = Param::set("Y").expect("set enable_uring");
    let tmp = TempDir::new("uring-intr");
    let src = tmp.sub("src");
    let mnt = tmp.sub("mnt");
    fs::write(src.join("lk"), b"x").unwrap();
    let child = start(&src, &mnt, &["--io-uring", "on"]);
    let holder = fs::File::open(mnt.join("lk")).unwrap();
    // SAFETY: flock(2) on a valid descriptor.
    assert_eq!(unsafe { libc::flock(holder.as_raw_fd(), libc::LOCK_EX) }, 0);
    // flock(1) waits for the lock (FUSE_SETLKW with FUSE_LK_FLOCK).
    let mut waiter = Command::new("flock")
        .arg("-x")
        .arg(mnt.join("lk"))
        .arg("true")
        .spawn()
        .expect("flock(1) from util-linux");
    std::thread::sleep(Duration::from_millis(300));
    assert!(waiter.try_wait().unwrap().is_none(), "flock did not wait");
    // The kernel waits for the server's answer to a request it has sent:
    // only the INTERRUPT (through /dev/fuse) waking the thread that serves
    // the ring's SETLKW lets the killed waiter go.
    waiter.kill().unwrap();
    let t = Instant::now();
    loop {
        if waiter.try_wait().unwrap().is_some() {
            break;
        }
        assert!(t.elapsed() < BOUND, "the killed lock waiter hangs");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(holder);
    let err = stop(child, &mnt);
    assert!(err.contains("io_uring: on ("), "stderr:\n{err}");
    assert!(err.contains(" 1 interrupts"), "stderr:\n{err}");
}

/// Waits (at most [`BOUND`]) for `child` to exit; its stderr. A daemon
/// that hangs is killed before the test fails.
fn exits(child: &mut Child) -> String {
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the daemon did not exit: {}", stderr(child));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    stderr(child)
}

#[test]
fn ring_daemons_end_on_detach_and_on_abort() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !usable("ring_daemons_end_on_detach_and_on_abort") {
        return;
    }
    let _param = Param::set("Y").expect("set enable_uring");
    let tmp = TempDir::new("uring-end");
    let src = tmp.sub("src");
    let mnt = tmp.sub("mnt");
    fs::write(src.join("f"), b"x").unwrap();
    let term = |c: &Child| {
        // SAFETY: kill(2) on our own child; no memory is involved.
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    };
    // SIGTERM detaches the mount; the ring queues serve the open file until
    // it is closed, then the connection (and the daemon) ends.
    let mut child = start(&src, &mnt, &["--io-uring", "on"]);
    let f = fs::File::open(mnt.join("f")).unwrap();
    term(&child);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited with a file open"
    );
    let mut buf = String::new();
    (&f).read_to_string(&mut buf).unwrap();
    assert_eq!(buf, "x");
    drop(f);
    let err = exits(&mut child);
    assert!(err.contains("io_uring: on ("), "{err}");
    // A second SIGTERM aborts the connection under the open file.
    let mut child = start(&src, &mnt, &["--io-uring", "on"]);
    let f = fs::File::open(mnt.join("f")).unwrap();
    term(&child);
    std::thread::sleep(Duration::from_millis(200));
    term(&child);
    let err = exits(&mut child);
    assert!(err.contains("aborting the connection"), "{err}");
    drop(f);
}

#[test]
fn off_or_disabled_falls_back_to_dev_fuse() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !usable("off_or_disabled_falls_back_to_dev_fuse") {
        return;
    }
    let tmp = TempDir::new("uring-off");
    let src = tmp.sub("src");
    let mnt = tmp.sub("mnt");
    let workload = |m: &Path| {
        fs::write(m.join("f"), b"dev fuse").unwrap();
        assert_eq!(fs::read(m.join("f")).unwrap(), b"dev fuse");
        fs::rename(m.join("f"), m.join("g")).unwrap();
        fs::remove_file(m.join("g")).unwrap();
    };
    // Allowed by the kernel but not asked for.
    {
        let _param = Param::set("Y").expect("set enable_uring");
        let child = start(&src, &mnt, &["--io-uring", "off"]);
        workload(&mnt);
        let err = stop(child, &mnt);
        assert!(err.contains("io_uring: off (not asked for)"), "{err}");
        assert_eq!(ring_served(&err), 0, "{err}");
    }
    // Asked for where the kernel does not allow it.
    let _param = Param::set("N").expect("set enable_uring");
    let child = start(&src, &mnt, &["--io-uring", "auto"]);
    workload(&mnt);
    let err = stop(child, &mnt);
    assert!(err.contains("io_uring: off ("), "{err}");
    assert!(err.contains("enable_uring is N"), "{err}");
    assert_eq!(ring_served(&err), 0, "{err}");
    // `on` where impossible: a one-line error, no mount.
    let out = Command::new(env!("CARGO_BIN_EXE_arcbox-fuse"))
        .arg(&src)
        .arg(&mnt)
        .args(["--io-uring", "on"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{e}");
    assert!(e.contains("--io-uring on impossible"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(fuse_mounts_under(&mnt).is_empty());
}

/// The daemon's `/dev/fuse` worker threads (named `fuse-worker-N`).
fn dev_workers(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|c| c.starts_with("fuse-worker"))
        .count()
}

/// While the rings serve, `/dev/fuse` carries only FORGET, BATCH_FORGET and
/// INTERRUPT, none of which blocks: a burst of forgets (3000 files' inodes
/// dropped from the kernel's cache) leaves the `/dev/fuse` pool as it was,
/// and the rings serve the requests.
#[test]
fn forgets_do_not_grow_the_dev_fuse_pool_while_the_rings_serve() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !usable("forgets_do_not_grow_the_dev_fuse_pool_while_the_rings_serve") {
        return;
    }
    let _param = Param::set("Y").expect("set enable_uring");
    let tmp = TempDir::new("uring-forget");
    let src = tmp.sub("src");
    let mnt = tmp.sub("mnt");
    let child = start(&src, &mnt, &["--io-uring", "on", "--timeout", "86400"]);
    // Requests before the rings are ready go through /dev/fuse: let a few
    // through first, then count.
    for i in 0..50 {
        assert!(fs::metadata(mnt.join(format!("warm{i}"))).is_err());
    }
    let before = dev_workers(child.id());
    for round in 0..3 {
        let d = mnt.join(format!("d{round}"));
        fs::create_dir(&d).unwrap();
        for i in 0..1000 {
            fs::write(d.join(format!("f{i}")), b"x").unwrap();
        }
        // Drop the kernel's dentries and inodes: a FORGET for each.
        fs::write("/proc/sys/vm/drop_caches", "2").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1000);
    }
    let after = dev_workers(child.id());
    let err = stop(child, &mnt);
    assert!(
        err.contains("FUSE_FORGET") || err.contains("FUSE_BATCH_FORGET"),
        "no forgets reached the daemon:\n{err}"
    );
    assert!(ring_served(&err) > 3000, "the rings did not serve:\n{err}");
    assert_eq!(
        after, before,
        "/dev/fuse workers grew from {before} to {after} while the rings served:\n{err}"
    );
}
