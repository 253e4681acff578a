//! A host directory as a filesystem (the native runner's `--root DIR`).
//!
//! Confinement: the host never resolves more than one name of a guest
//! path. Every directory inode holds an `O_PATH` descriptor of its own,
//! and every operation is a `*at` call on a directory descriptor with a
//! single name, which is checked here to be plain (no `/`, NUL, `.` or
//! `..`; the VFS already guarantees it) and never followed when it is a
//! symlink (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`, or calls that act on the
//! link itself). Symlinks are read with readlinkat and expanded by the VFS
//! walker, inside the guest's root. So neither the guest nor another host
//! process swapping names around can make oxvm touch anything outside the
//! tree, and a directory renamed under an open inode keeps working.
//!
//! Device nodes in the tree are not opened on the host (a block device
//! would reach the host's disk): the memory devices (null, zero, full,
//! random, urandom) are served by [`crate::dev::mem`], others give ENXIO.
//!
//! Native Linux only: the browser has no host directory (it gets ext2).

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::rc::{Rc, Weak};

use crate::dev::mem::MemDevice;
use crate::errno::Errno;
use crate::host::Host;
use crate::vfs::file::{O_ACCMODE, O_PATH, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY};
use crate::vfs::{makedev, DirEntry, FileOps, FileType, Inode, InodeRef, Io, Result, Stat, StatFs, Timespec};

/// The host's errno for a failed std call (Linux hosts share the numbers).
pub fn host_errno(e: io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(Errno::EIO.0))
}

fn last_errno() -> Errno {
    host_errno(io::Error::last_os_error())
}

/// A libc return value: negative means errno.
fn cvt(r: libc::c_int) -> Result<libc::c_int> {
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}

/// A single plain name as a C string.
fn cname(name: &[u8]) -> Result<CString> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
        return Err(Errno::EINVAL);
    }
    CString::new(name).map_err(|_| Errno::EINVAL)
}

const EMPTY: &CStr = c"";

fn openat(dir: RawFd, name: &CStr, flags: libc::c_int, mode: libc::mode_t) -> Result<OwnedFd> {
    // SAFETY: `name` is NUL-terminated; the result is a new descriptor
    // that nothing else owns.
    let fd = cvt(unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::c_uint) })?;
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// statx on (dir, name) without following a last symlink; an empty name
/// with AT_EMPTY_PATH describes `dir` itself.
fn statx(dir: RawFd, name: &CStr) -> Result<Stat> {
    // SAFETY: all-zero is a valid struct statx to be overwritten.
    let mut x: libc::statx = unsafe { std::mem::zeroed() };
    let flags = libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH;
    // SAFETY: `name` is NUL-terminated and `x` is a writable struct statx.
    cvt(unsafe { libc::statx(dir, name.as_ptr(), flags, libc::STATX_BASIC_STATS | libc::STATX_BTIME, &mut x) })?;
    let t = |t: libc::statx_timestamp| Timespec { sec: t.tv_sec, nsec: t.tv_nsec };
    Ok(Stat {
        dev: makedev(x.stx_dev_major, x.stx_dev_minor),
        ino: x.stx_ino,
        mode: x.stx_mode as u32,
        nlink: x.stx_nlink as u64,
        uid: x.stx_uid,
        gid: x.stx_gid,
        rdev: makedev(x.stx_rdev_major, x.stx_rdev_minor),
        size: x.stx_size,
        blksize: x.stx_blksize as u64,
        blocks: x.stx_blocks,
        atime: t(x.stx_atime),
        mtime: t(x.stx_mtime),
        ctime: t(x.stx_ctime),
        btime: (x.stx_mask & libc::STATX_BTIME != 0).then(|| t(x.stx_btime)),
    })
}

/// Where an inode lives on the host.
enum Place {
    /// A directory: its own O_PATH descriptor.
    Dir(Rc<OwnedFd>),
    /// Anything else: its parent directory's descriptor and its name.
    Entry { parent: Rc<OwnedFd>, name: CString },
    /// An O_TMPFILE file (no name): its own open descriptor.
    Unnamed(Rc<OwnedFd>),
}

/// What the inodes of one host tree share: the descriptors of the
/// directories currently held, by identity, so that any number of dentries
/// (every open file keeps its whole chain of parents) costs one host
/// descriptor per distinct directory.
#[derive(Default)]
struct Tree {
    dirs: RefCell<HashMap<(u64, u64), Weak<OwnedFd>>>,
}

