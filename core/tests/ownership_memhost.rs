//! Ownership models of `PassthroughFs` over `MemHost`: the `xattr` model's
//! attribute, its permission rules, the guest's view of the attribute, `map`
//! translation, and read-only creates in every model.
#![allow(clippy::unwrap_used)]

#[path = "../../tests/src/fuse.rs"]
mod fuse;

use arcbox_fs::abi::*;
use arcbox_fs::host::Host;
use arcbox_fs::memhost::MemHost;
use arcbox_fs::passthrough::ownership::{OVERRIDE_STAT, OverrideStat};
use arcbox_fs::passthrough::{IdMap, Ownership, PassthroughConfig, PassthroughFs};
use arcbox_fs::{Errno, Name};
use fuse::Session;

type S = Session<PassthroughFs<MemHost>>;

const ROOT: u64 = ROOT_ID;
const RW: u32 = 2;
const REG: u32 = mode::S_IFREG;
const XATTR: Ownership = Ownership::Xattr {
    default_uid: 0,
    default_gid: 0,
};

fn session(own: Ownership) -> S {
    let cfg = PassthroughConfig {
        ownership: own,
        ..PassthroughConfig::default()
    };
    let mut s = Session::new(fuse::on_big_stack(move || {
        PassthroughFs::new(MemHost::new(), cfg).unwrap()
    }));
    // A share root everyone may create in (as root).
    setattr(&mut s, ROOT, SetattrValid::MODE, |a| {
        a.mode = mode::S_IFDIR | 0o777
    })
    .unwrap();
    s
}

fn as_user(s: &mut S, uid: u32, gid: u32) {
    s.uid = uid;
    s.gid = gid;
}

/// The attribute as stored on the host.
fn host_attr(s: &S, parent_name: &[&[u8]]) -> Option<OverrideStat> {
    let h = s.fs().host();
    let (mut ino, _) = h.root().unwrap();
    for n in parent_name {
        ino = h.lookup(&ino, Name::new(n).unwrap()).unwrap().0;
    }
    let mut buf = [0u8; 64];
    let n = h.getxattr(&ino, OVERRIDE_STAT, &mut buf).ok()?;
    OverrideStat::parse(&buf[..n])
}

fn host_stat(s: &S, name: &[u8]) -> arcbox_fs::host::Stat {
    let h = s.fs().host();
    let (root, _) = h.root().unwrap();
    h.lookup(&root, Name::new(name).unwrap()).unwrap().1
}

fn set_host_attr(s: &S, name: &[u8], v: &[u8]) {
    let h = s.fs().host();
    let (root, _) = h.root().unwrap();
    let (ino, _) = h.lookup(&root, Name::new(name).unwrap()).unwrap();
    h.setxattr(&ino, OVERRIDE_STAT, v, 0).unwrap();
}

fn setattr(
    s: &mut S,
    n: u64,
    valid: SetattrValid,
    f: impl FnOnce(&mut SetattrIn),
) -> Result<Attr, Errno> {
    let mut a = SetattrIn {
        valid: valid.bits(),
        ..SetattrIn::default()
    };
    f(&mut a);
    s.setattr(n, &a)
}

