//! Mounting a FUSE connection: `mount(2)` when privileged, `fusermount3`
//! otherwise; lazy unmount and connection abort.

use crate::dev::FuseDev;
use crate::options::Atime;
use std::ffi::{CString, OsStr};
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

/// How a FUSE filesystem is presented to the kernel's VFS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountOptions {
    /// The "device" shown in `/proc/mounts` (`fsname`).
    pub fsname: String,
    /// Type suffix: the mount's type becomes `fuse.<subtype>`.
    pub subtype: Option<String>,
    /// Let users other than the mounter access the mount (`allow_other`).
    pub allow_other: bool,
    /// Let the kernel check permissions from the file modes
    /// (`default_permissions`); without it the server alone decides.
    pub default_permissions: bool,
    /// Read-only mount (`MS_RDONLY`).
    pub read_only: bool,
    /// Ignore set-user-id bits (`MS_NOSUID`).
    pub nosuid: bool,
    /// Do not open device nodes (`MS_NODEV`).
    pub nodev: bool,
    /// Do not execute programs from the mount (`MS_NOEXEC`).
    pub noexec: bool,
    /// Access-time updates (`MS_NOATIME`, `MS_RELATIME`, `MS_STRICTATIME`).
    pub atime: Atime,
    /// No access-time updates on directories (`MS_NODIRATIME`).
    pub nodiratime: bool,
    /// Keep timestamp updates in memory (`MS_LAZYTIME`).
    pub lazytime: bool,
    /// Synchronous writes (`MS_SYNCHRONOUS`).
    pub sync: bool,
    /// Synchronous directory changes (`MS_DIRSYNC`).
    pub dirsync: bool,
    /// Largest READ the kernel sends (`max_read`), if limited.
    pub max_read: Option<u32>,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            fsname: "arcbox-fs".into(),
            subtype: Some("arcbox".into()),
            allow_other: false,
            default_permissions: false,
            read_only: false,
            nosuid: true,
            nodev: true,
            noexec: false,
            atime: Atime::Default,
            nodiratime: false,
            lazytime: false,
            sync: false,
            dirsync: false,
            max_read: None,
        }
    }
}

impl MountOptions {
    /// The FUSE-specific option string, without the `fd=` / `rootmode=` /
    /// `user_id=` / `group_id=` part that `mount(2)` also needs.
    fn fuse_options(&self) -> String {
        let mut o = Vec::new();
        if self.allow_other {
            o.push("allow_other".to_string());
        }
        if self.default_permissions {
            o.push("default_permissions".to_string());
        }
        if let Some(m) = self.max_read {
            o.push(format!("max_read={m}"));
        }
        o.join(",")
    }

    /// The `MS_*` flags for `mount(2)`.
    fn ms_flags(&self) -> libc::c_ulong {
        let mut flags: libc::c_ulong = 0;
        for (on, f) in [
            (self.read_only, libc::MS_RDONLY),
            (self.nosuid, libc::MS_NOSUID),
            (self.nodev, libc::MS_NODEV),
            (self.noexec, libc::MS_NOEXEC),
            (self.nodiratime, libc::MS_NODIRATIME),
            (self.lazytime, libc::MS_LAZYTIME),
            (self.sync, libc::MS_SYNCHRONOUS),
            (self.dirsync, libc::MS_DIRSYNC),
            (self.atime == Atime::Noatime, libc::MS_NOATIME),
            (self.atime == Atime::Relative, libc::MS_RELATIME),
            (self.atime == Atime::Strict, libc::MS_STRICTATIME),
        ] {
            if on {
                flags |= f;
            }
        }
        flags
    }

    /// The same flags as mount(8) words, for `fusermount3 -o`.
    fn vfs_words(&self) -> Vec<&'static str> {
        let mut w = Vec::new();
        for (on, name) in [
            (self.read_only, "ro"),
            (self.nosuid, "nosuid"),
            (self.nodev, "nodev"),
            (self.noexec, "noexec"),
            (self.nodiratime, "nodiratime"),
            (self.lazytime, "lazytime"),
            (self.sync, "sync"),
            (self.dirsync, "dirsync"),
            (self.atime == Atime::Noatime, "noatime"),
            (self.atime == Atime::Relative, "relatime"),
            (self.atime == Atime::Strict, "strictatime"),
        ] {
            if on {
                w.push(name);
            }
        }
        w
    }

    fn fstype(&self) -> String {
        match &self.subtype {
            Some(s) => format!("fuse.{s}"),
            None => "fuse".into(),
        }
    }
}

