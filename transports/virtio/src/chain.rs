//! Descriptor chains (virtio 1.2 §2.7.5, §2.7.5.3): walking a chain from its
//! head through direct and indirect descriptors into [`GuestSlice`] views of
//! guest memory, and the reader / writer that present them to the FUSE core.
//!
//! A chain is refused, never followed, when it loops or is longer than the
//! queue (or its indirect table) allows, when a descriptor points outside
//! guest memory or its lengths overflow, when it nests indirect tables, places
//! a readable buffer after a writable one, or has writable buffers that
//! overlap other buffers of the chain.
//!
//! The reader and writer copy with volatile accesses ([`GuestSlice`]); the
//! core's zero-copy batches (`with_slices`, `with_slices_mut`) get the same
//! addresses as [`IoBuf`] / [`IoBufMut`] views, never Rust slices (see the
//! crate docs, "Guest memory is not Rust memory").

use crate::desc::{DESC_SIZE, Descriptor, F_INDIRECT, F_NEXT};
use crate::mem::{GuestAddress, GuestMemory, MemError, offset};
use crate::volatile::GuestSlice;
use arcbox_fs::io::{MAX_SEGMENTS, ReplySink, RequestSource};
use arcbox_fs::{Errno, IoBuf, IoBufMut};
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

/// A resolved chain: its head index and its buffers as guest memory views,
/// readable ones first. `N` bounds the number of segments (no allocation).
pub struct DescriptorChain<'m, const N: usize = DEFAULT_MAX_SEGMENTS> {
    head: u16,
    readable: HVec<GuestSlice<'m>, N>,
    writable: HVec<GuestSlice<'m>, N>,
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
            // SAFETY: `translate` promised `n` valid bytes at `p` for 'm,
            // reachable only through raw pointers (its contract).
            let seg = unsafe { GuestSlice::new(p, n) };
            if d.is_write() {
                // A writable buffer must not alias any other buffer: a reply
                // would otherwise overwrite request bytes still to be read.
                if self
                    .readable
                    .iter()
                    .chain(self.writable.iter())
                    .any(|s| s.overlaps(&seg))
                {
                    return Err(ChainError::Overlap);
                }
                self.writable
                    .push(seg)
                    .map_err(|_| ChainError::TooManySegments)?;
            } else {
                if self.writable.iter().any(|s| s.overlaps(&seg)) {
                    return Err(ChainError::Overlap);
                }
                self.readable
                    .push(seg)
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
                segs: &self.writable,
                len: self.write_len as usize,
            },
        )
    }
}

