//! Export support (`FUSE_EXPORT_SUPPORT`): the LOOKUPs of `.` and `..`
//! that let a guest kernel open file handles it made earlier
//! (`open_by_handle_at(2)`, an NFS server re-exporting the mount).
//!
//! The guest encodes a handle as node id + generation (Linux
//! `fuse_encode_fh`, fs/fuse/inode.c). When it no longer has the inode it
//! sends LOOKUP(node, ".") (`fuse_get_dentry`) and accepts only an answer
//! with the same node id and generation; to reconnect a directory it sends
//! LOOKUP(dir, "..") (`fuse_get_parent`).
//!
//! - `.` of a node the guest still has counts one more lookup. A node it
//!   forgot is taken from the bounded table of forgotten nodes
//!   ([`super::forgotten`]), reopened through the host's own reference
//!   ([`Host::reopen`]), checked to be the same object (same identity and
//!   reference, still linked) and put back with one lookup under its old
//!   node id. Anything else (never issued, evicted, deleted, node id 0) is
//!   `ESTALE`; handle bytes never come from the guest.
//! - `..` of a directory is its host parent, which must lie inside the
//!   share: the walk up from it (through [`Host::parent`], at most
//!   [`MAX_DEPTH`] levels) must meet the share's root before the top of the
//!   host's tree, or the answer is `ESTALE` (a directory renamed out of the
//!   share on the host). The share root is its own parent. A directory
//!   reinstated for `.` is checked the same way.
//!
//! Node generations are [`super::PassthroughConfig::generation`] for every
//! node: node ids are never reused for another object within a server, and
//! a new server should use a new generation.

use super::PassthroughFs;
use super::inodes::NodeState;
use crate::abi::{ROOT_ID, mode};
use crate::errno::{Errno, Result};
use crate::fs::{Entry, NodeId};
use crate::host::{Host, Stat};

/// How often a LOOKUP of `.` looks again after the node moved between live
/// and kept under it.
const RETRIES: usize = 4;

/// Most levels walked up from a directory to find the share root; a deeper
/// directory is treated as outside (`ESTALE`). `PATH_MAX` (4096) admits
/// 2048 levels; the margin is for trees built with relative paths.
pub const MAX_DEPTH: usize = 4096;

impl<H: Host> PassthroughFs<H> {
    /// LOOKUP of `.` in `node`; see the module docs.
    pub(super) fn export_lookup_self(&self, node: NodeId) -> Result<Entry> {
        if !self.export {
            return Err(Errno::EINVAL);
        }
        if node == ROOT_ID {
            return self.root_entry();
        }
        // A FORGET (the kernel sends "." right after dropping the inode) or a
        // lookup by name may move the node between live and kept while we
        // act: each failure below means one did; look again, a few times.
        for _ in 0..RETRIES {
            match self.inodes.state(node).ok_or(Errno::ESTALE)? {
                NodeState::Live(d) => {
                    let st = self.host.stat(&d.inode)?;
                    self.check_alive(&d.inode, &st)?;
                    if self.inodes.add_ref(&d) {
                        return Ok(self.entry_for(&d, &st));
                    }
                }
                NodeState::Kept(key, kept) => {
                    let (inode, st) = self.host.reopen(&kept)?;
                    if st.key != key || self.host.export(&inode).as_ref() != Some(&kept) {
                        return Err(Errno::ESTALE);
                    }
                    self.check_alive(&inode, &st)?;
                    let same = |old: &H::Inode, new: &H::Inode| self.host.same_inode(old, new);
                    if let Ok(d) = self.inodes.reinstate(node, key, inode, same) {
                        return Ok(self.entry_for(&d, &st));
                    }
                }
            }
        }
        Err(Errno::ESTALE)
    }

    /// LOOKUP of `..` in directory `node`; see the module docs.
    pub(super) fn export_lookup_parent(&self, node: NodeId) -> Result<Entry> {
        if !self.export {
            return Err(Errno::EINVAL);
        }
        let d = self.inodes.get(node).ok_or(Errno::ESTALE)?;
        if node == ROOT_ID {
            return self.root_entry();
        }
        let st = self.host.stat(&d.inode)?;
        if st.mode & mode::S_IFMT != mode::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        let (parent, pst) = self.host.parent(&d.inode)?;
        if pst.key == self.root_key()? {
            return self.root_entry();
        }
        self.check_inside(&parent, &pst)?;
        Ok(self.entry(parent, &pst))
    }

    /// The root's entry (the root is pinned: no lookup is counted).
    fn root_entry(&self) -> Result<Entry> {
        let root = self.inodes.get(ROOT_ID).ok_or(Errno::ESTALE)?;
        let st = self.host.stat(&root.inode)?;
        Ok(self.entry_for(&root, &st))
    }

    fn root_key(&self) -> Result<crate::host::HostKey> {
        Ok(self.inodes.get(ROOT_ID).ok_or(Errno::ESTALE)?.key)
    }

    /// `ESTALE` for an object with no name left (a handle of a deleted file
    /// is stale, as on NFS), and for a directory outside the share.
    fn check_alive(&self, inode: &H::Inode, st: &Stat) -> Result<()> {
        if st.nlink == 0 {
            return Err(Errno::ESTALE);
        }
        if st.mode & mode::S_IFMT == mode::S_IFDIR {
            self.check_inside(inode, st)?;
        }
        Ok(())
    }

    /// Whether directory `dir` (status `st`) is the share root or below it:
    /// walking up meets the root within [`MAX_DEPTH`] levels. `ESTALE` if
    /// the walk reaches the top of the host's tree (a directory that is its
    /// own parent) or the depth bound first.
    fn check_inside(&self, dir: &H::Inode, st: &Stat) -> Result<()> {
        let root = self.root_key()?;
        if st.key == root {
            return Ok(());
        }
        let (mut cur, mut cur_st) = self.host.parent(dir)?;
        for _ in 0..MAX_DEPTH {
            if cur_st.key == root {
                return Ok(());
            }
            let (up, up_st) = self.host.parent(&cur)?;
            if up_st.key == cur_st.key {
                return Err(Errno::ESTALE);
            }
            (cur, cur_st) = (up, up_st);
        }
        Err(Errno::ESTALE)
    }
}
