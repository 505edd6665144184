//! The virtio-fs DAX window: FUSE_SETUPMAPPING / FUSE_REMOVEMAPPING
//! (virtio 1.2 §5.11.6.2 "Device Operation: DAX Window"; fuse.h
//! `fuse_setupmapping_in`, `fuse_removemapping_one`).
//!
//! The window is a range of guest-physical memory the device exposes as its
//! shared-memory region 0 (the cache region, virtio 1.2 §2.10); the guest maps
//! file ranges into it and then reads and writes them with plain loads and
//! stores. The VMM owns the window and implements [`DaxMapper`] (e.g. ArcBox:
//! `hv_vm_map` of an mmap'ed file); this module checks what the guest asks for
//! and keeps the table of live mappings:
//!
//! - every range is checked against the window (`moffset + len`, no
//!   overflow) and the file (`foffset + len` a valid `off_t`), `len > 0`;
//! - `moffset` and `foffset` must be multiples of the alignment announced in
//!   INIT (`fuse_init_out.map_alignment`, [`DaxConfig::alignment_log2`]);
//!   `len` is rounded up to it (the rounded range must still fit);
//! - a mapping that partly overlaps a live one is refused (`EBUSY`); one at
//!   exactly the same range replaces it (the guest's remap / upgrade to
//!   writable: the old one is removed first);
//! - Linux guests send no handle (`fh` = [`NO_FH`]): the inode is opened for
//!   the mapping (read-write if writable, else read-only) and closed after
//!   the mapper's call; with a handle, a writable mapping needs one open for
//!   writing and a read-only one a handle open for reading (`EACCES`);
//! - REMOVEMAPPING removes the live mappings inside each range (a live
//!   mapping sticking out of it: `EINVAL`); an empty range is not an error;
//! - a forgotten inode loses all its mappings ([`DaxWindow::remove_node`]),
//!   DESTROY all of them. A *released handle keeps its mappings*: a Linux
//!   guest keeps an inode's DAX ranges after `close(2)` and reuses them at the
//!   next open without a new SETUPMAPPING (fs/fuse/dax.c), and the VMM's
//!   mapping of the file stays valid without the handle (mmap(2));
//! - at most [`DaxConfig::max_mappings`] live mappings (allocated at
//!   construction): a SETUPMAPPING into a full table reclaims the oldest
//!   mapping instead of failing, as the guest expects the window's ranges to
//!   be usable.
//!
//! The table lock is held across the mapper's calls, so that the table and
//! the VMM's mappings never disagree (a removal can never race a new mapping
//! of the same range). Only DAX requests, forgets of mapped inodes and
//! DESTROY take it.

use crate::abi::{OpenFlags, RemovemappingOne, SetupmappingFlags, SetupmappingIn};
use crate::errno::{Errno, Result};
use crate::fs::{Fh, NodeId};
use crate::sync::Mutex;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// `fuse_setupmapping_in.fh` of a mapping made without a handle: Linux
/// guests always send it (`inarg.fh = -1`, fs/fuse/dax.c), mapping by inode.
pub const NO_FH: u64 = u64::MAX;

/// What the VMM implements to map host file ranges into its DAX window.
///
/// `F` is the host's open file ([`crate::host::Host::File`]; for
/// `LinuxHost` it implements `AsFd`). Calls come from the worker serving the
/// request, one at a time per window.
pub trait DaxMapper<F>: Send + Sync {
    /// Maps `len` bytes of `file` from `file_offset` at `window_offset` in
    /// the window, writable or read-only. Offsets and `len` are multiples of
    /// the alignment; the range is free (removed first if it was mapped).
    fn setup_mapping(
        &self,
        file: &F,
        file_offset: u64,
        window_offset: u64,
        len: u64,
        writable: bool,
    ) -> Result<()>;

    /// Removes the mapping at `window_offset` of `len` bytes (exactly a
    /// range earlier given to `setup_mapping`).
    fn remove_mapping(&self, window_offset: u64, len: u64) -> Result<()>;
}

