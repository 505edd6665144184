//! loom model: export support's forgotten nodes under concurrency. A
//! FORGET to zero (node kept), a lookup by name (reclaims the kept node id)
//! and a LOOKUP of "." (count a live node, or reinstate a kept one) in any
//! order leave the node under its one node id with exactly the lookups the
//! guest was given.
#![cfg(loom)]

use arcbox_fs::host::HostKey;
use arcbox_fs::passthrough::inodes::{InodeTable, NodeState};
use loom::sync::Arc;
use loom::thread;

const ROOT: HostKey = HostKey {
    dev: 1,
    ino: 1,
    mnt_id: 0,
};
const K: HostKey = HostKey {
    dev: 1,
    ino: 42,
    mnt_id: 0,
};

type T = InodeTable<u32, u32>;

fn same(a: &u32, b: &u32) -> bool {
    a == b
}

/// What `PassthroughFs`'s LOOKUP of "." does with the table
/// (passthrough/export.rs): count a live node, else reinstate a kept one
/// (the "host reopen" of export `e` is inode `e`), looking again when the
/// node moved meanwhile. The node id answered, if any.
fn dot(t: &T, n: u64) -> Option<u64> {
    for _ in 0..4 {
        match t.state(n)? {
            NodeState::Live(d) => {
                if t.add_ref(&d) {
                    return Some(n);
                }
            }
            NodeState::Kept(key, e) => {
                if let Ok(d) = t.reinstate(n, key, e, same) {
                    return Some(d.nodeid);
                }
            }
        }
    }
    None
}

fn kept(t: &T, n: u64) {
    drop(t.forget_keep(n, 1, |i| Some(*i)));
}

#[test]
fn lookup_by_name_races_forget_to_zero() {
    loom::model(|| {
        let t: Arc<T> = Arc::new(InodeTable::with_forgotten(ROOT, 0, 4));
        let first = t.insert_or_ref(K, 1, same).nodeid;
        let t2 = t.clone();
        let forget = thread::spawn(move || kept(&t2, first));
        let again = t.insert_or_reclaim(K, 1, same, |e, i| e == i);
        forget.join().expect("join");
        // Either order: the same object keeps its node id, counted once.
        assert_eq!(again.nodeid, first);
        assert_eq!(t.lookups(first), Some(1));
        assert_eq!(t.forgotten_len(), 0);
        assert_eq!(t.len(), 2);
    });
}

#[test]
fn dot_races_forget_to_zero() {
    loom::model(|| {
        let t: Arc<T> = Arc::new(InodeTable::with_forgotten(ROOT, 0, 4));
        let n = t.insert_or_ref(K, 1, same).nodeid;
        let t2 = t.clone();
        let forget = thread::spawn(move || kept(&t2, n));
        let got = dot(&t, n);
        forget.join().expect("join");
        assert_eq!(got, Some(n), "the node is live or kept throughout");
        assert_eq!(t.lookups(n), Some(1));
        assert_eq!(t.find_key(&K).map(|d| d.nodeid), Some(n));
    });
}

#[test]
fn dot_races_lookup_by_name_of_a_kept_node() {
    loom::model(|| {
        let t: Arc<T> = Arc::new(InodeTable::with_forgotten(ROOT, 0, 4));
        let n = t.insert_or_ref(K, 1, same).nodeid;
        kept(&t, n);
        let t2 = t.clone();
        let by_name = thread::spawn(move || t2.insert_or_reclaim(K, 1, same, |e, i| e == i).nodeid);
        let got = dot(&t, n);
        let named = by_name.join().expect("join");
        assert_eq!((got, named), (Some(n), n));
        assert_eq!(t.lookups(n), Some(2));
        assert_eq!(t.forgotten_len(), 0);
        assert_eq!(t.len(), 2);
    });
}
