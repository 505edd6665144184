//! Supplementary groups never leak from the server to a guest request
//! (the pattern of CVE-2022-0358 in virtiofsd): a server holding group 6
//! must not let guest uid 1000, which is not in group 6, create in a
//! root:6 mode 02770 directory. Needs root (it changes the process's groups
//! and creates as other users); its own test binary, since supplementary
//! groups belong to the whole process.
#![allow(clippy::unwrap_used)]

use arcbox_fs::abi::*;
use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};
use arcbox_fs::{Errno, Outcome};
use arcbox_fs_linux::LinuxHost;
use arcbox_fs_tests::fuse::{self, Session, on_big_stack};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use zerocopy::IntoBytes;

const GROUP: u32 = 6;

fn set_process_groups(groups: &[u32]) {
    // SAFETY: the list holds `groups.len()` gids.
    let r = unsafe { libc::setgroups(groups.len(), groups.as_ptr()) };
    assert_eq!(r, 0, "setgroups: {}", std::io::Error::last_os_error());
}

fn process_groups() -> usize {
    // SAFETY: a zero size asks only for the count.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    usize::try_from(n).unwrap()
}

/// CREATE of `name` in `parent` as uid/gid 1000 with an optional
/// `FUSE_EXT_GROUPS` extension naming `supp`.
fn create_as_1000(
    s: &mut Session<PassthroughFs<LinuxHost>>,
    parent: u64,
    name: &[u8],
    supp: Option<u32>,
) -> Result<EntryOut, Errno> {
    let arg = CreateIn {
        flags: 2 | 0o100, // O_RDWR | O_CREAT
        mode: mode::S_IFREG | 0o660,
        umask: 0,
        open_flags: 0,
    };
    let mut req = fuse::raw(
        Opcode::CREATE as u32,
        777,
        parent,
        1000,
        1000,
        &[arg.as_bytes(), &fuse::cstr(name)],
    );
    if let Some(g) = supp {
        // struct fuse_ext_header { size, type } + fuse_supp_groups { nr, groups[1] }.
        for w in [16u32, EXT_GROUPS, 1, g] {
            req.extend_from_slice(&w.to_le_bytes());
        }
        let len = req.len() as u32;
        req[0..4].copy_from_slice(&len.to_le_bytes());
        req[36..38].copy_from_slice(&2u16.to_le_bytes());
    }
    let mut out = vec![0u8; 4096];
    let n = match s.d.handle(s.now, &req[..], &mut out[..]) {
        Outcome::Reply(n) => n,
        o => panic!("no reply: {o:?}"),
    };
    let (h, body) = OutHeader::read_from_prefix(&out[..n]).unwrap();
    if h.error != 0 {
        return Err(Errno::from_raw(-h.error));
    }
    let (e, _) = EntryOut::read_from_prefix(body).unwrap();
    Ok(e)
}

use zerocopy::FromBytes;

#[test]
fn server_groups_never_reach_guest_requests() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("########## SKIPPED: needs root (changes the process's groups)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let share = tmp.path().join("share");
    fs::create_dir(&share).unwrap();
    fs::set_permissions(&share, fs::Permissions::from_mode(0o777)).unwrap();
    let g = share.join("g");
    fs::create_dir(&g).unwrap();
    std::os::unix::fs::chown(&g, Some(0), Some(GROUP)).unwrap();
    fs::set_permissions(&g, fs::Permissions::from_mode(0o2770)).unwrap();

    // The server starts holding group 6.
    set_process_groups(&[GROUP]);
    let host = on_big_stack(move || LinuxHost::new(share).unwrap());
    assert_eq!(process_groups(), 0, "LinuxHost keeps the server's groups");
    let mut s = Session::new(on_big_stack(move || {
        PassthroughFs::new(host, PassthroughConfig::default()).unwrap()
    }));
    let gdir = s.lookup_found(ROOT_ID, b"g").unwrap().nodeid;

    assert_eq!(
        create_as_1000(&mut s, gdir, b"a", None).err(),
        Some(Errno::EACCES)
    );
    // Even if the process gains the group again, a request runs with its own.
    set_process_groups(&[GROUP]);
    assert_eq!(
        create_as_1000(&mut s, gdir, b"b", None).err(),
        Some(Errno::EACCES)
    );
    assert!(!tmp.path().join("share/g/a").exists());
    assert!(!tmp.path().join("share/g/b").exists());
    // A request whose FUSE_EXT_GROUPS names group 6 may create, and the new
    // file belongs to the setgid directory's group.
    let e = create_as_1000(&mut s, gdir, b"c", Some(GROUP)).unwrap();
    assert_eq!(e.attr.gid, GROUP);
    let m = fs::metadata(tmp.path().join("share/g/c")).unwrap();
    assert_eq!((m.uid(), m.gid()), (1000, GROUP));
    // The worker thread's own groups are back as they were.
    let mut buf = [0u32; 8];
    // SAFETY: the kernel writes at most 8 gids into `buf`.
    let n = unsafe { libc::syscall(libc::SYS_getgroups, 8, buf.as_mut_ptr()) };
    assert_eq!(&buf[..n as usize], &[GROUP]);
    set_process_groups(&[]);
}
