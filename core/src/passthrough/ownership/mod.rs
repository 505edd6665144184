//! Ownership models of [`PassthroughFs`]: who the guest sees owning a file,
//! and who may change it (see [`Ownership`]).
//!
//! - [`Ownership::Host`]: host owners as they are; the host kernel checks
//!   permissions (the Linux host switches to the caller's fsuid/fsgid).
//! - [`Ownership::Xattr`]: owner, group, mode and type live in the host
//!   xattr [`xattr::OVERRIDE_STAT`]; the server's user owns every host file,
//!   and the rules of [`perm`] are applied here.
//! - [`Ownership::Map`]: host owners translated by [`IdMap`] ranges.

pub mod idmap;
pub mod perm;
pub mod xattr;

pub use idmap::{IdMap, IdMapError};
pub use xattr::{OVERRIDE_STAT, OverrideStat, is_hidden_host_xattr};

use super::PassthroughFs;
use crate::abi::mode;
use crate::errno::{Errno, Result};
use crate::fs::Context;
use crate::host::{Creds, Host, SetAttrs, Stat};
use alloc::format;
use alloc::string::String;

/// How guest-visible ownership relates to the host's.
// One per filesystem, inside the `Copy` configuration: size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ownership {
    /// Host owners and modes; real chown / mknod (a root daemon). The default.
    #[default]
    Host,
    /// Owner, group, mode and type in `user.containers.override_stat`
    /// (libkrun / podman format); files without it show this owner and
    /// their host mode. For a daemon run by an unprivileged user.
    Xattr {
        /// Owner of files without the attribute.
        default_uid: u32,
        /// Group of files without the attribute.
        default_gid: u32,
    },
    /// uid and gid translation (virtiofsd `--translate-uid` / `--translate-gid`).
    Map {
        /// uid ranges.
        uid: IdMap,
        /// gid ranges.
        gid: IdMap,
    },
}

impl Ownership {
    /// The model's name as the daemons spell it (`host`, `xattr`, `map`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Ownership::Host => "host",
            Ownership::Xattr { .. } => "xattr",
            Ownership::Map { .. } => "map",
        }
    }

    /// The model the daemons' options describe: `kind` (`host`, `xattr` or
    /// `map`; `None`: `host` when `is_root`, else `xattr`), `default_owner`
    /// (`UID:GID` of files without the attribute under `xattr`, default
    /// `0:0`), and virtiofsd's `--translate-uid` / `--translate-gid` ranges
    /// (which alone select `map`, and which no other model takes).
    ///
    /// Errors: a one-line message naming the option at fault.
    pub fn from_options(
        kind: Option<&str>,
        default_owner: Option<&str>,
        translate_uid: &[&str],
        translate_gid: &[&str],
        is_root: bool,
    ) -> core::result::Result<Ownership, String> {
        let translating = !translate_uid.is_empty() || !translate_gid.is_empty();
        let kind = kind.unwrap_or(if translating {
            "map"
        } else if is_root {
            "host"
        } else {
            "xattr"
        });
        if translating && kind != "map" {
            return Err(format!(
                "--translate-uid / --translate-gid need --ownership map, not {kind}"
            ));
        }
        if default_owner.is_some() && kind != "xattr" {
            return Err(format!(
                "--default-owner needs --ownership xattr, not {kind}"
            ));
        }
        match kind {
            "host" => Ok(Ownership::Host),
            "xattr" => {
                let (u, g) = match default_owner {
                    None => (0, 0),
                    Some(s) => parse_owner(s)
                        .ok_or_else(|| format!("--default-owner {s:?}: expected UID:GID"))?,
                };
                Ok(Ownership::Xattr {
                    default_uid: u,
                    default_gid: g,
                })
            }
            "map" => {
                let mut uid = IdMap::identity();
                let mut gid = IdMap::identity();
                for (opt, map, specs) in [
                    ("--translate-uid", &mut uid, translate_uid),
                    ("--translate-gid", &mut gid, translate_gid),
                ] {
                    for spec in specs {
                        map.add(spec).map_err(|e| format!("{opt} {spec}: {e}"))?;
                    }
                }
                Ok(Ownership::Map { uid, gid })
            }
            other => Err(format!(
                "--ownership {other:?}: expected host, xattr or map"
            )),
        }
    }

    /// Whether this is the `xattr` model.
    pub fn is_xattr(&self) -> bool {
        matches!(self, Ownership::Xattr { .. })
    }
}

