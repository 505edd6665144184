//! The fanotify watcher (`--watch`) under the daemons' seccomp filter: the
//! group and its mark are made before the filter is installed, and reading
//! its events afterwards needs no call outside the allow-list. In a forked
//! child: a `LinuxHost` with fanotify holds a file, installs the `kill`
//! filter, then drains the change this (other) process makes to the file;
//! once without a sandbox, once inside the namespace sandbox (a new PID
//! namespace: the daemon is pid 1 there, a host writer reads as pid 0), as
//! `arcbox-virtiofsd` runs. Needs root (fanotify needs `CAP_SYS_ADMIN`); skips loudly without.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use arcbox_fs::Name;
use arcbox_fs::host::{Host, HostChange};
use arcbox_fs_daemon::{sandbox, seccomp};
use arcbox_fs_linux::{LinuxHost, LinuxHostConfig};
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::time::{Duration, Instant};

fn pipe() -> (std::fs::File, std::fs::File) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into a valid array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors are fresh and owned here.
    unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    }
}

/// The child: exit 0 when its own rewrite was not reported and the other
/// process's was, as data changed, under the `kill` filter; SIGSYS if a
/// call was refused.
fn child(
    share: &std::path::Path,
    mut ready: std::fs::File,
    mut go: std::fs::File,
    sandboxed: bool,
) -> i32 {
    if sandboxed {
        let cfg = sandbox::SandboxConfig {
            mode: sandbox::SandboxMode::Namespace,
            shared_dir: share.to_path_buf(),
            readonly: false,
            uid_map: None,
            gid_map: None,
        };
        if sandbox::enter(&cfg).is_err() {
            return 9;
        }
    }
    let cfg = LinuxHostConfig {
        fanotify: true,
        ..LinuxHostConfig::default()
    };
    let Ok(host) = LinuxHost::with_config(share, cfg) else {
        return 10;
    };
    if !host.uses_fanotify() {
        return 11;
    }
    let Ok((root, _)) = host.root() else {
        return 12;
    };
    let Ok((_f, fst)) = host.lookup(&root, Name::new(b"f").unwrap()) else {
        return 13;
    };
    // The mark covers the whole file system, where the other test of this
    // file writes at the same time: only this share's `f` counts.
    let ours = |c: &HostChange<'_>| matches!(c, HostChange::Data { file, .. } if *file == fst.key);
    // The daemon's own change is not reported (its pid, as fanotify shows
    // it in the daemon's PID namespace).
    if std::fs::write(share.join("f"), b"own").is_err() {
        return 18;
    }
    let mut own = false;
    host.drain_changes(&mut |c| own |= ours(&c));
    if own {
        return 19;
    }
    if seccomp::install(seccomp::Violation::Kill).is_err() {
        return 14;
    }
    if ready.write_all(b"r").is_err() {
        return 15;
    }
    let mut b = [0u8; 1];
    if go.read_exact(&mut b).is_err() {
        return 16;
    }
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        let mut data = false;
        host.drain_changes(&mut |c| data |= ours(&c));
        if data {
            return 0;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    17
}

#[test]
fn fanotify_events_are_read_under_the_kill_filter() {
    run(false);
}

#[test]
fn fanotify_events_are_read_in_the_namespace_sandbox_under_the_kill_filter() {
    run(true);
}

fn run(sandboxed: bool) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("\n*** SKIPPED fanotify seccomp test: needs root ***\n");
        return;
    }
    let share = std::env::temp_dir().join(format!(
        "arcbox-fan-seccomp-{}-{sandboxed}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&share);
    std::fs::create_dir_all(&share).unwrap();
    std::fs::write(share.join("f"), b"one").unwrap();
    let (ready_r, ready_w) = pipe();
    let (go_r, go_w) = pipe();
    // SAFETY: glibc's fork keeps malloc usable in the child; the child
    // only runs the code above and then _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        drop((ready_r, go_w));
        let code = child(&share, ready_w, go_r, sandboxed);
        // SAFETY: _exit is always safe.
        unsafe { libc::_exit(code) };
    }
    drop((ready_w, go_r));
    let mut ready_r = ready_r;
    let mut go_w = go_w;
    let mut b = [0u8; 1];
    let got = ready_r.read_exact(&mut b).is_ok();
    if got {
        // Rewritten by this process, not the child's.
        std::fs::write(share.join("f"), b"two, from another process").unwrap();
        let _ = go_w.write_all(b"g");
    }
    let mut status = 0;
    // SAFETY: waitpid writes one int through a valid pointer.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    let _ = std::fs::remove_dir_all(&share);
    assert!(
        !libc::WIFSIGNALED(status),
        "child killed by signal {} (SIGSYS = {}: a call outside the allow-list)",
        libc::WTERMSIG(status),
        libc::SIGSYS
    );
    assert_eq!(libc::WEXITSTATUS(status), 0, "child status {status:#x}");
}
