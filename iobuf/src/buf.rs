//! [`IoBuf`] and [`IoBufMut`]: an address and a length, accessed only by
//! volatile copies or by the kernel.

use crate::copy::{volatile_fill, volatile_read, volatile_write};
use core::marker::PhantomData;
use core::ptr::NonNull;

/// `len` readable bytes at an address, valid for `'a`, that another party
/// may change at any time. Copying the view copies the address, not the
/// bytes. See the [crate docs](crate).
#[derive(Clone, Copy, Debug)]
pub struct IoBuf<'a> {
    ptr: NonNull<u8>,
    len: usize,
    _mem: PhantomData<&'a [u8]>,
}

// SAFETY: an `IoBuf` is an address and a length whose bytes are only read,
// by volatile copies that tolerate concurrent changes; sending or sharing the
// address across threads is as sound as sharing a `&[u8]`.
unsafe impl Send for IoBuf<'_> {}
// SAFETY: as for `Send`.
unsafe impl Sync for IoBuf<'_> {}

impl<'a> IoBuf<'a> {
    /// A view of a Rust buffer.
    pub fn new(bytes: &'a [u8]) -> Self {
        IoBuf {
            ptr: NonNull::from(bytes).cast(),
            len: bytes.len(),
            _mem: PhantomData,
        }
    }

    /// A view of `len` bytes at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for volatile reads of `len` bytes during `'a`, and
    /// nothing may free or unmap them during `'a`. Others may change the
    /// bytes meanwhile; no Rust `&mut` reference may cover them.
    pub unsafe fn from_raw_parts(ptr: NonNull<u8>, len: usize) -> Self {
        IoBuf {
            ptr,
            len,
            _mem: PhantomData,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the view is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The address of the first byte, for an `iovec` handed to the kernel
    /// (`pwritev(2)`). Rust code must not form references from it.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr().cast_const()
    }

    /// The view of bytes `[off, off + len)`, or `None` if that is not inside.
    pub fn subslice(&self, off: usize, len: usize) -> Option<IoBuf<'a>> {
        Some(IoBuf {
            ptr: inside(self.ptr, self.len, off, len)?,
            len,
            _mem: PhantomData,
        })
    }

    /// Copies bytes `[off, off + buf.len())` of the view into `buf`.
    ///
    /// Returns `false` (copying nothing) if the range is not inside the view.
    pub fn read_to(&self, off: usize, buf: &mut [u8]) -> bool {
        let Some(src) = self.subslice(off, buf.len()) else {
            return false;
        };
        // SAFETY: `src` is inside the view, valid for volatile reads (the
        // constructors' contract); `buf` is a distinct Rust buffer (an
        // exclusive borrow cannot overlap bytes this view reads).
        unsafe { volatile_read(src.as_ptr(), buf) };
        true
    }
}

/// The address of bytes `[off, off + len)` of the `total` bytes at `ptr`,
/// or `None` if that range is not inside them.
fn inside(ptr: NonNull<u8>, total: usize, off: usize, len: usize) -> Option<NonNull<u8>> {
    if off.checked_add(len)? > total {
        return None;
    }
    // SAFETY: `off <= total`, so the pointer stays inside (or one past) the
    // `total` bytes at `ptr`.
    Some(unsafe { ptr.add(off) })
}

impl<'a> From<&'a [u8]> for IoBuf<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        IoBuf::new(bytes)
    }
}

/// `len` writable bytes at an address, valid for `'a`, that another party
/// may read or change at any time. Writing needs `&mut self`, so one view
/// never races with itself. See the [crate docs](crate).
#[derive(Debug)]
pub struct IoBufMut<'a> {
    ptr: NonNull<u8>,
    len: usize,
    _mem: PhantomData<&'a mut [u8]>,
}

// SAFETY: as for `IoBuf`; writes need `&mut self`, so a shared `IoBufMut`
// only reads.
unsafe impl Send for IoBufMut<'_> {}
// SAFETY: as for `Send`.
unsafe impl Sync for IoBufMut<'_> {}

impl<'a> IoBufMut<'a> {
    /// A view of a Rust buffer, borrowed exclusively for `'a`.
    pub fn new(bytes: &'a mut [u8]) -> Self {
        IoBufMut {
            len: bytes.len(),
            ptr: NonNull::from(bytes).cast(),
            _mem: PhantomData,
        }
    }

    /// A view of `len` bytes at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for volatile reads and writes of `len` bytes
    /// during `'a`, nothing may free or unmap them during `'a`, no Rust
    /// reference may cover them, and no other `IoBufMut` made for the same
    /// bytes may be written at the same time (others, such as a guest CPU,
    /// may still access them).
    pub unsafe fn from_raw_parts(ptr: NonNull<u8>, len: usize) -> Self {
        IoBufMut {
            ptr,
            len,
            _mem: PhantomData,
        }
    }

