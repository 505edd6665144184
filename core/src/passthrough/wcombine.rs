//! Write combining: small sequential writes on one handle are gathered and
//! reach the host as one `pwritev`.
//!
//! A write is combined when it is small ([`MAX_PIECE`]), continues the
//! pending run exactly, and the run stays under [`CAPACITY`]. Pending data is
//! written out before any other operation on the inode (the passthrough calls
//! [`WriteCombiner::flush`] from every data and attribute path), and on
//! FLUSH, FSYNC and RELEASE. A failed write-out is remembered and reported
//! once, by the handle's next WRITE, FLUSH, FSYNC or RELEASE: nothing is
//! silently dropped. The passthrough combines only writes that end within
//! the host's file-size limit (`Host::max_file_size`), so an offset the host
//! cannot store is refused at once, never acknowledged.
//!
//! Handles opened with `O_APPEND`, `O_DIRECT`, `O_SYNC` or `O_DSYNC` never
//! combine. The buffer is allocated once per handle, on its first combined
//! write, and reused.

use crate::abi::OpenFlags;
use crate::errno::{Errno, Result};
use crate::io::IoBuf;
use crate::io::RequestData;
use crate::sync::{AtomicU32, Mutex, Ordering};
use alloc::vec::Vec;

/// Largest write that is combined.
pub const MAX_PIECE: usize = 16 * 1024;
/// Largest pending run.
pub const CAPACITY: usize = 128 * 1024;

#[derive(Default)]
struct State {
    off: u64,
    buf: Vec<u8>,
    err: Option<Errno>,
}

/// Pending writes of one handle; see the module docs.
pub struct WriteCombiner {
    enabled: bool,
    state: Mutex<State>,
}

impl WriteCombiner {
    /// Whether a handle opened with `flags` may combine writes.
    pub fn allowed(flags: OpenFlags) -> bool {
        flags.access().writable()
            && !flags.intersects(
                OpenFlags::APPEND | OpenFlags::DIRECT | OpenFlags::SYNC | OpenFlags::DSYNC,
            )
    }

    /// A combiner; a disabled one never buffers.
    pub fn new(enabled: bool) -> Self {
        WriteCombiner {
            enabled,
            state: Mutex::new(State::default()),
        }
    }

    /// Whether data is waiting to be written.
    pub fn has_pending(&self) -> bool {
        self.enabled && !self.state.lock().buf.is_empty()
    }

    /// Buffers `data` at `off` if it can be combined (then consumes it and
    /// returns true). `pending` counts handles with pending data.
    pub fn try_append(
        &self,
        off: u64,
        data: &mut RequestData<'_>,
        pending: &AtomicU32,
    ) -> Result<bool> {
        let len = data.len();
        if !self.enabled || len == 0 || len > MAX_PIECE {
            return Ok(false);
        }
        let mut st = self.state.lock();
        if st.err.is_some() {
            return Ok(false);
        }
        let start = st.buf.len();
        if start > 0 && st.off.checked_add(start as u64) != Some(off) {
            return Ok(false);
        }
        if start + len > CAPACITY {
            return Ok(false);
        }
        if start == 0 {
            st.off = off;
            if st.buf.capacity() == 0 {
                st.buf.reserve_exact(CAPACITY);
            }
        }
        st.buf.resize(start + len, 0);
        if let Err(e) = data.read_exact(&mut st.buf[start..]) {
            st.buf.truncate(start);
            return Err(e);
        }
        if start == 0 {
            pending.fetch_add(1, Ordering::AcqRel);
        }
        Ok(true)
    }

    /// Writes pending data out with `write(offset, bufs) -> bytes written`.
    /// The handle's lock is held meanwhile, so writes stay in order.
    pub fn flush(
        &self,
        write: &mut dyn FnMut(u64, &[IoBuf<'_>]) -> Result<usize>,
        pending: &AtomicU32,
    ) -> Result<()> {
        if !self.enabled {
            return Ok(());
        }
        let mut st = self.state.lock();
        if st.buf.is_empty() {
            return Ok(());
        }
        let mut done = 0usize;
        let mut result = Ok(());
        while done < st.buf.len() {
            let off = st.off.saturating_add(done as u64);
            match write(off, &[IoBuf::new(&st.buf[done..])]) {
                Ok(0) => {
                    result = Err(Errno::EIO);
                    break;
                }
                Ok(n) => done += n,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        st.buf.clear();
        pending.fetch_sub(1, Ordering::AcqRel);
        if let Err(e) = result {
            st.err = Some(e);
        }
        result
    }

    /// The error of an earlier failed write-out, once.
    pub fn take_error(&self) -> Result<()> {
        match self.state.lock().err.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