#[test]
fn xattr_records_owner_and_mode_of_new_objects() {
    let mut s = session(XATTR);
    as_user(&mut s, 0, 0);
    s.mkdir(ROOT, b"pub", 0o777).unwrap();
    as_user(&mut s, 1000, 100);
    let (e, _) = s.create(ROOT, b"f", RW, REG | 0o640).unwrap_err_free();
    assert_eq!(
        (e.attr.uid, e.attr.gid, e.attr.mode),
        (1000, 100, REG | 0o640)
    );
    assert_eq!(
        host_attr(&s, &[b"f"]),
        Some(OverrideStat {
            uid: 1000,
            gid: 100,
            mode: REG | 0o640,
            rdev: 0
        })
    );
    // The host file stays usable by the server whatever the guest mode.
    let st = host_stat(&s, b"f");
    assert_eq!(st.mode & 0o600, 0o600);
    let d = s.mkdir(ROOT, b"d", 0o750).unwrap();
    assert_eq!((d.attr.uid, d.attr.mode), (1000, mode::S_IFDIR | 0o750));
    // A device node, FIFO and socket: regular host files with the type recorded.
    for (name, t) in [
        (&b"chr"[..], mode::S_IFCHR),
        (b"blk", mode::S_IFBLK),
        (b"fifo", mode::S_IFIFO),
        (b"sock", mode::S_IFSOCK),
    ] {
        as_user(&mut s, 0, 0);
        let e = s.mknod(ROOT, name, t | 0o644, 0x0103).unwrap();
        assert_eq!(e.attr.mode, t | 0o644, "{name:?}");
        let st = host_stat(&s, name);
        assert_eq!(st.mode & mode::S_IFMT, REG, "{name:?} on the host");
        assert_eq!(s.getattr(e.nodeid).unwrap().mode, t | 0o644);
        // STATX (what Linux 6.6+ sends for stat(2)) agrees: a type that
        // changed between replies is EIO in the guest (inode_wrong_type).
        let x = s.statx(e.nodeid).unwrap();
        assert_eq!(u32::from(x.mode), t | 0o644, "{name:?} statx");
        assert_eq!(x.uid, 0);
    }
    let x = s.statx(d.nodeid).unwrap();
    assert_eq!((x.uid, u32::from(x.mode)), (1000, mode::S_IFDIR | 0o750));
}

/// `Result::unwrap` spelled so a failing create shows its errno.
trait UnwrapErrFree<T> {
    fn unwrap_err_free(self) -> T;
}
impl<T> UnwrapErrFree<T> for Result<T, Errno> {
    fn unwrap_err_free(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => panic!("failed: {e:?}"),
        }
    }
}

#[test]
fn xattr_files_without_attribute_and_malformed_values() {
    let mut s = session(Ownership::Xattr {
        default_uid: 7,
        default_gid: 8,
    });
    let (e, _) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    let h = s.fs().host();
    let (root, _) = h.root().unwrap();
    let (ino, _) = h.lookup(&root, Name::new(b"f").unwrap()).unwrap();
    h.removexattr(&ino, OVERRIDE_STAT).unwrap();
    let a = s.getattr(e.nodeid).unwrap();
    assert_eq!(
        (a.uid, a.gid, a.mode & 0o777),
        (7, 8, 0o600),
        "default owner, host mode"
    );
    for bad in [
        &b"garbage"[..],
        b"1:2",
        b"1:2:0999",
        b"99999999999:1:0644",
        b"",
    ] {
        set_host_attr(&s, b"f", bad);
        let a = s.getattr(e.nodeid).unwrap();
        assert_eq!((a.uid, a.gid), (7, 8), "{bad:?} is treated as absent");
    }
    set_host_attr(&s, b"f", b"501:20:0100755");
    let a = s.getattr(e.nodeid).unwrap();
    assert_eq!(
        (a.uid, a.gid, a.mode),
        (501, 20, REG | 0o755),
        "libkrun's format"
    );
    // A recorded type never turns a host directory into something else.
    let d = s.mkdir(ROOT, b"d", 0o755).unwrap();
    set_host_attr(&s, b"d", b"0:0:020644");
    assert_eq!(s.getattr(d.nodeid).unwrap().mode, mode::S_IFDIR | 0o644);
}

#[test]
fn xattr_attribute_is_invisible_to_the_guest() {
    let mut s = session(XATTR);
    let (e, _) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    let n = e.nodeid;
    s.setxattr(n, b"user.a", b"1", 0).unwrap();
    let name = b"user.containers.override_stat";
    assert_eq!(s.getxattr(n, name, 64), Err(Errno::EPERM));
    assert_eq!(s.getxattr_size(n, name), Err(Errno::EPERM));
    assert_eq!(s.setxattr(n, name, b"0:0:0100777", 0), Err(Errno::EPERM));
    assert_eq!(s.removexattr(n, name), Err(Errno::EPERM));
    assert_eq!(s.listxattr(n, 256).unwrap(), b"user.a\0");
    // Near names are ordinary attributes.
    s.setxattr(n, b"user.containers.override_sta", b"x", 0)
        .unwrap();
    assert_eq!(
        s.getxattr(n, b"user.containers.override_sta", 8).unwrap(),
        b"x"
    );
    assert_eq!(
        s.listxattr(n, 256).unwrap(),
        b"user.a\0user.containers.override_sta\0"
    );
    assert!(host_attr(&s, &[b"f"]).is_some(), "still on the host");
    // Under `host` the name is an ordinary one.
    let mut h = session(Ownership::Host);
    let (e, _) = h.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    h.setxattr(e.nodeid, name, b"1:1:0644", 0).unwrap();
    assert_eq!(h.getxattr(e.nodeid, name, 64).unwrap(), b"1:1:0644");
}

