//! [`FuseDispatcher`]: one request in, one reply (or none) out.
//!
//! The dispatcher reads the header and a small copied prefix of the body,
//! parses them into a [`Request`], calls the [`FileSystem`], and encodes the
//! reply into the transport's [`ReplySink`]. It allocates nothing, holds no
//! lock, and is `Sync`: many workers may call [`FuseDispatcher::handle`] at
//! once, and their replies may complete in any order.

use crate::abi::*;
use crate::dirent::DirSink;
use crate::errno::Errno;
use crate::fs::{Context, CreateArgs, FileSystem, KernelInit, OpenArgs, XattrReply};
use crate::io::{ReplyData, ReplySink, RequestData, RequestSource};
use crate::reply::{self, OUT_HEADER_LEN};
use crate::request::{
    Frame, IN_HEADER_LEN, InPlace, MAX_PREFIX, ParseOptions, Request, prefix_len,
};
use crate::secctx;
use crate::stats::Stats;
use crate::suppgroups;
use crate::time::Instant;
use core::sync::atomic::{AtomicU32, Ordering};
use zerocopy::{FromBytes, IntoBytes};

/// Session limits and capability wishes of the server (the transport's and
/// the embedder's; the filesystem adds its own at INIT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DispatcherConfig {
    /// Largest WRITE payload accepted (`fuse_init_out.max_write`). The
    /// transport's request buffers must hold this plus the WRITE header.
    pub max_write: u32,
    /// Upper bound for the kernel's readahead.
    pub max_readahead: u32,
    /// `fuse_init_out.max_background`.
    pub max_background: u16,
    /// `fuse_init_out.congestion_threshold`.
    pub congestion_threshold: u16,
    /// Timestamp granularity in nanoseconds (1 = ns precision).
    pub time_gran: u32,
    /// log2 of the DAX mapping alignment (virtio-fs), with `MAP_ALIGNMENT`.
    pub map_alignment: u16,
    /// Capabilities the server wants besides the filesystem's.
    pub wanted: InitFlags,
    /// Capabilities never to accept (e.g. splice on a virtio transport).
    pub refused: InitFlags,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            max_write: 1 << 20,
            max_readahead: 1 << 20,
            max_background: 64,
            congestion_threshold: 48,
            time_gran: 1,
            map_alignment: 0,
            wanted: InitFlags::ASYNC_READ
                | InitFlags::BIG_WRITES
                | InitFlags::MAX_PAGES
                | InitFlags::INIT_EXT
                | InitFlags::SETXATTR_EXT,
            refused: InitFlags::empty(),
        }
    }
}

/// What the transport must do after [`FuseDispatcher::handle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A reply of this many bytes was written at the start of the sink.
    Reply(usize),
    /// The request takes no reply (FORGET, BATCH_FORGET, INTERRUPT, NOTIFY_REPLY).
    NoReply,
    /// The request was too broken to answer (no readable header, or the sink
    /// cannot hold even an error reply). Complete it with no reply bytes.
    Dropped(Errno),
}

/// The negotiated state of the session, readable without locks.
#[derive(Debug)]
struct Session {
    /// 0 before INIT (and after DESTROY), else the agreed minor version.
    minor: AtomicU32,
    flags_lo: AtomicU32,
    flags_hi: AtomicU32,
}

/// Routes FUSE requests to a [`FileSystem`]. See the module docs.
pub struct FuseDispatcher<F> {
    fs: F,
    config: DispatcherConfig,
    session: Session,
    stats: Stats,
    clock: Option<fn() -> Instant>,
}

/// Body prefixes up to this size are copied into a small stack buffer.
const SMALL_PREFIX: usize = 256;

/// Forgets and removemapping items are read from the request in chunks of this many.
const ITEM_CHUNK: usize = 64;

impl<F: FileSystem> FuseDispatcher<F> {
    /// A dispatcher for `fs` with default limits.
    pub fn new(fs: F) -> Self {
        Self::with_config(fs, DispatcherConfig::default())
    }

