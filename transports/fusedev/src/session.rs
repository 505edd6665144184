//! [`Session`]: serves one FUSE connection with N worker threads.
//!
//! Each worker owns a cloned `/dev/fuse` descriptor, a request buffer of
//! `max_write + 4096` bytes and a reply buffer, reads one request at a time,
//! hands it to the shared [`FuseDispatcher`], and writes the reply with one
//! `writev(2)` (header and body as two segments). Nothing is allocated per
//! request.
//!
//! With [`SessionConfig::io_uring`] the session also serves requests
//! through FUSE-over-io_uring rings once INIT is done (see [`crate::uring`]);
//! the workers keep serving what still comes through `/dev/fuse`.

use crate::dev::FuseDev;
use crate::interrupt::InFlight;
use crate::mount::{Mount, MountError, MountOptions, mount};
use crate::uring::{self, IoUringMode, IoUringState, Prepared};
use arcbox_fs::abi::{InitFlags, MAX_MAX_PAGES, MIN_READ_BUFFER, Opcode};
use arcbox_fs::reply::OUT_HEADER_LEN;
use arcbox_fs::{DispatcherConfig, FileSystem, FuseDispatcher, Instant, Outcome, SgListMut};
use std::io::{self, IoSlice};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Page size the kernel counts `max_pages` in.
const PAGE: usize = 4096;

/// Worker and protocol settings of a [`Session`].
#[derive(Clone, Copy, Debug)]
pub struct SessionConfig {
    /// Worker threads started with the session (at least 1).
    pub threads: usize,
    /// Most worker threads: when every worker is busy (a lock wait, a slow
    /// host call) another one is started, up to this many, so that unlock
    /// and INTERRUPT requests are always read. None is added while the
    /// io_uring queues serve: `/dev/fuse` then carries only forgets and
    /// interrupts.
    pub max_threads: usize,
    /// Limits and capabilities offered at INIT (`max_write` sizes the
    /// request buffers).
    pub dispatcher: DispatcherConfig,
    /// Signal used to wake a worker whose request the kernel interrupts
    /// (`None`: interrupts only reach the filesystem). Default: `SIGRTMIN + 1`.
    pub interrupt_signal: Option<i32>,
    /// Whether to serve requests through FUSE-over-io_uring. Default: off.
    pub io_uring: IoUringMode,
    /// Entries per io_uring queue (each with a payload buffer of
    /// [`reply_buffer_len`](Self::reply_buffer_len) bytes).
    pub ring_depth: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            threads: std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .max(2),
            max_threads: 16,
            dispatcher: DispatcherConfig::default(),
            interrupt_signal: Some(libc::SIGRTMIN() + 1),
            io_uring: IoUringMode::Off,
            ring_depth: uring::DEFAULT_QUEUE_DEPTH,
        }
    }
}

impl SessionConfig {
    /// Request buffer size: the largest WRITE plus its headers, at least
    /// `FUSE_MIN_READ_BUFFER` (the kernel refuses smaller reads).
    pub fn request_buffer_len(&self) -> usize {
        (self.dispatcher.max_write.max(PAGE as u32) as usize + PAGE).max(MIN_READ_BUFFER)
    }

    /// Reply body size: the largest READ the kernel may ask for (max_pages
    /// pages as the dispatcher negotiates them) plus room for fixed parts.
    pub fn reply_buffer_len(&self) -> usize {
        let pages = (self.dispatcher.max_write.max(PAGE as u32) as usize)
            .div_ceil(PAGE)
            .min(MAX_MAX_PAGES as usize);
        pages.max(32) * PAGE + PAGE
    }
}

/// Counters of a running session.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests read from the kernel.
    pub requests: AtomicU64,
    /// Requests the dispatcher could not answer at all.
    pub dropped: AtomicU64,
    /// Replies the kernel no longer wanted (`ENOENT`: interrupted or aborted).
    pub stale_replies: AtomicU64,
    /// Interrupts that woke a worker.
    pub interrupts_signalled: AtomicU64,
    /// Requests served through io_uring rings (not counted in `requests`).
    pub ring_requests: AtomicU64,
}

