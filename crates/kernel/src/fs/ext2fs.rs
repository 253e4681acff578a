//! ext2 as a kernel filesystem: the root of `oxvm run --image`. The
//! on-disk work is `oxvm-ext2`'s; this file maps the VFS's inode and open
//! file calls onto it and adds what the library leaves to a kernel: who
//! owns new files (the caller's fs ids, a set-group-ID directory's group),
//! the sticky-bit rule, times from the syscall's clock, and inodes that
//! live on unlinked while something still holds them.
//!
//! An inode is represented by one shared [`Node`] per inode number while
//! any dentry or open file refers to it. When a name's removal drops the
//! last link, the inode is freed (`evict`) at once if nothing holds it,
//! else when its last holder lets go: an unlinked open file keeps its data
//! until closed, as on Linux.
//!
//! Durability: the library keeps dirty metadata in its cache and the block
//! stack below holds writes until a flush, so the image on disk is always
//! the state of the last [`Ext2Mount::sync`] (fsync, sync, syncfs, exit
//! and the kernel's periodic writeback call it between syscalls, when the
//! file system is consistent).

use std::any::Any;
use std::cell::{Cell, RefCell, RefMut};
use std::collections::{HashMap, HashSet};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use oxvm_block::BlockDevice;
use oxvm_ext2::{Error as FsError, Ext2, FileType as Ft, Ino, SetAttr};

use super::tmpfs::Caller;
use crate::errno::Errno;
use crate::host::Host;
use crate::vfs::{makedev, DirEntry, FileOps, FileType, Inode, InodeRef, Io, Result, Stat, StatFs, Timespec, RENAME_NOREPLACE};

pub const EXT2_SUPER_MAGIC: u64 = 0xef53;
const S_ISVTX: u32 = 0o1000;
const S_ISGID: u32 = 0o2000;

fn errno(e: FsError) -> Errno {
    Errno(e.errno())
}

fn kind_of(t: Ft) -> FileType {
    match t {
        Ft::Directory => FileType::Directory,
        Ft::Symlink => FileType::Symlink,
        Ft::CharDevice => FileType::CharDev,
        Ft::BlockDevice => FileType::BlockDev,
        Ft::Fifo => FileType::Fifo,
        Ft::Socket => FileType::Socket,
        Ft::Regular | Ft::Unknown => FileType::Regular,
    }
}

pub type Device = Box<dyn BlockDevice>;

/// One mounted ext2 file system.
pub struct Ext2Mount {
    fs: RefCell<Ext2<Device>>,
    /// The device number stat reports.
    dev: u64,
    caller: Rc<dyn Caller>,
    /// The library's clock: the current syscall's time, set before each
    /// call that may stamp an inode.
    clock: Arc<AtomicU32>,
    /// Live nodes by inode number (so two lookups share one node).
    nodes: RefCell<HashMap<Ino, Weak<Node>>>,
    /// Inodes with no links left that a node still holds.
    orphans: RefCell<HashSet<Ino>>,
    /// Orphans whose last holder went away while the file system was
    /// busy; evicted at the next call.
    pending: RefCell<Vec<Ino>>,
    /// Whether anything changed since the last sync.
    dirty: Cell<bool>,
}

/// An inode while something refers to it.
struct Node {
    m: Rc<Ext2Mount>,
    ino: Ino,
    /// The file type, once read: it never changes while the node holds
    /// the inode, and path walks ask for it at every step.
    kind: Cell<Option<FileType>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        let m = &self.m;
        m.nodes.borrow_mut().remove(&self.ino);
        if m.orphans.borrow_mut().remove(&self.ino) {
            match m.fs.try_borrow_mut() {
                Ok(mut fs) => {
                    // A failure here leaves blocks allocated, which e2fsck
                    // would report; there is no caller to tell.
                    let _ = fs.evict(self.ino);
                    m.dirty.set(true);
                }
                Err(_) => m.pending.borrow_mut().push(self.ino),
            }
        }
    }
}

