//! A host directory as a filesystem (the native runner's `--root DIR`).
//!
//! Confinement: an inode's host path is the root directory plus names the
//! VFS handed over one at a time, each checked here to be a plain name (no
//! `/`, NUL, `.` or `..`), and each intermediate one was seen by `lstat`
//! as a real directory, not a symlink: symlinks are read with readlink and
//! expanded by the VFS, never followed by the host. Operations on the last
//! component use calls that do not follow symlinks (lstat, unlink, rename,
//! link, O_NOFOLLOW). What remains is a race with *other host processes*
//! swapping a directory for a symlink between two calls; guest processes
//! cannot race the walk since the kernel runs them one at a time.
//!
//! Device nodes in the tree are not opened on the host (a block device
//! would reach the host's disk): the memory devices (null, zero, full,
//! random, urandom) are served by [`crate::dev::mem`], others give ENXIO.
//!
//! Native only: the browser has no host directory (it gets ext2).

use std::any::Any;
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, DirEntryExt, FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::dev::mem::MemDevice;
use crate::errno::Errno;
use crate::host::Host;
use crate::vfs::file::{O_ACCMODE, O_PATH, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY};
use crate::vfs::{DirEntry, FileOps, FileType, Inode, InodeRef, Io, Result, Stat, StatFs, Timespec, RENAME_NOREPLACE};

/// The host's errno for a failed std call (Linux hosts share the numbers).
pub fn host_errno(e: io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(Errno::EIO.0))
}

const O_NOFOLLOW_HOST: i32 = 0o400000;

/// A file or directory inside the host root.
pub struct HostInode {
    path: PathBuf,
    kind: FileType,
    dev: u64,
    ino: u64,
    rdev: u64,
}

/// The root directory of a host tree, as an inode.
pub fn open_root(dir: &Path) -> Result<InodeRef> {
    let m = std::fs::metadata(dir).map_err(host_errno)?;
    if !m.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(Rc::new(HostInode { path: dir.to_path_buf(), kind: FileType::Directory, dev: m.dev(), ino: m.ino(), rdev: 0 }))
}

fn file_type(ft: std::fs::FileType) -> FileType {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        FileType::Directory
    } else if ft.is_symlink() {
        FileType::Symlink
    } else if ft.is_char_device() {
        FileType::CharDev
    } else if ft.is_block_device() {
        FileType::BlockDev
    } else if ft.is_fifo() {
        FileType::Fifo
    } else if ft.is_socket() {
        FileType::Socket
    } else {
        FileType::Regular
    }
}

fn timespec(sec: i64, nsec: i64) -> Timespec {
    Timespec { sec, nsec: nsec as u32 }
}

fn system_time(t: SystemTime) -> Timespec {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => Timespec { sec: d.as_secs() as i64, nsec: d.subsec_nanos() },
        Err(e) => {
            let d = e.duration();
            if d.subsec_nanos() == 0 {
                Timespec { sec: -(d.as_secs() as i64), nsec: 0 }
            } else {
                Timespec { sec: -(d.as_secs() as i64) - 1, nsec: 1_000_000_000 - d.subsec_nanos() }
            }
        }
    }
}

fn stat_of(m: &std::fs::Metadata) -> Stat {
    Stat {
        dev: m.dev(),
        ino: m.ino(),
        mode: m.mode(),
        nlink: m.nlink(),
        uid: m.uid(),
        gid: m.gid(),
        rdev: m.rdev(),
        size: m.size(),
        blksize: m.blksize(),
        blocks: m.blocks(),
        atime: timespec(m.atime(), m.atime_nsec()),
        mtime: timespec(m.mtime(), m.mtime_nsec()),
        ctime: timespec(m.ctime(), m.ctime_nsec()),
        btime: m.created().ok().map(system_time),
    }
}

