//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use arcbox_fs::Name;
use arcbox_fs::abi::OpenFlags;
use arcbox_fs::host::{Creds, Host};
use arcbox_fs_linux::{File, Inode, LinuxHost};
use std::path::{Path, PathBuf};

/// A tempdir holding `share/` (served) and `outside/` (must never change).
pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub host: LinuxHost,
    pub root: Inode,
}

impl Fixture {
    pub fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("share")).unwrap();
        std::fs::create_dir(tmp.path().join("outside")).unwrap();
        std::fs::write(tmp.path().join("outside/secret"), b"secret").unwrap();
        let host = LinuxHost::new(tmp.path().join("share")).unwrap();
        let (root, _) = host.root().unwrap();
        Fixture { tmp, host, root }
    }

    pub fn share(&self) -> PathBuf {
        self.tmp.path().join("share")
    }

    pub fn outside(&self) -> PathBuf {
        self.tmp.path().join("outside")
    }

    /// Creates and opens `name` in the root as root.
    pub fn create(&self, name: &str) -> (Inode, File) {
        let (i, f, _) = self
            .host
            .create(&self.root, n(name), OpenFlags::RDWR, 0o644, &root_creds())
            .unwrap();
        (i, f)
    }
}

pub fn n(s: &str) -> Name<'_> {
    Name::new(s.as_bytes()).unwrap()
}

pub fn root_creds() -> Creds {
    Creds {
        uid: 0,
        gid: 0,
        supp_gid: None,
        umask: 0,
    }
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Returns false (and says so) when the test needs root and we are not.
pub fn need_root(test: &str) -> bool {
    if !is_root() {
        eprintln!("SKIPPED {test}: needs root");
        return false;
    }
    true
}

/// A snapshot of everything under `dir` (names, sizes, modes, owners,
/// mtimes, contents of files), to prove nothing there changed.
pub fn snapshot(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            let content = if m.is_file() {
                std::fs::read(e.path()).unwrap()
            } else {
                Vec::new()
            };
            out.push(format!(
                "{:?} {:o} {} {} {} {}.{} {:?}",
                e.path(),
                m.mode(),
                m.uid(),
                m.gid(),
                m.size(),
                m.mtime(),
                m.mtime_nsec(),
                content
            ));
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}
