//! The independent `virtio-drivers` crate (0.13) drives our virtio-mmio
//! device: its `MmioTransport` reads and writes registers through raw
//! pointers into a register window, its `VirtQueue`s build descriptor chains
//! (indirect ones included) in guest memory its `Hal` allocates.
//!
//! The register window is a page kept `PROT_NONE`: each access faults, the
//! fault handler (the "VMM exit") asks the register model for the value or
//! lets the write happen and single-steps it (x86 trap flag), then hands the
//! written value to the model, exactly like a VMM's MMIO exit handler. Queue
//! notifications go to a device thread that serves the queues.
//!
//! Guest memory is an arena at guest physical 0x8000_0000 (not identity
//! mapped): the `Hal` bounce-buffers every shared buffer into it, so the
//! device only ever sees guest physical addresses inside one region.
//!
//! virtio-drivers 0.13's `DeviceType` does not know device ID 26 (file
//! system) and `MmioTransport::new` refuses unknown IDs; the window presents
//! the `DeviceID` register as 9 (9P, the other shared-file-system device)
//! only to the driver. The model's own value (26) is checked separately.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]
#![allow(clippy::unwrap_used, clippy::undocumented_unsafe_blocks)]

mod common;

use arcbox_fs::abi::{Opcode, ROOT_ID};
use arcbox_fs::{FuseDispatcher, Instant};
use arcbox_fs_virtio::mmio::reg;
use arcbox_fs_virtio::{
    GuestMemory, GuestRegion, MemError, MmioAction, RegionMemory, Tag, VirtioFsDevice, VirtioMmio,
};
use common::*;
use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use virtio_drivers::device::common::Feature;
use virtio_drivers::queue::VirtQueue;
use virtio_drivers::transport::mmio::{MmioTransport, MmioVersion, VirtIOHeader};
use virtio_drivers::transport::{InterruptStatus, Transport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

const PAGE: usize = 4096;
const GPA: u64 = 0x8000_0000;
const ARENA_PAGES: usize = 2048;

struct Arena {
    base: usize,
    used: Mutex<Vec<bool>>,
}

fn arena() -> &'static Arena {
    static A: OnceLock<Arena> = OnceLock::new();
    A.get_or_init(|| {
        let layout = std::alloc::Layout::from_size_align(ARENA_PAGES * PAGE, PAGE).unwrap();
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        assert!(!p.is_null());
        Arena {
            base: p as usize,
            used: Mutex::new(vec![false; ARENA_PAGES]),
        }
    })
}

impl Arena {
    fn alloc(&self, pages: usize) -> (PhysAddr, NonNull<u8>) {
        let mut used = self.used.lock().unwrap();
        let start = (0..=ARENA_PAGES - pages)
            .find(|&s| used[s..s + pages].iter().all(|u| !u))
            .expect("arena full");
        used[start..start + pages]
            .iter_mut()
            .for_each(|u| *u = true);
        let v = self.base + start * PAGE;
        unsafe { std::ptr::write_bytes(v as *mut u8, 0, pages * PAGE) };
        (
            GPA + (start * PAGE) as u64,
            NonNull::new(v as *mut u8).unwrap(),
        )
    }

    fn free(&self, paddr: PhysAddr, pages: usize) {
        let start = ((paddr - GPA) as usize) / PAGE;
        self.used.lock().unwrap()[start..start + pages]
            .iter_mut()
            .for_each(|u| *u = false);
    }

    fn vaddr(&self, paddr: PhysAddr) -> *mut u8 {
        (self.base + (paddr - GPA) as usize) as *mut u8
    }
}

/// The device's view of guest memory: the arena as one region.
struct ArenaMem;

unsafe impl GuestMemory for ArenaMem {
    fn translate(&self, addr: u64, len: usize) -> Result<(NonNull<u8>, usize), MemError> {
        let a = arena();
        let region = unsafe {
            GuestRegion::from_raw(
                GPA,
                NonNull::new(a.base as *mut u8).unwrap(),
                ARENA_PAGES * PAGE,
            )
        }
        .unwrap();
        RegionMemory::new(std::slice::from_ref(&region)).translate(addr, len)
    }
}

struct TestHal;

