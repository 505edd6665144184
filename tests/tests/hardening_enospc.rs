//! A combined write that the host refuses when it finally reaches it
//! (`ENOSPC` on a full tmpfs) is reported once, by the handle's next WRITE,
//! FLUSH, FSYNC or RELEASE, never by an unrelated request and never twice.
//! Needs root (mounts a 64 KiB tmpfs).
#![allow(clippy::unwrap_used)]

use arcbox_fs::Errno;
use arcbox_fs::abi::*;
use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
use arcbox_fs_linux::LinuxHost;
use arcbox_fs_tests::fuse::{Session, on_big_stack};
use std::path::Path;
use std::process::Command;

const RW: u32 = 2;
const PIECE: usize = 16 * 1024;

struct Mount<'a>(&'a Path);
impl Drop for Mount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0).status();
    }
}

#[test]
fn deferred_write_errors_are_reported_once_on_the_next_data_call() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("########## SKIPPED: needs root (mounts a tmpfs)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let share = tmp.path().join("share");
    std::fs::create_dir(&share).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "arcbox-enospc"])
        .arg(&share)
        .status()
        .unwrap();
    assert!(ok.success(), "mount tmpfs");
    let _m = Mount(&share);
    let root = share.clone();
    let mut s = Session::new(on_big_stack(move || {
        PassthroughFs::new(LinuxHost::new(root).unwrap(), PassthroughConfig::default()).unwrap()
    }));
    let fill = |s: &mut Session<PassthroughFs<LinuxHost>>, node: u64, fh: u64| {
        // 128 KiB in combinable pieces into a 64 KiB file system: all
        // acknowledged (the host takes writes that far), refused at write-out.
        for i in 0..8 {
            let r = s.write(node, fh, (i * PIECE) as u64, &[0x5a; PIECE]);
            assert_eq!(r, Ok(PIECE as u32), "piece {i}");
        }
    };
    let (e, o) = s.create(ROOT_ID, b"f", RW, mode::S_IFREG | 0o644).unwrap();
    fill(&mut s, e.nodeid, o.fh);
    // GETATTR writes the data out; the failure is not GETATTR's to report.
    assert!(s.getattr(e.nodeid).is_ok());
    // The next WRITE reports it, once.
    assert_eq!(s.write(e.nodeid, o.fh, 0, b"x"), Err(Errno::ENOSPC));
    assert_eq!(s.flush(e.nodeid, o.fh, 0), Ok(()));
    assert_eq!(s.fsync(e.nodeid, o.fh, false), Ok(()));
    s.release(e.nodeid, o.fh).unwrap();
    s.unlink(ROOT_ID, b"f").unwrap();

    // FLUSH reports it, then FSYNC does not again.
    let (e, o) = s.create(ROOT_ID, b"g", RW, mode::S_IFREG | 0o644).unwrap();
    fill(&mut s, e.nodeid, o.fh);
    assert_eq!(s.flush(e.nodeid, o.fh, 0), Err(Errno::ENOSPC));
    assert_eq!(s.fsync(e.nodeid, o.fh, false), Ok(()));
    s.release(e.nodeid, o.fh).unwrap();
    s.unlink(ROOT_ID, b"g").unwrap();

    // FSYNC and RELEASE report it too.
    let (e, o) = s.create(ROOT_ID, b"h", RW, mode::S_IFREG | 0o644).unwrap();
    fill(&mut s, e.nodeid, o.fh);
    assert_eq!(s.fsync(e.nodeid, o.fh, true), Err(Errno::ENOSPC));
    s.release(e.nodeid, o.fh).unwrap();
    s.unlink(ROOT_ID, b"h").unwrap();
    let (e, o) = s.create(ROOT_ID, b"i", RW, mode::S_IFREG | 0o644).unwrap();
    fill(&mut s, e.nodeid, o.fh);
    assert_eq!(s.release(e.nodeid, o.fh), Err(Errno::ENOSPC));
}