impl Tree {
    /// The held descriptor of directory `id` (dev, ino), or a new one from
    /// `open`, which also says what the descriptor really is (the name may
    /// have changed in between); returns the descriptor and its identity.
    fn dir(&self, id: (u64, u64), open: impl FnOnce() -> Result<OwnedFd>) -> Result<(Rc<OwnedFd>, (u64, u64))> {
        if let Some(fd) = self.dirs.borrow().get(&id).and_then(Weak::upgrade) {
            // A live descriptor pins the inode, so (dev, ino) cannot
            // have been reused for another directory.
            return Ok((fd, id));
        }
        let fd = open()?;
        let st = statx(fd.as_raw_fd(), EMPTY)?;
        let id = (st.dev, st.ino);
        let fd = Rc::new(fd);
        let mut dirs = self.dirs.borrow_mut();
        if dirs.len() >= 64 && dirs.len().is_power_of_two() {
            dirs.retain(|_, w| w.strong_count() > 0);
        }
        dirs.insert(id, Rc::downgrade(&fd));
        Ok((fd, id))
    }
}

/// A file or directory inside the host root.
pub struct HostInode {
    tree: Rc<Tree>,
    place: Place,
    kind: FileType,
    dev: u64,
    ino: u64,
    rdev: u64,
}

