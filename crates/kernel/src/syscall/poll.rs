//! poll(2), ppoll(2), select(2), pselect6(2).
//!
//! Readiness comes from each file ([`crate::vfs::FileOps::poll`]). With
//! nothing ready the call blocks on the files' wait queues (it restarts and
//! looks again once one moved), a finite timeout as its deadline (see
//! `epoll::timed_out`), and then reports nothing ready.

use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;
use crate::fs::pipe::{POLLERR, POLLHUP, POLLIN, POLLOUT};

const POLLNVAL: u16 = 0x20;
const NSEC_PER_SEC: u64 = 1_000_000_000;

/// How long a call may wait.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    Forever,
    /// Nanoseconds (0: just look).
    For(u64),
}

/// Nothing is ready: block until something moves or the time is up,
/// then return 0.
fn nothing_ready(ctx: &mut Ctx, wait: Wait) -> SyscallResult {
    let timeout = match wait {
        Wait::Forever => None,
        Wait::For(ns) => Some(ns),
    };
    if super::epoll::timed_out(ctx, timeout) {
        return ret(0);
    }
    Ok(SyscallReturn::Block)
}

fn do_poll(ctx: &mut Ctx, fds: u64, nfds: u64, wait: Wait) -> SyscallResult {
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
    if ready == 0 {
        return nothing_ready(ctx, wait);
    }
    for (i, r) in out.iter().enumerate() {
        ctx.user().write_val(fds.wrapping_add(8 * i as u64 + 6), r)?;
    }
    ret(ready)
}

/// A struct timespec (or timeval, `unit` ns per fraction unit) timeout;
/// NULL waits forever.
fn timeout(ctx: &mut Ctx, addr: u64, unit: u64) -> Result<Wait, Errno> {
    if addr == 0 {
        return Ok(Wait::Forever);
    }
    let sec: i64 = ctx.user().read_val(addr)?;
    let frac: i64 = ctx.user().read_val(addr.wrapping_add(8))?;
    if sec < 0 || frac < 0 || frac as u64 * unit >= NSEC_PER_SEC {
        return Err(Errno::EINVAL);
    }
    Ok(Wait::For((sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(frac as u64 * unit)))
}

pub fn sys_poll(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let ms = a.arg(2) as i32;
    let wait = if ms < 0 { Wait::Forever } else { Wait::For(ms as u64 * 1_000_000) };
    do_poll(ctx, a.arg(0), a.arg(1), wait)
}

/// ppoll(2): poll with a timespec timeout and a signal mask for the wait.
pub fn sys_ppoll(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let wait = timeout(ctx, a.arg(2), 1)?;
    let applied = super::sigwait::wait_mask(ctx, a.arg(3), a.arg(4))?;
    let r = do_poll(ctx, a.arg(0), a.arg(1), wait);
    super::sigwait::end_wait_mask(ctx, applied, &r);
    r
}

/// The three fd_set bitmaps of select, checked and answered.
fn do_select(ctx: &mut Ctx, nfds: u64, sets: [u64; 3], wait: Wait) -> SyscallResult {
    let nfds = nfds as i32;
    if nfds < 0 || nfds as usize > ctx.process.files.borrow().max() {
        return Err(Errno::EINVAL);
    }
    let words = (nfds as usize).div_ceil(64);
    let mut input = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
    for (set, addr) in input.iter_mut().zip(sets) {
        if addr != 0 {
            for (w, v) in set.iter_mut().enumerate() {
                *v = ctx.user().read_val(addr.wrapping_add(8 * w as u64))?;
            }
        }
    }
    let mut output = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
    let mut ready = 0u64;
    for fd in 0..nfds as usize {
        let (w, bit) = (fd / 64, 1u64 << (fd % 64));
        if (input[0][w] | input[1][w] | input[2][w]) & bit == 0 {
            continue;
        }
        let mask = ctx.file(fd as i32)?.ops.poll();
        if input[0][w] & bit != 0 && mask & (POLLIN | POLLHUP | POLLERR) != 0 {
            output[0][w] |= bit;
            ready += 1;
        }
        if input[1][w] & bit != 0 && mask & (POLLOUT | POLLERR) != 0 {
            output[1][w] |= bit;
            ready += 1;
        }
    }
    if ready == 0 {
        let r = nothing_ready(ctx, wait)?;
        if r == SyscallReturn::Block {
            return Ok(r);
        }
    }
    for (set, addr) in output.iter().zip(sets) {
        if addr != 0 {
            let bytes: Vec<u8> = set.iter().flat_map(|v| v.to_le_bytes()).collect();
            ctx.user().write_bytes(addr, &bytes)?;
        }
    }
    ret(ready)
}

pub fn sys_select(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let wait = timeout(ctx, a.arg(4), 1000)?;
    let r = do_select(ctx, a.arg(0), [a.arg(1), a.arg(2), a.arg(3)], wait)?;
    // select reports the time left: none after a full timeout (left as
    // given when something was ready).
    if r == SyscallReturn::Return(0) && a.arg(4) != 0 {
        ctx.user().write_bytes(a.arg(4), &[0u8; 16])?;
    }
    Ok(r)
}

/// The sixth argument points at { const sigset_t *ss; size_t ss_len }.
pub fn sys_pselect6(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let wait = timeout(ctx, a.arg(4), 1)?;
    let (ss, len) = if a.arg(5) != 0 {
        let ss: u64 = ctx.user().read_val(a.arg(5))?;
        let len: u64 = ctx.user().read_val(a.arg(5).wrapping_add(8))?;
        (ss, len)
    } else {
        (0, 0)
    };
    let applied = super::sigwait::wait_mask(ctx, ss, len)?;
    let r = do_select(ctx, a.arg(0), [a.arg(1), a.arg(2), a.arg(3)], wait);
    super::sigwait::end_wait_mask(ctx, applied, &r);
    r
}
