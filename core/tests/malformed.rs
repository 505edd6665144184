//! Hostile input: truncated headers, lying lengths, every request cut at
//! every length, bogus node ids and handles, bad names, count overflows, and
//! scattered buffers that must behave exactly like contiguous ones.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::abi::*;
use arcbox_fs::memfs::MemFs;
use arcbox_fs::{Errno, FuseDispatcher, Instant, Outcome, SgList, SgListMut};
use common::*;
use zerocopy::{FromBytes, IntoBytes};

const ROOT: u64 = ROOT_ID;

/// A session with a file "f" (node, fh) and a directory "d" (node, fh).
fn populated() -> (Session, u64, u64, u64, u64) {
    let mut s = Session::new();
    let c = CreateIn {
        flags: 2,
        mode: 0o644,
        umask: 0,
        open_flags: 0,
    };
    let b = s
        .reply(Opcode::CREATE, ROOT, &[c.as_bytes(), b"f\0"])
        .ok()
        .to_vec();
    let f = EntryOut::read_from_bytes(&b[..128]).unwrap().nodeid;
    let fh = OpenOut::read_from_bytes(&b[128..]).unwrap().fh;
    let w = WriteIn {
        fh,
        size: 5,
        ..WriteIn::default()
    };
    s.reply(Opcode::WRITE, f, &[w.as_bytes(), b"hello"]).ok();
    let m = MkdirIn {
        mode: 0o755,
        umask: 0,
    };
    let d = s
        .reply(Opcode::MKDIR, ROOT, &[m.as_bytes(), b"d\0"])
        .parse::<EntryOut>()
        .nodeid;
    let dfh = s
        .reply(Opcode::OPENDIR, d, &[OpenIn::default().as_bytes()])
        .parse::<OpenOut>()
        .fh;
    (s, f, fh, d, dfh)
}