/// The root directory of a host tree, as an inode.
pub fn open_root(dir: &Path) -> Result<InodeRef> {
    let c = CString::new(dir.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    let fd = openat(libc::AT_FDCWD, &c, libc::O_PATH | libc::O_DIRECTORY, 0)?;
    let tree = Rc::new(Tree::default());
    let (fd, (dev, ino)) = tree.dir((u64::MAX, u64::MAX), || Ok(fd))?;
    Ok(Rc::new(HostInode { tree, place: Place::Dir(fd), kind: FileType::Directory, dev, ino, rdev: 0 }))
}

impl HostInode {
    /// This directory's descriptor, for operations on its entries.
    fn dir_fd(&self) -> Result<RawFd> {
        match &self.place {
            Place::Dir(fd) => Ok(fd.as_raw_fd()),
            Place::Entry { .. } | Place::Unnamed(_) => Err(Errno::ENOTDIR),
        }
    }

    /// (directory descriptor, name) that names this inode for `*at` calls;
    /// a directory names itself with an empty name (AT_EMPTY_PATH).
    fn at(&self) -> (RawFd, &CStr) {
        match &self.place {
            Place::Dir(fd) | Place::Unnamed(fd) => (fd.as_raw_fd(), EMPTY),
            Place::Entry { parent, name } => (parent.as_raw_fd(), name),
        }
    }

    /// An O_PATH descriptor of this inode and its /proc/self/fd name.
    fn proc_link(&self) -> Result<ProcLink> {
        let fd = self.reopen(libc::O_PATH)?;
        let path = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(|_| Errno::EINVAL)?;
        Ok(ProcLink { _fd: fd, path })
    }

    /// Open this inode for I/O (never following a symlink).
    fn reopen(&self, flags: libc::c_int) -> Result<OwnedFd> {
        match &self.place {
            Place::Dir(fd) => openat(fd.as_raw_fd(), c".", flags, 0),
            Place::Entry { parent, name } => openat(parent.as_raw_fd(), name, flags | libc::O_NOFOLLOW, 0),
            // The host reopens an unnamed file through its /proc link.
            Place::Unnamed(fd) => {
                let path = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(|_| Errno::EINVAL)?;
                openat(libc::AT_FDCWD, &path, flags, 0)
            }
        }
    }
}

impl Inode for HostInode {
    fn id(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }

    fn kind(&self) -> FileType {
        self.kind
    }

    fn stat(&self) -> Result<Stat> {
        let (fd, name) = self.at();
        statx(fd, name)
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        let dir = match &self.place {
            Place::Dir(fd) => fd.clone(),
            Place::Entry { .. } | Place::Unnamed(_) => return Err(Errno::ENOTDIR),
        };
        let c = cname(name)?;
        let st = statx(dir.as_raw_fd(), &c)?;
        let kind = st.file_type().ok_or(Errno::EIO)?;
        let tree = self.tree.clone();
        if kind == FileType::Directory {
            // Held open so that later calls never walk a host path.
            let (fd, (dev, ino)) =
                self.tree.dir((st.dev, st.ino), || openat(dir.as_raw_fd(), &c, libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0))?;
            return Ok(Rc::new(HostInode { tree, place: Place::Dir(fd), kind, dev, ino, rdev: 0 }));
        }
        Ok(Rc::new(HostInode { tree, place: Place::Entry { parent: dir, name: c }, kind, dev: st.dev, ino: st.ino, rdev: st.rdev }))
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        let Place::Entry { parent, name } = &self.place else { return Err(Errno::EINVAL) };
        if self.kind != FileType::Symlink {
            return Err(Errno::EINVAL);
        }
        let mut buf = vec![0u8; crate::vfs::PATH_MAX];
        // SAFETY: `name` is NUL-terminated and `buf` is writable for its
        // whole length, which is what we pass.
        let n = unsafe { libc::readlinkat(parent.as_raw_fd(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(last_errno());
        }
        buf.truncate(n as usize);
        Ok(buf)
    }

    fn open(&self, flags: u32) -> Result<Rc<dyn FileOps>> {
        if flags & O_PATH != 0 {
            return Ok(Rc::new(PathOnly));
        }
        let acc = flags & O_ACCMODE;
        match self.kind {
            FileType::Directory => {
                if acc != O_RDONLY {
                    return Err(Errno::EISDIR);
                }
                Ok(Rc::new(HostDir { dir: self.reopen(libc::O_RDONLY | libc::O_DIRECTORY)? }))
            }
            FileType::Regular => {
                let mut f = match acc {
                    O_WRONLY => libc::O_WRONLY,
                    O_RDWR => libc::O_RDWR,
                    // O_RDONLY, and the "no access" mode 3 some programs
                    // open for ioctls.
                    _ => libc::O_RDONLY,
                };
                if flags & O_TRUNC != 0 && acc != O_RDONLY {
                    f |= libc::O_TRUNC;
                }
                Ok(Rc::new(HostFile { file: File::from(self.reopen(f)?) }))
            }
            FileType::CharDev => MemDevice::from_rdev(self.rdev).map(|d| Rc::new(d) as Rc<dyn FileOps>).ok_or(Errno::ENXIO),
            FileType::Symlink => Err(Errno::ELOOP),
            FileType::BlockDev | FileType::Fifo | FileType::Socket => Err(Errno::ENXIO),
        }
    }

    fn create(&self, name: &[u8], mode: u32) -> Result<InodeRef> {
        let c = cname(name)?;
        let fd = openat(self.dir_fd()?, &c, libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW, mode & 0o7777)?;
        // The host's umask applied too; the guest's already did.
        // SAFETY: plain syscall on a descriptor we own.
        cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode & 0o7777) })?;
        self.lookup(name)
    }

    fn tmpfile(&self, mode: u32, linkable: bool) -> Result<InodeRef> {
        let dir = self.dir_fd()?;
        let flags = libc::O_TMPFILE | libc::O_RDWR | if linkable { 0 } else { libc::O_EXCL };
        let fd = openat(dir, c".", flags, mode & 0o7777)?;
        // Undo the host's umask; the guest's already applied.
        // SAFETY: plain syscall on a descriptor we own.
        cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode & 0o7777) })?;
        let st = statx(fd.as_raw_fd(), EMPTY)?;
        Ok(Rc::new(HostInode {
            tree: self.tree.clone(),
            place: Place::Unnamed(Rc::new(fd)),
            kind: FileType::Regular,
            dev: st.dev,
            ino: st.ino,
            rdev: 0,
        }))
    }

    fn mkdir(&self, name: &[u8], mode: u32) -> Result<()> {
        let c = cname(name)?;
        let dir = self.dir_fd()?;
        // SAFETY: `c` is NUL-terminated.
        cvt(unsafe { libc::mkdirat(dir, c.as_ptr(), mode & 0o7777) })?;
        // Undo the host's umask through a descriptor of the new directory.
        let fd = openat(dir, &c, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0)?;
        // SAFETY: plain syscall on a descriptor we own.
        cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode & 0o7777) })?;
        Ok(())
    }

    fn mknod(&self, name: &[u8], kind: FileType, perm: u32, rdev: u64) -> Result<()> {
        let c = cname(name)?;
        let dir = self.dir_fd()?;
        // Device nodes on the host are only ever names: opening one in the
        // guest reaches oxvm's own devices by number, never the host's.
        // SAFETY: `c` is NUL-terminated.
        cvt(unsafe { libc::mknodat(dir, c.as_ptr(), kind.mode_bits() | (perm & 0o7777), rdev) })?;
        // Undo the host's umask (the guest's already applied), without
        // following anything: fchmodat on the name, which mknod just made.
        // SAFETY: `c` is NUL-terminated.
        cvt(unsafe { libc::fchmodat(dir, c.as_ptr(), perm & 0o7777, 0) })?;
        Ok(())
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        let c = cname(name)?;
        // SAFETY: `c` is NUL-terminated.
        cvt(unsafe { libc::unlinkat(self.dir_fd()?, c.as_ptr(), 0) })?;
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        let c = cname(name)?;
        // SAFETY: `c` is NUL-terminated.
        cvt(unsafe { libc::unlinkat(self.dir_fd()?, c.as_ptr(), libc::AT_REMOVEDIR) })?;
        Ok(())
    }

    fn symlink(&self, name: &[u8], target: &[u8]) -> Result<()> {
        let (c, t) = (cname(name)?, CString::new(target).map_err(|_| Errno::EINVAL)?);
        // SAFETY: both strings are NUL-terminated.
        cvt(unsafe { libc::symlinkat(t.as_ptr(), self.dir_fd()?, c.as_ptr()) })?;
        Ok(())
    }

    fn link(&self, name: &[u8], target: &InodeRef) -> Result<()> {
        let t = target.as_any().downcast_ref::<HostInode>().ok_or(Errno::EXDEV)?;
        let c = cname(name)?;
        if let Place::Unnamed(fd) = &t.place {
            // An O_TMPFILE file gets its name through its /proc link (the
            // host refuses one opened with O_EXCL, as Linux does).
            let path = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(|_| Errno::EINVAL)?;
            // SAFETY: both names are NUL-terminated.
            cvt(unsafe { libc::linkat(libc::AT_FDCWD, path.as_ptr(), self.dir_fd()?, c.as_ptr(), libc::AT_SYMLINK_FOLLOW) })?;
            return Ok(());
        }
        let Place::Entry { parent, name: tname } = &t.place else { return Err(Errno::EPERM) };
        // SAFETY: both names are NUL-terminated; flags 0 links a symlink
        // itself rather than its target.
        cvt(unsafe { libc::linkat(parent.as_raw_fd(), tname.as_ptr(), self.dir_fd()?, c.as_ptr(), 0) })?;
        Ok(())
    }

    fn rename(&self, old: &[u8], new_dir: &InodeRef, new: &[u8], flags: u32) -> Result<()> {
        let nd = new_dir.as_any().downcast_ref::<HostInode>().ok_or(Errno::EXDEV)?;
        let (o, n) = (cname(old)?, cname(new)?);
        // SAFETY: both names are NUL-terminated.
        cvt(unsafe { libc::renameat2(self.dir_fd()?, o.as_ptr(), nd.dir_fd()?, n.as_ptr(), flags) })?;
        Ok(())
    }

    fn chmod(&self, mode: u32) -> Result<()> {
        match self.kind {
            FileType::Symlink => Err(Errno::EOPNOTSUPP),
            FileType::Directory | FileType::Regular => {
                let fd = self.reopen(if self.kind == FileType::Directory { libc::O_RDONLY | libc::O_DIRECTORY } else { libc::O_PATH })?;
                fchmod_any(&fd, mode)
            }
            _ => {
                let fd = self.reopen(libc::O_PATH)?;
                fchmod_any(&fd, mode)
            }
        }
    }

    fn truncate(&self, len: u64) -> Result<()> {
        match self.kind {
            FileType::Directory => return Err(Errno::EISDIR),
            FileType::Regular => {}
            _ => return Err(Errno::EINVAL),
        }
        File::from(self.reopen(libc::O_WRONLY)?).set_len(len).map_err(host_errno)
    }

    fn chown(&self, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
        let (fd, name) = self.at();
        let flags = libc::AT_SYMLINK_NOFOLLOW | if name.is_empty() { libc::AT_EMPTY_PATH } else { 0 };
        let (u, g) = (uid.unwrap_or(u32::MAX), gid.unwrap_or(u32::MAX));
        // SAFETY: `name` is NUL-terminated; -1 leaves an id unchanged.
        cvt(unsafe { libc::fchownat(fd, name.as_ptr(), u, g, flags) })?;
        Ok(())
    }

    fn set_times(&self, atime: Option<Timespec>, mtime: Option<Timespec>) -> Result<()> {
        let ts = |t: Option<Timespec>| match t {
            Some(t) => libc::timespec { tv_sec: t.sec, tv_nsec: t.nsec as _ },
            None => libc::timespec { tv_sec: 0, tv_nsec: libc::UTIME_OMIT },
        };
        let times = [ts(atime), ts(mtime)];
        let (fd, name) = self.at();
        let flags = libc::AT_SYMLINK_NOFOLLOW | if name.is_empty() { libc::AT_EMPTY_PATH } else { 0 };
        // SAFETY: `name` is NUL-terminated and `times` holds two timespecs.
        cvt(unsafe { libc::utimensat(fd, name.as_ptr(), times.as_ptr(), flags) })?;
        Ok(())
    }

    // Extended attributes go to the host file: the inode is named by an
    // O_PATH descriptor (never following a symlink) and reached through
    // its /proc link, which the following xattr calls resolve to exactly
    // that file (a symlink itself, for a symlink's descriptor).
    fn getxattr(&self, name: &[u8], buf: &mut [u8]) -> Result<usize> {
        let (link, name) = (self.proc_link()?, xname(name)?);
        let ptr = if buf.is_empty() { std::ptr::null_mut() } else { buf.as_mut_ptr().cast() };
        // SAFETY: both strings are NUL-terminated; `ptr` is null or `buf`.
        let r = unsafe { libc::getxattr(link.as_ptr(), name.as_ptr(), ptr, buf.len()) };
        cvt_size(r)
    }

    fn setxattr(&self, name: &[u8], value: &[u8], flags: u32) -> Result<()> {
        let (link, name) = (self.proc_link()?, xname(name)?);
        // SAFETY: both strings are NUL-terminated; `value` is valid.
        cvt(unsafe { libc::setxattr(link.as_ptr(), name.as_ptr(), value.as_ptr().cast(), value.len(), flags as libc::c_int) })?;
        Ok(())
    }

    fn listxattr(&self, buf: &mut [u8]) -> Result<usize> {
        let link = self.proc_link()?;
        let ptr = if buf.is_empty() { std::ptr::null_mut() } else { buf.as_mut_ptr().cast() };
        // SAFETY: `link` is NUL-terminated; `ptr` is null or `buf`.
        cvt_size(unsafe { libc::listxattr(link.as_ptr(), ptr, buf.len()) })
    }

    fn removexattr(&self, name: &[u8]) -> Result<()> {
        let (link, name) = (self.proc_link()?, xname(name)?);
        // SAFETY: both strings are NUL-terminated.
        cvt(unsafe { libc::removexattr(link.as_ptr(), name.as_ptr()) })?;
        Ok(())
    }

    /// The host filesystem's numbers (df shows what the host has).
    fn statfs(&self) -> Result<StatFs> {
        let fd = match &self.place {
            Place::Dir(fd) | Place::Unnamed(fd) => fd.clone(),
            Place::Entry { parent, .. } => parent.clone(),
        };
        // SAFETY: an all-zero struct statfs is a valid value to overwrite.
        let mut s: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: `s` is a writable struct statfs.
        cvt(unsafe { libc::fstatfs(fd.as_raw_fd(), &mut s) })?;
        // SAFETY: fsid_t is two ints; reading it as bytes is sound.
        let fsid: [u8; 8] = unsafe { std::mem::transmute(s.f_fsid) };
        Ok(StatFs {
            fs_type: s.f_type as u64,
            bsize: s.f_bsize as u64,
            blocks: s.f_blocks,
            bfree: s.f_bfree,
            bavail: s.f_bavail,
            files: s.f_files,
            ffree: s.f_ffree,
            fsid: u64::from_le_bytes(fsid),
            namelen: s.f_namelen as u64,
            // f_flags is not exposed by the libc crate on every target.
            flags: 0,
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// fchmod through any descriptor, O_PATH ones included (via the
/// descriptor's /proc link when fchmod refuses an O_PATH descriptor).
fn fchmod_any(fd: &OwnedFd, mode: u32) -> Result<()> {
    // SAFETY: plain syscall on a descriptor we own.
    if unsafe { libc::fchmod(fd.as_raw_fd(), mode & 0o7777) } == 0 {
        return Ok(());
    }
    let e = last_errno();
    if e != Errno::EBADF {
        return Err(e);
    }
    let link = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `link` is NUL-terminated. The /proc link names exactly the
    // file the descriptor holds (no guest name is walked).
    cvt(unsafe { libc::fchmodat(libc::AT_FDCWD, link.as_ptr(), mode & 0o7777, 0) })?;
    Ok(())
}

/// A /proc/self/fd path, valid while the descriptor it names is held.
struct ProcLink {
    _fd: OwnedFd,
    path: CString,
}

impl ProcLink {
    fn as_ptr(&self) -> *const libc::c_char {
        self.path.as_ptr()
    }
}

/// An attribute name (unlike a file name it may hold `/`).
fn xname(name: &[u8]) -> Result<CString> {
    CString::new(name).map_err(|_| Errno::EINVAL)
}

fn cvt_size(r: isize) -> Result<usize> {
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r as usize)
    }
}

/// An open regular file.
struct HostFile {
    file: File,
}

impl FileOps for HostFile {
    fn read(&self, _host: &mut dyn Host, off: u64, buf: &mut [u8]) -> Result<Io> {
        self.file.read_at(buf, off).map(Io::Done).map_err(host_errno)
    }

    fn write(&self, _host: &mut dyn Host, off: u64, data: &[u8]) -> Result<Io> {
        if off.checked_add(data.len() as u64).is_none_or(|e| e > i64::MAX as u64) {
            return Err(Errno::EFBIG);
        }
        self.file.write_at(data, off).map(Io::Done).map_err(host_errno)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn sync(&self) -> Result<()> {
        self.file.sync_all().map_err(host_errno)
    }

    fn stat(&self) -> Option<Result<Stat>> {
        Some(statx(self.file.as_raw_fd(), EMPTY))
    }

    fn truncate(&self, len: u64) -> Option<Result<()>> {
        Some(self.file.set_len(len).map_err(host_errno))
    }

    fn chmod(&self, mode: u32) -> Option<Result<()>> {
        // SAFETY: plain syscall on a descriptor we own.
        Some(cvt(unsafe { libc::fchmod(self.file.as_raw_fd(), mode & 0o7777) }).map(|_| ()))
    }

    fn read_page(&self, off: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], off + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(host_errno(e)),
            }
        }
        Ok(done)
    }
}

