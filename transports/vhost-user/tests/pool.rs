//! `--thread-pool-size`: each queue's worker pool completes requests out of
//! order, waiting locks (SETLKW) never stall the queue, `GET_VRING_BASE`
//! cancels them and answers only once the queue is drained, and malformed
//! chains are refused without stopping the queue. At size 0 (in order on
//! the kick thread) a SETLKW still waits on a thread of its own: the
//! requests behind it are served, INTERRUPT, `GET_VRING_BASE` and a device
//! reset end the wait. Driven through the
//! vhost-user request handler over a memfd, as a frontend would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use arcbox_fs::abi::{Attr, FileLock, InHeader, InitIn, LkIn, Opcode, OutHeader, ROOT_ID};
use arcbox_fs::fs::{AttrReply, Context, NodeId};
use arcbox_fs::{Errno, FileSystem, FuseDispatcher};
use arcbox_fs_vhost_user::VhostUserFsBackend;
use arcbox_fs_virtio::{Tag, VirtioFsDevice};
use core::time::Duration;
use std::fs::File;
use std::io::Write;
use std::os::fd::FromRawFd;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Instant;
use vhost::vhost_user::VhostUserBackendReqHandlerMut;
use vhost::vhost_user::message::{VhostUserMemoryRegion, VhostUserVringAddrFlags};
use zerocopy::{FromBytes, IntoBytes};

const QSIZE: u16 = 16;
const MEM: u64 = 0x10_0000;
const USER: u64 = 0x7f00_0000_0000;
const DESC: u64 = 0;
const AVAIL: u64 = 0x1000;
const USED: u64 = 0x2000;
const BUFS: u64 = 0x4000;
const F_NEXT: u16 = 1;
const F_WRITE: u16 = 2;

/// A filesystem whose SETLKW waits until `cancel_blocked` or an INTERRUPT.
#[derive(Default)]
struct LockFs {
    cancelled: AtomicBool,
    waiting: AtomicU32,
    /// The `unique` of the last INTERRUPT.
    interrupted: AtomicU64,
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

    fn interrupt(&self, _: &Context, unique: u64) {
        self.interrupted.store(unique, Ordering::SeqCst);
        self.cancelled.store(true, Ordering::SeqCst);
    }
}

fn memfd(len: u64) -> File {
    // SAFETY: a valid NUL-terminated name; the returned fd is owned below.
    let fd = unsafe { libc::memfd_create(c"arcbox-pool-test".as_ptr(), 0) };
    assert!(fd >= 0);
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let f = unsafe { File::from_raw_fd(fd) };
    f.set_len(len).unwrap();
    f
}

fn eventfd() -> File {
    // SAFETY: eventfd(2) returns a fresh descriptor or -1.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK) };
    assert!(fd >= 0);
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    unsafe { File::from_raw_fd(fd) }
}

/// The frontend's side: the guest memory (the memfd) and the ring.
struct Driver {
    mem: File,
    kick: File,
    next_buf: u64,
    avail: u16,
}

impl Driver {
    fn buffer(&mut self, bytes: &[u8], room: u64) -> u64 {
        let a = BUFS + self.next_buf;
        self.mem.write_all_at(bytes, a).unwrap();
        self.next_buf += room.max(bytes.len() as u64).next_multiple_of(64);
        a
    }

    fn desc(&self, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        let mut d = addr.to_le_bytes().to_vec();
        d.extend_from_slice(&len.to_le_bytes());
        d.extend_from_slice(&flags.to_le_bytes());
        d.extend_from_slice(&next.to_le_bytes());
        self.mem.write_all_at(&d, DESC + 16 * u64::from(i)).unwrap();
    }

    /// A request/reply chain at descriptors `first`, `first + 1`; returns
    /// the reply buffer's address.
    fn chain(&mut self, first: u16, req: &[u8], room: u32) -> u64 {
        let r = self.buffer(req, req.len() as u64);
        let w = self.buffer(&[], u64::from(room));
        self.desc(first, r, req.len() as u32, F_NEXT, first + 1);
        self.desc(first + 1, w, room, F_WRITE, 0);
        w
    }

    fn publish(&mut self, head: u16) {
        let slot = AVAIL + 4 + 2 * u64::from(self.avail % QSIZE);
        self.mem.write_all_at(&head.to_le_bytes(), slot).unwrap();
        self.avail = self.avail.wrapping_add(1);
        self.mem
            .write_all_at(&self.avail.to_le_bytes(), AVAIL + 2)
            .unwrap();
    }

    fn kick(&self) {
        (&self.kick).write_all(&1u64.to_ne_bytes()).unwrap();
    }

    fn used_idx(&self) -> u16 {
        let mut b = [0u8; 2];
        self.mem.read_exact_at(&mut b, USED + 2).unwrap();
        u16::from_le_bytes(b)
    }

