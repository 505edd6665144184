//! POSIX ACLs (acl(5)): `FUSE_POSIX_ACL` and `FUSE_DONT_MASK`, and the
//! create mode a default ACL asks for.
//!
//! With `FUSE_POSIX_ACL` the kernel stores ACLs as the
//! `system.posix_acl_access` / `system.posix_acl_default` extended
//! attributes through the server, checks them itself (it implies
//! `default_permissions`), and keeps the mode and the access ACL in sync
//! when `setfacl` runs (fs/fuse/acl.c `fuse_set_acl`: the new mode, with
//! `S_ISGID` cleared where `posix_acl_update_mode` says so, is sent as a
//! SETATTR). With `FUSE_DONT_MASK` it no longer applies the caller's umask
//! before a create, so the server decides, as a local file system would
//! (acl(5) "OBJECT CREATION AND DEFAULT ACLs"): a parent with a default
//! ACL gives the new object that ACL, masked by the requested mode and not
//! by the umask; a parent without one gets the umask. The host kernel does
//! the first part itself when the server creates with the unmasked mode
//! (the server runs with umask 0), so the server only has to apply the
//! umask where the parent has no default ACL.

use super::PassthroughFs;
use crate::abi::{InitFlags, SetxattrFlags, mode};
use crate::errno::{Errno, Result};
use crate::host::{Host, SetAttrs};

/// The access ACL's extended attribute name.
const ACCESS: &[u8] = b"system.posix_acl_access";
/// The default ACL's extended attribute name.
const DEFAULT: &[u8] = b"system.posix_acl_default";

impl<H: Host> PassthroughFs<H> {
    /// The INIT flags for POSIX ACLs: `POSIX_ACL | DONT_MASK` when the
    /// configuration asks for them, extended attributes are served, and the
    /// host file system stores ACLs (a size query of the root's access ACL
    /// answers `ENODATA` or a size, not `EOPNOTSUPP`).
    pub(super) fn acl_flags(&self) -> InitFlags {
        if !self.cfg.posix_acl || !self.cfg.xattr {
            return InitFlags::empty();
        }
        let Some(root) = self.inodes.get(crate::abi::ROOT_ID) else {
            return InitFlags::empty();
        };
        let probe = self.with_host_xattr(ACCESS, Errno::EPERM, |h| {
            self.host.getxattr(&root.inode, h, &mut [])
        });
        match probe {
            Ok(_) | Err(Errno::ENODATA) => InitFlags::POSIX_ACL | InitFlags::DONT_MASK,
            Err(_) => InitFlags::empty(),
        }
    }

    /// Permission bits for a new object in `parent`, and the umask the host
    /// is to apply ([`Creds::umask`](crate::host::Creds::umask)): `mode` as
    /// asked when the parent has a default ACL (the host applies it), else
    /// `mode` without the caller's `umask`. A host that
    /// [applies umasks](Host::applies_umask) makes that choice itself in
    /// the create (the host and map ownership models, which record no
    /// mode); otherwise the parent's default ACL is read here. Without
    /// `FUSE_DONT_MASK` the kernel has already applied the umask (and doing
    /// it again changes nothing).
    pub(super) fn create_perm(&self, parent: &H::Inode, m: u32, umask: u32) -> (u32, u32) {
        let perm = m & mode::S_IALLUGO;
        // A default ACL mapped to another name is an opaque attribute the
        // host does not apply: then the umask is ours to apply.
        if !self.agreed().contains(InitFlags::DONT_MASK) || !self.xattr_unmapped(DEFAULT) {
            return (perm & !umask, 0);
        }
        if self.host.applies_umask() && !self.cfg.ownership.is_xattr() {
            return (perm, umask & 0o777);
        }
        if self
            .host
            .getxattr(parent, DEFAULT, &mut [])
            .is_ok_and(|n| n > 0)
        {
            (perm, 0)
        } else {
            (perm & !umask, 0)
        }
    }

    /// After a SETXATTR of `name` on `inode`: when it set the access ACL
    /// and the kernel asked for it (`FUSE_SETXATTR_ACL_KILL_SGID`: the
    /// caller is neither in the file's group nor has `CAP_FSETID`, fs/fuse/acl.c),
    /// clears `S_ISGID`, as `posix_acl_update_mode` does on a local file system.
    ///
    /// Errors: the host's stat or setattr error.
    pub(super) fn acl_kill_sgid(&self, inode: &H::Inode, name: &[u8], sf: u32) -> Result<()> {
        if name != ACCESS
            || !SetxattrFlags::from_bits_retain(sf).contains(SetxattrFlags::ACL_KILL_SGID)
        {
            return Ok(());
        }
        let st = self.host.stat(inode)?;
        if st.mode & mode::S_ISGID == 0 {
            return Ok(());
        }
        let attrs = SetAttrs {
            mode: Some(st.mode & mode::S_IALLUGO & !mode::S_ISGID),
            ..SetAttrs::default()
        };
        self.host.setattr(inode, None, &attrs).map(|_| ())
    }
}
