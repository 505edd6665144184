//! Parsing `getattrlistbulk(2)` results.
//!
//! `getattrlistbulk` fills a buffer with one record per directory entry:
//! a `u_int32_t` record length, then the requested attributes packed in a
//! fixed order (common, volume, directory, file, fork groups, each by
//! ascending bit; `ATTR_CMN_RETURNED_ATTRS` first and `ATTR_CMN_ERROR`
//! second), each 4-byte aligned, and only those the returned set names.
//! Values are from `<sys/attr.h>` and the getattrlist(2) manual.
//!
//! The parser is pure and checks every length and offset: the buffer comes
//! from the kernel, but a bug there must not become a panic here.

use arcbox_fs::Errno;
use arcbox_fs::host::{HostKey, Stat};

use super::mode::{rdev_from_darwin, vtype_to_linux_ifmt};
use super::time::from_darwin as ts_from_darwin;

/// `<sys/attr.h>` attribute bits.
pub mod attr {
    /// `ATTR_BIT_MAP_COUNT`: `struct attrlist.bitmapcount`.
    pub const ATTR_BIT_MAP_COUNT: u16 = 5;
    /// `ATTR_CMN_NAME` (`attrreference_t`).
    pub const ATTR_CMN_NAME: u32 = 0x0000_0001;
    /// `ATTR_CMN_DEVID` (`dev_t`).
    pub const ATTR_CMN_DEVID: u32 = 0x0000_0002;
    /// `ATTR_CMN_OBJTYPE` (`fsobj_type_t`, an `enum vtype`).
    pub const ATTR_CMN_OBJTYPE: u32 = 0x0000_0008;
    /// `ATTR_CMN_CRTIME` (`struct timespec`).
    pub const ATTR_CMN_CRTIME: u32 = 0x0000_0200;
    /// `ATTR_CMN_MODTIME` (`struct timespec`).
    pub const ATTR_CMN_MODTIME: u32 = 0x0000_0400;
    /// `ATTR_CMN_CHGTIME` (`struct timespec`).
    pub const ATTR_CMN_CHGTIME: u32 = 0x0000_0800;
    /// `ATTR_CMN_ACCTIME` (`struct timespec`).
    pub const ATTR_CMN_ACCTIME: u32 = 0x0000_1000;
    /// `ATTR_CMN_OWNERID` (`uid_t`).
    pub const ATTR_CMN_OWNERID: u32 = 0x0000_8000;
    /// `ATTR_CMN_GRPID` (`gid_t`).
    pub const ATTR_CMN_GRPID: u32 = 0x0001_0000;
    /// `ATTR_CMN_ACCESSMASK` (`u_int32_t`, permission bits).
    pub const ATTR_CMN_ACCESSMASK: u32 = 0x0002_0000;
    /// `ATTR_CMN_FILEID` (`u_int64_t`, `st_ino`).
    pub const ATTR_CMN_FILEID: u32 = 0x0200_0000;
    /// `ATTR_CMN_ERROR` (`u_int32_t`, per-entry errno).
    pub const ATTR_CMN_ERROR: u32 = 0x2000_0000;
    /// `ATTR_CMN_RETURNED_ATTRS` (`attribute_set_t`).
    pub const ATTR_CMN_RETURNED_ATTRS: u32 = 0x8000_0000;
    /// `ATTR_DIR_LINKCOUNT` (`u_int32_t`).
    pub const ATTR_DIR_LINKCOUNT: u32 = 0x0000_0001;
    /// `ATTR_DIR_ENTRYCOUNT` (`u_int32_t`).
    pub const ATTR_DIR_ENTRYCOUNT: u32 = 0x0000_0002;
    /// `ATTR_DIR_MOUNTSTATUS` (`u_int32_t`).
    pub const ATTR_DIR_MOUNTSTATUS: u32 = 0x0000_0004;
    /// `ATTR_DIR_ALLOCSIZE` (`off_t`).
    pub const ATTR_DIR_ALLOCSIZE: u32 = 0x0000_0008;
    /// `ATTR_DIR_IOBLOCKSIZE` (`u_int32_t`).
    pub const ATTR_DIR_IOBLOCKSIZE: u32 = 0x0000_0010;
    /// `ATTR_DIR_DATALENGTH` (`off_t`).
    pub const ATTR_DIR_DATALENGTH: u32 = 0x0000_0020;
    /// `ATTR_FILE_LINKCOUNT` (`u_int32_t`).
    pub const ATTR_FILE_LINKCOUNT: u32 = 0x0000_0001;
    /// `ATTR_FILE_TOTALSIZE` (`off_t`).
    pub const ATTR_FILE_TOTALSIZE: u32 = 0x0000_0002;
    /// `ATTR_FILE_ALLOCSIZE` (`off_t`).
    pub const ATTR_FILE_ALLOCSIZE: u32 = 0x0000_0004;
    /// `ATTR_FILE_IOBLOCKSIZE` (`u_int32_t`).
    pub const ATTR_FILE_IOBLOCKSIZE: u32 = 0x0000_0008;
    /// `ATTR_FILE_DEVTYPE` (`dev_t`).
    pub const ATTR_FILE_DEVTYPE: u32 = 0x0000_0020;
    /// `FSOPT_NOFOLLOW` option (`<sys/attr.h>`).
    pub const FSOPT_NOFOLLOW: u64 = 0x0000_0001;
    /// `FSOPT_PACK_INVAL_ATTRS` option (`<sys/attr.h>`); not used: the parser
    /// follows the returned set instead.
    pub const FSOPT_PACK_INVAL_ATTRS: u64 = 0x0000_0008;
}

