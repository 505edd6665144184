//! The vhost-user backend of the virtio-fs device: the frontend's requests
//! (rust-vmm's `vhost` crate parses the socket protocol) applied to an
//! `arcbox_fs_virtio::VirtioFsDevice`, whose own split-queue and descriptor
//! chain code serves the rings in the shared guest memory.
//!
//! Each queue gets a thread once the frontend sends its kick eventfd; it
//! waits on the kick and notifies the queue's [`WorkerPool`] (the virtio
//! crate's pool, the same one an in-process VMM uses). With a thread pool
//! size of 0 (the default) it is a pool of no workers
//! ([`WorkerPool::start_inline`]): the kick thread serves the queue itself,
//! in order, through the FUSE dispatcher and signals the call eventfd once
//! per batch. With a pool size N > 0
//! ([`VhostUserFsBackend::set_thread_pool_size`]) N workers complete
//! requests out of order. Either way a SETLKW waits on a thread of its own
//! (a waiting lock never stalls its queue; an INTERRUPT cancels it) and
//! `GET_VRING_BASE` / a device reset cancel waiting locks and drain the
//! queue before answering. The hiprio queue (0) is served like the request
//! queues (FORGETs must not pile up).

use crate::memory::{MappedRegion, MemoryMap, RegionSpec};
use arcbox_fs::passthrough::FsConfig;
use arcbox_fs::{FileSystem, FuseDispatcher};
use arcbox_fs_virtio::device::VIRTIO_F_EVENT_IDX;
use arcbox_fs_virtio::device::VIRTIO_F_INDIRECT_DESC;
use arcbox_fs_virtio::fs::NeedsInterrupt;
use arcbox_fs_virtio::pool::{Notifier, WorkerPool};
use arcbox_fs_virtio::{VirtioDevice, VirtioFsDevice};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use vhost::VhostUserMemoryRegionBase;
use vhost::vhost_user::message::{
    VhostTransferStateDirection, VhostTransferStatePhase, VhostUserConfigFlags, VhostUserInflight,
    VhostUserLog, VhostUserMemoryRegion, VhostUserProtocolFeatures, VhostUserShMemConfig,
    VhostUserSharedMsg, VhostUserSingleMemoryRegion, VhostUserVringAddrFlags, VhostUserVringState,
};
use vhost::vhost_user::{Backend, Error, GpuBackend, Result, VhostUserBackendReqHandlerMut};

/// `VHOST_USER_F_PROTOCOL_FEATURES`: the feature bit announcing protocol features.
pub const VHOST_USER_F_PROTOCOL_FEATURES: u64 = 1 << 30;

/// Most memory slots offered with `CONFIGURE_MEM_SLOTS`.
const MAX_MEM_SLOTS: u64 = 509;

/// What every queue worker shares with the backend.
struct Shared<F, const Q: usize> {
    device: Arc<VirtioFsDevice<Q>>,
    dispatcher: Arc<FuseDispatcher<F>>,
    /// The current memory table. Workers clone the `Arc` per kick, so a
    /// replaced table stays mapped until nobody serves from it.
    memory: RwLock<Arc<MemoryMap>>,
    epoch: std::time::Instant,
}

impl<F: FileSystem, const Q: usize> Shared<F, Q> {
    fn memory(&self) -> Arc<MemoryMap> {
        match self.memory.read() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_memory(&self, map: MemoryMap) {
        let map = Arc::new(map);
        match self.memory.write() {
            Ok(mut m) => *m = map,
            Err(poisoned) => *poisoned.into_inner() = map,
        }
    }
}

/// One queue's eventfds and worker.
#[derive(Default)]
struct QueueSlot {
    kick: Option<Arc<File>>,
    call: Arc<Mutex<Option<File>>>,
    enabled: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
    /// The queue's pool (of no workers when the thread pool size is 0).
    pool: Option<Arc<WorkerPool>>,
    /// Pools replaced on a new memory table while requests (waiting locks)
    /// were still in flight on them: paused, finishing those requests on
    /// the old table; stopping the queue cancels and drains them too.
    retired: Vec<Arc<WorkerPool>>,
}

impl QueueSlot {
    /// Stops and joins the kick thread (if any): sets the stop flag and
    /// kicks it; the next thread gets a fresh flag.
    fn stop_kick_thread(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(k) = &self.kick {
            let _ = (&**k).write(&1u64.to_ne_bytes());
        }
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
        self.stop = Arc::new(AtomicBool::new(false));
    }

