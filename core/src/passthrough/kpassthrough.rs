//! Kernel passthrough (`FUSE_PASSTHROUGH`, Linux 6.9+): the decision, per
//! open, whether the kernel may read and write a file's backing file itself.
//!
//! The transport registers a host file with the FUSE connection
//! (`FUSE_DEV_IOC_BACKING_OPEN`, see [`BackingFiles`]) and the open reply
//! names it (`FOPEN_PASSTHROUGH`, `fuse_open_out.backing_id`); READ, WRITE
//! and mmap of that handle then never reach the server
//! (Documentation/filesystems/fuse-passthrough.rst). One backing id per
//! inode, shared by all its passthrough handles and closed
//! (`FUSE_DEV_IOC_BACKING_CLOSE`) when the last one is released: the kernel
//! opens its own backing file per FUSE file with that file's flags, so the
//! registered descriptor's access mode does not matter.
//!
//! The kernel's inode I/O modes (fs/fuse/iomode.c) constrain the choice:
//! while an inode has a passthrough open, every open of it must be
//! passthrough (else the open fails with `EIO`); while it has a cached open
//! (neither passthrough nor `FOPEN_DIRECT_IO`), a passthrough open fails.
//! `FOPEN_DIRECT_IO` opens are neutral. So an open falls back to the normal
//! path, counted in [`PassthroughStats`], when:
//! - the guest opened with `O_DIRECT` and the inode has no passthrough open
//!   (`FOPEN_DIRECT_IO`, see `direct.rs`);
//! - the file has set-id bits that a write must clear (the backing write
//!   runs with the daemon's credentials, which keep them: `killpriv.rs`);
//! - the inode already has cached opens;
//! - the backing file could not be registered.
//!
//! The server's view of the inode's mode is never behind the kernel's: the
//! kernel drops a file from its counts before it sends RELEASE.

use super::{CacheMode, PassthroughFs};
use crate::abi::{FopenFlags, InitFlags, OpenFlags};
use crate::errno::Result;
use crate::fs::{Fh, NodeId, Opened};
use crate::host::Host;
use crate::sync::{Mutex, Ordering};
use alloc::boxed::Box;
use core::sync::atomic::AtomicU64;
use hashbrown::HashMap;

/// Registration of host files as kernel backing files, provided by the
/// transport (the `/dev/fuse` ioctls).
pub trait BackingFiles<F>: Send + Sync {
    /// Registers `file` (`FUSE_DEV_IOC_BACKING_OPEN`); the backing id.
    ///
    /// Errors: the ioctl's (`EPERM` without `CAP_SYS_ADMIN`, `ELOOP` past
    /// the stacking depth, `ENODEV` before the connection exists).
    fn open(&self, file: &F) -> Result<i32>;
    /// Unregisters `id` (`FUSE_DEV_IOC_BACKING_CLOSE`).
    fn close(&self, id: i32);
}

/// Counters of kernel passthrough decisions (monotonic).
#[derive(Debug, Default)]
pub struct PassthroughStats {
    /// Opens answered with `FOPEN_PASSTHROUGH`.
    pub passthrough: AtomicU64,
    /// Backing files registered.
    pub backing_opened: AtomicU64,
    /// Fallbacks: `O_DIRECT` open of an inode without passthrough opens.
    pub fallback_direct: AtomicU64,
    /// Fallbacks: set-id file whose bits a write must clear.
    pub fallback_setid: AtomicU64,
    /// Fallbacks: the inode had cached (non-passthrough) opens.
    pub fallback_busy: AtomicU64,
    /// Fallbacks: the ownership model must see every write
    /// (`Ownership::Xattr` keeps set-id bits and permissions in-process).
    pub fallback_ownership: AtomicU64,
    /// Fallbacks: registering the backing file failed.
    pub fallback_error: AtomicU64,
}

/// How one handle was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Kernel passthrough with this backing id.
    Passthrough(i32),
    /// The normal, cached path (counts against passthrough of the inode).
    Cached,
    /// `FOPEN_DIRECT_IO` (neutral to the kernel's inode I/O mode).
    Direct,
}

