//! In-process permission rules of the `xattr` ownership model, over the
//! guest-visible [`Stat`] and the request's caller: the checks the host
//! kernel can no longer make once every file belongs to the server's user
//! (path_resolution(7), chown(2), chmod(2), utimensat(2), unlink(2)).
//! uid 0 bypasses as `CAP_DAC_OVERRIDE` / `CAP_FOWNER` / `CAP_CHOWN` would.

use crate::abi::access::{W_OK, X_OK};
use crate::abi::mode;
use crate::errno::{Errno, Result};
use crate::fs::Context;
use crate::host::Stat;
use crate::passthrough::check_access;

/// Whether the caller is in group `gid` (its fsgid or one of the
/// request's supplementary groups).
pub fn in_group(ctx: &Context, gid: u32) -> bool {
    ctx.in_group(gid)
}

/// Owner or root (`CAP_FOWNER`).
pub fn owner_or_root(ctx: &Context, st: &Stat) -> bool {
    ctx.uid == 0 || ctx.uid == st.uid
}

/// Creating or removing a name in `dir`: write and search permission.
pub fn may_modify_dir(ctx: &Context, dir: &Stat) -> Result<()> {
    if dir.mode & mode::S_IFMT != mode::S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    check_access(dir, ctx, W_OK | X_OK)
}

