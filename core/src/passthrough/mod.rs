//! A passthrough filesystem over a [`Host`]: the logic every host shares,
//! written once.
//!
//! [`PassthroughFs`] maps FUSE node ids to host inodes ([`inodes`]), FUSE
//! file handles to open host files ([`handles`]), answers repeated misses from
//! a [`SizedNegativeCache`](crate::negcache::SizedNegativeCache) and tells the guest to cache them too (a nodeid-0 entry
//! with a timeout), creates objects owned by the requesting uid/gid with the
//! guest's umask applied, and combines small sequential writes
//! ([`wcombine`]). Every name is a validated [`Name`]; every host call
//! resolves one component relative to a handle (see [`crate::host`]).

mod acl;
mod attr;
mod config;
pub mod dax;
mod direct;
mod export;
mod forgotten;
pub mod handles;
pub mod inodes;
mod killpriv;
pub mod kpassthrough;
pub mod lockwait;
pub mod ownership;
pub mod wcombine;
mod xattr;

pub use attr::{decode_dev, to_attr, to_statx};
pub use config::{
    CacheMode, DEFAULT_EXPORT_CAPACITY, DEFAULT_NEGATIVE_CACHE_CAPACITY, FsConfig,
    PassthroughConfig,
};
pub use dax::{DaxConfig, DaxMapper, DaxMapping, DaxWindow};
pub use ownership::{IdMap, IdMapError, Ownership};

use crate::abi::{
    CopyFileRangeIn, FallocateIn, FallocateMode, FileLock, FopenFlags, InitFlags, Kstatfs, LkFlags,
    LkIn, OpenFlags, OpenInFlags, PATH_MAX, RemovemappingOne, RenameFlags, SetattrIn, SetattrValid,
    SetupmappingIn, Whence, WriteFlags, mode,
};
use crate::dirent::DirSink;
use crate::errno::{Errno, Result};
use crate::fs::{
    AttrReply, Context, CreateArgs, Entry, Fh, FileSystem, KernelInit, NodeId, OpenArgs, Opened,
    StatxReply, XattrReply,
};
use crate::host::{Creds, Host, HostChange, SetAttrs, SetTime, Stat};
use crate::io::{ReplyData, RequestData};
use crate::name::Name;
use crate::negcache::SizedNegativeCache;
use crate::sync::{Arc, AtomicU32, Mutex, Ordering};
use crate::time::{Instant, Timespec};
use alloc::vec::Vec;
use handles::HandleTable;
use inodes::{InodeData, InodeTable};
use wcombine::WriteCombiner;

/// An open file or directory.
pub(crate) struct Handle<H: Host> {
    /// The inode it was opened on.
    pub inode: Arc<InodeData<H::Inode>>,
    /// What is open.
    pub kind: HandleKind<H>,
}

/// The host object behind a [`Handle`].
pub(crate) enum HandleKind<H: Host> {
    /// A file, with its write combiner.
    File {
        /// The host file.
        file: H::File,
        /// Its access mode (`O_RDONLY` / `O_WRONLY` / `O_RDWR` bits), for DAX.
        access: OpenFlags,
        /// Pending small sequential writes.
        wc: WriteCombiner,
        /// Sequential-read detection for readahead hints.
        seq: Mutex<ReadSeq>,
    },
    /// A directory stream.
    Dir(H::Dir),
}

/// A guest cache entry made stale by a change on the host (see
/// [`PassthroughFs::process_host_changes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalidation<'a> {
    /// The name `name` in directory `parent` changed.
    Entry {
        /// Directory node id.
        parent: NodeId,
        /// The name.
        name: Name<'a>,
    },
    /// The attributes or data of this node changed, or (a directory) any of
    /// its names, by anyone, possibly the guest itself through the server.
    Inode(NodeId),
    /// Another host process changed this file's data or attributes (from
    /// [`HostChange::Data`]): the guest's cached pages and attributes are
    /// stale, and dropping them cannot race the guest's own writes.
    Data {
        /// The file's node id.
        node: NodeId,
        /// Its directory's node id and its name, when the host says and the
        /// guest knows the directory.
        entry: Option<(NodeId, Name<'a>)>,
    },
    /// Events were lost: everything may be stale.
    All,
}

/// Where the last read of a handle ended, and whether the host was told the
/// handle reads sequentially.
#[derive(Debug, Default)]
pub(crate) struct ReadSeq {
    last_end: u64,
    advised: bool,
}

/// The passthrough's negative cache: 8-way sets, as many as
/// [`PassthroughConfig::negative_cache_capacity`] asks for, allocated once
/// at construction (on the heap, never on a thread stack).
pub type PtNegCache = SizedNegativeCache<8>;

/// A passthrough filesystem over host `H`. See the module docs.
pub struct PassthroughFs<H: Host> {
    host: H,
    cfg: PassthroughConfig,
    inodes: InodeTable<H::Inode, H::Export>,
    /// Export support is on (configured, and the host can reopen objects).
    export: bool,
    handles: HandleTable<Handle<H>>,
    neg: PtNegCache,
    /// Negotiated INIT flags (low, high words).
    agreed: [AtomicU32; 2],
    /// Handles with combined writes not yet on the host, per node (rarely > 0).
    pending_writes: AtomicU32,
    /// SETLKW requests waiting for a lock.
    lock_waits: lockwait::LockWaits,
    last_drain: Mutex<Instant>,
    /// Without OPENDIR ([`Self::no_opendir`]): the last directory stream a
    /// READDIR opened, reused by the next READDIR of the same node (one
    /// listing takes many), so that a listing is one open, not one per
    /// request.
    last_dir: Mutex<Option<(Arc<InodeData<H::Inode>>, Arc<H::Dir>)>>,
    /// The DAX window, when the embedder gave one ([`Self::with_dax`]).
    dax: Option<DaxWindow<H::File>>,
    /// Nodes whose set-id bits were cleared behind the kernel's cache.
    stale: killpriv::StaleAttrs,
    /// Kernel passthrough, when the embedder gave backing files.
    kp: Option<kpassthrough::KernelPassthrough<H::File>>,
    /// Extended attribute name mapping ([`Self::with_xattrmap`]).
    xattrmap: Option<crate::xattrmap::XattrMap>,
}

impl<H: Host> PassthroughFs<H> {
    /// A passthrough of `host`'s shared directory.
    ///
    /// Errors: whatever the host's `root()` fails with.
    pub fn new(host: H, cfg: PassthroughConfig) -> Result<Self> {
        let (root, st) = host.root()?;
        let export = cfg.export_support && host.can_export();
        let kept = if export { cfg.export_capacity } else { 0 };
        Ok(PassthroughFs {
            inodes: InodeTable::with_forgotten(st.key, root, kept),
            export,
            handles: HandleTable::new(),
            neg: PtNegCache::with_capacity(if cfg.negative_cache {
                cfg.negative_cache_capacity
            } else {
                0
            }),
            host,
            cfg,
            agreed: [AtomicU32::new(0), AtomicU32::new(0)],
            pending_writes: AtomicU32::new(0),
            lock_waits: lockwait::LockWaits::new(),
            last_drain: Mutex::new(Instant::ZERO),
            last_dir: Mutex::new(None),
            dax: None,
            stale: killpriv::StaleAttrs::new(),
            kp: None,
            xattrmap: None,
        })
    }

