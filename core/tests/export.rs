//! Export support over `MemHost`, through `FuseDispatcher::handle` with raw
//! FUSE requests: LOOKUP of "." after FORGET (what the Linux kernel's
//! `fuse_get_dentry` sends to open a file handle whose inode it dropped),
//! LOOKUP of ".." (`fuse_get_parent`), the bounded table of forgotten
//! nodes, and hostile variants.
#![allow(clippy::unwrap_used)]

#[path = "../../tests/src/fuse.rs"]
mod fuse;

use arcbox_fs::abi::*;
use arcbox_fs::memhost::MemHost;
use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
use arcbox_fs::{Errno, Timespec};
use core::sync::atomic::{AtomicI64, Ordering};
use core::time::Duration;
use fuse::Session;

type S = Session<PassthroughFs<MemHost>>;

const ROOT: u64 = ROOT_ID;
const RW: u32 = 2;
const REG: u32 = mode::S_IFREG;
const GEN: u32 = 0x5eed_0001;

static CLOCK: AtomicI64 = AtomicI64::new(1_000);
fn clock() -> Timespec {
    Timespec::new(CLOCK.load(Ordering::SeqCst), 0)
}

fn cfg() -> PassthroughConfig {
    PassthroughConfig {
        generation: GEN,
        ..PassthroughConfig::default()
    }
}

fn session_with(cfg: PassthroughConfig) -> S {
    let host = MemHost::with_clock(clock);
    Session::new(fuse::on_big_stack(move || {
        PassthroughFs::new(host, cfg).unwrap()
    }))
}

fn session() -> S {
    session_with(cfg())
}

/// Drops every lookup the guest holds of `node`.
fn forget_all(s: &mut S, node: u64) {
    let n = s.fs().inodes().lookups(node).unwrap();
    assert!(!s.forget(node, n));
    assert_eq!(s.fs().inodes().lookups(node), None);
}

#[test]
fn init_offers_export_support_and_off_keeps_no_export_support() {
    let s = session();
    assert!(s.fs().export_support());
    let f = s.d.negotiated_flags();
    assert!(f.contains(InitFlags::EXPORT_SUPPORT), "{f:?}");
    assert!(!f.contains(InitFlags::NO_EXPORT_SUPPORT), "{f:?}");

    let mut off = session_with(PassthroughConfig {
        export_support: false,
        ..cfg()
    });
    assert!(!off.fs().export_support());
    let f = off.d.negotiated_flags();
    assert!(f.contains(InitFlags::NO_EXPORT_SUPPORT), "{f:?}");
    assert!(!f.contains(InitFlags::EXPORT_SUPPORT), "{f:?}");
    // Off: "." and ".." are bad names, and forgotten node ids never come back.
    let d = off.mkdir(ROOT, b"d", 0o755).unwrap();
    assert_eq!(off.lookup(d.nodeid, b".").map(|_| ()), Err(Errno::EINVAL));
    assert_eq!(off.lookup(d.nodeid, b"..").map(|_| ()), Err(Errno::EINVAL));
    forget_all(&mut off, d.nodeid);
    assert_eq!(off.fs().inodes().forgotten_len(), 0);
    assert_eq!(off.lookup(d.nodeid, b".").map(|_| ()), Err(Errno::EINVAL));
    assert_ne!(off.lookup_found(ROOT, b"d").unwrap().nodeid, d.nodeid);
}

