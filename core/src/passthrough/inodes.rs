//! The inode table: FUSE node ids ↔ host inodes, with lookup counts.
//!
//! Two sharded maps: by node id (read-mostly, for every request) and by host
//! identity ([`HostKey`], for lookups). Lookup counts live in the key map, so
//! "find or insert, then count" and "uncount, then remove at zero" are atomic
//! with respect to each other under one key-shard lock. Lock order: a key
//! shard, then a node shard. No lock is held across a host call: the host
//! lookup happens first, and a handle that turns out to be a duplicate is
//! dropped afterwards.
//!
//! When the host reuses an inode number for a new object while the guest
//! still knows the old one (`Host::same_inode` says they differ), the new
//! object gets a new node id; the old id becomes an *orphan* that lives only
//! until the guest forgets it.
//!
//! Guest FORGET counts are not trusted: a count larger than what the guest
//! was given only drops the node (never underflows), and the root is pinned.
//!
//! With export support a node dropped at its last FORGET is kept, bounded,
//! in a [`Forgotten`] table (lock order: key shard, forgotten table, node
//! shard), from which it is reinstated under the same node id
//! ([`InodeTable::reinstate`], [`InodeTable::insert_or_reclaim`]).

use super::forgotten::Forgotten;
use crate::abi::ROOT_ID;
use crate::host::HostKey;
use crate::sync::{Arc, AtomicU32, Mutex, Ordering};
use hashbrown::HashMap;

const SHARDS: usize = 16;

/// One inode the guest knows.
#[derive(Debug)]
pub struct InodeData<I> {
    /// FUSE node id.
    pub nodeid: u64,
    /// Host identity.
    pub key: HostKey,
    /// The host's reference.
    pub inode: I,
    /// Directory generation for the negative cache: bumped whenever a name
    /// may have appeared in this directory.
    pub dir_gen: AtomicU32,
}

impl<I> InodeData<I> {
    /// A node, shared, starting at directory generation `dir_gen`.
    fn shared(nodeid: u64, key: HostKey, inode: I, dir_gen: u32) -> Arc<Self> {
        Arc::new(InodeData {
            nodeid,
            key,
            inode,
            dir_gen: AtomicU32::new(dir_gen),
        })
    }

    /// The current directory generation.
    pub fn generation(&self) -> u32 {
        self.dir_gen.load(Ordering::Acquire)
    }

    /// Marks that a name may have appeared in this directory.
    pub fn bump_generation(&self) {
        self.dir_gen.fetch_add(1, Ordering::AcqRel);
    }
}

/// What the forgotten table keeps of a node: the host's reference and the
/// directory generation it had, so that negative entries cached under the
/// node id before it was forgotten are stale once it is back.
#[derive(Clone)]
struct Kept<E> {
    export: E,
    dir_gen: u32,
}

/// Where a node is ([`InodeTable::state`]).
pub enum NodeState<I, E> {
    /// Known to the guest.
    Live(Arc<InodeData<I>>),
    /// Forgotten and kept: its identity and the host's reference.
    Kept(HostKey, E),
}

struct KeyEntry {
    nodeid: u64,
    lookups: u64,
}

/// The table; see the module docs. `E` is what is kept of a forgotten
/// node ([`crate::host::Host::Export`]).
pub struct InodeTable<I, E = ()> {
    by_node: [Mutex<HashMap<u64, Arc<InodeData<I>>>>; SHARDS],
    by_key: [Mutex<HashMap<HostKey, KeyEntry>>; SHARDS],
    /// Node ids whose key now names another object: node id → lookups.
    orphans: Mutex<HashMap<u64, u64>>,
    /// Nodes the guest forgot, kept for export support.
    forgotten: Mutex<Forgotten<Kept<E>>>,
    /// Whether the forgotten table may hold anything (capacity > 0): a table
    /// without export support never takes its lock.
    keeps: bool,
    next: Mutex<u64>,
}

fn node_shard(nodeid: u64) -> usize {
    (nodeid as usize) % SHARDS
}

fn key_shard(k: &HostKey) -> usize {
    let h = k.ino.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ k.dev.rotate_left(17)
        ^ k.mnt_id.rotate_left(41);
    ((h >> 32) as usize) % SHARDS
}

impl<I, E> InodeTable<I, E> {
    /// A table holding only the root (node id 1), which is never freed, and
    /// keeping no forgotten node.
    pub fn new(root_key: HostKey, root: I) -> Self {
        Self::with_forgotten(root_key, root, 0)
    }

