//! `PassthroughFs` over `MemHost`, driven through `FuseDispatcher::handle`
//! with raw FUSE request bytes: every opcode, hostile input, and cache
//! invalidation by (simulated) changes made behind the server's back.
#![allow(clippy::unwrap_used)]

#[path = "../../tests/src/fuse.rs"]
mod fuse;

use arcbox_fs::abi::*;
use arcbox_fs::host::Host;
use arcbox_fs::memhost::MemHost;
use arcbox_fs::passthrough::{CacheMode, PassthroughConfig, PassthroughFs};
use arcbox_fs::{Errno, FuseDispatcher, Instant, Outcome, Timespec};
use core::sync::atomic::{AtomicI64, Ordering};
use core::time::Duration;
use fuse::{Session, raw};
use zerocopy::IntoBytes;

type S = Session<PassthroughFs<MemHost>>;

const ROOT: u64 = ROOT_ID;
const RW: u32 = 2;
const REG: u32 = mode::S_IFREG;

/// A clock for SETATTR NOW and timestamp checks (tests only read it after setting it).
static CLOCK: AtomicI64 = AtomicI64::new(1_000);
fn clock() -> Timespec {
    Timespec::new(CLOCK.load(Ordering::SeqCst), 0)
}

fn session_with(host: MemHost, cfg: PassthroughConfig) -> S {
    Session::new(fuse::on_big_stack(move || {
        PassthroughFs::new(host, cfg).unwrap()
    }))
}

fn session() -> S {
    session_with(MemHost::with_clock(clock), PassthroughConfig::default())
}

fn host(s: &S) -> &MemHost {
    s.fs().host()
}

#[test]
fn init_negotiates_and_unknown_opcodes_are_enosys() {
    let mut s = session();
    assert_eq!(s.d.negotiated_minor(), Some(41));
    assert!(s.d.negotiated_flags().contains(InitFlags::DO_READDIRPLUS));
    for op in [0u32, 7, 19, 53, 999, 4096, u32::MAX] {
        let r = s.call(op, ROOT, &[&[0u8; 64]]).unwrap();
        assert_eq!(r.result(), Err(Errno::ENOSYS), "opcode {op}");
    }
    // Before INIT, everything else is refused.
    let fs = fuse::on_big_stack(|| {
        PassthroughFs::new(MemHost::new(), PassthroughConfig::default()).unwrap()
    });
    let d = FuseDispatcher::new(fs);
    let req = raw(
        Opcode::GETATTR as u32,
        1,
        ROOT,
        0,
        0,
        &[GetattrIn::default().as_bytes()],
    );
    assert_eq!(
        fuse::run(&d, Instant::ZERO, &req, 256).unwrap().result(),
        Err(Errno::EIO)
    );
    // A header cut short cannot be answered.
    let mut out = [0u8; 64];
    assert!(matches!(
        d.handle(Instant::ZERO, &req[..20], &mut out[..]),
        Outcome::Dropped(_)
    ));
}

#[test]
fn lookup_getattr_forget_and_batch_forget() {
    let mut s = session();
    let e = s.mkdir(ROOT, b"d", 0o755).unwrap();
    assert_eq!(e.attr.mode, mode::S_IFDIR | 0o755);
    let l = s.lookup_found(ROOT, b"d").unwrap();
    assert_eq!(l.nodeid, e.nodeid);
    assert_eq!(s.fs().inodes().lookups(e.nodeid), Some(2));
    assert_eq!(s.getattr(e.nodeid).unwrap().nlink, 2);
    assert_eq!(s.getattr(ROOT).unwrap().nlink, 3);
    assert!(!s.forget(e.nodeid, 1), "FORGET gets no reply");
    assert_eq!(s.fs().inodes().lookups(e.nodeid), Some(1));
    // Counts larger than given only drop the node; unknown ids and the root are ignored.
    assert!(!s.batch_forget(&[
        (e.nodeid, u64::MAX),
        (e.nodeid, 5),
        (0xdead, 1),
        (ROOT, u64::MAX)
    ]));
    assert_eq!(s.fs().inodes().lookups(e.nodeid), None);
    assert_eq!(s.getattr(e.nodeid), Err(Errno::EBADF));
    assert_eq!(s.getattr(ROOT).unwrap().ino, 1);
    assert_eq!(s.fs().inodes().lookups(ROOT), Some(1));
    // The directory is still on the host and can be found again, under
    // its old node id (export support keeps forgotten nodes; see export.rs).
    let again = s.lookup_found(ROOT, b"d").unwrap();
    assert_eq!(
        again.nodeid, e.nodeid,
        "a forgotten node id comes back for the same object only"
    );
    // A batch whose count overstates the items is rejected without a reply.
    let bad = BatchForgetIn {
        count: 1000,
        dummy: 0,
    };
    assert!(
        s.call(Opcode::BATCH_FORGET as u32, 0, &[bad.as_bytes()])
            .is_none()
    );
    assert_eq!(s.fs().inodes().lookups(again.nodeid), Some(1));
}