/// Reports the node ids whose cached attributes the kernel must drop
/// before the current reply is sent (see [`Session::with_stale_attrs`]).
pub type StaleAttrsHook<F> = Box<dyn Fn(&F, &mut dyn FnMut(u64)) + Send + Sync>;

/// What the workers and ring queues of a session share.
pub(crate) struct Shared<F> {
    pub(crate) dispatcher: FuseDispatcher<F>,
    pub(crate) stale_attrs: Option<StaleAttrsHook<F>>,
    pub(crate) inflight: InFlight,
    /// The session's first descriptor, cloned for new workers.
    pub(crate) dev: Arc<FuseDev>,
    /// Every worker ever started, joined at the end.
    workers: Mutex<Vec<JoinHandle<io::Result<()>>>>,
    /// Workers started so far.
    started: AtomicUsize,
    /// Workers waiting in `read` for a request.
    idle: AtomicUsize,
    start: std::time::Instant,
    pub(crate) stats: Stats,
    config: SessionConfig,
    /// The rings, until INIT starts their threads.
    rings: Mutex<Option<Prepared>>,
    ring_state: Mutex<IoUringState>,
    /// Queues whose entries registered.
    rings_registered: AtomicUsize,
    /// Queues prepared (0: no io_uring).
    ring_queues: usize,
    /// Every ring queue serves: then `/dev/fuse` carries only FORGET,
    /// BATCH_FORGET and INTERRUPT (fs/fuse/dev_uring.c), none of which
    /// blocks, and one worker serves them.
    rings_serving: AtomicBool,
}

impl<F> Shared<F> {
    /// Monotonic time since the session started, for the dispatcher.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_nanos(u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    /// A queue failed to register (requests go through `/dev/fuse`).
    pub(crate) fn ring_failed(&self, why: String) {
        log::warn!("io_uring: {why}; serving through /dev/fuse");
        if let Ok(mut s) = self.ring_state.lock() {
            *s = IoUringState::Failed(why);
        }
        self.rings_serving.store(false, Ordering::Release);
    }

    /// A queue registered its entries; with the last one the rings serve.
    pub(crate) fn ring_registered(&self) {
        let n = self.rings_registered.fetch_add(1, Ordering::AcqRel) + 1;
        if let Ok(mut s) = self.ring_state.lock()
            && *s == IoUringState::Pending
            && n == self.ring_queues
        {
            *s = IoUringState::On { queues: n };
            self.rings_serving.store(true, Ordering::Release);
        }
    }
}

/// A FUSE connection ready to be served: a dispatcher, the device, and
/// (usually) the mount it belongs to.
pub struct Session<F> {
    shared: Arc<Shared<F>>,
    mount: Option<Mount>,
}

