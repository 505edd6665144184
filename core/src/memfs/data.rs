//! The contents of a regular file: a sparse map of 4 KiB pages, so that a
//! hostile `truncate` or `fallocate` to a huge size costs nothing until the
//! pages are written. Holes read as zeros.

use crate::errno::{Errno, Result};
use crate::io::{ReplyData, RequestData};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;

/// Page size of file contents.
pub(crate) const PAGE: u64 = 4096;
const PAGE_USIZE: usize = PAGE as usize;

/// A file's bytes: `size` and the pages that were written.
#[derive(Debug, Default)]
pub(crate) struct FileData {
    size: u64,
    pages: BTreeMap<u64, Box<[u8; PAGE_USIZE]>>,
}

impl FileData {
    /// Logical size in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Pages holding data.
    pub(crate) fn pages(&self) -> u64 {
        self.pages.len() as u64
    }

    /// Copies bytes `[offset, min(offset + out.remaining(), size))` into `out`.
    pub(crate) fn read(&self, offset: u64, out: &mut ReplyData<'_>) -> Result<()> {
        let want = out.remaining() as u64;
        let end = offset.saturating_add(want).min(self.size);
        let mut pos = offset;
        let zeros = [0u8; PAGE_USIZE];
        while pos < end {
            let idx = pos / PAGE;
            let in_page = (pos % PAGE) as usize;
            let n = (PAGE - pos % PAGE).min(end - pos) as usize;
            let src: &[u8] = match self.pages.get(&idx) {
                Some(p) => &p[in_page..in_page + n],
                None => &zeros[..n],
            };
            out.write(src)?;
            pos += n as u64;
        }
        Ok(())
    }

    /// Pages a write of `len` bytes at `offset` would add.
    pub(crate) fn pages_needed(&self, offset: u64, len: u64) -> u64 {
        if len == 0 {
            return 0;
        }
        let first = offset / PAGE;
        let last = offset.saturating_add(len - 1) / PAGE;
        if last.saturating_sub(first) > 1 << 20 {
            // Beyond any sane write; counted without walking.
            return last - first + 1;
        }
        (first..=last)
            .filter(|i| !self.pages.contains_key(i))
            .count() as u64
    }

    /// Writes all of `data` at `offset` (the caller checked the limits); grows the size.
    pub(crate) fn write(&mut self, offset: u64, data: &mut RequestData<'_>) -> Result<u32> {
        let total = data.len();
        let end = offset.checked_add(total as u64).ok_or(Errno::EFBIG)?;
        let mut pos = offset;
        while pos < end {
            let idx = pos / PAGE;
            let in_page = (pos % PAGE) as usize;
            let n = (PAGE - pos % PAGE).min(end - pos) as usize;
            let page = self
                .pages
                .entry(idx)
                .or_insert_with(|| Box::new([0u8; PAGE_USIZE]));
            data.read_exact(&mut page[in_page..in_page + n])?;
            pos += n as u64;
        }
        if end > self.size {
            self.size = end;
        }
        u32::try_from(total).map_err(|_| Errno::EINVAL)
    }

    /// Writes `bytes` at `offset` (the caller checked the limits); grows the size.
    pub(crate) fn write_bytes(&mut self, offset: u64, bytes: &[u8]) {
        let mut pos = offset;
        let mut done = 0usize;
        while done < bytes.len() {
            let idx = pos / PAGE;
            let in_page = (pos % PAGE) as usize;
            let n = (PAGE_USIZE - in_page).min(bytes.len() - done);
            let page = self
                .pages
                .entry(idx)
                .or_insert_with(|| Box::new([0u8; PAGE_USIZE]));
            page[in_page..in_page + n].copy_from_slice(&bytes[done..done + n]);
            pos += n as u64;
            done += n;
        }
        if pos > self.size {
            self.size = pos;
        }
    }

    /// Copies up to `buf.len()` bytes at `offset` into `buf`, stopping at the
    /// end of the file. Returns the bytes copied.
    pub(crate) fn read_bytes(&self, offset: u64, buf: &mut [u8]) -> usize {
        let end = offset.saturating_add(buf.len() as u64).min(self.size);
        let mut pos = offset;
        let mut done = 0usize;
        while pos < end {
            let idx = pos / PAGE;
            let in_page = (pos % PAGE) as usize;
            let n = (PAGE - pos % PAGE).min(end - pos) as usize;
            match self.pages.get(&idx) {
                Some(p) => buf[done..done + n].copy_from_slice(&p[in_page..in_page + n]),
                None => buf[done..done + n].fill(0),
            }
            pos += n as u64;
            done += n;
        }
        done
    }

    /// Sets the size; shrinking drops the pages past the end and zeroes the
    /// tail of the last one, so a later extension reads zeros.
    pub(crate) fn truncate(&mut self, size: u64) {
        if size < self.size {
            self.zero_range(size, self.size);
        }
        self.size = size;
    }

    /// Zeroes `[start, end)`, dropping whole pages (punching holes). The size
    /// is unchanged.
    pub(crate) fn zero_range(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let first_whole = start.div_ceil(PAGE);
        let last_whole = end / PAGE; // exclusive
        if first_whole < last_whole {
            let doomed: alloc::vec::Vec<u64> = self
                .pages
                .range(first_whole..last_whole)
                .map(|(k, _)| *k)
                .collect();
            for k in doomed {
                self.pages.remove(&k);
            }
        }
        // Partial pages at either end.
        for idx in [start / PAGE, end.saturating_sub(1) / PAGE] {
            if let Some(p) = self.pages.get_mut(&idx) {
                let page_start = idx * PAGE;
                let a = start.max(page_start) - page_start;
                let b = end.min(page_start + PAGE) - page_start;
                if a < b {
                    p[a as usize..b as usize].fill(0);
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sparse_write_read_truncate() {
        let mut d = FileData::default();
        d.write_bytes(5000, b"hello");
        assert_eq!(d.size(), 5005);
        assert_eq!(d.pages(), 1);
        let mut buf = [1u8; 10];
        assert_eq!(d.read_bytes(4998, &mut buf), 7);
        assert_eq!(&buf[..7], b"\0\0hello");
        d.truncate(5002);
        d.truncate(6000);
        let mut buf = [1u8; 5];
        assert_eq!(d.read_bytes(5000, &mut buf), 5);
        assert_eq!(&buf, b"he\0\0\0");
        d.truncate(u64::MAX / 2);
        assert_eq!(d.pages(), 1);
        d.zero_range(0, u64::MAX / 2);
        assert_eq!(d.pages(), 0);
    }
}