    /// Serves FUSE_SETUPMAPPING / FUSE_REMOVEMAPPING through `mapper` in a
    /// DAX window shaped by `cfg` (see [`dax`]); announce the same alignment
    /// in INIT ([`crate::DispatcherConfig::map_alignment`]). Without a
    /// window both answer `ENOSYS`. `EINVAL` for a bad `cfg`.
    pub fn with_dax(
        mut self,
        mapper: alloc::boxed::Box<dyn DaxMapper<H::File>>,
        cfg: DaxConfig,
    ) -> Result<Self> {
        self.dax = Some(DaxWindow::new(mapper, cfg)?);
        Ok(self)
    }

    /// The DAX window, if any.
    pub fn dax(&self) -> Option<&DaxWindow<H::File>> {
        self.dax.as_ref()
    }

    /// SETUPMAPPING without a handle (`fh` = [`dax::NO_FH`], what Linux
    /// guests send: their DAX ranges belong to the inode, fs/fuse/dax.c): the
    /// inode is opened for the mapping alone (read-write for a writable one),
    /// handed to the mapper and closed again; the VMM's mapping keeps the
    /// file open (mmap(2)).
    fn setupmapping_inode(
        &self,
        dax: &DaxWindow<H::File>,
        node: NodeId,
        arg: &SetupmappingIn,
    ) -> Result<()> {
        dax.check(arg)?;
        let d = self.inode(node)?;
        // Combined writes must be on the host before the guest reads the window.
        #[allow(clippy::let_unit_value)]
        let _ = self.flush_node(node);
        let writable = arg.flags & crate::abi::SetupmappingFlags::WRITE.bits() != 0;
        let access = if writable {
            OpenFlags::RDWR
        } else {
            OpenFlags::empty()
        };
        let file = self.host.open(&d.inode, access)?;
        dax.setup(node, arg.fh, &file, access, arg)
    }

    /// The host.
    pub fn host(&self) -> &H {
        &self.host
    }

    /// The configuration.
    pub fn config(&self) -> &PassthroughConfig {
        &self.cfg
    }

    /// The inode table (diagnostics and tests).
    pub fn inodes(&self) -> &InodeTable<H::Inode, H::Export> {
        &self.inodes
    }

    /// Whether export support is on ([`PassthroughConfig::export_support`]
    /// and a host that can reopen objects).
    pub fn export_support(&self) -> bool {
        self.export
    }

    /// The server-side negative cache (diagnostics and tests).
    pub fn negative_cache(&self) -> &PtNegCache {
        &self.neg
    }

    /// SETLKW requests waiting for their lock now (see [`lockwait`]).
    pub fn waiting_locks(&self) -> usize {
        self.lock_waits.waiting()
    }

    /// Number of open file and directory handles.
    pub fn open_handles(&self) -> usize {
        self.handles.len()
    }

    /// The INIT capabilities agreed with the kernel (empty before INIT).
    pub fn negotiated(&self) -> InitFlags {
        self.agreed()
    }

    fn agreed(&self) -> InitFlags {
        let lo = self.agreed[0].load(Ordering::Acquire) as u64;
        let hi = self.agreed[1].load(Ordering::Acquire) as u64;
        InitFlags::from_bits_retain(lo | (hi << 32))
    }

    fn inode(&self, nodeid: NodeId) -> Result<Arc<InodeData<H::Inode>>> {
        self.inodes.get(nodeid).ok_or(Errno::EBADF)
    }

    fn handle(&self, fh: Fh) -> Result<Arc<Handle<H>>> {
        self.handles.get(fh).ok_or(Errno::EBADF)
    }

    fn file_handle(&self, node: NodeId, fh: Fh) -> Result<Arc<Handle<H>>> {
        let h = self.handle(fh)?;
        if h.inode.nodeid != node || !matches!(h.kind, HandleKind::File { .. }) {
            return Err(Errno::EBADF);
        }
        Ok(h)
    }

    /// Closes handle `fh` of `node` if it is of the right kind (`dir`):
    /// a RELEASE of a directory handle, a RELEASEDIR of a file handle, or
    /// either with another node's handle fails with `EBADF` and closes
    /// nothing.
    fn remove_handle(&self, node: NodeId, fh: Fh, dir: bool) -> Result<Arc<Handle<H>>> {
        self.handles
            .remove_if(fh, |h| {
                h.inode.nodeid == node && matches!(h.kind, HandleKind::Dir(_)) == dir
            })
            .map_err(|_| Errno::EBADF)
    }

    /// Counts a lookup of `inode` (key `st.key`) in the inode table: a known
    /// object keeps its node id, one the guest forgot gets its old one back
    /// (export support), a new one gets a new one.
    fn insert_inode(&self, st: &Stat, inode: H::Inode) -> Arc<InodeData<H::Inode>> {
        self.inodes.insert_or_reclaim(
            st.key,
            inode,
            |old, new| self.host.same_inode(old, new),
            |kept, new| self.export && self.host.export(new).as_ref() == Some(kept),
        )
    }

    /// Drops `n` lookups of `node`; a node removed is kept for export support.
    fn forget_node(&self, node: NodeId, n: u64) -> Option<Arc<InodeData<H::Inode>>> {
        self.inodes.forget_keep(node, n, |inode| {
            if self.export {
                self.host.export(inode)
            } else {
                None
            }
        })
    }

    fn entry(&self, inode: H::Inode, st: &Stat) -> Entry {
        let d = self.insert_inode(st, inode);
        self.counted_entry(&d, st)
    }

    /// The entry of `d`, whose lookup is already counted.
    fn counted_entry(&self, d: &InodeData<H::Inode>, st: &Stat) -> Entry {
        // Combined writes not yet on the host would make the size we report
        // too small, and the kernel would shrink its i_size to it.
        if self.pending_writes.load(Ordering::Acquire) > 0 {
            self.flush_node(d.nodeid);
            if let Ok(fresh) = self.host.stat(&d.inode) {
                return self.entry_for(d, &fresh);
            }
        }
        self.entry_for(d, st)
    }

    /// `name` in `parent`, counted as one lookup. An object the guest
    /// already knows is found with one stat ([`Host::stat_at`]: its key is
    /// in the inode table and the known inode is still alive, so it is the
    /// same object); anything else takes the full [`Host::lookup`].
    fn lookup_entry(&self, parent: &H::Inode, name: Name<'_>) -> Result<Entry> {
        match self.host.stat_at(parent, name) {
            Ok(Some(st)) => {
                if let Some(d) = self.inodes.find_key(&st.key) {
                    if self.host.is_alive(&d.inode) && self.inodes.add_ref(&d) {
                        return Ok(self.counted_entry(&d, &st));
                    }
                }
            }
            Err(Errno::ENOENT) => return Err(Errno::ENOENT),
            Ok(None) | Err(_) => {}
        }
        let (inode, st) = self.host.lookup(parent, name)?;
        Ok(self.entry(inode, &st))
    }