impl HostInode {
    /// The host path of `name` in this directory; the name must be one
    /// plain component (the VFS guarantees it; this is the last line).
    fn child_path(&self, name: &[u8]) -> Result<PathBuf> {
        if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0) {
            return Err(Errno::EINVAL);
        }
        if self.kind != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        Ok(self.path.join(OsStr::from_bytes(name)))
    }

    fn from_path(path: PathBuf) -> Result<HostInode> {
        let m = std::fs::symlink_metadata(&path).map_err(host_errno)?;
        Ok(HostInode { kind: file_type(m.file_type()), dev: m.dev(), ino: m.ino(), rdev: m.rdev(), path })
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
        std::fs::symlink_metadata(&self.path).map(|m| stat_of(&m)).map_err(host_errno)
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        Ok(Rc::new(HostInode::from_path(self.child_path(name)?)?))
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        if self.kind != FileType::Symlink {
            return Err(Errno::EINVAL);
        }
        std::fs::read_link(&self.path).map(|p| p.into_os_string().into_encoded_bytes()).map_err(host_errno)
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
                Ok(Rc::new(HostDir { path: self.path.clone() }))
            }
            FileType::Regular => {
                let mut o = OpenOptions::new();
                o.read(acc == O_RDONLY || acc == O_RDWR).write(acc == O_WRONLY || acc == O_RDWR).custom_flags(O_NOFOLLOW_HOST);
                if flags & O_TRUNC != 0 && acc != O_RDONLY {
                    o.truncate(true);
                }
                if acc == 3 {
                    // The "no access" mode some programs use for ioctls.
                    o.read(true);
                }
                let file = o.open(&self.path).map_err(host_errno)?;
                Ok(Rc::new(HostFile { file }))
            }
            FileType::CharDev => MemDevice::from_rdev(self.rdev).map(|d| Rc::new(d) as Rc<dyn FileOps>).ok_or(Errno::ENXIO),
            FileType::Symlink => Err(Errno::ELOOP),
            FileType::BlockDev | FileType::Fifo | FileType::Socket => Err(Errno::ENXIO),
        }
    }

    fn create(&self, name: &[u8], mode: u32) -> Result<InodeRef> {
        let p = self.child_path(name)?;
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode & 0o7777)
            .custom_flags(O_NOFOLLOW_HOST)
            .open(&p)
            .map_err(host_errno)?;
        // The host's umask applied too; the guest's already did.
        f.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777)).map_err(host_errno)?;
        Ok(Rc::new(HostInode::from_path(p)?))
    }

    fn mkdir(&self, name: &[u8], mode: u32) -> Result<()> {
        let p = self.child_path(name)?;
        std::fs::DirBuilder::new().mode(mode & 0o7777).create(&p).map_err(host_errno)?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode & 0o7777)).map_err(host_errno)
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        let p = self.child_path(name)?;
        let m = std::fs::symlink_metadata(&p).map_err(host_errno)?;
        if m.is_dir() {
            return Err(Errno::EISDIR);
        }
        std::fs::remove_file(p).map_err(host_errno)
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        let p = self.child_path(name)?;
        let m = std::fs::symlink_metadata(&p).map_err(host_errno)?;
        if !m.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        std::fs::remove_dir(p).map_err(host_errno)
    }

    fn symlink(&self, name: &[u8], target: &[u8]) -> Result<()> {
        let p = self.child_path(name)?;
        std::os::unix::fs::symlink(OsStr::from_bytes(target), p).map_err(host_errno)
    }

    fn link(&self, name: &[u8], target: &InodeRef) -> Result<()> {
        let t = target.as_any().downcast_ref::<HostInode>().ok_or(Errno::EXDEV)?;
        let p = self.child_path(name)?;
        std::fs::hard_link(&t.path, p).map_err(host_errno)
    }

    fn rename(&self, old: &[u8], new_dir: &InodeRef, new: &[u8], flags: u32) -> Result<()> {
        let nd = new_dir.as_any().downcast_ref::<HostInode>().ok_or(Errno::EXDEV)?;
        let (from, to) = (self.child_path(old)?, nd.child_path(new)?);
        if flags & !RENAME_NOREPLACE != 0 {
            // RENAME_EXCHANGE and RENAME_WHITEOUT need renameat2 on the host.
            return Err(Errno::EINVAL);
        }
        let fm = std::fs::symlink_metadata(&from).map_err(host_errno)?;
        match std::fs::symlink_metadata(&to) {
            Ok(_) if flags & RENAME_NOREPLACE != 0 => return Err(Errno::EEXIST),
            Ok(tm) if tm.is_dir() && !fm.is_dir() => return Err(Errno::EISDIR),
            Ok(tm) if !tm.is_dir() && fm.is_dir() => return Err(Errno::ENOTDIR),
            _ => {}
        }
        std::fs::rename(from, to).map_err(host_errno)
    }

    fn chmod(&self, mode: u32) -> Result<()> {
        if self.kind == FileType::Symlink {
            return Err(Errno(95)); // EOPNOTSUPP, as Linux for symlinks
        }
        std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(mode & 0o7777)).map_err(host_errno)
    }

    fn truncate(&self, len: u64) -> Result<()> {
        match self.kind {
            FileType::Directory => return Err(Errno::EISDIR),
            FileType::Regular => {}
            _ => return Err(Errno::EINVAL),
        }
        let f = OpenOptions::new().write(true).custom_flags(O_NOFOLLOW_HOST).open(&self.path).map_err(host_errno)?;
        f.set_len(len).map_err(host_errno)
    }

    fn set_times(&self, atime: Option<Timespec>, mtime: Option<Timespec>) -> Result<()> {
        if self.kind == FileType::Symlink {
            // std can only set times through an open file, which would
            // follow the link.
            return Err(Errno::EOPNOTSUPP);
        }
        let when = |t: Timespec| {
            if t.sec >= 0 {
                UNIX_EPOCH + std::time::Duration::new(t.sec as u64, t.nsec)
            } else {
                UNIX_EPOCH - std::time::Duration::from_secs(t.sec.unsigned_abs()) + std::time::Duration::from_nanos(t.nsec as u64)
            }
        };
        let mut times = std::fs::FileTimes::new();
        if let Some(a) = atime {
            times = times.set_accessed(when(a));
        }
        if let Some(m) = mtime {
            times = times.set_modified(when(m));
        }
        let f = OpenOptions::new().read(true).custom_flags(O_NOFOLLOW_HOST).open(&self.path).map_err(host_errno)?;
        f.set_times(times).map_err(host_errno)
    }

    /// The host filesystem's numbers (df shows what the host has).
    fn statfs(&self) -> Result<StatFs> {
        let c = std::ffi::CString::new(self.path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
        // SAFETY: an all-zero struct statfs is a valid value to overwrite.
        let mut s: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is NUL-terminated and `s` is a writable struct statfs.
        if unsafe { libc::statfs(c.as_ptr(), &mut s) } != 0 {
            return Err(host_errno(io::Error::last_os_error()));
        }
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
        Some(self.file.metadata().map(|m| stat_of(&m)).map_err(host_errno))
    }

    fn truncate(&self, len: u64) -> Option<Result<()>> {
        Some(self.file.set_len(len).map_err(host_errno))
    }

    fn chmod(&self, mode: u32) -> Option<Result<()>> {
        Some(self.file.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777)).map_err(host_errno))
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
    path: PathBuf,
}

impl FileOps for HostDir {
    fn seekable(&self) -> bool {
        true
    }

    fn read(&self, _host: &mut dyn Host, _off: u64, _buf: &mut [u8]) -> Result<Io> {
        Err(Errno::EISDIR)
    }

    fn readdir(&self) -> Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.path).map_err(host_errno)? {
            let e = e.map_err(host_errno)?;
            out.push(DirEntry { ino: e.ino(), kind: e.file_type().ok().map(file_type), name: e.file_name().into_encoded_bytes() });
        }
        Ok(out)
    }
}

/// An O_PATH descriptor: usable as a directory for *at calls and fstat,
/// nothing else.
struct PathOnly;

impl FileOps for PathOnly {}