#[test]
fn xattr_chown_rules() {
    let mut s = session(XATTR);
    s.mkdir(ROOT, b"d", 0o777).unwrap();
    as_user(&mut s, 1000, 100);
    let (e, _) = s.create(ROOT, b"f", RW, REG | 0o6755).unwrap();
    let n = e.nodeid;
    let uid = SetattrValid::UID;
    let gid = SetattrValid::GID;
    assert_eq!(
        setattr(&mut s, n, uid, |a| a.uid = 5).map(|_| ()),
        Err(Errno::EPERM)
    );
    assert_eq!(
        setattr(&mut s, n, gid, |a| a.gid = 200).map(|_| ()),
        Err(Errno::EPERM)
    );
    as_user(&mut s, 1000, 200);
    let a = setattr(&mut s, n, gid, |a| a.gid = 200).unwrap();
    assert_eq!((a.uid, a.gid), (1000, 200), "owner to a group it is in");
    assert_eq!(a.mode, REG | 0o755, "chown kills set-id");
    as_user(&mut s, 2000, 200);
    assert_eq!(
        setattr(&mut s, n, gid, |a| a.gid = 200).map(|_| ()),
        Err(Errno::EPERM),
        "non-owner, even unchanged"
    );
    assert_eq!(
        setattr(&mut s, n, gid, |a| a.gid = 300).map(|_| ()),
        Err(Errno::EPERM)
    );
    as_user(&mut s, 0, 0);
    let a = setattr(&mut s, n, uid | gid, |a| {
        a.uid = 42;
        a.gid = 43;
    })
    .unwrap();
    assert_eq!((a.uid, a.gid), (42, 43));
    assert_eq!(
        host_attr(&s, &[b"f"]).map(|o| (o.uid, o.gid)),
        Some((42, 43))
    );
    // (uid_t)-1 is refused before anything.
    assert_eq!(
        setattr(&mut s, n, uid, |a| a.uid = u32::MAX).map(|_| ()),
        Err(Errno::EINVAL)
    );
}

#[test]
fn xattr_chmod_and_times_rules() {
    let mut s = session(XATTR);
    as_user(&mut s, 1000, 100);
    let (e, _) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    let n = e.nodeid;
    let m = SetattrValid::MODE;
    as_user(&mut s, 2000, 100);
    assert_eq!(
        setattr(&mut s, n, m, |a| a.mode = 0o777).map(|_| ()),
        Err(Errno::EPERM)
    );
    as_user(&mut s, 1000, 5);
    let a = setattr(&mut s, n, m, |a| a.mode = REG | 0o2755).unwrap();
    assert_eq!(a.mode, REG | 0o755, "S_ISGID dropped: not in the group");
    as_user(&mut s, 1000, 100);
    let a = setattr(&mut s, n, m, |a| a.mode = REG | 0o2755).unwrap();
    assert_eq!(a.mode, REG | 0o2755);
    as_user(&mut s, 0, 0);
    let a = setattr(&mut s, n, m, |a| a.mode = REG | 0o4000).unwrap();
    assert_eq!(a.mode, REG | 0o4000);
    // Times: explicit ones need the owner; "now" needs write permission.
    setattr(&mut s, n, m, |a| a.mode = REG | 0o666).unwrap();
    as_user(&mut s, 2000, 200);
    let at = SetattrValid::ATIME | SetattrValid::MTIME;
    assert_eq!(
        setattr(&mut s, n, at, |a| a.atime = 5).map(|_| ()),
        Err(Errno::EPERM)
    );
    let now = SetattrValid::ATIME_NOW | SetattrValid::MTIME_NOW | at;
    assert_eq!(setattr(&mut s, n, now, |_| {}).map(|_| ()), Ok(()));
    as_user(&mut s, 0, 0);
    setattr(&mut s, n, m, |a| a.mode = REG | 0o644).unwrap();
    as_user(&mut s, 2000, 200);
    assert_eq!(
        setattr(&mut s, n, now, |_| {}).map(|_| ()),
        Err(Errno::EACCES)
    );
    assert_eq!(
        setattr(&mut s, n, SetattrValid::SIZE, |a| a.size = 0).map(|_| ()),
        Err(Errno::EACCES),
        "truncate needs write permission"
    );
}

