//! Identity: getpid(2), getppid(2), gettid(2), getuid(2), geteuid(2),
//! getgid(2), getegid(2), getgroups(2).

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;

pub fn sys_getpid(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.process.pid as u64)
}

pub fn sys_getppid(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.process.ppid as u64)
}

/// One task per process so far: the thread id is the process id.
pub fn sys_gettid(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.process.pid as u64)
}

pub fn sys_getuid(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.process.creds.uid as u64)
}

pub fn sys_geteuid(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.process.creds.euid as u64)
}

pub fn sys_getgid(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.process.creds.gid as u64)
}

pub fn sys_getegid(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.process.creds.egid as u64)
}

/// No supplementary groups.
pub fn sys_getgroups(_ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    if (a.arg(0) as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    ret(0)
}