unsafe impl Hal for TestHal {
    fn dma_alloc(pages: usize, _: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        arena().alloc(pages)
    }
    unsafe fn dma_dealloc(paddr: PhysAddr, _: NonNull<u8>, pages: usize) -> i32 {
        arena().free(paddr, pages);
        0
    }
    unsafe fn mmio_phys_to_virt(_: PhysAddr, _: usize) -> NonNull<u8> {
        unreachable!("the PCI transport is not used")
    }
    unsafe fn share(buffer: NonNull<[u8]>, _: BufferDirection) -> PhysAddr {
        let len = buffer.len();
        let (paddr, v) = arena().alloc(len.div_ceil(PAGE).max(1));
        unsafe { std::ptr::copy_nonoverlapping(buffer.as_ptr() as *const u8, v.as_ptr(), len) };
        paddr
    }
    unsafe fn unshare(paddr: PhysAddr, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let len = buffer.len();
        if direction != BufferDirection::DriverToDevice {
            unsafe {
                std::ptr::copy_nonoverlapping(arena().vaddr(paddr), buffer.as_ptr() as *mut u8, len)
            };
        }
        arena().free(paddr, len.div_ceil(PAGE).max(1));
    }
}

type Dev = VirtioFsDevice<2>;
static MODEL: AtomicPtr<VirtioMmio<&'static Dev>> = AtomicPtr::new(std::ptr::null_mut());
static WINDOW: AtomicUsize = AtomicUsize::new(0);
static NOTIFIED: AtomicU32 = AtomicU32::new(0);
static EXITS: AtomicU32 = AtomicU32::new(0);

thread_local! {
    static PENDING: Cell<Option<(u64, bool)>> = const { Cell::new(None) };
}

const TF: i64 = 0x100;

fn protect(prot: i32) {
    let r = unsafe {
        libc::mprotect(
            WINDOW.load(Ordering::Acquire) as *mut libc::c_void,
            PAGE,
            prot,
        )
    };
    assert_eq!(r, 0);
}

fn model() -> &'static VirtioMmio<&'static Dev> {
    unsafe { &*MODEL.load(Ordering::Acquire) }
}

extern "C" fn on_segv(_: i32, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let addr = unsafe { (*info).si_addr() } as usize;
    let base = WINDOW.load(Ordering::Acquire);
    if base == 0 || addr < base || addr >= base + PAGE {
        unsafe { libc::signal(libc::SIGSEGV, libc::SIG_DFL) };
        return;
    }
    EXITS.fetch_add(1, Ordering::Relaxed);
    let uc = ctx as *mut libc::ucontext_t;
    let gregs = unsafe { &mut (*uc).uc_mcontext.gregs };
    let write = gregs[libc::REG_ERR as usize] & 2 != 0;
    let off = ((addr - base) & !3) as u64;
    protect(libc::PROT_READ | libc::PROT_WRITE);
    if !write {
        // The MMIO read exit: the model supplies the value.
        let mut b = [0u8; 4];
        model().read(off, &mut b);
        if off == reg::DEVICE_ID {
            b = 9u32.to_le_bytes(); // see the module docs
        }
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), (base + off as usize) as *mut u8, 4) };
        if off >= 0x100 {
            // Config space reads may be wider than 4 bytes (a [u8; 36] copy): fill it all.
            let mut cfg = [0u8; 64];
            model().read(0x100, &mut cfg);
            unsafe {
                std::ptr::copy_nonoverlapping(cfg.as_ptr(), (base + 0x100) as *mut u8, cfg.len())
            };
        }
    }
    PENDING.with(|p| p.set(Some((off, write))));
    gregs[libc::REG_EFL as usize] |= TF;
}

extern "C" fn on_trap(_: i32, _: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let uc = ctx as *mut libc::ucontext_t;
    let gregs = unsafe { &mut (*uc).uc_mcontext.gregs };
    gregs[libc::REG_EFL as usize] &= !TF;
    let Some((off, write)) = PENDING.with(|p| p.take()) else {
        return;
    };
    let base = WINDOW.load(Ordering::Acquire);
    if write {
        // The MMIO write exit: the instruction stored its value; hand it over.
        let mut b = [0u8; 4];
        unsafe {
            std::ptr::copy_nonoverlapping((base + off as usize) as *const u8, b.as_mut_ptr(), 4)
        };
        let data: &[u8] = if off < 0x100 { &b } else { &b[..1] };
        if let MmioAction::Notify(q) = model().write(off, data) {
            NOTIFIED.fetch_or(1 << q, Ordering::AcqRel);
        }
    }
    protect(libc::PROT_NONE);
}

fn install(sig: i32, f: extern "C" fn(i32, *mut libc::siginfo_t, *mut libc::c_void)) {
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = f as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(sig, &sa, std::ptr::null_mut()), 0);
    }
}

