//! The inotify watcher reports changes made on the host behind the server.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::host::{Host, HostChange, HostKey};
use common::{Fixture, n};

#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Entry(HostKey, Vec<u8>),
    Inode(HostKey),
    Overflow,
}

fn drain(fx: &Fixture) -> Vec<Seen> {
    let mut out = Vec::new();
    fx.host.drain_changes(&mut |c| {
        out.push(match c {
            HostChange::Entry { dir, name } => Seen::Entry(dir, name.to_vec()),
            HostChange::Inode(k) | HostChange::Data { file: k, .. } => Seen::Inode(k),
            HostChange::Overflow => Seen::Overflow,
        })
    });
    out
}

#[test]
fn reports_files_created_and_removed_on_the_host() {
    let fx = Fixture::new();
    assert!(fx.host.has_watcher());
    std::fs::create_dir(fx.share().join("d")).unwrap();
    let (d, _) = fx.host.lookup(&fx.root, n("d")).unwrap();
    fx.host.watch(&fx.root);
    fx.host.watch(&d);
    fx.host.watch(&d);
    assert_eq!(fx.host.watched_dirs(), 2);
    assert!(drain(&fx).is_empty(), "nothing happened yet");
    std::fs::write(fx.share().join("new"), b"x").unwrap();
    std::fs::write(fx.share().join("d/inner"), b"x").unwrap();
    let seen = drain(&fx);
    assert!(
        seen.contains(&Seen::Entry(fx.root.key(), b"new".to_vec())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&Seen::Entry(d.key(), b"inner".to_vec())),
        "{seen:?}"
    );
    assert!(drain(&fx).is_empty(), "drained once");
    std::fs::rename(fx.share().join("new"), fx.share().join("d/moved")).unwrap();
    std::fs::remove_file(fx.share().join("d/inner")).unwrap();
    let seen = drain(&fx);
    assert!(
        seen.contains(&Seen::Entry(fx.root.key(), b"new".to_vec())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&Seen::Entry(d.key(), b"moved".to_vec())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&Seen::Entry(d.key(), b"inner".to_vec())),
        "{seen:?}"
    );
    // Attribute change of an entry.
    std::fs::set_permissions(
        fx.share().join("d/moved"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    assert!(drain(&fx).contains(&Seen::Entry(d.key(), b"moved".to_vec())));
    // The directory itself going away is an entry of its parent (its own
    // IN_DELETE_SELF comes only once the last reference, ours, is gone).
    std::fs::remove_file(fx.share().join("d/moved")).unwrap();
    std::fs::remove_dir(fx.share().join("d")).unwrap();
    let seen = drain(&fx);
    assert!(
        seen.contains(&Seen::Entry(fx.root.key(), b"d".to_vec())),
        "{seen:?}"
    );
    drop(d);
    assert_eq!(fx.host.watched_dirs(), 1);
    // Another inode of the root that never asked to watch releases nothing.
    drop(fx.host.root().unwrap().0);
    assert_eq!(fx.host.watched_dirs(), 1);
}

#[test]
fn dropping_the_inode_removes_the_watch() {
    let fx = Fixture::new();
    std::fs::create_dir(fx.share().join("d")).unwrap();
    let (d, _) = fx.host.lookup(&fx.root, n("d")).unwrap();
    fx.host.watch(&d);
    assert_eq!(fx.host.watched_dirs(), 1);
    drop(d);
    assert_eq!(fx.host.watched_dirs(), 0);
    std::fs::write(fx.share().join("d/x"), b"x").unwrap();
    assert!(
        drain(&fx)
            .iter()
            .all(|s| !matches!(s, Seen::Entry(_, name) if name == b"x"))
    );
}

#[test]
fn queue_overflow_is_reported() {
    let fx = Fixture::new();
    let max: usize = std::fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    if max > 200_000 {
        eprintln!("SKIPPED queue_overflow_is_reported: max_queued_events is {max}");
        return;
    }
    fx.host.watch(&fx.root);
    let p = fx.share().join("f");
    // Alternating create / delete events are never merged by inotify.
    for _ in 0..max / 2 + 10 {
        std::fs::write(&p, b"").unwrap();
        std::fs::remove_file(&p).unwrap();
    }
    assert!(drain(&fx).contains(&Seen::Overflow));
}
