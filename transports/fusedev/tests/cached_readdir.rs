//! Cached directory listings (issue 14, item 3): with `cache=always` and a
//! day-long timeout the kernel caches a directory's contents
//! (FOPEN_CACHE_DIR + FOPEN_KEEP_CACHE on OPENDIR), and a name created or
//! removed on the host behind the mount's back still shows up in the next
//! listing through the mount (inotify → `Invalidation::Entry` →
//! `FUSE_NOTIFY_INVAL_INODE` on the directory, which drops the cached
//! listing). Needs root and /dev/fuse; skips loudly without.

mod common;

use arcbox_fs::host::Host;
use arcbox_fs::passthrough::{CacheMode, PassthroughConfig, PassthroughFs};
use arcbox_fs_fusedev::notify::forward_host_changes;
use arcbox_fs_fusedev::{MountOptions, Session, SessionConfig};
use arcbox_fs_linux::LinuxHost;
use common::{TempDir, can_mount};
use std::path::Path;
use std::time::{Duration, Instant};

/// Failure bound for anything that should take milliseconds.
const BOUND: Duration = Duration::from_secs(5);

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn wait_names(dir: &Path, want: &[&str]) -> bool {
    let start = Instant::now();
    while start.elapsed() < BOUND {
        if names(dir) == want {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

fn run() {
    let tmp = TempDir::new("cached-readdir");
    let src = tmp.sub("src");
    let mnt = tmp.sub("mnt");
    std::fs::create_dir(src.join("d")).expect("mkdir");
    std::fs::write(src.join("d/a"), b"a").expect("seed");
    let host = LinuxHost::new(&src).expect("host");
    let pcfg = PassthroughConfig::for_mode(CacheMode::Always, Duration::from_secs(86400));
    let fs = PassthroughFs::new(host, pcfg).expect("passthrough");
    let running = Session::mount(fs, &mnt, &MountOptions::default(), SessionConfig::default())
        .expect("mount")
        .spawn()
        .expect("spawn");
    assert!(running.fs().host().has_watcher(), "no host watcher");
    running
        .spawn_periodic(Duration::from_millis(20), |fs, notifier| {
            let _ = forward_host_changes(fs, notifier);
        })
        .expect("periodic");
    let d = mnt.join("d");
    // Listed twice: the second listing comes from the kernel's cache.
    assert_eq!(names(&d), ["a"]);
    assert_eq!(names(&d), ["a"]);
    std::fs::write(src.join("d/b"), b"b").expect("host create");
    assert!(
        wait_names(&d, &["a", "b"]),
        "host create not listed through the mount within {BOUND:?}: {:?}",
        names(&d)
    );
    std::fs::remove_file(src.join("d/a")).expect("host unlink");
    assert!(
        wait_names(&d, &["b"]),
        "host unlink not listed through the mount within {BOUND:?}: {:?}",
        names(&d)
    );
    let stopper = running.stopper();
    stopper.unmount().expect("unmount");
    running.join().expect("join");
}

#[test]
fn host_changes_reach_a_cached_directory_listing() {
    if !can_mount("host_changes_reach_a_cached_directory_listing") {
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
