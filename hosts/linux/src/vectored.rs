//! `preadv` / `pwritev` over any number of buffers, without allocating.
//!
//! The buffers come from the transport (guest memory, possibly many
//! segments); they are passed to the kernel in batches of at most
//! [`MAX_IOV`] `iovec`s built on the stack. A short transfer ends the
//! operation, as it would for a single call.

use rustix::fd::BorrowedFd;
use rustix::io::{self, IoSlice, IoSliceMut};

/// `iovec`s per system call (well below `UIO_MAXIOV`, 1024).
const MAX_IOV: usize = 64;

/// Reads at `offset` into `bufs`; returns the bytes read (0 at end of file).
///
/// See [preadv(2)](https://man7.org/linux/man-pages/man2/preadv.2.html).
pub(crate) fn read_at(
    fd: BorrowedFd<'_>,
    mut offset: u64,
    bufs: &mut [&mut [u8]],
) -> io::Result<usize> {
    let mut total = 0usize;
    let mut rest = bufs;
    while !rest.is_empty() {
        let n = rest.len().min(MAX_IOV);
        let (head, tail) = rest.split_at_mut(n);
        let want = head.iter().fold(0usize, |a, b| a.saturating_add(b.len()));
        let mut iov: [IoSliceMut<'_>; MAX_IOV] = std::array::from_fn(|_| IoSliceMut::new(&mut []));
        for (slot, b) in iov.iter_mut().zip(head.iter_mut()) {
            *slot = IoSliceMut::new(b);
        }
        let got = match io::retry_on_intr(|| rustix::io::preadv(fd, &mut iov[..n], offset)) {
            Ok(got) => got,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total = total.saturating_add(got);
        offset = offset.checked_add(got as u64).ok_or(io::Errno::OVERFLOW)?;
        if got < want {
            break;
        }
        rest = tail;
    }
    Ok(total)
}

/// Writes `bufs` at `offset`; returns the bytes written.
///
/// See [pwritev(2)](https://man7.org/linux/man-pages/man2/pwritev.2.html).
pub(crate) fn write_at(fd: BorrowedFd<'_>, mut offset: u64, bufs: &[&[u8]]) -> io::Result<usize> {
    let mut total = 0usize;
    for head in bufs.chunks(MAX_IOV) {
        let want = head.iter().fold(0usize, |a, b| a.saturating_add(b.len()));
        let mut iov: [IoSlice<'_>; MAX_IOV] = std::array::from_fn(|_| IoSlice::new(&[]));
        for (slot, b) in iov.iter_mut().zip(head.iter()) {
            *slot = IoSlice::new(b);
        }
        let got = match io::retry_on_intr(|| rustix::io::pwritev(fd, &iov[..head.len()], offset)) {
            Ok(got) => got,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total = total.saturating_add(got);
        offset = offset.checked_add(got as u64).ok_or(io::Errno::OVERFLOW)?;
        if got < want {
            break;
        }
    }
    Ok(total)
}
