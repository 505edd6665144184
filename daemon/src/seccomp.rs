//! `--seccomp kill|log|trap|none`: an allow-list of the system calls the
//! daemons make while serving, installed with rust-vmm's `seccompiler`
//! (seccomp(2), `SECCOMP_SET_MODE_FILTER`, with `PR_SET_NO_NEW_PRIVS`).
//!
//! The list covers serving: file operations on descriptors and `*at`
//! paths, extended attributes, file handles, per-request credentials
//! (`setfsuid`, `setresuid`, `setgroups`, `capset`; `unshare(CLONE_FS)`
//! alone, for a thread's own umask), inotify, the
//! vhost-user socket and eventfds, threads, memory, signals, time and
//! logging (stderr, syslog's socket). Start-up calls (namespaces, mounts,
//! `pivot_root`, `execve`, `ptrace`, ...) are not on it: install the
//! filter after the sandbox is entered, just before serving. A call
//! outside the list kills the process (`kill`), is logged and allowed
//! (`log`), or raises `SIGSYS` (`trap`).

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};
use std::collections::BTreeMap;

/// What a system call outside the allow-list does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// Kill the whole process (`SECCOMP_RET_KILL_PROCESS`).
    Kill,
    /// Log it (audit log / kernel log) and let it run (`SECCOMP_RET_LOG`).
    Log,
    /// Send `SIGSYS` (`SECCOMP_RET_TRAP`).
    Trap,
}

/// `getxattrat(2)` (Linux 6.13), which the Linux host uses relative to
/// `/proc/self/fd`: the common table's number, the same on x86_64 and
/// aarch64 (libc has no constant for it yet).
const SYS_GETXATTRAT: libc::c_long = 464;
/// `listxattrat(2)` (Linux 6.13), as [`SYS_GETXATTRAT`].
const SYS_LISTXATTRAT: libc::c_long = 465;

