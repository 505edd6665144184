//! FUSE flag words (fuse.h), and the Linux flag values that travel inside
//! FUSE requests (open flags, rename flags, fallocate modes, lseek whence,
//! file types). All are Linux wire values.

use bitflags::bitflags;

bitflags! {
    /// INIT capability flags: `fuse_init_in.flags` / `fuse_init_out.flags` in
    /// the low 32 bits, `flags2` (with `FUSE_INIT_EXT`) in the high 32 bits.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct InitFlags: u64 {
        /// Asynchronous read requests (`FUSE_ASYNC_READ`).
        const ASYNC_READ = 1 << 0;
        /// Remote POSIX locks (`FUSE_POSIX_LOCKS`).
        const POSIX_LOCKS = 1 << 1;
        /// Kernel sends file handle for fstat etc. (`FUSE_FILE_OPS`).
        const FILE_OPS = 1 << 2;
        /// Handles `O_TRUNC` in open (`FUSE_ATOMIC_O_TRUNC`).
        const ATOMIC_O_TRUNC = 1 << 3;
        /// Handles lookups of "." and ".." (`FUSE_EXPORT_SUPPORT`).
        const EXPORT_SUPPORT = 1 << 4;
        /// Writes larger than 4 KiB (`FUSE_BIG_WRITES`).
        const BIG_WRITES = 1 << 5;
        /// Do not apply umask to file mode on create (`FUSE_DONT_MASK`).
        const DONT_MASK = 1 << 6;
        /// Kernel supports splice write on the device (`FUSE_SPLICE_WRITE`).
        const SPLICE_WRITE = 1 << 7;
        /// Kernel supports splice move on the device (`FUSE_SPLICE_MOVE`).
        const SPLICE_MOVE = 1 << 8;
        /// Kernel supports splice read on the device (`FUSE_SPLICE_READ`).
        const SPLICE_READ = 1 << 9;
        /// Remote flock locks (`FUSE_FLOCK_LOCKS`).
        const FLOCK_LOCKS = 1 << 10;
        /// Kernel supports ioctl on directories (`FUSE_HAS_IOCTL_DIR`).
        const HAS_IOCTL_DIR = 1 << 11;
        /// Invalidate cached pages when mtime changes (`FUSE_AUTO_INVAL_DATA`).
        const AUTO_INVAL_DATA = 1 << 12;
        /// READDIRPLUS supported (`FUSE_DO_READDIRPLUS`).
        const DO_READDIRPLUS = 1 << 13;
        /// Adaptive READDIRPLUS (`FUSE_READDIRPLUS_AUTO`).
        const READDIRPLUS_AUTO = 1 << 14;
        /// Asynchronous direct I/O (`FUSE_ASYNC_DIO`).
        const ASYNC_DIO = 1 << 15;
        /// Writeback caching (`FUSE_WRITEBACK_CACHE`).
        const WRITEBACK_CACHE = 1 << 16;
        /// Zero-message opens (`FUSE_NO_OPEN_SUPPORT`).
        const NO_OPEN_SUPPORT = 1 << 17;
        /// Parallel lookups and readdirs in one directory (`FUSE_PARALLEL_DIROPS`).
        const PARALLEL_DIROPS = 1 << 18;
        /// Server kills suid/sgid/caps on write/chown/trunc (`FUSE_HANDLE_KILLPRIV`).
        const HANDLE_KILLPRIV = 1 << 19;
        /// POSIX ACLs (`FUSE_POSIX_ACL`).
        const POSIX_ACL = 1 << 20;
        /// Reading the device after abort returns ECONNABORTED (`FUSE_ABORT_ERROR`).
        const ABORT_ERROR = 1 << 21;
        /// `max_pages` in init_out is valid (`FUSE_MAX_PAGES`).
        const MAX_PAGES = 1 << 22;
        /// Cache READLINK replies (`FUSE_CACHE_SYMLINKS`).
        const CACHE_SYMLINKS = 1 << 23;
        /// Zero-message opendir (`FUSE_NO_OPENDIR_SUPPORT`).
        const NO_OPENDIR_SUPPORT = 1 << 24;
        /// Only invalidate cached pages on explicit request (`FUSE_EXPLICIT_INVAL_DATA`).
        const EXPLICIT_INVAL_DATA = 1 << 25;
        /// `map_alignment` in init_out is valid (`FUSE_MAP_ALIGNMENT`).
        const MAP_ALIGNMENT = 1 << 26;
        /// Kernel supports auto-mounting submounts (`FUSE_SUBMOUNTS`).
        const SUBMOUNTS = 1 << 27;
        /// Kill suid/sgid only as `HANDLE_KILLPRIV_V2` says (`FUSE_HANDLE_KILLPRIV_V2`).
        const HANDLE_KILLPRIV_V2 = 1 << 28;
        /// Extended `fuse_setxattr_in` (`FUSE_SETXATTR_EXT`).
        const SETXATTR_EXT = 1 << 29;
        /// `flags2` is valid (`FUSE_INIT_EXT`).
        const INIT_EXT = 1 << 30;
        /// Reserved, do not use (`FUSE_INIT_RESERVED`).
        const INIT_RESERVED = 1 << 31;
        /// Security context with create requests (`FUSE_SECURITY_CTX`).
        const SECURITY_CTX = 1 << 32;
        /// Per-inode DAX (`FUSE_HAS_INODE_DAX`).
        const HAS_INODE_DAX = 1 << 33;
        /// Supplementary group extension with create requests (`FUSE_CREATE_SUPP_GROUP`).
        const CREATE_SUPP_GROUP = 1 << 34;
        /// Kernel supports expire-only entry invalidation (`FUSE_HAS_EXPIRE_ONLY`).
        const HAS_EXPIRE_ONLY = 1 << 35;
        /// Allow shared mmap with `FOPEN_DIRECT_IO` (`FUSE_DIRECT_IO_ALLOW_MMAP`).
        const DIRECT_IO_ALLOW_MMAP = 1 << 36;
        /// Kernel passthrough of backing files (`FUSE_PASSTHROUGH`).
        const PASSTHROUGH = 1 << 37;
        /// No export support (`FUSE_NO_EXPORT_SUPPORT`).
        const NO_EXPORT_SUPPORT = 1 << 38;
        /// Kernel supports resending pending requests (`FUSE_HAS_RESEND`).
        const HAS_RESEND = 1 << 39;
        /// Idmapped mounts (`FUSE_ALLOW_IDMAP`).
        const ALLOW_IDMAP = 1 << 40;
        /// FUSE over io_uring (`FUSE_OVER_IO_URING`).
        const OVER_IO_URING = 1 << 41;
        /// `request_timeout` in init_out is valid (`FUSE_REQUEST_TIMEOUT`).
        const REQUEST_TIMEOUT = 1 << 42;
    }
}