#[test]
fn xattr_open_access_and_directory_rules() {
    let mut s = session(XATTR);
    as_user(&mut s, 1000, 100);
    let (e, o) = s.create(ROOT, b"f", RW, REG | 0o600).unwrap();
    s.release(e.nodeid, o.fh).unwrap();
    let n = e.nodeid;
    as_user(&mut s, 2000, 200);
    assert_eq!(s.open(n, 0).map(|_| ()), Err(Errno::EACCES));
    assert_eq!(s.access(n, access::R_OK), Err(Errno::EACCES));
    as_user(&mut s, 0, 0);
    let o = s.open(n, RW).unwrap();
    s.release(n, o.fh).unwrap();
    // A directory only root may write in (the share root has no attribute:
    // default owner 0:0, host mode 0755 on MemHost).
    let d = s.mkdir(ROOT, b"ro", 0o755).unwrap();
    as_user(&mut s, 1000, 100);
    assert_eq!(
        s.mkdir(d.nodeid, b"x", 0o755).map(|_| ()),
        Err(Errno::EACCES)
    );
    assert_eq!(
        s.create(d.nodeid, b"x", RW, REG | 0o644).map(|_| ()),
        Err(Errno::EACCES)
    );
    assert_eq!(
        s.mknod(d.nodeid, b"x", REG | 0o644, 0).map(|_| ()),
        Err(Errno::EACCES)
    );
    assert_eq!(
        s.symlink(d.nodeid, b"x", b"t").map(|_| ()),
        Err(Errno::EACCES)
    );
    assert_eq!(s.link(n, d.nodeid, b"x").map(|_| ()), Err(Errno::EACCES));
    // Sticky, world-writable: only the file's or the directory's owner removes.
    as_user(&mut s, 0, 0);
    let t = s.mkdir(ROOT, b"tmp", 0o1777).unwrap();
    as_user(&mut s, 1000, 100);
    s.create(t.nodeid, b"mine", RW, REG | 0o644).unwrap();
    as_user(&mut s, 2000, 200);
    assert_eq!(s.unlink(t.nodeid, b"mine"), Err(Errno::EPERM));
    assert_eq!(
        s.rename(t.nodeid, b"mine", t.nodeid, b"theirs"),
        Err(Errno::EPERM)
    );
    s.create(t.nodeid, b"other", RW, REG | 0o644).unwrap();
    assert_eq!(
        s.rename(t.nodeid, b"other", t.nodeid, b"mine"),
        Err(Errno::EPERM)
    );
    as_user(&mut s, 1000, 100);
    s.rename(t.nodeid, b"mine", t.nodeid, b"moved").unwrap();
    s.unlink(t.nodeid, b"moved").unwrap();
    as_user(&mut s, 0, 0);
    s.unlink(t.nodeid, b"other").unwrap();
    assert_eq!(s.rmdir(ROOT, b"ro"), Ok(()));
}

#[test]
fn xattr_setgid_directories_and_kill_priv() {
    let mut s = session(XATTR);
    let g = s.mkdir(ROOT, b"g", 0o777).unwrap();
    let a = setattr(
        &mut s,
        g.nodeid,
        SetattrValid::MODE | SetattrValid::GID,
        |a| {
            a.mode = mode::S_IFDIR | 0o2777;
            a.gid = 50;
        },
    )
    .unwrap();
    assert_eq!((a.gid, a.mode), (50, mode::S_IFDIR | 0o2777));
    as_user(&mut s, 1000, 100);
    let (f, o) = s.create(g.nodeid, b"f", RW, REG | 0o4755).unwrap();
    assert_eq!(f.attr.gid, 50, "group of the setgid parent");
    let sub = s.mkdir(g.nodeid, b"sub", 0o755).unwrap();
    assert_eq!(
        (sub.attr.gid, sub.attr.mode),
        (50, mode::S_IFDIR | 0o2755),
        "inherits S_ISGID"
    );
    // A write asking to kill set-id bits clears them in the attribute.
    as_user(&mut s, 2000, 200);
    let w = s
        .write_flags(f.nodeid, o.fh, 0, b"x", WriteFlags::KILL_SUIDGID.bits())
        .unwrap();
    assert_eq!(w, 1);
    as_user(&mut s, 0, 0);
    assert_eq!(s.getattr(f.nodeid).unwrap().mode, REG | 0o755);
}

