//! Target (b): one input split into a sequence of FUSE messages (see
//! `arcbox_fs_fuzz::split`) served in order by one
//! `FuseDispatcher<PassthroughFs<MemHost>>`, after a valid INIT. State built
//! by earlier messages (nodes, handles, locks, combined writes) is what later
//! ones attack. After the sequence, DESTROY must still be answered.
#![no_main]

use arcbox_fs::FuseDispatcher;
use arcbox_fs::memhost::MemHost;
use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
use arcbox_fs_fuzz::{CAPS, IN_HDR, handle_checked, init, request, split};
use libfuzzer_sys::fuzz_target;

/// Messages served per input: bounds the time of one run.
const MAX_MESSAGES: usize = 64;

fuzz_target!(|data: &[u8]| {
    let fs = match PassthroughFs::new(MemHost::new(), PassthroughConfig::default()) {
        Ok(fs) => fs,
        Err(e) => panic!("PassthroughFs over MemHost: {e:?}"),
    };
    let d = FuseDispatcher::new(fs);
    init(&d);
    let mut buf = Vec::new();
    for m in split(data).take(MAX_MESSAGES) {
        buf.clear();
        buf.extend_from_slice(m.bytes);
        if m.fix_len && buf.len() >= IN_HDR {
            let len = buf.len() as u32;
            buf[..4].copy_from_slice(&len.to_le_bytes());
        }
        handle_checked(&d, &buf, CAPS[m.cap]);
    }
    // The server still answers (DESTROY, opcode 38, takes no body).
    let destroy = request(38, u64::MAX, 0, &[]);
    handle_checked(&d, &destroy, 4096);
});
