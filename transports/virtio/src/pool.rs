//! A worker pool serving a [`VirtioFsDevice`]'s queues on threads (`std`):
//! how a VMM serves virtio-fs off its vCPU threads.
//!
//! - **Notify**: the VMM's MMIO exit handler calls [`WorkerPool::notify`] for
//!   "queue N notified" (`MmioAction::Notify(n)`) and returns to the guest at
//!   once. A worker pops one chain, hands the queue on to the next idle
//!   worker (so one busy queue is served by every worker at once), serves the
//!   chain and completes it: requests complete out of order.
//! - **Inline fast path** ([`WorkerPool::set_inline_when_idle`], off by
//!   default): when nothing is in flight, `notify` serves the first chain on
//!   the calling (vCPU) thread instead of waking a worker, and hands the
//!   queue to the workers only if more chains are waiting. It trades a thread
//!   wake-up for the vCPU running the request: good for a mostly idle device
//!   with short requests (LOOKUP, GETATTR); leave it off where a request can
//!   block for long (lock waits, large I/O on slow storage).
//! - **No workers** ([`WorkerPool::start_inline`]): every notification is
//!   served in order on the notifying thread (one interrupt per batch), as
//!   [`VirtioFsDevice::process_queue`] does, except that a SETLKW still goes
//!   to a thread of its own: a waiting lock never stalls the queue, and
//!   [`WorkerPool::shutdown`] / [`WorkerPool::reset`] cancel and drain it as
//!   with workers (vhost-user's `--thread-pool-size 0`).
//! - **hiprio queue**: queue 0 is served like the request queues, so FORGET,
//!   BATCH_FORGET and INTERRUPT are never left in the ring (the field's
//!   "FORGETs never processed" bug).
//! - **Interrupts** go to a [`Notifier`] only when the queue says the driver
//!   wants one: with `VIRTIO_F_EVENT_IDX` negotiated, only when the used index
//!   crosses the driver's `used_event` (virtio 1.2 §2.7.10), else unless the
//!   driver set `VIRTQ_AVAIL_F_NO_INTERRUPT`. A batch of completions the
//!   driver asked to hear about once raises one interrupt.
//! - **Reset** ([`WorkerPool::reset`]): stops popping, waits until no request
//!   is in flight (no worker writes guest memory after a reset, §2.4), then
//!   runs the register write that resets the device.
//! - **Waiting locks**: a SETLKW may wait for a lock indefinitely. It is
//!   served on a thread of its own (at most [`MAX_LOCK_THREADS`] at once;
//!   past that on the worker, where the filesystem refuses more waits than it
//!   can hold), so waiting locks never stop the queue. [`WorkerPool::reset`]
//!   and [`WorkerPool::wait_idle`] cancel them through
//!   [`FileSystem::cancel_blocked`] (they complete with `EINTR`); an
//!   INTERRUPT from the guest cancels one.

use crate::completion::Inflight;
use crate::fs::{NeedsInterrupt, VirtioFsDevice};
use crate::mem::GuestMemory;
use crate::queue::QueueError;
use arcbox_fs::passthrough::FsConfig;
use arcbox_fs::{FileSystem, FuseDispatcher, Instant};
use std::boxed::Box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::vec::Vec;

/// Where the pool signals interrupts (e.g. `VirtioMmio::raise_used_buffer`
/// plus the VMM's IRQ line, or a vhost-user call eventfd).
pub trait Notifier: Send + Sync + 'static {
    /// Completions on `queue` need the interrupts in `irq`.
    fn notify(&self, queue: u16, irq: NeedsInterrupt);
}

enum Job {
    Serve(u16),
    Stop,
}

/// Switches shared by the pool and its workers.
#[derive(Debug, Default)]
struct Control {
    /// No chain is popped while set (a reset is waiting for in-flight requests).
    paused: AtomicBool,
    /// Serve on the notifying thread when idle.
    inline_when_idle: AtomicBool,
    /// A notifying thread is serving inline (one at a time).
    inline_busy: AtomicBool,
    /// SETLKW requests served on threads of their own now.
    lock_threads: AtomicUsize,
    /// No workers: `notify` serves every available chain inline.
    no_workers: bool,
}

/// Most SETLKW requests served on threads of their own at once.
pub const MAX_LOCK_THREADS: usize = 64;

/// The FUSE opcode of SETLKW.
const SETLKW: u32 = arcbox_fs::abi::Opcode::SETLKW as u32;

