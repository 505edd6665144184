//! Forgotten nodes: what export support keeps of a node after the guest's
//! last FORGET, in a table of fixed capacity.
//!
//! A guest kernel that made a file handle (`name_to_handle_at(2)`, an NFS
//! re-export) encodes the node id and generation in it and, once it has
//! dropped the inode, asks for the node id again (LOOKUP of `.`, Linux
//! `fuse_get_dentry`). The passthrough answers from here: node id → host
//! identity and the host's own reference ([`crate::host::Host::export`]).
//! A lookup by name of the same object takes its node id back from here too,
//! so a handle stays valid however the guest comes back to the object.
//!
//! The table never holds more than its capacity (a hostile guest that
//! looks up and forgets without end cannot grow it): inserting into a full
//! table drops the entry forgotten longest ago (entries leave on reuse, so
//! insertion order is least-recent use). Every operation is O(1) amortised.

use crate::host::HostKey;
use alloc::collections::VecDeque;
use hashbrown::HashMap;

struct Slot<E> {
    key: HostKey,
    export: E,
    /// Insertion stamp; an `order` record with another stamp is stale.
    seq: u64,
}

/// The table; see the module docs.
pub struct Forgotten<E> {
    capacity: usize,
    by_node: HashMap<u64, Slot<E>>,
    by_key: HashMap<HostKey, u64>,
    /// (node id, stamp) in insertion order; records of entries taken out
    /// are skipped when met and compacted away when they pile up.
    order: VecDeque<(u64, u64)>,
    seq: u64,
}

impl<E> Forgotten<E> {
    /// A table holding at most `capacity` nodes (0: none).
    pub fn new(capacity: usize) -> Self {
        Forgotten {
            capacity,
            by_node: HashMap::new(),
            by_key: HashMap::new(),
            order: VecDeque::new(),
            seq: 0,
        }
    }

    /// Keeps `nodeid` (identity `key`, host reference `export`), dropping
    /// the oldest entry if the table is full, and any older entry of `key`
    /// (an object with a reused inode number: the old one is gone).
    pub fn insert(&mut self, nodeid: u64, key: HostKey, export: E) {
        if self.capacity == 0 {
            return;
        }
        if let Some(old) = self.by_key.insert(key, nodeid) {
            if old != nodeid {
                self.by_node.remove(&old);
            }
        }
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        if let Some(prev) = self.by_node.insert(nodeid, Slot { key, export, seq }) {
            if prev.key != key && self.by_key.get(&prev.key) == Some(&nodeid) {
                self.by_key.remove(&prev.key);
            }
        }
        self.order.push_back((nodeid, seq));
        while self.by_node.len() > self.capacity && self.evict_oldest() {}
        if self.order.len() > 2 * self.capacity + 16 {
            let live = &self.by_node;
            self.order
                .retain(|(n, s)| live.get(n).is_some_and(|slot| slot.seq == *s));
        }
    }

    /// Drops the entry inserted longest ago; false if there is none.
    fn evict_oldest(&mut self) -> bool {
        while let Some((n, s)) = self.order.pop_front() {
            if self.by_node.get(&n).is_some_and(|slot| slot.seq == s) {
                self.remove(n);
                return true;
            }
        }
        false
    }

    /// The entry of `nodeid`, left in place.
    pub fn get(&self, nodeid: u64) -> Option<(HostKey, &E)> {
        self.by_node.get(&nodeid).map(|s| (s.key, &s.export))
    }

    /// Takes out the entry of `nodeid` (it is live again).
    pub fn remove(&mut self, nodeid: u64) -> Option<(HostKey, E)> {
        let slot = self.by_node.remove(&nodeid)?;
        if self.by_key.get(&slot.key) == Some(&nodeid) {
            self.by_key.remove(&slot.key);
        }
        Some((slot.key, slot.export))
    }

    /// Takes out the entry of identity `key` if `same` says its reference
    /// is the object being looked up; returns its node id.
    pub fn take_key_if(
        &mut self,
        key: &HostKey,
        same: impl FnOnce(&E) -> bool,
    ) -> Option<(u64, E)> {
        let nodeid = *self.by_key.get(key)?;
        let slot = self.by_node.get(&nodeid)?;
        if !same(&slot.export) {
            return None;
        }
        let (_, e) = self.remove(nodeid)?;
        Some((nodeid, e))
    }

    /// Nodes held.
    pub fn len(&self) -> usize {
        self.by_node.len()
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        self.by_node.clear();
        self.by_key.clear();
        self.order.clear();
    }
}

#[cfg(all(test, not(loom)))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(ino: u64) -> HostKey {
        HostKey {
            dev: 1,
            ino,
            mnt_id: 0,
        }
    }

    #[test]
    fn bounded_oldest_first_and_compacted() {
        let mut t = Forgotten::new(4);
        for n in 10..20u64 {
            t.insert(n, key(n), n);
            assert!(t.len() <= 4);
        }
        assert!(t.get(15).is_none());
        assert_eq!(t.get(16), Some((key(16), &16)));
        // Taking entries out and putting new ones in never grows the order log without bound.
        for n in 100..10_000u64 {
            t.insert(n, key(n), n);
            assert_eq!(t.remove(n), Some((key(n), n)));
            assert!(t.order.len() <= 2 * 4 + 16 + 1);
        }
        // The first churn insert found the table full and dropped the
        // oldest (16); the rest survive, as their records are kept.
        assert_eq!(t.len(), 3);
        for n in 17..20 {
            assert!(t.get(n).is_some(), "{n}");
        }
        t.insert(1, key(1), 1);
        t.insert(2, key(2), 2);
        assert!(t.get(17).is_none(), "oldest first, after the churn too");
    }

    #[test]
    fn key_reuse_replaces_and_take_checks_the_object() {
        let mut t = Forgotten::new(8);
        t.insert(5, key(1), 'a');
        // The host reused inode 1 for another object, which was forgotten too.
        t.insert(6, key(1), 'b');
        assert!(t.get(5).is_none(), "the older object of the key is gone");
        assert_eq!(t.take_key_if(&key(1), |e| *e == 'a'), None);
        assert_eq!(t.take_key_if(&key(1), |e| *e == 'b'), Some((6, 'b')));
        assert_eq!(t.len(), 0);
        let mut none = Forgotten::new(0);
        none.insert(1, key(1), ());
        assert_eq!(none.len(), 0);
    }
}
