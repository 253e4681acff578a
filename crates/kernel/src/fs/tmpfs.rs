//! tmpfs: a filesystem in memory. Regular files keep their bytes in a
//! `Vec`, directories a sorted map of names to inodes (so hard links are
//! two names for one `Rc`), symlinks their target. Ownership of new files
//! and the sticky-bit rule need to know who is calling, and times need a
//! clock: both come from a [`Caller`] the kernel provides (procfs's
//! registry knows the calling process and the time of the syscall).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::errno::Errno;
use crate::host::Host;
use crate::vfs::{DirEntry, FileOps, FileType, Inode, InodeRef, Io, Result, Stat, StatFs, Timespec, RENAME_EXCHANGE, RENAME_NOREPLACE};

pub const TMPFS_MAGIC: u64 = 0x0102_1994;
const PAGE: u64 = 4096;
const S_ISVTX: u32 = 0o1000;

/// Who makes the current call, and when.
pub trait Caller {
    /// The caller's filesystem (uid, gid).
    fn creds(&self) -> (u32, u32);
    fn now(&self) -> Timespec;
}

/// A caller for tests and kernels without processes: root, at time 0.
pub struct Root;

impl Caller for Root {
    fn creds(&self) -> (u32, u32) {
        (0, 0)
    }
    fn now(&self) -> Timespec {
        Timespec::default()
    }
}

/// One mounted tmpfs.
struct Super {
    dev: u64,
    next_ino: Cell<u64>,
    /// Size limit and bytes in use (file data, rounded to pages).
    max_bytes: u64,
    used: Cell<u64>,
    /// Mounted nodev: device nodes cannot be opened (EACCES).
    nodev: bool,
    caller: Rc<dyn Caller>,
}

/// Anonymous device numbers for tmpfs instances (Linux's 0:N).
static NEXT_DEV: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0x30);

