//! Property tests: arbitrary bytes never panic the dispatcher (before and
//! after INIT), every reply's header `len` equals the bytes reported and fits
//! the sink, and every wire struct round-trips through parse and encode.
#![allow(clippy::unwrap_used)]

mod common;

use arcbox_fs::abi::*;
use arcbox_fs::memfs::MemFs;
use arcbox_fs::{FuseDispatcher, Instant, Outcome, SgList};
use common::*;
use proptest::prelude::*;
use zerocopy::{FromBytes, IntoBytes};

/// Checks the reply framing invariants for one `handle` call.
fn check(req_len: usize, cap: usize, out: &[u8], o: Outcome) {
    match o {
        Outcome::Reply(n) => {
            assert!(n >= OUT_HDR && n <= cap, "reply {n} in {cap}");
            let (h, _) = OutHeader::read_from_prefix(out).unwrap();
            assert_eq!(h.len as usize, n);
            if h.error != 0 {
                assert!(h.error < 0 && h.error > -4096);
                assert_eq!(n, OUT_HDR);
            }
        }
        Outcome::NoReply => {}
        Outcome::Dropped(_) => assert!(
            req_len < IN_HDR || cap < OUT_HDR,
            "dropped a readable request"
        ),
    }
}

fn handle(d: &FuseDispatcher<MemFs>, req: &[u8], cap: usize) {
    let mut out = vec![0u8; cap];
    let o = d.handle(Instant::ZERO, req, &mut out[..]);
    check(req.len(), cap, &out, o);
}

fn initialised() -> FuseDispatcher<MemFs> {
    let d = FuseDispatcher::new(MemFs::new());
    handle(
        &d,
        &raw(26, 1, 0, 0, 0, &[&init_body(7, 41, all_flags())]),
        4096,
    );
    assert!(d.negotiated_minor().is_some());
    d
}