/// A valid request (opcode, nodeid, body) for every opcode, against `populated()`.
fn valid_requests(f: u64, fh: u64, d: u64, dfh: u64) -> Vec<(Opcode, u64, Vec<u8>)> {
    let cat = |parts: &[&[u8]]| parts.concat();
    let lk = LkIn {
        fh,
        owner: 1,
        lk: FileLock {
            start: 0,
            end: 10,
            typ: lock::F_RDLCK,
            pid: 1,
        },
        lk_flags: 0,
        padding: 0,
    };
    vec![
        (Opcode::LOOKUP, ROOT, b"f\0".to_vec()),
        (
            Opcode::FORGET,
            f,
            ForgetIn { nlookup: 0 }.as_bytes().to_vec(),
        ),
        (
            Opcode::GETATTR,
            f,
            GetattrIn {
                getattr_flags: 1,
                dummy: 0,
                fh,
            }
            .as_bytes()
            .to_vec(),
        ),
        (
            Opcode::SETATTR,
            f,
            SetattrIn {
                valid: SetattrValid::MODE.bits(),
                mode: 0o600,
                ..SetattrIn::default()
            }
            .as_bytes()
            .to_vec(),
        ),
        (Opcode::READLINK, f, Vec::new()),
        (Opcode::SYMLINK, d, b"sl\0/abs/target\0".to_vec()),
        (
            Opcode::MKNOD,
            d,
            cat(&[
                MknodIn {
                    mode: mode::S_IFIFO | 0o644,
                    ..MknodIn::default()
                }
                .as_bytes(),
                b"fifo\0",
            ]),
        ),
        (
            Opcode::MKDIR,
            d,
            cat(&[
                MkdirIn {
                    mode: 0o755,
                    umask: 0,
                }
                .as_bytes(),
                b"sub\0",
            ]),
        ),
        (Opcode::UNLINK, d, b"nothing\0".to_vec()),
        (Opcode::RMDIR, d, b"nothing\0".to_vec()),
        (
            Opcode::RENAME,
            ROOT,
            cat(&[RenameIn { newdir: ROOT }.as_bytes(), b"f\0f\0"]),
        ),
        (
            Opcode::LINK,
            d,
            cat(&[LinkIn { oldnodeid: f }.as_bytes(), b"hard\0"]),
        ),
        (
            Opcode::OPEN,
            f,
            OpenIn {
                flags: 0,
                open_flags: 0,
            }
            .as_bytes()
            .to_vec(),
        ),
        (
            Opcode::READ,
            f,
            ReadIn {
                fh,
                size: 4096,
                ..ReadIn::default()
            }
            .as_bytes()
            .to_vec(),
        ),
        (
            Opcode::WRITE,
            f,
            cat(&[
                WriteIn {
                    fh,
                    offset: 2,
                    size: 3,
                    ..WriteIn::default()
                }
                .as_bytes(),
                b"xyz",
            ]),
        ),
        (Opcode::STATFS, ROOT, Vec::new()),
        (
            Opcode::RELEASE,
            f,
            ReleaseIn {
                fh: 999,
                ..ReleaseIn::default()
            }
            .as_bytes()
            .to_vec(),
        ),
        (
            Opcode::FSYNC,
            f,
            FsyncIn {
                fh,
                ..FsyncIn::default()
            }
            .as_bytes()
            .to_vec(),
        ),
        (
            Opcode::SETXATTR,
            f,
            cat(&[
                SetxattrIn {
                    size: 2,
                    ..SetxattrIn::default()
                }
                .as_bytes(),
                b"user.k\0",
                b"vv",
            ]),
        ),
        (
            Opcode::GETXATTR,
            f,
            cat(&[
                GetxattrIn {
                    size: 0,
                    padding: 0,
                }
                .as_bytes(),
                b"user.k\0",
            ]),
        ),
        (
            Opcode::LISTXATTR,
            f,
            GetxattrIn {
                size: 100,
                padding: 0,
            }
            .as_bytes()
            .to_vec(),
        ),
        (Opcode::REMOVEXATTR, f, b"user.none\0".to_vec()),
        (
            Opcode::FLUSH,
            f,
            FlushIn {
                fh,
                ..FlushIn::default()
            }
            .as_bytes()
            .to_vec(),
        ),
        (Opcode::OPENDIR, d, OpenIn::default().as_bytes().to_vec()),
        (
            Opcode::READDIR,
            d,
            ReadIn {
                fh: dfh,
                size: 4096,
                ..ReadIn::default()
            }
            .as_bytes()
            .to_vec(),
        ),
        (
            Opcode::RELEASEDIR,
            d,
            ReleaseIn {
                fh: 999,
                ..ReleaseIn::default()
            }
            .as_bytes()
            .to_vec(),
        ),
        (
            Opcode::FSYNCDIR,
            d,
            FsyncIn {
                fh: dfh,
                ..FsyncIn::default()
            }
            .as_bytes()
            .to_vec(),
        ),
        (Opcode::GETLK, f, lk.as_bytes().to_vec()),
        (Opcode::SETLK, f, lk.as_bytes().to_vec()),
        (Opcode::SETLKW, f, lk.as_bytes().to_vec()),
        (
            Opcode::ACCESS,
            f,
            AccessIn {
                mask: 4,
                padding: 0,
            }
            .as_bytes()
            .to_vec(),
        ),
        (
            Opcode::CREATE,
            d,
            cat(&[
                CreateIn {
                    flags: 2,
                    mode: 0o600,
                    umask: 0,
                    open_flags: 0,
                }
                .as_bytes(),
                b"new\0",
            ]),
        ),
        (
            Opcode::INTERRUPT,
            0,
            InterruptIn { unique: 1 }.as_bytes().to_vec(),
        ),
        (Opcode::BMAP, f, BmapIn::default().as_bytes().to_vec()),
        (
            Opcode::IOCTL,
            f,
            cat(&[
                IoctlIn {
                    fh,
                    in_size: 4,
                    out_size: 8,
                    ..IoctlIn::default()
                }
                .as_bytes(),
                b"abcd",
            ]),
        ),
        (
            Opcode::POLL,
            f,
            PollIn {
                fh,
                events: 1,
                ..PollIn::default()
            }
            .as_bytes()
            .to_vec(),
        ),
        (
            Opcode::NOTIFY_REPLY,
            f,
            cat(&[
                NotifyRetrieveIn {
                    size: 2,
                    ..NotifyRetrieveIn::default()
                }
                .as_bytes(),
                b"zz",
            ]),
        ),
        (
            Opcode::BATCH_FORGET,
            0,
            cat(&[
                BatchForgetIn { count: 2, dummy: 0 }.as_bytes(),
                ForgetOne {
                    nodeid: f,
                    nlookup: 0,
                }
                .as_bytes(),
                ForgetOne {
                    nodeid: 77,
                    nlookup: 1,
                }
                .as_bytes(),
            ]),
        ),
        (
            Opcode::FALLOCATE,
            f,
            FallocateIn {
                fh,
                offset: 0,
                length: 10,
                mode: 1,
                padding: 0,
            }
            .as_bytes()
            .to_vec(),
        ),
        (
            Opcode::READDIRPLUS,
            d,
            ReadIn {
                fh: dfh,
                size: 4096,
                ..ReadIn::default()
            }
            .as_bytes()
            .to_vec(),
        ),
        (
            Opcode::RENAME2,
            ROOT,
            cat(&[
                Rename2In {
                    newdir: ROOT,
                    flags: 1,
                    padding: 0,
                }
                .as_bytes(),
                b"f\0g\0",
            ]),
        ),
        (
            Opcode::LSEEK,
            f,
            LseekIn {
                fh,
                offset: 0,
                whence: 3,
                padding: 0,
            }
            .as_bytes()
            .to_vec(),
        ),
        (
            Opcode::COPY_FILE_RANGE,
            f,
            CopyFileRangeIn {
                fh_in: fh,
                nodeid_out: f,
                fh_out: fh,
                off_out: 100,
                len: 5,
                ..CopyFileRangeIn::default()
            }
            .as_bytes()
            .to_vec(),
        ),
        (
            Opcode::SETUPMAPPING,
            f,
            SetupmappingIn::default().as_bytes().to_vec(),
        ),
        (
            Opcode::REMOVEMAPPING,
            f,
            cat(&[
                RemovemappingIn { count: 1 }.as_bytes(),
                RemovemappingOne::default().as_bytes(),
            ]),
        ),
        (
            Opcode::SYNCFS,
            ROOT,
            SyncfsIn::default().as_bytes().to_vec(),
        ),
        (
            Opcode::TMPFILE,
            d,
            CreateIn {
                flags: 2,
                mode: 0o600,
                umask: 0,
                open_flags: 0,
            }
            .as_bytes()
            .to_vec(),
        ),
        (Opcode::STATX, f, StatxIn::default().as_bytes().to_vec()),
        (Opcode::DESTROY, 0, Vec::new()),
    ]
}

