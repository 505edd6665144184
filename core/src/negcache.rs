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

/// One set: `WAYS` slots behind a lock.
type Set<const WAYS: usize> = Mutex<[Slot; WAYS]>;

/// The epoch and counters, and the operations over a table of sets (a fixed
/// array in [`NegativeCache`], a boxed slice in [`SizedNegativeCache`]).
struct State {
    epoch: AtomicU32,
    hits: AtomicU32,
    misses: AtomicU32,
}

impl State {
    fn new() -> Self {
        State {
            epoch: AtomicU32::new(1),
            hits: AtomicU32::new(0),
            misses: AtomicU32::new(0),
        }
    }

    /// The set of (parent, hash) in a table of `sets` sets (a power of two).
    fn set_of(sets: usize, parent: u64, hash: u64) -> usize {
        let h = hash ^ parent.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h ^ (h >> 29)) as usize & (sets - 1)
    }

    fn contains<const W: usize>(
        &self,
        sets: &[Set<W>],
        parent: u64,
        dir_gen: u32,
        name: Name<'_>,
        now: Instant,
    ) -> bool {
        let n = name.as_bytes();
        let hit = n.len() <= INLINE_NAME && {
            let hash = name.hash64();
            let epoch = self.epoch.load(Ordering::Acquire);
            let set = sets[Self::set_of(sets.len(), parent, hash)].lock();
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

    fn insert<const W: usize>(
        &self,
        sets: &[Set<W>],
        parent: u64,
        dir_gen: u32,
        name: Name<'_>,
        now: Instant,
        ttl: Duration,
    ) {
        let n = name.as_bytes();
        if n.len() > INLINE_NAME || ttl.is_zero() {
            return;
        }
        let hash = name.hash64();
        let epoch = self.epoch.load(Ordering::Acquire);
        let expires = now.saturating_add(ttl);
        let mut set = sets[Self::set_of(sets.len(), parent, hash)].lock();
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

    fn remove<const W: usize>(&self, sets: &[Set<W>], parent: u64, name: Name<'_>) {
        let n = name.as_bytes();
        if n.len() > INLINE_NAME {
            return;
        }
        let hash = name.hash64();
        let mut set = sets[Self::set_of(sets.len(), parent, hash)].lock();
        for s in set.iter_mut() {
            if s.matches(parent, hash, n) {
                *s = EMPTY;
            }
        }
    }

    fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    fn stats(&self) -> NegStats {
        NegStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// A fixed-capacity negative lookup cache; see the module docs.
///
/// `SETS` must be a power of two. Capacity is `SETS * WAYS` names, fixed at
/// compile time and held inline (no allocator needed); see
/// [`SizedNegativeCache`] for a capacity chosen at run time.
pub struct NegativeCache<const SETS: usize = 1024, const WAYS: usize = 4> {
    sets: [Set<WAYS>; SETS],
    state: State,
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
            state: State::new(),
        }
    }

    /// Capacity in names.
    pub const fn capacity(&self) -> usize {
        SETS * WAYS
    }

    /// Whether `name` in `parent` is known not to exist at `now`, given the
    /// parent's current generation `dir_gen`.
    pub fn contains(&self, parent: u64, dir_gen: u32, name: Name<'_>, now: Instant) -> bool {
        self.state.contains(&self.sets, parent, dir_gen, name, now)
    }

    /// Records that `name` in `parent` did not exist when the parent's
    /// generation was `dir_gen` (read before the host was asked), for `ttl` from `now`.
    pub fn insert(&self, parent: u64, dir_gen: u32, name: Name<'_>, now: Instant, ttl: Duration) {
        self.state
            .insert(&self.sets, parent, dir_gen, name, now, ttl)
    }

    /// Forgets `name` in `parent`, whatever its generation.
    pub fn remove(&self, parent: u64, name: Name<'_>) {
        self.state.remove(&self.sets, parent, name)
    }

    /// Forgets everything (host events were lost).
    pub fn clear(&self) {
        self.state.clear()
    }

    /// Hit and miss counters.
    pub fn stats(&self) -> NegStats {
        self.state.stats()
    }
}

/// A [`NegativeCache`] whose capacity is chosen when it is built: the sets
/// are allocated once, at construction; lookups, inserts and removals
/// allocate nothing (the same code as [`NegativeCache`]).
#[cfg(feature = "alloc")]
pub struct SizedNegativeCache<const WAYS: usize = 4> {
    sets: alloc::boxed::Box<[Set<WAYS>]>,
    state: State,
}

#[cfg(feature = "alloc")]
impl<const WAYS: usize> SizedNegativeCache<WAYS> {
    const CHECK: () = assert!(WAYS > 0, "WAYS > 0");

    /// A cache of at least `names` names (rounded up to a power-of-two number
    /// of sets of `WAYS`; at least one set). `0` makes a disabled cache
    /// that holds nothing and never hits. About 96 bytes per name (the
    /// name is stored inline, up to [`INLINE_NAME`] bytes).
    pub fn with_capacity(names: usize) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        let sets = if names == 0 {
            0
        } else {
            names
                .div_ceil(WAYS)
                .checked_next_power_of_two()
                .unwrap_or(1 << (usize::BITS - 1))
        };
        SizedNegativeCache {
            sets: (0..sets).map(|_| Mutex::new([EMPTY; WAYS])).collect(),
            state: State::new(),
        }
    }

    /// Capacity in names (0: disabled).
    pub fn capacity(&self) -> usize {
        self.sets.len() * WAYS
    }

    /// Whether `name` in `parent` is known not to exist at `now`, given the
    /// parent's current generation `dir_gen` (see [`NegativeCache::contains`]).
    pub fn contains(&self, parent: u64, dir_gen: u32, name: Name<'_>, now: Instant) -> bool {
        if self.sets.is_empty() {
            self.state.misses.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.state.contains(&self.sets, parent, dir_gen, name, now)
    }

    /// Records a miss (see [`NegativeCache::insert`]).
    pub fn insert(&self, parent: u64, dir_gen: u32, name: Name<'_>, now: Instant, ttl: Duration) {
        if !self.sets.is_empty() {
            self.state
                .insert(&self.sets, parent, dir_gen, name, now, ttl)
        }
    }

    /// Forgets `name` in `parent`, whatever its generation.
    pub fn remove(&self, parent: u64, name: Name<'_>) {
        if !self.sets.is_empty() {
            self.state.remove(&self.sets, parent, name)
        }
    }

    /// Forgets everything (host events were lost).
    pub fn clear(&self) {
        self.state.clear()
    }

    /// Hit and miss counters.
    pub fn stats(&self) -> NegStats {
        self.state.stats()
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

    #[test]
    fn sized_cache_capacity_and_behaviour() {
        assert_eq!(SizedNegativeCache::<4>::with_capacity(0).capacity(), 0);
        assert_eq!(SizedNegativeCache::<4>::with_capacity(1).capacity(), 4);
        assert_eq!(
            SizedNegativeCache::<4>::with_capacity(1000).capacity(),
            1024
        );
        assert_eq!(
            SizedNegativeCache::<4>::with_capacity(1025).capacity(),
            2048
        );
        let off = SizedNegativeCache::<4>::with_capacity(0);
        off.insert(1, 0, n("a"), Instant::ZERO, T);
        assert!(!off.contains(1, 0, n("a"), Instant::ZERO));
        off.remove(1, n("a"));
        assert_eq!(off.stats().misses, 1);
        let c = SizedNegativeCache::<8>::with_capacity(8192);
        let mut names = [[0u8; 8]; 4000];
        for (i, b) in names.iter_mut().enumerate() {
            *b = *b"n0000000";
            b[1..].copy_from_slice(&(i as u64 * 7919 % 10_000_000).to_le_bytes()[..7]);
            for x in b.iter_mut() {
                if *x == 0 || *x == b'/' {
                    *x = b'x';
                }
            }
        }
        for b in &names {
            c.insert(9, 0, Name::new(b).unwrap(), Instant::ZERO, T);
        }
        let hits = names
            .iter()
            .filter(|b| c.contains(9, 0, Name::new(&b[..]).unwrap(), Instant::ZERO))
            .count();
        // 4000 names in 8192 slots of 8 ways: set conflicts evict a few at most.
        assert!(hits > 3600, "{hits} of 4000");
        c.clear();
        assert!(!c.contains(9, 0, Name::new(&names[0]).unwrap(), Instant::ZERO));
    }
}
