//! A persistent cache of fetched chunks, one store file per chunk.
//!
//! Each file holds the chunk's bytes followed by an 8-byte trailer: the
//! CRC-32 of the bytes and the tag `OXC1`. Files are written without a sync:
//! after a crash a torn file fails its trailer check and is fetched again,
//! which is cheaper than a sync per fetched chunk.

use crate::store::Store;
use crate::Result;

const TAG: &[u8; 4] = b"OXC1";

pub struct ChunkCache {
    store: Box<dyn Store>,
}

impl ChunkCache {
    pub fn new(store: Box<dyn Store>) -> Self {
        ChunkCache { store }
    }

    /// The chunk stored under `key` if it is whole and `expected_len` long.
    pub fn get(&self, key: &str, expected_len: usize) -> Option<Vec<u8>> {
        let mut file = self.store.open(key, false).ok()??;
        let bytes = file.read_all(expected_len as u64 + 8).ok();
        let whole = bytes.filter(|b| b.len() == expected_len + 8).and_then(|mut b| {
            let trailer = b.split_off(expected_len);
            let crc = crc32fast::hash(&b).to_le_bytes();
            (trailer[..4] == crc && &trailer[4..] == TAG).then_some(b)
        });
        if whole.is_none() {
            drop(file);
            let _ = self.store.remove(key);
        }
        whole
    }

    /// Whether a file exists for `key` (without checking its content).
    pub fn contains(&self, key: &str) -> bool {
        matches!(self.store.open(key, false), Ok(Some(_)))
    }

    pub fn put(&self, key: &str, data: &[u8]) -> Result<()> {
        let mut file = self.store.open(key, true)?.expect("created");
        let mut bytes = Vec::with_capacity(data.len() + 8);
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
        bytes.extend_from_slice(TAG);
        file.set_len(0)?;
        file.write_at(0, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemStore;

    #[test]
    fn torn_or_foreign_entries_are_misses_and_removed() {
        let store = MemStore::new();
        let cache = ChunkCache::new(Box::new(store.clone()));
        cache.put("abc", b"chunk bytes").unwrap();
        assert_eq!(cache.get("abc", 11).unwrap(), b"chunk bytes");
        assert!(cache.get("abc", 12).is_none(), "a length mismatch is a miss");
        assert!(!cache.contains("abc"));
        cache.put("abc", b"chunk bytes").unwrap();
        let mut torn = store.contents("abc").unwrap();
        torn[3] ^= 1;
        store.set_contents("abc", torn);
        assert!(cache.get("abc", 11).is_none());
        assert!(cache.get("missing", 11).is_none());
    }
}
