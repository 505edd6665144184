//! The `arcbox-virtiofsd` binary logs a stats summary on SIGUSR1 and when
//! its frontend leaves, with the default seccomp filter (`kill`) installed:
//! the summary must not need a call outside the allow-list.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_for(path: &std::path::Path) {
    let t = Instant::now();
    while !path.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "no socket at {path:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigusr1_and_exit_log_a_summary_under_seccomp() {
    let dir = std::env::temp_dir().join(format!("arcbox-stats-{}", std::process::id()));
    let share = dir.join("share");
    std::fs::create_dir_all(&share).unwrap();
    let sock = dir.join("vhost.sock");
    let _ = std::fs::remove_file(&sock);
    let mut child = Command::new(env!("CARGO_BIN_EXE_arcbox-virtiofsd"))
        .arg(format!("--socket-path={}", sock.display()))
        .arg(format!("--shared-dir={}", share.display()))
        .args(["--sandbox=none", "--seccomp=kill", "--log-level=info"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&sock);
    // The signal thread runs before the frontend connects.
    let t = Instant::now();
    // SAFETY: kill(2) on our own child's pid; no memory is involved.
    let rc = unsafe { libc::kill(child.id() as i32, libc::SIGUSR1) };
    assert_eq!(rc, 0);
    // A frontend that connects and leaves: the daemon serves it, logs the
    // summary at exit and ends.
    std::thread::sleep(Duration::from_millis(300));
    let c = UnixStream::connect(&sock).unwrap();
    drop(c);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the daemon did not exit after its frontend left");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(status.success(), "status {status}, stderr:\n{err}");
    assert!(err.contains("stats (SIGUSR1):"), "stderr:\n{err}");
    assert!(err.contains("stats at exit:"), "stderr:\n{err}");
    assert!(err.contains("requests per queue: q0=0"), "stderr:\n{err}");
}
