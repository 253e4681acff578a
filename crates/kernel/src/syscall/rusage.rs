//! getrusage(2) and times(2): CPU time as the kernel measured it (host
//! time spent running each thread's guest code, and in its syscalls).

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;
use crate::host::Clock;
use crate::task::CpuTimes;

const RUSAGE_SELF: i32 = 0;
const RUSAGE_CHILDREN: i32 = -1;
const RUSAGE_THREAD: i32 = 1;

/// Clock ticks per second, as times(2) counts (USER_HZ).
pub const USER_HZ: u64 = 100;

/// struct rusage (144 bytes): user and system time as timevals, then
/// fourteen longs of which oxvm keeps none yet (max RSS, faults, context
/// switches read 0).
pub fn rusage_bytes(t: CpuTimes) -> [u8; 144] {
    let mut b = [0u8; 144];
    let tv = |ns: u64| ((ns / 1_000_000_000) as i64, ((ns % 1_000_000_000) / 1000) as i64);
    let (us, uu) = tv(t.user);
    let (ss, su) = tv(t.sys);
    b[0..8].copy_from_slice(&us.to_le_bytes());
    b[8..16].copy_from_slice(&uu.to_le_bytes());
    b[16..24].copy_from_slice(&ss.to_le_bytes());
    b[24..32].copy_from_slice(&su.to_le_bytes());
    b
}

pub fn sys_getrusage(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let t = match a.arg(0) as i32 {
        RUSAGE_SELF => ctx.process.times,
        RUSAGE_CHILDREN => ctx.process.child_times,
        RUSAGE_THREAD => ctx.thread_times,
        _ => return Err(Errno::EINVAL),
    };
    ctx.user().write_bytes(a.arg(1), &rusage_bytes(t))?;
    ret(0)
}

/// times(2): the four clock_t counts, and the elapsed ticks since boot.
pub fn sys_times(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let tick = |ns: u64| ns / (1_000_000_000 / USER_HZ);
    let (me, kids) = (ctx.process.times, ctx.process.child_times);
    if a.arg(0) != 0 {
        let mut b = [0u8; 32];
        for (i, v) in [me.user, me.sys, kids.user, kids.sys].into_iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&tick(v).to_le_bytes());
        }
        ctx.user().write_bytes(a.arg(0), &b)?;
    }
    ret(tick(ctx.host.now(Clock::Monotonic)))
}

/// The CPU-time clocks (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID).
pub fn cpu_clock(ctx: &Ctx, thread: bool) -> u64 {
    if thread {
        ctx.thread_times.total()
    } else {
        ctx.process.times.total()
    }
}
