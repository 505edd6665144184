//! A guest cannot exhaust the server's descriptors: opening one file again
//! and again without RELEASE, or taking locks as thousands of owners, ends
//! in `EMFILE` for those requests while LOOKUP, GETATTR and the rest keep
//! working. Its own test binary: it lowers the process's `RLIMIT_NOFILE`.
#![allow(clippy::unwrap_used)]

use arcbox_fs::Errno;
use arcbox_fs::abi::*;
use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
use arcbox_fs_linux::{LinuxHost, LinuxHostConfig};
use arcbox_fs_tests::fuse::{Session, on_big_stack};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use std::fs;

const SOFT: u64 = 256;
const RW: u32 = 2;

#[test]
fn guest_held_descriptors_are_bounded() {
    let hard = getrlimit(Resource::Nofile).maximum;
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(SOFT),
            maximum: hard,
        },
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let share = tmp.path().join("share");
    fs::create_dir(&share).unwrap();
    for i in 0..64 {
        fs::write(share.join(format!("f{i}")), b"data").unwrap();
    }
    let cfg = LinuxHostConfig {
        raise_nofile: false,
        ..LinuxHostConfig::default()
    };
    let mut s = Session::new(on_big_stack(move || {
        PassthroughFs::new(
            LinuxHost::with_config(share, cfg).unwrap(),
            PassthroughConfig::default(),
        )
        .unwrap()
    }));
    let (_, cap) = s.fs().host().guest_fds();
    assert!(cap < SOFT as usize, "budget {cap} not below the limit");

    // 1. One file opened without end.
    let f0 = s.lookup_found(ROOT_ID, b"f0").unwrap().nodeid;
    let mut fhs = Vec::new();
    let err = loop {
        match s.open(f0, RW) {
            Ok(o) => fhs.push(o.fh),
            Err(e) => break e,
        }
        assert!(fhs.len() <= SOFT as usize, "opens never refused");
    };
    assert_eq!(err, Errno::EMFILE);
    assert_eq!(fhs.len(), cap);
    // Everything that holds no descriptor keeps working, on every file.
    for i in 1..64 {
        let e = s.lookup_found(ROOT_ID, format!("f{i}").as_bytes()).unwrap();
        assert_eq!(s.getattr(e.nodeid).unwrap().size, 4);
    }
    assert!(s.mkdir(ROOT_ID, b"d", 0o755).is_ok());
    assert!(s.statfs(ROOT_ID).is_ok());
    assert_eq!(s.read(f0, fhs[0], 0, 4).unwrap(), b"data");
    // Releasing gives the budget back.
    for fh in fhs.drain(..) {
        s.release(f0, fh).unwrap();
    }
    assert_eq!(s.fs().host().guest_fds().0, 0);

    // 2. Thousands of lock owners on one handle.
    let fh = s.open(f0, RW).unwrap().fh;
    let lock = |owner: u64| FileLock {
        start: owner,
        end: owner,
        typ: lock::F_WRLCK,
        pid: 1,
    };
    let mut owners = 0u64;
    let err = loop {
        match s.setlk(f0, fh, owners + 1, lock(owners), false, false) {
            Ok(()) => owners += 1,
            Err(e) => break e,
        }
        assert!(owners <= 25_000, "lock owners never refused");
    };
    assert_eq!(err, Errno::EMFILE);
    assert!(owners < SOFT);
    for i in 1..64 {
        let e = s.lookup_found(ROOT_ID, format!("f{i}").as_bytes()).unwrap();
        assert!(s.getattr(e.nodeid).is_ok());
    }
    // FLUSH of an owner closes its description and frees its slot.
    s.flush(f0, fh, 1).unwrap();
    assert!(
        s.setlk(f0, fh, 100_000, lock(100_000), false, false)
            .is_ok()
    );
    s.release(f0, fh).unwrap();
}