/// How the mount was made, hence how it is undone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountMethod {
    /// `mount(2)` by a privileged process; undone with `umount2(2)`.
    Syscall,
    /// The set-user-id `fusermount3` helper; undone with `fusermount3 -u`.
    Fusermount,
}

/// Why mounting failed, with what the operator can do about it.
#[derive(Debug)]
pub struct MountError {
    /// What was being attempted.
    pub stage: &'static str,
    /// The mount point.
    pub mountpoint: PathBuf,
    /// The underlying error.
    pub source: io::Error,
}

impl MountError {
    fn new(stage: &'static str, mountpoint: &Path, source: io::Error) -> MountError {
        MountError {
            stage,
            mountpoint: mountpoint.to_path_buf(),
            source,
        }
    }

    fn hint(&self) -> &'static str {
        match (self.stage, self.source.raw_os_error()) {
            ("open /dev/fuse", Some(libc::ENOENT | libc::ENODEV | libc::ENXIO)) => {
                " (is the fuse module loaded? try `modprobe fuse`)"
            }
            ("open /dev/fuse", Some(libc::EACCES | libc::EPERM)) => " (no permission on /dev/fuse)",
            ("mount(2)", Some(libc::EPERM)) => {
                " (mount(2) needs CAP_SYS_ADMIN; run as root or install fusermount3)"
            }
            ("mount(2)", Some(libc::EBUSY)) => " (something is already mounted there)",
            ("mount(2)" | "check mount point", Some(libc::ENOENT)) => {
                " (the mount point does not exist)"
            }
            ("mount(2)" | "check mount point", Some(libc::ENOTDIR)) => {
                " (the mount point is not a directory)"
            }
            ("check mount point", Some(libc::ENOTCONN)) => {
                " (a dead FUSE mount is still there; `umount -l` it first)"
            }
            ("run fusermount3", Some(libc::ENOENT)) => {
                " (fusermount3 not found; install the fuse3 package or run as root)"
            }
            _ => "",
        }
    }
}

impl fmt::Display for MountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The OS's text without Rust's " (os error N)" suffix.
        let text = self.source.to_string();
        let text = text.rfind(" (os error ").map_or(&text[..], |i| &text[..i]);
        write!(
            f,
            "cannot mount {}: {}: {}{}",
            self.mountpoint.display(),
            self.stage,
            text,
            self.hint()
        )
    }
}

impl std::error::Error for MountError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A live FUSE mount. Dropping it unmounts (lazily) if that was not done.
#[derive(Debug)]
pub struct Mount {
    mountpoint: PathBuf,
    method: MountMethod,
    connection: Option<u64>,
    mounted: AtomicBool,
}

