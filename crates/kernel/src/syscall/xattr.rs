//! Extended attributes: no filesystem stores any yet. Reads find none
//! (ENODATA, as on ext4 without them), lists are empty, writes are
//! refused (EOPNOTSUPP).

use super::{ret, Ctx, SyscallArgs, SyscallResult, AT_FDCWD};
use crate::errno::Errno;

/// The named file must exist, as Linux checks before the attribute.
fn check_path(ctx: &mut Ctx, path: u64, follow: bool) -> Result<(), Errno> {
    let p = ctx.path(path)?;
    ctx.lookup_at(AT_FDCWD, &p, follow)?;
    Ok(())
}

fn check_name(ctx: &mut Ctx, name: u64) -> Result<(), Errno> {
    let n = ctx.user().read_cstring(name, 256).map_err(|e| if e == Errno::ENAMETOOLONG { Errno::ERANGE } else { e })?;
    if n.is_empty() {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

pub fn sys_getxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    check_path(ctx, a.arg(0), true)?;
    check_name(ctx, a.arg(1))?;
    Err(Errno::ENODATA)
}

pub fn sys_lgetxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    check_path(ctx, a.arg(0), false)?;
    check_name(ctx, a.arg(1))?;
    Err(Errno::ENODATA)
}

pub fn sys_fgetxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    ctx.file(a.arg(0) as i32)?;
    check_name(ctx, a.arg(1))?;
    Err(Errno::ENODATA)
}

pub fn sys_listxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    check_path(ctx, a.arg(0), true)?;
    ret(0)
}

pub fn sys_llistxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    check_path(ctx, a.arg(0), false)?;
    ret(0)
}

pub fn sys_flistxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    ctx.file(a.arg(0) as i32)?;
    ret(0)
}

pub fn sys_setxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    check_path(ctx, a.arg(0), true)?;
    Err(Errno::EOPNOTSUPP)
}

pub fn sys_lsetxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    check_path(ctx, a.arg(0), false)?;
    Err(Errno::EOPNOTSUPP)
}

pub fn sys_fsetxattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    ctx.file(a.arg(0) as i32)?;
    Err(Errno::EOPNOTSUPP)
}

pub fn sys_removexattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    check_path(ctx, a.arg(0), true)?;
    Err(Errno::ENODATA)
}

pub fn sys_lremovexattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    check_path(ctx, a.arg(0), false)?;
    Err(Errno::ENODATA)
}

pub fn sys_fremovexattr(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    ctx.file(a.arg(0) as i32)?;
    Err(Errno::ENODATA)
}