/// One request on `queue`: `inputs` readable, `outputs` writable; returns the used length.
fn call<'a>(
    q: &mut VirtQueue<TestHal, 16>,
    t: &mut MmioTransport<'_>,
    inputs: &'a [&'a [u8]],
    outputs: &'a mut [&'a mut [u8]],
) -> u32 {
    q.add_notify_wait_pop(inputs, outputs, t).unwrap()
}

#[test]
fn virtio_drivers_drives_the_device() {
    let dev: &'static Dev = Box::leak(Box::new(VirtioFsDevice::new(
        Tag::new("arcbox").unwrap(),
        64,
    )));
    assert_eq!(VirtioMmio::new(dev).read_reg(reg::DEVICE_ID), 26);
    MODEL.store(Box::leak(Box::new(VirtioMmio::new(dev))), Ordering::Release);
    let window = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            PAGE,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(window, libc::MAP_FAILED);
    WINDOW.store(window as usize, Ordering::Release);
    install(libc::SIGSEGV, on_segv);
    install(libc::SIGTRAP, on_trap);

    let disp: &'static FuseDispatcher<TestFs> =
        Box::leak(Box::new(FuseDispatcher::new(TestFs::default())));
    let stop: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
    let device_thread = std::thread::spawn(move || {
        while !stop.load(Ordering::Acquire) {
            let bits = NOTIFIED.swap(0, Ordering::AcqRel);
            for q in 0..2u16 {
                if bits & (1 << q) != 0 {
                    let irq = dev.process_queue(q, &ArenaMem, disp, Instant::ZERO);
                    if irq.used_buffer {
                        model().raise_used_buffer();
                    }
                }
            }
            if bits == 0 {
                std::thread::yield_now();
            }
        }
    });

    let header = NonNull::new(window as *mut VirtIOHeader).unwrap();
    let mut t = unsafe { MmioTransport::new(header, PAGE) }.unwrap();
    assert_eq!(t.version(), MmioVersion::Modern);
    assert_eq!(t.vendor_id(), u32::from_le_bytes(*b"ABOX"));
    let wanted = Feature::VERSION_1 | Feature::RING_EVENT_IDX | Feature::RING_INDIRECT_DESC;
    let negotiated = t.begin_init(wanted);
    assert_eq!(negotiated, wanted);
    let tag: [u8; 36] = t.read_config_space(0).unwrap();
    assert_eq!(&tag[..6], b"arcbox");
    assert_eq!(t.read_config_space::<u32>(36).unwrap(), 1);
    let mut hiprio = VirtQueue::<TestHal, 16>::new(&mut t, 0, true, true).unwrap();
    let mut rq = VirtQueue::<TestHal, 16>::new(&mut t, 1, true, true).unwrap();
    t.finish_init();
    assert!(model().is_live());

    // INIT
    let mut out = [0u8; 16 + 64];
    let n = call(
        &mut rq,
        &mut t,
        &[&request(Opcode::INIT, 1, 0, &init_body())],
        &mut [&mut out],
    );
    let (h, body) = reply(&out[..n as usize]);
    assert_eq!((h.error, h.unique), (0, 1));
    assert_eq!(u32::from_le_bytes(body[..4].try_into().unwrap()), 7);
    assert!(t.ack_interrupt().contains(InterruptStatus::QUEUE_INTERRUPT));
    assert_eq!(disp.negotiated_minor(), Some(41));

    // LOOKUP
    let mut out = [0u8; 256];
    let n = call(
        &mut rq,
        &mut t,
        &[&request(Opcode::LOOKUP, 2, ROOT_ID, b"hello\0")],
        &mut [&mut out],
    );
    let (h, body) = reply(&out[..n as usize]);
    assert_eq!((h.error, n), (0, 16 + 128));
    assert_eq!(u64::from_le_bytes(body[..8].try_into().unwrap()), FILE);
    let n = call(
        &mut rq,
        &mut t,
        &[&request(Opcode::LOOKUP, 3, ROOT_ID, b"nope\0")],
        &mut [&mut out],
    );
    assert_eq!((reply(&out[..n as usize]).0.error, n), (-2, 16));

    // GETATTR
    let n = call(
        &mut rq,
        &mut t,
        &[&request(Opcode::GETATTR, 4, FILE, &[0u8; 16])],
        &mut [&mut out],
    );
    let (h, body) = reply(&out[..n as usize]);
    assert_eq!(h.error, 0);
    let size = u64::from_le_bytes(body[16 + 8..16 + 16].try_into().unwrap());
    assert_eq!(size, CONTENT.len() as u64);

    // OPEN
    let n = call(
        &mut rq,
        &mut t,
        &[&request(Opcode::OPEN, 5, FILE, &[0u8; 8])],
        &mut [&mut out],
    );
    let (h, body) = reply(&out[..n as usize]);
    assert_eq!(h.error, 0);
    assert_eq!(u64::from_le_bytes(body[..8].try_into().unwrap()), 7);

    // WRITE: header and payload in separate readable buffers (an indirect chain).
    let payload = b"HELLO";
    let w = request(Opcode::WRITE, 6, FILE, &write_body(7, 0, payload));
    let (head, data) = w.split_at(w.len() - payload.len());
    let n = call(&mut rq, &mut t, &[head, data], &mut [&mut out]);
    let (h, body) = reply(&out[..n as usize]);
    assert_eq!(
        (h.error, u32::from_le_bytes(body[..4].try_into().unwrap())),
        (0, 5)
    );
    assert_eq!(
        &disp.fs().data.lock().unwrap()[..],
        b"HELLO, virtio-fs world"
    );

    // READ into a header buffer and a data buffer (zero-copy into guest memory).
    let mut hdr = [0u8; 16];
    let mut data = [0u8; 4096];
    let n = call(
        &mut rq,
        &mut t,
        &[&request(Opcode::READ, 7, FILE, &read_body(7, 7, 4096))],
        &mut [&mut hdr, &mut data],
    );
    assert_eq!(n as usize, 16 + CONTENT.len() - 7);
    assert_eq!(i32::from_le_bytes(hdr[4..8].try_into().unwrap()), 0);
    assert_eq!(&data[..CONTENT.len() - 7], &CONTENT[7..]);

    // OPENDIR + READDIRPLUS
    let n = call(
        &mut rq,
        &mut t,
        &[&request(Opcode::OPENDIR, 8, ROOT_ID, &[0u8; 8])],
        &mut [&mut out],
    );
    assert_eq!(reply(&out[..n as usize]).0.error, 0);
    let mut big = [0u8; 1024];
    let n = call(
        &mut rq,
        &mut t,
        &[&request(
            Opcode::READDIRPLUS,
            9,
            ROOT_ID,
            &read_body(9, 0, 1000),
        )],
        &mut [&mut big],
    );
    let (h, body) = reply(&big[..n as usize]);
    assert_eq!(h.error, 0);
    assert!(
        body.windows(5).any(|w| w == FILE_NAME),
        "readdirplus lists the file"
    );
    assert!(body.windows(1).any(|w| w == b"."));
    let lookups = disp.fs().lookups.load(Ordering::SeqCst);
    assert_eq!(lookups, 2, "LOOKUP and READDIRPLUS each took a reference");

    // FORGET and BATCH_FORGET on the hiprio queue: readable only, used length 0.
    let n = call(
        &mut hiprio,
        &mut t,
        &[&request(Opcode::FORGET, 10, FILE, &1u64.to_le_bytes())],
        &mut [],
    );
    assert_eq!(n, 0);
    let mut bf = 1u32.to_le_bytes().to_vec();
    bf.extend_from_slice(&[0; 4]);
    bf.extend_from_slice(&FILE.to_le_bytes());
    bf.extend_from_slice(&1u64.to_le_bytes());
    let n = call(
        &mut hiprio,
        &mut t,
        &[&request(Opcode::BATCH_FORGET, 11, 0, &bf)],
        &mut [],
    );
    assert_eq!(n, 0);
    assert_eq!(disp.fs().forgets.load(Ordering::SeqCst), 2);
    let n = call(
        &mut hiprio,
        &mut t,
        &[&request(Opcode::INTERRUPT, 12, 0, &5u64.to_le_bytes())],
        &mut [],
    );
    assert_eq!(n, 0);
    assert_eq!(disp.fs().interrupts.load(Ordering::SeqCst), 1);
    assert_eq!(dev.refused_chains(), 0);
    assert!(
        EXITS.load(Ordering::Relaxed) > 50,
        "registers were accessed through the window"
    );

    drop(hiprio);
    drop(rq);
    drop(t); // MmioTransport resets the device on drop.
    assert_eq!(model().status(), 0);
    stop.store(true, Ordering::Release);
    device_thread.join().unwrap();
}
