//! Shared test fixtures: a small file system, FUSE request builders, and a
//! raw driver that writes rings and descriptors by hand (honest or not).
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use arcbox_fs::abi::*;
use arcbox_fs::dirent::DirSink;
use arcbox_fs::fs::{AttrReply, Context, Entry, FileSystem, NodeId, OpenArgs, Opened};
use arcbox_fs::io::{ReplyData, RequestData};
use arcbox_fs::{Errno, Fh, Name};
use arcbox_fs_virtio::desc::{Descriptor, F_NEXT, F_WRITE};
use arcbox_fs_virtio::device::{
    VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, status,
};
use arcbox_fs_virtio::mmio::reg;
use arcbox_fs_virtio::{GuestMemory, MmioAction, OwnedMemory, VirtioDevice, VirtioMmio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use zerocopy::{FromBytes, IntoBytes};

pub const FILE: NodeId = 2;
pub const FILE_NAME: &[u8] = b"hello";
pub const CONTENT: &[u8] = b"hello, virtio-fs world";

/// Root directory with one file, `hello`; counts lookups, forgets, interrupts.
pub struct TestFs {
    pub data: Mutex<Vec<u8>>,
    pub lookups: AtomicU64,
    pub forgets: AtomicU64,
    pub interrupts: AtomicU64,
}

impl Default for TestFs {
    fn default() -> Self {
        TestFs {
            data: Mutex::new(CONTENT.to_vec()),
            lookups: AtomicU64::new(0),
            forgets: AtomicU64::new(0),
            interrupts: AtomicU64::new(0),
        }
    }
}

impl TestFs {
    pub fn attr(&self, node: NodeId) -> Option<Attr> {
        match node {
            ROOT_ID => Some(Attr {
                ino: 1,
                mode: 0o040755,
                nlink: 2,
                ..Attr::default()
            }),
            FILE => Some(Attr {
                ino: 2,
                mode: 0o100644,
                nlink: 1,
                size: self.data.lock().unwrap().len() as u64,
                ..Attr::default()
            }),
            _ => None,
        }
    }

    fn entry(&self) -> Entry {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        Entry {
            nodeid: FILE,
            generation: 1,
            attr: self.attr(FILE).unwrap(),
            entry_valid: Duration::from_secs(1),
            attr_valid: Duration::from_secs(1),
        }
    }
}

impl FileSystem for TestFs {
    fn lookup(&self, _: &Context, parent: NodeId, name: Name<'_>) -> Result<Entry, Errno> {
        if parent == ROOT_ID && name.as_bytes() == FILE_NAME {
            Ok(self.entry())
        } else {
            Err(Errno::ENOENT)
        }
    }
    fn forget(&self, _: &Context, node: NodeId, nlookup: u64) {
        if node == FILE {
            self.forgets.fetch_add(nlookup, Ordering::SeqCst);
        }
    }
    fn interrupt(&self, _: &Context, _: u64) {
        self.interrupts.fetch_add(1, Ordering::SeqCst);
    }
    fn getattr(&self, _: &Context, node: NodeId, _: Option<Fh>) -> Result<AttrReply, Errno> {
        self.attr(node)
            .map(|attr| AttrReply {
                attr,
                valid: Duration::from_secs(1),
            })
            .ok_or(Errno::ENOENT)
    }
    fn open(&self, _: &Context, node: NodeId, _: &OpenArgs) -> Result<Opened, Errno> {
        if node == FILE {
            Ok(Opened {
                fh: 7,
                ..Opened::default()
            })
        } else {
            Err(Errno::EISDIR)
        }
    }
    fn opendir(&self, _: &Context, node: NodeId, _: &OpenArgs) -> Result<Opened, Errno> {
        if node == ROOT_ID {
            Ok(Opened {
                fh: 9,
                ..Opened::default()
            })
        } else {
            Err(Errno::ENOTDIR)
        }
    }
    fn read(
        &self,
        _: &Context,
        node: NodeId,
        fh: Fh,
        offset: u64,
        out: &mut ReplyData<'_>,
        _: Option<u64>,
        _: u32,
    ) -> Result<(), Errno> {
        if node != FILE || fh != 7 {
            return Err(Errno::EBADF);
        }
        let d = self.data.lock().unwrap();
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(d.len());
        let n = out.remaining().min(d.len() - start);
        out.write(&d[start..start + n])
    }
    fn write(
        &self,
        _: &Context,
        node: NodeId,
        fh: Fh,
        offset: u64,
        data: &mut RequestData<'_>,
        _: u32,
        _: Option<u64>,
        _: u32,
    ) -> Result<u32, Errno> {
        if node != FILE || fh != 7 {
            return Err(Errno::EBADF);
        }
        let mut buf = vec![0u8; data.len()];
        data.read_exact(&mut buf)?;
        let mut d = self.data.lock().unwrap();
        let off = offset as usize;
        if d.len() < off + buf.len() {
            d.resize(off + buf.len(), 0);
        }
        d[off..off + buf.len()].copy_from_slice(&buf);
        Ok(buf.len() as u32)
    }
    fn readdirplus(
        &self,
        _: &Context,
        node: NodeId,
        _: Fh,
        offset: u64,
        out: &mut DirSink<'_>,
    ) -> Result<(), Errno> {
        if node != ROOT_ID {
            return Err(Errno::ENOTDIR);
        }
        if offset == 0 && !out.add(1, 1, 4, b".")? {
            return Ok(());
        }
        if offset <= 1 && out.fits(FILE_NAME.len()) {
            let e = self.entry();
            out.add_plus(&e, 2, 8, FILE_NAME)?;
        }
        Ok(())
    }
    fn releasedir(&self, _: &Context, _: NodeId, _: Fh, _: u32) -> Result<(), Errno> {
        Ok(())
    }
    fn release(&self, _: &Context, _: NodeId, _: Fh, _: u32, _: u32, _: u64) -> Result<(), Errno> {
        Ok(())
    }
}

/// A FUSE request: header + body.
pub fn request(opcode: Opcode, unique: u64, nodeid: u64, body: &[u8]) -> Vec<u8> {
    let h = InHeader {
        len: (40 + body.len()) as u32,
        opcode: opcode as u32,
        unique,
        nodeid,
        uid: 0,
        gid: 0,
        pid: 1,
        total_extlen: 0,
        padding: 0,
    };
    let mut v = h.as_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

pub fn init_body() -> Vec<u8> {
    InitIn {
        major: 7,
        minor: 41,
        max_readahead: 1 << 20,
        flags: 0,
        flags2: 0,
        unused: [0; 11],
    }
    .as_bytes()
    .to_vec()
}

pub fn read_body(fh: u64, offset: u64, size: u32) -> Vec<u8> {
    ReadIn {
        fh,
        offset,
        size,
        read_flags: 0,
        lock_owner: 0,
        flags: 0,
        padding: 0,
    }
    .as_bytes()
    .to_vec()
}

pub fn write_body(fh: u64, offset: u64, data: &[u8]) -> Vec<u8> {
    let mut v = WriteIn {
        fh,
        offset,
        size: data.len() as u32,
        write_flags: 0,
        lock_owner: 0,
        flags: 0,
        padding: 0,
    }
    .as_bytes()
    .to_vec();
    v.extend_from_slice(data);
    v
}

/// Splits a reply into its header and body.
pub fn reply(bytes: &[u8]) -> (OutHeader, &[u8]) {
    let (h, rest) = OutHeader::read_from_prefix(bytes).unwrap();
    assert_eq!(
        h.len as usize,
        bytes.len(),
        "out header length = used length"
    );
    (h, rest)
}

pub const MEM_BASE: u64 = 0x4000_0000;
pub const QSIZE: u16 = 16;
const DATA: u64 = MEM_BASE + 0x10000;

/// A driver that builds rings by hand in an [`OwnedMemory`], one queue at a
/// time, through the MMIO register model.
pub struct RawDriver {
    pub mem: OwnedMemory,
    next_data: u64,
    /// The queue whose rings the ring methods use (rings at MEM_BASE + 0x4000 * q).
    pub cur: u16,
    avail_idx: [u16; 4],
    used_seen: [u16; 4],
}

impl RawDriver {
    pub fn new() -> Self {
        RawDriver {
            mem: OwnedMemory::new(MEM_BASE, 4 << 20).unwrap(),
            next_data: DATA,
            cur: 0,
            avail_idx: [0; 4],
            used_seen: [0; 4],
        }
    }

    fn rings(&self) -> (u64, u64, u64) {
        let b = MEM_BASE + 0x4000 * u64::from(self.cur);
        (b, b + 0x1000, b + 0x2000)
    }

    /// Status ACK|DRIVER, features, FEATURES_OK. Returns the feature write's action.
    pub fn negotiate<D: VirtioDevice>(&self, mmio: &VirtioMmio<D>, features: u64) {
        assert_eq!(mmio.write_reg(reg::STATUS, 0), MmioAction::Reset);
        mmio.write_reg(reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
        mmio.write_reg(reg::DRIVER_FEATURES_SEL, 0);
        mmio.write_reg(reg::DRIVER_FEATURES, features as u32);
        mmio.write_reg(reg::DRIVER_FEATURES_SEL, 1);
        mmio.write_reg(reg::DRIVER_FEATURES, (features >> 32) as u32);
        mmio.write_reg(
            reg::STATUS,
            status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK,
        );
    }

    pub fn default_features() -> u64 {
        VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX
    }

    /// Sets up `queue` with its rings and selects it.
    pub fn setup_queue<D: VirtioDevice>(
        &mut self,
        mmio: &VirtioMmio<D>,
        queue: u16,
        size: u16,
    ) -> MmioAction {
        self.cur = queue;
        let (desc, avail, used) = self.rings();
        mmio.write_reg(reg::QUEUE_SEL, queue.into());
        mmio.write_reg(reg::QUEUE_NUM, size.into());
        for (lo, v) in [
            (reg::QUEUE_DESC_LOW, desc),
            (reg::QUEUE_DRIVER_LOW, avail),
            (reg::QUEUE_DEVICE_LOW, used),
        ] {
            mmio.write_reg(lo, v as u32);
            mmio.write_reg(lo + 4, (v >> 32) as u32);
        }
        mmio.write_reg(reg::QUEUE_READY, 1)
    }

    pub fn driver_ok<D: VirtioDevice>(&self, mmio: &VirtioMmio<D>) -> MmioAction {
        mmio.write_reg(
            reg::STATUS,
            status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK,
        )
    }

    /// Copies `bytes` into a fresh data buffer of `room` bytes; returns its address.
    pub fn buffer(&mut self, bytes: &[u8], room: usize) -> u64 {
        let a = self.next_data;
        self.mem.write(a, bytes).unwrap();
        self.next_data += (room.max(bytes.len()) as u64 + 15) & !15;
        a
    }

    pub fn set_desc(&self, index: u16, d: Descriptor) {
        self.mem
            .write(self.rings().0 + 16 * u64::from(index), &d.to_bytes())
            .unwrap();
    }

    /// Makes `head` available and returns the new avail idx.
    pub fn publish(&mut self, head: u16, size: u16) {
        let (_, avail, _) = self.rings();
        let q = usize::from(self.cur);
        let slot = u64::from(self.avail_idx[q] % size);
        self.mem
            .store_u16(avail + 4 + 2 * slot, head, Ordering::Relaxed)
            .unwrap();
        self.avail_idx[q] = self.avail_idx[q].wrapping_add(1);
        self.mem
            .store_u16(avail + 2, self.avail_idx[q], Ordering::Release)
            .unwrap();
    }

    /// Sets the avail idx to anything (malicious).
    pub fn set_avail_idx(&mut self, idx: u16) {
        let (_, avail, _) = self.rings();
        self.avail_idx[usize::from(self.cur)] = idx;
        self.mem
            .store_u16(avail + 2, idx, Ordering::Release)
            .unwrap();
    }

    /// Next used element, if the device published one.
    pub fn pop_used(&mut self, size: u16) -> Option<(u32, u32)> {
        let (_, _, used) = self.rings();
        let q = usize::from(self.cur);
        let idx = self.mem.load_u16(used + 2, Ordering::Acquire).unwrap();
        if idx == self.used_seen[q] {
            return None;
        }
        let e = used + 4 + 8 * u64::from(self.used_seen[q] % size);
        self.used_seen[q] = self.used_seen[q].wrapping_add(1);
        Some((
            self.mem.load_u32(e, Ordering::Relaxed).unwrap(),
            self.mem.load_u32(e + 4, Ordering::Relaxed).unwrap(),
        ))
    }

    pub fn read(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        self.mem.read(addr, &mut v).unwrap();
        v
    }

    /// A two-descriptor chain at `first`, `first + 1`: request, then reply room.
    /// Returns the reply buffer's address.
    pub fn simple_chain(&mut self, first: u16, req: &[u8], room: u32) -> u64 {
        let r = self.buffer(req, req.len());
        let w = self.buffer(&[], room as usize);
        self.set_desc(
            first,
            Descriptor {
                addr: r,
                len: req.len() as u32,
                flags: F_NEXT,
                next: first + 1,
            },
        );
        self.set_desc(
            first + 1,
            Descriptor {
                addr: w,
                len: room,
                flags: F_WRITE,
                next: 0,
            },
        );
        w
    }
}

impl RawDriver {
    /// Writes entry `index` of a descriptor table at `table` (indirect tables).
    pub fn mem_write_desc(&self, table: u64, index: u16, d: Descriptor) {
        self.mem
            .write(table + 16 * u64::from(index), &d.to_bytes())
            .unwrap();
    }
}
