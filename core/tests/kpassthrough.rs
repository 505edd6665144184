//! Kernel passthrough (FUSE_PASSTHROUGH) through `FuseDispatcher`: open
//! replies carry FOPEN_PASSTHROUGH and one backing id per inode, the id is
//! closed with the last handle, and opens that cannot use it fall back.
#![allow(clippy::unwrap_used)]

#[path = "../../tests/src/fuse.rs"]
mod fuse;

use arcbox_fs::Errno;
use arcbox_fs::abi::*;
use arcbox_fs::memhost::MemHost;
use arcbox_fs::passthrough::kpassthrough::BackingFiles;
use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
use fuse::Session;
use std::sync::{Arc, Mutex};

/// Registered backing ids, as the kernel would keep them.
#[derive(Clone, Default)]
struct Fake(Arc<Mutex<(i32, Vec<i32>)>>);

impl<F> BackingFiles<F> for Fake {
    fn open(&self, _: &F) -> arcbox_fs::errno::Result<i32> {
        let mut g = self.0.lock().unwrap();
        g.0 += 1;
        let id = g.0;
        g.1.push(id);
        Ok(id)
    }
    fn close(&self, id: i32) {
        self.0.lock().unwrap().1.retain(|&x| x != id);
    }
}

impl Fake {
    fn open_ids(&self) -> Vec<i32> {
        self.0.lock().unwrap().1.clone()
    }
}

fn session(fake: &Fake, offered: InitFlags) -> Session<PassthroughFs<MemHost>> {
    let f = fake.clone();
    Session::with_flags(
        fuse::on_big_stack(move || {
            PassthroughFs::new(MemHost::new(), PassthroughConfig::default())
                .unwrap()
                .with_kernel_passthrough(Box::new(f))
        }),
        offered,
    )
}

const ALL: InitFlags = InitFlags::all().difference(InitFlags::INIT_RESERVED);
const RW: u32 = 2;
const O_DIRECT: u32 = 0o40000;
const O_CREAT: u32 = 0o100;
const PT: u32 = FopenFlags::PASSTHROUGH.bits();

#[test]
fn one_backing_id_per_inode_closed_with_the_last_handle() {
    let fake = Fake::default();
    let mut s = session(&fake, ALL);
    assert!(s.d.negotiated_flags().contains(InitFlags::PASSTHROUGH));
    let e = s.mknod(ROOT_ID, b"f", mode::S_IFREG | 0o644, 0).unwrap();
    let a = s.open(e.nodeid, RW).unwrap();
    let b = s.open(e.nodeid, 0).unwrap();
    assert_ne!(a.open_flags & PT, 0);
    assert_ne!(b.open_flags & PT, 0);
    assert_eq!(a.backing_id, b.backing_id);
    assert_eq!(fake.open_ids(), [a.backing_id]);
    s.release(e.nodeid, a.fh).unwrap();
    assert_eq!(fake.open_ids(), [a.backing_id]);
    // Hostile releases: wrong node, unknown handle, twice.
    assert_eq!(s.release(e.nodeid + 1000, b.fh), Err(Errno::EBADF));
    assert_eq!(s.release(e.nodeid, 0xdead), Err(Errno::EBADF));
    assert_eq!(s.release(e.nodeid, a.fh), Err(Errno::EBADF));
    assert_eq!(fake.open_ids(), [a.backing_id]);
    s.release(e.nodeid, b.fh).unwrap();
    assert!(fake.open_ids().is_empty());
    let st = s.fs().kernel_passthrough().unwrap().stats();
    assert_eq!(
        st.backing_opened.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn o_direct_and_setid_files_fall_back_and_cached_opens_block_passthrough() {
    let fake = Fake::default();
    let mut s = session(&fake, ALL);
    let e = s.mknod(ROOT_ID, b"f", mode::S_IFREG | 0o644, 0).unwrap();
    let d = s.open(e.nodeid, RW | O_DIRECT).unwrap();
    assert_eq!(d.open_flags & PT, 0);
    assert_ne!(d.open_flags & FopenFlags::DIRECT_IO.bits(), 0);
    assert!(fake.open_ids().is_empty());
    let suid = s.mknod(ROOT_ID, b"s", mode::S_IFREG | 0o4755, 0).unwrap();
    let c = s.open(suid.nodeid, RW).unwrap();
    assert_eq!(c.open_flags & PT, 0);
    // The set-id file has a cached open: no passthrough for it meanwhile.
    assert_eq!(s.open(suid.nodeid, 0).unwrap().open_flags & PT, 0);
    assert!(fake.open_ids().is_empty());
    // A passthrough inode makes a later O_DIRECT open passthrough too
    // (the kernel refuses any other open of it).
    let p = s.open(e.nodeid, 0).unwrap();
    assert_ne!(p.open_flags & PT, 0);
    let pd = s.open(e.nodeid, O_DIRECT).unwrap();
    assert_ne!(pd.open_flags & PT, 0);
    assert_eq!(pd.backing_id, p.backing_id);
}

#[test]
fn without_the_kernel_offer_nothing_is_registered() {
    let fake = Fake::default();
    let mut s = session(&fake, ALL - InitFlags::PASSTHROUGH);
    let init = s.init(41, ALL - InitFlags::PASSTHROUGH).unwrap();
    assert_eq!(init.max_stack_depth, 0);
    let e = s.mknod(ROOT_ID, b"f", mode::S_IFREG | 0o644, 0).unwrap();
    let o = s.open(e.nodeid, RW).unwrap();
    assert_eq!(o.open_flags & PT, 0);
    assert_eq!(o.backing_id, 0);
    assert!(fake.open_ids().is_empty());
    let mut s = session(&fake, ALL);
    assert_eq!(s.init(41, ALL).unwrap().max_stack_depth, 1);
}

#[test]
fn create_decides_from_the_new_files_own_status() {
    let fake = Fake::default();
    let mut s = session(&fake, ALL);
    // The create's status says set-id: the handle falls back, no backing id.
    let (_, o) = s
        .create(ROOT_ID, b"s", RW | O_CREAT, mode::S_IFREG | 0o4755)
        .unwrap();
    assert_eq!(o.open_flags & PT, 0);
    assert!(fake.open_ids().is_empty());
    // A plain file created the same way is passthrough.
    let (_, p) = s
        .create(ROOT_ID, b"p", RW | O_CREAT, mode::S_IFREG | 0o644)
        .unwrap();
    assert_ne!(p.open_flags & PT, 0);
    assert_eq!(fake.open_ids(), vec![p.backing_id]);
}