impl InitFlags {
    /// Splits into the `flags` and `flags2` words of `fuse_init_out`.
    pub const fn split(self) -> (u32, u32) {
        (self.bits() as u32, (self.bits() >> 32) as u32)
    }

    /// Joins `flags` and `flags2` words (flags2 only counts with `INIT_EXT`).
    pub const fn join(flags: u32, flags2: u32) -> InitFlags {
        let mut bits = flags as u64;
        if flags & (1 << 30) != 0 {
            bits |= (flags2 as u64) << 32;
        }
        InitFlags::from_bits_retain(bits)
    }
}

bitflags! {
    /// `fuse_open_out.open_flags` (fuse.h `FOPEN_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct FopenFlags: u32 {
        /// Bypass the page cache for this open file (`FOPEN_DIRECT_IO`).
        const DIRECT_IO = 1 << 0;
        /// Don't invalidate the data cache on open (`FOPEN_KEEP_CACHE`).
        const KEEP_CACHE = 1 << 1;
        /// The file is not seekable (`FOPEN_NONSEEKABLE`).
        const NONSEEKABLE = 1 << 2;
        /// Allow caching this directory (`FOPEN_CACHE_DIR`).
        const CACHE_DIR = 1 << 3;
        /// The file is stream-like, no file position (`FOPEN_STREAM`).
        const STREAM = 1 << 4;
        /// Don't flush data cache on close (`FOPEN_NOFLUSH`).
        const NOFLUSH = 1 << 5;
        /// Allow concurrent direct writes on the same inode (`FOPEN_PARALLEL_DIRECT_WRITES`).
        const PARALLEL_DIRECT_WRITES = 1 << 6;
        /// Kernel passthrough to `backing_id` (`FOPEN_PASSTHROUGH`).
        const PASSTHROUGH = 1 << 7;
    }
}

