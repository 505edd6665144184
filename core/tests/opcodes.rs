//! Byte-literal tests, one or more per opcode, through `FuseDispatcher::handle`
//! on a `MemFs`: requests are raw little-endian bytes, replies are checked for
//! framing (`len` equals the bytes written), errno and body.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::abi::*;
use arcbox_fs::memfs::{MemFs, MemFsConfig};
use arcbox_fs::{Errno, Timespec};
use common::*;
use zerocopy::{FromBytes, IntoBytes};

const ROOT: u64 = ROOT_ID;
const RDWR: u32 = 2;

fn mkdir(s: &mut Session, parent: u64, name: &[u8], mode_bits: u32) -> EntryOut {
    let arg = MkdirIn {
        mode: mode_bits,
        umask: 0o022,
    };
    s.reply(Opcode::MKDIR, parent, &[arg.as_bytes(), &cstr(name)])
        .parse()
}

fn create(s: &mut Session, parent: u64, name: &[u8]) -> (EntryOut, OpenOut) {
    let arg = CreateIn {
        flags: RDWR | 0o100,
        mode: mode::S_IFREG | 0o644,
        umask: 0o022,
        open_flags: 0,
    };
    let r = s.reply(Opcode::CREATE, parent, &[arg.as_bytes(), &cstr(name)]);
    let b = r.ok();
    assert_eq!(b.len(), 128 + 16);
    (
        EntryOut::read_from_bytes(&b[..128]).unwrap(),
        OpenOut::read_from_bytes(&b[128..]).unwrap(),
    )
}

fn write(s: &mut Session, node: u64, fh: u64, offset: u64, data: &[u8]) -> Reply {
    let arg = WriteIn {
        fh,
        offset,
        size: data.len() as u32,
        ..WriteIn::default()
    };
    s.reply(Opcode::WRITE, node, &[arg.as_bytes(), data])
}

fn read(s: &mut Session, node: u64, fh: u64, offset: u64, size: u32) -> Reply {
    let arg = ReadIn {
        fh,
        offset,
        size,
        ..ReadIn::default()
    };
    s.reply(Opcode::READ, node, &[arg.as_bytes()])
}

fn getattr(s: &mut Session, node: u64) -> Attr {
    s.reply(Opcode::GETATTR, node, &[GetattrIn::default().as_bytes()])
        .parse::<AttrOut>()
        .attr
}

fn lookup(s: &mut Session, parent: u64, name: &[u8]) -> Reply {
    s.reply(Opcode::LOOKUP, parent, &[&cstr(name)])
}

fn opendir(s: &mut Session, node: u64) -> u64 {
    s.reply(Opcode::OPENDIR, node, &[OpenIn::default().as_bytes()])
        .parse::<OpenOut>()
        .fh
}

/// Decodes READDIR records: (ino, off, type, name).
fn dirents(b: &[u8]) -> Vec<(u64, u64, u32, Vec<u8>)> {
    let mut v = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let (d, _) = Dirent::read_from_prefix(&b[at..]).unwrap();
        let name = b[at + 24..at + 24 + d.namelen as usize].to_vec();
        v.push((d.ino, d.off, d.typ, name));
        at += dirent_align(24 + d.namelen as usize);
    }
    assert_eq!(at, b.len());
    v
}

/// Decodes READDIRPLUS records: (entry, off, name).
fn direntplus(b: &[u8]) -> Vec<(EntryOut, u64, Vec<u8>)> {
    let mut v = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let (d, _) = DirentPlus::read_from_prefix(&b[at..]).unwrap();
        let name = b[at + 152..at + 152 + d.dirent.namelen as usize].to_vec();
        v.push((d.entry_out, d.dirent.off, name));
        at += dirent_align(152 + d.dirent.namelen as usize);
    }
    assert_eq!(at, b.len());
    v
}

#[test]
fn lookup_getattr_and_forget() {
    let mut s = Session::new();
    assert_eq!(s.err(Opcode::LOOKUP, ROOT, &[b"nope\0"]), Errno::ENOENT);
    let e = mkdir(&mut s, ROOT, b"d", 0o755);
    assert!(e.nodeid > ROOT);
    assert_eq!(e.attr.mode, mode::S_IFDIR | 0o755);
    assert_eq!((e.entry_valid, e.attr_valid), (1, 1));
    let l: EntryOut = lookup(&mut s, ROOT, b"d").parse();
    assert_eq!((l.nodeid, l.generation), (e.nodeid, e.generation));
    assert_eq!(s.d.fs().lookup_count(e.nodeid), Some(2));
    // FORGET more than was looked up: saturates, the named node stays.
    assert_eq!(
        s.call(
            Opcode::FORGET,
            e.nodeid,
            &[ForgetIn { nlookup: 99 }.as_bytes()]
        ),
        None
    );
    assert_eq!(s.d.fs().lookup_count(e.nodeid), Some(0));
    assert_eq!(getattr(&mut s, e.nodeid).nlink, 2);
    // Forgetting the root never frees it.
    assert_eq!(
        s.call(
            Opcode::FORGET,
            ROOT,
            &[ForgetIn { nlookup: u64::MAX }.as_bytes()]
        ),
        None
    );
    assert_eq!(getattr(&mut s, ROOT).nlink, 3);
    assert_eq!(getattr(&mut s, ROOT).ino, ROOT);
    assert_eq!(
        s.err(
            Opcode::GETATTR,
            0xdead_beef,
            &[GetattrIn::default().as_bytes()]
        ),
        Errno::ENOENT
    );
    // LOOKUP in a non-directory.
    let (f, _) = create(&mut s, ROOT, b"f");
    assert_eq!(s.err(Opcode::LOOKUP, f.nodeid, &[b"x\0"]), Errno::ENOTDIR);
}

#[test]
fn unlinked_node_freed_after_forget_and_ids_not_reused() {
    let mut s = Session::new();
    let (f, o) = create(&mut s, ROOT, b"f");
    let before = s.d.fs().node_count();
    s.reply(Opcode::UNLINK, ROOT, &[b"f\0"]).ok();
    // Still open and looked up: still there.
    assert_eq!(getattr(&mut s, f.nodeid).nlink, 0);
    let rel = ReleaseIn {
        fh: o.fh,
        ..ReleaseIn::default()
    };
    s.reply(Opcode::RELEASE, f.nodeid, &[rel.as_bytes()]).ok();
    assert_eq!(s.d.fs().node_count(), before);
    s.call(
        Opcode::FORGET,
        f.nodeid,
        &[ForgetIn { nlookup: 1 }.as_bytes()],
    );
    assert_eq!(s.d.fs().node_count(), before - 1);
    assert_eq!(
        s.err(
            Opcode::GETATTR,
            f.nodeid,
            &[GetattrIn::default().as_bytes()]
        ),
        Errno::ENOENT
    );
    let (g, _) = create(&mut s, ROOT, b"f");
    assert!(g.nodeid > f.nodeid, "node ids are never reused");
}

