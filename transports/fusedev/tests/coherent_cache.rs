//! A coherent `cache=always` (issue 15, item 5): with the writeback cache
//! and a day-long cache timeout, a file rewritten on the host by another
//! process is seen through the mount within milliseconds (fanotify →
//! `Invalidation::Data` → `FUSE_NOTIFY_INVAL_INODE`), and writes made
//! through the mount never cause an inode invalidation (the server's own
//! events are ignored by pid). Needs root and /dev/fuse; skips loudly
//! without.
//!
//! The session is built in-process the way `arcbox-fuse --cache always
//! --writeback` builds it, with the host's fanotify watcher turned on and
//! [`forward_host_changes`] as the periodic drain.

mod common;

use arcbox_fs::passthrough::{CacheMode, PassthroughConfig, PassthroughFs};
use arcbox_fs_fusedev::notify::forward_host_changes;
use arcbox_fs_fusedev::{MountOptions, Session, SessionConfig};
use arcbox_fs_linux::{LinuxHost, LinuxHostConfig};
use common::{BOUND, TempDir, can_mount, sh, wait_for};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn run() {
    let tmp = TempDir::new("coherent");
    let src = tmp.sub("src");
    let mnt = tmp.sub("mnt");
    std::fs::write(src.join("f"), b"version one").expect("seed");
    let hcfg = LinuxHostConfig {
        fanotify: true,
        ..LinuxHostConfig::default()
    };
    let host = LinuxHost::with_config(&src, hcfg).expect("host");
    assert!(host.uses_fanotify(), "root, yet fanotify could not start");
    let mut pcfg = PassthroughConfig::for_mode(CacheMode::Always, Duration::from_secs(86400));
    pcfg.writeback_cache = true;
    let fs = PassthroughFs::new(host, pcfg).expect("passthrough");
    let running = Session::mount(fs, &mnt, &MountOptions::default(), SessionConfig::default())
        .expect("mount")
        .spawn()
        .expect("spawn");
    let inval_inodes: Arc<Mutex<Vec<u64>>> = Arc::default();
    let inval_entries: Arc<Mutex<Vec<(u64, Vec<u8>)>>> = Arc::default();
    {
        let (i, e) = (inval_inodes.clone(), inval_entries.clone());
        running
            .spawn_periodic(Duration::from_millis(20), move |fs, notifier| {
                let sent = forward_host_changes(fs, notifier);
                if let Ok(mut v) = i.lock() {
                    v.extend(sent.inodes);
                }
                if let Ok(mut v) = e.lock() {
                    v.extend(sent.entries);
                }
            })
            .expect("periodic");
    }
    let f = mnt.join("f");
    // Fill the kernel's page cache and attributes (kept a day).
    assert_eq!(std::fs::read(&f).expect("read"), b"version one");
    assert_eq!(std::fs::read(&f).expect("read"), b"version one");

    // (b) Rewritten on the host by another process, several times.
    let mut lat = Vec::new();
    for (i, text) in ["two", "version three, longer", "4"].iter().enumerate() {
        sh(&format!(
            "printf '%s' '{text}' > '{}'",
            src.join("f").display()
        ));
        let Some(d) = wait_for(&f, text.as_bytes()) else {
            panic!(
                "rewrite {i} on the host not seen through the mount within {BOUND:?}: \
                 reads {:?}",
                String::from_utf8_lossy(&std::fs::read(&f).unwrap_or_default())
            );
        };
        lat.push(d);
    }
    eprintln!(
        "host rewrite seen through the mount after {lat:?} (poll 1 ms, drain every 20 ms; shared machine)"
    );
    assert!(
        !inval_inodes.lock().map(|v| v.is_empty()).unwrap_or(true),
        "no INVAL_INODE was sent"
    );

    // (c) Our own writes through the mount: no inode invalidation, no
    // entry invalidation (the server's own events are ignored).
    std::thread::sleep(Duration::from_millis(100));
    inval_inodes.lock().map(|mut v| v.clear()).ok();
    inval_entries.lock().map(|mut v| v.clear()).ok();
    let g = mnt.join("g");
    {
        let mut w = std::fs::File::create(&g).expect("create through mount");
        for _ in 0..64 {
            w.write_all(&[b'x'; 4096]).expect("write through mount");
        }
        w.sync_all().expect("fsync through mount");
    }
    std::fs::write(&f, b"written through the mount").expect("rewrite through mount");
    let ff = std::fs::File::open(&f).expect("open");
    ff.sync_all().expect("fsync");
    drop(ff);
    std::thread::sleep(Duration::from_millis(200));
    let inodes = inval_inodes.lock().map(|v| v.clone()).unwrap_or_default();
    let entries = inval_entries.lock().map(|v| v.clone()).unwrap_or_default();
    assert!(
        inodes.is_empty(),
        "INVAL_INODE sent for our own writes: {inodes:?}"
    );
    assert!(
        entries.is_empty(),
        "INVAL_ENTRY sent for our own changes: {entries:?}"
    );
    assert_eq!(std::fs::read(&g).expect("read g").len(), 64 * 4096);
    assert_eq!(
        std::fs::read(src.join("f")).expect("host read"),
        b"written through the mount"
    );
    assert_eq!(
        std::fs::read(&f).expect("read"),
        b"written through the mount"
    );

    let stopper = running.stopper();
    stopper.unmount().expect("unmount");
    running.join().expect("join");
}

#[test]
fn host_rewrite_reaches_a_cache_always_writeback_mount_and_own_writes_do_not_invalidate() {
    if !can_mount("host_rewrite_reaches_a_cache_always_writeback_mount") {
        return;
    }
    // The passthrough keeps its negative cache inline: a big stack.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(run)
        .expect("spawn")
        .join()
        .map_err(std::panic::resume_unwind)
        .ok();
}
