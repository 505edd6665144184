//! [`File`]: an inode open for I/O, with per-owner POSIX locks.

use crate::errno::IntoWire;
use crate::shared::Shared;
use arcbox_fs::Errno;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::OFlags;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// [`arcbox_fs::host::Host::File`] of [`crate::LinuxHost`]: a regular file or
/// directory open for I/O.
///
/// POSIX record locks are open-file-description (OFD) locks taken on a
/// separate description per lock owner (a reopen of this file), so guest
/// processes sharing one FUSE handle still conflict with each other as
/// POSIX requires, and releasing an owner's locks is closing its
/// description.
pub struct File {
    fd: OwnedFd,
    /// `O_RDONLY` / `O_WRONLY` / `O_RDWR` of the open, for lock descriptions.
    access: OFlags,
    shared: Arc<Shared>,
    /// Lock owner → its open file description.
    owners: Mutex<HashMap<u64, Arc<OwnedFd>>>,
}

impl File {
    pub(crate) fn new(fd: OwnedFd, flags: OFlags, shared: Arc<Shared>) -> File {
        let access = flags & (OFlags::RDONLY | OFlags::WRONLY | OFlags::RDWR);
        File {
            fd,
            access,
            shared,
            owners: Mutex::new(HashMap::new()),
        }
    }

    /// The I/O descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn owners(&self) -> MutexGuard<'_, HashMap<u64, Arc<OwnedFd>>> {
        self.owners.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The description carrying `owner`'s locks, made on first use.
    pub(crate) fn owner_fd(&self, owner: u64) -> Result<Arc<OwnedFd>, Errno> {
        if let Some(fd) = self.owners().get(&owner) {
            return Ok(fd.clone());
        }
        let fd = Arc::new(
            self.shared
                .reopen(self.fd.as_fd(), self.access | OFlags::NONBLOCK)
                .wire()?,
        );
        Ok(self.owners().entry(owner).or_insert(fd).clone())
    }

    /// The description of `owner`, if it ever locked.
    pub(crate) fn existing_owner_fd(&self, owner: u64) -> Option<Arc<OwnedFd>> {
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