/// The DAX window's geometry and limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaxConfig {
    /// Size of the window in bytes (the shared-memory region's length).
    pub window_len: u64,
    /// log2 of the mapping alignment, the VMM's page size (14 for 16 KiB
    /// pages on Apple silicon, 12 for 4 KiB). Announce the same value in
    /// INIT: [`crate::DispatcherConfig::map_alignment`]. Linux guests accept
    /// at most 21 (their 2 MiB DAX ranges).
    pub alignment_log2: u16,
    /// Most live mappings; the oldest is reclaimed beyond.
    pub max_mappings: usize,
}

impl DaxConfig {
    /// A window of `window_len` bytes with `alignment_log2` alignment, room
    /// for one mapping per 2 MiB (a Linux guest's DAX range size), at least 1.
    pub fn new(window_len: u64, alignment_log2: u16) -> DaxConfig {
        DaxConfig {
            window_len,
            alignment_log2,
            max_mappings: usize::try_from(window_len >> 21)
                .unwrap_or(usize::MAX)
                .max(1),
        }
    }
}

/// One live mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaxMapping {
    /// Offset in the window.
    pub moffset: u64,
    /// Length (aligned).
    pub len: u64,
    /// Offset in the file.
    pub foffset: u64,
    /// The inode mapped.
    pub node: NodeId,
    /// The handle it was mapped through.
    pub fh: Fh,
    /// Mapped writable.
    pub writable: bool,
    /// Age: larger is younger.
    seq: u64,
}

struct Table {
    /// Sorted by `moffset`, non-overlapping; capacity `max_mappings`.
    maps: Vec<DaxMapping>,
    next_seq: u64,
}

/// The DAX window of one [`super::PassthroughFs`]; see the module docs.
pub struct DaxWindow<F> {
    mapper: Box<dyn DaxMapper<F>>,
    cfg: DaxConfig,
    table: Mutex<Table>,
}

/// Whether an open with access mode `access` may be read / written.
fn access_allows(access: OpenFlags, write: bool) -> bool {
    let mode = access.bits() & 0o3;
    if write {
        mode == 1 || mode == 2
    } else {
        mode != 1
    }
}

