//! `O_DIRECT`: the guest's direct I/O is kept in the guest and never reaches
//! the host descriptor.
//!
//! A guest opening a file with `O_DIRECT` (open(2)) gets `FOPEN_DIRECT_IO`
//! on its handle (FUSE protocol, `include/uapi/linux/fuse.h`): its kernel
//! then bypasses its own page cache for that file and sends every read and
//! write, of any size and offset, to the server, which performs it before it
//! replies. The host file is opened *without* `O_DIRECT`.
//!
//! Why not pass `O_DIRECT` on to the host: a host `O_DIRECT` descriptor
//! demands that buffer address, length and offset be multiples of the host
//! file system's logical block size (open(2), "O_DIRECT"). The buffers a
//! request arrives in are not the guest's buffers: a `/dev/fuse` request
//! buffer puts the WRITE payload at page offset 0x60, a virtio descriptor
//! chain points anywhere in guest memory, and the guest's block size need
//! not be the host's. Aligning would mean a bounce copy per request (the
//! data path is zero-copy) and still could not serve the unaligned requests
//! the guest's own `O_DIRECT` accepts. macOS has no `O_DIRECT` at all. The
//! guest-visible semantics (no guest caching, each write handed to the host
//! before it is acknowledged, reads see the host file) are those of
//! `FOPEN_DIRECT_IO`; durability still needs `fsync`, as with `O_DIRECT` on
//! any file system. Handles opened with `O_DIRECT` never combine writes
//! (see [`super::wcombine::WriteCombiner::allowed`]), so a direct write is on
//! the host when it is acknowledged.

use crate::abi::{FopenFlags, OpenFlags};

/// The flags the host file is opened with: `flags` without `O_DIRECT`.
pub(crate) fn host_flags(flags: OpenFlags) -> OpenFlags {
    flags - OpenFlags::DIRECT
}

/// `FOPEN_DIRECT_IO` when the guest opened with `O_DIRECT`, else nothing.
pub(crate) fn fopen_flags(flags: OpenFlags) -> FopenFlags {
    if flags.contains(OpenFlags::DIRECT) {
        FopenFlags::DIRECT_IO
    } else {
        FopenFlags::empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_stays_in_the_guest() {
        let f = OpenFlags::RDWR | OpenFlags::DIRECT | OpenFlags::SYNC;
        assert_eq!(host_flags(f), OpenFlags::RDWR | OpenFlags::SYNC);
        assert_eq!(fopen_flags(f), FopenFlags::DIRECT_IO);
        assert_eq!(fopen_flags(OpenFlags::RDWR), FopenFlags::empty());
        assert_eq!(host_flags(OpenFlags::RDWR), OpenFlags::RDWR);
    }
}