#[test]
fn valid_requests_cover_every_opcode() {
    let (_, f, fh, d, dfh) = populated();
    let reqs = valid_requests(f, fh, d, dfh);
    for op in Opcode::ALL {
        if *op != Opcode::INIT && *op != Opcode::CUSE_INIT {
            assert!(reqs.iter().any(|r| r.0 == *op), "{op:?} missing");
        }
    }
}

#[test]
fn truncated_headers_are_dropped() {
    let d = FuseDispatcher::new(MemFs::new());
    let full = raw(
        Opcode::INIT as u32,
        1,
        0,
        0,
        0,
        &[&init_body(7, 41, all_flags())],
    );
    for cut in 0..IN_HDR {
        let mut out = [0u8; 256];
        assert_eq!(
            d.handle(Instant::ZERO, &full[..cut], &mut out[..]),
            Outcome::Dropped(Errno::EINVAL),
            "cut {cut}"
        );
    }
}

#[test]
fn lying_lengths() {
    let (s, ..) = populated();
    let mut req = raw(
        Opcode::GETATTR as u32,
        9,
        ROOT,
        0,
        0,
        &[GetattrIn::default().as_bytes()],
    );
    for len in [0u32, 1, 39, 57, 1000, u32::MAX] {
        req[..4].copy_from_slice(&len.to_le_bytes());
        let r = run(&s.d, &req, 4096).unwrap();
        assert_eq!(r.errno(), Some(Errno::EINVAL), "len {len}");
    }
    // len smaller than the buffer: the rest is ignored (a header-only GETATTR is short).
    req[..4].copy_from_slice(&40u32.to_le_bytes());
    assert_eq!(run(&s.d, &req, 4096).unwrap().errno(), Some(Errno::EINVAL));
    req[..4].copy_from_slice(&56u32.to_le_bytes());
    req.extend_from_slice(&[0xee; 100]);
    run(&s.d, &req, 4096).unwrap().parse::<AttrOut>();
    // total_extlen larger than the body.
    let mut req = raw(
        Opcode::GETATTR as u32,
        9,
        ROOT,
        0,
        0,
        &[GetattrIn::default().as_bytes()],
    );
    req[36..38].copy_from_slice(&3u16.to_le_bytes());
    assert_eq!(run(&s.d, &req, 4096).unwrap().errno(), Some(Errno::EINVAL));
    // A reply buffer too small for any reply.
    let req = raw(
        Opcode::GETATTR as u32,
        9,
        ROOT,
        0,
        0,
        &[GetattrIn::default().as_bytes()],
    );
    let mut tiny = [0u8; 15];
    assert!(matches!(
        s.d.handle(Instant::ZERO, &req[..], &mut tiny[..]),
        Outcome::Dropped(_)
    ));
    // Room for the header only: the attr reply does not fit, an error does.
    let r = run(&s.d, &req, 16).unwrap();
    assert_eq!(r.errno(), Some(Errno::ERANGE));
}