/// An open directory.
struct HostDir {
    dir: OwnedFd,
}

impl FileOps for HostDir {
    fn seekable(&self) -> bool {
        true
    }

    fn read(&self, _host: &mut dyn Host, _off: u64, _buf: &mut [u8]) -> Result<Io> {
        Err(Errno::EISDIR)
    }

    fn readdir(&self) -> Result<Vec<DirEntry>> {
        // A fresh descriptor for the stream: fdopendir takes ownership
        // and the listing always starts at the beginning.
        let fd = openat(self.dir.as_raw_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
        // SAFETY: fdopendir takes over `fd` (released from OwnedFd here);
        // on failure it does not, so it is closed again.
        let raw = fd.as_raw_fd();
        let dirp = unsafe { libc::fdopendir(raw) };
        if dirp.is_null() {
            return Err(last_errno());
        }
        std::mem::forget(fd);
        let mut out = Vec::new();
        loop {
            // SAFETY: `dirp` is a valid open DIR stream until closedir.
            let e = unsafe { libc::readdir64(dirp) };
            if e.is_null() {
                break;
            }
            // SAFETY: readdir64 returned a valid dirent64 whose d_name is
            // NUL-terminated; we copy what we need before the next call.
            let (ino, ty, name) = unsafe { ((*e).d_ino, (*e).d_type, CStr::from_ptr((*e).d_name.as_ptr()).to_bytes().to_vec()) };
            if name == b"." || name == b".." {
                continue;
            }
            let kind = match ty {
                libc::DT_DIR => Some(FileType::Directory),
                libc::DT_REG => Some(FileType::Regular),
                libc::DT_LNK => Some(FileType::Symlink),
                libc::DT_CHR => Some(FileType::CharDev),
                libc::DT_BLK => Some(FileType::BlockDev),
                libc::DT_FIFO => Some(FileType::Fifo),
                libc::DT_SOCK => Some(FileType::Socket),
                _ => None,
            };
            out.push(DirEntry { ino, kind, name });
        }
        // SAFETY: `dirp` came from fdopendir and is closed once.
        unsafe { libc::closedir(dirp) };
        Ok(out)
    }

    fn sync(&self) -> Result<()> {
        // SAFETY: plain syscall on a descriptor we own.
        cvt(unsafe { libc::fsync(self.dir.as_raw_fd()) })?;
        Ok(())
    }
}

/// An O_PATH descriptor: usable as a directory for *at calls and fstat,
/// nothing else.
struct PathOnly;

impl FileOps for PathOnly {}
