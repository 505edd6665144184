//! [`NegativeCache`]: remembers names that do not exist, so repeated misses
//! never reach the host.
//!
//! Fixed capacity, no allocation: a set-associative table of `SETS` sets of
//! `WAYS` slots, each set behind its own lock. A slot is keyed by
//! (parent, name hash) and holds the name itself (up to
//! [`INLINE_NAME`] bytes; longer names are never cached) for a full-name
//! check on hit, the parent directory's *generation* at the time of the
//! miss, and an expiry time from the caller's clock.
//!
//! Invalidation is by generation: anything that may create a name in a
//! directory (create, mkdir, mknod, symlink, link, rename, tmpfile, a host
//! change) bumps that directory's generation, which the caller keeps (the
//! passthrough keeps it in the inode) and passes to every call; entries stored
//! under an older generation never hit. A global epoch ([`NegativeCache::clear`])
//! drops everything at once. The caller reads the generation *before* asking
//! the host, so a create that races with a miss can never leave a stale entry.
//!
//! A stale negative entry would hide a real file: correctness first.

use crate::name::Name;
use crate::sync::{AtomicU32, Mutex, Ordering};
use crate::time::Instant;
use core::time::Duration;

/// Longest name stored; longer names always go to the host.
pub const INLINE_NAME: usize = 63;

#[derive(Clone, Copy, Debug)]
struct Slot {
    parent: u64,
    hash: u64,
    expires: Instant,
    dir_gen: u32,
    epoch: u32,
    len: u8,
    name: [u8; INLINE_NAME],
}

const EMPTY: Slot = Slot {
    parent: 0,
    hash: 0,
    expires: Instant::ZERO,
    dir_gen: 0,
    epoch: 0,
    len: 0,
    name: [0; INLINE_NAME],
};

impl Slot {
    fn matches(&self, parent: u64, hash: u64, name: &[u8]) -> bool {
        self.len != 0
            && self.parent == parent
            && self.hash == hash
            && &self.name[..self.len as usize] == name
    }
}

/// Counters of a [`NegativeCache`], for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NegStats {
    /// Lookups answered from the cache.
    pub hits: u32,
    /// Lookups that went on to the host.
    pub misses: u32,
}

/// A fixed-capacity negative lookup cache; see the module docs.
///
/// `SETS` must be a power of two. Capacity is `SETS * WAYS` names.
pub struct NegativeCache<const SETS: usize = 1024, const WAYS: usize = 4> {
    sets: [Mutex<[Slot; WAYS]>; SETS],
    epoch: AtomicU32,
    hits: AtomicU32,
    misses: AtomicU32,
}

impl<const SETS: usize, const WAYS: usize> Default for NegativeCache<SETS, WAYS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SETS: usize, const WAYS: usize> NegativeCache<SETS, WAYS> {
    const CHECK: () = assert!(
        SETS.is_power_of_two() && WAYS > 0,
        "SETS must be a power of two, WAYS > 0"
    );