/// Removing or renaming away `victim` from `dir`: [`may_modify_dir`] and,
/// in a sticky directory, ownership of the file or the directory.
pub fn may_delete(ctx: &Context, dir: &Stat, victim: &Stat) -> Result<()> {
    may_modify_dir(ctx, dir)?;
    if dir.mode & mode::S_ISVTX != 0 && ctx.uid != 0 && ctx.uid != victim.uid && ctx.uid != dir.uid
    {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// chown(2): only root changes the owner (to anything); the owner may
/// change the group to one it is in. Unchanged values are always allowed.
pub fn may_chown(ctx: &Context, st: &Stat, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
    if ctx.uid == 0 {
        return Ok(());
    }
    if uid.is_some_and(|u| u != st.uid) {
        return Err(Errno::EPERM);
    }
    if let Some(g) = gid {
        if g != st.gid && (ctx.uid != st.uid || !in_group(ctx, g)) {
            return Err(Errno::EPERM);
        }
    }
    if (uid.is_some() || gid.is_some()) && ctx.uid != st.uid {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// chmod(2) by owner or root; a non-root caller not in the file's group
/// loses `S_ISGID` (setattr_copy, fs/attr.c). Returns the bits to store.
pub fn chmod(ctx: &Context, st: &Stat, new: u32) -> Result<u32> {
    if !owner_or_root(ctx, st) {
        return Err(Errno::EPERM);
    }
    let mut m = new & mode::S_IALLUGO;
    if ctx.uid != 0 && !in_group(ctx, st.gid) {
        m &= !mode::S_ISGID;
    }
    Ok(m)
}

/// Setting times (utimensat(2)): explicit times need the owner or root;
/// "now" also write permission.
pub fn may_set_times(ctx: &Context, st: &Stat, explicit: bool) -> Result<()> {
    if owner_or_root(ctx, st) {
        return Ok(());
    }
    if explicit {
        return Err(Errno::EPERM);
    }
    check_access(st, ctx, W_OK)
}

/// The bits left after a chown by anyone (setuid/setgid cleared on a
/// non-directory, as the kernel does for unprivileged and, for regular
/// files, privileged callers alike: `S_ISGID` stays without group-exec).
pub fn after_chown(m: u32) -> u32 {
    if m & mode::S_IFMT == mode::S_IFDIR {
        return m;
    }
    let mut out = m & !mode::S_ISUID;
    if m & mode::S_IXGRP != 0 {
        out &= !mode::S_ISGID;
    }
    out
}

/// The bits after a write or truncate by `ctx`: `S_ISUID` and (with
/// group-exec) `S_ISGID` go unless the caller is root (file_remove_privs).
pub fn after_write(ctx: &Context, m: u32) -> u32 {
    if ctx.uid == 0 {
        return m;
    }
    after_chown(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Instant;

    fn ctx(uid: u32, gid: u32) -> Context<'static> {
        Context {
            unique: 1,
            uid,
            gid,
            pid: 1,
            groups: &[],
            now: Instant::ZERO,
            security: None,
        }
    }

    fn st(uid: u32, gid: u32, m: u32) -> Stat {
        Stat {
            uid,
            gid,
            mode: m,
            ..Stat::default()
        }
    }

    #[test]
    fn chown_rules() {
        let f = st(1000, 100, mode::S_IFREG | 0o644);
        assert_eq!(may_chown(&ctx(0, 0), &f, Some(5), Some(6)), Ok(()));
        assert_eq!(
            may_chown(&ctx(1000, 100), &f, Some(5), None),
            Err(Errno::EPERM)
        );
        assert_eq!(may_chown(&ctx(1000, 100), &f, Some(1000), None), Ok(()));
        assert_eq!(may_chown(&ctx(1000, 200), &f, None, Some(200)), Ok(()));
        assert_eq!(
            may_chown(&ctx(1000, 100), &f, None, Some(200)),
            Err(Errno::EPERM)
        );
        let mut c = ctx(1000, 100);
        c.groups = &[250, 300];
        assert_eq!(may_chown(&c, &f, None, Some(300)), Ok(()));
        assert_eq!(
            may_chown(&ctx(2000, 200), &f, None, Some(200)),
            Err(Errno::EPERM)
        );
        assert_eq!(after_chown(mode::S_IFREG | 0o6755), mode::S_IFREG | 0o755);
        assert_eq!(after_chown(mode::S_IFREG | 0o2644), mode::S_IFREG | 0o2644);
        assert_eq!(after_chown(mode::S_IFDIR | 0o2755), mode::S_IFDIR | 0o2755);
    }

    #[test]
    fn chmod_rules() {
        let f = st(1000, 100, mode::S_IFREG | 0o644);
        assert_eq!(chmod(&ctx(2000, 100), &f, 0o777), Err(Errno::EPERM));
        assert_eq!(chmod(&ctx(1000, 100), &f, 0o2755), Ok(0o2755));
        assert_eq!(chmod(&ctx(1000, 5), &f, 0o2755), Ok(0o755));
        assert_eq!(chmod(&ctx(0, 5), &f, 0o2755), Ok(0o2755));
    }

    #[test]
    fn sticky_and_dir_write() {
        let d = st(0, 0, mode::S_IFDIR | 0o1777);
        let f = st(1000, 1000, mode::S_IFREG | 0o644);
        assert_eq!(may_delete(&ctx(1000, 1000), &d, &f), Ok(()));
        assert_eq!(may_delete(&ctx(2000, 2000), &d, &f), Err(Errno::EPERM));
        assert_eq!(may_delete(&ctx(0, 0), &d, &f), Ok(()));
        let d2 = st(2000, 0, mode::S_IFDIR | 0o1777);
        assert_eq!(may_delete(&ctx(2000, 2000), &d2, &f), Ok(()));
        let ro = st(0, 0, mode::S_IFDIR | 0o755);
        assert_eq!(may_modify_dir(&ctx(1000, 1000), &ro), Err(Errno::EACCES));
        assert_eq!(may_modify_dir(&ctx(0, 0), &ro), Ok(()));
        assert_eq!(may_modify_dir(&ctx(0, 0), &f), Err(Errno::ENOTDIR));
    }

    #[test]
    fn times_and_write() {
        let f = st(1000, 1000, mode::S_IFREG | 0o666);
        assert_eq!(may_set_times(&ctx(2000, 2000), &f, true), Err(Errno::EPERM));
        assert_eq!(may_set_times(&ctx(2000, 2000), &f, false), Ok(()));
        let g = st(1000, 1000, mode::S_IFREG | 0o644);
        assert_eq!(
            may_set_times(&ctx(2000, 2000), &g, false),
            Err(Errno::EACCES)
        );
        assert_eq!(may_set_times(&ctx(1000, 2000), &g, true), Ok(()));
        assert_eq!(
            after_write(&ctx(1000, 1), mode::S_IFREG | 0o6755),
            mode::S_IFREG | 0o755
        );
        assert_eq!(
            after_write(&ctx(0, 0), mode::S_IFREG | 0o6755),
            mode::S_IFREG | 0o6755
        );
    }
}
