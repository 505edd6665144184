//! Host errno to wire errno.
//!
//! On Linux the host's errno values are the Linux wire values the guest
//! expects (x86-64 and arm64 share the asm-generic numbering), so the
//! translation only re-wraps the number.

use arcbox_fs::Errno;

/// A rustix errno as a wire [`Errno`].
pub(crate) fn wire(e: rustix::io::Errno) -> Errno {
    Errno::from_raw(e.raw_os_error())
}

/// `map_err(wire)` for rustix results.
pub(crate) trait IntoWire<T> {
    /// Converts the error to a wire [`Errno`].
    fn wire(self) -> Result<T, Errno>;
}

impl<T> IntoWire<T> for rustix::io::Result<T> {
    fn wire(self) -> Result<T, Errno> {
        self.map_err(wire)
    }
}
