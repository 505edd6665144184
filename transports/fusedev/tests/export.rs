//! File handles of the mount survive the kernel dropping its caches
//! (export support): `name_to_handle_at(2)` on a file and a directory,
//! `echo 2` and `echo 3 > /proc/sys/vm/drop_caches` (the kernel forgets the
//! inodes and sends FORGET), then `open_by_handle_at(2)` reads the file and
//! lists the directory (the kernel's LOOKUP of "." for node ids it no
//! longer has). A handle of a deleted file is `ESTALE`. With
//! `--export-support off` the kernel refuses to make handles.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Daemon, TempDir, can_mount, sh};
use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const MAX_HANDLE_SZ: usize = 128;

/// `struct file_handle` with room for the largest handle.
#[repr(C)]
struct Handle {
    handle_bytes: u32,
    handle_type: libc::c_int,
    f_handle: [u8; MAX_HANDLE_SZ],
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// `name_to_handle_at(AT_FDCWD, path, ..., 0)`, or the errno.
fn name_to_handle(path: &Path) -> Result<Handle, i32> {
    let c = CString::new(path.as_os_str().as_bytes()).expect("path");
    let mut h = Handle {
        handle_bytes: MAX_HANDLE_SZ as u32,
        handle_type: 0,
        f_handle: [0; MAX_HANDLE_SZ],
    };
    let mut mount_id: libc::c_int = 0;
    // SAFETY: `h` is a file_handle with `handle_bytes` bytes of room, `c`
    // is NUL-terminated, `mount_id` is a valid int; all outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_name_to_handle_at,
            libc::AT_FDCWD,
            c.as_ptr(),
            &mut h as *mut Handle,
            &mut mount_id as *mut libc::c_int,
            0,
        )
    };
    if r < 0 { Err(errno()) } else { Ok(h) }
}

/// `open_by_handle_at(mount, h, flags)`, or the errno.
fn open_by_handle(mount: &OwnedFd, h: &Handle, flags: i32) -> Result<OwnedFd, i32> {
    // SAFETY: `h` is a valid file_handle (as name_to_handle_at filled it);
    // the kernel only reads it.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_by_handle_at,
            mount.as_raw_fd(),
            h as *const Handle,
            flags | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: a descriptor the kernel just gave us, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn open_dir(p: &Path) -> OwnedFd {
    OwnedFd::from(std::fs::File::open(p).expect("open mount"))
}

fn names(fd: &OwnedFd) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .expect("list by handle")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn handles_survive_drop_caches() {
    if !can_mount("handles_survive_drop_caches") {
        return;
    }
    let tmp = TempDir::new("export");
    let src = tmp.sub("src");
    let mnt = tmp.sub("mnt");
    std::fs::write(src.join("f"), b"kept by handle").unwrap();
    std::fs::create_dir_all(src.join("d/sub")).unwrap();
    std::fs::write(src.join("d/a"), b"a").unwrap();
    std::fs::write(src.join("gone"), b"x").unwrap();
    let mut daemon = Daemon::start(&src, &mnt, &[]);
    let hf = name_to_handle(&mnt.join("f")).expect("name_to_handle_at file");
    let hd = name_to_handle(&mnt.join("d")).expect("name_to_handle_at dir");
    let hs = name_to_handle(&mnt.join("d/sub")).expect("name_to_handle_at subdir");
    let hg = name_to_handle(&mnt.join("gone")).expect("name_to_handle_at gone");
    std::fs::remove_file(mnt.join("gone")).unwrap();
    let mount = open_dir(&mnt);
    for level in [2, 3] {
        sh(&format!("sync; echo {level} > /proc/sys/vm/drop_caches"));
        let f = open_by_handle(&mount, &hf, libc::O_RDONLY).unwrap_or_else(|e| {
            panic!("open_by_handle_at file after drop_caches {level}: errno {e}")
        });
        let mut buf = Vec::new();
        std::fs::File::from(f).read_to_end(&mut buf).unwrap();
        assert_eq!(buf, b"kept by handle");
        let d =
            open_by_handle(&mount, &hd, libc::O_RDONLY | libc::O_DIRECTORY).unwrap_or_else(|e| {
                panic!("open_by_handle_at dir after drop_caches {level}: errno {e}")
            });
        assert_eq!(names(&d), ["a", "sub"]);
        drop(d);
        // A directory below another one the kernel dropped: reconnected
        // through LOOKUP of "..".
        sh(&format!("echo {level} > /proc/sys/vm/drop_caches"));
        let s =
            open_by_handle(&mount, &hs, libc::O_RDONLY | libc::O_DIRECTORY).unwrap_or_else(|e| {
                panic!("open_by_handle_at subdir after drop_caches {level}: errno {e}")
            });
        assert!(names(&s).is_empty());
        drop(s);
        assert_eq!(
            open_by_handle(&mount, &hg, libc::O_RDONLY).map(drop),
            Err(libc::ESTALE),
            "a deleted file's handle"
        );
    }
    drop(mount);
    let st = daemon.stop();
    assert!(st.success(), "arcbox-fuse exit status {st}");
}

#[test]
fn export_support_off_refuses_handles() {
    if !can_mount("export_support_off_refuses_handles") {
        return;
    }
    let tmp = TempDir::new("noexport");
    let src = tmp.sub("src");
    let mnt = tmp.sub("mnt");
    std::fs::write(src.join("f"), b"x").unwrap();
    let mut daemon = Daemon::start(&src, &mnt, &["--export-support", "off"]);
    assert_eq!(
        name_to_handle(&mnt.join("f")).map(drop),
        Err(libc::EOPNOTSUPP)
    );
    let st = daemon.stop();
    assert!(st.success(), "arcbox-fuse exit status {st}");
}
