//! Reply encoders: a `fuse_out_header` plus a fixed struct and/or data,
//! written into a caller-provided [`ReplySink`].
//!
//! Every encoder returns the total reply length, which equals the header's
//! `len` field: what a transport reports as the used length (virtio) or
//! writes to `/dev/fuse`.

use crate::abi::{
    AttrOut, BmapOut, EntryOut, GetxattrOut, LkOut, LseekOut, NotifyCode, NotifyDeleteOut,
    NotifyInvalEntryOut, NotifyInvalInodeOut, Opcode, OpenOut, OutHeader, PollOut, StatfsOut,
    StatxOut, WriteOut,
};
use crate::errno::Errno;
use crate::fs::{AttrReply, Entry, Opened, StatxReply};
use crate::io::ReplySink;
use crate::name::Name;
use zerocopy::{Immutable, IntoBytes};

/// Size of `fuse_out_header`.
pub const OUT_HEADER_LEN: usize = core::mem::size_of::<OutHeader>();

/// The length of `opcode`'s success reply when that has a fixed size, else
/// of the header alone (data replies size themselves to the sink). The
/// dispatcher refuses a request whose sink is smaller before the filesystem
/// acts on it, so no request takes effect (a handle opened, a lookup
/// counted) without its reply reaching the guest.
pub fn min_success_len(opcode: Opcode) -> usize {
    use core::mem::size_of;
    let body = match opcode {
        Opcode::LOOKUP | Opcode::SYMLINK | Opcode::MKNOD | Opcode::MKDIR | Opcode::LINK => {
            size_of::<EntryOut>()
        }
        Opcode::CREATE | Opcode::TMPFILE => size_of::<EntryOut>() + size_of::<OpenOut>(),
        Opcode::OPEN | Opcode::OPENDIR => size_of::<OpenOut>(),
        Opcode::GETATTR | Opcode::SETATTR => size_of::<AttrOut>(),
        Opcode::STATX => size_of::<StatxOut>(),
        Opcode::WRITE | Opcode::COPY_FILE_RANGE => size_of::<WriteOut>(),
        Opcode::STATFS => size_of::<StatfsOut>(),
        Opcode::GETLK => size_of::<LkOut>(),
        Opcode::BMAP => size_of::<BmapOut>(),
        Opcode::POLL => size_of::<PollOut>(),
        Opcode::LSEEK => size_of::<LseekOut>(),
        Opcode::GETXATTR | Opcode::LISTXATTR => size_of::<GetxattrOut>(),
        _ => 0,
    };
    OUT_HEADER_LEN + body
}

/// Encodes an [`Entry`] as `fuse_entry_out`.
pub fn entry_out(e: &Entry) -> EntryOut {
    EntryOut {
        nodeid: e.nodeid,
        generation: e.generation,
        entry_valid: e.entry_valid.as_secs(),
        attr_valid: e.attr_valid.as_secs(),
        entry_valid_nsec: e.entry_valid.subsec_nanos(),
        attr_valid_nsec: e.attr_valid.subsec_nanos(),
        attr: e.attr,
    }
}

/// Encodes an [`AttrReply`] as `fuse_attr_out`.
pub fn attr_out(a: &AttrReply) -> AttrOut {
    AttrOut {
        attr_valid: a.valid.as_secs(),
        attr_valid_nsec: a.valid.subsec_nanos(),
        dummy: 0,
        attr: a.attr,
    }
}

/// Encodes a [`StatxReply`] as `fuse_statx_out`.
pub fn statx_out(s: &StatxReply) -> StatxOut {
    StatxOut {
        attr_valid: s.valid.as_secs(),
        attr_valid_nsec: s.valid.subsec_nanos(),
        flags: 0,
        spare: [0; 2],
        stat: s.stat,
    }
}

/// Encodes an [`Opened`] as `fuse_open_out`.
pub fn open_out(o: &Opened) -> OpenOut {
    OpenOut {
        fh: o.fh,
        open_flags: o.flags.bits(),
        backing_id: o.backing_id,
    }
}

/// Writes a header for a reply (or notification, `unique == 0`) whose body of
/// `body_len` bytes is already in place after it. Returns the total length.
///
/// Errors: `ERANGE` if the header does not fit or the length overflows `u32`.
pub fn write_header(
    sink: &mut (impl ReplySink + ?Sized),
    unique: u64,
    error: i32,
    body_len: usize,
) -> Result<usize, Errno> {
    let total = body_len.checked_add(OUT_HEADER_LEN).ok_or(Errno::ERANGE)?;
    let len = u32::try_from(total).map_err(|_| Errno::ERANGE)?;
    if total > sink.capacity() {
        return Err(Errno::ERANGE);
    }
    sink.write_at(0, OutHeader { len, error, unique }.as_bytes())?;
    Ok(total)
}

/// A header-only error reply.
pub fn reply_error(
    sink: &mut (impl ReplySink + ?Sized),
    unique: u64,
    err: Errno,
) -> Result<usize, Errno> {
    write_header(sink, unique, err.to_wire(), 0)
}

/// A success reply whose body is `body`.
pub fn reply_bytes(
    sink: &mut (impl ReplySink + ?Sized),
    unique: u64,
    body: &[u8],
) -> Result<usize, Errno> {
    let total = body
        .len()
        .checked_add(OUT_HEADER_LEN)
        .ok_or(Errno::ERANGE)?;
    if total > sink.capacity() {
        return Err(Errno::ERANGE);
    }
    sink.write_at(OUT_HEADER_LEN, body)?;
    write_header(sink, unique, 0, body.len())
}

