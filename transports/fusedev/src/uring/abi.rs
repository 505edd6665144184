//! The FUSE-over-io_uring layout (include/uapi/linux/fuse.h, 7.42) and the
//! `IORING_OP_URING_CMD` submissions that carry it (fs/fuse/dev_uring.c).
//!
//! Each ring entry has two buffers the kernel reads and writes while the
//! entry is on its side:
//!
//! - the header buffer, a `struct fuse_uring_req_header`: `in_out` (128
//!   bytes: the `fuse_in_header` of a request, the `fuse_out_header` of its
//!   reply), `op_in` (128 bytes: the request's first argument, its fixed
//!   struct, if it has one), and `ring_ent_in_out` (`commit_id`, the
//!   request's `unique`; `payload_sz`, the bytes used in the payload);
//! - the payload buffer: the request's other arguments (names, WRITE data,
//!   extensions), and the reply's body (everything after `fuse_out_header`).
//!
//! Commands are 24-byte `struct fuse_uring_cmd_req` in the 80-byte command
//! area of a 128-byte SQE (`IORING_SETUP_SQE128`).

use crate::session::{peek_u32, peek_u64};
use io_uring::opcode::UringCmd80;
use io_uring::squeue::Entry128;
use io_uring::types::Fd;

/// `FUSE_URING_IN_OUT_HEADER_SZ`: room for the in or out header.
pub(crate) const IN_OUT_LEN: usize = 128;
/// `FUSE_URING_OP_IN_OUT_SZ`: room for the first (fixed) argument.
pub(crate) const OP_IN_LEN: usize = 128;
/// Offset of `op_in` in `fuse_uring_req_header`.
pub(crate) const OP_IN_OFF: usize = IN_OUT_LEN;
/// Offset of `ring_ent_in_out.commit_id`.
const COMMIT_ID_OFF: usize = IN_OUT_LEN + OP_IN_LEN + 8;
/// Offset of `ring_ent_in_out.payload_sz`.
const PAYLOAD_SZ_OFF: usize = IN_OUT_LEN + OP_IN_LEN + 16;
/// `sizeof(struct fuse_uring_req_header)`: the two areas and the 32-byte
/// `fuse_uring_ent_in_out`.
pub(crate) const REQ_HEADER_LEN: usize = IN_OUT_LEN + OP_IN_LEN + 32;

/// `FUSE_IO_URING_CMD_REGISTER`: hand an entry's buffers to the kernel and
/// wait for a first request.
pub(crate) const CMD_REGISTER: u32 = 1;
/// `FUSE_IO_URING_CMD_COMMIT_AND_FETCH`: the reply to `commit_id` is in the
/// entry's buffers; wait for the next request.
pub(crate) const CMD_COMMIT_AND_FETCH: u32 = 2;

/// Offset of `io_uring_sqe.len` (include/uapi/linux/io_uring.h: opcode,
/// flags, ioprio, fd, off, addr, then len).
const SQE_LEN_OFF: usize = 24;

/// `ring_ent_in_out.commit_id` of a header buffer.
pub(crate) fn commit_id(header: &[u8]) -> Option<u64> {
    peek_u64(header, COMMIT_ID_OFF)
}

/// `ring_ent_in_out.payload_sz` of a header buffer.
pub(crate) fn payload_sz(header: &[u8]) -> Option<u32> {
    peek_u32(header, PAYLOAD_SZ_OFF)
}

/// Sets `ring_ent_in_out.payload_sz` (the reply body length). No-op on a
/// buffer too short to be a header (never the case for ring buffers).
pub(crate) fn set_payload_sz(header: &mut [u8], n: u32) {
    if let Some(b) = header.get_mut(PAYLOAD_SZ_OFF..PAYLOAD_SZ_OFF + 4) {
        b.copy_from_slice(&n.to_le_bytes());
    }
}

/// The length of the request's first argument in `op_in`: what `len` of
/// the `fuse_in_header` counts beyond the header and the payload.
///
/// Errors: `None` when the header's `len` is shorter than header plus
/// payload, or the rest does not fit in `op_in` (a kernel that fills the
/// buffers differently: the request is answered `EIO`).
pub(crate) fn op_in_len(in_len: u32, in_header_len: usize, payload: usize) -> Option<usize> {
    let rest = (in_len as usize)
        .checked_sub(in_header_len)?
        .checked_sub(payload)?;
    (rest <= OP_IN_LEN).then_some(rest)
}

/// The 80-byte command area: `struct fuse_uring_cmd_req` (flags, commit_id,
/// qid), zero elsewhere.
fn cmd_req(qid: u16, commit_id: u64) -> [u8; 80] {
    let mut c = [0u8; 80];
    c[8..16].copy_from_slice(&commit_id.to_le_bytes());
    c[16..18].copy_from_slice(&qid.to_le_bytes());
    c
}

