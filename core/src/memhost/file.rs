//! Operations on the contents and attributes of one node: read, write
//! (with kill-priv), truncate and other attribute changes, fallocate,
//! SEEK_DATA / SEEK_HOLE, copy_file_range.

use super::node::Kind;
use super::state::State;
use crate::abi::{FallocateMode, Whence, mode};
use crate::errno::{Errno, Result};
use crate::host::{SetAttrs, SetTime};
use crate::io::{IoBuf, IoBufMut};
use crate::memfs::data::FileData as Data;
use crate::time::Timespec;
use alloc::vec;

/// Most bytes one `copy_file_range` call copies (a short copy is legal).
const COPY_CHUNK: u64 = 1 << 20;
/// Bytes moved per copy between a transport view and file data.
const CHUNK: usize = 4096;

impl State {
    fn data(&self, ino: u64) -> Result<&Data> {
        match &self.node(ino)?.kind {
            Kind::File(d) => Ok(d),
            Kind::Dir { .. } => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    fn data_mut(&mut self, ino: u64) -> Result<&mut Data> {
        match &mut self.node_mut(ino)?.kind {
            Kind::File(d) => Ok(d),
            Kind::Dir { .. } => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    /// `preadv` into `bufs`.
    pub(super) fn read(&self, ino: u64, offset: u64, bufs: &mut [IoBufMut<'_>]) -> Result<usize> {
        let d = self.data(ino)?;
        let mut off = offset;
        let mut total = 0;
        let mut chunk = [0u8; CHUNK];
        for b in bufs.iter_mut() {
            let mut at = 0;
            while at < b.len() {
                let want = (b.len() - at).min(CHUNK);
                let n = d.read_bytes(off, &mut chunk[..want]);
                b.write_from(at, &chunk[..n]);
                at += n;
                total += n;
                off = off.saturating_add(n as u64);
                if n < want {
                    return Ok(total);
                }
            }
        }
        Ok(total)
    }

    /// `pwritev` of `bufs` at `offset` (or at the end with `append`).
    pub(super) fn write(
        &mut self,
        ino: u64,
        offset: u64,
        bufs: &[IoBuf<'_>],
        append: bool,
        kill_priv: bool,
        max: u64,
        now: Timespec,
    ) -> Result<usize> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let d = self.data_mut(ino)?;
        let start = if append { d.size() } else { offset };
        let end = start.checked_add(total as u64).ok_or(Errno::EFBIG)?;
        if end > max {
            return Err(Errno::EFBIG);
        }
        let mut off = start;
        let mut chunk = [0u8; CHUNK];
        for b in bufs {
            let mut at = 0;
            while at < b.len() {
                let n = (b.len() - at).min(CHUNK);
                b.read_to(at, &mut chunk[..n]);
                d.write_bytes(off, &chunk[..n]);
                off += n as u64;
                at += n;
            }
        }
        let n = self.node_mut(ino)?;
        if kill_priv {
            n.kill_priv();
        }
        if total > 0 {
            n.mtime = now;
            n.ctime = now;
        }
        Ok(total)
    }

    /// Attribute changes (never through a symlink: `mode` on one is `EOPNOTSUPP`).
    pub(super) fn setattr(
        &mut self,
        ino: u64,
        a: &SetAttrs,
        max: u64,
        now: Timespec,
    ) -> Result<()> {
        let n = self.node(ino)?;
        let is_link = n.typ() == mode::S_IFLNK;
        if a.mode.is_some() && is_link {
            return Err(Errno::EOPNOTSUPP);
        }
        if let Some(size) = a.size {
            if size > max {
                return Err(Errno::EFBIG);
            }
            let d = self.data_mut(ino)?;
            if size != d.size() {
                d.truncate(size);
            }
        }
        let n = self.node_mut(ino)?;
        if a.size.is_some() {
            n.mtime = now;
        }
        if let Some(m) = a.mode {
            n.mode = (n.mode & mode::S_IFMT) | (m & mode::S_IALLUGO);
        }
        let chown = a.uid.is_some_and(|u| u != n.uid) || a.gid.is_some_and(|g| g != n.gid);
        if let Some(u) = a.uid {
            n.uid = u;
        }
        if let Some(g) = a.gid {
            n.gid = g;
        }
        if (chown && a.mode.is_none()) || a.kill_suidgid {
            n.kill_priv();
        }
        let at = |t: SetTime| match t {
            SetTime::Now => now,
            SetTime::At(t) => t,
        };
        if let Some(t) = a.atime {
            n.atime = at(t);
        }
        if let Some(t) = a.mtime {
            n.mtime = at(t);
        }
        n.ctime = now;
        Ok(())
    }

    /// `fallocate`: never shrinks; `KEEP_SIZE`, `PUNCH_HOLE` (with
    /// `KEEP_SIZE`) and `ZERO_RANGE`; other modes `EOPNOTSUPP`.
    pub(super) fn fallocate(
        &mut self,
        ino: u64,
        m: FallocateMode,
        offset: u64,
        len: u64,
        max: u64,
        now: Timespec,
    ) -> Result<()> {
        let supported =
            FallocateMode::KEEP_SIZE | FallocateMode::PUNCH_HOLE | FallocateMode::ZERO_RANGE;
        if !(m - supported).is_empty()
            || m.contains(FallocateMode::PUNCH_HOLE | FallocateMode::ZERO_RANGE)
        {
            return Err(Errno::EOPNOTSUPP);
        }
        if m.contains(FallocateMode::PUNCH_HOLE) && !m.contains(FallocateMode::KEEP_SIZE) {
            return Err(Errno::EOPNOTSUPP);
        }
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = offset.checked_add(len).ok_or(Errno::EFBIG)?;
        if end > max {
            return Err(Errno::EFBIG);
        }
        let d = self.data_mut(ino)?;
        if m.intersects(FallocateMode::PUNCH_HOLE | FallocateMode::ZERO_RANGE) {
            d.zero_range(offset, end.min(d.size()));
        }
        if !m.contains(FallocateMode::KEEP_SIZE) && end > d.size() {
            d.truncate(end);
        }
        let n = self.node_mut(ino)?;
        n.mtime = now;
        n.ctime = now;
        Ok(())
    }

    /// `SEEK_DATA` / `SEEK_HOLE` (the whole file is data; the hole is at the end).
    pub(super) fn lseek(&self, ino: u64, offset: u64, whence: Whence) -> Result<u64> {
        let size = self.data(ino)?.size();
        match whence {
            Whence::Data | Whence::Hole if offset >= size => Err(Errno::ENXIO),
            Whence::Data => Ok(offset),
            Whence::Hole => Ok(size),
            _ => Err(Errno::EINVAL),
        }
    }

    /// `copy_file_range` of up to `len` bytes (at most [`COPY_CHUNK`] per call).
    pub(super) fn copy(
        &mut self,
        src: u64,
        src_off: u64,
        dst: u64,
        dst_off: u64,
        len: u64,
        max: u64,
        now: Timespec,
    ) -> Result<u64> {
        let size = self.data(src)?.size();
        self.data(dst)?;
        if src == dst
            && src_off < dst_off.saturating_add(len)
            && dst_off < src_off.saturating_add(len)
        {
            return Err(Errno::EINVAL);
        }
        src_off.checked_add(len).ok_or(Errno::EOVERFLOW)?;
        let n = len.min(size.saturating_sub(src_off)).min(COPY_CHUNK);
        if n == 0 {
            return Ok(0);
        }
        dst_off
            .checked_add(n)
            .filter(|e| *e <= max)
            .ok_or(Errno::EFBIG)?;
        let mut buf = vec![0u8; n as usize];
        let got = self.data(src)?.read_bytes(src_off, &mut buf);
        self.write(
            dst,
            dst_off,
            &[IoBuf::new(&buf[..got])],
            false,
            false,
            max,
            now,
        )?;
        Ok(got as u64)
    }
}