#[test]
fn batch_forget_and_interrupt_get_no_reply() {
    let mut s = Session::new();
    let a = mkdir(&mut s, ROOT, b"a", 0o755);
    lookup(&mut s, ROOT, b"a").ok();
    let items = [
        BatchForgetIn { count: 3, dummy: 0 }.as_bytes().to_vec(),
        ForgetOne {
            nodeid: a.nodeid,
            nlookup: 2,
        }
        .as_bytes()
        .to_vec(),
        ForgetOne {
            nodeid: ROOT,
            nlookup: 5,
        }
        .as_bytes()
        .to_vec(),
        ForgetOne {
            nodeid: 12345,
            nlookup: 1,
        }
        .as_bytes()
        .to_vec(),
    ];
    let parts: Vec<&[u8]> = items.iter().map(|v| &v[..]).collect();
    assert_eq!(s.call(Opcode::BATCH_FORGET, 0, &parts), None);
    assert_eq!(s.d.fs().lookup_count(a.nodeid), Some(0));
    // A count larger than the items present: no reply, nothing forgotten.
    lookup(&mut s, ROOT, b"a").ok();
    let (head, one) = (
        BatchForgetIn {
            count: 1000,
            dummy: 0,
        },
        ForgetOne {
            nodeid: a.nodeid,
            nlookup: 1,
        },
    );
    assert_eq!(
        s.call(Opcode::BATCH_FORGET, 0, &[head.as_bytes(), one.as_bytes()]),
        None
    );
    assert_eq!(s.d.fs().lookup_count(a.nodeid), Some(1));
    assert_eq!(
        s.call(
            Opcode::INTERRUPT,
            0,
            &[InterruptIn { unique: 7 }.as_bytes()]
        ),
        None
    );
    // A truncated INTERRUPT still gets no reply.
    assert_eq!(s.call(Opcode::INTERRUPT, 0, &[&[1, 2, 3]]), None);
    assert_eq!(
        s.call(
            Opcode::NOTIFY_REPLY,
            ROOT,
            &[NotifyRetrieveIn::default().as_bytes()]
        ),
        None
    );
}

#[test]
fn setattr_mode_owner_size_times() {
    let mut s = Session::new();
    let (f, o) = create(&mut s, ROOT, b"f");
    assert_eq!(f.attr.mode, mode::S_IFREG | 0o644);
    let set = SetattrIn {
        valid: (SetattrValid::MODE | SetattrValid::UID | SetattrValid::GID | SetattrValid::SIZE)
            .bits(),
        mode: 0o4751,
        uid: 1000,
        gid: 100,
        size: 10_000,
        ..SetattrIn::default()
    };
    let a = s
        .reply(Opcode::SETATTR, f.nodeid, &[set.as_bytes()])
        .parse::<AttrOut>()
        .attr;
    // chown of a regular file drops suid.
    assert_eq!(
        (a.mode, a.uid, a.gid, a.size),
        (mode::S_IFREG | 0o751, 1000, 100, 10_000)
    );
    assert_eq!(a.blocks, 0, "truncate up allocates nothing");
    let set = SetattrIn {
        valid: (SetattrValid::ATIME | SetattrValid::MTIME).bits(),
        atime: 111,
        atimensec: 5,
        mtime: 222,
        mtimensec: 2_000_000_000,
        ..SetattrIn::default()
    };
    let a = s
        .reply(Opcode::SETATTR, f.nodeid, &[set.as_bytes()])
        .parse::<AttrOut>()
        .attr;
    assert_eq!(
        (a.atime, a.atimensec, a.mtime, a.mtimensec),
        (111, 5, 222, 999_999_999)
    );
    let set = SetattrIn {
        valid: (SetattrValid::ATIME_NOW
            | SetattrValid::MTIME_NOW
            | SetattrValid::ATIME
            | SetattrValid::MTIME)
            .bits(),
        ..SetattrIn::default()
    };
    let a = s
        .reply(Opcode::SETATTR, f.nodeid, &[set.as_bytes()])
        .parse::<AttrOut>()
        .attr;
    assert_eq!((a.atime, a.mtime), (0, 0), "NOW is the MemFs clock (zero)");
    // Size past the limit, size on a directory.
    let big = SetattrIn {
        valid: SetattrValid::SIZE.bits(),
        size: (1 << 30) + 1,
        ..SetattrIn::default()
    };
    assert_eq!(
        s.err(Opcode::SETATTR, f.nodeid, &[big.as_bytes()]),
        Errno::EFBIG
    );
    let trunc = SetattrIn {
        valid: SetattrValid::SIZE.bits(),
        size: 0,
        ..SetattrIn::default()
    };
    assert_eq!(
        s.err(Opcode::SETATTR, ROOT, &[trunc.as_bytes()]),
        Errno::EISDIR
    );
    // An unprivileged caller who does not own it.
    s.uid = 2000;
    s.gid = 2000;
    let chmod = SetattrIn {
        valid: SetattrValid::MODE.bits(),
        mode: 0o777,
        ..SetattrIn::default()
    };
    assert_eq!(
        s.err(Opcode::SETATTR, f.nodeid, &[chmod.as_bytes()]),
        Errno::EPERM
    );
    let chown = SetattrIn {
        valid: SetattrValid::UID.bits(),
        uid: 2000,
        ..SetattrIn::default()
    };
    assert_eq!(
        s.err(Opcode::SETATTR, f.nodeid, &[chown.as_bytes()]),
        Errno::EPERM
    );
    let ftrunc = SetattrIn {
        valid: (SetattrValid::SIZE | SetattrValid::FH).bits(),
        fh: o.fh,
        size: 1,
        ..SetattrIn::default()
    };
    let a = s
        .reply(Opcode::SETATTR, f.nodeid, &[ftrunc.as_bytes()])
        .parse::<AttrOut>()
        .attr;
    assert_eq!(
        a.size, 1,
        "ftruncate through a writable handle needs no permission"
    );
    s.reply(Opcode::SETATTR, f.nodeid, &[&[0u8; 10]])
        .errno()
        .unwrap();
}

#[test]
fn symlink_readlink_absolute_target_stored_not_followed() {
    let mut s = Session::new();
    let e: EntryOut = s
        .reply(Opcode::SYMLINK, ROOT, &[b"l\0", b"/etc/passwd\0"])
        .parse();
    assert_eq!(e.attr.mode, mode::S_IFLNK | 0o777);
    assert_eq!(e.attr.size, 11);
    assert_eq!(
        s.reply(Opcode::READLINK, e.nodeid, &[]).ok(),
        b"/etc/passwd"
    );
    let e2: EntryOut = s
        .reply(Opcode::SYMLINK, ROOT, &[b"up\0", b"../../..\0"])
        .parse();
    assert_eq!(s.reply(Opcode::READLINK, e2.nodeid, &[]).ok(), b"../../..");
    assert_eq!(s.err(Opcode::READLINK, ROOT, &[]), Errno::EINVAL);
    assert_eq!(
        s.err(Opcode::SYMLINK, ROOT, &[b"l\0", b"x\0"]),
        Errno::EEXIST
    );
    assert_eq!(
        s.err(Opcode::SYMLINK, ROOT, &[b"m\0", b"\0"]),
        Errno::ENOENT
    );
    // OPEN on a symlink is refused (the server never follows it).
    assert_eq!(
        s.err(Opcode::OPEN, e.nodeid, &[OpenIn::default().as_bytes()]),
        Errno::ELOOP
    );
}

#[test]
fn mknod_types_and_umask() {
    let mut s = Session::new();
    let mk = |m: u32, rdev: u32| MknodIn {
        mode: m,
        rdev,
        umask: 0o027,
        padding: 0,
    };
    let cases = [
        (
            b"reg".as_slice(),
            mode::S_IFREG | 0o777,
            0,
            mode::S_IFREG | 0o750,
        ),
        (b"fifo", mode::S_IFIFO | 0o666, 0, mode::S_IFIFO | 0o640),
        (b"sock", mode::S_IFSOCK | 0o600, 0, mode::S_IFSOCK | 0o600),
        (b"chr", mode::S_IFCHR | 0o600, 0x0103, mode::S_IFCHR | 0o600),
        (b"blk", mode::S_IFBLK | 0o600, 0x0801, mode::S_IFBLK | 0o600),
    ];
    for (name, m, rdev, want) in cases {
        let e: EntryOut = s
            .reply(Opcode::MKNOD, ROOT, &[mk(m, rdev).as_bytes(), &cstr(name)])
            .parse();
        assert_eq!(e.attr.mode, want, "{}", name.escape_ascii());
        assert_eq!(e.attr.rdev, rdev);
    }
    assert_eq!(
        s.err(
            Opcode::MKNOD,
            ROOT,
            &[mk(mode::S_IFDIR | 0o755, 0).as_bytes(), b"d\0"]
        ),
        Errno::EPERM
    );
    assert_eq!(
        s.err(
            Opcode::MKNOD,
            ROOT,
            &[mk(mode::S_IFLNK | 0o755, 0).as_bytes(), b"d\0"]
        ),
        Errno::EINVAL
    );
    assert_eq!(
        s.err(
            Opcode::MKNOD,
            ROOT,
            &[mk(mode::S_IFREG, 0).as_bytes(), b"reg\0"]
        ),
        Errno::EEXIST
    );
}

