//! Open files: OPEN / OPENDIR / CREATE / TMPFILE, READ, WRITE, RELEASE,
//! FALLOCATE, LSEEK and COPY_FILE_RANGE.

use super::data::PAGE;
use super::node::Kind;
use super::perm;
use super::state::{Handle, State};
use crate::abi::access::{R_OK, W_OK};
use crate::abi::{CopyFileRangeIn, FallocateIn, FallocateMode, OpenFlags, Whence, mode};
use crate::errno::{Errno, Result};
use crate::fs::{Context, Fh, NodeId};
use crate::io::{ReplyData, RequestData};
use crate::time::Timespec;

/// The largest COPY_FILE_RANGE chunk: `fuse_write_out.size` is 32 bits.
const MAX_COPY: u64 = u32::MAX as u64 & !(PAGE - 1);

impl State {
    /// OPEN (`dir == false`) or OPENDIR (`dir == true`) `node` with Linux open `flags`.
    pub(crate) fn open(
        &mut self,
        ctx: &Context,
        now: Timespec,
        node: NodeId,
        flags: u32,
        dir: bool,
    ) -> Result<Fh> {
        let f = OpenFlags::from_bits_retain(flags);
        let access = f.access();
        let n = self.node(node)?;
        match (&n.kind, dir) {
            (Kind::Dir(_), false) if access.writable() => return Err(Errno::EISDIR),
            (Kind::Dir(_), _) => {}
            (_, true) => return Err(Errno::ENOTDIR),
            (Kind::Symlink(_), false) => return Err(Errno::ELOOP),
            _ => {}
        }
        let mut mask = 0;
        if access.readable() {
            mask |= R_OK;
        }
        if access.writable() || f.contains(OpenFlags::TRUNC) {
            mask |= W_OK;
        }
        perm::check(ctx, n, mask)?;
        if f.contains(OpenFlags::TRUNC) && access.writable() {
            self.truncate(node, now, 0)?;
        }
        let h = Handle {
            node,
            dir,
            read: access.readable(),
            write: access.writable(),
            append: f.contains(OpenFlags::APPEND),
        };
        self.add_handle(h)
    }

    /// Sets the size of regular file `node` (the caller checked permissions).
    ///
    /// Errors: `EISDIR`, `EINVAL` (not a regular file), `EFBIG`.
    pub(crate) fn truncate(&mut self, node: NodeId, now: Timespec, size: u64) -> Result<()> {
        if size > self.config.max_file_size {
            return Err(Errno::EFBIG);
        }
        let n = self.node_mut(node)?;
        if n.is_dir() {
            return Err(Errno::EISDIR);
        }
        let f = n.file_mut().ok_or(Errno::EINVAL)?;
        let before = f.pages();
        f.truncate(size);
        let after = f.pages();
        n.mtime = now;
        n.ctime = now;
        self.pages = self.pages.saturating_sub(before.saturating_sub(after));
        Ok(())
    }

    /// READ at `offset` through handle `fh`.
    pub(crate) fn read(
        &self,
        node: NodeId,
        fh: Fh,
        offset: u64,
        out: &mut ReplyData<'_>,
    ) -> Result<()> {
        let h = self.handle(fh, node)?;
        if h.dir || !h.read {
            return Err(Errno::EBADF);
        }
        let n = self.node(node)?;
        n.file().ok_or(Errno::EINVAL)?.read(offset, out)
    }

    /// Checks a write of `len` bytes at `offset` to `node` against the limits;
    fn check_write(&self, node: NodeId, offset: u64, len: u64) -> Result<()> {
        let end = offset.checked_add(len).ok_or(Errno::EFBIG)?;
        if end > self.config.max_file_size {
            return Err(Errno::EFBIG);
        }
        let f = self.node(node)?.file().ok_or(Errno::EINVAL)?;
        let new_pages = f.pages_needed(offset, len);
        if self.pages.saturating_add(new_pages) > self.config.max_pages() {
            return Err(Errno::ENOSPC);
        }
        Ok(())
    }

    /// WRITE `data` at `offset` through handle `fh` (`O_APPEND` writes at the end).
    pub(crate) fn write(
        &mut self,
        ctx: &Context,
        now: Timespec,
        node: NodeId,
        fh: Fh,
        offset: u64,
        data: &mut RequestData<'_>,
    ) -> Result<u32> {
        let h = self.handle(fh, node)?;
        if h.dir || !h.write {
            return Err(Errno::EBADF);
        }
        let offset = if h.append {
            self.node(node)?.size()
        } else {
            offset
        };
        self.check_write(node, offset, data.len() as u64)?;
        let n = self.node_mut(node)?;
        let f = n.file_mut().ok_or(Errno::EINVAL)?;
        let before = f.pages();
        let r = f.write(offset, data);
        let added = f.pages().saturating_sub(before);
        n.mtime = now;
        n.ctime = now;
        if ctx.uid != 0 {
            // Unprivileged writes drop suid, and sgid with group execute (Linux file_remove_privs).
            let kill = if n.mode & 0o010 != 0 {
                mode::S_ISUID | mode::S_ISGID
            } else {
                mode::S_ISUID
            };
            n.mode &= !kill;
        }
        self.pages = self.pages.saturating_add(added);
        r
    }

