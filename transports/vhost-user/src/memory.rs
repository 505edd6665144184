//! Guest memory shared by the vhost-user frontend: the regions of
//! `SET_MEM_TABLE` / `ADD_MEM_REG`, each an `mmap` of the file descriptor the
//! frontend sent (a memfd for QEMU's `memory-backend-memfd,share=on`).
//!
//! [`MemoryMap`] implements `arcbox_fs_virtio::GuestMemory` over guest
//! physical addresses (what descriptors carry) and translates the frontend's
//! user addresses (what `SET_VRING_ADDR` carries) to guest physical ones.

use arcbox_fs_virtio::{GuestAddress, GuestMemory, GuestRegion, MemError, RegionMemory};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;
use std::sync::Arc;

/// Most regions one memory table may hold (QEMU sends at most 8 in
/// `SET_MEM_TABLE`, and up to `VHOST_USER_MAX_RAM_SLOTS` = 509 with
/// `CONFIGURE_MEM_SLOTS`).
pub const MAX_REGIONS: usize = 509;

/// One region as the frontend describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionSpec {
    /// First guest physical address.
    pub guest_phys_addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// The frontend's virtual address of the region's first byte.
    pub user_addr: u64,
    /// Where the region starts in the file.
    pub mmap_offset: u64,
}

/// One region mapped into this process; unmapped on drop.
#[derive(Debug)]
pub struct MappedRegion {
    spec: RegionSpec,
    /// Start of the whole mapping (`mmap_offset` bytes before the region).
    base: NonNull<u8>,
    /// Length of the whole mapping.
    map_len: usize,
}

// SAFETY: the mapping is process memory shared with the guest; the pointer is
// only an address, and every access goes through `GuestMemory`'s checked,
// raw-pointer methods, which tolerate concurrent access by the guest.
unsafe impl Send for MappedRegion {}
// SAFETY: as above.
unsafe impl Sync for MappedRegion {}

impl MappedRegion {
    /// Maps `spec` from `file` (shared, read-write).
    ///
    /// Errors: `EINVAL` for an empty region or one whose bounds overflow or
    /// do not fit this address space, or `mmap`'s error.
    pub fn map(spec: RegionSpec, file: &File) -> io::Result<MappedRegion> {
        let invalid = || io::Error::from_raw_os_error(libc::EINVAL);
        if spec.size == 0
            || spec.guest_phys_addr.checked_add(spec.size).is_none()
            || spec.user_addr.checked_add(spec.size).is_none()
        {
            return Err(invalid());
        }
        let map_len = spec
            .mmap_offset
            .checked_add(spec.size)
            .ok_or_else(invalid)?;
        let map_len = usize::try_from(map_len).map_err(|_| invalid())?;
        if usize::try_from(spec.size).is_err() || isize::try_from(map_len).is_err() {
            return Err(invalid());
        }
        // Map from file offset 0 so the offset needs no page alignment; the
        // region starts `mmap_offset` bytes in.
        // SAFETY: a fresh shared mapping chosen by the kernel (no fixed
        // address), so no existing memory is affected; the fd is valid for the call.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(p.cast::<u8>()).ok_or_else(invalid)?;
        Ok(MappedRegion {
            spec,
            base,
            map_len,
        })
    }

    /// The frontend's description of the region.
    pub fn spec(&self) -> &RegionSpec {
        &self.spec
    }

    /// The host address of the region's first byte and its length.
    fn host_range(&self) -> Option<(NonNull<u8>, usize)> {
        let off = usize::try_from(self.spec.mmap_offset).ok()?;
        let len = usize::try_from(self.spec.size).ok()?;
        // SAFETY: `map` checked that `mmap_offset + size == map_len` fits, so
        // the pointer stays inside the mapping.
        Some((unsafe { self.base.add(off) }, len))
    }
}

impl Drop for MappedRegion {
    fn drop(&mut self) {
        // SAFETY: `base`/`map_len` are exactly the mapping made in `map`; no
        // `GuestRegion` borrowing it can outlive `self`.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.map_len) };
    }
}

/// The guest memory of one memory table: every mapped region.
pub struct MemoryMap {
    /// `GuestRegion`s over `mapped`'s mappings, which stay at the same
    /// addresses until `mapped` drops (after this field: declaration order).
    /// Hence `'static` here; they are never handed out beyond a borrow of `self`.
    regions: Vec<GuestRegion<'static>>,
    mapped: Vec<Arc<MappedRegion>>,
}

impl std::fmt::Debug for MemoryMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.mapped.iter().map(|m| m.spec))
            .finish()
    }
}

impl MemoryMap {
    /// An empty map (before the first memory table): every access fails.
    pub fn empty() -> MemoryMap {
        MemoryMap {
            mapped: Vec::new(),
            regions: Vec::new(),
        }
    }

