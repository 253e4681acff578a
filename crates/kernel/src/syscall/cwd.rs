//! getcwd(2), chdir(2), fchdir(2), chroot(2).

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;
use crate::vfs::{permitted, Dentry, FileType};

pub fn sys_getcwd(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let fs = &ctx.process.fs;
    let mut path = fs.cwd.path_from(&fs.root);
    path.push(0);
    if (a.arg(1) as usize) < path.len() {
        return Err(Errno::ERANGE);
    }
    ctx.user().write_bytes(a.arg(0), &path)?;
    ret(path.len() as u64)
}

fn enter(ctx: &mut Ctx, d: Dentry) -> SyscallResult {
    if d.inode().kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    let c = ctx.process.creds;
    if !permitted(&d.inode().stat()?, c.euid, c.egid, 1) {
        return Err(Errno::EACCES);
    }
    ctx.process.fs.cwd = d;
    ret(0)
}

pub fn sys_chdir(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let path = ctx.path(a.arg(0))?;
    let fs = &ctx.process.fs;
    let d = fs.resolve(&fs.cwd, &path, true)?;
    enter(ctx, d)
}

pub fn sys_fchdir(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let d = ctx.file(a.arg(0) as i32)?.dentry.clone().ok_or(Errno::ENOTDIR)?;
    enter(ctx, d)
}

/// chroot(2): the calling process's root becomes the directory (root
/// only). The working directory stays where it is, as on Linux.
pub fn sys_chroot(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let path = ctx.path(a.arg(0))?;
    let fs = &ctx.process.fs;
    let d = fs.resolve(&fs.cwd, &path, true)?;
    if d.inode().kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    let c = ctx.process.creds;
    if !permitted(&d.inode().stat()?, c.euid, c.egid, 1) {
        return Err(Errno::EACCES);
    }
    if c.euid != 0 {
        return Err(Errno::EPERM);
    }
    ctx.process.fs.root = d;
    ret(0)
}
