//! Session-level protocol: INIT negotiation (versions, compat layouts, flags,
//! limits), requests before INIT and after DESTROY, unknown opcodes, and
//! every opcode answered with a well-formed reply or none.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::abi::*;
use arcbox_fs::memfs::MemFs;
use arcbox_fs::{DispatcherConfig, Errno, FuseDispatcher};
use common::*;
use zerocopy::{FromBytes, IntoBytes};

fn fresh() -> FuseDispatcher<MemFs> {
    FuseDispatcher::new(MemFs::new())
}

fn init(d: &FuseDispatcher<MemFs>, major: u32, minor: u32, flags: InitFlags) -> Reply {
    run(
        d,
        &raw(
            Opcode::INIT as u32,
            1,
            0,
            0,
            0,
            &[&init_body(major, minor, flags)],
        ),
        4096,
    )
    .unwrap()
}

#[test]
fn requests_before_init_are_eio() {
    let d = fresh();
    for op in [
        Opcode::LOOKUP,
        Opcode::GETATTR,
        Opcode::STATFS,
        Opcode::DESTROY,
        Opcode::READ,
    ] {
        let r = run(&d, &raw(op as u32, 5, ROOT_ID, 0, 0, &[&[0u8; 40]]), 4096).unwrap();
        assert_eq!(r.errno(), Some(Errno::EIO), "{op:?}");
    }
    // FORGET before INIT still gets no reply.
    assert_eq!(
        run(
            &d,
            &raw(
                Opcode::FORGET as u32,
                5,
                ROOT_ID,
                0,
                0,
                &[&[1, 0, 0, 0, 0, 0, 0, 0]]
            ),
            4096
        ),
        None
    );
    assert_eq!(d.negotiated_minor(), None);
}

#[test]
fn init_741_with_flags2() {
    let d = fresh();
    let offered = all_flags();
    let r = init(&d, 7, 41, offered);
    let out: InitOut = r.parse();
    assert_eq!((out.major, out.minor), (7, 41));
    assert_eq!(out.max_readahead, 1 << 17);
    let agreed = InitFlags::join(out.flags, out.flags2);
    assert!(agreed.contains(InitFlags::INIT_EXT | InitFlags::MAX_PAGES | InitFlags::SETXATTR_EXT));
    assert!(
        agreed.contains(InitFlags::POSIX_LOCKS | InitFlags::DO_READDIRPLUS),
        "MemFs wishes"
    );
    assert!(!agreed.contains(InitFlags::WRITEBACK_CACHE), "never wanted");
    assert_eq!(out.max_write, 1 << 20);
    assert_eq!(out.max_pages, 256);
    assert_eq!(out.time_gran, 1);
    assert_eq!(d.negotiated_flags(), agreed);
    assert_eq!(d.negotiated_minor(), Some(41));
}

