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

/// INIT takes `delay` and records the thread that served it.
#[derive(Default)]
struct SlowInit {
    delay: std::time::Duration,
    threads: std::sync::Mutex<Vec<std::thread::ThreadId>>,
}

impl arcbox_fs::FileSystem for SlowInit {
    fn init(
        &self,
        _: &arcbox_fs::KernelInit,
    ) -> Result<arcbox_fs::abi::InitFlags, arcbox_fs::Errno> {
        self.threads
            .lock()
            .unwrap()
            .push(std::thread::current().id());
        std::thread::sleep(self.delay);
        Ok(arcbox_fs::abi::InitFlags::empty())
    }
}

const RQ_USED: u64 = MEM_BASE + 0x4000 + 0x2000;
const RQ_AVAIL: u64 = MEM_BASE + 0x4000 + 0x1000;

fn used_idx(m: &arcbox_fs_virtio::OwnedMemory) -> u16 {
    use arcbox_fs_virtio::GuestMemory;
    m.load_u16(RQ_USED + 2, Ordering::Acquire).unwrap()
}

/// A driver with request queue 1 (and hiprio queue 0) live, `features` negotiated.
fn live_driver(
    features: u64,
) -> (
    Arc<VirtioFsDevice<2>>,
    VirtioMmio<Arc<VirtioFsDevice<2>>>,
    RawDriver,
) {
    let dev = Arc::new(VirtioFsDevice::<2>::new(Tag::new("pool").unwrap(), 64));
    let mmio = VirtioMmio::new(dev.clone());
    let mut drv = RawDriver::new();
    drv.negotiate(&mmio, features);
    drv.setup_queue(&mmio, 0, QSIZE);
    drv.setup_queue(&mmio, 1, QSIZE);
    drv.driver_ok(&mmio);
    assert!(mmio.is_live());
    (dev, mmio, drv)
}

fn config(threads: usize) -> FsConfig {
    let mut c = FsConfig::new("pool", "/unused");
    c.num_threads = threads;
    c
}

fn into_arc(drv: &mut RawDriver) -> Arc<arcbox_fs_virtio::OwnedMemory> {
    Arc::new(std::mem::replace(
        &mut drv.mem,
        arcbox_fs_virtio::OwnedMemory::new(0, 4096).unwrap(),
    ))
}

#[test]
fn inline_fast_path_serves_on_the_notifying_thread_when_idle() {
    let (dev, _mmio, mut drv) = live_driver(RawDriver::default_features());
    drv.simple_chain(0, &request(Opcode::INIT, 1, 0, &init_body()), 256);
    drv.publish(0, QSIZE);
    let mem = into_arc(&mut drv);
    let fs = Arc::new(FuseDispatcher::new(SlowInit::default()));
    let n = Arc::new(Count(AtomicU32::new(0)));
    let pool = WorkerPool::start(&config(2), dev, mem.clone(), fs.clone(), n.clone()).unwrap();
    pool.set_inline_when_idle(true);
    pool.notify(1);
    // Served before notify returned, on this thread, interrupt raised.
    assert_eq!(used_idx(&mem), 1);
    assert_eq!(
        fs.fs().threads.lock().unwrap()[..],
        [std::thread::current().id()]
    );
    assert_eq!(n.0.load(Ordering::SeqCst), 1);
    // Off: a worker serves it (another thread).
    pool.set_inline_when_idle(false);
    pool.notify(1); // nothing available: harmless
    pool.wait_idle();
    assert_eq!(used_idx(&mem), 1);
}

#[test]
fn inline_fast_path_is_skipped_while_requests_are_in_flight() {
    let (dev, _mmio, mut drv) = live_driver(RawDriver::default_features());
    let init = request(Opcode::INIT, 1, 0, &init_body());
    drv.simple_chain(0, &init, 256);
    drv.simple_chain(2, &init, 256);
    drv.publish(0, QSIZE);
    let mem = into_arc(&mut drv);
    let fs = Arc::new(FuseDispatcher::new(SlowInit {
        delay: std::time::Duration::from_millis(300),
        ..SlowInit::default()
    }));
    let n = Arc::new(Count(AtomicU32::new(0)));
    let pool = WorkerPool::start(&config(2), dev, mem.clone(), fs.clone(), n).unwrap();
    pool.notify(1); // a worker takes the slow INIT
    while pool.inflight() == 0 {
        std::thread::yield_now();
    }
    pool.set_inline_when_idle(true);
    let t0 = std::time::Instant::now();
    pool.notify(1); // busy: handed to the workers, returns at once
    assert!(t0.elapsed() < std::time::Duration::from_millis(200));
    while used_idx(&mem) < 1 {
        std::thread::yield_now();
    }
    pool.wait_idle();
    let threads = fs.fs().threads.lock().unwrap().clone();
    assert!(threads.iter().all(|t| *t != std::thread::current().id()));
}

