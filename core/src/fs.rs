//! The [`FileSystem`] trait: what the dispatcher calls for each request.
//!
//! Every method has a default that answers `ENOSYS` (or does nothing, for the
//! requests that get no reply), so a filesystem implements what it supports.
//! Methods take `&self`: the dispatcher calls them from many workers at once.

use crate::abi::{
    Attr, CopyFileRangeIn, FallocateIn, FileLock, FopenFlags, ForgetOne, InitFlags, IoctlIn,
    Kstatfs, LkIn, RemovemappingOne, SetattrIn, SetupmappingIn, Statx,
};
use crate::dirent::DirSink;
use crate::errno::{Errno, Result};
use crate::io::{ReplyData, RequestData};
use crate::name::Name;
use crate::time::Instant;
use core::time::Duration;

/// A FUSE node id. `1` is the root ([`crate::abi::ROOT_ID`]).
pub type NodeId = u64;
/// A FUSE file handle, chosen by the filesystem at OPEN / OPENDIR / CREATE.
pub type Fh = u64;

/// The security label a guest's LSM wants on a new object (FUSE_SECURITY_CTX,
/// fuse.h 7.36): an extended attribute name in the `security.` namespace
/// (`security.selinux`, say) and its value, copied out of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecLabel<'a> {
    /// The attribute name, without the NUL.
    pub name: &'a [u8],
    /// The attribute value.
    pub value: &'a [u8],
}

/// Who is asking, and when (from `fuse_in_header` and the caller's clock).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Context<'a> {
    /// Request id.
    pub unique: u64,
    /// Caller's filesystem uid.
    pub uid: u32,
    /// Caller's filesystem gid.
    pub gid: u32,
    /// Caller's pid (0 for kernel-internal requests).
    pub pid: u32,
    /// The caller's supplementary groups the request carries (the
    /// `FUSE_EXT_GROUPS` extension, [`crate::suppgroups`]): Linux sends,
    /// under `FUSE_CREATE_SUPP_GROUP`, the parent directory's group with
    /// create-type requests when the caller is in it. Empty otherwise.
    pub groups: &'a [u32],
    /// The caller's monotonic time, for cache TTLs.
    pub now: Instant,
    /// With FUSE_SECURITY_CTX agreed: the label for the object a CREATE,
    /// MKNOD, MKDIR, SYMLINK or TMPFILE makes (`None` when the guest's LSM
    /// gave none). A filesystem that cannot apply it fails the request.
    pub security: Option<SecLabel<'a>>,
}

impl Context<'_> {
    /// Whether the caller is in group `gid`: its fsgid or one of the
    /// request's supplementary [`groups`](Self::groups).
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// What the kernel offered at INIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelInit {
    /// Agreed protocol minor version.
    pub minor: u32,
    /// Capabilities the kernel offers.
    pub offered: InitFlags,
    /// The kernel's maximum readahead.
    pub max_readahead: u32,
}

/// A directory entry reply (LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE, TMPFILE,
/// READDIRPLUS). `nodeid == 0` is a negative entry: "no such name", cached by the
/// kernel for `entry_valid`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// Node id; 0 for a negative entry.
    pub nodeid: NodeId,
    /// Generation number.
    pub generation: u64,
    /// Attributes.
    pub attr: Attr,
    /// How long the kernel may cache the name.
    pub entry_valid: Duration,
    /// How long the kernel may cache the attributes.
    pub attr_valid: Duration,
}

impl Entry {
    /// A negative entry the kernel may cache for `ttl`.
    pub fn negative(ttl: Duration) -> Entry {
        Entry {
            entry_valid: ttl,
            ..Entry::default()
        }
    }
}

/// Attributes with their cache timeout (GETATTR, SETATTR).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttrReply {
    /// Attributes.
    pub attr: Attr,
    /// How long the kernel may cache them.
    pub valid: Duration,
}

/// `statx` attributes with their cache timeout (STATX).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatxReply {
    /// Attributes.
    pub stat: Statx,
    /// How long the kernel may cache them.
    pub valid: Duration,
}

/// An open file or directory (OPEN, OPENDIR, CREATE, TMPFILE).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Opened {
    /// The handle the kernel passes back in later requests.
    pub fh: Fh,
    /// `FOPEN_*` flags.
    pub flags: FopenFlags,
    /// Backing file id for `FOPEN_PASSTHROUGH`, else 0.
    pub backing_id: i32,
}

/// The answer to GETXATTR / LISTXATTR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XattrReply {
    /// The request had size 0: the size needed.
    Size(u32),
    /// The value (or list) was written into the reply data.
    Data,
}

