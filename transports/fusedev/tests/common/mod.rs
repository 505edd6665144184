//! Helpers shared by the mounting integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Failure bound for anything that should take milliseconds (tests never
/// assert timings; they only give up after this).
pub const BOUND: Duration = Duration::from_secs(5);

/// Runs `script` with `sh -c`; panics if it fails.
pub fn sh(script: &str) {
    let st = Command::new("sh")
        .arg("-c")
        .arg(script)
        .status()
        .expect("run sh");
    assert!(st.success(), "{script}");
}

/// Polls `path` (through a mount) until it reads `want`; the latency, or
/// `None` after [`BOUND`].
pub fn wait_for(path: &Path, want: &[u8]) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < BOUND {
        if std::fs::read(path).ok().as_deref() == Some(want) {
            return Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

/// Whether mounting tests can run here; prints a loud SKIPPED line if not.
pub fn can_mount(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let dev = Path::new("/dev/fuse").exists();
    if !root || !dev {
        eprintln!(
            "\n*** SKIPPED {test}: needs root and /dev/fuse (root: {root}, /dev/fuse: {dev}) ***\n"
        );
        return false;
    }
    true
}

/// A directory removed (after a lazy unmount of anything on it) on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let base =
            std::env::var_os("ARCBOX_TEST_TMP").map_or_else(std::env::temp_dir, PathBuf::from);
        let p = base.join(format!("arcbox-fusedev-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn sub(&self, name: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        for (p, _) in fuse_mounts_under(&self.0) {
            lazy_umount(&p);
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// FUSE mounts at or below `dir`, from /proc/self/mountinfo (path, fstype).
pub fn fuse_mounts_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|l| {
            let point = l.split(' ').nth(4)?;
            let fstype = l.split(" - ").nth(1)?.split(' ').next()?;
            (fstype.starts_with("fuse") && Path::new(point).starts_with(dir))
                .then(|| (PathBuf::from(point), fstype.to_string()))
        })
        .collect()
}

pub fn lazy_umount(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: NUL-terminated path alive for the call.
    unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
}

/// The `arcbox-fuse` binary serving `src` at `mnt`; SIGTERM and waited
/// for on drop (and lazily unmounted if it did not clean up).
pub struct Daemon {
    pub child: std::process::Child,
    pub mnt: PathBuf,
}

impl Daemon {
    /// `ARCBOX_FUSE_PASSTHROUGH=auto|on|off` adds `--passthrough` to every
    /// mount that can have it (not with `--writeback` or `--cache never`);
    /// `ARCBOX_FUSE_IO_URING=auto|on|off` adds `--io-uring` to every mount.
    pub fn start(src: &Path, mnt: &Path, extra: &[&str]) -> Daemon {
        let mut pt = Vec::new();
        if let Some(m) = std::env::var_os("ARCBOX_FUSE_PASSTHROUGH")
            && !extra.iter().any(|a| *a == "--writeback" || *a == "never")
        {
            pt = vec![std::ffi::OsString::from("--passthrough"), m];
        }
        if let Some(m) = std::env::var_os("ARCBOX_FUSE_IO_URING") {
            pt.extend([std::ffi::OsString::from("--io-uring"), m]);
        }
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_arcbox-fuse"))
            .arg(src)
            .arg(mnt)
            .args(extra)
            .args(pt)
            .spawn()
            .unwrap();
        let mut d = Daemon {
            child,
            mnt: mnt.to_path_buf(),
        };
        for _ in 0..500 {
            if !fuse_mounts_under(mnt).is_empty() {
                return d;
            }
            if let Ok(Some(st)) = d.child.try_wait() {
                panic!("arcbox-fuse exited early: {st}");
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("arcbox-fuse did not mount {}", mnt.display());
    }

    /// Sends SIGTERM and waits; returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        // SAFETY: kill with a valid pid of our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.stop();
        }
        if !fuse_mounts_under(&self.mnt).is_empty() {
            lazy_umount(&self.mnt);
        }
    }
}

/// A small deterministic PRNG (xorshift64*), so failures replay.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}
