//! Host-change invalidation with one fanotify mark on the share's whole
//! file system (`FAN_MARK_FILESYSTEM`), for servers with `CAP_SYS_ADMIN`.
//!
//! Events are reported with file handles (`FAN_REPORT_DFID_NAME |
//! FAN_REPORT_FID`): the directory and name of a changed entry, and the
//! changed object itself. They are filtered to the share by handle: only
//! handles of inodes the server holds ([`Fanotify::register`]) are reported,
//! everything else on the file system is dropped without a syscall. Events
//! caused by the server's own process (fanotify reports the process id; the
//! worker threads share it, as no `FAN_REPORT_TID` is asked for) are
//! dropped too, so only changes made by other processes are reported, and a
//! data or attribute change of a file is reported as [`HostChange::Data`]
//! (the transport may then drop the guest's cached pages without racing
//! the guest's own writes).
//!
//! See [fanotify(7)](https://man7.org/linux/man-pages/man7/fanotify.7.html),
//! [fanotify_init(2)](https://man7.org/linux/man-pages/man2/fanotify_init.2.html),
//! [fanotify_mark(2)](https://man7.org/linux/man-pages/man2/fanotify_mark.2.html).

use crate::sys::FileHandle;
use arcbox_fs::abi::mode;
use arcbox_fs::host::{HostChange, HostKey};
use rustix::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use rustix::io;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Size of the event buffer (a few hundred events per read).
const BUF_LEN: usize = 64 * 1024;

/// `struct fanotify_event_metadata` size (fanotify.h).
const META_LEN: usize = 24;

/// Events reported: entries created, removed, renamed; attributes or data
/// changed; a watched object going away; for directories too.
const MASK: u64 = libc::FAN_CREATE
    | libc::FAN_DELETE
    | libc::FAN_MOVED_FROM
    | libc::FAN_MOVED_TO
    | libc::FAN_ATTRIB
    | libc::FAN_MODIFY
    | libc::FAN_CLOSE_WRITE
    | libc::FAN_DELETE_SELF
    | libc::FAN_MOVE_SELF
    | libc::FAN_ONDIR;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A handle as fanotify reports it: its type (native-endian bytes), then
/// its bytes; looked up by slice so that draining allocates nothing.
type Fid = Box<[u8]>;

/// Largest handle (`MAX_HANDLE_SZ`, fcntl.h).
const MAX_HANDLE: usize = 128;

/// Writes the [`Fid`] of (`handle_type`, `bytes`) into `buf`; `None` for a
/// handle larger than any the kernel makes.
fn fid_bytes<'b>(
    buf: &'b mut [u8; 4 + MAX_HANDLE],
    handle_type: i32,
    bytes: &[u8],
) -> Option<&'b [u8]> {
    let n = 4 + bytes.len();
    let out = buf.get_mut(..n)?;
    out[..4].copy_from_slice(&handle_type.to_ne_bytes());
    out[4..].copy_from_slice(bytes);
    Some(out)
}

/// A held inode: identity, type bits, number of holders.
#[derive(Clone, Copy)]
struct Known {
    key: HostKey,
    typ: u32,
    holds: usize,
}

/// One fanotify group with a file-system mark.
pub(crate) struct Fanotify {
    fd: OwnedFd,
    /// Device (`st_dev`) of the marked file system.
    dev: u64,
    /// This process's id: its events are ignored.
    own_pid: i32,
    /// Handles of inodes the server holds.
    known: Mutex<HashMap<Fid, Known>>,
    /// Event buffer; its lock also serialises draining.
    buf: Mutex<Vec<u8>>,
}

