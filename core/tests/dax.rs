//! FUSE_SETUPMAPPING / FUSE_REMOVEMAPPING through `PassthroughFs` over
//! `MemHost` with a fake [`DaxMapper`] that records every call and keeps
//! its own picture of the window: a guest-like sequence, hostile ranges,
//! access modes, a full window, forget and DESTROY.
#![allow(clippy::unwrap_used)]

#[path = "../../tests/src/fuse.rs"]
mod fuse;

use arcbox_fs::Errno;
use arcbox_fs::abi::*;
use arcbox_fs::errno::Result;
use arcbox_fs::memhost::{MemFile, MemHost};
use arcbox_fs::passthrough::dax::NO_FH;
use arcbox_fs::passthrough::{DaxConfig, DaxMapper, PassthroughConfig, PassthroughFs};
use fuse::Session;
use std::sync::{Arc, Mutex};
use zerocopy::IntoBytes;

type S = Session<PassthroughFs<MemHost>>;

const ROOT: u64 = ROOT_ID;
const REG: u32 = mode::S_IFREG | 0o644;
const ALIGN: u64 = 16 << 10; // 16 KiB, Apple silicon pages
const WINDOW: u64 = 8 << 20; // room for 4 mappings of 2 MiB
const RANGE: u64 = 2 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    Setup {
        foffset: u64,
        moffset: u64,
        len: u64,
        writable: bool,
    },
    Remove {
        moffset: u64,
        len: u64,
    },
}

/// Records calls; checks that it is never asked to map over a live range
/// or remove one that is not live (what `hv_vm_map` would refuse).
#[derive(Clone, Default)]
struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
    live: Arc<Mutex<Vec<(u64, u64)>>>,
    fail_next: Arc<Mutex<bool>>,
}

impl DaxMapper<MemFile> for Recorder {
    fn setup_mapping(
        &self,
        _file: &MemFile,
        foffset: u64,
        moffset: u64,
        len: u64,
        writable: bool,
    ) -> Result<()> {
        if std::mem::take(&mut *self.fail_next.lock().unwrap()) {
            return Err(Errno::ENOMEM);
        }
        assert_eq!(moffset % ALIGN, 0);
        assert_eq!(foffset % ALIGN, 0);
        assert_eq!(len % ALIGN, 0);
        assert!(moffset + len <= WINDOW);
        let mut live = self.live.lock().unwrap();
        assert!(
            live.iter()
                .all(|&(m, l)| moffset + len <= m || m + l <= moffset),
            "mapping over a live range"
        );
        live.push((moffset, len));
        self.calls.lock().unwrap().push(Call::Setup {
            foffset,
            moffset,
            len,
            writable,
        });
        Ok(())
    }

    fn remove_mapping(&self, moffset: u64, len: u64) -> Result<()> {
        let mut live = self.live.lock().unwrap();
        let i = live
            .iter()
            .position(|&r| r == (moffset, len))
            .expect("removal of a range that is not mapped");
        live.remove(i);
        self.calls
            .lock()
            .unwrap()
            .push(Call::Remove { moffset, len });
        Ok(())
    }
}

impl Recorder {
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
    fn live(&self) -> usize {
        self.live.lock().unwrap().len()
    }
}

fn session(cfg: DaxConfig) -> (S, Recorder) {
    let rec = Recorder::default();
    let r = rec.clone();
    let s = Session::new(fuse::on_big_stack(move || {
        PassthroughFs::new(MemHost::new(), PassthroughConfig::default())
            .unwrap()
            .with_dax(Box::new(r), cfg)
            .unwrap()
    }));
    (s, rec)
}

fn dax_session() -> (S, Recorder) {
    session(DaxConfig::new(WINDOW, 14))
}

fn setup(
    s: &mut S,
    node: u64,
    fh: u64,
    foffset: u64,
    moffset: u64,
    len: u64,
    w: bool,
) -> Result<()> {
    let flags = SetupmappingFlags::READ
        | if w {
            SetupmappingFlags::WRITE
        } else {
            SetupmappingFlags::empty()
        };
    setup_raw(s, node, fh, foffset, moffset, len, flags.bits())
}

