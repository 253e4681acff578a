//! The virtual filesystem: what every filesystem implements ([`Inode`],
//! [`FileOps`]), named nodes and path walking ([`path`]), open file
//! descriptions ([`file`]) and the per-process descriptor table
//! ([`fdtable`]).
//!
//! Filesystems only ever see single, validated names (never `/`, `.` or
//! `..`): the walk, symlink following and the clamping of `..` at the
//! process root all happen here, so no filesystem can be asked for a path
//! outside the tree it serves.

pub mod fdtable;
pub mod file;
pub mod lock;
pub mod path;

use std::any::Any;
use std::cell::Cell;
use std::rc::Rc;

use crate::errno::Errno;
use crate::host::Host;
use crate::mm::UserSpace;

pub use fdtable::FdTable;
pub use file::OpenFile;
pub use path::{Dentry, FsContext, Vfs};

pub type Result<T> = core::result::Result<T, Errno>;
pub type InodeRef = Rc<dyn Inode>;

/// Longest single name in a path (NAME_MAX).
pub const NAME_MAX: usize = 255;
/// Longest path a syscall accepts, including the NUL (PATH_MAX).
pub const PATH_MAX: usize = 4096;

/// The S_IFMT file types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    Fifo,
    CharDev,
    Directory,
    BlockDev,
    Regular,
    Symlink,
    Socket,
}

pub const S_IFMT: u32 = 0o170000;

impl FileType {
    /// The S_IFMT bits of st_mode.
    pub fn mode_bits(self) -> u32 {
        match self {
            FileType::Fifo => 0o010000,
            FileType::CharDev => 0o020000,
            FileType::Directory => 0o040000,
            FileType::BlockDev => 0o060000,
            FileType::Regular => 0o100000,
            FileType::Symlink => 0o120000,
            FileType::Socket => 0o140000,
        }
    }

    pub fn from_mode(mode: u32) -> Option<FileType> {
        Some(match mode & S_IFMT {
            0o010000 => FileType::Fifo,
            0o020000 => FileType::CharDev,
            0o040000 => FileType::Directory,
            0o060000 => FileType::BlockDev,
            0o100000 => FileType::Regular,
            0o120000 => FileType::Symlink,
            0o140000 => FileType::Socket,
            _ => return None,
        })
    }

    /// The DT_* value getdents64 reports.
    pub fn dirent_type(self) -> u8 {
        (self.mode_bits() >> 12) as u8
    }
}

/// A point in time as stat reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: u32,
}

/// What stat/statx report about a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// Device number, in glibc's dev_t encoding (the kernel's on x86-64).
    pub dev: u64,
    pub ino: u64,
    /// File type and permission bits.
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u64,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
    /// Creation time, when the filesystem records one.
    pub btime: Option<Timespec>,
}

impl Stat {
    pub fn file_type(&self) -> Option<FileType> {
        FileType::from_mode(self.mode)
    }
}

/// dev_t's major and minor numbers (glibc's encoding).
pub fn dev_major(dev: u64) -> u32 {
    (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32
}

pub fn dev_minor(dev: u64) -> u32 {
    ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32
}

pub fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (major as u64, minor as u64);
    ((ma & 0xfffff000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffffff00) << 12) | (mi & 0xff)
}

/// One directory entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub ino: u64,
    pub kind: Option<FileType>,
    pub name: Vec<u8>,
}

/// The result of an I/O call that may have to wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Io {
    Done(usize),
    /// Nothing yet: the task waits and the syscall restarts.
    Block,
}

/// rename(2) flags.
pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;
pub const RENAME_WHITEOUT: u32 = 4;

/// A file or directory of some filesystem. Directory operations take one
/// validated name (no `/`, never `.` or `..`). Defaults give the errors
/// Linux gives for objects that do not support the operation.
pub trait Inode {
    /// Which (device, inode) this is: stable while the inode lives, and how
    /// mount points are recognised.
    fn id(&self) -> (u64, u64);
    fn kind(&self) -> FileType;
    fn stat(&self) -> Result<Stat>;

