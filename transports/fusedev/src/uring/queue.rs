//! One ring queue: its thread registers the entries, serves each request
//! that completes one, and commits the reply while fetching the next.

use super::abi::{self, OP_IN_OFF};
use super::buf::EntryBuf;
use super::{QueueSetup, QueueShared};
use crate::session::{Shared, inval_attrs, peek_u32, peek_u64};
use arcbox_fs::abi::Opcode;
use arcbox_fs::reply::{OUT_HEADER_LEN, reply_error};
use arcbox_fs::request::{IN_HEADER_LEN, prefix_len};
use arcbox_fs::{Errno, FileSystem, Outcome, SgList, SgListMut};
use io_uring::IoUring;
use io_uring::opcode::PollAdd;
use io_uring::squeue::Entry128;
use io_uring::types::Fd;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// `user_data` of the wake-up poll (entries use their index).
const WAKE: u64 = u64::MAX;

/// Per-thread copies: the request body of a request whose reply goes to the
/// payload, or the reply of one whose data stays in the payload.
#[derive(Default)]
pub(crate) struct Scratch {
    req: Vec<u8>,
    reply: Vec<u8>,
}

/// Pins the calling thread to `cpu` (best effort: a CPU outside the
/// process's affinity mask, or beyond what a `cpu_set_t` holds, is not
/// pinned, and then the thread runs anywhere).
fn pin_to_cpu(cpu: usize) {
    // CPU_SET indexes a fixed array of CPU_SETSIZE bits (and panics past it).
    if cpu >= libc::CPU_SETSIZE as usize {
        log::debug!("io_uring queue {cpu}: not pinned: beyond CPU_SETSIZE");
        return;
    }
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below CPU_SETSIZE (checked above), so the bit is
    // inside the set.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a live, initialised cpu_set_t of the size passed.
    let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if r != 0 {
        log::debug!(
            "io_uring queue {cpu}: not pinned: {}",
            io::Error::last_os_error()
        );
    }
}

/// Writes a `fuse_out_header` with `-errno` for `unique` into the header
/// buffer's `in_out`, and an empty payload.
fn error_reply(header: &mut [u8], unique: u64, e: Errno) {
    // Cannot fail: a ring header buffer is longer than an out-header.
    let _ = reply_error(&mut header[..OUT_HEADER_LEN], unique, e);
    abi::set_payload_sz(header, 0);
}

