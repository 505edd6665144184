//! A hand-written driver, honest and hostile, against the MMIO model and the
//! virtio-fs device: every malformed input is refused without panicking and
//! the device keeps serving.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::abi::{Opcode, OutHeader, ROOT_ID};
use arcbox_fs::{FuseDispatcher, Instant};
use arcbox_fs_virtio::desc::{Descriptor, F_INDIRECT, F_NEXT, F_WRITE};
use arcbox_fs_virtio::device::{VIRTIO_F_VERSION_1, status};
use arcbox_fs_virtio::mmio::reg;
use arcbox_fs_virtio::{ConfigError, MmioAction, Refusal, Tag, VirtioFsDevice, VirtioMmio};
use common::*;
use zerocopy::FromBytes;

type Dev = VirtioFsDevice<3>;

struct Rig {
    drv: RawDriver,
    dev: &'static Dev,
    mmio: VirtioMmio<&'static Dev>,
    disp: FuseDispatcher<TestFs>,
}

/// A live device with queues 0 (hiprio) and 1 set up, and FUSE INIT done.
fn rig() -> Rig {
    let dev: &'static Dev = Box::leak(Box::new(VirtioFsDevice::new(Tag::new("t").unwrap(), 64)));
    let mmio = VirtioMmio::new(dev);
    let mut drv = RawDriver::new();
    drv.negotiate(&mmio, RawDriver::default_features());
    assert_eq!(drv.setup_queue(&mmio, 0, QSIZE), MmioAction::None);
    assert_eq!(drv.setup_queue(&mmio, 1, QSIZE), MmioAction::None);
    assert_eq!(drv.driver_ok(&mmio), MmioAction::DriverOk);
    let disp = FuseDispatcher::new(TestFs::default());
    let mut r = Rig {
        drv,
        dev,
        mmio,
        disp,
    };
    let (h, _) = r.call(0, &request(Opcode::INIT, 1, 0, &init_body()), 256);
    assert_eq!(h.error, 0);
    r
}

impl Rig {
    fn serve(&mut self, q: u16) -> arcbox_fs_virtio::NeedsInterrupt {
        assert_eq!(
            self.mmio.write_reg(reg::QUEUE_NOTIFY, q.into()),
            MmioAction::Notify(q)
        );
        self.dev
            .process_queue(q, &self.drv.mem, &self.disp, Instant::ZERO)
    }

    /// Sends `req` on queue 1 as descriptors `first`, `first + 1`; returns the reply header and the used length.
    fn call(&mut self, first: u16, req: &[u8], room: u32) -> (OutHeader, u32) {
        self.drv.cur = 1;
        let w = self.drv.simple_chain(first, req, room);
        self.drv.publish(first, QSIZE);
        let _ = self.serve(1);
        let (id, len) = self.drv.pop_used(QSIZE).unwrap();
        assert_eq!(id, u32::from(first));
        let out = self.drv.read(w, len as usize);
        let h = if len >= 16 {
            OutHeader::read_from_prefix(&out).unwrap().0
        } else {
            OutHeader::default()
        };
        (h, len)
    }

    /// Publishes head `first` (already written) on queue 1, serves it, and returns the used element.
    fn send_raw(&mut self, head: u16) -> (u32, u32) {
        self.drv.cur = 1;
        self.drv.publish(head, QSIZE);
        let _ = self.serve(1);
        self.drv.pop_used(QSIZE).unwrap()
    }

    /// The device still answers GETATTR on the root.
    fn still_serves(&mut self) {
        let (h, len) = self.call(10, &request(Opcode::GETATTR, 99, ROOT_ID, &[0u8; 16]), 256);
        assert_eq!(h.error, 0);
        assert_eq!(len, 16 + 104);
    }
}

