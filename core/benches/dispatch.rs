//! ns/request for parse + dispatch + reply of GETATTR, LOOKUP and READ 4 KiB:
//! arcbox-fs's `FuseDispatcher` on `MemFs` and on a static filesystem, and the
//! same request bytes through fuse-backend-rs's `Server` on an equivalent
//! static filesystem, with its `Reader`/`Writer` over plain memory buffers.
//! After the criterion groups, prints a table with the ratio ours/theirs.
//!
//! `cargo bench -p arcbox-fs --bench dispatch -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/common/mod.rs"]
mod common;

use arcbox_fs::abi::*;
use arcbox_fs::fs::{AttrReply, Context, Entry, Fh, FileSystem, NodeId};
use arcbox_fs::io::ReplyData;
use arcbox_fs::memfs::MemFs;
use arcbox_fs::{Errno, FuseDispatcher, Instant, Name, Outcome};
use common::{Session, raw};
use criterion::{Criterion, black_box};
use std::time::Duration;
use zerocopy::{FromBytes, IntoBytes};

/// File contents served by the static filesystems.
static DATA: [u8; 4096] = [0x61; 4096];
/// Node id of the one file in the static filesystems.
const FILE: u64 = 2;

fn static_attr(node: u64) -> Attr {
    let dir = node == ROOT_ID;
    Attr {
        ino: node,
        size: 4096,
        blocks: 8,
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

/// The arcbox-fs side of the static filesystem.
struct OursStatic;

impl FileSystem for OursStatic {
    fn lookup(&self, _c: &Context, parent: NodeId, name: Name<'_>) -> Result<Entry, Errno> {
        if parent != ROOT_ID || name.as_bytes() != b"f" {
            return Err(Errno::ENOENT);
        }
        let ttl = Duration::from_secs(1);
        Ok(Entry {
            nodeid: FILE,
            generation: 1,
            attr: static_attr(FILE),
            entry_valid: ttl,
            attr_valid: ttl,
        })
    }
    fn getattr(&self, _c: &Context, node: NodeId, _fh: Option<Fh>) -> Result<AttrReply, Errno> {
        Ok(AttrReply {
            attr: static_attr(node),
            valid: Duration::from_secs(1),
        })
    }
    fn read(
        &self,
        _c: &Context,
        _n: NodeId,
        _fh: Fh,
        off: u64,
        out: &mut ReplyData<'_>,
        _lo: Option<u64>,
        _f: u32,
    ) -> Result<(), Errno> {
        let start = (off as usize).min(DATA.len());
        let end = start.saturating_add(out.remaining()).min(DATA.len());
        out.write(&DATA[start..end])
    }
}

#[cfg(target_os = "linux")]
mod theirs {
    //! fuse-backend-rs: the same static filesystem and a memory-only transport.
    use super::{DATA, FILE, static_attr};
    use fuse_backend_rs::api::filesystem::{Context, Entry, FileSystem, ZeroCopyWriter};
    use fuse_backend_rs::api::server::Server;
    use fuse_backend_rs::transport::{FuseBuf, FuseDevWriter, Reader, Writer};
    use std::ffi::CStr;
    use std::io;
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    /// The static filesystem, fuse-backend-rs flavour.
    pub struct TheirStatic;

    fn stat(node: u64) -> libc::stat64 {
        let a = static_attr(node);
        // SAFETY: stat64 is plain old data; all-zero is a valid value.
        let mut st: libc::stat64 = unsafe { std::mem::zeroed() };
        st.st_ino = a.ino;
        st.st_size = a.size as i64;
        st.st_blocks = a.blocks as i64;
        st.st_mode = a.mode;
        st.st_nlink = a.nlink as u64;
        st.st_blksize = a.blksize as i64;
        st
    }

    impl FileSystem for TheirStatic {
        type Inode = u64;
        type Handle = u64;

        fn lookup(&self, _ctx: &Context, parent: u64, name: &CStr) -> io::Result<Entry> {
            if parent != 1 || name.to_bytes() != b"f" {
                return Err(io::Error::from_raw_os_error(libc::ENOENT));
            }
            let ttl = Duration::from_secs(1);
            Ok(Entry {
                inode: FILE,
                generation: 1,
                attr: stat(FILE),
                attr_flags: 0,
                attr_timeout: ttl,
                entry_timeout: ttl,
            })
        }

        fn getattr(
            &self,
            _ctx: &Context,
            inode: u64,
            _h: Option<u64>,
        ) -> io::Result<(libc::stat64, Duration)> {
            Ok((stat(inode), Duration::from_secs(1)))
        }

        #[allow(clippy::too_many_arguments)]
        fn read(
            &self,
            _ctx: &Context,
            _inode: u64,
            _handle: u64,
            w: &mut dyn ZeroCopyWriter,
            size: u32,
            offset: u64,
            _lock_owner: Option<u64>,
            _flags: u32,
        ) -> io::Result<usize> {
            let start = (offset as usize).min(DATA.len());
            let end = start.saturating_add(size as usize).min(DATA.len());
            w.write_all(&DATA[start..end])?;
            Ok(end - start)
        }
    }

    /// A fuse-backend-rs server and the fd its READ replies are committed to.
    pub struct Theirs {
        server: Server<TheirStatic>,
        sink: std::fs::File,
    }

    impl Theirs {
        /// A server after INIT.
        pub fn new(init: &[u8]) -> Theirs {
            let t = Theirs {
                server: Server::new(TheirStatic),
                sink: std::fs::File::create("/dev/null").expect("/dev/null"),
            };
            let mut req = init.to_vec();
            let mut out = vec![0u8; 8192];
            t.handle(&mut req, &mut out);
            t
        }

        /// Handles one request from `req` into `out`; returns the reply length.
        ///
        /// The writer is pre-split, so replies are buffered in `out`; a READ
        /// reply is still committed with one writev(2) to /dev/null, as the
        /// fusedev transport always delivers a split reply.
        pub fn handle(&self, req: &mut [u8], out: &mut [u8]) -> usize {
            let r = Reader::from_fuse_buffer(FuseBuf::new(req)).expect("reader");
            let mut w = FuseDevWriter::<()>::new(self.sink.as_raw_fd(), out).expect("writer");
            let w2 = w.split_at(0).expect("split");
            self.server
                .handle_message(r, Writer::FuseDev(w2), None, None)
                .expect("handled")
        }
    }
}

/// The three requests, against node ids valid in all filesystems.
fn requests(fh: u64) -> [(&'static str, Vec<u8>); 3] {
    [
        (
            "GETATTR",
            raw(
                Opcode::GETATTR as u32,
                10,
                FILE,
                0,
                0,
                &[GetattrIn::default().as_bytes()],
            ),
        ),
        (
            "LOOKUP",
            raw(Opcode::LOOKUP as u32, 11, ROOT_ID, 0, 0, &[b"f\0"]),
        ),
        (
            "READ 4KiB",
            raw(
                Opcode::READ as u32,
                12,
                FILE,
                0,
                0,
                &[ReadIn {
                    fh,
                    size: 4096,
                    ..ReadIn::default()
                }
                .as_bytes()],
            ),
        ),
    ]
}

fn ours<F: FileSystem>(d: &FuseDispatcher<F>, req: &[u8], out: &mut [u8]) -> usize {
    match d.handle(Instant::ZERO, req, out) {
        Outcome::Reply(n) => n,
        o => panic!("{o:?}"),
    }
}

/// A MemFs session holding file "f" (node 2) with 4 KiB of data, and its open handle.
fn memfs() -> (FuseDispatcher<MemFs>, u64) {
    let mut s = Session::new();
    let c = CreateIn {
        flags: 2,
        mode: 0o644,
        umask: 0,
        open_flags: 0,
    };
    let r = s.reply(Opcode::CREATE, ROOT_ID, &[c.as_bytes(), b"f\0"]);
    let e = EntryOut::read_from_bytes(&r.ok()[..128]).expect("entry");
    let o = OpenOut::read_from_bytes(&r.ok()[128..]).expect("open");
    assert_eq!(e.nodeid, FILE);
    let w = WriteIn {
        fh: o.fh,
        size: 4096,
        ..WriteIn::default()
    };
    s.reply(Opcode::WRITE, FILE, &[w.as_bytes(), &DATA]).ok();
    (s.d, o.fh)
}

fn static_ours() -> FuseDispatcher<OursStatic> {
    let d = FuseDispatcher::new(OursStatic);
    let mut out = [0u8; 256];
    ours(
        &d,
        &raw(
            26,
            1,
            0,
            0,
            0,
            &[&common::init_body(7, 41, common::all_flags())],
        ),
        &mut out,
    );
    d
}

/// Checks that the three servers give the same reply bytes, so they do the same work.
fn same_answers() {
    let (mem, fh) = memfs();
    let st = static_ours();
    let mut a = vec![0u8; 8192];
    let mut b = vec![0u8; 8192];
    for (name, req) in requests(fh) {
        let n = ours(&mem, &req, &mut a);
        let m = ours(
            &st,
            &requests(0).iter().find(|r| r.0 == name).expect("req").1,
            &mut b,
        );
        assert_eq!(n, m, "{name}");
        assert_eq!(a[..4], b[..4], "{name}");
    }
    #[cfg(target_os = "linux")]
    {
        let init = raw(
            26,
            1,
            0,
            0,
            0,
            &[&common::init_body(7, 41, common::all_flags())],
        );
        let t = theirs::Theirs::new(&init);
        for (name, req) in requests(0) {
            let n = ours(&st, &req, &mut a);
            let m = t.handle(&mut req.clone(), &mut b);
            assert_eq!(a[..n], b[..m], "{name}: same bytes from both servers");
        }
    }
}

fn bench(c: &mut Criterion) {
    let (mem, fh) = memfs();
    let st = static_ours();
    #[cfg(target_os = "linux")]
    let t = theirs::Theirs::new(&raw(
        26,
        1,
        0,
        0,
        0,
        &[&common::init_body(7, 41, common::all_flags())],
    ));
    let mut out = vec![0u8; 8192];
    for ((name, req_mem), (_, req)) in requests(fh).into_iter().zip(requests(0)) {
        let mut g = c.benchmark_group(name);
        g.bench_function("arcbox-fs/MemFs", |b| {
            b.iter(|| ours(&mem, black_box(&req_mem), &mut out))
        });
        g.bench_function("arcbox-fs/static", |b| {
            b.iter(|| ours(&st, black_box(&req), &mut out))
        });
        #[cfg(target_os = "linux")]
        {
            let mut theirs_req = req.clone();
            g.bench_function("fuse-backend-rs/static", |b| {
                b.iter(|| t.handle(black_box(&mut theirs_req), &mut out))
            });
        }
        g.finish();
    }
}

/// Best-of-5 mean ns per call of `f` over `iters` calls.
fn ns_per_call(iters: u32, mut f: impl FnMut() -> usize) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let mut sink = 0usize;
        for _ in 0..iters {
            sink = sink.wrapping_add(f());
        }
        black_box(sink);
        best = best.min(t.elapsed().as_nanos() as f64 / f64::from(iters));
    }
    best
}

fn table() {
    let (mem, fh) = memfs();
    let st = static_ours();
    let mut out = vec![0u8; 8192];
    println!();
    println!(
        "{:<10} {:>14} {:>14} {:>18} {:>12} {:>12}",
        "request",
        "ours MemFs ns",
        "ours static ns",
        "fuse-backend-rs ns",
        "MemFs/theirs",
        "static/theirs"
    );
    #[cfg(target_os = "linux")]
    let t = theirs::Theirs::new(&raw(
        26,
        1,
        0,
        0,
        0,
        &[&common::init_body(7, 41, common::all_flags())],
    ));
    for ((name, req_mem), (_, req)) in requests(fh).into_iter().zip(requests(0)) {
        let a = ns_per_call(200_000, || ours(&mem, black_box(&req_mem), &mut out));
        let b = ns_per_call(200_000, || ours(&st, black_box(&req), &mut out));
        #[cfg(target_os = "linux")]
        let c = {
            let mut r = req.clone();
            ns_per_call(200_000, || t.handle(black_box(&mut r), &mut out))
        };
        #[cfg(not(target_os = "linux"))]
        let c = f64::NAN;
        println!(
            "{name:<10} {a:>14.1} {b:>14.1} {c:>18.1} {:>12.2} {:>12.2}",
            a / c,
            b / c
        );
    }
    #[cfg(target_os = "linux")]
    {
        use std::io::Write;
        let mut null = std::fs::File::create("/dev/null").expect("/dev/null");
        let buf = [0u8; 4096 + 16];
        let w = ns_per_call(200_000, || null.write(black_box(&buf)).expect("write"));
        println!(
            "(fuse-backend-rs READ includes one writev(2) of the reply to /dev/null; a 4 KiB write(2) there costs {w:.1} ns here)"
        );
    }
}

fn main() {
    same_answers();
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    if std::env::args().any(|a| a == "--bench") {
        table();
    }
}
