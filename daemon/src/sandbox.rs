//! `--sandbox namespace|chroot|none`, modelled on virtiofsd's.
//!
//! `namespace` (the default): an unprivileged daemon first enters a new
//! user namespace (user_namespaces(7)) with the `--uid-map` / `--gid-map`
//! mapping; then the daemon enters new mount, PID and network namespaces
//! (unshare(2)) and forks (the parent only waits and exits with the
//! child's status; the child dies with it, `PR_SET_PDEATHSIG`). In the new
//! mount namespace (every mount made a slave first, so nothing propagates
//! to the host) it builds a new root: an empty read-only tmpfs holding the
//! shared directory, bind-mounted at its own absolute path, and a `/proc`
//! of the new PID namespace (the Linux host code reaches `O_PATH`
//! descriptors through `/proc/self/fd/N`). `pivot_root(2)` makes that the
//! root and the old root is detached: nothing of the host's file system
//! outside the share can be named any more, by any path.
//!
//! `chroot`: the same new root in a new mount namespace only, entered with
//! `chroot(2)` (no PID or network namespace). `none`: nothing. `--readonly`
//! bind-mounts the share read-only (with `none`, in a new mount
//! namespace of its own).
//!
//! [`enter`] must run before any thread is started (it may fork).

use std::ffi::CString;
use std::io;
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// How the daemon confines itself (virtiofsd's `--sandbox`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SandboxMode {
    /// New mount, PID and network namespaces and `pivot_root` into the share.
    #[default]
    Namespace,
    /// `chroot` into the share.
    Chroot,
    /// No sandbox.
    None,
}

impl SandboxMode {
    /// The name [`FromStr`] accepts.
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxMode::Namespace => "namespace",
            SandboxMode::Chroot => "chroot",
            SandboxMode::None => "none",
        }
    }
}

impl FromStr for SandboxMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "namespace" => Ok(SandboxMode::Namespace),
            "chroot" => Ok(SandboxMode::Chroot),
            "none" => Ok(SandboxMode::None),
            _ => Err(format!(
                "unknown sandbox mode '{s}' (expected namespace, chroot or none)"
            )),
        }
    }
}

/// One id mapping line of `--uid-map` / `--gid-map`, written
/// `:namespace_id:host_id:count:` (virtiofsd's syntax; see
/// user_namespaces(7), `/proc/pid/uid_map`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    /// First id inside the namespace.
    pub inside: u32,
    /// First id outside (on the host).
    pub outside: u32,
    /// Number of ids mapped (at least 1).
    pub count: u32,
}

impl FromStr for IdMap {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}' is not of the form :namespace_id:host_id:count:");
        let inner = s
            .strip_prefix(':')
            .and_then(|r| r.strip_suffix(':'))
            .ok_or_else(bad)?;
        let mut it = inner
            .split(':')
            .map(|p| p.parse::<u32>().map_err(|_| bad()));
        let (Some(a), Some(b), Some(c), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(bad());
        };
        let (inside, outside, count) = (a?, b?, c?);
        if count == 0
            || inside.checked_add(count - 1).is_none()
            || outside.checked_add(count - 1).is_none()
        {
            return Err(format!(
                "'{s}': the count must be at least 1 and stay within 32 bits"
            ));
        }
        Ok(IdMap {
            inside,
            outside,
            count,
        })
    }
}

/// What to sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// The mode.
    pub mode: SandboxMode,
    /// The shared directory (the future root).
    pub shared_dir: PathBuf,
    /// Bind-mount the share read-only (`--readonly`).
    pub readonly: bool,
    /// uid mapping of the user namespace (unprivileged daemons only;
    /// default: the daemon's own uid mapped to itself).
    pub uid_map: Option<IdMap>,
    /// gid mapping of the user namespace (as `uid_map`).
    pub gid_map: Option<IdMap>,
}

/// A sandbox step that failed: the step and the kernel's error.
#[derive(Debug)]
pub struct SandboxError {
    /// What was being done.
    pub what: String,
    /// Why it failed.
    pub err: io::Error,
}

impl std::fmt::Display for SandboxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sandbox: {}: {}", self.what, self.err)
    }
}

impl std::error::Error for SandboxError {}

fn fail(what: impl Into<String>) -> SandboxError {
    SandboxError {
        what: what.into(),
        err: io::Error::last_os_error(),
    }
}

