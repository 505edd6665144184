//! `open(2)` flags: Linux wire values to Darwin and back.
//!
//! The Linux values are per guest architecture: x86-64 uses the asm-generic
//! values (include/uapi/asm-generic/fcntl.h) that `arcbox_fs::abi::OpenFlags`
//! names; arm64 (arch/arm64/include/uapi/asm/fcntl.h) moves four of them
//! (`O_DIRECTORY`, `O_NOFOLLOW`, `O_DIRECT`, `O_LARGEFILE`). An Apple silicon
//! Mac runs arm64 guests, so the guest architecture is a parameter.
//!
//! The Darwin values are from `<sys/fcntl.h>`. They share no bit with Linux
//! beyond the access mode: Linux `O_APPEND` (0o2000 = 0x400) is Darwin
//! `O_TRUNC`, Linux `O_CREAT` (0o100 = 0x40) is Darwin `O_ASYNC`.

use arcbox_fs::Errno;

/// The guest's architecture, which decides four Linux open-flag values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GuestArch {
    /// x86-64 (and every asm-generic architecture).
    X86_64,
    /// arm64 / aarch64.
    Aarch64,
}

impl GuestArch {
    /// The architecture this crate is built for: Hypervisor.framework and
    /// Virtualization.framework run guests of the host's own architecture.
    pub const fn native() -> GuestArch {
        if cfg!(target_arch = "aarch64") {
            GuestArch::Aarch64
        } else {
            GuestArch::X86_64
        }
    }
}

/// Linux open-flag values (include/uapi/asm-generic/fcntl.h unless noted).
pub mod linux {
    /// `O_ACCMODE`.
    pub const O_ACCMODE: u32 = 0o3;
    /// `O_WRONLY`.
    pub const O_WRONLY: u32 = 0o1;
    /// `O_RDWR`.
    pub const O_RDWR: u32 = 0o2;
    /// `O_CREAT`.
    pub const O_CREAT: u32 = 0o100;
    /// `O_EXCL`.
    pub const O_EXCL: u32 = 0o200;
    /// `O_NOCTTY`.
    pub const O_NOCTTY: u32 = 0o400;
    /// `O_TRUNC`.
    pub const O_TRUNC: u32 = 0o1000;
    /// `O_APPEND`.
    pub const O_APPEND: u32 = 0o2000;
    /// `O_NONBLOCK`.
    pub const O_NONBLOCK: u32 = 0o4000;
    /// `O_DSYNC`.
    pub const O_DSYNC: u32 = 0o10000;
    /// `FASYNC`.
    pub const FASYNC: u32 = 0o20000;
    /// `O_NOATIME`.
    pub const O_NOATIME: u32 = 0o1000000;
    /// `O_CLOEXEC`.
    pub const O_CLOEXEC: u32 = 0o2000000;
    /// `__O_SYNC` (the bit `O_SYNC` adds to `O_DSYNC`).
    pub const O_SYNC_BIT: u32 = 0o4000000;
    /// `O_SYNC` (`__O_SYNC | O_DSYNC`).
    pub const O_SYNC: u32 = O_SYNC_BIT | O_DSYNC;
    /// `O_PATH`.
    pub const O_PATH: u32 = 0o10000000;
    /// `__O_TMPFILE` (the bit `O_TMPFILE` adds to `O_DIRECTORY`).
    pub const O_TMPFILE_BIT: u32 = 0o20000000;

    /// The four values that differ between x86-64 and arm64.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct ArchFlags {
        /// `O_DIRECT`.
        pub direct: u32,
        /// `O_LARGEFILE`.
        pub largefile: u32,
        /// `O_DIRECTORY`.
        pub directory: u32,
        /// `O_NOFOLLOW`.
        pub nofollow: u32,
    }

    /// x86-64: include/uapi/asm-generic/fcntl.h.
    pub const X86_64: ArchFlags = ArchFlags {
        direct: 0o40000,
        largefile: 0o100000,
        directory: 0o200000,
        nofollow: 0o400000,
    };
    /// arm64: arch/arm64/include/uapi/asm/fcntl.h.
    pub const AARCH64: ArchFlags = ArchFlags {
        direct: 0o200000,
        largefile: 0o400000,
        directory: 0o40000,
        nofollow: 0o100000,
    };
}

