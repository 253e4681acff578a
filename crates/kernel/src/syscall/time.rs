//! clock_gettime(2), gettimeofday(2), time(2): the host's clocks.

use super::{ret, Ctx, SyscallArgs, SyscallResult, SyscallReturn};
use crate::errno::Errno;
use crate::host::Clock;
use crate::mm::{UserPtr, UserValue};

const NSEC_PER_SEC: u64 = 1_000_000_000;

/// struct timespec / struct timeval: seconds and a sub-second part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimePair {
    pub sec: i64,
    pub frac: i64,
}

impl UserValue for TimePair {
    const SIZE: usize = 16;
    fn from_bytes(b: &[u8]) -> Self {
        TimePair { sec: i64::from_bytes(&b[..8]), frac: i64::from_bytes(&b[8..16]) }
    }
    fn to_bytes(&self, out: &mut [u8]) {
        self.sec.to_bytes(&mut out[..8]);
        self.frac.to_bytes(&mut out[8..16]);
    }
}

/// The host clock behind a Linux clock id. The CPU-time clocks are
/// answered from the kernel's accounting by clock_gettime; elsewhere
/// (sleeps, timers) they run as the monotonic clock.
fn clock_of(id: u64) -> Result<Clock, Errno> {
    match id as i32 {
        0 | 5 | 8 => Ok(Clock::Realtime),          // REALTIME, REALTIME_COARSE, REALTIME_ALARM
        1 | 4 | 6 | 7 | 9 => Ok(Clock::Monotonic), // MONOTONIC, _RAW, _COARSE, BOOTTIME, BOOTTIME_ALARM
        2 | 3 => Ok(Clock::Monotonic),             // PROCESS_CPUTIME_ID, THREAD_CPUTIME_ID
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_clock_gettime(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let clock = clock_of(a.arg(0))?;
    let ns = match a.arg(0) as i32 {
        2 => super::rusage::cpu_clock(ctx, false),
        3 => super::rusage::cpu_clock(ctx, true),
        _ => ctx.host.now(clock),
    };
    let ts = TimePair { sec: (ns / NSEC_PER_SEC) as i64, frac: (ns % NSEC_PER_SEC) as i64 };
    UserPtr::<TimePair>::new(a.arg(1)).write(&mut ctx.user(), &ts)?;
    Ok(SyscallReturn::Return(0))
}

pub fn sys_clock_getres(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    clock_of(a.arg(0))?;
    let res = UserPtr::<TimePair>::new(a.arg(1));
    if !res.is_null() {
        res.write(&mut ctx.user(), &TimePair { sec: 0, frac: 1 })?;
    }
    Ok(SyscallReturn::Return(0))
}

pub fn sys_gettimeofday(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let ns = ctx.host.now(Clock::Realtime);
    let tv = UserPtr::<TimePair>::new(a.arg(0));
    if !tv.is_null() {
        tv.write(&mut ctx.user(), &TimePair { sec: (ns / NSEC_PER_SEC) as i64, frac: (ns % NSEC_PER_SEC / 1000) as i64 })?;
    }
    // struct timezone is obsolete: report UTC, no DST.
    let tz = UserPtr::<u64>::new(a.arg(1));
    if !tz.is_null() {
        tz.write(&mut ctx.user(), &0)?;
    }
    Ok(SyscallReturn::Return(0))
}

pub fn sys_time(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let sec = ctx.host.now(Clock::Realtime) / NSEC_PER_SEC;
    let out = UserPtr::<u64>::new(a.arg(0));
    if !out.is_null() {
        out.write(&mut ctx.user(), &sec)?;
    }
    Ok(SyscallReturn::Return(sec))
}

/// A struct timespec argument, validated as nanosleep does.
fn read_timespec(ctx: &mut Ctx, addr: u64) -> Result<(i64, i64), Errno> {
    let t = UserPtr::<TimePair>::new(addr).read(&mut ctx.user())?;
    if t.sec < 0 || !(0..NSEC_PER_SEC as i64).contains(&t.frac) {
        return Err(Errno::EINVAL);
    }
    Ok((t.sec, t.frac))
}

fn sleep_for(ctx: &mut Ctx, ns: u64) -> SyscallResult {
    let until = ctx.host.now(Clock::Monotonic).saturating_add(ns);
    Ok(SyscallReturn::Sleep { until, value: 0 })
}

/// nanosleep(2): the task sleeps; nothing interrupts it yet, so `rem` is
/// never written.
pub fn sys_nanosleep(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (sec, nsec) = read_timespec(ctx, a.arg(0))?;
    sleep_for(ctx, (sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(nsec as u64))
}

const TIMER_ABSTIME: u64 = 1;

pub fn sys_clock_nanosleep(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let id = a.arg(0) as i32;
    // The CPU-time clocks of the caller cannot be slept on.
    if id == 3 {
        return Err(Errno::EINVAL);
    }
    let clock = clock_of(a.arg(0))?;
    let (sec, nsec) = read_timespec(ctx, a.arg(2))?;
    let t = (sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(nsec as u64);
    let ns = if a.arg(1) & TIMER_ABSTIME != 0 { t.saturating_sub(ctx.host.now(clock)) } else { t };
    sleep_for(ctx, ns)
}

/// alarm(2): sets the ITIMER_REAL deadline (SIGALRM, raised by the
/// scheduler) and returns the seconds left of the previous one.
pub fn sys_alarm(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let now = ctx.host.now(crate::host::Clock::Monotonic);
    let secs = a.arg(0) as u32;
    ctx.process.itimer_interval = 0;
    let old = ctx.process.alarm.take().map_or(0, |d: u64| {
        let left = d.saturating_sub(now);
        // Linux rounds to the nearest second, and never reports 0 for a live alarm.
        ((left + 500_000_000) / 1_000_000_000).max(1)
    });
    if secs != 0 {
        ctx.process.alarm = Some(now.saturating_add(u64::from(secs) * 1_000_000_000));
    }
    ret(old)
}

/// A struct itimerval as (interval, value) in ns.
fn itimerval_bytes(interval: u64, value: u64) -> [u8; 32] {
    let mut b = [0u8; 32];
    for (i, v) in [interval, value].into_iter().enumerate() {
        b[16 * i..16 * i + 8].copy_from_slice(&(v / NSEC_PER_SEC).to_le_bytes());
        b[16 * i + 8..16 * i + 16].copy_from_slice(&(v % NSEC_PER_SEC / 1000).to_le_bytes());
    }
    b
}

const ITIMER_REAL: u64 = 0;

/// The current ITIMER_REAL as (interval, value) in ns.
fn itimer_real(ctx: &mut Ctx) -> (u64, u64) {
    let now = ctx.host.now(Clock::Monotonic);
    (ctx.process.itimer_interval, ctx.process.alarm.map_or(0, |d| d.saturating_sub(now).max(1000)))
}

/// getitimer(2): ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF.
pub fn sys_getitimer(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (i, v) = match a.arg(0) {
        ITIMER_REAL => itimer_real(ctx),
        w @ (1 | 2) => super::timer::get_cpu_itimer(ctx, w),
        _ => return Err(Errno::EINVAL),
    };
    ctx.user().write_bytes(a.arg(1), &itimerval_bytes(i, v))?;
    ret(0)
}

/// setitimer(2): ITIMER_REAL drives SIGALRM (it shares alarm's
/// deadline); ITIMER_VIRTUAL and ITIMER_PROF count the process's CPU time
/// and raise SIGVTALRM and SIGPROF (`syscall/timer.rs`).
pub fn sys_setitimer(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let which = a.arg(0);
    if which > 2 {
        return Err(Errno::EINVAL);
    }
    let mut new = None;
    if a.arg(1) != 0 {
        let mut v = [0i64; 4];
        for (k, w) in v.iter_mut().enumerate() {
            *w = ctx.user().read_val(a.arg(1).wrapping_add(8 * k as u64))?;
        }
        if v.iter().any(|&x| x < 0) || v[1] >= 1_000_000 || v[3] >= 1_000_000 {
            return Err(Errno::EINVAL);
        }
        let ns = |s: i64, us: i64| (s as u64).saturating_mul(NSEC_PER_SEC).saturating_add(us as u64 * 1000);
        new = Some((ns(v[0], v[1]), ns(v[2], v[3])));
    }
    let (oi, ov) = if which == ITIMER_REAL { itimer_real(ctx) } else { super::timer::get_cpu_itimer(ctx, which) };
    if a.arg(2) != 0 {
        ctx.user().write_bytes(a.arg(2), &itimerval_bytes(oi, ov))?;
    }
    match (new, which) {
        (Some((interval, value)), ITIMER_REAL) => {
            let now = ctx.host.now(Clock::Monotonic);
            ctx.process.itimer_interval = interval;
            ctx.process.alarm = (value != 0).then(|| now.saturating_add(value));
        }
        (Some((interval, value)), w) => super::timer::set_cpu_itimer(ctx, w, interval, value),
        (None, _) => {}
    }
    ret(0)
}

/// pause(2): wait for a signal; the interruption returns EINTR.
pub fn sys_pause(_ctx: &mut Ctx, _a: &SyscallArgs) -> SyscallResult {
    Ok(SyscallReturn::Block)
}

/// clock_settime(2): CLOCK_REALTIME sets the guest's own clock (after the
/// checks Linux makes first: a readable, valid timespec); clocks that
/// cannot be set give EINVAL.
pub fn sys_clock_settime(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let id = a.arg(0) as i32;
    let ts = UserPtr::<TimePair>::new(a.arg(1)).read(&mut ctx.user())?;
    clock_of(a.arg(0))?;
    if id != 0 {
        return Err(Errno::EINVAL);
    }
    if ts.sec < 0 || !(0..NSEC_PER_SEC as i64).contains(&ts.frac) {
        return Err(Errno::EINVAL);
    }
    set_realtime(ctx, (ts.sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(ts.frac as u64))
}

/// CAP_SYS_TIME of capabilities(7).
const CAP_SYS_TIME: u32 = 25;

/// Set the guest's real-time clock (the VM's own; the host's is never
/// changed). Needs CAP_SYS_TIME, as on Linux.
fn set_realtime(ctx: &mut Ctx, ns: u64) -> SyscallResult {
    if !ctx.process.cred.capable(CAP_SYS_TIME) {
        return Err(Errno::EPERM);
    }
    if !ctx.host.set_realtime(ns) {
        return Err(Errno::EPERM);
    }
    ret(0)
}

/// settimeofday(2): as clock_settime on CLOCK_REALTIME, after the timeval
/// and time zone are read and checked.
pub fn sys_settimeofday(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let mut to = None;
    if a.arg(0) != 0 {
        let tv = UserPtr::<TimePair>::new(a.arg(0)).read(&mut ctx.user())?;
        if tv.sec < 0 || !(0..1_000_000).contains(&tv.frac) {
            return Err(Errno::EINVAL);
        }
        to = Some((tv.sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(tv.frac as u64 * 1000));
    }
    if a.arg(1) != 0 {
        let mut tz = [0u8; 8];
        ctx.user().read_bytes(a.arg(1), &mut tz)?;
    }
    match to {
        Some(ns) => set_realtime(ctx, ns),
        // Only a time zone: the kernel keeps none that matters.
        None if ctx.process.cred.capable(CAP_SYS_TIME) => ret(0),
        None => Err(Errno::EPERM),
    }
}
