//! devtmpfs: the device nodes the guest sees at /dev, whatever the host
//! root's own /dev holds. The memory devices, tty and console are nodes
//! with Linux's numbers; stdin/stdout/stderr/fd are the usual symlinks
//! into /proc/self/fd. Any other name (shm, pts, ...) falls through to the
//! covered host directory when there is one. `shm` is a tmpfs of its own
//! (POSIX shared memory and semaphores live there).

use std::any::Any;
use std::rc::Rc;

use crate::dev::mem::MemDevice;
use crate::errno::Errno;
use crate::tty::TtyRegistry;
use crate::vfs::{makedev, DirEntry, FileOps, FileType, Inode, InodeRef, Result, Stat, StatFs};

/// devtmpfs's device number (an anonymous one, as Linux gives it).
pub const DEV: u64 = 5;
const TMPFS_MAGIC: u64 = 0x0102_1994;

/// One fixed node: a character device or a symlink.
#[derive(Clone, Copy)]
enum Node {
    Char { major: u32, minor: u32, perm: u32 },
    Link(&'static [u8]),
}

const NODES: &[(&[u8], Node)] = &[
    (b"null", Node::Char { major: 1, minor: 3, perm: 0o666 }),
    (b"zero", Node::Char { major: 1, minor: 5, perm: 0o666 }),
    (b"full", Node::Char { major: 1, minor: 7, perm: 0o666 }),
    (b"random", Node::Char { major: 1, minor: 8, perm: 0o666 }),
    (b"urandom", Node::Char { major: 1, minor: 9, perm: 0o666 }),
    (b"tty", Node::Char { major: 5, minor: 0, perm: 0o666 }),
    (b"console", Node::Char { major: 5, minor: 1, perm: 0o600 }),
    (b"ptmx", Node::Char { major: 5, minor: 2, perm: 0o666 }),
    (b"stdin", Node::Link(b"/proc/self/fd/0")),
    (b"stdout", Node::Link(b"/proc/self/fd/1")),
    (b"stderr", Node::Link(b"/proc/self/fd/2")),
    (b"fd", Node::Link(b"/proc/self/fd")),
];

/// The root of the devtmpfs, over the host's /dev (if any).
pub struct DevRoot {
    host: Option<InodeRef>,
    shm: Option<InodeRef>,
    ttys: Option<Rc<TtyRegistry>>,
}

/// A devtmpfs root; `host` is the directory it covers, where names it
/// does not define are looked up; `shm` is the filesystem at /dev/shm;
/// with `ttys`, the tty, console and ptmx nodes open its terminals and
/// its devpts is at pts.
pub fn new_root(host: Option<InodeRef>, shm: Option<InodeRef>, ttys: Option<Rc<TtyRegistry>>) -> InodeRef {
    Rc::new(DevRoot { host, shm, ttys })
}

struct DevNode {
    ino: u64,
    node: Node,
    ttys: Option<Rc<TtyRegistry>>,
}

fn dir_stat(ino: u64) -> Stat {
    Stat { dev: DEV, ino, mode: FileType::Directory.mode_bits() | 0o755, nlink: 2, blksize: 4096, ..Default::default() }
}

impl Inode for DevRoot {
    fn id(&self) -> (u64, u64) {
        (DEV, 1)
    }
    fn kind(&self) -> FileType {
        FileType::Directory
    }
    fn stat(&self) -> Result<Stat> {
        Ok(dir_stat(1))
    }
    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        if let Some(i) = NODES.iter().position(|(n, _)| *n == name) {
            return Ok(Rc::new(DevNode { ino: i as u64 + 2, node: NODES[i].1, ttys: self.ttys.clone() }));
        }
        if let (b"pts", Some(t)) = (name, &self.ttys) {
            return Ok(crate::fs::devpts::new_root(t.clone()));
        }
        if let (b"shm", Some(shm)) = (name, &self.shm) {
            return Ok(shm.clone());
        }
        match &self.host {
            Some(h) => h.lookup(name),
            None => Err(Errno::ENOENT),
        }
    }
    fn open(&self, _flags: u32) -> Result<Rc<dyn FileOps>> {
        let host = match &self.host {
            Some(h) => Some(h.open(0)?),
            None => None,
        };
        let shm = self.shm.as_ref().map(|s| DirEntry { ino: s.id().1, kind: Some(FileType::Directory), name: b"shm".to_vec() });
        Ok(Rc::new(DevDirFile { host, shm, pts: self.ttys.is_some() }))
    }
    fn statfs(&self) -> Result<StatFs> {
        Ok(StatFs { fs_type: TMPFS_MAGIC, flags: 0x2 | 0x20, ..StatFs::generic() })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct DevDirFile {
    host: Option<Rc<dyn FileOps>>,
    shm: Option<DirEntry>,
    /// devpts is at pts.
    pts: bool,
}

impl FileOps for DevDirFile {
    fn readdir(&self) -> Result<Vec<DirEntry>> {
        let mut out: Vec<DirEntry> = NODES
            .iter()
            .enumerate()
            .map(|(i, (name, node))| DirEntry {
                ino: i as u64 + 2,
                kind: Some(match node {
                    Node::Char { .. } => FileType::CharDev,
                    Node::Link(_) => FileType::Symlink,
                }),
                name: name.to_vec(),
            })
            .collect();
        out.extend(self.shm.clone());
        if self.pts {
            out.push(DirEntry { ino: NODES.len() as u64 + 2, kind: Some(FileType::Directory), name: b"pts".to_vec() });
        }
        if let Some(h) = &self.host {
            for e in h.readdir()? {
                let shadowed = NODES.iter().any(|(n, _)| *n == e.name.as_slice())
                    || (self.shm.is_some() && e.name == b"shm")
                    || (self.pts && e.name == b"pts");
                if !shadowed {
                    out.push(e);
                }
            }
        }
        Ok(out)
    }
}

impl Inode for DevNode {
    fn id(&self) -> (u64, u64) {
        (DEV, self.ino)
    }
    fn kind(&self) -> FileType {
        match self.node {
            Node::Char { .. } => FileType::CharDev,
            Node::Link(_) => FileType::Symlink,
        }
    }
    fn stat(&self) -> Result<Stat> {
        let (mode, rdev, size) = match self.node {
            Node::Char { major, minor, perm } => (FileType::CharDev.mode_bits() | perm, makedev(major, minor), 0),
            Node::Link(t) => (FileType::Symlink.mode_bits() | 0o777, 0, t.len() as u64),
        };
        Ok(Stat { dev: DEV, ino: self.ino, mode, nlink: 1, rdev, size, blksize: 4096, ..Default::default() })
    }
    fn readlink(&self) -> Result<Vec<u8>> {
        match self.node {
            Node::Link(t) => Ok(t.to_vec()),
            Node::Char { .. } => Err(Errno::EINVAL),
        }
    }
    fn open(&self, flags: u32) -> Result<Rc<dyn FileOps>> {
        match self.node {
            // tty, console, ptmx: the terminals (ENXIO without them, as
            // Linux gives a process without a controlling terminal).
            Node::Char { major: 5, minor, .. } => match &self.ttys {
                Some(t) => t.open_dev(minor, flags),
                None => Err(Errno::ENXIO),
            },
            Node::Char { major, minor, .. } => {
                MemDevice::from_rdev(makedev(major, minor)).map(|d| Rc::new(d) as Rc<dyn FileOps>).ok_or(Errno::ENXIO)
            }
            Node::Link(_) => Err(Errno::ELOOP),
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::{dev_major, dev_minor};

    #[test]
    fn nodes_have_linux_numbers() {
        let root = new_root(None, None, None);
        for (name, ma, mi) in
            [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0), ("console", 5, 1)]
        {
            let st = root.lookup(name.as_bytes()).unwrap().stat().unwrap();
            assert_eq!(st.file_type(), Some(FileType::CharDev), "{name}");
            assert_eq!((dev_major(st.rdev), dev_minor(st.rdev)), (ma, mi), "{name}");
        }
        assert_eq!(root.lookup(b"stdout").unwrap().readlink().unwrap(), b"/proc/self/fd/1");
        assert_eq!(root.lookup(b"nope").err(), Some(Errno::ENOENT));
        let names: Vec<Vec<u8>> = root.open(0).unwrap().readdir().unwrap().into_iter().map(|e| e.name).collect();
        assert!(names.contains(&b"urandom".to_vec()) && names.contains(&b"fd".to_vec()));
    }
}