#[test]
fn setattr_mode_owner_size_and_times() {
    let mut s = session();
    let (e, o) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    s.write(e.nodeid, o.fh, 0, b"hello world").unwrap();
    let n = e.nodeid;
    let set = |valid: SetattrValid| SetattrIn {
        valid: valid.bits(),
        ..SetattrIn::default()
    };
    let a = s
        .setattr(
            n,
            &SetattrIn {
                mode: 0o4711 | REG,
                ..set(SetattrValid::MODE)
            },
        )
        .unwrap();
    assert_eq!(a.mode, REG | 0o4711);
    let a = s
        .setattr(
            n,
            &SetattrIn {
                uid: 7,
                gid: 8,
                ..set(SetattrValid::UID | SetattrValid::GID)
            },
        )
        .unwrap();
    assert_eq!((a.uid, a.gid), (7, 8));
    assert_eq!(a.mode, REG | 0o711, "chown clears set-user-id");
    let a = s
        .setattr(
            n,
            &SetattrIn {
                size: 5,
                ..set(SetattrValid::SIZE)
            },
        )
        .unwrap();
    assert_eq!(a.size, 5);
    assert_eq!(s.read(n, o.fh, 0, 100).unwrap(), b"hello");
    let a = s
        .setattr(
            n,
            &SetattrIn {
                size: 1 << 20,
                fh: o.fh,
                ..set(SetattrValid::SIZE | SetattrValid::FH)
            },
        )
        .unwrap();
    assert_eq!(a.size, 1 << 20);
    assert_eq!(
        s.read(n, o.fh, 5, 4).unwrap(),
        [0; 4],
        "extension reads zeros"
    );
    let t = SetattrIn {
        atime: 11,
        atimensec: 5,
        mtime: 22,
        mtimensec: 6,
        ..set(SetattrValid::ATIME | SetattrValid::MTIME)
    };
    let a = s.setattr(n, &t).unwrap();
    assert_eq!((a.atime, a.atimensec, a.mtime, a.mtimensec), (11, 5, 22, 6));
    CLOCK.store(5_000, Ordering::SeqCst);
    let a = s
        .setattr(
            n,
            &set(SetattrValid::ATIME_NOW
                | SetattrValid::MTIME_NOW
                | SetattrValid::ATIME
                | SetattrValid::MTIME),
        )
        .unwrap();
    assert_eq!((a.atime, a.mtime, a.ctime), (5_000, 5_000, 5_000));
    // Hostile sizes and a symlink's mode.
    assert_eq!(
        s.setattr(
            n,
            &SetattrIn {
                size: u64::MAX,
                ..set(SetattrValid::SIZE)
            }
        ),
        Err(Errno::EFBIG)
    );
    let l = s.symlink(ROOT, b"l", b"f").unwrap();
    assert_eq!(
        s.setattr(
            l.nodeid,
            &SetattrIn {
                mode: 0o600,
                ..set(SetattrValid::MODE)
            }
        ),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        s.setattr(0xbad, &set(SetattrValid::MODE)),
        Err(Errno::EBADF)
    );
    // A truncated SETATTR body.
    let r = s.req(Opcode::SETATTR, n, &[&[0u8; 40]]);
    assert_eq!(r.result(), Err(Errno::EINVAL));
}

#[test]
fn symlink_readlink_mknod_mkdir_unlink_rmdir() {
    let mut s = session();
    let l = s.symlink(ROOT, b"abs", b"/etc/passwd").unwrap();
    assert_eq!(l.attr.mode & mode::S_IFMT, mode::S_IFLNK);
    assert_eq!(
        s.readlink(l.nodeid).unwrap(),
        b"/etc/passwd",
        "stored verbatim"
    );
    assert_eq!(s.open(l.nodeid, 0), Err(Errno::ELOOP), "never followed");
    assert_eq!(s.lookup(l.nodeid, b"x"), Err(Errno::ENOTDIR));
    assert_eq!(s.symlink(ROOT, b"abs", b"x"), Err(Errno::EEXIST));
    for (name, m) in [
        (&b"fifo"[..], mode::S_IFIFO),
        (b"sock", mode::S_IFSOCK),
        (b"chr", mode::S_IFCHR),
        (b"blk", mode::S_IFBLK),
    ] {
        let e = s.mknod(ROOT, name, m | 0o644, 0x0103).unwrap();
        assert_eq!(e.attr.mode, m | 0o644);
        assert_eq!(
            s.open(e.nodeid, 0),
            Err(Errno::EACCES),
            "{name:?} must not open"
        );
        assert_eq!(s.open(e.nodeid, RW), Err(Errno::EACCES));
    }
    assert_eq!(s.lookup_found(ROOT, b"chr").unwrap().attr.rdev, 0x0103);
    let r = s.mknod(ROOT, b"reg", REG | 0o600, 0).unwrap();
    assert_eq!(s.readlink(r.nodeid), Err(Errno::EINVAL));
    assert_eq!(
        s.mknod(ROOT, b"bad", 0o170000 | 0o600, 0),
        Err(Errno::EINVAL)
    );
    let d = s.mkdir(ROOT, b"d", 0o700).unwrap();
    s.mkdir(d.nodeid, b"sub", 0o700).unwrap();
    assert_eq!(s.rmdir(ROOT, b"d"), Err(Errno::ENOTEMPTY));
    assert_eq!(s.unlink(ROOT, b"d"), Err(Errno::EISDIR));
    assert_eq!(s.rmdir(ROOT, b"reg"), Err(Errno::ENOTDIR));
    s.rmdir(d.nodeid, b"sub").unwrap();
    s.rmdir(ROOT, b"d").unwrap();
    s.unlink(ROOT, b"reg").unwrap();
    assert_eq!(s.unlink(ROOT, b"reg"), Err(Errno::ENOENT));
    // Creating inside a removed directory the guest still holds.
    assert_eq!(s.mkdir(d.nodeid, b"x", 0o700), Err(Errno::ENOENT));
    assert!(!host(&s).external().exists("d"));
}

