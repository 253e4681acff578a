//! The mounted file system: device, superblock, group table and metadata
//! cache, plus the plumbing every operation shares (inode I/O, block number
//! checks, the clock, sync).

use oxvm_block::BlockDevice;

use crate::cache::BlockCache;
use crate::error::{corrupt, Error, Result};
use crate::group::{inode_table_blocks, GroupDesc, DESC_SIZE};
use crate::inode::{Ino, Inode, INODE_BASE};
use crate::superblock::{Superblock, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE};

/// Default metadata cache size. Large enough to hold the bitmaps and hot
/// inode-table and directory blocks of a Debian root; small next to the data.
pub const DEFAULT_CACHE_BYTES: usize = 16 << 20;

/// An ext2 file system on a block device.
///
/// Changes live in a write-back cache until [`Ext2::sync`]; dropping the
/// value without syncing loses them (the image stays as consistent as the
/// last sync left it, minus any cache evictions since).
pub struct Ext2<D: BlockDevice> {
    pub(crate) dev: D,
    pub(crate) sb: Superblock,
    pub(crate) groups: Vec<GroupDesc>,
    pub(crate) cache: BlockCache,
    pub(crate) bs: u32,
    pub(crate) read_only: bool,
    pub(crate) sb_dirty: bool,
    pub(crate) gd_dirty: bool,
    /// Per directory, the first block that may have room for a new entry.
    pub(crate) dir_hints: std::collections::HashMap<Ino, u64>,
    clock: Box<dyn FnMut() -> u32 + Send>,
}

/// Seconds since the epoch from the host clock. The browser build has no
/// clock in std, so there the kernel must install one with [`Ext2::set_clock`].
pub(crate) fn host_clock() -> u32 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as u32).unwrap_or(0)
    }
    #[cfg(target_arch = "wasm32")]
    {
        0
    }
}

impl<D: BlockDevice> Ext2<D> {
    /// Opens the file system on `dev`. Reads only the superblock and the
    /// group descriptor table. Incompatible features other than `filetype`
    /// are refused; unknown read-only-compatible features, or a read-only
    /// device, give a read-only mount.
    pub fn open(mut dev: D) -> Result<Self> {
        let mut raw = [0u8; SUPERBLOCK_SIZE];
        if dev.size() < SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE as u64 {
            return Err(Error::Unsupported("device too small for an ext2 superblock".into()));
        }
        dev.read_at(SUPERBLOCK_OFFSET, &mut raw)?;
        let sb = Superblock::parse(&raw, dev.size())?;
        let bs = sb.block_size;
        let count = sb.group_count() as usize;
        let mut table = vec![0u8; count * DESC_SIZE];
        dev.read_at((sb.first_data_block as u64 + 1) * bs as u64, &mut table)?;
        let mut groups = Vec::with_capacity(count);
        for (g, chunk) in table.chunks_exact(DESC_SIZE).enumerate() {
            let d = GroupDesc::parse(chunk.try_into().map_err(|_| corrupt!("descriptor {g}"))?);
            d.validate(&sb, g as u32)?;
            groups.push(d);
        }
        let read_only = dev.read_only() || sb.ro_compat_unknown() != 0;
        let mut fs = Ext2 {
            dev,
            bs,
            cache: BlockCache::new(bs as usize, DEFAULT_CACHE_BYTES),
            sb,
            groups,
            read_only,
            sb_dirty: false,
            gd_dirty: false,
            dir_hints: std::collections::HashMap::new(),
            clock: Box::new(host_clock),
        };
        if !fs.read_only && fs.sb.last_orphan != 0 {
            fs.reclaim_orphans()?;
        }
        Ok(fs)
    }

    /// Replaces the clock used for timestamps (the kernel's guest clock).
    pub fn set_clock(&mut self, clock: Box<dyn FnMut() -> u32 + Send>) {
        self.clock = clock;
    }

    /// Bounds the metadata cache to about `bytes`.
    pub fn set_cache_limit(&mut self, bytes: usize) {
        self.cache.set_capacity(bytes);
    }