/// Darwin open-flag values (`<sys/fcntl.h>`).
pub mod darwin {
    /// `O_ACCMODE`.
    pub const O_ACCMODE: u32 = 0x0003;
    /// `O_WRONLY`.
    pub const O_WRONLY: u32 = 0x0001;
    /// `O_RDWR`.
    pub const O_RDWR: u32 = 0x0002;
    /// `O_NONBLOCK`.
    pub const O_NONBLOCK: u32 = 0x0004;
    /// `O_APPEND`.
    pub const O_APPEND: u32 = 0x0008;
    /// `O_SHLOCK` (Darwin only).
    pub const O_SHLOCK: u32 = 0x0010;
    /// `O_EXLOCK` (Darwin only).
    pub const O_EXLOCK: u32 = 0x0020;
    /// `O_ASYNC`.
    pub const O_ASYNC: u32 = 0x0040;
    /// `O_SYNC` (= `O_FSYNC`).
    pub const O_SYNC: u32 = 0x0080;
    /// `O_NOFOLLOW`.
    pub const O_NOFOLLOW: u32 = 0x0100;
    /// `O_CREAT`.
    pub const O_CREAT: u32 = 0x0200;
    /// `O_TRUNC`.
    pub const O_TRUNC: u32 = 0x0400;
    /// `O_EXCL`.
    pub const O_EXCL: u32 = 0x0800;
    /// `O_EVTONLY`: descriptor for event notification only (Darwin only).
    pub const O_EVTONLY: u32 = 0x8000;
    /// `O_NOCTTY`.
    pub const O_NOCTTY: u32 = 0x20000;
    /// `O_DIRECTORY`.
    pub const O_DIRECTORY: u32 = 0x100000;
    /// `O_SYMLINK`: open a symlink itself (Darwin only).
    pub const O_SYMLINK: u32 = 0x200000;
    /// `O_DSYNC`.
    pub const O_DSYNC: u32 = 0x400000;
    /// `O_CLOEXEC`.
    pub const O_CLOEXEC: u32 = 0x1000000;
    /// `O_NOFOLLOW_ANY`: no symlink in any path component (Darwin only).
    pub const O_NOFOLLOW_ANY: u32 = 0x20000000;
    /// `O_EXEC`.
    pub const O_EXEC: u32 = 0x40000000;
    /// `O_SEARCH` (`O_EXEC | O_DIRECTORY`).
    pub const O_SEARCH: u32 = O_EXEC | O_DIRECTORY;
}

/// Darwin open flags for a Linux open, and what `open(2)` cannot express.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DarwinOpen {
    /// Darwin `O_*` bits, always including `O_NOFOLLOW | O_CLOEXEC`.
    pub flags: u32,
    /// Linux `O_DIRECT` was set: apply `fcntl(F_NOCACHE, 1)` after opening
    /// (Darwin has no `O_DIRECT`).
    pub nocache: bool,
}

/// One (Linux bit, Darwin bit) pair that maps one to one.
const COMMON: &[(u32, u32)] = &[
    (linux::O_CREAT, darwin::O_CREAT),
    (linux::O_EXCL, darwin::O_EXCL),
    (linux::O_NOCTTY, darwin::O_NOCTTY),
    (linux::O_TRUNC, darwin::O_TRUNC),
    (linux::O_APPEND, darwin::O_APPEND),
    (linux::O_NONBLOCK, darwin::O_NONBLOCK),
    (linux::O_DSYNC, darwin::O_DSYNC),
    (linux::O_CLOEXEC, darwin::O_CLOEXEC),
];

const fn arch_flags(arch: GuestArch) -> linux::ArchFlags {
    match arch {
        GuestArch::X86_64 => linux::X86_64,
        GuestArch::Aarch64 => linux::AARCH64,
    }
}

/// Translates Linux open flags from a `arch` guest to Darwin's for
/// `openat(2)`.
///
/// - The access mode maps as is; the invalid mode 3 is `EINVAL`.
/// - `O_NOFOLLOW` and `O_CLOEXEC` are always set (the host never follows a
///   final symlink and never leaks descriptors).
/// - `O_SYNC` becomes Darwin `O_SYNC | O_DSYNC`; `O_DIRECT` becomes
///   [`DarwinOpen::nocache`].
/// - `FASYNC` (signals to the server process), `O_LARGEFILE` (always on) and
///   `O_NOATIME` (no Darwin equivalent) are dropped, as are unknown bits,
///   which Linux ignores too; no Linux bit ever reaches Darwin untranslated.
/// - `O_PATH` is `EINVAL` and `O_TMPFILE` `EOPNOTSUPP`: neither is an open
///   of an existing file for I/O.
pub fn to_darwin(linux_flags: u32, arch: GuestArch) -> Result<DarwinOpen, Errno> {
    let a = arch_flags(arch);
    let acc = linux_flags & linux::O_ACCMODE;
    if acc == linux::O_ACCMODE {
        return Err(Errno::EINVAL);
    }
    if linux_flags & linux::O_PATH != 0 {
        return Err(Errno::EINVAL);
    }
    if linux_flags & linux::O_TMPFILE_BIT != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    // The access mode values agree (0, 1, 2) on both systems.
    let mut out = acc | darwin::O_NOFOLLOW | darwin::O_CLOEXEC;
    for &(l, d) in COMMON {
        if linux_flags & l != 0 {
            out |= d;
        }
    }
    if linux_flags & linux::O_SYNC_BIT != 0 {
        out |= darwin::O_SYNC | darwin::O_DSYNC;
    }
    if linux_flags & a.directory != 0 {
        out |= darwin::O_DIRECTORY;
    }
    Ok(DarwinOpen {
        flags: out,
        nocache: linux_flags & a.direct != 0,
    })
}

