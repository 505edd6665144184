//! Raw FUSE requests for driving a [`FuseDispatcher`] in-process: a byte
//! builder for every opcode, a reply decoder that checks the framing, and a
//! [`Session`] with one typed method per opcode.
//!
//! Shared by the tests crate and by `core/tests/passthrough_memhost.rs`
//! (which includes this file with `#[path]`), so it depends only on
//! `arcbox_fs` and `zerocopy`.
#![allow(dead_code)] // each including crate uses part of it

use arcbox_fs::abi::*;
use arcbox_fs::{Errno, FileSystem, FuseDispatcher, Instant, Outcome};
use std::vec::Vec;
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// Size of `fuse_in_header`.
pub const IN_HDR: usize = 40;
/// Size of `fuse_out_header`.
pub const OUT_HDR: usize = 16;
/// Default reply buffer: a 1 MiB READ plus headers.
pub const REPLY_CAP: usize = (1 << 20) + 4096;

/// A raw request: a header for `opcode` on `nodeid`, then `args` concatenated.
pub fn raw(opcode: u32, unique: u64, nodeid: u64, uid: u32, gid: u32, args: &[&[u8]]) -> Vec<u8> {
    let body: usize = args.iter().map(|a| a.len()).sum();
    let header = InHeader {
        len: (IN_HDR + body) as u32,
        opcode,
        unique,
        nodeid,
        uid,
        gid,
        pid: 4242,
        total_extlen: 0,
        padding: 0,
    };
    let mut v = Vec::with_capacity(IN_HDR + body);
    v.extend_from_slice(header.as_bytes());
    for a in args {
        v.extend_from_slice(a);
    }
    v
}

/// `s` followed by a NUL.
pub fn cstr(s: &[u8]) -> Vec<u8> {
    let mut v = s.to_vec();
    v.push(0);
    v
}

/// A full (7.36+) INIT body offering `flags`.
pub fn init_body(minor: u32, flags: InitFlags) -> Vec<u8> {
    let (lo, hi) = flags.split();
    InitIn {
        major: KERNEL_VERSION,
        minor,
        max_readahead: 1 << 17,
        flags: lo,
        flags2: hi,
        unused: [0; 11],
    }
    .as_bytes()
    .to_vec()
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
    /// `Ok(body)` for a success, `Err(errno)` for an error reply.
    pub fn result(&self) -> Result<&[u8], Errno> {
        if self.header.error == 0 {
            Ok(&self.body)
        } else {
            Err(Errno::from_raw(-self.header.error))
        }
    }

    /// The body read as `T` (exact size; another size is `EPROTO`).
    pub fn parse<T: FromBytes>(&self) -> Result<T, Errno> {
        T::read_from_bytes(self.result()?).map_err(|_| Errno::EPROTO)
    }
}

/// Runs one request at `now` with a reply buffer of `cap` bytes, checking
/// the reply framing (length, unique echoed, error replies carry no body).
pub fn run<F: FileSystem>(
    d: &FuseDispatcher<F>,
    now: Instant,
    req: &[u8],
    cap: usize,
) -> Option<Reply> {
    let mut out = std::vec![0u8; cap];
    match d.handle(now, req, &mut out[..]) {
        Outcome::Reply(n) => {
            assert!(n >= OUT_HDR && n <= cap, "reply of {n} bytes in {cap}");
            let header = match OutHeader::read_from_prefix(&out[..]) {
                Ok((h, _)) => h,
                Err(_) => panic!("reply shorter than a header"),
            };
            assert_eq!(header.len as usize, n, "header len vs bytes written");
            if let Ok((ih, _)) = InHeader::read_from_prefix(req) {
                assert_eq!(header.unique, ih.unique, "unique echoed");
            }
            if header.error != 0 {
                assert_eq!(n, OUT_HDR, "error replies carry no body");
                assert!(
                    header.error < 0 && header.error > -4096,
                    "error {}",
                    header.error
                );
            }
            Some(Reply {
                header,
                body: out[OUT_HDR..n].to_vec(),
            })
        }
        Outcome::NoReply => None,
        Outcome::Dropped(e) => panic!("request dropped: {e:?}"),
    }
}

