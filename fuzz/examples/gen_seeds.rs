//! Writes the committed seed corpora: `cargo +nightly run --example gen_seeds`
//! from `fuzz/` rewrites `fuzz/seeds/<target>/`. Every seed is a valid
//! request (or sequence of requests) as a 7.41 kernel would send it.

use arcbox_fs::abi::{
    CreateIn, FileLock, FlushIn, FsyncIn, GetattrIn, LkIn, MkdirIn, OpenIn, ReadIn, ReleaseIn,
    RenameIn, SetxattrIn, WriteIn,
};
use arcbox_fs_fuzz::{IN_HDR, init_body, join, request};
use arcbox_fs_virtio::desc::{Descriptor, F_INDIRECT, F_NEXT, F_WRITE};
use std::path::Path;
use zerocopy::IntoBytes;

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// (name, opcode, nodeid, body) of one request of each common kind. Node 1
/// is the root; node 2 and handle 1 are what the first CREATE returns on a
/// fresh file system (so MKDIR comes after the file's requests).
fn requests() -> Vec<(&'static str, u32, u64, Vec<u8>)> {
    let write = WriteIn {
        fh: 1,
        offset: 0,
        size: 5,
        ..Default::default()
    };
    // 1 KiB: seeds are sent with a 4 KiB reply buffer, and a READ whose
    // reply cannot fit is refused.
    let read = ReadIn {
        fh: 1,
        offset: 0,
        size: 1024,
        ..Default::default()
    };
    let lk = LkIn {
        fh: 1,
        owner: 7,
        lk: FileLock {
            start: 0,
            end: u64::MAX,
            typ: 1, // F_WRLCK
            pid: 4242,
        },
        ..Default::default()
    };
    let setx = SetxattrIn {
        size: 3,
        ..Default::default()
    };
    vec![
        ("lookup", 1, 1, b"f\0".to_vec()),
        ("getattr", 3, 1, GetattrIn::default().as_bytes().to_vec()),
        (
            "create",
            35,
            1,
            cat(&[
                CreateIn {
                    flags: 0o102, // O_RDWR | O_CREAT
                    mode: 0o100644,
                    umask: 0o22,
                    open_flags: 0,
                }
                .as_bytes(),
                b"f\0",
            ]),
        ),
        ("write", 16, 2, cat(&[write.as_bytes(), b"hello"])),
        ("read", 15, 2, read.as_bytes().to_vec()),
        (
            "flush",
            25,
            2,
            FlushIn {
                fh: 1,
                ..Default::default()
            }
            .as_bytes()
            .to_vec(),
        ),
        (
            "fsync",
            20,
            2,
            FsyncIn {
                fh: 1,
                ..Default::default()
            }
            .as_bytes()
            .to_vec(),
        ),
        ("setlk", 32, 2, lk.as_bytes().to_vec()),
        ("getlk", 31, 2, lk.as_bytes().to_vec()),
        (
            "setxattr",
            21,
            2,
            cat(&[setx.as_bytes(), b"user.a\0", b"abc"]),
        ),
        ("getxattr", 22, 2, cat(&[&[0u8; 8][..], b"user.a\0"])),
        ("listxattr", 23, 2, [0u8; 8].to_vec()),
        (
            "open",
            14,
            2,
            OpenIn {
                flags: 2,
                open_flags: 0,
            }
            .as_bytes()
            .to_vec(),
        ),
        ("opendir", 27, 1, OpenIn::default().as_bytes().to_vec()),
        ("readdir", 28, 1, read.as_bytes().to_vec()),
        ("readdirplus", 44, 1, read.as_bytes().to_vec()),
        ("symlink", 6, 1, b"l\0f\0".to_vec()),
        ("readlink", 5, 3, Vec::new()),
        (
            "rename",
            12,
            1,
            cat(&[RenameIn { newdir: 1 }.as_bytes(), b"f\0g\0"]),
        ),
        ("link", 13, 1, cat(&[&2u64.to_le_bytes()[..], b"h\0"])),
        ("unlink", 10, 1, b"g\0".to_vec()),
        (
            "mkdir",
            9,
            1,
            cat(&[
                MkdirIn {
                    mode: 0o755,
                    umask: 0o22,
                }
                .as_bytes(),
                b"d\0",
            ]),
        ),
        ("rmdir", 11, 1, b"d\0".to_vec()),
        ("statfs", 17, 1, Vec::new()),
        ("access", 34, 1, [4u8, 0, 0, 0, 0, 0, 0, 0].to_vec()),
        ("forget", 2, 2, 1u64.to_le_bytes().to_vec()),
        (
            "batch_forget",
            42,
            0,
            cat(&[
                &1u32.to_le_bytes()[..],
                &[0; 4],
                &2u64.to_le_bytes(),
                &1u64.to_le_bytes(),
            ]),
        ),
        ("interrupt", 36, 0, 5u64.to_le_bytes().to_vec()),
        (
            "release",
            18,
            2,
            ReleaseIn {
                fh: 1,
                ..Default::default()
            }
            .as_bytes()
            .to_vec(),
        ),
        ("destroy", 38, 0, Vec::new()),
    ]
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    for t in ["dispatch_raw", "passthrough_seq", "virtio_queue"] {
        let d = root.join(t);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("seed dir");
    }
    let reqs = requests();

    // (a): reply-size selector 3 (4 KiB), then one request.
    let d = root.join("dispatch_raw");
    write(&d, "init", &cat(&[&[3], &request(26, 1, 0, &init_body())]));
    for (i, (name, op, node, body)) in reqs.iter().enumerate() {
        let r = request(*op, 2 + i as u64, *node, body);
        write(&d, name, &cat(&[&[3], &r]));
    }

    // (b): the whole session in order, and short scripts around a file.
    let d = root.join("passthrough_seq");
    let msgs = |names: &[&str]| -> Vec<u8> {
        let v: Vec<(u8, Vec<u8>)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let (_, op, node, body) = reqs.iter().find(|r| r.0 == *n).expect("seed name");
                (1 | (3 << 1), request(*op, 10 + i as u64, *node, body))
            })
            .collect();
        join(&v)
    };
    let all: Vec<&str> = reqs.iter().map(|r| r.0).collect();
    write(&d, "session", &msgs(&all));
    write(
        &d,
        "write_read",
        &msgs(&["create", "write", "read", "flush", "fsync", "release"]),
    );
    write(
        &d,
        "locks",
        &msgs(&["create", "setlk", "getlk", "setlk", "release"]),
    );
    write(
        &d,
        "xattr",
        &msgs(&["create", "setxattr", "getxattr", "listxattr", "release"]),
    );
    write(
        &d,
        "dirs",
        &msgs(&[
            "mkdir",
            "opendir",
            "readdir",
            "readdirplus",
            "rmdir",
            "statfs",
        ]),
    );
    write(
        &d,
        "names",
        &msgs(&[
            "create", "symlink", "readlink", "link", "rename", "unlink", "forget",
        ]),
    );

    // (c): a chain of [request | reply] in the table, or through an indirect
    // table, carrying INIT then LOOKUP.
    let d = root.join("virtio_queue");
    const BASE: u64 = 0x10_0000;
    let init = request(26, 1, 0, &init_body());
    let lookup = request(1, 2, 1, b"f\0");
    let chain = |features: u8, indirect: bool, payload: &[u8]| -> Vec<u8> {
        let mut v = vec![features];
        let mut table = [Descriptor::default(); 8];
        let mut ind = [Descriptor::default(); 4];
        let bufs = BASE + 0x8000;
        let extra = if features & 4 != 0 { init.len() } else { 0 };
        let readable = ((payload.len() + extra) as u32).max(IN_HDR as u32);
        let req = Descriptor {
            addr: bufs,
            len: readable,
            flags: F_NEXT,
            next: 1,
        };
        let rep = Descriptor {
            addr: bufs + 0x2000,
            len: 4096,
            flags: F_WRITE,
            next: 0,
        };
        if indirect {
            table[0] = Descriptor {
                addr: BASE + 0x4000,
                len: 32,
                flags: F_INDIRECT,
                next: 0,
            };
            ind[0] = req;
            ind[1] = rep;
        } else {
            table[0] = req;
            table[1] = rep;
        }
        // Addresses are folded modulo the memory size; store offsets.
        for d in table.iter_mut().chain(ind.iter_mut()) {
            if d.addr >= BASE {
                d.addr -= BASE;
            }
            v.extend_from_slice(&d.to_bytes());
        }
        for h in [0u16; 6] {
            v.extend_from_slice(&h.to_le_bytes());
        }
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(payload);
        v
    };
    write(&d, "direct_init", &chain(0, false, &init));
    write(&d, "indirect_init", &chain(1, true, &init));
    write(&d, "event_idx_init", &chain(3, true, &init));
    // Bit 2 puts an INIT before the payload: the chain's readable part then
    // starts with INIT, and LOOKUP follows in the same buffer.
    write(&d, "init_then_lookup", &chain(4, false, &lookup));
    println!("seeds written under {}", root.display());
}