/// An `attribute_set_t` / the groups of a `struct attrlist`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttrSet {
    /// `commonattr`.
    pub common: u32,
    /// `volattr`.
    pub vol: u32,
    /// `dirattr`.
    pub dir: u32,
    /// `fileattr`.
    pub file: u32,
    /// `forkattr`.
    pub fork: u32,
}

impl AttrSet {
    fn group(&self, g: Group) -> u32 {
        match g {
            Group::Common => self.common,
            Group::Dir => self.dir,
            Group::File => self.file,
        }
    }
}

/// What the host asks `getattrlistbulk` for: everything a `stat` needs.
pub const REQUEST: AttrSet = AttrSet {
    common: attr::ATTR_CMN_RETURNED_ATTRS
        | attr::ATTR_CMN_ERROR
        | attr::ATTR_CMN_NAME
        | attr::ATTR_CMN_DEVID
        | attr::ATTR_CMN_OBJTYPE
        | attr::ATTR_CMN_CRTIME
        | attr::ATTR_CMN_MODTIME
        | attr::ATTR_CMN_CHGTIME
        | attr::ATTR_CMN_ACCTIME
        | attr::ATTR_CMN_OWNERID
        | attr::ATTR_CMN_GRPID
        | attr::ATTR_CMN_ACCESSMASK
        | attr::ATTR_CMN_FILEID,
    vol: 0,
    dir: attr::ATTR_DIR_LINKCOUNT | attr::ATTR_DIR_IOBLOCKSIZE | attr::ATTR_DIR_DATALENGTH,
    file: attr::ATTR_FILE_LINKCOUNT
        | attr::ATTR_FILE_TOTALSIZE
        | attr::ATTR_FILE_ALLOCSIZE
        | attr::ATTR_FILE_IOBLOCKSIZE
        | attr::ATTR_FILE_DEVTYPE,
    fork: 0,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    Common,
    Dir,
    File,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Error,
    Name,
    Dev,
    ObjType,
    CrTime,
    ModTime,
    ChgTime,
    AccTime,
    Uid,
    Gid,
    Mode,
    FileId,
    DirLinks,
    DirIoSize,
    DirSize,
    Links,
    Size,
    Alloc,
    IoSize,
    DevType,
}