/// Translates Darwin open flags (as `fcntl(F_GETFL)` reports them) back to
/// Linux values for a `arch` guest; `nocache` (`F_NOCACHE` on) is reported as
/// `O_DIRECT`. Darwin-only bits (`O_SHLOCK`, `O_EXLOCK`, `O_EVTONLY`,
/// `O_SYMLINK`, `O_NOFOLLOW_ANY`, `O_EXEC`) have no Linux meaning and are dropped.
pub fn from_darwin(darwin_flags: u32, nocache: bool, arch: GuestArch) -> u32 {
    let a = arch_flags(arch);
    let mut out = darwin_flags & darwin::O_ACCMODE;
    if out == darwin::O_ACCMODE {
        out = linux::O_RDWR;
    }
    for &(l, d) in COMMON {
        if darwin_flags & d != 0 {
            out |= l;
        }
    }
    if darwin_flags & darwin::O_SYNC != 0 {
        out |= linux::O_SYNC;
    }
    if darwin_flags & darwin::O_ASYNC != 0 {
        out |= linux::FASYNC;
    }
    if darwin_flags & darwin::O_NOFOLLOW != 0 {
        out |= a.nofollow;
    }
    if darwin_flags & darwin::O_DIRECTORY != 0 {
        out |= a.directory;
    }
    if nocache {
        out |= a.direct;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use arcbox_fs::abi::OpenFlags;

    const BASE: u32 = darwin::O_NOFOLLOW | darwin::O_CLOEXEC;

    /// Every Linux flag of an x86-64 guest and the Darwin bits it must become
    /// (Darwin values: <sys/fcntl.h>; Linux: include/uapi/asm-generic/fcntl.h).
    const X86_TABLE: &[(&str, u32, u32, bool)] = &[
        ("O_RDONLY", 0, 0, false),
        ("O_WRONLY", 0o1, 0x0001, false),
        ("O_RDWR", 0o2, 0x0002, false),
        ("O_CREAT", 0o100, 0x0200, false),
        ("O_EXCL", 0o200, 0x0800, false),
        ("O_NOCTTY", 0o400, 0x20000, false),
        ("O_TRUNC", 0o1000, 0x0400, false),
        ("O_APPEND", 0o2000, 0x0008, false),
        ("O_NONBLOCK", 0o4000, 0x0004, false),
        ("O_DSYNC", 0o10000, 0x400000, false),
        ("FASYNC", 0o20000, 0, false),
        ("O_DIRECT", 0o40000, 0, true),
        ("O_LARGEFILE", 0o100000, 0, false),
        ("O_DIRECTORY", 0o200000, 0x100000, false),
        ("O_NOFOLLOW", 0o400000, 0, false),
        ("O_NOATIME", 0o1000000, 0, false),
        ("O_CLOEXEC", 0o2000000, 0, false),
        ("O_SYNC", 0o4010000, 0x0080 | 0x400000, false),
    ];

    /// The same for an arm64 guest (arch/arm64/include/uapi/asm/fcntl.h).
    const ARM64_TABLE: &[(&str, u32, u32, bool)] = &[
        ("O_DIRECTORY", 0o40000, 0x100000, false),
        ("O_NOFOLLOW", 0o100000, 0, false),
        ("O_DIRECT", 0o200000, 0, true),
        ("O_LARGEFILE", 0o400000, 0, false),
        ("O_APPEND", 0o2000, 0x0008, false),
        ("O_CREAT", 0o100, 0x0200, false),
    ];

    fn check(arch: GuestArch, table: &[(&str, u32, u32, bool)]) {
        for &(name, linux, darwin, nocache) in table {
            let got = to_darwin(linux, arch).expect(name);
            assert_eq!(
                got.flags,
                darwin | BASE,
                "{name} ({arch:?}): {:#x}",
                got.flags
            );
            assert_eq!(got.nocache, nocache, "{name} ({arch:?})");
        }
    }

    #[test]
    fn x86_64_table() {
        check(GuestArch::X86_64, X86_TABLE);
    }

    #[test]
    fn aarch64_table() {
        check(GuestArch::Aarch64, ARM64_TABLE);
    }

    #[test]
    fn core_abi_names_the_x86_values() {
        // The core's OpenFlags constants are the x86-64 values this table uses.
        assert_eq!(OpenFlags::APPEND.bits(), linux::O_APPEND);
        assert_eq!(OpenFlags::CREAT.bits(), linux::O_CREAT);
        assert_eq!(OpenFlags::DIRECT.bits(), linux::X86_64.direct);
        assert_eq!(OpenFlags::DIRECTORY.bits(), linux::X86_64.directory);
        assert_eq!(OpenFlags::NOFOLLOW.bits(), linux::X86_64.nofollow);
        assert_eq!(OpenFlags::LARGEFILE.bits(), linux::X86_64.largefile);
        assert_eq!(OpenFlags::SYNC.bits(), linux::O_SYNC);
        assert_eq!(OpenFlags::PATH.bits(), linux::O_PATH);
        assert_eq!(
            OpenFlags::TMPFILE.bits(),
            linux::O_TMPFILE_BIT | linux::X86_64.directory
        );
    }

    #[test]
    fn linux_append_never_truncates() {
        // The field bug: Linux O_APPEND (0x400) tested against Darwin's values is O_TRUNC.
        for arch in [GuestArch::X86_64, GuestArch::Aarch64] {
            let got = to_darwin(linux::O_WRONLY | linux::O_APPEND, arch).expect("append");
            assert_eq!(got.flags & darwin::O_TRUNC, 0);
            assert_ne!(got.flags & darwin::O_APPEND, 0);
            let got = to_darwin(linux::O_CREAT, arch).expect("creat");
            assert_eq!(got.flags & darwin::O_ASYNC, 0);
        }
    }

    #[test]
    fn arm64_direct_is_not_a_directory_open() {
        let got = to_darwin(linux::O_RDWR | 0o200000, GuestArch::Aarch64).expect("direct");
        assert_eq!(got.flags & darwin::O_DIRECTORY, 0);
        assert!(got.nocache);
    }

    #[test]
    fn rejected_and_dropped() {
        assert_eq!(to_darwin(0o3, GuestArch::X86_64), Err(Errno::EINVAL));
        assert_eq!(
            to_darwin(linux::O_PATH, GuestArch::X86_64),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            to_darwin(OpenFlags::TMPFILE.bits() | 2, GuestArch::X86_64),
            Err(Errno::EOPNOTSUPP)
        );
        // Every undefined Linux bit is dropped, never passed through.
        let undefined = !0o37777777u32;
        let got = to_darwin(undefined, GuestArch::X86_64).expect("undefined bits");
        assert_eq!(got.flags, BASE);
    }

    #[test]
    fn round_trip_through_darwin() {
        for arch in [GuestArch::X86_64, GuestArch::Aarch64] {
            let a = arch_flags(arch);
            let linux_in = [
                linux::O_WRONLY | linux::O_APPEND,
                linux::O_RDWR | linux::O_TRUNC | linux::O_NONBLOCK,
                linux::O_CREAT | linux::O_EXCL | linux::O_NOCTTY,
                linux::O_RDWR | linux::O_SYNC | a.direct,
                a.directory | linux::O_DSYNC,
            ];
            for l in linux_in {
                let d = to_darwin(l, arch).expect("to darwin");
                let back = from_darwin(d.flags, d.nocache, arch);
                // NOFOLLOW and CLOEXEC are always added.
                assert_eq!(back, l | a.nofollow | linux::O_CLOEXEC, "{l:#o} ({arch:?})");
            }
        }
    }

    #[test]
    fn darwin_only_bits_are_dropped_on_the_way_back() {
        let d = darwin::O_SHLOCK
            | darwin::O_EXLOCK
            | darwin::O_EVTONLY
            | darwin::O_SYMLINK
            | darwin::O_NOFOLLOW_ANY;
        assert_eq!(from_darwin(d, false, GuestArch::X86_64), 0);
        assert_eq!(
            from_darwin(darwin::O_ASYNC, false, GuestArch::X86_64),
            linux::FASYNC
        );
        assert_eq!(
            from_darwin(darwin::O_SEARCH, false, GuestArch::Aarch64),
            linux::AARCH64.directory
        );
    }
}
