//! rt_sigaction(2), rt_sigprocmask(2): dispositions and the mask are
//! recorded so programs that install handlers at start-up (Python) run;
//! delivery comes with the signals subsystem.

use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;
use crate::signal::Signal;
use crate::task::ExitStatus;

const SIGKILL: u64 = 9;
const SIGSTOP: u64 = 19;
const SIG_BLOCK: u64 = 0;
const SIG_UNBLOCK: u64 = 1;
const SIG_SETMASK: u64 = 2;
/// Only the 64-bit sigset_t is accepted, as on Linux.
const SIGSET_SIZE: u64 = 8;
const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));

pub fn sys_rt_sigaction(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (sig, act, oact, size) = (a.arg(0), a.arg(1), a.arg(2), a.arg(3));
    if size != SIGSET_SIZE || !(1..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    let new = if act != 0 {
        if sig == SIGKILL || sig == SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let mut v = [0u64; 4];
        for (i, w) in v.iter_mut().enumerate() {
            *w = ctx.user().read_val(act.wrapping_add(8 * i as u64))?;
        }
        Some(v)
    } else {
        None
    };
    let i = sig as usize - 1;
    if oact != 0 {
        let old: Vec<u8> = ctx.process.sigactions[i].iter().flat_map(|w| w.to_le_bytes()).collect();
        ctx.user().write_bytes(oact, &old)?;
    }
    if let Some(v) = new {
        ctx.process.sigactions[i] = v;
    }
    ret(0)
}

pub fn sys_rt_sigprocmask(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (how, set, oset, size) = (a.arg(0), a.arg(1), a.arg(2), a.arg(3));
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let old = ctx.process.sigmask;
    if set != 0 {
        let s: u64 = ctx.user().read_val(set)?;
        let new = match how {
            SIG_BLOCK => old | s,
            SIG_UNBLOCK => old & !s,
            SIG_SETMASK => s,
            _ => return Err(Errno::EINVAL),
        };
        ctx.process.sigmask = new & !UNBLOCKABLE;
    }
    if oset != 0 {
        ctx.user().write_val(oset, &old)?;
    }
    ret(0)
}

const SIG_IGN: u64 = 1;

/// Signals whose default action is to do nothing.
fn ignored_by_default(sig: u64) -> bool {
    matches!(sig, 17 | 18 | 23 | 28) // SIGCHLD, SIGCONT, SIGURG, SIGWINCH
}

/// Whether `sig` (1..=64) sent to `p` ends it: no handler runs yet, so a
/// signal that is not ignored, not blocked and not ignored by default
/// takes its default action, which is to terminate.
pub fn default_action_kills(p: &crate::task::Process, sig: u64) -> bool {
    let handler = p.sigactions[sig as usize - 1][0];
    let blocked = p.sigmask & (1 << (sig - 1)) != 0 && sig != 9 && sig != 19;
    !(handler == SIG_IGN || (handler == 0 && ignored_by_default(sig)) || blocked)
}

/// Send `sig` to the calling process (the only one a process can reach
/// so far): with no handler delivery yet, it takes its default action
/// unless ignored.
fn signal_self(ctx: &mut Ctx, sig: u64) -> SyscallResult {
    if sig == 0 {
        return ret(0);
    }
    if !(1..=64).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    if !default_action_kills(ctx.process, sig) {
        return ret(0);
    }
    ctx.process.exit = Some(ExitStatus::Signaled(Signal(sig as u8)));
    Ok(SyscallReturn::NoReturn)
}

/// A write to a pipe with no reader: SIGPIPE, whose default action ends
/// the process; ignored (or caught: handlers do not run yet), the write
/// fails with EPIPE.
pub fn on_epipe(ctx: &mut Ctx, r: SyscallResult) -> SyscallResult {
    const SIGPIPE: u64 = 13;
    if r != Err(Errno::EPIPE) {
        return r;
    }
    let handler = ctx.process.sigactions[SIGPIPE as usize - 1][0];
    if handler == 0 && ctx.process.sigmask & (1 << (SIGPIPE - 1)) == 0 {
        return signal_self(ctx, SIGPIPE);
    }
    r
}

pub fn sys_tkill(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    if a.arg(0) as i32 != ctx.process.pid as i32 {
        return Err(if (a.arg(0) as i32) <= 0 { Errno::EINVAL } else { Errno::ESRCH });
    }
    signal_self(ctx, a.arg(1))
}

pub fn sys_tgkill(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (tgid, tid) = (a.arg(0) as i32, a.arg(1) as i32);
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    if tgid != ctx.process.pid as i32 || tid != ctx.process.pid as i32 {
        return Err(Errno::ESRCH);
    }
    signal_self(ctx, a.arg(2))
}

const SS_DISABLE: u32 = 2;
const MINSIGSTKSZ: u64 = 2048;

/// sigaltstack(2): the alternate stack is recorded (and reported back);
/// it is used once handlers run.
pub fn sys_sigaltstack(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (ss, old) = (a.arg(0), a.arg(1));
    let new = if ss != 0 {
        let sp: u64 = ctx.user().read_val(ss)?;
        let flags: u32 = ctx.user().read_val(ss.wrapping_add(8))?;
        let size: u64 = ctx.user().read_val(ss.wrapping_add(16))?;
        if flags & !(SS_DISABLE | (1 << 31)) != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & SS_DISABLE == 0 && size < MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        }
        Some(if flags & SS_DISABLE != 0 { (0, SS_DISABLE, 0) } else { (sp, flags, size) })
    } else {
        None
    };
    if old != 0 {
        let (sp, flags, size) = ctx.process.altstack;
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&sp.to_le_bytes());
        b[8..12].copy_from_slice(&flags.to_le_bytes());
        b[16..].copy_from_slice(&size.to_le_bytes());
        ctx.user().write_bytes(old, &b)?;
    }
    if let Some(n) = new {
        ctx.process.altstack = n;
    }
    ret(0)
}
