//! /proc/PID/fd/N and /proc/PID/fdinfo/N: what each descriptor refers to.
//! A file reached by a path shows that path (from the process's root);
//! objects without one show Linux's `pipe:[ino]`, `socket:[ino]`,
//! `anon_inode:[...]` forms, and the console its device path. Following
//! the link (open("/dev/stdin")) reaches the object itself.

use std::any::Any;
use std::rc::Rc;

use super::ProcInfo;
use crate::errno::Errno;
use crate::vfs::file::{O_ACCMODE, O_RDONLY, O_WRONLY};
use crate::vfs::{dev_major, dev_minor, Dentry, FileOps, FileType, Inode, InodeRef, OpenFile, Result, Stat, StatFs};

fn file(p: &ProcInfo, fd: i32) -> Result<Rc<OpenFile>> {
    p.files.as_ref().ok_or(Errno::ENOENT)?.borrow().get(fd).map_err(|_| Errno::ENOENT)
}

/// The link's text.
pub fn target(p: &ProcInfo, fd: i32) -> Result<Vec<u8>> {
    let f = file(p, fd)?;
    if let Some(d) = &f.dentry {
        let mut path = d.path_from(&p.root);
        // An unlinked file still open shows so, as on Linux.
        if f.stat().is_ok_and(|st| st.nlink == 0) {
            path.extend_from_slice(b" (deleted)");
        }
        return Ok(path);
    }
    if let Some(name) = f.ops.anon_name() {
        return Ok(name.as_bytes().to_vec());
    }
    let st = f.stat()?;
    Ok(match st.file_type() {
        Some(FileType::Fifo) => format!("pipe:[{}]", st.ino).into_bytes(),
        Some(FileType::Socket) => format!("socket:[{}]", st.ino).into_bytes(),
        Some(FileType::CharDev) => match (dev_major(st.rdev), dev_minor(st.rdev)) {
            (136, n) => format!("/dev/pts/{n}").into_bytes(),
            (1, 3) => b"/dev/null".to_vec(),
            (5, 0) => b"/dev/tty".to_vec(),
            (5, 1) => b"/dev/console".to_vec(),
            (ma, mi) => format!("/dev/char/{ma}:{mi}").into_bytes(),
        },
        // An anonymous object that did not name itself (anon_name).
        _ => b"anon_inode:[unknown]".to_vec(),
    })
}

/// The link's permission bits: r and w by the open mode, x always... as
/// Linux: lr-x------ for O_RDONLY, l-wx------ for O_WRONLY, lrwx------.
pub fn link_mode(p: &ProcInfo, fd: i32) -> Result<u32> {
    let f = file(p, fd)?;
    Ok(match f.flags() & O_ACCMODE {
        O_RDONLY => 0o500,
        O_WRONLY => 0o300,
        _ => 0o700,
    })
}

/// fdinfo/N: position, flags (octal, with O_CLOEXEC), mount id, inode.
pub fn info(reg: &super::ProcRegistry, p: &ProcInfo, fd: i32) -> Result<String> {
    let files = p.files.as_ref().ok_or(Errno::ENOENT)?;
    let (f, cloexec) = {
        let t = files.borrow();
        (t.get(fd).map_err(|_| Errno::ENOENT)?, t.cloexec(fd).unwrap_or(false))
    };
    let mut flags = f.flags();
    if cloexec {
        flags |= crate::vfs::file::O_CLOEXEC;
    }
    // Opens by path are O_LARGEFILE on 64-bit Linux (pipes and sockets
    // are not).
    if f.dentry.is_some() {
        flags |= crate::vfs::file::O_LARGEFILE;
    }
    let st = f.stat().unwrap_or_default();
    Ok(format!("pos:\t{}\nflags:\t0{:o}\nmnt_id:\t{}\nino:\t{}\n", f.offset(), flags, super::system::mount_id(reg, st.dev), st.ino))
}

/// Where following the link leads: the file's own dentry, or for an
/// object reached without a path, an unnamed dentry of it.
pub fn follow(p: &ProcInfo, fd: i32) -> Result<Dentry> {
    let f = file(p, fd)?;
    if let Some(d) = &f.dentry {
        return Ok(d.clone());
    }
    let inode: InodeRef = Rc::new(Anon { ops: f.ops.clone(), owner: (p.creds.euid, p.creds.egid) });
    Ok(Dentry::root(inode))
}

/// An object without a path (a pipe, the console), reached through
/// /proc/PID/fd: opening it opens the same object again.
struct Anon {
    ops: Rc<dyn FileOps>,
    owner: (u32, u32),
}

impl Inode for Anon {
    fn id(&self) -> (u64, u64) {
        let st = self.stat().unwrap_or_default();
        (st.dev, st.ino)
    }
    fn kind(&self) -> FileType {
        self.stat().ok().and_then(|s| s.file_type()).unwrap_or(FileType::Regular)
    }
    fn stat(&self) -> Result<Stat> {
        let mut st = self.ops.stat().unwrap_or(Err(Errno::EBADF))?;
        if st.uid == 0 && st.gid == 0 {
            (st.uid, st.gid) = self.owner;
        }
        Ok(st)
    }
    fn open(&self, _flags: u32) -> Result<Rc<dyn FileOps>> {
        Ok(self.ops.clone())
    }
    fn statfs(&self) -> Result<StatFs> {
        Ok(self.ops.statfs())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
