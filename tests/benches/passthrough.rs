//! In-process cost of requests through `FuseDispatcher::handle` over
//! `PassthroughFs<LinuxHost>` on a temporary directory: LOOKUP of a missing
//! name with a hot negative cache vs with it off, a hot GETATTR, and a
//! 128 KiB READ. Ends with a table (mean ns per request over a fixed
//! number of extra iterations) and the negative-cache speed-up.
//!
//! `cargo bench -p arcbox-fs-tests --bench passthrough -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, missing_docs)]

use arcbox_fs::abi::*;
use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
use arcbox_fs::{FuseDispatcher, Instant, Outcome};
use arcbox_fs_linux::LinuxHost;
use arcbox_fs_tests::fuse::{Session, cstr, on_big_stack, raw};
use criterion::{Criterion, black_box};
use std::path::Path;
use zerocopy::IntoBytes;

type Fs = PassthroughFs<LinuxHost>;

const READ_SIZE: u32 = 128 * 1024;

fn session(dir: &Path, negative_cache: bool) -> Session<Fs> {
    let dir = dir.to_path_buf();
    let cfg = PassthroughConfig {
        negative_cache,
        ..PassthroughConfig::default()
    };
    Session::new(on_big_stack(move || {
        PassthroughFs::new(LinuxHost::new(dir).unwrap(), cfg).unwrap()
    }))
}

/// One prepared request and its reply buffer.
struct Case {
    name: &'static str,
    req: Vec<u8>,
}

fn once(d: &FuseDispatcher<Fs>, req: &[u8], out: &mut [u8]) -> usize {
    match d.handle(Instant::ZERO, req, out) {
        Outcome::Reply(n) => n,
        other => panic!("unexpected {other:?}"),
    }
}

fn mean_ns(d: &FuseDispatcher<Fs>, req: &[u8], out: &mut [u8], iters: u32) -> f64 {
    let t = std::time::Instant::now();
    for _ in 0..iters {
        black_box(once(d, black_box(req), out));
    }
    t.elapsed().as_nanos() as f64 / f64::from(iters)
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("data"), vec![0x5au8; READ_SIZE as usize]).unwrap();
    let mut on = session(tmp.path(), true);
    let off = session(tmp.path(), false);
    let file = on.lookup_found(ROOT_ID, b"data").unwrap();
    let fh = on.open(file.nodeid, 0).unwrap().fh;
    // Hot negative entry: one miss first.
    assert_eq!(on.lookup(ROOT_ID, b"missing").unwrap().nodeid, 0);

    let lookup = raw(
        Opcode::LOOKUP as u32,
        9,
        ROOT_ID,
        0,
        0,
        &[&cstr(b"missing")],
    );
    let getattr = raw(
        Opcode::GETATTR as u32,
        9,
        file.nodeid,
        0,
        0,
        &[GetattrIn::default().as_bytes()],
    );
    let read_arg = ReadIn {
        fh,
        offset: 0,
        size: READ_SIZE,
        ..ReadIn::default()
    };
    let read = raw(
        Opcode::READ as u32,
        9,
        file.nodeid,
        0,
        0,
        &[read_arg.as_bytes()],
    );
    let mut out = vec![0u8; READ_SIZE as usize + 4096];
    assert_eq!(once(&on.d, &read, &mut out), 16 + READ_SIZE as usize);

    let cases = [
        (
            Case {
                name: "lookup_miss_negcache_hot",
                req: lookup.clone(),
            },
            &on.d,
        ),
        (
            Case {
                name: "lookup_miss_negcache_off",
                req: lookup,
            },
            &off.d,
        ),
        (
            Case {
                name: "getattr_hot",
                req: getattr,
            },
            &on.d,
        ),
        (
            Case {
                name: "read_128k",
                req: read,
            },
            &on.d,
        ),
    ];
    let mut c = Criterion::default().configure_from_args();
    for (case, d) in &cases {
        c.bench_function(case.name, |b| {
            b.iter(|| once(d, black_box(&case.req), &mut out))
        });
    }
    c.final_summary();

    println!("\n{:<28} {:>12}", "request (in-process)", "mean ns");
    let mut means = Vec::new();
    for (case, d) in &cases {
        let iters = if case.name == "read_128k" {
            20_000
        } else {
            200_000
        };
        let ns = mean_ns(d, &case.req, &mut out, iters);
        println!("{:<28} {:>12.0}", case.name, ns);
        means.push(ns);
    }
    println!(
        "{:<28} {:>12.1}x",
        "negcache speed-up (off/hot)",
        means[1] / means[0]
    );
    println!(
        "{:<28} {:>12.2} GiB/s",
        "read_128k throughput",
        f64::from(READ_SIZE) / means[3] / 1.073_741_824
    );
}
