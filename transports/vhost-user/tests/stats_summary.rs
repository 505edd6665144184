//! The `arcbox-virtiofsd` binary logs a stats summary on SIGUSR1 and when
//! its frontend leaves, with the default seccomp filter (`kill`) installed:
//! the summary must not need a call outside the allow-list.
#![allow(clippy::unwrap_used)]

use std::io::BufRead;
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
    // stderr, line by line, on a thread: the signal is sent only once the
    // daemon says it serves (its SIGUSR1 handler is installed by then; a
    // SIGUSR1 before that would end it, as it would any process).
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut err = String::new();
    let wait_line = |what: &str, err: &mut String| {
        let t = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(l) => {
                    err.push_str(&l);
                    err.push('\n');
                    if l.contains(what) {
                        return;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(_) => panic!("stderr ended before {what:?}:\n{err}"),
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "no {what:?} in:\n{err}"
            );
        }
    };
    wait_line("serving ", &mut err);
    wait_for(&sock);
    // SAFETY: kill(2) on our own child's pid; no memory is involved.
    let rc = unsafe { libc::kill(child.id() as i32, libc::SIGUSR1) };
    assert_eq!(rc, 0);
    wait_line("stats (SIGUSR1):", &mut err);
    // A frontend that connects and leaves: the daemon serves it, logs the
    // summary at exit and ends.
    let c = UnixStream::connect(&sock).unwrap();
    drop(c);
    wait_line("stats at exit:", &mut err);
    let t = Instant::now();
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
    reader.join().unwrap();
    err.extend(rx.try_iter().map(|l| l + "\n"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(status.success(), "status {status}, stderr:\n{err}");
    assert!(err.contains("stats (SIGUSR1):"), "stderr:\n{err}");
    assert!(err.contains("stats at exit:"), "stderr:\n{err}");
    assert!(err.contains("requests per queue: q0=0"), "stderr:\n{err}");
}
