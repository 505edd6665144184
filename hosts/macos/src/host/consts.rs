//! Compile-time cross-check of the translation tables' Darwin constants
//! (written out from the headers so they can be tested on Linux) against
//! the `libc` crate's Apple definitions. A mismatch fails `cargo check`
//! for the Darwin targets.

use crate::translate::{
    fallocate as fa, mode as m, open_flags::darwin as o, rename as rn, statfs as sf, time as t,
    whence as w, xattr as x,
};

macro_rules! same {
    ($($ours:expr => $libc:expr,)*) => {
        $( const _: () = assert!($ours as i64 == $libc as i64); )*
    };
}

same! {
    // <sys/fcntl.h>
    o::O_ACCMODE => libc::O_ACCMODE,
    o::O_WRONLY => libc::O_WRONLY,
    o::O_RDWR => libc::O_RDWR,
    o::O_NONBLOCK => libc::O_NONBLOCK,
    o::O_APPEND => libc::O_APPEND,
    o::O_SHLOCK => libc::O_SHLOCK,
    o::O_EXLOCK => libc::O_EXLOCK,
    o::O_ASYNC => libc::O_ASYNC,
    o::O_SYNC => libc::O_SYNC,
    o::O_NOFOLLOW => libc::O_NOFOLLOW,
    o::O_CREAT => libc::O_CREAT,
    o::O_TRUNC => libc::O_TRUNC,
    o::O_EXCL => libc::O_EXCL,
    o::O_EVTONLY => libc::O_EVTONLY,
    o::O_NOCTTY => libc::O_NOCTTY,
    o::O_DIRECTORY => libc::O_DIRECTORY,
    o::O_SYMLINK => libc::O_SYMLINK,
    o::O_DSYNC => libc::O_DSYNC,
    o::O_CLOEXEC => libc::O_CLOEXEC,
    o::O_NOFOLLOW_ANY => libc::O_NOFOLLOW_ANY,
    o::O_EXEC => libc::O_EXEC,
    o::O_SEARCH => libc::O_SEARCH,
    fa::DARWIN_F_PREALLOCATE => libc::F_PREALLOCATE,
    fa::DARWIN_F_NOCACHE => libc::F_NOCACHE,
    fa::DARWIN_F_FULLFSYNC => libc::F_FULLFSYNC,
    fa::DARWIN_F_PUNCHHOLE => libc::F_PUNCHHOLE,
    fa::DARWIN_F_ALLOCATECONTIG => libc::F_ALLOCATECONTIG,
    fa::DARWIN_F_ALLOCATEALL => libc::F_ALLOCATEALL,
    fa::DARWIN_F_ALLOCATEPERSIST => libc::F_ALLOCATEPERSIST,
    fa::DARWIN_F_PEOFPOSMODE => libc::F_PEOFPOSMODE,
    fa::DARWIN_F_VOLPOSMODE => libc::F_VOLPOSMODE,
    // <sys/unistd.h>
    w::DARWIN_SEEK_SET => libc::SEEK_SET,
    w::DARWIN_SEEK_CUR => libc::SEEK_CUR,
    w::DARWIN_SEEK_END => libc::SEEK_END,
    w::DARWIN_SEEK_HOLE => libc::SEEK_HOLE,
    w::DARWIN_SEEK_DATA => libc::SEEK_DATA,
    // <sys/stat.h>
    m::DARWIN_S_IFMT => libc::S_IFMT,
    m::DARWIN_S_IFIFO => libc::S_IFIFO,
    m::DARWIN_S_IFCHR => libc::S_IFCHR,
    m::DARWIN_S_IFDIR => libc::S_IFDIR,
    m::DARWIN_S_IFBLK => libc::S_IFBLK,
    m::DARWIN_S_IFREG => libc::S_IFREG,
    m::DARWIN_S_IFLNK => libc::S_IFLNK,
    m::DARWIN_S_IFSOCK => libc::S_IFSOCK,
    t::DARWIN_UTIME_NOW => libc::UTIME_NOW,
    t::DARWIN_UTIME_OMIT => libc::UTIME_OMIT,
    // <sys/dirent.h>
    m::dt::FIFO => libc::DT_FIFO,
    m::dt::CHR => libc::DT_CHR,
    m::dt::DIR => libc::DT_DIR,
    m::dt::BLK => libc::DT_BLK,
    m::dt::REG => libc::DT_REG,
    m::dt::LNK => libc::DT_LNK,
    m::dt::SOCK => libc::DT_SOCK,
    // <sys/xattr.h>
    x::DARWIN_XATTR_NOFOLLOW => libc::XATTR_NOFOLLOW,
    x::DARWIN_XATTR_CREATE => libc::XATTR_CREATE,
    x::DARWIN_XATTR_REPLACE => libc::XATTR_REPLACE,
    x::DARWIN_XATTR_NOSECURITY => libc::XATTR_NOSECURITY,
    x::DARWIN_XATTR_NODEFAULT => libc::XATTR_NODEFAULT,
    x::DARWIN_XATTR_SHOWCOMPRESSION => libc::XATTR_SHOWCOMPRESSION,
    // <sys/stdio.h>
    rn::DARWIN_RENAME_SWAP => libc::RENAME_SWAP,
    rn::DARWIN_RENAME_EXCL => libc::RENAME_EXCL,
    // <sys/mount.h>
    sf::DARWIN_MNT_RDONLY => libc::MNT_RDONLY,
    sf::DARWIN_MNT_DOVOLFS => libc::MNT_DOVOLFS,
    // <sys/attr.h>
    crate::translate::attrlist::attr::ATTR_BIT_MAP_COUNT => libc::ATTR_BIT_MAP_COUNT,
    crate::translate::attrlist::attr::ATTR_CMN_NAME => libc::ATTR_CMN_NAME,
    crate::translate::attrlist::attr::ATTR_CMN_DEVID => libc::ATTR_CMN_DEVID,
    crate::translate::attrlist::attr::ATTR_CMN_OBJTYPE => libc::ATTR_CMN_OBJTYPE,
    crate::translate::attrlist::attr::ATTR_CMN_CRTIME => libc::ATTR_CMN_CRTIME,
    crate::translate::attrlist::attr::ATTR_CMN_MODTIME => libc::ATTR_CMN_MODTIME,
    crate::translate::attrlist::attr::ATTR_CMN_CHGTIME => libc::ATTR_CMN_CHGTIME,
    crate::translate::attrlist::attr::ATTR_CMN_ACCTIME => libc::ATTR_CMN_ACCTIME,
    crate::translate::attrlist::attr::ATTR_CMN_OWNERID => libc::ATTR_CMN_OWNERID,
    crate::translate::attrlist::attr::ATTR_CMN_GRPID => libc::ATTR_CMN_GRPID,
    crate::translate::attrlist::attr::ATTR_CMN_ACCESSMASK => libc::ATTR_CMN_ACCESSMASK,
    crate::translate::attrlist::attr::ATTR_CMN_FILEID => libc::ATTR_CMN_FILEID,
    crate::translate::attrlist::attr::ATTR_CMN_RETURNED_ATTRS => libc::ATTR_CMN_RETURNED_ATTRS,
    crate::translate::attrlist::attr::ATTR_DIR_LINKCOUNT => libc::ATTR_DIR_LINKCOUNT,
    crate::translate::attrlist::attr::ATTR_DIR_IOBLOCKSIZE => libc::ATTR_DIR_IOBLOCKSIZE,
    crate::translate::attrlist::attr::ATTR_DIR_DATALENGTH => libc::ATTR_DIR_DATALENGTH,
    crate::translate::attrlist::attr::ATTR_FILE_LINKCOUNT => libc::ATTR_FILE_LINKCOUNT,
    crate::translate::attrlist::attr::ATTR_FILE_TOTALSIZE => libc::ATTR_FILE_TOTALSIZE,
    crate::translate::attrlist::attr::ATTR_FILE_ALLOCSIZE => libc::ATTR_FILE_ALLOCSIZE,
    crate::translate::attrlist::attr::ATTR_FILE_IOBLOCKSIZE => libc::ATTR_FILE_IOBLOCKSIZE,
    crate::translate::attrlist::attr::ATTR_FILE_DEVTYPE => libc::ATTR_FILE_DEVTYPE,
    crate::translate::attrlist::attr::FSOPT_NOFOLLOW => libc::FSOPT_NOFOLLOW,
    crate::translate::attrlist::attr::FSOPT_PACK_INVAL_ATTRS => libc::FSOPT_PACK_INVAL_ATTRS,
}

// Errnos (<sys/errno.h>): every table row against libc's constant.
same! {
    crate::translate::errno::TABLE[0].0 => libc::EPERM,
    crate::translate::errno::TABLE[10].0 => libc::EDEADLK,
    crate::translate::errno::TABLE[34].0 => libc::EAGAIN,
    crate::translate::errno::TABLE[44].0 => libc::ENOTSUP,
    crate::translate::errno::TABLE[61].0 => libc::ELOOP,
    crate::translate::errno::TABLE[62].0 => libc::ENAMETOOLONG,
    crate::translate::errno::TABLE[65].0 => libc::ENOTEMPTY,
    crate::translate::errno::TABLE[77].0 => libc::ENOSYS,
    crate::translate::errno::TABLE[92].0 => libc::ENOATTR,
    crate::translate::errno::TABLE[95].0 => libc::ENODATA,
    crate::translate::errno::TABLE[101].0 => libc::EOPNOTSUPP,
    crate::translate::errno::TABLE[106].0 => libc::ENOTCAPABLE,
    crate::translate::errno::DARWIN_ELAST => libc::ELAST,
}
