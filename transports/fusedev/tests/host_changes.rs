//! Host-side changes reach the kernel's caches: a negative dentry the kernel
//! holds for a long timeout is dropped when the file appears on the host
//! (inotify → `FUSE_NOTIFY_INVAL_ENTRY`), and a new file becomes visible
//! through the mount long before the timeout.

mod common;

use common::{Daemon, TempDir, can_mount};
use std::time::{Duration, Instant};

#[test]
fn file_created_on_host_after_negative_lookup_becomes_visible() {
    if !can_mount("file_created_on_host_after_negative_lookup_becomes_visible") {
        return;
    }
    let tmp = TempDir::new("hostchange");
    let src = tmp.sub("src");
    let mnt = tmp.sub("mnt");
    // A day-long timeout: without invalidation the miss would stick.
    let mut daemon = Daemon::start(&src, &mnt, &["--timeout", "86400"]);
    let seen = mnt.join("late");
    for _ in 0..3 {
        assert!(!seen.exists(), "nothing there yet");
    }
    std::fs::write(src.join("late"), b"hello").expect("create on host");
    let t0 = Instant::now();
    let mut visible = false;
    // Bounded wait; a guest-side negative dentry would otherwise stay a day.
    while t0.elapsed() < Duration::from_secs(10) {
        if seen.exists() {
            visible = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        visible,
        "a file created on the host stayed hidden behind a cached negative entry"
    );
    assert_eq!(std::fs::read(&seen).expect("read through mount"), b"hello");
    let st = daemon.stop();
    assert!(st.success(), "arcbox-fuse exit status {st}");
}