/// The allowed system calls (numbers for the build's architecture).
pub fn allowed() -> Vec<libc::c_long> {
    let mut v = vec![
        // File I/O and metadata.
        libc::SYS_read,
        libc::SYS_write,
        libc::SYS_readv,
        libc::SYS_writev,
        libc::SYS_pread64,
        libc::SYS_pwrite64,
        libc::SYS_preadv,
        libc::SYS_pwritev,
        libc::SYS_preadv2,
        libc::SYS_pwritev2,
        libc::SYS_close,
        libc::SYS_openat,
        libc::SYS_openat2,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_newfstatat,
        libc::SYS_fstat,
        libc::SYS_statx,
        libc::SYS_fstatfs,
        libc::SYS_statfs,
        libc::SYS_getdents64,
        libc::SYS_lseek,
        libc::SYS_fsync,
        libc::SYS_fdatasync,
        libc::SYS_syncfs,
        libc::SYS_sync_file_range,
        libc::SYS_fallocate,
        libc::SYS_ftruncate,
        libc::SYS_fchmod,
        libc::SYS_fchmodat,
        libc::SYS_fchown,
        libc::SYS_fchownat,
        libc::SYS_utimensat,
        libc::SYS_mkdirat,
        libc::SYS_mknodat,
        libc::SYS_symlinkat,
        libc::SYS_linkat,
        libc::SYS_unlinkat,
        libc::SYS_renameat2,
        libc::SYS_readlinkat,
        libc::SYS_faccessat,
        libc::SYS_faccessat2,
        libc::SYS_fchdir,
        libc::SYS_getcwd,
        libc::SYS_fcntl,
        libc::SYS_flock,
        libc::SYS_ioctl,
        libc::SYS_dup,
        libc::SYS_dup3,
        libc::SYS_copy_file_range,
        libc::SYS_fadvise64,
        libc::SYS_umask,
        // Extended attributes.
        libc::SYS_getxattr,
        libc::SYS_lgetxattr,
        libc::SYS_fgetxattr,
        libc::SYS_setxattr,
        libc::SYS_lsetxattr,
        libc::SYS_fsetxattr,
        libc::SYS_listxattr,
        libc::SYS_llistxattr,
        libc::SYS_flistxattr,
        libc::SYS_removexattr,
        libc::SYS_lremovexattr,
        libc::SYS_fremovexattr,
        SYS_GETXATTRAT,
        SYS_LISTXATTRAT,
        // Per-request credentials.
        libc::SYS_setfsuid,
        libc::SYS_setfsgid,
        libc::SYS_setresuid,
        libc::SYS_setresgid,
        libc::SYS_setuid,
        libc::SYS_setgid,
        libc::SYS_setgroups,
        libc::SYS_getgroups,
        libc::SYS_capget,
        libc::SYS_capset,
        libc::SYS_getuid,
        libc::SYS_geteuid,
        libc::SYS_getgid,
        libc::SYS_getegid,
        libc::SYS_getresuid,
        libc::SYS_getresgid,
        // inotify (host change notification). fanotify (`--watch`) needs
        // nothing here: its group and mark are made before the filter is
        // installed, and its events (file ids, no descriptors) are read(2).
        libc::SYS_inotify_init1,
        libc::SYS_inotify_add_watch,
        libc::SYS_inotify_rm_watch,
        // vhost-user socket, eventfds, polling; syslog's socket.
        libc::SYS_accept4,
        libc::SYS_recvmsg,
        libc::SYS_sendmsg,
        libc::SYS_recvfrom,
        libc::SYS_sendto,
        libc::SYS_socket,
        libc::SYS_connect,
        libc::SYS_shutdown,
        libc::SYS_eventfd2,
        libc::SYS_epoll_create1,
        libc::SYS_epoll_ctl,
        libc::SYS_epoll_pwait,
        libc::SYS_epoll_pwait2,
        libc::SYS_ppoll,
        libc::SYS_pselect6,
        // Threads, memory, signals, time.
        libc::SYS_clone,
        libc::SYS_clone3,
        libc::SYS_set_robust_list,
        libc::SYS_set_tid_address,
        libc::SYS_rseq,
        libc::SYS_futex,
        libc::SYS_sched_yield,
        libc::SYS_sched_getaffinity,
        libc::SYS_gettid,
        libc::SYS_getpid,
        libc::SYS_getppid,
        libc::SYS_tgkill,
        libc::SYS_exit,
        libc::SYS_exit_group,
        libc::SYS_mmap,
        libc::SYS_munmap,
        libc::SYS_mremap,
        libc::SYS_mprotect,
        libc::SYS_madvise,
        libc::SYS_brk,
        libc::SYS_rt_sigaction,
        libc::SYS_rt_sigprocmask,
        libc::SYS_rt_sigreturn,
        libc::SYS_sigaltstack,
        libc::SYS_restart_syscall,
        libc::SYS_clock_gettime,
        libc::SYS_clock_nanosleep,
        libc::SYS_nanosleep,
        libc::SYS_getrandom,
        libc::SYS_prlimit64,
        libc::SYS_getrlimit,
        libc::SYS_setrlimit,
        libc::SYS_uname,
        libc::SYS_prctl,
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend([
        libc::SYS_open,
        libc::SYS_stat,
        libc::SYS_lstat,
        libc::SYS_poll,
        libc::SYS_epoll_wait,
        libc::SYS_access,
        libc::SYS_readlink,
        libc::SYS_getdents,
        libc::SYS_dup2,
        libc::SYS_sendfile,
        libc::SYS_arch_prctl,
        // vhost's Listener unlinks its socket path when dropped.
        libc::SYS_unlink,
    ]);
    v
}

/// The BPF program for `violation` on this architecture.
///
/// Errors: the architecture is not one `seccompiler` supports, or the
/// filter did not compile.
// c_long is i64 only on 64-bit targets.
#[allow(clippy::useless_conversion)]
pub fn program(violation: Violation) -> Result<BpfProgram, seccompiler::Error> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = allowed()
        .into_iter()
        .map(|n| (i64::from(n), Vec::new()))
        .collect();
    // unshare(CLONE_FS) only: a serving thread's own umask (the Linux
    // host's `thread_umask`); every other unshare (namespaces, descriptor
    // tables) stays outside the list.
    let clone_fs = SeccompCondition::new(
        0,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Eq,
        libc::CLONE_FS as u64,
    )
    .map_err(seccompiler::Error::Backend)?;
    rules.insert(
        i64::from(libc::SYS_unshare),
        vec![SeccompRule::new(vec![clone_fs]).map_err(seccompiler::Error::Backend)?],
    );
    let mismatch = match violation {
        Violation::Kill => SeccompAction::KillProcess,
        Violation::Log => SeccompAction::Log,
        Violation::Trap => SeccompAction::Trap,
    };
    let arch = std::env::consts::ARCH
        .try_into()
        .map_err(seccompiler::Error::Backend)?;
    SeccompFilter::new(rules, mismatch, SeccompAction::Allow, arch)
        .map_err(seccompiler::Error::Backend)?
        .try_into()
        .map_err(seccompiler::Error::Backend)
}