impl<F: FileSystem + Send + 'static> Session<F> {
    /// Mounts `fs` at `mountpoint` (see [`crate::mount()`]).
    ///
    /// Errors: [`MountError`] if the mount fails or the interrupt signal
    /// handler cannot be installed.
    pub fn mount(
        fs: F,
        mountpoint: &Path,
        opts: &MountOptions,
        config: SessionConfig,
    ) -> Result<Session<F>, MountError> {
        let (dev, m) = mount(mountpoint, opts)?;
        Session::new(fs, dev, Some(m), config).map_err(|e| MountError {
            stage: "set up session",
            mountpoint: mountpoint.to_path_buf(),
            source: e,
        })
    }

    /// A session over an already mounted device `dev` (e.g. passed in by a
    /// parent process); `mount` is unmounted when the session ends, if given.
    ///
    /// Errors: the interrupt signal handler cannot be installed.
    pub fn new(
        fs: F,
        dev: FuseDev,
        mount: Option<Mount>,
        mut config: SessionConfig,
    ) -> io::Result<Session<F>> {
        config.threads = config.threads.max(1);
        config.max_threads = config.max_threads.max(config.threads);
        let (rings, ring_state) = prepare_rings(&config)?;
        let ring_queues = rings.as_ref().map_or(0, |p| p.queues.len());
        let ring_depth = rings.as_ref().map_or(0, |p| p.depth);
        if rings.is_some() {
            config.dispatcher.wanted |= InitFlags::OVER_IO_URING;
        } else {
            config.dispatcher.wanted -= InitFlags::OVER_IO_URING;
        }
        // Interrupt slots: the workers, then one per ring queue thread, then
        // one per ring entry (the side thread serving a blocking request).
        let slots = config.max_threads + ring_queues * (1 + ring_depth);
        let inflight = InFlight::new(slots, config.interrupt_signal)?;
        let shared = Arc::new(Shared {
            dispatcher: FuseDispatcher::with_config(fs, config.dispatcher)
                .with_clock(arcbox_fs_linux::monotonic_now),
            stale_attrs: None,
            inflight,
            dev: Arc::new(dev),
            workers: Mutex::new(Vec::new()),
            started: AtomicUsize::new(0),
            idle: AtomicUsize::new(0),
            start: std::time::Instant::now(),
            stats: Stats::default(),
            config,
            rings: Mutex::new(rings),
            ring_state: Mutex::new(ring_state),
            rings_registered: AtomicUsize::new(0),
            ring_queues,
            rings_serving: AtomicBool::new(false),
        });
        Ok(Session { shared, mount })
    }

    /// What the workers share (tests of the ring serving path).
    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Arc<Shared<F>> {
        &self.shared
    }

    /// The session's first `/dev/fuse` descriptor (e.g. for
    /// [`crate::backing::FuseBacking::attach`]).
    pub fn device(&self) -> Arc<FuseDev> {
        self.shared.dev.clone()
    }

    /// Sets a hook each worker runs after a request and before its reply:
    /// every node id it reports gets an attribute-only
    /// `FUSE_NOTIFY_INVAL_INODE` (offset -1: cached pages stay), so a change
    /// the kernel does not expect (set-id bits cleared on FALLOCATE, see
    /// `PassthroughFs::take_stale_attrs`) is visible when the syscall returns.
    /// Only before [`spawn`](Self::spawn).
    pub fn with_stale_attrs(mut self, hook: StaleAttrsHook<F>) -> Self {
        if let Some(sh) = Arc::get_mut(&mut self.shared) {
            sh.stale_attrs = Some(hook);
        }
        self
    }

    /// Starts the workers. Worker 0 serves on the mount's descriptor, the
    /// others on clones (or on the same descriptor where cloning fails).
    ///
    /// Errors: a worker thread cannot be spawned (workers already started
    /// stop once the connection ends, which dropping the result arranges).
    pub fn spawn(self) -> io::Result<RunningSession<F>> {
        let Session { shared, mount } = self;
        let running = RunningSession {
            shared,
            mount: Arc::new(mount),
            joined: false,
        };
        for _ in 0..running.shared.config.threads {
            start_worker(&running.shared)?;
        }
        Ok(running)
    }

    /// Serves until the connection ends (unmount, abort, DESTROY).
    ///
    /// Errors: as [`spawn`](Self::spawn) and [`RunningSession::join`].
    pub fn run(self) -> io::Result<()> {
        self.spawn()?.join()
    }
}

/// A session whose workers are running.
pub struct RunningSession<F: FileSystem + Send + 'static> {
    shared: Arc<Shared<F>>,
    mount: Arc<Option<Mount>>,
    joined: bool,
}

/// A handle that unmounts or aborts a running session from another thread
/// (a signal handler thread, a test guard).
#[derive(Clone, Debug)]
pub struct Stopper {
    mount: Arc<Option<Mount>>,
}

