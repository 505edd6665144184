//! Checked, typed views of FUSE requests.
//!
//! [`Request::parse`] takes the request header and a copied prefix of the
//! body (the fixed argument struct and any names); bulk data (a WRITE payload,
//! a SETXATTR value, IOCTL input) is not copied: the view records where it is
//! in the request and its checked length. Parsing validates every length once;
//! after that no accessor can panic. A bad request is an `Errno`, never a
//! panic: truncated structs and missing NULs are `EINVAL`, over-long names
//! `ENAMETOOLONG`.

use crate::abi::*;
use crate::errno::Errno;
use crate::name::Name;
use zerocopy::FromBytes;

/// Size of `fuse_in_header`.
pub const IN_HEADER_LEN: usize = core::mem::size_of::<InHeader>();

/// The largest body prefix the dispatcher ever copies: a SYMLINK's name and
/// target (`NAME_MAX + 1 + PATH_MAX`), with room to spare.
pub const MAX_PREFIX: usize = 4608;

/// Session facts that change how requests are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// Negotiated minor version (INIT itself is parsed with the kernel's).
    pub minor: u32,
    /// `FUSE_SETXATTR_EXT` was negotiated: `fuse_setxattr_in` is 16 bytes, not 8.
    pub setxattr_ext: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            minor: KERNEL_MINOR_VERSION,
            setxattr_ext: true,
        }
    }
}

/// Bytes of request data left in place: `len` bytes at body offset `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InPlace {
    /// Offset from the start of the body (after `fuse_in_header`).
    pub off: usize,
    /// Length.
    pub len: usize,
}

/// A parsed request. Borrowed names and the SYMLINK target point into the
/// copied prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // variants are the fuse.h opcodes; fields are documented on the abi structs
pub enum Request<'a> {
    Lookup {
        name: Name<'a>,
    },
    /// LOOKUP of `.` (export support: the node itself).
    LookupSelf,
    /// LOOKUP of `..` (export support: the node's parent directory).
    LookupParent,
    Forget {
        arg: ForgetIn,
    },
    Getattr {
        arg: GetattrIn,
    },
    Setattr {
        arg: SetattrIn,
    },
    Readlink,
    Symlink {
        name: Name<'a>,
        target: &'a [u8],
    },
    Mknod {
        arg: MknodIn,
        name: Name<'a>,
    },
    Mkdir {
        arg: MkdirIn,
        name: Name<'a>,
    },
    Unlink {
        name: Name<'a>,
    },
    Rmdir {
        name: Name<'a>,
    },
    /// RENAME (`flags == 0`) and RENAME2.
    Rename {
        newdir: u64,
        flags: u32,
        name: Name<'a>,
        newname: Name<'a>,
    },
    Link {
        arg: LinkIn,
        name: Name<'a>,
    },
    Open {
        arg: OpenIn,
    },
    Read {
        arg: ReadIn,
    },
    /// The payload stays in the request: `data`.
    Write {
        arg: WriteIn,
        data: InPlace,
    },
    Statfs,
    Release {
        arg: ReleaseIn,
    },
    Fsync {
        arg: FsyncIn,
    },
    /// `arg` is zero-extended when the 8-byte compat layout was sent; the value stays in place.
    Setxattr {
        arg: SetxattrIn,
        name: &'a [u8],
        value: InPlace,
    },
    Getxattr {
        arg: GetxattrIn,
        name: &'a [u8],
    },
    Listxattr {
        arg: GetxattrIn,
    },
    Removexattr {
        name: &'a [u8],
    },
    Flush {
        arg: FlushIn,
    },
    /// `arg` is zero-extended when a pre-7.36 kernel sent 16 bytes.
    Init {
        arg: InitIn,
    },
    Opendir {
        arg: OpenIn,
    },
    Readdir {
        arg: ReadIn,
    },
    Releasedir {
        arg: ReleaseIn,
    },
    Fsyncdir {
        arg: FsyncIn,
    },
    Getlk {
        arg: LkIn,
    },
    Setlk {
        arg: LkIn,
    },
    Setlkw {
        arg: LkIn,
    },
    Access {
        arg: AccessIn,
    },
    Create {
        arg: CreateIn,
        name: Name<'a>,
    },
    Interrupt {
        arg: InterruptIn,
    },
    Bmap {
        arg: BmapIn,
    },
    Destroy,
    /// The input data stays in place.
    Ioctl {
        arg: IoctlIn,
        input: InPlace,
    },
    Poll {
        arg: PollIn,
    },
    /// The retrieved data stays in place.
    NotifyReply {
        arg: NotifyRetrieveIn,
        data: InPlace,
    },
    /// The `count` items stay in place (`fuse_forget_one` each).
    BatchForget {
        count: u32,
        items: InPlace,
    },
    Fallocate {
        arg: FallocateIn,
    },
    Readdirplus {
        arg: ReadIn,
    },
    Lseek {
        arg: LseekIn,
    },
    CopyFileRange {
        arg: CopyFileRangeIn,
    },
    Setupmapping {
        arg: SetupmappingIn,
    },
    /// The `count` items stay in place (`fuse_removemapping_one` each).
    Removemapping {
        count: u32,
        items: InPlace,
    },
    Syncfs {
        arg: SyncfsIn,
    },
    Tmpfile {
        arg: CreateIn,
    },
    Statx {
        arg: StatxIn,
    },
}

