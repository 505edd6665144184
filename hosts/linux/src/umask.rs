//! The request's umask on the creating thread (`FUSE_DONT_MASK`,
//! [`Creds::umask`](arcbox_fs::host::Creds::umask)).
//!
//! A local create applies the caller's umask unless the parent directory
//! has a default ACL, whose entries apply instead (acl(5) "OBJECT CREATION
//! AND DEFAULT ACLS"; the kernel's `mode_strip_umask` and
//! `posix_acl_create`). Creating with the requested mode under the
//! request's umask lets the host kernel make that choice in the same step
//! as the create, with no look at the parent's ACL first.
//!
//! The umask belongs to a `fs_struct`, which a process's threads share. A
//! thread therefore first takes its own with `unshare(CLONE_FS)`, once.
//! That also stops it sharing the working directory and root with the other
//! threads. The host never uses either: every path is relative to a
//! descriptor. The umask is set back after each create. Where the thread
//! cannot have its own (a seccomp filter refuses `unshare`), [`UmaskGuard::set`]
//! says so, and the host applies the umask itself.
//!
//! See [umask(2)](https://man7.org/linux/man-pages/man2/umask.2.html),
//! [unshare(2)](https://man7.org/linux/man-pages/man2/unshare.2.html).

use rustix::fs::Mode;
use rustix::thread::UnshareFlags;
use std::cell::Cell;

/// This thread's `fs_struct`: not yet asked for, its own, or not to be had.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OwnFs {
    Unknown,
    Own,
    Shared,
}

thread_local! {
    static OWN_FS: Cell<OwnFs> = const { Cell::new(OwnFs::Unknown) };
}

/// Whether the calling thread has (or now takes) a umask of its own.
fn own_fs() -> bool {
    OWN_FS.with(|s| {
        if s.get() == OwnFs::Unknown {
            // SAFETY: CLONE_FS alone only gives this thread its own copy of
            // the root, working directory and umask; descriptors stay shared.
            let r = unsafe { rustix::thread::unshare_unsafe(UnshareFlags::FS) };
            s.set(if r.is_ok() { OwnFs::Own } else { OwnFs::Shared });
        }
        s.get() == OwnFs::Own
    })
}

/// While alive, the calling thread creates under a given umask.
#[derive(Debug)]
pub(crate) struct UmaskGuard {
    /// The umask to restore.
    old: Mode,
}

impl UmaskGuard {
    /// Sets the calling thread's umask to `umask` (permission bits) until
    /// drop. `None` when the thread cannot have a umask of its own; then
    /// nothing changed.
    pub(crate) fn set(umask: u32) -> Option<UmaskGuard> {
        if !own_fs() {
            return None;
        }
        let old = rustix::process::umask(Mode::from_bits_truncate(umask & 0o777));
        Some(UmaskGuard { old })
    }
}

impl Drop for UmaskGuard {
    fn drop(&mut self) {
        rustix::process::umask(self.old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Reads the calling thread's umask (setting it back at once).
    fn current() -> Mode {
        let m = rustix::process::umask(Mode::empty());
        rustix::process::umask(m);
        m
    }

    /// On a thread of its own: the umask applies to a create there, is
    /// restored after, and never reaches the process's other threads.
    #[test]
    fn applies_on_this_thread_only_and_is_restored() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let (set_tx, set_rx) = std::sync::mpsc::channel();
        let (seen_tx, seen_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            let Some(g) = UmaskGuard::set(0o027) else {
                eprintln!("SKIP: unshare(CLONE_FS) refused here");
                set_tx.send(false).unwrap();
                return;
            };
            assert_eq!(current(), Mode::from_bits_truncate(0o027));
            std::fs::create_dir(d.join("a")).unwrap();
            set_tx.send(true).unwrap();
            seen_rx.recv().unwrap();
            let old = g.old;
            drop(g);
            assert_eq!(current(), old, "not restored");
            let mode = std::fs::metadata(d.join("a")).unwrap().permissions().mode();
            // /tmp has no default ACL here: 0777 & !0027.
            assert_eq!(mode & 0o777, 0o750);
        });
        if set_rx.recv().unwrap() {
            // This thread shares the process's fs_struct, not the other's.
            assert_ne!(
                current(),
                Mode::from_bits_truncate(0o027),
                "another thread saw this thread's umask"
            );
            seen_tx.send(()).unwrap();
        }
        t.join().unwrap();
    }
}
