//! [`RequestBuilder`]: writes FUSE requests (as a kernel would send them)
//! into a caller's buffer, for tests, examples and embedders' self-checks.
//!
//! No allocation: the request is built in place in a `&mut [u8]`; the length
//! field of `fuse_in_header` (fuse.h) is filled in by
//! [`finish`](RequestBuilder::finish). A buffer too small makes `finish`
//! fail with `ERANGE`, never a panic.
//!
//! ```
//! use arcbox_fs::abi::{EntryOut, InitFlags, OutHeader};
//! use arcbox_fs::builder::RequestBuilder;
//! use arcbox_fs::memfs::MemFs;
//! use arcbox_fs::zerocopy::FromBytes;
//! use arcbox_fs::{FuseDispatcher, Instant, Outcome};
//!
//! let dispatcher = FuseDispatcher::new(MemFs::new());
//! let mut req = [0u8; 256];
//! let mut reply = [0u8; 4096];
//!
//! // INIT: the kernel offers protocol 7.41 and a few capabilities.
//! let init = RequestBuilder::init(&mut req, 1, 41, InitFlags::ASYNC_READ | InitFlags::INIT_EXT)?;
//! let Outcome::Reply(n) = dispatcher.handle(Instant::ZERO, init, &mut reply[..]) else {
//!     panic!("INIT takes a reply");
//! };
//! let (header, _) = OutHeader::read_from_prefix(&reply[..n]).unwrap();
//! assert_eq!((header.unique, header.error), (1, 0));
//! assert_eq!(dispatcher.negotiated_minor(), Some(41));
//!
//! // LOOKUP of a missing name in the root (nodeid 1): ENOENT (or a negative entry).
//! let lookup = RequestBuilder::lookup(&mut req, 2, 1, b"missing")?;
//! let Outcome::Reply(n) = dispatcher.handle(Instant::ZERO, lookup, &mut reply[..]) else {
//!     panic!("LOOKUP takes a reply");
//! };
//! let (header, body) = OutHeader::read_from_prefix(&reply[..n]).unwrap();
//! assert_eq!(header.unique, 2);
//! if header.error == 0 {
//!     assert_eq!(EntryOut::read_from_bytes(body).unwrap().nodeid, 0);
//! } else {
//!     assert_eq!(-header.error, arcbox_fs::Errno::ENOENT.raw());
//! }
//! assert_eq!(dispatcher.stats().op(arcbox_fs::abi::Opcode::LOOKUP as u32).count, 1);
//! # Ok::<(), arcbox_fs::Errno>(())
//! ```

use crate::abi::{InHeader, InitFlags, InitIn, KERNEL_VERSION, Opcode};
use crate::errno::Errno;
use core::mem::offset_of;
use zerocopy::{Immutable, IntoBytes};

/// Builds one request in a caller's buffer; see the module docs.
#[derive(Debug)]
pub struct RequestBuilder<'a> {
    buf: &'a mut [u8],
    len: usize,
    overflow: bool,
}

impl<'a> RequestBuilder<'a> {
    /// Starts a request `opcode` with id `unique` about node `nodeid`, from
    /// uid 0, gid 0, pid 0 (see [`caller`](Self::caller)).
    pub fn new(buf: &'a mut [u8], opcode: Opcode, unique: u64, nodeid: u64) -> Self {
        let header = InHeader {
            len: 0,
            opcode: opcode as u32,
            unique,
            nodeid,
            uid: 0,
            gid: 0,
            pid: 0,
            total_extlen: 0,
            padding: 0,
        };
        RequestBuilder {
            buf,
            len: 0,
            overflow: false,
        }
        .arg(&header)
    }

    /// Sets the caller's uid, gid and pid in the header.
    pub fn caller(mut self, uid: u32, gid: u32, pid: u32) -> Self {
        self.put_u32(offset_of!(InHeader, uid), uid);
        self.put_u32(offset_of!(InHeader, gid), gid);
        self.put_u32(offset_of!(InHeader, pid), pid);
        self
    }

    /// Overwrites a header field (native byte order, as fuse.h's structs;
    /// the buffer may be unaligned).
    fn put_u32(&mut self, off: usize, v: u32) {
        match self.buf.get_mut(off..off + 4) {
            Some(dst) if !self.overflow => dst.copy_from_slice(&v.to_ne_bytes()),
            _ => self.overflow = true,
        }
    }