#[test]
fn read_only_create_returns_a_writable_handle_in_every_model() {
    let mut map = IdMap::identity();
    map.add("map:0:0:65536").unwrap();
    for own in [
        Ownership::Host,
        XATTR,
        Ownership::Map { uid: map, gid: map },
    ] {
        for m in [0o444, 0o400, 0o000] {
            let mut s = session(own);
            let (e, o) = s.create(ROOT, b"obj", RW, REG | m).unwrap();
            assert_eq!(
                s.write(e.nodeid, o.fh, 0, b"blob").unwrap(),
                4,
                "{own:?} {m:o}"
            );
            assert_eq!(e.attr.mode, REG | m, "{own:?} {m:o}");
            assert_eq!(s.getattr(e.nodeid).unwrap().mode & 0o7777, m, "{own:?}");
            // Exclusive create of an existing name still fails.
            let arg = 2 | OpenFlags::EXCL.bits();
            assert_eq!(
                s.create(ROOT, b"obj", arg, REG | m).map(|_| ()),
                Err(Errno::EEXIST)
            );
        }
    }
}

#[test]
fn map_translates_credentials_chown_and_replies() {
    let mut uid = IdMap::identity();
    uid.add("map:0:100000:1000").unwrap();
    uid.add("forbid-guest:5000:10").unwrap();
    let mut gid = IdMap::identity();
    gid.add("squash-guest:0:1000:2000").unwrap();
    gid.add("host:2000:7:1").unwrap();
    let mut s = session(Ownership::Map { uid, gid });
    as_user(&mut s, 10, 20);
    let (e, _) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    let st = host_stat(&s, b"f");
    assert_eq!((st.uid, st.gid), (100010, 2000), "host ids");
    assert_eq!((e.attr.uid, e.attr.gid), (10, 7), "guest view");
    as_user(&mut s, 0, 0);
    let a = setattr(&mut s, e.nodeid, SetattrValid::UID, |a| a.uid = 3).unwrap();
    assert_eq!(a.uid, 3);
    assert_eq!(host_stat(&s, b"f").uid, 100003);
    assert_eq!(
        setattr(&mut s, e.nodeid, SetattrValid::UID, |a| a.uid = 5005).map(|_| ()),
        Err(Errno::EPERM)
    );
    as_user(&mut s, 5001, 0);
    assert_eq!(
        s.mkdir(ROOT, b"d", 0o755).map(|_| ()),
        Err(Errno::EPERM),
        "forbidden caller"
    );
}

#[test]
fn xattr_ftruncate_through_a_writable_handle_needs_no_permission() {
    let mut s = session(XATTR);
    as_user(&mut s, 1000, 100);
    let (e, o) = s.create(ROOT, b"f", RW, REG).unwrap();
    s.write(e.nodeid, o.fh, 0, b"data").unwrap();
    let a = setattr(
        &mut s,
        e.nodeid,
        SetattrValid::SIZE | SetattrValid::FH,
        |a| {
            a.size = 0;
            a.fh = o.fh;
        },
    )
    .unwrap();
    assert_eq!((a.size, a.mode), (0, REG));
    // By path, mode 000 refuses the owner.
    assert_eq!(
        setattr(&mut s, e.nodeid, SetattrValid::SIZE, |a| a.size = 0).map(|_| ()),
        Err(Errno::EACCES)
    );
}