/// `UID:GID`, both decimal.
pub fn parse_owner(s: &str) -> Option<(u32, u32)> {
    let (u, g) = s.split_once(':')?;
    let num = |x: &str| {
        (!x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))
            .then(|| x.parse().ok())
            .flatten()
    };
    Some((num(u)?, num(g)?))
}

/// Permission bits given to host objects under `xattr`, so the server's
/// user can always use them whatever the guest-visible mode.
const HOST_FILE_BITS: u32 = 0o600;
const HOST_DIR_BITS: u32 = 0o700;

impl<H: Host> PassthroughFs<H> {
    /// The recorded identity of `inode`, if valid.
    pub(super) fn override_of(&self, inode: &H::Inode) -> Option<OverrideStat> {
        let mut buf = [0u8; xattr::MAX_LEN + 1];
        let n = self.host.getxattr(inode, OVERRIDE_STAT, &mut buf).ok()?;
        OverrideStat::parse(buf.get(..n)?)
    }

    /// Records `o` on `inode`.
    pub(super) fn set_override(&self, inode: &H::Inode, o: OverrideStat) -> Result<()> {
        let mut buf = [0u8; xattr::MAX_LEN];
        self.host
            .setxattr(inode, OVERRIDE_STAT, o.format(&mut buf), 0)
    }

    /// `st` as the guest sees it.
    pub(super) fn guest_stat(&self, inode: &H::Inode, mut st: Stat) -> Stat {
        match self.cfg.ownership {
            Ownership::Host => {}
            Ownership::Map { uid, gid } => {
                st.uid = uid.to_guest(st.uid);
                st.gid = gid.to_guest(st.gid);
            }
            Ownership::Xattr {
                default_uid,
                default_gid,
            } => match self.override_of(inode) {
                Some(o) => {
                    st.uid = o.uid;
                    st.gid = o.gid;
                    let host_type = st.mode & mode::S_IFMT;
                    let t = o.mode & mode::S_IFMT;
                    // A recorded type only stands in for a regular host file.
                    let typ = if host_type == mode::S_IFREG && t != 0 {
                        t
                    } else {
                        host_type
                    };
                    st.mode = typ | (o.mode & mode::S_IALLUGO);
                    if typ != host_type {
                        st.size = 0;
                        st.blocks = 0;
                        st.rdev = o.rdev;
                    }
                }
                None => {
                    st.uid = default_uid;
                    st.gid = default_gid;
                }
            },
        }
        st
    }

    /// The guest-visible status of `inode`.
    pub(super) fn guest_stat_of(&self, inode: &H::Inode) -> Result<Stat> {
        let st = self.host.stat(inode)?;
        Ok(self.guest_stat(inode, st))
    }

    /// The credentials new host objects are created with: the caller's
    /// (translated under `map`; `EPERM` for a forbidden id).
    pub(super) fn host_creds(&self, ctx: &Context) -> Result<Creds> {
        let c = Self::creds(ctx);
        match self.cfg.ownership {
            Ownership::Map { uid, gid } => Ok(Creds {
                uid: uid.to_host(c.uid).ok_or(Errno::EPERM)?,
                gid: gid.to_host(c.gid).ok_or(Errno::EPERM)?,
                supp_gid: c.supp_gid.and_then(|g| gid.to_host(g)),
                umask: 0,
            }),
            _ => Ok(c),
        }
    }

    /// Under `xattr`: `EACCES` / `EPERM` unless the caller may create or
    /// remove names in `dir`. Other models leave it to the host.
    pub(super) fn check_dir_write(&self, ctx: &Context, dir: &H::Inode) -> Result<()> {
        if !self.cfg.ownership.is_xattr() {
            return Ok(());
        }
        perm::may_modify_dir(ctx, &self.guest_stat_of(dir)?)
    }