/// Presents `[off, off + len)` of `segs` to `call` in batches of at most
/// [`MAX_SEGMENTS`] views, with the stopping rules of
/// [`RequestSource::with_slices`]: stop when `call` uses less than its batch,
/// or on its error (returned only if nothing was used before). Returns the
/// bytes used; the caller has checked the range.
fn for_batches<'m>(
    segs: &[GuestSlice<'m>],
    off: usize,
    len: usize,
    call: &mut dyn FnMut(&[GuestSlice<'m>]) -> Result<usize, Errno>,
) -> Result<usize, Errno> {
    let mut skip = off;
    let mut want = len;
    let mut done = 0usize;
    let mut batch: HVec<GuestSlice<'m>, MAX_SEGMENTS> = HVec::new();
    let mut batch_len = 0usize;
    let mut flush = |batch: &mut HVec<GuestSlice<'m>, MAX_SEGMENTS>,
                     batch_len: usize,
                     done: &mut usize|
     -> Result<bool, Errno> {
        let n = match call(batch) {
            Ok(n) => n.min(batch_len),
            Err(_) if *done > 0 => return Ok(false),
            Err(e) => return Err(e),
        };
        *done += n;
        batch.clear();
        Ok(n == batch_len)
    };
    for seg in segs {
        if want == 0 {
            break;
        }
        if skip >= seg.len() {
            skip -= seg.len();
            continue;
        }
        let take = (seg.len() - skip).min(want);
        let Some(view) = seg.subslice(skip, take) else {
            break;
        };
        skip = 0;
        want -= take;
        if batch.is_full() {
            if !flush(&mut batch, batch_len, &mut done)? {
                return Ok(done);
            }
            batch_len = 0;
        }
        // Cannot fail: the batch has room (emptied just above if full).
        let _ = batch.push(view);
        batch_len += take;
    }
    if !batch.is_empty() {
        flush(&mut batch, batch_len, &mut done)?;
    }
    Ok(done)
}

fn check_range(off: usize, len: usize, total: usize, err: Errno) -> Result<(), Errno> {
    match off.checked_add(len) {
        Some(end) if end <= total => Ok(()),
        _ => Err(err),
    }
}

/// The device-readable buffers of a chain as a [`RequestSource`]. Copies
/// are volatile; batches are [`IoBuf`] views of guest memory (zero-copy).
#[derive(Debug)]
pub struct ChainReader<'c, 'm> {
    segs: &'c [GuestSlice<'m>],
    len: usize,
}

impl RequestSource for ChainReader<'_, '_> {
    fn len(&self) -> usize {
        self.len
    }

    fn read_at(&self, off: usize, buf: &mut [u8]) -> Result<(), Errno> {
        check_range(off, buf.len(), self.len, Errno::EINVAL)?;
        let mut skip = off;
        let mut done = 0usize;
        for seg in self.segs {
            if done == buf.len() {
                break;
            }
            if skip >= seg.len() {
                skip -= seg.len();
                continue;
            }
            let take = (seg.len() - skip).min(buf.len() - done);
            if !seg.read_to(skip, &mut buf[done..done + take]) {
                return Err(Errno::EINVAL);
            }
            skip = 0;
            done += take;
        }
        Ok(())
    }

    fn with_slices(
        &self,
        off: usize,
        len: usize,
        f: &mut dyn FnMut(&[IoBuf<'_>]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        check_range(off, len, self.len, Errno::EINVAL)?;
        for_batches(self.segs, off, len, &mut |batch| {
            let mut views: HVec<IoBuf<'_>, MAX_SEGMENTS> = HVec::new();
            for g in batch {
                // Cannot fail: batches hold at most `MAX_SEGMENTS` views.
                let _ = views.push(g.io_buf());
            }
            f(&views)
        })
    }
}

/// The device-writable buffers of a chain as a [`ReplySink`]. Copies are
/// volatile; batches are [`IoBufMut`] views of guest memory (zero-copy: a
/// host's `preadv` fills guest memory directly).
#[derive(Debug)]
pub struct ChainWriter<'c, 'm> {
    segs: &'c [GuestSlice<'m>],
    len: usize,
}

impl ReplySink for ChainWriter<'_, '_> {
    fn capacity(&self) -> usize {
        self.len
    }

    fn write_at(&mut self, off: usize, bytes: &[u8]) -> Result<(), Errno> {
        check_range(off, bytes.len(), self.len, Errno::ERANGE)?;
        let mut skip = off;
        let mut done = 0usize;
        for seg in self.segs {
            if done == bytes.len() {
                break;
            }
            if skip >= seg.len() {
                skip -= seg.len();
                continue;
            }
            let take = (seg.len() - skip).min(bytes.len() - done);
            if !seg.write_from(skip, &bytes[done..done + take]) {
                return Err(Errno::ERANGE);
            }
            skip = 0;
            done += take;
        }
        Ok(())
    }

    fn with_slices_mut(
        &mut self,
        off: usize,
        len: usize,
        f: &mut dyn FnMut(&mut [IoBufMut<'_>]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        check_range(off, len, self.len, Errno::ERANGE)?;
        for_batches(self.segs, off, len, &mut |batch| {
            let mut views: HVec<IoBufMut<'_>, MAX_SEGMENTS> = HVec::new();
            for g in batch {
                // The writable buffers overlap no other buffer of the chain
                // (checked in `resolve`), and `&mut self` keeps a second
                // batch from coexisting: one writable view per byte.
                // Cannot fail: batches hold at most `MAX_SEGMENTS` views.
                let _ = views.push(g.io_buf_mut());
            }
            f(&mut views)
        })
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::desc::F_WRITE;
    use crate::mem::OwnedMemory;
    use std::vec::Vec;

    const BASE: u64 = 0x1_0000;

    /// A table at `BASE` of `n` 1-byte readable descriptors then `m` 1-byte
    /// writable ones, buffers at `BASE + 0x1000 + i`.
    fn table(mem: &OwnedMemory, n: u16, m: u16) -> DescTable {
        for i in 0..n + m {
            let d = Descriptor {
                addr: BASE + 0x1000 + u64::from(i),
                len: 1,
                flags: if i + 1 < n + m { F_NEXT } else { 0 } | if i >= n { F_WRITE } else { 0 },
                next: i + 1,
            };
            mem.write(BASE + u64::from(i) * DESC_SIZE as u64, &d.to_bytes())
                .unwrap();
        }
        DescTable {
            addr: BASE,
            size: n + m,
            indirect: false,
        }
    }

    #[test]
    fn reader_and_writer_copy_across_segments_and_batches() {
        let mem = OwnedMemory::new(BASE, 0x2000).unwrap();
        let bytes: Vec<u8> = (0..40u8).collect();
        mem.write(BASE + 0x1000, &bytes).unwrap();
        let t = table(&mem, 40, 40);
        let mut chain: DescriptorChain<'_, 80> = t.resolve(&mem, 0).unwrap();
        assert_eq!((chain.readable_len(), chain.writable_len()), (40, 40));
        let (r, mut w) = chain.split();
        let mut buf = [0u8; 38];
        r.read_at(1, &mut buf).unwrap();
        assert_eq!(&buf[..], &bytes[1..39]);
        assert_eq!(r.read_at(3, &mut buf), Err(Errno::EINVAL));
        assert_eq!(r.read_at(usize::MAX, &mut buf), Err(Errno::EINVAL));
        // 39 one-byte segments: a batch of MAX_SEGMENTS then the rest.
        let mut seen = Vec::new();
        let n = r
            .with_slices(1, 39, &mut |batch| {
                assert!(batch.len() <= MAX_SEGMENTS);
                seen.push(batch.len());
                Ok(batch.iter().map(|s| s.len()).sum())
            })
            .unwrap();
        assert_eq!((n, seen), (39, std::vec![MAX_SEGMENTS, 39 - MAX_SEGMENTS]));
        // A callback that stops early ends the walk.
        let n = r.with_slices(0, 40, &mut |_| Ok(3)).unwrap();
        assert_eq!(n, 3);
        w.write_at(2, &[9; 38]).unwrap();
        assert_eq!(w.write_at(3, &[9; 38]), Err(Errno::ERANGE));
        let n = w
            .with_slices_mut(0, 2, &mut |batch| {
                for s in batch.iter_mut() {
                    let n = s.len();
                    assert!(s.fill(0, n, 7));
                }
                Ok(2)
            })
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(w.with_slices_mut(0, 41, &mut |_| Ok(0)), Err(Errno::ERANGE));
        let mut out = [0u8; 40];
        mem.read(BASE + 0x1000 + 40, &mut out).unwrap();
        assert_eq!(&out[..2], &[7, 7]);
        assert!(out[2..].iter().all(|&b| b == 9));
    }

    /// The guest may change its buffers while the core holds a zero-copy
    /// batch: the views see the change and nothing is undefined (under Miri,
    /// a Rust slice over these bytes, as the batches were before, is a
    /// borrow violation here).
    #[test]
    fn guest_changes_during_a_batch_are_seen_not_undefined() {
        let mem = OwnedMemory::new(BASE, 0x2000).unwrap();
        mem.write(BASE + 0x1000, &[1, 2, 3, 4]).unwrap();
        let t = table(&mem, 2, 2);
        let mut chain: DescriptorChain<'_, 8> = t.resolve(&mem, 0).unwrap();
        let (r, mut w) = chain.split();
        r.with_slices(0, 2, &mut |batch| {
            let mut before = [0u8; 1];
            assert!(batch[0].read_to(0, &mut before));
            // The "guest" rewrites the request byte meanwhile.
            mem.write(BASE + 0x1000, &[9]).unwrap();
            let mut after = [0u8; 1];
            assert!(batch[0].read_to(0, &mut after));
            assert_eq!((before, after), ([1], [9]));
            Ok(2)
        })
        .unwrap();
        w.with_slices_mut(0, 2, &mut |batch| {
            assert!(batch[0].write_from(0, &[7]));
            // The guest reads (and rewrites) its reply buffer meanwhile.
            let mut seen = [0u8; 1];
            mem.read(BASE + 0x1002, &mut seen).unwrap();
            mem.write(BASE + 0x1002, &[8]).unwrap();
            let mut now = [0u8; 1];
            assert!(batch[0].read_to(0, &mut now));
            assert_eq!((seen, now), ([7], [8]));
            Ok(2)
        })
        .unwrap();
    }

    #[test]
    fn writable_buffers_may_not_alias_and_segments_are_bounded() {
        let mem = OwnedMemory::new(BASE, 0x2000).unwrap();
        let t = table(&mem, 2, 2);
        // The second writable buffer onto the first readable one.
        let d = Descriptor {
            addr: BASE + 0x1000,
            len: 1,
            flags: F_WRITE,
            next: 0,
        };
        mem.write(BASE + 3 * DESC_SIZE as u64, &d.to_bytes())
            .unwrap();
        let e = t.resolve::<_, 8>(&mem, 0).unwrap_err();
        assert_eq!(e, ChainError::Overlap);
        let t = table(&mem, 4, 0);
        let e = t.resolve::<_, 3>(&mem, 0).unwrap_err();
        assert_eq!(e, ChainError::TooManySegments);
    }
}