/// The answer to IOCTL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoctlReply {
    /// The ioctl's return value.
    pub result: i32,
}

/// The caller's open flags and `FUSE_OPEN_*` flags for OPEN / OPENDIR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenArgs {
    /// Linux open flags (`O_*`, wire values).
    pub flags: u32,
    /// `FUSE_OPEN_*` flags.
    pub open_flags: u32,
}

/// CREATE / TMPFILE / MKNOD / MKDIR arguments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CreateArgs {
    /// Linux open flags (CREATE, TMPFILE).
    pub flags: u32,
    /// Requested type and permission bits.
    pub mode: u32,
    /// The caller's umask; apply it unless `FUSE_DONT_MASK` was negotiated.
    pub umask: u32,
    /// `FUSE_OPEN_*` flags (CREATE, TMPFILE).
    pub open_flags: u32,
    /// Device number (MKNOD).
    pub rdev: u32,
}

/// The file system, as the dispatcher sees it. See the module docs.
#[allow(unused_variables)]
pub trait FileSystem: Sync {
    /// INIT: returns the capabilities the filesystem wants; the session gets
    /// those the kernel offered as well.
    fn init(&self, kernel: &KernelInit) -> Result<InitFlags> {
        Ok(InitFlags::empty())
    }

    /// DESTROY: the session ends.
    fn destroy(&self) {}

    /// LOOKUP `name` in `parent`. Increments the lookup count of the result
    /// (not of a negative entry).
    fn lookup(&self, ctx: &Context, parent: NodeId, name: Name<'_>) -> Result<Entry> {
        Err(Errno::ENOSYS)
    }

    /// LOOKUP of `.` in `node`: with `FUSE_EXPORT_SUPPORT`, the guest
    /// kernel reopens a file handle whose node it no longer has (Linux
    /// `fuse_get_dentry`, fs/fuse/inode.c). Answers `node`'s own entry with
    /// the same node id and generation, counting a lookup; `ENOENT` or
    /// `ESTALE` for a node the filesystem cannot give back (the kernel
    /// reports `ESTALE`). Default: `EINVAL`, as for any other bad name.
    fn lookup_self(&self, ctx: &Context, node: NodeId) -> Result<Entry> {
        Err(Errno::EINVAL)
    }

    /// LOOKUP of `..` in directory `node` (Linux `fuse_get_parent`, with
    /// `FUSE_EXPORT_SUPPORT`, to reconnect a directory opened by handle):
    /// the parent's entry, counting a lookup; the root is its own parent.
    /// Default: `EINVAL`, as for any other bad name.
    fn lookup_parent(&self, ctx: &Context, node: NodeId) -> Result<Entry> {
        Err(Errno::EINVAL)
    }

    /// FORGET: drop `nlookup` lookups of `node`. The guest's count is not to be
    /// trusted; never underflow, never free the root.
    fn forget(&self, ctx: &Context, node: NodeId, nlookup: u64) {}

    /// BATCH_FORGET: drop lookups of several nodes.
    fn batch_forget(&self, ctx: &Context, items: &[ForgetOne]) {
        for it in items {
            self.forget(ctx, it.nodeid, it.nlookup);
        }
    }

    /// GETATTR, with the file handle if the kernel sent one.
    fn getattr(&self, ctx: &Context, node: NodeId, fh: Option<Fh>) -> Result<AttrReply> {
        Err(Errno::ENOSYS)
    }

    /// SETATTR: the fields `set.valid` names.
    fn setattr(&self, ctx: &Context, node: NodeId, set: &SetattrIn) -> Result<AttrReply> {
        Err(Errno::ENOSYS)
    }

