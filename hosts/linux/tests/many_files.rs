//! 100k inodes alive at once under a 1024-descriptor limit: inodes held by
//! file handle keep no descriptor, and cached descriptors are shed under
//! pressure instead of failing with EMFILE.
//!
//! Its own test binary: it lowers the process-wide RLIMIT_NOFILE.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::host::Host;
use arcbox_fs_linux::{LinuxHost, LinuxHostConfig};
use common::n;
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

const DIRS: usize = 100;
const PER_DIR: usize = 1000;
const LIMIT: u64 = 1024;

fn walk_all(host: &LinuxHost) -> usize {
    let (root, _) = host.root().unwrap();
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for d in 0..DIRS {
        let (dir, _) = host.lookup(&root, n(&format!("d{d}"))).unwrap();
        for f in 0..PER_DIR {
            let (file, st) = host.lookup(&dir, n(&format!("f{f}"))).unwrap();
            assert_eq!(st.size, 0);
            files.push(file);
        }
        dirs.push(dir);
    }
    for (i, file) in files.iter().enumerate() {
        let st = host.stat(file).unwrap_or_else(|e| panic!("stat #{i}: {e}"));
        assert_eq!(st.key, file.key());
    }
    files.len()
}

#[test]
fn hundred_thousand_inodes_under_a_small_fd_limit() {
    if !common::need_root(
        "hundred_thousand_inodes_under_a_small_fd_limit (open_by_handle_at needs CAP_DAC_READ_SEARCH)",
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for d in 0..DIRS {
        let dir = tmp.path().join(format!("d{d}"));
        std::fs::create_dir(&dir).unwrap();
        for f in 0..PER_DIR {
            std::fs::File::create(dir.join(format!("f{f}"))).unwrap();
        }
    }
    // Lower both limits: the host raises soft to hard at construction.
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(LIMIT),
            maximum: Some(LIMIT),
        },
    )
    .unwrap();
    assert_eq!(getrlimit(Resource::Nofile).maximum, Some(LIMIT));

    // Default configuration: a cache of LIMIT/4 descriptors.
    let host = LinuxHost::new(tmp.path()).unwrap();
    assert!(
        host.uses_file_handles(),
        "ext4/tmpfs as root should give file handles"
    );
    assert_eq!(walk_all(&host), DIRS * PER_DIR);
    assert!(
        host.cached_fds() <= (LIMIT / 4) as usize,
        "cache bounded: {}",
        host.cached_fds()
    );

    // A cache far larger than the limit: EMFILE happens, and is absorbed by
    // closing cached descriptors.
    let cfg = LinuxHostConfig {
        fd_cache_capacity: Some(1 << 20),
        ..LinuxHostConfig::default()
    };
    let greedy = LinuxHost::with_config(tmp.path(), cfg).unwrap();
    assert_eq!(walk_all(&greedy), DIRS * PER_DIR);
    assert!(greedy.cached_fds() < LIMIT as usize);
}