bitflags! {
    /// `fuse_setattr_in.valid` (fuse.h `FATTR_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct SetattrValid: u32 {
        /// `mode` is valid.
        const MODE = 1 << 0;
        /// `uid` is valid.
        const UID = 1 << 1;
        /// `gid` is valid.
        const GID = 1 << 2;
        /// `size` is valid.
        const SIZE = 1 << 3;
        /// `atime` is valid.
        const ATIME = 1 << 4;
        /// `mtime` is valid.
        const MTIME = 1 << 5;
        /// `fh` is valid.
        const FH = 1 << 6;
        /// Set atime to now.
        const ATIME_NOW = 1 << 7;
        /// Set mtime to now.
        const MTIME_NOW = 1 << 8;
        /// `lock_owner` is valid.
        const LOCKOWNER = 1 << 9;
        /// `ctime` is valid.
        const CTIME = 1 << 10;
        /// Kill suid and sgid (with `HANDLE_KILLPRIV_V2`).
        const KILL_SUIDGID = 1 << 11;
    }
}

bitflags! {
    /// `fuse_getattr_in.getattr_flags` (fuse.h `FUSE_GETATTR_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct GetattrFlags: u32 {
        /// `fh` is valid (`FUSE_GETATTR_FH`).
        const FH = 1 << 0;
    }
}

bitflags! {
    /// `fuse_write_in.write_flags` (fuse.h `FUSE_WRITE_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct WriteFlags: u32 {
        /// Delayed write from the page cache; `fh` may not be the opener's (`FUSE_WRITE_CACHE`).
        const CACHE = 1 << 0;
        /// `lock_owner` is valid (`FUSE_WRITE_LOCKOWNER`).
        const LOCKOWNER = 1 << 1;
        /// Kill suid and sgid bits (`FUSE_WRITE_KILL_SUIDGID`).
        const KILL_SUIDGID = 1 << 2;
    }
}

bitflags! {
    /// `fuse_read_in.read_flags` (fuse.h `FUSE_READ_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct ReadFlags: u32 {
        /// `lock_owner` is valid (`FUSE_READ_LOCKOWNER`).
        const LOCKOWNER = 1 << 1;
    }
}

bitflags! {
    /// `fuse_release_in.release_flags` (fuse.h `FUSE_RELEASE_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct ReleaseFlags: u32 {
        /// Flush before releasing (`FUSE_RELEASE_FLUSH`).
        const FLUSH = 1 << 0;
        /// Release flock locks held by `lock_owner` (`FUSE_RELEASE_FLOCK_UNLOCK`).
        const FLOCK_UNLOCK = 1 << 1;
    }
}

bitflags! {
    /// `fuse_fsync_in.fsync_flags` (fuse.h `FUSE_FSYNC_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct FsyncFlags: u32 {
        /// Only sync data, not metadata (`FUSE_FSYNC_FDATASYNC`).
        const FDATASYNC = 1 << 0;
    }
}

bitflags! {
    /// `fuse_lk_in.lk_flags` (fuse.h `FUSE_LK_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct LkFlags: u32 {
        /// The lock is a BSD `flock`, not a POSIX lock (`FUSE_LK_FLOCK`).
        const FLOCK = 1 << 0;
    }
}

bitflags! {
    /// `fuse_open_in.open_flags` / `fuse_create_in.open_flags` (fuse.h `FUSE_OPEN_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct OpenInFlags: u32 {
        /// Kill suid and sgid if opened for writing with `O_TRUNC` (`FUSE_OPEN_KILL_SUIDGID`).
        const KILL_SUIDGID = 1 << 0;
    }
}

bitflags! {
    /// `fuse_setxattr_in.setxattr_flags` (fuse.h `FUSE_SETXATTR_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct SetxattrFlags: u32 {
        /// Clear sgid when a POSIX ACL is set (`FUSE_SETXATTR_ACL_KILL_SGID`).
        const ACL_KILL_SGID = 1 << 0;
    }
}

bitflags! {
    /// `fuse_ioctl_in.flags` / `fuse_ioctl_out.flags` (fuse.h `FUSE_IOCTL_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct IoctlFlags: u32 {
        /// 32-bit compat ioctl on a 64-bit machine.
        const COMPAT = 1 << 0;
        /// Not restricted to well-formed ioctls, retry allowed.
        const UNRESTRICTED = 1 << 1;
        /// Retry with new iovecs.
        const RETRY = 1 << 2;
        /// 32-bit ioctl.
        const IOCTL_32BIT = 1 << 3;
        /// Is a directory.
        const DIR = 1 << 4;
        /// x32 compat ioctl on a 64-bit machine.
        const COMPAT_X32 = 1 << 5;
    }
}