    /// As [`Self::new`], keeping up to `forgotten` nodes after their last
    /// FORGET (export support).
    pub fn with_forgotten(root_key: HostKey, root: I, forgotten: usize) -> Self {
        let t = InodeTable {
            by_node: core::array::from_fn(|_| Mutex::new(HashMap::new())),
            by_key: core::array::from_fn(|_| Mutex::new(HashMap::new())),
            orphans: Mutex::new(HashMap::new()),
            forgotten: Mutex::new(Forgotten::new(forgotten)),
            keeps: forgotten > 0,
            next: Mutex::new(ROOT_ID + 1),
        };
        let data = InodeData::shared(ROOT_ID, root_key, root, 0);
        t.by_key[key_shard(&root_key)].lock().insert(
            root_key,
            KeyEntry {
                nodeid: ROOT_ID,
                lookups: 1,
            },
        );
        t.by_node[node_shard(ROOT_ID)].lock().insert(ROOT_ID, data);
        t
    }

    /// The inode with node id `nodeid`, if the guest knows it.
    pub fn get(&self, nodeid: u64) -> Option<Arc<InodeData<I>>> {
        self.by_node[node_shard(nodeid)]
            .lock()
            .get(&nodeid)
            .cloned()
    }

    /// The node id of host identity `key`, if known.
    pub fn find_key(&self, key: &HostKey) -> Option<Arc<InodeData<I>>> {
        let nodeid = self.by_key[key_shard(key)]
            .lock()
            .get(key)
            .map(|e| e.nodeid)?;
        self.get(nodeid)
    }

    /// Counts one lookup of the host inode `key`, inserting it with `inode` if
    /// new (else `inode` is dropped, after the locks are released). `same`
    /// tells whether a known inode with this key is still the object `inode`
    /// refers to; if not, `inode` gets a new node id.
    pub fn insert_or_ref(
        &self,
        key: HostKey,
        inode: I,
        same: impl Fn(&I, &I) -> bool,
    ) -> Arc<InodeData<I>> {
        self.insert_or_reclaim(key, inode, same, |_, _| false)
    }

    /// As [`Self::insert_or_ref`], but an object the guest forgot gets its
    /// old node id back: `kept(export, inode)` tells whether a forgotten
    /// node's kept reference is the object `inode` refers to.
    pub fn insert_or_reclaim(
        &self,
        key: HostKey,
        inode: I,
        same: impl Fn(&I, &I) -> bool,
        kept: impl Fn(&E, &I) -> bool,
    ) -> Arc<InodeData<I>> {
        let mut keys = self.by_key[key_shard(&key)].lock();
        if let Some(e) = keys.get_mut(&key) {
            if let Some(d) = self.get(e.nodeid) {
                if same(&d.inode, &inode) {
                    e.lookups = e.lookups.saturating_add(1);
                    drop(keys);
                    drop(inode);
                    return d;
                }
                // A new object under a reused identity: orphan the old id.
                self.orphans.lock().insert(e.nodeid, e.lookups);
            }
        }
        // Held until the node is in the node map, so that a node is always
        // in one of the two (see `state`).
        let mut forgotten = self.keeps.then(|| self.forgotten.lock());
        let reclaimed = forgotten
            .as_mut()
            .and_then(|f| f.take_key_if(&key, |k| kept(&k.export, &inode)));
        let (nodeid, dir_gen) = match reclaimed {
            Some((id, k)) => (id, k.dir_gen.wrapping_add(1)),
            None => {
                let mut n = self.next.lock();
                let id = *n;
                *n = n.saturating_add(1);
                (id, 0)
            }
        };
        let d = InodeData::shared(nodeid, key, inode, dir_gen);
        keys.insert(key, KeyEntry { nodeid, lookups: 1 });
        self.by_node[node_shard(nodeid)]
            .lock()
            .insert(nodeid, d.clone());
        drop(forgotten);
        d
    }

    /// Where node `nodeid` is, seen atomically with respect to FORGET and
    /// reclaims: kept in the forgotten table (also while a FORGET is
    /// removing it), live, or unknown. The answer may be stale by the time
    /// the caller acts on it; a caller that then fails looks again.
    pub fn state(&self, nodeid: u64) -> Option<NodeState<I, E>>
    where
        E: Clone,
    {
        let forgotten = self.forgotten.lock();
        if let Some((key, kept)) = forgotten.get(nodeid) {
            return Some(NodeState::Kept(key, kept.export.clone()));
        }
        let live = self.by_node[node_shard(nodeid)]
            .lock()
            .get(&nodeid)
            .cloned();
        drop(forgotten);
        live.map(NodeState::Live)
    }

    /// Counts one more lookup of a node the guest already has (hard link,
    /// READDIRPLUS of a known inode). Returns false if the node is gone.
    pub fn add_ref(&self, data: &InodeData<I>) -> bool {
        let mut keys = self.by_key[key_shard(&data.key)].lock();
        match keys.get_mut(&data.key) {
            Some(e) if e.nodeid == data.nodeid => {
                e.lookups = e.lookups.saturating_add(1);
                true
            }
            _ => false,
        }
    }

