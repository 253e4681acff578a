//! poll(2), ppoll(2).
//!
//! Readiness comes from each file ([`crate::vfs::FileOps::poll`]). With
//! nothing ready an infinite wait sleeps (and restarts when the task runs
//! again); a finite one returns 0 at once, as if its time had passed,
//! until the kernel has timers.

use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;
use crate::fs::pipe::{POLLERR, POLLHUP};

const POLLNVAL: u16 = 0x20;

fn do_poll(ctx: &mut Ctx, fds: u64, nfds: u64, infinite: bool) -> SyscallResult {
    if nfds > ctx.process.files.borrow().max() as u64 {
        return Err(Errno::EINVAL);
    }
    let mut ready = 0u64;
    let mut out = Vec::with_capacity(nfds as usize);
    for i in 0..nfds {
        let at = fds.wrapping_add(8 * i);
        let fd: i32 = ctx.user().read_val(at)?;
        let events: u16 = ctx.user().read_val(at.wrapping_add(4))?;
        let revents = if fd < 0 {
            0
        } else {
            match ctx.file(fd) {
                Ok(f) => f.ops.poll() & (events | POLLERR | POLLHUP),
                Err(_) => POLLNVAL,
            }
        };
        if revents != 0 {
            ready += 1;
        }
        out.push(revents);
    }
    if ready == 0 && infinite {
        return Ok(SyscallReturn::Block);
    }
    for (i, r) in out.iter().enumerate() {
        ctx.user().write_val(fds.wrapping_add(8 * i as u64 + 6), r)?;
    }
    ret(ready)
}

pub fn sys_poll(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    do_poll(ctx, a.arg(0), a.arg(1), (a.arg(2) as i32) < 0)
}

/// The signal mask argument is accepted and ignored: nothing is
/// delivered yet.
pub fn sys_ppoll(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let ts = a.arg(2);
    if ts != 0 {
        let sec: i64 = ctx.user().read_val(ts)?;
        let nsec: i64 = ctx.user().read_val(ts.wrapping_add(8))?;
        if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
            return Err(Errno::EINVAL);
        }
    }
    do_poll(ctx, a.arg(0), a.arg(1), ts == 0)
}
