//! POSIX per-process timers and the CPU-time interval timers, kernel
//! side: timer_create(2) (it may name another thread of the process,
//! which only the kernel can check) and the scheduler's expiry pass. The
//! other timer calls only touch the caller's process (`syscall/timer.rs`).
//!
//! Wall-clock timers expire at the top of the run loop, like alarms and
//! timerfds, and their next deadline is part of `next_deadline`; CPU-time
//! timers are checked on the same pass against the process's and
//! threads' `CpuTimes`, which grow at the end of every slice and syscall
//! (an idle guest uses no CPU time, so they never need a wake-up).

use super::Kernel;
use crate::errno::Errno;
use crate::host::Clock;
use crate::signal::pending::{PendingSet, SigInfo};
use crate::syscall::signal::{post, Posted};
use crate::syscall::SyscallArgs;
use crate::task::cpuclock::{decode, CpuClock};
use crate::task::timers::{expire, PosixTimer, TimerClock, DELAYTIMER_MAX};
use crate::task::{ExitStatus, Pid, TaskState};

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
/// glibc implements SIGEV_THREAD itself (with SIGEV_THREAD_ID); the
/// kernel treats a bare SIGEV_THREAD as SIGEV_SIGNAL.
const SIGEV_THREAD: i32 = 2;
const SIGEV_THREAD_ID: i32 = 4;
const SIGALRM: u32 = 14;
const SIGVTALRM: u32 = 26;
const SIGPROF: u32 = 27;
/// si_code of the itimer signals (sent by the kernel).
const SI_KERNEL: i32 = 0x80;

/// The clock of a timer_create clock id for thread `tid` of process
/// `pid` (negative ids are the CPU clocks clock_getcpuclockid and
/// pthread_getcpuclockid make: `~pid << 3 | type`, bit 2 for a thread).
fn timer_clock(id: i32, pid: Pid, tid: Pid) -> Result<TimerClock, Errno> {
    match id {
        0 | 11 => Ok(TimerClock::Realtime), // REALTIME, TAI (offset 0 here)
        1 | 7 => Ok(TimerClock::Monotonic), // MONOTONIC, BOOTTIME
        2 => Ok(TimerClock::ProcessCpu),
        3 => Ok(TimerClock::ThreadCpu(tid)),
        // MONOTONIC_RAW and the coarse clocks cannot drive timers; the
        // _ALARM clocks need a wake-up RTC, which oxvm (like a VM without
        // one) does not have.
        4..=6 | 8 | 9 => Err(Errno::EOPNOTSUPP),
        // Only the caller's own clocks: a timer on another thread's or
        // process's CPU time is not supported (EINVAL, as for no such one).
        i32::MIN..=-1 => match decode(id).ok_or(Errno::EINVAL)?? {
            CpuClock { who, thread: true, .. } if who == 0 || who == tid => Ok(TimerClock::ThreadCpu(tid)),
            CpuClock { who, thread: false, .. } if who == 0 || who == pid => Ok(TimerClock::ProcessCpu),
            _ => Err(Errno::EINVAL),
        },
        _ => Err(Errno::EINVAL),
    }
}

impl Kernel {
    /// timer_create(clockid, sevp, timerid).
    pub(super) fn sys_timer_create(&mut self, ti: usize, a: &SyscallArgs) -> Result<u64, Errno> {
        let (pid, tid) = (self.tasks[ti].pid, self.tasks[ti].tid);
        let (clock_id, sevp, out) = (a.arg(0) as i32, a.arg(1), a.arg(2));
        // struct sigevent: sigev_value (8), sigev_signo (4), sigev_notify
        // (4), then sigev_notify_thread_id; Linux copies all 64 bytes.
        let ev = if sevp != 0 {
            let mut b = [0u8; 64];
            self.user(pid)?.read_bytes(sevp, &mut b)?;
            let int = |o: usize| i32::from_le_bytes(b[o..o + 4].try_into().unwrap());
            Some((u64::from_le_bytes(b[0..8].try_into().unwrap()), int(8), int(12), int(16)))
        } else {
            None
        };
        let clock = timer_clock(clock_id, pid, tid)?;
        let (value, signo, notify, target) = match ev {
            Some(e) => e,
            None => (0, SIGALRM as i32, SIGEV_SIGNAL, 0),
        };
        let thread = match notify {
            SIGEV_THREAD_ID => {
                let ok = self.tasks.iter().any(|t| t.tid == target as Pid && t.pid == pid && t.state != TaskState::Dead);
                if target <= 0 || !ok {
                    return Err(Errno::EINVAL);
                }
                Some(target as Pid)
            }
            SIGEV_SIGNAL | SIGEV_THREAD | SIGEV_NONE => None,
            _ => return Err(Errno::EINVAL),
        };
        if notify != SIGEV_NONE && !(1..=64).contains(&signo) {
            return Err(Errno::EINVAL);
        }
        let p = self.processes.get_mut(&pid).ok_or(Errno::ESRCH)?;
        let id = p.timers.alloc_id().ok_or(Errno::EAGAIN)?;
        // With no sigevent, si_value is the timer's id.
        let value = if ev.is_none() { id as u64 } else { value };
        p.timers.posix.push(PosixTimer {
            id,
            clock,
            signo: if notify == SIGEV_NONE { 0 } else { signo as u32 },
            value,
            thread,
            deadline: None,
            interval: 0,
            overrun: 0,
            overrun_last: 0,
            queued: None,
            unfired: 0,
        });
        if let Err(e) = self.user(pid).and_then(|mut us| us.write_val(out, &(id as u32))) {
            if let Some(p) = self.processes.get_mut(&pid) {
                p.timers.posix.retain(|t| t.id != id);
            }
            return Err(e);
        }
        Ok(0)
    }

