//! Hostile-guest hardening of `PassthroughFs` (over `MemHost`), each test
//! a request pattern that misbehaved before its fix:
//! - a combined WRITE past the host's file-size limit was acknowledged and
//!   failed only at FLUSH (data loss);
//! - GETATTR / SETATTR with another node's handle answered for that node,
//!   RELEASEDIR closed a file handle, RELEASE a directory handle;
//! - a reply buffer too small for the reply still let OPEN, MKDIR and LOOKUP
//!   take effect (a handle leaked, a lookup was counted, a directory made);
//! - a creating request from uid or gid `(u32)-1` made an object.
#![allow(clippy::unwrap_used)]

#[path = "../../tests/src/fuse.rs"]
mod fuse;

use arcbox_fs::abi::*;
use arcbox_fs::memhost::{MemHost, MemHostConfig};
use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
use arcbox_fs::{Errno, Timespec};
use fuse::Session;
use zerocopy::IntoBytes;

type S = Session<PassthroughFs<MemHost>>;

const ROOT: u64 = ROOT_ID;
const RW: u32 = 2;
const REG: u32 = mode::S_IFREG;
const LIMIT: u64 = 1 << 20;

fn clock() -> Timespec {
    Timespec::new(1_000, 0)
}

fn session() -> S {
    let host = MemHost::with_config(
        MemHostConfig {
            max_file_size: LIMIT,
            ..MemHostConfig::default()
        },
        clock,
    );
    Session::new(fuse::on_big_stack(move || {
        PassthroughFs::new(host, PassthroughConfig::default()).unwrap()
    }))
}

#[test]
fn a_small_write_past_the_host_limit_is_refused_not_acknowledged() {
    let mut s = session();
    let (e, o) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    // Ends 50 bytes past the host's limit: small enough to combine.
    let r = s.write(e.nodeid, o.fh, LIMIT - 50, &[7u8; 100]);
    assert!(
        !matches!(r, Ok(100)),
        "a write the host cannot store was acknowledged whole: {r:?}"
    );
    assert_eq!(r, Err(Errno::EFBIG));
    // Nothing deferred remains to surprise FLUSH or FSYNC.
    assert_eq!(s.flush(e.nodeid, o.fh, 0), Ok(()));
    assert_eq!(s.fsync(e.nodeid, o.fh, false), Ok(()));
    // Within the limit, writes still combine and land.
    assert_eq!(s.write(e.nodeid, o.fh, LIMIT - 100, &[1u8; 100]), Ok(100));
    assert_eq!(s.flush(e.nodeid, o.fh, 0), Ok(()));
    assert_eq!(s.getattr(e.nodeid).unwrap().size, LIMIT);
    assert_eq!(s.release(e.nodeid, o.fh), Ok(()));
}

#[test]
fn a_write_at_the_largest_offset_is_refused() {
    let mut s = session();
    let (e, o) = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    let near = i64::MAX as u64 - 10;
    assert!(s.write(e.nodeid, o.fh, near, &[1u8; 64]).is_err());
    assert!(s.write(e.nodeid, o.fh, u64::MAX - 10, &[1u8; 64]).is_err());
    assert_eq!(s.flush(e.nodeid, o.fh, 0), Ok(()));
}

#[test]
fn handles_must_belong_to_their_node_and_kind() {
    let mut s = session();
    let (a, oa) = s.create(ROOT, b"a", RW, REG | 0o644).unwrap();
    let (b, ob) = s.create(ROOT, b"b", RW, REG | 0o600).unwrap();
    assert_eq!(s.write(b.nodeid, ob.fh, 0, b"bbbbbbbb"), Ok(8));
    let d = s.mkdir(ROOT, b"d", 0o755).unwrap();
    let dh = s.opendir(d.nodeid).unwrap();

    // GETATTR_FH with b's handle on a: refused, not b's attributes.
    assert_eq!(s.getattr_fh(a.nodeid, Some(ob.fh)), Err(Errno::EBADF));
    assert_eq!(s.getattr_fh(a.nodeid, Some(dh)), Err(Errno::EBADF));
    assert_eq!(s.getattr_fh(a.nodeid, Some(0xdead)), Err(Errno::EBADF));
    assert_eq!(s.getattr_fh(b.nodeid, Some(ob.fh)).unwrap().size, 8);
    // SETATTR with FATTR_FH of another node: refused, nothing truncated.
    let set = SetattrIn {
        valid: (SetattrValid::FH | SetattrValid::SIZE).bits(),
        fh: ob.fh,
        size: 0,
        ..SetattrIn::default()
    };
    assert_eq!(s.setattr(a.nodeid, &set), Err(Errno::EBADF));
    assert_eq!(s.getattr(b.nodeid).unwrap().size, 8);

    // RELEASEDIR of a file handle, RELEASE of a directory handle, and
    // either on the wrong node: EBADF, and the handle stays open.
    assert_eq!(s.releasedir(a.nodeid, oa.fh), Err(Errno::EBADF));
    assert_eq!(s.releasedir(b.nodeid, dh), Err(Errno::EBADF));
    assert_eq!(s.release(d.nodeid, dh), Err(Errno::EBADF));
    assert_eq!(s.release(b.nodeid, oa.fh), Err(Errno::EBADF));
    assert_eq!(s.fsyncdir(a.nodeid, dh), Err(Errno::EBADF));
    assert_eq!(s.fs().open_handles(), 3);
    assert_eq!(s.write(a.nodeid, oa.fh, 0, b"a"), Ok(1));
    assert!(s.readdir(d.nodeid, dh, 0, 4096, false).is_ok());
    // The right pairs close.
    assert_eq!(s.releasedir(d.nodeid, dh), Ok(()));
    assert_eq!(s.release(a.nodeid, oa.fh), Ok(()));
    assert_eq!(s.release(b.nodeid, ob.fh), Ok(()));
    assert_eq!(s.fs().open_handles(), 0);
}

