//! Names: LOOKUP, the create family (MKNOD, MKDIR, SYMLINK, CREATE, TMPFILE),
//! UNLINK, RMDIR, RENAME(2), LINK, and READDIR(PLUS).

use super::data::FileData;
use super::node::{Dir, Kind, Node};
use super::perm;
use super::state::State;
use crate::abi::access::{R_OK, W_OK, X_OK};
use crate::abi::{ROOT_ID, RenameFlags, mode};
use crate::dirent::DirSink;
use crate::errno::{Errno, Result};
use crate::fs::{Context, Entry, NodeId};
use crate::name::Name;
use crate::time::Timespec;
use alloc::boxed::Box;

/// What to create.
pub(crate) enum NewKind<'a> {
    /// A regular file, FIFO, socket or device node (`mode`'s type bits), with `rdev`.
    Node(u32),
    /// A directory.
    Dir,
    /// A symbolic link to this target.
    Symlink(&'a [u8]),
}

impl State {
    /// LOOKUP `name` in `parent`.
    pub(crate) fn lookup(
        &mut self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
    ) -> Result<Entry> {
        let (p, d) = self.dir(parent)?;
        perm::check(ctx, p, X_OK)?;
        let id = d.get(name.as_bytes()).ok_or(Errno::ENOENT)?;
        self.entry(id)
    }

    /// Checks that `parent` is a directory the caller may add to or remove from.
    fn writable_dir(&self, ctx: &Context, parent: NodeId) -> Result<&Dir> {
        let (p, d) = self.dir(parent)?;
        if p.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        perm::check(ctx, p, W_OK | X_OK)?;
        Ok(d)
    }

