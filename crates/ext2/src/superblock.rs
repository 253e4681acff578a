//! The superblock: geometry, counts and feature flags, at byte 1024.
//!
//! We keep the whole 1024-byte record and patch only the fields we own, so
//! fields this crate does not interpret (journal UUID, hash seed, mount
//! history, ...) survive a write-back unchanged.

use crate::bytes::{get16, get32, put32};
use crate::error::{corrupt, Error, Result};

pub const SUPERBLOCK_OFFSET: u64 = 1024;
pub const SUPERBLOCK_SIZE: usize = 1024;
pub const MAGIC: u16 = 0xEF53;

// Feature bits (only the ones we name).
pub const INCOMPAT_FILETYPE: u32 = 0x0002;
pub const RO_COMPAT_SPARSE_SUPER: u32 = 0x0001;
pub const RO_COMPAT_LARGE_FILE: u32 = 0x0002;
/// The read-only-compatible features we can keep valid while writing.
pub const RO_COMPAT_SUPPORTED: u32 = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE;
/// The incompatible features we understand; any other bit refuses the open.
pub const INCOMPAT_SUPPORTED: u32 = INCOMPAT_FILETYPE;

/// The superblock fields this crate uses, plus the raw record for write-back.
#[derive(Clone)]
pub struct Superblock {
    pub raw: [u8; SUPERBLOCK_SIZE],
    pub inodes_count: u32,
    pub blocks_count: u32,
    pub r_blocks_count: u32,
    pub free_blocks: u32,
    pub free_inodes: u32,
    pub first_data_block: u32,
    pub block_size: u32,
    pub blocks_per_group: u32,
    pub inodes_per_group: u32,
    pub rev_level: u32,
    pub first_ino: u32,
    pub inode_size: u32,
    pub feature_compat: u32,
    pub feature_incompat: u32,
    pub feature_ro_compat: u32,
    pub want_extra_isize: u16,
    pub uuid: [u8; 16],
    pub wtime: u32,
    /// Head of the orphan list: inodes unlinked but not yet freed.
    pub last_orphan: u32,
}

impl Superblock {
    /// Parses and sanity-checks a superblock read from a device of `dev_size`
    /// bytes. Every later computation (group count, table positions) relies on
    /// the bounds checked here, so corrupt values stop here.
    pub fn parse(raw: &[u8; SUPERBLOCK_SIZE], dev_size: u64) -> Result<Superblock> {
        if get16(raw, 56) != MAGIC {
            return Err(Error::Unsupported("no ext2 magic number in the superblock".into()));
        }
        let log = get32(raw, 24);
        if log > 6 {
            return Err(corrupt!("block size 1024 << {log} is out of range"));
        }
        let block_size = 1024u32 << log;
        let rev_level = get32(raw, 76);
        let (first_ino, inode_size) = if rev_level == 0 { (11, 128) } else { (get32(raw, 84), get16(raw, 88) as u32) };
        let sb = Superblock {
            raw: *raw,
            inodes_count: get32(raw, 0),
            blocks_count: get32(raw, 4),
            r_blocks_count: get32(raw, 8),
            free_blocks: get32(raw, 12),
            free_inodes: get32(raw, 16),
            first_data_block: get32(raw, 20),
            block_size,
            blocks_per_group: get32(raw, 32),
            inodes_per_group: get32(raw, 40),
            rev_level,
            first_ino,
            inode_size,
            feature_compat: if rev_level == 0 { 0 } else { get32(raw, 92) },
            feature_incompat: if rev_level == 0 { 0 } else { get32(raw, 96) },
            feature_ro_compat: if rev_level == 0 { 0 } else { get32(raw, 100) },
            want_extra_isize: get16(raw, 350),
            uuid: raw[104..120].try_into().unwrap_or([0; 16]),
            wtime: get32(raw, 48),
            last_orphan: if rev_level == 0 { 0 } else { get32(raw, 232) },
        };
        sb.validate(dev_size)?;
        Ok(sb)
    }

