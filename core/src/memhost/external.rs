//! [`External`]: changes made to a [`MemHost`] tree directly, as another
//! program on the host would make them, bypassing the server's caches.
//! Each one is queued for [`crate::host::Host::drain_changes`] while the
//! host's watcher is on.
//!
//! Paths are `/`-separated, relative to the shared root, and trusted (they
//! come from the embedder or a test, never from the guest); no symlink is
//! followed while walking them.

use super::MemHost;
use super::node::Kind;
use super::state::{ROOT_INO, State};
use crate::abi::mode;
use crate::errno::{Errno, Result};
use crate::host::{Creds, Stat};
use crate::io::IoBuf;
use crate::memfs::data::FileData as Data;
use crate::name::Name;
use alloc::vec;
use alloc::vec::Vec;

/// Direct access to a [`MemHost`] tree; see the module docs.
pub struct External<'a> {
    host: &'a MemHost,
    creds: Creds,
}

/// The directory holding the last component of `path`, and that component.
fn resolve<'p>(st: &State, path: &'p str) -> Result<(u64, Name<'p>)> {
    let mut parts = path.split('/').filter(|p| !p.is_empty()).peekable();
    let mut dir = ROOT_INO;
    while let Some(part) = parts.next() {
        let name = Name::new(part.as_bytes())?;
        if parts.peek().is_none() {
            return Ok((dir, name));
        }
        dir = st.child(dir, name.as_bytes())?.ok_or(Errno::ENOENT)?;
    }
    Err(Errno::EINVAL)
}

impl<'a> External<'a> {
    pub(super) fn new(host: &'a MemHost) -> Self {
        External {
            host,
            creds: Creds::default(),
        }
    }

    /// Creates objects as `uid`/`gid` from now on (default root).
    pub fn as_user(mut self, uid: u32, gid: u32) -> Self {
        self.creds = Creds {
            uid,
            gid,
            supp_gid: None,
            umask: 0,
        };
        self
    }

    fn make(&self, path: &str, kind: Kind, mode: u32) -> Result<u64> {
        let now = self.host.now();
        let mut st = self.host.shared.state.lock();
        let (dir, name) = resolve(&st, path)?;
        let ino = st.make(dir, name, kind, mode, &self.creds, now)?;
        st.note(dir, name.as_bytes());
        Ok(ino)
    }

    /// Creates regular file `path` (mode 0644) holding `data`; returns its inode number.
    pub fn create_file(&self, path: &str, data: &[u8]) -> Result<u64> {
        let mut d = Data::default();
        d.write_bytes(0, data);
        self.make(path, Kind::File(d), mode::S_IFREG | 0o644)
    }

    /// Creates directory `path` (mode 0755); returns its inode number.
    pub fn mkdir(&self, path: &str) -> Result<u64> {
        self.make(
            path,
            Kind::Dir {
                parent: 0,
                entries: Default::default(),
            },
            mode::S_IFDIR | 0o755,
        )
    }

    /// Creates symlink `path` pointing to `target`; returns its inode number.
    pub fn symlink(&self, path: &str, target: &[u8]) -> Result<u64> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        self.make(path, Kind::Symlink(target.into()), mode::S_IFLNK | 0o777)
    }

    /// Removes `path` (a non-directory, or an empty directory).
    pub fn remove(&self, path: &str) -> Result<()> {
        let now = self.host.now();
        let mut st = self.host.shared.state.lock();
        let (dir, name) = resolve(&st, path)?;
        let ino = st.child(dir, name.as_bytes())?.ok_or(Errno::ENOENT)?;
        let is_dir = st.node(ino)?.is_dir();
        st.remove(dir, name.as_bytes(), is_dir, now)?;
        st.note(dir, name.as_bytes());
        Ok(())
    }

    /// Writes `data` at `offset` of regular file `path`.
    pub fn write(&self, path: &str, offset: u64, data: &[u8]) -> Result<()> {
        let (max, now) = (self.host.shared.config.max_file_size, self.host.now());
        let mut st = self.host.shared.state.lock();
        let (dir, name) = resolve(&st, path)?;
        let ino = st.child(dir, name.as_bytes())?.ok_or(Errno::ENOENT)?;
        st.write(ino, offset, &[IoBuf::new(data)], false, false, max, now)?;
        st.note(dir, name.as_bytes());
        Ok(())
    }

    /// The whole contents of regular file `path`.
    pub fn read(&self, path: &str) -> Result<Vec<u8>> {
        let st = self.host.shared.state.lock();
        let (dir, name) = resolve(&st, path)?;
        let ino = st.child(dir, name.as_bytes())?.ok_or(Errno::ENOENT)?;
        let Kind::File(d) = &st.node(ino)?.kind else {
            return Err(Errno::EISDIR);
        };
        let len = usize::try_from(d.size()).map_err(|_| Errno::EFBIG)?;
        let mut buf = vec![0u8; len];
        let n = d.read_bytes(0, &mut buf);
        buf.truncate(n);
        Ok(buf)
    }

    /// Status of `path` (not following a final symlink).
    pub fn stat(&self, path: &str) -> Result<Stat> {
        let st = self.host.shared.state.lock();
        let (dir, name) = resolve(&st, path)?;
        let ino = st.child(dir, name.as_bytes())?.ok_or(Errno::ENOENT)?;
        self.host.stat_of(&st, ino)
    }

    /// Whether `path` names anything.
    pub fn exists(&self, path: &str) -> bool {
        self.stat(path).is_ok()
    }
}
