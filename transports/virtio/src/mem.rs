//! Guest memory as the device sees it: checked translation of guest physical
//! address ranges to host memory (virtio 1.2 §2.7: every ring and buffer
//! address the driver hands over is a guest physical address).
//!
//! A VMM implements [`GuestMemory`] over its mappings, which may be several
//! regions (vhost-user maps one memfd region per `VHOST_USER_SET_MEM_TABLE`
//! entry). [`RegionMemory`] is that implementation over a slice of
//! [`GuestRegion`]s; [`OwnedMemory`] (with `std`) is a zeroed allocation for
//! tests.

use crate::volatile::GuestSlice;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU16, AtomicU32, Ordering};

/// A guest physical address.
pub type GuestAddress = u64;

/// Why a guest address range was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemError {
    /// Some byte of the range lies outside every region.
    OutOfRange,
    /// `addr + len` overflows the address space.
    Overflow,
    /// A ring field is not naturally aligned.
    Misaligned,
}

impl core::fmt::Display for MemError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            MemError::OutOfRange => "guest address outside guest memory",
            MemError::Overflow => "guest address range overflows",
            MemError::Misaligned => "misaligned ring field",
        })
    }
}

/// Guest memory: translation of guest physical ranges to host memory.
///
/// Only [`translate`](Self::translate) must be written; the other methods
/// (byte copies and the ring's atomic 16/32-bit accesses) build on it. A
/// memory that cannot hand out host pointers (a loom model) overrides them.
///
/// # Safety
///
/// An implementation promises that a pointer returned by `translate` for
/// `(addr, len)` with length `n` is valid for reads and writes of `n` bytes
/// for as long as `self` is borrowed, and that no Rust reference other than
/// those this crate creates from such pointers covers those bytes (the memory
/// is the guest's, shared only with the guest).
pub unsafe trait GuestMemory: Sync {
    /// Translates the start of `[addr, addr + len)`: returns the host pointer
    /// of `addr` and how many bytes from there (between 1 and `len`) are
    /// contiguous in host memory. A range spanning regions takes several
    /// calls. `len == 0` is refused like an out-of-range address when `addr`
    /// itself is outside memory.
    ///
    /// Errors: [`MemError::OutOfRange`] if `addr` is in no region,
    /// [`MemError::Overflow`] if `addr + len` overflows.
    fn translate(&self, addr: GuestAddress, len: usize) -> Result<(NonNull<u8>, usize), MemError>;

