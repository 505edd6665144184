//! [`Stats`]: what the dispatcher served, for "why is it slow" questions.
//!
//! Per-opcode request counts, per-opcode error counts, error counts by errno,
//! and per-opcode latency histograms with fixed power-of-two buckets. Kept by
//! [`FuseDispatcher`](crate::FuseDispatcher) for every request it handles and
//! readable at any time from any thread ([`FuseDispatcher::stats`](crate::FuseDispatcher::stats)).
//!
//! `no_std`, no allocation, lock-free: every counter is an atomic updated with
//! `Relaxed` ordering, so a reader sees each counter exactly but the counters
//! of one request may appear one by one (a count may be ahead of its
//! histogram by the requests in flight). Counters are 64-bit where the target
//! has 64-bit atomics and 32-bit (wrapping) otherwise.
//!
//! Latency is measured only when the dispatcher has a clock
//! ([`FuseDispatcher::with_clock`](crate::FuseDispatcher::with_clock)): from
//! the clock's reading when `handle` starts to its reading after the reply
//! was encoded, i.e. parse + filesystem + host call + reply, not the
//! transport's queueing.
//!
//! [`Display`](core::fmt::Display) prints a summary of the opcodes seen
//! (count, errors, mean, p50, p99) and the errnos returned.

use crate::abi::Opcode;
use crate::errno::Errno;
use core::fmt;
use core::time::Duration;

#[cfg(target_has_atomic = "64")]
type Atomic = core::sync::atomic::AtomicU64;
#[cfg(not(target_has_atomic = "64"))]
type Atomic = core::sync::atomic::AtomicU32;
#[cfg(target_has_atomic = "64")]
type Word = u64;
#[cfg(not(target_has_atomic = "64"))]
type Word = u32;

use core::sync::atomic::Ordering::Relaxed;

/// Opcode slots: opcodes `1..OPCODE_SLOTS` have their own; slot 0 counts
/// everything else (unknown opcodes, `CUSE_INIT`, requests without a header).
pub const OPCODE_SLOTS: usize = 64;

/// Errno slots: Linux errnos `1..ERRNO_SLOTS` (all of errno.h, `EPERM` ..
/// `EHWPOISON` = 133) have their own; slot 0 counts any other value.
pub const ERRNO_SLOTS: usize = 134;

/// Latency buckets. Bucket 0 holds latencies below 1024 ns; bucket `i` in
/// `1..LATENCY_BUCKETS - 1` holds `[2^(9+i), 2^(10+i))` ns; the last holds
/// everything from 2^28 ns (≈ 268 ms) up. See [`bucket_upper_ns`].
pub const LATENCY_BUCKETS: usize = 20;

/// The exclusive upper bound of latency bucket `i` in nanoseconds, `None`
/// for the last (unbounded) bucket and for `i` out of range.
pub const fn bucket_upper_ns(i: usize) -> Option<u64> {
    if i >= LATENCY_BUCKETS - 1 {
        None
    } else {
        Some(1u64 << (10 + i))
    }
}

/// The bucket a latency of `ns` nanoseconds falls in.
pub const fn bucket_of(ns: u64) -> usize {
    if ns < 1024 {
        0
    } else {
        let bit = 63 - ns.leading_zeros() as usize; // ≥ 10
        let i = bit - 9;
        if i >= LATENCY_BUCKETS {
            LATENCY_BUCKETS - 1
        } else {
            i
        }
    }
}

/// A counter's value (widened where counters are 32-bit).
#[allow(clippy::unnecessary_cast)] // a no-op where counters are 64-bit
fn get(a: &Atomic) -> u64 {
    a.load(Relaxed) as u64
}

fn slot_of_opcode(opcode: u32) -> usize {
    if (opcode as usize) < OPCODE_SLOTS {
        opcode as usize
    } else {
        0
    }
}

fn slot_of_errno(e: Errno) -> usize {
    let v = e.raw();
    if v > 0 && (v as usize) < ERRNO_SLOTS {
        v as usize
    } else {
        0
    }
}

struct OpCounters {
    count: Atomic,
    errors: Atomic,
    timed: Atomic,
    total_ns: Atomic,
    buckets: [Atomic; LATENCY_BUCKETS],
}

