//! [`XattrMap`]: virtiofsd's `--xattrmap` translation of extended attribute
//! names between the guest ("client") and the host ("server").
//!
//! The rule syntax and semantics are virtiofsd's (`doc/xattr-mapping.md`
//! in virtiofsd; `docs/tools/virtiofsd.rst` in QEMU for the C daemon):
//!
//! - A mapping is a list of rules, tried in order; the first that matches
//!   applies. White space may surround rules.
//! - A rule's separator is its first character; the rule is
//!   `<s>type<s>scope<s>key<s>prepend<s>`, e.g. `:prefix:all::user.virtiofs.:`.
//! - `scope`: `client` matches `key` as a prefix of a name the guest sends
//!   (GETXATTR, SETXATTR, REMOVEXATTR); `server` matches `prepend` as a
//!   prefix of a name the host lists (LISTXATTR); `all` is both.
//! - `type`: `prefix` prepends `prepend` to the guest's name, and strips it
//!   from a listed host name; `ok` passes the name unchanged; `bad` denies
//!   the guest's name (`EPERM`; a GETXATTR answers `ENODATA`, as
//!   virtiofsd) and hides the host's; `unsupported` denies with `ENOTSUP`
//!   and hides.
//! - `<s>map<s>key<s>prepend<s>` is shorthand, allowed once and last, for
//!   the rules that map `key` (every name when `key` is empty) under
//!   `prepend` and hide the rest of the host's names under it:
//!   with an empty key, `prefix all "" prepend` then `bad all "" ""`;
//!   else `prefix all key prepend`, `bad server "" key`,
//!   `bad client prepend ""` and `ok all "" ""` (as the C daemon and
//!   virtiofsd's documentation expand it).
//!
//! A name no rule matches is denied (`EPERM`) from the guest and hidden
//! from the host's list. Matching compares exact bytes.
//!
//! Mapping is allocation-free per name ([`XattrMap::to_host`] writes into
//! a caller's buffer); only [`XattrMap::map_list`] appends to a `Vec`.

use crate::errno::Errno;
use alloc::vec::Vec;
use core::fmt;

/// Which names a rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    Client,
    Server,
    All,
}

impl Scope {
    fn client(self) -> bool {
        matches!(self, Scope::Client | Scope::All)
    }
    fn server(self) -> bool {
        matches!(self, Scope::Server | Scope::All)
    }
}

/// What a matching rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Prefix,
    Ok,
    Bad,
    Unsupported,
}

/// One rule, after `map` expansion.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    kind: Kind,
    scope: Scope,
    key: Vec<u8>,
    prepend: Vec<u8>,
}

/// Why a `--xattrmap` string was refused. `rule` counts from 1, in the
/// order written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XattrMapError {
    /// The string holds no rule.
    NoRules,
    /// A rule ends before its last separator.
    Incomplete {
        /// The rule, from 1.
        rule: usize,
    },
    /// A rule's type is not `prefix`, `ok`, `bad`, `unsupported` or `map`.
    UnknownType {
        /// The rule, from 1.
        rule: usize,
    },
    /// A rule's scope is not `client`, `server` or `all`.
    UnknownScope {
        /// The rule, from 1.
        rule: usize,
    },
    /// A `map` rule that is not the last rule.
    MapNotLast {
        /// The rule, from 1.
        rule: usize,
    },
    /// A key or prefix longer than an attribute name may be.
    TooLong {
        /// The rule, from 1.
        rule: usize,
    },
}

impl fmt::Display for XattrMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XattrMapError::NoRules => f.write_str("no rules"),
            XattrMapError::Incomplete { rule } => {
                write!(
                    f,
                    "rule {rule}: incomplete (a rule is :type:scope:key:prepend:)"
                )
            }
            XattrMapError::UnknownType { rule } => write!(
                f,
                "rule {rule}: unknown type (expected prefix, ok, bad, unsupported or map)"
            ),
            XattrMapError::UnknownScope { rule } => write!(
                f,
                "rule {rule}: unknown scope (expected client, server or all)"
            ),
            XattrMapError::MapNotLast { rule } => {
                write!(
                    f,
                    "rule {rule}: a map rule must be the only one and the last"
                )
            }
            XattrMapError::TooLong { rule } => write!(
                f,
                "rule {rule}: key or prefix longer than {} bytes",
                crate::abi::XATTR_NAME_MAX
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for XattrMapError {}

/// How a guest's attribute name reaches the host ([`XattrMap::to_host`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToHost<'a> {
    /// Use the host name `prefix` followed by the guest's name (`prefix`
    /// is empty for an `ok` rule).
    Name {
        /// Bytes to put before the guest's name.
        prefix: &'a [u8],
    },
    /// A `bad` rule, or no rule: `EPERM` (`ENODATA` for GETXATTR).
    Denied,
    /// An `unsupported` rule: `ENOTSUP`.
    Unsupported,
}