    /// Stops the queue: the kick thread, then its pools, cancelling waiting
    /// locks and draining what they serve.
    fn stop_worker(&mut self) {
        self.stop_kick_thread();
        // The kick thread is gone: this is the last reference; dropping it
        // joins the workers once the queue is drained.
        if let Some(p) = self.pool.take() {
            p.shutdown();
        }
        for p in self.retired.drain(..) {
            p.shutdown();
        }
    }

    /// Stops the kick thread and retires the pool without cancelling what
    /// it still serves (a new memory table: a waiting lock goes on waiting
    /// and completes on the table it was popped from).
    fn retire_worker(&mut self) {
        self.stop_kick_thread();
        self.retired.retain(|p| p.inflight() != 0);
        if let Some(p) = self.pool.take() {
            p.pause();
            if p.inflight() != 0 {
                self.retired.push(p);
            }
        }
    }
}

/// A queue's call eventfd as the worker pool's interrupt line.
struct CallNotifier(Arc<Mutex<Option<File>>>);

impl Notifier for CallNotifier {
    fn notify(&self, _queue: u16, irq: NeedsInterrupt) {
        if irq.any() {
            signal(&self.0);
        }
    }
}

/// Signals an eventfd (a call fd).
fn signal(fd: &Mutex<Option<File>>) {
    let guard = match fd.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if let Some(f) = guard.as_ref() {
        let _ = (&*f).write(&1u64.to_ne_bytes());
    }
}

/// A vhost-user virtio-fs backend with `Q` queues (hiprio + `Q - 1` request
/// queues), serving `F` through the FUSE dispatcher.
pub struct VhostUserFsBackend<F, const Q: usize = 2> {
    shared: Arc<Shared<F, Q>>,
    slots: Vec<QueueSlot>,
    acked_features: u64,
    protocol_features: VhostUserProtocolFeatures,
    /// Workers per queue; 0 serves each queue on its kick thread.
    pool_size: usize,
    /// Queues offered (hiprio + request queues), at most `Q`.
    queues: usize,
}

impl<F, const Q: usize> std::fmt::Debug for VhostUserFsBackend<F, Q> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VhostUserFsBackend")
            .field("queues", &Q)
            .field("acked_features", &self.acked_features)
            .field("protocol_features", &self.protocol_features)
            .finish()
    }
}

