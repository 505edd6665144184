//! The memory of one ring entry: a page for the `fuse_uring_req_header` and
//! the payload right after it, in one anonymous mapping that the kernel
//! reads and writes while the entry is on its side.
//!
//! Ownership protocol: an entry belongs either to the kernel (from the SQE
//! that hands it over until its CQE) or to exactly one thread of ours (the
//! queue thread, or the side thread it handed a blocking request to). Only
//! the owner forms slices of the memory, and only between the CQE and the
//! next submission; that is what makes [`EntryBuf::parts`] sound.

use super::abi::REQ_HEADER_LEN;
use std::io;
use std::ptr::NonNull;

/// Page size (the header gets a page of its own, page-aligned as the
/// kernel's page pinning prefers).
const PAGE: usize = 4096;

/// One entry's header and payload buffers.
#[derive(Debug)]
pub(crate) struct EntryBuf {
    base: NonNull<u8>,
    payload_len: usize,
    /// The two iovecs REGISTER points the kernel at (kept here so that they
    /// outlive the submission).
    iov: [libc::iovec; 2],
}

// SAFETY: the mapping is plain memory owned by this value; access follows
// the ownership protocol of the module docs (one owner at a time, handed
// over through the ring or a mutex-protected list, which order the
// accesses).
unsafe impl Send for EntryBuf {}
// SAFETY: shared references only hand out raw pointers (`iov`); slices need
// the `unsafe` `parts`, whose contract is the ownership protocol.
unsafe impl Sync for EntryBuf {}

impl EntryBuf {
    /// Maps a header page and `payload_len` payload bytes.
    ///
    /// Errors: `mmap(2)` errors (`ENOMEM`).
    pub(crate) fn new(payload_len: usize) -> io::Result<EntryBuf> {
        let len = PAGE
            .checked_add(payload_len.next_multiple_of(PAGE))
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: an anonymous private mapping at an address the kernel
        // chooses; no existing memory is affected.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base =
            NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave NULL"))?;
        // SAFETY: `PAGE` is inside the mapping of `len > PAGE` bytes.
        let payload = unsafe { base.as_ptr().add(PAGE) };
        Ok(EntryBuf {
            base,
            payload_len,
            iov: [
                libc::iovec {
                    iov_base: base.as_ptr().cast(),
                    iov_len: REQ_HEADER_LEN,
                },
                libc::iovec {
                    iov_base: payload.cast(),
                    iov_len: payload_len,
                },
            ],
        })
    }

    /// The iovecs for `FUSE_IO_URING_CMD_REGISTER`.
    pub(crate) fn iov(&self) -> *const libc::iovec {
        self.iov.as_ptr()
    }

    /// The header and payload buffers.
    ///
    /// # Safety
    ///
    /// The caller owns the entry (module docs): the kernel has completed
    /// the last command for it and no other thread uses it, for as long as
    /// the slices live.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn parts(&self) -> (&mut [u8], &mut [u8]) {
        // SAFETY: both ranges are inside the mapping and disjoint (the
        // header is in the first page, the payload starts after it); the
        // caller guarantees exclusive access (see above).
        unsafe {
            (
                std::slice::from_raw_parts_mut(self.base.as_ptr(), REQ_HEADER_LEN),
                std::slice::from_raw_parts_mut(self.base.as_ptr().add(PAGE), self.payload_len),
            )
        }
    }
}

impl Drop for EntryBuf {
    fn drop(&mut self) {
        let len = PAGE + self.payload_len.next_multiple_of(PAGE);
        // SAFETY: unmaps exactly the mapping made in `new`; no slice of it
        // outlives `self` (they borrow it).
        unsafe { libc::munmap(self.base.as_ptr().cast(), len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_payload_are_disjoint_and_sized() {
        let b = EntryBuf::new(10_000).unwrap();
        // SAFETY: the test owns the entry; nothing else sees it.
        let (h, p) = unsafe { b.parts() };
        assert_eq!(h.len(), REQ_HEADER_LEN);
        assert_eq!(p.len(), 10_000);
        h.fill(1);
        p.fill(2);
        assert!(h.iter().all(|&x| x == 1));
        // SAFETY: iov points at the two buffers just checked.
        let iov = unsafe { std::slice::from_raw_parts(b.iov(), 2) };
        assert_eq!(iov[0].iov_base.cast::<u8>(), h.as_mut_ptr());
        assert_eq!(iov[1].iov_base.cast::<u8>(), p.as_mut_ptr());
        assert_eq!(iov[1].iov_len, 10_000);
        assert_eq!(iov[0].iov_base as usize % PAGE, 0);
    }
}
