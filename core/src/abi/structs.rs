//! FUSE request and reply structs (fuse.h), laid out exactly as on the wire.
//!
//! Every struct is `#[repr(C)]` without implicit padding and derives
//! zerocopy's `FromBytes`/`IntoBytes`, so it is read from unaligned guest
//! bytes with `read_from_prefix` (a copy, never a cast) and written with
//! `as_bytes`.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

macro_rules! wire_structs {
    ($(
        $(#[$doc:meta])*
        pub struct $name:ident { $( $(#[$fdoc:meta])* pub $field:ident : $ty:ty, )* }
        = $size:expr;
    )*) => {
        $(
            $(#[$doc])*
            #[repr(C)]
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
            pub struct $name { $( $(#[$fdoc])* pub $field: $ty, )* }

            const _: () = assert!(core::mem::size_of::<$name>() == $size);
        )*

        /// Names and wire sizes of every struct, for tests and documentation.
        pub const WIRE_STRUCT_SIZES: &[(&str, usize)] = &[$( (stringify!($name), $size), )*];
    };
}

wire_structs! {
    /// Inode attributes (`struct fuse_attr`).
    pub struct Attr {
        /// Inode number.
        pub ino: u64,
        /// Size in bytes.
        pub size: u64,
        /// 512-byte blocks allocated.
        pub blocks: u64,
        /// Access time, seconds.
        pub atime: u64,
        /// Modification time, seconds.
        pub mtime: u64,
        /// Status change time, seconds.
        pub ctime: u64,
        /// Access time, nanoseconds.
        pub atimensec: u32,
        /// Modification time, nanoseconds.
        pub mtimensec: u32,
        /// Status change time, nanoseconds.
        pub ctimensec: u32,
        /// File type and permissions (Linux `S_IF*` bits).
        pub mode: u32,
        /// Number of hard links.
        pub nlink: u32,
        /// Owner.
        pub uid: u32,
        /// Group.
        pub gid: u32,
        /// Device number (Linux `new_encode_dev`).
        pub rdev: u32,
        /// Preferred I/O block size.
        pub blksize: u32,
        /// `FUSE_ATTR_*` flags.
        pub flags: u32,
    } = 88;

    /// A `statx` timestamp (`struct fuse_sx_time`).
    pub struct SxTime {
        /// Seconds.
        pub tv_sec: i64,
        /// Nanoseconds.
        pub tv_nsec: u32,
        /// Reserved.
        pub reserved: i32,
    } = 16;

    /// Extended attributes (`struct fuse_statx`).
    pub struct Statx {
        /// `STATX_*` mask of valid fields.
        pub mask: u32,
        /// Preferred I/O block size.
        pub blksize: u32,
        /// `STATX_ATTR_*` attributes.
        pub attributes: u64,
        /// Hard links.
        pub nlink: u32,
        /// Owner.
        pub uid: u32,
        /// Group.
        pub gid: u32,
        /// File type and permissions.
        pub mode: u16,
        /// Reserved.
        pub spare0: u16,
        /// Inode number.
        pub ino: u64,
        /// Size in bytes.
        pub size: u64,
        /// 512-byte blocks allocated.
        pub blocks: u64,
        /// Which `attributes` bits are supported.
        pub attributes_mask: u64,
        /// Access time.
        pub atime: SxTime,
        /// Birth time.
        pub btime: SxTime,
        /// Status change time.
        pub ctime: SxTime,
        /// Modification time.
        pub mtime: SxTime,
        /// Device major (if a device).
        pub rdev_major: u32,
        /// Device minor (if a device).
        pub rdev_minor: u32,
        /// Containing device major.
        pub dev_major: u32,
        /// Containing device minor.
        pub dev_minor: u32,
        /// Reserved.
        pub spare2: [u64; 14],
    } = 256;

    /// File system statistics (`struct fuse_kstatfs`).
    pub struct Kstatfs {
        /// Total blocks (in `frsize` units).
        pub blocks: u64,
        /// Free blocks.
        pub bfree: u64,
        /// Free blocks for unprivileged users.
        pub bavail: u64,
        /// Total inodes.
        pub files: u64,
        /// Free inodes.
        pub ffree: u64,
        /// Block size.
        pub bsize: u32,
        /// Longest file name.
        pub namelen: u32,
        /// Fragment size.
        pub frsize: u32,
        /// Padding.
        pub padding: u32,
        /// Reserved.
        pub spare: [u32; 6],
    } = 80;

    /// A POSIX lock description (`struct fuse_file_lock`).
    pub struct FileLock {
        /// First byte.
        pub start: u64,
        /// Last byte (inclusive; `u64::MAX`-ish for "to EOF").
        pub end: u64,
        /// `F_RDLCK`, `F_WRLCK` or `F_UNLCK`.
        pub typ: u32,
        /// Owning process (tgid).
        pub pid: u32,
    } = 24;

    /// Header of every request (`struct fuse_in_header`).
    pub struct InHeader {
        /// Total length of the request, header included.
        pub len: u32,
        /// Opcode (`enum fuse_opcode`).
        pub opcode: u32,
        /// Request id, echoed in the reply.
        pub unique: u64,
        /// Node the request is about.
        pub nodeid: u64,
        /// Caller's fsuid.
        pub uid: u32,
        /// Caller's fsgid.
        pub gid: u32,
        /// Caller's pid.
        pub pid: u32,
        /// Length of extensions after the arguments, in 8-byte units.
        pub total_extlen: u16,
        /// Padding.
        pub padding: u16,
    } = 40;

    /// Header of every reply (`struct fuse_out_header`).
    pub struct OutHeader {
        /// Total length of the reply, header included.
        pub len: u32,
        /// Zero or a negated Linux errno.
        pub error: i32,
        /// The request's `unique` (0 for notifications).
        pub unique: u64,
    } = 16;

    /// Reply to LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE (`struct fuse_entry_out`).
    pub struct EntryOut {
        /// Node id (0 = negative entry, cached for `entry_valid`).
        pub nodeid: u64,
        /// Generation: (nodeid, generation) is unique over the fs lifetime.
        pub generation: u64,
        /// Name cache timeout, seconds.
        pub entry_valid: u64,
        /// Attribute cache timeout, seconds.
        pub attr_valid: u64,
        /// Name cache timeout, nanoseconds.
        pub entry_valid_nsec: u32,
        /// Attribute cache timeout, nanoseconds.
        pub attr_valid_nsec: u32,
        /// Attributes.
        pub attr: Attr,
    } = 128;

    /// FORGET arguments (`struct fuse_forget_in`).
    pub struct ForgetIn {
        /// Lookups to drop.
        pub nlookup: u64,
    } = 8;

    /// One BATCH_FORGET item (`struct fuse_forget_one`).
    pub struct ForgetOne {
        /// Node.
        pub nodeid: u64,
        /// Lookups to drop.
        pub nlookup: u64,
    } = 16;

    /// BATCH_FORGET arguments (`struct fuse_batch_forget_in`), followed by `count` items.
    pub struct BatchForgetIn {
        /// Number of `ForgetOne` items.
        pub count: u32,
        /// Padding.
        pub dummy: u32,
    } = 8;

    /// GETATTR arguments (`struct fuse_getattr_in`).
    pub struct GetattrIn {
        /// `FUSE_GETATTR_*` flags.
        pub getattr_flags: u32,
        /// Padding.
        pub dummy: u32,
        /// File handle, valid with `FUSE_GETATTR_FH`.
        pub fh: u64,
    } = 16;

    /// Reply to GETATTR and SETATTR (`struct fuse_attr_out`).
    pub struct AttrOut {
        /// Cache timeout, seconds.
        pub attr_valid: u64,
        /// Cache timeout, nanoseconds.
        pub attr_valid_nsec: u32,
        /// Padding.
        pub dummy: u32,
        /// Attributes.
        pub attr: Attr,
    } = 104;

    /// STATX arguments (`struct fuse_statx_in`).
    pub struct StatxIn {
        /// `FUSE_GETATTR_*` flags.
        pub getattr_flags: u32,
        /// Reserved.
        pub reserved: u32,
        /// File handle, valid with `FUSE_GETATTR_FH`.
        pub fh: u64,
        /// `AT_STATX_*` sync flags.
        pub sx_flags: u32,
        /// Requested `STATX_*` mask.
        pub sx_mask: u32,
    } = 24;

    /// Reply to STATX (`struct fuse_statx_out`).
    pub struct StatxOut {
        /// Cache timeout, seconds.
        pub attr_valid: u64,
        /// Cache timeout, nanoseconds.
        pub attr_valid_nsec: u32,
        /// Flags.
        pub flags: u32,
        /// Reserved.
        pub spare: [u64; 2],
        /// The attributes.
        pub stat: Statx,
    } = 288;

    /// MKNOD arguments (`struct fuse_mknod_in`), followed by the name.
    pub struct MknodIn {
        /// Type and permissions.
        pub mode: u32,
        /// Device number.
        pub rdev: u32,
        /// Caller's umask.
        pub umask: u32,
        /// Padding.
        pub padding: u32,
    } = 16;

    /// MKDIR arguments (`struct fuse_mkdir_in`), followed by the name.
    pub struct MkdirIn {
        /// Permissions.
        pub mode: u32,
        /// Caller's umask.
        pub umask: u32,
    } = 8;

    /// RENAME arguments (`struct fuse_rename_in`), followed by old and new names.
    pub struct RenameIn {
        /// Target directory.
        pub newdir: u64,
    } = 8;

    /// RENAME2 arguments (`struct fuse_rename2_in`), followed by old and new names.
    pub struct Rename2In {
        /// Target directory.
        pub newdir: u64,
        /// `RENAME_*` flags.
        pub flags: u32,
        /// Padding.
        pub padding: u32,
    } = 16;

    /// LINK arguments (`struct fuse_link_in`), followed by the new name.
    pub struct LinkIn {
        /// The existing node.
        pub oldnodeid: u64,
    } = 8;

    /// SETATTR arguments (`struct fuse_setattr_in`).
    pub struct SetattrIn {
        /// `FATTR_*`: which fields are valid.
        pub valid: u32,
        /// Padding.
        pub padding: u32,
        /// File handle, with `FATTR_FH`.
        pub fh: u64,
        /// New size.
        pub size: u64,
        /// Lock owner, with `FATTR_LOCKOWNER`.
        pub lock_owner: u64,
        /// New access time, seconds.
        pub atime: u64,
        /// New modification time, seconds.
        pub mtime: u64,
        /// New change time, seconds.
        pub ctime: u64,
        /// New access time, nanoseconds.
        pub atimensec: u32,
        /// New modification time, nanoseconds.
        pub mtimensec: u32,
        /// New change time, nanoseconds.
        pub ctimensec: u32,
        /// New mode.
        pub mode: u32,
        /// Unused.
        pub unused4: u32,
        /// New owner.
        pub uid: u32,
        /// New group.
        pub gid: u32,
        /// Unused.
        pub unused5: u32,
    } = 88;

    /// OPEN and OPENDIR arguments (`struct fuse_open_in`).
    pub struct OpenIn {
        /// Linux open flags (without `O_CREAT`, `O_EXCL`, `O_NOCTTY`).
        pub flags: u32,
        /// `FUSE_OPEN_*` flags.
        pub open_flags: u32,
    } = 8;

    /// CREATE arguments (`struct fuse_create_in`), followed by the name.
    pub struct CreateIn {
        /// Linux open flags.
        pub flags: u32,
        /// Type and permissions.
        pub mode: u32,
        /// Caller's umask.
        pub umask: u32,
        /// `FUSE_OPEN_*` flags.
        pub open_flags: u32,
    } = 16;

    /// Reply to OPEN, OPENDIR and part of CREATE (`struct fuse_open_out`).
    pub struct OpenOut {
        /// File handle.
        pub fh: u64,
        /// `FOPEN_*` flags.
        pub open_flags: u32,
        /// Backing file id for `FOPEN_PASSTHROUGH` (7.40; padding before).
        pub backing_id: i32,
    } = 16;

    /// RELEASE and RELEASEDIR arguments (`struct fuse_release_in`).
    pub struct ReleaseIn {
        /// File handle.
        pub fh: u64,
        /// Open flags.
        pub flags: u32,
        /// `FUSE_RELEASE_*` flags.
        pub release_flags: u32,
        /// Lock owner.
        pub lock_owner: u64,
    } = 24;

    /// FLUSH arguments (`struct fuse_flush_in`).
    pub struct FlushIn {
        /// File handle.
        pub fh: u64,
        /// Unused.
        pub unused: u32,
        /// Padding.
        pub padding: u32,
        /// Lock owner.
        pub lock_owner: u64,
    } = 24;

    /// READ arguments (`struct fuse_read_in`).
    pub struct ReadIn {
        /// File handle.
        pub fh: u64,
        /// File offset.
        pub offset: u64,
        /// Bytes wanted.
        pub size: u32,
        /// `FUSE_READ_*` flags.
        pub read_flags: u32,
        /// Lock owner.
        pub lock_owner: u64,
        /// Open flags.
        pub flags: u32,
        /// Padding.
        pub padding: u32,
    } = 40;

    /// WRITE arguments (`struct fuse_write_in`), followed by the data.
    pub struct WriteIn {
        /// File handle.
        pub fh: u64,
        /// File offset.
        pub offset: u64,
        /// Bytes of data that follow.
        pub size: u32,
        /// `FUSE_WRITE_*` flags.
        pub write_flags: u32,
        /// Lock owner.
        pub lock_owner: u64,
        /// Open flags.
        pub flags: u32,
        /// Padding.
        pub padding: u32,
    } = 40;

    /// Reply to WRITE (`struct fuse_write_out`).
    pub struct WriteOut {
        /// Bytes written.
        pub size: u32,
        /// Padding.
        pub padding: u32,
    } = 8;

    /// Reply to STATFS (`struct fuse_statfs_out`).
    pub struct StatfsOut {
        /// Statistics.
        pub st: Kstatfs,
    } = 80;

    /// FSYNC and FSYNCDIR arguments (`struct fuse_fsync_in`).
    pub struct FsyncIn {
        /// File handle.
        pub fh: u64,
        /// `FUSE_FSYNC_*` flags.
        pub fsync_flags: u32,
        /// Padding.
        pub padding: u32,
    } = 16;

    /// SETXATTR arguments with `FUSE_SETXATTR_EXT` (`struct fuse_setxattr_in`);
    /// without it only the first 8 bytes are sent. Followed by name and value.
    pub struct SetxattrIn {
        /// Value size.
        pub size: u32,
        /// `XATTR_CREATE` / `XATTR_REPLACE`.
        pub flags: u32,
        /// `FUSE_SETXATTR_*` flags.
        pub setxattr_flags: u32,
        /// Padding.
        pub padding: u32,
    } = 16;

    /// GETXATTR and LISTXATTR arguments (`struct fuse_getxattr_in`).
    pub struct GetxattrIn {
        /// Buffer size; 0 asks for the needed size.
        pub size: u32,
        /// Padding.
        pub padding: u32,
    } = 8;

    /// Size reply to GETXATTR / LISTXATTR with size 0 (`struct fuse_getxattr_out`).
    pub struct GetxattrOut {
        /// Size needed.
        pub size: u32,
        /// Padding.
        pub padding: u32,
    } = 8;

    /// GETLK, SETLK and SETLKW arguments (`struct fuse_lk_in`).
    pub struct LkIn {
        /// File handle.
        pub fh: u64,
        /// Lock owner.
        pub owner: u64,
        /// The lock.
        pub lk: FileLock,
        /// `FUSE_LK_*` flags.
        pub lk_flags: u32,
        /// Padding.
        pub padding: u32,
    } = 48;

    /// Reply to GETLK (`struct fuse_lk_out`).
    pub struct LkOut {
        /// The conflicting lock, or type `F_UNLCK`.
        pub lk: FileLock,
    } = 24;

    /// ACCESS arguments (`struct fuse_access_in`).
    pub struct AccessIn {
        /// `R_OK | W_OK | X_OK`, or `F_OK`.
        pub mask: u32,
        /// Padding.
        pub padding: u32,
    } = 8;

    /// INIT arguments (`struct fuse_init_in`); kernels before 7.36 send only the first 16 bytes.
    pub struct InitIn {
        /// Kernel major version.
        pub major: u32,
        /// Kernel minor version.
        pub minor: u32,
        /// Kernel's maximum readahead.
        pub max_readahead: u32,
        /// Offered `FUSE_*` capability flags (low word).
        pub flags: u32,
        /// Offered capability flags (high word, with `FUSE_INIT_EXT`).
        pub flags2: u32,
        /// Unused.
        pub unused: [u32; 11],
    } = 64;

    /// Reply to INIT (`struct fuse_init_out`); before 7.23 only the first 24 bytes.
    pub struct InitOut {
        /// Server major version.
        pub major: u32,
        /// Agreed minor version.
        pub minor: u32,
        /// Maximum readahead.
        pub max_readahead: u32,
        /// Accepted capability flags (low word).
        pub flags: u32,
        /// Maximum background requests.
        pub max_background: u16,
        /// Background requests before congestion.
        pub congestion_threshold: u16,
        /// Maximum WRITE payload.
        pub max_write: u32,
        /// Timestamp granularity in ns.
        pub time_gran: u32,
        /// Maximum pages per request (with `FUSE_MAX_PAGES`).
        pub max_pages: u16,
        /// log2 of the DAX mapping alignment (with `FUSE_MAP_ALIGNMENT`).
        pub map_alignment: u16,
        /// Accepted capability flags (high word).
        pub flags2: u32,
        /// Maximum stacking depth for passthrough backing files.
        pub max_stack_depth: u32,
        /// Request timeout in seconds (with `FUSE_REQUEST_TIMEOUT`).
        pub request_timeout: u16,
        /// Unused.
        pub unused: [u16; 11],
    } = 64;

    /// INTERRUPT arguments (`struct fuse_interrupt_in`).
    pub struct InterruptIn {
        /// The request to interrupt.
        pub unique: u64,
    } = 8;

    /// BMAP arguments (`struct fuse_bmap_in`).
    pub struct BmapIn {
        /// File block.
        pub block: u64,
        /// Block size.
        pub blocksize: u32,
        /// Padding.
        pub padding: u32,
    } = 16;

    /// Reply to BMAP (`struct fuse_bmap_out`).
    pub struct BmapOut {
        /// Device block.
        pub block: u64,
    } = 8;

    /// IOCTL arguments (`struct fuse_ioctl_in`), followed by `in_size` bytes.
    pub struct IoctlIn {
        /// File handle.
        pub fh: u64,
        /// `FUSE_IOCTL_*` flags.
        pub flags: u32,
        /// Command.
        pub cmd: u32,
        /// Argument.
        pub arg: u64,
        /// Input data size.
        pub in_size: u32,
        /// Room for output data.
        pub out_size: u32,
    } = 32;

    /// An ioctl iovec (`struct fuse_ioctl_iovec`).
    pub struct IoctlIovec {
        /// Address in the caller.
        pub base: u64,
        /// Length.
        pub len: u64,
    } = 16;

    /// Reply to IOCTL (`struct fuse_ioctl_out`), followed by data.
    pub struct IoctlOut {
        /// Return value.
        pub result: i32,
        /// `FUSE_IOCTL_*` flags.
        pub flags: u32,
        /// Input iovecs for a retry.
        pub in_iovs: u32,
        /// Output iovecs for a retry.
        pub out_iovs: u32,
    } = 16;

    /// POLL arguments (`struct fuse_poll_in`).
    pub struct PollIn {
        /// File handle.
        pub fh: u64,
        /// Kernel handle for wakeup notifications.
        pub kh: u64,
        /// `FUSE_POLL_*` flags.
        pub flags: u32,
        /// Requested poll events.
        pub events: u32,
    } = 24;

    /// Reply to POLL (`struct fuse_poll_out`).
    pub struct PollOut {
        /// Ready events.
        pub revents: u32,
        /// Padding.
        pub padding: u32,
    } = 8;

    /// Poll wakeup notification (`struct fuse_notify_poll_wakeup_out`).
    pub struct NotifyPollWakeupOut {
        /// Kernel handle from POLL.
        pub kh: u64,
    } = 8;

    /// FALLOCATE arguments (`struct fuse_fallocate_in`).
    pub struct FallocateIn {
        /// File handle.
        pub fh: u64,
        /// Offset.
        pub offset: u64,
        /// Length.
        pub length: u64,
        /// `FALLOC_FL_*` mode.
        pub mode: u32,
        /// Padding.
        pub padding: u32,
    } = 32;

    /// Fixed part of a READDIR entry (`struct fuse_dirent`), followed by the
    /// name and padding to 8 bytes.
    pub struct Dirent {
        /// Inode number.
        pub ino: u64,
        /// Offset of the next entry.
        pub off: u64,
        /// Name length.
        pub namelen: u32,
        /// `DT_*` type.
        pub typ: u32,
    } = 24;

    /// Fixed part of a READDIRPLUS entry (`struct fuse_direntplus`).
    pub struct DirentPlus {
        /// Entry, as LOOKUP would return it.
        pub entry_out: EntryOut,
        /// Directory entry.
        pub dirent: Dirent,
    } = 152;

    /// `FUSE_NOTIFY_INVAL_INODE` body (`struct fuse_notify_inval_inode_out`).
    pub struct NotifyInvalInodeOut {
        /// Inode.
        pub ino: u64,
        /// Offset of the range (negative: attributes only).
        pub off: i64,
        /// Length of the range (0 = to EOF).
        pub len: i64,
    } = 24;

    /// `FUSE_NOTIFY_INVAL_ENTRY` body (`struct fuse_notify_inval_entry_out`), followed by the name and NUL.
    pub struct NotifyInvalEntryOut {
        /// Parent directory.
        pub parent: u64,
        /// Name length.
        pub namelen: u32,
        /// `FUSE_EXPIRE_ONLY`.
        pub flags: u32,
    } = 16;

    /// `FUSE_NOTIFY_DELETE` body (`struct fuse_notify_delete_out`), followed by the name and NUL.
    pub struct NotifyDeleteOut {
        /// Parent directory.
        pub parent: u64,
        /// Deleted child.
        pub child: u64,
        /// Name length.
        pub namelen: u32,
        /// Padding.
        pub padding: u32,
    } = 24;

    /// `FUSE_NOTIFY_STORE` body (`struct fuse_notify_store_out`).
    pub struct NotifyStoreOut {
        /// Inode.
        pub nodeid: u64,
        /// Offset.
        pub offset: u64,
        /// Data size.
        pub size: u32,
        /// Padding.
        pub padding: u32,
    } = 24;

    /// `FUSE_NOTIFY_RETRIEVE` body (`struct fuse_notify_retrieve_out`).
    pub struct NotifyRetrieveOut {
        /// Unique id for the NOTIFY_REPLY.
        pub notify_unique: u64,
        /// Inode.
        pub nodeid: u64,
        /// Offset.
        pub offset: u64,
        /// Size.
        pub size: u32,
        /// Padding.
        pub padding: u32,
    } = 32;

    /// NOTIFY_REPLY arguments (`struct fuse_notify_retrieve_in`).
    pub struct NotifyRetrieveIn {
        /// Unused.
        pub dummy1: u64,
        /// Offset.
        pub offset: u64,
        /// Size.
        pub size: u32,
        /// Unused.
        pub dummy2: u32,
        /// Unused.
        pub dummy3: u64,
        /// Unused.
        pub dummy4: u64,
    } = 40;

    /// LSEEK arguments (`struct fuse_lseek_in`).
    pub struct LseekIn {
        /// File handle.
        pub fh: u64,
        /// Offset.
        pub offset: u64,
        /// `SEEK_*` whence (Linux values).
        pub whence: u32,
        /// Padding.
        pub padding: u32,
    } = 24;

    /// Reply to LSEEK (`struct fuse_lseek_out`).
    pub struct LseekOut {
        /// Resulting offset.
        pub offset: u64,
    } = 8;

    /// COPY_FILE_RANGE arguments (`struct fuse_copy_file_range_in`).
    pub struct CopyFileRangeIn {
        /// Source file handle.
        pub fh_in: u64,
        /// Source offset.
        pub off_in: u64,
        /// Destination node.
        pub nodeid_out: u64,
        /// Destination file handle.
        pub fh_out: u64,
        /// Destination offset.
        pub off_out: u64,
        /// Length.
        pub len: u64,
        /// Flags (must be 0).
        pub flags: u64,
    } = 56;

    /// SETUPMAPPING arguments (`struct fuse_setupmapping_in`), virtio-fs DAX.
    pub struct SetupmappingIn {
        /// File handle.
        pub fh: u64,
        /// File offset.
        pub foffset: u64,
        /// Length.
        pub len: u64,
        /// `FUSE_SETUPMAPPING_FLAG_*`.
        pub flags: u64,
        /// Offset in the DAX window.
        pub moffset: u64,
    } = 40;

    /// REMOVEMAPPING arguments (`struct fuse_removemapping_in`), followed by `count` items.
    pub struct RemovemappingIn {
        /// Number of `RemovemappingOne` items.
        pub count: u32,
    } = 4;

    /// One REMOVEMAPPING item (`struct fuse_removemapping_one`).
    pub struct RemovemappingOne {
        /// Offset in the DAX window.
        pub moffset: u64,
        /// Length.
        pub len: u64,
    } = 16;

    /// SYNCFS arguments (`struct fuse_syncfs_in`).
    pub struct SyncfsIn {
        /// Padding.
        pub padding: u64,
    } = 8;

    /// Header of a request extension (`struct fuse_ext_header`).
    pub struct ExtHeader {
        /// Size of the extension, header included, multiple of 8.
        pub size: u32,
        /// `enum fuse_ext_type`, or a security-context count.
        pub typ: u32,
    } = 8;

    /// Supplementary groups extension header (`struct fuse_supp_groups`), followed by group ids.
    pub struct SuppGroups {
        /// Number of groups that follow.
        pub nr_groups: u32,
    } = 4;

    /// Security context header (`struct fuse_secctx_header`).
    pub struct SecctxHeader {
        /// Total size.
        pub size: u32,
        /// Number of contexts.
        pub nr_secctx: u32,
    } = 8;

    /// One security context (`struct fuse_secctx`), followed by name and value.
    pub struct Secctx {
        /// Size of the value.
        pub size: u32,
        /// Padding.
        pub padding: u32,
    } = 8;

    /// `FUSE_DEV_IOC_BACKING_OPEN` argument (`struct fuse_backing_map`).
    pub struct BackingMap {
        /// Backing file descriptor.
        pub fd: i32,
        /// Flags.
        pub flags: u32,
        /// Reserved.
        pub padding: u64,
    } = 16;
}

/// Size of `fuse_entry_out` before protocol 7.9 (fuse.h `FUSE_COMPAT_ENTRY_OUT_SIZE`).
pub const COMPAT_ENTRY_OUT_SIZE: usize = 120;
/// Size of `fuse_attr_out` before protocol 7.9 (fuse.h `FUSE_COMPAT_ATTR_OUT_SIZE`).
pub const COMPAT_ATTR_OUT_SIZE: usize = 96;
