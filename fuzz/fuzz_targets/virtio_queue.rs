//! Target (c): descriptor tables, indirect tables and rings written into
//! guest memory, served by `VirtioFsDevice::process_queue` over
//! `FuseDispatcher<MemFs>`, and walked by `DescTable::resolve` with a small
//! segment capacity.
//!
//! Input (missing bytes read as 0): byte 0 = features (bit 0 indirect, bit 1
//! event index, bit 2 an INIT request first in the buffer area), 8 table
//! descriptors and 4 indirect descriptors of 16 bytes (their addresses are
//! folded into guest memory unless bit 63 is set), 6 available heads and the
//! available index (little-endian u16s), then request bytes.
#![no_main]

use arcbox_fs::memfs::MemFs;
use arcbox_fs::{FuseDispatcher, Instant};
use arcbox_fs::{ReplySink, RequestSource};
use arcbox_fs_fuzz::{init_body, request};
use arcbox_fs_virtio::desc::{DESC_SIZE, Descriptor};
use arcbox_fs_virtio::device::{VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC};
use arcbox_fs_virtio::{
    DescTable, DescriptorChain, GuestMemory, OwnedMemory, Tag, VirtioDevice, VirtioFsDevice,
};
use core::sync::atomic::Ordering;
use libfuzzer_sys::fuzz_target;

const BASE: u64 = 0x10_0000;
const LEN: usize = 64 * 1024;
const SIZE: u16 = 8;
const AVAIL: u64 = BASE + 0x1000;
const USED: u64 = BASE + 0x2000;
const INDIRECT: u64 = BASE + 0x4000;
const BUFFERS: u64 = BASE + 0x8000;

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        let n = N.min(self.0.len());
        b[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        b
    }

    fn desc(&mut self) -> Descriptor {
        let mut d = Descriptor::from_bytes(&self.take::<DESC_SIZE>());
        if d.addr >> 63 == 0 {
            // Mostly inside memory, sometimes just past its end.
            d.addr = BASE + d.addr % (LEN as u64 + 64);
        }
        d
    }
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let [features] = inp.take::<1>();
    let table: Vec<Descriptor> = (0..SIZE).map(|_| inp.desc()).collect();
    let indirect: Vec<Descriptor> = (0..4).map(|_| inp.desc()).collect();
    let heads: Vec<u16> = (0..6)
        .map(|_| u16::from_le_bytes(inp.take::<2>()))
        .collect();
    let avail_idx = u16::from_le_bytes(inp.take::<2>());
    let payload = inp.0;

    let Some(mem) = OwnedMemory::new(BASE, LEN) else {
        return;
    };
    let dev = VirtioFsDevice::<2>::new(Tag::new("fuzz").expect("tag"), SIZE);
    let mut f = 0u64;
    if features & 1 != 0 {
        f |= VIRTIO_F_INDIRECT_DESC;
    }
    if features & 2 != 0 {
        f |= VIRTIO_F_EVENT_IDX;
    }
    dev.set_driver_features(f);
    dev.with_queue(1, |q| {
        q.set_size(SIZE);
        q.set_addresses(BASE, AVAIL, USED);
        q.set_ready(true).expect("queue ready");
    });
    for (i, d) in table.iter().enumerate() {
        mem.write(BASE + (DESC_SIZE * i) as u64, &d.to_bytes())
            .expect("table");
    }
    for (i, d) in indirect.iter().enumerate() {
        mem.write(INDIRECT + (DESC_SIZE * i) as u64, &d.to_bytes())
            .expect("indirect");
    }
    let mut req = if features & 4 != 0 {
        request(26, 1, 0, &init_body())
    } else {
        Vec::new()
    };
    req.extend_from_slice(&payload[..payload.len().min(0x4000)]);
    mem.write(BUFFERS, &req).expect("buffers");
    for (i, h) in heads.iter().enumerate() {
        mem.store_u16(
            AVAIL + 4 + 2 * (i as u64 % u64::from(SIZE)),
            *h,
            Ordering::Relaxed,
        )
        .expect("ring");
    }
    mem.store_u16(AVAIL + 2, avail_idx, Ordering::Release)
        .expect("idx");

    let disp = FuseDispatcher::new(MemFs::new());
    let _ = dev.process_queue(1, &mem, &disp, Instant::ZERO);
    // What the device published is not checked here: a writable buffer may
    // legitimately cover the rings, and replies then overwrite them. The
    // property is no panic, no hang, no leak, and the chain accounting below.

    // The chains as the device would see them, with room for 4 segments only.
    let t = DescTable {
        addr: BASE,
        size: SIZE,
        indirect: features & 1 != 0,
    };
    for h in &heads {
        let Ok(mut c): Result<DescriptorChain<'_, 4>, _> = t.resolve(&mem, *h) else {
            continue;
        };
        let (rl, wl) = (c.readable_len() as usize, c.writable_len() as usize);
        let (r, mut w) = c.split();
        assert_eq!(r.len(), rl);
        assert_eq!(w.capacity(), wl);
        if rl <= 1 << 20 {
            let mut buf = vec![0u8; rl];
            r.read_at(0, &mut buf).expect("read the whole request");
            assert!(r.read_at(1, &mut buf).is_err(), "read past the end");
        }
        if wl <= 1 << 20 {
            w.write_at(0, &vec![0xa5; wl])
                .expect("write the whole reply");
            assert!(w.write_at(wl, &[0]).is_err(), "write past the end");
        }
    }
});