fn cpath(p: &Path) -> Result<CString, SandboxError> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| SandboxError {
        what: format!("{}", p.display()),
        err: io::Error::from(io::ErrorKind::InvalidInput),
    })
}

fn unshare(flags: libc::c_int, what: &str) -> Result<(), SandboxError> {
    // SAFETY: unshare only changes this process's namespace membership.
    if unsafe { libc::unshare(flags) } != 0 {
        return Err(fail(what));
    }
    Ok(())
}

fn mount(
    src: Option<&std::ffi::CStr>,
    target: &std::ffi::CStr,
    fstype: Option<&std::ffi::CStr>,
    flags: libc::c_ulong,
    what: &str,
) -> Result<(), SandboxError> {
    mount_data(src, target, fstype, flags, None, what)
}

fn mount_data(
    src: Option<&std::ffi::CStr>,
    target: &std::ffi::CStr,
    fstype: Option<&std::ffi::CStr>,
    flags: libc::c_ulong,
    data: Option<&std::ffi::CStr>,
    what: &str,
) -> Result<(), SandboxError> {
    let p = |c: Option<&std::ffi::CStr>| c.map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is null or a NUL-terminated string alive for
    // the call (the data argument, when given, is a text option string).
    let rc = unsafe {
        libc::mount(
            p(src),
            target.as_ptr(),
            p(fstype),
            flags,
            p(data).cast::<libc::c_void>(),
        )
    };
    if rc != 0 {
        return Err(fail(what));
    }
    Ok(())
}

/// Every mount in this (new) mount namespace becomes a slave: nothing done
/// here propagates to the host.
fn make_private_tree() -> Result<(), SandboxError> {
    mount(
        None,
        c"/",
        None,
        libc::MS_SLAVE | libc::MS_REC,
        "mount --make-rslave /",
    )
}

fn write_file(path: &str, text: &str) -> Result<(), SandboxError> {
    std::fs::write(path, text).map_err(|err| SandboxError {
        what: format!("write {path}"),
        err,
    })
}

fn enter_user_namespace(cfg: &SandboxConfig) -> Result<(), SandboxError> {
    // SAFETY: geteuid/getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let own = |id: u32| IdMap {
        inside: id,
        outside: id,
        count: 1,
    };
    let uid_map = cfg.uid_map.unwrap_or(own(uid));
    let gid_map = cfg.gid_map.unwrap_or(own(gid));
    for (name, map, me) in [("--uid-map", uid_map, uid), ("--gid-map", gid_map, gid)] {
        if map.outside != me || map.count != 1 {
            return Err(SandboxError {
                what: format!(
                    "{name} :{}:{}:{}: an unprivileged daemon can map only its own id (count 1)",
                    map.inside, map.outside, map.count
                ),
                err: io::Error::from_raw_os_error(libc::EPERM),
            });
        }
    }
    unshare(libc::CLONE_NEWUSER, "enter a user namespace")?;
    write_file("/proc/self/setgroups", "deny")?;
    write_file(
        "/proc/self/uid_map",
        &format!("{} {} 1\n", uid_map.inside, uid_map.outside),
    )?;
    write_file(
        "/proc/self/gid_map",
        &format!("{} {} 1\n", gid_map.inside, gid_map.outside),
    )?;
    Ok(())
}

/// The sandboxed child, for the parent's signal handler.
static CHILD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// The signals a launcher stops a daemon with.
const STOP_SIGNALS: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT];