    pub(crate) fn now(&mut self) -> u32 {
        (self.clock)()
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    pub fn block_size(&self) -> u32 {
        self.bs
    }

    pub fn root(&self) -> Ino {
        crate::inode::ROOT_INO
    }

    pub fn device(&self) -> &D {
        &self.dev
    }

    /// Syncs and hands back the device.
    pub fn into_device(mut self) -> Result<D> {
        self.sync()?;
        Ok(self.dev)
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.read_only {
            Err(Error::ReadOnly)
        } else {
            Ok(())
        }
    }

    /// A block number taken from the image, checked before it is used.
    pub(crate) fn check_block(&self, b: u32) -> Result<u64> {
        if b < self.sb.first_data_block || b >= self.sb.blocks_count {
            return Err(corrupt!("block number {b} outside the file system"));
        }
        Ok(b as u64)
    }

    fn inode_pos(&self, ino: Ino) -> Result<(u64, usize)> {
        if ino == 0 || ino > self.sb.inodes_count {
            return Err(corrupt!("inode number {ino} out of range"));
        }
        let idx = ino - 1;
        let g = (idx / self.sb.inodes_per_group) as usize;
        let off = (idx % self.sb.inodes_per_group) as u64 * self.sb.inode_size as u64;
        let table = self.groups[g].inode_table as u64;
        debug_assert!(off / (self.bs as u64) < inode_table_blocks(&self.sb) as u64);
        Ok((table + off / self.bs as u64, (off % self.bs as u64) as usize))
    }

    /// Announces the inode-table blocks of these inodes that are not cached
    /// (for getdents followed by a stat of each entry, as `ls -l` does).
    pub fn prefetch_inodes(&mut self, inos: &[Ino]) -> Result<()> {
        let bs = self.bs as u64;
        let mut blocks: Vec<u64> = Vec::new();
        for &ino in inos {
            let (b, _) = self.inode_pos(ino)?;
            if !self.cache.contains(b) {
                blocks.push(b);
            }
        }
        blocks.sort_unstable();
        blocks.dedup();
        let mut ranges: Vec<std::ops::Range<u64>> = Vec::new();
        for b in blocks {
            match ranges.last_mut() {
                Some(r) if r.end == b * bs => r.end += bs,
                _ => ranges.push(b * bs..(b + 1) * bs),
            }
        }
        if !ranges.is_empty() {
            self.dev.prefetch(&ranges);
        }
        Ok(())
    }

    pub(crate) fn read_inode(&mut self, ino: Ino) -> Result<Inode> {
        let (b, off) = self.inode_pos(ino)?;
        let blk = self.cache.get(&mut self.dev, b)?;
        let mut inode = Inode::zeroed();
        inode.raw.copy_from_slice(&blk[off..off + INODE_BASE]);
        Ok(inode)
    }

    pub(crate) fn write_inode(&mut self, ino: Ino, inode: &Inode) -> Result<()> {
        let (b, off) = self.inode_pos(ino)?;
        let blk = self.cache.get_mut(&mut self.dev, b)?;
        blk[off..off + INODE_BASE].copy_from_slice(&inode.raw);
        Ok(())
    }

    /// Zeroes a whole on-disk inode slot for a new inode, setting
    /// i_extra_isize in large inodes as the superblock wants.
    pub(crate) fn init_inode_slot(&mut self, ino: Ino) -> Result<()> {
        let (b, off) = self.inode_pos(ino)?;
        let isz = self.sb.inode_size as usize;
        let extra = if isz >= INODE_BASE + 32 { self.sb.want_extra_isize.clamp(4, 32) & !3 } else { 0 };
        let blk = self.cache.get_mut(&mut self.dev, b)?;
        blk[off..off + isz].fill(0);
        if isz > INODE_BASE {
            blk[off + INODE_BASE..off + INODE_BASE + 2].copy_from_slice(&extra.to_le_bytes());
        }
        Ok(())
    }

    /// Writes the superblock, the descriptor table and every dirty cached
    /// block, then asks the device for a durability barrier.
    pub fn sync(&mut self) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.cache.flush(&mut self.dev)?;
        if self.gd_dirty {
            let mut table = Vec::with_capacity(self.groups.len() * DESC_SIZE);
            for g in &self.groups {
                table.extend_from_slice(&g.to_bytes());
            }
            self.dev.write_at((self.sb.first_data_block as u64 + 1) * self.bs as u64, &table)?;
            self.gd_dirty = false;
        }
        if self.sb_dirty {
            self.sb.wtime = self.now();
            let raw = self.sb.to_bytes();
            self.dev.write_at(SUPERBLOCK_OFFSET, &raw)?;
            self.sb_dirty = false;
        }
        self.dev.flush()?;
        Ok(())
    }
}
