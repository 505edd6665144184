//! Every `Host` method of `LinuxHost` over a tempdir.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::Timespec;
use arcbox_fs::abi::{FallocateMode, FileLock, OpenFlags, RenameFlags, Whence, lock, mode, xattr};
use arcbox_fs::host::{Host, SetAttrs, SetTime};
use arcbox_fs::{Errno, IoBuf, IoBufMut};
use arcbox_fs_linux::{LinuxHost, LinuxHostConfig};
use common::{Fixture, n, root_creds};
use std::os::unix::fs::MetadataExt;

#[test]
fn lookup_stat_matches_host() {
    let fx = Fixture::new();
    std::fs::write(fx.share().join("a"), b"hello").unwrap();
    let (ino, st) = fx.host.lookup(&fx.root, n("a")).unwrap();
    let m = std::fs::metadata(fx.share().join("a")).unwrap();
    assert_eq!(st.key.ino, m.ino());
    assert_eq!(st.key.dev, m.dev());
    assert_eq!(st.size, 5);
    assert_eq!(st.mode & mode::S_IFMT, mode::S_IFREG);
    assert_eq!(ino.key(), st.key);
    assert_eq!(fx.host.stat(&ino).unwrap(), st);
    assert_eq!(
        fx.host.lookup(&fx.root, n("missing")).err(),
        Some(Errno::ENOENT)
    );
    // A file is not a directory to look up in.
    assert_eq!(fx.host.lookup(&ino, n("x")).err(), Some(Errno::ENOTDIR));
}

#[test]
fn descriptor_inodes_work_without_file_handles() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("d")).unwrap();
    std::fs::write(tmp.path().join("d/f"), b"xyz").unwrap();
    let cfg = LinuxHostConfig {
        file_handles: false,
        ..LinuxHostConfig::default()
    };
    let host = LinuxHost::with_config(tmp.path(), cfg).unwrap();
    assert!(!host.uses_file_handles());
    let (root, _) = host.root().unwrap();
    let (d, _) = host.lookup(&root, n("d")).unwrap();
    let (f, st) = host.lookup(&d, n("f")).unwrap();
    assert!(!f.has_file_handle());
    assert_eq!(st.size, 3);
    let file = host.open(&f, OpenFlags::empty()).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(
        host.read(&file, 0, &mut [IoBufMut::new(&mut buf[..])])
            .unwrap(),
        3
    );
    assert_eq!(&buf[..3], b"xyz");
}

/// `Creds::umask` is applied as a local create applies the caller's: not
/// under a default ACL. Both ways: a per-thread umask (`thread_umask`), and
/// without it (also what a thread that may not unshare does) a look at the
/// parent's default ACL.
#[test]
fn creds_umask_applies_unless_the_parent_has_a_default_acl() {
    // u::rwx,g::rwx,o::--- (include/uapi/linux/posix_acl_xattr.h).
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm) in [(0x01u16, 7u16), (0x04, 7), (0x20, 0)] {
        acl.extend_from_slice(&tag.to_le_bytes());
        acl.extend_from_slice(&perm.to_le_bytes());
        acl.extend_from_slice(&u32::MAX.to_le_bytes());
    }
    for thread_umask in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("acl")).unwrap();
        if let Err(e) = rustix::fs::setxattr(
            tmp.path().join("acl"),
            "system.posix_acl_default",
            &acl,
            rustix::fs::XattrFlags::empty(),
        ) {
            eprintln!("SKIP: the temporary directory's file system has no ACLs ({e})");
            return;
        }
        let cfg = LinuxHostConfig {
            thread_umask,
            ..LinuxHostConfig::default()
        };
        let host = LinuxHost::with_config(tmp.path(), cfg).unwrap();
        assert_eq!(host.applies_umask(), thread_umask);
        let (root, _) = host.root().unwrap();
        let (acl_dir, _) = host.lookup(&root, n("acl")).unwrap();
        let creds = arcbox_fs::host::Creds {
            umask: 0o027,
            ..root_creds()
        };
        for (dir, file, d, what) in [
            (&root, 0o640, 0o750, "plain"),
            (&acl_dir, 0o660, 0o770, "acl"),
        ] {
            let what = format!("{what}, thread_umask {thread_umask}");
            let (_, _, st) = host
                .create(dir, n("f"), OpenFlags::RDWR, 0o666, &creds)
                .unwrap();
            assert_eq!(st.mode & 0o7777, file, "create, {what}");
            let (_, st) = host.mkdir(dir, n("d"), 0o777, &creds).unwrap();
            assert_eq!(st.mode & 0o7777, d, "mkdir, {what}");
            let (_, st) = host
                .mknod(dir, n("p"), mode::S_IFIFO | 0o666, 0, &creds)
                .unwrap();
            assert_eq!(st.mode & 0o7777, file, "mknod, {what}");
            let (_, _, st) = host.tmpfile(dir, OpenFlags::RDWR, 0o666, &creds).unwrap();
            assert_eq!(st.mode & 0o7777, file, "tmpfile, {what}");
        }
        // No umask: the mode as given, whatever the last create's was.
        let (_, _, st) = host
            .create(&root, n("g"), OpenFlags::RDWR, 0o666, &root_creds())
            .unwrap();
        assert_eq!(st.mode & 0o7777, 0o666, "thread_umask {thread_umask}");
    }
}

