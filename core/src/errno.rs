//! Linux errno values, as the FUSE wire carries them (negated in
//! `fuse_out_header.error`). Hosts translate their native values into these.

use core::fmt;

/// A Linux errno value (include/uapi/asm-generic/errno-base.h, errno.h).
///
/// Always the Linux number, whatever the host: the guest is Linux.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(i32);

macro_rules! errnos {
    ($( $(#[$doc:meta])* $name:ident = $val:expr, )*) => {
        impl Errno {
            $( $(#[$doc])* pub const $name: Errno = Errno($val); )*

            /// Every named errno, for tables and tests.
            pub const ALL: &'static [(&'static str, Errno)] = &[$( (stringify!($name), Errno($val)), )*];

            /// The symbolic name, e.g. `"ENOENT"`, or `None` for an unnamed value.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some(stringify!($name)), )*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    /// Operation not permitted.
    EPERM = 1,
    /// No such file or directory.
    ENOENT = 2,
    /// No such process.
    ESRCH = 3,
    /// Interrupted system call.
    EINTR = 4,
    /// I/O error.
    EIO = 5,
    /// No such device or address.
    ENXIO = 6,
    /// Argument list too long.
    E2BIG = 7,
    /// Bad file number.
    EBADF = 9,
    /// Try again.
    EAGAIN = 11,
    /// Out of memory.
    ENOMEM = 12,
    /// Permission denied.
    EACCES = 13,
    /// Bad address.
    EFAULT = 14,
    /// Device or resource busy.
    EBUSY = 16,
    /// File exists.
    EEXIST = 17,
    /// Cross-device link.
    EXDEV = 18,
    /// No such device.
    ENODEV = 19,
    /// Not a directory.
    ENOTDIR = 20,
    /// Is a directory.
    EISDIR = 21,
    /// Invalid argument.
    EINVAL = 22,
    /// File table overflow.
    ENFILE = 23,
    /// Too many open files.
    EMFILE = 24,
    /// Not a typewriter.
    ENOTTY = 25,
    /// Text file busy.
    ETXTBSY = 26,
    /// File too large.
    EFBIG = 27,
    /// No space left on device.
    ENOSPC = 28,
    /// Illegal seek.
    ESPIPE = 29,
    /// Read-only file system.
    EROFS = 30,
    /// Too many links.
    EMLINK = 31,
    /// Broken pipe.
    EPIPE = 32,
    /// Math result not representable.
    ERANGE = 34,
    /// Resource deadlock would occur.
    EDEADLK = 35,
    /// File name too long.
    ENAMETOOLONG = 36,
    /// No record locks available.
    ENOLCK = 37,
    /// Function not implemented.
    ENOSYS = 38,
    /// Directory not empty.
    ENOTEMPTY = 39,
    /// Too many symbolic links encountered.
    ELOOP = 40,
    /// No data available (no such xattr).
    ENODATA = 61,
    /// Protocol error.
    EPROTO = 71,
    /// Value too large for defined data type.
    EOVERFLOW = 75,
    /// File descriptor in bad state.
    EBADFD = 77,
    /// Illegal byte sequence.
    EILSEQ = 84,
    /// Too many users.
    EUSERS = 87,
    /// Operation not supported (also `ENOTSUP`).
    EOPNOTSUPP = 95,
    /// No buffer space available.
    ENOBUFS = 105,
    /// Connection timed out.
    ETIMEDOUT = 110,
    /// Stale file handle.
    ESTALE = 116,
    /// Quota exceeded.
    EDQUOT = 122,
    /// Operation canceled.
    ECANCELED = 125,
}

impl Errno {
    /// `ENOTSUP` is `EOPNOTSUPP` on Linux.
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;
    /// `EWOULDBLOCK` is `EAGAIN` on Linux.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// `EDEADLOCK` is `EDEADLK` on Linux.
    pub const EDEADLOCK: Errno = Errno::EDEADLK;

    /// Wraps a positive Linux errno value. Values outside `1..=4095` become `EIO`,
    /// so a reply never carries 0 or a nonsense error.
    pub const fn from_raw(v: i32) -> Errno {
        if v > 0 && v < 4096 {
            Errno(v)
        } else {
            Errno::EIO
        }
    }

    /// The positive Linux errno value.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The value for `fuse_out_header.error` (negated).
    pub const fn to_wire(self) -> i32 {
        -self.0
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)?;
        write!(f, " ({})", self.0)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Errno {}

/// Result with a Linux errno error.
pub type Result<T> = core::result::Result<T, Errno>;
