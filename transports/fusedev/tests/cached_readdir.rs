//! Cached directory listings (issue 14, item 3): with `cache=always`, and
//! with `cache=auto` where the mount forwards host changes
//! (`PassthroughConfig::host_changes_forwarded`, as `arcbox-fuse` does),
//! the kernel caches a directory's contents (FOPEN_CACHE_DIR +
//! FOPEN_KEEP_CACHE on OPENDIR): a repeated listing sends no READDIR; a
//! name created or removed on the host behind the mount's back still shows
//! up in the next listing (watcher → `Invalidation::Entry` →
//! `FUSE_NOTIFY_INVAL_INODE` on the directory, which drops the cached
//! listing) or, with no watcher, once the directory's attributes expire
//! (the kernel compares the refreshed mtime, `FUSE_AUTO_INVAL_DATA`); and
//! the guest's own changes show at once. Without forwarding (the virtio
//! transport) `cache=auto` caches no listing. With `default_permissions`
//! and cached listings the kernel opens directories without OPENDIR (one
//! answered ENOSYS) and RELEASEDIR. Needs root and /dev/fuse; skips loudly
//! without.

mod common;

use arcbox_fs::abi::Opcode;
use arcbox_fs::host::Host;
use arcbox_fs::passthrough::{CacheMode, PassthroughConfig, PassthroughFs};
use arcbox_fs_fusedev::notify::forward_host_changes;
use arcbox_fs_fusedev::{MountOptions, RunningSession, Session, SessionConfig};
use arcbox_fs_linux::{LinuxHost, LinuxHostConfig};
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

/// READDIR and READDIRPLUS requests served so far.
fn listings<F: arcbox_fs::FileSystem + Send + 'static>(running: &RunningSession<F>) -> u64 {
    let st = running.dispatcher().stats();
    st.op(Opcode::READDIR as u32).count + st.op(Opcode::READDIRPLUS as u32).count
}

fn sh(script: &str) {
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .status()
        .expect("sh");
    assert!(st.success(), "{script}");
}

/// How the host notices other processes' changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Watch {
    Fanotify,
    Inotify,
    /// None: only the attribute timeout (here 1 s) bounds a stale listing.
    None,
}

