//! The handle table: FUSE file handles ↔ open host files and directories.
//!
//! Sharded by handle number; handles are never reused while open, and a
//! released handle number is never handed out again in a session (a stale
//! guest handle can only miss, never alias).

use crate::sync::{Arc, Mutex};
use hashbrown::HashMap;

const SHARDS: usize = 16;

/// Open handles of type `T`.
pub struct HandleTable<T> {
    shards: [Mutex<HashMap<u64, Arc<T>>>; SHARDS],
    next: Mutex<u64>,
}

impl<T> Default for HandleTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> HandleTable<T> {
    /// An empty table.
    pub fn new() -> Self {
        HandleTable {
            shards: core::array::from_fn(|_| Mutex::new(HashMap::new())),
            next: Mutex::new(1),
        }
    }

    /// Stores `v`, returning its new handle number.
    pub fn insert(&self, v: T) -> u64 {
        let fh = {
            let mut n = self.next.lock();
            let fh = *n;
            *n = n.saturating_add(1);
            fh
        };
        self.shards[(fh as usize) % SHARDS]
            .lock()
            .insert(fh, Arc::new(v));
        fh
    }

    /// The handle `fh`, if open.
    pub fn get(&self, fh: u64) -> Option<Arc<T>> {
        self.shards[(fh as usize) % SHARDS].lock().get(&fh).cloned()
    }

    /// Closes `fh`, returning it (drop it outside any lock: that closes the host file).
    pub fn remove(&self, fh: u64) -> Option<Arc<T>> {
        self.shards[(fh as usize) % SHARDS].lock().remove(&fh)
    }

    /// Closes `fh` only if `ok` accepts it (the request's node and kind
    /// match); `Err(true)` if it is open but refused, `Err(false)` if not open.
    pub fn remove_if(&self, fh: u64, ok: impl FnOnce(&T) -> bool) -> Result<Arc<T>, bool> {
        let mut shard = self.shards[(fh as usize) % SHARDS].lock();
        match shard.get(&fh) {
            None => Err(false),
            Some(h) if !ok(h) => Err(true),
            Some(_) => shard.remove(&fh).ok_or(false),
        }
    }

    /// Calls `f` on every open handle (under each shard's lock: `f` must not
    /// call the host; clone what it needs).
    pub fn for_each(&self, mut f: impl FnMut(&Arc<T>)) {
        for s in &self.shards {
            for v in s.lock().values() {
                f(v);
            }
        }
    }

    /// Closes every handle (session end).
    pub fn clear(&self) {
        for s in &self.shards {
            let old = core::mem::take(&mut *s.lock());
            drop(old);
        }
    }

    /// Number of open handles.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// Whether no handle is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
