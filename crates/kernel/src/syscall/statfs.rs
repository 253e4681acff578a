//! statfs(2), fstatfs(2).

use super::{ret, Ctx, SyscallArgs, SyscallResult, AT_FDCWD};
use crate::vfs::StatFs;

/// struct statfs (120 bytes).
fn statfs_bytes(s: &StatFs) -> [u8; 120] {
    let mut b = [0u8; 120];
    let words = [s.fs_type, s.bsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.fsid, s.namelen, s.bsize, s.flags];
    for (i, w) in words.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    b
}

pub fn sys_statfs(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let path = ctx.path(a.arg(0))?;
    let s = ctx.lookup_at(AT_FDCWD, &path, true)?.inode().statfs()?;
    ctx.user().write_bytes(a.arg(1), &statfs_bytes(&s))?;
    ret(0)
}

pub fn sys_fstatfs(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let f = ctx.file(a.arg(0) as i32)?;
    let s = match &f.dentry {
        Some(d) => d.inode().statfs()?,
        None => f.ops.statfs(),
    };
    ctx.user().write_bytes(a.arg(1), &statfs_bytes(&s))?;
    ret(0)
}
