//! A real guest walk (the kernel FUSE client through /dev/fuse) over more
//! directories than the inotify cap (issue 15, item 3): the watch count
//! stays at the cap, and a file created on the host is found by the next
//! lookup after the negative timeout in an evicted directory, and within
//! milliseconds in a watched one. Needs root and /dev/fuse; skips loudly
//! without.

mod common;

use arcbox_fs::passthrough::{CacheMode, PassthroughConfig, PassthroughFs};
use arcbox_fs_fusedev::notify::forward_host_changes;
use arcbox_fs_fusedev::{MountOptions, Session, SessionConfig};
use arcbox_fs_linux::{LinuxHost, LinuxHostConfig};
use common::{TempDir, can_mount};
use std::path::Path;
use std::time::{Duration, Instant};

const CAP: usize = 16;
const DIRS: usize = 100;
/// The guest's negative-entry timeout.
const TTL: Duration = Duration::from_secs(1);

/// Polls until `p` exists; the time taken, or `None` after 5 s.
fn wait_exists(p: &Path) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        if p.exists() {
            return Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

fn run() {
    let tmp = TempDir::new("watchcap");
    let src = tmp.sub("src");
    let mnt = tmp.sub("mnt");
    for i in 0..DIRS {
        std::fs::create_dir(src.join(format!("d{i}"))).expect("mkdir");
    }
    let hcfg = LinuxHostConfig {
        watch_cap: Some(CAP),
        ..LinuxHostConfig::default()
    };
    let host = LinuxHost::with_config(&src, hcfg).expect("host");
    let fs = PassthroughFs::new(host, PassthroughConfig::for_mode(CacheMode::Auto, TTL))
        .expect("passthrough");
    let running = Session::mount(fs, &mnt, &MountOptions::default(), SessionConfig::default())
        .expect("mount")
        .spawn()
        .expect("spawn");
    running
        .spawn_periodic(Duration::from_millis(20), |fs, notifier| {
            forward_host_changes(fs, notifier);
        })
        .expect("periodic");
    let mut max = 0;
    for i in 0..DIRS {
        let d = mnt.join(format!("d{i}"));
        assert!(d.is_dir());
        assert!(!d.join("late").exists(), "nothing there yet");
        max = max.max(running.fs().host().watched_dirs());
    }
    let after = running.fs().host().watched_dirs();
    eprintln!("walked {DIRS} directories: at most {max} watches (cap {CAP}), {after} after");
    assert!(max <= CAP, "{max} watches over the cap {CAP}");
    assert_eq!(after, CAP, "at the cap after the walk");

    // Watched (the last one walked): found within milliseconds.
    let last = mnt.join(format!("d{}/late", DIRS - 1));
    std::fs::write(src.join(format!("d{}/late", DIRS - 1)), b"w").expect("host create");
    let watched = wait_exists(&last).expect("created in a watched directory, never found");
    // Evicted (the first one): found by the next lookup after the TTL.
    std::fs::write(src.join("d0/late"), b"e").expect("host create");
    std::thread::sleep(TTL + Duration::from_millis(50));
    let first = mnt.join("d0/late");
    assert!(
        first.exists(),
        "created in an evicted directory, not found after the negative timeout"
    );
    eprintln!("watched directory: host create seen after {watched:?} (shared machine)");
    assert!(running.fs().host().watched_dirs() <= CAP);

    let stopper = running.stopper();
    stopper.unmount().expect("unmount");
    running.join().expect("join");
}

#[test]
fn a_guest_walk_beyond_the_inotify_cap_stays_at_the_cap_and_misses_stay_correct() {
    if !can_mount("a_guest_walk_beyond_the_inotify_cap") {
        return;
    }
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(run)
        .expect("spawn")
        .join()
        .map_err(std::panic::resume_unwind)
        .ok();
}
