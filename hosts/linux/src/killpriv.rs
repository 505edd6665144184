//! Killing set-user-id, set-group-id and `security.capability` on write.
//!
//! The kernel's write path (`file_remove_privs`) removes these exactly as
//! POSIX and Linux want (`S_ISGID` only with group-execute, only on regular
//! files, with the `S_NOSEC` fast path) when the writer lacks
//! `CAP_FSETID`. A privileged server writing for an unprivileged guest
//! caller drops `CAP_FSETID` from the calling thread's effective set for
//! the duration of the write, as virtiofsd does (CVE-2021-20263's fix).

use rustix::thread::{CapabilitySet, CapabilitySets};

/// While alive, the calling thread writes without `CAP_FSETID`.
pub(crate) struct NoFsetid {
    restore: Option<CapabilitySets>,
}

impl NoFsetid {
    /// Drops `CAP_FSETID` from this thread's effective capabilities when
    /// it has it.
    pub(crate) fn enter() -> NoFsetid {
        let Some(caps) = current() else {
            return NoFsetid { restore: None };
        };
        if !caps.effective.contains(CapabilitySet::FSETID) {
            return NoFsetid { restore: None };
        }
        let mut less = caps;
        less.effective.remove(CapabilitySet::FSETID);
        match rustix::thread::set_capabilities(None, less) {
            Ok(()) => NoFsetid {
                restore: Some(caps),
            },
            Err(_) => NoFsetid { restore: None },
        }
    }
}

impl Drop for NoFsetid {
    fn drop(&mut self) {
        if let Some(caps) = self.restore {
            // Raising an effective capability that is still permitted cannot fail.
            let _ = rustix::thread::set_capabilities(None, caps);
        }
    }
}

/// This thread's capabilities, when readable.
fn current() -> Option<CapabilitySets> {
    rustix::thread::capabilities(None).ok()
}

/// Whether this thread has `CAP_FSETID` (so writes keep set-id bits unless
/// [`NoFsetid`] is entered).
pub(crate) fn has_fsetid() -> bool {
    current().is_some_and(|c| c.effective.contains(CapabilitySet::FSETID))
}
