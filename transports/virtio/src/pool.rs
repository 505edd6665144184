//! A worker pool serving a [`VirtioFsDevice`]'s queues on threads (`std`).
//!
//! The VMM calls [`WorkerPool::notify`] for "queue N notified". A worker pops
//! one chain, hands the queue on to the next idle worker (so one busy queue
//! is served by every worker at once), serves the chain and completes it:
//! requests complete out of order. Interrupts go to a [`Notifier`].
//!
//! A SETLKW may wait for a lock indefinitely: it is served on a thread of
//! its own (at most [`MAX_LOCK_THREADS`] at once; past that, on the worker,
//! where the filesystem refuses more waits than it can hold), so waiting
//! locks never stop the queue. [`WorkerPool::wait_idle`] (a device reset)
//! cancels them through [`FileSystem::cancel_blocked`]; an INTERRUPT from
//! the guest cancels one.

use crate::completion::Inflight;
use crate::fs::{NeedsInterrupt, VirtioFsDevice};
use crate::mem::GuestMemory;
use crate::queue::QueueError;
use arcbox_fs::passthrough::FsConfig;
use arcbox_fs::{FileSystem, FuseDispatcher, Instant};
use std::boxed::Box;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Most SETLKW requests served on threads of their own at once.
pub const MAX_LOCK_THREADS: usize = 64;

/// The FUSE opcode of SETLKW.
const SETLKW: u32 = arcbox_fs::abi::Opcode::SETLKW as u32;

enum Job {
    Serve(u16),
    Stop,
}

/// Worker threads serving one device. Dropping the pool stops and joins them.
pub struct WorkerPool {
    tx: Sender<Job>,
    threads: Vec<JoinHandle<()>>,
    inflight: Arc<Inflight>,
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
        let (tx, rx) = channel();
        let rx = Arc::new(Mutex::new(rx));
        let inflight = Arc::new(Inflight::new());
        let lock_threads = Arc::new(AtomicUsize::new(0));
        let epoch = std::time::Instant::now();
        let d = dispatcher.clone();
        let cancel: Box<dyn Fn() + Send + Sync> = Box::new(move || d.fs().cancel_blocked());
        let mut threads = Vec::new();
        for i in 0..config.num_threads.max(1) {
            let w = Worker {
                device: device.clone(),
                mem: mem.clone(),
                dispatcher: dispatcher.clone(),
                notifier: notifier.clone(),
                inflight: inflight.clone(),
                rx: rx.clone(),
                tx: tx.clone(),
                lock_threads: lock_threads.clone(),
                epoch,
            };
            let t = std::thread::Builder::new()
                .name(std::format!("virtiofs-{i}"))
                .spawn(move || w.run());
            match t {
                Ok(t) => threads.push(t),
                Err(e) => {
                    let pool = WorkerPool {
                        tx,
                        threads,
                        inflight,
                        cancel,
                    };
                    drop(pool);
                    return Err(e);
                }
            }
        }
        Ok(WorkerPool {
            tx,
            threads,
            inflight,
            cancel,
        })
    }

    /// The driver notified `queue`.
    pub fn notify(&self, queue: u16) {
        let _ = self.tx.send(Job::Serve(queue));
    }

    /// Requests popped and not yet completed.
    pub fn inflight(&self) -> usize {
        self.inflight.count()
    }

    /// Waits until no request is in flight (before a device reset
    /// completes), cancelling requests blocked on a lock meanwhile
    /// ([`FileSystem::cancel_blocked`]): they complete with `EINTR`.
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
    rx: Arc<Mutex<Receiver<Job>>>,
    tx: Sender<Job>,
    lock_threads: Arc<AtomicUsize>,
    epoch: std::time::Instant,
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
        let mem = &*self.mem;
        self.inflight.begin();
        match self.device.pop(q, mem) {
            Ok(Some((head, table))) => {
                // Let another worker take the next chain of this queue meanwhile.
                let _ = self.tx.send(Job::Serve(q));
                if crate::fs::peek_opcode(mem, table, head) == Some(SETLKW)
                    && self.serve_on_own_thread(q, table, head)
                {
                    // `inflight` ends on that thread.
                    return;
                }
                self.serve_one(q, table, head);
            }
            Ok(None) => {
                // avail_event is published; an entry that raced it is served now.
                if self.device.has_available(q, mem) {
                    let _ = self.tx.send(Job::Serve(q));
                }
            }
            Err(QueueError::NotReady) => {}
            Err(_) => self.notifier.notify(
                q,
                NeedsInterrupt {
                    used_buffer: false,
                    config_change: true,
                },
            ),
        }
        self.inflight.end();
    }

    fn serve_one(&self, q: u16, table: crate::chain::DescTable, head: u16) {
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
        let taken = self
            .lock_threads
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_LOCK_THREADS).then_some(n + 1)
            });
        if taken.is_err() {
            return false;
        }
        let w = Worker {
            device: self.device.clone(),
            mem: self.mem.clone(),
            dispatcher: self.dispatcher.clone(),
            notifier: self.notifier.clone(),
            inflight: self.inflight.clone(),
            rx: self.rx.clone(),
            tx: self.tx.clone(),
            lock_threads: self.lock_threads.clone(),
            epoch: self.epoch,
        };
        let spawned = std::thread::Builder::new()
            .name(std::string::String::from("virtiofs-lockw"))
            .spawn(move || {
                w.serve_one(q, table, head);
                w.lock_threads.fetch_sub(1, Ordering::AcqRel);
                w.inflight.end();
            });
        if spawned.is_err() {
            self.lock_threads.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }
}