#[test]
fn hiprio_forgets_are_served_by_the_pool() {
    let (dev, _mmio, mut drv) = live_driver(RawDriver::default_features());
    // INIT on the request queue first.
    drv.simple_chain(0, &request(Opcode::INIT, 1, 0, &init_body()), 256);
    drv.publish(0, QSIZE);
    // FORGET and BATCH_FORGET on queue 0: readable descriptors only.
    drv.cur = 0;
    let forget = request(Opcode::FORGET, 2, FILE, &3u64.to_le_bytes());
    let mut bf = 2u32.to_le_bytes().to_vec();
    bf.extend_from_slice(&[0; 4]);
    for _ in 0..2 {
        bf.extend_from_slice(&FILE.to_le_bytes());
        bf.extend_from_slice(&1u64.to_le_bytes());
    }
    let batch = request(Opcode::BATCH_FORGET, 3, 0, &bf);
    for (i, r) in [forget, batch].iter().enumerate() {
        let a = drv.buffer(r, r.len());
        drv.set_desc(
            i as u16,
            arcbox_fs_virtio::desc::Descriptor {
                addr: a,
                len: r.len() as u32,
                flags: 0,
                next: 0,
            },
        );
    }
    drv.publish(0, QSIZE);
    drv.publish(1, QSIZE);
    let mem = into_arc(&mut drv);
    let disp = Arc::new(FuseDispatcher::new(TestFs::default()));
    let n = Arc::new(Count(AtomicU32::new(0)));
    let pool = WorkerPool::start(&config(2), dev.clone(), mem.clone(), disp.clone(), n).unwrap();
    pool.notify(1);
    while used_idx(&mem) < 1 {
        std::thread::yield_now();
    }
    pool.notify(0);
    let hiprio_used = |m: &arcbox_fs_virtio::OwnedMemory| {
        use arcbox_fs_virtio::GuestMemory;
        m.load_u16(MEM_BASE + 0x2000 + 2, Ordering::Acquire)
            .unwrap()
    };
    while hiprio_used(&mem) < 2 {
        std::thread::yield_now();
    }
    pool.wait_idle();
    assert_eq!(disp.fs().forgets.load(Ordering::SeqCst), 3 + 2);
    drop(pool);
    drv.mem = Arc::try_unwrap(mem).unwrap_or_else(|_| panic!("pool holds memory"));
    drv.cur = 0;
    for _ in 0..2 {
        let (_, len) = drv.pop_used(QSIZE).unwrap();
        assert_eq!(len, 0, "no reply bytes for FORGET / BATCH_FORGET");
    }
    assert_eq!(dev.refused_chains(), 0);
}

/// `n` INITs on the request queue (answered EIO after the first, which is fine).
fn batch(drv: &mut RawDriver, n: u16) {
    let init = request(Opcode::INIT, 1, 0, &init_body());
    for i in 0..n {
        drv.simple_chain(2 * i, &init, 256);
    }
}

fn run_batch(features: u64, used_event: Option<u16>, n: u16) -> u32 {
    let (dev, _mmio, mut drv) = live_driver(features);
    batch(&mut drv, n);
    if let Some(e) = used_event {
        use arcbox_fs_virtio::GuestMemory;
        // used_event sits after the avail ring (§2.7.10).
        drv.mem
            .store_u16(RQ_AVAIL + 4 + 2 * u64::from(QSIZE), e, Ordering::Release)
            .unwrap();
    }
    for i in 0..n {
        drv.publish(2 * i, QSIZE);
    }
    let mem = into_arc(&mut drv);
    let disp = Arc::new(FuseDispatcher::new(TestFs::default()));
    let irq = Arc::new(Count(AtomicU32::new(0)));
    let pool = WorkerPool::start(&config(3), dev, mem.clone(), disp, irq.clone()).unwrap();
    pool.notify(1);
    while used_idx(&mem) < n {
        std::thread::yield_now();
    }
    pool.wait_idle();
    irq.0.load(Ordering::SeqCst)
}

#[test]
fn event_idx_suppresses_interrupts_until_used_event() {
    let n = 8;
    // The driver asks to hear once, when the 8th completion is published.
    // The first completion after setup also interrupts: the device has no
    // earlier check to compare with (as vhost's `signalled_used_valid`).
    assert_eq!(run_batch(RawDriver::default_features(), Some(n - 1), n), 2);
    // used_event far ahead: only that first one.
    assert_eq!(run_batch(RawDriver::default_features(), Some(1000), n), 1);
    // Without EVENT_IDX (and no NO_INTERRUPT flag) every completion interrupts.
    let no_event_idx =
        RawDriver::default_features() & !arcbox_fs_virtio::device::VIRTIO_F_EVENT_IDX;
    assert_eq!(run_batch(no_event_idx, None, n), u32::from(n));
}

#[test]
fn reset_waits_for_in_flight_requests() {
    let (dev, mmio, mut drv) = live_driver(RawDriver::default_features());
    drv.simple_chain(0, &request(Opcode::INIT, 1, 0, &init_body()), 256);
    drv.publish(0, QSIZE);
    let mem = into_arc(&mut drv);
    let fs = Arc::new(FuseDispatcher::new(SlowInit {
        delay: std::time::Duration::from_millis(300),
        ..SlowInit::default()
    }));
    let n = Arc::new(Count(AtomicU32::new(0)));
    let pool = WorkerPool::start(&config(2), dev, mem.clone(), fs.clone(), n).unwrap();
    pool.notify(1);
    // Wait until the request is being served, not only until a worker has
    // begun: a worker that begins and then sees `paused` backs out unserved.
    while fs.fs().threads.lock().unwrap().is_empty() {
        std::thread::yield_now();
    }
    assert!(pool.inflight() >= 1);
    let action = pool.reset(|| {
        // Nothing in flight, the slow request completed into the old ring.
        assert_eq!(pool.inflight(), 0);
        assert_eq!(used_idx(&mem), 1);
        mmio.write_reg(arcbox_fs_virtio::mmio::reg::STATUS, 0)
    });
    assert_eq!(action, arcbox_fs_virtio::MmioAction::Reset);
    assert_eq!(mmio.status(), 0);
    // After the reset the queues are not ready: a notification serves nothing.
    pool.notify(1);
    pool.wait_idle();
    assert_eq!(used_idx(&mem), 1);
}