    /// Appends raw argument bytes.
    pub fn bytes(mut self, b: &[u8]) -> Self {
        let end = self.len.checked_add(b.len());
        match end.and_then(|e| self.buf.get_mut(self.len..e)) {
            Some(dst) if !self.overflow => {
                dst.copy_from_slice(b);
                self.len += b.len();
            }
            _ => self.overflow = true,
        }
        self
    }

    /// Appends a fixed argument struct (e.g. [`crate::abi::ReadIn`]).
    pub fn arg<T: IntoBytes + Immutable>(self, v: &T) -> Self {
        self.bytes(v.as_bytes())
    }

    /// Appends a NUL-terminated name.
    pub fn name(self, name: &[u8]) -> Self {
        self.bytes(name).bytes(&[0])
    }

    /// Fills in the header's length and returns the request bytes; `ERANGE`
    /// if the buffer was too small.
    pub fn finish(mut self) -> Result<&'a [u8], Errno> {
        let len = u32::try_from(self.len).map_err(|_| Errno::ERANGE)?;
        self.put_u32(offset_of!(InHeader, len), len);
        if self.overflow {
            return Err(Errno::ERANGE);
        }
        let RequestBuilder { buf, len, .. } = self;
        Ok(&buf[..len])
    }

    /// An INIT request offering protocol 7.`minor` and `flags` (the full
    /// 64-byte `fuse_init_in` from 7.36, the 16-byte one before).
    pub fn init(
        buf: &'a mut [u8],
        unique: u64,
        minor: u32,
        flags: InitFlags,
    ) -> Result<&'a [u8], Errno> {
        let (lo, hi) = flags.split();
        let arg = InitIn {
            major: KERNEL_VERSION,
            minor,
            max_readahead: 1 << 17,
            flags: lo,
            flags2: hi,
            unused: [0; 11],
        };
        let body = arg.as_bytes();
        let body = if minor >= 36 { body } else { &body[..16] };
        RequestBuilder::new(buf, Opcode::INIT, unique, 0)
            .bytes(body)
            .finish()
    }

    /// A LOOKUP of `name` in directory `parent`.
    pub fn lookup(
        buf: &'a mut [u8],
        unique: u64,
        parent: u64,
        name: &[u8],
    ) -> Result<&'a [u8], Errno> {
        RequestBuilder::new(buf, Opcode::LOOKUP, unique, parent)
            .name(name)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::abi::ReadIn;
    use zerocopy::FromBytes;

    #[test]
    fn header_and_args() {
        let mut buf = [0u8; 128];
        let read = ReadIn {
            fh: 7,
            offset: 4096,
            size: 512,
            ..Default::default()
        };
        let r = RequestBuilder::new(&mut buf, Opcode::READ, 9, 5)
            .caller(1000, 100, 42)
            .arg(&read)
            .finish();
        let r = r.ok().unwrap_or_default();
        assert_eq!(r.len(), size_of::<InHeader>() + size_of::<ReadIn>());
        let (h, rest) = InHeader::read_from_prefix(r).ok().unwrap_or_default();
        assert_eq!(h.len as usize, r.len());
        assert_eq!((h.opcode, h.unique, h.nodeid), (Opcode::READ as u32, 9, 5));
        assert_eq!((h.uid, h.gid, h.pid), (1000, 100, 42));
        assert_eq!(ReadIn::read_from_bytes(rest).ok(), Some(read));
    }

    #[test]
    fn too_small_is_erange() {
        let mut buf = [0u8; 45];
        assert_eq!(
            RequestBuilder::lookup(&mut buf, 1, 1, b"abcdef"),
            Err(Errno::ERANGE)
        );
        let mut tiny = [0u8; 8];
        assert_eq!(
            RequestBuilder::new(&mut tiny, Opcode::GETATTR, 1, 1)
                .caller(1, 1, 1)
                .finish(),
            Err(Errno::ERANGE)
        );
        let mut buf = [0u8; 46];
        assert_eq!(
            RequestBuilder::lookup(&mut buf, 1, 1, b"abcde").map(<[u8]>::len),
            Ok(46)
        );
    }

    #[test]
    fn init_layouts() {
        let mut buf = [0u8; 128];
        assert_eq!(
            RequestBuilder::init(&mut buf, 1, 41, InitFlags::empty()).map(<[u8]>::len),
            Ok(40 + 64)
        );
        assert_eq!(
            RequestBuilder::init(&mut buf, 1, 31, InitFlags::empty()).map(<[u8]>::len),
            Ok(40 + 16)
        );
    }
}
