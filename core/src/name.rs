//! Validated file names: one path component, never a path.

use crate::abi::NAME_MAX;
use crate::errno::Errno;
use core::fmt;

/// A single, validated path component: not empty, not `.` or `..`, no `/`,
/// no NUL, at most `NAME_MAX` (255) bytes.
///
/// Every name a guest sends is checked into a `Name` before it reaches a
/// filesystem or a host, whatever host is below; a `Name` cannot be built
/// any other way.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name<'a>(&'a [u8]);

impl<'a> Name<'a> {
    /// Checks `bytes` (without the trailing NUL) as a name.
    ///
    /// Errors: `EINVAL` for empty names, `/` or NUL inside, `.` and `..`;
    /// `ENAMETOOLONG` above 255 bytes.
    pub fn new(bytes: &'a [u8]) -> Result<Name<'a>, Errno> {
        if bytes.is_empty() || bytes == b"." || bytes == b".." {
            return Err(Errno::EINVAL);
        }
        if bytes.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if bytes.iter().any(|&b| b == b'/' || b == 0) {
            return Err(Errno::EINVAL);
        }
        Ok(Name(bytes))
    }

    /// The bytes of the name (no NUL).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Length in bytes (1 to 255).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// An FNV-1a hash of the name, stable across runs (negative-cache keys).
    pub fn hash64(&self) -> u64 {
        fnv1a(self.0)
    }
}

/// FNV-1a over `bytes`.
pub const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

impl fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

impl AsRef<[u8]> for Name<'_> {
    fn as_ref(&self) -> &[u8] {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_hostile_names() {
        for bad in [
            &b""[..],
            b".",
            b"..",
            b"a/b",
            b"/",
            b"a\0b",
            b"\0",
            b"../etc",
        ] {
            assert_eq!(
                Name::new(bad),
                Err(Errno::EINVAL),
                "{:?}",
                bad.escape_ascii()
            );
        }
        assert_eq!(Name::new(&[b'x'; 256]), Err(Errno::ENAMETOOLONG));
        assert!(Name::new(&[b'x'; 255]).is_ok());
        for good in [&b"a"[..], b"...", b".hidden", b"a..b", b"\xff\xfe"] {
            assert_eq!(Name::new(good).map(|n| n.as_bytes()), Ok(good));
        }
    }
}
