//! open(2), openat(2), creat(2), close(2).

use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn, AT_FDCWD};
use crate::errno::Errno;
use crate::fs::pipe::FifoOpen;
use crate::vfs::file::*;
use crate::vfs::{permitted, FileType, OpenFile};

pub fn sys_open(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let path = ctx.path(a.arg(0))?;
    open_at(ctx, AT_FDCWD, &path, a.arg(1) as u32, a.arg(2) as u32)
}

pub fn sys_openat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let path = ctx.path(a.arg(1))?;
    open_at(ctx, a.arg(0) as i32, &path, a.arg(2) as u32, a.arg(3) as u32)
}

pub fn sys_creat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let path = ctx.path(a.arg(0))?;
    open_at(ctx, AT_FDCWD, &path, O_CREAT | O_WRONLY | O_TRUNC, a.arg(1) as u32)
}

pub fn sys_close(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let f = ctx.process.files.borrow_mut().close(a.arg(0) as i32)?;
    super::lock::on_close(ctx, &f);
    ret(0)
}

fn open_at(ctx: &mut Ctx, dirfd: i32, path: &[u8], flags: u32, mode: u32) -> SyscallResult {
    if flags & O_TMPFILE == O_TMPFILE {
        return open_tmpfile(ctx, dirfd, path, flags, mode);
    }
    let fs = ctx.process.fs.clone();
    let base = ctx.base(dirfd, path)?;
    let creds = ctx.process.creds;
    // An existing file opened with O_CREAT is just opened, following every
    // link: this also reaches what procfs's magic links (/dev/stdout ->
    // /proc/self/fd/1) lead to, which have no parent directory and name.
    let existing = (flags & O_CREAT != 0 && flags & (O_EXCL | O_PATH) == 0 && path.last() != Some(&b'/'))
        .then(|| fs.resolve(&base, path, flags & O_NOFOLLOW == 0).ok())
        .flatten();
    let dentry = if let Some(d) = existing {
        d
    } else if flags & O_CREAT != 0 && flags & O_PATH == 0 {
        let follow = flags & (O_EXCL | O_NOFOLLOW) == 0;
        let p = fs.resolve_create(&base, path, follow)?;
        if p.trailing_slash || p.name.is_empty() || p.name == b"." || p.name == b".." {
            return Err(Errno::EISDIR);
        }
        match fs.lookup_in(&p.dir, &p.name) {
            Ok(_) if flags & O_EXCL != 0 => return Err(Errno::EEXIST),
            Ok(d) => d,
            Err(Errno::ENOENT) => {
                let dst = p.dir.inode().stat()?;
                if !permitted(&dst, creds.euid, creds.egid, &fs.walker_groups, 3) {
                    return Err(Errno::EACCES);
                }
                p.dir.inode().create(&p.name, mode & !fs.umask & 0o7777)?;
                fs.lookup_in(&p.dir, &p.name)?
            }
            Err(e) => return Err(e),
        }
    } else {
        fs.resolve(&base, path, flags & O_NOFOLLOW == 0)?
    };
    let kind = dentry.inode().kind();
    if flags & O_PATH == 0 {
        if kind == FileType::Symlink {
            return Err(Errno::ELOOP);
        }
        if kind == FileType::Directory && (flags & O_ACCMODE != O_RDONLY || flags & O_CREAT != 0) {
            return Err(Errno::EISDIR);
        }
        let want = match flags & O_ACCMODE {
            O_RDONLY => 4,
            O_WRONLY => 2,
            _ => 6,
        };
        if !permitted(&dentry.inode().stat()?, creds.euid, creds.egid, &fs.walker_groups, want) {
            return Err(Errno::EACCES);
        }
    }
    if flags & O_DIRECTORY != 0 && kind != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    // A FIFO's inode cannot open itself (ENXIO): it names a kernel pipe,
    // shared by every open of the name. What procfs links lead to (an
    // anonymous pipe, the console) opens the object itself, as on Linux.
    let ops = match dentry.inode().open(flags) {
        Err(Errno::ENXIO) if kind == FileType::Fifo && flags & O_PATH == 0 => {
            let id = dentry.inode().id();
            let (r, w) = match flags & O_ACCMODE {
                O_RDONLY => (true, false),
                O_WRONLY => (false, true),
                _ => (true, true),
            };
            match fs.vfs.fifos.open(id, r, w, flags & O_NONBLOCK != 0, ctx.progress)? {
                FifoOpen::Opened(ops) => ops,
                FifoOpen::Wait(q) => {
                    ctx.wait_on(vec![q], true);
                    return Ok(SyscallReturn::Block);
                }
            }
        }
        r => r?,
    };
    let file = OpenFile::new(ops, Some(dentry), flags);
    let fd = ctx.process.files.borrow_mut().insert(file, flags & O_CLOEXEC != 0)?;
    ret(fd as u64)
}

/// open(2) with O_TMPFILE: an unnamed regular file in the directory
/// `path` names, open for writing; linkat(2) may name it later unless
/// O_EXCL was given. /proc/PID/fd shows it as `DIR/#INO (deleted)`.
fn open_tmpfile(ctx: &mut Ctx, dirfd: i32, path: &[u8], flags: u32, mode: u32) -> SyscallResult {
    if flags & O_ACCMODE == O_RDONLY || flags & O_CREAT != 0 {
        return Err(Errno::EINVAL);
    }
    let fs = ctx.process.fs.clone();
    let base = ctx.base(dirfd, path)?;
    let dir = fs.resolve(&base, path, flags & O_NOFOLLOW == 0)?;
    if dir.inode().kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    let creds = ctx.process.creds;
    if !permitted(&dir.inode().stat()?, creds.euid, creds.egid, &fs.walker_groups, 3) {
        return Err(Errno::EACCES);
    }
    let inode = dir.inode().tmpfile(mode & !fs.umask & 0o7777, flags & O_EXCL == 0)?;
    let name = format!("#{}", inode.id().1);
    let dentry = dir.anon_child(name.as_bytes(), inode.clone());
    // What is left once the file is open: the access mode and status flags.
    let flags = flags & !(O_TMPFILE | O_EXCL);
    let ops = inode.open(flags)?;
    let file = OpenFile::new(ops, Some(dentry), flags);
    let fd = ctx.process.files.borrow_mut().insert(file, flags & O_CLOEXEC != 0)?;
    ret(fd as u64)
}

const CLOSE_RANGE_UNSHARE: u64 = 2;
const CLOSE_RANGE_CLOEXEC: u64 = 4;

/// close_range(2): close (or mark close-on-exec) every descriptor in
/// [first, last]. CLOSE_RANGE_UNSHARE is accepted: the table is changed in
/// place, which is the same unless a CLONE_FILES sibling shares it.
pub fn sys_close_range(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (first, last, flags) = (a.arg(0) as u32, a.arg(1) as u32, a.arg(2));
    if first > last || flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut t = ctx.process.files.borrow_mut();
    let fds: Vec<i32> = t.fds().filter(|&fd| (first..=last).contains(&(fd as u32))).collect();
    for fd in fds {
        if flags & CLOSE_RANGE_CLOEXEC != 0 {
            t.set_cloexec(fd, true)?;
        } else {
            let f = t.close(fd)?;
            super::lock::on_close(ctx, &f);
        }
    }
    ret(0)
}