    /// Copies `buf.len()` bytes from guest address `addr` (volatile reads).
    ///
    /// Errors: as [`translate`](Self::translate), for any part of the range;
    /// `buf` is unspecified then.
    fn read(&self, addr: GuestAddress, buf: &mut [u8]) -> Result<(), MemError> {
        let mut done = 0usize;
        while done < buf.len() {
            let a = offset(addr, done)?;
            let want = buf.len() - done;
            let (p, n) = self.translate(a, want)?;
            let n = n.min(want);
            if n == 0 {
                return Err(MemError::OutOfRange);
            }
            // SAFETY: `translate` promised `n` bytes at `p` valid for 'self
            // (volatile access, no Rust reference), `GuestSlice::new`'s contract.
            let g = unsafe { GuestSlice::new(p, n) };
            g.read_to(0, &mut buf[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Copies `buf` to guest address `addr` (volatile writes).
    ///
    /// Errors: as [`translate`](Self::translate); a prefix may be written then.
    fn write(&self, addr: GuestAddress, buf: &[u8]) -> Result<(), MemError> {
        let mut done = 0usize;
        while done < buf.len() {
            let a = offset(addr, done)?;
            let want = buf.len() - done;
            let (p, n) = self.translate(a, want)?;
            let n = n.min(want);
            if n == 0 {
                return Err(MemError::OutOfRange);
            }
            // SAFETY: as in `read`.
            let g = unsafe { GuestSlice::new(p, n) };
            g.write_from(0, &buf[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Atomically loads the little-endian `u16` at `addr` (a ring index or flags).
    ///
    /// Errors: as [`translate`](Self::translate), or [`MemError::Misaligned`].
    fn load_u16(&self, addr: GuestAddress, order: Ordering) -> Result<u16, MemError> {
        let p = contiguous(self, addr, 2)?;
        // SAFETY: `p` is valid for 2 bytes (contiguous) and 2-aligned (checked
        // there); guest memory is only accessed through raw pointers and atomics.
        let a = unsafe { AtomicU16::from_ptr(p.cast::<u16>().as_ptr()) };
        Ok(u16::from_le(a.load(order)))
    }

    /// Atomically stores `v` little-endian at `addr`.
    ///
    /// Errors: as [`load_u16`](Self::load_u16).
    fn store_u16(&self, addr: GuestAddress, v: u16, order: Ordering) -> Result<(), MemError> {
        let p = contiguous(self, addr, 2)?;
        // SAFETY: as in `load_u16`.
        let a = unsafe { AtomicU16::from_ptr(p.cast::<u16>().as_ptr()) };
        a.store(v.to_le(), order);
        Ok(())
    }

    /// Atomically loads the little-endian `u32` at `addr`.
    ///
    /// Errors: as [`load_u16`](Self::load_u16).
    fn load_u32(&self, addr: GuestAddress, order: Ordering) -> Result<u32, MemError> {
        let p = contiguous(self, addr, 4)?;
        // SAFETY: `p` is valid for 4 bytes and 4-aligned (checked in `contiguous`).
        let a = unsafe { AtomicU32::from_ptr(p.cast::<u32>().as_ptr()) };
        Ok(u32::from_le(a.load(order)))
    }

    /// Atomically stores `v` little-endian at `addr`.
    ///
    /// Errors: as [`load_u16`](Self::load_u16).
    fn store_u32(&self, addr: GuestAddress, v: u32, order: Ordering) -> Result<(), MemError> {
        let p = contiguous(self, addr, 4)?;
        // SAFETY: as in `load_u32`.
        let a = unsafe { AtomicU32::from_ptr(p.cast::<u32>().as_ptr()) };
        a.store(v.to_le(), order);
        Ok(())
    }
}

/// `addr + off`, checked.
pub(crate) fn offset(addr: GuestAddress, off: usize) -> Result<GuestAddress, MemError> {
    u64::try_from(off)
        .ok()
        .and_then(|o| addr.checked_add(o))
        .ok_or(MemError::Overflow)
}

/// The host pointer of `[addr, addr + size)`, which must be contiguous in
/// host memory and `size`-aligned in both address spaces.
fn contiguous<M: GuestMemory + ?Sized>(
    mem: &M,
    addr: GuestAddress,
    size: usize,
) -> Result<NonNull<u8>, MemError> {
    if addr % size as u64 != 0 {
        return Err(MemError::Misaligned);
    }
    let (p, n) = mem.translate(addr, size)?;
    if n < size {
        return Err(MemError::OutOfRange);
    }
    if (p.as_ptr() as usize) % size != 0 {
        return Err(MemError::Misaligned);
    }
    Ok(p)
}

/// One contiguous mapping of guest physical memory into the host.
#[derive(Clone, Copy, Debug)]
pub struct GuestRegion<'a> {
    guest_base: GuestAddress,
    host: NonNull<u8>,
    len: usize,
    _borrow: core::marker::PhantomData<&'a mut [u8]>,
}

impl<'a> GuestRegion<'a> {
    /// A region mapping guest addresses `[guest_base, guest_base + bytes.len())`
    /// onto `bytes`.
    ///
    /// Returns `None` if the guest range overflows.
    pub fn from_slice(guest_base: GuestAddress, bytes: &'a mut [u8]) -> Option<Self> {
        guest_base.checked_add(u64::try_from(bytes.len()).ok()?)?;
        Some(GuestRegion {
            guest_base,
            host: NonNull::new(bytes.as_mut_ptr())?,
            len: bytes.len(),
            _borrow: core::marker::PhantomData,
        })
    }

    /// A region over `len` bytes of host memory at `host` (an `mmap` of guest
    /// RAM, a memfd region received over vhost-user).
    ///
    /// Returns `None` if the guest range overflows.
    ///
    /// # Safety
    ///
    /// `host` must be valid for reads and writes of `len` bytes for `'a`, and
    /// not be accessed through Rust references while the region is used.
    pub unsafe fn from_raw(
        guest_base: GuestAddress,
        host: NonNull<u8>,
        len: usize,
    ) -> Option<Self> {
        guest_base.checked_add(u64::try_from(len).ok()?)?;
        Some(GuestRegion {
            guest_base,
            host,
            len,
            _borrow: core::marker::PhantomData,
        })
    }

    /// First guest address of the region.
    pub fn guest_base(&self) -> GuestAddress {
        self.guest_base
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the region is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn translate(&self, addr: GuestAddress, len: usize) -> Option<(NonNull<u8>, usize)> {
        let off = usize::try_from(addr.checked_sub(self.guest_base)?).ok()?;
        if off >= self.len {
            return None;
        }
        let n = len.min(self.len - off);
        // SAFETY: `off < self.len`, so the result stays inside the mapping.
        Some((unsafe { self.host.add(off) }, n))
    }
}

/// Guest memory made of several [`GuestRegion`]s (looked up linearly).
#[derive(Clone, Copy, Debug)]
pub struct RegionMemory<'r, 'a> {
    regions: &'r [GuestRegion<'a>],
}

impl<'r, 'a> RegionMemory<'r, 'a> {
    /// Memory over `regions`; overlapping regions resolve to the first.
    pub fn new(regions: &'r [GuestRegion<'a>]) -> Self {
        RegionMemory { regions }
    }
}

// SAFETY: regions are plain pointers into memory valid for 'a (their
// constructors' contracts); sharing them across threads shares only addresses.
unsafe impl Send for GuestRegion<'_> {}
// SAFETY: as above; all access goes through `GuestMemory`'s checked methods.
unsafe impl Sync for GuestRegion<'_> {}

// SAFETY: `GuestRegion::translate` returns pointers inside a region whose
// validity for 'a its constructor guaranteed; lengths are clamped to the region.
unsafe impl GuestMemory for RegionMemory<'_, '_> {
    fn translate(&self, addr: GuestAddress, len: usize) -> Result<(NonNull<u8>, usize), MemError> {
        if u64::try_from(len)
            .ok()
            .and_then(|l| addr.checked_add(l))
            .is_none()
        {
            return Err(MemError::Overflow);
        }
        self.regions
            .iter()
            .find_map(|r| r.translate(addr, len))
            .ok_or(MemError::OutOfRange)
    }
}

#[cfg(feature = "std")]
pub use owned::OwnedMemory;

#[cfg(feature = "std")]
mod owned {
    use super::{GuestAddress, GuestMemory, GuestRegion, MemError};
    use core::ptr::NonNull;
    use std::alloc::{Layout, alloc_zeroed, dealloc};

    /// Zeroed, page-aligned host memory posing as one guest region at a guest
    /// base address: the plain implementation for tests and examples.
    #[derive(Debug)]
    pub struct OwnedMemory {
        region: GuestRegion<'static>,
        layout: Layout,
    }

    impl OwnedMemory {
        /// `len` zeroed bytes at guest address `guest_base`. Returns `None`
        /// for an empty or overflowing range, or if allocation fails.
        pub fn new(guest_base: GuestAddress, len: usize) -> Option<Self> {
            if len == 0 {
                return None;
            }
            let layout = Layout::from_size_align(len, 4096).ok()?;
            // SAFETY: `layout` has non-zero size.
            let p = NonNull::new(unsafe { alloc_zeroed(layout) })?;
            // SAFETY: `p` is a fresh allocation of `len` bytes, owned by this
            // value until `drop`, reachable only through `GuestMemory`.
            match unsafe { GuestRegion::from_raw(guest_base, p, len) } {
                Some(region) => Some(OwnedMemory { region, layout }),
                None => {
                    // SAFETY: allocated just above with `layout`.
                    unsafe { dealloc(p.as_ptr(), layout) };
                    None
                }
            }
        }

        /// The region (guest base, length).
        pub fn region(&self) -> &GuestRegion<'static> {
            &self.region
        }
    }

    impl Drop for OwnedMemory {
        fn drop(&mut self) {
            // SAFETY: allocated in `new` with `self.layout`; no region outlives `self`.
            unsafe { dealloc(self.region.host.as_ptr(), self.layout) };
        }
    }

    // SAFETY: delegates to the region, whose pointer is valid while `self` lives.
    unsafe impl GuestMemory for OwnedMemory {
        fn translate(
            &self,
            addr: GuestAddress,
            len: usize,
        ) -> Result<(NonNull<u8>, usize), MemError> {
            super::RegionMemory::new(core::slice::from_ref(&self.region)).translate(addr, len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation_is_checked_and_split_across_regions() {
        let mut a = [0u8; 16];
        let mut b = [0u8; 16];
        let regions = [
            GuestRegion::from_slice(0x1000, &mut a).unwrap(),
            GuestRegion::from_slice(0x1010, &mut b).unwrap(),
        ];
        let mem = RegionMemory::new(&regions);
        let (_, n) = mem.translate(0x1008, 16).unwrap();
        assert_eq!(n, 8);
        mem.write(0x1008, &[7u8; 16]).unwrap();
        let mut buf = [0u8; 16];
        mem.read(0x1008, &mut buf).unwrap();
        assert_eq!(buf, [7u8; 16]);
        assert_eq!(mem.translate(0x0fff, 1), Err(MemError::OutOfRange));
        assert_eq!(mem.read(0x1018, &mut buf), Err(MemError::OutOfRange));
        assert_eq!(mem.translate(u64::MAX, 2), Err(MemError::Overflow));
        assert_eq!(
            mem.load_u16(0x1001, Ordering::Acquire),
            Err(MemError::Misaligned)
        );
    }

    #[cfg(feature = "std")]
    #[test]
    fn owned_memory_round_trips_ring_words() {
        let mem = OwnedMemory::new(0x8000, 4096).unwrap();
        mem.store_u32(0x8004, 0xdead_beef, Ordering::Release)
            .unwrap();
        assert_eq!(mem.load_u32(0x8004, Ordering::Acquire), Ok(0xdead_beef));
        assert_eq!(mem.load_u16(0x8004, Ordering::Acquire), Ok(0xbeef));
        assert_eq!(
            mem.load_u32(0x9000, Ordering::Acquire),
            Err(MemError::OutOfRange)
        );
    }
}