#[test]
fn owner_from_context_and_sgid_inheritance() {
    let mut s = Session::new();
    let d = mkdir(&mut s, ROOT, b"shared", 0o777);
    let set = SetattrIn {
        valid: (SetattrValid::MODE | SetattrValid::GID).bits(),
        mode: 0o2777,
        gid: 50,
        ..SetattrIn::default()
    };
    s.reply(Opcode::SETATTR, d.nodeid, &[set.as_bytes()]).ok();
    s.uid = 1000;
    s.gid = 1000;
    let (f, _) = create(&mut s, d.nodeid, b"f");
    assert_eq!((f.attr.uid, f.attr.gid), (1000, 50));
    let sub = mkdir(&mut s, d.nodeid, b"sub", 0o755);
    assert_eq!(sub.attr.gid, 50);
    assert_eq!(sub.attr.mode, mode::S_IFDIR | mode::S_ISGID | 0o755);
    let arg = CreateIn {
        flags: RDWR,
        mode: 0o644,
        umask: 0,
        open_flags: 0,
    };
    assert_eq!(
        s.err(Opcode::CREATE, ROOT, &[arg.as_bytes(), b"g\0"]),
        Errno::EACCES
    );
}

#[test]
fn mkdir_rmdir_unlink() {
    let mut s = Session::new();
    let d = mkdir(&mut s, ROOT, b"d", 0o777);
    assert_eq!(d.attr.mode, mode::S_IFDIR | 0o755, "umask 022 applied");
    assert_eq!(getattr(&mut s, ROOT).nlink, 3);
    let (_, _) = create(&mut s, d.nodeid, b"f");
    assert_eq!(s.err(Opcode::RMDIR, ROOT, &[b"d\0"]), Errno::ENOTEMPTY);
    assert_eq!(s.err(Opcode::UNLINK, ROOT, &[b"d\0"]), Errno::EISDIR);
    assert_eq!(s.err(Opcode::RMDIR, d.nodeid, &[b"f\0"]), Errno::ENOTDIR);
    assert_eq!(s.err(Opcode::UNLINK, d.nodeid, &[b"nope\0"]), Errno::ENOENT);
    s.reply(Opcode::UNLINK, d.nodeid, &[b"f\0"]).ok();
    s.reply(Opcode::RMDIR, ROOT, &[b"d\0"]).ok();
    assert_eq!(getattr(&mut s, ROOT).nlink, 2);
    assert_eq!(getattr(&mut s, d.nodeid).nlink, 0);
    // Creating inside a removed directory.
    let arg = MkdirIn {
        mode: 0o755,
        umask: 0,
    };
    assert_eq!(
        s.err(Opcode::MKDIR, d.nodeid, &[arg.as_bytes(), b"x\0"]),
        Errno::ENOENT
    );
    assert_eq!(
        s.err(Opcode::MKDIR, ROOT, &[arg.as_bytes(), b"..\0"]),
        Errno::EINVAL
    );
}

#[test]
fn rename_and_rename2_flags() {
    let mut s = Session::new();
    let a = mkdir(&mut s, ROOT, b"a", 0o755);
    let b = mkdir(&mut s, ROOT, b"b", 0o755);
    let (f, _) = create(&mut s, a.nodeid, b"f");
    let (g, _) = create(&mut s, b.nodeid, b"g");
    // Plain RENAME across directories.
    s.reply(
        Opcode::RENAME,
        a.nodeid,
        &[RenameIn { newdir: b.nodeid }.as_bytes(), b"f\0", b"f2\0"],
    )
    .ok();
    assert_eq!(
        lookup(&mut s, b.nodeid, b"f2").parse::<EntryOut>().nodeid,
        f.nodeid
    );
    assert_eq!(s.err(Opcode::LOOKUP, a.nodeid, &[b"f\0"]), Errno::ENOENT);
    let r2 = |flags: u32, newdir: u64| Rename2In {
        newdir,
        flags,
        padding: 0,
    };
    // NOREPLACE onto an existing name.
    assert_eq!(
        s.err(
            Opcode::RENAME2,
            b.nodeid,
            &[r2(1, b.nodeid).as_bytes(), b"f2\0", b"g\0"]
        ),
        Errno::EEXIST
    );
    // EXCHANGE swaps.
    s.reply(
        Opcode::RENAME2,
        b.nodeid,
        &[r2(2, b.nodeid).as_bytes(), b"f2\0", b"g\0"],
    )
    .ok();
    assert_eq!(
        lookup(&mut s, b.nodeid, b"g").parse::<EntryOut>().nodeid,
        f.nodeid
    );
    assert_eq!(
        lookup(&mut s, b.nodeid, b"f2").parse::<EntryOut>().nodeid,
        g.nodeid
    );
    // EXCHANGE with a missing target, WHITEOUT, both flags, unknown flags.
    assert_eq!(
        s.err(
            Opcode::RENAME2,
            b.nodeid,
            &[r2(2, a.nodeid).as_bytes(), b"g\0", b"zz\0"]
        ),
        Errno::ENOENT
    );
    assert_eq!(
        s.err(
            Opcode::RENAME2,
            b.nodeid,
            &[r2(4, a.nodeid).as_bytes(), b"g\0", b"zz\0"]
        ),
        Errno::EINVAL
    );
    assert_eq!(
        s.err(
            Opcode::RENAME2,
            b.nodeid,
            &[r2(3, a.nodeid).as_bytes(), b"g\0", b"zz\0"]
        ),
        Errno::EINVAL
    );
    assert_eq!(
        s.err(
            Opcode::RENAME2,
            b.nodeid,
            &[r2(8, a.nodeid).as_bytes(), b"g\0", b"zz\0"]
        ),
        Errno::EINVAL
    );
    // A directory into itself, dir over file, file over dir, over a non-empty dir.
    let rn = |d: u64| RenameIn { newdir: d };
    let sub = mkdir(&mut s, a.nodeid, b"sub", 0o755);
    assert_eq!(
        s.err(
            Opcode::RENAME,
            ROOT,
            &[rn(sub.nodeid).as_bytes(), b"a\0", b"x\0"]
        ),
        Errno::EINVAL
    );
    assert_eq!(
        s.err(
            Opcode::RENAME,
            ROOT,
            &[rn(b.nodeid).as_bytes(), b"a\0", b"g\0"]
        ),
        Errno::ENOTDIR
    );
    assert_eq!(
        s.err(
            Opcode::RENAME,
            b.nodeid,
            &[rn(a.nodeid).as_bytes(), b"g\0", b"sub\0"]
        ),
        Errno::EISDIR
    );
    assert_eq!(
        s.err(Opcode::RENAME, ROOT, &[rn(ROOT).as_bytes(), b"b\0", b"a\0"]),
        Errno::ENOTEMPTY
    );
    // Moving a directory moves the parent's subdirectory count.
    assert_eq!(getattr(&mut s, a.nodeid).nlink, 3);
    s.reply(
        Opcode::RENAME,
        a.nodeid,
        &[rn(b.nodeid).as_bytes(), b"sub\0", b"sub\0"],
    )
    .ok();
    assert_eq!(
        (
            getattr(&mut s, a.nodeid).nlink,
            getattr(&mut s, b.nodeid).nlink
        ),
        (2, 3)
    );
    // Replacing an empty directory frees its name; ".." of the moved one follows.
    s.reply(
        Opcode::RENAME,
        b.nodeid,
        &[rn(ROOT).as_bytes(), b"sub\0", b"a\0"],
    )
    .ok();
    assert_eq!(getattr(&mut s, a.nodeid).nlink, 0);
    assert_eq!(getattr(&mut s, ROOT).nlink, 4);
    let fh = opendir(&mut s, sub.nodeid);
    let r = s.reply(
        Opcode::READDIR,
        sub.nodeid,
        &[ReadIn {
            fh,
            size: 4096,
            ..ReadIn::default()
        }
        .as_bytes()],
    );
    let ents = dirents(r.ok());
    assert_eq!(ents[1], (ROOT, 2, 4, b"..".to_vec()));
    // Renaming onto itself (a hard link to the same file) does nothing.
    s.reply(
        Opcode::LINK,
        ROOT,
        &[
            LinkIn {
                oldnodeid: f.nodeid,
            }
            .as_bytes(),
            b"hl\0",
        ],
    )
    .ok();
    s.reply(
        Opcode::RENAME,
        ROOT,
        &[rn(b.nodeid).as_bytes(), b"hl\0", b"g\0"],
    )
    .ok();
    assert_eq!(getattr(&mut s, f.nodeid).nlink, 2);
}

