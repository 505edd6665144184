//! Directory streams over `getattrlistbulk(2)`, with cookies that stay
//! stable across READDIR calls.
//!
//! `getattrlistbulk` returns entries with all their attributes in one call
//! (the READDIRPLUS data), but its stream has no seek other than a rewind
//! (`lseek(fd, 0, SEEK_SET)`), and APFS orders large directories by name
//! hash, so a byte or hash offset cannot be handed to the guest. A cookie
//! here is the entry's index in the stream (plus 2 for `.` and `..`). A
//! stream keeps its decoded-but-undelivered records, so the usual pattern —
//! the guest's buffer fills, the next READDIR resumes at the last cookie —
//! never rewinds: the directory is read exactly once, in order, and
//! concurrent changes cannot shift cookies. Only a true seek backwards
//! rewinds and skips entries.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};

use arcbox_fs::Errno;
use arcbox_fs::errno::Result;
use arcbox_fs::host::{DirEntry, HostKey, Stat};

use super::sys;
use crate::translate::attrlist::{self, REQUEST};
use crate::translate::whence::DARWIN_SEEK_SET;

/// Size of the `getattrlistbulk` buffer of one stream.
const BULK_BUF: usize = 64 * 1024;

/// Cookies 1 and 2 follow `.` and `..`; stream entry `i` has cookie `i + 3`.
const FIRST_STREAM_COOKIE: u64 = 3;

#[derive(Debug)]
struct State {
    fd: OwnedFd,
    buf: Vec<u8>,
    /// Byte offset of the next undelivered record in `buf`.
    pos: usize,
    /// Records left in `buf` from `pos`.
    left: usize,
    /// Stream index of the record at `pos`.
    index: u64,
    /// `getattrlistbulk` reported the end.
    eof: bool,
}

/// An open directory stream (the `Host::Dir` of [`crate::MacosHost`]).
#[derive(Debug)]
pub struct MacosDir {
    state: Mutex<State>,
    key: HostKey,
}

impl MacosDir {
    /// A stream over the directory open as `fd`, whose identity is `key`.
    pub(crate) fn new(fd: OwnedFd, key: HostKey) -> MacosDir {
        let state = State {
            fd,
            buf: vec![0; BULK_BUF],
            pos: 0,
            left: 0,
            index: 0,
            eof: false,
        };
        MacosDir {
            state: Mutex::new(state),
            key,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the stream's descriptor (fsync).
    pub(crate) fn with_fd<R>(&self, f: impl FnOnce(std::os::fd::BorrowedFd<'_>) -> R) -> R {
        let g = self.lock();
        f(g.fd.as_fd())
    }

    /// Reads entries from cookie `offset`, calling `f` with each entry and,
    /// where the record carried it, its status (READDIRPLUS), until `f`
    /// returns `false` or the directory ends.
    pub(crate) fn read(
        &self,
        offset: u64,
        f: &mut dyn FnMut(DirEntry<'_>, Option<&Stat>) -> bool,
    ) -> Result<()> {
        let mut g = self.lock();
        let ino = self.key.ino;
        if offset == 0
            && !f(
                DirEntry {
                    ino,
                    next: 1,
                    typ: 4,
                    name: b".",
                },
                None,
            )
        {
            return Ok(());
        }
        if offset <= 1
            && !f(
                DirEntry {
                    ino,
                    next: 2,
                    typ: 4,
                    name: b"..",
                },
                None,
            )
        {
            return Ok(());
        }
        let target = offset.saturating_sub(FIRST_STREAM_COOKIE - 1);
        if target < g.index {
            rewind(&mut g)?;
        }
        // Skip forward to `target` (a seek; sequential reads skip nothing).
        while g.index < target {
            match next_record(&mut g)? {
                Some(_) => advance(&mut g)?,
                None => return Ok(()),
            }
        }
        loop {
            let Some(consumed) = next_record(&mut g)? else {
                return Ok(());
            };
            let st = g.pos;
            let rec = g.buf.get(st..st + consumed).ok_or(Errno::EIO)?;
            let entry = attrlist::parse(rec, 1, REQUEST)?
                .next()
                .ok_or(Errno::EIO)??;
            let next = g
                .index
                .checked_add(FIRST_STREAM_COOKIE)
                .ok_or(Errno::EOVERFLOW)?;
            if let (Some(typ), Some(ino)) = (entry.linux_dtype(), entry.fileid) {
                let stat = entry.linux_stat();
                if !f(
                    DirEntry {
                        ino,
                        next,
                        typ,
                        name: entry.name,
                    },
                    stat.as_ref(),
                ) {
                    return Ok(());
                }
            }
            advance(&mut g)?;
        }
    }
}

/// Restarts the stream at its first entry.
fn rewind(g: &mut State) -> Result<()> {
    sys::lseek(g.fd.as_fd(), 0, DARWIN_SEEK_SET)?;
    g.pos = 0;
    g.left = 0;
    g.index = 0;
    g.eof = false;
    Ok(())
}

/// Length of the record at `pos`, refilling the buffer when it is used up;
/// `None` at the end of the directory.
fn next_record(g: &mut State) -> Result<Option<usize>> {
    if g.left == 0 {
        if g.eof {
            return Ok(None);
        }
        let State { fd, buf, .. } = g;
        let n = sys::getattrlistbulk(fd.as_fd(), &REQUEST, buf)?;
        if n == 0 {
            g.eof = true;
            return Ok(None);
        }
        g.pos = 0;
        g.left = n;
    }
    let len_bytes = g.buf.get(g.pos..g.pos + 4).ok_or(Errno::EIO)?;
    let len = u32::from_ne_bytes(len_bytes.try_into().map_err(|_| Errno::EIO)?);
    let len = usize::try_from(len).map_err(|_| Errno::EIO)?;
    let end = g.pos.checked_add(len).ok_or(Errno::EIO)?;
    if len < 4 || end > g.buf.len() {
        return Err(Errno::EIO);
    }
    Ok(Some(len))
}

/// Steps past the record at `pos`.
fn advance(g: &mut State) -> Result<()> {
    let len = next_record(g)?.ok_or(Errno::EIO)?;
    g.pos += len;
    g.left -= 1;
    g.index = g.index.checked_add(1).ok_or(Errno::EOVERFLOW)?;
    Ok(())
}