#[test]
fn xattr_lookup_needs_search_permission() {
    let mut s = session(XATTR);
    as_user(&mut s, 1000, 100);
    let d = s.mkdir(ROOT, b"d", 0o755).unwrap();
    s.create(d.nodeid, b"f", RW, REG | 0o644).unwrap();
    let m = SetattrValid::MODE;
    // Readable and writable but not searchable, even by its owner.
    setattr(&mut s, d.nodeid, m, |a| a.mode = mode::S_IFDIR | 0o666).unwrap();
    assert_eq!(s.lookup(d.nodeid, b"f").map(|_| ()), Err(Errno::EACCES));
    assert_eq!(
        s.lookup(d.nodeid, b"missing").map(|_| ()),
        Err(Errno::EACCES),
        "EACCES before ENOENT"
    );
    as_user(&mut s, 2000, 200);
    setattr(&mut s, d.nodeid, m, |a| a.mode = mode::S_IFDIR | 0o700).unwrap_err();
    as_user(&mut s, 1000, 100);
    setattr(&mut s, d.nodeid, m, |a| a.mode = mode::S_IFDIR | 0o710).unwrap();
    assert!(s.lookup(d.nodeid, b"f").unwrap().nodeid != 0, "owner x");
    as_user(&mut s, 2000, 100);
    assert!(s.lookup(d.nodeid, b"f").unwrap().nodeid != 0, "group x");
    as_user(&mut s, 2000, 200);
    assert_eq!(s.lookup(d.nodeid, b"f").map(|_| ()), Err(Errno::EACCES));
    // Root searches any directory (CAP_DAC_READ_SEARCH).
    as_user(&mut s, 0, 0);
    setattr(&mut s, d.nodeid, m, |a| a.mode = mode::S_IFDIR).unwrap();
    assert!(s.lookup(d.nodeid, b"f").unwrap().nodeid != 0);
    // The host model leaves the check to the host (MemHost checks nothing).
    let mut h = session(Ownership::Host);
    let d = h.mkdir(ROOT, b"d", 0).unwrap();
    h.create(d.nodeid, b"f", RW, REG | 0o644).unwrap();
    as_user(&mut h, 1000, 100);
    assert!(h.lookup(d.nodeid, b"f").unwrap().nodeid != 0);
}

#[test]
fn xattr_fallocate_and_copy_file_range_kill_set_id_bits() {
    let mut s = session(XATTR);
    let m = SetattrValid::MODE;
    let (src, so) = s.create(ROOT, b"src", RW, REG | 0o644).unwrap();
    s.write(src.nodeid, so.fh, 0, b"data").unwrap();
    for (name, bits, after) in [
        (&b"both"[..], 0o6777, 0o0777),
        // S_ISGID without group execute is mandatory locking: it stays.
        (b"sgid-no-x", 0o6767, 0o2767),
    ] {
        for op in ["fallocate", "copy_file_range"] {
            as_user(&mut s, 0, 0);
            let (e, o) = s.create(ROOT, name, RW, REG | 0o666).unwrap();
            s.release(e.nodeid, o.fh).unwrap();
            setattr(&mut s, e.nodeid, m, |a| a.mode = REG | bits).unwrap();
            as_user(&mut s, 2000, 200);
            let o = s.open(e.nodeid, RW).unwrap();
            match op {
                "fallocate" => s.fallocate(e.nodeid, o.fh, 0, 4096, 0).unwrap(),
                _ => {
                    let n = s
                        .copy_file_range(src.nodeid, so.fh, 0, e.nodeid, o.fh, 0, 4)
                        .unwrap();
                    assert_eq!(n, 4);
                }
            }
            s.release(e.nodeid, o.fh).unwrap();
            assert_eq!(
                s.getattr(e.nodeid).unwrap().mode,
                REG | after,
                "{op} by a non-root caller on {bits:o}"
            );
            assert_eq!(host_attr(&s, &[name]).map(|o| o.mode), Some(REG | after));
            // Root (CAP_FSETID) keeps them.
            as_user(&mut s, 0, 0);
            setattr(&mut s, e.nodeid, m, |a| a.mode = REG | bits).unwrap();
            let o = s.open(e.nodeid, RW).unwrap();
            s.fallocate(e.nodeid, o.fh, 0, 8192, 0).unwrap();
            s.release(e.nodeid, o.fh).unwrap();
            assert_eq!(
                s.getattr(e.nodeid).unwrap().mode,
                REG | bits,
                "{op} by root"
            );
            s.unlink(ROOT, name).unwrap();
        }
    }
}

