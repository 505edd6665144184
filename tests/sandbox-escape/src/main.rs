//! TEST ONLY. With `LinuxHost` built with `insecure-lookup-for-sandbox-test`
//! (LOOKUP opens the absolute host path with plain `openat`, following
//! symlinks), a symlink in the share pointing at an absolute host path
//! outside the share is followed:
//!
//! 1. without a sandbox the broken build reads the outside file (the
//!    control: proves the bug is really there, so the test can fail);
//! 2. after `arcbox_fs_daemon::sandbox::enter` with `namespace` and with
//!    `chroot`, the same lookup fails, a plain `open` of the outside path
//!    fails, and a file inside the share is still served.
//!
//! Prints `PASS name` / `FAIL name detail` lines and `N passed, M failed`;
//! exits 0 only when nothing failed. Needs root (exit status 77 otherwise).

use arcbox_fs::abi::OpenFlags;
use arcbox_fs::host::Host;
use arcbox_fs::{Errno, IoBufMut, Name};
use arcbox_fs_daemon::sandbox::{self, SandboxConfig, SandboxMode};
use arcbox_fs_linux::LinuxHost;
use std::path::Path;
use std::process::ExitCode;

const SECRET: &str = "host-secret-outside-the-share";

/// LOOKUP `name` in the share's root, OPEN and READ it, as the passthrough
/// would for a guest.
fn read_via_lookup(share: &Path, name: &str) -> Result<String, Errno> {
    let host = LinuxHost::new(share)?;
    let (root, _) = host.root()?;
    let (inode, _) = host.lookup(&root, Name::new(name.as_bytes())?)?;
    let file = host.open(&inode, OpenFlags::empty())?;
    let mut buf = [0u8; 128];
    let n = host.read(&file, 0, &mut [IoBufMut::new(&mut buf[..])])?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// In a forked child: enter the sandbox `mode`, then check that nothing
/// outside the share is reachable. Returns the failures.
fn sandboxed(mode: SandboxMode, share: &Path, outside: &Path) -> Vec<String> {
    // SAFETY: this program starts no threads, so the child is consistent.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return vec!["fork failed".to_owned()];
    }
    if pid == 0 {
        let cfg = SandboxConfig {
            mode,
            shared_dir: share.to_path_buf(),
            readonly: false,
            uid_map: None,
            gid_map: None,
        };
        let mut bad = 0;
        if let Err(e) = sandbox::enter(&cfg) {
            println!("  child: sandbox: {e}");
            std::process::exit(10);
        }
        match read_via_lookup(share, "esc") {
            Ok(s) => {
                println!("  child: the broken lookup read {s:?} through the sandbox");
                bad |= 1;
            }
            Err(e) => println!("  child: broken lookup of the escaping symlink: {e:?}"),
        }
        if std::fs::read(outside).is_ok() {
            println!("  child: {} is readable", outside.display());
            bad |= 2;
        }
        match read_via_lookup(share, "inside") {
            Ok(s) if s == "inside" => {}
            other => {
                println!("  child: the share is not served: {other:?}");
                bad |= 4;
            }
        }
        std::process::exit(bad);
    }
    let mut status = 0;
    // SAFETY: waitpid writes one int through a valid pointer.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Vec::new()
    } else {
        vec![format!("child status {status:#x}")]
    }
}

fn main() -> ExitCode {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        println!("sandbox-escape: needs root");
        return ExitCode::from(77);
    }
    let base = std::env::temp_dir().join(format!("arcbox-escape.{}", std::process::id()));
    let share = base.join("share");
    let outside = base.join("outside").join("secret");
    let setup = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(&share)?;
        std::fs::create_dir_all(base.join("outside"))?;
        std::fs::write(&outside, SECRET)?;
        std::fs::write(share.join("inside"), "inside")?;
        std::os::unix::fs::symlink(&outside, share.join("esc"))
    })();
    if let Err(e) = setup {
        println!("FAIL setup {e}");
        println!("0 passed, 1 failed");
        return ExitCode::FAILURE;
    }
    let (mut passed, mut failed) = (0, 0);
    let mut report = |name: &str, failures: Vec<String>| {
        if failures.is_empty() {
            println!("PASS {name}");
            passed += 1;
        } else {
            println!("FAIL {name} {}", failures.join("; "));
            failed += 1;
        }
    };
    let control = match read_via_lookup(&share, "esc") {
        Ok(s) if s == SECRET => Vec::new(),
        other => vec![format!(
            "the broken build did not escape without a sandbox ({other:?}): this test proves nothing"
        )],
    };
    report("unsandboxed-broken-build-escapes", control);
    report(
        "namespace-sandbox-contains-broken-build",
        sandboxed(SandboxMode::Namespace, &share, &outside),
    );
    report(
        "chroot-sandbox-contains-broken-build",
        sandboxed(SandboxMode::Chroot, &share, &outside),
    );
    let _ = std::fs::remove_dir_all(&base);
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