    /// A map over `mapped`.
    ///
    /// Errors: `EINVAL` if there are more than [`MAX_REGIONS`] regions or a
    /// region is too large for this address space.
    pub fn new(mapped: Vec<Arc<MappedRegion>>) -> io::Result<MemoryMap> {
        if mapped.len() > MAX_REGIONS {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let mut regions = Vec::with_capacity(mapped.len());
        for m in &mapped {
            let bad = || io::Error::from_raw_os_error(libc::EINVAL);
            let (host, len) = m.host_range().ok_or_else(bad)?;
            // SAFETY: `[host, host + len)` lies in a live read-write mapping
            // that is unmapped only when `mapped` drops, after `regions`
            // (field order); the regions are only reachable through `&self`,
            // and this crate never makes Rust references into guest memory.
            let r = unsafe { GuestRegion::from_raw(m.spec.guest_phys_addr, host, len) }
                .ok_or_else(bad)?;
            regions.push(r);
        }
        Ok(MemoryMap { mapped, regions })
    }

    /// The mapped regions, in table order (shared with later tables that
    /// keep them: `ADD_MEM_REG` / `REM_MEM_REG`).
    pub fn mapped(&self) -> &[Arc<MappedRegion>] {
        &self.mapped
    }

    /// Translates a frontend virtual address (`SET_VRING_ADDR`) to a guest
    /// physical address.
    pub fn user_to_guest(&self, user_addr: u64) -> Option<GuestAddress> {
        self.mapped.iter().find_map(|m| {
            let off = user_addr.checked_sub(m.spec.user_addr)?;
            (off < m.spec.size).then(|| m.spec.guest_phys_addr + off)
        })
    }
}

// SAFETY: translation is `RegionMemory`'s over regions whose mappings live as
// long as `self` (see `MemoryMap::new`).
unsafe impl GuestMemory for MemoryMap {
    fn translate(&self, addr: GuestAddress, len: usize) -> Result<(NonNull<u8>, usize), MemError> {
        RegionMemory::new(&self.regions).translate(addr, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn memfd(len: usize) -> File {
        // SAFETY: a valid NUL-terminated name; the returned fd is owned below.
        let fd = unsafe { libc::memfd_create(c"arcbox-test".as_ptr(), 0) };
        assert!(fd >= 0);
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let f: File = unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) };
        f.set_len(len as u64).expect("set_len");
        f
    }

    #[test]
    fn maps_regions_and_translates_both_address_kinds() {
        let mut f = memfd(0x3000);
        f.write_all(&[0u8; 0x1000]).expect("write");
        f.write_all(b"guest bytes").expect("write");
        let spec = RegionSpec {
            guest_phys_addr: 0x10_0000,
            size: 0x2000,
            user_addr: 0x7f00_0000,
            mmap_offset: 0x1000,
        };
        let map =
            MemoryMap::new(vec![Arc::new(MappedRegion::map(spec, &f).expect("map"))]).expect("new");
        let mut buf = [0u8; 11];
        map.read(0x10_0000, &mut buf).expect("read");
        assert_eq!(&buf, b"guest bytes");
        assert_eq!(map.user_to_guest(0x7f00_0010), Some(0x10_0010));
        assert_eq!(map.user_to_guest(0x7f00_2000), None);
        assert_eq!(map.read(0x10_1ffc, &mut buf), Err(MemError::OutOfRange));
        map.write(0x10_1000, b"xyz").expect("write");
        let mut back = [0u8; 3];
        map.read(0x10_1000, &mut back).expect("read");
        assert_eq!(&back, b"xyz");
    }

    #[test]
    fn refuses_overflowing_regions() {
        let f = memfd(0x1000);
        let spec = RegionSpec {
            guest_phys_addr: u64::MAX - 10,
            size: 0x1000,
            user_addr: 0,
            mmap_offset: 0,
        };
        assert!(MappedRegion::map(spec, &f).is_err());
        let spec = RegionSpec {
            guest_phys_addr: 0,
            size: 0,
            user_addr: 0,
            mmap_offset: 0,
        };
        assert!(MappedRegion::map(spec, &f).is_err());
        let spec = RegionSpec {
            guest_phys_addr: 0,
            size: 0x1000,
            user_addr: 0,
            mmap_offset: u64::MAX,
        };
        assert!(MappedRegion::map(spec, &f).is_err());
    }

    #[test]
    fn later_tables_share_mappings() {
        let f = memfd(0x2000);
        let a = RegionSpec {
            guest_phys_addr: 0,
            size: 0x1000,
            user_addr: 0x1000,
            mmap_offset: 0,
        };
        let b = RegionSpec {
            guest_phys_addr: 0x1000,
            size: 0x1000,
            user_addr: 0x2000,
            mmap_offset: 0x1000,
        };
        let first =
            MemoryMap::new(vec![Arc::new(MappedRegion::map(a, &f).expect("map"))]).expect("new");
        let mut both = first.mapped().to_vec();
        both.push(Arc::new(MappedRegion::map(b, &f).expect("map")));
        let second = MemoryMap::new(both).expect("new");
        second.write(0x10, b"shared").expect("write");
        drop(second);
        // The first table still maps region a after the second one is gone.
        let mut buf = [0u8; 6];
        first.read(0x10, &mut buf).expect("read");
        assert_eq!(&buf, b"shared");
        assert_eq!(first.user_to_guest(0x2004), None);
    }
}
