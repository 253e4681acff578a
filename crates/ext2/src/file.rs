//! File contents: read, write and truncate.
//!
//! Data bypasses the metadata cache: reads gather the physically contiguous
//! runs of the requested range, announce them to the device with `prefetch`
//! (one round trip for a network device), then read each run at once; writes
//! allocate holes in contiguous runs near the file's previous block and write
//! whole runs with one device call.

use std::ops::Range;

use oxvm_block::BlockDevice;

use crate::error::{Error, Result};
use crate::fs::Ext2;
use crate::inode::{Ino, Inode};
use crate::superblock::RO_COMPAT_LARGE_FILE;

/// Largest size ext2 without large_file allows a regular file.
const SMALL_FILE_LIMIT: u64 = (1 << 31) - 1;

impl<D: BlockDevice> Ext2<D> {
    /// Reads up to `buf.len()` bytes at `off`; returns 0 at or past the end.
    /// Holes read as zeros. Access times are not updated (the caller decides).
    pub fn read(&mut self, ino: Ino, off: u64, buf: &mut [u8]) -> Result<usize> {
        let inode = self.read_inode(ino)?;
        if inode.is_dir() {
            return Err(Error::IsDir);
        }
        if !inode.is_reg() {
            return Err(Error::Invalid("read of a file that is not regular"));
        }
        self.read_data(&inode, off, buf)
    }

    /// Announces to the device the data of `ino` in `range` (bytes), as the
    /// physically contiguous runs it occupies: the kernel calls this for a
    /// whole executable on execve or a mapping on mmap, so a network device
    /// fetches it in one go instead of miss by miss. Holes are skipped.
    pub fn prefetch_file(&mut self, ino: Ino, range: Range<u64>) -> Result<()> {
        let inode = self.read_inode(ino)?;
        if !inode.is_reg() {
            return Ok(());
        }
        let bs = self.bs as u64;
        let end = range.end.min(inode.size());
        let mut ranges: Vec<Range<u64>> = Vec::new();
        let mut lblk = range.start / bs;
        let stop = end.div_ceil(bs);
        // A hint, so its cost is bounded: at most 2^18 lookups (holes are
        // skipped a subtree at a time).
        for _ in 0..1 << 18 {
            if lblk >= stop {
                break;
            }
            let (phys, span) = self.bmap_extent(&inode, lblk)?;
            let phys = phys as u64;
            if phys != 0 {
                match ranges.last_mut() {
                    Some(r) if r.end == phys * bs => r.end += bs,
                    _ => ranges.push(phys * bs..(phys + 1) * bs),
                }
            }
            lblk += span.max(1);
        }
        if !ranges.is_empty() {
            self.dev.prefetch(&ranges);
        }
        Ok(())
    }

    pub(crate) fn read_data(&mut self, inode: &Inode, off: u64, buf: &mut [u8]) -> Result<usize> {
        let size = inode.size();
        if off >= size || buf.is_empty() {
            return Ok(0);
        }
        let n = (size - off).min(buf.len() as u64) as usize;
        let bs = self.bs as u64;
        let end = off + n as u64;
        // (file byte range, physical byte offset or None for a hole)
        let mut runs: Vec<(Range<u64>, Option<u64>)> = Vec::new();
        let mut lblk = off / bs;
        while lblk * bs < end {
            let (phys, span) = self.bmap_extent(inode, lblk)?;
            let step = span.clamp(1, (end - lblk * bs).div_ceil(bs));
            let start = (lblk * bs).max(off);
            let stop = ((lblk + step) * bs).min(end);
            let dev_off = (phys != 0).then(|| phys as u64 * bs + (start - lblk * bs));
            match runs.last_mut() {
                Some((r, Some(d))) if dev_off == Some(*d + (r.end - r.start)) => r.end = stop,
                Some((r, None)) if dev_off.is_none() => r.end = stop,
                _ => runs.push((start..stop, dev_off)),
            }
            lblk += step;
        }
        let ranges: Vec<Range<u64>> = runs.iter().filter_map(|(r, d)| d.map(|d| d..d + (r.end - r.start))).collect();
        if ranges.len() > 1 {
            self.dev.prefetch(&ranges);
        }
        for (r, d) in runs {
            let dst = &mut buf[(r.start - off) as usize..(r.end - off) as usize];
            match d {
                Some(d) => self.dev.read_at(d, dst)?,
                None => dst.fill(0),
            }
        }
        Ok(n)
    }

