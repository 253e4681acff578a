//! procfs: the kernel's state as files. The tree:
//! - global files (`system.rs`): version, cpuinfo, meminfo, stat, uptime,
//!   loadavg, filesystems, sys/*;
//! - `self` and `thread-self` (symlinks to the caller's directories) and
//!   `mounts` (a symlink to self/mounts, as on Linux);
//! - one directory per process (`pid.rs`), with `task/<tid>/` per thread,
//!   `fd/` links (`fd.rs`) and `maps` (`maps.rs`).
//!
//! Nothing here can see a process directly: the kernel keeps a
//! [`ProcRegistry`] up to date (see `registry.rs`). A file's text is made
//! at its first read and kept for the open file (Linux makes it at each
//! read from offset 0; a snapshot per open is what readers see anyway).

mod fd;
mod maps;
mod pid;
pub mod registry;
mod system;

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use crate::errno::Errno;
use crate::host::Host;
use crate::task::Pid;
use crate::vfs::{DirEntry, FileOps, FileType, Inode, InodeRef, Io, Result, Stat, StatFs};

pub use registry::{ExecInfo, ImageSeg, MountEntry, ProcInfo, ProcRegistry, ThreadInfo};

/// procfs's device number (anonymous, as on Linux).
pub const DEV: u64 = 0x16;
const PROC_SUPER_MAGIC: u64 = 0x9fa0;