impl<F: FileSystem + Send + 'static, const Q: usize> VhostUserFsBackend<F, Q> {
    /// A backend serving `device`'s queues through `dispatcher`.
    pub fn new(device: VirtioFsDevice<Q>, dispatcher: FuseDispatcher<F>) -> Self {
        VhostUserFsBackend {
            shared: Arc::new(Shared {
                device: Arc::new(device),
                dispatcher: Arc::new(dispatcher),
                memory: RwLock::new(Arc::new(MemoryMap::empty())),
                epoch: std::time::Instant::now(),
            }),
            slots: (0..Q).map(|_| QueueSlot::default()).collect(),
            acked_features: 0,
            protocol_features: VhostUserProtocolFeatures::empty(),
            pool_size: 0,
            queues: Q,
        }
    }

    /// Offers `n` request queues (`--request-queues`), at most `Q - 1` and
    /// at least 1: `VHOST_USER_GET_QUEUE_NUM` answers `n + 1` (hiprio
    /// included), and a frontend that sets up a queue past them is refused.
    pub fn set_request_queues(&mut self, n: usize) {
        self.queues = n.clamp(1, Q.saturating_sub(1).max(1)) + 1;
    }

    /// Queues offered, hiprio included.
    pub fn queues(&self) -> usize {
        self.queues
    }

    /// Serves each queue with `n` workers completing requests out of order
    /// (`--thread-pool-size`); 0 (the default) serves each queue in order on
    /// the thread its kicks wake, a SETLKW on a thread of its own. Applies
    /// to queues started afterwards.
    pub fn set_thread_pool_size(&mut self, n: usize) {
        self.pool_size = n;
    }

    /// Requests popped from queue `index` and not yet completed (by its
    /// pool, or by pools retired on a new memory table).
    pub fn inflight(&self, index: u16) -> usize {
        self.slots.get(usize::from(index)).map_or(0, |s| {
            s.pool.iter().chain(&s.retired).map(|p| p.inflight()).sum()
        })
    }

    /// The dispatcher (for its negotiated state).
    pub fn dispatcher(&self) -> &FuseDispatcher<F> {
        &self.shared.dispatcher
    }

    /// The device (for its counters).
    pub fn device(&self) -> &VirtioFsDevice<Q> {
        &self.shared.device
    }

    /// Stops every queue worker (the frontend went away, or reset us).
    pub fn stop_all(&mut self) {
        for s in &mut self.slots {
            s.stop_worker();
        }
    }

    /// A summary of what was served, callable from any thread for as long
    /// as it lives (after the backend is gone too): the dispatcher's
    /// [`Stats`](arcbox_fs::stats::Stats) (per-opcode counts, errors,
    /// latency with a clock) and [`queue_counts`](Self::queue_counts).
    /// What the daemon logs on SIGUSR1 and at exit.
    pub fn summary_fn(&self) -> impl Fn() -> String + Send + Sync + 'static
    where
        F: Send + Sync + 'static,
    {
        let shared = self.shared.clone();
        let queues = self.queues;
        move || {
            let counts = (0..queues)
                .filter_map(|i| u16::try_from(i).ok())
                .map(|i| format!("q{i}={}", shared.device.requests(i)))
                .collect::<Vec<_>>()
                .join(" ");
            format!(
                "{}\nrequests per queue: {counts}",
                shared.dispatcher.stats()
            )
        }
    }

    /// Requests served per offered queue (hiprio first), as
    /// `"q0=N q1=N ..."`: what the daemon logs when the frontend leaves.
    pub fn queue_counts(&self) -> String {
        (0..self.queues)
            .filter_map(|i| u16::try_from(i).ok())
            .map(|i| format!("q{i}={}", self.shared.device.requests(i)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn slot(&mut self, index: u32) -> Result<&mut QueueSlot> {
        let i = self.queue_index(index)?;
        self.slots
            .get_mut(usize::from(i))
            .ok_or(Error::InvalidParam)
    }

    /// `index` as a queue offered to the frontend.
    fn queue_index(&self, index: u32) -> Result<u16> {
        match u16::try_from(index) {
            Ok(i) if usize::from(i) < self.queues => Ok(i),
            _ => {
                log::error!(
                    "the frontend set up queue {index}, but only {} request queue(s) are \
                     offered (--request-queues); QEMU's num-request-queues must not exceed it",
                    self.queues - 1
                );
                Err(Error::InvalidParam)
            }
        }
    }

    fn with_queue<R>(
        &self,
        index: u32,
        f: impl FnOnce(&mut arcbox_fs_virtio::SplitQueue) -> R,
    ) -> Result<R> {
        let i = self.queue_index(index)?;
        self.shared
            .device
            .with_queue(i, f)
            .ok_or(Error::InvalidParam)
    }

    /// Starts the worker of queue `index` over its kick eventfd.
    fn start_worker(&mut self, index: u16) -> Result<()> {
        let shared = self.shared.clone();
        let slot = self.slot(u32::from(index))?;
        let Some(kick) = slot.kick.clone() else {
            return Ok(());
        };
        let call = slot.call.clone();
        let enabled = slot.enabled.clone();
        let stop = slot.stop.clone();
        let name = format!("vhost-fs-q{index}");
        // Size 0: a pool of no workers (the kick thread serves in order, a
        // SETLKW waits on a thread of its own); else N workers.
        let pool = if self.pool_size == 0 {
            WorkerPool::start_inline(
                shared.device.clone(),
                shared.memory(),
                shared.dispatcher.clone(),
                Arc::new(CallNotifier(call)),
                shared.epoch,
            )
        } else {
            let config = FsConfig {
                num_threads: self.pool_size,
                ..FsConfig::new("", "")
            };
            WorkerPool::start(
                &config,
                shared.device.clone(),
                shared.memory(),
                shared.dispatcher.clone(),
                Arc::new(CallNotifier(call)),
            )
            .map_err(|e| {
                log::error!("queue {index}: cannot start its workers: {e}");
                Error::BackendInternalError
            })?
        };
        let pool = Arc::new(pool);
        let p = pool.clone();
        self.slot(u32::from(index))?.pool = Some(pool);
        let worker = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                wait_kicks(index, &kick, &stop, || {
                    if enabled.load(Ordering::Acquire) {
                        p.notify(index);
                    }
                })
            })
            .map_err(|_| Error::BackendInternalError)?;
        self.slot(u32::from(index))?.worker = Some(worker);
        Ok(())
    }

    /// The memory table changed: the queues restart on a new pool over the
    /// new table (a pool serves one table); requests still in flight on the
    /// old one (waiting locks) finish there, uncancelled.
    fn restart_pools(&mut self) -> Result<()> {
        for i in 0..Q {
            let slot = &mut self.slots[i];
            if slot.pool.is_some() {
                slot.retire_worker();
                self.start_worker(u16::try_from(i).map_err(|_| Error::InvalidParam)?)?;
            }
        }
        Ok(())
    }
}

