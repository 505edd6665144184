//! FUSE_SECURITY_CTX over `PassthroughFs<MemHost>` through the dispatcher:
//! a guest LSM's label on CREATE, MKNOD, MKDIR, SYMLINK and TMPFILE becomes
//! the new object's attribute (through `--xattrmap`), a label the host
//! refuses undoes the create, and malformed extensions are refused before
//! anything is created.
#![allow(clippy::unwrap_used)]

#[path = "../../tests/src/fuse.rs"]
mod fuse;

use arcbox_fs::Errno;
use arcbox_fs::abi::*;
use arcbox_fs::host::Host;
use arcbox_fs::memhost::MemHost;
use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
use arcbox_fs::xattrmap::XattrMap;
use fuse::{Reply, Session, cstr, raw};
use zerocopy::IntoBytes;

type S = Session<PassthroughFs<MemHost>>;
const ROOT: u64 = ROOT_ID;
const LABEL: &[u8] = b"system_u:object_r:container_file_t:s0:c1,c2";

fn session(label: bool, map: Option<&'static str>) -> S {
    Session::new(fuse::on_big_stack(move || {
        let cfg = PassthroughConfig {
            security_label: label,
            ..PassthroughConfig::default()
        };
        let fs = PassthroughFs::new(MemHost::new(), cfg).unwrap();
        match map {
            Some(m) => fs.with_xattrmap(XattrMap::parse(m).unwrap()),
            None => fs,
        }
    }))
}