    /// The status a create-type reply carries once `record_new` (the
    /// `xattr` model's attribute) and `apply_label` have written their
    /// xattrs, which moved the host object's ctime: fetched again then
    /// (else the guest caches the earlier ctime, and its next GETATTR
    /// shows a change nothing made), `st` otherwise.
    fn settled_stat(&self, ctx: &Context, inode: &H::Inode, st: Stat) -> Stat {
        if self.cfg.ownership.is_xattr() || ctx.security.is_some() {
            self.host.stat(inode).unwrap_or(st)
        } else {
            st
        }
    }

    fn entry_for(&self, d: &InodeData<H::Inode>, st: &Stat) -> Entry {
        Entry {
            nodeid: d.nodeid,
            generation: u64::from(self.cfg.generation),
            attr: to_attr(&self.guest_stat(&d.inode, *st)),
            entry_valid: self.cfg.entry_timeout,
            attr_valid: self.cfg.attr_timeout,
        }
    }

    fn creds(ctx: &Context) -> Creds {
        Creds {
            uid: ctx.uid,
            gid: ctx.gid,
            // The host switch takes one group: the one Linux sends.
            supp_gid: ctx.groups.first().copied(),
            umask: 0,
        }
    }

    fn negative(&self) -> Result<Entry> {
        let t = self.cfg.negative_timeout;
        if self.cfg.cache == CacheMode::Never
            || t.is_zero()
            || !self.cfg.guest_negative_entries
            || self.host.case_insensitive()
        {
            Err(Errno::ENOENT)
        } else {
            Ok(Entry::negative(t))
        }
    }

    /// Applies host changes reported by the watcher to the caches.
    fn drain_host_changes(&self, now: Instant) {
        if !self.host.has_watcher() {
            return;
        }
        if let Some(mut last) = self.last_drain.try_lock() {
            *last = now;
        }
        self.process_host_changes(&mut |_| {});
    }

