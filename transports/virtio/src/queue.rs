//! The device side of a split virtqueue (virtio 1.2 §2.7): the queue's
//! registers, popping heads from the available ring, publishing used
//! elements, and `VIRTIO_F_EVENT_IDX` notification suppression (§2.7.10).
//!
//! Layout (§2.7.6, §2.7.8): the available ring is `flags: u16, idx: u16,
//! ring: [u16; size], used_event: u16`; the used ring is `flags: u16,
//! idx: u16, ring: [{id: u32, len: u32}; size], avail_event: u16`.

use crate::chain::DescTable;
use crate::mem::{GuestAddress, GuestMemory, MemError};
use crate::sync::fence;
use core::sync::atomic::Ordering;

/// Largest queue size a split virtqueue may have (§2.7: `Queue Size` ≤ 32768).
pub const MAX_QUEUE_SIZE: u16 = 32768;
/// `VIRTQ_AVAIL_F_NO_INTERRUPT` (§2.7.7).
pub const AVAIL_F_NO_INTERRUPT: u16 = 1;

/// Why a queue operation failed. Any of these means the driver broke the
/// queue: the device stops using it and asks for a reset (§2.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueError {
    /// The queue is not ready (not configured, or refused at configuration).
    NotReady,
    /// The available index moved by more than the queue size.
    BadAvailIndex,
    /// A head index in the available ring is not below the queue size.
    BadHead,
    /// A ring is not in guest memory or is misaligned.
    Memory(MemError),
}

impl From<MemError> for QueueError {
    fn from(e: MemError) -> Self {
        QueueError::Memory(e)
    }
}

/// Why a queue configuration was refused when the driver set it ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// Size zero, not a power of two (§2.7), or above the device maximum.
    BadSize,
    /// The descriptor table is not 16-aligned, the available ring not
    /// 2-aligned or the used ring not 4-aligned (§2.7, table "Virtqueue Part Alignment").
    Misaligned,
    /// A ring's end overflows the address space.
    Overflow,
}

/// One split virtqueue, device side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitQueue {
    max_size: u16,
    size: u16,
    ready: bool,
    desc: GuestAddress,
    avail: GuestAddress,
    used: GuestAddress,
    event_idx: bool,
    indirect: bool,
    next_avail: u16,
    next_used: u16,
    /// Used index at the last notification check (EVENT_IDX), `None` before any.
    signalled_used: Option<u16>,
    broken: bool,
}

impl SplitQueue {
    /// A reset queue offering at most `max_size` entries (clamped to 1..=32768,
    /// rounded down to a power of two).
    pub fn new(max_size: u16) -> Self {
        let m = max_size.clamp(1, MAX_QUEUE_SIZE);
        // The largest power of two not above m (m >= 1, so leading_zeros <= 15).
        let max_size = 1u16 << (15 - m.leading_zeros());
        SplitQueue {
            max_size,
            size: max_size,
            ready: false,
            desc: 0,
            avail: 0,
            used: 0,
            event_idx: false,
            indirect: false,
            next_avail: 0,
            next_used: 0,
            signalled_used: None,
            broken: false,
        }
    }

    /// Back to the reset state (§2.7 / §4.2.3.2: size = maximum, not ready).
    pub fn reset(&mut self) {
        *self = SplitQueue::new(self.max_size);
    }

    /// The largest size the driver may set (`QueueNumMax`).
    pub fn max_size(&self) -> u16 {
        self.max_size
    }

    /// The current size (`QueueNum`).
    pub fn size(&self) -> u16 {
        self.size
    }

    /// Whether the queue is ready (`QueueReady`).
    pub fn ready(&self) -> bool {
        self.ready
    }

    /// Whether the driver broke the queue; it is not used until reset.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Descriptor table, driver area (available ring) and device area (used ring).
    pub fn addresses(&self) -> (GuestAddress, GuestAddress, GuestAddress) {
        (self.desc, self.avail, self.used)
    }

    /// Sets `QueueNum`; checked when the queue is made ready. Ignored while ready.
    pub fn set_size(&mut self, size: u16) {
        if !self.ready {
            self.size = size;
        }
    }

    /// Sets the ring addresses; checked when the queue is made ready. Ignored while ready.
    pub fn set_addresses(&mut self, desc: GuestAddress, avail: GuestAddress, used: GuestAddress) {
        if !self.ready {
            self.desc = desc;
            self.avail = avail;
            self.used = used;
        }
    }

    /// Sets the negotiated ring features (`VIRTIO_F_EVENT_IDX`, `VIRTIO_F_INDIRECT_DESC`).
    pub fn set_features(&mut self, event_idx: bool, indirect: bool) {
        self.event_idx = event_idx;
        self.indirect = indirect;
    }

    /// Makes the queue ready after checking its size and ring alignment, or
    /// not ready. The ring indexes start at 0 (a fresh queue); a vhost-user
    /// backend moves them with [`set_next_indexes`](Self::set_next_indexes).
    ///
    /// Errors: see [`ConfigError`]; the queue stays not ready then.
    pub fn set_ready(&mut self, ready: bool) -> Result<(), ConfigError> {
        if !ready {
            self.ready = false;
            return Ok(());
        }
        if self.ready {
            return Ok(());
        }
        let s = self.size;
        if s == 0 || !s.is_power_of_two() || s > self.max_size {
            return Err(ConfigError::BadSize);
        }
        if self.desc % 16 != 0 || self.avail % 2 != 0 || self.used % 4 != 0 {
            return Err(ConfigError::Misaligned);
        }
        let n = u64::from(s);
        let ends = [
            self.desc.checked_add(16 * n),
            self.avail.checked_add(6 + 2 * n),
            self.used.checked_add(6 + 8 * n),
        ];
        if ends.iter().any(Option::is_none) {
            return Err(ConfigError::Overflow);
        }
        self.ready = true;
        self.broken = false;
        self.next_avail = 0;
        self.next_used = 0;
        self.signalled_used = None;
        Ok(())
    }

