//! POSIX timers: timer_settime(2), timer_gettime(2), timer_getoverrun(2),
//! timer_delete(2) (timer_create needs the thread table and is in
//! `kernel/ptimer.rs`), and the CPU-time interval timers ITIMER_VIRTUAL
//! and ITIMER_PROF for getitimer/setitimer (`time.rs`). The scheduler
//! fires them; these calls only arm, read and delete.

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;
use crate::host::Clock;
use crate::task::timers::{CpuItimer, TimerClock};

const NSEC_PER_SEC: u64 = 1_000_000_000;
const TIMER_ABSTIME: u64 = 1;
/// What getitimer reports for a CPU timer already due (one tick at
/// Debian's HZ=250).
const TICK_NSEC: u64 = 4_000_000;

/// The current time on a timer's clock, as the caller sees it. Another
/// thread's CPU clock is not visible from a syscall: the process's stands
/// in for it.
fn now(ctx: &mut Ctx, clock: TimerClock) -> u64 {
    match clock {
        TimerClock::Realtime => ctx.host.now(Clock::Realtime),
        TimerClock::Monotonic => ctx.host.now(Clock::Monotonic),
        TimerClock::ProcessCpu => ctx.process.times.total(),
        TimerClock::ThreadCpu(tid) if tid == ctx.tid => ctx.thread_times.total(),
        TimerClock::ThreadCpu(_) => ctx.process.times.total(),
    }
}

/// A struct itimerspec as (interval, value) in ns.
fn itimerspec_bytes(interval: u64, value: u64) -> [u8; 32] {
    let mut b = [0u8; 32];
    for (i, v) in [interval, value].into_iter().enumerate() {
        b[16 * i..16 * i + 8].copy_from_slice(&(v / NSEC_PER_SEC).to_le_bytes());
        b[16 * i + 8..16 * i + 16].copy_from_slice(&(v % NSEC_PER_SEC).to_le_bytes());
    }
    b
}

/// (interval, time left) of timer `id`: at least 1 ns while armed. An
/// expiry the scheduler has not processed yet is left to it (its signal
/// is still to be sent): the time left is then to the next period, or 0.
fn get(ctx: &mut Ctx, id: i32) -> Result<(u64, u64), Errno> {
    let clock = ctx.process.timers.get_mut(id).ok_or(Errno::EINVAL)?.clock;
    let now = now(ctx, clock);
    let t = ctx.process.timers.get_mut(id).ok_or(Errno::EINVAL)?;
    let left = match t.deadline {
        None => 0,
        Some(d) if d > now => d - now,
        Some(d) => match (now - d).checked_rem(t.interval) {
            Some(late) => t.interval - late,
            None => 0,
        },
    };
    Ok((t.interval, left))
}

/// timer_settime(timerid, flags, new_value, old_value).
pub fn sys_timer_settime(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (id, flags, new, old) = (a.arg(0) as i32, a.arg(1), a.arg(2), a.arg(3));
    if new == 0 {
        return Err(Errno::EINVAL);
    }
    let mut v = [0i64; 4];
    for (k, w) in v.iter_mut().enumerate() {
        *w = ctx.user().read_val(new.wrapping_add(8 * k as u64))?;
    }
    let clock = ctx.process.timers.get_mut(id).ok_or(Errno::EINVAL)?.clock;
    if v[0] < 0 || v[2] < 0 || !(0..NSEC_PER_SEC as i64).contains(&v[1]) || !(0..NSEC_PER_SEC as i64).contains(&v[3]) {
        return Err(Errno::EINVAL);
    }
    let ns = |s: i64, n: i64| (s as u64).saturating_mul(NSEC_PER_SEC).saturating_add(n as u64);
    let (interval, value) = (ns(v[0], v[1]), ns(v[2], v[3]));
    let previous = get(ctx, id)?;
    let now = now(ctx, clock);
    let t = ctx.process.timers.get_mut(id).ok_or(Errno::EINVAL)?;
    // An expiry already due but not yet seen by the scheduler still gets
    // its signal, unless the last one is still pending: then it only
    // counted as its overrun, and that signal is now stale.
    let due = t.expire(now);
    if due > 0 && t.signo != 0 && !t.settle() {
        t.unfired += due;
    }
    t.deadline = match value {
        0 => None,
        v if flags & TIMER_ABSTIME != 0 => Some(v),
        v => Some(now.saturating_add(v)),
    };
    t.interval = if t.deadline.is_some() { interval } else { 0 };
    t.overrun_last = 0;
    t.forget_queued();
    if old != 0 {
        ctx.user().write_bytes(old, &itimerspec_bytes(previous.0, previous.1))?;
    }
    ret(0)
}

pub fn sys_timer_gettime(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (i, v) = get(ctx, a.arg(0) as i32)?;
    ctx.user().write_bytes(a.arg(1), &itimerspec_bytes(i, v))?;
    ret(0)
}

/// The overrun count of the last delivered expiration.
pub fn sys_timer_getoverrun(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let t = ctx.process.timers.get_mut(a.arg(0) as i32).ok_or(Errno::EINVAL)?;
    t.settle();
    ret(u64::from(t.overrun_last))
}

/// A signal already queued stays pending but is dropped when taken, as
/// on Linux.
pub fn sys_timer_delete(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let id = a.arg(0) as i32;
    let ts = &mut ctx.process.timers;
    let i = ts.posix.iter().position(|t| t.id == id).ok_or(Errno::EINVAL)?;
    ts.posix.remove(i).forget_queued();
    ret(0)
}

/// ITIMER_VIRTUAL (1) counts user time, ITIMER_PROF (2) user + system.
fn cpu_itimer<'a>(ctx: &'a mut Ctx, which: u64) -> (&'a mut CpuItimer, u64) {
    let t = ctx.process.times;
    if which == 1 {
        (&mut ctx.process.timers.virt, t.user)
    } else {
        (&mut ctx.process.timers.prof, t.total())
    }
}

/// getitimer for a CPU-time timer: (interval, value) in ns.
pub fn get_cpu_itimer(ctx: &mut Ctx, which: u64) -> (u64, u64) {
    let (t, now) = cpu_itimer(ctx, which);
    let left = t.deadline.map_or(0, |d| if d <= now { TICK_NSEC } else { d - now });
    (t.interval, left)
}

/// setitimer for a CPU-time timer: arm for `value` ns of CPU time (0
/// disarms), re-arming every `interval`. Linux adds one tick to the first
/// expiry (a timer never fires before the full value has been used).
pub fn set_cpu_itimer(ctx: &mut Ctx, which: u64, interval: u64, value: u64) {
    let (t, now) = cpu_itimer(ctx, which);
    t.deadline = (value != 0).then(|| now.saturating_add(value).saturating_add(TICK_NSEC));
    t.interval = if value != 0 { interval } else { 0 };
}