#[test]
fn xattr_tmpfile_records_owner_and_mode() {
    let mut s = session(XATTR);
    as_user(&mut s, 1000, 100);
    let (e, o) = s.tmpfile(ROOT, RW, REG | 0o640).unwrap();
    assert_eq!(
        (e.attr.uid, e.attr.gid, e.attr.mode),
        (1000, 100, REG | 0o640)
    );
    assert_eq!(s.write(e.nodeid, o.fh, 0, b"x").unwrap(), 1);
    let a = s.getattr(e.nodeid).unwrap();
    assert_eq!((a.uid, a.gid, a.mode), (1000, 100, REG | 0o640));
    // Linked into the tree, it keeps them.
    s.link(e.nodeid, ROOT, b"named").unwrap();
    assert_eq!(
        host_attr(&s, &[b"named"]),
        Some(OverrideStat {
            uid: 1000,
            gid: 100,
            mode: REG | 0o640,
            rdev: 0
        })
    );
    assert_eq!(
        host_stat(&s, b"named").mode & 0o600,
        0o600,
        "usable host file"
    );
    // O_TMPFILE needs write and search permission on the directory.
    as_user(&mut s, 0, 0);
    let d = s.mkdir(ROOT, b"ro", 0o755).unwrap();
    as_user(&mut s, 1000, 100);
    assert_eq!(
        s.tmpfile(d.nodeid, RW, REG | 0o600).map(|_| ()),
        Err(Errno::EACCES)
    );
}

/// ACCESS of `node` with `mask` by uid/gid 1000/100 carrying the
/// supplementary `groups` in a `FUSE_EXT_GROUPS` extension.
fn access_with_groups(s: &mut S, node: u64, mask: u32, groups: &[u32]) -> Result<(), Errno> {
    use zerocopy::IntoBytes;
    let arg = AccessIn { mask, padding: 0 };
    s.unique += 1;
    let mut req = fuse::raw(
        Opcode::ACCESS as u32,
        s.unique,
        node,
        1000,
        100,
        &[arg.as_bytes()],
    );
    let size = (8 + 4 + 4 * groups.len()).div_ceil(8) * 8;
    let start = req.len();
    for w in [size as u32, EXT_GROUPS, groups.len() as u32] {
        req.extend_from_slice(&w.to_le_bytes());
    }
    for g in groups {
        req.extend_from_slice(&g.to_le_bytes());
    }
    req.resize(start + size, 0);
    let len = req.len() as u32;
    req[0..4].copy_from_slice(&len.to_le_bytes());
    req[36..38].copy_from_slice(&((size / 8) as u16).to_le_bytes());
    let r = fuse::run(&s.d, s.now, &req, fuse::REPLY_CAP).unwrap();
    r.result().map(|_| ())
}

#[test]
fn xattr_rules_see_every_supplementary_group() {
    let mut s = session(XATTR);
    let (e, _) = s.create(ROOT, b"f", RW, REG | 0o640).unwrap();
    setattr(&mut s, e.nodeid, SetattrValid::GID, |a| a.gid = 50).unwrap();
    let n = e.nodeid;
    assert_eq!(
        access_with_groups(&mut s, n, access::R_OK, &[]),
        Err(Errno::EACCES)
    );
    assert_eq!(access_with_groups(&mut s, n, access::R_OK, &[50]), Ok(()));
    assert_eq!(
        access_with_groups(&mut s, n, access::R_OK, &[7, 8, 50]),
        Ok(()),
        "a group after the first"
    );
    assert_eq!(
        access_with_groups(&mut s, n, access::W_OK, &[7, 50]),
        Err(Errno::EACCES)
    );
    // Group bits deny what "other" bits would grant.
    setattr(&mut s, n, SetattrValid::MODE, |a| a.mode = REG | 0o604).unwrap();
    assert_eq!(access_with_groups(&mut s, n, access::R_OK, &[7]), Ok(()));
    assert_eq!(
        access_with_groups(&mut s, n, access::R_OK, &[7, 50]),
        Err(Errno::EACCES)
    );
    // More groups than the server takes: refused, not judged on a part.
    let many: Vec<u32> = (1000..1100).collect();
    assert_eq!(
        access_with_groups(&mut s, n, access::R_OK, &many),
        Err(Errno::EINVAL)
    );
}

