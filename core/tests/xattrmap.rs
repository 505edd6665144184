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