    /// FORGET: drops `n` lookups of `nodeid`; at zero the node is removed.
    /// Unknown nodes and the root are ignored. Returns the removed inode so the
    /// caller drops the host reference outside any lock.
    pub fn forget(&self, nodeid: u64, n: u64) -> Option<Arc<InodeData<I>>> {
        self.forget_keep(nodeid, n, |_| None)
    }

    /// As [`Self::forget`]; a node removed at zero is kept in the forgotten
    /// table with what `keep` makes of its inode (called under the key
    /// shard's lock; `None`: not kept). Orphans are never kept: their
    /// identity names another object now.
    pub fn forget_keep(
        &self,
        nodeid: u64,
        n: u64,
        keep: impl FnOnce(&I) -> Option<E>,
    ) -> Option<Arc<InodeData<I>>> {
        if nodeid == ROOT_ID {
            return None;
        }
        let data = self.get(nodeid)?;
        let key = data.key;
        let mut keys = self.by_key[key_shard(&key)].lock();
        let e = match keys.get_mut(&key) {
            Some(e) if e.nodeid == nodeid => e,
            _ => {
                let mut orphans = self.orphans.lock();
                let left = orphans.get_mut(&nodeid)?;
                *left = left.saturating_sub(n);
                if *left > 0 {
                    return None;
                }
                orphans.remove(&nodeid);
                drop(orphans);
                return self.by_node[node_shard(nodeid)].lock().remove(&nodeid);
            }
        };
        e.lookups = e.lookups.saturating_sub(n);
        if e.lookups > 0 {
            return None;
        }
        keys.remove(&key);
        if let Some(export) = keep(&data.inode) {
            let dir_gen = data.generation();
            self.forgotten
                .lock()
                .insert(nodeid, key, Kept { export, dir_gen });
        }
        drop(data);
        self.by_node[node_shard(nodeid)].lock().remove(&nodeid)
    }

    /// The kept identity and reference of forgotten node `nodeid`, cloned
    /// (the entry stays until the node is reinstated).
    pub fn forgotten(&self, nodeid: u64) -> Option<(HostKey, E)>
    where
        E: Clone,
    {
        self.forgotten
            .lock()
            .get(nodeid)
            .map(|(k, kept)| (k, kept.export.clone()))
    }

    /// Number of forgotten nodes kept (diagnostics and tests).
    pub fn forgotten_len(&self) -> usize {
        self.forgotten.lock().len()
    }

    /// Makes `nodeid`, which the guest had for identity `key` and forgot,
    /// live again with one lookup, holding `inode` (the caller checked it is
    /// that node's object). If the node is live already (a lookup by name
    /// reclaimed it meanwhile, or the guest had not forgotten it) and `same`
    /// says it holds the same object, one lookup is counted. Fails (giving
    /// `inode` back) if `key` is live under another node id, `nodeid` is
    /// live with another identity (a node id never names two objects), or
    /// the forgotten table no longer holds `nodeid` for `key`.
    pub fn reinstate(
        &self,
        nodeid: u64,
        key: HostKey,
        inode: I,
        same: impl Fn(&I, &I) -> bool,
    ) -> Result<Arc<InodeData<I>>, I> {
        if nodeid == ROOT_ID || nodeid == 0 {
            return Err(inode);
        }
        let mut keys = self.by_key[key_shard(&key)].lock();
        if let Some(e) = keys.get_mut(&key) {
            if e.nodeid != nodeid {
                return Err(inode);
            }
            return match self.get(nodeid) {
                Some(d) if same(&d.inode, &inode) => {
                    e.lookups = e.lookups.saturating_add(1);
                    Ok(d)
                }
                _ => Err(inode),
            };
        }
        let mut forgotten = self.forgotten.lock();
        let mut nodes = self.by_node[node_shard(nodeid)].lock();
        if nodes.contains_key(&nodeid) {
            // Live as an orphan.
            return Err(inode);
        }
        // Gone from the table meanwhile (evicted): refused, so negative
        // entries cached under the node id can never come back to life.
        let dir_gen = match forgotten.get(nodeid) {
            Some((k, _)) if k == key => forgotten.remove(nodeid),
            _ => None,
        };
        let Some((_, kept)) = dir_gen else {
            return Err(inode);
        };
        let dir_gen = kept.dir_gen.wrapping_add(1);
        drop(forgotten);
        let d = InodeData::shared(nodeid, key, inode, dir_gen);
        keys.insert(key, KeyEntry { nodeid, lookups: 1 });
        nodes.insert(nodeid, d.clone());
        Ok(d)
    }

    /// The lookup count of `nodeid` (tests and diagnostics).
    pub fn lookups(&self, nodeid: u64) -> Option<u64> {
        let key = self.get(nodeid)?.key;
        let keys = self.by_key[key_shard(&key)].lock();
        match keys.get(&key).filter(|e| e.nodeid == nodeid) {
            Some(e) => Some(e.lookups),
            None => self.orphans.lock().get(&nodeid).copied(),
        }
    }

