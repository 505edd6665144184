//! `PassthroughFs<LinuxHost>` over a temporary directory, driven through
//! `FuseDispatcher::handle` with raw FUSE requests: every opcode, escape
//! attempts (asserted on the host side: nothing next to the share is
//! touched), hostile node ids and handles, and negative-cache invalidation
//! by the inotify watcher.
#![allow(clippy::unwrap_used)]

use arcbox_fs::abi::*;
use arcbox_fs::passthrough::{CacheMode, PassthroughConfig, PassthroughFs};
use arcbox_fs::{Errno, Instant};
use arcbox_fs_linux::{LinuxHost, LinuxHostConfig};
use arcbox_fs_tests::fuse::{Session, on_big_stack};
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

type S = Session<PassthroughFs<LinuxHost>>;

const ROOT: u64 = ROOT_ID;
const RW: u32 = 2;
const REG: u32 = mode::S_IFREG;

/// A share `tmp/share` with sentinels next to it: a file, a directory with a
/// file, and the share's own parent, which must never change.
struct Fixture {
    tmp: tempfile::TempDir,
    share: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let share = tmp.path().join("share");
        fs::create_dir(&share).unwrap();
        fs::write(tmp.path().join("sentinel"), b"SENTINEL").unwrap();
        fs::create_dir(tmp.path().join("outside")).unwrap();
        fs::write(tmp.path().join("outside/secret"), b"SECRET").unwrap();
        // Explicit: LinuxHost sets the process umask to 0.
        fs::set_permissions(
            tmp.path().join("outside/secret"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        Fixture { tmp, share }
    }

    fn session_with(&self, host: LinuxHostConfig, cfg: PassthroughConfig) -> S {
        let share = self.share.clone();
        Session::new(on_big_stack(move || {
            PassthroughFs::new(LinuxHost::with_config(share, host).unwrap(), cfg).unwrap()
        }))
    }

    fn session(&self) -> S {
        self.session_with(LinuxHostConfig::default(), PassthroughConfig::default())
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.share.join(rel)
    }

    /// Everything outside the share is as created.
    fn assert_outside_untouched(&self) {
        let t = self.tmp.path();
        let mut names: Vec<_> = fs::read_dir(t)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["outside", "sentinel", "share"],
            "entries next to the share"
        );
        assert_eq!(fs::read(t.join("sentinel")).unwrap(), b"SENTINEL");
        let outside: Vec<_> = fs::read_dir(t.join("outside"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(outside, ["secret"]);
        assert_eq!(fs::read(t.join("outside/secret")).unwrap(), b"SECRET");
        let m = fs::symlink_metadata(t.join("outside/secret")).unwrap();
        assert_eq!((m.nlink(), m.mode() & 0o7777), (1, 0o644));
        assert!(!Path::new("/etc/arcbox-escape").exists());
    }
}

#[test]
fn every_opcode_on_a_real_directory() {
    let fx = Fixture::new();
    let mut s = fx.session();
    assert_eq!(s.d.negotiated_minor(), Some(41));
    // MKDIR, CREATE, WRITE (combined, then non-sequential), READ, FSYNC, FLUSH, RELEASE.
    let d = s.mkdir(ROOT, b"d", 0o750).unwrap();
    assert_eq!(fs::metadata(fx.path("d")).unwrap().mode() & 0o7777, 0o750);
    let (f, o) = s.create(d.nodeid, b"f", RW, REG | 0o640).unwrap();
    let (n, fh) = (f.nodeid, o.fh);
    let mut want = Vec::new();
    for i in 0..40u8 {
        assert_eq!(s.write(n, fh, want.len() as u64, &[i; 300]).unwrap(), 300);
        want.extend_from_slice(&[i; 300]);
    }
    assert_eq!(s.read(n, fh, 0, 1 << 16).unwrap(), want);
    s.write(n, fh, 5, b"XYZ").unwrap();
    want[5..8].copy_from_slice(b"XYZ");
    s.fsync(n, fh, true).unwrap();
    assert_eq!(fs::read(fx.path("d/f")).unwrap(), want);
    s.write(n, fh, want.len() as u64, b"end").unwrap();
    want.extend_from_slice(b"end");
    s.flush(n, fh, 7).unwrap();
    assert_eq!(fs::read(fx.path("d/f")).unwrap(), want);
    s.release(n, fh).unwrap();
    // LOOKUP, GETATTR, STATX, FORGET, BATCH_FORGET.
    let l = s.lookup_found(d.nodeid, b"f").unwrap();
    assert_eq!(l.nodeid, n);
    let a = s.getattr(n).unwrap();
    assert_eq!((a.size, a.mode), (want.len() as u64, REG | 0o640));
    assert_eq!(a.ino, fs::metadata(fx.path("d/f")).unwrap().ino());
    let x = s.statx(n).unwrap();
    assert_eq!((x.size, x.ino), (a.size, a.ino));
    assert!(!s.forget(n, 1));
    assert!(!s.batch_forget(&[(n, 1), (0xdead, 3)]));
    assert_eq!(s.fs().inodes().lookups(n), None);
    let f = s.lookup_found(d.nodeid, b"f").unwrap();
    let n = f.nodeid;
    // SETATTR: mode, owner, size, times (explicit and NOW).
    let set = |v: SetattrValid| SetattrIn {
        valid: v.bits(),
        ..SetattrIn::default()
    };
    assert_eq!(
        s.setattr(
            n,
            &SetattrIn {
                mode: 0o600,
                ..set(SetattrValid::MODE)
            }
        )
        .unwrap()
        .mode,
        REG | 0o600
    );
    let a = s
        .setattr(
            n,
            &SetattrIn {
                uid: 1234,
                gid: 4321,
                ..set(SetattrValid::UID | SetattrValid::GID)
            },
        )
        .unwrap();
    assert_eq!((a.uid, a.gid), (1234, 4321));
    assert_eq!(fs::metadata(fx.path("d/f")).unwrap().uid(), 1234);
    assert_eq!(
        s.setattr(
            n,
            &SetattrIn {
                size: 10,
                ..set(SetattrValid::SIZE)
            }
        )
        .unwrap()
        .size,
        10
    );
    assert_eq!(fs::metadata(fx.path("d/f")).unwrap().len(), 10);
    let t = SetattrIn {
        atime: 1_000_000,
        mtime: 2_000_000,
        mtimensec: 7,
        ..set(SetattrValid::ATIME | SetattrValid::MTIME)
    };
    let a = s.setattr(n, &t).unwrap();
    assert_eq!((a.atime, a.mtime, a.mtimensec), (1_000_000, 2_000_000, 7));
    let a = s
        .setattr(n, &set(SetattrValid::MTIME | SetattrValid::MTIME_NOW))
        .unwrap();
    assert!(a.mtime > 1_600_000_000, "NOW is the host's clock");
    // SYMLINK, READLINK, MKNOD, LINK, RENAME, RENAME2, UNLINK, RMDIR.
    let sl = s.symlink(d.nodeid, b"sl", b"/abs/target").unwrap();
    assert_eq!(s.readlink(sl.nodeid).unwrap(), b"/abs/target");
    assert_eq!(
        fs::read_link(fx.path("d/sl")).unwrap(),
        Path::new("/abs/target")
    );
    let fifo = s
        .mknod(d.nodeid, b"fifo", mode::S_IFIFO | 0o600, 0)
        .unwrap();
    assert!(
        fs::symlink_metadata(fx.path("d/fifo"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(s.open(fifo.nodeid, 0), Err(Errno::EACCES));
    let li = s.link(n, ROOT, b"hard").unwrap();
    assert_eq!((li.nodeid, li.attr.nlink), (n, 2));
    s.rename(ROOT, b"hard", d.nodeid, b"hard2").unwrap();
    assert!(fx.path("d/hard2").exists() && !fx.path("hard").exists());
    assert_eq!(
        s.rename2(
            d.nodeid,
            b"hard2",
            d.nodeid,
            b"f",
            RenameFlags::NOREPLACE.bits()
        ),
        Err(Errno::EEXIST)
    );
    s.rename2(
        d.nodeid,
        b"sl",
        d.nodeid,
        b"fifo",
        RenameFlags::EXCHANGE.bits(),
    )
    .unwrap();
    assert!(
        fs::symlink_metadata(fx.path("d/sl"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert!(
        fs::symlink_metadata(fx.path("d/fifo"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    s.unlink(d.nodeid, b"hard2").unwrap();
    assert_eq!(s.getattr(n).unwrap().nlink, 1);
    let e = s.mkdir(d.nodeid, b"e", 0o755).unwrap();
    assert_eq!(s.rmdir(ROOT, b"d"), Err(Errno::ENOTEMPTY));
    s.rmdir(d.nodeid, b"e").unwrap();
    assert_eq!(s.getattr(e.nodeid).unwrap().nlink, 0);
    // OPEN, STATFS, XATTRs.
    let o = s.open(n, RW).unwrap();
    let st = s.statfs(ROOT).unwrap();
    assert!(st.bsize > 0 && st.blocks > 0 && st.namelen >= 255);
    s.setxattr(n, b"user.k", b"vvv", 0).unwrap();
    assert_eq!(s.getxattr_size(n, b"user.k").unwrap(), 3);
    assert_eq!(s.getxattr(n, b"user.k", 3).unwrap(), b"vvv");
    assert_eq!(s.getxattr(n, b"user.k", 2), Err(Errno::ERANGE));
    assert!(
        s.listxattr(n, 4096)
            .unwrap()
            .windows(7)
            .any(|w| w == b"user.k\0")
    );
    s.removexattr(n, b"user.k").unwrap();
    assert_eq!(s.getxattr(n, b"user.k", 10), Err(Errno::ENODATA));
    // OPENDIR, READDIR, READDIRPLUS, FSYNCDIR, RELEASEDIR.
    let dfh = s.opendir(d.nodeid).unwrap();
    let names: Vec<_> = s
        .readdir(d.nodeid, dfh, 0, 4096, false)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    for want in [&b"."[..], b"..", b"f", b"sl", b"fifo"] {
        assert!(names.iter().any(|n| n == want), "{want:?} in {names:?}");
    }
    let plus = s.readdir(d.nodeid, dfh, 0, 4096, true).unwrap();
    for p in &plus {
        let e = p.entry.unwrap();
        if p.name != b"." && p.name != b".." {
            assert!(e.nodeid != 0 && s.fs().inodes().lookups(e.nodeid).is_some());
        }
    }
    s.fsyncdir(d.nodeid, dfh).unwrap();
    s.releasedir(d.nodeid, dfh).unwrap();
    // Locks: GETLK, SETLK, SETLKW, flock.
    let o2 = s.open(n, RW).unwrap();
    let lk = FileLock {
        start: 0,
        end: 9,
        typ: lock::F_WRLCK,
        pid: 1,
    };
    s.setlk(n, o.fh, 1, lk, false, false).unwrap();
    assert_eq!(s.getlk(n, o2.fh, 2, lk).unwrap().typ, lock::F_WRLCK);
    assert_eq!(s.setlk(n, o2.fh, 2, lk, false, false), Err(Errno::EAGAIN));
    s.setlk(
        n,
        o.fh,
        1,
        FileLock {
            typ: lock::F_UNLCK,
            ..lk
        },
        false,
        false,
    )
    .unwrap();
    s.setlk(n, o2.fh, 2, lk, false, true).unwrap();
    s.setlk(n, o.fh, 1, lk, true, false).unwrap();
    assert_eq!(s.setlk(n, o2.fh, 2, lk, true, false), Err(Errno::EAGAIN));
    // ACCESS, FALLOCATE, LSEEK, COPY_FILE_RANGE, SYNCFS, TMPFILE, INTERRUPT.
    s.access(n, access::R_OK | access::W_OK).unwrap();
    s.fallocate(n, o.fh, 0, 4, 0).unwrap();
    assert_eq!(s.getattr(n).unwrap().size, 10, "fallocate never shrinks");
    s.fallocate(n, o.fh, 0, 1 << 20, 0).unwrap();
    assert_eq!(fs::metadata(fx.path("d/f")).unwrap().len(), 1 << 20);
    s.fallocate(
        n,
        o.fh,
        0,
        4096,
        (FallocateMode::PUNCH_HOLE | FallocateMode::KEEP_SIZE).bits(),
    )
    .unwrap();
    assert_eq!(s.getattr(n).unwrap().size, 1 << 20);
    assert_eq!(s.lseek(n, o.fh, 0, 4).unwrap() % 4096, 0, "SEEK_HOLE");
    let data_at = s.lseek(n, o.fh, 0, 3);
    assert!(
        matches!(data_at, Ok(_) | Err(Errno::ENXIO)),
        "SEEK_DATA {data_at:?}"
    );
    let (g, go) = s.create(ROOT, b"g", RW, REG | 0o644).unwrap();
    s.write(n, o.fh, 0, b"copy me").unwrap();
    assert_eq!(
        s.copy_file_range(n, o.fh, 0, g.nodeid, go.fh, 0, 7)
            .unwrap(),
        7
    );
    s.fsync(g.nodeid, go.fh, false).unwrap();
    assert_eq!(fs::read(fx.path("g")).unwrap(), b"copy me");
    s.syncfs(ROOT).unwrap();
    match s.tmpfile(d.nodeid, RW, REG | 0o600) {
        Ok((t, to)) => {
            assert_eq!(t.attr.nlink, 0);
            s.write(t.nodeid, to.fh, 0, b"tmp").unwrap();
            s.release(t.nodeid, to.fh).unwrap();
        }
        Err(e) => assert_eq!(e, Errno::EOPNOTSUPP),
    }
    assert!(!s.interrupt(1));
    for h in [o.fh, o2.fh] {
        s.release(n, h).unwrap();
    }
    s.release(g.nodeid, go.fh).unwrap();
    // Unknown opcodes, then DESTROY.
    for op in [0u32, 7, 53, 4096, 0xffff_ffff] {
        assert_eq!(
            s.call(op, ROOT, &[&[0u8; 32]]).unwrap().result(),
            Err(Errno::ENOSYS)
        );
    }
    s.destroy().unwrap();
    assert_eq!(s.fs().open_handles(), 0);
    fx.assert_outside_untouched();
}

#[test]
fn write_kill_suidgid_and_capability() {
    let fx = Fixture::new();
    let mut s = fx.session();
    let (f, o) = s.create(ROOT, b"suid", RW, REG | 0o6755).unwrap();
    assert_eq!(
        fs::metadata(fx.path("suid")).unwrap().mode() & 0o7777,
        0o6755
    );
    s.write_flags(f.nodeid, o.fh, 0, b"x", WriteFlags::KILL_SUIDGID.bits())
        .unwrap();
    s.fsync(f.nodeid, o.fh, false).unwrap();
    assert_eq!(
        fs::metadata(fx.path("suid")).unwrap().mode() & 0o7777,
        0o755
    );
    s.release(f.nodeid, o.fh).unwrap();
}

#[test]
fn hostile_names_never_leave_the_share() {
    let fx = Fixture::new();
    let mut s = fx.session();
    let d = s.mkdir(ROOT, b"d", 0o755).unwrap();
    let (f, _) = s.create(d.nodeid, b"f", RW, REG | 0o644).unwrap();
    let bad_errs = [Errno::EINVAL, Errno::ENAMETOOLONG, Errno::ENOENT];
    for bad in [
        &b".."[..],
        b".",
        b"",
        b"../sentinel",
        b"../outside/secret",
        b"/etc/passwd",
        b"a/b",
        b"/",
        b"\0",
        b"..\0",
    ] {
        let check = |r: Result<(), Errno>, what: &str| {
            assert!(
                matches!(r, Err(e) if bad_errs.contains(&e)),
                "{what} {:?}: {r:?}",
                bad.escape_ascii().to_string()
            );
        };
        // With export support, "." and ".." of the root are the root.
        match bad {
            b"." | b".." | b"..\0" => assert_eq!(s.lookup(ROOT, bad).unwrap().nodeid, ROOT),
            _ => check(s.lookup(ROOT, bad).map(drop), "lookup"),
        }
        check(s.mkdir(ROOT, bad, 0o777).map(drop), "mkdir");
        check(s.mknod(ROOT, bad, REG | 0o666, 0).map(drop), "mknod");
        check(s.symlink(ROOT, bad, b"/etc").map(drop), "symlink");
        check(s.create(ROOT, bad, RW, REG | 0o666).map(drop), "create");
        check(s.unlink(ROOT, bad), "unlink");
        check(s.rmdir(ROOT, bad), "rmdir");
        check(s.rename(d.nodeid, b"f", ROOT, bad), "rename to");
        check(s.rename(ROOT, bad, ROOT, b"stolen"), "rename from");
        check(
            s.rename2(d.nodeid, b"f", ROOT, bad, RenameFlags::EXCHANGE.bits()),
            "rename2",
        );
        check(s.link(f.nodeid, ROOT, bad).map(drop), "link");
    }
    // A NUL ends a name: at most the prefix is used, inside the share.
    let _ = s.mkdir(ROOT, b"x\0/../../escape", 0o777);
    let _ = s.create(ROOT, b"y\0../sentinel", RW, REG | 0o666);
    for e in fs::read_dir(&fx.share).unwrap() {
        let name = e.unwrap().file_name();
        assert!(
            ["d", "x", "y"].contains(&name.to_str().unwrap()),
            "{name:?}"
        );
    }
    fx.assert_outside_untouched();
}

#[test]
fn symlinks_out_of_the_share_are_never_followed() {
    let fx = Fixture::new();
    let mut s = fx.session();
    let etc = s.symlink(ROOT, b"etc", b"/etc").unwrap();
    let up = s.symlink(ROOT, b"up", b"..").unwrap();
    let out = s.symlink(ROOT, b"out", b"../outside").unwrap();
    assert_eq!(
        fs::read_link(fx.path("etc")).unwrap(),
        Path::new("/etc"),
        "stored verbatim"
    );
    for l in [etc.nodeid, up.nodeid, out.nodeid] {
        assert_eq!(s.lookup(l, b"passwd"), Err(Errno::ENOTDIR));
        assert_eq!(s.lookup(l, b"secret"), Err(Errno::ENOTDIR));
        assert_eq!(s.lookup(l, b"sentinel"), Err(Errno::ENOTDIR));
        assert!(s.open(l, 0).is_err());
        assert!(s.open(l, RW).is_err());
        assert!(s.opendir(l).is_err());
        assert!(s.mkdir(l, b"escape", 0o777).is_err());
        assert!(s.create(l, b"escape", RW, REG | 0o666).is_err());
        assert!(s.symlink(l, b"escape", b"x").is_err());
        assert!(s.mknod(l, b"escape", REG | 0o666, 0).is_err());
        assert!(s.rename(ROOT, b"etc", l, b"moved").is_err());
        assert!(s.tmpfile(l, RW, REG | 0o600).is_err());
        // Attribute changes act on the link itself, never on its target.
        let set = SetattrIn {
            valid: SetattrValid::MODE.bits(),
            mode: 0o777,
            ..SetattrIn::default()
        };
        assert!(s.setattr(l, &set).is_err());
        let set = SetattrIn {
            valid: SetattrValid::SIZE.bits(),
            size: 0,
            ..SetattrIn::default()
        };
        assert!(s.setattr(l, &set).is_err());
        let _ = s.setxattr(l, b"user.x", b"1", 0);
    }
    let set = SetattrIn {
        valid: (SetattrValid::UID | SetattrValid::GID).bits(),
        uid: 4242,
        gid: 4242,
        ..SetattrIn::default()
    };
    let a = s.setattr(out.nodeid, &set).unwrap();
    assert_eq!(a.uid, 4242);
    assert_eq!(fs::symlink_metadata(fx.path("out")).unwrap().uid(), 4242);
    // A hard link to a file outside needs a node id the guest never got.
    for bogus in [0u64, 2, 0xdead_beef, u64::MAX] {
        if s.fs().inodes().get(bogus).is_none() {
            assert_eq!(s.link(bogus, ROOT, b"stolen"), Err(Errno::EBADF));
        }
    }
    assert!(!fx.path("stolen").exists());
    fx.assert_outside_untouched();
    assert_eq!(
        fs::metadata("/etc").unwrap().permissions().mode() & 0o7777,
        0o755
    );
}

#[test]
fn device_nodes_are_never_opened() {
    let fx = Fixture::new();
    let mut s = fx.session();
    // /dev/null's number (1, 3): mknod works as root; OPEN must refuse.
    match s.mknod(ROOT, b"null", mode::S_IFCHR | 0o666, (1 << 8) | 3) {
        Ok(e) => {
            assert!(
                fs::symlink_metadata(fx.path("null"))
                    .unwrap()
                    .file_type()
                    .is_char_device()
            );
            assert_eq!(s.open(e.nodeid, 0), Err(Errno::EACCES));
            assert_eq!(s.open(e.nodeid, RW), Err(Errno::EACCES));
            assert!(s.create(ROOT, b"null", RW, REG | 0o666).is_err());
        }
        Err(e) => assert_eq!(e, Errno::EPERM, "mknod needs CAP_MKNOD"),
    }
    let sock = s.mknod(ROOT, b"sock", mode::S_IFSOCK | 0o666, 0).unwrap();
    assert_eq!(s.open(sock.nodeid, RW), Err(Errno::EACCES));
    fx.assert_outside_untouched();
}

#[test]
fn bogus_forgets_and_unknown_ids_on_every_opcode() {
    let fx = Fixture::new();
    let mut s = fx.session();
    let (f, o) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    s.write(f.nodeid, o.fh, 0, b"keep").unwrap();
    // FORGET: huge, repeated, on the root, on unknown ids.
    for (node, n) in [
        (ROOT, u64::MAX),
        (ROOT, 1),
        (0, 1),
        (0xdead, u64::MAX),
        (u64::MAX, 0),
    ] {
        assert!(!s.forget(node, n));
    }
    assert!(!s.batch_forget(&[(ROOT, u64::MAX); 100]));
    assert_eq!(s.fs().inodes().lookups(ROOT), Some(1));
    assert!(s.getattr(ROOT).is_ok());
    assert_eq!(s.fs().inodes().lookups(f.nodeid), Some(1));
    // Every opcode with unknown node ids and 0xff-filled arguments (huge
    // handles, sizes and offsets; names without NUL).
    let junk = [0xffu8; 128];
    for &op in Opcode::ALL {
        if matches!(
            op,
            Opcode::INIT
                | Opcode::DESTROY
                | Opcode::INTERRUPT
                | Opcode::FORGET
                | Opcode::BATCH_FORGET
        ) {
            continue;
        }
        for node in [0u64, 0x7fff_ffff, u64::MAX] {
            if let Some(r) = s.call(op as u32, node, &[&junk]) {
                assert!(r.result().is_err(), "{op:?} on {node:#x} succeeded");
            }
            let _ = s.call(op as u32, node, &[]);
        }
        // Real node, unknown handle.
        if let Some(r) = s.call(op as u32, f.nodeid, &[&junk]) {
            let _ = r.result();
        }
    }
    // (uid_t)-1 as a new owner, and as the caller's identity.
    let set = SetattrIn {
        valid: (SetattrValid::UID | SetattrValid::GID).bits(),
        uid: u32::MAX,
        gid: u32::MAX,
        ..SetattrIn::default()
    };
    assert_eq!(s.setattr(f.nodeid, &set), Err(Errno::EINVAL));
    (s.uid, s.gid) = (u32::MAX, u32::MAX);
    let r = s.mkdir(ROOT, b"by-minus-one", 0o755);
    (s.uid, s.gid) = (0, 0);
    if r.is_ok() {
        assert_ne!(
            fs::metadata(fx.path("by-minus-one")).unwrap().uid(),
            u32::MAX
        );
    }
    // Handles of one node used on another.
    let (g, go) = s.create(ROOT, b"g", RW, REG | 0o644).unwrap();
    assert_eq!(s.read(g.nodeid, o.fh, 0, 4), Err(Errno::EBADF));
    assert_eq!(s.write(g.nodeid, o.fh, 0, b"x"), Err(Errno::EBADF));
    assert_eq!(s.read(f.nodeid, o.fh, 0, 4).unwrap(), b"keep");
    s.release(g.nodeid, go.fh).unwrap();
    s.release(f.nodeid, o.fh).unwrap();
    assert_eq!(fs::read(fx.path("f")).unwrap(), b"keep");
    fx.assert_outside_untouched();
}

#[test]
fn negative_lookup_sees_host_create_at_once_with_inotify() {
    let fx = Fixture::new();
    let mut s = fx.session();
    fs::create_dir(fx.path("dir")).unwrap();
    let dir = s.lookup_found(ROOT, b"dir").unwrap();
    for parent in [ROOT, dir.nodeid] {
        let rel = if parent == ROOT { "late" } else { "dir/late" };
        assert_eq!(s.lookup(parent, b"late").unwrap().nodeid, 0);
        assert_eq!(s.lookup(parent, b"late").unwrap().nodeid, 0);
        fs::write(fx.path(rel), b"hello").unwrap();
        let e = s.lookup_found(parent, b"late").unwrap();
        assert_eq!(
            e.attr.size, 5,
            "{rel} visible without waiting for the timeout"
        );
    }
    assert!(
        s.fs().negative_cache().stats().hits >= 2,
        "misses were served from the cache"
    );
}

#[test]
fn negative_lookup_without_watcher_waits_for_the_timeout() {
    let fx = Fixture::new();
    let host = LinuxHostConfig {
        watch: false,
        ..LinuxHostConfig::default()
    };
    let mut s = fx.session_with(host, PassthroughConfig::default());
    s.now = Instant::from_millis(10_000);
    assert_eq!(s.lookup(ROOT, b"late").unwrap().nodeid, 0);
    fs::write(fx.path("late"), b"x").unwrap();
    s.now = Instant::from_millis(10_999);
    assert_eq!(
        s.lookup(ROOT, b"late").unwrap().nodeid,
        0,
        "cached within the negative timeout"
    );
    s.now = Instant::from_millis(11_001);
    assert!(s.lookup_found(ROOT, b"late").is_ok());
}

/// A lookup that finds an object the guest knows takes one host stat
/// (`Host::stat_at`). It must still count every lookup, follow a host-side
/// rename to the same node, and give a file that replaced a known one (ext4
/// hands a freed inode number to the next file) a node of its own: with the
/// known inode's descriptor cached (it pins the inode), after the guest
/// forgot it, and with a one-descriptor cache, where a known inode is held
/// by its file handle only and can die while the guest still knows it.
#[test]
fn lookups_of_known_objects_stay_exact() {
    known_object_lookups(LinuxHostConfig::default(), true);
    let one_fd = LinuxHostConfig {
        fd_cache_capacity: Some(1),
        ..LinuxHostConfig::default()
    };
    known_object_lookups(one_fd, false);
}

fn known_object_lookups(host: LinuxHostConfig, forget: bool) {
    let fx = Fixture::new();
    let mut s = fx.session_with(host, PassthroughConfig::default());
    fs::write(fx.path("a"), b"one").unwrap();
    let a = s.lookup_found(ROOT, b"a").unwrap();
    assert_eq!(s.lookup_found(ROOT, b"a").unwrap().nodeid, a.nodeid);
    assert_eq!(s.fs().inodes().lookups(a.nodeid), Some(2));
    fs::rename(fx.path("a"), fx.path("b")).unwrap();
    let b = s.lookup_found(ROOT, b"b").unwrap();
    assert_eq!(b.nodeid, a.nodeid, "renamed on the host: the same object");
    assert_eq!(s.fs().inodes().lookups(a.nodeid), Some(3));
    let mut seen = vec![a.nodeid];
    let mut inos = Vec::new();
    for i in 0..64usize {
        fs::remove_file(fx.path("b")).unwrap();
        let content = vec![b'x'; 10 + i];
        fs::write(fx.path("b"), &content).unwrap();
        inos.push(fs::metadata(fx.path("b")).unwrap().ino());
        let e = s.lookup_found(ROOT, b"b").unwrap();
        assert!(
            !seen.contains(&e.nodeid),
            "round {i}: a replaced file kept an old node"
        );
        assert_eq!(e.attr.size, content.len() as u64, "round {i}");
        assert_eq!(s.getattr(e.nodeid).unwrap().size, content.len() as u64);
        seen.push(e.nodeid);
        if forget && i % 2 == 0 {
            assert!(!s.forget(e.nodeid, 1), "FORGET has no reply");
        }
    }
    let mut distinct = inos.clone();
    distinct.sort_unstable();
    distinct.dedup();
    eprintln!("64 files, {} inode numbers", distinct.len());
    // READDIRPLUS of a known object counts a lookup too.
    let fh = s.opendir(ROOT).unwrap();
    let entries = s.readdir(ROOT, fh, 0, 4096, true).unwrap();
    let last = *seen.last().unwrap();
    let listed = entries.iter().find(|e| e.name == b"b").unwrap();
    assert_eq!(listed.entry.as_ref().unwrap().nodeid, last);
    assert_eq!(s.fs().inodes().lookups(last), Some(2));
    assert_eq!(
        s.fs().inodes().lookups(a.nodeid),
        Some(3),
        "the first file's node keeps its count"
    );
}

/// `system.posix_acl_default` granting `u::rwx,g::rwx,o::---` (the xattr
/// form: version 2, then `(tag, perm, id)` entries, include/uapi/linux/posix_acl_xattr.h).
fn default_acl_ug_rwx() -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for (tag, perm) in [(0x01u16, 7u16), (0x04, 7), (0x20, 0)] {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        v.extend_from_slice(&u32::MAX.to_le_bytes());
    }
    v
}

/// With `FUSE_DONT_MASK`, a CREATE, MKDIR, MKNOD or TMPFILE takes the
/// caller's umask unless the parent has a default ACL, whose entries decide
/// instead (acl(5)): the same whether the host applies the umask on the
/// creating thread (`thread_umask`) or the passthrough reads the parent's
/// ACL first, and the umask of one create never reaches the next.
#[test]
fn dont_mask_applies_the_umask_or_the_parents_default_acl() {
    for thread_umask in [false, true] {
        let fx = Fixture::new();
        fs::create_dir(fx.path("acl")).unwrap();
        fs::create_dir(fx.path("plain")).unwrap();
        let acl = default_acl_ug_rwx();
        let set = rustix::fs::setxattr(
            fx.path("acl"),
            "system.posix_acl_default",
            &acl,
            rustix::fs::XattrFlags::empty(),
        );
        if let Err(e) = set {
            eprintln!("SKIP: the temporary directory's file system has no ACLs ({e})");
            return;
        }
        let host = LinuxHostConfig {
            thread_umask,
            ..LinuxHostConfig::default()
        };
        let mut s = fx.session_with(host, PassthroughConfig::default());
        s.umask = 0o022;
        let plain = s.lookup_found(ROOT, b"plain").unwrap().nodeid;
        let acl_dir = s.lookup_found(ROOT, b"acl").unwrap().nodeid;
        for (dir, rel, file, d) in [
            (plain, "plain", 0o644, 0o755),
            (acl_dir, "acl", 0o660, 0o770),
        ] {
            let what = format!("thread_umask {thread_umask}, in {rel}");
            let host_mode = |name: &str| {
                fs::metadata(fx.path(&format!("{rel}/{name}")))
                    .unwrap()
                    .mode()
                    & 0o7777
            };
            let (e, _) = s.create(dir, b"f", RW, REG | 0o666).unwrap();
            assert_eq!(e.attr.mode & 0o7777, file, "CREATE, {what}");
            assert_eq!(host_mode("f"), file, "CREATE on the host, {what}");
            let e = s.mkdir(dir, b"d", 0o777).unwrap();
            assert_eq!(e.attr.mode & 0o7777, d, "MKDIR, {what}");
            assert_eq!(host_mode("d"), d, "MKDIR on the host, {what}");
            let e = s.mknod(dir, b"p", mode::S_IFIFO | 0o666, 0).unwrap();
            assert_eq!(e.attr.mode & 0o7777, file, "MKNOD, {what}");
            assert_eq!(host_mode("p"), file, "MKNOD on the host, {what}");
            let (e, _) = s.tmpfile(dir, RW, REG | 0o666).unwrap();
            assert_eq!(e.attr.mode & 0o7777, file, "TMPFILE, {what}");
        }
        // Umask 0 next: nothing of the last create's umask is left.
        s.umask = 0;
        let (e, _) = s.create(plain, b"g", RW, REG | 0o666).unwrap();
        assert_eq!(e.attr.mode & 0o7777, 0o666, "thread_umask {thread_umask}");
        fx.assert_outside_untouched();
    }
}

/// Without OPENDIR (the kernel checks permissions, every listing cached),
/// a listing read in many small READDIRs of handle 0 opens the directory
/// once: the stream stays for the next READDIR of the same node (one
/// descriptor of the guest's budget), and each READDIR resumes at its
/// cookie; another directory's READDIR takes the stream's place.
#[test]
fn a_listing_without_opendir_opens_the_directory_once() {
    let fx = Fixture::new();
    for d in ["d", "e"] {
        fs::create_dir(fx.path(d)).unwrap();
    }
    for i in 0..200 {
        fs::write(fx.path(&format!("d/file-with-a-longish-name-{i:03}")), b"").unwrap();
    }
    let cfg = PassthroughConfig {
        default_permissions: true,
        ..PassthroughConfig::for_mode(CacheMode::Always, std::time::Duration::from_secs(1))
    };
    let mut s = fx.session_with(LinuxHostConfig::default(), cfg);
    let d = s.lookup_found(ROOT, b"d").unwrap().nodeid;
    let e = s.lookup_found(ROOT, b"e").unwrap().nodeid;
    assert_eq!(s.opendir(d).err(), Some(Errno::ENOSYS));
    let used = |s: &S| s.fs().host().guest_fds().0;
    let mut names = Vec::new();
    let mut off = 0;
    let mut reads = 0;
    loop {
        let chunk = s.readdir(d, 0, off, 512, false).unwrap();
        let Some(last) = chunk.last() else { break };
        off = last.off;
        reads += 1;
        names.extend(chunk.into_iter().map(|e| e.name));
        assert_eq!(used(&s), 1, "one stream, kept between READDIRs");
    }
    assert!(reads > 10, "{reads} READDIRs");
    names.retain(|n| n != b"." && n != b"..");
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 200, "every name once");
    s.readdir(e, 0, 0, 4096, true).unwrap();
    assert_eq!(used(&s), 1, "the other directory's stream replaced it");
}
