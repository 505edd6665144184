//! Per-request credentials: act as the guest's caller while creating.
//!
//! A new object must be owned by the caller, and by the parent's group
//! when the parent directory is set-group-id. Creating under the caller's
//! filesystem uid and gid lets the kernel apply exactly those rules (and
//! the caller's permission checks) in one step, with no window where the
//! object exists with the server's ownership.
//!
//! `setfsuid`, `setfsgid` and `setgroups` are issued as raw system calls,
//! which change only the calling thread's credentials; the guard restores
//! them on drop, on every path.

use crate::sys;
use arcbox_fs::host::Creds;

/// Most supplementary groups kept across a switch (the kernel's
/// `NGROUPS_MAX` is 65536; a server with more than this many is refused
/// the extra group instead of allocating).
const MAX_SAVED_GROUPS: usize = 64;

/// While alive, the calling thread creates files as `creds`.
pub(crate) struct CredsGuard {
    /// `(fsuid, fsgid)` to restore, `None` when nothing was switched.
    saved: Option<(u32, u32)>,
    /// Supplementary groups to restore, when they were changed.
    groups: Option<([u32; MAX_SAVED_GROUPS], usize)>,
}

impl CredsGuard {
    /// Switches the calling thread to `creds`. With `privileged == false`
    /// (the server is not root) nothing changes: objects are created as
    /// the server's own user, the best an unprivileged server can do.
    pub(crate) fn switch(creds: &Creds, privileged: bool) -> CredsGuard {
        let mut guard = CredsGuard {
            saved: None,
            groups: None,
        };
        if !privileged {
            return guard;
        }
        let (uid, gid) = (sys::fsuid(), sys::fsgid());
        if uid == creds.uid && gid == creds.gid && creds.supp_gid.is_none() {
            return guard;
        }
        guard.saved = Some((uid, gid));
        sys::setfsgid(creds.gid);
        if let Some(supp) = creds.supp_gid {
            let mut buf = [0u32; MAX_SAVED_GROUPS];
            if let Ok(n) = sys::getgroups(&mut buf[..MAX_SAVED_GROUPS - 1]) {
                let mut with = buf;
                if let Some(slot) = with.get_mut(n) {
                    *slot = supp;
                    if sys::setgroups_thread(&with[..=n]).is_ok() {
                        guard.groups = Some((buf, n));
                    }
                }
            }
        }
        sys::setfsuid(creds.uid);
        guard
    }
}

impl Drop for CredsGuard {
    fn drop(&mut self) {
        if let Some((uid, gid)) = self.saved {
            sys::setfsuid(uid);
            if let Some((buf, n)) = &self.groups {
                // Cannot fail: the same groups were set a moment ago.
                let _ = sys::setgroups_thread(buf.get(..*n).unwrap_or(&[]));
            }
            sys::setfsgid(gid);
        }
    }
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