    /// Writes `data` at `off`, extending the file and filling holes. Returns
    /// the bytes written: fewer than asked only when the disk filled up after
    /// some were written (then the short count, as POSIX wants).
    pub fn write(&mut self, ino: Ino, off: u64, data: &[u8]) -> Result<usize> {
        self.check_writable()?;
        let mut inode = self.read_inode(ino)?;
        if inode.is_dir() {
            return Err(Error::IsDir);
        }
        if !inode.is_reg() {
            return Err(Error::Invalid("write to a file that is not regular"));
        }
        if data.is_empty() {
            return Ok(0);
        }
        let end = off.checked_add(data.len() as u64).ok_or(Error::FileTooBig)?;
        if end > self.max_file_size() {
            return Err(Error::FileTooBig);
        }
        match self.write_data(ino, &mut inode, off, data) {
            Ok(n) => {
                let reached = off + n as u64;
                if reached > inode.size() {
                    inode.set_size(reached);
                    self.note_large_file(reached);
                }
                let now = self.now();
                inode.set_mtime(now);
                inode.set_ctime(now);
                self.write_inode(ino, &inode)?;
                Ok(n)
            }
            Err(e) => {
                // Keep whatever blocks did get mapped accounted for.
                self.write_inode(ino, &inode)?;
                Err(e)
            }
        }
    }

    pub(crate) fn note_large_file(&mut self, size: u64) {
        if size > SMALL_FILE_LIMIT && self.sb.feature_ro_compat & RO_COMPAT_LARGE_FILE == 0 {
            self.sb.feature_ro_compat |= RO_COMPAT_LARGE_FILE;
            self.sb_dirty = true;
        }
    }

    /// The write loop; returns bytes written, or NoSpace having written none.
    /// On NoSpace after some progress it returns the progress.
    fn write_data(&mut self, ino: Ino, inode: &mut Inode, off: u64, data: &[u8]) -> Result<usize> {
        let bs = self.bs as u64;
        let end = off + data.len() as u64;
        let mut pos = off;
        let mut goal = self.goal_for(ino, inode, off / bs)?;
        while pos < end {
            let lblk = pos / bs;
            let boff = pos % bs;
            let chunk_end = end.min((lblk + 1) * bs);
            let step = if boff != 0 || chunk_end - pos < bs {
                // A partial block: read-modify-write (or zero-pad a new one).
                let (phys, fresh) = match self.ensure_run(inode, lblk, 1, &mut goal) {
                    Ok(r) => (r.0, r.2),
                    Err(Error::NoSpace) if pos > off => return Ok((pos - off) as usize),
                    Err(e) => return Err(e),
                };
                let mut blk = vec![0u8; bs as usize];
                if !fresh {
                    self.dev.read_at(phys as u64 * bs, &mut blk)?;
                }
                let src = &data[(pos - off) as usize..(chunk_end - off) as usize];
                blk[boff as usize..boff as usize + src.len()].copy_from_slice(src);
                self.dev.write_at(phys as u64 * bs, &blk)?;
                chunk_end - pos
            } else {
                let full = (end - pos) / bs;
                let (phys, k, _) = match self.ensure_run(inode, lblk, full, &mut goal) {
                    Ok(r) => r,
                    Err(Error::NoSpace) if pos > off => return Ok((pos - off) as usize),
                    Err(e) => return Err(e),
                };
                let len = k * bs;
                let src = &data[(pos - off) as usize..(pos - off + len) as usize];
                self.dev.write_at(phys as u64 * bs, src)?;
                len
            };
            pos += step;
        }
        Ok((pos - off) as usize)
    }