#[derive(Default)]
struct NodeState {
    backing: Option<i32>,
    passthrough: u32,
    cached: u32,
}

/// Per-inode backing ids and per-handle open modes of one connection.
pub struct KernelPassthrough<F> {
    backing: Box<dyn BackingFiles<F>>,
    /// Per-inode state; never held across the backing ioctls.
    nodes: Mutex<HashMap<NodeId, NodeState>>,
    handles: Mutex<HashMap<Fh, (NodeId, OpenMode)>>,
    stats: PassthroughStats,
}

/// Why an open may not use passthrough even on a fresh inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Veto {
    /// None: passthrough is allowed.
    None,
    /// The guest opened with `O_DIRECT`.
    Direct,
    /// The file has set-id bits a write must clear.
    SetId,
    /// The ownership model intercepts writes (`Ownership::Xattr`).
    Ownership,
}

impl<F> KernelPassthrough<F> {
    /// Passthrough registering backing files through `backing`.
    pub fn new(backing: Box<dyn BackingFiles<F>>) -> Self {
        KernelPassthrough {
            backing,
            nodes: Mutex::new(HashMap::new()),
            handles: Mutex::new(HashMap::new()),
            stats: PassthroughStats::default(),
        }
    }

    /// The decision counters.
    pub fn stats(&self) -> &PassthroughStats {
        &self.stats
    }

    /// Inodes with a registered backing file now.
    pub fn backing_files(&self) -> usize {
        self.nodes
            .lock()
            .values()
            .filter(|s| s.backing.is_some())
            .count()
    }

    /// Decides how an open of `node` on host `file` is served; `veto` says
    /// what about this open forbids starting passthrough. The result must
    /// be bound to the new handle with [`Self::bind`].
    pub fn open(&self, node: NodeId, file: &F, veto: Veto) -> OpenMode {
        {
            let mut nodes = self.nodes.lock();
            let st = nodes.entry(node).or_default();
            if let Some(id) = st.backing {
                st.passthrough += 1;
                bump(&self.stats.passthrough);
                return OpenMode::Passthrough(id);
            }
            let fallback = match veto {
                Veto::Direct => Some((OpenMode::Direct, &self.stats.fallback_direct)),
                Veto::SetId => Some((OpenMode::Cached, &self.stats.fallback_setid)),
                Veto::Ownership => Some((OpenMode::Cached, &self.stats.fallback_ownership)),
                Veto::None if st.cached > 0 => Some((OpenMode::Cached, &self.stats.fallback_busy)),
                Veto::None => None,
            };
            if let Some((mode, counter)) = fallback {
                bump(counter);
                if mode == OpenMode::Cached {
                    st.cached += 1;
                } else if st.cached == 0 && st.passthrough == 0 {
                    nodes.remove(&node);
                }
                return mode;
            }
        }
        // The ioctl runs outside the lock; the state is checked again after.
        let registered = self.backing.open(file);
        let mut nodes = self.nodes.lock();
        let st = nodes.entry(node).or_default();
        let (mode, unused) = match (registered, st.backing) {
            // Another open registered one meanwhile: share it.
            (Ok(id), Some(theirs)) => {
                st.passthrough += 1;
                bump(&self.stats.passthrough);
                (OpenMode::Passthrough(theirs), Some(id))
            }
            (Err(_), Some(theirs)) => {
                st.passthrough += 1;
                bump(&self.stats.passthrough);
                (OpenMode::Passthrough(theirs), None)
            }
            // A cached open came first: the kernel would refuse passthrough.
            (Ok(id), None) if st.cached > 0 => {
                st.cached += 1;
                bump(&self.stats.fallback_busy);
                (OpenMode::Cached, Some(id))
            }
            (Ok(id), None) => {
                bump(&self.stats.backing_opened);
                bump(&self.stats.passthrough);
                st.backing = Some(id);
                st.passthrough = 1;
                (OpenMode::Passthrough(id), None)
            }
            (Err(_), None) => {
                st.cached += 1;
                bump(&self.stats.fallback_error);
                (OpenMode::Cached, None)
            }
        };
        drop(nodes);
        if let Some(id) = unused {
            self.backing.close(id);
        }
        mode
    }

