//! Replays requests captured from the real Linux FUSE client
//! (`core/fixtures`, written by `examples/capture_fuse_trace.rs`) through a
//! fresh dispatcher and `MemFs`: every reply must be well formed and equal,
//! byte for byte, to the reply the live session sent; the only errors are the
//! expected negative LOOKUPs and missing `security.capability` xattrs.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::abi::{InHeader, Opcode};
use arcbox_fs::memfs::MemFs;
use arcbox_fs::{DispatcherConfig, Errno, FuseDispatcher, Instant, Outcome, SgList};
use common::run;
use std::path::PathBuf;
use zerocopy::FromBytes;

/// The captured (request, reply) pairs, in order.
fn fixtures() -> Vec<(String, Vec<u8>, Option<Vec<u8>>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".bin"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let req = std::fs::read(dir.join(&n)).unwrap();
            let reply = std::fs::read(dir.join(n.replace(".bin", ".reply"))).ok();
            (n, req, reply)
        })
        .collect()
}

fn dispatcher() -> FuseDispatcher<MemFs> {
    // The capture ran with this config.
    FuseDispatcher::with_config(
        MemFs::new(),
        DispatcherConfig {
            max_write: 128 * 1024,
            ..DispatcherConfig::default()
        },
    )
}

#[test]
fn fixtures_cover_the_workload() {
    let f = fixtures();
    assert!(f.len() >= 40, "{} fixtures", f.len());
    let ops: Vec<Opcode> = f
        .iter()
        .map(|(_, r, _)| Opcode::from_u32(InHeader::read_from_prefix(r).unwrap().0.opcode).unwrap())
        .collect();
    assert_eq!(ops[0], Opcode::INIT);
    for want in [
        Opcode::LOOKUP,
        Opcode::MKDIR,
        Opcode::CREATE,
        Opcode::WRITE,
        Opcode::READ,
        Opcode::FSYNC,
        Opcode::SETATTR,
        Opcode::READDIRPLUS,
        Opcode::RENAME,
        Opcode::SYMLINK,
        Opcode::READLINK,
        Opcode::LINK,
        Opcode::SETXATTR,
        Opcode::GETXATTR,
        Opcode::UNLINK,
        Opcode::RMDIR,
        Opcode::RELEASE,
        Opcode::FLUSH,
    ] {
        assert!(ops.contains(&want), "{want:?} not captured");
    }
}

#[test]
fn replay_matches_live_session() {
    let d = dispatcher();
    for (name, req, live) in fixtures() {
        let (h, _) = InHeader::read_from_prefix(&req[..]).unwrap();
        assert_eq!(h.len as usize, req.len(), "{name}");
        let got = run(&d, &req, 128 * 1024 + 4096);
        match (&got, &live) {
            (None, None) => {}
            (Some(r), Some(live)) => {
                let mut bytes = r.header.len.to_le_bytes().to_vec();
                bytes.extend_from_slice(&r.header.error.to_le_bytes());
                bytes.extend_from_slice(&r.header.unique.to_le_bytes());
                bytes.extend_from_slice(&r.body);
                assert_eq!(&bytes, live, "{name}");
                if let Some(e) = r.errno() {
                    let op = Opcode::from_u32(h.opcode).unwrap();
                    let expected = matches!(
                        (op, e),
                        (Opcode::LOOKUP, Errno::ENOENT) | (Opcode::GETXATTR, Errno::ENODATA)
                    );
                    assert!(expected, "{name}: unexpected {e:?}");
                }
            }
            _ => panic!("{name}: reply {got:?} vs live {}", live.is_some()),
        }
    }
}

#[test]
fn replay_scattered_matches_contiguous() {
    let (a, b) = (dispatcher(), dispatcher());
    for (name, req, _) in fixtures() {
        let mut out_a = vec![0u8; 140_000];
        let mut out_b = vec![0u8; 140_000];
        let oa = a.handle(Instant::ZERO, &req[..], &mut out_a[..]);
        let segs: Vec<&[u8]> = req.chunks(3).collect();
        let ob = b.handle(Instant::ZERO, &SgList::new(&segs), &mut out_b[..]);
        assert_eq!(oa, ob, "{name}");
        if let Outcome::Reply(n) = oa {
            assert_eq!(out_a[..n], out_b[..n], "{name}");
        }
    }
}