    /// A dispatcher for `fs` with `config`.
    pub fn with_config(fs: F, config: DispatcherConfig) -> Self {
        FuseDispatcher {
            fs,
            config,
            session: Session {
                minor: AtomicU32::new(0),
                flags_lo: AtomicU32::new(0),
                flags_hi: AtomicU32::new(0),
            },
            stats: Stats::new(),
            clock: None,
        }
    }

    /// Times every request with `clock` (any monotonic clock, read when
    /// [`handle`](Self::handle) starts and after the reply is encoded) for
    /// the latency histograms of [`stats`](Self::stats). Without a clock only
    /// counts are kept.
    pub fn with_clock(mut self, clock: fn() -> Instant) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Request counts, errors by errno and latency histograms of every
    /// request handled so far; readable at any time.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The filesystem.
    pub fn fs(&self) -> &F {
        &self.fs
    }

    /// The configuration.
    pub fn config(&self) -> &DispatcherConfig {
        &self.config
    }

    /// The agreed minor version, or `None` before INIT.
    pub fn negotiated_minor(&self) -> Option<u32> {
        match self.session.minor.load(Ordering::Acquire) {
            0 => None,
            m => Some(m),
        }
    }

    /// The capabilities agreed at INIT (empty before).
    pub fn negotiated_flags(&self) -> InitFlags {
        let lo = self.session.flags_lo.load(Ordering::Acquire) as u64;
        let hi = self.session.flags_hi.load(Ordering::Acquire) as u64;
        InitFlags::from_bits_retain(lo | (hi << 32))
    }

    /// Handles one request from `req`, writing the reply into `reply`.
    /// `now` is the caller's monotonic time, for cache TTLs.
    pub fn handle<R, W>(&self, now: Instant, req: &R, reply: &mut W) -> Outcome
    where
        R: RequestSource + ?Sized,
        W: ReplySink + ?Sized,
    {
        let started = self.clock.map(|c| c());
        let req: &dyn RequestSource = &req;
        let mut reply = reply;
        let reply: &mut dyn ReplySink = &mut reply;
        let mut head = [0u8; IN_HEADER_LEN];
        if req.read_at(0, &mut head).is_err() {
            return self.dropped_unread(started);
        }
        let (header, _) = match InHeader::read_from_prefix(&head[..]) {
            Ok(v) => v,
            Err(_) => return self.dropped_unread(started),
        };
        let opcode = Opcode::from_u32(header.opcode);
        let no_reply = matches!(
            opcode,
            Some(Opcode::FORGET | Opcode::BATCH_FORGET | Opcode::INTERRUPT | Opcode::NOTIFY_REPLY)
        );
        let result = self.handle_inner(now, &head, &header, opcode, req, reply);
        let outcome = match result {
            Ok(Some(n)) => Outcome::Reply(n),
            Ok(None) => Outcome::NoReply,
            Err(_) if no_reply => Outcome::NoReply,
            Err(e) => match reply::reply_error(reply, header.unique, e) {
                Ok(n) => Outcome::Reply(n),
                Err(e2) => Outcome::Dropped(e2),
            },
        };
        self.record(header.opcode, started, result.err(), outcome);
        outcome
    }

    /// A request without a readable header: counted (opcode slot 0), dropped.
    fn dropped_unread(&self, started: Option<Instant>) -> Outcome {
        let outcome = Outcome::Dropped(Errno::EINVAL);
        self.record(0, started, None, outcome);
        outcome
    }

    /// Counts one handled request in [`Self::stats`].
    fn record(
        &self,
        opcode: u32,
        started: Option<Instant>,
        error: Option<Errno>,
        outcome: Outcome,
    ) {
        let latency = self
            .clock
            .zip(started)
            .map(|(c, t0)| c().saturating_since(t0));
        let dropped = matches!(outcome, Outcome::Dropped(_));
        let error = match outcome {
            Outcome::Dropped(e) => Some(error.unwrap_or(e)),
            _ => error,
        };
        self.stats.record(opcode, error, dropped, latency);
    }

