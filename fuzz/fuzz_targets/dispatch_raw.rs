//! Target (a): raw bytes through `Request::parse` and through
//! `FuseDispatcher<MemFs>`.
//!
//! Input: byte 0 picks the reply buffer size (`CAPS`), bytes 1.. are one
//! request as the guest would send it. The opcode and body of the same bytes
//! also go straight to `Request::parse`, under both parse options.
#![no_main]

use arcbox_fs::FuseDispatcher;
use arcbox_fs::abi::Opcode;
use arcbox_fs::memfs::MemFs;
use arcbox_fs::request::{ParseOptions, Request, prefix_len};
use arcbox_fs_fuzz::{CAPS, IN_HDR, handle_checked, init};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, req)) = data.split_first() else {
        return;
    };
    if req.len() >= IN_HDR {
        let op = u32::from_le_bytes([req[4], req[5], req[6], req[7]]);
        if let Some(op) = Opcode::from_u32(op) {
            let body = &req[IN_HDR..];
            let plen = prefix_len(op, body.len()).min(body.len());
            for setxattr_ext in [false, true] {
                let opts = ParseOptions {
                    minor: 41,
                    setxattr_ext,
                };
                let _ = Request::parse(op, &body[..plen], body.len(), opts);
            }
        }
    }
    let d = FuseDispatcher::new(MemFs::new());
    // Once before INIT (everything but INIT must be refused), once after.
    let cap = CAPS[usize::from(sel) % CAPS.len()];
    handle_checked(&d, req, cap);
    if req.len() < IN_HDR || req[4..8] != 26u32.to_le_bytes() {
        assert!(
            d.negotiated_flags().is_empty(),
            "a request other than INIT initialised the session"
        );
    }
    let d = FuseDispatcher::new(MemFs::new());
    init(&d);
    handle_checked(&d, req, cap);
});