    /// Under `xattr`: may the caller remove (or rename away) `name` from `dir`.
    pub(super) fn check_delete(
        &self,
        ctx: &Context,
        dir: &H::Inode,
        name: crate::name::Name<'_>,
    ) -> Result<()> {
        if !self.cfg.ownership.is_xattr() {
            return Ok(());
        }
        let d = self.guest_stat_of(dir)?;
        let (victim, vst) = self.host.lookup(dir, name)?;
        perm::may_delete(ctx, &d, &self.guest_stat(&victim, vst))
    }

    /// Under `xattr`: `access(2)` rules for an open of `inode` with `mask`.
    pub(super) fn check_open(&self, ctx: &Context, inode: &H::Inode, mask: u32) -> Result<()> {
        if !self.cfg.ownership.is_xattr() {
            return Ok(());
        }
        super::check_access(&self.guest_stat_of(inode)?, ctx, mask)
    }

    /// Host permission bits for a new object of type `typ` (`S_IFMT`) with
    /// guest bits `perm`: under `xattr` always usable by the server's user.
    pub(super) fn host_perm(&self, typ: u32, perm: u32) -> u32 {
        if !self.cfg.ownership.is_xattr() {
            return perm;
        }
        if typ == mode::S_IFDIR {
            HOST_DIR_BITS
        } else {
            HOST_FILE_BITS
        }
    }

    /// Under `xattr`, after creating `inode` in `parent`: records owner
    /// `ctx.uid`, the parent's group if it is set-group-id (which a new
    /// directory inherits) or `ctx.gid`, `mode` (type and bits) and, for a
    /// device, its number `rdev`.
    /// A failure removes nothing; the caller undoes the creation.
    pub(super) fn record_new(
        &self,
        ctx: &Context,
        parent: &H::Inode,
        inode: &H::Inode,
        m: u32,
        rdev: u32,
    ) -> Result<()> {
        if !self.cfg.ownership.is_xattr() {
            return Ok(());
        }
        let p = self.guest_stat_of(parent)?;
        let mut m = m;
        let gid = if p.mode & mode::S_ISGID != 0 {
            if m & mode::S_IFMT == mode::S_IFDIR {
                m |= mode::S_ISGID;
            } else if !perm::in_group(ctx, p.gid) && ctx.uid != 0 {
                // inode_init_owner: no inherited-group S_ISGID for outsiders.
                m &= !mode::S_ISGID;
            }
            p.gid
        } else {
            ctx.gid
        };
        self.set_override(
            inode,
            OverrideStat {
                uid: ctx.uid,
                gid,
                mode: m,
                rdev,
            },
        )
    }