bitflags! {
    /// `fuse_poll_in.flags` (fuse.h `FUSE_POLL_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct PollFlags: u32 {
        /// Request a poll notify (`FUSE_POLL_SCHEDULE_NOTIFY`).
        const SCHEDULE_NOTIFY = 1 << 0;
    }
}

bitflags! {
    /// `fuse_attr.flags` (fuse.h `FUSE_ATTR_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct AttrFlags: u32 {
        /// The object is a submount root (`FUSE_ATTR_SUBMOUNT`).
        const SUBMOUNT = 1 << 0;
        /// Enable DAX for this file in per-file DAX mode (`FUSE_ATTR_DAX`).
        const DAX = 1 << 1;
    }
}

bitflags! {
    /// `fuse_setupmapping_in.flags` (fuse.h `FUSE_SETUPMAPPING_FLAG_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct SetupmappingFlags: u64 {
        /// Map for writing.
        const WRITE = 1 << 0;
        /// Map for reading.
        const READ = 1 << 1;
    }
}

bitflags! {
    /// Linux `renameat2(2)` flags, as FUSE_RENAME2 carries them.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct RenameFlags: u32 {
        /// Fail if the target exists (`RENAME_NOREPLACE`).
        const NOREPLACE = 1 << 0;
        /// Atomically exchange source and target (`RENAME_EXCHANGE`).
        const EXCHANGE = 1 << 1;
        /// Leave a whiteout at the source (`RENAME_WHITEOUT`).
        const WHITEOUT = 1 << 2;
    }
}

bitflags! {
    /// Linux `fallocate(2)` modes (`FALLOC_FL_*`), as FUSE_FALLOCATE carries them.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct FallocateMode: u32 {
        /// Don't change the file size (`FALLOC_FL_KEEP_SIZE`).
        const KEEP_SIZE = 0x01;
        /// Deallocate the range (`FALLOC_FL_PUNCH_HOLE`, needs `KEEP_SIZE`).
        const PUNCH_HOLE = 0x02;
        /// Reserved (`FALLOC_FL_NO_HIDE_STALE`).
        const NO_HIDE_STALE = 0x04;
        /// Remove the range, shifting the rest down (`FALLOC_FL_COLLAPSE_RANGE`).
        const COLLAPSE_RANGE = 0x08;
        /// Zero the range (`FALLOC_FL_ZERO_RANGE`).
        const ZERO_RANGE = 0x10;
        /// Insert a hole, shifting the rest up (`FALLOC_FL_INSERT_RANGE`).
        const INSERT_RANGE = 0x20;
        /// Unshare shared blocks (`FALLOC_FL_UNSHARE_RANGE`).
        const UNSHARE_RANGE = 0x40;
    }
}

bitflags! {
    /// Linux `open(2)` flags as the guest sends them (asm-generic values, which
    /// x86 and arm64 share for every flag below except where noted).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct OpenFlags: u32 {
        /// Write only (`O_WRONLY`); access mode 1.
        const WRONLY = 0o1;
        /// Read and write (`O_RDWR`); access mode 2.
        const RDWR = 0o2;
        /// Create if absent (`O_CREAT`).
        const CREAT = 0o100;
        /// With `CREAT`, fail if present (`O_EXCL`).
        const EXCL = 0o200;
        /// Don't become the controlling terminal (`O_NOCTTY`).
        const NOCTTY = 0o400;
        /// Truncate to zero length (`O_TRUNC`).
        const TRUNC = 0o1000;
        /// Append on every write (`O_APPEND`).
        const APPEND = 0o2000;
        /// Non-blocking (`O_NONBLOCK`).
        const NONBLOCK = 0o4000;
        /// Synchronised data writes (`O_DSYNC`).
        const DSYNC = 0o10000;
        /// Signal-driven I/O (`FASYNC`).
        const ASYNC = 0o20000;
        /// Direct I/O (`O_DIRECT`, x86 value; arm64 uses 0o200000).
        const DIRECT = 0o40000;
        /// Large file (`O_LARGEFILE`, x86 value).
        const LARGEFILE = 0o100000;
        /// Must be a directory (`O_DIRECTORY`, x86 value).
        const DIRECTORY = 0o200000;
        /// Don't follow a final symlink (`O_NOFOLLOW`, x86 value).
        const NOFOLLOW = 0o400000;
        /// Don't update atime (`O_NOATIME`).
        const NOATIME = 0o1000000;
        /// Close on exec (`O_CLOEXEC`).
        const CLOEXEC = 0o2000000;
        /// Synchronised file writes (`O_SYNC`, includes `DSYNC`).
        const SYNC = 0o4010000;
        /// Path-only descriptor (`O_PATH`).
        const PATH = 0o10000000;
        /// Unnamed temporary file (`O_TMPFILE`, includes `DIRECTORY`).
        const TMPFILE = 0o20200000;
    }
}

