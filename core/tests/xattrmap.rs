//! `PassthroughFs::with_xattrmap` over `MemHost`, driven through the
//! dispatcher with raw FUSE requests: the guest's names reach the host
//! mapped, the host's list comes back mapped and filtered, and denied names
//! answer as virtiofsd does.
#![allow(clippy::unwrap_used)]

#[path = "../../tests/src/fuse.rs"]
mod fuse;

use arcbox_fs::Errno;
use arcbox_fs::abi::*;
use arcbox_fs::host::Host;
use arcbox_fs::memhost::MemHost;
use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
use arcbox_fs::xattrmap::XattrMap;
use fuse::Session;

type S = Session<PassthroughFs<MemHost>>;
const ROOT: u64 = ROOT_ID;

fn session(map: &'static str) -> S {
    Session::new(fuse::on_big_stack(move || {
        PassthroughFs::new(MemHost::new(), PassthroughConfig::default())
            .unwrap()
            .with_xattrmap(XattrMap::parse(map).unwrap())
    }))
}

/// The root's attributes as the host stores them.
fn host_names(s: &S) -> Vec<u8> {
    let h = s.fs().host();
    let (root, _) = h.root().unwrap();
    let mut buf = vec![0u8; 4096];
    let n = h.listxattr(&root, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn host_set(s: &S, name: &[u8], value: &[u8]) {
    let h = s.fs().host();
    let (root, _) = h.root().unwrap();
    h.setxattr(&root, name, value, 0).unwrap();
}

#[test]
fn map_all_under_a_prefix() {
    let mut s = session(":map::user.virtiofs.:");
    s.setxattr(ROOT, b"trusted.overlay.opaque", b"y", 0)
        .unwrap();
    s.setxattr(ROOT, b"user.mime", b"text", 0).unwrap();
    assert_eq!(
        host_names(&s),
        b"user.virtiofs.trusted.overlay.opaque\0user.virtiofs.user.mime\0"
    );
    // The host's own attributes are hidden.
    host_set(&s, b"user.host-only", b"secret");
    let want: &[u8] = b"trusted.overlay.opaque\0user.mime\0";
    let size = s.listxattr(ROOT, 0).unwrap();
    assert_eq!(
        u32::from_le_bytes(size[..4].try_into().unwrap()) as usize,
        want.len()
    );
    assert_eq!(s.listxattr(ROOT, 100).unwrap(), want);
    assert_eq!(s.listxattr(ROOT, want.len() as u32 - 1), Err(Errno::ERANGE));
    assert_eq!(
        s.getxattr(ROOT, b"trusted.overlay.opaque", 10).unwrap(),
        b"y"
    );
    assert_eq!(s.getxattr_size(ROOT, b"user.mime").unwrap(), 4);
    assert_eq!(s.getxattr(ROOT, b"user.host-only", 10), Err(Errno::ENODATA));
    s.removexattr(ROOT, b"user.mime").unwrap();
    assert_eq!(s.getxattr(ROOT, b"user.mime", 10), Err(Errno::ENODATA));
}

#[test]
fn selective_map_denies_the_target_namespace() {
    let mut s = session("/map/trusted./user.virtiofs./");
    s.setxattr(ROOT, b"trusted.x", b"1", 0).unwrap();
    s.setxattr(ROOT, b"user.y", b"2", 0).unwrap();
    assert_eq!(host_names(&s), b"user.virtiofs.trusted.x\0user.y\0");
    // Writing the target namespace directly would bypass trusted.'s rules.
    assert_eq!(
        s.setxattr(ROOT, b"user.virtiofs.trusted.x", b"3", 0),
        Err(Errno::EPERM)
    );
    assert_eq!(
        s.removexattr(ROOT, b"user.virtiofs.trusted.x"),
        Err(Errno::EPERM)
    );
    assert_eq!(
        s.getxattr(ROOT, b"user.virtiofs.trusted.x", 10),
        Err(Errno::ENODATA)
    );
    host_set(&s, b"trusted.host", b"h");
    assert_eq!(s.listxattr(ROOT, 100).unwrap(), b"trusted.x\0user.y\0");
}

#[test]
fn unsupported_names_are_enotsup_and_hidden() {
    let mut s = session("/unsupported/all/security.selinux/security.selinux/ /ok/all///");
    assert_eq!(
        s.setxattr(ROOT, b"security.selinux", b"ctx", 0),
        Err(Errno::ENOTSUP)
    );
    assert_eq!(
        s.getxattr(ROOT, b"security.selinux", 10),
        Err(Errno::ENOTSUP)
    );
    host_set(&s, b"security.selinux", b"host_t");
    s.setxattr(ROOT, b"user.a", b"1", 0).unwrap();
    assert_eq!(s.listxattr(ROOT, 100).unwrap(), b"user.a\0");
}

#[test]
fn hostile_names_never_panic() {
    let mut s = session(":map::user.virtiofs.:");
    // The longest name Linux allows, mapped past XATTR_NAME_MAX: the host's
    // answer (ERANGE), not a panic.
    let long = vec![b'u'; XATTR_NAME_MAX];
    assert!(s.setxattr(ROOT, &long, b"v", 0).is_err());
    assert!(s.getxattr(ROOT, &long, 10).is_err());
    // Empty and NUL-laden names are refused by the parser or the host.
    assert!(s.setxattr(ROOT, b"", b"v", 0).is_err());
    assert_eq!(s.listxattr(ROOT, 100).unwrap(), b"");
}

/// A write, a truncate and a chown remove `security.capability` (the
/// kernel's `cap_inode_killpriv`); mapped elsewhere on the host, the server
/// removes the mapped attribute itself. A chmod keeps it.
#[test]
fn mapped_capability_is_removed_on_write_truncate_and_chown() {
    let mut s = session(":map:security.capability:trusted.virtiofs.:");
    let (e, o) = s
        .create(ROOT, b"bin", OpenFlags::RDWR.bits(), mode::S_IFREG | 0o755)
        .unwrap();
    let (n, fh) = (e.nodeid, o.fh);
    let cap: &[u8] = b"\x01\x00\x00\x02cap";
    let has_cap = |s: &mut S| match s.getxattr(n, b"security.capability", 64) {
        Ok(v) => {
            assert_eq!(v, cap);
            true
        }
        Err(e) => {
            assert_eq!(e, Errno::ENODATA);
            false
        }
    };
    s.setxattr(n, b"security.capability", cap, 0).unwrap();
    assert!(has_cap(&mut s));
    {
        // Stored under the mapped name on the host.
        let h = s.fs().host();
        let (root, _) = h.root().unwrap();
        let (ino, _) = h
            .lookup(&root, arcbox_fs::Name::new(b"bin").unwrap())
            .unwrap();
        let mut buf = [0u8; 256];
        let len = h.listxattr(&ino, &mut buf).unwrap();
        assert_eq!(&buf[..len], b"trusted.virtiofs.security.capability\0");
    }
    assert_eq!(s.write(n, fh, 0, b"x").unwrap(), 1);
    assert!(!has_cap(&mut s), "a write keeps the mapped capability");

    let setattr = |s: &mut S, valid: SetattrValid, f: &dyn Fn(&mut SetattrIn)| {
        let mut a = SetattrIn {
            valid: valid.bits(),
            ..SetattrIn::default()
        };
        f(&mut a);
        s.setattr(n, &a).unwrap();
    };
    s.setxattr(n, b"security.capability", cap, 0).unwrap();
    setattr(&mut s, SetattrValid::MODE, &|a| a.mode = 0o750);
    assert!(has_cap(&mut s), "a chmod removes the capability");
    setattr(&mut s, SetattrValid::SIZE, &|a| a.size = 0);
    assert!(!has_cap(&mut s), "a truncate keeps the mapped capability");
    s.setxattr(n, b"security.capability", cap, 0).unwrap();
    setattr(&mut s, SetattrValid::UID, &|a| a.uid = 0);
    assert!(!has_cap(&mut s), "a chown keeps the mapped capability");

    // Without a mapping the host's own kernel does it: nothing extra here.
    let mut plain = session(":ok:all:::");
    let (e, o) = plain
        .create(ROOT, b"f", OpenFlags::RDWR.bits(), mode::S_IFREG | 0o644)
        .unwrap();
    plain.setxattr(e.nodeid, b"user.keep", b"1", 0).unwrap();
    assert_eq!(plain.write(e.nodeid, o.fh, 0, b"x").unwrap(), 1);
    assert_eq!(plain.getxattr(e.nodeid, b"user.keep", 8).unwrap(), b"1");
}