    /// SETATTR under the model (`with_handle`: through an open file, as
    /// ftruncate): checks the caller under `xattr` and moves
    /// owner / group / mode changes from `attrs` into the returned new
    /// attribute; translates ids under `map`.
    pub(super) fn own_setattr(
        &self,
        ctx: &Context,
        inode: &H::Inode,
        attrs: &mut SetAttrs,
        with_handle: bool,
    ) -> Result<Option<OverrideStat>> {
        match self.cfg.ownership {
            Ownership::Host => Ok(None),
            Ownership::Map { uid, gid } => {
                if let Some(u) = attrs.uid {
                    attrs.uid = Some(uid.to_host(u).ok_or(Errno::EPERM)?);
                }
                if let Some(g) = attrs.gid {
                    attrs.gid = Some(gid.to_host(g).ok_or(Errno::EPERM)?);
                }
                Ok(None)
            }
            Ownership::Xattr { .. } => {
                let st = self.guest_stat_of(inode)?;
                let typ = st.mode & mode::S_IFMT;
                let before = st.mode;
                let mut o = OverrideStat {
                    uid: st.uid,
                    gid: st.gid,
                    mode: st.mode,
                    rdev: st.rdev,
                };
                if attrs.uid.is_some() || attrs.gid.is_some() {
                    perm::may_chown(ctx, &st, attrs.uid, attrs.gid)?;
                    o.uid = attrs.uid.take().unwrap_or(o.uid);
                    o.gid = attrs.gid.take().unwrap_or(o.gid);
                    o.mode = perm::after_chown(o.mode);
                }
                if let Some(m) = attrs.mode.take() {
                    o.mode = typ | perm::chmod(ctx, &st, m)?;
                }
                if attrs.size.is_some() {
                    // ftruncate(2) of a handle open for writing needs no permission.
                    if !with_handle {
                        super::check_access(&st, ctx, crate::abi::access::W_OK)?;
                    }
                    if ctx.uid != st.uid || attrs.kill_suidgid {
                        o.mode = perm::after_write(ctx, o.mode);
                    }
                }
                if attrs.kill_suidgid {
                    o.mode = perm::after_write(ctx, o.mode);
                    // The bits live in the attribute; host files carry no set-id
                    // bits, and an unprivileged server may not touch
                    // `security.capability` (EPERM even when absent).
                    attrs.kill_suidgid = false;
                }
                let explicit = matches!(attrs.atime, Some(crate::host::SetTime::At(_)))
                    || matches!(attrs.mtime, Some(crate::host::SetTime::At(_)));
                if attrs.atime.is_some() || attrs.mtime.is_some() {
                    perm::may_set_times(ctx, &st, explicit)?;
                }
                let changed = o.mode != before || o.uid != st.uid || o.gid != st.gid;
                Ok(changed.then_some(o))
            }
        }
    }

    /// Under `xattr`, on a modification of `inode`'s data by `ctx` that
    /// kills set-id bits (a WRITE or truncate asking for it, a FALLOCATE, a
    /// COPY_FILE_RANGE into it): clears them in the attribute as
    /// `file_remove_privs` would ([`perm::after_write`]). Returns whether
    /// the recorded mode changed; `None` when there is no attribute (other
    /// models, or a file the guest sees with its host mode).
    pub(super) fn own_kill_priv(&self, ctx: &Context, inode: &H::Inode) -> Result<Option<bool>> {
        if !self.cfg.ownership.is_xattr() {
            return Ok(None);
        }
        let Some(o) = self.override_of(inode) else {
            return Ok(None);
        };
        let m = perm::after_write(ctx, o.mode);
        if m == o.mode {
            return Ok(Some(false));
        }
        self.set_override(inode, OverrideStat { mode: m, ..o })?;
        Ok(Some(true))
    }

    /// Under `xattr`: `EACCES` unless the caller may search `dir` (look a
    /// name up in it, path_resolution(7)). Other models leave it to the
    /// host.
    pub(super) fn check_search(&self, ctx: &Context, dir: &H::Inode) -> Result<()> {
        if !self.cfg.ownership.is_xattr() {
            return Ok(());
        }
        let st = self.guest_stat_of(dir)?;
        if st.mode & mode::S_IFMT != mode::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        super::check_access(&st, ctx, crate::abi::access::X_OK)
    }