/// A success reply whose body is the wire struct `body`.
pub fn reply_struct<T: IntoBytes + Immutable>(
    sink: &mut (impl ReplySink + ?Sized),
    unique: u64,
    body: &T,
) -> Result<usize, Errno> {
    reply_bytes(sink, unique, body.as_bytes())
}

/// The CREATE / TMPFILE reply: `fuse_entry_out` then `fuse_open_out`.
pub fn reply_create(
    sink: &mut (impl ReplySink + ?Sized),
    unique: u64,
    e: &Entry,
    o: &Opened,
) -> Result<usize, Errno> {
    let mut body = [0u8; 128 + 16];
    body[..128].copy_from_slice(entry_out(e).as_bytes());
    body[128..].copy_from_slice(open_out(o).as_bytes());
    reply_bytes(sink, unique, &body)
}

/// Encodes a `FUSE_NOTIFY_INVAL_ENTRY` notification: the kernel drops its
/// dentry for `name` in `parent` (`expire_only`: `FUSE_EXPIRE_ONLY`).
pub fn notify_inval_entry(
    sink: &mut (impl ReplySink + ?Sized),
    parent: u64,
    name: Name<'_>,
    expire_only: bool,
) -> Result<usize, Errno> {
    let head = NotifyInvalEntryOut {
        parent,
        namelen: name.len() as u32,
        flags: u32::from(expire_only),
    };
    notify_with_name(sink, NotifyCode::InvalEntry, head.as_bytes(), name)
}

/// Encodes a `FUSE_NOTIFY_DELETE` notification for `child` named `name` in `parent`.
pub fn notify_delete(
    sink: &mut (impl ReplySink + ?Sized),
    parent: u64,
    child: u64,
    name: Name<'_>,
) -> Result<usize, Errno> {
    let head = NotifyDeleteOut {
        parent,
        child,
        namelen: name.len() as u32,
        padding: 0,
    };
    notify_with_name(sink, NotifyCode::Delete, head.as_bytes(), name)
}

/// Encodes a `FUSE_NOTIFY_INVAL_INODE` notification (`off < 0`: attributes only;
/// `len == 0`: to the end of the file).
pub fn notify_inval_inode(
    sink: &mut (impl ReplySink + ?Sized),
    ino: u64,
    off: i64,
    len: i64,
) -> Result<usize, Errno> {
    let body = NotifyInvalInodeOut { ino, off, len };
    let n = body.as_bytes().len();
    if OUT_HEADER_LEN + n > sink.capacity() {
        return Err(Errno::ERANGE);
    }
    sink.write_at(OUT_HEADER_LEN, body.as_bytes())?;
    write_header(sink, 0, NotifyCode::InvalInode as i32, n)
}

fn notify_with_name(
    sink: &mut (impl ReplySink + ?Sized),
    code: NotifyCode,
    head: &[u8],
    name: Name<'_>,
) -> Result<usize, Errno> {
    let body_len = head.len() + name.len() + 1;
    if OUT_HEADER_LEN + body_len > sink.capacity() {
        return Err(Errno::ERANGE);
    }
    sink.write_at(OUT_HEADER_LEN, head)?;
    sink.write_at(OUT_HEADER_LEN + head.len(), name.as_bytes())?;
    sink.write_at(OUT_HEADER_LEN + head.len() + name.len(), &[0])?;
    write_header(sink, 0, code as i32, body_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::FromBytes;

    #[test]
    fn error_reply_bytes() {
        let mut buf = [0u8; 16];
        assert_eq!(reply_error(&mut buf[..], 0x1122, Errno::ENOENT), Ok(16));
        assert_eq!(
            buf,
            [
                16, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x22, 0x11, 0, 0, 0, 0, 0, 0
            ]
        );
        let mut small = [0u8; 15];
        assert_eq!(
            reply_error(&mut small[..], 1, Errno::ENOENT),
            Err(Errno::ERANGE)
        );
    }

    #[test]
    fn create_reply_layout() {
        let mut buf = [0u8; 256];
        let e = Entry {
            nodeid: 7,
            ..Entry::default()
        };
        let o = Opened {
            fh: 3,
            ..Opened::default()
        };
        let n = reply_create(&mut buf[..], 9, &e, &o).unwrap();
        assert_eq!(n, 16 + 144);
        let (h, _) = OutHeader::read_from_prefix(&buf).unwrap();
        assert_eq!((h.len, h.error, h.unique), (160, 0, 9));
        assert_eq!(u64::from_le_bytes(buf[16..24].try_into().unwrap()), 7);
        assert_eq!(u64::from_le_bytes(buf[144..152].try_into().unwrap()), 3);
    }

    #[test]
    fn notify_inval_entry_layout() {
        let mut buf = [0u8; 64];
        let n = notify_inval_entry(&mut buf[..], 1, Name::new(b"abc").unwrap(), false).unwrap();
        assert_eq!(n, 16 + 16 + 4);
        assert_eq!(&buf[4..8], &3i32.to_le_bytes());
        assert_eq!(&buf[32..36], b"abc\0");
    }
}