impl OpenFlags {
    /// Mask of the access mode bits (`O_ACCMODE`).
    pub const ACCMODE_MASK: u32 = 0o3;

    /// The access mode of these flags.
    pub const fn access(self) -> AccessMode {
        match self.bits() & Self::ACCMODE_MASK {
            0 => AccessMode::ReadOnly,
            1 => AccessMode::WriteOnly,
            _ => AccessMode::ReadWrite,
        }
    }
}

/// The guest's architecture family, for the few open flags whose values
/// differ between Linux architectures (asm-generic/fcntl.h vs
/// arch/arm64/include/uapi/asm/fcntl.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GuestArch {
    /// x86, x86-64, riscv and every asm-generic architecture: the values
    /// [`OpenFlags`] names.
    Generic,
    /// arm and arm64: `O_DIRECTORY` 0o40000, `O_NOFOLLOW` 0o100000,
    /// `O_DIRECT` 0o200000, `O_LARGEFILE` 0o400000.
    Arm,
}

impl GuestArch {
    /// The architecture this server was built for (the usual guest of a
    /// same-architecture VMM).
    pub const NATIVE: GuestArch = if cfg!(any(target_arch = "arm", target_arch = "aarch64")) {
        GuestArch::Arm
    } else {
        GuestArch::Generic
    };
}

impl OpenFlags {
    /// Reads a guest's raw open flags into the generic values this crate
    /// uses, whatever the guest architecture. Unknown bits are dropped.
    pub const fn from_guest(raw: u32, arch: GuestArch) -> OpenFlags {
        match arch {
            GuestArch::Generic => OpenFlags::from_bits_truncate(raw),
            GuestArch::Arm => {
                const ARM_DIRECTORY: u32 = 0o40000;
                const ARM_NOFOLLOW: u32 = 0o100000;
                const ARM_DIRECT: u32 = 0o200000;
                const ARM_LARGEFILE: u32 = 0o400000;
                const MOVED: u32 = ARM_DIRECTORY | ARM_NOFOLLOW | ARM_DIRECT | ARM_LARGEFILE;
                let mut v = raw & !MOVED;
                if raw & ARM_DIRECTORY != 0 {
                    v |= OpenFlags::DIRECTORY.bits();
                }
                if raw & ARM_NOFOLLOW != 0 {
                    v |= OpenFlags::NOFOLLOW.bits();
                }
                if raw & ARM_DIRECT != 0 {
                    v |= OpenFlags::DIRECT.bits();
                }
                if raw & ARM_LARGEFILE != 0 {
                    v |= OpenFlags::LARGEFILE.bits();
                }
                OpenFlags::from_bits_truncate(v)
            }
        }
    }
}

#[cfg(test)]
mod arch_tests {
    use super::*;

    #[test]
    fn arm_guest_flags_normalise() {
        // arm64 O_DIRECT | O_LARGEFILE | O_RDWR, as an arm64 guest sends it.
        let f = OpenFlags::from_guest(0o200000 | 0o400000 | 2, GuestArch::Arm);
        assert_eq!(
            f,
            OpenFlags::DIRECT | OpenFlags::LARGEFILE | OpenFlags::RDWR
        );
        assert!(!f.contains(OpenFlags::DIRECTORY));
        let d = OpenFlags::from_guest(0o40000 | 0o100000, GuestArch::Arm);
        assert_eq!(d, OpenFlags::DIRECTORY | OpenFlags::NOFOLLOW);
        let g = OpenFlags::from_guest(0o200000, GuestArch::Generic);
        assert_eq!(g, OpenFlags::DIRECTORY);
        // O_TMPFILE on arm64 is __O_TMPFILE | O_DIRECTORY(arm).
        let t = OpenFlags::from_guest(0o20000000 | 0o40000, GuestArch::Arm);
        assert!(t.contains(OpenFlags::TMPFILE));
    }
}

