//! Guest memory seen from Rust: a raw view that promises nothing about
//! stability, and the volatile copies that are the only way Rust code reads
//! or writes through it (as rust-vmm vm-memory's `VolatileSlice`).
//!
//! The guest, or another worker serving an overlapping chain, may change guest
//! memory at any moment. A Rust reference (`&[u8]`, `&mut [u8]`) promises the
//! compiler that the bytes do not change (or are not seen by anyone else)
//! while it lives, so references to guest memory would be undefined
//! behaviour. A [`GuestSlice`] is a pointer and a length; bytes move in and
//! out with [`GuestSlice::read_to`] / [`GuestSlice::write_from`], volatile
//! accesses the compiler may neither elide, merge, nor repeat (the copies of
//! `arcbox-fs-iobuf`, whose [`IoBuf`] / [`IoBufMut`] views carry the same
//! addresses into the core's zero-copy batches). The header of a
//! request is therefore copied once, and what the dispatcher decides is
//! decided on its copy.

use arcbox_fs::{IoBuf, IoBufMut};
use core::ptr::NonNull;

/// `len` bytes of guest memory at a host address, valid while `'m` (the
/// borrow of the [`GuestMemory`](crate::GuestMemory) it was translated from)
/// lasts. Copying the view copies the address, not the bytes. It is an
/// [`IoBuf`] that may also be written: the chain code alone decides where.
#[derive(Clone, Copy, Debug)]
pub struct GuestSlice<'m> {
    buf: IoBuf<'m>,
}

impl<'m> GuestSlice<'m> {
    /// A view of `len` bytes at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for volatile reads and writes of `len` bytes for
    /// `'m`, and no Rust reference may cover those bytes during `'m` (the
    /// contract of [`GuestMemory::translate`](crate::GuestMemory::translate)).
    pub unsafe fn new(ptr: NonNull<u8>, len: usize) -> Self {
        GuestSlice {
            // SAFETY: the caller's contract includes `IoBuf::from_raw_parts`'s.
            buf: unsafe { IoBuf::from_raw_parts(ptr, len) },
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether the view is empty.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The host address of the first byte (for an `iovec`: the kernel may
    /// access guest memory, Rust code only through this type).
    pub fn as_ptr(&self) -> *mut u8 {
        self.buf.as_ptr().cast_mut()
    }

    /// The view of bytes `[off, off + len)`, or `None` if that is not inside.
    pub fn subslice(&self, off: usize, len: usize) -> Option<GuestSlice<'m>> {
        Some(GuestSlice {
            buf: self.buf.subslice(off, len)?,
        })
    }

    /// Whether the two views share a byte of host memory.
    pub fn overlaps(&self, other: &GuestSlice<'_>) -> bool {
        let (a, b) = (self.as_ptr() as usize, other.as_ptr() as usize);
        a < b.saturating_add(other.len()) && b < a.saturating_add(self.len())
    }

    /// The view as an [`IoBuf`], the type the core's slice batches and the
    /// hosts' `pwritev` take.
    pub fn io_buf(&self) -> IoBuf<'m> {
        self.buf
    }

    /// The view as an [`IoBufMut`], for the hosts' `preadv`.
    ///
    /// Crate-private: the caller makes sure no other writable view of these
    /// bytes is written at the same time (the chain's writable buffers
    /// overlap nothing, checked when it is resolved, and a writer lends them
    /// out one batch at a time).
    pub(crate) fn io_buf_mut(&self) -> IoBufMut<'m> {
        // SAFETY: `new`'s contract (writable during `'m`, no Rust reference)
        // and the caller's promise above.
        unsafe { IoBufMut::from_io_buf(self.buf) }
    }

    /// Copies bytes `[off, off + buf.len())` of the view into `buf`.
    ///
    /// Returns `false` (copying nothing) if the range is not inside the view.
    pub fn read_to(&self, off: usize, buf: &mut [u8]) -> bool {
        self.buf.read_to(off, buf)
    }

    /// Copies `buf` to bytes `[off, off + buf.len())` of the view.
    ///
    /// Returns `false` (copying nothing) if the range is not inside the view.
    pub fn write_from(&self, off: usize, buf: &[u8]) -> bool {
        self.io_buf_mut().write_from(off, buf)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn view(buf: &mut [u8]) -> GuestSlice<'_> {
        // SAFETY: the test's buffer is only accessed through the view below.
        unsafe { GuestSlice::new(NonNull::new(buf.as_mut_ptr()).unwrap(), buf.len()) }
    }

    #[test]
    fn copies_at_every_alignment_and_length_round_trip() {
        let mut mem = [0u8; 64];
        let g = view(&mut mem);
        let src: [u8; 40] = core::array::from_fn(|i| i as u8 + 1);
        for off in 0..9 {
            for len in [0, 1, 7, 8, 9, 17, 31] {
                assert!(g.write_from(off, &src[..len]));
                let mut out = [0u8; 40];
                assert!(g.read_to(off, &mut out[..len]));
                assert_eq!(out[..len], src[..len], "off {off} len {len}");
            }
        }
    }

    #[test]
    fn ranges_are_checked() {
        let mut mem = [0u8; 16];
        let g = view(&mut mem);
        let mut out = [0u8; 4];
        assert!(g.read_to(12, &mut out));
        assert!(!g.read_to(13, &mut out));
        assert!(!g.read_to(usize::MAX, &mut out));
        assert!(!g.write_from(usize::MAX - 1, &out));
        assert!(g.subslice(16, 0).is_some());
        assert!(g.subslice(17, 0).is_none());
        let (a, b) = (g.subslice(0, 8).unwrap(), g.subslice(8, 8).unwrap());
        assert!(!a.overlaps(&b));
        assert!(a.overlaps(&g.subslice(7, 2).unwrap()));
    }
}
