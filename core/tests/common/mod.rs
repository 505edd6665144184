//! Shared helpers for the integration tests: raw little-endian request
//! builders and a session driving a [`FuseDispatcher`] over byte buffers.
#![allow(dead_code, clippy::unwrap_used)]

use arcbox_fs::abi::{InHeader, InitFlags, InitIn, Opcode, OutHeader};
use arcbox_fs::memfs::MemFs;
use arcbox_fs::{Errno, FileSystem, FuseDispatcher, Instant, Outcome};
use zerocopy::{FromBytes, IntoBytes};

/// Size of `fuse_in_header`.
pub const IN_HDR: usize = 40;
/// Size of `fuse_out_header`.
pub const OUT_HDR: usize = 16;

/// Every capability a 7.41 kernel may offer.
pub fn all_flags() -> InitFlags {
    InitFlags::all() - InitFlags::INIT_RESERVED
}

/// A raw request: header fields then the argument byte strings, concatenated.
pub fn raw(opcode: u32, unique: u64, nodeid: u64, uid: u32, gid: u32, args: &[&[u8]]) -> Vec<u8> {
    let body: usize = args.iter().map(|a| a.len()).sum();
    let mut v = Vec::with_capacity(IN_HDR + body);
    v.extend_from_slice(&((IN_HDR + body) as u32).to_le_bytes());
    v.extend_from_slice(&opcode.to_le_bytes());
    v.extend_from_slice(&unique.to_le_bytes());
    v.extend_from_slice(&nodeid.to_le_bytes());
    v.extend_from_slice(&uid.to_le_bytes());
    v.extend_from_slice(&gid.to_le_bytes());
    v.extend_from_slice(&4242u32.to_le_bytes()); // pid
    v.extend_from_slice(&0u16.to_le_bytes()); // total_extlen
    v.extend_from_slice(&0u16.to_le_bytes()); // padding
    for a in args {
        v.extend_from_slice(a);
    }
    v
}

/// A NUL-terminated name.
pub fn cstr(s: &[u8]) -> Vec<u8> {
    let mut v = s.to_vec();
    v.push(0);
    v
}

/// An INIT body of the pre-7.36 (16-byte) or full (64-byte) layout.
pub fn init_body(major: u32, minor: u32, flags: InitFlags) -> Vec<u8> {
    let (lo, hi) = flags.split();
    let arg = InitIn {
        major,
        minor,
        max_readahead: 1 << 17,
        flags: lo,
        flags2: hi,
        unused: [0; 11],
    };
    if minor >= 36 {
        arg.as_bytes().to_vec()
    } else {
        arg.as_bytes()[..16].to_vec()
    }
}

/// A decoded reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The header.
    pub header: OutHeader,
    /// The bytes after the header.
    pub body: Vec<u8>,
}

impl Reply {
    /// The errno of a failed reply, `None` on success.
    pub fn errno(&self) -> Option<Errno> {
        (self.header.error != 0).then(|| Errno::from_raw(-self.header.error))
    }

    /// The body of a successful reply; panics on an error reply.
    pub fn ok(&self) -> &[u8] {
        assert_eq!(self.header.error, 0, "unexpected error {:?}", self.errno());
        &self.body
    }

    /// The body read as `T` (exact size); panics on an error reply.
    pub fn parse<T: FromBytes>(&self) -> T {
        T::read_from_bytes(self.ok())
            .unwrap_or_else(|_| panic!("body of {} bytes", self.body.len()))
    }
}

/// Runs one request; checks the reply framing (len == bytes written, unique echoed).
pub fn run<F: FileSystem>(d: &FuseDispatcher<F>, req: &[u8], cap: usize) -> Option<Reply> {
    let mut out = vec![0u8; cap];
    match d.handle(Instant::ZERO, req, &mut out[..]) {
        Outcome::Reply(n) => {
            assert!(n >= OUT_HDR && n <= cap, "reply of {n} bytes in {cap}");
            let (h, _) = OutHeader::read_from_prefix(&out[..]).unwrap();
            assert_eq!(h.len as usize, n, "header len vs bytes written");
            if req.len() >= IN_HDR {
                let (ih, _) = InHeader::read_from_prefix(req).unwrap();
                assert_eq!(h.unique, ih.unique);
            }
            if h.error != 0 {
                assert_eq!(n, OUT_HDR, "error replies carry no body");
                assert!(h.error < 0 && h.error > -4096, "error {}", h.error);
            }
            Some(Reply {
                header: h,
                body: out[OUT_HDR..n].to_vec(),
            })
        }
        Outcome::NoReply => None,
        Outcome::Dropped(e) => panic!("dropped: {e:?}"),
    }
}

/// A dispatcher over a fresh [`MemFs`] with request helpers.
pub struct Session<F: FileSystem = MemFs> {
    /// The dispatcher.
    pub d: FuseDispatcher<F>,
    /// Next `unique`.
    pub unique: u64,
    /// Caller uid.
    pub uid: u32,
    /// Caller gid.
    pub gid: u32,
}

impl Session<MemFs> {
    /// A session over a fresh `MemFs`, after a 7.41 INIT offering everything.
    pub fn new() -> Self {
        Self::with_fs(MemFs::new())
    }
}

impl<F: FileSystem> Session<F> {
    /// A session over `fs`, initialised.
    pub fn with_fs(fs: F) -> Self {
        let mut s = Session {
            d: FuseDispatcher::new(fs),
            unique: 1,
            uid: 0,
            gid: 0,
        };
        let r = s
            .call(Opcode::INIT, 0, &[&init_body(7, 41, all_flags())])
            .unwrap();
        r.ok();
        s
    }

    /// Sends `opcode` on `nodeid` with `args`; the reply (None for no-reply requests).
    pub fn call(&mut self, opcode: Opcode, nodeid: u64, args: &[&[u8]]) -> Option<Reply> {
        self.call_cap(opcode, nodeid, args, 1 << 20 | 4096)
    }

    /// As [`call`](Self::call) with a reply buffer of `cap` bytes.
    pub fn call_cap(
        &mut self,
        opcode: Opcode,
        nodeid: u64,
        args: &[&[u8]],
        cap: usize,
    ) -> Option<Reply> {
        self.unique += 1;
        let req = raw(opcode as u32, self.unique, nodeid, self.uid, self.gid, args);
        run(&self.d, &req, cap)
    }

    /// A call that must be answered.
    pub fn reply(&mut self, opcode: Opcode, nodeid: u64, args: &[&[u8]]) -> Reply {
        self.call(opcode, nodeid, args).expect("a reply")
    }

    /// The errno of a call that must fail.
    pub fn err(&mut self, opcode: Opcode, nodeid: u64, args: &[&[u8]]) -> Errno {
        let r = self.reply(opcode, nodeid, args);
        r.errno()
            .unwrap_or_else(|| panic!("{opcode:?} succeeded: {:?}", r.body))
    }
}