    /// FALLOCATE through handle `arg.fh`: Linux semantics, never shrinking.
    pub(crate) fn fallocate(
        &mut self,
        now: Timespec,
        node: NodeId,
        arg: &FallocateIn,
    ) -> Result<()> {
        let h = self.handle(arg.fh, node)?;
        if h.dir || !h.write {
            return Err(Errno::EBADF);
        }
        let m = FallocateMode::from_bits(arg.mode).ok_or(Errno::EOPNOTSUPP)?;
        let keep = m.contains(FallocateMode::KEEP_SIZE);
        let supported = [
            FallocateMode::empty(),
            FallocateMode::KEEP_SIZE,
            FallocateMode::PUNCH_HOLE | FallocateMode::KEEP_SIZE,
            FallocateMode::ZERO_RANGE,
            FallocateMode::ZERO_RANGE | FallocateMode::KEEP_SIZE,
        ];
        if !supported.contains(&m) {
            return Err(Errno::EOPNOTSUPP);
        }
        if arg.length == 0 || arg.offset > i64::MAX as u64 || arg.length > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        let end = arg.offset.checked_add(arg.length).ok_or(Errno::EFBIG)?;
        if end > self.config.max_file_size {
            return Err(Errno::EFBIG);
        }
        let n = self.node_mut(node)?;
        let f = n.file_mut().ok_or(Errno::ENODEV)?;
        let before = f.pages();
        if m.intersects(FallocateMode::PUNCH_HOLE | FallocateMode::ZERO_RANGE) {
            f.zero_range(arg.offset, end.min(f.size()));
        }
        if !keep && end > f.size() {
            f.truncate(end);
        }
        let after = f.pages();
        n.ctime = now;
        if m.intersects(FallocateMode::PUNCH_HOLE | FallocateMode::ZERO_RANGE) || !keep {
            n.mtime = now;
        }
        self.pages = self.pages.saturating_sub(before.saturating_sub(after));
        Ok(())
    }

    /// LSEEK: `SEEK_DATA` / `SEEK_HOLE` treat the whole file as data.
    pub(crate) fn lseek(&self, node: NodeId, fh: Fh, offset: u64, whence: u32) -> Result<u64> {
        self.handle(fh, node)?;
        let size = self.node(node)?.size();
        match Whence::from_u32(whence).ok_or(Errno::EINVAL)? {
            Whence::Set if offset <= i64::MAX as u64 => Ok(offset),
            Whence::End => {
                let r = (size as i64)
                    .checked_add(offset as i64)
                    .ok_or(Errno::EOVERFLOW)?;
                u64::try_from(r).map_err(|_| Errno::EINVAL)
            }
            Whence::Set | Whence::Cur => Err(Errno::EINVAL),
            Whence::Data if offset < size => Ok(offset),
            Whence::Hole if offset < size => Ok(size),
            Whence::Data | Whence::Hole => Err(Errno::ENXIO),
        }
    }

    /// COPY_FILE_RANGE from (`node`, `arg.fh_in`) to (`arg.nodeid_out`, `arg.fh_out`).
    pub(crate) fn copy_file_range(
        &mut self,
        now: Timespec,
        node: NodeId,
        arg: &CopyFileRangeIn,
    ) -> Result<u64> {
        if arg.flags != 0 {
            return Err(Errno::EINVAL);
        }
        let hi = self.handle(arg.fh_in, node)?;
        let ho = self.handle(arg.fh_out, arg.nodeid_out)?;
        if hi.dir || ho.dir || !hi.read || !ho.write || ho.append {
            return Err(Errno::EBADF);
        }
        let src = self.node(node)?.file().ok_or(Errno::EINVAL)?;
        self.node(arg.nodeid_out)?.file().ok_or(Errno::EINVAL)?;
        let len = arg
            .len
            .min(src.size().saturating_sub(arg.off_in))
            .min(MAX_COPY);
        if node == arg.nodeid_out {
            let overlap = arg.off_in < arg.off_out.saturating_add(len)
                && arg.off_out < arg.off_in.saturating_add(len);
            if overlap {
                return Err(Errno::EINVAL);
            }
        }
        if len == 0 {
            return Ok(0);
        }
        self.check_write(arg.nodeid_out, arg.off_out, len)?;
        let mut buf = [0u8; PAGE as usize];
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(PAGE) as usize;
            let got = self
                .node(node)?
                .file()
                .ok_or(Errno::EINVAL)?
                .read_bytes(arg.off_in + done, &mut buf[..n]);
            let dst = self.node_mut(arg.nodeid_out)?;
            let f = dst.file_mut().ok_or(Errno::EINVAL)?;
            let before = f.pages();
            f.write_bytes(arg.off_out + done, &buf[..got]);
            let added = f.pages().saturating_sub(before);
            dst.mtime = now;
            dst.ctime = now;
            self.pages = self.pages.saturating_add(added);
            done += got as u64;
            if got < n {
                break;
            }
        }
        Ok(done)
    }
}