/// Parent: a stop signal kills the child (PID 1 of its namespace ignores
/// other signals from outside unless it handles them, and its
/// parent-death signal is cleared by the credential switches of serving).
extern "C" fn kill_child(_sig: libc::c_int) {
    let pid = CHILD.load(std::sync::atomic::Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Child: a stop signal ends the process at once (every acknowledged write
/// is already on the host: writes are not buffered in the daemon).
extern "C" fn exit_now(sig: libc::c_int) {
    // SAFETY: _exit(2) is async-signal-safe.
    unsafe { libc::_exit(128 + sig) };
}

fn on_stop_signals(handler: extern "C" fn(libc::c_int)) {
    for sig in STOP_SIGNALS {
        // SAFETY: `handler` only calls async-signal-safe functions.
        unsafe { libc::signal(sig, handler as libc::sighandler_t) };
    }
}

/// Waits for the sandboxed child and exits with its status (128 + signal
/// when it was killed). Never returns.
fn wait_and_exit(child: libc::pid_t) -> ! {
    CHILD.store(child, std::sync::atomic::Ordering::Relaxed);
    on_stop_signals(kill_child);
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes one int through a valid pointer.
        let rc = unsafe { libc::waitpid(child, &mut status, 0) };
        if rc == child {
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else if libc::WIFSIGNALED(status) {
                128 + libc::WTERMSIG(status)
            } else {
                continue;
            };
            std::process::exit(code);
        }
        if rc < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            std::process::exit(1);
        }
    }
}

/// Confines the process as `cfg` says (see the module docs). Afterwards
/// `cfg.shared_dir` names the share at the same path, and `/proc` is the
/// sandbox's. With [`SandboxMode::Namespace`] the process forks: only the
/// child returns; the parent waits for it and exits with its status. Call
/// before any thread is started.
///
/// Errors: a step the kernel refused (e.g. no `CAP_SYS_ADMIN` and no user
/// namespaces), named in the error.
pub fn enter(cfg: &SandboxConfig) -> Result<(), SandboxError> {
    let dir = cpath(&cfg.shared_dir)?;
    match cfg.mode {
        SandboxMode::Namespace => {
            // SAFETY: geteuid cannot fail.
            if unsafe { libc::geteuid() } != 0 {
                enter_user_namespace(cfg)?;
            }
            unshare(
                libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWNET,
                "enter new mount, PID and network namespaces",
            )?;
            fork_into_pid_namespace()?;
            make_private_tree()?;
            mount(
                Some(c"proc"),
                c"/proc",
                Some(c"proc"),
                libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_NOSUID | libc::MS_RELATIME,
                "mount /proc for the PID namespace",
            )?;
            build_root(cfg, &dir)?;
            chdir(&dir, "chdir into the new root")?;
            // SAFETY: pivot_root(".", ".") stacks the old root under the new
            // one; both arguments are NUL-terminated strings.
            let rc = unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) };
            if rc != 0 {
                return Err(fail("pivot_root into the new root"));
            }
            // SAFETY: detaches the old root stacked on "."; a string argument.
            if unsafe { libc::umount2(c".".as_ptr(), libc::MNT_DETACH) } != 0 {
                return Err(fail("detach the old root"));
            }
            chdir(c"/", "chdir /")?;
        }
        SandboxMode::Chroot => {
            unshare(libc::CLONE_NEWNS, "enter a mount namespace")?;
            make_private_tree()?;
            build_root(cfg, &dir)?;
            chdir(&dir, "chdir into the new root")?;
            // SAFETY: a NUL-terminated string alive for the call.
            if unsafe { libc::chroot(c".".as_ptr()) } != 0 {
                return Err(fail("chroot into the new root"));
            }
            chdir(c"/", "chdir /")?;
        }
        SandboxMode::None => {
            if cfg.readonly {
                unshare(libc::CLONE_NEWNS, "--readonly: enter a mount namespace")?;
                make_private_tree()?;
                mount(
                    Some(&dir),
                    &dir,
                    None,
                    libc::MS_BIND | libc::MS_REC,
                    "--readonly: bind-mount the shared directory",
                )?;
                remount_readonly(&dir)?;
            }
        }
    }
    Ok(())
}

/// Forks; the parent waits and exits with the child's status (and kills
/// the child when it is told to stop), the child (PID 1 of the new PID
/// namespace) returns; it exits on SIGTERM, SIGINT, SIGHUP and SIGQUIT.
fn fork_into_pid_namespace() -> Result<(), SandboxError> {
    // SAFETY: getpid cannot fail.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the caller guarantees no other thread runs, so the child's
    // copy of the process is consistent.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(fail("fork into the PID namespace"));
    }
    if pid > 0 {
        wait_and_exit(pid);
    }
    on_stop_signals(exit_now);
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets this process's parent-death
    // signal.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } != 0 {
        return Err(fail("PR_SET_PDEATHSIG"));
    }
    // SAFETY: getppid cannot fail. From inside the new PID namespace the
    // parent reads as 0; another value means it died and we were reparented.
    let ppid = unsafe { libc::getppid() };
    if ppid != 0 && ppid != parent {
        std::process::exit(1);
    }
    Ok(())
}

fn remount_readonly(target: &std::ffi::CStr) -> Result<(), SandboxError> {
    mount(
        None,
        target,
        None,
        libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
        "--readonly: remount the shared directory read-only",
    )
}

