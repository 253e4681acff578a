//! Directories: linear lists of variable-length records in whole blocks.
//!
//! Record: inode (u32), rec_len (u16), name_len (u8), file_type (u8, used
//! with the filetype feature, ignored without), name. Records
//! tile each block exactly. Directories from mke2fs may carry an htree index;
//! its nodes are disguised as empty records, so a linear walk reads them
//! correctly, and any change clears the index flag so the stale index is
//! never used.
//!
//! Every record is bounds-checked before use; walks are bounded by the
//! directory's block count, which is bounded by the file-system size.

use oxvm_block::BlockDevice;

use crate::bytes::{get16, get32, put16, put32};
use crate::error::{corrupt, Error, Result};
use crate::fs::Ext2;
use crate::inode::{FileType, Ino, Inode, INDEX_FL};

pub const NAME_MAX: usize = 255;

/// One entry returned by [`Ext2::read_dir`]. `next` is the cursor that
/// resumes after this entry (getdents' d_off).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: Vec<u8>,
    pub ino: Ino,
    pub file_type: FileType,
    pub next: u64,
}

struct Rec {
    rec_len: usize,
    ino: u32,
    name_len: usize,
    ftype: u8,
}

/// Where a name was found.
pub(crate) struct Slot {
    lblk: u64,
    phys: u64,
    off: usize,
    prev: Option<usize>,
    pub ino: Ino,
}

fn rec_size(name_len: usize) -> usize {
    (8 + name_len + 3) & !3
}

fn parse_rec(blk: &[u8], off: usize, filetype: bool) -> Result<Rec> {
    let bs = blk.len();
    if off + 8 > bs {
        return Err(corrupt!("directory record at {off} crosses the block end"));
    }
    let mut rec_len = get16(blk, off + 4) as usize;
    if bs == 65536 && (rec_len == 0 || rec_len == 65535) {
        rec_len = 65536;
    }
    // name_len is one byte either way (names are at most 255 bytes); without
    // the filetype feature the next byte is ignored, as Linux does (mke2fs
    // may still fill it in).
    let name_len = blk[off + 6] as usize;
    if rec_len < 8 || !rec_len.is_multiple_of(4) || off + rec_len > bs || 8 + name_len > rec_len {
        return Err(corrupt!("bad directory record at {off}: rec_len {rec_len}, name_len {name_len}"));
    }
    Ok(Rec { rec_len, ino: get32(blk, off), name_len, ftype: if filetype { blk[off + 7] } else { 0 } })
}

fn put_rec_len(blk: &mut [u8], off: usize, rec_len: usize) {
    put16(blk, off + 4, if rec_len >= 65536 { 65535 } else { rec_len as u16 });
}

fn put_rec(blk: &mut [u8], off: usize, ino: Ino, rec_len: usize, name: &[u8], ftype: u8) {
    put32(blk, off, ino);
    put_rec_len(blk, off, rec_len);
    blk[off + 6] = name.len() as u8;
    blk[off + 7] = ftype;
    blk[off + 8..off + 8 + name.len()].copy_from_slice(name);
    let pad_end = (off + rec_size(name.len())).min(off + rec_len);
    blk[off + 8 + name.len()..pad_end].fill(0);
}

impl<D: BlockDevice> Ext2<D> {
    pub(crate) fn dir_ftype(&self, t: FileType) -> u8 {
        if self.sb.has_filetype() {
            t.to_dirent()
        } else {
            0
        }
    }

    /// Blocks in a directory, refusing sizes no valid image has.
    pub(crate) fn dir_nblocks(&self, dir: &Inode) -> Result<u64> {
        let n = dir.size().div_ceil(self.bs as u64);
        if n > self.sb.blocks_count as u64 {
            return Err(corrupt!("directory of {} bytes is larger than the file system", dir.size()));
        }
        Ok(n)
    }