    /// `head` is the header as copied once out of `req` (guest memory may
    /// change under a second read: everything is decided from this copy).
    fn handle_inner(
        &self,
        now: Instant,
        head: &[u8; IN_HEADER_LEN],
        header: &InHeader,
        opcode: Option<Opcode>,
        req: &dyn RequestSource,
        reply: &mut dyn ReplySink,
    ) -> Result<Option<usize>, Errno> {
        let frame = Frame::parse(head, req.len())?;
        let opcode = opcode.ok_or(Errno::ENOSYS)?;
        let minor = self.session.minor.load(Ordering::Acquire);
        if minor == 0 && opcode != Opcode::INIT {
            return Err(Errno::EIO);
        }
        let flags = self.negotiated_flags();
        let opts = ParseOptions {
            minor: if minor == 0 {
                KERNEL_MINOR_VERSION
            } else {
                minor
            },
            setxattr_ext: flags.contains(InitFlags::SETXATTR_EXT),
        };
        let plen = prefix_len(opcode, frame.body_len);
        // Most requests need a few dozen bytes: don't zero 4.6 KiB for them.
        if plen <= SMALL_PREFIX {
            let mut prefix = [0u8; SMALL_PREFIX];
            self.parse_and_route(
                now,
                header,
                &frame,
                opcode,
                opts,
                &mut prefix[..plen],
                req,
                reply,
            )
        } else {
            let mut prefix = [0u8; MAX_PREFIX];
            self.parse_and_route(
                now,
                header,
                &frame,
                opcode,
                opts,
                &mut prefix[..plen],
                req,
                reply,
            )
        }
    }

    fn parse_and_route(
        &self,
        now: Instant,
        header: &InHeader,
        frame: &Frame,
        opcode: Opcode,
        opts: ParseOptions,
        prefix: &mut [u8],
        req: &dyn RequestSource,
        reply: &mut dyn ReplySink,
    ) -> Result<Option<usize>, Errno> {
        req.read_at(IN_HEADER_LEN, prefix)?;
        let request = Request::parse(opcode, prefix, frame.body_len, opts)?;
        check_before_acting(opcode, header, reply.capacity())?;
        let ctx = Context {
            unique: header.unique,
            uid: header.uid,
            gid: header.gid,
            pid: header.pid,
            groups: &[],
            now,
            security: None,
        };
        if frame.ext.len > 0 {
            let label =
                takes_label(opcode) && self.negotiated_flags().contains(InitFlags::SECURITY_CTX);
            return self.route_extended(&ctx, frame.ext, label, header, request, req, reply);
        }
        self.route(&ctx, header, request, req, reply)
    }

