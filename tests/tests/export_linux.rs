//! Export support over `LinuxHost` (LOOKUP of "." and ".." through the
//! dispatcher): forgotten nodes come back through the host's file handles,
//! deleted ones are stale, and nothing outside the share is ever answered,
//! even after a directory is renamed out of the share on the host. Needs
//! `CAP_DAC_READ_SEARCH` (root) for `open_by_handle_at(2)`; without it
//! export support is off, which is checked instead.
#![allow(clippy::unwrap_used)]

use arcbox_fs::Errno;
use arcbox_fs::abi::*;
use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
use arcbox_fs_linux::{LinuxHost, LinuxHostConfig};
use arcbox_fs_tests::fuse::{Session, on_big_stack};
use std::fs;
use std::path::{Path, PathBuf};

type S = Session<PassthroughFs<LinuxHost>>;

const ROOT: u64 = ROOT_ID;

struct Fixture {
    tmp: tempfile::TempDir,
    share: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let share = tmp.path().join("share");
        fs::create_dir_all(share.join("a/b/c")).unwrap();
        fs::write(share.join("a/b/f"), b"inside").unwrap();
        fs::create_dir(tmp.path().join("outside")).unwrap();
        fs::write(tmp.path().join("outside/secret"), b"SECRET").unwrap();
        Fixture { tmp, share }
    }

    fn session(&self) -> S {
        let share = self.share.clone();
        Session::new(on_big_stack(move || {
            let host = LinuxHost::with_config(share, LinuxHostConfig::default()).unwrap();
            PassthroughFs::new(host, PassthroughConfig::default()).unwrap()
        }))
    }

    fn outside(&self) -> &Path {
        self.tmp.path()
    }
}

/// The session, or `None` (with a loud line) where the host cannot reopen
/// handles: then export support must be off.
fn session(fx: &Fixture, test: &str) -> Option<S> {
    let s = fx.session();
    if !s.fs().host().uses_file_handles() {
        assert!(!s.fs().export_support());
        assert!(
            s.d.negotiated_flags()
                .contains(InitFlags::NO_EXPORT_SUPPORT)
        );
        eprintln!("\n*** SKIPPED {test}: no file handles here (needs CAP_DAC_READ_SEARCH) ***\n");
        return None;
    }
    assert!(s.fs().export_support());
    assert!(s.d.negotiated_flags().contains(InitFlags::EXPORT_SUPPORT));
    Some(s)
}

fn forget_all(s: &mut S, node: u64) {
    let n = s.fs().inodes().lookups(node).unwrap();
    s.forget(node, n);
    assert_eq!(s.fs().inodes().lookups(node), None);
}

#[test]
fn forgotten_nodes_reopen_through_host_handles() {
    let fx = Fixture::new();
    let Some(mut s) = session(&fx, "forgotten_nodes_reopen_through_host_handles") else {
        return;
    };
    let a = s.lookup_found(ROOT, b"a").unwrap();
    let b = s.lookup_found(a.nodeid, b"b").unwrap();
    let f = s.lookup_found(b.nodeid, b"f").unwrap();
    for n in [f.nodeid, b.nodeid, a.nodeid] {
        forget_all(&mut s, n);
    }
    assert_eq!(s.fs().inodes().forgotten_len(), 3);
    let back = s.lookup(f.nodeid, b".").unwrap();
    assert_eq!((back.nodeid, back.generation), (f.nodeid, f.generation));
    let o = s.open(f.nodeid, 0).unwrap();
    assert_eq!(s.read(f.nodeid, o.fh, 0, 64).unwrap(), b"inside");
    s.release(f.nodeid, o.fh).unwrap();
    let back = s.lookup(b.nodeid, b".").unwrap();
    assert_eq!(back.nodeid, b.nodeid);
    assert_eq!(s.lookup(b.nodeid, b"..").unwrap().nodeid, a.nodeid);
    assert_eq!(s.lookup(a.nodeid, b"..").unwrap().nodeid, ROOT);
    assert_eq!(s.lookup(ROOT, b"..").unwrap().nodeid, ROOT);

    // Deleted on the host while forgotten: stale, never another object,
    // even when a new file takes the name (and maybe the inode number).
    forget_all(&mut s, f.nodeid);
    fs::remove_file(fx.share.join("a/b/f")).unwrap();
    fs::write(fx.share.join("a/b/f"), b"new").unwrap();
    assert_eq!(s.lookup(f.nodeid, b".").map(drop), Err(Errno::ESTALE));
    let new = s.lookup_found(b.nodeid, b"f").unwrap();
    assert_ne!(new.nodeid, f.nodeid);
}

#[test]
fn a_directory_renamed_out_of_the_share_is_stale() {
    let fx = Fixture::new();
    let Some(mut s) = session(&fx, "a_directory_renamed_out_of_the_share_is_stale") else {
        return;
    };
    let a = s.lookup_found(ROOT, b"a").unwrap();
    let b = s.lookup_found(a.nodeid, b"b").unwrap();
    let c = s.lookup_found(b.nodeid, b"c").unwrap();
    forget_all(&mut s, b.nodeid);
    // The host moves a/b (holding c, which the guest still knows) out.
    fs::rename(fx.share.join("a/b"), fx.outside().join("outside/b")).unwrap();
    // ".." of c is now outside the share: refused, and nothing is counted.
    let before = s.fs().inodes().len();
    assert_eq!(s.lookup(c.nodeid, b"..").map(drop), Err(Errno::ESTALE));
    assert_eq!(s.fs().inodes().len(), before);
    // "." of c (known) and of b (forgotten) are refused as well.
    assert_eq!(s.lookup(c.nodeid, b".").map(drop), Err(Errno::ESTALE));
    assert_eq!(s.lookup(b.nodeid, b".").map(drop), Err(Errno::ESTALE));
    assert_eq!(s.fs().inodes().lookups(b.nodeid), None);
    // Moved back in, elsewhere in the share: inside again.
    fs::rename(fx.outside().join("outside/b"), fx.share.join("b2")).unwrap();
    assert_eq!(s.lookup(c.nodeid, b"..").unwrap().nodeid, b.nodeid);
    assert_eq!(s.lookup(b.nodeid, b"..").unwrap().nodeid, ROOT);
    // Nothing outside was touched.
    assert_eq!(
        fs::read(fx.outside().join("outside/secret")).unwrap(),
        b"SECRET"
    );
}
