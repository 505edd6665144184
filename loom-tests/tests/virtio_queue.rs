//! loom models of the virtio transport: used-ring publication by concurrent
//! completions, and the worker pool's completion path (out-of-order
//! completion, interrupt decision, in-flight drain before reset).
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p arcbox-fs-loom-tests --release --test virtio_queue`.
#![cfg(loom)]
#![allow(missing_docs, clippy::unwrap_used)]

use arcbox_fs_virtio::{GuestMemory, Inflight, MemError, Tag, VirtioDevice, VirtioFsDevice};
use core::ptr::NonNull;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// Guest memory made of loom atomics, one per 2-byte granule, so loom sees
/// every ring access (and can show a reader stale values).
struct LoomMem {
    cells: Vec<AtomicU32>,
}

impl LoomMem {
    fn new(bytes: usize) -> Self {
        LoomMem {
            cells: (0..bytes / 2).map(|_| AtomicU32::new(0)).collect(),
        }
    }
    fn cell(&self, addr: u64) -> Result<&AtomicU32, MemError> {
        self.cells
            .get(usize::try_from(addr / 2).map_err(|_| MemError::OutOfRange)?)
            .ok_or(MemError::OutOfRange)
    }
}

// SAFETY: `translate` never hands out pointers; every access goes through the
// overridden atomic methods.
unsafe impl GuestMemory for LoomMem {
    fn translate(&self, _: u64, _: usize) -> Result<(NonNull<u8>, usize), MemError> {
        Err(MemError::OutOfRange)
    }
    fn load_u16(&self, addr: u64, order: Ordering) -> Result<u16, MemError> {
        Ok(self.cell(addr)?.load(order) as u16)
    }
    fn store_u16(&self, addr: u64, v: u16, order: Ordering) -> Result<(), MemError> {
        self.cell(addr)?.store(u32::from(v), order);
        Ok(())
    }
    fn load_u32(&self, addr: u64, order: Ordering) -> Result<u32, MemError> {
        let lo = self.cell(addr)?.load(order);
        let hi = self.cell(addr + 2)?.load(order);
        Ok(lo | (hi << 16))
    }
    fn store_u32(&self, addr: u64, v: u32, order: Ordering) -> Result<(), MemError> {
        self.cell(addr)?.store(v & 0xffff, order);
        self.cell(addr + 2)?.store(v >> 16, order);
        Ok(())
    }
}

const AVAIL: u64 = 0x40;
const USED: u64 = 0x80;

fn setup() -> (Arc<LoomMem>, Arc<VirtioFsDevice<2>>) {
    let mem = Arc::new(LoomMem::new(0xc0));
    let dev = Arc::new(VirtioFsDevice::<2>::new(Tag::new("loom").unwrap(), 4));
    dev.set_driver_features(0);
    dev.with_queue(1, |q| {
        q.set_size(4);
        q.set_addresses(0, AVAIL, USED);
        q.set_ready(true).unwrap();
    });
    (mem, dev)
}

fn builder() -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    // Spin waits (the queue lock, Inflight::wait_idle) are scheduling points.
    b.max_branches = 100_000;
    b
}

/// The driver reads the used ring while two workers complete: every element
/// it sees below `used.idx` (Acquire) is fully written.
#[test]
fn used_ring_publication() {
    builder().check(|| {
        let (mem, dev) = setup();
        let workers: Vec<_> = [(1u16, 100u32), (3, 300)]
            .into_iter()
            .map(|(head, len)| {
                let (mem, dev) = (mem.clone(), dev.clone());
                loom::thread::spawn(move || {
                    let irq = dev.complete(1, &*mem, head, len);
                    assert!(!irq.config_change);
                })
            })
            .collect();
        let idx = mem.load_u16(USED + 2, Ordering::Acquire).unwrap();
        for i in 0..idx {
            let id = mem
                .load_u32(USED + 4 + 8 * u64::from(i), Ordering::Relaxed)
                .unwrap();
            let len = mem
                .load_u32(USED + 8 + 8 * u64::from(i), Ordering::Relaxed)
                .unwrap();
            assert!(
                matches!((id, len), (1, 100) | (3, 300)),
                "torn used element {id}/{len}"
            );
        }
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(mem.load_u16(USED + 2, Ordering::Acquire).unwrap(), 2);
        let a = mem.load_u32(USED + 4, Ordering::Relaxed).unwrap();
        let b = mem.load_u32(USED + 12, Ordering::Relaxed).unwrap();
        assert_eq!(a + b, 4, "both heads published once");
        assert_ne!(a, b);
    });
}

/// The pool's completion path: a worker pops what the driver published,
/// workers complete out of order, raise the
/// interrupt when the queue asks, and the reset path waits for in-flight
/// requests; afterwards every completion is visible.
#[test]
fn pool_completion_path() {
    let mut b = builder();
    b.preemption_bound = Some(2);
    b.check(|| {
        let (mem, dev) = setup();
        let inflight = Arc::new(Inflight::new());
        let raised = Arc::new(AtomicUsize::new(0));
        // Driver: head 2 in avail slot 0, published before the workers start.
        mem.store_u16(AVAIL + 4, 2, Ordering::Relaxed).unwrap();
        mem.store_u16(AVAIL + 2, 1, Ordering::Release).unwrap();
        inflight.begin();
        inflight.begin();
        let w1 = {
            let (mem, dev, inflight, raised) =
                (mem.clone(), dev.clone(), inflight.clone(), raised.clone());
            loom::thread::spawn(move || {
                let (head, _) = dev.pop(1, &*mem).unwrap().unwrap();
                assert_eq!(head, 2);
                if dev.complete(1, &*mem, head, 10).used_buffer {
                    raised.fetch_add(1, Ordering::Relaxed);
                }
                inflight.end();
            })
        };
        let w2 = {
            let (mem, dev, inflight, raised) =
                (mem.clone(), dev.clone(), inflight.clone(), raised.clone());
            loom::thread::spawn(move || {
                if dev.complete(1, &*mem, 1, 20).used_buffer {
                    raised.fetch_add(1, Ordering::Relaxed);
                }
                inflight.end();
            })
        };
        // The reset path's check: once the workers are done nothing is in flight.
        w1.join().unwrap();
        w2.join().unwrap();
        assert_eq!(inflight.count(), 0);
        inflight.wait_idle();
        assert_eq!(mem.load_u16(USED + 2, Ordering::Acquire).unwrap(), 2);
        assert_eq!(
            raised.load(Ordering::Relaxed),
            2,
            "no EVENT_IDX: every completion notifies"
        );
        let lens = [
            mem.load_u32(USED + 8, Ordering::Relaxed).unwrap(),
            mem.load_u32(USED + 16, Ordering::Relaxed).unwrap(),
        ];
        assert!(lens == [10, 20] || lens == [20, 10]);
    });
}
