//! FUSE_MAX_PAGES lets a guest send 1 MiB READs and WRITEs (issue 10 item 4),
//! and such a request is served without a copy: over
//! `PassthroughFs<LinuxHost>`, the payload of a 1 MiB WRITE reaches the host
//! only through the zero-copy batches (`pwritev` of the transport's own
//! buffers), and a 1 MiB READ reply is filled only through them (`preadv`
//! into the transport's buffers); the byte-copying `read_at` / `write_at`
//! see only headers and fixed arguments.
#![allow(clippy::unwrap_used, missing_docs)]

use arcbox_fs::abi::*;
use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
use arcbox_fs::{
    Errno, FuseDispatcher, Instant, IoBuf, IoBufMut, Outcome, ReplySink, RequestSource,
};
use arcbox_fs_linux::LinuxHost;
use arcbox_fs_tests::fuse::{IN_HDR, Session, init_body, on_big_stack, raw, run};
use std::cell::Cell;
use zerocopy::{FromBytes, IntoBytes};

const MIB: usize = 1 << 20;

/// A request that counts the bytes copied out (`read_at`) and the bytes
/// lent in place (`with_slices`).
struct CountingSource<'a> {
    bytes: &'a [u8],
    copied: Cell<usize>,
    lent: Cell<usize>,
}

impl RequestSource for CountingSource<'_> {
    fn len(&self) -> usize {
        self.bytes.len()
    }
    fn read_at(&self, off: usize, buf: &mut [u8]) -> Result<(), Errno> {
        self.copied.set(self.copied.get() + buf.len());
        self.bytes.read_at(off, buf)
    }
    fn with_slices(
        &self,
        off: usize,
        len: usize,
        f: &mut dyn FnMut(&[IoBuf<'_>]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        let n = self.bytes.with_slices(off, len, f)?;
        self.lent.set(self.lent.get() + n);
        Ok(n)
    }
}

/// A reply buffer that counts the bytes copied in and the bytes filled in place.
struct CountingSink {
    bytes: Vec<u8>,
    copied: usize,
    lent: usize,
}

impl ReplySink for CountingSink {
    fn capacity(&self) -> usize {
        self.bytes.len()
    }
    fn write_at(&mut self, off: usize, bytes: &[u8]) -> Result<(), Errno> {
        self.copied += bytes.len();
        self.bytes[..].write_at(off, bytes)
    }
    fn with_slices_mut(
        &mut self,
        off: usize,
        len: usize,
        f: &mut dyn FnMut(&mut [IoBufMut<'_>]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        let n = self.bytes[..].with_slices_mut(off, len, f)?;
        self.lent += n;
        Ok(n)
    }
}

#[test]
fn one_mib_requests_are_negotiated_and_served_without_a_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let d = FuseDispatcher::new(on_big_stack(move || {
        PassthroughFs::new(LinuxHost::new(&path).unwrap(), PassthroughConfig::default()).unwrap()
    }));
    // INIT offering FUSE_MAX_PAGES: 256 pages (1 MiB) per request.
    let init = raw(
        Opcode::INIT as u32,
        1,
        0,
        0,
        0,
        &[&init_body(41, InitFlags::all() - InitFlags::INIT_RESERVED)],
    );
    let r = run(&d, Instant::ZERO, &init, 4096).unwrap();
    let io: InitOut = r.parse().unwrap();
    assert!(
        InitFlags::from_bits_retain(u64::from(io.flags) | (u64::from(io.flags2) << 32))
            .contains(InitFlags::MAX_PAGES)
    );
    assert_eq!((io.max_pages, io.max_write), (MAX_MAX_PAGES, MIB as u32));
    let mut s = Session {
        d,
        unique: 10,
        uid: 0,
        gid: 0,
        now: Instant::ZERO,
        umask: 0,
    };

    let (e, o) = s.create(ROOT_ID, b"big", 2, mode::S_IFREG | 0o644).unwrap();
    let data: Vec<u8> = (0..MIB).map(|i| (i * 7 % 251) as u8).collect();

    // WRITE of 1 MiB.
    let arg = WriteIn {
        fh: o.fh,
        offset: 0,
        size: MIB as u32,
        ..WriteIn::default()
    };
    let req = raw(
        Opcode::WRITE as u32,
        1000,
        e.nodeid,
        0,
        0,
        &[arg.as_bytes(), &data],
    );
    let src = CountingSource {
        bytes: &req,
        copied: Cell::new(0),
        lent: Cell::new(0),
    };
    let mut out = CountingSink {
        bytes: vec![0; 4096],
        copied: 0,
        lent: 0,
    };
    let Outcome::Reply(n) = s.d.handle(Instant::ZERO, &src, &mut out) else {
        panic!("WRITE takes a reply")
    };
    let (h, rest) = OutHeader::read_from_prefix(&out.bytes[..n]).unwrap();
    assert_eq!(h.error, 0);
    assert_eq!(WriteOut::read_from_prefix(rest).unwrap().0.size, MIB as u32);
    assert_eq!(src.lent.get(), MIB, "the payload goes to pwritev in place");
    assert!(
        src.copied.get() <= IN_HDR + size_of::<WriteIn>(),
        "only the header and WriteIn are copied, not {} bytes",
        src.copied.get()
    );
    assert_eq!(std::fs::read(dir.path().join("big")).unwrap(), data);

    // READ of 1 MiB.
    let arg = ReadIn {
        fh: o.fh,
        offset: 0,
        size: MIB as u32,
        ..ReadIn::default()
    };
    let req = raw(Opcode::READ as u32, 1001, e.nodeid, 0, 0, &[arg.as_bytes()]);
    let mut out = CountingSink {
        bytes: vec![0; MIB + 4096],
        copied: 0,
        lent: 0,
    };
    let Outcome::Reply(n) = s.d.handle(Instant::ZERO, &req[..], &mut out) else {
        panic!("READ takes a reply")
    };
    assert_eq!(n, size_of::<OutHeader>() + MIB);
    assert_eq!(out.lent, MIB, "the data is read by preadv in place");
    assert_eq!(
        out.copied,
        size_of::<OutHeader>(),
        "only the header is copied"
    );
    assert_eq!(&out.bytes[size_of::<OutHeader>()..n], &data[..]);
}