#[test]
fn every_request_cut_at_every_length() {
    let (s0, f, fh, d, dfh) = populated();
    drop(s0);
    for (op, node, body) in valid_requests(f, fh, d, dfh) {
        for cut in 0..=body.len() {
            // A fresh filesystem each time so that state changes do not pile up.
            let (s, ..) = populated();
            // Consistent len, shorter body.
            let req = raw(op as u32, 77, node, 0, 0, &[&body[..cut]]);
            let r = run(&s.d, &req, 8192);
            if let Some(r) = &r {
                if cut < body.len() && r.errno().is_none() {
                    // Only requests whose tail is optional may succeed when cut.
                    let optional_tail =
                        matches!(op, Opcode::READLINK | Opcode::STATFS | Opcode::DESTROY)
                            || (op == Opcode::INIT);
                    assert!(
                        optional_tail,
                        "{op:?} cut at {cut}/{} succeeded",
                        body.len()
                    );
                }
            }
            // Header claims the full length, buffer is shorter.
            let mut lying = raw(op as u32, 78, node, 0, 0, &[&body]);
            lying.truncate(IN_HDR + cut);
            if cut < body.len() {
                let r = run(&s.d, &lying, 8192);
                if let Some(r) = r {
                    assert_eq!(r.errno(), Some(Errno::EINVAL), "{op:?} lying at {cut}");
                }
            }
        }
    }
}

#[test]
fn bogus_nodeids_and_handles() {
    let (mut s, f, fh, d, dfh) = populated();
    for node in [0u64, 2 * 1000, u64::MAX] {
        assert_eq!(
            s.err(Opcode::GETATTR, node, &[GetattrIn::default().as_bytes()]),
            Errno::ENOENT
        );
        assert_eq!(s.err(Opcode::LOOKUP, node, &[b"f\0"]), Errno::ENOENT);
        let rd = ReadIn {
            fh,
            size: 10,
            ..ReadIn::default()
        };
        assert_eq!(s.err(Opcode::READ, node, &[rd.as_bytes()]), Errno::EBADF);
        assert_eq!(
            s.call(Opcode::FORGET, node, &[ForgetIn { nlookup: 1 }.as_bytes()]),
            None
        );
    }
    for bad in [0u64, fh + 1000, u64::MAX, dfh] {
        let rd = ReadIn {
            fh: bad,
            size: 10,
            ..ReadIn::default()
        };
        assert_eq!(
            s.err(Opcode::READ, f, &[rd.as_bytes()]),
            Errno::EBADF,
            "fh {bad}"
        );
        let w = WriteIn {
            fh: bad,
            size: 1,
            ..WriteIn::default()
        };
        assert_eq!(s.err(Opcode::WRITE, f, &[w.as_bytes(), b"x"]), Errno::EBADF);
    }
    // A file handle used as a directory handle and the reverse.
    assert_eq!(
        s.err(
            Opcode::READDIR,
            d,
            &[ReadIn {
                fh,
                size: 100,
                ..ReadIn::default()
            }
            .as_bytes()]
        ),
        Errno::EBADF
    );
    assert_eq!(
        s.err(
            Opcode::READ,
            d,
            &[ReadIn {
                fh: dfh,
                size: 100,
                ..ReadIn::default()
            }
            .as_bytes()]
        ),
        Errno::EBADF
    );
    // Linking a node under a non-directory, renaming into a bogus directory.
    assert_eq!(
        s.err(
            Opcode::LINK,
            f,
            &[LinkIn { oldnodeid: f }.as_bytes(), b"x\0"]
        ),
        Errno::ENOTDIR
    );
    assert_eq!(
        s.err(
            Opcode::RENAME,
            ROOT,
            &[RenameIn { newdir: u64::MAX }.as_bytes(), b"f\0", b"x\0"]
        ),
        Errno::ENOENT
    );
    assert_eq!(
        s.err(
            Opcode::RENAME,
            ROOT,
            &[RenameIn { newdir: f }.as_bytes(), b"f\0", b"x\0"]
        ),
        Errno::ENOTDIR
    );
}

