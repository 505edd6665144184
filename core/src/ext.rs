//! Request extensions (fuse.h 7.36, `fuse_ext_header`): blocks after a
//! request's arguments, each an 8-byte header {size, type} and a payload,
//! `size` counting the header and a multiple of 8 (Linux `fs/fuse/dir.c`,
//! `extend_arg`).

use crate::abi::ExtHeader;
use crate::errno::Errno;
use crate::io::RequestSource;
use crate::request::{IN_HEADER_LEN, InPlace};
use zerocopy::FromBytes;

/// One extension block: its type and where its payload lies in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExtBlock {
    /// `fuse_ext_header.type`.
    pub typ: u32,
    /// First byte after the header (an offset into the request).
    pub start: usize,
    /// End of the block (exclusive).
    pub end: usize,
}

/// The first block of the extensions `ext` (relative to the body) whose
/// type `want` accepts, checking every header up to it.
///
/// Errors: `EINVAL` for a header that does not fit or a size that is below
/// 8, not a multiple of 8 or beyond the extensions; read errors of `req`.
pub(crate) fn find_ext(
    req: &dyn RequestSource,
    ext: InPlace,
    want: impl Fn(u32) -> bool,
) -> Result<Option<ExtBlock>, Errno> {
    let mut pos = IN_HEADER_LEN.checked_add(ext.off).ok_or(Errno::EINVAL)?;
    let end = pos.checked_add(ext.len).ok_or(Errno::EINVAL)?;
    while pos < end {
        let mut h = [0u8; 8];
        if end - pos < h.len() {
            return Err(Errno::EINVAL);
        }
        req.read_at(pos, &mut h)?;
        let (eh, _) = ExtHeader::read_from_prefix(&h[..]).map_err(|_| Errno::EINVAL)?;
        let size = eh.size as usize;
        if size < 8 || size % 8 != 0 || size > end - pos {
            return Err(Errno::EINVAL);
        }
        if want(eh.typ) {
            return Ok(Some(ExtBlock {
                typ: eh.typ,
                start: pos + 8,
                end: pos + size,
            }));
        }
        pos += size;
    }
    Ok(None)
}

/// Tests' request: a bare header followed by extension `blocks`, and where
/// the extensions lie.
#[cfg(test)]
pub(crate) fn test_request(blocks: &[&[u8]]) -> (alloc::vec::Vec<u8>, InPlace) {
    let mut r = alloc::vec![0u8; IN_HEADER_LEN];
    for b in blocks {
        r.extend_from_slice(b);
    }
    let len = r.len() - IN_HEADER_LEN;
    (r, InPlace { off: 0, len })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use test_request as req;

    #[test]
    fn finds_the_wanted_block_after_others() {
        let a = [16u8, 0, 0, 0, 9, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        let b = [8u8, 0, 0, 0, 5, 0, 0, 0];
        let (r, ext) = req(&[&a, &b]);
        let got = find_ext(&&r[..], ext, |t| t == 5).unwrap().unwrap();
        assert_eq!(
            got,
            ExtBlock {
                typ: 5,
                start: IN_HEADER_LEN + 24,
                end: IN_HEADER_LEN + 24
            }
        );
        assert_eq!(find_ext(&&r[..], ext, |t| t == 6), Ok(None));
    }

    #[test]
    fn refuses_sizes_that_do_not_add_up() {
        for bad in [
            [4u8, 0, 0, 0, 1, 0, 0, 0],  // below the header
            [12u8, 0, 0, 0, 1, 0, 0, 0], // not a multiple of 8
            [16u8, 0, 0, 0, 1, 0, 0, 0], // beyond the extensions
        ] {
            let (r, ext) = req(&[&bad]);
            assert_eq!(
                find_ext(&&r[..], ext, |_| false),
                Err(Errno::EINVAL),
                "{bad:?}"
            );
        }
        let (r, ext) = req(&[&[8u8, 0, 0, 0]]);
        assert_eq!(
            find_ext(&&r[..], ext, |_| true),
            Err(Errno::EINVAL),
            "half a header"
        );
        let ext = InPlace {
            off: usize::MAX,
            len: 8,
        };
        assert_eq!(
            find_ext(&&r[..], ext, |_| true),
            Err(Errno::EINVAL),
            "offset overflow"
        );
    }
}