impl Stopper {
    /// Lazily unmounts (see [`Mount::unmount`]); the workers stop when the
    /// last open file in the mount is closed.
    ///
    /// Errors: the unmount failed.
    pub fn unmount(&self) -> io::Result<()> {
        match &*self.mount {
            Some(m) => m.unmount(),
            None => Ok(()),
        }
    }

    /// Aborts the connection (see [`Mount::abort`]): the workers stop now.
    ///
    /// Errors: the abort failed or there is no mount.
    pub fn abort(&self) -> io::Result<()> {
        match &*self.mount {
            Some(m) => m.abort(),
            None => Err(io::Error::from_raw_os_error(libc::ENOENT)),
        }
    }
}

impl<F: FileSystem + Send + 'static> RunningSession<F> {
    /// The filesystem being served.
    pub fn fs(&self) -> &F {
        self.shared.dispatcher.fs()
    }

    /// The dispatcher (negotiated version and flags).
    pub fn dispatcher(&self) -> &FuseDispatcher<F> {
        &self.shared.dispatcher
    }

    /// The session's counters.
    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// A summary of what was served, callable from any thread for as long
    /// as it lives (after the session ended too): the dispatcher's
    /// [`arcbox_fs::stats::Stats`] (per-opcode counts, errors by errno,
    /// latency) and this session's counters. What `arcbox-fuse` logs on
    /// SIGUSR1 and at exit.
    pub fn summary_fn(&self) -> impl Fn() -> String + Send + Sync + 'static
    where
        F: Sync,
    {
        let shared = self.shared.clone();
        move || {
            let s = &shared.stats;
            format!(
                "{}\nsession: {} requests read, {} served by io_uring, {} dropped, {} stale replies, {} interrupts",
                shared.dispatcher.stats(),
                s.requests.load(Ordering::Relaxed),
                s.ring_requests.load(Ordering::Relaxed),
                s.dropped.load(Ordering::Relaxed),
                s.stale_replies.load(Ordering::Relaxed),
                s.interrupts_signalled.load(Ordering::Relaxed),
            )
        }
    }

    /// What the io_uring transport is doing (final once INIT is done and
    /// the queues registered or failed to).
    pub fn io_uring(&self) -> IoUringState {
        self.shared.ring_state.lock().map_or_else(
            |_| IoUringState::Off("state poisoned".into()),
            |s| s.clone(),
        )
    }

    /// The mount, if the session made one.
    pub fn mount(&self) -> Option<&Mount> {
        self.mount.as_ref().as_ref()
    }

    /// A handle to stop the session from elsewhere.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            mount: Arc::clone(&self.mount),
        }
    }

    /// A notifier on this session's device, for pushing host-side changes
    /// into the kernel's caches.
    pub fn notifier(&self) -> crate::Notifier {
        crate::Notifier::new(Arc::clone(&self.shared.dev))
    }

    /// Runs `f(fs, notifier)` every `period` on a thread of its own until the
    /// connection ends (e.g. draining a host watcher into notifications).
    ///
    /// Errors: the thread cannot be spawned.
    pub fn spawn_periodic(
        &self,
        period: std::time::Duration,
        f: impl Fn(&F, &crate::Notifier) + Send + 'static,
    ) -> io::Result<JoinHandle<()>>
    where
        F: Sync,
    {
        let shared = Arc::clone(&self.shared);
        let notifier = self.notifier();
        std::thread::Builder::new()
            .name("fuse-periodic".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(period);
                    let done = shared
                        .workers
                        .lock()
                        .map_or(true, |w| !w.is_empty() && w.iter().all(|w| w.is_finished()));
                    if done {
                        break;
                    }
                    f(shared.dispatcher.fs(), &notifier);
                }
            })
    }

    /// Whether every worker has stopped.
    pub fn is_finished(&self) -> bool {
        self.shared
            .workers
            .lock()
            .map_or(true, |w| w.iter().all(|w| w.is_finished()))
    }

    /// Workers started so far (grows when all are busy, up to `max_threads`).
    pub fn workers_started(&self) -> usize {
        self.shared.started.load(Ordering::Acquire)
    }

    /// Waits for the workers to stop (the connection ended), then unmounts
    /// if the mount is still there (after DESTROY).
    ///
    /// Errors: the first worker error (a fatal device error), or `EIO` if a
    /// worker panicked.
    pub fn join(mut self) -> io::Result<()> {
        let r = self.join_workers();
        let u = self.stopper().unmount();
        r.and(u)
    }

    fn join_workers(&mut self) -> io::Result<()> {
        self.joined = true;
        let mut result = Ok(());
        // Workers may start more workers until the connection ends: drain
        // until nothing is left.
        loop {
            let next = self.shared.workers.lock().ok().and_then(|mut w| w.pop());
            let Some(w) = next else { break };
            let r = w
                .join()
                .unwrap_or_else(|_| Err(io::Error::from_raw_os_error(libc::EIO)));
            if result.is_ok() {
                result = r;
            }
        }
        result
    }
}

