//! Block and inode allocation over the on-disk bitmaps.
//!
//! Every allocation and free updates, together, the bitmap bit, the group's
//! free count and the superblock's free count (and used_dirs for
//! directories), so the bookkeeping `e2fsck` checks stays exact.
//!
//! Placement: a file's data goes near the previous block of the same file
//! (contiguous runs for sequential writes), else in the inode's own group; a
//! new directory goes to a group with many free inodes, so trees spread out.

use oxvm_block::BlockDevice;

use crate::error::{corrupt, Error, Result};
use crate::fs::Ext2;
use crate::group::{group_first_block, group_len};
use crate::inode::Ino;

/// First clear bit at or after `from` and before `limit`.
fn find_clear(bits: &[u8], from: u32, limit: u32) -> Option<u32> {
    let mut i = from;
    while i < limit {
        let byte = bits[(i / 8) as usize];
        if byte == 0xff {
            i = (i / 8 + 1) * 8;
            continue;
        }
        if byte & (1 << (i % 8)) == 0 {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn bit(bits: &[u8], i: u32) -> bool {
    bits[(i / 8) as usize] & (1 << (i % 8)) != 0
}

impl<D: BlockDevice> Ext2<D> {
    pub(crate) fn group_of_ino(&self, ino: Ino) -> u32 {
        (ino - 1) / self.sb.inodes_per_group
    }

    pub(crate) fn group_of_block(&self, b: u32) -> u32 {
        (b - self.sb.first_data_block) / self.sb.blocks_per_group
    }

    /// Allocates an inode. `parent_group` is where the parent directory lives.
    pub(crate) fn alloc_inode(&mut self, parent_group: u32, is_dir: bool) -> Result<Ino> {
        let n = self.groups.len() as u32;
        let start = if is_dir {
            // The group with the most free inodes among those with free blocks.
            let mut best = parent_group.min(n - 1);
            for g in 0..n {
                let (d, b) = (&self.groups[g as usize], &self.groups[best as usize]);
                if d.free_blocks > 0 && (d.free_inodes > b.free_inodes || b.free_blocks == 0) {
                    best = g;
                }
            }
            best
        } else {
            parent_group.min(n - 1)
        };
        let ipg = self.sb.inodes_per_group;
        for k in 0..n {
            let g = (start + k) % n;
            if self.groups[g as usize].free_inodes == 0 {
                continue;
            }
            let bm = self.groups[g as usize].inode_bitmap as u64;
            let from = if g == 0 { self.sb.first_ino - 1 } else { 0 };
            let bits = self.cache.get(&mut self.dev, bm)?;
            let Some(i) = find_clear(bits, from.min(ipg), ipg) else { continue };
            let bits = self.cache.get_mut(&mut self.dev, bm)?;
            bits[(i / 8) as usize] |= 1 << (i % 8);
            let gd = &mut self.groups[g as usize];
            gd.free_inodes -= 1;
            if is_dir {
                gd.used_dirs = gd.used_dirs.saturating_add(1);
            }
            self.sb.free_inodes = self.sb.free_inodes.saturating_sub(1);
            self.gd_dirty = true;
            self.sb_dirty = true;
            return Ok(g * ipg + i + 1);
        }
        Err(Error::NoSpace)
    }

    /// The inode's bit in its group's bitmap.
    pub(crate) fn inode_in_use(&mut self, ino: Ino) -> Result<bool> {
        if ino == 0 || ino > self.sb.inodes_count {
            return Err(corrupt!("inode number {ino} out of range"));
        }
        let g = self.group_of_ino(ino);
        let i = (ino - 1) % self.sb.inodes_per_group;
        let bm = self.groups[g as usize].inode_bitmap as u64;
        Ok(bit(self.cache.get(&mut self.dev, bm)?, i))
    }

    pub(crate) fn free_inode(&mut self, ino: Ino, is_dir: bool) -> Result<()> {
        if ino == 0 || ino > self.sb.inodes_count {
            return Err(corrupt!("freeing inode {ino}"));
        }
        let g = self.group_of_ino(ino);
        let i = (ino - 1) % self.sb.inodes_per_group;
        let bm = self.groups[g as usize].inode_bitmap as u64;
        let bits = self.cache.get_mut(&mut self.dev, bm)?;
        if !bit(bits, i) {
            return Err(corrupt!("inode {ino} freed twice"));
        }
        bits[(i / 8) as usize] &= !(1 << (i % 8));
        let gd = &mut self.groups[g as usize];
        gd.free_inodes = gd.free_inodes.saturating_add(1);
        if is_dir {
            gd.used_dirs = gd.used_dirs.saturating_sub(1);
        }
        self.sb.free_inodes = self.sb.free_inodes.saturating_add(1);
        self.gd_dirty = true;
        self.sb_dirty = true;
        Ok(())
    }

    /// The first block of `ino`'s group: where its data starts looking.
    pub(crate) fn inode_goal(&self, ino: Ino) -> u32 {
        group_first_block(&self.sb, self.group_of_ino(ino).min(self.groups.len() as u32 - 1))
    }

    /// Allocates up to `want` (>= 1) physically contiguous blocks, starting
    /// at `goal` if it is free, else at the next free block after it
    /// (wrapping over all groups). Returns (first block, count).
    pub(crate) fn alloc_blocks(&mut self, goal: u32, want: u32) -> Result<(u32, u32)> {
        let n = self.groups.len() as u32;
        let goal = if goal < self.sb.first_data_block || goal >= self.sb.blocks_count { self.sb.first_data_block } else { goal };
        let g0 = self.group_of_block(goal);
        // Visit the goal's group from the goal, then the other groups, then
        // the goal's group from its start.
        for k in 0..=n {
            let g = (g0 + k) % n;
            if self.groups[g as usize].free_blocks == 0 {
                continue;
            }
            let first = group_first_block(&self.sb, g);
            let len = group_len(&self.sb, g);
            let from = if k == 0 { goal - first } else { 0 };
            let bm = self.groups[g as usize].block_bitmap as u64;
            let bits = self.cache.get(&mut self.dev, bm)?;
            let Some(start) = find_clear(bits, from, len) else { continue };
            let mut count = 1;
            while count < want && start + count < len && !bit(bits, start + count) {
                count += 1;
            }
            let bits = self.cache.get_mut(&mut self.dev, bm)?;
            for i in start..start + count {
                bits[(i / 8) as usize] |= 1 << (i % 8);
            }
            let gd = &mut self.groups[g as usize];
            gd.free_blocks = gd.free_blocks.saturating_sub(count as u16);
            self.sb.free_blocks = self.sb.free_blocks.saturating_sub(count);
            self.gd_dirty = true;
            self.sb_dirty = true;
            let b = first + start;
            for x in b..b + count {
                self.cache.forget(x as u64);
            }
            return Ok((b, count));
        }
        Err(Error::NoSpace)
    }

    pub(crate) fn alloc_block(&mut self, goal: u32) -> Result<u32> {
        Ok(self.alloc_blocks(goal, 1)?.0)
    }

    /// Frees blocks (any order, no duplicates expected: a duplicate or an
    /// already-free block means the image is cross-linked and is reported).
    pub(crate) fn free_blocks(&mut self, blocks: &mut [u32]) -> Result<()> {
        blocks.sort_unstable();
        for &b in blocks.iter() {
            self.check_block(b)?;
            let g = self.group_of_block(b);
            let i = b - group_first_block(&self.sb, g);
            let bm = self.groups[g as usize].block_bitmap as u64;
            let bits = self.cache.get_mut(&mut self.dev, bm)?;
            if !bit(bits, i) {
                return Err(corrupt!("block {b} freed twice"));
            }
            bits[(i / 8) as usize] &= !(1 << (i % 8));
            let gd = &mut self.groups[g as usize];
            gd.free_blocks = gd.free_blocks.saturating_add(1);
            self.sb.free_blocks = self.sb.free_blocks.saturating_add(1);
            self.cache.forget(b as u64);
        }
        self.gd_dirty = true;
        self.sb_dirty = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_clear_skips_full_bytes_and_respects_the_limit() {
        let bits = [0xff, 0xff, 0b1110_1111, 0];
        assert_eq!(find_clear(&bits, 0, 32), Some(20));
        assert_eq!(find_clear(&bits, 21, 32), Some(24));
        assert_eq!(find_clear(&bits, 0, 20), None);
    }
}
