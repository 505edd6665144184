//! Extended attributes of [`PassthroughFs`]: GETXATTR, SETXATTR,
//! LISTXATTR and REMOVEXATTR through the optional name mapping
//! ([`PassthroughFs::with_xattrmap`], virtiofsd's `--xattrmap`), and the
//! ownership model's hidden attribute (checked on the *host* name, after
//! mapping: `ownership::xattr::is_hidden_host_xattr`).

use super::PassthroughFs;
use crate::abi::{XATTR_LIST_MAX, XATTR_SIZE_MAX};
use crate::errno::{Errno, Result};
use crate::fs::{Context, XattrReply};
use crate::host::Host;
use crate::io::ReplyData;
use crate::xattrmap::{HOST_NAME_BUF, ToHost, XattrMap};
use alloc::vec::Vec;

/// How often LISTXATTR re-reads a list that grew between its size query
/// and its read before answering `ERANGE`.
const LIST_RETRIES: usize = 4;

impl<H: Host> PassthroughFs<H> {
    /// Maps extended attribute names through `map` (see
    /// [`crate::xattrmap`]): the guest's names in GETXATTR, SETXATTR and
    /// REMOVEXATTR become host names, the host's LISTXATTR names become
    /// guest names or are hidden. POSIX ACLs then use the mapped names of
    /// `system.posix_acl_*` (stored as opaque attributes where they are
    /// mapped elsewhere: the host no longer applies a parent's default ACL).
    pub fn with_xattrmap(mut self, map: XattrMap) -> Self {
        self.xattrmap = Some(map);
        self
    }

    /// The name mapping, if any.
    pub fn xattrmap(&self) -> Option<&XattrMap> {
        self.xattrmap.as_ref()
    }

    /// Calls `f` with the host name of the guest's `name`. Errors: the
    /// mapping's denial (`EPERM`; `denied` lets GETXATTR answer `ENODATA`
    /// as virtiofsd does), `ENOTSUP`, `ERANGE`; else what `f` returns.
    pub(super) fn with_host_xattr<R>(
        &self,
        name: &[u8],
        denied: Errno,
        f: impl FnOnce(&[u8]) -> Result<R>,
    ) -> Result<R> {
        let Some(map) = &self.xattrmap else {
            self.check_xattr_name(name)?;
            return f(name);
        };
        if matches!(map.to_host(name), ToHost::Denied) {
            return Err(denied);
        }
        let mut buf = [0u8; HOST_NAME_BUF];
        let host = map.host_name(name, &mut buf)?;
        self.check_xattr_name(host)?;
        f(host)
    }

    /// Whether the guest's `name` reaches the host unchanged (always
    /// without a mapping).
    pub(super) fn xattr_unmapped(&self, name: &[u8]) -> bool {
        self.xattrmap
            .as_ref()
            .is_none_or(|m| m.to_host(name) == ToHost::Name { prefix: &[] })
    }

    /// Sets the request's security label (FUSE_SECURITY_CTX) on a new
    /// object, through the name mapping, with the server's credentials (as
    /// virtiofsd does after creating). Nothing without a label.
    pub(super) fn apply_label(&self, ctx: &Context<'_>, inode: &H::Inode) -> Result<()> {
        match ctx.security {
            Some(l) if self.cfg.security_label => self.xattr_set(inode, l.name, l.value, 0),
            Some(_) => Err(Errno::EOPNOTSUPP),
            None => Ok(()),
        }
    }