/// Installs the filter on every thread of the process (`TSYNC`).
///
/// Errors: compiling it failed, or the kernel refused it.
pub fn install(violation: Violation) -> Result<(), seccompiler::Error> {
    let prog = program(violation)?;
    seccompiler::apply_filter_all_threads(&prog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_for_every_action_and_leaves_out_the_dangerous_calls() {
        for v in [Violation::Kill, Violation::Log, Violation::Trap] {
            assert!(!program(v).expect("compile").is_empty());
        }
        let a = allowed();
        for bad in [
            libc::SYS_execve,
            libc::SYS_ptrace,
            libc::SYS_mount,
            libc::SYS_pivot_root,
            libc::SYS_unshare,
            libc::SYS_setns,
            libc::SYS_init_module,
            libc::SYS_kexec_load,
            libc::SYS_bpf,
            libc::SYS_process_vm_writev,
        ] {
            assert!(!a.contains(&bad), "{bad} allowed");
        }
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), a.len(), "duplicates in the allow-list");
    }

    /// In a forked child under the `kill` filter: `unshare(CLONE_FS)` (a
    /// thread's own umask) is allowed, `unshare(CLONE_FS | CLONE_NEWNS)`
    /// is not.
    #[test]
    fn kill_filter_allows_unshare_of_clone_fs_alone() {
        let prog = program(Violation::Kill).expect("compile");
        for (flags, allowed) in [
            (libc::CLONE_FS, true),
            (libc::CLONE_FS | libc::CLONE_NEWNS, false),
        ] {
            // SAFETY: the child only makes raw system calls (no allocation,
            // no locks) before it _exits or is killed.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork");
            if pid == 0 {
                if seccompiler::apply_filter(&prog).is_err() {
                    // SAFETY: _exit is always safe.
                    unsafe { libc::_exit(2) };
                }
                // SAFETY: a raw system call without memory arguments.
                let r = unsafe { libc::syscall(libc::SYS_unshare, flags) };
                // SAFETY: _exit is always safe.
                unsafe { libc::_exit(if r == 0 { 0 } else { 3 }) };
            }
            let mut status = 0;
            // SAFETY: waitpid writes one int through a valid pointer.
            assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
            if allowed {
                assert!(
                    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                    "unshare({flags:#x}): child status {status:#x}"
                );
            } else {
                assert!(
                    libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS,
                    "unshare({flags:#x}): child status {status:#x}"
                );
            }
        }
    }

    /// In a forked child: install the `kill` filter, make an allowed call,
    /// then a forbidden one; the child must die of SIGSYS right there.
    #[test]
    fn kill_filter_kills_on_a_forbidden_call() {
        let prog = program(Violation::Kill).expect("compile");
        // SAFETY: the child only makes raw system calls (no allocation, no
        // locks) before it _exits or is killed.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            if seccompiler::apply_filter(&prog).is_err() {
                // SAFETY: _exit is always safe.
                unsafe { libc::_exit(2) };
            }
            // SAFETY: raw system calls without memory arguments.
            unsafe {
                libc::syscall(libc::SYS_getppid);
                libc::syscall(libc::SYS_unshare, 0);
                libc::_exit(0);
            }
        }
        let mut status = 0;
        // SAFETY: waitpid writes one int through a valid pointer.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS,
            "child status {status:#x}"
        );
    }
}