/// The names a full read of `dir` lists (`.` and `..` left out).
fn listed(host: &LinuxHost, dir: &arcbox_fs_linux::Dir) -> Result<Vec<String>, Errno> {
    let mut v = Vec::new();
    host.readdir(dir, 0, &mut |e| {
        if e.name != b"." && e.name != b".." {
            v.push(String::from_utf8_lossy(e.name).into_owned());
        }
        true
    })?;
    v.sort();
    Ok(v)
}

/// A directory held by file handle is opened by its first READDIR or
/// FSYNCDIR, not by OPENDIR: no descriptor of the guest's budget before;
/// past the budget the read, not the open, is `EMFILE`; a directory
/// removed in between lists nothing or fails, and nothing else changes.
#[test]
fn directories_held_by_handle_are_opened_at_their_first_use() {
    let tmp = tempfile::tempdir().unwrap();
    for d in ["a", "b", "gone"] {
        std::fs::create_dir(tmp.path().join(d)).unwrap();
    }
    std::fs::write(tmp.path().join("a/x"), b"x").unwrap();
    let cfg = LinuxHostConfig {
        max_guest_fds: Some(1),
        ..LinuxHostConfig::default()
    };
    let host = LinuxHost::with_config(tmp.path(), cfg).unwrap();
    if !host.uses_file_handles() {
        eprintln!("SKIP: inodes are not held by file handle here (not root?)");
        return;
    }
    let (root, _) = host.root().unwrap();
    let look = |name: &str| host.lookup(&root, n(name)).unwrap().0;
    let (a, b, gone) = (look("a"), look("b"), look("gone"));
    let used = |h: &LinuxHost| h.guest_fds().0;
    let da = host.opendir(&a).unwrap();
    let db = host.opendir(&b).unwrap();
    assert_eq!(used(&host), 0, "OPENDIR took descriptors");
    assert_eq!(listed(&host, &da).unwrap(), ["x"]);
    assert_eq!(used(&host), 1);
    // The one descriptor of the budget is taken: the second stream's
    // first use is EMFILE, and works once the first stream is gone.
    assert_eq!(host.fsyncdir(&db, false).err(), Some(Errno::EMFILE));
    drop(da);
    assert_eq!(used(&host), 0);
    host.fsyncdir(&db, true).unwrap();
    assert_eq!(listed(&host, &db).unwrap(), Vec::<String>::new());
    drop(db);
    let dg = host.opendir(&gone).unwrap();
    std::fs::remove_dir(tmp.path().join("gone")).unwrap();
    match listed(&host, &dg) {
        Ok(names) => assert!(names.is_empty(), "{names:?}"),
        Err(e) => assert!([Errno::ENOENT, Errno::ESTALE].contains(&e), "{e:?}"),
    }
    drop(dg);
    assert_eq!(used(&host), 0);
}

