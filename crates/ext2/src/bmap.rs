//! The block map: logical block of a file -> physical block, through 12
//! direct pointers and single, double and triple indirect blocks.
//!
//! A zero pointer is a hole (reads as zeros, owns no block). Indirect blocks
//! are metadata and live in the block cache; the depth of the tree is fixed
//! (at most 3 indirections), so a corrupt image cannot make a walk loop.

use oxvm_block::BlockDevice;

use crate::bytes::{get32, put32};
use crate::error::{Error, Result};
use crate::fs::Ext2;
use crate::inode::{Inode, N_DIRECT, UNSUPPORTED_FL};

/// Where a logical block's pointer lives: the i_block slot, then the index
/// in each indirect level.
struct Path {
    depth: usize,
    slot: usize,
    idx: [usize; 3],
}

impl<D: BlockDevice> Ext2<D> {
    pub(crate) fn ptrs_per_block(&self) -> u64 {
        self.bs as u64 / 4
    }

    /// Logical blocks the map can address.
    pub(crate) fn max_lblocks(&self) -> u64 {
        let p = self.ptrs_per_block();
        N_DIRECT as u64 + p + p * p + p * p * p
    }

    /// Largest file size: what the map can address, what a 32-bit logical
    /// block number can name, and what 32-bit i_blocks (512-byte units,
    /// indirect blocks included) can count.
    pub fn max_file_size(&self) -> u64 {
        let bs = self.bs as u64;
        let by_map = self.max_lblocks().min(u32::MAX as u64) * bs;
        let by_sectors = (u32::MAX as u64 * 512) / (bs + 4) * bs;
        // Revision 0 has no large_file feature to announce i_size_high.
        let by_rev = if self.sb.rev_level == 0 { (1 << 31) - 1 } else { u64::MAX };
        by_map.min(by_sectors).min(by_rev)
    }

    fn path(&self, lblk: u64) -> Result<Path> {
        let p = self.ptrs_per_block();
        let mut l = lblk;
        if l < N_DIRECT as u64 {
            return Ok(Path { depth: 0, slot: l as usize, idx: [0; 3] });
        }
        l -= N_DIRECT as u64;
        if l < p {
            return Ok(Path { depth: 1, slot: 12, idx: [l as usize, 0, 0] });
        }
        l -= p;
        if l < p * p {
            return Ok(Path { depth: 2, slot: 13, idx: [(l / p) as usize, (l % p) as usize, 0] });
        }
        l -= p * p;
        if l < p * p * p {
            return Ok(Path { depth: 3, slot: 14, idx: [(l / (p * p)) as usize, ((l / p) % p) as usize, (l % p) as usize] });
        }
        Err(Error::FileTooBig)
    }

    /// Physical block of `lblk`, or (0, n) for a hole where the n logical
    /// blocks from `lblk` on are all holes (a missing indirect block leaves
    /// its whole subtree unmapped), so sparse giants are skipped quickly.
    pub(crate) fn bmap_extent(&mut self, inode: &Inode, lblk: u64) -> Result<(u32, u64)> {
        if inode.flags() & UNSUPPORTED_FL != 0 {
            return Err(Error::Corrupt("an extent-mapped or inline-data inode in an ext2 image".into()));
        }
        let path = self.path(lblk)?;
        let p = self.ptrs_per_block();
        let mut b = inode.block(path.slot);
        for level in 0..path.depth {
            if b == 0 {
                // Offset of lblk inside the missing subtree, and its size.
                let mut offset = 0;
                for k in level..path.depth {
                    offset = offset * p + path.idx[k] as u64;
                }
                return Ok((0, p.pow((path.depth - level) as u32) - offset));
            }
            let phys = self.check_block(b)?;
            let blk = self.cache.get(&mut self.dev, phys)?;
            b = get32(blk, path.idx[level] * 4);
        }
        if b != 0 {
            self.check_block(b)?;
        }
        Ok((b, 1))
    }

    /// Physical block of `lblk`, or 0 for a hole.
    pub(crate) fn bmap(&mut self, inode: &Inode, lblk: u64) -> Result<u32> {
        Ok(self.bmap_extent(inode, lblk)?.0)
    }

