//! The tree of nodes and its namespace operations (lookup, create, link,
//! unlink, rmdir, rename), all under the host's one lock.

use super::node::{Kind, Node};
use crate::abi::{RenameFlags, mode};
use crate::errno::{Errno, Result};
use crate::host::Creds;
use crate::name::Name;
use crate::time::Timespec;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Inode number of the root directory.
pub(super) const ROOT_INO: u64 = 1;

/// Everything a [`super::MemHost`] holds.
#[derive(Debug)]
pub(super) struct State {
    /// Live nodes by inode number.
    pub(super) nodes: BTreeMap<u64, Node>,
    next_ino: u64,
    next_file: u64,
    /// Most nodes alive at once.
    pub(super) max_nodes: u64,
    /// Whether external changes are reported.
    pub(super) watcher: bool,
    /// External changes not yet drained: (directory, name).
    pub(super) changes: Vec<(u64, Box<[u8]>)>,
    /// Changes were dropped: the next drain reports an overflow.
    pub(super) overflow: bool,
}

/// Most changes queued before they collapse into an overflow.
pub(super) const MAX_CHANGES: usize = 4096;

impl State {
    /// A tree holding only the root directory (pinned by one reference).
    pub(super) fn new(root_mode: u32, uid: u32, gid: u32, now: Timespec, max_nodes: u64) -> State {
        let mut root = Node::new(
            Kind::Dir {
                parent: ROOT_INO,
                entries: BTreeMap::new(),
            },
            mode::S_IFDIR | (root_mode & mode::S_IALLUGO),
            uid,
            gid,
            now,
        );
        root.refs = 1;
        let mut nodes = BTreeMap::new();
        nodes.insert(ROOT_INO, root);
        State {
            nodes,
            next_ino: ROOT_INO + 1,
            next_file: 1,
            max_nodes,
            watcher: false,
            changes: Vec::new(),
            overflow: false,
        }
    }

    /// The node `ino` (alive while any reference to it is).
    pub(super) fn node(&self, ino: u64) -> Result<&Node> {
        self.nodes.get(&ino).ok_or(Errno::ESTALE)
    }

    /// The node `ino`, mutably.
    pub(super) fn node_mut(&mut self, ino: u64) -> Result<&mut Node> {
        self.nodes.get_mut(&ino).ok_or(Errno::ESTALE)
    }

    /// A fresh open-file id (flock owner).
    pub(super) fn file_id(&mut self) -> u64 {
        let id = self.next_file;
        self.next_file += 1;
        id
    }