/// How many body bytes the dispatcher must copy to parse a request with this
/// opcode, given the body length. Bulk data beyond this stays in place.
pub fn prefix_len(opcode: Opcode, body_len: usize) -> usize {
    let want = match opcode {
        Opcode::WRITE => size_of::<WriteIn>(),
        Opcode::SETXATTR => size_of::<SetxattrIn>() + XATTR_NAME_MAX + 1,
        Opcode::IOCTL => size_of::<IoctlIn>(),
        Opcode::NOTIFY_REPLY => size_of::<NotifyRetrieveIn>(),
        Opcode::BATCH_FORGET => size_of::<BatchForgetIn>(),
        Opcode::REMOVEMAPPING => size_of::<RemovemappingIn>(),
        _ => MAX_PREFIX,
    };
    want.min(body_len).min(MAX_PREFIX)
}

use core::mem::size_of;

/// A cursor over the copied body prefix.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take<T: FromBytes>(&mut self) -> Result<T, Errno> {
        let rest = self.buf.get(self.pos..).ok_or(Errno::EINVAL)?;
        let (v, _) = T::read_from_prefix(rest).map_err(|_| Errno::EINVAL)?;
        self.pos += size_of::<T>();
        Ok(v)
    }

    /// A NUL-terminated string of at most `max` bytes (without NUL).
    /// `truncated`: the prefix is shorter than the body, so a missing NUL
    /// means "too long" rather than "malformed".
    fn cstr(&mut self, max: usize, truncated: bool) -> Result<&'a [u8], Errno> {
        let rest = self.buf.get(self.pos..).ok_or(Errno::EINVAL)?;
        let nul = match rest.iter().position(|&b| b == 0) {
            Some(n) => n,
            None if truncated || rest.len() > max => return Err(Errno::ENAMETOOLONG),
            None => return Err(Errno::EINVAL),
        };
        if nul > max {
            return Err(Errno::ENAMETOOLONG);
        }
        self.pos += nul + 1;
        Ok(&rest[..nul])
    }

    fn name(&mut self, truncated: bool) -> Result<Name<'a>, Errno> {
        let s = self.cstr(NAME_MAX, truncated)?;
        Name::new(s)
    }

    fn xattr_name(&mut self, truncated: bool) -> Result<&'a [u8], Errno> {
        let s = self.cstr(XATTR_NAME_MAX, truncated)?;
        if s.is_empty() {
            return Err(Errno::EINVAL);
        }
        Ok(s)
    }
}

