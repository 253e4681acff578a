//! The namespace operations the kernel's VFS calls: lookup, create, mkdir,
//! symlink, link, unlink, rmdir, rename, set_attr, evict, statfs.
//!
//! Inodes are named by number, like a VFS backend. Removing the last name of
//! an inode does not free it: the kernel may still have it open, so it calls
//! [`Ext2::evict`] when the last reference goes.

use oxvm_block::BlockDevice;

use crate::bytes::get32;
use crate::dir::NAME_MAX;
use crate::error::{corrupt, Error, Result};
use crate::fs::Ext2;
use crate::inode::*;

/// What [`Ext2::set_attr`] changes; `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct SetAttr {
    /// Permission bits only (the file type cannot change).
    pub mode: Option<u16>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub atime: Option<u32>,
    pub mtime: Option<u32>,
    /// Defaults to now when anything else changes.
    pub ctime: Option<u32>,
    /// Truncates or extends a regular file.
    pub size: Option<u64>,
}

/// Result of [`Ext2::unlink`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unlinked {
    pub ino: Ino,
    /// The link count reached zero: call [`Ext2::evict`] once the file is no longer open.
    pub last_link: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatFs {
    pub block_size: u32,
    pub blocks: u64,
    pub free_blocks: u64,
    /// Free blocks minus the root-reserved ones.
    pub avail_blocks: u64,
    pub files: u64,
    pub free_files: u64,
    pub name_max: u32,
    pub fsid: u64,
}

/// Checks a name for a new entry.
fn check_new_name(name: &[u8]) -> Result<()> {
    if name.is_empty() {
        return Err(Error::NotFound);
    }
    if name.len() > NAME_MAX {
        return Err(Error::NameTooLong);
    }
    if name.contains(&b'/') || name.contains(&0) {
        return Err(Error::Invalid("a file name may not contain '/' or NUL"));
    }
    if name == b"." || name == b".." {
        return Err(Error::Exists);
    }
    Ok(())
}

impl<D: BlockDevice> Ext2<D> {
    /// A directory inode that can take new entries.
    fn live_dir(&mut self, dir: Ino) -> Result<Inode> {
        let d = self.read_inode(dir)?;
        if !d.is_dir() {
            return Err(Error::NotDir);
        }
        if d.links() == 0 {
            // Removed while still open: POSIX says ENOENT for new entries.
            return Err(Error::NotFound);
        }
        Ok(d)
    }

    pub fn lookup(&mut self, dir: Ino, name: &[u8]) -> Result<Ino> {
        let d = self.read_inode(dir)?;
        if !d.is_dir() {
            return Err(Error::NotDir);
        }
        if name.len() > NAME_MAX {
            return Err(Error::NameTooLong);
        }
        match self.find_entry(&d, name)? {
            Some(slot) if slot.ino <= self.sb.inodes_count => Ok(slot.ino),
            Some(slot) => Err(corrupt!("directory {dir} names inode {}", slot.ino)),
            None => Err(Error::NotFound),
        }
    }

    pub fn stat(&mut self, ino: Ino) -> Result<Metadata> {
        Ok(self.read_inode(ino)?.metadata(ino))
    }

    /// Allocates and initialises an inode; the caller links it in.
    fn new_inode(&mut self, parent: Ino, mode: u16, uid: u32, gid: u32) -> Result<(Ino, Inode)> {
        let ino = self.alloc_inode(self.group_of_ino(parent), mode & S_IFMT == S_IFDIR)?;
        self.init_inode_slot(ino)?;
        let mut inode = Inode::zeroed();
        let now = self.now();
        inode.set_mode(mode);
        inode.set_uid(uid);
        inode.set_gid(gid);
        inode.set_atime(now);
        inode.set_mtime(now);
        inode.set_ctime(now);
        inode.set_generation(ino.wrapping_mul(2654435761));
        Ok((ino, inode))
    }

    /// Links a new inode under `name`, undoing the allocation if that fails.
    fn link_new(&mut self, dir: Ino, name: &[u8], ino: Ino, inode: &mut Inode) -> Result<()> {
        // The entry first: if the directory cannot grow, the inode slot is
        // still all zeros and only the bitmaps need undoing.
        if let Err(e) = self.add_entry(dir, name, ino, inode.file_type()) {
            if inode.has_block_map(self.bs) {
                self.free_from(inode, 0)?;
            }
            self.free_inode(ino, inode.is_dir())?;
            return Err(e);
        }
        self.write_inode(ino, inode)
    }