/// Packing order after `ATTR_CMN_RETURNED_ATTRS`, with each value's size.
/// Attributes the parser does not know must not be requested (they would
/// shift the layout); [`parse`] refuses such requests.
const LAYOUT: &[(Group, u32, usize, Field)] = &[
    (Group::Common, attr::ATTR_CMN_ERROR, 4, Field::Error),
    (Group::Common, attr::ATTR_CMN_NAME, 8, Field::Name),
    (Group::Common, attr::ATTR_CMN_DEVID, 4, Field::Dev),
    (Group::Common, attr::ATTR_CMN_OBJTYPE, 4, Field::ObjType),
    (Group::Common, attr::ATTR_CMN_CRTIME, 16, Field::CrTime),
    (Group::Common, attr::ATTR_CMN_MODTIME, 16, Field::ModTime),
    (Group::Common, attr::ATTR_CMN_CHGTIME, 16, Field::ChgTime),
    (Group::Common, attr::ATTR_CMN_ACCTIME, 16, Field::AccTime),
    (Group::Common, attr::ATTR_CMN_OWNERID, 4, Field::Uid),
    (Group::Common, attr::ATTR_CMN_GRPID, 4, Field::Gid),
    (Group::Common, attr::ATTR_CMN_ACCESSMASK, 4, Field::Mode),
    (Group::Common, attr::ATTR_CMN_FILEID, 8, Field::FileId),
    (Group::Dir, attr::ATTR_DIR_LINKCOUNT, 4, Field::DirLinks),
    (Group::Dir, attr::ATTR_DIR_IOBLOCKSIZE, 4, Field::DirIoSize),
    (Group::Dir, attr::ATTR_DIR_DATALENGTH, 8, Field::DirSize),
    (Group::File, attr::ATTR_FILE_LINKCOUNT, 4, Field::Links),
    (Group::File, attr::ATTR_FILE_TOTALSIZE, 8, Field::Size),
    (Group::File, attr::ATTR_FILE_ALLOCSIZE, 8, Field::Alloc),
    (Group::File, attr::ATTR_FILE_IOBLOCKSIZE, 4, Field::IoSize),
    (Group::File, attr::ATTR_FILE_DEVTYPE, 4, Field::DevType),
];

/// Size of an `attribute_set_t`.
const ATTR_SET_SIZE: usize = 20;

/// One directory entry decoded from a `getattrlistbulk` record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BulkEntry<'a> {
    /// The name, without its NUL.
    pub name: &'a [u8],
    /// Per-entry errno (`ATTR_CMN_ERROR`, Darwin value), 0 if none.
    pub error: u32,
    /// `ATTR_CMN_DEVID`.
    pub dev: Option<i32>,
    /// `ATTR_CMN_OBJTYPE` (`enum vtype`).
    pub objtype: Option<u32>,
    /// `ATTR_CMN_FILEID`.
    pub fileid: Option<u64>,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Permission bits.
    pub mode: u32,
    /// Birth, modification, change and access times as Darwin (sec, nsec).
    pub times: [(i64, i64); 4],
    /// Link count (file or directory group).
    pub nlink: u32,
    /// Logical size.
    pub size: u64,
    /// Allocated bytes.
    pub alloc: u64,
    /// Preferred I/O size.
    pub iosize: u32,
    /// Device number of a device node (`dev_t`).
    pub devtype: i32,
}

