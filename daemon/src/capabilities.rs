//! The capabilities a root daemon keeps (capabilities(7)), and virtiofsd's
//! `--modcaps=+cap:-cap` syntax.
//!
//! The kept set is what serving a passthrough needs: `CHOWN`,
//! `DAC_OVERRIDE`, `FOWNER`, `FSETID`, `SETGID`, `SETUID`, `MKNOD`,
//! `SETFCAP`, and `DAC_READ_SEARCH` for `open_by_handle_at(2)`. Everything
//! else leaves the effective, permitted, inheritable, ambient and bounding
//! sets, so no later `execve` can win them back.

use caps::{CapSet, Capability, CapsHashSet};

/// The capabilities kept by default.
pub const DEFAULT_KEEP: [Capability; 9] = [
    Capability::CAP_CHOWN,
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_FOWNER,
    Capability::CAP_FSETID,
    Capability::CAP_SETGID,
    Capability::CAP_SETUID,
    Capability::CAP_MKNOD,
    Capability::CAP_SETFCAP,
    Capability::CAP_DAC_READ_SEARCH,
];

/// A `--modcaps` value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModcapsError(pub String);

impl std::fmt::Display for ModcapsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--modcaps: {}", self.0)
    }
}

impl std::error::Error for ModcapsError {}

/// The set `DEFAULT_KEEP` adjusted by `modcaps`: a colon-separated list of
/// capability names (with or without `cap_`, any case), each preceded by
/// `+` (keep it too) or `-` (drop it), e.g. `+sys_admin:-chown`.
///
/// Errors: an empty item, a missing sign, or an unknown capability name.
pub fn keep_set(modcaps: Option<&str>) -> Result<CapsHashSet, ModcapsError> {
    let mut keep: CapsHashSet = DEFAULT_KEEP.iter().copied().collect();
    let Some(list) = modcaps else {
        return Ok(keep);
    };
    for item in list.split(':') {
        let (add, name) = match item.as_bytes().first() {
            Some(b'+') => (true, &item[1..]),
            Some(b'-') => (false, &item[1..]),
            _ => {
                return Err(ModcapsError(format!("'{item}' must start with '+' or '-'")));
            }
        };
        let canonical = caps::to_canonical(name);
        let cap: Capability = canonical
            .parse()
            .map_err(|_| ModcapsError(format!("unknown capability '{name}'")))?;
        if add {
            keep.insert(cap);
        } else {
            keep.remove(&cap);
        }
    }
    Ok(keep)
}

/// Limits the calling thread (and every thread and process it starts
/// afterwards) to `keep`: the bounding set first (while `CAP_SETPCAP` is
/// still held), then the ambient, inheritable, permitted and effective
/// sets. Capabilities not currently permitted are not gained. Call before
/// any other thread starts: capability sets are per thread.
///
/// Errors: the kernel refused a change (see capset(2), prctl(2)).
pub fn restrict_to(keep: &CapsHashSet) -> Result<(), caps::errors::CapsError> {
    let permitted = caps::read(None, CapSet::Permitted)?;
    let have_setpcap = permitted.contains(&Capability::CAP_SETPCAP);
    if have_setpcap {
        for cap in caps::read(None, CapSet::Bounding)? {
            if !keep.contains(&cap) {
                caps::drop(None, CapSet::Bounding, cap)?;
            }
        }
    }
    caps::clear(None, CapSet::Ambient)?;
    let kept: CapsHashSet = permitted.intersection(keep).copied().collect();
    caps::set(None, CapSet::Inheritable, &CapsHashSet::new())?;
    caps::set(None, CapSet::Effective, &kept)?;
    caps::set(None, CapSet::Permitted, &kept)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modcaps_adjusts_the_default() {
        let d = keep_set(None).expect("default");
        assert_eq!(d.len(), 9);
        let s = keep_set(Some("+sys_admin:-chown")).expect("parse");
        assert!(s.contains(&Capability::CAP_SYS_ADMIN));
        assert!(!s.contains(&Capability::CAP_CHOWN));
        let s = keep_set(Some("+CAP_SYS_ADMIN")).expect("parse");
        assert!(s.contains(&Capability::CAP_SYS_ADMIN));
        assert_eq!(s.len(), 10);
    }

    #[test]
    fn modcaps_refuses_malformed_lists() {
        for bad in [
            "",
            "sys_admin",
            "+",
            "+nosuchcap",
            "+chown:",
            ":+chown",
            "*chown",
            "+chown::-fowner",
            "+\u{e9}",
        ] {
            assert!(keep_set(Some(bad)).is_err(), "{bad:?} accepted");
        }
    }
}
