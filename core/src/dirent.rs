//! Packing READDIR / READDIRPLUS entries into the reply (fuse.h
//! `struct fuse_dirent` / `struct fuse_direntplus`, `FUSE_DIRENT_ALIGN`).

use crate::abi::{Dirent, DirentPlus, NAME_MAX, dirent_align};
use crate::errno::Errno;
use crate::fs::Entry;
use crate::io::ReplySink;
use crate::reply::entry_out;
use zerocopy::IntoBytes;

const PLUS_FIXED: usize = core::mem::size_of::<DirentPlus>();
const PLAIN_FIXED: usize = core::mem::size_of::<Dirent>();
const MAX_RECORD: usize = PLUS_FIXED + NAME_MAX + 8;

/// Where a filesystem puts directory entries. Entries are 8-byte aligned
/// records; an entry that does not fit whole is not written (the kernel asks
/// again from its offset).
pub struct DirSink<'a> {
    sink: &'a mut dyn ReplySink,
    base: usize,
    cap: usize,
    used: usize,
    plus: bool,
}

impl<'a> DirSink<'a> {
    /// A sink writing at reply offset `base`, at most `size` bytes.
    pub fn new(sink: &'a mut dyn ReplySink, base: usize, size: usize, plus: bool) -> Self {
        let cap = size.min(sink.capacity().saturating_sub(base));
        DirSink {
            sink,
            base,
            cap,
            used: 0,
            plus,
        }
    }

    /// Whether this is a READDIRPLUS reply (entries carry attributes).
    pub fn is_plus(&self) -> bool {
        self.plus
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> usize {
        self.used
    }

    /// The record size of an entry with a name of `namelen` bytes.
    pub fn record_len(&self, namelen: usize) -> usize {
        dirent_align((if self.plus { PLUS_FIXED } else { PLAIN_FIXED }) + namelen)
    }

    /// Whether an entry with a name of `namelen` bytes still fits. Check this
    /// before doing work for a READDIRPLUS entry (a lookup) that would be lost.
    pub fn fits(&self, namelen: usize) -> bool {
        self.used + self.record_len(namelen) <= self.cap
    }

    /// Adds a plain entry. In a READDIRPLUS reply it carries nodeid 0 (the
    /// kernel then creates no dentry for it, as for `.` and `..`).
    ///
    /// Returns `Ok(false)` if it does not fit (nothing written; stop here).
    /// Errors: `EINVAL` for an empty name or one over 255 bytes.
    pub fn add(&mut self, ino: u64, off: u64, typ: u32, name: &[u8]) -> Result<bool, Errno> {
        if self.plus {
            let mut e = Entry::default();
            e.attr.ino = ino;
            return self.add_plus(&e, off, typ, name);
        }
        self.push(None, ino, off, typ, name)
    }

    /// Adds an entry with its LOOKUP reply. Returns `Ok(false)` if it does not
    /// fit; the caller must then undo the lookup it did for it.
    ///
    /// Errors: `EINVAL` for a bad name, or when this is a plain READDIR reply.
    pub fn add_plus(
        &mut self,
        entry: &Entry,
        off: u64,
        typ: u32,
        name: &[u8],
    ) -> Result<bool, Errno> {
        if !self.plus {
            return Err(Errno::EINVAL);
        }
        self.push(Some(entry), entry.attr.ino, off, typ, name)
    }

    fn push(
        &mut self,
        entry: Option<&Entry>,
        ino: u64,
        off: u64,
        typ: u32,
        name: &[u8],
    ) -> Result<bool, Errno> {
        if name.is_empty() || name.len() > NAME_MAX {
            return Err(Errno::EINVAL);
        }
        if !self.fits(name.len()) {
            return Ok(false);
        }
        let dirent = Dirent {
            ino,
            off,
            namelen: name.len() as u32,
            typ,
        };
        let mut rec = [0u8; MAX_RECORD];
        let mut at = 0;
        if let Some(e) = entry {
            let eo = entry_out(e);
            rec[..128].copy_from_slice(eo.as_bytes());
            at = 128;
        }
        rec[at..at + PLAIN_FIXED].copy_from_slice(dirent.as_bytes());
        at += PLAIN_FIXED;
        rec[at..at + name.len()].copy_from_slice(name);
        let len = self.record_len(name.len());
        self.sink.write_at(self.base + self.used, &rec[..len])?;
        self.used += len;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_aligned_and_stop_when_full() {
        let mut buf = [0xffu8; 80];
        let mut s = &mut buf[..];
        let mut d = DirSink::new(&mut s, 16, 64, false);
        assert_eq!(d.add(5, 1, 8, b"abc"), Ok(true)); // 24 + 3 -> 32
        assert_eq!(d.bytes(), 32);
        assert_eq!(d.add(6, 2, 4, b"0123456789"), Ok(false)); // 24+10 -> 40 > 32 left
        assert_eq!(d.add(6, 2, 4, b"01234567"), Ok(true)); // 32
        assert_eq!(d.bytes(), 64);
        assert_eq!(d.add(7, 3, 4, b""), Err(Errno::EINVAL));
        assert_eq!(&buf[16 + 24..16 + 32], b"abc\0\0\0\0\0");
        assert_eq!(&buf[..16], &[0xff; 16]);
    }

    #[test]
    fn plus_records() {
        let mut buf = [0u8; 4096];
        let mut s = &mut buf[..];
        let mut d = DirSink::new(&mut s, 16, 4096, true);
        assert_eq!(d.record_len(1), 160);
        let e = Entry {
            nodeid: 9,
            ..Entry::default()
        };
        assert_eq!(d.add_plus(&e, 1, 8, b"x"), Ok(true));
        assert_eq!(d.add(1, 2, 4, b".."), Ok(true));
        assert_eq!(d.bytes(), 320);
        let mut plain = [0u8; 64];
        let mut ps = &mut plain[..];
        let mut p = DirSink::new(&mut ps, 0, 64, false);
        assert_eq!(p.add_plus(&e, 1, 8, b"x"), Err(Errno::EINVAL));
    }
}
