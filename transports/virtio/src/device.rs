//! What a transport (virtio-mmio here, vhost-user elsewhere) needs from a
//! virtio device: identity, features, queues, config space, reset (virtio 1.2
//! §2 "Basic Facilities of a Virtio Device").

use crate::queue::SplitQueue;

/// `VIRTIO_F_INDIRECT_DESC` (§6): indirect descriptor tables.
pub const VIRTIO_F_INDIRECT_DESC: u64 = 1 << 28;
/// `VIRTIO_F_EVENT_IDX` (§6): `used_event` / `avail_event` notification suppression.
pub const VIRTIO_F_EVENT_IDX: u64 = 1 << 29;
/// `VIRTIO_F_VERSION_1` (§6): a non-legacy device.
pub const VIRTIO_F_VERSION_1: u64 = 1 << 32;

/// Device status bits (§2.1).
pub mod status {
    /// The guest found the device.
    pub const ACKNOWLEDGE: u32 = 1;
    /// The guest has a driver for it.
    pub const DRIVER: u32 = 2;
    /// The driver is ready: queues may be used.
    pub const DRIVER_OK: u32 = 4;
    /// Feature negotiation is complete.
    pub const FEATURES_OK: u32 = 8;
    /// The device hit an error it cannot recover from without a reset.
    pub const DEVICE_NEEDS_RESET: u32 = 64;
    /// The driver gave up on the device.
    pub const FAILED: u32 = 128;
}

/// A shared memory region of the device (§2.10), e.g. the virtio-fs DAX window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShmRegion {
    /// Region id (virtio-fs: `VIRTIO_FS_SHMCAP_ID_CACHE` = 0).
    pub id: u8,
    /// Guest physical base address.
    pub base: u64,
    /// Length in bytes.
    pub len: u64,
}

/// What a transport needs from a device. Every method takes `&self`: queues
/// are serviced from other threads while the transport handles registers.
pub trait VirtioDevice: Sync {
    /// Device ID (§5: 26 for a file system device).
    fn device_id(&self) -> u32;
    /// Feature bits offered (`DeviceFeatures`).
    fn device_features(&self) -> u64;
    /// Number of virtqueues.
    fn num_queues(&self) -> u16;
    /// Runs `f` on queue `index` under its lock; `None` if there is no such queue.
    fn with_queue<R>(&self, index: u16, f: impl FnOnce(&mut SplitQueue) -> R) -> Option<R>;
    /// Length of the device configuration space.
    fn config_len(&self) -> usize;
    /// Reads config space bytes from `offset`; bytes beyond the end read as 0.
    fn read_config(&self, offset: usize, data: &mut [u8]);
    /// Writes config space bytes (ignored where read-only).
    fn write_config(&self, offset: usize, data: &[u8]);
    /// The driver accepted `features` (a subset of the offer) at `FEATURES_OK`.
    fn set_driver_features(&self, features: u64);
    /// Device reset (§2.4): queues and negotiated state back to initial values.
    fn reset(&self);
    /// Whether the device broke and wants `DEVICE_NEEDS_RESET` (§2.1.2).
    fn needs_reset(&self) -> bool;
    /// Shared memory region `id`, if the device has it (§2.10).
    fn shm_region(&self, id: u8) -> Option<ShmRegion>;
}

macro_rules! forward_device {
    ($($ty:ty),*) => {$(
        impl<T: VirtioDevice + Send> VirtioDevice for $ty {
            fn device_id(&self) -> u32 {
                (**self).device_id()
            }
            fn device_features(&self) -> u64 {
                (**self).device_features()
            }
            fn num_queues(&self) -> u16 {
                (**self).num_queues()
            }
            fn with_queue<R>(&self, index: u16, f: impl FnOnce(&mut SplitQueue) -> R) -> Option<R> {
                (**self).with_queue(index, f)
            }
            fn config_len(&self) -> usize {
                (**self).config_len()
            }
            fn read_config(&self, offset: usize, data: &mut [u8]) {
                (**self).read_config(offset, data)
            }
            fn write_config(&self, offset: usize, data: &[u8]) {
                (**self).write_config(offset, data)
            }
            fn set_driver_features(&self, features: u64) {
                (**self).set_driver_features(features)
            }
            fn reset(&self) {
                (**self).reset()
            }
            fn needs_reset(&self) -> bool {
                (**self).needs_reset()
            }
            fn shm_region(&self, id: u8) -> Option<ShmRegion> {
                (**self).shm_region(id)
            }
        }
    )*};
}

forward_device!(&T);
#[cfg(feature = "std")]
forward_device!(std::sync::Arc<T>);