/// Mounts a new FUSE connection at `mountpoint`, with `mount(2)` when the
/// process may (root / `CAP_SYS_ADMIN`), else through `fusermount3`.
/// Returns the connection's device descriptor (to serve requests on) and
/// the mount.
///
/// Errors: a [`MountError`] naming the failed step and a likely cause.
pub fn mount(mountpoint: &Path, opts: &MountOptions) -> Result<(FuseDev, Mount), MountError> {
    let meta = std::fs::metadata(mountpoint)
        .map_err(|e| MountError::new("check mount point", mountpoint, e))?;
    if !meta.is_dir() {
        return Err(MountError::new(
            "check mount point",
            mountpoint,
            io::Error::from_raw_os_error(libc::ENOTDIR),
        ));
    }
    let mountpoint = std::fs::canonicalize(mountpoint)
        .map_err(|e| MountError::new("check mount point", mountpoint, e))?;
    if mounts_at(&mountpoint).is_some_and(|m| !m.is_empty()) {
        log::warn!(
            "{} is already a mount point; the new mount hides what is mounted there",
            mountpoint.display()
        );
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    let (dev, method) = if euid == 0 {
        match mount_syscall(&mountpoint, opts) {
            Ok(dev) => (dev, MountMethod::Syscall),
            Err(e)
                if e.source.raw_os_error() == Some(libc::EPERM) && find_fusermount().is_some() =>
            {
                (
                    mount_fusermount(&mountpoint, opts)?,
                    MountMethod::Fusermount,
                )
            }
            Err(e) => return Err(e),
        }
    } else {
        (
            mount_fusermount(&mountpoint, opts)?,
            MountMethod::Fusermount,
        )
    };
    let connection = connection_of(&mountpoint);
    Ok((
        dev,
        Mount {
            mountpoint,
            method,
            connection,
            mounted: AtomicBool::new(true),
        },
    ))
}

fn cstring(stage: &'static str, mnt: &Path, bytes: &[u8]) -> Result<CString, MountError> {
    CString::new(bytes)
        .map_err(|_| MountError::new(stage, mnt, io::Error::from_raw_os_error(libc::EINVAL)))
}

fn mount_syscall(mnt: &Path, opts: &MountOptions) -> Result<FuseDev, MountError> {
    let dev = FuseDev::open().map_err(|e| MountError::new("open /dev/fuse", mnt, e))?;
    // SAFETY: getuid / getgid have no preconditions and cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let mut data = format!(
        "fd={},rootmode=40000,user_id={uid},group_id={gid}",
        dev.as_raw_fd()
    );
    let extra = opts.fuse_options();
    if !extra.is_empty() {
        data.push(',');
        data.push_str(&extra);
    }
    let flags = opts.ms_flags();
    let source = cstring("mount(2)", mnt, opts.fsname.as_bytes())?;
    let target = cstring("mount(2)", mnt, mnt.as_os_str().as_bytes())?;
    let fstype = cstring("mount(2)", mnt, opts.fstype().as_bytes())?;
    let data = cstring("mount(2)", mnt, data.as_bytes())?;
    // SAFETY: every pointer is a NUL-terminated string that outlives the call.
    let r = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            flags,
            data.as_ptr().cast(),
        )
    };
    if r != 0 {
        return Err(MountError::new("mount(2)", mnt, io::Error::last_os_error()));
    }
    Ok(dev)
}

fn find_fusermount() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .find_map(|d| {
            let p = d.join("fusermount3");
            p.is_file().then_some(p)
        })
}

fn mount_fusermount(mnt: &Path, opts: &MountOptions) -> Result<FuseDev, MountError> {
    let stage = "run fusermount3";
    let prog = find_fusermount()
        .ok_or_else(|| MountError::new(stage, mnt, io::Error::from_raw_os_error(libc::ENOENT)))?;
    let (ours, theirs) = UnixStream::pair().map_err(|e| MountError::new(stage, mnt, e))?;
    // The helper finds its end through _FUSE_COMMFD, so it must survive exec:
    // a duplicate without close-on-exec, closed here once the helper started.
    // SAFETY: `theirs` is an open descriptor; dup returns a new one or -1.
    let raw = unsafe { libc::dup(theirs.as_raw_fd()) };
    if raw < 0 {
        return Err(MountError::new(stage, mnt, io::Error::last_os_error()));
    }
    // SAFETY: `raw` was just returned by dup and is owned by nobody else.
    let inherited = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut o = vec![format!("fsname={}", opts.fsname)];
    if let Some(s) = &opts.subtype {
        o.push(format!("subtype={s}"));
    }
    o.extend(opts.vfs_words().into_iter().map(String::from));
    let extra = opts.fuse_options();
    if !extra.is_empty() {
        o.push(extra);
    }
    let status = Command::new(&prog)
        .env("_FUSE_COMMFD", raw.to_string())
        .arg("-o")
        .arg(o.join(","))
        .arg("--")
        .arg(mnt)
        .status();
    drop(inherited);
    drop(theirs);
    let status = status.map_err(|e| MountError::new(stage, mnt, e))?;
    if !status.success() {
        let msg = format!("fusermount3 exited with {status}");
        return Err(MountError::new(stage, mnt, io::Error::other(msg)));
    }
    let fd = recv_fd(&ours).map_err(|e| MountError::new("receive fd from fusermount3", mnt, e))?;
    Ok(FuseDev::from_fd(fd))
}

