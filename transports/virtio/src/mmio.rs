//! The virtio-mmio register model, version 2 (virtio 1.2 §4.2.2): what a VMM
//! calls from its MMIO exit handler. Reads return register values; writes
//! return an [`MmioAction`]: "queue N notified", reset, driver ready,
//! interrupt line changes, or why a write was refused.
//!
//! Control registers (offsets below 0x100) take aligned 32-bit accesses only
//! (§4.2.2.2); other accesses read as 0 and are refused. The device config
//! space starts at 0x100.

use crate::device::{VIRTIO_F_VERSION_1, VirtioDevice, status};
use crate::queue::ConfigError;
use crate::sync::{AtomicU32, SpinLock};
use core::sync::atomic::Ordering;

/// `MagicValue`: "virt" little-endian.
pub const MAGIC: u32 = 0x7472_6976;
/// `Version` of the non-legacy interface.
pub const VERSION: u32 = 2;
/// `VendorID` this model reports by default ("ABOX").
pub const DEFAULT_VENDOR_ID: u32 = u32::from_le_bytes(*b"ABOX");
/// Offset of the device configuration space.
pub const CONFIG_OFFSET: u64 = 0x100;
/// `InterruptStatus` bit: used buffer notification.
pub const INT_USED_BUFFER: u32 = 1;
/// `InterruptStatus` bit: configuration change notification.
pub const INT_CONFIG_CHANGE: u32 = 2;

/// Register offsets (§4.2.2, table "MMIO Device Register Layout").
#[allow(missing_docs)]
pub mod reg {
    pub const MAGIC_VALUE: u64 = 0x000;
    pub const VERSION: u64 = 0x004;
    pub const DEVICE_ID: u64 = 0x008;
    pub const VENDOR_ID: u64 = 0x00c;
    pub const DEVICE_FEATURES: u64 = 0x010;
    pub const DEVICE_FEATURES_SEL: u64 = 0x014;
    pub const DRIVER_FEATURES: u64 = 0x020;
    pub const DRIVER_FEATURES_SEL: u64 = 0x024;
    pub const QUEUE_SEL: u64 = 0x030;
    pub const QUEUE_NUM_MAX: u64 = 0x034;
    pub const QUEUE_NUM: u64 = 0x038;
    pub const QUEUE_READY: u64 = 0x044;
    pub const QUEUE_NOTIFY: u64 = 0x050;
    pub const INTERRUPT_STATUS: u64 = 0x060;
    pub const INTERRUPT_ACK: u64 = 0x064;
    pub const STATUS: u64 = 0x070;
    pub const QUEUE_DESC_LOW: u64 = 0x080;
    pub const QUEUE_DESC_HIGH: u64 = 0x084;
    pub const QUEUE_DRIVER_LOW: u64 = 0x090;
    pub const QUEUE_DRIVER_HIGH: u64 = 0x094;
    pub const QUEUE_DEVICE_LOW: u64 = 0x0a0;
    pub const QUEUE_DEVICE_HIGH: u64 = 0x0a4;
    pub const SHM_SEL: u64 = 0x0ac;
    pub const SHM_LEN_LOW: u64 = 0x0b0;
    pub const SHM_LEN_HIGH: u64 = 0x0b4;
    pub const SHM_BASE_LOW: u64 = 0x0b8;
    pub const SHM_BASE_HIGH: u64 = 0x0bc;
    pub const CONFIG_GENERATION: u64 = 0x0fc;
}

/// What the VMM must do after a register write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmioAction {
    /// Nothing.
    None,
    /// The driver notified queue N: serve it (e.g. `VirtioFsDevice::process_queue`).
    Notify(u16),
    /// The driver reset the device; in-flight requests must be drained first
    /// if a pool serves it. The interrupt line is deasserted.
    Reset,
    /// The driver set `DRIVER_OK`: the device is live.
    DriverOk,
    /// Every interrupt was acknowledged: deassert the interrupt line.
    DeassertInterrupt,
    /// The write was refused and ignored.
    Refused(Refusal),
}