fn setup_raw(
    s: &mut S,
    node: u64,
    fh: u64,
    foffset: u64,
    moffset: u64,
    len: u64,
    flags: u64,
) -> Result<()> {
    let arg = SetupmappingIn {
        fh,
        foffset,
        len,
        flags,
        moffset,
    };
    let r = s.req(Opcode::SETUPMAPPING, node, &[arg.as_bytes()]);
    r.result().map(|_| ())
}

fn remove(s: &mut S, items: &[(u64, u64)]) -> Result<()> {
    let mut body = RemovemappingIn {
        count: items.len() as u32,
    }
    .as_bytes()
    .to_vec();
    for &(moffset, len) in items {
        body.extend_from_slice(RemovemappingOne { moffset, len }.as_bytes());
    }
    let r = s.req(Opcode::REMOVEMAPPING, ROOT, &[&body]);
    r.result().map(|_| ())
}

/// A file `name` with `size` bytes of a pattern, opened with `flags`.
fn file(s: &mut S, name: &[u8], size: usize, flags: u32) -> (u64, u64) {
    let (e, o) = s.create(ROOT, name, 2 /* O_RDWR */, REG).unwrap();
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    for (i, chunk) in data.chunks(1 << 20).enumerate() {
        s.write(e.nodeid, o.fh, (i << 20) as u64, chunk).unwrap();
    }
    s.release(e.nodeid, o.fh).unwrap();
    let o = s.open(e.nodeid, flags).unwrap();
    (e.nodeid, o.fh)
}

#[test]
fn init_announces_the_alignment_when_asked() {
    let (s, _) = dax_session();
    assert!(s.d.negotiated_flags().contains(InitFlags::MAP_ALIGNMENT));
}

#[test]
fn guest_like_sequence() {
    let (mut s, rec) = dax_session();
    let (node, fh) = file(&mut s, b"f", 3 << 20, 2);
    // Map the first 2 MiB read-only at window offset 0.
    setup(&mut s, node, fh, 0, 0, RANGE, false).unwrap();
    assert_eq!(
        rec.take(),
        [Call::Setup {
            foffset: 0,
            moffset: 0,
            len: RANGE,
            writable: false
        }]
    );
    // "Read through the window": the window's range 0 is the file at 0.
    let m = s.fs().dax().unwrap().mappings();
    assert_eq!((m[0].node, m[0].fh, m[0].foffset), (node, fh, 0));
    // Upgrade to writable at the same range: remove, then map again.
    setup(&mut s, node, fh, 0, 0, RANGE, true).unwrap();
    assert_eq!(
        rec.take(),
        [
            Call::Remove {
                moffset: 0,
                len: RANGE
            },
            Call::Setup {
                foffset: 0,
                moffset: 0,
                len: RANGE,
                writable: true
            }
        ]
    );
    // The tail of the file (past EOF inside the range is fine, as mmap).
    setup(&mut s, node, fh, RANGE, RANGE, RANGE, false).unwrap();
    rec.take();
    // Unmap both in one request, then release the handle.
    remove(&mut s, &[(0, RANGE), (RANGE, RANGE)]).unwrap();
    assert_eq!(rec.live(), 0);
    assert_eq!(rec.take().len(), 2);
    s.release(node, fh).unwrap();
    assert!(rec.take().is_empty());
    // Removing nothing is fine.
    remove(&mut s, &[(0, RANGE)]).unwrap();
}

#[test]
fn len_is_rounded_up_to_the_alignment() {
    let (mut s, rec) = dax_session();
    let (node, fh) = file(&mut s, b"f", 4096, 2);
    setup(&mut s, node, fh, 0, 0, 100, false).unwrap();
    assert_eq!(
        rec.take(),
        [Call::Setup {
            foffset: 0,
            moffset: 0,
            len: ALIGN,
            writable: false
        }]
    );
}