/// One READDIR entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEnt {
    /// Inode number.
    pub ino: u64,
    /// Cookie of the next entry.
    pub off: u64,
    /// `DT_*` type.
    pub typ: u32,
    /// Name.
    pub name: Vec<u8>,
    /// The LOOKUP reply of a READDIRPLUS entry (nodeid 0 for none).
    pub entry: Option<EntryOut>,
}

/// Decodes a READDIR (`plus == false`) or READDIRPLUS body.
pub fn parse_dirents(mut b: &[u8], plus: bool) -> Result<Vec<DirEnt>, Errno> {
    let mut v = Vec::new();
    while !b.is_empty() {
        let entry = if plus {
            let (e, rest) = EntryOut::read_from_prefix(b).map_err(|_| Errno::EPROTO)?;
            b = rest;
            Some(e)
        } else {
            None
        };
        let (d, rest) = Dirent::read_from_prefix(b).map_err(|_| Errno::EPROTO)?;
        let nl = d.namelen as usize;
        let name = rest.get(..nl).ok_or(Errno::EPROTO)?.to_vec();
        let rec = dirent_align(24 + nl) - 24;
        b = rest.get(rec..).ok_or(Errno::EPROTO)?;
        v.push(DirEnt {
            ino: d.ino,
            off: d.off,
            typ: d.typ,
            name,
            entry,
        });
    }
    Ok(v)
}

/// A dispatcher over a filesystem, with one typed method per opcode. Each
/// returns the decoded reply or the error the server answered.
pub struct Session<F: FileSystem> {
    /// The dispatcher.
    pub d: FuseDispatcher<F>,
    /// Last `unique` used.
    pub unique: u64,
    /// Caller uid.
    pub uid: u32,
    /// Caller gid.
    pub gid: u32,
    /// The time passed to `handle`.
    pub now: Instant,
    /// The umask sent with MKNOD, MKDIR, CREATE and TMPFILE (the kernel
    /// sends the caller's with `FUSE_DONT_MASK`).
    pub umask: u32,
}

type R<T> = Result<T, Errno>;

fn bytes<T: IntoBytes + Immutable>(v: &T) -> &[u8] {
    v.as_bytes()
}

impl<F: FileSystem> Session<F> {
    /// A session over `fs` after a 7.41 INIT offering every capability.
    pub fn new(fs: F) -> Self {
        Self::with_flags(fs, InitFlags::all() - InitFlags::INIT_RESERVED)
    }

    /// A session over `fs` after a 7.41 INIT offering `flags`.
    pub fn with_flags(fs: F, flags: InitFlags) -> Self {
        let mut s = Session {
            d: FuseDispatcher::new(fs),
            unique: 0,
            uid: 0,
            gid: 0,
            now: Instant::ZERO,
            umask: 0,
        };
        let out = s.init(41, flags);
        assert!(out.is_ok(), "INIT failed: {out:?}");
        s
    }

    /// The filesystem.
    pub fn fs(&self) -> &F {
        self.d.fs()
    }

    /// Sends raw `opcode` on `nodeid` with `args`; `None` when there is no reply.
    pub fn call(&mut self, opcode: u32, nodeid: u64, args: &[&[u8]]) -> Option<Reply> {
        self.call_cap(opcode, nodeid, args, REPLY_CAP)
    }

    /// As [`call`](Self::call) with a reply buffer of `cap` bytes.
    pub fn call_cap(
        &mut self,
        opcode: u32,
        nodeid: u64,
        args: &[&[u8]],
        cap: usize,
    ) -> Option<Reply> {
        self.unique += 1;
        let req = raw(opcode, self.unique, nodeid, self.uid, self.gid, args);
        run(&self.d, self.now, &req, cap)
    }

    /// Sends `op`, which must be answered.
    pub fn req(&mut self, op: Opcode, nodeid: u64, args: &[&[u8]]) -> Reply {
        match self.call(op as u32, nodeid, args) {
            Some(r) => r,
            None => panic!("{op:?} got no reply"),
        }
    }

    /// Sends `op` and expects an empty success body.
    fn empty(&mut self, op: Opcode, nodeid: u64, args: &[&[u8]]) -> R<()> {
        let r = self.req(op, nodeid, args);
        let body = r.result()?;
        if body.is_empty() {
            Ok(())
        } else {
            Err(Errno::EPROTO)
        }
    }

