//! The virtio file system device (virtio 1.2 §5.11): config space (`tag`,
//! `num_request_queues`), the hiprio queue (0) and request queues (1..),
//! request processing through the FUSE core, and completion with the reply's
//! length as the used length (§5.11.6).
//!
//! [`VirtioFsDevice::process_queue`] serves one queue to completion and is
//! what an event loop calls for "queue N notified"; [`VirtioFsDevice::pop`],
//! [`serve_chain`] and [`VirtioFsDevice::complete`] are its parts, for pools
//! that complete requests out of order.

use crate::chain::{ChainError, DEFAULT_MAX_SEGMENTS, DescTable, DescriptorChain};
use crate::device::{
    ShmRegion, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, VirtioDevice,
};
use crate::mem::GuestMemory;
use crate::queue::{QueueError, SplitQueue};
use crate::sync::{AtomicBool, AtomicU32, SpinLock};
use arcbox_fs::{FileSystem, FuseDispatcher, Instant, Outcome};
use core::sync::atomic::Ordering;

/// Device ID of the file system device (§5.11.1).
pub const VIRTIO_ID_FS: u32 = 26;
/// Length of the `tag` field of the config space (§5.11.4).
pub const TAG_LEN: usize = 36;
/// Length of the config space this device exposes: `tag` and `num_request_queues`.
pub const CONFIG_LEN: usize = TAG_LEN + 4;
/// Shared memory region id of the DAX window (§5.11.5: `VIRTIO_FS_SHMCAP_ID_CACHE`).
pub const SHMCAP_ID_CACHE: u8 = 0;
/// Index of the hiprio queue (§5.11.2).
pub const HIPRIO_QUEUE: u16 = 0;

/// A virtio-fs tag: 1 to 36 bytes of UTF-8 without NUL (§5.11.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag {
    bytes: [u8; TAG_LEN],
    len: u8,
}

/// Why a tag was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagError {
    /// Empty.
    Empty,
    /// Longer than 36 bytes.
    TooLong,
    /// Contains a NUL byte (the guest would read a shorter tag).
    Nul,
}

impl Tag {
    /// Validates `tag`.
    ///
    /// Errors: see [`TagError`].
    pub fn new(tag: &str) -> Result<Tag, TagError> {
        let b = tag.as_bytes();
        if b.is_empty() {
            return Err(TagError::Empty);
        }
        if b.len() > TAG_LEN {
            return Err(TagError::TooLong);
        }
        if b.contains(&0) {
            return Err(TagError::Nul);
        }
        let mut bytes = [0u8; TAG_LEN];
        bytes[..b.len()].copy_from_slice(b);
        Ok(Tag {
            bytes,
            len: b.len() as u8,
        })
    }

    /// The tag's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// What the transport must signal after serving a queue.
#[must_use]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NeedsInterrupt {
    /// Used buffers were published and the driver wants to hear of them.
    pub used_buffer: bool,
    /// The device set `DEVICE_NEEDS_RESET`: signal a configuration change (§2.1.2).
    pub config_change: bool,
}

impl NeedsInterrupt {
    /// Either kind of interrupt.
    pub fn any(self) -> bool {
        self.used_buffer || self.config_change
    }
}

impl core::ops::BitOrAssign for NeedsInterrupt {
    fn bitor_assign(&mut self, o: Self) {
        self.used_buffer |= o.used_buffer;
        self.config_change |= o.config_change;
    }
}

/// A virtio-fs device with `Q` queues: the hiprio queue and `Q - 1` request
/// queues. No allocation; all methods take `&self`.
#[derive(Debug)]
pub struct VirtioFsDevice<const Q: usize = 2> {
    tag: Tag,
    queues: [SpinLock<SplitQueue>; Q],
    dax: Option<ShmRegion>,
    needs_reset: AtomicBool,
    refused_chains: AtomicU32,
    /// Chains popped per queue (wrapping).
    popped: [AtomicU32; Q],
}

impl<const Q: usize> VirtioFsDevice<Q> {
    const QUEUES_OK: () = assert!(
        Q >= 2 && Q <= u16::MAX as usize,
        "hiprio + at least one request queue"
    );