#[test]
fn hostile_ranges_are_refused() {
    let (mut s, rec) = dax_session();
    let (node, fh) = file(&mut s, b"f", 4096, 2);
    let e = Err(Errno::EINVAL);
    // Empty, unaligned window or file offset.
    assert_eq!(setup(&mut s, node, fh, 0, 0, 0, false), e);
    assert_eq!(setup(&mut s, node, fh, 0, 4096, ALIGN, false), e);
    assert_eq!(setup(&mut s, node, fh, 4096, 0, ALIGN, false), e);
    // Overflow and past the window.
    assert_eq!(setup(&mut s, node, fh, 0, 0, u64::MAX, false), e);
    assert_eq!(
        setup(&mut s, node, fh, 0, u64::MAX - ALIGN + 1, ALIGN, false),
        e
    );
    assert_eq!(setup(&mut s, node, fh, 0, WINDOW, ALIGN, false), e);
    assert_eq!(
        setup(&mut s, node, fh, 0, WINDOW - ALIGN, 2 * ALIGN, false),
        e
    );
    assert_eq!(setup(&mut s, node, fh, !(ALIGN - 1), 0, ALIGN, false), e);
    assert_eq!(setup(&mut s, node, fh, 1 << 63, 0, ALIGN, false), e);
    // Unknown flags.
    assert_eq!(setup_raw(&mut s, node, fh, 0, 0, ALIGN, 1 << 7), e);
    // Bad handle, handle of another node, a directory handle, no such node.
    assert_eq!(
        setup(&mut s, node, 999, 0, 0, ALIGN, false),
        Err(Errno::EBADF)
    );
    assert_eq!(
        setup(&mut s, ROOT, fh, 0, 0, ALIGN, false),
        Err(Errno::EBADF)
    );
    let dfh = s.opendir(ROOT).unwrap();
    assert_eq!(
        setup(&mut s, ROOT, dfh, 0, 0, ALIGN, false),
        Err(Errno::EBADF)
    );
    assert!(rec.take().is_empty(), "nothing reached the mapper");
    // Overlaps: partial overlap refused, the live mapping untouched.
    setup(&mut s, node, fh, 0, RANGE, RANGE, false).unwrap();
    rec.take();
    let busy = Err(Errno::EBUSY);
    assert_eq!(
        setup(&mut s, node, fh, 0, RANGE - ALIGN, 2 * ALIGN, false),
        busy
    );
    assert_eq!(
        setup(&mut s, node, fh, 0, RANGE + ALIGN, ALIGN, false),
        busy
    );
    assert_eq!(setup(&mut s, node, fh, 0, 0, 2 * RANGE, false), busy);
    assert!(rec.take().is_empty());
    // Hostile removals: overflow, past the window, empty, cutting a mapping.
    assert_eq!(remove(&mut s, &[(u64::MAX, 2)]), e);
    assert_eq!(remove(&mut s, &[(WINDOW, ALIGN)]), e);
    assert_eq!(remove(&mut s, &[(0, 0)]), e);
    assert_eq!(remove(&mut s, &[(RANGE, ALIGN)]), e);
    assert_eq!(rec.live(), 1);
    // A lying count: more items claimed than sent.
    let body = RemovemappingIn { count: 1000 }.as_bytes().to_vec();
    assert!(
        s.req(Opcode::REMOVEMAPPING, ROOT, &[&body])
            .result()
            .is_err()
    );
    assert_eq!(rec.live(), 1);
}

#[test]
fn access_modes() {
    let (mut s, rec) = dax_session();
    let (node, wo) = file(&mut s, b"w", 4096, 1 /* O_WRONLY */);
    let ro = s.open(node, 0).unwrap().fh;
    assert_eq!(
        setup(&mut s, node, wo, 0, 0, ALIGN, false),
        Err(Errno::EACCES)
    );
    assert_eq!(
        setup(&mut s, node, ro, 0, 0, ALIGN, true),
        Err(Errno::EACCES)
    );
    assert!(rec.take().is_empty());
    setup(&mut s, node, ro, 0, 0, ALIGN, false).unwrap();
    setup(&mut s, node, wo, 0, ALIGN, ALIGN, true).unwrap();
    assert_eq!(rec.live(), 2);
}

#[test]
fn a_full_window_reclaims_the_oldest() {
    let (mut s, rec) = dax_session();
    let (node, fh) = file(&mut s, b"f", 4096, 2);
    let max = s.fs().dax().unwrap().config().max_mappings as u64;
    assert_eq!(max, WINDOW / RANGE);
    // Fill the table with small mappings, then one more.
    for i in 0..max {
        setup(&mut s, node, fh, 0, i * ALIGN, ALIGN, false).unwrap();
    }
    rec.take();
    setup(&mut s, node, fh, 0, max * ALIGN, ALIGN, false).unwrap();
    assert_eq!(
        rec.take(),
        [
            Call::Remove {
                moffset: 0,
                len: ALIGN
            },
            Call::Setup {
                foffset: 0,
                moffset: max * ALIGN,
                len: ALIGN,
                writable: false
            }
        ]
    );
    assert_eq!(rec.live() as u64, max);
    // The guest may map the reclaimed range again.
    setup(&mut s, node, fh, 0, 0, ALIGN, false).unwrap();
    assert_eq!(rec.live() as u64, max);
}