/// A `fuse_secctx_header` block with `nr` contexts of `name` = `value`.
fn secctx(nr: u32, name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    if nr > 0 {
        body.extend_from_slice(&(value.len() as u32).to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(name);
        body.push(0);
        body.extend_from_slice(value);
        while body.len() % 8 != 0 {
            body.push(0);
        }
    }
    let mut v = Vec::new();
    v.extend_from_slice(&((body.len() + 8) as u32).to_le_bytes());
    v.extend_from_slice(&nr.to_le_bytes());
    v.extend_from_slice(&body);
    v
}

/// Sends `op` with `args` and the extension block `ext` after them.
fn send(s: &mut S, op: Opcode, node: u64, args: &[&[u8]], ext: &[u8]) -> Reply {
    s.unique += 1;
    let mut all: Vec<&[u8]> = args.to_vec();
    all.push(ext);
    let mut req = raw(op as u32, s.unique, node, 0, 0, &all);
    let units = (ext.len() / 8) as u16;
    req[36..38].copy_from_slice(&units.to_le_bytes());
    fuse::run(&s.d, s.now, &req, fuse::REPLY_CAP).unwrap()
}

fn host_attr(s: &S, name: &[u8], attr: &[u8]) -> Result<Vec<u8>, Errno> {
    let h = s.fs().host();
    let (root, _) = h.root().unwrap();
    let (ino, _) = h.lookup(&root, arcbox_fs::Name::new(name).unwrap())?;
    let mut buf = vec![0u8; 4096];
    let n = h.getxattr(&ino, attr, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

fn exists(s: &S, name: &[u8]) -> bool {
    let h = s.fs().host();
    let (root, _) = h.root().unwrap();
    h.lookup(&root, arcbox_fs::Name::new(name).unwrap()).is_ok()
}

/// `op` with `args` and `ext`, which must succeed.
fn ok(s: &mut S, op: Opcode, args: &[&[u8]], ext: &[u8]) {
    let r = send(s, op, ROOT, args, ext);
    assert!(r.result().is_ok(), "{op:?}: {:?}", r.result());
}

/// `op` with `args` and `ext`: its errno.
fn err(s: &mut S, op: Opcode, args: &[&[u8]], ext: &[u8]) -> Option<Errno> {
    send(s, op, ROOT, args, ext).result().err()
}

/// CREATE / TMPFILE arguments: read-write, a regular file 0644.
fn create_args() -> Vec<u8> {
    CreateIn {
        flags: OpenFlags::RDWR.bits(),
        mode: mode::S_IFREG | 0o644,
        umask: 0,
        open_flags: 0,
    }
    .as_bytes()
    .to_vec()
}

fn mkdir_args() -> Vec<u8> {
    MkdirIn {
        mode: 0o755,
        umask: 0,
    }
    .as_bytes()
    .to_vec()
}

#[test]
fn every_create_type_request_labels_its_object() {
    let mut s = session(true, None);
    assert!(
        s.d.negotiated_flags().contains(InitFlags::SECURITY_CTX),
        "--security-label asks for FUSE_SECURITY_CTX"
    );
    let ext = secctx(1, b"security.selinux", LABEL);
    let create = create_args();
    let mknod = MknodIn {
        mode: mode::S_IFIFO | 0o644,
        rdev: 0,
        umask: 0,
        padding: 0,
    };
    ok(&mut s, Opcode::CREATE, &[&create, &cstr(b"f")], &ext);
    ok(
        &mut s,
        Opcode::MKNOD,
        &[mknod.as_bytes(), &cstr(b"p")],
        &ext,
    );
    ok(&mut s, Opcode::MKDIR, &[&mkdir_args(), &cstr(b"d")], &ext);
    ok(&mut s, Opcode::SYMLINK, &[&cstr(b"l"), &cstr(b"f")], &ext);
    for n in [&b"f"[..], b"p", b"d", b"l"] {
        assert_eq!(
            host_attr(&s, n, b"security.selinux").unwrap(),
            LABEL,
            "{n:?}"
        );
    }
    ok(&mut s, Opcode::TMPFILE, &[&create], &ext);
    // An LSM without a label sends an empty header: no attribute.
    let r = send(
        &mut s,
        Opcode::MKDIR,
        ROOT,
        &[&mkdir_args(), &cstr(b"plain")],
        &secctx(0, b"", b""),
    );
    assert!(r.result().is_ok());
    assert_eq!(
        host_attr(&s, b"plain", b"security.selinux"),
        Err(Errno::ENODATA)
    );
}

#[test]
fn labels_go_through_the_xattr_map() {
    let mut s = session(true, Some(":map:security.:trusted.virtiofs.:"));
    let ext = secctx(1, b"security.selinux", LABEL);
    ok(&mut s, Opcode::MKDIR, &[&mkdir_args(), &cstr(b"d")], &ext);
    assert_eq!(
        host_attr(&s, b"d", b"trusted.virtiofs.security.selinux").unwrap(),
        LABEL
    );
    assert_eq!(
        host_attr(&s, b"d", b"security.selinux"),
        Err(Errno::ENODATA)
    );
}

#[test]
fn a_refused_label_undoes_the_create() {
    // The map refuses every security.* name: the label cannot be set.
    let mut s = session(true, Some(":bad:all:security.:::ok:all:::"));
    let ext = secctx(1, b"security.selinux", LABEL);
    let create = create_args();
    assert_eq!(
        err(&mut s, Opcode::CREATE, &[&create, &cstr(b"f")], &ext),
        Some(Errno::EPERM)
    );
    assert_eq!(
        err(&mut s, Opcode::MKDIR, &[&mkdir_args(), &cstr(b"d")], &ext),
        Some(Errno::EPERM)
    );
    assert_eq!(
        err(&mut s, Opcode::SYMLINK, &[&cstr(b"l"), &cstr(b"f")], &ext),
        Some(Errno::EPERM)
    );
    for n in [&b"f"[..], b"d", b"l"] {
        assert!(!exists(&s, n), "{n:?} was left behind");
    }
}

#[test]
fn malformed_or_unwanted_labels_create_nothing() {
    let mut s = session(true, None);
    let good = secctx(1, b"security.selinux", LABEL);
    let mut bad: Vec<Vec<u8>> = vec![
        secctx(2, b"security.selinux", LABEL),
        secctx(1, b"user.containers.override_stat", b"0:0:0104755"),
        secctx(1, b"trusted.overlay.opaque", b"y"),
    ];
    let mut c = good.clone();
    c[8..12].copy_from_slice(&4096u32.to_le_bytes());
    bad.push(c);
    let mut c = good.clone();
    c[..4].copy_from_slice(&(good.len() as u32 + 8).to_le_bytes());
    bad.push(c);
    for (i, ext) in bad.iter().enumerate() {
        let name = format!("d{i}");
        let r = send(
            &mut s,
            Opcode::MKDIR,
            ROOT,
            &[&mkdir_args(), &cstr(name.as_bytes())],
            ext,
        );
        assert!(r.result().is_err(), "case {i} accepted");
        assert!(!exists(&s, name.as_bytes()), "case {i} created");
    }
    // Without --security-label the kernel is never asked for labels, and
    // a guest that sends one anyway gets no attribute set.
    let mut off = session(false, None);
    assert!(!off.d.negotiated_flags().contains(InitFlags::SECURITY_CTX));
    ok(
        &mut off,
        Opcode::MKDIR,
        &[&mkdir_args(), &cstr(b"d")],
        &good,
    );
    assert_eq!(
        host_attr(&off, b"d", b"security.selinux"),
        Err(Errno::ENODATA)
    );
}