    /// The same bytes as `buf`, writable.
    ///
    /// # Safety
    ///
    /// As [`IoBufMut::from_raw_parts`] for `buf`'s address and length: the
    /// bytes must be writable for `'a`.
    pub unsafe fn from_io_buf(buf: IoBuf<'a>) -> Self {
        IoBufMut {
            ptr: buf.ptr,
            len: buf.len,
            _mem: PhantomData,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the view is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The address of the first byte, for an `iovec` handed to the kernel
    /// (`preadv(2)`). Rust code must not form references from it.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// A readable view of the same bytes, for as long as this one is
    /// borrowed.
    pub fn as_io_buf(&self) -> IoBuf<'_> {
        // SAFETY: the bytes are valid for reads while `self` is borrowed,
        // and `&self` keeps this view from being written meanwhile.
        unsafe { IoBuf::from_raw_parts(self.ptr, self.len) }
    }

    /// The view of bytes `[off, off + len)`, borrowed from this one, or
    /// `None` if that is not inside.
    pub fn subslice_mut(&mut self, off: usize, len: usize) -> Option<IoBufMut<'_>> {
        Some(IoBufMut {
            ptr: inside(self.ptr, self.len, off, len)?,
            len,
            _mem: PhantomData,
        })
    }

    /// Copies bytes `[off, off + buf.len())` of the view into `buf`.
    ///
    /// Returns `false` (copying nothing) if the range is not inside the view.
    pub fn read_to(&self, off: usize, buf: &mut [u8]) -> bool {
        self.as_io_buf().read_to(off, buf)
    }

    /// Copies `buf` to bytes `[off, off + buf.len())` of the view.
    ///
    /// Returns `false` (copying nothing) if the range is not inside the view.
    pub fn write_from(&mut self, off: usize, buf: &[u8]) -> bool {
        let Some(mut dst) = self.subslice_mut(off, buf.len()) else {
            return false;
        };
        // SAFETY: `dst` is inside the view, valid for volatile writes (the
        // constructors' contract); `buf` is a Rust buffer, and a shared
        // borrow cannot cover bytes an exclusive view may write.
        unsafe { volatile_write(dst.as_mut_ptr(), buf) };
        true
    }

    /// Sets bytes `[off, off + len)` of the view to `byte`.
    ///
    /// Returns `false` (writing nothing) if the range is not inside the view.
    pub fn fill(&mut self, off: usize, len: usize, byte: u8) -> bool {
        let Some(mut dst) = self.subslice_mut(off, len) else {
            return false;
        };
        // SAFETY: as in `write_from`.
        unsafe { volatile_fill(dst.as_mut_ptr(), len, byte) };
        true
    }
}

impl<'a> From<&'a mut [u8]> for IoBufMut<'a> {
    fn from(bytes: &'a mut [u8]) -> Self {
        IoBufMut::new(bytes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn copies_at_every_alignment_and_length_round_trip() {
        let mut mem = [0u8; 64];
        let mut g = IoBufMut::new(&mut mem);
        let src: [u8; 40] = core::array::from_fn(|i| i as u8 + 1);
        for off in 0..9 {
            for len in [0, 1, 7, 8, 9, 17, 31] {
                assert!(g.write_from(off, &src[..len]));
                let mut out = [0u8; 40];
                assert!(g.read_to(off, &mut out[..len]));
                assert_eq!(out[..len], src[..len], "off {off} len {len}");
            }
        }
        assert!(g.fill(3, 5, 0xee));
        let mut out = [0u8; 9];
        assert!(g.read_to(2, &mut out));
        assert_eq!(out[1..6], [0xee; 5]);
        assert_eq!(mem[3..8], [0xee; 5]);
    }

    #[test]
    fn ranges_are_checked() {
        let mut mem = [0u8; 16];
        let mut g = IoBufMut::new(&mut mem);
        let mut out = [0u8; 4];
        assert!(g.read_to(12, &mut out));
        assert!(!g.read_to(13, &mut out));
        assert!(!g.read_to(usize::MAX, &mut out));
        assert!(!g.write_from(usize::MAX - 1, &out));
        assert!(!g.fill(15, 2, 0));
        assert!(g.subslice_mut(16, 0).is_some());
        assert!(g.subslice_mut(17, 0).is_none());
        let r = g.as_io_buf();
        assert!(r.subslice(16, 0).is_some());
        assert!(r.subslice(8, 9).is_none());
        assert!(r.subslice(usize::MAX, 2).is_none());
    }

    #[test]
    fn views_of_rust_buffers_read_what_is_there() {
        let bytes = *b"hello, world";
        let r = IoBuf::from(&bytes[..]);
        assert_eq!(r.len(), 12);
        let mut out = [0u8; 5];
        assert!(r.subslice(7, 5).unwrap().read_to(0, &mut out));
        assert_eq!(&out, b"world");
        let empty = IoBuf::new(&[]);
        assert!(empty.is_empty());
        assert!(empty.read_to(0, &mut []));
        assert_eq!(r.as_ptr(), bytes.as_ptr());
    }
}
