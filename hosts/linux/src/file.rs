//! [`File`]: an inode open for I/O, with per-owner POSIX locks.

use crate::budget::FdSlot;
use crate::errno::IntoWire;
use crate::shared::Shared;
use arcbox_fs::Errno;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::OFlags;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// [`arcbox_fs::host::Host::File`] of [`crate::LinuxHost`]: a regular file or
/// directory open for I/O.
///
/// POSIX record locks are open-file-description (OFD) locks taken on a
/// separate description per lock owner (a reopen of this file), so guest
/// processes sharing one FUSE handle still conflict with each other as
/// POSIX requires, and releasing an owner's locks is closing its
/// description.
///
/// Each description (the file's and every lock owner's) holds a slot of the
/// guest's descriptor budget.
pub struct File {
    fd: OwnedFd,
    /// `O_RDONLY` / `O_WRONLY` / `O_RDWR` of the open, for lock descriptions.
    access: OFlags,
    shared: Arc<Shared>,
    /// Lock owner → its open file description.
    owners: Mutex<HashMap<u64, Arc<OwnerFd>>>,
    /// The write limit of the file's file system, found on first use.
    max_size: OnceLock<u64>,
    _slot: FdSlot,
}

/// A lock owner's open file description and its budget slot.
#[derive(Debug)]
pub(crate) struct OwnerFd {
    fd: OwnedFd,
    _slot: FdSlot,
}

impl AsFd for OwnerFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl File {
    pub(crate) fn new(fd: OwnedFd, flags: OFlags, shared: Arc<Shared>, slot: FdSlot) -> File {
        let access = flags & (OFlags::RDONLY | OFlags::WRONLY | OFlags::RDWR);
        File {
            fd,
            access,
            shared,
            owners: Mutex::new(HashMap::new()),
            max_size: OnceLock::new(),
            _slot: slot,
        }
    }

    /// The largest end offset a write may reach (see [`crate::limits`]).
    pub(crate) fn max_size(&self) -> u64 {
        *self
            .max_size
            .get_or_init(|| crate::limits::max_file_size(self.fd.as_fd()))
    }

    /// The I/O descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn owners(&self) -> MutexGuard<'_, HashMap<u64, Arc<OwnerFd>>> {
        self.owners.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The description carrying `owner`'s locks, made on first use.
    /// A new owner takes a budget slot: `EMFILE` when the guest holds its
    /// whole descriptor budget.
    pub(crate) fn owner_fd(&self, owner: u64) -> Result<Arc<OwnerFd>, Errno> {
        if let Some(fd) = self.owners().get(&owner) {
            return Ok(fd.clone());
        }
        let slot = self.shared.budget.acquire()?;
        let fd = Arc::new(OwnerFd {
            fd: self
                .shared
                .reopen(self.fd.as_fd(), self.access | OFlags::NONBLOCK)
                .wire()?,
            _slot: slot,
        });
        Ok(self.owners().entry(owner).or_insert(fd).clone())
    }

    /// The description of `owner`, if it ever locked.
    pub(crate) fn existing_owner_fd(&self, owner: u64) -> Option<Arc<OwnerFd>> {
        self.owners().get(&owner).cloned()
    }

    /// Releases every POSIX lock of `owner` (closes its description).
    pub(crate) fn release_owner(&self, owner: u64) {
        let fd = self.owners().remove(&owner);
        drop(fd);
    }
}

/// The open file's descriptor, e.g. for a VMM's DAX mapper to `mmap(2)`.
/// Borrowed: the file stays owned by the passthrough.
impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("fd", &self.fd)
            .field("access", &self.access)
            .finish()
    }
}
