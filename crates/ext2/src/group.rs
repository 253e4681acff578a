//! Block group descriptors: where each group's bitmaps and inode table live,
//! and its free counts.
//!
//! The whole table is small (32 bytes a group: 256 bytes for a 1 GB image with
//! 4 KiB blocks), so it is parsed once at open, kept in memory, and written
//! back on sync; the free counts in it are updated on every allocation.

use crate::bytes::{get16, get32, put16, put32};
use crate::error::{corrupt, Result};
use crate::superblock::Superblock;

pub const DESC_SIZE: usize = 32;

#[derive(Clone, Debug, Default)]
pub struct GroupDesc {
    pub raw: [u8; DESC_SIZE],
    pub block_bitmap: u32,
    pub inode_bitmap: u32,
    pub inode_table: u32,
    pub free_blocks: u16,
    pub free_inodes: u16,
    pub used_dirs: u16,
}

impl GroupDesc {
    pub fn parse(raw: &[u8; DESC_SIZE]) -> GroupDesc {
        GroupDesc {
            raw: *raw,
            block_bitmap: get32(raw, 0),
            inode_bitmap: get32(raw, 4),
            inode_table: get32(raw, 8),
            free_blocks: get16(raw, 12),
            free_inodes: get16(raw, 14),
            used_dirs: get16(raw, 16),
        }
    }

    /// Checks that the bitmaps and the inode table lie inside the file system,
    /// so that later reads of them cannot go astray.
    pub fn validate(&self, sb: &Superblock, g: u32) -> Result<()> {
        let first = sb.first_data_block;
        let end = sb.blocks_count;
        let itb = inode_table_blocks(sb);
        let ok = |b: u32| b >= first && b < end;
        if !ok(self.block_bitmap) || !ok(self.inode_bitmap) || !ok(self.inode_table) || (self.inode_table as u64 + itb as u64) > end as u64
        {
            return Err(corrupt!("group {g}: bitmap or inode table outside the file system"));
        }
        if self.free_inodes as u32 > sb.inodes_per_group || self.free_blocks as u32 > sb.blocks_per_group {
            return Err(corrupt!("group {g}: free counts exceed the group size"));
        }
        Ok(())
    }

    pub fn to_bytes(&self) -> [u8; DESC_SIZE] {
        let mut raw = self.raw;
        put32(&mut raw, 0, self.block_bitmap);
        put32(&mut raw, 4, self.inode_bitmap);
        put32(&mut raw, 8, self.inode_table);
        put16(&mut raw, 12, self.free_blocks);
        put16(&mut raw, 14, self.free_inodes);
        put16(&mut raw, 16, self.used_dirs);
        raw
    }
}

/// Blocks taken by one group's inode table.
pub fn inode_table_blocks(sb: &Superblock) -> u32 {
    ((sb.inodes_per_group as u64 * sb.inode_size as u64).div_ceil(sb.block_size as u64)) as u32
}

/// First block of group `g`.
pub fn group_first_block(sb: &Superblock, g: u32) -> u32 {
    sb.first_data_block + g * sb.blocks_per_group
}

/// Number of blocks in group `g` (the last group may be short).
pub fn group_len(sb: &Superblock, g: u32) -> u32 {
    let start = group_first_block(sb, g);
    (sb.blocks_count - start).min(sb.blocks_per_group)
}
