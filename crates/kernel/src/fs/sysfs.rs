//! sysfs, the part common programs read: the CPU topology (one CPU, its
//! caches as CPUID leaf 4 describes them),
//! transparent hugepage settings, and the usual empty directories
//! (class, fs/cgroup, ...). Read-only, as a container sees it.

use std::any::Any;
use std::rc::Rc;

use crate::errno::Errno;
use crate::host::Host;
use crate::vfs::{DirEntry, FileOps, FileType, Inode, InodeRef, Io, Result, Stat, StatFs};

pub const DEV: u64 = 0x15;
const SYSFS_MAGIC: u64 = 0x6265_6572;

/// Every path (from the sysfs root) and its content; None: a directory.
const TREE: &[(&str, Option<&str>)] = &[
    ("block", None),
    ("bus", None),
    ("class", None),
    ("class/net", None),
    ("class/tty", None),
    ("dev", None),
    ("dev/block", None),
    ("dev/char", None),
    ("devices", None),
    ("devices/system", None),
    ("devices/system/cpu", None),
    ("devices/system/cpu/cpu0", None),
    ("devices/system/cpu/cpu0/cache", None),
    ("devices/system/cpu/cpu0/cache/index0", None),
    ("devices/system/cpu/cpu0/cache/index0/coherency_line_size", Some("64\n")),
    ("devices/system/cpu/cpu0/cache/index0/id", Some("0\n")),
    ("devices/system/cpu/cpu0/cache/index0/level", Some("1\n")),
    ("devices/system/cpu/cpu0/cache/index0/number_of_sets", Some("64\n")),
    ("devices/system/cpu/cpu0/cache/index0/shared_cpu_list", Some("0\n")),
    ("devices/system/cpu/cpu0/cache/index0/shared_cpu_map", Some("1\n")),
    ("devices/system/cpu/cpu0/cache/index0/size", Some("32K\n")),
    ("devices/system/cpu/cpu0/cache/index0/type", Some("Data\n")),
    ("devices/system/cpu/cpu0/cache/index0/ways_of_associativity", Some("8\n")),
    ("devices/system/cpu/cpu0/cache/index1", None),
    ("devices/system/cpu/cpu0/cache/index1/coherency_line_size", Some("64\n")),
    ("devices/system/cpu/cpu0/cache/index1/id", Some("0\n")),
    ("devices/system/cpu/cpu0/cache/index1/level", Some("1\n")),
    ("devices/system/cpu/cpu0/cache/index1/number_of_sets", Some("64\n")),
    ("devices/system/cpu/cpu0/cache/index1/shared_cpu_list", Some("0\n")),
    ("devices/system/cpu/cpu0/cache/index1/shared_cpu_map", Some("1\n")),
    ("devices/system/cpu/cpu0/cache/index1/size", Some("32K\n")),
    ("devices/system/cpu/cpu0/cache/index1/type", Some("Instruction\n")),
    ("devices/system/cpu/cpu0/cache/index1/ways_of_associativity", Some("8\n")),
    ("devices/system/cpu/cpu0/cache/index2", None),
    ("devices/system/cpu/cpu0/cache/index2/coherency_line_size", Some("64\n")),
    ("devices/system/cpu/cpu0/cache/index2/id", Some("0\n")),
    ("devices/system/cpu/cpu0/cache/index2/level", Some("2\n")),
    ("devices/system/cpu/cpu0/cache/index2/number_of_sets", Some("1024\n")),
    ("devices/system/cpu/cpu0/cache/index2/shared_cpu_list", Some("0\n")),
    ("devices/system/cpu/cpu0/cache/index2/shared_cpu_map", Some("1\n")),
    ("devices/system/cpu/cpu0/cache/index2/size", Some("1024K\n")),
    ("devices/system/cpu/cpu0/cache/index2/type", Some("Unified\n")),
    ("devices/system/cpu/cpu0/cache/index2/ways_of_associativity", Some("16\n")),
    ("devices/system/cpu/cpu0/cache/index3", None),
    ("devices/system/cpu/cpu0/cache/index3/coherency_line_size", Some("64\n")),
    ("devices/system/cpu/cpu0/cache/index3/id", Some("0\n")),
    ("devices/system/cpu/cpu0/cache/index3/level", Some("3\n")),
    ("devices/system/cpu/cpu0/cache/index3/number_of_sets", Some("8192\n")),
    ("devices/system/cpu/cpu0/cache/index3/shared_cpu_list", Some("0\n")),
    ("devices/system/cpu/cpu0/cache/index3/shared_cpu_map", Some("1\n")),
    ("devices/system/cpu/cpu0/cache/index3/size", Some("8192K\n")),
    ("devices/system/cpu/cpu0/cache/index3/type", Some("Unified\n")),
    ("devices/system/cpu/cpu0/cache/index3/ways_of_associativity", Some("16\n")),
    ("devices/system/cpu/cpu0/online", Some("1\n")),
    ("devices/system/cpu/cpu0/topology", None),
    ("devices/system/cpu/cpu0/topology/cluster_cpus", Some("1\n")),
    ("devices/system/cpu/cpu0/topology/cluster_cpus_list", Some("0\n")),
    ("devices/system/cpu/cpu0/topology/cluster_id", Some("0\n")),
    ("devices/system/cpu/cpu0/topology/core_cpus", Some("1\n")),
    ("devices/system/cpu/cpu0/topology/core_cpus_list", Some("0\n")),
    ("devices/system/cpu/cpu0/topology/core_id", Some("0\n")),
    ("devices/system/cpu/cpu0/topology/core_siblings", Some("1\n")),
    ("devices/system/cpu/cpu0/topology/core_siblings_list", Some("0\n")),
    ("devices/system/cpu/cpu0/topology/die_cpus", Some("1\n")),
    ("devices/system/cpu/cpu0/topology/die_cpus_list", Some("0\n")),
    ("devices/system/cpu/cpu0/topology/die_id", Some("0\n")),
    ("devices/system/cpu/cpu0/topology/package_cpus", Some("1\n")),
    ("devices/system/cpu/cpu0/topology/package_cpus_list", Some("0\n")),
    ("devices/system/cpu/cpu0/topology/physical_package_id", Some("0\n")),
    ("devices/system/cpu/cpu0/topology/thread_siblings", Some("1\n")),
    ("devices/system/cpu/cpu0/topology/thread_siblings_list", Some("0\n")),
    ("devices/system/cpu/kernel_max", Some("8191\n")),
    ("devices/system/cpu/offline", Some("\n")),
    ("devices/system/cpu/online", Some("0\n")),
    ("devices/system/cpu/possible", Some("0\n")),
    ("devices/system/cpu/present", Some("0\n")),
    ("devices/system/node", None),
    ("firmware", None),
    ("fs", None),
    ("fs/cgroup", None),
    ("kernel", None),
    ("kernel/mm", None),
    ("kernel/mm/transparent_hugepage", None),
    ("kernel/mm/transparent_hugepage/defrag", Some("always defer defer+madvise [madvise] never\n")),
    ("kernel/mm/transparent_hugepage/enabled", Some("always [madvise] never\n")),
    ("kernel/mm/transparent_hugepage/hpage_pmd_size", Some("2097152\n")),
    ("module", None),
    ("power", None),
];

fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

fn base(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

/// The sysfs root.
pub fn new_root() -> InodeRef {
    Rc::new(SysNode { index: None })
}

/// A node by its index in [`TREE`] (None: the root).
struct SysNode {
    index: Option<usize>,
}

impl SysNode {
    fn path(&self) -> &'static str {
        self.index.map_or("", |i| TREE[i].0)
    }
    fn content(&self) -> Option<&'static str> {
        self.index.and_then(|i| TREE[i].1)
    }
    fn ino(&self) -> u64 {
        self.index.map_or(1, |i| i as u64 + 2)
    }
}

impl Inode for SysNode {
    fn id(&self) -> (u64, u64) {
        (DEV, self.ino())
    }
    fn kind(&self) -> FileType {
        if self.content().is_some() {
            FileType::Regular
        } else {
            FileType::Directory
        }
    }
    fn stat(&self) -> Result<Stat> {
        let (mode, size) = match self.content() {
            Some(_) => (FileType::Regular.mode_bits() | 0o444, 4096),
            None => (FileType::Directory.mode_bits() | 0o755, 0),
        };
        let nlink = if self.content().is_some() { 1 } else { 2 };
        Ok(Stat { dev: DEV, ino: self.ino(), mode, nlink, size, blksize: 4096, ..Default::default() })
    }
    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        if self.content().is_some() {
            return Err(Errno::ENOTDIR);
        }
        let name = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        let dir = self.path();
        let i = TREE.iter().position(|(p, _)| parent(p) == dir && base(p) == name).ok_or(Errno::ENOENT)?;
        Ok(Rc::new(SysNode { index: Some(i) }))
    }
    fn open(&self, flags: u32) -> Result<Rc<dyn FileOps>> {
        if let Some(text) = self.content() {
            if flags & 3 != 0 {
                return Err(Errno::EROFS);
            }
            return Ok(Rc::new(SysFile(text)));
        }
        let dir = self.path();
        let entries = TREE
            .iter()
            .enumerate()
            .filter(|(_, (p, _))| parent(p) == dir && !p.is_empty())
            .map(|(i, (p, c))| DirEntry {
                ino: i as u64 + 2,
                kind: Some(if c.is_some() { FileType::Regular } else { FileType::Directory }),
                name: base(p).as_bytes().to_vec(),
            })
            .collect();
        Ok(Rc::new(SysDir(entries)))
    }
    // Mounted read-only, as in a container.
    fn create(&self, _name: &[u8], _mode: u32) -> Result<InodeRef> {
        Err(Errno::EROFS)
    }
    fn mkdir(&self, _name: &[u8], _mode: u32) -> Result<()> {
        Err(Errno::EROFS)
    }
    fn unlink(&self, _name: &[u8]) -> Result<()> {
        Err(Errno::EROFS)
    }
    fn rmdir(&self, _name: &[u8]) -> Result<()> {
        Err(Errno::EROFS)
    }
    fn symlink(&self, _name: &[u8], _target: &[u8]) -> Result<()> {
        Err(Errno::EROFS)
    }
    fn mknod(&self, _name: &[u8], _kind: FileType, _perm: u32, _rdev: u64) -> Result<()> {
        Err(Errno::EROFS)
    }
    fn link(&self, _name: &[u8], _target: &InodeRef) -> Result<()> {
        Err(Errno::EROFS)
    }
    fn rename(&self, _old: &[u8], _new_dir: &InodeRef, _new: &[u8], _flags: u32) -> Result<()> {
        Err(Errno::EROFS)
    }
    fn chmod(&self, _mode: u32) -> Result<()> {
        Err(Errno::EROFS)
    }
    fn chown(&self, _uid: Option<u32>, _gid: Option<u32>) -> Result<()> {
        Err(Errno::EROFS)
    }
    fn set_times(&self, _atime: Option<crate::vfs::Timespec>, _mtime: Option<crate::vfs::Timespec>) -> Result<()> {
        Err(Errno::EROFS)
    }

    fn statfs(&self) -> Result<StatFs> {
        Ok(StatFs {
            fs_type: SYSFS_MAGIC,
            blocks: 0,
            bfree: 0,
            bavail: 0,
            files: 0,
            ffree: 0,
            flags: 0x1 | 0x2 | 0x4 | 0x8 | 0x20,
            ..StatFs::generic()
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct SysDir(Vec<DirEntry>);

impl FileOps for SysDir {
    fn readdir(&self) -> Result<Vec<DirEntry>> {
        Ok(self.0.clone())
    }
}

struct SysFile(&'static str);

impl FileOps for SysFile {
    fn read(&self, _host: &mut dyn Host, off: u64, buf: &mut [u8]) -> Result<Io> {
        let t = self.0.as_bytes();
        let start = usize::try_from(off).unwrap_or(usize::MAX).min(t.len());
        let n = buf.len().min(t.len() - start);
        buf[..n].copy_from_slice(&t[start..start + n]);
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
    fn cpu_files_and_dirs() {
        let root = new_root();
        let cpu = root.lookup(b"devices").unwrap().lookup(b"system").unwrap().lookup(b"cpu").unwrap();
        assert_eq!(cpu.kind(), FileType::Directory);
        let online = cpu.lookup(b"online").unwrap();
        let mut host = crate::tests::TestHost(Default::default());
        let mut buf = [0u8; 16];
        assert_eq!(online.open(0).unwrap().read(&mut host, 0, &mut buf), Ok(Io::Done(2)));
        assert_eq!(&buf[..2], b"0\n");
        let names: Vec<Vec<u8>> = cpu.open(0).unwrap().readdir().unwrap().into_iter().map(|e| e.name).collect();
        assert!(names.contains(&b"cpu0".to_vec()) && names.contains(&b"possible".to_vec()));
        assert_eq!(root.lookup(b"nope").err(), Some(Errno::ENOENT));
        assert_eq!(online.lookup(b"x").err(), Some(Errno::ENOTDIR));
        assert_eq!(online.open(1).err(), Some(Errno::EROFS));
        assert_eq!(cpu.create(b"x", 0o644).err(), Some(Errno::EROFS));
        // Every entry's parent directory is in the tree.
        for (p, _) in TREE {
            let par = parent(p);
            assert!(par.is_empty() || TREE.iter().any(|(q, c)| *q == par && c.is_none()), "{p}");
        }
    }

    #[test]
    fn caches_match_cpuid() {
        for i in 0..4u32 {
            let r = oxvm_cpu::cpuid::cpuid(4, i);
            let ways = (r[1] >> 22) + 1;
            let line = (r[1] & 0xfff) + 1;
            let sets = r[2] + 1;
            let base = format!("devices/system/cpu/cpu0/cache/index{i}");
            let get = |k: &str| TREE.iter().find(|(p, _)| *p == format!("{base}/{k}")).and_then(|(_, c)| *c).unwrap().trim().to_string();
            assert_eq!(get("size"), format!("{}K", ways * line * sets / 1024), "{base}");
            assert_eq!(get("ways_of_associativity"), ways.to_string());
            assert_eq!(get("number_of_sets"), sets.to_string());
            assert_eq!(get("level"), ((r[0] >> 5) & 7).to_string());
        }
    }
}
