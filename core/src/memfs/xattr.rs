//! Extended attributes of one inode (`setxattr(2)` semantics: `XATTR_CREATE`,
//! `XATTR_REPLACE`, `ENODATA`, `ERANGE`, size-0 queries).

use crate::abi::{XATTR_LIST_MAX, xattr};
use crate::errno::{Errno, Result};
use crate::fs::XattrReply;
use crate::io::ReplyData;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;

/// Name → value, in name order.
#[derive(Debug, Default)]
pub(crate) struct Xattrs {
    map: BTreeMap<Box<[u8]>, Box<[u8]>>,
    /// Bytes of the LISTXATTR reply: every name plus its NUL.
    list_len: usize,
}

/// The namespaces Linux knows; other names are `EOPNOTSUPP`.
const NAMESPACES: &[&[u8]] = &[b"user.", b"trusted.", b"security.", b"system."];

/// Checks that `name` is in a known namespace and has a suffix.
pub(crate) fn check_name(name: &[u8]) -> Result<()> {
    match NAMESPACES.iter().find(|p| name.starts_with(p)) {
        Some(p) if name.len() > p.len() => Ok(()),
        Some(_) => Err(Errno::EINVAL),
        None => Err(Errno::EOPNOTSUPP),
    }
}

/// Answers a GETXATTR / LISTXATTR for `bytes` into `out` with the size rules.
fn answer(bytes: &[u8], size: u32, out: &mut ReplyData<'_>) -> Result<XattrReply> {
    let len = u32::try_from(bytes.len()).map_err(|_| Errno::E2BIG)?;
    if size == 0 {
        return Ok(XattrReply::Size(len));
    }
    if len > size {
        return Err(Errno::ERANGE);
    }
    out.write(bytes)?;
    Ok(XattrReply::Data)
}

impl Xattrs {
    /// Sets `name` to `value` (`flags`: `XATTR_CREATE` / `XATTR_REPLACE`).
    ///
    /// Errors: `EEXIST`, `ENODATA`, `EINVAL` (both or unknown flags),
    /// `ENOSPC` when the name list would exceed `XATTR_LIST_MAX`.
    pub(crate) fn set(&mut self, name: &[u8], value: &[u8], flags: u32) -> Result<()> {
        if flags & !(xattr::XATTR_CREATE | xattr::XATTR_REPLACE) != 0
            || flags == xattr::XATTR_CREATE | xattr::XATTR_REPLACE
        {
            return Err(Errno::EINVAL);
        }
        check_name(name)?;
        let exists = self.map.contains_key(name);
        if exists && flags & xattr::XATTR_CREATE != 0 {
            return Err(Errno::EEXIST);
        }
        if !exists && flags & xattr::XATTR_REPLACE != 0 {
            return Err(Errno::ENODATA);
        }
        if !exists {
            let grown = self
                .list_len
                .checked_add(name.len() + 1)
                .ok_or(Errno::ENOSPC)?;
            if grown > XATTR_LIST_MAX {
                return Err(Errno::ENOSPC);
            }
            self.list_len = grown;
        }
        self.map.insert(name.into(), value.into());
        Ok(())
    }

    /// GETXATTR `name`.
    pub(crate) fn get(
        &self,
        name: &[u8],
        size: u32,
        out: &mut ReplyData<'_>,
    ) -> Result<XattrReply> {
        check_name(name)?;
        let v = self.map.get(name).ok_or(Errno::ENODATA)?;
        answer(v, size, out)
    }

    /// LISTXATTR: the NUL-terminated names.
    pub(crate) fn list(&self, size: u32, out: &mut ReplyData<'_>) -> Result<XattrReply> {
        let len = u32::try_from(self.list_len).map_err(|_| Errno::E2BIG)?;
        if size == 0 {
            return Ok(XattrReply::Size(len));
        }
        if len > size {
            return Err(Errno::ERANGE);
        }
        for name in self.map.keys() {
            out.write(name)?;
            out.write(&[0])?;
        }
        Ok(XattrReply::Data)
    }

    /// REMOVEXATTR `name`.
    pub(crate) fn remove(&mut self, name: &[u8]) -> Result<()> {
        check_name(name)?;
        match self.map.remove(name) {
            Some(_) => {
                self.list_len -= name.len() + 1;
                Ok(())
            }
            None => Err(Errno::ENODATA),
        }
    }
}
