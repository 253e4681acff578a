//! procfs, for now its static part: files whose content does not depend on
//! which process reads them (/proc/version, /proc/filesystems,
//! /proc/sys/kernel/*). Content is generated on open. The per-process
//! directories (/proc/self, /proc/<pid>) need the kernel's process table
//! and are not here yet: lookups of those names fail with ENOENT, as
//! they did on the empty host directory.

use std::any::Any;
use std::rc::Rc;

use crate::errno::Errno;
use crate::host::Host;
use crate::syscall::system::{MACHINE, NODENAME, RELEASE, SYSNAME, VERSION};
use crate::vfs::{DirEntry, FileOps, FileType, Inode, InodeRef, Io, Result, Stat, StatFs};

/// procfs's device number (anonymous, as on Linux).
const DEV: u64 = 0x16;
const PROC_SUPER_MAGIC: u64 = 0x9fa0;

/// Every path (from the procfs root, "" the root itself) and its
/// directory entries; a path not listed here with children is a file.
const DIRS: &[(&str, &[&str])] = &[
    ("", &["filesystems", "mounts", "sys", "version"]),
    ("sys", &["kernel"]),
    ("sys/kernel", &["hostname", "osrelease", "ostype", "pid_max", "version"]),
];

/// The text of a file, or None when `path` is not one.
fn content(path: &str) -> Option<String> {
    Some(match path {
        "version" => format!("{SYSNAME} version {RELEASE} (oxvm@{NODENAME}) ({MACHINE}) {VERSION}\n"),
        "filesystems" => "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\tpipefs\n\text4\n".to_string(),
        // The root is a host directory; devtmpfs and proc are oxvm's own.
        "mounts" => concat!(
            "/dev/root / ext4 rw,relatime 0 0\n",
            "devtmpfs /dev devtmpfs rw,nosuid,relatime,mode=755 0 0\n",
            "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
        )
        .to_string(),
        "sys/kernel/hostname" => format!("{NODENAME}\n"),
        "sys/kernel/osrelease" => format!("{RELEASE}\n"),
        "sys/kernel/ostype" => format!("{SYSNAME}\n"),
        "sys/kernel/pid_max" => "4194304\n".to_string(),
        "sys/kernel/version" => format!("{VERSION}\n"),
        _ => return None,
    })
}

fn children(path: &str) -> Option<&'static [&'static str]> {
    DIRS.iter().find(|(p, _)| *p == path).map(|(_, c)| *c)
}

/// An inode number per path: its index in a walk of the tree (stable).
fn ino_of(path: &str) -> u64 {
    let mut n = 1;
    for (dir, kids) in DIRS {
        if *dir == path {
            return n;
        }
        n += 1;
        for k in *kids {
            let full = if dir.is_empty() { k.to_string() } else { format!("{dir}/{k}") };
            if full == path && children(&full).is_none() {
                return n;
            }
            n += 1;
        }
    }
    n
}

/// A procfs node, by its path from the procfs root.
pub struct ProcNode {
    path: String,
}

/// The procfs root.
pub fn new_root() -> InodeRef {
    Rc::new(ProcNode { path: String::new() })
}

impl Inode for ProcNode {
    fn id(&self) -> (u64, u64) {
        (DEV, ino_of(&self.path))
    }
    fn kind(&self) -> FileType {
        if children(&self.path).is_some() {
            FileType::Directory
        } else {
            FileType::Regular
        }
    }
    fn stat(&self) -> Result<Stat> {
        let (mode, nlink) = match self.kind() {
            FileType::Directory => (FileType::Directory.mode_bits() | 0o555, 2),
            _ => (FileType::Regular.mode_bits() | 0o444, 1),
        };
        Ok(Stat { dev: DEV, ino: ino_of(&self.path), mode, nlink, blksize: 1024, ..Default::default() })
    }
    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        let kids = children(&self.path).ok_or(Errno::ENOTDIR)?;
        let name = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        if !kids.contains(&name) {
            return Err(Errno::ENOENT);
        }
        let path = if self.path.is_empty() { name.to_string() } else { format!("{}/{name}", self.path) };
        Ok(Rc::new(ProcNode { path }))
    }
    fn open(&self, flags: u32) -> Result<Rc<dyn FileOps>> {
        if let Some(kids) = children(&self.path) {
            let entries = kids
                .iter()
                .map(|k| {
                    let full = if self.path.is_empty() { k.to_string() } else { format!("{}/{k}", self.path) };
                    let kind = if children(&full).is_some() { FileType::Directory } else { FileType::Regular };
                    DirEntry { ino: ino_of(&full), kind: Some(kind), name: k.as_bytes().to_vec() }
                })
                .collect();
            return Ok(Rc::new(ProcDir(entries)));
        }
        if flags & 3 != 0 {
            return Err(Errno::EACCES);
        }
        let text = content(&self.path).ok_or(Errno::ENOENT)?;
        Ok(Rc::new(ProcFile(text.into_bytes())))
    }
    fn statfs(&self) -> Result<StatFs> {
        Ok(StatFs { fs_type: PROC_SUPER_MAGIC, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, ..StatFs::generic() })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct ProcDir(Vec<DirEntry>);

impl FileOps for ProcDir {
    fn readdir(&self) -> Result<Vec<DirEntry>> {
        Ok(self.0.clone())
    }
}

/// A generated file: its text as of the open.
struct ProcFile(Vec<u8>);

impl FileOps for ProcFile {
    fn read(&self, _host: &mut dyn Host, off: u64, buf: &mut [u8]) -> Result<Io> {
        let start = usize::try_from(off).unwrap_or(usize::MAX).min(self.0.len());
        let n = buf.len().min(self.0.len() - start);
        buf[..n].copy_from_slice(&self.0[start..start + n]);
        Ok(Io::Done(n))
    }
    fn seekable(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_walks_and_files_have_text() {
        let root = new_root();
        let k = root.lookup(b"sys").unwrap().lookup(b"kernel").unwrap();
        assert_eq!(k.kind(), FileType::Directory);
        let f = k.lookup(b"ostype").unwrap();
        assert_eq!(f.kind(), FileType::Regular);
        assert_ne!(f.id(), k.id());
        assert_eq!(root.lookup(b"self").err(), Some(Errno::ENOENT));
        assert_eq!(root.lookup(b"version").unwrap().open(1).err(), Some(Errno::EACCES));
        // Every listed file has content.
        for (dir, kids) in DIRS {
            for kid in *kids {
                let full = if dir.is_empty() { kid.to_string() } else { format!("{dir}/{kid}") };
                assert!(children(&full).is_some() || content(&full).is_some(), "{full}");
            }
        }
    }
}
