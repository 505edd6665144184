//! Tests that need root: per-request credentials, device nodes, killpriv.
//! Each skips loudly when not root.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::abi::{OpenFlags, mode};
use arcbox_fs::host::{Creds, Host, SetAttrs};
use arcbox_fs::{Errno, IoBuf};
use common::{Fixture, n, need_root, root_creds};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

const USER: Creds = Creds {
    uid: 1234,
    gid: 5678,
    supp_gid: None,
    umask: 0,
};

/// This thread's (fsuid, fsgid) from /proc/thread-self/status.
fn thread_fs_ids() -> (u32, u32) {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let field = |key: &str| -> u32 {
        let line = status.lines().find(|l| l.starts_with(key)).unwrap();
        line.split_whitespace().nth(4).unwrap().parse().unwrap()
    };
    (field("Uid:"), field("Gid:"))
}

#[test]
fn new_objects_belong_to_the_caller() {
    if !need_root("new_objects_belong_to_the_caller") {
        return;
    }
    let fx = Fixture::new();
    std::fs::set_permissions(fx.share(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let (_, _, st) = fx
        .host
        .create(&fx.root, n("file"), OpenFlags::RDWR, 0o644, &USER)
        .unwrap();
    assert_eq!((st.uid, st.gid), (1234, 5678));
    let (_, st) = fx.host.mkdir(&fx.root, n("dir"), 0o755, &USER).unwrap();
    assert_eq!((st.uid, st.gid), (1234, 5678));
    let (_, st) = fx
        .host
        .mknod(&fx.root, n("fifo"), mode::S_IFIFO | 0o644, 0, &USER)
        .unwrap();
    assert_eq!((st.uid, st.gid), (1234, 5678));
    let (_, st) = fx
        .host
        .symlink(&fx.root, n("link"), b"file", &USER)
        .unwrap();
    assert_eq!((st.uid, st.gid), (1234, 5678));
    let (_, _, st) = fx
        .host
        .tmpfile(&fx.root, OpenFlags::RDWR, 0o600, &USER)
        .unwrap();
    assert_eq!((st.uid, st.gid), (1234, 5678));
    for name in ["file", "dir", "fifo", "link"] {
        let m = std::fs::symlink_metadata(fx.share().join(name)).unwrap();
        assert_eq!((m.uid(), m.gid()), (1234, 5678), "{name}");
    }
    // The thread is itself again afterwards, also after a failure.
    assert_eq!(thread_fs_ids(), (0, 0));
    assert!(fx.host.mkdir(&fx.root, n("dir"), 0o755, &USER).is_err());
    assert_eq!(thread_fs_ids(), (0, 0));
    let (_, _, st) = fx
        .host
        .create(&fx.root, n("mine"), OpenFlags::RDWR, 0o644, &root_creds())
        .unwrap();
    assert_eq!((st.uid, st.gid), (0, 0));
}

#[test]
fn setgid_directory_gives_its_group() {
    if !need_root("setgid_directory_gives_its_group") {
        return;
    }
    let fx = Fixture::new();
    let sg = fx.share().join("sg");
    std::fs::create_dir(&sg).unwrap();
    std::os::unix::fs::chown(&sg, Some(0), Some(999)).unwrap();
    std::fs::set_permissions(&sg, std::fs::Permissions::from_mode(0o2777)).unwrap();
    let (d, _) = fx.host.lookup(&fx.root, n("sg")).unwrap();
    let (_, _, st) = fx
        .host
        .create(&d, n("f"), OpenFlags::RDWR, 0o644, &USER)
        .unwrap();
    assert_eq!((st.uid, st.gid), (1234, 999));
    let (_, st) = fx.host.mkdir(&d, n("sub"), 0o755, &USER).unwrap();
    assert_eq!((st.uid, st.gid), (1234, 999));
    assert_ne!(
        st.mode & mode::S_ISGID,
        0,
        "subdirectories inherit set-group-id"
    );
}

#[test]
fn caller_permissions_apply_when_creating() {
    if !need_root("caller_permissions_apply_when_creating") {
        return;
    }
    let fx = Fixture::new();
    // share/ is root's 0755 (tempdir is 0700): user 1234 may not create there.
    std::fs::set_permissions(fx.share(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(
        fx.host
            .create(&fx.root, n("f"), OpenFlags::RDWR, 0o644, &USER)
            .err(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        fx.host.mkdir(&fx.root, n("d"), 0o755, &USER).err(),
        Some(Errno::EACCES)
    );
    // A group-writable directory of group 4242: writable with that supplementary group.
    let g = fx.share().join("g");
    std::fs::create_dir(&g).unwrap();
    std::os::unix::fs::chown(&g, Some(0), Some(4242)).unwrap();
    std::fs::set_permissions(&g, std::fs::Permissions::from_mode(0o770)).unwrap();
    let (gd, _) = fx.host.lookup(&fx.root, n("g")).unwrap();
    assert_eq!(
        fx.host.mkdir(&gd, n("x"), 0o755, &USER).err(),
        Some(Errno::EACCES)
    );
    let with_group = Creds {
        supp_gid: Some(4242),
        ..USER
    };
    let (_, st) = fx.host.mkdir(&gd, n("x"), 0o755, &with_group).unwrap();
    assert_eq!((st.uid, st.gid), (1234, 5678));
    assert_eq!(thread_fs_ids(), (0, 0));
}

#[test]
fn device_nodes_are_created_but_never_opened() {
    if !need_root("device_nodes_are_created_but_never_opened") {
        return;
    }
    let fx = Fixture::new();
    // /dev/null is 1:3, in new_encode_dev form 0x103.
    let (dev, st) = fx
        .host
        .mknod(
            &fx.root,
            n("null"),
            mode::S_IFCHR | 0o666,
            0x103,
            &root_creds(),
        )
        .unwrap();
    assert_eq!(st.mode & mode::S_IFMT, mode::S_IFCHR);
    assert_eq!(st.rdev, 0x103);
    assert_eq!(
        std::fs::symlink_metadata(fx.share().join("null"))
            .unwrap()
            .rdev(),
        rustix::fs::makedev(1, 3)
    );
    assert_eq!(
        fx.host.open(&dev, OpenFlags::empty()).err(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        fx.host.open(&dev, OpenFlags::RDWR).err(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        fx.host
            .create(&fx.root, n("null"), OpenFlags::RDWR, 0o600, &root_creds())
            .err(),
        Some(Errno::EACCES)
    );
    assert_eq!(fx.host.opendir(&dev).err(), Some(Errno::ENOTDIR));
    assert_eq!(
        fx.host
            .setattr(
                &dev,
                None,
                &SetAttrs {
                    size: Some(0),
                    ..Default::default()
                }
            )
            .err(),
        Some(Errno::EINVAL)
    );
    // Attributes still work, without opening it.
    let st = fx
        .host
        .setattr(
            &dev,
            None,
            &SetAttrs {
                mode: Some(0o600),
                uid: Some(7),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!((st.mode & 0o7777, st.uid), (0o600, 7));
    let (blk, st) = fx
        .host
        .mknod(
            &fx.root,
            n("blk"),
            mode::S_IFBLK | 0o600,
            0x801,
            &root_creds(),
        )
        .unwrap();
    assert_eq!(st.rdev, 0x801);
    assert_eq!(
        fx.host.open(&blk, OpenFlags::empty()).err(),
        Some(Errno::EACCES)
    );
    // An unprivileged caller may not make devices.
    let user = Creds {
        uid: 1234,
        gid: 1234,
        supp_gid: None,
        umask: 0,
    };
    std::fs::set_permissions(fx.share(), std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(
        fx.host
            .mknod(&fx.root, n("u"), mode::S_IFCHR | 0o666, 0x103, &user)
            .err(),
        Some(Errno::EPERM)
    );
}

/// A valid `security.capability` value (VFS_CAP_REVISION_2, CAP_NET_RAW permitted + effective).
fn cap_value() -> [u8; 20] {
    let mut v = [0u8; 20];
    v[..4].copy_from_slice(&0x0200_0001u32.to_le_bytes());
    v[4..8].copy_from_slice(&(1u32 << 13).to_le_bytes());
    v
}

#[test]
fn write_kills_privileges_when_asked() {
    if !need_root("write_kills_privileges_when_asked") {
        return;
    }
    let fx = Fixture::new();
    let (f, file) = fx.create("suid");
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
    fx.host
        .setxattr(&f, b"security.capability", &cap_value(), 0)
        .unwrap();
    // A privileged write (kill_priv = false) keeps the set-id bits.
    fx.host
        .write(&file, 0, &[IoBuf::new(b"root")], false)
        .unwrap();
    assert_eq!(fx.host.stat(&f).unwrap().mode & 0o7777, 0o6755);
    fx.host
        .setxattr(&f, b"security.capability", &cap_value(), 0)
        .unwrap();
    // A write for an unprivileged caller kills set-uid, set-gid and capabilities.
    fx.host
        .write(&file, 0, &[IoBuf::new(b"user")], true)
        .unwrap();
    assert_eq!(fx.host.stat(&f).unwrap().mode & 0o7777, 0o755);
    assert_eq!(
        fx.host
            .getxattr(&f, b"security.capability", &mut [0u8; 32])
            .err(),
        Some(Errno::ENODATA)
    );
    // The thread has CAP_FSETID again: the next privileged write keeps bits.
    fx.host
        .setattr(
            &f,
            None,
            &SetAttrs {
                mode: Some(0o4755),
                ..Default::default()
            },
        )
        .unwrap();
    fx.host
        .write(&file, 0, &[IoBuf::new(b"root")], false)
        .unwrap();
    assert_eq!(fx.host.stat(&f).unwrap().mode & 0o7777, 0o4755);
    // setattr's kill_suidgid removes capabilities too.
    fx.host
        .setxattr(&f, b"security.capability", &cap_value(), 0)
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
    assert_eq!(
        fx.host
            .getxattr(&f, b"security.capability", &mut [0u8; 32])
            .err(),
        Some(Errno::ENODATA)
    );
}
