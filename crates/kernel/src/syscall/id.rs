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

pub fn sys_gettid(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.tid as u64)
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

/// Process groups and sessions: each process leads its own group and
/// session until fork and job control exist.
pub fn sys_getpgrp(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(ctx.process.pid as u64)
}

fn own(ctx: &Ctx, pid: u64) -> Result<(), Errno> {
    let pid = pid as i32;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 && pid as u32 != ctx.process.pid {
        return Err(Errno::ESRCH);
    }
    Ok(())
}

pub fn sys_getpgid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    own(ctx, a.arg(0))?;
    ret(ctx.process.pid as u64)
}

pub fn sys_getsid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    own(ctx, a.arg(0))?;
    ret(ctx.process.pid as u64)
}

pub fn sys_setpgid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    own(ctx, a.arg(0))?;
    let pgid = a.arg(1) as i32;
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    if pgid != 0 && pgid as u32 != ctx.process.pid {
        return Err(Errno::EPERM);
    }
    ret(0)
}

/// A group leader cannot start a session, and every process leads one.
pub fn sys_setsid(_ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    Err(Errno::EPERM)
}

fn put_ids(ctx: &mut Ctx, addrs: [u64; 3], ids: [u32; 3]) -> SyscallResult {
    for (a, v) in addrs.iter().zip(ids) {
        ctx.user().write_val(*a, &v)?;
    }
    ret(0)
}

/// getresuid(2): real, effective, saved (the saved id is the effective
/// one: nothing changes credentials yet).
pub fn sys_getresuid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let c = ctx.process.creds;
    put_ids(ctx, [a.arg(0), a.arg(1), a.arg(2)], [c.uid, c.euid, c.euid])
}

pub fn sys_getresgid(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let c = ctx.process.creds;
    put_ids(ctx, [a.arg(0), a.arg(1), a.arg(2)], [c.gid, c.egid, c.egid])
}
