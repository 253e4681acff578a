//! The naming calls: readlink(2)/readlinkat, mkdir(2)/mkdirat,
//! unlink(2)/unlinkat/rmdir(2), rename(2)/renameat/renameat2,
//! symlink(2)/symlinkat, link(2)/linkat, mknod(2)/mknodat.

use super::{ret, Ctx, SyscallArgs, SyscallResult, AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_FOLLOW};
use crate::errno::Errno;
use crate::vfs::path::Parent;
use crate::vfs::{permitted, FileType, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT};

fn readlink_at(ctx: &mut Ctx, dirfd: i32, path: u64, buf: u64, size: u64) -> SyscallResult {
    let size = size as i32;
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let path = ctx.path(path)?;
    let d = if path.is_empty() {
        // readlinkat(fd, "") reads the link an O_PATH descriptor refers to.
        ctx.file(dirfd)?.dentry.clone().ok_or(Errno::ENOENT)?
    } else {
        ctx.lookup_at(dirfd, &path, false)?
    };
    let target = d.inode().readlink()?;
    let n = target.len().min(size as usize);
    ctx.user().write_bytes(buf, &target[..n])?;
    ret(n as u64)
}

pub fn sys_readlink(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    readlink_at(ctx, AT_FDCWD, a.arg(0), a.arg(1), a.arg(2))
}

pub fn sys_readlinkat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    readlink_at(ctx, a.arg(0) as i32, a.arg(1), a.arg(2), a.arg(3))
}

/// The parent directory of a new or removed name, checked for write and
/// search permission.
fn parent(ctx: &mut Ctx, dirfd: i32, path_addr: u64) -> Result<Parent, Errno> {
    let path = ctx.path(path_addr)?;
    let base = ctx.base(dirfd, &path)?;
    let p = ctx.process.fs.resolve_parent(&base, &path)?;
    let c = ctx.process.creds;
    if !permitted(&p.dir.inode().stat()?, c.euid, c.egid, 3) {
        return Err(Errno::EACCES);
    }
    Ok(p)
}

fn is_dot(name: &[u8]) -> bool {
    name.is_empty() || name == b"." || name == b".."
}

fn mkdir_at(ctx: &mut Ctx, dirfd: i32, path: u64, mode: u64) -> SyscallResult {
    let p = parent(ctx, dirfd, path)?;
    if is_dot(&p.name) {
        return Err(Errno::EEXIST);
    }
    let umask = ctx.process.fs.umask;
    p.dir.inode().mkdir(&p.name, mode as u32 & !umask & 0o7777)?;
    ret(0)
}

pub fn sys_mkdir(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    mkdir_at(ctx, AT_FDCWD, a.arg(0), a.arg(1))
}

pub fn sys_mkdirat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    mkdir_at(ctx, a.arg(0) as i32, a.arg(1), a.arg(2))
}

fn mknod_at(ctx: &mut Ctx, dirfd: i32, path: u64, mode: u64, dev: u64) -> SyscallResult {
    let mode = mode as u32;
    let kind = match mode & crate::vfs::S_IFMT {
        0 => FileType::Regular,
        m => FileType::from_mode(m).ok_or(Errno::EINVAL)?,
    };
    match kind {
        FileType::Directory | FileType::Symlink => return Err(Errno::EPERM),
        // Device nodes need CAP_MKNOD.
        FileType::CharDev | FileType::BlockDev if ctx.process.creds.euid != 0 => return Err(Errno::EPERM),
        _ => {}
    }
    let p = parent(ctx, dirfd, path)?;
    if is_dot(&p.name) || p.trailing_slash {
        return Err(Errno::EEXIST);
    }
    let perm = mode & !ctx.process.fs.umask & 0o7777;
    p.dir.inode().mknod(&p.name, kind, perm, dev)?;
    ret(0)
}

pub fn sys_mknod(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    mknod_at(ctx, AT_FDCWD, a.arg(0), a.arg(1), a.arg(2))
}

pub fn sys_mknodat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    mknod_at(ctx, a.arg(0) as i32, a.arg(1), a.arg(2), a.arg(3))
}