    /// Fire every due timer of every process: POSIX timers (counting
    /// overruns while their signal is pending) and the CPU-time itimers.
    pub(super) fn expire_process_timers(&mut self) {
        // A process whose timers were all disarmed since the last pass still
        // has its old `next`: visit it once more to clear it (a stale past
        // deadline would keep an idle guest spinning).
        let pids: Vec<Pid> =
            self.processes.values().filter(|p| p.exit.is_none() && (p.timers.armed() || p.timers.next.is_some())).map(|p| p.pid).collect();
        if pids.is_empty() {
            return;
        }
        let mono = self.host.now(Clock::Monotonic);
        let real = self.host.now(Clock::Realtime);
        for pid in pids {
            let threads: Vec<(Pid, u64)> =
                self.tasks.iter().filter(|t| t.pid == pid && t.state != TaskState::Dead).map(|t| (t.tid, t.times.total())).collect();
            let Some(p) = self.processes.get_mut(&pid) else { continue };
            let cpu = p.times;
            // (thread, siginfo, timer id)
            let mut sends: Vec<(Option<Pid>, SigInfo, Option<i32>)> = Vec::new();
            let ts = &mut p.timers;
            if expire(&mut ts.virt.deadline, ts.virt.interval, cpu.user) > 0 {
                sends.push((None, SigInfo::new(SIGVTALRM, SI_KERNEL, 0), None));
            }
            if expire(&mut ts.prof.deadline, ts.prof.interval, cpu.total()) > 0 {
                sends.push((None, SigInfo::new(SIGPROF, SI_KERNEL, 0), None));
            }
            let mut next: Option<u64> = None;
            for t in ts.posix.iter_mut() {
                let now = match t.clock {
                    TimerClock::Realtime => real,
                    TimerClock::Monotonic => mono,
                    TimerClock::ProcessCpu => cpu.total(),
                    TimerClock::ThreadCpu(tid) => match threads.iter().find(|(t, _)| *t == tid) {
                        Some(&(_, ns)) => ns,
                        // Its thread is gone: the clock stopped.
                        None => continue,
                    },
                };
                let n = t.expire(now) + std::mem::take(&mut t.unfired);
                // Whether the last signal is still pending matters only
                // now (timer_getoverrun settles on its own).
                if n > 0 && t.signo != 0 {
                    let pending = t.settle();
                    if pending {
                        t.add_overrun(n);
                    } else {
                        let missed = u32::try_from(n - 1).unwrap_or(DELAYTIMER_MAX).min(DELAYTIMER_MAX);
                        sends.push((t.thread, t.siginfo(missed), Some(t.id)));
                    }
                }
                if let (Some(d), TimerClock::Realtime | TimerClock::Monotonic) = (t.deadline, t.clock) {
                    let at = mono.saturating_add(d.saturating_sub(now));
                    next = Some(next.map_or(at, |n| n.min(at)));
                }
            }
            ts.next = next;
            for (thread, info, id) in sends {
                let set = self.post_timer_signal(pid, thread, info);
                if let (Some(id), Some(set), Some(p)) = (id, set, self.processes.get_mut(&pid)) {
                    if let Some(t) = p.timers.get_mut(id) {
                        t.queued = Some(set);
                    }
                }
            }
        }
    }

    /// Send a timer's signal to its thread or process; returns the
    /// pending set it went to.
    fn post_timer_signal(&mut self, pid: Pid, thread: Option<Pid>, info: SigInfo) -> Option<PendingSet> {
        match thread {
            Some(tid) => {
                let ti = self.tasks.iter().position(|t| t.tid == tid && t.pid == pid && t.state != TaskState::Dead)?;
                let p = self.processes.get(&pid)?;
                let t = &self.tasks[ti].sig;
                let set = t.pending.clone();
                if post(&p.sigactions, t.mask, &t.pending, info) == Posted::Kill {
                    self.exit_process(pid, ExitStatus::Signaled(crate::signal::Signal(info.signo() as u8)));
                    return None;
                }
                Some(set)
            }
            None => {
                let set = self.processes.get(&pid)?.pending.clone();
                self.send_info(pid, info);
                Some(set)
            }
        }
    }

    /// The earliest wall-clock POSIX timer deadline (monotonic ns).
    pub(super) fn process_timers_deadline(&self) -> Option<u64> {
        self.processes.values().filter(|p| p.exit.is_none()).filter_map(|p| p.timers.next).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_ids() {
        assert_eq!(timer_clock(0, 5, 6), Ok(TimerClock::Realtime));
        assert_eq!(timer_clock(7, 5, 6), Ok(TimerClock::Monotonic));
        assert_eq!(timer_clock(3, 5, 6), Ok(TimerClock::ThreadCpu(6)));
        assert_eq!(timer_clock(4, 5, 6), Err(Errno::EOPNOTSUPP));
        assert_eq!(timer_clock(9, 5, 6), Err(Errno::EOPNOTSUPP));
        assert_eq!(timer_clock(99, 5, 6), Err(Errno::EINVAL));
        // clock_getcpuclockid(5): (~5 << 3) | CPUCLOCK_SCHED.
        assert_eq!(timer_clock((!5i32 << 3) | 2, 5, 6), Ok(TimerClock::ProcessCpu));
        assert_eq!(timer_clock((!6i32 << 3) | 6, 5, 6), Ok(TimerClock::ThreadCpu(6)));
        assert_eq!(timer_clock((!9i32 << 3) | 2, 5, 6), Err(Errno::EINVAL));
    }
}