/// `FUSE_IO_URING_CMD_REGISTER` of the entry whose two iovecs (header,
/// payload) are at `iov`, on queue `qid` of the connection `fd`.
///
/// The kernel requires `sqe->len == 2` (the iovec count), a field the
/// crate's `UringCmd80` builder leaves 0: it is set in the built entry's
/// bytes (see [`with_sqe_len`]).
pub(crate) fn register(fd: i32, qid: u16, iov: *const libc::iovec, user_data: u64) -> Entry128 {
    let e = UringCmd80::new(Fd(fd), CMD_REGISTER)
        .cmd(cmd_req(qid, 0))
        .addr(Some(iov as u64))
        .build()
        .user_data(user_data);
    with_sqe_len(e, 2)
}

/// `FUSE_IO_URING_CMD_COMMIT_AND_FETCH` of the reply to `commit_id` on
/// queue `qid`.
pub(crate) fn commit_and_fetch(fd: i32, qid: u16, commit_id: u64, user_data: u64) -> Entry128 {
    UringCmd80::new(Fd(fd), CMD_COMMIT_AND_FETCH)
        .cmd(cmd_req(qid, commit_id))
        .build()
        .user_data(user_data)
}

/// `e` with `io_uring_sqe.len` set to `len`.
fn with_sqe_len(e: Entry128, len: u32) -> Entry128 {
    // SAFETY: `Entry128` is `#[repr(C)]` over `Entry` (itself `#[repr(C)]`
    // over the 64-byte `io_uring_sqe`) and 64 command bytes, 128 bytes in
    // all with no padding (io-uring's own size test); every bit pattern of
    // it is a valid value (integers and byte arrays only), so it converts
    // to bytes and back. The `sqe_len_offset_matches_the_crate` test checks
    // the offset against an opcode whose builder sets `len`.
    let mut bytes: [u8; 128] = unsafe { std::mem::transmute(e) };
    bytes[SQE_LEN_OFF..SQE_LEN_OFF + 4].copy_from_slice(&len.to_le_bytes());
    // SAFETY: as above, bytes of a valid `Entry128` with one u32 changed.
    unsafe { std::mem::transmute::<[u8; 128], Entry128>(bytes) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(e: Entry128) -> [u8; 128] {
        // SAFETY: see `with_sqe_len`.
        unsafe { std::mem::transmute(e) }
    }

    #[test]
    fn sqe_len_offset_matches_the_crate() {
        let iov = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; 2];
        let readv = io_uring::opcode::Readv::new(Fd(3), iov.as_ptr(), 0x0102_0304).build();
        let b = bytes(Entry128::from(readv));
        assert_eq!(
            b[SQE_LEN_OFF..SQE_LEN_OFF + 4],
            0x0102_0304u32.to_le_bytes()
        );
    }

    #[test]
    fn register_carries_qid_iovecs_and_count() {
        let iov = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; 2];
        let b = bytes(register(7, 3, iov.as_ptr(), 99));
        assert_eq!(b[0], io_uring::opcode::UringCmd80::CODE);
        assert_eq!(b[4..8], 7i32.to_le_bytes()); // fd
        assert_eq!(b[8..12], CMD_REGISTER.to_le_bytes()); // cmd_op (union with off)
        assert_eq!(b[16..24], (iov.as_ptr() as u64).to_le_bytes()); // addr
        assert_eq!(b[24..28], 2u32.to_le_bytes()); // len
        assert_eq!(b[32..40], 99u64.to_le_bytes()); // user_data
        // The command area starts at byte 48: flags, commit_id, qid.
        assert_eq!(b[48 + 16..48 + 18], 3u16.to_le_bytes());
        assert_eq!(b[48..48 + 16], [0u8; 16]);
    }

    #[test]
    fn commit_carries_the_commit_id() {
        let b = bytes(commit_and_fetch(5, 1, 0xdead_beef, 4));
        assert_eq!(b[8..12], CMD_COMMIT_AND_FETCH.to_le_bytes());
        assert_eq!(b[48 + 8..48 + 16], 0xdead_beefu64.to_le_bytes());
        assert_eq!(b[48 + 16..48 + 18], 1u16.to_le_bytes());
        assert_eq!(b[24..28], [0u8; 4]);
    }

    #[test]
    fn header_fields_are_bounds_checked() {
        let mut h = [0u8; REQ_HEADER_LEN];
        h[COMMIT_ID_OFF..COMMIT_ID_OFF + 8].copy_from_slice(&42u64.to_le_bytes());
        set_payload_sz(&mut h, 7);
        assert_eq!(commit_id(&h), Some(42));
        assert_eq!(payload_sz(&h), Some(7));
        assert_eq!(commit_id(&h[..100]), None);
        assert_eq!(payload_sz(&h[..PAYLOAD_SZ_OFF + 3]), None);
        set_payload_sz(&mut h[..10], 1); // too short: ignored, no panic
    }

    #[test]
    fn op_in_len_checks_the_header_len() {
        assert_eq!(op_in_len(40 + 16 + 5, 40, 5), Some(16));
        assert_eq!(op_in_len(40 + 5, 40, 5), Some(0));
        assert_eq!(op_in_len(40 + 129, 40, 0), None);
        assert_eq!(op_in_len(39, 40, 0), None);
        assert_eq!(op_in_len(44, 40, 5), None);
        assert_eq!(op_in_len(u32::MAX, 40, usize::MAX), None);
    }
}
