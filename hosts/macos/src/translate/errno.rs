//! Errno values: Darwin (`<sys/errno.h>`) to Linux wire values
//! (include/uapi/asm-generic/errno-base.h, errno.h) and back.
//!
//! Only 1–34 agree. Among the traps: Darwin `EAGAIN` is 35 (Linux
//! `EDEADLK`), Darwin `EDEADLK` is 11 (Linux `EAGAIN`), Darwin `ELOOP` is 62
//! (Linux `ETIME`), Darwin has both `ENOTSUP` (45) and `EOPNOTSUPP` (102)
//! where Linux has one (95), and xattr calls fail with `ENOATTR` (93) where
//! Linux says `ENODATA` (61).

use arcbox_fs::Errno;

/// `(Darwin value, Linux value, name)` for every Darwin errno from
/// `<sys/errno.h>` (1 to `ELAST` = 107). Darwin values without a Linux
/// equivalent map to the nearest Linux meaning (noted inline).
pub const TABLE: &[(i32, i32, &str)] = &[
    (1, 1, "EPERM"),
    (2, 2, "ENOENT"),
    (3, 3, "ESRCH"),
    (4, 4, "EINTR"),
    (5, 5, "EIO"),
    (6, 6, "ENXIO"),
    (7, 7, "E2BIG"),
    (8, 8, "ENOEXEC"),
    (9, 9, "EBADF"),
    (10, 10, "ECHILD"),
    (11, 35, "EDEADLK"),
    (12, 12, "ENOMEM"),
    (13, 13, "EACCES"),
    (14, 14, "EFAULT"),
    (15, 15, "ENOTBLK"),
    (16, 16, "EBUSY"),
    (17, 17, "EEXIST"),
    (18, 18, "EXDEV"),
    (19, 19, "ENODEV"),
    (20, 20, "ENOTDIR"),
    (21, 21, "EISDIR"),
    (22, 22, "EINVAL"),
    (23, 23, "ENFILE"),
    (24, 24, "EMFILE"),
    (25, 25, "ENOTTY"),
    (26, 26, "ETXTBSY"),
    (27, 27, "EFBIG"),
    (28, 28, "ENOSPC"),
    (29, 29, "ESPIPE"),
    (30, 30, "EROFS"),
    (31, 31, "EMLINK"),
    (32, 32, "EPIPE"),
    (33, 33, "EDOM"),
    (34, 34, "ERANGE"),
    (35, 11, "EAGAIN"),
    (36, 115, "EINPROGRESS"),
    (37, 114, "EALREADY"),
    (38, 88, "ENOTSOCK"),
    (39, 89, "EDESTADDRREQ"),
    (40, 90, "EMSGSIZE"),
    (41, 91, "EPROTOTYPE"),
    (42, 92, "ENOPROTOOPT"),
    (43, 93, "EPROTONOSUPPORT"),
    (44, 94, "ESOCKTNOSUPPORT"),
    (45, 95, "ENOTSUP"),
    (46, 96, "EPFNOSUPPORT"),
    (47, 97, "EAFNOSUPPORT"),
    (48, 98, "EADDRINUSE"),
    (49, 99, "EADDRNOTAVAIL"),
    (50, 100, "ENETDOWN"),
    (51, 101, "ENETUNREACH"),
    (52, 102, "ENETRESET"),
    (53, 103, "ECONNABORTED"),
    (54, 104, "ECONNRESET"),
    (55, 105, "ENOBUFS"),
    (56, 106, "EISCONN"),
    (57, 107, "ENOTCONN"),
    (58, 108, "ESHUTDOWN"),
    (59, 109, "ETOOMANYREFS"),
    (60, 110, "ETIMEDOUT"),
    (61, 111, "ECONNREFUSED"),
    (62, 40, "ELOOP"),
    (63, 36, "ENAMETOOLONG"),
    (64, 112, "EHOSTDOWN"),
    (65, 113, "EHOSTUNREACH"),
    (66, 39, "ENOTEMPTY"),
    (67, 11, "EPROCLIM"), // process limit: Linux fork says EAGAIN
    (68, 87, "EUSERS"),
    (69, 122, "EDQUOT"),
    (70, 116, "ESTALE"),
    (71, 66, "EREMOTE"),
    (72, 5, "EBADRPC"), // Sun RPC errors: EIO
    (73, 5, "ERPCMISMATCH"),
    (74, 5, "EPROGUNAVAIL"),
    (75, 5, "EPROGMISMATCH"),
    (76, 5, "EPROCUNAVAIL"),
    (77, 37, "ENOLCK"),
    (78, 38, "ENOSYS"),
    (79, 22, "EFTYPE"), // inappropriate file type or format: EINVAL
    (80, 13, "EAUTH"),  // authentication error: EACCES
    (81, 13, "ENEEDAUTH"),
    (82, 5, "EPWROFF"), // device power is off: EIO
    (83, 5, "EDEVERR"), // device error: EIO
    (84, 75, "EOVERFLOW"),
    (85, 8, "EBADEXEC"), // bad executable: ENOEXEC
    (86, 8, "EBADARCH"),
    (87, 8, "ESHLIBVERS"),
    (88, 8, "EBADMACHO"),
    (89, 125, "ECANCELED"),
    (90, 43, "EIDRM"),
    (91, 42, "ENOMSG"),
    (92, 84, "EILSEQ"),
    (93, 61, "ENOATTR"), // attribute not found: Linux getxattr says ENODATA
    (94, 74, "EBADMSG"),
    (95, 72, "EMULTIHOP"),
    (96, 61, "ENODATA"),
    (97, 67, "ENOLINK"),
    (98, 63, "ENOSR"),
    (99, 60, "ENOSTR"),
    (100, 71, "EPROTO"),
    (101, 62, "ETIME"),
    (102, 95, "EOPNOTSUPP"),
    (103, 1, "ENOPOLICY"), // no such policy: EPERM
    (104, 131, "ENOTRECOVERABLE"),
    (105, 130, "EOWNERDEAD"),
    (106, 105, "EQFULL"),    // interface output queue full: ENOBUFS
    (107, 1, "ENOTCAPABLE"), // capability sandbox: EPERM
];