impl<'a> Request<'a> {
    /// Parses the body of a request with `opcode`.
    ///
    /// `prefix` is the first bytes of the body (see [`prefix_len`]);
    /// `body_len` is the body's full length (header `len` minus the header and
    /// any extensions), so that data left in place can be bounds-checked.
    ///
    /// Errors: `EINVAL` for truncated or inconsistent requests,
    /// `ENAMETOOLONG` for over-long names, `ENOSYS` for opcodes with no
    /// request view (CUSE_INIT).
    pub fn parse(
        opcode: Opcode,
        prefix: &'a [u8],
        body_len: usize,
        opts: ParseOptions,
    ) -> Result<Request<'a>, Errno> {
        if prefix.len() > body_len {
            return Err(Errno::EINVAL);
        }
        let truncated = prefix.len() < body_len;
        let mut c = Cursor {
            buf: prefix,
            pos: 0,
        };
        let rest_in_place = |pos: usize| InPlace {
            off: pos,
            len: body_len - pos.min(body_len),
        };
        Ok(match opcode {
            Opcode::LOOKUP => match c.cstr(NAME_MAX, truncated)? {
                b"." => Request::LookupSelf,
                b".." => Request::LookupParent,
                s => Request::Lookup {
                    name: Name::new(s)?,
                },
            },
            Opcode::FORGET => Request::Forget { arg: c.take()? },
            Opcode::GETATTR => {
                // Kernels before 7.9 send no argument.
                let arg = if prefix.is_empty() && opts.minor < 9 {
                    GetattrIn::default()
                } else {
                    c.take()?
                };
                Request::Getattr { arg }
            }
            Opcode::SETATTR => Request::Setattr { arg: c.take()? },
            Opcode::READLINK => Request::Readlink,
            Opcode::SYMLINK => {
                let name = c.name(truncated)?;
                let target = c.cstr(PATH_MAX - 1, truncated)?;
                if target.is_empty() {
                    return Err(Errno::ENOENT);
                }
                Request::Symlink { name, target }
            }
            Opcode::MKNOD => {
                let arg = if opts.minor < 12 {
                    let mode: u32 = c.take()?;
                    let rdev: u32 = c.take()?;
                    MknodIn {
                        mode,
                        rdev,
                        umask: 0,
                        padding: 0,
                    }
                } else {
                    c.take()?
                };
                Request::Mknod {
                    arg,
                    name: c.name(truncated)?,
                }
            }
            Opcode::MKDIR => Request::Mkdir {
                arg: c.take()?,
                name: c.name(truncated)?,
            },
            Opcode::UNLINK => Request::Unlink {
                name: c.name(truncated)?,
            },
            Opcode::RMDIR => Request::Rmdir {
                name: c.name(truncated)?,
            },
            Opcode::RENAME => {
                let arg: RenameIn = c.take()?;
                Request::Rename {
                    newdir: arg.newdir,
                    flags: 0,
                    name: c.name(truncated)?,
                    newname: c.name(truncated)?,
                }
            }
            Opcode::RENAME2 => {
                let arg: Rename2In = c.take()?;
                Request::Rename {
                    newdir: arg.newdir,
                    flags: arg.flags,
                    name: c.name(truncated)?,
                    newname: c.name(truncated)?,
                }
            }
            Opcode::LINK => Request::Link {
                arg: c.take()?,
                name: c.name(truncated)?,
            },
            Opcode::OPEN => Request::Open { arg: c.take()? },
            Opcode::READ => Request::Read { arg: c.take()? },
            Opcode::WRITE => {
                let arg: WriteIn = c.take()?;
                let data = rest_in_place(c.pos);
                if data.len != arg.size as usize {
                    return Err(Errno::EINVAL);
                }
                Request::Write { arg, data }
            }
            Opcode::STATFS => Request::Statfs,
            Opcode::RELEASE => Request::Release { arg: c.take()? },
            Opcode::FSYNC => Request::Fsync { arg: c.take()? },
            Opcode::SETXATTR => {
                let arg = if opts.setxattr_ext {
                    c.take()?
                } else {
                    let size: u32 = c.take()?;
                    let flags: u32 = c.take()?;
                    SetxattrIn {
                        size,
                        flags,
                        setxattr_flags: 0,
                        padding: 0,
                    }
                };
                // The value follows the name; the prefix may end inside it.
                let name = c.xattr_name(false).map_err(|e| {
                    if truncated && e == Errno::EINVAL {
                        Errno::ENAMETOOLONG
                    } else {
                        e
                    }
                })?;
                let value = rest_in_place(c.pos);
                if value.len != arg.size as usize || value.len > XATTR_SIZE_MAX {
                    return Err(if value.len > XATTR_SIZE_MAX {
                        Errno::E2BIG
                    } else {
                        Errno::EINVAL
                    });
                }
                Request::Setxattr { arg, name, value }
            }
            Opcode::GETXATTR => Request::Getxattr {
                arg: c.take()?,
                name: c.xattr_name(truncated)?,
            },
            Opcode::LISTXATTR => Request::Listxattr { arg: c.take()? },
            Opcode::REMOVEXATTR => Request::Removexattr {
                name: c.xattr_name(truncated)?,
            },
            Opcode::FLUSH => Request::Flush { arg: c.take()? },
            Opcode::INIT => {
                let mut arg = InitIn::default();
                let n = prefix.len().min(size_of::<InitIn>());
                if n < COMPAT_INIT_IN_SIZE {
                    return Err(Errno::EINVAL);
                }
                // Zero-extend the compat layout: copy what was sent over a default.
                let mut raw = [0u8; size_of::<InitIn>()];
                raw[..n].copy_from_slice(&prefix[..n]);
                if let Ok((v, _)) = InitIn::read_from_prefix(&raw[..]) {
                    arg = v;
                }
                Request::Init { arg }
            }
            Opcode::OPENDIR => Request::Opendir { arg: c.take()? },
            Opcode::READDIR => Request::Readdir { arg: c.take()? },
            Opcode::RELEASEDIR => Request::Releasedir { arg: c.take()? },
            Opcode::FSYNCDIR => Request::Fsyncdir { arg: c.take()? },
            Opcode::GETLK => Request::Getlk { arg: c.take()? },
            Opcode::SETLK => Request::Setlk { arg: c.take()? },
            Opcode::SETLKW => Request::Setlkw { arg: c.take()? },
            Opcode::ACCESS => Request::Access { arg: c.take()? },
            Opcode::CREATE => Request::Create {
                arg: c.take()?,
                name: c.name(truncated)?,
            },
            Opcode::INTERRUPT => Request::Interrupt { arg: c.take()? },
            Opcode::BMAP => Request::Bmap { arg: c.take()? },
            Opcode::DESTROY => Request::Destroy,
            Opcode::IOCTL => {
                let arg: IoctlIn = c.take()?;
                let input = rest_in_place(c.pos);
                if input.len < arg.in_size as usize {
                    return Err(Errno::EINVAL);
                }
                Request::Ioctl {
                    arg,
                    input: InPlace {
                        off: input.off,
                        len: arg.in_size as usize,
                    },
                }
            }
            Opcode::POLL => Request::Poll { arg: c.take()? },
            Opcode::NOTIFY_REPLY => {
                let arg: NotifyRetrieveIn = c.take()?;
                let data = rest_in_place(c.pos);
                if data.len < arg.size as usize {
                    return Err(Errno::EINVAL);
                }
                Request::NotifyReply {
                    arg,
                    data: InPlace {
                        off: data.off,
                        len: arg.size as usize,
                    },
                }
            }
            Opcode::BATCH_FORGET => {
                let arg: BatchForgetIn = c.take()?;
                let items = rest_in_place(c.pos);
                let need = (arg.count as usize)
                    .checked_mul(size_of::<ForgetOne>())
                    .ok_or(Errno::EINVAL)?;
                if items.len < need {
                    return Err(Errno::EINVAL);
                }
                Request::BatchForget {
                    count: arg.count,
                    items: InPlace {
                        off: items.off,
                        len: need,
                    },
                }
            }
            Opcode::FALLOCATE => Request::Fallocate { arg: c.take()? },
            Opcode::READDIRPLUS => Request::Readdirplus { arg: c.take()? },
            Opcode::LSEEK => Request::Lseek { arg: c.take()? },
            Opcode::COPY_FILE_RANGE => Request::CopyFileRange { arg: c.take()? },
            Opcode::SETUPMAPPING => Request::Setupmapping { arg: c.take()? },
            Opcode::REMOVEMAPPING => {
                let arg: RemovemappingIn = c.take()?;
                let items = rest_in_place(c.pos);
                let need = (arg.count as usize)
                    .checked_mul(size_of::<RemovemappingOne>())
                    .ok_or(Errno::EINVAL)?;
                if items.len < need {
                    return Err(Errno::EINVAL);
                }
                Request::Removemapping {
                    count: arg.count,
                    items: InPlace {
                        off: items.off,
                        len: need,
                    },
                }
            }
            Opcode::SYNCFS => Request::Syncfs { arg: c.take()? },
            Opcode::TMPFILE => Request::Tmpfile { arg: c.take()? },
            Opcode::STATX => Request::Statx { arg: c.take()? },
            Opcode::CUSE_INIT => return Err(Errno::ENOSYS),
        })
    }

    /// The opcode this request came with.
    pub fn opcode(&self) -> Opcode {
        match self {
            Request::Lookup { .. } | Request::LookupSelf | Request::LookupParent => Opcode::LOOKUP,
            Request::Forget { .. } => Opcode::FORGET,
            Request::Getattr { .. } => Opcode::GETATTR,
            Request::Setattr { .. } => Opcode::SETATTR,
            Request::Readlink => Opcode::READLINK,
            Request::Symlink { .. } => Opcode::SYMLINK,
            Request::Mknod { .. } => Opcode::MKNOD,
            Request::Mkdir { .. } => Opcode::MKDIR,
            Request::Unlink { .. } => Opcode::UNLINK,
            Request::Rmdir { .. } => Opcode::RMDIR,
            Request::Rename { flags: 0, .. } => Opcode::RENAME,
            Request::Rename { .. } => Opcode::RENAME2,
            Request::Link { .. } => Opcode::LINK,
            Request::Open { .. } => Opcode::OPEN,
            Request::Read { .. } => Opcode::READ,
            Request::Write { .. } => Opcode::WRITE,
            Request::Statfs => Opcode::STATFS,
            Request::Release { .. } => Opcode::RELEASE,
            Request::Fsync { .. } => Opcode::FSYNC,
            Request::Setxattr { .. } => Opcode::SETXATTR,
            Request::Getxattr { .. } => Opcode::GETXATTR,
            Request::Listxattr { .. } => Opcode::LISTXATTR,
            Request::Removexattr { .. } => Opcode::REMOVEXATTR,
            Request::Flush { .. } => Opcode::FLUSH,
            Request::Init { .. } => Opcode::INIT,
            Request::Opendir { .. } => Opcode::OPENDIR,
            Request::Readdir { .. } => Opcode::READDIR,
            Request::Releasedir { .. } => Opcode::RELEASEDIR,
            Request::Fsyncdir { .. } => Opcode::FSYNCDIR,
            Request::Getlk { .. } => Opcode::GETLK,
            Request::Setlk { .. } => Opcode::SETLK,
            Request::Setlkw { .. } => Opcode::SETLKW,
            Request::Access { .. } => Opcode::ACCESS,
            Request::Create { .. } => Opcode::CREATE,
            Request::Interrupt { .. } => Opcode::INTERRUPT,
            Request::Bmap { .. } => Opcode::BMAP,
            Request::Destroy => Opcode::DESTROY,
            Request::Ioctl { .. } => Opcode::IOCTL,
            Request::Poll { .. } => Opcode::POLL,
            Request::NotifyReply { .. } => Opcode::NOTIFY_REPLY,
            Request::BatchForget { .. } => Opcode::BATCH_FORGET,
            Request::Fallocate { .. } => Opcode::FALLOCATE,
            Request::Readdirplus { .. } => Opcode::READDIRPLUS,
            Request::Lseek { .. } => Opcode::LSEEK,
            Request::CopyFileRange { .. } => Opcode::COPY_FILE_RANGE,
            Request::Setupmapping { .. } => Opcode::SETUPMAPPING,
            Request::Removemapping { .. } => Opcode::REMOVEMAPPING,
            Request::Syncfs { .. } => Opcode::SYNCFS,
            Request::Tmpfile { .. } => Opcode::TMPFILE,
            Request::Statx { .. } => Opcode::STATX,
        }
    }
}