    /// INIT with protocol minor `minor`.
    pub fn init(&mut self, minor: u32, flags: InitFlags) -> R<InitOut> {
        let r = self.req(Opcode::INIT, 0, &[&init_body(minor, flags)]);
        r.parse()
    }

    /// DESTROY.
    pub fn destroy(&mut self) -> R<()> {
        self.empty(Opcode::DESTROY, 0, &[])
    }

    /// LOOKUP (`nodeid == 0` in the result: a negative entry).
    pub fn lookup(&mut self, parent: u64, name: &[u8]) -> R<EntryOut> {
        self.req(Opcode::LOOKUP, parent, &[&cstr(name)]).parse()
    }

    /// LOOKUP that must find something; a negative entry is `ENOENT`.
    pub fn lookup_found(&mut self, parent: u64, name: &[u8]) -> R<EntryOut> {
        let e = self.lookup(parent, name)?;
        if e.nodeid == 0 {
            Err(Errno::ENOENT)
        } else {
            Ok(e)
        }
    }

    /// FORGET (no reply expected; returns whether one came).
    pub fn forget(&mut self, node: u64, nlookup: u64) -> bool {
        self.call(Opcode::FORGET as u32, node, &[bytes(&ForgetIn { nlookup })])
            .is_some()
    }

    /// BATCH_FORGET of `(node, nlookup)` items (returns whether a reply came).
    pub fn batch_forget(&mut self, items: &[(u64, u64)]) -> bool {
        let head = BatchForgetIn {
            count: items.len() as u32,
            dummy: 0,
        };
        let mut body = head.as_bytes().to_vec();
        for &(nodeid, nlookup) in items {
            body.extend_from_slice(ForgetOne { nodeid, nlookup }.as_bytes());
        }
        self.call(Opcode::BATCH_FORGET as u32, 0, &[&body])
            .is_some()
    }

    /// GETATTR (through `fh` when given).
    pub fn getattr_fh(&mut self, node: u64, fh: Option<u64>) -> R<Attr> {
        let arg = GetattrIn {
            getattr_flags: u32::from(fh.is_some()),
            dummy: 0,
            fh: fh.unwrap_or(0),
        };
        let out: AttrOut = self.req(Opcode::GETATTR, node, &[bytes(&arg)]).parse()?;
        Ok(out.attr)
    }

    /// GETATTR.
    pub fn getattr(&mut self, node: u64) -> R<Attr> {
        self.getattr_fh(node, None)
    }

    /// SETATTR.
    pub fn setattr(&mut self, node: u64, arg: &SetattrIn) -> R<Attr> {
        let out: AttrOut = self.req(Opcode::SETATTR, node, &[bytes(arg)]).parse()?;
        Ok(out.attr)
    }

    /// READLINK.
    pub fn readlink(&mut self, node: u64) -> R<Vec<u8>> {
        Ok(self.req(Opcode::READLINK, node, &[]).result()?.to_vec())
    }

    /// SYMLINK `name` → `target`.
    pub fn symlink(&mut self, parent: u64, name: &[u8], target: &[u8]) -> R<EntryOut> {
        self.req(Opcode::SYMLINK, parent, &[&cstr(name), &cstr(target)])
            .parse()
    }

    /// MKNOD.
    pub fn mknod(&mut self, parent: u64, name: &[u8], mode: u32, rdev: u32) -> R<EntryOut> {
        let arg = MknodIn {
            mode,
            rdev,
            umask: self.umask,
            padding: 0,
        };
        self.req(Opcode::MKNOD, parent, &[bytes(&arg), &cstr(name)])
            .parse()
    }

    /// MKDIR.
    pub fn mkdir(&mut self, parent: u64, name: &[u8], mode: u32) -> R<EntryOut> {
        let arg = MkdirIn {
            mode,
            umask: self.umask,
        };
        self.req(Opcode::MKDIR, parent, &[bytes(&arg), &cstr(name)])
            .parse()
    }

    /// UNLINK.
    pub fn unlink(&mut self, parent: u64, name: &[u8]) -> R<()> {
        self.empty(Opcode::UNLINK, parent, &[&cstr(name)])
    }