/// A parsed `--xattrmap`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XattrMap {
    rules: Vec<Rule>,
}

impl XattrMap {
    /// Parses virtiofsd's rule syntax (see the [module docs](self)).
    ///
    /// Errors: [`XattrMapError`], naming the rule.
    pub fn parse(s: &str) -> Result<XattrMap, XattrMapError> {
        let b = s.as_bytes();
        let mut rules = Vec::new();
        let mut i = 0;
        let mut n = 0;
        let mut saw_map = false;
        while i < b.len() {
            if b[i].is_ascii_whitespace() {
                i += 1;
                continue;
            }
            n += 1;
            if saw_map {
                return Err(XattrMapError::MapNotLast { rule: n - 1 });
            }
            let sep = b[i];
            i += 1;
            let field = |i: &mut usize| -> Result<&[u8], XattrMapError> {
                let rest = b.get(*i..).unwrap_or(&[]);
                let end = rest
                    .iter()
                    .position(|&c| c == sep)
                    .ok_or(XattrMapError::Incomplete { rule: n })?;
                *i += end + 1;
                Ok(&rest[..end])
            };
            let kind = field(&mut i)?;
            if kind == b"map" {
                let key = field(&mut i)?;
                let prepend = field(&mut i)?;
                check_len(n, key, prepend)?;
                expand_map(&mut rules, key, prepend);
                saw_map = true;
                continue;
            }
            let kind = match kind {
                b"prefix" => Kind::Prefix,
                b"ok" => Kind::Ok,
                b"bad" => Kind::Bad,
                b"unsupported" => Kind::Unsupported,
                _ => return Err(XattrMapError::UnknownType { rule: n }),
            };
            let scope = match field(&mut i)? {
                b"client" => Scope::Client,
                b"server" => Scope::Server,
                b"all" => Scope::All,
                _ => return Err(XattrMapError::UnknownScope { rule: n }),
            };
            let key = field(&mut i)?;
            let prepend = field(&mut i)?;
            check_len(n, key, prepend)?;
            rules.push(Rule {
                kind,
                scope,
                key: key.to_vec(),
                prepend: prepend.to_vec(),
            });
        }
        if rules.is_empty() {
            return Err(XattrMapError::NoRules);
        }
        Ok(XattrMap { rules })
    }