#[test]
fn create_write_read_vectored() {
    let fx = Fixture::new();
    let (ino, file, st) = fx
        .host
        .create(&fx.root, n("f"), OpenFlags::RDWR, 0o640, &root_creds())
        .unwrap();
    assert_eq!(st.mode, mode::S_IFREG | 0o640, "umask must not apply twice");
    assert_eq!(
        fx.host
            .write(
                &file,
                0,
                &[IoBuf::new(b"hello "), IoBuf::new(b"world")],
                false
            )
            .unwrap(),
        11
    );
    let (mut a, mut b, mut c) = ([0u8; 3], [0u8; 4], [0u8; 10]);
    assert_eq!(
        fx.host
            .read(
                &file,
                1,
                &mut [
                    IoBufMut::new(&mut a),
                    IoBufMut::new(&mut b),
                    IoBufMut::new(&mut c)
                ],
            )
            .unwrap(),
        10
    );
    assert_eq!((&a, &b, &c[..3]), (b"ell", b"o wo", &b"rld"[..]));
    assert_eq!(
        fx.host
            .read(&file, 100, &mut [IoBufMut::new(&mut c[..])])
            .unwrap(),
        0
    );
    // Many small buffers cross the stack batch size.
    let bufs: Vec<IoBuf<'_>> = (0..200).map(|_| IoBuf::new(b"ab")).collect();
    assert_eq!(fx.host.write(&file, 11, &bufs, false).unwrap(), 400);
    assert_eq!(fx.host.fstat(&file).unwrap().size, 411);
    assert_eq!(fx.host.stat(&ino).unwrap().size, 411);
    // Existing name: opened (not recreated) without O_EXCL, EEXIST with it.
    let (ino2, file2, st2) = fx
        .host
        .create(
            &fx.root,
            n("f"),
            OpenFlags::RDWR | OpenFlags::TRUNC,
            0o600,
            &root_creds(),
        )
        .unwrap();
    assert_eq!(ino2.key(), ino.key());
    assert_eq!(st2.size, 0);
    assert_eq!(st2.mode & 0o777, 0o640);
    drop(file2);
    let excl = fx.host.create(
        &fx.root,
        n("f"),
        OpenFlags::RDWR | OpenFlags::EXCL,
        0o600,
        &root_creds(),
    );
    assert_eq!(excl.err(), Some(Errno::EEXIST));
    // Existing directory: EISDIR.
    std::fs::create_dir(fx.share().join("d")).unwrap();
    assert_eq!(
        fx.host
            .create(&fx.root, n("d"), OpenFlags::RDWR, 0o600, &root_creds())
            .err(),
        Some(Errno::EISDIR)
    );
    fx.host.fsync(&file, false).unwrap();
    fx.host.fsync(&file, true).unwrap();
}

#[test]
fn open_flags_are_honoured() {
    let fx = Fixture::new();
    std::fs::write(fx.share().join("f"), b"0123456789").unwrap();
    let (ino, _) = fx.host.lookup(&fx.root, n("f")).unwrap();
    let ro = fx.host.open(&ino, OpenFlags::empty()).unwrap();
    assert_eq!(
        fx.host.write(&ro, 0, &[IoBuf::new(b"x")], false).err(),
        Some(Errno::EBADF)
    );
    let ap = fx
        .host
        .open(&ino, OpenFlags::WRONLY | OpenFlags::APPEND)
        .unwrap();
    fx.host.write(&ap, 0, &[IoBuf::new(b"AB")], false).unwrap();
    assert_eq!(
        std::fs::read(fx.share().join("f")).unwrap(),
        b"0123456789AB"
    );
    let tr = fx
        .host
        .open(
            &ino,
            OpenFlags::WRONLY | OpenFlags::TRUNC | OpenFlags::CREAT | OpenFlags::EXCL,
        )
        .unwrap();
    drop(tr);
    assert_eq!(std::fs::metadata(fx.share().join("f")).unwrap().len(), 0);
    // A directory opens for reading, not for writing.
    let (dir, _) = fx
        .host
        .lookup(&fx.root, n("f"))
        .map(|_| fx.host.root().unwrap())
        .unwrap();
    assert!(fx.host.open(&dir, OpenFlags::DIRECTORY).is_ok());
    assert_eq!(
        fx.host.open(&dir, OpenFlags::RDWR).err(),
        Some(Errno::EISDIR)
    );
}

