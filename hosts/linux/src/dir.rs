//! [`Dir`]: an open directory stream and `getdents64` reading.

use crate::budget::FdSlot;
use crate::errno::IntoWire;
use arcbox_fs::Errno;
use arcbox_fs::abi::mode;
use arcbox_fs::host::DirEntry;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{RawDir, SeekFrom};
use std::mem::MaybeUninit;
use std::sync::Mutex;

/// Size of the `getdents64` buffer of each stream.
const BUF_LEN: usize = 8 * 1024;

/// [`arcbox_fs::host::Host::Dir`] of [`crate::LinuxHost`]: a directory
/// descriptor and its read buffer. Reads of one stream are serialised
/// (the seek and the `getdents64` that follows must not interleave).
pub struct Dir {
    fd: OwnedFd,
    buf: Mutex<Vec<MaybeUninit<u8>>>,
    _slot: FdSlot,
}

impl Dir {
    /// A stream on `fd`, holding `slot` of the guest's descriptor budget.
    pub(crate) fn new(fd: OwnedFd, slot: FdSlot) -> Dir {
        let mut buf = Vec::new();
        buf.resize(BUF_LEN, MaybeUninit::uninit());
        Dir {
            fd,
            buf: Mutex::new(buf),
            _slot: slot,
        }
    }

    /// The descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
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
        let mut buf = self.buf.lock().unwrap_or_else(|e| e.into_inner());
        rustix::fs::seek(&self.fd, SeekFrom::Start(offset)).wire()?;
        let mut dir = RawDir::new(self.fd.as_fd(), &mut buf);
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
        f.debug_struct("Dir").field("fd", &self.fd).finish()
    }
}
