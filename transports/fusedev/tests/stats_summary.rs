//! `arcbox-fuse` logs a stats summary (per-opcode counts with latency, the
//! session's counters) on SIGUSR1, keeps serving, and logs it again at exit.

mod common;

use common::{TempDir, can_mount, fuse_mounts_under};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigusr1_and_exit_log_a_summary() {
    if !can_mount("sigusr1_and_exit_log_a_summary") {
        return;
    }
    let tmp = TempDir::new("stats");
    let src = tmp.sub("src");
    let mnt = tmp.sub("mnt");
    std::fs::write(src.join("f"), b"x").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_arcbox-fuse"))
        .arg(&src)
        .arg(&mnt)
        .args(["--log-level", "info"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while fuse_mounts_under(&mnt).is_empty() {
        assert!(t.elapsed() < Duration::from_secs(30), "not mounted");
        assert!(child.try_wait().unwrap().is_none(), "exited early");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(std::fs::read(mnt.join("f")).unwrap(), b"x");
    let pid = child.id() as i32;
    // SAFETY: kill(2) on our own child; no memory is involved.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGUSR1) }, 0);
    std::thread::sleep(Duration::from_millis(300));
    // Still serving after the summary.
    assert!(mnt.join("f").exists());
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "status {status}, stderr:\n{err}");
    let sig = err
        .find("stats (SIGUSR1):")
        .unwrap_or_else(|| panic!("stderr:\n{err}"));
    let exit = err
        .find("stats at exit:")
        .unwrap_or_else(|| panic!("stderr:\n{err}"));
    assert!(sig < exit);
    // The summary names the opcodes served (LOOKUP of "f", INIT).
    assert!(err[sig..exit].contains("LOOKUP"), "stderr:\n{err}");
    assert!(err[exit..].contains("requests read"), "stderr:\n{err}");
}