#[test]
fn directories_and_readdir_cookies() {
    let fx = Fixture::new();
    let (d, st) = fx
        .host
        .mkdir(&fx.root, n("d"), 0o750, &root_creds())
        .unwrap();
    assert_eq!(st.mode, mode::S_IFDIR | 0o750);
    assert_eq!(
        fx.host.mkdir(&fx.root, n("d"), 0o750, &root_creds()).err(),
        Some(Errno::EEXIST)
    );
    for i in 0..50 {
        fx.host
            .mknod(
                &d,
                n(&format!("f{i}")),
                mode::S_IFREG | 0o600,
                0,
                &root_creds(),
            )
            .unwrap();
    }
    let dir = fx.host.opendir(&d).unwrap();
    let mut all = Vec::new();
    fx.host
        .readdir(&dir, 0, &mut |e| {
            all.push((String::from_utf8(e.name.to_vec()).unwrap(), e.next, e.typ));
            true
        })
        .unwrap();
    assert_eq!(all.len(), 52);
    assert!(
        all.iter()
            .any(|(name, _, typ)| name == "." && *typ == mode::dtype(mode::S_IFDIR))
    );
    assert!(
        all.iter()
            .any(|(name, _, typ)| name == "f7" && *typ == mode::dtype(mode::S_IFREG))
    );
    // Stop after 10, resume from the 10th cookie: the same remaining entries.
    let mut first = Vec::new();
    fx.host
        .readdir(&dir, 0, &mut |e| {
            first.push(e.next);
            first.len() < 10
        })
        .unwrap();
    let mut rest = Vec::new();
    fx.host
        .readdir(&dir, *first.last().unwrap(), &mut |e| {
            rest.push(String::from_utf8(e.name.to_vec()).unwrap());
            true
        })
        .unwrap();
    let want: Vec<String> = all[10..].iter().map(|e| e.0.clone()).collect();
    assert_eq!(rest, want);
    fx.host.fsyncdir(&dir, false).unwrap();
    assert_eq!(
        fx.host.rmdir(&fx.root, n("d")).err(),
        Some(Errno::ENOTEMPTY)
    );
    for i in 0..50 {
        fx.host.unlink(&d, n(&format!("f{i}"))).unwrap();
    }
    assert_eq!(fx.host.unlink(&fx.root, n("d")).err(), Some(Errno::EISDIR));
    fx.host.rmdir(&fx.root, n("d")).unwrap();
    assert!(!fx.share().join("d").exists());
    let (f, _) = fx.create("file");
    assert_eq!(fx.host.opendir(&f).err(), Some(Errno::ENOTDIR));
}

