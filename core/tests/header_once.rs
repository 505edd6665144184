//! The dispatcher copies the request header out of the transport's buffers
//! once (issue 15, item 7): in guest memory the guest may rewrite it between
//! two reads, and every decision must come from one copy.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::abi::Opcode;
use arcbox_fs::{Errno, FuseDispatcher, Instant, IoBuf, Outcome, RequestSource};
use common::{IN_HDR, OUT_HDR, Session, raw};
use std::cell::Cell;
use zerocopy::FromBytes;

/// A request whose header bytes change after the first read that covers
/// them, as a racing guest would do it.
struct Racing {
    first: Vec<u8>,
    later: Vec<u8>,
    header_reads: Cell<usize>,
}

impl Racing {
    fn bytes(&self) -> &[u8] {
        if self.header_reads.get() == 0 {
            &self.first
        } else {
            &self.later
        }
    }
}

impl RequestSource for Racing {
    fn len(&self) -> usize {
        self.first.len()
    }

    fn read_at(&self, off: usize, buf: &mut [u8]) -> Result<(), Errno> {
        let r = self.bytes().read_at(off, buf);
        if off < IN_HDR {
            self.header_reads.set(self.header_reads.get() + 1);
        }
        r
    }

    fn with_slices(
        &self,
        off: usize,
        len: usize,
        f: &mut dyn FnMut(&[IoBuf<'_>]) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        self.bytes().with_slices(off, len, f)
    }
}

#[test]
fn header_is_read_once_and_a_rewrite_after_it_changes_nothing() {
    let s = Session::new();
    let d: &FuseDispatcher<_> = &s.d;
    let first = raw(Opcode::GETATTR as u32, 77, 1, 0, 0, &[&[0u8; 16]]);
    // The rewrite: an absurd length and another opcode.
    let mut later = first.clone();
    later[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    later[4..8].copy_from_slice(&(Opcode::DESTROY as u32).to_le_bytes());
    let req = Racing {
        first,
        later,
        header_reads: Cell::new(0),
    };
    let mut out = vec![0u8; 4096];
    let n = match d.handle(Instant::ZERO, &req, &mut out[..]) {
        Outcome::Reply(n) => n,
        o => panic!("{o:?}"),
    };
    assert_eq!(req.header_reads.get(), 1, "header copied more than once");
    let (h, _) = arcbox_fs::abi::OutHeader::read_from_prefix(&out[..n]).unwrap();
    assert_eq!(
        h.error, 0,
        "GETATTR of the root, as first read, must succeed"
    );
    assert!(n > OUT_HDR);
    assert_eq!(h.unique, 77);
}
