//! loom model: the inode table under concurrent lookup (insert or count) and
//! FORGET keeps its two maps consistent, never frees the root, and never
//! underflows a count.
#![cfg(loom)]

use arcbox_fs::host::HostKey;
use arcbox_fs::passthrough::inodes::InodeTable;
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

#[test]
fn lookup_races_forget_to_zero() {
    loom::model(|| {
        let t: Arc<InodeTable<u32>> = Arc::new(InodeTable::new(ROOT, 0));
        let first = t.insert_or_ref(K, 1, |_, _| true).nodeid;
        let t2 = t.clone();
        let forget = thread::spawn(move || {
            drop(t2.forget(first, 1));
        });
        let again = t.insert_or_ref(K, 2, |_, _| true);
        forget.join().expect("join");

        // The node the lookup returned is live with exactly one lookup, and
        // both maps agree on it.
        assert_eq!(t.lookups(again.nodeid), Some(1));
        let by_key = t.find_key(&K).expect("key present");
        assert_eq!(by_key.nodeid, again.nodeid);
        assert!(t.get(again.nodeid).is_some());
        // If the forget came first, the old id is gone for good.
        if again.nodeid != first {
            assert!(t.get(first).is_none());
        }
        assert_eq!(t.len(), 2);
    });
}

#[test]
fn hostile_forget_counts() {
    loom::model(|| {
        let t: Arc<InodeTable<u32>> = Arc::new(InodeTable::new(ROOT, 0));
        let n = t.insert_or_ref(K, 1, |_, _| true).nodeid;
        let t2 = t.clone();
        let a = thread::spawn(move || {
            drop(t2.forget(n, u64::MAX));
            drop(t2.forget(1, u64::MAX));
        });
        drop(t.forget(n, 5));
        a.join().expect("join");
        assert!(t.get(n).is_none());
        assert!(t.get(1).is_some(), "the root is never freed");
        assert_eq!(t.lookups(1), Some(1));
    });
}