#[test]
fn dot_after_forget_gives_the_same_node_id_and_generation() {
    let mut s = session();
    let (f, o) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    assert_eq!(f.generation, u64::from(GEN));
    s.write(f.nodeid, o.fh, 0, b"handle bytes").unwrap();
    s.release(f.nodeid, o.fh).unwrap();
    let d = s.mkdir(ROOT, b"d", 0o755).unwrap();
    let sub = s.mkdir(d.nodeid, b"sub", 0o700).unwrap();
    for n in [f.nodeid, sub.nodeid, d.nodeid] {
        forget_all(&mut s, n);
    }
    assert_eq!(s.fs().inodes().forgotten_len(), 3);
    assert_eq!(s.getattr(f.nodeid), Err(Errno::EBADF), "forgotten");

    let back = s.lookup(f.nodeid, b".").unwrap();
    assert_eq!((back.nodeid, back.generation), (f.nodeid, u64::from(GEN)));
    assert_eq!(back.attr.ino, f.attr.ino);
    assert_eq!(s.fs().inodes().lookups(f.nodeid), Some(1));
    let o = s.open(f.nodeid, 0).unwrap();
    assert_eq!(s.read(f.nodeid, o.fh, 0, 64).unwrap(), b"handle bytes");
    s.release(f.nodeid, o.fh).unwrap();

    // A directory (its parent forgotten too) comes back and can be listed.
    let back = s.lookup(sub.nodeid, b".").unwrap();
    assert_eq!(
        (back.nodeid, back.attr.mode),
        (sub.nodeid, mode::S_IFDIR | 0o700)
    );
    s.mknod(sub.nodeid, b"x", REG | 0o600, 0).unwrap();
    assert!(s.lookup_found(sub.nodeid, b"x").is_ok());
    // ".." of it brings its parent back under the parent's old node id.
    let up = s.lookup(sub.nodeid, b"..").unwrap();
    assert_eq!((up.nodeid, up.generation), (d.nodeid, u64::from(GEN)));
    assert_eq!(s.fs().inodes().lookups(d.nodeid), Some(1));
    assert_eq!(s.fs().inodes().forgotten_len(), 0);
}

#[test]
fn dot_on_a_known_node_counts_one_lookup() {
    let mut s = session();
    let (f, _) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    assert_eq!(s.fs().inodes().lookups(f.nodeid), Some(1));
    let again = s.lookup(f.nodeid, b".").unwrap();
    assert_eq!(again.nodeid, f.nodeid);
    assert_eq!(s.fs().inodes().lookups(f.nodeid), Some(2));
    // The root is its own "." and "..", and stays pinned.
    for name in [&b"."[..], b".."] {
        let r = s.lookup(ROOT, name).unwrap();
        assert_eq!((r.nodeid, r.generation), (ROOT, u64::from(GEN)));
    }
    assert!(!s.forget(ROOT, u64::MAX));
    assert_eq!(s.getattr(ROOT).unwrap().ino, 1);
}

#[test]
fn dotdot_gives_the_parent_and_never_goes_above_the_root() {
    let mut s = session();
    let a = s.mkdir(ROOT, b"a", 0o755).unwrap();
    let b = s.mkdir(a.nodeid, b"b", 0o755).unwrap();
    let (f, _) = s.create(b.nodeid, b"f", RW, REG | 0o644).unwrap();
    assert_eq!(s.lookup(b.nodeid, b"..").unwrap().nodeid, a.nodeid);
    assert_eq!(s.fs().inodes().lookups(a.nodeid), Some(2), "counted");
    assert_eq!(s.lookup(a.nodeid, b"..").unwrap().nodeid, ROOT);
    assert_eq!(s.lookup(ROOT, b"..").unwrap().nodeid, ROOT);
    // ".." is for directories only.
    assert_eq!(s.lookup(f.nodeid, b"..").map(|_| ()), Err(Errno::ENOTDIR));
    // A directory moved: ".." follows it.
    s.rename(a.nodeid, b"b", ROOT, b"b2").unwrap();
    assert_eq!(s.lookup(b.nodeid, b"..").unwrap().nodeid, ROOT);
    // ".." of an unknown or forgotten node: ESTALE (the kernel holds the
    // child, so this is a hostile guest).
    forget_all(&mut s, f.nodeid);
    for n in [0, f.nodeid, 0xdead, u64::MAX] {
        assert_eq!(s.lookup(n, b"..").map(|_| ()), Err(Errno::ESTALE), "{n}");
    }
}