/// Receives one descriptor sent with `SCM_RIGHTS`.
fn recv_fd(sock: &UnixStream) -> io::Result<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // Room for one cmsg carrying one int, 8-aligned.
    let mut cbuf = [0u64; 8];
    // SAFETY: msghdr is plain data; all-zero is a valid empty value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cbuf) as _;
    // SAFETY: msg points to live buffers of the lengths it states.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: msg was filled by recvmsg; CMSG_FIRSTHDR checks the length.
    let cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    if cmsg.is_null() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "fusermount3 sent no descriptor",
        ));
    }
    // SAFETY: cmsg is non-null and inside cbuf (CMSG_FIRSTHDR checked it).
    let (level, ty, len) = unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type, (*cmsg).cmsg_len) };
    // SAFETY: CMSG_LEN is a pure computation.
    let want = unsafe { libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) } as usize;
    if level != libc::SOL_SOCKET || ty != libc::SCM_RIGHTS || len < want {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "unexpected control message from fusermount3",
        ));
    }
    // SAFETY: the message is SCM_RIGHTS with at least one int of data, inside
    // cbuf; read_unaligned makes no alignment assumption.
    let fd = unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>()) };
    // SAFETY: the kernel installed `fd` in our table for us; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// One mount at a path, from `/proc/self/mountinfo` (proc(5)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MountAt {
    /// The superblock's device number as the kernel's internal `dev_t`
    /// (`MKDEV(major, minor) = major << 20 | minor`); for a FUSE mount, its
    /// connection number under `/sys/fs/fuse/connections`.
    dev: u64,
    /// Type `fuse` or `fuse.*`.
    fuse: bool,
}

/// Every mount at `mnt`, bottom first (the last one is what the path shows),
/// or `None` if mountinfo cannot be read.
fn mounts_at(mnt: &Path) -> Option<Vec<MountAt>> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    Some(parse_mounts_at(&info, &escape_mount_path(mnt.as_os_str())))
}

fn parse_mounts_at(info: &str, want: &str) -> Vec<MountAt> {
    info.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let devno = fields.nth(2)?;
            let point = fields.nth(1)?;
            let fstype = line.split(" - ").nth(1)?.split(' ').next()?;
            if point != want {
                return None;
            }
            let (maj, min) = devno.split_once(':')?;
            let (maj, min): (u64, u64) = (maj.parse().ok()?, min.parse().ok()?);
            Some(MountAt {
                dev: (maj << 20) | min,
                fuse: fstype == "fuse" || fstype.starts_with("fuse."),
            })
        })
        .collect()
}

/// The FUSE connection number (the name of its directory under
/// `/sys/fs/fuse/connections`) of the topmost mount at `mnt`, if it is a
/// FUSE mount (a `stat` of the mount point would need a server).
fn connection_of(mnt: &Path) -> Option<u64> {
    mounts_at(mnt)?.last().filter(|m| m.fuse).map(|m| m.dev)
}

/// `/proc/self/mountinfo` escapes space, tab, newline and backslash as octal.
fn escape_mount_path(p: &OsStr) -> String {
    let mut s = String::new();
    for &b in p.as_bytes() {
        match b {
            b' ' | b'\t' | b'\n' | b'\\' => s.push_str(&format!("\\{b:03o}")),
            _ => s.push(char::from(b)),
        }
    }
    s
}

/// Where the fusectl filesystem (one directory per connection) lives.
const FUSECTL: &str = "/sys/fs/fuse/connections";

/// Mounts fusectl where the system has not (best effort; needs root).
fn mount_fusectl() {
    let (Ok(src), Ok(target), Ok(fstype)) = (
        CString::new("fusectl"),
        CString::new(FUSECTL),
        CString::new("fusectl"),
    ) else {
        return;
    };
    // SAFETY: NUL-terminated strings alive for the call; no data argument.
    unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
}

impl Mount {
    /// The (canonical) mount point.
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// How the mount was made.
    pub fn method(&self) -> MountMethod {
        self.method
    }

    /// The connection number under `/sys/fs/fuse/connections`, if found.
    pub fn connection(&self) -> Option<u64> {
        self.connection
    }

    /// Whether [`unmount`](Self::unmount) has not run yet.
    pub fn is_mounted(&self) -> bool {
        self.mounted.load(Ordering::Acquire)
    }

