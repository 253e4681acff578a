//! mlock(2), munlock(2), mlockall(2), munlockall(2), mlock2(2): guest
//! memory is never swapped, so locking only checks its arguments (the
//! range must be mapped; RLIMIT_MEMLOCK is not charged).

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;

const MCL_CURRENT: u64 = 1;
const MCL_FUTURE: u64 = 2;
const MCL_ONFAULT: u64 = 4;
const MLOCK_ONFAULT: u64 = 1;

/// Page-align (addr, len) as mlock does and require every page mapped.
fn check_range(ctx: &mut Ctx, addr: u64, len: u64) -> Result<(), Errno> {
    let start = addr & !0xfff;
    let end = addr.checked_add(len).and_then(crate::mm::page_up).ok_or(Errno::ENOMEM)?;
    if start >= end {
        return Ok(());
    }
    let mm = ctx.process.mm.borrow();
    let vmas = mm.vmas();
    let mut at = start;
    while at < end {
        let v = vmas.find(at).ok_or(Errno::ENOMEM)?;
        at = v.end;
    }
    Ok(())
}

pub fn sys_mlock(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    check_range(ctx, a.arg(0), a.arg(1))?;
    ret(0)
}

pub fn sys_mlock2(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    if a.arg(2) & !MLOCK_ONFAULT != 0 {
        return Err(Errno::EINVAL);
    }
    check_range(ctx, a.arg(0), a.arg(1))?;
    ret(0)
}

pub fn sys_munlock(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    check_range(ctx, a.arg(0), a.arg(1))?;
    ret(0)
}

pub fn sys_mlockall(_ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let f = a.arg(0);
    if f == 0 || f & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0 || f == MCL_ONFAULT {
        return Err(Errno::EINVAL);
    }
    ret(0)
}

pub fn sys_munlockall(_ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    ret(0)
}