/// `fanotify_init(2)`: a new group's descriptor.
fn init(flags: libc::c_uint, event_f_flags: libc::c_uint) -> io::Result<OwnedFd> {
    // SAFETY: fanotify_init takes two integers and returns a new descriptor
    // or -1; no memory is passed.
    let fd = unsafe { libc::fanotify_init(flags, event_f_flags) };
    if fd < 0 {
        return Err(io::Errno::from_raw_os_error(last_errno()));
    }
    // SAFETY: `fd` is a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `fanotify_mark(2)` of the object `dirfd` refers to (`pathname` NULL).
fn mark(
    fd: BorrowedFd<'_>,
    flags: libc::c_uint,
    mask: u64,
    dirfd: BorrowedFd<'_>,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: both descriptors are valid for the call (borrowed); a NULL
    // pathname is documented to mean "the object dirfd refers to".
    let r = unsafe {
        libc::fanotify_mark(
            fd.as_raw_fd(),
            flags,
            mask,
            dirfd.as_raw_fd(),
            std::ptr::null(),
        )
    };
    if r < 0 {
        return Err(io::Errno::from_raw_os_error(last_errno()));
    }
    Ok(())
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

impl Fanotify {
    /// A non-blocking notification group with one mark on the file system
    /// of `root` (the share, opened for reading: `fanotify_mark` refuses
    /// `O_PATH` descriptors with `EBADF`). Fails without `CAP_SYS_ADMIN` (`EPERM`) or on
    /// kernels or file systems without file-handle reporting.
    pub(crate) fn new(root: BorrowedFd<'_>) -> io::Result<Fanotify> {
        let fd = init(
            libc::FAN_CLASS_NOTIF
                | libc::FAN_CLOEXEC
                | libc::FAN_NONBLOCK
                | libc::FAN_REPORT_DFID_NAME
                | libc::FAN_REPORT_FID,
            (libc::O_RDONLY | libc::O_CLOEXEC) as libc::c_uint,
        )?;
        mark(
            fd.as_fd(),
            libc::FAN_MARK_ADD | libc::FAN_MARK_FILESYSTEM,
            MASK,
            root,
        )?;
        let dev = crate::stat::from_statx(&crate::stat::statx_fd(root)?)
            .key
            .dev;
        Ok(Fanotify {
            fd,
            dev,
            own_pid: i32::try_from(std::process::id()).unwrap_or(-1),
            known: Mutex::new(HashMap::new()),
            buf: Mutex::new(vec![0; BUF_LEN]),
        })
    }

    /// Reports events for the inode with handle `h` from now on (one hold;
    /// [`Fanotify::unregister`] drops it).
    pub(crate) fn register(&self, h: &FileHandle, key: HostKey, typ: u32) {
        let mut buf = [0; 4 + MAX_HANDLE];
        let Some(fid) = fid_bytes(&mut buf, h.handle_type(), h.bytes()) else {
            return;
        };
        let mut known = lock(&self.known);
        let k = known
            .entry(fid.into())
            .or_insert(Known { key, typ, holds: 0 });
        k.key = key;
        k.holds = k.holds.saturating_add(1);
    }

    /// Drops one hold of `h`.
    pub(crate) fn unregister(&self, h: &FileHandle) {
        let mut buf = [0; 4 + MAX_HANDLE];
        let Some(fid) = fid_bytes(&mut buf, h.handle_type(), h.bytes()) else {
            return;
        };
        let mut known = lock(&self.known);
        if let Some(k) = known.get_mut(fid) {
            k.holds = k.holds.saturating_sub(1);
            if k.holds == 0 {
                known.remove(fid);
            }
        }
    }

    /// Whether the mark covers the inode `key` (same file system as the
    /// share's root); others, on file systems mounted inside the share,
    /// need inotify watches.
    pub(crate) fn covers(&self, key: &HostKey) -> bool {
        key.dev == self.dev
    }

    /// Number of inodes whose events are reported.
    pub(crate) fn len(&self) -> usize {
        lock(&self.known).len()
    }

    /// Reports every queued event of another process on a held inode to
    /// `f` without blocking.
    pub(crate) fn drain(&self, f: &mut dyn FnMut(HostChange<'_>)) {
        let mut buf = lock(&self.buf);
        loop {
            let n = match rustix::io::read(&self.fd, &mut buf[..]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(io::Errno::INTR) => continue,
                // EAGAIN: queue empty. Anything else: nothing more to read now.
                Err(_) => break,
            };
            let known = lock(&self.known);
            let mut rest = buf.get(..n).unwrap_or(&[]);
            while let Some(ev) = Event::parse(rest) {
                rest = rest.get(ev.len..).unwrap_or(&[]);
                if ev.fd >= 0 {
                    // Never with FID reporting; close it if it happens.
                    // SAFETY: the kernel handed this descriptor to us.
                    drop(unsafe { OwnedFd::from_raw_fd(ev.fd) });
                }
                if ev.mask & libc::FAN_Q_OVERFLOW != 0 {
                    f(HostChange::Overflow);
                    continue;
                }
                if ev.pid == self.own_pid {
                    continue;
                }
                report(&ev, &known, f);
            }
        }
    }
}

/// Turns one parsed event into the changes it means for held inodes.
fn report(ev: &Event<'_>, known: &HashMap<Fid, Known>, f: &mut dyn FnMut(HostChange<'_>)) {
    let find = |fid: &FidRef<'_>| {
        let mut buf = [0; 4 + MAX_HANDLE];
        known
            .get(fid_bytes(&mut buf, fid.handle_type, fid.bytes)?)
            .copied()
    };
    if let Some((dir, name)) = &ev.dfid_name {
        if let Some(d) = find(dir) {
            if name.is_empty() || name == b"." {
                f(HostChange::Inode(d.key));
            } else {
                f(HostChange::Entry { dir: d.key, name });
            }
        }
    }
    if let Some(obj) = &ev.fid {
        if let Some(o) = find(obj) {
            let data = libc::FAN_MODIFY | libc::FAN_CLOSE_WRITE | libc::FAN_ATTRIB;
            if o.typ == mode::S_IFREG && ev.mask & data != 0 {
                let entry = ev.dfid_name.as_ref().and_then(|(dir, name)| {
                    let d = find(dir)?;
                    (!name.is_empty()).then_some((d.key, *name))
                });
                f(HostChange::Data { file: o.key, entry });
            } else if ev.mask & (libc::FAN_DELETE_SELF | libc::FAN_MOVE_SELF | libc::FAN_ATTRIB)
                != 0
            {
                f(HostChange::Inode(o.key));
            }
        }
    }
}

/// A file handle inside an event record.
struct FidRef<'a> {
    handle_type: i32,
    bytes: &'a [u8],
}

