//! Views of memory that another party may change at any time: a VM guest's
//! RAM, shared with the guest's CPUs and with the other workers of a
//! virtio device.
//!
//! A Rust reference (`&[u8]`, `&mut [u8]`) promises the compiler that the
//! bytes do not change (or that nobody else sees them) while it lives, so a
//! reference to guest memory is undefined behaviour whatever the code does
//! with it. [`IoBuf`] (readable) and [`IoBufMut`] (writable) are an address
//! and a length instead, as rust-vmm vm-memory's `VolatileSlice` is:
//!
//! - Rust code moves bytes in and out only with volatile copies
//!   ([`IoBuf::read_to`], [`IoBufMut::write_from`]), which the compiler may
//!   neither elide, merge, nor repeat;
//! - a host hands the address and length to the kernel as an `iovec`
//!   ([`IoBuf::as_ptr`], [`IoBufMut::as_mut_ptr`]) for `preadv(2)` /
//!   `pwritev(2)`: the kernel, not Rust code, then reads or writes guest
//!   memory, which keeps the zero-copy data path.
//!
//! Views of Rust-owned buffers (a `/dev/fuse` read buffer, a test's array)
//! are made safely with [`IoBuf::new`] / [`IoBufMut::new`]; views of foreign
//! memory only with the `unsafe` `from_raw_parts` constructors, whose
//! contract the transport that translated the guest address upholds.
//!
//! This is the one crate outside the hosts and transports with `unsafe`
//! code; the core (`arcbox-fs`) re-exports these types and stays
//! `#![deny(unsafe_code)]`.
#![no_std]
#![warn(missing_docs)]

mod buf;
mod copy;

pub use buf::{IoBuf, IoBufMut};
