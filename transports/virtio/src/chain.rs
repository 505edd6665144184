//! Descriptor chains (virtio 1.2 §2.7.5, §2.7.5.3): walking a chain from its
//! head through direct and indirect descriptors into host slices, and the
//! reader / writer that present them to the FUSE core.
//!
//! A chain is refused, never followed, when it loops or is longer than the
//! queue (or its indirect table) allows, when a descriptor points outside
//! guest memory or its lengths overflow, when it nests indirect tables, places
//! a readable buffer after a writable one, or has writable buffers that
//! overlap other buffers of the chain (which would alias `&mut` slices).

use crate::desc::{DESC_SIZE, Descriptor, F_INDIRECT, F_NEXT};
use crate::mem::{GuestAddress, GuestMemory, MemError, offset};
use arcbox_fs::Errno;
use arcbox_fs::io::{ReplySink, RequestSource, SgList, SgListMut};
use heapless::Vec as HVec;

/// Default segment capacity of a chain: a 1 MiB WRITE or READ in 4 KiB pages
/// (256) plus headers, with room for region splits.
pub const DEFAULT_MAX_SEGMENTS: usize = 272;

/// Why a chain was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainError {
    /// A descriptor index is not below the table's size.
    BadIndex,
    /// More descriptors than the table holds: a loop or an over-long chain.
    TooLong,
    /// An indirect descriptor without `VIRTIO_F_INDIRECT_DESC`, with `F_NEXT`,
    /// with a length that is zero or not a multiple of 16, or nested in another.
    BadIndirect,
    /// A device-readable descriptor after a device-writable one (§2.7.4.2).
    ReadAfterWrite,
    /// The total readable or writable length exceeds `u32::MAX`.
    LengthOverflow,
    /// More host segments than the chain can hold.
    TooManySegments,
    /// A writable buffer overlaps another buffer of the chain.
    Overlap,
    /// A buffer or table is not in guest memory.
    Memory(MemError),
}

impl From<MemError> for ChainError {
    fn from(e: MemError) -> Self {
        ChainError::Memory(e)
    }
}

/// Where a queue's descriptor table is and what it may contain: everything
/// needed to walk a chain, copied out of the queue so that walking needs no lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DescTable {
    /// Guest address of the table.
    pub addr: GuestAddress,
    /// Number of entries (the queue size).
    pub size: u16,
    /// Whether `VIRTIO_F_INDIRECT_DESC` was negotiated.
    pub indirect: bool,
}

/// A resolved chain: its head index and its buffers as host slices, readable
/// ones first. `N` bounds the number of segments (no allocation).
pub struct DescriptorChain<'m, const N: usize = DEFAULT_MAX_SEGMENTS> {
    head: u16,
    readable: HVec<&'m [u8], N>,
    writable: HVec<&'m mut [u8], N>,
    read_len: u32,
    write_len: u32,
}

impl<const N: usize> core::fmt::Debug for DescriptorChain<'_, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DescriptorChain")
            .field("head", &self.head)
            .field("readable", &self.readable.len())
            .field("writable", &self.writable.len())
            .field("read_len", &self.read_len)
            .field("write_len", &self.write_len)
            .finish()
    }
}

impl DescTable {
    /// Walks the chain starting at `head` and maps its buffers.
    ///
    /// Errors: see [`ChainError`]; nothing is followed past the first error.
    pub fn resolve<'m, M: GuestMemory + ?Sized, const N: usize>(
        &self,
        mem: &'m M,
        head: u16,
    ) -> Result<DescriptorChain<'m, N>, ChainError> {
        let mut chain = DescriptorChain {
            head,
            readable: HVec::new(),
            writable: HVec::new(),
            read_len: 0,
            write_len: 0,
        };
        let mut index = head;
        // Each table entry may be visited once; a longer walk is a loop.
        let mut budget = self.size;
        loop {
            if index >= self.size {
                return Err(ChainError::BadIndex);
            }
            budget = budget.checked_sub(1).ok_or(ChainError::TooLong)?;
            let d = Descriptor::read(mem, self.addr, index)?;
            if d.flags & F_INDIRECT != 0 {
                // §2.7.5.3.1: no F_NEXT with F_INDIRECT, so the table ends the chain.
                if !self.indirect || d.flags & F_NEXT != 0 {
                    return Err(ChainError::BadIndirect);
                }
                return self.walk_indirect(mem, &d, chain);
            }
            chain.push(mem, &d)?;
            if d.flags & F_NEXT == 0 {
                return Ok(chain);
            }
            index = d.next;
        }
    }

    fn walk_indirect<'m, M: GuestMemory + ?Sized, const N: usize>(
        &self,
        mem: &'m M,
        d: &Descriptor,
        mut chain: DescriptorChain<'m, N>,
    ) -> Result<DescriptorChain<'m, N>, ChainError> {
        let len = d.len as usize;
        if len == 0 || len % DESC_SIZE != 0 {
            return Err(ChainError::BadIndirect);
        }
        let count = u16::try_from(len / DESC_SIZE).map_err(|_| ChainError::TooLong)?;
        // The whole table must be guest memory before any entry is used.
        offset(d.addr, len)?;
        let mut index = 0u16;
        let mut budget = count;
        loop {
            if index >= count {
                return Err(ChainError::BadIndex);
            }
            budget = budget.checked_sub(1).ok_or(ChainError::TooLong)?;
            let e = Descriptor::read(mem, d.addr, index)?;
            // §2.7.5.3.1: a table must not contain indirect descriptors.
            if e.flags & F_INDIRECT != 0 {
                return Err(ChainError::BadIndirect);
            }
            chain.push(mem, &e)?;
            if e.flags & F_NEXT == 0 {
                return Ok(chain);
            }
            index = e.next;
        }
    }
}