impl Ext2Mount {
    /// Mount `fs`; `dev` is the device number stat reports.
    pub fn new(mut fs: Ext2<Device>, dev: u64, caller: Rc<dyn Caller>) -> Rc<Ext2Mount> {
        let clock = Arc::new(AtomicU32::new(0));
        let c = clock.clone();
        fs.set_clock(Box::new(move || c.load(Ordering::Relaxed)));
        Rc::new(Ext2Mount {
            fs: RefCell::new(fs),
            dev,
            caller,
            clock,
            nodes: RefCell::default(),
            orphans: RefCell::default(),
            pending: RefCell::default(),
            dirty: Cell::new(false),
        })
    }

    /// The root directory's inode.
    pub fn root(self: &Rc<Self>) -> InodeRef {
        let ino = self.fs.borrow().root();
        Rc::new(Ext2Inode(self.node(ino)))
    }

    pub fn read_only(&self) -> bool {
        self.fs.borrow().read_only()
    }

    /// What the block stack fetched so far (network-backed images).
    pub fn fetch_stats(&self) -> Option<oxvm_block::FetchStats> {
        self.fs.borrow().device().stats()
    }

    /// Write everything back and make it durable.
    pub fn sync(&self) -> Result<()> {
        if !self.dirty.get() {
            return Ok(());
        }
        self.fs().sync().map_err(errno)?;
        self.dirty.set(false);
        Ok(())
    }

    /// The guest is gone: free the inodes that only unlinked-but-held
    /// references kept (nothing will use them again), then sync, so the
    /// image left behind has no orphans for e2fsck to find.
    pub fn shutdown(&self) -> Result<()> {
        let orphans: Vec<Ino> = self.orphans.borrow_mut().drain().collect();
        if !orphans.is_empty() {
            let mut fs = self.wfs();
            for ino in orphans {
                fs.evict(ino).map_err(errno)?;
            }
        }
        self.sync()
    }

    /// The library, with deferred evictions done and the clock set.
    fn fs(&self) -> RefMut<'_, Ext2<Device>> {
        let mut fs = self.fs.borrow_mut();
        for ino in self.pending.borrow_mut().drain(..) {
            let _ = fs.evict(ino);
        }
        let now = self.caller.now().sec.clamp(0, u32::MAX as i64) as u32;
        self.clock.store(now, Ordering::Relaxed);
        fs
    }

    /// A change is about to be made.
    fn wfs(&self) -> RefMut<'_, Ext2<Device>> {
        self.dirty.set(true);
        self.fs()
    }

    fn node(self: &Rc<Self>, ino: Ino) -> Rc<Node> {
        if let Some(n) = self.nodes.borrow().get(&ino).and_then(Weak::upgrade) {
            return n;
        }
        let n = Rc::new(Node { m: self.clone(), ino, kind: Cell::new(None) });
        self.nodes.borrow_mut().insert(ino, Rc::downgrade(&n));
        n
    }

    /// `ino` lost its last link: free it now, or when its holders are gone.
    fn unlinked(&self, ino: Ino) -> Result<()> {
        let held = self.nodes.borrow().get(&ino).is_some_and(|w| w.strong_count() > 0);
        if held {
            self.orphans.borrow_mut().insert(ino);
            Ok(())
        } else {
            self.wfs().evict(ino).map_err(errno)
        }
    }
}

/// An inode of a mounted ext2 file system.
pub struct Ext2Inode(Rc<Node>);

impl Ext2Inode {
    fn m(&self) -> &Rc<Ext2Mount> {
        &self.0.m
    }

    fn ino(&self) -> Ino {
        self.0.ino
    }

    fn meta(&self) -> Result<oxvm_ext2::Metadata> {
        self.m().fs().stat(self.ino()).map_err(errno)
    }

    fn same_fs(&self, other: &InodeRef) -> Result<Ino> {
        let o = other.as_any().downcast_ref::<Ext2Inode>().ok_or(Errno::EXDEV)?;
        if !Rc::ptr_eq(self.m(), o.m()) {
            return Err(Errno::EXDEV);
        }
        Ok(o.ino())
    }

    /// The owner and mode bits a new inode gets in this directory.
    fn new_owner(&self, mode: u32, dir: bool) -> Result<(u32, u32, u32)> {
        let (uid, mut gid) = self.m().caller.creds();
        let mut mode = mode & 0o7777;
        let me = self.meta()?;
        if me.mode as u32 & S_ISGID != 0 {
            gid = me.gid;
            if dir {
                mode |= S_ISGID;
            }
        }
        Ok((uid, gid, mode))
    }