#[test]
fn a_reply_that_cannot_fit_means_the_request_never_acted() {
    let mut s = session();
    let f = s.create(ROOT, b"f", RW, REG | 0o644).unwrap();
    s.release(f.0.nodeid, f.1.fh).unwrap();
    let lookups = s.fs().inodes().lookups(f.0.nodeid);
    let handles = s.fs().open_handles();

    // A 16-byte buffer holds an error header only.
    let open = OpenIn {
        flags: RW,
        open_flags: 0,
    };
    let r = s
        .call_cap(Opcode::OPEN as u32, f.0.nodeid, &[open.as_bytes()], 16)
        .unwrap();
    assert_eq!(r.result(), Err(Errno::ERANGE));
    assert_eq!(s.fs().open_handles(), handles, "OPEN leaked a handle");

    let r = s
        .call_cap(Opcode::LOOKUP as u32, ROOT, &[&fuse::cstr(b"f")], 16)
        .unwrap();
    assert_eq!(r.result(), Err(Errno::ERANGE));
    assert_eq!(s.fs().inodes().lookups(f.0.nodeid), lookups);

    let mk = MkdirIn {
        mode: 0o755,
        umask: 0,
    };
    let r = s
        .call_cap(
            Opcode::MKDIR as u32,
            ROOT,
            &[mk.as_bytes(), &fuse::cstr(b"d")],
            100,
        )
        .unwrap();
    assert_eq!(r.result(), Err(Errno::ERANGE));
    assert_eq!(s.lookup(ROOT, b"d").map(|e| e.nodeid), Ok(0), "MKDIR acted");

    let c = CreateIn {
        flags: RW,
        mode: REG | 0o644,
        umask: 0,
        open_flags: 0,
    };
    let r = s
        .call_cap(
            Opcode::CREATE as u32,
            ROOT,
            &[c.as_bytes(), &fuse::cstr(b"g")],
            16 + 128,
        )
        .unwrap();
    assert_eq!(r.result(), Err(Errno::ERANGE));
    assert_eq!(
        s.lookup(ROOT, b"g").map(|e| e.nodeid),
        Ok(0),
        "CREATE acted"
    );
    assert_eq!(s.fs().open_handles(), handles);

    // Below a header there is no reply at all, and still no effect.
    let mut out = [0u8; 8];
    let req = fuse::raw(
        Opcode::OPEN as u32,
        99,
        f.0.nodeid,
        0,
        0,
        &[open.as_bytes()],
    );
    assert!(matches!(
        s.d.handle(s.now, &req[..], &mut out[..]),
        arcbox_fs::Outcome::Dropped(_)
    ));
    assert_eq!(s.fs().open_handles(), handles);
    // A buffer that fits works.
    assert!(s.open(f.0.nodeid, RW).is_ok());
}

#[test]
fn creating_as_an_unmapped_id_is_refused() {
    let mut s = session();
    for (uid, gid) in [(u32::MAX, 0), (0, u32::MAX), (u32::MAX, u32::MAX)] {
        s.uid = uid;
        s.gid = gid;
        assert_eq!(s.mkdir(ROOT, b"d", 0o755).err(), Some(Errno::EINVAL));
        assert_eq!(
            s.create(ROOT, b"f", RW, REG | 0o644).err(),
            Some(Errno::EINVAL)
        );
        assert_eq!(
            s.mknod(ROOT, b"n", REG | 0o644, 0).err(),
            Some(Errno::EINVAL)
        );
        assert_eq!(s.symlink(ROOT, b"l", b"t").err(), Some(Errno::EINVAL));
    }
    s.uid = 0;
    s.gid = 0;
    assert_eq!(s.lookup(ROOT, b"d").map(|e| e.nodeid), Ok(0));
    assert!(s.mkdir(ROOT, b"d", 0o755).is_ok());
}

