//! Per-thread registrations glibc makes at start-up: set_tid_address(2),
//! set_robust_list(2), rseq(2).

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;

/// Recorded for thread exit (the kernel zeroes the word and futex-wakes
/// it); returns the caller's thread id.
pub fn sys_set_tid_address(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    *ctx.clear_child_tid = a.arg(0);
    ret(ctx.tid as u64)
}

/// sizeof(struct robust_list_head).
const ROBUST_LIST_HEAD_SIZE: u64 = 24;

pub fn sys_set_robust_list(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    if a.arg(1) != ROBUST_LIST_HEAD_SIZE {
        return Err(Errno::EINVAL);
    }
    ctx.process.robust_list = (a.arg(0), a.arg(1));
    ret(0)
}

/// get_robust_list(2) for the caller (pid 0) or its own pid; another
/// process's list needs ptrace rights oxvm does not grant.
pub fn sys_get_robust_list(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let pid = a.arg(0) as i32;
    if pid != 0 && pid as u32 != ctx.tid && pid as u32 != ctx.process.pid {
        return Err(Errno::EPERM);
    }
    let (head, len) = ctx.process.robust_list;
    ctx.user().write_val(a.arg(1), &head)?;
    ctx.user().write_val(a.arg(2), &len)?;
    ret(0)
}

/// Restartable sequences are not offered; glibc then carries on without
/// them (and sched_getcpu falls back to getcpu).
pub fn sys_rseq(_ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    Err(Errno::ENOSYS)
}