    /// An empty cache.
    pub fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        NegativeCache {
            sets: core::array::from_fn(|_| Mutex::new([EMPTY; WAYS])),
            epoch: AtomicU32::new(1),
            hits: AtomicU32::new(0),
            misses: AtomicU32::new(0),
        }
    }

    /// Capacity in names.
    pub const fn capacity(&self) -> usize {
        SETS * WAYS
    }

    fn set_of(parent: u64, hash: u64) -> usize {
        let h = hash ^ parent.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h ^ (h >> 29)) as usize & (SETS - 1)
    }

    /// Whether `name` in `parent` is known not to exist at `now`, given the
    /// parent's current generation `dir_gen`.
    pub fn contains(&self, parent: u64, dir_gen: u32, name: Name<'_>, now: Instant) -> bool {
        let n = name.as_bytes();
        let hit = n.len() <= INLINE_NAME && {
            let hash = name.hash64();
            let epoch = self.epoch.load(Ordering::Acquire);
            let set = self.sets[Self::set_of(parent, hash)].lock();
            set.iter().any(|s| {
                s.matches(parent, hash, n)
                    && s.dir_gen == dir_gen
                    && s.epoch == epoch
                    && now < s.expires
            })
        };
        let c = if hit { &self.hits } else { &self.misses };
        c.fetch_add(1, Ordering::Relaxed);
        hit
    }

    /// Records that `name` in `parent` did not exist when the parent's
    /// generation was `dir_gen` (read before the host was asked), for `ttl` from `now`.
    pub fn insert(&self, parent: u64, dir_gen: u32, name: Name<'_>, now: Instant, ttl: Duration) {
        let n = name.as_bytes();
        if n.len() > INLINE_NAME || ttl.is_zero() {
            return;
        }
        let hash = name.hash64();
        let epoch = self.epoch.load(Ordering::Acquire);
        let expires = now.saturating_add(ttl);
        let mut set = self.sets[Self::set_of(parent, hash)].lock();
        // Same name, else an empty/stale slot, else the one expiring first.
        let mut victim = 0;
        let mut best = (3u8, Instant::ZERO);
        for (i, s) in set.iter().enumerate() {
            let rank = if s.matches(parent, hash, n) {
                (0, s.expires)
            } else if s.len == 0 || s.epoch != epoch || s.expires <= now {
                (1, s.expires)
            } else {
                (2, s.expires)
            };
            if rank < best {
                best = rank;
                victim = i;
            }
        }
        let mut slot = Slot {
            parent,
            hash,
            expires,
            dir_gen,
            epoch,
            len: n.len() as u8,
            name: [0; INLINE_NAME],
        };
        slot.name[..n.len()].copy_from_slice(n);
        set[victim] = slot;
    }

    /// Forgets `name` in `parent`, whatever its generation.
    pub fn remove(&self, parent: u64, name: Name<'_>) {
        let n = name.as_bytes();
        if n.len() > INLINE_NAME {
            return;
        }
        let hash = name.hash64();
        let mut set = self.sets[Self::set_of(parent, hash)].lock();
        for s in set.iter_mut() {
            if s.matches(parent, hash, n) {
                *s = EMPTY;
            }
        }
    }

    /// Forgets everything (host events were lost).
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Hit and miss counters.
    pub fn stats(&self) -> NegStats {
        NegStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

#[cfg(all(test, not(loom)))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name<'_> {
        Name::new(s.as_bytes()).unwrap()
    }
    const T: Duration = Duration::from_secs(1);

    #[test]
    fn hit_until_expiry_or_generation_change() {
        let c: NegativeCache<8, 2> = NegativeCache::new();
        let t0 = Instant::from_millis(10);
        assert!(!c.contains(1, 0, n("a"), t0));
        c.insert(1, 0, n("a"), t0, T);
        assert!(c.contains(1, 0, n("a"), t0));
        assert!(!c.contains(2, 0, n("a"), t0));
        assert!(!c.contains(1, 0, n("b"), t0));
        assert!(
            !c.contains(1, 1, n("a"), t0),
            "a bumped generation must miss"
        );
        assert!(
            !c.contains(1, 0, n("a"), Instant::from_millis(1010)),
            "expired"
        );
        c.remove(1, n("a"));
        assert!(!c.contains(1, 0, n("a"), t0));
        c.insert(1, 0, n("a"), t0, T);
        c.clear();
        assert!(!c.contains(1, 0, n("a"), t0));
        assert_eq!(c.stats().hits, 1);
    }

    #[test]
    fn long_names_and_zero_ttl_are_not_cached() {
        let c: NegativeCache<8, 2> = NegativeCache::new();
        let long = [b'x'; 64];
        let long = Name::new(&long).unwrap();
        c.insert(1, 0, long, Instant::ZERO, T);
        assert!(!c.contains(1, 0, long, Instant::ZERO));
        c.insert(1, 0, n("z"), Instant::ZERO, Duration::ZERO);
        assert!(!c.contains(1, 0, n("z"), Instant::ZERO));
    }

    #[test]
    fn full_name_check_on_hash_collision_set() {
        // Fill one tiny cache with many names: never a false hit.
        let c: NegativeCache<1, 4> = NegativeCache::new();
        let names: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
        for s in names {
            c.insert(7, 0, n(s), Instant::ZERO, T);
        }
        for s in ["g", "h", "aa"] {
            assert!(!c.contains(7, 0, n(s), Instant::ZERO));
        }
        let hits = names
            .iter()
            .filter(|s| c.contains(7, 0, n(s), Instant::ZERO))
            .count();
        assert_eq!(hits, 4);
    }
}
