//! The request path allocates nothing: a counting global allocator (this
//! file is its own test binary) watches a steady-state mix of LOOKUP,
//! GETATTR, OPEN, READ, WRITE, READDIRPLUS and RELEASE going through the
//! dispatcher into a filesystem that itself never allocates.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::abi::*;
use arcbox_fs::dirent::DirSink;
use arcbox_fs::fs::{AttrReply, Context, Entry, Fh, FileSystem, NodeId, OpenArgs, Opened};
use arcbox_fs::io::{ReplyData, RequestData};
use arcbox_fs::{Errno, FuseDispatcher, Instant, KernelInit, Name, Outcome, SgList, SgListMut};
use common::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use zerocopy::IntoBytes;

/// Counts allocations made by threads that opted in.
struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNT_ME: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if COUNT_ME.with(Cell::get) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards every call to `System` unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A fixed tree in static arrays: root (1) holding "a" (2) and "b" (3).
struct StaticFs {
    lookups: [AtomicU64; 4],
    next_fh: AtomicU64,
    written: AtomicU64,
}

const NAMES: [&[u8]; 2] = [b"a", b"b"];
static DATA: [u8; 8192] = [0x42; 8192];

fn attr(node: NodeId) -> Attr {
    let dir = node == ROOT_ID;
    Attr {
        ino: node,
        size: if dir { 4096 } else { DATA.len() as u64 },
        mode: if dir {
            mode::S_IFDIR | 0o755
        } else {
            mode::S_IFREG | 0o644
        },
        nlink: if dir { 2 } else { 1 },
        blksize: 4096,
        ..Attr::default()
    }
}

impl StaticFs {
    fn entry(&self, node: NodeId) -> Entry {
        self.lookups[node as usize].fetch_add(1, Ordering::Relaxed);
        Entry {
            nodeid: node,
            generation: 1,
            attr: attr(node),
            entry_valid: Duration::from_secs(1),
            attr_valid: Duration::from_secs(1),
        }
    }
}

impl FileSystem for StaticFs {
    fn init(&self, _k: &KernelInit) -> Result<InitFlags, Errno> {
        Ok(InitFlags::DO_READDIRPLUS)
    }
    fn lookup(&self, _c: &Context, parent: NodeId, name: Name<'_>) -> Result<Entry, Errno> {
        if parent != ROOT_ID {
            return Err(Errno::ENOTDIR);
        }
        let i = NAMES
            .iter()
            .position(|n| *n == name.as_bytes())
            .ok_or(Errno::ENOENT)?;
        Ok(self.entry(i as u64 + 2))
    }
    fn forget(&self, _c: &Context, node: NodeId, n: u64) {
        if let Some(l) = self.lookups.get(node as usize) {
            let _ = l.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(n))
            });
        }
    }
    fn getattr(&self, _c: &Context, node: NodeId, _fh: Option<Fh>) -> Result<AttrReply, Errno> {
        if !(1..=3).contains(&node) {
            return Err(Errno::ENOENT);
        }
        Ok(AttrReply {
            attr: attr(node),
            valid: Duration::from_secs(1),
        })
    }
    fn open(&self, _c: &Context, _node: NodeId, _a: &OpenArgs) -> Result<Opened, Errno> {
        Ok(Opened {
            fh: self.next_fh.fetch_add(1, Ordering::Relaxed),
            ..Opened::default()
        })
    }
    fn opendir(&self, c: &Context, node: NodeId, a: &OpenArgs) -> Result<Opened, Errno> {
        self.open(c, node, a)
    }
    fn read(
        &self,
        _c: &Context,
        _n: NodeId,
        _fh: Fh,
        offset: u64,
        out: &mut ReplyData<'_>,
        _lo: Option<u64>,
        _f: u32,
    ) -> Result<(), Errno> {
        let start = (offset as usize).min(DATA.len());
        let end = start.saturating_add(out.remaining()).min(DATA.len());
        out.write(&DATA[start..end])
    }
    fn write(
        &self,
        _c: &Context,
        _n: NodeId,
        _fh: Fh,
        _o: u64,
        data: &mut RequestData<'_>,
        _wf: u32,
        _lo: Option<u64>,
        _f: u32,
    ) -> Result<u32, Errno> {
        let n = data.consume(usize::MAX, &mut |slices| {
            Ok(slices.iter().map(|s| s.len()).sum())
        })?;
        self.written.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n as u32)
    }
    fn readdirplus(
        &self,
        _c: &Context,
        node: NodeId,
        _fh: Fh,
        offset: u64,
        out: &mut DirSink<'_>,
    ) -> Result<(), Errno> {
        for (off, name) in [(1u64, &b"."[..]), (2, b"..")] {
            if offset < off && !out.add(node, off, 4, name)? {
                return Ok(());
            }
        }
        for (i, name) in NAMES.iter().enumerate() {
            let off = i as u64 + 3;
            if offset >= off || !out.fits(name.len()) {
                continue;
            }
            let e = self.entry(i as u64 + 2);
            if !out.add_plus(&e, off, 8, name)? {
                self.forget(&Context::default(), e.nodeid, 1);
                break;
            }
        }
        Ok(())
    }
    fn release(
        &self,
        _c: &Context,
        _n: NodeId,
        _fh: Fh,
        _f: u32,
        _rf: u32,
        _lo: u64,
    ) -> Result<(), Errno> {
        Ok(())
    }
}