/// Worker threads serving one device. Dropping the pool stops and joins them.
pub struct WorkerPool {
    tx: Sender<Job>,
    threads: Vec<JoinHandle<()>>,
    inflight: Arc<Inflight>,
    ctl: Arc<Control>,
    /// Serves one chain of a queue on the calling thread (the inline path).
    inline: Box<dyn Fn(u16) + Send + Sync>,
    /// Cancels requests waiting for a lock ([`FileSystem::cancel_blocked`]).
    cancel: Box<dyn Fn() + Send + Sync>,
}

impl core::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WorkerPool")
            .field("threads", &self.threads.len())
            .field("inflight", &self.inflight.count())
            .finish()
    }
}

impl WorkerPool {
    /// Starts `config.num_threads` workers (at least one) serving `device`
    /// over `mem` through `dispatcher`.
    ///
    /// Errors: a thread could not be spawned.
    pub fn start<const Q: usize, M, F, N>(
        config: &FsConfig,
        device: Arc<VirtioFsDevice<Q>>,
        mem: Arc<M>,
        dispatcher: Arc<FuseDispatcher<F>>,
        notifier: Arc<N>,
    ) -> std::io::Result<WorkerPool>
    where
        M: GuestMemory + Send + 'static,
        F: FileSystem + Send + 'static,
        N: Notifier,
    {
        let (pool, worker) = Self::build(
            device,
            mem,
            dispatcher,
            notifier,
            std::time::Instant::now(),
            false,
        );
        pool.spawn_workers(config.num_threads.max(1), &worker)
    }

    /// A pool of no workers: [`notify`](Self::notify) serves every chain
    /// the queue has, in order, on the calling thread and signals once per
    /// batch; a SETLKW is handed to a thread of its own (as with workers), so
    /// a waiting lock never blocks the requests behind it, an INTERRUPT
    /// cancels it, and [`shutdown`](Self::shutdown) / [`reset`](Self::reset)
    /// cancel and drain it. Request times count from `epoch` (the `now`
    /// given to the dispatcher). Starts no thread.
    pub fn start_inline<const Q: usize, M, F, N>(
        device: Arc<VirtioFsDevice<Q>>,
        mem: Arc<M>,
        dispatcher: Arc<FuseDispatcher<F>>,
        notifier: Arc<N>,
        epoch: std::time::Instant,
    ) -> WorkerPool
    where
        M: GuestMemory + Send + 'static,
        F: FileSystem + Send + 'static,
        N: Notifier,
    {
        Self::build(device, mem, dispatcher, notifier, epoch, true).0
    }

    /// The pool without its worker threads, and the worker they would run.
    fn build<const Q: usize, M, F, N>(
        device: Arc<VirtioFsDevice<Q>>,
        mem: Arc<M>,
        dispatcher: Arc<FuseDispatcher<F>>,
        notifier: Arc<N>,
        epoch: std::time::Instant,
        no_workers: bool,
    ) -> (WorkerPool, Worker<Q, M, F, N>)
    where
        M: GuestMemory + Send + 'static,
        F: FileSystem + Send + 'static,
        N: Notifier,
    {
        let (tx, rx) = channel();
        let rx = Arc::new(Mutex::new(rx));
        let inflight = Arc::new(Inflight::new());
        let ctl = Arc::new(Control {
            no_workers,
            ..Control::default()
        });
        let d = dispatcher.clone();
        let cancel: Box<dyn Fn() + Send + Sync> = Box::new(move || d.fs().cancel_blocked());
        let worker = Worker {
            device,
            mem,
            dispatcher,
            notifier,
            inflight: inflight.clone(),
            ctl: ctl.clone(),
            rx,
            tx: tx.clone(),
            epoch,
        };
        let w = worker.clone();
        let inline: Box<dyn Fn(u16) + Send + Sync> = if no_workers {
            Box::new(move |q| w.serve_all(q))
        } else {
            Box::new(move |q| w.serve_inline(q))
        };
        let pool = WorkerPool {
            tx,
            threads: Vec::new(),
            inflight,
            ctl,
            inline,
            cancel,
        };
        (pool, worker)
    }

    /// Starts `n` workers running `worker`.
    fn spawn_workers<const Q: usize, M, F, N>(
        mut self,
        n: usize,
        worker: &Worker<Q, M, F, N>,
    ) -> std::io::Result<WorkerPool>
    where
        M: GuestMemory + Send + 'static,
        F: FileSystem + Send + 'static,
        N: Notifier,
    {
        for i in 0..n {
            let w = worker.clone();
            let t = std::thread::Builder::new()
                .name(std::format!("virtiofs-{i}"))
                .spawn(move || w.run());
            match t {
                Ok(t) => self.threads.push(t),
                // Dropping the pool stops the workers already started.
                Err(e) => return Err(e),
            }
        }
        Ok(self)
    }