#[test]
fn rename_and_rename2_flags() {
    let mut s = session();
    let a = s.mkdir(ROOT, b"a", 0o755).unwrap();
    let b = s.mkdir(ROOT, b"b", 0o755).unwrap();
    s.create(a.nodeid, b"f", RW, REG | 0o644).unwrap();
    s.create(b.nodeid, b"g", RW, REG | 0o644).unwrap();
    s.rename(a.nodeid, b"f", b.nodeid, b"f2").unwrap();
    assert_eq!(s.lookup(a.nodeid, b"f").unwrap().nodeid, 0);
    assert!(host(&s).external().exists("b/f2"));
    assert_eq!(
        s.rename2(
            b.nodeid,
            b"f2",
            b.nodeid,
            b"g",
            RenameFlags::NOREPLACE.bits()
        ),
        Err(Errno::EEXIST)
    );
    host(&s).external().write("b/g", 0, b"G").unwrap();
    host(&s).external().write("b/f2", 0, b"F").unwrap();
    s.rename2(
        b.nodeid,
        b"f2",
        b.nodeid,
        b"g",
        RenameFlags::EXCHANGE.bits(),
    )
    .unwrap();
    assert_eq!(host(&s).external().read("b/g").unwrap(), b"F");
    assert_eq!(host(&s).external().read("b/f2").unwrap(), b"G");
    assert_eq!(
        s.rename2(
            b.nodeid,
            b"f2",
            b.nodeid,
            b"none",
            RenameFlags::EXCHANGE.bits()
        ),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        s.rename2(
            b.nodeid,
            b"f2",
            b.nodeid,
            b"w",
            RenameFlags::WHITEOUT.bits()
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        s.rename2(b.nodeid, b"f2", b.nodeid, b"g", 3),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        s.rename2(b.nodeid, b"f2", b.nodeid, b"g", 0x100),
        Err(Errno::EINVAL)
    );
    // A directory into itself; over a non-empty directory; replacing a file.
    assert_eq!(
        s.rename(ROOT, b"a", a.nodeid, b"inside"),
        Err(Errno::EINVAL)
    );
    assert_eq!(s.rename(ROOT, b"a", ROOT, b"b"), Err(Errno::ENOTEMPTY));
    s.rename(b.nodeid, b"f2", b.nodeid, b"g").unwrap();
    assert_eq!(host(&s).external().read("b/g").unwrap(), b"G");
    s.rename(ROOT, b"b", a.nodeid, b"b").unwrap();
    assert_eq!(s.getattr(a.nodeid).unwrap().nlink, 3);
    assert_eq!(s.getattr(ROOT).unwrap().nlink, 3);
    assert_eq!(s.rename(0xbad, b"x", ROOT, b"y"), Err(Errno::EBADF));
    assert_eq!(s.rename(ROOT, b"a", 0xbad, b"y"), Err(Errno::EBADF));
}

#[test]
fn link_counts_and_refusals() {
    let mut s = session();
    let (f, o) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    s.write(f.nodeid, o.fh, 0, b"data").unwrap();
    let l = s.link(f.nodeid, ROOT, b"f2").unwrap();
    assert_eq!(l.nodeid, f.nodeid);
    assert_eq!(l.attr.nlink, 2);
    assert_eq!(s.fs().inodes().lookups(f.nodeid), Some(2));
    let d = s.mkdir(ROOT, b"d", 0o755).unwrap();
    assert_eq!(s.link(d.nodeid, ROOT, b"d2"), Err(Errno::EPERM));
    assert_eq!(s.link(f.nodeid, ROOT, b"f2"), Err(Errno::EEXIST));
    assert_eq!(
        s.link(0x7777, ROOT, b"x"),
        Err(Errno::EBADF),
        "a node the guest never got"
    );
    assert_eq!(s.link(f.nodeid, f.nodeid, b"x"), Err(Errno::ENOTDIR));
}

#[test]
fn write_combining_readback_and_sync() {
    let mut s = session();
    let (f, o) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    let (n, fh) = (f.nodeid, o.fh);
    let mut want = Vec::new();
    for i in 0..64u32 {
        let chunk = [i as u8; 100];
        assert_eq!(s.write(n, fh, u64::from(i) * 100, &chunk).unwrap(), 100);
        want.extend_from_slice(&chunk);
    }
    // Combined writes are visible to READ and GETATTR at once.
    assert_eq!(s.read(n, fh, 0, 10_000).unwrap(), want);
    assert_eq!(s.getattr(n).unwrap().size, 6400);
    s.write(n, fh, 6400, b"tail").unwrap();
    // A non-sequential write after a pending run.
    assert_eq!(s.write(n, fh, 10, b"XY").unwrap(), 2);
    want.extend_from_slice(b"tail");
    want[10..12].copy_from_slice(b"XY");
    s.fsync(n, fh, false).unwrap();
    s.fsync(n, fh, true).unwrap();
    assert_eq!(host(&s).external().read("f").unwrap(), want);
    s.write(n, fh, 6404, b"more").unwrap();
    s.flush(n, fh, 1).unwrap();
    s.write(n, fh, 6408, b"last").unwrap();
    s.release(n, fh).unwrap();
    want.extend_from_slice(b"morelast");
    assert_eq!(
        host(&s).external().read("f").unwrap(),
        want,
        "RELEASE writes pending data out"
    );
    assert_eq!(s.release(n, fh), Err(Errno::EBADF));
    assert_eq!(s.fs().open_handles(), 0);
    // Reading a write-only handle, writing a read-only one, a huge offset.
    let w = s.open(n, 1).unwrap();
    assert_eq!(s.read(n, w.fh, 0, 10), Err(Errno::EBADF));
    let r = s.open(n, 0).unwrap();
    assert_eq!(s.write(n, r.fh, 0, b"x"), Err(Errno::EBADF));
    assert_eq!(s.write(n, w.fh, u64::MAX - 1, b"xy"), Err(Errno::EFBIG));
    assert_eq!(s.read(n, r.fh, u64::MAX, 10).unwrap(), b"");
    // A WRITE whose size field disagrees with its payload.
    let arg = WriteIn {
        fh: w.fh,
        size: 100,
        ..WriteIn::default()
    };
    assert_eq!(
        s.req(Opcode::WRITE, n, &[arg.as_bytes(), b"short"])
            .result(),
        Err(Errno::EINVAL)
    );
    // A handle used with another node.
    assert_eq!(s.read(ROOT, r.fh, 0, 1), Err(Errno::EBADF));
    assert_eq!(s.read(n, 0xffff, 0, 1), Err(Errno::EBADF));
    s.release(n, w.fh).unwrap();
    s.release(n, r.fh).unwrap();
}

#[test]
fn write_kills_privileges() {
    let mut s = session();
    let (f, o) = s.create(ROOT, b"suid", RW, REG | 0o6755).unwrap();
    s.setxattr(f.nodeid, b"security.capability", b"caps", 0)
        .unwrap();
    s.write_flags(
        f.nodeid,
        o.fh,
        0,
        &[1u8; 20_000],
        WriteFlags::KILL_SUIDGID.bits(),
    )
    .unwrap();
    let a = s.getattr(f.nodeid).unwrap();
    assert_eq!(a.mode, REG | 0o755);
    assert_eq!(
        s.getxattr_size(f.nodeid, b"security.capability"),
        Err(Errno::ENODATA)
    );
    // Set-group-id without group execute (mandatory locking) stays.
    let (g, go) = s.create(ROOT, b"sgid", RW, REG | 0o2644).unwrap();
    s.write_flags(g.nodeid, go.fh, 0, b"x", WriteFlags::KILL_SUIDGID.bits())
        .unwrap();
    assert_eq!(s.getattr(g.nodeid).unwrap().mode, REG | 0o2644);
}

#[test]
fn unlinked_open_file_keeps_data_until_closed() {
    let mut s = session();
    let (f, o) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    s.write(f.nodeid, o.fh, 0, b"still here").unwrap();
    let before = host(&s).node_count();
    s.unlink(ROOT, b"f").unwrap();
    assert_eq!(s.lookup(ROOT, b"f").unwrap().nodeid, 0);
    assert_eq!(s.read(f.nodeid, o.fh, 0, 100).unwrap(), b"still here");
    assert_eq!(s.getattr(f.nodeid).unwrap().nlink, 0);
    s.release(f.nodeid, o.fh).unwrap();
    assert_eq!(
        host(&s).node_count(),
        before,
        "the guest's lookup still holds it"
    );
    s.forget(f.nodeid, 1);
    assert_eq!(host(&s).node_count(), before - 1);
}

#[test]
fn statfs_and_xattrs() {
    let mut s = session();
    let st = s.statfs(ROOT).unwrap();
    assert_eq!((st.bsize, st.namelen, st.frsize), (4096, 255, 4096));
    assert!(st.blocks > 0 && st.bfree <= st.blocks && st.ffree < st.files);
    let (f, _) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    let n = f.nodeid;
    s.setxattr(n, b"user.a", b"value-a", 0).unwrap();
    s.setxattr(n, b"user.b", b"", 0).unwrap();
    assert_eq!(
        s.setxattr(n, b"user.a", b"x", xattr::XATTR_CREATE),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        s.setxattr(n, b"user.c", b"x", xattr::XATTR_REPLACE),
        Err(Errno::ENODATA)
    );
    assert_eq!(s.setxattr(n, b"nonsense", b"x", 0), Err(Errno::EOPNOTSUPP));
    assert_eq!(s.getxattr_size(n, b"user.a").unwrap(), 7);
    assert_eq!(s.getxattr(n, b"user.a", 7).unwrap(), b"value-a");
    assert_eq!(s.getxattr(n, b"user.a", 3), Err(Errno::ERANGE));
    assert_eq!(s.getxattr(n, b"user.zz", 10), Err(Errno::ENODATA));
    let size = s.listxattr(n, 0).unwrap();
    assert_eq!(u32::from_le_bytes(size[..4].try_into().unwrap()), 14);
    assert_eq!(s.listxattr(n, 14).unwrap(), b"user.a\0user.b\0");
    assert_eq!(s.listxattr(n, 5), Err(Errno::ERANGE));
    s.removexattr(n, b"user.a").unwrap();
    assert_eq!(s.removexattr(n, b"user.a"), Err(Errno::ENODATA));
    assert_eq!(s.getxattr(0xbad, b"user.a", 10), Err(Errno::EBADF));
    // A value size that disagrees with the payload; a name without NUL.
    let arg = SetxattrIn {
        size: 50,
        ..SetxattrIn::default()
    };
    assert_eq!(
        s.req(Opcode::SETXATTR, n, &[arg.as_bytes(), b"user.q\0", b"abc"])
            .result(),
        Err(Errno::EINVAL)
    );
    assert!(
        s.req(
            Opcode::GETXATTR,
            n,
            &[
                GetxattrIn {
                    size: 10,
                    padding: 0
                }
                .as_bytes(),
                b"user.b"
            ]
        )
        .result()
        .is_err()
    );
}

#[test]
fn readdir_and_readdirplus_count_only_entries_sent() {
    let mut s = session();
    let d = s.mkdir(ROOT, b"d", 0o755).unwrap();
    // Made on the host, so the guest holds no lookup of them yet.
    for i in 0..20 {
        host(&s)
            .external()
            .create_file(&format!("d/file{i:02}"), b"")
            .unwrap();
    }
    let fh = s.opendir(d.nodeid).unwrap();
    // Plain READDIR in small chunks: resumable at every cookie, nothing twice.
    let mut names = Vec::new();
    let mut off = 0;
    loop {
        let ents = s.readdir(d.nodeid, fh, off, 100, false).unwrap();
        if ents.is_empty() {
            break;
        }
        off = ents.last().unwrap().off;
        names.extend(ents.into_iter().map(|e| e.name));
    }
    assert_eq!(names.len(), 22);
    assert_eq!(&names[..2], &[b".".to_vec(), b"..".to_vec()]);
    // READDIRPLUS in a buffer holding 3 records: only those are looked up.
    let ents = s.readdir(d.nodeid, fh, 0, 3 * 160 + 100, true).unwrap();
    assert_eq!(ents.len(), 3);
    assert_eq!(ents[0].entry.unwrap().nodeid, 0, ". carries no node");
    let first = ents[2].entry.unwrap();
    assert_eq!(s.fs().inodes().lookups(first.nodeid), Some(1));
    let fourth = s.lookup_found(d.nodeid, b"file01").unwrap();
    assert_eq!(
        s.fs().inodes().lookups(fourth.nodeid),
        Some(1),
        "entries not sent are not counted"
    );
    let rest = s.readdir(d.nodeid, fh, ents[2].off, 1 << 16, true).unwrap();
    assert_eq!(rest.len(), 19);
    assert_eq!(s.fs().inodes().lookups(fourth.nodeid), Some(2));
    s.fsyncdir(d.nodeid, fh).unwrap();
    // Wrong node, file handle as dir handle, unknown handle.
    assert_eq!(s.readdir(ROOT, fh, 0, 4096, false), Err(Errno::EBADF));
    let (_, fo) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    assert_eq!(
        s.readdir(d.nodeid, fo.fh, 0, 4096, false),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        s.readdir(d.nodeid, 0xffff, 0, 4096, true),
        Err(Errno::EBADF)
    );
    assert_eq!(
        s.readdir(d.nodeid, fh, u64::MAX, 4096, false).unwrap(),
        vec![]
    );
    s.releasedir(d.nodeid, fh).unwrap();
    assert_eq!(s.releasedir(d.nodeid, fh), Err(Errno::EBADF));
    assert_eq!(s.opendir(fourth.nodeid), Err(Errno::ENOTDIR));
}

#[test]
fn posix_locks_and_flocks() {
    let mut s = session();
    let (f, o) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    let o2 = s.open(f.nodeid, RW).unwrap();
    let n = f.nodeid;
    let lk = |start, end, typ| FileLock {
        start,
        end,
        typ,
        pid: 1,
    };
    s.setlk(n, o.fh, 1, lk(0, 99, lock::F_WRLCK), false, false)
        .unwrap();
    let c = s.getlk(n, o2.fh, 2, lk(50, 60, lock::F_RDLCK)).unwrap();
    assert_eq!((c.start, c.end, c.typ), (0, 99, lock::F_WRLCK));
    assert_eq!(
        s.setlk(n, o2.fh, 2, lk(50, 60, lock::F_RDLCK), false, false),
        Err(Errno::EAGAIN)
    );
    // SETLKW on a held lock waits (cancellably): interrupted before it even
    // starts waiting, it fails with EINTR.
    let next = s.unique + 2;
    assert!(!s.interrupt(next));
    assert_eq!(
        s.setlk(n, o2.fh, 2, lk(50, 60, lock::F_RDLCK), false, true),
        Err(Errno::EINTR)
    );
    assert_eq!(
        s.getlk(n, o2.fh, 2, lk(100, 200, lock::F_WRLCK))
            .unwrap()
            .typ,
        lock::F_UNLCK
    );
    assert_eq!(
        s.setlk(n, o.fh, 1, lk(9, 3, lock::F_WRLCK), false, false),
        Err(Errno::EINVAL)
    );
    // FLUSH drops the owner's POSIX locks.
    s.flush(n, o.fh, 1).unwrap();
    s.setlk(n, o2.fh, 2, lk(50, 60, lock::F_WRLCK), false, true)
        .unwrap();
    // flock: per open file.
    s.setlk(n, o.fh, 1, lk(0, 0, lock::F_WRLCK), true, false)
        .unwrap();
    assert_eq!(
        s.setlk(n, o2.fh, 2, lk(0, 0, lock::F_RDLCK), true, false),
        Err(Errno::EAGAIN)
    );
    s.release(n, o.fh).unwrap();
    s.setlk(n, o2.fh, 2, lk(0, 0, lock::F_RDLCK), true, false)
        .unwrap();
    assert_eq!(
        s.getlk(n, 0xbad, 2, lk(0, 1, lock::F_RDLCK)),
        Err(Errno::EBADF)
    );
}

#[test]
fn access_create_interrupt_destroy() {
    let mut s = session();
    let (f, o) = s.create(ROOT, b"f", RW, REG | 0o640).unwrap();
    assert_eq!(f.attr.mode, REG | 0o640);
    assert_eq!(
        s.create(ROOT, b"f", RW | OpenFlags::EXCL.bits(), REG | 0o644),
        Err(Errno::EEXIST)
    );
    let (again, o2) = s.create(ROOT, b"f", RW, REG | 0o600).unwrap();
    assert_eq!(again.nodeid, f.nodeid);
    s.mkdir(ROOT, b"d", 0o755).unwrap();
    assert_eq!(s.create(ROOT, b"d", RW, REG | 0o644), Err(Errno::EISDIR));
    s.access(f.nodeid, access::R_OK | access::W_OK).unwrap();
    assert_eq!(s.access(f.nodeid, access::X_OK), Err(Errno::EACCES));
    s.uid = 1000;
    s.gid = 1000;
    assert_eq!(s.access(f.nodeid, access::R_OK), Err(Errno::EACCES));
    s.access(f.nodeid, access::F_OK).unwrap();
    // New objects belong to the caller; a set-group-id directory passes its group on.
    let (mine, _) = s.create(ROOT, b"mine", RW, REG | 0o644).unwrap();
    assert_eq!((mine.attr.uid, mine.attr.gid), (1000, 1000));
    s.uid = 0;
    s.gid = 0;
    let g = s.mkdir(ROOT, b"g", 0o2777).unwrap();
    s.setattr(
        g.nodeid,
        &SetattrIn {
            valid: SetattrValid::GID.bits(),
            gid: 55,
            ..SetattrIn::default()
        },
    )
    .unwrap();
    s.uid = 1000;
    s.gid = 1000;
    let sub = s.mkdir(g.nodeid, b"sub", 0o755).unwrap();
    assert_eq!(
        (sub.attr.uid, sub.attr.gid, sub.attr.mode & mode::S_ISGID),
        (1000, 55, mode::S_ISGID)
    );
    let (file, _) = s.create(g.nodeid, b"x", RW, REG | 0o644).unwrap();
    assert_eq!(file.attr.gid, 55);
    // INTERRUPT gets no reply; DESTROY drops every handle and node but the root.
    assert!(!s.interrupt(12345));
    assert!(s.fs().open_handles() >= 2);
    s.destroy().unwrap();
    assert_eq!(s.fs().open_handles(), 0);
    assert_eq!(s.fs().inodes().len(), 1);
    assert_eq!(
        s.read(f.nodeid, o.fh, 0, 1),
        Err(Errno::EIO),
        "no session after DESTROY"
    );
    s.init(41, InitFlags::all() - InitFlags::INIT_RESERVED)
        .unwrap();
    assert_eq!(s.read(f.nodeid, o2.fh, 0, 1), Err(Errno::EBADF));
}

#[test]
fn fallocate_lseek_copy_file_range() {
    let mut s = session();
    let (f, o) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    let (n, fh) = (f.nodeid, o.fh);
    s.write(n, fh, 0, &[7u8; 10_000]).unwrap();
    s.fallocate(n, fh, 0, 100, 0).unwrap();
    assert_eq!(s.getattr(n).unwrap().size, 10_000, "never shrinks");
    s.fallocate(n, fh, 0, 20_000, 0).unwrap();
    assert_eq!(s.getattr(n).unwrap().size, 20_000);
    s.fallocate(n, fh, 0, 50_000, FallocateMode::KEEP_SIZE.bits())
        .unwrap();
    assert_eq!(s.getattr(n).unwrap().size, 20_000);
    s.fallocate(
        n,
        fh,
        100,
        8_000,
        (FallocateMode::PUNCH_HOLE | FallocateMode::KEEP_SIZE).bits(),
    )
    .unwrap();
    assert_eq!(s.read(n, fh, 98, 4).unwrap(), [7, 7, 0, 0]);
    assert_eq!(s.read(n, fh, 8_098, 4).unwrap(), [0, 0, 7, 7]);
    assert_eq!(
        s.fallocate(n, fh, 0, 10, FallocateMode::PUNCH_HOLE.bits()),
        Err(Errno::EOPNOTSUPP)
    );
    s.fallocate(n, fh, 19_990, 20, FallocateMode::ZERO_RANGE.bits())
        .unwrap();
    assert_eq!(s.getattr(n).unwrap().size, 20_010);
    assert_eq!(
        s.fallocate(n, fh, 0, 10, FallocateMode::COLLAPSE_RANGE.bits()),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        s.fallocate(n, fh, 0, 10, 0x8000_0000),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(s.fallocate(n, fh, u64::MAX, 10, 0), Err(Errno::EFBIG));
    assert_eq!(s.fallocate(n, fh, 0, 0, 0), Err(Errno::EINVAL));
    assert_eq!(s.lseek(n, fh, 5, 3).unwrap(), 5);
    assert_eq!(s.lseek(n, fh, 5, 4).unwrap(), 20_010);
    assert_eq!(s.lseek(n, fh, 20_010, 3), Err(Errno::ENXIO));
    assert_eq!(s.lseek(n, fh, 3, 0).unwrap(), 3);
    assert_eq!(s.lseek(n, fh, 10, 2).unwrap(), 20_020);
    assert_eq!(s.lseek(n, fh, 0, 9), Err(Errno::EINVAL));
    let (g, go) = s.create(ROOT, b"g", RW, REG | 0o644).unwrap();
    assert_eq!(
        s.copy_file_range(n, fh, 0, g.nodeid, go.fh, 10, 100)
            .unwrap(),
        100
    );
    assert_eq!(
        s.read(g.nodeid, go.fh, 0, 200).unwrap(),
        [&[0u8; 10][..], &[7u8; 100]].concat()
    );
    assert_eq!(
        s.copy_file_range(n, fh, 1 << 40, g.nodeid, go.fh, 0, 100)
            .unwrap(),
        0
    );
    assert_eq!(
        s.copy_file_range(n, fh, 0, n, fh, 10, 100),
        Err(Errno::EINVAL),
        "overlap"
    );
    assert_eq!(
        s.copy_file_range(n, fh, 0, g.nodeid, 0xbad, 0, 1),
        Err(Errno::EBADF)
    );
    assert_eq!(
        s.copy_file_range(n, fh, 0, 0xbad, go.fh, 0, 1),
        Err(Errno::EBADF)
    );
}

#[test]
fn syncfs_tmpfile_statx() {
    let mut s = session();
    s.syncfs(ROOT).unwrap();
    let d = s.mkdir(ROOT, b"d", 0o755).unwrap();
    let (t, o) = s.tmpfile(d.nodeid, RW, REG | 0o600).unwrap();
    assert_eq!(t.attr.nlink, 0);
    s.write(t.nodeid, o.fh, 0, b"anon").unwrap();
    s.fsync(t.nodeid, o.fh, false).unwrap();
    let dfh = s.opendir(d.nodeid).unwrap();
    let names = s.readdir(d.nodeid, dfh, 0, 4096, false).unwrap();
    assert_eq!(names.len(), 2, "a tmpfile has no name");
    let l = s.link(t.nodeid, d.nodeid, b"named").unwrap();
    assert_eq!(l.attr.nlink, 1);
    assert_eq!(host(&s).external().read("d/named").unwrap(), b"anon");
    assert_eq!(s.tmpfile(t.nodeid, RW, REG | 0o600), Err(Errno::ENOTDIR));
    let x = s.statx(t.nodeid).unwrap();
    assert_eq!((x.size, x.nlink, x.mode as u32), (4, 1, REG | 0o600));
    assert_eq!(x.ino, t.attr.ino);
    assert_eq!(s.statx(0xbad), Err(Errno::EBADF));
}

#[test]
fn bogus_nodes_and_handles_on_every_opcode() {
    let mut s = session();
    let (f, o) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    let body = [0xffu8; 256];
    for &op in Opcode::ALL {
        for node in [0u64, 0xdead_beef, u64::MAX] {
            // Every fixed argument full of 0xff (huge handles, sizes, offsets); names without NUL.
            let r = s.call(op as u32, node, &[&body]);
            if let Some(r) = r {
                if op != Opcode::INIT
                    && op != Opcode::DESTROY
                    && op != Opcode::STATFS
                    && op != Opcode::INTERRUPT
                {
                    assert!(
                        r.result().is_err() || op == Opcode::FORGET,
                        "{op:?} on {node:#x} succeeded"
                    );
                }
            }
            // Empty bodies.
            let _ = s.call(op as u32, node, &[]);
        }
        if op == Opcode::DESTROY || op == Opcode::INIT {
            continue;
        }
        // Short bodies on a real node.
        for len in [1usize, 7, 15, 39] {
            if let Some(r) = s.call(op as u32, f.nodeid, &[&body[..len]]) {
                let _ = r.result();
            }
        }
    }
    // The session survived and the file is intact.
    let _ = s.init(41, InitFlags::all() - InitFlags::INIT_RESERVED);
    assert!(s.lookup_found(ROOT, b"f").is_ok());
    let _ = o;
}

#[test]
fn hostile_names_are_rejected_on_every_name_opcode() {
    let mut s = session();
    let d = s.mkdir(ROOT, b"d", 0o755).unwrap();
    let (f, _) = s.create(d.nodeid, b"f", RW, REG | 0o644).unwrap();
    let before = host(&s).node_count();
    for bad in [&b".."[..], b".", b"", b"a/b", b"/etc", b"../f", b"/", b"\0"] {
        let bad_errs = [Errno::EINVAL, Errno::ENAMETOOLONG, Errno::ENOENT];
        let check = |r: Result<_, Errno>, what: &str| {
            assert!(
                matches!(r, Err(e) if bad_errs.contains(&e)),
                "{what} {bad:?}"
            )
        };
        // With export support "." and ".." are the node and its parent.
        match bad {
            b"." => assert_eq!(s.lookup(d.nodeid, bad).unwrap().nodeid, d.nodeid),
            b".." => assert_eq!(s.lookup(d.nodeid, bad).unwrap().nodeid, ROOT),
            _ => check(s.lookup(d.nodeid, bad).map(|_| ()), "lookup"),
        }
        check(s.mkdir(d.nodeid, bad, 0o755).map(|_| ()), "mkdir");
        check(s.mknod(d.nodeid, bad, REG | 0o644, 0).map(|_| ()), "mknod");
        check(s.symlink(d.nodeid, bad, b"t").map(|_| ()), "symlink");
        check(
            s.create(d.nodeid, bad, RW, REG | 0o644).map(|_| ()),
            "create",
        );
        check(s.unlink(d.nodeid, bad), "unlink");
        check(s.rmdir(ROOT, bad), "rmdir");
        check(s.rename(d.nodeid, b"f", ROOT, bad), "rename to");
        check(s.rename(d.nodeid, bad, ROOT, b"ok"), "rename from");
        check(s.rename2(d.nodeid, b"f", ROOT, bad, 1), "rename2");
        check(s.link(f.nodeid, ROOT, bad).map(|_| ()), "link");
    }
    assert_eq!(host(&s).node_count(), before);
    // A NUL inside a name ends it (C string): at most the prefix is used, and
    // no name with a NUL or a `/` ever reaches the host.
    let _ = s.mkdir(d.nodeid, b"x\0y", 0o755);
    let _ = s.symlink(d.nodeid, b"l\0/../../etc", b"t");
    let fh = s.opendir(d.nodeid).unwrap();
    for e in s.readdir(d.nodeid, fh, 0, 1 << 16, false).unwrap() {
        assert!(
            !e.name.contains(&0) && !e.name.contains(&b'/'),
            "{:?}",
            e.name
        );
    }
    s.releasedir(d.nodeid, fh).unwrap();
    let _ = s.rmdir(d.nodeid, b"x");
    let _ = s.unlink(d.nodeid, b"l");
    let long = [b'n'; 256];
    assert_eq!(s.mkdir(ROOT, &long, 0o755), Err(Errno::ENAMETOOLONG));
    assert!(host(&s).external().exists("d/f"));
}

#[test]
fn listings_are_cached_only_where_the_transport_forwards_host_changes() {
    let cached = |cache: CacheMode, watcher: bool, forwarded: bool| {
        let h = MemHost::with_clock(clock);
        h.set_watcher(watcher);
        let mut cfg = PassthroughConfig::for_mode(cache, Duration::from_secs(1));
        cfg.host_changes_forwarded = forwarded;
        // Without POSIX ACLs (which make the kernel check permissions and
        // so skip OPENDIR where listings are cached): the OPENDIR reply's flags.
        let mut s = Session::with_flags(
            fuse::on_big_stack(move || PassthroughFs::new(h, cfg).unwrap()),
            InitFlags::all() - InitFlags::INIT_RESERVED - InitFlags::POSIX_ACL,
        );
        let d = s.mkdir(ROOT, b"d", 0o755).unwrap();
        let out = s.opendir_out(d.nodeid).unwrap();
        let flags = FopenFlags::from_bits_retain(out.open_flags);
        let dir = FopenFlags::CACHE_DIR | FopenFlags::KEEP_CACHE;
        assert!(
            flags & dir == dir || flags & dir == FopenFlags::empty(),
            "{flags:?}"
        );
        assert_eq!(s.fs().caches_listings(), flags.contains(dir));
        flags.contains(dir)
    };
    assert!(cached(CacheMode::Always, false, false));
    assert!(cached(CacheMode::Auto, true, true));
    assert!(
        cached(CacheMode::Auto, false, true),
        "no watcher: the timeout"
    );
    assert!(
        !cached(CacheMode::Auto, true, false),
        "not forwarded (virtio)"
    );
    assert!(!cached(CacheMode::Metadata, true, true));
    assert!(!cached(CacheMode::Never, true, true));
}

#[test]
fn negative_lookup_sees_external_create_with_watcher() {
    let h = MemHost::with_clock(clock);
    h.set_watcher(true);
    let mut s = session_with(h, PassthroughConfig::default());
    let d = s.mkdir(ROOT, b"d", 0o755).unwrap();
    let neg = s.lookup(d.nodeid, b"new").unwrap();
    assert_eq!(
        (neg.nodeid, neg.entry_valid),
        (0, 1),
        "negative entry with a timeout"
    );
    assert_eq!(s.lookup(d.nodeid, b"new").unwrap().nodeid, 0);
    assert!(
        s.fs().negative_cache().stats().hits >= 1,
        "the second miss came from the cache"
    );
    host(&s).external().create_file("d/new", b"hi").unwrap();
    let e = s.lookup_found(d.nodeid, b"new").unwrap();
    assert_eq!(
        e.attr.size, 2,
        "visible at once, without waiting for the timeout"
    );
    // And a removal then re-creation behind our back.
    host(&s).external().remove("d/new").unwrap();
    assert_eq!(s.lookup(d.nodeid, b"new").unwrap().nodeid, 0);
    host(&s).external().mkdir("d/new").unwrap();
    assert_eq!(
        s.lookup_found(d.nodeid, b"new").unwrap().attr.mode & mode::S_IFMT,
        mode::S_IFDIR
    );
}

#[test]
fn negative_lookup_without_watcher_expires_after_timeout() {
    let mut s = session();
    assert!(!host(&s).has_watcher());
    s.now = Instant::from_millis(1_000);
    assert_eq!(s.lookup(ROOT, b"late").unwrap().nodeid, 0);
    host(&s).external().create_file("late", b"x").unwrap();
    s.now = Instant::from_millis(1_500);
    assert_eq!(
        s.lookup(ROOT, b"late").unwrap().nodeid,
        0,
        "still cached within the timeout"
    );
    s.now = Instant::from_millis(2_001);
    assert!(
        s.lookup_found(ROOT, b"late").is_ok(),
        "visible after the negative timeout"
    );
}

#[test]
fn cache_never_answers_enoent_and_skips_the_negative_cache() {
    let cfg = PassthroughConfig::for_mode(CacheMode::Never, Duration::from_secs(1));
    let mut s = session_with(MemHost::new(), cfg);
    assert_eq!(s.lookup(ROOT, b"x"), Err(Errno::ENOENT));
    host(&s).external().create_file("x", b"").unwrap();
    assert!(s.lookup_found(ROOT, b"x").is_ok());
    assert_eq!(s.fs().negative_cache().stats().hits, 0);
}

#[test]
fn guest_create_invalidates_negative_cache() {
    let mut s = session();
    assert_eq!(s.lookup(ROOT, b"a").unwrap().nodeid, 0);
    s.mkdir(ROOT, b"a", 0o755).unwrap();
    assert!(s.lookup_found(ROOT, b"a").is_ok());
    assert_eq!(s.lookup(ROOT, b"b").unwrap().nodeid, 0);
    s.symlink(ROOT, b"b", b"a").unwrap();
    assert!(s.lookup_found(ROOT, b"b").is_ok());
    assert_eq!(s.lookup(ROOT, b"c").unwrap().nodeid, 0);
    s.rename(ROOT, b"b", ROOT, b"c").unwrap();
    assert!(s.lookup_found(ROOT, b"c").is_ok());
    let a = s.lookup_found(ROOT, b"a").unwrap();
    assert_eq!(s.lookup(a.nodeid, b"l").unwrap().nodeid, 0);
    let (f, _) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    s.link(f.nodeid, a.nodeid, b"l").unwrap();
    assert!(s.lookup_found(a.nodeid, b"l").is_ok());
}

/// The names of a listing, `.` and `..` left out, sorted.
fn names_of(v: &[fuse::DirEnt]) -> Vec<Vec<u8>> {
    let mut n: Vec<_> = v
        .iter()
        .map(|e| e.name.clone())
        .filter(|n| n != b"." && n != b"..")
        .collect();
    n.sort();
    n
}

/// Where the kernel checks permissions itself and every listing is cached,
/// OPENDIR answers ENOSYS (the kernel then opens directories without
/// asking) and READDIR, READDIRPLUS and FSYNCDIR of handle 0 serve the
/// node's directory: the same listing as through a handle; a file's node is
/// ENOTDIR, an unknown handle EBADF, an unknown node an error.
#[test]
fn without_opendir_handle_zero_lists_the_node() {
    let cfg = PassthroughConfig {
        default_permissions: true,
        ..PassthroughConfig::for_mode(CacheMode::Always, Duration::from_secs(1))
    };
    let mut s = session_with(MemHost::with_clock(clock), cfg);
    let d = s.mkdir(ROOT, b"d", 0o755).unwrap().nodeid;
    for name in [b"a".as_slice(), b"b", b"c"] {
        s.create(d, name, RW, REG | 0o644).unwrap();
    }
    assert_eq!(s.opendir(d).err(), Some(Errno::ENOSYS));
    let plain = s.readdir(d, 0, 0, 4096, false).unwrap();
    assert_eq!(
        names_of(&plain),
        [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
    );
    let plus = s.readdir(d, 0, 0, 4096, true).unwrap();
    assert_eq!(names_of(&plus), names_of(&plain));
    // Resuming from a cookie works without a stream kept between requests.
    let first = plain.iter().find(|e| e.name == b"a").unwrap();
    let rest = s.readdir(d, 0, first.off, 4096, false).unwrap();
    assert!(rest.iter().all(|e| e.name != b"a") || plain.len() == rest.len());
    s.fsyncdir(d, 0).unwrap();
    let f = s.lookup_found(d, b"a").unwrap().nodeid;
    assert_eq!(s.readdir(f, 0, 0, 4096, false).err(), Some(Errno::ENOTDIR));
    assert_eq!(s.readdir(d, 77, 0, 4096, false).err(), Some(Errno::EBADF));
    assert!(s.readdir(12345, 0, 0, 4096, true).is_err());
}

/// Without the kernel's own permission check (no `default_permissions`,
/// no POSIX ACLs agreed), or where listings are not all cached, OPENDIR
/// opens a handle as before and handle 0 is no handle.
#[test]
fn opendir_stays_where_the_server_must_see_opens() {
    let no_acl = InitFlags::all() - InitFlags::INIT_RESERVED - InitFlags::POSIX_ACL;
    let always = PassthroughConfig::for_mode(CacheMode::Always, Duration::from_secs(1));
    let auto = PassthroughConfig {
        default_permissions: true,
        ..PassthroughConfig::for_mode(CacheMode::Auto, Duration::from_secs(1))
    };
    for (cfg, flags) in [
        (always, no_acl),
        (auto, InitFlags::all() - InitFlags::INIT_RESERVED),
    ] {
        let mut s = Session::with_flags(
            fuse::on_big_stack(move || {
                PassthroughFs::new(MemHost::with_clock(clock), cfg).unwrap()
            }),
            flags,
        );
        let fh = s.opendir(ROOT).unwrap();
        assert_ne!(fh, 0);
        assert!(s.readdir(ROOT, fh, 0, 4096, false).is_ok());
        assert_eq!(s.readdir(ROOT, 0, 0, 4096, false).err(), Some(Errno::EBADF));
        s.releasedir(ROOT, fh).unwrap();
    }
}