impl<F: FileSystem + Send + 'static> Drop for RunningSession<F> {
    /// Unmounts, aborts the connection (so workers blocked on a detached
    /// mount still in use stop) and joins the workers.
    fn drop(&mut self) {
        if self.joined {
            return;
        }
        if let Some(m) = &*self.mount {
            let _ = m.unmount();
            let _ = m.abort();
        }
        let _ = self.join_workers();
    }
}

/// Starts one more worker on its own clone of the session's descriptor (or
/// on the shared one where cloning fails).
fn start_worker<F: FileSystem + Send + 'static>(sh: &Arc<Shared<F>>) -> io::Result<()> {
    let slot = sh.started.fetch_add(1, Ordering::AcqRel);
    let dev = if slot == 0 {
        Arc::clone(&sh.dev)
    } else {
        sh.dev
            .try_clone_session()
            .map(Arc::new)
            .unwrap_or_else(|_| Arc::clone(&sh.dev))
    };
    let sh2 = Arc::clone(sh);
    let h = std::thread::Builder::new()
        .name(format!("fuse-worker-{slot}"))
        .spawn(move || worker(&sh2, &dev, slot));
    match h {
        Ok(h) => {
            if let Ok(mut w) = sh.workers.lock() {
                w.push(h);
            }
            Ok(())
        }
        Err(e) => {
            sh.started.fetch_sub(1, Ordering::AcqRel);
            Err(e)
        }
    }
}

/// `fuse_in_header` fields the transport needs before dispatching.
pub(crate) fn peek_u32(buf: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        buf.get(off..off.checked_add(4)?)?.try_into().ok()?,
    ))
}