    fn validate(&self, dev_size: u64) -> Result<()> {
        let bs = self.block_size;
        if self.rev_level > 1 {
            return Err(Error::Unsupported(format!("revision {}", self.rev_level)));
        }
        let unknown = self.feature_incompat & !INCOMPAT_SUPPORTED;
        if unknown != 0 {
            return Err(Error::Unsupported(format!(
                "incompatible features {unknown:#x} (journal recovery, extents, 64bit, ... are not implemented)"
            )));
        }
        if self.inode_size < 128 || !self.inode_size.is_power_of_two() || self.inode_size > bs {
            return Err(corrupt!("inode size {}", self.inode_size));
        }
        if self.blocks_per_group < 8 || self.blocks_per_group > 8 * bs || !self.blocks_per_group.is_multiple_of(8) {
            return Err(corrupt!("{} blocks per group", self.blocks_per_group));
        }
        if self.inodes_per_group == 0 || self.inodes_per_group > 8 * bs {
            return Err(corrupt!("{} inodes per group", self.inodes_per_group));
        }
        let expect_first = if bs == 1024 { 1 } else { 0 };
        if self.first_data_block != expect_first {
            return Err(corrupt!("first data block {} with {bs}-byte blocks", self.first_data_block));
        }
        if self.blocks_count <= self.first_data_block || (self.blocks_count as u64) * (bs as u64) > dev_size {
            return Err(corrupt!("{} blocks of {bs} bytes do not fit a device of {dev_size} bytes", self.blocks_count));
        }
        let groups = self.group_count();
        if (groups as u64) * (self.inodes_per_group as u64) != self.inodes_count as u64 {
            return Err(corrupt!("{} inodes is not {groups} groups of {}", self.inodes_count, self.inodes_per_group));
        }
        if self.first_ino < 3 || self.first_ino >= self.inodes_count {
            return Err(corrupt!("first inode {}", self.first_ino));
        }
        if self.free_blocks > self.blocks_count || self.free_inodes > self.inodes_count {
            return Err(corrupt!("free counts exceed totals"));
        }
        // The group descriptor table follows the superblock in one run.
        let gdt_end = self.first_data_block as u64 + 1 + self.gdt_blocks() as u64;
        if gdt_end > self.blocks_count as u64 {
            return Err(corrupt!("group descriptor table of {} blocks does not fit", self.gdt_blocks()));
        }
        Ok(())
    }

    pub fn group_count(&self) -> u32 {
        (self.blocks_count - self.first_data_block).div_ceil(self.blocks_per_group)
    }

    pub fn gdt_blocks(&self) -> u32 {
        ((self.group_count() as u64 * crate::group::DESC_SIZE as u64).div_ceil(self.block_size as u64)).min(u32::MAX as u64) as u32
    }

    pub fn has_filetype(&self) -> bool {
        self.feature_incompat & INCOMPAT_FILETYPE != 0
    }

    /// Unknown read-only-compatible features: we may read but must not write.
    pub fn ro_compat_unknown(&self) -> u32 {
        self.feature_ro_compat & !RO_COMPAT_SUPPORTED
    }

    /// Writes the fields we maintain back into the raw record.
    pub fn to_bytes(&self) -> [u8; SUPERBLOCK_SIZE] {
        let mut raw = self.raw;
        put32(&mut raw, 12, self.free_blocks);
        put32(&mut raw, 16, self.free_inodes);
        put32(&mut raw, 48, self.wtime);
        if self.rev_level >= 1 {
            put32(&mut raw, 92, self.feature_compat);
            put32(&mut raw, 96, self.feature_incompat);
            put32(&mut raw, 100, self.feature_ro_compat);
            put32(&mut raw, 232, self.last_orphan);
        }
        raw
    }
}

/// sparse_super: copies live in groups 0, 1 and powers of 3, 5 and 7.
pub fn has_super_sparse(g: u32) -> bool {
    if g <= 1 {
        return true;
    }
    for base in [3u32, 5, 7] {
        let mut p = base;
        while p < g {
            match p.checked_mul(base) {
                Some(n) => p = n,
                None => break,
            }
        }
        if p == g {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_super_groups() {
        let with: Vec<u32> = (0..100).filter(|&g| has_super_sparse(g)).collect();
        assert_eq!(with, vec![0, 1, 3, 5, 7, 9, 25, 27, 49, 81]);
    }

    #[test]
    fn garbage_is_an_error() {
        let raw = [0u8; SUPERBLOCK_SIZE];
        assert!(Superblock::parse(&raw, 1 << 20).is_err());
        let mut raw = [0xffu8; SUPERBLOCK_SIZE];
        raw[56..58].copy_from_slice(&MAGIC.to_le_bytes());
        assert!(matches!(Superblock::parse(&raw, 1 << 20), Err(Error::Corrupt(_) | Error::Unsupported(_))));
    }
}
