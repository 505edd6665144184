//! The transport side of a request: where request bytes come from and where
//! reply bytes go.
//!
//! A transport implements [`RequestSource`] over the request's readable
//! buffers and [`ReplySink`] over the reply's writable buffers (a descriptor
//! chain in guest memory, a `/dev/fuse` read buffer, ...). The core copies
//! only small fixed parts out of them; bulk data (WRITE payload, READ and
//! READDIR replies) moves between a host file and these buffers through the
//! slice-batch methods, which a host turns into `preadv` / `pwritev`.
//!
//! The batches are [`IoBuf`] / [`IoBufMut`] views (from `arcbox-fs-iobuf`),
//! never Rust slices: a transport's buffers may be guest memory, which the
//! guest may change at any moment, so no Rust reference may be formed to
//! them. Rust code copies through the views (volatile copies); a host hands
//! their addresses to the kernel as `iovec`s (zero-copy).

use crate::errno::Errno;
pub use arcbox_fs_iobuf::{IoBuf, IoBufMut};
use heapless::Vec as HVec;

/// The most segments handed to one slice-batch callback. Longer scatter lists
/// are presented in several batches.
pub const MAX_SEGMENTS: usize = 32;

/// The readable bytes of one request, possibly scattered over several buffers.
pub trait RequestSource {
    /// Total readable length in bytes.
    fn len(&self) -> usize;

    /// Whether the request has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies bytes `[off, off + buf.len())` into `buf`.
    ///
    /// Errors: `EINVAL` if the range is not inside the request (checked
    /// arithmetic, nothing is copied then).
    fn read_at(&self, off: usize, buf: &mut [u8]) -> Result<(), Errno>;