    /// Applies changes made on the host behind the server's back (from the
    /// host's watcher) to the server's caches, and reports each one the guest
    /// knows about to `notify`, so a transport that can send FUSE
    /// notifications (`/dev/fuse`) drops the guest's cached entries too
    /// (`FUSE_NOTIFY_INVAL_ENTRY` / `FUSE_NOTIFY_INVAL_INODE`). Transports call
    /// it periodically; lookups call it before trusting a negative entry.
    pub fn process_host_changes(&self, notify: &mut dyn FnMut(Invalidation<'_>)) {
        let inodes = &self.inodes;
        let neg = &self.neg;
        self.host.drain_changes(&mut |c| match c {
            HostChange::Entry { dir, name } => {
                if let Some(d) = inodes.find_key(&dir) {
                    d.bump_generation();
                    if let Ok(n) = Name::new(name) {
                        neg.remove(d.nodeid, n);
                        notify(Invalidation::Entry {
                            parent: d.nodeid,
                            name: n,
                        });
                    }
                }
            }
            HostChange::Inode(key) => {
                if let Some(d) = inodes.find_key(&key) {
                    // For a directory (kqueue names no entry): every name in it.
                    d.bump_generation();
                    notify(Invalidation::Inode(d.nodeid));
                }
            }
            HostChange::Data { file, entry } => {
                if let Some(d) = inodes.find_key(&file) {
                    let entry = entry.and_then(|(dir, name)| {
                        Some((inodes.find_key(&dir)?.nodeid, Name::new(name).ok()?))
                    });
                    notify(Invalidation::Data {
                        node: d.nodeid,
                        entry,
                    });
                }
            }
            HostChange::Overflow => {
                neg.clear();
                inodes.for_each(|d| d.bump_generation());
                notify(Invalidation::All);
            }
        });
    }

    /// `FOPEN_*` flags of an OPEN or (`dir`) an OPENDIR.
    fn fopen_flags(&self, dir: bool) -> FopenFlags {
        match (self.cfg.cache, dir) {
            (CacheMode::Never, false) => FopenFlags::DIRECT_IO,
            (CacheMode::Always, false) => FopenFlags::KEEP_CACHE,
            (_, true) if self.caches_listings() => FopenFlags::KEEP_CACHE | FopenFlags::CACHE_DIR,
            _ => FopenFlags::empty(),
        }
    }

    /// Whether OPENDIR lets the guest kernel cache listings
    /// (`FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE`): with [`CacheMode::Always`];
    /// with [`CacheMode::Auto`] where the transport forwards host changes
    /// ([`PassthroughConfig::host_changes_forwarded`]). The kernel drops a
    /// cached listing on the guest's own changes, on a reported host change
    /// (`FUSE_NOTIFY_INVAL_INODE` on the directory), and, with
    /// `FUSE_AUTO_INVAL_DATA` (`Auto`), when the directory's attributes
    /// expire and the refreshed mtime differs (fs/fuse/readdir.c,
    /// `fuse_readdir_cached`): a change nobody reports is seen within the
    /// attribute timeout, as for names and attributes.
    pub fn caches_listings(&self) -> bool {
        match self.cfg.cache {
            CacheMode::Always => true,
            CacheMode::Auto => self.cfg.host_changes_forwarded,
            CacheMode::Never | CacheMode::Metadata => false,
        }
    }

    /// Whether the kernel is to open directories without OPENDIR (see
    /// [`PassthroughConfig::default_permissions`]): it checks permissions
    /// itself and every listing is cached.
    fn no_opendir(&self) -> bool {
        (self.cfg.default_permissions || self.agreed().contains(InitFlags::POSIX_ACL))
            && self.caches_listings()
    }

    /// Runs `f` on the directory stream of a READDIR, READDIRPLUS or
    /// FSYNCDIR of `node`: handle `fh`'s, or, where the kernel opens
    /// directories without OPENDIR ([`Self::no_opendir`]) and sends handle
    /// 0, one opened for this request (handles start at 1). `ENOTDIR` for
    /// a file's handle, `EBADF` for another node's or an unknown one.
    fn with_dir<T>(
        &self,
        node: NodeId,
        fh: Fh,
        f: impl FnOnce(&Arc<InodeData<H::Inode>>, &H::Dir) -> Result<T>,
    ) -> Result<T> {
        if fh == 0 && self.no_opendir() {
            let d = self.inode(node)?;
            // What OPENDIR would have done: a cached listing is dropped on
            // host changes only if the directory is watched.
            self.host.watch(&d.inode);
            let kept = self
                .last_dir
                .lock()
                .as_ref()
                .filter(|(n, _)| Arc::ptr_eq(n, &d))
                .map(|(_, dir)| Arc::clone(dir));
            let dir = match kept {
                Some(dir) => dir,
                None => {
                    let dir = Arc::new(self.host.opendir(&d.inode)?);
                    let old = self
                        .last_dir
                        .lock()
                        .replace((Arc::clone(&d), Arc::clone(&dir)));
                    // Closed (if no READDIR still uses it) outside the lock.
                    drop(old);
                    dir
                }
            };
            return f(&d, &dir);
        }
        let h = self.handle(fh)?;
        let HandleKind::Dir(dir) = &h.kind else {
            return Err(Errno::ENOTDIR);
        };
        if h.inode.nodeid != node {
            return Err(Errno::EBADF);
        }
        f(&h.inode, dir)
    }

    /// READDIRPLUS from cookie `offset` of `dir`, the stream of `parent`:
    /// each entry looked up (`.` and `..`, and names that fail to look up,
    /// as plain entries).
    fn readdirplus_from(
        &self,
        parent: &Arc<InodeData<H::Inode>>,
        dir: &H::Dir,
        offset: u64,
        out: &mut DirSink<'_>,
    ) -> Result<()> {
        self.host.readdir(dir, offset, &mut |e| {
            if !out.fits(e.name.len()) {
                return false;
            }
            let name = match Name::new(e.name) {
                Ok(n) => n,
                // `.`, `..`: no lookup, nodeid 0.
                Err(_) => return matches!(out.add(e.ino, e.next, e.typ, e.name), Ok(true)),
            };
            match self.lookup_entry(&parent.inode, name) {
                Ok(entry) => {
                    if matches!(out.add_plus(&entry, e.next, e.typ, e.name), Ok(true)) {
                        true
                    } else {
                        drop(self.forget_node(entry.nodeid, 1));
                        false
                    }
                }
                Err(_) => matches!(out.add(e.ino, e.next, e.typ, e.name), Ok(true)),
            }
        })
    }

    /// Linux open flags for the host: creation bits dropped; with the
    /// writeback cache, write-only becomes read-write (the kernel reads to fill
    /// pages) and `O_APPEND` is the kernel's business.
    fn open_flags(&self, flags: u32) -> OpenFlags {
        let mut f = OpenFlags::from_guest(flags, self.cfg.guest_arch)
            - (OpenFlags::CREAT | OpenFlags::EXCL | OpenFlags::NOCTTY);
        if self.agreed().contains(InitFlags::WRITEBACK_CACHE) {
            if f.contains(OpenFlags::WRONLY) {
                f = (f - OpenFlags::WRONLY) | OpenFlags::RDWR;
            }
            f -= OpenFlags::APPEND;
        }
        f
    }

    fn new_file_handle(
        &self,
        inode: Arc<InodeData<H::Inode>>,
        file: H::File,
        flags: OpenFlags,
    ) -> Opened {
        let wc = WriteCombiner::new(WriteCombiner::allowed(flags));
        let fh = self.handles.insert(Handle {
            inode,
            kind: HandleKind::File {
                file,
                access: flags & (OpenFlags::WRONLY | OpenFlags::RDWR),
                wc,
                seq: Mutex::new(ReadSeq::default()),
            },
        });
        Opened {
            fh,
            flags: self.fopen_flags(false) | direct::fopen_flags(flags),
            backing_id: 0,
        }
    }

    /// Writes out combined writes of handle `h`. A failure is kept by the
    /// handle's combiner and reported once, by the next WRITE, FLUSH, FSYNC
    /// or RELEASE of that handle ([`Self::take_write_error`]), as the
    /// kernel's own writeback reports errors.
    fn flush_handle(&self, h: &Handle<H>) {
        if let HandleKind::File { file, wc, .. } = &h.kind {
            let _ = wc.flush(
                &mut |off, bufs| self.host.write(file, off, bufs, false),
                &self.pending_writes,
            );
        }
    }

    /// The deferred write-out error of `h`, once.
    fn take_write_error(h: &Handle<H>) -> Result<()> {
        match &h.kind {
            HandleKind::File { wc, .. } => wc.take_error(),
            HandleKind::Dir(_) => Ok(()),
        }
    }

    /// Writes out combined writes of every handle of `node`, so any other
    /// operation on the inode sees them (errors stay with their handles).
    fn flush_node(&self, node: NodeId) {
        if self.pending_writes.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut pending: Vec<Arc<Handle<H>>> = Vec::new();
        self.handles.for_each(|h| {
            if h.inode.nodeid == node {
                if let HandleKind::File { wc, .. } = &h.kind {
                    if wc.has_pending() {
                        pending.push(h.clone());
                    }
                }
            }
        });
        for h in pending {
            self.flush_handle(&h);
        }
    }

    fn stat_reply(&self, inode: &H::Inode, st: &Stat) -> AttrReply {
        AttrReply {
            attr: to_attr(&self.guest_stat(inode, *st)),
            valid: self.cfg.attr_timeout,
        }
    }
}

fn set_time(now: bool, set: bool, sec: u64, nsec: u32) -> Option<SetTime> {
    if now {
        Some(SetTime::Now)
    } else if set {
        Some(SetTime::At(Timespec::new(sec as i64, nsec)))
    } else {
        None
    }
}

impl<H: Host> FileSystem for PassthroughFs<H> {
    fn init(&self, kernel: &KernelInit) -> Result<InitFlags> {
        let mut want = InitFlags::ASYNC_READ
            | InitFlags::POSIX_LOCKS
            | InitFlags::FLOCK_LOCKS
            | InitFlags::PARALLEL_DIROPS
            | InitFlags::ASYNC_DIO
            | InitFlags::CREATE_SUPP_GROUP
            | InitFlags::HAS_EXPIRE_ONLY
            | InitFlags::DIRECT_IO_ALLOW_MMAP;
        if self.cfg.writeback_cache {
            want |= InitFlags::WRITEBACK_CACHE;
        }
        if self.cfg.readdirplus {
            want |= InitFlags::DO_READDIRPLUS | InitFlags::READDIRPLUS_AUTO;
        }
        if self.cfg.killpriv_v2 {
            want |= InitFlags::HANDLE_KILLPRIV_V2;
        }
        // Export support answers LOOKUP of "." and ".." (see `export`);
        // without it node ids are not stable across FORGET, so file handles
        // made from them could not be opened again (ESTALE): have the kernel
        // refuse to make them (name_to_handle_at fails with EOPNOTSUPP).
        if self.export {
            want |= InitFlags::EXPORT_SUPPORT;
        } else {
            want |= InitFlags::NO_EXPORT_SUPPORT;
        }
        want |= self.acl_flags();
        want |= self.kp_init_flags();
        if self.cfg.security_label {
            want |= InitFlags::SECURITY_CTX;
        }
        if self.cfg.announce_submounts {
            want |= InitFlags::SUBMOUNTS;
        }
        if self.dax.is_some() {
            want |= InitFlags::MAP_ALIGNMENT;
        }
        match self.cfg.cache {
            CacheMode::Never => {}
            CacheMode::Auto | CacheMode::Metadata => {
                want |= InitFlags::AUTO_INVAL_DATA | InitFlags::CACHE_SYMLINKS
            }
            CacheMode::Always => want |= InitFlags::CACHE_SYMLINKS,
        }
        let agreed = (kernel.offered & want).bits();
        self.agreed[0].store(agreed as u32, Ordering::Release);
        self.agreed[1].store((agreed >> 32) as u32, Ordering::Release);
        Ok(want)
    }

    fn destroy(&self) {
        self.lock_waits.cancel_all();
        let mut open = Vec::new();
        self.handles.for_each(|h| open.push(h.clone()));
        for h in open {
            self.flush_handle(&h);
        }
        self.handles.clear();
        if let Some(kp) = &self.kp {
            kp.clear();
        }
        self.inodes.clear_except_root();
        self.neg.clear();
        if let Some(dax) = &self.dax {
            dax.remove_all();
        }
    }