    fn lookup(&self, _name: &[u8]) -> Result<InodeRef> {
        Err(Errno::ENOTDIR)
    }
    fn readlink(&self) -> Result<Vec<u8>> {
        Err(Errno::EINVAL)
    }
    /// For a symlink that leads to an object rather than to the path it
    /// shows (procfs's fd/N, cwd, exe: Linux's "magic links"): where
    /// following it goes. None: follow the text.
    fn follow_link(&self) -> Option<Result<Dentry>> {
        None
    }
    /// Open for I/O. `flags` are the open(2) flags after the VFS handled
    /// O_CREAT/O_EXCL/O_DIRECTORY/O_NOFOLLOW (O_TRUNC is the inode's job).
    fn open(&self, flags: u32) -> Result<Rc<dyn FileOps>>;
    /// Create a regular file; EEXIST if the name is taken.
    fn create(&self, _name: &[u8], _mode: u32) -> Result<InodeRef> {
        Err(Errno::ENOTDIR)
    }
    fn mkdir(&self, _name: &[u8], _mode: u32) -> Result<()> {
        Err(Errno::ENOTDIR)
    }
    /// O_TMPFILE: a regular file in this directory's filesystem that no
    /// directory holds (link count 0), freed when its last holder goes.
    /// `linkable`: linkat(2) may give it a name later (not with O_EXCL).
    fn tmpfile(&self, _mode: u32, _linkable: bool) -> Result<InodeRef> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Create a special file (FIFO, socket, device node; or an empty
    /// regular file) with permission bits `perm` and device number `rdev`.
    fn mknod(&self, _name: &[u8], _kind: FileType, _perm: u32, _rdev: u64) -> Result<()> {
        Err(Errno::EPERM)
    }
    fn unlink(&self, _name: &[u8]) -> Result<()> {
        Err(Errno::ENOTDIR)
    }
    fn rmdir(&self, _name: &[u8]) -> Result<()> {
        Err(Errno::ENOTDIR)
    }
    fn symlink(&self, _name: &[u8], _target: &[u8]) -> Result<()> {
        Err(Errno::ENOTDIR)
    }
    /// Make `name` in this directory a hard link to `target` (same fs).
    fn link(&self, _name: &[u8], _target: &InodeRef) -> Result<()> {
        Err(Errno::ENOTDIR)
    }
    /// Move `old` in this directory to `new` in `new_dir` (same fs).
    fn rename(&self, _old: &[u8], _new_dir: &InodeRef, _new: &[u8], _flags: u32) -> Result<()> {
        Err(Errno::ENOTDIR)
    }
    fn chmod(&self, _mode: u32) -> Result<()> {
        Err(Errno::EPERM)
    }
    fn truncate(&self, _len: u64) -> Result<()> {
        Err(Errno::EINVAL)
    }
    fn statfs(&self) -> Result<StatFs> {
        Ok(StatFs::generic())
    }
    /// Change owner and/or group (None leaves one as is).
    fn chown(&self, _uid: Option<u32>, _gid: Option<u32>) -> Result<()> {
        Err(Errno::EPERM)
    }
    /// Set the access and/or modification time (None leaves one as is).
    fn set_times(&self, _atime: Option<Timespec>, _mtime: Option<Timespec>) -> Result<()> {
        Err(Errno::EPERM)
    }
    /// Extended attributes (xattr(7)); the syscall layer checks names and
    /// permissions. getxattr copies the value into `buf` (an empty `buf`
    /// asks for the length only; too small: ERANGE); listxattr likewise
    /// with the NUL-terminated names. Defaults: a filesystem storing none.
    fn getxattr(&self, _name: &[u8], _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::ENODATA)
    }
    fn setxattr(&self, _name: &[u8], _value: &[u8], _flags: u32) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }
    fn listxattr(&self, _buf: &mut [u8]) -> Result<usize> {
        Ok(0)
    }
    fn removexattr(&self, _name: &[u8]) -> Result<()> {
        Err(Errno::ENODATA)
    }
    fn as_any(&self) -> &dyn Any;
}

/// What a blocked task waits on: a generation counter the object bumps on
/// every change that may unblock someone (data in, data out, an end
/// closed). A task blocked on some queues is retried only once one of
/// their generations moved. Two more counters say which way a change went
/// ([`WaitQueue::notify_events`]), for epoll's edge-triggered mode: new
/// input is an edge for EPOLLIN watchers, a reader making room is not.
#[derive(Clone, Default, Debug)]
pub struct WaitQueue(Rc<QueueCounters>);

