//! The `user.containers.override_stat` attribute: the guest-visible owner,
//! group, permission bits and file type of a host file, as libkrun and
//! podman store them on macOS (`"UID:GID:0MODE"`, decimal ids, octal mode
//! including the `S_IFMT` bits).

use crate::abi::mode;
use core::fmt::Write;

/// Host name of the attribute.
pub const OVERRIDE_STAT: &[u8] = b"user.containers.override_stat";

/// Whether the host-side xattr `name` is the server's own and hidden from
/// the guest (exact byte comparison, no NUL terminator involved).
pub fn is_hidden_host_xattr(name: &[u8]) -> bool {
    name == OVERRIDE_STAT
}

/// The guest-visible identity of one host file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverrideStat {
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Type (`S_IFMT` bits, 0 = the host's) and permission bits (`0o7777`).
    pub mode: u32,
}

/// Longest encoded value: two 10-digit ids, `0` + 6 octal digits, 2 colons.
pub const MAX_LEN: usize = 10 + 1 + 10 + 1 + 7;

impl OverrideStat {
    /// Parses a value; anything malformed (wrong field count, non-digits,
    /// overflow, mode bits outside `S_IFMT | 0o7777`, an unknown type) is
    /// `None`, treated as an absent attribute. One trailing NUL is accepted
    /// (some writers include it).
    pub fn parse(v: &[u8]) -> Option<OverrideStat> {
        let v = v.strip_suffix(b"\0").unwrap_or(v);
        let s = core::str::from_utf8(v).ok()?;
        let mut it = s.split(':');
        let uid = dec(it.next()?)?;
        let gid = dec(it.next()?)?;
        let m = it.next()?;
        if it.next().is_some() || m.is_empty() || !m.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return None;
        }
        let mode = u32::from_str_radix(m, 8).ok()?;
        if mode & !(mode::S_IFMT | mode::S_IALLUGO) != 0 {
            return None;
        }
        let t = mode & mode::S_IFMT;
        let known = [
            0,
            mode::S_IFREG,
            mode::S_IFDIR,
            mode::S_IFLNK,
            mode::S_IFCHR,
            mode::S_IFBLK,
            mode::S_IFIFO,
            mode::S_IFSOCK,
        ];
        if !known.contains(&t) {
            return None;
        }
        Some(OverrideStat { uid, gid, mode })
    }

    /// Encodes into `buf`; returns the bytes written.
    pub fn format(self, buf: &mut [u8; MAX_LEN]) -> &[u8] {
        let mut w = Buf { buf, len: 0 };
        // Cannot fail: MAX_LEN holds the longest value.
        let _ = write!(w, "{}:{}:0{:o}", self.uid, self.gid, self.mode);
        let len = w.len;
        &buf[..len]
    }
}

/// A decimal id: digits only, fits `u32`.
fn dec(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

struct Buf<'a> {
    buf: &'a mut [u8; MAX_LEN],
    len: usize,
}

impl Write for Buf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(core::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut b = [0u8; MAX_LEN];
        for o in [
            OverrideStat {
                uid: 0,
                gid: 0,
                mode: 0o100644,
            },
            OverrideStat {
                uid: u32::MAX,
                gid: u32::MAX,
                mode: 0o147777,
            },
            OverrideStat {
                uid: 1000,
                gid: 5,
                mode: 0o20600,
            },
        ] {
            let v = o.format(&mut b).to_vec();
            assert_eq!(OverrideStat::parse(&v), Some(o));
        }
        assert_eq!(
            OverrideStat {
                uid: 501,
                gid: 20,
                mode: 0o100644
            }
            .format(&mut b),
            b"501:20:0100644"
        );
        assert_eq!(
            OverrideStat::parse(b"1:2:0755\0"),
            Some(OverrideStat {
                uid: 1,
                gid: 2,
                mode: 0o755
            })
        );
    }

    #[test]
    fn malformed_is_absent() {
        for v in [
            &b""[..],
            b"1:2",
            b"1:2:3:4",
            b"a:2:0644",
            b"1:-2:0644",
            b"1:2:0648",
            b"1:2:",
            b"4294967296:0:0644",
            b"1:2:01000000",
            b"1:2:0170644",
            b"1:2:0644\0\0",
            b" 1:2:0644",
            b"\xff:2:0644",
            b"+1:2:0644",
        ] {
            assert_eq!(OverrideStat::parse(v), None, "{v:?}");
        }
    }

    #[test]
    fn hidden_name_is_exact() {
        assert!(is_hidden_host_xattr(b"user.containers.override_stat"));
        assert!(!is_hidden_host_xattr(b"user.containers.override_stat\0"));
        assert!(!is_hidden_host_xattr(b"user.containers.override_sta"));
        assert!(!is_hidden_host_xattr(b"user.containers.override_statx"));
    }
}