    /// The host name for the guest's `name` (GETXATTR, SETXATTR,
    /// REMOVEXATTR): the first client-scope rule whose key prefixes it.
    pub fn to_host(&self, name: &[u8]) -> ToHost<'_> {
        let Some(r) = self
            .rules
            .iter()
            .find(|r| r.scope.client() && name.starts_with(&r.key))
        else {
            return ToHost::Denied;
        };
        match r.kind {
            Kind::Prefix => ToHost::Name { prefix: &r.prepend },
            Kind::Ok => ToHost::Name { prefix: &[] },
            Kind::Bad => ToHost::Denied,
            Kind::Unsupported => ToHost::Unsupported,
        }
    }

    /// The guest's name for the host's `name` (LISTXATTR), `None` when it
    /// is hidden: the first server-scope rule whose prefix prefixes it.
    /// An empty result (a host name equal to a stripped prefix) is hidden.
    pub fn to_guest<'n>(&self, name: &'n [u8]) -> Option<&'n [u8]> {
        let r = self
            .rules
            .iter()
            .find(|r| r.scope.server() && name.starts_with(&r.prepend))?;
        let out = match r.kind {
            Kind::Prefix => name.get(r.prepend.len()..)?,
            Kind::Ok => name,
            Kind::Bad | Kind::Unsupported => return None,
        };
        (!out.is_empty()).then_some(out)
    }

    /// The guest's view of a host LISTXATTR result (NUL-terminated names),
    /// appended to `out`: hidden names dropped, prefixes stripped. The
    /// result is never longer than `list`.
    pub fn map_list(&self, list: &[u8], out: &mut Vec<u8>) {
        for name in list.split(|&c| c == 0).filter(|n| !n.is_empty()) {
            if let Some(g) = self.to_guest(name) {
                out.extend_from_slice(g);
                out.push(0);
            }
        }
    }

    /// Writes the host name for the guest's `name` into `buf` and returns
    /// it. Errors: `EPERM` (denied), `ENOTSUP` (unsupported), `ERANGE` (the
    /// host name does not fit `buf`, as setxattr(2) for a name that is
    /// too long).
    pub fn host_name<'b>(&self, name: &[u8], buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
        match self.to_host(name) {
            ToHost::Name { prefix } => {
                let len = prefix.len() + name.len();
                let out = buf.get_mut(..len).ok_or(Errno::ERANGE)?;
                out[..prefix.len()].copy_from_slice(prefix);
                out[prefix.len()..].copy_from_slice(name);
                Ok(out)
            }
            ToHost::Denied => Err(Errno::EPERM),
            ToHost::Unsupported => Err(Errno::ENOTSUP),
        }
    }
}

/// Buffer size for a host name built by [`XattrMap::host_name`]: a guest
/// name and a prefix of at most `XATTR_NAME_MAX` bytes each.
pub const HOST_NAME_BUF: usize = 2 * crate::abi::XATTR_NAME_MAX;

fn check_len(rule: usize, key: &[u8], prepend: &[u8]) -> Result<(), XattrMapError> {
    if key.len() > crate::abi::XATTR_NAME_MAX || prepend.len() > crate::abi::XATTR_NAME_MAX {
        Err(XattrMapError::TooLong { rule })
    } else {
        Ok(())
    }
}