    fn setupmapping(&self, _ctx: &Context, node: NodeId, arg: &SetupmappingIn) -> Result<()> {
        let dax = self.dax.as_ref().ok_or(Errno::ENOSYS)?;
        if arg.fh == dax::NO_FH {
            return self.setupmapping_inode(dax, node, arg);
        }
        let h = self.file_handle(node, arg.fh)?;
        // Combined writes must be on the host before the guest reads the
        // window; one that failed is reported here (once).
        self.flush_handle(&h);
        Self::take_write_error(&h)?;
        let HandleKind::File { file, access, .. } = &h.kind else {
            return Err(Errno::EBADF);
        };
        dax.setup(node, arg.fh, file, *access, arg)
    }

    fn removemapping(&self, _ctx: &Context, items: &[RemovemappingOne]) -> Result<()> {
        self.dax.as_ref().ok_or(Errno::ENOSYS)?.remove(items)
    }

    fn lookup(&self, ctx: &Context, parent: NodeId, name: Name<'_>) -> Result<Entry> {
        let p = self.inode(parent)?;
        // Before any answer, cached or not: EACCES comes before ENOENT.
        self.check_search(ctx, &p.inode)?;
        let use_neg = self.cfg.negative_cache && self.cfg.cache != CacheMode::Never;
        if use_neg {
            // Watch before asking the host, so no change can slip between.
            self.host.watch(&p.inode);
            // Host changes only matter before trusting a cached miss: drain
            // then, and check again under the (maybe bumped) generation. A
            // miss path needs no drain: an event still queued is either
            // already visible to the host lookup below or bumps the
            // generation later, invalidating what we insert.
            if self.neg.contains(parent, p.generation(), name, ctx.now) {
                self.drain_host_changes(ctx.now);
                if self.neg.contains(parent, p.generation(), name, ctx.now) {
                    return self.negative();
                }
            }
        }
        let dir_gen = p.generation();
        match self.lookup_entry(&p.inode, name) {
            Ok(entry) => Ok(entry),
            Err(Errno::ENOENT) => {
                if use_neg {
                    self.neg
                        .insert(parent, dir_gen, name, ctx.now, self.cfg.negative_timeout);
                }
                self.negative()
            }
            Err(e) => Err(e),
        }
    }

    fn lookup_self(&self, _ctx: &Context, node: NodeId) -> Result<Entry> {
        self.export_lookup_self(node)
    }

    fn lookup_parent(&self, _ctx: &Context, node: NodeId) -> Result<Entry> {
        self.export_lookup_parent(node)
    }

    fn forget(&self, _ctx: &Context, node: NodeId, nlookup: u64) {
        // The removed inode (if any) is dropped here, outside every lock.
        let gone = self.forget_node(node, nlookup);
        if let (Some(_), Some(dax)) = (&gone, &self.dax) {
            dax.remove_node(node);
        }
        drop(gone);
    }

