//! Property test (the stable-toolchain twin of the cargo-fuzz target):
//! arbitrary descriptor tables, rings and request bytes written into guest
//! memory are served without panicking; every popped head is completed with
//! a used length within the chain's writable room.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::{FuseDispatcher, Instant};
use arcbox_fs_virtio::desc::Descriptor;
use arcbox_fs_virtio::{GuestMemory, OwnedMemory, Tag, VirtioDevice, VirtioFsDevice};
use common::TestFs;
use proptest::prelude::*;
use std::sync::atomic::Ordering;

const BASE: u64 = 0x10_0000;
const LEN: usize = 64 * 1024;
const SIZE: u16 = 8;

fn desc() -> impl Strategy<Value = Descriptor> {
    (
        prop_oneof![
            Just(BASE + 0x4000),
            Just(BASE + 0x8000),
            BASE..BASE + LEN as u64 + 64,
            any::<u64>()
        ],
        prop_oneof![0u32..300, Just(16u32), Just(32u32), any::<u32>()],
        0u16..8,
        prop_oneof![0u16..SIZE + 2, any::<u16>()],
    )
        .prop_map(|(addr, len, flags, next)| Descriptor {
            addr,
            len,
            flags,
            next,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    #[test]
    fn arbitrary_rings_never_panic(
        table in proptest::collection::vec(desc(), SIZE as usize),
        indirect in proptest::collection::vec(desc(), 4),
        heads in proptest::collection::vec(0u16..SIZE + 1, 1..6),
        avail_idx_bump in prop_oneof![Just(0u16), any::<u16>()],
        payload in proptest::collection::vec(any::<u8>(), 0..200),
        init_first in any::<bool>(),
    ) {
        let mem = OwnedMemory::new(BASE, LEN).unwrap();
        let dev = VirtioFsDevice::<2>::new(Tag::new("p").unwrap(), SIZE);
        dev.set_driver_features(arcbox_fs_virtio::device::VIRTIO_F_INDIRECT_DESC | arcbox_fs_virtio::device::VIRTIO_F_EVENT_IDX);
        dev.with_queue(1, |q| {
            q.set_size(SIZE);
            q.set_addresses(BASE, BASE + 0x1000, BASE + 0x2000);
            q.set_ready(true).unwrap();
        });
        for (i, d) in table.iter().enumerate() {
            mem.write(BASE + 16 * i as u64, &d.to_bytes()).unwrap();
        }
        for (i, d) in indirect.iter().enumerate() {
            mem.write(BASE + 0x4000 + 16 * i as u64, &d.to_bytes()).unwrap();
        }
        let mut req = if init_first { common::request(arcbox_fs::abi::Opcode::INIT, 1, 0, &common::init_body()) } else { Vec::new() };
        req.extend_from_slice(&payload);
        mem.write(BASE + 0x8000, &req).unwrap();
        for (i, h) in heads.iter().enumerate() {
            mem.store_u16(BASE + 0x1000 + 4 + 2 * (i as u64 % u64::from(SIZE)), *h, Ordering::Relaxed).unwrap();
        }
        let idx = (heads.len() as u16).wrapping_add(avail_idx_bump);
        mem.store_u16(BASE + 0x1000 + 2, idx, Ordering::Release).unwrap();
        let disp = FuseDispatcher::new(TestFs::default());
        let _ = dev.process_queue(1, &mem, &disp, Instant::ZERO);
        let used = mem.load_u16(BASE + 0x2000 + 2, Ordering::Acquire).unwrap();
        prop_assert!(used <= SIZE);
        for i in 0..used {
            let e = BASE + 0x2000 + 4 + 8 * u64::from(i);
            let id = mem.load_u32(e, Ordering::Relaxed).unwrap();
            prop_assert!(id < u32::from(SIZE));
            let len = mem.load_u32(e + 4, Ordering::Relaxed).unwrap();
            let room: u64 = table.iter().map(|d| u64::from(d.len)).sum::<u64>() + indirect.iter().map(|d| u64::from(d.len)).sum::<u64>();
            prop_assert!(u64::from(len) <= room);
        }
        // A queue broken by a bad avail index or head marks the device, never panics.
        if dev.needs_reset() {
            prop_assert!(dev.with_queue(1, |q| q.is_broken()).unwrap());
        }
    }
}
