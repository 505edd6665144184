//! FUSE_SECURITY_CTX (fuse.h 7.36): the security label a guest's LSM wants
//! on a new object, sent as a request extension of CREATE, MKNOD, MKDIR,
//! SYMLINK and TMPFILE.
//!
//! Wire format (Linux `fs/fuse/dir.c`, `get_security_context`): a
//! `fuse_secctx_header` {size, nr_secctx} whose 8 bytes double as the
//! extension header {size, type} (types `0..=FUSE_MAX_NR_SECCTX`), then per
//! context a `fuse_secctx` {size of the value, padding}, the attribute name
//! NUL-terminated and the value, the whole block padded to 8 bytes. Linux
//! sends at most one context, and a header with `nr_secctx == 0` when its
//! LSM has no label to give.
//!
//! The label is copied out of the request (which may be guest memory) into
//! a buffer of the dispatcher's before anything uses it.

use crate::abi::{MAX_NR_SECCTX, Secctx, XATTR_NAME_MAX};
use crate::errno::Errno;
use crate::ext::find_ext;
use crate::fs::SecLabel;
use crate::io::RequestSource;
use crate::request::InPlace;
use zerocopy::FromBytes;

/// Largest label value taken (a page, as the kernel's LSM contexts).
pub const LABEL_VALUE_MAX: usize = 4096;
/// Buffer size [`read_label`] needs: a name with its NUL and a value.
pub const LABEL_BUF: usize = XATTR_NAME_MAX + 1 + LABEL_VALUE_MAX;

/// Finds the security context extension among a request's extensions
/// (`ext`, relative to the body) and copies its label into `buf`.
///
/// Returns `None` when there is no such extension or it holds no context.
/// Errors: `EINVAL` for a malformed extension (sizes that do not add up, more
/// than one context, a name without its NUL or outside `security.`, a value
/// longer than [`LABEL_VALUE_MAX`]).
pub fn read_label<'b>(
    req: &dyn RequestSource,
    ext: InPlace,
    buf: &'b mut [u8; LABEL_BUF],
) -> Result<Option<SecLabel<'b>>, Errno> {
    // Types 0..=FUSE_MAX_NR_SECCTX are the context count.
    match find_ext(req, ext, |t| t <= MAX_NR_SECCTX)? {
        None => Ok(None),
        Some(b) => match b.typ {
            0 => Ok(None),
            1 => one_label(req, b.start, b.end, buf).map(Some),
            _ => Err(Errno::EINVAL),
        },
    }
}

/// The one `fuse_secctx` at `pos`, its block ending at `end`.
fn one_label<'b>(
    req: &dyn RequestSource,
    pos: usize,
    end: usize,
    buf: &'b mut [u8; LABEL_BUF],
) -> Result<SecLabel<'b>, Errno> {
    let mut c = [0u8; 8];
    if end.saturating_sub(pos) < c.len() {
        return Err(Errno::EINVAL);
    }
    req.read_at(pos, &mut c)?;
    let (sc, _) = Secctx::read_from_prefix(&c[..]).map_err(|_| Errno::EINVAL)?;
    let value_len = sc.size as usize;
    if value_len > LABEL_VALUE_MAX {
        return Err(Errno::EINVAL);
    }
    // The name, NUL-terminated, within the block and XATTR_NAME_MAX.
    let name_at = pos + 8;
    let room = (end - name_at).min(XATTR_NAME_MAX + 1);
    req.read_at(name_at, &mut buf[..room])?;
    let name_len = buf[..room]
        .iter()
        .position(|&b| b == 0)
        .ok_or(Errno::EINVAL)?;
    let value_at = name_at + name_len + 1;
    if value_len > end - value_at {
        return Err(Errno::EINVAL);
    }
    let (name, rest) = buf.split_at_mut(name_len);
    let name: &[u8] = name;
    if name.len() <= b"security.".len() || !name.starts_with(b"security.") {
        return Err(Errno::EINVAL);
    }
    let value = &mut rest[..value_len];
    req.read_at(value_at, value)?;
    Ok(SecLabel {
        name,
        value: &*value,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use alloc::vec::Vec;

    use crate::ext::test_request as req;

    fn secctx(nr: u32, name: &[u8], value: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&(value.len() as u32).to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(name);
        body.push(0);
        body.extend_from_slice(value);
        while (body.len() + 8) % 8 != 0 {
            body.push(0);
        }
        let mut v = Vec::new();
        v.extend_from_slice(&((body.len() + 8) as u32).to_le_bytes());
        v.extend_from_slice(&nr.to_le_bytes());
        v.extend_from_slice(&body);
        v
    }

    fn groups() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&crate::abi::EXT_GROUPS.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&7u32.to_le_bytes());
        v
    }

    #[test]
    fn reads_the_label_before_or_after_other_extensions() {
        let label = b"system_u:object_r:container_file_t:s0";
        for blocks in [
            alloc::vec![secctx(1, b"security.selinux", label), groups()],
            alloc::vec![groups(), secctx(1, b"security.selinux", label)],
        ] {
            let refs: Vec<&[u8]> = blocks.iter().map(|b| &b[..]).collect();
            let (r, ext) = req(&refs);
            let mut buf = [0u8; LABEL_BUF];
            let l = read_label(&&r[..], ext, &mut buf).unwrap().unwrap();
            assert_eq!((l.name, l.value), (&b"security.selinux"[..], &label[..]));
        }
    }

    #[test]
    fn no_context_and_no_extension_are_none() {
        let mut buf = [0u8; LABEL_BUF];
        let empty = [8u8, 0, 0, 0, 0, 0, 0, 0];
        let (r, ext) = req(&[&empty]);
        assert_eq!(read_label(&&r[..], ext, &mut buf), Ok(None));
        let g = groups();
        let (r, ext) = req(&[&g]);
        assert_eq!(read_label(&&r[..], ext, &mut buf), Ok(None));
        let (r, ext) = req(&[]);
        assert_eq!(read_label(&&r[..], ext, &mut buf), Ok(None));
    }

    #[test]
    fn malformed_extensions_are_einval() {
        let mut buf = [0u8; LABEL_BUF];
        let good = secctx(1, b"security.selinux", b"x");
        let mut cases: Vec<Vec<u8>> = Vec::new();
        // Two contexts; a name outside security.; an empty suffix.
        cases.push(secctx(2, b"security.selinux", b"x"));
        cases.push(secctx(1, b"user.containers.override_stat", b"0:0:0100644"));
        cases.push(secctx(1, b"security.", b"x"));
        // Block size not a multiple of 8, zero, or past the end.
        for size in [7u32, 0, 4096] {
            let mut c = good.clone();
            c[..4].copy_from_slice(&size.to_le_bytes());
            cases.push(c);
        }
        // Value longer than the block; longer than LABEL_VALUE_MAX.
        for vlen in [64u32, LABEL_VALUE_MAX as u32 + 1] {
            let mut c = good.clone();
            c[8..12].copy_from_slice(&vlen.to_le_bytes());
            cases.push(c);
        }
        // A name without its NUL inside the block.
        let mut c = secctx(1, b"security.selinux", b"");
        let n = c.len();
        for b in &mut c[16..n] {
            *b = b'a';
        }
        cases.push(c);
        // A header cut short.
        cases.push(good[..4].to_vec());
        for (i, c) in cases.iter().enumerate() {
            let (r, ext) = req(&[c]);
            assert_eq!(
                read_label(&&r[..], ext, &mut buf),
                Err(Errno::EINVAL),
                "case {i}"
            );
        }
    }
}
