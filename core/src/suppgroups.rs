//! FUSE_EXT_GROUPS (fuse.h 7.40, `FUSE_CREATE_SUPP_GROUP`): the caller's
//! supplementary groups, sent as a request extension.
//!
//! Wire format (Linux `fs/fuse/dir.c`, `get_create_supp_group`): an
//! extension header {size, type = `FUSE_EXT_GROUPS`}, then
//! `fuse_supp_groups` {nr_groups, groups[nr_groups]}, the block padded to
//! 8 bytes. Linux sends one group (the new object's parent directory's,
//! when the caller is in it and it is not the caller's fsgid); the format
//! allows more, and every group given is taken, up to [`MAX_SUPP_GROUPS`].
//!
//! The groups are copied out of the request (which may be guest memory)
//! into a buffer of the dispatcher's before anything uses them.

use crate::abi::EXT_GROUPS;
use crate::errno::Errno;
use crate::ext::find_ext;
use crate::io::RequestSource;
use crate::request::InPlace;

/// Most supplementary groups one request may carry; a request with more
/// is refused (`EINVAL`) rather than judged on part of its groups (a group
/// left out could grant the "other" permission bits its group bits deny).
pub const MAX_SUPP_GROUPS: usize = 32;

/// Finds the `FUSE_EXT_GROUPS` extension among a request's extensions
/// (`ext`, relative to the body) and copies its groups into `buf`.
///
/// Returns the groups (empty when there is no such extension).
/// Errors: `EINVAL` for malformed extensions (sizes that do not add up, a
/// group count that does not fit its block, more than
/// [`MAX_SUPP_GROUPS`]); `EFAULT`-style read errors of the request.
pub fn read_groups<'b>(
    req: &dyn RequestSource,
    ext: InPlace,
    buf: &'b mut [u32; MAX_SUPP_GROUPS],
) -> Result<&'b [u32], Errno> {
    match find_ext(req, ext, |t| t == EXT_GROUPS)? {
        Some(b) => groups_block(req, b.start, b.end, buf),
        None => Ok(&buf[..0]),
    }
}

/// The `fuse_supp_groups` at `pos`, its block ending at `end`.
fn groups_block<'b>(
    req: &dyn RequestSource,
    pos: usize,
    end: usize,
    buf: &'b mut [u32; MAX_SUPP_GROUPS],
) -> Result<&'b [u32], Errno> {
    let mut nr = [0u8; 4];
    if end - pos < nr.len() {
        return Err(Errno::EINVAL);
    }
    req.read_at(pos, &mut nr)?;
    let nr = u32::from_le_bytes(nr) as usize;
    if nr > MAX_SUPP_GROUPS || nr * 4 > end - pos - 4 {
        return Err(Errno::EINVAL);
    }
    let mut raw = [0u8; MAX_SUPP_GROUPS * 4];
    let raw = &mut raw[..nr * 4];
    req.read_at(pos + 4, raw)?;
    for (g, b) in buf.iter_mut().zip(raw.chunks_exact(4)) {
        *g = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    Ok(&buf[..nr])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use alloc::vec::Vec;

    use crate::ext::test_request as req;

    fn groups(gs: &[u32]) -> Vec<u8> {
        let mut v = Vec::new();
        let body = 4 + 4 * gs.len();
        let size = (8 + body).div_ceil(8) * 8;
        v.extend_from_slice(&(size as u32).to_le_bytes());
        v.extend_from_slice(&EXT_GROUPS.to_le_bytes());
        v.extend_from_slice(&(gs.len() as u32).to_le_bytes());
        for g in gs {
            v.extend_from_slice(&g.to_le_bytes());
        }
        v.resize(size, 0);
        v
    }

    #[test]
    fn reads_every_group_after_other_extensions() {
        let other = [16u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let g = groups(&[7, 8, 9]);
        let (r, ext) = req(&[&other, &g]);
        let mut buf = [0u32; MAX_SUPP_GROUPS];
        assert_eq!(read_groups(&&r[..], ext, &mut buf), Ok(&[7, 8, 9][..]));
        let g = groups(&[5]);
        let (r, ext) = req(&[&g]);
        assert_eq!(read_groups(&&r[..], ext, &mut buf), Ok(&[5][..]));
        let (r, ext) = req(&[&other]);
        assert_eq!(read_groups(&&r[..], ext, &mut buf), Ok(&[][..]));
        let (r, ext) = req(&[]);
        assert_eq!(read_groups(&&r[..], ext, &mut buf), Ok(&[][..]));
        let all: Vec<u32> = (0..MAX_SUPP_GROUPS as u32).collect();
        let g = groups(&all);
        let (r, ext) = req(&[&g]);
        assert_eq!(read_groups(&&r[..], ext, &mut buf), Ok(&all[..]));
    }

    #[test]
    fn malformed_groups_are_einval() {
        let mut buf = [0u32; MAX_SUPP_GROUPS];
        let too_many: Vec<u32> = (0..=MAX_SUPP_GROUPS as u32).collect();
        let mut overcount = groups(&[1]);
        overcount[8..12].copy_from_slice(&3u32.to_le_bytes());
        let mut short = groups(&[1]);
        short[0..4].copy_from_slice(&8u32.to_le_bytes());
        let mut huge = groups(&[1]);
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        for bad in [
            groups(&too_many),
            overcount,
            short,
            huge,
            alloc::vec![16u8, 0, 0, 0, 32, 0, 0, 0],
            alloc::vec![3u8, 0, 0, 0, 32, 0, 0, 0],
            alloc::vec![0u8; 4],
        ] {
            let (r, ext) = req(&[&bad]);
            assert_eq!(
                read_groups(&&r[..], ext, &mut buf),
                Err(Errno::EINVAL),
                "{bad:?}"
            );
        }
    }
}