#[test]
fn xattr_device_numbers_are_recorded() {
    let mut s = session(XATTR);
    // new_encode_dev: minor's low byte, major << 8, minor's other bits << 12.
    for (name, t, (maj, min)) in [
        (&b"null"[..], mode::S_IFCHR, (1, 3)),
        (b"sda", mode::S_IFBLK, (8, 0)),
        (b"nvme", mode::S_IFBLK, (259, 0x3412)),
    ] {
        let rdev = (min & 0xff) | (maj << 8) | ((min & !0xff) << 12);
        let e = s.mknod(ROOT, name, t | 0o660, rdev).unwrap();
        assert_eq!((e.attr.mode, e.attr.rdev), (t | 0o660, rdev), "{name:?}");
        assert_eq!(s.getattr(e.nodeid).unwrap().rdev, rdev);
        assert_eq!(s.lookup(ROOT, name).unwrap().attr.rdev, rdev);
        let x = s.statx(e.nodeid).unwrap();
        assert_eq!((x.rdev_major, x.rdev_minor), (maj, min), "{name:?} statx");
        assert_eq!(host_attr(&s, &[name]).map(|o| o.rdev), Some(rdev));
        assert_eq!(host_stat(&s, name).rdev, 0, "a regular host file");
        // chown and chmod keep it.
        let a = setattr(
            &mut s,
            e.nodeid,
            SetattrValid::UID | SetattrValid::MODE,
            |a| {
                a.uid = 5;
                a.mode = t | 0o600;
            },
        )
        .unwrap();
        assert_eq!((a.uid, a.mode, a.rdev), (5, t | 0o600, rdev));
    }
    // libkrun's three-field value for a device: number 0.
    set_host_attr(&s, b"null", b"0:0:020666");
    let e = s.lookup(ROOT, b"null").unwrap();
    assert_eq!((e.attr.mode, e.attr.rdev), (mode::S_IFCHR | 0o666, 0));
    // Anything but a device neither stores nor reports one.
    let f = s
        .mknod(ROOT, b"fifo", mode::S_IFIFO | 0o644, 0x0103)
        .unwrap();
    assert_eq!(f.attr.rdev, 0);
    let h = s.fs().host();
    let (root, _) = h.root().unwrap();
    let (ino, _) = h.lookup(&root, Name::new(b"fifo").unwrap()).unwrap();
    let mut buf = [0u8; 64];
    let n = h.getxattr(&ino, OVERRIDE_STAT, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"0:0:010644");
}

/// A clock that moves one second on every reading.
fn ticking() -> arcbox_fs::Timespec {
    use std::sync::atomic::{AtomicI64, Ordering};
    static T: AtomicI64 = AtomicI64::new(1_000);
    arcbox_fs::Timespec {
        sec: T.fetch_add(1, Ordering::Relaxed),
        nsec: 0,
    }
}

#[test]
fn xattr_create_replies_carry_the_ctime_after_recording() {
    // The attribute is written after the host object is made, which moves
    // its ctime: a reply with the earlier ctime makes the guest's cached
    // ctime differ from the next GETATTR's (pjdfstest's
    // *::unchanged_ctime_failed* in a guest).
    let cfg = PassthroughConfig {
        ownership: XATTR,
        ..PassthroughConfig::default()
    };
    let mut s: S = Session::new(fuse::on_big_stack(move || {
        PassthroughFs::new(MemHost::with_clock(ticking), cfg).unwrap()
    }));
    let ct = |a: &Attr| (a.ctime, a.ctimensec);
    let (e, _) = s.create(ROOT, b"ro", 0, REG | 0o644).unwrap();
    assert_eq!(
        ct(&e.attr),
        ct(&s.getattr(e.nodeid).unwrap()),
        "create O_RDONLY"
    );
    let (e, _) = s.create(ROOT, b"rw", RW, REG | 0o644).unwrap();
    assert_eq!(
        ct(&e.attr),
        ct(&s.getattr(e.nodeid).unwrap()),
        "create O_RDWR"
    );
    let e = s.mkdir(ROOT, b"d", 0o755).unwrap();
    assert_eq!(ct(&e.attr), ct(&s.getattr(e.nodeid).unwrap()), "mkdir");
    let e = s.mknod(ROOT, b"n", mode::S_IFCHR | 0o644, 0x0103).unwrap();
    assert_eq!(ct(&e.attr), ct(&s.getattr(e.nodeid).unwrap()), "mknod");
    let (e, _) = s.tmpfile(ROOT, RW, REG | 0o600).unwrap();
    assert_eq!(ct(&e.attr), ct(&s.getattr(e.nodeid).unwrap()), "tmpfile");
}