/// Builds the new root on top of `dir` itself (in this mount namespace
/// only): a small tmpfs, the share bind-mounted at `dir` inside it (from a
/// descriptor taken before the tmpfs covered it) and `/proc`; then the
/// tmpfs is made read-only.
fn build_root(cfg: &SandboxConfig, dir: &std::ffi::CStr) -> Result<(), SandboxError> {
    let rel = cfg
        .shared_dir
        .strip_prefix("/")
        .ok()
        .filter(|r| !r.as_os_str().is_empty())
        .ok_or_else(|| SandboxError {
            what: format!(
                "{}: the shared directory must be an absolute path other than / (use --sandbox none)",
                cfg.shared_dir.display()
            ),
            err: io::Error::from_raw_os_error(libc::EINVAL),
        })?;
    // A detached copy of the share's mount tree (open_tree(2), Linux 5.2),
    // taken before the tmpfs covers the path.
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    const AT_RECURSIVE: libc::c_uint = 0x8000;
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    // SAFETY: `dir` is a NUL-terminated string alive for the call; the
    // flags ask for a new descriptor of a cloned, detached mount tree.
    let tree = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            dir.as_ptr(),
            OPEN_TREE_CLONE | AT_RECURSIVE | libc::O_CLOEXEC as libc::c_uint,
        )
    };
    let tree = i32::try_from(tree)
        .ok()
        .filter(|fd| *fd >= 0)
        .ok_or_else(|| fail("open_tree (clone) the shared directory"))?;
    // SAFETY: open_tree returned a new descriptor this function now owns.
    let tree = unsafe { std::os::fd::OwnedFd::from_raw_fd(tree) };
    mount_data(
        Some(c"tmpfs"),
        dir,
        Some(c"tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        Some(c"size=64k,nr_inodes=256,mode=0755"),
        "mount the new root's tmpfs",
    )?;
    let staging = cfg.shared_dir.clone();
    let mkdir = |p: &Path| {
        std::fs::create_dir_all(p).map_err(|err| SandboxError {
            what: format!("mkdir {} in the new root", p.display()),
            err,
        })
    };
    let target = staging.join(rel);
    mkdir(&target)?;
    mkdir(&staging.join("proc"))?;
    let target_c = cpath(&target)?;
    // SAFETY: `tree` is an open mount-tree descriptor, the strings are
    // NUL-terminated and alive for the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            std::os::fd::AsRawFd::as_raw_fd(&tree),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target_c.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if rc != 0 {
        return Err(fail("move the shared directory into the new root"));
    }
    drop(tree);
    if cfg.readonly {
        remount_readonly(&target_c)?;
    }
    mount(
        Some(c"/proc"),
        &cpath(&staging.join("proc"))?,
        None,
        libc::MS_BIND | libc::MS_REC,
        "bind /proc into the new root",
    )?;
    mount(
        None,
        dir,
        None,
        libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        "make the new root read-only",
    )?;
    Ok(())
}

fn chdir(p: &std::ffi::CStr, what: &str) -> Result<(), SandboxError> {
    // SAFETY: `p` is a NUL-terminated string alive for the call.
    if unsafe { libc::chdir(p.as_ptr()) } != 0 {
        return Err(fail(what));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse() {
        for m in [
            SandboxMode::Namespace,
            SandboxMode::Chroot,
            SandboxMode::None,
        ] {
            assert_eq!(m.as_str().parse::<SandboxMode>(), Ok(m));
        }
        assert!("Namespace".parse::<SandboxMode>().is_err());
        assert!("".parse::<SandboxMode>().is_err());
        assert_eq!(SandboxMode::default(), SandboxMode::Namespace);
    }

    #[test]
    fn id_maps_parse_and_refuse_malformed() {
        assert_eq!(
            ":0:1000:1:".parse::<IdMap>(),
            Ok(IdMap {
                inside: 0,
                outside: 1000,
                count: 1
            })
        );
        for bad in [
            "",
            ":",
            "::",
            "0:1000:1",
            ":0:1000:1",
            "0:1000:1:",
            ":0:1000:",
            ":0:1000:0:",
            ":0:1000:1:2:",
            ":a:1000:1:",
            ":-1:1000:1:",
            ":4294967295:0:2:",
            ":0:0:4294967296:",
        ] {
            assert!(bad.parse::<IdMap>().is_err(), "{bad:?} accepted");
        }
    }
}