#[test]
fn unknown_deleted_and_evicted_nodes_are_stale() {
    let mut s = session_with(PassthroughConfig {
        export_capacity: 4,
        ..cfg()
    });
    // Never issued, 0, the largest id.
    for n in [0, 2, 0xdead, u64::MAX] {
        assert_eq!(s.lookup(n, b".").map(|_| ()), Err(Errno::ESTALE), "{n}");
    }
    // Deleted while forgotten.
    let (f, _) = s.create(ROOT, b"gone", RW, REG | 0o644).unwrap();
    forget_all(&mut s, f.nodeid);
    s.unlink(ROOT, b"gone").unwrap();
    assert_eq!(s.lookup(f.nodeid, b".").map(|_| ()), Err(Errno::ESTALE));
    // Deleted while still known (the guest's FORGET not yet here).
    let (g, _) = s.create(ROOT, b"g", RW, REG | 0o644).unwrap();
    s.unlink(ROOT, b"g").unwrap();
    assert_eq!(s.lookup(g.nodeid, b".").map(|_| ()), Err(Errno::ESTALE));
    assert_eq!(s.fs().inodes().lookups(g.nodeid), Some(1), "not counted");
    // The table is bounded: ten forgotten, four kept, oldest dropped first.
    let mut ids = Vec::new();
    for i in 0..10u8 {
        let (e, _) = s.create(ROOT, &[b'f', b'0' + i], RW, REG | 0o644).unwrap();
        ids.push(e.nodeid);
        forget_all(&mut s, e.nodeid);
        assert!(s.fs().inodes().forgotten_len() <= 4);
    }
    for &n in &ids[..6] {
        assert_eq!(s.lookup(n, b".").map(|_| ()), Err(Errno::ESTALE), "{n}");
    }
    for &n in &ids[6..] {
        assert_eq!(s.lookup(n, b".").unwrap().nodeid, n);
    }
    // An evicted node's object, found by name, gets a new node id.
    let again = s.lookup_found(ROOT, b"f0").unwrap();
    assert!(!ids.contains(&again.nodeid));
}

#[test]
fn lookup_by_name_reclaims_a_forgotten_node_id() {
    let mut s = session();
    let d = s.mkdir(ROOT, b"d", 0o755).unwrap();
    // A cached miss in d, then d is forgotten and x appears behind the
    // server's back (no watcher to say so).
    assert_eq!(s.lookup_found(d.nodeid, b"x"), Err(Errno::ENOENT));
    forget_all(&mut s, d.nodeid);
    s.fs()
        .host()
        .external()
        .create_file("d/x", b"late")
        .unwrap();
    let back = s.lookup_found(ROOT, b"d").unwrap();
    assert_eq!(back.nodeid, d.nodeid, "same object, same node id");
    assert_eq!(s.fs().inodes().forgotten_len(), 0);
    // The miss cached before the FORGET does not come back with the node id.
    assert!(s.lookup_found(d.nodeid, b"x").is_ok());
    // "." of it now just counts.
    assert_eq!(s.lookup(d.nodeid, b".").unwrap().nodeid, d.nodeid);
    assert_eq!(s.fs().inodes().lookups(d.nodeid), Some(2));
}

#[test]
fn hostile_forget_counts_and_repeated_dots() {
    let mut s = session_with(PassthroughConfig {
        export_capacity: 2,
        ..cfg()
    });
    let (f, _) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    // A count far beyond what was given only drops the node (kept).
    assert!(!s.forget(f.nodeid, u64::MAX));
    assert_eq!(s.fs().inodes().forgotten_len(), 1);
    assert_eq!(s.lookup(f.nodeid, b".").unwrap().nodeid, f.nodeid);
    assert_eq!(s.fs().inodes().lookups(f.nodeid), Some(1));
    // Repeated "." counts up; a batch of huge counts drops it again.
    for _ in 0..100 {
        s.lookup(f.nodeid, b".").unwrap();
    }
    assert_eq!(s.fs().inodes().lookups(f.nodeid), Some(101));
    assert!(!s.batch_forget(&[(f.nodeid, u64::MAX), (f.nodeid, u64::MAX), (0, 1)]));
    assert_eq!(s.fs().inodes().lookups(f.nodeid), None);
    assert_eq!(s.lookup(f.nodeid, b".").unwrap().nodeid, f.nodeid);
    // Forgetting without end never keeps more than the bound.
    for i in 0..500u32 {
        let name = format!("n{i}");
        let (e, _) = s.create(ROOT, name.as_bytes(), RW, REG | 0o644).unwrap();
        assert!(!s.forget(e.nodeid, u64::MAX));
        assert!(s.fs().inodes().forgotten_len() <= 2);
    }
    assert!(s.fs().inodes().len() <= 2, "root and f");
    // "." with trailing bytes after the name, or without a NUL, is malformed.
    let r = s.req(Opcode::LOOKUP, f.nodeid, &[b"."]);
    assert_eq!(r.result().map(|_| ()), Err(Errno::EINVAL));
    let r = s.req(Opcode::LOOKUP, f.nodeid, &[b".\0garbage"]);
    assert!(r.result().is_ok());
    // Session end forgets everything, kept nodes included.
    s.destroy().unwrap();
    assert_eq!(s.fs().inodes().forgotten_len(), 0);
    let _ = Duration::ZERO;
}
