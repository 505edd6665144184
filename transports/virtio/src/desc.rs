//! The split virtqueue descriptor (virtio 1.2 §2.7.5): `struct virtq_desc`.

use crate::mem::{GuestAddress, GuestMemory, MemError};

/// Size of one descriptor in the table.
pub const DESC_SIZE: usize = 16;
/// `VIRTQ_DESC_F_NEXT`: the chain continues in `next`.
pub const F_NEXT: u16 = 1;
/// `VIRTQ_DESC_F_WRITE`: the buffer is device-writable.
pub const F_WRITE: u16 = 2;
/// `VIRTQ_DESC_F_INDIRECT`: the buffer is a table of descriptors (§2.7.5.3).
pub const F_INDIRECT: u16 = 4;

/// One descriptor, decoded from its little-endian wire form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Descriptor {
    /// Guest physical address of the buffer.
    pub addr: GuestAddress,
    /// Length of the buffer in bytes.
    pub len: u32,
    /// `F_NEXT`, `F_WRITE`, `F_INDIRECT`.
    pub flags: u16,
    /// Index of the next descriptor when `F_NEXT` is set.
    pub next: u16,
}

impl Descriptor {
    /// Decodes the 16-byte wire form.
    pub fn from_bytes(b: &[u8; DESC_SIZE]) -> Descriptor {
        let [
            a0,
            a1,
            a2,
            a3,
            a4,
            a5,
            a6,
            a7,
            l0,
            l1,
            l2,
            l3,
            f0,
            f1,
            n0,
            n1,
        ] = *b;
        Descriptor {
            addr: u64::from_le_bytes([a0, a1, a2, a3, a4, a5, a6, a7]),
            len: u32::from_le_bytes([l0, l1, l2, l3]),
            flags: u16::from_le_bytes([f0, f1]),
            next: u16::from_le_bytes([n0, n1]),
        }
    }

    /// Encodes the 16-byte wire form (for drivers in tests and fuzzers).
    pub fn to_bytes(&self) -> [u8; DESC_SIZE] {
        let mut b = [0u8; DESC_SIZE];
        b[..8].copy_from_slice(&self.addr.to_le_bytes());
        b[8..12].copy_from_slice(&self.len.to_le_bytes());
        b[12..14].copy_from_slice(&self.flags.to_le_bytes());
        b[14..].copy_from_slice(&self.next.to_le_bytes());
        b
    }

    /// Reads entry `index` of the table at `table`.
    ///
    /// Errors: the table entry is outside guest memory or its address overflows.
    pub fn read<M: GuestMemory + ?Sized>(
        mem: &M,
        table: GuestAddress,
        index: u16,
    ) -> Result<Descriptor, MemError> {
        let off = u64::from(index) * DESC_SIZE as u64;
        let addr = table.checked_add(off).ok_or(MemError::Overflow)?;
        let mut b = [0u8; DESC_SIZE];
        mem.read(addr, &mut b)?;
        Ok(Descriptor::from_bytes(&b))
    }

    /// Whether `F_WRITE` is set.
    pub fn is_write(&self) -> bool {
        self.flags & F_WRITE != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_round_trips() {
        let d = Descriptor {
            addr: 0x1122_3344_5566_7788,
            len: 0x99aa_bbcc,
            flags: F_NEXT | F_WRITE,
            next: 0x0102,
        };
        let b = d.to_bytes();
        assert_eq!(b[0], 0x88);
        assert_eq!(Descriptor::from_bytes(&b), d);
        assert!(d.is_write());
    }
}
