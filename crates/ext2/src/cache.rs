//! A bounded write-back cache of metadata blocks.
//!
//! Bitmaps, inode-table blocks, indirect blocks and directory blocks are read
//! and changed many times per operation; going to the device for each would
//! be slow (and, over the network, a round trip each). File data does not go
//! through here: it is read and written straight to the device in large runs.
//!
//! Eviction is approximate LRU: when the cache is full, the least recently
//! used eighth is dropped at once (dirty ones written back first), which keeps
//! the bookkeeping to one counter per block.

use std::collections::HashMap;

use oxvm_block::BlockDevice;

use crate::error::Result;

struct Entry {
    data: Box<[u8]>,
    dirty: bool,
    last_use: u64,
}

pub struct BlockCache {
    block_size: usize,
    capacity: usize,
    clock: u64,
    map: HashMap<u64, Entry>,
}

impl BlockCache {
    pub fn new(block_size: usize, capacity_bytes: usize) -> BlockCache {
        BlockCache { block_size, capacity: (capacity_bytes / block_size).max(64), clock: 0, map: HashMap::new() }
    }

    pub fn set_capacity(&mut self, bytes: usize) {
        self.capacity = (bytes / self.block_size).max(64);
    }

    fn make_room<D: BlockDevice>(&mut self, dev: &mut D) -> Result<()> {
        if self.map.len() < self.capacity {
            return Ok(());
        }
        let mut ages: Vec<(u64, u64)> = self.map.iter().map(|(b, e)| (e.last_use, *b)).collect();
        ages.sort_unstable();
        let drop = (self.capacity / 8).max(1);
        let mut victims: Vec<u64> = ages.iter().take(drop).map(|&(_, b)| b).collect();
        victims.sort_unstable();
        for b in victims {
            if let Some(e) = self.map.get(&b) {
                if e.dirty {
                    dev.write_at(b * self.block_size as u64, &e.data)?;
                }
            }
            self.map.remove(&b);
        }
        Ok(())
    }

    fn touch(&mut self, b: u64) -> &mut Entry {
        self.clock += 1;
        let clock = self.clock;
        let e = self.map.get_mut(&b).expect("block present: checked by the caller");
        e.last_use = clock;
        e
    }

    fn load<D: BlockDevice>(&mut self, dev: &mut D, b: u64) -> Result<()> {
        if !self.map.contains_key(&b) {
            self.make_room(dev)?;
            let mut data = vec![0u8; self.block_size].into_boxed_slice();
            dev.read_at(b * self.block_size as u64, &mut data)?;
            self.map.insert(b, Entry { data, dirty: false, last_use: 0 });
        }
        Ok(())
    }

    pub fn get<D: BlockDevice>(&mut self, dev: &mut D, b: u64) -> Result<&[u8]> {
        self.load(dev, b)?;
        Ok(&self.touch(b).data)
    }

    /// The block for modification; it is written back on eviction or sync.
    pub fn get_mut<D: BlockDevice>(&mut self, dev: &mut D, b: u64) -> Result<&mut [u8]> {
        self.load(dev, b)?;
        let e = self.touch(b);
        e.dirty = true;
        Ok(&mut e.data)
    }

    /// A freshly allocated block: zero-filled without reading the device.
    pub fn get_zeroed<D: BlockDevice>(&mut self, dev: &mut D, b: u64) -> Result<&mut [u8]> {
        if !self.map.contains_key(&b) {
            self.make_room(dev)?;
            self.map.insert(b, Entry { data: vec![0u8; self.block_size].into_boxed_slice(), dirty: true, last_use: 0 });
        }
        let e = self.touch(b);
        e.data.fill(0);
        e.dirty = true;
        Ok(&mut e.data)
    }

    pub fn contains(&self, b: u64) -> bool {
        self.map.contains_key(&b)
    }

    /// Drops a block without writing it: it was freed, or is about to be
    /// overwritten as file data, and a stale write-back would clobber it.
    pub fn forget(&mut self, b: u64) {
        self.map.remove(&b);
    }

    /// Writes every dirty block in block order, adjacent blocks joined into
    /// one write (inode tables and bitmaps are often dirty in runs).
    pub fn flush<D: BlockDevice>(&mut self, dev: &mut D) -> Result<()> {
        let mut dirty: Vec<u64> = self.map.iter().filter(|(_, e)| e.dirty).map(|(b, _)| *b).collect();
        dirty.sort_unstable();
        let bs = self.block_size as u64;
        let max_run = ((1 << 20) / bs).max(1) as usize;
        let mut i = 0;
        let mut buf = Vec::new();
        while i < dirty.len() {
            let mut j = i + 1;
            while j < dirty.len() && j - i < max_run && dirty[j] == dirty[j - 1] + 1 {
                j += 1;
            }
            buf.clear();
            for b in &dirty[i..j] {
                if let Some(e) = self.map.get(b) {
                    buf.extend_from_slice(&e.data);
                }
            }
            dev.write_at(dirty[i] * bs, &buf)?;
            for b in &dirty[i..j] {
                if let Some(e) = self.map.get_mut(b) {
                    e.dirty = false;
                }
            }
            i = j;
        }
        Ok(())
    }
}
