//! The file-system-wide fanotify watcher (issue 15, item 5): one mark on
//! the share's file system, events filtered to held inodes, changes made by
//! this process ignored, data changes by other processes reported as
//! [`HostChange::Data`]. Needs root (`CAP_SYS_ADMIN`); skips loudly without.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::abi::OpenFlags;
use arcbox_fs::host::{Host, HostChange, HostKey};
use arcbox_fs_linux::{LinuxHost, LinuxHostConfig};
use common::{is_root, n};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Entry(HostKey, Vec<u8>),
    Inode(HostKey),
    Data(HostKey),
    Overflow,
}

fn drain(host: &LinuxHost) -> Vec<Seen> {
    let mut out = Vec::new();
    host.drain_changes(&mut |c| {
        out.push(match c {
            HostChange::Entry { dir, name } => Seen::Entry(dir, name.to_vec()),
            HostChange::Inode(k) => Seen::Inode(k),
            HostChange::Data { file, .. } => Seen::Data(file),
            HostChange::Overflow => Seen::Overflow,
        })
    });
    out
}

/// Drains until `want` is seen (events of a child process are queued by
/// the time it exits, but allow for slowness); returns all seen.
fn drain_until(host: &LinuxHost, want: &Seen) -> Vec<Seen> {
    let t0 = Instant::now();
    let mut all = Vec::new();
    while t0.elapsed() < Duration::from_secs(30) {
        all.extend(drain(host));
        if all.contains(want) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    all
}

/// Runs `step` and drains what it caused, `check`ing the events. The mark
/// covers the whole file system the share is on, so on a busy machine
/// (a CI host building on the same disk) the group's queue can overflow;
/// an overflow is a correct report ("anything may have changed"), but it
/// says nothing about the filtering under test, so the step is repeated
/// (up to 20 times) until one runs without an overflow.
fn quiet_step(host: &LinuxHost, mut step: impl FnMut(), check: impl Fn(&[Seen])) {
    for attempt in 0..20 {
        drain(host);
        step();
        std::thread::sleep(Duration::from_millis(50));
        let seen = drain(host);
        if seen.contains(&Seen::Overflow) {
            eprintln!("fanotify queue overflowed (attempt {attempt}); repeating the step");
            continue;
        }
        check(&seen);
        return;
    }
    panic!("the fanotify queue overflowed on every attempt");
}

fn sh(script: &str) {
    let st = Command::new("sh").arg("-c").arg(script).status().unwrap();
    assert!(st.success(), "{script}");
}

/// Serialises the tests of this file. A process spawned by one test while
/// another test's thread closes a descriptor holds a copy of the descriptor
/// table until it execs, so the last close (and its FAN_CLOSE_WRITE) can
/// happen in the child and be reported as another process's change.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn host(share: &std::path::Path) -> Option<LinuxHost> {
    if !is_root() {
        eprintln!("\n*** SKIPPED fanotify tests: need root (CAP_SYS_ADMIN) ***\n");
        return None;
    }
    let cfg = LinuxHostConfig {
        fanotify: true,
        ..LinuxHostConfig::default()
    };
    let host = LinuxHost::with_config(share, cfg).unwrap();
    assert!(host.uses_file_handles(), "root without file handles");
    assert!(host.uses_fanotify(), "root, yet fanotify could not start");
    assert!(host.has_watcher());
    assert_eq!(host.watched_dirs(), 0, "no inotify watches with fanotify");
    Some(host)
}

#[test]
fn other_processes_changes_are_reported_ours_are_not() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let share = tmp.path().join("share");
    std::fs::create_dir(&share).unwrap();
    std::fs::write(tmp.path().join("outside"), b"o").unwrap();
    let Some(host) = host(&share) else { return };
    let (root, _) = host.root().unwrap();
    let (file, _, _) = host
        .create(&root, n("f"), OpenFlags::RDWR, 0o644, &common::root_creds())
        .unwrap();
    assert!(host.fanotify_inodes() >= 2);
    drain(&host);

    // Our own changes (this process's, as the server's workers make them): ignored.
    quiet_step(
        &host,
        || {
            let f2 = host.open(&file, OpenFlags::RDWR).unwrap();
            drop(f2);
            std::fs::write(share.join("f"), b"ours").unwrap();
            std::fs::write(share.join("ours-new"), b"x").unwrap();
            std::fs::remove_file(share.join("ours-new")).unwrap();
        },
        |seen| assert!(seen.is_empty(), "own changes reported: {seen:?}"),
    );

    // Another process rewrites the file: a data change of it.
    sh(&format!("printf theirs > '{}'", share.join("f").display()));
    let seen = drain_until(&host, &Seen::Data(file.key()));
    assert!(seen.contains(&Seen::Data(file.key())), "{seen:?}");
    assert!(
        seen.contains(&Seen::Entry(root.key(), b"f".to_vec())),
        "{seen:?}"
    );

    // Another process creates and removes names in the share.
    sh(&format!("touch '{}'", share.join("theirs").display()));
    let want = Seen::Entry(root.key(), b"theirs".to_vec());
    assert!(drain_until(&host, &want).contains(&want));
    sh(&format!("rm '{}'", share.join("theirs").display()));
    assert!(drain_until(&host, &want).contains(&want));

    // Changes outside the share (same file system) are filtered out.
    quiet_step(
        &host,
        || {
            sh(&format!(
                "printf x >> '{}'",
                tmp.path().join("outside").display()
            ))
        },
        |seen| {
            assert!(
                seen.iter().all(|s| match s {
                    Seen::Entry(k, _) | Seen::Inode(k) | Seen::Data(k) =>
                        *k == root.key() || *k == file.key(),
                    Seen::Overflow => false,
                }),
                "an event of something not held: {seen:?}"
            )
        },
    );

    // Dropping the inodes stops their reports.
    let (root_key, file_key) = (root.key(), file.key());
    drop(file);
    drop(root);
    assert_eq!(host.fanotify_inodes(), 0);
    quiet_step(
        &host,
        || sh(&format!("printf again > '{}'", share.join("f").display())),
        |seen| {
            assert!(
                seen.is_empty(),
                "reports after the last hold of {root_key:?}/{file_key:?} went: {seen:?}"
            )
        },
    );
}

#[test]
fn inotify_watches_only_file_systems_the_mark_does_not_cover() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let share = tmp.path().join("share");
    std::fs::create_dir_all(share.join("sub")).unwrap();
    std::fs::create_dir_all(share.join("plain")).unwrap();
    let Some(host) = host(&share) else { return };
    let sub = share.join("sub");
    sh(&format!(
        "mount -t tmpfs arcbox-watch-test '{}'",
        sub.display()
    ));
    let (root, _) = host.root().unwrap();
    let (plain, _) = host.lookup(&root, n("plain")).unwrap();
    host.watch(&root);
    host.watch(&plain);
    assert_eq!(host.watched_dirs(), 0, "covered by the fanotify mark");
    let (sub_i, _) = host.lookup(&root, n("sub")).unwrap();
    host.watch(&sub_i);
    let watched = host.watched_dirs();
    // A change by this process on the tmpfs: inotify reports anyone's.
    std::fs::write(sub.join("x"), b"x").unwrap();
    let seen = drain(&host);
    drop(sub_i);
    // Lazy: the host still holds descriptors on it.
    sh(&format!("umount -l '{}'", sub.display()));
    assert_eq!(
        watched, 1,
        "the submount's directory needs an inotify watch"
    );
    assert!(
        seen.iter()
            .any(|s| matches!(s, Seen::Entry(_, name) if name == b"x")),
        "{seen:?}"
    );
}