#[test]
fn mapper_failure_leaves_the_table_unchanged() {
    let (mut s, rec) = dax_session();
    let (node, fh) = file(&mut s, b"f", 4096, 2);
    *rec.fail_next.lock().unwrap() = true;
    assert_eq!(
        setup(&mut s, node, fh, 0, 0, ALIGN, false),
        Err(Errno::ENOMEM)
    );
    assert!(s.fs().dax().unwrap().mappings().is_empty());
    setup(&mut s, node, fh, 0, 0, ALIGN, false).unwrap();
}

#[test]
fn forget_and_destroy_remove_mappings() {
    let (mut s, rec) = dax_session();
    let (a, fa) = file(&mut s, b"a", 4096, 2);
    let (b, fb) = file(&mut s, b"b", 4096, 2);
    setup(&mut s, a, fa, 0, 0, ALIGN, false).unwrap();
    setup(&mut s, b, fb, 0, RANGE, ALIGN, false).unwrap();
    s.release(a, fa).unwrap();
    assert_eq!(rec.live(), 2, "release keeps the inode's mappings");
    // Drop every lookup of `a` (create + lookup-free file() made one).
    s.forget(a, 1 << 20);
    assert_eq!(rec.live(), 1);
    assert_eq!(s.fs().dax().unwrap().mappings()[0].node, b);
    s.destroy().unwrap();
    assert_eq!(rec.live(), 0);
}

#[test]
fn without_a_window_dax_is_enosys() {
    let mut s: S = Session::new(fuse::on_big_stack(|| {
        PassthroughFs::new(MemHost::new(), PassthroughConfig::default()).unwrap()
    }));
    let (node, fh) = file(&mut s, b"f", 10, 2);
    assert_eq!(
        setup(&mut s, node, fh, 0, 0, ALIGN, false),
        Err(Errno::ENOSYS)
    );
    assert_eq!(remove(&mut s, &[(0, ALIGN)]), Err(Errno::ENOSYS));
    assert!(!s.d.negotiated_flags().contains(InitFlags::MAP_ALIGNMENT));
}

#[test]
fn bad_window_configs_are_refused() {
    for cfg in [
        DaxConfig::new(0, 14),
        DaxConfig::new(WINDOW + 1, 14),
        DaxConfig::new(WINDOW, 31),
        DaxConfig {
            max_mappings: 0,
            ..DaxConfig::new(WINDOW, 14)
        },
    ] {
        let r = fuse::on_big_stack(move || {
            PassthroughFs::new(MemHost::new(), PassthroughConfig::default())
                .unwrap()
                .with_dax(Box::new(Recorder::default()), cfg)
                .err()
        });
        assert_eq!(r, Some(Errno::EINVAL), "{cfg:?}");
    }
}

#[test]
fn linux_guests_map_by_inode_without_a_handle() {
    // fs/fuse/dax.c sends fh = -1 and the inode's nodeid.
    let (mut s, rec) = dax_session();
    let (node, fh) = file(&mut s, b"f", 4096, 1 /* O_WRONLY: irrelevant here */);
    s.release(node, fh).unwrap();
    setup(&mut s, node, NO_FH, 0, 0, RANGE, false).unwrap();
    setup(&mut s, node, NO_FH, 0, RANGE, RANGE, true).unwrap();
    assert_eq!(rec.live(), 2);
    let m = s.fs().dax().unwrap().mappings();
    assert!(m.iter().all(|m| m.node == node && m.fh == NO_FH));
    assert_eq!((m[0].writable, m[1].writable), (false, true));
    // Hostile ranges are refused before the host is asked; unknown nodes too.
    assert_eq!(
        setup(&mut s, node, NO_FH, 0, 4096, ALIGN, false),
        Err(Errno::EINVAL)
    );
    assert!(setup(&mut s, 9999, NO_FH, 0, 2 * RANGE, ALIGN, false).is_err());
    assert_eq!(rec.live(), 2);
    // Forgetting the inode removes its mappings.
    s.forget(node, 1 << 20);
    assert_eq!(rec.live(), 0);
}