impl OpCounters {
    const fn new() -> Self {
        OpCounters {
            count: Atomic::new(0),
            errors: Atomic::new(0),
            timed: Atomic::new(0),
            total_ns: Atomic::new(0),
            buckets: [const { Atomic::new(0) }; LATENCY_BUCKETS],
        }
    }
}

/// One opcode's counters at the time of reading (see [`Stats::op`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpStats {
    /// Requests handled.
    pub count: u64,
    /// Of those, answered with an error (or dropped).
    pub errors: u64,
    /// Of those, timed (the dispatcher had a clock).
    pub timed: u64,
    /// Sum of the timed requests' latencies in nanoseconds (wraps where the
    /// target has no 64-bit atomics).
    pub total_ns: u64,
    /// Timed requests per latency bucket ([`bucket_upper_ns`]).
    pub buckets: [u64; LATENCY_BUCKETS],
}

impl OpStats {
    /// Mean latency of the timed requests, `None` if none was timed.
    pub fn mean(&self) -> Option<Duration> {
        self.total_ns
            .checked_div(self.timed)
            .map(Duration::from_nanos)
    }

    /// An upper bound of the `q` quantile (`0.0..=1.0`) of the timed
    /// latencies: the upper bound of the bucket where it falls (`None` if
    /// none was timed, or it falls in the unbounded last bucket).
    pub fn quantile_upper(&self, q: f64) -> Option<Duration> {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 {
            return None;
        }
        let q = if q.is_nan() { 1.0 } else { q.clamp(0.0, 1.0) };
        // ceil(q * total) without float rounding surprises at the ends.
        let rank = ((q * total as f64) as u64).clamp(1, total);
        let mut seen = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return bucket_upper_ns(i).map(Duration::from_nanos);
            }
        }
        None
    }
}

/// Request statistics of one dispatcher; see the module docs.
pub struct Stats {
    ops: [OpCounters; OPCODE_SLOTS],
    errnos: [Atomic; ERRNO_SLOTS],
    dropped: Atomic,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stats")
            .field("requests", &self.requests())
            .field("errors", &self.errors())
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

impl Stats {
    /// All counters zero.
    pub const fn new() -> Self {
        Stats {
            ops: [const { OpCounters::new() }; OPCODE_SLOTS],
            errnos: [const { Atomic::new(0) }; ERRNO_SLOTS],
            dropped: Atomic::new(0),
        }
    }

    /// Records one request with wire opcode `opcode` that ended with `error`
    /// (`None`: answered successfully, or needed no reply) after `latency`
    /// (`None`: not timed). `dropped`: the request could not be answered at all.
    pub fn record(
        &self,
        opcode: u32,
        error: Option<Errno>,
        dropped: bool,
        latency: Option<Duration>,
    ) {
        let op = &self.ops[slot_of_opcode(opcode)];
        op.count.fetch_add(1, Relaxed);
        if let Some(e) = error {
            op.errors.fetch_add(1, Relaxed);
            self.errnos[slot_of_errno(e)].fetch_add(1, Relaxed);
        }
        if dropped {
            self.dropped.fetch_add(1, Relaxed);
        }
        if let Some(d) = latency {
            let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
            op.timed.fetch_add(1, Relaxed);
            op.total_ns.fetch_add(ns as Word, Relaxed);
            op.buckets[bucket_of(ns)].fetch_add(1, Relaxed);
        }
    }

    /// The counters of wire opcode `opcode` (slot 0, "other", for opcodes
    /// without a slot of their own; see [`OPCODE_SLOTS`]).
    pub fn op(&self, opcode: u32) -> OpStats {
        let c = &self.ops[slot_of_opcode(opcode)];
        let mut buckets = [0u64; LATENCY_BUCKETS];
        for (b, a) in buckets.iter_mut().zip(c.buckets.iter()) {
            *b = get(a);
        }
        OpStats {
            count: get(&c.count),
            errors: get(&c.errors),
            timed: get(&c.timed),
            total_ns: get(&c.total_ns),
            buckets,
        }
    }

    /// How many requests were answered with `errno` (values without a slot
    /// of their own share slot 0; see [`ERRNO_SLOTS`]).
    pub fn errno_count(&self, errno: Errno) -> u64 {
        get(&self.errnos[slot_of_errno(errno)])
    }

    /// Requests handled, all opcodes.
    pub fn requests(&self) -> u64 {
        self.ops.iter().map(|c| get(&c.count)).sum()
    }