    /// Detaches the mount (`MNT_DETACH`, like `umount -l`): new path lookups
    /// stop at once; the connection ends (the workers read `ENODEV`) when
    /// the last open file in it is closed. Idempotent.
    ///
    /// Only this mount is ever touched: `/proc/self/mountinfo` must show
    /// this connection's device as the topmost mount at the mount point.
    /// If the mount is gone (unmounted from outside) there is nothing to
    /// do; if another mount is stacked on it, unmounting the path would
    /// remove that one instead, so nothing is unmounted and an error says
    /// so (the caller may [`abort`](Self::abort) the connection).
    ///
    /// Errors: `EBUSY` when another mount is on top of this one;
    /// `umount2(2)` or `fusermount3 -u` failures other than "not mounted".
    pub fn unmount(&self) -> io::Result<()> {
        if !self.mounted.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        match (self.connection, mounts_at(&self.mountpoint)) {
            (Some(conn), Some(mounts)) => {
                let Some(pos) = mounts.iter().rposition(|m| m.fuse && m.dev == conn) else {
                    // Already unmounted (from outside): leave whatever is there now.
                    return Ok(());
                };
                if pos + 1 != mounts.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::ResourceBusy,
                        format!(
                            "{}: another mount is stacked on this FUSE mount; not unmounting it",
                            self.mountpoint.display()
                        ),
                    ));
                }
            }
            _ => log::warn!(
                "{}: cannot tell from /proc/self/mountinfo which mount is ours; unmounting the path",
                self.mountpoint.display()
            ),
        }
        let r = match self.method {
            MountMethod::Syscall => {
                let target = CString::new(self.mountpoint.as_os_str().as_bytes())
                    .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
                // SAFETY: `target` is a NUL-terminated string alive for the call.
                let r = unsafe {
                    libc::umount2(target.as_ptr(), libc::MNT_DETACH | libc::UMOUNT_NOFOLLOW)
                };
                if r == 0 {
                    Ok(())
                } else {
                    Err(io::Error::last_os_error())
                }
            }
            MountMethod::Fusermount => {
                let prog =
                    find_fusermount().ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
                let st = Command::new(prog)
                    .arg("-u")
                    .arg("-z")
                    .arg("-q")
                    .arg("--")
                    .arg(&self.mountpoint)
                    .status()?;
                if st.success() {
                    Ok(())
                } else {
                    Err(io::Error::other(format!("fusermount3 -u exited with {st}")))
                }
            }
        };
        match r {
            Err(e)
                if e.raw_os_error() == Some(libc::EINVAL)
                    || e.raw_os_error() == Some(libc::ENOENT) =>
            {
                Ok(())
            }
            r => r,
        }
    }

    /// Aborts the connection through `/sys/fs/fuse/connections/N/abort`:
    /// every pending and future request fails with `ENOTCONN` and the
    /// workers read `ENODEV`. For a server that must stop although files
    /// are still open in a detached mount. Mounts fusectl first if needed.
    ///
    /// Errors: `ENOENT` if the connection number is unknown or fusectl is not
    /// mounted; the write's error otherwise.
    pub fn abort(&self) -> io::Result<()> {
        let n = self
            .connection
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
        let path = format!("{FUSECTL}/{n}/abort");
        if !Path::new(&path).exists() {
            mount_fusectl();
        }
        std::fs::write(path, b"1")
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = self.unmount();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_string() {
        let o = MountOptions {
            allow_other: true,
            default_permissions: true,
            max_read: Some(4096),
            ..MountOptions::default()
        };
        assert_eq!(
            o.fuse_options(),
            "allow_other,default_permissions,max_read=4096"
        );
        assert_eq!(o.fstype(), "fuse.arcbox");
        assert_eq!(MountOptions { subtype: None, ..o }.fstype(), "fuse");
    }

    #[test]
    fn mountinfo_stacked_mounts() {
        let info = "\
22 1 8:1 / / rw - ext4 /dev/sda1 rw
40 22 0:55 / /mnt/a rw,nosuid - fuse.arcbox arcbox-fs rw
41 40 0:56 / /mnt/a rw - tmpfs tmpfs rw
42 22 0:57 / /mnt/b rw - fuse fs rw
";
        let m = parse_mounts_at(info, "/mnt/a");
        assert_eq!(
            m,
            vec![
                MountAt {
                    dev: 55,
                    fuse: true
                },
                MountAt {
                    dev: 56,
                    fuse: false
                }
            ]
        );
        assert_eq!(
            parse_mounts_at(info, "/mnt/b"),
            vec![MountAt {
                dev: 57,
                fuse: true
            }]
        );
        assert!(parse_mounts_at(info, "/mnt").is_empty());
        assert!(parse_mounts_at("garbage\n1 2\n", "/mnt/a").is_empty());
    }

    #[test]
    fn mountinfo_escaping() {
        assert_eq!(escape_mount_path(OsStr::new("/a b\\c")), "/a\\040b\\134c");
    }

    #[test]
    fn missing_mountpoint_is_a_clear_error() {
        let e = mount(
            Path::new("/nonexistent/arcbox-fusedev-test"),
            &MountOptions::default(),
        )
        .err();
        let e = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("does not exist"), "{e}");
    }
}
