//! rt_sigaction(2), rt_sigprocmask(2): dispositions and the mask are
//! recorded so programs that install handlers at start-up (Python) run;
//! delivery comes with the signals subsystem.

use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;
use crate::signal::pending::{PendingSet, SigInfo};
use crate::signal::Signal;
use crate::task::ExitStatus;

const SIGKILL: u64 = 9;
const SIGSTOP: u64 = 19;
const SIG_BLOCK: u64 = 0;
const SIG_UNBLOCK: u64 = 1;
const SIG_SETMASK: u64 = 2;
/// Only the 64-bit sigset_t is accepted, as on Linux.
const SIGSET_SIZE: u64 = 8;
pub const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));

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
        // Setting a signal to be ignored discards its pending instances
        // (blocked or not), as POSIX asks.
        if v[0] == SIG_IGN || (v[0] == 0 && ignored_by_default(sig)) {
            ctx.process.pending.discard(sig as u32);
            ctx.sig.pending.discard(sig as u32);
        }
    }
    ret(0)
}

pub fn sys_rt_sigprocmask(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (how, set, oset, size) = (a.arg(0), a.arg(1), a.arg(2), a.arg(3));
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let old = ctx.sig.mask;
    if set != 0 {
        let s: u64 = ctx.user().read_val(set)?;
        let new = match how {
            SIG_BLOCK => old | s,
            SIG_UNBLOCK => old & !s,
            SIG_SETMASK => s,
            _ => return Err(Errno::EINVAL),
        };
        ctx.sig.mask = new & !UNBLOCKABLE;
    }
    if oset != 0 {
        ctx.user().write_val(oset, &old)?;
    }
    ret(0)
}

pub const SIG_IGN: u64 = 1;

/// Signals whose default action is to do nothing: CHLD, CONT, URG, WINCH.
fn ignored_by_default(sig: u64) -> bool {
    matches!(sig, 17 | 18 | 23 | 28)
}

/// The stop signals (STOP, TSTP, TTIN, TTOU): their default action stops
/// the process when delivered, so they are queued, never fatal.
fn stops_by_default(sig: u64) -> bool {
    matches!(sig, 19..=22)
}

/// Whether `sig` (1..=64) with dispositions `acts`, sent to a thread
/// (or process) blocking `mask`, takes its fatal default action now.
pub fn default_action_kills(acts: &[[u64; 4]; 64], mask: u64, sig: u64) -> bool {
    let handler = acts[sig as usize - 1][0];
    let blocked = mask & (1 << (sig - 1)) != 0 && sig != 9 && sig != 19;
    !(handler == SIG_IGN || (handler == 0 && (ignored_by_default(sig) || stops_by_default(sig))) || blocked)
}

/// What sending a signal to a process did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Posted {
    /// Discarded (ignored) or queued for delivery.
    Done,
    /// Its default action ends the process now.
    Kill,
    /// A real-time signal found its queue full (sigqueue: EAGAIN).
    Full,
}

/// Send the signal `info` describes (1..=64) to a thread (or process)
/// blocking `mask`, with pending set `pending`: ignored signals are
/// discarded unless blocked (a blocked signal is never ignored: the
/// disposition may change before it is unblocked, and sigwait/signalfd
/// take it), a fatal default action that is not blocked is reported,
/// anything else is queued.
pub fn post(acts: &[[u64; 4]; 64], mask: u64, pending: &PendingSet, info: SigInfo) -> Posted {
    let sig = u64::from(info.signo());
    let handler = acts[sig as usize - 1][0];
    let blocked = mask & (1 << (sig - 1)) != 0 && sig != SIGKILL && sig != SIGSTOP;
    if !blocked && (handler == SIG_IGN || (handler == 0 && ignored_by_default(sig))) {
        return Posted::Done;
    }
    if handler == 0 && default_action_kills(acts, mask, sig) {
        return Posted::Kill;
    }
    if !pending.post(info) {
        return Posted::Full;
    }
    Posted::Done
}

/// SI_USER: sent by kill/tgkill.
pub const SI_USER: i32 = 0;
pub const SI_TKILL: i32 = -6;

/// rt_sigreturn(2): back from a handler, restore what the frame saved.
pub fn sys_rt_sigreturn(ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    let mut r = Err(oxvm_cpu::Fault::GeneralProtection);
    for _ in 0..8 {
        r = {
            let mut mm = ctx.process.mm.borrow_mut();
            let mut bus = oxvm_cpu::Bus::new(&mut mm.space, ctx.mem);
            crate::signal::frame::restore(ctx.cpu, &mut bus)
        };
        match r {
            Err(oxvm_cpu::Fault::Page { addr, access, .. }) if ctx.process.mm.borrow_mut().handle_fault(ctx.mem, addr, access).is_ok() => {}
            _ => break,
        }
    }
    match r {
        Ok(mask) => {
            ctx.sig.mask = mask & !UNBLOCKABLE;
            Ok(SyscallReturn::NoReturn)
        }
        // A frame that cannot be read: Linux forces SIGSEGV.
        Err(_) => {
            ctx.process.exit = Some(ExitStatus::Signaled(Signal::SIGSEGV));
            Ok(SyscallReturn::NoReturn)
        }
    }
}

/// rt_sigpending(2): pending signals that are blocked.
pub fn sys_rt_sigpending(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    if a.arg(1) > SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let v = (ctx.process.pending.mask() | ctx.sig.pending.mask()) & ctx.sig.mask;
    ctx.user().write_bytes(a.arg(0), &v.to_le_bytes()[..a.arg(1) as usize])?;
    ret(0)
}

/// A write to a pipe with no reader: SIGPIPE, whose default action ends
/// the process; ignored (or caught: handlers do not run yet), the write
/// fails with EPIPE.
pub fn on_epipe(ctx: &mut Ctx, r: SyscallResult) -> SyscallResult {
    const SIGPIPE: u64 = 13;
    if r != Err(Errno::EPIPE) {
        return r;
    }
    let word = u64::from(ctx.process.pid) | u64::from(ctx.process.creds.uid) << 32;
    let (acts, t) = (&ctx.process.sigactions, &mut *ctx.sig);
    if post(acts, t.mask, &t.pending, SigInfo::new(SIGPIPE as u32, SI_USER, word)) == Posted::Kill {
        ctx.process.exit = Some(ExitStatus::Signaled(Signal::SIGPIPE));
        return Ok(SyscallReturn::NoReturn);
    }
    r
}

const SS_DISABLE: u32 = 2;
const MINSIGSTKSZ: u64 = 2048;

/// sigaltstack(2): the alternate stack SA_ONSTACK handlers run on;
/// reported with SS_ONSTACK (and unchangeable) while the caller runs on it.
pub fn sys_sigaltstack(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (ss, old) = (a.arg(0), a.arg(1));
    let (asp, aflags, asize) = ctx.sig.altstack;
    let rsp = ctx.cpu.gpr[oxvm_cpu::state::reg::RSP];
    let on = aflags & SS_DISABLE == 0 && rsp > asp && rsp <= asp.wrapping_add(asize);
    let new = if ss != 0 {
        if on {
            return Err(Errno::EPERM);
        }
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
        let (sp, flags, size) = ctx.sig.altstack;
        let flags = if on { 1 } else { flags };
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&sp.to_le_bytes());
        b[8..12].copy_from_slice(&flags.to_le_bytes());
        b[16..].copy_from_slice(&size.to_le_bytes());
        ctx.user().write_bytes(old, &b)?;
    }
    if let Some(n) = new {
        ctx.sig.altstack = n;
    }
    ret(0)
}