#[derive(Default, Debug)]
struct QueueCounters {
    all: Cell<u64>,
    input: Cell<u64>,
    output: Cell<u64>,
}

impl WaitQueue {
    /// Something changed (which way unknown: both directions move).
    pub fn notify(&self) {
        self.notify_events(0x1 | 0x4);
    }

    /// Something changed that concerns these poll events: POLLIN (and
    /// POLLPRI/POLLHUP/POLLERR) move the input counter, POLLOUT the
    /// output one.
    pub fn notify_events(&self, events: u16) {
        let c = &self.0;
        c.all.set(c.all.get().wrapping_add(1));
        if events & !0x4 != 0 {
            c.input.set(c.input.get().wrapping_add(1));
        }
        if events & 0x4 != 0 {
            c.output.set(c.output.get().wrapping_add(1));
        }
    }

    pub fn generation(&self) -> u64 {
        self.0.all.get()
    }

    /// Changes concerning input (see `notify_events`).
    pub fn input_generation(&self) -> u64 {
        self.0.input.get()
    }

    /// Changes concerning output.
    pub fn output_generation(&self) -> u64 {
        self.0.output.get()
    }

    /// Whether two handles are the same queue.
    pub fn same(&self, other: &WaitQueue) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// What an open file does. Offsets are the VFS's business: seekable files
/// get the position in `read`/`write`, streams ignore it.
pub trait FileOps {
    /// The queue a read, write or poll that blocks on this file waits on.
    /// None (the default): the file never blocks, or cannot tell, and a
    /// call blocked on it is retried on every scheduler pass.
    fn wait_queue(&self) -> Option<WaitQueue> {
        None
    }
    /// Every queue a wait on this file depends on, added to `out`; false
    /// when one of them has none (the wait is then retried on every pass).
    /// An epoll instance gives those of the files it watches.
    fn wait_queues(&self, out: &mut Vec<WaitQueue>) -> bool {
        match self.wait_queue() {
            Some(q) => {
                out.push(q);
                true
            }
            None => false,
        }
    }
    /// For a file on the anonymous inode (epoll, eventfd, timerfd,
    /// signalfd, inotify): what /proc/PID/fd/N links to, e.g.
    /// `anon_inode:[eventfd]`.
    fn anon_name(&self) -> Option<&'static str> {
        None
    }
    /// The object itself, for the calls that only work on one kind of file
    /// (epoll_ctl, timerfd_settime, the socket calls, ...) to recognise it.
    fn as_any(&self) -> Option<&dyn Any> {
        None
    }
    fn read(&self, _host: &mut dyn Host, _off: u64, _buf: &mut [u8]) -> Result<Io> {
        Err(Errno::EINVAL)
    }
    fn write(&self, _host: &mut dyn Host, _off: u64, _data: &[u8]) -> Result<Io> {
        Err(Errno::EINVAL)
    }
    /// Whether the file has a position (lseek works, pread is allowed).
    fn seekable(&self) -> bool {
        false
    }
    /// The directory's entries, without `.` and `..` (the VFS adds them).
    fn readdir(&self) -> Result<Vec<DirEntry>> {
        Err(Errno::ENOTDIR)
    }
    fn ioctl(&self, _host: &mut dyn Host, _us: &mut UserSpace, _cmd: u32, _arg: u64) -> Result<u64> {
        Err(Errno::ENOTTY)
    }
    /// An ioctl that opens a new file for a new descriptor (a pty
    /// master's TIOCGPTPEER); None: `cmd` is not one.
    fn ioctl_open(&self, _cmd: u32, _arg: u64) -> Option<Result<Rc<dyn FileOps>>> {
        None
    }
    fn sync(&self) -> Result<()> {
        Ok(())
    }
    /// A hint that `len` bytes at `off` will be read soon (an mmap of
    /// them): a file on a network-backed disk starts fetching them in one
    /// go instead of page fault by page fault.
    fn prefetch(&self, _off: u64, _len: u64) {}
    /// Fill `buf` with file bytes at `off` for a memory mapping (short at
    /// end of file). ENODEV: the file cannot be mapped.
    fn read_page(&self, _off: u64, _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::ENODEV)
    }
    /// What fstat reports, when the open file knows better than its
    /// inode (an open host file still has its attributes after being
    /// renamed or unlinked) or has no inode (the console, pipes). None:
    /// ask the inode.
    fn stat(&self) -> Option<Result<Stat>> {
        None
    }
    /// ftruncate/fchmod through the open file, when it can (an unlinked
    /// host file has no path left). None: use the inode.
    fn truncate(&self, _len: u64) -> Option<Result<()>> {
        None
    }
    fn chmod(&self, _mode: u32) -> Option<Result<()>> {
        None
    }
    /// For files with no inode, what fstatfs reports.
    fn statfs(&self) -> StatFs {
        StatFs::pipefs()
    }
    /// The poll(2) events ready now (POLLIN 1, POLLOUT 4, POLLERR 8,
    /// POLLHUP 16). Files that never wait are always ready.
    fn poll(&self) -> u16 {
        0x1 | 0x4
    }
}

