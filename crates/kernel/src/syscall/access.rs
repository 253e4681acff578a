//! access(2), faccessat(2), faccessat2(2).

use super::{ret, Ctx, SyscallArgs, SyscallResult, AT_EACCESS, AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW};
use crate::errno::Errno;
use crate::vfs::{permitted, FileType};

fn access_at(ctx: &mut Ctx, dirfd: i32, path: u64, mode: u64, flags: u32) -> SyscallResult {
    if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = ctx.path(path)?;
    // The attributes, and whether the file system is read-only.
    let ro = |s: crate::vfs::Result<crate::vfs::StatFs>| s.is_ok_and(|s| s.flags & 1 != 0);
    let (st, read_only) = if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            let cwd = ctx.process.fs.cwd.inode().clone();
            (cwd.stat()?, ro(cwd.statfs()))
        } else {
            let f = ctx.file(dirfd)?;
            let read_only = match &f.dentry {
                Some(d) => ro(d.inode().statfs()),
                None => ro(Ok(f.ops.statfs())),
            };
            (f.stat()?, read_only)
        }
    } else {
        let d = ctx.lookup_at(dirfd, &path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
        (d.inode().stat()?, ro(d.inode().statfs()))
    };
    // access() checks with the real ids unless AT_EACCESS asks otherwise.
    let c = ctx.process.creds;
    let (uid, gid) = if flags & AT_EACCESS != 0 { (c.euid, c.egid) } else { (c.uid, c.gid) };
    if mode != 0 && !permitted(&st, uid, gid, &ctx.process.cred.groups, mode as u32) {
        return Err(Errno::EACCES);
    }
    // Write access to a file (not a device, FIFO or socket) on a read-only
    // file system is EROFS, as SUSv2 asks and Linux does.
    let special = !matches!(st.file_type(), Some(FileType::Regular | FileType::Directory | FileType::Symlink));
    if mode & 2 != 0 && read_only && !special {
        return Err(Errno::EROFS);
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
