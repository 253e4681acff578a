//! The scheduler as programs see it: one CPU, one policy (SCHED_OTHER),
//! every task runnable in turn. sched_yield(2), sched_getparam(2),
//! sched_setparam(2), sched_getscheduler(2), sched_setscheduler(2),
//! sched_get_priority_max/min(2), sched_rr_get_interval(2).

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;

const SCHED_OTHER: u64 = 0;
const SCHED_FIFO: u64 = 1;
const SCHED_RR: u64 = 2;
const SCHED_BATCH: u64 = 3;
const SCHED_IDLE: u64 = 5;

/// One task runs at a time anyway; the run loop moves on at the next
/// budget slice.
pub fn sys_sched_yield(_ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(0)
}

fn own(ctx: &Ctx, pid: u64) -> Result<(), Errno> {
    match pid as i32 {
        p if p < 0 => Err(Errno::EINVAL),
        0 => Ok(()),
        p if p as u32 == ctx.process.pid => Ok(()),
        _ => Err(Errno::ESRCH),
    }
}

pub fn sys_sched_getscheduler(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    own(ctx, a.arg(0))?;
    ret(SCHED_OTHER)
}

pub fn sys_sched_getparam(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    own(ctx, a.arg(0))?;
    ctx.user().write_val(a.arg(1), &0i32)?;
    ret(0)
}

/// Only SCHED_OTHER/BATCH/IDLE with priority 0 are accepted; the real-time
/// policies need privileges oxvm does not model (EPERM, as for a user).
pub fn sys_sched_setscheduler(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    own(ctx, a.arg(0))?;
    let prio: i32 = ctx.user().read_val(a.arg(2))?;
    match a.arg(1) {
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE if prio == 0 => ret(0),
        SCHED_FIFO | SCHED_RR if (1..=99).contains(&prio) => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_sched_setparam(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    own(ctx, a.arg(0))?;
    let prio: i32 = ctx.user().read_val(a.arg(1))?;
    if prio != 0 {
        return Err(Errno::EINVAL);
    }
    ret(0)
}

pub fn sys_sched_get_priority_max(_ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    match a.arg(0) {
        SCHED_FIFO | SCHED_RR => ret(99),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE => ret(0),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_sched_get_priority_min(_ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    match a.arg(0) {
        SCHED_FIFO | SCHED_RR => ret(1),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE => ret(0),
        _ => Err(Errno::EINVAL),
    }
}

/// SCHED_OTHER tasks have no round-robin slice: 0.
pub fn sys_sched_rr_get_interval(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    own(ctx, a.arg(0))?;
    ctx.user().write_bytes(a.arg(1), &[0u8; 16])?;
    ret(0)
}

/// Any mask that includes CPU 0 is accepted (it is the only one).
pub fn sys_sched_setaffinity(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    own(ctx, a.arg(0))?;
    if a.arg(1) == 0 {
        return Err(Errno::EINVAL);
    }
    let first: u8 = ctx.user().read_val(a.arg(2))?;
    if first & 1 == 0 {
        return Err(Errno::EINVAL);
    }
    ret(0)
}

/// getcpu(2): everything runs on CPU 0 of node 0.
pub fn sys_getcpu(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    for p in [a.arg(0), a.arg(1)] {
        if p != 0 {
            ctx.user().write_val(p, &0u32)?;
        }
    }
    ret(0)
}
