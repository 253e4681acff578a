//! access(2), faccessat(2), faccessat2(2).

use super::{ret, Ctx, SyscallArgs, SyscallResult, AT_EACCESS, AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW};
use crate::errno::Errno;
use crate::vfs::permitted;

fn access_at(ctx: &mut Ctx, dirfd: i32, path: u64, mode: u64, flags: u32) -> SyscallResult {
    if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = ctx.path(path)?;
    let st = if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            ctx.process.fs.cwd.inode().stat()?
        } else {
            ctx.file(dirfd)?.stat()?
        }
    } else {
        ctx.lookup_at(dirfd, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?.inode().stat()?
    };
    // access() checks with the real ids unless AT_EACCESS asks otherwise.
    let c = ctx.process.creds;
    let (uid, gid) = if flags & AT_EACCESS != 0 { (c.euid, c.egid) } else { (c.uid, c.gid) };
    if mode != 0 && !permitted(&st, uid, gid, &ctx.process.cred.groups, mode as u32) {
        return Err(Errno::EACCES);
    }
    ret(0)
}

pub fn sys_access(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    access_at(ctx, AT_FDCWD, a.arg(0), a.arg(1), 0)
}

pub fn sys_faccessat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    access_at(ctx, a.arg(0) as i32, a.arg(1), a.arg(2), 0)
}

pub fn sys_faccessat2(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    access_at(ctx, a.arg(0) as i32, a.arg(1), a.arg(2), a.arg(3) as u32)
}