impl BulkEntry<'_> {
    /// The Linux `d_type` of the entry (0 if unknown), or `None` for types
    /// a guest must not see (whiteouts, dead vnodes).
    pub fn linux_dtype(&self) -> Option<u32> {
        match self.objtype {
            None => Some(0),
            Some(v) => vtype_to_linux_ifmt(v).map(arcbox_fs::abi::mode::dtype),
        }
    }

    /// The entry's status in Linux terms, if the record carried enough to
    /// build one (identity, type) and no per-entry error.
    pub fn linux_stat(&self) -> Option<Stat> {
        if self.error != 0 {
            return None;
        }
        let typ = vtype_to_linux_ifmt(self.objtype?)?;
        let key = HostKey {
            dev: u64::from(self.dev? as u32),
            ino: self.fileid?,
            mnt_id: 0,
        };
        let is_dev = typ == arcbox_fs::abi::mode::S_IFCHR || typ == arcbox_fs::abi::mode::S_IFBLK;
        let rdev = if is_dev {
            rdev_from_darwin(self.devtype).unwrap_or(0)
        } else {
            0
        };
        let [cr, m, c, a] = self.times;
        Some(Stat {
            key,
            mode: typ | (self.mode & 0o7777),
            nlink: self.nlink,
            uid: self.uid,
            gid: self.gid,
            rdev,
            size: self.size,
            blksize: self.iosize,
            blocks: self.alloc.div_ceil(512),
            atime: ts_from_darwin(a.0, a.1),
            mtime: ts_from_darwin(m.0, m.1),
            ctime: ts_from_darwin(c.0, c.1),
            btime: Some(ts_from_darwin(cr.0, cr.1)),
        })
    }
}

/// Iterator over the records of a `getattrlistbulk` buffer.
#[derive(Clone, Debug)]
pub struct Records<'a> {
    buf: &'a [u8],
    request: AttrSet,
    remaining: usize,
}

/// Parses the `count` records `getattrlistbulk` wrote to `buf` for
/// `request`. `EINVAL` if `request` names attributes this parser does not
/// know or lacks `ATTR_CMN_RETURNED_ATTRS` (the layout could not be followed).
pub fn parse(buf: &[u8], count: usize, request: AttrSet) -> Result<Records<'_>, Errno> {
    let known = |g: Group| {
        LAYOUT
            .iter()
            .filter(|l| l.0 == g)
            .fold(0, |acc, l| acc | l.1)
    };
    let common_known = known(Group::Common) | attr::ATTR_CMN_RETURNED_ATTRS;
    if request.common & attr::ATTR_CMN_RETURNED_ATTRS == 0
        || request.common & !common_known != 0
        || request.dir & !known(Group::Dir) != 0
        || request.file & !known(Group::File) != 0
        || request.vol != 0
        || request.fork != 0
    {
        return Err(Errno::EINVAL);
    }
    Ok(Records {
        buf,
        request,
        remaining: count,
    })
}

fn take<const N: usize>(rec: &[u8], at: usize) -> Result<[u8; N], Errno> {
    let end = at.checked_add(N).ok_or(Errno::EIO)?;
    rec.get(at..end)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(Errno::EIO)
}

fn u32_at(rec: &[u8], at: usize) -> Result<u32, Errno> {
    take::<4>(rec, at).map(u32::from_ne_bytes)
}

fn i64_at(rec: &[u8], at: usize) -> Result<i64, Errno> {
    take::<8>(rec, at).map(i64::from_ne_bytes)
}

fn u64_at(rec: &[u8], at: usize) -> Result<u64, Errno> {
    take::<8>(rec, at).map(u64::from_ne_bytes)
}

