//! Shared pieces of the fuzz targets: FUSE request builders (for the seed
//! generator and the fixed INIT every session starts with), the reply checks
//! every target applies, and the input framing of the sequence target.
//!
//! Run a target with `cargo +nightly fuzz run <target>` from the repository
//! root (see the README, "Test it").

use arcbox_fs::abi::{InitFlags, InitIn, OutHeader};
use arcbox_fs::{FileSystem, FuseDispatcher, Instant, Outcome};

/// Size of `fuse_in_header`.
pub const IN_HDR: usize = 40;
/// Size of `fuse_out_header`.
pub const OUT_HDR: usize = 16;

/// Reply buffer sizes a target may pick: below an error reply, an error reply
/// exactly, small, one page, and a full 128 KiB READ plus headers.
pub const CAPS: [usize; 5] = [8, 16, 80, 4096, (128 << 10) + 4096];

/// A raw request: header fields then `body`; `len` is the true length.
pub fn request(opcode: u32, unique: u64, nodeid: u64, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(IN_HDR + body.len());
    v.extend_from_slice(&((IN_HDR + body.len()) as u32).to_le_bytes());
    v.extend_from_slice(&opcode.to_le_bytes());
    v.extend_from_slice(&unique.to_le_bytes());
    v.extend_from_slice(&nodeid.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes()); // uid
    v.extend_from_slice(&0u32.to_le_bytes()); // gid
    v.extend_from_slice(&4242u32.to_le_bytes()); // pid
    v.extend_from_slice(&0u16.to_le_bytes()); // total_extlen
    v.extend_from_slice(&0u16.to_le_bytes()); // padding
    v.extend_from_slice(body);
    v
}

/// A 7.41 INIT body offering every capability.
pub fn init_body() -> Vec<u8> {
    let (lo, hi) = (InitFlags::all() - InitFlags::INIT_RESERVED).split();
    let arg = InitIn {
        major: 7,
        minor: 41,
        max_readahead: 1 << 17,
        flags: lo,
        flags2: hi,
        unused: [0; 11],
    };
    zerocopy::IntoBytes::as_bytes(&arg).to_vec()
}

/// Sends the INIT every session starts with; it must succeed.
pub fn init<F: FileSystem>(d: &FuseDispatcher<F>) {
    let req = request(26, 1, 0, &init_body());
    let mut out = vec![0u8; 4096];
    let o = d.handle(Instant::ZERO, &req[..], &mut out[..]);
    let n = match o {
        Outcome::Reply(n) => n,
        other => panic!("INIT: {other:?}"),
    };
    let h = header(&out[..n]);
    assert_eq!(h.error, 0, "INIT refused");
}

fn header(out: &[u8]) -> OutHeader {
    match zerocopy::FromBytes::read_from_prefix(out) {
        Ok((h, _)) => h,
        Err(_) => panic!("reply of {} bytes has no header", out.len()),
    }
}

/// Handles `req` with a reply buffer of `cap` bytes and checks the reply's
/// framing: the length written fits the buffer and equals the header's
/// `len`, `unique` is echoed, an error is a negative errno with no body, and
/// a request too short for a header is dropped, never answered.
pub fn handle_checked<F: FileSystem>(d: &FuseDispatcher<F>, req: &[u8], cap: usize) -> Outcome {
    let mut out = vec![0u8; cap];
    let o = d.handle(Instant::ZERO, req, &mut out[..]);
    if let Outcome::Reply(n) = o {
        assert!(req.len() >= IN_HDR, "answered a request without a header");
        assert!(n >= OUT_HDR && n <= cap, "reply of {n} bytes in {cap}");
        let h = header(&out[..n]);
        assert_eq!(h.len as usize, n, "header len vs bytes written");
        let unique = u64::from_le_bytes(req[8..16].try_into().expect("8 bytes"));
        assert_eq!(h.unique, unique, "unique not echoed");
        if h.error != 0 {
            assert!(h.error < 0 && h.error > -4096, "error {}", h.error);
            assert_eq!(n, OUT_HDR, "error reply with a body");
        }
    }
    o
}

/// One message of a sequence input: how to send it and its bytes.
#[derive(Debug)]
pub struct Message<'a> {
    /// Overwrite the header's `len` with the message's true length (so that
    /// most mutations reach the body parsers instead of the length check).
    pub fix_len: bool,
    /// Index into [`CAPS`].
    pub cap: usize,
    /// The request bytes.
    pub bytes: &'a [u8],
}

/// Splits a sequence input: each message is a control byte (bit 0:
/// `fix_len`, bits 1..=3: reply buffer size, modulo [`CAPS`]), a
/// little-endian `u16` length and that many bytes (fewer at the end).
pub fn split(mut data: &[u8]) -> impl Iterator<Item = Message<'_>> {
    core::iter::from_fn(move || {
        if data.len() < 3 {
            return None;
        }
        let ctl = data[0];
        let len = usize::from(u16::from_le_bytes([data[1], data[2]]));
        let rest = &data[3..];
        let (bytes, tail) = rest.split_at(len.min(rest.len()));
        data = tail;
        Some(Message {
            fix_len: ctl & 1 != 0,
            cap: usize::from(ctl >> 1) % CAPS.len(),
            bytes,
        })
    })
}

/// Encodes messages in the [`split`] format (for seeds).
pub fn join(msgs: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut v = Vec::new();
    for (ctl, m) in msgs {
        v.push(*ctl);
        v.extend_from_slice(&(m.len() as u16).to_le_bytes());
        v.extend_from_slice(m);
    }
    v
}