/// A kick thread's loop: `on_kick` once at start and after every kick,
/// until `stop` is set.
fn wait_kicks(index: u16, kick: &File, stop: &AtomicBool, on_kick: impl Fn()) {
    let mut buf = [0u8; 8];
    loop {
        if stop.load(Ordering::Acquire) {
            return;
        }
        on_kick();
        // Frontends create eventfds non-blocking: wait until readable.
        if let Err(e) = wait_readable(kick) {
            log::error!("queue {index}: waiting on the kick eventfd failed: {e}");
            return;
        }
        match (&*kick).read(&mut buf) {
            Ok(8) => {}
            Ok(_) => return,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
                ) => {}
            Err(e) => {
                log::error!("queue {index}: kick eventfd failed: {e}");
                return;
            }
        }
    }
}

/// Blocks until `fd` is readable.
fn wait_readable(fd: &File) -> std::io::Result<()> {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: `p` is one valid pollfd for the duration of the call.
        let r = unsafe { libc::poll(&mut p, 1, -1) };
        if r >= 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

impl<F, const Q: usize> Drop for VhostUserFsBackend<F, Q> {
    fn drop(&mut self) {
        for s in &mut self.slots {
            s.stop_worker();
        }
    }
}

/// Maps one region the frontend described.
fn map_region(r: &VhostUserMemoryRegion, fd: &File) -> Result<Arc<MappedRegion>> {
    let spec = RegionSpec {
        guest_phys_addr: r.guest_phys_addr,
        size: r.memory_size,
        user_addr: r.user_addr,
        mmap_offset: r.mmap_offset,
    };
    MappedRegion::map(spec, fd).map(Arc::new).map_err(|e| {
        log::error!("cannot map guest memory region {spec:x?}: {e}");
        Error::InvalidParam
    })
}

fn unsupported<T>(what: &'static str) -> Result<T> {
    Err(Error::InvalidOperation(what))
}

impl<F: FileSystem + Send + 'static, const Q: usize> VhostUserBackendReqHandlerMut
    for VhostUserFsBackend<F, Q>
{
    fn set_owner(&mut self) -> Result<()> {
        Ok(())
    }

    fn reset_owner(&mut self) -> Result<()> {
        self.reset_device()
    }

    fn reset_device(&mut self) -> Result<()> {
        self.stop_all();
        self.shared.device.reset();
        self.acked_features = 0;
        Ok(())
    }

    fn get_features(&mut self) -> Result<u64> {
        Ok(self.shared.device.device_features() | VHOST_USER_F_PROTOCOL_FEATURES)
    }

    fn set_features(&mut self, features: u64) -> Result<()> {
        let offered = self.get_features()?;
        if features & !offered != 0 {
            return Err(Error::InvalidParam);
        }
        self.acked_features = features;
        self.shared
            .device
            .set_driver_features(features & !VHOST_USER_F_PROTOCOL_FEATURES);
        let event_idx = features & VIRTIO_F_EVENT_IDX != 0;
        let indirect = features & VIRTIO_F_INDIRECT_DESC != 0;
        for i in 0..self.queues {
            let i = u32::try_from(i).map_err(|_| Error::InvalidParam)?;
            self.with_queue(i, |q| q.set_features(event_idx, indirect))?;
        }
        // Without protocol features, rings are enabled as soon as they start.
        if features & VHOST_USER_F_PROTOCOL_FEATURES == 0 {
            for s in &self.slots {
                s.enabled.store(true, Ordering::Release);
            }
        }
        Ok(())
    }

    fn set_mem_table(
        &mut self,
        ctx: &[VhostUserMemoryRegion],
        files: Vec<File>,
        _postcopy_listening: Option<bool>,
    ) -> Result<Option<Vec<VhostUserMemoryRegionBase>>> {
        if ctx.len() != files.len() {
            return Err(Error::InvalidParam);
        }
        let mut mapped = Vec::with_capacity(ctx.len());
        for (r, f) in ctx.iter().zip(&files) {
            mapped.push(map_region(r, f)?);
        }
        self.shared
            .set_memory(MemoryMap::new(mapped).map_err(|_| Error::InvalidParam)?);
        self.restart_pools()?;
        Ok(None)
    }

    fn set_vring_num(&mut self, index: u32, num: u32) -> Result<()> {
        let num = u16::try_from(num).map_err(|_| Error::InvalidParam)?;
        self.with_queue(index, |q| q.set_size(num))
    }

    fn set_vring_addr(
        &mut self,
        index: u32,
        _flags: VhostUserVringAddrFlags,
        descriptor: u64,
        used: u64,
        available: u64,
        _log: u64,
    ) -> Result<()> {
        let mem = self.shared.memory();
        let gpa = |a: u64| mem.user_to_guest(a).ok_or(Error::InvalidParam);
        let (d, a, u) = (gpa(descriptor)?, gpa(available)?, gpa(used)?);
        self.with_queue(index, |q| q.set_addresses(d, a, u))
    }

    fn set_vring_base(&mut self, index: u32, base: u32) -> Result<()> {
        let base = u16::try_from(base).map_err(|_| Error::InvalidParam)?;
        self.with_queue(index, |q| q.set_next_indexes(base, base))
    }

    fn get_vring_base(&mut self, index: u32) -> Result<VhostUserVringState> {
        // Stops the ring (vhost-user spec): no more processing until restarted.
        let slot = self.slot(index)?;
        slot.stop_worker();
        slot.kick = None;
        let next = self.with_queue(index, |q| {
            let (next_avail, _) = q.next_indexes();
            let _ = q.set_ready(false);
            next_avail
        })?;
        Ok(VhostUserVringState::new(index, u32::from(next)))
    }

    fn set_vring_kick(&mut self, index: u8, fd: Option<File>) -> Result<()> {
        let qi = self.queue_index(u32::from(index))?;
        self.slot(u32::from(index))?.stop_worker();
        let Some(fd) = fd else {
            // Polling mode (no kick fd) is not offered.
            return Err(Error::InvalidParam);
        };
        let (next_avail, next_used) = self.with_queue(u32::from(index), |q| q.next_indexes())?;
        self.with_queue(u32::from(index), |q| {
            q.set_ready(true)?;
            q.set_next_indexes(next_avail, next_used);
            Ok::<(), arcbox_fs_virtio::ConfigError>(())
        })?
        .map_err(|e| {
            log::error!("queue {index}: bad ring configuration: {e:?}");
            Error::InvalidParam
        })?;
        self.slot(u32::from(index))?.kick = Some(Arc::new(fd));
        self.start_worker(qi)
    }

    fn set_vring_call(&mut self, index: u8, fd: Option<File>) -> Result<()> {
        let slot = self.slot(u32::from(index))?;
        let mut call = match slot.call.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *call = fd;
        Ok(())
    }

    fn set_vring_err(&mut self, index: u8, _fd: Option<File>) -> Result<()> {
        // Errors are reported by DEVICE_NEEDS_RESET, not the err eventfd.
        self.queue_index(u32::from(index)).map(|_| ())
    }

    fn get_protocol_features(&mut self) -> Result<VhostUserProtocolFeatures> {
        Ok(VhostUserProtocolFeatures::MQ
            | VhostUserProtocolFeatures::REPLY_ACK
            | VhostUserProtocolFeatures::CONFIGURE_MEM_SLOTS)
    }

    fn set_protocol_features(&mut self, features: u64) -> Result<()> {
        let f = VhostUserProtocolFeatures::from_bits(features).ok_or(Error::InvalidParam)?;
        self.protocol_features = f & self.get_protocol_features()?;
        Ok(())
    }

    fn get_queue_num(&mut self) -> Result<u64> {
        Ok(self.queues as u64)
    }

    fn set_vring_enable(&mut self, index: u32, enable: bool) -> Result<()> {
        let slot = self.slot(index)?;
        slot.enabled.store(enable, Ordering::Release);
        if enable && let Some(k) = &slot.kick {
            // Serve what the driver queued while the ring was disabled.
            let _ = (&**k).write(&1u64.to_ne_bytes());
        }
        Ok(())
    }

    fn get_config(
        &mut self,
        offset: u32,
        size: u32,
        _flags: VhostUserConfigFlags,
    ) -> Result<Vec<u8>> {
        let len = self.shared.device.config_len();
        let off = usize::try_from(offset).map_err(|_| Error::InvalidParam)?;
        let size = usize::try_from(size).map_err(|_| Error::InvalidParam)?;
        if off.checked_add(size).is_none_or(|end| end > len) {
            return Err(Error::InvalidParam);
        }
        let mut buf = vec![0u8; size];
        self.shared.device.read_config(off, &mut buf);
        Ok(buf)
    }

    fn set_config(
        &mut self,
        _offset: u32,
        _buf: &[u8],
        _flags: VhostUserConfigFlags,
    ) -> Result<()> {
        // The virtio-fs config space is read-only (virtio 1.2 §5.11.4).
        Err(Error::InvalidOperation(
            "virtio-fs config space is read-only",
        ))
    }

    fn set_backend_req_fd(&mut self, _backend: Backend) {}

    fn set_gpu_socket(&mut self, _gpu_backend: GpuBackend) -> Result<()> {
        unsupported("not a gpu device")
    }

    fn get_shared_object(&mut self, _uuid: VhostUserSharedMsg) -> Result<File> {
        unsupported("shared objects not offered")
    }

    fn get_inflight_fd(
        &mut self,
        _inflight: &VhostUserInflight,
    ) -> Result<(VhostUserInflight, File)> {
        unsupported("inflight tracking not offered")
    }

    fn set_inflight_fd(&mut self, _inflight: &VhostUserInflight, _file: File) -> Result<()> {
        unsupported("inflight tracking not offered")
    }

    fn get_max_mem_slots(&mut self) -> Result<u64> {
        Ok(MAX_MEM_SLOTS)
    }

    fn add_mem_region(
        &mut self,
        region: &VhostUserSingleMemoryRegion,
        fd: File,
        _postcopy_listening: Option<bool>,
    ) -> Result<Option<VhostUserMemoryRegionBase>> {
        let added = map_region(region, &fd)?;
        let mut mapped = self.shared.memory().mapped().to_vec();
        mapped.push(added);
        self.shared
            .set_memory(MemoryMap::new(mapped).map_err(|_| Error::InvalidParam)?);
        self.restart_pools()?;
        Ok(None)
    }

    fn remove_mem_region(&mut self, region: &VhostUserSingleMemoryRegion) -> Result<()> {
        let mut mapped = self.shared.memory().mapped().to_vec();
        let before = mapped.len();
        mapped.retain(|m| {
            !(m.spec().guest_phys_addr == region.guest_phys_addr
                && m.spec().size == region.memory_size)
        });
        if mapped.len() == before {
            return Err(Error::InvalidParam);
        }
        self.shared
            .set_memory(MemoryMap::new(mapped).map_err(|_| Error::InvalidParam)?);
        self.restart_pools()?;
        Ok(())
    }

    fn set_device_state_fd(
        &mut self,
        _direction: VhostTransferStateDirection,
        _phase: VhostTransferStatePhase,
        _fd: File,
    ) -> Result<Option<File>> {
        unsupported("device state transfer not offered")
    }

    fn check_device_state(&mut self) -> Result<()> {
        unsupported("device state transfer not offered")
    }

    fn get_shmem_config(&mut self) -> Result<VhostUserShMemConfig> {
        unsupported("no shared memory regions (DAX) offered")
    }

    fn set_log_base(&mut self, _log: &VhostUserLog, _file: File) -> Result<()> {
        unsupported("dirty logging not offered")
    }
}
