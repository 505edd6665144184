//! [`Dir`]: a directory stream, opened at its first use, and `getdents64`
//! reading.
//!
//! OPENDIR only makes the stream: the descriptor, its slot of the guest's
//! descriptor budget and the read buffer come with the first READDIR or
//! FSYNCDIR. A guest kernel that lists from its own cache
//! (`FOPEN_CACHE_DIR`) opens and releases a directory with no host system
//! call at all, as `git status` does for every directory of a work tree.
//! Only directories held by file handle wait: their open cannot fail for
//! want of permission (`open_by_handle_at` needs `CAP_DAC_READ_SEARCH`,
//! which also lets the process read every directory), and an error it does
//! meet (`EMFILE` past the budget, `ESTALE` for a directory removed since)
//! is the first READDIR's answer. A directory held by its own descriptor
//! (no file handles: often an unprivileged server) is opened by OPENDIR,
//! whose answer is then the open's.

use crate::budget::FdSlot;
use crate::errno::IntoWire;
use crate::inode::DirOpener;
use arcbox_fs::Errno;
use arcbox_fs::abi::mode;
use arcbox_fs::host::DirEntry;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{RawDir, SeekFrom};
use std::mem::MaybeUninit;
use std::sync::{Mutex, MutexGuard};

/// Size of the `getdents64` buffer of each stream.
const BUF_LEN: usize = 8 * 1024;

/// [`arcbox_fs::host::Host::Dir`] of [`crate::LinuxHost`]: a directory
/// stream, opened on first use (see the module docs). Uses of one stream
/// are serialised (the seek and the `getdents64` that follows must not
/// interleave).
pub struct Dir {
    opener: DirOpener,
    open: Mutex<Option<Stream>>,
}

/// An open stream: the descriptor, its budget slot and the read buffer.
struct Stream {
    fd: OwnedFd,
    buf: Vec<MaybeUninit<u8>>,
    _slot: FdSlot,
}

impl Dir {
    /// A stream of the directory `opener` opens, not yet open.
    pub(crate) fn new(opener: DirOpener) -> Dir {
        Dir {
            opener,
            open: Mutex::new(None),
        }
    }

    /// The open stream, opened now if it is not yet.
    fn stream(&self) -> Result<MutexGuard<'_, Option<Stream>>, Errno> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.is_none() {
            let slot = self.opener.shared().budget.acquire()?;
            let fd = self.opener.open().wire()?;
            let mut buf = Vec::new();
            buf.resize(BUF_LEN, MaybeUninit::uninit());
            *open = Some(Stream {
                fd,
                buf,
                _slot: slot,
            });
        }
        Ok(open)
    }

    /// Runs `f` on the stream's descriptor (opening it first if need be).
    pub(crate) fn with_fd<T>(&self, f: impl FnOnce(BorrowedFd<'_>) -> T) -> Result<T, Errno> {
        let open = self.stream()?;
        let s = open.as_ref().ok_or(Errno::EIO)?;
        Ok(f(s.fd.as_fd()))
    }

    /// Entries from cookie `offset` (a `d_off` this stream returned, or 0),
    /// until `f` returns false or the directory ends.
    ///
    /// See [getdents64(2)](https://man7.org/linux/man-pages/man2/getdents64.2.html).
    pub(crate) fn read(
        &self,
        offset: u64,
        f: &mut dyn FnMut(DirEntry<'_>) -> bool,
    ) -> Result<(), Errno> {
        let mut open = self.stream()?;
        let s = open.as_mut().ok_or(Errno::EIO)?;
        rustix::fs::seek(&s.fd, SeekFrom::Start(offset)).wire()?;
        let mut dir = RawDir::new(s.fd.as_fd(), &mut s.buf);
        while let Some(entry) = dir.next() {
            let entry = entry.wire()?;
            let raw_type = entry.file_type().as_raw_mode();
            let typ = if raw_type == mode::S_IFMT {
                0
            } else {
                mode::dtype(raw_type)
            };
            let e = DirEntry {
                ino: entry.ino(),
                next: entry.next_entry_cookie(),
                typ,
                name: entry.file_name().to_bytes(),
            };
            if !f(e) {
                break;
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for Dir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let open = self.open.lock().map(|o| o.is_some()).unwrap_or(false);
        f.debug_struct("Dir").field("open", &open).finish()
    }
}