    /// Requests answered with an error or dropped, all opcodes.
    pub fn errors(&self) -> u64 {
        self.ops.iter().map(|c| get(&c.errors)).sum()
    }

    /// Requests that could not be answered at all (no readable header, or a
    /// reply buffer too small even for an error).
    pub fn dropped(&self) -> u64 {
        get(&self.dropped)
    }

    /// The opcode slots with at least one request, as (wire opcode, counters);
    /// slot 0 is reported as opcode 0 ("other").
    pub fn ops(&self) -> impl Iterator<Item = (u32, OpStats)> + '_ {
        (0..OPCODE_SLOTS as u32)
            .map(|o| (o, self.op(o)))
            .filter(|(_, s)| s.count > 0)
    }

    /// The errnos returned at least once, as (raw Linux errno value, count);
    /// values without a slot of their own are reported together as 0.
    pub fn errnos(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.errnos
            .iter()
            .enumerate()
            .map(|(i, a)| (i, get(a)))
            .filter(|&(_, n)| n > 0)
    }

    /// Sets every counter back to zero (not atomic as a whole: requests in
    /// flight may land on either side).
    pub fn clear(&self) {
        for c in &self.ops {
            c.count.store(0, Relaxed);
            c.errors.store(0, Relaxed);
            c.timed.store(0, Relaxed);
            c.total_ns.store(0, Relaxed);
            for b in &c.buckets {
                b.store(0, Relaxed);
            }
        }
        for e in &self.errnos {
            e.store(0, Relaxed);
        }
        self.dropped.store(0, Relaxed);
    }
}

/// A duration as `123ns`, `4.5us`, `12.3ms` or `1.2s`.
struct Short(Duration);

impl fmt::Display for Short {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0.as_nanos();
        if ns < 1_000 {
            write!(f, "{ns}ns")
        } else if ns < 1_000_000 {
            write!(f, "{:.1}us", ns as f64 / 1e3)
        } else if ns < 1_000_000_000 {
            write!(f, "{:.1}ms", ns as f64 / 1e6)
        } else {
            write!(f, "{:.1}s", ns as f64 / 1e9)
        }
    }
}

struct Opt(Option<Duration>, &'static str);

impl fmt::Display for Opt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, "{}{}", self.1, Short(d)),
            None => f.write_str("-"),
        }
    }
}

impl fmt::Display for Stats {
    /// A multi-line summary: totals, one line per opcode seen (count, errors,
    /// mean, p50 and p99 bucket bounds), one line of errnos.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "requests {} errors {} dropped {}",
            self.requests(),
            self.errors(),
            self.dropped()
        )?;
        for (o, s) in self.ops() {
            let name = match Opcode::from_u32(o) {
                Some(op) => op.name(),
                None if o == 0 => "other",
                None => "unknown",
            };
            // The p99 of an unbounded bucket is ">= 268ms".
            let p99 = match (s.timed, s.quantile_upper(0.99)) {
                (0, _) => Opt(None, ""),
                (_, Some(d)) => Opt(Some(d), "<"),
                (_, None) => Opt(
                    bucket_upper_ns(LATENCY_BUCKETS - 2).map(Duration::from_nanos),
                    ">=",
                ),
            };
            writeln!(
                f,
                "  {name:<22} {:>10} err {:>8} mean {:>8} p50 {:>9} p99 {:>9}",
                s.count,
                s.errors,
                Opt(s.mean(), "").to_padded(),
                Opt(s.quantile_upper(0.5), "<").to_padded(),
                p99.to_padded(),
            )?;
        }
        let mut first = true;
        for (e, n) in self.errnos() {
            f.write_str(if first { "  errnos:" } else { "," })?;
            first = false;
            match Errno::from_raw(e as i32).name().filter(|_| e != 0) {
                Some(name) => write!(f, " {name} {n}")?,
                None if e == 0 => write!(f, " other {n}")?,
                None => write!(f, " {e} {n}")?,
            }
        }
        if !first {
            writeln!(f)?;
        }
        Ok(())
    }
}

impl Opt {
    /// Formats into a small inline buffer so that width padding applies.
    fn to_padded(&self) -> Padded {
        let mut p = Padded {
            buf: [0; 24],
            len: 0,
        };
        let _ = fmt::write(&mut p, format_args!("{self}"));
        p
    }
}

/// A short string formatted on the stack (`Display` of a value that
/// ignores width), so that `{:>9}` pads it.
struct Padded {
    buf: [u8; 24],
    len: usize,
}