impl<F> DaxWindow<F> {
    /// A window served by `mapper`. `EINVAL` for an alignment above 2^30,
    /// a window that is empty or not a multiple of the alignment, or no room
    /// for a mapping.
    pub fn new(mapper: Box<dyn DaxMapper<F>>, cfg: DaxConfig) -> Result<Self> {
        if cfg.alignment_log2 > 30
            || cfg.window_len == 0
            || cfg.window_len % (1u64 << cfg.alignment_log2) != 0
            || cfg.max_mappings == 0
        {
            return Err(Errno::EINVAL);
        }
        Ok(DaxWindow {
            mapper,
            cfg,
            table: Mutex::new(Table {
                maps: Vec::with_capacity(cfg.max_mappings),
                next_seq: 0,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DaxConfig {
        &self.cfg
    }

    /// The live mappings, in window order.
    pub fn mappings(&self) -> Vec<DaxMapping> {
        self.table.lock().maps.clone()
    }

    fn align(&self) -> u64 {
        1u64 << self.cfg.alignment_log2
    }

    /// Checks a SETUPMAPPING and returns its aligned (moffset, len).
    pub(crate) fn check(&self, arg: &SetupmappingIn) -> Result<(u64, u64)> {
        let a = self.align();
        if arg.len == 0 || arg.moffset % a != 0 || arg.foffset % a != 0 {
            return Err(Errno::EINVAL);
        }
        let len = arg.len.checked_next_multiple_of(a).ok_or(Errno::EINVAL)?;
        let end = arg.moffset.checked_add(len).ok_or(Errno::EINVAL)?;
        if end > self.cfg.window_len {
            return Err(Errno::EINVAL);
        }
        // The file range must be a valid off_t range.
        match arg.foffset.checked_add(len) {
            Some(e) if e <= i64::MAX as u64 => {}
            _ => return Err(Errno::EINVAL),
        }
        let known = SetupmappingFlags::READ | SetupmappingFlags::WRITE;
        if arg.flags & !known.bits() != 0 {
            return Err(Errno::EINVAL);
        }
        Ok((arg.moffset, len))
    }

    /// Serves a SETUPMAPPING of `file` (open as `access`, through `fh`, on
    /// `node`); see the module docs.
    pub fn setup(
        &self,
        node: NodeId,
        fh: Fh,
        file: &F,
        access: OpenFlags,
        arg: &SetupmappingIn,
    ) -> Result<()> {
        let (moffset, len) = self.check(arg)?;
        let writable = arg.flags & SetupmappingFlags::WRITE.bits() != 0;
        if !access_allows(access, writable) {
            return Err(Errno::EACCES);
        }
        let end = moffset + len;
        let mut t = self.table.lock();
        // Live mappings overlapping [moffset, end).
        let first = t.maps.partition_point(|m| m.moffset + m.len <= moffset);
        let last = t.maps[first..].partition_point(|m| m.moffset < end) + first;
        match &t.maps[first..last] {
            [] => {}
            [m] if m.moffset == moffset && m.len == len => {
                // Remap of the same range (e.g. upgrade to writable).
                self.mapper.remove_mapping(m.moffset, m.len)?;
                t.maps.remove(first);
            }
            _ => return Err(Errno::EBUSY),
        }
        if t.maps.len() >= self.cfg.max_mappings {
            // Full: reclaim the oldest.
            let oldest = t
                .maps
                .iter()
                .enumerate()
                .min_by_key(|(_, m)| m.seq)
                .map(|(i, _)| i);
            if let Some(i) = oldest {
                let m = t.maps[i];
                self.mapper.remove_mapping(m.moffset, m.len)?;
                t.maps.remove(i);
            }
        }
        self.mapper
            .setup_mapping(file, arg.foffset, moffset, len, writable)?;
        let seq = t.next_seq;
        t.next_seq += 1;
        let at = t.maps.partition_point(|m| m.moffset < moffset);
        t.maps.insert(
            at,
            DaxMapping {
                moffset,
                len,
                foffset: arg.foffset,
                node,
                fh,
                writable,
                seq,
            },
        );
        Ok(())
    }

    /// Serves one batch of REMOVEMAPPING items; see the module docs.
    pub fn remove(&self, items: &[RemovemappingOne]) -> Result<()> {
        let mut t = self.table.lock();
        for it in items {
            let end = it.moffset.checked_add(it.len).ok_or(Errno::EINVAL)?;
            if it.len == 0 || end > self.cfg.window_len {
                return Err(Errno::EINVAL);
            }
            let first = t.maps.partition_point(|m| m.moffset + m.len <= it.moffset);
            let last = t.maps[first..].partition_point(|m| m.moffset < end) + first;
            if t.maps[first..last]
                .iter()
                .any(|m| m.moffset < it.moffset || m.moffset + m.len > end)
            {
                return Err(Errno::EINVAL);
            }
            for _ in first..last {
                let m = t.maps[first];
                self.mapper.remove_mapping(m.moffset, m.len)?;
                t.maps.remove(first);
            }
        }
        Ok(())
    }

    /// Removes every mapping of `node` (the inode was forgotten).
    pub fn remove_node(&self, node: NodeId) {
        self.remove_where(|m| m.node == node);
    }

    /// Removes every mapping (DESTROY).
    pub fn remove_all(&self) {
        self.remove_where(|_| true);
    }

    fn remove_where(&self, pred: impl Fn(&DaxMapping) -> bool) {
        let mut t = self.table.lock();
        let mapper = &self.mapper;
        t.maps.retain(|m| {
            if pred(m) {
                // Dropped from the table whatever the mapper says: the
                // inode is gone and the guest cannot name the range again.
                let _ = mapper.remove_mapping(m.moffset, m.len);
                false
            } else {
                true
            }
        });
    }
}
