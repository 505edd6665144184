//! The node and handle tables behind one lock, with id allocation and
//! reclamation: a node lives while a name, a kernel lookup or an open handle
//! refers to it. Node ids and handles come from counters that never go back,
//! so an id the kernel may still hold is never given to another node.

use super::MemFsConfig;
use super::node::{Dir, Kind, Node};
use crate::abi::{ROOT_ID, mode};
use crate::errno::{Errno, Result};
use crate::fs::{Context, Entry, Fh, NodeId};
use crate::time::Timespec;
use hashbrown::HashMap;

/// An open file or directory.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Handle {
    /// The node it was opened on.
    pub(crate) node: NodeId,
    /// Opened with `OPENDIR`.
    pub(crate) dir: bool,
    /// The access mode allows reading.
    pub(crate) read: bool,
    /// The access mode allows writing.
    pub(crate) write: bool,
    /// `O_APPEND`.
    pub(crate) append: bool,
}

/// Everything the filesystem holds.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: MemFsConfig,
    pub(crate) nodes: HashMap<NodeId, Node>,
    pub(crate) handles: HashMap<Fh, Handle>,
    next_id: NodeId,
    next_fh: Fh,
    /// Data pages in use, over all files.
    pub(crate) pages: u64,
}

impl State {
    /// A filesystem with an empty root directory.
    pub(crate) fn new(config: MemFsConfig, now: Timespec) -> State {
        let mut nodes = HashMap::new();
        let root = Node::new(
            Kind::Dir(Dir::new(ROOT_ID)),
            mode::S_IFDIR | (config.root_mode & mode::S_IALLUGO),
            config.root_uid,
            config.root_gid,
            now,
            config.generation,
        );
        nodes.insert(ROOT_ID, root);
        State {
            config,
            nodes,
            handles: HashMap::new(),
            next_id: ROOT_ID + 1,
            next_fh: 1,
            pages: 0,
        }
    }

    /// The node `id`. Errors: `ENOENT` (a stale or bogus id).
    pub(crate) fn node(&self, id: NodeId) -> Result<&Node> {
        self.nodes.get(&id).ok_or(Errno::ENOENT)
    }

    /// The node `id`, mutably. Errors: `ENOENT`.
    pub(crate) fn node_mut(&mut self, id: NodeId) -> Result<&mut Node> {
        self.nodes.get_mut(&id).ok_or(Errno::ENOENT)
    }

    /// The directory node `id`. Errors: `ENOENT`, `ENOTDIR`.
    pub(crate) fn dir(&self, id: NodeId) -> Result<(&Node, &Dir)> {
        let n = self.node(id)?;
        let d = n.dir().ok_or(Errno::ENOTDIR)?;
        Ok((n, d))
    }

    /// The handle `fh`, which must be open on `node`. Errors: `EBADF`.
    pub(crate) fn handle(&self, fh: Fh, node: NodeId) -> Result<Handle> {
        match self.handles.get(&fh) {
            Some(h) if h.node == node => Ok(*h),
            _ => Err(Errno::EBADF),
        }
    }

    /// Adds a node, returning its id. Errors: `ENOSPC` past `max_nodes`.
    pub(crate) fn add_node(&mut self, node: Node) -> Result<NodeId> {
        if self.nodes.len() as u64 >= self.config.max_nodes {
            return Err(Errno::ENOSPC);
        }
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).ok_or(Errno::ENOSPC)?;
        self.nodes.insert(id, node);
        Ok(id)
    }

    /// Adds a handle on `h.node` and counts it on the node.
    pub(crate) fn add_handle(&mut self, h: Handle) -> Result<Fh> {
        let fh = self.next_fh;
        self.next_fh = self.next_fh.checked_add(1).ok_or(Errno::EMFILE)?;
        self.node_mut(h.node)?.opens += 1;
        self.handles.insert(fh, h);
        Ok(fh)
    }

    /// Closes `fh` on `node`. Errors: `EBADF`.
    pub(crate) fn remove_handle(&mut self, fh: Fh, node: NodeId) -> Result<Handle> {
        let h = self.handle(fh, node)?;
        self.handles.remove(&fh);
        if let Some(n) = self.nodes.get_mut(&node) {
            n.opens = n.opens.saturating_sub(1);
        }
        self.reclaim(node);
        Ok(h)
    }

    /// A LOOKUP-style entry for `id`, counting one kernel lookup.
    pub(crate) fn entry(&mut self, id: NodeId) -> Result<Entry> {
        let (entry_valid, attr_valid) = (self.config.entry_ttl, self.config.attr_ttl);
        let n = self.node_mut(id)?;
        n.lookups = n.lookups.saturating_add(1);
        Ok(Entry {
            nodeid: id,
            generation: n.generation,
            attr: n.attr(id),
            entry_valid,
            attr_valid,
        })
    }

    /// Drops `count` kernel lookups of `id` (saturating; the root is never freed).
    pub(crate) fn forget(&mut self, id: NodeId, count: u64) {
        if let Some(n) = self.nodes.get_mut(&id) {
            n.lookups = n.lookups.saturating_sub(count);
            self.reclaim(id);
        }
    }

    /// Frees `id` if nothing refers to it any more, returning its pages.
    pub(crate) fn reclaim(&mut self, id: NodeId) {
        if id == ROOT_ID {
            return;
        }
        let dead = matches!(self.nodes.get(&id), Some(n) if n.nlink == 0 && n.lookups == 0 && n.opens == 0);
        if dead {
            if let Some(n) = self.nodes.remove(&id) {
                if let Some(f) = n.file() {
                    self.pages = self.pages.saturating_sub(f.pages());
                }
            }
        }
    }

    /// DESTROY: the kernel forgets every node and closes every handle.
    pub(crate) fn reset_session(&mut self) {
        self.handles.clear();
        let ids: alloc::vec::Vec<NodeId> = self.nodes.keys().copied().collect();
        for id in ids {
            if let Some(n) = self.nodes.get_mut(&id) {
                n.lookups = 0;
                n.opens = 0;
            }
            self.reclaim(id);
        }
    }

    /// Owner and group of a new node in `parent` (parent sgid passes its group on).
    pub(crate) fn new_owner(&self, ctx: &Context, parent: &Node) -> (u32, u32) {
        let gid = if parent.mode & mode::S_ISGID != 0 {
            parent.gid
        } else {
            ctx.gid
        };
        (ctx.uid, gid)
    }
}