    /// READLINK: write the target into `out`.
    fn readlink(&self, ctx: &Context, node: NodeId, out: &mut ReplyData<'_>) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// SYMLINK `name` in `parent` pointing to `target` (bytes, no NUL; may be
    /// absolute: it is stored, never followed by the server).
    fn symlink(
        &self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
        target: &[u8],
    ) -> Result<Entry> {
        Err(Errno::ENOSYS)
    }

    /// MKNOD `name` in `parent` (`args.mode`, `args.rdev`, `args.umask`).
    fn mknod(
        &self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
        args: &CreateArgs,
    ) -> Result<Entry> {
        Err(Errno::ENOSYS)
    }

    /// MKDIR `name` in `parent` (`args.mode`, `args.umask`).
    fn mkdir(
        &self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
        args: &CreateArgs,
    ) -> Result<Entry> {
        Err(Errno::ENOSYS)
    }

    /// UNLINK `name` from `parent`.
    fn unlink(&self, ctx: &Context, parent: NodeId, name: Name<'_>) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// RMDIR `name` from `parent`.
    fn rmdir(&self, ctx: &Context, parent: NodeId, name: Name<'_>) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// RENAME / RENAME2 (`flags`: `RENAME_*`, 0 for RENAME).
    fn rename(
        &self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
        newparent: NodeId,
        newname: Name<'_>,
        flags: u32,
    ) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// LINK: a new name `newname` in `newparent` for `node`.
    fn link(
        &self,
        ctx: &Context,
        node: NodeId,
        newparent: NodeId,
        newname: Name<'_>,
    ) -> Result<Entry> {
        Err(Errno::ENOSYS)
    }

    /// OPEN a file.
    fn open(&self, ctx: &Context, node: NodeId, args: &OpenArgs) -> Result<Opened> {
        Err(Errno::ENOSYS)
    }

    /// READ up to `out.remaining()` bytes at `offset` into `out`. Fewer bytes
    /// than asked means end of file (unless `FOPEN_DIRECT_IO`).
    fn read(
        &self,
        ctx: &Context,
        node: NodeId,
        fh: Fh,
        offset: u64,
        out: &mut ReplyData<'_>,
        lock_owner: Option<u64>,
        flags: u32,
    ) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// WRITE `data` at `offset`; returns the bytes written.
    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        ctx: &Context,
        node: NodeId,
        fh: Fh,
        offset: u64,
        data: &mut RequestData<'_>,
        write_flags: u32,
        lock_owner: Option<u64>,
        flags: u32,
    ) -> Result<u32> {
        Err(Errno::ENOSYS)
    }

    /// STATFS of the filesystem `node` is on.
    fn statfs(&self, ctx: &Context, node: NodeId) -> Result<Kstatfs> {
        Err(Errno::ENOSYS)
    }

    /// RELEASE an open file (last close of the kernel's file).
    fn release(
        &self,
        ctx: &Context,
        node: NodeId,
        fh: Fh,
        flags: u32,
        release_flags: u32,
        lock_owner: u64,
    ) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// FSYNC an open file (`datasync`: `FUSE_FSYNC_FDATASYNC`).
    fn fsync(&self, ctx: &Context, node: NodeId, fh: Fh, datasync: bool) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// SETXATTR `name` = `value` (`flags`: `XATTR_CREATE` / `XATTR_REPLACE`).
    fn setxattr(
        &self,
        ctx: &Context,
        node: NodeId,
        name: &[u8],
        value: &[u8],
        flags: u32,
        setxattr_flags: u32,
    ) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// GETXATTR: with `size == 0` return the size, else write at most `size`
    /// bytes into `out` (`ERANGE` if the value is larger).
    fn getxattr(
        &self,
        ctx: &Context,
        node: NodeId,
        name: &[u8],
        size: u32,
        out: &mut ReplyData<'_>,
    ) -> Result<XattrReply> {
        Err(Errno::ENOSYS)
    }

    /// LISTXATTR: NUL-separated names, same size rules as GETXATTR.
    fn listxattr(
        &self,
        ctx: &Context,
        node: NodeId,
        size: u32,
        out: &mut ReplyData<'_>,
    ) -> Result<XattrReply> {
        Err(Errno::ENOSYS)
    }

    /// REMOVEXATTR `name`.
    fn removexattr(&self, ctx: &Context, node: NodeId, name: &[u8]) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// FLUSH on every `close(2)` of the kernel's file; report deferred write errors here.
    fn flush(&self, ctx: &Context, node: NodeId, fh: Fh, lock_owner: u64) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// OPENDIR.
    fn opendir(&self, ctx: &Context, node: NodeId, args: &OpenArgs) -> Result<Opened> {
        Err(Errno::ENOSYS)
    }

    /// READDIR from `offset` (0 or an `off` the filesystem returned) into `out`.
    fn readdir(
        &self,
        ctx: &Context,
        node: NodeId,
        fh: Fh,
        offset: u64,
        out: &mut DirSink<'_>,
    ) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// READDIRPLUS: as READDIR, each entry with a LOOKUP-style [`Entry`]
    /// (incrementing lookup counts only for entries actually added; `.` and
    /// `..` carry nodeid 0).
    fn readdirplus(
        &self,
        ctx: &Context,
        node: NodeId,
        fh: Fh,
        offset: u64,
        out: &mut DirSink<'_>,
    ) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// RELEASEDIR.
    fn releasedir(&self, ctx: &Context, node: NodeId, fh: Fh, flags: u32) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// FSYNCDIR.
    fn fsyncdir(&self, ctx: &Context, node: NodeId, fh: Fh, datasync: bool) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// GETLK: the first lock conflicting with `lk.lk`, or one of type `F_UNLCK`.
    fn getlk(&self, ctx: &Context, node: NodeId, lk: &LkIn) -> Result<FileLock> {
        Err(Errno::ENOSYS)
    }

    /// SETLK / SETLKW (`sleep`) a POSIX lock, or a flock with `FUSE_LK_FLOCK`.
    fn setlk(&self, ctx: &Context, node: NodeId, lk: &LkIn, sleep: bool) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// ACCESS check (`mask`: `R_OK | W_OK | X_OK` or `F_OK`).
    fn access(&self, ctx: &Context, node: NodeId, mask: u32) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// CREATE and open `name` in `parent`.
    fn create(
        &self,
        ctx: &Context,
        parent: NodeId,
        name: Name<'_>,
        args: &CreateArgs,
    ) -> Result<(Entry, Opened)> {
        Err(Errno::ENOSYS)
    }

    /// INTERRUPT request `unique` (no reply). Replying `EINTR` to the
    /// interrupted request, or finishing it normally, is the filesystem's choice.
    fn interrupt(&self, ctx: &Context, unique: u64) {}

    /// Cancels every request blocked waiting (a SETLKW), which then fails
    /// with `EINTR`. A transport calls it at a device reset, before waiting
    /// for the requests in flight; it is not a FUSE request.
    fn cancel_blocked(&self) {}

    /// BMAP: the device block of file block `block`.
    fn bmap(&self, ctx: &Context, node: NodeId, blocksize: u32, block: u64) -> Result<u64> {
        Err(Errno::ENOSYS)
    }

    /// IOCTL with `input` (`arg.in_size` bytes); write at most `arg.out_size` bytes to `out`.
    fn ioctl(
        &self,
        ctx: &Context,
        node: NodeId,
        arg: &IoctlIn,
        input: &mut RequestData<'_>,
        out: &mut ReplyData<'_>,
    ) -> Result<IoctlReply> {
        Err(Errno::ENOSYS)
    }

    /// POLL: the ready events among `events`.
    fn poll(
        &self,
        ctx: &Context,
        node: NodeId,
        fh: Fh,
        kh: u64,
        flags: u32,
        events: u32,
    ) -> Result<u32> {
        Err(Errno::ENOSYS)
    }

    /// FALLOCATE (`FALLOC_FL_*` modes, Linux semantics: never shrink unless asked).
    fn fallocate(&self, ctx: &Context, node: NodeId, arg: &FallocateIn) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// LSEEK (`whence`: Linux `SEEK_*`, incl. `SEEK_DATA` 3 / `SEEK_HOLE` 4).
    fn lseek(&self, ctx: &Context, node: NodeId, fh: Fh, offset: u64, whence: u32) -> Result<u64> {
        Err(Errno::ENOSYS)
    }

    /// COPY_FILE_RANGE from (`node`, `arg.fh_in`) to (`arg.nodeid_out`, `arg.fh_out`); returns bytes copied.
    fn copy_file_range(&self, ctx: &Context, node: NodeId, arg: &CopyFileRangeIn) -> Result<u64> {
        Err(Errno::ENOSYS)
    }

    /// SETUPMAPPING (virtio-fs DAX window).
    fn setupmapping(&self, ctx: &Context, node: NodeId, arg: &SetupmappingIn) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// REMOVEMAPPING (virtio-fs DAX window). Called once per batch of items.
    fn removemapping(&self, ctx: &Context, items: &[RemovemappingOne]) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// SYNCFS.
    fn syncfs(&self, ctx: &Context, node: NodeId) -> Result<()> {
        Err(Errno::ENOSYS)
    }

    /// TMPFILE: an unnamed file in `parent`, opened.
    fn tmpfile(&self, ctx: &Context, parent: NodeId, args: &CreateArgs) -> Result<(Entry, Opened)> {
        Err(Errno::ENOSYS)
    }

    /// STATX (`sx_flags`: `AT_STATX_*`, `sx_mask`: `STATX_*`).
    fn statx(
        &self,
        ctx: &Context,
        node: NodeId,
        fh: Option<Fh>,
        sx_flags: u32,
        sx_mask: u32,
    ) -> Result<StatxReply> {
        Err(Errno::ENOSYS)
    }
}
