//! SETLKW requests that wait for a lock never stop a queue: with two
//! workers, three waiting locks leave every other request served, and a
//! reset (`wait_idle`) cancels them (EINTR) instead of waiting forever; the
//! same with a pool of no workers (served on the notifying thread).
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::abi::{Attr, FileLock, LkIn, Opcode, ROOT_ID};
use arcbox_fs::fs::{AttrReply, Context, NodeId};
use arcbox_fs::passthrough::FsConfig;
use arcbox_fs::{Errno, FileSystem, FuseDispatcher};
use arcbox_fs_virtio::{NeedsInterrupt, Notifier, Tag, VirtioFsDevice, VirtioMmio, WorkerPool};
use common::*;
use core::time::Duration;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Instant;
use zerocopy::IntoBytes;

/// A filesystem whose SETLKW waits until `cancel_blocked`.
#[derive(Default)]
struct LockFs {
    cancelled: AtomicBool,
    waiting: AtomicU32,
}

impl FileSystem for LockFs {
    fn getattr(&self, _: &Context, node: NodeId, _: Option<u64>) -> Result<AttrReply, Errno> {
        Ok(AttrReply {
            attr: Attr {
                ino: node,
                mode: 0o40755,
                nlink: 2,
                ..Attr::default()
            },
            valid: Duration::from_secs(1),
        })
    }

    fn setlk(&self, _: &Context, _: NodeId, _: &LkIn, sleep: bool) -> Result<(), Errno> {
        if !sleep {
            return Ok(());
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        while !self.cancelled.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        Err(Errno::EINTR)
    }

    fn cancel_blocked(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }
}

struct Quiet;
impl Notifier for Quiet {
    fn notify(&self, _: u16, _: NeedsInterrupt) {}
}

#[test]
fn waiting_locks_leave_the_queue_served_and_reset_cancels_them() {
    waiting_locks(false);
}

/// A pool of no workers (`start_inline`): `notify` serves the queue on the
/// calling thread and returns while the three locks wait on their own.
#[test]
fn without_workers_waiting_locks_leave_the_queue_served_and_reset_cancels_them() {
    waiting_locks(true);
}

fn waiting_locks(inline: bool) {
    let mut config = FsConfig::new("locks", "/unused");
    config.num_threads = 2;
    let dev = Arc::new(VirtioFsDevice::<2>::new(Tag::new(&config.tag).unwrap(), 64));
    let mmio = VirtioMmio::new(dev.clone());
    let mut drv = RawDriver::new();
    drv.negotiate(
        &mmio,
        RawDriver::default_features() & !arcbox_fs_virtio::device::VIRTIO_F_EVENT_IDX,
    );
    drv.setup_queue(&mmio, 1, QSIZE);
    drv.driver_ok(&mmio);
    let disp = Arc::new(FuseDispatcher::new(LockFs::default()));
    let mut replies = Vec::new();
    replies.push(drv.simple_chain(0, &request(Opcode::INIT, 1, 0, &init_body()), 256));
    let lk = LkIn {
        fh: 1,
        owner: 7,
        lk: FileLock {
            start: 0,
            end: 0,
            typ: 1,
            pid: 1,
        },
        lk_flags: 0,
        padding: 0,
    };
    // Three SETLKW (more than the workers), then four GETATTRs (8 chains of
    // two descriptors fill the 16-entry table).
    for i in 1..4u16 {
        let r = request(Opcode::SETLKW, 100 + u64::from(i), ROOT_ID, lk.as_bytes());
        replies.push(drv.simple_chain(2 * i, &r, 64));
    }
    for i in 4..8u16 {
        let r = request(Opcode::GETATTR, 100 + u64::from(i), ROOT_ID, &[0u8; 16]);
        replies.push(drv.simple_chain(2 * i, &r, 256));
    }
    // INIT first, answered before anything else is offered, as a guest
    // waits for it: workers serve out of order, and a SETLKW served before
    // INIT would be answered EIO at once (the failure this test once had
    // under load).
    drv.publish(0, QSIZE);
    let _ = dev.process_queue(1, &drv.mem, &*disp, arcbox_fs::Instant::ZERO);
    for i in 1..8u16 {
        drv.publish(2 * i, QSIZE);
    }
    let mem = Arc::new(std::mem::replace(
        &mut drv.mem,
        arcbox_fs_virtio::OwnedMemory::new(0, 4096).unwrap(),
    ));
    let used = |m: &arcbox_fs_virtio::OwnedMemory| {
        use arcbox_fs_virtio::GuestMemory;
        m.load_u16(MEM_BASE + 0x4000 + 0x2000 + 2, Ordering::Acquire)
            .unwrap()
    };
    let pool = if inline {
        WorkerPool::start_inline(
            dev.clone(),
            mem.clone(),
            disp.clone(),
            Arc::new(Quiet),
            Instant::now(),
        )
    } else {
        WorkerPool::start(
            &config,
            dev.clone(),
            mem.clone(),
            disp.clone(),
            Arc::new(Quiet),
        )
        .unwrap()
    };
    pool.notify(1);
    // INIT and the four GETATTRs complete while the three locks wait.
    let deadline = Instant::now() + Duration::from_secs(30);
    while used(&mem) < 5 || disp.fs().waiting.load(Ordering::SeqCst) < 3 {
        assert!(
            Instant::now() < deadline,
            "queue stalled behind waiting locks: {} used, {} waiting",
            used(&mem),
            disp.fs().waiting.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(used(&mem), 5);
    assert_eq!(pool.inflight(), 3);
    // A reset: wait_idle cancels the waits and returns.
    pool.wait_idle();
    assert_eq!(pool.inflight(), 0);
    drop(pool);
    drv.mem = Arc::try_unwrap(mem).unwrap_or_else(|_| panic!("pool holds memory"));
    let mut eintr = 0;
    while let Some((id, len)) = drv.pop_used(QSIZE) {
        let idx = (id / 2) as usize;
        let (h, _) = reply(&drv.read(replies[idx], len as usize));
        if (1..4).contains(&idx) {
            assert_eq!(h.error, -(Errno::EINTR.to_wire().abs()));
            eintr += 1;
        } else {
            assert_eq!(h.error, 0);
        }
    }
    assert_eq!(eintr, 3);
}