    /// Calls `f(lblk, phys, block)` for each mapped block, stopping when it returns Some.
    fn scan_dir<T>(&mut self, dir: &Inode, f: impl FnMut(u64, u64, &[u8]) -> Result<Option<T>>) -> Result<Option<T>> {
        self.scan_dir_from(dir, 0, f)
    }

    fn scan_dir_from<T>(&mut self, dir: &Inode, from: u64, mut f: impl FnMut(u64, u64, &[u8]) -> Result<Option<T>>) -> Result<Option<T>> {
        let nblocks = self.dir_nblocks(dir)?;
        self.prefetch_dir(dir, from, nblocks)?;
        for lblk in from..nblocks {
            let phys = self.bmap(dir, lblk)?;
            if phys == 0 {
                continue;
            }
            let blk = self.cache.get(&mut self.dev, phys as u64)?;
            if let Some(t) = f(lblk, phys as u64, blk)? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// Announces the directory blocks not yet cached, so a network device
    /// fetches them together instead of one round trip per block.
    fn prefetch_dir(&mut self, dir: &Inode, from: u64, to: u64) -> Result<()> {
        if to.saturating_sub(from) < 2 {
            return Ok(());
        }
        let bs = self.bs as u64;
        let mut ranges: Vec<std::ops::Range<u64>> = Vec::new();
        for lblk in from..to {
            let phys = self.bmap(dir, lblk)? as u64;
            if phys == 0 || self.cache.contains(phys) {
                continue;
            }
            match ranges.last_mut() {
                Some(r) if r.end == phys * bs => r.end += bs,
                _ => ranges.push(phys * bs..(phys + 1) * bs),
            }
        }
        if !ranges.is_empty() {
            self.dev.prefetch(&ranges);
        }
        Ok(())
    }

    pub(crate) fn find_entry(&mut self, dir: &Inode, name: &[u8]) -> Result<Option<Slot>> {
        let ft = self.sb.has_filetype();
        self.scan_dir(dir, |lblk, phys, blk| {
            let mut off = 0;
            let mut prev = None;
            while off < blk.len() {
                let r = parse_rec(blk, off, ft)?;
                if r.ino != 0 && r.name_len == name.len() && &blk[off + 8..off + 8 + r.name_len] == name {
                    return Ok(Some(Slot { lblk, phys, off, prev, ino: r.ino }));
                }
                prev = Some(off);
                off += r.rec_len;
            }
            Ok(None)
        })
    }

    fn set_dir_hint(&mut self, dir: Ino, lblk: u64) {
        // A bounded map: losing hints only costs a rescan.
        if self.dir_hints.len() >= 4096 {
            self.dir_hints.clear();
        }
        self.dir_hints.insert(dir, lblk);
    }

    /// Marks a directory changed: new mtime/ctime, and no htree index any more.
    fn touch_dir(&mut self, dir: &mut Inode) {
        let now = self.now();
        dir.set_mtime(now);
        dir.set_ctime(now);
        if dir.flags() & INDEX_FL != 0 {
            dir.set_flags(dir.flags() & !INDEX_FL);
        }
    }

    /// Adds `name -> ino` to directory `dir_ino` (the caller checked it is absent).
    pub(crate) fn add_entry(&mut self, dir_ino: Ino, name: &[u8], ino: Ino, t: FileType) -> Result<()> {
        let mut dir = self.read_inode(dir_ino)?;
        let need = rec_size(name.len());
        let ft = self.sb.has_filetype();
        let ftype = self.dir_ftype(t);
        // Find a record with room: an empty one, or one with slack after its
        // name. Blocks before the hint were full at the last insert (appending
        // to a big directory would otherwise rescan it every time).
        let from = self.dir_hints.get(&dir_ino).copied().unwrap_or(0);
        let spot = self.scan_dir_from(&dir, from, |lblk, phys, blk| {
            let mut off = 0;
            while off < blk.len() {
                let r = parse_rec(blk, off, ft)?;
                if r.ino == 0 && r.rec_len >= need {
                    return Ok(Some((lblk, phys, off, None)));
                }
                let used = rec_size(r.name_len);
                if r.ino != 0 && r.rec_len >= used + need {
                    return Ok(Some((lblk, phys, off, Some(used))));
                }
                off += r.rec_len;
            }
            Ok(None)
        })?;
        match spot {
            Some((lblk, phys, off, split)) => {
                self.set_dir_hint(dir_ino, lblk);
                let blk = self.cache.get_mut(&mut self.dev, phys)?;
                let rec_len = parse_rec(blk, off, ft)?.rec_len;
                match split {
                    None => put_rec(blk, off, ino, rec_len, name, ftype),
                    Some(used) => {
                        put_rec_len(blk, off, used);
                        put_rec(blk, off + used, ino, rec_len - used, name, ftype);
                    }
                }
            }
            None => {
                // A new block at the end of the directory.
                let lblk = self.dir_nblocks(&dir)?;
                let goal = match lblk.checked_sub(1) {
                    Some(l) => self.bmap(&dir, l)?.saturating_add(1),
                    None => self.inode_goal(dir_ino),
                };
                let phys = self.alloc_block(goal)?;
                if let Err(e) = self.set_bmap(&mut dir, lblk, phys) {
                    self.free_blocks(&mut [phys])?;
                    self.write_inode(dir_ino, &dir)?;
                    return Err(e);
                }
                dir.set_sectors(dir.sectors().saturating_add(self.bs / 512));
                let bs = self.bs as usize;
                let blk = self.cache.get_zeroed(&mut self.dev, phys as u64)?;
                put_rec(blk, 0, ino, bs, name, ftype);
                dir.set_size((lblk + 1) * self.bs as u64);
                self.set_dir_hint(dir_ino, lblk);
            }
        }
        self.touch_dir(&mut dir);
        self.write_inode(dir_ino, &dir)
    }

    /// Removes `name` from `dir_ino`; returns the inode it named.
    pub(crate) fn remove_entry(&mut self, dir_ino: Ino, name: &[u8]) -> Result<Ino> {
        let mut dir = self.read_inode(dir_ino)?;
        let slot = self.find_entry(&dir, name)?.ok_or(Error::NotFound)?;
        // The freed room is worth reusing: scan from here next time.
        if let Some(h) = self.dir_hints.get_mut(&dir_ino) {
            *h = (*h).min(slot.lblk);
        }
        let ft = self.sb.has_filetype();
        let blk = self.cache.get_mut(&mut self.dev, slot.phys)?;
        let rec_len = parse_rec(blk, slot.off, ft)?.rec_len;
        match slot.prev {
            // Fold the record into its predecessor.
            Some(p) => {
                let prev_len = parse_rec(blk, p, ft)?.rec_len;
                put_rec_len(blk, p, prev_len + rec_len);
            }
            // The first record of a block cannot be folded: mark it empty.
            None => put32(blk, slot.off, 0),
        }
        self.touch_dir(&mut dir);
        self.write_inode(dir_ino, &dir)?;
        Ok(slot.ino)
    }

    /// Points the existing entry `name` at another inode (rename over a target).
    pub(crate) fn replace_entry(&mut self, dir_ino: Ino, name: &[u8], ino: Ino, t: FileType) -> Result<()> {
        let mut dir = self.read_inode(dir_ino)?;
        let slot = self.find_entry(&dir, name)?.ok_or(Error::NotFound)?;
        let ftype = self.dir_ftype(t);
        let ft = self.sb.has_filetype();
        let blk = self.cache.get_mut(&mut self.dev, slot.phys)?;
        put32(blk, slot.off, ino);
        if ft {
            blk[slot.off + 7] = ftype;
        }
        self.touch_dir(&mut dir);
        self.write_inode(dir_ino, &dir)
    }

    /// Whether a directory holds nothing but "." and "..".
    pub(crate) fn dir_is_empty(&mut self, dir: &Inode) -> Result<bool> {
        let ft = self.sb.has_filetype();
        let found = self.scan_dir(dir, |_, _, blk| {
            let mut off = 0;
            while off < blk.len() {
                let r = parse_rec(blk, off, ft)?;
                let name = &blk[off + 8..off + 8 + r.name_len];
                if r.ino != 0 && name != b"." && name != b".." {
                    return Ok(Some(()));
                }
                off += r.rec_len;
            }
            Ok(None)
        })?;
        Ok(found.is_none())
    }

    /// Re-points a directory's ".." (a directory moved to another parent).
    pub(crate) fn set_dotdot(&mut self, dir_ino: Ino, parent: Ino) -> Result<()> {
        let dir = self.read_inode(dir_ino)?;
        let slot = self.find_entry(&dir, b"..")?.ok_or_else(|| corrupt!("directory {dir_ino} has no '..'"))?;
        let blk = self.cache.get_mut(&mut self.dev, slot.phys)?;
        put32(blk, slot.off, parent);
        Ok(())
    }

    /// Every entry of directory `ino` (with `.` and `..`), in on-disk order.
    pub fn read_dir_all(&mut self, ino: Ino) -> Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        let mut cursor = 0;
        loop {
            let batch = self.read_dir(ino, cursor, 512)?;
            let Some(last) = batch.last() else { return Ok(out) };
            cursor = last.next;
            out.extend(batch);
        }
    }

    /// Lists up to `max` entries from `cursor` (0 = the start). An empty list
    /// means the end. Cursors stay valid across changes to the directory:
    /// a cursor is a byte offset, and a walk resumes at the first record at
    /// or after it.
    pub fn read_dir(&mut self, ino: Ino, cursor: u64, max: usize) -> Result<Vec<DirEntry>> {
        let dir = self.read_inode(ino)?;
        if !dir.is_dir() {
            return Err(Error::NotDir);
        }
        let bs = self.bs as u64;
        let ft = self.sb.has_filetype();
        let nblocks = self.dir_nblocks(&dir)?;
        let mut out = Vec::new();
        let mut lblk = cursor / bs;
        let mut start = (cursor % bs) as usize;
        while lblk < nblocks && out.len() < max {
            let phys = self.bmap(&dir, lblk)?;
            if phys != 0 {
                let blk = self.cache.get(&mut self.dev, phys as u64)?;
                let mut off = 0;
                while off < blk.len() && out.len() < max {
                    let r = parse_rec(blk, off, ft)?;
                    if r.ino != 0 && off >= start {
                        out.push(DirEntry {
                            name: blk[off + 8..off + 8 + r.name_len].to_vec(),
                            ino: r.ino,
                            file_type: FileType::from_dirent(r.ftype),
                            next: lblk * bs + (off + r.rec_len) as u64,
                        });
                    }
                    off += r.rec_len;
                }
            }
            lblk += 1;
            start = 0;
        }
        if !ft {
            // Without the filetype feature the type comes from the inode.
            for e in &mut out {
                e.file_type = self.read_inode(e.ino)?.file_type();
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_bounds_checked() {
        let mut blk = vec![0u8; 1024];
        put_rec(&mut blk, 0, 2, 12, b".", 2);
        put_rec(&mut blk, 12, 2, 1012, b"..", 2);
        assert_eq!(parse_rec(&blk, 12, true).unwrap().rec_len, 1012);
        // rec_len past the block, below 8, unaligned, or shorter than the name.
        for bad in [2000u16, 4, 14, 8] {
            put16(&mut blk, 16, bad);
            assert!(parse_rec(&blk, 12, true).is_err(), "rec_len {bad}");
        }
        assert!(parse_rec(&blk, 1020, true).is_err());
    }
}
