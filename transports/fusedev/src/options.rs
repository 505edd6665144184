//! `-o opt[,opt...]` mount options: the VFS flags of mount(8) and the FUSE
//! options of fuse(8), applied to a [`MountOptions`].
//!
//! VFS (mount(8) "FILESYSTEM-INDEPENDENT MOUNT OPTIONS"): `ro`, `rw`,
//! `suid`/`nosuid`, `dev`/`nodev`, `exec`/`noexec`, `atime`/`noatime`,
//! `relatime`/`norelatime`, `strictatime`/`nostrictatime`,
//! `diratime`/`nodiratime`, `lazytime`/`nolazytime`, `sync`/`async`,
//! `dirsync`. FUSE (fuse(8) "OPTIONS"): `fsname=`, `subtype=`,
//! `allow_other`, `default_permissions`, `max_read=`. fstab(5)-only words
//! that mount(8) may pass on (`defaults`, `auto`, `noauto`, `nofail`,
//! `_netdev`, `user`, `users`, `nouser`, `owner`, `group`, `comment=`,
//! `x-*`) are accepted and ignored.

use crate::mount::MountOptions;

/// What [`apply`] did with one option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// A mount option: `opts` was updated (or it was an fstab word).
    Mount,
    /// Not a mount option: the caller's own (e.g. `cache=`).
    NotMine,
}

/// Applies one option (`name` or `name=value`) to `opts`.
///
/// Errors: a known option with a missing or malformed value, or a value
/// that `mount(2)` could not take (`fsname=` empty or containing `,`).
pub fn apply(opts: &mut MountOptions, opt: &str) -> Result<Applied, String> {
    let (name, value) = match opt.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (opt, None),
    };
    let flag = |v: Option<&str>| match v {
        None => Ok(()),
        Some(_) => Err(format!("mount option {name} takes no value")),
    };
    let text = |v: Option<&str>| match v {
        Some(v) if !v.is_empty() && !v.contains([',', '\0']) => Ok(v.to_string()),
        _ => Err(format!(
            "mount option {name}= needs a non-empty value without ','"
        )),
    };
    match name {
        "ro" | "rw" => {
            flag(value)?;
            opts.read_only = name == "ro";
        }
        "suid" | "nosuid" => {
            flag(value)?;
            opts.nosuid = name == "nosuid";
        }
        "dev" | "nodev" => {
            flag(value)?;
            opts.nodev = name == "nodev";
        }
        "exec" | "noexec" => {
            flag(value)?;
            opts.noexec = name == "noexec";
        }
        "atime" | "noatime" | "relatime" | "norelatime" | "strictatime" | "nostrictatime" => {
            flag(value)?;
            opts.atime = match name {
                "noatime" => Atime::Noatime,
                "strictatime" => Atime::Strict,
                "relatime" => Atime::Relative,
                // atime, norelatime, nostrictatime: the kernel's default.
                _ => Atime::Default,
            };
        }
        "diratime" | "nodiratime" => {
            flag(value)?;
            opts.nodiratime = name == "nodiratime";
        }
        "lazytime" | "nolazytime" => {
            flag(value)?;
            opts.lazytime = name == "lazytime";
        }
        "sync" | "async" => {
            flag(value)?;
            opts.sync = name == "sync";
        }
        "dirsync" => {
            flag(value)?;
            opts.dirsync = true;
        }
        "allow_other" => {
            flag(value)?;
            opts.allow_other = true;
        }
        "default_permissions" => {
            flag(value)?;
            opts.default_permissions = true;
        }
        "fsname" => opts.fsname = text(value)?,
        "subtype" => opts.subtype = Some(text(value)?),
        "max_read" => {
            let v = value.unwrap_or("");
            let n: u32 = v
                .parse()
                .map_err(|_| format!("mount option max_read={v}: not a number"))?;
            if n < 4096 {
                return Err(format!("mount option max_read={n}: below 4096"));
            }
            opts.max_read = Some(n);
        }
        "defaults" | "auto" | "noauto" | "nofail" | "_netdev" | "user" | "users" | "nouser"
        | "owner" | "group" | "comment" => {}
        n if n.starts_with("x-") => {}
        _ => return Ok(Applied::NotMine),
    }
    Ok(Applied::Mount)
}

/// Access-time updates (mount(8) `atime` options).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Atime {
    /// The kernel's default (`relatime` on Linux).
    #[default]
    Default,
    /// `relatime` (`MS_RELATIME`).
    Relative,
    /// `noatime` (`MS_NOATIME`).
    Noatime,
    /// `strictatime` (`MS_STRICTATIME`): every access.
    Strict,
}

/// Splits an `-o` argument into options (`a,b=c,d`). Empty items are skipped.
pub fn split(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &str) -> Result<MountOptions, String> {
        let mut o = MountOptions::default();
        for opt in split(list) {
            if apply(&mut o, opt)? == Applied::NotMine {
                return Err(format!("not mine: {opt}"));
            }
        }
        Ok(o)
    }

    #[test]
    fn vfs_and_fuse_options() {
        let o = parse("ro,suid,dev,noexec,noatime,nodiratime,sync,dirsync,allow_other,default_permissions,fsname=src,subtype=x,max_read=65536").unwrap();
        assert!(o.read_only && !o.nosuid && !o.nodev && o.noexec);
        assert_eq!(o.atime, Atime::Noatime);
        assert!(o.nodiratime && o.sync && o.dirsync && o.allow_other && o.default_permissions);
        assert_eq!(o.fsname, "src");
        assert_eq!(o.subtype.as_deref(), Some("x"));
        assert_eq!(o.max_read, Some(65536));
        let o = parse("defaults,noauto,nofail,_netdev,x-systemd.automount,strictatime,rw").unwrap();
        assert_eq!(o.atime, Atime::Strict);
        assert!(!o.read_only && o.nosuid && o.nodev);
    }

    #[test]
    fn malformed_options_are_errors() {
        for bad in [
            "ro=1",
            "fsname=",
            "fsname",
            "max_read=abc",
            "max_read=10",
            "max_read",
            "subtype=",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse("cache=never").unwrap_err(), "not mine: cache=never");
    }
}