    fn check_absent(&mut self, dir: &Inode, name: &[u8]) -> Result<()> {
        check_new_name(name)?;
        if self.find_entry(dir, name)?.is_some() {
            return Err(Error::Exists);
        }
        Ok(())
    }

    /// Creates a regular file, device node, FIFO or socket (`mode` has the
    /// type bits). `rdev` (Linux dev_t) matters for devices only.
    pub fn create(&mut self, dir: Ino, name: &[u8], mode: u16, uid: u32, gid: u32, rdev: u64) -> Result<Ino> {
        self.check_writable()?;
        let t = mode & S_IFMT;
        if ![S_IFREG, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK].contains(&t) {
            return Err(Error::Invalid("create makes regular files, devices, FIFOs and sockets"));
        }
        let d = self.live_dir(dir)?;
        self.check_absent(&d, name)?;
        let (ino, mut inode) = self.new_inode(dir, mode, uid, gid)?;
        if t == S_IFCHR || t == S_IFBLK {
            inode.set_rdev(rdev);
        }
        inode.set_links(1);
        self.link_new(dir, name, ino, &mut inode)?;
        Ok(ino)
    }

    pub fn mkdir(&mut self, dir: Ino, name: &[u8], mode: u16, uid: u32, gid: u32) -> Result<Ino> {
        self.check_writable()?;
        let mut parent = self.live_dir(dir)?;
        self.check_absent(&parent, name)?;
        if parent.links() >= LINK_MAX {
            return Err(Error::TooManyLinks);
        }
        let (ino, mut inode) = self.new_inode(dir, S_IFDIR | (mode & 0o7777), uid, gid)?;
        let blk = match self.alloc_block(self.inode_goal(ino)) {
            Ok(b) => b,
            Err(e) => {
                self.free_inode(ino, true)?;
                return Err(e);
            }
        };
        let bs = self.bs as usize;
        let ftype = self.dir_ftype(FileType::Directory);
        let data = self.cache.get_zeroed(&mut self.dev, blk as u64)?;
        crate::format::write_dot_entries(data, ino, dir, ftype);
        inode.set_block(0, blk);
        inode.set_sectors(self.bs / 512);
        inode.set_size(bs as u64);
        inode.set_links(2);
        self.link_new(dir, name, ino, &mut inode)?;
        // The child's ".." is a link to the parent.
        parent = self.read_inode(dir)?;
        parent.set_links(parent.links() + 1);
        self.write_inode(dir, &parent)?;
        Ok(ino)
    }