/// The access mode part of open flags (`O_ACCMODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessMode {
    /// `O_RDONLY`.
    ReadOnly,
    /// `O_WRONLY`.
    WriteOnly,
    /// `O_RDWR` (and the invalid access mode 3, which Linux treats as such for ioctls).
    ReadWrite,
}

impl AccessMode {
    /// Whether the mode allows reading.
    pub const fn readable(self) -> bool {
        !matches!(self, AccessMode::WriteOnly)
    }
    /// Whether the mode allows writing.
    pub const fn writable(self) -> bool {
        !matches!(self, AccessMode::ReadOnly)
    }
}

/// Linux `lseek(2)` whence values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Whence {
    /// `SEEK_SET`.
    Set = 0,
    /// `SEEK_CUR`.
    Cur = 1,
    /// `SEEK_END`.
    End = 2,
    /// `SEEK_DATA`: the next offset holding data.
    Data = 3,
    /// `SEEK_HOLE`: the next hole.
    Hole = 4,
}

impl Whence {
    /// Decodes a Linux whence value.
    pub const fn from_u32(v: u32) -> Option<Whence> {
        match v {
            0 => Some(Whence::Set),
            1 => Some(Whence::Cur),
            2 => Some(Whence::End),
            3 => Some(Whence::Data),
            4 => Some(Whence::Hole),
            _ => None,
        }
    }
}

/// Linux file type bits of `st_mode` (`S_IF*`, include/uapi/linux/stat.h).
pub mod mode {
    /// Mask of the file type bits (`S_IFMT`).
    pub const S_IFMT: u32 = 0o170000;
    /// Socket.
    pub const S_IFSOCK: u32 = 0o140000;
    /// Symbolic link.
    pub const S_IFLNK: u32 = 0o120000;
    /// Regular file.
    pub const S_IFREG: u32 = 0o100000;
    /// Block device.
    pub const S_IFBLK: u32 = 0o060000;
    /// Directory.
    pub const S_IFDIR: u32 = 0o040000;
    /// Character device.
    pub const S_IFCHR: u32 = 0o020000;
    /// FIFO.
    pub const S_IFIFO: u32 = 0o010000;
    /// Set-user-id bit.
    pub const S_ISUID: u32 = 0o4000;
    /// Set-group-id bit.
    pub const S_ISGID: u32 = 0o2000;
    /// Sticky bit.
    pub const S_ISVTX: u32 = 0o1000;
    /// Permission bits with suid, sgid and sticky.
    pub const S_IALLUGO: u32 = 0o7777;
    /// Group execute permission.
    pub const S_IXGRP: u32 = 0o010;

    /// The `d_type` of a `st_mode` (`IFTODT`), as FUSE dirents carry it.
    pub const fn dtype(mode: u32) -> u32 {
        (mode & S_IFMT) >> 12
    }
}

/// Linux `access(2)` mask bits.
pub mod access {
    /// Existence test (`F_OK`).
    pub const F_OK: u32 = 0;
    /// Execute / search (`X_OK`).
    pub const X_OK: u32 = 1;
    /// Write (`W_OK`).
    pub const W_OK: u32 = 2;
    /// Read (`R_OK`).
    pub const R_OK: u32 = 4;
}

/// Linux POSIX lock types (`F_RDLCK`, `F_WRLCK`, `F_UNLCK`) as `fuse_file_lock.type` carries them.
pub mod lock {
    /// Shared (read) lock.
    pub const F_RDLCK: u32 = 0;
    /// Exclusive (write) lock.
    pub const F_WRLCK: u32 = 1;
    /// Unlock.
    pub const F_UNLCK: u32 = 2;
}

/// Linux xattr `setxattr(2)` flags.
pub mod xattr {
    /// Fail if the attribute exists (`XATTR_CREATE`).
    pub const XATTR_CREATE: u32 = 1;
    /// Fail if the attribute does not exist (`XATTR_REPLACE`).
    pub const XATTR_REPLACE: u32 = 2;
}