    /// RMDIR.
    pub fn rmdir(&mut self, parent: u64, name: &[u8]) -> R<()> {
        self.empty(Opcode::RMDIR, parent, &[&cstr(name)])
    }

    /// RENAME.
    pub fn rename(&mut self, parent: u64, name: &[u8], newdir: u64, newname: &[u8]) -> R<()> {
        self.empty(
            Opcode::RENAME,
            parent,
            &[bytes(&RenameIn { newdir }), &cstr(name), &cstr(newname)],
        )
    }

    /// RENAME2 with `renameat2` flags.
    pub fn rename2(
        &mut self,
        parent: u64,
        name: &[u8],
        newdir: u64,
        newname: &[u8],
        flags: u32,
    ) -> R<()> {
        let arg = Rename2In {
            newdir,
            flags,
            padding: 0,
        };
        self.empty(
            Opcode::RENAME2,
            parent,
            &[bytes(&arg), &cstr(name), &cstr(newname)],
        )
    }

    /// LINK: `newname` in `newparent` for `node`.
    pub fn link(&mut self, node: u64, newparent: u64, newname: &[u8]) -> R<EntryOut> {
        self.req(
            Opcode::LINK,
            newparent,
            &[bytes(&LinkIn { oldnodeid: node }), &cstr(newname)],
        )
        .parse()
    }

    /// OPEN with Linux open flags.
    pub fn open(&mut self, node: u64, flags: u32) -> R<OpenOut> {
        self.req(
            Opcode::OPEN,
            node,
            &[bytes(&OpenIn {
                flags,
                open_flags: 0,
            })],
        )
        .parse()
    }

    /// READ.
    pub fn read(&mut self, node: u64, fh: u64, offset: u64, size: u32) -> R<Vec<u8>> {
        let arg = ReadIn {
            fh,
            offset,
            size,
            ..ReadIn::default()
        };
        Ok(self
            .req(Opcode::READ, node, &[bytes(&arg)])
            .result()?
            .to_vec())
    }

    /// WRITE with `write_flags`.
    pub fn write_flags(
        &mut self,
        node: u64,
        fh: u64,
        offset: u64,
        data: &[u8],
        write_flags: u32,
    ) -> R<u32> {
        let arg = WriteIn {
            fh,
            offset,
            size: data.len() as u32,
            write_flags,
            ..WriteIn::default()
        };
        let out: WriteOut = self
            .req(Opcode::WRITE, node, &[bytes(&arg), data])
            .parse()?;
        Ok(out.size)
    }

    /// WRITE.
    pub fn write(&mut self, node: u64, fh: u64, offset: u64, data: &[u8]) -> R<u32> {
        self.write_flags(node, fh, offset, data, 0)
    }

    /// STATFS.
    pub fn statfs(&mut self, node: u64) -> R<Kstatfs> {
        let out: StatfsOut = self.req(Opcode::STATFS, node, &[]).parse()?;
        Ok(out.st)
    }

    /// RELEASE.
    pub fn release(&mut self, node: u64, fh: u64) -> R<()> {
        self.empty(
            Opcode::RELEASE,
            node,
            &[bytes(&ReleaseIn {
                fh,
                ..ReleaseIn::default()
            })],
        )
    }

    /// FSYNC.
    pub fn fsync(&mut self, node: u64, fh: u64, datasync: bool) -> R<()> {
        self.empty(
            Opcode::FSYNC,
            node,
            &[bytes(&FsyncIn {
                fh,
                fsync_flags: u32::from(datasync),
                padding: 0,
            })],
        )
    }

    /// FLUSH.
    pub fn flush(&mut self, node: u64, fh: u64, lock_owner: u64) -> R<()> {
        self.empty(
            Opcode::FLUSH,
            node,
            &[bytes(&FlushIn {
                fh,
                unused: 0,
                padding: 0,
                lock_owner,
            })],
        )
    }

    /// SETXATTR (extended `fuse_setxattr_in`: SETXATTR_EXT is offered at INIT).
    pub fn setxattr(&mut self, node: u64, name: &[u8], value: &[u8], flags: u32) -> R<()> {
        let arg = SetxattrIn {
            size: value.len() as u32,
            flags,
            setxattr_flags: 0,
            padding: 0,
        };
        self.empty(Opcode::SETXATTR, node, &[bytes(&arg), &cstr(name), value])
    }