    pub fn symlink(&mut self, dir: Ino, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<Ino> {
        self.check_writable()?;
        if target.is_empty() {
            return Err(Error::NotFound);
        }
        if target.len() >= (self.bs as usize).min(4096) {
            return Err(Error::NameTooLong);
        }
        let d = self.live_dir(dir)?;
        self.check_absent(&d, name)?;
        let (ino, mut inode) = self.new_inode(dir, S_IFLNK | 0o777, uid, gid)?;
        inode.set_links(1);
        inode.set_size(target.len() as u64);
        if target.len() < 60 {
            inode.block_bytes_mut()[..target.len()].copy_from_slice(target);
        } else {
            let blk = match self.alloc_block(self.inode_goal(ino)) {
                Ok(b) => b,
                Err(e) => {
                    self.free_inode(ino, false)?;
                    return Err(e);
                }
            };
            let mut data = vec![0u8; self.bs as usize];
            data[..target.len()].copy_from_slice(target);
            self.dev.write_at(blk as u64 * self.bs as u64, &data)?;
            inode.set_block(0, blk);
            inode.set_sectors(self.bs / 512);
        }
        self.link_new(dir, name, ino, &mut inode)?;
        Ok(ino)
    }

    pub fn readlink(&mut self, ino: Ino) -> Result<Vec<u8>> {
        let inode = self.read_inode(ino)?;
        if !inode.is_symlink() {
            return Err(Error::Invalid("readlink of a file that is not a symbolic link"));
        }
        let size = inode.size() as usize;
        if inode.is_fast_symlink(self.bs) {
            if size > 60 {
                return Err(corrupt!("fast symlink {ino} of {size} bytes"));
            }
            return Ok(inode.block_bytes()[..size].to_vec());
        }
        if size > self.bs as usize {
            return Err(corrupt!("symlink {ino} of {size} bytes"));
        }
        let mut buf = vec![0u8; size];
        let n = self.read_data(&inode, 0, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Adds another name for `ino` (not a directory).
    pub fn link(&mut self, ino: Ino, dir: Ino, name: &[u8]) -> Result<()> {
        self.check_writable()?;
        let mut inode = self.read_inode(ino)?;
        // Linux's order: the new name must be free before the source is judged.
        let d = self.live_dir(dir)?;
        self.check_absent(&d, name)?;
        if inode.is_dir() {
            return Err(Error::NotPermitted);
        }
        if inode.links() == 0 {
            return Err(Error::NotFound);
        }
        if inode.links() >= LINK_MAX {
            return Err(Error::TooManyLinks);
        }
        self.add_entry(dir, name, ino, inode.file_type())?;
        inode = self.read_inode(ino)?;
        inode.set_links(inode.links() + 1);
        let now = self.now();
        inode.set_ctime(now);
        self.write_inode(ino, &inode)
    }

    fn entry_ino(&mut self, dir: Ino, name: &[u8]) -> Result<(Ino, Inode)> {
        let ino = self.lookup(dir, name)?;
        Ok((ino, self.read_inode(ino)?))
    }

    /// Removes a name of a non-directory.
    pub fn unlink(&mut self, dir: Ino, name: &[u8]) -> Result<Unlinked> {
        self.check_writable()?;
        if name == b"." || name == b".." {
            return Err(Error::IsDir);
        }
        let (ino, inode) = self.entry_ino(dir, name)?;
        if inode.is_dir() {
            return Err(Error::IsDir);
        }
        self.remove_entry(dir, name)?;
        let mut inode = self.read_inode(ino)?;
        let was = inode.links();
        let links = was.saturating_sub(1);
        inode.set_links(links);
        let now = self.now();
        inode.set_ctime(now);
        if was == 1 {
            self.push_orphan(ino, &mut inode);
        }
        self.write_inode(ino, &inode)?;
        Ok(Unlinked { ino, last_link: links == 0 })
    }

    /// Removes an empty directory; returns its inode, which now has no links
    /// (call [`Ext2::evict`] when it is no longer in use).
    pub fn rmdir(&mut self, dir: Ino, name: &[u8]) -> Result<Ino> {
        self.check_writable()?;
        if name == b"." {
            return Err(Error::Invalid("rmdir of '.'"));
        }
        if name == b".." {
            return Err(Error::NotEmpty);
        }
        let (ino, inode) = self.entry_ino(dir, name)?;
        if !inode.is_dir() {
            return Err(Error::NotDir);
        }
        if !self.dir_is_empty(&inode)? {
            return Err(Error::NotEmpty);
        }
        self.remove_entry(dir, name)?;
        self.drop_dir_links(ino, dir)?;
        Ok(ino)
    }

    /// A directory lost its name: it has no links, and its ".." no longer
    /// counts as a link of the parent.
    fn drop_dir_links(&mut self, ino: Ino, parent: Ino) -> Result<()> {
        let mut inode = self.read_inode(ino)?;
        let was = inode.links();
        inode.set_links(0);
        let now = self.now();
        inode.set_ctime(now);
        if was != 0 {
            self.push_orphan(ino, &mut inode);
        }
        self.write_inode(ino, &inode)?;
        let mut p = self.read_inode(parent)?;
        p.set_links(p.links().saturating_sub(1).max(1));
        self.write_inode(parent, &p)
    }

    /// Whether `ancestor` is `dir` or one of its ancestors (following "..").
    fn is_ancestor(&mut self, ancestor: Ino, mut dir: Ino) -> Result<bool> {
        // Bounded: a valid tree is at most as deep as there are inodes.
        for _ in 0..self.sb.inodes_count.min(1 << 16) {
            if dir == ancestor {
                return Ok(true);
            }
            if dir == ROOT_INO {
                return Ok(false);
            }
            let d = self.read_inode(dir)?;
            dir = self.find_entry(&d, b"..")?.ok_or_else(|| corrupt!("directory {dir} has no '..'"))?.ino;
        }
        Err(corrupt!("'..' chain does not reach the root"))
    }

    /// Renames with POSIX semantics: an existing target is replaced (a
    /// directory only by a directory, and only if empty). Returns the
    /// replaced inode if that dropped its last link (evict it when unused).
    pub fn rename(&mut self, old_dir: Ino, old_name: &[u8], new_dir: Ino, new_name: &[u8]) -> Result<Option<Ino>> {
        self.check_writable()?;
        for n in [old_name, new_name] {
            if n == b"." || n == b".." {
                return Err(Error::Invalid("rename of '.' or '..'"));
            }
        }
        check_new_name(new_name)?;
        let (ino, src) = self.entry_ino(old_dir, old_name)?;
        let nd = self.live_dir(new_dir)?;
        let src_dir = src.is_dir();
        if src_dir && old_dir != new_dir && self.is_ancestor(ino, new_dir)? {
            return Err(Error::Invalid("a directory cannot move into itself"));
        }
        let mut replaced = None;
        match self.find_entry(&nd, new_name)? {
            Some(slot) if slot.ino == ino => return Ok(None),
            Some(slot) => {
                let target = self.read_inode(slot.ino)?;
                // Linux checks this first: a target that contains the source.
                if target.is_dir() && old_dir != new_dir && self.is_ancestor(slot.ino, old_dir)? {
                    return Err(Error::NotEmpty);
                }
                if src_dir && !target.is_dir() {
                    return Err(Error::NotDir);
                }
                if !src_dir && target.is_dir() {
                    return Err(Error::IsDir);
                }
                if target.is_dir() && !self.dir_is_empty(&target)? {
                    return Err(Error::NotEmpty);
                }
                self.replace_entry(new_dir, new_name, ino, src.file_type())?;
                if target.is_dir() {
                    self.drop_dir_links(slot.ino, new_dir)?;
                    replaced = Some(slot.ino);
                } else {
                    let mut t = self.read_inode(slot.ino)?;
                    let was = t.links();
                    t.set_links(was.saturating_sub(1));
                    let now = self.now();
                    t.set_ctime(now);
                    if was == 1 {
                        self.push_orphan(slot.ino, &mut t);
                    }
                    self.write_inode(slot.ino, &t)?;
                    if t.links() == 0 {
                        replaced = Some(slot.ino);
                    }
                }
            }
            None => {
                if src_dir && old_dir != new_dir && nd.links() >= LINK_MAX {
                    return Err(Error::TooManyLinks);
                }
                self.add_entry(new_dir, new_name, ino, src.file_type())?;
            }
        }
        self.remove_entry(old_dir, old_name)?;
        if src_dir && old_dir != new_dir {
            self.set_dotdot(ino, new_dir)?;
            let mut o = self.read_inode(old_dir)?;
            o.set_links(o.links().saturating_sub(1).max(1));
            self.write_inode(old_dir, &o)?;
            let mut n = self.read_inode(new_dir)?;
            n.set_links(n.links().saturating_add(1));
            self.write_inode(new_dir, &n)?;
        }
        let mut s = self.read_inode(ino)?;
        let now = self.now();
        s.set_ctime(now);
        self.write_inode(ino, &s)?;
        Ok(replaced)
    }

    pub fn set_attr(&mut self, ino: Ino, attr: &SetAttr) -> Result<()> {
        self.check_writable()?;
        if let Some(size) = attr.size {
            self.truncate(ino, size)?;
        }
        let mut inode = self.read_inode(ino)?;
        let mut changed = attr.size.is_some();
        if let Some(m) = attr.mode {
            inode.set_mode((inode.mode() & S_IFMT) | (m & 0o7777));
            changed = true;
        }
        if let Some(u) = attr.uid {
            inode.set_uid(u);
            changed = true;
        }
        if let Some(g) = attr.gid {
            inode.set_gid(g);
            changed = true;
        }
        if let Some(t) = attr.atime {
            inode.set_atime(t);
        }
        if let Some(t) = attr.mtime {
            inode.set_mtime(t);
            changed = true;
        }
        match attr.ctime {
            Some(t) => inode.set_ctime(t),
            None if changed => {
                let now = self.now();
                inode.set_ctime(now);
            }
            None => {}
        }
        self.write_inode(ino, &inode)
    }

    /// Frees an inode whose link count is zero (after unlink/rmdir/rename
    /// and the last close). Does nothing if it still has links.
    pub fn evict(&mut self, ino: Ino) -> Result<()> {
        self.check_writable()?;
        let mut inode = self.read_inode(ino)?;
        // Still linked, never used, or already freed: nothing to do, so a
        // repeated evict is harmless.
        if inode.links() != 0 || inode.mode() == 0 || !self.inode_in_use(ino)? {
            return Ok(());
        }
        self.remove_orphan(ino, &inode)?;
        if inode.has_block_map(self.bs) {
            self.free_from(&mut inode, 0)?;
        }
        self.release_xattr_block(&mut inode)?;
        let now = self.now().max(1);
        inode.set_dtime(now);
        inode.set_size(0);
        let is_dir = inode.is_dir();
        self.dir_hints.remove(&ino);
        self.write_inode(ino, &inode)?;
        self.free_inode(ino, is_dir)
    }

    /// Puts an inode that just lost its last link on the superblock's orphan
    /// list (chained through i_dtime, as ext3/4 and e2fsck define it), so the
    /// next open, or e2fsck, frees it if we stop before [`Ext2::evict`].
    fn push_orphan(&mut self, ino: Ino, inode: &mut Inode) {
        inode.set_dtime(self.sb.last_orphan);
        self.sb.last_orphan = ino;
        self.sb_dirty = true;
    }

    /// Unchains an inode from the orphan list (if it is there).
    fn remove_orphan(&mut self, ino: Ino, inode: &Inode) -> Result<()> {
        let next = inode.dtime();
        if self.sb.last_orphan == ino {
            self.sb.last_orphan = next;
            self.sb_dirty = true;
            return Ok(());
        }
        let mut cur = self.sb.last_orphan;
        for _ in 0..self.sb.inodes_count.min(1 << 20) {
            if cur == 0 || cur > self.sb.inodes_count {
                return Ok(());
            }
            let mut c = self.read_inode(cur)?;
            if c.dtime() == ino {
                c.set_dtime(next);
                return self.write_inode(cur, &c);
            }
            cur = c.dtime();
        }
        Err(corrupt!("the orphan list does not end"))
    }

    /// Frees the inodes a previous session unlinked but never evicted (it
    /// stopped while they were open). Called by `open` on writable mounts.
    pub(crate) fn reclaim_orphans(&mut self) -> Result<usize> {
        let mut freed = 0;
        for _ in 0..self.sb.inodes_count.min(1 << 20) {
            let ino = self.sb.last_orphan;
            if ino == 0 {
                return Ok(freed);
            }
            if ino < self.sb.first_ino || ino > self.sb.inodes_count {
                self.sb.last_orphan = 0;
                self.sb_dirty = true;
                return Err(corrupt!("orphan list names inode {ino}"));
            }
            let inode = self.read_inode(ino)?;
            if inode.links() == 0 && inode.mode() != 0 && self.inode_in_use(ino)? {
                self.evict(ino)?;
                freed += 1;
            } else {
                // Not an orphan after all: just unchain it.
                self.remove_orphan(ino, &inode)?;
                let mut i = inode;
                i.set_dtime(0);
                self.write_inode(ino, &i)?;
            }
        }
        Err(corrupt!("the orphan list does not end"))
    }

    /// Drops this inode's reference to its extended-attribute block (from
    /// images made elsewhere), freeing the block with its last reference.
    fn release_xattr_block(&mut self, inode: &mut Inode) -> Result<()> {
        let b = inode.file_acl();
        if b == 0 {
            return Ok(());
        }
        let phys = self.check_block(b)?;
        let blk = self.cache.get_mut(&mut self.dev, phys)?;
        if get32(blk, 0) != 0xEA02_0000 {
            return Err(corrupt!("extended attribute block {b} has no magic"));
        }
        let refs = get32(blk, 4);
        if refs > 1 {
            blk[4..8].copy_from_slice(&(refs - 1).to_le_bytes());
        } else {
            self.free_blocks(&mut [b])?;
        }
        inode.set_file_acl(0);
        inode.set_sectors(inode.sectors().saturating_sub(self.bs / 512));
        Ok(())
    }

    pub fn statfs(&self) -> StatFs {
        let sb = &self.sb;
        let overhead_free = sb.free_blocks as u64;
        StatFs {
            block_size: self.bs,
            blocks: sb.blocks_count as u64,
            free_blocks: overhead_free,
            avail_blocks: overhead_free.saturating_sub(sb.r_blocks_count as u64),
            files: sb.inodes_count as u64,
            free_files: sb.free_inodes as u64,
            name_max: NAME_MAX as u32,
            fsid: u64::from_le_bytes(sb.uuid[..8].try_into().unwrap_or([0; 8]))
                ^ u64::from_le_bytes(sb.uuid[8..].try_into().unwrap_or([0; 8])),
        }
    }
}