    /// The driver notified `queue`: a worker serves it, or this thread does
    /// when the inline fast path is on and nothing is in flight, or (a pool
    /// of [no workers](Self::start_inline)) this thread serves every chain
    /// waiting but SETLKW.
    pub fn notify(&self, queue: u16) {
        if self.ctl.no_workers {
            (self.inline)(queue);
            return;
        }
        if self.ctl.inline_when_idle.load(Ordering::Relaxed)
            && self.inflight.count() == 0
            && !self.ctl.inline_busy.swap(true, Ordering::Acquire)
        {
            (self.inline)(queue);
            self.ctl.inline_busy.store(false, Ordering::Release);
            return;
        }
        let _ = self.tx.send(Job::Serve(queue));
    }

    /// Turns the inline fast path on or off (see the module docs).
    pub fn set_inline_when_idle(&self, on: bool) {
        self.ctl.inline_when_idle.store(on, Ordering::Relaxed);
    }

    /// Resets the device cleanly: stops popping new chains, waits until no
    /// request is in flight (so no worker writes guest memory after the
    /// reset, virtio 1.2 §2.4), runs `reset` (the register write that resets
    /// the device, e.g. `|| mmio.write_reg(reg::STATUS, 0)`), then lets the
    /// workers pop again. Notifications that arrive meanwhile are dropped:
    /// the reset queues have nothing to serve until the driver sets them up.
    pub fn reset<R>(&self, reset: impl FnOnce() -> R) -> R {
        self.ctl.paused.store(true, Ordering::SeqCst);
        // Pairs with the fence in `Worker::serve`: either the worker's
        // `begin` is seen here, or the worker sees `paused`.
        fence(Ordering::SeqCst);
        self.wait_idle();
        let r = reset();
        self.ctl.paused.store(false, Ordering::SeqCst);
        r
    }

    /// Stops serving for good (a vhost-user `GET_VRING_BASE` or a queue
    /// reset): no chain is popped any more, even for notifications already
    /// queued, and this returns once every request in flight has completed
    /// (waiting locks are cancelled, as in [`wait_idle`](Self::wait_idle)).
    /// The workers stay parked until the pool is dropped.
    pub fn shutdown(&self) {
        self.ctl.paused.store(true, Ordering::SeqCst);
        // Pairs with the fence in `Worker::serve_one`, as in `reset`.
        fence(Ordering::SeqCst);
        self.wait_idle();
    }

    /// Stops popping for good, as [`shutdown`](Self::shutdown), but returns
    /// at once: requests in flight (a waiting lock) go on and complete.
    pub fn pause(&self) {
        self.ctl.paused.store(true, Ordering::SeqCst);
        // Pairs with the fence in `Worker::serve_one`, as in `reset`.
        fence(Ordering::SeqCst);
    }

    /// Requests popped and not yet completed.
    pub fn inflight(&self) -> usize {
        self.inflight.count()
    }