fn expand_map(rules: &mut Vec<Rule>, key: &[u8], prepend: &[u8]) {
    let rule = |kind, scope, key: &[u8], prepend: &[u8]| Rule {
        kind,
        scope,
        key: key.to_vec(),
        prepend: prepend.to_vec(),
    };
    rules.push(rule(Kind::Prefix, Scope::All, key, prepend));
    if key.is_empty() {
        rules.push(rule(Kind::Bad, Scope::All, b"", b""));
    } else {
        rules.push(rule(Kind::Bad, Scope::Server, b"", key));
        rules.push(rule(Kind::Bad, Scope::Client, prepend, b""));
        rules.push(rule(Kind::Ok, Scope::All, b"", b""));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn host(m: &XattrMap, name: &str) -> Result<Vec<u8>, Errno> {
        let mut buf = [0u8; HOST_NAME_BUF];
        m.host_name(name.as_bytes(), &mut buf).map(<[u8]>::to_vec)
    }

    fn list(m: &XattrMap, names: &[&str]) -> Vec<u8> {
        let mut raw = Vec::new();
        for n in names {
            raw.extend_from_slice(n.as_bytes());
            raw.push(0);
        }
        let mut out = Vec::new();
        m.map_list(&raw, &mut out);
        out
    }

    #[test]
    fn prefix_all_then_bad_hides_the_hosts_own_names() {
        let m = XattrMap::parse(":prefix:all::user.virtiofs.::bad:all:::").unwrap();
        assert_eq!(host(&m, "trusted.x").unwrap(), b"user.virtiofs.trusted.x");
        assert_eq!(
            list(
                &m,
                &[
                    "user.virtiofs.security.selinux",
                    "security.selinux",
                    "user.virtiofs."
                ]
            ),
            b"security.selinux\0"
        );
    }

    #[test]
    fn map_shorthand_equals_its_expansion() {
        let a = XattrMap::parse(":map::user.virtiofs.:").unwrap();
        let b = XattrMap::parse(":prefix:all::user.virtiofs.::bad:all:::").unwrap();
        assert_eq!(a, b);
        let a = XattrMap::parse("/map/trusted./user.virtiofs./").unwrap();
        let b = XattrMap::parse(
            "/prefix/all/trusted./user.virtiofs./\n  /bad/server//trusted./\n  \
             /bad/client/user.virtiofs.//\n  /ok/all///",
        )
        .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn selective_map_blocks_direct_access_to_the_target() {
        let m = XattrMap::parse("/map/trusted./user.virtiofs./").unwrap();
        assert_eq!(
            host(&m, "trusted.overlay.x").unwrap(),
            b"user.virtiofs.trusted.overlay.x"
        );
        assert_eq!(host(&m, "user.virtiofs.trusted.x"), Err(Errno::EPERM));
        assert_eq!(host(&m, "user.mime").unwrap(), b"user.mime");
        assert_eq!(
            list(
                &m,
                &[
                    "user.virtiofs.trusted.a",
                    "trusted.host",
                    "user.mime",
                    "security.selinux"
                ]
            ),
            b"trusted.a\0user.mime\0security.selinux\0"
        );
    }

    #[test]
    fn bad_and_unsupported() {
        let m = XattrMap::parse(
            "/unsupported/all/security.selinux/security.selinux/ /bad/all/trusted./trusted./ \
             /ok/all///",
        )
        .unwrap();
        assert_eq!(host(&m, "security.selinux"), Err(Errno::ENOTSUP));
        assert_eq!(host(&m, "trusted.x"), Err(Errno::EPERM));
        assert_eq!(host(&m, "user.x").unwrap(), b"user.x");
        assert_eq!(
            list(&m, &["security.selinux", "trusted.x", "user.x"]),
            b"user.x\0"
        );
    }

    #[test]
    fn no_matching_rule_denies_and_hides() {
        let m = XattrMap::parse(":ok:client:user.::").unwrap();
        assert_eq!(host(&m, "user.a").unwrap(), b"user.a");
        assert_eq!(host(&m, "trusted.a"), Err(Errno::EPERM));
        assert_eq!(list(&m, &["user.a"]), b"");
    }

    #[test]
    fn a_name_too_long_for_the_buffer_is_erange() {
        let m = XattrMap::parse(":map::user.virtiofs.:").unwrap();
        let long = "u".repeat(crate::abi::XATTR_NAME_MAX);
        assert!(host(&m, &long).is_ok());
        let mut small = [0u8; 8];
        assert_eq!(m.host_name(b"user.a", &mut small), Err(Errno::ERANGE));
    }

    #[test]
    fn malformed_maps_are_refused_with_the_rule_number() {
        assert_eq!(XattrMap::parse(""), Err(XattrMapError::NoRules));
        assert_eq!(XattrMap::parse("   \n"), Err(XattrMapError::NoRules));
        assert_eq!(
            XattrMap::parse(":ok:all:::  :prefix:all:trusted.:user.vm."),
            Err(XattrMapError::Incomplete { rule: 2 })
        );
        assert_eq!(
            XattrMap::parse(":nope:all:::"),
            Err(XattrMapError::UnknownType { rule: 1 })
        );
        assert_eq!(
            XattrMap::parse(":ok:guest:::"),
            Err(XattrMapError::UnknownScope { rule: 1 })
        );
        assert_eq!(
            XattrMap::parse(":map::a.: :ok:all:::"),
            Err(XattrMapError::MapNotLast { rule: 1 })
        );
        let long = alloc::format!(":ok:all:{}::", "k".repeat(300));
        assert_eq!(
            XattrMap::parse(&long),
            Err(XattrMapError::TooLong { rule: 1 })
        );
        // A lone separator, non-ASCII separators and bytes never panic.
        for s in [
            ":",
            "::",
            "é",
            "éokéalléééé",
            "\u{0}ok\u{0}all\u{0}\u{0}\u{0}",
        ] {
            let _ = XattrMap::parse(s);
        }
        assert!(XattrMap::parse("\u{0}ok\u{0}all\u{0}\u{0}\u{0}").is_ok());
    }

    #[test]
    fn error_text_names_the_rule() {
        let e = XattrMap::parse(":ok:all::: :bad:sideways:::").unwrap_err();
        assert_eq!(
            alloc::format!("{e}"),
            "rule 2: unknown scope (expected client, server or all)"
        );
    }
}
