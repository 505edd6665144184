//! Name equivalence on macOS volumes, for negative-cache keys.
//!
//! Two names the guest sees as different can be one file on a Mac: on a
//! case-insensitive volume (the APFS and HFS+ default) `README` and
//! `readme` are the same entry, and APFS is normalisation-insensitive even
//! when case-sensitive (`é` as U+00E9 and as `e` + U+0301 are one name).
//! A negative-cache entry keyed by the raw bytes of `readme` would survive
//! the creation of `README` and hide it: a data-loss bug.
//!
//! [`negative_key`] gives the key the core's negative cache must use on such
//! a host: ASCII case is folded on case-insensitive volumes, and names with
//! any non-ASCII byte are not cached at all (full Unicode case folding and
//! normalisation as APFS does them is not reproduced here; not caching is
//! always correct).

use arcbox_fs::name::{Name, fnv1a};

/// FNV-1a of `name` with ASCII letters folded to lower case.
pub fn fold_hash(name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The negative-cache key for `name` on a volume, or `None` if a miss of
/// this name must not be cached.
///
/// - non-ASCII names: `None` on every macOS volume (normalisation);
/// - case-insensitive volumes: the hash of the ASCII-folded name, so that
///   creating `README` invalidates the entry for `readme`;
/// - otherwise the plain hash, equal to [`Name::hash64`].
pub fn negative_key(name: Name<'_>, case_insensitive: bool) -> Option<u64> {
    let bytes = name.as_bytes();
    if !bytes.is_ascii() {
        return None;
    }
    Some(if case_insensitive {
        fold_hash(bytes)
    } else {
        fnv1a(bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(b: &[u8]) -> Name<'_> {
        Name::new(b).expect("valid name")
    }

    #[test]
    fn case_insensitive_keys_collide() {
        let a = negative_key(n(b"readme"), true);
        assert!(a.is_some());
        assert_eq!(a, negative_key(n(b"README"), true));
        assert_eq!(a, negative_key(n(b"ReadMe"), true));
        assert_ne!(a, negative_key(n(b"readme2"), true));
    }

    #[test]
    fn case_sensitive_keys_are_the_core_hash() {
        assert_eq!(
            negative_key(n(b"readme"), false),
            Some(n(b"readme").hash64())
        );
        assert_ne!(
            negative_key(n(b"readme"), false),
            negative_key(n(b"README"), false)
        );
    }

    #[test]
    fn non_ascii_names_are_never_cached() {
        // U+00E9 precomposed and e + U+0301 are one APFS name.
        for name in [&b"caf\xc3\xa9"[..], b"cafe\xcc\x81", b"\xff"] {
            assert_eq!(negative_key(n(name), true), None);
            assert_eq!(negative_key(n(name), false), None);
        }
    }

    #[test]
    fn fold_matches_fnv_on_lowercase() {
        assert_eq!(fold_hash(b"abc.txt"), fnv1a(b"abc.txt"));
        assert_eq!(fold_hash(b"ABC.TXT"), fnv1a(b"abc.txt"));
    }
}