#[test]
fn honest_lookup_getattr_and_hiprio_forget() {
    let mut r = rig();
    let (h, len) = r.call(0, &request(Opcode::LOOKUP, 2, ROOT_ID, b"hello\0"), 256);
    assert_eq!((h.error, h.unique, len), (0, 2, 16 + 128));
    assert_eq!(
        r.disp
            .fs()
            .lookups
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    // FORGET on the hiprio queue: processed, completed with used length 0.
    r.drv.cur = 0;
    let f = request(Opcode::FORGET, 3, FILE, &1u64.to_le_bytes());
    let a = r.drv.buffer(&f, f.len());
    r.drv.set_desc(
        0,
        Descriptor {
            addr: a,
            len: f.len() as u32,
            flags: 0,
            next: 0,
        },
    );
    r.drv.publish(0, QSIZE);
    let irq = r.serve(0);
    assert!(irq.used_buffer);
    assert_eq!(r.drv.pop_used(QSIZE), Some((0, 0)));
    assert_eq!(
        r.disp
            .fs()
            .forgets
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    r.still_serves();
}

#[test]
fn descriptor_loop_is_refused() {
    let mut r = rig();
    let a = r
        .drv
        .buffer(&request(Opcode::GETATTR, 5, ROOT_ID, &[0u8; 16]), 56);
    r.drv.set_desc(
        0,
        Descriptor {
            addr: a,
            len: 56,
            flags: F_NEXT,
            next: 1,
        },
    );
    r.drv.set_desc(
        1,
        Descriptor {
            addr: a,
            len: 8,
            flags: F_NEXT,
            next: 0,
        },
    );
    assert_eq!(r.send_raw(0), (0, 0));
    assert_eq!(r.dev.refused_chains(), 1);
    // A self-loop in an indirect table, too.
    let t = r.drv.buffer(&[], 32);
    r.drv.mem_write_desc(
        t,
        0,
        Descriptor {
            addr: a,
            len: 56,
            flags: F_NEXT,
            next: 1,
        },
    );
    r.drv.mem_write_desc(
        t,
        1,
        Descriptor {
            addr: a,
            len: 56,
            flags: F_NEXT,
            next: 1,
        },
    );
    r.drv.set_desc(
        2,
        Descriptor {
            addr: t,
            len: 32,
            flags: F_INDIRECT,
            next: 0,
        },
    );
    assert_eq!(r.send_raw(2), (2, 0));
    assert_eq!(r.dev.refused_chains(), 2);
    r.still_serves();
}

#[test]
fn chains_outside_guest_memory_are_refused() {
    let mut r = rig();
    for (i, addr) in [
        (0u16, 0u64),
        (2, MEM_BASE + (4 << 20) - 8),
        (4, u64::MAX - 4),
    ] {
        r.drv.set_desc(
            i,
            Descriptor {
                addr,
                len: 64,
                flags: 0,
                next: 0,
            },
        );
        assert_eq!(r.send_raw(i), (u32::from(i), 0));
    }
    // An indirect table outside memory, and an indirect table with a bad length.
    r.drv.set_desc(
        6,
        Descriptor {
            addr: 0x10,
            len: 32,
            flags: F_INDIRECT,
            next: 0,
        },
    );
    assert_eq!(r.send_raw(6), (6, 0));
    r.drv.set_desc(
        7,
        Descriptor {
            addr: MEM_BASE + 0x10000,
            len: 24,
            flags: F_INDIRECT,
            next: 0,
        },
    );
    assert_eq!(r.send_raw(7), (7, 0));
    assert_eq!(r.dev.refused_chains(), 5);
    r.still_serves();
}

#[test]
fn overflowing_lengths_are_refused() {
    let mut r = rig();
    let a = r
        .drv
        .buffer(&request(Opcode::GETATTR, 5, ROOT_ID, &[0u8; 16]), 56);
    r.drv.set_desc(
        0,
        Descriptor {
            addr: a,
            len: 56,
            flags: F_NEXT,
            next: 1,
        },
    );
    r.drv.set_desc(
        1,
        Descriptor {
            addr: a,
            len: u32::MAX,
            flags: F_NEXT,
            next: 2,
        },
    );
    r.drv.set_desc(
        2,
        Descriptor {
            addr: a,
            len: u32::MAX,
            flags: 0,
            next: 0,
        },
    );
    assert_eq!(r.send_raw(0), (0, 0));
    // Writable buffers overlapping the request are refused (no aliasing).
    r.drv.set_desc(
        3,
        Descriptor {
            addr: a,
            len: 56,
            flags: F_NEXT,
            next: 4,
        },
    );
    r.drv.set_desc(
        4,
        Descriptor {
            addr: a + 8,
            len: 256,
            flags: F_WRITE,
            next: 0,
        },
    );
    assert_eq!(r.send_raw(3), (3, 0));
    // Readable after writable.
    r.drv.set_desc(
        5,
        Descriptor {
            addr: a + 4096,
            len: 256,
            flags: F_WRITE | F_NEXT,
            next: 6,
        },
    );
    r.drv.set_desc(
        6,
        Descriptor {
            addr: a,
            len: 56,
            flags: 0,
            next: 0,
        },
    );
    assert_eq!(r.send_raw(5), (5, 0));
    assert_eq!(r.dev.refused_chains(), 3);
    r.still_serves();
}

#[test]
fn reply_larger_than_writable_room() {
    let mut r = rig();
    // GETATTR needs 120 bytes: with 32 the reply is an ERANGE error header.
    let (h, len) = r.call(0, &request(Opcode::GETATTR, 7, ROOT_ID, &[0u8; 16]), 32);
    assert_eq!((h.error, h.unique, len), (-34, 7, 16));
    // With 8 bytes not even that fits: completed with used length 0.
    let (_, len) = r.call(2, &request(Opcode::GETATTR, 8, ROOT_ID, &[0u8; 16]), 8);
    assert_eq!(len, 0);
    r.still_serves();
}

#[test]
fn queue_size_not_power_of_two_is_refused() {
    let dev = VirtioFsDevice::<3>::new(Tag::new("t").unwrap(), 64);
    let mmio = VirtioMmio::new(&dev);
    let mut drv = RawDriver::new();
    drv.negotiate(&mmio, RawDriver::default_features());
    assert_eq!(
        drv.setup_queue(&mmio, 1, 12),
        MmioAction::Refused(Refusal::Queue(ConfigError::BadSize))
    );
    assert_eq!(
        drv.setup_queue(&mmio, 1, 128),
        MmioAction::Refused(Refusal::Queue(ConfigError::BadSize))
    );
    assert_eq!(mmio.read_reg(reg::QUEUE_READY), 0);
    assert_eq!(drv.setup_queue(&mmio, 1, 16), MmioAction::None);
    assert_eq!(mmio.read_reg(reg::QUEUE_READY), 1);
}

#[test]
fn notify_before_driver_ok_is_refused() {
    let dev = VirtioFsDevice::<3>::new(Tag::new("t").unwrap(), 64);
    let mmio = VirtioMmio::new(&dev);
    let mut drv = RawDriver::new();
    assert_eq!(
        mmio.write_reg(reg::QUEUE_NOTIFY, 1),
        MmioAction::Refused(Refusal::NotifyNotLive)
    );
    drv.negotiate(&mmio, RawDriver::default_features());
    drv.setup_queue(&mmio, 1, 16);
    assert_eq!(
        mmio.write_reg(reg::QUEUE_NOTIFY, 1),
        MmioAction::Refused(Refusal::NotifyNotLive)
    );
    assert_eq!(drv.driver_ok(&mmio), MmioAction::DriverOk);
    assert_eq!(mmio.write_reg(reg::QUEUE_NOTIFY, 1), MmioAction::Notify(1));
    assert_eq!(
        mmio.write_reg(reg::QUEUE_NOTIFY, 3),
        MmioAction::Refused(Refusal::NoSuchQueue)
    );
    // FAILED stops notifications; a reset brings the device back.
    mmio.write_reg(reg::STATUS, mmio.status() | status::FAILED);
    assert_eq!(
        mmio.write_reg(reg::QUEUE_NOTIFY, 1),
        MmioAction::Refused(Refusal::NotifyNotLive)
    );
    assert_eq!(mmio.write_reg(reg::STATUS, 0), MmioAction::Reset);
    assert_eq!(mmio.read_reg(reg::STATUS), 0);
    assert_eq!(mmio.read_reg(reg::QUEUE_READY), 0);
}

#[test]
fn feature_changes_after_features_ok_are_refused() {
    let dev = VirtioFsDevice::<2>::new(Tag::new("t").unwrap(), 64);
    let mmio = VirtioMmio::new(&dev);
    let drv = RawDriver::new();
    drv.negotiate(&mmio, VIRTIO_F_VERSION_1);
    assert_ne!(mmio.status() & status::FEATURES_OK, 0);
    mmio.write_reg(reg::DRIVER_FEATURES_SEL, 0);
    assert_eq!(
        mmio.write_reg(reg::DRIVER_FEATURES, 1 << 29),
        MmioAction::Refused(Refusal::FeaturesLocked)
    );
    assert_eq!(mmio.driver_features(), VIRTIO_F_VERSION_1);
    // Features the device did not offer, or no VERSION_1: FEATURES_OK stays clear.
    drv.negotiate(&mmio, VIRTIO_F_VERSION_1 | 1 << 5);
    assert_eq!(mmio.status() & status::FEATURES_OK, 0);
    drv.negotiate(&mmio, 0);
    assert_eq!(mmio.status() & status::FEATURES_OK, 0);
    // DRIVER_OK without FEATURES_OK, and clearing bits, are refused.
    assert_eq!(
        mmio.write_reg(
            reg::STATUS,
            status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK
        ),
        MmioAction::Refused(Refusal::NotFeaturesOk)
    );
    assert_eq!(
        mmio.write_reg(reg::STATUS, status::ACKNOWLEDGE),
        MmioAction::Refused(Refusal::StatusClearsBits)
    );
    assert_eq!(
        mmio.write(reg::STATUS, &[1, 0]),
        MmioAction::Refused(Refusal::BadAccess)
    );
}

#[test]
fn broken_ring_stops_only_its_queue() {
    let mut r = rig();
    r.drv.cur = 1;
    r.drv.set_avail_idx(1000);
    let irq = r.serve(1);
    assert!(irq.config_change);
    assert_ne!(r.mmio.status() & status::DEVICE_NEEDS_RESET, 0);
    // The hiprio queue still works.
    r.drv.cur = 0;
    let f = request(Opcode::FORGET, 3, FILE, &2u64.to_le_bytes());
    let a = r.drv.buffer(&f, f.len());
    r.drv.set_desc(
        1,
        Descriptor {
            addr: a,
            len: f.len() as u32,
            flags: 0,
            next: 0,
        },
    );
    r.drv.publish(1, QSIZE);
    let _ = r.serve(0);
    assert_eq!(r.drv.pop_used(QSIZE), Some((1, 0)));
    assert_eq!(
        r.disp
            .fs()
            .forgets
            .load(std::sync::atomic::Ordering::SeqCst),
        2
    );
}

#[test]
fn config_space_and_registers() {
    let dev = VirtioFsDevice::<5>::new(Tag::new("myfs").unwrap(), 300)
        .with_dax_window(0x1_0000_0000, 1 << 30);
    let mmio = VirtioMmio::new(&dev);
    assert_eq!(mmio.read_reg(reg::MAGIC_VALUE), 0x7472_6976);
    assert_eq!(mmio.read_reg(reg::VERSION), 2);
    assert_eq!(mmio.read_reg(reg::DEVICE_ID), 26);
    mmio.write_reg(reg::QUEUE_SEL, 4);
    assert_eq!(mmio.read_reg(reg::QUEUE_NUM_MAX), 256);
    mmio.write_reg(reg::QUEUE_SEL, 5);
    assert_eq!(mmio.read_reg(reg::QUEUE_NUM_MAX), 0);
    let mut cfg = [0xffu8; 44];
    mmio.read(0x100, &mut cfg);
    assert_eq!(&cfg[..4], b"myfs");
    assert!(cfg[4..36].iter().all(|&b| b == 0));
    assert_eq!(u32::from_le_bytes(cfg[36..40].try_into().unwrap()), 4);
    assert_eq!(&cfg[40..], &[0; 4]);
    mmio.write_reg(reg::SHM_SEL, 0);
    assert_eq!(mmio.read_reg(reg::SHM_LEN_LOW), 1 << 30);
    assert_eq!(mmio.read_reg(reg::SHM_BASE_HIGH), 1);
    mmio.write_reg(reg::SHM_SEL, 1);
    assert_eq!(mmio.read_reg(reg::SHM_LEN_LOW), u32::MAX);
    assert_eq!(mmio.read_reg(reg::SHM_LEN_HIGH), u32::MAX);
    assert!(mmio.raise_used_buffer());
    assert!(!mmio.raise_config_change());
    assert_eq!(mmio.read_reg(reg::INTERRUPT_STATUS), 3);
    assert_eq!(mmio.write_reg(reg::INTERRUPT_ACK, 1), MmioAction::None);
    assert_eq!(
        mmio.write_reg(reg::INTERRUPT_ACK, 2),
        MmioAction::DeassertInterrupt
    );
    assert_eq!(Tag::new(""), Err(arcbox_fs_virtio::TagError::Empty));
    assert_eq!(
        Tag::new(&"x".repeat(37)),
        Err(arcbox_fs_virtio::TagError::TooLong)
    );
    assert!(Tag::new(&"x".repeat(36)).is_ok());
}