    /// The kernel removes `security.capability` when a file is written,
    /// truncated or given a new owner (`cap_inode_killpriv`). Where the map
    /// moves that name elsewhere on the host, the host kernel no longer
    /// knows it is a capability: remove the mapped attribute here, as
    /// virtiofsd does. Nothing to do without such a mapping.
    ///
    /// Errors: the host's, except `ENODATA` (no capability) and `ENOTSUP`.
    pub(super) fn drop_mapped_capability(&self, inode: &H::Inode) -> Result<()> {
        const CAPABILITY: &[u8] = b"security.capability";
        let Some(map) = &self.xattrmap else {
            return Ok(());
        };
        if !matches!(map.to_host(CAPABILITY), ToHost::Name { prefix } if !prefix.is_empty()) {
            return Ok(());
        }
        let mut buf = [0u8; HOST_NAME_BUF];
        let host = map.host_name(CAPABILITY, &mut buf)?;
        match self.host.removexattr(inode, host) {
            Ok(()) => Ok(()),
            Err(e) if e == Errno::ENODATA || e == Errno::ENOTSUP => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub(super) fn xattr_get(
        &self,
        inode: &H::Inode,
        name: &[u8],
        size: u32,
        out: &mut ReplyData<'_>,
    ) -> Result<XattrReply> {
        self.with_host_xattr(name, Errno::ENODATA, |h| {
            xattr_into(size, out, &mut |buf| self.host.getxattr(inode, h, buf))
        })
    }

    pub(super) fn xattr_set(
        &self,
        inode: &H::Inode,
        name: &[u8],
        value: &[u8],
        flags: u32,
    ) -> Result<()> {
        self.with_host_xattr(name, Errno::EPERM, |h| {
            self.host.setxattr(inode, h, value, flags)
        })
    }

    pub(super) fn xattr_remove(&self, inode: &H::Inode, name: &[u8]) -> Result<()> {
        self.with_host_xattr(name, Errno::EPERM, |h| self.host.removexattr(inode, h))
    }

    pub(super) fn xattr_list(
        &self,
        inode: &H::Inode,
        size: u32,
        out: &mut ReplyData<'_>,
    ) -> Result<XattrReply> {
        let hides = self.cfg.ownership.is_xattr();
        if self.xattrmap.is_none() && !hides {
            return xattr_into(size, out, &mut |buf| self.host.listxattr(inode, buf));
        }
        // The guest's list is shorter than the host's: read all of it, drop
        // hidden host names, map, then answer the size query or the read.
        let mut raw = self.host_list(inode)?;
        let len = raw.len();
        let n = self.filter_xattr_list(&mut raw, len);
        raw.truncate(n);
        let mapped = match &self.xattrmap {
            Some(map) => {
                let mut mapped = Vec::with_capacity(raw.len());
                map.map_list(&raw, &mut mapped);
                mapped
            }
            None => raw,
        };
        let len = u32::try_from(mapped.len()).map_err(|_| Errno::E2BIG)?;
        if size == 0 {
            return Ok(XattrReply::Size(len));
        }
        if size < len {
            return Err(Errno::ERANGE);
        }
        out.write(&mapped)?;
        Ok(XattrReply::Data)
    }

    /// The host's whole LISTXATTR result (at most `XATTR_LIST_MAX` bytes).
    fn host_list(&self, inode: &H::Inode) -> Result<Vec<u8>> {
        let mut raw = Vec::new();
        for _ in 0..LIST_RETRIES {
            let n = self.host.listxattr(inode, &mut [])?;
            raw.resize(n.min(XATTR_LIST_MAX), 0);
            if n == 0 {
                return Ok(raw);
            }
            match self.host.listxattr(inode, &mut raw) {
                Ok(k) => {
                    raw.truncate(k);
                    return Ok(raw);
                }
                // The list grew meanwhile: ask again.
                Err(Errno::ERANGE) if n < XATTR_LIST_MAX => {}
                Err(e) => return Err(e),
            }
        }
        Err(Errno::ERANGE)
    }
}

/// GETXATTR / LISTXATTR into the reply: size query with `size == 0`, else the
/// value through a stack buffer (a heap one above 512 bytes).
pub(super) fn xattr_into(
    size: u32,
    out: &mut ReplyData<'_>,
    get: &mut dyn FnMut(&mut [u8]) -> Result<usize>,
) -> Result<XattrReply> {
    if size == 0 {
        let n = get(&mut [])?;
        return Ok(XattrReply::Size(
            u32::try_from(n).map_err(|_| Errno::E2BIG)?,
        ));
    }
    let size = (size as usize).min(XATTR_SIZE_MAX);
    let mut small = [0u8; 512];
    let mut big = Vec::new();
    let buf: &mut [u8] = if size <= small.len() {
        &mut small[..size]
    } else {
        big.resize(size, 0);
        &mut big
    };
    let n = get(buf)?;
    out.write(buf.get(..n).ok_or(Errno::EIO)?)?;
    Ok(XattrReply::Data)
}
