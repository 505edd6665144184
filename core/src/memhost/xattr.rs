//! Extended attributes of one node (`setxattr(2)` rules: `XATTR_CREATE`,
//! `XATTR_REPLACE`, `ENODATA`, `ERANGE`, size-0 queries, list limit).

use crate::abi::{XATTR_LIST_MAX, XATTR_NAME_MAX, XATTR_SIZE_MAX, xattr};
use crate::errno::{Errno, Result};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;

/// The namespaces Linux knows; other names are `EOPNOTSUPP`.
const NAMESPACES: &[&[u8]] = &[b"user.", b"trusted.", b"security.", b"system."];

/// Name → value.
#[derive(Debug, Default)]
pub(super) struct Xattrs {
    map: BTreeMap<Box<[u8]>, Box<[u8]>>,
    /// Length of the LISTXATTR answer (every name plus NUL).
    list_len: usize,
}

fn check_name(name: &[u8]) -> Result<()> {
    if name.is_empty() || name.len() > XATTR_NAME_MAX {
        return Err(if name.is_empty() {
            Errno::EINVAL
        } else {
            Errno::ERANGE
        });
    }
    match NAMESPACES.iter().find(|p| name.starts_with(p)) {
        Some(p) if name.len() > p.len() => Ok(()),
        Some(_) => Err(Errno::EINVAL),
        None => Err(Errno::EOPNOTSUPP),
    }
}

/// Copies `bytes` into `buf` (empty `buf`: size query).
fn answer(bytes: &[u8], buf: &mut [u8]) -> Result<usize> {
    if buf.is_empty() {
        return Ok(bytes.len());
    }
    let dst = buf.get_mut(..bytes.len()).ok_or(Errno::ERANGE)?;
    dst.copy_from_slice(bytes);
    Ok(bytes.len())
}

impl Xattrs {
    /// Sets `name` to `value` under `flags`.
    pub(super) fn set(&mut self, name: &[u8], value: &[u8], flags: u32) -> Result<()> {
        let known = xattr::XATTR_CREATE | xattr::XATTR_REPLACE;
        if flags & !known != 0 || flags == known {
            return Err(Errno::EINVAL);
        }
        check_name(name)?;
        if value.len() > XATTR_SIZE_MAX {
            return Err(Errno::E2BIG);
        }
        let exists = self.map.contains_key(name);
        if exists && flags & xattr::XATTR_CREATE != 0 {
            return Err(Errno::EEXIST);
        }
        if !exists && flags & xattr::XATTR_REPLACE != 0 {
            return Err(Errno::ENODATA);
        }
        if !exists {
            let grown = self.list_len + name.len() + 1;
            if grown > XATTR_LIST_MAX {
                return Err(Errno::ENOSPC);
            }
            self.list_len = grown;
        }
        self.map.insert(name.into(), value.into());
        Ok(())
    }

    /// The value of `name` into `buf`; its size with an empty `buf`.
    pub(super) fn get(&self, name: &[u8], buf: &mut [u8]) -> Result<usize> {
        check_name(name)?;
        answer(self.map.get(name).ok_or(Errno::ENODATA)?, buf)
    }

    /// NUL-terminated names into `buf`; the size with an empty `buf`.
    pub(super) fn list(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(self.list_len);
        }
        if buf.len() < self.list_len {
            return Err(Errno::ERANGE);
        }
        let mut at = 0;
        for name in self.map.keys() {
            buf[at..at + name.len()].copy_from_slice(name);
            buf[at + name.len()] = 0;
            at += name.len() + 1;
        }
        Ok(at)
    }

    /// Removes `name`.
    pub(super) fn remove(&mut self, name: &[u8]) -> Result<()> {
        check_name(name)?;
        self.map.remove(name).ok_or(Errno::ENODATA)?;
        self.list_len -= name.len() + 1;
        Ok(())
    }

    /// Removes `name` if present, whatever its namespace (kill-priv).
    pub(super) fn discard(&mut self, name: &[u8]) {
        if self.map.remove(name).is_some() {
            self.list_len -= name.len() + 1;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flags_sizes_and_namespaces() {
        let mut x = Xattrs::default();
        assert_eq!(
            x.set(b"user.a", b"1", xattr::XATTR_REPLACE),
            Err(Errno::ENODATA)
        );
        x.set(b"user.a", b"12", xattr::XATTR_CREATE).unwrap();
        assert_eq!(
            x.set(b"user.a", b"1", xattr::XATTR_CREATE),
            Err(Errno::EEXIST)
        );
        assert_eq!(x.set(b"user.a", b"1", 3), Err(Errno::EINVAL));
        assert_eq!(x.set(b"bogus.a", b"1", 0), Err(Errno::EOPNOTSUPP));
        assert_eq!(x.set(b"user.", b"1", 0), Err(Errno::EINVAL));
        assert_eq!(x.get(b"user.a", &mut []), Ok(2));
        assert_eq!(x.get(b"user.a", &mut [0u8; 1]), Err(Errno::ERANGE));
        let mut buf = [0u8; 16];
        assert_eq!(x.list(&mut buf), Ok(7));
        assert_eq!(&buf[..7], b"user.a\0");
        assert_eq!(x.list(&mut [0u8; 3]), Err(Errno::ERANGE));
        x.remove(b"user.a").unwrap();
        assert_eq!(x.remove(b"user.a"), Err(Errno::ENODATA));
        assert_eq!(x.list(&mut []), Ok(0));
    }
}
