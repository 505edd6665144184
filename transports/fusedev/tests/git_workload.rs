//! A real workload on the `arcbox-fuse` mount: extract source tarballs,
//! `git init`, `git add -A`, `git status`, `git commit`, `git fsck`, then
//! check every extracted file (type, mode, size, content, link target)
//! against the same extraction on the native disk.
//!
//! Tarballs: `$ARCBOX_GIT_TARBALL` if set, else one made offline from this
//! repository's committed source (`git archive HEAD`), plus, with
//! `ARCBOX_GIT_FULL=1` (the CI suite), one of `/usr/share/doc` (thousands of
//! small files and relative symlinks, ~140 MiB).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Daemon, TempDir, can_mount};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn sh(cwd: &Path, prog: &str, args: &[&str]) -> String {
    let out = Command::new(prog)
        .args(args)
        .current_dir(cwd)
        .env("GIT_AUTHOR_NAME", "arcbox")
        .env("GIT_AUTHOR_EMAIL", "arcbox@example.invalid")
        .env("GIT_COMMITTER_NAME", "arcbox")
        .env("GIT_COMMITTER_EMAIL", "arcbox@example.invalid")
        .output()
        .unwrap_or_else(|e| panic!("{prog}: {e}"));
    assert!(
        out.status.success(),
        "{prog} {args:?} in {} failed: {}\n{}",
        cwd.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tarballs(tmp: &TempDir) -> Vec<PathBuf> {
    if let Some(t) = std::env::var_os("ARCBOX_GIT_TARBALL") {
        return vec![PathBuf::from(t)];
    }
    let mut v = Vec::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let own = tmp.path().join("arcbox-src.tar");
    let ok = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["archive", "--format=tar", "--prefix=arcbox-fs/", "-o"])
        .arg(&own)
        .arg("HEAD")
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        v.push(own);
    }
    if std::env::var_os("ARCBOX_GIT_FULL").is_some() && Path::new("/usr/share/doc").is_dir() {
        let doc = tmp.path().join("doc.tar");
        sh(
            tmp.path(),
            "tar",
            &["-C", "/usr/share", "-cf", doc.to_str().unwrap(), "doc"],
        );
        v.push(doc);
    }
    assert!(
        !v.is_empty(),
        "no tarball available: set ARCBOX_GIT_TARBALL"
    );
    v
}

/// Compares the trees under `a` (native) and `b` (mount), skipping `.git`;
/// returns the number of entries compared.
fn compare(a: &Path, b: &Path) -> usize {
    let mut n = 0;
    let mut names: Vec<_> = std::fs::read_dir(a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let mut other: Vec<_> = std::fs::read_dir(b)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != ".git")
        .collect();
    names.sort();
    other.sort();
    assert_eq!(names, other, "directory listings differ: {}", b.display());
    for name in names {
        let (pa, pb) = (a.join(&name), b.join(&name));
        let (ma, mb) = (
            std::fs::symlink_metadata(&pa).unwrap(),
            std::fs::symlink_metadata(&pb).unwrap(),
        );
        assert_eq!(ma.file_type(), mb.file_type(), "{}", pb.display());
        assert_eq!(
            ma.permissions().mode(),
            mb.permissions().mode(),
            "mode of {}",
            pb.display()
        );
        n += 1;
        if ma.is_dir() {
            n += compare(&pa, &pb);
        } else if ma.file_type().is_symlink() {
            assert_eq!(
                std::fs::read_link(&pa).unwrap(),
                std::fs::read_link(&pb).unwrap(),
                "{}",
                pb.display()
            );
        } else {
            assert_eq!(ma.len(), mb.len(), "size of {}", pb.display());
            assert!(
                std::fs::read(&pa).unwrap() == std::fs::read(&pb).unwrap(),
                "content of {}",
                pb.display()
            );
        }
    }
    n
}

#[test]
fn tar_git_and_checksums() {
    if !can_mount("tar_git_and_checksums") {
        return;
    }
    let tmp = TempDir::new("git");
    let native = tmp.sub("native");
    let src = tmp.sub("src");
    let mnt = tmp.sub("mnt");
    let mut daemon = Daemon::start(&src, &mnt, &[]);
    for t in tarballs(&tmp) {
        let t = t.to_str().unwrap();
        sh(&native, "tar", &["-xf", t]);
        sh(&mnt, "tar", &["-xf", t]);
    }
    sh(&mnt, "git", &["init", "-q"]);
    sh(&mnt, "git", &["add", "-A"]);
    let staged = sh(&mnt, "git", &["status", "--porcelain"]);
    assert!(!staged.is_empty(), "git status shows nothing staged");
    sh(&mnt, "git", &["commit", "-q", "-m", "import"]);
    assert_eq!(
        sh(&mnt, "git", &["status", "--porcelain"]),
        "",
        "tree dirty after commit"
    );
    sh(&mnt, "git", &["fsck", "--strict", "--no-progress"]);
    let tracked = sh(&mnt, "git", &["ls-files"]).lines().count();
    let compared = compare(&native, &mnt);
    eprintln!(
        "git workload: {tracked} files tracked, {compared} entries identical to the native extraction"
    );
    // The same through the host directory the mount serves.
    assert_eq!(compare(&native, &src), compared);
    assert!(daemon.stop().success());
}