/// Serves the request in entry `buf` and leaves its reply there. Returns
/// the commit id (the request's `unique`) for COMMIT_AND_FETCH.
///
/// The caller owns the entry (see `buf`'s module docs). `slot` is the
/// caller's [`crate::interrupt::InFlight`] slot.
pub(crate) fn serve_entry<F: FileSystem + Send + 'static>(
    sh: &Shared<F>,
    buf: &EntryBuf,
    scratch: &mut Scratch,
    slot: usize,
) -> u64 {
    // SAFETY: the caller owns the entry (this function's contract).
    let (header, payload) = unsafe { buf.parts() };
    let commit = abi::commit_id(header).unwrap_or(0);
    let mut head = [0u8; IN_HEADER_LEN];
    head.copy_from_slice(&header[..IN_HEADER_LEN]);
    let in_len = peek_u32(&head, 0).unwrap_or(0);
    let opcode = peek_u32(&head, 4).and_then(Opcode::from_u32);
    let unique = peek_u64(&head, 8).unwrap_or(0);
    sh.stats.ring_requests.fetch_add(1, Ordering::Relaxed);
    // The header's len counts the header, op_in's argument and the payload.
    let psz = abi::payload_sz(header).map_or(usize::MAX, |n| n as usize);
    let op_len = if psz <= payload.len() {
        abi::op_in_len(in_len, IN_HEADER_LEN, psz)
    } else {
        None
    };
    let Some(op_len) = op_len else {
        sh.stats.dropped.fetch_add(1, Ordering::Relaxed);
        log::warn!(
            "io_uring request {commit}: lengths do not add up (len {in_len}, payload {psz})"
        );
        error_reply(header, commit, Errno::EIO);
        return commit;
    };
    // `op_in_len` keeps `op_len` within `abi::OP_IN_LEN`.
    let op_in = &header[OP_IN_OFF..OP_IN_OFF + op_len];
    let body_len = op_len + psz;
    // Requests whose data the dispatcher leaves in place (WRITE payload,
    // SETXATTR value, ...) are read from the ring payload while the reply
    // is built aside; the others are copied (fixed args and names: small)
    // so that the reply (READ data) is built in the payload.
    let in_place = opcode.is_some_and(|op| prefix_len(op, body_len) < body_len);
    let now = sh.now();
    let mut out = [0u8; OUT_HEADER_LEN];
    sh.inflight.begin(slot, unique);
    let outcome = if in_place {
        if scratch.reply.len() < payload.len() {
            scratch.reply.resize(payload.len(), 0);
        }
        let segs: [&[u8]; 3] = [&head, op_in, &payload[..psz]];
        let src = SgList::new(&segs);
        let mut rs: [&mut [u8]; 2] = [&mut out, &mut scratch.reply[..payload.len()]];
        let o = sh
            .dispatcher
            .handle(now, &src, &mut SgListMut::new(&mut rs));
        if let Outcome::Reply(n) = o {
            let b = n.saturating_sub(OUT_HEADER_LEN).min(payload.len());
            payload[..b].copy_from_slice(&scratch.reply[..b]);
        }
        o
    } else {
        scratch.req.clear();
        scratch.req.extend_from_slice(op_in);
        scratch.req.extend_from_slice(&payload[..psz]);
        let segs: [&[u8]; 2] = [&head, &scratch.req];
        let src = SgList::new(&segs);
        let mut rs: [&mut [u8]; 2] = [&mut out, &mut *payload];
        sh.dispatcher
            .handle(now, &src, &mut SgListMut::new(&mut rs))
    };
    sh.inflight.end(slot);
    if let Some(hook) = &sh.stale_attrs {
        hook(sh.dispatcher.fs(), &mut |node| inval_attrs(&sh.dev, node));
    }
    match outcome {
        Outcome::Reply(n) => {
            header[..OUT_HEADER_LEN].copy_from_slice(&out);
            let body = n.saturating_sub(OUT_HEADER_LEN).min(payload.len());
            abi::set_payload_sz(header, u32::try_from(body).unwrap_or(0));
        }
        // Every ring request must be committed to get its entry back; one
        // without a reply (none is sent this way today) ends with an error.
        Outcome::NoReply => error_reply(header, commit, Errno::EIO),
        Outcome::Dropped(e) => {
            sh.stats.dropped.fetch_add(1, Ordering::Relaxed);
            log::warn!("dropped io_uring request {commit} ({opcode:?}): {e}");
            error_reply(header, commit, e);
        }
    }
    commit
}

/// Whether requests with this opcode may block for long (a lock wait) and
/// are served on a side thread.
fn may_block(header: &[u8]) -> bool {
    peek_u32(header, 4).and_then(Opcode::from_u32) == Some(Opcode::SETLKW)
}

/// Pushes `e`, submitting first if the submission queue is full.
fn push(ring: &mut IoUring<Entry128>, e: &Entry128) -> io::Result<()> {
    loop {
        // SAFETY: every buffer an entry points at (iovecs, header and
        // payload buffers) lives in the queue's `QueueShared`, which the
        // queue thread keeps alive for as long as the ring (`serve_queue`
        // drops the ring first).
        if unsafe { ring.submission().push(e) }.is_ok() {
            return Ok(());
        }
        match ring.submit() {
            Ok(_) => {}
            // Interrupted, or completions to reap first: try again.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EBUSY)) => {}
            Err(e) => return Err(e),
        }
    }
}

fn wake_poll(fd: i32) -> Entry128 {
    Entry128::from(
        PollAdd::new(Fd(fd), libc::POLLIN as u32)
            .build()
            .user_data(WAKE),
    )
}

/// Tells the kernel not to use io_uring for this connection: a REGISTER
/// with a queue id no kernel has fails, and a failed REGISTER makes the
/// kernel fall back to `/dev/fuse` and wake the requests that waited for
/// the rings (fs/fuse/dev_uring.c `fuse_uring_cmd`).
pub(crate) fn poison(ring: &mut IoUring<Entry128>, fuse_fd: i32, any: &EntryBuf) {
    let e = abi::register(fuse_fd, u16::MAX, any.iov(), WAKE - 1);
    if push(ring, &e).is_ok() {
        let _ = ring.submit_and_wait(1);
    }
}