/// Why a register write was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not an aligned 32-bit access to a control register.
    BadAccess,
    /// Write to a read-only or unknown register.
    ReadOnly,
    /// `QueueNotify` before `DRIVER_OK` or after `FAILED`.
    NotifyNotLive,
    /// `QueueNotify` of a queue the device does not have.
    NoSuchQueue,
    /// `DriverFeatures` written after `FEATURES_OK` (§2.2.2, §3.1.1).
    FeaturesLocked,
    /// Queue registers written before `FEATURES_OK` or after `DRIVER_OK`.
    QueueLocked,
    /// `QueueReady` refused: bad size or alignment.
    Queue(ConfigError),
    /// `Status` write that clears bits without writing 0 (a reset).
    StatusClearsBits,
    /// `FEATURES_OK` with features the device did not offer or without `VERSION_1`;
    /// the bit is not set (the driver sees it cleared, §3.1.1 step 6).
    FeaturesRejected,
    /// `DRIVER_OK` without `FEATURES_OK`.
    NotFeaturesOk,
}

#[derive(Clone, Copy, Debug, Default)]
struct Regs {
    status: u32,
    device_features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u32,
    shm_sel: u32,
}

/// The register model of one virtio-mmio device over a [`VirtioDevice`].
/// All methods take `&self`; register state sits behind a short spin lock,
/// the interrupt status is atomic (workers raise it).
#[derive(Debug)]
pub struct VirtioMmio<D> {
    device: D,
    vendor_id: u32,
    regs: SpinLock<Regs>,
    interrupt_status: AtomicU32,
    config_generation: AtomicU32,
    refusals: AtomicU32,
}

impl<D: VirtioDevice> VirtioMmio<D> {
    /// The register model over `device`, in reset state.
    pub fn new(device: D) -> Self {
        VirtioMmio {
            device,
            vendor_id: DEFAULT_VENDOR_ID,
            regs: SpinLock::new(Regs::default()),
            interrupt_status: AtomicU32::new(0),
            config_generation: AtomicU32::new(0),
            refusals: AtomicU32::new(0),
        }
    }

    /// The device.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// The device status, as the driver reads it.
    pub fn status(&self) -> u32 {
        let s = self.regs.lock(|r| r.status);
        if self.device.needs_reset() {
            s | status::DEVICE_NEEDS_RESET
        } else {
            s
        }
    }

    /// Whether the driver set `DRIVER_OK` and the device is usable.
    pub fn is_live(&self) -> bool {
        let s = self.status();
        s & status::DRIVER_OK != 0 && s & (status::FAILED | status::DEVICE_NEEDS_RESET) == 0
    }

    /// Features the driver accepted.
    pub fn driver_features(&self) -> u64 {
        self.regs.lock(|r| r.driver_features)
    }

    /// Refused register writes so far.
    pub fn refusals(&self) -> u32 {
        self.refusals.load(Ordering::Relaxed)
    }

    /// Sets `InterruptStatus` bit 0 after used buffers were published.
    /// Returns whether the line was idle before (assert it now).
    pub fn raise_used_buffer(&self) -> bool {
        self.interrupt_status
            .fetch_or(INT_USED_BUFFER, Ordering::AcqRel)
            == 0
    }

    /// Sets `InterruptStatus` bit 1 (configuration change, also for
    /// `DEVICE_NEEDS_RESET`). Returns whether the line was idle before.
    pub fn raise_config_change(&self) -> bool {
        self.interrupt_status
            .fetch_or(INT_CONFIG_CHANGE, Ordering::AcqRel)
            == 0
    }

    /// The current `InterruptStatus` (non-zero: the line should be asserted).
    pub fn interrupt_status(&self) -> u32 {
        self.interrupt_status.load(Ordering::Acquire)
    }

    /// An MMIO read of `data.len()` bytes at `offset` from the window's base.
    pub fn read(&self, offset: u64, data: &mut [u8]) {
        if offset >= CONFIG_OFFSET {
            match usize::try_from(offset - CONFIG_OFFSET) {
                Ok(o) => self.device.read_config(o, data),
                Err(_) => data.fill(0),
            }
            return;
        }
        let v = if data.len() == 4 && offset % 4 == 0 {
            self.read_reg(offset)
        } else {
            0
        };
        let b = v.to_le_bytes();
        for (i, d) in data.iter_mut().enumerate() {
            *d = b.get(i).copied().unwrap_or(0);
        }
    }