    /// GETXATTR with a `size`-byte buffer.
    pub fn getxattr(&mut self, node: u64, name: &[u8], size: u32) -> R<Vec<u8>> {
        let arg = GetxattrIn { size, padding: 0 };
        Ok(self
            .req(Opcode::GETXATTR, node, &[bytes(&arg), &cstr(name)])
            .result()?
            .to_vec())
    }

    /// GETXATTR size query (size 0).
    pub fn getxattr_size(&mut self, node: u64, name: &[u8]) -> R<u32> {
        let arg = GetxattrIn {
            size: 0,
            padding: 0,
        };
        let out: GetxattrOut = self
            .req(Opcode::GETXATTR, node, &[bytes(&arg), &cstr(name)])
            .parse()?;
        Ok(out.size)
    }

    /// LISTXATTR with a `size`-byte buffer (0: the size, as 4 LE bytes + padding).
    pub fn listxattr(&mut self, node: u64, size: u32) -> R<Vec<u8>> {
        Ok(self
            .req(
                Opcode::LISTXATTR,
                node,
                &[bytes(&GetxattrIn { size, padding: 0 })],
            )
            .result()?
            .to_vec())
    }

    /// REMOVEXATTR.
    pub fn removexattr(&mut self, node: u64, name: &[u8]) -> R<()> {
        self.empty(Opcode::REMOVEXATTR, node, &[&cstr(name)])
    }

    /// OPENDIR; returns the handle.
    pub fn opendir(&mut self, node: u64) -> R<u64> {
        Ok(self.opendir_out(node)?.fh)
    }

    /// OPENDIR, the whole reply (handle and `FOPEN_*` flags).
    pub fn opendir_out(&mut self, node: u64) -> R<OpenOut> {
        self.req(Opcode::OPENDIR, node, &[bytes(&OpenIn::default())])
            .parse()
    }

    /// READDIR (`plus`: READDIRPLUS) from cookie `offset` into `size` bytes.
    pub fn readdir(
        &mut self,
        node: u64,
        fh: u64,
        offset: u64,
        size: u32,
        plus: bool,
    ) -> R<Vec<DirEnt>> {
        let arg = ReadIn {
            fh,
            offset,
            size,
            ..ReadIn::default()
        };
        let op = if plus {
            Opcode::READDIRPLUS
        } else {
            Opcode::READDIR
        };
        parse_dirents(self.req(op, node, &[bytes(&arg)]).result()?, plus)
    }

    /// RELEASEDIR.
    pub fn releasedir(&mut self, node: u64, fh: u64) -> R<()> {
        self.empty(
            Opcode::RELEASEDIR,
            node,
            &[bytes(&ReleaseIn {
                fh,
                ..ReleaseIn::default()
            })],
        )
    }

    /// FSYNCDIR.
    pub fn fsyncdir(&mut self, node: u64, fh: u64) -> R<()> {
        self.empty(
            Opcode::FSYNCDIR,
            node,
            &[bytes(&FsyncIn {
                fh,
                fsync_flags: 0,
                padding: 0,
            })],
        )
    }

    /// GETLK.
    pub fn getlk(&mut self, node: u64, fh: u64, owner: u64, lk: FileLock) -> R<FileLock> {
        let arg = LkIn {
            fh,
            owner,
            lk,
            lk_flags: 0,
            padding: 0,
        };
        let out: LkOut = self.req(Opcode::GETLK, node, &[bytes(&arg)]).parse()?;
        Ok(out.lk)
    }

    /// SETLK / SETLKW (`sleep`), a flock with `flock`.
    pub fn setlk(
        &mut self,
        node: u64,
        fh: u64,
        owner: u64,
        lk: FileLock,
        flock: bool,
        sleep: bool,
    ) -> R<()> {
        let arg = LkIn {
            fh,
            owner,
            lk,
            lk_flags: u32::from(flock),
            padding: 0,
        };
        self.empty(
            if sleep { Opcode::SETLKW } else { Opcode::SETLK },
            node,
            &[bytes(&arg)],
        )
    }

    /// ACCESS.
    pub fn access(&mut self, node: u64, mask: u32) -> R<()> {
        self.empty(
            Opcode::ACCESS,
            node,
            &[bytes(&AccessIn { mask, padding: 0 })],
        )
    }

