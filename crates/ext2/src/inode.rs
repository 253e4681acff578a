//! Inodes: the 128-byte base record every revision has, and the metadata the
//! kernel sees.
//!
//! Only the first 128 bytes are interpreted; the extra space of larger inodes
//! (nanosecond times, in-inode xattrs) is left as it is on disk, except that a
//! new inode gets it zeroed with `i_extra_isize` set as the superblock asks.

use crate::bytes::{get16, get32, put16, put32};

pub type Ino = u32;
pub const ROOT_INO: Ino = 2;
pub const INODE_BASE: usize = 128;
pub const N_BLOCKS: usize = 15;
pub const N_DIRECT: usize = 12;
/// i_links_count is 16 bits; Linux ext2 caps at 32000.
pub const LINK_MAX: u16 = 32000;

pub const S_IFMT: u16 = 0o170000;
pub const S_IFSOCK: u16 = 0o140000;
pub const S_IFLNK: u16 = 0o120000;
pub const S_IFREG: u16 = 0o100000;
pub const S_IFBLK: u16 = 0o060000;
pub const S_IFDIR: u16 = 0o040000;
pub const S_IFCHR: u16 = 0o020000;
pub const S_IFIFO: u16 = 0o010000;

/// Hashed-index directory (htree); we read such directories linearly and
/// clear the flag when we change one, so the stale index is never trusted.
pub const INDEX_FL: u32 = 0x1000;
/// Flags whose files we cannot interpret (extents, inline data).
pub const UNSUPPORTED_FL: u32 = 0x0008_0000 | 0x1000_0000;

/// The kind of a file, as directory entries record it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    Unknown,
    Regular,
    Directory,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
    Symlink,
}

impl FileType {
    pub fn from_mode(mode: u16) -> FileType {
        match mode & S_IFMT {
            S_IFREG => FileType::Regular,
            S_IFDIR => FileType::Directory,
            S_IFCHR => FileType::CharDevice,
            S_IFBLK => FileType::BlockDevice,
            S_IFIFO => FileType::Fifo,
            S_IFSOCK => FileType::Socket,
            S_IFLNK => FileType::Symlink,
            _ => FileType::Unknown,
        }
    }

    /// The ext2 directory-entry code (the same numbering as Linux `DT_*` >> 0 is
    /// not: ext2 uses 1..7 in this order).
    pub fn to_dirent(self) -> u8 {
        match self {
            FileType::Unknown => 0,
            FileType::Regular => 1,
            FileType::Directory => 2,
            FileType::CharDevice => 3,
            FileType::BlockDevice => 4,
            FileType::Fifo => 5,
            FileType::Socket => 6,
            FileType::Symlink => 7,
        }
    }

    pub fn from_dirent(t: u8) -> FileType {
        match t {
            1 => FileType::Regular,
            2 => FileType::Directory,
            3 => FileType::CharDevice,
            4 => FileType::BlockDevice,
            5 => FileType::Fifo,
            6 => FileType::Socket,
            7 => FileType::Symlink,
            _ => FileType::Unknown,
        }
    }

    /// Linux `d_type` (DT_REG = 8, DT_DIR = 4, ...), for getdents.
    pub fn to_dt(self) -> u8 {
        match self {
            FileType::Unknown => 0,
            FileType::Fifo => 1,
            FileType::CharDevice => 2,
            FileType::Directory => 4,
            FileType::BlockDevice => 6,
            FileType::Regular => 8,
            FileType::Symlink => 10,
            FileType::Socket => 12,
        }
    }
}

/// What `stat` needs. `rdev` uses the Linux userspace `dev_t` encoding
/// ([`makedev`]); `blocks` counts 512-byte units, as `st_blocks` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    pub ino: Ino,
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub nlink: u16,
    pub atime: u32,
    pub mtime: u32,
    pub ctime: u32,
    pub blocks: u64,
    pub rdev: u64,
    pub file_type: FileType,
}