    /// Records that handle `fh` of `node` was opened in `mode`.
    pub fn bind(&self, fh: Fh, node: NodeId, mode: OpenMode) {
        if mode != OpenMode::Direct {
            self.handles.lock().insert(fh, (node, mode));
        }
    }

    /// Handle `fh` was released: the last passthrough handle of an inode
    /// closes its backing id.
    pub fn release(&self, fh: Fh) {
        let Some((node, mode)) = self.handles.lock().remove(&fh) else {
            return;
        };
        let mut close = None;
        {
            let mut nodes = self.nodes.lock();
            let Some(st) = nodes.get_mut(&node) else {
                return;
            };
            match mode {
                OpenMode::Passthrough(_) => {
                    st.passthrough = st.passthrough.saturating_sub(1);
                    if st.passthrough == 0 {
                        close = st.backing.take();
                    }
                }
                OpenMode::Cached => st.cached = st.cached.saturating_sub(1),
                OpenMode::Direct => {}
            }
            if st.passthrough == 0 && st.cached == 0 {
                nodes.remove(&node);
            }
        }
        if let Some(id) = close {
            self.backing.close(id);
        }
    }

    /// Session end: closes every backing id.
    pub fn clear(&self) {
        self.handles.lock().clear();
        let old = core::mem::take(&mut *self.nodes.lock());
        for st in old.values() {
            if let Some(id) = st.backing {
                self.backing.close(id);
            }
        }
    }
}

impl<H: Host> PassthroughFs<H> {
    /// Uses kernel passthrough, registering backing files through
    /// `backing`, where the kernel agrees to `FUSE_PASSTHROUGH` in INIT
    /// (never with the writeback cache, which the kernel refuses with it,
    /// nor with `cache=never`).
    pub fn with_kernel_passthrough(mut self, backing: Box<dyn BackingFiles<H::File>>) -> Self {
        self.kp = Some(KernelPassthrough::new(backing));
        self
    }

    /// The kernel passthrough state, when enabled ([`Self::with_kernel_passthrough`]).
    pub fn kernel_passthrough(&self) -> Option<&KernelPassthrough<H::File>> {
        self.kp.as_ref()
    }

    /// The INIT flag to ask for.
    pub(super) fn kp_init_flags(&self) -> InitFlags {
        if self.kp.is_some() && !self.cfg.writeback_cache && self.cfg.cache != CacheMode::Never {
            InitFlags::PASSTHROUGH
        } else {
            InitFlags::empty()
        }
    }

    /// How an open of `node` on `file` with guest flags `flags` is served
    /// (`None`: passthrough is off for the session). `mode`: the file's mode
    /// where the caller has just read it from the same object (a create's
    /// status), else `None` and the file is stat'ed here.
    pub(super) fn kp_decide(
        &self,
        node: NodeId,
        file: &H::File,
        flags: OpenFlags,
        mode: Option<u32>,
    ) -> Option<OpenMode> {
        let kp = self.kp.as_ref()?;
        if !self.agreed().contains(InitFlags::PASSTHROUGH) {
            return None;
        }
        let veto = if flags.contains(OpenFlags::DIRECT) {
            Veto::Direct
        } else if self.cfg.ownership.is_xattr() {
            Veto::Ownership
        } else {
            match mode.map_or_else(|| self.host.fstat(file).map(|st| st.mode), Ok) {
                Ok(m) if !must_kill_on_write(m) => Veto::None,
                _ => Veto::SetId,
            }
        };
        Some(kp.open(node, file, veto))
    }

    /// Binds `mode` to the new handle `o` and sets its reply flags.
    pub(super) fn kp_bind(&self, o: &mut Opened, node: NodeId, mode: Option<OpenMode>) {
        let (Some(kp), Some(mode)) = (self.kp.as_ref(), mode) else {
            return;
        };
        kp.bind(o.fh, node, mode);
        if let OpenMode::Passthrough(id) = mode {
            o.flags = (o.flags - FopenFlags::DIRECT_IO) | FopenFlags::PASSTHROUGH;
            o.backing_id = id;
        }
    }