#[test]
fn link() {
    let mut s = Session::new();
    let (f, _) = create(&mut s, ROOT, b"f");
    let d = mkdir(&mut s, ROOT, b"d", 0o755);
    let e: EntryOut = s
        .reply(
            Opcode::LINK,
            d.nodeid,
            &[
                LinkIn {
                    oldnodeid: f.nodeid,
                }
                .as_bytes(),
                b"l\0",
            ],
        )
        .parse();
    assert_eq!((e.nodeid, e.attr.nlink), (f.nodeid, 2));
    assert_eq!(
        s.err(
            Opcode::LINK,
            d.nodeid,
            &[
                LinkIn {
                    oldnodeid: f.nodeid
                }
                .as_bytes(),
                b"l\0"
            ]
        ),
        Errno::EEXIST
    );
    assert_eq!(
        s.err(
            Opcode::LINK,
            ROOT,
            &[
                LinkIn {
                    oldnodeid: d.nodeid
                }
                .as_bytes(),
                b"dl\0"
            ]
        ),
        Errno::EPERM
    );
    assert_eq!(
        s.err(
            Opcode::LINK,
            ROOT,
            &[LinkIn { oldnodeid: 999 }.as_bytes(), b"x\0"]
        ),
        Errno::ENOENT
    );
    assert_eq!(
        s.err(
            Opcode::LINK,
            f.nodeid,
            &[
                LinkIn {
                    oldnodeid: f.nodeid
                }
                .as_bytes(),
                b"x\0"
            ]
        ),
        Errno::ENOTDIR
    );
}

#[test]
fn open_read_write_flush_fsync_release() {
    let mut s = Session::new();
    let (f, o) = create(&mut s, ROOT, b"f");
    let w = write(&mut s, f.nodeid, o.fh, 0, b"hello world").parse::<WriteOut>();
    assert_eq!(w.size, 11);
    assert_eq!(read(&mut s, f.nodeid, o.fh, 6, 100).ok(), b"world");
    assert_eq!(read(&mut s, f.nodeid, o.fh, 100, 100).ok(), b"");
    // Larger than any reply buffer: refused, never a (false-EOF) short read.
    assert_eq!(
        read(&mut s, f.nodeid, o.fh, u64::MAX, u32::MAX).errno(),
        Some(Errno::EIO)
    );
    assert_eq!(read(&mut s, f.nodeid, o.fh, u64::MAX, 100).ok(), b"");
    // Sparse write far away: the hole reads as zeros.
    write(&mut s, f.nodeid, o.fh, 8192 + 3, b"x").ok();
    let r = read(&mut s, f.nodeid, o.fh, 8190, 8);
    assert_eq!(r.ok(), b"\0\0\0\0\0x");
    assert_eq!(getattr(&mut s, f.nodeid).size, 8196);
    // Huge offsets: past the limit, overflowing.
    assert_eq!(
        write(&mut s, f.nodeid, o.fh, 1 << 30, b"x").errno(),
        Some(Errno::EFBIG)
    );
    assert_eq!(
        write(&mut s, f.nodeid, o.fh, u64::MAX, b"xy").errno(),
        Some(Errno::EFBIG)
    );
    // Bad handles.
    assert_eq!(
        read(&mut s, f.nodeid, 777, 0, 10).errno(),
        Some(Errno::EBADF)
    );
    assert_eq!(read(&mut s, ROOT, o.fh, 0, 10).errno(), Some(Errno::EBADF));
    // Read-only and write-only opens.
    let ro = s
        .reply(
            Opcode::OPEN,
            f.nodeid,
            &[OpenIn {
                flags: 0,
                open_flags: 0,
            }
            .as_bytes()],
        )
        .parse::<OpenOut>()
        .fh;
    assert_eq!(
        write(&mut s, f.nodeid, ro, 0, b"x").errno(),
        Some(Errno::EBADF)
    );
    let wo = s
        .reply(
            Opcode::OPEN,
            f.nodeid,
            &[OpenIn {
                flags: 1 | 0o2000,
                open_flags: 0,
            }
            .as_bytes()],
        )
        .parse::<OpenOut>()
        .fh;
    assert_eq!(read(&mut s, f.nodeid, wo, 0, 1).errno(), Some(Errno::EBADF));
    write(&mut s, f.nodeid, wo, 0, b"APP").ok();
    assert_eq!(
        getattr(&mut s, f.nodeid).size,
        8199,
        "O_APPEND writes at the end"
    );
    // O_TRUNC.
    let t = s
        .reply(
            Opcode::OPEN,
            f.nodeid,
            &[OpenIn {
                flags: 1 | 0o1000,
                open_flags: 0,
            }
            .as_bytes()],
        )
        .parse::<OpenOut>()
        .fh;
    assert_eq!(getattr(&mut s, f.nodeid).size, 0);
    for fh in [o.fh, ro, wo, t] {
        s.reply(
            Opcode::FLUSH,
            f.nodeid,
            &[FlushIn {
                fh,
                ..FlushIn::default()
            }
            .as_bytes()],
        )
        .ok();
        s.reply(
            Opcode::FSYNC,
            f.nodeid,
            &[FsyncIn {
                fh,
                fsync_flags: 1,
                padding: 0,
            }
            .as_bytes()],
        )
        .ok();
        s.reply(
            Opcode::RELEASE,
            f.nodeid,
            &[ReleaseIn {
                fh,
                ..ReleaseIn::default()
            }
            .as_bytes()],
        )
        .ok();
    }
    assert_eq!(s.d.fs().handle_count(), 0);
    assert_eq!(
        s.err(
            Opcode::RELEASE,
            f.nodeid,
            &[ReleaseIn {
                fh: o.fh,
                ..ReleaseIn::default()
            }
            .as_bytes()]
        ),
        Errno::EBADF
    );
    assert_eq!(
        s.err(
            Opcode::FSYNC,
            f.nodeid,
            &[FsyncIn {
                fh: o.fh,
                ..FsyncIn::default()
            }
            .as_bytes()]
        ),
        Errno::EBADF
    );
    // A directory cannot be opened for writing, a file cannot be OPENDIRed.
    assert_eq!(
        s.err(
            Opcode::OPEN,
            ROOT,
            &[OpenIn {
                flags: RDWR,
                open_flags: 0
            }
            .as_bytes()]
        ),
        Errno::EISDIR
    );
    assert_eq!(
        s.err(Opcode::OPENDIR, f.nodeid, &[OpenIn::default().as_bytes()]),
        Errno::ENOTDIR
    );
}