    /// The entries of directory `dir` (`ENOTDIR` otherwise).
    fn entries(&self, dir: u64) -> Result<&BTreeMap<Box<[u8]>, u64>> {
        match &self.node(dir)?.kind {
            Kind::Dir { entries, .. } => Ok(entries),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn entries_mut(&mut self, dir: u64) -> Result<&mut BTreeMap<Box<[u8]>, u64>> {
        match &mut self.node_mut(dir)?.kind {
            Kind::Dir { entries, .. } => Ok(entries),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// The inode `name` names in `dir`, if any.
    pub(super) fn child(&self, dir: u64, name: &[u8]) -> Result<Option<u64>> {
        Ok(self.entries(dir)?.get(name).copied())
    }

    /// Counts one more reference to `ino`.
    pub(super) fn grab(&mut self, ino: u64) -> Result<()> {
        let n = self.node_mut(ino)?;
        n.refs = n.refs.saturating_add(1);
        Ok(())
    }

    /// Drops one reference to `ino`, freeing the node if it has no name left.
    pub(super) fn put(&mut self, ino: u64) {
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.refs = n.refs.saturating_sub(1);
        }
        self.maybe_free(ino);
    }

    /// Frees `ino` once no name and no reference keep it.
    pub(super) fn maybe_free(&mut self, ino: u64) {
        if ino != ROOT_INO
            && self
                .nodes
                .get(&ino)
                .is_some_and(|n| n.nlink == 0 && n.refs == 0)
        {
            self.nodes.remove(&ino);
        }
    }

    fn touch_dir(&mut self, dir: u64, now: Timespec) {
        if let Some(d) = self.nodes.get_mut(&dir) {
            d.mtime = now;
            d.ctime = now;
        }
    }

    /// Checks that `dir` is a live directory in which `name` may be created.
    fn check_new_name(&self, dir: u64, name: &[u8]) -> Result<()> {
        if self.node(dir)?.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        if self.entries(dir)?.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        Ok(())
    }

    /// Allocates a node owned by `creds` (group from a set-group-id `parent`,
    /// which directories also inherit). Not yet named anywhere.
    pub(super) fn alloc(
        &mut self,
        parent: u64,
        mut kind: Kind,
        mut mode: u32,
        creds: &Creds,
        now: Timespec,
    ) -> Result<u64> {
        if self.nodes.len() as u64 >= self.max_nodes {
            return Err(Errno::ENOSPC);
        }
        let p = self.node(parent)?;
        let mut gid = creds.gid;
        if p.mode & mode::S_ISGID != 0 {
            gid = p.gid;
            if mode & mode::S_IFMT == mode::S_IFDIR {
                mode |= mode::S_ISGID;
            }
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        if let Kind::Dir { parent: pp, .. } = &mut kind {
            *pp = parent;
        }
        self.nodes
            .insert(ino, Node::new(kind, mode, creds.uid, gid, now));
        Ok(ino)
    }

    /// Creates `name` in `dir` as a new node.
    pub(super) fn make(
        &mut self,
        dir: u64,
        name: Name<'_>,
        kind: Kind,
        mode: u32,
        creds: &Creds,
        now: Timespec,
    ) -> Result<u64> {
        self.check_new_name(dir, name.as_bytes())?;
        let is_dir = matches!(kind, Kind::Dir { .. });
        let ino = self.alloc(dir, kind, mode, creds, now)?;
        self.entries_mut(dir)?.insert(name.as_bytes().into(), ino);
        if is_dir {
            self.node_mut(dir)?.nlink += 1;
        }
        self.touch_dir(dir, now);
        Ok(ino)
    }

    /// A new name `name` in `dir` for the non-directory `ino`.
    pub(super) fn link(&mut self, ino: u64, dir: u64, name: Name<'_>, now: Timespec) -> Result<()> {
        let n = self.node(ino)?;
        if n.is_dir() {
            return Err(Errno::EPERM);
        }
        if n.nlink == 0 && !n.linkable {
            return Err(Errno::ENOENT);
        }
        if n.nlink == u32::MAX {
            return Err(Errno::EMLINK);
        }
        self.check_new_name(dir, name.as_bytes())?;
        self.entries_mut(dir)?.insert(name.as_bytes().into(), ino);
        let n = self.node_mut(ino)?;
        n.nlink += 1;
        n.linkable = false;
        n.ctime = now;
        self.touch_dir(dir, now);
        Ok(())
    }

    /// Removes `name` from `dir`: a non-directory (`dir_wanted == false`) or
    /// an empty directory.
    pub(super) fn remove(
        &mut self,
        dir: u64,
        name: &[u8],
        dir_wanted: bool,
        now: Timespec,
    ) -> Result<()> {
        let ino = self.child(dir, name)?.ok_or(Errno::ENOENT)?;
        let n = self.node(ino)?;
        match (&n.kind, dir_wanted) {
            (Kind::Dir { .. }, false) => return Err(Errno::EISDIR),
            (Kind::Dir { entries, .. }, true) if !entries.is_empty() => {
                return Err(Errno::ENOTEMPTY);
            }
            (Kind::Dir { .. }, true) => {}
            (_, true) => return Err(Errno::ENOTDIR),
            (_, false) => {}
        }
        self.entries_mut(dir)?.remove(name);
        self.unname(ino, dir, now)?;
        self.touch_dir(dir, now);
        self.maybe_free(ino);
        Ok(())
    }

    /// Counts one name of `ino` (in `dir`) gone.
    fn unname(&mut self, ino: u64, dir: u64, now: Timespec) -> Result<()> {
        let n = self.node_mut(ino)?;
        n.ctime = now;
        if n.is_dir() {
            n.nlink = 0;
            let d = self.node_mut(dir)?;
            d.nlink = d.nlink.saturating_sub(1);
        } else {
            n.nlink = n.nlink.saturating_sub(1);
        }
        Ok(())
    }

    /// Whether `dir` is `anc` or lies below it.
    fn is_within(&self, mut dir: u64, anc: u64) -> bool {
        for _ in 0..=self.nodes.len() {
            if dir == anc {
                return true;
            }
            match self.nodes.get(&dir).map(|n| &n.kind) {
                Some(Kind::Dir { parent, .. }) if *parent != dir => dir = *parent,
                _ => return false,
            }
        }
        false
    }

    fn set_parent(&mut self, ino: u64, parent: u64) {
        if let Some(Node {
            kind: Kind::Dir { parent: p, .. },
            ..
        }) = self.nodes.get_mut(&ino)
        {
            *p = parent;
        }
    }

    /// `renameat2` with `flags` (`RENAME_WHITEOUT` is `EINVAL`: no whiteouts here).
    pub(super) fn rename(
        &mut self,
        dir: u64,
        name: &[u8],
        newdir: u64,
        newname: &[u8],
        flags: RenameFlags,
        now: Timespec,
    ) -> Result<()> {
        let exchange = flags.contains(RenameFlags::EXCHANGE);
        if flags.contains(RenameFlags::WHITEOUT)
            || !(flags - RenameFlags::all()).is_empty()
            || (exchange && flags.contains(RenameFlags::NOREPLACE))
        {
            return Err(Errno::EINVAL);
        }
        let src = self.child(dir, name)?.ok_or(Errno::ENOENT)?;
        let dst = self.child(newdir, newname)?;
        if self.node(newdir)?.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        let src_dir = self.node(src)?.is_dir();
        if src_dir && self.is_within(newdir, src) {
            return Err(Errno::EINVAL);
        }
        if exchange {
            let dst = dst.ok_or(Errno::ENOENT)?;
            if src == dst {
                return Ok(());
            }
            let dst_dir = self.node(dst)?.is_dir();
            if dst_dir && self.is_within(dir, dst) {
                return Err(Errno::EINVAL);
            }
            self.entries_mut(dir)?.insert(name.into(), dst);
            self.entries_mut(newdir)?.insert(newname.into(), src);
            if dir != newdir && src_dir != dst_dir {
                let (from, to) = if src_dir {
                    (dir, newdir)
                } else {
                    (newdir, dir)
                };
                self.node_mut(from)?.nlink -= 1;
                self.node_mut(to)?.nlink += 1;
            }
            if src_dir {
                self.set_parent(src, newdir);
            }
            if dst_dir {
                self.set_parent(dst, dir);
            }
            self.node_mut(dst)?.ctime = now;
        } else {
            if dst == Some(src) {
                return Ok(());
            }
            if let Some(dst) = dst {
                if flags.contains(RenameFlags::NOREPLACE) {
                    return Err(Errno::EEXIST);
                }
                match (src_dir, &self.node(dst)?.kind) {
                    (true, Kind::Dir { entries, .. }) if !entries.is_empty() => {
                        return Err(Errno::ENOTEMPTY);
                    }
                    (true, Kind::Dir { .. })
                    | (false, Kind::File(_) | Kind::Symlink(_) | Kind::Special) => {}
                    (true, _) => return Err(Errno::ENOTDIR),
                    (false, Kind::Dir { .. }) => return Err(Errno::EISDIR),
                }
                self.entries_mut(newdir)?.remove(newname);
                self.unname(dst, newdir, now)?;
                self.maybe_free(dst);
            }
            self.entries_mut(dir)?.remove(name);
            self.entries_mut(newdir)?.insert(newname.into(), src);
            if src_dir && dir != newdir {
                self.node_mut(dir)?.nlink -= 1;
                self.node_mut(newdir)?.nlink += 1;
                self.set_parent(src, newdir);
            }
        }
        self.node_mut(src)?.ctime = now;
        self.touch_dir(dir, now);
        self.touch_dir(newdir, now);
        Ok(())
    }

    /// Records an external change of `name` in `dir` for `drain_changes`.
    pub(super) fn note(&mut self, dir: u64, name: &[u8]) {
        if !self.watcher {
            return;
        }
        if self.changes.len() < MAX_CHANGES {
            self.changes.push((dir, name.into()));
        } else {
            self.overflow = true;
        }
    }
}
