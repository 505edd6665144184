//! The worker pool serves a queue on several threads and completes every
//! request (in whatever order), raising interrupts through its notifier.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::FuseDispatcher;
use arcbox_fs::abi::{Opcode, ROOT_ID};
use arcbox_fs::passthrough::FsConfig;
use arcbox_fs_virtio::{NeedsInterrupt, Notifier, Tag, VirtioFsDevice, VirtioMmio, WorkerPool};
use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

struct Count(AtomicU32);

impl Notifier for Count {
    fn notify(&self, _: u16, irq: NeedsInterrupt) {
        if irq.used_buffer {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn pool_completes_every_request() {
    let mut config = FsConfig::new("pool", "/unused");
    config.num_threads = 3;
    let dev = Arc::new(VirtioFsDevice::<2>::new(Tag::new(&config.tag).unwrap(), 64));
    let mmio = VirtioMmio::new(dev.clone());
    let mut drv = RawDriver::new();
    drv.negotiate(
        &mmio,
        RawDriver::default_features() & !arcbox_fs_virtio::device::VIRTIO_F_EVENT_IDX,
    );
    drv.setup_queue(&mmio, 1, QSIZE);
    drv.driver_ok(&mmio);
    let disp = Arc::new(FuseDispatcher::new(TestFs::default()));
    let mut replies = Vec::new();
    let init = request(Opcode::INIT, 1, 0, &init_body());
    replies.push(drv.simple_chain(0, &init, 256));
    drv.publish(0, QSIZE);
    for i in 1..8u16 {
        replies.push(drv.simple_chain(
            2 * i,
            &request(Opcode::GETATTR, 100 + u64::from(i), ROOT_ID, &[0u8; 16]),
            256,
        ));
    }
    let mem = Arc::new(std::mem::replace(
        &mut drv.mem,
        arcbox_fs_virtio::OwnedMemory::new(0, 4096).unwrap(),
    ));
    let notifier = Arc::new(Count(AtomicU32::new(0)));
    let pool = WorkerPool::start(
        &config,
        dev.clone(),
        mem.clone(),
        disp.clone(),
        notifier.clone(),
    )
    .unwrap();
    pool.notify(1);
    // Wait for INIT, then make the GETATTRs available at once.
    let used = |m: &arcbox_fs_virtio::OwnedMemory| {
        use arcbox_fs_virtio::GuestMemory;
        m.load_u16(MEM_BASE + 0x4000 + 0x2000 + 2, Ordering::Acquire)
            .unwrap()
    };
    while used(&mem) < 1 {
        std::thread::yield_now();
    }
    drop(pool);
    drv.mem = Arc::try_unwrap(mem).unwrap_or_else(|_| panic!("pool holds memory"));
    for i in 1..8u16 {
        drv.publish(2 * i, QSIZE);
    }
    let mem = Arc::new(std::mem::replace(
        &mut drv.mem,
        arcbox_fs_virtio::OwnedMemory::new(0, 4096).unwrap(),
    ));
    let pool = WorkerPool::start(
        &config,
        dev.clone(),
        mem.clone(),
        disp.clone(),
        notifier.clone(),
    )
    .unwrap();
    pool.notify(1);
    while used(&mem) < 8 {
        std::thread::yield_now();
    }
    pool.wait_idle();
    drop(pool);
    drv.mem = Arc::try_unwrap(mem).unwrap_or_else(|_| panic!("pool holds memory"));
    let mut seen = Vec::new();
    while let Some((id, len)) = drv.pop_used(QSIZE) {
        seen.push(id);
        let idx = (id / 2) as usize;
        let (h, _) = reply(&drv.read(replies[idx], len as usize));
        assert_eq!(h.error, 0);
        assert_eq!(h.unique, if idx == 0 { 1 } else { 100 + idx as u64 });
    }
    seen.sort();
    assert_eq!(seen, (0..8).map(|i| 2 * i).collect::<Vec<u32>>());
    assert!(notifier.0.load(Ordering::SeqCst) >= 2);
}
