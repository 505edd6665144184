//! loom model: concurrent inserts, lookups, removals and clears of the
//! negative cache never lose an entry, never return a stale one, and never
//! tear a slot.
#![cfg(loom)]

use arcbox_fs::negcache::NegativeCache;
use arcbox_fs::{Instant, Name};
use core::time::Duration;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicU32, Ordering};
use loom::thread;

const TTL: Duration = Duration::from_secs(1);

fn name(s: &'static str) -> Name<'static> {
    Name::new(s.as_bytes()).expect("valid name")
}

#[test]
fn concurrent_inserts_in_one_set_both_land() {
    loom::model(|| {
        let c: Arc<NegativeCache<1, 2>> = Arc::new(NegativeCache::new());
        let c2 = c.clone();
        let t = thread::spawn(move || c2.insert(1, 0, name("a"), Instant::ZERO, TTL));
        c.insert(1, 0, name("b"), Instant::ZERO, TTL);
        t.join().expect("join");
        assert!(c.contains(1, 0, name("a"), Instant::ZERO));
        assert!(c.contains(1, 0, name("b"), Instant::ZERO));
    });
}

/// The passthrough protocol: a lookup reads the directory generation before
/// asking the host and inserts under it; a create bumps the generation after
/// the host created the name. Whatever the interleaving, once the create is
/// done a lookup never answers "absent" from the cache.
#[test]
fn create_after_miss_is_never_hidden() {
    loom::model(|| {
        let c: Arc<NegativeCache<1, 2>> = Arc::new(NegativeCache::new());
        let dir_gen = Arc::new(AtomicU32::new(0));
        // true once the "host" has the file.
        let exists = Arc::new(AtomicU32::new(0));

        let (c2, g2, e2) = (c.clone(), dir_gen.clone(), exists.clone());
        let lookup = thread::spawn(move || {
            let g = g2.load(Ordering::Acquire);
            if e2.load(Ordering::Acquire) == 0 {
                c2.insert(7, g, name("f"), Instant::ZERO, TTL);
            }
        });
        // create: host first, then the generation.
        exists.store(1, Ordering::Release);
        dir_gen.fetch_add(1, Ordering::AcqRel);
        lookup.join().expect("join");

        let g = dir_gen.load(Ordering::Acquire);
        assert!(
            !c.contains(7, g, name("f"), Instant::ZERO),
            "a stale negative entry hides a real file"
        );
    });
}

#[test]
fn remove_and_clear_race_with_insert() {
    loom::model(|| {
        let c: Arc<NegativeCache<1, 1>> = Arc::new(NegativeCache::new());
        let c2 = c.clone();
        let t = thread::spawn(move || {
            c2.insert(1, 0, name("x"), Instant::ZERO, TTL);
        });
        c.remove(1, name("x"));
        c.clear();
        t.join().expect("join");
        // Either outcome is fine; the slot must be whole: a hit only for "x".
        let _ = c.contains(1, 0, name("x"), Instant::ZERO);
        assert!(!c.contains(1, 0, name("y"), Instant::ZERO));
    });
}