    /// Where new blocks for `lblk` should go: right after the previous
    /// logical block's physical block, else the inode's group.
    fn goal_for(&mut self, ino: Ino, inode: &Inode, lblk: u64) -> Result<u32> {
        if lblk > 0 {
            let prev = self.bmap(inode, lblk - 1)?;
            if prev != 0 {
                return Ok(prev + 1);
            }
        }
        Ok(self.inode_goal(ino))
    }

    /// A physically contiguous run of up to `max` blocks starting at logical
    /// block `lblk`: the existing mapping, or new blocks for a hole.
    /// Returns (first physical block, count, newly allocated).
    fn ensure_run(&mut self, inode: &mut Inode, lblk: u64, max: u64, goal: &mut u32) -> Result<(u32, u64, bool)> {
        let max = max.clamp(1, 1 << 16);
        let first = self.bmap(inode, lblk)?;
        if first != 0 {
            let mut k = 1;
            while k < max && self.bmap(inode, lblk + k)? == first.wrapping_add(k as u32) {
                k += 1;
            }
            *goal = first.wrapping_add(k as u32);
            return Ok((first, k, false));
        }
        let mut holes = 1;
        while holes < max && self.bmap(inode, lblk + holes)? == 0 {
            holes += 1;
        }
        self.path_check(lblk + holes - 1)?;
        let (start, n) = self.alloc_blocks(*goal, holes as u32)?;
        inode.set_sectors(inode.sectors().saturating_add(n * (self.bs / 512)));
        for i in 0..n {
            if let Err(e) = self.set_bmap(inode, lblk + i as u64, start + i) {
                // Give back the blocks not yet mapped.
                let mut rest: Vec<u32> = (start + i..start + n).collect();
                inode.set_sectors(inode.sectors().saturating_sub((n - i) * (self.bs / 512)));
                self.free_blocks(&mut rest)?;
                if i == 0 {
                    return Err(e);
                }
                *goal = start + i;
                return Ok((start, i as u64, true));
            }
        }
        *goal = start + n;
        Ok((start, n as u64, true))
    }

    fn path_check(&self, lblk: u64) -> Result<()> {
        if lblk >= self.max_lblocks() {
            return Err(Error::FileTooBig);
        }
        Ok(())
    }

    /// Sets the size of a regular file: shrinking frees the blocks past the
    /// end (indirect ones included) and zeroes the tail of the last block, so
    /// a later extension reads zeros; growing leaves a hole.
    pub fn truncate(&mut self, ino: Ino, size: u64) -> Result<()> {
        self.check_writable()?;
        let mut inode = self.read_inode(ino)?;
        if inode.is_dir() {
            return Err(Error::IsDir);
        }
        if !inode.is_reg() {
            return Err(Error::Invalid("truncate of a file that is not regular"));
        }
        if size > self.max_file_size() {
            return Err(Error::FileTooBig);
        }
        self.truncate_inode(&mut inode, size)?;
        let now = self.now();
        inode.set_mtime(now);
        inode.set_ctime(now);
        self.write_inode(ino, &inode)
    }

    pub(crate) fn truncate_inode(&mut self, inode: &mut Inode, size: u64) -> Result<()> {
        let bs = self.bs as u64;
        if size < inode.size() {
            let keep = size.div_ceil(bs);
            let result = self.free_from(inode, keep);
            if result.is_ok() && !size.is_multiple_of(bs) {
                let phys = self.bmap(inode, size / bs)?;
                if phys != 0 {
                    let tail = vec![0u8; (bs - size % bs) as usize];
                    self.dev.write_at(phys as u64 * bs + size % bs, &tail)?;
                }
            }
            inode.set_size(size);
            result
        } else {
            inode.set_size(size);
            self.note_large_file(size);
            Ok(())
        }
    }
}