    /// Waits until no request is in flight, cancelling requests that wait
    /// for a lock meanwhile ([`FileSystem::cancel_blocked`]: they complete
    /// with `EINTR`). New chains may still be popped meanwhile: to reset the
    /// device, use [`reset`](Self::reset).
    pub fn wait_idle(&self) {
        while self.inflight.count() != 0 {
            (self.cancel)();
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        self.inflight.wait_idle();
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        for _ in &self.threads {
            let _ = self.tx.send(Job::Stop);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

struct Worker<const Q: usize, M, F, N> {
    device: Arc<VirtioFsDevice<Q>>,
    mem: Arc<M>,
    dispatcher: Arc<FuseDispatcher<F>>,
    notifier: Arc<N>,
    inflight: Arc<Inflight>,
    ctl: Arc<Control>,
    rx: Arc<Mutex<Receiver<Job>>>,
    tx: Sender<Job>,
    epoch: std::time::Instant,
}

impl<const Q: usize, M, F, N> Clone for Worker<Q, M, F, N> {
    fn clone(&self) -> Self {
        Worker {
            device: self.device.clone(),
            mem: self.mem.clone(),
            dispatcher: self.dispatcher.clone(),
            notifier: self.notifier.clone(),
            inflight: self.inflight.clone(),
            ctl: self.ctl.clone(),
            rx: self.rx.clone(),
            tx: self.tx.clone(),
            epoch: self.epoch,
        }
    }
}

impl<const Q: usize, M, F, N> Worker<Q, M, F, N>
where
    M: GuestMemory + Send + 'static,
    F: FileSystem + Send + 'static,
    N: Notifier,
{
    fn run(self) {
        loop {
            let job = match self.rx.lock() {
                Ok(rx) => rx.recv(),
                Err(_) => return,
            };
            match job {
                Ok(Job::Serve(q)) => self.serve(q),
                Ok(Job::Stop) | Err(_) => return,
            }
        }
    }

    fn serve(&self, q: u16) {
        self.serve_one(q, true, None);
    }

    /// The inline path: one chain here; the workers get the queue only if
    /// more chains are waiting.
    fn serve_inline(&self, q: u16) {
        if self.serve_one(q, false, None) && self.device.has_available(q, &*self.mem) {
            let _ = self.tx.send(Job::Serve(q));
        }
    }

    /// A pool without workers: every chain of `q` here, in order (SETLKW on
    /// its own thread), then one interrupt for the batch.
    fn serve_all(&self, q: u16) {
        let mut irq = NeedsInterrupt::default();
        while self.serve_one(q, false, Some(&mut irq)) {}
        if irq.any() {
            self.notifier.notify(q, irq);
        }
    }

    /// Pops and serves one chain of `q`; `hand_on`: let another worker take
    /// the next chain meanwhile; `batch`: collect the interrupt there
    /// instead of signalling it. Returns whether a chain was served (or,
    /// without workers, one raced the empty pop and is to be served next).
    fn serve_one(&self, q: u16, hand_on: bool, batch: Option<&mut NeedsInterrupt>) -> bool {
        let mem = &*self.mem;
        self.inflight.begin();
        // Pairs with the fence in `WorkerPool::reset`.
        fence(Ordering::SeqCst);
        if self.ctl.paused.load(Ordering::SeqCst) {
            self.inflight.end();
            return false;
        }
        let served = match self.device.pop(q, mem) {
            Ok(Some((head, table))) => {
                if hand_on {
                    let _ = self.tx.send(Job::Serve(q));
                }
                if crate::fs::peek_opcode(mem, table, head) == Some(SETLKW)
                    && self.serve_on_own_thread(q, table, head)
                {
                    // `inflight` ends on that thread.
                    return true;
                }
                let now = Instant::from_nanos(
                    u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX),
                );
                let len = self.device.serve(mem, table, head, &self.dispatcher, now);
                let irq = self.device.complete(q, mem, head, len);
                match batch {
                    Some(b) => *b |= irq,
                    None if irq.any() => self.notifier.notify(q, irq),
                    None => {}
                }
                true
            }
            Ok(None) => {
                // avail_event is published; an entry that raced it is served now
                // (by a worker, or by the caller's next round without workers).
                let raced = self.device.has_available(q, mem);
                if raced && !self.ctl.no_workers {
                    let _ = self.tx.send(Job::Serve(q));
                }
                raced && self.ctl.no_workers
            }
            Err(QueueError::NotReady) => false,
            Err(_) => {
                self.notifier.notify(
                    q,
                    NeedsInterrupt {
                        used_buffer: false,
                        config_change: true,
                    },
                );
                false
            }
        };
        self.inflight.end();
        served
    }

    /// Serves and completes the chain at `head` of `q` (already popped).
    fn serve_popped(&self, q: u16, table: crate::chain::DescTable, head: u16) {
        let mem = &*self.mem;
        let now =
            Instant::from_nanos(u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX));
        let len = self.device.serve(mem, table, head, &self.dispatcher, now);
        let irq = self.device.complete(q, mem, head, len);
        if irq.any() {
            self.notifier.notify(q, irq);
        }
    }

    /// Serves a SETLKW on a new thread, which completes it and ends its
    /// `inflight` count. False (serve it here) when [`MAX_LOCK_THREADS`]
    /// are busy or no thread can be started.
    fn serve_on_own_thread(&self, q: u16, table: crate::chain::DescTable, head: u16) -> bool {
        let lt = &self.ctl.lock_threads;
        if lt
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_LOCK_THREADS).then_some(n + 1)
            })
            .is_err()
        {
            return false;
        }
        let w = self.clone();
        let spawned = std::thread::Builder::new()
            .name(std::string::String::from("virtiofs-lockw"))
            .spawn(move || {
                w.serve_popped(q, table, head);
                w.ctl.lock_threads.fetch_sub(1, Ordering::AcqRel);
                w.inflight.end();
            });
        if spawned.is_err() {
            lt.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }
}