/// A request with a plausible header: a known (or random) opcode, a consistent
/// (or random) length, a small (or random) node id, and a random body.
fn request() -> impl Strategy<Value = Vec<u8>> {
    let opcode = prop_oneof![
        4 => proptest::sample::select(Opcode::ALL).prop_map(|o| o as u32),
        1 => any::<u32>(),
    ];
    let nodeid = prop_oneof![4 => 0u64..8, 1 => any::<u64>()];
    let body = proptest::collection::vec(any::<u8>(), 0..320);
    let len_fix = prop_oneof![4 => Just(None), 1 => any::<u32>().prop_map(Some)];
    (
        opcode,
        nodeid,
        any::<u64>(),
        body,
        len_fix,
        any::<u16>(),
        any::<u32>(),
    )
        .prop_map(|(op, node, unique, body, len, extlen, uid)| {
            let mut r = raw(op, unique, node, uid % 3, 0, &[&body]);
            if let Some(l) = len {
                r[..4].copy_from_slice(&l.to_le_bytes());
            }
            if extlen % 8 == 0 {
                r[36..38].copy_from_slice(&(extlen % 5).to_le_bytes());
            }
            r
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_before_init(bytes in proptest::collection::vec(any::<u8>(), 0..512), cap in 0usize..1024) {
        let d = FuseDispatcher::new(MemFs::new());
        handle(&d, &bytes, cap);
    }

    #[test]
    fn random_bytes_after_init(bytes in proptest::collection::vec(any::<u8>(), 0..512), cap in 0usize..1024) {
        handle(&initialised(), &bytes, cap);
    }

    #[test]
    fn plausible_request_sequences(reqs in proptest::collection::vec(request(), 1..24), cap in prop_oneof![Just(8192usize), 0usize..600]) {
        // Before INIT, then the same requests on a session that has files.
        let d = FuseDispatcher::new(MemFs::new());
        for r in &reqs {
            handle(&d, r, cap);
        }
        let mut s = Session::new();
        let c = CreateIn { flags: 2, mode: 0o644, umask: 0, open_flags: 0 };
        s.reply(Opcode::CREATE, ROOT_ID, &[c.as_bytes(), b"f\0"]);
        s.reply(Opcode::MKDIR, ROOT_ID, &[MkdirIn { mode: 0o755, umask: 0 }.as_bytes(), b"d\0"]);
        s.reply(Opcode::OPENDIR, 3, &[OpenIn::default().as_bytes()]);
        for r in &reqs {
            handle(&s.d, r, cap);
        }
    }

    #[test]
    fn scattered_random_requests_match(req in request(), seg in 1usize..9) {
        let (a, b) = (initialised(), initialised());
        let mut out_a = vec![0u8; 4096];
        let mut out_b = vec![0u8; 4096];
        let oa = a.handle(Instant::ZERO, &req[..], &mut out_a[..]);
        let segs: Vec<&[u8]> = req.chunks(seg).collect();
        let ob = b.handle(Instant::ZERO, &SgList::new(&segs), &mut out_b[..]);
        prop_assert_eq!(oa, ob);
        if let Outcome::Reply(n) = oa {
            prop_assert_eq!(&out_a[..n], &out_b[..n]);
        }
    }
}

/// Parses `bytes` as `T`, checks it re-encodes to the same bytes, also from an
/// unaligned copy, and that a wrong size is refused.
fn round_trip<T: FromBytes + IntoBytes + zerocopy::Immutable + PartialEq + core::fmt::Debug>(
    bytes: &[u8],
) {
    let v = T::read_from_bytes(bytes).unwrap();
    assert_eq!(v.as_bytes(), bytes);
    let again = T::read_from_bytes(v.as_bytes()).unwrap();
    assert_eq!(again, v);
    let mut shifted = vec![0u8; bytes.len() + 1];
    shifted[1..].copy_from_slice(bytes);
    let (u, rest) = T::read_from_prefix(&shifted[1..]).unwrap();
    assert!(rest.is_empty());
    assert_eq!(u, v);
    assert!(T::read_from_bytes(&shifted).is_err());
    assert!(T::read_from_bytes(&bytes[..bytes.len() - 1]).is_err());
}

macro_rules! wire_table {
    ($($t:ident),* $(,)?) => {
        /// (name, size, round trip) for every wire struct.
        const TABLE: &[(&str, usize, fn(&[u8]))] = &[$((stringify!($t), core::mem::size_of::<$t>(), round_trip::<$t>),)*];
    };
}

wire_table!(
    Attr,
    SxTime,
    Statx,
    Kstatfs,
    FileLock,
    InHeader,
    OutHeader,
    EntryOut,
    ForgetIn,
    ForgetOne,
    BatchForgetIn,
    GetattrIn,
    AttrOut,
    StatxIn,
    StatxOut,
    MknodIn,
    MkdirIn,
    RenameIn,
    Rename2In,
    LinkIn,
    SetattrIn,
    OpenIn,
    CreateIn,
    OpenOut,
    ReleaseIn,
    FlushIn,
    ReadIn,
    WriteIn,
    WriteOut,
    StatfsOut,
    FsyncIn,
    SetxattrIn,
    GetxattrIn,
    GetxattrOut,
    LkIn,
    LkOut,
    AccessIn,
    InitIn,
    InitOut,
    InterruptIn,
    BmapIn,
    BmapOut,
    IoctlIn,
    IoctlIovec,
    IoctlOut,
    PollIn,
    PollOut,
    NotifyPollWakeupOut,
    FallocateIn,
    Dirent,
    DirentPlus,
    NotifyInvalInodeOut,
    NotifyInvalEntryOut,
    NotifyDeleteOut,
    NotifyStoreOut,
    NotifyRetrieveOut,
    NotifyRetrieveIn,
    LseekIn,
    LseekOut,
    CopyFileRangeIn,
    SetupmappingIn,
    RemovemappingIn,
    RemovemappingOne,
    SyncfsIn,
    ExtHeader,
    SuppGroups,
    SecctxHeader,
    Secctx,
    BackingMap,
);

#[test]
fn table_lists_every_wire_struct() {
    let table: Vec<(&str, usize)> = TABLE.iter().map(|(n, s, _)| (*n, *s)).collect();
    assert_eq!(table, WIRE_STRUCT_SIZES);
}

proptest! {
    #[test]
    fn wire_structs_round_trip(seed in proptest::collection::vec(any::<u8>(), 288)) {
        for (name, size, f) in TABLE {
            assert!(*size <= seed.len(), "{name}");
            f(&seed[..*size]);
        }
    }
}
