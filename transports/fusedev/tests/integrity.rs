//! Data integrity through the `arcbox-fuse` mount: thousands of random
//! writes, truncates, reads, fsyncs, mmap writes and reads from two threads,
//! each checked byte for byte against an in-memory model, then the host
//! files themselves against the models. Run with the default cache, with
//! the writeback cache, and through O_DIRECT descriptors (fsx's `-Z` run:
//! most offsets and lengths block-aligned, from block-aligned buffers, the
//! rest unaligned; no mmap).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Daemon, Rng, TempDir, can_mount};
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Operations per thread.
const OPS: usize = 3000;
/// Files grow up to about this size.
const MAX_LEN: u64 = 1 << 20;

fn open_rw(p: &Path, direct: bool) -> File {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(if direct { libc::O_DIRECT } else { 0 })
        .open(p)
        .unwrap()
}

/// A zeroed buffer of `n` bytes starting at a 4096-byte boundary (O_DIRECT
/// hosts may insist on aligned memory).
struct Aligned {
    raw: Vec<u8>,
    start: usize,
    n: usize,
}

impl Aligned {
    fn new(n: usize) -> Aligned {
        let raw = vec![0u8; n + 4096];
        let start = raw.as_ptr().align_offset(4096);
        Aligned { raw, start, n }
    }
    fn buf(&mut self) -> &mut [u8] {
        &mut self.raw[self.start..self.start + self.n]
    }
}

/// An offset or length for the O_DIRECT run: three in four rounded down to
/// 4096 (at least 4096 for a length), the rest as drawn.
fn direct_size(rng: &mut Rng, v: u64, length: bool) -> u64 {
    if rng.below(4) == 0 {
        v
    } else if length {
        (v / 4096 * 4096).max(4096)
    } else {
        v / 4096 * 4096
    }
}

/// Writes `data` at `off` through a shared mapping of the file and msyncs.
fn mmap_write(f: &File, off: u64, data: &[u8]) {
    let page = 4096u64;
    let start = off / page * page;
    let len = (off + data.len() as u64 - start) as usize;
    // SAFETY: maps `len` bytes of an open file we own, inside its current
    // size (checked by the caller); the mapping is unmapped below and never
    // escapes this function.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            start as i64,
        );
        assert_ne!(
            p,
            libc::MAP_FAILED,
            "mmap: {}",
            std::io::Error::last_os_error()
        );
        let dst = std::slice::from_raw_parts_mut(p.cast::<u8>(), len);
        dst[(off - start) as usize..].copy_from_slice(data);
        assert_eq!(
            libc::msync(p, len, libc::MS_SYNC),
            0,
            "msync: {}",
            std::io::Error::last_os_error()
        );
        libc::munmap(p, len);
    }
}

/// Reads `len` bytes at `off` through a private read-only mapping.
fn mmap_read(f: &File, off: u64, len: usize) -> Vec<u8> {
    let page = 4096u64;
    let start = off / page * page;
    let maplen = (off + len as u64 - start) as usize;
    // SAFETY: as in mmap_write, read-only.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            maplen,
            libc::PROT_READ,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            start as i64,
        );
        assert_ne!(
            p,
            libc::MAP_FAILED,
            "mmap: {}",
            std::io::Error::last_os_error()
        );
        let v =
            std::slice::from_raw_parts(p.cast::<u8>(), maplen)[(off - start) as usize..].to_vec();
        libc::munmap(p, maplen);
        v
    }
}

