//! ext2 (revision 1), read and write, over an [`oxvm_block::BlockDevice`].
//!
//! Used by the kernel (the root file system of `oxvm run --image`) and by the
//! image builder (`oxvm image build`). Every on-disk structure comes from an
//! untrusted image, so it is parsed through checked views: a corrupt image
//! yields an error, never a panic.
//!
//! The caller's side of the contract:
//! - changes stay in a write-back cache until [`Ext2::sync`];
//! - [`Ext2::unlink`], [`Ext2::rmdir`] and [`Ext2::rename`] leave an inode
//!   whose last link went away allocated (on the orphan list); call
//!   [`Ext2::evict`] once nothing has it open any more (after a crash, the
//!   next writable open frees them);
//! - timestamps come from [`Ext2::set_clock`] (the host clock by default, none
//!   in wasm) and reads never change atime;
//! - names are bytes, at most 255 of them, without '/' or NUL.
//!
//! Layout of the crate: `superblock` and `group` (geometry and counts),
//! `inode` (the inode record and [`Metadata`]), `cache` (metadata write-back
//! cache), `alloc` (bitmaps), `bmap` (block map), `file` (data I/O),
//! `dir` (directory records), `ops` (namespace operations), `format` (mkfs).

mod alloc;
mod bmap;
mod bytes;
mod cache;
mod dir;
mod error;
mod file;
mod format;
mod fs;
mod group;
mod inode;
mod ops;
mod superblock;

pub use dir::{DirEntry, NAME_MAX};
pub use error::{errno, Error, Result};
pub use format::FormatOptions;
pub use fs::{Ext2, DEFAULT_CACHE_BYTES};
pub use inode::{
    major, makedev, minor, FileType, Ino, Metadata, ROOT_INO, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK,
};
pub use ops::{SetAttr, StatFs, Unlinked};
