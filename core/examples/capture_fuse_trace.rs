//! Captures the requests of the real Linux FUSE client as test fixtures.
//!
//! Mounts a [`MemFs`] at a temporary directory through raw `/dev/fuse` and
//! mount(2) (`fd=N,rootmode=40000,user_id=0,group_id=0`), serves it on one
//! thread with [`FuseDispatcher`], and runs a workload in a child process
//! (this program with `--workload DIR`). Every request is saved as
//! `<seq>-<OPCODE>.bin` and its reply as `<seq>-<OPCODE>.reply` in the output
//! directory (default: `core/fixtures`). Needs root.
//!
//! `cargo run -p arcbox-fs --example capture_fuse_trace [OUT_DIR]`

#[cfg(target_os = "linux")]
mod linux {
    use arcbox_fs::abi::{InHeader, Opcode};
    use arcbox_fs::memfs::MemFs;
    use arcbox_fs::{DispatcherConfig, FuseDispatcher, Instant, Outcome};
    use std::ffi::CString;
    use std::fs;
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt, symlink};
    use std::path::{Path, PathBuf};
    use zerocopy::FromBytes;

    const MAX_WRITE: u32 = 128 * 1024;

    fn cstring(p: &Path) -> CString {
        CString::new(p.as_os_str().as_bytes()).expect("no NUL in path")
    }

    fn last_err(what: &str) -> std::io::Error {
        let e = std::io::Error::last_os_error();
        std::io::Error::new(e.kind(), format!("{what}: {e}"))
    }

    /// The workload, run in the child against the mount point.
    pub fn workload(dir: &Path) -> std::io::Result<()> {
        let d = dir.join("dir");
        fs::create_dir(&d)?;
        let f = d.join("file.txt");
        let mut file = fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .mode(0o644)
            .open(&f)?;
        file.write_all(b"hello from the Linux FUSE client\n")?;
        file.sync_all()?;
        file.seek(SeekFrom::Start(0))?;
        let mut back = String::new();
        file.read_to_string(&mut back)?;
        assert_eq!(back, "hello from the Linux FUSE client\n");
        drop(file);
        let meta = fs::metadata(&f)?;
        assert_eq!(meta.len(), 33);
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600))?;
        let names: Vec<_> = fs::read_dir(&d)?.collect::<Result<_, _>>()?;
        assert_eq!(names.len(), 1);
        fs::rename(&f, d.join("renamed.txt"))?;
        symlink("/etc/passwd", d.join("abs-link"))?;
        assert_eq!(fs::read_link(d.join("abs-link"))?, Path::new("/etc/passwd"));
        fs::hard_link(d.join("renamed.txt"), dir.join("hardlink"))?;
        let path = cstring(&dir.join("hardlink"));
        let (name, value) = (c"user.fixture", b"value");
        // SAFETY: valid NUL-terminated strings and a buffer of the given length.
        let r = unsafe {
            libc::setxattr(
                path.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        if r != 0 {
            return Err(last_err("setxattr"));
        }
        let mut buf = [0u8; 64];
        // SAFETY: as above; the buffer has 64 writable bytes.
        let n = unsafe {
            libc::getxattr(
                path.as_ptr(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n != value.len() as isize {
            return Err(last_err("getxattr"));
        }
        let t = fs::OpenOptions::new()
            .write(true)
            .open(dir.join("hardlink"))?;
        t.set_len(5)?;
        t.set_len(10_000)?;
        t.sync_data()?;
        drop(t);
        assert_eq!(fs::metadata(d.join("renamed.txt"))?.len(), 10_000);
        fs::remove_file(d.join("abs-link"))?;
        fs::remove_file(d.join("renamed.txt"))?;
        fs::remove_file(dir.join("hardlink"))?;
        assert!(fs::metadata(dir.join("missing")).is_err());
        fs::remove_dir(&d)?;
        assert_eq!(fs::read_dir(dir)?.count(), 0);
        Ok(())
    }

    /// Mounts, serves until the workload finishes, unmounts; records requests.
    pub fn capture(out_dir: &Path) -> std::io::Result<usize> {
        fs::create_dir_all(out_dir)?;
        let mnt = std::env::temp_dir().join(format!("arcbox-capture-{}", std::process::id()));
        fs::create_dir_all(&mnt)?;
        // SAFETY: a NUL-terminated path literal.
        let fd = unsafe { libc::open(c"/dev/fuse".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(last_err("open /dev/fuse"));
        }
        let opts =
            CString::new(format!("fd={fd},rootmode=40000,user_id=0,group_id=0")).expect("no NUL");
        let target = cstring(&mnt);
        // SAFETY: valid NUL-terminated strings; `opts` is the fuse mount data.
        let r = unsafe {
            libc::mount(
                c"arcbox-memfs".as_ptr(),
                target.as_ptr(),
                c"fuse.arcbox".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                opts.as_ptr().cast(),
            )
        };
        if r != 0 {
            return Err(last_err("mount"));
        }
        let child = std::process::Command::new(std::env::current_exe()?)
            .arg("--workload")
            .arg(&mnt)
            .spawn()?;
        let waiter = {
            let mnt = mnt.clone();
            std::thread::spawn(move || {
                let mut child = child;
                let status = child.wait();
                let target = cstring(&mnt);
                // SAFETY: a valid NUL-terminated path; a lazy unmount ends the session.
                unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
                status
            })
        };
        let cfg = DispatcherConfig {
            max_write: MAX_WRITE,
            ..DispatcherConfig::default()
        };
        let d = FuseDispatcher::with_config(MemFs::new(), cfg);
        let mut buf = vec![0u8; MAX_WRITE as usize + 4096];
        let mut out = vec![0u8; MAX_WRITE as usize + 4096];
        let mut seq = 0usize;
        loop {
            // SAFETY: `buf` has `buf.len()` writable bytes.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EINTR) | Some(libc::EAGAIN) | Some(libc::ENOENT) => continue,
                    Some(libc::ENODEV) => break,
                    _ => return Err(e),
                }
            }
            let req = &buf[..n as usize];
            let op = InHeader::read_from_prefix(req)
                .ok()
                .and_then(|(h, _)| Opcode::from_u32(h.opcode))
                .map_or("UNKNOWN", |o| o.name().trim_start_matches("FUSE_"));
            let stem = out_dir.join(format!("{seq:03}-{op}"));
            fs::write(stem.with_extension("bin"), req)?;
            seq += 1;
            if let Outcome::Reply(len) = d.handle(Instant::ZERO, req, &mut out[..]) {
                fs::write(stem.with_extension("reply"), &out[..len])?;
                // SAFETY: `out` holds `len` initialised bytes.
                let w = unsafe { libc::write(fd, out.as_ptr().cast(), len) };
                if w < 0 {
                    eprintln!("reply {seq}: {}", std::io::Error::last_os_error());
                }
            }
        }
        // SAFETY: `fd` is ours and open.
        unsafe { libc::close(fd) };
        let status = waiter
            .join()
            .map_err(|_| std::io::Error::other("waiter panicked"))??;
        let _ = fs::remove_dir(&mnt);
        if !status.success() {
            return Err(std::io::Error::other(format!("workload failed: {status}")));
        }
        Ok(seq)
    }

    /// Entry point.
    pub fn main() -> std::io::Result<()> {
        let args: Vec<String> = std::env::args().collect();
        if args.get(1).map(String::as_str) == Some("--workload") {
            let dir = PathBuf::from(
                args.get(2)
                    .ok_or_else(|| std::io::Error::other("--workload DIR"))?,
            );
            return workload(&dir);
        }
        let out = args.get(1).map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
            PathBuf::from,
        );
        let n = capture(&out)?;
        println!("captured {n} requests into {}", out.display());
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn main() -> std::io::Result<()> {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("capture_fuse_trace needs Linux /dev/fuse");
}
