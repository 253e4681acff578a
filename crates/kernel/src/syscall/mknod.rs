//! mknod(2), mknodat(2): make a regular file, FIFO, socket or device
//! node by name.

use super::{ret, Ctx, SyscallArgs, SyscallResult, AT_FDCWD};
use crate::errno::Errno;
use crate::vfs::{permitted, FileType};

fn mknod_at(ctx: &mut Ctx, dirfd: i32, path: u64, mode: u32, dev: u64) -> SyscallResult {
    let path = ctx.path(path)?;
    let kind = match mode & crate::vfs::S_IFMT {
        0 => FileType::Regular,
        m => FileType::from_mode(m).ok_or(Errno::EINVAL)?,
    };
    match kind {
        FileType::Directory => return Err(Errno::EPERM),
        FileType::Symlink => return Err(Errno::EINVAL),
        // Device nodes need CAP_MKNOD.
        FileType::CharDev | FileType::BlockDev if ctx.process.creds.euid != 0 => return Err(Errno::EPERM),
        _ => {}
    }
    let base = ctx.base(dirfd, &path)?;
    let fs = &ctx.process.fs;
    let p = fs.resolve_parent(&base, &path)?;
    let c = ctx.process.creds;
    if !permitted(&p.dir.inode().stat()?, c.euid, c.egid, 3) {
        return Err(Errno::EACCES);
    }
    if p.name.is_empty() || p.name == b"." || p.name == b".." || p.trailing_slash {
        return Err(Errno::EEXIST);
    }
    // Any existing name, a dangling symlink included.
    if fs.lookup_in(&p.dir, &p.name).is_ok() {
        return Err(Errno::EEXIST);
    }
    let perm = mode & 0o7777 & !fs.umask;
    match kind {
        FileType::Regular => p.dir.inode().create(&p.name, perm).map(|_| ())?,
        FileType::CharDev | FileType::BlockDev => p.dir.inode().mknod(&p.name, kind.mode_bits() | perm, dev & 0xffff_ffff)?,
        _ => p.dir.inode().mknod(&p.name, kind.mode_bits() | perm, 0)?,
    }
    ret(0)
}

pub fn sys_mknod(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    mknod_at(ctx, AT_FDCWD, a.arg(0), a.arg(1) as u32, a.arg(2))
}

pub fn sys_mknodat(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    mknod_at(ctx, a.arg(0) as i32, a.arg(1), a.arg(2) as u32, a.arg(3))
}