impl fmt::Write for Padded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let b = s.as_bytes();
        let end = self.len.checked_add(b.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(b);
        self.len = end;
        Ok(())
    }
}

impl fmt::Display for Padded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only whole `write_str` calls of valid UTF-8 are ever stored.
        f.pad(core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?"))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    #[test]
    fn buckets_are_powers_of_two() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1023), 0);
        assert_eq!(bucket_of(1024), 1);
        assert_eq!(bucket_of(2047), 1);
        assert_eq!(bucket_of(2048), 2);
        assert_eq!(bucket_of(u64::MAX), LATENCY_BUCKETS - 1);
        assert_eq!(bucket_of(1 << 28), LATENCY_BUCKETS - 1);
        assert_eq!(bucket_of((1 << 28) - 1), LATENCY_BUCKETS - 2);
        for ns in [0u64, 5, 1023, 1024, 5000, 1 << 20, (1 << 28) - 1] {
            let i = bucket_of(ns);
            let hi = bucket_upper_ns(i).unwrap_or(u64::MAX);
            assert!(ns < hi, "{ns} in bucket {i} < {hi}");
            if i > 0 {
                assert!(ns >= bucket_upper_ns(i - 1).unwrap_or(0));
            }
        }
        assert_eq!(bucket_upper_ns(LATENCY_BUCKETS - 1), None);
        assert_eq!(bucket_upper_ns(usize::MAX), None);
    }

    #[test]
    fn counts_errors_and_latency() {
        let s = Stats::new();
        let us = Duration::from_micros;
        s.record(1, None, false, Some(us(3)));
        s.record(1, Some(Errno::ENOENT), false, Some(us(3)));
        s.record(1, Some(Errno::ENOENT), false, Some(us(100)));
        s.record(15, None, false, None);
        s.record(4096, Some(Errno::ENOSYS), false, None); // CUSE_INIT: "other"
        s.record(u32::MAX, Some(Errno::from_raw(4000)), true, None);
        let l = s.op(1);
        assert_eq!((l.count, l.errors, l.timed), (3, 2, 3));
        assert_eq!(l.total_ns, 106_000);
        assert_eq!(l.mean(), Some(Duration::from_nanos(35_333)));
        assert_eq!(l.buckets[bucket_of(3000)], 2);
        assert_eq!(l.quantile_upper(0.5), Some(Duration::from_nanos(4096)));
        assert_eq!(l.quantile_upper(1.0), Some(Duration::from_nanos(131_072)));
        assert_eq!(s.op(15).mean(), None);
        assert_eq!(s.op(0).count, 2);
        assert_eq!(s.errno_count(Errno::ENOENT), 2);
        assert_eq!(s.errno_count(Errno::ENOSYS), 1);
        assert_eq!(s.errno_count(Errno::from_raw(4000)), 1);
        assert_eq!((s.requests(), s.errors(), s.dropped()), (6, 4, 1));
        let text = s.to_string();
        assert!(
            text.starts_with("requests 6 errors 4 dropped 1\n"),
            "{text}"
        );
        assert!(text.contains("FUSE_LOOKUP"), "{text}");
        assert!(text.contains("FUSE_READ"), "{text}");
        assert!(text.contains("other"), "{text}");
        assert!(text.contains("ENOENT 2"), "{text}");
        s.clear();
        assert_eq!(s.requests(), 0);
        assert_eq!(s.ops().count(), 0);
        assert_eq!(s.errnos().count(), 0);
    }

    #[test]
    fn huge_latency_lands_in_the_last_bucket() {
        let s = Stats::new();
        s.record(3, None, false, Some(Duration::MAX));
        let g = s.op(3);
        assert_eq!(g.buckets[LATENCY_BUCKETS - 1], 1);
        assert_eq!(g.quantile_upper(0.99), None);
        assert!(s.to_string().contains(">="));
    }

    #[test]
    fn counters_from_threads_add_up() {
        let s = Stats::new();
        std::thread::scope(|sc| {
            for _ in 0..4 {
                sc.spawn(|| {
                    for i in 0..1000u64 {
                        s.record(1, None, false, Some(Duration::from_nanos(i)));
                    }
                });
            }
        });
        assert_eq!(s.op(1).count, 4000);
        assert_eq!(s.op(1).buckets.iter().sum::<u64>(), 4000);
    }
}