    /// CREATE with Linux open flags and `mode` (type bits included).
    pub fn create(
        &mut self,
        parent: u64,
        name: &[u8],
        flags: u32,
        mode: u32,
    ) -> R<(EntryOut, OpenOut)> {
        let arg = CreateIn {
            flags,
            mode,
            umask: self.umask,
            open_flags: 0,
        };
        let r = self.req(Opcode::CREATE, parent, &[bytes(&arg), &cstr(name)]);
        let b = r.result()?;
        let (e, rest) = EntryOut::read_from_prefix(b).map_err(|_| Errno::EPROTO)?;
        let o = OpenOut::read_from_bytes(rest).map_err(|_| Errno::EPROTO)?;
        Ok((e, o))
    }

    /// INTERRUPT of request `unique` (returns whether a reply came).
    pub fn interrupt(&mut self, unique: u64) -> bool {
        self.call(
            Opcode::INTERRUPT as u32,
            0,
            &[bytes(&InterruptIn { unique })],
        )
        .is_some()
    }

    /// FALLOCATE.
    pub fn fallocate(&mut self, node: u64, fh: u64, offset: u64, length: u64, mode: u32) -> R<()> {
        self.empty(
            Opcode::FALLOCATE,
            node,
            &[bytes(&FallocateIn {
                fh,
                offset,
                length,
                mode,
                padding: 0,
            })],
        )
    }

    /// LSEEK.
    pub fn lseek(&mut self, node: u64, fh: u64, offset: u64, whence: u32) -> R<u64> {
        let out: LseekOut = self
            .req(
                Opcode::LSEEK,
                node,
                &[bytes(&LseekIn {
                    fh,
                    offset,
                    whence,
                    padding: 0,
                })],
            )
            .parse()?;
        Ok(out.offset)
    }

    /// COPY_FILE_RANGE; returns the bytes copied.
    pub fn copy_file_range(
        &mut self,
        node: u64,
        fh_in: u64,
        off_in: u64,
        nodeid_out: u64,
        fh_out: u64,
        off_out: u64,
        len: u64,
    ) -> R<u32> {
        let arg = CopyFileRangeIn {
            fh_in,
            off_in,
            nodeid_out,
            fh_out,
            off_out,
            len,
            flags: 0,
        };
        let out: WriteOut = self
            .req(Opcode::COPY_FILE_RANGE, node, &[bytes(&arg)])
            .parse()?;
        Ok(out.size)
    }

    /// SYNCFS.
    pub fn syncfs(&mut self, node: u64) -> R<()> {
        self.empty(Opcode::SYNCFS, node, &[bytes(&SyncfsIn { padding: 0 })])
    }

    /// TMPFILE in `parent`.
    pub fn tmpfile(&mut self, parent: u64, flags: u32, mode: u32) -> R<(EntryOut, OpenOut)> {
        let arg = CreateIn {
            flags,
            mode,
            umask: self.umask,
            open_flags: 0,
        };
        let r = self.req(Opcode::TMPFILE, parent, &[bytes(&arg)]);
        let b = r.result()?;
        let (e, rest) = EntryOut::read_from_prefix(b).map_err(|_| Errno::EPROTO)?;
        let o = OpenOut::read_from_bytes(rest).map_err(|_| Errno::EPROTO)?;
        Ok((e, o))
    }

    /// STATX.
    pub fn statx(&mut self, node: u64) -> R<Statx> {
        let arg = StatxIn {
            getattr_flags: 0,
            reserved: 0,
            fh: 0,
            sx_flags: 0,
            sx_mask: 0xfff,
        };
        let out: StatxOut = self.req(Opcode::STATX, node, &[bytes(&arg)]).parse()?;
        Ok(out.stat)
    }
}

/// Runs `f` on a thread with a 64 MiB stack and returns its result.
///
/// `PassthroughFs::new` builds its negative cache (~400 KiB) on the stack
/// before boxing it, which overflows a 2 MiB test thread in debug builds;
/// tests construct it through this until that is fixed.
pub fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(f)
        .map(|h| h.join())
    {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(e) => panic!("cannot spawn a thread: {e}"),
    }
}
