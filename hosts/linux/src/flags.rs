//! Wire [`OpenFlags`] to host `O_*` flags, bit by bit.
//!
//! The guest's values are Linux (x86 numbering for `O_DIRECT`,
//! `O_DIRECTORY`, `O_NOFOLLOW`, `O_LARGEFILE`); each known flag is mapped to
//! the host constant by name, so an arm64 host gets its own values and no
//! unknown guest bit ever reaches the host.

use arcbox_fs::abi::{AccessMode, OpenFlags};
use rustix::fs::OFlags;

/// Host flags for opening an existing inode for I/O with guest `flags`.
///
/// Dropped: `O_CREAT`, `O_EXCL`, `O_NOCTTY` (the host never creates or
/// acquires a terminal here), `O_PATH`, `O_TMPFILE` (only
/// [`arcbox_fs::host::Host::tmpfile`] makes those), `FASYNC` (no signals
/// to a server), `O_LARGEFILE` (implied on 64-bit), `O_NOFOLLOW` (the
/// inode is already resolved, never through a symlink) and unknown bits.
/// Always added: `O_CLOEXEC`.
pub(crate) fn io_flags(flags: OpenFlags) -> OFlags {
    let mut o = match flags.access() {
        AccessMode::ReadOnly => OFlags::RDONLY,
        AccessMode::WriteOnly => OFlags::WRONLY,
        AccessMode::ReadWrite => OFlags::RDWR,
    };
    let map = [
        (OpenFlags::TRUNC, OFlags::TRUNC),
        (OpenFlags::APPEND, OFlags::APPEND),
        (OpenFlags::NONBLOCK, OFlags::NONBLOCK),
        (OpenFlags::DIRECT, OFlags::DIRECT),
        (OpenFlags::DIRECTORY, OFlags::DIRECTORY),
        (OpenFlags::NOATIME, OFlags::NOATIME),
    ];
    for (wire, host) in map {
        if flags.contains(wire) {
            o |= host;
        }
    }
    // O_SYNC contains O_DSYNC's bit: test the full value first.
    if flags.contains(OpenFlags::SYNC) {
        o |= OFlags::SYNC;
    } else if flags.contains(OpenFlags::DSYNC) {
        o |= OFlags::DSYNC;
    }
    o | OFlags::CLOEXEC
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_and_maps() {
        let f = OpenFlags::RDWR
            | OpenFlags::CREAT
            | OpenFlags::EXCL
            | OpenFlags::NOCTTY
            | OpenFlags::APPEND
            | OpenFlags::PATH
            | OpenFlags::ASYNC;
        assert_eq!(io_flags(f), OFlags::RDWR | OFlags::APPEND | OFlags::CLOEXEC);
        assert_eq!(
            io_flags(OpenFlags::empty()),
            OFlags::RDONLY | OFlags::CLOEXEC
        );
        assert_eq!(
            io_flags(OpenFlags::WRONLY | OpenFlags::TRUNC),
            OFlags::WRONLY | OFlags::TRUNC | OFlags::CLOEXEC
        );
        assert_eq!(io_flags(OpenFlags::DSYNC), OFlags::DSYNC | OFlags::CLOEXEC);
        assert_eq!(io_flags(OpenFlags::SYNC), OFlags::SYNC | OFlags::CLOEXEC);
        assert_eq!(
            io_flags(OpenFlags::DIRECT),
            OFlags::DIRECT | OFlags::CLOEXEC
        );
        // Unknown bits never pass.
        assert_eq!(
            io_flags(OpenFlags::from_bits_retain(0x8000_0000)),
            OFlags::RDONLY | OFlags::CLOEXEC
        );
        // O_TMPFILE includes O_DIRECTORY's bit; open() keeps only O_DIRECTORY.
        assert_eq!(
            io_flags(OpenFlags::TMPFILE),
            OFlags::DIRECTORY | OFlags::CLOEXEC
        );
    }
}