#[test]
fn init_flags_are_the_intersection() {
    let d = fresh();
    let offered = InitFlags::ASYNC_READ | InitFlags::POSIX_LOCKS | InitFlags::WRITEBACK_CACHE;
    let out: InitOut = init(&d, 7, 41, offered).parse();
    assert_eq!(
        InitFlags::join(out.flags, out.flags2),
        InitFlags::ASYNC_READ | InitFlags::POSIX_LOCKS
    );
    assert_eq!(out.max_pages, 0, "MAX_PAGES not offered");
    assert_eq!(out.flags2, 0);
    // flags2 without INIT_EXT is ignored.
    let d = fresh();
    let mut body = init_body(7, 41, InitFlags::ASYNC_READ);
    body[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    let out: InitOut = run(&d, &raw(26, 1, 0, 0, 0, &[&body]), 4096)
        .unwrap()
        .parse();
    assert_eq!(
        (out.flags, out.flags2),
        (InitFlags::ASYNC_READ.bits() as u32, 0)
    );
}

#[test]
fn init_712_gets_compat_reply() {
    let d = fresh();
    let r = init(&d, 7, 12, all_flags());
    assert_eq!(r.ok().len(), COMPAT_22_INIT_OUT_SIZE);
    assert_eq!(r.header.len as usize, OUT_HDR + 24);
    let (major, minor) = (
        u32::from_le_bytes(r.body[0..4].try_into().unwrap()),
        u32::from_le_bytes(r.body[4..8].try_into().unwrap()),
    );
    assert_eq!((major, minor), (7, 12));
    // The 16-byte init_in of 7.22 and the 64-byte one of 7.23..7.35 both work.
    assert_eq!(init(&fresh(), 7, 22, all_flags()).ok().len(), 24);
    assert_eq!(init(&fresh(), 7, 23, all_flags()).ok().len(), 64);
    assert_eq!(
        init(&fresh(), 7, 31, all_flags()).parse::<InitOut>().minor,
        31
    );
    // A newer kernel than us agrees on our minor.
    assert_eq!(
        init(&fresh(), 7, 99, all_flags()).parse::<InitOut>().minor,
        KERNEL_MINOR_VERSION
    );
}

#[test]
fn init_versions_refused() {
    // Major 8: reply with our major only, the kernel retries.
    let d = fresh();
    let r = init(&d, 8, 0, all_flags());
    assert_eq!(r.ok().len(), 8);
    assert_eq!(u32::from_le_bytes(r.body[0..4].try_into().unwrap()), 7);
    assert_eq!(d.negotiated_minor(), None, "no session yet");
    assert_eq!(init(&d, 7, 41, all_flags()).parse::<InitOut>().major, 7);
    // Major 6, or 7 below our minimum: EPROTO.
    assert_eq!(
        init(&fresh(), 6, 41, all_flags()).errno(),
        Some(Errno::EPROTO)
    );
    assert_eq!(
        init(&fresh(), 7, 11, all_flags()).errno(),
        Some(Errno::EPROTO)
    );
    // A truncated INIT body.
    let r = run(
        &fresh(),
        &raw(26, 1, 0, 0, 0, &[&[7, 0, 0, 0, 41, 0, 0, 0]]),
        4096,
    )
    .unwrap();
    assert_eq!(r.errno(), Some(Errno::EINVAL));
}

#[test]
fn init_limits_from_config() {
    let cfg = DispatcherConfig {
        max_write: 128 * 1024,
        max_readahead: 4096,
        refused: InitFlags::POSIX_LOCKS,
        ..DispatcherConfig::default()
    };
    let d = FuseDispatcher::with_config(MemFs::new(), cfg);
    let out: InitOut = init(&d, 7, 41, all_flags()).parse();
    assert_eq!(
        (out.max_write, out.max_pages, out.max_readahead),
        (128 * 1024, 32, 4096)
    );
    assert!(!InitFlags::join(out.flags, out.flags2).contains(InitFlags::POSIX_LOCKS));
    // A WRITE above max_write is refused.
    let mut s = Session::with_fs(MemFs::new());
    let arg = CreateIn {
        flags: 2,
        mode: 0o644,
        umask: 0,
        open_flags: 0,
    };
    let b = s
        .reply(Opcode::CREATE, ROOT_ID, &[arg.as_bytes(), b"f\0"])
        .ok()
        .to_vec();
    let e = EntryOut::read_from_bytes(&b[..128]).unwrap();
    let o = OpenOut::read_from_bytes(&b[128..]).unwrap();
    let big = vec![0u8; (1 << 20) + 1];
    let w = WriteIn {
        fh: o.fh,
        size: big.len() as u32,
        ..WriteIn::default()
    };
    assert_eq!(
        s.err(Opcode::WRITE, e.nodeid, &[w.as_bytes(), &big]),
        Errno::EINVAL
    );
}

#[test]
fn destroy_then_eio_until_reinit() {
    let mut s = Session::new();
    let arg = MkdirIn {
        mode: 0o755,
        umask: 0,
    };
    let e: EntryOut = s
        .reply(Opcode::MKDIR, ROOT_ID, &[arg.as_bytes(), b"d\0"])
        .parse();
    let fh = s
        .reply(Opcode::OPENDIR, e.nodeid, &[OpenIn::default().as_bytes()])
        .parse::<OpenOut>()
        .fh;
    assert_eq!(s.reply(Opcode::DESTROY, 0, &[]).ok(), b"");
    assert_eq!(s.d.negotiated_minor(), None);
    assert_eq!(
        s.err(Opcode::GETATTR, ROOT_ID, &[GetattrIn::default().as_bytes()]),
        Errno::EIO
    );
    assert_eq!(s.err(Opcode::DESTROY, 0, &[]), Errno::EIO);
    // DESTROY dropped the kernel's lookups and handles; the named directory stays.
    assert_eq!(s.d.fs().handle_count(), 0);
    assert_eq!(s.d.fs().lookup_count(e.nodeid), Some(0));
    s.reply(Opcode::INIT, 0, &[&init_body(7, 41, all_flags())])
        .ok();
    assert_eq!(
        s.reply(Opcode::LOOKUP, ROOT_ID, &[b"d\0"])
            .parse::<EntryOut>()
            .nodeid,
        e.nodeid
    );
    let rd = ReadIn {
        fh,
        size: 4096,
        ..ReadIn::default()
    };
    assert_eq!(
        s.err(Opcode::READDIR, e.nodeid, &[rd.as_bytes()]),
        Errno::EBADF
    );
}

#[test]
fn unknown_opcodes_are_enosys() {
    let mut s = Session::new();
    for op in [0u32, 7, 19, 53, 100, 4095, 4097, u32::MAX] {
        s.unique += 1;
        let r = run(&s.d, &raw(op, s.unique, ROOT_ID, 0, 0, &[&[0u8; 64]]), 4096).unwrap();
        assert_eq!(r.errno(), Some(Errno::ENOSYS), "opcode {op}");
    }
    // Unknown opcodes are ENOSYS even before INIT.
    let r = run(&fresh(), &raw(999, 3, 0, 0, 0, &[]), 4096).unwrap();
    assert_eq!(r.errno(), Some(Errno::ENOSYS));
}

/// A minimal body for each opcode that parses (not necessarily succeeds).
fn minimal_body(op: Opcode) -> Vec<u8> {
    let z = |n: usize| vec![0u8; n];
    match op {
        Opcode::LOOKUP | Opcode::UNLINK | Opcode::RMDIR => b"x\0".to_vec(),
        Opcode::SYMLINK => b"x\0t\0".to_vec(),
        Opcode::MKNOD => [&z(16)[..], b"x\0"].concat(),
        Opcode::MKDIR => [&z(8)[..], b"x\0"].concat(),
        Opcode::CREATE => [&z(16)[..], b"x\0"].concat(),
        Opcode::RENAME => [&1u64.to_le_bytes()[..], b"x\0y\0"].concat(),
        Opcode::RENAME2 => [&1u64.to_le_bytes()[..], &z(8), b"x\0y\0"].concat(),
        Opcode::LINK => [&1u64.to_le_bytes()[..], b"x\0"].concat(),
        Opcode::SETXATTR => [&z(16)[..], b"user.x\0"].concat(),
        Opcode::GETXATTR => [&z(8)[..], b"user.x\0"].concat(),
        Opcode::REMOVEXATTR => b"user.x\0".to_vec(),
        Opcode::INIT | Opcode::CUSE_INIT => init_body(7, 41, all_flags()),
        Opcode::READLINK | Opcode::STATFS | Opcode::DESTROY => Vec::new(),
        Opcode::WRITE
        | Opcode::BATCH_FORGET
        | Opcode::REMOVEMAPPING
        | Opcode::IOCTL
        | Opcode::NOTIFY_REPLY => z(64),
        _ => z(64),
    }
}

#[test]
fn every_opcode_answers_well_formed() {
    let mut s = Session::new();
    let no_reply = [
        Opcode::FORGET,
        Opcode::BATCH_FORGET,
        Opcode::INTERRUPT,
        Opcode::NOTIFY_REPLY,
    ];
    for &op in Opcode::ALL {
        let body = minimal_body(op);
        let r = s.call(op, ROOT_ID, &[&body]);
        assert_eq!(r.is_none(), no_reply.contains(&op), "{op:?}: {r:?}");
        if let Some(r) = r {
            assert!(
                r.errno() != Some(Errno::EIO) || op == Opcode::DESTROY,
                "{op:?}"
            );
        }
        if op == Opcode::DESTROY {
            s.reply(Opcode::INIT, 0, &[&init_body(7, 41, all_flags())])
                .ok();
        }
    }
}