/// The queue thread: registers the entries of queue `qid`, then serves
/// until the connection ends. `slot` is its interrupt slot, `side_base` the
/// first of the slots of its side threads (one per entry).
pub(crate) fn run<F: FileSystem + Send + Sync + 'static>(
    sh: Arc<Shared<F>>,
    q: QueueSetup,
    qid: u16,
    slot: usize,
    side_base: usize,
) -> io::Result<()> {
    pin_to_cpu(usize::from(qid));
    sh.inflight.register(slot);
    let r = serve_queue(&sh, q, qid, slot, side_base);
    sh.inflight.unregister(slot);
    r
}

fn serve_queue<F: FileSystem + Send + Sync + 'static>(
    sh: &Arc<Shared<F>>,
    q: QueueSetup,
    qid: u16,
    slot: usize,
    side_base: usize,
) -> io::Result<()> {
    let QueueSetup { mut ring, shared } = q;
    let r = serve_ring(sh, &mut ring, &shared, qid, slot, side_base);
    // The kernel may use the entries' buffers until the ring is closed.
    drop(ring);
    drop(shared);
    r
}

fn serve_ring<F: FileSystem + Send + Sync + 'static>(
    sh: &Arc<Shared<F>>,
    ring: &mut IoUring<Entry128>,
    shared: &Arc<QueueShared>,
    qid: u16,
    slot: usize,
    side_base: usize,
) -> io::Result<()> {
    let fd = sh.dev.as_raw_fd();
    let wake_fd = shared.wake.as_raw_fd();
    let n = shared.bufs.len();
    // The commit id of each entry's last COMMIT_AND_FETCH (None: REGISTER),
    // to resubmit it after EINTR / EAGAIN.
    let mut last: Vec<Option<u64>> = vec![None; n];
    let registering = (|| {
        for (i, b) in shared.bufs.iter().enumerate() {
            push(ring, &abi::register(fd, qid, b.iov(), i as u64))?;
        }
        push(ring, &wake_poll(wake_fd))?;
        ring.submit()
    })();
    if let Err(e) = registering {
        // The kernel waits for every queue before it uses any: make it
        // give up on the rings rather than wait for this one.
        sh.ring_failed(format!("queue {qid}: cannot submit REGISTER: {e}"));
        if let Some(b) = shared.bufs.first() {
            poison(ring, fd, b);
        }
        return Err(e);
    }
    let mut in_kernel = n;
    let mut side = 0usize;
    let mut ended = false;
    let mut registered = false;
    let mut cqes: Vec<(u64, i32)> = Vec::with_capacity(2 * n + 2);
    let mut scratch = Scratch::default();
    loop {
        cqes.clear();
        cqes.extend(ring.completion().map(|c| (c.user_data(), c.result())));
        if !registered {
            // REGISTER fails at submission (its error is already here) or
            // stays queued until a request comes.
            let failed = cqes
                .iter()
                .find(|&&(u, r)| u != WAKE && r < 0 && r != -libc::EINTR && r != -libc::EAGAIN);
            registered = true;
            match failed {
                Some(&(_, r)) => sh.ring_failed(format!(
                    "queue {qid}: REGISTER failed: {}",
                    io::Error::from_raw_os_error(-r)
                )),
                None => sh.ring_registered(),
            }
        }
        for &(ud, res) in &cqes {
            if ud == WAKE {
                let mut v = [0u8; 8];
                // SAFETY: reads at most 8 bytes into a live local buffer.
                let _ = unsafe { libc::read(wake_fd, v.as_mut_ptr().cast(), 8) };
                let done = shared
                    .done
                    .lock()
                    .map(|mut d| std::mem::take(&mut *d))
                    .unwrap_or_default();
                for (i, commit) in done {
                    side -= 1;
                    last[i] = Some(commit);
                    push(ring, &abi::commit_and_fetch(fd, qid, commit, i as u64))?;
                    in_kernel += 1;
                }
                push(ring, &wake_poll(wake_fd))?;
                continue;
            }
            let Some(i) = usize::try_from(ud).ok().filter(|&i| i < n) else {
                continue;
            };
            in_kernel -= 1;
            match res {
                0 => {}
                e if e == -libc::EINTR || e == -libc::EAGAIN => {
                    let b = &shared.bufs[i];
                    let again = match last[i] {
                        None => abi::register(fd, qid, b.iov(), i as u64),
                        Some(c) => abi::commit_and_fetch(fd, qid, c, i as u64),
                    };
                    push(ring, &again)?;
                    in_kernel += 1;
                    continue;
                }
                e if [libc::ENOTCONN, libc::ECONNABORTED, libc::ECANCELED].contains(&-e) => {
                    // The connection ended.
                    ended = true;
                    continue;
                }
                e => {
                    let err = io::Error::from_raw_os_error(-e);
                    if last[i].take().is_some() {
                        // A refused commit (ENOENT: the kernel no longer
                        // knew the request) also lost the fetch: register
                        // the entry again so that the queue keeps its depth.
                        log::warn!("io_uring queue {qid} entry {i}: commit: {err}");
                        push(ring, &abi::register(fd, qid, shared.bufs[i].iov(), ud))?;
                        in_kernel += 1;
                    } else {
                        // A late REGISTER failure (after a retry, or from
                        // io-wq) also made the kernel give up on the rings.
                        sh.ring_failed(format!("queue {qid} entry {i}: REGISTER failed: {err}"));
                    }
                    continue;
                }
            }
            let buf = &shared.bufs[i];
            // SAFETY: the CQE handed entry `i` back to this thread.
            let blocking = may_block(unsafe { buf.parts() }.0);
            if blocking && spawn_side(sh, shared, i, side_base + i, qid).is_ok() {
                side += 1;
                continue;
            }
            let commit = serve_entry(sh, buf, &mut scratch, slot);
            last[i] = Some(commit);
            push(ring, &abi::commit_and_fetch(fd, qid, commit, i as u64))?;
            in_kernel += 1;
        }
        if in_kernel == 0 && (side == 0 || ended) {
            // Every entry came back with an error (the connection ended, or
            // the registration failed); a side thread still waiting for a
            // lock finishes on its own (its commit has no ring to go to).
            return Ok(());
        }
        match ring.submit_and_wait(1) {
            Ok(_) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EBUSY)) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Serves entry `i` (a blocking request) on a thread of its own, which then
/// queues the entry for commit and wakes the queue thread.
fn spawn_side<F: FileSystem + Send + Sync + 'static>(
    sh: &Arc<Shared<F>>,
    shared: &Arc<QueueShared>,
    i: usize,
    slot: usize,
    qid: u16,
) -> io::Result<()> {
    let sh = Arc::clone(sh);
    let q = Arc::clone(shared);
    std::thread::Builder::new()
        .name(format!("fuse-ring{qid}-wait"))
        .spawn(move || {
            sh.inflight.register(slot);
            let mut scratch = Scratch::default();
            let commit = serve_entry(&sh, &q.bufs[i], &mut scratch, slot);
            sh.inflight.unregister(slot);
            if let Ok(mut d) = q.done.lock() {
                d.push((i, commit));
            }
            let one = 1u64.to_ne_bytes();
            // SAFETY: writes 8 bytes from a live local to our eventfd.
            let _ = unsafe { libc::write(q.wake.as_raw_fd(), one.as_ptr().cast(), 8) };
        })
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FuseDev, Session, SessionConfig};
    use arcbox_fs::abi::{InitFlags, InitIn, KERNEL_MINOR_VERSION, KERNEL_VERSION};
    use arcbox_fs::memfs::MemFs;
    use arcbox_fs::zerocopy::IntoBytes;

    const PAYLOAD: usize = 64 * 1024;

    /// A session over /dev/null (nothing is read from it) with INIT done.
    fn session() -> Session<MemFs> {
        let null = std::fs::File::open("/dev/null").unwrap();
        let config = SessionConfig {
            interrupt_signal: None,
            ..SessionConfig::default()
        };
        let s = Session::new(MemFs::new(), FuseDev::from_fd(null.into()), None, config).unwrap();
        let (lo, hi) = (InitFlags::INIT_EXT | InitFlags::BIG_WRITES).split();
        let init = InitIn {
            major: KERNEL_VERSION,
            minor: KERNEL_MINOR_VERSION,
            max_readahead: 1 << 17,
            flags: lo,
            flags2: hi,
            unused: [0; 11],
        };
        let mut req = in_header(40 + 64, Opcode::INIT as u32, 1, 0);
        req.extend_from_slice(init.as_bytes());
        let mut reply = vec![0u8; 4096];
        let sh = s.shared();
        let o = sh.dispatcher.handle(sh.now(), &req[..], &mut reply[..]);
        assert!(matches!(o, Outcome::Reply(_)), "{o:?}");
        s
    }

    fn in_header(len: u32, opcode: u32, unique: u64, nodeid: u64) -> Vec<u8> {
        let mut h = Vec::with_capacity(40);
        h.extend_from_slice(&len.to_le_bytes());
        h.extend_from_slice(&opcode.to_le_bytes());
        h.extend_from_slice(&unique.to_le_bytes());
        h.extend_from_slice(&nodeid.to_le_bytes());
        h.extend_from_slice(&[0u8; 16]); // uid, gid, pid, extlen, padding
        h
    }

    /// An entry holding a request laid out as the kernel does; `len`
    /// overrides the header's length (default: header + op_in + payload).
    fn entry(
        op: u32,
        unique: u64,
        node: u64,
        op_in: &[u8],
        payload: &[u8],
        len: Option<u32>,
        psz: Option<u32>,
    ) -> EntryBuf {
        let b = EntryBuf::new(PAYLOAD).unwrap();
        // SAFETY: the test owns the entry.
        let (h, p) = unsafe { b.parts() };
        let n = len.unwrap_or((40 + op_in.len() + payload.len()) as u32);
        h[..40].copy_from_slice(&in_header(n, op, unique, node));
        h[OP_IN_OFF..OP_IN_OFF + op_in.len()].copy_from_slice(op_in);
        h[264..272].copy_from_slice(&unique.to_le_bytes());
        abi::set_payload_sz(h, psz.unwrap_or(payload.len() as u32));
        p[..payload.len()].copy_from_slice(payload);
        b
    }

    /// (error, unique, out len) of the reply and the reply body.
    fn reply(b: &EntryBuf) -> (i32, u64, u32, Vec<u8>) {
        // SAFETY: the test owns the entry.
        let (h, p) = unsafe { b.parts() };
        let n = abi::payload_sz(h).unwrap() as usize;
        (
            i32::from_le_bytes(h[4..8].try_into().unwrap()),
            u64::from_le_bytes(h[8..16].try_into().unwrap()),
            u32::from_le_bytes(h[0..4].try_into().unwrap()),
            p[..n].to_vec(),
        )
    }

    fn serve(s: &Session<MemFs>, b: &EntryBuf) -> (i32, u64, u32, Vec<u8>) {
        let mut scratch = Scratch::default();
        let commit = serve_entry(s.shared(), b, &mut scratch, 0);
        let r = reply(b);
        assert_eq!(commit, r.1, "the reply's unique is the commit id");
        r
    }

    #[test]
    fn create_write_read_through_entry_buffers() {
        let s = session();
        let create = CreateInBytes::new(0o100644);
        let (e, u, _, body) = serve(
            &s,
            &entry(Opcode::CREATE as u32, 7, 1, &create.0, b"f\0", None, None),
        );
        assert_eq!((e, u), (0, 7));
        assert_eq!(body.len(), 128 + 16, "entry_out + open_out in the payload");
        let node = u64::from_le_bytes(body[0..8].try_into().unwrap());
        let fh = u64::from_le_bytes(body[128..136].try_into().unwrap());
        // WRITE: the data is taken from the payload (in place).
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let w = rw_in(fh, 0, data.len() as u32);
        let (e, _, len, body) = serve(
            &s,
            &entry(Opcode::WRITE as u32, 8, node, &w, &data, None, None),
        );
        assert_eq!((e, len), (0, 16 + 8));
        assert_eq!(u32::from_le_bytes(body[0..4].try_into().unwrap()), 10_000);
        // READ: the data lands in the payload.
        let r = rw_in(fh, 0, 20_000);
        let (e, _, len, body) = serve(
            &s,
            &entry(Opcode::READ as u32, 9, node, &r, &[], None, None),
        );
        assert_eq!((e, len as usize), (0, 16 + data.len()));
        assert_eq!(body, data);
        assert!(s.shared().stats.ring_requests.load(Ordering::Relaxed) >= 3);
    }

    #[test]
    fn malformed_entries_get_error_replies() {
        let s = session();
        let lookup = |len, psz| entry(Opcode::LOOKUP as u32, 5, 1, &[], b"nope\0", len, psz);
        // A well-formed LOOKUP of a missing name.
        assert_eq!(serve(&s, &lookup(None, None)).0, -libc::ENOENT);
        // The header's len does not cover the payload.
        let (e, u, len, body) = serve(&s, &lookup(Some(41), None));
        assert_eq!((e, u, len, body.len()), (-libc::EIO, 5, 16, 0));
        // Longer than op_in can hold.
        assert_eq!(serve(&s, &lookup(Some(40 + 6 + 129), None)).0, -libc::EIO);
        // payload_sz beyond the buffer.
        assert_eq!(serve(&s, &lookup(None, Some(u32::MAX))).0, -libc::EIO);
        assert_eq!(
            serve(&s, &lookup(Some(u32::MAX), Some(PAYLOAD as u32 + 1))).0,
            -libc::EIO
        );
        // len below the header.
        assert_eq!(serve(&s, &lookup(Some(3), Some(0))).0, -libc::EIO);
        // An unknown opcode.
        assert_eq!(
            serve(&s, &entry(9999, 6, 1, &[], &[], None, None)).0,
            -libc::ENOSYS
        );
        // A request without a reply still gets its entry back (an error).
        let forget = entry(
            Opcode::FORGET as u32,
            7,
            1,
            &1u64.to_le_bytes(),
            &[],
            None,
            None,
        );
        assert_eq!(serve(&s, &forget).0, -libc::EIO);
        // A truncated WRITE (header says more data than there is).
        let w = rw_in(1, 0, 100);
        assert!(
            serve(
                &s,
                &entry(Opcode::WRITE as u32, 8, 1, &w, b"abc", None, None)
            )
            .0 < 0
        );
        // Garbage everywhere.
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..200u64 {
            let b = EntryBuf::new(4096).unwrap();
            // SAFETY: the test owns the entry.
            let (h, p) = unsafe { b.parts() };
            for x in h.iter_mut().chain(p.iter_mut().take(256)) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                *x = rng as u8;
            }
            abi::set_payload_sz(h, (rng % 300) as u32);
            if i % 2 == 0 {
                // Make the lengths add up so that the dispatcher sees it.
                let psz = (rng % 300) as u32;
                let op = (rng >> 8) as u32 % 130;
                h[0..4].copy_from_slice(&(40 + op + psz).to_le_bytes());
                h[4..8].copy_from_slice(&((rng >> 20) as u32 % 60).to_le_bytes());
            }
            let mut scratch = Scratch::default();
            let _ = serve_entry(s.shared(), &b, &mut scratch, 0);
            // SAFETY: the test owns the entry.
            let (h, _) = unsafe { b.parts() };
            let n = abi::payload_sz(h).unwrap() as usize;
            assert!(n <= 4096);
        }
    }

    /// `fuse_create_in` for a regular file of `mode`.
    struct CreateInBytes([u8; 16]);

    impl CreateInBytes {
        fn new(mode: u32) -> Self {
            let mut b = [0u8; 16];
            b[0..4].copy_from_slice(&(libc::O_RDWR as u32).to_le_bytes());
            b[4..8].copy_from_slice(&mode.to_le_bytes());
            CreateInBytes(b)
        }
    }

    /// `fuse_read_in` / `fuse_write_in` (same layout).
    fn rw_in(fh: u64, off: u64, size: u32) -> [u8; 40] {
        let mut b = [0u8; 40];
        b[0..8].copy_from_slice(&fh.to_le_bytes());
        b[8..16].copy_from_slice(&off.to_le_bytes());
        b[16..20].copy_from_slice(&size.to_le_bytes());
        b
    }
}