#[test]
fn symlink_and_readlink() {
    let fx = Fixture::new();
    let (l, st) = fx
        .host
        .symlink(&fx.root, n("l"), b"/abs/../target", &root_creds())
        .unwrap();
    assert_eq!(st.mode & mode::S_IFMT, mode::S_IFLNK);
    assert_eq!(st.size, 14);
    assert_eq!(
        std::fs::read_link(fx.share().join("l"))
            .unwrap()
            .as_os_str(),
        "/abs/../target"
    );
    let mut buf = [0u8; 64];
    let len = fx.host.readlink(&l, &mut buf).unwrap();
    assert_eq!(&buf[..len], b"/abs/../target");
    let mut short = [0u8; 4];
    assert_eq!(fx.host.readlink(&l, &mut short).unwrap(), 4);
    assert_eq!(&short, b"/abs");
    assert_eq!(
        fx.host.symlink(&fx.root, n("e"), b"", &root_creds()).err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(
        fx.host
            .symlink(&fx.root, n("e"), b"a\0b", &root_creds())
            .err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        fx.host
            .symlink(&fx.root, n("e"), &[b'a'; 5000], &root_creds())
            .err(),
        Some(Errno::ENAMETOOLONG)
    );
    let (f, _) = fx.create("f");
    assert_eq!(fx.host.readlink(&f, &mut buf).err(), Some(Errno::EINVAL));
}

#[test]
fn hard_links_to_files_and_symlinks() {
    let fx = Fixture::new();
    let (f, _) = fx.create("f");
    let (d, _) = fx
        .host
        .mkdir(&fx.root, n("d"), 0o755, &root_creds())
        .unwrap();
    let st = fx.host.link(&f, &d, n("g")).unwrap();
    assert_eq!(st.nlink, 2);
    assert_eq!(
        std::fs::metadata(fx.share().join("d/g")).unwrap().ino(),
        st.key.ino
    );
    let (l, _) = fx
        .host
        .symlink(&fx.root, n("l"), b"f", &root_creds())
        .unwrap();
    let st = fx.host.link(&l, &fx.root, n("l2")).unwrap();
    assert_eq!(
        st.mode & mode::S_IFMT,
        mode::S_IFLNK,
        "a link to a symlink is the symlink"
    );
    assert_eq!(st.nlink, 2);
    assert!(
        std::fs::symlink_metadata(fx.share().join("l2"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fx.host.link(&f, &fx.root, n("l2")).err(),
        Some(Errno::EEXIST)
    );
}

#[test]
fn rename_flags() {
    let fx = Fixture::new();
    std::fs::write(fx.share().join("a"), b"A").unwrap();
    std::fs::write(fx.share().join("b"), b"B").unwrap();
    let r = &fx.root;
    assert_eq!(
        fx.host
            .rename(r, n("a"), r, n("b"), RenameFlags::NOREPLACE)
            .err(),
        Some(Errno::EEXIST)
    );
    fx.host
        .rename(r, n("a"), r, n("b"), RenameFlags::EXCHANGE)
        .unwrap();
    assert_eq!(std::fs::read(fx.share().join("a")).unwrap(), b"B");
    assert_eq!(std::fs::read(fx.share().join("b")).unwrap(), b"A");
    assert_eq!(
        fx.host
            .rename(r, n("a"), r, n("c"), RenameFlags::EXCHANGE)
            .err(),
        Some(Errno::ENOENT)
    );
    fx.host
        .rename(r, n("a"), r, n("c"), RenameFlags::NOREPLACE)
        .unwrap();
    assert!(!fx.share().join("a").exists());
    fx.host
        .rename(r, n("c"), r, n("b"), RenameFlags::empty())
        .unwrap();
    assert_eq!(std::fs::read(fx.share().join("b")).unwrap(), b"B");
    assert_eq!(
        fx.host
            .rename(r, n("b"), r, n("x"), RenameFlags::from_bits_retain(0x100))
            .err(),
        Some(Errno::EINVAL)
    );
    if common::need_root("rename_flags/WHITEOUT") {
        fx.host
            .rename(r, n("b"), r, n("w"), RenameFlags::WHITEOUT)
            .unwrap();
        let m = std::fs::symlink_metadata(fx.share().join("b")).unwrap();
        assert_eq!(
            (m.mode() & mode::S_IFMT, m.rdev()),
            (mode::S_IFCHR, 0),
            "whiteout is a 0:0 char device"
        );
    }
}

#[test]
fn setattr_size_mode_times() {
    let fx = Fixture::new();
    let (f, file) = fx.create("f");
    fx.host
        .write(&file, 0, &[IoBuf::new(&[7u8; 100])], false)
        .unwrap();
    let st = fx
        .host
        .setattr(
            &f,
            None,
            &SetAttrs {
                size: Some(10),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(st.size, 10);
    let st = fx
        .host
        .setattr(
            &f,
            Some(&file),
            &SetAttrs {
                size: Some(4096),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(st.size, 4096);
    let st = fx
        .host
        .setattr(
            &f,
            None,
            &SetAttrs {
                mode: Some(0o4711),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(st.mode, mode::S_IFREG | 0o4711);
    let st = fx
        .host
        .setattr(
            &f,
            Some(&file),
            &SetAttrs {
                mode: Some(0o600),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(st.mode, mode::S_IFREG | 0o600);
    let t = Timespec::new(1_000_000_000, 123_456_789);
    let st = fx
        .host
        .setattr(
            &f,
            None,
            &SetAttrs {
                atime: Some(SetTime::At(t)),
                mtime: Some(SetTime::At(t)),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!((st.atime, st.mtime), (t, t));
    // Only atime: mtime stays.
    let t2 = Timespec::new(2_000_000_000, 0);
    let st = fx
        .host
        .setattr(
            &f,
            None,
            &SetAttrs {
                atime: Some(SetTime::At(t2)),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!((st.atime, st.mtime), (t2, t));
    let st = fx
        .host
        .setattr(
            &f,
            None,
            &SetAttrs {
                mtime: Some(SetTime::Now),
                ..Default::default()
            },
        )
        .unwrap();
    assert_ne!(st.mtime, t);
    let (d, _) = fx
        .host
        .mkdir(&fx.root, n("d"), 0o755, &root_creds())
        .unwrap();
    assert_eq!(
        fx.host
            .setattr(
                &d,
                None,
                &SetAttrs {
                    size: Some(0),
                    ..Default::default()
                }
            )
            .err(),
        Some(Errno::EISDIR)
    );
    // kill_suidgid clears set-uid, and set-gid only with group-execute.
    fx.host
        .setattr(
            &f,
            None,
            &SetAttrs {
                mode: Some(0o6755),
                ..Default::default()
            },
        )
        .unwrap();
    let st = fx
        .host
        .setattr(
            &f,
            None,
            &SetAttrs {
                kill_suidgid: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(st.mode & 0o7777, 0o755);
    fx.host
        .setattr(
            &f,
            None,
            &SetAttrs {
                mode: Some(0o2745),
                ..Default::default()
            },
        )
        .unwrap();
    let st = fx
        .host
        .setattr(
            &f,
            None,
            &SetAttrs {
                kill_suidgid: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(st.mode & 0o7777, 0o2745);
}

#[test]
fn fallocate_never_shrinks() {
    let fx = Fixture::new();
    let (_, file) = fx.create("f");
    fx.host
        .write(&file, 0, &[IoBuf::new(&[1u8; 8192])], false)
        .unwrap();
    fx.host
        .fallocate(&file, FallocateMode::empty(), 0, 4096)
        .unwrap();
    assert_eq!(fx.host.fstat(&file).unwrap().size, 8192);
    fx.host
        .fallocate(&file, FallocateMode::empty(), 8192, 8192)
        .unwrap();
    assert_eq!(fx.host.fstat(&file).unwrap().size, 16384);
    let before = fx.host.fstat(&file).unwrap();
    fx.host
        .fallocate(&file, FallocateMode::KEEP_SIZE, 16384, 1 << 20)
        .unwrap();
    let after = fx.host.fstat(&file).unwrap();
    assert_eq!(after.size, 16384);
    assert!(after.blocks > before.blocks, "KEEP_SIZE still allocates");
    fx.host
        .fallocate(
            &file,
            FallocateMode::PUNCH_HOLE | FallocateMode::KEEP_SIZE,
            0,
            4096,
        )
        .unwrap();
    let mut buf = [9u8; 4];
    fx.host
        .read(&file, 0, &mut [IoBufMut::new(&mut buf[..])])
        .unwrap();
    assert_eq!(buf, [0; 4]);
    assert_eq!(fx.host.fstat(&file).unwrap().size, 16384);
    assert_eq!(
        fx.host
            .fallocate(&file, FallocateMode::from_bits_retain(0x1000), 0, 1)
            .err(),
        Some(Errno::EOPNOTSUPP)
    );
}

#[test]
fn seek_data_and_hole() {
    let fx = Fixture::new();
    let (_, file) = fx.create("sparse");
    let mib = 1u64 << 20;
    fx.host
        .write(&file, mib, &[IoBuf::new(&[1u8; 4096])], false)
        .unwrap();
    assert_eq!(fx.host.lseek(&file, 0, Whence::Data).unwrap(), mib);
    assert_eq!(fx.host.lseek(&file, 0, Whence::Hole).unwrap(), 0);
    assert_eq!(fx.host.lseek(&file, mib, Whence::Hole).unwrap(), mib + 4096);
    assert_eq!(
        fx.host.lseek(&file, mib + 4096, Whence::Data).err(),
        Some(Errno::ENXIO)
    );
    assert_eq!(fx.host.lseek(&file, 5, Whence::Set).unwrap(), 5);
    assert_eq!(fx.host.lseek(&file, 0, Whence::End).unwrap(), mib + 4096);
}

#[test]
fn copy_file_range_copies() {
    let fx = Fixture::new();
    let (_, a) = fx.create("a");
    let (_, b) = fx.create("b");
    fx.host
        .write(&a, 0, &[IoBuf::new(b"0123456789")], false)
        .unwrap();
    assert_eq!(fx.host.copy_file_range(&a, 2, &b, 1, 5, 0).unwrap(), 5);
    assert_eq!(std::fs::read(fx.share().join("b")).unwrap(), b"\x0023456");
    assert_eq!(
        fx.host.copy_file_range(&a, 0, &b, 0, 1, 1).err(),
        Some(Errno::EINVAL)
    );
}

#[test]
fn xattr_round_trip() {
    let fx = Fixture::new();
    let (f, _) = fx.create("f");
    assert_eq!(
        fx.host.getxattr(&f, b"user.k", &mut [0u8; 16]).err(),
        Some(Errno::ENODATA)
    );
    fx.host.setxattr(&f, b"user.k", b"value", 0).unwrap();
    assert_eq!(fx.host.getxattr(&f, b"user.k", &mut []).unwrap(), 5);
    let mut buf = [0u8; 16];
    assert_eq!(fx.host.getxattr(&f, b"user.k", &mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"value");
    assert_eq!(
        fx.host.getxattr(&f, b"user.k", &mut [0u8; 2]).err(),
        Some(Errno::ERANGE)
    );
    assert_eq!(
        fx.host
            .setxattr(&f, b"user.k", b"v", xattr::XATTR_CREATE)
            .err(),
        Some(Errno::EEXIST)
    );
    assert_eq!(
        fx.host
            .setxattr(&f, b"user.new", b"v", xattr::XATTR_REPLACE)
            .err(),
        Some(Errno::ENODATA)
    );
    assert_eq!(
        fx.host.setxattr(&f, b"user.k", b"v", 0x40).err(),
        Some(Errno::EINVAL)
    );
    let size = fx.host.listxattr(&f, &mut []).unwrap();
    let mut list = vec![0u8; size];
    assert_eq!(fx.host.listxattr(&f, &mut list).unwrap(), size);
    assert!(list.split(|&b| b == 0).any(|name| name == b"user.k"));
    fx.host.removexattr(&f, b"user.k").unwrap();
    assert_eq!(
        fx.host.removexattr(&f, b"user.k").err(),
        Some(Errno::ENODATA)
    );
    assert_eq!(
        fx.host.getxattr(&f, b"user.k", &mut buf).err(),
        Some(Errno::ENODATA)
    );
    // Directories too.
    fx.host.setxattr(&fx.root, b"user.d", b"1", 0).unwrap();
    assert_eq!(fx.host.getxattr(&fx.root, b"user.d", &mut buf).unwrap(), 1);
}

#[test]
fn tmpfile_then_link() {
    let fx = Fixture::new();
    let (ino, file, st) = fx
        .host
        .tmpfile(&fx.root, OpenFlags::RDWR, 0o600, &root_creds())
        .unwrap();
    assert_eq!(st.nlink, 0);
    assert_eq!(st.mode, mode::S_IFREG | 0o600);
    assert_eq!(std::fs::read_dir(fx.share()).unwrap().count(), 0);
    fx.host
        .write(&file, 0, &[IoBuf::new(b"tmp")], false)
        .unwrap();
    assert_eq!(fx.host.stat(&ino).unwrap().size, 3);
    fx.host.link(&ino, &fx.root, n("named")).unwrap();
    assert_eq!(std::fs::read(fx.share().join("named")).unwrap(), b"tmp");
}

#[test]
fn posix_locks_per_owner_and_flock() {
    let fx = Fixture::new();
    let (f, file) = fx.create("f");
    let wr = |start, end| FileLock {
        start,
        end,
        typ: lock::F_WRLCK,
        pid: 1,
    };
    fx.host.setlk(&file, 1, &wr(0, 99), false).unwrap();
    // The same owner sees no conflict; another owner does.
    assert_eq!(
        fx.host.getlk(&file, 1, &wr(0, 10)).unwrap().typ,
        lock::F_UNLCK
    );
    let c = fx.host.getlk(&file, 2, &wr(50, 200)).unwrap();
    assert_eq!((c.typ, c.start, c.end), (lock::F_WRLCK, 0, 99));
    assert_eq!(
        fx.host.setlk(&file, 2, &wr(50, 60), false).err(),
        Some(Errno::EAGAIN)
    );
    fx.host.setlk(&file, 2, &wr(100, 200), false).unwrap();
    // Another File (another guest open) conflicts too.
    let other = fx.host.open(&f, OpenFlags::RDWR).unwrap();
    assert_eq!(
        fx.host.setlk(&other, 1, &wr(0, 0), false).err(),
        Some(Errno::EAGAIN)
    );
    // flush releases owner 1's locks.
    fx.host.flush(&file, 1).unwrap();
    fx.host.setlk(&file, 2, &wr(0, 10), false).unwrap();
    fx.host
        .setlk(
            &file,
            2,
            &FileLock {
                typ: lock::F_UNLCK,
                ..wr(0, i64::MAX as u64)
            },
            false,
        )
        .unwrap();
    fx.host.setlk(&other, 1, &wr(0, 0), false).unwrap();
    // BSD flock between two opens.
    let ex = FileLock {
        typ: lock::F_WRLCK,
        ..Default::default()
    };
    let sh = FileLock {
        typ: lock::F_RDLCK,
        ..Default::default()
    };
    let un = FileLock {
        typ: lock::F_UNLCK,
        ..Default::default()
    };
    fx.host.flock(&file, &ex, false).unwrap();
    assert_eq!(fx.host.flock(&other, &sh, false).err(), Some(Errno::EAGAIN));
    fx.host.flock(&file, &un, false).unwrap();
    fx.host.flock(&other, &sh, false).unwrap();
    fx.host.flock(&file, &sh, true).unwrap();
    assert_eq!(
        fx.host
            .flock(
                &file,
                &FileLock {
                    typ: 7,
                    ..Default::default()
                },
                false
            )
            .err(),
        Some(Errno::EINVAL)
    );
}

#[test]
fn statfs_and_syncfs() {
    let fx = Fixture::new();
    let st = fx.host.statfs(&fx.root).unwrap();
    assert!(st.blocks > 0 && st.bsize > 0);
    assert_eq!(st.namelen, 255);
    fx.host.syncfs(&fx.root).unwrap();
    let (f, _) = fx.create("f");
    fx.host.syncfs(&f).unwrap();
    let (l, _) = fx
        .host
        .symlink(&fx.root, n("l"), b"f", &root_creds())
        .unwrap();
    fx.host.syncfs(&l).unwrap();
}

#[test]
fn fifos_and_sockets_are_never_opened() {
    let fx = Fixture::new();
    let (fifo, st) = fx
        .host
        .mknod(&fx.root, n("fifo"), mode::S_IFIFO | 0o666, 0, &root_creds())
        .unwrap();
    assert_eq!(st.mode & mode::S_IFMT, mode::S_IFIFO);
    // Opening a FIFO for reading would block forever if it were attempted.
    assert_eq!(
        fx.host.open(&fifo, OpenFlags::empty()).err(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        fx.host.open(&fifo, OpenFlags::RDWR).err(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        fx.host
            .create(&fx.root, n("fifo"), OpenFlags::RDWR, 0o600, &root_creds())
            .err(),
        Some(Errno::EACCES)
    );
    let (sock, _) = fx
        .host
        .mknod(
            &fx.root,
            n("sock"),
            mode::S_IFSOCK | 0o666,
            0,
            &root_creds(),
        )
        .unwrap();
    assert_eq!(
        fx.host.open(&sock, OpenFlags::empty()).err(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        fx.host
            .mknod(&fx.root, n("dir"), mode::S_IFDIR | 0o777, 0, &root_creds())
            .err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        fx.host
            .mknod(&fx.root, n("fifo"), mode::S_IFIFO | 0o666, 0, &root_creds())
            .err(),
        Some(Errno::EEXIST)
    );
}
