//! devpts, at /dev/pts: one node per terminal (N for /dev/pts/N, the
//! console being 0 when the host's console is a terminal) and `ptmx`.

use std::any::Any;
use std::cell::Cell;
use std::rc::Rc;

use crate::errno::Errno;
use crate::tty::{TtyRegistry, DEVPTS_DEV};
use crate::vfs::{makedev, DirEntry, FileOps, FileType, Inode, InodeRef, Result, Stat, StatFs};

const DEVPTS_SUPER_MAGIC: u64 = 0x1cd1;

pub fn statfs() -> StatFs {
    StatFs { fs_type: DEVPTS_SUPER_MAGIC, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, ..StatFs::generic() }
}

pub struct PtsRoot {
    ttys: Rc<TtyRegistry>,
    /// ptmx's owner, group and permission bits (mode 000, root's, as Linux
    /// mounts devpts by default; root may change them).
    ptmx: Rc<Cell<(u32, u32, u32)>>,
}

pub fn new_root(ttys: Rc<TtyRegistry>) -> InodeRef {
    Rc::new(PtsRoot { ttys, ptmx: Rc::new(Cell::new((0, 0, 0))) })
}

/// /dev/pts/ptmx or /dev/pts/N.
struct PtsNode {
    ttys: Rc<TtyRegistry>,
    /// None: ptmx.
    index: Option<u32>,
    ptmx: Rc<Cell<(u32, u32, u32)>>,
}

impl Inode for PtsRoot {
    fn id(&self) -> (u64, u64) {
        (DEVPTS_DEV, 1)
    }
    fn kind(&self) -> FileType {
        FileType::Directory
    }
    fn stat(&self) -> Result<Stat> {
        Ok(Stat { dev: DEVPTS_DEV, ino: 1, mode: FileType::Directory.mode_bits() | 0o755, nlink: 2, blksize: 1024, ..Default::default() })
    }
    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        if name == b"ptmx" {
            return Ok(Rc::new(PtsNode { ttys: self.ttys.clone(), index: None, ptmx: self.ptmx.clone() }));
        }
        let s = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        // Only canonical numbers: "01" is not /dev/pts/1.
        let n: u32 = s.parse().map_err(|_| Errno::ENOENT)?;
        if n.to_string() != s || self.ttys.pts(n).is_none() {
            return Err(Errno::ENOENT);
        }
        Ok(Rc::new(PtsNode { ttys: self.ttys.clone(), index: Some(n), ptmx: self.ptmx.clone() }))
    }
    fn open(&self, _flags: u32) -> Result<Rc<dyn FileOps>> {
        let mut entries = vec![DirEntry { ino: 2, kind: Some(FileType::CharDev), name: b"ptmx".to_vec() }];
        let mut idx = self.ttys.pts_indices();
        idx.sort_unstable();
        for i in idx {
            entries.push(DirEntry { ino: u64::from(i) + 3, kind: Some(FileType::CharDev), name: i.to_string().into_bytes() });
        }
        Ok(Rc::new(PtsDir(entries)))
    }
    fn statfs(&self) -> Result<StatFs> {
        Ok(statfs())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct PtsDir(Vec<DirEntry>);

impl FileOps for PtsDir {
    fn readdir(&self) -> Result<Vec<DirEntry>> {
        Ok(self.0.clone())
    }
}

impl Inode for PtsNode {
    fn id(&self) -> (u64, u64) {
        (DEVPTS_DEV, self.index.map_or(2, |i| u64::from(i) + 3))
    }
    fn kind(&self) -> FileType {
        FileType::CharDev
    }
    fn stat(&self) -> Result<Stat> {
        match self.index {
            None => Ok(Stat {
                dev: DEVPTS_DEV,
                ino: 2,
                mode: FileType::CharDev.mode_bits() | self.ptmx.get().2,
                uid: self.ptmx.get().0,
                gid: self.ptmx.get().1,
                nlink: 1,
                rdev: makedev(5, 2),
                blksize: 1024,
                ..Default::default()
            }),
            Some(i) => self.ttys.pts(i).map(|t| t.stat()).ok_or(Errno::ENOENT),
        }
    }
    fn chown(&self, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
        match self.index {
            None => {
                let (u, g, p) = self.ptmx.get();
                self.ptmx.set((uid.unwrap_or(u), gid.unwrap_or(g), p));
            }
            Some(i) => self.ttys.pts(i).ok_or(Errno::ENOENT)?.chown(uid, gid),
        }
        Ok(())
    }
    fn chmod(&self, mode: u32) -> Result<()> {
        match self.index {
            None => {
                let (u, g, _) = self.ptmx.get();
                self.ptmx.set((u, g, mode & 0o7777));
            }
            Some(i) => self.ttys.pts(i).ok_or(Errno::ENOENT)?.chmod(mode),
        }
        Ok(())
    }
    fn open(&self, flags: u32) -> Result<Rc<dyn FileOps>> {
        match self.index {
            None => self.ttys.open_ptmx(),
            Some(i) => self.ttys.open_pts(i, flags),
        }
    }
    fn statfs(&self) -> Result<StatFs> {
        Ok(statfs())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