/// The open file of an O_PATH descriptor on an object that cannot be
/// opened for I/O (a symlink, a FIFO): it only names the object, and
/// every I/O call fails as on Linux (EBADF is the descriptor's business).
pub struct PathOnly;

impl FileOps for PathOnly {}

/// What statfs reports (the struct statfs fields that carry values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatFs {
    pub fs_type: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub fsid: u64,
    pub namelen: u64,
    pub flags: u64,
}

impl StatFs {
    /// An ext4-like filesystem of 64 GiB, half free.
    pub fn generic() -> StatFs {
        StatFs {
            fs_type: 0xef53,
            bsize: 4096,
            blocks: 16 << 20,
            bfree: 8 << 20,
            bavail: 8 << 20,
            files: 4 << 20,
            ffree: 2 << 20,
            fsid: 0,
            namelen: NAME_MAX as u64,
            flags: 0x20, // ST_RELATIME
        }
    }

    /// What fstatfs says of a pipe or the console.
    pub fn pipefs() -> StatFs {
        StatFs {
            fs_type: 0x5049_5045,
            bsize: 4096,
            blocks: 0,
            bfree: 0,
            bavail: 0,
            files: 0,
            ffree: 0,
            fsid: 0,
            namelen: NAME_MAX as u64,
            flags: 0,
        }
    }
}

/// A directory with nothing in it: the root of a kernel with no
/// filesystem mounted.
pub struct EmptyDir;

impl Inode for EmptyDir {
    fn id(&self) -> (u64, u64) {
        (0, 1)
    }
    fn kind(&self) -> FileType {
        FileType::Directory
    }
    fn stat(&self) -> Result<Stat> {
        Ok(Stat { ino: 1, mode: FileType::Directory.mode_bits() | 0o755, nlink: 2, blksize: 4096, ..Default::default() })
    }
    fn lookup(&self, _name: &[u8]) -> Result<InodeRef> {
        Err(Errno::ENOENT)
    }
    fn open(&self, _flags: u32) -> Result<Rc<dyn FileOps>> {
        struct Empty;
        impl FileOps for Empty {
            fn readdir(&self) -> Result<Vec<DirEntry>> {
                Ok(Vec::new())
            }
        }
        Ok(Rc::new(Empty))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Permission check by mode bits, as generic_permission does: `mask` is
/// R_OK=4 | W_OK=2 | X_OK=1. Root may read and write anything, and execute
/// anything with an x bit (or any directory). The group class applies
/// when the file's group is `gid` or one of the supplementary `groups`.
pub fn permitted(st: &Stat, uid: u32, gid: u32, groups: &[u32], mask: u32) -> bool {
    if uid == 0 {
        let x_ok = mask & 1 == 0 || st.mode & 0o111 != 0 || st.file_type() == Some(FileType::Directory);
        return x_ok;
    }
    let bits = if st.uid == uid {
        (st.mode >> 6) & 7
    } else if st.gid == gid || groups.contains(&st.gid) {
        (st.mode >> 3) & 7
    } else {
        st.mode & 7
    };
    bits & mask == mask
}

#[cfg(test)]
mod tests;
