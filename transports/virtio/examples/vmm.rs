//! Plays the VMM that embeds arcbox-fs over virtio-mmio (as ArcBox does on
//! Hypervisor.framework), in one process:
//!
//! - **guest RAM** is a page-aligned `Vec`-like arena at guest physical
//!   `0x8000_0000`; the **DAX window** (shared-memory region 0, 8 MiB) sits
//!   after it at `0x1_0000_0000`, a reserved `PROT_NONE` range into which the
//!   [`DaxMapper`] maps host file ranges (`mmap(MAP_FIXED | MAP_SHARED)` of
//!   the host fd, what `hv_vm_map` of an mmap'ed file does on macOS);
//! - a **fake MMIO bus**: the guest driver's register reads and writes go
//!   through [`Bus`], the VMM's "MMIO exit handler", to the [`VirtioMmio`]
//!   register model; a `QueueNotify` write hands the queue to the
//!   [`WorkerPool`], so no request is served on the "vCPU" thread;
//! - the **guest driver** is the independent `virtio-drivers` crate (its
//!   `VirtQueue` over a `Transport` that is this bus) in another thread;
//! - the **file system** is `PassthroughFs<LinuxHost>` over a temporary
//!   directory, with the DAX window and a clocked dispatcher (stats).
//!
//! It prints each step: INIT (with the DAX alignment), LOOKUP, OPEN, a READ
//! through the queue, SETUPMAPPING and a READ through the DAX window (plain
//! loads from window memory), REMOVEMAPPING, RELEASE, FORGET on the hiprio
//! queue, then the dispatcher's stats summary. Exits non-zero if anything
//! differs from what a guest expects.
//!
//! `cargo run -p arcbox-fs-virtio --example vmm`
#![allow(clippy::unwrap_used, missing_docs)]

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("vmm example: needs LinuxHost (Linux); skipped");
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(target_os = "linux")]
mod linux {
    use arcbox_fs::abi::*;
    use arcbox_fs::builder::RequestBuilder;
    use arcbox_fs::errno::Result as FsResult;
    use arcbox_fs::passthrough::{
        DaxConfig, DaxMapper, FsConfig, PassthroughConfig, PassthroughFs,
    };
    use arcbox_fs::zerocopy::{FromBytes, IntoBytes};
    use arcbox_fs::{DispatcherConfig, Errno, FuseDispatcher, Instant};
    use arcbox_fs_linux::{File, LinuxHost};
    use arcbox_fs_virtio::device::status;
    use arcbox_fs_virtio::mmio::reg;
    use arcbox_fs_virtio::{
        GuestMemory, GuestRegion, MemError, MmioAction, NeedsInterrupt, Notifier, RegionMemory,
        Tag, VirtioFsDevice, VirtioMmio, WorkerPool,
    };
    use std::os::fd::{AsFd, AsRawFd};
    use std::ptr::NonNull;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Arc, OnceLock};
    use virtio_drivers::device::common::Feature;
    use virtio_drivers::queue::VirtQueue;
    use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
    use virtio_drivers::{BufferDirection, Hal, PhysAddr};

    const PAGE: usize = 4096;
    const RAM_GPA: u64 = 0x8000_0000;
    const RAM_LEN: usize = 4 << 20;
    const WINDOW_GPA: u64 = 0x1_0000_0000;
    const WINDOW_LEN: usize = 8 << 20;
    /// log2 of the DAX alignment: the host page size (16 KiB pages would be 14).
    const ALIGN_LOG2: u16 = 12;
    const QSIZE: usize = 16;
    const CONTENT: &[u8] = b"hello from the host, through a virtio-fs DAX window\n";

    type Dev = VirtioFsDevice<2>;
    type Fs = PassthroughFs<LinuxHost>;

    // ---- guest RAM ----------------------------------------------------------

    /// Guest RAM: one page-aligned allocation, handed out by a bump allocator
    /// (the example's few buffers never need freeing).
    struct Ram {
        host: NonNull<u8>,
        next: AtomicUsize,
    }
    // SAFETY: the pointer is to a leaked allocation valid for the whole
    // program; access to its bytes is coordinated by the virtqueue protocol.
    unsafe impl Send for Ram {}
    // SAFETY: as above.
    unsafe impl Sync for Ram {}

    fn ram() -> &'static Ram {
        static R: OnceLock<Ram> = OnceLock::new();
        R.get_or_init(|| {
            let layout = std::alloc::Layout::from_size_align(RAM_LEN, PAGE).unwrap();
            // SAFETY: the layout has a non-zero size.
            let p = unsafe { std::alloc::alloc_zeroed(layout) };
            Ram {
                host: NonNull::new(p).expect("guest RAM allocation"),
                next: AtomicUsize::new(0),
            }
        })
    }

    impl Ram {
        fn alloc(&self, pages: usize) -> (PhysAddr, NonNull<u8>) {
            let off = self.next.fetch_add(pages * PAGE, Ordering::Relaxed);
            assert!(off + pages * PAGE <= RAM_LEN, "guest RAM exhausted");
            // SAFETY: off + pages * PAGE is inside the allocation (checked).
            let p = unsafe { self.host.add(off) };
            (RAM_GPA + off as u64, p)
        }

        fn host_of(&self, gpa: PhysAddr) -> *mut u8 {
            let off = usize::try_from(gpa - RAM_GPA).unwrap();
            assert!(off < RAM_LEN);
            // SAFETY: inside the allocation (checked).
            unsafe { self.host.as_ptr().add(off) }
        }
    }

    /// The device's view of guest RAM.
    struct GuestRam;

    // SAFETY: translations point into the live RAM allocation, bounds-checked
    // by `RegionMemory`.
    unsafe impl GuestMemory for GuestRam {
        fn translate(&self, addr: u64, len: usize) -> Result<(NonNull<u8>, usize), MemError> {
            // SAFETY: the RAM allocation lives for the whole program and is
            // only accessed through raw pointers.
            let region = unsafe { GuestRegion::from_raw(RAM_GPA, ram().host, RAM_LEN) }
                .ok_or(MemError::OutOfRange)?;
            RegionMemory::new(std::slice::from_ref(&region)).translate(addr, len)
        }
    }

    /// The guest driver's DMA: buffers are bounced through guest RAM.
    struct GuestHal;

    // SAFETY: allocations are page-aligned, zeroed, inside guest RAM, and
    // never reused (bump allocator), so they stay valid while shared.
    unsafe impl Hal for GuestHal {
        fn dma_alloc(pages: usize, _: BufferDirection) -> (PhysAddr, NonNull<u8>) {
            ram().alloc(pages)
        }
        unsafe fn dma_dealloc(_: PhysAddr, _: NonNull<u8>, _: usize) -> i32 {
            0
        }
        unsafe fn mmio_phys_to_virt(_: PhysAddr, _: usize) -> NonNull<u8> {
            unreachable!("no PCI transport here")
        }
        unsafe fn share(buffer: NonNull<[u8]>, _: BufferDirection) -> PhysAddr {
            let len = buffer.len();
            let (gpa, p) = ram().alloc(len.div_ceil(PAGE).max(1));
            // SAFETY: `buffer` is valid for `len` bytes (the caller's
            // contract) and `p` has at least `len` fresh bytes.
            unsafe { std::ptr::copy_nonoverlapping(buffer.as_ptr() as *const u8, p.as_ptr(), len) };
            gpa
        }
        unsafe fn unshare(gpa: PhysAddr, buffer: NonNull<[u8]>, dir: BufferDirection) {
            if dir != BufferDirection::DriverToDevice {
                // SAFETY: `gpa` came from `share` for this buffer's length.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        ram().host_of(gpa),
                        buffer.as_ptr() as *mut u8,
                        buffer.len(),
                    )
                };
            }
        }
    }

    // ---- the DAX window -------------------------------------------------------

    /// The window: `WINDOW_LEN` bytes of reserved address space; mappings are
    /// file ranges placed in it with `MAP_FIXED`.
    struct Window {
        host: usize,
        setups: AtomicU64,
        removes: AtomicU64,
    }

    impl Window {
        fn new() -> Window {
            // SAFETY: a fresh anonymous reservation; no existing memory is touched.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    WINDOW_LEN,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            assert_ne!(p, libc::MAP_FAILED, "reserve the DAX window");
            Window {
                host: p as usize,
                setups: AtomicU64::new(0),
                removes: AtomicU64::new(0),
            }
        }
    }

    /// The VMM's side of FUSE_SETUPMAPPING / FUSE_REMOVEMAPPING.
    struct Mapper(Arc<Window>);

    impl DaxMapper<File> for Mapper {
        fn setup_mapping(
            &self,
            file: &File,
            foffset: u64,
            moffset: u64,
            len: u64,
            writable: bool,
        ) -> FsResult<()> {
            let prot = libc::PROT_READ | if writable { libc::PROT_WRITE } else { 0 };
            let at = self.0.host + usize::try_from(moffset).map_err(|_| Errno::EINVAL)?;
            // SAFETY: [at, at + len) is inside the window reservation
            // (PassthroughFs checked the range against the window), which
            // only this mapper changes; MAP_FIXED replaces nothing else.
            let p = unsafe {
                libc::mmap(
                    at as *mut libc::c_void,
                    usize::try_from(len).map_err(|_| Errno::EINVAL)?,
                    prot,
                    libc::MAP_SHARED | libc::MAP_FIXED,
                    file.as_fd().as_raw_fd(),
                    libc::off_t::try_from(foffset).map_err(|_| Errno::EINVAL)?,
                )
            };
            if p == libc::MAP_FAILED {
                return Err(Errno::from_raw(
                    std::io::Error::last_os_error().raw_os_error().unwrap_or(5),
                ));
            }
            self.0.setups.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }

        fn remove_mapping(&self, moffset: u64, len: u64) -> FsResult<()> {
            let at = self.0.host + usize::try_from(moffset).map_err(|_| Errno::EINVAL)?;
            // SAFETY: as in setup_mapping: the range is inside the window;
            // it goes back to reserved PROT_NONE memory.
            let p = unsafe {
                libc::mmap(
                    at as *mut libc::c_void,
                    usize::try_from(len).map_err(|_| Errno::EINVAL)?,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return Err(Errno::EIO);
            }
            self.0.removes.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }

    // ---- the MMIO bus and interrupts -------------------------------------------

    /// Raises the used-buffer interrupt in the register model (the VMM would
    /// also assert its IRQ line); counts them.
    struct Irq {
        mmio: Arc<VirtioMmio<Arc<Dev>>>,
        raised: AtomicU64,
    }

    impl Notifier for Irq {
        fn notify(&self, _queue: u16, irq: NeedsInterrupt) {
            if irq.used_buffer {
                self.mmio.raise_used_buffer();
                self.raised.fetch_add(1, Ordering::Relaxed);
            }
            if irq.config_change {
                self.mmio.raise_config_change();
            }
        }
    }

    /// The VMM's MMIO exit handler: register accesses of the guest go here.
    struct Bus {
        mmio: Arc<VirtioMmio<Arc<Dev>>>,
        pool: Arc<WorkerPool>,
        exits: AtomicU64,
    }

    impl Bus {
        fn read(&self, off: u64) -> u32 {
            self.exits.fetch_add(1, Ordering::Relaxed);
            self.mmio.read_reg(off)
        }

        fn write(&self, off: u64, v: u32) {
            self.exits.fetch_add(1, Ordering::Relaxed);
            let action = if off == reg::STATUS && v == 0 {
                // A reset: no request may still be in flight when the
                // device forgets its queues (virtio 1.2 §2.4).
                self.pool.reset(|| self.mmio.write_reg(off, v))
            } else {
                self.mmio.write_reg(off, v)
            };
            match action {
                // Off the vCPU thread: a worker serves the queue.
                MmioAction::Notify(q) => self.pool.notify(q),
                MmioAction::Refused(r) => panic!("register write {off:#x} = {v:#x} refused: {r:?}"),
                _ => {}
            }
        }

        fn write64(&self, lo: u64, v: u64) {
            self.write(lo, v as u32);
            self.write(lo + 4, (v >> 32) as u32);
        }
    }

    /// virtio-drivers' view of the device: every method is register accesses
    /// on the bus (virtio 1.2 §4.2.2, virtio-mmio version 2).
    struct BusTransport(Arc<Bus>);

    impl Transport for BusTransport {
        fn device_type(&self) -> DeviceType {
            // virtio-drivers 0.13 has no DeviceType for 26 (file system).
            DeviceType::_9P
        }
        fn read_device_features(&mut self) -> u64 {
            self.0.write(reg::DEVICE_FEATURES_SEL, 0);
            let lo = self.0.read(reg::DEVICE_FEATURES) as u64;
            self.0.write(reg::DEVICE_FEATURES_SEL, 1);
            lo | (self.0.read(reg::DEVICE_FEATURES) as u64) << 32
        }
        fn write_driver_features(&mut self, f: u64) {
            self.0.write(reg::DRIVER_FEATURES_SEL, 0);
            self.0.write(reg::DRIVER_FEATURES, f as u32);
            self.0.write(reg::DRIVER_FEATURES_SEL, 1);
            self.0.write(reg::DRIVER_FEATURES, (f >> 32) as u32);
        }
        fn max_queue_size(&mut self, queue: u16) -> u32 {
            self.0.write(reg::QUEUE_SEL, queue.into());
            self.0.read(reg::QUEUE_NUM_MAX)
        }
        fn notify(&mut self, queue: u16) {
            self.0.write(reg::QUEUE_NOTIFY, queue.into());
        }
        fn get_status(&self) -> DeviceStatus {
            DeviceStatus::from_bits_truncate(self.0.read(reg::STATUS))
        }
        fn set_status(&mut self, s: DeviceStatus) {
            self.0.write(reg::STATUS, s.bits());
        }
        fn set_guest_page_size(&mut self, _: u32) {}
        fn requires_legacy_layout(&self) -> bool {
            false
        }
        fn queue_set(
            &mut self,
            queue: u16,
            size: u32,
            desc: PhysAddr,
            drv: PhysAddr,
            dev: PhysAddr,
        ) {
            self.0.write(reg::QUEUE_SEL, queue.into());
            self.0.write(reg::QUEUE_NUM, size);
            self.0.write64(reg::QUEUE_DESC_LOW, desc);
            self.0.write64(reg::QUEUE_DRIVER_LOW, drv);
            self.0.write64(reg::QUEUE_DEVICE_LOW, dev);
            self.0.write(reg::QUEUE_READY, 1);
        }
        fn queue_unset(&mut self, _queue: u16) {
            // The device is reset as a whole at the end (status 0).
        }
        fn queue_used(&mut self, queue: u16) -> bool {
            self.0.write(reg::QUEUE_SEL, queue.into());
            self.0.read(reg::QUEUE_READY) != 0
        }
        fn ack_interrupt(&mut self) -> InterruptStatus {
            let s = self.0.read(reg::INTERRUPT_STATUS);
            if s != 0 {
                self.0.write(reg::INTERRUPT_ACK, s);
            }
            InterruptStatus::from_bits_truncate(s)
        }
        fn read_config_generation(&self) -> u32 {
            self.0.read(reg::CONFIG_GENERATION)
        }
        fn read_config_space<T: FromBytes + IntoBytes>(
            &self,
            offset: usize,
        ) -> virtio_drivers::Result<T> {
            let mut b = vec![0u8; size_of::<T>()];
            self.0.mmio.read(0x100 + offset as u64, &mut b);
            T::read_from_bytes(&b).map_err(|_| virtio_drivers::Error::ConfigSpaceTooSmall)
        }
        fn write_config_space<T: IntoBytes + arcbox_fs::zerocopy::Immutable>(
            &mut self,
            offset: usize,
            value: T,
        ) -> virtio_drivers::Result<()> {
            self.0.mmio.write(0x100 + offset as u64, value.as_bytes());
            Ok(())
        }
    }

    // ---- the guest --------------------------------------------------------------

    fn check(ok: bool, what: &str) {
        if !ok {
            eprintln!("vmm example: FAILED: {what}");
            std::process::exit(1);
        }
    }

    /// One request on `q`; returns (out header, body).
    fn call(
        q: &mut VirtQueue<GuestHal, QSIZE>,
        t: &mut BusTransport,
        req: &[u8],
        reply: &mut [u8],
    ) -> (OutHeader, Vec<u8>) {
        let n = q.add_notify_wait_pop(&[req], &mut [reply], t).unwrap() as usize;
        t.ack_interrupt();
        let (h, body) = OutHeader::read_from_prefix(&reply[..n]).unwrap();
        check(h.len as usize == n, "out header length = used length");
        (h, body.to_vec())
    }

    fn now() -> Instant {
        static T0: OnceLock<std::time::Instant> = OnceLock::new();
        let t0 = *T0.get_or_init(std::time::Instant::now);
        Instant::from_nanos(t0.elapsed().as_nanos() as u64)
    }

    pub fn main() {
        now();
        // The share: a temporary directory with one file.
        let share = std::env::temp_dir().join(format!("arcbox-vmm-example-{}", std::process::id()));
        std::fs::create_dir_all(&share).unwrap();
        std::fs::write(share.join("hello.txt"), CONTENT).unwrap();

        // The device, its register model, the file system with the DAX window.
        let dev: Arc<Dev> = Arc::new(
            VirtioFsDevice::new(Tag::new("share").unwrap(), 64)
                .with_dax_window(WINDOW_GPA, WINDOW_LEN as u64),
        );
        let mmio = Arc::new(VirtioMmio::new(dev.clone()));
        let window = Arc::new(Window::new());
        let fs: Fs = PassthroughFs::new(
            LinuxHost::new(&share).unwrap(),
            PassthroughConfig::default(),
        )
        .unwrap()
        .with_dax(
            Box::new(Mapper(window.clone())),
            DaxConfig::new(WINDOW_LEN as u64, ALIGN_LOG2),
        )
        .unwrap();
        let config = DispatcherConfig {
            map_alignment: ALIGN_LOG2,
            ..DispatcherConfig::default()
        };
        let dispatcher = Arc::new(FuseDispatcher::with_config(fs, config).with_clock(now));
        let irq = Arc::new(Irq {
            mmio: mmio.clone(),
            raised: AtomicU64::new(0),
        });
        let mut pool_cfg = FsConfig::new("share", share.to_string_lossy());
        pool_cfg.num_threads = 2;
        let pool = Arc::new(
            WorkerPool::start(
                &pool_cfg,
                dev.clone(),
                Arc::new(GuestRam),
                dispatcher.clone(),
                irq.clone(),
            )
            .unwrap(),
        );
        let bus = Arc::new(Bus {
            mmio: mmio.clone(),
            pool: pool.clone(),
            exits: AtomicU64::new(0),
        });
        println!(
            "vmm: virtio-fs over virtio-mmio, 2 workers, share {}",
            share.display()
        );

        // The guest, on its own thread (its "vCPU").
        let guest_bus = bus.clone();
        let window_host = window.host;
        let guest = std::thread::spawn(move || run_guest(guest_bus, window_host));
        guest.join().unwrap();

        println!(
            "vmm: {} MMIO exits, {} interrupts raised, {} mappings set up, {} removed",
            bus.exits.load(Ordering::Relaxed),
            irq.raised.load(Ordering::Relaxed),
            window.setups.load(Ordering::Relaxed),
            window.removes.load(Ordering::Relaxed),
        );
        check(
            window.setups.load(Ordering::Relaxed) == 1,
            "one DAX mapping set up",
        );
        check(window.removes.load(Ordering::Relaxed) == 1, "and removed");
        check(pool.inflight() == 0, "no request left in flight");
        println!("vmm: stats\n{}", dispatcher.stats());
        let s = dispatcher.stats();
        for op in [
            Opcode::INIT,
            Opcode::LOOKUP,
            Opcode::READ,
            Opcode::SETUPMAPPING,
        ] {
            check(s.op(op as u32).count >= 1, "stats counted every opcode");
        }
        check(s.errors() == 0, "no request failed");
        std::fs::remove_dir_all(&share).unwrap();
        println!("vmm: ok");
    }

    fn run_guest(bus: Arc<Bus>, window_host: usize) {
        let mut t = BusTransport(bus.clone());
        t.set_status(DeviceStatus::empty()); // reset
        let wanted = Feature::VERSION_1 | Feature::RING_EVENT_IDX | Feature::RING_INDIRECT_DESC;
        let features = t.begin_init(wanted);
        check(features == wanted, "features negotiated");
        let tag: [u8; 36] = t.read_config_space(0).unwrap();
        let nq: u32 = t.read_config_space(36).unwrap();
        // Shared-memory region 0: the DAX window (virtio-mmio SHMSel/Len/Base).
        bus.write(reg::SHM_SEL, 0);
        let shm_len =
            u64::from(bus.read(reg::SHM_LEN_LOW)) | u64::from(bus.read(reg::SHM_LEN_HIGH)) << 32;
        let shm_base =
            u64::from(bus.read(reg::SHM_BASE_LOW)) | u64::from(bus.read(reg::SHM_BASE_HIGH)) << 32;
        println!(
            "guest: tag {:?}, {nq} request queue(s), DAX window {} MiB at {shm_base:#x} (shm region 0)",
            std::str::from_utf8(&tag).unwrap().trim_end_matches('\0'),
            shm_len >> 20
        );
        check(
            shm_base == WINDOW_GPA && shm_len == WINDOW_LEN as u64,
            "shm region 0 is the window",
        );
        let mut hiprio = VirtQueue::<GuestHal, QSIZE>::new(&mut t, 0, true, true).unwrap();
        let mut rq = VirtQueue::<GuestHal, QSIZE>::new(&mut t, 1, true, true).unwrap();
        t.finish_init();
        check(
            t.get_status().contains(DeviceStatus::DRIVER_OK),
            "DRIVER_OK",
        );
        check(bus.mmio.status() & status::DRIVER_OK != 0, "device live");

        let mut req = [0u8; 256];
        let mut reply = [0u8; 4096];

        // INIT, offering what a Linux 6.x virtio-fs guest offers for DAX.
        let offer = InitFlags::ASYNC_READ
            | InitFlags::BIG_WRITES
            | InitFlags::MAX_PAGES
            | InitFlags::MAP_ALIGNMENT
            | InitFlags::INIT_EXT;
        let r = RequestBuilder::init(&mut req, 1, 41, offer).unwrap();
        let (h, body) = call(&mut rq, &mut t, r, &mut reply);
        let init = InitOut::read_from_prefix(&body).unwrap().0;
        println!(
            "guest: INIT -> error {}, FUSE {}.{}, max_write {}, map_alignment 2^{}",
            h.error, init.major, init.minor, init.max_write, init.map_alignment
        );
        check(
            h.error == 0 && init.map_alignment == ALIGN_LOG2,
            "INIT with map_alignment",
        );

        // LOOKUP
        let r = RequestBuilder::lookup(&mut req, 2, ROOT_ID, b"hello.txt").unwrap();
        let (h, body) = call(&mut rq, &mut t, r, &mut reply);
        let e = EntryOut::read_from_bytes(&body).unwrap();
        println!(
            "guest: LOOKUP hello.txt -> error {}, nodeid {}, size {}",
            h.error, e.nodeid, e.attr.size
        );
        check(
            h.error == 0 && e.attr.size == CONTENT.len() as u64,
            "LOOKUP",
        );
        let node = e.nodeid;

        // OPEN read-only
        let r = RequestBuilder::new(&mut req, Opcode::OPEN, 3, node)
            .arg(&OpenIn::default())
            .finish()
            .unwrap();
        let (h, body) = call(&mut rq, &mut t, r, &mut reply);
        let fh = OpenOut::read_from_bytes(&body).unwrap().fh;
        println!("guest: OPEN -> error {}, fh {fh}", h.error);
        check(h.error == 0, "OPEN");

        // READ through the request queue (into guest RAM).
        let r = RequestBuilder::new(&mut req, Opcode::READ, 4, node)
            .arg(&ReadIn {
                fh,
                // The reply must fit the guest's buffer with its header.
                size: 2048,
                ..ReadIn::default()
            })
            .finish()
            .unwrap();
        let (h, body) = call(&mut rq, &mut t, r, &mut reply);
        println!(
            "guest: READ (queue) -> error {}, {} bytes: {:?}",
            h.error,
            body.len(),
            String::from_utf8_lossy(&body)
        );
        check(h.error == 0 && body == CONTENT, "READ through the queue");

        // SETUPMAPPING: the file's first page at window offset 2 MiB,
        // read-only, by inode without a handle (fh = -1), as Linux sends it.
        let moffset = 2 << 20;
        let r = RequestBuilder::new(&mut req, Opcode::SETUPMAPPING, 5, node)
            .arg(&SetupmappingIn {
                fh: arcbox_fs::passthrough::dax::NO_FH,
                foffset: 0,
                len: 1 << ALIGN_LOG2,
                flags: SetupmappingFlags::READ.bits(),
                moffset,
            })
            .finish()
            .unwrap();
        let (h, _) = call(&mut rq, &mut t, r, &mut reply);
        println!(
            "guest: SETUPMAPPING fh -1 [0, 4 KiB) at window +{moffset:#x} -> error {}",
            h.error
        );
        check(h.error == 0, "SETUPMAPPING");

        // READ through the DAX window: plain loads from window memory.
        let mut dax = vec![0u8; CONTENT.len()];
        // SAFETY: [window + moffset, + 4 KiB) is mapped to the file (the
        // SETUPMAPPING above succeeded), and the file has CONTENT.len() bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (window_host + moffset as usize) as *const u8,
                dax.as_mut_ptr(),
                dax.len(),
            )
        };
        println!(
            "guest: READ (DAX window) -> {} bytes: {:?}",
            dax.len(),
            String::from_utf8_lossy(&dax)
        );
        check(dax == CONTENT, "READ through the DAX window");

        // REMOVEMAPPING
        let r = RequestBuilder::new(&mut req, Opcode::REMOVEMAPPING, 6, node)
            .arg(&RemovemappingIn { count: 1 })
            .arg(&RemovemappingOne {
                moffset,
                len: 1 << ALIGN_LOG2,
            })
            .finish()
            .unwrap();
        let (h, _) = call(&mut rq, &mut t, r, &mut reply);
        println!("guest: REMOVEMAPPING -> error {}", h.error);
        check(h.error == 0, "REMOVEMAPPING");

        // RELEASE
        let r = RequestBuilder::new(&mut req, Opcode::RELEASE, 7, node)
            .arg(&ReleaseIn {
                fh,
                ..ReleaseIn::default()
            })
            .finish()
            .unwrap();
        let (h, _) = call(&mut rq, &mut t, r, &mut reply);
        println!("guest: RELEASE -> error {}", h.error);
        check(h.error == 0, "RELEASE");

        // FORGET on the hiprio queue: no reply, used length 0.
        let r = RequestBuilder::new(&mut req, Opcode::FORGET, 8, node)
            .arg(&ForgetIn { nlookup: 1 })
            .finish()
            .unwrap();
        let n = hiprio.add_notify_wait_pop(&[r], &mut [], &mut t).unwrap();
        t.ack_interrupt();
        println!("guest: FORGET (hiprio) -> used length {n}");
        check(n == 0, "FORGET served on hiprio");

        drop(hiprio);
        drop(rq);
        t.set_status(DeviceStatus::empty()); // reset: waits for in-flight requests
        check(bus.mmio.status() == 0, "device reset");
        println!("guest: device reset");
    }
}