    fn getattr(&self, _ctx: &Context, node: NodeId, fh: Option<Fh>) -> Result<AttrReply> {
        let d = self.inode(node)?;
        self.flush_node(node);
        if let Some(fh) = fh {
            // FUSE_GETATTR_FH: the handle must be this node's open file.
            let h = self.file_handle(node, fh)?;
            if let HandleKind::File { file, .. } = &h.kind {
                match self.host.fstat(file) {
                    Ok(st) => return Ok(self.stat_reply(&d.inode, &st)),
                    Err(Errno::ENOSYS) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(self.stat_reply(&d.inode, &self.host.stat(&d.inode)?))
    }

    fn setattr(&self, ctx: &Context, node: NodeId, set: &SetattrIn) -> Result<AttrReply> {
        let d = self.inode(node)?;
        self.flush_node(node);
        let v = SetattrValid::from_bits_retain(set.valid);
        // (uid_t)-1 is never an owner (chown(2) reads it as "unchanged"); hosts may not take it.
        if (v.contains(SetattrValid::UID) && set.uid == u32::MAX)
            || (v.contains(SetattrValid::GID) && set.gid == u32::MAX)
        {
            return Err(Errno::EINVAL);
        }
        // FATTR_FH: the handle must be this node's open file.
        let h = if v.contains(SetattrValid::FH) {
            Some(self.file_handle(node, set.fh)?)
        } else {
            None
        };
        let file = match h.as_deref() {
            Some(Handle {
                kind: HandleKind::File { file, .. },
                ..
            }) => Some(file),
            _ => None,
        };
        let mut attrs = SetAttrs {
            mode: v
                .contains(SetattrValid::MODE)
                .then_some(set.mode & mode::S_IALLUGO),
            uid: v.contains(SetattrValid::UID).then_some(set.uid),
            gid: v.contains(SetattrValid::GID).then_some(set.gid),
            size: v.contains(SetattrValid::SIZE).then_some(set.size),
            atime: set_time(
                v.contains(SetattrValid::ATIME_NOW),
                v.contains(SetattrValid::ATIME),
                set.atime,
                set.atimensec,
            ),
            mtime: set_time(
                v.contains(SetattrValid::MTIME_NOW),
                v.contains(SetattrValid::MTIME),
                set.mtime,
                set.mtimensec,
            ),
            kill_suidgid: v.contains(SetattrValid::KILL_SUIDGID),
        };
        let new_owner = self.own_setattr(ctx, &d.inode, &mut attrs, file.is_some())?;
        if attrs.size.is_some() || attrs.uid.is_some() || attrs.gid.is_some() {
            self.drop_mapped_capability(&d.inode)?;
        }
        let mut st = self.host.setattr(&d.inode, file, &attrs)?;
        if let Some(o) = new_owner {
            self.set_override(&d.inode, o)?;
            st = self.host.stat(&d.inode)?;
        }
        Ok(self.stat_reply(&d.inode, &st))
    }

    fn readlink(&self, _ctx: &Context, node: NodeId, out: &mut ReplyData<'_>) -> Result<()> {
        let d = self.inode(node)?;
        let mut buf = [0u8; PATH_MAX];
        let n = self.host.readlink(&d.inode, &mut buf)?;
        out.write(buf.get(..n).ok_or(Errno::EIO)?)
    }

    fn symlink(
        &self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
        target: &[u8],
    ) -> Result<Entry> {
        let p = self.inode(parent)?;
        self.check_dir_write(ctx, &p.inode)?;
        let (inode, st) = self
            .host
            .symlink(&p.inode, name, target, &self.host_creds(ctx)?)?;
        p.bump_generation();
        if let Err(e) = self.apply_label(ctx, &inode) {
            let _ = self.host.unlink(&p.inode, name);
            return Err(e);
        }
        let st = self.settled_stat(ctx, &inode, st);
        Ok(self.entry(inode, &st))
    }

    fn mknod(
        &self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
        args: &CreateArgs,
    ) -> Result<Entry> {
        let p = self.inode(parent)?;
        self.check_dir_write(ctx, &p.inode)?;
        let (perm, umask) = self.create_perm(&p.inode, args.mode, args.umask);
        let m = (args.mode & mode::S_IFMT) | perm;
        // Under `xattr` every node is a regular host file with its type recorded.
        let (hm, rdev) = if self.cfg.ownership.is_xattr() {
            (mode::S_IFREG | self.host_perm(mode::S_IFREG, m), 0)
        } else {
            (m, args.rdev)
        };
        let creds = Creds {
            umask,
            ..self.host_creds(ctx)?
        };
        let (inode, st) = self.host.mknod(&p.inode, name, hm, rdev, &creds)?;
        p.bump_generation();
        if let Err(e) = self
            .record_new(ctx, &p.inode, &inode, m, args.rdev)
            .and_then(|()| self.apply_label(ctx, &inode))
        {
            let _ = self.host.unlink(&p.inode, name);
            return Err(e);
        }
        let st = self.settled_stat(ctx, &inode, st);
        Ok(self.entry(inode, &st))
    }

    fn mkdir(
        &self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
        args: &CreateArgs,
    ) -> Result<Entry> {
        let p = self.inode(parent)?;
        self.check_dir_write(ctx, &p.inode)?;
        let (perm, umask) = self.create_perm(&p.inode, args.mode, args.umask);
        let creds = Creds {
            umask,
            ..self.host_creds(ctx)?
        };
        let (inode, st) =
            self.host
                .mkdir(&p.inode, name, self.host_perm(mode::S_IFDIR, perm), &creds)?;
        p.bump_generation();
        if let Err(e) = self
            .record_new(ctx, &p.inode, &inode, mode::S_IFDIR | perm, 0)
            .and_then(|()| self.apply_label(ctx, &inode))
        {
            let _ = self.host.rmdir(&p.inode, name);
            return Err(e);
        }
        let st = self.settled_stat(ctx, &inode, st);
        Ok(self.entry(inode, &st))
    }

    fn unlink(&self, ctx: &Context, parent: NodeId, name: Name<'_>) -> Result<()> {
        let p = self.inode(parent)?;
        self.check_delete(ctx, &p.inode, name)?;
        self.host.unlink(&p.inode, name)
    }

    fn rmdir(&self, ctx: &Context, parent: NodeId, name: Name<'_>) -> Result<()> {
        let p = self.inode(parent)?;
        self.check_delete(ctx, &p.inode, name)?;
        self.host.rmdir(&p.inode, name)
    }

    fn rename(
        &self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
        newparent: NodeId,
        newname: Name<'_>,
        flags: u32,
    ) -> Result<()> {
        let flags = RenameFlags::from_bits(flags).ok_or(Errno::EINVAL)?;
        let p = self.inode(parent)?;
        let np = self.inode(newparent)?;
        self.check_delete(ctx, &p.inode, name)?;
        match self.check_delete(ctx, &np.inode, newname) {
            Err(Errno::ENOENT) => self.check_dir_write(ctx, &np.inode)?,
            r => r?,
        }
        self.host
            .rename(&p.inode, name, &np.inode, newname, flags)?;
        np.bump_generation();
        if flags.intersects(RenameFlags::EXCHANGE | RenameFlags::WHITEOUT) {
            p.bump_generation();
        }
        Ok(())
    }

    fn link(
        &self,
        ctx: &Context,
        node: NodeId,
        newparent: NodeId,
        newname: Name<'_>,
    ) -> Result<Entry> {
        let d = self.inode(node)?;
        let np = self.inode(newparent)?;
        self.check_dir_write(ctx, &np.inode)?;
        let st = self.host.link(&d.inode, &np.inode, newname)?;
        np.bump_generation();
        if self.inodes.add_ref(&d) {
            return Ok(self.entry_for(&d, &st));
        }
        // The guest forgot the node meanwhile: look the new name up afresh.
        let (inode, st) = self.host.lookup(&np.inode, newname)?;
        Ok(self.entry(inode, &st))
    }

    fn open(&self, ctx: &Context, node: NodeId, args: &OpenArgs) -> Result<Opened> {
        let d = self.inode(node)?;
        self.flush_node(node);
        let flags = self.open_flags(args.flags);
        self.check_open(ctx, &d.inode, access_mask(args.flags, self.cfg.guest_arch))?;
        let file = self.host.open(&d.inode, direct::host_flags(flags))?;
        if flags.contains(OpenFlags::TRUNC)
            && OpenInFlags::from_bits_retain(args.open_flags).contains(OpenInFlags::KILL_SUIDGID)
        {
            self.host.setattr(
                &d.inode,
                Some(&file),
                &SetAttrs {
                    kill_suidgid: true,
                    ..SetAttrs::default()
                },
            )?;
        }
        let mode = self.kp_decide(node, &file, flags, None);
        let mut o = self.new_file_handle(d, file, flags);
        self.kp_bind(&mut o, node, mode);
        Ok(o)
    }

    fn read(
        &self,
        _ctx: &Context,
        node: NodeId,
        fh: Fh,
        offset: u64,
        out: &mut ReplyData<'_>,
        _lo: Option<u64>,
        _flags: u32,
    ) -> Result<()> {
        let h = self.file_handle(node, fh)?;
        self.flush_node(node);
        let HandleKind::File { file, seq, .. } = &h.kind else {
            return Err(Errno::EBADF);
        };
        let advise = {
            let s = seq.lock();
            offset != 0 && s.last_end == offset && !s.advised
        };
        if advise {
            self.host.advise_sequential(file);
        }
        let mut off = offset;
        let want = out.remaining();
        out.fill(want, &mut |bufs| {
            let n = self.host.read(file, off, bufs)?;
            off = off.saturating_add(n as u64);
            Ok(n)
        })?;
        let mut s = seq.lock();
        s.last_end = off;
        s.advised |= advise;
        Ok(())
    }

    fn write(
        &self,
        ctx: &Context,
        node: NodeId,
        fh: Fh,
        offset: u64,
        data: &mut RequestData<'_>,
        write_flags: u32,
        _lock_owner: Option<u64>,
        _flags: u32,
    ) -> Result<u32> {
        let h = self.file_handle(node, fh)?;
        let HandleKind::File { file, wc, .. } = &h.kind else {
            return Err(Errno::EBADF);
        };
        let kill = self.agreed().contains(InitFlags::HANDLE_KILLPRIV_V2)
            && WriteFlags::from_bits_retain(write_flags).contains(WriteFlags::KILL_SUIDGID);
        // An earlier combined write that failed on the host is reported here,
        // before anything else is acknowledged.
        wc.take_error()?;
        self.drop_mapped_capability(&h.inode.inode)?;
        let total = data.len();
        let end = offset.checked_add(total as u64).ok_or(Errno::EFBIG)?;
        // Only a write the host will take whole may be acknowledged before
        // it reaches the host: one ending past the host's file-size limit
        // goes out now and reports its error (or short count) itself.
        if !kill
            && end <= self.host.max_file_size(file)
            && wc.try_append(offset, data, &self.pending_writes)?
        {
            return u32::try_from(total).map_err(|_| Errno::EINVAL);
        }
        // Not combinable: this data goes out now, after anything pending.
        self.flush_node(node);
        let killing = kill && self.has_setid(file);
        let mut off = offset;
        let mut written = 0usize;
        while !data.is_empty() {
            let n = data.consume(data.len(), &mut |bufs| {
                let n = self.host.write(file, off, bufs, kill)?;
                off = off.saturating_add(n as u64);
                Ok(n)
            });
            match n {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(e) if written == 0 => return Err(e),
                Err(_) => break,
            }
        }
        if killing {
            self.note_killed(node);
        }
        if kill && self.own_kill_priv(ctx, &h.inode.inode)? == Some(true) {
            // The kernel's cached write path keeps the old mode.
            self.note_killed(node);
        }
        u32::try_from(written).map_err(|_| Errno::EINVAL)
    }

    fn statfs(&self, _ctx: &Context, node: NodeId) -> Result<Kstatfs> {
        let d = self.inode(node)?;
        self.host.statfs(&d.inode)
    }

    fn release(
        &self,
        _ctx: &Context,
        node: NodeId,
        fh: Fh,
        _flags: u32,
        release_flags: u32,
        _lock_owner: u64,
    ) -> Result<()> {
        let h = self.remove_handle(node, fh, false)?;
        self.kp_release(fh);
        self.flush_handle(&h);
        let r = Self::take_write_error(&h);
        if release_flags & crate::abi::ReleaseFlags::FLOCK_UNLOCK.bits() != 0 {
            if let HandleKind::File { file, .. } = &h.kind {
                let unlock = FileLock {
                    typ: crate::abi::lock::F_UNLCK,
                    ..FileLock::default()
                };
                let _ = self.host.flock(file, &unlock, false);
            }
        }
        drop(h);
        r
    }

    fn fsync(&self, _ctx: &Context, node: NodeId, fh: Fh, datasync: bool) -> Result<()> {
        let h = self.file_handle(node, fh)?;
        self.flush_node(node);
        let HandleKind::File { file, wc, .. } = &h.kind else {
            return Err(Errno::EBADF);
        };
        wc.take_error()?;
        self.host.fsync(file, datasync)
    }

    fn setxattr(
        &self,
        _ctx: &Context,
        node: NodeId,
        name: &[u8],
        value: &[u8],
        flags: u32,
        sf: u32,
    ) -> Result<()> {
        if !self.cfg.xattr {
            return Err(Errno::ENOSYS);
        }
        let d = self.inode(node)?;
        self.xattr_set(&d.inode, name, value, flags)?;
        self.acl_kill_sgid(&d.inode, name, sf)
    }

    fn getxattr(
        &self,
        _ctx: &Context,
        node: NodeId,
        name: &[u8],
        size: u32,
        out: &mut ReplyData<'_>,
    ) -> Result<XattrReply> {
        if !self.cfg.xattr {
            return Err(Errno::ENOSYS);
        }
        let d = self.inode(node)?;
        self.xattr_get(&d.inode, name, size, out)
    }

    fn listxattr(
        &self,
        _ctx: &Context,
        node: NodeId,
        size: u32,
        out: &mut ReplyData<'_>,
    ) -> Result<XattrReply> {
        if !self.cfg.xattr {
            return Err(Errno::ENOSYS);
        }
        let d = self.inode(node)?;
        self.xattr_list(&d.inode, size, out)
    }

    fn removexattr(&self, _ctx: &Context, node: NodeId, name: &[u8]) -> Result<()> {
        if !self.cfg.xattr {
            return Err(Errno::ENOSYS);
        }
        let d = self.inode(node)?;
        self.xattr_remove(&d.inode, name)
    }

    fn flush(&self, _ctx: &Context, node: NodeId, fh: Fh, lock_owner: u64) -> Result<()> {
        let h = self.file_handle(node, fh)?;
        self.flush_handle(&h);
        let HandleKind::File { file, wc, .. } = &h.kind else {
            return Err(Errno::EBADF);
        };
        // Locks are released whatever the data's fate; the error is reported.
        let released = self.host.flush(file, lock_owner);
        wc.take_error()?;
        released
    }

    fn opendir(&self, _ctx: &Context, node: NodeId, _args: &OpenArgs) -> Result<Opened> {
        let d = self.inode(node)?;
        if self.no_opendir() {
            // The kernel takes this as a successful open and opens every
            // directory from now on without asking (see `with_dir`).
            return Err(Errno::ENOSYS);
        }
        // A listing the kernel caches (FOPEN_CACHE_DIR) is dropped on host
        // changes only if the directory is watched.
        if self.caches_listings() {
            self.host.watch(&d.inode);
        }
        let dir = self.host.opendir(&d.inode)?;
        let flags = self.fopen_flags(true);
        let fh = self.handles.insert(Handle {
            inode: d,
            kind: HandleKind::Dir(dir),
        });
        Ok(Opened {
            fh,
            flags,
            backing_id: 0,
        })
    }

    fn readdir(
        &self,
        _ctx: &Context,
        node: NodeId,
        fh: Fh,
        offset: u64,
        out: &mut DirSink<'_>,
    ) -> Result<()> {
        self.with_dir(node, fh, |_, dir| {
            self.host.readdir(dir, offset, &mut |e| {
                matches!(out.add(e.ino, e.next, e.typ, e.name), Ok(true))
            })
        })
    }

    fn readdirplus(
        &self,
        _ctx: &Context,
        node: NodeId,
        fh: Fh,
        offset: u64,
        out: &mut DirSink<'_>,
    ) -> Result<()> {
        self.with_dir(node, fh, |parent, dir| {
            self.readdirplus_from(parent, dir, offset, out)
        })
    }

    fn releasedir(&self, _ctx: &Context, node: NodeId, fh: Fh, _flags: u32) -> Result<()> {
        drop(self.remove_handle(node, fh, true)?);
        Ok(())
    }

    fn fsyncdir(&self, _ctx: &Context, node: NodeId, fh: Fh, datasync: bool) -> Result<()> {
        self.with_dir(node, fh, |_, dir| self.host.fsyncdir(dir, datasync))
    }

    fn getlk(&self, _ctx: &Context, node: NodeId, lk: &LkIn) -> Result<FileLock> {
        let h = self.file_handle(node, lk.fh)?;
        let HandleKind::File { file, .. } = &h.kind else {
            return Err(Errno::EBADF);
        };
        self.host.getlk(file, lk.owner, &lk.lk)
    }

    fn setlk(&self, ctx: &Context, node: NodeId, lk: &LkIn, sleep: bool) -> Result<()> {
        let h = self.file_handle(node, lk.fh)?;
        let HandleKind::File { file, .. } = &h.kind else {
            return Err(Errno::EBADF);
        };
        let try_lock = || {
            if LkFlags::from_bits_retain(lk.lk_flags).contains(LkFlags::FLOCK) {
                self.host.flock(file, &lk.lk, false)
            } else {
                self.host.setlk(file, lk.owner, &lk.lk, false)
            }
        };
        let first = try_lock();
        if !sleep || lk.lk.typ == crate::abi::lock::F_UNLCK || first != Err(Errno::EAGAIN) {
            return first;
        }
        // SETLKW on a held lock: wait here, cancellably (see `lockwait`).
        let wait = self.lock_waits.enter(ctx.unique).ok_or(Errno::ENOLCK)?;
        let mut attempt = 0u32;
        loop {
            if wait.cancelled() {
                return Err(Errno::EINTR);
            }
            self.host.lock_wait_pause(attempt);
            attempt = attempt.saturating_add(1);
            match try_lock() {
                Err(Errno::EAGAIN) => {}
                r => return r,
            }
        }
    }

    fn interrupt(&self, _ctx: &Context, unique: u64) {
        self.lock_waits.interrupt(unique);
    }

    fn cancel_blocked(&self) {
        self.lock_waits.cancel_all();
    }

    fn access(&self, ctx: &Context, node: NodeId, mask: u32) -> Result<()> {
        let d = self.inode(node)?;
        let st = self.guest_stat_of(&d.inode)?;
        check_access(&st, ctx, mask)
    }

    fn create(
        &self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
        args: &CreateArgs,
    ) -> Result<(Entry, Opened)> {
        let p = self.inode(parent)?;
        let flags = self.open_flags(args.flags)
            | (OpenFlags::from_guest(args.flags, self.cfg.guest_arch) & OpenFlags::EXCL);
        let (perm, umask) = self.create_perm(&p.inode, args.mode, args.umask);
        let creds = Creds {
            umask,
            ..self.host_creds(ctx)?
        };
        // Host and map models: one create; the creating open is writable
        // whatever the mode (open(2) O_CREAT), so git's 0444 objects work.
        let (inode, file, st) = if self.cfg.ownership.is_xattr() {
            self.create_xattr_model(ctx, &p.inode, name, flags, perm, args.flags, &creds)?
        } else {
            self.host
                .create(&p.inode, name, direct::host_flags(flags), perm, &creds)?
        };
        p.bump_generation();
        if let Err(e) = self.apply_label(ctx, &inode) {
            drop(file);
            let _ = self.host.unlink(&p.inode, name);
            return Err(e);
        }
        let st = self.settled_stat(ctx, &inode, st);
        let d = self.insert_inode(&st, inode);
        let entry = self.entry_for(&d, &st);
        // The create's own status: no second stat of the new file.
        let mode = self.kp_decide(entry.nodeid, &file, flags, Some(st.mode));
        let mut o = self.new_file_handle(d, file, flags);
        self.kp_bind(&mut o, entry.nodeid, mode);
        Ok((entry, o))
    }

    fn fallocate(&self, ctx: &Context, node: NodeId, arg: &FallocateIn) -> Result<()> {
        let h = self.file_handle(node, arg.fh)?;
        self.flush_node(node);
        let HandleKind::File { file, .. } = &h.kind else {
            return Err(Errno::EBADF);
        };
        let m = FallocateMode::from_bits(arg.mode).ok_or(Errno::EOPNOTSUPP)?;
        self.kill_priv_unflagged(ctx, node, &h.inode.inode, file)?;
        self.host.fallocate(file, m, arg.offset, arg.length)
    }

    fn lseek(&self, _ctx: &Context, node: NodeId, fh: Fh, offset: u64, whence: u32) -> Result<u64> {
        let h = self.file_handle(node, fh)?;
        self.flush_node(node);
        let HandleKind::File { file, .. } = &h.kind else {
            return Err(Errno::EBADF);
        };
        match Whence::from_u32(whence) {
            Some(Whence::Set) => Ok(offset),
            Some(w @ (Whence::Data | Whence::Hole)) => self.host.lseek(file, offset, w),
            Some(Whence::End) => {
                let size = self
                    .host
                    .fstat(file)
                    .or_else(|_| self.host.stat(&h.inode.inode))?
                    .size;
                size.checked_add(offset).ok_or(Errno::EOVERFLOW)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn copy_file_range(&self, ctx: &Context, node: NodeId, arg: &CopyFileRangeIn) -> Result<u64> {
        if arg.flags != 0 {
            return Err(Errno::EINVAL);
        }
        let src = self.file_handle(node, arg.fh_in)?;
        let dst = self.file_handle(arg.nodeid_out, arg.fh_out)?;
        self.flush_node(node);
        self.flush_node(arg.nodeid_out);
        let (HandleKind::File { file: s, .. }, HandleKind::File { file: d, .. }) =
            (&src.kind, &dst.kind)
        else {
            return Err(Errno::EBADF);
        };
        self.kill_priv_unflagged(ctx, arg.nodeid_out, &dst.inode.inode, d)?;
        self.host
            .copy_file_range(s, arg.off_in, d, arg.off_out, arg.len, 0)
    }

    fn syncfs(&self, _ctx: &Context, node: NodeId) -> Result<()> {
        let d = self.inode(node)?;
        self.host.syncfs(&d.inode)
    }

    fn tmpfile(&self, ctx: &Context, parent: NodeId, args: &CreateArgs) -> Result<(Entry, Opened)> {
        let p = self.inode(parent)?;
        self.check_dir_write(ctx, &p.inode)?;
        let flags = self.open_flags(args.flags);
        let (perm, umask) = self.create_perm(&p.inode, args.mode, args.umask);
        let creds = Creds {
            umask,
            ..self.host_creds(ctx)?
        };
        let (inode, file, st) = self.host.tmpfile(
            &p.inode,
            direct::host_flags(flags),
            self.host_perm(mode::S_IFREG, perm),
            &creds,
        )?;
        // Unnamed until linked: dropping `file` removes it.
        self.record_new(ctx, &p.inode, &inode, mode::S_IFREG | perm, 0)?;
        self.apply_label(ctx, &inode)?;
        let st = self.settled_stat(ctx, &inode, st);
        let d = self.insert_inode(&st, inode);
        let entry = self.entry_for(&d, &st);
        Ok((entry, self.new_file_handle(d, file, flags)))
    }

    fn statx(
        &self,
        ctx: &Context,
        node: NodeId,
        fh: Option<Fh>,
        _sx_flags: u32,
        _sx_mask: u32,
    ) -> Result<StatxReply> {
        let d = self.inode(node)?;
        self.flush_node(node);
        let _ = (ctx, fh);
        let st = self.guest_stat(&d.inode, self.host.stat(&d.inode)?);
        Ok(StatxReply {
            stat: to_statx(&st),
            valid: self.cfg.attr_timeout,
        })
    }
}

/// The `access(2)` mask an open with guest `flags` needs (`O_TRUNC` needs write).
fn access_mask(flags: u32, arch: crate::abi::GuestArch) -> u32 {
    use crate::abi::access::{R_OK, W_OK};
    let f = OpenFlags::from_guest(flags, arch);
    let mut m = if f.contains(OpenFlags::RDWR) {
        R_OK | W_OK
    } else if f.contains(OpenFlags::WRONLY) {
        W_OK
    } else {
        R_OK
    };
    if f.contains(OpenFlags::TRUNC) {
        m |= W_OK;
    }
    m
}

/// `access(2)` rules over `st` for the caller in `ctx` (root may read and
/// write anything, and execute what anyone may execute).
pub fn check_access(st: &Stat, ctx: &Context, mask: u32) -> Result<()> {
    use crate::abi::access::{R_OK, W_OK, X_OK};
    let mask = mask & (R_OK | W_OK | X_OK);
    if mask == 0 {
        return Ok(());
    }
    if ctx.uid == 0 {
        let any_x = st.mode & 0o111 != 0 || st.mode & mode::S_IFMT == mode::S_IFDIR;
        return if mask & X_OK == 0 || any_x {
            Ok(())
        } else {
            Err(Errno::EACCES)
        };
    }
    let bits = if st.uid == ctx.uid {
        (st.mode >> 6) & 7
    } else if ctx.in_group(st.gid) {
        (st.mode >> 3) & 7
    } else {
        st.mode & 7
    };
    if bits & mask == mask {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}
