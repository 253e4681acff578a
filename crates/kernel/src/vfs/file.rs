//! Open file descriptions: what open(2) creates and dup(2) shares. The
//! offset and the status flags live here, so every descriptor that refers
//! to one description sees the same position.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::lock::{LockTable, Owner};
use super::{Dentry, DirEntry, FileOps, Io, Result, Stat};
use crate::errno::Errno;
use crate::host::Host;

pub const O_ACCMODE: u32 = 3;
pub const O_RDONLY: u32 = 0;
pub const O_WRONLY: u32 = 1;
pub const O_RDWR: u32 = 2;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_NOCTTY: u32 = 0o400;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_DSYNC: u32 = 0o10000;
pub const O_ASYNC: u32 = 0o20000;
pub const O_DIRECT: u32 = 0o40000;
pub const O_LARGEFILE: u32 = 0o100000;
pub const O_DIRECTORY: u32 = 0o200000;
pub const O_NOFOLLOW: u32 = 0o400000;
pub const O_NOATIME: u32 = 0o1000000;
pub const O_CLOEXEC: u32 = 0o2000000;
pub const O_SYNC: u32 = 0o4010000;
pub const O_PATH: u32 = 0o10000000;
pub const O_TMPFILE: u32 = 0o20200000;

/// Status flags F_SETFL may change.
pub const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;

/// One open file description.
pub struct OpenFile {
    pub ops: Rc<dyn FileOps>,
    /// How it was reached (None for the console); fstat, fchdir and the
    /// *at calls use it.
    pub dentry: Option<Dentry>,
    /// Access mode and status flags (O_APPEND, O_NONBLOCK, ...).
    flags: Cell<u32>,
    offset: Cell<u64>,
    /// A directory's listing, taken at the first getdents and dropped when
    /// the position goes back to 0, so a listing is consistent.
    listing: RefCell<Option<Rc<Vec<DirEntry>>>>,
    /// Set once this description holds a flock or OFD lock: its last
    /// close releases them.
    locks: RefCell<Option<Rc<LockTable>>>,
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        if let Some(t) = self.locks.get_mut().take() {
            t.release_owner(Owner::Flock(self.lock_key()));
            t.release_owner(Owner::Ofd(self.lock_key()));
        }
    }
}

impl OpenFile {
    pub fn new(ops: Rc<dyn FileOps>, dentry: Option<Dentry>, flags: u32) -> Rc<OpenFile> {
        let keep = flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
        Rc::new(OpenFile {
            ops,
            dentry,
            flags: Cell::new(keep),
            offset: Cell::new(0),
            listing: RefCell::new(None),
            locks: RefCell::new(None),
        })
    }

    /// The name flock and OFD locks give this description as their owner
    /// (its address: unique while it lives, and it releases them on drop).
    pub fn lock_key(&self) -> usize {
        self as *const OpenFile as usize
    }

    /// Remember that this description holds locks in `table`.
    pub fn note_locks(&self, table: &Rc<LockTable>) {
        self.locks.borrow_mut().get_or_insert_with(|| table.clone());
    }

    pub fn flags(&self) -> u32 {
        self.flags.get()
    }

    /// F_SETFL: only the changeable status flags move.
    pub fn set_status_flags(&self, f: u32) {
        self.flags.set((self.flags.get() & !SETFL_MASK) | (f & SETFL_MASK));
    }

    pub fn readable(&self) -> bool {
        self.flags.get() & O_PATH == 0 && matches!(self.flags.get() & O_ACCMODE, O_RDONLY | O_RDWR)
    }

    pub fn writable(&self) -> bool {
        self.flags.get() & O_PATH == 0 && matches!(self.flags.get() & O_ACCMODE, O_WRONLY | O_RDWR)
    }

    pub fn is_path_only(&self) -> bool {
        self.flags.get() & O_PATH != 0
    }

    pub fn offset(&self) -> u64 {
        self.offset.get()
    }

    pub fn set_offset(&self, off: u64) {
        if off == 0 {
            self.listing.replace(None);
        }
        self.offset.set(off);
    }

    pub fn stat(&self) -> Result<Stat> {
        match (self.ops.stat(), &self.dentry) {
            (Some(st), _) => st,
            (None, Some(d)) => d.inode().stat(),
            (None, None) => Err(Errno::EBADF),
        }
    }

    /// read(2): from the current position, which advances.
    pub fn read(&self, host: &mut dyn Host, buf: &mut [u8]) -> Result<Io> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        let r = self.nonblock(self.ops.read(host, self.offset.get(), buf)?)?;
        if let Io::Done(n) = r {
            if self.ops.seekable() {
                self.offset.set(self.offset.get() + n as u64);
            }
        }
        Ok(r)
    }

    /// write(2): at the position, or at the end with O_APPEND.
    pub fn write(&self, host: &mut dyn Host, data: &[u8]) -> Result<Io> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        let seekable = self.ops.seekable();
        let off = if seekable && self.flags.get() & O_APPEND != 0 { self.stat()?.size } else { self.offset.get() };
        let r = self.nonblock(self.ops.write(host, off, data)?)?;
        if let Io::Done(n) = r {
            if seekable {
                self.offset.set(off + n as u64);
            }
        }
        Ok(r)
    }

    /// A call that would wait fails with EAGAIN under O_NONBLOCK.
    fn nonblock(&self, r: Io) -> Result<Io> {
        if r == Io::Block && self.flags.get() & O_NONBLOCK != 0 {
            return Err(Errno::EAGAIN);
        }
        Ok(r)
    }

    /// pread(2)/pwrite(2) at an explicit position.
    pub fn pread(&self, host: &mut dyn Host, off: u64, buf: &mut [u8]) -> Result<Io> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        if !self.ops.seekable() {
            return Err(Errno::ESPIPE);
        }
        self.ops.read(host, off, buf)
    }

    pub fn pwrite(&self, host: &mut dyn Host, off: u64, data: &[u8]) -> Result<Io> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        if !self.ops.seekable() {
            return Err(Errno::ESPIPE);
        }
        // Linux quirk kept: pwrite on an O_APPEND file appends.
        let off = if self.flags.get() & O_APPEND != 0 { self.stat()?.size } else { off };
        self.ops.write(host, off, data)
    }

    /// The directory listing with `.` and `..` first, from the cache.
    pub fn listing(&self) -> Result<Rc<Vec<DirEntry>>> {
        if let Some(l) = self.listing.borrow().as_ref() {
            return Ok(l.clone());
        }
        let d = self.dentry.as_ref().ok_or(Errno::ENOTDIR)?;
        let mut all = Vec::new();
        let dot = d.inode().id().1;
        let dotdot = d.parent().map_or(dot, |p| p.inode().id().1);
        all.push(DirEntry { ino: dot, kind: Some(super::FileType::Directory), name: b".".to_vec() });
        all.push(DirEntry { ino: dotdot, kind: Some(super::FileType::Directory), name: b"..".to_vec() });
        all.extend(self.ops.readdir()?);
        let l = Rc::new(all);
        self.listing.replace(Some(l.clone()));
        Ok(l)
    }
}