    /// A 32-bit control register read.
    pub fn read_reg(&self, offset: u64) -> u32 {
        let r = self.regs.lock(|r| *r);
        let sel = r.queue_sel as u16;
        let queue_exists = r.queue_sel < u32::from(self.device.num_queues());
        let q = |f: &dyn Fn(&crate::queue::SplitQueue) -> u32| {
            if queue_exists {
                self.device.with_queue(sel, |q| f(q)).unwrap_or(0)
            } else {
                0
            }
        };
        let shm = self
            .device
            .shm_region(u8::try_from(r.shm_sel).unwrap_or(u8::MAX))
            .filter(|_| r.shm_sel <= 0xff);
        match offset {
            reg::MAGIC_VALUE => MAGIC,
            reg::VERSION => VERSION,
            reg::DEVICE_ID => self.device.device_id(),
            reg::VENDOR_ID => self.vendor_id,
            reg::DEVICE_FEATURES => match r.device_features_sel {
                0 => self.device.device_features() as u32,
                1 => (self.device.device_features() >> 32) as u32,
                _ => 0,
            },
            reg::QUEUE_NUM_MAX => q(&|q| u32::from(q.max_size())),
            reg::QUEUE_NUM => q(&|q| u32::from(q.size())),
            reg::QUEUE_READY => q(&|q| u32::from(q.ready())),
            reg::QUEUE_DESC_LOW => q(&|q| q.addresses().0 as u32),
            reg::QUEUE_DESC_HIGH => q(&|q| (q.addresses().0 >> 32) as u32),
            reg::QUEUE_DRIVER_LOW => q(&|q| q.addresses().1 as u32),
            reg::QUEUE_DRIVER_HIGH => q(&|q| (q.addresses().1 >> 32) as u32),
            reg::QUEUE_DEVICE_LOW => q(&|q| q.addresses().2 as u32),
            reg::QUEUE_DEVICE_HIGH => q(&|q| (q.addresses().2 >> 32) as u32),
            reg::INTERRUPT_STATUS => self.interrupt_status(),
            reg::STATUS => self.status(),
            // §4.2.2: a region that does not exist has length (and base) -1.
            reg::SHM_LEN_LOW => shm.map_or(u32::MAX, |s| s.len as u32),
            reg::SHM_LEN_HIGH => shm.map_or(u32::MAX, |s| (s.len >> 32) as u32),
            reg::SHM_BASE_LOW => shm.map_or(u32::MAX, |s| s.base as u32),
            reg::SHM_BASE_HIGH => shm.map_or(u32::MAX, |s| (s.base >> 32) as u32),
            reg::CONFIG_GENERATION => self.config_generation.load(Ordering::Acquire),
            _ => 0,
        }
    }

    /// An MMIO write of `data` at `offset` from the window's base.
    pub fn write(&self, offset: u64, data: &[u8]) -> MmioAction {
        if offset >= CONFIG_OFFSET {
            if let Ok(o) = usize::try_from(offset - CONFIG_OFFSET) {
                self.device.write_config(o, data);
            }
            return MmioAction::None;
        }
        match <[u8; 4]>::try_from(data) {
            Ok(b) if offset % 4 == 0 => self.write_reg(offset, u32::from_le_bytes(b)),
            _ => self.refuse(Refusal::BadAccess),
        }
    }

    fn refuse(&self, why: Refusal) -> MmioAction {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        MmioAction::Refused(why)
    }

