//! The inotify watcher is bounded (issue 15, item 3): a guest walking more
//! directories than the cap keeps the watch count at the cap, the least
//! recently used watch is evicted, and misses stay correct in evicted
//! directories (their cached misses stop being trusted) as in watched ones.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::fs::{Context, FileSystem};
use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
use arcbox_fs::{Instant, Name};
use arcbox_fs_linux::{LinuxHost, LinuxHostConfig};
use std::path::Path;

const ROOT: u64 = 1;

fn ctx(ms: u64) -> Context<'static> {
    Context {
        unique: 1,
        uid: 0,
        gid: 0,
        pid: 1,
        groups: &[],
        now: Instant::from_millis(ms),
        security: None,
    }
}

fn n(s: &str) -> Name<'_> {
    Name::new(s.as_bytes()).unwrap()
}

/// Runs `f` on a thread with a big stack (the passthrough's negative cache
/// lives inline).
fn big_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

fn passthrough(share: &Path, cap: usize) -> PassthroughFs<LinuxHost> {
    let cfg = LinuxHostConfig {
        watch_cap: Some(cap),
        ..LinuxHostConfig::default()
    };
    let host = LinuxHost::with_config(share, cfg).unwrap();
    assert!(arcbox_fs::host::Host::has_watcher(&host), "no inotify");
    PassthroughFs::new(host, PassthroughConfig::default()).unwrap()
}

#[test]
fn a_walk_beyond_the_cap_keeps_the_watch_count_at_the_cap() {
    big_stack(|| {
        const CAP: usize = 8;
        const DIRS: usize = 50;
        let tmp = tempfile::tempdir().unwrap();
        for i in 0..DIRS {
            std::fs::create_dir(tmp.path().join(format!("d{i}"))).unwrap();
        }
        let fs = passthrough(tmp.path(), CAP);
        assert_eq!(fs.host().watch_cap(), CAP);
        let mut nodes = Vec::new();
        for i in 0..DIRS {
            let d = fs.lookup(&ctx(0), ROOT, n(&format!("d{i}"))).unwrap();
            assert_ne!(d.nodeid, 0);
            // A miss in it: watches it, caches the miss.
            let m = fs.lookup(&ctx(0), d.nodeid, n("missing")).unwrap();
            assert_eq!(m.nodeid, 0);
            assert!(fs.host().watched_dirs() <= CAP, "over the cap at d{i}");
            nodes.push(d.nodeid);
        }
        assert_eq!(fs.host().watched_dirs(), CAP, "at the cap after the walk");

        // Watched (most recent): a host create is seen at once.
        let last = DIRS - 1;
        std::fs::write(tmp.path().join(format!("d{last}/missing")), b"w").unwrap();
        let e = fs.lookup(&ctx(1), nodes[last], n("missing")).unwrap();
        assert_ne!(e.nodeid, 0, "created in a watched directory, not found");

        // Evicted long ago: its cached miss must not hide the new file, even
        // within the negative timeout (eviction drops the trust at once).
        std::fs::write(tmp.path().join("d0/missing"), b"e").unwrap();
        let e = fs.lookup(&ctx(2), nodes[0], n("missing")).unwrap();
        assert_ne!(e.nodeid, 0, "created in an evicted directory, not found");
        assert!(fs.host().watched_dirs() <= CAP);

        // An evicted directory whose miss is first cached while unwatched
        // cannot happen (a lookup watches its parent first), but one whose
        // watch is evicted after its miss was cached: still found.
        std::fs::write(tmp.path().join("d1/missing"), b"e").unwrap();
        let e = fs.lookup(&ctx(3), nodes[1], n("missing")).unwrap();
        assert_ne!(e.nodeid, 0, "created in an evicted directory, not found");

        // And after the negative timeout in any case.
        let ttl = PassthroughConfig::default().negative_timeout;
        let later = u64::try_from(ttl.as_millis()).unwrap() + 10;
        std::fs::write(tmp.path().join("d2/missing"), b"e").unwrap();
        let e = fs.lookup(&ctx(later), nodes[2], n("missing")).unwrap();
        assert_ne!(e.nodeid, 0, "not found after the negative timeout");
        assert!(fs.host().watched_dirs() <= CAP);
    });
}

#[test]
fn eviction_then_forget_never_removes_another_watch() {
    use arcbox_fs::host::Host;
    let tmp = tempfile::tempdir().unwrap();
    let cfg = LinuxHostConfig {
        watch_cap: Some(2),
        ..LinuxHostConfig::default()
    };
    let host = LinuxHost::with_config(tmp.path(), cfg).unwrap();
    let (root, _) = host.root().unwrap();
    let mut dirs = Vec::new();
    for i in 0..5 {
        std::fs::create_dir(tmp.path().join(format!("d{i}"))).unwrap();
        let (d, _) = host.lookup(&root, common::n(&format!("d{i}"))).unwrap();
        host.watch(&d);
        assert!(host.watched_dirs() <= 2);
        dirs.push(d);
    }
    assert_eq!(host.watched_dirs(), 2);
    // Drop the evicted ones: the two live watches stay.
    let live = dirs.split_off(3);
    drop(dirs);
    assert_eq!(host.watched_dirs(), 2);
    // Both still report.
    std::fs::write(tmp.path().join("d4/x"), b"x").unwrap();
    let d4 = live[1].key();
    let mut seen = Vec::new();
    host.drain_changes(&mut |c| {
        if let arcbox_fs::host::HostChange::Entry { dir, name } = c {
            seen.push((dir, name.to_vec()));
        }
    });
    assert!(seen.contains(&(d4, b"x".to_vec())), "{seen:?}");
    drop(live);
    assert_eq!(host.watched_dirs(), 0, "the last hold removes the watch");
    drop(root);
}