fn parse_record<'a>(rec: &'a [u8], request: &AttrSet) -> Result<BulkEntry<'a>, Errno> {
    let returned = AttrSet {
        common: u32_at(rec, 4)?,
        vol: u32_at(rec, 8)?,
        dir: u32_at(rec, 12)?,
        file: u32_at(rec, 16)?,
        fork: u32_at(rec, 20)?,
    };
    let mut at = 4 + ATTR_SET_SIZE;
    let mut e = BulkEntry::default();
    let time = |idx: usize, e: &mut BulkEntry<'a>, at: usize| -> Result<(), Errno> {
        e.times[idx] = (i64_at(rec, at)?, i64_at(rec, at + 8)?);
        Ok(())
    };
    for &(g, bit, size, field) in LAYOUT {
        if request.group(g) & bit == 0 || returned.group(g) & bit == 0 {
            continue;
        }
        match field {
            Field::Error => e.error = u32_at(rec, at)?,
            Field::Name => {
                let off = i32::from_ne_bytes(take::<4>(rec, at)?);
                let len = usize::try_from(u32_at(rec, at + 4)?).map_err(|_| Errno::EIO)?;
                let start = isize::try_from(at)
                    .ok()
                    .and_then(|a| a.checked_add(isize::try_from(off).ok()?))
                    .and_then(|s| usize::try_from(s).ok())
                    .ok_or(Errno::EIO)?;
                let end = start.checked_add(len).ok_or(Errno::EIO)?;
                let raw = rec.get(start..end).ok_or(Errno::EIO)?;
                let name = raw.split(|&b| b == 0).next().unwrap_or(raw);
                if name.is_empty() || name.contains(&b'/') {
                    return Err(Errno::EIO);
                }
                e.name = name;
            }
            Field::Dev => e.dev = Some(i32::from_ne_bytes(take::<4>(rec, at)?)),
            Field::ObjType => e.objtype = Some(u32_at(rec, at)?),
            Field::CrTime => time(0, &mut e, at)?,
            Field::ModTime => time(1, &mut e, at)?,
            Field::ChgTime => time(2, &mut e, at)?,
            Field::AccTime => time(3, &mut e, at)?,
            Field::Uid => e.uid = u32_at(rec, at)?,
            Field::Gid => e.gid = u32_at(rec, at)?,
            Field::Mode => e.mode = u32_at(rec, at)?,
            Field::FileId => e.fileid = Some(u64_at(rec, at)?),
            Field::DirLinks | Field::Links => e.nlink = u32_at(rec, at)?,
            Field::DirIoSize | Field::IoSize => e.iosize = u32_at(rec, at)?,
            Field::DirSize | Field::Size => e.size = u64_at(rec, at)?,
            Field::Alloc => e.alloc = u64_at(rec, at)?,
            Field::DevType => e.devtype = i32::from_ne_bytes(take::<4>(rec, at)?),
        }
        at = at.checked_add(size).ok_or(Errno::EIO)?;
    }
    if e.name.is_empty() {
        return Err(Errno::EIO);
    }
    Ok(e)
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<BulkEntry<'a>, Errno>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let res = (|| {
            let len = usize::try_from(u32_at(self.buf, 0)?).map_err(|_| Errno::EIO)?;
            if len < 4 + ATTR_SET_SIZE || len > self.buf.len() {
                return Err(Errno::EIO);
            }
            let (rec, rest) = self.buf.split_at(len);
            self.buf = rest;
            parse_record(rec, &self.request)
        })();
        if res.is_err() {
            // A malformed record: the rest of the buffer cannot be trusted.
            self.remaining = 0;
        }
        Some(res)
    }
}

#[cfg(test)]
mod tests {
    use super::super::mode::vtype;
    use super::*;

