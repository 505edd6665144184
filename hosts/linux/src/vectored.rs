//! `preadv` / `pwritev` over any number of buffers, without allocating.
//!
//! The buffers come from the transport as [`IoBuf`] / [`IoBufMut`] views
//! (guest memory, possibly many segments), which Rust code may not turn into
//! references; their addresses and lengths go to the kernel as `iovec`s, in
//! batches of at most [`MAX_IOV`] built on the stack. A short transfer ends
//! the operation, as it would for a single call.

use arcbox_fs::{IoBuf, IoBufMut};
use rustix::fd::{AsRawFd, BorrowedFd};
use rustix::io;

/// `iovec`s per system call (well below `UIO_MAXIOV`, 1024).
const MAX_IOV: usize = 64;

const EMPTY: libc::iovec = libc::iovec {
    iov_base: core::ptr::null_mut(),
    iov_len: 0,
};

/// The result of a `preadv`/`pwritev` return value, retried on `EINTR`.
fn retry(mut call: impl FnMut() -> isize) -> io::Result<usize> {
    loop {
        let r = call();
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = io::Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(io::Errno::IO);
        if e != io::Errno::INTR {
            return Err(e);
        }
    }
}

/// Reads at `offset` into `bufs`; returns the bytes read (0 at end of file).
///
/// See [preadv(2)](https://man7.org/linux/man-pages/man2/preadv.2.html).
pub(crate) fn read_at(
    fd: BorrowedFd<'_>,
    mut offset: u64,
    bufs: &mut [IoBufMut<'_>],
) -> io::Result<usize> {
    let mut total = 0usize;
    for head in bufs.chunks_mut(MAX_IOV) {
        let want = head.iter().fold(0usize, |a, b| a.saturating_add(b.len()));
        let mut iov = [EMPTY; MAX_IOV];
        for (slot, b) in iov.iter_mut().zip(head.iter_mut()) {
            slot.iov_len = b.len();
            slot.iov_base = b.as_mut_ptr().cast();
        }
        let off = libc::off_t::try_from(offset).map_err(|_| io::Errno::OVERFLOW)?;
        let n = head.len() as libc::c_int;
        // SAFETY: each `iovec` is the address and length of an `IoBufMut`,
        // valid for writes while `bufs` is borrowed (its contract); the
        // kernel writes the bytes, Rust code forms no reference to them.
        let got = match retry(|| unsafe { libc::preadv(fd.as_raw_fd(), iov.as_ptr(), n, off) }) {
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

/// Writes `bufs` at `offset`; returns the bytes written.
///
/// See [pwritev(2)](https://man7.org/linux/man-pages/man2/pwritev.2.html).
pub(crate) fn write_at(
    fd: BorrowedFd<'_>,
    mut offset: u64,
    bufs: &[IoBuf<'_>],
) -> io::Result<usize> {
    let mut total = 0usize;
    for head in bufs.chunks(MAX_IOV) {
        let want = head.iter().fold(0usize, |a, b| a.saturating_add(b.len()));
        let mut iov = [EMPTY; MAX_IOV];
        for (slot, b) in iov.iter_mut().zip(head.iter()) {
            slot.iov_len = b.len();
            slot.iov_base = b.as_ptr().cast_mut().cast();
        }
        let off = libc::off_t::try_from(offset).map_err(|_| io::Errno::OVERFLOW)?;
        let n = head.len() as libc::c_int;
        // SAFETY: each `iovec` is the address and length of an `IoBuf`, valid
        // for reads while `bufs` is borrowed (its contract); the kernel only
        // reads them (pwritev never writes through its `iovec`s).
        let got = match retry(|| unsafe { libc::pwritev(fd.as_raw_fd(), iov.as_ptr(), n, off) }) {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rustix::fd::AsFd;
    use std::io::{Read, Seek, SeekFrom};

    #[test]
    fn many_views_round_trip_through_a_file() {
        let mut f = tempfile::tempfile().unwrap();
        let chunks: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; 1 + i as usize]).collect();
        let views: Vec<IoBuf<'_>> = chunks.iter().map(|c| IoBuf::new(c)).collect();
        let total: usize = chunks.iter().map(|c| c.len()).sum();
        assert_eq!(write_at(f.as_fd(), 3, &views).unwrap(), total);
        let mut back = vec![0u8; total + 3];
        f.seek(SeekFrom::Start(0)).unwrap();
        f.read_exact(&mut back).unwrap();
        assert_eq!(back[3..], chunks.concat()[..]);

        let mut out: Vec<Vec<u8>> = (0..100usize).map(|i| vec![0; 1 + i]).collect();
        let mut views: Vec<IoBufMut<'_>> = out.iter_mut().map(|c| IoBufMut::new(c)).collect();
        assert_eq!(read_at(f.as_fd(), 3, &mut views).unwrap(), total);
        drop(views);
        assert_eq!(out.concat(), chunks.concat());
        // A read that reaches the end is short.
        let mut tail = [0u8; 8];
        assert_eq!(
            read_at(f.as_fd(), total as u64, &mut [IoBufMut::new(&mut tail)]).unwrap(),
            3
        );
        assert_eq!(
            read_at(f.as_fd(), u64::MAX, &mut [IoBufMut::new(&mut tail)]),
            Err(io::Errno::OVERFLOW)
        );
    }
}
