//! Nothing outside the share is ever reached: each test snapshots the
//! sibling `outside/` directory (and never touches `/etc`) and checks it
//! after hostile operations.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::abi::{OpenFlags, mode};
use arcbox_fs::host::{Host, SetAttrs, SetTime};
use arcbox_fs::{Errno, Name, Timespec};
use common::{Fixture, n, root_creds, snapshot};
use std::os::unix::fs::MetadataExt;

#[test]
fn hostile_names_never_reach_the_host() {
    for bad in [
        &b".."[..],
        b".",
        b"",
        b"../outside",
        b"a/b",
        b"/etc",
        b"x\0y",
    ] {
        assert_eq!(
            Name::new(bad).err(),
            Some(Errno::EINVAL),
            "{:?}",
            bad.escape_ascii().to_string()
        );
    }
    assert_eq!(Name::new(&[b'a'; 256]).err(), Some(Errno::ENAMETOOLONG));
}

#[test]
fn symlink_to_etc_is_never_followed() {
    let fx = Fixture::new();
    let etc_before = std::fs::symlink_metadata("/etc/passwd")
        .map(|m| (m.mode(), m.uid(), m.mtime()))
        .ok();
    let (l, st) = fx
        .host
        .symlink(&fx.root, n("etc"), b"/etc", &root_creds())
        .unwrap();
    assert_eq!(st.mode & mode::S_IFMT, mode::S_IFLNK);
    // Lookup gives the link itself.
    let (l2, st2) = fx.host.lookup(&fx.root, n("etc")).unwrap();
    assert_eq!(st2.mode & mode::S_IFMT, mode::S_IFLNK);
    assert_eq!(l2.key(), l.key());
    // Nothing goes through it.
    assert_eq!(fx.host.lookup(&l, n("passwd")).err(), Some(Errno::ENOTDIR));
    assert!(fx.host.open(&l, OpenFlags::empty()).is_err());
    assert!(fx.host.open(&l, OpenFlags::DIRECTORY).is_err());
    assert_eq!(fx.host.opendir(&l).err(), Some(Errno::ENOTDIR));
    assert_eq!(
        fx.host
            .create(&l, n("x"), OpenFlags::RDWR, 0o600, &root_creds())
            .err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(
        fx.host.mkdir(&l, n("x"), 0o700, &root_creds()).err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(
        fx.host
            .mknod(&l, n("x"), mode::S_IFREG, 0, &root_creds())
            .err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(
        fx.host.symlink(&l, n("x"), b"y", &root_creds()).err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(fx.host.unlink(&l, n("passwd")).err(), Some(Errno::ENOTDIR));
    assert_eq!(
        fx.host
            .tmpfile(&l, OpenFlags::RDWR, 0o600, &root_creds())
            .err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(
        fx.host
            .setattr(
                &l,
                None,
                &SetAttrs {
                    mode: Some(0o777),
                    ..Default::default()
                }
            )
            .err(),
        Some(Errno::EOPNOTSUPP)
    );
    let (f, _) = fx.create("f");
    assert_eq!(fx.host.link(&f, &l, n("x")).err(), Some(Errno::ENOTDIR));
    assert_eq!(
        fx.host
            .rename(&fx.root, n("f"), &l, n("x"), Default::default())
            .err(),
        Some(Errno::ENOTDIR)
    );
    let mut buf = [0u8; 16];
    let len = fx.host.readlink(&l, &mut buf).unwrap();
    assert_eq!(&buf[..len], b"/etc");
    assert!(std::fs::metadata("/etc/x").is_err());
    let etc_after = std::fs::symlink_metadata("/etc/passwd")
        .map(|m| (m.mode(), m.uid(), m.mtime()))
        .ok();
    assert_eq!(etc_before, etc_after);
}

#[test]
fn absolute_symlink_is_stored_verbatim_and_ops_apply_to_the_link() {
    let fx = Fixture::new();
    let before = snapshot(&fx.outside());
    let target = fx.outside().join("secret");
    let target_bytes = target.as_os_str().as_encoded_bytes();
    let (l, st) = fx
        .host
        .symlink(&fx.root, n("abs"), target_bytes, &root_creds())
        .unwrap();
    assert_eq!(st.size, target_bytes.len() as u64);
    assert_eq!(std::fs::read_link(fx.share().join("abs")).unwrap(), target);
    assert_eq!(fx.host.stat(&l).unwrap().mode & mode::S_IFMT, mode::S_IFLNK);
    // chmod of a symlink: EOPNOTSUPP, never the target's mode.
    assert_eq!(
        fx.host
            .setattr(
                &l,
                None,
                &SetAttrs {
                    mode: Some(0o777),
                    ..Default::default()
                }
            )
            .err(),
        Some(Errno::EOPNOTSUPP)
    );
    // Times apply to the link.
    let t = Timespec::new(1_234_567, 0);
    let st = fx
        .host
        .setattr(
            &l,
            None,
            &SetAttrs {
                mtime: Some(SetTime::At(t)),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(st.mtime, t);
    assert_eq!(
        std::fs::symlink_metadata(fx.share().join("abs"))
            .unwrap()
            .mtime(),
        1_234_567
    );
    // Truncation of a symlink is refused.
    assert_eq!(
        fx.host
            .setattr(
                &l,
                None,
                &SetAttrs {
                    size: Some(0),
                    ..Default::default()
                }
            )
            .err(),
        Some(Errno::EINVAL)
    );
    // create over the name never opens (or truncates) the target.
    let trunc = OpenFlags::RDWR | OpenFlags::TRUNC;
    assert_eq!(
        fx.host
            .create(&fx.root, n("abs"), trunc, 0o600, &root_creds())
            .err(),
        Some(Errno::ELOOP)
    );
    let excl = trunc | OpenFlags::EXCL;
    assert_eq!(
        fx.host
            .create(&fx.root, n("abs"), excl, 0o600, &root_creds())
            .err(),
        Some(Errno::EEXIST)
    );
    // xattrs of the link are not the target's (user.* is not allowed on links at all).
    assert!(fx.host.setxattr(&l, b"user.x", b"1", 0).is_err());
    assert_eq!(
        fx.host.getxattr(&l, b"user.x", &mut [0u8; 4]).err(),
        Some(Errno::ENODATA)
    );
    if common::need_root("absolute_symlink/ownership+trusted xattr") {
        let st = fx
            .host
            .setattr(
                &l,
                None,
                &SetAttrs {
                    uid: Some(4321),
                    gid: Some(8765),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!((st.uid, st.gid), (4321, 8765));
        let m = std::fs::symlink_metadata(fx.share().join("abs")).unwrap();
        assert_eq!((m.uid(), m.gid()), (4321, 8765));
        fx.host.setxattr(&l, b"trusted.x", b"link", 0).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(fx.host.getxattr(&l, b"trusted.x", &mut buf).unwrap(), 4);
        let link_path = fx.share().join("abs");
        assert_eq!(
            rustix::fs::lgetxattr(&link_path, "trusted.x", &mut buf).unwrap(),
            4
        );
        assert_eq!(
            rustix::fs::getxattr(&target, "trusted.x", &mut buf).err(),
            Some(rustix::io::Errno::NODATA)
        );
        fx.host.removexattr(&l, b"trusted.x").unwrap();
    }
    // A hard link of the symlink is a link to the symlink, not the target.
    let st = fx.host.link(&l, &fx.root, n("abs2")).unwrap();
    assert_eq!(st.mode & mode::S_IFMT, mode::S_IFLNK);
    assert_eq!(snapshot(&fx.outside()), before, "outside/ changed");
}

#[test]
fn symlink_to_outside_dir_is_a_dead_end() {
    let fx = Fixture::new();
    let before = snapshot(&fx.outside());
    std::os::unix::fs::symlink(fx.outside(), fx.share().join("out")).unwrap();
    std::os::unix::fs::symlink("../outside", fx.share().join("rel")).unwrap();
    for name in ["out", "rel"] {
        let (l, _) = fx.host.lookup(&fx.root, n(name)).unwrap();
        assert_eq!(l.file_type(), mode::S_IFLNK);
        assert_eq!(fx.host.lookup(&l, n("secret")).err(), Some(Errno::ENOTDIR));
        assert_eq!(
            fx.host
                .create(&l, n("new"), OpenFlags::RDWR, 0o600, &root_creds())
                .err(),
            Some(Errno::ENOTDIR)
        );
        assert_eq!(
            fx.host.mkdir(&l, n("new"), 0o700, &root_creds()).err(),
            Some(Errno::ENOTDIR)
        );
        assert_eq!(
            fx.host
                .rename(&fx.root, n(name), &l, n("x"), Default::default())
                .err(),
            Some(Errno::ENOTDIR)
        );
        assert_eq!(
            fx.host.mkdir(&fx.root, n(name), 0o700, &root_creds()).err(),
            Some(Errno::EEXIST)
        );
        assert_eq!(
            fx.host
                .mknod(&fx.root, n(name), mode::S_IFIFO | 0o600, 0, &root_creds())
                .err(),
            Some(Errno::EEXIST)
        );
        assert!(fx.host.setxattr(&l, b"user.x", b"1", 0).is_err());
        assert!(fx.host.syncfs(&l).is_ok());
    }
    // The server's own files are there; the outside is unchanged.
    assert_eq!(snapshot(&fx.outside()), before, "outside/ changed");
}

#[test]
fn symlink_swapped_in_for_a_directory_is_not_followed() {
    // A directory the guest holds is replaced on the host by a symlink to
    // the outside: the held inode still names the old (now moved) directory,
    // and a fresh lookup yields the symlink.
    let fx = Fixture::new();
    let before = snapshot(&fx.outside());
    std::fs::create_dir(fx.share().join("d")).unwrap();
    let (d, _) = fx.host.lookup(&fx.root, n("d")).unwrap();
    std::fs::rename(fx.share().join("d"), fx.share().join("moved")).unwrap();
    std::os::unix::fs::symlink(fx.outside(), fx.share().join("d")).unwrap();
    let (_, _, _) = fx
        .host
        .create(&d, n("new"), OpenFlags::RDWR, 0o600, &root_creds())
        .unwrap();
    assert!(fx.share().join("moved/new").exists());
    let (l, _) = fx.host.lookup(&fx.root, n("d")).unwrap();
    assert_eq!(fx.host.lookup(&l, n("secret")).err(), Some(Errno::ENOTDIR));
    assert_eq!(snapshot(&fx.outside()), before, "outside/ changed");
}

#[test]
fn openat_fallback_is_as_strict() {
    use arcbox_fs_linux::{LinuxHost, LinuxHostConfig};
    let fx = Fixture::new();
    let before = snapshot(&fx.outside());
    std::os::unix::fs::symlink(fx.outside(), fx.share().join("out")).unwrap();
    std::fs::write(fx.share().join("f"), b"f").unwrap();
    let cfg = LinuxHostConfig {
        openat2: false,
        ..LinuxHostConfig::default()
    };
    let host = LinuxHost::with_config(fx.share(), cfg).unwrap();
    let (root, _) = host.root().unwrap();
    let (l, st) = host.lookup(&root, n("out")).unwrap();
    assert_eq!(st.mode & mode::S_IFMT, mode::S_IFLNK);
    assert_eq!(host.lookup(&l, n("secret")).err(), Some(Errno::ENOTDIR));
    assert_eq!(
        host.create(
            &root,
            n("out"),
            OpenFlags::RDWR | OpenFlags::TRUNC,
            0o600,
            &root_creds()
        )
        .err(),
        Some(Errno::ELOOP)
    );
    assert_eq!(
        host.create(&l, n("x"), OpenFlags::RDWR, 0o600, &root_creds())
            .err(),
        Some(Errno::ENOTDIR)
    );
    let (f, st) = host.lookup(&root, n("f")).unwrap();
    assert_eq!(st.size, 1);
    assert!(host.open(&f, OpenFlags::empty()).is_ok());
    assert_eq!(snapshot(&fx.outside()), before, "outside/ changed");
}
