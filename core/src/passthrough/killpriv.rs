//! Clearing set-user-id and set-group-id on the paths whose FUSE request
//! carries no "kill" flag.
//!
//! With `FUSE_HANDLE_KILLPRIV_V2` the kernel leaves the clearing of
//! `S_ISUID` / `S_ISGID` to the server (it drops the `ATTR_KILL_SUID`
//! setattr that its `file_modified()` makes). WRITE, SETATTR (truncate) and
//! OPEN with `O_TRUNC` say so with `FUSE_WRITE_KILL_SUIDGID`,
//! `FATTR_KILL_SUIDGID` and `FUSE_OPEN_KILL_SUIDGID`; FALLOCATE and
//! COPY_FILE_RANGE carry no flag, so the server decides as the kernel's
//! `should_remove_suid()` would: the caller is not root (the server cannot
//! see the caller's `CAP_FSETID`; uid 0 stands for it). The host clears
//! exactly what Linux clears (`S_ISUID` always, `S_ISGID` only with group
//! execute, regular files only: [`crate::host::SetAttrs::kill_suidgid`]).
//!
//! The kernel does not expect the mode to change on these paths and keeps
//! its cached attributes (a KEEP_SIZE fallocate or a copy_file_range does
//! not invalidate them), so the node is also queued in [`StaleAttrs`]; a
//! transport that can notify (`/dev/fuse`) drains the queue through
//! [`PassthroughFs::take_stale_attrs`] and sends an attribute-only
//! `FUSE_NOTIFY_INVAL_INODE` before the reply.

use super::PassthroughFs;
use crate::abi::{InitFlags, mode};
use crate::errno::Result;
use crate::fs::{Context, NodeId};
use crate::host::{Host, SetAttrs, Stat};
use crate::sync::{AtomicU32, Mutex, Ordering};

/// Most nodes queued; more are dropped (their attributes then expire with
/// the attribute timeout), so no guest can grow the queue.
const STALE_MAX: usize = 16;

/// Nodes whose set-id bits the server cleared behind the kernel's cache.
pub(crate) struct StaleAttrs {
    /// Nonzero while nodes are queued.
    any: AtomicU32,
    nodes: Mutex<([NodeId; STALE_MAX], usize)>,
}

impl StaleAttrs {
    pub(crate) fn new() -> StaleAttrs {
        StaleAttrs {
            any: AtomicU32::new(0),
            nodes: Mutex::new(([0; STALE_MAX], 0)),
        }
    }

    fn push(&self, node: NodeId) {
        let mut g = self.nodes.lock();
        let (list, n) = &mut *g;
        if list[..*n].contains(&node) {
            return;
        }
        if let Some(slot) = list.get_mut(*n) {
            *slot = node;
            *n += 1;
        }
        self.any.store(1, Ordering::Release);
    }

    fn drain(&self, f: &mut dyn FnMut(NodeId)) {
        if self.any.load(Ordering::Acquire) == 0 {
            return;
        }
        let (list, n) = {
            let mut g = self.nodes.lock();
            self.any.store(0, Ordering::Release);
            let out = *g;
            g.1 = 0;
            out
        };
        for &node in list.iter().take(n) {
            f(node);
        }
    }
}

impl<H: Host> PassthroughFs<H> {
    /// Clears set-id bits of `inode` (open as `file`) before a modification
    /// by `ctx` that carries no kill flag (FALLOCATE, COPY_FILE_RANGE's
    /// destination), when killpriv v2 was negotiated and the caller is not
    /// root: in the `xattr` model's attribute where the file has one, else
    /// on the host file.
    ///
    /// Errors: the host's setattr error.
    pub(super) fn kill_priv_unflagged(
        &self,
        ctx: &Context,
        node: NodeId,
        inode: &H::Inode,
        file: &H::File,
    ) -> Result<()> {
        if ctx.uid == 0 || !self.agreed().contains(InitFlags::HANDLE_KILLPRIV_V2) {
            return Ok(());
        }
        // Under `xattr` the bits live in the attribute, not on the host file.
        if let Some(changed) = self.own_kill_priv(ctx, inode)? {
            if changed {
                self.stale.push(node);
            }
            return Ok(());
        }
        let before: Option<Stat> = self.host.fstat(file).ok();
        let after = self.host.setattr(
            inode,
            Some(file),
            &SetAttrs {
                kill_suidgid: true,
                ..SetAttrs::default()
            },
        )?;
        if before.is_none_or(|b| b.mode != after.mode) {
            self.stale.push(node);
        }
        Ok(())
    }

    /// For a WRITE carrying `FUSE_WRITE_KILL_SUIDGID`: whether `file` has
    /// set-id bits now (one `fstat`), so that after the write clears them
    /// [`note_killed`](Self::note_killed) tells the kernel, whose cached
    /// write path keeps the old mode.
    pub(super) fn has_setid(&self, file: &H::File) -> bool {
        self.host
            .fstat(file)
            .is_ok_and(|st| st.mode & (mode::S_ISUID | mode::S_ISGID) != 0)
    }

    /// Queues `node`'s attributes as stale in the kernel (see the module docs).
    pub(super) fn note_killed(&self, node: NodeId) {
        self.stale.push(node);
    }

    /// Reports (and forgets) every node whose set-id bits were cleared on a
    /// path the kernel does not expect to change the mode (see the module
    /// docs), so the transport can drop the kernel's cached attributes
    /// (`FUSE_NOTIFY_INVAL_INODE` with a negative offset). One atomic load
    /// when nothing is queued.
    pub fn take_stale_attrs(&self, f: &mut dyn FnMut(NodeId)) {
        self.stale.drain(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_queue_is_bounded_and_deduplicated() {
        let q = StaleAttrs::new();
        let mut seen = alloc::vec::Vec::new();
        q.drain(&mut |n| seen.push(n));
        assert!(seen.is_empty());
        for n in 0..100u64 {
            q.push(n % 40);
            q.push(n % 40);
        }
        q.drain(&mut |n| seen.push(n));
        assert_eq!(seen, (0..STALE_MAX as u64).collect::<alloc::vec::Vec<_>>());
        seen.clear();
        q.drain(&mut |n| seen.push(n));
        assert!(seen.is_empty());
    }
}