    /// Creates `name` in `parent` (MKNOD, MKDIR, SYMLINK, CREATE). `perm_bits` are
    /// the requested mode before the umask.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn make(
        &mut self,
        ctx: &Context,
        now: Timespec,
        parent: NodeId,
        name: Name<'_>,
        kind: NewKind<'_>,
        perm_bits: u32,
        umask: u32,
        rdev: u32,
    ) -> Result<Entry> {
        let d = self.writable_dir(ctx, parent)?;
        if d.get(name.as_bytes()).is_some() {
            return Err(Errno::EEXIST);
        }
        let id = self.make_node(ctx, now, parent, kind, perm_bits, umask, rdev)?;
        self.link_into(now, parent, name.as_bytes(), id)?;
        self.entry(id)
    }

    /// Creates an unnamed node (the start of MKNOD & co., and TMPFILE).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn make_node(
        &mut self,
        ctx: &Context,
        now: Timespec,
        parent: NodeId,
        kind: NewKind<'_>,
        perm_bits: u32,
        umask: u32,
        rdev: u32,
    ) -> Result<NodeId> {
        let p = self.node(parent)?;
        let (uid, gid) = self.new_owner(ctx, p);
        let parent_sgid = p.mode & mode::S_ISGID;
        let bits = perm_bits & mode::S_IALLUGO & !umask;
        let (kind, m, rdev) = match kind {
            NewKind::Dir => (
                Kind::Dir(Dir::new(parent)),
                mode::S_IFDIR | bits | parent_sgid,
                0,
            ),
            NewKind::Symlink(t) => (Kind::Symlink(Box::from(t)), mode::S_IFLNK | 0o777, 0),
            NewKind::Node(typ) => match typ & mode::S_IFMT {
                0 | mode::S_IFREG => (Kind::File(FileData::default()), mode::S_IFREG | bits, 0),
                t @ (mode::S_IFIFO | mode::S_IFSOCK) => (Kind::Special, t | bits, 0),
                t @ (mode::S_IFCHR | mode::S_IFBLK) => (Kind::Special, t | bits, rdev),
                mode::S_IFDIR => return Err(Errno::EPERM),
                _ => return Err(Errno::EINVAL),
            },
        };
        let mut node = Node::new(kind, m, uid, gid, now, self.config.generation);
        node.rdev = rdev;
        self.add_node(node)
    }

    /// Enters `id` as `name` in `parent` (absent, checked), counting the link.
    fn link_into(&mut self, now: Timespec, parent: NodeId, name: &[u8], id: NodeId) -> Result<()> {
        let is_dir = self.node(id)?.is_dir();
        if is_dir {
            if let Some(d) = self.node_mut(id)?.dir_mut() {
                d.parent = parent;
            }
        }
        let p = self.node_mut(parent)?;
        let d = p.dir_mut().ok_or(Errno::ENOTDIR)?;
        d.insert(name, id);
        if is_dir {
            p.nlink = p.nlink.saturating_add(1);
        }
        p.mtime = now;
        p.ctime = now;
        Ok(())
    }

    /// Removes `name` from `parent` (present, checked) without changing the
    /// named node's link count; a subdirectory leaves its parent's count.
    fn detach(&mut self, now: Timespec, parent: NodeId, name: &[u8]) -> Result<NodeId> {
        let p = self.node_mut(parent)?;
        let d = p.dir_mut().ok_or(Errno::ENOTDIR)?;
        let id = d.remove(name).ok_or(Errno::ENOENT)?;
        p.mtime = now;
        p.ctime = now;
        if self.node(id)?.is_dir() {
            let p = self.node_mut(parent)?;
            p.nlink = p.nlink.saturating_sub(1).max(2);
        }
        Ok(id)
    }

    /// Removes `name` from `parent` (present, checked), uncounting the link;
    /// reclaiming is left to the caller.
    fn unlink_from(&mut self, now: Timespec, parent: NodeId, name: &[u8]) -> Result<NodeId> {
        let id = self.detach(now, parent, name)?;
        let n = self.node_mut(id)?;
        n.nlink = if n.is_dir() {
            0
        } else {
            n.nlink.saturating_sub(1)
        };
        n.ctime = now;
        Ok(id)
    }

    /// UNLINK (`dir == false`) or RMDIR (`dir == true`) `name` in `parent`.
    pub(crate) fn remove(
        &mut self,
        ctx: &Context,
        now: Timespec,
        parent: NodeId,
        name: Name<'_>,
        dir: bool,
    ) -> Result<()> {
        let d = self.writable_dir(ctx, parent)?;
        let id = d.get(name.as_bytes()).ok_or(Errno::ENOENT)?;
        let victim = self.node(id)?;
        perm::check_sticky(ctx, self.node(parent)?, victim)?;
        match (dir, victim.dir()) {
            (false, Some(_)) => return Err(Errno::EISDIR),
            (true, None) => return Err(Errno::ENOTDIR),
            (true, Some(vd)) if !vd.is_empty() => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        let id = self.unlink_from(now, parent, name.as_bytes())?;
        self.reclaim(id);
        Ok(())
    }

    /// Whether `ancestor` is `id` or one of its ancestors.
    fn is_ancestor(&self, ancestor: NodeId, mut id: NodeId) -> bool {
        // Bounded by the number of nodes: a cycle cannot exist, but never loop forever.
        for _ in 0..=self.nodes.len() {
            if id == ancestor {
                return true;
            }
            if id == ROOT_ID {
                return false;
            }
            match self.nodes.get(&id).and_then(|n| n.dir()) {
                Some(d) => id = d.parent,
                None => return false,
            }
        }
        false
    }

    /// RENAME / RENAME2.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn rename(
        &mut self,
        ctx: &Context,
        now: Timespec,
        parent: NodeId,
        name: Name<'_>,
        newparent: NodeId,
        newname: Name<'_>,
        flags: u32,
    ) -> Result<()> {
        let flags = RenameFlags::from_bits(flags).ok_or(Errno::EINVAL)?;
        if flags.contains(RenameFlags::WHITEOUT)
            || flags.contains(RenameFlags::NOREPLACE | RenameFlags::EXCHANGE)
        {
            return Err(Errno::EINVAL);
        }
        let src = self
            .writable_dir(ctx, parent)?
            .get(name.as_bytes())
            .ok_or(Errno::ENOENT)?;
        let dst = self.writable_dir(ctx, newparent)?.get(newname.as_bytes());
        let src_node = self.node(src)?;
        let src_dir = src_node.is_dir();
        perm::check_sticky(ctx, self.node(parent)?, src_node)?;
        if flags.contains(RenameFlags::EXCHANGE) {
            let dst = dst.ok_or(Errno::ENOENT)?;
            let dst_node = self.node(dst)?;
            perm::check_sticky(ctx, self.node(newparent)?, dst_node)?;
            let dst_dir = dst_node.is_dir();
            if (src_dir && self.is_ancestor(src, newparent))
                || (dst_dir && self.is_ancestor(dst, parent))
            {
                return Err(Errno::EINVAL);
            }
            if src == dst {
                return Ok(());
            }
            self.node_mut(parent)?
                .dir_mut()
                .ok_or(Errno::ENOTDIR)?
                .replace(name.as_bytes(), dst);
            self.node_mut(newparent)?
                .dir_mut()
                .ok_or(Errno::ENOTDIR)?
                .replace(newname.as_bytes(), src);
            if src_dir != dst_dir && parent != newparent {
                // The subdirectory count moves from one parent to the other.
                let (gains, loses) = if src_dir {
                    (newparent, parent)
                } else {
                    (parent, newparent)
                };
                let g = self.node_mut(gains)?;
                g.nlink = g.nlink.saturating_add(1);
                let l = self.node_mut(loses)?;
                l.nlink = l.nlink.saturating_sub(1).max(2);
            }
            for (id, p) in [(src, newparent), (dst, parent)] {
                let n = self.node_mut(id)?;
                n.ctime = now;
                if let Some(d) = n.dir_mut() {
                    d.parent = p;
                }
            }
            for p in [parent, newparent] {
                let n = self.node_mut(p)?;
                n.mtime = now;
                n.ctime = now;
            }
            return Ok(());
        }
        if src_dir && self.is_ancestor(src, newparent) {
            return Err(Errno::EINVAL);
        }
        if let Some(dst) = dst {
            if flags.contains(RenameFlags::NOREPLACE) {
                return Err(Errno::EEXIST);
            }
            if dst == src {
                return Ok(());
            }
            let dst_node = self.node(dst)?;
            perm::check_sticky(ctx, self.node(newparent)?, dst_node)?;
            match (src_dir, dst_node.dir()) {
                (true, None) => return Err(Errno::ENOTDIR),
                (false, Some(_)) => return Err(Errno::EISDIR),
                (true, Some(d)) if !d.is_empty() => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
            self.unlink_from(now, newparent, newname.as_bytes())?;
            self.reclaim(dst);
        }
        self.detach(now, parent, name.as_bytes())?;
        self.node_mut(src)?.ctime = now;
        self.link_into(now, newparent, newname.as_bytes(), src)
    }

    /// LINK `node` as `newname` in `newparent`.
    pub(crate) fn link(
        &mut self,
        ctx: &Context,
        now: Timespec,
        node: NodeId,
        newparent: NodeId,
        newname: Name<'_>,
    ) -> Result<Entry> {
        let n = self.node(node)?;
        if n.is_dir() {
            return Err(Errno::EPERM);
        }
        if n.nlink == 0 && !n.linkable {
            return Err(Errno::ENOENT);
        }
        if n.nlink == u32::MAX {
            return Err(Errno::EMLINK);
        }
        if self
            .writable_dir(ctx, newparent)?
            .get(newname.as_bytes())
            .is_some()
        {
            return Err(Errno::EEXIST);
        }
        let n = self.node_mut(node)?;
        n.nlink += 1;
        n.linkable = false;
        n.ctime = now;
        self.link_into(now, newparent, newname.as_bytes(), node)?;
        self.entry(node)
    }

    /// READDIR / READDIRPLUS of `dir` from `offset`.
    pub(crate) fn readdir(
        &mut self,
        ctx: &Context,
        dir: NodeId,
        offset: u64,
        out: &mut DirSink<'_>,
    ) -> Result<()> {
        let (n, d) = self.dir(dir)?;
        perm::check(ctx, n, R_OK)?;
        let parent = d.parent;
        let dtype = mode::dtype(mode::S_IFDIR);
        for (off, name, ino) in [(1u64, &b"."[..], dir), (2, b"..", parent)] {
            if offset < off && !out.add(ino, off, dtype, name)? {
                return Ok(());
            }
        }
        // One entry at a time: READDIRPLUS counts a lookup (a mutation) per entry.
        let mut cur = offset;
        let mut name = [0u8; crate::abi::NAME_MAX];
        loop {
            let (off, len, ino) = {
                let (_, d) = self.dir(dir)?;
                match d.entries_after(cur).next() {
                    Some((off, n, ino)) if n.len() <= name.len() => {
                        name[..n.len()].copy_from_slice(n);
                        (off, n.len(), ino)
                    }
                    _ => break,
                }
            };
            let name = &name[..len];
            if !out.fits(len) {
                break;
            }
            if out.is_plus() {
                let e = self.entry(ino)?;
                if !out.add_plus(&e, off, mode::dtype(e.attr.mode), name)? {
                    self.forget(ino, 1);
                    break;
                }
            } else if !out.add(ino, off, self.node(ino)?.dtype(), name)? {
                break;
            }
            cur = off;
        }
        Ok(())
    }
}