#[test]
fn write_size_mismatch_is_einval() {
    let mut s = Session::new();
    let (f, o) = create(&mut s, ROOT, b"f");
    let arg = WriteIn {
        fh: o.fh,
        offset: 0,
        size: 10,
        ..WriteIn::default()
    };
    assert_eq!(
        s.err(Opcode::WRITE, f.nodeid, &[arg.as_bytes(), b"short"]),
        Errno::EINVAL
    );
    let arg = WriteIn {
        fh: o.fh,
        offset: 0,
        size: 1,
        ..WriteIn::default()
    };
    assert_eq!(
        s.err(Opcode::WRITE, f.nodeid, &[arg.as_bytes(), b"long"]),
        Errno::EINVAL
    );
    assert_eq!(getattr(&mut s, f.nodeid).size, 0);
}

#[test]
fn limits_efbig_and_enospc() {
    let cfg = MemFsConfig {
        max_file_size: 10_000,
        max_bytes: 3 * 4096,
        max_nodes: 4,
        ..MemFsConfig::default()
    };
    let mut s = Session::with_fs(MemFs::with_config(cfg, || Timespec::new(5, 0)));
    let (f, o) = create(&mut s, ROOT, b"f");
    assert_eq!(f.attr.mtime, 5);
    assert_eq!(
        write(&mut s, f.nodeid, o.fh, 9_999, b"xy").errno(),
        Some(Errno::EFBIG)
    );
    write(&mut s, f.nodeid, o.fh, 0, &[7u8; 8192]).ok();
    let (g, og) = create(&mut s, ROOT, b"g");
    write(&mut s, g.nodeid, og.fh, 0, b"a").ok();
    assert_eq!(
        write(&mut s, g.nodeid, og.fh, 4096, b"b").errno(),
        Some(Errno::ENOSPC)
    );
    let st = s.reply(Opcode::STATFS, ROOT, &[]).parse::<StatfsOut>().st;
    assert_eq!(
        (st.blocks, st.bfree, st.bsize, st.namelen),
        (3, 0, 4096, 255)
    );
    assert_eq!((st.files, st.ffree), (4, 1));
    create(&mut s, ROOT, b"h");
    let arg = MkdirIn {
        mode: 0o755,
        umask: 0,
    };
    assert_eq!(
        s.err(Opcode::MKDIR, ROOT, &[arg.as_bytes(), b"d\0"]),
        Errno::ENOSPC
    );
    // Truncating frees pages again.
    let set = SetattrIn {
        valid: SetattrValid::SIZE.bits(),
        size: 1,
        ..SetattrIn::default()
    };
    s.reply(Opcode::SETATTR, f.nodeid, &[set.as_bytes()]).ok();
    write(&mut s, g.nodeid, og.fh, 4096, b"b").ok();
}

#[test]
fn statfs() {
    let mut s = Session::new();
    let st = s.reply(Opcode::STATFS, ROOT, &[]).parse::<StatfsOut>().st;
    assert_eq!((st.bsize, st.frsize, st.namelen), (4096, 4096, 255));
    assert_eq!(st.blocks, st.bfree);
    assert_eq!(st.files - st.ffree, 1);
}

#[test]
fn xattrs() {
    let mut s = Session::new();
    let (f, _) = create(&mut s, ROOT, b"f");
    let set = |flags: u32, size: u32| SetxattrIn {
        size,
        flags,
        setxattr_flags: 0,
        padding: 0,
    };
    s.reply(
        Opcode::SETXATTR,
        f.nodeid,
        &[set(0, 3).as_bytes(), b"user.a\0", b"one"],
    )
    .ok();
    assert_eq!(
        s.err(
            Opcode::SETXATTR,
            f.nodeid,
            &[set(xattr::XATTR_CREATE, 1).as_bytes(), b"user.a\0", b"x"]
        ),
        Errno::EEXIST
    );
    assert_eq!(
        s.err(
            Opcode::SETXATTR,
            f.nodeid,
            &[set(xattr::XATTR_REPLACE, 1).as_bytes(), b"user.b\0", b"x"]
        ),
        Errno::ENODATA
    );
    assert_eq!(
        s.err(
            Opcode::SETXATTR,
            f.nodeid,
            &[set(3, 1).as_bytes(), b"user.b\0", b"x"]
        ),
        Errno::EINVAL
    );
    assert_eq!(
        s.err(
            Opcode::SETXATTR,
            f.nodeid,
            &[set(0, 1).as_bytes(), b"nonamespace\0", b"x"]
        ),
        Errno::EOPNOTSUPP
    );
    s.reply(
        Opcode::SETXATTR,
        f.nodeid,
        &[
            set(xattr::XATTR_REPLACE, 5).as_bytes(),
            b"user.a\0",
            b"three",
        ],
    )
    .ok();
    s.reply(
        Opcode::SETXATTR,
        f.nodeid,
        &[set(xattr::XATTR_CREATE, 0).as_bytes(), b"user.empty\0"],
    )
    .ok();
    let get = |size: u32| GetxattrIn { size, padding: 0 };
    assert_eq!(
        s.reply(
            Opcode::GETXATTR,
            f.nodeid,
            &[get(0).as_bytes(), b"user.a\0"]
        )
        .parse::<GetxattrOut>()
        .size,
        5
    );
    assert_eq!(
        s.err(
            Opcode::GETXATTR,
            f.nodeid,
            &[get(4).as_bytes(), b"user.a\0"]
        ),
        Errno::ERANGE
    );
    assert_eq!(
        s.reply(
            Opcode::GETXATTR,
            f.nodeid,
            &[get(5).as_bytes(), b"user.a\0"]
        )
        .ok(),
        b"three"
    );
    assert_eq!(
        s.reply(
            Opcode::GETXATTR,
            f.nodeid,
            &[get(100).as_bytes(), b"user.empty\0"]
        )
        .ok(),
        b""
    );
    assert_eq!(
        s.err(
            Opcode::GETXATTR,
            f.nodeid,
            &[get(100).as_bytes(), b"user.zz\0"]
        ),
        Errno::ENODATA
    );
    let list = b"user.a\0user.empty\0";
    assert_eq!(
        s.reply(Opcode::LISTXATTR, f.nodeid, &[get(0).as_bytes()])
            .parse::<GetxattrOut>()
            .size,
        list.len() as u32
    );
    assert_eq!(
        s.err(Opcode::LISTXATTR, f.nodeid, &[get(5).as_bytes()]),
        Errno::ERANGE
    );
    assert_eq!(
        s.reply(Opcode::LISTXATTR, f.nodeid, &[get(1000).as_bytes()])
            .ok(),
        list
    );
    s.reply(Opcode::REMOVEXATTR, f.nodeid, &[b"user.a\0"]).ok();
    assert_eq!(
        s.err(Opcode::REMOVEXATTR, f.nodeid, &[b"user.a\0"]),
        Errno::ENODATA
    );
    assert_eq!(
        s.reply(Opcode::LISTXATTR, f.nodeid, &[get(1000).as_bytes()])
            .ok(),
        b"user.empty\0"
    );
    // Unprivileged: trusted.* is root's, user.* follows the mode bits.
    s.uid = 1000;
    assert_eq!(
        s.err(
            Opcode::SETXATTR,
            f.nodeid,
            &[set(0, 1).as_bytes(), b"trusted.t\0", b"x"]
        ),
        Errno::EPERM
    );
    assert_eq!(
        s.err(
            Opcode::SETXATTR,
            f.nodeid,
            &[set(0, 1).as_bytes(), b"user.u\0", b"x"]
        ),
        Errno::EACCES
    );
}

