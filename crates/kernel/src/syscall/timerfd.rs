//! timerfd_create(2), timerfd_settime(2), timerfd_gettime(2). The timer
//! is `event::timerfd`; the kernel expires armed timers as it schedules.

use std::rc::Rc;

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;
use crate::event::timerfd::TimerFd;
use crate::host::Clock;
use crate::vfs::file::{O_CLOEXEC, O_NONBLOCK, O_RDWR};
use crate::vfs::OpenFile;

const NSEC_PER_SEC: u64 = 1_000_000_000;
const TFD_TIMER_ABSTIME: u64 = 1;
const TFD_TIMER_CANCEL_ON_SET: u64 = 2;

pub fn sys_timerfd_create(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (clockid, flags) = (a.arg(0) as i32, a.arg(1) as u32);
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let clock = match clockid {
        0 | 8 => Clock::Realtime,      // REALTIME, REALTIME_ALARM
        1 | 7 | 9 => Clock::Monotonic, // MONOTONIC, BOOTTIME, BOOTTIME_ALARM (no suspend here)
        _ => return Err(Errno::EINVAL),
    };
    let t = Rc::new(TimerFd::new(clock));
    ctx.timers.register(&t);
    let f = OpenFile::new(t, None, O_RDWR | (flags & O_NONBLOCK));
    let fd = ctx.process.files.borrow_mut().insert(f, flags & O_CLOEXEC != 0)?;
    ret(fd as u64)
}

/// A struct timespec in ns, checked as timespec64_valid does.
fn timespec(sec: i64, nsec: i64) -> Result<u64, Errno> {
    if sec < 0 || !(0..NSEC_PER_SEC as i64).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(nsec as u64))
}

/// struct itimerspec {it_interval, it_value}.
fn itimerspec(interval: u64, value: u64) -> [u8; 32] {
    let mut b = [0u8; 32];
    for (i, v) in [interval / NSEC_PER_SEC, interval % NSEC_PER_SEC, value / NSEC_PER_SEC, value % NSEC_PER_SEC].iter().enumerate() {
        b[8 * i..8 * i + 8].copy_from_slice(&v.to_le_bytes());
    }
    b
}

fn timer_of(ctx: &Ctx, fd: i32) -> Result<Rc<OpenFile>, Errno> {
    let f = ctx.process.files.borrow().get(fd)?;
    f.ops.as_any().and_then(|a| a.downcast_ref::<TimerFd>()).ok_or(Errno::EINVAL)?;
    Ok(f)
}

pub fn sys_timerfd_settime(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (fd, flags, new, old) = (a.arg(0) as i32, a.arg(1), a.arg(2), a.arg(3));
    let mut w = [0i64; 4];
    for (i, v) in w.iter_mut().enumerate() {
        *v = ctx.user().read_val(new.wrapping_add(8 * i as u64))?;
    }
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let (interval, value) = (timespec(w[0], w[1])?, timespec(w[2], w[3])?);
    let f = timer_of(ctx, fd)?;
    let t = f.ops.as_any().and_then(|a| a.downcast_ref::<TimerFd>()).ok_or(Errno::EINVAL)?;
    let (left, every) = t.set(ctx.host, value, interval, flags & TFD_TIMER_ABSTIME != 0);
    // A new deadline may be earlier than the one the scheduler knows.
    ctx.timers.expire(ctx.host);
    if old != 0 {
        ctx.user().write_bytes(old, &itimerspec(every, left))?;
    }
    ret(0)
}

pub fn sys_timerfd_gettime(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let f = timer_of(ctx, a.arg(0) as i32)?;
    let t = f.ops.as_any().and_then(|a| a.downcast_ref::<TimerFd>()).ok_or(Errno::EINVAL)?;
    let (left, every) = t.get(ctx.host);
    ctx.user().write_bytes(a.arg(1), &itimerspec(every, left))?;
    ret(0)
}
