//! Persistence backends: a small store of named files.
//!
//! The chunk cache and the copy-on-write overlay keep their state in a
//! [`Store`]. The interface is deliberately the intersection of what a native
//! directory and the browser's OPFS `FileSystemSyncAccessHandle` offer:
//! positional reads and writes, length, truncation, sync, listing and
//! removal — no rename, no append mode, no directories. Anything that must be
//! switched atomically (overlay compaction) is built from these.

mod mem;
pub use mem::MemStore;

#[cfg(not(target_arch = "wasm32"))]
mod fs;
#[cfg(not(target_arch = "wasm32"))]
pub use fs::FsStore;

use crate::{BlockError, Result};

/// A flat namespace of files.
pub trait Store: Send {
    /// Opens the file `name`. When it does not exist, creates it (empty) if
    /// `create` is set and returns `None` otherwise.
    fn open(&self, name: &str, create: bool) -> Result<Option<Box<dyn StoreFile>>>;

    /// The names of all files, in no particular order.
    fn list(&self) -> Result<Vec<String>>;

    /// Removes `name`; removing a missing file is not an error.
    fn remove(&self, name: &str) -> Result<()>;
}

/// One open file of a [`Store`].
pub trait StoreFile: Send {
    /// Reads at `offset` into `buf`; returns how many bytes were read, less
    /// than `buf.len()` only at the end of the file.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize>;

    /// Writes all of `data` at `offset`, extending the file if needed.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()>;

    fn len(&self) -> Result<u64>;

    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    fn set_len(&mut self, len: u64) -> Result<()>;

    /// A durability barrier for this file's data and length.
    fn sync(&mut self) -> Result<()>;

    /// Reads exactly `buf.len()` bytes at `offset`; a short file is corrupt.
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let n = self.read_at(offset + done as u64, &mut buf[done..])?;
            if n == 0 {
                return Err(BlockError::Corrupt(format!("stored file ends before offset {}", offset + buf.len() as u64)));
            }
            done += n;
        }
        Ok(())
    }

    /// Reads the whole file, refusing files longer than `limit`.
    fn read_all(&mut self, limit: u64) -> Result<Vec<u8>> {
        let len = self.len()?;
        if len > limit {
            return Err(BlockError::Corrupt(format!("stored file of {len} bytes exceeds the limit of {limit}")));
        }
        let mut buf = vec![0; len as usize];
        self.read_exact_at(0, &mut buf)?;
        Ok(buf)
    }
}

/// Store file names are plain names (no separators, no leading dot) so they
/// map onto any backend without escaping.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(BlockError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("invalid store file name {name:?}"))))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The behaviour every backend must share.
    pub fn exercise(store: &dyn Store) {
        assert!(store.open("missing", false).unwrap().is_none());
        assert!(store.open("../escape", true).is_err());
        let mut f = store.open("a.log", true).unwrap().unwrap();
        f.write_at(10, b"hello").unwrap();
        assert_eq!(f.len().unwrap(), 15);
        let mut b = [9u8; 20];
        assert_eq!(f.read_at(0, &mut b).unwrap(), 15);
        assert_eq!(&b[..15], b"\0\0\0\0\0\0\0\0\0\0hello");
        f.set_len(12).unwrap();
        f.sync().unwrap();
        assert_eq!(f.read_all(100).unwrap(), b"\0\0\0\0\0\0\0\0\0\0he");
        assert!(f.read_all(3).is_err());
        assert!(matches!(f.read_exact_at(5, &mut [0; 10]), Err(BlockError::Corrupt(_))));
        drop(f);
        let mut again = store.open("a.log", false).unwrap().unwrap();
        assert_eq!(again.len().unwrap(), 12);
        assert_eq!(again.read_at(100, &mut b).unwrap(), 0);
        store.open("b", true).unwrap();
        let mut names = store.list().unwrap();
        names.sort();
        assert_eq!(names, ["a.log", "b"]);
        store.remove("a.log").unwrap();
        store.remove("a.log").unwrap();
        assert_eq!(store.list().unwrap(), ["b"]);
    }
}