#[test]
fn xattr_value_larger_than_a_page_and_over_limit() {
    let mut s = Session::new();
    let big = vec![0xabu8; 10_000];
    let arg = SetxattrIn {
        size: big.len() as u32,
        ..SetxattrIn::default()
    };
    s.reply(
        Opcode::SETXATTR,
        ROOT,
        &[arg.as_bytes(), b"user.big\0", &big],
    )
    .ok();
    let get = GetxattrIn {
        size: 65536,
        padding: 0,
    };
    assert_eq!(
        s.reply(Opcode::GETXATTR, ROOT, &[get.as_bytes(), b"user.big\0"])
            .ok(),
        &big[..]
    );
    let huge = vec![0u8; XATTR_SIZE_MAX + 1];
    let arg = SetxattrIn {
        size: huge.len() as u32,
        ..SetxattrIn::default()
    };
    assert_eq!(
        s.err(
            Opcode::SETXATTR,
            ROOT,
            &[arg.as_bytes(), b"user.huge\0", &huge]
        ),
        Errno::E2BIG
    );
}

#[test]
fn readdir_offsets_are_stable() {
    let mut s = Session::new();
    for i in 0..20 {
        create(&mut s, ROOT, format!("file{i:02}").as_bytes());
    }
    let fh = opendir(&mut s, ROOT);
    let rd = |s: &mut Session, offset: u64, size: u32| {
        let r = s.reply(
            Opcode::READDIR,
            ROOT,
            &[ReadIn {
                fh,
                offset,
                size,
                ..ReadIn::default()
            }
            .as_bytes()],
        );
        dirents(r.ok())
    };
    let all = rd(&mut s, 0, 65536);
    assert_eq!(all.len(), 22);
    assert_eq!(
        (all[0].0, all[0].1, all[0].2, &all[0].3[..]),
        (ROOT, 1, 4, &b"."[..])
    );
    assert_eq!(&all[1].3[..], b"..");
    assert_eq!(all[2].2, 8, "DT_REG");
    // Page through with a small buffer; delete entries mid-way; nothing is skipped or repeated.
    let mut seen = Vec::new();
    let mut off = 0;
    loop {
        let page = rd(&mut s, off, 100);
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        if seen.len() == 6 {
            s.reply(Opcode::UNLINK, ROOT, &[b"file00\0"]).ok();
            s.reply(Opcode::UNLINK, ROOT, &[b"file19\0"]).ok();
        }
        off = page.last().unwrap().1;
        seen.extend(page.into_iter().map(|e| e.3));
    }
    let names: Vec<Vec<u8>> = all
        .iter()
        .map(|e| e.3.clone())
        .filter(|n| n != b"file19")
        .collect();
    assert_eq!(seen, names);
    // A buffer too small for one entry: an empty reply.
    assert!(rd(&mut s, 0, 10).is_empty());
    assert_eq!(
        s.err(
            Opcode::READDIR,
            ROOT,
            &[ReadIn {
                fh: 999,
                size: 100,
                ..ReadIn::default()
            }
            .as_bytes()]
        ),
        Errno::EBADF
    );
    s.reply(
        Opcode::FSYNCDIR,
        ROOT,
        &[FsyncIn {
            fh,
            ..FsyncIn::default()
        }
        .as_bytes()],
    )
    .ok();
    s.reply(
        Opcode::RELEASEDIR,
        ROOT,
        &[ReleaseIn {
            fh,
            ..ReleaseIn::default()
        }
        .as_bytes()],
    )
    .ok();
    assert_eq!(
        s.err(
            Opcode::RELEASEDIR,
            ROOT,
            &[ReleaseIn {
                fh,
                ..ReleaseIn::default()
            }
            .as_bytes()]
        ),
        Errno::EBADF
    );
}

#[test]
fn readdirplus_counts_only_entries_added() {
    let mut s = Session::new();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create(&mut s, ROOT, format!("n{i}").as_bytes()).0.nodeid);
    }
    for &id in &ids {
        s.call(Opcode::FORGET, id, &[ForgetIn { nlookup: 1 }.as_bytes()]);
    }
    let fh = opendir(&mut s, ROOT);
    // Room for ".", ".." and two entries (160 bytes each with a 1-2 byte name).
    let r = s.reply(
        Opcode::READDIRPLUS,
        ROOT,
        &[ReadIn {
            fh,
            offset: 0,
            size: 4 * 160 + 100,
            ..ReadIn::default()
        }
        .as_bytes()],
    );
    let ents = direntplus(r.ok());
    assert_eq!(ents.len(), 4);
    assert_eq!((ents[0].0.nodeid, &ents[0].2[..]), (0, &b"."[..]));
    assert_eq!((ents[1].0.nodeid, &ents[1].2[..]), (0, &b".."[..]));
    assert_eq!(ents[2].0.nodeid, ids[0]);
    assert_eq!(ents[2].0.attr.mode, mode::S_IFREG | 0o644);
    let counts: Vec<Option<u64>> = ids.iter().map(|&id| s.d.fs().lookup_count(id)).collect();
    assert_eq!(counts, [Some(1), Some(1), Some(0), Some(0), Some(0)]);
    let off = ents[3].1;
    let r = s.reply(
        Opcode::READDIRPLUS,
        ROOT,
        &[ReadIn {
            fh,
            offset: off,
            size: 65536,
            ..ReadIn::default()
        }
        .as_bytes()],
    );
    assert_eq!(direntplus(r.ok()).len(), 3);
    let counts: Vec<Option<u64>> = ids.iter().map(|&id| s.d.fs().lookup_count(id)).collect();
    assert_eq!(counts, [Some(1); 5]);
}

#[test]
fn locks() {
    let mut s = Session::new();
    let (f, o) = create(&mut s, ROOT, b"f");
    let lk = |owner: u64, start: u64, end: u64, typ: u32| LkIn {
        fh: o.fh,
        owner,
        lk: FileLock {
            start,
            end,
            typ,
            pid: owner as u32,
        },
        lk_flags: 0,
        padding: 0,
    };
    s.reply(
        Opcode::SETLK,
        f.nodeid,
        &[lk(1, 0, 99, lock::F_WRLCK).as_bytes()],
    )
    .ok();
    let got = s
        .reply(
            Opcode::GETLK,
            f.nodeid,
            &[lk(2, 50, 50, lock::F_RDLCK).as_bytes()],
        )
        .parse::<LkOut>()
        .lk;
    assert_eq!(
        got,
        FileLock {
            start: 0,
            end: 99,
            typ: lock::F_WRLCK,
            pid: 1
        }
    );
    assert_eq!(
        s.err(
            Opcode::SETLK,
            f.nodeid,
            &[lk(2, 50, 60, lock::F_RDLCK).as_bytes()]
        ),
        Errno::EAGAIN
    );
    assert_eq!(
        s.err(
            Opcode::SETLKW,
            f.nodeid,
            &[lk(2, 50, 60, lock::F_RDLCK).as_bytes()]
        ),
        Errno::EAGAIN
    );
    s.reply(
        Opcode::SETLK,
        f.nodeid,
        &[lk(1, 0, 99, lock::F_UNLCK).as_bytes()],
    )
    .ok();
    s.reply(
        Opcode::SETLKW,
        f.nodeid,
        &[lk(2, 50, 60, lock::F_RDLCK).as_bytes()],
    )
    .ok();
    let got = s
        .reply(
            Opcode::GETLK,
            f.nodeid,
            &[lk(3, 0, 10, lock::F_WRLCK).as_bytes()],
        )
        .parse::<LkOut>()
        .lk;
    assert_eq!(got.typ, lock::F_UNLCK);
    assert_eq!(
        s.err(
            Opcode::SETLK,
            f.nodeid,
            &[lk(2, 9, 1, lock::F_RDLCK).as_bytes()]
        ),
        Errno::EINVAL
    );
    assert_eq!(
        s.err(Opcode::SETLK, f.nodeid, &[lk(2, 0, 1, 7).as_bytes()]),
        Errno::EINVAL
    );
    // FLUSH drops the owner's POSIX locks.
    s.reply(
        Opcode::FLUSH,
        f.nodeid,
        &[FlushIn {
            fh: o.fh,
            lock_owner: 2,
            ..FlushIn::default()
        }
        .as_bytes()],
    )
    .ok();
    s.reply(
        Opcode::SETLK,
        f.nodeid,
        &[lk(4, 0, u64::MAX >> 1, lock::F_WRLCK).as_bytes()],
    )
    .ok();
}