    /// Handle `fh` was released.
    pub(super) fn kp_release(&self, fh: Fh) {
        if let Some(kp) = &self.kp {
            kp.release(fh);
        }
    }
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Whether a file of mode `mode` has set-id bits a write must clear (as
/// the kernel's `should_remove_suid`).
pub fn must_kill_on_write(mode: u32) -> bool {
    mode & 0o4000 != 0 || (mode & 0o2000 != 0 && mode & 0o010 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errno::Errno;
    use crate::sync::Arc;
    use alloc::vec::Vec;

    #[derive(Default)]
    struct Fake {
        next: Mutex<i32>,
        open: Mutex<Vec<i32>>,
        fail: bool,
    }

    impl BackingFiles<()> for Arc<Fake> {
        fn open(&self, _: &()) -> Result<i32> {
            if self.fail {
                return Err(Errno::EPERM);
            }
            let mut n = self.next.lock();
            *n += 1;
            self.open.lock().push(*n);
            Ok(*n)
        }
        fn close(&self, id: i32) {
            self.open.lock().retain(|&x| x != id);
        }
    }

    fn kp(fail: bool) -> (Arc<Fake>, KernelPassthrough<()>) {
        let f = Arc::new(Fake {
            fail,
            ..Fake::default()
        });
        (f.clone(), KernelPassthrough::new(Box::new(f)))
    }

    #[test]
    fn one_backing_per_inode_closed_with_last_handle() {
        let (f, k) = kp(false);
        let a = k.open(7, &(), Veto::None);
        k.bind(1, 7, a);
        let b = k.open(7, &(), Veto::None);
        k.bind(2, 7, b);
        assert_eq!(a, OpenMode::Passthrough(1));
        assert_eq!(b, a);
        assert_eq!(f.open.lock().len(), 1);
        k.release(1);
        assert_eq!(f.open.lock().len(), 1);
        k.release(2);
        assert!(f.open.lock().is_empty());
        assert_eq!(k.backing_files(), 0);
        // A released handle released again (hostile guest) changes nothing.
        k.release(2);
        assert_eq!(k.stats().backing_opened.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn direct_and_setid_fall_back_unless_inode_is_passthrough() {
        let (_f, k) = kp(false);
        assert_eq!(k.open(3, &(), Veto::Direct), OpenMode::Direct);
        assert_eq!(k.open(4, &(), Veto::SetId), OpenMode::Cached);
        assert_eq!(k.open(40, &(), Veto::Ownership), OpenMode::Cached);
        assert_eq!(k.stats().fallback_ownership.load(Ordering::Relaxed), 1);
        k.bind(10, 4, OpenMode::Cached);
        // Cached open of 4 blocks passthrough there.
        assert_eq!(k.open(4, &(), Veto::None), OpenMode::Cached);
        k.bind(11, 4, OpenMode::Cached);
        let p = k.open(5, &(), Veto::None);
        k.bind(12, 5, p);
        // An O_DIRECT open of a passthrough inode must be passthrough too.
        assert_eq!(k.open(5, &(), Veto::Direct), p);
        let s = k.stats();
        assert_eq!(s.fallback_direct.load(Ordering::Relaxed), 1);
        assert_eq!(s.fallback_setid.load(Ordering::Relaxed), 1);
        assert_eq!(s.fallback_busy.load(Ordering::Relaxed), 1);
        k.release(10);
        k.release(11);
        assert!(matches!(
            k.open(4, &(), Veto::None),
            OpenMode::Passthrough(_)
        ));
    }

    #[test]
    fn registration_failure_falls_back_and_clear_closes_all() {
        let (_f, k) = kp(true);
        assert_eq!(k.open(1, &(), Veto::None), OpenMode::Cached);
        assert_eq!(k.stats().fallback_error.load(Ordering::Relaxed), 1);
        let (f, k) = kp(false);
        let m = k.open(1, &(), Veto::None);
        k.bind(1, 1, m);
        k.clear();
        assert!(f.open.lock().is_empty());
    }

    #[test]
    fn setid_rule() {
        assert!(must_kill_on_write(0o4755));
        assert!(must_kill_on_write(0o2775));
        assert!(!must_kill_on_write(0o2765));
        assert!(!must_kill_on_write(0o755));
    }
}
