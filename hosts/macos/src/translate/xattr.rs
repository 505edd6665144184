//! Extended-attribute calls.
//!
//! Darwin's `getxattr(path, name, value, size, position, options)` family
//! (`<sys/xattr.h>`) takes a `position` (only meaningful for the resource
//! fork; always 0 here) and an `options` word with its own flag values:
//! Linux `XATTR_CREATE` = 1 / `XATTR_REPLACE` = 2 are Darwin 2 / 4, and
//! Darwin 1 is `XATTR_NOFOLLOW`, which path-based calls must always pass.

use arcbox_fs::Errno;
use arcbox_fs::abi::xattr as linux;

/// Darwin `XATTR_NOFOLLOW` (`<sys/xattr.h>`).
pub const DARWIN_XATTR_NOFOLLOW: i32 = 0x0001;
/// Darwin `XATTR_CREATE` (`<sys/xattr.h>`).
pub const DARWIN_XATTR_CREATE: i32 = 0x0002;
/// Darwin `XATTR_REPLACE` (`<sys/xattr.h>`).
pub const DARWIN_XATTR_REPLACE: i32 = 0x0004;
/// Darwin `XATTR_NOSECURITY` (`<sys/xattr.h>`).
pub const DARWIN_XATTR_NOSECURITY: i32 = 0x0008;
/// Darwin `XATTR_NODEFAULT` (`<sys/xattr.h>`).
pub const DARWIN_XATTR_NODEFAULT: i32 = 0x0010;
/// Darwin `XATTR_SHOWCOMPRESSION` (`<sys/xattr.h>`).
pub const DARWIN_XATTR_SHOWCOMPRESSION: i32 = 0x0020;
/// Darwin `XATTR_MAXNAMELEN`: longest name in bytes, without NUL (`<sys/xattr.h>`).
pub const DARWIN_XATTR_MAXNAMELEN: usize = 127;

/// Linux names of POSIX ACLs, which Darwin cannot store with Linux meaning.
const POSIX_ACL_NAMES: &[&[u8]] = &[b"system.posix_acl_access", b"system.posix_acl_default"];

/// Darwin `options` for a `setxattr` with Linux `flags`; `EINVAL` for
/// unknown bits or `XATTR_CREATE | XATTR_REPLACE` together. `nofollow` adds
/// `XATTR_NOFOLLOW` (every path-based call; fd-based calls pass `false`).
pub fn set_options(linux_flags: u32, nofollow: bool) -> Result<i32, Errno> {
    if linux_flags & !(linux::XATTR_CREATE | linux::XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    if linux_flags == linux::XATTR_CREATE | linux::XATTR_REPLACE {
        return Err(Errno::EINVAL);
    }
    let mut o = read_options(nofollow);
    if linux_flags & linux::XATTR_CREATE != 0 {
        o |= DARWIN_XATTR_CREATE;
    }
    if linux_flags & linux::XATTR_REPLACE != 0 {
        o |= DARWIN_XATTR_REPLACE;
    }
    Ok(o)
}

/// Darwin `options` for get/list/remove: `XATTR_NOFOLLOW` for path-based calls.
pub const fn read_options(nofollow: bool) -> i32 {
    if nofollow { DARWIN_XATTR_NOFOLLOW } else { 0 }
}

/// Linux `setxattr` flags for Darwin `options` (the other direction).
pub fn linux_flags(darwin_options: i32) -> u32 {
    let mut f = 0;
    if darwin_options & DARWIN_XATTR_CREATE != 0 {
        f |= linux::XATTR_CREATE;
    }
    if darwin_options & DARWIN_XATTR_REPLACE != 0 {
        f |= linux::XATTR_REPLACE;
    }
    f
}

/// Checks a Linux xattr name before it reaches Darwin.
///
/// - empty: `EINVAL`; NUL inside: `EINVAL`;
/// - longer than Darwin's 127 bytes: `ERANGE` (what Linux says for a name
///   longer than it can store);
/// - `system.posix_acl_*`: `EOPNOTSUPP`, so the guest kernel knows ACLs
///   are not stored (a Darwin xattr of that name would not be enforced).
pub fn check_name(name: &[u8]) -> Result<(), Errno> {
    if name.is_empty() || name.contains(&0) {
        return Err(Errno::EINVAL);
    }
    if name.len() > DARWIN_XATTR_MAXNAMELEN {
        return Err(Errno::ERANGE);
    }
    if POSIX_ACL_NAMES.contains(&name) {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(())
}

/// Linux errno for a failed Darwin xattr call: as [`super::errno::from_darwin`]
/// except that `ENAMETOOLONG` is Linux's `ERANGE` for xattr names.
pub fn errno_from_darwin(darwin: i32) -> Errno {
    match super::errno::from_darwin(darwin) {
        Errno::ENAMETOOLONG => Errno::ERANGE,
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_table() {
        // (Linux flags, nofollow, Darwin options per <sys/xattr.h>).
        let table: &[(u32, bool, i32)] = &[
            (0, false, 0),
            (0, true, 0x0001),
            (1, false, 0x0002), // XATTR_CREATE
            (2, false, 0x0004), // XATTR_REPLACE
            (1, true, 0x0003),
            (2, true, 0x0005),
        ];
        for &(l, nf, d) in table {
            assert_eq!(set_options(l, nf), Ok(d), "{l} {nf}");
            assert_eq!(linux_flags(d), l);
        }
        assert_eq!(set_options(3, false), Err(Errno::EINVAL));
        assert_eq!(set_options(4, false), Err(Errno::EINVAL));
        assert_eq!(set_options(0x8000_0000, true), Err(Errno::EINVAL));
        // Linux XATTR_CREATE must not become Darwin XATTR_NOFOLLOW (both 1).
        assert_eq!(
            set_options(linux::XATTR_CREATE, false).map(|o| o & DARWIN_XATTR_NOFOLLOW),
            Ok(0)
        );
        assert_eq!(read_options(true), DARWIN_XATTR_NOFOLLOW);
        assert_eq!(read_options(false), 0);
        assert_eq!(
            linux_flags(DARWIN_XATTR_NOFOLLOW | DARWIN_XATTR_NOSECURITY | DARWIN_XATTR_NODEFAULT),
            0
        );
        assert_eq!(linux_flags(DARWIN_XATTR_SHOWCOMPRESSION), 0);
    }

    #[test]
    fn names() {
        assert_eq!(check_name(b"user.test"), Ok(()));
        assert_eq!(check_name(b"com.apple.quarantine"), Ok(()));
        assert_eq!(check_name(b""), Err(Errno::EINVAL));
        assert_eq!(check_name(b"user.a\0b"), Err(Errno::EINVAL));
        assert_eq!(check_name(&[b'a'; 127]), Ok(()));
        assert_eq!(check_name(&[b'a'; 128]), Err(Errno::ERANGE));
        assert_eq!(
            check_name(b"system.posix_acl_access"),
            Err(Errno::EOPNOTSUPP)
        );
        assert_eq!(
            check_name(b"system.posix_acl_default"),
            Err(Errno::EOPNOTSUPP)
        );
    }

    #[test]
    fn errnos() {
        assert_eq!(errno_from_darwin(93), Errno::ENODATA); // ENOATTR
        assert_eq!(errno_from_darwin(63), Errno::ERANGE); // ENAMETOOLONG
        assert_eq!(errno_from_darwin(34), Errno::ERANGE);
        assert_eq!(errno_from_darwin(45), Errno::EOPNOTSUPP); // ENOTSUP
        assert_eq!(errno_from_darwin(1), Errno::EPERM);
    }
}