    /// Builds one record the way the kernel packs it.
    fn record(returned: AttrSet, name: &[u8], objtype: u32, fileid: u64, size: u64) -> Vec<u8> {
        let mut fixed = Vec::new();
        let mut name_ref_at = None;
        for &(g, bit, _, field) in LAYOUT {
            if REQUEST.group(g) & bit == 0 || returned.group(g) & bit == 0 {
                continue;
            }
            match field {
                Field::Error => fixed.extend_from_slice(&0u32.to_ne_bytes()),
                Field::Name => {
                    name_ref_at = Some(fixed.len());
                    fixed.extend_from_slice(&[0; 8]);
                }
                Field::Dev => fixed.extend_from_slice(&0x0100_0004i32.to_ne_bytes()),
                Field::ObjType => fixed.extend_from_slice(&objtype.to_ne_bytes()),
                Field::CrTime | Field::ModTime | Field::ChgTime | Field::AccTime => {
                    fixed.extend_from_slice(&1_700_000_000i64.to_ne_bytes());
                    fixed.extend_from_slice(&42i64.to_ne_bytes());
                }
                Field::Uid => fixed.extend_from_slice(&501u32.to_ne_bytes()),
                Field::Gid => fixed.extend_from_slice(&20u32.to_ne_bytes()),
                Field::Mode => fixed.extend_from_slice(&0o100644u32.to_ne_bytes()),
                Field::FileId => fixed.extend_from_slice(&fileid.to_ne_bytes()),
                Field::DirLinks | Field::Links => fixed.extend_from_slice(&3u32.to_ne_bytes()),
                Field::DirIoSize | Field::IoSize => fixed.extend_from_slice(&4096u32.to_ne_bytes()),
                Field::DirSize | Field::Size => fixed.extend_from_slice(&size.to_ne_bytes()),
                Field::Alloc => fixed.extend_from_slice(&8192u64.to_ne_bytes()),
                Field::DevType => fixed.extend_from_slice(&0i32.to_ne_bytes()),
            }
        }
        let header = 4 + ATTR_SET_SIZE;
        let mut rec = Vec::new();
        let mut name_z = name.to_vec();
        name_z.push(0);
        let name_pos = header + fixed.len();
        if let Some(at) = name_ref_at {
            let off = i32::try_from(name_pos - (header + at)).expect("offset");
            fixed[at..at + 4].copy_from_slice(&off.to_ne_bytes());
            fixed[at + 4..at + 8]
                .copy_from_slice(&u32::try_from(name_z.len()).expect("len").to_ne_bytes());
        }
        let mut total = name_pos + name_z.len();
        total = total.div_ceil(4) * 4;
        rec.extend_from_slice(&u32::try_from(total).expect("total").to_ne_bytes());
        for w in [
            returned.common,
            returned.vol,
            returned.dir,
            returned.file,
            returned.fork,
        ] {
            rec.extend_from_slice(&w.to_ne_bytes());
        }
        rec.extend_from_slice(&fixed);
        rec.extend_from_slice(&name_z);
        rec.resize(total, 0);
        rec
    }

    fn returned_for_file() -> AttrSet {
        AttrSet {
            common: REQUEST.common & !attr::ATTR_CMN_ERROR,
            dir: 0,
            file: REQUEST.file,
            ..AttrSet::default()
        }
    }

    fn returned_for_dir() -> AttrSet {
        AttrSet {
            common: REQUEST.common & !attr::ATTR_CMN_ERROR,
            dir: REQUEST.dir,
            file: 0,
            ..AttrSet::default()
        }
    }