#[test]
fn access_checks_bits_and_root_passes() {
    let mut s = Session::new();
    let (f, _) = create(&mut s, ROOT, b"f"); // 0644 root:root
    let acc = |m: u32| AccessIn {
        mask: m,
        padding: 0,
    };
    for m in [0, 4, 2, 6] {
        s.reply(Opcode::ACCESS, f.nodeid, &[acc(m).as_bytes()]).ok();
    }
    assert_eq!(
        s.err(Opcode::ACCESS, f.nodeid, &[acc(1).as_bytes()]),
        Errno::EACCES,
        "root needs some x bit"
    );
    s.reply(Opcode::ACCESS, ROOT, &[acc(7).as_bytes()]).ok();
    s.uid = 1000;
    s.gid = 1000;
    s.reply(Opcode::ACCESS, f.nodeid, &[acc(4).as_bytes()]).ok();
    assert_eq!(
        s.err(Opcode::ACCESS, f.nodeid, &[acc(2).as_bytes()]),
        Errno::EACCES
    );
    assert_eq!(
        s.err(Opcode::ACCESS, f.nodeid, &[acc(8).as_bytes()]),
        Errno::EINVAL
    );
    assert_eq!(
        s.err(
            Opcode::OPEN,
            f.nodeid,
            &[OpenIn {
                flags: RDWR,
                open_flags: 0
            }
            .as_bytes()]
        ),
        Errno::EACCES
    );
    // Creating in a directory the caller cannot write.
    let arg = CreateIn {
        flags: RDWR,
        mode: 0o644,
        umask: 0,
        open_flags: 0,
    };
    assert_eq!(
        s.err(Opcode::CREATE, ROOT, &[arg.as_bytes(), b"x\0"]),
        Errno::EACCES
    );
    // Group bits.
    s.gid = 0;
    s.reply(Opcode::ACCESS, f.nodeid, &[acc(4).as_bytes()]).ok();
}

#[test]
fn create_exclusive_and_existing() {
    let mut s = Session::new();
    let (f, _) = create(&mut s, ROOT, b"f");
    let excl = CreateIn {
        flags: RDWR | 0o100 | 0o200,
        mode: 0o644,
        umask: 0,
        open_flags: 0,
    };
    assert_eq!(
        s.err(Opcode::CREATE, ROOT, &[excl.as_bytes(), b"f\0"]),
        Errno::EEXIST
    );
    let plain = CreateIn {
        flags: RDWR | 0o100,
        mode: 0o600,
        umask: 0,
        open_flags: 0,
    };
    let r = s.reply(Opcode::CREATE, ROOT, &[plain.as_bytes(), b"f\0"]);
    assert_eq!(
        EntryOut::read_from_bytes(&r.ok()[..128]).unwrap().nodeid,
        f.nodeid
    );
    assert_eq!(
        s.err(Opcode::CREATE, 4242, &[plain.as_bytes(), b"g\0"]),
        Errno::ENOENT
    );
}

#[test]
fn tmpfile_and_link_it_in() {
    let mut s = Session::new();
    let arg = CreateIn {
        flags: RDWR | 0o20200000,
        mode: 0o600,
        umask: 0,
        open_flags: 0,
    };
    let r = s.reply(Opcode::TMPFILE, ROOT, &[arg.as_bytes()]);
    let b = r.ok();
    let e = EntryOut::read_from_bytes(&b[..128]).unwrap();
    let o = OpenOut::read_from_bytes(&b[128..]).unwrap();
    assert_eq!(e.attr.nlink, 0);
    assert_eq!(e.attr.mode, mode::S_IFREG | 0o600);
    write(&mut s, e.nodeid, o.fh, 0, b"tmp").ok();
    let l: EntryOut = s
        .reply(
            Opcode::LINK,
            ROOT,
            &[
                LinkIn {
                    oldnodeid: e.nodeid,
                }
                .as_bytes(),
                b"kept\0",
            ],
        )
        .parse();
    assert_eq!(l.attr.nlink, 1);
    assert_eq!(
        s.err(Opcode::TMPFILE, e.nodeid, &[arg.as_bytes()]),
        Errno::ENOTDIR
    );
}

#[test]
fn fallocate_modes_never_shrink() {
    let mut s = Session::new();
    let (f, o) = create(&mut s, ROOT, b"f");
    write(&mut s, f.nodeid, o.fh, 0, &[1u8; 10_000]).ok();
    let fa = |offset: u64, length: u64, mode: u32| FallocateIn {
        fh: o.fh,
        offset,
        length,
        mode,
        padding: 0,
    };
    // Mode 0 inside the file: never shrinks.
    s.reply(Opcode::FALLOCATE, f.nodeid, &[fa(0, 10, 0).as_bytes()])
        .ok();
    assert_eq!(getattr(&mut s, f.nodeid).size, 10_000);
    s.reply(Opcode::FALLOCATE, f.nodeid, &[fa(0, 20_000, 0).as_bytes()])
        .ok();
    assert_eq!(getattr(&mut s, f.nodeid).size, 20_000);
    s.reply(
        Opcode::FALLOCATE,
        f.nodeid,
        &[fa(0, 30_000, FallocateMode::KEEP_SIZE.bits()).as_bytes()],
    )
    .ok();
    assert_eq!(getattr(&mut s, f.nodeid).size, 20_000);
    // PUNCH_HOLE (with KEEP_SIZE) zeroes; alone it is refused.
    let punch = (FallocateMode::PUNCH_HOLE | FallocateMode::KEEP_SIZE).bits();
    s.reply(
        Opcode::FALLOCATE,
        f.nodeid,
        &[fa(100, 5000, punch).as_bytes()],
    )
    .ok();
    assert_eq!(read(&mut s, f.nodeid, o.fh, 98, 4).ok(), [1, 1, 0, 0]);
    assert_eq!(read(&mut s, f.nodeid, o.fh, 5098, 4).ok(), [0, 0, 1, 1]);
    assert_eq!(
        s.err(
            Opcode::FALLOCATE,
            f.nodeid,
            &[fa(0, 1, FallocateMode::PUNCH_HOLE.bits()).as_bytes()]
        ),
        Errno::EOPNOTSUPP
    );
    // ZERO_RANGE extends unless KEEP_SIZE.
    s.reply(
        Opcode::FALLOCATE,
        f.nodeid,
        &[fa(9_000, 20_000, FallocateMode::ZERO_RANGE.bits()).as_bytes()],
    )
    .ok();
    assert_eq!(getattr(&mut s, f.nodeid).size, 29_000);
    assert_eq!(read(&mut s, f.nodeid, o.fh, 8_998, 4).ok(), [1, 1, 0, 0]);
    // Bad arguments.
    assert_eq!(
        s.err(Opcode::FALLOCATE, f.nodeid, &[fa(0, 0, 0).as_bytes()]),
        Errno::EINVAL
    );
    assert_eq!(
        s.err(
            Opcode::FALLOCATE,
            f.nodeid,
            &[fa(u64::MAX, 1, 0).as_bytes()]
        ),
        Errno::EINVAL
    );
    assert_eq!(
        s.err(
            Opcode::FALLOCATE,
            f.nodeid,
            &[fa(1 << 62, 1 << 62, 0).as_bytes()]
        ),
        Errno::EFBIG
    );
    assert_eq!(
        s.err(
            Opcode::FALLOCATE,
            f.nodeid,
            &[fa(0, 1, FallocateMode::COLLAPSE_RANGE.bits()).as_bytes()]
        ),
        Errno::EOPNOTSUPP
    );
    assert_eq!(
        s.err(Opcode::FALLOCATE, f.nodeid, &[fa(0, 1, 1 << 20).as_bytes()]),
        Errno::EOPNOTSUPP
    );
}