/// A node of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    /// A directory or file of the static tree, by path ("" is the root).
    Static(&'static str),
    /// `self`, `thread-self`, `mounts`.
    SelfLink,
    ThreadSelfLink,
    MountsLink,
    /// /proc/PID, or /proc/PID/task/TID when the thread is given.
    Pid(Pid, Option<Pid>),
    Task(Pid),
    /// A file or link in a process (or thread) directory.
    PidEntry(Pid, Option<Pid>, &'static str),
    /// fd/ and fdinfo/ and their entries.
    FdDir(Pid, bool),
    Fd(Pid, i32),
    FdInfo(Pid, i32),
}

/// A procfs inode.
pub struct ProcNode {
    reg: Rc<ProcRegistry>,
    node: Node,
}

/// The procfs root, reading the kernel's state from `reg`.
pub fn new_root(reg: Rc<ProcRegistry>) -> InodeRef {
    Rc::new(ProcNode { reg, node: Node::Static("") })
}

/// FNV-1a: inode numbers from a node's description (stable while it
/// exists, distinct in practice).
fn hash_ino(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    (h >> 16) | 2
}

impl ProcNode {
    /// The process whose /proc/PID directory this is (not a thread's
    /// task/TID directory): pidfd_send_signal takes its descriptor.
    pub fn process_dir(&self) -> Option<Pid> {
        match self.node {
            Node::Pid(pid, None) => Some(pid),
            _ => None,
        }
    }

    fn child(&self, node: Node) -> InodeRef {
        Rc::new(ProcNode { reg: self.reg.clone(), node })
    }

    fn ino(&self) -> u64 {
        match &self.node {
            Node::Static("") => 1,
            n => hash_ino(&format!("{n:?}")),
        }
    }

    /// A directory operation's error: `e` on a directory, ENOTDIR else.
    fn dir_err(&self, e: Errno) -> Errno {
        if self.kind() == FileType::Directory {
            e
        } else {
            Errno::ENOTDIR
        }
    }

    /// The process a node belongs to, when it is alive (or a zombie).
    fn proc(&self, pid: Pid) -> Result<Rc<ProcInfo>> {
        self.reg.get(pid).ok_or(Errno::ENOENT)
    }

    /// Whether the caller may look inside `target` (ptrace access: same
    /// user, or root).
    fn may_inspect(&self, target: &ProcInfo) -> bool {
        let me = self.reg.get(self.reg.current().0);
        me.is_none_or(|me| me.creds.euid == 0 || me.creds.euid == target.creds.uid)
    }
}

impl Inode for ProcNode {
    fn id(&self) -> (u64, u64) {
        (DEV, self.ino())
    }

    fn kind(&self) -> FileType {
        match &self.node {
            Node::Static(p) => match system::children(p) {
                Some(_) => FileType::Directory,
                None => FileType::Regular,
            },
            Node::SelfLink | Node::ThreadSelfLink | Node::MountsLink | Node::Fd(..) => FileType::Symlink,
            Node::Pid(..) | Node::Task(_) | Node::FdDir(..) => FileType::Directory,
            Node::PidEntry(_, _, name) => pid::kind(name),
            Node::FdInfo(..) => FileType::Regular,
        }
    }

    fn stat(&self) -> Result<Stat> {
        let kind = self.kind();
        let (perm, owner) = match &self.node {
            Node::Static(_) if kind == FileType::Directory => (0o555, None),
            Node::Static(p) => (system::mode(p), None),
            Node::SelfLink | Node::ThreadSelfLink | Node::MountsLink => (0o777, None),
            Node::Pid(pid, _) | Node::Task(pid) => (0o555, Some(*pid)),
            Node::PidEntry(pid, _, name) => (pid::mode(name), Some(*pid)),
            Node::FdDir(pid, false) => (0o500, Some(*pid)),
            Node::FdDir(pid, true) => (0o555, Some(*pid)),
            Node::Fd(pid, fd) => (fd::link_mode(&*self.proc(*pid)?, *fd)?, Some(*pid)),
            Node::FdInfo(pid, _) => (0o444, Some(*pid)),
        };
        let (uid, gid) = match owner {
            Some(pid) => {
                let p = self.proc(pid)?;
                (p.creds.euid, p.creds.egid)
            }
            None => (0, 0),
        };
        let nlink = if kind == FileType::Directory { 2 } else { 1 };
        let size = match &self.node {
            Node::SelfLink | Node::ThreadSelfLink | Node::MountsLink => self.readlink()?.len() as u64,
            _ => 0,
        };
        // Linux stamps a procfs inode with the time it was made (here: of
        // the syscall looking at it).
        let t = self.reg.now.get();
        Ok(Stat {
            dev: DEV,
            ino: self.ino(),
            mode: kind.mode_bits() | perm,
            nlink,
            uid,
            gid,
            size,
            blksize: 1024,
            atime: t,
            mtime: t,
            ctime: t,
            ..Default::default()
        })
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        let name = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        let node = match &self.node {
            Node::Static("") => match name {
                "self" => Node::SelfLink,
                "thread-self" => Node::ThreadSelfLink,
                "mounts" => Node::MountsLink,
                _ => match name.parse::<Pid>() {
                    // Threads have directories too (not listed, as on Linux).
                    Ok(pid) if name == pid.to_string() => {
                        let p = self.reg.get(pid).or_else(|| self.reg.thread(pid)).ok_or(Errno::ENOENT)?;
                        if p.pid == pid {
                            Node::Pid(pid, None)
                        } else {
                            Node::Pid(p.pid, Some(pid))
                        }
                    }
                    _ => Node::Static(system::child("", name).ok_or(Errno::ENOENT)?),
                },
            },
            Node::Static(p) => Node::Static(system::child(p, name).ok_or(Errno::ENOENT)?),
            Node::Pid(pid, tid) => {
                self.proc(*pid)?;
                let e = pid::entry(name, tid.is_some()).ok_or(Errno::ENOENT)?;
                match e {
                    "task" => Node::Task(*pid),
                    "fd" => Node::FdDir(*pid, false),
                    "fdinfo" => Node::FdDir(*pid, true),
                    _ => Node::PidEntry(*pid, *tid, e),
                }
            }
            Node::Task(pid) => {
                let p = self.proc(*pid)?;
                let tid: Pid = name.parse().map_err(|_| Errno::ENOENT)?;
                if name != tid.to_string() || !p.threads.iter().any(|t| t.tid == tid) {
                    return Err(Errno::ENOENT);
                }
                Node::Pid(*pid, Some(tid))
            }
            Node::FdDir(pid, info) => {
                let p = self.proc(*pid)?;
                if !self.may_inspect(&p) {
                    return Err(Errno::EACCES);
                }
                let fd: i32 = name.parse().map_err(|_| Errno::ENOENT)?;
                let open = p.files.as_ref().is_some_and(|f| f.borrow().get(fd).is_ok());
                if name != fd.to_string() || !open {
                    return Err(Errno::ENOENT);
                }
                if *info {
                    Node::FdInfo(*pid, fd)
                } else {
                    Node::Fd(*pid, fd)
                }
            }
            _ => return Err(Errno::ENOTDIR),
        };
        Ok(self.child(node))
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        let (pid, tid) = self.reg.current();
        match &self.node {
            Node::SelfLink if pid != 0 => Ok(pid.to_string().into_bytes()),
            Node::ThreadSelfLink if pid != 0 => Ok(format!("{pid}/task/{tid}").into_bytes()),
            Node::SelfLink | Node::ThreadSelfLink => Err(Errno::ENOENT),
            Node::MountsLink => Ok(b"self/mounts".to_vec()),
            Node::PidEntry(pid, _, name) => {
                let p = self.proc(*pid)?;
                if !self.may_inspect(&p) {
                    return Err(Errno::EACCES);
                }
                pid::readlink(&p, name)
            }
            Node::Fd(pid, fd) => {
                let p = self.proc(*pid)?;
                if !self.may_inspect(&p) {
                    return Err(Errno::EACCES);
                }
                fd::target(&p, *fd)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn follow_link(&self) -> Option<Result<crate::vfs::Dentry>> {
        // /proc/PID/{cwd,root,exe} and fd/N lead to the object itself,
        // not to whatever their text names (Linux's "magic links").
        let pid = match &self.node {
            Node::Fd(pid, _) | Node::PidEntry(pid, _, "cwd" | "root" | "exe") => *pid,
            _ => return None,
        };
        Some(self.proc(pid).and_then(|p| {
            if !self.may_inspect(&p) {
                return Err(Errno::EACCES);
            }
            match &self.node {
                Node::Fd(_, fd) => fd::follow(&p, *fd),
                Node::PidEntry(_, _, name) => pid::follow(&p, name),
                _ => Err(Errno::EINVAL),
            }
        }))
    }

    fn open(&self, flags: u32) -> Result<Rc<dyn FileOps>> {
        if flags & crate::vfs::file::O_PATH != 0 && self.kind() == FileType::Symlink {
            return Ok(Rc::new(crate::vfs::PathOnly));
        }
        let writing = flags & 3 != 0;
        let file = match &self.node {
            Node::Static(p) => {
                if let Some(kids) = system::children(p) {
                    let mut entries: Vec<DirEntry> =
                        kids.iter().filter_map(|k| Some(self.child(Node::Static(system::child(p, k)?)).dir_entry(k))).collect();
                    if p.is_empty() {
                        for k in ["self", "thread-self", "mounts"] {
                            entries.push(self.child(link_node(k)).dir_entry(k));
                        }
                        for pid in self.reg.pids() {
                            let name = pid.to_string();
                            entries.push(self.child(Node::Pid(pid, None)).dir_entry(&name));
                        }
                    }
                    return Ok(Rc::new(ProcDir(entries)));
                }
                // The sysctls cannot be changed; other files open for
                // writing (root) and refuse the data with EIO, as Linux's.
                if writing && p.starts_with("sys/") {
                    return Err(Errno::EACCES);
                }
                let (reg, path) = (self.reg.clone(), *p);
                let eio: Writer = Box::new(|_: &[u8]| Err(Errno::EIO));
                ProcFile::boxed(Box::new(move |host: &mut dyn Host| system::content(&reg, path, host)), Some(eio))
            }
            Node::Pid(pid, tid) => {
                self.proc(*pid)?;
                let entries = pid::ENTRIES
                    .iter()
                    .filter(|(n, _, _)| !(tid.is_some() && *n == "task"))
                    .map(|(n, _, _)| {
                        let node = match *n {
                            "task" => Node::Task(*pid),
                            "fd" => Node::FdDir(*pid, false),
                            "fdinfo" => Node::FdDir(*pid, true),
                            _ => Node::PidEntry(*pid, *tid, n),
                        };
                        self.child(node).dir_entry(n)
                    })
                    .collect();
                return Ok(Rc::new(ProcDir(entries)));
            }
            Node::Task(pid) => {
                let p = self.proc(*pid)?;
                let entries = p.threads.iter().map(|t| self.child(Node::Pid(*pid, Some(t.tid))).dir_entry(&t.tid.to_string())).collect();
                return Ok(Rc::new(ProcDir(entries)));
            }
            Node::FdDir(pid, info) => {
                let p = self.proc(*pid)?;
                if !self.may_inspect(&p) {
                    return Err(Errno::EACCES);
                }
                // Listed when read, so the descriptor of this very
                // directory is in it, as on Linux.
                let (reg, pid, info) = (self.reg.clone(), *pid, *info);
                let list = move || {
                    let p = reg.get(pid).ok_or(Errno::ENOENT)?;
                    let fds: Vec<i32> = p.files.as_ref().map(|f| f.borrow().fds().collect()).unwrap_or_default();
                    let node = |fd| ProcNode { reg: reg.clone(), node: if info { Node::FdInfo(pid, fd) } else { Node::Fd(pid, fd) } };
                    Ok(fds.into_iter().map(|fd| (Rc::new(node(fd)) as InodeRef).dir_entry(&fd.to_string())).collect())
                };
                return Ok(Rc::new(LazyDir(Box::new(list))));
            }
            Node::FdInfo(pid, fd) => {
                let text = fd::info(&self.reg, &*self.proc(*pid)?, *fd)?;
                ProcFile::boxed(Box::new(move |_: &mut dyn Host| Ok(text.clone().into_bytes())), None)
            }
            Node::PidEntry(pid, tid, name) => {
                let p = self.proc(*pid)?;
                // Another user's environment and memory map need ptrace
                // access (Linux checks at open).
                if matches!(*name, "environ" | "maps") && !self.may_inspect(&p) {
                    return Err(Errno::EACCES);
                }
                // Files without a writer open for writing (the VFS checked
                // the mode) and refuse data with EINVAL, as Linux's.
                let writer = pid::writer(&self.reg, &p, name);
                let (reg, name, tid) = (self.reg.clone(), *name, *tid);
                ProcFile::boxed(Box::new(move |host: &mut dyn Host| pid::content(&reg, &p, tid, name, host)), writer)
            }
            Node::SelfLink | Node::ThreadSelfLink | Node::MountsLink | Node::Fd(..) => return Err(Errno::ELOOP),
        };
        Ok(file)
    }

    // Names cannot be added (ENOENT, as for a name that does not exist)
    // nor removed (EPERM); times may be set and are not kept.
    fn create(&self, _name: &[u8], _mode: u32) -> Result<InodeRef> {
        Err(self.dir_err(Errno::ENOENT))
    }
    fn mkdir(&self, _name: &[u8], _mode: u32) -> Result<()> {
        Err(self.dir_err(Errno::ENOENT))
    }
    fn symlink(&self, _name: &[u8], _target: &[u8]) -> Result<()> {
        Err(self.dir_err(Errno::ENOENT))
    }
    fn mknod(&self, _name: &[u8], _kind: FileType, _perm: u32, _rdev: u64) -> Result<()> {
        Err(self.dir_err(Errno::ENOENT))
    }
    fn link(&self, _name: &[u8], _target: &InodeRef) -> Result<()> {
        Err(self.dir_err(Errno::ENOENT))
    }
    fn rename(&self, _old: &[u8], _new_dir: &InodeRef, _new: &[u8], _flags: u32) -> Result<()> {
        Err(self.dir_err(Errno::ENOENT))
    }
    fn unlink(&self, _name: &[u8]) -> Result<()> {
        Err(self.dir_err(Errno::EPERM))
    }
    fn rmdir(&self, _name: &[u8]) -> Result<()> {
        Err(self.dir_err(Errno::EPERM))
    }
    fn set_times(&self, _atime: Option<crate::vfs::Timespec>, _mtime: Option<crate::vfs::Timespec>) -> Result<()> {
        Ok(())
    }

    fn statfs(&self) -> Result<StatFs> {
        Ok(StatFs { fs_type: PROC_SUPER_MAGIC, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, ..StatFs::generic() })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn link_node(name: &str) -> Node {
    match name {
        "self" => Node::SelfLink,
        "thread-self" => Node::ThreadSelfLink,
        _ => Node::MountsLink,
    }
}

trait AsDirEntry {
    fn dir_entry(&self, name: &str) -> DirEntry;
}

impl AsDirEntry for InodeRef {
    fn dir_entry(&self, name: &str) -> DirEntry {
        DirEntry { ino: self.id().1, kind: Some(self.kind()), name: name.as_bytes().to_vec() }
    }
}

struct ProcDir(Vec<DirEntry>);

/// A directory whose entries are made when it is read.
struct LazyDir(Box<dyn Fn() -> Result<Vec<DirEntry>>>);

impl FileOps for LazyDir {
    fn readdir(&self) -> Result<Vec<DirEntry>> {
        (self.0)()
    }
}

impl FileOps for ProcDir {
    fn readdir(&self) -> Result<Vec<DirEntry>> {
        Ok(self.0.clone())
    }
}

type Generator = Box<dyn Fn(&mut dyn Host) -> Result<Vec<u8>>>;
/// What a write to the file does (comm, oom_score_adj).
pub(crate) type Writer = Box<dyn Fn(&[u8]) -> Result<usize>>;

/// A generated file: its text is made at the first read and kept.
struct ProcFile {
    gen: Generator,
    text: RefCell<Option<Vec<u8>>>,
    writer: Option<Writer>,
}

impl ProcFile {
    fn boxed(gen: Generator, writer: Option<Writer>) -> Rc<dyn FileOps> {
        Rc::new(ProcFile { gen, text: RefCell::new(None), writer })
    }
}

impl FileOps for ProcFile {
    fn read(&self, host: &mut dyn Host, off: u64, buf: &mut [u8]) -> Result<Io> {
        if self.text.borrow().is_none() {
            let t = (self.gen)(host)?;
            *self.text.borrow_mut() = Some(t);
        }
        let text = self.text.borrow();
        let text = text.as_deref().unwrap_or_default();
        let start = usize::try_from(off).unwrap_or(usize::MAX).min(text.len());
        let n = buf.len().min(text.len() - start);
        buf[..n].copy_from_slice(&text[start..start + n]);
        Ok(Io::Done(n))
    }
    fn write(&self, _host: &mut dyn Host, _off: u64, data: &[u8]) -> Result<Io> {
        match &self.writer {
            Some(w) => w(data).map(Io::Done),
            None => Err(Errno::EINVAL),
        }
    }
    fn seekable(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