#[test]
fn hostile_names() {
    let (mut s, f, ..) = populated();
    let long = vec![b'a'; 256];
    let max = vec![b'a'; 255];
    let bad: [(&[u8], Errno); 6] = [
        (b"a/b", Errno::EINVAL),
        (b"..", Errno::EINVAL),
        (b".", Errno::EINVAL),
        (b"", Errno::EINVAL),
        (b"/", Errno::EINVAL),
        (&long, Errno::ENAMETOOLONG),
    ];
    let mk = MkdirIn {
        mode: 0o755,
        umask: 0,
    };
    let cr = CreateIn {
        flags: 2,
        mode: 0o644,
        umask: 0,
        open_flags: 0,
    };
    for (name, e) in bad {
        let n = cstr(name);
        assert_eq!(s.err(Opcode::LOOKUP, ROOT, &[&n]), e);
        assert_eq!(s.err(Opcode::MKDIR, ROOT, &[mk.as_bytes(), &n]), e);
        assert_eq!(s.err(Opcode::CREATE, ROOT, &[cr.as_bytes(), &n]), e);
        assert_eq!(s.err(Opcode::SYMLINK, ROOT, &[&n, b"t\0"]), e);
        assert_eq!(
            s.err(
                Opcode::LINK,
                ROOT,
                &[LinkIn { oldnodeid: f }.as_bytes(), &n]
            ),
            e
        );
        assert_eq!(
            s.err(
                Opcode::RENAME,
                ROOT,
                &[RenameIn { newdir: ROOT }.as_bytes(), b"f\0", &n]
            ),
            e
        );
        assert_eq!(s.err(Opcode::UNLINK, ROOT, &[&n]), e);
    }
    // A NUL inside a name ends it: the name is "f", trailing bytes are ignored (as libfuse does).
    assert_eq!(
        s.reply(Opcode::LOOKUP, ROOT, &[b"f\0junk\0"])
            .parse::<EntryOut>()
            .nodeid,
        f
    );
    assert_eq!(s.err(Opcode::LOOKUP, ROOT, &[b"\0f\0"]), Errno::EINVAL);
    assert_eq!(s.err(Opcode::LOOKUP, ROOT, &[b"no-nul"]), Errno::EINVAL);
    // 255 bytes is fine.
    s.reply(Opcode::MKDIR, ROOT, &[mk.as_bytes(), &cstr(&max)])
        .parse::<EntryOut>();
    // Over-long symlink target (PATH_MAX with its NUL).
    let target = cstr(&vec![b'x'; PATH_MAX]);
    assert_eq!(
        s.err(Opcode::SYMLINK, ROOT, &[b"l\0", &target]),
        Errno::ENAMETOOLONG
    );
    let target = cstr(&vec![b'x'; PATH_MAX - 1]);
    s.reply(Opcode::SYMLINK, ROOT, &[b"l\0", &target])
        .parse::<EntryOut>();
    // Over-long xattr names.
    let xn = cstr(&[b"user.".as_slice(), &[b'n'; 251]].concat());
    let g = GetxattrIn {
        size: 0,
        padding: 0,
    };
    assert_eq!(
        s.err(Opcode::GETXATTR, f, &[g.as_bytes(), &xn]),
        Errno::ENAMETOOLONG
    );
}

