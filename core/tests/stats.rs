//! The dispatcher's [`Stats`](arcbox_fs::Stats): every handled request is
//! counted under its opcode, errors by errno, latency with the clock given.
#![allow(clippy::unwrap_used)]

use arcbox_fs::abi::{InitFlags, Opcode};
use arcbox_fs::builder::RequestBuilder;
use arcbox_fs::memfs::MemFs;
use arcbox_fs::stats::{LATENCY_BUCKETS, bucket_of};
use arcbox_fs::{Errno, FuseDispatcher, Instant, Outcome};
use core::time::Duration;

/// Every request "takes" 5 µs: the clock advances 5 µs per reading (two
/// readings per request; tests in this file run one at a time on it).
fn clock() -> Instant {
    static T: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    Instant::from_nanos(T.fetch_add(5_000, std::sync::atomic::Ordering::SeqCst))
}

fn handle(d: &FuseDispatcher<MemFs>, req: &[u8]) -> Outcome {
    let mut reply = [0u8; 4096];
    d.handle(Instant::ZERO, req, &mut reply[..])
}

#[test]
fn counts_errors_and_latencies_of_a_session() {
    let d = FuseDispatcher::new(MemFs::new()).with_clock(clock);
    let mut buf = [0u8; 256];
    let lookup = Opcode::LOOKUP as u32;

    // Before INIT every request is EIO.
    let r = RequestBuilder::lookup(&mut buf, 1, 1, b"x").unwrap();
    assert!(matches!(handle(&d, r), Outcome::Reply(16)));
    let init = RequestBuilder::init(&mut buf, 2, 41, InitFlags::INIT_EXT).unwrap();
    assert!(matches!(handle(&d, init), Outcome::Reply(_)));
    for (u, name) in [(3u64, &b"a"[..]), (4, b"b"), (5, b"c")] {
        let r = RequestBuilder::lookup(&mut buf, u, 1, name).unwrap();
        handle(&d, r);
    }
    // Hostile input: an unknown opcode, a bad name, a truncated header.
    let mut raw = RequestBuilder::lookup(&mut buf, 6, 1, b"q")
        .unwrap()
        .to_vec();
    raw[4..8].copy_from_slice(&999u32.to_ne_bytes());
    handle(&d, &raw);
    let r = RequestBuilder::lookup(&mut buf, 7, 1, b"..").unwrap();
    handle(&d, r);
    assert!(matches!(handle(&d, &[0u8; 7]), Outcome::Dropped(_)));
    // A reply buffer too small even for an error: dropped.
    let r = RequestBuilder::lookup(&mut buf, 8, 1, b"d").unwrap();
    assert!(matches!(
        d.handle(Instant::ZERO, r, &mut [0u8; 4][..]),
        Outcome::Dropped(_)
    ));

    let s = d.stats();
    let l = s.op(lookup);
    assert_eq!(l.count, 6, "{s}");
    // Pre-INIT EIO, "..", the dropped one, and MemFs answers ENOENT for misses.
    assert!(l.errors >= 3, "{s}");
    assert_eq!(s.errno_count(Errno::EIO), 1, "{s}");
    assert!(s.errno_count(Errno::EINVAL) >= 1, "{s}");
    assert_eq!(s.op(Opcode::INIT as u32).count, 1);
    assert_eq!(s.op(Opcode::INIT as u32).errors, 0);
    assert_eq!(s.errno_count(Errno::ENOSYS), 1, "unknown opcode: {s}");
    assert_eq!(
        s.op(999).count,
        2,
        "unknown opcode and unreadable header share slot 0"
    );
    assert_eq!(s.dropped(), 2);
    assert_eq!(s.requests(), 9);
    // Every request with a readable header was timed at 5 µs.
    assert_eq!(l.timed, 6);
    assert_eq!(l.mean(), Some(Duration::from_micros(5)));
    assert_eq!(l.buckets[bucket_of(5_000)], 6);
    assert_eq!(l.buckets.iter().sum::<u64>(), 6);
    assert!(bucket_of(5_000) < LATENCY_BUCKETS);
    let text = s.to_string();
    assert!(text.contains("FUSE_LOOKUP"), "{text}");
    assert!(text.contains("FUSE_INIT"), "{text}");
    assert!(text.contains("ENOSYS 1"), "{text}");
}

#[test]
fn without_a_clock_only_counts() {
    let d = FuseDispatcher::new(MemFs::new());
    let mut buf = [0u8; 256];
    let init = RequestBuilder::init(&mut buf, 1, 41, InitFlags::empty()).unwrap();
    handle(&d, init);
    let s = d.stats().op(Opcode::INIT as u32);
    assert_eq!((s.count, s.timed, s.mean()), (1, 0, None));
}
