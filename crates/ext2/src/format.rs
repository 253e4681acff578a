//! mkfs: writes a fresh ext2 revision 1 file system.
//!
//! Features: filetype, sparse_super (backups of the superblock and
//! descriptor table in groups 0, 1 and powers of 3, 5, 7, all written here),
//! large_file. No resize inode, no htree, no journal: nothing this crate
//! cannot keep valid. The layout follows mke2fs: each group holds [backup
//! superblock + descriptor table], block bitmap, inode bitmap, inode table,
//! data; the root (0:0, 0755) and lost+found (0700, pre-grown to 16 KiB so
//! e2fsck can reconnect files without allocating) are in group 0.

use oxvm_block::BlockDevice;

use crate::bytes::{put16, put32};
use crate::error::{Error, Result};
use crate::fs::Ext2;
use crate::group::{GroupDesc, DESC_SIZE};
use crate::inode::{FileType, Ino, Inode, ROOT_INO, S_IFDIR};
use crate::superblock::*;

/// Options for [`Ext2::format`]. `Default` gives 4 KiB blocks, one inode per
/// 16 KiB, 256-byte inodes, no reserved blocks (an image, not a system disk).
#[derive(Clone, Debug)]
pub struct FormatOptions {
    /// 1024, 2048 or 4096 (up to 65536 accepted).
    pub block_size: u32,
    /// Bytes to use; `None` = the whole device.
    pub size: Option<u64>,
    /// Total inodes; `None` = size / `bytes_per_inode`.
    pub inodes: Option<u32>,
    pub bytes_per_inode: u64,
    /// 128 or 256 (any power of two from 128 to the block size).
    pub inode_size: u16,
    /// Up to 16 bytes.
    pub label: Vec<u8>,
    /// `None` derives one from the clock and the size (use a real random
    /// one when the image is published).
    pub uuid: Option<[u8; 16]>,
    /// Percentage of blocks reserved for root (mke2fs uses 5).
    pub reserved_percent: u8,
    /// Creation time; `None` = the host clock.
    pub time: Option<u32>,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            block_size: 4096,
            size: None,
            inodes: None,
            bytes_per_inode: 16384,
            inode_size: 256,
            label: Vec::new(),
            uuid: None,
            reserved_percent: 0,
            time: None,
        }
    }
}

pub(crate) const FIRST_INO: u32 = 11;
const LOST_FOUND_INO: Ino = 11;

/// Writes "." and ".." as the only records of a fresh directory block.
/// `ftype` is the directory type code, or 0 without the filetype feature.
pub(crate) fn write_dot_entries(blk: &mut [u8], ino: Ino, parent: Ino, ftype: u8) {
    let bs = blk.len();
    put32(blk, 0, ino);
    put16(blk, 4, 12);
    blk[6] = 1;
    blk[7] = ftype;
    blk[8] = b'.';
    put32(blk, 12, parent);
    put16(blk, 16, if bs - 12 >= 65536 { 65535 } else { (bs - 12) as u16 });
    blk[18] = 2;
    blk[19] = ftype;
    blk[20] = b'.';
    blk[21] = b'.';
}

struct Layout {
    blocks: u32,
    groups: u32,
    ipg: u32,
    itb: u32,
    gdt_blocks: u32,
}

fn has_super(g: u32) -> bool {
    has_super_sparse(g)
}

fn layout(bs: u32, blocks: u32, opts: &FormatOptions, first: u32) -> Result<Layout> {
    let bpg = 8 * bs;
    let mut blocks = blocks;
    for _ in 0..3 {
        let groups = (blocks - first).div_ceil(bpg);
        let total_inodes = match opts.inodes {
            Some(n) => n as u64,
            None => (blocks as u64 * bs as u64) / opts.bytes_per_inode.max(1024),
        };
        let per_block = bs / opts.inode_size as u32;
        let mut ipg = total_inodes.div_ceil(groups as u64).max(16) as u32;
        ipg = ipg.div_ceil(per_block) * per_block;
        ipg = ipg.div_ceil(8) * 8;
        ipg = ipg.min(8 * bs).min(u32::MAX / groups);
        let itb = (ipg * opts.inode_size as u32).div_ceil(bs);
        let gdt_blocks = (groups * DESC_SIZE as u32).div_ceil(bs);
        let last = groups - 1;
        let last_len = blocks - first - last * bpg;
        let overhead = if has_super(last) { 1 + gdt_blocks } else { 0 } + 2 + itb;
        if groups > 1 && last_len < overhead + 50 {
            // Like mke2fs: a tail group too small to be useful is dropped.
            blocks -= last_len;
            continue;
        }
        let g0_overhead = 1 + gdt_blocks + 2 + itb;
        if groups == 1 && last_len < g0_overhead + 16 + 4 {
            return Err(Error::Invalid("device too small for an ext2 file system"));
        }
        return Ok(Layout { blocks, groups, ipg, itb, gdt_blocks });
    }
    Err(Error::Invalid("cannot lay out the file system at this size"))
}

