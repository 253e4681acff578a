//! rt_sigtimedwait(2) (sigwaitinfo, sigtimedwait, sigwait): wait for a
//! signal of a set, normally blocked, and take it instead of delivering
//! it. Also the temporary signal mask of epoll_pwait, ppoll and pselect6
//! ([`wait_mask`]). rt_sigqueueinfo/rt_tgsigqueueinfo need other processes, so the run
//! loop handles them (`kernel/sigqueue.rs`).

use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;

const NSEC_PER_SEC: u64 = 1_000_000_000;

pub fn sys_rt_sigtimedwait(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (uthese, uinfo, uts, size) = (a.arg(0), a.arg(1), a.arg(2), a.arg(3));
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let set: u64 = ctx.user().read_val(uthese)?;
    let set = set & !super::signal::UNBLOCKABLE;
    let timeout = if uts != 0 {
        let sec: i64 = ctx.user().read_val(uts)?;
        let nsec: i64 = ctx.user().read_val(uts.wrapping_add(8))?;
        if sec < 0 || !(0..NSEC_PER_SEC as i64).contains(&nsec) {
            return Err(Errno::EINVAL);
        }
        Some((sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(nsec as u64))
    } else {
        None
    };
    // Thread-directed signals first, as dequeue_signal takes them.
    let got = ctx.sig.pending.take_from(set).or_else(|| ctx.process.pending.take_from(set));
    if got.is_some() || super::epoll::timed_out(ctx, timeout) {
        // While waiting, the set was blocked so that its signals come here
        // rather than to their handlers; the caller's mask comes back.
        if let Some(m) = ctx.sig.saved_mask.take() {
            ctx.sig.mask = m;
        }
        let Some(info) = got else { return Err(Errno::EAGAIN) };
        if uinfo != 0 {
            ctx.user().write_bytes(uinfo, &info.0)?;
        }
        return ret(u64::from(info.signo()));
    }
    if ctx.sig.saved_mask.is_none() {
        ctx.sig.saved_mask = Some(ctx.sig.mask);
    }
    ctx.sig.mask |= set;
    let queues = vec![ctx.sig.pending.queue(), ctx.process.pending.queue()];
    ctx.wait_on(queues, true);
    Ok(SyscallReturn::Block)
}

/// A waiting call's `sigmask` argument (NULL: none): the mask for the
/// duration of the wait. The caller's mask is kept in `saved_mask`, as
/// rt_sigsuspend keeps it: a signal the new mask lets in interrupts the
/// wait and its handler runs with the saved mask in its frame. Returns
/// whether a mask was applied (then call [`end_wait_mask`]).
pub fn wait_mask(ctx: &mut Ctx, sigmask: u64, size: u64) -> Result<bool, Errno> {
    if sigmask == 0 {
        return Ok(false);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let m: u64 = ctx.user().read_val(sigmask)?;
    if ctx.sig.saved_mask.is_none() {
        ctx.sig.saved_mask = Some(ctx.sig.mask);
    }
    ctx.sig.mask = m & !super::signal::UNBLOCKABLE;
    Ok(true)
}

/// The end of a wait under [`wait_mask`]: unless it blocks again, the
/// caller's mask comes back at once (a signal it blocks stays pending).
pub fn end_wait_mask(ctx: &mut Ctx, applied: bool, r: &SyscallResult) {
    if applied && *r != Ok(SyscallReturn::Block) {
        if let Some(m) = ctx.sig.saved_mask.take() {
            ctx.sig.mask = m;
        }
    }
}