/// The parsed header and the body bounds of a whole request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The header.
    pub header: InHeader,
    /// Body length: `header.len` minus the header and the extensions.
    pub body_len: usize,
    /// Extensions (after the body), `header.total_extlen * 8` bytes.
    pub ext: InPlace,
}

impl Frame {
    /// Checks the header of a request of `avail` readable bytes whose first
    /// [`IN_HEADER_LEN`] bytes are `head`.
    ///
    /// Errors: `EINVAL` if the header is truncated, `len` is below the header
    /// size or above `avail`, or the extensions do not fit.
    pub fn parse(head: &[u8], avail: usize) -> Result<Frame, Errno> {
        let (header, _) = InHeader::read_from_prefix(head).map_err(|_| Errno::EINVAL)?;
        let len = header.len as usize;
        if len < IN_HEADER_LEN || len > avail {
            return Err(Errno::EINVAL);
        }
        let ext_len = header.total_extlen as usize * 8;
        let body_len = (len - IN_HEADER_LEN)
            .checked_sub(ext_len)
            .ok_or(Errno::EINVAL)?;
        Ok(Frame {
            header,
            body_len,
            ext: InPlace {
                off: body_len,
                len: ext_len,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::IntoBytes;

    fn parse(op: Opcode, body: &[u8]) -> Result<Request<'_>, Errno> {
        Request::parse(
            op,
            &body[..prefix_len(op, body.len())],
            body.len(),
            ParseOptions::default(),
        )
    }

    #[test]
    fn lookup_names() {
        assert_eq!(
            parse(Opcode::LOOKUP, b"abc\0"),
            Ok(Request::Lookup {
                name: Name::new(b"abc").unwrap()
            })
        );
        assert_eq!(parse(Opcode::LOOKUP, b"abc"), Err(Errno::EINVAL));
        assert_eq!(parse(Opcode::LOOKUP, b"..\0"), Ok(Request::LookupParent));
        assert_eq!(parse(Opcode::LOOKUP, b".\0"), Ok(Request::LookupSelf));
        assert_eq!(parse(Opcode::LOOKUP, b"...\0").map(|_| ()), Ok(()));
        assert_eq!(parse(Opcode::LOOKUP, b"..\0x\0"), Ok(Request::LookupParent));
        assert_eq!(parse(Opcode::LOOKUP, b".."), Err(Errno::EINVAL));
        assert_eq!(parse(Opcode::LOOKUP, b"a/b\0"), Err(Errno::EINVAL));
        assert_eq!(parse(Opcode::LOOKUP, b"\0"), Err(Errno::EINVAL));
        let mut long = [b'a'; 300];
        long[299] = 0;
        assert_eq!(parse(Opcode::LOOKUP, &long), Err(Errno::ENAMETOOLONG));
    }

    #[test]
    fn write_length_must_match() {
        let arg = WriteIn {
            size: 4,
            ..WriteIn::default()
        };
        let mut body = [0u8; 44];
        body[..40].copy_from_slice(arg.as_bytes());
        assert_eq!(
            parse(Opcode::WRITE, &body),
            Ok(Request::Write {
                arg,
                data: InPlace { off: 40, len: 4 }
            })
        );
        assert_eq!(parse(Opcode::WRITE, &body[..43]), Err(Errno::EINVAL));
        assert_eq!(parse(Opcode::WRITE, &body[..39]), Err(Errno::EINVAL));
    }

    #[test]
    fn symlink_target_limits() {
        let mut body = [0u8; 4400];
        body[..2].copy_from_slice(b"l\0");
        body[2..4400].fill(b'x');
        assert_eq!(parse(Opcode::SYMLINK, &body), Err(Errno::ENAMETOOLONG));
        assert_eq!(
            parse(Opcode::SYMLINK, b"l\0/etc/passwd\0").map(|r| matches!(
                r,
                Request::Symlink {
                    target: b"/etc/passwd",
                    ..
                }
            )),
            Ok(true)
        );
        assert_eq!(parse(Opcode::SYMLINK, b"l\0\0"), Err(Errno::ENOENT));
    }

    #[test]
    fn frame_checks_lengths() {
        let h = InHeader {
            len: 40,
            opcode: 3,
            total_extlen: 0,
            ..InHeader::default()
        };
        assert!(Frame::parse(h.as_bytes(), 40).is_ok());
        assert_eq!(Frame::parse(h.as_bytes(), 39), Err(Errno::EINVAL));
        assert_eq!(Frame::parse(&h.as_bytes()[..39], 100), Err(Errno::EINVAL));
        let h = InHeader {
            len: 48,
            total_extlen: 2,
            ..InHeader::default()
        };
        assert_eq!(Frame::parse(h.as_bytes(), 48), Err(Errno::EINVAL));
        let h = InHeader {
            len: 39,
            ..InHeader::default()
        };
        assert_eq!(Frame::parse(h.as_bytes(), 100), Err(Errno::EINVAL));
    }

    #[test]
    fn batch_forget_count_checked() {
        let arg = BatchForgetIn {
            count: u32::MAX,
            dummy: 0,
        };
        assert_eq!(
            parse(Opcode::BATCH_FORGET, arg.as_bytes()),
            Err(Errno::EINVAL)
        );
    }
}