/// One thread's run on its own file; returns the model's final content.
fn exercise(path: PathBuf, seed: u64, direct: bool) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut model: Vec<u8> = Vec::new();
    let mut f = open_rw(&path, direct);
    let mut counts = [0usize; 8];
    for i in 0..OPS {
        let len = model.len() as u64;
        let op = rng.below(100);
        let what = || format!("{} op {i} (seed {seed:#x})", path.display());
        match op {
            0..=34 => {
                // pwrite, sometimes past the end (leaving a hole).
                let mut off = rng.below(len + 4096).min(MAX_LEN);
                let big = rng.below(4) == 0;
                let mut n = 1 + rng.below(if big { 65536 } else { 4096 }) as usize;
                if direct {
                    off = direct_size(&mut rng, off, false);
                    n = direct_size(&mut rng, n as u64, true) as usize;
                }
                let byte = (rng.next() & 0xff) as u8;
                let mut data = Aligned::new(n);
                for (k, b) in data.buf().iter_mut().enumerate() {
                    *b = byte.wrapping_add(k as u8);
                }
                let data = data.buf();
                f.write_all_at(data, off)
                    .unwrap_or_else(|e| panic!("{}: write: {e}", what()));
                let end = off as usize + n;
                if model.len() < end {
                    model.resize(end, 0);
                }
                model[off as usize..end].copy_from_slice(data);
                counts[0] += 1;
            }
            35..=59 => {
                // pread of a random range, compared with the model.
                let mut off = rng.below(len + 100);
                let mut n = 1 + rng.below(70000) as usize;
                if direct {
                    off = direct_size(&mut rng, off, false);
                    n = direct_size(&mut rng, n as u64, true) as usize;
                }
                let mut aligned = Aligned::new(n);
                let buf = aligned.buf();
                let mut got = 0;
                while got < n {
                    let r = f
                        .read_at(&mut buf[got..], off + got as u64)
                        .unwrap_or_else(|e| panic!("{}: read: {e}", what()));
                    if r == 0 {
                        break;
                    }
                    got += r;
                }
                let lo = (off as usize).min(model.len());
                let hi = (off as usize + n).min(model.len());
                assert_eq!(
                    got,
                    hi - lo,
                    "{}: short/long read at {off}+{n}, file len {}",
                    what(),
                    model.len()
                );
                assert!(
                    buf[..got] == model[lo..hi],
                    "{}: data mismatch reading {off}+{n}",
                    what()
                );
                counts[1] += 1;
            }
            60..=69 => {
                // truncate: shrink or grow.
                let new = if rng.below(2) == 0 {
                    rng.below(len + 1)
                } else {
                    rng.below(MAX_LEN)
                };
                f.set_len(new)
                    .unwrap_or_else(|e| panic!("{}: truncate: {e}", what()));
                model.resize(new as usize, 0);
                counts[2] += 1;
            }
            70..=76 => {
                if rng.below(2) == 0 {
                    f.sync_all()
                } else {
                    f.sync_data()
                }
                .unwrap_or_else(|e| panic!("{}: fsync: {e}", what()));
                counts[3] += 1;
            }
            77..=93 if direct => {
                // No mmap on the O_DIRECT run (as fsx -Z): a second fsync.
                f.sync_data()
                    .unwrap_or_else(|e| panic!("{}: fsync: {e}", what()));
                counts[3] += 1;
            }
            77..=86 if len > 0 => {
                // mmap write inside the current size.
                let off = rng.below(len);
                let n = (1 + rng.below(8192)).min(len - off) as usize;
                let byte = (rng.next() & 0xff) as u8;
                let data: Vec<u8> = (0..n).map(|k| byte ^ (k as u8)).collect();
                mmap_write(&f, off, &data);
                model[off as usize..off as usize + n].copy_from_slice(&data);
                counts[4] += 1;
            }
            87..=93 if len > 0 => {
                let off = rng.below(len);
                let n = (1 + rng.below(20000)).min(len - off) as usize;
                let got = mmap_read(&f, off, n);
                assert!(
                    got == model[off as usize..off as usize + n],
                    "{}: mmap data mismatch at {off}+{n}",
                    what()
                );
                counts[5] += 1;
            }
            94..=97 => {
                // close and reopen; check the size.
                drop(f);
                f = open_rw(&path, direct);
                assert_eq!(
                    f.metadata().unwrap().len(),
                    model.len() as u64,
                    "{}: size after reopen",
                    what()
                );
                counts[6] += 1;
            }
            _ => {
                // whole-file read through a fresh descriptor.
                let all =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: read file: {e}", what()));
                assert!(
                    all == model,
                    "{}: whole-file mismatch (len {} vs {})",
                    what(),
                    all.len(),
                    model.len()
                );
                counts[7] += 1;
            }
        }
    }
    f.sync_all().unwrap();
    eprintln!(
        "{}: {OPS} ops: write {} read {} truncate {} fsync {} mmap-write {} mmap-read {} reopen {} read-all {}; final size {}",
        path.display(),
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        counts[4],
        counts[5],
        counts[6],
        counts[7],
        model.len()
    );
    model
}

fn run(tag: &str, extra: &[&str], direct: bool) {
    let tmp = TempDir::new(tag);
    let src = tmp.sub("src");
    let mnt = tmp.sub("mnt");
    let mut daemon = Daemon::start(&src, &mnt, extra);
    let models: Vec<(String, Vec<u8>)> = std::thread::scope(|s| {
        let hs: Vec<_> = [
            ("a", 0x1234_5678_9abc_def1u64),
            ("b", 0x0fed_cba9_8765_4321),
        ]
        .into_iter()
        .map(|(name, seed)| {
            let p = mnt.join(name);
            s.spawn(move || (name.to_string(), exercise(p, seed, direct)))
        })
        .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Through the mount once more, then on the host disk itself.
    for (name, model) in &models {
        assert!(
            std::fs::read(mnt.join(name)).unwrap() == *model,
            "{name}: final content through the mount"
        );
    }
    let st = daemon.stop();
    assert!(st.success(), "arcbox-fuse exit status {st}");
    assert!(
        common::fuse_mounts_under(&mnt).is_empty(),
        "SIGTERM left the mount behind"
    );
    for (name, model) in &models {
        let host = std::fs::read(src.join(name)).unwrap();
        assert!(
            host == *model,
            "{name}: host file differs from the model (len {} vs {})",
            host.len(),
            model.len()
        );
    }
}

#[test]
fn random_io_matches_the_model() {
    if can_mount("random_io_matches_the_model") {
        run("integrity", &[], false);
    }
}

#[test]
fn random_io_matches_the_model_with_writeback_cache() {
    if can_mount("random_io_matches_the_model_with_writeback_cache") {
        run("integrity-wb", &["--writeback"], false);
    }
}

/// fsx's O_DIRECT run (`fsx -Z`, which Debian does not package): the same
/// model check with every write and read through O_DIRECT descriptors.
#[test]
fn random_io_matches_the_model_with_o_direct() {
    if can_mount("random_io_matches_the_model_with_o_direct") {
        run("integrity-direct", &[], true);
    }
}