pub(crate) fn peek_u64(buf: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        buf.get(off..off.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Offset of `fuse_interrupt_in.unique`: right after the 40-byte in-header.
const INTERRUPT_UNIQUE_OFF: usize = 40;

fn worker<F: FileSystem + Send + 'static>(
    sh: &Arc<Shared<F>>,
    dev: &FuseDev,
    slot: usize,
) -> io::Result<()> {
    sh.inflight.register(slot);
    let r = serve(sh, dev, slot);
    sh.inflight.unregister(slot);
    r
}

fn serve<F: FileSystem + Send + 'static>(
    sh: &Arc<Shared<F>>,
    dev: &FuseDev,
    slot: usize,
) -> io::Result<()> {
    let mut req = vec![0u8; sh.config.request_buffer_len()];
    let mut head = [0u8; OUT_HEADER_LEN];
    let mut body = vec![0u8; sh.config.reply_buffer_len()];
    loop {
        sh.idle.fetch_add(1, Ordering::AcqRel);
        let r = dev.read_request(&mut req);
        let was_idle = sh.idle.fetch_sub(1, Ordering::AcqRel);
        if r.is_ok()
            && was_idle == 1
            && sh.started.load(Ordering::Acquire) < sh.config.max_threads
            && !sh.rings_serving.load(Ordering::Acquire)
        {
            // This was the last idle worker: start another, so a request that
            // blocks (a lock wait) cannot starve the unlock or INTERRUPT that
            // would end it. Failing to start one only costs parallelism.
            // Not while the rings serve: what is left here never blocks, and
            // forgets that queue up behind one worker arrive batched.
            let _ = start_worker(sh);
        }
        let n = match r {
            Ok(n) => n,
            Err(e) => match e.raw_os_error() {
                // ENOENT: the request was interrupted before we read it.
                Some(libc::EINTR | libc::EAGAIN | libc::ENOENT) => continue,
                Some(libc::ENODEV) => return Ok(()),
                _ => return Err(e),
            },
        };
        sh.stats.requests.fetch_add(1, Ordering::Relaxed);
        let req = &req[..n];
        let opcode = peek_u32(req, 4).and_then(Opcode::from_u32);
        let unique = peek_u64(req, 8).unwrap_or(0);
        if opcode == Some(Opcode::INTERRUPT)
            && let Some(target) = peek_u64(req, INTERRUPT_UNIQUE_OFF)
            && sh.inflight.interrupt(target)
        {
            sh.stats
                .interrupts_signalled
                .fetch_add(1, Ordering::Relaxed);
        }
        let now = sh.now();
        sh.inflight.begin(slot, unique);
        let outcome = {
            let mut segs: [&mut [u8]; 2] = [&mut head, &mut body];
            let mut sink = SgListMut::new(&mut segs);
            sh.dispatcher.handle(now, req, &mut sink)
        };
        sh.inflight.end(slot);
        if let Some(hook) = &sh.stale_attrs {
            hook(sh.dispatcher.fs(), &mut |node| inval_attrs(dev, node));
        }
        match outcome {
            Outcome::Reply(len) => {
                let body_len = len.saturating_sub(OUT_HEADER_LEN).min(body.len());
                let parts = [IoSlice::new(&head), IoSlice::new(&body[..body_len])];
                let parts = if body_len == 0 {
                    &parts[..1]
                } else {
                    &parts[..]
                };
                match write_reply(dev, parts) {
                    // The kernel has processed INIT (fc->initialized): the
                    // rings may register now.
                    Ok(()) if opcode == Some(Opcode::INIT) => start_rings(sh),
                    Ok(()) => {}
                    Err(e) => match e.raw_os_error() {
                        Some(libc::ENOENT) => {
                            sh.stats.stale_replies.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(libc::ENODEV) => return Ok(()),
                        _ => return Err(e),
                    },
                }
            }
            Outcome::NoReply => {}
            Outcome::Dropped(e) => {
                sh.stats.dropped.fetch_add(1, Ordering::Relaxed);
                log::warn!("dropped request {unique} ({opcode:?}, {n} bytes): {e}");
            }
        }
        if opcode == Some(Opcode::DESTROY) {
            // The kernel ends the connection after DESTROY; the other
            // workers read ENODEV.
            return Ok(());
        }
    }
}

/// `FUSE_NOTIFY_INVAL_INODE` for `node` with offset -1: the kernel drops the
/// cached attributes only (fs/fuse/inode.c `fuse_reverse_inval_inode`). Takes
/// no inode or page lock, so it is safe while the kernel waits for a reply.
/// Best effort: `ENOENT` (the kernel forgot the node) needs nothing.
pub(crate) fn inval_attrs(dev: &FuseDev, node: u64) {
    let mut buf = [0u8; 64];
    if let Ok(n) = arcbox_fs::reply::notify_inval_inode(&mut buf[..], node, -1, 0)
        && let Some(msg) = buf.get(..n)
    {
        let _ = dev.write_reply(&[IoSlice::new(msg)]);
    }
}

/// The rings `config` asks for, made now (before INIT) so that the session
/// asks for `FUSE_OVER_IO_URING` only where they exist, and the initial
/// state.
///
/// Errors: with [`IoUringMode::On`], why io_uring cannot be used.
fn prepare_rings(config: &SessionConfig) -> io::Result<(Option<Prepared>, IoUringState)> {
    if config.io_uring == IoUringMode::Off {
        return Ok((None, IoUringState::Off("not asked for".into())));
    }
    let made = uring::module_enabled().and_then(|()| {
        let queues = uring::possible_cpus().map_err(|e| format!("possible CPUs: {e}"))?;
        uring::prepare(queues, config.ring_depth, config.reply_buffer_len())
            .map_err(|e| format!("cannot set up an io_uring: {e}"))
    });
    match made {
        Ok(p) => Ok((Some(p), IoUringState::Pending)),
        Err(why) if config.io_uring == IoUringMode::On => Err(io::Error::other(why)),
        Err(why) => Ok((None, IoUringState::Off(why))),
    }
}

/// After the INIT reply: starts one thread per ring queue if the kernel
/// agreed to FUSE_OVER_IO_URING, else drops the rings.
fn start_rings<F: FileSystem + Send + 'static>(sh: &Arc<Shared<F>>) {
    let Some(prep) = sh.rings.lock().ok().and_then(|mut r| r.take()) else {
        return;
    };
    if !sh
        .dispatcher
        .negotiated_flags()
        .contains(InitFlags::OVER_IO_URING)
    {
        if let Ok(mut s) = sh.ring_state.lock() {
            *s = IoUringState::Off("the kernel did not offer FUSE_OVER_IO_URING".into());
        }
        return;
    }
    let fd = std::os::fd::AsRawFd::as_raw_fd(&*sh.dev);
    let base = sh.config.max_threads;
    let nq = prep.queues.len();
    let depth = prep.depth;
    for (qid, q) in prep.queues.into_iter().enumerate() {
        let sh2 = Arc::clone(sh);
        let qid16 = u16::try_from(qid).unwrap_or(u16::MAX);
        let slot = base + qid;
        let side_base = base + nq + qid * depth;
        // Kept to poison the connection with if the thread cannot start.
        let spare = Arc::clone(&q.shared);
        let h = std::thread::Builder::new()
            .name(format!("fuse-ring-{qid}"))
            .spawn(move || uring::queue::run(sh2, q, qid16, slot, side_base));
        match h {
            Ok(h) => {
                if let Ok(mut w) = sh.workers.lock() {
                    w.push(h);
                }
            }
            Err(e) => {
                // The kernel waits for every queue before it uses any: make
                // it give up on the rings instead (the queues already
                // started serve nothing and end with the connection).
                sh.ring_failed(format!("cannot start queue thread {qid}: {e}"));
                if let Some(b) = spare.bufs.first()
                    && let Ok(mut ring) =
                        io_uring::IoUring::<io_uring::squeue::Entry128>::builder().build(2)
                {
                    uring::queue::poison(&mut ring, fd, b);
                }
                return;
            }
        }
    }
}

fn write_reply(dev: &FuseDev, parts: &[IoSlice<'_>]) -> io::Result<()> {
    loop {
        match dev.write_reply(parts) {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(_) => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_sizes_follow_max_write() {
        let mut c = SessionConfig::default();
        c.dispatcher.max_write = 1 << 20;
        assert_eq!(c.request_buffer_len(), (1 << 20) + 4096);
        assert_eq!(c.reply_buffer_len(), (1 << 20) + 4096);
        c.dispatcher.max_write = 0;
        assert_eq!(c.request_buffer_len(), 8192);
        assert_eq!(c.reply_buffer_len(), 32 * 4096 + 4096);
    }

    #[test]
    fn peeks_are_bounds_checked() {
        assert_eq!(peek_u32(&[1, 0, 0], 0), None);
        assert_eq!(peek_u32(&[1, 0, 0, 0], 0), Some(1));
        assert_eq!(peek_u64(&[0; 9], 2), None);
        assert_eq!(peek_u64(&[0; 9], usize::MAX - 2), None);
    }
}