    /// Points `lblk` at `phys`, allocating (zeroed) indirect blocks on the
    /// way; each new block is counted in the inode's i_blocks.
    pub(crate) fn set_bmap(&mut self, inode: &mut Inode, lblk: u64, phys: u32) -> Result<()> {
        let path = self.path(lblk)?;
        let sectors_per_block = self.bs / 512;
        if path.depth == 0 {
            inode.set_block(path.slot, phys);
            return Ok(());
        }
        let mut parent = inode.block(path.slot);
        if parent == 0 {
            parent = self.alloc_block(phys)?;
            self.cache.get_zeroed(&mut self.dev, parent as u64)?;
            inode.set_block(path.slot, parent);
            inode.set_sectors(inode.sectors().saturating_add(sectors_per_block));
        }
        for level in 0..path.depth {
            let pb = self.check_block(parent)?;
            let off = path.idx[level] * 4;
            if level + 1 == path.depth {
                put32(self.cache.get_mut(&mut self.dev, pb)?, off, phys);
                return Ok(());
            }
            let mut child = get32(self.cache.get(&mut self.dev, pb)?, off);
            if child == 0 {
                child = self.alloc_block(phys)?;
                self.cache.get_zeroed(&mut self.dev, child as u64)?;
                put32(self.cache.get_mut(&mut self.dev, pb)?, off, child);
                inode.set_sectors(inode.sectors().saturating_add(sectors_per_block));
            }
            parent = child;
        }
        Ok(())
    }

    /// Frees every block mapping logical blocks >= `cut`, and the indirect
    /// blocks left empty, updating i_block and i_blocks.
    pub(crate) fn free_from(&mut self, inode: &mut Inode, cut: u64) -> Result<()> {
        if inode.flags() & UNSUPPORTED_FL != 0 {
            return Err(Error::Corrupt("an extent-mapped or inline-data inode in an ext2 image".into()));
        }
        let p = self.ptrs_per_block();
        let mut freed = Vec::new();
        for slot in 0..N_DIRECT {
            let b = inode.block(slot);
            if b != 0 && slot as u64 >= cut {
                freed.push(b);
                inode.set_block(slot, 0);
            }
        }
        let bases = [N_DIRECT as u64, N_DIRECT as u64 + p, N_DIRECT as u64 + p + p * p];
        for (level, base) in bases.iter().enumerate() {
            let slot = N_DIRECT + level;
            let b = inode.block(slot);
            if b != 0 && self.free_tree(b, level as u32 + 1, *base, cut, &mut freed)? {
                inode.set_block(slot, 0);
            }
        }
        let n = freed.len() as u32;
        let result = self.free_blocks(&mut freed);
        inode.set_sectors(inode.sectors().saturating_sub(n.saturating_mul(self.bs / 512)));
        result
    }

    /// Frees the part >= `cut` of the subtree under `ptr` (`level` 0 is a data
    /// block) covering logical blocks from `base`. Returns whether `ptr`
    /// itself was freed, so the caller clears its pointer.
    fn free_tree(&mut self, ptr: u32, level: u32, base: u64, cut: u64, freed: &mut Vec<u32>) -> Result<bool> {
        let p = self.ptrs_per_block();
        let span = p.pow(level);
        if base + span <= cut {
            return Ok(false);
        }
        if freed.len() as u64 > self.sb.blocks_count as u64 {
            return Err(crate::error::corrupt!("a file maps more blocks than the file system has"));
        }
        if level == 0 {
            freed.push(ptr);
            return Ok(true);
        }
        let phys = self.check_block(ptr)?;
        let entries: Vec<u32> = self.cache.get(&mut self.dev, phys)?.chunks_exact(4).map(|c| get32(c, 0)).collect();
        let child_span = p.pow(level - 1);
        let mut remaining = false;
        for (i, &child) in entries.iter().enumerate() {
            if child == 0 {
                continue;
            }
            let cb = base + i as u64 * child_span;
            if self.free_tree(child, level - 1, cb, cut, freed)? {
                if base < cut {
                    put32(self.cache.get_mut(&mut self.dev, phys)?, i * 4, 0);
                }
            } else {
                remaining = true;
            }
        }
        if remaining {
            return Ok(false);
        }
        freed.push(ptr);
        Ok(true)
    }
}