impl<'m, const N: usize> DescriptorChain<'m, N> {
    fn push<M: GuestMemory + ?Sized>(
        &mut self,
        mem: &'m M,
        d: &Descriptor,
    ) -> Result<(), ChainError> {
        if d.is_write() {
            self.write_len = self
                .write_len
                .checked_add(d.len)
                .ok_or(ChainError::LengthOverflow)?;
        } else {
            if !self.writable.is_empty() {
                return Err(ChainError::ReadAfterWrite);
            }
            self.read_len = self
                .read_len
                .checked_add(d.len)
                .ok_or(ChainError::LengthOverflow)?;
        }
        let total = d.len as usize;
        offset(d.addr, total)?;
        let mut done = 0usize;
        while done < total {
            let addr = offset(d.addr, done)?;
            let (p, n) = mem.translate(addr, total - done)?;
            let n = n.min(total - done);
            if n == 0 {
                return Err(ChainError::Memory(MemError::OutOfRange));
            }
            done += n;
            if d.is_write() {
                let start = p.as_ptr() as usize;
                let end = start.checked_add(n).ok_or(ChainError::LengthOverflow)?;
                let overlaps = |s: &[u8]| {
                    let a = s.as_ptr() as usize;
                    a < end && start < a.saturating_add(s.len())
                };
                if self.readable.iter().any(|s| overlaps(s))
                    || self.writable.iter().any(|s| overlaps(s))
                {
                    return Err(ChainError::Overlap);
                }
                // SAFETY: `translate` promised `n` valid bytes at `p` for 'm;
                // the range overlaps no other slice of this chain (checked
                // above), and the driver hands the buffer to the device until
                // it is returned in the used ring (§2.7.13), so this is the
                // only reference the device makes to these bytes.
                let s = unsafe { core::slice::from_raw_parts_mut(p.as_ptr(), n) };
                self.writable
                    .push(s)
                    .map_err(|_| ChainError::TooManySegments)?;
            } else {
                let start = p.as_ptr() as usize;
                let end = start.checked_add(n).ok_or(ChainError::LengthOverflow)?;
                if self.writable.iter().any(|s| {
                    let a = s.as_ptr() as usize;
                    a < end && start < a.saturating_add(s.len())
                }) {
                    return Err(ChainError::Overlap);
                }
                // SAFETY: `translate` promised `n` valid bytes at `p` for 'm;
                // no `&mut` slice of this chain covers them (checked above).
                let s = unsafe { core::slice::from_raw_parts(p.as_ptr(), n) };
                self.readable
                    .push(s)
                    .map_err(|_| ChainError::TooManySegments)?;
            }
        }
        Ok(())
    }

    /// The head descriptor index (the id of the used ring element).
    pub fn head(&self) -> u16 {
        self.head
    }

    /// Total device-readable bytes.
    pub fn readable_len(&self) -> u32 {
        self.read_len
    }

    /// Total device-writable bytes.
    pub fn writable_len(&self) -> u32 {
        self.write_len
    }

    /// The request reader and the reply writer, borrowed together.
    pub fn split(&mut self) -> (ChainReader<'_, 'm>, ChainWriter<'_, 'm>) {
        (
            ChainReader {
                segs: &self.readable,
                len: self.read_len as usize,
            },
            ChainWriter {
                segs: &mut self.writable,
                len: self.write_len as usize,
            },
        )
    }
}

/// The device-readable buffers of a chain as a [`RequestSource`] (zero-copy:
/// slice batches point into guest memory).
#[derive(Debug)]
pub struct ChainReader<'c, 'm> {
    segs: &'c [&'m [u8]],
    len: usize,
}

impl RequestSource for ChainReader<'_, '_> {
    fn len(&self) -> usize {
        self.len
    }

    fn read_at(&self, off: usize, buf: &mut [u8]) -> Result<(), Errno> {
        SgList::new(self.segs).read_at(off, buf)
    }

    fn with_slices(
        &self,
        off: usize,
        len: usize,
        f: &mut dyn FnMut(&[&[u8]]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        SgList::new(self.segs).with_slices(off, len, f)
    }
}

/// The device-writable buffers of a chain as a [`ReplySink`] (zero-copy: a
/// host's `preadv` fills guest memory directly).
#[derive(Debug)]
pub struct ChainWriter<'c, 'm> {
    segs: &'c mut [&'m mut [u8]],
    len: usize,
}

impl ReplySink for ChainWriter<'_, '_> {
    fn capacity(&self) -> usize {
        self.len
    }

    fn write_at(&mut self, off: usize, bytes: &[u8]) -> Result<(), Errno> {
        SgListMut::new(self.segs).write_at(off, bytes)
    }

    fn with_slices_mut(
        &mut self,
        off: usize,
        len: usize,
        f: &mut dyn FnMut(&mut [&mut [u8]]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        SgListMut::new(self.segs).with_slices_mut(off, len, f)
    }
}