fn set_bits(bits: &mut [u8], range: std::ops::Range<u32>) {
    for i in range {
        bits[(i / 8) as usize] |= 1 << (i % 8);
    }
}

impl<D: BlockDevice> Ext2<D> {
    /// Writes a new, empty file system on `dev` and opens it.
    pub fn format(mut dev: D, opts: &FormatOptions) -> Result<Self> {
        let bs = opts.block_size;
        if !(1024..=65536).contains(&bs) || !bs.is_power_of_two() {
            return Err(Error::Invalid("block size must be a power of two from 1024 to 65536"));
        }
        let isz = opts.inode_size as u32;
        if isz < 128 || !isz.is_power_of_two() || isz > bs {
            return Err(Error::Invalid("inode size must be a power of two from 128 to the block size"));
        }
        if opts.label.len() > 16 || opts.reserved_percent > 50 {
            return Err(Error::Invalid("label over 16 bytes or reserve over 50%"));
        }
        if dev.read_only() {
            return Err(Error::ReadOnly);
        }
        let bytes = opts.size.unwrap_or(dev.size()).min(dev.size());
        let blocks = (bytes / bs as u64).min(u32::MAX as u64) as u32;
        let first = if bs == 1024 { 1 } else { 0 };
        if blocks < 64 {
            return Err(Error::Invalid("device too small for an ext2 file system"));
        }
        let l = layout(bs, blocks, opts, first)?;
        let now = opts.time.unwrap_or_else(crate::fs::host_clock);
        let bpg = 8 * bs;
        let lpf_blocks = (16384 / bs).clamp(2, 12);

        // Per-group descriptors and block bitmaps.
        let mut descs = Vec::with_capacity(l.groups as usize);
        let mut total_free_blocks = 0u64;
        let mut bitmap = vec![0u8; bs as usize];
        for g in 0..l.groups {
            let start = first + g * bpg;
            let len = (l.blocks - start).min(bpg);
            let sb_blocks = if has_super(g) { 1 + l.gdt_blocks } else { 0 };
            let bb = start + sb_blocks;
            let mut used = sb_blocks + 2 + l.itb;
            if g == 0 {
                used += 1 + lpf_blocks;
            }
            bitmap.fill(0);
            set_bits(&mut bitmap, 0..used);
            set_bits(&mut bitmap, len..8 * bs);
            dev.write_at(bb as u64 * bs as u64, &bitmap)?;
            let free_inodes = if g == 0 { l.ipg - FIRST_INO } else { l.ipg };
            let d = GroupDesc {
                raw: [0; DESC_SIZE],
                block_bitmap: bb,
                inode_bitmap: bb + 1,
                inode_table: bb + 2,
                free_blocks: (len - used) as u16,
                free_inodes: free_inodes as u16,
                used_dirs: if g == 0 { 2 } else { 0 },
            };
            total_free_blocks += (len - used) as u64;
            // Inode bitmap: reserved inodes 1..=11 in group 0, padding past ipg.
            bitmap.fill(0);
            if g == 0 {
                set_bits(&mut bitmap, 0..FIRST_INO);
            }
            set_bits(&mut bitmap, l.ipg..8 * bs);
            dev.write_at((bb + 1) as u64 * bs as u64, &bitmap)?;
            // Zero the inode table in large writes.
            let chunk = (1u32 << 20) / bs;
            let mut b = bb + 2;
            let end = bb + 2 + l.itb;
            let big = vec![0u8; (chunk * bs) as usize];
            while b < end {
                let n = (end - b).min(chunk);
                dev.write_at(b as u64 * bs as u64, &big[..(n * bs) as usize])?;
                b += n;
            }
            descs.push(d);
        }

        // The superblock.
        let inodes = l.ipg * l.groups;
        let mut raw = [0u8; SUPERBLOCK_SIZE];
        put32(&mut raw, 0, inodes);
        put32(&mut raw, 4, l.blocks);
        put32(&mut raw, 8, (l.blocks as u64 * opts.reserved_percent as u64 / 100) as u32);
        put32(&mut raw, 12, total_free_blocks as u32);
        put32(&mut raw, 16, inodes - FIRST_INO);
        put32(&mut raw, 20, first);
        let log = bs.trailing_zeros() - 10;
        put32(&mut raw, 24, log);
        put32(&mut raw, 28, log);
        put32(&mut raw, 32, bpg);
        put32(&mut raw, 36, bpg);
        put32(&mut raw, 40, l.ipg);
        put32(&mut raw, 48, now); // wtime
        put16(&mut raw, 54, 0xffff); // max mount count: -1, no forced checks
        put16(&mut raw, 56, MAGIC);
        put16(&mut raw, 58, 1); // clean
        put16(&mut raw, 60, 1); // errors: continue
        put32(&mut raw, 64, now); // last check
        put32(&mut raw, 76, 1); // revision 1
        put32(&mut raw, 84, FIRST_INO);
        put16(&mut raw, 88, opts.inode_size);
        put32(&mut raw, 96, INCOMPAT_FILETYPE);
        put32(&mut raw, 100, RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE);
        let uuid = opts.uuid.unwrap_or_else(|| derive_uuid(now, bytes));
        raw[104..120].copy_from_slice(&uuid);
        raw[120..120 + opts.label.len()].copy_from_slice(&opts.label);
        put32(&mut raw, 264, now); // mkfs time
        if isz >= 160 {
            put16(&mut raw, 348, 32); // min_extra_isize
            put16(&mut raw, 350, 32); // want_extra_isize
        }

        // Superblock and descriptor table in group 0 and each backup group.
        let mut table = vec![0u8; (l.gdt_blocks * bs) as usize];
        for (g, d) in descs.iter().enumerate() {
            table[g * DESC_SIZE..(g + 1) * DESC_SIZE].copy_from_slice(&d.to_bytes());
        }
        for g in (0..l.groups).filter(|&g| has_super(g)) {
            let start = first + g * bpg;
            put16(&mut raw, 90, g as u16);
            let sb_off = if g == 0 { SUPERBLOCK_OFFSET } else { start as u64 * bs as u64 };
            dev.write_at(sb_off, &raw)?;
            dev.write_at((start + 1) as u64 * bs as u64, &table)?;
        }
        put16(&mut raw, 90, 0);

        // Root and lost+found, through the normal inode paths.
        let mut fs = Ext2::open(dev)?;
        fs.set_clock(Box::new(move || now));
        let g0_data = descs[0].inode_table + l.itb;
        fs.init_inode_slot(ROOT_INO)?;
        let mut root = Inode::zeroed();
        root.set_mode(S_IFDIR | 0o755);
        root.set_links(3);
        root.set_size(bs as u64);
        root.set_sectors(bs / 512);
        root.set_block(0, g0_data);
        for t in [Inode::set_atime, Inode::set_mtime, Inode::set_ctime] {
            t(&mut root, now);
        }
        fs.write_inode(ROOT_INO, &root)?;
        let blk = fs.cache.get_zeroed(&mut fs.dev, g0_data as u64)?;
        write_dot_entries(blk, ROOT_INO, ROOT_INO, FileType::Directory.to_dirent());
        // Shrink ".." and append "lost+found".
        put16(blk, 16, 12);
        put32(blk, 24, LOST_FOUND_INO);
        put16(blk, 28, (bs - 24).min(65535) as u16);
        blk[30] = 10;
        blk[31] = FileType::Directory.to_dirent();
        blk[32..42].copy_from_slice(b"lost+found");

        fs.init_inode_slot(LOST_FOUND_INO)?;
        let mut lpf = Inode::zeroed();
        lpf.set_mode(S_IFDIR | 0o700);
        lpf.set_links(2);
        lpf.set_size((lpf_blocks * bs) as u64);
        lpf.set_sectors(lpf_blocks * (bs / 512));
        for t in [Inode::set_atime, Inode::set_mtime, Inode::set_ctime] {
            t(&mut lpf, now);
        }
        for i in 0..lpf_blocks {
            let b = g0_data + 1 + i;
            lpf.set_block(i as usize, b);
            let blk = fs.cache.get_zeroed(&mut fs.dev, b as u64)?;
            if i == 0 {
                write_dot_entries(blk, LOST_FOUND_INO, ROOT_INO, FileType::Directory.to_dirent());
            } else {
                put16(blk, 4, bs.min(65535) as u16);
            }
        }
        fs.write_inode(LOST_FOUND_INO, &lpf)?;
        fs.sync()?;
        fs.set_clock(Box::new(crate::fs::host_clock));
        Ok(fs)
    }
}

/// A version-4-shaped UUID from the time and size (splitmix64), for callers
/// that do not supply one.
fn derive_uuid(now: u32, size: u64) -> [u8; 16] {
    let mut x = (now as u64) << 32 ^ size ^ 0x9E37_79B9_7F4A_7C15;
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(8) {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes());
    }
    out[6] = (out[6] & 0x0f) | 0x40;
    out[8] = (out[8] & 0x3f) | 0x80;
    out
}