/// Darwin `ELAST`, the largest Darwin errno (`<sys/errno.h>`).
pub const DARWIN_ELAST: i32 = 107;

/// The Linux errno for a Darwin errno; unknown values become `EIO`.
pub fn from_darwin(darwin: i32) -> Errno {
    // TABLE[i] holds Darwin value i + 1.
    let idx = match usize::try_from(darwin) {
        Ok(v) if v >= 1 => v - 1,
        _ => return Errno::EIO,
    };
    match TABLE.get(idx) {
        Some(&(d, l, _)) if d == darwin => Errno::from_raw(l),
        _ => Errno::EIO,
    }
}

/// The Darwin errno for a Linux errno, where the meaning exists on Darwin.
///
/// Where Darwin has several values for one Linux meaning, the lowest is
/// chosen, which is the one Darwin filesystems return: `ENOTSUP` (45) for
/// `EOPNOTSUPP`, `ENOATTR` (93) for `ENODATA`, `EAGAIN` (35) for `EAGAIN`,
/// `EIO` for `EIO`. Linux errnos without a Darwin meaning (`EBADFD`,
/// `ENOKEY`, ...) are `None`.
pub fn to_darwin(linux: Errno) -> Option<i32> {
    let l = linux.raw();
    TABLE
        .iter()
        .find(|&&(_, lin, _)| lin == l)
        .map(|&(d, _, _)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_dense_and_ordered() {
        assert_eq!(TABLE.len(), usize::try_from(DARWIN_ELAST).expect("elast"));
        for (i, &(d, l, name)) in TABLE.iter().enumerate() {
            assert_eq!(usize::try_from(d).expect("darwin"), i + 1, "{name}");
            assert!((1..4096).contains(&l), "{name}");
        }
    }

    #[test]
    fn every_darwin_errno() {
        for &(d, l, name) in TABLE {
            assert_eq!(from_darwin(d).raw(), l, "{name} (Darwin {d})");
        }
        for bad in [0, -1, 108, 1000, i32::MIN, i32::MAX] {
            assert_eq!(from_darwin(bad), Errno::EIO, "{bad}");
        }
    }

    #[test]
    fn the_traps() {
        assert_eq!(from_darwin(62), Errno::ELOOP);
        assert_eq!(from_darwin(45), Errno::EOPNOTSUPP);
        assert_eq!(from_darwin(102), Errno::EOPNOTSUPP);
        assert_eq!(from_darwin(93), Errno::ENODATA);
        assert_eq!(from_darwin(96), Errno::ENODATA);
        assert_eq!(from_darwin(35), Errno::EAGAIN);
        assert_eq!(from_darwin(11), Errno::EDEADLK);
        assert_eq!(from_darwin(63), Errno::ENAMETOOLONG);
        assert_eq!(from_darwin(66), Errno::ENOTEMPTY);
        assert_eq!(from_darwin(78), Errno::ENOSYS);
        assert_eq!(from_darwin(69), Errno::EDQUOT);
        assert_eq!(from_darwin(70), Errno::ESTALE);
        assert_eq!(from_darwin(84), Errno::EOVERFLOW);
        assert_eq!(from_darwin(89), Errno::ECANCELED);
        assert_eq!(from_darwin(92), Errno::EILSEQ);
        assert_eq!(from_darwin(100), Errno::EPROTO);
        assert_eq!(from_darwin(55), Errno::ENOBUFS);
        assert_eq!(from_darwin(60), Errno::ETIMEDOUT);
        assert_eq!(from_darwin(77), Errno::ENOLCK);
        assert_eq!(from_darwin(68), Errno::EUSERS);
    }

    #[test]
    fn every_named_linux_errno_round_trips() {
        // Each errno the core names has a Darwin meaning that maps back to it.
        for &(name, e) in Errno::ALL {
            if e == Errno::EBADFD {
                assert_eq!(to_darwin(e), None, "{name}");
                continue;
            }
            let d = to_darwin(e).unwrap_or_else(|| panic!("{name} has no Darwin value"));
            assert_eq!(from_darwin(d), e, "{name} -> Darwin {d}");
        }
        assert_eq!(to_darwin(Errno::EOPNOTSUPP), Some(45));
        assert_eq!(to_darwin(Errno::ENODATA), Some(93));
        assert_eq!(to_darwin(Errno::ELOOP), Some(62));
        assert_eq!(to_darwin(Errno::EAGAIN), Some(35));
    }
}
