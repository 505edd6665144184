//! Metadata: SETATTR (chmod, chown, truncate, utimes), ACCESS, extended
//! attributes and locks, with the permission rules of the Linux VFS.

use super::perm;
use super::state::State;
use crate::abi::access::{R_OK, W_OK};
use crate::abi::{FileLock, LkFlags, LkIn, SetattrIn, SetattrValid, mode};
use crate::errno::{Errno, Result};
use crate::fs::{Context, NodeId, XattrReply};
use crate::io::ReplyData;
use crate::time::Timespec;

fn ts(sec: u64, nsec: u32) -> Timespec {
    Timespec::new(sec as i64, nsec)
}

impl State {
    /// SETATTR: validates every requested change, then applies them together.
    pub(crate) fn setattr(
        &mut self,
        ctx: &Context,
        now: Timespec,
        node: NodeId,
        set: &SetattrIn,
    ) -> Result<()> {
        let v = SetattrValid::from_bits_retain(set.valid);
        let n = self.node(node)?;
        let root = ctx.uid == 0;
        if v.contains(SetattrValid::MODE) && !perm::is_owner(ctx, n) {
            return Err(Errno::EPERM);
        }
        if v.contains(SetattrValid::UID) && set.uid != n.uid && !root {
            return Err(Errno::EPERM);
        }
        if v.contains(SetattrValid::GID)
            && set.gid != n.gid
            && !(root || (ctx.uid == n.uid && perm::in_group(ctx, set.gid)))
        {
            return Err(Errno::EPERM);
        }
        if v.contains(SetattrValid::SIZE) {
            if n.is_dir() {
                return Err(Errno::EISDIR);
            }
            if n.file().is_none() {
                return Err(Errno::EINVAL);
            }
            if set.size > self.config.max_file_size {
                return Err(Errno::EFBIG);
            }
            // ftruncate on a writable handle needs no permission; truncate(2) needs W.
            let by_handle =
                v.contains(SetattrValid::FH) && self.handle(set.fh, node).is_ok_and(|h| h.write);
            if !by_handle {
                perm::check(ctx, n, W_OK)?;
            }
        }
        let explicit_times = v.intersects(SetattrValid::ATIME | SetattrValid::MTIME)
            && !v.contains(SetattrValid::ATIME_NOW)
            && !v.contains(SetattrValid::MTIME_NOW);
        if explicit_times && !perm::is_owner(ctx, n) {
            return Err(Errno::EPERM);
        }
        if v.intersects(SetattrValid::ATIME_NOW | SetattrValid::MTIME_NOW)
            && !perm::is_owner(ctx, n)
        {
            perm::check(ctx, n, W_OK)?;
        }
        if v.contains(SetattrValid::SIZE) {
            self.truncate(node, now, set.size)?;
        }
        let n = self.node_mut(node)?;
        if v.contains(SetattrValid::MODE) {
            let mut bits = set.mode & mode::S_IALLUGO;
            if !root && !perm::in_group(ctx, n.gid) {
                bits &= !mode::S_ISGID;
            }
            n.mode = (n.mode & mode::S_IFMT) | bits;
        }
        let chown = (v.contains(SetattrValid::UID) && set.uid != n.uid)
            || (v.contains(SetattrValid::GID) && set.gid != n.gid);
        if v.contains(SetattrValid::UID) {
            n.uid = set.uid;
        }
        if v.contains(SetattrValid::GID) {
            n.gid = set.gid;
        }
        if (chown || v.contains(SetattrValid::KILL_SUIDGID)) && n.file().is_some() {
            let kill = if n.mode & 0o010 != 0 {
                mode::S_ISUID | mode::S_ISGID
            } else {
                mode::S_ISUID
            };
            n.mode &= !kill;
        }
        if v.contains(SetattrValid::ATIME_NOW) {
            n.atime = now;
        } else if v.contains(SetattrValid::ATIME) {
            n.atime = ts(set.atime, set.atimensec);
        }
        if v.contains(SetattrValid::MTIME_NOW) {
            n.mtime = now;
        } else if v.contains(SetattrValid::MTIME) {
            n.mtime = ts(set.mtime, set.mtimensec);
        }
        if v.contains(SetattrValid::CTIME) {
            n.ctime = ts(set.ctime, set.ctimensec);
        } else if !v.is_empty() {
            n.ctime = now;
        }
        Ok(())
    }

    /// The permission an xattr operation needs: `user.` attributes follow the
    /// file's bits and exist only on files and directories; `trusted.` needs root.
    fn check_xattr(&self, ctx: &Context, node: NodeId, name: &[u8], mask: u32) -> Result<()> {
        let n = self.node(node)?;
        if name.starts_with(b"trusted.") && ctx.uid != 0 {
            return Err(Errno::EPERM);
        }
        if name.starts_with(b"user.") {
            if n.file().is_none() && !n.is_dir() {
                return Err(if mask & W_OK != 0 {
                    Errno::EPERM
                } else {
                    Errno::ENODATA
                });
            }
            perm::check(ctx, n, mask)?;
        } else if mask & W_OK != 0 && !perm::is_owner(ctx, n) {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    /// SETXATTR.
    pub(crate) fn setxattr(
        &mut self,
        ctx: &Context,
        now: Timespec,
        node: NodeId,
        name: &[u8],
        value: &[u8],
        flags: u32,
    ) -> Result<()> {
        super::xattr::check_name(name)?;
        self.check_xattr(ctx, node, name, W_OK)?;
        let n = self.node_mut(node)?;
        n.xattrs.set(name, value, flags)?;
        n.ctime = now;
        Ok(())
    }

    /// GETXATTR.
    pub(crate) fn getxattr(
        &self,
        ctx: &Context,
        node: NodeId,
        name: &[u8],
        size: u32,
        out: &mut ReplyData<'_>,
    ) -> Result<XattrReply> {
        super::xattr::check_name(name)?;
        self.check_xattr(ctx, node, name, R_OK)?;
        self.node(node)?.xattrs.get(name, size, out)
    }

    /// REMOVEXATTR.
    pub(crate) fn removexattr(
        &mut self,
        ctx: &Context,
        now: Timespec,
        node: NodeId,
        name: &[u8],
    ) -> Result<()> {
        super::xattr::check_name(name)?;
        self.check_xattr(ctx, node, name, W_OK)?;
        let n = self.node_mut(node)?;
        n.xattrs.remove(name)?;
        n.ctime = now;
        Ok(())
    }

    /// GETLK.
    pub(crate) fn getlk(&self, node: NodeId, lk: &LkIn) -> Result<FileLock> {
        let flock = LkFlags::from_bits_retain(lk.lk_flags).contains(LkFlags::FLOCK);
        self.node(node)?.locks.test(lk.owner, flock, &lk.lk)
    }

    /// SETLK / SETLKW.
    pub(crate) fn setlk(&mut self, node: NodeId, lk: &LkIn) -> Result<()> {
        let flock = LkFlags::from_bits_retain(lk.lk_flags).contains(LkFlags::FLOCK);
        self.node_mut(node)?.locks.set(lk.owner, flock, &lk.lk)
    }
}
