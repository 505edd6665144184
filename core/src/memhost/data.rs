//! File contents: a sparse map of 4 KiB pages, so a hostile `truncate` or
//! `fallocate` to a huge size costs nothing until pages are written. Holes
//! read as zeros.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

const PAGE: u64 = 4096;
const PAGE_USIZE: usize = PAGE as usize;

/// A file's bytes: a size and the pages that hold data.
#[derive(Debug, Default)]
pub(super) struct Data {
    size: u64,
    pages: BTreeMap<u64, Box<[u8; PAGE_USIZE]>>,
}

impl Data {
    /// Logical size.
    pub(super) fn size(&self) -> u64 {
        self.size
    }

    /// 512-byte blocks held.
    pub(super) fn blocks(&self) -> u64 {
        self.pages.len() as u64 * (PAGE / 512)
    }

    /// Pages held.
    pub(super) fn pages(&self) -> u64 {
        self.pages.len() as u64
    }

    /// Copies bytes at `offset` into `buf`, stopping at the end of the file.
    pub(super) fn read(&self, offset: u64, buf: &mut [u8]) -> usize {
        let end = offset.saturating_add(buf.len() as u64).min(self.size);
        let mut pos = offset;
        let mut done = 0usize;
        while pos < end {
            let in_page = (pos % PAGE) as usize;
            let n = (PAGE - pos % PAGE).min(end - pos) as usize;
            match self.pages.get(&(pos / PAGE)) {
                Some(p) => buf[done..done + n].copy_from_slice(&p[in_page..in_page + n]),
                None => buf[done..done + n].fill(0),
            }
            pos += n as u64;
            done += n;
        }
        done
    }

    /// Writes `bytes` at `offset` (the caller checked the limits); grows the size.
    pub(super) fn write(&mut self, offset: u64, bytes: &[u8]) {
        let mut pos = offset;
        let mut done = 0usize;
        while done < bytes.len() {
            let in_page = (pos % PAGE) as usize;
            let n = (PAGE_USIZE - in_page).min(bytes.len() - done);
            let page = self
                .pages
                .entry(pos / PAGE)
                .or_insert_with(|| Box::new([0u8; PAGE_USIZE]));
            page[in_page..in_page + n].copy_from_slice(&bytes[done..done + n]);
            pos += n as u64;
            done += n;
        }
        self.size = self.size.max(pos);
    }

    /// Sets the size; the bytes past a smaller size are dropped, so a later
    /// extension reads zeros.
    pub(super) fn set_size(&mut self, size: u64) {
        if size < self.size {
            self.zero(size, self.size);
        }
        self.size = size;
    }

    /// Zeroes `[start, end)` without changing the size, dropping whole pages.
    pub(super) fn zero(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let (first, last) = (start.div_ceil(PAGE), end / PAGE);
        if first < last {
            let whole: Vec<u64> = self.pages.range(first..last).map(|(k, _)| *k).collect();
            for k in whole {
                self.pages.remove(&k);
            }
        }
        for idx in [start / PAGE, (end - 1) / PAGE] {
            if let Some(p) = self.pages.get_mut(&idx) {
                let base = idx * PAGE;
                let a = start.max(base) - base;
                let b = end.min(base + PAGE) - base;
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
    fn sparse_write_read_and_shrink() {
        let mut d = Data::default();
        d.write(5000, b"hello");
        assert_eq!((d.size(), d.pages()), (5005, 1));
        let mut buf = [1u8; 10];
        assert_eq!(d.read(4998, &mut buf), 7);
        assert_eq!(&buf[..7], b"\0\0hello");
        d.set_size(5002);
        d.set_size(6000);
        let mut buf = [1u8; 5];
        assert_eq!(d.read(5000, &mut buf), 5);
        assert_eq!(&buf, b"he\0\0\0");
        d.set_size(u64::MAX / 2);
        d.zero(0, u64::MAX / 2);
        assert_eq!(d.pages(), 0);
        assert_eq!(d.read(u64::MAX - 1, &mut buf), 0);
    }
}