#[test]
fn lseek_data_and_hole() {
    let mut s = Session::new();
    let (f, o) = create(&mut s, ROOT, b"f");
    write(&mut s, f.nodeid, o.fh, 0, &[1u8; 100]).ok();
    let ls = |offset: u64, whence: u32| LseekIn {
        fh: o.fh,
        offset,
        whence,
        padding: 0,
    };
    assert_eq!(
        s.reply(Opcode::LSEEK, f.nodeid, &[ls(10, 3).as_bytes()])
            .parse::<LseekOut>()
            .offset,
        10
    );
    assert_eq!(
        s.reply(Opcode::LSEEK, f.nodeid, &[ls(10, 4).as_bytes()])
            .parse::<LseekOut>()
            .offset,
        100
    );
    assert_eq!(
        s.err(Opcode::LSEEK, f.nodeid, &[ls(100, 3).as_bytes()]),
        Errno::ENXIO
    );
    assert_eq!(
        s.err(Opcode::LSEEK, f.nodeid, &[ls(100, 4).as_bytes()]),
        Errno::ENXIO
    );
    assert_eq!(
        s.reply(Opcode::LSEEK, f.nodeid, &[ls(7, 0).as_bytes()])
            .parse::<LseekOut>()
            .offset,
        7
    );
    assert_eq!(
        s.reply(
            Opcode::LSEEK,
            f.nodeid,
            &[ls((-10i64) as u64, 2).as_bytes()]
        )
        .parse::<LseekOut>()
        .offset,
        90
    );
    assert_eq!(
        s.err(Opcode::LSEEK, f.nodeid, &[ls(0, 9).as_bytes()]),
        Errno::EINVAL
    );
}

#[test]
fn copy_file_range() {
    let mut s = Session::new();
    let (a, oa) = create(&mut s, ROOT, b"a");
    let (b, ob) = create(&mut s, ROOT, b"b");
    let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
    write(&mut s, a.nodeid, oa.fh, 0, &data).ok();
    let cfr = |off_in: u64, nodeid_out: u64, fh_out: u64, off_out: u64, len: u64| CopyFileRangeIn {
        fh_in: oa.fh,
        off_in,
        nodeid_out,
        fh_out,
        off_out,
        len,
        flags: 0,
    };
    let n = s
        .reply(
            Opcode::COPY_FILE_RANGE,
            a.nodeid,
            &[cfr(100, b.nodeid, ob.fh, 5, u64::MAX).as_bytes()],
        )
        .parse::<WriteOut>();
    assert_eq!(n.size, 9_900);
    assert_eq!(read(&mut s, b.nodeid, ob.fh, 5, 10_000).ok(), &data[100..]);
    assert_eq!(
        s.err(
            Opcode::COPY_FILE_RANGE,
            a.nodeid,
            &[cfr(0, a.nodeid, oa.fh, 10, 100).as_bytes()]
        ),
        Errno::EINVAL
    );
    let mut bad = cfr(0, b.nodeid, ob.fh, 0, 1);
    bad.flags = 1;
    assert_eq!(
        s.err(Opcode::COPY_FILE_RANGE, a.nodeid, &[bad.as_bytes()]),
        Errno::EINVAL
    );
    assert_eq!(
        s.err(
            Opcode::COPY_FILE_RANGE,
            a.nodeid,
            &[cfr(0, b.nodeid, 999, 0, 1).as_bytes()]
        ),
        Errno::EBADF
    );
    assert_eq!(
        s.err(
            Opcode::COPY_FILE_RANGE,
            a.nodeid,
            &[cfr(0, b.nodeid, ob.fh, 1 << 30, 1).as_bytes()]
        ),
        Errno::EFBIG
    );
    let n = s
        .reply(
            Opcode::COPY_FILE_RANGE,
            a.nodeid,
            &[cfr(20_000, b.nodeid, ob.fh, 0, 10).as_bytes()],
        )
        .parse::<WriteOut>();
    assert_eq!(n.size, 0);
}

#[test]
fn statx_syncfs_poll_ioctl_bmap_mapping() {
    let mut s = Session::new();
    let (f, o) = create(&mut s, ROOT, b"f");
    let sx = s
        .reply(
            Opcode::STATX,
            f.nodeid,
            &[StatxIn {
                sx_mask: 0xfff,
                ..StatxIn::default()
            }
            .as_bytes()],
        )
        .parse::<StatxOut>();
    assert_eq!(sx.stat.ino, f.nodeid);
    assert_eq!(u32::from(sx.stat.mode), mode::S_IFREG | 0o644);
    assert_eq!(sx.stat.mask & 0x7ff, 0x7ff);
    s.reply(Opcode::SYNCFS, ROOT, &[SyncfsIn::default().as_bytes()])
        .ok();
    let p = s
        .reply(
            Opcode::POLL,
            f.nodeid,
            &[PollIn {
                fh: o.fh,
                kh: 1,
                flags: 0,
                events: 0x1,
            }
            .as_bytes()],
        )
        .parse::<PollOut>();
    assert_eq!(p.revents, 0x1 | 0x4);
    let io = IoctlIn {
        fh: o.fh,
        cmd: 0x5401,
        ..IoctlIn::default()
    };
    assert_eq!(
        s.err(Opcode::IOCTL, f.nodeid, &[io.as_bytes()]),
        Errno::ENOTTY
    );
    assert_eq!(
        s.err(
            Opcode::BMAP,
            f.nodeid,
            &[BmapIn {
                block: 0,
                blocksize: 4096,
                padding: 0
            }
            .as_bytes()]
        ),
        Errno::ENOSYS
    );
    assert_eq!(
        s.err(
            Opcode::SETUPMAPPING,
            f.nodeid,
            &[SetupmappingIn::default().as_bytes()]
        ),
        Errno::ENOSYS
    );
    let (rm, one) = (RemovemappingIn { count: 1 }, RemovemappingOne::default());
    assert_eq!(
        s.err(
            Opcode::REMOVEMAPPING,
            f.nodeid,
            &[rm.as_bytes(), one.as_bytes()]
        ),
        Errno::ENOSYS
    );
    assert_eq!(
        s.err(Opcode::CUSE_INIT, 0, &[&init_body(7, 41, all_flags())]),
        Errno::ENOSYS
    );
}