    /// The sticky-bit rule: in a sticky directory only the file's owner,
    /// the directory's owner or root may remove or rename an entry.
    fn may_remove(&self, child: Ino) -> Result<()> {
        let me = self.meta()?;
        if me.mode as u32 & S_ISVTX == 0 {
            return Ok(());
        }
        let (uid, _) = self.m().caller.creds();
        let owner = self.m().fs().stat(child).map_err(errno)?.uid;
        if uid == 0 || uid == me.uid || uid == owner {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }

    fn child(&self, name: &[u8]) -> Result<Ino> {
        self.m().fs().lookup(self.ino(), name).map_err(errno)
    }
}

fn stat_of(m: &Ext2Mount, md: &oxvm_ext2::Metadata) -> Stat {
    let t = |s: u32| Timespec { sec: s as i64, nsec: 0 };
    Stat {
        dev: m.dev,
        ino: md.ino as u64,
        mode: md.mode as u32,
        nlink: md.nlink as u64,
        uid: md.uid,
        gid: md.gid,
        rdev: md.rdev,
        size: md.size,
        blksize: 4096,
        blocks: md.blocks,
        atime: t(md.atime),
        mtime: t(md.mtime),
        ctime: t(md.ctime),
        btime: None,
    }
}

impl Inode for Ext2Inode {
    fn id(&self) -> (u64, u64) {
        (self.m().dev, self.ino() as u64)
    }

    fn kind(&self) -> FileType {
        if let Some(k) = self.0.kind.get() {
            return k;
        }
        match self.meta() {
            Ok(md) => {
                let k = kind_of(md.file_type);
                self.0.kind.set(Some(k));
                k
            }
            // An unreadable inode: not remembered, the next call retries.
            Err(_) => FileType::Regular,
        }
    }

    fn stat(&self) -> Result<Stat> {
        Ok(stat_of(self.m(), &self.meta()?))
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        let ino = self.child(name)?;
        Ok(Rc::new(Ext2Inode(self.m().node(ino))))
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        self.m().fs().readlink(self.ino()).map_err(errno)
    }

    fn open(&self, flags: u32) -> Result<Rc<dyn FileOps>> {
        use crate::vfs::file::{O_PATH, O_TRUNC};
        if flags & O_PATH != 0 {
            return Ok(Rc::new(crate::vfs::PathOnly));
        }
        let md = self.meta()?;
        match kind_of(md.file_type) {
            FileType::Directory => {}
            FileType::Regular => {
                if flags & O_TRUNC != 0 && flags & 3 != 0 && md.size != 0 {
                    self.m().wfs().truncate(self.ino(), 0).map_err(errno)?;
                }
            }
            // Device nodes reach oxvm's own devices by number.
            FileType::CharDev => {
                return crate::dev::mem::MemDevice::from_rdev(md.rdev).map(|d| Rc::new(d) as Rc<dyn FileOps>).ok_or(Errno::ENXIO);
            }
            FileType::Symlink => return Err(Errno::ELOOP),
            // FIFOs are opened by the VFS's FIFO table; sockets by connect.
            FileType::BlockDev | FileType::Fifo | FileType::Socket => return Err(Errno::ENXIO),
        }
        Ok(Rc::new(Ext2File(self.0.clone())))
    }

    fn create(&self, name: &[u8], mode: u32) -> Result<InodeRef> {
        let (uid, gid, mode) = self.new_owner(mode, false)?;
        let ino = self.m().wfs().create(self.ino(), name, (FileType::Regular.mode_bits() | mode) as u16, uid, gid, 0).map_err(errno)?;
        Ok(Rc::new(Ext2Inode(self.m().node(ino))))
    }

    fn mkdir(&self, name: &[u8], mode: u32) -> Result<()> {
        let (uid, gid, mode) = self.new_owner(mode, true)?;
        self.m().wfs().mkdir(self.ino(), name, mode as u16, uid, gid).map_err(errno)?;
        Ok(())
    }