    #[test]
    fn file_and_directory_records() {
        let mut buf = record(returned_for_file(), b"README", vtype::VREG, 77, 1234);
        buf.extend(record(returned_for_dir(), b"src", vtype::VDIR, 78, 160));
        let got: Vec<_> = parse(&buf, 2, REQUEST)
            .expect("request")
            .collect::<Result<_, _>>()
            .expect("records");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name, b"README");
        assert_eq!(got[0].linux_dtype(), Some(8));
        let st = got[0].linux_stat().expect("stat");
        assert_eq!(
            st.key,
            HostKey {
                dev: 0x0100_0004,
                ino: 77,
                mnt_id: 0
            }
        );
        assert_eq!(st.mode, 0o100644);
        assert_eq!(
            (st.size, st.blocks, st.nlink, st.uid, st.gid, st.blksize),
            (1234, 16, 3, 501, 20, 4096)
        );
        assert_eq!(st.mtime, arcbox_fs::Timespec::new(1_700_000_000, 42));
        assert_eq!(got[1].name, b"src");
        assert_eq!(got[1].linux_dtype(), Some(4));
        let st = got[1].linux_stat().expect("dir stat");
        assert_eq!(
            st.mode & arcbox_fs::abi::mode::S_IFMT,
            arcbox_fs::abi::mode::S_IFDIR
        );
        assert_eq!(st.size, 160);
    }

    #[test]
    fn missing_attributes_are_skipped_not_misread() {
        // Only name and type returned: the other fields must stay unset.
        let ret = AttrSet {
            common: attr::ATTR_CMN_RETURNED_ATTRS | attr::ATTR_CMN_NAME | attr::ATTR_CMN_OBJTYPE,
            ..AttrSet::default()
        };
        let buf = record(ret, b"x", vtype::VLNK, 1, 1);
        let e = parse(&buf, 1, REQUEST)
            .expect("request")
            .next()
            .expect("one")
            .expect("record");
        assert_eq!(e.name, b"x");
        assert_eq!(e.linux_dtype(), Some(10));
        assert_eq!(e.fileid, None);
        assert_eq!(e.linux_stat(), None);
    }

    #[test]
    fn whiteouts_are_hidden() {
        let buf = record(returned_for_file(), b"w", 99, 5, 0);
        let e = parse(&buf, 1, REQUEST)
            .expect("request")
            .next()
            .expect("one")
            .expect("record");
        assert_eq!(e.linux_dtype(), None);
        assert_eq!(e.linux_stat(), None);
    }

    #[test]
    fn malformed_buffers_error_without_panicking() {
        let good = record(returned_for_file(), b"abc", vtype::VREG, 9, 9);
        // Truncations at every length.
        for cut in 0..good.len() {
            let r: Vec<_> = parse(&good[..cut], 1, REQUEST).expect("request").collect();
            assert_eq!(r.len(), 1);
            assert!(r[0].is_err(), "cut {cut}");
        }
        // A count larger than the records present stops after the first error.
        let r: Vec<_> = parse(&good, 5, REQUEST).expect("request").collect();
        assert_eq!(r.len(), 2);
        assert!(r[0].is_ok() && r[1].is_err());
        // Name references pointing outside the record.
        let name_ref = 4 + ATTR_SET_SIZE + 4;
        for off in [i32::MIN, -1000, 1000, i32::MAX] {
            let mut bad = good.clone();
            bad[name_ref..name_ref + 4].copy_from_slice(&off.to_ne_bytes());
            assert_eq!(
                parse(&bad, 1, REQUEST).expect("request").next(),
                Some(Err(Errno::EIO)),
                "{off}"
            );
        }
        // Names with '/' are refused.
        let slash = record(returned_for_file(), b"a/b", vtype::VREG, 9, 9);
        assert_eq!(
            parse(&slash, 1, REQUEST).expect("request").next(),
            Some(Err(Errno::EIO))
        );
        // Random bytes never panic.
        let mut x: u64 = 0x1234_5678;
        for _ in 0..2000 {
            let mut junk = good.clone();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = usize::try_from(x % junk.len() as u64).expect("index");
            junk[i] = (x >> 32) as u8;
            let _ = parse(&junk, 3, REQUEST).expect("request").count();
        }
    }

    #[test]
    fn unknown_requests_are_refused() {
        assert!(parse(&[], 0, REQUEST).is_ok());
        let no_returned = AttrSet {
            common: attr::ATTR_CMN_NAME,
            ..AttrSet::default()
        };
        assert_eq!(parse(&[], 0, no_returned).err(), Some(Errno::EINVAL));
        let unknown = AttrSet {
            common: REQUEST.common | 0x4,
            ..REQUEST
        };
        assert_eq!(parse(&[], 0, unknown).err(), Some(Errno::EINVAL));
        let vol = AttrSet { vol: 1, ..REQUEST };
        assert_eq!(parse(&[], 0, vol).err(), Some(Errno::EINVAL));
    }
}