fn rmdir_at(ctx: &mut Ctx, dirfd: i32, path: u64) -> SyscallResult {
    let p = parent(ctx, dirfd, path)?;
    match &p.name[..] {
        b"" => return Err(Errno::EBUSY),
        b"." => return Err(Errno::EINVAL),
        b".." => return Err(Errno::ENOTEMPTY),
        _ => {}
    }
    let victim = ctx.process.fs.lookup_in(&p.dir, &p.name)?;
    if victim.same_inode(&ctx.process.fs.root) {
        return Err(Errno::EBUSY);
    }
    p.dir.inode().rmdir(&p.name)?;
    ret(0)
}

fn unlink_at(ctx: &mut Ctx, dirfd: i32, path: u64) -> SyscallResult {
    let p = parent(ctx, dirfd, path)?;
    if is_dot(&p.name) {
        return Err(Errno::EISDIR);
    }
    if p.trailing_slash {
        let d = ctx.process.fs.lookup_in(&p.dir, &p.name)?;
        return Err(if d.inode().kind() == FileType::Directory { Errno::EISDIR } else { Errno::ENOTDIR });
    }
    p.dir.inode().unlink(&p.name)?;
    ret(0)
}

pub fn sys_unlink(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    unlink_at(ctx, AT_FDCWD, a.arg(0))
}

pub fn sys_rmdir(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    rmdir_at(ctx, AT_FDCWD, a.arg(0))
}

pub fn sys_unlinkat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let flags = a.arg(2) as u32;
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & AT_REMOVEDIR != 0 {
        rmdir_at(ctx, a.arg(0) as i32, a.arg(1))
    } else {
        unlink_at(ctx, a.arg(0) as i32, a.arg(1))
    }
}

fn rename_at(ctx: &mut Ctx, olddir: i32, old: u64, newdir: i32, new: u64, flags: u32) -> SyscallResult {
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
        || (flags & RENAME_EXCHANGE != 0 && flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) != 0)
    {
        return Err(Errno::EINVAL);
    }
    let from = parent(ctx, olddir, old)?;
    let to = parent(ctx, newdir, new)?;
    if is_dot(&from.name) || is_dot(&to.name) {
        return Err(Errno::EBUSY);
    }
    let src = ctx.process.fs.lookup_in(&from.dir, &from.name)?;
    if (from.trailing_slash || to.trailing_slash) && src.inode().kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    from.dir.inode().rename(&from.name, to.dir.inode(), &to.name, flags)?;
    ret(0)
}

pub fn sys_rename(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    rename_at(ctx, AT_FDCWD, a.arg(0), AT_FDCWD, a.arg(1), 0)
}

pub fn sys_renameat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    rename_at(ctx, a.arg(0) as i32, a.arg(1), a.arg(2) as i32, a.arg(3), 0)
}

pub fn sys_renameat2(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    rename_at(ctx, a.arg(0) as i32, a.arg(1), a.arg(2) as i32, a.arg(3), a.arg(4) as u32)
}

fn symlink_at(ctx: &mut Ctx, target: u64, dirfd: i32, path: u64) -> SyscallResult {
    let target = ctx.path(target)?;
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let p = parent(ctx, dirfd, path)?;
    if is_dot(&p.name) || p.trailing_slash {
        return Err(Errno::EEXIST);
    }
    p.dir.inode().symlink(&p.name, &target)?;
    ret(0)
}

pub fn sys_symlink(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    symlink_at(ctx, a.arg(0), AT_FDCWD, a.arg(1))
}

pub fn sys_symlinkat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    symlink_at(ctx, a.arg(0), a.arg(1) as i32, a.arg(2))
}

fn link_at(ctx: &mut Ctx, olddir: i32, old: u64, newdir: i32, new: u64, flags: u32) -> SyscallResult {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let old_path = ctx.path(old)?;
    let src = if old_path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        ctx.file(olddir)?.dentry.clone().ok_or(Errno::ENOENT)?
    } else {
        ctx.lookup_at(olddir, &old_path, flags & AT_SYMLINK_FOLLOW != 0)?
    };
    if src.inode().kind() == FileType::Directory {
        return Err(Errno::EPERM);
    }
    let p = parent(ctx, newdir, new)?;
    if is_dot(&p.name) || p.trailing_slash {
        return Err(Errno::EEXIST);
    }
    p.dir.inode().link(&p.name, src.inode())?;
    ret(0)
}

pub fn sys_link(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    link_at(ctx, AT_FDCWD, a.arg(0), AT_FDCWD, a.arg(1), 0)
}

pub fn sys_linkat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    link_at(ctx, a.arg(0) as i32, a.arg(1), a.arg(2) as i32, a.arg(3), a.arg(4) as u32)
}