    /// Number of live nodes, root included.
    pub fn len(&self) -> usize {
        self.by_node.iter().map(|s| s.lock().len()).sum()
    }

    /// Whether only... never: the root is always there. Provided for clippy's sake.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Drops every node but the root (session end: the kernel forgot them all).
    pub fn clear_except_root(&self) {
        drop(core::mem::take(&mut *self.orphans.lock()));
        self.forgotten.lock().clear();
        for (i, s) in self.by_key.iter().enumerate() {
            let mut keys = s.lock();
            keys.retain(|_, e| e.nodeid == ROOT_ID);
            let _ = i;
        }
        for s in &self.by_node {
            let old: HashMap<u64, Arc<InodeData<I>>> = {
                let mut m = s.lock();
                let root = m.remove(&ROOT_ID);
                let old = core::mem::take(&mut *m);
                if let Some(r) = root {
                    m.insert(ROOT_ID, r);
                }
                old
            };
            drop(old);
        }
    }

    /// Calls `f` on every live node (for dropping caches on host overflow events).
    pub fn for_each(&self, mut f: impl FnMut(&InodeData<I>)) {
        for s in &self.by_node {
            for d in s.lock().values() {
                f(d);
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ROOT: HostKey = HostKey {
        dev: 1,
        ino: 1,
        mnt_id: 0,
    };
    const K: HostKey = HostKey {
        dev: 1,
        ino: 9,
        mnt_id: 0,
    };

    #[test]
    fn reused_inode_number_gets_a_new_node_id() {
        let t: InodeTable<u32> = InodeTable::new(ROOT, 0);
        let old = t.insert_or_ref(K, 1, |a, b| a == b).nodeid;
        assert_eq!(t.insert_or_ref(K, 1, |a, b| a == b).nodeid, old);
        // The host reused inode 9 for a new object (handle 2).
        let new = t.insert_or_ref(K, 2, |a, b| a == b);
        assert_ne!(new.nodeid, old);
        assert_eq!(new.inode, 2);
        assert_eq!(t.find_key(&K).unwrap().nodeid, new.nodeid);
        // The orphan keeps its two lookups until the guest forgets them.
        assert_eq!(t.lookups(old), Some(2));
        assert!(t.forget(old, 1).is_none());
        assert_eq!(t.forget(old, 1).map(|d| d.inode), Some(1));
        assert!(t.get(old).is_none());
        assert_eq!(t.lookups(new.nodeid), Some(1));
        assert_eq!(t.forget(new.nodeid, 1).map(|d| d.inode), Some(2));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn reinstate_never_gives_a_node_id_two_objects() {
        let same = |a: &u32, b: &u32| a == b;
        let t: InodeTable<u32, u32> = InodeTable::with_forgotten(ROOT, 0, 8);
        let n = t.insert_or_ref(K, 1, same).nodeid;
        assert!(t.forget_keep(n, 1, |i| Some(*i)).is_some());
        assert_eq!(t.forgotten(n), Some((K, 1)));
        // Never issued, the root, 0, or the wrong identity: refused.
        for (id, key) in [(n + 1, K), (ROOT_ID, ROOT), (0, K), (n, ROOT)] {
            assert_eq!(t.reinstate(id, key, 1, same).err(), Some(1), "{id}");
        }
        let d = t.reinstate(n, K, 1, same).unwrap();
        assert_eq!((d.nodeid, t.lookups(n)), (n, Some(1)));
        assert_eq!(t.forgotten_len(), 0);
        // Live under the same id (a racing "."): counted, if the same object.
        assert_eq!(t.reinstate(n, K, 1, same).unwrap().nodeid, n);
        assert_eq!(t.lookups(n), Some(2));
        assert_eq!(t.reinstate(n, K, 7, same).err(), Some(7));
        // The key now names another node: refused.
        assert!(t.forget_keep(n, 2, |i| Some(*i)).is_some());
        let other = t.insert_or_ref(K, 3, same).nodeid;
        assert_ne!(other, n);
        assert_eq!(t.reinstate(n, K, 1, same).err(), Some(1));
        // A lookup by name of the kept object reclaims its id.
        assert!(t.forget_keep(other, 1, |i| Some(*i)).is_some());
        let back = t.insert_or_reclaim(K, 3, same, |kept, i| kept == i);
        assert_eq!(back.nodeid, other);
        // Orphans are never kept.
        let fresh = t.insert_or_reclaim(K, 4, same, |kept, i| kept == i);
        assert_ne!(fresh.nodeid, other);
        assert!(t.forget_keep(other, 1, |i| Some(*i)).is_some());
        assert_eq!(t.forgotten(other), None);
    }
}