mod lock_waits {
    use super::*;
    use arcbox_fs::FileSystem;
    use arcbox_fs::passthrough::lockwait::MAX_WAITS;
    use std::sync::Arc;
    use std::time::Duration;

    fn lk(fh: u64, owner: u64, typ: u32) -> LkIn {
        LkIn {
            fh,
            owner,
            lk: FileLock {
                start: 0,
                end: u64::MAX >> 1,
                typ,
                pid: owner as u32,
            },
            lk_flags: 0,
            padding: 0,
        }
    }

    fn setlkw(
        d: &arcbox_fs::FuseDispatcher<PassthroughFs<MemHost>>,
        unique: u64,
        node: u64,
        arg: &LkIn,
    ) -> Result<(), Errno> {
        let req = fuse::raw(Opcode::SETLKW as u32, unique, node, 0, 0, &[arg.as_bytes()]);
        fuse::run(d, arcbox_fs::Instant::ZERO, &req, 256)
            .expect("SETLKW is answered")
            .result()
            .map(|_| ())
    }

    /// A file locked by owner 1, and a dispatcher shared with waiter threads.
    fn locked() -> (
        Arc<arcbox_fs::FuseDispatcher<PassthroughFs<MemHost>>>,
        u64,
        u64,
    ) {
        let mut s = session();
        let (e, o) = s.create(ROOT, b"l", RW, REG | 0o644).unwrap();
        s.setlk(
            e.nodeid,
            o.fh,
            1,
            lk(o.fh, 1, lock::F_WRLCK).lk,
            false,
            false,
        )
        .unwrap();
        (Arc::new(s.d), e.nodeid, o.fh)
    }

    #[test]
    fn a_waiting_setlkw_is_granted_interrupted_or_cancelled() {
        let (d, node, fh) = locked();
        // Granted when the holder unlocks.
        let w = {
            let d = d.clone();
            std::thread::spawn(move || setlkw(&d, 500, node, &lk(fh, 2, lock::F_WRLCK)))
        };
        std::thread::sleep(Duration::from_millis(20));
        assert!(!w.is_finished(), "SETLKW on a held lock returned at once");
        setlkw(&d, 501, node, &lk(fh, 1, lock::F_UNLCK)).unwrap();
        assert_eq!(w.join().unwrap(), Ok(()));

        // Interrupted by its unique: EINTR, the lock stays with owner 2.
        let w = {
            let d = d.clone();
            std::thread::spawn(move || setlkw(&d, 600, node, &lk(fh, 3, lock::F_WRLCK)))
        };
        std::thread::sleep(Duration::from_millis(20));
        let int = fuse::raw(
            Opcode::INTERRUPT as u32,
            601,
            0,
            0,
            0,
            &[InterruptIn { unique: 600 }.as_bytes()],
        );
        assert!(fuse::run(&d, arcbox_fs::Instant::ZERO, &int, 64).is_none());
        assert_eq!(w.join().unwrap(), Err(Errno::EINTR));

        // Cancelled by a reset.
        let w = {
            let d = d.clone();
            std::thread::spawn(move || setlkw(&d, 700, node, &lk(fh, 4, lock::F_WRLCK)))
        };
        // A reset cancels the waits in progress: repeat as a transport does
        // until the request is done (it may not have started waiting yet).
        while !w.is_finished() {
            d.fs().cancel_blocked();
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(w.join().unwrap(), Err(Errno::EINTR));
    }

    #[test]
    fn waits_are_bounded() {
        let (d, node, fh) = locked();
        let waiters: Vec<_> = (0..MAX_WAITS as u64)
            .map(|i| {
                let d = d.clone();
                std::thread::spawn(move || {
                    setlkw(&d, 1000 + i, node, &lk(fh, 100 + i, lock::F_WRLCK))
                })
            })
            .collect();
        while d.fs().waiting_locks() < MAX_WAITS {
            std::thread::sleep(Duration::from_millis(1));
        }
        // One more is refused at once rather than tying up another thread.
        assert_eq!(
            setlkw(&d, 5000, node, &lk(fh, 9999, lock::F_WRLCK)),
            Err(Errno::ENOLCK)
        );
        // Non-blocking requests are still served meanwhile.
        let getattr = fuse::raw(
            Opcode::GETATTR as u32,
            5001,
            node,
            0,
            0,
            &[GetattrIn::default().as_bytes()],
        );
        assert!(
            fuse::run(&d, arcbox_fs::Instant::ZERO, &getattr, 256)
                .unwrap()
                .result()
                .is_ok()
        );
        d.fs().cancel_blocked();
        for w in waiters {
            assert_eq!(w.join().unwrap(), Err(Errno::EINTR));
        }
    }
}
