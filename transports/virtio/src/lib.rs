//! arcbox-fs-virtio: the virtio-fs device for VMMs that embed the server
//! in-process, `no_std` and without an allocator.
//!
//! - [`mem`]: the [`GuestMemory`] trait a VMM implements (checked translation
//!   of guest physical ranges, possibly over several mapped regions), with
//!   [`RegionMemory`] over plain regions.
//! - [`queue`]: split virtqueues (virtio 1.2 §2.7) with `VIRTIO_F_EVENT_IDX`.
//! - [`volatile`]: [`GuestSlice`], the raw view of guest memory and its
//!   volatile copies.
//! - [`chain`]: descriptor chains (direct and indirect) resolved into guest
//!   memory views and presented to the FUSE core as its `RequestSource` /
//!   `ReplySink` (zero-copy: a host's `preadv` lands in guest memory).
//! - [`fs`]: the virtio-fs device (§5.11): tag, hiprio and request queues.
//! - [`mmio`]: the virtio-mmio register model (§4.2, version 2).
//! - with `std`, [`pool`]: workers that serve queues in parallel and complete
//!   requests out of order.
//!
//! # Guest memory is not Rust memory
//!
//! The guest (or another worker serving an overlapping chain) may change any
//! byte of guest memory at any moment, so this crate never keeps a Rust
//! reference to it: a reference promises the compiler the bytes are stable.
//! Rings are accessed with atomics ([`GuestMemory::load_u16`] and friends),
//! buffers through [`GuestSlice`] (a pointer and a length) with volatile
//! copies at the edges, each value copied out once and validated on the copy
//! (the FUSE dispatcher reads a request header once).
//!
//! The FUSE core's zero-copy batches
//! ([`RequestSource::with_slices`](arcbox_fs::RequestSource::with_slices),
//! [`ReplySink::with_slices_mut`](arcbox_fs::ReplySink::with_slices_mut))
//! carry the same addresses as [`arcbox_fs::IoBuf`] / [`arcbox_fs::IoBufMut`]
//! views (from `arcbox-fs-iobuf`), not Rust slices: [`ChainReader`] and
//! [`ChainWriter`] make them from their [`GuestSlice`]s, the hosts pass them
//! straight to `pwritev(2)` / `preadv(2)` as `iovec`s (only the kernel touches
//! the bytes) or copy through them with volatile accesses (the passthrough's
//! write combiner, an in-memory host). No Rust code anywhere in the data path
//! forms a reference to guest memory.

//! # Embedding in a VMM
//!
//! The VMM owns guest RAM and traps the device's MMIO window. On each exit it
//! calls [`VirtioMmio::read`] / [`VirtioMmio::write`]; a write may answer
//! "queue N notified", which the VMM serves (inline as below, or through a
//! [`pool`]) and then raises the device's interrupt if asked to.
//!
//! ```
//! use arcbox_fs::{FileSystem, FuseDispatcher, Instant};
//! use arcbox_fs_virtio::{GuestRegion, MmioAction, RegionMemory, Tag, VirtioFsDevice, VirtioMmio};
//!
//! struct Share; // the file system: arcbox_fs's passthrough in a real VMM
//! impl FileSystem for Share {}
//!
//! let mut ram = vec![0u8; 1 << 20]; // guest RAM, guest physical 0x4000_0000..
//! let regions = [GuestRegion::from_slice(0x4000_0000, &mut ram).unwrap()];
//! let mem = RegionMemory::new(&regions);
//! let dispatcher = FuseDispatcher::new(Share);
//! let device: VirtioFsDevice = VirtioFsDevice::new(Tag::new("share").unwrap(), 256);
//! let mmio = VirtioMmio::new(&device);
//!
//! // The MMIO exit handler: `offset` is relative to the window's base.
//! let mut on_exit = |offset: u64, write: Option<&[u8]>, read: &mut [u8]| match write {
//!     None => mmio.read(offset, read),
//!     Some(data) => match mmio.write(offset, data) {
//!         MmioAction::Notify(q) => {
//!             let irq = device.process_queue(q, &mem, &dispatcher, Instant::ZERO);
//!             if irq.used_buffer && mmio.raise_used_buffer() { /* assert the IRQ line */ }
//!             if irq.config_change && mmio.raise_config_change() { /* assert the IRQ line */ }
//!         }
//!         MmioAction::DeassertInterrupt => { /* deassert the IRQ line */ }
//!         _ => {}
//!     },
//! };
//! let mut magic = [0u8; 4];
//! on_exit(0, None, &mut magic);
//! assert_eq!(&magic, b"virt");
//! ```
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod chain;
pub mod completion;
pub mod desc;
pub mod device;
pub mod fs;
pub mod mem;
pub mod mmio;
#[cfg(all(feature = "std", not(loom)))]
pub mod pool;
pub mod queue;
mod sync;
pub mod volatile;

pub use chain::{ChainError, ChainReader, ChainWriter, DescTable, DescriptorChain};
pub use completion::Inflight;
pub use device::{ShmRegion, VirtioDevice};
pub use fs::{NeedsInterrupt, Tag, TagError, VirtioFsDevice, serve_chain};
#[cfg(feature = "std")]
pub use mem::OwnedMemory;
pub use mem::{GuestAddress, GuestMemory, GuestRegion, MemError, RegionMemory};
pub use mmio::{MmioAction, Refusal, VirtioMmio};
#[cfg(all(feature = "std", not(loom)))]
pub use pool::{Notifier, WorkerPool};
pub use queue::{ConfigError, QueueError, SplitQueue};
pub use sync::SpinLock;
pub use volatile::GuestSlice;