    fn mknod(&self, name: &[u8], kind: FileType, perm: u32, rdev: u64) -> Result<()> {
        let (uid, gid, mode) = self.new_owner(perm, false)?;
        let rdev = if matches!(kind, FileType::CharDev | FileType::BlockDev) { rdev } else { 0 };
        self.m().wfs().create(self.ino(), name, (kind.mode_bits() | mode) as u16, uid, gid, rdev).map_err(errno)?;
        Ok(())
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        let child = self.child(name)?;
        if self.m().fs().stat(child).map_err(errno)?.file_type == Ft::Directory {
            return Err(Errno::EISDIR);
        }
        self.may_remove(child)?;
        let u = self.m().wfs().unlink(self.ino(), name).map_err(errno)?;
        if u.last_link {
            self.m().unlinked(u.ino)?;
        }
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        let child = self.child(name)?;
        self.may_remove(child)?;
        let ino = self.m().wfs().rmdir(self.ino(), name).map_err(errno)?;
        self.m().unlinked(ino)
    }

    fn symlink(&self, name: &[u8], target: &[u8]) -> Result<()> {
        let (uid, gid, _) = self.new_owner(0o777, false)?;
        self.m().wfs().symlink(self.ino(), name, target, uid, gid).map_err(errno)?;
        Ok(())
    }

    fn link(&self, name: &[u8], target: &InodeRef) -> Result<()> {
        let t = self.same_fs(target)?;
        self.m().wfs().link(t, self.ino(), name).map_err(errno)
    }

    fn rename(&self, old: &[u8], new_dir: &InodeRef, new: &[u8], flags: u32) -> Result<()> {
        let nd = self.same_fs(new_dir)?;
        // Linux's ext2 knows RENAME_NOREPLACE only.
        if flags & !RENAME_NOREPLACE != 0 {
            return Err(Errno::EINVAL);
        }
        let src = self.child(old)?;
        let existing = self.m().fs().lookup(nd, new).ok();
        self.may_remove(src)?;
        if let Some(e) = existing {
            if flags & RENAME_NOREPLACE != 0 {
                return Err(Errno::EEXIST);
            }
            let dst = new_dir.as_any().downcast_ref::<Ext2Inode>().ok_or(Errno::EXDEV)?;
            dst.may_remove(e)?;
        }
        // (Bound first: the library's borrow must end before `unlinked`.)
        let gone = self.m().wfs().rename(self.ino(), old, nd, new).map_err(errno)?;
        if let Some(gone) = gone {
            self.m().unlinked(gone)?;
        }
        Ok(())
    }

    fn chmod(&self, mode: u32) -> Result<()> {
        let set = SetAttr { mode: Some((mode & 0o7777) as u16), ..Default::default() };
        self.m().wfs().set_attr(self.ino(), &set).map_err(errno)
    }

    fn chown(&self, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
        let md = self.meta()?;
        // A change of owner clears set-user-ID and set-group-ID on
        // non-directories.
        let mode = (md.file_type != Ft::Directory).then_some(md.mode & 0o7777 & !0o6000);
        let set = SetAttr { uid, gid, mode, ..Default::default() };
        self.m().wfs().set_attr(self.ino(), &set).map_err(errno)
    }

    fn set_times(&self, atime: Option<Timespec>, mtime: Option<Timespec>) -> Result<()> {
        let s = |t: Option<Timespec>| t.map(|t| t.sec.clamp(0, u32::MAX as i64) as u32);
        let set = SetAttr { atime: s(atime), mtime: s(mtime), ..Default::default() };
        self.m().wfs().set_attr(self.ino(), &set).map_err(errno)
    }

    fn truncate(&self, len: u64) -> Result<()> {
        match self.kind() {
            FileType::Directory => Err(Errno::EISDIR),
            FileType::Regular => self.m().wfs().truncate(self.ino(), len).map_err(errno),
            _ => Err(Errno::EINVAL),
        }
    }