    /// [`route`](Self::route) with the request's supplementary groups
    /// (FUSE_EXT_GROUPS) and, when `label`, its security label
    /// (FUSE_SECURITY_CTX) copied into buffers of their own: off the common
    /// path, which never zeroes the buffers.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn route_extended(
        &self,
        ctx: &Context<'_>,
        ext: InPlace,
        label: bool,
        header: &InHeader,
        request: Request<'_>,
        req: &dyn RequestSource,
        reply: &mut dyn ReplySink,
    ) -> Result<Option<usize>, Errno> {
        let mut gbuf = [0u32; suppgroups::MAX_SUPP_GROUPS];
        let groups = suppgroups::read_groups(req, ext, &mut gbuf)?;
        if !label {
            let ctx = Context { groups, ..*ctx };
            return self.route(&ctx, header, request, req, reply);
        }
        let mut buf = [0u8; secctx::LABEL_BUF];
        let label = secctx::read_label(req, ext, &mut buf)?;
        let ctx = Context {
            groups,
            security: label,
            ..*ctx
        };
        self.route(&ctx, header, request, req, reply)
    }

    fn route(
        &self,
        ctx: &Context,
        header: &InHeader,
        request: Request<'_>,
        req: &dyn RequestSource,
        reply: &mut dyn ReplySink,
    ) -> Result<Option<usize>, Errno> {
        let fs = &self.fs;
        let node = header.nodeid;
        let unique = header.unique;
        let body = |r: InPlace| IN_HEADER_LEN + r.off;
        let ok = |n: usize| Ok(Some(n));
        match request {
            Request::Init { arg } => self.init(unique, &arg, reply).map(Some),
            Request::Destroy => {
                fs.destroy();
                self.session.minor.store(0, Ordering::Release);
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Lookup { name } => ok(reply::reply_struct(
                reply,
                unique,
                &reply::entry_out(&fs.lookup(ctx, node, name)?),
            )?),
            Request::LookupSelf => ok(reply::reply_struct(
                reply,
                unique,
                &reply::entry_out(&fs.lookup_self(ctx, node)?),
            )?),
            Request::LookupParent => ok(reply::reply_struct(
                reply,
                unique,
                &reply::entry_out(&fs.lookup_parent(ctx, node)?),
            )?),
            Request::Forget { arg } => {
                fs.forget(ctx, node, arg.nlookup);
                Ok(None)
            }
            Request::BatchForget { count, items } => {
                let mut chunk = [ForgetOne::default(); ITEM_CHUNK];
                read_items(req, body(items), count as usize, &mut chunk, |c| {
                    fs.batch_forget(ctx, c)
                })?;
                Ok(None)
            }
            Request::Interrupt { arg } => {
                fs.interrupt(ctx, arg.unique);
                Ok(None)
            }
            Request::NotifyReply { .. } => Ok(None),
            Request::Getattr { arg } => {
                let fh = GetattrFlags::from_bits_retain(arg.getattr_flags)
                    .contains(GetattrFlags::FH)
                    .then_some(arg.fh);
                ok(reply::reply_struct(
                    reply,
                    unique,
                    &reply::attr_out(&fs.getattr(ctx, node, fh)?),
                )?)
            }
            Request::Setattr { arg } => ok(reply::reply_struct(
                reply,
                unique,
                &reply::attr_out(&fs.setattr(ctx, node, &arg)?),
            )?),
            Request::Readlink => {
                let mut out = ReplyData::new(reply, OUT_HEADER_LEN, PATH_MAX);
                fs.readlink(ctx, node, &mut out)?;
                let n = out.written();
                ok(reply::write_header(reply, unique, 0, n)?)
            }
            Request::Symlink { name, target } => ok(reply::reply_struct(
                reply,
                unique,
                &reply::entry_out(&fs.symlink(ctx, node, name, target)?),
            )?),
            Request::Mknod { arg, name } => {
                let a = CreateArgs {
                    mode: arg.mode,
                    umask: arg.umask,
                    rdev: arg.rdev,
                    ..CreateArgs::default()
                };
                ok(reply::reply_struct(
                    reply,
                    unique,
                    &reply::entry_out(&fs.mknod(ctx, node, name, &a)?),
                )?)
            }
            Request::Mkdir { arg, name } => {
                let a = CreateArgs {
                    mode: arg.mode,
                    umask: arg.umask,
                    ..CreateArgs::default()
                };
                ok(reply::reply_struct(
                    reply,
                    unique,
                    &reply::entry_out(&fs.mkdir(ctx, node, name, &a)?),
                )?)
            }
            Request::Unlink { name } => {
                fs.unlink(ctx, node, name)?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Rmdir { name } => {
                fs.rmdir(ctx, node, name)?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Rename {
                newdir,
                flags,
                name,
                newname,
            } => {
                fs.rename(ctx, node, name, newdir, newname, flags)?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Link { arg, name } => ok(reply::reply_struct(
                reply,
                unique,
                &reply::entry_out(&fs.link(ctx, arg.oldnodeid, node, name)?),
            )?),
            Request::Open { arg } => {
                let o = fs.open(
                    ctx,
                    node,
                    &OpenArgs {
                        flags: arg.flags,
                        open_flags: arg.open_flags,
                    },
                )?;
                ok(reply::reply_struct(reply, unique, &reply::open_out(&o))?)
            }
            Request::Opendir { arg } => {
                let o = fs.opendir(
                    ctx,
                    node,
                    &OpenArgs {
                        flags: arg.flags,
                        open_flags: arg.open_flags,
                    },
                )?;
                ok(reply::reply_struct(reply, unique, &reply::open_out(&o))?)
            }
            Request::Read { arg } => {
                let lock_owner = ReadFlags::from_bits_retain(arg.read_flags)
                    .contains(ReadFlags::LOCKOWNER)
                    .then_some(arg.lock_owner);
                // A short READ reply means end of file to the kernel (it shrinks
                // i_size): a sink too small for the request is an error, never
                // a silent short read.
                if reply.capacity() < OUT_HEADER_LEN.saturating_add(arg.size as usize) {
                    return Err(Errno::EIO);
                }
                let mut out = ReplyData::new(reply, OUT_HEADER_LEN, arg.size as usize);
                fs.read(
                    ctx, node, arg.fh, arg.offset, &mut out, lock_owner, arg.flags,
                )?;
                let n = out.written();
                ok(reply::write_header(reply, unique, 0, n)?)
            }
            Request::Write { arg, data } => {
                if arg.size > self.config.max_write {
                    return Err(Errno::EINVAL);
                }
                let lock_owner = WriteFlags::from_bits_retain(arg.write_flags)
                    .contains(WriteFlags::LOCKOWNER)
                    .then_some(arg.lock_owner);
                let mut d = RequestData::new(req, body(data), data.len);
                let n = fs.write(
                    ctx,
                    node,
                    arg.fh,
                    arg.offset,
                    &mut d,
                    arg.write_flags,
                    lock_owner,
                    arg.flags,
                )?;
                ok(reply::reply_struct(
                    reply,
                    unique,
                    &WriteOut {
                        size: n,
                        padding: 0,
                    },
                )?)
            }
            Request::Statfs => ok(reply::reply_struct(
                reply,
                unique,
                &StatfsOut {
                    st: fs.statfs(ctx, node)?,
                },
            )?),
            Request::Release { arg } => {
                fs.release(
                    ctx,
                    node,
                    arg.fh,
                    arg.flags,
                    arg.release_flags,
                    arg.lock_owner,
                )?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Releasedir { arg } => {
                fs.releasedir(ctx, node, arg.fh, arg.flags)?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Fsync { arg } => {
                fs.fsync(
                    ctx,
                    node,
                    arg.fh,
                    FsyncFlags::from_bits_retain(arg.fsync_flags).contains(FsyncFlags::FDATASYNC),
                )?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Fsyncdir { arg } => {
                fs.fsyncdir(
                    ctx,
                    node,
                    arg.fh,
                    FsyncFlags::from_bits_retain(arg.fsync_flags).contains(FsyncFlags::FDATASYNC),
                )?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Flush { arg } => {
                fs.flush(ctx, node, arg.fh, arg.lock_owner)?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Setxattr { arg, name, value } => {
                with_copy(req, body(value), value.len, &mut |v| {
                    fs.setxattr(ctx, node, name, v, arg.flags, arg.setxattr_flags)
                })?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Getxattr { arg, name } => {
                let mut out = ReplyData::new(reply, OUT_HEADER_LEN, arg.size as usize);
                let r = fs.getxattr(ctx, node, name, arg.size, &mut out)?;
                let n = out.written();
                self.xattr_reply(unique, arg.size, r, n, reply).map(Some)
            }
            Request::Listxattr { arg } => {
                let mut out = ReplyData::new(reply, OUT_HEADER_LEN, arg.size as usize);
                let r = fs.listxattr(ctx, node, arg.size, &mut out)?;
                let n = out.written();
                self.xattr_reply(unique, arg.size, r, n, reply).map(Some)
            }
            Request::Removexattr { name } => {
                fs.removexattr(ctx, node, name)?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Readdir { arg } | Request::Readdirplus { arg } => {
                let plus = matches!(request, Request::Readdirplus { .. });
                let mut sink = DirSink::new(reply, OUT_HEADER_LEN, arg.size as usize, plus);
                if plus {
                    fs.readdirplus(ctx, node, arg.fh, arg.offset, &mut sink)?;
                } else {
                    fs.readdir(ctx, node, arg.fh, arg.offset, &mut sink)?;
                }
                let n = sink.bytes();
                ok(reply::write_header(reply, unique, 0, n)?)
            }
            Request::Getlk { arg } => ok(reply::reply_struct(
                reply,
                unique,
                &LkOut {
                    lk: fs.getlk(ctx, node, &arg)?,
                },
            )?),
            Request::Setlk { arg } | Request::Setlkw { arg } => {
                fs.setlk(ctx, node, &arg, matches!(request, Request::Setlkw { .. }))?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Access { arg } => {
                fs.access(ctx, node, arg.mask)?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Create { arg, name } => {
                let a = CreateArgs {
                    flags: arg.flags,
                    mode: arg.mode,
                    umask: arg.umask,
                    open_flags: arg.open_flags,
                    rdev: 0,
                };
                let (e, o) = fs.create(ctx, node, name, &a)?;
                ok(reply::reply_create(reply, unique, &e, &o)?)
            }
            Request::Tmpfile { arg } => {
                let a = CreateArgs {
                    flags: arg.flags,
                    mode: arg.mode,
                    umask: arg.umask,
                    open_flags: arg.open_flags,
                    rdev: 0,
                };
                let (e, o) = fs.tmpfile(ctx, node, &a)?;
                ok(reply::reply_create(reply, unique, &e, &o)?)
            }
            Request::Bmap { arg } => ok(reply::reply_struct(
                reply,
                unique,
                &BmapOut {
                    block: fs.bmap(ctx, node, arg.blocksize, arg.block)?,
                },
            )?),
            Request::Ioctl { arg, input } => {
                let fixed = core::mem::size_of::<IoctlOut>();
                let mut inp = RequestData::new(req, body(input), input.len);
                let mut out = ReplyData::new(reply, OUT_HEADER_LEN + fixed, arg.out_size as usize);
                let r = fs.ioctl(ctx, node, &arg, &mut inp, &mut out)?;
                let n = out.written();
                let head = IoctlOut {
                    result: r.result,
                    flags: 0,
                    in_iovs: 0,
                    out_iovs: 0,
                };
                reply
                    .write_at(OUT_HEADER_LEN, head.as_bytes())
                    .map_err(|_| Errno::ERANGE)?;
                ok(reply::write_header(reply, unique, 0, fixed + n)?)
            }
            Request::Poll { arg } => {
                let revents = fs.poll(ctx, node, arg.fh, arg.kh, arg.flags, arg.events)?;
                ok(reply::reply_struct(
                    reply,
                    unique,
                    &PollOut {
                        revents,
                        padding: 0,
                    },
                )?)
            }
            Request::Fallocate { arg } => {
                fs.fallocate(ctx, node, &arg)?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Lseek { arg } => ok(reply::reply_struct(
                reply,
                unique,
                &LseekOut {
                    offset: fs.lseek(ctx, node, arg.fh, arg.offset, arg.whence)?,
                },
            )?),
            Request::CopyFileRange { arg } => {
                let n = fs.copy_file_range(ctx, node, &arg)?;
                // fuse_write_out.size is 32 bits: the kernel asks for at most that.
                let size = u32::try_from(n).unwrap_or(u32::MAX);
                ok(reply::reply_struct(
                    reply,
                    unique,
                    &WriteOut { size, padding: 0 },
                )?)
            }
            Request::Setupmapping { arg } => {
                fs.setupmapping(ctx, node, &arg)?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Removemapping { count, items } => {
                let mut chunk = [RemovemappingOne::default(); ITEM_CHUNK];
                let mut result = Ok(());
                read_items(req, body(items), count as usize, &mut chunk, |c| {
                    if result.is_ok() {
                        result = fs.removemapping(ctx, c);
                    }
                })?;
                result?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Syncfs { .. } => {
                fs.syncfs(ctx, node)?;
                ok(reply::reply_bytes(reply, unique, &[])?)
            }
            Request::Statx { arg } => {
                let fh = GetattrFlags::from_bits_retain(arg.getattr_flags)
                    .contains(GetattrFlags::FH)
                    .then_some(arg.fh);
                let s = fs.statx(ctx, node, fh, arg.sx_flags, arg.sx_mask)?;
                ok(reply::reply_struct(reply, unique, &reply::statx_out(&s))?)
            }
        }
    }

    fn xattr_reply(
        &self,
        unique: u64,
        size: u32,
        r: XattrReply,
        written: usize,
        reply: &mut dyn ReplySink,
    ) -> Result<usize, Errno> {
        match (size, r) {
            (0, XattrReply::Size(n)) => reply::reply_struct(
                reply,
                unique,
                &GetxattrOut {
                    size: n,
                    padding: 0,
                },
            ),
            (0, XattrReply::Data) => reply::reply_struct(
                reply,
                unique,
                &GetxattrOut {
                    size: 0,
                    padding: 0,
                },
            ),
            (_, XattrReply::Size(n)) if n > size => Err(Errno::ERANGE),
            _ => reply::write_header(reply, unique, 0, written),
        }
    }

    fn init(&self, unique: u64, arg: &InitIn, reply: &mut dyn ReplySink) -> Result<usize, Errno> {
        if arg.major < KERNEL_VERSION {
            return Err(Errno::EPROTO);
        }
        if arg.major > KERNEL_VERSION {
            // fuse.h: reply with our major only; the kernel retries INIT with it.
            let out = InitOut {
                major: KERNEL_VERSION,
                minor: KERNEL_MINOR_VERSION,
                ..InitOut::default()
            };
            return reply::reply_bytes(reply, unique, &out.as_bytes()[..8]);
        }
        if arg.minor < MIN_KERNEL_MINOR_VERSION {
            return Err(Errno::EPROTO);
        }
        let minor = arg.minor.min(KERNEL_MINOR_VERSION);
        let offered = InitFlags::join(arg.flags, if arg.minor >= 36 { arg.flags2 } else { 0 });
        let kernel = KernelInit {
            minor,
            offered,
            max_readahead: arg.max_readahead,
        };
        let fs_wants = self.fs.init(&kernel)?;
        let wanted =
            (fs_wants | self.config.wanted) - self.config.refused - InitFlags::INIT_RESERVED;
        let agreed = offered & wanted;
        let max_write = self.config.max_write.max(4096);
        let max_pages = max_write.div_ceil(4096).min(MAX_MAX_PAGES as u32) as u16;
        let (flags, flags2) = agreed.split();
        let out = InitOut {
            major: KERNEL_VERSION,
            minor,
            max_readahead: arg.max_readahead.min(self.config.max_readahead),
            flags,
            max_background: self.config.max_background,
            congestion_threshold: self.config.congestion_threshold,
            max_write,
            time_gran: self.config.time_gran.max(1),
            max_pages: if agreed.contains(InitFlags::MAX_PAGES) {
                max_pages
            } else {
                0
            },
            map_alignment: if agreed.contains(InitFlags::MAP_ALIGNMENT) {
                self.config.map_alignment
            } else {
                0
            },
            flags2: if agreed.contains(InitFlags::INIT_EXT) {
                flags2
            } else {
                0
            },
            // Backing files on a file system that is not itself stacked
            // (fs/fuse/passthrough.c refuses deeper ones with ELOOP).
            max_stack_depth: if agreed.contains(InitFlags::PASSTHROUGH) {
                1
            } else {
                0
            },
            request_timeout: 0,
            unused: [0; 11],
        };
        let len = if minor < 23 {
            COMPAT_22_INIT_OUT_SIZE
        } else {
            core::mem::size_of::<InitOut>()
        };
        let n = reply::reply_bytes(reply, unique, &out.as_bytes()[..len])?;
        let bits = agreed.bits();
        self.session.flags_lo.store(bits as u32, Ordering::Release);
        self.session
            .flags_hi
            .store((bits >> 32) as u32, Ordering::Release);
        self.session.minor.store(minor, Ordering::Release);
        Ok(n)
    }
}

/// Refuses, before the filesystem acts, a request whose success reply could
/// not reach the guest (the sink is smaller than [`reply::min_success_len`]:
/// `ERANGE`, or no reply at all below a header) and a creating request from
/// an unmapped caller (uid or gid `(u32)-1`, which the kernel sends for ids
/// outside its user namespace): `EINVAL` rather than an object owned by
/// nobody or, on some hosts, by root.
fn check_before_acting(opcode: Opcode, header: &InHeader, capacity: usize) -> Result<(), Errno> {
    if matches!(
        opcode,
        Opcode::FORGET | Opcode::BATCH_FORGET | Opcode::INTERRUPT | Opcode::NOTIFY_REPLY
    ) {
        return Ok(());
    }
    if capacity < reply::min_success_len(opcode) {
        return Err(Errno::ERANGE);
    }
    let creates = matches!(
        opcode,
        Opcode::MKNOD | Opcode::MKDIR | Opcode::SYMLINK | Opcode::CREATE | Opcode::TMPFILE
    );
    if creates && (header.uid == u32::MAX || header.gid == u32::MAX) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Reads `count` wire items of `T` starting at request offset `off`, in
/// chunks, passing each chunk to `f`.
fn read_items<T: FromBytes + IntoBytes + Copy>(
    req: &dyn RequestSource,
    off: usize,
    count: usize,
    chunk: &mut [T],
    mut f: impl FnMut(&[T]),
) -> Result<(), Errno> {
    let size = core::mem::size_of::<T>();
    let mut done = 0;
    while done < count {
        let n = (count - done).min(chunk.len());
        let start = off.checked_add(done * size).ok_or(Errno::EINVAL)?;
        req.read_at(start, chunk[..n].as_mut_bytes())?;
        f(&chunk[..n]);
        done += n;
    }
    Ok(())
}

/// Calls `f` with a copy of request bytes `[off, off + len)` as one slice:
/// in a stack buffer (up to 4 KiB) or, with `alloc`, a heap buffer (SETXATTR
/// values only; not a hot path). Never borrowed in place: the request may be
/// guest memory, which no Rust reference may cover.
fn with_copy(
    req: &dyn RequestSource,
    off: usize,
    len: usize,
    f: &mut dyn FnMut(&[u8]) -> Result<(), Errno>,
) -> Result<(), Errno> {
    if len <= 4096 {
        let mut buf = [0u8; 4096];
        req.read_at(off, &mut buf[..len])?;
        return f(&buf[..len]);
    }
    #[cfg(feature = "alloc")]
    {
        let mut v = alloc::vec![0u8; len];
        req.read_at(off, &mut v)?;
        f(&v)
    }
    #[cfg(not(feature = "alloc"))]
    {
        Err(Errno::E2BIG)
    }
}

/// Whether `opcode` creates an object and so may carry a security label.
fn takes_label(opcode: Opcode) -> bool {
    matches!(
        opcode,
        Opcode::CREATE | Opcode::MKNOD | Opcode::MKDIR | Opcode::SYMLINK | Opcode::TMPFILE
    )
}