#[test]
fn batch_forget_count_overflow() {
    let (mut s, f, ..) = populated();
    s.reply(Opcode::LOOKUP, ROOT, &[b"f\0"]).ok();
    let before = s.d.fs().lookup_count(f);
    for count in [u32::MAX, u32::MAX / 16 + 1, 1 << 28] {
        let head = BatchForgetIn { count, dummy: 0 };
        let one = ForgetOne {
            nodeid: f,
            nlookup: 1,
        };
        assert_eq!(
            s.call(Opcode::BATCH_FORGET, 0, &[head.as_bytes(), one.as_bytes()]),
            None
        );
    }
    assert_eq!(s.d.fs().lookup_count(f), before);
}

/// Runs `req` through `d` from segments of `seg` bytes into reply segments of `seg` bytes.
fn run_scattered(
    d: &FuseDispatcher<MemFs>,
    req: &[u8],
    seg: usize,
    cap: usize,
) -> (Outcome, Vec<u8>) {
    let segs: Vec<&[u8]> = req.chunks(seg).collect();
    let sg = SgList::new(&segs);
    let mut out = vec![0u8; cap];
    let mut outs: Vec<&mut [u8]> = out.chunks_mut(seg).collect();
    let mut sink = SgListMut::new(&mut outs);
    let o = d.handle(Instant::ZERO, &sg, &mut sink);
    let n = match o {
        Outcome::Reply(n) => n,
        _ => 0,
    };
    (o, out[..n].to_vec())
}

#[test]
fn scattered_equals_contiguous() {
    for seg in [1usize, 2, 3, 7, 13, 64] {
        let (a, f, fh, d, dfh) = populated();
        let (b, ..) = populated();
        let mut reqs = valid_requests(f, fh, d, dfh);
        // Bigger payloads, spanning many segments and batches.
        let data = vec![0x5au8; 5000];
        let w = WriteIn {
            fh,
            offset: 3,
            size: data.len() as u32,
            ..WriteIn::default()
        };
        reqs.insert(0, (Opcode::WRITE, f, [w.as_bytes(), &data].concat()));
        let xv = vec![0x33u8; 5000];
        let x = SetxattrIn {
            size: xv.len() as u32,
            ..SetxattrIn::default()
        };
        reqs.insert(
            1,
            (
                Opcode::SETXATTR,
                f,
                [x.as_bytes(), b"user.big\0", &xv].concat(),
            ),
        );
        reqs.insert(
            2,
            (
                Opcode::READ,
                f,
                ReadIn {
                    fh,
                    size: 8000,
                    ..ReadIn::default()
                }
                .as_bytes()
                .to_vec(),
            ),
        );
        reqs.insert(
            3,
            (
                Opcode::GETXATTR,
                f,
                [
                    GetxattrIn {
                        size: 6000,
                        padding: 0,
                    }
                    .as_bytes(),
                    b"user.big\0",
                ]
                .concat(),
            ),
        );
        for (i, (op, node, body)) in reqs.iter().enumerate() {
            let req = raw(*op as u32, 100 + i as u64, *node, 0, 0, &[body]);
            let mut out = vec![0u8; 9000];
            let oa = a.d.handle(Instant::ZERO, &req[..], &mut out[..]);
            let na = match oa {
                Outcome::Reply(n) => n,
                _ => 0,
            };
            let (ob, outb) = run_scattered(&b.d, &req, seg, 9000);
            assert_eq!(oa, ob, "{op:?} seg {seg}");
            assert_eq!(&out[..na], &outb[..], "{op:?} seg {seg}");
        }
    }
}

#[test]
fn read_into_a_small_sink_is_not_a_short_read() {
    let (s, f, fh, ..) = populated();
    let req = raw(
        Opcode::READ as u32,
        5,
        f,
        0,
        0,
        &[ReadIn {
            fh,
            size: 5,
            ..ReadIn::default()
        }
        .as_bytes()],
    );
    // Room for the header and 3 of the 5 bytes the file has at offset 0.
    let r = run(&s.d, &req, OUT_HDR + 3).unwrap();
    assert!(
        r.errno().is_some(),
        "short read {:?} instead of an error",
        r.body
    );
}
