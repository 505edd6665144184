//! Volatile byte copies between foreign memory and Rust buffers: bytes up to
//! an 8-byte boundary of the foreign side, then aligned `u64`s, then the tail.

/// Word size of the aligned middle part of a copy.
const WORD: usize = core::mem::size_of::<u64>();

/// Copies `dst.len()` bytes from `src` with volatile reads.
///
/// # Safety
///
/// `src` must be valid for reads of `dst.len()` bytes, and `dst` must not
/// overlap them.
pub(crate) unsafe fn volatile_read(src: *const u8, dst: &mut [u8]) {
    let n = dst.len();
    let head = src.align_offset(WORD).min(n);
    let mut i = 0;
    while i < head {
        // SAFETY: `i < n`; the caller promised `n` readable bytes.
        dst[i] = unsafe { src.add(i).read_volatile() };
        i += 1;
    }
    while i + WORD <= n {
        // SAFETY: `src + i` is 8-aligned (`head` aligned it) and in range.
        let w = unsafe { src.add(i).cast::<u64>().read_volatile() };
        dst[i..i + WORD].copy_from_slice(&w.to_ne_bytes());
        i += WORD;
    }
    while i < n {
        // SAFETY: `i < n`.
        dst[i] = unsafe { src.add(i).read_volatile() };
        i += 1;
    }
}

/// Copies `src` to `dst` with volatile writes (the mirror of [`volatile_read`]).
///
/// # Safety
///
/// `dst` must be valid for writes of `src.len()` bytes, and `src` must not
/// overlap them.
pub(crate) unsafe fn volatile_write(dst: *mut u8, src: &[u8]) {
    let n = src.len();
    let head = dst.align_offset(WORD).min(n);
    let mut i = 0;
    while i < head {
        // SAFETY: `i < n`; the caller promised `n` writable bytes.
        unsafe { dst.add(i).write_volatile(src[i]) };
        i += 1;
    }
    while i + WORD <= n {
        let mut w = [0u8; WORD];
        w.copy_from_slice(&src[i..i + WORD]);
        // SAFETY: `dst + i` is 8-aligned and in range.
        unsafe {
            dst.add(i)
                .cast::<u64>()
                .write_volatile(u64::from_ne_bytes(w))
        };
        i += WORD;
    }
    while i < n {
        // SAFETY: `i < n`.
        unsafe { dst.add(i).write_volatile(src[i]) };
        i += 1;
    }
}

/// Sets `n` bytes at `dst` to `byte` with volatile writes.
///
/// # Safety
///
/// `dst` must be valid for writes of `n` bytes.
pub(crate) unsafe fn volatile_fill(dst: *mut u8, n: usize, byte: u8) {
    for i in 0..n {
        // SAFETY: `i < n`; the caller promised `n` writable bytes.
        unsafe { dst.add(i).write_volatile(byte) };
    }
}