/// Linux `makedev`: the `dev_t` layout glibc and the kernel's stat use.
pub fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (major as u64, minor as u64);
    (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi & !0xff) << 12) | ((ma & !0xfff) << 32)
}

pub fn major(dev: u64) -> u32 {
    (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32
}

pub fn minor(dev: u64) -> u32 {
    ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32
}

/// An inode's base record. Field accessors read and write the raw bytes, so
/// fields we do not interpret are preserved.
#[derive(Clone)]
pub struct Inode {
    pub raw: [u8; INODE_BASE],
}

impl Inode {
    pub fn zeroed() -> Inode {
        Inode { raw: [0; INODE_BASE] }
    }
    pub fn mode(&self) -> u16 {
        get16(&self.raw, 0)
    }
    pub fn set_mode(&mut self, m: u16) {
        put16(&mut self.raw, 0, m)
    }
    pub fn file_type(&self) -> FileType {
        FileType::from_mode(self.mode())
    }
    pub fn is_dir(&self) -> bool {
        self.mode() & S_IFMT == S_IFDIR
    }
    pub fn is_reg(&self) -> bool {
        self.mode() & S_IFMT == S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.mode() & S_IFMT == S_IFLNK
    }
    pub fn uid(&self) -> u32 {
        get16(&self.raw, 2) as u32 | (get16(&self.raw, 120) as u32) << 16
    }
    pub fn set_uid(&mut self, uid: u32) {
        put16(&mut self.raw, 2, uid as u16);
        put16(&mut self.raw, 120, (uid >> 16) as u16);
    }
    pub fn gid(&self) -> u32 {
        get16(&self.raw, 24) as u32 | (get16(&self.raw, 122) as u32) << 16
    }
    pub fn set_gid(&mut self, gid: u32) {
        put16(&mut self.raw, 24, gid as u16);
        put16(&mut self.raw, 122, (gid >> 16) as u16);
    }
    /// Size; the high half (i_size_high, once i_dir_acl) counts only for
    /// regular files, as ext2 without largedir defines it.
    pub fn size(&self) -> u64 {
        let lo = get32(&self.raw, 4) as u64;
        if self.is_reg() {
            lo | (get32(&self.raw, 108) as u64) << 32
        } else {
            lo
        }
    }
    pub fn set_size(&mut self, size: u64) {
        put32(&mut self.raw, 4, size as u32);
        if self.is_reg() {
            put32(&mut self.raw, 108, (size >> 32) as u32);
        }
    }
    pub fn atime(&self) -> u32 {
        get32(&self.raw, 8)
    }
    pub fn set_atime(&mut self, t: u32) {
        put32(&mut self.raw, 8, t)
    }
    pub fn ctime(&self) -> u32 {
        get32(&self.raw, 12)
    }
    pub fn set_ctime(&mut self, t: u32) {
        put32(&mut self.raw, 12, t)
    }
    pub fn mtime(&self) -> u32 {
        get32(&self.raw, 16)
    }
    pub fn set_mtime(&mut self, t: u32) {
        put32(&mut self.raw, 16, t)
    }
    pub fn dtime(&self) -> u32 {
        get32(&self.raw, 20)
    }
    pub fn set_dtime(&mut self, t: u32) {
        put32(&mut self.raw, 20, t)
    }
    pub fn links(&self) -> u16 {
        get16(&self.raw, 26)
    }
    pub fn set_links(&mut self, n: u16) {
        put16(&mut self.raw, 26, n)
    }
    /// i_blocks: 512-byte sectors in use, including indirect and xattr blocks.
    pub fn sectors(&self) -> u32 {
        get32(&self.raw, 28)
    }
    pub fn set_sectors(&mut self, n: u32) {
        put32(&mut self.raw, 28, n)
    }
    pub fn flags(&self) -> u32 {
        get32(&self.raw, 32)
    }
    pub fn set_flags(&mut self, f: u32) {
        put32(&mut self.raw, 32, f)
    }
    pub fn block(&self, i: usize) -> u32 {
        get32(&self.raw, 40 + 4 * i)
    }
    pub fn set_block(&mut self, i: usize, b: u32) {
        put32(&mut self.raw, 40 + 4 * i, b)
    }
    pub fn file_acl(&self) -> u32 {
        get32(&self.raw, 104)
    }
    pub fn set_file_acl(&mut self, b: u32) {
        put32(&mut self.raw, 104, b)
    }
    pub fn set_generation(&mut self, g: u32) {
        put32(&mut self.raw, 100, g)
    }

    /// The 60 bytes of i_block, which hold a fast symlink's target.
    pub fn block_bytes(&self) -> &[u8] {
        &self.raw[40..100]
    }
    pub fn block_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.raw[40..100]
    }

    /// A fast symlink keeps its target in i_block and owns no data block
    /// (an xattr block may still be counted in i_blocks).
    pub fn is_fast_symlink(&self, block_size: u32) -> bool {
        let acl_sectors = if self.file_acl() != 0 { block_size / 512 } else { 0 };
        self.is_symlink() && self.sectors().saturating_sub(acl_sectors) == 0
    }

    /// Whether i_block holds block pointers (not a device number or a symlink target).
    pub fn has_block_map(&self, block_size: u32) -> bool {
        self.is_reg() || self.is_dir() || (self.is_symlink() && !self.is_fast_symlink(block_size))
    }

    /// Device number: the old 16-bit encoding in i_block[0], or the new one in i_block[1].
    pub fn rdev(&self) -> u64 {
        let old = self.block(0);
        if old != 0 {
            makedev((old >> 8) & 0xff, old & 0xff)
        } else {
            let new = self.block(1);
            makedev((new & 0xfff00) >> 8, (new & 0xff) | ((new >> 12) & 0xfff00))
        }
    }

    pub fn set_rdev(&mut self, dev: u64) {
        let (ma, mi) = (major(dev), minor(dev));
        for i in 0..N_BLOCKS {
            self.set_block(i, 0);
        }
        if ma < 256 && mi < 256 {
            self.set_block(0, (ma << 8) | mi);
        } else {
            self.set_block(1, (mi & 0xff) | (ma << 8) | ((mi & !0xff) << 12));
        }
    }

    pub fn metadata(&self, ino: Ino) -> Metadata {
        let ft = self.file_type();
        let is_dev = matches!(ft, FileType::CharDevice | FileType::BlockDevice);
        Metadata {
            ino,
            mode: self.mode(),
            uid: self.uid(),
            gid: self.gid(),
            size: self.size(),
            nlink: self.links(),
            atime: self.atime(),
            mtime: self.mtime(),
            ctime: self.ctime(),
            blocks: self.sectors() as u64,
            rdev: if is_dev { self.rdev() } else { 0 },
            file_type: ft,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_numbers_round_trip_in_both_encodings() {
        for (ma, mi) in [(1, 3), (8, 0), (255, 255), (256, 0), (300, 70000), (4095, (1 << 20) - 1)] {
            let mut ino = Inode::zeroed();
            ino.set_mode(S_IFCHR);
            ino.set_rdev(makedev(ma, mi));
            // Small numbers use the old 16-bit slot, others the new one.
            assert_eq!(ino.block(0) != 0, ma < 256 && mi < 256 && (ma, mi) != (0, 0));
            assert_eq!((major(ino.rdev()), minor(ino.rdev())), (ma, mi));
        }
    }

    #[test]
    fn ids_and_sizes_use_the_high_halves() {
        let mut ino = Inode::zeroed();
        ino.set_mode(S_IFREG);
        ino.set_uid(0x1234_5678);
        ino.set_gid(0x9abc_def0);
        ino.set_size(5 << 30);
        assert_eq!((ino.uid(), ino.gid(), ino.size()), (0x1234_5678, 0x9abc_def0, 5 << 30));
    }
}
