//! Per-request credentials: act as the guest's caller while creating.
//!
//! A new object must be owned by the caller, and by the parent's group
//! when the parent directory is set-group-id. Creating under the caller's
//! filesystem uid and gid lets the kernel apply exactly those rules (and
//! the caller's permission checks) in one step, with no window where the
//! object exists with the server's ownership.
//!
//! The caller's supplementary groups are exactly the request's (the one
//! group of `FUSE_EXT_GROUPS`, or none): never the server's own, which
//! would let a guest user create in a directory only the server's groups
//! may enter (the pattern of CVE-2022-0358 in virtiofsd).
//! [`crate::LinuxHost`] also drops the process's supplementary groups at
//! construction.
//!
//! `setfsuid`, `setfsgid` and `setgroups` are issued as raw system calls,
//! which change only the calling thread's credentials; the guard restores
//! them on drop, on every path.

use crate::sys;
use arcbox_fs::host::Creds;

/// Most supplementary groups of the thread restored after a switch (the
/// kernel's `NGROUPS_MAX` is 65536). A thread with more is restored to none:
/// a server's threads normally have none (see the module docs).
const MAX_SAVED_GROUPS: usize = 64;

/// While alive, the calling thread creates files as `creds`.
pub(crate) struct CredsGuard {
    /// `(fsuid, fsgid)` to restore, `None` when nothing was switched.
    saved: Option<(u32, u32)>,
    /// The thread's supplementary groups before the switch.
    groups: [u32; MAX_SAVED_GROUPS],
    ngroups: usize,
}

impl CredsGuard {
    /// Switches the calling thread to `creds`: filesystem uid and gid, and
    /// exactly the request's supplementary groups. With
    /// `privileged == false` (the server is not root) nothing changes:
    /// objects are created as the server's own user, the best an
    /// unprivileged server can do.
    pub(crate) fn switch(creds: &Creds, privileged: bool) -> CredsGuard {
        let mut guard = CredsGuard {
            saved: None,
            groups: [0; MAX_SAVED_GROUPS],
            ngroups: 0,
        };
        if !privileged {
            return guard;
        }
        let wanted: &[u32] = match &creds.supp_gid {
            Some(g) => core::slice::from_ref(g),
            None => &[],
        };
        // More groups than fit: restore to none (see MAX_SAVED_GROUPS).
        let n = sys::getgroups(&mut guard.groups).unwrap_or(0);
        guard.ngroups = n;
        let (uid, gid) = (sys::fsuid(), sys::fsgid());
        if uid == creds.uid && gid == creds.gid && guard.groups.get(..n) == Some(wanted) {
            return guard;
        }
        guard.saved = Some((uid, gid));
        sys::setfsgid(creds.gid);
        // Cannot fail for a thread that may switch ids (CAP_SETGID); if it
        // does, none rather than the server's own.
        if sys::setgroups_thread(wanted).is_err() {
            let _ = sys::setgroups_thread(&[]);
        }
        sys::setfsuid(creds.uid);
        guard
    }
}

impl Drop for CredsGuard {
    fn drop(&mut self) {
        if let Some((uid, gid)) = self.saved {
            sys::setfsuid(uid);
            let _ = sys::setgroups_thread(self.groups.get(..self.ngroups).unwrap_or(&[]));
            sys::setfsgid(gid);
        }
    }
}

/// Drops the process's supplementary groups (every thread), where the
/// process may; see the module docs. Once per process: the call reaches
/// every thread, so a second host built while a first one serves would
/// reset the groups a worker had just set for its request (a request
/// created files without the group it was allowed).
pub(crate) fn drop_process_groups() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = sys::drop_process_groups();
    });
}

/// Whether the process may switch filesystem ids (it is root, or has
/// `CAP_SETUID` and `CAP_SETGID`).
pub(crate) fn can_switch() -> bool {
    let uid = sys::fsuid();
    let probe = if uid == 0 { 1 } else { 0 };
    sys::setfsuid(probe);
    let switched = sys::fsuid() == probe;
    sys::setfsuid(uid);
    switched
}
