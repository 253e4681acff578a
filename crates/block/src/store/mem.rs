//! A store held in memory: for tests, and for ephemeral state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{check_name, Store, StoreFile};
use crate::Result;

type Files = Arc<Mutex<HashMap<String, Arc<Mutex<Vec<u8>>>>>>;

/// Clones share the same files, so a test can "reopen" a store after
/// dropping the device that used it.
#[derive(Clone, Default)]
pub struct MemStore {
    files: Files,
}

impl MemStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of one file's bytes (tests inspect and damage logs this way).
    pub fn contents(&self, name: &str) -> Option<Vec<u8>> {
        lock(&self.files).get(name).map(|f| lock(f).clone())
    }

    /// Replaces (or creates) one file's bytes.
    pub fn set_contents(&self, name: &str, bytes: Vec<u8>) {
        lock(&self.files).insert(name.to_string(), Arc::new(Mutex::new(bytes)));
    }
}

/// A poisoned lock only means another thread panicked mid-test; the bytes
/// are still the best state there is.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Store for MemStore {
    fn open(&self, name: &str, create: bool) -> Result<Option<Box<dyn StoreFile>>> {
        check_name(name)?;
        let mut files = lock(&self.files);
        let file = match files.get(name) {
            Some(f) => f.clone(),
            None if create => files.entry(name.to_string()).or_default().clone(),
            None => return Ok(None),
        };
        Ok(Some(Box::new(MemFile { bytes: file })))
    }

    fn list(&self) -> Result<Vec<String>> {
        Ok(lock(&self.files).keys().cloned().collect())
    }

    fn remove(&self, name: &str) -> Result<()> {
        check_name(name)?;
        lock(&self.files).remove(name);
        Ok(())
    }
}

struct MemFile {
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl StoreFile for MemFile {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let bytes = lock(&self.bytes);
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
        let n = buf.len().min(bytes.len() - start);
        buf[..n].copy_from_slice(&bytes[start..start + n]);
        Ok(n)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        let mut bytes = lock(&self.bytes);
        let too_big = || std::io::Error::new(std::io::ErrorKind::OutOfMemory, "in-memory file too large");
        let start = usize::try_from(offset).map_err(|_| too_big())?;
        let end = start.checked_add(data.len()).ok_or_else(too_big)?;
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes[start..end].copy_from_slice(data);
        Ok(())
    }

    fn len(&self) -> Result<u64> {
        Ok(lock(&self.bytes).len() as u64)
    }

    fn set_len(&mut self, len: u64) -> Result<()> {
        let len = usize::try_from(len).map_err(|_| std::io::Error::new(std::io::ErrorKind::OutOfMemory, "in-memory file too large"))?;
        lock(&self.bytes).resize(len, 0);
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn mem_store_behaves_like_a_store() {
        super::super::tests::exercise(&super::MemStore::new());
    }
}
