//! The `user.containers.override_stat` attribute: the guest-visible owner,
//! group, permission bits and file type of a host file, as libkrun and
//! podman store them on macOS (`"UID:GID:0MODE"`, decimal ids, octal mode
//! including the `S_IFMT` bits).
//!
//! Extension (ours): a character or block device also records its device
//! number as a fourth field, `"UID:GID:0MODE:RDEV"`, RDEV in decimal as
//! FUSE carries it (`fuse_mknod_in.rdev` / `fuse_attr.rdev`, the kernel's
//! `new_encode_dev`). libkrun's reader takes the first three fields and
//! ignores the rest, fuse-overlayfs reads it with `sscanf("%d:%d:%o")`, so
//! both still read owner, group and mode; every other value is written in
//! the three-field form, byte for byte as libkrun writes it.

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
    /// Device number of a character or block device (FUSE's encoding);
    /// 0 otherwise (and then not stored).
    pub rdev: u32,
}

/// Longest encoded value: two 10-digit ids, `0` + 6 octal digits, a
/// 10-digit device number, 3 colons.
pub const MAX_LEN: usize = 10 + 1 + 10 + 1 + 7 + 1 + 10;

impl OverrideStat {
    /// Parses a value (three fields, or four with a device number);
    /// anything malformed (wrong field count, non-digits, overflow, mode
    /// bits outside `S_IFMT | 0o7777`, an unknown type) is `None`, treated
    /// as an absent attribute. One trailing NUL is accepted (some writers
    /// include it). A device number on anything but a device is ignored.
    pub fn parse(v: &[u8]) -> Option<OverrideStat> {
        let v = v.strip_suffix(b"\0").unwrap_or(v);
        let s = core::str::from_utf8(v).ok()?;
        let mut it = s.split(':');
        let uid = dec(it.next()?)?;
        let gid = dec(it.next()?)?;
        let m = it.next()?;
        let rdev = match it.next() {
            None => 0,
            Some(r) => dec(r)?,
        };
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
        let rdev = if is_device(mode) { rdev } else { 0 };
        Some(OverrideStat {
            uid,
            gid,
            mode,
            rdev,
        })
    }

    /// Encodes into `buf`; returns the bytes written.
    pub fn format(self, buf: &mut [u8; MAX_LEN]) -> &[u8] {
        let mut w = Buf { buf, len: 0 };
        // Cannot fail: MAX_LEN holds the longest value.
        let _ = write!(w, "{}:{}:0{:o}", self.uid, self.gid, self.mode);
        if self.rdev != 0 && is_device(self.mode) {
            let _ = write!(w, ":{}", self.rdev);
        }
        let len = w.len;
        &buf[..len]
    }
}

/// Whether `m`'s type is a character or block device.
fn is_device(m: u32) -> bool {
    matches!(m & mode::S_IFMT, mode::S_IFCHR | mode::S_IFBLK)
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

    fn o(uid: u32, gid: u32, mode: u32, rdev: u32) -> OverrideStat {
        OverrideStat {
            uid,
            gid,
            mode,
            rdev,
        }
    }

    #[test]
    fn round_trip() {
        let mut b = [0u8; MAX_LEN];
        for v in [
            o(0, 0, 0o100644, 0),
            o(u32::MAX, u32::MAX, 0o147777, 0),
            o(1000, 5, 0o20600, 0),
            o(u32::MAX, u32::MAX, 0o027777, u32::MAX),
            o(0, 0, 0o060660, 0x0800),
        ] {
            let enc = v.format(&mut b).to_vec();
            assert_eq!(OverrideStat::parse(&enc), Some(v));
        }
        assert_eq!(o(501, 20, 0o100644, 0).format(&mut b), b"501:20:0100644");
        assert_eq!(o(0, 0, 0o20666, 259).format(&mut b), b"0:0:020666:259");
        // A device number is only written (and read) for a device.
        assert_eq!(o(0, 0, 0o10644, 259).format(&mut b), b"0:0:010644");
        assert_eq!(
            OverrideStat::parse(b"1:2:0100644:7"),
            Some(o(1, 2, 0o100644, 0))
        );
        assert_eq!(OverrideStat::parse(b"1:2:0755\0"), Some(o(1, 2, 0o755, 0)));
        assert_eq!(
            OverrideStat::parse(b"1:2:060600:2049\0"),
            Some(o(1, 2, 0o60600, 2049))
        );
    }

    #[test]
    fn malformed_is_absent() {
        for v in [
            &b""[..],
            b"1:2",
            b"1:2:3:4:5",
            b"1:2:020644:",
            b"1:2:020644:x",
            b"1:2:020644:-1",
            b"1:2:020644:4294967296",
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