/// One event, parsed from the read buffer (checked: a short or malformed
/// record ends the parse).
struct Event<'a> {
    len: usize,
    mask: u64,
    fd: i32,
    pid: i32,
    /// Directory and entry name (`FAN_EVENT_INFO_TYPE_DFID_NAME`).
    dfid_name: Option<(FidRef<'a>, &'a [u8])>,
    /// The object itself (`FAN_EVENT_INFO_TYPE_FID`).
    fid: Option<FidRef<'a>>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

impl<'a> Event<'a> {
    /// Parses the event at the start of `b` (`struct
    /// fanotify_event_metadata` then its info records).
    fn parse(b: &'a [u8]) -> Option<Event<'a>> {
        let len = usize::try_from(u32_at(b, 0)?).ok()?;
        let vers = *b.get(4)?;
        let meta_len = usize::from(u16_at(b, 6)?);
        if vers != libc::FANOTIFY_METADATA_VERSION
            || len < META_LEN
            || meta_len < META_LEN
            || meta_len > len
        {
            return None;
        }
        let ev = b.get(..len)?;
        let mask = u64_at(ev, 8)?;
        let fd = u32_at(ev, 16)? as i32;
        let pid = u32_at(ev, 20)? as i32;
        let mut out = Event {
            len,
            mask,
            fd,
            pid,
            dfid_name: None,
            fid: None,
        };
        let mut at = meta_len;
        while at + 4 <= len {
            let typ = *ev.get(at)?;
            let rlen = usize::from(u16_at(ev, at + 2)?);
            if rlen < 4 {
                break;
            }
            let rec = ev.get(at..at.checked_add(rlen)?)?;
            at += rlen;
            // Header (4), fsid (8), struct file_handle (8 + bytes), name.
            let Some(hb) = u32_at(rec, 12).and_then(|v| usize::try_from(v).ok()) else {
                continue;
            };
            let Some(ht) = u32_at(rec, 16) else { continue };
            let Some(bytes) = rec.get(20..20 + hb) else {
                continue;
            };
            let fid = FidRef {
                handle_type: ht as i32,
                bytes,
            };
            match typ {
                libc::FAN_EVENT_INFO_TYPE_FID => out.fid = Some(fid),
                libc::FAN_EVENT_INFO_TYPE_DFID_NAME => {
                    let tail = rec.get(20 + hb..).unwrap_or(&[]);
                    let name = tail.split(|&c| c == 0).next().unwrap_or(&[]);
                    out.dfid_name = Some((fid, name));
                }
                libc::FAN_EVENT_INFO_TYPE_DFID => out.dfid_name = Some((fid, &[])),
                _ => {}
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One event with a DFID_NAME record for handle (1, [7; 8]) and `name`.
    fn event(name: &[u8], pid: i32) -> Vec<u8> {
        let mut rec = vec![libc::FAN_EVENT_INFO_TYPE_DFID_NAME, 0, 0, 0];
        rec.extend_from_slice(&[0; 8]); // fsid
        rec.extend_from_slice(&8u32.to_ne_bytes());
        rec.extend_from_slice(&1i32.to_ne_bytes());
        rec.extend_from_slice(&[7; 8]);
        rec.extend_from_slice(name);
        rec.push(0);
        let rlen = u16::try_from(rec.len()).unwrap_or(u16::MAX);
        rec[2..4].copy_from_slice(&rlen.to_ne_bytes());
        let len = u32::try_from(META_LEN + rec.len()).unwrap_or(u32::MAX);
        let mut ev = Vec::new();
        ev.extend_from_slice(&len.to_ne_bytes());
        ev.push(libc::FANOTIFY_METADATA_VERSION);
        ev.push(0);
        ev.extend_from_slice(&24u16.to_ne_bytes());
        ev.extend_from_slice(&libc::FAN_CREATE.to_ne_bytes());
        ev.extend_from_slice(&(-1i32).to_ne_bytes());
        ev.extend_from_slice(&pid.to_ne_bytes());
        ev.extend_from_slice(&rec);
        ev
    }

    #[test]
    fn parses_a_dfid_name_record() {
        let b = event(b"name", 42);
        let ev = Event::parse(&b).expect("parse");
        assert_eq!(ev.len, b.len());
        assert_eq!(ev.pid, 42);
        assert_eq!(ev.mask, libc::FAN_CREATE);
        let (dir, name) = ev.dfid_name.expect("dfid_name");
        assert_eq!((dir.handle_type, dir.bytes), (1, &[7u8; 8][..]));
        assert_eq!(name, b"name");
        assert!(ev.fid.is_none());
    }

    #[test]
    fn truncated_or_corrupt_buffers_never_panic() {
        let b = event(b"name", 42);
        for n in 0..b.len() {
            // A short buffer: no event, or one without the cut record.
            let _ = Event::parse(&b[..n]);
        }
        for i in 0..b.len() {
            for v in [0u8, 1, 0x7f, 0xff] {
                let mut c = b.clone();
                c[i] = v;
                if let Some(ev) = Event::parse(&c) {
                    assert!(ev.len >= META_LEN && ev.len <= c.len());
                }
            }
        }
    }
}