    /// A 32-bit control register write.
    pub fn write_reg(&self, offset: u64, v: u32) -> MmioAction {
        let r = self.regs.lock(|r| *r);
        let queue_regs_open =
            r.status & status::FEATURES_OK != 0 && r.status & status::DRIVER_OK == 0;
        let sel = u16::try_from(r.queue_sel).unwrap_or(u16::MAX);
        let set_addr = |which: usize, high: bool| {
            if !queue_regs_open {
                return self.refuse(Refusal::QueueLocked);
            }
            self.device.with_queue(sel, |q| {
                let mut a = [q.addresses().0, q.addresses().1, q.addresses().2];
                if let Some(slot) = a.get_mut(which) {
                    *slot = if high {
                        (*slot & 0xffff_ffff) | (u64::from(v) << 32)
                    } else {
                        (*slot & !0xffff_ffff) | u64::from(v)
                    };
                }
                q.set_addresses(a[0], a[1], a[2]);
            });
            MmioAction::None
        };
        match offset {
            reg::DEVICE_FEATURES_SEL => self.regs.lock(|r| r.device_features_sel = v),
            reg::DRIVER_FEATURES_SEL => self.regs.lock(|r| r.driver_features_sel = v),
            reg::DRIVER_FEATURES => {
                if r.status & (status::FEATURES_OK | status::DRIVER_OK | status::FAILED) != 0 {
                    return self.refuse(Refusal::FeaturesLocked);
                }
                self.regs.lock(|r| match r.driver_features_sel {
                    0 => r.driver_features = (r.driver_features & !0xffff_ffff) | u64::from(v),
                    1 => {
                        r.driver_features = (r.driver_features & 0xffff_ffff) | (u64::from(v) << 32)
                    }
                    _ => {}
                });
            }
            reg::QUEUE_SEL => self.regs.lock(|r| r.queue_sel = v),
            reg::QUEUE_NUM => {
                if !queue_regs_open {
                    return self.refuse(Refusal::QueueLocked);
                }
                // An out-of-range size is kept as 0 and refused at QueueReady.
                let size = u16::try_from(v).unwrap_or(0);
                self.device.with_queue(sel, |q| q.set_size(size));
            }
            reg::QUEUE_READY => {
                if !queue_regs_open {
                    return self.refuse(Refusal::QueueLocked);
                }
                match self.device.with_queue(sel, |q| q.set_ready(v & 1 != 0)) {
                    Some(Err(e)) => return self.refuse(Refusal::Queue(e)),
                    Some(Ok(())) => {}
                    None => return self.refuse(Refusal::NoSuchQueue),
                }
            }
            reg::QUEUE_DESC_LOW => return set_addr(0, false),
            reg::QUEUE_DESC_HIGH => return set_addr(0, true),
            reg::QUEUE_DRIVER_LOW => return set_addr(1, false),
            reg::QUEUE_DRIVER_HIGH => return set_addr(1, true),
            reg::QUEUE_DEVICE_LOW => return set_addr(2, false),
            reg::QUEUE_DEVICE_HIGH => return set_addr(2, true),
            reg::QUEUE_NOTIFY => {
                // With VIRTIO_F_NOTIFICATION_DATA absent, the value is the queue index.
                // A broken queue stops itself; DEVICE_NEEDS_RESET does not stop the others.
                let s = r.status;
                if s & status::DRIVER_OK == 0 || s & status::FAILED != 0 {
                    return self.refuse(Refusal::NotifyNotLive);
                }
                return match u16::try_from(v) {
                    Ok(q) if q < self.device.num_queues() => MmioAction::Notify(q),
                    _ => self.refuse(Refusal::NoSuchQueue),
                };
            }
            reg::INTERRUPT_ACK => {
                let before = self.interrupt_status.fetch_and(!v, Ordering::AcqRel);
                if before != 0 && before & !v == 0 {
                    return MmioAction::DeassertInterrupt;
                }
            }
            reg::STATUS => return self.write_status(r.status, v),
            reg::SHM_SEL => self.regs.lock(|r| r.shm_sel = v),
            _ => return self.refuse(Refusal::ReadOnly),
        }
        MmioAction::None
    }

    fn write_status(&self, old: u32, new: u32) -> MmioAction {
        if new == 0 {
            // §2.4 / §4.2.3.1: writing 0 resets the device.
            self.device.reset();
            self.regs.lock(|r| *r = Regs::default());
            self.interrupt_status.store(0, Ordering::Release);
            return MmioAction::Reset;
        }
        if old & !new != 0 {
            return self.refuse(Refusal::StatusClearsBits);
        }
        let added = new & !old;
        let mut new = new;
        let mut action = MmioAction::None;
        if added & status::FEATURES_OK != 0 {
            let offered = self.device.device_features();
            let accepted = self.regs.lock(|r| r.driver_features);
            if accepted & !offered != 0 || accepted & VIRTIO_F_VERSION_1 == 0 {
                new &= !(status::FEATURES_OK | status::DRIVER_OK);
                action = self.refuse(Refusal::FeaturesRejected);
            } else {
                self.device.set_driver_features(accepted);
            }
        }
        if new & status::DRIVER_OK != 0 && old & status::DRIVER_OK == 0 {
            if new & status::FEATURES_OK == 0 {
                new &= !status::DRIVER_OK;
                if action == MmioAction::None {
                    action = self.refuse(Refusal::NotFeaturesOk);
                }
            } else if action == MmioAction::None {
                action = MmioAction::DriverOk;
            }
        }
        // DEVICE_NEEDS_RESET is the device's bit; the driver cannot set it.
        let new = new & !status::DEVICE_NEEDS_RESET;
        self.regs.lock(|r| r.status = new);
        action
    }
}