    /// A device announcing `tag`, its queues offering at most `queue_size`
    /// entries (rounded down to a power of two).
    pub fn new(tag: Tag, queue_size: u16) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::QUEUES_OK;
        VirtioFsDevice {
            tag,
            queues: core::array::from_fn(|_| SpinLock::new(SplitQueue::new(queue_size))),
            dax: None,
            needs_reset: AtomicBool::new(false),
            refused_chains: AtomicU32::new(0),
            popped: core::array::from_fn(|_| AtomicU32::new(0)),
        }
    }

    /// Announces a DAX window of `len` bytes at guest address `base` as shared
    /// memory region 0 (§5.11.5). The VMM maps it; `SETUPMAPPING` fills it.
    pub fn with_dax_window(mut self, base: u64, len: u64) -> Self {
        self.dax = Some(ShmRegion {
            id: SHMCAP_ID_CACHE,
            base,
            len,
        });
        self
    }

    /// The tag.
    pub fn tag(&self) -> &Tag {
        &self.tag
    }

    /// Number of request queues (`num_request_queues`).
    pub fn num_request_queues(&self) -> u32 {
        (Q - 1) as u32
    }

    /// Chains refused as malformed so far (each completed with used length 0).
    pub fn refused_chains(&self) -> u32 {
        self.refused_chains.load(Ordering::Relaxed)
    }

    /// Requests (chains) popped from `queue` so far, wrapping at 2^32; 0
    /// for a queue the device does not have. Shows how a multi-queue driver
    /// spreads its requests.
    pub fn requests(&self, queue: u16) -> u32 {
        self.popped
            .get(usize::from(queue))
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Takes the next available head of `queue` and the table to walk it in.
    /// A broken queue sets `DEVICE_NEEDS_RESET`.
    ///
    /// Errors: no such queue ([`QueueError::NotReady`]), or the queue broke.
    pub fn pop<M: GuestMemory + ?Sized>(
        &self,
        queue: u16,
        mem: &M,
    ) -> Result<Option<(u16, DescTable)>, QueueError> {
        let q = self
            .queues
            .get(usize::from(queue))
            .ok_or(QueueError::NotReady)?;
        let r = q.lock(|q| q.pop(mem).map(|h| h.map(|h| (h, q.desc_table()))));
        if matches!(r, Err(e) if e != QueueError::NotReady) {
            self.needs_reset.store(true, Ordering::Release);
        }
        if let (Ok(Some(_)), Some(c)) = (&r, self.popped.get(usize::from(queue))) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    /// Publishes `head` with `len` used bytes on `queue`.
    pub fn complete<M: GuestMemory + ?Sized>(
        &self,
        queue: u16,
        mem: &M,
        head: u16,
        len: u32,
    ) -> NeedsInterrupt {
        let Some(q) = self.queues.get(usize::from(queue)) else {
            return NeedsInterrupt::default();
        };
        match q.lock(|q| q.add_used(mem, head, len)) {
            Ok(used_buffer) => NeedsInterrupt {
                used_buffer,
                config_change: false,
            },
            Err(QueueError::NotReady) => NeedsInterrupt::default(),
            Err(_) => NeedsInterrupt {
                used_buffer: false,
                config_change: !self.needs_reset.swap(true, Ordering::AcqRel),
            },
        }
    }

    /// Serves `queue` until the driver has nothing more available: each chain
    /// is walked, dispatched and completed in order. Call it when the driver
    /// notified `queue` (an MMIO `QueueNotify` write, a vhost-user kick).
    /// Malformed chains are completed with used length 0 and counted; a broken
    /// ring stops this queue only and asks for a reset.
    pub fn process_queue<M, F>(
        &self,
        queue: u16,
        mem: &M,
        dispatcher: &FuseDispatcher<F>,
        now: Instant,
    ) -> NeedsInterrupt
    where
        M: GuestMemory + ?Sized,
        F: FileSystem,
    {
        let mut out = NeedsInterrupt::default();
        loop {
            match self.pop(queue, mem) {
                Ok(Some((head, table))) => {
                    let len = self.serve(mem, table, head, dispatcher, now);
                    out |= self.complete(queue, mem, head, len);
                }
                Ok(None) => {
                    // avail_event was published by pop: re-check to not miss a late entry.
                    if !self.has_available(queue, mem) {
                        break;
                    }
                }
                Err(QueueError::NotReady) => break,
                Err(_) => {
                    out.config_change = true;
                    break;
                }
            }
        }
        out
    }

    /// Whether `queue` has entries the driver made available and nobody popped.
    pub fn has_available<M: GuestMemory + ?Sized>(&self, queue: u16, mem: &M) -> bool {
        self.queues
            .get(usize::from(queue))
            .is_some_and(|q| q.lock(|q| q.has_available(mem).unwrap_or(false)))
    }

    /// [`serve_chain`], counting refused chains.
    pub fn serve<M, F>(
        &self,
        mem: &M,
        table: DescTable,
        head: u16,
        dispatcher: &FuseDispatcher<F>,
        now: Instant,
    ) -> u32
    where
        M: GuestMemory + ?Sized,
        F: FileSystem,
    {
        match serve_chain(mem, table, head, dispatcher, now) {
            Ok(n) => n,
            Err(_) => {
                self.refused_chains.fetch_add(1, Ordering::Relaxed);
                0
            }
        }
    }
}

/// The FUSE opcode of the request in the chain at `head`, or `None` when the
/// chain is malformed or shorter than a header: lets a transport route
/// requests that may wait long (SETLKW) to threads of their own. The
/// opcode is only a routing hint: the dispatcher reads the header again, once,
/// when it serves the chain.
pub fn peek_opcode<M>(mem: &M, table: DescTable, head: u16) -> Option<u32>
where
    M: GuestMemory + ?Sized,
{
    let mut chain: DescriptorChain<'_, DEFAULT_MAX_SEGMENTS> = table.resolve(mem, head).ok()?;
    let (reader, _) = chain.split();
    let mut op = [0u8; 4];
    arcbox_fs::io::RequestSource::read_at(&reader, 4, &mut op).ok()?;
    Some(u32::from_le_bytes(op))
}

/// Walks the chain at `head`, hands it to `dispatcher` and returns the used
/// length: the reply's length, or 0 for requests without a reply (FORGET,
/// BATCH_FORGET, INTERRUPT) and requests too broken to answer.
///
/// Errors: the chain is malformed; it must be completed with length 0.
pub fn serve_chain<M, F>(
    mem: &M,
    table: DescTable,
    head: u16,
    dispatcher: &FuseDispatcher<F>,
    now: Instant,
) -> Result<u32, ChainError>
where
    M: GuestMemory + ?Sized,
    F: FileSystem,
{
    let mut chain: DescriptorChain<'_, DEFAULT_MAX_SEGMENTS> = table.resolve(mem, head)?;
    let (reader, mut writer) = chain.split();
    Ok(match dispatcher.handle(now, &reader, &mut writer) {
        // n <= writer capacity <= u32::MAX (the chain's lengths are u32-checked).
        Outcome::Reply(n) => u32::try_from(n).unwrap_or(0),
        Outcome::NoReply | Outcome::Dropped(_) => 0,
    })
}

impl<const Q: usize> VirtioDevice for VirtioFsDevice<Q> {
    fn device_id(&self) -> u32 {
        VIRTIO_ID_FS
    }

    fn device_features(&self) -> u64 {
        VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX
    }

    fn num_queues(&self) -> u16 {
        Q as u16
    }

    fn with_queue<R>(&self, index: u16, f: impl FnOnce(&mut SplitQueue) -> R) -> Option<R> {
        self.queues.get(usize::from(index)).map(|q| q.lock(f))
    }

    fn config_len(&self) -> usize {
        CONFIG_LEN
    }

    fn read_config(&self, offset: usize, data: &mut [u8]) {
        let mut cfg = [0u8; CONFIG_LEN];
        cfg[..TAG_LEN].copy_from_slice(&self.tag.bytes);
        cfg[TAG_LEN..].copy_from_slice(&self.num_request_queues().to_le_bytes());
        for (i, b) in data.iter_mut().enumerate() {
            *b = offset
                .checked_add(i)
                .and_then(|o| cfg.get(o))
                .copied()
                .unwrap_or(0);
        }
    }

    fn write_config(&self, _offset: usize, _data: &[u8]) {
        // §5.11.4: the configuration space is read-only for the driver.
    }

    fn set_driver_features(&self, features: u64) {
        let event_idx = features & VIRTIO_F_EVENT_IDX != 0;
        let indirect = features & VIRTIO_F_INDIRECT_DESC != 0;
        for q in &self.queues {
            q.lock(|q| q.set_features(event_idx, indirect));
        }
    }

    fn reset(&self) {
        for q in &self.queues {
            q.lock(SplitQueue::reset);
        }
        self.needs_reset.store(false, Ordering::Release);
    }

    fn needs_reset(&self) -> bool {
        self.needs_reset.load(Ordering::Acquire)
    }

    fn shm_region(&self, id: u8) -> Option<ShmRegion> {
        self.dax.filter(|r| r.id == id)
    }
}