    fn statfs(&self) -> Result<StatFs> {
        Ok(statfs_of(self.m()))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn statfs_of(m: &Ext2Mount) -> StatFs {
    let s = m.fs.borrow().statfs();
    StatFs {
        fs_type: EXT2_SUPER_MAGIC,
        bsize: s.block_size as u64,
        blocks: s.blocks,
        bfree: s.free_blocks,
        bavail: s.avail_blocks,
        files: s.files,
        ffree: s.free_files,
        fsid: s.fsid,
        namelen: s.name_max as u64,
        // ST_RDONLY when mounted read-only; relatime as Linux mounts.
        flags: if m.read_only() { 0x1 } else { 0 } | 0x400,
    }
}

/// An open ext2 file or directory.
struct Ext2File(Rc<Node>);

impl Ext2File {
    fn m(&self) -> &Rc<Ext2Mount> {
        &self.0.m
    }
}

impl FileOps for Ext2File {
    fn read(&self, _host: &mut dyn Host, off: u64, buf: &mut [u8]) -> Result<Io> {
        self.m().fs().read(self.0.ino, off, buf).map(Io::Done).map_err(errno)
    }

    fn write(&self, _host: &mut dyn Host, off: u64, data: &[u8]) -> Result<Io> {
        self.m().wfs().write(self.0.ino, off, data).map(Io::Done).map_err(errno)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn readdir(&self) -> Result<Vec<DirEntry>> {
        let mut fs = self.m().fs();
        let out: Vec<DirEntry> = fs
            .read_dir_all(self.0.ino)
            .map_err(errno)?
            .into_iter()
            .filter(|e| e.name != b"." && e.name != b"..")
            .map(|e| DirEntry { ino: e.ino as u64, kind: (e.file_type != Ft::Unknown).then(|| kind_of(e.file_type)), name: e.name })
            .collect();
        // `ls -l` and friends stat every entry next: fetch their inode
        // table blocks together.
        let inos: Vec<Ino> = out.iter().map(|e| e.ino as Ino).collect();
        let _ = fs.prefetch_inodes(&inos);
        Ok(out)
    }

    fn read_page(&self, off: u64, buf: &mut [u8]) -> Result<usize> {
        self.m().fs().read(self.0.ino, off, buf).map_err(errno)
    }

    fn prefetch(&self, off: u64, len: u64) {
        // Only a hint: a failure shows up when the pages are read.
        let _ = self.m().fs().prefetch_file(self.0.ino, off..off.saturating_add(len));
    }

    fn sync(&self) -> Result<()> {
        self.m().sync()
    }

    fn stat(&self) -> Option<Result<Stat>> {
        Some(self.m().fs().stat(self.0.ino).map(|md| stat_of(self.m(), &md)).map_err(errno))
    }

    fn truncate(&self, len: u64) -> Option<Result<()>> {
        Some(self.m().wfs().truncate(self.0.ino, len).map_err(errno))
    }

    fn chmod(&self, mode: u32) -> Option<Result<()>> {
        Some(Ext2Inode(self.0.clone()).chmod(mode))
    }

    fn statfs(&self) -> StatFs {
        statfs_of(self.m())
    }
}

/// The device number an image mount reports (a virtio disk's first
/// partition, /dev/vda1).
pub const IMAGE_DEV: (u32, u32) = (254, 1);

pub fn image_dev() -> u64 {
    makedev(IMAGE_DEV.0, IMAGE_DEV.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{Record, TestHost};
    use oxvm_block::MemDevice;
    use oxvm_ext2::FormatOptions;

    #[derive(Default)]
    struct Who {
        ids: Cell<(u32, u32)>,
    }

    impl Caller for Who {
        fn creds(&self) -> (u32, u32) {
            self.ids.get()
        }
        fn now(&self) -> Timespec {
            Timespec { sec: 1_700_000_000, nsec: 0 }
        }
    }

    fn mount() -> (Rc<Ext2Mount>, InodeRef, Rc<Who>) {
        let fs = Ext2::format(Box::new(MemDevice::new(8 << 20)) as Device, &FormatOptions::default()).unwrap();
        let who = Rc::new(Who::default());
        let m = Ext2Mount::new(fs, image_dev(), who.clone());
        let root = m.root();
        (m, root, who)
    }

    fn host() -> TestHost {
        TestHost(Rc::new(RefCell::new(Record::default())))
    }

    /// The free inode count, to see evictions happen.
    fn free_inodes(m: &Ext2Mount) -> u64 {
        m.fs.borrow().statfs().free_files
    }

    #[test]
    fn files_directories_and_links() {
        let (m, root, who) = mount();
        who.ids.set((1000, 100));
        let f = root.create(b"a", 0o640).unwrap();
        let st = f.stat().unwrap();
        assert_eq!((st.uid, st.gid, st.mode & 0o7777, st.mtime.sec), (1000, 100, 0o640, 1_700_000_000));
        let file = f.open(2).unwrap();
        assert_eq!(file.write(&mut host(), 5, b"hello").unwrap(), Io::Done(5));
        let mut buf = [0u8; 16];
        assert_eq!(file.read(&mut host(), 0, &mut buf).unwrap(), Io::Done(10));
        assert_eq!(&buf[..10], b"\0\0\0\0\0hello");
        root.mkdir(b"d", 0o2775).unwrap();
        let d = root.lookup(b"d").unwrap();
        who.ids.set((1001, 1001));
        d.mkdir(b"sub", 0o755).unwrap();
        let sub = d.lookup(b"sub").unwrap().stat().unwrap();
        assert_eq!((sub.gid, sub.mode & 0o2000), (100, 0o2000), "a set-group-ID directory passes on its group and the bit");
        d.link(b"hard", &f).unwrap();
        assert_eq!(f.stat().unwrap().nlink, 2);
        d.symlink(b"s", b"../a").unwrap();
        assert_eq!(d.lookup(b"s").unwrap().readlink().unwrap(), b"../a");
        let names: Vec<_> = d.open(0).unwrap().readdir().unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, vec![b"sub".to_vec(), b"hard".to_vec(), b"s".to_vec()]);
        assert_eq!(root.rmdir(b"d"), Err(Errno::ENOTEMPTY));
        assert_eq!(root.unlink(b"d"), Err(Errno::EISDIR));
        assert_eq!(root.create(b"a", 0o600).err(), Some(Errno::EEXIST));
        assert_eq!(root.lookup(b"nope").err(), Some(Errno::ENOENT));
        assert_eq!(root.rename(b"a", &d, b"s", crate::vfs::RENAME_EXCHANGE), Err(Errno::EINVAL));
        assert_eq!(root.rename(b"a", &d, b"s", RENAME_NOREPLACE), Err(Errno::EEXIST));
        root.rename(b"a", &d, b"moved", 0).unwrap();
        assert_eq!(d.lookup(b"moved").unwrap().id(), f.id());
        assert_eq!(statfs_of(&m).fs_type, EXT2_SUPER_MAGIC);
    }

    #[test]
    fn unlinked_files_live_while_held() {
        let (m, root, _) = mount();
        let before = free_inodes(&m);
        let f = root.create(b"tmp", 0o600).unwrap();
        let open = f.open(2).unwrap();
        open.write(&mut host(), 0, b"still here").unwrap();
        drop(f);
        root.unlink(b"tmp").unwrap();
        assert_eq!(root.lookup(b"tmp").err(), Some(Errno::ENOENT));
        let mut buf = [0u8; 10];
        assert_eq!(open.read(&mut host(), 0, &mut buf).unwrap(), Io::Done(10));
        assert_eq!(free_inodes(&m), before - 1, "kept while open");
        drop(open);
        assert_eq!(free_inodes(&m), before, "freed on the last close");
        // Replaced by a rename while open: the same.
        let a = root.create(b"a", 0o600).unwrap();
        let held = a.open(0).unwrap();
        root.create(b"b", 0o600).unwrap();
        root.rename(b"b", &root, b"a", 0).unwrap();
        drop(a);
        assert!(held.stat().unwrap().is_ok());
        drop(held);
        assert_eq!(free_inodes(&m), before - 1, "only the renamed file is left");
    }

    #[test]
    fn sticky_directories_protect_other_owners_files() {
        let (_m, root, who) = mount();
        root.mkdir(b"tmp", 0o1777).unwrap();
        let tmp = root.lookup(b"tmp").unwrap();
        who.ids.set((1000, 1000));
        tmp.create(b"mine", 0o644).unwrap();
        who.ids.set((1001, 1001));
        assert_eq!(tmp.unlink(b"mine"), Err(Errno::EPERM));
        assert_eq!(tmp.rename(b"mine", &tmp, b"x", 0), Err(Errno::EPERM));
        who.ids.set((0, 0));
        tmp.unlink(b"mine").unwrap();
    }

    #[test]
    fn sync_writes_a_clean_image() {
        let (m, root, _) = mount();
        for i in 0..50 {
            let f = root.create(format!("f{i}").as_bytes(), 0o644).unwrap();
            f.open(2).unwrap().write(&mut host(), 0, &vec![i as u8; 10_000]).unwrap();
        }
        root.unlink(b"f7").unwrap();
        m.sync().unwrap();
        assert!(!m.dirty.get());
    }
}
