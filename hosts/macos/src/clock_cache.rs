//! A bounded map with CLOCK (second-chance) eviction.
//!
//! The macOS host keeps directory descriptors in one of these so that a
//! guest walking a huge tree never holds more than a fixed number of
//! descriptors open (`RLIMIT_NOFILE` is finite); evicted entries are
//! reopened on demand. The structure is plain logic, compiled and tested on
//! every platform.
//!
//! Values are handed out as clones (for descriptors, `Arc`s): eviction
//! drops only the cache's clone, so a value in use stays valid. Values
//! leaving the cache are dropped after the lock is released, so closing a
//! descriptor never happens under the lock.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug)]
struct Slot<V> {
    value: V,
    generation: u64,
    referenced: bool,
}

#[derive(Debug)]
struct Inner<K, V> {
    map: HashMap<K, Slot<V>>,
    /// The CLOCK hand's order: (key, generation); entries whose generation
    /// no longer matches the map are stale and skipped.
    queue: VecDeque<(K, u64)>,
    next_gen: u64,
}

/// A map holding at most `cap` entries; see the module docs.
#[derive(Debug)]
pub struct ClockCache<K, V> {
    inner: Mutex<Inner<K, V>>,
    cap: usize,
}

impl<K: Copy + Eq + Hash, V: Clone> ClockCache<K, V> {
    /// A cache of at most `cap` entries (at least 1).
    pub fn new(cap: usize) -> Self {
        ClockCache {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                queue: VecDeque::new(),
                next_gen: 0,
            }),
            cap: cap.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// The value for `key`, marking it recently used.
    pub fn get(&self, key: &K) -> Option<V> {
        let mut g = self.lock();
        let slot = g.map.get_mut(key)?;
        slot.referenced = true;
        Some(slot.value.clone())
    }

    /// Inserts `value` for `key` unless present, and returns the value now
    /// cached (the existing one if another caller won a race; `value` is
    /// then dropped). Evicts entries not used since the hand last passed.
    pub fn insert(&self, key: K, value: V) -> V {
        let mut dropped: Vec<V> = Vec::new();
        let out;
        {
            let mut g = self.lock();
            if let Some(slot) = g.map.get_mut(&key) {
                slot.referenced = true;
                out = slot.value.clone();
                dropped.push(value);
            } else {
                let generation = g.next_gen;
                g.next_gen = generation.wrapping_add(1);
                out = value.clone();
                g.map.insert(
                    key,
                    Slot {
                        value,
                        generation,
                        referenced: false,
                    },
                );
                g.queue.push_back((key, generation));
                while g.map.len() > self.cap {
                    let Some((k, generation)) = g.queue.pop_front() else {
                        break;
                    };
                    let Some(slot) = g.map.get_mut(&k) else {
                        continue;
                    };
                    if slot.generation != generation {
                        continue;
                    }
                    if slot.referenced && k != key {
                        slot.referenced = false;
                        g.queue.push_back((k, generation));
                    } else if k != key {
                        if let Some(s) = g.map.remove(&k) {
                            dropped.push(s.value);
                        }
                    } else {
                        // Never evict the entry being inserted.
                        g.queue.push_back((k, generation));
                    }
                }
                if g.queue.len() > self.cap.saturating_mul(2).saturating_add(16) {
                    let Inner { map, queue, .. } = &mut *g;
                    queue.retain(|(k, generation)| {
                        map.get(k).is_some_and(|s| s.generation == *generation)
                    });
                }
            }
        }
        drop(dropped);
        out
    }

    /// Removes `key`'s entry.
    pub fn remove(&self, key: &K) {
        let old = self.lock().map.remove(key);
        drop(old);
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts live values, standing in for open descriptors.
    #[derive(Debug)]
    struct Fd(Arc<AtomicUsize>);
    impl Fd {
        fn new(live: &Arc<AtomicUsize>) -> Arc<Fd> {
            live.fetch_add(1, Ordering::SeqCst);
            Arc::new(Fd(Arc::clone(live)))
        }
    }
    impl Drop for Fd {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn never_exceeds_capacity() {
        let live = Arc::new(AtomicUsize::new(0));
        let c = ClockCache::new(64);
        for i in 0..100_000u64 {
            let v = c.insert(i, Fd::new(&live));
            drop(v);
            if i % 7 == 0 {
                let _ = c.get(&(i / 2));
            }
            assert!(c.len() <= 64);
        }
        // Every value not in the cache was closed.
        assert_eq!(live.load(Ordering::SeqCst), c.len());
    }

    #[test]
    fn values_in_use_survive_eviction() {
        let live = Arc::new(AtomicUsize::new(0));
        let c = ClockCache::new(2);
        let held = c.insert(1u64, Fd::new(&live));
        for i in 2..10u64 {
            c.insert(i, Fd::new(&live));
        }
        assert!(c.get(&1).is_none());
        // The held clone is still alive.
        assert_eq!(Arc::strong_count(&held), 1);
        assert_eq!(live.load(Ordering::SeqCst), c.len() + 1);
    }

    #[test]
    fn recently_used_entries_get_a_second_chance() {
        let c = ClockCache::new(3);
        for k in [1u32, 2, 3] {
            c.insert(k, k);
        }
        assert_eq!(c.get(&1), Some(1));
        c.insert(4, 4);
        // 2 was the oldest unreferenced entry.
        assert_eq!(c.get(&2), None);
        assert_eq!(c.get(&1), Some(1));
        assert_eq!(c.get(&4), Some(4));
    }

    #[test]
    fn racing_insert_keeps_the_first_value() {
        let c = ClockCache::new(4);
        assert_eq!(c.insert(7u8, 'a'), 'a');
        assert_eq!(c.insert(7u8, 'b'), 'a');
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn remove_and_reinsert_with_stale_queue_entries() {
        let c = ClockCache::new(2);
        for round in 0..1000u32 {
            c.insert(1u32, round);
            c.remove(&1);
            c.insert(2u32, round);
            c.insert(3u32, round);
            assert!(c.len() <= 2);
        }
        assert!(!c.is_empty());
        assert_eq!(c.capacity(), 2);
    }
}