#[test]
fn steady_state_mix_allocates_nothing() {
    let fs = StaticFs {
        lookups: Default::default(),
        next_fh: AtomicU64::new(1),
        written: AtomicU64::new(0),
    };
    let d = FuseDispatcher::new(fs);
    let mut out = vec![0u8; 64 * 1024];
    let init = raw(26, 1, 0, 0, 0, &[&init_body(7, 41, all_flags())]);
    assert!(matches!(
        d.handle(Instant::ZERO, &init[..], &mut out[..]),
        Outcome::Reply(_)
    ));
    let payload = vec![7u8; 4096];
    let mix: Vec<Vec<u8>> = vec![
        raw(Opcode::LOOKUP as u32, 2, ROOT_ID, 0, 0, &[b"a\0"]),
        raw(
            Opcode::GETATTR as u32,
            3,
            2,
            0,
            0,
            &[GetattrIn::default().as_bytes()],
        ),
        raw(
            Opcode::OPEN as u32,
            4,
            2,
            0,
            0,
            &[OpenIn {
                flags: 2,
                open_flags: 0,
            }
            .as_bytes()],
        ),
        raw(
            Opcode::READ as u32,
            5,
            2,
            0,
            0,
            &[ReadIn {
                fh: 1,
                size: 4096,
                ..ReadIn::default()
            }
            .as_bytes()],
        ),
        raw(
            Opcode::WRITE as u32,
            6,
            2,
            0,
            0,
            &[
                WriteIn {
                    fh: 1,
                    size: 4096,
                    ..WriteIn::default()
                }
                .as_bytes(),
                &payload,
            ],
        ),
        raw(
            Opcode::READDIRPLUS as u32,
            7,
            ROOT_ID,
            0,
            0,
            &[ReadIn {
                fh: 2,
                size: 4096,
                ..ReadIn::default()
            }
            .as_bytes()],
        ),
        raw(
            Opcode::RELEASE as u32,
            8,
            2,
            0,
            0,
            &[ReleaseIn {
                fh: 1,
                ..ReleaseIn::default()
            }
            .as_bytes()],
        ),
        raw(
            Opcode::FORGET as u32,
            9,
            2,
            0,
            0,
            &[ForgetIn { nlookup: 2 }.as_bytes()],
        ),
    ];
    // The same requests scattered over 7-byte segments, replies into 100-byte segments.
    let scattered: Vec<Vec<&[u8]>> = mix.iter().map(|r| r.chunks(7).collect()).collect();
    let mut sg_out = vec![0u8; 64 * 1024];
    let mut sg_segs: Vec<&mut [u8]> = sg_out.chunks_mut(100).collect();
    let mut round = |count: bool| -> usize {
        COUNT_ME.with(|c| c.set(count));
        let mut replies = 0;
        for (req, segs) in mix.iter().zip(&scattered) {
            if let Outcome::Reply(n) = d.handle(Instant::ZERO, &req[..], &mut out[..]) {
                assert_eq!(out[4..8], [0; 4], "request failed");
                replies += n;
            }
            let mut sink = SgListMut::new(&mut sg_segs);
            if let Outcome::Reply(n) = d.handle(Instant::ZERO, &SgList::new(segs), &mut sink) {
                replies += n;
            }
        }
        COUNT_ME.with(|c| c.set(false));
        replies
    };
    for _ in 0..10 {
        round(false);
    }
    let before = ALLOCS.load(Ordering::Relaxed);
    let mut bytes = 0;
    for _ in 0..1000 {
        bytes += round(true);
    }
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    assert!(bytes > 1000 * 2 * (4096 + 16), "the mix did real work");
    assert_eq!(allocs, 0, "heap allocations on the request path");
    // The counter works: an allocation on this thread is seen.
    COUNT_ME.with(|c| c.set(true));
    let v = std::hint::black_box(vec![1u8; 10]);
    COUNT_ME.with(|c| c.set(false));
    drop(v);
    assert_eq!(ALLOCS.load(Ordering::Relaxed) - before, 1);
    assert_eq!(d.fs().written.load(Ordering::Relaxed), 1010 * 2 * 4096);
}