    /// Whether the guest's xattr `name` is refused (`EPERM`): the
    /// attribute of the `xattr` model.
    /// CREATE under `xattr`: permission checks against the recorded
    /// owners, then an existing file is opened (unless `O_EXCL`) or a new
    /// one made with `O_EXCL`, owner-writable for the creating open, its
    /// owner and mode recorded, then given the asked mode (git's 0444
    /// objects). A name made by someone else between the lookup and the
    /// exclusive create is looked up again (a few times), so a create
    /// without `O_EXCL` never fails with `EEXIST`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn create_xattr_model(
        &self,
        ctx: &Context,
        parent: &H::Inode,
        name: crate::name::Name<'_>,
        flags: crate::abi::OpenFlags,
        perm: u32,
        guest_flags: u32,
        creds: &Creds,
    ) -> Result<(H::Inode, H::File, Stat)> {
        use crate::abi::OpenFlags;
        let host_flags = super::direct::host_flags(flags);
        for _ in 0..4 {
            let existing = match self.host.lookup(parent, name) {
                Ok((i, _)) => Some(i),
                Err(Errno::ENOENT) => None,
                Err(e) => return Err(e),
            };
            if let Some(i) = existing {
                if flags.contains(OpenFlags::EXCL) {
                    return Err(Errno::EEXIST);
                }
                self.check_open(
                    ctx,
                    &i,
                    super::access_mask(guest_flags, self.cfg.guest_arch),
                )?;
                return self.host.create(parent, name, host_flags, perm, creds);
            }
            self.check_dir_write(ctx, parent)?;
            let writable = flags.intersects(OpenFlags::WRONLY | OpenFlags::RDWR);
            let hperm = self.host_perm(mode::S_IFREG, perm);
            let first = if writable { hperm | 0o200 } else { hperm };
            let (i, f, st) =
                match self
                    .host
                    .create(parent, name, host_flags | OpenFlags::EXCL, first, creds)
                {
                    Err(Errno::EEXIST) if !flags.contains(OpenFlags::EXCL) => continue,
                    r => r?,
                };
            if let Err(e) = self.record_new(ctx, parent, &i, mode::S_IFREG | perm, 0) {
                let _ = self.host.unlink(parent, name);
                return Err(e);
            }
            let st = if first != hperm {
                let set = SetAttrs {
                    mode: Some(hperm),
                    ..SetAttrs::default()
                };
                self.host.setattr(&i, Some(&f), &set)?
            } else {
                st
            };
            return Ok((i, f, st));
        }
        Err(Errno::EEXIST)
    }

    pub(super) fn check_xattr_name(&self, name: &[u8]) -> Result<()> {
        if self.cfg.ownership.is_xattr() && is_hidden_host_xattr(name) {
            Err(Errno::EPERM)
        } else {
            Ok(())
        }
    }

    /// Removes hidden names from a LISTXATTR answer in `buf[..n]`; returns
    /// the new length.
    pub(super) fn filter_xattr_list(&self, buf: &mut [u8], n: usize) -> usize {
        if !self.cfg.ownership.is_xattr() || n == 0 {
            return n;
        }
        let n = n.min(buf.len());
        let mut w = 0;
        let mut r = 0;
        while r < n {
            let end = buf[r..n].iter().position(|&b| b == 0).map_or(n, |p| r + p);
            let keep = !is_hidden_host_xattr(&buf[r..end]);
            let next = (end + 1).min(n);
            if keep {
                buf.copy_within(r..next, w);
                w += next - r;
            }
            r = next;
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        assert_eq!(
            Ownership::from_options(None, None, &[], &[], true),
            Ok(Ownership::Host)
        );
        assert_eq!(
            Ownership::from_options(None, None, &[], &[], false),
            Ok(Ownership::Xattr {
                default_uid: 0,
                default_gid: 0
            })
        );
        assert_eq!(
            Ownership::from_options(Some("xattr"), Some("501:20"), &[], &[], true),
            Ok(Ownership::Xattr {
                default_uid: 501,
                default_gid: 20
            })
        );
        let m = Ownership::from_options(None, None, &["map:0:1000:1"], &[], false).unwrap();
        assert_eq!(m.as_str(), "map");
        for bad in [
            Ownership::from_options(Some("bogus"), None, &[], &[], true),
            Ownership::from_options(Some("xattr"), Some("1:"), &[], &[], true),
            Ownership::from_options(Some("xattr"), Some("a:b"), &[], &[], true),
            Ownership::from_options(Some("host"), Some("1:1"), &[], &[], true),
            Ownership::from_options(Some("xattr"), None, &["map:0:0:1"], &[], true),
            Ownership::from_options(Some("map"), None, &[], &["map:0:0"], true),
        ] {
            assert!(bad.is_err(), "{bad:?}");
        }
        assert_eq!(parse_owner("0:0"), Some((0, 0)));
        assert_eq!(parse_owner("4294967296:0"), None);
    }
}