/// A device number of its own for a new in-memory filesystem (tmpfs,
/// webfs): Linux gives these anonymous devices major 0.
pub fn new_dev() -> u64 {
    u64::from(NEXT_DEV.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    rdev: u64,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
}

enum Body {
    File(Vec<u8>),
    Dir(BTreeMap<Vec<u8>, Rc<Inner>>),
    Link(Vec<u8>),
    /// A device node, FIFO or socket (mknod): metadata only.
    Special,
}

struct Inner {
    sb: Rc<Super>,
    ino: u64,
    meta: RefCell<Meta>,
    body: RefCell<Body>,
    /// An O_TMPFILE file (without O_EXCL): with no links it may still be
    /// given a name. Other files with no links (removed, memfds) may not.
    linkable: Cell<bool>,
}

/// A tmpfs inode (a handle on the shared inner node).
pub struct Node(Rc<Inner>);

/// A new, empty tmpfs whose root has permissions `mode`, limited to
/// `max_bytes` of file data; `nodev` as the mount option.
pub fn new_root(mode: u32, max_bytes: u64, nodev: bool, caller: Rc<dyn Caller>) -> InodeRef {
    let dev = new_dev();
    let sb = Rc::new(Super { dev, next_ino: Cell::new(2), max_bytes, used: Cell::new(0), nodev, caller });
    let now = sb.caller.now();
    let meta = Meta {
        mode: FileType::Directory.mode_bits() | (mode & 0o7777),
        uid: 0,
        gid: 0,
        nlink: 2,
        rdev: 0,
        atime: now,
        mtime: now,
        ctime: now,
    };
    Rc::new(Node(Rc::new(Inner {
        sb,
        ino: 1,
        meta: RefCell::new(meta),
        body: RefCell::new(Body::Dir(BTreeMap::new())),
        linkable: Cell::new(false),
    })))
}

fn pages(n: u64) -> u64 {
    n.div_ceil(PAGE) * PAGE
}

impl Inner {
    fn kind(&self) -> FileType {
        FileType::from_mode(self.meta.borrow().mode).unwrap_or(FileType::Regular)
    }

    fn is_dir(&self) -> bool {
        matches!(*self.body.borrow(), Body::Dir(_))
    }

    fn new_node(self: &Rc<Self>, mode: u32, rdev: u64, body: Body) -> Rc<Inner> {
        let sb = self.sb.clone();
        let ino = sb.next_ino.get();
        sb.next_ino.set(ino + 1);
        let (uid, mut gid) = sb.caller.creds();
        // A set-group-ID directory gives its group to what is made in it.
        let pm = self.meta.borrow();
        let mut mode = mode;
        if pm.mode & 0o2000 != 0 {
            gid = pm.gid;
            if FileType::from_mode(mode) == Some(FileType::Directory) {
                mode |= 0o2000;
            }
        }
        drop(pm);
        let now = sb.caller.now();
        let nlink = if FileType::from_mode(mode) == Some(FileType::Directory) { 2 } else { 1 };
        let meta = Meta { mode, uid, gid, nlink, rdev, atime: now, mtime: now, ctime: now };
        Rc::new(Inner { sb, ino, meta: RefCell::new(meta), body: RefCell::new(body), linkable: Cell::new(false) })
    }

    fn touch_dir(&self) {
        let now = self.sb.caller.now();
        let mut m = self.meta.borrow_mut();
        m.mtime = now;
        m.ctime = now;
    }

    fn get(&self, name: &[u8]) -> Result<Rc<Inner>> {
        match &*self.body.borrow() {
            Body::Dir(d) => d.get(name).cloned().ok_or(Errno::ENOENT),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Add `name` -> `node` (which must not exist).
    fn insert(&self, name: &[u8], node: Rc<Inner>) -> Result<()> {
        let sub = node.is_dir();
        match &mut *self.body.borrow_mut() {
            Body::Dir(d) => {
                if d.contains_key(name) {
                    return Err(Errno::EEXIST);
                }
                d.insert(name.to_vec(), node);
            }
            _ => return Err(Errno::ENOTDIR),
        }
        if sub {
            self.meta.borrow_mut().nlink += 1;
        }
        self.touch_dir();
        Ok(())
    }

    /// The sticky-bit rule: in a sticky directory only the file's owner,
    /// the directory's owner or root may remove or rename an entry.
    fn may_remove(&self, child: &Inner) -> Result<()> {
        let (uid, _) = self.sb.caller.creds();
        let dm = self.meta.borrow();
        if dm.mode & S_ISVTX != 0 && uid != 0 && uid != dm.uid && uid != child.meta.borrow().uid {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    /// Remove `name`, returning its node.
    fn take(&self, name: &[u8]) -> Result<Rc<Inner>> {
        let node = match &mut *self.body.borrow_mut() {
            Body::Dir(d) => d.remove(name).ok_or(Errno::ENOENT)?,
            _ => return Err(Errno::ENOTDIR),
        };
        if node.is_dir() {
            self.meta.borrow_mut().nlink -= 1;
        }
        self.touch_dir();
        Ok(node)
    }

    fn is_empty_dir(&self) -> bool {
        matches!(&*self.body.borrow(), Body::Dir(d) if d.is_empty())
    }

    /// Whether `other` is this directory or lies below it.
    fn contains(&self, other: &Inner) -> bool {
        if self.ino == other.ino {
            return true;
        }
        match &*self.body.borrow() {
            Body::Dir(d) => d.values().any(|c| c.is_dir() && c.contains(other)),
            _ => false,
        }
    }

    fn drop_link(&self) {
        let mut m = self.meta.borrow_mut();
        m.nlink = if self.is_dir() { 0 } else { m.nlink.saturating_sub(1) };
        m.ctime = self.sb.caller.now();
    }

    fn stat(&self) -> Stat {
        let m = self.meta.borrow();
        let size = match &*self.body.borrow() {
            Body::File(v) => v.len() as u64,
            Body::Link(t) => t.len() as u64,
            Body::Dir(d) => 40 + 20 * d.len() as u64,
            Body::Special => 0,
        };
        let blocks = if matches!(&*self.body.borrow(), Body::File(_)) { pages(size) / 512 } else { 0 };
        Stat {
            dev: self.sb.dev,
            ino: self.ino,
            mode: m.mode,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
            rdev: m.rdev,
            size,
            blksize: PAGE,
            blocks,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
            btime: None,
        }
    }

    fn set_len(&self, len: u64) -> Result<()> {
        let mut b = self.body.borrow_mut();
        let Body::File(v) = &mut *b else { return Err(Errno::EINVAL) };
        let len = usize::try_from(len).map_err(|_| Errno::EFBIG)?;
        let (old, new) = (pages(v.len() as u64), pages(len as u64));
        if new > old {
            let used = self.sb.used.get();
            if used + (new - old) > self.sb.max_bytes {
                return Err(Errno::ENOSPC);
            }
            self.sb.used.set(used + (new - old));
        } else {
            self.sb.used.set(self.sb.used.get().saturating_sub(old - new));
        }
        v.resize(len, 0);
        drop(b);
        let now = self.sb.caller.now();
        let mut m = self.meta.borrow_mut();
        m.mtime = now;
        m.ctime = now;
        Ok(())
    }

    fn write(&self, off: u64, data: &[u8]) -> Result<usize> {
        let end = off.checked_add(data.len() as u64).filter(|&e| e <= i64::MAX as u64).ok_or(Errno::EFBIG)?;
        let cur = match &*self.body.borrow() {
            Body::File(v) => v.len() as u64,
            _ => return Err(Errno::EINVAL),
        };
        if end > cur {
            self.set_len(end)?;
        }
        if let Body::File(v) = &mut *self.body.borrow_mut() {
            v[off as usize..end as usize].copy_from_slice(data);
        }
        let now = self.sb.caller.now();
        let mut m = self.meta.borrow_mut();
        m.mtime = now;
        m.ctime = now;
        // Writing clears set-user-ID (and set-group-ID with group exec).
        if m.mode & 0o4000 != 0 || m.mode & 0o2010 == 0o2010 {
            m.mode &= !0o6000;
        }
        Ok(data.len())
    }

    fn read(&self, off: u64, buf: &mut [u8]) -> usize {
        match &*self.body.borrow() {
            Body::File(v) => {
                let start = usize::try_from(off).unwrap_or(usize::MAX).min(v.len());
                let n = buf.len().min(v.len() - start);
                buf[..n].copy_from_slice(&v[start..start + n]);
                n
            }
            _ => 0,
        }
    }
}

/// The data of a file lives while a name or an open file refers to it
/// (unlinked but open files keep their space, as on Linux).
impl Drop for Inner {
    fn drop(&mut self) {
        if let Body::File(v) = &*self.body.borrow() {
            self.sb.used.set(self.sb.used.get().saturating_sub(pages(v.len() as u64)));
        }
    }
}

fn same_fs(a: &Inner, other: &InodeRef) -> Result<Rc<Inner>> {
    let n = other.as_any().downcast_ref::<Node>().ok_or(Errno::EXDEV)?;
    if !Rc::ptr_eq(&a.sb, &n.0.sb) {
        return Err(Errno::EXDEV);
    }
    Ok(n.0.clone())
}

fn wrap(i: Rc<Inner>) -> InodeRef {
    Rc::new(Node(i))
}

/// A regular file of the tmpfs `root` belongs to that no directory holds
/// (link count 0, as memfd_create(2) makes): it lives while it is open.
pub fn new_unlinked_file(root: &InodeRef, mode: u32) -> Result<InodeRef> {
    let dir = root.as_any().downcast_ref::<Node>().ok_or(Errno::EINVAL)?;
    let node = dir.0.new_node(FileType::Regular.mode_bits() | (mode & 0o7777), 0, Body::File(Vec::new()));
    node.meta.borrow_mut().nlink = 0;
    Ok(wrap(node))
}

impl Inode for Node {
    fn id(&self) -> (u64, u64) {
        (self.0.sb.dev, self.0.ino)
    }
    fn kind(&self) -> FileType {
        self.0.kind()
    }
    fn stat(&self) -> Result<Stat> {
        Ok(self.0.stat())
    }
    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        self.0.get(name).map(wrap)
    }
    fn readlink(&self) -> Result<Vec<u8>> {
        match &*self.0.body.borrow() {
            Body::Link(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }
    fn open(&self, flags: u32) -> Result<Rc<dyn FileOps>> {
        if flags & crate::vfs::file::O_PATH != 0 {
            return Ok(Rc::new(crate::vfs::PathOnly));
        }
        match self.0.kind() {
            FileType::Directory | FileType::Regular => {}
            FileType::CharDev | FileType::BlockDev if self.0.sb.nodev => return Err(Errno::EACCES),
            FileType::CharDev => {
                let rdev = self.0.meta.borrow().rdev;
                return crate::dev::mem::MemDevice::from_rdev(rdev).map(|d| Rc::new(d) as Rc<dyn FileOps>).ok_or(Errno::ENXIO);
            }
            // FIFOs and sockets made by mknod cannot be opened yet (a FIFO
            // needs a pipe shared by its openers).
            _ => return Err(Errno::ENXIO),
        }
        if flags & crate::vfs::file::O_TRUNC != 0 && flags & 3 != 0 && self.0.kind() == FileType::Regular {
            self.0.set_len(0)?;
        }
        Ok(Rc::new(TmpFile(self.0.clone())))
    }
    fn create(&self, name: &[u8], mode: u32) -> Result<InodeRef> {
        if self.0.get(name).is_ok() {
            return Err(Errno::EEXIST);
        }
        let node = self.0.new_node(FileType::Regular.mode_bits() | (mode & 0o7777), 0, Body::File(Vec::new()));
        self.0.insert(name, node.clone())?;
        Ok(wrap(node))
    }
    fn mkdir(&self, name: &[u8], mode: u32) -> Result<()> {
        let node = self.0.new_node(FileType::Directory.mode_bits() | (mode & 0o7777), 0, Body::Dir(BTreeMap::new()));
        self.0.insert(name, node)
    }
    fn unlink(&self, name: &[u8]) -> Result<()> {
        let child = self.0.get(name)?;
        if child.is_dir() {
            return Err(Errno::EISDIR);
        }
        self.0.may_remove(&child)?;
        self.0.take(name)?.drop_link();
        Ok(())
    }
    fn rmdir(&self, name: &[u8]) -> Result<()> {
        let child = self.0.get(name)?;
        if !child.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !child.is_empty_dir() {
            return Err(Errno::ENOTEMPTY);
        }
        self.0.may_remove(&child)?;
        self.0.take(name)?.drop_link();
        Ok(())
    }
    fn symlink(&self, name: &[u8], target: &[u8]) -> Result<()> {
        let node = self.0.new_node(FileType::Symlink.mode_bits() | 0o777, 0, Body::Link(target.to_vec()));
        self.0.insert(name, node)
    }
    fn mknod(&self, name: &[u8], kind: FileType, perm: u32, rdev: u64) -> Result<()> {
        if kind == FileType::Regular {
            return self.create(name, perm).map(|_| ());
        }
        let node = self.0.new_node(kind.mode_bits() | (perm & 0o7777), rdev, Body::Special);
        self.0.insert(name, node)
    }
    fn tmpfile(&self, mode: u32, linkable: bool) -> Result<InodeRef> {
        if !self.0.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let node = self.0.new_node(FileType::Regular.mode_bits() | (mode & 0o7777), 0, Body::File(Vec::new()));
        node.meta.borrow_mut().nlink = 0;
        node.linkable.set(linkable);
        Ok(wrap(node))
    }
    fn link(&self, name: &[u8], target: &InodeRef) -> Result<()> {
        let t = same_fs(&self.0, target)?;
        if t.is_dir() {
            return Err(Errno::EPERM);
        }
        // A removed file (or a memfd) cannot be given a name again; an
        // O_TMPFILE file can, once.
        if t.meta.borrow().nlink == 0 && !t.linkable.replace(false) {
            return Err(Errno::ENOENT);
        }
        self.0.insert(name, t.clone())?;
        let mut m = t.meta.borrow_mut();
        m.nlink += 1;
        m.ctime = t.sb.caller.now();
        Ok(())
    }
    fn rename(&self, old: &[u8], new_dir: &InodeRef, new: &[u8], flags: u32) -> Result<()> {
        let dst = same_fs(&self.0, new_dir)?;
        if !dst.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let src = self.0.get(old)?;
        let existing = dst.get(new).ok();
        self.0.may_remove(&src)?;
        if let Some(e) = &existing {
            dst.may_remove(e)?;
        }
        if flags & RENAME_EXCHANGE != 0 {
            let e = existing.ok_or(Errno::ENOENT)?;
            // Neither may end up inside itself.
            if (src.is_dir() && src.contains(&dst)) || (e.is_dir() && e.contains(&self.0)) {
                return Err(Errno::EINVAL);
            }
            if Rc::ptr_eq(&src, &e) {
                return Ok(());
            }
            self.0.take(old)?;
            dst.take(new)?;
            dst.insert(new, src)?;
            self.0.insert(old, e)?;
            return Ok(());
        }
        if src.is_dir() && src.contains(&dst) {
            return Err(Errno::EINVAL);
        }
        if let Some(e) = existing {
            if flags & RENAME_NOREPLACE != 0 {
                return Err(Errno::EEXIST);
            }
            // Two names of one file: nothing to do.
            if Rc::ptr_eq(&src, &e) {
                return Ok(());
            }
            match (src.is_dir(), e.is_dir()) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if !e.is_empty_dir() => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
            dst.take(new)?.drop_link();
        }
        let node = self.0.take(old)?;
        node.meta.borrow_mut().ctime = node.sb.caller.now();
        dst.insert(new, node)
    }
    fn chmod(&self, mode: u32) -> Result<()> {
        let mut m = self.0.meta.borrow_mut();
        m.mode = (m.mode & crate::vfs::S_IFMT) | (mode & 0o7777);
        m.ctime = self.0.sb.caller.now();
        Ok(())
    }
    fn chown(&self, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
        let mut m = self.0.meta.borrow_mut();
        if let Some(u) = uid {
            m.uid = u;
        }
        if let Some(g) = gid {
            m.gid = g;
        }
        // A change of owner clears set-user-ID and set-group-ID on
        // non-directories.
        if m.mode & crate::vfs::S_IFMT != FileType::Directory.mode_bits() {
            m.mode &= !0o6000;
        }
        m.ctime = self.0.sb.caller.now();
        Ok(())
    }
    fn set_times(&self, atime: Option<Timespec>, mtime: Option<Timespec>) -> Result<()> {
        let mut m = self.0.meta.borrow_mut();
        if let Some(a) = atime {
            m.atime = a;
        }
        if let Some(t) = mtime {
            m.mtime = t;
        }
        m.ctime = self.0.sb.caller.now();
        Ok(())
    }
    fn truncate(&self, len: u64) -> Result<()> {
        match self.0.kind() {
            FileType::Directory => Err(Errno::EISDIR),
            FileType::Regular => self.0.set_len(len),
            _ => Err(Errno::EINVAL),
        }
    }
    fn statfs(&self) -> Result<StatFs> {
        let blocks = self.0.sb.max_bytes / PAGE;
        let free = blocks.saturating_sub(self.0.sb.used.get() / PAGE);
        Ok(StatFs {
            fs_type: TMPFS_MAGIC,
            bsize: PAGE,
            blocks,
            bfree: free,
            bavail: free,
            files: 1 << 20,
            ffree: (1 << 20) - self.0.sb.next_ino.get().min(1 << 20),
            fsid: 0,
            namelen: crate::vfs::NAME_MAX as u64,
            flags: 0x2 | 0x4 | 0x8 | 0x20, // nosuid nodev noexec relatime
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open tmpfs file or directory.
struct TmpFile(Rc<Inner>);

impl FileOps for TmpFile {
    fn read(&self, _host: &mut dyn Host, off: u64, buf: &mut [u8]) -> Result<Io> {
        if self.0.is_dir() {
            return Err(Errno::EISDIR);
        }
        Ok(Io::Done(self.0.read(off, buf)))
    }
    fn write(&self, _host: &mut dyn Host, off: u64, data: &[u8]) -> Result<Io> {
        self.0.write(off, data).map(Io::Done)
    }
    fn seekable(&self) -> bool {
        true
    }
    fn readdir(&self) -> Result<Vec<DirEntry>> {
        match &*self.0.body.borrow() {
            Body::Dir(d) => Ok(d.iter().map(|(n, c)| DirEntry { ino: c.ino, kind: Some(c.kind()), name: n.clone() }).collect()),
            _ => Err(Errno::ENOTDIR),
        }
    }
    fn read_page(&self, off: u64, buf: &mut [u8]) -> Result<usize> {
        if self.0.is_dir() {
            return Err(Errno::ENODEV);
        }
        Ok(self.0.read(off, buf))
    }
    fn stat(&self) -> Option<Result<Stat>> {
        Some(Ok(self.0.stat()))
    }
    fn truncate(&self, len: u64) -> Option<Result<()>> {
        Some(self.0.set_len(len))
    }
    fn chmod(&self, mode: u32) -> Option<Result<()>> {
        Some(Node(self.0.clone()).chmod(mode))
    }
    fn statfs(&self) -> StatFs {
        Node(self.0.clone()).statfs().unwrap_or_else(|_| StatFs::generic())
    }
}

#[cfg(test)]
mod tests;
