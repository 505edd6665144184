//! FUSE opcodes (fuse.h `enum fuse_opcode`) and notification codes
//! (fuse.h `enum fuse_notify_code`).

macro_rules! opcodes {
    ($( $(#[$doc:meta])* $name:ident = $val:expr, )*) => {
        /// A FUSE request opcode (fuse.h `enum fuse_opcode`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        #[non_exhaustive]
        #[allow(non_camel_case_types)] // the fuse.h names
        pub enum Opcode {
            $( $(#[$doc])* $name = $val, )*
        }

        impl Opcode {
            /// Every opcode this crate knows, in numeric order.
            pub const ALL: &'static [Opcode] = &[$(Opcode::$name,)*];

            /// Decodes a wire opcode; `None` for values fuse.h does not define.
            pub const fn from_u32(v: u32) -> Option<Opcode> {
                match v {
                    $( $val => Some(Opcode::$name), )*
                    _ => None,
                }
            }

            /// The fuse.h name of the opcode, e.g. `"FUSE_LOOKUP"`.
            pub const fn name(self) -> &'static str {
                match self {
                    $( Opcode::$name => concat!("FUSE_", stringify!($name)), )*
                }
            }
        }
    };
}

opcodes! {
    /// Look up a directory entry by name and get its attributes.
    LOOKUP = 1,
    /// Drop lookup references to an inode (no reply).
    FORGET = 2,
    /// Get file attributes.
    GETATTR = 3,
    /// Set file attributes.
    SETATTR = 4,
    /// Read the target of a symbolic link.
    READLINK = 5,
    /// Create a symbolic link.
    SYMLINK = 6,
    /// Create a file node.
    MKNOD = 8,
    /// Create a directory.
    MKDIR = 9,
    /// Remove a file.
    UNLINK = 10,
    /// Remove a directory.
    RMDIR = 11,
    /// Rename a file.
    RENAME = 12,
    /// Create a hard link.
    LINK = 13,
    /// Open a file.
    OPEN = 14,
    /// Read data from a file.
    READ = 15,
    /// Write data to a file.
    WRITE = 16,
    /// Get file system statistics.
    STATFS = 17,
    /// Release an open file.
    RELEASE = 18,
    /// Synchronise file contents.
    FSYNC = 20,
    /// Set an extended attribute.
    SETXATTR = 21,
    /// Get an extended attribute.
    GETXATTR = 22,
    /// List extended attribute names.
    LISTXATTR = 23,
    /// Remove an extended attribute.
    REMOVEXATTR = 24,
    /// Flush an open file (on every `close(2)`).
    FLUSH = 25,
    /// Initialise the session.
    INIT = 26,
    /// Open a directory.
    OPENDIR = 27,
    /// Read directory entries.
    READDIR = 28,
    /// Release an open directory.
    RELEASEDIR = 29,
    /// Synchronise directory contents.
    FSYNCDIR = 30,
    /// Test for a POSIX file lock.
    GETLK = 31,
    /// Acquire, modify or release a POSIX file lock.
    SETLK = 32,
    /// Like `SETLK`, but wait for the lock.
    SETLKW = 33,
    /// Check file access permissions.
    ACCESS = 34,
    /// Create and open a file.
    CREATE = 35,
    /// Interrupt a pending request (no reply).
    INTERRUPT = 36,
    /// Map a file block to a device block.
    BMAP = 37,
    /// Clean up the session.
    DESTROY = 38,
    /// Perform an ioctl.
    IOCTL = 39,
    /// Poll for I/O readiness.
    POLL = 40,
    /// A reply to a `FUSE_NOTIFY_RETRIEVE` notification.
    NOTIFY_REPLY = 41,
    /// Drop lookup references to several inodes (no reply).
    BATCH_FORGET = 42,
    /// Allocate, deallocate or zero file space.
    FALLOCATE = 43,
    /// Read directory entries with their attributes.
    READDIRPLUS = 44,
    /// Rename a file with flags.
    RENAME2 = 45,
    /// Find data or holes in a file.
    LSEEK = 46,
    /// Copy a range of data between files.
    COPY_FILE_RANGE = 47,
    /// Map a file range into the DAX window (virtio-fs).
    SETUPMAPPING = 48,
    /// Remove mappings from the DAX window (virtio-fs).
    REMOVEMAPPING = 49,
    /// Synchronise the file system.
    SYNCFS = 50,
    /// Create an unnamed temporary file.
    TMPFILE = 51,
    /// Get extended file attributes (`statx`).
    STATX = 52,
    /// CUSE initialisation (character devices in user space).
    CUSE_INIT = 4096,
}

/// A notification code, sent by the server with `unique == 0`
/// (fuse.h `enum fuse_notify_code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum NotifyCode {
    /// Wake up a poll waiter.
    Poll = 1,
    /// Invalidate an inode's cached attributes and data.
    InvalInode = 2,
    /// Invalidate a directory entry.
    InvalEntry = 3,
    /// Store data into the page cache.
    Store = 4,
    /// Retrieve data from the page cache.
    Retrieve = 5,
    /// Tell the kernel an entry was deleted.
    Delete = 6,
    /// Ask the kernel to resend pending requests.
    Resend = 7,
    /// Increment the kernel's dentry epoch.
    IncEpoch = 8,
}