    /// The used element `i`: (id, len).
    fn used(&self, i: u16) -> (u32, u32) {
        let mut b = [0u8; 8];
        self.mem
            .read_exact_at(&mut b, USED + 4 + 8 * u64::from(i % QSIZE))
            .unwrap();
        (
            u32::from_le_bytes(b[..4].try_into().unwrap()),
            u32::from_le_bytes(b[4..].try_into().unwrap()),
        )
    }

    fn reply(&self, addr: u64, len: u32) -> OutHeader {
        let mut b = vec![0u8; len as usize];
        self.mem.read_exact_at(&mut b, addr).unwrap();
        OutHeader::read_from_prefix(&b).unwrap().0
    }

    fn wait_used(&self, n: u16, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.used_idx() < n {
            assert!(
                Instant::now() < deadline,
                "{what}: {} of {n} used",
                self.used_idx()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn request(opcode: Opcode, unique: u64, nodeid: u64, body: &[u8]) -> Vec<u8> {
    let h = InHeader {
        len: (40 + body.len()) as u32,
        opcode: opcode as u32,
        unique,
        nodeid,
        uid: 0,
        gid: 0,
        pid: 1,
        total_extlen: 0,
        padding: 0,
    };
    let mut v = h.as_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

fn init_body() -> Vec<u8> {
    InitIn {
        major: 7,
        minor: 41,
        max_readahead: 1 << 20,
        flags: 0,
        flags2: 0,
        unused: [0; 11],
    }
    .as_bytes()
    .to_vec()
}

fn setlkw_body() -> Vec<u8> {
    LkIn {
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
    }
    .as_bytes()
    .to_vec()
}

/// A backend with `pool` workers per queue and request queue 1 running.
fn start(pool: usize) -> (VhostUserFsBackend<LockFs>, Driver) {
    let device: VirtioFsDevice<2> = VirtioFsDevice::new(Tag::new("pool").unwrap(), QSIZE);
    let mut b = VhostUserFsBackend::new(device, FuseDispatcher::new(LockFs::default()));
    b.set_thread_pool_size(pool);
    let features = b.get_features().unwrap()
        & !arcbox_fs_vhost_user::backend::VHOST_USER_F_PROTOCOL_FEATURES
        & !arcbox_fs_virtio::device::VIRTIO_F_EVENT_IDX;
    b.set_features(features).unwrap();
    let mem = memfd(MEM);
    b.set_mem_table(
        &[VhostUserMemoryRegion::new(0, MEM, USER, 0)],
        vec![mem.try_clone().unwrap()],
        None,
    )
    .unwrap();
    b.set_vring_num(1, u32::from(QSIZE)).unwrap();
    b.set_vring_addr(
        1,
        VhostUserVringAddrFlags::empty(),
        USER + DESC,
        USER + USED,
        USER + AVAIL,
        0,
    )
    .unwrap();
    b.set_vring_base(1, 0).unwrap();
    b.set_vring_call(1, Some(eventfd())).unwrap();
    let kick = eventfd();
    b.set_vring_kick(1, Some(kick.try_clone().unwrap()))
        .unwrap();
    (
        b,
        Driver {
            mem,
            kick,
            next_buf: 0,
            avail: 0,
        },
    )
}

#[test]
fn waiting_locks_leave_the_queue_served_and_get_vring_base_cancels_them() {
    let (mut b, mut d) = start(2);
    let mut replies = vec![d.chain(0, &request(Opcode::INIT, 1, 0, &init_body()), 256)];
    // Three SETLKW (more than the two workers), then four GETATTRs.
    for i in 1..4u16 {
        let r = request(Opcode::SETLKW, 100 + u64::from(i), ROOT_ID, &setlkw_body());
        replies.push(d.chain(2 * i, &r, 64));
    }
    for i in 4..8u16 {
        let r = request(Opcode::GETATTR, 100 + u64::from(i), ROOT_ID, &[0u8; 16]);
        replies.push(d.chain(2 * i, &r, 256));
    }
    // INIT first, alone (a driver waits for its reply before anything else).
    d.publish(0);
    d.kick();
    d.wait_used(1, "INIT");
    for i in 1..8u16 {
        d.publish(2 * i);
    }
    d.kick();
    // INIT and the four GETATTRs complete while the three locks wait.
    d.wait_used(5, "queue stalled behind waiting locks");
    let deadline = Instant::now() + Duration::from_secs(60);
    while b.dispatcher().fs().waiting.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < deadline, "locks not waiting");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(d.used_idx(), 5);
    assert_eq!(b.inflight(1), 3);
    // GET_VRING_BASE stops the ring: it cancels the waits, and the base it
    // returns counts every request, all of them completed.
    let state = b.get_vring_base(1).unwrap();
    assert_eq!({ state.num }, 8);
    assert_eq!(d.used_idx(), 8);
    assert_eq!(b.inflight(1), 0);
    let mut eintr = 0;
    for i in 0..8u16 {
        let (id, len) = d.used(i);
        let idx = (id / 2) as usize;
        let h = d.reply(replies[idx], len);
        if (1..4).contains(&idx) {
            assert_eq!(h.error, -(Errno::EINTR.to_wire().abs()));
            eintr += 1;
        } else {
            assert_eq!(h.error, 0, "request {idx}");
        }
    }
    assert_eq!(eintr, 3);
    assert_eq!(b.device().requests(1), 8);
    assert_eq!(b.device().requests(0), 0);
    assert_eq!(b.queue_counts(), "q0=0 q1=8");
}

#[test]
fn malformed_chains_are_refused_and_the_pool_keeps_serving() {
    let (mut b, mut d) = start(3);
    let init = d.chain(0, &request(Opcode::INIT, 1, 0, &init_body()), 256);
    // A descriptor outside guest memory, a request shorter than its header,
    // and a descriptor loop.
    d.desc(2, MEM + 0x1000, 64, 0, 0);
    let short = d.buffer(&[1, 2, 3], 3);
    d.desc(3, short, 3, F_NEXT, 4);
    let room = d.buffer(&[], 64);
    d.desc(4, room, 64, F_WRITE, 0);
    d.desc(5, BUFS, 16, F_NEXT, 6);
    d.desc(6, BUFS, 16, F_NEXT, 5);
    let getattr = d.chain(7, &request(Opcode::GETATTR, 9, ROOT_ID, &[0u8; 16]), 256);
    d.publish(0);
    d.kick();
    d.wait_used(1, "INIT");
    for h in [2, 3, 5, 7] {
        d.publish(h);
    }
    d.kick();
    d.wait_used(5, "malformed chains stalled the queue");
    let mut lens = std::collections::HashMap::new();
    for i in 0..5u16 {
        let (id, len) = d.used(i);
        lens.insert(id, len);
    }
    assert_eq!(d.reply(init, lens[&0]).error, 0);
    assert_eq!(d.reply(getattr, lens[&7]).error, 0);
    assert_eq!(lens[&2], 0);
    assert_eq!(lens[&5], 0);
    assert_eq!({ b.get_vring_base(1).unwrap().num }, 5);
}

#[test]
fn a_new_memory_table_restarts_the_pool_on_it() {
    let (mut b, mut d) = start(2);
    let init = d.chain(0, &request(Opcode::INIT, 1, 0, &init_body()), 256);
    d.publish(0);
    d.kick();
    d.wait_used(1, "INIT");
    assert_eq!(d.reply(init, d.used(0).1).error, 0);
    // The same memory again, as a new table (a frontend re-sending it).
    b.set_mem_table(
        &[VhostUserMemoryRegion::new(0, MEM, USER, 0)],
        vec![d.mem.try_clone().unwrap()],
        None,
    )
    .unwrap();
    let ga = d.chain(2, &request(Opcode::GETATTR, 2, ROOT_ID, &[0u8; 16]), 256);
    d.publish(2);
    d.kick();
    d.wait_used(2, "GETATTR after a new memory table");
    assert_eq!(d.reply(ga, d.used(1).1).error, 0);
}

#[test]
fn request_queues_limit_the_queues_offered_and_refuse_more() {
    let device: VirtioFsDevice<17> = VirtioFsDevice::new(Tag::new("mq").unwrap(), QSIZE);
    let mut b = VhostUserFsBackend::new(device, FuseDispatcher::new(LockFs::default()));
    b.set_request_queues(4);
    assert_eq!(b.get_queue_num().unwrap(), 5);
    b.set_vring_num(4, u32::from(QSIZE)).unwrap();
    assert!(b.set_vring_num(5, u32::from(QSIZE)).is_err());
    assert!(b.set_vring_call(5, Some(eventfd())).is_err());
    assert!(b.set_vring_kick(5, Some(eventfd())).is_err());
    assert!(b.set_vring_base(16, 0).is_err());
    assert!(b.set_vring_base(u32::MAX, 0).is_err());
    // Out of range asks are clamped to what the device holds.
    b.set_request_queues(0);
    assert_eq!(b.get_queue_num().unwrap(), 2);
    b.set_request_queues(1000);
    assert_eq!(b.get_queue_num().unwrap(), 17);
}

/// Pool size 0: INIT, then a SETLKW that waits and a GETATTR behind it on
/// the same queue; returns once the GETATTR is answered while the lock
/// still waits (the reply addresses of INIT, SETLKW, GETATTR).
fn inline_lock_then_getattr() -> (VhostUserFsBackend<LockFs>, Driver, Vec<u64>) {
    let (b, mut d) = start(0);
    let init = d.chain(0, &request(Opcode::INIT, 1, 0, &init_body()), 256);
    let lk = d.chain(2, &request(Opcode::SETLKW, 2, ROOT_ID, &setlkw_body()), 64);
    let ga = d.chain(4, &request(Opcode::GETATTR, 3, ROOT_ID, &[0u8; 16]), 256);
    d.publish(0);
    d.kick();
    d.wait_used(1, "INIT");
    d.publish(2);
    d.publish(4);
    d.kick();
    d.wait_used(2, "GETATTR stalled behind a waiting SETLKW at pool size 0");
    let deadline = Instant::now() + Duration::from_secs(60);
    while b.dispatcher().fs().waiting.load(Ordering::SeqCst) < 1 {
        assert!(Instant::now() < deadline, "the lock is not waiting");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(d.used_idx(), 2);
    assert_eq!(d.used(1).0, 4, "the GETATTR completed, not the SETLKW");
    assert_eq!(d.reply(ga, d.used(1).1).error, 0);
    assert_eq!(b.inflight(1), 1);
    (b, d, vec![init, lk, ga])
}

#[test]
fn pool_size_0_a_waiting_lock_leaves_the_queue_served_and_get_vring_base_cancels_it() {
    let (mut b, d, replies) = inline_lock_then_getattr();
    let state = b.get_vring_base(1).unwrap();
    assert_eq!({ state.num }, 3);
    assert_eq!(d.used_idx(), 3);
    assert_eq!(b.inflight(1), 0);
    let (id, len) = d.used(2);
    assert_eq!(id, 2);
    assert_eq!(
        d.reply(replies[1], len).error,
        -(Errno::EINTR.to_wire().abs())
    );
}

#[test]
fn pool_size_0_an_interrupt_behind_a_waiting_lock_ends_it() {
    let (mut b, mut d, replies) = inline_lock_then_getattr();
    // The INTERRUPT comes behind the lock on the same queue: served only if
    // the lock does not hold the queue.
    let body = 2u64.to_le_bytes();
    d.chain(6, &request(Opcode::INTERRUPT, 4, 0, &body), 64);
    d.publish(6);
    d.kick();
    d.wait_used(4, "INTERRUPT behind a waiting SETLKW");
    assert_eq!(b.dispatcher().fs().interrupted.load(Ordering::SeqCst), 2);
    let lk = (0..4u16)
        .map(|i| d.used(i))
        .find(|(id, _)| *id == 2)
        .expect("the SETLKW completed");
    assert_eq!(
        d.reply(replies[1], lk.1).error,
        -(Errno::EINTR.to_wire().abs())
    );
    assert_eq!(b.inflight(1), 0);
    assert_eq!({ b.get_vring_base(1).unwrap().num }, 4);
}

#[test]
fn pool_size_0_a_device_reset_cancels_a_waiting_lock_and_drains() {
    let (mut b, d, replies) = inline_lock_then_getattr();
    b.reset_device().unwrap();
    assert_eq!(d.used_idx(), 3);
    assert_eq!(b.inflight(1), 0);
    let (id, len) = d.used(2);
    assert_eq!(id, 2);
    assert_eq!(
        d.reply(replies[1], len).error,
        -(Errno::EINTR.to_wire().abs())
    );
}

#[test]
fn pool_size_0_a_new_memory_table_leaves_a_waiting_lock_waiting_and_serves_on() {
    let (mut b, mut d, replies) = inline_lock_then_getattr();
    b.set_mem_table(
        &[VhostUserMemoryRegion::new(0, MEM, USER, 0)],
        vec![d.mem.try_clone().unwrap()],
        None,
    )
    .unwrap();
    // Not cancelled: still waiting, and the queue serves on the new table.
    assert_eq!(b.dispatcher().fs().waiting.load(Ordering::SeqCst), 1);
    assert!(!b.dispatcher().fs().cancelled.load(Ordering::SeqCst));
    assert_eq!(b.inflight(1), 1);
    let ga = d.chain(6, &request(Opcode::GETATTR, 5, ROOT_ID, &[0u8; 16]), 256);
    d.publish(6);
    d.kick();
    d.wait_used(3, "GETATTR after a new memory table, a lock waiting");
    assert_eq!(d.used(2).0, 6);
    assert_eq!(d.reply(ga, d.used(2).1).error, 0);
    // Stopping the ring cancels the lock popped under the old table too.
    assert_eq!({ b.get_vring_base(1).unwrap().num }, 4);
    assert_eq!(d.used_idx(), 4);
    assert_eq!(b.inflight(1), 0);
    let (id, len) = d.used(3);
    assert_eq!(id, 2);
    assert_eq!(
        d.reply(replies[1], len).error,
        -(Errno::EINTR.to_wire().abs())
    );
}