    /// Presents bytes `[off, off + len)` as batches of at most
    /// [`MAX_SEGMENTS`] [`IoBuf`] views to `f`, which returns how many bytes it consumed
    /// from the start of the batch. Stops when everything was consumed, when
    /// `f` consumes less than it was given, or on `f`'s error. Returns the
    /// total consumed.
    ///
    /// Errors: `EINVAL` if the range is not inside the request, or `f`'s error
    /// if nothing was consumed before it.
    fn with_slices(
        &self,
        off: usize,
        len: usize,
        f: &mut dyn FnMut(&[IoBuf<'_>]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno>;
}

/// The writable buffers of one reply, possibly scattered.
pub trait ReplySink {
    /// Total writable room in bytes.
    fn capacity(&self) -> usize;

    /// Copies `bytes` to reply offset `off`.
    ///
    /// Errors: `ERANGE` if `[off, off + bytes.len())` does not fit in the
    /// capacity (checked arithmetic; nothing is written then).
    fn write_at(&mut self, off: usize, bytes: &[u8]) -> Result<(), Errno>;

    /// Presents reply bytes `[off, off + len)` as batches of at most
    /// [`MAX_SEGMENTS`] [`IoBufMut`] views to `f`, which fills a prefix and returns
    /// how many bytes it filled. Same stopping rules as
    /// [`RequestSource::with_slices`]. Returns the total filled.
    ///
    /// Errors: `ERANGE` if the range does not fit, or `f`'s error if nothing
    /// was filled before it.
    fn with_slices_mut(
        &mut self,
        off: usize,
        len: usize,
        f: &mut dyn FnMut(&mut [IoBufMut<'_>]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno>;
}

impl<T: RequestSource + ?Sized> RequestSource for &T {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn read_at(&self, off: usize, buf: &mut [u8]) -> Result<(), Errno> {
        (**self).read_at(off, buf)
    }
    fn with_slices(
        &self,
        off: usize,
        len: usize,
        f: &mut dyn FnMut(&[IoBuf<'_>]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        (**self).with_slices(off, len, f)
    }
}

impl<T: ReplySink + ?Sized> ReplySink for &mut T {
    fn capacity(&self) -> usize {
        (**self).capacity()
    }
    fn write_at(&mut self, off: usize, bytes: &[u8]) -> Result<(), Errno> {
        (**self).write_at(off, bytes)
    }
    fn with_slices_mut(
        &mut self,
        off: usize,
        len: usize,
        f: &mut dyn FnMut(&mut [IoBufMut<'_>]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        (**self).with_slices_mut(off, len, f)
    }
}

fn range(
    off: usize,
    len: usize,
    total: usize,
    err: Errno,
) -> Result<core::ops::Range<usize>, Errno> {
    match off.checked_add(len) {
        Some(end) if end <= total => Ok(off..end),
        _ => Err(err),
    }
}

impl RequestSource for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn read_at(&self, off: usize, buf: &mut [u8]) -> Result<(), Errno> {
        let r = range(off, buf.len(), <[u8]>::len(self), Errno::EINVAL)?;
        buf.copy_from_slice(&self[r]);
        Ok(())
    }

    fn with_slices(
        &self,
        off: usize,
        len: usize,
        f: &mut dyn FnMut(&[IoBuf<'_>]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        let r = range(off, len, <[u8]>::len(self), Errno::EINVAL)?;
        if r.is_empty() {
            return Ok(0);
        }
        let n = f(&[IoBuf::new(&self[r])])?;
        Ok(n.min(len))
    }
}

impl ReplySink for [u8] {
    fn capacity(&self) -> usize {
        self.len()
    }

    fn write_at(&mut self, off: usize, bytes: &[u8]) -> Result<(), Errno> {
        let r = range(off, bytes.len(), self.len(), Errno::ERANGE)?;
        self[r].copy_from_slice(bytes);
        Ok(())
    }

    fn with_slices_mut(
        &mut self,
        off: usize,
        len: usize,
        f: &mut dyn FnMut(&mut [IoBufMut<'_>]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        let r = range(off, len, self.len(), Errno::ERANGE)?;
        if r.is_empty() {
            return Ok(0);
        }
        let n = f(&mut [IoBufMut::new(&mut self[r])])?;
        Ok(n.min(len))
    }
}

/// A request scattered over several read-only buffers (a scatter-gather list).
#[derive(Clone, Copy, Debug)]
pub struct SgList<'a> {
    segs: &'a [&'a [u8]],
    len: usize,
}

impl<'a> SgList<'a> {
    /// Wraps the segments; their lengths are summed with saturation.
    pub fn new(segs: &'a [&'a [u8]]) -> Self {
        let len = segs.iter().fold(0usize, |a, s| a.saturating_add(s.len()));
        SgList { segs, len }
    }
}

impl RequestSource for SgList<'_> {
    fn len(&self) -> usize {
        self.len
    }

    fn read_at(&self, off: usize, buf: &mut [u8]) -> Result<(), Errno> {
        range(off, buf.len(), self.len, Errno::EINVAL)?;
        let mut copied = 0;
        self.with_slices(off, buf.len(), &mut |batch| {
            let mut n = 0;
            for s in batch {
                s.read_to(0, &mut buf[copied + n..copied + n + s.len()]);
                n += s.len();
            }
            copied += n;
            Ok(n)
        })?;
        Ok(())
    }

    fn with_slices(
        &self,
        off: usize,
        len: usize,
        f: &mut dyn FnMut(&[IoBuf<'_>]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        range(off, len, self.len, Errno::EINVAL)?;
        let mut skip = off;
        let mut want = len;
        let mut done = 0usize;
        let mut batch: HVec<IoBuf<'_>, MAX_SEGMENTS> = HVec::new();
        let mut batch_len = 0usize;
        for seg in self.segs {
            if want == 0 {
                break;
            }
            if skip >= seg.len() {
                skip -= seg.len();
                continue;
            }
            let s = &seg[skip..];
            skip = 0;
            let s = &s[..s.len().min(want)];
            want -= s.len();
            if s.is_empty() {
                continue;
            }
            if batch.push(IoBuf::new(s)).is_err() {
                let n = call_batch(f, &batch, batch_len, done)?;
                done += n;
                if n < batch_len {
                    return Ok(done);
                }
                batch.clear();
                batch_len = 0;
                // Cannot fail: the batch was just emptied.
                let _ = batch.push(IoBuf::new(s));
            }
            batch_len += s.len();
        }
        if !batch.is_empty() {
            done += call_batch(f, &batch, batch_len, done)?;
        }
        Ok(done)
    }
}

fn call_batch(
    f: &mut dyn FnMut(&[IoBuf<'_>]) -> Result<usize, Errno>,
    batch: &[IoBuf<'_>],
    batch_len: usize,
    done: usize,
) -> Result<usize, Errno> {
    match f(batch) {
        Ok(n) => Ok(n.min(batch_len)),
        Err(_) if done > 0 => Ok(0),
        Err(e) => Err(e),
    }
}

/// A reply scattered over several writable buffers.
#[derive(Debug)]
pub struct SgListMut<'a, 'b> {
    segs: &'a mut [&'b mut [u8]],
    len: usize,
}

impl<'a, 'b> SgListMut<'a, 'b> {
    /// Wraps the segments; their lengths are summed with saturation.
    pub fn new(segs: &'a mut [&'b mut [u8]]) -> Self {
        let len = segs.iter().fold(0usize, |a, s| a.saturating_add(s.len()));
        SgListMut { segs, len }
    }
}

impl ReplySink for SgListMut<'_, '_> {
    fn capacity(&self) -> usize {
        self.len
    }

    fn write_at(&mut self, off: usize, bytes: &[u8]) -> Result<(), Errno> {
        range(off, bytes.len(), self.len, Errno::ERANGE)?;
        let mut copied = 0;
        self.with_slices_mut(off, bytes.len(), &mut |batch| {
            let mut n = 0;
            for s in batch.iter_mut() {
                let l = s.len();
                s.write_from(0, &bytes[copied + n..copied + n + l]);
                n += l;
            }
            copied += n;
            Ok(n)
        })?;
        Ok(())
    }

    fn with_slices_mut(
        &mut self,
        off: usize,
        len: usize,
        f: &mut dyn FnMut(&mut [IoBufMut<'_>]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        range(off, len, self.len, Errno::ERANGE)?;
        let mut skip = off;
        let mut want = len;
        let mut done = 0usize;
        let mut batch: HVec<IoBufMut<'_>, MAX_SEGMENTS> = HVec::new();
        let mut batch_len = 0usize;
        for seg in self.segs.iter_mut() {
            if want == 0 {
                break;
            }
            let seg: &mut [u8] = seg;
            if skip >= seg.len() {
                skip -= seg.len();
                continue;
            }
            let s = &mut seg[skip..];
            skip = 0;
            let take = s.len().min(want);
            let s = &mut s[..take];
            want -= take;
            if take == 0 {
                continue;
            }
            if batch.len() == MAX_SEGMENTS {
                let n = call_batch_mut(f, &mut batch, batch_len, done)?;
                done += n;
                if n < batch_len {
                    return Ok(done);
                }
                batch.clear();
                batch_len = 0;
            }
            // Cannot fail: the batch has room (checked just above).
            let _ = batch.push(IoBufMut::new(s));
            batch_len += take;
        }
        if !batch.is_empty() {
            done += call_batch_mut(f, &mut batch, batch_len, done)?;
        }
        Ok(done)
    }
}

fn call_batch_mut(
    f: &mut dyn FnMut(&mut [IoBufMut<'_>]) -> Result<usize, Errno>,
    batch: &mut [IoBufMut<'_>],
    batch_len: usize,
    done: usize,
) -> Result<usize, Errno> {
    match f(batch) {
        Ok(n) => Ok(n.min(batch_len)),
        Err(_) if done > 0 => Ok(0),
        Err(e) => Err(e),
    }
}

/// Reply data a filesystem writes (READ, READLINK, GETXATTR, LISTXATTR, IOCTL
/// output): a window of a [`ReplySink`] after the fixed reply parts, limited to
/// what the request asked for.
pub struct ReplyData<'a> {
    sink: &'a mut dyn ReplySink,
    base: usize,
    limit: usize,
    written: usize,
}

impl<'a> ReplyData<'a> {
    /// A window starting at reply offset `base`, at most `limit` bytes (less if
    /// the sink is smaller).
    pub fn new(sink: &'a mut dyn ReplySink, base: usize, limit: usize) -> Self {
        let room = sink.capacity().saturating_sub(base);
        ReplyData {
            sink,
            base,
            limit: limit.min(room),
            written: 0,
        }
    }

    /// Bytes that may still be written.
    pub fn remaining(&self) -> usize {
        self.limit - self.written
    }

    /// Bytes written so far.
    pub fn written(&self) -> usize {
        self.written
    }

    /// Appends `bytes`.
    ///
    /// Errors: `ERANGE` if they do not fit in [`remaining`](Self::remaining);
    /// nothing is written then.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Errno> {
        if bytes.len() > self.remaining() {
            return Err(Errno::ERANGE);
        }
        self.sink.write_at(self.base + self.written, bytes)?;
        self.written += bytes.len();
        Ok(())
    }

    /// Lets `f` fill up to `max` bytes (clamped to what remains) in place, as
    /// batches of [`IoBufMut`] views (zero-copy: the views are the transport's
    /// buffers). Returns the bytes filled.
    pub fn fill(
        &mut self,
        max: usize,
        f: &mut dyn FnMut(&mut [IoBufMut<'_>]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        let len = max.min(self.remaining());
        if len == 0 {
            return Ok(0);
        }
        let n = self
            .sink
            .with_slices_mut(self.base + self.written, len, f)?;
        self.written += n.min(len);
        Ok(n.min(len))
    }
}

/// Request data a filesystem consumes (WRITE payload, SETXATTR value, IOCTL
/// input), still in the transport's buffers.
pub struct RequestData<'a> {
    src: &'a dyn RequestSource,
    off: usize,
    len: usize,
}

impl<'a> RequestData<'a> {
    /// The bytes `[off, off + len)` of `src`; the range must have been checked.
    pub(crate) fn new(src: &'a dyn RequestSource, off: usize, len: usize) -> Self {
        RequestData { src, off, len }
    }

    /// Bytes left.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bytes are left.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies the next `buf.len()` bytes into `buf` and consumes them.
    ///
    /// Errors: `EINVAL` if fewer remain.
    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        if buf.len() > self.len {
            return Err(Errno::EINVAL);
        }
        self.src.read_at(self.off, buf)?;
        self.off += buf.len();
        self.len -= buf.len();
        Ok(())
    }

    /// Presents up to `max` of the remaining bytes in place to `f` (zero-copy),
    /// consuming what `f` reports as used. Returns the bytes consumed.
    pub fn consume(
        &mut self,
        max: usize,
        f: &mut dyn FnMut(&[IoBuf<'_>]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        let len = max.min(self.len);
        if len == 0 {
            return Ok(0);
        }
        let n = self.src.with_slices(self.off, len, f)?.min(len);
        self.off += n;
        self.len -= n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sglist_reads_across_segments() {
        let a = [1u8, 2, 3];
        let b = [4u8, 5];
        let c = [6u8, 7, 8, 9];
        let segs: [&[u8]; 3] = [&a, &b, &c];
        let sg = SgList::new(&segs);
        assert_eq!(sg.len(), 9);
        let mut buf = [0u8; 5];
        sg.read_at(2, &mut buf).unwrap();
        assert_eq!(buf, [3, 4, 5, 6, 7]);
        assert_eq!(sg.read_at(5, &mut buf), Err(Errno::EINVAL));
        assert_eq!(sg.read_at(usize::MAX, &mut buf), Err(Errno::EINVAL));
    }

    #[test]
    fn sglist_mut_writes_across_segments() {
        let mut a = [0u8; 2];
        let mut b = [0u8; 3];
        {
            let mut segs: [&mut [u8]; 2] = [&mut a, &mut b];
            let mut sg = SgListMut::new(&mut segs);
            sg.write_at(1, &[9, 8, 7]).unwrap();
            assert_eq!(sg.write_at(4, &[1, 2]), Err(Errno::ERANGE));
        }
        assert_eq!(a, [0, 9]);
        assert_eq!(b, [8, 7, 0]);
    }

    #[test]
    fn many_segments_are_batched() {
        let bufs = [[7u8; 1]; 100];
        let segs: heapless::Vec<&[u8], 100> = bufs.iter().map(|b| &b[..]).collect();
        let sg = SgList::new(&segs);
        let mut batches = 0;
        let n = sg
            .with_slices(0, 100, &mut |b| {
                batches += 1;
                assert!(b.len() <= MAX_SEGMENTS);
                Ok(b.iter().map(|s| s.len()).sum())
            })
            .unwrap();
        assert_eq!(n, 100);
        assert_eq!(batches, 4);
    }
}