    /// Sets where the device resumes in the rings (vhost-user `SET_VRING_BASE`).
    pub fn set_next_indexes(&mut self, next_avail: u16, next_used: u16) {
        self.next_avail = next_avail;
        self.next_used = next_used;
        self.signalled_used = None;
    }

    /// `(next_avail, next_used)`: where the device is in the rings.
    pub fn next_indexes(&self) -> (u16, u16) {
        (self.next_avail, self.next_used)
    }

    /// The descriptor table, for walking chains without holding the queue.
    pub fn desc_table(&self) -> DescTable {
        DescTable {
            addr: self.desc,
            size: self.size,
            indirect: self.indirect,
        }
    }

    fn check(&self) -> Result<(), QueueError> {
        if self.ready && !self.broken {
            Ok(())
        } else {
            Err(QueueError::NotReady)
        }
    }

    fn fail<T>(&mut self, e: QueueError) -> Result<T, QueueError> {
        self.broken = true;
        Err(e)
    }

    /// Takes the next head from the available ring, or `None` if the driver
    /// has made nothing new available. With EVENT_IDX, also asks the driver
    /// to notify when it makes the entry after it available (`avail_event`).
    ///
    /// Errors: see [`QueueError`]; the queue is marked broken then.
    pub fn pop<M: GuestMemory + ?Sized>(&mut self, mem: &M) -> Result<Option<u16>, QueueError> {
        self.check()?;
        match self.pop_inner(mem) {
            Ok(v) => Ok(v),
            Err(e) => self.fail(e),
        }
    }

    fn pop_inner<M: GuestMemory + ?Sized>(&mut self, mem: &M) -> Result<Option<u16>, QueueError> {
        // Acquire: the ring entries and descriptors written before idx are visible (§2.7.13.3).
        let avail_idx = mem.load_u16(self.avail + 2, Ordering::Acquire)?;
        let pending = avail_idx.wrapping_sub(self.next_avail);
        if pending == 0 {
            if self.event_idx {
                self.set_avail_event(mem)?;
            }
            return Ok(None);
        }
        if pending > self.size {
            return Err(QueueError::BadAvailIndex);
        }
        let slot = u64::from(self.next_avail % self.size);
        let head = mem.load_u16(self.avail + 4 + 2 * slot, Ordering::Relaxed)?;
        if head >= self.size {
            return Err(QueueError::BadHead);
        }
        self.next_avail = self.next_avail.wrapping_add(1);
        if self.event_idx {
            self.set_avail_event(mem)?;
        }
        Ok(Some(head))
    }

    fn set_avail_event<M: GuestMemory + ?Sized>(&self, mem: &M) -> Result<(), QueueError> {
        let at = self.used + 4 + 8 * u64::from(self.size);
        mem.store_u16(at, self.next_avail, Ordering::Relaxed)?;
        // The driver must see avail_event before we look at avail idx again (§2.7.10).
        fence(Ordering::SeqCst);
        Ok(())
    }

    /// Whether the driver made entries available that are not popped yet
    /// (re-checked after `avail_event` was published, to not lose a notification).
    ///
    /// Errors: the available ring is not in guest memory.
    pub fn has_available<M: GuestMemory + ?Sized>(&self, mem: &M) -> Result<bool, QueueError> {
        self.check()?;
        Ok(mem.load_u16(self.avail + 2, Ordering::Acquire)? != self.next_avail)
    }

    /// Publishes `(head, len)` in the used ring: writes the element, then the
    /// index with Release ordering (§2.7.8, §2.7.14). Returns whether the
    /// driver wants a used-buffer notification now (§2.7.10: `used_event` with
    /// EVENT_IDX, else `VIRTQ_AVAIL_F_NO_INTERRUPT`).
    ///
    /// Errors: see [`QueueError`]; the queue is marked broken then.
    pub fn add_used<M: GuestMemory + ?Sized>(
        &mut self,
        mem: &M,
        head: u16,
        len: u32,
    ) -> Result<bool, QueueError> {
        self.check()?;
        if head >= self.size {
            return Err(QueueError::BadHead);
        }
        match self.add_used_inner(mem, head, len) {
            Ok(v) => Ok(v),
            Err(e) => self.fail(e),
        }
    }

    fn add_used_inner<M: GuestMemory + ?Sized>(
        &mut self,
        mem: &M,
        head: u16,
        len: u32,
    ) -> Result<bool, QueueError> {
        let slot = u64::from(self.next_used % self.size);
        let elem = self.used + 4 + 8 * slot;
        mem.store_u32(elem, u32::from(head), Ordering::Relaxed)?;
        mem.store_u32(elem + 4, len, Ordering::Relaxed)?;
        let new = self.next_used.wrapping_add(1);
        mem.store_u16(self.used + 2, new, Ordering::Release)?;
        self.next_used = new;
        // The index store must be visible before we read the driver's wishes (§2.7.10).
        fence(Ordering::SeqCst);
        if self.event_idx {
            let used_event =
                mem.load_u16(self.avail + 4 + 2 * u64::from(self.size), Ordering::Relaxed)?;
            let old = self.signalled_used.replace(new);
            Ok(match old {
                None => true,
                // vring_need_event(): notify if used_event lies in (old, new].
                Some(old) => new.wrapping_sub(used_event).wrapping_sub(1) < new.wrapping_sub(old),
            })
        } else {
            let flags = mem.load_u16(self.avail, Ordering::Relaxed)?;
            Ok(flags & AVAIL_F_NO_INTERRUPT == 0)
        }
    }
}