fn run(cache: CacheMode, forwarded: bool, watch: Watch) {
    let tmp = TempDir::new(&format!(
        "cached-readdir-{}-{forwarded}-{watch:?}",
        cache.as_str()
    ));
    let src = tmp.sub("src");
    let mnt = tmp.sub("mnt");
    std::fs::create_dir(src.join("d")).expect("mkdir");
    std::fs::write(src.join("d/a"), b"a").expect("seed");
    let hcfg = LinuxHostConfig {
        fanotify: watch == Watch::Fanotify,
        watch: watch != Watch::None,
        ..LinuxHostConfig::default()
    };
    let host = LinuxHost::with_config(&src, hcfg).expect("host");
    assert_eq!(host.uses_fanotify(), watch == Watch::Fanotify, "as root");
    assert_eq!(host.has_watcher(), watch != Watch::None);
    let timeout = match watch {
        Watch::None => Duration::from_secs(1),
        _ => Duration::from_secs(86400),
    };
    let mut pcfg = PassthroughConfig::for_mode(cache, timeout);
    pcfg.host_changes_forwarded = forwarded;
    // The mount below has default_permissions: where listings are cached
    // the kernel then opens directories without OPENDIR / RELEASEDIR.
    pcfg.default_permissions = true;
    let fs = PassthroughFs::new(host, pcfg).expect("passthrough");
    let cached = cache == CacheMode::Always || forwarded;
    assert_eq!(fs.caches_listings(), cached);
    let mopts = MountOptions {
        default_permissions: true,
        ..MountOptions::default()
    };
    let running = Session::mount(fs, &mnt, &mopts, SessionConfig::default())
        .expect("mount")
        .spawn()
        .expect("spawn");
    if watch != Watch::None {
        running
            .spawn_periodic(Duration::from_millis(20), |fs, notifier| {
                let _ = forward_host_changes(fs, notifier);
            })
            .expect("periodic");
    }
    let d = mnt.join("d");
    assert_eq!(names(&d), ["a"]);
    let before = listings(&running);
    assert_eq!(names(&d), ["a"]);
    let repeat = listings(&running) - before;
    if cached {
        assert_eq!(repeat, 0, "{cache:?}: a cached listing was read again");
    } else {
        assert!(repeat > 0, "{cache:?}: listing cached without forwarding");
    }
    // The guest's own changes: at once, cached or not.
    std::fs::write(d.join("own"), b"o").expect("guest create");
    assert_eq!(names(&d), ["a", "own"]);
    std::fs::remove_file(d.join("own")).expect("guest unlink");
    assert_eq!(names(&d), ["a"]);
    // Cached again (so the host changes below must drop a cached listing).
    assert_eq!(names(&d), ["a"]);
    let before = listings(&running);
    assert_eq!(names(&d), ["a"]);
    if cached {
        assert_eq!(listings(&running), before, "{cache:?}: not cached again");
    }
    // Another process's changes on the host, behind the mount's back (a
    // child: fanotify ignores the server's own process).
    sh(&format!("printf b > '{}'", src.join("d/b").display()));
    assert!(
        wait_names(&d, &["a", "b"]),
        "{cache:?}: host create not listed through the mount within {BOUND:?}: {:?}",
        names(&d)
    );
    sh(&format!("rm '{}'", src.join("d/a").display()));
    assert!(
        wait_names(&d, &["b"]),
        "{cache:?}: host unlink not listed through the mount within {BOUND:?}: {:?}",
        names(&d)
    );
    // Cached: one OPENDIR, answered ENOSYS, and never a RELEASEDIR (the
    // kernel's no_opendir); else one OPENDIR and RELEASEDIR per listing.
    let st = running.dispatcher().stats();
    let (opendirs, releasedirs) = (
        st.op(Opcode::OPENDIR as u32),
        st.op(Opcode::RELEASEDIR as u32).count,
    );
    if cached {
        assert_eq!(
            (opendirs.count, opendirs.errors, releasedirs),
            (1, 1, 0),
            "{cache:?}"
        );
    } else {
        assert!(opendirs.count > 1 && opendirs.errors == 0, "{cache:?}");
        assert!(releasedirs > 1, "{cache:?}");
    }
    let stopper = running.stopper();
    stopper.unmount().expect("unmount");
    running.join().expect("join");
}

/// Runs `run(cache, forwarded, watch)` on a big stack (the passthrough
/// keeps its negative cache inline).
fn on_big_stack(name: &str, cache: CacheMode, forwarded: bool, watch: Watch) {
    if !can_mount(name) {
        return;
    }
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || run(cache, forwarded, watch))
        .expect("spawn")
        .join()
        .map_err(std::panic::resume_unwind)
        .ok();
}

#[test]
fn host_changes_reach_a_cached_directory_listing() {
    on_big_stack(
        "host_changes_reach_a_cached_directory_listing",
        CacheMode::Always,
        false,
        Watch::Inotify,
    );
}

#[test]
fn auto_caches_listings_where_host_changes_are_forwarded() {
    on_big_stack(
        "auto_caches_listings_where_host_changes_are_forwarded",
        CacheMode::Auto,
        true,
        Watch::Fanotify,
    );
}

#[test]
fn auto_caches_listings_with_inotify_too() {
    on_big_stack(
        "auto_caches_listings_with_inotify_too",
        CacheMode::Auto,
        true,
        Watch::Inotify,
    );
}

#[test]
fn auto_without_a_watcher_sees_host_changes_within_the_timeout() {
    on_big_stack(
        "auto_without_a_watcher_sees_host_changes_within_the_timeout",
        CacheMode::Auto,
        true,
        Watch::None,
    );
}

#[test]
fn auto_without_forwarding_reads_every_listing() {
    on_big_stack(
        "auto_without_forwarding_reads_every_listing",
        CacheMode::Auto,
        false,
        Watch::Fanotify,
    );
}
